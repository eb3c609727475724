//! Wire types of the live queue: issuing tickets, window operations, and the event feed that
//! keeps every terminal of the center current.
//!
//! Every committed change to the queue has a revision, one more than the change before it. A
//! window operation answers with the [`QueueChange`] it made; the feed at [`paths::QUEUE_EVENTS`]
//! (server-sent events) sends a [`QueueSnapshot`] first and then every change, each with its
//! revision as the SSE `id`, so a terminal that reconnects with `Last-Event-ID` (or `?since=REV`)
//! gets a fresh snapshot if it missed anything, and nothing if it did not.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::ticket::{GreenReason, QueueAction, Ticket, TicketNumber};
use crate::domain::time::china_date;

/// `POST /api/v1/queue/tickets`: issue a ticket for today. Booking a slot (预约) goes only through
/// [`paths::APPOINTMENTS`]; a request here that names a slot (`slot_start`, `slot_end`) is
/// refused, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueTicket {
    pub category: char,
    /// 绿色通道, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub green: Option<GreenReason>,
    /// The service asked for (a guide code), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guide_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The fields of the booking that [`IssueTicket`] once carried: a request to issue a ticket that
/// names one is refused (booking has one way in, [`paths::APPOINTMENTS`]).
pub const RETIRED_SLOT_FIELDS: [&str; 2] = ["slot_start", "slot_end"];

impl IssueTicket {
    pub fn new(category: char) -> Self {
        Self { category, green: None, guide_code: None, note: None }
    }
}

/// `POST /api/v1/appointments`: one place in a configured slot (预约). Its `Debug` hides the phone.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookAppointment {
    pub category: char,
    /// The start of one of the category's slots on the day wanted.
    pub slot_start: DateTime<Utc>,
    /// For finding the booking at check-in; optional. Never shown unmasked, never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The reply to a booking: the booked ticket's change, and the code to check in with. The code
/// goes only to the one who booked, never on the live feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub code: String,
    pub change: QueueChange,
}

/// `POST /api/v1/appointments/check-in`: the booking code, or the phone number given. Its
/// `Debug` hides both: a terminal logs the operation it runs.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInBooking {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

fn hidden(v: &Option<String>) -> Option<&'static str> {
    v.as_ref().map(|_| "***")
}

impl std::fmt::Debug for CheckInBooking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckInBooking")
            .field("code", &hidden(&self.code))
            .field("phone", &hidden(&self.phone))
            .finish()
    }
}

impl std::fmt::Debug for BookAppointment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BookAppointment")
            .field("category", &self.category)
            .field("slot_start", &self.slot_start)
            .field("phone", &hidden(&self.phone))
            .field("note", &self.note)
            .finish()
    }
}

/// `POST /api/v1/appointments/cancel`: the booking of `day` with this code. The online channel
/// also gives the phone number the booking was made with (and cancels only its own bookings);
/// the desk needs only the code. Its `Debug` hides code and phone.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelBooking {
    pub day: NaiveDate,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl std::fmt::Debug for CancelBooking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelBooking")
            .field("day", &self.day)
            .field("code", &"***")
            .field("phone", &hidden(&self.phone))
            .finish()
    }
}

/// `GET /api/v1/appointments/free?day=YYYY-MM-DD&category=A`: the slots of a day (today when no
/// day is given; every category when none is named) with the places left in each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<char>,
}

/// The reply: the day, whether it is a working day, and each slot's places
/// ([`crate::domain::appointment::free_slots`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreePlaces {
    pub day: NaiveDate,
    pub working_day: bool,
    pub slots: Vec<crate::domain::appointment::FreeSlot>,
}

/// The slots of a working day, every category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotPlans {
    pub slots: Vec<crate::domain::appointment::SlotPlan>,
}

/// `POST /api/v1/windows/{n}/call` and `.../call-back`: a ticket by number (today's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByNumber {
    pub number: TicketNumber,
}

/// `POST /api/v1/windows/{n}/transfer` (转移): to another category's line, or to one window. With
/// only a window, the ticket keeps its category.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TransferTicket {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<char>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Body of `.../park` and of the operations that take only a note.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NoteOnly {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `POST /api/v1/windows/{n}/walk-in`: someone served without a ticket from the queue. The number
/// is taken in `category`, by default the window's first.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WalkInTicket {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<char>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `POST /api/v1/windows/{n}/pause` (暂停).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseWindow {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowPause {
    pub reason: String,
    pub since: DateTime<Utc>,
    /// Staff id of who paused it.
    pub by: String,
}

/// A window as the queue sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowQueueState {
    pub window: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<WindowPause>,
}

/// One committed change: the reply to an operation, and an event of the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueChange {
    pub rev: u64,
    pub at: DateTime<Utc>,
    pub action: QueueAction,
    /// Staff id of who did it.
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u32>,
    /// The ticket as it is after the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<Ticket>,
    /// The window after a pause or resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_state: Option<WindowQueueState>,
}

/// `GET /api/v1/queue`, and the first event of the feed: the queue of one China day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueSnapshot {
    pub rev: u64,
    pub day: NaiveDate,
    /// The day's tickets still in play (booked, waiting, called, in service, parked, no-show),
    /// in the order they would be called.
    pub tickets: Vec<Ticket>,
    /// Tickets finished that day.
    pub done: u32,
    /// Every window of the center.
    pub windows: Vec<WindowQueueState>,
}

impl QueueSnapshot {
    /// Tickets waiting in the given categories (not those transferred to one window).
    pub fn waiting(&self, categories: &[char]) -> usize {
        use crate::domain::ticket::TicketStatus;
        self.tickets
            .iter()
            .filter(|t| {
                t.status == TicketStatus::Waiting && t.target_window.is_none() && categories.contains(&t.category)
            })
            .count()
    }

    /// The ticket called to or in service at `window`.
    pub fn at_window(&self, window: u32) -> Option<&Ticket> {
        self.tickets.iter().find(|t| t.window == Some(window) && t.status.is_at_window())
    }

    /// Brings the snapshot up to `change`. A change of a later China day starts a new day.
    /// Changes at or before the snapshot's revision are ignored.
    pub fn apply(&mut self, change: &QueueChange) {
        if change.rev <= self.rev {
            return;
        }
        self.rev = change.rev;
        let day = china_date(change.at);
        if day > self.day {
            self.day = day;
            self.tickets.clear();
            self.done = 0;
        }
        if let Some(ticket) = &change.ticket
            && ticket.day == self.day
        {
            let old = self.tickets.iter().position(|t| t.id == ticket.id);
            if let Some(i) = old {
                self.tickets.remove(i);
            }
            if ticket.status.is_final() {
                self.done += u32::from(ticket.status == crate::domain::ticket::TicketStatus::Done);
            } else {
                let rank = crate::domain::queue::rank(ticket);
                let at = self.tickets.partition_point(|t| crate::domain::queue::rank(t) <= rank);
                self.tickets.insert(at, ticket.clone());
            }
        }
        if let Some(state) = &change.window_state {
            match self.windows.iter_mut().find(|w| w.window == state.window) {
                Some(w) => *w = state.clone(),
                None => self.windows.push(state.clone()),
            }
        }
    }
}

/// An event of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueEvent {
    /// The whole queue: on connecting, and whenever the stream had to catch up.
    Snapshot(QueueSnapshot),
    Change(Box<QueueChange>),
    /// Not about the queue: the records of `window` changed (a handover, a case); sync now.
    RecordsChanged {
        window: u32,
    },
}

impl QueueEvent {
    pub fn rev(&self) -> u64 {
        match self {
            Self::Snapshot(s) => s.rev,
            Self::Change(c) => c.rev,
            Self::RecordsChanged { .. } => 0,
        }
    }
}

/// SSE `event:` names of the feed.
/// `GET /api/v1/queue/stats?window=N`: today's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<crate::domain::queue_stats::DayStats>,
    pub center: crate::domain::queue_stats::DayStats,
}

pub const EVENT_SNAPSHOT: &str = "snapshot";
/// A window's records changed on the server: its terminals should sync now.
pub const EVENT_RECORDS: &str = "records";
pub const EVENT_CHANGE: &str = "change";

/// Paths of the queue API.
pub mod paths {
    /// `POST`: book a slot ([`super::BookAppointment`] → [`super::Booking`]).
    pub const APPOINTMENTS: &str = "/api/v1/appointments";
    /// `GET`: every category's slots ([`super::SlotPlans`]).
    pub const APPOINTMENT_SLOTS: &str = "/api/v1/appointments/slots";
    /// `POST`: check in by code or phone ([`super::CheckInBooking`] → a queue change).
    pub const APPOINTMENT_CHECK_IN: &str = "/api/v1/appointments/check-in";
    /// `POST`: cancel by code ([`super::CancelBooking`] → a queue change).
    pub const APPOINTMENT_CANCEL: &str = "/api/v1/appointments/cancel";
    /// The places left in each slot of a day.
    pub const APPOINTMENTS_FREE: &str = "/api/v1/appointments/free";
    /// `PUT /api/v1/appointments/slots/{letter}`: an admin sets one category's slots.
    pub fn slots_of(letter: char) -> String {
        format!("{APPOINTMENT_SLOTS}/{letter}")
    }
    pub const QUEUE: &str = "/api/v1/queue";
    pub const QUEUE_TICKETS: &str = "/api/v1/queue/tickets";
    pub const QUEUE_EVENTS: &str = "/api/v1/queue/events";
    pub const QUEUE_STATS: &str = "/api/v1/queue/stats";

    /// `POST /api/v1/queue/tickets/{number}/check-in` or `.../return`.
    pub fn ticket_op(number: &super::TicketNumber, op: &str) -> String {
        format!("{QUEUE_TICKETS}/{number}/{op}")
    }

    /// `POST /api/v1/windows/{window}/{op}`: call-next, call, recall, no-show, start, finish,
    /// transfer, park, call-back, walk-in, pause, resume.
    pub fn window_op(window: u32, op: &str) -> String {
        format!("/api/v1/windows/{window}/{op}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::queue::{TicketRequest, issue};
    use crate::domain::ticket::{Priority, TicketStatus};

    #[test]
    fn a_snapshot_follows_changes_and_starts_a_new_day() {
        let t0: DateTime<Utc> = "2026-03-02T01:00:00Z".parse().unwrap();
        let request =
            TicketRequest { category: 'A', priority: Priority::Normal, guide_code: None, note: None, slot: None };
        let a1 = issue(uuid::Uuid::now_v7(), "A001".parse().unwrap(), &request, "d001", t0);
        let a2 = issue(uuid::Uuid::now_v7(), "A002".parse().unwrap(), &request, "d001", t0);
        let change = |rev, ticket: &Ticket, at| QueueChange {
            rev,
            at,
            action: QueueAction::Issued,
            by: "d001".into(),
            window: None,
            ticket: Some(ticket.clone()),
            window_state: None,
        };
        let mut s = QueueSnapshot { rev: 0, day: china_date(t0), tickets: vec![], done: 0, windows: vec![] };
        s.apply(&change(2, &a2, t0));
        s.apply(&change(1, &a1, t0));
        assert_eq!(s.tickets.len(), 1, "an older revision is ignored");
        s.apply(&change(3, &a1, t0));
        let order: Vec<_> = s.tickets.iter().map(|t| t.number.to_string()).collect();
        assert_eq!(order, ["A001", "A002"], "kept in calling order");
        assert_eq!(s.waiting(&['A']), 2);
        let done = Ticket { status: TicketStatus::Done, ..a1.clone() };
        s.apply(&change(4, &done, t0));
        assert_eq!((s.tickets.len(), s.done), (1, 1));
        let tomorrow = t0 + chrono::TimeDelta::days(1);
        let b1 = issue(uuid::Uuid::now_v7(), "A001".parse().unwrap(), &request, "d001", tomorrow);
        s.apply(&change(5, &b1, tomorrow));
        assert_eq!((s.day, s.tickets.len(), s.done), (china_date(tomorrow), 1, 0));
    }

    #[test]
    fn issue_body_is_small_and_chinese() {
        let body = IssueTicket { green: Some(GreenReason::Elderly), ..IssueTicket::new('C') };
        assert_eq!(serde_json::to_value(&body).unwrap(), serde_json::json!({"category": "C", "green": "老年人"}));
    }
}
