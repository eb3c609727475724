//! 当前叫号: the ticket at this window and the queue behind it. (Calling and serving arrive with
//! the queue work; this shows what the server holds.)

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Stylize;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{hint, waiting_line};
use crate::tui::app::{App, Link};

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
    let [ticket, details] = Layout::vertical([Constraint::Length(3), Constraint::Fill(1)]).areas(area);
    let big = match &overview.current_ticket {
        Some(t) => vec![Line::from(Span::raw(t.number.to_string()).bold().cyan()), Line::from(t.status.label())],
        None => vec![Line::from("当前无号").bold(), Line::from("等待叫号").dark_gray()],
    };
    frame.render_widget(Paragraph::new(big).centered(), ticket);
    let categories: String = overview.window.categories.iter().map(char::to_string).collect::<Vec<_>>().join(" ");
    let lines = vec![
        Line::from(vec![Span::raw("窗口  ").dark_gray(), Span::raw(overview.window.name.clone())]),
        Line::from(vec![Span::raw("叫号  ").dark_gray(), Span::raw(format!("{categories} 类"))]),
        Line::from(vec![Span::raw("等候  ").dark_gray(), Span::raw(format!("{} 人", overview.waiting)).bold()]),
        Line::from(vec![
            Span::raw("登记  ").dark_gray(),
            Span::raw(format!("今日来访 {} 人", overview.walk_ins_today)),
        ]),
        Line::from(""),
        match &app.link {
            // Calling from the shared queue needs the server; the paper fallback does not.
            Link::Offline(_) => Line::from("离线：叫号暂不可用，按 w 登记纸质号").yellow(),
            _ => Line::from("按 w 登记来访或纸质号").dark_gray(),
        },
    ];
    frame.render_widget(Paragraph::new(lines), details);
}
