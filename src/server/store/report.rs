//! The reads behind `bianmin report` (and, later, the board's export): everything
//! [`crate::domain::report::build`] is computed from, as the store holds it. The figures
//! themselves are the domain's; these only select the rows.

use async_trait::async_trait;
use chrono::NaiveDate;

use super::StoreResult;
use crate::domain::case::Case;
use crate::domain::handover::Handover;
use crate::domain::inquiry::Inquiry;
use crate::domain::notice::OneTimeNotice;
use crate::domain::rating::Rating;
use crate::domain::ticket::Ticket;

#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Every ticket of the China-time days `from..=to`, finished or not.
    async fn tickets_of_days(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<Ticket>>;
    /// Every case held, in any state: a case opened long ago may be accepted or overdue now.
    async fn all_cases(&self) -> StoreResult<Vec<Case>>;
    /// One-time notices given in `[from, to)` (Unix seconds).
    async fn notices_between(&self, from: i64, to: i64) -> StoreResult<Vec<OneTimeNotice>>;
    /// The applicants' ratings given at the evaluators that count for the China-time days
    /// `from..=to` ([`Rating::day`]: a rating uploaded late counts for its ticket's day). As in
    /// [`super::Store::rating_counts`], ratings typed in by clerks (older terminals' logs) are not
    /// the applicants' and are left out.
    async fn ratings_of_days(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<Rating>>;
    /// Every handover of the center, oldest first: a window's duty at any moment follows from
    /// all the handovers before it.
    async fn all_handovers(&self) -> StoreResult<Vec<Handover>>;
    /// The guidance desk's inquiries asked in `[from, to)` (Unix seconds).
    async fn inquiries_between(&self, from: i64, to: i64) -> StoreResult<Vec<Inquiry>>;
}
