//! 办事指南: the service-guide catalogue, and one guide opened whole with every element of
//! clause 6.2.2, scrollable.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};

use super::{hint, waiting_line};
use crate::api::GuideSummary;
use crate::domain::guide::ServiceGuide;
use crate::tui::app::App;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    if let Some(guide) = &app.guide_detail {
        render_detail(app, guide, frame, area);
        return;
    }
    if app.guides.is_empty() {
        hint(frame, area, vec![waiting_line(app)]);
        return;
    }
    let [count, list] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(format!("共 {} 项，第 {} 项，Enter 查看", app.guides.len(), app.guide_selected + 1)))
            .dark_gray(),
        count,
    );
    // Wide enough: department and time limit beside the name.
    let wide = area.width >= 60;
    let rows = app.guides.iter().map(|g| row(g, wide));
    let widths: Vec<Constraint> = if wide {
        vec![Constraint::Fill(3), Constraint::Fill(2), Constraint::Length(10)]
    } else {
        vec![Constraint::Fill(1), Constraint::Length(10)]
    };
    let table = Table::new(rows, widths).row_highlight_style(Style::new().reversed());
    let mut state = TableState::default().with_selected(Some(app.guide_selected));
    frame.render_stateful_widget(table, list, &mut state);
}

pub fn limit_label(days: u32) -> String {
    if days == 0 { "即办".to_owned() } else { format!("{days}个工作日") }
}

fn row(g: &GuideSummary, wide: bool) -> Row<'static> {
    let limit = limit_label(g.promised_limit_days);
    if wide { Row::new([g.name.clone(), g.department.clone(), limit]) } else { Row::new([g.name.clone(), limit]) }
}

fn render_detail(app: &App, guide: &ServiceGuide, frame: &mut Frame, area: Rect) {
    let [body, keys] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    let paragraph = Paragraph::new(detail_lines(guide)).wrap(Wrap { trim: false }).scroll((app.guide_scroll, 0));
    frame.render_widget(paragraph, body);
    let hint = if app.window_post().is_some() {
        "上下翻看  s 按此收件  Esc 返回"
    } else {
        "上下翻看  Esc 返回"
    };
    frame.render_widget(Paragraph::new(hint).dark_gray(), keys);
}

fn heading(text: &str) -> Line<'static> {
    Line::from(Span::raw(format!("【{text}】")).bold().cyan())
}

/// Every element of the guide, in the order a clerk reads it out.
pub fn detail_lines(g: &ServiceGuide) -> Vec<Line<'static>> {
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
        lines.push(heading("常见问题"));
        for f in &g.faqs {
            lines.push(Line::from(format!("问：{}", f.question)).bold());
            lines.push(Line::from(format!("答：{}", f.answer)));
        }
    }
    lines.push(heading("设定依据"));
    lines.extend(g.legal_basis.iter().map(|b| Line::from(format!("{}{}", b.law, b.article))));
    lines.push(Line::from(format!("第 {} 版，更新于 {}", g.revision, g.updated_on)).dark_gray());
    lines
}
