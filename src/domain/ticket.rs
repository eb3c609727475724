//! Queue tickets (排队号). Numbers are a category letter and a daily sequence (A001), reset at
//! midnight China time; the server is the only authority that issues them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::Invalid;

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

/// Why a ticket goes through the green channel (绿色通道, clause 4.2.2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GreenReason {
    #[serde(rename = "老年人")]
    Elderly,
    #[serde(rename = "残疾人")]
    Disabled,
    #[serde(rename = "孕妇")]
    Pregnant,
    #[serde(rename = "军人")]
    Serviceman,
    #[serde(rename = "帮办代办")]
    AssistedApplication,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Priority {
    #[default]
    Normal,
    Green(GreenReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TicketStatus {
    #[serde(rename = "等候")]
    Waiting,
    #[serde(rename = "已叫号")]
    Called,
    #[serde(rename = "办理中")]
    Serving,
    #[serde(rename = "挂起")]
    Parked,
    #[serde(rename = "过号")]
    NoShow,
    #[serde(rename = "已完成")]
    Done,
}

impl TicketStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Waiting => "等候",
            Self::Called => "已叫号",
            Self::Serving => "办理中",
            Self::Parked => "挂起",
            Self::NoShow => "过号",
            Self::Done => "已完成",
        }
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
    /// The window it is called to or served at.
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
