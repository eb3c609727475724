//! SQLite storage: WAL, a busy timeout instead of "database is locked", foreign keys on, and
//! migrations embedded in the binary.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::{SeedData, StaffCredentials, Store, StoreResult, StoredSession};
use crate::domain::case::Case;
use crate::domain::center::{Center, Window};
use crate::domain::guide::ServiceGuide;
use crate::domain::handover::DutyState;
use crate::domain::staff::{Role, Staff};
use crate::domain::ticket::{QueueCategory, Ticket};

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }
}

fn decode<T: serde::de::DeserializeOwned>(body: &str) -> StoreResult<T> {
    Ok(serde_json::from_str(body)?)
}

fn encode<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    Ok(serde_json::to_string(value)?)
}

fn role_from_db(text: &str) -> StoreResult<Role> {
    decode(&format!("\"{text}\""))
}

fn staff_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<Staff> {
    Ok(Staff {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: role_from_db(row.try_get("role")?)?,
        active: row.try_get::<i64, _>("active")? != 0,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn is_seeded(&self) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM center").fetch_one(&self.pool).await?;
        Ok(n > 0)
    }

    async fn seed(&self, seed: &SeedData) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO center (id, body) VALUES (?, ?)")
            .bind(&seed.center.id)
            .bind(encode(&seed.center)?)
            .execute(&mut *tx)
            .await?;
        for c in &seed.categories {
            sqlx::query("INSERT INTO queue_categories (letter, name) VALUES (?, ?)")
                .bind(c.letter.to_string())
                .bind(&c.name)
                .execute(&mut *tx)
                .await?;
        }
        for s in &seed.staff {
            sqlx::query("INSERT INTO staff (id, name, role, active, password_hash) VALUES (?, ?, ?, ?, ?)")
                .bind(&s.staff.id)
                .bind(&s.staff.name)
                .bind(s.staff.role.label())
                .bind(i64::from(s.staff.active))
                .bind(&s.password_hash)
                .execute(&mut *tx)
                .await?;
        }
        for w in &seed.windows {
            sqlx::query("INSERT INTO windows (window_no, body) VALUES (?, ?)")
                .bind(i64::from(w.number))
                .bind(encode(w)?)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO duty (window_no, body) VALUES (?, ?)")
                .bind(i64::from(w.number))
                .bind(encode(&DutyState::AOnDuty)?)
                .execute(&mut *tx)
                .await?;
        }
        for (i, g) in seed.guides.iter().enumerate() {
            sqlx::query("INSERT INTO guides (code, seq, revision, body) VALUES (?, ?, ?, ?)")
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
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM center LIMIT 1").fetch_optional(&self.pool).await?;
        body.map(|b| decode(&b)).transpose()
    }

    async fn windows(&self) -> StoreResult<Vec<Window>> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT body FROM windows ORDER BY window_no").fetch_all(&self.pool).await?;
        rows.iter().map(|b| decode(b)).collect()
    }

    async fn categories(&self) -> StoreResult<Vec<QueueCategory>> {
        let rows =
            sqlx::query("SELECT letter, name FROM queue_categories ORDER BY letter").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let letter: String = r.try_get("letter")?;
                Ok(QueueCategory { letter: letter.chars().next().unwrap_or('?'), name: r.try_get("name")? })
            })
            .collect()
    }

    async fn all_staff(&self) -> StoreResult<Vec<Staff>> {
        let rows = sqlx::query("SELECT id, name, role, active FROM staff ORDER BY id").fetch_all(&self.pool).await?;
        rows.iter().map(staff_from_row).collect()
    }

    async fn staff_credentials(&self, id: &str) -> StoreResult<Option<StaffCredentials>> {
        let row = sqlx::query("SELECT id, name, role, active, password_hash FROM staff WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(StaffCredentials { staff: staff_from_row(&r)?, password_hash: r.try_get("password_hash")? }))
            .transpose()
    }

    async fn create_session(&self, token_hash: &str, staff_id: &str, now: i64, expires_at: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO sessions (token_hash, staff_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
            .bind(token_hash)
            .bind(staff_id)
            .bind(now)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        // Expired sessions are of no use to anyone; drop them while we are writing anyway.
        sqlx::query("DELETE FROM sessions WHERE expires_at < ?").bind(now).execute(&self.pool).await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<StoredSession>> {
        let row = sqlx::query(
            "SELECT s.id, s.name, s.role, s.active, x.expires_at FROM sessions x JOIN staff s ON s.id = x.staff_id \
             WHERE x.token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok(StoredSession { staff: staff_from_row(&r)?, expires_at: r.try_get("expires_at")? })).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    async fn guides_since(&self, since: i64) -> StoreResult<(i64, Vec<ServiceGuide>)> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT body FROM guides WHERE seq > ? ORDER BY seq")
            .bind(since)
            .fetch_all(&self.pool)
            .await?;
        let guides = rows.iter().map(|b| decode(b)).collect::<StoreResult<Vec<_>>>()?;
        Ok((self.catalogue_seq().await?, guides))
    }

    async fn guide(&self, code: &str) -> StoreResult<Option<ServiceGuide>> {
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM guides WHERE code = ?").bind(code).fetch_optional(&self.pool).await?;
        body.map(|b| decode(&b)).transpose()
    }

    async fn catalogue_seq(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM guides").fetch_one(&self.pool).await?)
    }

    async fn duty(&self, window: u32) -> StoreResult<DutyState> {
        let body: Option<String> = sqlx::query_scalar("SELECT body FROM duty WHERE window_no = ?")
            .bind(i64::from(window))
            .fetch_optional(&self.pool)
            .await?;
        Ok(body.map(|b| decode(&b)).transpose()?.unwrap_or(DutyState::Closed))
    }

    async fn waiting_count(&self, day: chrono::NaiveDate, categories: &[char]) -> StoreResult<u32> {
        let mut total = 0i64;
        for c in categories {
            let n: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE day = ? AND status = '等候' AND category = ?")
                    .bind(day.to_string())
                    .bind(c.to_string())
                    .fetch_one(&self.pool)
                    .await?;
            total += n;
        }
        Ok(u32::try_from(total).unwrap_or(u32::MAX))
    }

    async fn ticket_at_window(&self, window: u32) -> StoreResult<Option<Ticket>> {
        let body: Option<String> = sqlx::query_scalar(
            "SELECT body FROM tickets WHERE window_no = ? AND status IN ('已叫号', '办理中') LIMIT 1",
        )
        .bind(i64::from(window))
        .fetch_optional(&self.pool)
        .await?;
        body.map(|b| decode(&b)).transpose()
    }

    async fn open_cases(&self, window: u32) -> StoreResult<Vec<Case>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM cases WHERE window_no = ? AND status NOT IN ('已办结', '已终止') ORDER BY opened_at",
        )
        .bind(i64::from(window))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|b| decode(b)).collect()
    }
}
