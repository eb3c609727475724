//! `bianmin report`: a small day built through the real server (tickets issued at the kiosk,
//! called, served and one missed at window 1, ratings at the evaluator, an accepted case uploaded
//! from the window's log), then the report read from the same SQLite file, by the function and by
//! the real binary, checked against figures worked out here from the steps taken. And the
//! 差评整改 follow-up a bad rating opens: listed, answered by the clerk, closed by the director,
//! and counted in the report's reply rate.

use crate::common;

use std::process::Command;
use std::sync::atomic::Ordering;

use bianmin::api::RecordEnvelope;
use bianmin::api::follow_up::FollowUpRow;
use bianmin::api::hall::RateTicket;
use bianmin::api::queue::IssueTicket;
use bianmin::domain::applicant::{Applicant, IdNumber, Phone};
use bianmin::domain::attendance::OpeningHours;
use bianmin::domain::case::MaterialCheck;
use bianmin::domain::center::Post;
use bianmin::domain::follow_up::FollowUpState;
use bianmin::domain::intake::{self, Opening};
use bianmin::domain::rating::RatingLevel;
use bianmin::domain::record::RecordBody;
use bianmin::domain::report::Period;
use bianmin::domain::staff::Role;
use bianmin::domain::time::china_offset;
use bianmin::server;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use common::server::{TestServer, signed_in_client};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");

/// China time on Monday 2026-11-30, a working day already past.
fn at(h: u32, m: u32) -> DateTime<Utc> {
    china_offset().with_ymd_and_hms(2026, 11, 30, h, m, 0).unwrap().with_timezone(&Utc)
}

fn set(s: &TestServer, t: DateTime<Utc>) {
    s.clock.0.store(t.timestamp(), Ordering::SeqCst);
}

/// Runs the real binary on the test's database, in an empty home.
fn run(args: &[&str]) -> (i32, Vec<u8>, String) {
    let home = tempfile::tempdir().unwrap();
    let at = |sub: &str| home.path().join(sub);
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .env("HOME", at("home"))
        .env("XDG_CONFIG_HOME", at("xdg-config"))
        .env("XDG_DATA_HOME", at("xdg-data"))
        .env("BIANMIN_DATA_DIR", at("data"))
        .env("LANG", "C.UTF-8");
    let out = command.output().unwrap();
    (out.status.code().unwrap_or(-1), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test]
async fn a_day_served_through_the_server_is_reported_with_the_figures_it_made() {
    let s = TestServer::start().await;
    set(&s, at(9, 0));
    let kiosk = s.device(Role::Kiosk, None).await;
    let evaluator = s.device(Role::Evaluator, Some(1)).await;
    let clerk = signed_in_client(&s.base, "s001").await;

    let mut issued = Vec::new();
    for _ in 0..3 {
        issued.push(kiosk.issue_ticket(&IssueTicket::new('A')).await.unwrap().ticket.unwrap());
    }
    let rate = |ticket_id: Uuid, level: RatingLevel, reason: &str| RateTicket {
        id: Uuid::now_v7(),
        ticket_id,
        level,
        reason: reason.into(),
    };
    // A1: called 09:05, served 09:06-09:16, rated 非常满意.
    set(&s, at(9, 5));
    clerk.call_next(1).await.unwrap();
    set(&s, at(9, 6));
    clerk.start_service(1).await.unwrap();
    set(&s, at(9, 16));
    clerk.finish_service(1).await.unwrap();
    evaluator.rate_ticket(1, &rate(issued[0].id, RatingLevel::VerySatisfied, "")).await.unwrap();
    // A2: called 09:20, missed (过号).
    set(&s, at(9, 20));
    clerk.call_next(1).await.unwrap();
    set(&s, at(9, 22));
    clerk.no_show(1).await.unwrap();
    // A3: called 09:25, served 09:26-09:56, rated 不满意.
    set(&s, at(9, 25));
    clerk.call_next(1).await.unwrap();
    set(&s, at(9, 26));
    clerk.start_service(1).await.unwrap();
    set(&s, at(9, 56));
    clerk.finish_service(1).await.unwrap();
    evaluator.rate_ticket(1, &rate(issued[2].id, RatingLevel::Dissatisfied, "等候时间长")).await.unwrap();

    // A case opened and accepted at window 1 at 10:00, uploaded from the window's log.
    set(&s, at(10, 0));
    let guide = bianmin::assets::bundled_catalogue()
        .unwrap()
        .guides
        .into_iter()
        .find(|g| g.situations.is_empty() && g.promised_limit_days > 0)
        .unwrap();
    let opening = Opening { window: 1, post: Post::A, staff_id: "s001", ticket: None };
    let mut case = intake::open_case(&guide, None, &opening, Uuid::now_v7(), at(10, 0)).unwrap();
    case.applicant = Some(Applicant {
        name: "张三".into(),
        id_number: IdNumber::parse("11010519491231002X").unwrap(),
        phone: Some(Phone::parse("13812345678").unwrap()),
    });
    for material in case.checklist.items.iter().map(|i| i.material_id.clone()).collect::<Vec<_>>() {
        intake::set_material(&mut case, &material, MaterialCheck::Received, None).unwrap();
    }
    let calendar = bianmin::assets::bundled_calendar().unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    intake::accept(&mut case, &guide, "QS-20261130-0001".into(), day, &calendar).unwrap();
    case.new_version(Uuid::now_v7());
    let body = RecordBody::CaseSnapshot(Box::new(case.clone()));
    let record = RecordEnvelope {
        schema: bianmin::api::RECORD_SCHEMA,
        device: Uuid::now_v7(),
        stream: bianmin::domain::record::stream_name(1, body.family()),
        idx: 1,
        id: Uuid::now_v7(),
        created_at: at(10, 0),
        author: "s001".into(),
        window: 1,
        post: Post::A,
        body: serde_json::to_value(&body).unwrap(),
    };
    clerk.upload(vec![record]).await.unwrap();

    // The report, as of the evening of that day.
    let hours = OpeningHours::default();
    let loaded =
        server::service::report::load(s.state.store.as_ref(), Period::day(day), &hours, at(18, 0)).await.unwrap();
    let r = &loaded.report;
    assert_eq!((r.tickets_issued, r.tickets_served), (3, 2));
    assert_eq!((r.ratings.total(), r.ratings.bad()), (2, 1));
    assert_eq!((r.replies.bad_ratings, r.replies.replied_in_time), (1, 0), "no follow-up stored yet");

    let s001 = r.clerks.iter().find(|c| c.staff == "s001").expect("s001 in the report");
    assert_eq!(s001.tickets_served, 2);
    // Waits: queued 09:00, called 09:05 and 09:25. Handling: 10 and 30 minutes.
    assert_eq!(s001.average_wait_s, Some((5 * 60 + 25 * 60) / 2));
    assert_eq!(s001.average_handling_s, Some((10 * 60 + 30 * 60) / 2));
    assert_eq!((s001.cases_accepted, s001.cases_immediate), (1, 0));
    assert_eq!(s001.ratings.of(RatingLevel::VerySatisfied), 1);
    assert_eq!(s001.ratings.of(RatingLevel::Dissatisfied), 1);
    // s001 held window 1's A post the whole day: every opening minute.
    let open_minutes: i64 = hours.stretches.iter().map(|(from, to)| (*to - *from).num_minutes()).sum();
    assert_eq!(i64::from(s001.minutes_on_post), open_minutes);
    assert_eq!(loaded.names.get("s001").map(String::as_str), Some("王丽"));

    let w1 = r.windows.iter().find(|w| w.window == 1).unwrap();
    assert_eq!((w1.tickets_served, w1.cases_accepted, w1.cases_overdue), (2, 1, 0));
    assert_eq!(w1.ratings.total(), 2);
    let a = r.categories.iter().find(|c| c.category == 'A').unwrap();
    assert_eq!((a.issued, a.served, a.no_shows, a.transferred_out), (3, 2, 1, 0));
    let g = r.guides.iter().find(|g| g.code == guide.code).unwrap();
    assert_eq!((g.cases_opened, g.cases_accepted), (1, 1));

    // The real binary on the same database file.
    let db = s.db_url.clone();
    let args =
        |format: &'static str| vec!["report", "day", "--date", "2026-11-30", "--format", format, "--database", &db];
    let (code, text, err) = run(&args("text"));
    assert_eq!(code, 0, "{err}");
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("王丽（s001）"), "{text}");
    let (code, csv, err) = run(&args("csv"));
    assert_eq!(code, 0, "{err}");
    assert!(csv.starts_with(b"\xEF\xBB\xBF"), "CSV starts with the UTF-8 BOM");
    let csv = String::from_utf8(csv).unwrap();
    let row = csv.lines().find(|l| l.contains("王丽（s001）")).expect("s001's row");
    assert!(row.split(',').nth(1) == Some("2"), "tickets served in the clerk's row: {row}");
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("日报.html");
    let file_arg = file.to_str().unwrap();
    let mut html_args = args("html");
    html_args.extend(["--out", file_arg]);
    let (code, said, err) = run(&html_args);
    assert_eq!(code, 0, "{err}");
    assert!(String::from_utf8(said).unwrap().contains("报表已写入"));
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.contains("<svg"), "charts as inline SVG");

    // A backwards range is refused with a message, not a panic.
    let (code, _, err) = run(&["report", "range", "--from", "2026-12-02", "--to", "2026-12-01", "--database", &db]);
    assert_ne!(code, 0);
    assert!(err.contains("晚于结束日期"), "{err}");
    s.stop().await;
}

/// POSTs a follow-up step as `token`; the status and the reply's JSON.
async fn step(s: &TestServer, token: &str, rating_id: Uuid, action: serde_json::Value) -> (u16, serde_json::Value) {
    let r = s
        .http
        .post(s.url(&bianmin::api::paths::follow_up_steps(rating_id)))
        .bearer_auth(token)
        .json(&serde_json::json!({ "action": action }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

async fn listed(s: &TestServer, token: &str) -> Vec<FollowUpRow> {
    let r = s.http.get(s.url(bianmin::api::paths::FOLLOW_UPS)).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_bad_rating_opens_its_follow_up_the_clerk_answers_the_director_closes_and_the_report_counts_the_reply() {
    let s = TestServer::start().await;
    set(&s, at(9, 0));
    let kiosk = s.device(Role::Kiosk, None).await;
    let evaluator = s.device(Role::Evaluator, Some(1)).await;
    let clerk = signed_in_client(&s.base, "s001").await;
    let ticket = kiosk.issue_ticket(&IssueTicket::new('A')).await.unwrap().ticket.unwrap();
    clerk.call_next(1).await.unwrap();
    clerk.start_service(1).await.unwrap();
    set(&s, at(9, 30));
    clerk.finish_service(1).await.unwrap();
    let rating = RateTicket {
        id: Uuid::now_v7(),
        ticket_id: ticket.id,
        level: RatingLevel::VeryDissatisfied,
        reason: "态度不好".into(),
    };
    evaluator.rate_ticket(1, &rating).await.unwrap();

    // Opened with the rating, due the configured working days after the rating's day.
    let admin = s.sign_in("admin").await;
    let s001 = s.sign_in("s001").await;
    let s003 = s.sign_in("s003").await;
    let all = listed(&s, &admin).await;
    assert_eq!(all.len(), 1);
    let f = &all[0].follow_up;
    let day = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let calendar = bianmin::assets::bundled_calendar().unwrap();
    let due = calendar.add_working_days(day, bianmin::domain::follow_up::DEFAULT_DUE_WORKING_DAYS).date;
    assert_eq!((f.rating_id, f.window, f.staff.as_str(), f.opened_on, f.due_on), (rating.id, 1, "s001", day, due));
    assert_eq!(all[0].state, FollowUpState::Open);
    assert_eq!(listed(&s, &s001).await.len(), 1, "the clerk of window 1 sees it");
    assert!(listed(&s, &s003).await.is_empty(), "a clerk of another window does not");

    let store = s.state.store.clone();
    let report = |now| {
        let store = store.clone();
        async move {
            server::service::report::load(store.as_ref(), Period::day(day), &OpeningHours::default(), now)
                .await
                .unwrap()
                .report
        }
    };
    let before = report(at(18, 0)).await;
    assert_eq!((before.replies.bad_ratings, before.replies.replied_in_time), (1, 0));

    // The clerk answers, but may not close; another window's clerk may not even see it.
    set(&s, at(10, 0));
    let (code, body) =
        step(&s, &s001, rating.id, serde_json::json!({"kind": "answered", "text": "高峰时段人手不足"})).await;
    assert_eq!(code, 200, "{body}");
    let (code, _) = step(&s, &s001, rating.id, serde_json::json!({"kind": "resolved_on_spot", "what": "已道歉"})).await;
    assert_eq!(code, 403);
    let (code, _) = step(&s, &s003, rating.id, serde_json::json!({"kind": "answered", "text": "不是我"})).await;
    assert_eq!(code, 404);
    let (code, _) = step(&s, &admin, rating.id, serde_json::json!({"kind": "answered", "text": "  "})).await;
    assert_eq!(code, 422, "an empty text is refused");

    // The director (an admin for now) closes it the next working day; the steps carry the
    // session's staff and the server's time, whatever the request says.
    let next = chrono::Duration::days(1);
    set(&s, at(11, 0) + next);
    let admin = s.sign_in("admin").await;
    let closing = serde_json::json!({
        "kind": "rectified",
        "finding": "valid",
        "rectification": "增开高峰窗口",
        "feedback": {"channel": "phone", "on": "2026-12-01", "given_by": "admin"},
    });
    let (code, body) = step(&s, &admin, rating.id, closing.clone()).await;
    assert_eq!(code, 200, "{body}");
    let row: FollowUpRow = serde_json::from_value(body).unwrap();
    assert_eq!(row.state, FollowUpState::ClosedInTime);
    let who_when: Vec<(&str, DateTime<Utc>)> = row.follow_up.steps.iter().map(|s| (s.by.as_str(), s.at)).collect();
    assert_eq!(who_when, [("s001", at(10, 0)), ("admin", at(11, 0) + next)]);
    let (code, _) = step(&s, &admin, rating.id, closing).await;
    assert_eq!(code, 422, "closed is closed");

    let after = report(at(18, 0) + next).await;
    assert_eq!((after.replies.bad_ratings, after.replies.replied_in_time), (1, 1));
    let s001_figures = after.clerks.iter().find(|c| c.staff == "s001").unwrap();
    assert_eq!(s001_figures.replies.replied_in_time, 1);
    s.stop().await;
}
