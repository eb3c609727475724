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
    assert!(pty.wait_exit(Duration::from_secs(60)).success());
    assert!(!sandbox.log_text().contains("11010519491231002X"), "the ID number never reaches the log");
}

/// A case ended without acceptance, and documents printed again, in the real binary: a print
/// command that fails shows its error output and names the saved file; Ctrl+B reprints the
/// notice by its number (a 补打 copy, no new record); `c` 3 refuses the case (不予受理) after
/// asking, prints the 不予受理告知书 with the reason, and the case leaves the open list.
#[test]
fn a_case_is_refused_with_a_printed_notice_and_a_notice_is_reprinted() {
    use common::pty::Spawn;
    let sandbox = Sandbox::new();
    let printer = sandbox.root().join("printer.sh");
    std::fs::write(&printer, "#!/bin/sh\necho \"lp: 打印机 window1 缺纸\" >&2\nexit 1\n").unwrap();
    let options = Spawn::new(30, 160).env("BIANMIN_TERMINAL_PRINT_COMMAND", format!("sh {}", printer.display()));
    let mut pty = Pty::spawn_with(BIN, &sandbox, options);
    pty.expect("在线", |s| s.lines().next().is_some_and(|l| l.contains("在线")), START);

    pty.send_key(keys::F4);
    pty.expect("the catalogue listed", |s| s.contains("关系转移接续"), REACT);
    for _ in 0..3 {
        pty.send_key(b"\x1b[B");
    }
    pty.send_key(keys::ENTER);
    pty.expect("the guide opened whole", |s| s.contains("HB-QS-0004") && s.contains("s收件"), REACT);
    pty.send_key(b"s");
    pty.expect("a case in intake", |s| s.contains("收件中") && s.contains("待核 居民户口簿"), REACT);
    // 不适用 is refused for a required item.
    pty.send_key(b"x");
    pty.expect("x refused", |s| s.contains("必交材料，不能标为不适用"), REACT);
    pty.send_key(b"\x1b[A");
    for key in [b"y", b"n", b"n", b"y"] {
        pty.send_key(key);
    }
    pty.expect("two missing", |s| s.contains("缺2"), REACT);
    pty.send_key(b"g");
    pty.expect(
        "the notice given, the failed print said with its stderr and the file",
        |s| {
            s.contains("已一次性告知 2 项")
                && s.contains("打印失败（lp: 打印机 window1 缺纸），文件：documents/")
                && s.contains(".html")
        },
        REACT,
    );
    let docs = documents(&sandbox);
    let (name, _) = docs.iter().find(|(n, _)| n.starts_with("GZ01-") && n.ends_with(".html")).expect("notice saved");
    let number = name.trim_end_matches(".html").to_owned();
    pty.expect("all uploaded", |s| s.contains("待上传0"), REACT);

    // Ctrl+B: the notice again, by its number.
    pty.send_key(b"\x02");
    pty.expect("the reprint form", |s| s.contains("补打告知单或凭证"), REACT);
    pty.send(number.as_bytes());
    pty.send_key(keys::ENTER);
    pty.expect("reprinted", |s| s.contains(&format!("已补打 {number}（不产生新的记录）")), REACT);
    let docs = documents(&sandbox);
    let (_, copy) =
        docs.iter().find(|(n, _)| n == &format!("{number}-补打.txt")).expect("the reprint saved beside the original");
    assert!(copy.contains("补打件") && copy.contains(&number) && copy.contains("居民户口簿"), "{copy}");
    assert!(pty.screen_text().contains("待上传0"), "a reprint writes no record");

    // c 3: 不予受理, with a reason, after y.
    pty.send_key(b"c");
    pty.expect("the end form", |s| s.contains("终止办件"), REACT);
    pty.send(b"3");
    pty.send_key(keys::ENTER);
    pty.send("户籍不在本镇，不属于本中心受理范围".as_bytes());
    pty.send_key(keys::ENTER);
    pty.expect("asked first", |s| s.contains("不予受理并打印告知书") && s.contains("终止后不能恢复"), REACT);
    pty.send_key(b"y");
    pty.expect("refused with a notice", |s| s.contains("已不予受理：告知书 BY01-"), REACT);
    pty.expect("the case left the open list", |s| s.contains("本窗口暂无在办件"), REACT);
    let docs = documents(&sandbox);
    let (_, refusal) =
        docs.iter().find(|(n, _)| n.starts_with("BY01-") && n.ends_with("不予受理告知书.txt")).expect("refusal saved");
    let joined: String = refusal.lines().map(str::trim).collect();
    assert!(joined.contains("户籍不在本镇，不属于本中心受理范围") && joined.contains("决定不予受理"), "{refusal}");
    pty.expect("the ending uploaded", |s| s.contains("待上传0"), REACT);
    assert!(sandbox.log_text().contains("document reprinted"), "the reprint is in the log");

    pty.send_key(keys::F2);
    pty.send_key(keys::Q);
    assert!(pty.wait_exit(Duration::from_secs(60)).success());
}
