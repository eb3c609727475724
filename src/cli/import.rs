//! `bianmin import guides FILE`: a service-guide catalogue file (JSON like `assets/guides.json`,
//! or TOML of the same shape) checked as a whole, then written in one transaction.
//!
//! The file is first parsed into a generic value, and every guide is checked on its own, field by
//! field, so that one bad guide does not hide the others and every error names the guide (its
//! place in the file, 事项编码 and 事项名称) and the field. Only a file without a single error is
//! imported; `docs/catalogue-format.md` describes the format.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
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
        let text =
            |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned).filter(|s| !s.trim().is_empty());
        Self { index, code: text("code"), name: text("name") }
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

/// Reads a whole import file: every problem in it, or the catalogue when there is none. Guides
/// without `updated_on` get `today` (an import sets the date of what it changes anyway).
/// The largest catalogue file read: a province's 10,000 guides are about 23 MB of JSON.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a catalogue file, refusing (in Chinese, for the user) one larger than
/// [`MAX_FILE_BYTES`] or holding a NUL byte (no JSON or TOML text does) as soon as it is seen:
/// a device or pipe like `/dev/zero` fails at once instead of filling memory.
pub fn read_file_bounded(path: &std::path::Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "文件不存在".to_owned(),
        std::io::ErrorKind::PermissionDenied => "没有读取权限".to_owned(),
        _ => e.to_string(),
    })?;
    let mut reader = file.take(MAX_FILE_BYTES + 1);
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.to_string()),
        };
        if chunk[..n].contains(&0) {
            return Err("文件含有 NUL 字节，不是 JSON 或 TOML 文本".to_owned());
        }
        bytes.extend_from_slice(&chunk[..n]);
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(format!("文件超过 {} MB，不像办事指南目录", MAX_FILE_BYTES / 1024 / 1024));
        }
    }
    Ok(bytes)
}

pub fn read_catalogue(bytes: &[u8], format: Format, today: NaiveDate) -> Result<Catalogue, Vec<ImportProblem>> {
    let text = decode(bytes)?;
    let root = parse(text, format)?;
    check(root, today)
}

/// UTF-8 text without a byte-order mark.
fn decode(bytes: &[u8]) -> Result<&str, Vec<ImportProblem>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = 1 + good.iter().filter(|b| **b == b'\n').count();
        let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column = 1 + String::from_utf8_lossy(&good[line_start..]).chars().count();
        vec![ImportProblem {
            at: Some((line, column)),
            ..ImportProblem::file(None, "文件不是 UTF-8 编码（可能是 GBK）：请在编辑器中另存为 UTF-8 后再导入")
        }]
    })
}

/// The file as a generic JSON value (TOML converted), or its syntax error with line and column.
fn parse(text: &str, format: Format) -> Result<Value, Vec<ImportProblem>> {
    match format {
        Format::Json => serde_json::from_str(text).map_err(|e| {
            let line = e.line().max(1);
            // serde_json counts bytes on the line; people count characters.
            let line_text = text.lines().nth(line - 1).unwrap_or("");
            let column = line_text.char_indices().take_while(|(i, _)| *i < e.column()).count().max(1);
            let message = format!("JSON 语法错误：{}", json_syntax_message(&e));
            vec![ImportProblem { at: Some((line, column)), ..ImportProblem::file(None, message) }]
        }),
        Format::Toml => match toml::from_str::<toml::Table>(text) {
            Ok(table) => Ok(toml_to_json(toml::Value::Table(table))),
            Err(e) => {
                let at = e.span().map(|span| {
                    let before = &text[..span.start.min(text.len())];
                    let line = 1 + before.matches('\n').count();
                    let column = 1 + before.rsplit('\n').next().unwrap_or("").chars().count();
                    (line, column)
                });
                let message = format!("TOML 语法错误：{}", toml_syntax_message(e.message()));
                Err(vec![ImportProblem { at, ..ImportProblem::file(None, message) }])
            }
        },
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

/// Every problem of the parsed file, or its catalogue.
fn check(root: Value, today: NaiveDate) -> Result<Catalogue, Vec<ImportProblem>> {
    let Value::Object(mut root) = root else {
        return Err(vec![ImportProblem::file(None, "文件顶层应为一个对象，含 note（说明）和 guides（办事指南列表）")]);
    };
    let mut problems = Vec::new();
    for key in root.keys().filter(|k| *k != "note" && *k != "guides") {
        let message = if field_label(key).is_some() {
            format!("这是办事指南的字段，应写在某项指南之内（TOML 中写作 [[guides.{key}]] 或放在 [[guides]] 之下）")
        } else {
            "未知字段（拼写错误？）；顶层只能有 note 和 guides".to_owned()
        };
        problems.push(ImportProblem::file(Some(key), message));
    }
    let note = match root.remove("note") {
        None => String::new(),
        Some(Value::String(s)) => s,
        Some(other) => {
            problems.push(ImportProblem::file(Some("note"), wrong("字符串", &other)));
            String::new()
        }
    };
    let items = match root.remove("guides") {
        Some(Value::Array(items)) if items.is_empty() => {
            problems.push(ImportProblem::file(Some("guides"), "没有任何办事指南"));
            Vec::new()
        }
        Some(Value::Array(items)) => items,
        Some(other) => {
            problems.push(ImportProblem::file(Some("guides"), wrong("办事指南的数组", &other)));
            Vec::new()
        }
        None => {
            problems.push(ImportProblem::file(Some("guides"), "缺少此字段（办事指南列表）"));
            Vec::new()
        }
    };
    let mut guides = Vec::with_capacity(items.len());
    let mut first_with_code: HashMap<String, usize> = HashMap::new();
    for (index, value) in items.into_iter().enumerate() {
        let item = Item::of(index, &value);
        let mut found: Vec<(Option<String>, String)> = Vec::new();
        match check_guide(value, today) {
            Ok(guide) => {
                found.extend(guide.problems().into_iter().map(|p| (Some(p.field), p.message)));
                if guide.code.trim() != guide.code {
                    found.push((Some("code".into()), "事项编码首尾不能有空格".into()));
                }
                if found.is_empty() {
                    guides.push(guide);
                }
            }
            Err(errors) => found.extend(errors),
        }
        if let Some(code) = item.code.as_deref() {
            match first_with_code.entry(code.to_owned()) {
                Entry::Occupied(first) => found
                    .push((Some("code".into()), format!("事项编码 {} 与第 {} 项重复", quoted(code), first.get() + 1))),
                Entry::Vacant(slot) => {
                    slot.insert(index);
                }
            }
        }
        problems.extend(found.into_iter().map(|(field, message)| ImportProblem {
            at: None,
            item: Some(item.clone()),
            field,
            message,
        }));
    }
    if problems.is_empty() { Ok(Catalogue { note, guides }) } else { Err(problems) }
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
    let strip = |g: &ServiceGuide| ServiceGuide { revision: 0, updated_on: NaiveDate::MIN, ..g.clone() };
    let mut plan = Plan::default();
    for guide in guides {
        let change = |revision| Change { code: guide.code.clone(), name: guide.name.clone(), revision };
        match stored.get(&guide.code) {
            None => plan.added.push(change(1)),
            Some(old) if strip(old) == strip(guide) => plan.unchanged += 1,
            Some(old) => plan.changed.push(change(old.revision + 1)),
        }
    }
    plan
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
    Ok(ImportOutcome::Imported(report))
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
