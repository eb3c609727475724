//! Duty and handovers on SQLite (migration 0006). A handover record from a window's log is stored
//! once (by id) and, when the rules allow, switches the window's duty; when they do not, it is
//! still stored (it is a record of what happened) with the reason on its row. Acknowledgements
//! are kept as they arrive, and the first one by the one who is to acknowledge counts, whichever
//! of the two records arrives first.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use super::handover::{DutyError, HandoverStore};
use super::sqlite::SqliteStore;
use super::{StoreError, StoreResult};
use crate::api::RecordEnvelope;
use crate::domain::Invalid;
use crate::domain::access::{Place, WindowAct, check_window_act};
use crate::domain::center::Window;
use crate::domain::handover::{
    Acknowledgement, DutyState, Handover, check_close, check_duty_change, check_handover_roster,
};
use crate::domain::staff::{Role, Staff};
use crate::domain::ticket::Ticket;
use crate::domain::time::to_china;

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

async fn load_windows(c: &mut SqliteConnection) -> StoreResult<Vec<Window>> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT body FROM windows ORDER BY window_no").fetch_all(&mut *c).await?;
    rows.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
}

async fn load_duties(c: &mut SqliteConnection) -> StoreResult<Vec<(u32, DutyState)>> {
    let rows = sqlx::query("SELECT window_no, body FROM duty ORDER BY window_no").fetch_all(&mut *c).await?;
    rows.iter()
        .map(|r| {
            let n: i64 = r.try_get("window_no")?;
            let body: String = r.try_get("body")?;
            Ok((u32::try_from(n).map_err(corrupt)?, serde_json::from_str(&body)?))
        })
        .collect()
}

async fn write_duty(c: &mut SqliteConnection, window: u32, duty: &DutyState, at: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO duty (window_no, body, changed_at) VALUES (?, ?, ?) \
         ON CONFLICT (window_no) DO UPDATE SET body = excluded.body, changed_at = excluded.changed_at",
    )
    .bind(i64::from(window))
    .bind(serde_json::to_string(duty)?)
    .bind(at.timestamp_micros())
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Switches the window's duty as the handover says, if the rules allow; otherwise the reason.
async fn switch_duty(c: &mut SqliteConnection, window: u32, h: &Handover) -> StoreResult<Option<String>> {
    let windows = load_windows(c).await?;
    let Some(w) = windows.iter().find(|w| w.number == window) else {
        return Ok(Some(format!("没有 {window} 号窗口")));
    };
    if let Err(e) = check_handover_roster(w, h) {
        return Ok(Some(e.message));
    }
    let duties = load_duties(c).await?;
    let new = h.duty_after();
    let current = duties.iter().find(|(n, _)| *n == window).map(|(_, d)| d);
    let changed_at: Option<i64> = sqlx::query_scalar("SELECT changed_at FROM duty WHERE window_no = ?")
        .bind(i64::from(window))
        .fetch_optional(&mut *c)
        .await?;
    // Written before the duty last changed (it waited offline): a record, not a switch back.
    if let Some(changed_at) = changed_at
        && h.written_at.timestamp_micros() <= changed_at
    {
        if current == Some(&new) {
            return Ok(None);
        }
        let when =
            DateTime::from_timestamp_micros(changed_at).map(to_china).map(|t| t.format("%m-%d %H:%M").to_string());
        return Ok(Some(format!(
            "该交接上传时，值班状态已在其后（{}）变更为{}，未按此交接切换",
            when.unwrap_or_default(),
            current.map_or("暂停服务", DutyState::label)
        )));
    }
    if let Err(e) = check_duty_change(&windows, &duties, window, &new) {
        return Ok(Some(e.message));
    }
    write_duty(c, window, &new, h.written_at).await?;
    Ok(None)
}

/// Records the acknowledgement on its handover if it is the first by the one who is to
/// acknowledge. Returns whether it counted.
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
    let h = handover_from_row(&row)?;
    if h.acknowledged.is_some() || h.acknowledger() != ack.by {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE handovers SET acknowledged_by = ?, acknowledged_at = ?, acknowledged_note = ? \
         WHERE id = ? AND acknowledged_by IS NULL",
    )
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
        if apply_acknowledgement(c, h.id, &ack).await? {
            break;
        }
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

fn refused(message: String) -> DutyError {
    DutyError::Refused(Invalid { field: "duty".into(), message })
}

#[async_trait]
impl HandoverStore for SqliteStore {
    async fn duties(&self) -> StoreResult<Vec<(u32, DutyState)>> {
        let mut c = self.pool.acquire().await?;
        load_duties(&mut c).await
    }

    async fn set_duty(
        &self,
        window: u32,
        new: &DutyState,
        by: &Staff,
        at: DateTime<Utc>,
    ) -> Result<DutyState, DutyError> {
        let mut tx = self.pool.begin().await?;
        // Write first: the transaction takes the write lock now, so no other change of any
        // window's duty slips in between the check and the write.
        sqlx::query("UPDATE duty SET body = body WHERE window_no = ?")
            .bind(i64::from(window))
            .execute(&mut *tx)
            .await?;
        let windows = load_windows(&mut tx).await?;
        let w = windows.iter().find(|w| w.number == window).ok_or(DutyError::UnknownWindow(window))?;
        let duties = load_duties(&mut tx).await?;
        let current = duties.iter().find(|(n, _)| *n == window).map_or(DutyState::Closed, |(_, d)| d.clone());
        let place = Place::Counter { window: w, duty: &current };
        check_window_act(&by.id, by.role, place, WindowAct::SetDuty { current: &current, new })
            .map_err(DutyError::Forbidden)?;
        if *new == DutyState::Closed {
            let body: Option<String> = sqlx::query_scalar(
                "SELECT body FROM queue_tickets WHERE window_no = ? AND status IN ('已叫号', '办理中') LIMIT 1",
            )
            .bind(i64::from(window))
            .fetch_optional(&mut *tx)
            .await?;
            let ticket = body.map(|b| serde_json::from_str::<Ticket>(&b)).transpose()?;
            check_close(ticket.map(|t| t.number)).map_err(DutyError::Refused)?;
        }
        check_duty_change(&windows, &duties, window, new).map_err(DutyError::Refused)?;
        write_duty(&mut tx, window, new, at).await?;
        tx.commit().await?;
        Ok(new.clone())
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

    async fn set_holders(&self, window: u32, a_holder: &str, b_holder: &str) -> Result<Window, DutyError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE windows SET body = body WHERE window_no = ?")
            .bind(i64::from(window))
            .execute(&mut *tx)
            .await?;
        let mut windows = load_windows(&mut tx).await?;
        let w = windows.iter_mut().find(|w| w.number == window).ok_or(DutyError::UnknownWindow(window))?;
        w.a_holder = a_holder.trim().to_owned();
        w.b_holder = b_holder.trim().to_owned();
        let updated = w.clone();
        let mut problems = updated.problems();
        for (field, id) in [("a_holder", &updated.a_holder), ("b_holder", &updated.b_holder)] {
            let row =
                sqlx::query("SELECT role, active FROM staff WHERE id = ?").bind(id).fetch_optional(&mut *tx).await?;
            let ok = match row {
                Some(r) => {
                    r.try_get::<String, _>("role")? == Role::WindowClerk.label() && r.try_get::<i64, _>("active")? != 0
                }
                None => false,
            };
            if !ok {
                problems.push(Invalid { field: field.into(), message: format!("{id} 不是在职的窗口人员") });
            }
        }
        if !problems.is_empty() {
            return Err(DutyError::Invalid(problems));
        }
        let duties = load_duties(&mut tx).await?;
        for (n, duty) in &duties {
            if windows.iter().any(|w| w.number == *n) {
                check_duty_change(&windows, &duties, *n, duty)
                    .map_err(|e| refused(format!("按新的A/B岗安排，{n} 号窗口当前的值班状态不成立：{}", e.message)))?;
            }
        }
        sqlx::query("UPDATE windows SET body = ? WHERE window_no = ?")
            .bind(serde_json::to_string(&updated)?)
            .bind(i64::from(window))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(window, a_holder = %updated.a_holder, b_holder = %updated.b_holder, "window roster changed");
        Ok(updated)
    }
}
