//! 办事指南: the service-guide catalogue, and one guide opened whole with every element of
//! clause 6.2.2, scrollable.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use ratatui_textarea::TextArea;

use super::{hint, waiting_line};
use crate::api::GuideSummary;
use crate::domain::guide::ServiceGuide;
use crate::tui::app::App;
use crate::tui::catalogue::SearchRow;

/// The guide pane's own state: the catalogue, the search box over it and the guide opened from
/// it. Owned by the [`App`], which routes keys and backend replies here.
#[derive(Debug, Clone)]
pub struct GuidePane {
    /// The catalogue as the server last sent it.
    pub list: std::sync::Arc<Vec<GuideSummary>>,
    /// The highlighted row: of the search results while there are any, of `list` otherwise.
    pub selected: usize,
    /// What the clerk types into the search box.
    pub search: TextArea<'static>,
    /// Results for the text in the search box; `None` while it is empty (the whole catalogue
    /// shows) or before the first results arrive.
    pub search_rows: Option<Vec<SearchRow>>,
    /// Whether an opened guide shows its FAQ answers.
    pub faq_open: bool,
    /// The guide opened from the list, shown whole in the pane.
    pub detail: Option<Box<ServiceGuide>>,
    /// The first line of the opened guide on screen.
    pub scroll: u16,
}

impl GuidePane {
    pub fn new() -> Self {
        Self {
            list: Default::default(),
            selected: 0,
            search: search_box(),
            search_rows: None,
            faq_open: false,
            detail: None,
            scroll: 0,
        }
    }
}

impl Default for GuidePane {
    fn default() -> Self {
        Self::new()
    }
}

/// An empty search box with its hint.
pub fn search_box() -> TextArea<'static> {
    let mut input = TextArea::default();
    input.set_placeholder_text("输入汉字、全拼或首字母，如 残疾人证 / canji / cjrz");
    input
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    match &app.guide_pane.detail {
        Some(guide) => render_detail(app, guide, frame, area),
        None => render_list(app, frame, area),
    }
}

/// The search box and the catalogue or the results.
pub fn render_list(app: &App, frame: &mut Frame, area: Rect) {
    if app.guide_pane.list.is_empty() {
        hint(frame, area, vec![waiting_line(app)]);
        return;
    }
    let [search, count, list] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let [label, input] = Layout::horizontal([Constraint::Length(6), Constraint::Fill(1)]).areas(search);
    frame.render_widget(Paragraph::new("搜索：").cyan(), label);
    frame.render_widget(&app.guide_pane.search, input);
    if (app.desk || app.focus == crate::tui::app::Pane::Guides) && app.form().is_none() && !app.help_open() {
        // The terminal cursor at the caret: an input method's candidates open where one types.
        let caret = app.guide_pane.search.screen_cursor();
        let x = input.x.saturating_add(caret.col as u16).min(input.right().saturating_sub(1));
        frame.set_cursor_position((x, input.y));
    }
    // Wide enough: department and time limit beside the name.
    let wide = area.width >= 60;
    let widths: Vec<Constraint> = if wide {
        vec![Constraint::Fill(3), Constraint::Fill(2), Constraint::Length(10)]
    } else {
        vec![Constraint::Fill(1), Constraint::Length(10)]
    };
    // The name column's width (one column of spacing between columns), rounded down.
    let name_width = if wide {
        usize::from(area.width.saturating_sub(12)) * 3 / 5
    } else {
        usize::from(area.width.saturating_sub(11))
    };
    if let Some(rows) = &app.guide_pane.search_rows {
        let summary = if rows.is_empty() {
            "没有找到，换个说法试试（可用全拼或首字母）".to_owned()
        } else if !rows[0].missed.is_empty() {
            // Never a bare 没有找到 when a word is known: the closest guides, and what matched.
            let desk = if app.desk { "；都不对按 F5 记为未找到" } else { "" };
            format!(
                "没有完全对上的事项，以下最接近（对上：{}；未对上：{}）{desk}",
                rows[0].matched.join("、"),
                rows[0].missed.join("、")
            )
        } else {
            format!("找到 {} 项，第 {} 项，Enter 查看，Esc 清空", rows.len(), app.guide_pane.selected + 1)
        };
        frame.render_widget(Paragraph::new(summary).dark_gray(), count);
        let (from, to) = visible_rows(rows.len(), app.guide_pane.selected, list.height);
        let table = Table::new(rows[from..to].iter().map(|r| result_row(r, wide, name_width)), widths)
            .row_highlight_style(Style::new().reversed());
        let mut state = TableState::default().with_selected(Some(app.guide_pane.selected.saturating_sub(from)));
        frame.render_stateful_widget(table, list, &mut state);
        return;
    }
    frame.render_widget(
        Paragraph::new(Line::from(format!(
            "共 {} 项，第 {} 项，Enter 查看",
            app.guide_pane.list.len(),
            app.guide_pane.selected + 1
        )))
        .dark_gray(),
        count,
    );
    // Only the rows on screen are built: a frame costs the same at 91 guides and at 100,000.
    let (from, to) = visible_rows(app.guide_pane.list.len(), app.guide_pane.selected, list.height);
    let rows = app.guide_pane.list[from..to].iter().map(|g| row(g, wide, name_width));
    let table = Table::new(rows, widths).row_highlight_style(Style::new().reversed());
    let mut state = TableState::default().with_selected(Some(app.guide_pane.selected.saturating_sub(from)));
    frame.render_stateful_widget(table, list, &mut state);
}

/// The rows of a one-line-a-row list of `len` that fit `height` lines with `selected` on screen,
/// scrolled as the table itself would from the top: the selection on the last line once it is
/// below the first screenful.
fn visible_rows(len: usize, selected: usize, height: u16) -> (usize, usize) {
    let height = usize::from(height);
    if height == 0 || len == 0 {
        return (0, 0);
    }
    let from = (selected.min(len - 1) + 1).saturating_sub(height);
    (from, (from + height).min(len))
}

pub fn limit_label(days: u32) -> String {
    if days == 0 { "即办".to_owned() } else { format!("{days}个工作日") }
}

/// A result with the matched characters of the name highlighted, and where it matched when
/// not in the name.
fn result_row(r: &SearchRow, wide: bool, name_width: usize) -> Row<'static> {
    let mut marks = String::new();
    if let Some(field) = r.field {
        marks.push_str(&format!(" 〔{field}〕"));
    }
    if r.fuzzy {
        marks.push_str(" 〔近似〕");
    }
    let room = name_width.saturating_sub(crate::domain::text::width(&marks));
    let mut spans = fitted_name(&r.name, &r.highlight, room);
    if !marks.is_empty() {
        spans.push(Span::raw(marks).dark_gray());
    }
    if !r.missed.is_empty() && !r.matched.is_empty() {
        spans.push(Span::raw(format!(" 〔对上：{}〕", r.matched.join("、"))).dark_gray());
    }
    let limit = limit_label(r.promised_limit_days);
    if wide {
        Row::new(vec![Line::from(spans), Line::from(r.department.clone()), Line::from(limit)])
    } else {
        Row::new(vec![Line::from(spans), Line::from(limit)])
    }
}

fn row(g: &GuideSummary, wide: bool, name_width: usize) -> Row<'static> {
    let limit = limit_label(g.promised_limit_days);
    let name = Line::from(fitted_name(&g.name, &[], name_width));
    if wide {
        Row::new(vec![name, Line::from(g.department.clone()), Line::from(limit)])
    } else {
        Row::new(vec![name, Line::from(limit)])
    }
}

/// A guide's name fitted to `max` columns, cut in the middle when too long: names of one family
/// share a long beginning (five read 城乡居民基本养老保 when cut at the end), so the end is kept,
/// which tells them apart. Characters inside `highlight` (byte ranges of the name) are marked.
fn fitted_name(name: &str, highlight: &[std::ops::Range<usize>], max: usize) -> Vec<Span<'static>> {
    use unicode_width::UnicodeWidthChar;
    let chars: Vec<(usize, char, usize)> = name.char_indices().map(|(i, c)| (i, c, c.width().unwrap_or(0))).collect();
    let total: usize = chars.iter().map(|c| c.2).sum();
    let (head, tail) = if total <= max {
        (chars.len(), 0)
    } else {
        let budget = max.saturating_sub(2);
        let head_budget = budget * 2 / 5;
        let mut head = 0;
        let mut used = 0;
        while head < chars.len() && used + chars[head].2 <= head_budget {
            used += chars[head].2;
            head += 1;
        }
        let mut tail = 0;
        let mut used_tail = 0;
        while tail < chars.len() - head && used + used_tail + chars[chars.len() - 1 - tail].2 <= budget {
            used_tail += chars[chars.len() - 1 - tail].2;
            tail += 1;
        }
        (head, tail)
    };
    let lit = |i: usize| highlight.iter().any(|r| r.contains(&i));
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut push = |text: String, on: bool| {
        if text.is_empty() {
            return;
        }
        spans.push(if on { Span::raw(text).yellow().bold() } else { Span::raw(text) });
    };
    let run = |part: &[(usize, char, usize)], push: &mut dyn FnMut(String, bool)| {
        let mut text = String::new();
        let mut on = false;
        for &(i, c, _) in part {
            if lit(i) != on && !text.is_empty() {
                push(std::mem::take(&mut text), on);
            }
            on = lit(i);
            text.push(c);
        }
        push(text, on);
    };
    run(&chars[..head], &mut push);
    if tail > 0 || head < chars.len() {
        push("..".to_owned(), false);
        run(&chars[chars.len() - tail..], &mut push);
    }
    spans
}

/// The desk's answer card for the top result: where (windows and queue category), what to
/// bring, how long, the fee, and whether it can be done online, with the key that issues a
/// ticket for it.
pub fn render_card(app: &App, guide: &ServiceGuide, frame: &mut Frame, area: Rect) {
    let windows = app.center.as_ref().map(|c| c.windows.as_slice()).unwrap_or_default();
    let category = guide.ticket_category(windows);
    let category_name = category.map(|c| {
        let name =
            app.center.as_ref().and_then(|i| i.categories.iter().find(|q| q.letter == c)).map(|q| q.name.as_str());
        format!("{c} {}", name.unwrap_or_default()).trim_end().to_owned()
    });
    let serving: Vec<String> = windows
        .iter()
        .filter(|w| category.map_or(w.kind == guide.window_kind, |c| w.categories.contains(&c)))
        .map(|w| format!("{}号窗", w.number))
        .collect();
    let mut place = if serving.is_empty() { guide.window_kind.label().to_owned() } else { serving.join("、") };
    if let Some(name) = &category_name {
        place.push_str(&format!("（取号 {name}）"));
    }
    // What to bring: for the first business situation when the guide has several (本人申请),
    // else the materials every applicant needs.
    let bring = match guide.situations.first() {
        Some(first) => {
            let names: Vec<&str> = guide
                .materials
                .iter()
                .filter(|m| first.material_ids.contains(&m.id))
                .map(|m| m.name.as_str())
                .collect();
            let others = guide.situations.len() - 1;
            let more =
                if others > 0 { format!("；另有 {others} 种情形，见完整指南") } else { String::new() };
            format!("{}（{}）{more}", names.join("、"), first.name)
        }
        None => {
            let required: Vec<&str> =
                guide.materials.iter().filter(|m| m.condition.is_none()).map(|m| m.name.as_str()).collect();
            let optional = guide.materials.len() - required.len();
            let more = if optional > 0 { format!("；另有 {optional} 项视情况提供") } else { String::new() };
            format!("{}{more}", required.join("、"))
        }
    };
    let fee = if guide.is_free() {
        "不收费".to_owned()
    } else {
        guide.fees.iter().map(|f| format!("{}{}", f.item, f.standard)).collect::<Vec<_>>().join("；")
    };
    let label = |text: &str| Span::raw(format!("{text}：")).cyan();
    let line = |name: &str, value: String| Line::from(vec![label(name), Span::raw(value)]);
    let mut lines = vec![
        Line::from(vec![Span::raw("答复卡 ").dark_gray(), Span::raw(guide.name.clone()).bold()]),
        line("去哪办", place),
        line("在哪里", format!("{}，{}", guide.location, guide.hours)),
        line("带什么", bring),
        line("要多久", format!("{}（{}）", limit_label(guide.promised_limit_days), guide.handling.label())),
        line("收费吗", fee),
        line("网上办", guide.online.label().to_owned()),
        Line::default(),
    ];
    let ticket = category_name.map_or_else(|| "F8 取号".to_owned(), |c| format!("F8 取号（{c}）"));
    lines.push(Line::from(format!("Enter 查看完整指南  {ticket}  F6 已解答  F7 引导  F5 未找到")).dark_gray());
    // Wrapped by display width like the opened guide: the paragraph's own wrapping can put a
    // wide character over the border.
    frame.render_widget(Paragraph::new(wrap_by_width(lines, usize::from(area.width))), area);
}

pub fn render_detail(app: &App, guide: &ServiceGuide, frame: &mut Frame, area: Rect) {
    let [body, keys] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    // Wrapped here by display width, not by the paragraph: its word wrapping let a line of
    // wide characters come out one column too wide, over the pane's border.
    let lines = wrap_by_width(detail_lines(guide, app.guide_pane.faq_open), usize::from(body.width));
    let paragraph = Paragraph::new(lines).scroll((app.guide_pane.scroll, 0));
    frame.render_widget(paragraph, body);
    let hint = if app.desk {
        "PgUp/PgDn 翻看  F6已解答 F7引导 F8取号 F9办不成事"
    } else if app.window_post().is_some() {
        "上下翻看 f问答 s收件 Esc返回"
    } else {
        "上下翻看 f问答 Esc返回"
    };
    frame.render_widget(Paragraph::new(hint).dark_gray(), keys);
}

/// Breaks each line into lines at most `width` columns wide, between characters (Chinese text
/// has no spaces to break at), keeping each span's style. A space where a line breaks is dropped,
/// so a continued line does not start indented.
pub(super) fn wrap_by_width(lines: Vec<Line<'static>>, width: usize) -> Vec<Line<'static>> {
    use unicode_width::UnicodeWidthChar;
    if width == 0 {
        return lines;
    }
    let mut out = Vec::new();
    for line in lines {
        let mut current: Vec<Span<'static>> = Vec::new();
        let mut used = 0;
        let mut at_break = false;
        for span in line.spans {
            let mut text = String::new();
            for c in span.content.chars() {
                if at_break && c == ' ' {
                    continue;
                }
                at_break = false;
                let w = c.width().unwrap_or(0);
                if used + w > width {
                    if !text.is_empty() {
                        current.push(Span::styled(std::mem::take(&mut text), span.style));
                    }
                    out.push(Line::from(std::mem::take(&mut current)).style(line.style));
                    used = 0;
                    if c == ' ' {
                        at_break = true;
                        continue;
                    }
                }
                text.push(c);
                used += w;
            }
            if !text.is_empty() {
                current.push(Span::styled(text, span.style));
            }
        }
        out.push(Line::from(current).style(line.style));
    }
    out
}

fn heading(text: &str) -> Line<'static> {
    Line::from(Span::raw(format!("【{text}】")).bold().cyan())
}

/// Every element of the guide, in the order a clerk reads it out.
pub fn detail_lines(g: &ServiceGuide, faq_open: bool) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(Span::raw(g.name.clone()).bold()),
        Line::from(format!("{}  {}  {}", g.code, g.department, g.item_type.label())).dark_gray(),
    ];
    let statutory = g.statutory_limit_days.map_or_else(|| "法定时限：无".to_owned(), |d| format!("法定 {d} 个工作日"));
    let promised = if g.promised_limit_days == 0 {
        "承诺：即办".to_owned()
    } else {
        format!("承诺 {} 个工作日", g.promised_limit_days)
    };
    let receipt = if g.accept_on_receipt { "，收件即受理" } else { "" };
    lines.push(Line::from(format!("{}；{}（{}{receipt}）", statutory, promised, g.handling.label())));
    lines.push(heading("受理条件"));
    lines.extend(g.acceptance_conditions.iter().enumerate().map(|(i, c)| Line::from(format!("{}. {c}", i + 1))));
    if !g.situations.is_empty() {
        lines.push(heading("业务情形"));
        for s in &g.situations {
            let names: Vec<&str> =
                g.materials.iter().filter(|m| s.material_ids.contains(&m.id)).map(|m| m.name.as_str()).collect();
            lines.push(Line::from(vec![Span::raw(format!("{}：", s.name)).bold(), Span::raw(names.join("、"))]));
            lines.extend(s.conditions.iter().map(|c| Line::from(format!("  条件：{c}")).dark_gray()));
        }
    }
    lines.push(heading("申请材料"));
    for (i, m) in g.materials.iter().enumerate() {
        let required = m.condition.as_deref().map_or_else(|| "必需".to_owned(), |c| format!("{c}需提供"));
        lines.push(Line::from(vec![
            Span::raw(format!("{}. {}", i + 1, m.name)).bold(),
            Span::raw(format!("  {} {}份  {required}", m.form.label(), m.copies)),
        ]));
        let mut extra = vec![format!("来源：{}", m.source)];
        if !m.notes.is_empty() {
            extra.push(m.notes.clone());
        }
        if let Some(form) = &m.blank_form {
            extra.push(format!("空表：{form}"));
        }
        if let Some(sample) = &m.sample_form {
            extra.push(format!("样本：{sample}"));
        }
        lines.push(Line::from(format!("   {}", extra.join("；"))).dark_gray());
    }
    lines.push(heading("收费"));
    if g.is_free() {
        lines.push(Line::from("不收费"));
    }
    lines.extend(g.fees.iter().map(|f| Line::from(format!("{}：{}（依据：{}）", f.item, f.standard, f.basis))));
    lines.push(heading("办理流程"));
    lines.extend(
        g.process.iter().enumerate().map(|(i, p)| Line::from(format!("{}. {}：{}", i + 1, p.name, p.description))),
    );
    lines.push(heading("办理地点与时间"));
    lines.push(Line::from(g.location.clone()));
    lines.push(Line::from(g.hours.clone()));
    lines.push(Line::from(format!(
        "咨询电话 {}  监督投诉 {}  {}",
        g.consult_phone,
        g.complaint_phone,
        g.online.label()
    )));
    if !g.faqs.is_empty() {
        let fold = if faq_open { "（f 收起）" } else { "（f 展开答案）" };
        lines.push(Line::from(vec![Span::raw("【常见问题】").bold().cyan(), Span::raw(fold).dark_gray()]));
        for f in &g.faqs {
            lines.push(Line::from(format!("问：{}", f.question)).bold());
            if faq_open {
                lines.push(Line::from(format!("答：{}", f.answer)));
            }
        }
    }
    lines.push(heading("设定依据"));
    lines.extend(g.legal_basis.iter().map(|b| Line::from(format!("{}{}", b.law, b.article))));
    lines.push(Line::from(format!("第 {} 版，更新于 {}", g.revision, g.updated_on)).dark_gray());
    lines
}

#[cfg(test)]
mod tests {
    use super::visible_rows;

    #[test]
    fn only_the_rows_on_screen_are_built_with_the_selection_among_them() {
        assert_eq!(visible_rows(100_000, 0, 20), (0, 20));
        assert_eq!(visible_rows(100_000, 19, 20), (0, 20));
        assert_eq!(visible_rows(100_000, 20, 20), (1, 21));
        assert_eq!(visible_rows(100_000, 99_999, 20), (99_980, 100_000));
        assert_eq!(visible_rows(5, 3, 20), (0, 5));
        assert_eq!(visible_rows(0, 0, 20), (0, 0));
        assert_eq!(visible_rows(10, 4, 0), (0, 0));
        assert_eq!(visible_rows(10, 99, 4), (6, 10), "a selection past the end shows the last rows");
    }
}
