//! Queue tickets (排队号). Numbers are a category letter and a daily sequence (A001), reset at
//! midnight China time; the server is the only authority that issues them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::Invalid;
use super::labels::labelled;

/// A queue category with its prefix letter, e.g. `A` 社保医保.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueCategory {
    pub letter: char,
    pub name: String,
}

/// `A001`: category letter and sequence within the China-time day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TicketNumber {
    pub category: char,
    pub seq: u32,
}

impl std::fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{:03}", self.category, self.seq)
    }
}

impl std::str::FromStr for TicketNumber {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || Invalid { field: "ticket".into(), message: format!("无效的排队号: {s}") };
        let mut chars = s.trim().chars();
        let category = chars.next().filter(char::is_ascii_uppercase).ok_or_else(bad)?;
        let seq = chars.as_str().parse::<u32>().map_err(|_| bad())?;
        if seq == 0 || seq > 9999 {
            return Err(bad());
        }
        Ok(Self { category, seq })
    }
}

impl TryFrom<String> for TicketNumber {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<TicketNumber> for String {
    fn from(value: TicketNumber) -> Self {
        value.to_string()
    }
}

labelled! { named:
    /// Why a ticket goes through the green channel (绿色通道, clause 4.2.2.4).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum GreenReason {
        Elderly = "老年人",
        Disabled = "残疾人",
        Pregnant = "孕妇",
        Serviceman = "军人",
        AssistedApplication = "帮办代办",
    }
}

impl GreenReason {
    pub const ALL: [Self; 5] =
        [Self::Elderly, Self::Disabled, Self::Pregnant, Self::Serviceman, Self::AssistedApplication];
}

impl std::str::FromStr for GreenReason {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|r| r.label() == s.trim()).ok_or_else(|| Invalid {
            field: "priority".into(),
            message: format!("绿色通道类别应为 老年人、残疾人、孕妇、军人 或 帮办代办，而不是「{s}」"),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Priority {
    #[default]
    Normal,
    Green(GreenReason),
}

impl Priority {
    pub fn is_green(self) -> bool {
        matches!(self, Self::Green(_))
    }
}

labelled! { named:
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum TicketStatus {
        Waiting = "等候",
        Called = "已叫号",
        Serving = "办理中",
        Parked = "挂起",
        NoShow = "过号",
        Done = "已完成",
        /// Booked for a slot (预约), not yet checked in: not in the waiting line.
        Booked = "已预约",
        /// Left over from a past day: void, never called again.
        Expired = "已作废",
    }
}

impl TicketStatus {
    pub const ALL: [Self; 8] = [
        Self::Waiting,
        Self::Called,
        Self::Serving,
        Self::Parked,
        Self::NoShow,
        Self::Done,
        Self::Booked,
        Self::Expired,
    ];

    /// The statuses for which `rule` holds: how a store states the rule in its own query language
    /// without restating it.
    pub fn all_where(rule: impl Fn(Self) -> bool) -> impl Iterator<Item = Self> {
        Self::ALL.into_iter().filter(move |s| rule(*s))
    }

    /// Still in play today: not final (booked, waiting, at a window, parked or a no-show).
    pub fn is_in_play(self) -> bool {
        !self.is_final()
    }

    /// Nothing more happens to a ticket in one of these states.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Expired)
    }

    /// A window holds at most one ticket in one of these states.
    pub fn is_at_window(self) -> bool {
        matches!(self, Self::Called | Self::Serving)
    }
}

/// A booked time slot (预约); the ticket is called in its slot once checked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    pub slot_start: DateTime<Utc>,
    pub slot_end: DateTime<Utc>,
    pub checked_in: bool,
    /// When the applicant checked in (签到). After `slot_end` the slot is lost and the ticket
    /// queues like any other from that moment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_in_at: Option<DateTime<Utc>>,
}

labelled! { named:
    /// What happened to a ticket or a window, for its history and for the live feed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum QueueAction {
        Issued = "取号",
        Booked = "预约",
        CheckedIn = "签到",
        Called = "叫号",
        Recalled = "重呼",
        NoShow = "过号",
        Returned = "回队",
        Started = "开始办理",
        Finished = "办结",
        Transferred = "转移",
        Parked = "挂起",
        CalledBack = "回呼",
        /// Served at the window without a ticket from the queue.
        WalkIn = "直接办理",
        Paused = "暂停",
        Resumed = "恢复",
        Expired = "作废",
        /// A booking withdrawn before check-in (取消预约).
        Cancelled = "取消预约",
    }
}

/// One line of a ticket's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEvent {
    pub at: DateTime<Utc>,
    pub action: QueueAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u32>,
    /// Staff id of who did it.
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: Uuid,
    pub number: TicketNumber,
    /// China-time day the number belongs to.
    pub day: NaiveDate,
    pub priority: Priority,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment: Option<Appointment>,
    /// The service asked for at the guidance desk, if known (a guide code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guide_code: Option<String>,
    pub status: TicketStatus,
    /// The window it is called to, served at, or parked at (挂起).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u32>,
    pub issued_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub called_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// How often it was called again (重呼).
    #[serde(default)]
    pub recalls: u32,
    /// The queue it waits in now: the number's own letter, or the category it was transferred to
    /// (转移; the number never changes).
    pub category: char,
    /// Transferred to one window: only that window calls it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_window: Option<u32>,
    /// When it last joined the waiting line: issue, check-in, or return after a no-show. A transfer
    /// keeps it, so a transferred ticket does not start again at the back.
    pub queued_at: DateTime<Utc>,
    /// Served at a window without a ticket from the queue (直接办理).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub walk_in: bool,
    /// How often it was marked 过号.
    #[serde(default)]
    pub no_shows: u32,
    /// A short note from the desk or the window. No personal data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Everything that happened to it, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<TicketEvent>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_and_parse() {
        let n: TicketNumber = "B014".parse().unwrap();
        assert_eq!(n, TicketNumber { category: 'B', seq: 14 });
        assert_eq!(n.to_string(), "B014");
        assert_eq!(TicketNumber { category: 'A', seq: 1234 }.to_string(), "A1234");
        for bad in ["", "b014", "B", "B0", "BX1", "B-1", "中001", "B10000"] {
            assert!(bad.parse::<TicketNumber>().is_err(), "{bad} should be rejected");
        }
    }
}
