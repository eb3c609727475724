//! PostgreSQL storage, for a county server that outgrows one SQLite file and one process. The
//! statements are the ones shared with SQLite (`sql/`, compiled here with this backend's types and
//! put in PostgreSQL's dialect by `q`); what is PostgreSQL's own is here: opening, and how a unit
//! of work takes its lock.
//!
//! A unit is a transaction at PostgreSQL's default isolation (read committed) that first takes a
//! transaction-scoped advisory lock per [`Lock`] (`pg_advisory_xact_lock`), held until it commits
//! or rolls back, across every server process sharing the database. Each statement of a unit
//! reads what was committed before it ran, and every writer of what a lock covers holds that
//! lock, so a unit's reads stay consistent with its writes. (Repeatable read would be wrong here:
//! its snapshot would be taken before the lock was granted.) The flows write disjoint tables
//! under different locks (`repo::Lock`); a records unit, which may switch a window's duty, takes
//! the duty lock after its own, never the other way round, so units cannot wait on each other in
//! a cycle. The locks of a center's data (queue, duty, records) are the center's own: two centers'
//! queues never wait on each other (a rare hash collision between two centers' ids only makes
//! them share a lock of the same kind, which orders them and nothing else).
//!
//! A unit begins in one round trip: `BEGIN` and its locks are one simple query ([`PgTx`]), the
//! per-center key written into it as the integer PostgreSQL's `hashtext` gave for the center (asked
//! once per center and kept). Every unit paid a round trip per lock on top of its `BEGIN` before,
//! and under the county's load every round trip was slow (issue #18).
//!
//! Durability: a commit returns once PostgreSQL has flushed it (`synchronous_commit` on, its
//! default; the README says not to turn it off), so a 200 still means stored.

use std::borrow::Cow;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Postgres};

use super::StoreResult;
use super::dialect::Dialect;
use super::repo::{Lock, Repository, Unit};

// The shared statements (`sql/`), compiled for this backend: the names below are what they
// are written against.
type Db = Postgres;
type Conn = PgConnection;
type DbRow = sqlx::postgres::PgRow;
type Backend = PgStore;
type BackendUnit<C> = PgUnit<C>;
const DIALECT: Dialect = Dialect::Postgres;

fn q(sql: &str) -> Cow<'_, str> {
    DIALECT.sql(sql)
}

shared_statements!();

pub struct PgStore {
    pub(super) pool: PgPool,
    /// The center its statements are bound to.
    pub(super) scope: super::Scope,
    /// Each center's lock key ([`PgStore::center_key`]) once asked of PostgreSQL, shared by
    /// every handle on the pool.
    center_keys: Arc<Mutex<HashMap<Arc<str>, i32>>>,
}

impl PgStore {
    /// A handle on the same pool (and the same lock keys) whose statements bind `scope`'s center.
    pub(super) fn with_scope(&self, scope: super::Scope) -> Self {
        Self { pool: self.pool.clone(), scope, center_keys: self.center_keys.clone() }
    }

    /// Connects to the database named by a `postgres://` URL and migrates it. Several processes
    /// may do so at once: sqlx's migrator holds an advisory lock of its own while it runs.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("bianmin");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // A unit may wait on another's lock; a pool exhausted for this long is a fault.
            .acquire_timeout(Duration::from_secs(30))
            // sqlx pings every connection it hands out, on top of the ping when it takes one
            // back: a round trip more for every statement outside a unit and every unit's
            // start. Under the county's load that round trip was what the statements queued
            // for (issue #18, see `check_before_use`), so only a connection that sat idle long
            // enough to have been cut off meanwhile is pinged.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| Box::pin(check_before_use(conn, meta.idle_for)))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool, scope: super::Scope::Only, center_keys: Arc::default() })
    }
}

/// How long a connection may sit in the pool and still be handed out without a ping first. The
/// ping on its return (sqlx's own) found it working then; a connection cut off since (the
/// database restarted, a backend terminated) is found out by the ping and replaced, so a request
/// after such a pause is not the one to fail. Only a connection cut off within this long of its
/// last use fails its next statement (the request answers an error, nothing is committed; sqlx
/// then drops the connection), as a statement under way when the database goes away does anyway.
const UNCHECKED_IDLE: Duration = Duration::from_secs(1);

/// Whether a connection idle for `idle_for` may be handed out: pinged first when it sat idle
/// longer than [`UNCHECKED_IDLE`] (an error discards it and the pool takes another).
async fn check_before_use(conn: &mut PgConnection, idle_for: Duration) -> Result<bool, sqlx::Error> {
    if idle_for > UNCHECKED_IDLE {
        sqlx::Connection::ping(conn).await?;
    }
    Ok(true)
}

/// The low half of the first key of every advisory lock the server takes ("bm"), so that its
/// locks do not collide with another application's on the same database; the high half is the
/// kind of lock ([`lock_keys`]), so that locks of different kinds never collide either.
const LOCK_SPACE: i32 = 0x626d;

/// One advisory lock: its kind, and whether it is per center (the second key is then the
/// center id's `hashtext`, else 0).
#[derive(Debug, Clone, Copy)]
struct LockKey {
    kind: i32,
    per_center: bool,
}

impl LockKey {
    /// The first key: the kind over the server's space.
    fn space(self) -> i32 {
        (self.kind << 16) | LOCK_SPACE
    }
}

/// The advisory locks a unit holding `lock` takes, in this order.
fn lock_keys(lock: Lock) -> &'static [LockKey] {
    const QUEUE: LockKey = LockKey { kind: 1, per_center: true };
    const DUTY: LockKey = LockKey { kind: 2, per_center: true };
    const RECORDS: LockKey = LockKey { kind: 3, per_center: true };
    // Sign-in counts and the catalogue are the county's.
    const SIGN_IN: LockKey = LockKey { kind: 4, per_center: false };
    const CATALOGUE: LockKey = LockKey { kind: 5, per_center: false };
    match lock {
        Lock::Queue => &[QUEUE],
        Lock::Duty => &[DUTY],
        // A handover record switches its window's duty (see `Lock::Records`).
        Lock::Records => &[RECORDS, DUTY],
        Lock::SignIn => &[SIGN_IN],
        Lock::Catalogue => &[CATALOGUE],
    }
}

impl PgStore {
    /// The second key of `center`'s locks: `hashtext` of its id, computed by PostgreSQL (as every
    /// process sharing the database computes it, so that their locks meet), asked once per center
    /// and kept: [`PgStore::begin`] writes it into the statement that takes the locks.
    async fn center_key(&self, center: &str) -> StoreResult<i32> {
        if let Some(&key) = self.known_keys().get(center) {
            return Ok(key);
        }
        let key: i32 = sqlx::query_scalar("SELECT hashtext($1)").bind(center).fetch_one(&self.pool).await?;
        self.known_keys().insert(Arc::from(center), key);
        Ok(key)
    }

    fn known_keys(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, i32>> {
        // The map is only read and inserted into, never left half-changed: a panic elsewhere
        // while it was held leaves it whole.
        self.center_keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The statement that begins a unit holding `lock` on `center`: `BEGIN` and its advisory locks
    /// in order, one simple query (one round trip). Only integers are written into it, never the
    /// center's id.
    async fn begin_statement(&self, lock: Lock, center: &str) -> StoreResult<String> {
        let mut sql = String::from("BEGIN");
        for &key in lock_keys(lock) {
            let second = if key.per_center { self.center_key(center).await? } else { 0 };
            sql.push_str(&format!("; SELECT pg_advisory_xact_lock({}, {second})", key.space()));
        }
        Ok(sql)
    }
}

/// A transaction on a pooled connection, begun with its locks by one simple query. sqlx's own
/// `Pool::begin_with` sends such a query too, but when a statement after the `BEGIN` fails (a
/// lock's wait cancelled, a deadlock found) it hands the connection back to the pool inside the
/// aborted transaction, where every later statement on it would fail (sqlx 0.8.6 rolls back only
/// a transaction it counted as begun). This one rolls back whatever is left open: on a failed
/// begin, or when dropped without a commit.
pub struct PgTx {
    /// `None` once committed or handed to the rollback.
    conn: Option<PoolConnection<Postgres>>,
}

impl PgTx {
    async fn begin(pool: &PgPool, statement: &str) -> StoreResult<Self> {
        // The connection is the transaction's before its statement goes out: should the statement
        // fail, or this future be dropped while it runs (a request whose caller hung up while it
        // waited for a lock), the drop rolls back whatever it began before the connection goes
        // back to the pool. A connection returned inside a transaction, holding its locks, would
        // run the next borrower's statements in it.
        let mut tx = Self { conn: Some(pool.acquire().await?) };
        sqlx::Executor::execute(tx.conn(), statement).await?;
        Ok(tx)
    }

    fn conn(&mut self) -> &mut PgConnection {
        // Only `commit` (which consumes the transaction) and `drop` take it out.
        self.conn.as_deref_mut().expect("an open transaction holds its connection")
    }

    async fn commit(mut self) -> StoreResult<()> {
        // On an error the connection stays here: dropping `self` rolls back whatever is left.
        sqlx::Executor::execute(self.conn(), "COMMIT").await?;
        self.conn = None;
        Ok(())
    }
}

impl std::ops::Deref for PgTx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn.as_deref().expect("an open transaction holds its connection")
    }
}

impl std::ops::DerefMut for PgTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn()
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else { return };
        // Not committed: rolled back before the connection goes back to the pool; should that
        // fail the connection is closed, which rolls back too. With no runtime left to run either
        // (a process shutting down), it is taken out of the pool and its socket dropped here:
        // `close_on_drop` would spawn, and panic without a runtime.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if sqlx::Executor::execute(&mut *conn, "ROLLBACK").await.is_err() {
                        conn.close_on_drop();
                    }
                });
            }
            Err(_) => drop(conn.detach()),
        }
    }
}

/// A unit on `C`: an owned transaction, or a connection lent by a transaction.
pub struct PgUnit<C> {
    c: C,
    /// The center the unit's statements are bound to (its store handle's); `None` for a
    /// county-wide unit on a handle bound to no center (see `unit_center`).
    center: super::UnitCenter,
}

#[async_trait]
impl Repository for PgStore {
    async fn begin(&self, lock: Lock) -> StoreResult<Box<dyn Unit>> {
        let center = self.unit_center(lock).await?;
        let statement = self.begin_statement(lock, center.id()).await?;
        let tx = PgTx::begin(&self.pool, &statement).await?;
        tracing::trace!(?lock, "unit of work begun");
        Ok(Box::new(PgUnit { c: tx, center }))
    }
}

#[async_trait]
impl Unit for PgUnit<PgTx> {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.c.commit().await
    }
}
