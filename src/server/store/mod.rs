//! Storage behind one trait, so that the server runs on SQLite (embedded, one machine) or
//! PostgreSQL (deployments that outgrow one machine), chosen by the database URL's scheme. The
//! statements both backends run are written once (`sql/`) and compiled into each backend's
//! module (`sqlite`, `postgres`) with its types; what differs is in `dialect` and in each
//! backend's module.
//!
//! Centers as tenants (issue #18): every center-owned table has a `center_id` (migrations
//! sqlite/0025, postgres/0008). A store handle is bound to one center ([`Scope`]): the server
//! binds one per request to the caller's center ([`Store::for_center`]), and the handle
//! [`open`] returns stands for the database's only center (an error once there are several).
//! Statements take the handle's center (`center_id()`, and a unit's `center`); the guard test
//! `tenants::statements_on_center_data_…` fails on one that does not. A county admin's handle is
//! [`Scope::County`]: county-wide data only.

/// The statements both backends share (`sql/`), compiled once per backend: `sqlite.rs` and
/// `postgres.rs` each name what they are written against (`Db`, `Conn`, `q`, ...) and then
/// invoke this, so a new statement file is listed once.
macro_rules! shared_statements {
    () => {
        #[path = "sql/accounts.rs"]
        #[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
        mod accounts;
        #[path = "sql/cases.rs"]
        #[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
        mod cases;
        #[path = "sql/follow_ups.rs"]
        #[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
        mod follow_ups;
        #[path = "sql/handover.rs"]
        #[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
        mod handover;
        #[path = "sql/lexicon.rs"]
        #[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
        mod lexicon;
        #[path = "sql/overlay.rs"]
        #[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
        mod overlay;
        #[path = "sql/queue.rs"]
        #[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
        mod queue;
        #[path = "sql/records.rs"]
        #[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
        mod records;
        #[path = "sql/report.rs"]
        #[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
        mod report;
        #[path = "sql/scope.rs"]
        #[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
        mod scope;
        #[path = "sql/store.rs"]
        #[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
        mod store;
        #[path = "sql/unit.rs"]
        #[allow(clippy::duplicate_mod, reason = "compiled once per backend on purpose")]
        mod unit;
    };
}

mod accounts;
mod cases;
mod dialect;
mod follow_ups;
mod handover;
mod lexicon;
pub mod migrate;
pub mod overlay;
mod postgres;
mod queue;
mod record_schema;
pub mod repo;
mod report;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use crate::api::{RecordEnvelope, StreamStatus};
use crate::domain::calendar::WorkCalendar;
use crate::domain::case::Case;
use crate::domain::center::{Center, Window};
use crate::domain::guide::ServiceGuide;
use crate::domain::handover::DutyState;
use crate::domain::staff::Staff;
use crate::domain::ticket::{QueueCategory, Ticket};

pub use accounts::{AccountStore, LoginFailures, LoginLimits, Reservation};
pub use cases::CaseStore;
pub use follow_ups::FollowUpStore;
pub use handover::{DutyError, HandoverStore};
pub use lexicon::LexiconStore;
pub use overlay::{OverlayStore, OverlayUnit};
pub use postgres::PgStore;
pub use queue::{BookingLookup, QueueCommand, QueueError, QueueStore};
pub use report::ReportStore;
pub use sqlite::{SqliteStore, migration_turn};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored record does not decode: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("unsupported database URL {0:?}: expected sqlite://PATH or postgres://HOST/DATABASE")]
    UnsupportedUrl(String),
    /// A record claims a place in a device log that holds a different record, or reuses the id
    /// of a record stored elsewhere: two installations share a device id, or a log was tampered
    /// with. Never overwritten.
    #[error("record conflict at {device}/{stream}/{idx}")]
    RecordConflict { device: uuid::Uuid, stream: String, idx: u64 },
    /// The unit of work this command was batched in failed as a whole (another command of the
    /// batch got the failure itself); nothing of the batch was committed.
    #[error("batch of queue commands failed: {message}")]
    Batch { disk_full: bool, message: String },
    /// A handle not bound to a center ([`Scope::Only`]) was used on a database holding no
    /// center, or several: the caller must bind one ([`Store::for_center`]).
    #[error("store handle not bound to a center, and the database holds {centers} centers")]
    CenterNotChosen { centers: usize },
    /// A county handle ([`Scope::County`]) was asked for a center's data.
    #[error("a county store handle was used on center data")]
    CountyHandle,
}

impl StoreError {
    /// The disk under the database is full, as opposed to any other failure: SQLITE_FULL (13)
    /// on SQLite, disk_full (SQLSTATE 53100) on PostgreSQL.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Self::Database(sqlx::Error::Database(e)) => matches!(e.code().as_deref(), Some("13" | "53100")),
            Self::Batch { disk_full, .. } => *disk_full,
            _ => false,
        }
    }

    /// The same failure for another command of a failed batch ([`StoreError::Batch`]).
    pub fn duplicate(&self) -> Self {
        match self {
            Self::Batch { disk_full, message } => Self::Batch { disk_full: *disk_full, message: message.clone() },
            other => Self::Batch { disk_full: other.is_disk_full(), message: other.to_string() },
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which center a store handle's statements are bound to.
#[derive(Debug, Clone)]
pub enum Scope {
    /// The database's only center, looked up on each use (so a second center added meanwhile
    /// by another process is noticed: the handle then refuses rather than guess).
    Only,
    /// One center, by id: what the server binds per request from the caller's session.
    Bound(Arc<str>),
    /// The county: a county admin's handle. It reads and writes county-wide data (its audit
    /// lines are the county's) and refuses center data ([`StoreError::CountyHandle`]).
    County,
}

/// The center a unit of work's statements are bound to: its store handle's, or none for a
/// county-wide unit (the sign-in counts, the catalogue) on a handle bound to no center, on a
/// database of several (`unit_center` in `sql/scope.rs`).
#[derive(Debug, Clone)]
struct UnitCenter(Option<Arc<str>>);

impl UnitCenter {
    /// What a county-wide unit's center statements bind: an id no center has, so that they
    /// match nothing rather than guess.
    const NONE_BINDS: &'static str = "";

    /// The center id the unit's statements bind ([`Self::NONE_BINDS`] for none).
    fn id(&self) -> &str {
        self.0.as_deref().unwrap_or(Self::NONE_BINDS)
    }

    /// The unit's center, if it has one (`None`: the county's, e.g. for its audit lines).
    fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// What [`Store::slip_config`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlipConfig {
    pub config_rev: u64,
    pub center_name: String,
    pub categories: Vec<QueueCategory>,
}

/// A staff member with the stored password hash, for sign-in only.
#[derive(Clone)]
pub struct StaffCredentials {
    pub staff: Staff,
    pub password_hash: String,
}

/// A session as stored: the token itself is never stored, only its SHA-256.
#[derive(Debug, Clone)]
pub struct StoredSession {
    pub staff: Staff,
    /// The center the staff member belongs to (their row's `center_id`); `None` for the county.
    pub center: Option<String>,
    pub expires_at: i64,
}

/// The initial content of a new database.
pub struct SeedData {
    pub center: Center,
    pub categories: Vec<QueueCategory>,
    pub windows: Vec<Window>,
    pub staff: Vec<StaffCredentials>,
    pub guides: Vec<ServiceGuide>,
}

#[async_trait]
pub trait Store:
    QueueStore
    + HandoverStore
    + AccountStore
    + LexiconStore
    + CaseStore
    + FollowUpStore
    + ReportStore
    + OverlayStore
    + repo::Repository
    + Send
    + Sync
    + 'static
{
    /// Whether the database already holds a center.
    async fn is_seeded(&self) -> StoreResult<bool>;
    /// A handle on the same database whose statements are bound to `center` (the caller's
    /// center, from their session). Cheap: it shares the connection pool.
    fn for_center(&self, center: &str) -> Arc<dyn Store>;
    /// A handle on the same database acting for the county ([`Scope::County`]).
    fn for_county(&self) -> Arc<dyn Store>;
    /// The center of staff member `id`: `Some(None)` for a county account, `None` when there is
    /// no such account. County-wide: staff ids are unique in the county.
    async fn staff_center(&self, id: &str) -> StoreResult<Option<Option<String>>>;
    /// The center this handle is bound to (for [`Scope::Only`], the database's only center).
    async fn bound_center(&self) -> StoreResult<Arc<str>>;
    /// Writes the seed in one transaction: all of it or nothing.
    async fn seed(&self, seed: &SeedData) -> StoreResult<()>;

    async fn center(&self) -> StoreResult<Option<Center>>;
    /// Every center of the database (its tenants), by id.
    async fn centers(&self) -> StoreResult<Vec<Center>>;
    async fn windows(&self) -> StoreResult<Vec<Window>>;
    async fn categories(&self) -> StoreResult<Vec<QueueCategory>>;
    /// The center's name and queue categories (by letter) with the configuration revision they
    /// are at (see [`repo::QueueRevision::config_rev`]), in one statement: what the kiosk's slip
    /// names, and may keep while the configuration revision holds.
    async fn slip_config(&self) -> StoreResult<SlipConfig>;
    async fn all_staff(&self) -> StoreResult<Vec<Staff>>;
    /// One staff member of the handle's center (one row, not the whole list).
    async fn staff_member(&self, id: &str) -> StoreResult<Option<Staff>>;
    async fn staff_credentials(&self, id: &str) -> StoreResult<Option<StaffCredentials>>;

    async fn create_session(&self, token_hash: &str, staff_id: &str, now: i64, expires_at: i64) -> StoreResult<()>;
    async fn session(&self, token_hash: &str) -> StoreResult<Option<StoredSession>>;
    /// [`Store::session`] and, in the same statement, window `window` of the session's center
    /// with its duty now (as [`Store::place`] on a handle bound to that center; `None`: no such
    /// window, or a county account). What a window route reads per request, in one round trip.
    async fn session_at_window(
        &self,
        token_hash: &str,
        window: u32,
    ) -> StoreResult<Option<(StoredSession, Option<(Window, DutyState)>)>>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;

    /// Guides changed after `since`, and the latest catalogue sequence.
    async fn guides_since(&self, since: i64) -> StoreResult<(i64, Vec<ServiceGuide>)>;
    /// One page of the catalogue changes after `since` (see [`crate::api::GuidePage`]): in change
    /// order, at most `limit` guides and, past the first, at most `max_bytes` of stored JSON;
    /// without `limit`, all of them. `seq` is the last included guide's sequence, so the next page
    /// starts exactly after it (every change has its own sequence).
    async fn guides_page(&self, since: i64, limit: Option<u32>, max_bytes: usize)
    -> StoreResult<crate::api::GuidePage>;
    async fn guide(&self, code: &str) -> StoreResult<Option<ServiceGuide>>;
    async fn catalogue_seq(&self) -> StoreResult<i64>;

    async fn duty(&self, window: u32) -> StoreResult<DutyState>;
    /// Window `window` and its duty now, in one read (what every window route checks its caller
    /// against); `None`: there is no such window.
    async fn place(&self, window: u32) -> StoreResult<Option<(Window, DutyState)>>;
    /// Waiting tickets of the given China-time day in the given categories.
    async fn waiting_count(&self, day: chrono::NaiveDate, categories: &[char]) -> StoreResult<u32>;
    /// The ticket called to or served at the window, if any.
    async fn ticket_at_window(&self, window: u32) -> StoreResult<Option<Ticket>>;
    async fn open_cases(&self, window: u32) -> StoreResult<Vec<Case>>;
    /// Stores a rating bound to the ticket `ticket_id`, authored by `author` (the evaluator),
    /// with the follow-up it opens when it is bad (in the same transaction).
    /// `true` when stored now or earlier under the same id (a resend); `false` when the ticket
    /// already has another rating.
    async fn rate_ticket(
        &self,
        rating: &crate::domain::rating::Rating,
        ticket_id: uuid::Uuid,
        author: &str,
        follow_up: Option<&crate::domain::follow_up::FollowUp>,
    ) -> StoreResult<bool>;
    /// Whether the ticket has its rating.
    async fn ticket_rated(&self, ticket_id: uuid::Uuid) -> StoreResult<bool>;
    /// The rating stored under `id` with the ticket it is bound to (ratings of tickets only).
    async fn ticket_rating(&self, id: uuid::Uuid) -> StoreResult<Option<(uuid::Uuid, crate::domain::rating::Rating)>>;
    /// Ratings given at the evaluators that count for the China-time `day`
    /// ([`crate::domain::rating::Rating::day`]): how many, and how many of them bad. Ratings typed
    /// in by clerks (older terminals' logs) are not counted: the public rate is the applicants' own.
    async fn rating_counts(&self, day: chrono::NaiveDate) -> StoreResult<(u32, u32)>;

    /// The logs of a window, plus every log of `device`.
    async fn stream_status(&self, window: u32, device: Option<uuid::Uuid>) -> StoreResult<Vec<StreamStatus>>;
    /// Records of one log from `from` on, in order.
    async fn records(
        &self,
        device: uuid::Uuid,
        stream: &str,
        from: u64,
        limit: usize,
    ) -> StoreResult<Vec<RecordEnvelope>>;
    /// The working-day calendar and its change sequence, if one was stored.
    async fn calendar(&self) -> StoreResult<Option<(i64, WorkCalendar)>>;
    /// Replaces the calendar; returns the new sequence.
    async fn put_calendar(&self, calendar: &WorkCalendar) -> StoreResult<i64>;

    /// Visits (来访登记) recorded at the window since `since` (Unix seconds).
    async fn visits_since(&self, window: u32, since: i64) -> StoreResult<u32>;

    /// Notes that `staff_id` had a session on `device` (kept once, with the first time seen).
    async fn bind_device(&self, device: uuid::Uuid, staff_id: &str, now: i64) -> StoreResult<()>;
    /// Everyone who had a session on `device`.
    async fn device_staff(&self, device: uuid::Uuid) -> StoreResult<Vec<String>>;
    /// The window a stored case belongs to, if the case is stored.
    async fn case_window(&self, case_id: uuid::Uuid) -> StoreResult<Option<u32>>;
}

/// What an import of guides changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub added: usize,
    pub changed: usize,
    pub unchanged: usize,
}

/// Opens (creating if needed) and migrates the database named by `url`.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if is_postgres_url(url) {
        Ok(Arc::new(PgStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}

/// Whether `url` names a PostgreSQL database (else SQLite, or unsupported).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}
