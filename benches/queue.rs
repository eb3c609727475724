//! Call-next throughput and latency against the real server on loopback, and how long a change
//! takes to reach another terminal's live feed: 50 windows on SQLite, and 160 on PostgreSQL when
//! `BIANMIN_BENCH_POSTGRES_URL` names a server (a database of its own is created and dropped).
//! Two loads: every window calling and finishing back to back until the line is empty (the
//! server saturated: latency there is windows / throughput), and every window calling at the
//! same instant, round after round (the target: call-next p99 < 20 ms). Prints figures; asserts
//! nothing. `cargo bench --bench queue` (`-- sqlite` or `-- postgres` runs one).

#[path = "common/machine.rs"]
mod machine;
#[path = "common/pg.rs"]
mod pg;

use machine::{load_average, num_cpus, percentile};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bianmin::api::queue::{QueueEvent, QueueSnapshot};
use bianmin::client::queue::QueueFeed;
use bianmin::client::{ApiClient, install_tls_provider};
use bianmin::config::{NetworkSettings, sqlite_url};
use bianmin::domain::center::{Window, WindowKind};
use bianmin::domain::queue::TicketRequest;
use bianmin::domain::ticket::{GreenReason, Priority};
use bianmin::server::store::QueueCommand;
use bianmin::server::{self, ServerConfig};
use chrono::Utc;
use tokio::sync::mpsc;

const PASSWORD: &str = "bianmin-demo";
const SQLITE_WINDOWS: u32 = 50;
const POSTGRES_WINDOWS: u32 = 160;
const TICKETS: usize = 5_000;
const IDLE_CHANGES: usize = 200;
/// Rounds of every window calling at the same instant.
const BURSTS: usize = 20;
const POSTGRES_URL_VAR: &str = "BIANMIN_BENCH_POSTGRES_URL";

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// When each change (by revision) arrived at a feed.
type Arrivals = Arc<Mutex<HashMap<u64, Instant>>>;

/// Records the arrival of every change the feed delivers, and counts catch-up snapshots.
fn record_feed(mut feed: mpsc::Receiver<QueueFeed>) -> (Arrivals, Arc<Mutex<u32>>) {
    let arrivals = Arc::new(Mutex::new(HashMap::new()));
    let snapshots = Arc::new(Mutex::new(0));
    let (a, s) = (arrivals.clone(), snapshots.clone());
    tokio::spawn(async move {
        while let Some(item) = feed.recv().await {
            match item {
                QueueFeed::Event(QueueEvent::Change(c)) => {
                    a.lock().unwrap().insert(c.rev, Instant::now());
                }
                QueueFeed::Event(QueueEvent::Snapshot(_)) => *s.lock().unwrap() += 1,
                // Lost: the server stopping at the end. Nudges about records are not queue changes.
                QueueFeed::Connected | QueueFeed::Lost(_) | QueueFeed::Event(QueueEvent::RecordsChanged { .. }) => {}
                QueueFeed::Stopped(e) => eprintln!("feed stopped: {e}"),
            }
        }
    });
    (arrivals, snapshots)
}

fn delivery(sent: &[(u64, Instant)], arrivals: &HashMap<u64, Instant>) -> (Vec<Duration>, usize) {
    let mut delays: Vec<Duration> =
        sent.iter().filter_map(|(rev, at)| arrivals.get(rev).map(|arrived| arrived.duration_since(*at))).collect();
    delays.sort();
    let missing = sent.len() - delays.len();
    (delays, missing)
}

async fn wait_for_feed(arrivals: &Mutex<HashMap<u64, Instant>>, last: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !arrivals.lock().unwrap().contains_key(&last) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::main]
async fn main() {
    install_tls_provider();
    let only = std::env::args().skip(1).find(|a| a == "sqlite" || a == "postgres");
    println!("queue bench: loopback, {} cores, load average {}", num_cpus(), load_average());
    if only.as_deref() != Some("postgres") {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir.path().join("server.db"));
        run("SQLite (WAL)", &url, SQLITE_WINDOWS).await;
    }
    if only.as_deref() != Some("sqlite") {
        match std::env::var(POSTGRES_URL_VAR) {
            Ok(server) if !server.trim().is_empty() => {
                let (url, name) = pg::create_database(&server, "bianmin_bench").await;
                run("PostgreSQL", &url, POSTGRES_WINDOWS).await;
                pg::drop_database(&server, &name).await;
            }
            _ => println!("PostgreSQL: not run (set {POSTGRES_URL_VAR}=postgres://USER@HOST:PORT/postgres)"),
        }
    }
}

/// Seeds the new database as the server would, but with `windows` windows, every one calling
/// from every category: through the store's own seed, so the bench restates no schema.
async fn seed_with_windows(url: &str, windows: u32) {
    let mut seed = bianmin::server::seed::bundled_seed().unwrap();
    seed.windows = (1..=windows)
        .map(|number| Window {
            number,
            name: format!("{number}号窗"),
            kind: WindowKind::ComprehensiveAcceptance,
            a_holder: "s001".into(),
            b_holder: "s002".into(),
            categories: vec!['A', 'B', 'C', 'D', 'E', 'F'],
        })
        .collect();
    let store = bianmin::server::store::open(url).await.unwrap();
    store.seed(&seed).await.unwrap();
}

/// Issues `n` tickets straight through the service (the kiosks' load is not what is measured).
async fn issue_tickets(state: &server::AppState, n: usize) {
    for i in 0..n {
        let request = TicketRequest {
            category: ['A', 'B', 'C', 'D', 'E', 'F'][i % 6],
            priority: if i % 7 == 0 { Priority::Green(GreenReason::Elderly) } else { Priority::Normal },
            guide_code: None,
            note: None,
            slot: None,
        };
        bianmin::server::service::queue::queue_command(
            state.store.as_ref(),
            &QueueCommand::Issue(request),
            "d001",
            None,
            Utc::now(),
        )
        .await
        .unwrap();
    }
}

async fn run(backend: &str, url: &str, windows: u32) {
    let config = ServerConfig {
        listen: "127.0.0.1:0".into(),
        database_url: url.to_owned(),
        session_ttl_hours: 12,
        max_body_bytes: 64 * 1024,
        follow_up_due_working_days: bianmin::domain::follow_up::DEFAULT_DUE_WORKING_DAYS,
        opening_hours: Default::default(),
    };
    seed_with_windows(url, windows).await;
    let state = server::prepare(&config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = server::start_on(listener, state.clone(), config.max_body_bytes).unwrap();
    let base = format!("http://{}", running.addr);
    let mut admin = ApiClient::new(&base, &NetworkSettings::default()).unwrap();
    admin.sign_in("admin", PASSWORD).await.unwrap();
    let mut watcher = ApiClient::new(&base, &NetworkSettings::default()).unwrap();
    watcher.sign_in("d001", PASSWORD).await.unwrap();

    // 1. Delivery on an idle server: one change at a time, to a second terminal's feed.
    let (arrivals, _) = record_feed(watcher.follow_queue(None));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut sent = Vec::new();
    for i in 0..IDLE_CHANGES {
        let at = Instant::now();
        let change = admin.issue_ticket(&bianmin::api::queue::IssueTicket::new(['A', 'B'][i % 2])).await.unwrap();
        sent.push((change.rev, at));
        wait_for_feed(&arrivals, change.rev).await;
    }
    let (idle, idle_missing) = delivery(&sent, &arrivals.lock().unwrap());

    // 2. Every window calling and finishing back to back until the line is empty; the feed
    // keeps recording.
    issue_tickets(&state, TICKETS).await;
    let before: QueueSnapshot = admin.queue().await.unwrap();
    let waiting = before.tickets.len();
    let (arrivals, snapshots) = record_feed(watcher.follow_queue(Some(before.rev)));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let load_before = load_average();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for window in 1..=windows {
        let client = admin.clone();
        tasks.push(tokio::spawn(async move {
            let mut calls = Vec::new();
            let mut sent = Vec::new();
            loop {
                let at = Instant::now();
                match client.call_next(window).await {
                    Ok(change) => {
                        calls.push(at.elapsed());
                        sent.push((change.rev, at));
                    }
                    Err(e) if e.problem_code() == Some("queue_empty") => break,
                    Err(e) => panic!("window {window}: {e}"),
                }
                let at = Instant::now();
                let change = client.finish_service(window).await.unwrap();
                sent.push((change.rev, at));
            }
            (calls, sent)
        }));
    }
    let mut calls = Vec::new();
    let mut sent = Vec::new();
    for task in tasks {
        let (c, s) = task.await.unwrap();
        calls.extend(c);
        sent.extend(s);
    }
    let elapsed = started.elapsed();
    let last = sent.iter().map(|(rev, _)| *rev).max().unwrap_or_default();
    wait_for_feed(&arrivals, last).await;
    let (loaded, loaded_missing) = delivery(&sent, &arrivals.lock().unwrap());
    calls.sort();
    let after = admin.queue().await.unwrap();

    // 3. Every window calling at the same instant, round after round; the feed keeps recording.
    issue_tickets(&state, windows as usize * BURSTS).await;
    let before: QueueSnapshot = admin.queue().await.unwrap();
    let (burst_arrivals, _) = record_feed(watcher.follow_queue(Some(before.rev)));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut bursts = Vec::new();
    let mut burst_sent = Vec::new();
    let mut burst_failed = 0;
    for _ in 0..BURSTS {
        let barrier = Arc::new(tokio::sync::Barrier::new(windows as usize));
        let mut tasks = Vec::new();
        for window in 1..=windows {
            let (client, barrier) = (admin.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let at = Instant::now();
                let result = client.call_next(window).await;
                (at.elapsed(), result.map(|change| change.rev), at)
            }));
        }
        for task in tasks {
            match task.await.unwrap() {
                (took, Ok(rev), at) => {
                    bursts.push(took);
                    burst_sent.push((rev, at));
                }
                (took, Err(e), _) => {
                    eprintln!("call-next failed after {}: {e}", ms(took));
                    burst_failed += 1;
                }
            }
        }
        let mut tasks = Vec::new();
        for window in 1..=windows {
            let client = admin.clone();
            // A window whose call failed has nothing to finish.
            tasks.push(tokio::spawn(async move { client.finish_service(window).await.ok() }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last = burst_sent.iter().map(|(rev, _)| *rev).max().unwrap_or_default();
    wait_for_feed(&burst_arrivals, last).await;
    let (burst_feed, burst_missing) = delivery(&burst_sent, &burst_arrivals.lock().unwrap());
    bursts.sort();

    println!("{backend}: {windows} windows on one server process");
    println!("  tickets served          {} of {waiting} (left waiting: {})", calls.len(), after.tickets.len());
    println!(
        "  back to back            {:.0} calls/s ({:.0} operations/s with finish) in {:.2} s, load average {load_before} before",
        calls.len() as f64 / elapsed.as_secs_f64(),
        sent.len() as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "  call-next latency       p50 {}  p99 {}  max {}",
        ms(percentile(&calls, 0.50)),
        ms(percentile(&calls, 0.99)),
        ms(calls.last().copied().unwrap_or_default())
    );
    println!(
        "  all at once, {BURSTS} rounds   call-next p50 {}  p99 {}  max {}, {burst_failed} failed  (goal: p99 < 20 ms)",
        ms(percentile(&bursts, 0.50)),
        ms(percentile(&bursts, 0.99)),
        ms(bursts.last().copied().unwrap_or_default())
    );
    println!(
        "  feed delivery, idle     median {}  p99 {}  ({} changes, {} missed)",
        ms(percentile(&idle, 0.50)),
        ms(percentile(&idle, 0.99)),
        idle.len(),
        idle_missing
    );
    println!(
        "  feed delivery, loaded   median {}  p99 {}  ({} changes, {} covered by catch-up snapshots: {})",
        ms(percentile(&loaded, 0.50)),
        ms(percentile(&loaded, 0.99)),
        loaded.len(),
        loaded_missing,
        *snapshots.lock().unwrap()
    );
    println!(
        "  feed delivery, at once  median {}  p99 {}  ({} changes, {} missed)  (goal: p99 < 100 ms)",
        ms(percentile(&burst_feed, 0.50)),
        ms(percentile(&burst_feed, 0.99)),
        burst_feed.len(),
        burst_missing
    );
    println!("  (feed delivery: from sending the request to the event arriving at a second terminal)");
    running.stop().await;
}
