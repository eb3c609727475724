//! Storage of A/B post duty and handovers (clause 7.6.4). Handovers themselves arrive as records
//! of the windows' logs and are projected on upload (see `handover_sqlite`); what is here is the
//! synchronous side: every window's duty, setting it with the rules of
//! [`crate::domain::handover`] checked inside one write transaction, the handover history, and
//! the admin's roster edit.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{StoreError, StoreResult};
use crate::domain::Invalid;
use crate::domain::center::Window;
use crate::domain::handover::{DutyState, Handover};
use crate::domain::staff::Staff;

/// Why a duty or roster change was not made. Everything but `Store` is the clerk's to read.
#[derive(Debug, thiserror::Error)]
pub enum DutyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no window {0}")]
    UnknownWindow(u32),
    /// This staff member may not make this change.
    #[error("{0}")]
    Forbidden(Invalid),
    /// The change would leave a window open with nobody who can be at it.
    #[error("{0}")]
    Refused(Invalid),
    /// The request itself is wrong (fields named).
    #[error("invalid request")]
    Invalid(Vec<Invalid>),
}

impl From<sqlx::Error> for DutyError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

impl From<serde_json::Error> for DutyError {
    fn from(e: serde_json::Error) -> Self {
        Self::Store(StoreError::Corrupt(e))
    }
}

#[async_trait]
pub trait HandoverStore: Send + Sync {
    /// Every window's duty, by window number.
    async fn duties(&self) -> StoreResult<Vec<(u32, DutyState)>>;

    /// Sets window `window` to `new` for `by` at `at`, in one write transaction: who may
    /// (`check_duty_permission`), that closing waits for the ticket in service (`check_close`)
    /// and that nobody ends up at two windows or away and covering (`check_duty_change`, against
    /// every window's duty as it is inside the transaction). Returns the new duty.
    async fn set_duty(
        &self,
        window: u32,
        new: &DutyState,
        by: &Staff,
        at: DateTime<Utc>,
    ) -> Result<DutyState, DutyError>;

    /// The window's handovers, newest first, with their acknowledgements; at most `limit`.
    async fn handovers(&self, window: u32, limit: usize) -> StoreResult<Vec<Handover>>;

    /// The newest handover of the window that `staff_id` still has to acknowledge.
    async fn unacknowledged_handover(&self, window: u32, staff_id: &str) -> StoreResult<Option<Handover>>;

    /// Changes a window's A and B holders (an admin's edit of the seeded roster). Refused when the
    /// new roster, with every window's duty as it is, would put someone at two windows.
    async fn set_holders(&self, window: u32, a_holder: &str, b_holder: &str) -> Result<Window, DutyError>;
}
