//! The repository's questions and writes on a unit of work, shared by both backends. A unit is
//! a transaction holding its [`crate::server::store::repo::Lock`] (how each backend takes it is
//! in its own module); the questions are generic over the connection, so a read transaction or
//! a pooled connection could answer them too.

use std::ops::DerefMut;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::{BackendUnit, Conn, DbRow, q};
use crate::api::accounts::AuditEntry;
use crate::api::queue::WindowPause;
use crate::domain::appointment::SlotPlan;
use crate::domain::center::Window;
use crate::domain::guide::ServiceGuide;
use crate::domain::handover::DutyState;
use crate::domain::queue as rules;
use crate::domain::staff::Staff;
use crate::domain::ticket::{Ticket, TicketNumber, TicketStatus};
use crate::server::store::repo::{
    BookingKey, CatalogueUnit, DutyUnit, QueueRevision, QueueUnit, TicketWrite, ticket_statuses,
};
use crate::server::store::{StoreError, StoreResult};

fn decode<T: serde::de::DeserializeOwned>(body: &str) -> StoreResult<T> {
    Ok(serde_json::from_str(body)?)
}

fn corrupt(message: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(serde::de::Error::custom(message))
}

/// Rows per statement of [`QueueUnit::put_tickets`]: 15 parameters each, well within SQLite's
/// 32,766 and PostgreSQL's 65,535 per statement.
const PUT_TICKETS_CHUNK: usize = 500;

/// The columns of a ticket row that change as the ticket moves, in the order
/// [`bind_ticket_state`] binds them. The one list for every write of a ticket: the insert's
/// columns ([`TICKET_COLUMNS`]), the batch upsert's and [`QueueUnit::save_ticket`]'s updates.
const TICKET_STATE_COLUMNS: [&str; 8] =
    ["category", "status", "window_no", "target_window", "tier", "rank_at", "slot_start", "body"];

/// A ticket row's columns, in the order [`bind_ticket_row`] binds them and then the revision:
/// the ticket's identity (written once), its state, its center.
static TICKET_COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("id, day, letter, seq, {}, center_id, rev", TICKET_STATE_COLUMNS.join(", "))
});

/// One `?` for each value [`bind_ticket_row`] binds (every column of [`TICKET_COLUMNS`] but the
/// last, `rev`), comma-separated: a row's placeholders follow the column list instead of
/// restating its length.
static TICKET_ROW_PLACEHOLDERS: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| vec!["?"; TICKET_COLUMNS.split(", ").count() - 1].join(", "));

/// `column = value` for each of [`TICKET_STATE_COLUMNS`], `value` made of the column's name.
fn ticket_state_set(value: impl Fn(&str) -> String) -> String {
    TICKET_STATE_COLUMNS.iter().map(|c| format!("{c} = {}", value(c))).collect::<Vec<_>>().join(", ")
}

type TicketQuery<'q> = sqlx::query::Query<'q, super::Db, <super::Db as sqlx::Database>::Arguments<'q>>;

/// Binds a ticket row's columns up to `center_id` (the revision is the caller's), with `window`
/// as its `window_no` (the batch may write a ticket at a window without it first).
fn bind_ticket_row<'q>(query: TicketQuery<'q>, t: &Ticket, window: Option<i64>, center: &'q str) -> StoreResult<TicketQuery<'q>> {
    let query = query
        .bind(t.id.to_string())
        .bind(t.day.to_string())
        .bind(t.number.category.to_string())
        .bind(i64::from(t.number.seq));
    Ok(bind_ticket_state(query, t, window)?.bind(center))
}

/// Binds [`TICKET_STATE_COLUMNS`] of `t`, with `window` as its `window_no`.
fn bind_ticket_state<'q>(query: TicketQuery<'q>, t: &Ticket, window: Option<i64>) -> StoreResult<TicketQuery<'q>> {
    let (tier, rank_at, slot_start) = rank_columns(t);
    Ok(query
        .bind(t.category.to_string())
        .bind(t.status.label())
        .bind(window)
        .bind(t.target_window.map(i64::from))
        .bind(tier)
        .bind(rank_at)
        .bind(slot_start)
        .bind(serde_json::to_string(t)?))
}

/// The columns kept beside the body: where the ticket stands in the line.
fn rank_columns(t: &Ticket) -> (i64, i64, Option<i64>) {
    let rank = rules::rank(t);
    (i64::from(rank.tier), rank.at_ms, rules::slot_held(t).map(|a| a.slot_start.timestamp_millis()))
}

pub(super) fn pause_from_row(r: &DbRow) -> StoreResult<WindowPause> {
    Ok(WindowPause {
        reason: r.try_get("paused_reason")?,
        since: DateTime::from_timestamp_millis(r.try_get("paused_at")?).unwrap_or_default(),
        by: r.try_get("paused_by")?,
    })
}

/// The ticket at the window ([`TicketStatus::is_at_window`]), on any connection.
pub(super) async fn ticket_at_window(c: &mut Conn, center: &str, window: u32) -> StoreResult<Option<Ticket>> {
    let sql = format!(
        "SELECT body FROM queue_tickets WHERE center_id = ? AND window_no = ? AND status IN {} LIMIT 1",
        ticket_statuses(TicketStatus::is_at_window)
    );
    let body: Option<String> =
        sqlx::query_scalar(&q(&sql)).bind(center).bind(i64::from(window)).fetch_optional(&mut *c).await?;
    body.map(|b| decode(&b)).transpose()
}

pub(super) async fn load_windows(c: &mut Conn, center: &str) -> StoreResult<Vec<Window>> {
    let rows: Vec<String> = sqlx::query_scalar(&q("SELECT body FROM windows WHERE center_id = ? ORDER BY window_no"))
        .bind(center)
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(|b| decode(b)).collect()
}

pub(super) async fn load_duties(c: &mut Conn, center: &str) -> StoreResult<Vec<(u32, DutyState)>> {
    let rows = sqlx::query(&q("SELECT window_no, body FROM duty WHERE center_id = ? ORDER BY window_no"))
        .bind(center)
        .fetch_all(&mut *c)
        .await?;
    rows.iter()
        .map(|r| {
            let n: i64 = r.try_get("window_no")?;
            let body: String = r.try_get("body")?;
            Ok((u32::try_from(n).map_err(corrupt)?, decode(&body)?))
        })
        .collect()
}

impl<C: DerefMut<Target = Conn> + Send> BackendUnit<C> {
    /// One multi-row upsert of `chunk`'s tickets; `unplaced`: those at a window written without
    /// their window (placed by a second upsert, see `put_tickets`). A slip's token goes only to a
    /// ticket without one: an update keeps the token the row has.
    async fn upsert_tickets(&mut self, chunk: &[TicketWrite], unplaced: bool) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO queue_tickets ({}, status_token) VALUES {} ON CONFLICT (id) DO UPDATE SET {}, rev = excluded.rev, \
             status_token = COALESCE(queue_tickets.status_token, excluded.status_token) \
             WHERE queue_tickets.center_id = excluded.center_id",
            *TICKET_COLUMNS,
            vec![format!("({}, ?, ?)", *TICKET_ROW_PLACEHOLDERS); chunk.len()].join(", "),
            ticket_state_set(|c| format!("excluded.{c}"))
        );
        let sql = q(&sql);
        let mut query = sqlx::query(&sql);
        for TicketWrite { ticket: t, rev, status_token } in chunk {
            let window = if unplaced && t.status.is_at_window() { None } else { t.window.map(i64::from) };
            query = bind_ticket_row(query, t, window, self.center.id())?
                .bind(i64::try_from(*rev).unwrap_or(i64::MAX))
                .bind(status_token.as_deref());
        }
        query.execute(&mut *self.c).await?;
        Ok(())
    }
}

#[async_trait]
impl<C: DerefMut<Target = Conn> + Send> QueueUnit for BackendUnit<C> {
    async fn append_audit(&mut self, entry: &AuditEntry) -> StoreResult<()> {
        super::accounts::insert_audit(&mut *self.c, entry, self.center.get()).await
    }

    async fn append_audits(&mut self, entries: &[AuditEntry]) -> StoreResult<()> {
        super::accounts::insert_audits(&mut self.c, entries, self.center.get()).await
    }

    async fn set_queue_revision(&mut self, rev: u64) -> StoreResult<()> {
        sqlx::query(&q("UPDATE queue_revision SET rev = ? WHERE center_id = ?"))
            .bind(i64::try_from(rev).unwrap_or(i64::MAX))
            .bind(self.center.id())
            .execute(&mut *self.c)
            .await?;
        Ok(())
    }

    async fn next_queue_revision(&mut self) -> StoreResult<QueueRevision> {
        // The configuration revision comes from the row this statement locks: on PostgreSQL (read
        // committed) an UPDATE waits for a transaction that changed a window or category (its
        // trigger holds the row) and then returns the row as that one committed it; once updated
        // here, such a change waits for this unit's end. A separate SELECT, or a subquery, would
        // read its own snapshot and could miss a change committed while this statement waited.
        let (rev, config_rev): (i64, i64) = sqlx::query_as(&q(
            "UPDATE queue_revision SET rev = rev + 1 WHERE center_id = ? RETURNING rev, config_rev",
        ))
        .bind(self.center.id())
        .fetch_one(&mut *self.c)
        .await?;
        Ok(QueueRevision {
            rev: u64::try_from(rev).unwrap_or_default(),
            config_rev: u64::try_from(config_rev).unwrap_or_default(),
        })
    }

    async fn window(&mut self, number: u32) -> StoreResult<Option<Window>> {
        let body: Option<String> = sqlx::query_scalar(&q("SELECT body FROM windows WHERE center_id = ? AND window_no = ?"))
            .bind(self.center.id())
            .bind(i64::from(number))
            .fetch_optional(&mut *self.c)
            .await?;
        body.map(|b| decode(&b)).transpose()
    }

    async fn queue_windows(&mut self) -> StoreResult<Vec<Window>> {
        load_windows(&mut self.c, self.center.id()).await
    }

    async fn category_letters(&mut self) -> StoreResult<Vec<char>> {
        let letters: Vec<String> = sqlx::query_scalar(&q("SELECT letter FROM queue_categories WHERE center_id = ?"))
            .bind(self.center.id())
            .fetch_all(&mut *self.c)
            .await?;
        Ok(letters.iter().filter_map(|l| l.chars().next()).collect())
    }

    async fn category_exists(&mut self, letter: char) -> StoreResult<bool> {
        let known: i64 = sqlx::query_scalar(&q("SELECT COUNT(*) FROM queue_categories WHERE center_id = ? AND letter = ?"))
            .bind(self.center.id())
            .bind(letter.to_string())
            .fetch_one(&mut *self.c)
            .await?;
        Ok(known > 0)
    }

    async fn ticket(&mut self, day: NaiveDate, number: TicketNumber) -> StoreResult<Option<Ticket>> {
        let body: Option<String> =
            sqlx::query_scalar(&q("SELECT body FROM queue_tickets WHERE center_id = ? AND day = ? AND letter = ? AND seq = ?"))
                .bind(self.center.id())
                .bind(day.to_string())
                .bind(number.category.to_string())
                .bind(i64::from(number.seq))
                .fetch_optional(&mut *self.c)
                .await?;
        body.map(|b| decode(&b)).transpose()
    }

    async fn ticket_at_window(&mut self, window: u32) -> StoreResult<Option<Ticket>> {
        ticket_at_window(&mut self.c, self.center.id(), window).await
    }

    async fn waiting_for(
        &mut self,
        day: NaiveDate,
        window: &Window,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<Ticket>> {
        let in_categories = if window.categories.is_empty() {
            "FALSE".to_owned()
        } else {
            format!("target_window IS NULL AND category IN ({})", vec!["?"; window.categories.len()].join(", "))
        };
        let sql = format!(
            "SELECT body FROM queue_tickets WHERE center_id = ? AND day = ? AND status = '{}' AND (({in_categories}) OR target_window = ?) \
             AND (slot_start IS NULL OR slot_start <= ?) ORDER BY tier, rank_at, letter, seq LIMIT ?",
            TicketStatus::Waiting.label()
        );
        let sql = q(&sql);
        let mut query = sqlx::query_scalar::<_, String>(&sql).bind(self.center.id()).bind(day.to_string());
        for letter in &window.categories {
            query = query.bind(letter.to_string());
        }
        let bodies = query
            .bind(i64::from(window.number))
            .bind(now.timestamp_millis())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *self.c)
            .await?;
        bodies.iter().map(|b| decode(b)).collect()
    }

    async fn day_tickets(&mut self, day: NaiveDate) -> StoreResult<Vec<Ticket>> {
        let bodies: Vec<String> = sqlx::query_scalar(&q("SELECT body FROM queue_tickets WHERE center_id = ? AND day = ?"))
            .bind(self.center.id())
            .bind(day.to_string())
            .fetch_all(&mut *self.c)
            .await?;
        bodies.iter().map(|b| decode(b)).collect()
    }

    async fn day_tickets_since(&mut self, day: NaiveDate, rev: u64) -> StoreResult<Vec<Ticket>> {
        let bodies: Vec<String> =
            sqlx::query_scalar(&q("SELECT body FROM queue_tickets WHERE center_id = ? AND day = ? AND rev > ?"))
                .bind(self.center.id())
                .bind(day.to_string())
                .bind(i64::try_from(rev).unwrap_or(i64::MAX))
                .fetch_all(&mut *self.c)
                .await?;
        bodies.iter().map(|b| decode(b)).collect()
    }

    async fn pauses(&mut self) -> StoreResult<Vec<(u32, WindowPause)>> {
        let rows = sqlx::query(&q("SELECT window_no, paused_reason, paused_at, paused_by FROM queue_windows \
             WHERE center_id = ? AND paused_reason IS NOT NULL"))
        .bind(self.center.id())
        .fetch_all(&mut *self.c)
        .await?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get("window_no")?;
                Ok((u32::try_from(n).map_err(corrupt)?, pause_from_row(r)?))
            })
            .collect()
    }

    async fn in_play_before(&mut self, day: NaiveDate) -> StoreResult<Vec<Ticket>> {
        let sql = format!(
            "SELECT body FROM queue_tickets WHERE center_id = ? AND status IN {} AND day < ?",
            ticket_statuses(TicketStatus::is_in_play)
        );
        let bodies: Vec<String> =
            sqlx::query_scalar(&q(&sql)).bind(self.center.id()).bind(day.to_string()).fetch_all(&mut *self.c).await?;
        bodies.iter().map(|b| decode(b)).collect()
    }

    async fn last_seq(&mut self, day: NaiveDate, letter: char) -> StoreResult<u32> {
        let last: i64 =
            sqlx::query_scalar(&q(
                "SELECT COALESCE(MAX(seq), 0) FROM queue_tickets WHERE center_id = ? AND day = ? AND letter = ?",
            ))
            .bind(self.center.id())
                .bind(day.to_string())
                .bind(letter.to_string())
                .fetch_one(&mut *self.c)
                .await?;
        Ok(u32::try_from(last).unwrap_or(u32::MAX))
    }

    async fn insert_ticket(&mut self, t: &Ticket) -> StoreResult<()> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            q(&format!(
                "INSERT INTO queue_tickets ({}) \
                 VALUES ({}, (SELECT rev FROM queue_revision WHERE center_id = ?))",
                *TICKET_COLUMNS, *TICKET_ROW_PLACEHOLDERS
            ))
            .into_owned()
        });
        bind_ticket_row(sqlx::query(&SQL), t, t.window.map(i64::from), self.center.id())?
            .bind(self.center.id())
            .execute(&mut *self.c)
            .await?;
        Ok(())
    }

    async fn save_ticket(&mut self, t: &Ticket) -> StoreResult<()> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            q(&format!(
                "UPDATE queue_tickets SET {}, rev = (SELECT rev FROM queue_revision WHERE center_id = ?) \
                 WHERE center_id = ? AND id = ?",
                ticket_state_set(|_| "?".into())
            ))
            .into_owned()
        });
        bind_ticket_state(sqlx::query(&SQL), t, t.window.map(i64::from))?
            .bind(self.center.id())
            .bind(self.center.id())
            .bind(t.id.to_string())
            .execute(&mut *self.c)
            .await?;
        Ok(())
    }

    async fn put_tickets(&mut self, tickets: &[TicketWrite]) -> StoreResult<()> {
        // The store's rule of one ticket per window is checked row by row, and no order of the
        // rows satisfies it for every batch (a swap of two windows' tickets): first every row
        // with the window of those at one left empty, so none of these tickets holds a window;
        // then those at a window are placed. Two statements per batch, whatever it holds.
        for chunk in tickets.chunks(PUT_TICKETS_CHUNK) {
            self.upsert_tickets(chunk, true).await?;
        }
        let placed: Vec<TicketWrite> = tickets.iter().filter(|w| w.ticket.status.is_at_window()).cloned().collect();
        for chunk in placed.chunks(PUT_TICKETS_CHUNK) {
            self.upsert_tickets(chunk, false).await?;
        }
        Ok(())
    }

    async fn pause(&mut self, window: u32) -> StoreResult<Option<WindowPause>> {
        let row = sqlx::query(&q("SELECT paused_reason, paused_at, paused_by FROM queue_windows \
             WHERE center_id = ? AND window_no = ? AND paused_reason IS NOT NULL"))
        .bind(self.center.id())
        .bind(i64::from(window))
        .fetch_optional(&mut *self.c)
        .await?;
        row.map(|r| pause_from_row(&r)).transpose()
    }

    async fn set_pause(&mut self, window: u32, pause: Option<&WindowPause>) -> StoreResult<()> {
        match pause {
            Some(p) => {
                sqlx::query(&q(
                    "INSERT INTO queue_windows (window_no, paused_reason, paused_at, paused_by, center_id) \
                     VALUES (?, ?, ?, ?, ?) \
                     ON CONFLICT (center_id, window_no) DO UPDATE SET paused_reason = excluded.paused_reason, \
                     paused_at = excluded.paused_at, paused_by = excluded.paused_by",
                ))
                .bind(i64::from(window))
                .bind(&p.reason)
                .bind(p.since.timestamp_millis())
                .bind(&p.by)
                .bind(self.center.id())
                .execute(&mut *self.c)
                .await?;
            }
            None => {
                sqlx::query(&q("UPDATE queue_windows SET paused_reason = NULL, paused_at = NULL, paused_by = NULL \
                     WHERE center_id = ? AND window_no = ?"))
                .bind(self.center.id())
                .bind(i64::from(window))
                .execute(&mut *self.c)
                .await?;
            }
        }
        Ok(())
    }

    async fn set_pauses(&mut self, pauses: &[(u32, Option<WindowPause>)]) -> StoreResult<()> {
        if pauses.is_empty() {
            return Ok(());
        }
        // A resumed window's row stays, its pause cleared (a window with no row has no pause).
        let sql = format!(
            "INSERT INTO queue_windows (window_no, paused_reason, paused_at, paused_by, center_id) VALUES {} \
             ON CONFLICT (center_id, window_no) DO UPDATE SET paused_reason = excluded.paused_reason, \
             paused_at = excluded.paused_at, paused_by = excluded.paused_by",
            vec!["(?, ?, ?, ?, ?)"; pauses.len()].join(", ")
        );
        let sql = q(&sql);
        let mut query = sqlx::query(&sql);
        for (window, pause) in pauses {
            query = query
                .bind(i64::from(*window))
                .bind(pause.as_ref().map(|p| p.reason.clone()))
                .bind(pause.as_ref().map(|p| p.since.timestamp_millis()))
                .bind(pause.as_ref().map(|p| p.by.clone()))
                .bind(self.center.id());
        }
        query.execute(&mut *self.c).await?;
        Ok(())
    }

    async fn slot_plans(&mut self) -> StoreResult<Vec<SlotPlan>> {
        let rows = sqlx::query(&q(
            "SELECT category, start_min, end_min, capacity FROM appointment_slots WHERE center_id = ? \
             ORDER BY category, start_min",
        ))
        .bind(self.center.id())
        .fetch_all(&mut *self.c)
        .await?;
        let time = |m: i64| {
            u32::try_from(m)
                .ok()
                .and_then(|m| chrono::NaiveTime::from_num_seconds_from_midnight_opt(m * 60, 0))
                .unwrap_or(chrono::NaiveTime::MIN)
        };
        Ok(rows
            .iter()
            .filter_map(|r| {
                let category = r.get::<String, _>("category").chars().next()?;
                Some(SlotPlan {
                    category,
                    start: time(r.get("start_min")),
                    end: time(r.get("end_min")),
                    capacity: u32::try_from(r.get::<i64, _>("capacity")).unwrap_or(0),
                })
            })
            .collect())
    }

    async fn replace_slot_plans(&mut self, category: char, plans: &[SlotPlan]) -> StoreResult<()> {
        sqlx::query(&q("DELETE FROM appointment_slots WHERE center_id = ? AND category = ?"))
            .bind(self.center.id())
            .bind(category.to_string())
            .execute(&mut *self.c)
            .await?;
        let minutes = |t: chrono::NaiveTime| i64::from(chrono::Timelike::num_seconds_from_midnight(&t) / 60);
        for p in plans {
            sqlx::query(&q(
                "INSERT INTO appointment_slots (category, start_min, end_min, capacity, center_id) \
                 VALUES (?, ?, ?, ?, ?)",
            ))
            .bind(category.to_string())
            .bind(minutes(p.start))
            .bind(minutes(p.end))
            .bind(i64::from(p.capacity))
            .bind(self.center.id())
            .execute(&mut *self.c)
            .await?;
        }
        Ok(())
    }

    async fn booked_in_slot(&mut self, category: char, slot_start: DateTime<Utc>) -> StoreResult<u32> {
        let n: i64 = sqlx::query_scalar(&q(
            "SELECT COUNT(*) FROM appointment_bookings b JOIN queue_tickets t ON t.id = b.ticket_id \
             WHERE b.center_id = ? AND b.category = ? AND b.slot_start = ? AND t.status <> ?",
        ))
        .bind(self.center.id())
        .bind(category.to_string())
        .bind(slot_start.timestamp_millis())
        .bind(TicketStatus::Expired.label())
        .fetch_one(&mut *self.c)
        .await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn booking_code_taken(&mut self, day: NaiveDate, code: &str) -> StoreResult<bool> {
        let found: i64 = sqlx::query_scalar(&q(
            "SELECT COUNT(*) FROM appointment_bookings WHERE center_id = ? AND day = ? AND code = ?",
        ))
        .bind(self.center.id())
            .bind(day.to_string())
            .bind(code)
            .fetch_one(&mut *self.c)
            .await?;
        Ok(found > 0)
    }

    async fn insert_booking(&mut self, t: &Ticket, code: &str, phone: Option<&str>) -> StoreResult<()> {
        let slot_start = t.appointment.map_or(0, |a| a.slot_start.timestamp_millis());
        sqlx::query(&q("INSERT INTO appointment_bookings (ticket_id, day, category, slot_start, code, phone, center_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?)"))
        .bind(t.id.to_string())
        .bind(t.day.to_string())
        .bind(t.number.category.to_string())
        .bind(slot_start)
        .bind(code)
        .bind(phone)
        .bind(self.center.id())
        .execute(&mut *self.c)
        .await?;
        Ok(())
    }

    async fn bookings_of(&mut self, day: NaiveDate, find: BookingKey<'_>) -> StoreResult<Vec<Ticket>> {
        let (column, value) = match find {
            BookingKey::Code(code) => ("code", code),
            BookingKey::Phone(phone) => ("phone", phone),
        };
        let bodies: Vec<String> = sqlx::query_scalar(&q(&format!(
            "SELECT t.body FROM appointment_bookings b JOIN queue_tickets t ON t.id = b.ticket_id \
             WHERE b.center_id = ? AND b.day = ? AND b.{column} = ? AND t.status = ? ORDER BY b.slot_start, t.seq"
        )))
        .bind(self.center.id())
        .bind(day.to_string())
        .bind(value)
        .bind(TicketStatus::Booked.label())
        .fetch_all(&mut *self.c)
        .await?;
        bodies.iter().map(|b| decode(b)).collect()
    }
}

#[async_trait]
impl<C: DerefMut<Target = Conn> + Send> DutyUnit for BackendUnit<C> {
    async fn windows(&mut self) -> StoreResult<Vec<Window>> {
        load_windows(&mut self.c, self.center.id()).await
    }

    async fn duties(&mut self) -> StoreResult<Vec<(u32, DutyState)>> {
        load_duties(&mut self.c, self.center.id()).await
    }

    async fn duty_changed_at(&mut self, window: u32) -> StoreResult<Option<DateTime<Utc>>> {
        let changed_at: Option<Option<i64>> = sqlx::query_scalar(&q("SELECT changed_at FROM duty WHERE center_id = ? AND window_no = ?"))
            .bind(self.center.id())
            .bind(i64::from(window))
            .fetch_optional(&mut *self.c)
            .await?;
        Ok(changed_at.flatten().and_then(DateTime::from_timestamp_micros))
    }

    async fn write_duty(&mut self, window: u32, duty: &DutyState, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(&q("INSERT INTO duty (window_no, body, changed_at, center_id) VALUES (?, ?, ?, ?) \
             ON CONFLICT (center_id, window_no) DO UPDATE SET body = excluded.body, changed_at = excluded.changed_at"))
        .bind(i64::from(window))
        .bind(serde_json::to_string(duty)?)
        .bind(at.timestamp_micros())
        .bind(self.center.id())
        .execute(&mut *self.c)
        .await?;
        Ok(())
    }

    async fn staff(&mut self, id: &str) -> StoreResult<Option<Staff>> {
        let row = sqlx::query(&q("SELECT id, name, role, active FROM staff WHERE center_id = ? AND id = ?"))
            .bind(self.center.id())
            .bind(id)
            .fetch_optional(&mut *self.c)
            .await?;
        row.map(|r| super::store::staff_from_row(&r)).transpose()
    }

    async fn save_window(&mut self, window: &Window) -> StoreResult<()> {
        sqlx::query(&q("UPDATE windows SET body = ? WHERE center_id = ? AND window_no = ?"))
            .bind(serde_json::to_string(window)?)
            .bind(self.center.id())
            .bind(i64::from(window.number))
            .execute(&mut *self.c)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl<C: DerefMut<Target = Conn> + Send> CatalogueUnit for BackendUnit<C> {
    async fn catalogue_seq(&mut self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(&q("SELECT COALESCE(MAX(seq), 0) FROM guides")).fetch_one(&mut *self.c).await?)
    }

    async fn guide(&mut self, code: &str) -> StoreResult<Option<ServiceGuide>> {
        let body: Option<String> = sqlx::query_scalar(&q("SELECT body FROM guides WHERE code = ?"))
            .bind(code)
            .fetch_optional(&mut *self.c)
            .await?;
        body.map(|b| decode(&b)).transpose()
    }

    async fn guide_bodies_by_code(&mut self, codes: &[&str]) -> StoreResult<Vec<(String, String)>> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT code, body FROM guides WHERE code IN ({})", vec!["?"; codes.len()].join(", "));
        let sql = q(&sql);
        let mut query = sqlx::query_as(&sql);
        for code in codes {
            query = query.bind(*code);
        }
        Ok(query.fetch_all(&mut *self.c).await?)
    }

    async fn put_guides(&mut self, guides: &[(ServiceGuide, i64)]) -> StoreResult<()> {
        if guides.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO guides (code, seq, revision, body) VALUES {} \
             ON CONFLICT (code) DO UPDATE SET seq = excluded.seq, revision = excluded.revision, body = excluded.body",
            vec!["(?, ?, ?, ?)"; guides.len()].join(", ")
        );
        let sql = q(&sql);
        let mut query = sqlx::query(&sql);
        for (guide, seq) in guides {
            query =
                query.bind(&guide.code).bind(*seq).bind(i64::from(guide.revision)).bind(serde_json::to_string(guide)?);
        }
        query.execute(&mut *self.c).await?;
        Ok(())
    }

    async fn put_guide(&mut self, guide: &ServiceGuide, seq: i64) -> StoreResult<()> {
        sqlx::query(&q("INSERT INTO guides (code, seq, revision, body) VALUES (?, ?, ?, ?) \
             ON CONFLICT (code) DO UPDATE SET seq = excluded.seq, revision = excluded.revision, body = excluded.body"))
        .bind(&guide.code)
        .bind(seq)
        .bind(i64::from(guide.revision))
        .bind(serde_json::to_string(guide)?)
        .execute(&mut *self.c)
        .await?;
        Ok(())
    }
}
