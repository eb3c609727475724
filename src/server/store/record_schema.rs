//! Rewrites what an older server stored in record schema 1 (Chinese state values) in the current
//! schema (stable ASCII codes, docs/record-format.md), once, after the SQL migration
//! `0012_record_schema_2.sql` left its marker. Done here rather than in SQL because the values sit
//! at every depth of the JSON (a case's checklist items, a notice's missing items), and the
//! domain's serde aliases already know every old value: one mapping, stated once.
//!
//! Idempotent and in one transaction: a crash part-way leaves the marker, and the next start does
//! it again.
//!
//! The terminal's log has the same loop (`client::local::upgrade_records`); what is shared is the
//! step that matters, `RecordEnvelope::upgrade`. The loops stay apart on purpose: other table,
//! other marker, other transaction and error types, and a shared one would have to live where
//! both sides may depend, in `api` (wire types), which would then run SQL.

use sqlx::{Row, SqliteConnection, SqlitePool};

use super::StoreResult;
use super::repo::code;
use crate::api::RecordEnvelope;
use crate::domain::case::Case;
use crate::domain::handover::Handover;
use crate::domain::inquiry::Inquiry;
use crate::domain::notice::OneTimeNotice;
use crate::domain::rating::Rating;

const MARKER: &str = "record_schema_2";
const BATCH: i64 = 500;

/// Runs the upgrade if the migration asked for it.
pub(super) async fn upgrade(pool: &SqlitePool) -> StoreResult<()> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let pending: Option<String> = sqlx::query_scalar("SELECT name FROM pending_upgrades WHERE name = ?")
        .bind(MARKER)
        .fetch_optional(&mut *tx)
        .await?;
    if pending.is_none() {
        return Ok(());
    }
    // Center by center, like every statement on center data (the marker predates tenants, so
    // in practice there is one).
    let centers: Vec<String> = sqlx::query_scalar("SELECT id FROM center ORDER BY id").fetch_all(&mut *tx).await?;
    let mut records = 0usize;
    for center in &centers {
        records += upgrade_records(&mut tx, center).await?;
        // The projections: bodies re-encoded, and the columns queries match on set from them.
        rewrite::<Case>(&mut tx, "cases", center, |c| vec![("status", code(c.status))]).await?;
        rewrite::<Rating>(&mut tx, "ratings", center, |r| vec![("level", code(r.level))]).await?;
        rewrite::<Inquiry>(&mut tx, "inquiries", center, |i| {
            let outcome = serde_json::to_value(&i.outcome).ok();
            let tag = outcome.and_then(|o| o.get("outcome").and_then(|t| t.as_str()).map(str::to_owned));
            vec![("outcome", tag.unwrap_or_default())]
        })
        .await?;
        rewrite::<OneTimeNotice>(&mut tx, "notices", center, |_| vec![]).await?;
        rewrite::<Handover>(&mut tx, "handovers", center, |_| vec![]).await?;
    }
    sqlx::query("DELETE FROM pending_upgrades WHERE name = ?").bind(MARKER).execute(&mut *tx).await?;
    tx.commit().await?;
    if records > 0 {
        tracing::info!(records, "stored records rewritten in record schema 2");
    }
    Ok(())
}

/// Rewrites `center`'s device records in the current schema; returns how many changed.
async fn upgrade_records(c: &mut SqliteConnection, center: &str) -> StoreResult<usize> {
    let mut records = 0usize;
    let mut last = 0i64;
    loop {
        let rows = sqlx::query(
            "SELECT rowid, envelope FROM device_records WHERE center_id = ? AND rowid > ? ORDER BY rowid LIMIT ?",
        )
        .bind(center)
        .bind(last)
        .bind(BATCH)
        .fetch_all(&mut *c)
        .await?;
        for row in &rows {
            last = row.try_get("rowid")?;
            let Ok(mut envelope) = serde_json::from_str::<RecordEnvelope>(row.try_get("envelope")?) else {
                tracing::warn!(rowid = last, "stored record does not decode; left as it is");
                continue;
            };
            if envelope.upgrade() {
                sqlx::query("UPDATE device_records SET envelope = ? WHERE rowid = ? AND center_id = ?")
                    .bind(serde_json::to_string(&envelope)?)
                    .bind(last)
                    .bind(center)
                    .execute(&mut *c)
                    .await?;
                records += 1;
            }
        }
        if (rows.len() as i64) < BATCH {
            break;
        }
    }
    Ok(records)
}

/// Re-encodes every `body` of `center`'s rows of `table` as `T` (old values read through the
/// serde aliases), and sets the `columns` derived from it.
async fn rewrite<T: serde::de::DeserializeOwned + serde::Serialize>(
    c: &mut SqliteConnection,
    table: &str,
    center: &str,
    columns: impl Fn(&T) -> Vec<(&'static str, String)>,
) -> StoreResult<()> {
    let mut last = 0i64;
    loop {
        let rows = sqlx::query(&format!(
            "SELECT rowid, body FROM {table} WHERE center_id = ? AND rowid > ? ORDER BY rowid LIMIT ?"
        ))
        .bind(center)
        .bind(last)
        .bind(BATCH)
        .fetch_all(&mut *c)
        .await?;
        for row in &rows {
            last = row.try_get("rowid")?;
            let Ok(value) = serde_json::from_str::<T>(row.try_get("body")?) else {
                tracing::warn!(table, rowid = last, "stored body does not decode; left as it is");
                continue;
            };
            let set = columns(&value);
            let mut sql = format!("UPDATE {table} SET body = ?");
            for (column, _) in &set {
                sql.push_str(&format!(", {column} = ?"));
            }
            sql.push_str(" WHERE rowid = ?");
            let mut query = sqlx::query(&sql).bind(serde_json::to_string(&value)?);
            for (_, v) in set {
                query = query.bind(v);
            }
            query.bind(last).execute(&mut *c).await?;
        }
        if (rows.len() as i64) < BATCH {
            break;
        }
    }
    Ok(())
}
