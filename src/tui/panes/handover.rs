//! AB岗交接: who holds the window's A and B posts and who is on duty, the handover waiting for
//! this clerk's acknowledgement, and the window's history newest first with the selected entry
//! in full.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{hint, waiting_line};
use crate::domain::center::Post;
use crate::domain::handover::{DutyState, Handover, holder_present};
use crate::domain::text::{fit_hints, truncate};
use crate::domain::time::to_china;
use crate::tui::app::App;

/// The handover pane's own state: the window's handovers and the one shown in full. Owned by
/// the [`App`]; the handover being written is a modal, not part of the pane.
#[derive(Debug, Clone, Default)]
pub struct HandoverPane {
    /// The window's handovers, newest first.
    pub list: Vec<Handover>,
    /// The entry of `list` shown in full.
    pub selected: usize,
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(overview) = &app.overview else {
        hint(frame, area, vec![waiting_line(app)]);
        return;
    };
    let width = usize::from(area.width);
    let acting = overview.duty.acting_post();
    let signed_in = app.me.as_ref().map(|m| m.staff.id.as_str());
    let present =
        |post: Post| holder_present(&overview.duty, post, &app.handover_pane.list, &overview.a_holder.id, signed_in);
    let holder = |post: Post, name: &str| {
        let on_duty = if present(post) {
            Span::raw(" 在岗").green()
        } else if acting == Some(post) {
            // B handed back and A has not taken the window yet.
            Span::raw(" 不在岗（待确认接收）").yellow()
        } else {
            Span::raw(" 不在岗").dark_gray()
        };
        Line::from(vec![
            Span::raw(format!("{}  ", post.label())).dark_gray(),
            Span::raw(name.to_owned()).bold(),
            on_duty,
        ])
    };
    let mut lines = vec![holder(Post::A, &overview.a_holder.name), holder(Post::B, &overview.b_holder.name)];
    let mut state = format!("状态  {}", overview.duty.label());
    if let DutyState::BCovering { reason, expected_return } = &overview.duty {
        state.push_str(&format!("（{}", reason.label()));
        if let Some(back) = expected_return {
            state.push_str(&format!("，预计 {} 回", to_china(*back).format("%H:%M")));
        }
        state.push('）');
    }
    lines.push(Line::from(state));
    if let Some(waiting) = app.handover_to_acknowledge() {
        lines.push(
            Line::from(truncate(
                &format!("{} 写给你的{}，按 a 确认接收", waiting.writer_name(app), waiting.kind().label()),
                width,
            ))
            .yellow()
            .bold(),
        );
    }
    let keys: &[&str] = match (app.window_post().map(|(_, p)| p), acting) {
        (Some(Post::A), _) => &["h写交接", "a确认", "x撤回", "1-9勾待办", "上下历史"],
        (Some(Post::B), Some(Post::B)) => &["b交回A岗", "a确认", "x撤回", "1-9勾待办", "上下历史"],
        (Some(Post::B), _) => &["e紧急顶岗", "a确认", "x撤回", "1-9勾待办", "上下历史"],
        (None, _) => &[],
    };
    lines.push(Line::from(fit_hints(keys, width)).dark_gray());
    let head_rows = lines.len() as u16;
    let [head, history] = Layout::vertical([Constraint::Length(head_rows), Constraint::Fill(1)]).areas(area);
    frame.render_widget(Paragraph::new(lines), head);
    if app.handover_pane.list.is_empty() {
        hint(frame, history, vec![Line::from("尚无交接记录")]);
        return;
    }
    let list_rows = (app.handover_pane.list.len() as u16).min(history.height / 2).max(1);
    let [list, detail] = Layout::vertical([Constraint::Length(list_rows), Constraint::Fill(1)]).areas(history);
    let skip = app.handover_pane.selected.saturating_sub(usize::from(list_rows) - 1);
    let entries: Vec<Line> = app
        .handover_pane
        .list
        .iter()
        .enumerate()
        .skip(skip)
        .take(usize::from(list_rows))
        .map(|(i, h)| {
            let ack = match (&h.acknowledged, &h.withdrawn) {
                (Some(_), _) => "已确认",
                (None, Some(_)) => "已撤回",
                (None, None) => "未确认",
            };
            let text = format!(
                "{} {} {} {ack}",
                to_china(h.written_at).format("%m-%d %H:%M"),
                h.kind().label(),
                h.writer_name(app)
            );
            let line = Line::from(truncate(&text, width));
            if i == app.handover_pane.selected { line.style(Style::new().reversed()) } else { line }
        })
        .collect();
    frame.render_widget(Paragraph::new(entries), list);
    if let Some(h) = app.handover_pane.list.get(app.handover_pane.selected) {
        frame.render_widget(Paragraph::new(detail_lines(app, h)).wrap(Wrap { trim: false }), detail);
    }
}

fn detail_lines(app: &App, h: &Handover) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    // The to-dos first: 1-9 tick them, so they must be in view even on a small screen.
    for (i, item) in h.pending.iter().enumerate() {
        let mark = if item.done { "[x]" } else { "[ ]" };
        let due = item.due.map(|d| format!("（{}前）", to_china(d).format("%H:%M"))).unwrap_or_default();
        let line = Line::from(format!("{}. {mark} {}{due}", i + 1, item.text));
        lines.push(if item.done { line.dark_gray() } else { line });
    }
    if let Some(reason) = h.reason {
        lines.push(Line::from(format!("离岗原因：{}", reason.label())));
    }
    if !h.open_cases.is_empty() {
        let cases: Vec<String> = h
            .open_cases
            .iter()
            .map(|c| match c.deadline {
                Some(d) => format!("{}（{}，{}到期）", c.guide_name, c.status_label, d.format("%m-%d")),
                None => format!("{}（{}）", c.guide_name, c.status_label),
            })
            .collect();
        lines.push(Line::from(format!("在办件：{}", cases.join("；"))));
    }
    if !h.parked_tickets.is_empty() {
        let numbers: Vec<String> = h.parked_tickets.iter().map(ToString::to_string).collect();
        lines.push(Line::from(format!("挂起的号：{}", numbers.join(" "))));
    }
    if !h.notes.is_empty() {
        lines.extend(h.notes.lines().map(|l| Line::from(l.to_owned()).dark_gray()));
    }
    if let Some(ack) = &h.acknowledged {
        let note = if ack.note.is_empty() { String::new() } else { format!("：{}", ack.note) };
        let by = staff_name(app, &ack.by);
        lines.push(Line::from(format!("{} {by} 确认{note}", to_china(ack.at).format("%m-%d %H:%M"))).green());
    }
    if let Some(w) = &h.withdrawn {
        let by = staff_name(app, &w.by);
        lines.push(Line::from(format!("{} {by} 撤回", to_china(w.at).format("%m-%d %H:%M"))).yellow());
    }
    if let Some(refused) = &h.duty_refused {
        lines.push(Line::from(format!("值守未切换：{refused}")).red());
    }
    lines
}

trait StaffName {
    fn writer_name(&self, app: &App) -> String;
}

impl StaffName for Handover {
    /// The writer's name when the roster knows it, the staff id otherwise.
    fn writer_name(&self, app: &App) -> String {
        staff_name(app, &self.written_by)
    }
}

/// A staff member's name when the roster knows it, the staff id otherwise.
fn staff_name(app: &App, id: &str) -> String {
    app.center
        .as_ref()
        .and_then(|c| c.staff.iter().find(|s| s.id == id))
        .map_or_else(|| id.to_owned(), |s| s.name.clone())
}
