//! The [`Store`] reads and writes shared by both backends (`sqlite`, `postgres`): the same
//! statements, written with `?` placeholders and put in the backend's dialect by `q`.

use async_trait::async_trait;
use sqlx::Row;

use super::{Backend, DbRow, q};
use crate::api::{RecordEnvelope, StreamStatus};
use crate::domain::calendar::WorkCalendar;
use crate::domain::case::Case;
use crate::domain::center::{Center, Window};
use crate::domain::guide::ServiceGuide;
use crate::domain::handover::DutyState;
use crate::domain::staff::{Role, Staff};
use crate::domain::ticket::{QueueCategory, Ticket};
use crate::server::store::{SeedData, SlipConfig, StaffCredentials, Store, StoreError, StoreResult, StoredSession};

fn decode<T: serde::de::DeserializeOwned>(body: &str) -> StoreResult<T> {
    Ok(serde_json::from_str(body)?)
}

/// A queue category from its row's `letter` and `name`.
fn category(letter: String, name: String) -> QueueCategory {
    QueueCategory { letter: letter.chars().next().unwrap_or('?'), name }
}

fn encode<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    Ok(serde_json::to_string(value)?)
}

pub(super) fn parse_uuid(text: &str) -> StoreResult<uuid::Uuid> {
    text.parse().map_err(|e: uuid::Error| StoreError::Corrupt(serde::de::Error::custom(e)))
}

fn role_from_db(text: &str) -> StoreResult<Role> {
    decode(&format!("\"{text}\""))
}

pub(super) fn staff_from_row(row: &DbRow) -> StoreResult<Staff> {
    Ok(Staff {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: role_from_db(row.try_get("role")?)?,
        active: row.try_get::<i64, _>("active")? != 0,
    })
}

#[async_trait]
impl Store for Backend {
    fn for_center(&self, center: &str) -> std::sync::Arc<dyn Store> {
        std::sync::Arc::new(self.bound_to(center))
    }

    fn for_county(&self) -> std::sync::Arc<dyn Store> {
        std::sync::Arc::new(self.for_the_county())
    }

    async fn staff_center(&self, id: &str) -> StoreResult<Option<Option<String>>> {
        // County-wide, as `staff_credentials`: which center an account belongs to is what an
        // admin command binds its handle to.
        let row: Option<Option<String>> = sqlx::query_scalar(&q("SELECT center_id FROM staff WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row)
    }

    async fn bound_center(&self) -> StoreResult<std::sync::Arc<str>> {
        self.center_id().await
    }

    async fn is_seeded(&self) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(&q("SELECT COUNT(*) FROM center")).fetch_one(&self.pool).await?;
        Ok(n > 0)
    }

    async fn seed(&self, seed: &SeedData) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(&q("INSERT INTO center (id, body) VALUES (?, ?)"))
            .bind(&seed.center.id)
            .bind(encode(&seed.center)?)
            .execute(&mut *tx)
            .await?;
        // The center's queue revision counter (one per center since migration 0025/0008).
        sqlx::query(&q("INSERT INTO queue_revision (center_id, rev) VALUES (?, 0)"))
            .bind(&seed.center.id)
            .execute(&mut *tx)
            .await?;
        for c in &seed.categories {
            sqlx::query(&q("INSERT INTO queue_categories (letter, name, center_id) VALUES (?, ?, ?)"))
                .bind(c.letter.to_string())
                .bind(&c.name)
                .bind(&seed.center.id)
                .execute(&mut *tx)
                .await?;
        }
        for s in &seed.staff {
            sqlx::query(&q("INSERT INTO staff (id, name, role, active, password_hash, center_id) VALUES (?, ?, ?, ?, ?, ?)"))
                .bind(&s.staff.id)
                .bind(&s.staff.name)
                .bind(s.staff.role.label())
                .bind(i64::from(s.staff.active))
                .bind(&s.password_hash)
                .bind(&seed.center.id)
                .execute(&mut *tx)
                .await?;
        }
        for w in &seed.windows {
            sqlx::query(&q("INSERT INTO windows (window_no, body, center_id) VALUES (?, ?, ?)"))
                .bind(i64::from(w.number))
                .bind(encode(w)?)
                .bind(&seed.center.id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(&q("INSERT INTO duty (window_no, body, center_id) VALUES (?, ?, ?)"))
                .bind(i64::from(w.number))
                .bind(encode(&DutyState::AOnDuty)?)
                .bind(&seed.center.id)
                .execute(&mut *tx)
                .await?;
        }
        for (i, g) in seed.guides.iter().enumerate() {
            sqlx::query(&q("INSERT INTO guides (code, seq, revision, body) VALUES (?, ?, ?, ?)"))
                .bind(&g.code)
                .bind(i as i64 + 1)
                .bind(i64::from(g.revision))
                .bind(encode(g)?)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn center(&self) -> StoreResult<Option<Center>> {
        // The handle's center; a database not yet seeded has none.
        let center = match self.center_id().await {
            Err(StoreError::CenterNotChosen { centers: 0 }) => return Ok(None),
            other => other?,
        };
        let body: Option<String> = sqlx::query_scalar(&q("SELECT body FROM center WHERE id = ?"))
            .bind(&*center)
            .fetch_optional(&self.pool)
            .await?;
        body.map(|b| decode(&b)).transpose()
    }

    async fn centers(&self) -> StoreResult<Vec<Center>> {
        let rows: Vec<String> =
            sqlx::query_scalar(&q("SELECT body FROM center ORDER BY id")).fetch_all(&self.pool).await?;
        rows.iter().map(|b| decode(b)).collect()
    }

    async fn windows(&self) -> StoreResult<Vec<Window>> {
        let rows: Vec<String> =
            sqlx::query_scalar(&q("SELECT body FROM windows WHERE center_id = ? ORDER BY window_no"))
                .bind(&*self.center_id().await?)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|b| decode(b)).collect()
    }

    async fn categories(&self) -> StoreResult<Vec<QueueCategory>> {
        let rows = sqlx::query(&q("SELECT letter, name FROM queue_categories WHERE center_id = ? ORDER BY letter"))
            .bind(&*self.center_id().await?)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(category(r.try_get("letter")?, r.try_get("name")?))).collect()
    }

    async fn slip_config(&self) -> StoreResult<SlipConfig> {
        // One statement, one snapshot: the names are those of the configuration revision read
        // with them (every write of the center's row or of a category bumps it, by trigger).
        let rows = sqlx::query(&q("SELECT r.config_rev, c.body, q.letter, q.name FROM queue_revision r \
             JOIN center c ON c.id = r.center_id \
             LEFT JOIN queue_categories q ON q.center_id = r.center_id \
             WHERE r.center_id = ? ORDER BY q.letter"))
        .bind(&*self.center_id().await?)
        .fetch_all(&self.pool)
        .await?;
        let Some(first) = rows.first() else { return Err(sqlx::Error::RowNotFound.into()) };
        let config_rev: i64 = first.try_get(0)?;
        let center: Center = decode(first.try_get(1)?)?;
        let mut categories = Vec::with_capacity(rows.len());
        for r in &rows {
            let letter: Option<String> = r.try_get(2)?;
            let name: Option<String> = r.try_get(3)?;
            if let (Some(letter), Some(name)) = (letter, name) {
                categories.push(category(letter, name));
            }
        }
        Ok(SlipConfig { config_rev: u64::try_from(config_rev).unwrap_or_default(), center_name: center.name, categories })
    }

    async fn all_staff(&self) -> StoreResult<Vec<Staff>> {
        // The handle's center's staff (the county's own accounts, center NULL, are not listed).
        let rows = sqlx::query(&q("SELECT id, name, role, active FROM staff WHERE center_id = ? ORDER BY id"))
            .bind(&*self.center_id().await?)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(staff_from_row).collect()
    }

    async fn staff_member(&self, id: &str) -> StoreResult<Option<Staff>> {
        let row = sqlx::query(&q("SELECT id, name, role, active FROM staff WHERE center_id = ? AND id = ?"))
            .bind(&*self.center_id().await?)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| staff_from_row(&r)).transpose()
    }

    async fn staff_credentials(&self, id: &str) -> StoreResult<Option<StaffCredentials>> {
        // County-wide on purpose: sign-in comes before anyone knows the center (staff ids are
        // unique in the county), so it must work on a handle not bound to one; the row's
        // center_id is what the session then binds (see `session`).
        let row = sqlx::query(&q("SELECT id, name, role, active, password_hash, center_id FROM staff WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(StaffCredentials { staff: staff_from_row(&r)?, password_hash: r.try_get("password_hash")? }))
            .transpose()
    }

    async fn create_session(&self, token_hash: &str, staff_id: &str, now: i64, expires_at: i64) -> StoreResult<()> {
        sqlx::query(&q("INSERT INTO sessions (token_hash, staff_id, created_at, expires_at) VALUES (?, ?, ?, ?)"))
            .bind(token_hash)
            .bind(staff_id)
            .bind(now)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        // Expired sessions are of no use to anyone; drop them while we are writing anyway.
        sqlx::query(&q("DELETE FROM sessions WHERE expires_at < ?")).bind(now).execute(&self.pool).await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<StoredSession>> {
        let row = sqlx::query(&q(
            "SELECT s.id, s.name, s.role, s.active, s.center_id, x.expires_at \
             FROM sessions x JOIN staff s ON s.id = x.staff_id WHERE x.token_hash = ?",
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(StoredSession {
                staff: staff_from_row(&r)?,
                center: r.try_get("center_id")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    async fn session_at_window(
        &self,
        token_hash: &str,
        window: u32,
    ) -> StoreResult<Option<(StoredSession, Option<(Window, DutyState)>)>> {
        let row = sqlx::query(&q(
            "SELECT s.id, s.name, s.role, s.active, s.center_id, x.expires_at, w.body AS window_body, d.body AS duty_body \
             FROM sessions x JOIN staff s ON s.id = x.staff_id \
             LEFT JOIN windows w ON w.center_id = s.center_id AND w.window_no = ? \
             LEFT JOIN duty d ON d.center_id = w.center_id AND d.window_no = w.window_no \
             WHERE x.token_hash = ?",
        ))
        .bind(i64::from(window))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let session =
            StoredSession { staff: staff_from_row(&r)?, center: r.try_get("center_id")?, expires_at: r.try_get("expires_at")? };
        let window: Option<String> = r.try_get("window_body")?;
        let duty: Option<String> = r.try_get("duty_body")?;
        let place = match window {
            Some(w) => Some((decode(&w)?, duty.map(|d| decode(&d)).transpose()?.unwrap_or(DutyState::Closed))),
            None => None,
        };
        Ok(Some((session, place)))
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query(&q("DELETE FROM sessions WHERE token_hash = ?")).bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    async fn guides_since(&self, since: i64) -> StoreResult<(i64, Vec<ServiceGuide>)> {
        let rows: Vec<String> = sqlx::query_scalar(&q("SELECT body FROM guides WHERE seq > ? ORDER BY seq"))
            .bind(since)
            .fetch_all(&self.pool)
            .await?;
        let guides = rows.iter().map(|b| decode(b)).collect::<StoreResult<Vec<_>>>()?;
        Ok((self.catalogue_seq().await?, guides))
    }

    async fn guides_page(
        &self,
        since: i64,
        limit: Option<u32>,
        max_bytes: usize,
    ) -> StoreResult<crate::api::GuidePage> {
        // One row past the limit says whether more follow.
        let rows: Vec<(i64, String)> = match limit {
            Some(limit) => {
                sqlx::query_as(&q("SELECT seq, body FROM guides WHERE seq > ? ORDER BY seq LIMIT ?"))
                    .bind(since)
                    .bind(i64::from(limit) + 1)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query_as(&q("SELECT seq, body FROM guides WHERE seq > ? ORDER BY seq"))
                    .bind(since)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        let limit = limit.map_or(usize::MAX, |n| n.max(1) as usize);
        let mut guides = Vec::with_capacity(rows.len().min(limit));
        let (mut seq, mut bytes, mut more) = (None, 0usize, false);
        for (row_seq, body) in &rows {
            if guides.len() == limit || (!guides.is_empty() && limit != usize::MAX && bytes + body.len() > max_bytes) {
                more = true;
                break;
            }
            bytes += body.len();
            guides.push(decode(body)?);
            seq = Some(*row_seq);
        }
        let seq = match seq {
            Some(seq) => seq,
            // Nothing after `since`: the terminal is current. A change committed since the read
            // above must not be skipped, so never answer past `since`; a terminal ahead of the
            // server (its database replaced) is brought back to the server's sequence.
            None => since.min(self.catalogue_seq().await?),
        };
        Ok(crate::api::GuidePage { seq, guides, more, removed: Vec::new() })
    }

    async fn guide(&self, code: &str) -> StoreResult<Option<ServiceGuide>> {
        let body: Option<String> = sqlx::query_scalar(&q("SELECT body FROM guides WHERE code = ?"))
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        body.map(|b| decode(&b)).transpose()
    }

    async fn catalogue_seq(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(&q("SELECT COALESCE(MAX(seq), 0) FROM guides")).fetch_one(&self.pool).await?)
    }

    async fn duty(&self, window: u32) -> StoreResult<DutyState> {
        let body: Option<String> = sqlx::query_scalar(&q("SELECT body FROM duty WHERE center_id = ? AND window_no = ?"))
            .bind(&*self.center_id().await?)
            .bind(i64::from(window))
            .fetch_optional(&self.pool)
            .await?;
        Ok(body.map(|b| decode(&b)).transpose()?.unwrap_or(DutyState::Closed))
    }

    async fn place(&self, window: u32) -> StoreResult<Option<(Window, DutyState)>> {
        let row: Option<(String, Option<String>)> = sqlx::query_as(&q(
            "SELECT w.body, d.body FROM windows w \
             LEFT JOIN duty d ON d.center_id = w.center_id AND d.window_no = w.window_no \
             WHERE w.center_id = ? AND w.window_no = ?",
        ))
        .bind(&*self.center_id().await?)
        .bind(i64::from(window))
        .fetch_optional(&self.pool)
        .await?;
        let Some((window, duty)) = row else { return Ok(None) };
        Ok(Some((decode(&window)?, duty.map(|d| decode(&d)).transpose()?.unwrap_or(DutyState::Closed))))
    }

    async fn waiting_count(&self, day: chrono::NaiveDate, categories: &[char]) -> StoreResult<u32> {
        let (mut total, center) = (0i64, self.center_id().await?);
        for c in categories {
            let n: i64 = sqlx::query_scalar(&q("SELECT COUNT(*) FROM queue_tickets \
                 WHERE center_id = ? AND day = ? AND status = ? AND category = ? AND target_window IS NULL"))
            .bind(&*center)
            .bind(day.to_string())
            .bind(crate::domain::ticket::TicketStatus::Waiting.label())
            .bind(c.to_string())
            .fetch_one(&self.pool)
            .await?;
            total += n;
        }
        Ok(u32::try_from(total).unwrap_or(u32::MAX))
    }

    async fn ticket_at_window(&self, window: u32) -> StoreResult<Option<Ticket>> {
        let mut c = self.pool.acquire().await?;
        super::unit::ticket_at_window(&mut c, &self.center_id().await?, window).await
    }

    async fn rate_ticket(
        &self,
        rating: &crate::domain::rating::Rating,
        ticket_id: uuid::Uuid,
        author: &str,
        follow_up: Option<&crate::domain::follow_up::FollowUp>,
    ) -> StoreResult<bool> {
        // The rating and the follow-up it opens are kept together or not at all.
        let center = self.center_id().await?;
        let mut tx = self.pool.begin().await?;
        let kept = insert_rating(&mut tx, &center, rating, ticket_id, author, follow_up).await?;
        tx.commit().await?;
        Ok(kept)
    }

    async fn ticket_rating(&self, id: uuid::Uuid) -> StoreResult<Option<(uuid::Uuid, crate::domain::rating::Rating)>> {
        let row: Option<(String, String)> =
            sqlx::query_as(&q("SELECT ticket_id, body FROM ratings WHERE id = ? AND ticket_id IS NOT NULL AND center_id = ?"))
                .bind(id.to_string())
                .bind(&*self.center_id().await?)
                .fetch_optional(&self.pool)
                .await?;
        let Some((ticket, body)) = row else { return Ok(None) };
        Ok(Some((parse_uuid(&ticket)?, decode(&body)?)))
    }

    async fn ticket_rated(&self, ticket_id: uuid::Uuid) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(&q("SELECT COUNT(*) FROM ratings WHERE ticket_id = ? AND center_id = ?"))
            .bind(ticket_id.to_string())
            .bind(&*self.center_id().await?)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    async fn rating_counts(&self, day: chrono::NaiveDate) -> StoreResult<(u32, u32)> {
        let (rated, bad): (i64, i64) =
            sqlx::query_as(&q("SELECT COUNT(*), CAST(COALESCE(SUM(bad), 0) AS BIGINT) FROM ratings \
                 WHERE center_id = ? AND ticket_id IS NOT NULL AND day = ?"))
            .bind(&*self.center_id().await?)
            .bind(day.to_string())
            .fetch_one(&self.pool)
            .await?;
        Ok((u32::try_from(rated).unwrap_or(0), u32::try_from(bad).unwrap_or(0)))
    }

    async fn open_cases(&self, window: u32) -> StoreResult<Vec<Case>> {
        let sql = format!(
            "SELECT body FROM cases WHERE center_id = ? AND window_no = ? AND status IN {} ORDER BY opened_at",
            crate::server::store::repo::case_statuses(crate::domain::case::CaseStatus::is_open)
        );
        let rows: Vec<String> = sqlx::query_scalar(&q(&sql))
            .bind(&*self.center_id().await?)
            .bind(i64::from(window))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|b| decode(b)).collect()
    }

    async fn stream_status(&self, window: u32, device: Option<uuid::Uuid>) -> StoreResult<Vec<StreamStatus>> {
        // By the center's heads (stream_heads_by_window): a center has a few hundred logs.
        let rows = sqlx::query(&q(
            "SELECT device, stream, last FROM stream_heads WHERE center_id = ? AND (window_no = ? OR device = ?) \
             ORDER BY device, stream",
        ))
        .bind(&*self.center_id().await?)
        .bind(i64::from(window))
        .bind(device.map(|d| d.to_string()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StreamStatus {
                    device: parse_uuid(r.try_get("device")?)?,
                    stream: r.try_get("stream")?,
                    last: r.try_get::<i64, _>("last")? as u64,
                })
            })
            .collect()
    }

    async fn records(
        &self,
        device: uuid::Uuid,
        stream: &str,
        from: u64,
        limit: usize,
    ) -> StoreResult<Vec<RecordEnvelope>> {
        let rows: Vec<String> = sqlx::query_scalar(&q(
            "SELECT envelope FROM device_records WHERE device = ? AND stream = ? AND idx >= ? AND center_id = ? \
             ORDER BY idx LIMIT ?",
        ))
        .bind(device.to_string())
        .bind(stream)
        .bind(from as i64)
        .bind(&*self.center_id().await?)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|b| decode(b)).collect()
    }

    async fn calendar(&self) -> StoreResult<Option<(i64, WorkCalendar)>> {
        let row = sqlx::query(&q("SELECT seq, body FROM calendar WHERE id = 1")).fetch_optional(&self.pool).await?;
        row.map(|r| {
            let seq: i64 = r.try_get("seq")?;
            let body: String = r.try_get("body")?;
            let calendar = WorkCalendar::from_json(&body)
                .map_err(|e| StoreError::Corrupt(serde::de::Error::custom(e.to_string())))?;
            Ok((seq, calendar))
        })
        .transpose()
    }

    async fn put_calendar(&self, calendar: &WorkCalendar) -> StoreResult<i64> {
        let seq: i64 = sqlx::query_scalar(&q("INSERT INTO calendar (id, seq, body) VALUES (1, 1, ?) \
             ON CONFLICT (id) DO UPDATE SET seq = calendar.seq + 1, body = excluded.body RETURNING seq"))
        .bind(calendar.to_json())
        .fetch_one(&self.pool)
        .await?;
        Ok(seq)
    }

    async fn visits_since(&self, window: u32, since: i64) -> StoreResult<u32> {
        let n: i64 = sqlx::query_scalar(&q(
            "SELECT COUNT(*) FROM visits WHERE center_id = ? AND window_no = ? AND created_at >= ?",
        ))
        .bind(&*self.center_id().await?)
        .bind(i64::from(window))
            .bind(since)
            .fetch_one(&self.pool)
            .await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    // Which staff used a device is county-wide: it names staff, whose rows say their center (a
    // device moved between centers keeps its history).
    async fn bind_device(&self, device: uuid::Uuid, staff_id: &str, now: i64) -> StoreResult<()> {
        sqlx::query(&q(
            "INSERT INTO device_staff (device, staff_id, first_seen) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        ))
        .bind(device.to_string())
        .bind(staff_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn device_staff(&self, device: uuid::Uuid) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(&q("SELECT staff_id FROM device_staff WHERE device = ? ORDER BY staff_id"))
            .bind(device.to_string())
            .fetch_all(&self.pool)
            .await?)
    }

    async fn case_window(&self, case_id: uuid::Uuid) -> StoreResult<Option<u32>> {
        let n: Option<i64> = sqlx::query_scalar(&q("SELECT window_no FROM cases WHERE id = ? AND center_id = ?"))
            .bind(case_id.to_string())
            .bind(&*self.center_id().await?)
            .fetch_optional(&self.pool)
            .await?;
        Ok(n.and_then(|n| u32::try_from(n).ok()))
    }
}

/// Keeps a rating of `ticket_id` and the follow-up it opens on `c` (a transaction: the caller's
/// commit keeps both or neither): the store's one rating per ticket. Whether the rating is kept,
/// now or before (the same id of the same ticket: a resend); false when the ticket has another
/// rating or the id is another ticket's.
pub(super) async fn insert_rating(
    c: &mut super::Conn,
    center: &str,
    rating: &crate::domain::rating::Rating,
    ticket_id: uuid::Uuid,
    author: &str,
    follow_up: Option<&crate::domain::follow_up::FollowUp>,
) -> StoreResult<bool> {
    let done = sqlx::query(&q(
        "INSERT INTO ratings (id, window_no, staff_id, case_id, level, bad, rated_at, day, body, ticket_id, author, center_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    ))
    .bind(rating.id.to_string())
    .bind(i64::from(rating.window))
    .bind(&rating.staff)
    .bind(rating.case_id.map(|c| c.to_string()))
    .bind(crate::server::store::repo::code(rating.level))
    .bind(i64::from(rating.level.is_bad()))
    .bind(rating.rated_at.timestamp())
    .bind(rating.day().to_string())
    .bind(encode(rating)?)
    .bind(ticket_id.to_string())
    .bind(author)
    .bind(center)
    .execute(&mut *c)
    .await?;
    if done.rows_affected() == 1 {
        if let Some(f) = follow_up {
            super::follow_ups::insert(c, f, center).await?;
        }
        return Ok(true);
    }
    let same: Option<String> =
        sqlx::query_scalar(&q("SELECT id FROM ratings WHERE id = ? AND ticket_id = ? AND center_id = ?"))
            .bind(rating.id.to_string())
            .bind(ticket_id.to_string())
            .bind(center)
            .fetch_optional(&mut *c)
            .await?;
    Ok(same.is_some())
}
