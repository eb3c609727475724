//! An appointment end to end in the real binaries: booked at the desk (over the API), checked in
//! by its code on the kiosk's keypad, refused by the window before its slot and called by the
//! clerk's F6 once the slot begins. The server runs in this process, so its clock can be set to
//! a Monday morning whatever the day the test runs on.

use crate::common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bianmin::api::queue::{BookAppointment, SlotPlans};
use bianmin::domain::appointment::SlotPlan;
use chrono::{DateTime, NaiveTime, Utc};
use common::pty::{Pty, Sandbox, Spawn, keys};
use common::server::{PASSWORD, TestServer, signed_in_client};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
const START: Duration = Duration::from_secs(30);
const REACT: Duration = Duration::from_secs(10);
const F6: &[u8] = b"\x1b[17~";

fn set_clock(s: &TestServer, at: &str) {
    s.clock.0.store(at.parse::<DateTime<Utc>>().unwrap().timestamp(), Ordering::SeqCst);
}

#[test]
fn a_booking_checked_in_by_code_at_the_kiosk_is_called_by_the_clerk_in_its_slot() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let s = runtime.block_on(TestServer::start());
    // Monday 2026-03-02, 09:35 China time: 25 minutes before the 10:00 slot.
    set_clock(&s, "2026-03-02T01:35:00Z");
    let code = runtime.block_on(async {
        let admin = signed_in_client(&s.base, "admin").await;
        let t = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
        let slots = SlotPlans { slots: vec![SlotPlan { category: 'A', start: t(10), end: t(11), capacity: 2 }] };
        admin.set_appointment_slots('A', &slots).await.unwrap();
        let desk = signed_in_client(&s.base, "d001").await;
        let request = BookAppointment {
            category: 'A',
            slot_start: "2026-03-02T02:00:00Z".parse().unwrap(),
            phone: None,
            note: None,
        };
        desk.book_appointment(&request).await.unwrap().code
    });

    let sandbox = Sandbox::new();
    let kiosk_data = sandbox.root().join("kiosk");
    let out = std::process::Command::new(BIN)
        .args(["admin", "device", "add", "自助取号机", "--database", &s.db_url])
        .env("BIANMIN_DATA_DIR", &kiosk_data)
        .env("HOME", sandbox.root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut kiosk = Pty::spawn_with(
        BIN,
        &sandbox,
        Spawn::new(30, 80)
            .arg("kiosk")
            .arg("--server")
            .arg(&s.base)
            .env("BIANMIN_DATA_DIR", kiosk_data.display().to_string()),
    );
    kiosk.expect("the check-in offered", |t| t.contains("按 0 签到"), START);
    kiosk.send_key(b"0");
    kiosk.expect("the check-in screen", |t| t.contains("请输入 6 位预约码"), REACT);
    kiosk.send(code.as_bytes());
    kiosk.expect("the code typed", |t| t.contains(&format!("{code}_")), REACT);
    kiosk.send_key(keys::ENTER);
    kiosk.expect(
        "the slip of a checked-in appointment",
        |t| t.contains("预约签到成功") && t.contains("A001") && t.contains("预约时段 10:00-11:00"),
        REACT,
    );

    let mut clerk = Pty::spawn_with(
        BIN,
        &sandbox,
        Spawn::new(30, 100)
            .arg("--server")
            .arg(&s.base)
            .env("BIANMIN_STAFF_ID", "s001")
            .env("BIANMIN_PASSWORD", PASSWORD),
    );
    clerk.expect("在线 with the appointment counted", |t| t.contains("在线") && t.contains("A 1人"), START);
    // Before its slot nobody calls it.
    clerk.send_key(F6);
    clerk.expect("not yet", |t| t.contains("当前没有等候的号"), REACT);
    set_clock(&s, "2026-03-02T02:00:00Z");
    clerk.send_key(F6);
    clerk.expect("A001 called in its slot", |t| t.contains("请 A001 号到 1 号窗口"), REACT);
    drop(kiosk);
    drop(clerk);
    runtime.block_on(s.stop());
}
