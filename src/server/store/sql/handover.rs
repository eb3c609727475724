//! Duty and handovers (SQLite migration 0006): the read side. A handover is stored whole as
//! JSON beside what the server decided about it (the acknowledgement that counts, why the duty
//! was not switched) in columns of its own; how uploaded handover records are projected is
//! `server::service::records`, the writes are in `records`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::{Backend, DbRow, q};
use crate::domain::handover::{Acknowledgement, DutyState, Handover};
use crate::server::store::handover::HandoverStore;
use crate::server::store::{StoreError, StoreResult};

pub(super) const COLUMNS: &str = "body, acknowledged_by, acknowledged_at, acknowledged_note, duty_refused";

pub(super) fn corrupt(message: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(serde::de::Error::custom(message))
}

pub(super) fn handover_from_row(row: &DbRow) -> StoreResult<Handover> {
    let mut h: Handover = serde_json::from_str(row.try_get("body")?)?;
    let by: Option<String> = row.try_get("acknowledged_by")?;
    h.acknowledged = match by {
        Some(by) => {
            let at: String = row.try_get::<Option<String>, _>("acknowledged_at")?.unwrap_or_default();
            let at = DateTime::parse_from_rfc3339(&at).map_err(corrupt)?.with_timezone(&Utc);
            let note = row.try_get::<Option<String>, _>("acknowledged_note")?.unwrap_or_default();
            Some(Acknowledgement { by, at, note })
        }
        None => None,
    };
    h.duty_refused = row.try_get("duty_refused")?;
    Ok(h)
}

#[async_trait]
impl HandoverStore for Backend {
    async fn duties(&self) -> StoreResult<Vec<(u32, DutyState)>> {
        let mut c = self.pool.acquire().await?;
        super::unit::load_duties(&mut c, &self.center_id().await?).await
    }

    async fn handover(&self, id: Uuid) -> StoreResult<Option<Handover>> {
        let row = sqlx::query(&q(&format!("SELECT {COLUMNS} FROM handovers WHERE id = ? AND center_id = ?")))
            .bind(id.to_string())
            .bind(&*self.center_id().await?)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(handover_from_row).transpose()
    }

    async fn handovers(&self, window: u32, limit: usize) -> StoreResult<Vec<Handover>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {COLUMNS} FROM handovers WHERE center_id = ? AND window_no = ? \
             ORDER BY written_at DESC, id DESC LIMIT ?"
        )))
        .bind(&*self.center_id().await?)
        .bind(i64::from(window))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(handover_from_row).collect()
    }

    async fn unacknowledged_handover(&self, window: u32, staff_id: &str) -> StoreResult<Option<Handover>> {
        let rows = sqlx::query(&q(&format!(
            "SELECT {COLUMNS} FROM handovers WHERE center_id = ? AND window_no = ? AND acknowledged_by IS NULL \
             AND (to_staff = ? OR from_staff = ?) ORDER BY written_at DESC, id DESC LIMIT 50"
        )))
        .bind(&*self.center_id().await?)
        .bind(i64::from(window))
        .bind(staff_id)
        .bind(staff_id)
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            let h = handover_from_row(row)?;
            if h.awaits_acknowledgement_by(staff_id) {
                return Ok(Some(h));
            }
        }
        Ok(None)
    }
}
