//! 差评整改 follow-ups (SQLite migration 0017): opened with their bad rating (see
//! `rate_ticket`), listed, and given steps. Who may take a step is the domain's
//! ([`crate::domain::follow_up::FollowUp::check_step`]); here a step is only kept, and only if
//! nobody added another one in between.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use crate::domain::follow_up::FollowUp;

#[async_trait]
pub trait FollowUpStore: Send + Sync {
    /// Every follow-up, oldest first; of one window when `window` is given.
    async fn follow_ups(&self, window: Option<u32>) -> StoreResult<Vec<FollowUp>>;
    /// The follow-up of a rating, if it has one.
    async fn follow_up(&self, rating_id: Uuid) -> StoreResult<Option<FollowUp>>;
    /// Replaces the follow-up with `updated` (one step more) if it still has `steps_before`
    /// steps; `false` when someone else added a step first.
    async fn add_follow_up_step(&self, updated: &FollowUp, steps_before: usize) -> StoreResult<bool>;
}
