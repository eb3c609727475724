//! Cases as the server holds them: one row per case at the version the domain's ordering kept
//! (`domain::access::order_case_change`), the snapshots kept as conflicts instead, the recorded
//! moves between windows, and the search for a returning applicant's case.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use crate::api::{CaseConflict, CaseSearch, FoundCase};
use crate::domain::case::Case;

#[async_trait]
pub trait CaseStore: Send + Sync {
    /// The case as held (its latest kept version), if the server holds it.
    async fn case(&self, id: Uuid) -> StoreResult<Option<Case>>;
    /// The windows a case was moved away from, by recorded transfers.
    async fn case_former_windows(&self, id: Uuid) -> StoreResult<Vec<u32>>;
    /// Open cases matching a returning applicant's search (already checked and normalised: one
    /// of notice number, case number, ID number, or name and phone), newest first.
    async fn find_cases(&self, search: &CaseSearch, limit: usize) -> StoreResult<Vec<FoundCase>>;
    /// The conflicts of a window that nobody there marked seen, oldest first.
    async fn case_conflicts(&self, window: u32) -> StoreResult<Vec<CaseConflict>>;
    /// The conflicts among these records.
    async fn conflicts_of(&self, records: &[Uuid]) -> StoreResult<Vec<CaseConflict>>;
    /// Marks a window's conflict seen by `staff_id`; false when there is no such unseen one.
    async fn mark_conflict_seen(&self, window: u32, record: Uuid, staff_id: &str, now: i64) -> StoreResult<bool>;
}
