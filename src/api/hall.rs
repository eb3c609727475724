//! Wire types of the hall's devices: what the evaluator facing a window shows, and the rating it
//! sends.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::rating::RatingLevel;
use crate::domain::ticket::{TicketNumber, TicketStatus};

/// `GET /api/v1/windows/{n}/facing`: what the applicant at window `n` sees. Staff names and the
/// ticket only; never the applicant's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facing {
    pub window: u32,
    pub window_name: String,
    /// Who serves at the window now (nobody while it is closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clerk: Option<FacingClerk>,
    /// The ticket called to or served at the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<FacingTicket>,
    /// Where the business of that ticket stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<FacingStep>,
    /// The applicant is asked to rate this ticket (after it was finished, or the clerk invited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask: Option<AskRating>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacingClerk {
    pub id: String,
    pub name: String,
    /// `A岗` or `B岗`.
    pub post: String,
    /// B is covering for A (B岗代办).
    pub covering: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacingTicket {
    pub number: TicketNumber,
    pub status: TicketStatus,
}

/// The step of the case at the window, as the applicant is told it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacingStep {
    /// 核验材料, 已告知缺件, 已受理 or 已办结.
    pub label: String,
    /// The guide's name (the service asked for).
    pub service: String,
    /// What is missing, after the one-time notice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// The promised date, once accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised: Option<NaiveDate>,
}

/// A ticket waiting for its rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskRating {
    pub ticket_id: Uuid,
    pub number: TicketNumber,
}

/// `POST /api/v1/windows/{n}/ratings`: the applicant's rating of ticket `ticket_id`, from the
/// window's evaluator. `id` is made on the device, so a resend after a lost reply is the same
/// rating. Who was rated and when come from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateTicket {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub level: RatingLevel,
    /// Optional, for the two bad levels.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// `POST /api/v1/kiosk/tickets`: a ticket issued at the kiosk, with what its slip says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slip {
    pub change: crate::api::queue::QueueChange,
    pub slip: crate::domain::hall::SlipFacts,
    /// The token of the ticket's public status page ([`crate::domain::hall::status_path`]);
    /// absent from an older server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_token: Option<String>,
}

pub mod paths {
    pub const KIOSK_TICKETS: &str = "/api/v1/kiosk/tickets";

    pub fn facing(window: u32) -> String {
        format!("/api/v1/windows/{window}/facing")
    }
    pub fn ratings(window: u32) -> String {
        format!("/api/v1/windows/{window}/ratings")
    }
    pub fn invite_rating(window: u32) -> String {
        format!("/api/v1/windows/{window}/invite-rating")
    }
}
