//! Inquiries at the guidance desk, recorded under first-question responsibility (首问负责制,
//! clause 7.6.1).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ticket::TicketNumber;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome")]
pub enum InquiryOutcome {
    #[serde(rename = "answered", alias = "已解答")]
    Answered,
    #[serde(rename = "sent_to_window", alias = "引导至窗口")]
    SentToWindow { window: u32 },
    #[serde(rename = "ticket_issued", alias = "已取号")]
    TicketIssued { ticket: TicketNumber },
    #[serde(rename = "referred_to_cannot_get_done", alias = "转办不成事窗口")]
    ReferredToCannotGetDone,
    /// The catalogue had no guide for the question: the admin sees it in
    /// `bianmin guides unanswered` and teaches the search an alias or a lexicon word.
    #[serde(rename = "未找到")]
    NotFound,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inquiry {
    pub id: Uuid,
    pub question: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guide_code: Option<String>,
    #[serde(flatten)]
    pub outcome: InquiryOutcome,
    /// 首问责任人: the staff id who was asked first.
    pub first_responder: String,
    pub asked_at: DateTime<Utc>,
}
