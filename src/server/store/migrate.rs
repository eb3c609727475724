//! `bianmin migrate --from sqlite://... --to postgres://...`: moves a center's server database to
//! the county's PostgreSQL database, checked, resumable, and once.
//!
//! - **Which tables.** The list comes from the schemas themselves, not from a list here: every
//!   table of the target (PostgreSQL, migrated first) is copied, its columns and primary key read
//!   from the catalogue, and it must exist in the source with the same columns. Every table of the
//!   source (SQLite, migrated first) must exist in the target or be named in [`LEFT_BEHIND`]
//!   with the reason; otherwise the run refuses before copying anything. So a table added to the
//!   SQLite migrations but not to the PostgreSQL ones stops every migration (and the test that
//!   migrates a full database), and one added to both is copied without a change here.
//! - **Order and batches.** Tables in an order where a referenced table comes before the tables
//!   referencing it (the target's foreign keys), rows in primary-key order, in batches; each
//!   batch is one transaction on the target that also counts it in `migration_progress`.
//! - **Resumable.** A table's copied rows are exactly a prefix of the source in key order (every
//!   batch commits with its progress), so a run killed at any point continues after the target's
//!   last key; a table is marked done in the transaction of its last batch.
//! - **Checked.** After the copy, each table's row count and a SHA-256 digest over its rows in key
//!   order (each value in one canonical text form, [`Value::feed`]) are computed on both sides;
//!   any difference stops the run, naming the table, and the run is not marked finished.
//! - **Once.** `migration_runs` (postgres 0011) records the source center; a finished run makes a
//!   second one refuse, and so does a target already holding this center ([`decide`]).
//! - **Several centers.** The county database holds many centers: each township's database is
//!   moved in by its own run, one after another. A center's rows are its own ([`Share`]): the
//!   rows with its `center_id` (its `center` row), and the sessions, device bindings and sign-in
//!   failures of its staff. Resume point, row counts and digests look at those rows only, on
//!   both sides. The county-wide tables (guides, lexicon, calendar) are copied into an empty
//!   county database only; once the county has its own, they are kept and the source's are not
//!   copied (nor compared: townships' catalogues may differ, the county's is the one served).
//!   Identity values (audit ids, ...) of a table that already holds other centers' rows are
//!   shifted past every value the county handed out, the same shift for all of them, so their
//!   order (audit pages) holds; the digest compares them unshifted. Staff ids must be unique in
//!   the county: a source whose staff ids the county already has is refused.
//!   A table's identity sequence is set past the values the copy will use in the transaction of
//!   its first batch (under the table's lock), for an empty target table too, so that a county
//!   server writing into it meanwhile is never handed a value a copied row then takes.
//! - **Rows of no center.** A source row of a center table that names no center (an audit line
//!   of a county account, or of a request whose caller was not known) is not the center's and
//!   not copied; the run says how many per table ([`NO_CENTER_REASON`]), and they stay in the
//!   source, which the run never changes.
//!
//! While it copies, the run holds the source's write lock (`BEGIN IMMEDIATE`, rolled back at the
//! end: nothing is written to the source after its migrations), so a server left running on it
//! cannot change what is being copied; the operator stops the center's server first anyway.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Connection, PgConnection, PgPool, Postgres, QueryBuilder, Row, SqliteConnection};

use super::{PgStore, SqliteStore, StoreError};
use crate::domain::time::to_china;

/// Tables of the SQLite schema that the county database does not have, with the reason they stay
/// behind. A source table that is neither in the target nor here stops the migration.
pub const LEFT_BEHIND: &[(&str, &str)] = &[
    ("_sqlx_migrations", "each database keeps its own migration history"),
    ("meta", "no longer read by the store (0001's key-value table)"),
    ("tickets", "the first queue table, no longer read since queue_tickets (0004)"),
    ("pending_upgrades", "SQLite's one-off upgrade marker, consumed when the source is opened"),
];

/// Target tables that are the migration's own (or the migrator's): never copied.
const TARGET_OWN: &[&str] = &["_sqlx_migrations", "migration_runs", "migration_progress"];

/// Target tables whose PostgreSQL migration may have inserted the center's row (`queue_revision`'s
/// counter): a new run replaces that row with the source's.
const SEEDED_BY_MIGRATIONS: &[&str] = &["queue_revision"];

/// Target tables that triggers write when rows of other tables are written: each is copied after
/// those tables, so that the copied rows end as the source has them (the center's configuration
/// revision on `queue_revision` is bumped by every window and queue category written, PostgreSQL
/// migration 0018; copied after them, the row is the source's and the digests agree).
const WRITTEN_BY_TRIGGERS: &[(&str, &[&str])] = &[("queue_revision", &["windows", "queue_categories"])];

/// The advisory lock (in the store's lock space) one migration holds on the target while it runs.
const LOCK_SPACE: i32 = 0x626d;
const MIGRATION_LOCK: i32 = 6;

/// What `bianmin migrate` was asked to do.
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    pub from: String,
    pub to: String,
    pub dry_run: bool,
    /// Rows per batch (one target transaction each).
    pub batch_size: usize,
}

/// One table as checked on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    pub table: String,
    pub rows: i64,
    /// SHA-256 over the rows in key order, hex; empty for a dry run.
    pub digest: String,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `--dry-run`: the tables that would be copied with their row counts; `note` says whether a
    /// real run would start, continue, or refuse.
    Planned { center: String, tables: Vec<TableReport>, left_behind: Vec<(String, i64)>, note: String },
    /// Every table copied and checked; the run is recorded as finished. `without_center`: rows
    /// of center tables in the source that name no center (see [`rows_of_no_center`]), per
    /// table, not copied.
    Done { center: String, tables: Vec<TableReport>, without_center: Vec<(String, i64)> },
}

/// Why a run stopped. The messages are the operator's (Chinese); each is also logged in English.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// Nothing was changed, by rule: already done, another center, a non-empty target, ...
    #[error("{0}")]
    Refused(String),
    /// The two schemas do not match table for table; nothing was copied.
    #[error("{0}")]
    Schema(String),
    #[error(
        "校验失败：表 {table} 两边不一致（源库 {source_rows} 行，摘要 {source_digest}；县级库 {target_rows} 行，摘要 {target_digest}）。迁移没有完成，县级库中的这些数据不能使用；请查明原因后再运行。"
    )]
    Mismatch { table: String, source_rows: i64, target_rows: i64, source_digest: String, target_digest: String },
    #[error("表 {table} 列 {column} 的值无法读取（{message}）；没有继续迁移。")]
    Value { table: String, column: String, message: String },
    #[error("数据库出错：{0}")]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for MigrateError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

type Result<T> = std::result::Result<T, MigrateError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Text,
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
    identity: bool,
}

/// Which rows of a table are one center's.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Share {
    /// Those whose column (`center_id`, or `center`'s `id`) names the center.
    Center(String),
    /// Those of the center's staff (`staff_id`): sessions, device bindings, sign-in failures.
    Staff,
    /// None: the table is the county's (guides, lexicon, calendar).
    County,
}

/// A table to copy, as the target's catalogue describes it.
#[derive(Debug, Clone)]
struct Table {
    name: String,
    columns: Vec<Column>,
    /// Indices into `columns`: the primary key, in key order.
    key: Vec<usize>,
    share: Share,
}

impl Table {
    /// The condition selecting the center's rows, with `param` for the center's id; `None` for a
    /// county table.
    fn rows_of_center(&self, param: &str) -> Option<String> {
        match &self.share {
            Share::Center(column) => Some(format!("{} = {param}", quoted(column))),
            Share::Staff => {
                Some(format!("\"staff_id\" IN (SELECT \"id\" FROM \"staff\" WHERE \"center_id\" = {param})"))
            }
            Share::County => None,
        }
    }

    /// `WHERE` and the center's rows (empty for a county table), with `param` for the center.
    fn where_center(&self, param: &str) -> String {
        self.rows_of_center(param).map(|c| format!("WHERE {c}")).unwrap_or_default()
    }

    fn column_list(&self) -> String {
        self.columns.iter().map(|c| quoted(&c.name)).collect::<Vec<_>>().join(", ")
    }

    fn key_list(&self, desc: bool) -> String {
        let dir = if desc { " DESC" } else { "" };
        self.key.iter().map(|&i| format!("{}{dir}", quoted(&self.columns[i].name))).collect::<Vec<_>>().join(", ")
    }
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One stored value, in the two types the schema uses.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl Value {
    /// The canonical form the digest is taken over: a tag, then the value in a form that cannot
    /// run into the next one (decimal for integers, byte length then UTF-8 bytes for text).
    fn feed(&self, hasher: &mut Sha256) {
        match self {
            Value::Null => hasher.update(b"N"),
            Value::Int(i) => hasher.update(format!("I{i};").as_bytes()),
            Value::Text(s) => {
                hasher.update(format!("T{}:", s.len()).as_bytes());
                hasher.update(s.as_bytes());
            }
        }
    }
}

fn sqlite_value(row: &SqliteRow, table: &Table, i: usize) -> Result<Value> {
    let column = &table.columns[i];
    let value = match column.kind {
        Kind::Int => row.try_get::<Option<i64>, _>(i).map(|v| v.map_or(Value::Null, Value::Int)),
        Kind::Text => row.try_get::<Option<String>, _>(i).map(|v| v.map_or(Value::Null, Value::Text)),
    };
    value.map_err(|e| value_error(table, column, e))
}

fn pg_value(row: &PgRow, table: &Table, i: usize) -> Result<Value> {
    let column = &table.columns[i];
    let value = match column.kind {
        Kind::Int => row.try_get::<Option<i64>, _>(i).map(|v| v.map_or(Value::Null, Value::Int)),
        Kind::Text => row.try_get::<Option<String>, _>(i).map(|v| v.map_or(Value::Null, Value::Text)),
    };
    value.map_err(|e| value_error(table, column, e))
}

fn value_error(table: &Table, column: &Column, e: sqlx::Error) -> MigrateError {
    tracing::error!(table = %table.name, column = %column.name, error = %e, "migrate: a value does not decode");
    MigrateError::Value { table: table.name.clone(), column: column.name.clone(), message: e.to_string() }
}

/// Runs the migration (or, with `dry_run`, plans it). `progress` receives the progress lines
/// (Chinese), one per table and batch.
pub async fn migrate(options: &MigrateOptions, progress: &mut (dyn FnMut(String) + Send)) -> Result<Outcome> {
    let source_path = sqlite_path(&options.from)?;
    if !super::is_postgres_url(&options.to) {
        return Err(MigrateError::Refused(format!(
            "--to 须为县级 PostgreSQL 数据库地址 postgres://...，而不是 {}",
            redacted(&options.to)
        )));
    }
    if options.batch_size == 0 {
        return Err(MigrateError::Refused("每批行数须大于 0".into()));
    }
    progress(format!("打开源数据库 {}（并升级到最新结构）", source_path.display()));
    let source = SqliteStore::open(&options.from).await?;
    progress("打开县级数据库（并升级到最新结构）".into());
    let target = PgStore::open(&options.to).await?;
    let mut lock = PgConnection::connect(&options.to).await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
        .bind(LOCK_SPACE)
        .bind(MIGRATION_LOCK)
        .fetch_one(&mut lock)
        .await?;
    if !locked {
        return Err(MigrateError::Refused("另一个迁移正在向该县级数据库写入；未做任何改动。".into()));
    }
    let result = run(options, &source_path.display().to_string(), &source, &target, progress).await;
    if let Err(e) = &result {
        tracing::error!(error = %e, "migrate: stopped");
    }
    lock.close().await.ok();
    source.pool.close().await;
    target.pool.close().await;
    result
}

async fn run(
    options: &MigrateOptions,
    source_name: &str,
    source: &SqliteStore,
    target: &PgStore,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<Outcome> {
    let mut src = source.pool.acquire().await?;
    // The source's write lock for the whole run: a consistent view, and no writer meanwhile.
    let mut src = src.begin_with("BEGIN IMMEDIATE").await?;
    let (tables, left_behind_names) = plan(&mut src, &target.pool).await?;
    let center = source_center(&mut src).await?;
    let staff: Vec<String> = sqlx::query_scalar("SELECT id FROM staff WHERE center_id = ? ORDER BY id")
        .bind(&center)
        .fetch_all(&mut *src)
        .await?;
    let state = target_state(&target.pool, &tables, &center, &staff).await?;
    let decision = decide(&center, &state);

    if options.dry_run {
        let mut planned = Vec::new();
        for t in &tables {
            planned.push(TableReport {
                table: t.name.clone(),
                rows: sqlite_center_count(&mut src, t, &center).await?,
                digest: String::new(),
            });
        }
        let mut left_behind = Vec::new();
        for name in left_behind_names {
            let rows = sqlite_count(&mut src, &name).await?;
            left_behind.push((name, rows));
        }
        for (table, rows) in rows_of_no_center(&mut src, &tables).await? {
            left_behind.push((format!("{table} 中不属于任何中心的行"), rows));
        }
        let note = match decision {
            Decision::Start => "正式运行将从头开始迁移。".to_owned(),
            Decision::Resume => "正式运行将接着上次中断的迁移继续。".to_owned(),
            Decision::Refuse(why) => format!("正式运行将拒绝：{why}"),
        };
        return Ok(Outcome::Planned { center, tables: planned, left_behind, note });
    }

    match decision {
        Decision::Refuse(why) => {
            tracing::warn!(center = %center, "migrate: refused");
            return Err(MigrateError::Refused(why));
        }
        Decision::Resume => progress(format!("接着上次中断的迁移继续（中心 {center}）")),
        Decision::Start => {
            let mut tx = target.pool.begin().await?;
            for seeded in SEEDED_BY_MIGRATIONS {
                sqlx::query(&format!("DELETE FROM {} WHERE \"center_id\" = $1", quoted(seeded)))
                    .bind(&center)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("INSERT INTO migration_runs (center_id, source, started_at) VALUES ($1, $2, $3)")
                .bind(&center)
                .bind(source_name)
                .bind(chrono::Utc::now().timestamp())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            progress(format!("开始迁移中心 {center}"));
        }
    }
    for name in &left_behind_names {
        let rows = sqlite_count(&mut src, name).await?;
        progress(format!("不迁移表 {name}（{rows} 行）：{}", left_behind_reason(name)));
    }
    let without_center = rows_of_no_center(&mut src, &tables).await?;
    for (table, rows) in &without_center {
        tracing::warn!(table = %table, rows, "migrate: rows of no center stay in the source");
        progress(format!("不迁移表 {table} 中不属于任何中心的 {rows} 行：{NO_CENTER_REASON}"));
    }

    for table in &tables {
        copy_table(&mut src, &target.pool, &center, table, options.batch_size, progress).await?;
    }
    let has_sequences: bool =
        sqlx::query_scalar("SELECT COUNT(*) > 0 FROM sqlite_master WHERE name = 'sqlite_sequence'")
            .fetch_one(&mut *src)
            .await?;
    for table in &tables {
        let offset = id_offset(&target.pool, &center, &table.name).await?;
        for column in table.columns.iter().filter(|c| c.identity) {
            // The copied values were kept (OVERRIDING SYSTEM VALUE): audit lines are paged by id
            // and the digest compares them. The next generated value comes after the largest
            // copied one and after every value SQLite handed out (its AUTOINCREMENT counter
            // counts deleted rows too), so no id is given twice.
            let handed_out: Option<i64> = if has_sequences {
                sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = ?")
                    .bind(&table.name)
                    .fetch_optional(&mut *src)
                    .await?
            } else {
                None
            };
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence($1, $2), \
                 GREATEST(COALESCE((SELECT MAX({col}) FROM {t}), 0), $3) + 1, false)",
                col = quoted(&column.name),
                t = quoted(&table.name)
            ))
            .bind(&table.name)
            .bind(&column.name)
            .bind(offset + handed_out.unwrap_or(0))
            .execute(&target.pool)
            .await?;
        }
    }

    progress("核对各表行数与内容摘要".into());
    let mut reports = Vec::new();
    for table in &tables {
        if kept_county(&target.pool, &center, &table.name).await? {
            continue;
        }
        let (source_rows, source_digest) = sqlite_digest(&mut src, table, &center).await?;
        let offset = id_offset(&target.pool, &center, &table.name).await?;
        let (target_rows, target_digest) = pg_digest(&target.pool, table, &center, offset).await?;
        if (source_rows, &source_digest) != (target_rows, &target_digest) {
            tracing::error!(table = %table.name, source_rows, target_rows, %source_digest, %target_digest, "migrate: check failed");
            return Err(MigrateError::Mismatch {
                table: table.name.clone(),
                source_rows,
                target_rows,
                source_digest,
                target_digest,
            });
        }
        progress(format!("核对一致：表 {}，{} 行，摘要 {}", table.name, source_rows, &source_digest[..16]));
        reports.push(TableReport { table: table.name.clone(), rows: source_rows, digest: source_digest });
    }

    let mut tx = target.pool.begin().await?;
    for r in &reports {
        sqlx::query(
            "UPDATE migration_progress SET checked_rows = $3, digest = $4 WHERE center_id = $1 AND table_name = $2",
        )
        .bind(&center)
        .bind(&r.table)
        .bind(r.rows)
        .bind(&r.digest)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE migration_runs SET finished_at = $2 WHERE center_id = $1")
        .bind(&center)
        .bind(chrono::Utc::now().timestamp())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(center = %center, tables = reports.len(), "migrate: finished");
    // Nothing was written to the source inside this transaction; ending it releases its lock.
    src.rollback().await?;
    Ok(Outcome::Done { center, tables: reports, without_center })
}

fn sqlite_path(url: &str) -> Result<std::path::PathBuf> {
    if !url.starts_with("sqlite:") {
        return Err(MigrateError::Refused(format!(
            "--from 须为中心服务器的 SQLite 数据库地址 sqlite://PATH，而不是 {}",
            redacted(url)
        )));
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .map_err(|e| MigrateError::Refused(format!("源数据库地址无法识别：{e}")))?;
    let path = options.get_filename().to_path_buf();
    if !path.is_file() {
        // Opening would create an empty database; a mistyped path must not "migrate" nothing.
        return Err(MigrateError::Refused(format!("源数据库文件不存在：{}", path.display())));
    }
    Ok(path)
}

/// A database URL without its password, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Why rows of a center table that name no center are not copied (said in the run's output).
pub const NO_CENTER_REASON: &str = "它们不是本中心的记录（县级账号的记录，或写入时无法确定中心的记录，例如无人登录的请求被拒绝），\
     迁入县级库会归到别的中心或县级名下，与原意不符；它们仍完整保存在源库中";

/// Rows of the source's center tables (those whose own column names the center) that name no
/// center, per table with any. On a one-center server these are the lines its store could not
/// give a center (a county account's, a refused request of nobody known): not the center's, so
/// not copied as its rows, and not the county's trail either (the target's county lines are
/// its own). Said by count in the run's output rather than left behind silently.
async fn rows_of_no_center(src: &mut SqliteConnection, tables: &[Table]) -> Result<Vec<(String, i64)>> {
    let mut out = Vec::new();
    for table in tables {
        let Share::Center(column) = &table.share else { continue };
        let rows: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {} WHERE {} IS NULL",
            quoted(&table.name),
            quoted(column)
        ))
        .fetch_one(&mut *src)
        .await?;
        if rows > 0 {
            out.push((table.name.clone(), rows));
        }
    }
    Ok(out)
}

fn left_behind_reason(name: &str) -> &'static str {
    match name {
        "_sqlx_migrations" => "各库各自记录自己的结构升级",
        "pending_upgrades" => "SQLite 一次性升级标记，打开源库时已处理",
        _ => "旧表，服务器已不再读取",
    }
}

/// The tables to copy, in copy order, from the target's catalogue checked against the source's;
/// and the source tables that stay behind ([`LEFT_BEHIND`]) that the source has.
async fn plan(src: &mut SqliteConnection, target: &PgPool) -> Result<(Vec<Table>, Vec<String>)> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text, c.is_identity::text \
         FROM information_schema.columns c JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
         ORDER BY c.table_name, c.ordinal_position",
    )
    .fetch_all(target)
    .await?;
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for (table, column, data_type, identity) in rows {
        if TARGET_OWN.contains(&table.as_str()) {
            continue;
        }
        let kind = match data_type.as_str() {
            "bigint" => Kind::Int,
            "text" => Kind::Text,
            other => {
                return Err(MigrateError::Schema(format!(
                    "县级库表 {table} 列 {column} 的类型 {other} 迁移工具不认识（只支持 bigint 和 text）；没有复制任何数据。"
                )));
            }
        };
        tables
            .entry(table.clone())
            .or_insert_with(|| Table { name: table, columns: Vec::new(), key: Vec::new(), share: Share::County })
            .columns
            .push(Column { name: column, kind, identity: identity == "YES" });
    }
    let keys: Vec<(String, String)> = sqlx::query_as(
        "SELECT tc.table_name::text, k.column_name::text \
         FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage k \
           ON k.constraint_schema = tc.constraint_schema AND k.constraint_name = tc.constraint_name \
          AND k.table_name = tc.table_name \
         WHERE tc.table_schema = current_schema() AND tc.constraint_type = 'PRIMARY KEY' \
         ORDER BY tc.table_name, k.ordinal_position",
    )
    .fetch_all(target)
    .await?;
    for t in tables.values_mut() {
        let has = |name: &str| t.columns.iter().any(|c| c.name == name);
        t.share = if t.name == "center" {
            Share::Center("id".into())
        } else if has("center_id") {
            Share::Center("center_id".into())
        } else if has("staff_id") {
            Share::Staff
        } else {
            Share::County
        };
    }
    for (table, column) in keys {
        if let Some(t) = tables.get_mut(&table)
            && let Some(i) = t.columns.iter().position(|c| c.name == column)
        {
            t.key.push(i);
        }
    }
    let references: Vec<(String, String)> = sqlx::query_as(
        "SELECT cl.relname::text, rc.relname::text FROM pg_constraint co \
         JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_class rc ON rc.oid = co.confrelid \
         JOIN pg_namespace n ON n.oid = cl.relnamespace \
         WHERE co.contype = 'f' AND n.nspname = current_schema()",
    )
    .fetch_all(target)
    .await?;

    let source_tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .fetch_all(&mut *src)
    .await?;
    let mut left_behind = Vec::new();
    for name in &source_tables {
        if tables.contains_key(name) {
            continue;
        }
        if LEFT_BEHIND.iter().any(|(n, _)| n == name) {
            left_behind.push(name.clone());
            continue;
        }
        tracing::error!(table = %name, "migrate: a source table has no counterpart in the target schema");
        return Err(MigrateError::Schema(format!(
            "源库的表 {name} 在县级库中没有对应的表（PostgreSQL 迁移脚本缺这张表），迁移工具不会丢下它；没有复制任何数据。"
        )));
    }
    for t in tables.values() {
        if !source_tables.contains(&t.name) {
            return Err(MigrateError::Schema(format!(
                "县级库的表 {} 在源库中不存在（两边结构版本不同？）；没有复制任何数据。",
                t.name
            )));
        }
        if t.key.is_empty() {
            return Err(MigrateError::Schema(format!(
                "县级库的表 {} 没有主键，无法分批、核对；没有复制任何数据。",
                t.name
            )));
        }
        let source_columns: BTreeSet<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
            .bind(&t.name)
            .fetch_all(&mut *src)
            .await?
            .into_iter()
            .collect();
        let target_columns: BTreeSet<String> = t.columns.iter().map(|c| c.name.clone()).collect();
        if source_columns != target_columns {
            let only_source: Vec<_> = source_columns.difference(&target_columns).cloned().collect();
            let only_target: Vec<_> = target_columns.difference(&source_columns).cloned().collect();
            tracing::error!(table = %t.name, ?only_source, ?only_target, "migrate: columns differ");
            return Err(MigrateError::Schema(format!(
                "表 {} 两边的列不同（只在源库：{}；只在县级库：{}）；没有复制任何数据。",
                t.name,
                only_source.join("、"),
                only_target.join("、")
            )));
        }
    }

    // Referenced tables first; among the tables free to go next, by name.
    let mut depends: BTreeMap<String, BTreeSet<String>> = tables.keys().map(|k| (k.clone(), BTreeSet::new())).collect();
    let after_triggers = WRITTEN_BY_TRIGGERS
        .iter()
        .flat_map(|(table, writers)| writers.iter().map(move |w| ((*table).to_owned(), (*w).to_owned())));
    for (from, to) in references.into_iter().chain(after_triggers) {
        if from != to
            && tables.contains_key(&to)
            && let Some(d) = depends.get_mut(&from)
        {
            d.insert(to);
        }
    }
    let mut ordered = Vec::new();
    while !depends.is_empty() {
        let Some(next) = depends.iter().find(|(_, d)| d.is_empty()).map(|(k, _)| k.clone()) else {
            return Err(MigrateError::Schema("县级库的外键成环，无法确定复制顺序；没有复制任何数据。".into()));
        };
        depends.remove(&next);
        for d in depends.values_mut() {
            d.remove(&next);
        }
        ordered.push(tables.remove(&next).expect("listed"));
    }
    Ok((ordered, left_behind))
}

async fn source_center(src: &mut SqliteConnection) -> Result<String> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM center").fetch_all(&mut *src).await?;
    match ids.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(MigrateError::Refused("源数据库中还没有中心（从未运行过服务器？）；没有可迁移的数据。".into())),
        _ => Err(MigrateError::Refused(format!("源数据库中有 {} 个中心，一次只能迁移一个中心的库。", ids.len()))),
    }
}

/// What the target holds, as far as [`decide`] needs it.
#[derive(Debug, Clone, Default)]
pub struct TargetState {
    /// Recorded runs: center and when it finished (Unix seconds), if it did.
    pub runs: Vec<(String, Option<i64>)>,
    /// Centers in the target's `center` table.
    pub centers: Vec<String>,
    /// Tables to copy that already hold rows of the center (beyond what the target's migrations
    /// insert).
    pub filled: Vec<(String, i64)>,
    /// The source's staff ids that the target already has (staff ids are unique in the county).
    pub taken_staff: Vec<String>,
}

/// What a run may do on a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Start,
    Resume,
    Refuse(String),
}

/// The one rule for whether moving `center` into this target may start, continue, or must not.
/// The county database holds many centers: other centers (moved in or served there) are no
/// obstacle; this center already there is (moved in before, or not by a migration), and so are
/// rows of it without it, and staff ids of the source the county already gives someone else.
pub fn decide(center: &str, target: &TargetState) -> Decision {
    if let Some((_, finished)) = target.runs.iter().find(|(c, _)| c == center) {
        return match finished {
            Some(at) => Decision::Refuse(format!(
                "中心 {center} 已于 {} 完整迁移到该县级数据库，不再重复迁移；本次未做任何改动。",
                china_time(*at)
            )),
            None => Decision::Resume,
        };
    }
    if target.centers.iter().any(|c| c == center) {
        return Decision::Refuse(format!(
            "该县级数据库已有中心 {center} 的数据（不是由迁移写入的，例如服务器已在该库上运行过）；本次未做任何改动。"
        ));
    }
    if let Some((table, rows)) = target.filled.first() {
        return Decision::Refuse(format!(
            "该县级数据库的表 {table} 已有中心 {center} 的 {rows} 行（不是由迁移写入的）；本次未做任何改动。"
        ));
    }
    if !target.taken_staff.is_empty() {
        let shown: Vec<&str> = target.taken_staff.iter().take(5).map(String::as_str).collect();
        let more = if target.taken_staff.len() > shown.len() { " 等" } else { "" };
        return Decision::Refuse(format!(
            "源库的员工编号 {}{more} 在县级数据库中已属于其他中心或县级（全县员工编号须唯一）；请先在源库改用不重复的编号。本次未做任何改动。",
            shown.join("、")
        ));
    }
    Decision::Start
}

fn china_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| to_china(t).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| unix.to_string())
}

async fn target_state(target: &PgPool, tables: &[Table], center: &str, staff: &[String]) -> Result<TargetState> {
    let runs: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT center_id, finished_at FROM migration_runs ORDER BY started_at, center_id")
            .fetch_all(target)
            .await?;
    let centers: Vec<String> = sqlx::query_scalar("SELECT id FROM center ORDER BY id").fetch_all(target).await?;
    let mut filled = Vec::new();
    // The center's rows; `center` itself is in `centers`, and a county table is no one's.
    for t in tables.iter().filter(|t| !SEEDED_BY_MIGRATIONS.contains(&t.name.as_str()) && t.name != "center") {
        let Share::Center(column) = &t.share else { continue };
        let rows: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {} WHERE {} = $1", quoted(&t.name), quoted(column)))
                .bind(center)
                .fetch_one(target)
                .await?;
        if rows > 0 {
            filled.push((t.name.clone(), rows));
        }
    }
    // Staff ids are the county's keys: taken by another center (or the county's own accounts).
    let taken_staff: Vec<String> =
        sqlx::query_scalar("SELECT id FROM staff WHERE id = ANY($1) AND center_id IS DISTINCT FROM $2 ORDER BY id")
            .bind(staff)
            .bind(center)
            .fetch_all(target)
            .await?;
    Ok(TargetState { runs, centers, filled, taken_staff })
}

async fn sqlite_count(src: &mut SqliteConnection, table: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", quoted(table))).fetch_one(&mut *src).await?)
}

/// The source's rows of `table` that are the center's (all of a county table).
async fn sqlite_center_count(src: &mut SqliteConnection, table: &Table, center: &str) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM {} {}", quoted(&table.name), table.where_center("?"));
    let query = sqlx::query_scalar(&sql);
    let query = if table.share == Share::County { query } else { query.bind(center) };
    Ok(query.fetch_one(&mut *src).await?)
}

/// The shift of the center's identity values in `table` (0 before its copy began).
async fn id_offset(target: &PgPool, center: &str, table: &str) -> Result<i64> {
    let offset: Option<i64> =
        sqlx::query_scalar("SELECT id_offset FROM migration_progress WHERE center_id = $1 AND table_name = $2")
            .bind(center)
            .bind(table)
            .fetch_optional(target)
            .await?;
    Ok(offset.unwrap_or(0))
}

/// Whether the county's own rows of the county table were kept instead of the source's.
async fn kept_county(target: &PgPool, center: &str, table: &str) -> Result<bool> {
    let kept: Option<bool> =
        sqlx::query_scalar("SELECT kept_county FROM migration_progress WHERE center_id = $1 AND table_name = $2")
            .bind(center)
            .bind(table)
            .fetch_optional(target)
            .await?;
    Ok(kept.unwrap_or(false))
}

/// Copies what is left of the center's rows of `table`: batches after the target's last key of
/// the center, each committed with its count in `migration_progress`; the last one marks the
/// table done. A county table the county already has is kept as it is (see the module's text).
async fn copy_table(
    src: &mut SqliteConnection,
    target: &PgPool,
    center: &str,
    table: &Table,
    batch_size: usize,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<()> {
    let done: Option<(bool, i64, i64)> = sqlx::query_as(
        "SELECT done, rows_copied, id_offset FROM migration_progress WHERE center_id = $1 AND table_name = $2",
    )
    .bind(center)
    .bind(&table.name)
    .fetch_optional(target)
    .await?;
    if let Some((true, rows, _)) = done {
        progress(format!("表 {} 已复制（{rows} 行），跳过", table.name));
        return Ok(());
    }
    let total = sqlite_center_count(src, table, center).await?;
    if table.share == Share::County && done.is_none() {
        let held: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", quoted(&table.name))).fetch_one(target).await?;
        if held > 0 {
            sqlx::query(
                "INSERT INTO migration_progress (center_id, table_name, rows_copied, done, kept_county) \
                 VALUES ($1, $2, 0, TRUE, TRUE)",
            )
            .bind(center)
            .bind(&table.name)
            .execute(target)
            .await?;
            tracing::info!(table = %table.name, held, source_rows = total, "migrate: county table kept");
            progress(format!(
                "表 {} 为全县共用，县级库已有 {held} 行，保留县级的，不复制源库的 {total} 行",
                table.name
            ));
            return Ok(());
        }
    }
    let mut copied = done.map_or(0, |(_, rows, _)| rows);
    let mut offset = done.map_or(0, |(_, _, offset)| offset);
    let mut first = done.is_none();
    let identity: Vec<usize> = (0..table.columns.len()).filter(|&i| table.columns[i].identity).collect();
    let mut after: Option<Vec<Value>> = {
        let sql = format!(
            "SELECT {} FROM {} {} ORDER BY {} LIMIT 1",
            table.key.iter().map(|&i| quoted(&table.columns[i].name)).collect::<Vec<_>>().join(", "),
            quoted(&table.name),
            table.where_center("$1"),
            table.key_list(true)
        );
        let query = sqlx::query(&sql);
        let query = if table.share == Share::County { query } else { query.bind(center) };
        match query.fetch_optional(target).await? {
            Some(row) => {
                let key_table = key_only(table);
                let key: Vec<Value> =
                    (0..table.key.len()).map(|i| pg_value(&row, &key_table, i)).collect::<Result<_>>()?;
                Some(table.key.iter().zip(key).map(|(&i, v)| unshift(v, identity.contains(&i), offset)).collect())
            }
            None => None,
        }
    };
    let overriding = if identity.is_empty() { "" } else { " OVERRIDING SYSTEM VALUE" };
    loop {
        let rows = source_batch(src, table, center, after.as_deref(), batch_size).await?;
        let last_batch = rows.len() < batch_size;
        let mut tx = target.begin().await?;
        if first && !identity.is_empty() {
            offset = reserve_ids(src, &mut tx, table).await?;
        }
        if !rows.is_empty() {
            let mut insert: QueryBuilder<Postgres> = QueryBuilder::new(format!(
                "INSERT INTO {} ({}){overriding} ",
                quoted(&table.name),
                table.column_list()
            ));
            insert.push_values(&rows, |mut b, row| {
                for (i, (value, column)) in row.iter().zip(&table.columns).enumerate() {
                    match (value, column.kind) {
                        (Value::Int(v), _) => b.push_bind(if identity.contains(&i) { *v + offset } else { *v }),
                        (Value::Text(s), _) => b.push_bind(s.clone()),
                        (Value::Null, Kind::Int) => b.push_bind(None::<i64>),
                        (Value::Null, Kind::Text) => b.push_bind(None::<String>),
                    };
                }
            });
            insert.build().execute(&mut *tx).await?;
        }
        sqlx::query(
            "INSERT INTO migration_progress (center_id, table_name, rows_copied, done, id_offset) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (center_id, table_name) DO UPDATE \
             SET rows_copied = migration_progress.rows_copied + EXCLUDED.rows_copied, done = EXCLUDED.done",
        )
        .bind(center)
        .bind(&table.name)
        .bind(rows.len() as i64)
        .bind(last_batch)
        .bind(offset)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        first = false;
        copied += rows.len() as i64;
        progress(format!("复制表 {}：{copied}/{total} 行", table.name));
        if last_batch {
            return Ok(());
        }
        let last = rows.last().expect("a full batch");
        after = Some(table.key.iter().map(|&i| last[i].clone()).collect());
    }
}

/// A target value of an identity column back in the source's numbering.
fn unshift(value: Value, identity: bool, offset: i64) -> Value {
    match value {
        Value::Int(v) if identity => Value::Int(v - offset),
        other => other,
    }
}

/// Before the first batch of a table with identity columns, in its transaction: the shift of the
/// source's values, past every value the county handed out (0 for a table never used: the values
/// stay as they are), and the block they take reserved in the county's sequence, so that a
/// county server writing meanwhile (it waits for the table lock) never takes one of them.
async fn reserve_ids(
    src: &mut SqliteConnection,
    tx: &mut sqlx::Transaction<'_, Postgres>,
    table: &Table,
) -> Result<i64> {
    sqlx::query(&format!("LOCK TABLE {} IN EXCLUSIVE MODE", quoted(&table.name))).execute(&mut **tx).await?;
    let mut offset = 0i64;
    let mut source_max = 0i64;
    for column in table.columns.iter().filter(|c| c.identity) {
        let used: i64 = sqlx::query_scalar(&format!(
            "SELECT GREATEST(COALESCE((SELECT MAX({col}) FROM {t}), 0), \
             COALESCE(pg_sequence_last_value(pg_get_serial_sequence($1, $2)::regclass), 0))",
            col = quoted(&column.name),
            t = quoted(&table.name)
        ))
        .bind(&table.name)
        .bind(&column.name)
        .fetch_one(&mut **tx)
        .await?;
        offset = offset.max(used);
        let largest: Option<i64> =
            sqlx::query_scalar(&format!("SELECT MAX({}) FROM {}", quoted(&column.name), quoted(&table.name)))
                .fetch_one(&mut *src)
                .await?;
        source_max = source_max.max(largest.unwrap_or(0));
    }
    // Even for a table the county never used (no shift): the copied values are kept as they
    // are, and a county server writing meanwhile (once this batch commits) must not be handed
    // one of them by a sequence still at its start.
    {
        let handed_out: Option<i64> = sqlx::query_scalar(
            "SELECT seq FROM sqlite_sequence WHERE name = ? AND EXISTS \
             (SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence')",
        )
        .bind(&table.name)
        .fetch_optional(&mut *src)
        .await
        .unwrap_or(None);
        let reserved = offset + source_max.max(handed_out.unwrap_or(0));
        for column in table.columns.iter().filter(|c| c.identity && reserved > 0) {
            sqlx::query("SELECT setval(pg_get_serial_sequence($1, $2), $3)")
                .bind(&table.name)
                .bind(&column.name)
                .bind(reserved)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(offset)
}

/// `table` reduced to its key columns, in key order (to decode a key read on its own).
fn key_only(table: &Table) -> Table {
    let columns: Vec<Column> = table.key.iter().map(|&i| table.columns[i].clone()).collect();
    Table { name: table.name.clone(), key: (0..columns.len()).collect(), columns, share: table.share.clone() }
}

async fn source_batch(
    src: &mut SqliteConnection,
    table: &Table,
    center: &str,
    after: Option<&[Value]>,
    limit: usize,
) -> Result<Vec<Vec<Value>>> {
    let key_columns = table.key.iter().map(|&i| quoted(&table.columns[i].name)).collect::<Vec<_>>().join(", ");
    let mut conditions: Vec<String> = table.rows_of_center("?").into_iter().collect();
    if let Some(key) = after {
        conditions.push(format!("({key_columns}) > ({})", vec!["?"; key.len()].join(", ")));
    }
    let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
    let sql = format!(
        "SELECT {} FROM {} {filter} ORDER BY {} LIMIT {limit}",
        table.column_list(),
        quoted(&table.name),
        table.key_list(false)
    );
    let mut query = sqlx::query(&sql);
    if table.share != Share::County {
        query = query.bind(center.to_owned());
    }
    for value in after.unwrap_or_default() {
        query = match value {
            Value::Int(i) => query.bind(*i),
            Value::Text(s) => query.bind(s.clone()),
            Value::Null => query.bind(None::<i64>),
        };
    }
    let rows = query.fetch_all(&mut *src).await?;
    rows.iter().map(|row| (0..table.columns.len()).map(|i| sqlite_value(row, table, i)).collect()).collect()
}

/// The center's rows of `table` (all of a county table) in key order, `param` naming the center.
fn select_all(table: &Table, param: &str) -> String {
    format!(
        "SELECT {} FROM {} {} ORDER BY {}",
        table.column_list(),
        quoted(&table.name),
        table.where_center(param),
        table.key_list(false)
    )
}

/// Row count and digest of the center's rows of `table` in the source.
async fn sqlite_digest(src: &mut SqliteConnection, table: &Table, center: &str) -> Result<(i64, String)> {
    let sql = select_all(table, "?");
    let query = sqlx::query(&sql);
    let query = if table.share == Share::County { query } else { query.bind(center) };
    let mut rows = query.fetch(&mut *src);
    let mut hasher = Sha256::new();
    let mut n = 0i64;
    while let Some(row) = rows.try_next().await? {
        for i in 0..table.columns.len() {
            sqlite_value(&row, table, i)?.feed(&mut hasher);
        }
        hasher.update(b"\n");
        n += 1;
    }
    Ok((n, hex(&hasher.finalize())))
}

/// Row count and digest of the center's rows of `table` in the target, the same way (identity
/// values taken back by the run's `offset`).
async fn pg_digest(target: &PgPool, table: &Table, center: &str, offset: i64) -> Result<(i64, String)> {
    let sql = select_all(table, "$1");
    let query = sqlx::query(&sql);
    let query = if table.share == Share::County { query } else { query.bind(center) };
    let mut rows = query.fetch(target);
    let mut hasher = Sha256::new();
    let mut n = 0i64;
    while let Some(row) = rows.try_next().await? {
        for i in 0..table.columns.len() {
            unshift(pg_value(&row, table, i)?, table.columns[i].identity, offset).feed(&mut hasher);
        }
        hasher.update(b"\n");
        n += 1;
    }
    Ok((n, hex(&hasher.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> TargetState {
        TargetState::default()
    }

    #[test]
    fn an_empty_target_starts_and_an_unfinished_run_of_the_center_resumes() {
        assert_eq!(decide("c1", &state()), Decision::Start);
        let s = TargetState { runs: vec![("c1".into(), None)], ..state() };
        assert_eq!(decide("c1", &s), Decision::Resume);
    }

    #[test]
    fn a_finished_center_a_center_already_there_or_its_rows_are_refused() {
        let done = TargetState { runs: vec![("c1".into(), Some(0))], ..state() };
        assert!(matches!(decide("c1", &done), Decision::Refuse(m) if m.contains("不再重复迁移")));
        let served = TargetState { centers: vec!["c1".into()], ..state() };
        assert!(matches!(decide("c1", &served), Decision::Refuse(m) if m.contains("不是由迁移写入")));
        let filled = TargetState { filled: vec![("cases".into(), 3)], ..state() };
        assert!(matches!(decide("c1", &filled), Decision::Refuse(m) if m.contains("表 cases 已有中心 c1 的 3 行")));
        let taken = TargetState { taken_staff: vec!["s001".into()], ..state() };
        assert!(matches!(decide("c1", &taken), Decision::Refuse(m) if m.contains("员工编号 s001")));
    }

    #[test]
    fn other_centers_in_the_county_database_are_no_obstacle() {
        let county = TargetState {
            runs: vec![("c1".into(), Some(0)), ("c3".into(), None)],
            centers: vec!["c1".into(), "c3".into(), "c4".into()],
            ..state()
        };
        assert_eq!(decide("c2", &county), Decision::Start);
        assert_eq!(decide("c3", &county), Decision::Resume);
    }

    #[test]
    fn the_digest_form_cannot_run_one_value_into_the_next() {
        let digest = |values: &[Value]| {
            let mut h = Sha256::new();
            values.iter().for_each(|v| v.feed(&mut h));
            hex(&h.finalize())
        };
        let a = digest(&[Value::Text("ab".into()), Value::Text("c".into())]);
        let b = digest(&[Value::Text("a".into()), Value::Text("bc".into())]);
        assert_ne!(a, b);
        assert_ne!(digest(&[Value::Int(1)]), digest(&[Value::Text("1".into())]));
        assert_ne!(digest(&[Value::Null]), digest(&[Value::Text(String::new())]));
    }
}
