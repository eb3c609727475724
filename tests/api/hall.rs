//! The evaluator facing a window, against the real server: it shows the clerk and the ticket,
//! asks for the rating when the clerk invites it or the ticket was just finished, and the server
//! keeps exactly one rating per ticket, of the clerk who served it, at the server's time,
//! authored by the evaluator.

use crate::common;

use std::sync::atomic::Ordering;

use bianmin::api::hall::RateTicket;
use bianmin::api::queue::IssueTicket;
use bianmin::domain::rating::RatingLevel;
use bianmin::domain::staff::Role;
use bianmin::domain::ticket::TicketStatus;
use bianmin::server;
use chrono::{DateTime, Utc};
use common::server::{TestServer, signed_in_client};
use uuid::Uuid;

const MORNING: &str = "2026-03-02T01:00:00Z";

fn rating(ticket_id: Uuid, level: RatingLevel, reason: &str) -> RateTicket {
    RateTicket { id: Uuid::now_v7(), ticket_id, level, reason: reason.into() }
}

#[tokio::test]
async fn one_rating_per_ticket_of_the_clerk_who_served_it_authored_by_the_evaluator() {
    let s = TestServer::start().await;
    let at: DateTime<Utc> = MORNING.parse().unwrap();
    s.clock.0.store(at.timestamp(), Ordering::SeqCst);
    let kiosk = s.device(Role::Kiosk, None).await;
    let evaluator = s.device(Role::Evaluator, Some(1)).await;
    let other_evaluator = s.device(Role::Evaluator, Some(2)).await;
    let clerk = signed_in_client(&s.base, "s001").await;

    let facing = evaluator.facing(1).await.unwrap();
    let c = facing.clerk.as_ref().unwrap();
    assert_eq!((c.id.as_str(), c.name.as_str(), c.post.as_str(), c.covering), ("s001", "王丽", "A岗", false));
    assert!(facing.ticket.is_none() && facing.ask.is_none());
    assert!(other_evaluator.facing(1).await.is_err(), "window 2's evaluator does not face window 1");

    let a1 = kiosk.issue_ticket(&IssueTicket::new('A')).await.unwrap().ticket.unwrap();
    clerk.call_next(1).await.unwrap();
    clerk.start_service(1).await.unwrap();
    let facing = evaluator.facing(1).await.unwrap();
    let ticket = facing.ticket.unwrap();
    assert_eq!((ticket.number, ticket.status), (a1.number, TicketStatus::Serving));
    assert!(facing.ask.is_none(), "not asked while serving, until the clerk invites");

    // A ticket not served at the window is not rated there.
    let a2 = kiosk.issue_ticket(&IssueTicket::new('A')).await.unwrap().ticket.unwrap();
    let e = evaluator.rate_ticket(1, &rating(a2.id, RatingLevel::VerySatisfied, "")).await.unwrap_err();
    assert_eq!(e.problem_code(), Some("validation_failed"));

    // The clerk's v invites; the evaluator asks; the applicant rates.
    let invited = clerk.invite_rating(1).await.unwrap();
    assert_eq!(invited.number, a1.number);
    assert_eq!(evaluator.facing(1).await.unwrap().ask.unwrap().ticket_id, a1.id);
    let first = rating(a1.id, RatingLevel::Dissatisfied, "等候时间长");
    let stored = evaluator.rate_ticket(1, &first).await.unwrap();
    assert_eq!((stored.staff.as_str(), stored.window, stored.rated_at), ("s001", 1, at), "server's clerk and time");
    // A resend (the reply was lost) is the same rating; another one for the ticket is refused.
    assert_eq!(evaluator.rate_ticket(1, &first).await.unwrap().id, first.id);
    let again = evaluator.rate_ticket(1, &rating(a1.id, RatingLevel::VerySatisfied, "")).await.unwrap_err();
    assert_eq!(again.problem_code(), Some("already_rated"));
    assert!(evaluator.facing(1).await.unwrap().ask.is_none(), "no longer asked once rated");
    // A reason only for the bad levels.
    let e = evaluator.rate_ticket(1, &rating(a1.id, RatingLevel::Satisfied, "很好")).await.unwrap_err();
    assert_eq!(e.problem_code(), Some("validation_failed"));
    // Not the clerk, not even an admin, rates for the applicant.
    let admin = signed_in_client(&s.base, "admin").await;
    assert_eq!(
        admin.rate_ticket(1, &rating(a1.id, RatingLevel::VerySatisfied, "")).await.unwrap_err().problem_code(),
        Some("forbidden")
    );
    assert_eq!(
        clerk.rate_ticket(1, &rating(a1.id, RatingLevel::VerySatisfied, "")).await.unwrap_err().problem_code(),
        Some("forbidden")
    );

    // Finishing the next ticket asks for its rating by itself, for a while.
    clerk.finish_service(1).await.unwrap();
    clerk.call_next(1).await.unwrap();
    clerk.start_service(1).await.unwrap();
    clerk.finish_service(1).await.unwrap();
    let facing = evaluator.facing(1).await.unwrap();
    assert_eq!(facing.ask.as_ref().map(|a| a.number), Some(a2.number));
    assert_eq!(facing.step.map(|s| s.label).as_deref(), Some("已办结"));
    s.clock.0.fetch_add(10 * 60, Ordering::SeqCst);
    assert!(evaluator.facing(1).await.unwrap().ask.is_none(), "times out when nobody rates");

    let pool = sqlx::SqlitePool::connect(&s.db_url).await.unwrap();
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT ticket_id, author, staff_id FROM ratings").fetch_all(&pool).await.unwrap();
    assert_eq!(rows, [(a1.id.to_string(), "evaluator-1".to_owned(), "s001".to_owned())]);
    let summary = s.device(Role::Display, None).await.ratings_today().await.unwrap();
    assert_eq!((summary.rated, summary.satisfied), (1, 0));
    s.stop().await;
}

#[tokio::test]
async fn a_rating_a_clerk_uploads_is_kept_in_the_log_but_never_counted() {
    use bianmin::api::RecordEnvelope;
    use bianmin::domain::center::Post;
    use bianmin::domain::rating::Rating;
    use bianmin::domain::record::{RecordBody, stream_name};
    let s = TestServer::start().await;
    let s001 = s.sign_in("s001").await;
    let now = DateTime::from_timestamp(s.clock.0.load(Ordering::SeqCst), 0).unwrap();
    // An older terminal's log: the clerk "rates" themselves, with no ticket.
    let body = RecordBody::RatingRecorded(Box::new(Rating {
        id: Uuid::now_v7(),
        window: 1,
        staff: "s001".into(),
        case_id: None,
        level: RatingLevel::VerySatisfied,
        comment: String::new(),
        rated_at: now,
        day: None,
        reply: None,
    }));
    let record = RecordEnvelope {
        schema: bianmin::api::RECORD_SCHEMA,
        device: Uuid::now_v7(),
        stream: stream_name(1, body.family()),
        idx: 1,
        id: Uuid::now_v7(),
        created_at: now,
        author: "s001".into(),
        window: 1,
        post: Post::A,
        body: serde_json::to_value(&body).unwrap(),
    };
    let r = s
        .http
        .post(s.url("/api/v1/records"))
        .bearer_auth(&s001)
        .json(&serde_json::json!({ "records": [record] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK, "old terminals' records are still taken");
    let reply: serde_json::Value = r.json().await.unwrap();
    assert_eq!(reply["streams"][0]["last"], 1, "the log's head moves on: the terminal's outbox is not stuck");
    let summary = s.device(Role::Display, None).await.ratings_today().await.unwrap();
    assert_eq!(summary.rated, 0, "but not counted in the public rate");
    let pool = sqlx::SqlitePool::connect(&s.db_url).await.unwrap();
    let ratings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ratings").fetch_one(&pool).await.unwrap();
    assert_eq!(ratings, 0, "nor held among the ratings (the window's figures are made from them)");
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM device_records WHERE id = ?")
        .bind(record.id.to_string())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, 1, "kept in the log");
    let audited: Vec<(String, String)> =
        sqlx::query_as("SELECT staff_id, action FROM audit WHERE action = 'rating_not_counted'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(audited, [("s001".to_owned(), "rating_not_counted".to_owned())]);

    // The applicant's rating at the window's evaluator is counted.
    let kiosk = s.device(Role::Kiosk, None).await;
    let evaluator = s.device(Role::Evaluator, Some(1)).await;
    let clerk = signed_in_client(&s.base, "s001").await;
    let ticket = kiosk.issue_ticket(&IssueTicket::new('A')).await.unwrap().ticket.unwrap();
    clerk.call_next(1).await.unwrap();
    clerk.start_service(1).await.unwrap();
    evaluator.rate_ticket(1, &rating(ticket.id, RatingLevel::Satisfied, "")).await.unwrap();
    let summary = s.device(Role::Display, None).await.ratings_today().await.unwrap();
    assert_eq!((summary.rated, summary.satisfied), (1, 1));
    let authors: Vec<String> = sqlx::query_scalar("SELECT author FROM ratings").fetch_all(&pool).await.unwrap();
    assert_eq!(authors, ["evaluator-1"]);
    pool.close().await;
    s.stop().await;
}

/// #16 "Offline: the rating is kept in the device's log and uploaded once, like every other
/// record": the evaluator's rating is a record of its device log, uploaded by the record upload;
/// the server takes it by the same rules as every rating (author from the session, time from the
/// server, one per ticket), a replay idempotently, a second rating of the ticket refused by name.
#[tokio::test]
async fn the_evaluators_rating_is_a_record_of_its_log_uploaded_once_by_the_same_rules() {
    use bianmin::client::evaluator_log::EvaluatorLog;
    use bianmin::client::sync::upload_own_logs;
    use bianmin::domain::record::{RecordBody, Visit, stream_name};
    let s = TestServer::start().await;
    let at: DateTime<Utc> = MORNING.parse().unwrap();
    s.clock.0.store(at.timestamp(), Ordering::SeqCst);
    let kiosk = s.device(Role::Kiosk, None).await;
    let evaluator = s.device(Role::Evaluator, Some(1)).await;
    let clerk = signed_in_client(&s.base, "s001").await;
    let a1 = kiosk.issue_ticket(&IssueTicket::new('A')).await.unwrap().ticket.unwrap();
    let a2 = kiosk.issue_ticket(&IssueTicket::new('A')).await.unwrap().ticket.unwrap();
    clerk.call_next(1).await.unwrap();
    clerk.start_service(1).await.unwrap();

    // Given while the server is away: kept in the log, an hour before the upload.
    let dir = tempfile::tempdir().unwrap();
    let log = EvaluatorLog::open(dir.path(), 1, "evaluator-1", Utc::now()).await.unwrap();
    let first = rating(a1.id, RatingLevel::Dissatisfied, "等候时间长");
    let record = log.keep(&first, "2020-01-01T00:00:00Z".parse().unwrap()).await.unwrap();
    assert_eq!(log.pending().await.unwrap(), 1);
    s.clock.0.fetch_add(3600, Ordering::SeqCst);
    let outcome = upload_own_logs(&evaluator, log.store(), 1).await.unwrap();
    assert_eq!((outcome.uploaded, outcome.pending, outcome.refused.len()), (1, 0, 0));
    let pool = sqlx::SqlitePool::connect(&s.db_url).await.unwrap();
    let stored = || {
        let pool = &pool;
        async move {
            let rows: Vec<(String, String, String, i64)> =
                sqlx::query_as("SELECT id, author, staff_id, rated_at FROM ratings").fetch_all(pool).await.unwrap();
            rows
        }
    };
    let one = vec![(first.id.to_string(), "evaluator-1".to_owned(), "s001".to_owned(), at.timestamp() + 3600)];
    assert_eq!(stored().await, one, "authored by the session, of the clerk who served it, at the server's time");
    let follow_ups: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM follow_ups").fetch_one(&pool).await.unwrap();
    assert_eq!(follow_ups, 1, "the bad rating opened its follow-up");

    // A replay of the same record (the reply was lost): taken, nothing doubles.
    let reply = evaluator.upload(vec![record.clone()]).await.unwrap();
    assert!(reply.refused.is_empty(), "{:?}", reply.refused);
    assert_eq!(reply.streams[0].last, 1);
    assert_eq!(stored().await, one);
    assert_eq!(upload_own_logs(&evaluator, log.store(), 1).await.unwrap().uploaded, 0, "uploaded once");

    // A second rating of the same ticket: kept in the log (the outbox moves on), refused by name,
    // not counted; so is a rating of a ticket not served at the window.
    log.keep(&rating(a1.id, RatingLevel::VerySatisfied, ""), Utc::now()).await.unwrap();
    log.keep(&rating(a2.id, RatingLevel::VerySatisfied, ""), Utc::now()).await.unwrap();
    let outcome = upload_own_logs(&evaluator, log.store(), 1).await.unwrap();
    assert_eq!((outcome.uploaded, outcome.pending), (2, 0), "nothing stuck on the evaluator");
    let refused: Vec<(&str, &str)> = outcome.refused.iter().map(|r| (r.code.as_str(), r.message.as_str())).collect();
    assert_eq!(
        refused,
        [("already_rated", "A001 已经评价过了"), ("validation_failed", "A002 不是在 1 号窗口办理的，不能在此评价")]
    );
    assert_eq!(stored().await, one, "not doubled");
    let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM device_records WHERE kind = 'ticket_rated'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(logged, 3, "all three kept in the log");
    // The direct route is the same rule: the resend is the stored rating, another is refused.
    assert_eq!(evaluator.rate_ticket(1, &first).await.unwrap().rated_at, at + chrono::TimeDelta::hours(1));
    let e = evaluator.rate_ticket(1, &rating(a1.id, RatingLevel::Satisfied, "")).await.unwrap_err();
    assert_eq!(e.problem_code(), Some("already_rated"));

    // The evaluator uploads its own window's ratings and nothing else.
    let other = s.device(Role::Evaluator, Some(2)).await;
    let refused_with = |e: bianmin::client::ClientError| e.problem_code().map(str::to_owned);
    assert_eq!(refused_with(other.upload(vec![record.clone()]).await.unwrap_err()).as_deref(), Some("forbidden"));
    let visit = RecordBody::Visit(Visit { paper_ticket: String::new(), note: "x".into() });
    let mut walk_in = record.clone();
    walk_in.id = Uuid::now_v7();
    walk_in.idx = 1;
    walk_in.device = Uuid::now_v7();
    walk_in.stream = stream_name(1, visit.family());
    walk_in.body = serde_json::to_value(&visit).unwrap();
    assert_eq!(refused_with(evaluator.upload(vec![walk_in]).await.unwrap_err()).as_deref(), Some("forbidden"));
    // Nor does a clerk upload the evaluator's kind of rating, even as their own.
    let mut forged = record.clone();
    forged.id = Uuid::now_v7();
    forged.device = Uuid::now_v7();
    forged.author = "s001".into();
    forged.body = serde_json::to_value(RecordBody::TicketRated(Box::new(bianmin::domain::rating::TicketRating {
        id: Uuid::now_v7(),
        ticket_id: a1.id,
        window: 1,
        level: RatingLevel::VerySatisfied,
        reason: String::new(),
    })))
    .unwrap();
    assert_eq!(refused_with(clerk.upload(vec![forged]).await.unwrap_err()).as_deref(), Some("forbidden"));
    assert_eq!(stored().await, one);
    pool.close().await;
    log.close().await;
    s.stop().await;
}

#[tokio::test]
async fn the_status_page_shows_the_line_and_the_window_to_whoever_holds_the_slip_and_nothing_else() {
    use bianmin::domain::hall::status_path;
    let s = TestServer::start().await;
    let at: DateTime<Utc> = MORNING.parse().unwrap();
    s.clock.0.store(at.timestamp(), Ordering::SeqCst);
    let kiosk = s.device(Role::Kiosk, None).await;
    let clerk = signed_in_client(&s.base, "s001").await;
    // What an applicant told the desk must never reach a public page.
    let mut request = IssueTicket::new('A');
    request.note = Some("张三 13800138000".into());
    let first = kiosk.kiosk_issue(&request).await.unwrap();
    let second = kiosk.kiosk_issue(&request).await.unwrap();
    let page = |slip: &bianmin::api::hall::Slip, token: &str| {
        let t = &slip.slip.ticket;
        s.http.get(s.url(&status_path(t.day, t.number, token))).send()
    };
    let token = |slip: &bianmin::api::hall::Slip| slip.status_token.clone().expect("the kiosk's slip has a token");
    assert_eq!(token(&second).len(), 20);
    assert_ne!(token(&first), token(&second));

    // Waiting: the place in line, the wait, refreshing itself, no script, no personal data.
    let r = page(&second, &token(&second)).await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = r.text().await.unwrap();
    let number = second.slip.ticket.number.to_string();
    for want in [number.as_str(), "等候中", "前面还有 1 人", "预计等候", r#"http-equiv="refresh" content="20""#]
    {
        assert!(html.contains(want), "{want} missing from {html}");
    }
    for never in ["<script", "张三", "13800138000", "kiosk-1", "s001", "王丽"] {
        assert!(!html.contains(never), "{never} on the public page: {html}");
    }

    // Called: which window to go to.
    clerk.call_next(1).await.unwrap();
    let html = page(&first, &token(&first)).await.unwrap().text().await.unwrap();
    assert!(html.contains("请到 1 号窗口"), "{html}");
    let html = page(&second, &token(&second)).await.unwrap().text().await.unwrap();
    assert!(html.contains("前面还有 0 人"), "{html}");

    // Another ticket's token, a wrong one, none at all: the same bare 404 as an unknown path.
    let unknown = s.http.get(s.url("/no/such/page")).send().await.unwrap();
    assert_eq!(unknown.status(), reqwest::StatusCode::NOT_FOUND);
    let unknown = unknown.text().await.unwrap();
    let t = &second.slip.ticket;
    let no_token = status_path(t.day, t.number, "").replace("?t=", "");
    for r in [
        page(&second, &token(&first)).await.unwrap(),
        page(&second, "00000000000000000000").await.unwrap(),
        s.http.get(s.url(&no_token)).send().await.unwrap(),
    ] {
        assert_eq!(r.status(), reqwest::StatusCode::NOT_FOUND);
        assert_eq!(r.text().await.unwrap(), unknown, "nothing tells a wrong token from no page");
    }

    // Limited per address: a script guessing tokens is stopped.
    let mut limited = false;
    for _ in 0..=server::status_page::MAX_REQUESTS {
        if page(&second, "1").await.unwrap().status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
    }
    assert!(limited, "no limit after {} requests", server::status_page::MAX_REQUESTS);
    s.stop().await;
}
