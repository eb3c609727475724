//! `bianmin import guides FILE`: a service-guide catalogue file (JSON like `assets/guides.json`,
//! or TOML of the same shape) checked as a whole, then written in one transaction.
//!
//! A JSON file is streamed: read guide by guide, each read straight into its type and checked on
//! its own (a guide that does not read is parsed again as a generic value and checked field by
//! field), so that memory does not grow with the file, one bad guide does not hide the others,
//! and every error names the guide (its place in the file, 事项编码 and 事项名称) and the field.
//! The guides go into one transaction as they are read, committed only when the whole file had no
//! error (a file for a database still to be created is checked in a pass of its own first).
//! `docs/catalogue-format.md` describes the format.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use std::io::Read;

use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::api::accounts::AuditEntry;
use crate::domain::center::WindowKind;
use crate::domain::guide::{Catalogue, Handling, ItemType, MaterialForm, Online, ServiceGuide};
use crate::domain::text::clean_line;
use crate::domain::time::china_date;
use crate::server::store::{ImportReport, Store, StoreResult};

/// How long a code or name quoted in a message gets before it is cut.
const MAX_QUOTED_CHARS: usize = 40;

/// The syntax of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Toml,
}

impl Format {
    /// TOML when the file name ends in `.toml` (any case), JSON otherwise.
    pub fn of_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("toml") => Self::Toml,
            _ => Self::Json,
        }
    }
}

/// A guide of the file, as far as it could be identified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Place in the file's `guides`, from 0 (messages count from 1: 第 1 项).
    pub index: usize,
    /// 事项编码, when the guide has one that is a string.
    pub code: Option<String>,
    /// 事项名称, likewise.
    pub name: Option<String>,
}

impl Item {
    fn of(index: usize, value: &Value) -> Self {
        let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or("");
        Self::named(index, text("code"), text("name"))
    }

    fn named(index: usize, code: &str, name: &str) -> Self {
        let text = |s: &str| Some(s.to_owned()).filter(|s| !s.trim().is_empty());
        Self { index, code: text(code), name: text(name) }
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "第 {} 项", self.index + 1)?;
        let known: Vec<String> = [&self.code, &self.name].into_iter().flatten().map(|s| quoted(s)).collect();
        if !known.is_empty() {
            write!(f, "（{}）", known.join(" "))?;
        }
        Ok(())
    }
}

/// One thing wrong with an import file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportProblem {
    /// Line and column (from 1, in characters) of a syntax error.
    pub at: Option<(usize, usize)>,
    /// The guide the problem is in; `None` for the file as a whole.
    pub item: Option<Item>,
    /// The field, as a path inside the guide (`materials[1].form`, counting from 0) or at the top
    /// of the file (`guides`); `None` for the guide or the file as a whole.
    pub field: Option<String>,
    /// Chinese, for the person who has to fix the file.
    pub message: String,
}

impl ImportProblem {
    fn file(field: Option<&str>, message: impl Into<String>) -> Self {
        Self { at: None, item: None, field: field.map(str::to_owned), message: message.into() }
    }
}

impl fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((line, column)) = self.at {
            write!(f, "第 {line} 行第 {column} 列：")?;
        }
        if let Some(item) = &self.item {
            write!(f, "{item}")?;
            if let Some(field) = &self.field {
                write!(f, "的 {}", labelled(field))?;
            }
            write!(f, "：")?;
        } else if let Some(field) = &self.field {
            write!(f, "{}：", clean_line(field))?;
        }
        write!(f, "{}", self.message)
    }
}

/// `materials[1].form（材料形式）`.
fn labelled(field: &str) -> String {
    let field = clean_line(field);
    match field_label(&field) {
        Some(label) => format!("{field}（{label}）"),
        None => field,
    }
}

/// The Chinese name of a field of a guide, from its path (`materials[1].form` → 材料形式).
pub fn field_label(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split('.').map(|s| s.split('[').next().unwrap_or(s)).collect();
    let leaf = *segments.last()?;
    let parent = if segments.len() > 1 { segments[segments.len() - 2] } else { "" };
    FIELD_LABELS.iter().find(|(p, f, _)| *p == parent && *f == leaf).map(|(_, _, label)| *label)
}

/// (parent list, field, Chinese name) of every field of a guide; `docs/catalogue-format.md`
/// has the same glossary.
pub const FIELD_LABELS: &[(&str, &str, &str)] = &[
    ("", "code", "事项编码"),
    ("", "name", "事项名称"),
    ("", "department", "实施主体"),
    ("", "item_type", "事项类型"),
    ("", "legal_basis", "设定依据"),
    ("legal_basis", "law", "法律法规名称"),
    ("legal_basis", "article", "条款"),
    ("", "statutory_limit_days", "法定时限"),
    ("", "promised_limit_days", "承诺时限"),
    ("", "handling", "办件类型"),
    ("", "accept_on_receipt", "收件即受理"),
    ("", "window_kind", "窗口类型"),
    ("", "queue_category", "取号类别"),
    ("", "acceptance_conditions", "受理条件"),
    ("", "materials", "申请材料"),
    ("materials", "id", "材料编号"),
    ("materials", "name", "材料名称"),
    ("materials", "form", "材料形式"),
    ("materials", "copies", "份数"),
    ("materials", "condition", "适用情况"),
    ("materials", "source", "来源渠道"),
    ("materials", "notes", "备注"),
    ("materials", "blank_form", "空白表格"),
    ("materials", "sample_form", "示例样本"),
    ("materials", "deferral_days", "容缺补交期限"),
    ("", "situations", "业务情形"),
    ("situations", "id", "情形编号"),
    ("situations", "name", "情形名称"),
    ("situations", "material_ids", "所需材料"),
    ("situations", "conditions", "情形受理条件"),
    ("", "fees", "收费项目"),
    ("fees", "item", "收费项目名称"),
    ("fees", "standard", "收费标准"),
    ("fees", "basis", "收费依据"),
    ("", "process", "办理流程"),
    ("process", "name", "环节名称"),
    ("process", "description", "环节说明"),
    ("", "faqs", "常见问题"),
    ("faqs", "question", "问题"),
    ("faqs", "answer", "解答"),
    ("", "aliases", "俗称"),
    ("", "keywords", "关键词"),
    ("", "location", "办理地点"),
    ("", "hours", "办理时间"),
    ("", "consult_phone", "咨询电话"),
    ("", "complaint_phone", "监督投诉电话"),
    ("", "online", "网办程度"),
    ("", "revision", "版本号"),
    ("", "updated_on", "更新日期"),
];

fn quoted(text: &str) -> String {
    let text = clean_line(text);
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(MAX_QUOTED_CHARS).collect();
    if chars.next().is_some() { format!("{head}…") } else { head }
}

/// The largest TOML catalogue file read. TOML is read whole (the toml crate has no streaming
/// parser); a province's 10,000 guides are about 23 MB of JSON.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The largest JSON catalogue file read. JSON is read guide by guide, so memory does not grow
/// with the file; the cap only refuses absurd input (100,000 generated guides are about 240 MB).
pub const MAX_JSON_BYTES: u64 = 1024 * 1024 * 1024;

/// The most problems kept to be shown; the rest are only counted.
pub const MAX_SHOWN_PROBLEMS: usize = 1000;

impl Format {
    /// The largest file of this format that is read.
    pub fn max_bytes(self) -> u64 {
        match self {
            Self::Json => MAX_JSON_BYTES,
            Self::Toml => MAX_FILE_BYTES,
        }
    }
}

/// Where a catalogue is read from. A file is opened once per pass, so it can be read again (a
/// check before the import, the column of a syntax error) without ever being held whole.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    File(&'a Path),
    Bytes(&'a [u8]),
}

impl<'a> Source<'a> {
    fn open(self, cap: u64) -> Result<Checked<Box<dyn Read + 'a>>, String> {
        let inner: Box<dyn Read + 'a> = match self {
            Self::Bytes(bytes) => Box::new(bytes),
            Self::File(path) => {
                let file = std::fs::File::open(path).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => "文件不存在".to_owned(),
                    std::io::ErrorKind::PermissionDenied => "没有读取权限".to_owned(),
                    _ => e.to_string(),
                })?;
                // A regular file is refused by its size at once; a device or pipe at the cap.
                if let Ok(meta) = file.metadata()
                    && meta.is_file()
                    && meta.len() > cap
                {
                    return Err(too_big(cap));
                }
                Box::new(file)
            }
        };
        Ok(Checked::new(inner, cap))
    }
}

fn too_big(cap: u64) -> String {
    format!("文件超过 {} MB，不像办事指南目录", cap / 1024 / 1024)
}

/// Why a file was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// Refused before or while reading (Chinese, for the user): missing, too big, not text.
    Refused(String),
    /// What is wrong in it: the first [`MAX_SHOWN_PROBLEMS`], and how many in all.
    Problems { shown: Vec<ImportProblem>, total: usize },
    /// The receiver of the guides asked to stop (its own error says why).
    Stopped,
}

/// What a pass over a good file read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSummary {
    pub note: String,
    pub guides: usize,
}

/// Reads a catalogue file guide by guide: only one guide is held at a time (for JSON; a TOML
/// file, at most [`MAX_FILE_BYTES`], is parsed whole), and every guide is checked on its own,
/// so every problem names its guide and field. `each` gets every guide while the file has shown
/// no problem; it returns false to stop reading. Guides without `updated_on` get `today`.
/// A file with any problem is `Err`: a caller writing the guides must then write none of them.
pub fn stream_catalogue(
    source: Source<'_>,
    format: Format,
    today: NaiveDate,
    each: &mut dyn FnMut(ServiceGuide) -> bool,
) -> Result<ReadSummary, Unreadable> {
    let mut reader = source.open(format.max_bytes()).map_err(Unreadable::Refused)?;
    let mut checker = Checker::new(today, each);
    match format {
        Format::Json => {
            let parsed = parse_json(&mut reader, &mut checker, false);
            if let Err(e) = parsed {
                if checker.stopped {
                    return Err(Unreadable::Stopped);
                }
                if let Some(stop) = reader.stop.take() {
                    return Err(stop.into_unreadable());
                }
                if e.is_data() && !checker.saw_root {
                    checker.file_problem(ImportProblem::file(
                        None,
                        "文件顶层应为一个对象，含 note（说明）和 guides（办事指南列表）",
                    ));
                } else {
                    let e = generic_syntax_error(source, today).unwrap_or(e);
                    let line = e.line().max(1);
                    let column = char_column(source, line, e.column());
                    let message = format!("JSON 语法错误：{}", json_syntax_message(&e));
                    // A syntax error hides whatever follows it: it is the file's only problem.
                    let problem = ImportProblem { at: Some((line, column)), ..ImportProblem::file(None, message) };
                    return Err(Unreadable::Problems { shown: vec![problem], total: 1 });
                }
            }
        }
        Format::Toml => {
            let mut text = String::new();
            if reader.read_to_string(&mut text).is_err() {
                let stop = reader.stop.take().unwrap_or(Stop::Refused("文件读取失败".into()));
                return Err(stop.into_unreadable());
            }
            let table = toml::from_str::<toml::Table>(&text).map_err(|e| {
                let at = e.span().map(|span| {
                    let before = &text[..span.start.min(text.len())];
                    let line = 1 + before.matches('\n').count();
                    let column = 1 + before.rsplit('\n').next().unwrap_or("").chars().count();
                    (line, column)
                });
                let message = format!("TOML 语法错误：{}", toml_syntax_message(e.message()));
                Unreadable::Problems {
                    shown: vec![ImportProblem { at, ..ImportProblem::file(None, message) }],
                    total: 1,
                }
            })?;
            drop(text);
            checker.saw_root = true;
            for (key, value) in table {
                match key.as_str() {
                    "note" => checker.note(toml_to_json(value)),
                    "guides" => match value {
                        toml::Value::Array(items) => {
                            checker.guides_found();
                            for item in items {
                                if !checker.guide(toml_to_json(item)) {
                                    return Err(Unreadable::Stopped);
                                }
                            }
                        }
                        other => checker.guides_not_a_list(&toml_to_json(other)),
                    },
                    _ => checker.unknown_key(&key),
                }
            }
        }
    }
    checker.finish()
}

/// Reads a JSON catalogue into `checker`; `generic`: each guide as a generic value.
fn parse_json(reader: impl Read, checker: &mut Checker<'_>, generic: bool) -> serde_json::Result<()> {
    // serde_json reads byte by byte: from a `BufReader` each byte is a slice index, not a call
    // through `Read`.
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(64 * 1024, reader));
    Root { checker, generic }.deserialize(&mut de).and_then(|()| de.end())
}

/// The syntax error of a JSON file read with every guide as a generic value. A guide taken as
/// text is checked by skipping it, whose messages are vaguer (a trailing comma is "key must be a
/// string"), so a file with a syntax error is read again this way for the message.
fn generic_syntax_error(source: Source<'_>, today: NaiveDate) -> Option<serde_json::Error> {
    let mut reader = source.open(MAX_JSON_BYTES).ok()?;
    let mut each = |_| true;
    let mut checker = Checker::new(today, &mut each);
    parse_json(&mut reader, &mut checker, true).err().filter(|e| !e.is_data() && !e.is_io())
}

/// Reads a whole catalogue from memory: every problem in it, or the catalogue when there is none.
pub fn read_catalogue(bytes: &[u8], format: Format, today: NaiveDate) -> Result<Catalogue, Vec<ImportProblem>> {
    let mut guides = Vec::new();
    match stream_catalogue(Source::Bytes(bytes), format, today, &mut |guide| {
        guides.push(guide);
        true
    }) {
        Ok(summary) => Ok(Catalogue { note: summary.note, guides }),
        Err(Unreadable::Refused(why)) => Err(vec![ImportProblem::file(None, why)]),
        Err(Unreadable::Problems { shown, .. }) => Err(shown),
        Err(Unreadable::Stopped) => unreachable!("the collector never stops"),
    }
}

/// The column in characters (from 1) of serde_json's byte column on `line`, read again from the
/// source so that no line (a minified file is one line) is ever held whole.
fn char_column(source: Source<'_>, line: usize, byte_column: usize) -> usize {
    let Ok(reader) = source.open(u64::MAX) else { return byte_column.max(1) };
    let mut at_line = 1;
    let mut bytes_in_line = 0;
    let mut chars = 0;
    for byte in std::io::BufReader::new(reader).bytes() {
        let Ok(byte) = byte else { break };
        if at_line == line {
            if byte == b'\n' || bytes_in_line >= byte_column {
                break;
            }
            bytes_in_line += 1;
            if byte & 0xC0 != 0x80 {
                chars += 1;
            }
        } else if byte == b'\n' {
            at_line += 1;
        }
    }
    chars.max(1)
}

/// Why a [`Checked`] reader stopped giving bytes.
#[derive(Debug)]
enum Stop {
    Refused(String),
    NotUtf8 { line: usize, column: usize },
}

impl Stop {
    fn into_unreadable(self) -> Unreadable {
        match self {
            Self::Refused(why) => Unreadable::Refused(why),
            Self::NotUtf8 { line, column } => {
                let problem = ImportProblem {
                    at: Some((line, column)),
                    ..ImportProblem::file(None, "文件不是 UTF-8 编码（可能是 GBK）：请在编辑器中另存为 UTF-8 后再导入")
                };
                Unreadable::Problems { shown: vec![problem], total: 1 }
            }
        }
    }
}

/// A buffered reader that gives only checked text: UTF-8 without its byte-order mark, no NUL
/// byte (no JSON or TOML text has one, so `/dev/zero` fails at once), at most `cap` bytes. The
/// bytes before a bad one are given first, then an error, with the reason kept in `stop`.
struct Checked<R> {
    inner: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// The start of a UTF-8 sequence cut by the end of the last read.
    carry: Vec<u8>,
    read: u64,
    cap: u64,
    first: bool,
    eof: bool,
    /// Line and column (in characters, from 1) of the next byte checked.
    line: usize,
    column: usize,
    stop: Option<Stop>,
}

impl<R: Read> Checked<R> {
    fn new(inner: R, cap: u64) -> Self {
        Self {
            inner,
            buf: vec![0; 64 * 1024].into_boxed_slice(),
            start: 0,
            end: 0,
            carry: Vec::new(),
            read: 0,
            cap,
            first: true,
            eof: false,
            line: 1,
            column: 1,
            stop: None,
        }
    }

    /// Refills the buffer; afterwards it holds good bytes, or `stop` or `eof` is set.
    fn fill(&mut self) {
        loop {
            let carried = self.carry.len();
            self.buf[..carried].copy_from_slice(&self.carry);
            self.carry.clear();
            let n = match self.inner.read(&mut self.buf[carried..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.stop = Some(Stop::Refused(e.to_string()));
                    return;
                }
            };
            if n == 0 {
                self.eof = true;
                if carried > 0 {
                    self.stop = Some(Stop::NotUtf8 { line: self.line, column: self.column });
                }
                return;
            }
            self.read += n as u64;
            if self.read > self.cap {
                self.stop = Some(Stop::Refused(too_big(self.cap)));
                return;
            }
            let filled = carried + n;
            if self.buf[carried..filled].contains(&0) {
                self.stop = Some(Stop::Refused("文件含有 NUL 字节，不是 JSON 或 TOML 文本".to_owned()));
                return;
            }
            // The mark is looked for only at the very start (a mark cut across reads is carried
            // like any cut sequence, so it is whole by the time three bytes are in).
            let mut from = 0;
            if self.first && filled >= 3 {
                self.first = false;
                if self.buf.starts_with(b"\xEF\xBB\xBF") {
                    from = 3;
                }
            }
            let good = match std::str::from_utf8(&self.buf[from..filled]) {
                Ok(_) => filled - from,
                Err(e) => {
                    let good = e.valid_up_to();
                    if e.error_len().is_none() {
                        self.carry.extend_from_slice(&self.buf[from + good..filled]);
                    }
                    good
                }
            };
            for &byte in &self.buf[from..from + good] {
                if byte == b'\n' {
                    self.line += 1;
                    self.column = 1;
                } else if byte & 0xC0 != 0x80 {
                    self.column += 1;
                }
            }
            if from + good < filled && self.carry.is_empty() {
                self.stop = Some(Stop::NotUtf8 { line: self.line, column: self.column });
            }
            if good > 0 {
                self.first = false;
            }
            (self.start, self.end) = (from, from + good);
            if good > 0 || self.stop.is_some() {
                return;
            }
        }
    }
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.start == self.end {
            if self.stop.is_none() && !self.eof {
                self.fill();
            }
            if self.start == self.end {
                return match self.stop {
                    Some(_) => Err(std::io::Error::other("import file refused")),
                    None => Ok(0),
                };
            }
        }
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

/// The top of a JSON file, read key by key; `guides` is read one guide at a time.
struct Root<'c, 'f> {
    checker: &'c mut Checker<'f>,
    /// Each guide read as a generic value, not as text first.
    generic: bool,
}

impl<'de> DeserializeSeed<'de> for Root<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Root<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with note and guides")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.checker.saw_root = true;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "note" => {
                    let value: Value = map.next_value()?;
                    self.checker.note(value);
                }
                "guides" => map.next_value_seed(Guides { checker: &mut *self.checker, generic: self.generic })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    self.checker.unknown_key(&key);
                }
            }
        }
        Ok(())
    }
}

/// `guides` of a JSON file: each guide is checked (and handed on) as soon as it is read.
struct Guides<'c, 'f> {
    checker: &'c mut Checker<'f>,
    generic: bool,
}

impl<'de> DeserializeSeed<'de> for Guides<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Guides<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of guides")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.checker.guides_found();
        let stopped = || serde::de::Error::custom("import stopped by its receiver");
        if self.generic {
            while let Some(value) = seq.next_element::<Value>()? {
                if !self.checker.guide(value) {
                    return Err(stopped());
                }
            }
            return Ok(());
        }
        // Each guide is taken as its JSON text (checked as JSON on the way), then read from it.
        while let Some(text) = seq.next_element::<Box<RawValue>>()? {
            if !self.checker.guide_text(text.get()) {
                return Err(stopped());
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let value = Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        self.checker.guides_not_a_list(&value);
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        self.checker.guides_not_a_list(&Value::from(v));
        Ok(())
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<(), E> {
        self.checker.guides_not_a_list(&Value::from(v));
        Ok(())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<(), E> {
        self.checker.guides_not_a_list(&Value::from(v));
        Ok(())
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<(), E> {
        self.checker.guides_not_a_list(&Value::from(v));
        Ok(())
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<(), E> {
        self.checker.guides_not_a_list(&Value::from(v));
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.checker.guides_not_a_list(&Value::Null);
        Ok(())
    }
}

/// The checks of one pass over a file, fed the top-level fields and then one guide at a time.
/// It keeps only the codes seen (for duplicates) and the first problems, never the guides.
struct Checker<'f> {
    today: NaiveDate,
    each: &'f mut dyn FnMut(ServiceGuide) -> bool,
    stopped: bool,
    saw_root: bool,
    /// Problems of the file as a whole, in the order: unknown fields, note, guides.
    unknown: Vec<ImportProblem>,
    note: Option<String>,
    note_problem: Option<ImportProblem>,
    guides_seen: bool,
    guides_problem: Option<ImportProblem>,
    /// Problems of single guides, in file order.
    in_guides: Vec<ImportProblem>,
    total: usize,
    count: usize,
    first_with_code: HashMap<String, usize>,
}

impl<'f> Checker<'f> {
    fn new(today: NaiveDate, each: &'f mut dyn FnMut(ServiceGuide) -> bool) -> Self {
        Self {
            today,
            each,
            stopped: false,
            saw_root: false,
            unknown: Vec::new(),
            note: None,
            note_problem: None,
            guides_seen: false,
            guides_problem: None,
            in_guides: Vec::new(),
            total: 0,
            count: 0,
            first_with_code: HashMap::new(),
        }
    }

    fn file_problem(&mut self, problem: ImportProblem) {
        self.total += 1;
        self.unknown.push(problem);
    }

    fn unknown_key(&mut self, key: &str) {
        let message = if field_label(key).is_some() {
            format!("这是办事指南的字段，应写在某项指南之内（TOML 中写作 [[guides.{key}]] 或放在 [[guides]] 之下）")
        } else {
            "未知字段（拼写错误？）；顶层只能有 note 和 guides".to_owned()
        };
        self.file_problem(ImportProblem::file(Some(key), message));
    }

    fn note(&mut self, value: Value) {
        match value {
            Value::String(s) => self.note = Some(s),
            other => {
                self.total += 1;
                self.note_problem = Some(ImportProblem::file(Some("note"), wrong("字符串", &other)));
            }
        }
    }

    fn guides_found(&mut self) {
        if self.guides_seen {
            self.total += 1;
            self.guides_problem = Some(ImportProblem::file(Some("guides"), "出现了两次；文件中只能有一个 guides"));
        }
        self.guides_seen = true;
    }

    fn guides_not_a_list(&mut self, value: &Value) {
        self.guides_seen = true;
        self.total += 1;
        self.guides_problem = Some(ImportProblem::file(Some("guides"), wrong("办事指南的数组", value)));
    }

    /// Checks the next guide, given as its JSON text: read straight into the typed guide when it
    /// is well-formed (nearly always, and several times faster), else as a generic value, field
    /// by field, so that every problem in it is named. False when the receiver asked to stop.
    fn guide_text(&mut self, text: &str) -> bool {
        if let Some(guide) = typed_guide(text, self.today) {
            let item = Item::named(self.count, &guide.code, &guide.name);
            self.count += 1;
            return self.checked(item, Ok(guide));
        }
        match serde_json::from_str::<Value>(text) {
            Ok(value) => self.guide(value),
            // Read as JSON already; only a number too big for a float is left to fail here.
            Err(e) => {
                let item = Item { index: self.count, code: None, name: None };
                self.count += 1;
                let message = format!("JSON 语法错误：{}", json_syntax_message(&e));
                self.checked(item, Err(vec![(None, message)]))
            }
        }
    }

    /// Checks the next guide, read as a generic value; false when the receiver asked to stop.
    fn guide(&mut self, value: Value) -> bool {
        let item = Item::of(self.count, &value);
        self.count += 1;
        let checked = check_guide(value, self.today);
        self.checked(item, checked)
    }

    /// Adds the domain's checks and the duplicate-code check to a guide's structural ones, and
    /// hands on a good guide while the file has shown no problem.
    fn checked(&mut self, item: Item, checked: Result<ServiceGuide, Vec<(Option<String>, String)>>) -> bool {
        let index = item.index;
        let mut found: Vec<(Option<String>, String)> = Vec::new();
        let mut good = None;
        match checked {
            Ok(guide) => {
                found.extend(guide.problems().into_iter().map(|p| (Some(p.field), p.message)));
                if guide.code.trim() != guide.code {
                    found.push((Some("code".into()), "事项编码首尾不能有空格".into()));
                }
                good = Some(guide);
            }
            Err(errors) => found.extend(errors),
        }
        if let Some(code) = item.code.as_deref() {
            match self.first_with_code.entry(code.to_owned()) {
                Entry::Occupied(first) => found
                    .push((Some("code".into()), format!("事项编码 {} 与第 {} 项重复", quoted(code), first.get() + 1))),
                Entry::Vacant(slot) => {
                    slot.insert(index);
                }
            }
        }
        self.total += found.len();
        for (field, message) in found {
            if self.in_guides.len() < MAX_SHOWN_PROBLEMS {
                self.in_guides.push(ImportProblem { at: None, item: Some(item.clone()), field, message });
            }
        }
        if let Some(guide) = good
            && self.total == 0
            && !(self.each)(guide)
        {
            self.stopped = true;
            return false;
        }
        true
    }

    fn finish(mut self) -> Result<ReadSummary, Unreadable> {
        if !self.guides_seen {
            self.total += 1;
            self.guides_problem = Some(ImportProblem::file(Some("guides"), "缺少此字段（办事指南列表）"));
        } else if self.count == 0 && self.guides_problem.is_none() {
            self.total += 1;
            self.guides_problem = Some(ImportProblem::file(Some("guides"), "没有任何办事指南"));
        }
        if self.total == 0 {
            return Ok(ReadSummary { note: self.note.unwrap_or_default(), guides: self.count });
        }
        let mut shown = self.unknown;
        shown.extend(self.note_problem);
        shown.extend(self.guides_problem);
        shown.extend(self.in_guides);
        shown.truncate(MAX_SHOWN_PROBLEMS);
        Err(Unreadable::Problems { shown, total: self.total })
    }
}

/// serde_json's message without its "at line … column …" tail, in Chinese where it is a common
/// one.
fn json_syntax_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let detail = full.split(" at line ").next().unwrap_or(&full).trim();
    let known = [
        ("EOF while parsing a string", "字符串缺少结尾的引号"),
        ("EOF while parsing", "文件意外结束（缺少右括号或引号？）"),
        ("expected `,` or `}`", "此处应为逗号 , 或右花括号 }（是否漏了逗号？）"),
        ("expected `,` or `]`", "此处应为逗号 , 或右方括号 ]（是否漏了逗号？）"),
        ("expected `:`", "此处应为冒号 :"),
        ("expected value", "此处应为一个值（字符串、数字、true、false、null、数组或对象）"),
        ("expected ident", "无法识别的值（应为 true、false 或 null，字符串要加双引号）"),
        ("trailing comma", "多余的逗号"),
        ("key must be a string", "键必须是加双引号的字符串"),
        ("control character", "字符串中有控制字符（换行要写成 \\n）"),
        ("invalid escape", "无效的转义序列"),
        ("invalid unicode code point", "无效的 \\u 转义"),
        ("invalid number", "无效的数字"),
        ("number out of range", "数字超出范围"),
        ("trailing characters", "文件在完整的 JSON 之后还有多余内容"),
        ("recursion limit exceeded", "嵌套层数过多"),
    ];
    known.iter().find(|(en, _)| detail.starts_with(en)).map_or_else(|| detail.to_owned(), |(_, zh)| (*zh).to_owned())
}

fn toml_syntax_message(message: &str) -> String {
    let detail = message.trim();
    let known = [
        ("duplicate key", "键重复"),
        ("invalid basic string", "无效的字符串（缺少结尾的引号？）"),
        ("invalid string", "无效的字符串（缺少结尾的引号？）"),
        ("invalid key", "无效的键"),
        ("expected `=`", "此处应为等号 ="),
        ("key with no value", "键后面缺少值"),
        ("string values must be quoted", "字符串要加引号"),
        ("invalid array", "无效的数组"),
        ("invalid inline table", "无效的内联表"),
        ("invalid table header", "无效的表头"),
        ("missing comma", "缺少逗号"),
        ("unclosed array", "数组缺少右方括号 ]"),
    ];
    known.iter().find(|(en, _)| detail.starts_with(en)).map_or_else(|| detail.to_owned(), |(_, zh)| (*zh).to_owned())
}

fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        toml::Value::Boolean(b) => Value::Bool(b),
        // `updated_on = 2025-03-12` (a TOML date) reads like the JSON string.
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(table.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect()),
    }
}

/// One guide, or every structural error in it (field path, message).
fn check_guide(value: Value, today: NaiveDate) -> Result<ServiceGuide, Vec<(Option<String>, String)>> {
    let Value::Object(mut object) = value else {
        return Err(vec![(None, wrong("对象", &value))]);
    };
    let mut errors = Vec::new();
    let mut fields = Fields { object: &object, path: String::new(), asked: Vec::new(), errors: &mut errors };
    guide_fields(&mut fields);
    fields.finish();
    if !errors.is_empty() {
        return Err(errors.into_iter().map(|(field, message)| (Some(field), message)).collect());
    }
    object.entry("updated_on").or_insert_with(|| Value::String(today.to_string()));
    // The field checks above mirror `ServiceGuide`; serde has the last word.
    serde_json::from_value(Value::Object(object)).map_err(|e| vec![(None, format!("无法读取：{e}"))])
}

/// The guide of a JSON text when it has only fields of a guide (as [`FIELD_LABELS`] has them)
/// and reads straight into `ServiceGuide`: then it is what [`check_guide`] would make of it, at a
/// fraction of the cost. `None` sends the text through those checks, which say what is wrong.
fn typed_guide(text: &str, today: NaiveDate) -> Option<ServiceGuide> {
    let dated = serde_json::from_str::<KnownKeys>(text).ok()?.dated;
    if dated {
        return serde_json::from_str(text).ok();
    }
    // Without `updated_on` the guide is dated today, as `check_guide` does.
    let body = text.trim_start().strip_prefix('{')?;
    if body.trim_start().starts_with('}') {
        return None;
    }
    serde_json::from_str(&format!("{{\"updated_on\":\"{today}\",{body}")).ok()
}

/// Every (list, field) of [`FIELD_LABELS`], to look keys up.
static KNOWN_FIELDS: LazyLock<HashSet<(&'static str, &'static str)>> =
    LazyLock::new(|| FIELD_LABELS.iter().map(|(list, field, _)| (*list, *field)).collect());

/// The lists of a guide whose elements have fields of their own (`materials`, …).
static LISTS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut lists: Vec<&'static str> = FIELD_LABELS.iter().map(|(list, ..)| *list).filter(|l| !l.is_empty()).collect();
    lists.dedup();
    lists
});

/// The keys of a guide, read without their values: an error at the first key that is not a
/// field of a guide, or of an element of one of its lists. `dated`: `updated_on` is there.
struct KnownKeys {
    dated: bool,
}

impl<'de> Deserialize<'de> for KnownKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        KeysOf { list: "" }.deserialize(deserializer).map(|dated| Self { dated })
    }
}

/// The keys of an object of a guide: the guide itself (`list` "") or an element of `list`.
#[derive(Clone, Copy)]
struct KeysOf {
    list: &'static str,
}

impl<'de> DeserializeSeed<'de> for KeysOf {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for KeysOf {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let known: &HashSet<(&str, &str)> = &KNOWN_FIELDS;
        let mut dated = false;
        // A key with an escape cannot be borrowed: an error, so the full checks read it.
        while let Some(key) = map.next_key::<&str>()? {
            if !known.contains(&(self.list, key)) {
                return Err(serde::de::Error::custom("not a field of a guide"));
            }
            let list = if self.list.is_empty() { LISTS.iter().find(|list| **list == key).copied() } else { None };
            if let Some(list) = list {
                map.next_value_seed(ElementsOf(KeysOf { list }))?;
            } else {
                dated |= self.list.is_empty() && key == "updated_on";
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(dated)
    }
}

/// A list of a guide whose elements are objects: the keys of each.
struct ElementsOf(KeysOf);

impl<'de> DeserializeSeed<'de> for ElementsOf {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ElementsOf {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self.0)?.is_some() {}
        Ok(())
    }
}

/// The fields of a `ServiceGuide`, with their types and which may be left out.
fn guide_fields(f: &mut Fields<'_, '_>) {
    use Need::{Nullable, Optional, Required};
    f.text("code", Required);
    f.text("name", Required);
    f.text("department", Required);
    f.variant::<ItemType>("item_type");
    f.list("legal_basis", Required, |f| {
        f.text("law", Required);
        f.text("article", Optional);
    });
    f.count("statutory_limit_days", Nullable);
    f.count("promised_limit_days", Required);
    f.variant::<Handling>("handling");
    f.flag("accept_on_receipt");
    f.variant::<WindowKind>("window_kind");
    f.text("queue_category", Nullable);
    f.texts("acceptance_conditions", Required);
    f.list("materials", Required, |f| {
        f.text("id", Required);
        f.text("name", Required);
        f.variant::<MaterialForm>("form");
        f.count("copies", Required);
        f.text("condition", Nullable);
        f.text("source", Required);
        f.text("notes", Optional);
        f.text("blank_form", Nullable);
        f.text("sample_form", Nullable);
        f.count("deferral_days", Nullable);
    });
    f.list("situations", Optional, |f| {
        f.text("id", Required);
        f.text("name", Required);
        f.texts("material_ids", Required);
        f.texts("conditions", Optional);
    });
    f.list("fees", Optional, |f| {
        f.text("item", Required);
        f.text("standard", Required);
        f.text("basis", Required);
    });
    f.list("process", Required, |f| {
        f.text("name", Required);
        f.text("description", Required);
    });
    f.list("faqs", Optional, |f| {
        f.text("question", Required);
        f.text("answer", Required);
    });
    f.texts("aliases", Optional);
    f.texts("keywords", Optional);
    f.text("location", Required);
    f.text("hours", Required);
    f.text("consult_phone", Required);
    f.text("complaint_phone", Required);
    f.variant::<Online>("online");
    f.count("revision", Optional);
    f.date("updated_on", Optional);
}

#[derive(Clone, Copy)]
enum Need {
    Required,
    /// May be left out (serde default), not null.
    Optional,
    /// May be left out or null (an `Option`).
    Nullable,
}

/// Checks the fields of one object, collecting (path, message) of every error.
struct Fields<'v, 'e> {
    object: &'v Map<String, Value>,
    /// `""` for the guide, `materials[1].` inside a list.
    path: String,
    asked: Vec<&'static str>,
    errors: &'e mut Vec<(String, String)>,
}

impl<'v> Fields<'v, '_> {
    fn bad(&mut self, name: &str, message: String) {
        self.errors.push((format!("{}{name}", self.path), message));
    }

    fn field(&mut self, name: &'static str, need: Need) -> Option<&'v Value> {
        self.asked.push(name);
        match (self.object.get(name), need) {
            (None, Need::Required) => {
                self.bad(name, "缺少此字段（必填）".into());
                None
            }
            (None, _) | (Some(Value::Null), Need::Nullable) => None,
            (Some(value), _) => Some(value),
        }
    }

    fn text(&mut self, name: &'static str, need: Need) {
        if let Some(value) = self.field(name, need)
            && !value.is_string()
        {
            self.bad(name, wrong("字符串", value));
        }
    }

    /// A whole number from 0 to u32::MAX (days, copies, revision).
    fn count(&mut self, name: &'static str, need: Need) {
        if let Some(value) = self.field(name, need)
            && value.as_u64().is_none_or(|n| n > u64::from(u32::MAX))
        {
            self.bad(name, wrong("不小于 0 的整数", value));
        }
    }

    fn flag(&mut self, name: &'static str) {
        if let Some(value) = self.field(name, Need::Required)
            && !value.is_boolean()
        {
            self.bad(name, wrong("true 或 false", value));
        }
    }

    fn date(&mut self, name: &'static str, need: Need) {
        if let Some(value) = self.field(name, need)
            && value.as_str().and_then(|s| s.parse::<NaiveDate>().ok()).is_none()
        {
            self.bad(name, wrong("YYYY-MM-DD 格式的日期", value));
        }
    }

    fn texts(&mut self, name: &'static str, need: Need) {
        match self.field(name, need) {
            None => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if !item.is_string() {
                        self.bad(&format!("{name}[{i}]"), wrong("字符串", item));
                    }
                }
            }
            Some(other) => self.bad(name, wrong("字符串数组", other)),
        }
    }

    /// One of the Chinese names of an enum's variants.
    fn variant<T: DeserializeOwned>(&mut self, name: &'static str) {
        let Some(value) = self.field(name, Need::Required) else { return };
        if serde_json::from_value::<T>(value.clone()).is_ok() {
            return;
        }
        let allowed = allowed_values::<T>().join("、");
        let message = match value.as_str() {
            Some(s) => format!("“{}”不是允许的取值，应为：{allowed}", quoted(s)),
            None => wrong(&format!("字符串（{allowed} 之一）"), value),
        };
        self.bad(name, message);
    }

    fn list(&mut self, name: &'static str, need: Need, each: impl Fn(&mut Fields<'_, '_>)) {
        match self.field(name, need) {
            None => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::Object(object) => {
                            let mut inner = Fields {
                                object,
                                path: format!("{}{name}[{i}].", self.path),
                                asked: Vec::new(),
                                errors: &mut *self.errors,
                            };
                            each(&mut inner);
                            inner.finish();
                        }
                        other => self.bad(&format!("{name}[{i}]"), wrong("对象", other)),
                    }
                }
            }
            Some(other) => self.bad(name, wrong("数组", other)),
        }
    }

    /// Fields nobody asked for are typos, or from a newer format: either way not imported.
    fn finish(self) {
        for key in self.object.keys() {
            if !self.asked.contains(&key.as_str()) {
                let message = match self.asked.iter().find(|known| edit_distance(known, key) <= 2) {
                    Some(known) => format!("未知字段（是否应为 {known}？）"),
                    None => "未知字段（拼写错误？）".to_owned(),
                };
                self.errors.push((format!("{}{key}", self.path), message));
            }
        }
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The serialized names of an enum's variants (the Chinese ones of `#[serde(rename)]`), read
/// from serde's own "expected one of" message so that they cannot drift from the type.
pub fn allowed_values<T: DeserializeOwned>() -> Vec<String> {
    let Err(e) = serde_json::from_value::<T>(Value::String("\u{0}".into())) else { return Vec::new() };
    let message = e.to_string();
    let Some((_, expected)) = message.split_once("expected") else { return Vec::new() };
    expected.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// "应为字符串，实际是数字 5".
fn wrong(expected: &str, value: &Value) -> String {
    let actual = match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("数字 {n}"),
        Value::String(s) => format!("字符串“{}”", quoted(s)),
        Value::Array(_) => "数组".to_owned(),
        Value::Object(_) => "对象".to_owned(),
    };
    format!("应为{expected}，实际是{actual}")
}

/// A guide an import adds or changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub code: String,
    pub name: String,
    /// The revision it gets: 1 when added, the stored one plus 1 when changed.
    pub revision: u32,
}

/// What an import would do, from the guides already stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub added: Vec<Change>,
    pub changed: Vec<Change>,
    pub unchanged: usize,
}

/// Compares the file's guides with the stored ones as `service::catalogue::upsert_guides` does: `revision`
/// and `updated_on` belong to the server and do not count as a change.
pub fn plan(guides: &[ServiceGuide], stored: &HashMap<String, ServiceGuide>) -> Plan {
    let mut plan = Plan::default();
    for guide in guides {
        plan.add(guide, stored.get(&guide.code));
    }
    plan
}

impl Plan {
    /// Counts one guide of the file against the stored one with its code.
    pub fn add(&mut self, guide: &ServiceGuide, stored: Option<&ServiceGuide>) {
        let strip = |g: &ServiceGuide| ServiceGuide { revision: 0, updated_on: NaiveDate::MIN, ..g.clone() };
        let change = |revision| Change { code: guide.code.clone(), name: guide.name.clone(), revision };
        match stored {
            None => self.added.push(change(1)),
            Some(old) if strip(old) == strip(guide) => self.unchanged += 1,
            Some(old) => self.changed.push(change(old.revision + 1)),
        }
    }
}

/// How many guides the reader thread hands over at once. One hand-over wakes the other thread
/// (a futex call each way): at 100,000 guides one guide a time cost about 440,000 futex calls, and
/// on a loaded machine each wake-up waits for a turn on a core, so the import's wall time was
/// twice its CPU time.
const HAND_OVER: usize = 128;

/// The good guides of a file being read ([`spawn_reader`]), one at a time, in file order.
pub struct GuideStream {
    batches: tokio::sync::mpsc::Receiver<Vec<ServiceGuide>>,
    batch: std::vec::IntoIter<ServiceGuide>,
}

impl GuideStream {
    /// The next guide; `None` when the reader has ended (see its join handle for how).
    pub async fn recv(&mut self) -> Option<ServiceGuide> {
        loop {
            if let Some(guide) = self.batch.next() {
                return Some(guide);
            }
            self.batch = self.batches.recv().await?.into_iter();
        }
    }
}

/// Reads `path` on a blocking thread, handing the good guides over a short channel
/// [`HAND_OVER`] at a time: the reader waits while the receiver works, so at most a few batches
/// are in memory at once. Dropping the stream stops the reading ([`Unreadable::Stopped`]).
pub fn spawn_reader(
    path: PathBuf,
    format: Format,
    today: NaiveDate,
) -> (GuideStream, tokio::task::JoinHandle<Result<ReadSummary, Unreadable>>) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let reader = tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(HAND_OVER);
        let read = stream_catalogue(Source::File(&path), format, today, &mut |guide| {
            batch.push(guide);
            batch.len() < HAND_OVER
                || tx.blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(HAND_OVER))).is_ok()
        });
        // The last guides, only for a file that passed (a refused one is not imported anyway).
        if read.is_ok() && !batch.is_empty() && tx.blocking_send(batch).is_err() {
            return Err(Unreadable::Stopped);
        }
        read
    });
    (GuideStream { batches: rx, batch: Vec::new().into_iter() }, reader)
}

/// The result of a reader thread; a panic in it is reported as a refusal, not passed on.
async fn joined(reader: tokio::task::JoinHandle<Result<ReadSummary, Unreadable>>) -> Result<ReadSummary, Unreadable> {
    reader.await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "catalogue reader thread failed");
        Err(Unreadable::Refused("读取文件时出现内部错误".to_owned()))
    })
}

/// Imports a file, reading it guide by guide into one unit of work: committed only when the
/// whole file read without a problem (this time too, if it was checked before: it may have
/// changed since), otherwise nothing is written. Audited like [`apply`].
pub async fn import_file(
    store: &dyn Store,
    path: PathBuf,
    format: Format,
    actor: &str,
    source: &str,
    now: DateTime<Utc>,
) -> StoreResult<Result<ImportReport, Unreadable>> {
    let today = china_date(now);
    let (mut guides, reader) = spawn_reader(path, format, today);
    let mut import = crate::server::service::catalogue::GuideImport::begin(store, today).await?;
    while let Some(guide) = guides.recv().await {
        import.put(&guide).await?;
    }
    if let Err(unreadable) = joined(reader).await {
        return Ok(Err(unreadable));
    }
    let report = import.commit().await?;
    if report.added + report.changed > 0 {
        audit_import(store, actor, source, now).await;
    }
    Ok(Ok(report))
}

/// What importing a checked file would do, reading it again guide by guide: against the stored
/// guides, or (`stored` None) against `instead`.
pub async fn plan_file(
    store: Option<&dyn Store>,
    instead: &HashMap<String, ServiceGuide>,
    path: PathBuf,
    format: Format,
    today: NaiveDate,
) -> StoreResult<Result<Plan, Unreadable>> {
    let (mut guides, reader) = spawn_reader(path, format, today);
    let mut plan = Plan::default();
    while let Some(guide) = guides.recv().await {
        match store {
            Some(store) => plan.add(&guide, store.guide(&guide.code).await?.as_ref()),
            None => plan.add(&guide, instead.get(&guide.code)),
        }
    }
    Ok(joined(reader).await.map(|_| plan))
}

/// Every stored guide by code.
pub async fn stored_guides(store: &dyn Store) -> StoreResult<HashMap<String, ServiceGuide>> {
    let (_, guides) = store.guides_since(0).await?;
    Ok(guides.into_iter().map(|g| (g.code.clone(), g)).collect())
}

/// What the command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// `--dry-run`: nothing written.
    DryRun(Plan),
    Imported(ImportReport),
}

impl ImportOutcome {
    /// The lines to print, in Chinese.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Self::Imported(r) => {
                vec![format!("新增 {} 项，更新 {} 项（版本号已递增），未变 {} 项", r.added, r.changed, r.unchanged)]
            }
            Self::DryRun(plan) => {
                let mut lines = vec![format!(
                    "试运行，未写入数据库：将新增 {} 项，更新 {} 项（版本号将递增），未变 {} 项",
                    plan.added.len(),
                    plan.changed.len(),
                    plan.unchanged
                )];
                for c in &plan.added {
                    lines.push(format!("  新增 {} {}", quoted(&c.code), quoted(&c.name)));
                }
                for c in &plan.changed {
                    let before = c.revision - 1;
                    lines.push(format!(
                        "  更新 {} {}（版本 {before} → {}）",
                        quoted(&c.code),
                        quoted(&c.name),
                        c.revision
                    ));
                }
                lines
            }
        }
    }
}

/// Imports checked guides in one transaction (all or nothing), or with `dry_run` only compares
/// them with the stored ones. A real import that changed anything is audited as `actor`
/// (`guides_imported`, target `catalogue`/`source`).
pub async fn apply(
    store: &dyn Store,
    guides: &[ServiceGuide],
    dry_run: bool,
    actor: &str,
    source: &str,
    now: DateTime<Utc>,
) -> StoreResult<ImportOutcome> {
    if dry_run {
        return Ok(ImportOutcome::DryRun(plan(guides, &stored_guides(store).await?)));
    }
    let report = crate::server::service::catalogue::upsert_guides(store, guides, china_date(now)).await?;
    if report.added + report.changed > 0 {
        audit_import(store, actor, source, now).await;
    }
    Ok(ImportOutcome::Imported(report))
}

/// The audit line of an import that changed something (`guides_imported`, target
/// `catalogue`/`source`).
pub(crate) async fn audit_import(store: &dyn Store, actor: &str, source: &str, now: DateTime<Utc>) {
    {
        let entry = AuditEntry {
            id: 0,
            at: now,
            claimed_at: None,
            staff_id: actor.to_owned(),
            window: None,
            action: "guides_imported".into(),
            target_kind: "catalogue".into(),
            target_id: quoted(source),
            addr: None,
            count: 1,
        };
        // The import is committed; a missing audit line does not undo it.
        if let Err(e) = store.append_audit(&entry).await {
            tracing::error!(error = %e, "audit line of a guide import not written");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUNDLED: &str = include_str!("../../assets/guides.json");

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 10, 9).unwrap()
    }

    fn bundled() -> Value {
        serde_json::from_str(BUNDLED).unwrap()
    }

    fn problems_of(value: &Value) -> Vec<ImportProblem> {
        read_catalogue(value.to_string().as_bytes(), Format::Json, today()).unwrap_err()
    }

    fn lines(problems: &[ImportProblem]) -> Vec<String> {
        problems.iter().map(ToString::to_string).collect()
    }

    /// Gives one byte per read, so every UTF-8 sequence is cut across reads.
    struct OneByte<'a>(&'a [u8]);

    impl Read for OneByte<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let Some((first, rest)) = self.0.split_first() else { return Ok(0) };
            out[0] = *first;
            self.0 = rest;
            Ok(1)
        }
    }

    #[test]
    fn the_checked_reader_keeps_text_cut_across_reads_and_stops_at_its_cap() {
        let text = "\u{feff}{\"note\": \"残疾人证\"}\n";
        let mut read = String::new();
        Checked::new(OneByte(text.as_bytes()), 1024).read_to_string(&mut read).unwrap();
        assert_eq!(read, text.trim_start_matches('\u{feff}'));
        // Only a mark at the very start is one: U+FEFF later in the text is kept.
        let later = "{\u{feff}}";
        let mut read = String::new();
        Checked::new(OneByte(later.as_bytes()), 1024).read_to_string(&mut read).unwrap();
        assert_eq!(read, later);

        // An endless source (a pipe, a device) is refused at the cap, not read on.
        let mut endless = Checked::new(std::io::repeat(b' '), 3 * 1024 * 1024);
        assert!(std::io::copy(&mut endless, &mut std::io::sink()).is_err());
        assert!(matches!(&endless.stop, Some(Stop::Refused(why)) if why == "文件超过 3 MB，不像办事指南目录"));
        assert!(endless.read <= 3 * 1024 * 1024 + 64 * 1024);

        // A bad byte after a cut sequence: the good text first, then where the bad byte is.
        let mut bytes = "{\n \"残\": ".as_bytes().to_vec();
        bytes.push(0xB2);
        let mut reader = Checked::new(OneByte(&bytes), 1024);
        let mut good = Vec::new();
        assert!(reader.read_to_end(&mut good).is_err());
        assert_eq!(good, &bytes[..bytes.len() - 1]);
        assert!(matches!(reader.stop, Some(Stop::NotUtf8 { line: 2, column: 7 })), "{:?}", reader.stop);
    }

    /// The reader thread hands guides over in batches: every good guide arrives, once, in file
    /// order, the last partial batch too; a dropped stream stops the reading.
    #[tokio::test]
    async fn the_reader_hands_every_guide_on_in_order_and_stops_when_dropped() {
        let mut file = bundled();
        let sample = file["guides"].as_array().expect("guides").clone();
        let n = 3 * HAND_OVER + 5;
        let guides: Vec<Value> = (0..n)
            .map(|i| {
                let mut g = sample[i % sample.len()].clone();
                g["code"] = format!("GEN-{i:06}").into();
                g
            })
            .collect();
        file["guides"] = guides.into();
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("many.json");
        std::fs::write(&path, serde_json::to_string(&file).expect("JSON")).expect("write");

        let (mut stream, reader) = spawn_reader(path.clone(), Format::Json, today());
        let mut codes = Vec::new();
        while let Some(guide) = stream.recv().await {
            codes.push(guide.code);
        }
        assert_eq!(joined(reader).await.map(|summary| summary.guides), Ok(n));
        assert_eq!(codes, (0..n).map(|i| format!("GEN-{i:06}")).collect::<Vec<_>>());

        let (mut stream, reader) = spawn_reader(path, Format::Json, today());
        assert!(stream.recv().await.is_some());
        drop(stream);
        assert_eq!(joined(reader).await, Err(Unreadable::Stopped));
    }

    #[test]
    fn guides_are_handed_on_one_at_a_time_and_the_receiver_can_stop() {
        let mut seen = Vec::new();
        let stopped = stream_catalogue(Source::Bytes(BUNDLED.as_bytes()), Format::Json, today(), &mut |guide| {
            seen.push(guide.code);
            seen.len() < 3
        });
        assert_eq!(stopped, Err(Unreadable::Stopped));
        assert_eq!(seen, ["HB-QS-0001", "HB-QS-0002", "HB-QS-0003"]);

        // After the first problem no guide is handed on, but every later one is still checked.
        let mut file = bundled();
        file["guides"][1]["hours"] = 1.into();
        file["guides"][50]["hours"] = 2.into();
        let mut handed = 0;
        let text = file.to_string();
        let read = stream_catalogue(Source::Bytes(text.as_bytes()), Format::Json, today(), &mut |_| {
            handed += 1;
            true
        });
        assert_eq!(handed, 1);
        let Err(Unreadable::Problems { shown, total }) = read else { panic!("{read:?}") };
        assert_eq!((shown.len(), total), (2, 2));
        assert_eq!(shown[1].item.as_ref().map(|i| i.index), Some(50));
    }

    #[test]
    fn the_bundled_catalogue_imports_as_is() {
        let catalogue = read_catalogue(BUNDLED.as_bytes(), Format::Json, today()).unwrap();
        let expected: Catalogue = serde_json::from_str(BUNDLED).unwrap();
        assert_eq!(catalogue.guides, expected.guides);
        assert_eq!(catalogue.note, expected.note);
    }

    #[test]
    fn every_error_in_every_guide_is_reported_with_item_and_field() {
        let mut file = bundled();
        let guides = file["guides"].as_array_mut().unwrap();
        guides[0]["materials"][1]["form"] = "原件x".into();
        guides[0]["promised_limit_days"] = (-1).into();
        guides[2].as_object_mut().unwrap().remove("department");
        guides[2]["aliasses"] = serde_json::json!(["拼错了"]);
        guides[4]["handling"] = "即办件".into();
        guides[4]["promised_limit_days"] = 5.into();
        guides[5] = "not a guide".into();
        let problems = problems_of(&file);
        let text = lines(&problems);
        assert_eq!(problems.len(), 6, "{text:#?}");
        assert_eq!(
            text[0],
            "第 1 项（HB-QS-0001 城乡居民基本养老保险参保登记）的 promised_limit_days（承诺时限）：\
             应为不小于 0 的整数，实际是数字 -1"
        );
        assert!(text[1].contains(
            "的 materials[1].form（材料形式）：“原件x”不是允许的取值，应为：原件、复印件、原件和复印件、电子"
        ));
        assert!(
            text[2].starts_with("第 3 项（HB-QS-0003 ")
                && text[2].ends_with("的 department（实施主体）：缺少此字段（必填）")
        );
        assert!(text[3].ends_with("的 aliasses：未知字段（是否应为 aliases？）"), "{}", text[3]);
        assert!(text[4].starts_with("第 5 项（HB-QS-0005 "));
        assert!(text[4].ends_with("的 promised_limit_days（承诺时限）：即办件的承诺时限应为 0 个工作日"));
        assert_eq!(text[5], "第 6 项：应为对象，实际是字符串“not a guide”");
        assert_eq!(problems[5].item, Some(Item { index: 5, code: None, name: None }));
        assert_eq!(problems[5].field, None);
    }

    /// A well-formed guide is read straight into its type, and gives what the field-by-field
    /// checks give; anything else goes through those checks.
    #[test]
    fn the_typed_reading_agrees_with_the_field_checks() {
        let file = bundled();
        for value in file["guides"].as_array().unwrap() {
            let checked = check_guide(value.clone(), today()).unwrap();
            assert_eq!(typed_guide(&value.to_string(), today()).as_ref(), Some(&checked));
            // Without a date: dated today, both ways.
            let mut undated = value.clone();
            undated.as_object_mut().unwrap().remove("updated_on");
            let checked = check_guide(undated.clone(), today()).unwrap();
            assert_eq!(checked.updated_on, today());
            assert_eq!(typed_guide(&undated.to_string(), today()).as_ref(), Some(&checked));
        }
        let guide = &file["guides"][0];
        let text = guide.to_string();
        // An unknown field, at the top or in a list, is left to the checks that name it.
        let mut unknown = guide.clone();
        unknown["materials"][0]["sorce"] = "公安机关".into();
        assert_eq!(typed_guide(&unknown.to_string(), today()), None);
        unknown = guide.clone();
        unknown["revison"] = 2.into();
        assert_eq!(typed_guide(&unknown.to_string(), today()), None);
        // So is a key written with an escape, which the checks read as the plain key.
        let escaped = text.replacen("\"code\"", "\"co\\u0064e\"", 1);
        assert_ne!(escaped, text);
        assert_eq!(typed_guide(&escaped, today()), None);
        assert!(check_guide(serde_json::from_str(&escaped).unwrap(), today()).is_ok());
        // And anything serde refuses.
        let mut refused = guide.clone();
        refused["handling"] = "承诺".into();
        assert_eq!(typed_guide(&refused.to_string(), today()), None);
        assert_eq!(typed_guide("{}", today()), None);
        assert_eq!(typed_guide("[]", today()), None);
    }

    /// The typed reading lets through only the fields of [`FIELD_LABELS`]: each must be a field
    /// the checks know, or a field they would call unknown would get in unchecked.
    #[test]
    fn every_labelled_field_is_one_the_checks_know() {
        let mut guide = Value::Object(Map::new());
        for (list, field, _) in FIELD_LABELS {
            if list.is_empty() {
                guide.as_object_mut().unwrap().entry(*field).or_insert(Value::Null);
            } else {
                if !guide[*list].is_array() {
                    guide[*list] = serde_json::json!([{}]);
                }
                guide[*list][0][*field] = Value::Null;
            }
        }
        let errors = check_guide(guide, today()).unwrap_err();
        assert!(errors.iter().any(|(field, _)| field.as_deref() == Some("materials[0].id")), "{errors:?}");
        let unknown: Vec<_> = errors.iter().filter(|(_, message)| message.starts_with("未知字段")).collect();
        assert!(unknown.is_empty(), "{unknown:?}");
    }

    #[test]
    fn duplicate_codes_name_the_first() {
        let mut file = bundled();
        let guides = file["guides"].as_array_mut().unwrap();
        guides[7]["code"] = "HB-QS-0002".into();
        let problems = problems_of(&file);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field.as_deref(), Some("code"));
        assert!(problems[0].to_string().starts_with("第 8 项（HB-QS-0002 "), "{}", problems[0]);
        assert!(problems[0].to_string().ends_with("的 code（事项编码）：事项编码 HB-QS-0002 与第 2 项重复"));
    }

    #[test]
    fn syntax_errors_give_line_and_column_in_characters() {
        let json = "{\n  \"guides\": [\n    {\"name\": \"残疾人证\" \"code\": 1}\n  ]\n}\n";
        let problems = read_catalogue(json.as_bytes(), Format::Json, today()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].at, Some((3, 21)));
        assert_eq!(
            problems[0].to_string(),
            "第 3 行第 21 列：JSON 语法错误：此处应为逗号 , 或右花括号 }（是否漏了逗号？）"
        );

        let toml = "note = \"x\"\n[[guides]]\ncode = \"HB-1\"\nname = 残疾\n";
        let problems = read_catalogue(toml.as_bytes(), Format::Toml, today()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].at, Some((4, 8)), "{}", problems[0]);
        assert!(problems[0].to_string().starts_with("第 4 行第 8 列：TOML 语法错误："), "{}", problems[0]);

        // A trailing comma inside a guide, in an object or a list, is called one, at the bracket.
        for json in ["{\"guides\": [{\"code\": \"HB-1\",}]}", "{\"guides\": [{\"aliases\": [\"残疾证\",]}]}"] {
            let problems = read_catalogue(json.as_bytes(), Format::Json, today()).unwrap_err();
            let comma = json.rfind(',').unwrap();
            let column = json[..comma].chars().count() + 2;
            assert_eq!(lines(&problems), [format!("第 1 行第 {column} 列：JSON 语法错误：多余的逗号")]);
        }

        let problems = read_catalogue(b"{\"guides\": [\xB2\xD0]}", Format::Json, today()).unwrap_err();
        assert!(problems[0].to_string().contains("不是 UTF-8 编码"), "{}", problems[0]);
        assert_eq!(problems[0].at, Some((1, 13)));
    }

    #[test]
    fn file_level_problems() {
        let problems = read_catalogue(b"[]", Format::Json, today()).unwrap_err();
        assert!(problems[0].message.contains("顶层应为一个对象"));
        let problems = read_catalogue(br#"{"note": 1, "guide": []}"#, Format::Json, today()).unwrap_err();
        assert_eq!(
            lines(&problems),
            [
                "guide：未知字段（拼写错误？）；顶层只能有 note 和 guides",
                "note：应为字符串，实际是数字 1",
                "guides：缺少此字段（办事指南列表）"
            ]
        );
        let problems = read_catalogue(br#"{"guides": []}"#, Format::Json, today()).unwrap_err();
        assert_eq!(lines(&problems), ["guides：没有任何办事指南"]);
    }

    #[test]
    fn guide_fields_at_the_top_of_a_toml_file_are_explained() {
        let text = "[[guides]]\ncode = \"HB-1\"\n[[legal_basis]]\nlaw = \"《某法》\"\n";
        let problems = read_catalogue(text.as_bytes(), Format::Toml, today()).unwrap_err();
        assert_eq!(
            problems[0].to_string(),
            "legal_basis：这是办事指南的字段，应写在某项指南之内（TOML 中写作 [[guides.legal_basis]] 或放在 [[guides]] 之下）"
        );
    }

    #[test]
    fn toml_reads_like_json_and_dates_may_be_toml_dates() {
        let catalogue: Catalogue = serde_json::from_str(BUNDLED).unwrap();
        let mut guide = catalogue.guides[0].clone();
        let text = toml::to_string(&Catalogue { note: "样例".into(), guides: vec![guide.clone()] }).unwrap();
        let text = text.replace("updated_on = \"2025-03-12\"", "updated_on = 2025-03-12");
        assert!(text.contains("updated_on = 2025-03-12"));
        let read = read_catalogue(text.as_bytes(), Format::Toml, today()).unwrap();
        assert_eq!(read.note, "样例");
        assert_eq!(read.guides, [guide.clone()]);

        // Without updated_on and revision: today and 1.
        let text = text.replace("updated_on = 2025-03-12\n", "").replace("revision = 1\n", "");
        let read = read_catalogue(text.as_bytes(), Format::Toml, today()).unwrap();
        guide.updated_on = today();
        assert_eq!(read.guides, [guide]);
    }

    #[test]
    fn unknown_fields_suggest_a_near_one() {
        assert_eq!(edit_distance("onlne", "online"), 1);
        assert_eq!(edit_distance("kewords", "keywords"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        let mut file = bundled();
        file["guides"][0]["materials"][0]["sorce"] = "公安机关".into();
        file["guides"][0]["zzz"] = 1.into();
        let text = lines(&problems_of(&file));
        assert!(text[0].ends_with("的 materials[0].sorce：未知字段（是否应为 source？）"), "{text:?}");
        assert!(text[1].ends_with("的 zzz：未知字段（拼写错误？）"), "{text:?}");
    }

    #[test]
    fn allowed_values_are_the_serde_names() {
        assert_eq!(allowed_values::<Handling>(), ["即办件", "承诺件"]);
        assert_eq!(allowed_values::<Online>(), ["仅线下办理", "网上预审", "全程网办"]);
        assert_eq!(allowed_values::<MaterialForm>(), ["原件", "复印件", "原件和复印件", "电子"]);
        assert_eq!(allowed_values::<ItemType>().len(), 8);
        assert_eq!(allowed_values::<WindowKind>().len(), 5);
    }

    /// The field checks know every field the bundled guides use, and the format document
    /// describes every field and every allowed value.
    #[test]
    fn the_format_document_covers_every_field_and_value() {
        let doc = include_str!("../../docs/catalogue-format.md");
        for (_, field, label) in FIELD_LABELS {
            assert!(doc.contains(&format!("`{field}`")), "{field} is not documented");
            assert!(doc.contains(label), "{label} is not in the glossary");
        }
        let values = [
            allowed_values::<ItemType>(),
            allowed_values::<Handling>(),
            allowed_values::<WindowKind>(),
            allowed_values::<MaterialForm>(),
            allowed_values::<Online>(),
        ];
        for value in values.iter().flatten() {
            assert!(doc.contains(&format!("`{value}`")), "{value} is not documented");
        }
        // Every key the bundled guides use has a label.
        let file = bundled();
        for guide in file["guides"].as_array().unwrap() {
            for (key, value) in guide.as_object().unwrap() {
                assert!(field_label(key).is_some(), "{key}");
                for element in value.as_array().into_iter().flatten().filter_map(Value::as_object) {
                    for inner in element.keys() {
                        assert!(field_label(&format!("{key}[0].{inner}")).is_some(), "{key}.{inner}");
                    }
                }
            }
        }
    }

    /// The examples of `docs/catalogue-format.md` read as they say.
    #[test]
    fn the_documented_examples_read() {
        let doc = include_str!("../../docs/catalogue-format.md");
        let block = |fence: &str| doc.split(fence).nth(1).unwrap().split("```").next().unwrap().to_owned();
        let catalogue = read_catalogue(block("```json\n").as_bytes(), Format::Json, today()).unwrap();
        assert_eq!(catalogue.guides.len(), 1);
        assert_eq!(catalogue.guides[0].updated_on, today());
        // The TOML example stops after the first material: only the process is missing.
        let problems = read_catalogue(block("```toml\n").as_bytes(), Format::Toml, today()).unwrap_err();
        assert_eq!(
            lines(&problems),
            ["第 1 项（HB-QS-0901 农村危房改造补助申请）的 process（办理流程）：缺少此字段（必填）"]
        );
    }

    #[test]
    fn plan_compares_content_not_revision() {
        let catalogue: Catalogue = serde_json::from_str(BUNDLED).unwrap();
        let mut stored: HashMap<String, ServiceGuide> =
            catalogue.guides.iter().map(|g| (g.code.clone(), ServiceGuide { revision: 3, ..g.clone() })).collect();
        stored.remove("HB-QS-0001");
        let mut guides = catalogue.guides.clone();
        guides[1].hours = "周一至周五".into();
        guides[2].updated_on = today();
        let plan = plan(&guides, &stored);
        assert_eq!(plan.added.iter().map(|c| (c.code.as_str(), c.revision)).collect::<Vec<_>>(), [("HB-QS-0001", 1)]);
        assert_eq!(plan.changed.iter().map(|c| (c.code.as_str(), c.revision)).collect::<Vec<_>>(), [("HB-QS-0002", 4)]);
        assert_eq!(plan.unchanged, guides.len() - 2);
        let lines = ImportOutcome::DryRun(plan).lines();
        assert!(lines[0].starts_with("试运行，未写入数据库：将新增 1 项，更新 1 项"), "{lines:?}");
        assert!(lines[2].ends_with("（版本 3 → 4）"), "{lines:?}");
    }

    #[tokio::test]
    async fn apply_imports_all_or_compares_only() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            crate::server::store::open(&format!("sqlite://{}", dir.path().join("s.db").display())).await.unwrap();
        let catalogue: Catalogue = serde_json::from_str(BUNDLED).unwrap();
        let now = Utc::now();
        let guides = &catalogue.guides[..3];
        let outcome = apply(store.as_ref(), guides, true, "命令行:test", "a.json", now).await.unwrap();
        assert!(matches!(&outcome, ImportOutcome::DryRun(p) if p.added.len() == 3));
        assert!(stored_guides(store.as_ref()).await.unwrap().is_empty());

        let outcome = apply(store.as_ref(), guides, false, "命令行:test", "a.json", now).await.unwrap();
        assert_eq!(outcome, ImportOutcome::Imported(ImportReport { added: 3, changed: 0, unchanged: 0 }));
        assert_eq!(outcome.lines(), ["新增 3 项，更新 0 项（版本号已递增），未变 0 项"]);
        let audit = store.audit_trail(10, None).await.unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!((audit[0].action.as_str(), audit[0].target_id.as_str()), ("guides_imported", "a.json"));

        let mut changed = guides.to_vec();
        changed[0].hours = "周一至周五".into();
        let outcome = apply(store.as_ref(), &changed, false, "命令行:test", "a.json", now).await.unwrap();
        assert_eq!(outcome, ImportOutcome::Imported(ImportReport { added: 0, changed: 1, unchanged: 2 }));
        assert_eq!(store.guide("HB-QS-0001").await.unwrap().unwrap().revision, 2);
    }
}
