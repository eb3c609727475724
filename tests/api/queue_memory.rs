//! The queue's day in memory (`server::service::day_queue`) when another process writes the same
//! queue: two stores on one database (two SQLite handles on one file, two pools on one PostgreSQL
//! database), each with its own memory, as two `bianmin serve` processes have. Each commits in
//! turn; the other's next command must see exactly the committed state (no ticket called twice,
//! the line in order, pauses honoured), catching up by the tickets written since its revision
//! rather than reading the whole day again. PostgreSQL skips without one (`tests/common/postgres.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use bianmin::domain::queue::TicketRequest;
use bianmin::domain::ticket::{Priority, Ticket, TicketNumber, TicketStatus};
use bianmin::server::service::day_queue::DayQueue;
use bianmin::server::service::queue::{Queued, queue_batch};
use bianmin::server::store::repo::Lock;
use bianmin::server::store::{self, QueueCommand, QueueError, Store};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// One "process": its store handle (a pool of its own) and its memory of the day.
struct Process {
    store: Arc<dyn Store>,
    day: DayQueue,
}

/// The server's clock, one second further at every reading (so the line's order is the order
/// of issue), and movable to another day.
struct Clock(AtomicI64);

impl Clock {
    fn new() -> Self {
        Self(AtomicI64::new(DateTime::from_timestamp(1_780_000_000, 0).unwrap().timestamp_millis()))
    }
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0.fetch_add(1_000, Ordering::SeqCst)).unwrap()
    }
    fn peek(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0.load(Ordering::SeqCst)).unwrap()
    }
    fn next_day(&self) {
        self.0.fetch_add(TimeDelta::days(1).num_milliseconds(), Ordering::SeqCst);
    }
    fn today(&self) -> NaiveDate {
        bianmin::domain::time::china_date(self.peek())
    }
}

async fn two_processes(url: &str) -> (Process, Process) {
    let a = store::open(url).await.unwrap();
    a.seed(&bianmin::server::seed::bundled_seed().unwrap()).await.unwrap();
    let b = store::open(url).await.unwrap();
    (Process { store: a, day: DayQueue::default() }, Process { store: b, day: DayQueue::default() })
}

fn issue(letter: char) -> Queued {
    let request =
        TicketRequest { category: letter, priority: Priority::Normal, guide_code: None, note: None, slot: None };
    Queued { command: QueueCommand::Issue(request), by: "d001".into(), note: None, status_token: None }
}

fn at(window: u32, command: fn(u32) -> QueueCommand) -> Queued {
    Queued { command: command(window), by: format!("s00{window}"), note: None, status_token: None }
}

fn call_next(window: u32) -> QueueCommand {
    QueueCommand::CallNext { window }
}

fn finish(window: u32) -> QueueCommand {
    QueueCommand::Finish { window }
}

fn sorted(mut tickets: Vec<Ticket>) -> Vec<Ticket> {
    tickets.sort_by_key(|t| t.id);
    tickets
}

impl Process {
    /// Runs `batch` in one unit (one command: a unit of its own; more: savepoints and one commit),
    /// then checks that the memory is exactly what the store committed.
    async fn run(&mut self, clock: &Clock, batch: &[Queued]) -> Vec<Result<Ticket, QueueError>> {
        let results = queue_batch(self.store.as_ref(), batch, &|| clock.now(), &mut self.day).await;
        let committed = self.store.queue_day_tickets(clock.today()).await.unwrap();
        let rev = self.store.queue_revision().await.unwrap();
        let held = self.day.tickets_at(clock.today(), rev).map(<[Ticket]>::to_vec);
        assert_eq!(
            held.map(sorted),
            Some(sorted(committed)),
            "the memory holds the day exactly as committed, at the store's revision {rev}"
        );
        results.into_iter().map(|r| r.map(|c| c.ticket.expect("a ticket command carries its ticket"))).collect()
    }

    async fn one(&mut self, clock: &Clock, queued: Queued) -> Result<Ticket, QueueError> {
        self.run(clock, &[queued]).await.pop().unwrap()
    }
}

fn number(letter: char, seq: u32) -> TicketNumber {
    TicketNumber { category: letter, seq }
}

/// Two processes take turns issuing, calling and finishing on one queue: every call takes the
/// head of the line as the other process left it, no ticket is called twice, a pause set by
/// one holds on the other, and after its first load each memory only ever catches up.
pub async fn each_sees_what_the_other_committed(url: &str) {
    let clock = Clock::new();
    let (mut a, mut b) = two_processes(url).await;
    // Issued in turn: A001..A012 (windows 1 and 2 both take A).
    for i in 0..12 {
        let p = if i % 2 == 0 { &mut a } else { &mut b };
        let t = p.one(&clock, issue('A')).await.unwrap();
        assert_eq!(t.number, number('A', i + 1), "numbers are gapless across the two processes");
    }
    // Window 1 on A, window 2 on B, in turn; now and then a batch of two.
    let mut called = Vec::new();
    for round in 0..5u32 {
        let t = a.one(&clock, at(1, call_next)).await.unwrap();
        called.push(t.number);
        let t = b.one(&clock, at(2, call_next)).await.unwrap();
        called.push(t.number);
        if round % 2 == 0 {
            let done = a.run(&clock, &[at(1, finish), at(2, finish)]).await;
            assert!(done.iter().all(Result::is_ok), "both windows finish in one batch: {done:?}");
        } else {
            b.one(&clock, at(1, finish)).await.unwrap();
            a.one(&clock, at(2, finish)).await.unwrap();
        }
    }
    let expected: Vec<TicketNumber> = (1..=10).map(|s| number('A', s)).collect();
    assert_eq!(called, expected, "each call took the head of the line as the other process left it");

    // A pause set through B refuses a call through A; resumed through A, B calls.
    let pause = Queued {
        command: QueueCommand::Pause { window: 1, reason: "午休".into() },
        by: "s001".into(),
        note: None,
        status_token: None,
    };
    let paused = queue_batch(b.store.as_ref(), &[pause], &|| clock.now(), &mut b.day).await;
    assert!(paused[0].is_ok(), "{paused:?}");
    match a.one(&clock, at(1, call_next)).await {
        Err(QueueError::WindowPaused(reason)) => assert_eq!(reason, "午休"),
        other => panic!("a window paused on the other process is paused here too: {other:?}"),
    }
    let resume =
        Queued { command: QueueCommand::Resume { window: 1 }, by: "s001".into(), note: None, status_token: None };
    let resumed = queue_batch(a.store.as_ref(), &[resume], &|| clock.now(), &mut a.day).await;
    assert!(resumed[0].is_ok(), "{resumed:?}");
    let t = b.one(&clock, at(1, call_next)).await.unwrap();
    assert_eq!(t.number, number('A', 11));

    let day = a.store.queue_day_tickets(clock.today()).await.unwrap();
    assert_eq!(day.iter().filter(|t| t.status == TicketStatus::Done).count(), 10);
    assert_eq!(day.iter().filter(|t| t.status == TicketStatus::Waiting).count(), 1);
    for p in [&a, &b] {
        assert_eq!(p.day.loads(), 1, "after its first load a memory is never read whole again");
        assert!(p.day.catch_ups() >= 5, "it caught up with the other's commits: {}", p.day.catch_ups());
    }
}

/// A memory several revisions behind catches up by what was written since; a memory of an earlier
/// day loads the new day whole (past leftovers voided, numbers from 001 again).
pub async fn a_memory_far_behind_or_of_another_day_catches_up(url: &str) {
    let clock = Clock::new();
    let (mut a, mut b) = two_processes(url).await;
    for _ in 0..3 {
        a.one(&clock, issue('A')).await.unwrap();
    }
    // B runs many commands while A looks away: issues, calls, a finish, a second window.
    for _ in 0..5 {
        b.one(&clock, issue('B')).await.unwrap();
    }
    b.one(&clock, at(1, call_next)).await.unwrap();
    b.one(&clock, at(1, finish)).await.unwrap();
    b.one(&clock, at(2, call_next)).await.unwrap();
    let (_, behind) = a.day.held().unwrap();
    assert_eq!(a.store.queue_revision().await.unwrap() - behind, 8, "A's memory is 8 revisions behind");
    // Window 1 takes A001 (B called it and finished), window 2 holds A002: A calls A003 at 1.
    let t = a.one(&clock, at(1, call_next)).await.unwrap();
    assert_eq!(t.number, number('A', 3));
    match a.one(&clock, at(2, call_next)).await {
        Err(QueueError::WindowBusy(n)) => assert_eq!(n, number('A', 2)),
        other => panic!("window 2 holds what B called there: {other:?}"),
    }
    assert_eq!((a.day.loads(), a.day.catch_ups()), (1, 1), "one catch-up, no second load");

    // The next day: B issues first (numbers start again, yesterday's leftovers are voided), then
    // A, whose memory holds yesterday, loads the new day whole.
    let yesterday = clock.today();
    clock.next_day();
    assert_eq!(b.one(&clock, issue('B')).await.unwrap().number, number('B', 1));
    assert_eq!(a.one(&clock, issue('B')).await.unwrap().number, number('B', 2));
    assert_eq!(a.day.loads(), 2, "a new day is loaded whole");
    let left = a.store.queue_day_tickets(yesterday).await.unwrap();
    assert!(left.iter().all(|t| !t.status.is_in_play()), "yesterday's tickets are out of play: {left:?}");
    // Window 1 (A on the new day) is free again: A calls B001, issued by B today.
    let t = a.one(&clock, at(1, call_next)).await.unwrap();
    assert_eq!(t.number, number('B', 1));
}

/// A batch whose commands are refused between kept ones, with no savepoint per command: each
/// refused command gives back its revision (the kept ones' revisions follow each other, no gap),
/// the kept ones are committed with exactly one audit line each, and the other process sees it all.
pub async fn refused_commands_in_a_batch_give_back_their_revision(url: &str) {
    let clock = Clock::new();
    let (mut a, mut b) = two_processes(url).await;
    b.one(&clock, issue('A')).await.unwrap();
    let rev_before = a.store.queue_revision().await.unwrap();
    let trail_before = a.store.audit_trail(1_000, None).await.unwrap().len();
    let batch = [
        issue('A'),
        at(3, call_next), // window 3 takes C: none waits (after its revision)
        at(1, call_next), // A001
        issue('Z'),       // no such category (after its revision)
        at(4, finish),    // nothing at window 4
        at(2, call_next), // A002
    ];
    let results = queue_batch(a.store.as_ref(), &batch, &|| clock.now(), &mut a.day).await;
    let kept: Vec<u64> = results.iter().filter_map(|r| r.as_ref().ok().map(|c| c.rev)).collect();
    assert_eq!(kept, vec![rev_before + 1, rev_before + 2, rev_before + 3], "{results:?}");
    assert!(matches!(results[1], Err(QueueError::QueueEmpty)), "{:?}", results[1]);
    assert!(matches!(results[3], Err(QueueError::Invalid(_))), "{:?}", results[3]);
    assert!(matches!(results[4], Err(QueueError::NothingAtWindow(4))), "{:?}", results[4]);
    assert_eq!(a.store.queue_revision().await.unwrap(), rev_before + 3, "the refused ones gave back their revision");
    let trail = a.store.audit_trail(1_000, None).await.unwrap();
    assert_eq!(trail.len() - trail_before, 3, "one audit line per kept command: {:?}", &trail[..3]);
    // The other process catches up with the batch and goes on from it.
    let t = b.one(&clock, at(1, finish)).await.unwrap();
    assert_eq!(t.number, number('A', 1));
    assert_eq!(b.store.queue_revision().await.unwrap(), rev_before + 4);
    let committed = b.store.queue_day_tickets(clock.today()).await.unwrap();
    let called: Vec<TicketNumber> =
        committed.iter().filter(|t| t.status == TicketStatus::Called).map(|t| t.number).collect();
    assert_eq!(called, vec![number('A', 2)]);
}

/// A batch whose writes are held in memory and sent at its end (a few multi-row statements):
/// issues, calls, finishes, a pause and a resume on one window and a pause on another, refusals
/// between them (one of
/// which asks the store mid-batch, so what was held so far is sent then), and a ticket arriving at
/// a window in the same batch as the one leaving it. After it the store holds exactly what the
/// memory holds, each write once (revisions gapless up to the counter, one audit line per kept
/// command), the ticket rows carry their commands' revisions (the other process catches up from
/// them), and the batch did not fall back to one command at a time.
pub async fn a_batch_sends_its_held_writes_once(url: &str) {
    let clock = Clock::new();
    let (mut a, mut b) = two_processes(url).await;
    assert_eq!(a.one(&clock, issue('A')).await.unwrap().number, number('A', 1));
    b.one(&clock, issue('A')).await.unwrap();
    b.one(&clock, at(1, call_next)).await.unwrap(); // A001 at window 1
    b.one(&clock, at(2, call_next)).await.unwrap(); // A002 at window 2
    let rev_before = a.store.queue_revision().await.unwrap();
    let trail_before = a.store.audit_trail(1_000, None).await.unwrap().len();
    let pause = Queued {
        command: QueueCommand::Pause { window: 2, reason: "午休".into() },
        by: "s002".into(),
        note: None,
        status_token: None,
    };
    let resume =
        Queued { command: QueueCommand::Resume { window: 2 }, by: "s002".into(), note: None, status_token: None };
    let away = Queued {
        command: QueueCommand::Pause { window: 1, reason: "暂离".into() },
        by: "s001".into(),
        note: None,
        status_token: None,
    };
    let no_booking = Queued {
        command: QueueCommand::CancelBooking { day: clock.today(), code: "000000".into(), channel: None },
        by: "d001".into(),
        note: None,
        status_token: None,
    };
    let batch = [
        at(3, call_next), // refused (no C waits): the windows are read, nothing held yet
        issue('A'),       // A003, written first
        at(1, finish),    // A001 leaves window 1
        at(1, call_next), // A003 arrives there
        no_booking,       // refused after asking the store
        pause,            // window 2 paused, A002 still there
        at(2, finish),    // A002 done
        at(2, call_next), // refused: paused
        issue('A'),       // A004
        resume,           // window 2 open again
        at(2, call_next), // A004
        away,             // window 1 paused, and stays so
    ];
    let results = queue_batch(a.store.as_ref(), &batch, &|| clock.now(), &mut a.day).await;
    let kept: Vec<u64> = results.iter().filter_map(|r| r.as_ref().ok().map(|c| c.rev)).collect();
    assert_eq!(kept, (rev_before + 1..=rev_before + 9).collect::<Vec<_>>(), "{results:?}");
    assert!(matches!(results[0], Err(QueueError::QueueEmpty)), "{:?}", results[0]);
    assert!(matches!(results[4], Err(QueueError::BookingNotFound)), "{:?}", results[4]);
    assert!(matches!(results[7], Err(QueueError::WindowPaused(_))), "{:?}", results[7]);
    let numbers: Vec<Option<TicketNumber>> =
        results.iter().map(|r| r.as_ref().ok().and_then(|c| c.ticket.as_ref().map(|t| t.number))).collect();
    assert_eq!(numbers[3], Some(number('A', 3)));
    assert_eq!(numbers[10], Some(number('A', 4)));
    assert_eq!(a.store.queue_revision().await.unwrap(), rev_before + 9, "the counter is the batch's last revision");
    let trail = a.store.audit_trail(1_000, None).await.unwrap();
    assert_eq!(trail.len() - trail_before, 9, "one audit line per kept command");
    let committed = a.store.queue_day_tickets(clock.today()).await.unwrap();
    assert_eq!(
        a.day.tickets_at(clock.today(), rev_before + 9).map(<[Ticket]>::to_vec).map(sorted),
        Some(sorted(committed.clone())),
        "the store holds what the memory holds"
    );
    assert_eq!((a.day.loads(), a.day.catch_ups()), (1, 1), "caught up once, never fell back to one at a time");
    let snapshot = a.store.queue_snapshot(clock.today()).await.unwrap();
    let paused: Vec<(u32, String)> =
        snapshot.windows.iter().filter_map(|w| w.paused.as_ref().map(|p| (w.window, p.reason.clone()))).collect();
    assert_eq!(paused, vec![(1, "暂离".to_owned())], "window 2's resume and window 1's pause were stored");
    let state = |n: u32| committed.iter().find(|t| t.number == number('A', n)).map(|t| (t.status, t.window));
    assert_eq!(state(1), Some((TicketStatus::Done, Some(1))));
    assert_eq!(state(2), Some((TicketStatus::Done, Some(2))));
    assert_eq!(state(3), Some((TicketStatus::Called, Some(1))));
    assert_eq!(state(4), Some((TicketStatus::Called, Some(2))));

    // B's memory stands before the batch: it catches up by the rows' revisions alone.
    assert_eq!(b.one(&clock, at(1, finish)).await.unwrap().number, number('A', 3));
    match b.one(&clock, at(2, call_next)).await {
        Err(QueueError::WindowBusy(n)) => assert_eq!(n, number('A', 4)),
        other => panic!("window 2 holds A004 from A's batch: {other:?}"),
    }
    match b.one(&clock, at(1, call_next)).await {
        Err(QueueError::WindowPaused(reason)) => assert_eq!(reason, "暂离"),
        other => panic!("window 1 was paused in A's batch: {other:?}"),
    }
    assert_eq!(b.day.loads(), 1, "B caught up, it did not load the day again");
}

/// The kiosk's slips: an issue carrying its slip's status-page token commits the token with
/// the ticket, in the batch's one unit (or a single command's), never in a write of its own
/// after; a refused issue writes none; the other process reads the committed tokens.
pub async fn a_slips_token_is_committed_with_its_ticket(url: &str) {
    let clock = Clock::new();
    let (mut a, b) = two_processes(url).await;
    let slip = |letter: char, token: &str| Queued { status_token: Some(token.into()), ..issue(letter) };
    let first = a.one(&clock, slip('A', "token-first")).await.unwrap();
    let batch =
        [slip('B', "token-second"), slip('Z', "token-refused"), at(1, call_next), issue('A'), slip('A', "token-third")];
    let results = a.run(&clock, &batch).await;
    assert!(matches!(results[1], Err(QueueError::Invalid(_))), "no line Z: {:?}", results[1]);
    let numbers: Vec<Option<TicketNumber>> = results.iter().map(|r| r.as_ref().ok().map(|t| t.number)).collect();
    assert_eq!(numbers, [Some(number('B', 1)), None, Some(number('A', 1)), Some(number('A', 2)), Some(number('A', 3))]);
    assert_eq!((a.day.loads(), a.day.catch_ups()), (1, 0), "committed as one batch, never one at a time");
    let token = |n: TicketNumber| {
        let store = b.store.clone();
        let day = clock.today();
        async move { store.ticket_with_status_token(day, n).await.unwrap().map(|(t, token)| (t.number, token)) }
    };
    assert_eq!(token(first.number).await, Some((number('A', 1), "token-first".to_owned())));
    assert_eq!(token(number('B', 1)).await, Some((number('B', 1), "token-second".to_owned())));
    assert_eq!(token(number('A', 2)).await, None, "an issue without a slip has no token");
    assert_eq!(token(number('A', 3)).await, Some((number('A', 3), "token-third".to_owned())));
}

/// Two tickets arriving at windows in one batch, the first written taking the window the second
/// still holds in the store: A001 at window 1, C001 at window 3; in the batch C001 sent on to
/// window 1 (its row written first), A001 sent on to window 2, window 1 calls C001, window 2 calls
/// A001. Whatever the order of the rows, the store's rule of one ticket per window holds and the
/// batch commits as one (no fall back to one command at a time, which loads the day again).
pub async fn a_batch_moving_a_ticket_off_a_window_another_takes_commits_whole(url: &str) {
    let clock = Clock::new();
    let (mut a, _) = two_processes(url).await;
    a.one(&clock, issue('A')).await.unwrap();
    a.one(&clock, issue('C')).await.unwrap();
    assert_eq!(a.one(&clock, at(1, call_next)).await.unwrap().number, number('A', 1));
    assert_eq!(a.one(&clock, at(3, call_next)).await.unwrap().number, number('C', 1));
    let rev_before = a.store.queue_revision().await.unwrap();
    let send = |from: u32, to: u32| Queued {
        command: QueueCommand::Transfer { window: from, category: None, to_window: Some(to) },
        by: format!("s00{from}"),
        note: None,
        status_token: None,
    };
    let batch = [send(3, 1), send(1, 2), at(1, call_next), at(2, call_next)];
    let results = a.run(&clock, &batch).await;
    let numbers: Vec<TicketNumber> = results.iter().map(|r| r.as_ref().unwrap().number).collect();
    assert_eq!(numbers, [number('C', 1), number('A', 1), number('C', 1), number('A', 1)]);
    assert_eq!(a.store.queue_revision().await.unwrap(), rev_before + 4);
    assert_eq!((a.day.loads(), a.day.catch_ups()), (1, 0), "committed as one batch, never one at a time");
    let committed = a.store.queue_day_tickets(clock.today()).await.unwrap();
    let state = |n: TicketNumber| committed.iter().find(|t| t.number == n).map(|t| (t.status, t.window));
    assert_eq!(state(number('A', 1)), Some((TicketStatus::Called, Some(2))));
    assert_eq!(state(number('C', 1)), Some((TicketStatus::Called, Some(1))));
}

/// Two windows swap their tickets in one batch (A001 at window 1, A002 at window 2): no order of
/// the rows keeps one ticket per window row by row, yet the batch commits as one.
pub async fn a_batch_swapping_two_windows_tickets_commits_whole(url: &str) {
    let clock = Clock::new();
    let (mut a, _) = two_processes(url).await;
    a.one(&clock, issue('A')).await.unwrap();
    a.one(&clock, issue('A')).await.unwrap();
    assert_eq!(a.one(&clock, at(1, call_next)).await.unwrap().number, number('A', 1));
    assert_eq!(a.one(&clock, at(2, call_next)).await.unwrap().number, number('A', 2));
    let send = |from: u32, to: u32| Queued {
        command: QueueCommand::Transfer { window: from, category: None, to_window: Some(to) },
        by: format!("s00{from}"),
        note: None,
        status_token: None,
    };
    let batch = [send(1, 2), send(2, 1), at(1, call_next), at(2, call_next)];
    let results = a.run(&clock, &batch).await;
    let numbers: Vec<TicketNumber> = results.iter().map(|r| r.as_ref().unwrap().number).collect();
    assert_eq!(numbers, [number('A', 1), number('A', 2), number('A', 2), number('A', 1)]);
    assert_eq!((a.day.loads(), a.day.catch_ups()), (1, 0), "committed as one batch, never one at a time");
    let committed = a.store.queue_day_tickets(clock.today()).await.unwrap();
    let state = |n: u32| committed.iter().find(|t| t.number == number('A', n)).map(|t| (t.status, t.window));
    assert_eq!(state(1), Some((TicketStatus::Called, Some(2))));
    assert_eq!(state(2), Some((TicketStatus::Called, Some(1))));
}

/// A hand-written statement on the database `url`, as an admin's tool or an import would write:
/// nothing of the server's code runs with it.
async fn by_hand(url: &str, sql: &str) {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        assert_eq!(sqlx::query(sql).execute(&pool).await.unwrap().rows_affected(), 1, "{sql}");
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        assert_eq!(sqlx::query(sql).execute(&pool).await.unwrap().rows_affected(), 1, "{sql}");
        pool.close().await;
    }
}

/// Gives window `number` these categories through the store's own roster write (a unit of the
/// duty's lock, as `bianmin admin roster` and the roster route write a window).
async fn set_categories(store: &dyn Store, number: u32, categories: &[char]) {
    let mut window = store.windows().await.unwrap().into_iter().find(|w| w.number == number).unwrap();
    window.categories = categories.to_vec();
    let mut unit = store.begin(Lock::Duty).await.unwrap();
    unit.save_window(&window).await.unwrap();
    unit.commit().await.unwrap();
}

/// Each memory keeps the windows and categories across its units, read once while nothing
/// changes them; a change of a window's categories or a new category, committed by a writer that
/// knows nothing of the queue's memory (the store's roster write, a hand-written statement), is
/// seen by each process's very next command. The store's triggers are what tell them: without
/// them each process would go on calling by the windows and categories it read first.
pub async fn a_change_of_windows_or_categories_is_seen_by_the_next_command(url: &str) {
    let clock = Clock::new();
    let (mut a, mut b) = two_processes(url).await;
    a.one(&clock, issue('A')).await.unwrap();
    b.one(&clock, issue('B')).await.unwrap();
    a.one(&clock, issue('C')).await.unwrap();
    assert!(matches!(a.one(&clock, issue('G')).await, Err(QueueError::Invalid(_))), "no G category yet");
    assert!(matches!(b.one(&clock, issue('G')).await, Err(QueueError::Invalid(_))), "no G category yet");
    assert_eq!(a.one(&clock, at(1, call_next)).await.unwrap().number, number('A', 1));
    a.one(&clock, at(1, finish)).await.unwrap();
    assert_eq!(b.one(&clock, at(2, call_next)).await.unwrap().number, number('B', 1));
    b.one(&clock, at(2, finish)).await.unwrap();
    // Nothing changed them: not read again, however many units.
    let (reads_a, reads_b) = (a.day.config_reads(), b.day.config_reads());
    assert!(matches!(a.one(&clock, at(1, call_next)).await, Err(QueueError::QueueEmpty)), "C is not window 1's");
    assert!(matches!(b.one(&clock, at(2, call_next)).await, Err(QueueError::QueueEmpty)), "C is not window 2's");
    assert_eq!((a.day.config_reads(), b.day.config_reads()), (reads_a, reads_b), "kept across units");

    // Window 1 now calls C, by the roster's own write: the next call on either process sees it.
    set_categories(a.store.as_ref(), 1, &['C']).await;
    assert_eq!(a.one(&clock, at(1, call_next)).await.unwrap().number, number('C', 1), "window 1 calls C now");
    a.one(&clock, at(1, finish)).await.unwrap();
    b.one(&clock, issue('C')).await.unwrap();
    assert_eq!(b.one(&clock, at(1, call_next)).await.unwrap().number, number('C', 2), "on the other process too");

    // A new category by a hand-written statement, and window 2 given it: both processes issue and
    // call it at once.
    by_hand(url, "INSERT INTO queue_categories (letter, name, center_id) SELECT 'G', '新类别', id FROM center").await;
    assert_eq!(b.one(&clock, issue('G')).await.unwrap().number, number('G', 1), "the new category is known");
    assert_eq!(a.one(&clock, issue('G')).await.unwrap().number, number('G', 2), "on the other process too");
    by_hand(
        url,
        r#"UPDATE windows SET body = REPLACE(body, '"categories":["A","B","D"]', '"categories":["G"]') WHERE window_no = 2"#,
    )
    .await;
    assert_eq!(b.one(&clock, at(2, call_next)).await.unwrap().number, number('G', 1), "window 2 calls G now");
    b.one(&clock, at(1, finish)).await.unwrap();
    // Window 1 (C only) takes no G; window 2's next G on the other process.
    assert!(matches!(a.one(&clock, at(1, call_next)).await, Err(QueueError::QueueEmpty)));
    b.one(&clock, at(2, finish)).await.unwrap();
    assert_eq!(a.one(&clock, at(2, call_next)).await.unwrap().number, number('G', 2), "on the other process too");
}

/// Each check above on SQLite (two handles on one file) and on PostgreSQL (two pools on one
/// database; skipped without one, see `tests/common/postgres.rs`).
macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {$(
        mod $check {
            #[tokio::test]
            async fn on_sqlite() {
                let dir = tempfile::tempdir().unwrap();
                super::$check(&bianmin::config::sqlite_url(&dir.path().join("q.db"))).await;
            }

            #[tokio::test]
            async fn on_postgres() {
                let Some(db) = crate::common::postgres::TempPgDatabase::create().await else { return };
                super::$check(&db.url).await;
            }
        }
    )*};
}

on_both_backends!(
    each_sees_what_the_other_committed,
    a_memory_far_behind_or_of_another_day_catches_up,
    refused_commands_in_a_batch_give_back_their_revision,
    a_slips_token_is_committed_with_its_ticket,
    a_batch_sends_its_held_writes_once,
    a_batch_swapping_two_windows_tickets_commits_whole,
    a_batch_moving_a_ticket_off_a_window_another_takes_commits_whole,
    a_change_of_windows_or_categories_is_seen_by_the_next_command,
);
