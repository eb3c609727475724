//! The online channel (网上预约渠道) against the real server: the county's 政务服务网 or a
//! mini-program books for applicants over the API with its device token. It sees the places
//! left, books (phone required, capped per phone per day), cancels its own bookings by code and
//! phone and nobody else's; the places-left figures follow bookings and cancels; and the old
//! booking path through `POST /api/v1/queue/tickets` is refused, naming the field.

use crate::common;

use std::sync::atomic::Ordering;

use bianmin::api::Problem;
use bianmin::api::queue::{BookAppointment, Booking, CancelBooking, FreePlaces, SlotPlans};
use bianmin::client::{ApiClient, ClientError};
use bianmin::config::NetworkSettings;
use bianmin::domain::appointment::{CHANNEL_BOOKINGS_PER_HOUR, MAX_OPEN_PER_PHONE, SlotPlan};
use bianmin::domain::staff::Role;
use bianmin::domain::ticket::TicketStatus;
use bianmin::server;
use chrono::{DateTime, NaiveTime, Utc};
use common::server::{TestServer, signed_in_client};
use reqwest::StatusCode;

/// 2026-03-02 09:00 China time, a Monday.
const MORNING: &str = "2026-03-02T01:00:00Z";

/// China time `h:00` on that Monday.
fn at(h: u32) -> DateTime<Utc> {
    MORNING.parse::<DateTime<Utc>>().unwrap() + chrono::TimeDelta::hours(i64::from(h) - 9)
}

fn slot(start: u32, end: u32, capacity: u32) -> SlotPlan {
    let t = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
    SlotPlan { category: 'A', start: t(start), end: t(end), capacity }
}

fn book(h: u32, phone: Option<&str>) -> BookAppointment {
    BookAppointment { category: 'A', slot_start: at(h), phone: phone.map(str::to_owned), note: None }
}

fn problem_code<T: std::fmt::Debug>(result: Result<T, ClientError>) -> String {
    match result {
        Ok(v) => panic!("expected a refusal, got {v:?}"),
        Err(e) => e.problem_code().unwrap_or_else(|| panic!("expected a problem, got {e:?}")).to_owned(),
    }
}

/// A channel's client, its account added as `bianmin admin device add online` does.
async fn channel(s: &TestServer) -> (String, ApiClient) {
    let now = DateTime::from_timestamp(s.clock.0.load(Ordering::SeqCst), 0).unwrap();
    let granted =
        server::admin::add_device(s.state.store.as_ref(), "命令行:test", Role::OnlineChannel, None, now).await.unwrap();
    let mut client = ApiClient::new(&s.base, &NetworkSettings::default()).unwrap();
    client.set_token(Some(granted.token));
    (granted.staff.id, client)
}

/// A Monday morning with A's slots 10-11 (two places), 11-12 (five), 14-15 (one).
async fn center() -> (TestServer, ApiClient) {
    let s = TestServer::start().await;
    s.clock.0.store(at(9).timestamp(), Ordering::SeqCst);
    let admin = signed_in_client(&s.base, "admin").await;
    let slots = SlotPlans { slots: vec![slot(10, 11, 2), slot(11, 12, 5), slot(14, 15, 1)] };
    admin.set_appointment_slots('A', &slots).await.unwrap();
    let desk = signed_in_client(&s.base, "d001").await;
    (s, desk)
}

/// `(times, places text)` of each slot.
fn figures(free: &FreePlaces) -> Vec<(String, String)> {
    free.slots.iter().map(|s| (s.times_text(), s.places_text())).collect()
}

fn owned(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

#[tokio::test]
async fn the_channel_books_and_sees_the_places_left_follow_bookings_and_cancels() {
    let (s, desk) = center().await;
    let (id, online) = channel(&s).await;
    let free = online.free_places(None, Some('A')).await.unwrap();
    assert_eq!((free.day.to_string(), free.working_day), ("2026-03-02".to_owned(), true));
    assert_eq!(figures(&free), owned(&[("10:00-11:00", "余2"), ("11:00-12:00", "余5"), ("14:00-15:00", "余1")]));
    // The channel books with the applicant's phone; the booking is the channel's, at the
    // server's time, and the reply carries nothing the channel did not send but the ticket.
    let booked: Booking = online.book_appointment(&book(10, Some("13800138000"))).await.unwrap();
    assert_eq!(booked.code.len(), 6);
    assert_eq!(booked.change.by, id);
    assert_eq!(booked.change.at, at(9));
    let text = serde_json::to_string(&booked).unwrap();
    for field in ["13800138000", "\"phone\"", "\"applicant\"", "\"name\""] {
        assert!(!text.contains(field), "the reply carries {field}: {text}");
    }
    // The desk books the other place of 10-11 and the last one of 14-15.
    let by_desk = desk.book_appointment(&book(10, Some("13900139000"))).await.unwrap();
    desk.book_appointment(&book(14, None)).await.unwrap();
    let free = desk.free_places(None, None).await.unwrap();
    assert_eq!(figures(&free), owned(&[("10:00-11:00", "已满"), ("11:00-12:00", "余5"), ("14:00-15:00", "已满")]));
    assert_eq!(problem_code(online.book_appointment(&book(10, Some("13700137000"))).await), "validation_failed");
    // The director sees the same figures.
    let director = {
        server::admin::add_staff(
            s.state.store.as_ref(),
            "命令行:test",
            "z001",
            "赵主任",
            Role::Director,
            common::server::PASSWORD,
            Utc::now(),
        )
        .await
        .unwrap();
        signed_in_client(&s.base, "z001").await
    };
    assert_eq!(figures(&director.free_places(None, Some('A')).await.unwrap()), figures(&free));
    // The channel may not cancel the desk's booking, even knowing its code and phone: not found,
    // as for a code that does not exist (it learns nothing about others' bookings).
    let day = booked.change.ticket.as_ref().unwrap().day;
    let desk_one = CancelBooking { day, code: by_desk.code.clone(), phone: Some("13900139000".into()) };
    assert_eq!(problem_code(online.cancel_booking(&desk_one).await), "booking_not_found");
    // Its own needs the phone it was booked with.
    let wrong_phone = CancelBooking { day, code: booked.code.clone(), phone: Some("13700137000".into()) };
    assert_eq!(problem_code(online.cancel_booking(&wrong_phone).await), "booking_not_found");
    let no_phone = CancelBooking { day, code: booked.code.clone(), phone: None };
    assert_eq!(problem_code(online.cancel_booking(&no_phone).await), "validation_failed");
    let mine = CancelBooking { day, code: booked.code.clone(), phone: Some("138 0013 8000".into()) };
    let cancelled = online.cancel_booking(&mine).await.unwrap().ticket.unwrap();
    assert_eq!(cancelled.status, TicketStatus::Expired);
    // The place is free again; the desk's booking stands.
    let free = online.free_places(None, Some('A')).await.unwrap();
    assert_eq!(figures(&free)[0], ("10:00-11:00".to_owned(), "余1".to_owned()));
    // Another day: nothing booked yet; a Saturday is not bookable at all.
    let tuesday = online.free_places(Some("2026-03-03".parse().unwrap()), Some('A')).await.unwrap();
    assert_eq!(figures(&tuesday)[0].1, "余2");
    let saturday = online.free_places(Some("2026-03-07".parse().unwrap()), None).await.unwrap();
    assert!(!saturday.working_day && saturday.slots.iter().all(|s| s.places_text() == "不可约"));
    // Once a slot has begun it is no longer bookable.
    s.clock.0.store(at(10).timestamp(), Ordering::SeqCst);
    assert_eq!(figures(&online.free_places(None, Some('A')).await.unwrap())[0].1, "不可约");
    s.stop().await;
}

#[tokio::test]
async fn the_channel_cannot_cancel_another_channels_booking() {
    let (s, _desk) = center().await;
    let (_, first) = channel(&s).await;
    let (second_id, second) = channel(&s).await;
    assert_eq!(second_id, "online-2");
    let booked = first.book_appointment(&book(11, Some("13800138000"))).await.unwrap();
    let day = booked.change.ticket.as_ref().unwrap().day;
    let cancel = CancelBooking { day, code: booked.code.clone(), phone: Some("13800138000".into()) };
    assert_eq!(problem_code(second.cancel_booking(&cancel).await), "booking_not_found");
    // The desk cancels any booking by its code alone.
    let desk = signed_in_client(&s.base, "d001").await;
    let by_desk = CancelBooking { phone: None, ..cancel };
    assert_eq!(desk.cancel_booking(&by_desk).await.unwrap().ticket.unwrap().status, TicketStatus::Expired);
    s.stop().await;
}

#[tokio::test]
async fn the_channel_gives_a_phone_and_one_phone_holds_few_bookings_a_day() {
    let (s, desk) = center().await;
    let (_, online) = channel(&s).await;
    let r = online.book_appointment(&book(11, None)).await;
    let Err(ClientError::Problem(problem)) = r else { panic!("expected a refusal, got {r:?}") };
    assert_eq!(problem.errors[0].field, "phone");
    // Up to the cap for one phone on one day, whoever books; then refused, naming the phone.
    for _ in 0..MAX_OPEN_PER_PHONE {
        online.book_appointment(&book(11, Some("13800138000"))).await.unwrap();
    }
    let r = desk.book_appointment(&book(11, Some("13800138000"))).await;
    let Err(ClientError::Problem(problem)) = r else { panic!("expected a refusal, got {r:?}") };
    assert_eq!((problem.code.as_str(), problem.errors[0].field.as_str()), ("validation_failed", "phone"));
    assert!(problem.errors[0].message.contains(&MAX_OPEN_PER_PHONE.to_string()), "{:?}", problem.errors);
    // Another phone, or the same phone another day, books.
    online.book_appointment(&book(11, Some("13900139000"))).await.unwrap();
    let tomorrow = BookAppointment { slot_start: at(11) + chrono::TimeDelta::days(1), ..book(11, Some("13800138000")) };
    online.book_appointment(&tomorrow).await.unwrap();
    s.stop().await;
}

/// A runaway or stolen channel token cannot fill the slots with made-up phone numbers: every
/// booking it tries counts, refused or not, and past the hour's limit it is told to slow down,
/// while the desk still books; the next hour it books again.
#[tokio::test]
async fn a_channel_booking_too_often_is_slowed_down_and_the_desk_is_not() {
    let (s, desk) = center().await;
    let (_, online) = channel(&s).await;
    desk.book_appointment(&book(14, Some("13900139000"))).await.unwrap();
    for i in 0..CHANNEL_BOOKINGS_PER_HOUR {
        // The 14:00 slot is full: each try is refused, and still counts.
        let phone = format!("1380013{i:04}");
        assert_eq!(problem_code(online.book_appointment(&book(14, Some(&phone))).await), "validation_failed");
    }
    let r = online.book_appointment(&book(11, Some("13700137000"))).await;
    let Err(ClientError::Problem(problem)) = r else { panic!("expected a refusal, got {r:?}") };
    assert_eq!(problem.code, "too_many_bookings");
    assert!(problem.title.contains(&CHANNEL_BOOKINGS_PER_HOUR.to_string()), "{}", problem.title);
    desk.book_appointment(&book(11, Some("13700137000"))).await.unwrap();
    s.clock.0.fetch_add(3600, Ordering::SeqCst);
    online.book_appointment(&book(11, Some("13700137001"))).await.unwrap();
    s.stop().await;
}

#[tokio::test]
async fn booking_through_the_ticket_route_is_refused_naming_the_field() {
    let (s, _desk) = center().await;
    let desk = s.sign_in("d001").await;
    for field in ["slot_start", "slot_end"] {
        let body = serde_json::json!({"category": "A", field: at(10)});
        let r = s.http.post(s.url("/api/v1/queue/tickets")).bearer_auth(&desk).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        let problem: Problem = r.json().await.unwrap();
        assert_eq!(problem.errors[0].field, field);
        assert!(problem.errors[0].message.contains("预约"), "{:?}", problem.errors);
    }
    // Nothing was booked or issued.
    let free = s.get("/api/v1/appointments/free?category=A", &desk).await.json::<FreePlaces>().await.unwrap();
    assert_eq!(free.slots[0].left, 2);
    let queue: serde_json::Value = s.get("/api/v1/queue", &desk).await.json().await.unwrap();
    assert_eq!(queue["tickets"].as_array().map_or(0, Vec::len), 0, "{queue}");
    s.stop().await;
}

#[tokio::test]
async fn the_command_line_adds_the_channel_and_shows_the_places_left() {
    let (s, _) = center().await;
    let sandbox = tempfile::tempdir().unwrap();
    let bianmin = |args: &[&str]| common::server::run_cli(args, &s.db_url, sandbox.path());
    // `bianmin admin device add online`: the token kept owner-only, never printed.
    let out = bianmin(&["admin", "device", "add", "online"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("online-1") && said.contains("网上预约渠道"), "{said}");
    let token_file = sandbox.path().join("device-online.token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    // The file holds the account, then the token the portal's back end sends as its bearer.
    let kept = std::fs::read_to_string(&token_file).unwrap();
    let token = kept.lines().nth(1).unwrap();
    assert_eq!(kept.lines().next(), Some("online-1"));
    assert!(!said.contains(token), "the token is printed");
    // The token books.
    let mut online = ApiClient::new(&s.base, &NetworkSettings::default()).unwrap();
    online.set_token(Some(token.to_owned()));
    online.book_appointment(&book(11, Some("13800138000"))).await.unwrap();
    // Signed in again: the command line, at the real time, clears sessions that ended before it,
    // and the desk's ended long ago by that clock (the server's stands on 2026-03-02).
    let desk = signed_in_client(&s.base, "d001").await;
    desk.book_appointment(&book(14, None)).await.unwrap();
    // The look-up, as JSON (the figures) and as a table.
    let out = bianmin(&["appointments", "free", "--day", "2026-03-02", "--category", "A", "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let free: FreePlaces = serde_json::from_slice(&out.stdout).unwrap();
    let left: Vec<u32> = free.slots.iter().map(|s| s.left).collect();
    assert_eq!(left, [2, 4, 0]);
    // Tuesday, still ahead of the real clock or not, has nothing booked.
    let out = bianmin(&["appointments", "free", "--day", "2026-03-03"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("2026-03-03（工作日）") && table.contains("A     11:00-12:00     5"), "{table}");
    let out = bianmin(&["appointments", "free", "--day", "2026-03-03", "--format", "yaml"]);
    assert!(!out.status.success());
    s.stop().await;
}
