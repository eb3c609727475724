//! Transfer figures for catalogue sync and log upload, against the real server on loopback; then
//! a county-sized first sync: `bianmin import guides` of a generated catalogue (100,000 guides
//! unless given, `cargo bench --bench sync -- 20000`) into a fresh database, `bianmin serve` on it
//! as a child process, and this process syncing the catalogue into an empty terminal cache with the
//! default network settings, page by page; a second terminal does the same (the server's kept
//! pages), then a terminal from before pages asks for everything in one reply. Time, pages and
//! peak resident memory (`VmHWM`) of the client and the server are printed.
//! Prints numbers; asserts nothing. `cargo bench --bench sync`.

use std::ops::ControlFlow;
use std::time::Instant;

use bianmin::api::{GuideChanges, GuidePage, SessionGranted};
use bianmin::client::local::LocalStore;
use bianmin::client::sync::{sync_catalogue, sync_logs};
use bianmin::client::{ApiClient, install_tls_provider};
use bianmin::config::{NetworkSettings, sqlite_url};
use bianmin::domain::center::Post;
use bianmin::domain::guide::ServiceGuide;
use bianmin::domain::record::{RecordBody, Visit};
use bianmin::server::{self, ServerConfig};
use chrono::Utc;

const PASSWORD: &str = "bianmin-demo";

/// A catalogue of `n` guides made from the sample ones, each with its own code and name.
fn generated(n: usize) -> Vec<ServiceGuide> {
    let sample = bianmin::assets::bundled_catalogue().unwrap().guides;
    let towns = ["青石", "白沙", "柳林", "东湖", "西山", "南岭", "北港", "石桥", "荷花", "金泉"];
    (0..n)
        .map(|i| {
            let mut g = sample[i % sample.len()].clone();
            g.code = format!("GEN-{i:06}");
            g.name = format!("{}（{}镇第{}项）", g.name, towns[i % towns.len()], i);
            g
        })
        .collect()
}

/// Body size of a GET as it crosses the wire (gzip, not decoded), and its status.
async fn wire_bytes(http: &reqwest::Client, url: &str, token: &str, etag: Option<&str>) -> (u16, usize) {
    let mut request = http.get(url).bearer_auth(token).header("accept-encoding", "gzip");
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().len())
}

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");

fn status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mb(kib: Option<u64>) -> String {
    kib.map_or_else(|| "?".into(), |k| format!("{:.0} MB", k as f64 / 1024.0))
}

/// Writes a catalogue of `n` generated guides as one import file, a guide at a time.
fn write_catalogue(path: &std::path::Path, n: usize) {
    use std::io::Write;
    let sample = bianmin::assets::bundled_catalogue().unwrap().guides;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    out.write_all(br#"{"note":"generated for the sync bench","guides":["#).unwrap();
    for i in 0..n {
        let mut g = sample[i % sample.len()].clone();
        g.code = format!("GEN-{i:06}");
        g.name = format!("{}（第{i}项）", g.name);
        if i > 0 {
            out.write_all(b",").unwrap();
        }
        serde_json::to_writer(&mut out, &g).unwrap();
    }
    out.write_all(b"]}").unwrap();
    out.flush().unwrap();
}

/// What a first sync took: seconds, pages, guides, and this process's resident memory when it
/// began and its peak over it (KiB).
type FirstSync = (f64, usize, usize, Option<u64>, Option<u64>);

/// A first sync into an empty cache, `GUIDE_PAGE` guides a page (the peak is reset first).
async fn first_sync(client: &ApiClient, path: &std::path::Path) -> Result<FirstSync, String> {
    // Writing 5 to clear_refs resets VmHWM to the current resident size (Linux).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let at_start = status_kib("self", "VmRSS:");
    let (local, _) = LocalStore::open(path, Utc::now()).await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    let done = sync_catalogue(client, &local, bianmin::api::GUIDE_PAGE, |_| ControlFlow::Continue(()))
        .await
        .map_err(|e| format!("{e} ({e:?})"))?;
    let seconds = started.elapsed().as_secs_f64();
    local.close().await;
    Ok((seconds, done.pages, done.guides, at_start, status_kib("self", "VmHWM:")))
}

/// A client that does not decode gzip (to see the bytes on the wire), signed in as the clerk.
async fn raw_sign_in(base: &str) -> (reqwest::Client, SessionGranted) {
    let http = reqwest::Client::builder().no_gzip().build().unwrap();
    let granted: SessionGranted = http
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"staff_id": "s001", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (http, granted)
}

/// Pages and bytes on the wire of a paged first sync: every page fetched as the terminal fetches
/// it, gzip not decoded on the way (only here, to read where the next page starts).
async fn paged_wire_bytes(base: &str) -> (usize, usize) {
    let (http, granted) = raw_sign_in(base).await;
    let (mut since, mut pages, mut bytes) = (0, 0, 0);
    loop {
        let url = format!("{base}/api/v1/guides?since={since}&limit={}", bianmin::api::GUIDE_PAGE);
        let response =
            http.get(&url).bearer_auth(&granted.token).header("accept-encoding", "gzip").send().await.unwrap();
        let gzipped = response.headers().get("content-encoding").is_some_and(|v| v == "gzip");
        let body = response.bytes().await.unwrap();
        pages += 1;
        bytes += body.len();
        let page: GuidePage = if gzipped {
            serde_json::from_reader(flate2::read::GzDecoder::new(&body[..])).unwrap()
        } else {
            serde_json::from_slice(&body).unwrap()
        };
        if !page.more || page.seq <= since {
            return (pages, bytes);
        }
        since = page.seq;
    }
}

async fn county_first_sync(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalogue.json");
    write_catalogue(&file, n);
    let size = std::fs::metadata(&file).unwrap().len();
    let database = format!("sqlite://{}", dir.path().join("server.db").display());
    let started = Instant::now();
    let import = std::process::Command::new("/usr/bin/time")
        .args(["-f", "peak-rss-kib %M", BIN, "import", "guides", &file.display().to_string(), "--database", &database])
        .env("BIANMIN_DATA_DIR", dir.path())
        .env("HOME", dir.path())
        .output()
        .expect("run bianmin import guides");
    let import_s = started.elapsed().as_secs_f64();
    let import_rss = String::from_utf8_lossy(&import.stderr)
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-kib ").and_then(|k| k.trim().parse().ok()));
    std::fs::remove_file(&file).unwrap();
    println!("county catalogue: {n} generated guides + the 91 samples");
    println!(
        "  import guides   {import_s:>6.1} s (goal < 10 s), peak {} (goal < 300 MB), {:.0} MB file{}",
        mb(import_rss),
        size as f64 / 1e6,
        if import.status.success() {
            String::new()
        } else {
            format!(", FAILED: {}", String::from_utf8_lossy(&import.stderr))
        }
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = std::process::Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", &database])
        .env("BIANMIN_DATA_DIR", dir.path())
        .env("HOME", dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the server binary starts");
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not listen");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let pid = server.id().to_string();
    let mut client = ApiClient::new(&format!("http://127.0.0.1:{port}"), &NetworkSettings::default()).unwrap();
    client.sign_in("s001", PASSWORD).await.unwrap();
    let server_start = status_kib(&pid, "VmHWM:");
    for (who, name) in [("first terminal ", "t1.db"), ("second terminal", "t2.db")] {
        match first_sync(&client, &dir.path().join(name)).await {
            Ok((seconds, pages, guides, client_start, client_peak)) => println!(
                "  {who} first sync {seconds:>6.1} s, {pages} pages, {guides} guides; peak client {} ({} when it began) server {}",
                mb(client_peak),
                mb(client_start),
                mb(status_kib(&pid, "VmHWM:")),
            ),
            Err(e) => println!("  {who} first sync FAILED: {e}"),
        }
    }
    println!("  server at start {} (peak since its start, above)", mb(server_start));
    let (pages, bytes) = paged_wire_bytes(&format!("http://127.0.0.1:{port}")).await;
    println!("  paged first sync on the wire: {pages} pages, {:.1} MB (gzip)", bytes as f64 / 1e6);
    // A terminal from before pages: the whole catalogue in one reply, default timeout.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let started = Instant::now();
    let outcome = client.guides_since(0).await.map(|c| c.guides.len());
    println!(
        "  one-reply fetch (no limit) {:>6.1} s: {}; peak client {} server {}",
        started.elapsed().as_secs_f64(),
        match outcome {
            Ok(n) => format!("{n} guides"),
            Err(e) => format!("FAILED: {e}"),
        },
        mb(status_kib("self", "VmHWM:")),
        mb(status_kib(&pid, "VmHWM:")),
    );
    let _ = server.kill();
    let _ = server.wait();
}

#[tokio::main]
async fn main() {
    install_tls_provider();
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        listen: "127.0.0.1:0".into(),
        database_url: sqlite_url(&dir.path().join("server.db")),
        session_ttl_hours: 12,
        max_body_bytes: 256 * 1024,
        follow_up_due_working_days: bianmin::domain::follow_up::DEFAULT_DUE_WORKING_DAYS,
        opening_hours: Default::default(),
    };
    let state = server::prepare(&config).await.unwrap();
    let guides = generated(10_000);
    bianmin::server::service::catalogue::upsert_guides(state.store.as_ref(), &guides, Utc::now().date_naive())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = server::start_on(listener, state.clone(), config.max_body_bytes).unwrap();
    let base = format!("http://{}", running.addr);

    let (http, granted) = raw_sign_in(&base).await;
    let token = granted.token;

    let plain = reqwest::Client::builder().no_gzip().build().unwrap();
    let full: GuideChanges = plain
        .get(format!("{base}/api/v1/guides?since=0"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uncompressed = serde_json::to_vec(&full).unwrap().len();
    let (_, full_wire) = wire_bytes(&http, &format!("{base}/api/v1/guides?since=0"), &token, None).await;
    let seq = full.seq;
    let etag = format!("\"{seq}\"");
    let (status_304, bytes_304) =
        wire_bytes(&http, &format!("{base}/api/v1/guides?since={seq}"), &token, Some(&etag)).await;

    let mut changed: Vec<ServiceGuide> = full.guides.iter().skip(500).step_by(997).take(10).cloned().collect();
    for g in &mut changed {
        g.hours = format!("{}（已调整）", g.hours);
    }
    bianmin::server::service::catalogue::upsert_guides(state.store.as_ref(), &changed, Utc::now().date_naive())
        .await
        .unwrap();
    let (_, delta_wire) = wire_bytes(&http, &format!("{base}/api/v1/guides?since={seq}"), &token, Some(&etag)).await;

    println!("catalogue of {} guides", full.guides.len());
    println!("  full fetch      {:>9} bytes JSON, {:>8} bytes on the wire (gzip)", uncompressed, full_wire);
    println!("  unchanged       {:>9} bytes on the wire (HTTP {status_304})", bytes_304);
    println!("  10 changed      {:>9} bytes on the wire (budget 50 KB)", delta_wire);

    // Upload throughput of the device log.
    let (local, _) = LocalStore::open(&dir.path().join("local.db"), Utc::now()).await.unwrap();
    let n = 5_000;
    let started = Instant::now();
    for i in 0..n {
        let body = RecordBody::Visit(Visit::new(&format!("{i}"), "咨询").unwrap());
        local.append("s001", 1, Post::A, &body, Utc::now()).await.unwrap();
    }
    let append_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut client = ApiClient::new(&base, &NetworkSettings::default()).unwrap();
    client.sign_in("s001", PASSWORD).await.unwrap();
    let started = Instant::now();
    let outcome = sync_logs(&client, &local, 1).await.unwrap();
    let upload_ms = started.elapsed().as_secs_f64() * 1000.0;
    println!("device log");
    println!("  append {n} records locally   {append_ms:>8.0} ms ({:.2} ms each)", append_ms / n as f64);
    println!(
        "  upload {} records            {upload_ms:>8.0} ms ({:.0} records/s), pending after: {}",
        outcome.uploaded,
        outcome.uploaded as f64 / (upload_ms / 1000.0),
        outcome.pending
    );
    running.stop().await;
    // Nothing of the 10k catalogue above is left to count in the county figures below.
    drop((full, changed, local, client, state));
    drop(dir);

    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    county_first_sync(n).await;
}
