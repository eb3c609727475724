//! The narrow transactional repository the server's business flows run on (`server::service`).
//! A unit of work begins by naming the lock it takes ([`Lock`]); everything it reads afterwards
//! is consistent with what it writes, and nothing of it is seen until `commit`. Dropping a unit
//! without committing rolls it back. The rules themselves (which ticket is next, who may set the
//! duty, which statuses count as "at a window" or "open") are the domain's: a backend answers
//! the questions below and stores what it is given, nothing more.
//!
//! A backend is held to this by `tests/api/store_contract.rs`.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::StoreResult;
use uuid::Uuid;

use super::LoginFailures;
use crate::api::CaseConflict;
use crate::api::RecordEnvelope;
use crate::api::accounts::AuditEntry;
use crate::api::queue::WindowPause;
use crate::domain::appointment::SlotPlan;
use crate::domain::case::{Case, CaseTransfer, CaseVersion};
use crate::domain::center::Window;
use crate::domain::guide::ServiceGuide;
use crate::domain::handover::{Acknowledgement, DutyState, Handover};
use crate::domain::inquiry::Inquiry;
use crate::domain::notice::OneTimeNotice;
use crate::domain::staff::Staff;
use crate::domain::ticket::{Ticket, TicketNumber, TicketStatus};

/// A case as the server holds it (see [`RecordUnit::held_case`]).
#[derive(Debug, Clone)]
pub struct HeldCase {
    pub window: u32,
    pub version: CaseVersion,
    pub case: Case,
}

/// What a unit of work locks for its whole length: no other unit taking the same lock runs
/// between its reads and its writes (on one server process or several sharing the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// The live queue: its tickets, window pauses and revision counter.
    Queue,
    /// Every window's duty and the roster (a duty change is checked against every window).
    Duty,
    /// The device logs, their heads and what is projected from them (cases, notices, handovers,
    /// ratings, inquiries, visits). A handover record switches its window's duty: a backend with
    /// separate locks takes [`Lock::Duty`] too, after this one (never the other way round).
    Records,
    /// The failed sign-ins counted for the rate limits.
    SignIn,
    /// The service-guide catalogue and its change sequence.
    Catalogue,
}

#[async_trait]
pub trait Repository: Send + Sync {
    /// Begins a unit of work holding `lock` (waiting for it if another unit holds it).
    async fn begin(&self, lock: Lock) -> StoreResult<Box<dyn Unit>>;
}

/// One unit of work: the questions and writes of every flow. A flow uses those its lock covers.
#[async_trait]
pub trait Unit: QueueUnit + DutyUnit + RecordUnit + SignInUnit + CatalogueUnit + super::OverlayUnit + Send {
    /// Makes every write of the unit durable and visible, and releases its lock.
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// What a unit's first statement on the queue's counter returns ([`QueueUnit::next_queue_revision`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueRevision {
    /// The queue's revision the unit took.
    pub rev: u64,
    /// The center's configuration revision: bumped by the store's triggers on every write of
    /// the center's windows and queue categories (SQLite migration 0032, PostgreSQL 0018), read
    /// from the row the unit now holds locked, so no such write commits before the unit ends.
    pub config_rev: u64,
}

#[async_trait]
pub trait QueueUnit: Send {
    /// Takes the queue's next revision, and reads the center's configuration revision in the same
    /// statement. It is rolled back with the unit, so committed revisions have no gaps.
    async fn next_queue_revision(&mut self) -> StoreResult<QueueRevision>;
    /// Sets the queue's revision to `rev` (under the unit's queue lock): how a batch whose
    /// commands took their revisions in memory stores its last one, and how a command that was
    /// refused after taking its revision, and wrote nothing else, gives it back without a
    /// savepoint around every command.
    async fn set_queue_revision(&mut self, rev: u64) -> StoreResult<()>;
    /// Writes an audit line with the unit's other writes: the change and its line are committed
    /// together or not at all (a full disk cannot leave a change without its line).
    async fn append_audit(&mut self, entry: &AuditEntry) -> StoreResult<()>;
    /// [`QueueUnit::append_audit`] for several lines (a batch's), in one statement.
    async fn append_audits(&mut self, entries: &[AuditEntry]) -> StoreResult<()>;
    async fn window(&mut self, number: u32) -> StoreResult<Option<Window>>;
    async fn category_exists(&mut self, letter: char) -> StoreResult<bool>;
    /// Every window of the center (what a batch of queue commands reads once).
    async fn queue_windows(&mut self) -> StoreResult<Vec<Window>>;
    /// Every queue category's letter (what a batch of queue commands reads once).
    async fn category_letters(&mut self) -> StoreResult<Vec<char>>;
    /// The ticket of day `day` with this number.
    async fn ticket(&mut self, day: NaiveDate, number: TicketNumber) -> StoreResult<Option<Ticket>>;
    /// The ticket at `window` ([`TicketStatus::is_at_window`]), if any.
    async fn ticket_at_window(&mut self, window: u32) -> StoreResult<Option<Ticket>>;
    /// Waiting tickets of `day` that `window` may be given (its categories' lines, or sent to it),
    /// whose slot, if any, has begun by `now`; the first `limit` in the selection rule's order
    /// ([`crate::domain::queue::rank`], then number).
    async fn waiting_for(
        &mut self,
        day: NaiveDate,
        window: &Window,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<Ticket>>;
    /// Every ticket of `day`, in no particular order: what the queue's memory of the day is
    /// loaded from (`server::service::day_queue`).
    async fn day_tickets(&mut self, day: NaiveDate) -> StoreResult<Vec<Ticket>>;
    /// The tickets of `day` written by a command of a revision after `rev` (each ticket row
    /// carries the revision of the command that last wrote it): what a memory of the day at
    /// `rev` is brought up to date with.
    async fn day_tickets_since(&mut self, day: NaiveDate, rev: u64) -> StoreResult<Vec<Ticket>>;
    /// Every paused window and its pause.
    async fn pauses(&mut self) -> StoreResult<Vec<(u32, WindowPause)>>;
    /// Tickets of days before `day` still in play ([`TicketStatus::is_in_play`]).
    async fn in_play_before(&mut self, day: NaiveDate) -> StoreResult<Vec<Ticket>>;
    /// The highest sequence number issued for `letter` on `day` (0 when none).
    async fn last_seq(&mut self, day: NaiveDate, letter: char) -> StoreResult<u32>;
    async fn insert_ticket(&mut self, ticket: &Ticket) -> StoreResult<()>;
    /// Replaces the stored ticket with the same id.
    async fn save_ticket(&mut self, ticket: &Ticket) -> StoreResult<()>;
    /// Stores each ticket (new, or replacing the one with its id) with the revision of the
    /// command that last wrote it, and its slip's token if it has none yet, in a few multi-row
    /// statements: how a batch's ticket writes reach the store at its end. The rule of one ticket
    /// per window holds whatever the tickets' order, so long as it holds once they are all
    /// written.
    async fn put_tickets(&mut self, tickets: &[TicketWrite]) -> StoreResult<()>;
    async fn pause(&mut self, window: u32) -> StoreResult<Option<WindowPause>>;
    async fn set_pause(&mut self, window: u32, pause: Option<&WindowPause>) -> StoreResult<()>;
    /// [`QueueUnit::set_pause`] for several windows, in one statement.
    async fn set_pauses(&mut self, pauses: &[(u32, Option<WindowPause>)]) -> StoreResult<()>;
    /// The appointment slots of a working day, of every category, by category and start.
    async fn slot_plans(&mut self) -> StoreResult<Vec<SlotPlan>>;
    /// Replaces the slots of `category` with `plans` (all of that category).
    async fn replace_slot_plans(&mut self, category: char, plans: &[SlotPlan]) -> StoreResult<()>;
    /// How many places of the slot of `category` beginning at `slot_start` are taken: bookings
    /// whose ticket is not void (a cancelled booking frees its place).
    async fn booked_in_slot(&mut self, category: char, slot_start: DateTime<Utc>) -> StoreResult<u32>;
    /// Whether a booking of `day` has this code.
    async fn booking_code_taken(&mut self, day: NaiveDate, code: &str) -> StoreResult<bool>;
    /// Stores the code and phone of the booked ticket `t` (already inserted).
    async fn insert_booking(&mut self, t: &Ticket, code: &str, phone: Option<&str>) -> StoreResult<()>;
    /// The tickets of `day` booked with this code, or with this phone number, still booked
    /// ([`TicketStatus::Booked`]), earliest slot first.
    async fn bookings_of(&mut self, day: NaiveDate, find: BookingKey<'_>) -> StoreResult<Vec<Ticket>>;
}

/// A ticket as [`QueueUnit::put_tickets`] writes it.
#[derive(Debug, Clone)]
pub struct TicketWrite {
    pub ticket: Ticket,
    /// The revision of the command that last wrote it.
    pub rev: u64,
    /// The status-page token of the kiosk's slip that issued it: written in the same statement
    /// as the ticket (so committed with it, in the issue's own unit), and only on a ticket that
    /// has none (a token once printed on a slip stays the ticket's).
    pub status_token: Option<String>,
}

/// How a booking is looked up: by its code or by the phone number given when booking.
#[derive(Debug, Clone, Copy)]
pub enum BookingKey<'a> {
    Code(&'a str),
    Phone(&'a str),
}

#[async_trait]
pub trait DutyUnit: Send {
    async fn windows(&mut self) -> StoreResult<Vec<Window>>;
    /// Every window's duty, by window number.
    async fn duties(&mut self) -> StoreResult<Vec<(u32, DutyState)>>;
    /// When the window's duty last changed, if it ever did.
    async fn duty_changed_at(&mut self, window: u32) -> StoreResult<Option<DateTime<Utc>>>;
    async fn write_duty(&mut self, window: u32, duty: &DutyState, at: DateTime<Utc>) -> StoreResult<()>;
    async fn staff(&mut self, id: &str) -> StoreResult<Option<Staff>>;
    /// Replaces the stored window with the same number.
    async fn save_window(&mut self, window: &Window) -> StoreResult<()>;
}

/// The device logs and what the server projects from them. Each `insert_*` stores a thing once
/// (by its id): a second insert of the same id changes nothing.
#[async_trait]
pub trait RecordUnit: Send {
    /// Stores `r` (already in the current schema) at its place (device, stream, index), received
    /// at `received_at` (Unix seconds), unless a record is stored at that place or under its id.
    /// Whether it was stored now.
    async fn insert_record(&mut self, r: &RecordEnvelope, received_at: i64) -> StoreResult<bool>;
    /// The id of the record stored at the place, if any.
    async fn record_id_at(&mut self, device: Uuid, stream: &str, idx: u64) -> StoreResult<Option<Uuid>>;
    /// The indexes stored in a log after `after`, ascending, at most `limit`.
    async fn indexes_after(&mut self, device: Uuid, stream: &str, after: u64, limit: usize) -> StoreResult<Vec<u64>>;
    /// The log's head: the index up to which it is stored without a gap (0 for a new log).
    async fn stream_head(&mut self, device: Uuid, stream: &str) -> StoreResult<u64>;
    /// Sets the log's head; the log belongs to `window`.
    async fn set_stream_head(&mut self, device: Uuid, stream: &str, window: u32, last: u64) -> StoreResult<()>;

    /// The case as held: its window, the version kept and the case itself.
    async fn held_case(&mut self, id: Uuid) -> StoreResult<Option<HeldCase>>;
    /// Stores the case at its own version (`case.version`), replacing a held one.
    async fn save_case(&mut self, case: &Case, received_at: i64) -> StoreResult<()>;
    /// Keeps a snapshot that did not become the held version, for its window to see.
    async fn insert_case_conflict(&mut self, conflict: &CaseConflict) -> StoreResult<()>;
    /// Moves a held case from `transfer.from_window` to `transfer.to_window` and keeps the step;
    /// false (and nothing kept) when the case is not held at `from_window`.
    async fn move_case(&mut self, record_id: Uuid, transfer: &CaseTransfer, received_at: i64) -> StoreResult<bool>;
    async fn insert_notice(&mut self, notice: &OneTimeNotice) -> StoreResult<()>;
    async fn insert_inquiry(&mut self, inquiry: &Inquiry) -> StoreResult<()>;
    /// A visit (来访登记) record, kept for the window's figures.
    async fn insert_visit(&mut self, r: &RecordEnvelope) -> StoreResult<()>;

    /// Keeps a rating of the ticket and the follow-up it opens, with the unit's other writes (the
    /// store's one rating per ticket, as [`crate::server::store::Store::rate_ticket`]): whether
    /// it is kept, now or before under the same id; false when the ticket has another rating.
    async fn insert_rating(
        &mut self,
        rating: &crate::domain::rating::Rating,
        ticket_id: Uuid,
        author: &str,
        follow_up: Option<&crate::domain::follow_up::FollowUp>,
    ) -> StoreResult<bool>;

    /// Stores a handover of `window` as written; whether it was stored now.
    async fn insert_handover(&mut self, window: u32, handover: &Handover) -> StoreResult<bool>;
    /// A stored handover with what the server decided about it (acknowledgement, duty refused).
    async fn handover(&mut self, id: Uuid) -> StoreResult<Option<Handover>>;
    /// Why the handover did not switch the duty.
    async fn set_duty_refused(&mut self, id: Uuid, reason: &str) -> StoreResult<()>;
    /// The acknowledgement that counts for the handover.
    async fn set_acknowledged(&mut self, id: Uuid, ack: Option<&Acknowledgement>) -> StoreResult<()>;
    /// Rewrites what a stored handover says (withdrawn or not); what the server decided about it
    /// stays in its own columns.
    async fn save_handover_body(&mut self, handover: &Handover) -> StoreResult<()>;
    /// Replaces the handover's to-do list (ticked or unticked).
    async fn save_handover_items(&mut self, handover: &Handover) -> StoreResult<()>;
    /// Keeps an acknowledgement as it arrived in record `record_id` (whether it counts or not).
    async fn insert_acknowledgement(
        &mut self,
        record_id: Uuid,
        handover_id: Uuid,
        ack: &Acknowledgement,
    ) -> StoreResult<()>;
    /// The acknowledgements kept for a handover, in the order they arrived.
    async fn acknowledgements(&mut self, handover_id: Uuid) -> StoreResult<Vec<Acknowledgement>>;
}

/// The failed sign-ins of the rate limits.
#[async_trait]
pub trait SignInUnit: Send {
    /// Forgets attempts made before `since` (Unix seconds).
    async fn forget_attempts_before(&mut self, since: i64) -> StoreResult<()>;
    /// The attempts kept, newest first: of the account from the address, of the address (any
    /// account), of the account (every address).
    async fn attempts(&mut self, staff_id: &str, addr: &str) -> StoreResult<LoginFailures>;
    /// Counts an attempt (as failed until settled); its id.
    async fn insert_attempt(&mut self, staff_id: &str, addr: &str, at: i64) -> StoreResult<i64>;
}

/// The service-guide catalogue: guides with their change sequence.
#[async_trait]
pub trait CatalogueUnit: Send {
    /// The latest change sequence (0 for an empty catalogue).
    async fn catalogue_seq(&mut self) -> StoreResult<i64>;
    async fn guide(&mut self, code: &str) -> StoreResult<Option<ServiceGuide>>;
    /// Stores the guide (replacing one with its code) at change sequence `seq`.
    async fn put_guide(&mut self, guide: &ServiceGuide, seq: i64) -> StoreResult<()>;
    /// The stored guides with these codes as stored, `(code, body)` (those not stored are
    /// absent), in one statement: an import compares the texts before decoding any.
    async fn guide_bodies_by_code(&mut self, codes: &[&str]) -> StoreResult<Vec<(String, String)>>;
    /// Stores each guide at its change sequence, as [`CatalogueUnit::put_guide`] does, in one
    /// statement. The codes must differ.
    async fn put_guides(&mut self, guides: &[(ServiceGuide, i64)]) -> StoreResult<()>;
}

/// `('已叫号', '办理中')`: the labels of the statuses a domain rule picks, as an SQL list. The
/// labels are the domain's own constants, never user input.
pub fn sql_list(statuses: impl Iterator<Item = &'static str>) -> String {
    let quoted: Vec<String> = statuses.map(|label| format!("'{label}'")).collect();
    format!("({})", quoted.join(", "))
}

/// [`sql_list`] of the ticket statuses for which `rule` holds.
pub fn ticket_statuses(rule: fn(TicketStatus) -> bool) -> String {
    sql_list(TicketStatus::all_where(rule).map(TicketStatus::label))
}

/// The stable code a value is stored under (its serde name, e.g. `closed` for 已办结): the record
/// schema's codes, not the display label (docs/record-format.md).
pub fn code(value: impl serde::Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The SQL list of the case statuses for which `rule` holds, by their stored code. The codes are
/// the domain's own constants, never user input.
pub fn case_statuses(rule: fn(crate::domain::case::CaseStatus) -> bool) -> String {
    use crate::domain::case::CaseStatus;
    let quoted: Vec<String> = CaseStatus::all_where(rule).map(|s| format!("'{}'", code(s))).collect();
    format!("({})", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lists_follow_the_domain() {
        assert_eq!(ticket_statuses(TicketStatus::is_at_window), "('已叫号', '办理中')");
        assert_eq!(ticket_statuses(TicketStatus::is_in_play), "('等候', '已叫号', '办理中', '挂起', '过号', '已预约')");
        assert_eq!(
            case_statuses(crate::domain::case::CaseStatus::is_open),
            "('intake', 'awaiting_materials', 'accepted', 'dispatched', 'ready_for_delivery')"
        );
    }
}
