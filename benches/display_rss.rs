//! The calling display's memory over a long synthetic day, on the real binary (#16: "stays up
//! for days ... no memory growth: measure RSS over a long synthetic day"). `bianmin serve` and
//! `bianmin display` run as child processes of the binary `cargo bench` builds (the release
//! profile); the display sits in a pseudo-terminal and follows the server's SSE feed while this
//! bench drives a day of calls through the HTTP API (tickets issued, called, served at six
//! windows at once). Its resident memory (`VmRSS` in /proc/PID/status) is sampled every 200 ms;
//! the bench prints it at start, at each tenth of the day, the peak, and at the end.
//! Asserts nothing. `cargo bench --bench display_rss` (`-- 6000` for another number of calls).

#[path = "../tests/common/pty.rs"]
mod pty;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bianmin::api::queue::IssueTicket;
use bianmin::client::{ApiClient, install_tls_provider};
use bianmin::config::NetworkSettings;
use pty::{Pty, Sandbox, Spawn};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
const PASSWORD: &str = "bianmin-demo";
/// The sample center's windows and a category each serves.
const WINDOWS: [(u32, char); 6] = [(1, 'A'), (2, 'B'), (3, 'C'), (4, 'D'), (5, 'E'), (6, 'F')];

fn mb(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 / 1024.0)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::main]
async fn main() {
    let calls: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(3_000);
    install_tls_provider();
    let sandbox = Sandbox::new();
    let db_url = format!("sqlite://{}", sandbox.root().join("server.db").display());
    let port = free_port();
    let mut server = std::process::Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", &db_url])
        .env("BIANMIN_DATA_DIR", sandbox.root())
        .env("HOME", sandbox.root())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the server binary starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let base = format!("http://127.0.0.1:{port}");
    let display_data = sandbox.root().join("display");
    let added = std::process::Command::new(BIN)
        .args(["admin", "device", "add", "叫号屏", "--database", &db_url])
        .env("BIANMIN_DATA_DIR", &display_data)
        .env("HOME", sandbox.root())
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));

    let display = Pty::spawn_with(
        BIN,
        &sandbox,
        Spawn::new(24, 80)
            .arg("display")
            .arg("--server")
            .arg(&base)
            .env("BIANMIN_DATA_DIR", display_data.display().to_string())
            // No voice: the bench measures the display, not a speech synthesiser.
            .env("BIANMIN_HALL_ANNOUNCE_COMMAND", "true"),
    );
    display.expect("the display up", |s| s.contains("1 号窗口"), Duration::from_secs(60));
    let pid = display.process_id().expect("the display's pid");
    std::thread::sleep(Duration::from_secs(2));
    let start = rss_kib(pid).unwrap_or(0);

    // Sampling in the background while the day runs.
    let peak = Arc::new(AtomicU64::new(start));
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, running) = (peak.clone(), running.clone());
        std::thread::spawn(move || {
            while running.load(Ordering::SeqCst) {
                if let Some(kib) = rss_kib(pid) {
                    peak.fetch_max(kib, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };

    let mut admin = ApiClient::new(&base, &NetworkSettings::default()).unwrap();
    admin.sign_in("admin", PASSWORD).await.unwrap();
    let started = Instant::now();
    let per_window = calls / WINDOWS.len();
    let tenth = (per_window / 10).max(1);
    let mut marks = Vec::new();
    for chunk in 0..per_window.div_ceil(tenth) {
        let rounds = tenth.min(per_window - chunk * tenth);
        let tasks = WINDOWS.iter().map(|(window, category)| {
            let client = admin.clone();
            let (window, category) = (*window, *category);
            tokio::spawn(async move {
                for _ in 0..rounds {
                    let issued = client.issue_ticket(&IssueTicket::new(category)).await.unwrap();
                    // By number: windows 1, 2 and 4 share categories, and a call-next race
                    // could leave one of them with an empty line.
                    client.call_number(window, issued.ticket.unwrap().number).await.unwrap();
                    client.start_service(window).await.unwrap();
                    client.finish_service(window).await.unwrap();
                }
            })
        });
        for task in futures_util::future::join_all(tasks).await {
            task.unwrap();
        }
        marks.push(((chunk * tenth + rounds) * WINDOWS.len(), started.elapsed(), rss_kib(pid).unwrap_or(0)));
    }
    let day = started.elapsed();
    // The display followed the whole day: the last number called at window 6 is on its screen.
    let last = format!("F{per_window:03}");
    display.expect("the last call on the display", |s| s.contains(&last), Duration::from_secs(60));
    // Let the display settle, then take the end figure.
    std::thread::sleep(Duration::from_secs(3));
    let end = rss_kib(pid).unwrap_or(0);
    running.store(false, Ordering::SeqCst);
    sampler.join().unwrap();
    let alive = display.process_id().is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());

    println!("bianmin display (release build) over a synthetic day of {calls} calls at 6 windows, via the SSE feed");
    println!("day driven through the API in {:.1?}; {last} shown at the end; display still running: {alive}", day);
    println!("{:>8}  {:>10}  {:>10}", "calls", "elapsed", "VmRSS");
    for (n, at, kib) in &marks {
        println!("{n:>8}  {:>10}  {:>10}", format!("{:.1?}", at), mb(*kib));
    }
    println!("start {}  peak {}  end {}", mb(start), mb(peak.load(Ordering::SeqCst)), mb(end));
    drop(display);
    let _ = server.kill();
    let _ = server.wait();
}
