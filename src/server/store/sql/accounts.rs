//! Accounts, failed sign-ins and the audit trail, shared by both backends.

use std::ops::DerefMut;

use async_trait::async_trait;
use sqlx::Row;

use super::{Backend, BackendUnit, Conn, Db, q};
use crate::api::accounts::AuditEntry;
use crate::domain::staff::Staff;
use crate::server::store::repo::SignInUnit;
use crate::server::store::{AccountStore, LoginFailures, StoreResult};

impl Backend {
    /// Whose audit trail (and whose accounts) this handle writes and reads: its center's; the
    /// county's (NULL) for a county handle and for a handle whose center is not known.
    async fn audit_center(&self) -> StoreResult<Option<std::sync::Arc<str>>> {
        match self.center_id().await {
            // A line whose center is not known (a database with no center yet; a handle bound to
            // none on a database of several, e.g. a failed sign-in of an unknown id or a request
            // without a session) is the county's rather than lost.
            Err(crate::server::store::StoreError::CenterNotChosen { .. }) => Ok(None),
            // A county admin's lines are the county's.
            Err(crate::server::store::StoreError::CountyHandle) => Ok(None),
            other => other.map(Some),
        }
    }
}

#[async_trait]
impl AccountStore for Backend {
    async fn add_staff(&self, staff: &Staff, password_hash: &str, center: &str) -> StoreResult<bool> {
        let done = sqlx::query(&q(
            "INSERT INTO staff (id, name, role, active, password_hash, center_id) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT DO NOTHING",
        ))
        .bind(&staff.id)
        .bind(&staff.name)
        .bind(staff.role.label())
        .bind(i64::from(staff.active))
        .bind(password_hash)
        .bind(center)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_password(&self, staff_id: &str, password_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query(&q("UPDATE staff SET password_hash = ? WHERE id = ? AND COALESCE(center_id, '') = COALESCE(?, '')"))
            .bind(password_hash)
            .bind(staff_id)
            .bind(self.audit_center().await?.as_deref())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_active(&self, staff_id: &str, active: bool) -> StoreResult<bool> {
        let done = sqlx::query(&q("UPDATE staff SET active = ? WHERE id = ? AND COALESCE(center_id, '') = COALESCE(?, '')"))
            .bind(i64::from(active))
            .bind(staff_id)
            .bind(self.audit_center().await?.as_deref())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    // Sessions and sign-in failures are county-wide (keyed by a staff id, unique in the county),
    // but a center-bound handle reaches only its own center's staff, and the county's handle only
    // the county's accounts (NULL center, hence the COALESCE): the staff row says whose.
    async fn revoke_sessions(&self, staff_id: &str) -> StoreResult<u64> {
        let done = sqlx::query(&q(
            "DELETE FROM sessions WHERE staff_id IN (SELECT id FROM staff WHERE id = ? AND COALESCE(center_id, '') = COALESCE(?, ''))",
        ))
        .bind(staff_id)
        .bind(self.audit_center().await?.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn settle_login_attempt(&self, id: i64, staff_id: &str) -> StoreResult<()> {
        sqlx::query(&q("DELETE FROM login_failures WHERE id = ? OR staff_id = ?"))
            .bind(id)
            .bind(staff_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn clear_login_failures(&self, staff_id: &str) -> StoreResult<u64> {
        let done = sqlx::query(&q(
            "DELETE FROM login_failures WHERE staff_id IN (SELECT id FROM staff WHERE id = ? AND COALESCE(center_id, '') = COALESCE(?, ''))",
        ))
        .bind(staff_id)
        .bind(self.audit_center().await?.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        insert_audit(&self.pool, entry, self.audit_center().await?.as_deref()).await
    }

    async fn count_audit(&self, entry: &AuditEntry, bucket: &str) -> StoreResult<()> {
        insert_counted_audit(&self.pool, entry, Some(bucket), self.audit_center().await?.as_deref()).await
    }

    async fn audit_trail(&self, limit: usize, before: Option<i64>) -> StoreResult<Vec<AuditEntry>> {
        const COLUMNS: &str = "id, at, claimed_at, staff_id, window_no, action, target_kind, target_id, addr, count";
        let center = self.audit_center().await?;
        let sql = match center {
            Some(_) => format!("SELECT {COLUMNS} FROM audit WHERE center_id = ? AND id < ? ORDER BY id DESC LIMIT ?"),
            None => format!("SELECT {COLUMNS} FROM audit WHERE center_id IS NULL AND id < ? ORDER BY id DESC LIMIT ?"),
        };
        let sql = q(&sql);
        let query = sqlx::query(&sql);
        let query = match &center {
            Some(center) => query.bind(&**center),
            None => query,
        };
        let rows = query
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

/// Adds an audit line of `center`'s (`None`: the county's).
pub(super) async fn insert_audit<'e, E>(executor: E, entry: &AuditEntry, center: Option<&str>) -> StoreResult<()>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    insert_counted_audit(executor, entry, None, center).await
}

/// Adds audit lines without a bucket (a batch of queue commands' lines), in as few statements
/// as the driver's limit on parameters allows.
pub(super) async fn insert_audits(c: &mut Conn, entries: &[AuditEntry], center: Option<&str>) -> StoreResult<()> {
    // None: no statement. 9 parameters a line: well under SQLite's 32,766 and PostgreSQL's 65,535 per statement.
    const LINES: usize = 500;
    for chunk in entries.chunks(LINES) {
        let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?, 1, NULL, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO audit (at, claimed_at, staff_id, window_no, action, target_kind, target_id, addr, count, bucket, center_id) \
             VALUES {rows}"
        );
        let sql = q(&sql);
        let mut query = sqlx::query(&sql);
        for entry in chunk {
            query = bind_line(query, entry).bind(center);
        }
        query.execute(&mut *c).await?;
    }
    Ok(())
}

type AuditQuery<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;

/// Binds an audit line's own columns, in the order every audit INSERT names them (`at` to
/// `addr`); the caller binds what follows.
fn bind_line<'q>(query: AuditQuery<'q>, entry: &'q AuditEntry) -> AuditQuery<'q> {
    query
        .bind(entry.at.timestamp())
        .bind(entry.claimed_at.map(|t| t.timestamp()))
        .bind(&entry.staff_id)
        .bind(entry.window.map(i64::from))
        .bind(&entry.action)
        .bind(&entry.target_kind)
        .bind(&entry.target_id)
        .bind(&entry.addr)
}

/// Adds an audit line; with a `bucket`, a line already written in the same bucket (of the same
/// center) counts one more instead (see [`AccountStore::count_audit`]).
async fn insert_counted_audit<'e, E>(
    executor: E,
    entry: &AuditEntry,
    bucket: Option<&str>,
    center: Option<&str>,
) -> StoreResult<()>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    // A center's buckets and the county's (NULL center: NULLs never conflict in a unique index,
    // hence an index of its own, sqlite 0029 / postgres 0015).
    let conflict = match center {
        Some(_) => "(center_id, bucket) WHERE bucket IS NOT NULL",
        None => "(bucket) WHERE bucket IS NOT NULL AND center_id IS NULL",
    };
    let sql = format!(
        "INSERT INTO audit (at, claimed_at, staff_id, window_no, action, target_kind, target_id, addr, count, bucket, center_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) \
         ON CONFLICT {conflict} DO UPDATE SET count = audit.count + 1"
    );
    bind_line(sqlx::query(&q(&sql)), entry)
    .bind(bucket)
    .bind(center)
    .execute(executor)
    .await?;
    Ok(())
}

#[async_trait]
impl<C: DerefMut<Target = Conn> + Send> SignInUnit for BackendUnit<C> {
    async fn forget_attempts_before(&mut self, since: i64) -> StoreResult<()> {
        sqlx::query(&q("DELETE FROM login_failures WHERE at < ?")).bind(since).execute(&mut *self.c).await?;
        Ok(())
    }

    async fn attempts(&mut self, staff_id: &str, addr: &str) -> StoreResult<LoginFailures> {
        let account: Vec<i64> =
            sqlx::query_scalar(&q("SELECT at FROM login_failures WHERE staff_id = ? AND addr = ? ORDER BY at DESC"))
                .bind(staff_id)
                .bind(addr)
                .fetch_all(&mut *self.c)
                .await?;
        let address: Vec<i64> = sqlx::query_scalar(&q("SELECT at FROM login_failures WHERE addr = ? ORDER BY at DESC"))
            .bind(addr)
            .fetch_all(&mut *self.c)
            .await?;
        let anywhere: Vec<i64> =
            sqlx::query_scalar(&q("SELECT at FROM login_failures WHERE staff_id = ? ORDER BY at DESC"))
                .bind(staff_id)
                .fetch_all(&mut *self.c)
                .await?;
        Ok(LoginFailures { account, address, anywhere })
    }

    async fn insert_attempt(&mut self, staff_id: &str, addr: &str, at: i64) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(&q("INSERT INTO login_failures (staff_id, addr, at) VALUES (?, ?, ?) RETURNING id"))
            .bind(staff_id)
            .bind(addr)
            .bind(at)
            .fetch_one(&mut *self.c)
            .await?)
    }
}
