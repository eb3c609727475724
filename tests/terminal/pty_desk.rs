//! The guidance desk in the real binary: search by pinyin initials, open the guide, record the
//! inquiry (首问负责) and see it uploaded.

use crate::common;

use std::time::Duration;

use common::pty::{Pty, Sandbox, Spawn, keys};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
const START: Duration = Duration::from_secs(30);
const REACT: Duration = Duration::from_secs(10);
const F6: &[u8] = b"\x1b[17~";

#[test]
fn search_by_initials_open_the_guide_and_record_the_inquiry() {
    let sandbox = Sandbox::new();
    let mut pty = Pty::spawn_with(BIN, &sandbox, Spawn::new(30, 110).arg("--desk"));
    pty.expect(
        "the desk, online, as 陈静",
        |s| s.contains("咨询导办") && s.contains("在线") && s.contains("陈静"),
        START,
    );

    pty.send(b"cjrz");
    pty.expect("残疾人证 found by its initials", |s| s.contains("找到") && s.contains("残疾人证"), REACT);
    pty.send_key(keys::ENTER);
    pty.expect("the guide opened beside the list", |s| s.contains("【申请材料】") && s.contains("F8取号"), REACT);

    pty.send_key(F6);
    pty.expect("the inquiry form", |s| s.contains("记录咨询：已解答"), REACT);
    pty.send_key(keys::ENTER);
    pty.expect("recorded and uploaded", |s| s.contains("咨询已记录") && s.contains("待上传0"), REACT);

    // q is a letter here: it searches rather than quits.
    pty.send(b"q");
    assert!(pty.is_alive());
    pty.send_key(keys::CTRL_C);
    assert!(pty.wait_exit(Duration::from_secs(60)).success());
}
