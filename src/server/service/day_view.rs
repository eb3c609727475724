//! The queue's day as committed, published for the routes that only read it (the evaluator's
//! `facing`, the slip's and the status page's place in line, the figures, the board, the
//! clerk's presence, the snapshot): a read answered from memory, not by reading and decoding
//! every ticket of the day from the store again.
//!
//! The queue's writer (the task holding the queue's turn, see [`super::day_queue`]) publishes a
//! view after each batch, and only after the batch's commit: the view is built from the changes
//! the batch committed applied to the view before it (their revisions following on without a
//! gap), else afresh from the turn's memory at the revision the batch left it at. A batch that
//! failed (its memory forgotten) publishes no view and withdraws the one before. Readers never
//! take the queue's turn: a published view is immutable (`Arc<DayView>`, its tickets
//! `Arc<Ticket>`, so publishing the next one copies pointers, not tickets).
//!
//! A view is trusted only while it is provably the store's committed state:
//! - its revision is at least the store's current queue revision, read before the view is taken
//!   (one single-row read). Every committed queue command bumps that revision, whichever process
//!   (or SQLite file user) made it, a committed revision never goes back, and a view is published
//!   only after its batch committed; so a view at that revision or later is a state the store
//!   committed while the route was running (a later one: this process's next batch, committed
//!   and published meanwhile). Otherwise (another process committed, or this one's newer batch
//!   is committed and its view not yet out) the route reads the store as it always did;
//! - it answers only for its own day (the day of the batch's commands); any other day reads the
//!   store;
//! - it holds the queue's own state only (tickets and window pauses). Windows, categories, duty
//!   and staff are an admin's, changed without the queue's revision: routes read them from the
//!   store as before. One exception: a view the turn published may carry the windows its batch's
//!   unit had up to its commit ([`DayView::windows`]), which the queue's memory trusts by the
//!   center's configuration revision (see [`super::day_queue`]); they are the windows at the
//!   view's revision, and a view moved on by another process's change drops them.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;
use uuid::Uuid;

use crate::api::queue::{QueueChange, QueueSnapshot, WindowPause, WindowQueueState};
use crate::domain::center::Window;
use crate::domain::queue as rules;
use crate::domain::ticket::{Ticket, TicketStatus};

/// One day of the queue at one committed revision (see the module's comment).
#[derive(Debug, Clone)]
pub struct DayView {
    day: NaiveDate,
    rev: u64,
    tickets: Vec<Arc<Ticket>>,
    index: HashMap<Uuid, usize>,
    /// The waiting line, in the rule's order (positions in `tickets`).
    waiting: BTreeMap<rules::Rank, usize>,
    /// The ticket called to or in service at each window.
    at_window: HashMap<u32, usize>,
    /// The ticket finished last at each window.
    finished: HashMap<u32, usize>,
    pauses: BTreeMap<u32, WindowPause>,
    /// The center's windows in number order at this revision, when the turn knew them (see the
    /// module's comment); `None`: read them from the store.
    windows: Option<Arc<[Window]>>,
    /// The center's configuration revision at this revision, when the turn knew it.
    config_rev: Option<u64>,
}

impl DayView {
    /// The view of `day` at revision `rev`, from every ticket of that day and the windows' pauses.
    pub fn new<T: Borrow<Ticket>>(
        day: NaiveDate,
        rev: u64,
        tickets: &[T],
        pauses: impl IntoIterator<Item = (u32, WindowPause)>,
    ) -> Self {
        let mut view = Self {
            day,
            rev,
            tickets: Vec::with_capacity(tickets.len()),
            index: HashMap::with_capacity(tickets.len()),
            waiting: BTreeMap::new(),
            at_window: HashMap::new(),
            finished: HashMap::new(),
            pauses: pauses.into_iter().collect(),
            windows: None,
            config_rev: None,
        };
        for t in tickets {
            view.put(Arc::new(t.borrow().clone()));
        }
        view
    }

    pub fn day(&self) -> NaiveDate {
        self.day
    }

    pub fn rev(&self) -> u64 {
        self.rev
    }

    /// The center's windows in number order at this view's revision, if the view carries them.
    pub fn windows(&self) -> Option<&[Window]> {
        self.windows.as_deref()
    }

    /// The center's configuration revision at this view's revision, if the view carries it.
    pub fn config_rev(&self) -> Option<u64> {
        self.config_rev
    }

    /// Gives the view the center's configuration revision and windows (number order) as they
    /// were at its revision.
    pub fn set_config(&mut self, config_rev: Option<u64>, windows: Option<Vec<Window>>) {
        self.config_rev = config_rev;
        self.windows = windows.map(Arc::from);
    }

    /// Every ticket of the day.
    pub fn tickets(&self) -> &[Arc<Ticket>] {
        &self.tickets
    }

    pub fn ticket(&self, id: &Uuid) -> Option<&Ticket> {
        self.index.get(id).and_then(|&i| self.tickets.get(i)).map(|t| &**t)
    }

    /// The ticket called to or in service at `window`.
    pub fn at_window(&self, window: u32) -> Option<&Ticket> {
        self.at_window.get(&window).and_then(|&i| self.tickets.get(i)).map(|t| &**t)
    }

    /// The ticket finished last at `window` today.
    pub fn finished_last(&self, window: u32) -> Option<&Ticket> {
        self.finished.get(&window).and_then(|&i| self.tickets.get(i)).map(|t| &**t)
    }

    /// People before `ticket` in its line: the waiting tickets of its category sent to the same
    /// window (or to none), in the order they will be called. All of them when it is not waiting.
    pub fn ahead_of(&self, ticket: &Ticket) -> u32 {
        let mut ahead = 0;
        for &i in self.waiting.values() {
            let Some(t) = self.tickets.get(i) else { continue };
            if t.id == ticket.id {
                break;
            }
            if t.category == ticket.category && t.target_window == ticket.target_window {
                ahead += 1;
            }
        }
        ahead
    }

    /// Paused windows and their pause.
    pub fn pauses(&self) -> impl Iterator<Item = (u32, &WindowPause)> {
        self.pauses.iter().map(|(w, p)| (*w, p))
    }

    /// The day's tickets still in play, in the order they would be called (the snapshot's).
    pub fn in_play(&self) -> Vec<Ticket> {
        let mut tickets: Vec<Ticket> =
            self.tickets.iter().filter(|t| t.status.is_in_play()).map(|t| (**t).clone()).collect();
        tickets.sort_by_key(rules::rank);
        tickets
    }

    /// The queue's snapshot at this revision, for the center's windows `windows` (numbers in
    /// order; the windows are the admin's, read from the store).
    pub fn snapshot(&self, windows: &[u32]) -> QueueSnapshot {
        QueueSnapshot {
            rev: self.rev,
            day: self.day,
            tickets: self.in_play(),
            done: self.tickets.iter().filter(|t| t.status == TicketStatus::Done).count() as u32,
            windows: windows
                .iter()
                .map(|&window| WindowQueueState { window, paused: self.pauses.get(&window).cloned() })
                .collect(),
        }
    }

    /// Applies one committed change, which must be the next revision and made on the view's day
    /// (the first command of a new day also voids the past days' tickets, which no change
    /// carries); `false` (and the view left as it was) when it is not.
    pub fn apply(&mut self, change: &QueueChange) -> bool {
        if change.rev != self.rev + 1 || crate::domain::time::china_date(change.at) != self.day {
            return false;
        }
        self.rev = change.rev;
        // The windows at the new revision are not known here (an admin may have changed them).
        self.windows = None;
        self.config_rev = None;
        if let Some(t) = change.ticket.as_ref().filter(|t| t.day == self.day) {
            self.put(Arc::new(t.clone()));
        }
        if let Some(state) = &change.window_state {
            match &state.paused {
                Some(p) => self.pauses.insert(state.window, p.clone()),
                None => self.pauses.remove(&state.window),
            };
        }
        true
    }

    /// Stores `t` (new, or replacing the ticket with its id) and keeps every index in step.
    fn put(&mut self, t: Arc<Ticket>) {
        let at = self.index.get(&t.id).copied();
        let mut recount = None;
        if let Some(i) = at
            && let Some(old) = self.tickets.get(i)
        {
            self.waiting.remove(&rules::rank(old));
            if let Some(w) = old.window {
                if self.at_window.get(&w) == Some(&i) {
                    self.at_window.remove(&w);
                }
                if self.finished.get(&w) == Some(&i) {
                    self.finished.remove(&w);
                    recount = Some(w);
                }
            }
        }
        let i = match at {
            Some(i) => {
                self.tickets[i] = t;
                i
            }
            None => {
                self.index.insert(t.id, self.tickets.len());
                self.tickets.push(t);
                self.tickets.len() - 1
            }
        };
        let t = &self.tickets[i];
        if t.status == TicketStatus::Waiting {
            self.waiting.insert(rules::rank(t), i);
        }
        if let Some(w) = t.window {
            if t.status.is_at_window() {
                self.at_window.insert(w, i);
            }
            if t.status == TicketStatus::Done {
                self.note_finished(w, i);
            }
        }
        if let Some(w) = recount {
            // The window's last finished ticket is no longer finished there (not a step the rules
            // allow today): find the one before it.
            for j in 0..self.tickets.len() {
                if self.tickets[j].window == Some(w) && self.tickets[j].status == TicketStatus::Done {
                    self.note_finished(w, j);
                }
            }
        }
    }

    /// Keeps ticket `i` as `window`'s last finished if it finished no earlier than the one kept.
    fn note_finished(&mut self, window: u32, i: usize) {
        let finished_at = self.tickets[i].finished_at;
        match self.finished.get(&window).and_then(|&k| self.tickets.get(k)) {
            Some(kept) if kept.finished_at > finished_at => {}
            _ => {
                self.finished.insert(window, i);
            }
        }
    }
}

/// Today's tickets for a read: the committed view, or (when none is trusted) as read from the
/// store.
pub enum DayTickets {
    View(Arc<DayView>),
    Read(Vec<Ticket>),
}

impl DayTickets {
    /// The ticket at `window` now, and the one finished there last.
    pub fn latest_at(&self, window: u32) -> (Option<&Ticket>, Option<&Ticket>) {
        match self {
            Self::View(v) => (v.at_window(window), v.finished_last(window)),
            Self::Read(tickets) => {
                let current = tickets.iter().find(|t| t.window == Some(window) && t.status.is_at_window());
                let finished = tickets
                    .iter()
                    .filter(|t| t.window == Some(window) && t.status == TicketStatus::Done)
                    .max_by_key(|t| t.finished_at);
                (current, finished)
            }
        }
    }

    pub fn ticket(&self, id: &Uuid) -> Option<&Ticket> {
        match self {
            Self::View(v) => v.ticket(id),
            Self::Read(tickets) => tickets.iter().find(|t| t.id == *id),
        }
    }

    /// The figures of the day ([`crate::domain::queue_stats::day_stats`]).
    pub fn stats(
        &self,
        window: Option<u32>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> crate::domain::queue_stats::DayStats {
        use crate::domain::queue_stats::day_stats;
        match self {
            Self::View(v) => day_stats(v.tickets(), window, now),
            Self::Read(tickets) => day_stats(tickets, window, now),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta, Utc};

    use super::*;
    use crate::domain::queue::{Step, TicketRequest};
    use crate::domain::queue_stats::day_stats;
    use crate::domain::ticket::{Priority, TicketNumber};
    use crate::domain::time::china_date;

    fn at(minutes: i64) -> DateTime<Utc> {
        "2026-03-02T01:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(minutes)
    }

    /// The turn's side: every ticket of the day as the store holds it, and the changes made.
    struct Day {
        tickets: Vec<Ticket>,
        pauses: BTreeMap<u32, WindowPause>,
        rev: u64,
        changes: Vec<QueueChange>,
    }

    impl Day {
        fn change(&mut self, now: DateTime<Utc>, ticket: Option<Ticket>, window_state: Option<WindowQueueState>) {
            self.rev += 1;
            if let Some(t) = &ticket {
                match self.tickets.iter_mut().find(|x| x.id == t.id) {
                    Some(x) => *x = t.clone(),
                    None => self.tickets.push(t.clone()),
                }
            }
            if let Some(s) = &window_state {
                match &s.paused {
                    Some(p) => self.pauses.insert(s.window, p.clone()),
                    None => self.pauses.remove(&s.window),
                };
            }
            let action = ticket.as_ref().and_then(|t| t.history.last()).map_or(
                if window_state.as_ref().is_some_and(|s| s.paused.is_some()) {
                    crate::domain::ticket::QueueAction::Paused
                } else {
                    crate::domain::ticket::QueueAction::Resumed
                },
                |e| e.action,
            );
            self.changes.push(QueueChange {
                rev: self.rev,
                at: now,
                action,
                by: "s001".into(),
                window: None,
                ticket,
                window_state,
            });
        }

        fn issue(&mut self, letter: char, seq: u32, green: bool, now: DateTime<Utc>) -> Ticket {
            let request = TicketRequest {
                category: letter,
                priority: if green {
                    Priority::Green(crate::domain::ticket::GreenReason::Elderly)
                } else {
                    Priority::Normal
                },
                guide_code: None,
                note: None,
                slot: None,
            };
            let number = TicketNumber { category: letter, seq };
            let t = rules::issue(Uuid::now_v7(), number, &request, "d001", now);
            self.change(now, Some(t.clone()), None);
            t
        }

        fn step(&mut self, t: &Ticket, step: Step, now: DateTime<Utc>) -> Ticket {
            let current = self.tickets.iter().find(|x| x.id == t.id).unwrap().clone();
            let next = rules::apply(&current, &step, "s001", now, None).unwrap();
            self.change(now, Some(next.clone()), None);
            next
        }

        fn fresh(&self) -> DayView {
            DayView::new(china_date(at(0)), self.rev, &self.tickets, self.pauses.clone())
        }
    }

    /// What a reader can see of a view, to compare one kept by changes with one built afresh.
    fn seen(v: &DayView, windows: &[u32], probes: &[Ticket], now: DateTime<Utc>) -> String {
        let mut tickets: Vec<Ticket> = v.tickets().iter().map(|t| (**t).clone()).collect();
        tickets.sort_by_key(|t| t.id);
        let per_window: Vec<_> = windows
            .iter()
            .map(|&w| {
                (
                    w,
                    v.at_window(w).map(|t| t.number),
                    v.finished_last(w).map(|t| t.number),
                    day_stats(v.tickets(), Some(w), now),
                )
            })
            .collect();
        let ahead: Vec<u32> = probes.iter().map(|p| v.ahead_of(p)).collect();
        format!("{:?}", (v.rev(), tickets, per_window, ahead, v.snapshot(windows), day_stats(v.tickets(), None, now)))
    }

    #[test]
    fn a_view_kept_by_its_changes_is_the_view_built_afresh_after_every_kind_of_change() {
        let mut day = Day { tickets: Vec::new(), pauses: BTreeMap::new(), rev: 0, changes: Vec::new() };
        let windows = [1, 2, 3];
        let mut kept = day.fresh();
        let mut probes = Vec::new();
        let check = |day: &mut Day, kept: &mut DayView, probes: &[Ticket], now| {
            for change in std::mem::take(&mut day.changes) {
                assert!(kept.apply(&change), "revision {} follows on", change.rev);
            }
            assert_eq!(seen(kept, &windows, probes, now), seen(&day.fresh(), &windows, probes, now));
        };
        let a1 = day.issue('A', 1, false, at(1));
        let a2 = day.issue('A', 2, false, at(2));
        let b1 = day.issue('B', 1, false, at(3));
        let a3 = day.issue('A', 3, true, at(4));
        probes.extend([a1.clone(), a2.clone(), b1.clone(), a3.clone()]);
        check(&mut day, &mut kept, &probes, at(5));
        assert_eq!(kept.ahead_of(&a2), 2, "the green ticket and A001 are before A002");
        assert_eq!(kept.ahead_of(&b1), 0);
        let called = day.step(&a3, Step::Call { window: 1 }, at(6));
        check(&mut day, &mut kept, &probes, at(6));
        assert_eq!(kept.at_window(1).map(|t| t.id), Some(called.id));
        let started = day.step(&called, Step::Start { window: 1 }, at(7));
        day.step(&started, Step::Finish { window: 1 }, at(9));
        check(&mut day, &mut kept, &probes, at(9));
        assert_eq!(kept.at_window(1), None);
        assert_eq!(kept.finished_last(1).map(|t| t.id), Some(a3.id));
        let a1c = day.step(&a1, Step::Call { window: 2 }, at(10));
        let a1n = day.step(&a1c, Step::NoShow { window: 2 }, at(11));
        check(&mut day, &mut kept, &probes, at(11));
        let a1r = day.step(&a1n, Step::Return, at(12));
        let b1c = day.step(&b1, Step::Call { window: 3 }, at(13));
        let b1s = day.step(&b1c, Step::Start { window: 3 }, at(14));
        day.step(&b1s, Step::Transfer { window: 3, category: 'A', to_window: Some(2) }, at(15));
        check(&mut day, &mut kept, &probes, at(15));
        let a2c = day.step(&a2, Step::Call { window: 1 }, at(16));
        let a2s = day.step(&a2c, Step::Start { window: 1 }, at(17));
        day.step(&a2s, Step::Park { window: 1 }, at(18));
        day.step(&a1r, Step::Call { window: 1 }, at(19));
        let now = at(20);
        day.change(
            now,
            None,
            Some(WindowQueueState {
                window: 2,
                paused: Some(WindowPause { reason: "午休".into(), since: now, by: "s002".into() }),
            }),
        );
        check(&mut day, &mut kept, &probes, at(20));
        assert!(kept.pauses().any(|(w, _)| w == 2));
        day.change(at(21), None, Some(WindowQueueState { window: 2, paused: None }));
        check(&mut day, &mut kept, &probes, at(21));
        assert_eq!(kept.pauses().count(), 0);
    }

    #[test]
    fn a_change_that_does_not_follow_on_is_refused_and_changes_nothing() {
        let mut day = Day { tickets: Vec::new(), pauses: BTreeMap::new(), rev: 4, changes: Vec::new() };
        let mut view = day.fresh();
        day.rev += 1; // committed elsewhere: this view never saw it
        day.issue('A', 1, false, at(1));
        let change = day.changes.pop().unwrap();
        assert_eq!(change.rev, 6);
        assert!(!view.apply(&change));
        assert_eq!(view.rev(), 4);
        assert!(view.tickets().is_empty());
    }
}
