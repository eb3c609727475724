//! A case from the clerk's keyboard to the printed paper, in the real binary: open a guide, check
//! the materials, give the one-time notice, receive the rest, enter the applicant and accept.

use crate::common;

use std::time::Duration;

use common::pty::{Pty, Sandbox, keys};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
const START: Duration = Duration::from_secs(30);
const REACT: Duration = Duration::from_secs(10);

fn documents(sandbox: &Sandbox) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let root = sandbox.data_dir().join("documents");
    for day in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        for file in std::fs::read_dir(day.path()).into_iter().flatten().flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            out.push((name, std::fs::read_to_string(file.path()).unwrap_or_default()));
        }
    }
    out.sort();
    out
}

#[test]
fn check_materials_give_the_notice_then_accept_with_a_deadline() {
    let sandbox = Sandbox::new();
    let mut pty = Pty::spawn(BIN, &sandbox, 30, 100);
    pty.expect("在线", |s| s.lines().next().is_some_and(|l| l.contains("在线")), START);

    pty.send_key(keys::F4);
    // The catalogue reaches the list after the first sync: moving down an empty list would open
    // another guide.
    pty.expect("the catalogue listed", |s| s.contains("关系转移接续"), REACT);
    for _ in 0..3 {
        pty.send_key(b"\x1b[B");
    }
    pty.send_key(keys::ENTER);
    pty.expect("the guide opened whole", |s| s.contains("HB-QS-0004") && s.contains("s收件"), REACT);
    pty.send_key(b"s");
    pty.expect("a case in intake", |s| s.contains("收件中") && s.contains("待核 居民户口簿"), REACT);

    // Identity card received, two items missing, the payment record received.
    for key in [b"y", b"n", b"n", b"y"] {
        pty.send_key(key);
    }
    pty.expect("two missing", |s| s.contains("缺2"), REACT);
    pty.send_key(b"g");
    pty.expect("the notice given", |s| s.contains("已一次性告知 2 项") && s.contains("待补正"), REACT);
    let docs = documents(&sandbox);
    let (name, notice) =
        docs.iter().find(|(n, _)| n.starts_with("GZ01-") && n.ends_with(".txt")).expect("notice saved");
    assert!(
        name.contains(
            &chrono::Utc::now()
                .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
                .format("%Y%m%d")
                .to_string()
        )
    );
    assert!(notice.contains("居民户口簿") && notice.contains("城乡居民基本养老保险关系转入申请表"));
    assert!(!notice.contains("参保缴费凭证"), "received items are not in the notice:\n{notice}");

    // Accepting now is refused: two items are still missing.
    pty.send_key(b"a");
    pty.expect("asked before accepting", |s| s.contains("确认受理"), REACT);
    pty.send_key(b"y");
    pty.expect("refused", |s| s.contains("未收齐") || s.contains("请先录入申请人"), REACT);

    // The applicant comes back with both.
    pty.send_key(b"\x1b[A");
    pty.send_key(b"\x1b[A");
    pty.send_key(b"y");
    pty.send_key(b"y");
    pty.expect("nothing missing", |s| s.contains("缺0"), REACT);
    pty.send_key(b"p");
    pty.expect("the applicant form", |s| s.contains("身份证"), REACT);
    pty.send("张三".as_bytes());
    pty.send_key(keys::ENTER);
    pty.send(b"11010519491231002X");
    pty.send_key(keys::ENTER);
    pty.send_key(keys::ENTER);
    pty.expect("the applicant, masked", |s| s.contains("张*") && s.contains("1101**********002X"), REACT);
    assert!(!pty.screen_text().contains("19491231"), "the full ID number is never on screen after saving");

    pty.send_key(b"a");
    pty.send_key(b"y");
    pty.expect("accepted with a case number", |s| s.contains("已受理") && s.contains("SL"), REACT);
    let docs = documents(&sandbox);
    let (_, receipt) = docs.iter().find(|(n, _)| n.contains("受理凭证") && n.ends_with(".txt")).expect("receipt saved");
    assert!(receipt.contains("承诺办结日期") && receipt.contains("15 个工作日"));
    assert!(receipt.contains("1101**********002X") && !receipt.contains("19491231"));

    pty.send_key(keys::ESC);
    pty.expect("the open case counts down", |s| s.contains("剩") && s.contains("已受理"), REACT);
    pty.send_key(keys::F2);
    pty.send_key(keys::Q);
    assert!(pty.wait_exit(Duration::from_secs(15)).success());
    assert!(!sandbox.log_text().contains("11010519491231002X"), "the ID number never reaches the log");
}
