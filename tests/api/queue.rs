//! The live queue against the real server over HTTP: many windows calling at once (one server,
//! a multi-threaded server, several server processes on one database), the flows at a window,
//! the daily reset with an injected clock, the live feed, catch-up, and who may do what.

use crate::common;
use common::feed::{first_snapshot, next_event};

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bianmin::api::queue::{IssueTicket, QueueChange, QueueEvent, TransferTicket, WalkInTicket};
use bianmin::api::{PROBLEM_CONTENT_TYPE, Problem, WindowOverview};
use bianmin::client::queue::QueueFeed;
use bianmin::client::{ApiClient, ClientError};
use bianmin::domain::center::{Window, WindowKind};
use bianmin::domain::ticket::{GreenReason, QueueAction, Ticket, TicketNumber, TicketStatus};
use chrono::{DateTime, Utc};
use common::server::{TestServer, signed_in_client};
use reqwest::StatusCode;

/// 2026-03-02 09:00 China time, a Monday morning.
const MORNING: &str = "2026-03-02T01:00:00Z";

fn set_clock(s: &TestServer, at: &str) {
    s.clock.0.store(at.parse::<DateTime<Utc>>().unwrap().timestamp(), Ordering::SeqCst);
}

fn advance(s: &TestServer, seconds: i64) {
    s.clock.0.fetch_add(seconds, Ordering::SeqCst);
}

fn num(text: &str) -> TicketNumber {
    text.parse().unwrap()
}

fn ticket(change: QueueChange) -> Ticket {
    change.ticket.expect("the change carries the ticket")
}

fn code(result: Result<QueueChange, ClientError>) -> String {
    match result {
        Ok(change) => panic!("expected a refusal, got {change:?}"),
        Err(e) => e.problem_code().unwrap_or_else(|| panic!("expected a problem, got {e:?}")).to_owned(),
    }
}

/// A clock set to the morning, and signed-in clients by staff id.
async fn morning() -> TestServer {
    let s = TestServer::start().await;
    set_clock(&s, MORNING);
    s
}

async fn issue(c: &ApiClient, category: char) -> Ticket {
    ticket(c.issue_ticket(&IssueTicket::new(category)).await.unwrap())
}

async fn issue_green(c: &ApiClient, category: char) -> Ticket {
    let request = IssueTicket { green: Some(GreenReason::Elderly), ..IssueTicket::new(category) };
    ticket(c.issue_ticket(&request).await.unwrap())
}

/// Adds windows `numbers` (calling from every category) straight into the database.
async fn add_windows(s: &TestServer, numbers: std::ops::RangeInclusive<u32>) {
    add_windows_to(&s.db_url, numbers).await;
}

/// As [`add_windows`], to the database at `db_url`.
pub async fn add_windows_to(db_url: &str, numbers: std::ops::RangeInclusive<u32>) {
    if db_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(db_url).await.unwrap();
        for w in numbers.map(test_window) {
            sqlx::query("INSERT INTO windows (window_no, body, center_id) VALUES ($1, $2, (SELECT id FROM center))")
                .bind(i64::from(w.number))
                .bind(serde_json::to_string(&w).unwrap())
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
        return;
    }
    let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
    for w in numbers.map(test_window) {
        sqlx::query("INSERT INTO windows (window_no, body, center_id) VALUES (?, ?, (SELECT id FROM center))")
            .bind(i64::from(w.number))
            .bind(serde_json::to_string(&w).unwrap())
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
}

/// A window calling from every category.
fn test_window(number: u32) -> Window {
    Window {
        number,
        name: format!("测试{number}号窗"),
        kind: WindowKind::ComprehensiveAcceptance,
        a_holder: "s001".into(),
        b_holder: "s002".into(),
        categories: vec!['A', 'B', 'C', 'D', 'E', 'F'],
    }
}

/// Issues `n` tickets over the six categories, every fifth one green.
async fn issue_many(c: &ApiClient, n: usize) -> HashSet<uuid::Uuid> {
    let mut ids = HashSet::new();
    for i in 0..n {
        let category = ['A', 'B', 'C', 'D', 'E', 'F'][i % 6];
        let t = if i % 5 == 0 { issue_green(c, category).await } else { issue(c, category).await };
        assert!(ids.insert(t.id));
    }
    ids
}

/// Each window a task: call next and finish, until nothing is left for it. Returns the ids
/// served, in any order.
async fn serve_all(clients: Vec<(ApiClient, u32)>) -> Vec<uuid::Uuid> {
    let mut tasks = Vec::new();
    for (client, window) in clients {
        tasks.push(tokio::spawn(async move {
            let mut served = Vec::new();
            loop {
                match client.call_next(window).await {
                    Ok(change) => {
                        let t = ticket(change);
                        assert_eq!((t.status, t.window), (TicketStatus::Called, Some(window)));
                        served.push(t.id);
                        let done = ticket(client.finish_service(window).await.unwrap());
                        assert_eq!((done.id, done.status), (t.id, TicketStatus::Done));
                    }
                    Err(e) if e.problem_code() == Some("queue_empty") => break,
                    Err(e) => panic!("window {window}: {e:?}"),
                }
            }
            served
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

fn assert_each_once(issued: &HashSet<uuid::Uuid>, served: &[uuid::Uuid]) {
    let unique: HashSet<_> = served.iter().copied().collect();
    assert_eq!(unique.len(), served.len(), "a ticket was served twice");
    assert_eq!(&unique, issued, "a ticket was lost");
}

async fn concurrent_windows(windows: u32, tickets: usize) {
    concurrent_windows_on(TestServer::start().await, windows, tickets).await;
}

/// Also run on PostgreSQL (`on_postgres`).
pub async fn concurrent_windows_on(s: TestServer, windows: u32, tickets: usize) {
    add_windows(&s, 7..=windows).await;
    let admin = signed_in_client(&s.base, "admin").await;
    let issued = issue_many(&admin, tickets).await;
    let clients = (1..=windows).map(|w| (admin.clone(), w)).collect();
    let started = Instant::now();
    let served = serve_all(clients).await;
    eprintln!("{tickets} tickets over {windows} windows in {:?}", started.elapsed());
    assert_each_once(&issued, &served);
    let snapshot = admin.queue().await.unwrap();
    assert_eq!((snapshot.tickets.len(), snapshot.done as usize), (0, tickets));
    s.stop().await;
}

#[tokio::test]
async fn twenty_windows_calling_at_once_serve_every_ticket_exactly_once() {
    concurrent_windows(20, 300).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_on_a_multi_threaded_server() {
    concurrent_windows(20, 300).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_server_processes_on_one_database_never_share_a_ticket() {
    several_servers_on_one_database_never_share_a_ticket(TestServer::start().await).await;
}

/// Three servers, each with its own connection pool and its own turn: only the database keeps
/// them apart (SQLite's write transaction, PostgreSQL's advisory lock). Also run on PostgreSQL
/// (`on_postgres`).
pub async fn several_servers_on_one_database_never_share_a_ticket(first: TestServer) {
    add_windows(&first, 7..=18).await;
    let others = [TestServer::start_on(&first.db_url).await, TestServer::start_on(&first.db_url).await];
    let servers = [&first, &others[0], &others[1]];
    let mut clients = Vec::new();
    for s in servers {
        clients.push(signed_in_client(&s.base, "admin").await);
    }
    let issued = issue_many(&clients[0], 240).await;
    let windows = (1..=18).map(|w| (clients[w as usize % 3].clone(), w)).collect();
    let served = serve_all(windows).await;
    assert_each_once(&issued, &served);
    for s in others {
        s.stop().await;
    }
    first.stop().await;
}

#[tokio::test]
async fn green_channel_goes_first_but_cannot_starve_a_normal_ticket() {
    let s = morning().await;
    let desk = signed_in_client(&s.base, "d001").await;
    let clerk = signed_in_client(&s.base, "s001").await;
    let normal = issue(&desk, 'A').await;
    advance(&s, 60);
    let green = issue_green(&desk, 'A').await;
    assert_eq!(ticket(clerk.call_next(1).await.unwrap()).number, green.number, "green jumps a recent normal");
    clerk.finish_service(1).await.unwrap();
    // The normal ticket has now waited longer than the head start: a new green one queues behind.
    advance(&s, 11 * 60);
    let late_green = issue_green(&desk, 'B').await;
    assert_eq!(ticket(clerk.call_next(1).await.unwrap()).number, normal.number);
    clerk.finish_service(1).await.unwrap();
    assert_eq!(ticket(clerk.call_next(1).await.unwrap()).number, late_green.number);
    s.stop().await;
}

#[tokio::test]
async fn appointments_are_called_in_their_slot_once_checked_in() {
    let s = morning().await;
    let desk = signed_in_client(&s.base, "d001").await;
    let clerk = signed_in_client(&s.base, "s001").await;
    let t0: DateTime<Utc> = MORNING.parse().unwrap();
    // Booked the one way there is: the admin's slot (09:30-10:00 China time), the appointments route.
    let admin = signed_in_client(&s.base, "admin").await;
    let t = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
    let plan = bianmin::domain::appointment::SlotPlan { category: 'A', start: t(9, 30), end: t(10, 0), capacity: 2 };
    admin.set_appointment_slots('A', &bianmin::api::queue::SlotPlans { slots: vec![plan] }).await.unwrap();
    let book = bianmin::api::queue::BookAppointment {
        category: 'A',
        slot_start: t0 + chrono::TimeDelta::minutes(30),
        phone: None,
        note: None,
    };
    let booked = ticket(desk.book_appointment(&book).await.unwrap().change);
    assert_eq!((booked.number, booked.status), (num("A001"), TicketStatus::Booked));
    let absent = ticket(desk.book_appointment(&book).await.unwrap().change);
    let early = issue(&desk, 'A').await;
    advance(&s, 5 * 60);
    let arrived = ticket(desk.check_in(booked.number).await.unwrap());
    assert_eq!(arrived.status, TicketStatus::Waiting);
    assert!(arrived.appointment.unwrap().checked_in);
    // Before its slot the appointment is not called, even by an idle window.
    advance(&s, 5 * 60);
    assert_eq!(ticket(clerk.call_next(1).await.unwrap()).number, early.number);
    clerk.finish_service(1).await.unwrap();
    assert_eq!(code(clerk.call_next(1).await), "queue_empty");
    let waiting = issue(&desk, 'A').await;
    // In its slot it goes before someone who has waited twenty minutes.
    s.clock.0.store((t0 + chrono::TimeDelta::minutes(30)).timestamp(), Ordering::SeqCst);
    assert_eq!(ticket(clerk.call_next(1).await.unwrap()).number, booked.number);
    clerk.finish_service(1).await.unwrap();
    assert_eq!(ticket(clerk.call_next(1).await.unwrap()).number, waiting.number);
    clerk.finish_service(1).await.unwrap();
    // Booked but never arrived: not in the line.
    assert_eq!(absent.status, TicketStatus::Booked);
    assert_eq!(code(clerk.call_next(1).await), "queue_empty");
    assert_eq!(code(desk.check_in(early.number).await), "invalid_transition");
    s.stop().await;
}

#[tokio::test]
async fn a_transfer_keeps_the_number() {
    let s = morning().await;
    let desk = signed_in_client(&s.base, "d001").await;
    let (w1, w2, w3, w4) = (
        signed_in_client(&s.base, "s001").await,
        signed_in_client(&s.base, "s003").await,
        signed_in_client(&s.base, "s004").await,
        signed_in_client(&s.base, "s005").await,
    );
    let a1 = issue(&desk, 'A').await;
    advance(&s, 60);
    let c1 = issue(&desk, 'C').await;
    w1.call_next(1).await.unwrap();
    w1.start_service(1).await.unwrap();
    let to_c = TransferTicket { category: Some('C'), window: None, note: Some("需出件".into()) };
    let moved = ticket(w1.transfer(1, &to_c).await.unwrap());
    assert_eq!((moved.number, moved.category, moved.status), (a1.number, 'C', TicketStatus::Waiting));
    assert_eq!(code(w1.call_next(1).await), "queue_empty", "it left window 1's categories");
    // It keeps the place it had from its issue: ahead of C001, issued a minute later.
    let at3 = ticket(w3.call_next(3).await.unwrap());
    assert_eq!(at3.number, a1.number);
    let actions: Vec<_> = at3.history.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [QueueAction::Issued, QueueAction::Called, QueueAction::Started, QueueAction::Transferred, QueueAction::Called]
    );
    // To one window: window 2 also calls D, but only window 4 may have it.
    let to_4 = TransferTicket { category: Some('D'), window: Some(4), note: None };
    let moved = ticket(w3.transfer(3, &to_4).await.unwrap());
    assert_eq!((moved.target_window, moved.category), (Some(4), 'D'));
    assert_eq!(code(w2.call_next(2).await), "queue_empty");
    assert_eq!(code(w2.call_number(2, a1.number).await), "invalid_transition");
    assert_eq!(ticket(w4.call_next(4).await.unwrap()).number, a1.number);
    assert_eq!(ticket(w3.call_next(3).await.unwrap()).number, c1.number);
    let nowhere = TransferTicket::default();
    assert_eq!(code(w3.transfer(3, &nowhere).await), "validation_failed");
    let no_window = TransferTicket { window: Some(99), ..TransferTicket::default() };
    assert_eq!(code(w3.transfer(3, &no_window).await), "validation_failed");
    s.stop().await;
}

#[tokio::test]
async fn park_and_call_back() {
    let s = morning().await;
    let desk = signed_in_client(&s.base, "d001").await;
    let w1 = signed_in_client(&s.base, "s001").await;
    let w2 = signed_in_client(&s.base, "s003").await;
    let a1 = issue(&desk, 'A').await;
    let a2 = issue(&desk, 'A').await;
    w1.call_next(1).await.unwrap();
    w1.start_service(1).await.unwrap();
    let parked = ticket(w1.park(1, Some("回家取户口本")).await.unwrap());
    assert_eq!((parked.status, parked.window), (TicketStatus::Parked, Some(1)));
    assert_eq!(parked.history.last().unwrap().note.as_deref(), Some("回家取户口本"));
    assert_eq!(ticket(w1.call_next(1).await.unwrap()).number, a2.number, "a parked ticket is not called next");
    assert_eq!(code(w1.call_back(1, a1.number).await), "window_busy");
    w1.finish_service(1).await.unwrap();
    assert_eq!(code(w2.call_back(2, a1.number).await), "invalid_transition", "only the window that parked it");
    let back = ticket(w1.call_back(1, a1.number).await.unwrap());
    assert_eq!((back.status, back.window), (TicketStatus::Called, Some(1)));
    w1.start_service(1).await.unwrap();
    assert_eq!(ticket(w1.finish_service(1).await.unwrap()).status, TicketStatus::Done);
    s.stop().await;
}

#[tokio::test]
async fn no_show_and_return_to_the_line() {
    let s = morning().await;
    let desk = signed_in_client(&s.base, "d001").await;
    let w1 = signed_in_client(&s.base, "s001").await;
    let a1 = issue(&desk, 'A').await;
    let a2 = issue(&desk, 'A').await;
    w1.call_next(1).await.unwrap();
    w1.recall(1).await.unwrap();
    assert_eq!(ticket(w1.recall(1).await.unwrap()).recalls, 2, "重呼 is counted");
    let missed = ticket(w1.no_show(1).await.unwrap());
    assert_eq!((missed.status, missed.window, missed.no_shows), (TicketStatus::NoShow, None, 1));
    assert_eq!(ticket(w1.call_next(1).await.unwrap()).number, a2.number);
    w1.finish_service(1).await.unwrap();
    assert_eq!(code(w1.call_next(1).await), "queue_empty", "a no-show is not called again by itself");
    let back = ticket(desk.return_ticket(a1.number).await.unwrap());
    assert_eq!(back.status, TicketStatus::Waiting);
    assert_eq!(ticket(w1.call_next(1).await.unwrap()).number, a1.number);
    w1.no_show(1).await.unwrap();
    // A no-show can also be called by number when the applicant turns up at the window.
    assert_eq!(ticket(w1.call_number(1, a1.number).await.unwrap()).status, TicketStatus::Called);
    assert_eq!(code(desk.return_ticket(a1.number).await), "invalid_transition");
    assert_eq!(code(w1.call_number(1, num("A099")).await), "window_busy");
    w1.finish_service(1).await.unwrap();
    assert_eq!(code(w1.call_number(1, num("A099")).await), "ticket_not_found");
    assert_eq!(code(w1.recall(1).await), "no_ticket_at_window");
    s.stop().await;
}

#[tokio::test]
async fn a_paused_window_refuses_to_call_until_resumed() {
    let s = morning().await;
    let desk = signed_in_client(&s.base, "d001").await;
    let w1 = signed_in_client(&s.base, "s001").await;
    let a1 = issue(&desk, 'A').await;
    assert_eq!(code(w1.pause_window(1, "  ").await), "validation_failed");
    let paused = w1.pause_window(1, "午休").await.unwrap();
    assert_eq!(paused.action, QueueAction::Paused);
    assert_eq!(paused.window_state.unwrap().paused.unwrap().reason, "午休");
    assert_eq!(code(w1.call_next(1).await), "window_paused");
    assert_eq!(code(w1.call_number(1, a1.number).await), "window_paused");
    assert_eq!(code(w1.walk_in(1, &WalkInTicket::default()).await), "window_paused");
    let snapshot = w1.queue().await.unwrap();
    assert_eq!(snapshot.windows.iter().find(|w| w.window == 1).unwrap().paused.as_ref().unwrap().by, "s001");
    assert!(snapshot.windows.iter().find(|w| w.window == 2).unwrap().paused.is_none());
    w1.resume_window(1).await.unwrap();
    assert_eq!(code(w1.resume_window(1).await), "invalid_transition");
    assert_eq!(ticket(w1.call_next(1).await.unwrap()).number, a1.number);
    s.stop().await;
}

#[tokio::test]
async fn a_window_never_holds_two_tickets() {
    let s = morning().await;
    let desk = signed_in_client(&s.base, "d001").await;
    let w1 = signed_in_client(&s.base, "s001").await;
    issue(&desk, 'A').await;
    let a2 = issue(&desk, 'A').await;
    issue(&desk, 'B').await;
    w1.call_next(1).await.unwrap();
    assert_eq!(code(w1.call_next(1).await), "window_busy");
    assert_eq!(code(w1.call_number(1, a2.number).await), "window_busy");
    assert_eq!(code(w1.walk_in(1, &WalkInTicket::default()).await), "window_busy");
    w1.finish_service(1).await.unwrap();
    let walk_in = WalkInTicket { category: Some('B'), note: Some("咨询低保".into()) };
    let served = ticket(w1.walk_in(1, &walk_in).await.unwrap());
    assert_eq!((served.number, served.status, served.walk_in), (num("B002"), TicketStatus::Serving, true));
    assert_eq!(code(w1.call_next(1).await), "window_busy");
    let overview: WindowOverview = w1.window_overview(1).await.unwrap();
    assert_eq!(overview.current_ticket.map(|t| t.number), Some(served.number), "the overview sees the queue");
    assert_eq!(overview.waiting, 2);
    s.stop().await;
}

#[tokio::test]
async fn numbers_restart_at_midnight_china_time() {
    let s = TestServer::start().await;
    // 23:59 China time.
    set_clock(&s, "2026-03-02T15:59:00Z");
    let desk = signed_in_client(&s.base, "d001").await;
    let w1 = signed_in_client(&s.base, "s001").await;
    let late = issue(&desk, 'A').await;
    let left_over = issue(&desk, 'A').await;
    assert_eq!((late.number, left_over.number), (num("A001"), num("A002")));
    w1.call_next(1).await.unwrap();
    // Midnight in China: 16:00 UTC.
    set_clock(&s, "2026-03-02T16:00:00Z");
    let first = issue(&desk, 'A').await;
    assert_eq!((first.number, first.day.to_string().as_str()), (num("A001"), "2026-03-03"));
    let snapshot = w1.queue().await.unwrap();
    assert_eq!(snapshot.day.to_string(), "2026-03-03");
    assert_eq!(snapshot.tickets.iter().map(|t| t.id).collect::<Vec<_>>(), [first.id], "only today's tickets");
    // Yesterday's ticket left at the window was voided; it does not block the window.
    assert!(w1.window_overview(1).await.unwrap().current_ticket.is_none());
    assert_eq!(ticket(w1.call_next(1).await.unwrap()).id, first.id);
    w1.finish_service(1).await.unwrap();
    assert_eq!(code(w1.call_next(1).await), "queue_empty", "yesterday's waiting ticket is not called");
    assert_eq!(code(desk.return_ticket(num("A002")).await), "ticket_not_found", "numbers are today's");
    s.stop().await;
}

#[tokio::test]
async fn a_change_reaches_another_terminal_within_a_second() {
    let s = morning().await;
    let desk = signed_in_client(&s.base, "d001").await;
    let w1 = signed_in_client(&s.base, "s001").await;
    issue(&desk, 'A').await;
    let mut feed = w1.follow_queue(None);
    let mut mirror = first_snapshot(&mut feed, Duration::from_secs(5)).await;
    assert_eq!(mirror.tickets.len(), 1);
    let mut delays = Vec::new();
    for step in 0..6 {
        let sent = Instant::now();
        let change = match step {
            0 => desk.issue_ticket(&IssueTicket::new('B')).await,
            1 => w1.call_next(1).await,
            2 => w1.start_service(1).await,
            3 => w1.finish_service(1).await,
            4 => w1.pause_window(1, "培训").await,
            _ => w1.resume_window(1).await,
        }
        .unwrap();
        let QueueEvent::Change(seen) = next_event(&mut feed, Duration::from_secs(5)).await else {
            panic!("expected a change");
        };
        delays.push(sent.elapsed());
        assert_eq!(*seen, change, "the feed carries exactly the committed change");
        mirror.apply(&seen);
    }
    let worst = delays.iter().max().unwrap();
    eprintln!("feed delays: {delays:?}");
    assert!(*worst < Duration::from_secs(5), "generous bound; the real figure is in the bench: {worst:?}");
    let server = w1.queue().await.unwrap();
    assert_eq!(mirror, server, "snapshot plus changes is the server's queue");
    s.stop().await;
}

#[tokio::test]
async fn a_reconnecting_terminal_catches_up() {
    let s = morning().await;
    let desk = signed_in_client(&s.base, "d001").await;
    let w1 = signed_in_client(&s.base, "s001").await;
    let mut feed = w1.follow_queue(None);
    let seen = first_snapshot(&mut feed, Duration::from_secs(5)).await.rev;
    drop(feed);
    // Changes while the terminal is away.
    issue(&desk, 'A').await;
    issue(&desk, 'B').await;
    let called = ticket(w1.call_next(1).await.unwrap());
    // Reconnecting from the last revision seen: a snapshot with everything, then live changes.
    let mut feed = w1.follow_queue(Some(seen));
    let caught_up = first_snapshot(&mut feed, Duration::from_secs(5)).await;
    assert_eq!(caught_up.rev, seen + 3);
    assert_eq!(caught_up.at_window(1).map(|t| t.id), Some(called.id));
    assert_eq!(caught_up.waiting(&['A', 'B']), 1);
    drop(feed);
    // Up to date already: no snapshot, the next change comes first.
    let mut feed = w1.follow_queue(Some(caught_up.rev));
    let connected = tokio::time::timeout(Duration::from_secs(5), feed.recv()).await.unwrap();
    assert_eq!(connected, Some(QueueFeed::Connected));
    let change = w1.finish_service(1).await.unwrap();
    match next_event(&mut feed, Duration::from_secs(5)).await {
        QueueEvent::Change(c) => assert_eq!(*c, change),
        other => panic!("expected the change, got {other:?}"),
    }
    // The raw stream: Last-Event-ID from an older revision starts with a snapshot at the current one.
    let token = s.sign_in("s001").await;
    let mut r = s
        .http
        .get(s.url("/api/v1/queue/events"))
        .bearer_auth(&token)
        .header("last-event-id", seen.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), r.chunk()).await.unwrap().unwrap().unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(text.starts_with("event: snapshot\n"), "{text}");
    assert!(text.contains(&format!("\nid: {}\n", change.rev)), "{text}");
    s.stop().await;
}

#[tokio::test]
async fn stopping_the_server_ends_open_feeds() {
    stopping_the_server_ends_open_feeds_on(morning().await).await;
}

/// Also run on PostgreSQL (`on_postgres`).
pub async fn stopping_the_server_ends_open_feeds_on(s: TestServer) {
    let w1 = signed_in_client(&s.base, "s001").await;
    let mut feed = w1.follow_queue(None);
    first_snapshot(&mut feed, Duration::from_secs(5)).await;
    tokio::time::timeout(Duration::from_secs(10), s.stop()).await.expect("a graceful stop does not wait for feeds");
    match tokio::time::timeout(Duration::from_secs(5), feed.recv()).await.unwrap() {
        Some(QueueFeed::Lost(_)) => {}
        other => panic!("expected the feed to report the loss, got {other:?}"),
    }
}

async fn problem_of(r: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(r.status(), status);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with(PROBLEM_CONTENT_TYPE));
    let p: Problem = r.json().await.unwrap();
    assert_eq!(p.code, code);
    assert!(p.title.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "title is Chinese: {}", p.title);
}

#[tokio::test]
async fn only_the_windows_own_staff_operate_it() {
    let s = morning().await;
    let desk = signed_in_client(&s.base, "d001").await;
    let w1 = signed_in_client(&s.base, "s001").await;
    let b_post = signed_in_client(&s.base, "s002").await;
    let admin = signed_in_client(&s.base, "admin").await;
    issue(&desk, 'A').await;
    issue(&w1, 'B').await;
    issue(&admin, 'D').await;
    assert_eq!(code(w1.call_next(2).await), "forbidden", "a clerk of window 1 cannot call for window 2");
    assert_eq!(code(desk.call_next(1).await), "forbidden", "the guidance desk issues but does not call");
    assert_eq!(code(desk.pause_window(1, "x").await), "forbidden");
    assert_eq!(code(b_post.call_next(1).await), "forbidden", "the B post only while covering for A");
    let covering = bianmin::domain::handover::DutyState::BCovering {
        reason: bianmin::domain::handover::AwayReason::Meeting,
        expected_return: None,
    };
    b_post.put_duty(1, &covering).await.unwrap();
    assert_eq!(code(w1.call_next(1).await), "forbidden", "nor the A post while B covers: one acts at a time");
    assert_eq!(ticket(b_post.call_next(1).await.unwrap()).window, Some(1), "the B post may while covering");
    b_post.start_service(1).await.unwrap();
    b_post.finish_service(1).await.unwrap();
    b_post.put_duty(1, &bianmin::domain::handover::DutyState::AOnDuty).await.unwrap();
    assert_eq!(code(b_post.call_next(1).await), "forbidden", "handed back, B no longer calls");
    assert_eq!(ticket(w1.call_next(1).await.unwrap()).window, Some(1), "A calls again once back on duty");
    assert_eq!(ticket(admin.call_next(4).await.unwrap()).window, Some(4), "an admin may anywhere");
    assert_eq!(code(admin.call_next(99).await), "not_found");
    // Everything needs a session, the feed too.
    for (path, post) in [
        ("/api/v1/queue", false),
        ("/api/v1/queue/events", false),
        ("/api/v1/queue/tickets", true),
        ("/api/v1/windows/1/call-next", true),
        ("/api/v1/queue/tickets/A001/return", true),
    ] {
        let request = if post { s.http.post(s.url(path)) } else { s.http.get(s.url(path)) };
        problem_of(request.send().await.unwrap(), StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let token = s.sign_in("s001").await;
    let r = s.http.post(s.url("/api/v1/windows/1/park")).bearer_auth(&token).body("{oops").send().await.unwrap();
    problem_of(r, StatusCode::BAD_REQUEST, "malformed_json").await;
    let r = s.http.post(s.url("/api/v1/queue/tickets/A-1/check-in")).bearer_auth(&token).send().await.unwrap();
    problem_of(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    s.stop().await;
}

#[tokio::test]
async fn bad_requests_are_named() {
    let s = morning().await;
    let desk = signed_in_client(&s.base, "d001").await;
    assert_eq!(code(desk.issue_ticket(&IssueTicket::new('Z')).await), "validation_failed");
    assert_eq!(code(desk.issue_ticket(&IssueTicket::new('a')).await), "validation_failed");
    let long = IssueTicket { note: Some("长".repeat(101)), ..IssueTicket::new('A') };
    assert_eq!(code(desk.issue_ticket(&long).await), "validation_failed");
    let a = issue(&desk, 'A').await;
    assert_eq!(code(desk.check_in(a.number).await), "invalid_transition");
    s.stop().await;
}

/// Runs the real binary with `args` in data directory `data`, stdin closed (no terminal).
async fn bianmin(data: &std::path::Path, args: Vec<String>) -> std::process::Output {
    let data = data.to_owned();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_bianmin"))
            .args(&args)
            .env("BIANMIN_DATA_DIR", &data)
            .env("HOME", &data)
            .env_remove("BIANMIN_DEVICE_TOKEN")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

#[tokio::test]
async fn the_kiosk_command_issues_as_the_kiosk_device_and_names_what_is_wrong() {
    let s = morning().await;
    let kiosk_pc = tempfile::tempdir().unwrap();
    let base = s.base.clone();
    // Without a device token it says so, and never waits for a password.
    let out = bianmin(kiosk_pc.path(), strings(&["ticket", "issue", "--category", "C", "--server", &base])).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("设备令牌") && err.contains("admin device add"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("工号"), "no prompt");
    // The admin adds the kiosk on the server's database; its token goes into the data directory.
    let out =
        bianmin(kiosk_pc.path(), strings(&["admin", "device", "add", "自助取号机", "--database", &s.db_url])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("kiosk-1") && said.contains("device-kiosk.token"), "{said}");
    let out = bianmin(
        kiosk_pc.path(),
        strings(&["ticket", "issue", "--category", "c", "--priority", "老年人", "--server", &base]),
    )
    .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "C001\n");
    let desk = signed_in_client(&s.base, "d001").await;
    let queue = desk.queue().await.unwrap();
    assert_eq!(queue.tickets.len(), 1);
    assert!(queue.tickets[0].priority.is_green());
    assert_eq!(queue.tickets[0].history[0].by, "kiosk-1", "issued by the kiosk's account");
    // A category the center does not have: the field, and the ones it has.
    let out = bianmin(kiosk_pc.path(), strings(&["ticket", "issue", "--category", "Z", "--server", &base])).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("排队类别（--category）") && err.contains("Z") && err.contains("可选：A "), "{err}");
    let out = bianmin(kiosk_pc.path(), strings(&["ticket", "issue", "--category", "AB", "--server", &base])).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("排队类别（--category）应为一个字母"), "{err}");
    // A new token for the kiosk: the old one stops working.
    let old = std::fs::read_to_string(kiosk_pc.path().join("device-kiosk.token")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("device-kiosk.token"), &old).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(kiosk_pc.path().join("device-kiosk.token")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::set_permissions(elsewhere.path().join("device-kiosk.token"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
    }
    let out =
        bianmin(kiosk_pc.path(), strings(&["admin", "device", "token", "kiosk-1", "--database", &s.db_url])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = bianmin(elsewhere.path(), strings(&["ticket", "issue", "--category", "A", "--server", &base])).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("admin device token"), "{err}");
    let out = bianmin(kiosk_pc.path(), strings(&["ticket", "issue", "--category", "A", "--server", &base])).await;
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "A001\n");
    s.stop().await;
}
