//! Faults with the real server binary as a child process: killed with SIGKILL in the middle of
//! an upload and restarted on the same database, everything arrives exactly once.

use crate::common;

use std::time::{Duration, Instant};

use bianmin::client::local::LocalStore;
use bianmin::client::sync::sync_logs;
use bianmin::config::sqlite_url;
use bianmin::domain::center::Post;
use bianmin::domain::record::{RecordBody, Visit};
use chrono::Utc;
use common::server::{ServerProcess, signed_in_client};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");

async fn stored(db_url: &str) -> (i64, i64, i64) {
    const SQL: &str = "SELECT COUNT(*), COUNT(DISTINCT id), (SELECT COUNT(*) FROM visits) FROM device_records";
    if db_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(db_url).await.unwrap();
        let row = sqlx::query_as(SQL).fetch_one(&pool).await.unwrap();
        pool.close().await;
        return row;
    }
    let pool = sqlx::SqlitePool::connect(&format!("{db_url}?mode=ro")).await.unwrap();
    let row = sqlx::query_as(SQL).fetch_one(&pool).await.unwrap();
    pool.close().await;
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_upload_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = sqlite_url(&dir.path().join("server.db"));
    a_server_killed_mid_upload_loses_and_doubles_nothing_on(&db_url, dir.path()).await;
}

/// Also run on PostgreSQL (`on_postgres`).
pub async fn a_server_killed_mid_upload_loses_and_doubles_nothing_on(db_url: &str, dir: &std::path::Path) {
    const RECORDS: usize = 3000;
    let db_url = db_url.to_owned();
    let server = ServerProcess::start(BIN, dir, &db_url, 0);

    let (local, _) = LocalStore::open(&dir.join("local.db"), Utc::now()).await.unwrap();
    for i in 0..RECORDS {
        let body = RecordBody::Visit(Visit::new(&format!("{i}"), "断电测试").unwrap());
        local.append("s001", 1, Post::A, &body, Utc::now()).await.unwrap();
    }
    let client = signed_in_client(&server.base(), "s001").await;

    // Upload, and pull the plug once the server has stored some of it.
    let sync = async { sync_logs(&client, &local, 1).await };
    let watch = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (n, _, _) = stored(&db_url).await;
            if n > 0 {
                return n;
            }
            assert!(Instant::now() < deadline, "nothing arrived");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    tokio::pin!(sync);
    let stored_before_kill = tokio::select! {
        n = watch => n,
        result = &mut sync => panic!("the whole upload finished before the kill: {result:?}"),
    };
    server.kill();
    let interrupted = sync.await;
    assert!(interrupted.is_err(), "the upload was cut off");
    let (at_kill, _, _) = stored(&db_url).await;
    assert!(at_kill >= stored_before_kill && (at_kill as usize) < RECORDS, "killed mid-upload: {at_kill} of {RECORDS}");
    assert!(local.pending().await.unwrap() > 0);

    // A port of its own: the killed server's may since have gone to another test's server.
    let server = ServerProcess::start(BIN, dir, &db_url, 0);
    let client = signed_in_client(&server.base(), "s001").await;
    let outcome = sync_logs(&client, &local, 1).await.unwrap();
    assert_eq!(outcome.pending, 0);
    assert_eq!(stored(&db_url).await, (RECORDS as i64, RECORDS as i64, RECORDS as i64), "each record once");
    server.kill();
}

#[test]
fn serve_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    serve_stops_gracefully_on_sigterm_on(&sqlite_url(&dir.path().join("server.db")), dir.path());
}

/// Also run on PostgreSQL (`on_postgres`), where the process also listens for the others'
/// changes: that must not hold up the stop either.
pub fn serve_stops_gracefully_on_sigterm_on(db_url: &str, dir: &std::path::Path) {
    let port = common::server::free_port();
    let mut child = std::process::Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", db_url])
        .env("BIANMIN_DATA_DIR", dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "graceful stop exits 0: {status:?}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("shutting down"), "{stderr}");
}

#[test]
fn serve_on_a_busy_port_says_so_in_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = sqlite_url(&dir.path().join("server.db"));
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = busy.local_addr().unwrap().to_string();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--listen", &listen, "--database", &db_url])
        .env("BIANMIN_DATA_DIR", dir.path())
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("端口已被占用") && stderr.contains(&listen) && stderr.contains("--listen"), "{stderr}");
    assert!(!stderr.contains("Backtrace") && !stderr.contains("Location:"), "no developer report: {stderr}");
}
