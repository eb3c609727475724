//! The window's queue from the clerk's keyboard, in the real binary against the real server:
//! call the next number, start, finish, call again, mark a no-show after confirming.

use crate::common;

use std::process::Command;
use std::time::Duration;

use common::pty::{Pty, Sandbox, Spawn, keys};
use common::server::{PASSWORD, ServerProcess};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
const START: Duration = Duration::from_secs(30);
const REACT: Duration = Duration::from_secs(10);
const F6: &[u8] = b"\x1b[17~";
const F8: &[u8] = b"\x1b[19~";
const F9: &[u8] = b"\x1b[20~";

/// Adds the kiosk device account on the server's database; its token lands in the kiosk's data
/// directory, as `bianmin admin device add` leaves it.
pub fn add_kiosk(db_url: &str, sandbox: &Sandbox) {
    let out = Command::new(BIN)
        .args(["admin", "device", "add", "kiosk", "--database", db_url])
        .env("BIANMIN_DATA_DIR", sandbox.root().join("kiosk"))
        .env("HOME", sandbox.root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A ticket from the kiosk's command line ([`add_kiosk`] first).
pub fn issue(base: &str, sandbox: &Sandbox, category: &str) -> String {
    let out = Command::new(BIN)
        .args(["ticket", "issue", "--category", category, "--server", base])
        .env("BIANMIN_DATA_DIR", sandbox.root().join("kiosk"))
        .env("HOME", sandbox.root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn call_serve_finish_and_no_show_at_the_window() {
    let sandbox = Sandbox::new();
    let db_url = format!("sqlite://{}", sandbox.root().join("server.db").display());
    let server = ServerProcess::start(BIN, sandbox.root(), &db_url, 0);
    let base = server.base();
    add_kiosk(&db_url, &sandbox);
    assert_eq!(issue(&base, &sandbox, "A"), "A001");
    assert_eq!(issue(&base, &sandbox, "B"), "B001");

    let mut pty = Pty::spawn_with(
        BIN,
        &sandbox,
        Spawn::new(30, 100)
            .arg("--server")
            .arg(&base)
            .env("BIANMIN_STAFF_ID", "s001")
            .env("BIANMIN_PASSWORD", PASSWORD),
    );
    pty.expect("在线 with one waiting in each category", |s| s.contains("在线") && s.contains("A 1人 B 1人"), START);

    pty.send_key(F6);
    pty.expect(
        "A001 called",
        |s| s.contains("A 0 0 1") && s.contains("已叫号") && s.contains("请 A001 号到 1 号窗口"),
        REACT,
    );
    pty.send_key(F8);
    pty.expect("A001 in service", |s| s.contains("办理中"), REACT);
    // The serving timer ticks while a ticket is in service.
    pty.expect("the timer running", |s| s.contains("办理中 00:01") || s.contains("办理中 00:02"), REACT);
    pty.send_key(F8);
    pty.expect("asked before finishing", |s| s.contains("确认 A001 办结"), REACT);
    pty.send_key(b"y");
    pty.expect(
        "A001 finished",
        |s| s.contains("A001 已办结") && s.contains("当前无号") && s.contains("A 0人 B 1人"),
        REACT,
    );

    // A ticket issued now reaches this terminal through the live feed.
    assert_eq!(issue(&base, &sandbox, "A"), "A002");
    pty.expect("the new ticket counted live", |s| s.contains("A 1人 B 1人"), REACT);

    pty.send_key(F6);
    pty.expect("B001 called (it joined first)", |s| s.contains("B 0 0 1"), REACT);
    pty.send_key(F9);
    pty.expect("asked to confirm", |s| s.contains("确认 B001 过号"), REACT);
    pty.send_key(b"n");
    pty.expect("not marked", |s| s.contains("B 0 0 1") && !s.contains("确认 B001 过号"), REACT);
    pty.send_key(F9);
    pty.send_key(b"y");
    pty.expect("B001 no-show", |s| s.contains("B001 已过号") && s.contains("当前无号") && s.contains("B 0人"), REACT);
    // The person turns up after all: back into the line.
    pty.send_key(keys::F2);
    pty.send_key(b"u");
    pty.expect("B001 back in the line", |s| s.contains("B001 已回队") && s.contains("B 1人"), REACT);

    // The next ticket's business: from the called ticket through the checklist to acceptance.
    pty.send_key(F6);
    pty.expect("A002 called", |s| s.contains("A 0 0 2"), REACT);
    pty.send_key(F8);
    pty.send_key(keys::F4);
    // The catalogue reaches the list after the first sync: moving down an empty list would open
    // another guide.
    pty.expect("the catalogue listed", |s| s.contains("关系转移接续"), REACT);
    for _ in 0..3 {
        pty.send_key(b"\x1b[B");
    }
    pty.send_key(keys::ENTER);
    pty.expect("the guide", |s| s.contains("HB-QS-0004"), REACT);
    pty.send_key(b"s");
    pty.expect("a case for ticket A002", |s| s.contains("收件中") && s.contains("A002号"), REACT);
    for _ in 0..4 {
        pty.send_key(b"y");
    }
    pty.send_key(b"p");
    pty.send("李四".as_bytes());
    pty.send_key(keys::ENTER);
    pty.send(b"11010519491231002X");
    pty.send_key(keys::ENTER);
    pty.send_key(keys::ENTER);
    pty.send_key(b"a");
    pty.expect("asked before accepting", |s| s.contains("确认受理"), REACT);
    pty.send_key(b"y");
    pty.expect("accepted", |s| s.contains("已受理") && s.contains("A002号"), REACT);
    pty.send_key(F8);
    pty.send_key(b"y");
    pty.expect("A002 finished", |s| s.contains("A002 已办结"), REACT);
    // The accepted case's own key hints: A002's case is still the one in the checklist.
    assert!(pty.screen_text().contains("^B补打"), "A002's case is still the one in the checklist");

    // The next applicant: the checklist lets go of A002's case, which stays in the list.
    pty.send_key(F6);
    pty.expect(
        "B001 called and A002's case back in the list",
        |s| s.contains("B 0 0 1") && s.contains("A002号 李*") && !s.contains("^B补打"),
        REACT,
    );

    pty.send_key(keys::F2);
    pty.send_key(keys::Q);
    assert!(pty.wait_exit(Duration::from_secs(60)).success());
    server.kill();
}
