//! Appointments (预约) against the real server: slots set by the admin, bookings refused for a
//! slot that does not exist, is full, has begun or falls on a day off, the last place raced for
//! by parallel bookings, check-in by code or phone (at the kiosk too) and the ticket then called
//! in its slot, cancelling, and the phone kept off the live queue.

use crate::common;

use std::sync::atomic::Ordering;

use bianmin::api::queue::{BookAppointment, Booking, CancelBooking, CheckInBooking, QueueChange, SlotPlans};
use bianmin::client::{ApiClient, ClientError};
use bianmin::domain::appointment::SlotPlan;
use bianmin::domain::staff::Role;
use bianmin::domain::ticket::{QueueAction, Ticket, TicketStatus};
use chrono::{DateTime, NaiveTime, Utc};
use common::server::{TestServer, signed_in_client};
use reqwest::StatusCode;

/// 2026-03-02 09:00 China time, a Monday.
const MORNING: &str = "2026-03-02T01:00:00Z";
/// China time `h:m` on that Monday (or `days` later).
fn at(days: i64, h: u32, m: u32) -> DateTime<Utc> {
    MORNING.parse::<DateTime<Utc>>().unwrap()
        + chrono::TimeDelta::days(days)
        + chrono::TimeDelta::minutes(i64::from(h * 60 + m) - 9 * 60)
}

fn set_clock(s: &TestServer, t: DateTime<Utc>) {
    s.clock.0.store(t.timestamp(), Ordering::SeqCst);
}

fn slot(start: u32, end: u32, capacity: u32) -> SlotPlan {
    let t = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
    SlotPlan { category: 'A', start: t(start), end: t(end), capacity }
}

fn problem_code<T: std::fmt::Debug>(result: Result<T, ClientError>) -> String {
    match result {
        Ok(v) => panic!("expected a refusal, got {v:?}"),
        Err(e) => e.problem_code().unwrap_or_else(|| panic!("expected a problem, got {e:?}")).to_owned(),
    }
}

fn ticket(change: QueueChange) -> Ticket {
    change.ticket.expect("the change carries the ticket")
}

/// A Monday morning with A's slots: 10-11 (one place), 11-12 (three), 14-15 (two).
async fn center() -> (TestServer, ApiClient) {
    let s = TestServer::start().await;
    set_clock(&s, at(0, 9, 0));
    let admin = signed_in_client(&s.base, "admin").await;
    let slots = SlotPlans { slots: vec![slot(10, 11, 1), slot(11, 12, 3), slot(14, 15, 2)] };
    assert_eq!(admin.set_appointment_slots('A', &slots).await.unwrap(), slots);
    let desk = signed_in_client(&s.base, "d001").await;
    (s, desk)
}

fn book(start: DateTime<Utc>, phone: Option<&str>) -> BookAppointment {
    BookAppointment { category: 'A', slot_start: start, phone: phone.map(str::to_owned), note: None }
}

fn by_code(code: &str) -> CheckInBooking {
    CheckInBooking { code: Some(code.into()), phone: None }
}

#[tokio::test]
async fn the_admin_sets_the_slots_and_bad_ones_are_refused() {
    let (s, desk) = center().await;
    assert_eq!(desk.appointment_slots().await.unwrap().slots.len(), 3);
    // Only the admin sets them.
    let other = SlotPlans { slots: vec![slot(9, 10, 5)] };
    assert_eq!(problem_code(desk.set_appointment_slots('A', &other).await), "forbidden");
    let admin = signed_in_client(&s.base, "admin").await;
    for bad in [vec![slot(9, 11, 1), slot(10, 12, 1)], vec![slot(7, 9, 1)], vec![slot(9, 10, 0)]] {
        let r = admin.set_appointment_slots('A', &SlotPlans { slots: bad.clone() }).await;
        assert_eq!(problem_code(r), "validation_failed", "{bad:?}");
    }
    // Unchanged by the refusals.
    assert_eq!(desk.appointment_slots().await.unwrap().slots.len(), 3);
    s.stop().await;
}

#[tokio::test]
async fn a_booking_takes_a_place_in_a_real_slot_of_a_working_day() {
    let (s, desk) = center().await;
    let Booking { code, change } = desk.book_appointment(&book(at(0, 11, 0), Some("138 0013 8000"))).await.unwrap();
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()) && !code.starts_with('0'), "{code}");
    let t = ticket(change);
    assert_eq!(t.status, TicketStatus::Booked);
    let a = t.appointment.unwrap();
    assert_eq!((a.slot_start, a.slot_end), (at(0, 11, 0), at(0, 12, 0)));
    let refused = [
        ("no such slot", book(at(0, 11, 30), None)),
        ("begun", book(at(0, 9, 0), None)),
        ("a Saturday", book(at(5, 11, 0), None)),
        ("too far ahead", book(at(60, 11, 0), None)),
        ("a phone that is none", book(at(0, 11, 0), Some("12345"))),
    ];
    for (what, request) in refused {
        assert_eq!(problem_code(desk.book_appointment(&request).await), "validation_failed", "{what}");
    }
    // The next working day's slot is fine, and its ticket is numbered on that day.
    let tomorrow = ticket(desk.book_appointment(&book(at(1, 10, 0), None)).await.unwrap().change);
    assert_eq!(tomorrow.day, chrono::NaiveDate::from_ymd_opt(2026, 3, 3).unwrap());
    // The phone never travels with the queue.
    let snapshot = serde_json::to_string(&desk.queue().await.unwrap()).unwrap();
    assert!(!snapshot.contains("13800138000") && !snapshot.contains(&code), "{snapshot}");
    s.stop().await;
}

#[tokio::test]
async fn parallel_bookings_for_the_last_place_exactly_one_wins() {
    let (s, desk) = center().await;
    // 14-15 has two places: one taken, eight race for the other.
    desk.book_appointment(&book(at(0, 14, 0), None)).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = signed_in_client(&s.base, "d001").await;
        tasks.push(tokio::spawn(async move { client.book_appointment(&book(at(0, 14, 0), None)).await }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(e) => assert_eq!(e.problem_code(), Some("validation_failed"), "{e:?}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(problem_code(desk.book_appointment(&book(at(0, 14, 0), None)).await), "validation_failed");
    s.stop().await;
}

#[tokio::test]
async fn checked_in_by_code_at_the_kiosk_the_booking_is_called_in_its_slot() {
    let (s, desk) = center().await;
    let clerk = signed_in_client(&s.base, "s001").await;
    let granted =
        bianmin::server::admin::add_device(s.state.store.as_ref(), "命令行:test", Role::Kiosk, None, at(0, 9, 0))
            .await
            .unwrap();
    let kiosk_check_in = async |body: serde_json::Value| {
        s.http
            .post(s.url("/api/v1/appointments/check-in"))
            .bearer_auth(&granted.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    };
    let Booking { code, change } = desk.book_appointment(&book(at(0, 10, 0), None)).await.unwrap();
    let booked = ticket(change);
    // More than half an hour before the slot: come back at 09:30.
    let r = kiosk_check_in(serde_json::json!({ "code": code })).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("09:30"));
    // A code nobody booked, and one that is not a code.
    assert_eq!(kiosk_check_in(serde_json::json!({ "code": "999999" })).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(kiosk_check_in(serde_json::json!({ "code": "12AB" })).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    set_clock(&s, at(0, 9, 35));
    let r = kiosk_check_in(serde_json::json!({ "code": code })).await;
    assert_eq!(r.status(), StatusCode::OK);
    let change: QueueChange = r.json().await.unwrap();
    assert_eq!(change.by, granted.staff.id);
    let arrived = ticket(change);
    assert_eq!(
        (arrived.number, arrived.status, arrived.action_last()),
        (booked.number, TicketStatus::Waiting, QueueAction::CheckedIn)
    );
    // Once checked in, the code does not check in again.
    assert_eq!(kiosk_check_in(serde_json::json!({ "code": code })).await.status(), StatusCode::NOT_FOUND);
    // Before the slot nobody calls it; in the slot the window does.
    assert_eq!(problem_code(clerk.call_next(1).await), "queue_empty");
    set_clock(&s, at(0, 10, 0));
    assert_eq!(ticket(clerk.call_next(1).await.unwrap()).number, booked.number);
    s.stop().await;
}

trait LastAction {
    fn action_last(&self) -> QueueAction;
}

impl LastAction for Ticket {
    fn action_last(&self) -> QueueAction {
        self.history.last().unwrap().action
    }
}

#[tokio::test]
async fn the_desk_checks_in_by_phone_and_cancels_by_code() {
    let (s, desk) = center().await;
    let first = desk.book_appointment(&book(at(0, 10, 0), Some("13800138000"))).await.unwrap();
    let second = desk.book_appointment(&book(at(0, 11, 0), Some("13800138000"))).await.unwrap();
    // The slot 10-11 is full.
    assert_eq!(problem_code(desk.book_appointment(&book(at(0, 10, 0), None)).await), "validation_failed");
    // Cancelling frees the place; a cancelled code neither cancels nor checks in again.
    let cancel =
        CancelBooking { day: first.change.ticket.as_ref().unwrap().day, code: first.code.clone(), phone: None };
    let cancelled = ticket(desk.cancel_booking(&cancel).await.unwrap());
    assert_eq!((cancelled.status, cancelled.action_last()), (TicketStatus::Expired, QueueAction::Cancelled));
    assert_eq!(problem_code(desk.cancel_booking(&cancel).await), "booking_not_found");
    assert_eq!(problem_code(desk.check_in_booking(&by_code(&first.code)).await), "booking_not_found");
    let again = desk.book_appointment(&book(at(0, 10, 0), Some("13800138000"))).await.unwrap();
    // By phone: the earliest booking still to check in of today (the new 10:00 one).
    set_clock(&s, at(0, 9, 40));
    let by_phone = CheckInBooking { code: None, phone: Some("138-0013-8000".into()) };
    let arrived = ticket(desk.check_in_booking(&by_phone).await.unwrap());
    assert_eq!(arrived.number, again.change.ticket.unwrap().number);
    // Late for 11-12 (checked in after it ended): still checked in, but it lost its slot.
    set_clock(&s, at(0, 12, 10));
    let late = ticket(desk.check_in_booking(&by_phone).await.unwrap());
    assert_eq!(late.number, second.change.ticket.unwrap().number);
    assert!(bianmin::domain::queue::slot_held(&late).is_none());
    assert_eq!(problem_code(desk.check_in_booking(&CheckInBooking::default()).await), "validation_failed");
    s.stop().await;
}

#[tokio::test]
async fn the_admin_sets_slots_from_the_command_line() {
    let s = TestServer::start().await;
    let sandbox = tempfile::tempdir().unwrap();
    let admin =
        |args: &[&str]| common::server::run_cli(&[&["admin", "slots"], args].concat(), &s.db_url, sandbox.path());
    let out = admin(&["set", "B", "09:00-10:00/5", "10:00-11:00/3"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("B 10:00-11:00/3"));
    let desk = signed_in_client(&s.base, "d001").await;
    let slots = desk.appointment_slots().await.unwrap().slots;
    assert_eq!(slots.iter().map(ToString::to_string).collect::<Vec<_>>(), ["B 09:00-10:00/5", "B 10:00-11:00/3"]);
    // Overlapping slots are refused in Chinese, and nothing changes.
    let out = admin(&["set", "B", "09:00-10:30/5", "10:00-11:00/3"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("重叠"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(desk.appointment_slots().await.unwrap().slots.len(), 2);
    // The setting is on the audit trail, by the command line's actor.
    let pool = sqlx::SqlitePool::connect(&s.db_url).await.unwrap();
    let lines: Vec<(String, String)> =
        sqlx::query_as("SELECT staff_id, target_id FROM audit WHERE action = 'appointment_slots_set'")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].0.starts_with("命令行:") && lines[0].1.contains("B 10:00-11:00/3"), "{lines:?}");
    s.stop().await;
}
