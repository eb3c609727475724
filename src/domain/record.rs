//! Records made at a window (来访登记, and with later work cases, notices, handovers, inquiries and
//! ratings). Each is committed to the device's append-only log before anything else happens to
//! it, so that a dropped network or a killed process loses nothing.
//!
//! A record's place in the log is `(device, stream, idx)`: `idx` counts from 1 without gaps
//! within one device's stream. Streams are per window and family ("w1/visits"), so a terminal
//! downloads only its own window's records from other devices.

use serde::{Deserialize, Serialize};

use super::Invalid;
use super::case::{Case, CaseTransfer};
use super::handover::Handover;
use super::inquiry::Inquiry;
use super::notice::OneTimeNotice;
use super::rating::{Rating, TicketRating};
use super::text::clean_line;

/// Families of records; each window has one stream per family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Visits,
    Cases,
    Notices,
    Handovers,
    /// Questions answered at the guidance desk (首问负责), recorded on window 0.
    Inquiries,
    /// 好差评 given at the window.
    Ratings,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visits => "visits",
            Self::Cases => "cases",
            Self::Notices => "notices",
            Self::Handovers => "handovers",
            Self::Inquiries => "inquiries",
            Self::Ratings => "ratings",
        }
    }
}

/// The guidance desk's log sits on window 0: it is no service window, and no window has number 0.
pub const DESK_WINDOW: u32 = 0;

/// The window a stream name belongs to: `w1/visits` is window 1.
pub fn stream_window(stream: &str) -> Option<u32> {
    stream.strip_prefix('w')?.split_once('/')?.0.parse().ok()
}

/// The stream name of a family at a window, e.g. `w1/visits`.
pub fn stream_name(window: u32, family: Family) -> String {
    format!("w{window}/{}", family.as_str())
}

/// A visit recorded at the window (来访登记, `w`, works offline): someone seen without a ticket
/// from the shared queue, or a paper ticket handed out while the queue server was unreachable (the
/// offline fallback). Not a walk-in (`j`, 直接办理), which the server's queue numbers and serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// The number on the paper ticket, if there was one (e.g. "A023" or "纸17").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub paper_ticket: String,
    /// What the person came for, in the clerk's words. No personal data.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

pub const MAX_NOTE_CHARS: usize = 200;
pub const MAX_TICKET_CHARS: usize = 16;

impl Visit {
    /// Cleans what the clerk typed or pasted and checks the lengths.
    pub fn new(paper_ticket: &str, note: &str) -> Result<Self, Invalid> {
        let paper_ticket = clean_line(paper_ticket).trim().to_owned();
        let note = clean_line(note).trim().to_owned();
        if paper_ticket.chars().count() > MAX_TICKET_CHARS {
            return Err(Invalid {
                field: "paper_ticket".into(),
                message: format!("纸质号不能超过 {MAX_TICKET_CHARS} 个字"),
            });
        }
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(Invalid {
                field: "note".into(), message: format!("备注不能超过 {MAX_NOTE_CHARS} 个字")
            });
        }
        if paper_ticket.is_empty() && note.is_empty() {
            return Err(Invalid { field: "note".into(), message: "请填写纸质号或办理事项".into() });
        }
        Ok(Self { paper_ticket, note })
    }
}

/// What a record says. Stored and sent as `{"kind": "...", ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordBody {
    /// 来访登记 (`w`). Its code is `walk_in`, from before "walk-in" came to mean only serving
    /// someone without a ticket (`j`); a code, once stored, never changes.
    #[serde(rename = "walk_in")]
    Visit(Visit),
    /// The whole case after a change at the window (opened, material checked, accepted,
    /// dispatched, delivered). Each carries the case's version; a change counts only on the
    /// version it was made from (`access::order_case_change`).
    CaseSnapshot(Box<Case>),
    /// A case moved to another window (分办/转办, or taken over where the applicant came back).
    CaseTransferred(Box<CaseTransfer>),
    /// A one-time notice as given: the proof of what the applicant was told, and when.
    NoticeGiven(Box<OneTimeNotice>),
    /// A handover as written at the window: A to B, B's emergency takeover, or B's hand back
    /// (see `Handover::kind`). The server projects it and switches the window's duty.
    HandoverWritten(Box<Handover>),
    /// A question at the guidance desk and where the person was sent (首问负责, clause 7.6.1).
    InquiryRecorded(Box<Inquiry>),
    /// 接收确认 of a handover by the one who receives the window.
    HandoverAcknowledged {
        handover_id: uuid::Uuid,
        by: String,
        at: chrono::DateTime<chrono::Utc>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// A rating a clerk typed in for the applicant (older terminals): kept in the log, never
    /// counted.
    RatingRecorded(Box<Rating>),
    /// The applicant's rating of the ticket served at the window (好差评, clause 8.2.1), given
    /// at the window's evaluator: the only rating record that counts.
    TicketRated(Box<TicketRating>),
    /// A handover taken back by its writer before it was acknowledged.
    HandoverWithdrawn { handover_id: uuid::Uuid, by: String, at: chrono::DateTime<chrono::Utc> },
    /// A to-do of a handover ticked off (or unticked) by whoever did it.
    HandoverItemChecked { handover_id: uuid::Uuid, item: u32, done: bool },
}

impl RecordBody {
    pub fn family(&self) -> Family {
        match self {
            Self::Visit(_) => Family::Visits,
            Self::CaseSnapshot(_) | Self::CaseTransferred(_) => Family::Cases,
            Self::NoticeGiven(_) => Family::Notices,
            Self::HandoverWritten(_)
            | Self::HandoverAcknowledged { .. }
            | Self::HandoverItemChecked { .. }
            | Self::HandoverWithdrawn { .. } => Family::Handovers,
            Self::InquiryRecorded(_) => Family::Inquiries,
            Self::RatingRecorded(_) | Self::TicketRated(_) => Family::Ratings,
        }
    }

    /// The window the content itself names, where it names one.
    pub fn window(&self) -> Option<u32> {
        match self {
            Self::CaseSnapshot(case) => Some(case.window),
            Self::CaseTransferred(t) => Some(t.recorded_at()),
            Self::NoticeGiven(notice) => Some(notice.window),
            Self::HandoverWritten(handover) => Some(handover.window),
            Self::RatingRecorded(rating) => Some(rating.window),
            Self::TicketRated(rating) => Some(rating.window),
            Self::Visit(_)
            | Self::InquiryRecorded(_)
            | Self::HandoverAcknowledged { .. }
            | Self::HandoverWithdrawn { .. }
            | Self::HandoverItemChecked { .. } => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Visit(_) => "walk_in",
            Self::CaseSnapshot(_) => "case_snapshot",
            Self::CaseTransferred(_) => "case_transferred",
            Self::NoticeGiven(_) => "notice_given",
            Self::HandoverWritten(_) => "handover_written",
            Self::InquiryRecorded(_) => "inquiry_recorded",
            Self::RatingRecorded(_) => "rating_recorded",
            Self::TicketRated(_) => "ticket_rated",
            Self::HandoverAcknowledged { .. } => "handover_acknowledged",
            Self::HandoverItemChecked { .. } => "handover_item_checked",
            Self::HandoverWithdrawn { .. } => "handover_withdrawn",
        }
    }
}

/// The first date in a record that lies outside the supported years
/// ([`super::time::is_plausible`]), as a field path (`body.due`): every RFC 3339 timestamp, and
/// every calendar date under a key that names one (`*_on`, `deadline`, `day`, `date`). Read from
/// the JSON, so record kinds added later are checked too.
pub fn implausible_date(value: &serde_json::Value) -> Option<String> {
    fn walk(value: &serde_json::Value, key: &str, path: &str) -> Option<String> {
        match value {
            serde_json::Value::String(text) => {
                let bad = if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
                    !super::time::is_plausible(t.to_utc())
                } else if key.ends_with("_on") || matches!(key, "deadline" | "day" | "date") {
                    text.parse::<chrono::NaiveDate>()
                        .is_ok_and(|d| !super::time::is_supported_year(chrono::Datelike::year(&d)))
                } else {
                    false
                };
                bad.then(|| path.to_owned())
            }
            serde_json::Value::Array(items) => {
                items.iter().enumerate().find_map(|(i, v)| walk(v, key, &format!("{path}[{i}]")))
            }
            serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| walk(v, k, &format!("{path}.{k}"))),
            _ => None,
        }
    }
    walk(value, "", "body")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_outside_the_supported_years_are_found_wherever_they_are() {
        let ok = serde_json::json!({"kind": "case_snapshot", "opened_at": "2026-12-05T08:00:00Z",
            "accepted_on": "2026-12-05", "note": "1990-01-01", "items": [{"due": "2026-12-09T00:00:00+08:00"}]});
        assert_eq!(implausible_date(&ok), None, "a note that looks like a date is text");
        let backdated = serde_json::json!({"kind": "walk_in", "at": "1970-01-01T00:00:00Z"});
        assert_eq!(implausible_date(&backdated).as_deref(), Some("body.at"));
        let far = serde_json::json!({"todos": [{"deadline": "9999-12-31"}]});
        assert_eq!(implausible_date(&far).as_deref(), Some("body.todos[0].deadline"));
        let year_zero = serde_json::json!({"accepted_on": "0000-01-01"});
        assert_eq!(implausible_date(&year_zero).as_deref(), Some("body.accepted_on"));
    }

    #[test]
    fn walk_in_is_cleaned_and_checked() {
        let w = Visit::new(" A023\x1b ", "办\t低保\n").unwrap();
        assert_eq!(w.paper_ticket, "A023");
        assert_eq!(w.note, "办 低保");
        assert!(Visit::new("", "  ").is_err());
        assert!(Visit::new(&"1".repeat(17), "").is_err());
        assert!(Visit::new("", &"字".repeat(201)).is_err());
    }

    #[test]
    fn bodies_carry_their_kind() {
        let body = RecordBody::Visit(Visit::new("纸17", "").unwrap());
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["kind"], "walk_in");
        assert_eq!(json["paper_ticket"], "纸17");
        assert_eq!(serde_json::from_value::<RecordBody>(json).unwrap(), body);
        assert_eq!(stream_name(3, body.family()), "w3/visits");
        assert_eq!(stream_window("w3/visits"), Some(3));
        assert_eq!(stream_window("w0/inquiries"), Some(0));
        for bad in ["", "w/x", "3/visits", "wx/visits", "w3"] {
            assert_eq!(stream_window(bad), None, "{bad}");
        }
    }
}
