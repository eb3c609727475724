//! The terminal's local store: SQLite in the data directory (WAL, busy timeout, one connection so
//! one writer, embedded migrations). It holds the cache of server-owned data and the device's
//! append-only log; the part of the log the server has not acknowledged is the outbox.
//!
//! A corrupted file is moved aside with a timestamp and rebuilt; every record SQLite can still
//! read from it is carried over with its identity, so nothing is uploaded twice.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqliteConnection, SqlitePool};
use uuid::Uuid;

use crate::api::{GuideChanges, RecordEnvelope, StreamStatus};
use crate::domain::case::{Case, CaseStatus};
use crate::domain::center::Post;
use crate::domain::guide::ServiceGuide;
use crate::domain::handover::{Acknowledgement, Handover, HandoverEvent, fold_history};
use crate::domain::notice::OneTimeNotice;
use crate::domain::record::{RecordBody, stream_name};

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("磁盘已满，记录未保存。请清理磁盘后重试")]
    DiskFull,
    #[error("本机缓存出错：{0}")]
    Database(String),
    #[error("本机缓存中的数据无法识别：{0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for LocalError {
    fn from(e: sqlx::Error) -> Self {
        if sqlite_code(&e).as_deref() == Some("13") {
            tracing::error!("local store: disk full");
            return Self::DiskFull;
        }
        tracing::error!(error = %e, "local store failed");
        Self::Database(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for LocalError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Database(e.to_string())
    }
}

impl From<serde_json::Error> for LocalError {
    fn from(e: serde_json::Error) -> Self {
        Self::Corrupt(e.to_string())
    }
}

fn sqlite_code(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// SQLITE_CORRUPT (11) or SQLITE_NOTADB (26): the file is damaged, as opposed to unreadable for
/// another reason (permissions, a full disk).
fn is_corruption(e: &sqlx::Error) -> bool {
    matches!(sqlite_code(e).as_deref(), Some("11" | "26"))
}

/// What happened to a damaged cache file at start-up, for the clerk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub moved_to: PathBuf,
    /// Records read back from the damaged file; `None` when nothing could be read at all.
    pub recovered_records: Option<usize>,
    /// Records not yet uploaded that could not be read back: `Some(0)` when none was lost,
    /// `None` when the damaged file does not say how many there were.
    pub lost_unsent: Option<usize>,
}

impl Recovery {
    pub fn message(&self) -> String {
        let name = self.moved_to.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let head = format!("本机缓存文件损坏，已另存为 {name} 并重建");
        let unsent = match self.lost_unsent {
            Some(0) => "未上传的记录全部找回".to_owned(),
            Some(n) => format!("有 {n} 条未上传的记录无法找回，请按纸质材料补录"),
            None => "无法确认未上传的记录是否全部找回".to_owned(),
        };
        match self.recovered_records {
            Some(n) => format!("{head}，找回 {n} 条记录；{unsent}；已上传的记录将从服务器重新下载"),
            None => format!("{head}；其中的记录无法读取，{unsent}；已上传的记录将从服务器重新下载"),
        }
    }
}

/// A (device, stream) log as held here: complete from 1 to `contiguous`, highest idx `max`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalStream {
    pub device: Uuid,
    pub stream: String,
    pub contiguous: u64,
    pub max: u64,
}

/// A handle on the store; clones share its one connection (so one writer at a time).
#[derive(Clone)]
pub struct LocalStore {
    pool: SqlitePool,
    /// Shared by the clones: a log found to be a copy becomes a new device for all of them.
    device: std::sync::Arc<std::sync::Mutex<Uuid>>,
    /// The file, for what is kept beside it (the stored search index).
    path: std::sync::Arc<Path>,
}

const DEVICE_KEY: &str = "device";
const CATALOGUE_SEQ_KEY: &str = "catalogue_seq";
/// A fresh id written with every change to the cached catalogue, in the same transaction: what
/// the stored search index is checked against (a sequence alone can repeat, say after the
/// terminal is pointed at another server).
const CATALOGUE_REVISION_KEY: &str = "catalogue_revision";

/// How `connect` reports a failed integrity check (as opposed to any other protocol error).
const INTEGRITY: &str = "integrity check";

/// The file is damaged: SQLite says so, or the integrity check failed.
fn is_damage(e: &sqlx::Error) -> bool {
    is_corruption(e) || matches!(e, sqlx::Error::Protocol(m) if m.starts_with(INTEGRITY))
}

async fn connect(path: &Path, max_page_count: Option<u64>) -> Result<SqlitePool, sqlx::Error> {
    let mut options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit is on the disk before it is reported (a power cut does not take it back).
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5))
        // 1 MiB of page cache, not SQLite's 2 MiB default: the catalogue is read once in pages
        // (then kept as the stored index) and single guides after, so a larger cache only
        // holds pages that are not read again, in a process that should stay small.
        .pragma("cache_size", "-1024");
    if let Some(pages) = max_page_count {
        options = options.pragma("max_page_count", pages.to_string());
    }
    // One connection: one writer, and statements of this process never wait on each other.
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
    // Close the file before anyone moves it aside (Windows cannot rename an open file).
    if let Err(e) = sqlx::migrate!("./migrations/local").run(&pool).await {
        pool.close().await;
        return Err(match e {
            sqlx::migrate::MigrateError::Execute(inner) => inner,
            // Not damage (say, a store from a newer version): never moved aside for this.
            other => sqlx::Error::Configuration(other.to_string().into()),
        });
    }
    // The catalogue cache is most of the file at county scale, and only a copy of the server's:
    // its check runs after start-up ([`LocalStore::check_catalogue`]), unless an earlier one
    // failed and asked for the whole file to be checked now.
    let whole = full_check_marker(path).exists();
    let check = match start_check(&pool, whole).await {
        Ok(check) => check,
        Err(e) => {
            pool.close().await;
            return Err(e);
        }
    };
    if check != "ok" {
        tracing::error!(%check, whole, "local store failed its integrity check");
        pool.close().await;
        return Err(sqlx::Error::Protocol(format!("{INTEGRITY}: {check}")));
    }
    if whole {
        let _ = std::fs::remove_file(full_check_marker(path));
    }
    Ok(pool)
}

/// The file whose presence makes the next open check the whole store (and rebuild it if damaged).
fn full_check_marker(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".check");
    PathBuf::from(name)
}

/// The integrity check run at open: the whole file when `whole`, else every table but the
/// catalogue cache (the device's log and what the window shows), each with its indexes.
async fn start_check(pool: &SqlitePool, whole: bool) -> Result<String, sqlx::Error> {
    if whole {
        return sqlx::query_scalar::<_, String>("PRAGMA quick_check").fetch_one(pool).await;
    }
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'guides' ORDER BY name")
            .fetch_all(pool)
            .await?;
    for table in tables {
        // A table name cannot be bound; it comes from sqlite_master and is quoted here.
        let check: String = sqlx::query_scalar(&format!("PRAGMA quick_check(\"{}\")", table.replace('"', "\"\"")))
            .fetch_one(pool)
            .await?;
        if check != "ok" {
            return Ok(check);
        }
    }
    Ok("ok".to_owned())
}

impl LocalStore {
    /// Opens the store at `path`, rebuilding it if the file is damaged.
    pub async fn open(path: &Path, now: DateTime<Utc>) -> Result<(Self, Option<Recovery>), LocalError> {
        Self::open_with_limit(path, now, None).await
    }

    /// As [`open`](Self::open), with SQLite's `max_page_count` set: lets tests run out of "disk".
    pub async fn open_with_limit(
        path: &Path,
        now: DateTime<Utc>,
        max_page_count: Option<u64>,
    ) -> Result<(Self, Option<Recovery>), LocalError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| LocalError::Database(format!("{}: {e}", dir.display())))?;
        }
        match connect(path, max_page_count).await {
            Ok(pool) => Ok((Self::with_pool(pool, path).await?, None)),
            Err(e) if is_damage(&e) => {
                tracing::error!(error = %e, path = %path.display(), "local store is damaged; rebuilding");
                let moved_to = move_aside(path, now)?;
                let recovered = read_back_records(&moved_to).await;
                let pool = connect(path, max_page_count).await?;
                let store = Self::with_pool(pool, path).await?;
                let (recovered_records, lost_unsent) = match recovered {
                    Some(back) => {
                        let records = store.insert_records(&back.records).await?;
                        (Some(records), back.lost_unsent)
                    }
                    None => (None, None),
                };
                tracing::warn!(?recovered_records, ?lost_unsent, moved_to = %moved_to.display(), "local store rebuilt");
                Ok((store, Some(Recovery { moved_to, recovered_records, lost_unsent })))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn with_pool(pool: SqlitePool, path: &Path) -> Result<Self, LocalError> {
        let existing: Option<String> =
            sqlx::query_scalar("SELECT value FROM kv WHERE key = ?").bind(DEVICE_KEY).fetch_optional(&pool).await?;
        let device = match existing.and_then(|d| d.parse().ok()) {
            Some(device) => device,
            None => {
                // A new store is a new device: its log starts at 1 and can never collide with
                // what an earlier store (say, one that was damaged) uploaded.
                let device = Uuid::now_v7();
                sqlx::query("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)")
                    .bind(DEVICE_KEY)
                    .bind(device.to_string())
                    .execute(&pool)
                    .await?;
                device
            }
        };
        // Not needed to read the log (old values decode through the aliases): a failure (say, a
        // full disk) must not keep the terminal from starting; the marker stays for the next start.
        if let Err(e) = upgrade_records(&pool).await {
            tracing::warn!(error = %e, "local records not yet rewritten in record schema 2; will retry at the next start");
        }
        Ok(Self { pool, device: std::sync::Arc::new(std::sync::Mutex::new(device)), path: path.into() })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn device(&self) -> Uuid {
        *self.device.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_device(&self, device: Uuid) {
        *self.device.lock().unwrap_or_else(|e| e.into_inner()) = device;
    }

    /// How far the server holds one log, as far as this store knows (0: nothing).
    pub async fn acked(&self, device: Uuid, stream: &str) -> Result<u64, LocalError> {
        let last: Option<i64> = sqlx::query_scalar("SELECT last FROM acked WHERE device = ? AND stream = ?")
            .bind(device.to_string())
            .bind(stream)
            .fetch_optional(&self.pool)
            .await?;
        Ok(last.unwrap_or(0) as u64)
    }

    /// This device's log turned out to be a copy (the file was restored from a backup, or copied
    /// to a second PC): the server holds other records at places it uses. The store becomes a
    /// new device, and the records of the old one from `from` on, per stream (the ones the
    /// server does not hold), are appended again under the new device, in order, keeping their
    /// ids, so they upload. The places they leave are the server's to fill (downloaded). Returns
    /// how many records moved.
    pub async fn rekey(&self, from: &[(String, u64)]) -> Result<usize, LocalError> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let old = self.device();
        let new = Uuid::now_v7();
        let mut moved = 0;
        for (stream, first) in from {
            let rows: Vec<String> = sqlx::query_scalar(
                "SELECT envelope FROM records WHERE device = ? AND stream = ? AND idx >= ? ORDER BY idx",
            )
            .bind(old.to_string())
            .bind(stream)
            .bind(*first as i64)
            .fetch_all(tx.conn())
            .await?;
            sqlx::query("DELETE FROM records WHERE device = ? AND stream = ? AND idx >= ?")
                .bind(old.to_string())
                .bind(stream)
                .bind(*first as i64)
                .execute(tx.conn())
                .await?;
            // The old device's log is the server's from here on: nothing of it waits here.
            sqlx::query(
                "INSERT INTO acked (device, stream, last) VALUES (?, ?, ?) \
                 ON CONFLICT (device, stream) DO UPDATE SET last = MIN(last, excluded.last)",
            )
            .bind(old.to_string())
            .bind(stream)
            .bind(first.saturating_sub(1) as i64)
            .execute(tx.conn())
            .await?;
            for (n, row) in rows.iter().enumerate() {
                let mut envelope: RecordEnvelope = serde_json::from_str(row)?;
                envelope.device = new;
                envelope.idx = n as u64 + 1;
                moved += insert_record(tx.conn(), &envelope).await?;
            }
        }
        sqlx::query("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)")
            .bind(DEVICE_KEY)
            .bind(new.to_string())
            .execute(tx.conn())
            .await?;
        // Set while this transaction holds the one connection: no append can slip in between
        // the commit and the switch with the old device.
        self.set_device(new);
        if let Err(e) = tx.commit().await {
            self.set_device(old);
            return Err(e);
        }
        tracing::warn!(%old, %new, moved, "device log was a copy; re-keyed to a new device");
        Ok(moved)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Commits a record to this device's log and returns it as it will be uploaded.
    pub async fn append(
        &self,
        author: &str,
        window: u32,
        post: Post,
        body: &RecordBody,
        now: DateTime<Utc>,
    ) -> Result<RecordEnvelope, LocalError> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let envelope = self.append_in(tx.conn(), author, window, post, body, now).await?;
        tx.commit().await?;
        Ok(envelope)
    }

    /// Appends a record to this device's log inside the caller's transaction.
    async fn append_in(
        &self,
        conn: &mut SqliteConnection,
        author: &str,
        window: u32,
        post: Post,
        body: &RecordBody,
        now: DateTime<Utc>,
    ) -> Result<RecordEnvelope, LocalError> {
        let stream = stream_name(window, body.family());
        let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(idx), 0) FROM records WHERE device = ? AND stream = ?")
            .bind(self.device().to_string())
            .bind(&stream)
            .fetch_one(&mut *conn)
            .await?;
        let envelope = RecordEnvelope {
            schema: crate::api::RECORD_SCHEMA,
            device: self.device(),
            stream,
            idx: max as u64 + 1,
            id: Uuid::now_v7(),
            created_at: now,
            author: author.to_owned(),
            window,
            post,
            body: serde_json::to_value(body)?,
        };
        insert_record(conn, &envelope).await?;
        Ok(envelope)
    }

    /// Stores records made elsewhere (downloaded) or carried over; a record already here is left
    /// alone. Returns how many were new.
    pub async fn insert_records(&self, records: &[RecordEnvelope]) -> Result<usize, LocalError> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let mut added = 0;
        for r in records {
            added += insert_record(tx.conn(), r).await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Every log held here, with how far it is complete.
    pub async fn streams(&self) -> Result<Vec<LocalStream>, LocalError> {
        let rows = sqlx::query(
            "SELECT device, stream, MAX(idx) AS max, COUNT(*) AS n FROM records GROUP BY device, stream ORDER BY device, stream",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let device: String = row.try_get("device")?;
            let stream: String = row.try_get("stream")?;
            let max = row.try_get::<i64, _>("max")? as u64;
            let n = row.try_get::<i64, _>("n")? as u64;
            // idx values are unique and start at 1: as many rows as the highest idx means no gap.
            let contiguous = if n == max { max } else { self.contiguous(&device, &stream).await? };
            let device = device.parse().map_err(|e: uuid::Error| LocalError::Corrupt(e.to_string()))?;
            out.push(LocalStream { device, stream, contiguous, max });
        }
        Ok(out)
    }

    async fn contiguous(&self, device: &str, stream: &str) -> Result<u64, LocalError> {
        let idxs: Vec<i64> = sqlx::query_scalar("SELECT idx FROM records WHERE device = ? AND stream = ? ORDER BY idx")
            .bind(device)
            .bind(stream)
            .fetch_all(&self.pool)
            .await?;
        let mut last = 0u64;
        for idx in idxs {
            if idx as u64 != last + 1 {
                break;
            }
            last = idx as u64;
        }
        Ok(last)
    }

    /// Records of one log with `from <= idx <= to`, in order, at most `limit`.
    pub async fn records_between(
        &self,
        device: Uuid,
        stream: &str,
        from: u64,
        to: u64,
        limit: usize,
    ) -> Result<Vec<RecordEnvelope>, LocalError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT envelope FROM records WHERE device = ? AND stream = ? AND idx BETWEEN ? AND ? ORDER BY idx LIMIT ?",
        )
        .bind(device.to_string())
        .bind(stream)
        .bind(from as i64)
        .bind(to as i64)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(serde_json::from_str(r)?)).collect()
    }

    /// Remembers how far the server holds each log. Never moves backwards: an older reply
    /// arriving late cannot resurrect acknowledged records as pending.
    pub async fn set_acked(&self, streams: &[StreamStatus]) -> Result<(), LocalError> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        for s in streams {
            sqlx::query(
                "INSERT INTO acked (device, stream, last) VALUES (?, ?, ?) \
                 ON CONFLICT (device, stream) DO UPDATE SET last = MAX(last, excluded.last)",
            )
            .bind(s.device.to_string())
            .bind(&s.stream)
            .bind(s.last as i64)
            .execute(tx.conn())
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records held here that the server has not acknowledged: the outbox.
    pub async fn pending(&self) -> Result<usize, LocalError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM records r LEFT JOIN acked a ON a.device = r.device AND a.stream = r.stream \
             WHERE r.idx > COALESCE(a.last, 0)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n as usize)
    }

    /// Moves the ratings an evaluator of an earlier version kept in table `rating_outbox`
    /// (local migration 0003) for `window` into this device's log, as `ticket_rated` records
    /// authored by `author`: each row is appended and deleted in one transaction, so each is
    /// carried once and none is dropped. A row that does not decode stays in the table (logged).
    /// Rows of another window wait for that window's evaluator. Returns how many moved.
    pub async fn carry_over_rating_outbox(
        &self,
        window: u32,
        author: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, LocalError> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id, body FROM rating_outbox WHERE window_no = ? ORDER BY kept_at, rowid")
                .bind(i64::from(window))
                .fetch_all(tx.conn())
                .await?;
        let mut moved = 0;
        for (id, body) in rows {
            let kept: crate::api::hall::RateTicket = match serde_json::from_str(&body) {
                Ok(kept) => kept,
                Err(e) => {
                    tracing::error!(error = %e, "a kept rating does not decode; left in the old outbox");
                    continue;
                }
            };
            // Already carried (from the older file, say): the row goes, the rating stays once.
            let held: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM records WHERE kind = 'ticket_rated' AND json_extract(envelope, '$.body.id') = ?",
            )
            .bind(kept.id.to_string())
            .fetch_one(tx.conn())
            .await?;
            let body = RecordBody::TicketRated(Box::new(crate::domain::rating::TicketRating {
                id: kept.id,
                ticket_id: kept.ticket_id,
                window,
                level: kept.level,
                reason: kept.reason,
            }));
            if held == 0 {
                self.append_in(tx.conn(), author, window, Post::A, &body, now).await?;
            }
            sqlx::query("DELETE FROM rating_outbox WHERE id = ?").bind(id).execute(tx.conn()).await?;
            moved += 1;
        }
        tx.commit().await?;
        if moved > 0 {
            tracing::info!(moved, window, "ratings of the old evaluator outbox moved into the device log");
        }
        Ok(moved)
    }

    /// Whether this store's log holds the evaluator's rating `id` (a `ticket_rated` record).
    pub async fn holds_rating(&self, id: Uuid) -> Result<bool, LocalError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM records WHERE kind = 'ticket_rated' AND json_extract(envelope, '$.body.id') = ?",
        )
        .bind(id.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    pub async fn remove(&self, key: &str) -> Result<(), LocalError> {
        sqlx::query("DELETE FROM kv WHERE key = ?").bind(key).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), LocalError> {
        sqlx::query("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(serde_json::to_string(value)?)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A cached value; `None` when absent or no longer readable (a cache is never a reason to fail).
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, LocalError> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT value FROM kv WHERE key = ?").bind(key).fetch_optional(&self.pool).await?;
        Ok(text.and_then(|t| match serde_json::from_str(&t) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(key, error = %e, "cached value no longer decodes; ignoring it");
                None
            }
        }))
    }

    /// Applies a catalogue delta from the server.
    pub async fn apply_guides(&self, changes: &GuideChanges) -> Result<(), LocalError> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        for g in &changes.guides {
            sqlx::query(
                "INSERT INTO guides (code, seq, body) VALUES (?, ?, ?) \
                 ON CONFLICT (code) DO UPDATE SET seq = excluded.seq, body = excluded.body",
            )
            .bind(&g.code)
            .bind(changes.seq)
            .bind(serde_json::to_string(g)?)
            .execute(tx.conn())
            .await?;
        }
        // Guides the center hides (its overlay on the county catalogue): gone from this terminal.
        for code in &changes.removed {
            sqlx::query("DELETE FROM guides WHERE code = ?").bind(code).execute(tx.conn()).await?;
        }
        sqlx::query("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(CATALOGUE_SEQ_KEY)
            .bind(changes.seq.to_string())
            .execute(tx.conn())
            .await?;
        sqlx::query("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(CATALOGUE_REVISION_KEY)
            .bind(serde_json::to_string(&Uuid::now_v7())?)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The catalogue sequence the cached guides are current to (0: nothing cached).
    pub async fn catalogue_seq(&self) -> Result<i64, LocalError> {
        Ok(self.get::<i64>(CATALOGUE_SEQ_KEY).await?.unwrap_or(0))
    }

    /// The sequence and revision of the cached catalogue, read together: the revision changes
    /// with every change applied (`None`: nothing ever applied).
    pub async fn catalogue_revision(&self) -> Result<(i64, Option<Uuid>), LocalError> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM kv WHERE key IN (?, ?)")
            .bind(CATALOGUE_SEQ_KEY)
            .bind(CATALOGUE_REVISION_KEY)
            .fetch_all(&self.pool)
            .await?;
        let mut seq = 0;
        let mut revision = None;
        for (key, value) in rows {
            if key == CATALOGUE_SEQ_KEY {
                seq = serde_json::from_str(&value)?;
            } else {
                revision = Some(serde_json::from_str(&value)?);
            }
        }
        Ok((seq, revision))
    }

    /// One cached guide.
    pub async fn guide(&self, code: &str) -> Result<Option<ServiceGuide>, LocalError> {
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM guides WHERE code = ?").bind(code).fetch_optional(&self.pool).await?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    /// One cached guide by its code as a person types it (`hb-qs-0001`): the exact code first,
    /// else the same code in other letter case (the first such in code order).
    ///
    /// The exact code and the code in capitals are looked up by the primary key, one row read
    /// whatever the catalogue's size: a case-blind comparison cannot use that key, and scanned
    /// all 100,000 guides of a county catalogue (half a second for `guides show`). Capitals come
    /// first in code order among a code's letter-case variants (A-Z sort before a-z), so when the
    /// capitalised code is stored it is the one the scan would pick; only a code stored in mixed
    /// case is left to the scan.
    pub async fn guide_by_typed_code(&self, code: &str) -> Result<Option<ServiceGuide>, LocalError> {
        if let Some(guide) = self.guide(code).await? {
            return Ok(Some(guide));
        }
        let capitals = code.to_ascii_uppercase();
        if capitals != code
            && let Some(guide) = self.guide(&capitals).await?
        {
            return Ok(Some(guide));
        }
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM guides WHERE code = ?1 COLLATE NOCASE ORDER BY code LIMIT 1")
                .bind(code)
                .fetch_optional(&self.pool)
                .await?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    /// The next number of a daily sequence kept on this device (notice and case numbers are
    /// made at the window, offline too). Starts at 1, and never at or below `at_least`.
    pub async fn next_sequence(&self, key: &str, at_least: u32) -> Result<u32, LocalError> {
        let key = format!("seq:{key}");
        let n: i64 = sqlx::query_scalar(
            "INSERT INTO kv (key, value) VALUES (?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = MAX(CAST(value AS INTEGER), ?) + 1 \
             RETURNING CAST(value AS INTEGER)",
        )
        .bind(&key)
        .bind((i64::from(at_least) + 1).to_string())
        .bind(i64::from(at_least))
        .fetch_one(&self.pool)
        .await?;
        Ok(n as u32)
    }

    /// The highest number already used under `prefix` by records of `kind` of the last two days
    /// held here: this terminal's (also those carried over from a damaged cache) and, once
    /// synced, the other terminals' of the same window. A new number starts above it, so a
    /// rebuilt cache or a second terminal does not print a number twice.
    pub async fn highest_number(
        &self,
        kind: &str,
        window: u32,
        prefix: &str,
        since: DateTime<Utc>,
    ) -> Result<u32, LocalError> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT envelope FROM records WHERE kind = ? AND window_no = ? AND created_at >= ?")
                .bind(kind)
                .bind(i64::from(window))
                .bind(since.timestamp())
                .fetch_all(&self.pool)
                .await?;
        let mut highest = 0;
        for row in rows {
            let envelope: RecordEnvelope = serde_json::from_str(&row)?;
            let numbers = match serde_json::from_value::<RecordBody>(envelope.body) {
                Ok(RecordBody::NoticeGiven(notice)) => vec![notice.number],
                Ok(RecordBody::CaseSnapshot(case)) => {
                    case.case_number.into_iter().chain(case.ending.and_then(|e| e.notice_number)).collect()
                }
                _ => Vec::new(),
            };
            for seq in numbers.iter().filter_map(|n| n.strip_prefix(prefix)).filter_map(|s| s.parse::<u32>().ok()) {
                highest = highest.max(seq);
            }
        }
        Ok(highest)
    }

    /// Every one-time notice held here for a case (made here or downloaded).
    pub async fn notices_for(&self, case_id: Uuid) -> Result<Vec<OneTimeNotice>, LocalError> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT envelope FROM records WHERE kind = 'notice_given'")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for row in rows {
            let envelope: RecordEnvelope = serde_json::from_str(&row)?;
            if let Ok(RecordBody::NoticeGiven(notice)) = serde_json::from_value(envelope.body)
                && notice.case_id == case_id
            {
                out.push(*notice);
            }
        }
        Ok(out)
    }

    /// Whether a snapshot of version `version_id` of a case is in this log (written here or
    /// downloaded).
    pub async fn holds_case_version(&self, version_id: Uuid) -> Result<bool, LocalError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM records WHERE kind = 'case_snapshot' AND json_extract(envelope, '$.body.version_id') = ? LIMIT 1",
        )
        .bind(version_id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// A printed document found by its number, for a reprint: the notice with that number and
    /// its case, or the case whose case number (受理凭证) or 不予受理告知书 number it is. The
    /// case as its newest snapshot held here.
    pub async fn document_by_number(&self, number: &str) -> Result<Option<(Case, Option<OneTimeNotice>)>, LocalError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT envelope FROM records WHERE kind IN ('notice_given', 'case_snapshot') ORDER BY created_at, idx",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut notice: Option<OneTimeNotice> = None;
        let mut cases: Vec<Case> = Vec::new();
        for row in rows {
            let envelope: RecordEnvelope = serde_json::from_str(&row)?;
            match serde_json::from_value::<RecordBody>(envelope.body) {
                Ok(RecordBody::NoticeGiven(n)) if n.number == number => notice = Some(*n),
                Ok(RecordBody::CaseSnapshot(case)) => match cases.iter_mut().find(|c| c.id == case.id) {
                    Some(slot) => *slot = *case,
                    None => cases.push(*case),
                },
                _ => {}
            }
        }
        let names = |c: &Case| {
            c.case_number.as_deref() == Some(number)
                || c.ending.as_ref().and_then(|e| e.notice_number.as_deref()) == Some(number)
        };
        let case = match &notice {
            Some(n) => cases.into_iter().find(|c| c.id == n.case_id),
            None => cases.into_iter().find(names),
        };
        Ok(case.map(|c| (c, notice)))
    }

    /// The newest snapshot of each case of a window that the server has not acknowledged yet:
    /// what the window did while the server could not hear it.
    pub async fn pending_cases(&self, window: u32) -> Result<Vec<Case>, LocalError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT r.envelope FROM records r LEFT JOIN acked a ON a.device = r.device AND a.stream = r.stream \
             WHERE r.kind = 'case_snapshot' AND r.window_no = ? AND r.idx > COALESCE(a.last, 0) \
             ORDER BY r.created_at, r.idx",
        )
        .bind(i64::from(window))
        .fetch_all(&self.pool)
        .await?;
        let mut latest: Vec<Case> = Vec::new();
        for row in rows {
            let envelope: RecordEnvelope = serde_json::from_str(&row)?;
            if let Ok(RecordBody::CaseSnapshot(case)) = serde_json::from_value(envelope.body) {
                // The case's version orders its snapshots, not this PC's clock.
                match latest.iter_mut().find(|c| c.id == case.id) {
                    Some(slot) if slot.version.version <= case.version.version => *slot = *case,
                    Some(_) => {}
                    None => latest.push(*case),
                }
            }
        }
        Ok(latest)
    }

    /// The window's handover history as held here (written here, offline too, or downloaded),
    /// newest first, with the acknowledgements held here.
    pub async fn handovers(&self, window: u32) -> Result<Vec<Handover>, LocalError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT envelope FROM records \
             WHERE kind IN ('handover_written', 'handover_acknowledged', 'handover_item_checked', 'handover_withdrawn') \
             AND window_no = ? ORDER BY created_at, idx",
        )
        .bind(i64::from(window))
        .fetch_all(&self.pool)
        .await?;
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            let envelope: RecordEnvelope = serde_json::from_str(&row)?;
            match serde_json::from_value(envelope.body) {
                Ok(RecordBody::HandoverWritten(mut h)) => {
                    if h.written_by.is_empty() {
                        h.written_by = envelope.author;
                    }
                    events.push(HandoverEvent::Written(h));
                }
                Ok(RecordBody::HandoverAcknowledged { handover_id, by, at, note }) => {
                    events.push(HandoverEvent::Acknowledged { handover_id, ack: Acknowledgement { by, at, note } });
                }
                Ok(RecordBody::HandoverItemChecked { handover_id, item, done }) => {
                    events.push(HandoverEvent::ItemChecked { handover_id, item: item as usize, done });
                }
                Ok(RecordBody::HandoverWithdrawn { handover_id, by, at }) => {
                    let withdrawal = crate::domain::handover::Withdrawal { by, at };
                    events.push(HandoverEvent::Withdrawn { handover_id, withdrawal });
                }
                _ => {}
            }
        }
        Ok(fold_history(events))
    }

    /// Up to `limit` cached guides after the code `after` ("" for the first), by code, as stored
    /// (JSON, not decoded): the catalogue read a page at a time, so reading it never holds more
    /// than a page, nor the store's one connection for long.
    pub async fn guide_page(&self, after: &str, limit: u32) -> Result<Vec<(String, String)>, LocalError> {
        Ok(sqlx::query_as("SELECT code, body FROM guides WHERE code > ? ORDER BY code LIMIT ?")
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// How many guides are cached, and how many of them were stored after catalogue sequence
    /// `after` (both through the index on `seq`, never the guides' bodies).
    pub async fn guide_counts(&self, after: i64) -> Result<(u64, u64), LocalError> {
        let (all, since): (i64, i64) =
            sqlx::query_as("SELECT count(*), count(*) FILTER (WHERE seq > ?) FROM guides INDEXED BY guides_by_seq")
                .bind(after)
                .fetch_one(&self.pool)
                .await?;
        Ok((all as u64, since as u64))
    }

    /// The cached guides stored after catalogue sequence `after` (what the deltas since brought),
    /// in code order.
    pub async fn guides_since(&self, after: i64) -> Result<Vec<(String, String)>, LocalError> {
        Ok(sqlx::query_as("SELECT code, body FROM guides WHERE seq > ? ORDER BY code")
            .bind(after)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The integrity check of the catalogue cache, left out of the check at open (see
    /// `connect`): run once the terminal is up. When it fails, the next open checks the whole
    /// file and rebuilds it (the catalogue is fetched again; the device's records are carried
    /// over), and this says `false`.
    pub async fn check_catalogue(&self, path: &Path) -> Result<bool, LocalError> {
        let check = match sqlx::query_scalar::<_, String>("PRAGMA quick_check(guides)").fetch_one(&self.pool).await {
            Ok(check) => check,
            Err(e) if is_damage(&e) => e.to_string(),
            Err(e) => return Err(e.into()),
        };
        if check == "ok" {
            return Ok(true);
        }
        tracing::error!(%check, path = %path.display(), "cached catalogue failed its integrity check; whole store checked at the next start");
        std::fs::write(full_check_marker(path), b"catalogue cache failed its integrity check\n")
            .map_err(|e| LocalError::Database(format!("{}: {e}", full_check_marker(path).display())))?;
        Ok(false)
    }

    /// The cached catalogue, by code. A row that no longer decodes is skipped, not fatal.
    pub async fn guides(&self) -> Result<Vec<ServiceGuide>, LocalError> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT body FROM guides ORDER BY code").fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                serde_json::from_str(r).inspect_err(|e| tracing::warn!(error = %e, "cached guide skipped")).ok()
            })
            .collect())
    }
}

/// A write transaction on the store's one connection, begun and ended by hand rather than with
/// sqlx's `Transaction`. When a COMMIT fails on a full disk, SQLite may or may not have rolled the
/// transaction back by itself; sqlx's count of open transactions then drifts from SQLite's, and
/// its next "transaction" is a savepoint inside one that is never committed: later records were
/// reported saved and lost. Here a transaction that does not end in an acknowledged COMMIT takes
/// its connection with it: closing the connection rolls back whatever is open, and the pool opens
/// a fresh one for the next write. A record is reported saved only after COMMIT returned OK.
struct WriteTx {
    conn: Option<PoolConnection<Sqlite>>,
}

impl WriteTx {
    async fn begin(pool: &SqlitePool) -> Result<Self, LocalError> {
        let mut conn = pool.acquire().await?;
        // IMMEDIATE: take the write lock now, so a busy database fails here, not at COMMIT.
        if let Err(e) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
            conn.close_on_drop();
            return Err(e.into());
        }
        Ok(Self { conn: Some(conn) })
    }

    fn conn(&mut self) -> &mut SqliteConnection {
        self.conn.as_deref_mut().expect("open until committed")
    }

    async fn commit(mut self) -> Result<(), LocalError> {
        sqlx::query("COMMIT").execute(self.conn()).await?;
        // Committed: the connection goes back to the pool as it is.
        self.conn.take();
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            tracing::warn!("local store: a write transaction did not commit; resetting the connection");
            conn.close_on_drop();
        }
    }
}

/// The marker `migrations/local/0002_record_schema_2.sql` leaves for [`upgrade_records`].
const UPGRADE_RECORD_SCHEMA_2: &str = "upgrade:record_schema_2";

/// Rewrites the records of record schema 1 (Chinese state values, written by an older terminal)
/// in the current schema, once, while the migration's marker is there; the marker goes in the same
/// transaction, so a crash part-way does it all again. In Rust, not SQL: the values sit at every
/// depth of the bodies, and the domain's serde aliases already know every old value. The server
/// runs the same loop over its own table (`server::store::record_schema`, which says why the two
/// are not one function); the step, `RecordEnvelope::upgrade`, is shared.
async fn upgrade_records(pool: &SqlitePool) -> Result<(), LocalError> {
    let pending: Option<String> = sqlx::query_scalar("SELECT value FROM kv WHERE key = ?")
        .bind(UPGRADE_RECORD_SCHEMA_2)
        .fetch_optional(pool)
        .await?;
    if pending.is_none() {
        return Ok(());
    }
    let mut tx = WriteTx::begin(pool).await?;
    let (mut last, mut upgraded) = (0i64, 0usize);
    loop {
        let rows = sqlx::query("SELECT rowid, envelope FROM records WHERE rowid > ? ORDER BY rowid LIMIT 500")
            .bind(last)
            .fetch_all(tx.conn())
            .await?;
        for row in &rows {
            last = row.try_get("rowid")?;
            let Ok(mut envelope) = serde_json::from_str::<RecordEnvelope>(row.try_get("envelope")?) else {
                tracing::warn!(rowid = last, "local record does not decode; left as it is");
                continue;
            };
            if envelope.upgrade() {
                sqlx::query("UPDATE records SET envelope = ? WHERE rowid = ?")
                    .bind(serde_json::to_string(&envelope)?)
                    .bind(last)
                    .execute(tx.conn())
                    .await?;
                upgraded += 1;
            }
        }
        if rows.len() < 500 {
            break;
        }
    }
    sqlx::query("DELETE FROM kv WHERE key = ?").bind(UPGRADE_RECORD_SCHEMA_2).execute(tx.conn()).await?;
    tx.commit().await?;
    if upgraded > 0 {
        tracing::info!(upgraded, "local records rewritten in record schema 2");
    }
    Ok(())
}

async fn insert_record(tx: &mut SqliteConnection, r: &RecordEnvelope) -> Result<usize, LocalError> {
    // Kept in the current schema, whatever the age of the terminal or server it came from.
    let mut r = r.clone();
    r.upgrade();
    let r = &r;
    let done = sqlx::query(
        "INSERT INTO records (device, stream, idx, id, window_no, kind, created_at, envelope) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(r.device.to_string())
    .bind(&r.stream)
    .bind(r.idx as i64)
    .bind(r.id.to_string())
    .bind(i64::from(r.window))
    .bind(r.body.get("kind").and_then(|k| k.as_str()).unwrap_or("unknown"))
    .bind(r.created_at.timestamp())
    .bind(serde_json::to_string(r)?)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() as usize)
}

/// Deletes the copies of a damaged store (`NAME.corrupt-*`, with their WAL and shared-memory
/// files) that are older than `older_than`. Returns how many were removed.
pub fn remove_old_damaged_copies(path: &Path, older_than: Duration) -> usize {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().map(|n| n.to_string_lossy().into_owned())) else {
        return 0;
    };
    let prefix = format!("{name}.corrupt-");
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= older_than);
        if file.starts_with(&prefix) && old && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Renames the damaged file (and its WAL and shared-memory files) out of the way.
fn move_aside(path: &Path, now: DateTime<Utc>) -> Result<PathBuf, LocalError> {
    let stamp = crate::domain::time::to_china(now).format("%Y%m%d-%H%M%S");
    let moved_to = path.with_file_name(format!(
        "{}.corrupt-{stamp}",
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "local.db".into())
    ));
    // The pool that found the damage may release the file a moment after it closed (Windows).
    crate::platform::when_released(|| std::fs::rename(path, &moved_to))
        .map_err(|e| LocalError::Database(format!("无法移走损坏的缓存文件：{e}")))?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            let _ =
                crate::platform::when_released(|| std::fs::rename(&side, format!("{}{suffix}", moved_to.display())));
        }
    }
    Ok(moved_to)
}

/// What could be read back from a damaged file.
struct ReadBack {
    records: Vec<RecordEnvelope>,
    /// Unsent records that could not be read (see [`Recovery::lost_unsent`]).
    lost_unsent: Option<usize>,
}

/// Reads every statement's rows up to the first error: everything before a damaged page is kept.
async fn rows_until_error<T>(pool: &SqlitePool, sql: &str) -> (Vec<T>, Option<sqlx::Error>)
where
    T: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
{
    use futures_util::StreamExt;
    let mut rows = Vec::new();
    let mut stream = sqlx::query_as::<_, T>(sql).fetch(pool);
    while let Some(row) = stream.next().await {
        match row {
            Ok(row) => rows.push(row),
            Err(e) => return (rows, Some(e)),
        }
    }
    (rows, None)
}

/// Reads every record SQLite can still read from a damaged file: a forward scan and a reverse
/// scan (each reads up to the damaged page from its side), then every rowid in between one by
/// one (a lookup reaches the pages around a damaged one). The table's primary-key index, when
/// it is still readable, lists every place the log had, so the unsent records that could not
/// be read are counted exactly, against how far the server had acknowledged each log.
async fn read_back_records(path: &Path) -> Option<ReadBack> {
    use std::collections::{BTreeMap, HashMap, HashSet};
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display())).ok()?.read_only(true);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.ok()?;
    let mut by_rowid: BTreeMap<i64, String> = BTreeMap::new();
    let mut failed = false;
    for sql in [
        "SELECT rowid, envelope FROM records ORDER BY rowid",
        "SELECT rowid, envelope FROM records ORDER BY rowid DESC",
    ] {
        let (rows, error) = rows_until_error::<(i64, String)>(&pool, sql).await;
        if let Some(e) = error {
            tracing::warn!(error = %e, read = rows.len(), sql, "a scan of the damaged store stopped");
            failed = true;
        }
        by_rowid.extend(rows);
    }
    if failed && let (Some(&low), Some(&high)) = (by_rowid.keys().next(), by_rowid.keys().next_back()) {
        // Between the two scans: rowid by rowid (bounded, so a wild rowid cannot run forever).
        for rowid in (low + 1..high).take(1_000_000) {
            if by_rowid.contains_key(&rowid) {
                continue;
            }
            if let Ok(Some(envelope)) = sqlx::query_scalar::<_, String>("SELECT envelope FROM records WHERE rowid = ?")
                .bind(rowid)
                .fetch_optional(&pool)
                .await
            {
                by_rowid.insert(rowid, envelope);
            }
        }
    }
    let records: Vec<RecordEnvelope> = by_rowid.values().filter_map(|r| serde_json::from_str(r).ok()).collect();
    // Every place the log had, from the primary-key index alone (it covers the query).
    let indexes: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'")
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
    let mut places = None;
    for index in indexes {
        let sql = format!("SELECT device, stream, idx FROM records INDEXED BY \"{index}\"");
        if let (rows, None) = rows_until_error::<(String, String, i64)>(&pool, &sql).await {
            places = Some(rows);
            break;
        }
    }
    let (acked, acked_error) =
        rows_until_error::<(String, String, i64)>(&pool, "SELECT device, stream, last FROM acked").await;
    pool.close().await;
    if !failed {
        // Nothing failed to read: nothing unsent was lost.
        return Some(ReadBack { records, lost_unsent: Some(0) });
    }
    if by_rowid.is_empty() && places.is_none() {
        return None;
    }
    let lost_unsent = match (places, acked_error) {
        (Some(places), None) => {
            let acked: HashMap<(String, String), i64> = acked.into_iter().map(|(d, s, l)| ((d, s), l)).collect();
            let read: HashSet<(String, String, i64)> =
                records.iter().map(|r| (r.device.to_string(), r.stream.clone(), r.idx as i64)).collect();
            Some(
                places
                    .into_iter()
                    .filter(|(d, s, i)| *i > acked.get(&(d.clone(), s.clone())).copied().unwrap_or(0))
                    .filter(|place| !read.contains(place))
                    .count(),
            )
        }
        _ => None,
    };
    Some(ReadBack { records, lost_unsent })
}

impl LocalStore {
    /// Removes the applicant (name, ID number, phone) and the 代办人 from this cache's snapshots of cases that
    /// are closed (已办结 or 已终止) and last changed before `older_than`. Only records the server
    /// has acknowledged are touched: the outbox is uploaded as it was made. When anything was
    /// removed the file is rebuilt (`VACUUM`) and the WAL truncated, so no old copy lingers in
    /// free pages. Returns how many records were rewritten.
    pub async fn purge_personal_data(&self, older_than: DateTime<Utc>) -> Result<usize, LocalError> {
        use std::collections::HashMap;
        let rows = sqlx::query(
            "SELECT r.device, r.stream, r.idx, r.envelope, (r.idx <= COALESCE(a.last, 0)) AS acked \
             FROM records r LEFT JOIN acked a ON a.device = r.device AND a.stream = r.stream \
             WHERE r.kind = 'case_snapshot'",
        )
        .fetch_all(&self.pool)
        .await?;
        // The newest snapshot of each case says whether it is closed, and since when.
        let mut newest: HashMap<String, (DateTime<Utc>, u64, bool)> = HashMap::new();
        let mut candidates = Vec::new();
        for row in &rows {
            let envelope: RecordEnvelope = serde_json::from_str(row.try_get::<&str, _>("envelope")?)?;
            let Some(case_id) = envelope.body.get("id").and_then(|v| v.as_str()).map(str::to_owned) else {
                continue;
            };
            let status =
                envelope.body.get("status").and_then(|v| <CaseStatus as serde::Deserialize>::deserialize(v).ok());
            let closed = status.is_some_and(|s: CaseStatus| !s.is_open());
            let key = (envelope.created_at, envelope.idx);
            match newest.get(&case_id) {
                Some((at, idx, _)) if (*at, *idx) >= key => {}
                _ => {
                    newest.insert(case_id.clone(), (envelope.created_at, envelope.idx, closed));
                }
            }
            let acked: bool = row.try_get("acked")?;
            let present = |key: &str| envelope.body.get(key).is_some_and(|a| !a.is_null());
            let has_applicant = present("applicant") || present("agent");
            if acked && has_applicant {
                candidates.push((case_id, envelope));
            }
        }
        let purge: Vec<RecordEnvelope> = candidates
            .into_iter()
            .filter(|(case_id, _)| newest.get(case_id).is_some_and(|(at, _, closed)| *closed && *at < older_than))
            .map(|(_, mut envelope)| {
                if let Some(body) = envelope.body.as_object_mut() {
                    // The 代办人's name and ID number are personal data as much as the applicant's.
                    body.remove("applicant");
                    body.remove("agent");
                }
                envelope
            })
            .collect();
        if purge.is_empty() {
            return Ok(0);
        }
        let mut tx = WriteTx::begin(&self.pool).await?;
        for envelope in &purge {
            sqlx::query("UPDATE records SET envelope = ? WHERE device = ? AND stream = ? AND idx = ?")
                .bind(serde_json::to_string(envelope)?)
                .bind(envelope.device.to_string())
                .bind(&envelope.stream)
                .bind(envelope.idx as i64)
                .execute(tx.conn())
                .await?;
        }
        tx.commit().await?;
        // Old copies of the rows linger in free pages (and the WAL) until the file is rebuilt.
        sqlx::query("VACUUM").execute(&self.pool).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await?;
        tracing::info!(records = purge.len(), "applicant data of closed cases removed from the local cache");
        Ok(purge.len())
    }
}
