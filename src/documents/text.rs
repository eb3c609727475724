//! The documents as 80-column plain text: receipt printers and the terminal's preview. Only
//! ASCII `-`, `=` and `*` for rules and marks, no ambiguous-width characters (①, ■, …, ×, ·, box
//! drawing), which some receipt printers and CJK terminals print two columns wide.

use unicode_width::UnicodeWidthChar;

use crate::domain::case::Case;
use crate::domain::documents::*;
use crate::domain::error::Invalid;
use crate::domain::guide::ServiceGuide;
use crate::domain::notice::OneTimeNotice;
use crate::domain::text::clean_line;

/// Width of the plain-text documents, in display columns.
pub const TEXT_COLUMNS: usize = 80;

/// Display columns of a character, counting East Asian ambiguous-width characters as two: user
/// text may contain them, and a CJK receipt printer prints them wide.
fn char_cols(c: char) -> usize {
    c.width().unwrap_or(0).max(c.width_cjk().unwrap_or(0))
}

pub(super) fn cols(s: &str) -> usize {
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
pub(super) fn wrap(text: &str, first: usize, rest: usize) -> Vec<String> {
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
    for fields in [applicant_fields(case.applicant.as_ref()), agent_fields(case.agent.as_ref())] {
        match fields.as_slice() {
            [name, id, third] => {
                doc.field_pair(0, (name.0, &name.1), (id.0, &id.1));
                doc.field(0, third.0, &third.1);
            }
            fields => {
                for (label, value) in fields {
                    doc.field(0, label, value);
                }
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
    doc.para(0, &notice_intro(guide));
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
    let deferred = deferred_lines(case);
    if !deferred.is_empty() {
        doc.lines.push(format!("容缺材料（共 {} 项，受理后补交）：", deferred.len()));
        doc.numbered(0, &deferred);
    }
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
    if let Some(commitment) = deferral_commitment(case) {
        doc.blank();
        doc.para(0, &commitment);
    }
    doc.blank();
    doc.signatures("受理人签字", "申请人签收");
    doc.rule('=');
    Ok(doc.finish())
}

/// The 不予受理告知书 as 80-column plain text. `Err` unless the case was refused.
pub fn refusal_text(head: &Letterhead, case: &Case, guide: &ServiceGuide) -> Result<String, Invalid> {
    let facts = refusal_facts(head, case, guide)?;
    let mut doc = TextDoc::new();
    text_header(&mut doc, head, REFUSAL_TITLE, None);
    doc.field_pair(0, ("告知书编号", &facts.number), ("办件标识", &case_short_id(case.id)));
    text_item_fields(&mut doc, case, guide);
    doc.rule('-');
    doc.para(0, &facts.intro);
    doc.para(2, &facts.reason);
    doc.blank();
    doc.lines.push("受理条件：".to_owned());
    doc.numbered(2, &acceptance_conditions(case, guide));
    doc.field(0, "设定依据", &legal_basis(guide));
    doc.rule('-');
    doc.para(0, &facts.remedy);
    doc.blank();
    doc.field(0, "告知窗口", &window_label(head));
    doc.field(0, "窗口工作人员", head.clerk_name);
    if let Some(ending) = &case.ending {
        doc.field(0, "告知时间", &datetime_cn(ending.at));
    }
    doc.field(0, "打印时间", &datetime_cn(head.printed_at));
    doc.blank();
    doc.signatures("窗口工作人员签字", "申请人签收");
    doc.rule('=');
    Ok(doc.finish())
}
