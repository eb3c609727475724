//! Wire types of accounts and the audit trail.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One line of the audit trail: who did what to which ticket, case, handover, account or window,
/// when, and from which window. Ids and action names only, never personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Order of arrival; 0 for an entry not stored yet.
    #[serde(default)]
    pub id: i64,
    /// When the server received or did it, by the server's clock.
    pub at: DateTime<Utc>,
    /// When the client says it happened (an uploaded record's `created_at`): kept for reference,
    /// never trusted as `at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<DateTime<Utc>>,
    /// Staff id of who did it, from the session (`命令行:USER` for the admin commands, `-` for a
    /// refused request without a valid session).
    pub staff_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u32>,
    /// `sign_in`, `sign_out`, `sign_in_failed`, `sessions_revoked`, `staff_added`,
    /// `password_changed`, `staff_disabled`, `staff_enabled`, `roster_set`,
    /// `calendar_year_loaded`, `appointment_slots_set`, `sign_in_unlocked`, `queue:<动作>` (e.g. `queue:叫号`), a record
    /// kind (`case_snapshot`, `notice_given`, `walk_in`, ...), `read:<what>` for a read of
    /// applicants' data, or `refused:<status>` for a refused request.
    pub action: String,
    /// `ticket`, `case`, `handover`, `staff`, `window`, `calendar`, `record`, `session`, `stream`,
    /// `request` (a refused request: method and path, identifiers masked).
    pub target_kind: String,
    pub target_id: String,
    /// Client address, for sign-ins and refused requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    /// How many times it happened: refused requests are counted per session (or address),
    /// route and minute on one line, so a flood cannot grow the trail without bound.
    #[serde(default = "one_time")]
    pub count: u32,
}

fn one_time() -> u32 {
    1
}

/// Reply of `DELETE /api/v1/sessions/{staff_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsRevoked {
    pub staff_id: String,
    pub revoked: u64,
}

/// Reply of `DELETE /api/v1/staff/{staff_id}/lock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockCleared {
    pub staff_id: String,
    /// Failed sign-ins forgotten.
    pub cleared: u64,
}

/// The most audit lines one request returns.
pub const MAX_AUDIT_LIMIT: usize = 1000;

pub mod paths {
    /// `GET /api/v1/audit?limit=N&before=ID`: newest first (admin).
    pub const AUDIT: &str = "/api/v1/audit";
    /// `DELETE`: ends every session of a staff member (admin).
    pub const SESSIONS_OF: &str = "/api/v1/sessions/{staff_id}";

    /// `DELETE`: clears the sign-in lock of a staff member (admin).
    pub const LOCK_OF: &str = "/api/v1/staff/{staff_id}/lock";

    pub fn lock_of(staff_id: &str) -> String {
        format!("/api/v1/staff/{staff_id}/lock")
    }

    pub fn sessions_of(staff_id: &str) -> String {
        format!("/api/v1/sessions/{staff_id}")
    }
}
