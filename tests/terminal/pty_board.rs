//! Done-when of the director's board, with real binaries: `bianmin serve`, the clerk terminal of
//! window 2 and `bianmin board` signed in as a 中心负责人 added with `bianmin admin staff add`.
//! A bad rating posted at window 2 with the evaluator's device token (as the evaluator does)
//! shows on the board within 2 seconds; the clerk explains it in the clerk terminal (Ctrl+E);
//! the director closes it on the board (x, 现场化解, asked first); the board's reply rate goes
//! from 0% to 100%.

use crate::common;

use std::time::{Duration, Instant};

use bianmin::api::hall::RateTicket;
use bianmin::api::queue::IssueTicket;
use bianmin::client::ApiClient;
use bianmin::client::token::load_device_token;
use bianmin::config::NetworkSettings;
use bianmin::domain::rating::RatingLevel;
use common::pty::{Pty, Sandbox, Spawn};
use common::server::{PASSWORD, ServerProcess};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
const START: Duration = Duration::from_secs(30);
const REACT: Duration = Duration::from_secs(10);
/// The clerk terminal hears of its window's follow-ups with its presence report (every 15 s).
const CLERK_HEARS: Duration = Duration::from_secs(40);
const CTRL_E: &[u8] = b"\x05";
const ENTER: &[u8] = b"\r";

/// Runs `bianmin admin ...` on the server's database; `data` is where a device token lands.
fn admin(db_url: &str, data: &std::path::Path, sandbox: &Sandbox, args: &[&str]) {
    let out = std::process::Command::new(BIN)
        .arg("admin")
        .args(args)
        .args(["--database", db_url])
        .env("BIANMIN_DATA_DIR", data)
        .env("BIANMIN_NEW_PASSWORD", PASSWORD)
        .env("HOME", sandbox.root())
        .output()
        .unwrap();
    assert!(out.status.success(), "admin {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn device(base: &str, data: &std::path::Path, word: &str) -> ApiClient {
    let token = load_device_token(data, word).unwrap().expect("the device's token file");
    let mut client = ApiClient::new(base, &NetworkSettings::default()).unwrap();
    client.set_token(Some(token));
    client
}

#[cfg(unix)]
#[test]
fn a_bad_rating_reaches_the_board_the_clerk_answers_the_director_closes_and_the_reply_rate_is_100() {
    let sandbox = Sandbox::new();
    let db_url = format!("sqlite://{}", sandbox.root().join("server.db").display());
    let server = ServerProcess::start(BIN, sandbox.root(), &db_url, 0);
    let base = server.base();
    let devices = sandbox.root().join("devices");
    admin(&db_url, &devices, &sandbox, &["staff", "add", "z001", "赵主任", "--role", "中心负责人"]);
    admin(&db_url, &devices, &sandbox, &["device", "add", "自助取号机"]);
    admin(&db_url, &devices, &sandbox, &["device", "add", "评价器", "--window", "2"]);

    let mut board = Pty::spawn_with(
        BIN,
        &sandbox,
        Spawn::new(24, 80)
            .arg("board")
            .arg("--server")
            .arg(&base)
            .env("BIANMIN_DATA_DIR", sandbox.root().join("board").display().to_string())
            .env("BIANMIN_STAFF_ID", "z001")
            .env("BIANMIN_PASSWORD", PASSWORD),
    );
    board.expect(
        "the board, no bad rating yet",
        |s| s.contains("中心看板") && s.contains("本月回复率—") && s.contains("没有待整改的差评"),
        START,
    );
    // s003 holds A at window 2 and B at 3: this PC is window 2's.
    let mut clerk = Pty::spawn_with(
        BIN,
        &sandbox,
        Spawn::new(30, 100)
            .arg("--server")
            .arg(&base)
            .env("BIANMIN_DATA_DIR", sandbox.root().join("clerk").display().to_string())
            .env("BIANMIN_TERMINAL_WINDOW", "2")
            .env("BIANMIN_STAFF_ID", "s003")
            .env("BIANMIN_PASSWORD", PASSWORD),
    );
    clerk.expect("the clerk online at window 2", |s| s.contains("在线") && s.contains("2号窗口"), START);

    // A ticket served at window 2, then rated 不满意 there, as the evaluator posts it.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let kiosk = device(&base, &devices, "kiosk");
    let evaluator = device(&base, &devices, "evaluator-2");
    let ticket = runtime.block_on(kiosk.issue_ticket(&IssueTicket::new('A'))).unwrap().ticket.unwrap();
    clerk.expect("the ticket waiting", |s| s.contains("A 1人"), REACT);
    clerk.send_key(b"\x1b[17~"); // F6 call
    clerk.expect("called", |s| s.contains(&ticket.number.to_string()), REACT);
    clerk.send_key(b"\x1b[19~"); // F8 start
    clerk.expect("in service", |s| s.contains("办理中"), REACT);
    clerk.send_key(b"\x1b[19~"); // F8 finish, asked
    clerk.expect("asked before finishing", |s| s.contains("办结"), REACT);
    clerk.send_key(b"y");
    let rating = RateTicket {
        id: Uuid::now_v7(),
        ticket_id: ticket.id,
        level: RatingLevel::Dissatisfied,
        reason: "等候时间长".into(),
    };
    // The server has seen the finish when the rating is taken; retry while it has not.
    let posted = loop {
        match runtime.block_on(evaluator.rate_ticket(2, &rating)) {
            Ok(_) => break Instant::now(),
            Err(e) => {
                assert!(e.to_string().contains("办结") || e.to_string().contains("评价"), "{e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    };
    board.expect("the bad rating on the board", |s| s.contains("2号 张敏 不满意") && s.contains("待整改"), REACT);
    let shown = posted.elapsed();
    eprintln!("the bad rating showed on the board {shown:?} after the evaluator's POST returned");
    assert!(shown <= Duration::from_secs(2), "the bad rating showed after {shown:?}");
    board.expect("the reply rate at 0%", |s| s.contains("本月回复率0.0%"), REACT);

    // The clerk hears of it with the next presence report and explains it.
    clerk.expect("the follow-up flagged for the clerk", |s| s.contains("差评待整改1"), CLERK_HEARS);
    clerk.send_key(CTRL_E);
    clerk.expect("the explanation form", |s| s.contains("差评情况说明") && s.contains("2 号窗口"), REACT);
    clerk.send("高峰时段人手不足".as_bytes());
    std::thread::sleep(Duration::from_millis(200));
    clerk.send_key(ENTER);
    clerk.expect("sent", |s| s.contains("已情况说明"), REACT);
    board.expect("the clerk's step on the board", |s| s.contains("最近：情况说明 张敏"), REACT);

    // The director closes it: 现场化解, asked first; the reply rate moves to 100%.
    board.send_key(b"x");
    board.expect("the 现场化解 form", |s| s.contains("现场化解"), REACT);
    board.send("当场致歉并加开窗口".as_bytes());
    std::thread::sleep(Duration::from_millis(200));
    board.send_key(ENTER);
    board.expect("asked before closing", |s| s.contains("确认？（y 确认 / n 取消）"), REACT);
    assert!(board.screen_text().contains("本月回复率0.0%"), "nothing closed before y");
    board.send_key(b"y");
    board.expect("closed, the reply rate at 100%", |s| s.contains("本月回复率100%") && s.contains("已办结"), REACT);

    board.send_key(b"q");
    assert!(board.wait_exit(REACT).success(), "the board quits on q");
    drop(server);
}
