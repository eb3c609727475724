//! Several real `bianmin serve` processes on one database: the live feed and the sync nudges
//! cross processes (PostgreSQL's LISTEN/NOTIFY), a dropped listening connection comes back and its
//! feeds catch up, one process killed while the other keeps serving loses nothing it
//! acknowledged, and two servers started at once on an empty database both come up on one seed.
//! PostgreSQL tests skip without one (see `tests/common/postgres.rs`).

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use bianmin::api::queue::{IssueTicket, QueueChange, QueueEvent, QueueSnapshot};
use bianmin::client::ApiClient;
use bianmin::client::local::LocalStore;
use bianmin::client::queue::QueueFeed;
use bianmin::client::sync::sync_logs;
use bianmin::config::sqlite_url;
use bianmin::domain::center::Post;
use bianmin::domain::record::{RecordBody, Visit};
use bianmin::domain::ticket::{Ticket, TicketStatus};
use chrono::Utc;
use tokio::sync::mpsc;

use crate::common::feed::{first_snapshot, next_event};
use crate::common::postgres::TempPgDatabase;
use crate::common::server::{ServerProcess, db_count, signed_in_client};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
/// Generous: the machine running the tests may be loaded; the figures are printed.
const ARRIVES: Duration = Duration::from_secs(10);

fn ticket(change: QueueChange) -> Ticket {
    change.ticket.expect("the change carries its ticket")
}

/// Two server processes on `db_url`, one after the other (each with a data directory of its own).
fn two_processes(db_url: &str, dir: &Path) -> (ServerProcess, ServerProcess) {
    let (da, db) = (dir.join("a"), dir.join("b"));
    std::fs::create_dir_all(&da).unwrap();
    std::fs::create_dir_all(&db).unwrap();
    (ServerProcess::start(BIN, &da, db_url, 0), ServerProcess::start(BIN, &db, db_url, 0))
}

/// A clerk on process A calls; the display following the feed on process B sees each change, as
/// committed, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_on_one_process_reaches_a_feed_on_another() {
    let Some(db) = TempPgDatabase::create().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_processes(&db.url, dir.path());
    let desk = signed_in_client(&a.base(), "d001").await;
    let clerk = signed_in_client(&a.base(), "s001").await;
    let display = signed_in_client(&b.base(), "d001").await;
    let mut feed = display.follow_queue(None);
    let mut mirror = first_snapshot(&mut feed, ARRIVES).await;
    let mut delays = Vec::new();
    for step in 0..5 {
        let sent = Instant::now();
        let change = match step {
            0 => desk.issue_ticket(&IssueTicket::new('A')).await,
            1 => desk.issue_ticket(&IssueTicket::new('B')).await,
            2 => clerk.call_next(1).await,
            3 => clerk.start_service(1).await,
            _ => clerk.finish_service(1).await,
        }
        .unwrap();
        let QueueEvent::Change(seen) = next_event(&mut feed, ARRIVES).await else {
            panic!("expected the change itself on the other process's feed");
        };
        delays.push(sent.elapsed());
        assert_eq!(*seen, change, "the feed on B carries exactly what A committed");
        mirror.apply(&seen);
    }
    eprintln!("feed delays across processes: {delays:?}");
    assert_eq!(mirror, display.queue().await.unwrap(), "snapshot plus changes is the queue");
    a.kill();
    b.kill();
}

/// A handover uploaded through process A nudges the window's terminal connected to process B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handover_on_one_process_nudges_a_terminal_on_another() {
    let Some(db) = TempPgDatabase::create().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_processes(&db.url, dir.path());
    let holder_b = signed_in_client(&b.base(), "s002").await;
    let mut feed = holder_b.follow_queue(None);
    first_snapshot(&mut feed, ARRIVES).await;

    let (local, _) = LocalStore::open(&dir.path().join("a.db"), Utc::now()).await.unwrap();
    let h = crate::sync::errand_handover();
    let handed_over = h.window;
    local.append("s001", handed_over, Post::A, &RecordBody::HandoverWritten(Box::new(h)), Utc::now()).await.unwrap();
    let holder_a = signed_in_client(&a.base(), "s001").await;
    let sent = Instant::now();
    sync_logs(&holder_a, &local, handed_over).await.unwrap();
    let nudged = tokio::time::timeout(ARRIVES, async {
        loop {
            match feed.recv().await {
                Some(QueueFeed::Event(QueueEvent::RecordsChanged { window })) => return window,
                Some(_) => {}
                None => panic!("feed ended"),
            }
        }
    })
    .await
    .expect("the nudge crosses to the other process");
    eprintln!("nudge across processes after {:?}", sent.elapsed());
    assert_eq!(nudged, handed_over);
    a.kill();
    b.kill();
}

/// The listening connection of `server`, as `pg_stat_activity` names it.
fn listener_name(server: &ServerProcess) -> String {
    format!("{}-{}", bianmin::server::feed_bus::LISTENER_NAME, server.pid())
}

async fn listeners(db_url: &str, name: &str) -> i64 {
    db_count(db_url, &format!("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = '{name}'")).await
}

/// Process B's listening connection is killed by the database (as a restart or a network cut
/// would): a change A commits while B is not listening still reaches B's feed (B catches up once
/// it listens again), and later changes arrive as they are made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_listener_reconnects_and_its_feeds_catch_up() {
    let Some(db) = TempPgDatabase::create().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_processes(&db.url, dir.path());
    let desk = signed_in_client(&a.base(), "d001").await;
    let display = signed_in_client(&b.base(), "d001").await;
    let mut feed = display.follow_queue(None);
    let start = first_snapshot(&mut feed, ARRIVES).await;
    let name = listener_name(&b);
    assert_eq!(listeners(&db.url, &name).await, 1, "B listens");

    let terminated = db_count(
        &db.url,
        &format!("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '{name}'"),
    )
    .await;
    assert_eq!(terminated, 1);
    // At once, while B is without its listener.
    let missed = desk.issue_ticket(&IssueTicket::new('A')).await.unwrap();
    assert!(missed.rev > start.rev);
    let started = Instant::now();
    let caught_up = loop {
        match next_event(&mut feed, Duration::from_secs(30)).await {
            QueueEvent::Snapshot(s) if s.rev >= missed.rev => break s,
            QueueEvent::Change(c) if c.rev >= missed.rev => panic!("B heard a change sent while it was not listening"),
            _ => {}
        }
    };
    eprintln!("caught up after {:?}", started.elapsed());
    assert!(caught_up.tickets.iter().any(|t| Some(t) == missed.ticket.as_ref()), "the missed ticket is there");

    let deadline = Instant::now() + Duration::from_secs(30);
    while listeners(&db.url, &name).await != 1 {
        assert!(Instant::now() < deadline, "B never listened again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let next = desk.issue_ticket(&IssueTicket::new('B')).await.unwrap();
    match next_event(&mut feed, ARRIVES).await {
        QueueEvent::Change(c) => assert_eq!(*c, next),
        other => panic!("expected the next change live, got {other:?}"),
    }
    a.kill();
    b.kill();
}

/// A change committed whose notification never went out (its process died between the commit
/// and the NOTIFY): the feeds of the other processes still learn of it, from the periodic
/// revision check, not only at the next change. Here a desk issues on A, and the revision is then
/// moved on in the database directly, as the dead process's commit would have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_notification_was_lost_still_reaches_the_feeds() {
    let Some(db) = TempPgDatabase::create().await else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a")).unwrap();
    let a = ServerProcess::start(BIN, &dir.path().join("a"), &db.url, 0);
    let desk = signed_in_client(&a.base(), "d001").await;
    let display = signed_in_client(&a.base(), "d001").await;
    let mut feed = display.follow_queue(None);
    first_snapshot(&mut feed, ARRIVES).await;
    let issued = desk.issue_ticket(&IssueTicket::new('A')).await.unwrap();
    match next_event(&mut feed, ARRIVES).await {
        QueueEvent::Change(c) => assert_eq!(*c, issued),
        other => panic!("expected the change live, got {other:?}"),
    }
    let lost = db_count(
        &db.url,
        "WITH moved AS (UPDATE queue_revision SET rev = rev + 1 RETURNING rev) SELECT rev FROM moved",
    )
    .await;
    let started = Instant::now();
    loop {
        match next_event(&mut feed, Duration::from_secs(40)).await {
            QueueEvent::Snapshot(s) if s.rev >= lost as u64 => break,
            _ => {}
        }
    }
    eprintln!("caught up with a lost notification after {:?}", started.elapsed());
    a.kill();
}

/// Two servers started at the same moment on one empty database: both come up, on one seed.
async fn two_servers_starting_at_once_on(db_url: &str, dir: &Path) {
    let (da, db) = (dir.join("a"), dir.join("b"));
    std::fs::create_dir_all(&da).unwrap();
    std::fs::create_dir_all(&db).unwrap();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| ServerProcess::start(BIN, &da, db_url, 0));
        let b = s.spawn(|| ServerProcess::start(BIN, &db, db_url, 0));
        (a.join().expect("server A started"), b.join().expect("server B started"))
    });
    let seed = bianmin::server::seed::bundled_seed().unwrap();
    assert_eq!(db_count(db_url, "SELECT COUNT(*) FROM center").await, 1);
    assert_eq!(db_count(db_url, "SELECT COUNT(*) FROM staff").await, seed.staff.len() as i64);
    assert_eq!(db_count(db_url, "SELECT COUNT(*) FROM windows").await, seed.windows.len() as i64);
    let desk = signed_in_client(&a.base(), "d001").await;
    let clerk = signed_in_client(&b.base(), "s001").await;
    let issued = ticket(desk.issue_ticket(&IssueTicket::new('A')).await.unwrap());
    assert_eq!(ticket(clerk.call_next(1).await.unwrap()).id, issued.id);
    a.kill();
    b.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_starting_at_once_on_one_empty_sqlite_file_share_one_seed() {
    let dir = tempfile::tempdir().unwrap();
    two_servers_starting_at_once_on(&sqlite_url(&dir.path().join("server.db")), dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_starting_at_once_on_one_empty_postgres_database_share_one_seed() {
    let Some(db) = TempPgDatabase::create().await else { return };
    let dir = tempfile::tempdir().unwrap();
    two_servers_starting_at_once_on(&db.url, dir.path()).await;
}

/// What one window's clerk saw acknowledged.
#[derive(Default)]
struct Served {
    called: Vec<uuid::Uuid>,
    finished: Vec<uuid::Uuid>,
}

/// Calls and finishes at `window` through `client` until the queue is empty (`Ok`) or the server
/// stops answering (`Err`, with what was acknowledged until then).
async fn serve(client: &ApiClient, window: u32, served: &mut Served) -> Result<(), ()> {
    loop {
        let t = match client.call_next(window).await {
            Ok(change) => ticket(change),
            Err(e) if e.problem_code() == Some("queue_empty") => return Ok(()),
            Err(e) if e.problem_code().is_some() => panic!("window {window}: {e:?}"),
            Err(_) => return Err(()),
        };
        assert_eq!((t.status, t.window), (TicketStatus::Called, Some(window)));
        served.called.push(t.id);
        match client.finish_service(window).await {
            Ok(change) => served.finished.push(ticket(change).id),
            Err(e) if e.problem_code().is_some() => panic!("window {window}: {e:?}"),
            Err(_) => return Err(()),
        }
    }
}

/// Two processes serve a center; clerks upload and call through both; one process is killed
/// with SIGKILL in the middle. The clerks of the dead process carry on through the other. Every
/// record and every call the dead process acknowledged is in the database, and nothing is
/// there twice: each record once, each ticket called and finished once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_process_killed_while_another_keeps_serving_loses_nothing_acknowledged() {
    const RECORDS: usize = 1500;
    const TICKETS: usize = 120;
    let Some(db) = TempPgDatabase::create().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_processes(&db.url, dir.path());
    let (base_a, base_b) = (a.base(), b.base());

    // Tickets waiting, issued through B.
    let desk = signed_in_client(&base_b, "d001").await;
    let mut issued = HashSet::new();
    for i in 0..TICKETS {
        issued.insert(ticket(desk.issue_ticket(&IssueTicket::new(['A', 'B', 'C'][i % 3])).await.unwrap()).id);
    }
    // One terminal's log per process.
    // One terminal's log per process: window 1's A holder uploads through A, window 2's through B.
    let mut locals = Vec::new();
    for (clerk, window) in [("s001", 1u32), ("s003", 2)] {
        let (local, _) = LocalStore::open(&dir.path().join(format!("{clerk}.db")), Utc::now()).await.unwrap();
        for i in 0..RECORDS {
            let body = RecordBody::Visit(Visit::new(&format!("{clerk}-{i}"), "进程故障测试").unwrap());
            local.append(clerk, window, Post::A, &body, Utc::now()).await.unwrap();
        }
        locals.push(local);
    }
    let (local_a, local_b) = (&locals[0], &locals[1]);
    let uploader_a = signed_in_client(&base_a, "s001").await;
    let uploader_b = signed_in_client(&base_b, "s003").await;
    // Windows calling every category: 7 and 8 through A, 9 and 10 through B.
    crate::queue::add_windows_to(&db.url, 7..=10).await;
    let admin_a = signed_in_client(&base_a, "admin").await;
    let admin_b = signed_in_client(&base_b, "admin").await;

    let calling = |client: ApiClient, window: u32| {
        tokio::spawn(async move {
            let mut served = Served::default();
            let outcome = serve(&client, window, &mut served).await;
            (window, outcome, served)
        })
    };
    let on_a = [calling(admin_a.clone(), 7), calling(admin_a.clone(), 8)];
    let on_b = [calling(admin_b.clone(), 9), calling(admin_b.clone(), 10)];
    let upload_b = async { sync_logs(&uploader_b, local_b, 2).await };
    let upload_a = async { sync_logs(&uploader_a, local_a, 1).await };
    tokio::pin!(upload_a);
    // Pull A's plug once it has stored some of its upload and served some tickets.
    let watch = async {
        let deadline = Instant::now() + Duration::from_secs(120);
        let device = local_a.device();
        let records = format!("SELECT COUNT(*) FROM device_records WHERE device = '{device}'");
        let done = format!(
            "SELECT COUNT(*) FROM queue_tickets WHERE status = '{}' AND window_no IN (7, 8)",
            TicketStatus::Done.label()
        );
        loop {
            if db_count(&db.url, &records).await > 0 && db_count(&db.url, &done).await >= 5 {
                return;
            }
            assert!(Instant::now() < deadline, "process A got nothing done");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let (upload_b, ()) = tokio::join!(upload_b, async {
        tokio::select! {
            () = watch => {},
            result = &mut upload_a => panic!("A's whole upload finished before the kill: {result:?}"),
        }
    });
    upload_b.unwrap();
    a.kill();
    assert!(upload_a.await.is_err(), "A's upload was cut off");
    let acknowledged_a = RECORDS - local_a.pending().await.unwrap();
    let device_a = local_a.device();
    let stored_a = db_count(&db.url, &format!("SELECT COUNT(*) FROM device_records WHERE device = '{device_a}'")).await;
    assert!(stored_a as usize >= acknowledged_a, "A acknowledged {acknowledged_a} records, {stored_a} stored");
    assert!((stored_a as usize) < RECORDS, "killed mid-upload");

    // A's clerks carry on through B: a ticket left at the window is finished first (the clerk
    // sees it on the screen), then they call on.
    let mut served = Vec::new();
    let mut acknowledged_calls = Vec::new();
    for task in on_a {
        let (window, outcome, mut s) = task.await.unwrap();
        assert!(outcome.is_err() || s.called.len() == s.finished.len(), "window {window}");
        acknowledged_calls.extend(s.called.iter().map(|id| (window, *id)));
        if let Ok(change) = admin_b.finish_service(window).await {
            let t = ticket(change);
            if !s.called.contains(&t.id) {
                s.called.push(t.id);
            }
            s.finished.push(t.id);
        }
        serve(&admin_b, window, &mut s).await.expect("B keeps serving");
        served.push(s);
    }
    for task in on_b {
        let (window, outcome, s) = task.await.unwrap();
        outcome.unwrap_or_else(|()| panic!("window {window} on B was cut off"));
        served.push(s);
    }
    let uploader_b_for_a = signed_in_client(&base_b, "s001").await;
    assert_eq!(sync_logs(&uploader_b_for_a, local_a, 1).await.unwrap().pending, 0);

    // Every record once.
    let all = db_count(&db.url, "SELECT COUNT(*) FROM device_records").await;
    let distinct = db_count(&db.url, "SELECT COUNT(DISTINCT id) FROM device_records").await;
    let visits = db_count(&db.url, "SELECT COUNT(*) FROM visits").await;
    assert_eq!((all, distinct, visits), (2 * RECORDS as i64, 2 * RECORDS as i64, 2 * RECORDS as i64));
    // Every ticket called once and finished once; every acknowledged call is in the database.
    let called: Vec<_> = served.iter().flat_map(|s| s.called.iter().copied()).collect();
    let finished: Vec<_> = served.iter().flat_map(|s| s.finished.iter().copied()).collect();
    assert_eq!(called.iter().copied().collect::<HashSet<_>>().len(), called.len(), "a ticket was called twice");
    assert_eq!(finished.iter().copied().collect::<HashSet<_>>().len(), finished.len(), "finished twice");
    assert_eq!(called.iter().copied().collect::<HashSet<_>>(), issued, "every ticket served");
    let done = format!("SELECT COUNT(*) FROM queue_tickets WHERE status = '{}'", TicketStatus::Done.label());
    assert_eq!(db_count(&db.url, &done).await, TICKETS as i64);
    for (window, id) in acknowledged_calls {
        let sql = format!("SELECT COUNT(*) FROM queue_tickets WHERE id = '{id}' AND window_no = {window}");
        assert_eq!(db_count(&db.url, &sql).await, 1, "acknowledged call of {id} at window {window} is stored");
    }
    eprintln!(
        "killed A with {acknowledged_a} of {RECORDS} records acknowledged ({stored_a} stored); tickets served per window: {:?}",
        served.iter().map(|s| s.called.len()).collect::<Vec<_>>()
    );
    b.kill();
}

/// Follows `feed` until it reaches revision `rev`: the queue as the feed shows it, and how many
/// snapshots (catch-ups) it took after the first.
async fn mirror_until(
    feed: &mut mpsc::Receiver<QueueFeed>,
    mut mirror: QueueSnapshot,
    rev: u64,
) -> (QueueSnapshot, usize) {
    let mut catch_ups = 0;
    while mirror.rev < rev {
        match next_event(feed, Duration::from_secs(30)).await {
            QueueEvent::Snapshot(s) => {
                catch_ups += 1;
                mirror = s;
            }
            QueueEvent::Change(c) => {
                assert_eq!(c.rev, mirror.rev + 1, "changes in order, without gaps");
                mirror.apply(&c);
            }
            QueueEvent::RecordsChanged { .. } => {}
        }
    }
    (mirror, catch_ups)
}

/// Clerks on both processes call at once, so each process's own changes interleave with the
/// other's notifications: every feed on either process still ends at the database's queue,
/// its changes in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn feeds_on_both_processes_stay_consistent_while_both_make_changes() {
    const TICKETS: usize = 80;
    let Some(db) = TempPgDatabase::create().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_processes(&db.url, dir.path());
    crate::queue::add_windows_to(&db.url, 7..=10).await;
    let admin_a = signed_in_client(&a.base(), "admin").await;
    let admin_b = signed_in_client(&b.base(), "admin").await;
    let mut feeds = Vec::new();
    for client in [&admin_a, &admin_b] {
        let mut feed = client.follow_queue(None);
        let first = first_snapshot(&mut feed, ARRIVES).await;
        feeds.push((feed, first));
    }
    let mut tasks = Vec::new();
    for (client, window) in [(&admin_a, 7), (&admin_a, 8), (&admin_b, 9), (&admin_b, 10)] {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..TICKETS / 4 {
                client.issue_ticket(&IssueTicket::new(['A', 'B'][i % 2])).await.unwrap();
                let t = ticket(client.call_next(window).await.unwrap());
                client.finish_service(window).await.unwrap();
                assert_eq!(t.window, Some(window));
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let end = admin_a.queue().await.unwrap();
    for (n, (mut feed, first)) in feeds.into_iter().enumerate() {
        let (mirror, catch_ups) = mirror_until(&mut feed, first, end.rev).await;
        eprintln!("feed on process {}: {catch_ups} catch-ups over {} changes", ["A", "B"][n], 3 * TICKETS);
        assert_eq!(mirror, end, "the feed on process {} shows the queue", ["A", "B"][n]);
    }
    a.kill();
    b.kill();
}

/// A device account on the database at `db_url`, signed in at `base` by its token.
async fn device_on(db_url: &str, base: &str, role: bianmin::domain::staff::Role, window: Option<u32>) -> ApiClient {
    let store = bianmin::server::store::open(db_url).await.unwrap();
    let granted =
        bianmin::server::admin::add_device(store.as_ref(), "命令行:test", role, window, Utc::now()).await.unwrap();
    bianmin::client::install_tls_provider();
    let mut client = ApiClient::new(base, &bianmin::config::NetworkSettings::default()).unwrap();
    client.set_token(Some(granted.token));
    client
}

/// Process B answers its reads from the day it committed last (`service::day_view`); a change
/// process A commits after it must show in B's reads at once: the evaluator's `facing`, the
/// status page's place in line, the figures, the queue.
async fn reads_on_one_process_show_what_another_committed(db_url: &str, dir: &Path) {
    use bianmin::domain::staff::Role;
    let (a, b) = two_processes(db_url, dir);
    let kiosk = device_on(db_url, &b.base(), Role::Kiosk, None).await;
    let evaluator = device_on(db_url, &b.base(), Role::Evaluator, Some(1)).await;
    let desk = signed_in_client(&b.base(), "d001").await;
    let clerk = signed_in_client(&a.base(), "s001").await;
    let first = kiosk.kiosk_issue(&IssueTicket::new('A')).await.unwrap();
    let second = kiosk.kiosk_issue(&IssueTicket::new('A')).await.unwrap();
    assert_eq!(second.slip.ahead, 1);
    let status = |slip: &bianmin::api::hall::Slip| {
        let t = &slip.slip.ticket;
        let path = bianmin::domain::hall::status_path(t.day, t.number, slip.status_token.as_deref().unwrap());
        let url = format!("{}{path}", b.base());
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    // B's reads at the revision B committed last.
    assert!(evaluator.facing(1).await.unwrap().ticket.is_none());
    assert!(status(&second).await.contains("前面还有 1 人"));
    let before = desk.queue_stats(1).await.unwrap();
    assert_eq!(before.center.average_wait_s, None, "nobody served yet");

    // A commits; B, asked at once, answers what A committed.
    let change = clerk.call_next(1).await.unwrap();
    let rev = change.rev;
    let called = ticket(change);
    assert_eq!(called.id, first.slip.ticket.id);
    let facing = evaluator.facing(1).await.unwrap().ticket.expect("B's evaluator shows what A called");
    assert_eq!((facing.number, facing.status), (called.number, TicketStatus::Called));
    let html = status(&second).await;
    assert!(html.contains("前面还有 0 人"), "{html}");
    assert!(status(&first).await.contains("请到 1 号窗口"));
    let queue = desk.queue().await.unwrap();
    assert_eq!(queue.rev, rev);
    assert!(queue.tickets.iter().any(|t| t.id == called.id && t.status == TicketStatus::Called));

    // And B's next slip, after A's change, counts from the committed state too.
    let third = kiosk.kiosk_issue(&IssueTicket::new('A')).await.unwrap();
    assert_eq!(third.slip.ahead, 1, "A002 is before it; A001 was called on A");
    // A finishes it; B's figures count the served ticket and its wait (a wait counts once served).
    clerk.finish_service(1).await.unwrap();
    let after = desk.queue_stats(1).await.unwrap();
    assert_eq!(after.center.served, 1, "B's figures count A's service: {after:?}");
    assert!(after.center.average_wait_s.is_some(), "{after:?}");
    assert!(after.window.unwrap().average_wait_s.is_some());
    a.kill();
    b.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_on_one_process_show_what_another_committed_on_postgres() {
    let Some(db) = TempPgDatabase::create().await else { return };
    let dir = tempfile::tempdir().unwrap();
    reads_on_one_process_show_what_another_committed(&db.url, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_on_one_process_show_what_another_committed_on_one_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    reads_on_one_process_show_what_another_committed(&sqlite_url(&dir.path().join("server.db")), dir.path()).await;
}

/// A statement written by hand on the database at `db_url` while the servers run (no route
/// changes a window's categories or the center's names: an admin's tool or an import does), which
/// must change one row.
async fn by_hand(db_url: &str, sql: &str) {
    let changed = if db_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(db_url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap().rows_affected()
    } else {
        let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap().rows_affected()
    };
    assert_eq!(changed, 1, "{sql}");
}

/// The kiosk's slip names the windows calling its line, the center and the category as they are
/// when it is issued, whether they come from the view its own batch published and what was kept
/// at its configuration revision, or from the store; a window given other categories while both
/// processes run is left off the very next slip, and the very next call on either process goes
/// by it; a category or the center renamed is named so on the very next slip.
async fn slips_and_calls_follow_a_change_of_the_windows(db_url: &str, dir: &Path) {
    use bianmin::domain::staff::Role;
    let (a, b) = two_processes(db_url, dir);
    let kiosk = device_on(db_url, &b.base(), Role::Kiosk, None).await;
    let clerk_a = signed_in_client(&a.base(), "s001").await;
    let clerk_b = signed_in_client(&b.base(), "s003").await;
    // B's memory has read no window yet: the slip's windows come from the store.
    let first = kiosk.kiosk_issue(&IssueTicket::new('A')).await.unwrap();
    assert_eq!((first.slip.ahead, first.slip.windows.clone()), (0, vec![1, 2]));
    assert_eq!(ticket(clerk_a.call_next(1).await.unwrap()).id, first.slip.ticket.id);
    let second = kiosk.kiosk_issue(&IssueTicket::new('A')).await.unwrap();
    assert_eq!(ticket(clerk_b.call_next(2).await.unwrap()).id, second.slip.ticket.id);
    // Now B's memory holds the windows: the slip's come with its batch's view.
    let third = kiosk.kiosk_issue(&IssueTicket::new('A')).await.unwrap();
    assert_eq!((third.slip.ahead, third.slip.windows.clone()), (0, vec![1, 2]));

    // Window 1 stops calling A.
    by_hand(
        db_url,
        r#"UPDATE windows SET body = REPLACE(body, '"categories":["A","B"]', '"categories":["B"]') WHERE window_no = 1"#,
    )
    .await;
    let fourth = kiosk.kiosk_issue(&IssueTicket::new('A')).await.unwrap();
    assert_eq!((fourth.slip.ahead, fourth.slip.windows.clone()), (1, vec![2]), "window 1 no longer calls A");
    clerk_a.finish_service(1).await.unwrap();
    let refused = clerk_a.call_next(1).await.expect_err("process A calls by the new categories");
    assert_eq!(refused.problem_code(), Some("queue_empty"), "{refused:?}");
    clerk_b.finish_service(2).await.unwrap();
    assert_eq!(ticket(clerk_b.call_next(2).await.unwrap()).id, third.slip.ticket.id);

    // Renamed by hand: the next slips say the new names.
    let named = |slip: &bianmin::api::hall::Slip| (slip.slip.center.clone(), slip.slip.category_name.clone());
    let (center, category) = named(&fourth);
    assert_eq!(category, "社保医保");
    by_hand(db_url, "UPDATE queue_categories SET name = '社会保险' WHERE letter = 'A'").await;
    let fifth = kiosk.kiosk_issue(&IssueTicket::new('A')).await.unwrap();
    assert_eq!(named(&fifth), (center.clone(), "社会保险".to_owned()), "the category renamed");
    by_hand(db_url, &format!("UPDATE center SET body = REPLACE(body, '{center}', '新中心')")).await;
    let sixth = kiosk.kiosk_issue(&IssueTicket::new('A')).await.unwrap();
    assert_eq!(named(&sixth), ("新中心".to_owned(), "社会保险".to_owned()), "the center renamed");
    a.kill();
    b.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slips_and_calls_follow_a_change_of_the_windows_on_postgres() {
    let Some(db) = TempPgDatabase::create().await else { return };
    let dir = tempfile::tempdir().unwrap();
    slips_and_calls_follow_a_change_of_the_windows(&db.url, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slips_and_calls_follow_a_change_of_the_windows_on_one_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    slips_and_calls_follow_a_change_of_the_windows(&sqlite_url(&dir.path().join("server.db")), dir.path()).await;
}
