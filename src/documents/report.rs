//! The supervision report (`bianmin report`, the board's export) in three forms: text for a
//! terminal, CSV for Excel/WPS (UTF-8 with a byte-order mark, or they show mojibake), and a
//! printable A4 HTML page whose charts are inline SVG (no JavaScript). What the figures mean is
//! in [`crate::domain::report`]; this module only lays them out.

use std::collections::BTreeMap;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::domain::follow_up::ReplyRate;
use crate::domain::queue_stats::minutes_label;
use crate::domain::rating::{RatingCounts, RatingLevel};
use crate::domain::report::Report;
use crate::domain::text::{clean_line, pad, percent_label, width};

/// The printed forms of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    Text,
    Csv,
    Html,
}

impl ReportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Csv => "csv",
            Self::Html => "html",
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Text => "txt",
            Self::Csv => "csv",
            Self::Html => "html",
        }
    }

    /// The HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Text => "text/plain; charset=utf-8",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Html => "text/html; charset=utf-8",
        }
    }
}

/// The report in `format`: what `bianmin report` prints and the server sends.
pub fn render(report: &Report, center: &str, names: &StaffNames, format: ReportFormat) -> Vec<u8> {
    match format {
        ReportFormat::Text => report_text(report, center, names).into_bytes(),
        ReportFormat::Csv => report_csv(report, center, names),
        ReportFormat::Html => report_html(report, center, names).into_bytes(),
    }
}

/// Staff names by id, for the report to show 张三（s001） instead of an id alone.
pub type StaffNames = BTreeMap<String, String>;

fn who(names: &StaffNames, id: &str) -> String {
    match names.get(id) {
        Some(name) => format!("{}（{}）", clean_line(name), clean_line(id)),
        None => clean_line(id),
    }
}

fn minutes(m: Option<u32>) -> String {
    m.map_or_else(|| "—".to_string(), minutes_label)
}

fn hours(minutes: u32) -> String {
    format!("{}.{}", minutes / 60, minutes % 60 * 10 / 60)
}

fn replies(r: &ReplyRate) -> String {
    format!("{}/{}（{}）", r.replied_in_time, r.bad_ratings, r.label())
}

fn ratings_line(r: &RatingCounts) -> String {
    RatingLevel::ALL.iter().map(|l| r.of(*l).to_string()).collect::<Vec<_>>().join("/")
}

fn title(report: &Report, center: &str) -> String {
    let period = if report.period.from == report.period.to {
        report.period.from.format("%Y年%m月%d日").to_string()
    } else {
        format!("{} 至 {}", report.period.from.format("%Y年%m月%d日"), report.period.to.format("%Y年%m月%d日"))
    };
    format!("{}  服务情况统计  {period}", clean_line(center))
}

/// A table of rows as the data rows of one section: the header first. The same cells feed the
/// text, CSV and HTML forms, so they cannot disagree.
struct Section {
    name: &'static str,
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

fn sections(report: &Report, names: &StaffNames) -> Vec<Section> {
    let totals = Section {
        name: "总体",
        header: vec!["取号", "办结", "评价数", "满意率", "差评", "差评按时回复率", "逾期整改"],
        rows: vec![vec![
            report.tickets_issued.to_string(),
            report.tickets_served.to_string(),
            report.ratings.total().to_string(),
            percent_label(report.ratings.satisfaction_per_mille()),
            report.ratings.bad().to_string(),
            report.replies.label(),
            report.replies.overdue.to_string(),
        ]],
    };
    let clerks = Section {
        name: "按人员",
        header: vec![
            "人员",
            "办结",
            "平均等候",
            "平均办理",
            "受理",
            "即办率",
            "告知",
            "评价（非常满意/满意/基本满意/不满意/非常不满意）",
            "差评回复",
            "在岗小时",
            "交接",
            "紧急顶岗",
        ],
        rows: report
            .clerks
            .iter()
            .map(|c| {
                vec![
                    who(names, &c.staff),
                    c.tickets_served.to_string(),
                    minutes(c.average_wait_s),
                    minutes(c.average_handling_s),
                    c.cases_accepted.to_string(),
                    percent_label(c.immediate_per_mille()),
                    c.notices_given.to_string(),
                    ratings_line(&c.ratings),
                    replies(&c.replies),
                    hours(c.minutes_on_post),
                    c.handovers_written.to_string(),
                    c.emergency_takeovers.to_string(),
                ]
            })
            .collect(),
    };
    let windows = Section {
        name: "按窗口",
        header: vec!["窗口", "办结", "平均等候", "平均办理", "受理", "逾期办件", "满意率", "差评回复", "B岗顶岗小时"],
        rows: report
            .windows
            .iter()
            .map(|w| {
                vec![
                    format!("{}号 {}", w.window, clean_line(&w.name)),
                    w.tickets_served.to_string(),
                    minutes(w.average_wait_s),
                    minutes(w.average_handling_s),
                    w.cases_accepted.to_string(),
                    w.cases_overdue.to_string(),
                    percent_label(w.ratings.satisfaction_per_mille()),
                    replies(&w.replies),
                    hours(w.minutes_b_covering),
                ]
            })
            .collect(),
    };
    let guides = Section {
        name: "按事项",
        header: vec!["事项编码", "事项名称", "新建办件", "受理", "逾期"],
        rows: report
            .guides
            .iter()
            .map(|g| {
                vec![
                    clean_line(&g.code),
                    clean_line(&g.name),
                    g.cases_opened.to_string(),
                    g.cases_accepted.to_string(),
                    g.cases_overdue.to_string(),
                ]
            })
            .collect(),
    };
    let categories = Section {
        name: "按类别",
        header: vec!["类别", "取号", "办结", "过号次数", "转出", "平均等候"],
        rows: report
            .categories
            .iter()
            .map(|c| {
                vec![
                    c.category.to_string(),
                    c.issued.to_string(),
                    c.served.to_string(),
                    c.no_shows.to_string(),
                    c.transferred_out.to_string(),
                    minutes(c.average_wait_s),
                ]
            })
            .collect(),
    };
    vec![totals, clerks, windows, guides, categories]
}

/// The report for a terminal: one aligned table per section (widths by display columns, so
/// Chinese lines up).
pub fn report_text(report: &Report, center: &str, names: &StaffNames) -> String {
    let mut out = format!("{}\n统计截至 {}\n", title(report, center), report.as_of.format("%Y-%m-%d"));
    for section in sections(report, names) {
        out.push_str(&format!("\n【{}】\n", section.name));
        let mut cols: Vec<usize> = section.header.iter().map(|h| width(h)).collect();
        for row in &section.rows {
            for (i, cell) in row.iter().enumerate() {
                cols[i] = cols[i].max(width(cell));
            }
        }
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells.iter().zip(&cols).map(|(c, w)| pad(c, *w)).collect();
            padded.join("  ").trim_end().to_string() + "\n"
        };
        out.push_str(&line(section.header.clone()));
        if section.rows.is_empty() {
            out.push_str("（无）\n");
        }
        for row in &section.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
    }
    out
}

/// The report as CSV for Excel or WPS: UTF-8 with a byte-order mark, one section after another,
/// each with its name and header row.
pub fn report_csv(report: &Report, center: &str, names: &StaffNames) -> Vec<u8> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut w = csv::WriterBuilder::new().flexible(true).from_writer(&mut out);
        // Writing into a Vec cannot fail; a failure would only lose a line of a report that is
        // made again on demand.
        let _ = w.write_record([title(report, center)]);
        for section in sections(report, names) {
            let _ = w.write_record([""]);
            let _ = w.write_record([section.name]);
            let _ = w.write_record(&section.header);
            for row in &section.rows {
                let _ = w.write_record(row);
            }
        }
        let _ = w.flush();
    }
    out
}

const CSS: &str = r#"
@page { size: A4; margin: 15mm; }
body { margin: 0; font-family: SimSun, "Songti SC", "Noto Serif CJK SC", serif; font-size: 10pt; color: #000; }
h1 { font-size: 16pt; text-align: center; margin: 0 0 2mm; }
.asof { text-align: center; margin: 0 0 4mm; }
h2 { font-size: 12pt; margin: 5mm 0 2mm; }
table { width: 100%; border-collapse: collapse; }
th, td { border: 0.5pt solid #000; padding: 0.8mm 1.5mm; text-align: left; }
td.n { text-align: right; }
tr { break-inside: avoid; page-break-inside: avoid; }
svg { display: block; margin: 2mm 0; }
@media screen { body { background: #ddd; } main { width: 180mm; margin: 8mm auto; padding: 15mm; background: #fff; } }
"#;

/// A horizontal bar chart as inline SVG: one bar per (label, value).
fn bar_chart(caption: &str, bars: &[(String, u32)]) -> Markup {
    const ROW: u32 = 16;
    const LABEL: u32 = 150;
    const BAR: u32 = 300;
    let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let height = ROW * bars.len() as u32 + 20;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(LABEL + BAR + 60) height=(height) role="img" aria-label=(caption) {
            text x="0" y="12" font-size="11" { (caption) }
            @for (i, (label, value)) in bars.iter().enumerate() {
                @let y = 20 + ROW * i as u32;
                text x="0" y=(y + 11) font-size="10" { (label) }
                rect x=(LABEL) y=(y + 2) width=(BAR * value / max) height=(ROW - 4) fill="#555" {}
                text x=(LABEL + BAR * value / max + 4) y=(y + 11) font-size="10" { (value) }
            }
        }
    }
}

/// The report as a printable A4 page with its charts drawn as inline SVG.
pub fn report_html(report: &Report, center: &str, names: &StaffNames) -> String {
    let served: Vec<(String, u32)> = report.clerks.iter().map(|c| (who(names, &c.staff), c.tickets_served)).collect();
    let rated: Vec<(String, u32)> =
        RatingLevel::ALL.iter().map(|l| (l.label().to_string(), report.ratings.of(*l))).collect();
    let page = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { (title(report, center)) }
                style { (PreEscaped(CSS)) }
            }
            body { main {
                h1 { (title(report, center)) }
                p.asof { "统计截至 " (report.as_of.format("%Y-%m-%d")) }
                (bar_chart("各人员办结量", &served))
                (bar_chart("评价分布", &rated))
                @for section in sections(report, names) {
                    h2 { (section.name) }
                    table {
                        thead { tr { @for h in &section.header { th { (h) } } } }
                        tbody {
                            @if section.rows.is_empty() { tr { td colspan=(section.header.len()) { "（无）" } } }
                            @for row in &section.rows {
                                tr { @for cell in row { td { (cell) } } }
                            }
                        }
                    }
                }
            } }
        }
    };
    page.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::follow_up::ReplyRate;
    use crate::domain::report::{CategoryFigures, ClerkFigures, GuideFigures, Period, WindowFigures};
    use chrono::NaiveDate;

    fn report() -> Report {
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let mut ratings = RatingCounts::default();
        ratings.add(RatingLevel::Satisfied);
        ratings.add(RatingLevel::Dissatisfied);
        let replies = ReplyRate { bad_ratings: 1, replied_in_time: 1, replied_late: 0, overdue: 0 };
        Report {
            period: Period::day(day),
            as_of: day,
            tickets_issued: 12,
            tickets_served: 9,
            ratings,
            replies,
            clerks: vec![ClerkFigures {
                staff: "s001".into(),
                tickets_served: 9,
                average_wait_s: Some(600),
                average_handling_s: Some(725),
                cases_accepted: 3,
                cases_immediate: 1,
                notices_given: 2,
                ratings,
                replies,
                minutes_on_post: 390,
                handovers_written: 1,
                emergency_takeovers: 0,
            }],
            windows: vec![WindowFigures {
                window: 1,
                name: "综合受理1".into(),
                tickets_served: 9,
                average_wait_s: Some(600),
                average_handling_s: Some(725),
                cases_accepted: 3,
                cases_overdue: 1,
                ratings,
                replies,
                minutes_b_covering: 30,
            }],
            guides: vec![GuideFigures {
                code: "G1".into(),
                name: "城乡居民养老保险参保登记".into(),
                cases_opened: 3,
                cases_accepted: 3,
                cases_overdue: 1,
            }],
            categories: vec![CategoryFigures {
                category: 'A',
                issued: 12,
                served: 9,
                no_shows: 1,
                transferred_out: 0,
                average_wait_s: Some(600),
            }],
        }
    }

    fn names() -> StaffNames {
        // A name with a comma, a quote and markup: CSV must quote it, HTML must escape it.
        [("s001".to_string(), "王\"小,<b>明".to_string())].into_iter().collect()
    }

    #[test]
    fn the_text_form_lines_up_by_display_width() {
        let text = report_text(&report(), "城关镇便民服务中心", &names());
        assert!(text.starts_with("城关镇便民服务中心  服务情况统计  2026年12月07日\n"), "{text}");
        let clerk_row = text.lines().find(|l| l.contains("s001")).unwrap();
        assert!(clerk_row.contains("10分") && clerk_row.contains("12分") && clerk_row.contains("33.3%"), "{clerk_row}");
        assert!(
            clerk_row.contains("0/1/0/1/0") && clerk_row.contains("1/1（100%）") && clerk_row.contains("6.5"),
            "{clerk_row}"
        );
        let section: Vec<&str> = text.split("【按窗口】\n").nth(1).unwrap().lines().take(2).collect();
        let value_at = |line: &str, col: usize| {
            let mut w = 0;
            line.chars().find(|c| {
                w += unicode_width::UnicodeWidthChar::width(*c).unwrap_or(0);
                w > col
            })
        };
        let col = width("窗口").max(width("1号 综合受理1")) + 2;
        assert_eq!(value_at(section[0], col), Some('办'), "header and row line up: {section:?}");
        assert_eq!(value_at(section[1], col), Some('9'), "{section:?}");
    }

    #[test]
    fn the_csv_opens_in_excel_with_chinese_intact_and_odd_names_quoted() {
        let bytes = report_csv(&report(), "城关镇便民服务中心", &names());
        assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "a byte-order mark, or Excel shows mojibake");
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(&bytes[3..]);
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let clerk = rows.iter().find(|r| r.get(0).is_some_and(|c| c.contains("s001"))).unwrap();
        assert_eq!(&clerk[0], "王\"小,<b>明（s001）");
        assert_eq!(&clerk[1], "9");
        assert_eq!(&clerk[5], "33.3%");
        let guide = rows.iter().find(|r| r.get(0) == Some("G1")).unwrap();
        assert_eq!(&guide[1], "城乡居民养老保险参保登记");
    }

    #[test]
    fn the_html_is_a_printable_page_with_svg_charts_and_no_script() {
        let html = report_html(&report(), "城关镇便民服务中心", &names());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(!html.contains("<script"));
        assert!(!html.contains("<b>明"), "names are escaped");
        assert!(html.contains("王&quot;小,&lt;b&gt;明（s001）"));
        assert!(html.contains("@page { size: A4"));
    }
}
