//! 办事指南: the service-guide catalogue. (Search arrives with the catalogue work.)

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Style, Stylize};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Row, Table, TableState};

use super::{hint, waiting_line};
use crate::api::GuideSummary;
use crate::tui::app::App;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    if app.guides.is_empty() {
        hint(frame, area, vec![waiting_line(app)]);
        return;
    }
    let [count, list] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(format!("共 {} 项，第 {} 项", app.guides.len(), app.guide_selected + 1))).dark_gray(),
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

fn row(g: &GuideSummary, wide: bool) -> Row<'static> {
    let limit =
        if g.promised_limit_days == 0 { "即办".to_owned() } else { format!("{}个工作日", g.promised_limit_days) };
    if wide { Row::new([g.name.clone(), g.department.clone(), limit]) } else { Row::new([g.name.clone(), limit]) }
}
