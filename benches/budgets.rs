//! Budgets of the clerk terminal, measured on the release binary in a pseudo-terminal:
//!
//! - the first frame within 50 ms of start, before the embedded server answers;
//! - nothing written to the terminal while idle;
//! - peak resident memory under 40 MB once the catalogue is loaded;
//! - the shipped binary (`cargo build --profile dist`, built here first) under 15 MB.
//!
//! And at catalogue scale (issue #19), the desk terminal with 91, 91 + 10,000 and 91 + 100,000
//! guides cached (generated like the search bench's, imported with `bianmin import guides` into
//! the embedded server's database, then synced once into the terminal's cache):
//!
//! - peak resident memory: < 40 MB at 10k, < 120 MB at 100k;
//! - search ready after start: from spawn until a query typed at the first frame shows results
//!   (< 150 ms at 10k);
//! - key to screen: the first key of a query until its results are drawn, and moving down the
//!   full list until the selection moved (< 16 ms).
//!
//! Prints tables; asserts nothing (timings depend on the machine). `cargo bench --bench budgets`
//! runs everything; `cargo bench --bench budgets -- start` only the start-up and binary figures,
//! `-- catalogue` only the catalogue-scale ones (`-- catalogue 0 10000`: generated guides added
//! to the 91, per size).
//!
//! `-- delta 10000 100000`: a 10-guide delta (5 changed, 5 new) applied to a cache of 91 + N
//! guides whose index the terminal holds, as after a delta sync: time until the changed catalogue
//! is searchable, until its index is stored again, and the peak memory of doing it, when the
//! index is rebuilt from the whole cache (as before issue #19's in-place update) and when it is
//! updated in place. Each run is a child process on a fresh copy of the cache.

#[path = "../tests/common/pty.rs"]
mod pty;

#[path = "common/catalogue.rs"]
mod catalogue;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pty::{Pty, Sandbox, Spawn, keys};

/// The binary measured: the release build cargo made for this bench, or with
/// `BIANMIN_BENCH_PROFILE=dist` the `dist` build (fat LTO), the one copied to the window PCs,
/// built here first (minutes on 2 cores), or `BIANMIN_BENCH_BIN=PATH` a binary built beforehand
/// (a `dist` build in a target directory of its own). Every table names the binary it measured.
fn bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(path) = std::env::var_os("BIANMIN_BENCH_BIN") {
        return BIN.get_or_init(|| path.to_string_lossy().into_owned());
    }
    BIN.get_or_init(|| match std::env::var("BIANMIN_BENCH_PROFILE").as_deref() {
        Ok("dist") => {
            let status = std::process::Command::new(env!("CARGO"))
                .args(["build", "--locked", "--profile", "dist", "--bin", "bianmin"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("run cargo build --profile dist");
            assert!(status.success(), "the dist build failed");
            dist_binary_path()
        }
        Ok("release") | Err(_) => env!("CARGO_BIN_EXE_bianmin").to_owned(),
        Ok(other) => panic!("BIANMIN_BENCH_PROFILE={other}: release or dist"),
    })
}

fn dist_binary_path() -> String {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| format!("{}/target", env!("CARGO_MANIFEST_DIR")));
    format!("{target}/dist/bianmin{}", std::env::consts::EXE_SUFFIX)
}
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
    let mut pty = Pty::spawn_with(bin(), sandbox, Spawn::new(24, 80).watch(TITLE).watch(ONLINE));
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
    let mut pty = Pty::spawn(bin(), &sandbox, 40, 120);
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
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let only = args.first().map(String::as_str);
    if only == Some("delta-child") {
        delta_child(std::path::Path::new(&args[1]), &args[2]);
        return;
    }
    if only == Some("delta") {
        let sizes: Vec<usize> = args.iter().skip(1).filter_map(|n| n.parse().ok()).collect();
        delta_budgets(if sizes.is_empty() { &[10_000, 100_000] } else { &sizes });
        return;
    }
    if only != Some("catalogue") {
        start_budgets();
    }
    if only != Some("start") {
        let mut sizes: Vec<usize> = args.iter().skip(1).filter_map(|n| n.parse().ok()).collect();
        if sizes.is_empty() {
            sizes = vec![0, 10_000, 100_000];
        }
        catalogue_budgets(&sizes);
    }
}

fn start_budgets() {
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
    println!("bianmin budgets ({})", bin());
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
    std::fs::metadata(dist_binary_path()).map(|m| m.len()).ok()
}

const DOWN: &[u8] = b"\x1b[B";
/// How long a catalogue may take to sync or to become searchable before the bench gives up on
/// that size and says so.
const CATALOGUE_WAIT: Duration = Duration::from_secs(180);

struct Scale {
    guides: usize,
    import_s: Option<f64>,
    synced: Result<f64, String>,
    /// Spawn until the status bar says 在线 (signed in), per measured start.
    online_ms: Vec<f64>,
    /// Spawn until a query typed at the first frame shows results, per measured start.
    ready_all_ms: Vec<f64>,
    /// Peak RSS (VmHWM) KiB per measured start, taken once the results showed and output settled.
    peaks_kib: Vec<u64>,
    first_key_ms: Vec<f64>,
    down_ms: Vec<f64>,
    peak_rss_kib: Option<u64>,
    /// The same cache as a window PC has it: the terminal against `bianmin serve` in another
    /// process (no embedded server in the terminal). Per start: (在线 ms, search ready ms,
    /// peak RSS KiB of the terminal alone).
    remote: Vec<(f64, f64, Option<u64>)>,
    /// `bianmin guides search` as a process on the cached catalogue: wall ms, and peak RSS KiB
    /// when /usr/bin/time could report it.
    cli_search: Vec<(f64, Option<u64>)>,
}

/// `bianmin guides search 低保` as a process against the sandbox's cached catalogue, under
/// `/usr/bin/time -f %M` when there is one (peak RSS of that process alone).
fn cli_search(sandbox: &Sandbox) -> Option<(f64, Option<u64>)> {
    let timed = std::path::Path::new("/usr/bin/time").exists();
    let mut command = if timed {
        let mut c = std::process::Command::new("/usr/bin/time");
        c.args(["-f", "peak-rss-kib %M", bin()]);
        c
    } else {
        std::process::Command::new(bin())
    };
    command.args(["guides", "search", "低保"]).env_clear().envs(sandbox.env());
    let started = Instant::now();
    let output = command.output().ok()?;
    let wall = ms(started.elapsed());
    if !output.status.success() {
        eprintln!("guides search failed: {}", String::from_utf8_lossy(&output.stderr).trim());
        return None;
    }
    let rss = String::from_utf8_lossy(&output.stderr)
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-kib ").and_then(|k| k.trim().parse().ok()));
    Some((wall, rss))
}

/// One catalogue size: seed, import `extra` generated guides, sync them into the terminal's cache,
/// then start again with the catalogue cached and measure.
fn one_scale(extra: usize) -> Scale {
    let sandbox = Sandbox::new();
    one_start(&sandbox);
    let guides = 91 + extra;
    let mut scale = Scale {
        guides,
        import_s: None,
        synced: Err("not tried".into()),
        online_ms: Vec::new(),
        ready_all_ms: Vec::new(),
        peaks_kib: Vec::new(),
        first_key_ms: Vec::new(),
        down_ms: Vec::new(),
        peak_rss_kib: None,
        remote: Vec::new(),
        cli_search: Vec::new(),
    };
    if extra > 0 {
        let samples = bianmin::assets::bundled_catalogue().expect("bundled catalogue").guides;
        let generated = catalogue::generate(&samples, extra, 0x5EED_0000 + extra as u64);
        // One file, as a county would import it: the import streams it guide by guide.
        let database = format!("sqlite://{}", sandbox.data_dir().join("bianmin-server.db").display());
        // Only the import is timed, not writing its file.
        let mut import_time = std::time::Duration::ZERO;
        for (i, part) in generated.chunks(generated.len()).enumerate() {
            let file = sandbox.root().join(format!("generated-{i}.json"));
            let json = serde_json::json!({ "note": "generated for the budgets bench", "guides": part });
            std::fs::write(&file, serde_json::to_vec(&json).expect("JSON")).expect("write the catalogue");
            let started = Instant::now();
            let output = std::process::Command::new(bin())
                .args(["import", "guides", &file.display().to_string(), "--database", &database])
                .env_clear()
                .envs(sandbox.env())
                .output()
                .expect("run bianmin import guides");
            import_time += started.elapsed();
            if !output.status.success() {
                scale.synced = Err(format!("import failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
                return scale;
            }
        }
        scale.import_s = Some(import_time.as_secs_f64());
    }
    // Sync: the desk comes up and fetches the catalogue into its cache.
    let all = format!("共 {guides} 项");
    let pty = Pty::spawn_with(bin(), &sandbox, Spawn::new(40, 120).arg("--desk"));
    let started = Instant::now();
    scale.synced = match pty.wait_for_every(|s| s.contains(&all), CATALOGUE_WAIT, Duration::from_millis(20)) {
        Ok(()) => Ok(started.elapsed().as_secs_f64()),
        Err(_) => Err(format!("{all} not shown within {} s", CATALOGUE_WAIT.as_secs())),
    };
    quit(pty);
    if scale.synced.is_err() {
        return scale;
    }
    scale.cli_search = (0..RUNS).filter_map(|_| cli_search(&sandbox)).collect();
    // `BIANMIN_BENCH_KEEP=DIR`: a copy of the synced sandbox is left in DIR/<guides> for
    // profiling the terminal by hand (heaptrack, smaps) on the same data.
    if let Some(keep) = std::env::var_os("BIANMIN_BENCH_KEEP") {
        let to = std::path::Path::new(&keep).join(guides.to_string());
        let _ = std::fs::create_dir_all(&to);
        let copied = std::process::Command::new("cp").arg("-a").arg(sandbox.root()).arg(&to).status();
        eprintln!("sandbox kept in {} ({copied:?})", to.display());
    }
    // Starts with the catalogue cached, quit once the query's results show: time to 在线 and to
    // search ready, each per start (the last start below is measured further).
    for _ in 1..STARTS {
        let mut pty = Pty::spawn_with(bin(), &sandbox, with_env(Spawn::new(40, 120).arg("--desk")));
        if let Some((online, ready)) = start_to_ready(&mut pty) {
            scale.online_ms.push(online);
            scale.ready_all_ms.push(ready);
            settle(&pty, Duration::from_millis(500));
            scale.peaks_kib.extend(pty.peak_rss_kib());
        }
        quit(pty);
    }
    // Measured start, the catalogue cached: a query typed at the first frame, until its results.
    let mut pty = Pty::spawn_with(bin(), &sandbox, with_env(Spawn::new(40, 120).arg("--desk")));
    match start_to_ready(&mut pty) {
        Some((online, ready)) => {
            scale.online_ms.push(online);
            scale.ready_all_ms.push(ready);
        }
        None => {
            quit(pty);
            return scale;
        }
    }
    settle(&pty, Duration::from_millis(500));
    // Before any key: the same moment as the other starts' figure.
    scale.peaks_kib.extend(pty.peak_rss_kib());
    // Key to screen: the first key of a query (from the full list), then moving down the list.
    for letter in [b"y", b"s", b"h", b"c", b"n"] {
        pty.send_key(keys::ESC);
        if pty.wait_for_every(|s| s.contains(&all), LONG, Duration::from_millis(1)).is_err() {
            break;
        }
        settle(&pty, Duration::from_millis(150));
        let started = Instant::now();
        pty.send(letter);
        if pty.wait_for_every(found, LONG, Duration::from_millis(1)).is_ok() {
            scale.first_key_ms.push(ms(started.elapsed()));
        }
        settle(&pty, Duration::from_millis(150));
    }
    pty.send_key(keys::ESC);
    if pty.wait_for_every(|s| s.contains(&all), LONG, Duration::from_millis(1)).is_ok() {
        settle(&pty, Duration::from_millis(150));
        for i in 2..=6 {
            let at = format!("共 {guides} 项，第 {i} 项");
            let started = Instant::now();
            pty.send(DOWN);
            if pty.wait_for_every(|s| s.contains(&at), LONG, Duration::from_millis(1)).is_ok() {
                scale.down_ms.push(ms(started.elapsed()));
            }
            settle(&pty, Duration::from_millis(150));
        }
    }
    scale.peak_rss_kib = pty.peak_rss_kib();
    quit(pty);
    scale.remote = remote_starts(&sandbox);
    scale
}

/// Starts of the desk terminal with the sandbox's cache against `bianmin serve` over the same
/// server database in a process of its own, as a window PC runs it: 在线, search ready and the
/// terminal's own peak RSS, per start.
fn remote_starts(sandbox: &Sandbox) -> Vec<(f64, f64, Option<u64>)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port());
    let Ok(port) = port else { return Vec::new() };
    let database = format!("sqlite://{}", sandbox.data_dir().join("bianmin-server.db").display());
    let server = std::process::Command::new(bin())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", &database])
        .env_clear()
        .envs(sandbox.env())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut server) = server else { return Vec::new() };
    let deadline = Instant::now() + LONG;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut starts = Vec::new();
    // The first start of this terminal against that server is not measured: it signs in from
    // a new origin and keeps its session, as a window PC does once.
    for run in 0..=STARTS {
        let spawn = Spawn::new(40, 120)
            .arg("--desk")
            .arg("--server")
            .arg(format!("http://127.0.0.1:{port}"))
            .env("BIANMIN_STAFF_ID", "d001")
            .env("BIANMIN_PASSWORD", "bianmin-demo");
        let spawn = with_env(spawn);
        let mut pty = Pty::spawn_with(bin(), sandbox, spawn);
        if run == 0 {
            let _ = pty.wait_for_every(|s| s.contains(ONLINE), LONG, Duration::from_millis(20));
            settle(&pty, Duration::from_millis(500));
            quit(pty);
            continue;
        }
        if let Some((online, ready)) = start_to_ready(&mut pty) {
            settle(&pty, Duration::from_millis(500));
            starts.push((online, ready, pty.peak_rss_kib()));
        }
        quit(pty);
    }
    let _ = server.kill();
    let _ = server.wait();
    starts
}

/// Measured starts with the catalogue cached, per size.
const STARTS: usize = 3;

/// A measured start's spawn: watching the first frame and 在线, with the variables of
/// `BIANMIN_BENCH_ENV` (`K=V` pairs separated by spaces, e.g. `MALLOC_ARENA_MAX=1`) set in the
/// terminal's environment, for A/B runs of one binary with one setting flipped. The table says
/// which were set.
fn with_env(spawn: Spawn) -> Spawn {
    bench_env().iter().fold(spawn, |s, (k, v)| s.env(k, v)).watch("咨询导办").watch(ONLINE)
}

fn bench_env() -> Vec<(String, String)> {
    let value = std::env::var("BIANMIN_BENCH_ENV").unwrap_or_default();
    value.split_whitespace().filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// The results' summary line (`找到 N 项，…，Esc 清空`, or the closest guides); not 找到 alone,
/// which the key hints (F5 未找到) always show.
fn found(s: &str) -> bool {
    s.contains("Esc 清空") || s.contains("以下最接近")
}

/// A start with the catalogue cached: `dibao` typed at the first frame, until its results are
/// drawn, and until the status bar says 在线. Returns (在线 ms, search ready ms) from spawn.
fn start_to_ready(pty: &mut Pty) -> Option<(f64, f64)> {
    pty.wait_for_every(|s| s.contains("咨询导办"), LONG, Duration::from_millis(1)).ok()?;
    pty.send(b"dibao");
    pty.wait_for_every(found, CATALOGUE_WAIT, Duration::from_millis(1)).ok()?;
    let ready = ms(pty.spawned_at().elapsed());
    pty.wait_for_every(|s| s.contains(ONLINE), LONG, Duration::from_millis(1)).ok()?;
    Some((ms(pty.first_seen(ONLINE)?), ready))
}

fn quit(mut pty: Pty) {
    pty.send_ctrl_c();
    pty.wait_exit(Duration::from_secs(15));
}

fn catalogue_budgets(sizes: &[usize]) {
    let scales: Vec<Scale> = sizes.iter().map(|&n| one_scale(n)).collect();
    let mb = |kib: u64| kib as f64 / 1024.0;
    let stats = |v: &[f64]| {
        if v.is_empty() {
            "not measured".to_owned()
        } else {
            format!("median {:.1} ms, max {:.1} ms (n={})", median(v), max(v), v.len())
        }
    };
    println!();
    println!("bianmin at catalogue scale: the desk terminal, catalogue cached ({})", bin());
    let env = std::env::var("BIANMIN_BENCH_ENV").unwrap_or_default();
    if !env.trim().is_empty() {
        println!("terminal started with: {}", env.trim());
    }
    println!();
    println!(
        "| guides | import s | first sync s | peak RSS MB (goal) | until 在线 ms | search ready ms (goal) | first key of a query | down the full list (goal 16 ms) | `guides search` process (goal: fzf --filter, 61 ms at 10k) |"
    );
    println!("|---:|---:|---:|---|---|---|---|---|---|");
    for s in &scales {
        let rss_goal = if s.guides <= 10_091 { 40.0 } else { 120.0 };
        // Judged by the highest start: a start over the goal is over, whatever the others did.
        let rss = match s.peaks_kib.iter().max() {
            None => "not measured".to_owned(),
            Some(&top) => format!(
                "{} ({rss_goal} {}); after the keys {}",
                s.peaks_kib.iter().map(|&k| format!("{:.1}", mb(k))).collect::<Vec<_>>().join(", "),
                verdict(mb(top) <= rss_goal),
                s.peak_rss_kib.map_or("?".into(), |k| format!("{:.1}", mb(k))),
            ),
        };
        let ready = if s.ready_all_ms.is_empty() {
            "not reached".to_owned()
        } else {
            let r = median(&s.ready_all_ms);
            let spread = format!("median {r:.0}, max {:.0} (n={})", max(&s.ready_all_ms), s.ready_all_ms.len());
            if s.guides <= 10_091 { format!("{spread} (150 {})", verdict(r <= 150.0)) } else { spread }
        };
        let online = if s.online_ms.is_empty() {
            "not reached".to_owned()
        } else {
            format!("median {:.0}, max {:.0}", median(&s.online_ms), max(&s.online_ms))
        };
        let first_ok = !s.first_key_ms.is_empty() && max(&s.first_key_ms) <= 16.0;
        let down_ok = !s.down_ms.is_empty() && max(&s.down_ms) <= 16.0;
        let cli_ms: Vec<f64> = s.cli_search.iter().map(|c| c.0).collect();
        let cli = if cli_ms.is_empty() {
            "not measured".to_owned()
        } else {
            let rss = s.cli_search.iter().filter_map(|c| c.1).max();
            format!(
                "{}, peak {}{}",
                stats(&cli_ms),
                rss.map_or("? MB".into(), |k| format!("{:.1} MB", mb(k))),
                if s.guides <= 10_091 { format!(" {}", verdict(median(&cli_ms) <= 61.0)) } else { String::new() }
            )
        };
        println!(
            "| {} | {} | {} | {rss} | {online} | {ready} | {} {} | {} {} | {cli} |",
            s.guides,
            s.import_s.map_or("-".into(), |t| format!("{t:.1}")),
            match &s.synced {
                Ok(t) => format!("{t:.1}"),
                Err(e) => e.clone(),
            },
            stats(&s.first_key_ms),
            if s.first_key_ms.is_empty() { "" } else { verdict(first_ok) },
            stats(&s.down_ms),
            if s.down_ms.is_empty() { "" } else { verdict(down_ok) },
        );
    }
    println!();
    println!("the same caches, the desk terminal against `bianmin serve` in another process (a window PC):");
    println!();
    println!("| guides | peak RSS MB of the terminal (goal) | until 在线 ms | search ready ms |");
    println!("|---:|---|---|---|");
    for s in &scales {
        if s.remote.is_empty() {
            println!("| {} | not measured | | |", s.guides);
            continue;
        }
        let rss_goal = if s.guides <= 10_091 { 40.0 } else { 120.0 };
        let peaks: Vec<u64> = s.remote.iter().filter_map(|r| r.2).collect();
        let peak = peaks
            .iter()
            .max()
            .map(|&top| (top, peaks.iter().map(|&k| format!("{:.1}", mb(k))).collect::<Vec<_>>().join(", ")));
        let online: Vec<f64> = s.remote.iter().map(|r| r.0).collect();
        let ready: Vec<f64> = s.remote.iter().map(|r| r.1).collect();
        println!(
            "| {} | {} | median {:.0}, max {:.0} | median {:.0}, max {:.0} (n={}) |",
            s.guides,
            peak.map_or("?".into(), |(top, all)| format!("{all} ({rss_goal} {})", verdict(mb(top) <= rss_goal))),
            median(&online),
            max(&online),
            median(&ready),
            max(&ready),
            ready.len()
        );
    }
    println!();
    println!("  until 在线: spawn until the status bar says online (signed in), in {STARTS} starts with the catalogue");
    println!("  cached; search ready: spawn until `dibao`, typed at the first frame, shows results, same starts.");
    println!("  Peak RSS: VmHWM per start, once the results showed and output settled 0.5 s; \"after the keys\": the");
    println!("  last start's once the keys below were timed (the release profile unless named; `dist` ships).");
    println!("  First key: Esc to the full list, one letter, until its results are drawn. Timed by polling the PTY");
    println!("  screen every 1 ms.");
}

/// Process status fields in KiB (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse().ok())
}

/// One delta in a child process on the cache copied to `dir`: load the catalogue as the
/// terminal holds it, apply 10 changed guides to the cache, then bring it up to date by `mode`
/// (`rebuild`: from the whole cache, the stored index gone; `in-place`: the held index updated).
/// Prints `ready_ms stored_ms peak_kib before_kib retired`.
fn delta_child(dir: &std::path::Path, mode: &str) {
    use bianmin::tui::catalogue::refresh;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let (store, _) = bianmin::client::local::LocalStore::open(&dir.join("local.db"), chrono::Utc::now())
            .await
            .expect("open the cache");
        let lexicon = std::sync::Arc::new(bianmin::domain::lexicon::Lexicon::bundled().clone());
        let held = refresh(&store, lexicon.clone(), None).await.expect("load the catalogue");
        let mut delta = Vec::new();
        for (i, (_, body)) in store.guide_page("", 5).await.expect("read guides").into_iter().enumerate() {
            let mut guide: bianmin::domain::guide::ServiceGuide = serde_json::from_str(&body).expect("a guide");
            let mut added = guide.clone();
            added.code = format!("{}-DELTA", guide.code);
            added.name = format!("增量新增事项{i}");
            guide.name = format!("增量改名事项{i}");
            delta.extend([guide, added]);
        }
        let seq = store.catalogue_seq().await.expect("seq") + 1;
        store
            .apply_guides(&bianmin::api::GuideChanges { seq, guides: delta, removed: Vec::new() })
            .await
            .expect("apply the delta");
        let before = status_kib("VmRSS:").unwrap_or(0);
        // Peak RSS from here on.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let started = Instant::now();
        let mut loaded = match mode {
            "rebuild" => {
                // As before: the old catalogue stays in memory (shown) while the new one is
                // built from the whole cache.
                std::fs::remove_file(bianmin::client::stored_index::path_for(store.path())).expect("remove the index");
                let rebuilt = refresh(&store, lexicon, None).await;
                drop(held);
                rebuilt
            }
            _ => refresh(&store, lexicon, Some(held)).await,
        }
        .expect("the changed catalogue");
        let ready = ms(started.elapsed());
        assert!(loaded.index().search("增量改名事项", 20).len() >= 5, "the delta is searchable");
        loaded.stored().await;
        let stored = ms(started.elapsed());
        let peak = status_kib("VmHWM:").unwrap_or(0);
        println!("{ready:.1} {stored:.1} {peak} {before} {}", loaded.index().retired());
    });
}

/// Runs per delta row: each copies the whole cache (about 250 MB at 100k guides).
const DELTA_RUNS: usize = 3;

fn delta_budgets(sizes: &[usize]) {
    println!();
    println!("a 10-guide delta on the terminal's cached catalogue (child process per run, {DELTA_RUNS} runs per row)");
    println!();
    println!("| guides | index after the delta | searchable ms | stored ms | peak RSS MB (RSS before) |");
    println!("|---:|---|---|---|---|");
    for &extra in sizes {
        let root = tempfile::tempdir().expect("temp dir");
        let seeded = root.path().join("seeded");
        std::fs::create_dir_all(&seeded).expect("dir");
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let (store, _) = bianmin::client::local::LocalStore::open(&seeded.join("local.db"), chrono::Utc::now())
                .await
                .expect("open");
            let samples = bianmin::assets::bundled_catalogue().expect("bundled catalogue").guides;
            let mut guides = catalogue::generate(&samples, extra, 0x5EED_0000 + extra as u64);
            guides.extend(samples);
            for page in guides.chunks(1000) {
                store
                    .apply_guides(&bianmin::api::GuideChanges { seq: 1, guides: page.to_vec(), removed: Vec::new() })
                    .await
                    .expect("store");
            }
            drop(guides);
            let lexicon = std::sync::Arc::new(bianmin::domain::lexicon::Lexicon::bundled().clone());
            bianmin::tui::catalogue::load(&store, lexicon).await.expect("index stored");
            store.close().await;
        });
        for mode in ["rebuild", "in-place"] {
            let mut runs: Vec<(f64, f64, u64, u64, u64)> = Vec::new();
            for run in 0..DELTA_RUNS {
                let copy = root.path().join(format!("{mode}-{run}"));
                std::fs::create_dir_all(&copy).expect("dir");
                for entry in std::fs::read_dir(&seeded).expect("read dir").flatten() {
                    std::fs::copy(entry.path(), copy.join(entry.file_name())).expect("copy the cache");
                }
                let output = std::process::Command::new(std::env::current_exe().expect("bench binary"))
                    .args(["delta-child", &copy.display().to_string(), mode])
                    .output()
                    .expect("run the child");
                let _ = std::fs::remove_dir_all(&copy);
                let text = String::from_utf8_lossy(&output.stdout);
                let f: Vec<f64> = text.split_whitespace().filter_map(|w| w.parse().ok()).collect();
                if !output.status.success() || f.len() != 5 {
                    eprintln!("delta run failed: {} {}", text.trim(), String::from_utf8_lossy(&output.stderr).trim());
                    continue;
                }
                runs.push((f[0], f[1], f[2] as u64, f[3] as u64, f[4] as u64));
            }
            if runs.is_empty() {
                println!("| {} | {mode} | failed | | |", 91 + extra);
                continue;
            }
            let ready: Vec<f64> = runs.iter().map(|r| r.0).collect();
            let stored: Vec<f64> = runs.iter().map(|r| r.1).collect();
            let peak = runs.iter().map(|r| r.2).max().unwrap_or(0) as f64 / 1024.0;
            let before = runs.iter().map(|r| r.3).max().unwrap_or(0) as f64 / 1024.0;
            let retired = runs[0].4;
            println!(
                "| {} | {} | median {:.0}, max {:.0} | median {:.0}, max {:.0} | {peak:.1} ({before:.1}) |",
                91 + extra,
                if mode == "rebuild" {
                    "rebuilt (before)".to_owned()
                } else {
                    format!("updated in place ({retired} retired)")
                },
                median(&ready),
                max(&ready),
                median(&stored),
                max(&stored),
            );
        }
    }
    println!();
    println!("  searchable: from the delta's refresh until it returns the changed catalogue; stored: until its");
    println!("  index is written beside the cache (before #19 the terminal waited for that too). Peak: VmHWM of");
    println!("  the child, reset before the refresh, so it is the whole process at its peak during the update.");
}
