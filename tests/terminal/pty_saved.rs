//! 已保存 means committed: the real terminal binary in a pseudo-terminal, against a server that
//! accepts connections and never answers, so every sync round hangs until its timeout. A walk-in
//! is recorded and the terminal is killed (SIGKILL) 100 ms after 已保存 appears: the record is in
//! the device log.

use crate::common;

use std::time::Duration;

use common::pty::{Pty, Sandbox, Spawn, keys};
use common::server::{PASSWORD, ServerProcess};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
const START: Duration = Duration::from_secs(30);

fn remote_terminal(sandbox: &Sandbox, base: &str) -> Pty {
    remote_terminal_in(sandbox, base, &sandbox.data_dir())
}

fn remote_terminal_in(sandbox: &Sandbox, base: &str, data_dir: &std::path::Path) -> Pty {
    Pty::spawn_with(
        BIN,
        sandbox,
        Spawn::new(24, 80)
            .env("BIANMIN_DATA_DIR", data_dir.display().to_string())
            .arg("--server")
            .arg(base)
            .env("BIANMIN_STAFF_ID", "s001")
            .env("BIANMIN_PASSWORD", PASSWORD)
            .env("BIANMIN_NETWORK_CONNECT_TIMEOUT_MS", "2000")
            // A round against the silent server hangs this long: far longer than the test.
            .env("BIANMIN_NETWORK_REQUEST_TIMEOUT_MS", "60000")
            .env("BIANMIN_NETWORK_REFRESH_INTERVAL_S", "1"),
    )
}

/// A server that accepts every connection and never says a word.
fn silent_server() -> (u16, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            match stream {
                Ok(stream) => held.push(stream),
                Err(_) => return,
            }
        }
    });
    (port, thread)
}

fn local_records(sandbox: &Sandbox) -> (i64, i64) {
    local_records_in(&sandbox.data_dir())
}

fn local_records_in(data_dir: &std::path::Path) -> (i64, i64) {
    let path = data_dir.join("bianmin-local.db");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", path.display())).await.unwrap();
        let row: (i64, i64) = sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT id) FROM records WHERE kind = 'walk_in'")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        row
    })
}

#[test]
fn a_terminal_killed_100_ms_after_saved_keeps_the_record_while_the_server_hangs() {
    // A first run against the real server leaves the clerk and the window in the cache.
    let sandbox = Sandbox::new();
    {
        let server_dir = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}", server_dir.path().join("server.db").display());
        let server = ServerProcess::start(BIN, server_dir.path(), &db_url, 0);
        let mut pty = remote_terminal(&sandbox, &server.base());
        pty.expect(
            "在线 as 王丽",
            |s| s.lines().next().unwrap_or_default().contains("在线") && s.contains("王丽"),
            START,
        );
        pty.send_key(keys::Q);
        assert!(pty.wait_exit(Duration::from_secs(60)).success());
    }
    assert_eq!(local_records(&sandbox), (0, 0));

    // Now the server accepts and never answers: the first round hangs for a minute.
    let (port, _silent) = silent_server();
    let mut pty = remote_terminal(&sandbox, &format!("http://127.0.0.1:{port}"));
    pty.expect("the cached clerk", |s| s.contains("王丽"), START);
    pty.send_key(b"w");
    pty.expect("the form", |s| s.contains("来访登记"), START);
    pty.send(b"A023");
    pty.send_key(keys::ENTER);
    pty.send("服务器不应答".as_bytes());
    pty.send_key(keys::ENTER);
    pty.expect("已保存 once committed", |s| s.contains("来访登记已保存"), START);
    std::thread::sleep(Duration::from_millis(100));
    let pid = pty.process_id().expect("terminal pid");
    assert!(std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap().success());
    assert!(!pty.wait_exit(Duration::from_secs(10)).success());
    drop(pty);

    assert_eq!(local_records(&sandbox), (1, 1), "the record the clerk was told is saved, once");
}

/// Records a walk-in through the form and returns whether the terminal said it was saved (as
/// opposed to refused for a full disk).
fn record_visit(pty: &mut Pty, number: &str) -> bool {
    pty.send_key(b"w");
    pty.expect("the form", |s| s.contains("来访登记") && !s.contains("已保存") && !s.contains("磁盘已满"), START);
    pty.send(number.as_bytes());
    pty.send_key(keys::ENTER);
    pty.send("磁盘测试".as_bytes());
    pty.send_key(keys::ENTER);
    pty.expect("saved or refused", |s| s.contains("来访登记已保存") || s.contains("磁盘已满"), START);
    pty.screen_text().contains("来访登记已保存")
}

#[test]
fn after_the_terminals_disk_filled_and_emptied_every_record_said_saved_survives_a_kill() {
    let Some(disk) = common::disk::SmallDisk::mount() else {
        eprintln!("no small filesystem on this machine: covered by tests/durable.rs with SQLite's page limit");
        return;
    };
    let sandbox = Sandbox::new();
    let data = disk.path().to_owned();
    {
        let server_dir = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}", server_dir.path().join("server.db").display());
        let server = ServerProcess::start(BIN, server_dir.path(), &db_url, 0);
        let mut pty = remote_terminal_in(&sandbox, &server.base(), &data);
        pty.expect(
            "在线 as 王丽",
            |s| s.lines().next().unwrap_or_default().contains("在线") && s.contains("王丽"),
            START,
        );
        pty.send_key(keys::Q);
        assert!(pty.wait_exit(Duration::from_secs(60)).success());
    }
    // The server is gone for good: everything stays on this PC.
    let (port, _silent) = silent_server();
    let mut pty = remote_terminal_in(&sandbox, &format!("http://127.0.0.1:{port}"), &data);
    pty.expect("the cached clerk", |s| s.contains("王丽"), START);
    let mut saved = 0;
    saved += usize::from(record_visit(&mut pty, "A001"));
    disk.fill();
    let mut refused = false;
    for n in 2..40 {
        if record_visit(&mut pty, &format!("A{n:03}")) {
            saved += 1;
        } else {
            refused = true;
            break;
        }
    }
    assert!(refused, "the disk never filled");
    disk.free();
    for n in 50..53 {
        assert!(record_visit(&mut pty, &format!("A{n:03}")), "saved once there is space");
        saved += 1;
    }
    std::thread::sleep(Duration::from_millis(100));
    let pid = pty.process_id().expect("terminal pid");
    assert!(std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap().success());
    assert!(!pty.wait_exit(Duration::from_secs(10)).success());
    drop(pty);
    assert_eq!(local_records_in(&data), (saved as i64, saved as i64), "every record said saved, once");
}
