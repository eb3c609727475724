//! A/B post handovers (clause 7.6.4) end to end: handovers and acknowledgements written into the
//! devices' logs, synced through the server, switching the window's duty; refusals when A and B
//! would both be away; the emergency takeover; and a handover written while the server is down.

use crate::common;

use std::path::Path;

use bianmin::api::{Problem, WindowOverview};
use bianmin::client::ApiClient;
use bianmin::client::local::LocalStore;
use bianmin::client::sync::sync_logs;
use bianmin::config::sqlite_url;
use bianmin::domain::center::Post;
use bianmin::domain::handover::{
    AwayReason, DutyState, Handover, HandoverDraft, HandoverKind, PendingItem, WindowAtHandover, acknowledge,
    covering_since, handover_from,
};
use bianmin::domain::record::{RecordBody, Visit};
use chrono::{Duration, Utc};
use common::server::{ServerProcess, TestServer, signed_in_client};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");

async fn store(dir: &Path, name: &str) -> LocalStore {
    LocalStore::open(&dir.join(name), Utc::now()).await.unwrap().0
}

fn away(reason: AwayReason) -> HandoverDraft {
    HandoverDraft {
        reason: Some(reason),
        expected_return: Some(Utc::now() + Duration::hours(2)),
        pending: vec![PendingItem {
            text: "15:00 回电李四，告知补齐户口本".into(), due: None, done: false
        }],
        notes: "低保复核材料在左边柜子第二格。\n下午有一位预约的老人，请优先办理。".into(),
    }
}

/// Writes a handover of `kind` at `window` as `by`, from what the server says about the window.
async fn write(
    client: &ApiClient,
    local: &LocalStore,
    window: u32,
    kind: HandoverKind,
    by: &str,
    draft: HandoverDraft,
) -> Handover {
    let overview = client.window_overview(window).await.unwrap();
    let at = WindowAtHandover { window: &overview.window, open_cases: &overview.open_cases, tickets: &[] };
    let h = handover_from(&at, kind, by, draft, Uuid::now_v7(), Utc::now()).unwrap();
    let post = overview.window.post_of(by).unwrap();
    local.append(by, window, post, &RecordBody::HandoverWritten(Box::new(h.clone())), Utc::now()).await.unwrap();
    h
}

async fn ack(
    local: &LocalStore,
    h: &Handover,
    by: &str,
    post: Post,
    note: &str,
) -> bianmin::domain::handover::Acknowledgement {
    let a = acknowledge(h, by, note, Utc::now()).unwrap();
    let body = RecordBody::HandoverAcknowledged { handover_id: h.id, by: a.by.clone(), at: a.at, note: a.note.clone() };
    local.append(by, h.window, post, &body, Utc::now()).await.unwrap();
    a
}

async fn overview(client: &ApiClient, window: u32) -> WindowOverview {
    client.window_overview(window).await.unwrap()
}

async fn put_duty(
    server: &TestServer,
    token: &str,
    window: u32,
    duty: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let r = server
        .http
        .put(server.url(&format!("/api/v1/windows/{window}/duty")))
        .bearer_auth(token)
        .json(&duty)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

fn refusal(body: &serde_json::Value) -> Problem {
    let p: Problem = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(p.code, "duty_refused", "{p:?}");
    p
}

async fn handover_rows(db_url: &str) -> i64 {
    common::server::db_count(db_url, "SELECT COUNT(*) FROM handovers").await
}

#[tokio::test]
async fn a_hands_over_to_b_and_b_hands_back_with_two_terminals() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (a_local, b_local) = (store(dir.path(), "a.db").await, store(dir.path(), "b.db").await);
    let a = signed_in_client(&server.base, "s001").await;
    let b = signed_in_client(&server.base, "s002").await;
    assert_eq!(overview(&a, 1).await.duty, DutyState::AOnDuty);

    // A leaves for a meeting and writes the handover at the window.
    let h = write(&a, &a_local, 1, HandoverKind::AToB, "s001", away(AwayReason::Meeting)).await;
    assert_eq!(sync_logs(&a, &a_local, 1).await.unwrap().uploaded, 1);

    // B is told: the overview carries the handover to acknowledge, and B's terminal has it.
    let seen = overview(&b, 1).await;
    assert_eq!(seen.duty, h.duty_after());
    assert!(matches!(seen.duty, DutyState::BCovering { reason: AwayReason::Meeting, expected_return: Some(_) }));
    assert_eq!(seen.unacknowledged_handover.as_ref(), Some(&h));
    assert_eq!(seen.last_handovers, vec![h.clone()]);
    assert_eq!(overview(&a, 1).await.unacknowledged_handover, None, "A is not the one to acknowledge");
    assert_eq!(sync_logs(&b, &b_local, 1).await.unwrap().downloaded, 1);
    assert_eq!(b_local.handovers(1).await.unwrap(), vec![h.clone()], "B's terminal holds it, offline too");

    // B acknowledges (接收确认) with a note.
    let b_ack = ack(&b_local, &h, "s002", Post::B, "已接收，15:00 回电").await;
    sync_logs(&b, &b_local, 1).await.unwrap();
    assert_eq!(overview(&b, 1).await.unacknowledged_handover, None, "the flag is gone");
    // A sees the acknowledgement, on the server and in A's own terminal after a sync.
    assert_eq!(a.handovers(1).await.unwrap()[0].acknowledged.as_ref(), Some(&b_ack));
    sync_logs(&a, &a_local, 1).await.unwrap();
    assert_eq!(a_local.handovers(1).await.unwrap()[0].acknowledged.as_ref(), Some(&b_ack));

    // B acts for the window: what B records is marked B岗代办.
    let walk_in = RecordBody::Visit(Visit::new("纸3", "代办：咨询养老保险").unwrap());
    b_local.append("s002", 1, Post::B, &walk_in, Utc::now()).await.unwrap();
    sync_logs(&b, &b_local, 1).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&server.db_url).await.unwrap();
    let posts: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, post FROM device_records WHERE author = 's002' ORDER BY created_at")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    // The post column holds the code, as the envelope does (docs/record-format.md).
    assert_eq!(posts, [("handover_acknowledged".into(), "B".into()), ("walk_in".into(), "B".into())]);

    // A is back: B hands back with a report, carrying A's to-dos back checked.
    let history = b.handovers(1).await.unwrap();
    let mut pending = covering_since(&history).expect("B covers since A's handover").pending.clone();
    pending.iter_mut().for_each(|p| p.done = true);
    let report = HandoverDraft {
        pending,
        notes: "已回电李四。接待咨询 1 人，无新受理办件。".into(),
        ..HandoverDraft::default()
    };
    let back = write(&b, &b_local, 1, HandoverKind::HandBack, "s002", report).await;
    sync_logs(&b, &b_local, 1).await.unwrap();
    let seen = overview(&a, 1).await;
    assert_eq!(seen.duty, DutyState::AOnDuty);
    assert_eq!(seen.unacknowledged_handover.as_ref(), Some(&back));
    assert!(back.pending.iter().all(|p| p.done));
    assert_eq!(overview(&b, 1).await.unacknowledged_handover, None);

    // A acknowledges the hand back.
    let a_ack = ack(&a_local, &back, "s001", Post::A, "").await;
    sync_logs(&a, &a_local, 1).await.unwrap();
    assert_eq!(overview(&a, 1).await.unacknowledged_handover, None);

    // The history, newest first, each with who, when and the acknowledgement.
    let history = a.handovers(1).await.unwrap();
    let summary: Vec<_> = history
        .iter()
        .map(|h| (h.kind(), h.from_staff.as_str(), h.to_staff.as_str(), h.acknowledged.as_ref().map(|a| a.by.as_str())))
        .collect();
    assert_eq!(
        summary,
        [(HandoverKind::HandBack, "s002", "s001", Some("s001")), (HandoverKind::AToB, "s001", "s002", Some("s002"))]
    );
    assert_eq!(history[0].acknowledged.as_ref(), Some(&a_ack));
    assert!(history[0].written_at > history[1].written_at);
    assert!(history.iter().all(|h| h.duty_refused.is_none()));
    assert_eq!(overview(&a, 1).await.last_handovers, history);
    sync_logs(&b, &b_local, 1).await.unwrap();
    assert_eq!(b_local.handovers(1).await.unwrap(), history, "both terminals agree with the server");

    // Only the window's holders (and admins) read its history.
    let other = signed_in_client(&server.base, "s005").await;
    assert_eq!(other.handovers(1).await.unwrap_err().problem_code(), Some("forbidden"));
}

#[tokio::test]
async fn a_and_b_may_not_be_away_at_the_same_time() {
    // Seeded roster: window 2 is A s003 / B s004, window 3 is A s004 / B s003.
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let s003 = server.sign_in("s003").await;
    let s004 = server.sign_in("s004").await;
    let cover = json!({"state": "B岗顶岗", "reason": "会议"});

    // s004 is on duty at window 3 and cannot also cover window 2.
    let (status, body) = put_duty(&server, &s004, 2, cover.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let p = refusal(&body);
    assert!(p.title.contains("s004 正在 3 号窗口A岗在岗，不能同时在 2 号窗口B岗顶岗"), "{}", p.title);
    assert_eq!(p.errors[0].field, "duty");

    // The same through a handover record written at window 2: recorded, duty unchanged, reason kept.
    let a_local = store(dir.path(), "a.db").await;
    let a = signed_in_client(&server.base, "s003").await;
    let h = write(&a, &a_local, 2, HandoverKind::AToB, "s003", away(AwayReason::Training)).await;
    sync_logs(&a, &a_local, 2).await.unwrap();
    let b = signed_in_client(&server.base, "s004").await;
    let seen = overview(&b, 2).await;
    assert_eq!(seen.duty, DutyState::AOnDuty, "the window is not left uncovered");
    let stored = seen.unacknowledged_handover.expect("still a record of what happened");
    assert_eq!(stored.id, h.id);
    assert!(
        stored.duty_refused.as_deref().unwrap().contains("不能同时在 2 号窗口B岗顶岗"),
        "{:?}",
        stored.duty_refused
    );

    // Window 3 closes: now s004 can cover window 2 while s003 is away.
    let (status, body) = put_duty(&server, &s004, 3, json!({"state": "暂停服务"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = put_duty(&server, &s003, 2, cover.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "B岗顶岗");

    // s003 is away from window 2: s003 cannot cover window 3 (both A and B away).
    let (status, body) = put_duty(&server, &s003, 3, cover.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(refusal(&body).title.contains("s003 是 2 号窗口A岗，正离岗（会议）"), "{body}");
    // s004 covers window 2 and cannot reopen window 3 meanwhile.
    let (status, body) = put_duty(&server, &s004, 3, json!({"state": "A岗在岗"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(refusal(&body).title.contains("s004 正在 2 号窗口B岗顶岗"), "{body}");

    // Only the window's holders set its duty; B does not declare A back without covering.
    let s001 = server.sign_in("s001").await;
    assert_eq!(put_duty(&server, &s001, 2, json!({"state": "A岗在岗"})).await.0, StatusCode::FORBIDDEN);
    let s002 = server.sign_in("s002").await;
    let (status, body) = put_duty(&server, &s002, 1, json!({"state": "暂停服务"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // A back at window 2, then window 3 reopens.
    assert_eq!(put_duty(&server, &s003, 2, json!({"state": "A岗在岗"})).await.0, StatusCode::OK);
    assert_eq!(put_duty(&server, &s004, 3, json!({"state": "A岗在岗"})).await.0, StatusCode::OK);
    let duties = server.state.store.duties().await.unwrap();
    assert!(duties.iter().all(|(_, d)| *d == DutyState::AOnDuty), "{duties:?}");
    let garbage = put_duty(&server, &s003, 2, json!({"state": "都走了"})).await;
    assert_eq!(garbage.0, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn b_takes_over_in_an_emergency_without_a_handover() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let b_local = store(dir.path(), "b.db").await;
    let b = signed_in_client(&server.base, "s002").await;
    let draft = HandoverDraft {
        reason: Some(AwayReason::Other),
        expected_return: None,
        pending: Vec::new(),
        notes: "王丽家中急事离开，未及交接，由李强顶岗。".into(),
    };
    let h = write(&b, &b_local, 1, HandoverKind::EmergencyTakeover, "s002", draft).await;
    sync_logs(&b, &b_local, 1).await.unwrap();

    let seen = overview(&b, 1).await;
    assert_eq!(seen.duty, DutyState::BCovering { reason: AwayReason::Other, expected_return: None });
    assert_eq!(seen.unacknowledged_handover, None, "B wrote it: nothing for B to acknowledge");
    let recorded = &seen.last_handovers[0];
    assert!(recorded.emergency, "recorded as an emergency takeover");
    assert_eq!(
        (recorded.from_staff.as_str(), recorded.to_staff.as_str(), recorded.written_by.as_str()),
        ("s001", "s002", "s002")
    );

    // A, back, is told of it, and acknowledges.
    let a_local = store(dir.path(), "a.db").await;
    let a = signed_in_client(&server.base, "s001").await;
    assert_eq!(overview(&a, 1).await.unacknowledged_handover.map(|h| h.id), Some(h.id));
    sync_logs(&a, &a_local, 1).await.unwrap();
    let held = a_local.handovers(1).await.unwrap();
    ack(&a_local, &held[0], "s001", Post::A, "知悉").await;
    sync_logs(&a, &a_local, 1).await.unwrap();
    assert_eq!(overview(&a, 1).await.unacknowledged_handover, None);
    assert_eq!(a.handovers(1).await.unwrap()[0].acknowledged.as_ref().map(|a| a.note.as_str()), Some("知悉"));
}

#[tokio::test]
async fn acknowledgement_flags_count_once_from_the_receiver_in_any_arrival_order() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (a_local, b_local) = (store(dir.path(), "a.db").await, store(dir.path(), "b.db").await);
    let a = signed_in_client(&server.base, "s001").await;
    let b = signed_in_client(&server.base, "s002").await;
    let h = write(&a, &a_local, 1, HandoverKind::AToB, "s001", away(AwayReason::Leave)).await;

    // B's acknowledgement sent before the handover reached the server is refused and waits in
    // B's outbox; once the handover is there it is taken. A's own "acknowledgement" is refused.
    let wrong = RecordBody::HandoverAcknowledged {
        handover_id: h.id,
        by: "s001".into(),
        at: Utc::now(),
        note: "自己确认".into(),
    };
    let b_ack = ack(&b_local, &h, "s002", Post::B, "收到").await;
    let early = sync_logs(&b, &b_local, 1).await.unwrap();
    assert_eq!(early.pending, 1, "kept in B's outbox");
    sync_logs(&a, &a_local, 1).await.unwrap();
    a_local.append("s001", 1, Post::A, &wrong, Utc::now()).await.unwrap();
    assert_eq!(sync_logs(&a, &a_local, 1).await.unwrap().pending, 1, "A cannot acknowledge A's handover");
    assert_eq!(sync_logs(&b, &b_local, 1).await.unwrap().pending, 0);
    assert_eq!(a.handovers(1).await.unwrap()[0].acknowledged.as_ref(), Some(&b_ack));
    assert_eq!(overview(&b, 1).await.unacknowledged_handover, None);
    // A second acknowledgement changes nothing.
    ack(&b_local, &h, "s002", Post::B, "再次确认").await;
    sync_logs(&b, &b_local, 1).await.unwrap();
    assert_eq!(a.handovers(1).await.unwrap()[0].acknowledged.as_ref(), Some(&b_ack));
    sync_logs(&a, &a_local, 1).await.unwrap();
    assert_eq!(a_local.handovers(1).await.unwrap()[0].acknowledged.as_ref(), Some(&b_ack), "the terminal folds alike");

    // One terminal per window: A writes and B acknowledges on the same device, in one upload.
    let shared = store(dir.path(), "shared.db").await;
    let next = write(
        &a,
        &shared,
        1,
        HandoverKind::HandBack,
        "s002",
        HandoverDraft { notes: "顶岗期间无事".into(), ..Default::default() },
    )
    .await;
    assert_eq!(shared.handovers(1).await.unwrap()[0].acknowledged, None);
    ack(&shared, &next, "s001", Post::A, "").await;
    assert!(shared.handovers(1).await.unwrap()[0].acknowledged.is_some(), "the flag clears offline at once");
    // B was signed in on this PC when writing (its terminal named the device to the server), so A
    // may upload what B wrote here.
    b.sync_status(1, shared.device()).await.unwrap();
    sync_logs(&a, &shared, 1).await.unwrap();
    assert_eq!(overview(&a, 1).await.duty, DutyState::AOnDuty);
    assert_eq!(overview(&a, 1).await.unacknowledged_handover, None);
}

#[tokio::test]
async fn a_handover_that_arrives_after_a_newer_duty_change_is_kept_but_does_not_switch_back() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let a_local = store(dir.path(), "a.db").await;
    let a = signed_in_client(&server.base, "s001").await;
    let h = write(&a, &a_local, 1, HandoverKind::AToB, "s001", away(AwayReason::Errand)).await;
    // Meanwhile (the handover waits in A's outbox) an admin closes the window.
    server.clock.0.store((Utc::now() + Duration::minutes(5)).timestamp(), std::sync::atomic::Ordering::SeqCst);
    let admin = server.sign_in("admin").await;
    assert_eq!(put_duty(&server, &admin, 1, json!({"state": "暂停服务"})).await.0, StatusCode::OK);
    sync_logs(&a, &a_local, 1).await.unwrap();
    let seen = overview(&a, 1).await;
    assert_eq!(seen.duty, DutyState::Closed);
    assert_eq!(seen.last_handovers[0].id, h.id);
    let why = seen.last_handovers[0].duty_refused.clone().unwrap();
    assert!(why.contains("未按此交接切换"), "{why}");
}

#[tokio::test]
async fn an_admin_edits_the_roster_within_the_same_rules() {
    let server = TestServer::start().await;
    let admin = signed_in_client(&server.base, "admin").await;
    let clerk = signed_in_client(&server.base, "s001").await;
    assert_eq!(clerk.set_holders(1, "s001", "s007").await.unwrap_err().problem_code(), Some("forbidden"));
    assert_eq!(admin.set_holders(1, "s001", "s001").await.unwrap_err().problem_code(), Some("validation_failed"));
    assert_eq!(admin.set_holders(1, "s001", "d001").await.unwrap_err().problem_code(), Some("validation_failed"));
    // While window 1 is covered by its B, making s007 (on duty at window 6) its B would put s007
    // at two windows.
    let b = signed_in_client(&server.base, "s002").await;
    b.put_duty(1, &DutyState::BCovering { reason: AwayReason::Leave, expected_return: None }).await.unwrap();
    let e = admin.set_holders(1, "s001", "s007").await.unwrap_err();
    assert_eq!(e.problem_code(), Some("duty_refused"), "{e}");
    b.put_duty(1, &DutyState::AOnDuty).await.unwrap();
    let at: chrono::DateTime<Utc> = "2026-03-02T02:00:00Z".parse().unwrap();
    server.clock.0.store(at.timestamp(), std::sync::atomic::Ordering::SeqCst);
    let w = admin.set_holders(1, "s001", "s007").await.unwrap();
    assert_eq!(w.b_holder, "s007");
    assert_eq!(b.handovers(1).await.unwrap_err().problem_code(), Some("forbidden"), "s002 no longer holds window 1");
    // Audited with the change: who, the server's time, what; the refused edits wrote no line.
    let token = server.sign_in("admin").await;
    let trail: Vec<bianmin::api::accounts::AuditEntry> =
        server.get("/api/v1/audit", &token).await.json().await.unwrap();
    let roster: Vec<_> = trail
        .iter()
        .filter(|e| e.action == "roster_set")
        .map(|e| (e.staff_id.as_str(), e.at, e.window, e.target_kind.as_str(), e.target_id.as_str()))
        .collect();
    assert_eq!(roster, [("admin", at, Some(1), "window", "1: A岗 s001, B岗 s007")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handover_written_while_the_server_is_down_uploads_once_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = sqlite_url(&dir.path().join("server.db"));
    a_handover_written_while_the_server_is_down_uploads_once_when_it_is_back_on(&db_url, dir.path()).await;
}

/// Also run on PostgreSQL (`on_postgres`).
pub async fn a_handover_written_while_the_server_is_down_uploads_once_when_it_is_back_on(db_url: &str, dir: &Path) {
    let db_url = db_url.to_owned();
    let server = ServerProcess::start(BIN, dir, &db_url, 0);
    let port = server.port;
    let a = signed_in_client(&server.base(), "s001").await;
    let window = a.window_overview(1).await.unwrap().window;
    server.kill();

    // The network is down: the handover is written at the window all the same.
    let a_local = store(dir, "a.db").await;
    let at = WindowAtHandover { window: &window, open_cases: &[], tickets: &[] };
    let h =
        handover_from(&at, HandoverKind::AToB, "s001", away(AwayReason::Training), Uuid::now_v7(), Utc::now()).unwrap();
    a_local.append("s001", 1, Post::A, &RecordBody::HandoverWritten(Box::new(h.clone())), Utc::now()).await.unwrap();
    let offline = sync_logs(&a, &a_local, 1).await.unwrap_err();
    assert!(matches!(offline, bianmin::client::sync::SyncError::Client(ref e) if e.is_offline()), "{offline:?}");
    assert_eq!(a_local.pending().await.unwrap(), 1);
    assert_eq!(a_local.handovers(1).await.unwrap(), vec![h.clone()], "the terminal shows it while offline");

    // The server is back (same session, same database): it uploads, once.
    let server = ServerProcess::start(BIN, dir, &db_url, port);
    let outcome = sync_logs(&a, &a_local, 1).await.unwrap();
    assert_eq!((outcome.uploaded, outcome.pending), (1, 0));
    assert_eq!(sync_logs(&a, &a_local, 1).await.unwrap().uploaded, 0);
    let replay = a_local.records_between(a_local.device(), "w1/handovers", 1, 1, 10).await.unwrap();
    a.upload(replay).await.unwrap();
    assert_eq!(handover_rows(&db_url).await, 1, "exactly one row");
    let b = signed_in_client(&server.base(), "s002").await;
    let seen = b.window_overview(1).await.unwrap();
    assert_eq!(seen.unacknowledged_handover, Some(h.clone()));
    assert!(matches!(seen.duty, DutyState::BCovering { reason: AwayReason::Training, .. }));
    server.kill();
}

/// The A-B-A cycle on every window of the sample roster, each post at its own PC: clerks who
/// hold A at one window and B at another (s003, s004, s002) hand over and back at each. A B who
/// is A on duty at another window first pauses that one (暂停服务): one person, one window.
#[tokio::test]
async fn the_a_b_a_cycle_works_on_every_window_of_the_roster() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let windows = bianmin::server::seed::bundled_seed().unwrap().windows;
    assert!(windows.len() >= 6, "the sample roster has six windows");
    for window in &windows {
        let n = window.number;
        let (a_id, b_id) = (window.a_holder.as_str(), window.b_holder.as_str());
        let a_local = store(dir.path(), &format!("w{n}-a.db")).await;
        let b_local = store(dir.path(), &format!("w{n}-b.db")).await;
        let a = signed_in_client(&server.base, a_id).await;
        let b = signed_in_client(&server.base, b_id).await;
        assert_eq!(overview(&a, n).await.duty, DutyState::AOnDuty, "window {n} starts with A on duty");
        let b_token = server.sign_in(b_id).await;
        let b_elsewhere: Vec<u32> =
            windows.iter().filter(|w| w.number != n && w.a_holder == b_id).map(|w| w.number).collect();
        for &other in &b_elsewhere {
            let (status, body) = put_duty(&server, &b_token, other, json!({"state": "暂停服务"})).await;
            assert_eq!(status, StatusCode::OK, "{b_id} pauses window {other}: {body}");
        }

        let h = write(&a, &a_local, n, HandoverKind::AToB, a_id, away(AwayReason::Training)).await;
        sync_logs(&a, &a_local, n).await.unwrap();
        let seen = overview(&b, n).await;
        assert!(matches!(seen.duty, DutyState::BCovering { .. }), "window {n}: B covers");
        assert_eq!(seen.unacknowledged_handover.as_ref(), Some(&h), "window {n}: B ({b_id}) is told");
        ack(&b_local, &h, b_id, Post::B, "已接收").await;
        sync_logs(&b, &b_local, n).await.unwrap();
        assert_eq!(overview(&b, n).await.unacknowledged_handover, None, "window {n}");

        let report = HandoverDraft { notes: "顶岗期间无新办件。".into(), ..HandoverDraft::default() };
        let back = write(&b, &b_local, n, HandoverKind::HandBack, b_id, report).await;
        sync_logs(&b, &b_local, n).await.unwrap();
        let seen = overview(&a, n).await;
        assert_eq!(seen.duty, DutyState::AOnDuty, "window {n}: A back on duty");
        assert_eq!(seen.unacknowledged_handover.as_ref(), Some(&back), "window {n}: A ({a_id}) is told");
        ack(&a_local, &back, a_id, Post::A, "").await;
        sync_logs(&a, &a_local, n).await.unwrap();
        assert_eq!(overview(&a, n).await.unacknowledged_handover, None, "window {n}");
        let history = a.handovers(n).await.unwrap();
        assert_eq!(history.len(), 2, "window {n}");
        assert!(history.iter().all(|h| h.acknowledged.is_some() && h.duty_refused.is_none()), "window {n}");
        for &other in &b_elsewhere {
            let (status, body) = put_duty(&server, &b_token, other, json!({"state": "A岗在岗"})).await;
            assert_eq!(status, StatusCode::OK, "{b_id} reopens window {other}: {body}");
        }
    }
}

/// A handover not yet acknowledged is withdrawn by its writer (A did not leave after all): a
/// recorded step that puts the duty back and clears B's flag, on the server and on B's
/// terminal; B cannot withdraw A's handover (403), and once acknowledged it cannot be withdrawn.
#[tokio::test]
async fn the_writer_withdraws_an_unacknowledged_handover_and_the_duty_goes_back() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (a_local, b_local) = (store(dir.path(), "a.db").await, store(dir.path(), "b.db").await);
    let a = signed_in_client(&server.base, "s001").await;
    let b = signed_in_client(&server.base, "s002").await;
    let h = write(&a, &a_local, 1, HandoverKind::AToB, "s001", away(AwayReason::Meeting)).await;
    sync_logs(&a, &a_local, 1).await.unwrap();
    assert!(matches!(overview(&b, 1).await.duty, DutyState::BCovering { .. }));

    // B may not withdraw A's handover.
    let forged = bianmin::domain::handover::Withdrawal { by: "s002".into(), at: Utc::now() };
    let body = RecordBody::HandoverWithdrawn { handover_id: h.id, by: forged.by.clone(), at: forged.at };
    let b_token = server.sign_in("s002").await;
    let record = bianmin::api::RecordEnvelope {
        schema: bianmin::api::RECORD_SCHEMA,
        device: Uuid::now_v7(),
        stream: bianmin::domain::record::stream_name(1, body.family()),
        idx: 1,
        id: Uuid::now_v7(),
        created_at: Utc::now(),
        author: "s002".into(),
        window: 1,
        post: Post::B,
        body: serde_json::to_value(&body).unwrap(),
    };
    let r = server
        .http
        .post(server.url("/api/v1/records"))
        .bearer_auth(&b_token)
        .json(&json!({ "records": [record] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "only the writer withdraws");

    // A withdraws: recorded, uploaded, the duty back to A, B's flag gone.
    let w = bianmin::domain::handover::withdraw(&h, "s001", Utc::now()).unwrap();
    let body = RecordBody::HandoverWithdrawn { handover_id: h.id, by: w.by.clone(), at: w.at };
    a_local.append("s001", 1, Post::A, &body, Utc::now()).await.unwrap();
    assert_eq!(sync_logs(&a, &a_local, 1).await.unwrap().uploaded, 1);
    let seen = overview(&b, 1).await;
    assert_eq!(seen.duty, DutyState::AOnDuty, "A did not leave after all");
    assert_eq!(seen.unacknowledged_handover, None, "B has nothing to acknowledge");
    assert_eq!(seen.last_handovers[0].withdrawn.as_ref(), Some(&w));
    sync_logs(&b, &b_local, 1).await.unwrap();
    let on_b = b_local.handovers(1).await.unwrap();
    assert_eq!(on_b[0].withdrawn.as_ref(), Some(&w), "B's terminal folds it too");
    assert!(!on_b[0].awaits_acknowledgement_by("s002"));

    // An acknowledgement made after the withdrawal (B offline) does not count.
    let late = bianmin::domain::handover::Acknowledgement { by: "s002".into(), at: Utc::now(), note: String::new() };
    let body = RecordBody::HandoverAcknowledged { handover_id: h.id, by: late.by, at: late.at, note: late.note };
    b_local.append("s002", 1, Post::B, &body, Utc::now()).await.unwrap();
    sync_logs(&b, &b_local, 1).await.unwrap();
    let after = a.handovers(1).await.unwrap();
    assert!(after[0].acknowledged.is_none() && after[0].withdrawn.is_some());

    // A second handover, acknowledged: too late to withdraw.
    let h2 = write(&a, &a_local, 1, HandoverKind::AToB, "s001", away(AwayReason::Training)).await;
    sync_logs(&a, &a_local, 1).await.unwrap();
    sync_logs(&b, &b_local, 1).await.unwrap();
    ack(&b_local, &h2, "s002", Post::B, "").await;
    sync_logs(&b, &b_local, 1).await.unwrap();
    let stored = a.handovers(1).await.unwrap().into_iter().find(|x| x.id == h2.id).unwrap();
    assert!(bianmin::domain::handover::withdraw(&stored, "s001", Utc::now()).is_err());
}
