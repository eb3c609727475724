//! The hall's devices as real binaries against `bianmin serve`: the kiosk's ticket, called by the
//! clerk's F6 in the clerk terminal, shows on the calling display and is announced through the
//! configured command; F7 recalls it (highlighted, announced again); finishing frees the window.

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

/// Adds the display's device account; its token lands in `data`.
fn add_display(db_url: &str, data: &std::path::Path, sandbox: &Sandbox) {
    let out = std::process::Command::new(BIN)
        .args(["admin", "device", "add", "叫号屏", "--database", db_url])
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
fn a_call_at_the_window_shows_on_the_display_and_is_announced_once_per_call() {
    let sandbox = Sandbox::new();
    let db_url = format!("sqlite://{}", sandbox.root().join("server.db").display());
    let server = ServerProcess::start(BIN, sandbox.root(), &db_url, 0);
    let base = server.base();
    add_kiosk(&db_url, &sandbox);
    let display_data = sandbox.root().join("display");
    add_display(&db_url, &display_data, &sandbox);

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

    clerk.send_key(F8);
    display.expect("in service", |s| s.contains("办理中"), REACT);
    clerk.send_key(F8);
    clerk.expect("asked before finishing", |s| s.contains("确认 A001 办结"), REACT);
    clerk.send_key(b"y");
    display.expect("window 1 free again", |s| !s.contains("办理中") && !s.contains("请到窗口"), REACT);
    // Serving and finishing call nobody: nothing more was said.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(std::fs::read_to_string(&spoken).unwrap().lines().count(), 2);
    display.send_key(b"q");
    assert!(display.wait_exit(REACT).success(), "the display quits on q");
}
