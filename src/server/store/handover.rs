//! Storage of A/B post duty and handovers (clause 7.6.4). Handovers themselves arrive as records
//! of the windows' logs and are projected on upload (see `sql/handover.rs`); what is here is the
//! read side: every window's duty and the handover history. Setting the duty and the roster are
//! flows of `server::service::duty` over the repository (`repo`).

use async_trait::async_trait;

use super::{StoreError, StoreResult};
use crate::domain::Invalid;
use crate::domain::handover::{DutyState, Handover};

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

    /// One handover by id, with its acknowledgement.
    async fn handover(&self, id: uuid::Uuid) -> StoreResult<Option<Handover>>;

    /// The window's handovers, newest first, with their acknowledgements; at most `limit`.
    async fn handovers(&self, window: u32, limit: usize) -> StoreResult<Vec<Handover>>;

    /// The newest handover of the window that `staff_id` still has to acknowledge.
    async fn unacknowledged_handover(&self, window: u32, staff_id: &str) -> StoreResult<Option<Handover>>;
}
