//! Duty and handovers on SQLite (migration 0006). A handover record from a window's log is stored
//! once (by id) and, when the domain's `duty_after_handover` allows, switches the window's duty;
//! when it does not, it is still stored (it is a record of what happened) with the reason on its
//! row. Acknowledgements are kept as they arrive and fold into their handover by the domain's
//! `fold_acknowledgement` (the terminals fold with the same rule), whichever arrives first.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use super::handover::HandoverStore;
use super::repo::DutyUnit;
use super::sqlite::SqliteStore;
use super::sqlite_unit::{SqliteUnit, load_duties};
use super::{StoreError, StoreResult};
use crate::api::RecordEnvelope;
use crate::domain::handover::{
    Acknowledgement, DutyState, Handover, Withdrawal, check_duty_change, duty_after_handover, fold_acknowledgement,
    fold_withdrawal,
};

const COLUMNS: &str = "body, acknowledged_by, acknowledged_at, acknowledged_note, duty_refused";

fn corrupt(message: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(serde::de::Error::custom(message))
}

fn handover_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<Handover> {
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

/// Switches the window's duty as the handover says, if the domain's rule lets it; otherwise the
/// reason.
async fn switch_duty(c: &mut SqliteConnection, window: u32, h: &Handover) -> StoreResult<Option<String>> {
    let mut unit = SqliteUnit::on(c);
    let windows = unit.windows().await?;
    let duties = unit.duties().await?;
    let changed_at = unit.duty_changed_at(window).await?;
    match duty_after_handover(&windows, &duties, changed_at, window, h) {
        Ok(Some(new)) => {
            unit.write_duty(window, &new, h.written_at).await?;
            Ok(None)
        }
        Ok(None) => Ok(None),
        Err(reason) => Ok(Some(reason)),
    }
}

/// Folds the acknowledgement into its handover by the domain's rule
/// ([`fold_acknowledgement`]). Returns whether it changed what counts.
async fn apply_acknowledgement(
    c: &mut SqliteConnection,
    handover_id: Uuid,
    ack: &Acknowledgement,
) -> StoreResult<bool> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM handovers WHERE id = ?"))
        .bind(handover_id.to_string())
        .fetch_optional(&mut *c)
        .await?;
    let Some(row) = row else { return Ok(false) };
    let mut h = handover_from_row(&row)?;
    let withdrawn = h.withdrawn.is_some();
    if !fold_acknowledgement(&mut h, ack.clone()) {
        return Ok(false);
    }
    if withdrawn && h.withdrawn.is_none() {
        // Acknowledged before the withdrawal was made: the withdrawal does not count.
        write_body(c, &h).await?;
    }
    sqlx::query("UPDATE handovers SET acknowledged_by = ?, acknowledged_at = ?, acknowledged_note = ? WHERE id = ?")
        .bind(&ack.by)
        .bind(ack.at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .bind(&ack.note)
        .bind(handover_id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(true)
}

/// Projects a newly stored `handover_written` record.
pub(super) async fn project_written(c: &mut SqliteConnection, r: &RecordEnvelope, h: &Handover) -> StoreResult<()> {
    let mut h = h.clone();
    // What the server decides is not the terminal's to say.
    h.acknowledged = None;
    h.duty_refused = None;
    h.withdrawn = None;
    if h.written_by.is_empty() {
        h.written_by = r.author.clone();
    }
    let inserted = sqlx::query(
        "INSERT INTO handovers \
         (id, window_no, from_post, from_staff, to_staff, written_by, written_at, emergency, body) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
    )
    .bind(h.id.to_string())
    .bind(i64::from(r.window))
    .bind(if h.from_post == crate::domain::center::Post::A { "A" } else { "B" })
    .bind(&h.from_staff)
    .bind(&h.to_staff)
    .bind(&h.written_by)
    .bind(h.written_at.timestamp_micros())
    .bind(i64::from(h.emergency))
    .bind(serde_json::to_string(&h)?)
    .execute(&mut *c)
    .await?
    .rows_affected()
        == 1;
    if !inserted {
        tracing::warn!(handover = %h.id, record = %r.id, "a second record for a stored handover; the first stands");
        return Ok(());
    }
    if let Some(reason) = switch_duty(c, r.window, &h).await? {
        tracing::info!(handover = %h.id, window = r.window, %reason, "handover recorded; duty not switched");
        sqlx::query("UPDATE handovers SET duty_refused = ? WHERE id = ?")
            .bind(&reason)
            .bind(h.id.to_string())
            .execute(&mut *c)
            .await?;
    }
    // Acknowledgements that arrived first (from another device, say).
    let acks = sqlx::query("SELECT by_staff, at, note FROM handover_acks WHERE handover_id = ? ORDER BY seq")
        .bind(h.id.to_string())
        .fetch_all(&mut *c)
        .await?;
    for row in acks {
        let at: String = row.try_get("at")?;
        let ack = Acknowledgement {
            by: row.try_get("by_staff")?,
            at: DateTime::parse_from_rfc3339(&at).map_err(corrupt)?.with_timezone(&Utc),
            note: row.try_get("note")?,
        };
        apply_acknowledgement(c, h.id, &ack).await?;
    }
    Ok(())
}

/// Rewrites a stored handover's body (what the server decides lives in its own columns).
async fn write_body(c: &mut SqliteConnection, h: &Handover) -> StoreResult<()> {
    let body = Handover { acknowledged: None, duty_refused: None, ..h.clone() };
    sqlx::query("UPDATE handovers SET body = ? WHERE id = ?")
        .bind(serde_json::to_string(&body)?)
        .bind(h.id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Projects a newly stored `handover_withdrawn` record: folded by the domain's rule
/// ([`fold_withdrawal`]); when the handover had switched the window's duty and nothing changed
/// it since, the duty goes back to what it was before ([`Handover::duty_before`]). A withdrawal
/// of a handover this server does not hold is kept in the log only.
pub(super) async fn project_withdrawn(
    c: &mut SqliteConnection,
    r: &RecordEnvelope,
    handover_id: Uuid,
    w: &Withdrawal,
) -> StoreResult<()> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM handovers WHERE id = ?"))
        .bind(handover_id.to_string())
        .fetch_optional(&mut *c)
        .await?;
    let Some(row) = row else {
        tracing::warn!(handover = %handover_id, record = %r.id, "withdrawal of a handover not held here; kept in the log");
        return Ok(());
    };
    let mut h = handover_from_row(&row)?;
    let switched = h.duty_refused.is_none();
    if !fold_withdrawal(&mut h, w.clone()) {
        tracing::info!(handover = %handover_id, "withdrawal kept; it does not count (acknowledged first)");
        return Ok(());
    }
    write_body(c, &h).await?;
    sqlx::query(
        "UPDATE handovers SET acknowledged_by = NULL, acknowledged_at = NULL, acknowledged_note = NULL WHERE id = ?",
    )
    .bind(handover_id.to_string())
    .execute(&mut *c)
    .await?;
    if !switched {
        return Ok(());
    }
    let mut unit = SqliteUnit::on(c);
    let windows = unit.windows().await?;
    let duties = unit.duties().await?;
    let changed_at = unit.duty_changed_at(r.window).await?;
    let current = duties.iter().find(|(n, _)| *n == r.window).map(|(_, d)| d.clone());
    let unchanged_since = changed_at.map(|t| t.timestamp_micros()) == Some(h.written_at.timestamp_micros());
    if current != Some(h.duty_after()) || !unchanged_since {
        tracing::info!(handover = %handover_id, window = r.window, "withdrawn; the duty changed since, left as it is");
        return Ok(());
    }
    let before = h.duty_before();
    match check_duty_change(&windows, &duties, r.window, &before) {
        Ok(()) => unit.write_duty(r.window, &before, w.at).await?,
        Err(e) => tracing::info!(handover = %handover_id, reason = %e.message, "withdrawn; duty not switched back"),
    }
    Ok(())
}

/// Projects a newly stored `handover_acknowledged` record.
pub(super) async fn project_acknowledged(
    c: &mut SqliteConnection,
    r: &RecordEnvelope,
    handover_id: Uuid,
    ack: &Acknowledgement,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO handover_acks (record_id, handover_id, by_staff, at, note) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT DO NOTHING",
    )
    .bind(r.id.to_string())
    .bind(handover_id.to_string())
    .bind(&ack.by)
    .bind(ack.at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    .bind(&ack.note)
    .execute(&mut *c)
    .await?;
    if !apply_acknowledgement(c, handover_id, ack).await? {
        tracing::info!(handover = %handover_id, by = %ack.by, "acknowledgement kept; it does not (yet) count");
    }
    Ok(())
}

/// Projects a newly stored `handover_item_checked` record: the to-do's tick in the handover.
pub(super) async fn project_item_checked(
    c: &mut SqliteConnection,
    handover_id: Uuid,
    item: u32,
    done: bool,
) -> StoreResult<()> {
    let body: Option<String> = sqlx::query_scalar("SELECT body FROM handovers WHERE id = ?")
        .bind(handover_id.to_string())
        .fetch_optional(&mut *c)
        .await?;
    let Some(body) = body else {
        tracing::info!(handover = %handover_id, "tick for a handover not stored yet; kept in the log only");
        return Ok(());
    };
    let mut handover: Handover = serde_json::from_str(&body)?;
    if crate::domain::handover::check_item(&mut handover, item as usize, done) {
        sqlx::query("UPDATE handovers SET body = ? WHERE id = ?")
            .bind(serde_json::to_string(&handover)?)
            .bind(handover_id.to_string())
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl HandoverStore for SqliteStore {
    async fn duties(&self) -> StoreResult<Vec<(u32, DutyState)>> {
        let mut c = self.pool.acquire().await?;
        load_duties(&mut c).await
    }

    async fn handover(&self, id: Uuid) -> StoreResult<Option<Handover>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM handovers WHERE id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(handover_from_row).transpose()
    }

    async fn handovers(&self, window: u32, limit: usize) -> StoreResult<Vec<Handover>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM handovers WHERE window_no = ? ORDER BY written_at DESC, id DESC LIMIT ?"
        ))
        .bind(i64::from(window))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(handover_from_row).collect()
    }

    async fn unacknowledged_handover(&self, window: u32, staff_id: &str) -> StoreResult<Option<Handover>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM handovers WHERE window_no = ? AND acknowledged_by IS NULL \
             AND (to_staff = ? OR from_staff = ?) ORDER BY written_at DESC, id DESC LIMIT 50"
        ))
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
