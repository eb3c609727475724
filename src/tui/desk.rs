//! The guidance desk (咨询导办, clause 4.2.2): a search-first screen. Staff type the question as
//! the person says it, open the guide beside the results, and record the answer under
//! first-question responsibility (clause 7.6.1): answered, sent to a window, a ticket issued
//! for the service, or referred to the 办不成事 window.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::app::{App, AppCommand, Reaction};
use super::form::{FieldId, Form, Purpose, Values};
use crate::domain::guide::ServiceGuide;
use crate::domain::inquiry::InquiryOutcome;
use crate::domain::text::clean_line;
use crate::domain::ticket::GreenReason;

/// Which way an inquiry ends, chosen by the key pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeskAction {
    Answered,
    SendToWindow,
    IssueTicket,
    CannotGetDone,
    /// No guide answers the question (未找到).
    NotFound,
}

impl DeskAction {
    pub const KEYS: [(u8, DeskAction, &'static str); 5] = [
        (5, DeskAction::NotFound, "未找到"),
        (6, DeskAction::Answered, "已解答"),
        (7, DeskAction::SendToWindow, "引导至窗口"),
        (8, DeskAction::IssueTicket, "取号"),
        (9, DeskAction::CannotGetDone, "转办不成事窗口"),
    ];
}

/// Most categories the booking form lists (one line each).
const FREE_LINES: usize = 4;

/// The places left, as the booking form lists them above its fields: the day, then a line per
/// category, `A 10:00 余2  11:00 已满`. Slots that can no longer be booked today are left out.
pub fn free_places_note(places: &crate::api::queue::FreePlaces) -> String {
    let mut lines = vec![format!("{} 各时段剩余名额：", places.day)];
    let mut categories: Vec<char> = places.slots.iter().filter(|s| s.open).map(|s| s.category).collect();
    categories.dedup();
    for category in categories.iter().take(FREE_LINES) {
        let slots: Vec<String> = places
            .slots
            .iter()
            .filter(|s| s.category == *category && s.open)
            .map(|s| format!("{} {}", crate::domain::time::to_china(s.start).format("%H:%M"), s.places_text()))
            .collect();
        lines.push(format!("{category} {}", slots.join("  ")));
    }
    if categories.is_empty() {
        lines[0] = format!("{} 没有可预约的时段（日期可填以后的工作日）", places.day);
    }
    lines.join("\n")
}

impl App {
    /// The guide the desk is talking about: the opened one, else the top result shown on the
    /// answer card.
    fn desk_guide(&self) -> Option<&ServiceGuide> {
        self.guide_pane.detail.as_deref().or_else(|| self.guide_pane.search_rows.as_ref()?.first()?.guide.as_deref())
    }

    /// The queue category a guide's service is called from (the rule is the guide's).
    fn category_for(&self, guide: &ServiceGuide) -> Option<char> {
        guide.ticket_category(&self.center.as_ref()?.windows)
    }

    /// Keys of the desk screen. Typing always goes to the search box; function keys act.
    pub(super) fn on_desk_key(&mut self, key: KeyEvent) -> Option<Reaction> {
        let action = match key.code {
            // 预约签到: the person with an appointment has arrived.
            KeyCode::F(10) => {
                return Some(self.open_form(Form::check_in()));
            }
            // 预约 and 取消预约 (clause 7.1.1: appointments to the time slot).
            KeyCode::F(11) => {
                let mut form = Form::booking();
                form.note =
                    Some(self.free_places.as_ref().map_or_else(|| "正在查询各时段剩余名额…".into(), free_places_note));
                let mut reaction = self.open_form(form);
                reaction.commands.push(AppCommand::FreePlaces(crate::api::queue::FreeQuery::default()));
                return Some(reaction);
            }
            KeyCode::F(12) => return Some(self.open_form(Form::cancel_booking())),
            KeyCode::F(n) => DeskAction::KEYS.iter().find(|(k, _, _)| *k == n).map(|(_, a, _)| *a)?,
            KeyCode::PageDown if self.guide_pane.detail.is_some() => {
                self.guide_pane.scroll = self.guide_pane.scroll.saturating_add(8);
                return Some(Reaction::redraw());
            }
            KeyCode::PageUp if self.guide_pane.detail.is_some() => {
                self.guide_pane.scroll = self.guide_pane.scroll.saturating_sub(8);
                return Some(Reaction::redraw());
            }
            _ => return None,
        };
        let question = {
            let typed = self.search_text();
            if typed.trim().is_empty() { self.desk_guide().map(|g| g.name.clone()).unwrap_or_default() } else { typed }
        };
        let guide_code = if action == DeskAction::NotFound { None } else { self.desk_guide().map(|g| g.code.clone()) };
        if action == DeskAction::IssueTicket && guide_code.is_none() {
            self.message = Some("请先打开要办理的事项（Enter），再取号".into());
            return Some(Reaction::redraw());
        }
        let category = self.desk_guide().and_then(|g| self.category_for(g));
        Some(self.open_form(Form::inquiry(action, &question, guide_code, category)))
    }

    /// The day typed in a booking form: a date, or today (China time) when left empty.
    fn typed_day(&self, text: &str) -> Result<chrono::NaiveDate, String> {
        if text.is_empty() {
            return Ok(crate::domain::time::china_date(self.now));
        }
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "日期应如 2026-12-07".to_owned())
    }

    pub(super) fn submit_booking(&mut self, values: &Values) -> Result<Vec<AppCommand>, String> {
        let value = |id: FieldId| clean_line(values.get(id)).trim().to_owned();
        let category = value(FieldId::Category).to_uppercase().chars().next().filter(char::is_ascii_uppercase);
        let category = category.ok_or("类别应为一个字母，如 A")?;
        let day = self.typed_day(&value(FieldId::Day))?;
        let time = chrono::NaiveTime::parse_from_str(&value(FieldId::Slot), "%H:%M")
            .map_err(|_| "时段应为开始时间，如 10:00".to_owned())?;
        let slot_start = crate::domain::appointment::china_time_on(day, time);
        let phone = match value(FieldId::Phone) {
            p if p.is_empty() => None,
            p => Some(crate::domain::applicant::Phone::parse(&p).map_err(|e| e.message)?.expose().to_owned()),
        };
        self.message = Some("正在预约".into());
        Ok(vec![AppCommand::Book(crate::api::queue::BookAppointment { category, slot_start, phone, note: None })])
    }

    pub(super) fn submit_cancel_booking(&mut self, values: &Values) -> Result<Vec<AppCommand>, String> {
        let value = |id: FieldId| clean_line(values.get(id)).trim().to_owned();
        let code = crate::domain::appointment::parse_code(&value(FieldId::Code)).map_err(|e| e.message)?;
        let day = self.typed_day(&value(FieldId::Day))?;
        // Irreversible: the place goes back to others at once.
        let question = format!("确认取消 {day} 预约码 {code} 的预约？名额将释放给他人（y 确认 / n 取消）");
        let command = AppCommand::CancelBooking(crate::api::queue::CancelBooking { day, code, phone: None });
        self.ask(question, super::app::Pending::Send(command));
        Ok(Vec::new())
    }

    pub(super) fn submit_inquiry(
        &mut self,
        action: DeskAction,
        guide_code: Option<String>,
        values: &Values,
    ) -> Result<Vec<AppCommand>, String> {
        let value = |id: FieldId| clean_line(values.get(id)).trim().to_owned();
        let question = value(FieldId::Question);
        if question.is_empty() || question.chars().count() > 200 {
            return Err("请写下对方问的问题（200 字以内）".into());
        }
        let outcome = match action {
            DeskAction::Answered => InquiryOutcome::Answered,
            DeskAction::CannotGetDone => InquiryOutcome::ReferredToCannotGetDone,
            DeskAction::NotFound => InquiryOutcome::NotFound,
            DeskAction::SendToWindow => {
                let window = value(FieldId::Window).parse::<u32>().map_err(|_| "窗口应为数字，如 2".to_owned())?;
                let known = self.center.as_ref().is_none_or(|c| c.windows.iter().any(|w| w.number == window));
                if window == 0 || !known {
                    return Err(format!("没有 {window} 号窗口"));
                }
                InquiryOutcome::SentToWindow { window }
            }
            DeskAction::IssueTicket => {
                let category = value(FieldId::Category).to_uppercase().chars().next().filter(char::is_ascii_uppercase);
                let category = category.ok_or("类别应为一个字母，如 A")?;
                let green = match value(FieldId::Green) {
                    g if g.is_empty() => None,
                    g => Some(g.parse::<GreenReason>().map_err(|e| e.message)?),
                };
                self.message = Some("正在取号".into());
                return Ok(vec![AppCommand::IssueTicketFor { question, guide_code, category, green }]);
            }
        };
        // Said as done only by the backend, once the record is committed.
        self.message = Some("正在记录咨询".into());
        Ok(vec![AppCommand::RecordInquiry { question, guide_code, outcome }])
    }
}

impl Form {
    pub fn inquiry(action: DeskAction, question: &str, guide_code: Option<String>, category: Option<char>) -> Self {
        let mut fields = vec![super::form::field(FieldId::Question, "问  题", "对方问的问题", question)];
        let title = match action {
            DeskAction::Answered => " 记录咨询：已解答 ",
            DeskAction::CannotGetDone => " 记录咨询：转办不成事反映窗口 ",
            DeskAction::NotFound => " 记录咨询：未找到对应事项（管理员据此补充词库） ",
            DeskAction::SendToWindow => {
                fields.push(super::form::field(FieldId::Window, "窗  口", "引导到几号窗口", ""));
                " 记录咨询：引导至窗口 "
            }
            DeskAction::IssueTicket => {
                let letter = category.map(String::from).unwrap_or_default();
                fields.push(super::form::field(FieldId::Category, "类  别", "排队类别字母", &letter));
                fields.push(super::form::field(
                    FieldId::Green,
                    "绿色通道",
                    "老年人/残疾人/孕妇/军人/帮办代办，无则留空",
                    "",
                ));
                " 为此事项取号并记录咨询 "
            }
        };
        Form::with(Purpose::Inquiry { action, guide_code }, title, fields)
    }
}
