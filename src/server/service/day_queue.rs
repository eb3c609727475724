//! The queue's day held in memory by the process that runs the queue's commands (one per center;
//! `QueueHub` owns it and only the task holding the queue's turn touches it): every ticket of the
//! day, the waiting ones in the selection rule's order, the ticket at each window, the last number
//! per category and the windows' pauses. A command reads from it, not from the store, and its
//! writes are held until the unit's end ([`DayQueue::flush`]), so a batch of commands reaches the
//! store in a constant number of statements: its ticket rows in one multi-row upsert, its pauses
//! in one, the queue's revision once and its audit lines in one, however many commands it holds.
//!
//! The memory is the store's state as seen inside the unit of work holding the queue's lock,
//! and is trusted only while that is provably so:
//! - it is loaded inside such a unit, and the first revision a unit takes (from the store, in the
//!   same transaction) must be the one after the memory's: a command committed by another process
//!   (PostgreSQL, or several processes on one SQLite file) bumped the counter, so the memory
//!   is stale and is brought up to date before the command decides anything. The unit's later
//!   commands take theirs in memory (the queue's lock is held, nobody else can take one), and the
//!   last is written to the counter at the unit's end. Every ticket row
//!   carries the revision of the command that last wrote it (written in that command's unit), so
//!   a memory at revision R catches up by reading the day's rows with a revision after R, and
//!   the pauses; a memory of another day, or ahead of the store, is loaded whole;
//! - a command that fails after writing to the memory, a batch whose commit fails and a unit
//!   that breaks forget it (loaded again next time); a command that fails before writing
//!   gives back only its revision, as the store does;
//! - the writes held for the unit's end are sent to the store before it answers any question in
//!   that unit (a read that memory does not answer, a booking's row), so the store never answers
//!   without them; they are dropped with the unit when it is rolled back or forgotten;
//! - it answers only for its own day: other days' tickets (bookings of a later day, past days'
//!   leftovers) go to the store, and a new day loads afresh.
//!
//! After each batch the hub publishes the committed day for the routes that only read it, from
//! this memory or the batch's changes: [`super::day_view`], with its own rule of when it is
//! trusted.
//!
//! Windows and categories are not the queue's (an admin changes them without the queue's lock),
//! yet a call reads them every time. They are kept across units at the center's *configuration
//! revision* they were read at, and trusted in a unit only once its first revision statement
//! (which also returns the configuration revision, from the same row) said it has not moved:
//! - every write of a center's windows or categories bumps that revision from a trigger in the
//!   store (SQLite migration 0032, PostgreSQL 0018), so no writer can change them without it;
//! - the trigger writes the queue's counter row, the row a queue unit's first statement updates:
//!   a unit that updated it holds it until its end, so no change of the windows or categories
//!   commits while it runs (on PostgreSQL the change's own update waits for the row; on SQLite
//!   the one write lock is the unit's). A change committed before the unit's update is seen by
//!   it: on PostgreSQL the update waits for the transaction holding the row and then returns the
//!   row as that one committed it. So the windows and categories of the configuration revision
//!   the unit read are those of the whole unit, up to its commit;
//! - a unit that has taken no revision from the store yet reads them from the store, and keeps
//!   nothing; a different configuration revision, and [`DayQueue::forget`], drop what is kept.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::api::accounts::AuditEntry;
use crate::api::queue::WindowPause;
use crate::domain::appointment::SlotPlan;
use crate::domain::center::Window;
use crate::domain::queue as rules;
use crate::domain::ticket::{Ticket, TicketNumber, TicketStatus};
use crate::server::store::StoreResult;
use crate::server::store::repo::{BookingKey, QueueRevision, QueueUnit, TicketWrite};

/// One day of the queue, as committed (or written by the open unit).
#[derive(Debug)]
struct Day {
    day: NaiveDate,
    /// The revision this state is at.
    rev: u64,
    /// Every ticket of the day; the maps below index it.
    tickets: Vec<Ticket>,
    index: HashMap<Uuid, usize>,
    by_number: HashMap<TicketNumber, Uuid>,
    waiting: BTreeMap<rules::Rank, Uuid>,
    at_window: HashMap<u32, Uuid>,
    last_seq: HashMap<char, u32>,
    pauses: HashMap<u32, WindowPause>,
    /// No ticket of a day before this one is in play (past days' leftovers are voided).
    clear_before: Option<NaiveDate>,
}

impl Day {
    fn new(day: NaiveDate, rev: u64, tickets: Vec<Ticket>, pauses: Vec<(u32, WindowPause)>) -> Self {
        let mut d = Self {
            day,
            rev,
            tickets: Vec::with_capacity(tickets.len()),
            index: HashMap::with_capacity(tickets.len()),
            by_number: HashMap::with_capacity(tickets.len()),
            waiting: BTreeMap::new(),
            at_window: HashMap::new(),
            last_seq: HashMap::new(),
            pauses: pauses.into_iter().collect(),
            clear_before: None,
        };
        for t in tickets {
            d.put(t);
        }
        d
    }

    /// Stores `t` (new, or replacing the ticket with its id) and keeps every index in step.
    fn put(&mut self, t: Ticket) {
        let at = self.index.get(&t.id).copied();
        if let Some(old) = at.and_then(|i| self.tickets.get(i)) {
            self.waiting.remove(&rules::rank(old));
            if let Some(w) = old.window
                && self.at_window.get(&w) == Some(&old.id)
            {
                self.at_window.remove(&w);
            }
            self.by_number.remove(&old.number);
        }
        if t.status == TicketStatus::Waiting {
            self.waiting.insert(rules::rank(&t), t.id);
        }
        if t.status.is_at_window()
            && let Some(w) = t.window
        {
            self.at_window.insert(w, t.id);
        }
        let last = self.last_seq.entry(t.number.category).or_default();
        *last = (*last).max(t.number.seq);
        self.by_number.insert(t.number, t.id);
        match at {
            Some(i) => self.tickets[i] = t,
            None => {
                self.index.insert(t.id, self.tickets.len());
                self.tickets.push(t);
            }
        }
    }

    fn get(&self, id: &Uuid) -> Option<&Ticket> {
        self.index.get(id).and_then(|&i| self.tickets.get(i))
    }

    /// The store's `waiting_for`, from memory.
    fn waiting_for(&self, window: &Window, now: DateTime<Utc>, limit: usize) -> Vec<Ticket> {
        let now_ms = now.timestamp_millis();
        self.waiting
            .values()
            .filter_map(|id| self.get(id))
            .filter(|t| match t.target_window {
                Some(target) => target == window.number,
                None => window.categories.contains(&t.category),
            })
            .filter(|t| rules::slot_held(t).is_none_or(|a| a.slot_start.timestamp_millis() <= now_ms))
            .take(limit)
            .cloned()
            .collect()
    }
}

/// The queue's day in memory, owned by the queue's turn (see the module's comment).
#[derive(Debug, Default)]
pub struct DayQueue {
    day: Option<Day>,
    /// Whole-day loads so far (the first, a new day, a memory ahead of the store).
    loads: u64,
    /// Catch-ups so far: the memory was behind the store (another process committed) and read
    /// only the tickets written since.
    catch_ups: u64,
    /// The command under way: the revision before it, and whether it changed the memory.
    command: Option<Command>,
    /// The status-page token of the kiosk's slip for the ticket the command under way issues
    /// ([`DayQueue::slip_token`]), held with the ticket's write until it is sent.
    slip_token: Option<String>,
    /// The center's windows and category letters, each read whole at its first need, as of the
    /// configuration revision `config_rev` (see the module's comment); `None`: not read since.
    windows: Option<HashMap<u32, Window>>,
    categories: Option<Vec<char>>,
    config_rev: Option<u64>,
    /// The open unit took its revision from the store and its configuration revision is
    /// `config_rev`: what is kept may answer in this unit.
    config_checked: bool,
    /// Reads of the windows or the categories into memory so far (a figure for tests).
    config_reads: u64,
    /// The audit lines of the batch's kept commands, written in one statement before its commit.
    audits: Vec<AuditEntry>,
    /// The open unit's writes not yet sent to the store.
    pending: Pending,
    /// The queue's counter in the store as the open unit left it, once a command of the unit took
    /// a revision from the store (with the queue's lock held): the unit's later commands take
    /// theirs in memory. `None`: no revision taken from the store in this unit yet.
    unit_rev: Option<u64>,
}

/// Writes of the open unit held for its end ([`DayQueue::flush`]).
#[derive(Debug, Default)]
struct Pending {
    /// Each ticket written, by id: its last state, the revision of the command that wrote it and
    /// its slip's token, in the order of first writes.
    tickets: Vec<TicketWrite>,
    index: HashMap<Uuid, usize>,
    /// Each window whose pause was set or cleared: its last pause.
    pauses: BTreeMap<u32, Option<WindowPause>>,
    /// The revision the store's counter must be set to (the unit's last one taken or given back).
    rev: Option<u64>,
}

impl Pending {
    fn put(&mut self, ticket: Ticket, rev: u64, status_token: Option<String>) {
        match self.index.get(&ticket.id) {
            Some(&i) => {
                let held = &mut self.tickets[i];
                let status_token = status_token.or_else(|| held.status_token.take());
                *held = TicketWrite { ticket, rev, status_token };
            }
            None => {
                self.index.insert(ticket.id, self.tickets.len());
                self.tickets.push(TicketWrite { ticket, rev, status_token });
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.tickets.is_empty() && self.pauses.is_empty() && self.rev.is_none()
    }
}

#[derive(Debug, Clone, Copy)]
struct Command {
    rev_before: Option<u64>,
    /// The revision it took.
    rev: Option<u64>,
    /// It changed the memory.
    wrote: bool,
    /// It wrote to the store something other than its revision.
    touched: bool,
    /// The batch's audit lines before it.
    audits_before: usize,
}

/// How a command of a batch that failed is undone, without a savepoint around every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undo {
    /// It wrote nothing (refused before taking its revision).
    Nothing,
    /// It wrote only its revision: set the counter back to this one.
    GiveBack(u64),
    /// It wrote more, or the store failed: only rolling the unit back undoes it.
    Whole,
}

impl DayQueue {
    /// How many times the day was read from the store (a figure for tests and the log).
    pub fn loads(&self) -> u64 {
        self.loads
    }

    /// How many times the memory caught up with the store by reading only the tickets written
    /// since its revision (a figure for tests and the log).
    pub fn catch_ups(&self) -> u64 {
        self.catch_ups
    }

    /// How many times the windows or the categories were read from the store into memory (a
    /// figure for tests and the log).
    pub fn config_reads(&self) -> u64 {
        self.config_reads
    }

    /// The center's configuration revision the last unit (up to its end) had, when it took its
    /// revision from the store.
    pub fn checked_config_rev(&self) -> Option<u64> {
        self.config_rev.filter(|_| self.config_checked)
    }

    /// Every window of the center, in number order, as the last unit (up to its end) had them:
    /// when that unit took its revision from the store and its windows are kept.
    pub fn checked_windows(&self) -> Option<Vec<Window>> {
        let mut all: Vec<Window> = self.windows.as_ref().filter(|_| self.config_checked)?.values().cloned().collect();
        all.sort_by_key(|w| w.number);
        Some(all)
    }

    /// The day and revision the memory holds, if it holds one.
    pub fn held(&self) -> Option<(NaiveDate, u64)> {
        self.day.as_ref().map(|d| (d.day, d.rev))
    }

    /// Every ticket of `day`, when the memory holds that day at revision `rev`.
    pub fn tickets_at(&self, day: NaiveDate, rev: u64) -> Option<&[Ticket]> {
        let d = self.day.as_ref().filter(|d| d.day == day && d.rev == rev)?;
        Some(&d.tickets)
    }

    /// The windows' pauses, when the memory holds the day at revision `rev` (with
    /// [`Self::tickets_at`], what a [`super::day_view::DayView`] is built from).
    pub fn pauses_at(&self, day: NaiveDate, rev: u64) -> Option<Vec<(u32, WindowPause)>> {
        let d = self.day.as_ref().filter(|d| d.day == day && d.rev == rev)?;
        Some(d.pauses.iter().map(|(w, p)| (*w, p.clone())).collect())
    }

    /// Forgets the day (the next command loads it again), the windows and categories, and the
    /// unit's held writes and audit lines (its unit is rolled back).
    pub fn forget(&mut self) {
        self.day = None;
        self.windows = None;
        self.categories = None;
        self.config_rev = None;
        self.config_checked = false;
        self.command = None;
        self.slip_token = None;
        self.audits.clear();
        self.pending = Pending::default();
        self.unit_rev = None;
    }

    /// A batch begins (its first unit).
    pub fn begin_batch(&mut self) {
        self.begin_unit();
    }

    /// A unit of work begins: nothing held for the store yet, its first revision is taken from
    /// the store, and the windows and categories kept are trusted once it was.
    pub fn begin_unit(&mut self) {
        self.audits.clear();
        self.pending = Pending::default();
        self.unit_rev = None;
        self.config_checked = false;
    }

    /// The command under way is an issue from the kiosk, whose slip prints `token`: the ticket it
    /// issues is written with it (never a ticket it does not issue; nothing if it issues none).
    pub fn slip_token(&mut self, token: Option<String>) {
        self.slip_token = token;
    }

    /// A command begins.
    pub fn begin_command(&mut self) {
        self.slip_token = None;
        self.command = Some(Command {
            rev_before: None,
            rev: None,
            wrote: false,
            touched: false,
            audits_before: self.audits.len(),
        });
    }

    /// Sends the open unit's held writes to the store in `unit`: the tickets in one multi-row
    /// statement (each with its command's revision), the pauses in one, the queue's counter once.
    /// The store writes them so that its rule of one ticket per window holds row by row whatever
    /// their order ([`QueueUnit::put_tickets`]); should it still refuse, the caller rolls the unit
    /// back as for any failed write. The audit lines stay for [`Self::take_audits`].
    pub async fn flush(&mut self, unit: &mut dyn QueueUnit) -> StoreResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let Pending { tickets, pauses, rev, .. } = std::mem::take(&mut self.pending);
        if !tickets.is_empty() {
            unit.put_tickets(&tickets).await?;
        }
        if !pauses.is_empty() {
            let pauses: Vec<(u32, Option<WindowPause>)> = pauses.into_iter().collect();
            unit.set_pauses(&pauses).await?;
        }
        if let Some(rev) = rev
            && self.unit_rev != Some(rev)
        {
            unit.set_queue_revision(rev).await?;
            self.unit_rev = Some(rev);
        }
        Ok(())
    }

    /// How the command under way, which failed (`store_failed`: the store's own error), is
    /// undone in the store.
    pub fn undo_of_failed(&self, store_failed: bool) -> Undo {
        match self.command {
            _ if store_failed => Undo::Whole,
            Some(Command { rev_before: None, wrote: false, touched: false, .. }) => Undo::Nothing,
            Some(Command { rev_before: Some(rev), wrote: false, touched: false, .. }) => Undo::GiveBack(rev),
            _ => Undo::Whole,
        }
    }

    /// The audit lines of the batch's kept commands, to write before its commit.
    pub fn take_audits(&mut self) -> Vec<AuditEntry> {
        std::mem::take(&mut self.audits)
    }

    /// The command's writes are kept (released to the batch, or committed).
    pub fn command_kept(&mut self) {
        self.command = None;
        self.slip_token = None;
    }

    /// The command's writes were undone in the store, or are not to be sent to it: so are they
    /// here (its revision given back, also to the counter the unit's end writes), or, if it had
    /// changed the memory, the memory is forgotten.
    pub fn command_undone(&mut self) {
        if let Some(c) = self.command {
            self.audits.truncate(c.audits_before);
        }
        self.slip_token = None;
        match self.command.take() {
            Some(Command { wrote: true, .. }) => self.forget(),
            Some(Command { rev_before: Some(rev), wrote: false, .. }) => {
                if let Some(d) = self.day.as_mut() {
                    d.rev = rev;
                }
                if self.unit_rev.is_some() {
                    self.pending.rev = Some(rev);
                }
            }
            _ => {}
        }
    }

    /// The open unit was rolled back (or dropped) without its end: nothing it held is sent, and
    /// the next unit takes its first revision from the store.
    pub fn unit_rolled_back(&mut self) {
        self.pending = Pending::default();
        self.unit_rev = None;
        self.config_checked = false;
    }

    /// The memory, seen through the open unit `unit` for a command of `today`.
    pub fn over<'a>(&'a mut self, unit: &'a mut dyn QueueUnit, today: NaiveDate) -> DayUnit<'a> {
        DayUnit { unit, mem: self, today }
    }

    fn wrote(&mut self) {
        if let Some(c) = self.command.as_mut() {
            c.wrote = true;
        }
    }

    /// The command is about to write to the store (not its revision).
    fn touched(&mut self) {
        if let Some(c) = self.command.as_mut() {
            c.touched = true;
        }
    }
}

/// A unit of work whose queue questions about `today` are answered from memory; every write goes
/// to the store and, once it succeeded, to the memory.
pub struct DayUnit<'a> {
    unit: &'a mut dyn QueueUnit,
    mem: &'a mut DayQueue,
    today: NaiveDate,
}

impl DayUnit<'_> {
    /// Sends the held writes before the store is asked anything (see the module's comment).
    async fn flush(&mut self) -> StoreResult<()> {
        self.mem.flush(&mut *self.unit).await
    }

    /// Writes `ticket` (`new`: inserted) to the memory, and holds it for the unit's end with
    /// the command's revision (and, when the command issues it, its slip's token); without one
    /// (not a command of [`super::queue`]) it goes to the store at once, after what is held.
    async fn put_ticket(&mut self, ticket: &Ticket, new: bool) -> StoreResult<()> {
        self.mem.touched();
        match self.command_rev() {
            Some(rev) => {
                let status_token = if new { self.mem.slip_token.take() } else { None };
                self.mem.pending.put(ticket.clone(), rev, status_token);
            }
            None if new && self.mem.slip_token.is_some() => {
                // Only a command that took its revision issues a ticket (`queue::command_in`): a
                // slip whose token was not stored would print a dead code, so it is refused.
                tracing::error!(ticket = %ticket.id, "a kiosk slip's token came with a ticket written outside a queue command");
                return Err(sqlx::Error::RowNotFound.into());
            }
            None => {
                self.flush().await?;
                if new {
                    self.unit.insert_ticket(ticket).await?;
                } else {
                    self.unit.save_ticket(ticket).await?;
                }
            }
        }
        if let Some(d) = self.day_mut(ticket.day) {
            d.put(ticket.clone());
            self.mem.wrote();
        }
        Ok(())
    }

    /// The revision of the command under way, once it took one.
    fn command_rev(&self) -> Option<u64> {
        self.mem.command.and_then(|c| c.rev)
    }

    fn day(&self, day: NaiveDate) -> Option<&Day> {
        self.mem.day.as_ref().filter(|d| d.day == day)
    }

    fn day_mut(&mut self, day: NaiveDate) -> Option<&mut Day> {
        self.mem.day.as_mut().filter(|d| d.day == day)
    }
}

#[async_trait]
impl QueueUnit for DayUnit<'_> {
    async fn next_queue_revision(&mut self) -> StoreResult<QueueRevision> {
        // A later command of the unit: the queue's lock is held since the unit's first revision
        // was taken from the store, so the next one is the memory's, written at the unit's end.
        let today = self.today;
        if self.mem.unit_rev.is_some()
            && let Some(d) = self.mem.day.as_mut().filter(|d| d.day == today)
        {
            let rev = d.rev + 1;
            d.rev = rev;
            self.mem.pending.rev = Some(rev);
            if let Some(c) = self.mem.command.as_mut() {
                c.rev_before = Some(rev - 1);
                c.rev = Some(rev);
            }
            let config_rev = self.mem.config_rev.unwrap_or_default();
            return Ok(QueueRevision { rev, config_rev });
        }
        if let Err(e) = self.flush().await {
            self.mem.forget();
            return Err(e);
        }
        let QueueRevision { rev, config_rev } = match self.unit.next_queue_revision().await {
            Ok(taken) => taken,
            Err(e) => {
                self.mem.forget();
                return Err(e);
            }
        };
        // The windows and categories kept are those of this unit only if no write of them
        // committed since they were read (see the module's comment).
        if self.mem.config_rev != Some(config_rev) {
            if self.mem.windows.is_some() || self.mem.categories.is_some() {
                tracing::debug!(from = ?self.mem.config_rev, to = config_rev, "windows or categories changed: read again");
            }
            self.mem.windows = None;
            self.mem.categories = None;
            self.mem.config_rev = Some(config_rev);
        }
        self.mem.config_checked = true;
        let before = rev.saturating_sub(1);
        let held = self.mem.day.as_ref().filter(|d| d.day == self.today).map(|d| d.rev);
        match held {
            Some(at) if at == before => {}
            Some(at) if at < before => {
                // Another process committed the revisions after `at`: every ticket row they wrote
                // carries its revision, so the rows with a later one are all that changed. Read
                // them (and the pauses, a handful of rows) in this unit, under the queue's lock.
                let read = match self.unit.day_tickets_since(self.today, at).await {
                    Ok(changed) => self.unit.pauses().await.map(|pauses| (changed, pauses)),
                    Err(e) => Err(e),
                };
                let (changed, pauses) = match read {
                    Ok(read) => read,
                    Err(e) => {
                        self.mem.forget();
                        return Err(e);
                    }
                };
                self.mem.catch_ups += 1;
                tracing::debug!(day = %self.today, from = at, to = before, tickets = changed.len(), "queue day caught up in memory");
                if let Some(d) = self.mem.day.as_mut() {
                    for t in changed {
                        d.put(t);
                    }
                    d.pauses = pauses.into_iter().collect();
                    // Whether past days' leftovers are all voided is asked of the store again.
                    d.clear_before = None;
                }
            }
            _ => {
                // A new day, nothing held yet, or a memory ahead of the store: read the day again
                // in this unit, where the queue's lock holds it still.
                self.mem.day = None;
                let tickets = self.unit.day_tickets(self.today).await?;
                let pauses = self.unit.pauses().await?;
                self.mem.loads += 1;
                tracing::debug!(day = %self.today, rev = before, tickets = tickets.len(), "queue day loaded into memory");
                self.mem.day = Some(Day::new(self.today, before, tickets, pauses));
            }
        }
        if let Some(c) = self.mem.command.as_mut() {
            c.rev_before = Some(before);
            c.rev = Some(rev);
        }
        if let Some(d) = self.mem.day.as_mut() {
            d.rev = rev;
        }
        self.mem.unit_rev = Some(rev);
        Ok(QueueRevision { rev, config_rev })
    }

    async fn set_queue_revision(&mut self, rev: u64) -> StoreResult<()> {
        self.flush().await?;
        self.unit.set_queue_revision(rev).await?;
        self.mem.unit_rev = Some(rev);
        Ok(())
    }

    /// Held for the batch's one statement ([`DayQueue::take_audits`]), written before it commits.
    async fn append_audit(&mut self, entry: &AuditEntry) -> StoreResult<()> {
        self.mem.audits.push(entry.clone());
        Ok(())
    }

    async fn append_audits(&mut self, entries: &[AuditEntry]) -> StoreResult<()> {
        self.mem.audits.extend_from_slice(entries);
        Ok(())
    }

    async fn window(&mut self, number: u32) -> StoreResult<Option<Window>> {
        if !self.mem.config_checked {
            // No configuration revision taken in this unit: nothing kept may answer, nor be kept.
            self.flush().await?;
            return self.unit.window(number).await;
        }
        if self.mem.windows.is_none() {
            self.flush().await?;
            let all = self.unit.queue_windows().await?;
            self.mem.windows = Some(all.into_iter().map(|w| (w.number, w)).collect());
            self.mem.config_reads += 1;
        }
        Ok(self.mem.windows.as_ref().and_then(|all| all.get(&number)).cloned())
    }

    async fn category_exists(&mut self, letter: char) -> StoreResult<bool> {
        if !self.mem.config_checked {
            self.flush().await?;
            return self.unit.category_exists(letter).await;
        }
        if self.mem.categories.is_none() {
            self.flush().await?;
            self.mem.categories = Some(self.unit.category_letters().await?);
            self.mem.config_reads += 1;
        }
        Ok(self.mem.categories.as_ref().is_some_and(|all| all.contains(&letter)))
    }

    async fn queue_windows(&mut self) -> StoreResult<Vec<Window>> {
        self.flush().await?;
        self.unit.queue_windows().await
    }

    async fn category_letters(&mut self) -> StoreResult<Vec<char>> {
        self.flush().await?;
        self.unit.category_letters().await
    }

    async fn ticket(&mut self, day: NaiveDate, number: TicketNumber) -> StoreResult<Option<Ticket>> {
        match self.day(day) {
            Some(d) => Ok(d.by_number.get(&number).and_then(|id| d.get(id)).cloned()),
            None => {
                self.flush().await?;
                self.unit.ticket(day, number).await
            }
        }
    }

    async fn ticket_at_window(&mut self, window: u32) -> StoreResult<Option<Ticket>> {
        // Past days' tickets at a window are voided before any command decides (and then none
        // is left: `clear_before`); a later day's ticket is never at a window.
        let today = self.today;
        match self.day(today) {
            Some(d) if d.clear_before.is_some_and(|c| c >= today) => {
                Ok(d.at_window.get(&window).and_then(|id| d.get(id)).cloned())
            }
            _ => {
                self.flush().await?;
                self.unit.ticket_at_window(window).await
            }
        }
    }

    async fn waiting_for(
        &mut self,
        day: NaiveDate,
        window: &Window,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<Ticket>> {
        match self.day(day) {
            Some(d) => Ok(d.waiting_for(window, now, limit)),
            None => {
                self.flush().await?;
                self.unit.waiting_for(day, window, now, limit).await
            }
        }
    }

    async fn day_tickets(&mut self, day: NaiveDate) -> StoreResult<Vec<Ticket>> {
        match self.day(day) {
            Some(d) => Ok(d.tickets.clone()),
            None => {
                self.flush().await?;
                self.unit.day_tickets(day).await
            }
        }
    }

    async fn day_tickets_since(&mut self, day: NaiveDate, rev: u64) -> StoreResult<Vec<Ticket>> {
        self.flush().await?;
        self.unit.day_tickets_since(day, rev).await
    }

    async fn pauses(&mut self) -> StoreResult<Vec<(u32, WindowPause)>> {
        match self.mem.day.as_ref() {
            Some(d) => Ok(d.pauses.iter().map(|(w, p)| (*w, p.clone())).collect()),
            None => {
                self.flush().await?;
                self.unit.pauses().await
            }
        }
    }

    async fn in_play_before(&mut self, day: NaiveDate) -> StoreResult<Vec<Ticket>> {
        if self.mem.day.as_ref().is_some_and(|d| d.clear_before.is_some_and(|c| c >= day)) {
            return Ok(Vec::new());
        }
        self.flush().await?;
        let found = self.unit.in_play_before(day).await?;
        if found.is_empty()
            && let Some(d) = self.mem.day.as_mut()
        {
            d.clear_before = Some(d.clear_before.map_or(day, |c| c.max(day)));
        }
        Ok(found)
    }

    async fn last_seq(&mut self, day: NaiveDate, letter: char) -> StoreResult<u32> {
        match self.day(day) {
            Some(d) => Ok(d.last_seq.get(&letter).copied().unwrap_or(0)),
            None => {
                self.flush().await?;
                self.unit.last_seq(day, letter).await
            }
        }
    }

    /// Held for the unit's end with the command's revision (sent at once if it has none).
    async fn insert_ticket(&mut self, ticket: &Ticket) -> StoreResult<()> {
        self.put_ticket(ticket, true).await
    }

    /// Held for the unit's end with the command's revision (sent at once if it has none).
    async fn save_ticket(&mut self, ticket: &Ticket) -> StoreResult<()> {
        self.put_ticket(ticket, false).await
    }

    async fn put_tickets(&mut self, tickets: &[TicketWrite]) -> StoreResult<()> {
        self.flush().await?;
        self.mem.touched();
        self.unit.put_tickets(tickets).await?;
        for TicketWrite { ticket, .. } in tickets {
            if let Some(d) = self.day_mut(ticket.day) {
                d.put(ticket.clone());
                self.mem.wrote();
            }
        }
        Ok(())
    }

    async fn pause(&mut self, window: u32) -> StoreResult<Option<WindowPause>> {
        match self.mem.day.as_ref() {
            Some(d) => Ok(d.pauses.get(&window).cloned()),
            None => {
                self.flush().await?;
                self.unit.pause(window).await
            }
        }
    }

    /// Held for the unit's end when the unit has taken its revision (sent at once otherwise).
    async fn set_pause(&mut self, window: u32, pause: Option<&WindowPause>) -> StoreResult<()> {
        self.mem.touched();
        if self.mem.unit_rev.is_some() {
            self.mem.pending.pauses.insert(window, pause.cloned());
        } else {
            self.flush().await?;
            self.unit.set_pause(window, pause).await?;
        }
        if let Some(d) = self.mem.day.as_mut() {
            match pause {
                Some(p) => d.pauses.insert(window, p.clone()),
                None => d.pauses.remove(&window),
            };
            self.mem.wrote();
        }
        Ok(())
    }

    async fn set_pauses(&mut self, pauses: &[(u32, Option<WindowPause>)]) -> StoreResult<()> {
        for (window, pause) in pauses {
            self.set_pause(*window, pause.as_ref()).await?;
        }
        Ok(())
    }

    async fn slot_plans(&mut self) -> StoreResult<Vec<SlotPlan>> {
        self.flush().await?;
        self.unit.slot_plans().await
    }

    async fn replace_slot_plans(&mut self, category: char, plans: &[SlotPlan]) -> StoreResult<()> {
        self.mem.touched();
        self.flush().await?;
        self.unit.replace_slot_plans(category, plans).await
    }

    async fn booked_in_slot(&mut self, category: char, slot_start: DateTime<Utc>) -> StoreResult<u32> {
        self.flush().await?;
        self.unit.booked_in_slot(category, slot_start).await
    }

    async fn booking_code_taken(&mut self, day: NaiveDate, code: &str) -> StoreResult<bool> {
        self.flush().await?;
        self.unit.booking_code_taken(day, code).await
    }

    async fn insert_booking(&mut self, t: &Ticket, code: &str, phone: Option<&str>) -> StoreResult<()> {
        self.mem.touched();
        self.flush().await?;
        self.unit.insert_booking(t, code, phone).await
    }

    async fn bookings_of(&mut self, day: NaiveDate, find: BookingKey<'_>) -> StoreResult<Vec<Ticket>> {
        self.flush().await?;
        self.unit.bookings_of(day, find).await
    }
}
