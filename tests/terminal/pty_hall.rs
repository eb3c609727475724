//! The hall's devices as real binaries against `bianmin serve`: the kiosk's ticket, called by the
//! clerk's F6 in the clerk terminal, shows on the calling display and is announced through the
//! configured command; F7 recalls it (highlighted, announced again); the evaluator facing the
//! window shows the clerk and the ticket; finishing asks the applicant there, and the server ends
//! up with exactly one rating for that ticket, authored by the evaluator.

use crate::common;

use std::time::Duration;

use common::pty::{Pty, Sandbox, Spawn};
use common::server::{PASSWORD, ServerProcess};

use crate::pty_queue::{add_kiosk, issue};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
const START: Duration = Duration::from_secs(30);
const REACT: Duration = Duration::from_secs(10);
const F6: &[u8] = b"\x1b[17~";
const F7: &[u8] = b"\x1b[18~";
const F8: &[u8] = b"\x1b[19~";

/// Adds a device account (`args` after `admin device add`); its token lands in `data`.
fn add_device(db_url: &str, data: &std::path::Path, sandbox: &Sandbox, args: &[&str]) {
    let out = std::process::Command::new(BIN)
        .args(["admin", "device", "add"])
        .args(args)
        .args(["--database", db_url])
        .env("BIANMIN_DATA_DIR", data)
        .env("HOME", sandbox.root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Polls `file` until `done` holds of its text.
fn wait_file(file: &std::path::Path, what: &str, done: impl Fn(&str) -> bool, timeout: Duration) -> String {
    let started = std::time::Instant::now();
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if done(&text) {
            return text;
        }
        assert!(started.elapsed() < timeout, "{what}: not within {timeout:?}; file has {text:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(unix)]
#[test]
fn kiosk_to_clerk_to_display_to_evaluator_one_rating_authored_by_the_evaluator() {
    let sandbox = Sandbox::new();
    let db_url = format!("sqlite://{}", sandbox.root().join("server.db").display());
    let server = ServerProcess::start(BIN, sandbox.root(), &db_url, 0);
    let base = server.base();
    add_kiosk(&db_url, &sandbox);
    let display_data = sandbox.root().join("display");
    add_device(&db_url, &display_data, &sandbox, &["叫号屏"]);
    let evaluator_data = sandbox.root().join("evaluator");
    add_device(&db_url, &evaluator_data, &sandbox, &["评价器", "--window", "1"]);
    assert!(evaluator_data.join("device-evaluator-1.token").is_file(), "one token file per window's evaluator");

    // The voice: a script that notes each announcement it is given on its standard input.
    let spoken = sandbox.root().join("spoken.txt");
    let voice = sandbox.root().join("voice.sh");
    std::fs::write(&voice, format!("#!/bin/sh\ncat >> '{}'\n", spoken.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&voice, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut display = Pty::spawn_with(
        BIN,
        &sandbox,
        Spawn::new(24, 80)
            .arg("display")
            .arg("--server")
            .arg(&base)
            .env("BIANMIN_DATA_DIR", display_data.display().to_string())
            .env("BIANMIN_HALL_ANNOUNCE_COMMAND", voice.display().to_string()),
    );
    display.expect("the hall's windows", |s| s.contains("1 号窗口") && s.contains("空闲"), START);

    assert_eq!(issue(&base, &sandbox, "A"), "A001");
    display.expect("one waiting in A", |s| s.contains("A 社保医保 1人"), REACT);

    let mut clerk = Pty::spawn_with(
        BIN,
        &sandbox,
        Spawn::new(30, 100)
            .arg("--server")
            .arg(&base)
            .env("BIANMIN_STAFF_ID", "s001")
            .env("BIANMIN_PASSWORD", PASSWORD),
    );
    clerk.expect("the clerk online with A001 waiting", |s| s.contains("在线") && s.contains("A 1人"), START);
    clerk.send_key(F6);
    display.expect(
        "A001 called to window 1 on the display",
        |s| s.contains("请 A001 号到 1 号窗口办理") && s.contains("请到窗口") && s.contains("A001→1号窗"),
        REACT,
    );
    wait_file(&spoken, "the call announced", |t| t == "请 A001 号到 1 号窗口办理\n", REACT);

    clerk.send_key(F7);
    display.expect("the recall highlighted", |s| s.contains("再次呼叫，请 A001 号到 1 号窗口办理"), REACT);
    wait_file(
        &spoken,
        "the recall announced again",
        |t| t == "请 A001 号到 1 号窗口办理\n再次呼叫，请 A001 号到 1 号窗口办理\n",
        REACT,
    );

    let mut evaluator = Pty::spawn_with(
        BIN,
        &sandbox,
        Spawn::new(24, 80)
            .arg("evaluator")
            .arg("--window")
            .arg("1")
            .arg("--server")
            .arg(&base)
            .env("BIANMIN_DATA_DIR", evaluator_data.display().to_string()),
    );
    evaluator.expect(
        "the clerk serving and the ticket",
        |s| s.contains("为您服务：王丽  工号 s001  A岗") && s.contains("A001"),
        START,
    );

    clerk.send_key(F8);
    display.expect("in service", |s| s.contains("办理中"), REACT);
    evaluator.expect("in service there too", |s| s.contains("办理中"), REACT);
    clerk.send_key(F8);
    clerk.expect("asked before finishing", |s| s.contains("确认 A001 办结"), REACT);
    clerk.send_key(b"y");
    display.expect("window 1 free again", |s| !s.contains("办理中") && !s.contains("请到窗口"), REACT);
    evaluator.expect("asked for the rating", |s| s.contains("请对 A001 号的服务进行评价"), REACT);
    evaluator.send_key(b"4");
    evaluator.expect("thanked", |s| s.contains("感谢您的评价"), REACT);
    // The server holds exactly one rating for A001, authored by the evaluator, of the clerk.
    let db = sandbox.root().join("server.db");
    let started = std::time::Instant::now();
    let rows = loop {
        let rows = ratings(&db);
        if !rows.is_empty() || started.elapsed() > REACT {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(rows, [("evaluator-1".to_owned(), "s001".to_owned(), "satisfied".to_owned())]);
    evaluator.expect("nothing waits on the evaluator", |s| !s.contains("待上传评价"), REACT);
    assert_eq!(rating_records(&db), ["evaluator-1"], "uploaded as a record of the evaluator's log");
    // Asked once: the next look does not ask again, and the rating is not sent twice.
    std::thread::sleep(Duration::from_secs(2));
    assert!(!evaluator.screen_text().contains("请对 A001"));
    assert_eq!(ratings(&db).len(), 1);

    // Serving and finishing call nobody: nothing more was said.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(std::fs::read_to_string(&spoken).unwrap().lines().count(), 2);
    display.send_key(b"q");
    assert!(display.wait_exit(REACT).success(), "the display quits on q");
}

/// #16: a rating given while the server is down is kept in the evaluator's local store, survives
/// the evaluator being killed, and is uploaded once when both are back: the server holds one
/// rating for the ticket.
#[cfg(unix)]
#[test]
fn an_offline_rating_survives_a_kill_and_is_uploaded_once() {
    let sandbox = Sandbox::new();
    let db_url = format!("sqlite://{}", sandbox.root().join("server.db").display());
    let port = common::server::free_port();
    let server = ServerProcess::start(BIN, sandbox.root(), &db_url, port);
    let base = server.base();
    add_kiosk(&db_url, &sandbox);
    let evaluator_data = sandbox.root().join("evaluator");
    add_device(&db_url, &evaluator_data, &sandbox, &["评价器", "--window", "1"]);
    assert_eq!(issue(&base, &sandbox, "A"), "A001");
    let evaluator_at = |sandbox: &Sandbox| {
        Pty::spawn_with(
            BIN,
            sandbox,
            Spawn::new(24, 80)
                .arg("evaluator")
                .arg("--window")
                .arg("1")
                .arg("--server")
                .arg(&base)
                .env("BIANMIN_DATA_DIR", evaluator_data.display().to_string()),
        )
    };
    let mut clerk = Pty::spawn_with(
        BIN,
        &sandbox,
        Spawn::new(30, 100)
            .arg("--server")
            .arg(&base)
            .env("BIANMIN_STAFF_ID", "s001")
            .env("BIANMIN_PASSWORD", PASSWORD),
    );
    clerk.expect("the clerk online with A001 waiting", |s| s.contains("在线") && s.contains("A 1人"), START);
    let mut evaluator = evaluator_at(&sandbox);
    evaluator.expect("the evaluator facing window 1", |s| s.contains("为您服务：王丽"), START);
    clerk.send_key(F6);
    clerk.expect("A001 called", |s| s.contains("A001"), REACT);
    clerk.send_key(F8);
    evaluator.expect("in service", |s| s.contains("办理中"), REACT);
    clerk.send_key(F8);
    clerk.expect("asked before finishing", |s| s.contains("确认 A001 办结"), REACT);
    clerk.send_key(b"y");
    evaluator.expect("asked for the rating", |s| s.contains("请对 A001 号的服务进行评价"), REACT);
    drop(clerk);

    // The server goes away; the applicant rates; the rating waits on the evaluator's PC.
    server.kill();
    evaluator.send_key(b"4");
    evaluator.expect(
        "thanked, one rating waiting",
        |s| s.contains("感谢您的评价") || s.contains("待上传评价 1"),
        REACT,
    );
    evaluator.expect("one rating waiting", |s| s.contains("待上传评价 1"), REACT);
    // Killed like a power cut, then everything back.
    drop(evaluator);
    assert!(!evaluator_data.join("evaluator-outbox.jsonl").exists(), "kept in the device log, not a side file");
    let server = ServerProcess::start(BIN, sandbox.root(), &db_url, port);
    let evaluator = evaluator_at(&sandbox);
    let db = sandbox.root().join("server.db");
    let started = std::time::Instant::now();
    while ratings(&db).is_empty() {
        assert!(started.elapsed() < START, "the kept rating was not uploaded after the restart");
        std::thread::sleep(Duration::from_millis(100));
    }
    evaluator.expect("nothing waits on the evaluator", |s| !s.contains("待上传评价"), REACT);
    // Uploaded once: a further round of the uploader (every 5 seconds) sends nothing more.
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(ratings(&db), [("evaluator-1".to_owned(), "s001".to_owned(), "satisfied".to_owned())]);
    assert_eq!(rating_records(&db), ["evaluator-1"], "through the record upload, once");
    drop(evaluator);
    server.kill();
}

/// The author of every rating record (`ticket_rated`) in the server's device logs.
fn rating_records(db: &std::path::Path) -> Vec<String> {
    let url = format!("sqlite://{}", db.display());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let rows = sqlx::query_scalar("SELECT author FROM device_records WHERE kind = 'ticket_rated'")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        rows
    })
}

/// `(author, staff, level)` of every rating in the server's database.
fn ratings(db: &std::path::Path) -> Vec<(String, String, String)> {
    let url = format!("sqlite://{}", db.display());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let rows = sqlx::query_as("SELECT author, staff_id, level FROM ratings WHERE ticket_id IS NOT NULL")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        rows
    })
}

#[cfg(unix)]
#[test]
fn the_kiosk_issues_by_keypad_and_prints_a_gb18030_slip() {
    let sandbox = Sandbox::new();
    let db_url = format!("sqlite://{}", sandbox.root().join("server.db").display());
    let server = ServerProcess::start(BIN, sandbox.root(), &db_url, 0);
    let base = server.base();
    let kiosk_data = sandbox.root().join("kiosk");
    add_device(&db_url, &kiosk_data, &sandbox, &["自助取号机"]);
    // The "printer": keeps a copy of what it is given.
    let printed = sandbox.root().join("printed.bin");
    let printer = sandbox.root().join("printer.sh");
    std::fs::write(&printer, format!("#!/bin/sh\ncp \"$1\" '{}'\n", printed.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&printer, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut kiosk = Pty::spawn_with(
        BIN,
        &sandbox,
        Spawn::new(30, 80)
            .arg("kiosk")
            .arg("--server")
            .arg(&base)
            .env("BIANMIN_DATA_DIR", kiosk_data.display().to_string())
            .env("BIANMIN_TERMINAL_PRINT_COMMAND", printer.display().to_string())
            .env("BIANMIN_SERVER_PUBLIC_URL", base.clone()),
    );
    kiosk.expect("the categories", |s| s.contains("1   A  社保医保") && s.contains("6   F"), START);
    kiosk.send_key(b"3");
    kiosk.expect("the green channel asked", |s| s.contains("绿色通道：老年人"), REACT);
    kiosk.send_key(b"1");
    kiosk.expect(
        "the slip on screen",
        |s| s.contains("C 0 0 1") && s.contains("前面等候：0 人") && s.contains("办理窗口：3 号"),
        REACT,
    );
    let bytes = {
        let started = std::time::Instant::now();
        loop {
            if let Ok(bytes) = std::fs::read(&printed)
                && !bytes.is_empty()
            {
                break bytes;
            }
            assert!(started.elapsed() < REACT, "nothing printed");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    assert!(std::str::from_utf8(&bytes).is_err(), "GB18030, not UTF-8");
    let (text, _, errors) = encoding_rs::GB18030.decode(&bytes);
    assert!(!errors && text.contains("C 0 0 1") && text.contains("综合出件"), "{text}");
    // With server.public_url set, the paper carries the QR code of C001's status page: the very
    // blocks of its address with the token the server stored.
    assert!(text.contains("手机扫码查看排队进度"), "{text}");
    let (day, token): (String, String) = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = sqlx::SqlitePool::connect(&db_url).await.unwrap();
        let row = sqlx::query_as("SELECT day, status_token FROM queue_tickets WHERE letter = 'C' AND seq = 1")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        row
    });
    let day = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").unwrap();
    let url = bianmin::domain::hall::status_url(&base, day, "C001".parse().unwrap(), &token).unwrap();
    let qr = bianmin::documents::slip::qr_lines(&url).expect("a loopback URL fits the slip");
    assert!(text.contains(&qr.join("\n")), "{text}");
    // A second one: one ahead of it now.
    kiosk.send_key(b"x");
    kiosk.expect("back to the categories", |s| s.contains("请选择办理的业务"), REACT);
    kiosk.send_key(b"3");
    kiosk.send_key(b"1");
    kiosk.expect("C002 with one ahead", |s| s.contains("C 0 0 2") && s.contains("前面等候：1 人"), REACT);
    kiosk.send_key(keys_ctrl_c());
    assert!(kiosk.wait_exit(REACT).success());
}

fn keys_ctrl_c() -> &'static [u8] {
    common::pty::keys::CTRL_C
}
