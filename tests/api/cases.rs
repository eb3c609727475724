//! A case's changes against the real server: ordered by the case's version, not by clocks (two
//! terminals editing one case leave a conflict the window sees); moved between windows only by
//! a recorded transfer (a returning applicant's case found and taken over at another 综合受理
//! window); an acknowledgement only after its handover; refused requests counted on one audit line.

use crate::common;

use std::path::Path;

use bianmin::api::{CaseSearch, ConflictReason, RECORD_SCHEMA, RecordEnvelope};
use bianmin::client::ApiClient;
use bianmin::client::local::LocalStore;
use bianmin::client::sync::sync_logs;
use bianmin::domain::applicant::{Applicant, IdNumber, Phone};
use bianmin::domain::case::{Case, CaseStatus, CaseTransfer, MaterialCheck, TransferKind};
use bianmin::domain::center::Post;
use bianmin::domain::intake::{self, Opening};
use bianmin::domain::record::RecordBody;
use chrono::{TimeDelta, Utc};
use common::server::{TestServer, signed_in_client};
use uuid::Uuid;

const ID: &str = "11010519491231002X";

async fn store(dir: &Path, name: &str) -> LocalStore {
    LocalStore::open(&dir.join(name), Utc::now()).await.unwrap().0
}

fn guide() -> bianmin::domain::guide::ServiceGuide {
    bianmin::assets::bundled_catalogue()
        .unwrap()
        .guides
        .into_iter()
        .find(|g| g.situations.is_empty() && g.materials.len() >= 2)
        .unwrap()
}

pub fn opened(window: u32, by: &str) -> Case {
    let opening = Opening { window, post: Post::A, staff_id: by, ticket: None };
    intake::open_case(&guide(), None, &opening, Uuid::now_v7(), Utc::now()).unwrap()
}

/// The case as the server holds it, from the window's overview.
async fn held(client: &ApiClient, window: u32, id: Uuid) -> Option<Case> {
    client.window_overview(window).await.unwrap().open_cases.into_iter().find(|c| c.id == id)
}

/// A change made at a terminal: checked by the domain, then the next version.
fn edited(mut case: Case, item: usize, state: MaterialCheck) -> Case {
    let material = case.checklist.items[item].material_id.clone();
    intake::set_material(&mut case, &material, state, None).unwrap();
    case.new_version(Uuid::now_v7());
    case
}

async fn save(local: &LocalStore, by: &str, post: Post, case: &Case, at: chrono::DateTime<Utc>) {
    local.append(by, case.window, post, &RecordBody::CaseSnapshot(Box::new(case.clone())), at).await.unwrap();
}

fn envelope(author: &str, window: u32, post: Post, body: &RecordBody) -> RecordEnvelope {
    RecordEnvelope {
        schema: RECORD_SCHEMA,
        device: Uuid::now_v7(),
        stream: bianmin::domain::record::stream_name(window, body.family()),
        idx: 1,
        id: Uuid::now_v7(),
        created_at: Utc::now(),
        author: author.into(),
        window,
        post,
        body: serde_json::to_value(body).unwrap(),
    }
}

/// One device's log of several records, numbered in order.
fn log(author: &str, window: u32, post: Post, bodies: &[RecordBody]) -> Vec<RecordEnvelope> {
    let device = Uuid::now_v7();
    bodies
        .iter()
        .enumerate()
        .map(|(i, b)| RecordEnvelope { device, idx: i as u64 + 1, ..envelope(author, window, post, b) })
        .collect()
}

fn status_of(e: bianmin::client::ClientError) -> u16 {
    match e {
        bianmin::client::ClientError::Problem(p) => p.status,
        other => panic!("expected a problem, got {other:?}"),
    }
}

#[tokio::test]
async fn a_fast_clock_no_longer_wins_and_two_terminals_editing_one_case_leave_a_conflict_the_window_sees() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (store(dir.path(), "a.db").await, store(dir.path(), "b.db").await);
    let a = signed_in_client(&server.base, "s001").await;
    let b = signed_in_client(&server.base, "s002").await;

    let case = opened(1, "s001");
    save(&one, "s001", Post::A, &case, Utc::now()).await;
    sync_logs(&a, &one, 1).await.unwrap();
    sync_logs(&b, &two, 1).await.unwrap();

    // B's PC is a day fast: its change (version 2) is stored first.
    let v2 = edited(held(&b, 1, case.id).await.unwrap(), 0, MaterialCheck::Received);
    save(&two, "s002", Post::B, &v2, Utc::now() + TimeDelta::days(1)).await;
    sync_logs(&b, &two, 1).await.unwrap();
    // A, later in real time but "earlier" by the clocks, changes version 2: the later real change
    // is the case now (the newest clock won before, and hid it).
    let v3 = edited(held(&a, 1, case.id).await.unwrap(), 1, MaterialCheck::Missing);
    assert_eq!(v3.version.version, 3);
    save(&one, "s001", Post::A, &v3, Utc::now()).await;
    sync_logs(&a, &one, 1).await.unwrap();
    let now = held(&a, 1, case.id).await.unwrap();
    assert_eq!(now.version, v3.version, "A's later change holds, whatever B's clock says");
    assert_eq!(now.checklist.items[0].state, MaterialCheck::Received, "B's change stays in");
    assert_eq!(now.checklist.items[1].state, MaterialCheck::Missing);

    // Both now edit version 3 at once. A's arrives first; B's is kept as a conflict, not applied,
    // and B is told which of its edits did not apply.
    let mine = edited(now.clone(), 1, MaterialCheck::Received);
    // (不适用 is only for conditional materials, so B's rival edit marks the first one missing.)
    let theirs = edited(now.clone(), 0, MaterialCheck::Missing);
    save(&one, "s001", Post::A, &mine, Utc::now()).await;
    save(&two, "s002", Post::B, &theirs, Utc::now() + TimeDelta::days(1)).await;
    sync_logs(&a, &one, 1).await.unwrap();
    let outcome = sync_logs(&b, &two, 1).await.unwrap();
    assert_eq!(outcome.pending, 0, "the conflicting record is stored on the server, not left waiting");
    assert_eq!(outcome.conflicts.len(), 1, "{outcome:?}");
    let conflict = &outcome.conflicts[0];
    assert_eq!((conflict.reason, conflict.version, conflict.held_version), (ConflictReason::Stale, 4, 4));
    let told = conflict.message();
    assert!(
        told.contains(&case.guide_name) && told.contains(MaterialCheck::Missing.label()) && told.contains("未生效"),
        "{told}"
    );
    assert_eq!(held(&a, 1, case.id).await.unwrap().version, mine.version, "the first change holds");

    // Any terminal of the window sees it until a clerk there marks it seen.
    let listed = a.window_overview(1).await.unwrap().case_conflicts;
    assert_eq!(listed.iter().map(|c| c.record_id).collect::<Vec<_>>(), vec![conflict.record_id]);
    let c = signed_in_client(&server.base, "s003").await;
    assert_eq!(status_of(c.case_conflict_seen(1, conflict.record_id).await.unwrap_err()), 403);
    b.case_conflict_seen(1, conflict.record_id).await.unwrap();
    assert!(a.window_overview(1).await.unwrap().case_conflicts.is_empty());

    // B, offline, kept working on its own (losing) version: that one is a conflict too, and so
    // is an old terminal's change without a version; nothing of the case changes.
    let on_lost = edited(theirs.clone(), 0, MaterialCheck::Missing);
    save(&two, "s002", Post::B, &on_lost, Utc::now()).await;
    let mut unversioned = serde_json::to_value(RecordBody::CaseSnapshot(Box::new(mine.clone()))).unwrap();
    for key in ["version", "version_id", "based_on"] {
        unversioned.as_object_mut().unwrap().remove(key);
    }
    two.append("s002", 1, Post::B, &serde_json::from_value(unversioned).unwrap(), Utc::now()).await.unwrap();
    let outcome = sync_logs(&b, &two, 1).await.unwrap();
    assert_eq!(outcome.conflicts.len(), 2, "{outcome:?}");
    assert_eq!(held(&a, 1, case.id).await.unwrap(), mine);
}

#[tokio::test]
async fn an_old_terminals_unversioned_case_is_read_and_ordered_by_arrival() {
    let server = TestServer::start().await;
    let a = signed_in_client(&server.base, "s001").await;
    let case = opened(1, "s001");
    let old = |case: &Case| {
        let mut body = serde_json::to_value(RecordBody::CaseSnapshot(Box::new(case.clone()))).unwrap();
        for key in ["version", "version_id", "based_on"] {
            body.as_object_mut().unwrap().remove(key);
        }
        body
    };
    let mut later = case.clone();
    later.checklist.items[0].state = MaterialCheck::Received;
    let mut records = log("s001", 1, Post::A, &[RecordBody::CaseSnapshot(Box::new(case.clone()))]);
    records[0].body = old(&case);
    records[0].created_at = Utc::now() + TimeDelta::days(1);
    let mut second = log("s001", 1, Post::A, &[RecordBody::CaseSnapshot(Box::new(later.clone()))]);
    second[0].body = old(&later);
    a.upload(records).await.unwrap();
    a.upload(second).await.unwrap();
    let held = held(&a, 1, case.id).await.unwrap();
    assert_eq!(held.version.version, 0, "read with version 0");
    assert_eq!(held.checklist.items[0].state, MaterialCheck::Received, "the later arrival, not the later clock");
}

#[tokio::test]
async fn a_returning_applicants_case_is_found_at_another_comprehensive_window_and_taken_over_by_a_recorded_step() {
    let server = TestServer::start().await;
    let w1 = signed_in_client(&server.base, "s001").await;
    let w2 = signed_in_client(&server.base, "s003").await;
    let w4 = signed_in_client(&server.base, "s005").await;
    let desk = signed_in_client(&server.base, "d001").await;

    // Window 1: the materials checked, one missing, the one-time notice given.
    let mut case = opened(1, "s001");
    case.applicant = Some(Applicant {
        name: "张三".into(),
        id_number: IdNumber::parse(ID).unwrap(),
        phone: Some(Phone::parse("13812345678").unwrap()),
    });
    let v1 = case.clone();
    case.checklist.items[0].state = MaterialCheck::Received;
    for item in &mut case.checklist.items[1..] {
        item.state = MaterialCheck::Missing;
    }
    let number = bianmin::domain::documents::notice_number(1, bianmin::domain::time::china_date(Utc::now()), 7);
    let notice = intake::give_notice(&mut case, &[], number.clone(), Uuid::now_v7(), "s001", Utc::now(), None).unwrap();
    case.new_version(Uuid::now_v7());
    w1.upload(log(
        "s001",
        1,
        Post::A,
        &[RecordBody::CaseSnapshot(Box::new(v1)), RecordBody::CaseSnapshot(Box::new(case.clone()))],
    ))
    .await
    .unwrap();
    w1.upload(log("s001", 1, Post::A, &[RecordBody::NoticeGiven(Box::new(notice))])).await.unwrap();
    assert_eq!(case.status, CaseStatus::AwaitingMaterials);

    // Window 2 cannot write into it before taking it over.
    let mut at_two = case.clone();
    at_two.window = 2;
    at_two.checklist.items[1].state = MaterialCheck::Received;
    at_two.new_version(Uuid::now_v7());
    let e = w2.upload(log("s003", 2, Post::A, &[RecordBody::CaseSnapshot(Box::new(at_two.clone()))])).await;
    assert_eq!(status_of(e.unwrap_err()), 403, "another window's case");

    // The search is for 综合受理 windows only, and finds by each kind of term.
    let by_notice = CaseSearch { notice_number: number.to_lowercase(), ..CaseSearch::default() };
    assert_eq!(status_of(w4.search_cases(&by_notice).await.unwrap_err()), 403, "a department window");
    assert_eq!(status_of(desk.search_cases(&by_notice).await.unwrap_err()), 403, "the guidance desk");
    assert_eq!(status_of(w2.search_cases(&CaseSearch::default()).await.unwrap_err()), 422);
    let found = w2.search_cases(&by_notice).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].case.id, found[0].notices.clone()), (case.id, vec![number.clone()]));
    let terms = [
        CaseSearch { id_number: ID.into(), ..CaseSearch::default() },
        CaseSearch { name: "张三".into(), phone: "138-1234-5678".into(), ..CaseSearch::default() },
    ];
    for search in &terms {
        assert_eq!(w2.search_cases(search).await.unwrap().len(), 1, "{search:?}");
    }
    let nobody = CaseSearch { name: "张三".into(), phone: "13900000000".into(), ..CaseSearch::default() };
    assert!(w2.search_cases(&nobody).await.unwrap().is_empty());
    let trail = server.state.store.audit_trail(200, None).await.unwrap();
    let searches: Vec<_> = trail.iter().filter(|l| l.action == "read:case_search").collect();
    assert_eq!(searches.len(), 4, "every search is audited");
    let text = serde_json::to_string(&trail).unwrap();
    assert!(
        !text.contains(ID) && !text.contains("张三") && !text.contains("13812345678"),
        "no personal data in the trail"
    );

    // A department window cannot take it over; window 2 can, and continues the same checklist.
    let takeover = |to: u32, by: &str| CaseTransfer {
        case_id: case.id,
        from_window: 1,
        to_window: to,
        step: TransferKind::Takeover,
        by: by.into(),
        at: Utc::now(),
        reason: String::new(),
    };
    let e = w4.upload(log("s005", 4, Post::A, &[RecordBody::CaseTransferred(Box::new(takeover(4, "s005")))])).await;
    assert_eq!(status_of(e.unwrap_err()), 403);
    w2.upload(log(
        "s003",
        2,
        Post::A,
        &[
            RecordBody::CaseTransferred(Box::new(takeover(2, "s003"))),
            RecordBody::CaseSnapshot(Box::new(at_two.clone())),
        ],
    ))
    .await
    .unwrap();
    assert_eq!(held(&w1, 1, case.id).await, None, "no longer window 1's");
    let continued = held(&w2, 2, case.id).await.unwrap();
    assert_eq!(continued.version, at_two.version);
    assert_eq!(continued.checklist.items[0].state, MaterialCheck::Received, "what was received stays received");
    assert_eq!(continued.checklist.items[1].state, MaterialCheck::Received);

    // Window 1's change made before it knew is kept as a conflict and shown there; window 4's
    // is refused.
    let mut late = case.clone();
    late.checklist.items[0].note = "原件已核".into();
    late.new_version(Uuid::now_v7());
    let reply = w1.upload(log("s001", 1, Post::A, &[RecordBody::CaseSnapshot(Box::new(late))])).await.unwrap();
    assert_eq!(reply.conflicts.iter().map(|c| c.reason).collect::<Vec<_>>(), vec![ConflictReason::Moved]);
    assert_eq!(w1.window_overview(1).await.unwrap().case_conflicts.len(), 1);
    let mut at_four = continued.clone();
    at_four.window = 4;
    at_four.new_version(Uuid::now_v7());
    let e = w4.upload(log("s005", 4, Post::A, &[RecordBody::CaseSnapshot(Box::new(at_four.clone()))])).await;
    assert_eq!(status_of(e.unwrap_err()), 403);

    // Window 2 transfers it on to window 4 (转办): now window 4's change counts.
    let transfer = CaseTransfer { from_window: 2, step: TransferKind::Transfer, ..takeover(4, "s003") };
    w2.upload(log("s003", 2, Post::A, &[RecordBody::CaseTransferred(Box::new(transfer))])).await.unwrap();
    w4.upload(log("s005", 4, Post::A, &[RecordBody::CaseSnapshot(Box::new(at_four.clone()))])).await.unwrap();
    assert_eq!(held(&w4, 4, case.id).await.unwrap().version, at_four.version);
}

#[tokio::test]
async fn an_acknowledgement_before_its_handover_is_refused_and_audited() {
    let server = TestServer::start().await;
    let b = signed_in_client(&server.base, "s002").await;
    let ack = RecordBody::HandoverAcknowledged {
        handover_id: Uuid::now_v7(),
        by: "s002".into(),
        at: Utc::now(),
        note: String::new(),
    };
    let e = b.upload(log("s002", 1, Post::B, &[ack])).await.unwrap_err();
    match e {
        bianmin::client::ClientError::Problem(p) => {
            assert_eq!((p.status, p.code.as_str()), (403, "forbidden"));
            assert_eq!(p.errors[0].field, "records[0].handover_id");
        }
        other => panic!("{other:?}"),
    }
    let trail = server.state.store.audit_trail(50, None).await.unwrap();
    assert!(trail.iter().any(|l| l.action == "record_refused" && l.staff_id == "s002"), "{trail:?}");
}

#[tokio::test]
async fn a_flood_of_refused_requests_is_counted_on_one_audit_line_a_minute() {
    let server = TestServer::start().await;
    let token = server.sign_in("s001").await;
    let lines = || async { server.state.store.audit_trail(10_000, None).await.unwrap() };
    let before = lines().await.len();
    for _ in 0..120 {
        let r = server.http.get(server.url("/api/v1/me")).bearer_auth("not-a-token").send().await.unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
        let r = server.get("/api/v1/windows/4/overview", &token).await;
        assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    }
    let trail = lines().await;
    let added: Vec<_> = trail[..trail.len() - before].to_vec();
    assert_eq!(added.len(), 2, "one line per caller and route: {added:?}");
    assert!(added.iter().all(|l| l.count == 120), "{added:?}");
    let anonymous = added.iter().find(|l| l.staff_id == "-").unwrap();
    assert_eq!((anonymous.action.as_str(), anonymous.target_id.as_str()), ("refused:401", "GET /api/v1/me"));
    // The next minute starts a new line.
    server.clock.0.fetch_add(60, std::sync::atomic::Ordering::SeqCst);
    let r = server.get("/api/v1/windows/4/overview", &token).await;
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    assert_eq!(lines().await.len(), before + 3);
}
