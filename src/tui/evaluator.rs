//! The screen facing the applicant at a window (窗口双屏 + 评价器): state (pure) and rendering.
//! It shows who serves, the ticket and its step; when the server asks (the clerk invited it, or
//! the ticket was just finished) it asks for the rating in the five levels of GB/T 39734, with
//! an optional reason for the two bad ones, and gives up quietly when nobody answers.

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use uuid::Uuid;

use crate::api::hall::{AskRating, Facing, RateTicket};
use crate::domain::rating::{BAD_REASONS, RatingLevel};

/// How long a question waits for the applicant before the screen goes back quietly.
pub const ANSWER_WITHIN: TimeDelta = TimeDelta::seconds(60);
/// How long the thanks stay.
const THANKS_FOR: TimeDelta = TimeDelta::seconds(5);

/// The levels top to bottom, with the keypad digit of each (the domain's: 5 is the best).
pub const LEVELS: [(u32, RatingLevel); 5] = [
    (5, RatingLevel::VerySatisfied),
    (4, RatingLevel::Satisfied),
    (3, RatingLevel::BasicallySatisfied),
    (2, RatingLevel::Dissatisfied),
    (1, RatingLevel::VeryDissatisfied),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Showing,
    Asking { ask: AskRating, since: DateTime<Utc>, selected: usize },
    Reason { ask: AskRating, level: RatingLevel, since: DateTime<Utc>, selected: usize },
    Thanks { until: DateTime<Utc> },
}

#[derive(Debug, Clone)]
pub struct EvaluatorState {
    pub window: u32,
    pub facing: Option<Facing>,
    pub phase: Phase,
    /// Whether the last look at the server succeeded.
    pub online: bool,
    /// Ratings kept on this PC, not yet acknowledged by the server.
    pub pending: usize,
    /// A refusal to show (the token, the window).
    pub problem: Option<String>,
    /// Tickets asked about here already (rated or let go): never asked twice.
    asked: HashSet<Uuid>,
    pub now: DateTime<Utc>,
}

impl EvaluatorState {
    pub fn new(window: u32, now: DateTime<Utc>) -> Self {
        Self {
            window,
            facing: None,
            phase: Phase::Showing,
            online: false,
            pending: 0,
            problem: None,
            asked: HashSet::new(),
            now,
        }
    }

    /// What the server says the applicant sees now; starts asking when it asks for a ticket
    /// not asked about here yet.
    pub fn on_facing(&mut self, facing: Facing) {
        self.online = true;
        self.problem = None;
        if self.phase == Phase::Showing
            && let Some(ask) = &facing.ask
            && !self.asked.contains(&ask.ticket_id)
        {
            self.asked.insert(ask.ticket_id);
            self.phase = Phase::Asking { ask: ask.clone(), since: self.now, selected: 0 };
        }
        self.facing = Some(facing);
    }

    /// The clock: a question nobody answers, and the thanks, go away by themselves.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        self.now = now;
        match &self.phase {
            Phase::Asking { since, .. } | Phase::Reason { since, .. } if now - *since > ANSWER_WITHIN => {
                self.phase = Phase::Showing;
            }
            Phase::Thanks { until } if now >= *until => self.phase = Phase::Showing,
            _ => {}
        }
    }

    /// A key: digits or arrows and Enter choose; Esc lets the question go. Returns the rating
    /// to keep and send once it is complete.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<RateTicket> {
        let now = self.now;
        match self.phase.clone() {
            Phase::Showing | Phase::Thanks { .. } => None,
            Phase::Asking { ask, since, selected } => {
                let chosen = match key.code {
                    KeyCode::Char(c) => c.to_digit(10).and_then(RatingLevel::from_digit),
                    KeyCode::Enter => Some(LEVELS[selected].1),
                    KeyCode::Up => {
                        self.phase = Phase::Asking { ask, since, selected: selected.saturating_sub(1) };
                        return None;
                    }
                    KeyCode::Down => {
                        self.phase = Phase::Asking { ask, since, selected: (selected + 1).min(LEVELS.len() - 1) };
                        return None;
                    }
                    KeyCode::Esc => {
                        self.phase = Phase::Showing;
                        return None;
                    }
                    _ => None,
                }?;
                if chosen.is_bad() {
                    self.phase = Phase::Reason { ask, level: chosen, since: now, selected: 0 };
                    return None;
                }
                Some(self.rated(&ask, chosen, String::new()))
            }
            Phase::Reason { ask, level, since, selected } => {
                // 0 or Esc: no reason; 1-5 a reason; arrows and Enter too.
                let reason = match key.code {
                    KeyCode::Char('0') | KeyCode::Esc => Some(String::new()),
                    KeyCode::Char(c) => {
                        let n = c.to_digit(10)? as usize;
                        BAD_REASONS.get(n.checked_sub(1)?).map(|r| (*r).to_owned())
                    }
                    KeyCode::Enter => Some(BAD_REASONS.get(selected).map(|r| (*r).to_owned()).unwrap_or_default()),
                    KeyCode::Up => {
                        self.phase = Phase::Reason { ask, level, since, selected: selected.saturating_sub(1) };
                        return None;
                    }
                    KeyCode::Down => {
                        let selected = (selected + 1).min(BAD_REASONS.len() - 1);
                        self.phase = Phase::Reason { ask, level, since, selected };
                        return None;
                    }
                    _ => None,
                }?;
                Some(self.rated(&ask, level, reason))
            }
        }
    }

    fn rated(&mut self, ask: &AskRating, level: RatingLevel, reason: String) -> RateTicket {
        self.phase = Phase::Thanks { until: self.now + THANKS_FOR };
        RateTicket { id: Uuid::now_v7(), ticket_id: ask.ticket_id, level, reason }
    }
}

/// Draws the evaluator on the whole frame.
pub fn render(state: &EvaluatorState, frame: &mut Frame) {
    let area = frame.area();
    let [top, body, footer] =
        Layout::vertical([Constraint::Length(9), Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let mut lines = Vec::new();
    let window_name = state.facing.as_ref().map(|f| f.window_name.clone()).unwrap_or_default();
    lines.push(Line::from(format!("{} 号窗口  {window_name}", state.window)).bold().centered());
    lines.push(Line::from(""));
    match state.facing.as_ref().and_then(|f| f.clerk.as_ref()) {
        Some(c) => {
            let covering = if c.covering { "（B岗代办）" } else { "" };
            lines.push(Line::from(format!("为您服务：{}  工号 {}  {}{covering}", c.name, c.id, c.post)));
        }
        None if state.facing.is_some() => lines.push(Line::from("本窗口暂停服务")),
        None => lines.push(Line::from("正在连接服务器…".dim())),
    }
    if let Some(t) = state.facing.as_ref().and_then(|f| f.ticket.as_ref()) {
        lines.push(Line::from(vec![
            Span::from("当前号码："),
            Span::styled(t.number.to_string(), Style::new().fg(Color::Green).add_modifier(Modifier::BOLD)),
            Span::from(format!("  {}", t.status.label())),
        ]));
    }
    if let Some(step) = state.facing.as_ref().and_then(|f| f.step.as_ref()) {
        let mut text = format!("办理进度：{}", step.label);
        if !step.service.is_empty() {
            text = format!("办理事项：{}    {text}", step.service);
        }
        if let Some(date) = step.promised {
            text.push_str(&format!("，承诺办结日期 {date}"));
        }
        lines.push(Line::from(text));
        if !step.missing.is_empty() {
            lines.push(Line::from(format!("还需补齐：{}", step.missing.join("、"))).fg(Color::Yellow));
        }
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), top);

    let question = match &state.phase {
        Phase::Showing => None,
        Phase::Asking { ask, selected, .. } => {
            let mut lines =
                vec![Line::from(format!("请对 {} 号的服务进行评价（按数字键）", ask.number)).bold(), Line::from("")];
            for (i, (digit, level)) in LEVELS.iter().enumerate() {
                let line = Line::from(format!("  {digit}  {}", level.label()));
                lines.push(if i == *selected { line.reversed() } else { line });
            }
            Some(lines)
        }
        Phase::Reason { level, selected, .. } => {
            let mut lines = vec![
                Line::from(format!("您选择了“{}”，请告诉我们原因（可不填，按 0 跳过）", level.label())).bold(),
                Line::from(""),
            ];
            for (i, reason) in BAD_REASONS.iter().enumerate() {
                let line = Line::from(format!("  {}  {reason}", i + 1));
                lines.push(if i == *selected { line.reversed() } else { line });
            }
            Some(lines)
        }
        Phase::Thanks { .. } => Some(vec![Line::from("感谢您的评价！").bold().centered()]),
    };
    if let Some(lines) = question {
        frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(" 好差评 ")), body);
    }
    let mut status = Vec::new();
    if let Some(p) = &state.problem {
        status.push(Span::styled(p.clone(), Style::new().fg(Color::Red)));
    } else if !state.online {
        status.push(Span::styled("离线", Style::new().fg(Color::Red)));
    }
    if state.pending > 0 {
        status.push(Span::from(format!("  待上传评价 {}", state.pending)));
    }
    frame.render_widget(Paragraph::new(Line::from(status)), footer);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::hall::{FacingClerk, FacingTicket};
    use crate::domain::ticket::TicketStatus;
    use ratatui::crossterm::event::KeyModifiers;

    fn at() -> DateTime<Utc> {
        "2026-03-02T01:00:00Z".parse().unwrap()
    }

    fn facing(ask: Option<Uuid>) -> Facing {
        Facing {
            window: 1,
            window_name: "综合受理一号窗".into(),
            clerk: Some(FacingClerk { id: "s002".into(), name: "李强".into(), post: "B岗".into(), covering: true }),
            ticket: Some(FacingTicket { number: "A001".parse().unwrap(), status: TicketStatus::Serving }),
            step: None,
            ask: ask.map(|ticket_id| AskRating { ticket_id, number: "A001".parse().unwrap() }),
        }
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn asked_once_rated_with_a_digit_and_a_reason_only_for_the_bad_levels() {
        let ticket = Uuid::now_v7();
        let mut s = EvaluatorState::new(1, at());
        s.on_facing(facing(None));
        assert_eq!(s.phase, Phase::Showing);
        assert_eq!(s.on_key(key(KeyCode::Char('5'))), None, "nothing to rate");
        s.on_facing(facing(Some(ticket)));
        assert!(matches!(s.phase, Phase::Asking { .. }));
        let rated = s.on_key(key(KeyCode::Char('5'))).unwrap();
        assert_eq!((rated.ticket_id, rated.level, rated.reason.as_str()), (ticket, RatingLevel::VerySatisfied, ""));
        assert!(matches!(s.phase, Phase::Thanks { .. }));
        s.tick(at() + TimeDelta::seconds(10));
        s.on_facing(facing(Some(ticket)));
        assert_eq!(s.phase, Phase::Showing, "never asked twice about one ticket");

        let second = Uuid::now_v7();
        s.on_facing(facing(Some(second)));
        assert_eq!(s.on_key(key(KeyCode::Char('1'))), None, "a bad level asks why");
        let rated = s.on_key(key(KeyCode::Char('1'))).unwrap();
        assert_eq!((rated.level, rated.reason.as_str()), (RatingLevel::VeryDissatisfied, "等候时间长"));
    }

    #[test]
    fn a_question_nobody_answers_goes_away_quietly() {
        let mut s = EvaluatorState::new(1, at());
        s.on_facing(facing(Some(Uuid::now_v7())));
        s.tick(at() + ANSWER_WITHIN + TimeDelta::seconds(1));
        assert_eq!(s.phase, Phase::Showing);
        assert_eq!(s.on_key(key(KeyCode::Char('5'))), None);
    }
}
