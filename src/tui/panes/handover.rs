//! AB岗交接: who holds the window's A and B posts and who is on duty now. (Writing and
//! acknowledging handovers arrives with the handover work.)

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Stylize;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{hint, waiting_line};
use crate::domain::center::Post;
use crate::domain::handover::DutyState;
use crate::tui::app::App;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(overview) = &app.overview else {
        hint(frame, area, vec![waiting_line(app)]);
        return;
    };
    let acting = overview.duty.acting_post();
    let holder = |post: Post, name: &str| {
        let on_duty =
            if acting == Some(post) { Span::raw(" 在岗").green() } else { Span::raw(" 不在岗").dark_gray() };
        Line::from(vec![
            Span::raw(format!("{}  ", post.label())).dark_gray(),
            Span::raw(name.to_owned()).bold(),
            on_duty,
        ])
    };
    let mut lines = vec![
        holder(Post::A, &overview.a_holder.name),
        holder(Post::B, &overview.b_holder.name),
        Line::from(vec![Span::raw("状态  ").dark_gray(), Span::raw(overview.duty.label())]),
    ];
    if let DutyState::BCovering { reason, .. } = &overview.duty {
        lines.push(Line::from(format!("A岗离岗原因：{}", reason.label())));
    }
    if let Some((_, post)) = app.window_post() {
        lines.push(Line::from(""));
        lines.push(Line::from(format!("你是本窗口{}", post.label())).cyan());
    }
    frame.render_widget(Paragraph::new(lines), area);
}
