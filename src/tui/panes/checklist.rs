//! 一次性告知: the window's open cases and, while one is worked, its material checklist.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Stylize;
use ratatui::text::Line;
use ratatui::widgets::{Row, Table};

use super::{hint, waiting_line};
use crate::domain::text::truncate;
use crate::tui::app::App;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(overview) = &app.overview else {
        hint(frame, area, vec![waiting_line(app)]);
        return;
    };
    if overview.open_cases.is_empty() {
        hint(
            frame,
            area,
            vec![
                Line::from("本窗口暂无在办件"),
                Line::from(""),
                Line::from("叫号后在办事指南中选定事项和情形，即按材料清单逐项核验，缺什么一次性告知。"),
            ],
        );
        return;
    }
    let name_width = usize::from(area.width.saturating_sub(16));
    let rows = overview.open_cases.iter().map(|c| {
        let deadline = c.deadline.map_or_else(|| "-".to_owned(), |d| d.date.format("%m-%d").to_string());
        Row::new([truncate(&c.guide_name, name_width), c.status.label().to_owned(), deadline])
    });
    let table = Table::new(rows, [Constraint::Fill(1), Constraint::Length(6), Constraint::Length(6)])
        .header(Row::new(["在办事项", "状态", "时限"]).bold());
    frame.render_widget(table, area);
}
