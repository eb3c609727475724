//! Accounts: staff administration, session revocation, failed sign-ins (rate limiting) and the
//! audit trail.

use async_trait::async_trait;
use sqlx::Row;

use super::{SqliteStore, StoreResult};
use crate::api::RecordEnvelope;
use crate::api::accounts::AuditEntry;
use crate::domain::staff::Staff;

/// Failed sign-ins within the rate limit's window, newest first (Unix seconds): of the account
/// from the attempt's address, and of the address (any account).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginFailures {
    pub account: Vec<i64>,
    pub address: Vec<i64>,
    /// Of the account from every address.
    pub anywhere: Vec<i64>,
}

/// How many failed sign-ins within the window are allowed before refusing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Of one account from one address.
    pub account: usize,
    /// From one address, whatever the account.
    pub address: usize,
    /// Of one account from all addresses together (guessing from many addresses).
    pub anywhere: usize,
}

/// The outcome of [`AccountStore::reserve_login_attempt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The attempt may go on; settle it with this id if it succeeds.
    Reserved(i64),
    /// Over a limit: the attempts already counted.
    Refused(LoginFailures),
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Adds a staff member; `false` when the id is taken.
    async fn add_staff(&self, staff: &Staff, password_hash: &str) -> StoreResult<bool>;
    /// `false` when there is no such staff member.
    async fn set_password(&self, staff_id: &str, password_hash: &str) -> StoreResult<bool>;
    /// `false` when there is no such staff member.
    async fn set_active(&self, staff_id: &str, active: bool) -> StoreResult<bool>;
    /// Ends every session of the staff member; returns how many there were.
    async fn revoke_sessions(&self, staff_id: &str) -> StoreResult<u64>;

    /// Reserves a sign-in attempt before its password is checked, so that limits hold however
    /// many attempts run at once: in one write transaction, the attempt is counted (as a failure
    /// until [`settle_login_attempt`](Self::settle_login_attempt) says otherwise), then the
    /// attempts of the account from this address and of the address since `since` are counted;
    /// over either limit, the attempt is taken back and refused with the earlier attempts. Rows
    /// older than `since` are forgotten.
    async fn reserve_login_attempt(
        &self,
        staff_id: &str,
        addr: &str,
        at: i64,
        since: i64,
        limits: LoginLimits,
    ) -> StoreResult<Reservation>;
    /// A reserved attempt succeeded: it and the account's failed attempts are forgotten. A failed
    /// one is simply kept (it was counted when reserved).
    async fn settle_login_attempt(&self, id: i64, staff_id: &str) -> StoreResult<()>;
    /// Forgets the account's failed sign-ins (unlock); returns how many there were.
    async fn clear_login_failures(&self, staff_id: &str) -> StoreResult<u64>;

    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Adds an audit line, or counts one more on the line already written with the same `bucket`
    /// (what is counted together: who, from where, what, which minute).
    async fn count_audit(&self, entry: &AuditEntry, bucket: &str) -> StoreResult<()>;
    /// The audit trail, newest first: at most `limit` lines with an id below `before`.
    async fn audit_trail(&self, limit: usize, before: Option<i64>) -> StoreResult<Vec<AuditEntry>>;
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn add_staff(&self, staff: &Staff, password_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO staff (id, name, role, active, password_hash) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&staff.id)
        .bind(&staff.name)
        .bind(staff.role.label())
        .bind(i64::from(staff.active))
        .bind(password_hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_password(&self, staff_id: &str, password_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE staff SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(staff_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_active(&self, staff_id: &str, active: bool) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE staff SET active = ? WHERE id = ?")
            .bind(i64::from(active))
            .bind(staff_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_sessions(&self, staff_id: &str) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE staff_id = ?").bind(staff_id).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    async fn reserve_login_attempt(
        &self,
        staff_id: &str,
        addr: &str,
        at: i64,
        since: i64,
        limits: LoginLimits,
    ) -> StoreResult<Reservation> {
        let mut tx = self.pool.begin().await?;
        // Write first, so the transaction holds the write lock before it counts: concurrent
        // attempts (in this process or another on the same database) are counted one by one.
        sqlx::query("DELETE FROM login_failures WHERE at < ?").bind(since).execute(&mut *tx).await?;
        let id: i64 =
            sqlx::query_scalar("INSERT INTO login_failures (staff_id, addr, at) VALUES (?, ?, ?) RETURNING id")
                .bind(staff_id)
                .bind(addr)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
        let account: Vec<i64> = sqlx::query_scalar(
            "SELECT at FROM login_failures WHERE staff_id = ? AND addr = ? AND id <> ? ORDER BY at DESC",
        )
        .bind(staff_id)
        .bind(addr)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let address: Vec<i64> =
            sqlx::query_scalar("SELECT at FROM login_failures WHERE addr = ? AND id <> ? ORDER BY at DESC")
                .bind(addr)
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        let anywhere: Vec<i64> =
            sqlx::query_scalar("SELECT at FROM login_failures WHERE staff_id = ? AND id <> ? ORDER BY at DESC")
                .bind(staff_id)
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        if account.len() >= limits.account || address.len() >= limits.address || anywhere.len() >= limits.anywhere {
            tx.rollback().await?;
            return Ok(Reservation::Refused(LoginFailures { account, address, anywhere }));
        }
        tx.commit().await?;
        Ok(Reservation::Reserved(id))
    }

    async fn settle_login_attempt(&self, id: i64, staff_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_failures WHERE id = ? OR staff_id = ?")
            .bind(id)
            .bind(staff_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn clear_login_failures(&self, staff_id: &str) -> StoreResult<u64> {
        let done =
            sqlx::query("DELETE FROM login_failures WHERE staff_id = ?").bind(staff_id).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        insert_audit(&self.pool, entry).await
    }

    async fn count_audit(&self, entry: &AuditEntry, bucket: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit (at, claimed_at, staff_id, window_no, action, target_kind, target_id, addr, count, bucket) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?) \
             ON CONFLICT (bucket) WHERE bucket IS NOT NULL DO UPDATE SET count = count + 1",
        )
        .bind(entry.at.timestamp())
        .bind(entry.claimed_at.map(|t| t.timestamp()))
        .bind(&entry.staff_id)
        .bind(entry.window.map(i64::from))
        .bind(&entry.action)
        .bind(&entry.target_kind)
        .bind(&entry.target_id)
        .bind(&entry.addr)
        .bind(bucket)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn audit_trail(&self, limit: usize, before: Option<i64>) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, claimed_at, staff_id, window_no, action, target_kind, target_id, addr, count FROM audit \
             WHERE id < ? ORDER BY id DESC LIMIT ?",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: chrono::DateTime::from_timestamp(r.try_get("at")?, 0).unwrap_or_default(),
                    claimed_at: r
                        .try_get::<Option<i64>, _>("claimed_at")?
                        .and_then(|t| chrono::DateTime::from_timestamp(t, 0)),
                    staff_id: r.try_get("staff_id")?,
                    window: r.try_get::<Option<i64>, _>("window_no")?.and_then(|w| u32::try_from(w).ok()),
                    action: r.try_get("action")?,
                    target_kind: r.try_get("target_kind")?,
                    target_id: r.try_get("target_id")?,
                    addr: r.try_get("addr")?,
                    count: u32::try_from(r.try_get::<i64, _>("count")?).unwrap_or(1),
                })
            })
            .collect()
    }
}

pub(super) async fn insert_audit<'e, E>(executor: E, entry: &AuditEntry) -> StoreResult<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    sqlx::query(
        "INSERT INTO audit (at, claimed_at, staff_id, window_no, action, target_kind, target_id, addr) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(entry.at.timestamp())
    .bind(entry.claimed_at.map(|t| t.timestamp()))
    .bind(&entry.staff_id)
    .bind(entry.window.map(i64::from))
    .bind(&entry.action)
    .bind(&entry.target_kind)
    .bind(&entry.target_id)
    .bind(&entry.addr)
    .execute(executor)
    .await?;
    Ok(())
}

/// What a record is about, for its audit line: the case of a case snapshot or notice, the
/// handover of a handover record, else the record itself. Read from the JSON, so that kinds added
/// later (and kinds this server does not know) are audited too.
fn record_target(r: &RecordEnvelope) -> (String, String) {
    let kind = r.body.get("kind").and_then(|k| k.as_str()).unwrap_or("unknown");
    let text = |key: &str| r.body.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    if kind == "case_snapshot" {
        if let Some(id) = text("id") {
            return ("case".into(), id);
        }
    } else if kind.contains("handover") {
        if let Some(id) = text("handover_id").or_else(|| text("id")) {
            return ("handover".into(), id);
        }
    } else if let Some(id) = text("case_id") {
        return ("case".into(), id);
    }
    ("record".into(), r.id.to_string())
}

/// The audit line of a newly stored record, in the upload's transaction: the record's kind, what
/// it is about, its window, who uploaded it (the session's staff) and when the server received
/// it; the time the record claims is kept beside. Called from the projection.
pub(super) async fn audit_record(
    tx: &mut sqlx::SqliteConnection,
    r: &RecordEnvelope,
    received_at: i64,
    uploader: &str,
) -> StoreResult<()> {
    let (target_kind, target_id) = record_target(r);
    let action: String = r.body.get("kind").and_then(|k| k.as_str()).unwrap_or("unknown").chars().take(64).collect();
    let entry = AuditEntry {
        id: 0,
        at: chrono::DateTime::from_timestamp(received_at, 0).unwrap_or_default(),
        claimed_at: Some(r.created_at),
        staff_id: uploader.to_owned(),
        window: Some(r.window),
        action,
        target_kind,
        target_id: target_id.chars().take(64).collect(),
        addr: None,
        count: 1,
    };
    insert_audit(&mut *tx, &entry).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::center::Post;

    fn envelope(body: serde_json::Value) -> RecordEnvelope {
        RecordEnvelope {
            schema: crate::api::RECORD_SCHEMA,
            device: uuid::Uuid::nil(),
            stream: "w1/cases".into(),
            idx: 1,
            id: uuid::Uuid::from_u128(7),
            created_at: chrono::Utc::now(),
            author: "s001".into(),
            window: 1,
            post: Post::A,
            body,
        }
    }

    #[test]
    fn records_are_audited_against_what_they_are_about() {
        let t = |body| record_target(&envelope(body));
        assert_eq!(t(serde_json::json!({"kind": "case_snapshot", "id": "c1"})), ("case".into(), "c1".into()));
        assert_eq!(
            t(serde_json::json!({"kind": "notice_given", "id": "n1", "case_id": "c1"})),
            ("case".into(), "c1".into())
        );
        assert_eq!(t(serde_json::json!({"kind": "handover_written", "id": "h1"})), ("handover".into(), "h1".into()));
        let record = uuid::Uuid::from_u128(7).to_string();
        assert_eq!(t(serde_json::json!({"kind": "walk_in", "note": "x"})), ("record".into(), record.clone()));
        assert_eq!(t(serde_json::json!({"no_kind": 1})), ("record".into(), record));
    }
}
