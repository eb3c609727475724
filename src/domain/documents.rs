//! Printed documents handed to the applicant: the one-time notice (一次性告知单, clause 7.6.2 of
//! DB 4210/T 61-2023 and article 32 of the Administrative Licensing Law) and the acceptance
//! receipt (受理凭证, clause 7.6.3).
//!
//! A notice is a legal record of what the center told the applicant: it lists every item of
//! `notice.missing` (the snapshot taken when the notice was given, not the live checklist) and
//! nothing that was received. Personal data is printed masked only.
//!
//! Each document comes as 80-column plain text (receipt printers, the terminal preview) and as a
//! self-contained A4 HTML page. Both are pure functions of their inputs: the print time comes in
//! the [`Letterhead`], never from a clock. The text uses only ASCII `-`, `=` and `*` for rules and
//! marks, no ambiguous-width characters (①, ■, …, ×, ·, box drawing), which some receipt printers
//! and CJK terminals print two columns wide.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use unicode_width::UnicodeWidthChar;
use uuid::Uuid;

use super::applicant::Applicant;
use super::case::{Case, ChecklistItem, MaterialCheck};
use super::center::Center;
use super::error::Invalid;
use super::guide::{Handling, Material, ServiceGuide};
use super::notice::OneTimeNotice;
use super::text::clean_line;
use super::time::to_china;

/// Width of the plain-text documents, in display columns.
pub const TEXT_COLUMNS: usize = 80;

/// Everything a printed document needs besides the case itself.
#[derive(Debug, Clone, Copy)]
pub struct Letterhead<'a> {
    pub center: &'a Center,
    pub window_number: u32,
    pub window_name: &'a str,
    pub clerk_name: &'a str,
    /// Shown in China time.
    pub printed_at: DateTime<Utc>,
}

/// Notice number (告知单编号), e.g. `GZ01-20261130-0001`: `GZ` (告知), the window number, the
/// China-time day the notice is given and the window's sequence within that day.
///
/// Why this shape:
/// - notices are given at the window, also while the township network is down, so the number
///   must be unique without asking the server: each window numbers its own notices, and the
///   window in the number keeps two windows' sequences apart;
/// - the day is in the number because article 32 counts from it (补正 must be told at once or
///   within five days), the sequence restarts daily, and numbers sort by day as plain strings;
/// - plain ASCII: fixed width on any receipt printer, easy to read out over the phone, and the
///   `GZ` prefix cannot be confused with a case number (`SL…`) or a queue ticket (`A001`).
///
/// Window numbers above 99 and sequences above 9999 simply take more digits; the `-` separators
/// keep such numbers unique.
pub fn notice_number(window: u32, day: NaiveDate, seq: u32) -> String {
    format!("GZ{window:02}-{}-{seq:04}", compact_date(day))
}

/// Case number (办件编号) assigned at acceptance, e.g. `SL20261130-01-0001`: `SL` (受理), the
/// China-time day of acceptance, the accepting window and that window's daily sequence. Unique
/// without a central counter for the same reasons as [`notice_number`].
pub fn case_number(day: NaiveDate, window: u32, seq: u32) -> String {
    format!("SL{}-{window:02}-{seq:04}", compact_date(day))
}

fn compact_date(day: NaiveDate) -> String {
    format!("{:04}{:02}{:02}", day.year(), day.month(), day.day())
}

/// The short form of a case id printed on documents: the last 8 hex digits. A UUIDv7 starts with
/// its creation time in milliseconds, so its first digits are the same for every case opened
/// within the same minute; the last ones are random.
pub fn case_short_id(id: Uuid) -> String {
    let simple = id.simple().to_string();
    simple[simple.len() - 8..].to_owned()
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

// ------------------------------------------------------------------------------------------------
// Content shared by the text and HTML forms.

fn date_cn(d: NaiveDate) -> String {
    format!("{:04}年{:02}月{:02}日", d.year(), d.month(), d.day())
}

fn datetime_cn(t: DateTime<Utc>) -> String {
    let china = to_china(t);
    format!("{} {:02}:{:02}", date_cn(china.date_naive()), china.hour(), china.minute())
}

fn situation_name(case: &Case, guide: &ServiceGuide) -> Option<String> {
    match &case.situation_id {
        Some(id) => Some(match guide.situations.iter().find(|s| &s.id == id) {
            Some(s) => s.name.clone(),
            None => format!("{id}（办事指南中已无此情形）"),
        }),
        None if guide.situations.is_empty() => None,
        None => Some("未选择".to_owned()),
    }
}

/// Acceptance conditions of the guide, then those of the case's situation.
fn acceptance_conditions(case: &Case, guide: &ServiceGuide) -> Vec<String> {
    let situation = case.situation_id.as_deref().and_then(|id| guide.situations.iter().find(|s| s.id == id));
    guide.acceptance_conditions.iter().chain(situation.into_iter().flat_map(|s| s.conditions.iter())).cloned().collect()
}

fn applicant_fields(applicant: Option<&Applicant>) -> Vec<(&'static str, String)> {
    match applicant {
        Some(a) => vec![
            ("申请人", a.masked_name()),
            ("证件号码", a.id_number.masked()),
            ("联系电话", a.phone.as_ref().map_or_else(|| "未登记".to_owned(), |p| p.masked())),
        ],
        None => vec![("申请人", "未登记".to_owned())],
    }
}

fn legal_basis(guide: &ServiceGuide) -> String {
    guide.legal_basis.iter().map(|b| format!("{}{}", b.law, b.article)).collect::<Vec<_>>().join("；")
}

fn is_on_the_spot(guide: &ServiceGuide) -> bool {
    guide.handling == Handling::OnTheSpot || guide.promised_limit_days == 0
}

fn statutory_limit(guide: &ServiceGuide) -> String {
    match guide.statutory_limit_days {
        None => "法律法规未规定".to_owned(),
        Some(0) => "即办".to_owned(),
        Some(n) => format!("{n} 个工作日"),
    }
}

fn promised_limit(guide: &ServiceGuide) -> String {
    if is_on_the_spot(guide) {
        "即办件，材料齐全当场办结".to_owned()
    } else {
        format!("{} 个工作日（承诺件，自受理次日起算）", guide.promised_limit_days)
    }
}

/// 办理流程 (the 程序 of clause 7.6.2), one entry per step.
fn process(guide: &ServiceGuide) -> Vec<String> {
    guide
        .process
        .iter()
        .map(
            |p| {
                if p.description.trim().is_empty() { p.name.clone() } else { format!("{}：{}", p.name, p.description) }
            },
        )
        .collect()
}

fn fees(guide: &ServiceGuide) -> Vec<String> {
    if guide.is_free() {
        vec!["不收费".to_owned()]
    } else {
        guide.fees.iter().map(|f| format!("{}：{}（收费依据：{}）", f.item, f.standard, f.basis)).collect()
    }
}

/// The distinct non-empty numbers, in order, joined with 、.
fn phones<'a>(numbers: impl IntoIterator<Item = &'a str>) -> String {
    let mut out: Vec<&str> = Vec::new();
    for n in numbers {
        let n = n.trim();
        if !n.is_empty() && !out.contains(&n) {
            out.push(n);
        }
    }
    out.join("、")
}

fn consult_phones(head: &Letterhead, guide: &ServiceGuide) -> String {
    phones([guide.consult_phone.as_str(), head.center.consult_phone.as_str()])
}

fn complaint_phones(head: &Letterhead, guide: &ServiceGuide) -> String {
    phones([guide.complaint_phone.as_str(), head.center.complaint_phone.as_str()])
}

fn window_label(head: &Letterhead) -> String {
    format!("{}号窗口（{}）", head.window_number, head.window_name)
}

const NOTICE_TITLE: &str = "一次性告知单";
const NOTICE_SUBTITLE: &str = "补正材料一次性告知";
const NOTICE_INTRO: &str = "经审查，您提交的申请材料不齐全或者不符合法定形式。依照《中华人民共和国行政许可法》第三十二条和一次性告知制的规定，现将需要补正的全部材料一次性告知如下：";
const NOTICE_STATEMENT: &str =
    "依照法律规定，本告知单已一次性列明需要补正的全部材料。请按本告知一次性补齐上述材料；补齐后即可受理。";
const RECEIPT_TITLE: &str = "受理凭证";

/// One missing item with what the guide says about getting it.
struct MissingLine<'a> {
    item: &'a ChecklistItem,
    material: Option<&'a Material>,
}

impl MissingLine<'_> {
    fn source(&self) -> String {
        self.material.map_or_else(|| "请向窗口咨询".to_owned(), |m| m.source.clone())
    }

    fn copies(&self) -> String {
        format!("{} 份", self.item.copies)
    }

    /// Labelled details after the name, form and copies, in print order.
    fn details(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(condition) = &self.item.condition {
            out.push(("适用情形", condition.clone()));
        }
        out.push(("获取途径", self.source()));
        if let Some(m) = self.material {
            if let Some(blank) = &m.blank_form {
                out.push(("空白表格", blank.clone()));
            }
            if let Some(sample) = &m.sample_form {
                out.push(("示例样本", sample.clone()));
            }
            if !m.notes.trim().is_empty() {
                out.push(("材料说明", m.notes.clone()));
            }
        }
        if !self.item.note.trim().is_empty() {
            out.push(("窗口备注", self.item.note.clone()));
        }
        out
    }
}

fn missing_lines<'a>(notice: &'a OneTimeNotice, guide: &'a ServiceGuide) -> Vec<MissingLine<'a>> {
    notice
        .missing
        .iter()
        .map(|item| MissingLine { item, material: guide.materials.iter().find(|m| m.id == item.material_id) })
        .collect()
}

/// The promised deadline line of a receipt, or why there is none.
fn receipt_facts<'a>(case: &'a Case, guide: &ServiceGuide) -> Result<(&'a str, NaiveDate, String), Invalid> {
    let bad = |field: &str, message: &str| Invalid { field: field.into(), message: message.into() };
    let number = case.case_number.as_deref().ok_or_else(|| bad("case_number", "办件尚未受理，没有办件编号"))?;
    let accepted_on = case.accepted_on.ok_or_else(|| bad("accepted_on", "办件尚未受理，没有受理日期"))?;
    let deadline = match (case.deadline, is_on_the_spot(guide)) {
        (Some(d), _) => {
            let mut s = date_cn(d.date);
            if d.provisional {
                s.push_str("（待定）");
            }
            s
        }
        (None, true) => date_cn(accepted_on),
        (None, false) => return Err(bad("deadline", "已受理的承诺件缺少承诺办结日期")),
    };
    Ok((number, accepted_on, deadline))
}

const PROVISIONAL_NOTE: &str =
    "注：承诺办结日期所在年度的法定节假日安排尚未公布，日期标注（待定），公布后可能顺延，届时以窗口通知为准。";

fn collection(head: &Letterhead, guide: &ServiceGuide) -> String {
    if is_on_the_spot(guide) {
        "即办件，当场办结，当场领取办理结果。".to_owned()
    } else {
        format!("统一出件，办结后请凭本凭证到{}综合出件窗口领取办理结果（{}）。", head.center.name, head.center.address)
    }
}

// ------------------------------------------------------------------------------------------------
// Plain text.

/// Display columns of a character, counting East Asian ambiguous-width characters as two: user
/// text may contain them, and a CJK receipt printer prints them wide.
fn char_cols(c: char) -> usize {
    c.width().unwrap_or(0).max(c.width_cjk().unwrap_or(0))
}

fn cols(s: &str) -> usize {
    s.chars().map(char_cols).sum()
}

/// May not begin a line (避头): closing punctuation stays with what it closes.
const NO_LINE_START: &str = "，。、；：？！）》」』】〕〉”’,.;:?!)]}%";
/// May not end a line (避尾): opening brackets stay with what they open.
const NO_LINE_END: &str = "（《「『【〔〈“‘([{";

/// Breaks `text` into lines of at most `first` display columns (the first line) and `rest` (the
/// others). Control characters are removed first. Lines break at spaces, between any two CJK
/// characters (keeping closing punctuation off a line start and opening brackets off a line end)
/// and never inside a character; a run of ASCII without spaces (a phone number, `8:30-12:00`) is
/// kept together unless it is wider than a whole line.
fn wrap(text: &str, first: usize, rest: usize) -> Vec<String> {
    let text = clean_line(text);
    // Unbreakable units: `None` is a space (a break opportunity).
    let mut units: Vec<Option<String>> = Vec::new();
    let mut glue = false;
    for c in text.chars() {
        if c == ' ' {
            units.push(None);
            glue = false;
            continue;
        }
        match units.last_mut() {
            Some(Some(last))
                if glue
                    || char_cols(c) == 0
                    || NO_LINE_START.contains(c)
                    || (c.is_ascii_graphic() && last.chars().next_back().is_some_and(|p| p.is_ascii_graphic())) =>
            {
                last.push(c)
            }
            _ => units.push(Some(c.to_string())),
        }
        glue = NO_LINE_END.contains(c);
    }

    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    let mut pending_space = false;
    let limit = |lines: &Vec<String>| if lines.is_empty() { first } else { rest }.max(2);
    let flush = |lines: &mut Vec<String>, line: &mut String, used: &mut usize| {
        lines.push(line.trim_end().to_owned());
        line.clear();
        *used = 0;
    };
    for unit in units {
        let Some(word) = unit else {
            pending_space = !line.is_empty();
            continue;
        };
        let w = cols(&word);
        let space = usize::from(pending_space);
        pending_space = false;
        if used + space + w <= limit(&lines) {
            if space == 1 {
                line.push(' ');
            }
            line.push_str(&word);
            used += space + w;
            continue;
        }
        if !line.is_empty() {
            flush(&mut lines, &mut line, &mut used);
        }
        if w <= limit(&lines) {
            line.push_str(&word);
            used = w;
            continue;
        }
        // Wider than a whole line: break it between characters.
        for c in word.chars() {
            let cw = char_cols(c);
            if used + cw > limit(&lines) && !line.is_empty() {
                flush(&mut lines, &mut line, &mut used);
            }
            line.push(c);
            used += cw;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line.trim_end().to_owned());
    }
    lines
}

/// A plain-text document being laid out, 80 columns wide.
struct TextDoc {
    lines: Vec<String>,
}

impl TextDoc {
    fn new() -> Self {
        Self { lines: Vec::new() }
    }

    fn rule(&mut self, c: char) {
        self.lines.push(c.to_string().repeat(TEXT_COLUMNS));
    }

    fn blank(&mut self) {
        self.lines.push(String::new());
    }

    fn centered(&mut self, s: &str) {
        for line in wrap(s, TEXT_COLUMNS, TEXT_COLUMNS) {
            let left = (TEXT_COLUMNS - cols(&line)) / 2;
            self.lines.push(format!("{}{line}", " ".repeat(left)));
        }
    }

    /// `first` before the first line, `indent` spaces before the others.
    fn hanging(&mut self, first: &str, indent: usize, text: &str) {
        let lead = cols(first);
        for (i, line) in wrap(text, TEXT_COLUMNS - lead, TEXT_COLUMNS - indent).into_iter().enumerate() {
            let prefix = if i == 0 { first.to_owned() } else { " ".repeat(indent) };
            self.lines.push(format!("{prefix}{line}").trim_end().to_owned());
        }
    }

    fn para(&mut self, indent: usize, text: &str) {
        self.hanging(&" ".repeat(indent), indent, text);
    }

    /// `label：value`, continuation lines aligned under the value.
    fn field(&mut self, indent: usize, label: &str, value: &str) {
        let first = format!("{}{label}：", " ".repeat(indent));
        let hang = cols(&first).min(indent + 16);
        self.hanging(&first, hang, value);
    }

    /// Two short fields on one line when they fit, else one under the other.
    fn field_pair(&mut self, indent: usize, a: (&str, &str), b: (&str, &str)) {
        let left = format!("{}{}：{}", " ".repeat(indent), a.0, clean_line(a.1));
        let right = format!("{}：{}", b.0, clean_line(b.1));
        let gap = 4;
        if cols(&left) + gap + cols(&right) <= TEXT_COLUMNS {
            let pad = 40usize.saturating_sub(cols(&left)).max(gap);
            let pad = if cols(&left) + pad + cols(&right) <= TEXT_COLUMNS { pad } else { gap };
            self.lines.push(format!("{left}{}{right}", " ".repeat(pad)));
        } else {
            self.field(indent, a.0, a.1);
            self.field(indent, b.0, b.1);
        }
    }

    /// Numbered entries `1. …`, continuation lines under the text.
    fn numbered(&mut self, indent: usize, entries: &[String]) {
        for (i, e) in entries.iter().enumerate() {
            let first = format!("{}{}. ", " ".repeat(indent), i + 1);
            let hang = cols(&first);
            self.hanging(&first, hang, e);
        }
    }

    fn signatures(&mut self, left: &str, right: &str) {
        let line = "_".repeat(18);
        self.lines.push(format!("{left}：{line}    {right}：{line}"));
        let date_label = format!("{:w$}日期：______年____月____日", "", w = cols(&format!("{left}：{line}    ")));
        self.lines.push(date_label);
    }

    fn finish(self) -> String {
        let mut out = self.lines.join("\n");
        out.push('\n');
        out
    }
}

fn text_header(doc: &mut TextDoc, head: &Letterhead, title: &str, subtitle: Option<&str>) {
    doc.rule('=');
    doc.centered(&head.center.name);
    doc.centered(title);
    if let Some(sub) = subtitle {
        doc.centered(&format!("（{sub}）"));
    }
    doc.rule('=');
}

fn text_item_fields(doc: &mut TextDoc, case: &Case, guide: &ServiceGuide) {
    doc.field(0, "事项名称", &guide.name);
    doc.field_pair(0, ("事项编码", &guide.code), ("实施主体", &guide.department));
    if let Some(s) = situation_name(case, guide) {
        doc.field(0, "业务情形", &s);
    }
    let applicant = applicant_fields(case.applicant.as_ref());
    match applicant.as_slice() {
        [name, id, phone] => {
            doc.field_pair(0, (name.0, &name.1), (id.0, &id.1));
            doc.field(0, phone.0, &phone.1);
        }
        fields => {
            for (label, value) in fields {
                doc.field(0, label, value);
            }
        }
    }
}

fn text_guide_facts(doc: &mut TextDoc, head: &Letterhead, guide: &ServiceGuide) {
    doc.field(0, "办理地点", &guide.location);
    doc.field(0, "办理时间", &guide.hours);
    doc.field(0, "咨询电话", &consult_phones(head, guide));
    doc.field(0, "监督投诉电话", &complaint_phones(head, guide));
}

/// The one-time notice as 80-column plain text.
pub fn notice_text(head: &Letterhead, notice: &OneTimeNotice, case: &Case, guide: &ServiceGuide) -> String {
    let mut doc = TextDoc::new();
    text_header(&mut doc, head, NOTICE_TITLE, Some(NOTICE_SUBTITLE));
    if let Some(reason) = &notice.repeat_reason {
        doc.rule('*');
        doc.hanging("补充告知（原因：", 4, &format!("{reason}）"));
        doc.rule('*');
    }
    doc.field_pair(0, ("告知编号", &notice.number), ("办件标识", &case_short_id(case.id)));
    text_item_fields(&mut doc, case, guide);
    doc.rule('-');
    doc.para(0, NOTICE_INTRO);
    doc.blank();
    doc.lines.push(format!("需要补正的材料（共 {} 项）：", notice.missing.len()));
    for (i, line) in missing_lines(notice, guide).iter().enumerate() {
        let first = format!("{}. ", i + 1);
        let hang = cols(&first);
        doc.hanging(&first, hang, &line.item.name);
        doc.field_pair(hang, ("材料形式", line.item.form.label()), ("份数", &line.copies()));
        for (label, value) in line.details() {
            doc.field(hang, label, &value);
        }
    }
    doc.rule('-');
    doc.lines.push("受理条件：".to_owned());
    doc.numbered(2, &acceptance_conditions(case, guide));
    doc.field(0, "设定依据", &legal_basis(guide));
    doc.field(0, "法定时限", &statutory_limit(guide));
    doc.field(0, "承诺时限", &promised_limit(guide));
    doc.lines.push("办理流程：".to_owned());
    doc.numbered(2, &process(guide));
    let fee_lines = fees(guide);
    if guide.is_free() {
        doc.field(0, "收费", &fee_lines[0]);
    } else {
        doc.lines.push("收费：".to_owned());
        doc.numbered(2, &fee_lines);
    }
    text_guide_facts(&mut doc, head, guide);
    doc.rule('-');
    doc.para(0, NOTICE_STATEMENT);
    doc.blank();
    doc.field(0, "告知窗口", &window_label(head));
    doc.field(0, "窗口工作人员", head.clerk_name);
    doc.field(0, "告知时间", &datetime_cn(notice.given_at));
    doc.field(0, "打印时间", &datetime_cn(head.printed_at));
    doc.blank();
    doc.signatures("窗口工作人员签字", "申请人签收");
    doc.rule('=');
    doc.finish()
}

/// The acceptance receipt as 80-column plain text. `Err` when the case was not accepted.
pub fn receipt_text(head: &Letterhead, case: &Case, guide: &ServiceGuide) -> Result<String, Invalid> {
    let (number, accepted_on, deadline) = receipt_facts(case, guide)?;
    let mut doc = TextDoc::new();
    text_header(&mut doc, head, RECEIPT_TITLE, None);
    doc.field_pair(0, ("办件编号", number), ("受理日期", &date_cn(accepted_on)));
    text_item_fields(&mut doc, case, guide);
    doc.rule('-');
    let received: Vec<String> =
        received_items(case).map(|i| format!("{}（{}，{} 份）", i.name, i.form.label(), i.copies)).collect();
    doc.lines.push(format!("已收材料（共 {} 项）：", received.len()));
    doc.numbered(0, &received);
    doc.rule('-');
    doc.field(0, "承诺时限", &promised_limit(guide));
    doc.field(0, "承诺办结日期", &deadline);
    if case.deadline.is_some_and(|d| d.provisional) {
        doc.para(2, PROVISIONAL_NOTE);
    }
    doc.field(0, "领取方式", &collection(head, guide));
    text_guide_facts(&mut doc, head, guide);
    doc.rule('-');
    doc.field(0, "受理窗口", &window_label(head));
    doc.field(0, "受理人", head.clerk_name);
    doc.field(0, "打印时间", &datetime_cn(head.printed_at));
    doc.blank();
    doc.signatures("受理人签字", "申请人签收");
    doc.rule('=');
    Ok(doc.finish())
}

fn received_items(case: &Case) -> impl Iterator<Item = &ChecklistItem> {
    case.checklist.items.iter().filter(|i| i.state == MaterialCheck::Received)
}

// ------------------------------------------------------------------------------------------------
// HTML.

/// Cleaned of control characters, then escaped.
fn esc(s: &str) -> String {
    escape_html(&clean_line(s))
}

const CSS: &str = r#"@page { size: A4; margin: 15mm 15mm 18mm; }
* { box-sizing: border-box; }
html { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
body { margin: 0; color: #000; background: #fff; font-family: SimSun, "Songti SC", "Noto Serif CJK SC", "Source Han Serif SC", serif; font-size: 11pt; line-height: 1.6; }
.doc { max-width: 180mm; margin: 0 auto; }
header { text-align: center; margin-bottom: 3mm; }
.org { margin: 0; font-size: 12pt; }
h1 { margin: 1mm 0 0; font-size: 20pt; letter-spacing: 0.3em; }
.sub { margin: 0; font-size: 12pt; }
.no { margin: 2mm 0 0; text-align: right; font-size: 10pt; }
h2 { margin: 5mm 0 2mm; font-size: 12pt; }
p { margin: 2mm 0; }
table { width: 100%; border-collapse: collapse; }
th, td { border: 0.5pt solid #000; padding: 1mm 2mm; vertical-align: top; text-align: left; }
.info th { width: 30mm; white-space: nowrap; }
.items { font-size: 10pt; }
.items thead { display: table-header-group; }
.items .n { width: 9mm; text-align: center; }
.items .name { font-weight: bold; }
tr { break-inside: avoid; page-break-inside: avoid; }
ol { margin: 0; padding-left: 6mm; }
.repeat { margin: 3mm 0; padding: 2mm 3mm; border: 1.5pt solid #000; font-weight: bold; }
.statement { margin: 4mm 0; font-weight: bold; }
.note { font-size: 10pt; }
.sign { display: flex; justify-content: space-between; margin-top: 12mm; break-inside: avoid; page-break-inside: avoid; }
.sign p { margin: 0 0 6mm; }
.line { display: inline-block; width: 45mm; border-bottom: 0.5pt solid #000; }
@media screen { body { background: #ddd; } .doc { width: 210mm; max-width: none; margin: 8mm auto; padding: 15mm; background: #fff; } }
"#;

fn html_open(out: &mut String, title: &str, head: &Letterhead, heading: &str, subtitle: Option<&str>, number: &str) {
    out.push_str("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!("<title>{} {}</title>\n", esc(title), esc(number)));
    out.push_str("<style>\n");
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n<body>\n<article class=\"doc\">\n<header>\n");
    out.push_str(&format!("<p class=\"org\">{}</p>\n<h1>{}</h1>\n", esc(&head.center.name), esc(heading)));
    if let Some(sub) = subtitle {
        out.push_str(&format!("<p class=\"sub\">（{}）</p>\n", esc(sub)));
    }
    out.push_str("</header>\n");
}

fn html_rows(out: &mut String, rows: &[(&str, String)]) {
    out.push_str("<table class=\"info\">\n");
    for (label, value) in rows {
        out.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>\n", esc(label), value));
    }
    out.push_str("</table>\n");
}

fn html_list(items: &[String]) -> String {
    let mut s = String::from("<ol>");
    for i in items {
        s.push_str(&format!("<li>{}</li>", esc(i)));
    }
    s.push_str("</ol>");
    s
}

fn html_item_rows(case: &Case, guide: &ServiceGuide) -> Vec<(&'static str, String)> {
    let mut rows =
        vec![("事项名称", esc(&guide.name)), ("事项编码", esc(&guide.code)), ("实施主体", esc(&guide.department))];
    if let Some(s) = situation_name(case, guide) {
        rows.push(("业务情形", esc(&s)));
    }
    rows.extend(applicant_fields(case.applicant.as_ref()).into_iter().map(|(l, v)| (l, esc(&v))));
    rows
}

fn html_guide_rows(head: &Letterhead, guide: &ServiceGuide) -> Vec<(&'static str, String)> {
    vec![
        ("办理地点", esc(&guide.location)),
        ("办理时间", esc(&guide.hours)),
        ("咨询电话", esc(&consult_phones(head, guide))),
        ("监督投诉电话", esc(&complaint_phones(head, guide))),
    ]
}

fn html_close(out: &mut String, left: &str, right: &str) {
    out.push_str("<div class=\"sign\">\n");
    out.push_str(&format!("<div><p>{}：<span class=\"line\"></span></p></div>\n", esc(left)));
    out.push_str(&format!(
        "<div><p>{}：<span class=\"line\"></span></p><p>日期：<span class=\"line\"></span></p></div>\n",
        esc(right)
    ));
    out.push_str("</div>\n</article>\n</body>\n</html>\n");
}

/// The one-time notice as a printable, self-contained A4 HTML page.
pub fn notice_html(head: &Letterhead, notice: &OneTimeNotice, case: &Case, guide: &ServiceGuide) -> String {
    let mut out = String::new();
    html_open(&mut out, NOTICE_TITLE, head, NOTICE_TITLE, Some(NOTICE_SUBTITLE), &notice.number);
    out.push_str(&format!(
        "<p class=\"no\">告知编号：{}&emsp;办件标识：{}</p>\n",
        esc(&notice.number),
        esc(&case_short_id(case.id))
    ));
    if let Some(reason) = &notice.repeat_reason {
        out.push_str(&format!("<p class=\"repeat\">补充告知（原因：{}）</p>\n", esc(reason)));
    }
    html_rows(&mut out, &html_item_rows(case, guide));
    out.push_str(&format!("<p>{}</p>\n", esc(NOTICE_INTRO)));
    out.push_str(&format!("<h2>需要补正的材料（共 {} 项）</h2>\n", notice.missing.len()));
    out.push_str(
        "<table class=\"items\">\n<thead><tr><th class=\"n\">序号</th><th>材料名称</th><th>材料形式</th>\
         <th>份数</th><th>适用情形</th><th>获取途径</th><th>空白表格及示例样本</th><th>说明及备注</th></tr></thead>\n<tbody>\n",
    );
    for (i, line) in missing_lines(notice, guide).iter().enumerate() {
        let item = line.item;
        let mut forms = Vec::new();
        let mut notes = Vec::new();
        if let Some(m) = line.material {
            if let Some(b) = &m.blank_form {
                forms.push(format!("空白表格：{}", esc(b)));
            }
            if let Some(s) = &m.sample_form {
                forms.push(format!("示例样本：{}", esc(s)));
            }
            if !m.notes.trim().is_empty() {
                notes.push(format!("材料说明：{}", esc(&m.notes)));
            }
        }
        if !item.note.trim().is_empty() {
            notes.push(format!("窗口备注：{}", esc(&item.note)));
        }
        out.push_str(&format!(
            "<tr><td class=\"n\">{}</td><td class=\"name\">{}</td><td>{}</td><td>{} 份</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            i + 1,
            esc(&item.name),
            esc(item.form.label()),
            item.copies,
            item.condition.as_deref().map_or_else(|| "均需提交".to_owned(), esc),
            esc(&line.source()),
            forms.join("<br>"),
            notes.join("<br>"),
        ));
    }
    out.push_str("</tbody>\n</table>\n<h2>办理须知</h2>\n");
    let fee_lines = fees(guide);
    let fee_cell = if guide.is_free() { esc(&fee_lines[0]) } else { html_list(&fee_lines) };
    let mut rows = vec![
        ("受理条件", html_list(&acceptance_conditions(case, guide))),
        ("设定依据", esc(&legal_basis(guide))),
        ("法定时限", esc(&statutory_limit(guide))),
        ("承诺时限", esc(&promised_limit(guide))),
        ("办理流程", html_list(&process(guide))),
        ("收费", fee_cell),
    ];
    rows.extend(html_guide_rows(head, guide));
    html_rows(&mut out, &rows);
    out.push_str(&format!("<p class=\"statement\">{}</p>\n", esc(NOTICE_STATEMENT)));
    html_rows(
        &mut out,
        &[
            ("告知窗口", esc(&window_label(head))),
            ("窗口工作人员", esc(head.clerk_name)),
            ("告知时间", esc(&datetime_cn(notice.given_at))),
            ("打印时间", esc(&datetime_cn(head.printed_at))),
        ],
    );
    html_close(&mut out, "窗口工作人员签字", "申请人签收");
    out
}

/// The acceptance receipt as a printable, self-contained A4 HTML page. `Err` when the case was
/// not accepted.
pub fn receipt_html(head: &Letterhead, case: &Case, guide: &ServiceGuide) -> Result<String, Invalid> {
    let (number, accepted_on, deadline) = receipt_facts(case, guide)?;
    let mut out = String::new();
    html_open(&mut out, RECEIPT_TITLE, head, RECEIPT_TITLE, None, number);
    out.push_str(&format!("<p class=\"no\">办件编号：{}</p>\n", esc(number)));
    let mut rows = vec![("办件编号", esc(number)), ("受理日期", esc(&date_cn(accepted_on)))];
    rows.extend(html_item_rows(case, guide));
    html_rows(&mut out, &rows);
    let received: Vec<&ChecklistItem> = received_items(case).collect();
    out.push_str(&format!("<h2>已收材料（共 {} 项）</h2>\n", received.len()));
    out.push_str(
        "<table class=\"items\">\n<thead><tr><th class=\"n\">序号</th><th>材料名称</th><th>材料形式</th>\
         <th>份数</th></tr></thead>\n<tbody>\n",
    );
    for (i, item) in received.iter().enumerate() {
        out.push_str(&format!(
            "<tr><td class=\"n\">{}</td><td class=\"name\">{}</td><td>{}</td><td>{} 份</td></tr>\n",
            i + 1,
            esc(&item.name),
            esc(item.form.label()),
            item.copies
        ));
    }
    out.push_str("</tbody>\n</table>\n<h2>办理须知</h2>\n");
    let mut deadline_cell = esc(&deadline);
    if case.deadline.is_some_and(|d| d.provisional) {
        deadline_cell.push_str(&format!("<br><span class=\"note\">{}</span>", esc(PROVISIONAL_NOTE)));
    }
    let mut rows = vec![
        ("承诺时限", esc(&promised_limit(guide))),
        ("承诺办结日期", deadline_cell),
        ("领取方式", esc(&collection(head, guide))),
    ];
    rows.extend(html_guide_rows(head, guide));
    rows.extend([
        ("受理窗口", esc(&window_label(head))),
        ("受理人", esc(head.clerk_name)),
        ("打印时间", esc(&datetime_cn(head.printed_at))),
    ]);
    html_rows(&mut out, &rows);
    html_close(&mut out, "受理人签字", "申请人签收");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::applicant::{IdNumber, Phone};
    use crate::domain::calendar::Deadline;
    use crate::domain::case::{CaseStatus, Checklist};
    use crate::domain::center::Post;
    use crate::server::seed::{CenterSeed, bundled_calendar, bundled_catalogue};

    const FULL_ID: &str = "11010519491231002X";
    const GUIDE: &str = "HB-QS-0077";
    const MISSING: [&str; 4] = ["m3", "m5", "m7", "m8"];
    const RECEIVED: [&str; 3] = ["m1", "m2", "m4"];
    const NOT_APPLICABLE: &str = "m6";

    struct Fixture {
        center: Center,
        window_name: String,
        guide: ServiceGuide,
        case: Case,
        notice: OneTimeNotice,
    }

    impl Fixture {
        fn head(&self) -> Letterhead<'_> {
            Letterhead {
                center: &self.center,
                window_number: 4,
                window_name: &self.window_name,
                clerk_name: "赵磊",
                printed_at: "2026-11-30T02:15:00Z".parse().unwrap(),
            }
        }

        fn names(&self, ids: &[&str]) -> Vec<String> {
            ids.iter()
                .map(|id| self.case.checklist.items.iter().find(|i| i.material_id == *id).unwrap().name.clone())
                .collect()
        }
    }

    /// 宅基地使用权及房屋所有权首次登记, situation 委托他人申请: eight materials, two of them
    /// conditional, two with blank forms and samples.
    fn fixture() -> Fixture {
        let seed = CenterSeed::bundled().unwrap();
        let guide = bundled_catalogue().unwrap().guides.into_iter().find(|g| g.code == GUIDE).unwrap();
        let window = seed.windows.iter().find(|w| w.number == 4).unwrap();
        let mut checklist = Checklist::for_situation(&guide, Some("s2"));
        assert_eq!(checklist.items.len(), 8);
        for item in &mut checklist.items {
            let id = item.material_id.as_str();
            item.state = if MISSING.contains(&id) {
                MaterialCheck::Missing
            } else if RECEIVED.contains(&id) {
                MaterialCheck::Received
            } else {
                assert_eq!(id, NOT_APPLICABLE);
                MaterialCheck::NotApplicable
            };
        }
        checklist.items.iter_mut().find(|i| i.material_id == "m8").unwrap().note = "须由申请人本人签名并按手印".into();
        let case = Case {
            id: Uuid::from_u128(0x019a_d2c4_5e00_7000_8000_00c0_ffee_d00d),
            case_number: None,
            guide_code: guide.code.clone(),
            guide_name: guide.name.clone(),
            guide_revision: guide.revision,
            situation_id: Some("s2".into()),
            window: 4,
            ticket: None,
            applicant: Some(Applicant {
                name: "张三丰".into(),
                id_number: IdNumber::parse(FULL_ID).unwrap(),
                phone: Some(Phone::parse("13812345678").unwrap()),
            }),
            checklist,
            status: CaseStatus::AwaitingMaterials,
            opened_at: "2026-11-30T01:50:00Z".parse().unwrap(),
            opened_by: "s005".into(),
            post: Post::A,
            accepted_on: None,
            deadline: None,
        };
        let notice = OneTimeNotice {
            id: Uuid::from_u128(0x019a_d2c4_7000_7000_8000_0000_0000_0001),
            number: notice_number(4, NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(), 1),
            case_id: case.id,
            missing: case.checklist.missing().cloned().collect(),
            given_at: "2026-11-30T02:10:00Z".parse().unwrap(),
            given_by: "s005".into(),
            window: 4,
            repeat_reason: None,
        };
        Fixture { center: seed.center, window_name: window.name.clone(), guide, case, notice }
    }

    /// The case accepted on `day`, with the deadline from the bundled calendar.
    fn accepted(mut f: Fixture, day: NaiveDate) -> Fixture {
        for item in &mut f.case.checklist.items {
            if item.state == MaterialCheck::Missing {
                item.state = MaterialCheck::Received;
            }
        }
        // Keep m8 and m7 out of the receipt's received list so that it is visibly a subset.
        for id in ["m7", "m8"] {
            f.case.checklist.items.iter_mut().find(|i| i.material_id == id).unwrap().state =
                MaterialCheck::NotApplicable;
        }
        f.case.case_number = Some(case_number(day, 4, 1));
        f.case.accepted_on = Some(day);
        f.case.status = CaseStatus::Accepted;
        f.case.deadline = Some(bundled_calendar().unwrap().add_working_days(day, f.guide.promised_limit_days));
        f
    }

    /// Text with line breaks and leading indentation removed, to catch names split by wrapping.
    fn joined(text: &str) -> String {
        text.lines().map(str::trim).collect()
    }

    fn assert_text_fits(text: &str) {
        for line in text.lines() {
            assert!(crate::domain::text::width(line) <= TEXT_COLUMNS, "too wide: {line:?}");
            assert!(cols(line) <= TEXT_COLUMNS, "too wide with ambiguous characters wide: {line:?}");
        }
    }

    fn assert_no_personal_data(out: &str) {
        assert!(!out.contains(FULL_ID), "full ID number printed");
        assert!(!out.contains("19491231"), "birth date part of the ID printed");
        assert!(!out.contains("13812345678") && !out.contains("12345678"), "full phone printed");
        assert!(!out.contains("三丰"), "full name printed");
        assert!(out.contains("1101**********002X") && out.contains("张**") && out.contains("138****5678"));
    }

    #[test]
    fn notice_lists_every_missing_item_in_text_and_html() {
        let f = fixture();
        let text = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        let html = notice_html(&f.head(), &f.notice, &f.case, &f.guide);
        for name in f.names(&MISSING) {
            assert!(text.contains(&name), "{name} missing from the text");
            assert!(html.contains(&escape_html(&name)), "{name} missing from the HTML");
        }
        assert!(text.contains("需要补正的材料（共 4 项）"));
        let form_lines = text.lines().filter(|l| l.starts_with("   材料形式：原件") && l.ends_with("份数：1 份"));
        assert_eq!(form_lines.count(), 4);
        for n in ["1. ", "2. ", "3. ", "4. "] {
            assert!(text.lines().any(|l| l.starts_with(n)), "no item {n}");
        }
        // Conditions, sources, forms, samples and the clerk's note of the missing items.
        for s in [
            "委托他人代办的",
            "窗口领取",
            "青石镇人民政府",
            "《不动产登记申请书（填写样本）》",
            "《授权委托书》",
            "须由申请人本人签名并按手印",
        ] {
            assert!(joined(&text).contains(s), "{s} missing from the text");
            assert!(html.contains(s), "{s} missing from the HTML");
        }
        for s in [
            NOTICE_TITLE,
            NOTICE_SUBTITLE,
            "GZ04-20261130-0001",
            "ffeed00d",
            "宅基地使用权及房屋所有权首次登记",
            "HB-QS-0077",
            "委托他人申请",
            "权属来源清楚、界址清楚",
            "《不动产登记暂行条例》第二十条",
            "30 个工作日",
            "10 个工作日",
            "登簿：记载于不动产登记簿",
            "不动产权属证书工本费",
            "青石镇便民服务中心二楼不动产登记专窗",
            "0716-5521314",
            "12345",
            "请按本告知一次性补齐上述材料；补齐后即可受理",
            "4号窗口（自然资源专窗）",
            "赵磊",
            "2026年11月30日 10:15",
            "2026年11月30日 10:10",
            "窗口工作人员签字",
            "申请人签收",
        ] {
            assert!(joined(&text).contains(s), "{s} missing from the text");
            assert!(html.contains(s), "{s} missing from the HTML");
        }
    }

    #[test]
    fn notice_never_names_received_or_not_applicable_items() {
        let f = fixture();
        let text = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        let html = notice_html(&f.head(), &f.notice, &f.case, &f.guide);
        let missing = f.names(&MISSING);
        for name in f.names(&RECEIVED).into_iter().chain(f.names(&[NOT_APPLICABLE])) {
            assert!(!missing.iter().any(|m| m.contains(&name)), "fixture: {name} is part of a missing name");
            for (what, out) in [("text", joined(&text)), ("html", html.clone())] {
                assert!(!out.contains(&name), "{name} (not missing) appears in the notice {what}");
            }
        }
    }

    #[test]
    fn notice_lists_the_notice_snapshot_not_the_live_checklist() {
        let mut f = fixture();
        // The applicant brought the form after the notice was given: the reprint still says
        // what was told.
        f.case.checklist.items.iter_mut().find(|i| i.material_id == "m3").unwrap().state = MaterialCheck::Received;
        let text = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        assert!(text.contains("不动产登记申请书"));
        assert!(text.contains("（共 4 项）"));
    }

    #[test]
    fn text_lines_fit_80_columns() {
        let mut f = fixture();
        f.notice.repeat_reason = Some("申请人提交的授权委托书未签字，".repeat(8));
        f.notice.missing[0].note = format!("{} {}", "很长的备注".repeat(20), "x".repeat(120));
        let text = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        assert_text_fits(&text);
        let f = accepted(fixture(), NaiveDate::from_ymd_opt(2026, 12, 28).unwrap());
        assert_text_fits(&receipt_text(&f.head(), &f.case, &f.guide).unwrap());
        // Every guide of the sample catalogue, every material missing.
        let catalogue = bundled_catalogue().unwrap();
        for guide in &catalogue.guides {
            let mut case = fixture().case;
            case.situation_id = guide.situations.first().map(|s| s.id.clone());
            case.checklist = Checklist::for_situation(guide, case.situation_id.as_deref());
            let mut notice = fixture().notice;
            notice.missing = case.checklist.items.clone();
            assert_text_fits(&notice_text(&f.head(), &notice, &case, guide));
        }
    }

    #[test]
    fn personal_data_is_masked_everywhere() {
        let f = fixture();
        assert_no_personal_data(&notice_text(&f.head(), &f.notice, &f.case, &f.guide));
        assert_no_personal_data(&notice_html(&f.head(), &f.notice, &f.case, &f.guide));
        let f = accepted(fixture(), NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_no_personal_data(&receipt_text(&f.head(), &f.case, &f.guide).unwrap());
        assert_no_personal_data(&receipt_html(&f.head(), &f.case, &f.guide).unwrap());
    }

    #[test]
    fn unregistered_applicant_says_so() {
        let mut f = fixture();
        f.case.applicant = None;
        let text = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        assert!(text.contains("申请人：未登记"));
        assert!(notice_html(&f.head(), &f.notice, &f.case, &f.guide).contains("<th>申请人</th><td>未登记</td>"));
    }

    #[test]
    fn html_escapes_user_text_and_is_self_contained() {
        let mut f = fixture();
        f.notice.missing[0].note = "<script>alert('x')</script> & \"quoted\"".into();
        f.notice.repeat_reason = Some("<b>补交</b>".into());
        let html = notice_html(&f.head(), &f.notice, &f.case, &f.guide);
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"));
        assert!(html.contains("&lt;b&gt;补交&lt;/b&gt;"));
        assert!(!html.contains("<script") && !html.contains("<b>"));
        let receipt = receipt_html(&f.head(), &accepted(fixture(), day(2026, 11, 30)).case, &f.guide).unwrap();
        for page in [&html, &receipt] {
            assert!(page.starts_with("<!DOCTYPE html>"));
            assert!(page.contains("<meta charset=\"utf-8\">"));
            assert!(page.contains("@page { size: A4;"));
            assert!(page.contains("SimSun, \"Songti SC\", \"Noto Serif CJK SC\""));
            for external in ["http", "src=", "href=", "<link", "@import", "url(", "<script", "javascript:"] {
                assert!(!page.contains(external), "{external} in the page");
            }
        }
        assert!(html.contains("<table class=\"items\">"));
    }

    #[test]
    fn escape_html_covers_the_five_characters() {
        assert_eq!(escape_html("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(escape_html("张三"), "张三");
    }

    #[test]
    fn repeat_reason_is_marked() {
        let mut f = fixture();
        let text = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        assert!(!text.contains("补充告知"));
        f.notice.repeat_reason = Some("指南修订后新增材料".into());
        let text = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        assert!(text.contains("补充告知（原因：指南修订后新增材料）"));
        assert!(text.contains(&"*".repeat(TEXT_COLUMNS)));
        let html = notice_html(&f.head(), &f.notice, &f.case, &f.guide);
        assert!(html.contains("<p class=\"repeat\">补充告知（原因：指南修订后新增材料）</p>"));
    }

    #[test]
    fn control_characters_in_notes_cannot_break_the_layout() {
        let mut f = fixture();
        f.notice.missing[0].note = "第一行\n第二行\x1b[2J\r".into();
        let text = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        assert!(text.contains("窗口备注：第一行 第二行[2J"));
        assert!(!text.contains('\x1b') && !text.contains('\r'));
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn receipt_lists_received_items_and_the_deadline() {
        let f = accepted(fixture(), day(2026, 11, 30));
        assert_eq!(f.case.deadline, Some(Deadline { date: day(2026, 12, 14), provisional: false }));
        let text = receipt_text(&f.head(), &f.case, &f.guide).unwrap();
        let html = receipt_html(&f.head(), &f.case, &f.guide).unwrap();
        let received: Vec<String> = received_items(&f.case).map(|i| i.name.clone()).collect();
        assert_eq!(received.len(), 5);
        for out in [&joined(&text), &html] {
            for name in &received {
                assert!(out.contains(&escape_html(name)), "{name} missing from the receipt");
            }
            for name in f.names(&["m6", "m7", "m8"]) {
                assert!(!out.contains(&name), "{name} was not received");
            }
            for s in [
                RECEIPT_TITLE,
                "SL20261130-04-0001",
                "受理日期：2026年11月30日",
                "宅基地使用权及房屋所有权首次登记",
                "10 个工作日",
                "2026年12月14日",
                "综合出件窗口",
                "0716-5521314",
                "赵磊",
                "4号窗口（自然资源专窗）",
            ] {
                let s = if out.starts_with('<') {
                    s.replace("受理日期：", "受理日期</th><td>")
                } else {
                    s.to_owned()
                };
                assert!(out.contains(&s), "{s} missing from the receipt");
            }
            assert!(!out.contains("待定"));
        }
    }

    #[test]
    fn provisional_deadline_is_marked() {
        // 10 working days from 2026-12-28 end in 2027, for which the bundled calendar has no
        // State Council schedule.
        let f = accepted(fixture(), day(2026, 12, 28));
        let deadline = f.case.deadline.unwrap();
        assert!(deadline.provisional, "{deadline:?}");
        let expected = format!("{}（待定）", date_cn(deadline.date));
        let text = receipt_text(&f.head(), &f.case, &f.guide).unwrap();
        assert!(text.contains(&format!("承诺办结日期：{expected}")), "{text}");
        assert!(receipt_html(&f.head(), &f.case, &f.guide).unwrap().contains(&expected));
    }

    #[test]
    fn on_the_spot_items_say_so() {
        let mut f = accepted(fixture(), day(2026, 11, 30));
        f.guide.handling = Handling::OnTheSpot;
        f.guide.promised_limit_days = 0;
        f.case.deadline = None;
        let text = receipt_text(&f.head(), &f.case, &f.guide).unwrap();
        assert!(text.contains("承诺时限：即办件，材料齐全当场办结"));
        assert!(text.contains("承诺办结日期：2026年11月30日"));
        assert!(text.contains("即办件，当场办结，当场领取办理结果"));
        let notice = notice_text(&f.head(), &f.notice, &f.case, &f.guide);
        assert!(notice.contains("承诺时限：即办件"));
    }

    #[test]
    fn free_items_say_so() {
        let mut f = fixture();
        f.guide.fees.clear();
        assert!(notice_text(&f.head(), &f.notice, &f.case, &f.guide).contains("收费：不收费"));
    }

    #[test]
    fn receipt_needs_an_accepted_case() {
        let f = fixture();
        let err = receipt_text(&f.head(), &f.case, &f.guide).unwrap_err();
        assert_eq!(err.field, "case_number");
        assert!(receipt_html(&f.head(), &f.case, &f.guide).is_err());
        let mut f = accepted(fixture(), day(2026, 11, 30));
        f.case.accepted_on = None;
        assert_eq!(receipt_text(&f.head(), &f.case, &f.guide).unwrap_err().field, "accepted_on");
        let mut f = accepted(fixture(), day(2026, 11, 30));
        f.case.deadline = None;
        assert_eq!(receipt_html(&f.head(), &f.case, &f.guide).unwrap_err().field, "deadline");
    }

    #[test]
    fn number_formats() {
        let d = day(2026, 11, 30);
        assert_eq!(notice_number(1, d, 1), "GZ01-20261130-0001");
        assert_eq!(notice_number(12, d, 345), "GZ12-20261130-0345");
        assert_eq!(notice_number(123, d, 12345), "GZ123-20261130-12345");
        assert_eq!(case_number(d, 1, 1), "SL20261130-01-0001");
        assert_eq!(case_number(day(2027, 1, 4), 6, 27), "SL20270104-06-0027");
        assert_eq!(case_short_id(Uuid::from_u128(0x019a_d2c4_5e00_7000_8000_00c0_ffee_d00d)), "ffeed00d");
    }

    #[test]
    fn china_time_is_printed() {
        // 16:30 UTC is half past midnight the next day in China.
        assert_eq!(datetime_cn("2026-11-30T16:30:00Z".parse().unwrap()), "2026年12月01日 00:30");
    }

    #[test]
    fn wrap_respects_width_and_words() {
        let lines = wrap("电话 0716-5521314 周一至周五上午8:30-12:00", 20, 20);
        assert!(lines.iter().all(|l| cols(l) <= 20), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("0716-5521314")), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("8:30-12:00")), "{lines:?}");
        // Hanzi break anywhere, but not before closing punctuation.
        let lines = wrap("一二三四五六七八九，十", 18, 18);
        assert_eq!(lines, ["一二三四五六七八", "九，十"]);
        // An opening bracket stays with what follows.
        let lines = wrap("一二三四五六七《八九》", 16, 16);
        assert_eq!(lines, ["一二三四五六七", "《八九》"]);
        // Longer than a line: split between characters, never inside one.
        let lines = wrap(&"x".repeat(25), 10, 10);
        assert_eq!(lines, ["x".repeat(10), "x".repeat(10), "x".repeat(5)]);
        let lines = wrap("一二三四五", 5, 5);
        assert_eq!(lines, ["一二", "三四", "五"]);
        // Different width for the first line, and empty input.
        assert_eq!(wrap("一二三四五六", 4, 8), ["一二", "三四五六"]);
        assert_eq!(wrap("", 10, 10), [""]);
        // Ambiguous-width characters count two columns.
        assert_eq!(wrap("··········", 10, 10), ["·····", "·····"]);
    }

    #[test]
    fn notice_text_snapshot() {
        let f = fixture();
        insta::assert_snapshot!(notice_text(&f.head(), &f.notice, &f.case, &f.guide));
    }

    #[test]
    fn receipt_text_snapshot() {
        let f = accepted(fixture(), day(2026, 11, 30));
        insta::assert_snapshot!(receipt_text(&f.head(), &f.case, &f.guide).unwrap());
    }
}
