//! A case that ends without acceptance (误开撤销, 撤回, 不予受理), through the device log and the
//! real server: the ending is a recorded step, the case leaves the window's open list, a snapshot
//! from a terminal that had not heard of the ending does not bring it back, only the clerk who
//! ended it may say so, and a reprint finds the document by its number without a new record.

use crate::common;

use bianmin::api::RecordEnvelope;
use bianmin::client::local::LocalStore;
use bianmin::client::sync::sync_logs;
use bianmin::domain::case::{Case, CaseStatus, EndKind};
use bianmin::domain::center::Post;
use bianmin::domain::intake::{self, Opening};
use bianmin::domain::record::{RecordBody, stream_name};
use chrono::Utc;
use common::server::{TestServer, signed_in_client};
use reqwest::StatusCode;
use uuid::Uuid;

fn opened() -> Case {
    let guide =
        bianmin::assets::bundled_catalogue().unwrap().guides.into_iter().find(|g| g.situations.is_empty()).unwrap();
    let opening = Opening { window: 1, post: Post::A, staff_id: "s001", ticket: None };
    intake::open_case(&guide, None, &opening, Uuid::now_v7(), Utc::now()).unwrap()
}

fn snapshot(case: &Case) -> RecordBody {
    RecordBody::CaseSnapshot(Box::new(case.clone()))
}

#[tokio::test]
async fn an_ended_case_leaves_the_open_list_and_stays_ended() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let local = LocalStore::open(&dir.path().join("a.db"), Utc::now()).await.unwrap().0;
    let client = signed_in_client(&server.base, "s001").await;

    let mut refused = opened();
    let mut withdrawn = opened();
    let kept = opened();
    for case in [&refused, &withdrawn, &kept] {
        local.append("s001", 1, Post::A, &snapshot(case), Utc::now()).await.unwrap();
    }
    sync_logs(&client, &local, 1).await.unwrap();
    assert_eq!(client.window_overview(1).await.unwrap().open_cases.len(), 3);

    // A second terminal of the window still has the case in intake (it did not hear of the end).
    let stale = refused.clone();
    intake::end_case(
        &mut refused,
        EndKind::Refused,
        "不属于本中心受理范围",
        "s001",
        Utc::now(),
        Some("BY01-20261205-0001".into()),
    )
    .unwrap();
    intake::end_case(&mut withdrawn, EndKind::Withdrawn, "", "s001", Utc::now(), None).unwrap();
    // Each change written at a window is the case's next version.
    refused.new_version(Uuid::now_v7());
    withdrawn.new_version(Uuid::now_v7());
    local.append("s001", 1, Post::A, &snapshot(&refused), Utc::now()).await.unwrap();
    local.append("s001", 1, Post::A, &snapshot(&withdrawn), Utc::now()).await.unwrap();
    let outcome = sync_logs(&client, &local, 1).await.unwrap();
    assert_eq!((outcome.uploaded, outcome.pending), (2, 0));
    let open = client.window_overview(1).await.unwrap().open_cases;
    assert_eq!(open.iter().map(|c| c.id).collect::<Vec<_>>(), vec![kept.id], "ended cases left the list");

    // The stale terminal's later snapshot is kept in the log, but the case stays ended.
    let other = LocalStore::open(&dir.path().join("b.db"), Utc::now()).await.unwrap().0;
    other.append("s001", 1, Post::A, &snapshot(&stale), Utc::now()).await.unwrap();
    let outcome = sync_logs(&client, &other, 1).await.unwrap();
    assert_eq!(outcome.pending, 0, "accepted into the log, not refused: the outbox never sticks");
    let open = client.window_overview(1).await.unwrap().open_cases;
    assert!(!open.iter().any(|c| c.id == refused.id), "the stale snapshot did not reopen the case");
    let pool = sqlx::SqlitePool::connect(&server.db_url).await.unwrap();
    let (status, body): (String, String) = sqlx::query_as("SELECT status, body FROM cases WHERE id = ?")
        .bind(refused.id.to_string())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "ended");
    let stored: Case = serde_json::from_str(&body).unwrap();
    assert_eq!(stored.status, CaseStatus::Ended);
    let ending = stored.ending.unwrap();
    assert_eq!((ending.kind, ending.reason.as_str()), (EndKind::Refused, "不属于本中心受理范围"));
    pool.close().await;

    // A reprint finds the refusal notice by its number, from the log, and writes nothing.
    let before = local.pending().await.unwrap();
    let (found, notice) = local.document_by_number("BY01-20261205-0001").await.unwrap().unwrap();
    assert_eq!((found.id, found.status, notice), (refused.id, CaseStatus::Ended, None));
    assert!(local.document_by_number("BY01-20261205-0009").await.unwrap().is_none());
    assert_eq!(local.pending().await.unwrap(), before);
}

#[tokio::test]
async fn only_the_clerk_who_ends_a_case_may_be_named_as_ending_it() {
    let server = TestServer::start().await;
    let token = server.sign_in("s001").await;
    let mut case = opened();
    intake::end_case(&mut case, EndKind::Cancelled, "", "s002", Utc::now(), None).unwrap();
    let body = snapshot(&case);
    let record = RecordEnvelope {
        schema: bianmin::api::RECORD_SCHEMA,
        device: Uuid::now_v7(),
        stream: stream_name(1, body.family()),
        idx: 1,
        id: Uuid::now_v7(),
        created_at: Utc::now(),
        author: "s001".into(),
        window: 1,
        post: Post::A,
        body: serde_json::to_value(&body).unwrap(),
    };
    let r = server
        .http
        .post(server.url("/api/v1/records"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "records": [record] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "s001 says s002 ended the case");
    let problem: bianmin::api::Problem = r.json().await.unwrap();
    assert!(problem.errors[0].field.ends_with("ending.by"), "{:?}", problem.errors);
}
