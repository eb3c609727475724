//! The four panes. Each module defines its pane's own state (owned by the
//! [`App`](super::app::App), one field per pane) and a `render` that draws the pane's inside
//! from the app; none does I/O.

pub mod board;
pub mod checklist;
pub mod guides;
pub mod handover;
pub mod queue;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Stylize;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

/// A dim explanatory paragraph, for panes with nothing (yet) to show.
fn hint(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>) {
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).dark_gray(), area);
}

/// What a pane says before the server has answered.
fn waiting_line(app: &super::app::App) -> Line<'static> {
    match &app.link {
        super::app::Link::Offline(_) => Line::from("离线，暂无本机缓存数据"),
        _ => Line::from("正在从服务器读取"),
    }
}
