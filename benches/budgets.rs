//! Budgets of the clerk terminal, measured on the release binary in a pseudo-terminal:
//!
//! - the first frame within 50 ms of start, before the embedded server answers;
//! - nothing written to the terminal while idle;
//! - peak resident memory under 40 MB once the catalogue is loaded;
//! - the shipped binary (`cargo build --profile dist`, built here first) under 15 MB.
//!
//! Prints a table; asserts nothing (timings depend on the machine). `cargo bench --bench budgets`.

#[path = "../tests/common/pty.rs"]
mod pty;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pty::{Pty, Sandbox, Spawn, keys};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
const RUNS: usize = 7;
const TITLE: &str = "当前叫号";
const ONLINE: &str = "在线";
const SAMPLE_GUIDE: &str = "城乡居民基本养老保险参保登记";
const LONG: Duration = Duration::from_secs(60);

const FIRST_FRAME_BUDGET_MS: f64 = 50.0;
const RSS_BUDGET_MB: f64 = 40.0;
const BINARY_BUDGET_MB: f64 = 15.0;
const IDLE: Duration = Duration::from_secs(5);

struct StartTimes {
    first_frame_ms: Vec<f64>,
    online_ms: Vec<f64>,
    /// Runs where the frame came before 在线.
    frame_first: usize,
}

/// One start: spawn, wait for 在线, quit. Times are from spawn to the reader seeing the text.
fn one_start(sandbox: &Sandbox) -> (f64, f64) {
    let mut pty = Pty::spawn_with(BIN, sandbox, Spawn::new(24, 80).watch(TITLE).watch(ONLINE));
    if let Err(e) = pty.wait_for_every(|s| s.contains(ONLINE), LONG, Duration::from_millis(2)) {
        panic!("the terminal did not come online: {e}");
    }
    let frame = pty.first_seen(TITLE).expect("the title was seen before 在线");
    let online = pty.first_seen(ONLINE).expect("在线 was seen");
    pty.send_key(keys::Q);
    let status = pty.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "exit status {status:?}");
    (ms(frame), ms(online))
}

fn starts(fresh: bool) -> StartTimes {
    let seeded = Sandbox::new();
    if !fresh {
        one_start(&seeded); // seeds the database, not measured
    }
    let mut t = StartTimes { first_frame_ms: Vec::new(), online_ms: Vec::new(), frame_first: 0 };
    for _ in 0..RUNS {
        let fresh_sandbox;
        let sandbox = if fresh {
            fresh_sandbox = Sandbox::new();
            &fresh_sandbox
        } else {
            &seeded
        };
        let (frame, online) = one_start(sandbox);
        t.first_frame_ms.push(frame);
        t.online_ms.push(online);
        if frame < online {
            t.frame_first += 1;
        }
    }
    t
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::MIN, f64::max)
}

fn epoch_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// Waits until nothing has been written for `quiet`.
fn settle(pty: &Pty, quiet: Duration) {
    let deadline = Instant::now() + LONG;
    let mut last = pty.bytes_written();
    let mut since = Instant::now();
    while since.elapsed() < quiet && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        let now = pty.bytes_written();
        if now != last {
            last = now;
            since = Instant::now();
        }
    }
}

struct Steady {
    idle_bytes: usize,
    minute_in_window: bool,
    peak_rss_kib: Option<u64>,
    rss_kib: Option<u64>,
}

/// Starts on a seeded data dir, waits for the catalogue, then measures idle output and memory.
fn steady_state() -> Steady {
    let sandbox = Sandbox::new();
    one_start(&sandbox);
    let mut pty = Pty::spawn(BIN, &sandbox, 40, 120);
    if let Err(e) = pty.wait_for(|s| s.contains(ONLINE) && s.contains(SAMPLE_GUIDE), LONG) {
        panic!("the catalogue did not load: {e}");
    }
    settle(&pty, Duration::from_millis(500));
    let (t0, before) = (epoch_secs(), pty.bytes_written());
    std::thread::sleep(IDLE);
    let (t1, after) = (epoch_secs(), pty.bytes_written());
    let steady = Steady {
        idle_bytes: after - before,
        minute_in_window: ((t0 - 1.5) / 60.0).floor() != (t1 / 60.0).floor(),
        peak_rss_kib: pty.peak_rss_kib(),
        rss_kib: pty.rss_kib(),
    };
    pty.send_key(keys::Q);
    pty.wait_exit(Duration::from_secs(15));
    steady
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "OVER" }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing. Either way: run.
    let seeded = starts(false);
    let fresh = starts(true);
    let steady = steady_state();
    let binary = dist_binary_size();

    let mb = |kib: u64| kib as f64 / 1024.0;
    let mut rows: Vec<[String; 4]> = Vec::new();
    for (label, t) in [("seeded data dir", &seeded), ("fresh data dir", &fresh)] {
        let (med, mx) = (median(&t.first_frame_ms), max(&t.first_frame_ms));
        rows.push([
            format!("first frame, {label} (n={RUNS})"),
            format!("median {med:.1} ms, max {mx:.1} ms"),
            format!("{FIRST_FRAME_BUDGET_MS} ms"),
            verdict(mx <= FIRST_FRAME_BUDGET_MS).into(),
        ]);
        rows.push([
            format!("  until 在线, {label}"),
            format!("median {:.1} ms, max {:.1} ms", median(&t.online_ms), max(&t.online_ms)),
            "-".into(),
            "".into(),
        ]);
        rows.push([
            "  frame before 在线".into(),
            format!("{} of {RUNS} runs", t.frame_first),
            format!("{RUNS} of {RUNS}"),
            verdict(t.frame_first == RUNS).into(),
        ]);
    }
    let minute = if steady.minute_in_window { " (a minute tick fell inside)" } else { "" };
    rows.push([
        format!("bytes written in {} s idle", IDLE.as_secs()),
        format!("{}{minute}", steady.idle_bytes),
        "0".into(),
        verdict(steady.idle_bytes == 0 || (steady.minute_in_window && steady.idle_bytes <= 512)).into(),
    ]);
    rows.push([
        "peak RSS (VmHWM), catalogue loaded".into(),
        match (steady.peak_rss_kib, steady.rss_kib) {
            (Some(peak), Some(now)) => format!("{:.1} MB (now {:.1} MB)", mb(peak), mb(now)),
            (Some(peak), None) => format!("{:.1} MB", mb(peak)),
            _ => "unavailable (no /proc)".into(),
        },
        format!("{RSS_BUDGET_MB} MB"),
        steady.peak_rss_kib.map_or("?", |k| verdict(mb(k) <= RSS_BUDGET_MB)).into(),
    ]);
    rows.push([
        "binary size (dist profile)".into(),
        binary.map_or("unavailable".into(), |b| format!("{:.2} MB", b as f64 / 1024.0 / 1024.0)),
        format!("{BINARY_BUDGET_MB} MB"),
        binary.map_or("?", |b| verdict(b as f64 / 1024.0 / 1024.0 <= BINARY_BUDGET_MB)).into(),
    ]);

    let width = |s: &str| s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum::<usize>();
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(width(s))));
    let header = ["measure", "measured", "budget", ""];
    let widths: Vec<usize> =
        (0..4).map(|i| rows.iter().map(|r| width(&r[i])).chain([width(header[i])]).max().unwrap_or(0)).collect();
    println!();
    println!("bianmin budgets ({BIN})");
    let line = |cells: [&str; 4]| {
        let cells: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| pad(c, *w)).collect();
        println!("  {}", cells.join("  ").trim_end());
    };
    line(header);
    println!("  {}", "-".repeat(widths.iter().sum::<usize>() + 6));
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3]]);
    }
    println!();
    println!("  first frame: spawn until the PTY reader has the pane title on screen; 在线: until the");
    println!("  status bar says online (embedded server started, signed in). Fresh runs seed a new database.");
}

/// The size of the binary that ships: built with the `dist` profile (fat LTO), which the release
/// profile measured above is not. Builds it first (minutes on 2 cores, once).
fn dist_binary_size() -> Option<u64> {
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--locked", "--profile", "dist", "--bin", "bianmin"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .ok()?;
    if !status.success() {
        return None;
    }
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| format!("{}/target", env!("CARGO_MANIFEST_DIR")));
    let exe = format!("{target}/dist/bianmin{}", std::env::consts::EXE_SUFFIX);
    std::fs::metadata(exe).map(|m| m.len()).ok()
}
