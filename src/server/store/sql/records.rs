//! The device logs and their projections: the repository's [`RecordUnit`] on a unit of work. What to store when is `server::service::records`; here is only how.

use std::ops::DerefMut;

use async_trait::async_trait;
use chrono::SecondsFormat;
use sqlx::Row;
use uuid::Uuid;

use super::handover::{COLUMNS, corrupt, handover_from_row};
use super::{BackendUnit, Conn, DIALECT, q};
use crate::api::CaseConflict;
use crate::api::RecordEnvelope;
use crate::domain::case::{Case, CaseTransfer, CaseVersion};
use crate::domain::handover::{Acknowledgement, Handover};
use crate::domain::inquiry::Inquiry;
use crate::domain::notice::OneTimeNotice;
use crate::server::store::StoreResult;
use crate::server::store::repo::{HeldCase, RecordUnit, code};

#[async_trait]
impl<C: DerefMut<Target = Conn> + Send> RecordUnit for BackendUnit<C> {
    // A device log belongs to the center that first stored into it, as its head says (every unit
    // that stores records moves their logs' heads before it commits): a record for a log another
    // center holds is not stored, and then, not being this center's at its place, is a conflict.
    // The head is one key lookup; the log's own rows would be a scan of the log per record.
    // The head is claimed before the record is stored: two centers storing the first records of
    // one device id at once (a forged or copied id) each found no head and each stored its own
    // records, a log split across centers. The claim is a unique-key insert, so the second
    // center's waits for the first one's unit and then finds the head its own (a no-op) or
    // another center's (its record is not stored: a conflict).
    async fn insert_record(&mut self, r: &RecordEnvelope, received_at: i64) -> StoreResult<bool> {
        sqlx::query(&q("INSERT INTO stream_heads (device, stream, window_no, last, center_id) VALUES (?, ?, ?, 0, ?) \
             ON CONFLICT (device, stream) DO NOTHING"))
        .bind(r.device.to_string())
        .bind(&r.stream)
        .bind(i64::from(r.window))
        .bind(self.center.id())
        .execute(&mut *self.c)
        .await?;
        let done = sqlx::query(&q("INSERT INTO device_records \
             (device, stream, idx, id, window_no, kind, author, post, created_at, received_at, envelope, center_id) \
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS \
             (SELECT 1 FROM stream_heads WHERE device = ? AND stream = ? AND center_id <> ?) \
             ON CONFLICT DO NOTHING"))
        .bind(r.device.to_string())
        .bind(&r.stream)
        .bind(r.idx as i64)
        .bind(r.id.to_string())
        .bind(i64::from(r.window))
        .bind(r.body.get("kind").and_then(|k| k.as_str()).unwrap_or("unknown"))
        .bind(&r.author)
        .bind(code(r.post))
        .bind(r.created_at.timestamp())
        .bind(received_at)
        .bind(serde_json::to_string(r)?)
        .bind(self.center.id())
        .bind(r.device.to_string())
        .bind(&r.stream)
        .bind(self.center.id())
        .execute(&mut *self.c)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_id_at(&mut self, device: Uuid, stream: &str, idx: u64) -> StoreResult<Option<Uuid>> {
        let id: Option<String> =
            sqlx::query_scalar(&q(
                "SELECT id FROM device_records WHERE device = ? AND stream = ? AND idx = ? AND center_id = ?",
            ))
            .bind(device.to_string())
            .bind(stream)
            .bind(idx as i64)
            .bind(self.center.id())
            .fetch_optional(&mut *self.c)
            .await?;
        id.map(|id| id.parse().map_err(corrupt)).transpose()
    }

    async fn indexes_after(&mut self, device: Uuid, stream: &str, after: u64, limit: usize) -> StoreResult<Vec<u64>> {
        let next: Vec<i64> = sqlx::query_scalar(&q(
            "SELECT idx FROM device_records WHERE device = ? AND stream = ? AND idx > ? AND center_id = ? \
             ORDER BY idx LIMIT ?",
        ))
        .bind(device.to_string())
        .bind(stream)
        .bind(after as i64)
        .bind(self.center.id())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *self.c)
        .await?;
        Ok(next.into_iter().map(|i| i as u64).collect())
    }

    async fn stream_head(&mut self, device: Uuid, stream: &str) -> StoreResult<u64> {
        let last: Option<i64> =
            sqlx::query_scalar(&q("SELECT last FROM stream_heads WHERE device = ? AND stream = ? AND center_id = ?"))
                .bind(device.to_string())
                .bind(stream)
                .bind(self.center.id())
                .fetch_optional(&mut *self.c)
                .await?;
        Ok(last.unwrap_or(0) as u64)
    }

    async fn set_stream_head(&mut self, device: Uuid, stream: &str, window: u32, last: u64) -> StoreResult<()> {
        // Another center's head of the same log is never moved.
        sqlx::query(&q("INSERT INTO stream_heads (device, stream, window_no, last, center_id) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (device, stream) DO UPDATE SET last = excluded.last \
             WHERE stream_heads.center_id = excluded.center_id"))
        .bind(device.to_string())
        .bind(stream)
        .bind(i64::from(window))
        .bind(last as i64)
        .bind(self.center.id())
        .execute(&mut *self.c)
        .await?;
        Ok(())
    }

    async fn held_case(&mut self, id: Uuid) -> StoreResult<Option<HeldCase>> {
        let Some(row) =
            sqlx::query(&q("SELECT window_no, version, version_id, body FROM cases WHERE id = ? AND center_id = ?"))
                .bind(id.to_string())
                .bind(self.center.id())
                .fetch_optional(&mut *self.c)
                .await?
        else {
            return Ok(None);
        };
        Ok(Some(HeldCase {
            window: u32::try_from(row.try_get::<i64, _>("window_no")?).unwrap_or_default(),
            version: CaseVersion {
                version: u32::try_from(row.try_get::<i64, _>("version")?).unwrap_or_default(),
                version_id: row.try_get::<Option<String>, _>("version_id")?.and_then(|v| v.parse().ok()),
                based_on: None,
            },
            case: serde_json::from_str(&row.try_get::<String, _>("body")?)?,
        }))
    }

    async fn save_case(&mut self, case: &Case, received_at: i64) -> StoreResult<()> {
        // A case id another center holds (ids are UUIDs: only a copied or forged record) is not
        // overwritten: the record stays in the log, unprojected.
        let done = sqlx::query(&q("INSERT INTO cases (id, window_no, status, opened_at, updated_at, version, version_id, body, center_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, \
             version = excluded.version, version_id = excluded.version_id, body = excluded.body \
             WHERE cases.center_id = excluded.center_id"))
        .bind(case.id.to_string())
        .bind(i64::from(case.window))
        .bind(code(case.status))
        .bind(case.opened_at.timestamp())
        .bind(received_at)
        .bind(i64::from(case.version.version))
        .bind(case.version.version_id.map(|v| v.to_string()))
        .bind(serde_json::to_string(case)?)
        .bind(self.center.id())
        .execute(&mut *self.c)
        .await?;
        if done.rows_affected() == 0 {
            tracing::warn!(case = %case.id, "case held by another center; not overwritten");
        }
        Ok(())
    }

    async fn insert_case_conflict(&mut self, c: &CaseConflict) -> StoreResult<()> {
        sqlx::query(&q("INSERT INTO case_conflicts \
             (record_id, case_id, window_no, reason, version, held_version, author, received_at, guide_name, edits, center_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"))
        .bind(c.record_id.to_string())
        .bind(c.case_id.to_string())
        .bind(i64::from(c.window))
        .bind(code(c.reason))
        .bind(i64::from(c.version))
        .bind(i64::from(c.held_version))
        .bind(&c.author)
        .bind(c.received_at.timestamp())
        .bind(&c.guide_name)
        .bind(serde_json::to_string(&c.edits)?)
        .bind(self.center.id())
        .execute(&mut *self.c)
        .await?;
        Ok(())
    }

    async fn move_case(&mut self, record_id: Uuid, transfer: &CaseTransfer, received_at: i64) -> StoreResult<bool> {
        let sql = format!(
            "UPDATE cases SET window_no = ?, body = {} WHERE id = ? AND window_no = ? AND center_id = ?",
            DIALECT.json_set_integer("body", "window")
        );
        let moved = sqlx::query(&q(&sql))
            .bind(i64::from(transfer.to_window))
            .bind(i64::from(transfer.to_window))
            .bind(transfer.case_id.to_string())
            .bind(i64::from(transfer.from_window))
            .bind(self.center.id())
            .execute(&mut *self.c)
            .await?
            .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        sqlx::query(&q(
            "INSERT INTO case_transfers (record_id, case_id, from_window, to_window, kind, by_staff, received_at, center_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        ))
        .bind(record_id.to_string())
        .bind(transfer.case_id.to_string())
        .bind(i64::from(transfer.from_window))
        .bind(i64::from(transfer.to_window))
        .bind(code(transfer.step))
        .bind(&transfer.by)
        .bind(received_at)
        .bind(self.center.id())
        .execute(&mut *self.c)
        .await?;
        Ok(true)
    }

    async fn insert_notice(&mut self, notice: &OneTimeNotice) -> StoreResult<()> {
        sqlx::query(&q("INSERT INTO notices (id, case_id, number, window_no, given_at, given_by, body, center_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"))
        .bind(notice.id.to_string())
        .bind(notice.case_id.to_string())
        .bind(&notice.number)
        .bind(i64::from(notice.window))
        .bind(notice.given_at.timestamp())
        .bind(&notice.given_by)
        .bind(serde_json::to_string(notice)?)
        .bind(self.center.id())
        .execute(&mut *self.c)
        .await?;
        Ok(())
    }

    async fn insert_inquiry(&mut self, inquiry: &Inquiry) -> StoreResult<()> {
        let outcome = serde_json::to_value(&inquiry.outcome)?;
        sqlx::query(&q("INSERT INTO inquiries (id, asked_at, first_responder, guide_code, outcome, body, center_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"))
        .bind(inquiry.id.to_string())
        .bind(inquiry.asked_at.timestamp())
        .bind(&inquiry.first_responder)
        .bind(&inquiry.guide_code)
        .bind(outcome.get("outcome").and_then(|o| o.as_str()).unwrap_or_default())
        .bind(serde_json::to_string(inquiry)?)
        .bind(self.center.id())
        .execute(&mut *self.c)
        .await?;
        Ok(())
    }

    async fn insert_visit(&mut self, r: &RecordEnvelope) -> StoreResult<()> {
        sqlx::query(&q(
            "INSERT INTO visits (id, window_no, author, created_at, body, center_id) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"),
        )
        .bind(r.id.to_string())
        .bind(i64::from(r.window))
        .bind(&r.author)
        .bind(r.created_at.timestamp())
        .bind(r.body.to_string())
        .bind(self.center.id())
        .execute(&mut *self.c)
        .await?;
        Ok(())
    }

    async fn insert_rating(
        &mut self,
        rating: &crate::domain::rating::Rating,
        ticket_id: Uuid,
        author: &str,
        follow_up: Option<&crate::domain::follow_up::FollowUp>,
    ) -> StoreResult<bool> {
        let center = self.center.id().to_owned();
        super::store::insert_rating(&mut self.c, &center, rating, ticket_id, author, follow_up).await
    }

    async fn insert_handover(&mut self, window: u32, h: &Handover) -> StoreResult<bool> {
        let done = sqlx::query(&q("INSERT INTO handovers \
             (id, window_no, from_post, from_staff, to_staff, written_by, written_at, emergency, body, center_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"))
        .bind(h.id.to_string())
        .bind(i64::from(window))
        .bind(if h.from_post == crate::domain::center::Post::A { "A" } else { "B" })
        .bind(&h.from_staff)
        .bind(&h.to_staff)
        .bind(&h.written_by)
        .bind(h.written_at.timestamp_micros())
        .bind(i64::from(h.emergency))
        .bind(serde_json::to_string(h)?)
        .bind(self.center.id())
        .execute(&mut *self.c)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn handover(&mut self, id: Uuid) -> StoreResult<Option<Handover>> {
        let row = sqlx::query(&q(&format!("SELECT {COLUMNS} FROM handovers WHERE id = ? AND center_id = ?")))
            .bind(id.to_string())
            .bind(self.center.id())
            .fetch_optional(&mut *self.c)
            .await?;
        row.as_ref().map(handover_from_row).transpose()
    }

    async fn set_duty_refused(&mut self, id: Uuid, reason: &str) -> StoreResult<()> {
        sqlx::query(&q("UPDATE handovers SET duty_refused = ? WHERE id = ? AND center_id = ?"))
            .bind(reason)
            .bind(id.to_string())
            .bind(self.center.id())
            .execute(&mut *self.c)
            .await?;
        Ok(())
    }

    async fn set_acknowledged(&mut self, id: Uuid, ack: Option<&Acknowledgement>) -> StoreResult<()> {
        sqlx::query(&q(
            "UPDATE handovers SET acknowledged_by = ?, acknowledged_at = ?, acknowledged_note = ? \
             WHERE id = ? AND center_id = ?",
        ))
        .bind(ack.map(|a| &a.by))
        .bind(ack.map(|a| a.at.to_rfc3339_opts(SecondsFormat::AutoSi, true)))
        .bind(ack.map(|a| &a.note))
        .bind(id.to_string())
        .bind(self.center.id())
        .execute(&mut *self.c)
        .await?;
        Ok(())
    }

    async fn save_handover_body(&mut self, h: &Handover) -> StoreResult<()> {
        let body = Handover { acknowledged: None, duty_refused: None, ..h.clone() };
        sqlx::query(&q("UPDATE handovers SET body = ? WHERE id = ? AND center_id = ?"))
            .bind(serde_json::to_string(&body)?)
            .bind(h.id.to_string())
            .bind(self.center.id())
            .execute(&mut *self.c)
            .await?;
        Ok(())
    }

    async fn save_handover_items(&mut self, h: &Handover) -> StoreResult<()> {
        // The body as written, with the to-dos as they now stand (what the server decided is in
        // its own columns).
        let body: Option<String> = sqlx::query_scalar(&q("SELECT body FROM handovers WHERE id = ? AND center_id = ?"))
            .bind(h.id.to_string())
            .bind(self.center.id())
            .fetch_optional(&mut *self.c)
            .await?;
        let Some(body) = body else { return Ok(()) };
        let mut stored: Handover = serde_json::from_str(&body)?;
        stored.pending = h.pending.clone();
        sqlx::query(&q("UPDATE handovers SET body = ? WHERE id = ? AND center_id = ?"))
            .bind(serde_json::to_string(&stored)?)
            .bind(h.id.to_string())
            .bind(self.center.id())
            .execute(&mut *self.c)
            .await?;
        Ok(())
    }

    async fn insert_acknowledgement(
        &mut self,
        record_id: Uuid,
        handover_id: Uuid,
        ack: &Acknowledgement,
    ) -> StoreResult<()> {
        sqlx::query(&q(
            "INSERT INTO handover_acks (record_id, handover_id, by_staff, at, note, center_id) \
             VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT DO NOTHING",
        ))
        .bind(record_id.to_string())
        .bind(handover_id.to_string())
        .bind(&ack.by)
        .bind(ack.at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .bind(&ack.note)
        .bind(self.center.id())
        .execute(&mut *self.c)
        .await?;
        Ok(())
    }

    async fn acknowledgements(&mut self, handover_id: Uuid) -> StoreResult<Vec<Acknowledgement>> {
        let rows = sqlx::query(&q(
            "SELECT by_staff, at, note FROM handover_acks WHERE handover_id = ? AND center_id = ? ORDER BY seq",
        ))
        .bind(handover_id.to_string())
        .bind(self.center.id())
            .fetch_all(&mut *self.c)
            .await?;
        rows.iter()
            .map(|row| {
                let at: String = row.try_get("at")?;
                Ok(Acknowledgement {
                    by: row.try_get("by_staff")?,
                    at: chrono::DateTime::parse_from_rfc3339(&at).map_err(corrupt)?.with_timezone(&chrono::Utc),
                    note: row.try_get("note")?,
                })
            })
            .collect()
    }
}
