//! A hands the window to B and B acknowledges, each on their own terminal (the real binary in a
//! pseudo-terminal) against the real server: the handover travels through the device logs.

use crate::common;

use std::time::Duration;

use common::pty::{Pty, Sandbox, Spawn, keys};
use common::server::{PASSWORD, ServerProcess};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
const START: Duration = Duration::from_secs(30);
const REACT: Duration = Duration::from_secs(15);
const CTRL_S: &[u8] = b"\x13";

fn terminal(sandbox: &Sandbox, base: &str, staff: &str) -> Pty {
    Pty::spawn_with(
        BIN,
        sandbox,
        Spawn::new(30, 110)
            .arg("--server")
            .arg(base)
            .env("BIANMIN_STAFF_ID", staff)
            .env("BIANMIN_PASSWORD", PASSWORD)
            // Both PCs sit at window 1 (B also holds window 6's B post).
            .env("BIANMIN_TERMINAL_WINDOW", "1")
            // The default 30 s interval stays: the handover must arrive by push, not by polling.
            .env("BIANMIN_NETWORK_REFRESH_INTERVAL_S", "300"),
    )
}

#[test]
fn a_writes_the_handover_and_b_acknowledges_it() {
    let server_dir = Sandbox::new();
    let db_url = format!("sqlite://{}", server_dir.root().join("server.db").display());
    let server = ServerProcess::start(BIN, server_dir.root(), &db_url, 0);
    let (a_home, b_home) = (Sandbox::new(), Sandbox::new());
    let mut a = terminal(&a_home, &server.base(), "s001");
    let mut b = terminal(&b_home, &server.base(), "s002");
    a.expect("A online", |s| s.contains("在线") && s.contains("王丽 A岗"), START);
    b.expect("B online", |s| s.contains("在线") && s.contains("李强 B岗"), START);

    a.send_key(keys::F5);
    a.send_key(b"h");
    a.expect("the editor", |s| s.contains("A岗交B岗") && s.contains("离岗原因"), REACT);
    a.send_key(b"\x1b[C"); // → 会议
    a.send_key(keys::ENTER);
    // A return time later than now, whenever the test runs (a fixed 16:30 is refused after it);
    // in the day's last hour, none: the field may be left empty.
    let now = bianmin::domain::time::to_china(chrono::Utc::now());
    if chrono::Timelike::hour(&now) < 23 {
        a.send(b"23:30");
    }
    a.send_key(keys::ENTER);
    a.send("14:00 回电张先生补材料".as_bytes());
    a.send_key(keys::TAB);
    a.send("下午去县里培训".as_bytes());
    a.send_key(CTRL_S);
    a.expect("written and uploaded", |s| s.contains("已写好") && s.contains("待上传0"), REACT);
    assert!(a.screen_text().contains("送达 李强"), "B by name:\n{}", a.screen_text());

    b.expect("B is told", |s| s.contains("交接待确认"), REACT);
    b.send_key(keys::F5);
    b.expect("the handover whole", |s| s.contains("回电张先生补材料") && s.contains("离岗原因：会议"), REACT);
    b.send_key(b"a");
    b.expect("the acknowledgement form", |s| s.contains("确认接收交接"), REACT);
    b.send("已阅".as_bytes());
    b.send_key(keys::ENTER);
    b.expect("acknowledged, flag gone", |s| s.contains("已确认接收交接") && !s.contains("交接待确认"), REACT);
    b.expect("B covers the window now", |s| s.contains("B岗顶岗"), REACT);
    // B does the first to-do and ticks it off; A sees it on their terminal.
    b.expect("the to-do with its due time", |s| s.contains("1. [ ] 14:00 回电张先生补材料（14:00前）"), REACT);
    b.send_key(b"1");
    b.expect("ticked", |s| s.contains("1. [x] 14:00 回电张先生补材料"), REACT);

    a.expect("A sees B's acknowledgement, by name", |s| s.contains("李强 确认") && s.contains("B岗顶岗"), REACT);
    a.expect("and the ticked to-do", |s| s.contains("1. [x] 14:00 回电张先生补材料"), REACT);

    for pty in [&mut a, &mut b] {
        pty.send_key(keys::F2);
        pty.send_key(keys::Q);
        assert!(pty.wait_exit(Duration::from_secs(60)).success());
    }
    server.kill();
}
