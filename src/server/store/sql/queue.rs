//! The queue (SQLite migration 0004): tickets stored whole as JSON beside the columns the
//! selection orders on, a window-pause table, and one revision counter. Commands run as units of
//! work (`unit`, `server::service::queue`); what is here is the read side.

use async_trait::async_trait;
use chrono::NaiveDate;
use sqlx::Row;

use super::unit::pause_from_row;
use super::{Backend, DIALECT, q};
use crate::api::queue::{QueueSnapshot, WindowQueueState};
use crate::domain::queue as rules;
use crate::domain::ticket::{Ticket, TicketStatus};
use crate::server::store::StoreError;
use crate::server::store::queue::QueueStore;
use crate::server::store::repo::ticket_statuses;

#[async_trait]
impl QueueStore for Backend {
    async fn ticket_with_status_token(
        &self,
        day: NaiveDate,
        number: crate::domain::ticket::TicketNumber,
    ) -> Result<Option<(Ticket, String)>, StoreError> {
        let row: Option<(String, String)> = sqlx::query_as(&q("SELECT body, status_token FROM queue_tickets \
                 WHERE center_id = ? AND day = ? AND letter = ? AND seq = ? AND status_token IS NOT NULL"))
        .bind(&*self.center_id().await?)
        .bind(day.to_string())
        .bind(number.category.to_string())
        .bind(i64::from(number.seq))
        .fetch_optional(&self.pool)
        .await?;
        let Some((body, token)) = row else { return Ok(None) };
        Ok(Some((serde_json::from_str(&body)?, token)))
    }

    async fn queue_revision(&self) -> Result<u64, StoreError> {
        let rev: i64 = sqlx::query_scalar(&q("SELECT rev FROM queue_revision WHERE center_id = ?"))
            .bind(&*self.center_id().await?)
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(rev).unwrap_or_default())
    }

    async fn queue_day_tickets(&self, day: NaiveDate) -> Result<Vec<Ticket>, StoreError> {
        let bodies: Vec<String> =
            sqlx::query_scalar(&q("SELECT body FROM queue_tickets WHERE center_id = ? AND day = ?"))
                .bind(&*self.center_id().await?)
                .bind(day.to_string())
            .fetch_all(&self.pool)
            .await?;
        Ok(bodies.iter().map(|b| serde_json::from_str(b)).collect::<Result<Vec<Ticket>, _>>()?)
    }

    async fn queue_snapshot(&self, day: NaiveDate) -> Result<QueueSnapshot, StoreError> {
        // One read transaction: the revision and the rows are one consistent view.
        let center = self.center_id().await?;
        let center = &*center;
        let mut tx = self.pool.begin_with(DIALECT.begin_snapshot()).await?;
        let rev: i64 = sqlx::query_scalar(&q("SELECT rev FROM queue_revision WHERE center_id = ?"))
            .bind(center)
            .fetch_one(&mut *tx)
            .await?;
        let in_play = format!(
            "SELECT body FROM queue_tickets WHERE center_id = ? AND day = ? AND status IN {}",
            ticket_statuses(TicketStatus::is_in_play)
        );
        let bodies: Vec<String> =
            sqlx::query_scalar(&q(&in_play)).bind(center).bind(day.to_string()).fetch_all(&mut *tx).await?;
        let done: i64 =
            sqlx::query_scalar(&q("SELECT COUNT(*) FROM queue_tickets WHERE center_id = ? AND day = ? AND status = ?"))
                .bind(center)
                .bind(day.to_string())
            .bind(TicketStatus::Done.label())
            .fetch_one(&mut *tx)
            .await?;
        let numbers: Vec<i64> =
            sqlx::query_scalar(&q("SELECT window_no FROM windows WHERE center_id = ? ORDER BY window_no"))
                .bind(center)
                .fetch_all(&mut *tx)
                .await?;
        let pauses = sqlx::query(&q("SELECT window_no, paused_reason, paused_at, paused_by FROM queue_windows \
             WHERE center_id = ? AND paused_reason IS NOT NULL"))
        .bind(center)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut tickets = bodies.iter().map(|b| serde_json::from_str(b)).collect::<Result<Vec<Ticket>, _>>()?;
        tickets.sort_by_key(rules::rank);
        let mut windows: Vec<WindowQueueState> =
            numbers.iter().map(|&n| WindowQueueState { window: n as u32, paused: None }).collect();
        for row in &pauses {
            let number: i64 = row.try_get("window_no")?;
            let pause = pause_from_row(row)?;
            if let Some(w) = windows.iter_mut().find(|w| i64::from(w.window) == number) {
                w.paused = Some(pause);
            }
        }
        Ok(QueueSnapshot { rev: u64::try_from(rev).unwrap_or_default(), day, tickets, done: done as u32, windows })
    }
}
