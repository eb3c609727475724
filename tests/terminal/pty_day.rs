//! The window's day on two windows, each clerk on the real binary in a pseudo-terminal against
//! the real server: window 1 calls a ticket, opens the case, gives the one-time notice and calls
//! the next ticket (the checklist lets go of the case); the applicant comes back at window 2 with
//! the notice number, and window 2 finds the case, takes it over and accepts it.

use crate::common;

use std::time::Duration;

use common::pty::{Pty, Sandbox, Spawn, keys};
use common::server::{PASSWORD, ServerProcess};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
// Generous: the suite runs on two loaded cores.
use super::pty_queue::{add_kiosk, issue};

const START: Duration = Duration::from_secs(60);
const REACT: Duration = Duration::from_secs(30);
const F6: &[u8] = b"\x1b[17~";
const F8: &[u8] = b"\x1b[19~";
const DOWN: &[u8] = b"\x1b[B";
const CTRL_F: &[u8] = b"\x06";
const CTRL_R: &[u8] = b"\x12";

fn terminal(sandbox: &Sandbox, base: &str, staff: &str, window: u32) -> Pty {
    Pty::spawn_with(
        BIN,
        sandbox,
        Spawn::new(30, 110)
            .arg("--server")
            .arg(base)
            .env("BIANMIN_STAFF_ID", staff)
            .env("BIANMIN_PASSWORD", PASSWORD)
            .env("BIANMIN_TERMINAL_WINDOW", window.to_string()),
    )
}

/// The notice number in the message that announced it (`告知单 GZ01-20261205-0001`).
fn notice_number(screen: &str) -> Option<String> {
    let at = screen.find("告知单 GZ")?;
    let rest = &screen[at + "告知单 ".len()..];
    let number: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    (number.len() == "GZ01-20261205-0001".len()).then_some(number)
}

#[test]
fn the_applicant_given_a_notice_at_window_1_comes_back_at_window_2_which_continues_and_accepts() {
    let server_dir = Sandbox::new();
    let db_url = format!("sqlite://{}", server_dir.root().join("server.db").display());
    let server = ServerProcess::start(BIN, server_dir.root(), &db_url, 0);
    let base = server.base();
    add_kiosk(&db_url, &server_dir);
    for expected in ["A001", "A002", "A003"] {
        assert_eq!(issue(&base, &server_dir, "A"), expected);
    }
    let (one_home, two_home) = (Sandbox::new(), Sandbox::new());
    let mut one = terminal(&one_home, &base, "s001", 1);
    let mut two = terminal(&two_home, &base, "s003", 2);
    one.expect("window 1 online", |s| s.contains("在线") && s.contains("A 3人"), START);
    two.expect("window 2 online", |s| s.contains("在线") && s.contains("2号窗口"), START);

    // Window 1: the first applicant, a case for the ticket, the materials checked.
    one.send_key(F6);
    one.expect("A001 called", |s| s.contains("请 A001 号到 1 号窗口"), REACT);
    one.send_key(F8);
    one.expect("A001 in service", |s| s.contains("办理中"), REACT);
    one.send_key(keys::F4);
    one.expect("the catalogue listed", |s| s.contains("关系转移接续"), REACT);
    for _ in 0..3 {
        one.send_key(DOWN);
    }
    one.send_key(keys::ENTER);
    one.expect("the guide opened", |s| s.contains("HB-QS-0004") && s.contains("s收件"), REACT);
    one.send_key(b"s");
    one.expect("a case for A001", |s| s.contains("收件中") && s.contains("A001号"), REACT);
    for key in [b"y", b"n", b"n", b"y"] {
        one.send_key(key);
    }
    one.expect("two missing", |s| s.contains("缺2"), REACT);
    one.send_key(b"p");
    one.expect("the applicant form", |s| s.contains("身份证"), REACT);
    one.send("张三".as_bytes());
    one.send_key(keys::ENTER);
    one.send(b"11010519491231002X");
    one.send_key(keys::ENTER);
    one.send(b"13812345678");
    one.send_key(keys::ENTER);
    one.expect("the applicant, masked", |s| s.contains("张*"), REACT);
    one.send_key(b"g");
    one.expect("the one-time notice", |s| s.contains("已一次性告知 2 项") && notice_number(s).is_some(), REACT);
    let number = notice_number(&one.screen_text()).unwrap();

    // The applicant leaves with the notice; the next one: the checklist lets go of the case, which
    // stays in window 1's list.
    one.send_key(F8);
    one.expect("asked before finishing", |s| s.contains("确认"), REACT);
    one.send_key(b"y");
    one.expect("A001 finished", |s| s.contains("A001 已办结"), REACT);
    one.send_key(F6);
    one.expect(
        "A002 called, the case back in the list",
        |s| s.contains("请 A002 号到 1 号窗口") && s.contains("在办事项") && s.contains("待补正"),
        REACT,
    );
    one.expect("everything uploaded", |s| s.contains("待上传0"), REACT);

    // The applicant comes back with the notice, at window 2.
    two.send_key(F6);
    two.expect("A003 called at window 2", |s| s.contains("请 A003 号到 2 号窗口"), REACT);
    two.send_key(CTRL_F);
    two.expect("the search form", |s| s.contains("查找回头办件"), REACT);
    two.send(number.as_bytes());
    two.send_key(keys::ENTER);
    two.expect(
        "found, the applicant masked",
        |s| s.contains("找到的办件") && s.contains("1 号窗口") && s.contains("张*") && s.contains("待补正"),
        REACT,
    );
    assert!(!two.screen_text().contains("19491231"), "the ID number masked:\n{}", two.screen_text());
    two.send_key(keys::ENTER);
    two.expect(
        "continued at window 2: what was received stays received",
        |s| s.contains("已从 1 号窗口接续办件") && s.contains("缺2") && s.contains("A003号"),
        REACT,
    );
    // The two missing items are the second and third.
    two.send_key(DOWN);
    two.send_key(b"y");
    two.send_key(b"y");
    two.expect("nothing missing", |s| s.contains("缺0"), REACT);
    two.send_key(b"a");
    two.expect("asked before accepting", |s| s.contains("确认受理"), REACT);
    two.send_key(b"y");
    two.expect("accepted at window 2", |s| s.contains("已受理") && s.contains("SL") && s.contains("-02-"), REACT);
    two.expect("everything uploaded", |s| s.contains("待上传0"), REACT);

    // Window 1 no longer holds it.
    one.send_key(keys::F3);
    one.send_key(CTRL_R);
    one.expect("window 1's list is empty", |s| s.contains("本窗口暂无在办件"), REACT);
    drop((one, two, server));
}
