//! 当前叫号: the ticket at this window (large), its marks, waiting time and serving timer, what
//! happened to it, the queue behind it, parked tickets, and today's figures with a sparkline of
//! the waiting line and a bar per category when there is room.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Paragraph, Sparkline};

use super::{hint, waiting_line};
use crate::api::queue::{QueueSnapshot, QueueStats};
use crate::config::QueueKeys;
use crate::domain::queue_stats::minutes_label;
use crate::domain::text::{fit_hints, truncate};
use crate::domain::ticket::{Priority, Ticket, TicketStatus};
use crate::tui::app::{App, Link};

/// The queue pane's own state: the center's live queue and today's figures as the server last
/// said, and the keys of the queue operations (configurable under `[keys]`). Owned by the
/// [`App`].
#[derive(Debug, Clone)]
pub struct QueuePane {
    /// The live queue of the center.
    pub snapshot: Option<QueueSnapshot>,
    pub stats: Option<QueueStats>,
    pub keys: QueueKeys,
}

impl QueuePane {
    pub fn new() -> Self {
        Self {
            snapshot: None,
            stats: None,
            keys: crate::config::KeySettings::default().resolve().unwrap_or(QueueKeys(Vec::new())),
        }
    }
}

impl Default for QueuePane {
    fn default() -> Self {
        Self::new()
    }
}

fn clock(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let s = (now - since).num_seconds().max(0);
    format!("{:02}:{:02}", s / 60, s % 60)
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(overview) = &app.overview else {
        let line = if app.me.is_some() && app.window_post().is_none() {
            Line::from("本账号不在任何窗口任职")
        } else {
            waiting_line(app)
        };
        hint(frame, area, vec![line]);
        return;
    };
    let window = overview.window.number;
    let stats_rows = if area.height >= 16 { 6 } else { 0 };
    let [ticket_area, details, stats_area, keys] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Fill(1),
        Constraint::Length(stats_rows),
        Constraint::Length(1),
    ])
    .areas(area);
    let here = app.ticket_here();
    render_ticket(app, here, frame, ticket_area);

    let width = usize::from(area.width);
    let mut lines = Vec::new();
    if let Some(t) = here {
        lines.extend(ticket_lines(t, app.now, width));
    }
    let categories = &overview.window.categories;
    let (waiting, longest, paused) = match &app.queue_pane.snapshot {
        Some(q) => {
            let longest = q
                .tickets
                .iter()
                .filter(|t| t.status == TicketStatus::Waiting && categories.contains(&t.category))
                .map(|t| t.queued_at)
                .min();
            let paused = q.windows.iter().find(|w| w.window == window).and_then(|w| w.paused.clone());
            // Waiting per category this window calls from.
            let per: Vec<String> = categories.iter().map(|c| format!("{c} {}人", q.waiting(&[*c]))).collect();
            (per.join(" "), longest, paused)
        }
        None => (format!("{} 人", overview.waiting), None, None),
    };
    // The numbers themselves, in the order they would be called (green channel marked 绿),
    // after the counts on the same line: the clerk sees who is next, not only how many. The
    // longest wait is shown when no number is.
    let next: Vec<&Ticket> = app.queue_pane.snapshot.as_ref().map_or_else(Vec::new, |q| {
        q.tickets
            .iter()
            .filter(|t| {
                t.status == TicketStatus::Waiting
                    && categories.contains(&t.category)
                    && t.window.is_none_or(|w| w == window)
            })
            .collect()
    });
    let mut line = vec![Span::raw("等候  ").dark_gray(), Span::raw(waiting.clone()).bold()];
    if next.is_empty() {
        if let Some(t) = longest {
            line.push(Span::raw(format!("，最长 {}", minutes_label((app.now - t).num_seconds().max(0) as u32))).bold());
        }
    } else {
        line.push(Span::raw("：").dark_gray());
        let used = 6 + crate::domain::text::width(&waiting) + 2;
        line.extend(next_numbers(&next, width.saturating_sub(used)));
    }
    lines.push(Line::from(line));
    let parked = app.parked_here();
    if !parked.is_empty() {
        let numbers: Vec<String> = parked.iter().map(|t| t.number.to_string()).collect();
        lines.push(Line::from(vec![Span::raw("挂起  ").dark_gray(), Span::raw(numbers.join(" ")).yellow()]));
    }
    if let Some(pause) = paused {
        lines.push(Line::from(format!("已暂停叫号：{}（z 恢复）", pause.reason)).red());
    }
    if stats_rows == 0 {
        // Too low for the charts: today's figures in one line.
        if let Some(stats) = &app.queue_pane.stats {
            let mine = stats.window.clone().unwrap_or_default();
            let avg = |s: Option<u32>| s.map_or_else(|| "-".to_owned(), minutes_label);
            lines.push(Line::from(vec![
                Span::raw("今日  ").dark_gray(),
                Span::raw(format!(
                    "办结{} 均等{} 均办{} 来访{}",
                    mine.served,
                    avg(mine.average_wait_s),
                    avg(mine.average_handling_s),
                    overview.visits_today
                )),
            ]));
        }
    }
    // The visits are in the 今日 line when that is shown instead of the charts.
    if stats_rows > 0 || app.queue_pane.stats.is_none() {
        lines.push(Line::from(vec![
            Span::raw("登记  ").dark_gray(),
            Span::raw(format!("今日来访 {} 人", overview.visits_today)),
        ]));
    }
    if let Link::Offline(_) = &app.link {
        // Calling from the shared queue needs the server; the paper fallback does not.
        lines.push(Line::from("离线：叫号暂不可用，按 w 登记纸质号").yellow());
    }
    frame.render_widget(Paragraph::new(lines), details);
    if stats_rows > 0 {
        render_stats(app, frame, stats_area);
    }
    let key = |which| app.queue_pane.keys.key(which).label();
    use crate::config::QueueKey as K;
    // Most used first; what does not fit is left out whole (F1 lists every key).
    let hints: Vec<String> = [
        (K::CallNext, "叫号"),
        (K::Serve, "办理/办结"),
        (K::Recall, "重呼"),
        (K::NoShow, "过号"),
        (K::Transfer, "转移"),
        (K::Park, "挂起"),
        (K::CallBack, "回呼"),
        (K::Rating, "评价"),
        (K::CallNumber, "指定"),
        (K::ReturnToLine, "回队"),
        (K::WalkIn, "直接"),
        (K::CheckIn, "签到"),
        (K::Pause, "暂停"),
    ]
    .into_iter()
    .map(|(k, what)| format!("{}{what}", key(k)))
    .collect();
    frame.render_widget(Paragraph::new(fit_hints(&hints, width)).dark_gray(), keys);
}

/// The waiting numbers that fit in `width` columns, then how many more.
fn next_numbers(next: &[&Ticket], width: usize) -> Vec<Span<'static>> {
    // Room kept for "…另99人" while numbers remain.
    const MORE: usize = 8;
    let mut spans = Vec::new();
    let mut used = 0;
    for (i, t) in next.iter().enumerate() {
        let green = t.priority.is_green();
        let gap = if i == 0 { "" } else { " " };
        let text = if green { format!("{gap}{}绿", t.number) } else { format!("{gap}{}", t.number) };
        let w = crate::domain::text::width(&text);
        let room = if i + 1 == next.len() { width } else { width.saturating_sub(MORE) };
        if used + w > room {
            spans.push(Span::raw(format!("{gap}…另{}人", next.len() - i)).dark_gray());
            break;
        }
        used += w;
        spans.push(if green { Span::raw(text).green().bold() } else { Span::raw(text) });
    }
    spans
}

fn render_ticket(app: &App, here: Option<&Ticket>, frame: &mut Frame, area: Rect) {
    let big = match here {
        Some(t) => {
            // Spaced out and reversed: the number is read from across the counter.
            let spaced: String = t.number.to_string().chars().flat_map(|c| [c, ' ']).collect();
            let style = if t.status == TicketStatus::Serving {
                Style::new().fg(Color::Black).bg(Color::Green).bold()
            } else {
                Style::new().fg(Color::Black).bg(Color::Yellow).bold()
            };
            let timer = match (t.status, t.started_at, t.called_at) {
                (TicketStatus::Serving, Some(started), _) => format!("办理中 {}", clock(started, app.now)),
                (_, _, Some(called)) => format!("已叫号 {}", clock(called, app.now)),
                _ => t.status.label().to_owned(),
            };
            vec![Line::from(Span::styled(format!(" {spaced}"), style)), Line::from(timer)]
        }
        None => vec![Line::from("当前无号").bold(), Line::from("按叫号键叫下一位").dark_gray()],
    };
    frame.render_widget(Paragraph::new(big).centered(), area);
}

fn ticket_lines(t: &Ticket, now: DateTime<Utc>, width: usize) -> Vec<Line<'static>> {
    let mut marks = vec![format!("{} 类", t.category)];
    if let Priority::Green(reason) = t.priority {
        marks.push(format!("绿色通道（{}）", reason.label()));
    }
    if let Some(a) = &t.appointment {
        let start = crate::domain::time::to_china(a.slot_start).format("%H:%M");
        let end = crate::domain::time::to_china(a.slot_end).format("%H:%M");
        marks.push(format!("预约 {start}-{end}"));
    }
    if t.walk_in {
        marks.push("直接办理".into());
    }
    let waited = t.called_at.unwrap_or(now) - t.queued_at;
    marks.push(format!("等候 {}", minutes_label(waited.num_seconds().max(0) as u32)));
    if t.recalls > 0 {
        marks.push(format!("重呼 {} 次", t.recalls));
    }
    let mut lines = vec![Line::from(truncate(&marks.join("  "), width)).cyan()];
    let moves: Vec<String> = t
        .history
        .iter()
        .filter(|e| {
            matches!(
                e.action,
                crate::domain::ticket::QueueAction::Transferred
                    | crate::domain::ticket::QueueAction::Parked
                    | crate::domain::ticket::QueueAction::CalledBack
            )
        })
        .map(|e| format!("{} {}", crate::domain::time::to_china(e.at).format("%H:%M"), e.action.label()))
        .collect();
    if !moves.is_empty() {
        lines.push(Line::from(truncate(&format!("经过：{}", moves.join("，")), width)).dark_gray());
    }
    if let Some(note) = &t.note {
        lines.push(Line::from(truncate(&format!("备注：{note}"), width)).dark_gray());
    }
    lines
}

fn render_stats(app: &App, frame: &mut Frame, area: Rect) {
    let Some(stats) = &app.queue_pane.stats else { return };
    let [text, charts] = Layout::vertical([Constraint::Length(2), Constraint::Fill(1)]).areas(area);
    let avg = |s: Option<u32>| s.map_or_else(|| "-".to_owned(), minutes_label);
    let mine = stats.window.clone().unwrap_or_default();
    let lines = vec![
        Line::from(format!(
            "今日本窗 办结{} 均等{} 均办{}",
            mine.served,
            avg(mine.average_wait_s),
            avg(mine.average_handling_s)
        )),
        Line::from(format!(
            "今日中心 办结{} 均等{} 均办{}",
            stats.center.served,
            avg(stats.center.average_wait_s),
            avg(stats.center.average_handling_s)
        ))
        .dark_gray(),
    ];
    frame.render_widget(Paragraph::new(lines), text);
    let [spark, bars] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(charts);
    let curve: Vec<u64> = stats.center.waiting_curve.iter().map(|&n| u64::from(n)).collect();
    frame.render_widget(Sparkline::default().data(&curve).style(Style::new().cyan()), spark);
    let bar_data: Vec<Bar> = stats
        .center
        .per_category
        .iter()
        .map(|(c, n)| Bar::default().label(Line::from(c.to_string())).value(u64::from(*n)))
        .collect();
    frame.render_widget(BarChart::default().data(BarGroup::default().bars(&bar_data)).bar_width(2).bar_gap(1), bars);
}
