//! The documents as self-contained, printable A4 HTML pages, written with maud: every piece of
//! text is escaped by construction (after control characters are removed), so nothing an
//! applicant or a clerk typed can become markup.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::domain::case::{Case, ChecklistItem};
use crate::domain::documents::*;
use crate::domain::error::Invalid;
use crate::domain::guide::ServiceGuide;
use crate::domain::notice::OneTimeNotice;
use crate::domain::text::clean_line;

const CSS: &str = r#"
@page { size: A4; margin: 15mm 15mm 18mm; }
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

/// A line of text, cleaned of control characters (maud escapes it).
fn text(s: &str) -> Markup {
    html! { (clean_line(s)) }
}

fn list(items: &[String]) -> Markup {
    html! { ol { @for item in items { li { (text(item)) } } } }
}

fn rows(rows: &[(&str, Markup)]) -> Markup {
    html! {
        table.info {
            @for (label, value) in rows {
                tr { th { (text(label)) } td { (value) } }
            }
        }
    }
}

fn page(letterhead: &Letterhead, title: &str, subtitle: Option<&str>, number: &str, content: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { (text(title)) " " (text(number)) }
                style { (PreEscaped(CSS)) }
            }
            body {
                article.doc {
                    header {
                        p.org { (text(&letterhead.center.name)) }
                        h1 { (text(title)) }
                        @if let Some(sub) = subtitle {
                            p.sub { "（" (text(sub)) "）" }
                        }
                    }
                    (content)
                }
            }
        }
    }
    .into_string()
}

fn signatures(left: &str, right: &str) -> Markup {
    html! {
        div.sign {
            div { p { (text(left)) "：" span.line {} } }
            div {
                p { (text(right)) "：" span.line {} }
                p { "日期：" span.line {} }
            }
        }
    }
}

fn item_rows(case: &Case, guide: &ServiceGuide) -> Vec<(&'static str, Markup)> {
    let mut out =
        vec![("事项名称", text(&guide.name)), ("事项编码", text(&guide.code)), ("实施主体", text(&guide.department))];
    if let Some(s) = situation_name(case, guide) {
        out.push(("业务情形", text(&s)));
    }
    out.extend(applicant_fields(case.applicant.as_ref()).into_iter().map(|(l, v)| (l, text(&v))));
    out.extend(agent_fields(case.agent.as_ref()).into_iter().map(|(l, v)| (l, text(&v))));
    out
}

fn guide_rows(letterhead: &Letterhead, guide: &ServiceGuide) -> Vec<(&'static str, Markup)> {
    vec![
        ("办理地点", text(&guide.location)),
        ("办理时间", text(&guide.hours)),
        ("咨询电话", text(&consult_phones(letterhead, guide))),
        ("监督投诉电话", text(&complaint_phones(letterhead, guide))),
    ]
}

/// Lines of one cell, separated by line breaks.
fn lines(items: &[String]) -> Markup {
    html! {
        @for (i, item) in items.iter().enumerate() {
            @if i > 0 { br; }
            (text(item))
        }
    }
}

/// The one-time notice as a printable, self-contained A4 HTML page.
pub fn notice_html(letterhead: &Letterhead, notice: &OneTimeNotice, case: &Case, guide: &ServiceGuide) -> String {
    let missing = missing_lines(notice, guide);
    let fee_lines = fees(guide);
    let fee_cell = if guide.is_free() { text(&fee_lines[0]) } else { list(&fee_lines) };
    let mut facts = vec![
        ("受理条件", list(&acceptance_conditions(case, guide))),
        ("设定依据", text(&legal_basis(guide))),
        ("法定时限", text(&statutory_limit(guide))),
        ("承诺时限", text(&promised_limit(guide))),
        ("办理流程", list(&process(guide))),
        ("收费", fee_cell),
    ];
    facts.extend(guide_rows(letterhead, guide));
    let content = html! {
        p.no { "告知编号：" (text(&notice.number)) (PreEscaped("&emsp;")) "办件标识：" (case_short_id(case.id)) }
        @if let Some(reason) = &notice.repeat_reason {
            p.repeat { "补充告知（原因：" (text(reason)) "）" }
        }
        (rows(&item_rows(case, guide)))
        p { (text(&notice_intro(guide))) }
        h2 { "需要补正的材料（共 " (notice.missing.len()) " 项）" }
        table.items {
            thead {
                tr {
                    th.n { "序号" } th { "材料名称" } th { "材料形式" } th { "份数" } th { "适用情形" }
                    th { "获取途径" } th { "空白表格及示例样本" } th { "说明及备注" }
                }
            }
            tbody {
                @for (i, line) in missing.iter().enumerate() {
                    (missing_row(i + 1, line))
                }
            }
        }
        h2 { "办理须知" }
        (rows(&facts))
        p.statement { (NOTICE_STATEMENT) }
        (rows(&[
            ("告知窗口", text(&window_label(letterhead))),
            ("窗口工作人员", text(letterhead.clerk_name)),
            ("告知时间", text(&datetime_cn(notice.given_at))),
            ("打印时间", text(&datetime_cn(letterhead.printed_at))),
        ]))
        (signatures("窗口工作人员签字", "申请人签收"))
    };
    page(letterhead, NOTICE_TITLE, Some(NOTICE_SUBTITLE), &notice.number, content)
}

fn missing_row(n: usize, line: &MissingLine) -> Markup {
    let item = line.item;
    let mut forms = Vec::new();
    let mut notes = Vec::new();
    if let Some(m) = line.material {
        if let Some(b) = &m.blank_form {
            forms.push(format!("空白表格：{b}"));
        }
        if let Some(s) = &m.sample_form {
            forms.push(format!("示例样本：{s}"));
        }
        if !m.notes.trim().is_empty() {
            notes.push(format!("材料说明：{}", m.notes));
        }
    }
    if !item.note.trim().is_empty() {
        notes.push(format!("窗口备注：{}", item.note));
    }
    html! {
        tr {
            td.n { (n) }
            td.name { (text(&item.name)) }
            td { (item.form.label()) }
            td { (item.copies) " 份" }
            td { (text(item.condition.as_deref().unwrap_or("均需提交"))) }
            td { (text(&line.source())) }
            td { (lines(&forms)) }
            td { (lines(&notes)) }
        }
    }
}

/// The acceptance receipt as a printable, self-contained A4 HTML page. `Err` when the case was
/// not accepted.
pub fn receipt_html(letterhead: &Letterhead, case: &Case, guide: &ServiceGuide) -> Result<String, Invalid> {
    let (number, accepted_on, deadline) = receipt_facts(case, guide)?;
    let received: Vec<&ChecklistItem> = received_items(case).collect();
    let deferred = deferred_lines(case);
    let provisional = case.deadline.is_some_and(|d| d.provisional);
    let mut facts = vec![
        ("承诺时限", text(&promised_limit(guide))),
        (
            "承诺办结日期",
            html! {
                (text(&deadline))
                @if provisional { br; span.note { (PROVISIONAL_NOTE) } }
            },
        ),
        ("领取方式", text(&collection(letterhead, guide))),
    ];
    facts.extend(guide_rows(letterhead, guide));
    facts.extend([
        ("受理窗口", text(&window_label(letterhead))),
        ("受理人", text(letterhead.clerk_name)),
        ("打印时间", text(&datetime_cn(letterhead.printed_at))),
    ]);
    let mut head_rows = vec![("办件编号", text(number)), ("受理日期", text(&date_cn(accepted_on)))];
    head_rows.extend(item_rows(case, guide));
    let content = html! {
        p.no { "办件编号：" (text(number)) }
        (rows(&head_rows))
        h2 { "已收材料（共 " (received.len()) " 项）" }
        table.items {
            thead { tr { th.n { "序号" } th { "材料名称" } th { "材料形式" } th { "份数" } } }
            tbody {
                @for (i, item) in received.iter().enumerate() {
                    tr {
                        td.n { (i + 1) }
                        td.name { (text(&item.name)) }
                        td { (item.form.label()) }
                        td { (item.copies) " 份" }
                    }
                }
            }
        }
        @if !deferred.is_empty() {
            h2 { "容缺材料（共 " (deferred.len()) " 项，受理后补交）" }
            (list(&deferred))
        }
        h2 { "办理须知" }
        (rows(&facts))
        @if let Some(commitment) = deferral_commitment(case) {
            p.statement { (text(&commitment)) }
        }
        (signatures("受理人签字", "申请人签收"))
    };
    Ok(page(letterhead, RECEIPT_TITLE, None, number, content))
}

/// The 不予受理告知书 as a printable, self-contained A4 HTML page. `Err` unless the case was
/// refused.
pub fn refusal_html(letterhead: &Letterhead, case: &Case, guide: &ServiceGuide) -> Result<String, Invalid> {
    let facts = refusal_facts(letterhead, case, guide)?;
    let mut tail = vec![("告知窗口", text(&window_label(letterhead))), ("窗口工作人员", text(letterhead.clerk_name))];
    if let Some(ending) = &case.ending {
        tail.push(("告知时间", text(&datetime_cn(ending.at))));
    }
    tail.push(("打印时间", text(&datetime_cn(letterhead.printed_at))));
    let content = html! {
        p.no { "告知书编号：" (text(&facts.number)) (PreEscaped("&emsp;")) "办件标识：" (case_short_id(case.id)) }
        (rows(&item_rows(case, guide)))
        p { (text(&facts.intro)) }
        p.statement { (text(&facts.reason)) }
        (rows(&[
            ("受理条件", list(&acceptance_conditions(case, guide))),
            ("设定依据", text(&legal_basis(guide))),
        ]))
        p { (text(&facts.remedy)) }
        (rows(&tail))
        (signatures("窗口工作人员签字", "申请人签收"))
    };
    Ok(page(letterhead, REFUSAL_TITLE, None, &facts.number, content))
}
