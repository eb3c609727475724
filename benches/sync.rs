//! Transfer figures for catalogue sync and log upload, against the real server on loopback.
//! Prints numbers; asserts nothing. `cargo bench --bench sync`.

use std::time::Instant;

use bianmin::api::{GuideChanges, SessionGranted};
use bianmin::client::local::LocalStore;
use bianmin::client::sync::sync_logs;
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

    // A raw client that does not decode gzip, to see the bytes on the wire.
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
}
