//! The reads behind `bianmin report`, shared by both backends.

use async_trait::async_trait;
use chrono::NaiveDate;

use super::handover::{COLUMNS as HANDOVER_COLUMNS, handover_from_row};
use super::{Backend, q};
use crate::domain::case::Case;
use crate::domain::handover::Handover;
use crate::domain::inquiry::Inquiry;
use crate::domain::notice::OneTimeNotice;
use crate::domain::rating::Rating;
use crate::domain::ticket::Ticket;
use crate::server::store::{ReportStore, StoreResult};

fn decode_all<T: serde::de::DeserializeOwned>(bodies: &[String]) -> StoreResult<Vec<T>> {
    Ok(bodies.iter().map(|b| serde_json::from_str(b)).collect::<Result<Vec<T>, _>>()?)
}

#[async_trait]
impl ReportStore for Backend {
    async fn tickets_of_days(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<Ticket>> {
        // `day` is YYYY-MM-DD: text order is date order.
        let bodies: Vec<String> = sqlx::query_scalar(&q(
            "SELECT body FROM queue_tickets WHERE center_id = ? AND day >= ? AND day <= ? ORDER BY day, letter, seq",
        ))
        .bind(&*self.center_id().await?)
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?;
        decode_all(&bodies)
    }

    async fn all_cases(&self) -> StoreResult<Vec<Case>> {
        let bodies: Vec<String> = sqlx::query_scalar(&q("SELECT body FROM cases WHERE center_id = ? ORDER BY opened_at, id"))
            .bind(&*self.center_id().await?)
            .fetch_all(&self.pool)
            .await?;
        decode_all(&bodies)
    }

    async fn notices_between(&self, from: i64, to: i64) -> StoreResult<Vec<OneTimeNotice>> {
        let bodies: Vec<String> = sqlx::query_scalar(&q(
            "SELECT body FROM notices WHERE center_id = ? AND given_at >= ? AND given_at < ? ORDER BY given_at, id",
        ))
        .bind(&*self.center_id().await?)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        decode_all(&bodies)
    }

    async fn ratings_of_days(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<Rating>> {
        let bodies: Vec<String> = sqlx::query_scalar(&q(
            "SELECT body FROM ratings WHERE center_id = ? AND ticket_id IS NOT NULL AND day >= ? \
             AND day <= ? ORDER BY rated_at, id",
        ))
        .bind(&*self.center_id().await?)
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?;
        decode_all(&bodies)
    }

    async fn all_handovers(&self) -> StoreResult<Vec<Handover>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {HANDOVER_COLUMNS} FROM handovers WHERE center_id = ? ORDER BY written_at, id"
        )))
        .bind(&*self.center_id().await?)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(handover_from_row).collect()
    }

    async fn inquiries_between(&self, from: i64, to: i64) -> StoreResult<Vec<Inquiry>> {
        let bodies: Vec<String> = sqlx::query_scalar(&q(
            "SELECT body FROM inquiries WHERE center_id = ? AND asked_at >= ? AND asked_at < ? ORDER BY asked_at, id",
        ))
        .bind(&*self.center_id().await?)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        decode_all(&bodies)
    }
}
