//! The director's board: four blocks over the whole body. 大厅 (each window's standing, who
//! holds the post, the lines and calls per hour), 好差评 (today's ratings, the reply rate and the
//! follow-ups, the highlighted one acted on), 效能 (cases on their last day or overdue) and 导办
//! (the desk's inquiries). It renders the last snapshot and nothing else.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::domain::attendance::WindowStanding;
use crate::domain::board::Board;
use crate::domain::center::Post;
use crate::domain::follow_up::FollowUpState;
use crate::domain::queue_stats::minutes_label;
use crate::domain::text::{pad, percent_label, truncate};
use crate::tui::app::App;

/// A block of the board; the one whose list has the keys is drawn in cyan.
fn block(title: &str, focused: bool) -> Block<'static> {
    let color = if focused { Color::Cyan } else { Color::DarkGray };
    Block::bordered().title(format!(" {title} ")).border_style(Style::new().fg(color))
}

/// A staff member's name, or their id when the center does not list them.
fn name_of(app: &App, id: &str) -> String {
    app.center
        .as_ref()
        .and_then(|c| c.staff.iter().find(|s| s.id == id))
        .map_or_else(|| id.to_owned(), |s| s.name.clone())
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(board) = &app.board_pane.snapshot else {
        super::hint(frame, area, vec![super::waiting_line(app)]);
        return;
    };
    let [top, bottom] = Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]).areas(area);
    let [hall, lines] = Layout::horizontal([Constraint::Fill(3), Constraint::Fill(2)]).areas(top);
    let [ratings, side] = Layout::horizontal([Constraint::Fill(3), Constraint::Fill(2)]).areas(bottom);
    let [cases, desk] = Layout::vertical([Constraint::Fill(3), Constraint::Fill(2)]).areas(side);
    render_hall(app, board, frame, hall);
    render_lines(board, frame, lines);
    render_ratings(app, board, frame, ratings);
    render_cases(app, board, frame, cases);
    render_desk(board, frame, desk);
}

fn standing_style(standing: &WindowStanding) -> Style {
    match standing {
        WindowStanding::Empty => Style::new().fg(Color::White).bg(Color::Red).add_modifier(Modifier::BOLD),
        WindowStanding::Serving => Style::new().fg(Color::Green),
        WindowStanding::Paused { .. } => Style::new().fg(Color::Yellow),
        WindowStanding::Idle => Style::new(),
        WindowStanding::Closed => Style::new().fg(Color::DarkGray),
    }
}

fn render_hall(app: &App, board: &Board, frame: &mut Frame, area: Rect) {
    let alarms = board.empty_posts().count();
    let title = if alarms > 0 { format!("大厅 · 空岗 {alarms}") } else { "大厅".to_owned() };
    let b = block(&title, false);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let cols = usize::from(inner.width);
    let mut lines = Vec::new();
    for w in &board.windows {
        let state = match &w.standing {
            WindowStanding::Paused { reason } => format!("暂停：{reason}"),
            other => other.label().to_owned(),
        };
        let who = match (&w.acting_staff, w.acting_post) {
            (Some(id), Some(Post::B)) => format!("{} B顶岗", name_of(app, id)),
            (Some(id), Some(Post::A)) => format!("{} A岗", name_of(app, id)),
            _ => "无人值守".to_owned(),
        };
        let ticket = w.ticket.clone().unwrap_or_default();
        let head = format!("{:>2}号 ", w.number);
        let rest = format!(" {} {}", pad(&who, 12), ticket);
        let state_width = if cols >= 40 { 14 } else { 10 }.min(cols.saturating_sub(4));
        lines.push(Line::from(vec![
            Span::raw(head),
            Span::styled(pad(&truncate(&state, state_width), state_width), standing_style(&w.standing)),
            Span::raw(truncate(&rest, cols.saturating_sub(4 + state_width))),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A bar of `n` out of `max` in `cols` columns.
fn bar(n: u32, max: u32, cols: usize) -> String {
    if max == 0 {
        return String::new();
    }
    let len = (n as usize * cols).div_ceil(max as usize).min(cols);
    "█".repeat(len)
}

fn render_lines(board: &Board, frame: &mut Frame, area: Rect) {
    let b = block("排队", false);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let cols = usize::from(inner.width);
    let mut lines = Vec::new();
    for l in board.lines.iter().filter(|l| l.waiting > 0) {
        let wait = l.longest_wait_s.map(|s| format!(" 最长{}", minutes_label(s))).unwrap_or_default();
        lines.push(Line::from(truncate(&format!("{} {} 等候{}{wait}", l.letter, l.name, l.waiting), cols)));
    }
    if lines.is_empty() {
        lines.push(Line::from("无人等候").dark_gray());
    }
    // Calls per hour, the busiest hour filling the width.
    let max = board.calls_per_hour.iter().map(|(_, n)| *n).max().unwrap_or(0);
    if max > 0 {
        lines.push(Line::from("每小时叫号").bold());
        for (hour, n) in &board.calls_per_hour {
            let label = format!("{hour:02}时 {n:>3} ");
            let room = cols.saturating_sub(crate::domain::text::width(&label));
            lines.push(Line::from(vec![
                Span::raw(label),
                Span::styled(bar(*n, max, room), Style::new().fg(Color::Cyan)),
            ]));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn render_ratings(app: &App, board: &Board, frame: &mut Frame, area: Rect) {
    let b = block("好差评", !app.board_pane.on_cases);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let cols = usize::from(inner.width);
    let r = &board.ratings_today;
    let summary = format!(
        "今日评价{} 满意率{} 差评{} 本月回复率{}",
        r.total(),
        percent_label(board.satisfaction_today),
        r.bad(),
        board.reply_rate.label()
    );
    let mut lines = vec![Line::from(truncate(&summary, cols)).bold()];
    if board.follow_ups.is_empty() {
        lines.push(Line::from("没有待整改的差评").dark_gray());
    }
    for (i, (f, state)) in board.follow_ups.iter().enumerate() {
        let selected = i == app.board_pane.selected && !app.board_pane.on_cases;
        let marker = if selected { "▶" } else { " " };
        let text = format!(
            "{marker}{}号 {} {} 限{} {}",
            f.window,
            name_of(app, &f.staff),
            f.level.label(),
            f.due_on.format("%m-%d"),
            state.label()
        );
        let mut style = match state {
            FollowUpState::Overdue => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            FollowUpState::Open => Style::new().fg(Color::Yellow),
            FollowUpState::ClosedInTime | FollowUpState::ClosedLate => Style::new().fg(Color::DarkGray),
        };
        if selected {
            style = style.add_modifier(Modifier::REVERSED);
        }
        lines.push(Line::from(Span::styled(truncate(&text, cols), style)));
        if selected && let Some(step) = f.steps.last() {
            let what = format!("  最近：{} {}", step.action.label(), name_of(app, &step.by));
            lines.push(Line::from(truncate(&what, cols)).dark_gray());
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn render_cases(app: &App, board: &Board, frame: &mut Frame, area: Rect) {
    let b = block("效能 · 临期超期办件", app.board_pane.on_cases);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let cols = usize::from(inner.width);
    let mut lines = Vec::new();
    if board.cases.is_empty() {
        lines.push(Line::from("没有临期或超期的办件").dark_gray());
    } else {
        // Per department first (who must act), then the cases.
        let groups: Vec<String> = board
            .cases_by_department
            .iter()
            .map(|c| {
                let name = if c.key.is_empty() { "未知部门" } else { c.key.as_str() };
                format!("{name} 超期{} 临期{}", c.overdue, c.last_day)
            })
            .collect();
        lines.push(Line::from(truncate(&groups.join("  "), cols)).bold());
    }
    for (i, c) in board.cases.iter().enumerate() {
        let when = if c.is_overdue() { format!("超期{}日", c.days_over) } else { "今明到期".to_owned() };
        let number = c.case_number.as_deref().unwrap_or("未受理");
        let text = format!("{}号 {number} {} {when}", c.window, name_of(app, &c.clerk));
        let mut style = if c.is_overdue() { Style::new().fg(Color::Red) } else { Style::new().fg(Color::Yellow) };
        if app.board_pane.on_cases && i == app.board_pane.case_selected {
            style = style.add_modifier(Modifier::REVERSED);
        }
        lines.push(Line::from(Span::styled(truncate(&text, cols), style)));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn render_desk(board: &Board, frame: &mut Frame, area: Rect) {
    let b = block("导办", false);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let cols = usize::from(inner.width);
    let d = &board.desk;
    let mut lines = vec![Line::from(truncate(
        &format!(
            "解答{} 引导{} 取号{} 转办{} 未找到{}",
            d.answered, d.sent_to_window, d.ticket_issued, d.referred, d.not_found
        ),
        cols,
    ))];
    for q in &d.unanswered {
        lines.push(Line::from(truncate(&format!("未找到：{q}"), cols)).dark_gray());
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
