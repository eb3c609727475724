//! The hall's calling display (叫号屏): state (pure) and its rendering. The state follows the
//! live queue feed; every call it learns of is returned so that the voice can announce it. It
//! does no I/O: the loop in [`crate::cli::commands`] feeds it and plays the announcements.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use tui_big_text::{BigText, PixelSize};

use crate::api::CenterInfo;
use crate::api::queue::{QueueEvent, QueueSnapshot};
use crate::domain::hall::{CallKind, HallCall, announcement, call_of};
use crate::domain::rating::Satisfaction;
use crate::domain::ticket::TicketStatus;
use crate::domain::time::to_china;

/// How many recent calls the display keeps (and shows, as far as they fit).
pub const RECENT_CALLS: usize = 8;

/// Whether the display hears the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisplayLink {
    Connecting,
    Online,
    /// Lost; the feed reconnects by itself.
    Lost(String),
    /// Refused for good (the device token): nothing live until the admin acts.
    Stopped(String),
}

#[derive(Debug, Clone)]
pub struct DisplayState {
    pub center: Option<CenterInfo>,
    pub queue: Option<QueueSnapshot>,
    /// The latest calls, newest first.
    pub calls: VecDeque<HallCall>,
    pub link: DisplayLink,
    /// Today's public evaluation summary (clause 8.2.1.4).
    pub satisfaction: Option<Satisfaction>,
    pub now: DateTime<Utc>,
}

impl DisplayState {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            center: None,
            queue: None,
            calls: VecDeque::new(),
            link: DisplayLink::Connecting,
            satisfaction: None,
            now,
        }
    }

    /// Takes an event of the feed; returns the calls it made, to be announced in order. A
    /// snapshot (on connecting, or catching up after a gap) announces nothing: those calls were
    /// made while the display could not hear them, and calling them now would send people to
    /// windows that moved on.
    pub fn apply(&mut self, event: QueueEvent) -> Vec<HallCall> {
        match event {
            QueueEvent::Snapshot(snapshot) => {
                self.queue = Some(snapshot);
                Vec::new()
            }
            QueueEvent::Change(change) => {
                let Some(queue) = self.queue.as_mut() else { return Vec::new() };
                if change.rev <= queue.rev {
                    return Vec::new();
                }
                queue.apply(&change);
                let call = change.ticket.as_ref().and_then(|t| call_of(change.action, t, change.window, change.at));
                if let Some(call) = &call {
                    self.calls.push_front(call.clone());
                    self.calls.truncate(RECENT_CALLS);
                }
                call.into_iter().collect()
            }
            QueueEvent::RecordsChanged { .. } => Vec::new(),
        }
    }

    /// The call standing at `window`: its ticket is still called or in service there.
    pub fn standing_call(&self, window: u32) -> Option<(&HallCall, TicketStatus)> {
        let ticket = self.queue.as_ref()?.at_window(window)?;
        let call = self.calls.iter().find(|c| c.window == window && c.number == ticket.number)?;
        Some((call, ticket.status))
    }
}

/// One window's cell: what it shows and how loudly.
struct Cell {
    title: String,
    number: Option<String>,
    status: String,
    highlight: bool,
    dim: bool,
}

fn cells(state: &DisplayState) -> Vec<Cell> {
    let Some(center) = &state.center else { return Vec::new() };
    let mut windows: Vec<_> = center.windows.iter().collect();
    windows.sort_by_key(|w| w.number);
    windows
        .into_iter()
        .map(|w| {
            let title = format!("{} 号窗口", w.number);
            let paused = state
                .queue
                .as_ref()
                .and_then(|q| q.windows.iter().find(|s| s.window == w.number))
                .and_then(|s| s.paused.as_ref());
            let at_window = state.queue.as_ref().and_then(|q| q.at_window(w.number));
            match (at_window, paused) {
                (Some(ticket), _) => {
                    let recall = state
                        .standing_call(w.number)
                        .is_some_and(|(c, status)| c.kind == CallKind::Recall && status == TicketStatus::Called);
                    let status = match ticket.status {
                        TicketStatus::Serving => "办理中".to_owned(),
                        _ if recall => "再次呼叫".to_owned(),
                        _ => "请到窗口".to_owned(),
                    };
                    Cell { title, number: Some(ticket.number.to_string()), status, highlight: recall, dim: false }
                }
                (None, Some(pause)) => Cell {
                    title,
                    number: None,
                    status: format!("暂停服务：{}", pause.reason),
                    highlight: false,
                    dim: true,
                },
                (None, None) => Cell { title, number: None, status: "空闲".into(), highlight: false, dim: true },
            }
        })
        .collect()
}

/// Draws the display on the whole frame.
pub fn render(state: &DisplayState, frame: &mut Frame) {
    let area = frame.area();
    let [header, grid, recent, waiting, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(5),
        Constraint::Length(1),
        Constraint::Length(2),
        Constraint::Length(1),
    ])
    .areas(area);
    render_header(state, frame, header);
    render_grid(state, frame, grid);
    render_recent(state, frame, recent);
    render_waiting(state, frame, waiting);
    render_footer(state, frame, footer);
}

fn render_header(state: &DisplayState, frame: &mut Frame, area: Rect) {
    let name = state.center.as_ref().map_or("便民服务中心", |c| c.center.name.as_str());
    let clock = to_china(state.now).format("%H:%M").to_string();
    let title = Line::from(vec![Span::from(format!("{name}  叫号屏")).bold(), Span::from(format!("   {clock}"))]);
    let latest = match state.calls.front() {
        Some(call) => {
            let style = if call.kind == CallKind::Recall {
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD | Modifier::REVERSED)
            } else {
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
            };
            Line::from(Span::styled(announcement(call), style))
        }
        None => Line::from("请留意叫号，按号码到对应窗口办理".dim()),
    };
    frame.render_widget(Paragraph::new(vec![title, latest]).centered(), area);
}

fn render_grid(state: &DisplayState, frame: &mut Frame, area: Rect) {
    let cells = cells(state);
    if cells.is_empty() {
        let text = match &state.link {
            DisplayLink::Stopped(why) => format!("无法显示叫号：{why}"),
            _ => "正在连接服务器…".to_owned(),
        };
        frame.render_widget(Paragraph::new(text).centered(), area);
        return;
    }
    // Three across where full-size digits fit (a hall screen), else as many as fit at 26 columns.
    let across = if area.width >= 102 { 3 } else { (area.width / 26).max(1) };
    let columns = usize::from(across).min(cells.len());
    let rows = cells.len().div_ceil(columns);
    let row_areas = Layout::vertical(vec![Constraint::Ratio(1, rows as u32); rows]).split(area);
    for (r, row_area) in row_areas.iter().enumerate() {
        let col_areas = Layout::horizontal(vec![Constraint::Ratio(1, columns as u32); columns]).split(*row_area);
        for (c, cell_area) in col_areas.iter().enumerate() {
            if let Some(cell) = cells.get(r * columns + c) {
                render_cell(cell, frame, *cell_area);
            }
        }
    }
}

fn render_cell(cell: &Cell, frame: &mut Frame, area: Rect) {
    let accent = if cell.highlight {
        Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
    } else if cell.dim {
        Style::new().fg(Color::DarkGray)
    } else {
        Style::new().fg(Color::Green).add_modifier(Modifier::BOLD)
    };
    let block = Block::bordered().title(Line::from(cell.title.clone()).centered()).border_style(accent);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let [body, status] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    let status_style = if cell.highlight { accent.add_modifier(Modifier::REVERSED) } else { accent };
    frame.render_widget(Paragraph::new(Line::styled(cell.status.clone(), status_style)).centered(), status);
    let Some(number) = &cell.number else { return };
    // The largest glyphs that fit: 8x8 cells per letter, half height, or quadrants.
    let chars = number.chars().count() as u16;
    let size = if body.width >= chars * 8 && body.height >= 8 {
        Some(PixelSize::Full)
    } else if body.width >= chars * 8 && body.height >= 4 {
        Some(PixelSize::HalfHeight)
    } else if body.width >= chars * 4 && body.height >= 4 {
        Some(PixelSize::Quadrant)
    } else {
        None
    };
    match size {
        Some(size) => {
            let big = BigText::builder()
                .pixel_size(size)
                .style(accent)
                .lines(vec![Line::from(number.clone())])
                .centered()
                .build();
            let rows = if size == PixelSize::Full { 8 } else { 4 };
            let top = body.y + body.height.saturating_sub(rows) / 2;
            frame.render_widget(big, Rect { y: top, height: rows.min(body.height), ..body });
        }
        None => frame.render_widget(Paragraph::new(Line::styled(number.clone(), accent)).centered(), body),
    }
}

fn render_recent(state: &DisplayState, frame: &mut Frame, area: Rect) {
    let mut spans = vec![Span::from("最近呼叫 ").bold()];
    for call in &state.calls {
        spans.push(Span::from(format!(" {}→{}号窗", call.number, call.window)));
    }
    if state.calls.is_empty() {
        spans.push(Span::from(" 暂无").dim());
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_waiting(state: &DisplayState, frame: &mut Frame, area: Rect) {
    use unicode_width::UnicodeWidthStr;
    let mut lines = vec![vec![Span::from("等候人数 ").bold()]];
    let mut used = "等候人数 ".width();
    if let (Some(center), Some(queue)) = (&state.center, &state.queue) {
        // Whole items per line: a category's name never splits from its count.
        for category in &center.categories {
            let n = queue.waiting(&[category.letter]);
            let item = format!(" {} {} {n}人 ", category.letter, category.name);
            if used + item.width() > usize::from(area.width) && used > "等候人数 ".width() {
                lines.push(vec![Span::from(" ".repeat("等候人数 ".width()))]);
                used = "等候人数 ".width();
            }
            used += item.width();
            if let Some(line) = lines.last_mut() {
                line.push(Span::from(item));
            }
        }
    }
    let lines: Vec<Line> = lines.into_iter().map(Line::from).collect();
    frame.render_widget(Paragraph::new(lines), area);
}

fn render_footer(state: &DisplayState, frame: &mut Frame, area: Rect) {
    let rate = match &state.satisfaction {
        Some(s) => match s.rate_label() {
            Some(rate) => format!("今日好差评：满意率 {rate}（评价 {} 次）", s.rated),
            None => "今日好差评：暂无评价".to_owned(),
        },
        None => String::new(),
    };
    let link = match &state.link {
        DisplayLink::Online => Span::from(""),
        DisplayLink::Connecting => Span::from("  正在连接…").dim(),
        DisplayLink::Lost(_) => Span::styled("  与服务器断开，正在重连…", Style::new().fg(Color::Red)),
        DisplayLink::Stopped(why) => Span::styled(format!("  {why}"), Style::new().fg(Color::Red)),
    };
    frame.render_widget(Paragraph::new(Line::from(vec![Span::from(rate), link])), area);
}
