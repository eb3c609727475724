//! The one-time notice (一次性告知单, clause 7.6.2): everything that is missing, told in one go, and
//! recorded so that the center can prove what it told and when.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::case::ChecklistItem;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneTimeNotice {
    pub id: Uuid,
    /// Printed notice number, e.g. `GZ01-20261130-0001` (see `documents::notice_number`).
    pub number: String,
    pub case_id: Uuid,
    /// Every missing item at the moment the notice was given.
    pub missing: Vec<ChecklistItem>,
    pub given_at: DateTime<Utc>,
    pub given_by: String,
    pub window: u32,
    /// The law says "once": a further notice for the same case needs a recorded reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_reason: Option<String>,
}
