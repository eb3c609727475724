//! Follow-ups of bad ratings, shared by both backends.

use async_trait::async_trait;
use uuid::Uuid;

use super::{Backend, Conn, q};
use crate::domain::follow_up::FollowUp;
use crate::server::store::{FollowUpStore, StoreResult};

/// Opens a follow-up of `center`'s, in the rating's transaction; a second one for the same rating
/// is ignored.
pub(super) async fn insert(tx: &mut Conn, f: &FollowUp, center: &str) -> StoreResult<()> {
    sqlx::query(&q("INSERT INTO follow_ups (rating_id, window_no, staff_id, opened_on, due_on, steps, body, center_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"))
    .bind(f.rating_id.to_string())
    .bind(i64::from(f.window))
    .bind(&f.staff)
    .bind(f.opened_on.to_string())
    .bind(f.due_on.to_string())
    .bind(f.steps.len() as i64)
    .bind(serde_json::to_string(f)?)
    .bind(center)
    .execute(tx)
    .await?;
    Ok(())
}

#[async_trait]
impl FollowUpStore for Backend {
    async fn follow_ups(&self, window: Option<u32>) -> StoreResult<Vec<FollowUp>> {
        let center = self.center_id().await?;
        let bodies: Vec<String> = match window {
            Some(w) => {
                sqlx::query_scalar(&q(
                    "SELECT body FROM follow_ups WHERE center_id = ? AND window_no = ? ORDER BY opened_on, rating_id",
                ))
                .bind(&*center)
                .bind(i64::from(w))
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query_scalar(&q("SELECT body FROM follow_ups WHERE center_id = ? ORDER BY opened_on, rating_id"))
                    .bind(&*center)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        Ok(bodies.iter().map(|b| serde_json::from_str(b)).collect::<Result<Vec<_>, _>>()?)
    }

    async fn follow_up(&self, rating_id: Uuid) -> StoreResult<Option<FollowUp>> {
        let body: Option<String> =
            sqlx::query_scalar(&q("SELECT body FROM follow_ups WHERE rating_id = ? AND center_id = ?"))
                .bind(rating_id.to_string())
                .bind(&*self.center_id().await?)
            .fetch_optional(&self.pool)
            .await?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    async fn add_follow_up_step(&self, updated: &FollowUp, steps_before: usize) -> StoreResult<bool> {
        let done = sqlx::query(&q(
            "UPDATE follow_ups SET steps = ?, body = ? WHERE rating_id = ? AND steps = ? AND center_id = ?",
        ))
        .bind(updated.steps.len() as i64)
        .bind(serde_json::to_string(updated)?)
        .bind(updated.rating_id.to_string())
        .bind(steps_before as i64)
        .bind(&*self.center_id().await?)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
