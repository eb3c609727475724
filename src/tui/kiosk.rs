//! The ticket kiosk (自助取号机): state (pure) and rendering. Big category choices (keys 1-9 or
//! arrows and Enter, so a numeric keypad works), then the green channel, then the slip.

use chrono::{DateTime, TimeDelta, Utc};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use crate::api::CenterInfo;
use crate::api::queue::{CheckInBooking, IssueTicket};
use crate::domain::ticket::GreenReason;
use crate::domain::ticket::Ticket;

/// How long the slip stays on screen.
const SLIP_SHOWN: TimeDelta = TimeDelta::seconds(15);
/// A half-made choice nobody finishes goes back to the start.
const IDLE: TimeDelta = TimeDelta::seconds(60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KioskPhase {
    Choose,
    /// 普通 (0) or one of the green channel's reasons.
    Green {
        category: char,
        since: DateTime<Utc>,
    },
    /// 预约签到: the booking code or the phone number given, typed on the keypad.
    CheckIn {
        typed: String,
        since: DateTime<Utc>,
    },
    Issuing,
    Slip {
        text: String,
        until: DateTime<Utc>,
    },
}

#[derive(Debug, Clone)]
pub struct KioskState {
    pub center: Option<CenterInfo>,
    pub selected: usize,
    pub green_selected: usize,
    pub phase: KioskPhase,
    pub message: Option<String>,
    pub now: DateTime<Utc>,
    /// A check-in to send, once typed (taken by the event loop).
    pub check_in: Option<CheckInBooking>,
}

/// Digits a phone number has at most: what the check-in screen accepts.
const MAX_TYPED: usize = 12;

/// What the check-in screen shows of what was typed: a code as it is, a phone number with its
/// middle hidden from whoever stands behind.
pub fn typed_masked(typed: &str) -> String {
    if typed.len() <= crate::domain::appointment::CODE_LEN + 1 {
        return typed.to_owned();
    }
    typed.chars().enumerate().map(|(i, c)| if (3..typed.len() - 4).contains(&i) { '*' } else { c }).collect()
}

/// The slip of a checked-in appointment: its number, that it was checked in, and when it is called.
pub fn checked_in_text(ticket: &Ticket) -> String {
    let hm = |t| crate::domain::time::to_china(t).format("%H:%M").to_string();
    let mut text = format!("预约签到成功\n\n    {}\n\n", ticket.number);
    match &ticket.appointment {
        Some(a) if crate::domain::queue::slot_held(ticket).is_some() => {
            text.push_str(&format!(
                "预约时段 {}-{}\n在预约时段内优先叫号，请留意叫号屏",
                hm(a.slot_start),
                hm(a.slot_end)
            ));
        }
        Some(a) => text.push_str(&format!(
            "预约时段 {}-{} 已过，按到达顺序排队，请留意叫号屏",
            hm(a.slot_start),
            hm(a.slot_end)
        )),
        None => text.push_str("请留意叫号屏"),
    }
    text
}

/// The green channel's choices after 普通取号.
fn green_options() -> Vec<(String, Option<GreenReason>)> {
    let mut options = vec![("普通取号".to_owned(), None)];
    options.extend(GreenReason::ALL.iter().map(|r| (format!("绿色通道：{}", r.label()), Some(*r))));
    options
}

impl KioskState {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            center: None,
            selected: 0,
            green_selected: 0,
            phase: KioskPhase::Choose,
            message: None,
            now,
            check_in: None,
        }
    }

    fn categories(&self) -> usize {
        self.center.as_ref().map_or(0, |c| c.categories.len().min(9))
    }

    /// A key; returns the ticket to issue once the choice is complete.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<IssueTicket> {
        match self.phase.clone() {
            KioskPhase::Issuing => None,
            KioskPhase::Slip { .. } => {
                self.phase = KioskPhase::Choose;
                None
            }
            KioskPhase::Choose => {
                if key.code == KeyCode::Char('0') {
                    self.message = None;
                    self.phase = KioskPhase::CheckIn { typed: String::new(), since: self.now };
                    return None;
                }
                let n = self.categories();
                if n == 0 {
                    return None;
                }
                let chosen = match key.code {
                    KeyCode::Char(c) => {
                        c.to_digit(10).map(|d| d as usize).filter(|d| (1..=n).contains(d)).map(|d| d - 1)
                    }
                    KeyCode::Enter => Some(self.selected),
                    KeyCode::Up | KeyCode::Left => {
                        self.selected = self.selected.saturating_sub(1);
                        None
                    }
                    KeyCode::Down | KeyCode::Right => {
                        self.selected = (self.selected + 1).min(n - 1);
                        None
                    }
                    _ => None,
                }?;
                self.selected = chosen;
                let category = self.center.as_ref()?.categories.get(chosen)?.letter;
                self.message = None;
                self.green_selected = 0;
                self.phase = KioskPhase::Green { category, since: self.now };
                None
            }
            KioskPhase::CheckIn { mut typed, .. } => {
                match key.code {
                    KeyCode::Char(c) if c.is_ascii_digit() && typed.len() < MAX_TYPED => typed.push(c),
                    KeyCode::Backspace if !typed.is_empty() => {
                        typed.pop();
                    }
                    KeyCode::Esc | KeyCode::Backspace | KeyCode::Char('.') => {
                        self.phase = KioskPhase::Choose;
                        return None;
                    }
                    KeyCode::Enter if !typed.is_empty() => {
                        let code = typed.len() == crate::domain::appointment::CODE_LEN;
                        self.check_in = Some(if code {
                            CheckInBooking { code: Some(typed), phone: None }
                        } else {
                            CheckInBooking { code: None, phone: Some(typed) }
                        });
                        self.phase = KioskPhase::Issuing;
                        return None;
                    }
                    _ => {}
                }
                self.phase = KioskPhase::CheckIn { typed, since: self.now };
                None
            }
            KioskPhase::Green { category, .. } => {
                let options = green_options();
                let chosen = match key.code {
                    KeyCode::Char(c) => {
                        c.to_digit(10).map(|d| d as usize).filter(|d| (1..=options.len()).contains(d)).map(|d| d - 1)
                    }
                    KeyCode::Enter => Some(self.green_selected),
                    KeyCode::Up | KeyCode::Left => {
                        self.green_selected = self.green_selected.saturating_sub(1);
                        None
                    }
                    KeyCode::Down | KeyCode::Right => {
                        self.green_selected = (self.green_selected + 1).min(options.len() - 1);
                        None
                    }
                    KeyCode::Esc | KeyCode::Backspace => {
                        self.phase = KioskPhase::Choose;
                        None
                    }
                    _ => None,
                }?;
                self.phase = KioskPhase::Issuing;
                Some(IssueTicket { green: options.get(chosen)?.1, ..IssueTicket::new(category) })
            }
        }
    }

    /// The slip came back.
    pub fn on_issued(&mut self, text: String, printed: Option<String>) {
        self.phase = KioskPhase::Slip { text, until: self.now + SLIP_SHOWN };
        self.message = printed;
    }

    /// Issuing failed: back to the start, saying why.
    pub fn on_refused(&mut self, message: String) {
        self.phase = KioskPhase::Choose;
        self.message = Some(message);
    }

    pub fn tick(&mut self, now: DateTime<Utc>) {
        self.now = now;
        match &self.phase {
            KioskPhase::Slip { until, .. } if now >= *until => self.phase = KioskPhase::Choose,
            KioskPhase::Green { since, .. } | KioskPhase::CheckIn { since, .. } if now - *since > IDLE => {
                self.phase = KioskPhase::Choose;
            }
            _ => {}
        }
    }
}

fn choice_zero(ready: bool) -> Line<'static> {
    if ready { Line::from("  0   已预约？按 0 签到") } else { Line::from("") }
}

fn choice(i: usize, text: String, selected: bool) -> Line<'static> {
    let line = Line::from(format!("  {}   {text}", i + 1));
    if selected { line.style(Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)) } else { line }
}

pub fn render(state: &KioskState, frame: &mut Frame) {
    let area = frame.area();
    let [top, body, footer] =
        Layout::vertical([Constraint::Length(2), Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let name = state.center.as_ref().map_or("便民服务中心", |c| c.center.name.as_str());
    frame.render_widget(Paragraph::new(Line::from(format!("{name}  自助取号")).bold().centered()), top);
    let (title, lines) = match &state.phase {
        KioskPhase::Choose => {
            let lines = match &state.center {
                Some(c) => c
                    .categories
                    .iter()
                    .take(9)
                    .enumerate()
                    .map(|(i, cat)| choice(i, format!("{}  {}", cat.letter, cat.name), i == state.selected))
                    .collect(),
                None => vec![Line::from("正在连接服务器…".dim())],
            };
            let mut lines = lines;
            lines.push(Line::from(""));
            lines.push(choice_zero(state.center.is_some()));
            (" 请选择办理的业务（按数字键，或用方向键选择后按确认） ", lines)
        }
        KioskPhase::Green { category, .. } => {
            let lines = green_options()
                .into_iter()
                .enumerate()
                .map(|(i, (text, _))| choice(i, text, i == state.green_selected))
                .collect();
            let _ = category;
            (" 是否走绿色通道（老年人、残疾人、孕妇、军人等优先办理） ", lines)
        }
        KioskPhase::CheckIn { typed, .. } => {
            let lines = vec![
                Line::from("请输入 6 位预约码，或预约时留的手机号，按确认"),
                Line::from(""),
                Line::from(format!("    {}_", typed_masked(typed))).bold(),
                Line::from(""),
                Line::from("按退格键删除；未输入时按退格键返回".dim()),
                Line::from(
                    format!(
                        "可在预约时段开始前 {} 分钟内签到",
                        crate::domain::appointment::CHECK_IN_EARLY.num_minutes()
                    )
                    .dim(),
                ),
            ];
            (" 预约签到 ", lines)
        }
        KioskPhase::Issuing => (" 正在取号 ", vec![Line::from("请稍候…")]),
        KioskPhase::Slip { text, .. } => (" 请取走小票 ", text.lines().map(|l| Line::from(l.to_owned())).collect()),
    };
    frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(title)), body);
    if let Some(m) = &state.message {
        frame.render_widget(Paragraph::new(Line::styled(m.clone(), Style::new().fg(Color::Yellow))), footer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn kiosk() -> KioskState {
        let seed = crate::server::seed::bundled_seed().unwrap();
        let mut k = KioskState::new("2026-11-30T01:30:00Z".parse().unwrap());
        k.center = Some(CenterInfo {
            center: seed.center,
            windows: seed.windows,
            categories: seed.categories,
            staff: Vec::new(),
        });
        k
    }

    #[test]
    fn a_digit_for_the_category_and_one_for_the_green_channel_issue_a_ticket() {
        let mut k = kiosk();
        assert_eq!(k.on_key(key(KeyCode::Char('3'))), None);
        assert!(matches!(k.phase, KioskPhase::Green { category: 'C', .. }));
        let request = k.on_key(key(KeyCode::Char('2'))).unwrap();
        assert_eq!((request.category, request.green), ('C', Some(GreenReason::Elderly)));
        assert_eq!(k.phase, KioskPhase::Issuing);
        assert_eq!(k.on_key(key(KeyCode::Char('1'))), None, "one ticket at a time");
    }

    #[test]
    fn zero_opens_the_check_in_and_digits_make_a_code_or_a_phone_number() {
        let mut k = kiosk();
        k.on_key(key(KeyCode::Char('0')));
        for c in "4827x19".chars() {
            k.on_key(key(KeyCode::Char(c)));
        }
        k.on_key(key(KeyCode::Backspace));
        k.on_key(key(KeyCode::Char('5')));
        assert!(matches!(&k.phase, KioskPhase::CheckIn { typed, .. } if typed == "482715"));
        assert_eq!(k.on_key(key(KeyCode::Enter)), None);
        assert_eq!(k.check_in.take(), Some(CheckInBooking { code: Some("482715".into()), phone: None }));
        assert_eq!(k.phase, KioskPhase::Issuing);
        let mut k = kiosk();
        k.on_key(key(KeyCode::Char('0')));
        for c in "13800138000".chars() {
            k.on_key(key(KeyCode::Char(c)));
        }
        assert_eq!(typed_masked("13800138000"), "138****8000");
        k.on_key(key(KeyCode::Enter));
        assert_eq!(k.check_in, Some(CheckInBooking { code: None, phone: Some("13800138000".into()) }));
        // Backspace on nothing goes back.
        let mut k = kiosk();
        k.on_key(key(KeyCode::Char('0')));
        k.on_key(key(KeyCode::Backspace));
        assert_eq!(k.phase, KioskPhase::Choose);
    }

    #[test]
    fn arrows_and_enter_work_as_on_a_keypad_and_a_digit_out_of_range_does_nothing() {
        let mut k = kiosk();
        assert_eq!(k.on_key(key(KeyCode::Char('9'))), None);
        assert_eq!(k.phase, KioskPhase::Choose, "no ninth category");
        k.on_key(key(KeyCode::Down));
        k.on_key(key(KeyCode::Enter));
        let request = k.on_key(key(KeyCode::Enter)).unwrap();
        assert_eq!((request.category, request.green), ('B', None));
    }
}
