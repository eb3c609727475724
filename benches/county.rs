//! The county load test (issue #18, "Done when"): N centers x M windows on the real
//! `bianmin serve` binary, loopback only, bounded in time. Per center a kiosk issues tickets in
//! every category, each window's clerk calls the next, finishes it or now and then marks it a
//! no-show, the hall display follows the live feed and every window's evaluator looks at its
//! window once a second, as the real devices do. PostgreSQL runs two server processes on one
//! database with the clients split between them; SQLite runs one.
//!
//! It checks what must hold, and exits 1 naming what did not: no ticket called twice or lost,
//! numbers gapless per center, category and day, every display feed in revision order without a
//! gap after its catch-up and ending equal to the queue, and no terminal ever shown another
//! center's ticket or clerk. It prints per backend the call-next throughput and p50/p99 latency
//! and the feed delivery p50/p99 (from the client holding the command's reply to the display
//! receiving the change) beside the goals.
//!
//! `cargo bench --bench county -- sqlite|postgres [--centers N] [--windows M] [--seconds S] [--serve-ms N] [--by-center]`
//! (default: both backends, 20 centers x 8 windows, 20 s). By default each clerk calls again as
//! soon as the finish is answered (a closed loop: a saturation test). With `--serve-ms N` a clerk
//! serves N ms (jittered +-50 %) between the call and the finish, and every window makes its
//! first call at the same instant: the pace of a hall rather than the server's limit. Those first
//! calls (the worst instant a hall can have) are reported on a line of their own, the calls after
//! them (each window at its own pace from there) against the goal. PostgreSQL runs when
//! `BIANMIN_BENCH_POSTGRES_URL` names a server (a database of its own is created and dropped).

#[path = "common/machine.rs"]
mod machine;
#[path = "common/pg.rs"]
mod pg;

use machine::{load_average, num_cpus, percentile};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bianmin::api::queue::{IssueTicket, QueueEvent, QueueSnapshot};
use bianmin::client::queue::QueueFeed;
use bianmin::client::{ApiClient, install_tls_provider};
use bianmin::config::{NetworkSettings, sqlite_url};
use bianmin::domain::center::{Center, Window, WindowKind};
use bianmin::domain::staff::{Role, Staff};
use bianmin::domain::ticket::{GreenReason, TicketNumber, TicketStatus};
use bianmin::server::store::{SeedData, StaffCredentials, Store};
use chrono::{NaiveDate, Utc};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
const POSTGRES_URL_VAR: &str = "BIANMIN_BENCH_POSTGRES_URL";
/// Not `BIANMIN_*`: the servers inherit the environment and refuse settings they do not know.
const KEEP_DIR_VAR: &str = "COUNTY_BENCH_KEEP_DIR";
/// A kiosk stops issuing while this many tickets per window of its center wait.
const WAITING_PER_WINDOW: i64 = 3;
/// One call in this many is answered by a no-show (过号) instead of a finish.
const SKIP_EVERY: u64 = 20;
/// How long a clerk waits before calling again after an empty line.
const EMPTY_PAUSE: Duration = Duration::from_millis(20);
/// How often an evaluator looks at its window (the real one: once a second).
const EVALUATOR_LOOK: Duration = Duration::from_secs(1);
/// How long the feeds get to deliver the last change after the load stops.
const SETTLE: Duration = Duration::from_secs(30);
const GOAL_CALL_P99_MS: f64 = 20.0;
const GOAL_FEED_P99_MS: f64 = 100.0;

struct Args {
    only: Option<String>,
    centers: u32,
    windows: u32,
    seconds: u64,
    /// How long a clerk serves between call and finish (jittered +-50 %); none: no pause.
    serve_ms: Option<u64>,
    /// Every terminal of a center on the same server process (center k on process k mod P)
    /// instead of the terminals taking the processes in turn.
    by_center: bool,
}

impl Args {
    /// The load model, as the report names it.
    fn model(&self) -> String {
        let spread = if self.by_center {
            "; each center's terminals on one process"
        } else {
            "; the terminals take the processes in turn"
        };
        let pace = match self.serve_ms {
            None => "closed loop: call -> finish -> call, no pause".into(),
            Some(ms) => {
                format!("paced: serve {ms} ms +-50 % between call and finish, every window's first call at one instant")
            }
        };
        pace + spread
    }
}

fn args() -> Result<Args, String> {
    let mut a = Args { only: None, centers: 20, windows: 8, seconds: 20, serve_ms: None, by_center: false };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            it.next().and_then(|v| v.parse().ok()).filter(|n| *n > 0).ok_or(format!("{name} needs a positive number"))
        };
        match arg.as_str() {
            "sqlite" | "postgres" => a.only = Some(arg),
            "--centers" => a.centers = u32::try_from(number("--centers")?).map_err(|e| e.to_string())?,
            "--windows" => a.windows = u32::try_from(number("--windows")?).map_err(|e| e.to_string())?,
            "--seconds" => a.seconds = number("--seconds")?,
            "--serve-ms" => a.serve_ms = Some(number("--serve-ms")?),
            "--by-center" => a.by_center = true,
            // What cargo passes to every bench.
            "--bench" => {}
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

#[tokio::main]
async fn main() {
    install_tls_provider();
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "county: {e}\nusage: cargo bench --bench county -- sqlite|postgres [--centers N] [--windows M] [--seconds S] [--serve-ms N] [--by-center]"
            );
            std::process::exit(2);
        }
    };
    println!(
        "county load test: loopback, {} cores, load average {}; {} centers x {} windows, {} s",
        num_cpus(),
        load_average(),
        args.centers,
        args.windows,
        args.seconds
    );
    let mut failed = false;
    if args.only.as_deref() != Some("postgres") {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir.path().join("county.db"));
        failed |= !run_backend("SQLite (WAL)", &url, 1, &args, &kept_or(dir.path(), "sqlite")).await;
    }
    if args.only.as_deref() != Some("sqlite") {
        match std::env::var(POSTGRES_URL_VAR) {
            Ok(server) if !server.trim().is_empty() => {
                let dir = tempfile::tempdir().unwrap();
                let (url, name) = pg::create_database(&server, "bianmin_county").await;
                failed |= !run_backend("PostgreSQL", &url, 2, &args, &kept_or(dir.path(), "postgres")).await;
                pg::drop_database(&server, &name).await;
            }
            _ => println!("PostgreSQL: not run (set {POSTGRES_URL_VAR}=postgres://USER@HOST:PORT/postgres)"),
        }
    }
    if failed {
        println!("county load test: FAILED");
        std::process::exit(1);
    }
}

/// Where the server processes keep their data directories (and logs): `KEEP_DIR_VAR/<backend>`
/// when set (to read the servers' logs afterwards, e.g. with `BIANMIN_LOG_LEVEL=debug`, which the
/// servers inherit), else `temp`, removed at the end.
fn kept_or(temp: &std::path::Path, backend: &str) -> std::path::PathBuf {
    match std::env::var_os(KEEP_DIR_VAR) {
        Some(dir) => std::path::Path::new(&dir).join(backend),
        None => temp.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Setup: the centers, their windows, clerks and hall devices.

/// One center as the load drives it: its accounts' tokens.
struct CenterSetup {
    code: String,
    letters: Vec<char>,
    kiosk: String,
    kiosk_id: String,
    display: String,
    /// Per window (1..=M): the A-post clerk's id and token, the evaluator's token.
    windows: Vec<(u32, String, String, String)>,
}

fn center_code(k: u32) -> String {
    format!("c{k:02}")
}

fn clerk_id(code: &str, window: u32, post: char) -> String {
    format!("{code}-w{window}{post}")
}

/// The center's windows, each held by two clerks of its own and calling every category.
fn windows_of(code: &str, m: u32, letters: &[char]) -> Vec<Window> {
    (1..=m)
        .map(|number| Window {
            number,
            name: format!("{number}号窗"),
            kind: WindowKind::ComprehensiveAcceptance,
            a_holder: clerk_id(code, number, 'a'),
            b_holder: clerk_id(code, number, 'b'),
            categories: letters.to_vec(),
        })
        .collect()
}

fn clerks_of(code: &str, m: u32, hash: &str) -> Vec<StaffCredentials> {
    (1..=m)
        .flat_map(|w| ['a', 'b'].map(|post| (w, post)))
        .map(|(w, post)| StaffCredentials {
            staff: Staff {
                id: clerk_id(code, w, post),
                name: format!("{code}{w}号窗{post}"),
                role: Role::WindowClerk,
                active: true,
            },
            password_hash: hash.to_owned(),
        })
        .collect()
}

/// Creates the N centers through the store's own seed and the admin functions, and hands out a
/// session to every clerk and device that the load drives.
async fn set_up(url: &str, n: u32, m: u32) -> Result<Vec<CenterSetup>, String> {
    let store = bianmin::server::store::open(url).await.map_err(|e| format!("open {url}: {e}"))?;
    let mut seed = bianmin::server::seed::bundled_seed().map_err(|e| e.to_string())?;
    let hash = seed.staff.first().map(|s| s.password_hash.clone()).unwrap_or_default();
    let letters: Vec<char> = seed.categories.iter().map(|c| c.letter).collect();
    let first = center_code(1);
    seed.center.id = first.clone();
    seed.windows = windows_of(&first, m, &letters);
    seed.staff.extend(clerks_of(&first, m, &hash));
    let categories = seed.categories.clone();
    let template = seed.center.clone();
    store.seed(&seed).await.map_err(|e| format!("seed of the first center: {e}"))?;
    for k in 2..=n {
        let code = center_code(k);
        let name = format!("第{k}镇");
        // Its windows, categories and clerks; the county catalogue (guides) is the first seed's
        // and shared.
        let furnish = SeedData {
            center: Center { id: code.clone(), name, ..template.clone() },
            categories: categories.clone(),
            windows: windows_of(&code, m, &letters),
            staff: clerks_of(&code, m, &hash),
            guides: Vec::new(),
        };
        bianmin::server::admin::add_center_with(store.as_ref(), &furnish)
            .await
            .map_err(|e| format!("--centers {n}: center {k} was not added: {e}"))?;
    }
    let now = Utc::now();
    let actor = "county-bench";
    let mut centers = Vec::new();
    for k in 1..=n {
        let code = center_code(k);
        let here = store.for_center(&code);
        let device = |role, window| {
            let here = here.clone();
            let code = code.clone();
            async move {
                bianmin::server::admin::add_device_in(here.as_ref(), actor, Some(&code), role, window, now)
                    .await
                    .map(|g| (g.staff.id, g.token))
                    .map_err(|e| format!("center {code}: device {} {window:?}: {e}", role.label()))
            }
        };
        let (kiosk_id, kiosk) = device(Role::Kiosk, None).await?;
        let (_, display) = device(Role::Display, None).await?;
        let mut windows = Vec::new();
        for w in 1..=m {
            let (_, evaluator) = device(Role::Evaluator, Some(w)).await?;
            let clerk = clerk_id(&code, w, 'a');
            windows.push((w, clerk.clone(), session(here.as_ref(), &clerk).await?, evaluator));
        }
        centers.push(CenterSetup { code, letters: letters.clone(), kiosk, kiosk_id, display, windows });
    }
    Ok(centers)
}

/// A session for a clerk, as a sign-in creates it (signing in 160 clerks through the throttled,
/// Argon2-checked route would measure the sign-in, not the queue).
async fn session(store: &dyn Store, staff: &str) -> Result<String, String> {
    let token = bianmin::server::auth::new_token();
    let now = Utc::now();
    let expires = now + chrono::Duration::hours(12);
    store
        .create_session(&bianmin::server::auth::token_hash(&token), staff, now.timestamp(), expires.timestamp())
        .await
        .map_err(|e| format!("session of {staff}: {e}"))?;
    Ok(token)
}

// ---------------------------------------------------------------------------------------------
// The server processes.

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(data_dir: &std::path::Path, db_url: &str) -> Result<Self, String> {
        std::fs::create_dir_all(data_dir).map_err(|e| e.to_string())?;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", db_url])
            .env("BIANMIN_DATA_DIR", data_dir)
            .env("HOME", data_dir)
            // A setting the server does not know: it would refuse to start.
            .env_remove(POSTGRES_URL_VAR)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(data_dir.join("stderr.log")).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("{BIN}: {e}"))?;
        let mut server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                let said = std::fs::read_to_string(data_dir.join("stderr.log")).unwrap_or_default();
                return Err(format!("bianmin serve exited at start: {status}: {}", said.trim()));
            }
            if Instant::now() > deadline {
                return Err(format!("bianmin serve did not listen on {port} within 60 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client(base: &str, token: &str) -> ApiClient {
    let mut c = ApiClient::new(base, &NetworkSettings::default()).unwrap();
    c.set_token(Some(token.to_owned()));
    c
}

// ---------------------------------------------------------------------------------------------
// The load and what it records.

/// A command's reply as the client held it.
struct Reply {
    rev: u64,
    at: Instant,
}

/// What a center's terminals did and saw.
#[derive(Default)]
struct CenterLog {
    /// Tickets the kiosk was given: id, number, day.
    issued: Vec<(Uuid, TicketNumber, NaiveDate)>,
    /// Tickets call-next brought to a window, with the window.
    called: Vec<(Uuid, u32)>,
    finished: HashSet<Uuid>,
    skipped: HashSet<Uuid>,
    /// Every committed command's reply (issue, call, finish, no-show).
    replies: Vec<Reply>,
    /// What the display's feed delivered, in order, with when.
    feed: Vec<(Instant, QueueEvent)>,
    feed_stops: Vec<String>,
    /// What the evaluators saw change: window, ticket number, clerk id.
    facing: Vec<(u32, Option<TicketNumber>, Option<String>)>,
    failures: Vec<String>,
}

type Log = Arc<Mutex<CenterLog>>;

#[derive(Default)]
struct Totals {
    calls: Vec<Duration>,
    /// Paced only: each window's first call, all sent at one instant (reported apart).
    first_calls: Vec<Duration>,
    empty: u64,
}

/// The kiosk's line for one category: issues while fewer than `cap` tickets of the center wait.
/// With `fill`, returns once `cap` wait instead.
async fn kiosk(
    c: ApiClient,
    letter: char,
    log: Log,
    waiting: Arc<AtomicI64>,
    cap: i64,
    stop: Arc<AtomicBool>,
    fill: bool,
) {
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        if waiting.load(Ordering::Relaxed) >= cap {
            if fill {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        let mut request = IssueTicket::new(letter);
        if i.is_multiple_of(7) {
            request.green = Some(GreenReason::Elderly);
        }
        i += 1;
        match c.kiosk_issue(&request).await {
            Ok(slip) => {
                let at = Instant::now();
                waiting.fetch_add(1, Ordering::Relaxed);
                let mut log = log.lock().unwrap();
                if let Some(t) = &slip.change.ticket {
                    log.issued.push((t.id, t.number, t.day));
                }
                log.replies.push(Reply { rev: slip.change.rev, at });
            }
            Err(e) => {
                log.lock().unwrap().failures.push(format!("kiosk: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// How a clerk paces itself: from when its first call goes out, and how long it serves.
#[derive(Clone, Copy)]
struct Pace {
    start: Option<tokio::time::Instant>,
    serve_ms: Option<u64>,
}

#[allow(clippy::too_many_arguments)]
async fn clerk(
    c: ApiClient,
    window: u32,
    log: Log,
    waiting: Arc<AtomicI64>,
    stop: Arc<AtomicBool>,
    totals: Arc<Mutex<Totals>>,
    pace: Pace,
    seed: u64,
) {
    let mut n = 0u64;
    let mut calls = Vec::new();
    let mut first_call = None;
    let mut empty = 0;
    // Jitter from a seed of the window's own, unique in the county: a run is repeatable. (Seeded
    // by its number, window k of every center served for the same times and called at the same
    // instants all run long, twenty windows in step: a wave no county's halls make.)
    let mut rng = fastrand::Rng::with_seed(seed);
    if let Some(start) = pace.start {
        tokio::time::sleep_until(start).await;
    }
    // Only the call sent at the start instant is that instant's: a window whose first call failed
    // or found the line empty makes its next one at its own pace, counted with the rest.
    let mut at_the_instant = pace.start.is_some();
    while !stop.load(Ordering::Relaxed) {
        let sent = Instant::now();
        let first = std::mem::take(&mut at_the_instant);
        let change = match c.call_next(window).await {
            Ok(change) => change,
            Err(e) if e.problem_code() == Some("queue_empty") => {
                empty += 1;
                tokio::time::sleep(EMPTY_PAUSE).await;
                continue;
            }
            Err(e) => {
                log.lock().unwrap().failures.push(format!("window {window} call-next: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let at = Instant::now();
        if first {
            first_call = Some(at - sent);
        } else {
            calls.push(at - sent);
        }
        waiting.fetch_sub(1, Ordering::Relaxed);
        let Some(ticket) = change.ticket.as_ref().map(|t| t.id) else {
            log.lock().unwrap().failures.push(format!("window {window}: call-next answered without a ticket"));
            continue;
        };
        {
            let mut log = log.lock().unwrap();
            log.called.push((ticket, window));
            log.replies.push(Reply { rev: change.rev, at });
        }
        n += 1;
        if let Some(serve) = pace.serve_ms {
            tokio::time::sleep(Duration::from_millis(rng.u64(serve / 2..=serve + serve / 2))).await;
        }
        let skip = n.is_multiple_of(SKIP_EVERY);
        let done = if skip { c.no_show(window).await } else { c.finish_service(window).await };
        let at = Instant::now();
        let mut log = log.lock().unwrap();
        match done {
            Ok(change) => {
                log.replies.push(Reply { rev: change.rev, at });
                if skip {
                    log.skipped.insert(ticket);
                } else {
                    log.finished.insert(ticket);
                }
            }
            Err(e) => log.failures.push(format!("window {window} {}: {e}", if skip { "no-show" } else { "finish" })),
        }
    }
    let mut totals = totals.lock().unwrap();
    totals.calls.extend(calls);
    totals.first_calls.extend(first_call);
    totals.empty += empty;
}

async fn display(c: ApiClient, log: Log, last_rev: Arc<AtomicU64>) {
    let mut feed = c.follow_queue(None);
    while let Some(item) = feed.recv().await {
        let at = Instant::now();
        match item {
            QueueFeed::Event(event @ (QueueEvent::Snapshot(_) | QueueEvent::Change(_))) => {
                last_rev.store(event.rev(), Ordering::Relaxed);
                log.lock().unwrap().feed.push((at, event));
            }
            QueueFeed::Event(QueueEvent::RecordsChanged { .. }) | QueueFeed::Connected => {}
            QueueFeed::Lost(e) => log.lock().unwrap().feed_stops.push(format!("lost: {e}")),
            QueueFeed::Stopped(e) => {
                log.lock().unwrap().feed_stops.push(format!("stopped: {e}"));
                return;
            }
        }
    }
}

async fn evaluator(c: ApiClient, window: u32, log: Log, stop: Arc<AtomicBool>, seed: u64) {
    let mut last = None;
    // Each device was switched on at its own moment: the looks of a hall's evaluators are not
    // in step with each other.
    let phase = fastrand::Rng::with_seed(seed).u64(0..EVALUATOR_LOOK.as_millis() as u64);
    tokio::time::sleep(Duration::from_millis(phase)).await;
    let mut every = tokio::time::interval(EVALUATOR_LOOK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        every.tick().await;
        match c.facing(window).await {
            Ok(f) => {
                let seen = (f.ticket.map(|t| t.number), f.clerk.map(|c| c.id));
                if last.as_ref() != Some(&seen) {
                    log.lock().unwrap().facing.push((window, seen.0, seen.1.clone()));
                    last = Some(seen);
                }
            }
            Err(e) => log.lock().unwrap().failures.push(format!("evaluator {window}: {e}")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One backend.

async fn run_backend(backend: &str, url: &str, processes: usize, args: &Args, dir: &std::path::Path) -> bool {
    let (n, m) = (args.centers, args.windows);
    let started = Instant::now();
    let centers = match set_up(url, n, m).await {
        Ok(c) => c,
        Err(e) => {
            println!("{backend}: FAIL setup: {e}");
            return false;
        }
    };
    let servers = match (0..processes)
        .map(|i| Server::start(&dir.join(format!("server-{i}")), url))
        .collect::<Result<Vec<Server>, String>>()
    {
        Ok(s) => s,
        Err(e) => {
            println!("{backend}: FAIL {e}");
            return false;
        }
    };
    let bases: Vec<String> = servers.iter().map(Server::base).collect();
    let pids: Vec<String> = servers.iter().map(|s| s.child.id().to_string()).collect();
    println!(
        "{backend}: {n} centers x {m} windows on {processes} server process(es) (pids {}), set up in {:.1} s; load model: {}",
        pids.join(","),
        started.elapsed().as_secs_f64(),
        args.model()
    );
    // Every terminal goes to one of the processes, in turn, or (`--by-center`) to its center's.
    let mut turn = 0usize;
    let by_center = args.by_center;
    let mut next_base = |center: usize| {
        turn += 1;
        bases[if by_center { center } else { turn } % bases.len()].clone()
    };

    let stop = Arc::new(AtomicBool::new(false));
    let feeds_stop = Arc::new(AtomicBool::new(false));
    let totals = Arc::new(Mutex::new(Totals::default()));
    let mut logs = Vec::new();
    let mut display_revs = Vec::new();
    let mut display_tasks = Vec::new();
    let mut evaluator_tasks = Vec::new();
    let mut load_tasks = Vec::new();
    let mut waitings = Vec::new();
    for (k, center) in centers.iter().enumerate() {
        let log: Log = Arc::default();
        let last = Arc::new(AtomicU64::new(0));
        display_tasks.push(tokio::spawn(display(client(&next_base(k), &center.display), log.clone(), last.clone())));
        for (w, _, _, token) in &center.windows {
            evaluator_tasks.push(tokio::spawn(evaluator(
                client(&next_base(k), token),
                *w,
                log.clone(),
                feeds_stop.clone(),
                evaluator_tasks.len() as u64,
            )));
        }
        logs.push(log);
        display_revs.push(last);
    }
    // The displays are connected before the first ticket.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cap = WAITING_PER_WINDOW * i64::from(m);
    // The line filled before the clerks start (as at opening time), by the same kiosks.
    let mut fill = Vec::new();
    for (k, (center, log)) in centers.iter().zip(&logs).enumerate() {
        let waiting = Arc::new(AtomicI64::new(0));
        let kiosk_client = client(&next_base(k), &center.kiosk);
        for letter in &center.letters {
            let never = Arc::new(AtomicBool::new(false));
            let share = cap / center.letters.len() as i64 + 1;
            let (c, log, waiting) = (kiosk_client.clone(), log.clone(), waiting.clone());
            let own = Arc::new(AtomicI64::new(0));
            let letter = *letter;
            fill.push(tokio::spawn(async move {
                kiosk(c, letter, log, own.clone(), share, never, true).await;
                waiting.fetch_add(own.load(Ordering::Relaxed), Ordering::Relaxed);
            }));
        }
        waitings.push((waiting, kiosk_client));
    }
    for task in fill {
        let _ = task.await;
    }
    let load_before = load_average();
    let load_started = Instant::now();
    // Paced: every window's first call at one instant, once every task is spawned.
    let pace = Pace {
        start: args.serve_ms.map(|_| tokio::time::Instant::now() + Duration::from_millis(500)),
        serve_ms: args.serve_ms,
    };
    for (k, ((center, log), (waiting, kiosk_client))) in centers.iter().zip(&logs).zip(&waitings).enumerate() {
        // Issuing lines in every category at once, enough of them (one per two windows) that the
        // clerks, not the kiosk, set the pace.
        let lines = center.letters.len().max(m as usize / 2);
        for letter in center.letters.iter().cycle().take(lines) {
            load_tasks.push(tokio::spawn(kiosk(
                kiosk_client.clone(),
                *letter,
                log.clone(),
                waiting.clone(),
                cap,
                stop.clone(),
                false,
            )));
        }
        for (w, _, token, _) in &center.windows {
            load_tasks.push(tokio::spawn(clerk(
                client(&next_base(k), token),
                *w,
                log.clone(),
                waiting.clone(),
                stop.clone(),
                totals.clone(),
                pace,
                load_tasks.len() as u64,
            )));
        }
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for task in load_tasks {
        let _ = task.await;
    }
    let elapsed = load_started.elapsed();
    let load_after = load_average();

    // The queue as it ended, per center, and the displays given time to reach it.
    let mut finals = Vec::new();
    for (center, last) in centers.iter().zip(&display_revs) {
        let snapshot = match client(&bases[0], &center.display).queue().await {
            Ok(s) => s,
            Err(e) => {
                println!("{backend}: FAIL reading the queue of {}: {e}", center.code);
                return false;
            }
        };
        let deadline = Instant::now() + SETTLE;
        while last.load(Ordering::Relaxed) < snapshot.rev && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        finals.push(snapshot);
    }
    feeds_stop.store(true, Ordering::Relaxed);
    for task in evaluator_tasks {
        let _ = task.await;
    }
    for task in display_tasks {
        task.abort();
    }
    drop(servers);

    let mut problems = Vec::new();
    let mut delays = Vec::new();
    let mut snapshots_after_first = 0;
    let mut facing_changes = 0;
    for ((center, log), snapshot) in centers.iter().zip(&logs).zip(&finals) {
        let log = log.lock().unwrap();
        check_center(center, &log, snapshot, &mut problems);
        let (d, s) = feed_delays(&log);
        delays.extend(d);
        snapshots_after_first += s;
        facing_changes += log.facing.len();
    }
    let mut totals = totals.lock().unwrap();
    totals.calls.sort();
    totals.first_calls.sort();
    delays.sort();
    let calls = totals.calls.len();
    let issued: usize = logs.iter().map(|l| l.lock().unwrap().issued.len()).sum();
    let p = |v: &[Duration], q| ms(percentile(v, q));
    let windows = n * m;
    println!(
        "  load average {load_before} before, {load_after} after; {issued} tickets issued by {n} kiosks in {:.1} s",
        elapsed.as_secs_f64()
    );
    println!(
        "  call-next      {:.0} calls/s ({calls} calls{}, {} refused as the line was empty), p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms   (goal at {windows} windows: p99 < {GOAL_CALL_P99_MS} ms)",
        (calls + totals.first_calls.len()) as f64 / elapsed.as_secs_f64(),
        if totals.first_calls.is_empty() { "" } else { " after the first" },
        totals.empty,
        p(&totals.calls, 0.50),
        p(&totals.calls, 0.99),
        ms(totals.calls.last().copied().unwrap_or_default()),
    );
    if !totals.first_calls.is_empty() {
        let first = &totals.first_calls;
        println!(
            "  first calls    {} windows calling at one instant (counted apart from the line above): p50 {:.2} ms  p99 {:.2} ms  last answered after {:.2} ms",
            first.len(),
            p(first, 0.50),
            p(first, 0.99),
            ms(first.last().copied().unwrap_or_default()),
        );
    }
    println!(
        "  feed delivery  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms over {} changes at {n} displays ({snapshots_after_first} catch-up snapshots)   (goal: p99 < {GOAL_FEED_P99_MS} ms)",
        p(&delays, 0.50),
        p(&delays, 0.99),
        ms(delays.last().copied().unwrap_or_default()),
        delays.len(),
    );
    println!("  evaluators     {windows} looking once a second, {facing_changes} changes seen");
    println!("  (feed delivery: from the client holding a command's reply to the display's feed receiving the change)");
    if problems.is_empty() {
        println!(
            "  checks         ok: no ticket called twice or lost, numbers gapless, feeds in order and equal to the queue, no other center's data seen"
        );
        true
    } else {
        for problem in problems.iter().take(20) {
            println!("  FAIL {problem}");
        }
        if problems.len() > 20 {
            println!("  FAIL ... and {} more", problems.len() - 20);
        }
        false
    }
}

/// What must hold for one center at the end.
fn check_center(center: &CenterSetup, log: &CenterLog, end: &QueueSnapshot, problems: &mut Vec<String>) {
    let code = &center.code;
    for f in log.failures.iter().take(5) {
        problems.push(format!("{code}: a command failed: {f}"));
    }
    if log.failures.len() > 5 {
        problems.push(format!("{code}: {} commands failed in all", log.failures.len()));
    }
    // What the kiosk issued: what its replies said, and what the display saw it issue (a request
    // the client gave up on may still have been committed; the failure is reported above).
    let mut all_issued: HashMap<Uuid, (TicketNumber, NaiveDate)> =
        log.issued.iter().map(|(id, n, day)| (*id, (*n, *day))).collect();
    for (_, event) in &log.feed {
        if let QueueEvent::Change(c) = event
            && c.by == center.kiosk_id
            && let Some(t) = &c.ticket
        {
            all_issued.entry(t.id).or_insert((t.number, t.day));
        }
    }
    // Numbers gapless per category and day.
    let mut numbers: BTreeMap<(NaiveDate, char), Vec<u32>> = BTreeMap::new();
    for (number, day) in all_issued.values() {
        numbers.entry((*day, number.category)).or_default().push(number.seq);
    }
    for ((day, letter), mut seqs) in numbers {
        seqs.sort_unstable();
        if seqs.iter().enumerate().any(|(i, s)| *s as usize != i + 1) {
            problems.push(format!("{code}: the numbers of {letter} on {day} are not 1..{} without a gap", seqs.len()));
        }
    }
    let issued: HashMap<Uuid, TicketNumber> = all_issued.iter().map(|(id, (n, _))| (*id, *n)).collect();
    let numbers: HashSet<TicketNumber> = issued.values().copied().collect();
    // No ticket called twice, none of another center.
    let mut called = HashSet::new();
    for (id, window) in &log.called {
        if !called.insert(*id) {
            problems.push(format!("{code}: ticket {} was called twice (again at window {window})", show(&issued, id)));
        }
        if !issued.contains_key(id) {
            problems.push(format!("{code}: window {window} was given a ticket its kiosk never issued ({id})"));
        }
    }
    // None lost: the queue's end state accounts for every ticket issued.
    let mut in_play = HashSet::new();
    for t in &end.tickets {
        in_play.insert(t.id);
        let ok = match t.status {
            TicketStatus::Waiting => issued.contains_key(&t.id) && !called.contains(&t.id),
            TicketStatus::NoShow => log.skipped.contains(&t.id),
            _ => false,
        };
        if !ok {
            let why = if t.status.is_at_window() && !called.contains(&t.id) {
                format!(" at window {}, whose clerk never had the reply of that call", t.window.unwrap_or_default())
            } else {
                String::new()
            };
            problems.push(format!("{code}: at the end {} is {}{why}", t.number, t.status.label()));
        }
    }
    for (id, number) in &issued {
        if !called.contains(id) && !in_play.contains(id) {
            problems.push(format!("{code}: ticket {number} was issued, never called, and is not waiting: lost"));
        }
    }
    if end.done as usize != log.finished.len() {
        problems.push(format!(
            "{code}: the queue counts {} finished, the clerks finished {}",
            end.done,
            log.finished.len()
        ));
    }
    // The display's feed: a snapshot first, then every revision once and in order (a catch-up
    // snapshot may jump ahead), and snapshot plus changes is the queue at the end.
    let own = format!("{code}-");
    let ours = |by: &str| by.starts_with(&own) || by == center.kiosk_id;
    let mut mirror: Option<QueueSnapshot> = None;
    for (_, event) in &log.feed {
        match event {
            QueueEvent::Snapshot(s) => {
                if let Some(m) = &mirror
                    && s.rev < m.rev
                {
                    problems
                        .push(format!("{code}: the display's catch-up snapshot went back from {} to {}", m.rev, s.rev));
                }
                for t in &s.tickets {
                    if !issued.contains_key(&t.id) {
                        problems.push(format!(
                            "{code}: the display's snapshot shows {} which this center never issued",
                            t.number
                        ));
                    }
                }
                mirror = Some(s.clone());
            }
            QueueEvent::Change(c) => {
                let Some(m) = mirror.as_mut() else {
                    problems
                        .push(format!("{code}: the display's feed began with a change ({}), not a snapshot", c.rev));
                    continue;
                };
                if c.rev != m.rev + 1 {
                    problems.push(format!("{code}: the display's feed went from revision {} to {}", m.rev, c.rev));
                }
                if let Some(t) = &c.ticket
                    && !issued.contains_key(&t.id)
                {
                    problems.push(format!(
                        "{code}: the display was shown {} ({}), not a ticket of this center",
                        t.number, c.rev
                    ));
                }
                if !ours(&c.by) {
                    problems.push(format!("{code}: the display was shown a change by {}, not of this center", c.by));
                }
                m.apply(c);
            }
            QueueEvent::RecordsChanged { .. } => {}
        }
    }
    match &mirror {
        Some(m) if m == end => {}
        Some(m) => problems.push(format!(
            "{code}: the display's queue (revision {}, {} in play) is not the queue at the end (revision {}, {} in play)",
            m.rev,
            m.tickets.len(),
            end.rev,
            end.tickets.len()
        )),
        None => problems.push(format!("{code}: the display's feed delivered nothing ({:?})", log.feed_stops)),
    }
    // The evaluators: only this center's tickets and clerks.
    for (window, number, clerk) in &log.facing {
        if let Some(n) = number
            && !numbers.contains(n)
        {
            problems.push(format!("{code}: evaluator {window} showed {n}, not a number of this center"));
        }
        if let Some(c) = clerk
            && !c.starts_with(&own)
        {
            problems.push(format!("{code}: evaluator {window} showed clerk {c}, not of this center"));
        }
    }
}

fn show(issued: &HashMap<Uuid, TicketNumber>, id: &Uuid) -> String {
    issued.get(id).map_or_else(|| id.to_string(), ToString::to_string)
}

/// From each reply to the display receiving its revision (a change, or a catch-up snapshot that
/// covered it); and how many snapshots came after the first.
fn feed_delays(log: &CenterLog) -> (Vec<Duration>, usize) {
    let mut first_seen: Vec<(u64, Instant)> = Vec::new();
    let mut snapshots = 0;
    for (at, event) in &log.feed {
        match event {
            QueueEvent::Snapshot(s) => {
                if !first_seen.is_empty() {
                    snapshots += 1;
                }
                first_seen.push((s.rev, *at));
            }
            QueueEvent::Change(c) => first_seen.push((c.rev, *at)),
            QueueEvent::RecordsChanged { .. } => {}
        }
    }
    // The first arrival covering each revision: events are in arrival order, so the first whose
    // revision is at least the reply's.
    let mut delays = Vec::new();
    for reply in &log.replies {
        let i = first_seen.partition_point(|(rev, _)| *rev < reply.rev);
        if let Some((_, at)) = first_seen.get(i) {
            delays.push(at.saturating_duration_since(reply.at));
        }
    }
    (delays, snapshots)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
