//! SQLite storage: WAL, a busy timeout instead of "database is locked", foreign keys on, and
//! migrations embedded in the binary. The statements are the ones shared with PostgreSQL
//! (`sql/`, compiled here with this backend's types); what is SQLite's own is here: opening,
//! and units of work.
//!
//! A unit is a transaction begun with `BEGIN IMMEDIATE`: it takes the database's write lock at
//! once (waiting on the busy timeout), which covers every [`Lock`]; SQLite has one writer at a
//! time anyway. The units of one process take that lock in turn ([`SqliteStore::writer`])
//! before asking SQLite for it.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};

use super::StoreResult;
use super::dialect::Dialect;
use super::repo::{Lock, Repository, Unit};

// The shared statements (`sql/`), compiled for this backend: the names below are what they
// are written against.
type Db = Sqlite;
type Conn = SqliteConnection;
type DbRow = sqlx::sqlite::SqliteRow;
type Backend = SqliteStore;
type BackendUnit<C> = SqliteUnit<C>;
const DIALECT: Dialect = Dialect::Sqlite;

fn q(sql: &str) -> Cow<'_, str> {
    DIALECT.sql(sql)
}

shared_statements!();

/// How long a unit waits for another process's write lock (an admin command, a second server on
/// the same file); one server's units wait for each other in [`SqliteStore::writer`] instead. A
/// batch of queue commands holds the lock longer than one command did, and SQLite's busy
/// handler is not fair between waiters, so a loaded machine with several processes saw 5 s run
/// out (500 storage) where waiting a little longer would have served the clerk.
const BUSY_TIMEOUT: Duration = Duration::from_secs(20);

pub struct SqliteStore {
    pub(super) pool: SqlitePool,
    /// The center its statements are bound to.
    pub(super) scope: super::Scope,
    /// The turn of this process's units at the write lock, shared by every handle on the pool.
    /// Units of different centers (each center's queue takes its own turn in `QueueHub`) and of
    /// other kinds would otherwise meet at `BEGIN IMMEDIATE`, where the loser sleeps in SQLite's
    /// busy handler (1, 2, 5, 10 … 100 ms, not woken when the lock is free): with 20 centers on
    /// one file that sleep was the call-next tail (issue #18). Waiting here, a unit starts as
    /// soon as the one before it ends. Another process on the same file is still waited for by
    /// the busy handler.
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl SqliteStore {
    /// A handle on the same pool (and the same writer's turn) whose statements bind `scope`'s
    /// center.
    pub(super) fn with_scope(&self, scope: super::Scope) -> Self {
        Self { pool: self.pool.clone(), scope, writer: self.writer.clone() }
    }

    pub async fn open(url: &str) -> StoreResult<Self> {
        // WAL and FULL: a reply that says stored is sent after the commit is on the disk.
        Self::open_with(url, SqliteJournalMode::Wal, SqliteSynchronous::Full).await
    }

    /// A new database file that becomes the real one only by being renamed into place, after
    /// [`SqliteStore::close`] and an fsync of the file and its folder (a first `bianmin import
    /// guides`): until then a crash loses nothing anyone was told is stored, so commits need not
    /// wait for the disk (synchronous OFF), and a rollback journal on a new file journals almost
    /// nothing, where WAL would write every page twice (log, then checkpoint). The server opening
    /// the renamed file turns it to WAL as usual.
    pub async fn open_scratch(url: &str) -> StoreResult<Self> {
        Self::open_with(url, SqliteJournalMode::Delete, SqliteSynchronous::Off).await
    }

    /// Closes every connection: after this the file holds everything committed (in WAL mode the
    /// last connection folds the log into it).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn open_with(url: &str, journal: SqliteJournalMode, synchronous: SqliteSynchronous) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(journal)
            .synchronous(synchronous)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let turn = migration_turn(options.get_filename()).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .after_release(|conn, _| Box::pin(async move { Ok(no_transaction_left_open(conn).await) }))
            .connect_with(options)
            .await?;
        let applied = applied_migrations(&pool).await;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        super::record_schema::upgrade(&pool).await?;
        if applied_migrations(&pool).await != applied {
            // A migration that rebuilds tables (0025: every center-owned one) leaves its pages in
            // the WAL, which SQLite keeps at its largest size: most of a megabyte on a new
            // database, space a small disk then lacks for good. Fold it into the database and
            // truncate it. Only after migrating, and not required: a start on a nearly full
            // disk must not fail for want of the room a checkpoint needs.
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&pool).await {
                tracing::warn!(error = %e, "the write-ahead log was not truncated after migrating");
            }
        }
        drop(turn);
        Ok(Self { pool, scope: super::Scope::Only, writer: Arc::default() })
    }
}

/// How many migrations the database has had (0 for a new one).
async fn applied_migrations(pool: &SqlitePool) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations").fetch_one(pool).await.unwrap_or(0)
}

/// Servers started together on one new file take turns to migrate it: sqlx's migrator locks on
/// PostgreSQL but not on SQLite, where two would both apply the first migration and one would
/// stop with an error. The turn is an exclusive `flock` on `<database>.migrate-lock`
/// (owner-only), held until the migration is done; the operating system releases it if the
/// process dies. On Unix `flock` through rustix (already in the tree for the umask), on Windows
/// `LockFileEx` through windows-sys: `File::lock` is newer than our MSRV.
#[cfg(any(unix, windows))]
pub async fn migration_turn(database: &std::path::Path) -> StoreResult<Option<std::fs::File>> {
    if database.as_os_str().is_empty() || database == std::path::Path::new(":memory:") {
        return Ok(None);
    }
    let mut path = database.as_os_str().to_owned();
    path.push(".migrate-lock");
    let take = move || -> std::io::Result<std::fs::File> {
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        #[cfg(unix)]
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)?;
        #[cfg(windows)]
        {
            use std::os::windows::io::AsRawHandle;
            use windows_sys::Win32::Storage::FileSystem::{LOCKFILE_EXCLUSIVE_LOCK, LockFileEx};
            let mut overlapped = windows_sys::Win32::System::IO::OVERLAPPED::default();
            // SAFETY: the handle is `file`'s, open for the call; the lock covers the whole range
            // and blocks until granted (no LOCKFILE_FAIL_IMMEDIATELY).
            let locked = unsafe {
                LockFileEx(file.as_raw_handle(), LOCKFILE_EXCLUSIVE_LOCK, 0, u32::MAX, u32::MAX, &mut overlapped)
            };
            if locked == 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(file)
    };
    match tokio::task::spawn_blocking(take).await {
        Ok(Ok(file)) => Ok(Some(file)),
        Ok(Err(e)) => Err(sqlx::Error::Io(e).into()),
        Err(e) => Err(sqlx::Error::Io(std::io::Error::other(e)).into()),
    }
}

#[cfg(not(any(unix, windows)))]
pub async fn migration_turn(_database: &std::path::Path) -> StoreResult<Option<std::fs::File>> {
    Ok(None)
}

/// Whether a connection coming back to the pool is clean: no transaction open in SQLite, and
/// none in sqlx's own count. After a COMMIT fails (a full disk), SQLite may already have rolled
/// back, sqlx's ROLLBACK then fails and its count drifts; its next "transaction" on that
/// connection is a savepoint inside one that is never committed, so replies said stored for
/// records that were not, and the open write lock made every other connection time out. Such a
/// connection is closed (which rolls back whatever is open) and the pool opens a fresh one.
async fn no_transaction_left_open(conn: &mut sqlx::SqliteConnection) -> bool {
    use sqlx::Connection;
    // A plain BEGIN succeeds only outside a transaction; it runs after any rollback still queued.
    // Both in one call (the second runs only if the first succeeded): one trip to the
    // connection's worker thread on every release instead of two.
    let sqlite_clean = sqlx::query("BEGIN; ROLLBACK").execute(&mut *conn).await.is_ok();
    let clean = sqlite_clean && !conn.is_in_transaction();
    if !clean {
        tracing::error!(sqlite_clean, "a database connection was left inside a transaction; closing it");
    }
    clean
}

/// A unit on `C`: an owned transaction, or a connection lent by a transaction.
pub struct SqliteUnit<C> {
    c: C,
    /// The center the unit's statements are bound to (its store handle's); `None` for a
    /// county-wide unit on a handle bound to no center (see `unit_center`).
    center: super::UnitCenter,
    /// This process's turn at the write lock, given back when the unit ends (after `c`, its
    /// transaction, declared first so that it is dropped first).
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

#[async_trait]
impl Repository for SqliteStore {
    async fn begin(&self, lock: Lock) -> StoreResult<Box<dyn Unit>> {
        let center = self.unit_center(lock).await?;
        // As long as SQLite would wait for another process's lock: a unit that waits longer
        // for one of ours fails the same way.
        let turn = tokio::time::timeout(BUSY_TIMEOUT, self.writer.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        // Every lock is the one write lock of the database, taken now rather than on the first
        // write, so no other writer slips in between this unit's reads and its writes.
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        tracing::trace!(?lock, "unit of work begun");
        Ok(Box::new(SqliteUnit { c: tx, center, _turn: turn }))
    }
}

#[async_trait]
impl Unit for SqliteUnit<Transaction<'static, Sqlite>> {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.c.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod release_check_tests {
    use sqlx::Connection;

    use super::no_transaction_left_open;

    /// The check on every release: a clean connection passes and is left clean (its BEGIN rolled
    /// back, so it passes again); one left inside a transaction SQLite knows of and sqlx does
    /// not (a plain `BEGIN` run as a statement) fails.
    #[tokio::test]
    async fn a_connection_left_in_a_transaction_fails_the_check_and_a_clean_one_stays_clean() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await.unwrap();
        assert!(no_transaction_left_open(&mut conn).await);
        assert!(no_transaction_left_open(&mut conn).await, "the check's own BEGIN was rolled back");
        sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
        assert!(!no_transaction_left_open(&mut conn).await);
    }
}

#[cfg(test)]
mod writer_turn_tests {
    use std::time::Duration;

    use super::SqliteStore;
    use crate::server::store::repo::{Lock, Repository};

    /// A unit gives its turn at the write lock back however it ends: committed, or dropped
    /// (rolled back, as a refused command's unit is), so the next unit of the process begins.
    #[tokio::test]
    async fn a_unit_ended_either_way_gives_the_next_one_its_turn() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("turn.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        let begin = |store: &SqliteStore| {
            let store = store.with_scope(store.scope.clone());
            async move { tokio::time::timeout(Duration::from_secs(5), store.begin(Lock::SignIn)).await }
        };
        let first = begin(&store).await.expect("the first unit begins").unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(200), store.begin(Lock::SignIn)).await.is_err(),
            "a second unit waits while the first holds the turn"
        );
        drop(first);
        let second = begin(&store).await.expect("a dropped unit gave its turn back").unwrap();
        second.commit().await.unwrap();
        let third = begin(&store).await.expect("a committed unit gave its turn back").unwrap();
        third.commit().await.unwrap();
    }
}
