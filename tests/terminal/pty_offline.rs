//! The township network drops: the real terminal binary against the real server binary, in a
//! pseudo-terminal. The server is killed, the terminal says 离线 and keeps recording; the terminal
//! itself is then killed (SIGKILL) after committing a record but before uploading it; when both
//! come back, the record uploads by itself, once.

use crate::common;

use std::time::Duration;

use common::pty::{Pty, Sandbox, Spawn, keys};
use common::server::{PASSWORD, ServerProcess};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
const START: Duration = Duration::from_secs(30);

fn remote_terminal(sandbox: &Sandbox, base: &str) -> Pty {
    Pty::spawn_with(
        BIN,
        sandbox,
        Spawn::new(24, 80)
            .arg("--server")
            .arg(base)
            .env("BIANMIN_STAFF_ID", "s001")
            .env("BIANMIN_PASSWORD", PASSWORD)
            .env("BIANMIN_NETWORK_CONNECT_TIMEOUT_MS", "500")
            .env("BIANMIN_NETWORK_REQUEST_TIMEOUT_MS", "2000")
            .env("BIANMIN_NETWORK_REFRESH_INTERVAL_S", "1"),
    )
}

fn status_line(screen: &str) -> String {
    screen.lines().next().unwrap_or_default().to_owned()
}

fn visits(db_url: &str) -> i64 {
    let path = db_url.trim_start_matches("sqlite://");
    // Read the server's database through the library, in a runtime of our own.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}?mode=ro")).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM visits").fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    })
}

#[test]
fn offline_records_survive_a_killed_terminal_and_upload_once_when_the_server_returns() {
    let server_dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", server_dir.path().join("server.db").display());
    let server = ServerProcess::start(BIN, server_dir.path(), &db_url, 0);
    let port = server.port;
    let base = server.base();
    let sandbox = Sandbox::new();

    let mut pty = remote_terminal(&sandbox, &base);
    pty.expect("在线 as 王丽", |s| status_line(s).contains("在线") && s.contains("王丽"), START);

    server.kill();
    pty.expect("离线 once the server is gone", |s| status_line(s).contains("离线"), START);
    pty.expect("the paper-ticket fallback offered", |s| s.contains("按 w 登记纸质号"), START);

    pty.send_key(b"w");
    pty.expect("the form", |s| s.contains("来访登记"), START);
    pty.send(b"A023");
    pty.send_key(keys::ENTER);
    pty.send("纸质号来访".as_bytes());
    pty.send_key(keys::ENTER);
    pty.expect("one record waiting", |s| status_line(s).contains("待上传1"), START);

    // Committed locally, not uploaded: kill the terminal outright.
    let pid = pty.process_id().expect("terminal pid");
    assert!(std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap().success());
    let status = pty.wait_exit(Duration::from_secs(10));
    assert!(!status.success());
    drop(pty);
    assert_eq!(visits(&db_url), 0);

    let server = ServerProcess::start(BIN, server_dir.path(), &db_url, port);
    let mut pty = remote_terminal(&sandbox, &base);
    pty.expect(
        "在线 with nothing pending after the restart",
        // The walk-in counted: in the 今日 line at 80x24, or its own 登记 line when taller.
        |s| {
            status_line(s).contains("在线")
                && status_line(s).contains("待上传0")
                && (s.contains("来访1") || s.contains("今日来访 1 人"))
        },
        START,
    );
    assert_eq!(visits(&db_url), 1, "uploaded once");
    pty.send_key(keys::Q);
    assert!(pty.wait_exit(Duration::from_secs(60)).success());
    drop(server);
}

#[test]
fn a_terminal_that_never_reached_the_server_opens_offline_and_says_so() {
    let sandbox = Sandbox::new();
    let port = common::server::free_port();
    let mut pty = remote_terminal(&sandbox, &format!("http://127.0.0.1:{port}"));
    pty.expect(
        "离线 and an honest empty screen",
        |s| status_line(s).contains("离线") && s.contains("暂无本机缓存数据"),
        START,
    );
    pty.send_key(keys::Q);
    assert!(pty.wait_exit(Duration::from_secs(60)).success());
}

/// With the refresh a long way off, losing the live queue feed is what tells the terminal the
/// server is gone: the status bar says 离线 within seconds, not at the next refresh.
#[test]
fn the_status_bar_says_offline_soon_after_the_server_dies() {
    let server_dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", server_dir.path().join("server.db").display());
    let server = ServerProcess::start(BIN, server_dir.path(), &db_url, 0);
    let sandbox = Sandbox::new();
    let mut pty = Pty::spawn_with(
        BIN,
        &sandbox,
        Spawn::new(24, 80)
            .arg("--server")
            .arg(server.base())
            .env("BIANMIN_STAFF_ID", "s001")
            .env("BIANMIN_PASSWORD", PASSWORD)
            .env("BIANMIN_NETWORK_CONNECT_TIMEOUT_MS", "500")
            .env("BIANMIN_NETWORK_REQUEST_TIMEOUT_MS", "2000")
            .env("BIANMIN_NETWORK_REFRESH_INTERVAL_S", "300"),
    );
    pty.expect("在线 as 王丽", |s| status_line(s).contains("在线") && s.contains("王丽"), START);
    // The live feed connects just after the first round; give it a moment.
    std::thread::sleep(Duration::from_secs(2));
    server.kill();
    pty.expect("离线 well before the 300 s refresh", |s| status_line(s).contains("离线"), Duration::from_secs(20));
    pty.send_key(keys::CTRL_C);
    assert!(pty.wait_exit(Duration::from_secs(60)).success());
}
