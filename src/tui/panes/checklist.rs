//! 一次性告知: the case being worked (its material checklist, applicant, status) or, when none is
//! open, the window's open cases with their deadline countdown.

use std::collections::{HashMap, HashSet};

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use super::{hint, waiting_line};
use crate::domain::case::{Case, MaterialCheck};
use crate::domain::intake::{Urgency, urgency};
use crate::domain::text::{fit_hints, truncate};
use crate::domain::time::china_date;
use crate::tui::app::App;
use uuid::Uuid;

/// The checklist pane's own state: the window's open cases, the one being worked, the list's
/// filter and selections, and the case commands still with the backend. Owned by the [`App`].
#[derive(Debug, Clone, Default)]
pub struct CasePane {
    /// The window's open cases.
    pub list: Vec<Case>,
    /// The case being worked in the pane.
    pub current: Option<Uuid>,
    /// What the clerk typed over the open-case list: letters filter it, they never act.
    pub filter: String,
    /// The highlighted case of the list.
    pub selected: usize,
    /// The highlighted material of the case being worked.
    pub item_selected: usize,
    /// Case commands sent to the backend and not yet done, per case. While any is in flight the
    /// app's copy is newer than what the backend reports (a list built before the last keys were
    /// committed), so a reported list does not replace it: a fast typist's checks are kept.
    pub in_flight: HashMap<Uuid, u32>,
    /// Cases with a step in flight that the backend completes itself (notice, acceptance,
    /// dispatch...): edits wait for its reply, which would otherwise overwrite them.
    pub busy: HashSet<Uuid>,
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    if let Some(case) = app.working_case() {
        render_case(app, case, frame, area);
        return;
    }
    let area = render_conflicts(app, frame, area);
    if app.case_pane.list.is_empty() {
        let lines = if app.overview.is_none() && app.me.is_none() {
            vec![waiting_line(app)]
        } else {
            vec![
                Line::from("本窗口暂无在办件"),
                Line::from(""),
                Line::from("在办事指南中打开事项，按 s 收件：按材料清单逐项核验，缺什么一次性告知。"),
            ]
        };
        hint(frame, area, lines);
        return;
    }
    let visible = app.visible_cases();
    let area = if app.case_pane.filter.is_empty() {
        area
    } else {
        let [line, rest] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
        let text = if visible.is_empty() {
            format!("筛选：{}，没有符合的在办件（Esc 清除）", app.case_pane.filter)
        } else {
            format!("筛选：{}（Esc 清除）", app.case_pane.filter)
        };
        frame.render_widget(Paragraph::new(truncate(&text, usize::from(line.width))).yellow(), line);
        rest
    };
    let rows = visible.into_iter().map(|c| case_row(app, c));
    let table = Table::new(rows, [Constraint::Fill(1), Constraint::Length(6), Constraint::Length(12)])
        .header(Row::new(["在办事项", "状态", "办结期限"]).bold())
        .row_highlight_style(Style::new().reversed());
    let mut state = TableState::default().with_selected(Some(app.case_pane.selected));
    frame.render_stateful_widget(table, area, &mut state);
}

/// Changes to the window's cases the server kept as conflicts (two terminals edited one case,
/// or the case had moved): a line each above the list, naming the case and the edits that did
/// not apply. Returns the area left for the list.
fn render_conflicts(app: &App, frame: &mut Frame, area: Rect) -> Rect {
    let conflicts = app.overview.as_ref().map(|o| o.case_conflicts.as_slice()).unwrap_or_default();
    if conflicts.is_empty() {
        return area;
    }
    // The newest two, each wrapped over up to three rows: what did not apply must be readable.
    let shown = conflicts.len().min(2);
    let rows = (shown as u16 * 3).min(area.height / 2);
    let [top, hint_row, rest] =
        Layout::vertical([Constraint::Length(rows), Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let mut lines = Vec::new();
    for conflict in conflicts.iter().rev().take(shown) {
        let line = Line::from(format!("⚠{}", conflict.message())).red();
        lines.extend(super::guides::wrap_by_width(vec![line], usize::from(top.width)).into_iter().take(3));
    }
    frame.render_widget(Paragraph::new(lines), top);
    let more = conflicts.len() - shown;
    let hint = if more > 0 {
        format!("另有 {more} 条冲突  Ctrl+K 知悉")
    } else {
        "Ctrl+K 知悉（已看过，不再列出）".to_owned()
    };
    frame.render_widget(Paragraph::new(truncate(&hint, usize::from(hint_row.width))).dark_gray(), hint_row);
    rest
}

fn case_row(app: &App, case: &Case) -> Row<'static> {
    let deadline = match (&case.deadline, &app.calendar) {
        (None, _) => Line::from("-"),
        (Some(d), None) => Line::from(d.date.format("%m-%d").to_string()),
        (Some(d), Some(calendar)) => {
            let provisional = if d.provisional { "待定" } else { "" };
            match urgency(calendar, china_date(app.now), d) {
                Urgency::InTime { days_left } => Line::from(format!("剩{days_left}日{provisional}")),
                Urgency::LastDay => Line::from(format!("最后1日{provisional}")).yellow().bold(),
                Urgency::Overdue { days_over } => Line::from(format!("超期{days_over}日")).red().bold(),
            }
        }
    };
    // Two cases on one guide are told apart by whose they are: the ticket and the masked name,
    // on a second line so that a narrow pane still shows both.
    let ticket = case.ticket.map_or_else(|| "无号".to_owned(), |t| format!("{t}号"));
    let name = case.applicant.as_ref().map_or_else(|| "申请人未录入".to_owned(), |a| a.masked_name());
    let what =
        Text::from(vec![Line::from(case.guide_name.clone()), Line::from(format!("{ticket} {name}")).dark_gray()]);
    // A 容缺 acceptance is tracked until the last deferred material is in: its due date under
    // the deadline, red once it has passed.
    let mut deadline = vec![deadline];
    if let Some(due) = case.checklist.deferred_due() {
        let line = Line::from(format!("容缺{}前", due.format("%m-%d")));
        deadline.push(if due < china_date(app.now) { line.red().bold() } else { line.magenta() });
    }
    Row::new(vec![what, Text::from(case.status.label()), Text::from(deadline)]).height(2)
}

fn render_case(app: &App, case: &Case, frame: &mut Frame, area: Rect) {
    // After acceptance a third line: the full case number and the promised date, which the
    // applicant asks about at the counter.
    let accepted = case.case_number.is_some() || case.deadline.is_some();
    let head_rows = if accepted { 3 } else { 2 };
    let [head, list, keys] =
        Layout::vertical([Constraint::Length(head_rows), Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    let applicant = case
        .applicant
        .as_ref()
        .map_or_else(|| "申请人未录入".to_owned(), |a| format!("{} {}", a.masked_name(), a.id_number.masked()));
    let width = usize::from(area.width);
    let mut title = vec![Span::raw(truncate(&case.guide_name, width.saturating_sub(8))).bold()];
    let agent = case.agent.as_ref().map(|a| format!(" 代办{}（{}）", a.masked_name(), a.relation)).unwrap_or_default();
    title.push(Span::raw(format!(" {}", case.status.label())).cyan());
    let ticket = case.ticket.map(|t| format!("{t}号 ")).unwrap_or_default();
    // Work done by the B post is marked as such (B岗代办, clause 7.6.4).
    let acting = if case.post == crate::domain::center::Post::B { "B岗代办 " } else { "" };
    let mut lines = vec![Line::from(title), Line::from(format!("{ticket}{acting}{applicant}{agent}")).dark_gray()];
    if accepted {
        let number = case.case_number.as_deref().unwrap_or("-");
        let promised = case.deadline.as_ref().map_or_else(String::new, |d| {
            let provisional = if d.provisional { "（待定）" } else { "" };
            format!(" 承诺{}前{provisional}", d.date.format("%Y-%m-%d"))
        });
        lines.push(Line::from(vec![Span::raw(number.to_owned()).bold(), Span::raw(promised).cyan()]));
    }
    frame.render_widget(Paragraph::new(lines), head);

    let rows = case.checklist.items.iter().map(|item| {
        let state = match item.state {
            MaterialCheck::Received => Span::raw("已收").green(),
            MaterialCheck::Missing => Span::raw("缺  ").red().bold(),
            MaterialCheck::NotApplicable => Span::raw("不用").dark_gray(),
            MaterialCheck::Unchecked => Span::raw("待核").yellow(),
            MaterialCheck::Deferred => Span::raw("容缺").magenta(),
        };
        let mut detail = format!("{} {}份", item.form.label(), item.copies);
        if let Some(condition) = &item.condition {
            detail.push_str(&format!("，{condition}"));
        }
        if let Some(due) = item.due_on.filter(|_| item.state == MaterialCheck::Deferred) {
            detail.push_str(&format!("，{}前补交", due.format("%m-%d")));
        }
        if !item.note.is_empty() {
            detail.push_str(&format!("，{}", item.note));
        }
        Row::new(vec![Line::from(state), Line::from(item.name.clone()), Line::from(detail).dark_gray()])
    });
    let widths = if area.width >= 50 {
        vec![Constraint::Length(4), Constraint::Fill(3), Constraint::Fill(2)]
    } else {
        vec![Constraint::Length(4), Constraint::Fill(1), Constraint::Length(0)]
    };
    let table = Table::new(rows, widths).row_highlight_style(Style::new().bg(Color::DarkGray));
    let mut state = TableState::default().with_selected(Some(app.case_pane.item_selected));
    frame.render_stateful_widget(table, list, &mut state);
    frame.render_widget(Paragraph::new(fit_hints(&case_hints(case), width)).dark_gray(), keys);
}

/// The keys of the case pane for the case as it stands, most needed first: what is missing,
/// then checking, then the step that comes next. Cut to the width whole (F1 lists all).
fn case_hints(case: &Case) -> Vec<String> {
    use crate::domain::case::CaseStatus as S;
    let missing = format!("缺{}", case.checklist.missing().count());
    let keys: &[&str] = match case.status {
        S::Intake => &["y收", "n缺", "x不用", "l容缺", "a受理", "g告知", "p人", "w代办", "e注", "c终止", "Esc"],
        S::AwaitingMaterials => &["y收", "n缺", "a受理", "g再告知", "c终止", "^B补打", "p人", "w代办", "l容缺", "Esc"],
        S::Accepted => &["d分办", "^B补打", "y补交容缺", "Esc"],
        S::Dispatched => &["r结果", "^B补打", "y补交容缺", "Esc"],
        S::ReadyForDelivery => &["o出件", "^B补打", "Esc"],
        S::Closed | S::Ended => &["^B补打", "Esc"],
    };
    let mut out = Vec::with_capacity(keys.len() + 1);
    if matches!(case.status, S::Intake | S::AwaitingMaterials) {
        out.push(missing);
    }
    let deferred = case.checklist.deferred().next().is_some();
    out.extend(keys.iter().filter(|k| deferred || **k != "y补交容缺").map(|k| (*k).to_owned()));
    out
}
