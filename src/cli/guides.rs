//! `bianmin guides search` and `bianmin guides show`: the service-guide catalogue from a shell,
//! for the guidance desk and for scripts. Output is plain text in Chinese (or JSON for search);
//! every text from the catalogue goes through [`clean_line`] so an imported guide cannot put
//! escape sequences on the clerk's terminal.

use std::io::{self, Write};

use serde::Serialize;

use crate::api::GuideSummary;
use crate::domain::guide::{Handling, ServiceGuide};
use crate::domain::text::{clean_line, pad, width};
use crate::search::{MatchField, SearchIndex};

/// Widest a column of the search listing gets before it is cut.
const MAX_NAME_COLS: usize = 48;
const MAX_DEPARTMENT_COLS: usize = 32;

/// 承诺时限 as the desk says it: "即办" or "5个工作日".
pub fn promised_limit(guide: &ServiceGuide) -> String {
    limit_label(guide.handling, guide.promised_limit_days)
}

fn limit_label(handling: Handling, days: u32) -> String {
    if handling == Handling::OnTheSpot || days == 0 { "即办".to_owned() } else { format!("{days}个工作日") }
}

#[derive(Serialize)]
struct JsonHit<'a> {
    code: &'a str,
    name: &'a str,
    department: &'a str,
    /// 名称, 别名, 关键词, 材料, 常见问题 or 正文: the best field a word matched in.
    field: &'static str,
    /// Higher is better; comparable only within one search.
    score: u32,
    fuzzy: bool,
    /// The words of the question this guide matched.
    matched: &'a [String],
}

/// Searches `guides` for a question as the person asked it (see [`SearchIndex::ask`]) and
/// prints the best `limit`, one guide per line: code, name, department, promised time limit,
/// where it matched when that was not the name, and which words matched when not all did. With
/// `json`, a JSON array of `{code, name, department, field, score, fuzzy, matched}` instead.
/// Returns whether anything was found (nothing is printed then, except `[]` for JSON).
pub fn search_command(
    guides: &[ServiceGuide],
    query: &str,
    limit: usize,
    json: bool,
    out: &mut impl Write,
) -> io::Result<bool> {
    let index = SearchIndex::build(guides);
    let summaries: Vec<GuideSummary> = guides.iter().map(GuideSummary::from).collect();
    search_summaries(&summaries, &index, query, limit, json, out)
}

/// As [`search_command`], over the summaries of a catalogue and its index in the same order
/// (what `bianmin guides search` reads from the terminal's cache, without whole guides).
pub fn search_summaries(
    guides: &[GuideSummary],
    index: &SearchIndex,
    query: &str,
    limit: usize,
    json: bool,
    out: &mut impl Write,
) -> io::Result<bool> {
    let answer = index.ask(query, limit);
    let hits = &answer.hits;
    if json {
        let rows: Vec<JsonHit> = hits
            .iter()
            .map(|h| {
                let g = &guides[h.guide];
                JsonHit {
                    code: &g.code,
                    name: &g.name,
                    department: &g.department,
                    field: h.field.label(),
                    score: (h.score * 1000.0) as u32,
                    fuzzy: h.fuzzy,
                    matched: &h.matched,
                }
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &rows).map_err(io::Error::other)?;
        writeln!(out)?;
        return Ok(!hits.is_empty());
    }
    let rows: Vec<[String; 5]> = hits
        .iter()
        .map(|h| {
            let g = &guides[h.guide];
            let mut matched = match (h.field, h.fuzzy) {
                (MatchField::Name, false) => String::new(),
                (MatchField::Name, true) => "〔近似〕".to_owned(),
                (field, false) => format!("〔{}〕", field.label()),
                (field, true) => format!("〔{}·近似〕", field.label()),
            };
            if h.matched.len() < answer.words.len() {
                matched.push_str(&format!("〔对上：{}〕", clean_line(&h.matched.join("、"))));
            }
            [
                clean_line(&g.code),
                clean_line(&g.name),
                clean_line(&g.department),
                limit_label(g.handling, g.promised_limit_days),
                matched,
            ]
        })
        .collect();
    let col = |i: usize, max: usize| rows.iter().map(|r| width(&r[i])).max().unwrap_or(0).min(max);
    let (code_w, name_w, dept_w, limit_w) =
        (col(0, 32), col(1, MAX_NAME_COLS), col(2, MAX_DEPARTMENT_COLS), col(3, 16));
    for [code, name, department, time_limit, matched] in &rows {
        let line = format!(
            "{}  {}  {}  {}  {matched}",
            pad(code, code_w),
            pad(name, name_w),
            pad(department, dept_w),
            pad(time_limit, limit_w)
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(!hits.is_empty())
}

/// Prints every element of the guide with code `code` (surrounding spaces ignored) as readable
/// Chinese text. Returns `false`, printing nothing, when there is no such guide.
pub fn show_command(guides: &[ServiceGuide], code: &str, out: &mut impl Write) -> io::Result<bool> {
    let code = code.trim();
    let Some(g) = guides.iter().find(|g| g.code == code || g.code.eq_ignore_ascii_case(code)) else {
        return Ok(false);
    };
    let c = clean_line;
    writeln!(out, "{}", c(&g.name))?;
    writeln!(out, "{}", "=".repeat(width(&c(&g.name)).clamp(8, 80)))?;
    writeln!(out, "事项编码：{}", c(&g.code))?;
    writeln!(out, "实施主体：{}", c(&g.department))?;
    writeln!(out, "事项类型：{}", g.item_type.label())?;
    writeln!(out, "受理窗口：{}", g.window_kind.label())?;

    section(out, "设定依据")?;
    for (i, basis) in g.legal_basis.iter().enumerate() {
        writeln!(out, "  {}. {}{}", i + 1, c(&basis.law), c(&basis.article))?;
    }

    section(out, "办理时限")?;
    match g.statutory_limit_days {
        Some(days) => writeln!(out, "  法定时限：{days}个工作日")?,
        None => writeln!(out, "  法定时限：法律法规未规定")?,
    }
    writeln!(out, "  承诺时限：{}", promised_limit(g))?;
    writeln!(out, "  办件类型：{}", g.handling.label())?;
    writeln!(out, "  收件即受理：{}", if g.accept_on_receipt { "是（综合窗口收件即受理）" } else { "否" })?;

    section(out, "受理条件")?;
    numbered(out, &g.acceptance_conditions)?;

    if !g.situations.is_empty() {
        section(out, "业务情形")?;
        for (i, s) in g.situations.iter().enumerate() {
            writeln!(out, "  {}. {}", i + 1, c(&s.name))?;
            for condition in &s.conditions {
                writeln!(out, "     条件：{}", c(condition))?;
            }
            let names: Vec<String> = g.materials_for(Some(&s.id)).iter().map(|m| c(&m.name)).collect();
            writeln!(out, "     所需材料：{}", names.join("、"))?;
        }
    }

    section(out, "申请材料")?;
    materials_table(out, g)?;

    section(out, "收费")?;
    if g.is_free() {
        writeln!(out, "  不收费")?;
    } else {
        for fee in &g.fees {
            writeln!(out, "  {}：{}（依据：{}）", c(&fee.item), c(&fee.standard), c(&fee.basis))?;
        }
    }

    section(out, "办理流程")?;
    for (i, step) in g.process.iter().enumerate() {
        writeln!(out, "  {}. {}：{}", i + 1, c(&step.name), c(&step.description))?;
    }

    section(out, "办理地点和时间")?;
    writeln!(out, "  办理地点：{}", c(&g.location))?;
    writeln!(out, "  办理时间：{}", c(&g.hours))?;
    writeln!(out, "  咨询电话：{}", c(&g.consult_phone))?;
    writeln!(out, "  投诉电话：{}", c(&g.complaint_phone))?;
    writeln!(out, "  网办程度：{}", g.online.label())?;

    if !g.faqs.is_empty() {
        section(out, "常见问题")?;
        for (i, faq) in g.faqs.iter().enumerate() {
            writeln!(out, "  {}. 问：{}", i + 1, c(&faq.question))?;
            writeln!(out, "     答：{}", c(&faq.answer))?;
        }
    }

    if !g.aliases.is_empty() || !g.keywords.is_empty() {
        section(out, "检索用词")?;
        if !g.aliases.is_empty() {
            writeln!(out, "  别名：{}", g.aliases.iter().map(|a| c(a)).collect::<Vec<_>>().join("、"))?;
        }
        if !g.keywords.is_empty() {
            writeln!(out, "  关键词：{}", g.keywords.iter().map(|k| c(k)).collect::<Vec<_>>().join("、"))?;
        }
    }

    writeln!(out)?;
    writeln!(out, "版本：第{}版    更新日期：{}", g.revision, g.updated_on.format("%Y-%m-%d"))?;
    Ok(true)
}

fn section(out: &mut impl Write, title: &str) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "【{title}】")
}

fn numbered(out: &mut impl Write, items: &[String]) -> io::Result<()> {
    if items.is_empty() {
        return writeln!(out, "  无");
    }
    for (i, item) in items.iter().enumerate() {
        writeln!(out, "  {}. {}", i + 1, clean_line(item))?;
    }
    Ok(())
}

/// 申请材料 as a table (序号, 名称, 形式, 份数, 是否必需, 来源), with notes and forms on the lines
/// under each row.
fn materials_table(out: &mut impl Write, g: &ServiceGuide) -> io::Result<()> {
    let header = ["序号", "材料名称", "形式", "份数", "是否必需", "来源"];
    let rows: Vec<[String; 6]> = g
        .materials
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let required = match &m.condition {
                None => "必需".to_owned(),
                Some(condition) => format!("{}需提供", clean_line(condition)),
            };
            [
                (i + 1).to_string(),
                clean_line(&m.name),
                m.form.label().to_owned(),
                m.copies.to_string(),
                required,
                clean_line(&m.source),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| width(&r[i])).chain([width(header[i])]).max().unwrap_or(0).min(40))
        .collect();
    let line = |cells: [&str; 6]| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(cell, w)| pad(cell, *w)).collect();
        format!("  {}", padded.join("  ")).trim_end().to_owned()
    };
    writeln!(out, "{}", line(header))?;
    for (row, m) in rows.iter().zip(&g.materials) {
        writeln!(out, "{}", line([&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]]))?;
        // Cells cut to fit the table are printed whole below it.
        let indent = " ".repeat(2 + widths[0] + 2);
        if width(&row[1]) > widths[1] {
            writeln!(out, "{indent}全称：{}", row[1])?;
        }
        if width(&row[4]) > widths[4] {
            writeln!(out, "{indent}条件：{}", row[4])?;
        }
        if !m.notes.is_empty() {
            writeln!(out, "{indent}备注：{}", clean_line(&m.notes))?;
        }
        if let Some(form) = &m.blank_form {
            writeln!(out, "{indent}空白表格：{}", clean_line(form))?;
        }
        if let Some(sample) = &m.sample_form {
            writeln!(out, "{indent}示例样本：{}", clean_line(sample))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guides() -> Vec<ServiceGuide> {
        crate::assets::bundled_catalogue().expect("bundled catalogue").guides
    }

    fn run_search(query: &str, json: bool) -> (bool, String) {
        let mut out = Vec::new();
        let found = search_command(&guides(), query, 10, json, &mut out).expect("write to a Vec");
        (found, String::from_utf8(out).expect("UTF-8"))
    }

    #[test]
    fn search_lists_one_guide_per_line() {
        let (found, text) = run_search("cjrz", false);
        assert!(found);
        let first = text.lines().next().expect("a line");
        assert!(first.starts_with("HB-QS-0027  残疾人证新办"), "{first}");
        assert!(first.contains("青石镇残疾人联合会"));
        assert!(first.contains("个工作日") || first.contains("即办"));
        let (_, text) = run_search("上户口", false);
        assert!(text.lines().next().expect("a line").ends_with("〔别名〕"), "{text}");
        // One typo: found, marked.
        let (_, text) = run_search("残急人证", false);
        assert!(text.starts_with("HB-QS-0027") && text.lines().next().unwrap().ends_with("近似〕"), "{text}");
        // A question as people say it; a guide that matched only some words says which.
        let (_, text) = run_search("身份证过期了怎么办", false);
        assert!(text.starts_with("HB-QS-0067  居民身份证申领、换领和补领"), "{text}");
        let (_, text) = run_search("身份证照片能不能自己拍", false);
        let first = text.lines().next().expect("a line");
        assert!(first.starts_with("HB-QS-0067") && first.ends_with("〔对上：身份证、照片〕"), "{text}");
    }

    #[test]
    fn search_json_and_nothing_found() {
        let (found, text) = run_search("残疾rbt", true);
        assert!(found);
        let rows: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(rows[0]["code"], "HB-QS-0029");
        assert_eq!(rows[0]["field"], "名称", "残疾 is in its name");
        assert_eq!(rows[0]["fuzzy"], false);
        assert!(rows[0]["score"].as_u64().expect("score") > 0);
        assert_eq!(rows[0]["matched"], serde_json::json!(["残疾", "rbt"]));
        assert_eq!(run_search("qqqqxxxx", true), (false, "[]\n".to_owned()));
        assert_eq!(run_search("qqqqxxxx", false), (false, String::new()));
    }

    #[test]
    fn show_prints_every_element() {
        let guides = guides();
        let mut out = Vec::new();
        assert!(show_command(&guides, " hb-qs-0009 ", &mut out).expect("write"));
        let text = String::from_utf8(out).expect("UTF-8");
        for needle in [
            "城乡居民基本医疗保险参保登记",
            "事项编码：HB-QS-0009",
            "实施主体：",
            "事项类型：",
            "【设定依据】",
            "法定时限：",
            "承诺时限：",
            "办件类型：",
            "收件即受理：",
            "【受理条件】",
            "【业务情形】",
            "新生儿参保",
            "条件：出生90天内参保缴费的",
            "【申请材料】",
            "序号  材料名称",
            "【收费】",
            "【办理流程】",
            "办理地点：",
            "办理时间：",
            "咨询电话：",
            "投诉电话：",
            "网办程度：",
            "【常见问题】",
            "版本：第",
            "更新日期：",
        ] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
        let mut out = Vec::new();
        assert!(show_command(&guides, "HB-QS-0049", &mut out).expect("write"));
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(text.contains("农业保险个人自缴保费："), "a fee");
        assert!(!text.contains("不收费"));
        let mut out = Vec::new();
        assert!(!show_command(&guides, "HB-QS-9999", &mut out).expect("write"));
        assert!(out.is_empty());
    }

    #[test]
    fn every_guide_shows_with_its_materials() {
        for g in guides() {
            let mut out = Vec::new();
            assert!(show_command(std::slice::from_ref(&g), &g.code, &mut out).expect("write"));
            let text = String::from_utf8(out).expect("UTF-8");
            for m in &g.materials {
                assert!(text.contains(&clean_line(&m.name)), "{}: {}", g.code, m.name);
                if let Some(form) = &m.blank_form {
                    assert!(text.contains(&format!("空白表格：{form}")));
                }
            }
            assert!(!text.contains('\u{1b}'));
        }
    }
}
