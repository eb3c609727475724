//! The hall's calling display and its voice: which queue changes call someone to a window, and
//! the one sentence each call is announced with.

use chrono::{DateTime, Utc};

use super::ticket::{Priority, QueueAction, Ticket, TicketNumber};

/// How a ticket is called to a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// 叫号: called for the first time (the next in line, or by number).
    Call,
    /// 重呼: called again because nobody came yet.
    Recall,
    /// 回呼: a parked ticket called back to the window that parked it.
    CallBack,
}

/// A call as the hall sees and hears it: no applicant data, only the number and the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HallCall {
    pub number: TicketNumber,
    pub window: u32,
    pub kind: CallKind,
    /// Through the green channel (绿色通道): announced as such, without saying why.
    pub green: bool,
    /// A checked-in appointment (预约) called in its slot.
    pub appointment: bool,
    pub at: DateTime<Utc>,
}

/// The call a queue change makes, if it makes one: 叫号, 重呼 and 回呼 of a ticket to a window.
pub fn call_of(action: QueueAction, ticket: &Ticket, window: Option<u32>, at: DateTime<Utc>) -> Option<HallCall> {
    let kind = match action {
        QueueAction::Called => CallKind::Call,
        QueueAction::Recalled => CallKind::Recall,
        QueueAction::CalledBack => CallKind::CallBack,
        _ => return None,
    };
    let window = window.or(ticket.window)?;
    Some(HallCall {
        number: ticket.number,
        window,
        kind,
        green: matches!(ticket.priority, Priority::Green(_)),
        appointment: ticket.appointment.is_some(),
        at,
    })
}

/// What the hall hears (and the display shows under the number) for a call: the one statement
/// of the sentence, e.g. `请 A003 号到 2 号窗口办理`.
pub fn announcement(call: &HallCall) -> String {
    let lead = match (call.green, call.appointment) {
        (true, _) => "绿色通道 ",
        (false, true) => "预约 ",
        (false, false) => " ",
    };
    let (number, window) = (call.number, call.window);
    match call.kind {
        CallKind::Call => format!("请{lead}{number} 号到 {window} 号窗口办理"),
        CallKind::Recall => format!("再次呼叫，请{lead}{number} 号到 {window} 号窗口办理"),
        CallKind::CallBack => format!("请{lead}{number} 号回到 {window} 号窗口继续办理"),
    }
}

/// What a ticket's slip tells the applicant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SlipFacts {
    pub center: String,
    pub ticket: Ticket,
    pub category_name: String,
    /// People waiting before this ticket in its line.
    pub ahead: u32,
    /// From today's handling times; `None` before the first was served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_wait_s: Option<u32>,
    /// The windows that call this line.
    pub windows: Vec<u32>,
}

/// The path of a ticket's public status page (clause 7.1.1), as the slip's QR code opens it and
/// the server serves it: `/q/20260302/A003?t=TOKEN`. Short (the day without dashes), so that
/// with a LAN address its QR code fits the 58 mm slip.
pub fn status_path(day: chrono::NaiveDate, number: TicketNumber, token: &str) -> String {
    format!("/q/{}/{number}?t={token}", day.format(STATUS_DAY_FORMAT))
}

/// How the day is written in [`status_path`].
pub const STATUS_DAY_FORMAT: &str = "%Y%m%d";

/// The full address of the status page under the server's public address (`server.public_url`,
/// as phones on the hall's Wi-Fi reach it); `None` when that is not configured.
pub fn status_url(public_url: &str, day: chrono::NaiveDate, number: TicketNumber, token: &str) -> Option<String> {
    let base = public_url.trim().trim_end_matches('/');
    (!base.is_empty()).then(|| format!("{base}{}", status_path(day, number, token)))
}

/// How long after a ticket is finished the evaluator still asks for its rating.
pub const ASK_AFTER_FINISH: chrono::TimeDelta = chrono::TimeDelta::minutes(2);

/// Whether the evaluator asks the applicant to rate `ticket` (finished at this window a moment
/// ago) at `now`.
pub fn asks_after_finish(ticket: &Ticket, now: DateTime<Utc>) -> bool {
    ticket.status == super::ticket::TicketStatus::Done
        && ticket.finished_at.is_some_and(|at| now >= at && now - at <= ASK_AFTER_FINISH)
}

/// The step of a case as the applicant at the window is told it.
pub fn step_label(status: super::case::CaseStatus) -> &'static str {
    use super::case::CaseStatus;
    match status {
        CaseStatus::Intake => "核验材料",
        CaseStatus::AwaitingMaterials => "已告知缺件",
        CaseStatus::Accepted | CaseStatus::Dispatched | CaseStatus::ReadyForDelivery => "已受理",
        CaseStatus::Closed => "已办结",
        CaseStatus::Ended => "已终止",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::queue::{TicketRequest, issue};
    use crate::domain::ticket::{Appointment, GreenReason};

    fn ticket(priority: Priority, appointment: bool) -> Ticket {
        let at: DateTime<Utc> = "2026-12-01T01:00:00Z".parse().unwrap();
        let request = TicketRequest { category: 'A', priority, guide_code: None, note: None, slot: None };
        let mut t = issue(uuid::Uuid::nil(), "A003".parse().unwrap(), &request, "kiosk-1", at);
        if appointment {
            t.appointment =
                Some(Appointment { slot_start: at, slot_end: at, checked_in: true, checked_in_at: Some(at) });
        }
        t
    }

    #[test]
    fn every_kind_of_call_has_its_exact_sentence() {
        let at: DateTime<Utc> = "2026-12-01T01:05:00Z".parse().unwrap();
        let normal = ticket(Priority::Normal, false);
        let green = ticket(Priority::Green(GreenReason::Elderly), false);
        let booked = ticket(Priority::Normal, true);
        let say = |action, t: &Ticket| call_of(action, t, Some(2), at).map(|c| announcement(&c));
        let rows: [(QueueAction, &Ticket, &str); 6] = [
            (QueueAction::Called, &normal, "请 A003 号到 2 号窗口办理"),
            (QueueAction::Recalled, &normal, "再次呼叫，请 A003 号到 2 号窗口办理"),
            (QueueAction::CalledBack, &normal, "请 A003 号回到 2 号窗口继续办理"),
            (QueueAction::Called, &green, "请绿色通道 A003 号到 2 号窗口办理"),
            (QueueAction::Recalled, &green, "再次呼叫，请绿色通道 A003 号到 2 号窗口办理"),
            (QueueAction::Called, &booked, "请预约 A003 号到 2 号窗口办理"),
        ];
        for (action, t, text) in rows {
            assert_eq!(say(action, t).as_deref(), Some(text), "{action:?}");
        }
        // Nothing else calls anyone: issuing, serving, finishing, parking, a no-show.
        for action in [
            QueueAction::Issued,
            QueueAction::Started,
            QueueAction::Finished,
            QueueAction::Parked,
            QueueAction::NoShow,
            QueueAction::Transferred,
        ] {
            assert_eq!(say(action, &normal), None, "{action:?}");
        }
        // The reason for the green channel is never said aloud.
        assert!(!say(QueueAction::Called, &green).unwrap().contains("老年人"));
    }
}
