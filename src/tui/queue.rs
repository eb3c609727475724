//! The window's queue keys: call next, recall, start and finish, no-show (confirmed first),
//! transfer, park and call back, call a number, pause and resume. Calling is server-owned: with
//! the server gone the keys say so and point to the paper fallback.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{App, AppCommand, Link, Modal, Pending, QueueOp, Reaction};
use super::form::{FieldId, Form, Purpose, Values};
use crate::config::{KeyName, QueueKey};
use crate::domain::text::clean_line;
use crate::domain::ticket::{QueueAction, Ticket, TicketNumber, TicketStatus};

fn matches(key: &KeyEvent, name: KeyName) -> bool {
    match name {
        KeyName::F(n) => key.code == KeyCode::F(n),
        KeyName::Char(c) => {
            key.code == KeyCode::Char(c) && !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        }
    }
}

impl App {
    /// The ticket called to or served at this window.
    pub fn ticket_here(&self) -> Option<&Ticket> {
        let (window, _) = self.window_post()?;
        self.queue_pane.snapshot.as_ref()?.at_window(window)
    }

    /// Tickets parked (挂起) at this window.
    pub fn parked_here(&self) -> Vec<&Ticket> {
        let Some((window, _)) = self.window_post() else { return Vec::new() };
        let Some(queue) = &self.queue_pane.snapshot else { return Vec::new() };
        queue.tickets.iter().filter(|t| t.status == TicketStatus::Parked && t.window == Some(window)).collect()
    }

    /// Whether the screen shows a running timer (a ticket called or in service here), so the
    /// clock must tick every second rather than every minute.
    pub fn needs_seconds(&self) -> bool {
        self.ticket_here().is_some()
    }

    /// The queue keys (configurable under `[keys]`): function keys work from every pane,
    /// characters only in 当前叫号 (elsewhere they are text or other commands). Not while typing
    /// into a form or the search box: the caller handles those first.
    pub(super) fn on_queue_hotkey(&mut self, key: KeyEvent) -> Option<Reaction> {
        let in_pane = self.focus == super::app::Pane::Queue && !self.desk;
        let which = self
            .queue_pane
            .keys
            .0
            .iter()
            .find(|(_, name)| matches(&key, *name) && (matches!(name, KeyName::F(_)) || in_pane))
            .map(|(which, _)| *which)?;
        Some(self.queue_key(which))
    }

    fn queue_key(&mut self, which: QueueKey) -> Reaction {
        let op = match which {
            QueueKey::CallNext => QueueOp::CallNext,
            QueueKey::Recall => QueueOp::Recall,
            QueueKey::Serve => match self.ticket_here() {
                Some(t) if t.status == TicketStatus::Serving => {
                    // Finishing closes the ticket for good: ask first.
                    let question = format!("确认 {} 办结？（y 确认 / n 取消）", t.number);
                    return self.ask(question, Pending::Queue(QueueOp::Finish));
                }
                _ => QueueOp::Start,
            },
            QueueKey::NoShow => {
                let Some(ticket) = self.ticket_here() else {
                    self.message = Some("本窗口当前没有叫到的号".into());
                    return Reaction::redraw();
                };
                // Marking 过号 costs a citizen their place: ask first.
                let question = format!("确认 {} 过号？（y 确认 / n 取消）", ticket.number);
                return self.ask(question, Pending::Queue(QueueOp::NoShow));
            }
            QueueKey::Park => QueueOp::Park,
            // Serving someone without a ticket goes ahead of everyone waiting: ask first.
            QueueKey::WalkIn => {
                let question = "确认不取号直接办理？将排在等候群众之前（y 确认 / n 取消）".to_owned();
                return self.ask(question, Pending::Queue(QueueOp::WalkIn));
            }
            QueueKey::CallBack => {
                // Call back the ticket parked longest ago.
                let Some(number) = self.parked_here().first().map(|t| t.number) else {
                    self.message = Some("本窗口没有挂起的号".into());
                    return Reaction::redraw();
                };
                QueueOp::CallBack(number)
            }
            QueueKey::ReturnToLine => match self.latest_no_show() {
                Some(number) => QueueOp::Return(number),
                None => {
                    self.message = Some("本窗口没有过号的号".into());
                    return Reaction::redraw();
                }
            },
            QueueKey::Pause => {
                let paused = self.window_post().and_then(|(w, _)| {
                    self.queue_pane
                        .snapshot
                        .as_ref()?
                        .windows
                        .iter()
                        .find(|s| s.window == w)
                        .map(|s| s.paused.is_some())
                });
                if paused == Some(true) {
                    QueueOp::Resume
                } else {
                    return self.open_form(Form::pause());
                }
            }
            QueueKey::Transfer => return self.open_form(Form::transfer()),
            QueueKey::CallNumber => return self.open_form(Form::call_number()),
            QueueKey::CheckIn => return self.open_form(Form::check_in()),
            QueueKey::Rating => QueueOp::InviteRating,
        };
        self.queue_command(op)
    }

    /// The latest no-show of this window: a no-show leaves the window, its history says where
    /// it was missed.
    fn latest_no_show(&self) -> Option<TicketNumber> {
        let (window, _) = self.window_post()?;
        self.queue_pane
            .snapshot
            .as_ref()?
            .tickets
            .iter()
            .filter(|t| {
                t.status == TicketStatus::NoShow
                    && t.history.iter().rev().find(|e| e.action == QueueAction::NoShow).and_then(|e| e.window)
                        == Some(window)
            })
            .max_by_key(|t| t.history.last().map(|e| e.at))
            .map(|t| t.number)
    }

    /// Sends a queue operation, or explains why it cannot go now.
    pub(super) fn queue_command(&mut self, op: QueueOp) -> Reaction {
        // The desk checks in appointments; everything else is a window's.
        let desk_may = self.desk && matches!(op, QueueOp::CheckIn(_) | QueueOp::CheckInBooking(_));
        if self.window_post().is_none() && !desk_may {
            self.message = Some("本账号不在任何窗口任职，不能叫号".into());
            return Reaction::redraw();
        }
        if matches!(self.link, Link::Offline(_)) {
            self.message = Some("离线：叫号需要连接服务器，请按 w 登记纸质号或来访".into());
            return Reaction::redraw();
        }
        // A clerk who handed the window over (不在岗) does not call: the duty rule is the
        // domain's (`DutyState::acting_staff`); the server holds it too.
        let calls_someone = matches!(
            op,
            QueueOp::CallNext | QueueOp::CallNumber(_) | QueueOp::CallBack(_) | QueueOp::Recall | QueueOp::WalkIn
        );
        if calls_someone
            && let (Some(me), Some(overview)) = (&self.me, &self.overview)
            && let Some(acting) = overview.duty.acting_staff(&overview.window)
            && acting != me.staff.id
        {
            let name = [&overview.a_holder, &overview.b_holder]
                .into_iter()
                .find(|s| s.id == acting)
                .map_or(acting.to_owned(), |s| s.name.clone());
            self.message = Some(format!("您已交接，不在岗：现由 {name}（{}）在岗，不能叫号", overview.duty.label()));
            return Reaction::redraw();
        }
        // Calling someone else ends the work on the last applicant's case at once, before the
        // server answers: the keys typed next must not land on it. It stays in the case list;
        // the new ticket's own case, if it has one, opens when the queue shows the ticket here.
        let calls = matches!(op, QueueOp::CallNext | QueueOp::CallNumber(_) | QueueOp::CallBack(_) | QueueOp::WalkIn);
        if calls && self.case_pane.current.take().is_some() {
            self.case_pane.item_selected = 0;
            return Reaction { redraw: true, commands: vec![AppCommand::Queue(op)] };
        }
        Reaction { redraw: false, commands: vec![AppCommand::Queue(op)] }
    }

    /// Puts a question to the clerk; the step goes only on y (or Enter).
    pub(super) fn ask(&mut self, question: String, step: Pending) -> Reaction {
        self.open(Modal::Confirm { question, pending: step })
    }

    pub(super) fn on_confirm_key(&mut self, key: KeyEvent) -> Reaction {
        let Some(Modal::Confirm { pending: step, .. }) = self.modal.take_if(|m| matches!(m, Modal::Confirm { .. }))
        else {
            return Reaction::default();
        };
        match key.code {
            KeyCode::Char('y' | 'Y') | KeyCode::Enter => {
                let mut outcome = match step {
                    Pending::Queue(op) => self.queue_command(op),
                    Pending::Case(command) => self.confirmed_case_step(command),
                    Pending::Send(command) => {
                        self.message = Some("正在提交…".into());
                        Reaction { redraw: true, commands: vec![command] }
                    }
                };
                outcome.redraw = true;
                outcome
            }
            _ => Reaction::redraw(),
        }
    }

    pub(super) fn submit_queue_form(&mut self, purpose: Purpose, values: &Values) -> Result<Vec<AppCommand>, String> {
        let value = |id: FieldId| clean_line(values.get(id)).trim().to_owned();
        let op = match purpose {
            Purpose::Transfer => {
                let category = value(FieldId::Category).to_uppercase().chars().next();
                if category.is_some_and(|c| !c.is_ascii_uppercase()) {
                    return Err("类别应为一个字母，如 B".into());
                }
                let window = match value(FieldId::Window) {
                    w if w.is_empty() => None,
                    w => Some(w.parse::<u32>().map_err(|_| "窗口应为数字，如 4".to_owned())?),
                };
                if category.is_none() && window.is_none() {
                    return Err("请填写要转到的类别或窗口".into());
                }
                QueueOp::Transfer { category, window }
            }
            Purpose::CallNumber => QueueOp::CallNumber(
                value(FieldId::Number).to_uppercase().parse::<TicketNumber>().map_err(|e| e.message)?,
            ),
            Purpose::CheckIn => {
                // A ticket number (A031), a booking code (6 digits) or the phone number booked with.
                let typed = value(FieldId::Number).trim().to_uppercase();
                if typed.starts_with(|c: char| c.is_ascii_uppercase()) {
                    QueueOp::CheckIn(typed.parse::<TicketNumber>().map_err(|e| e.message)?)
                } else if let Ok(code) = crate::domain::appointment::parse_code(&typed) {
                    QueueOp::CheckInBooking(crate::api::queue::CheckInBooking { code: Some(code), phone: None })
                } else {
                    let phone = crate::domain::applicant::Phone::parse(&typed)
                        .map_err(|_| "请输入排队号（如 A031）、6 位预约码或预约时留的电话".to_owned())?;
                    QueueOp::CheckInBooking(crate::api::queue::CheckInBooking {
                        code: None,
                        phone: Some(phone.expose().to_owned()),
                    })
                }
            }
            Purpose::Pause => {
                let reason = value(FieldId::Reason);
                if reason.is_empty() {
                    return Err("请填写暂停原因".into());
                }
                QueueOp::Pause(reason)
            }
            _ => return Ok(Vec::new()),
        };
        let outcome = self.queue_command(op);
        if outcome.commands.is_empty() {
            return Err(self.message.take().unwrap_or_default());
        }
        Ok(outcome.commands)
    }
}
