//! 差评整改 follow-ups on SQLite (migration 0017): opened with their bad rating (see
//! `rate_ticket`), listed, and given steps. Who may take a step is the domain's
//! ([`crate::domain::follow_up::FollowUp::check_step`]); here a step is only kept, and only if
//! nobody added another one in between.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use super::sqlite::SqliteStore;
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

/// Opens a follow-up, in the rating's transaction; a second one for the same rating is ignored.
pub(super) async fn insert(tx: &mut sqlx::SqliteConnection, f: &FollowUp) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO follow_ups (rating_id, window_no, staff_id, opened_on, due_on, steps, body) \
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(f.rating_id.to_string())
    .bind(i64::from(f.window))
    .bind(&f.staff)
    .bind(f.opened_on.to_string())
    .bind(f.due_on.to_string())
    .bind(f.steps.len() as i64)
    .bind(serde_json::to_string(f)?)
    .execute(tx)
    .await?;
    Ok(())
}

#[async_trait]
impl FollowUpStore for SqliteStore {
    async fn follow_ups(&self, window: Option<u32>) -> StoreResult<Vec<FollowUp>> {
        let bodies: Vec<String> = match window {
            Some(w) => {
                sqlx::query_scalar("SELECT body FROM follow_ups WHERE window_no = ? ORDER BY opened_on, rating_id")
                    .bind(i64::from(w))
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query_scalar("SELECT body FROM follow_ups ORDER BY opened_on, rating_id")
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        Ok(bodies.iter().map(|b| serde_json::from_str(b)).collect::<Result<Vec<_>, _>>()?)
    }

    async fn follow_up(&self, rating_id: Uuid) -> StoreResult<Option<FollowUp>> {
        let body: Option<String> = sqlx::query_scalar("SELECT body FROM follow_ups WHERE rating_id = ?")
            .bind(rating_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    async fn add_follow_up_step(&self, updated: &FollowUp, steps_before: usize) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE follow_ups SET steps = ?, body = ? WHERE rating_id = ? AND steps = ?")
            .bind(updated.steps.len() as i64)
            .bind(serde_json::to_string(updated)?)
            .bind(updated.rating_id.to_string())
            .bind(steps_before as i64)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
