//! Accounts: staff administration, session revocation, failed sign-ins (rate limiting) and the
//! audit trail.

use async_trait::async_trait;

use super::StoreResult;
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

/// The outcome of [`crate::server::service::sign_in::reserve_attempt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The attempt may go on; settle it with this id if it succeeds.
    Reserved(i64),
    /// Over a limit: the attempts already counted.
    Refused(LoginFailures),
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Adds a staff member of `center`; `false` when the id is taken (in any center: staff ids
    /// are unique in the county).
    async fn add_staff(&self, staff: &Staff, password_hash: &str, center: &str) -> StoreResult<bool>;
    /// `false` when there is no such staff member.
    async fn set_password(&self, staff_id: &str, password_hash: &str) -> StoreResult<bool>;
    /// `false` when there is no such staff member.
    async fn set_active(&self, staff_id: &str, active: bool) -> StoreResult<bool>;
    /// Ends every session of the staff member; returns how many there were.
    async fn revoke_sessions(&self, staff_id: &str) -> StoreResult<u64>;

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
