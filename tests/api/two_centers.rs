//! Two centers on one server (issue #18): each center's queue runs on its own. Numbers start at
//! 1 in each, a window of one center never calls the other's ticket, and a center's feed never
//! carries the other's changes. The second center is written through the store's seed (as
//! `admin center add` will once every statement names its center).

use crate::common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bianmin::api::queue::{IssueTicket, QueueChange};
use bianmin::domain::center::Center;
use bianmin::server::store::{SeedData, StaffCredentials};
use chrono::{DateTime, Utc};
use common::server::{TestServer, signed_in_client};
use reqwest::StatusCode;

/// The second center's id.
pub const CENTER_B: &str = "center-b";
/// Its windows are the first center's, numbered from here on (11, 12, ...), so that a window
/// number names one center's window only.
pub const WINDOW_OFFSET: u32 = 10;

/// The second center's id of a first center's staff member.
pub fn staff_b(id: &str) -> String {
    format!("b-{id}")
}

/// Adds a second center beside the seeded one: the same categories, its own windows (the first
/// center's, renumbered, held by its own staff) and staff (`b-` and the first center's ids).
pub async fn add_second_center(s: &TestServer) {
    let first = bianmin::server::seed::bundled_seed().unwrap();
    let center = Center { id: CENTER_B.into(), name: "第二乡镇便民服务中心".into(), ..first.center.clone() };
    let windows = first
        .windows
        .iter()
        .map(|w| {
            let mut w = w.clone();
            w.number += WINDOW_OFFSET;
            w.a_holder = staff_b(&w.a_holder);
            w.b_holder = staff_b(&w.b_holder);
            w
        })
        .collect();
    let password_hash = bianmin::server::auth::hash_password(common::server::PASSWORD);
    let staff = first
        .staff
        .iter()
        .map(|c| StaffCredentials {
            staff: bianmin::domain::staff::Staff { id: staff_b(&c.staff.id), ..c.staff.clone() },
            password_hash: password_hash.clone(),
        })
        .collect();
    let seed = SeedData { center, categories: first.categories.clone(), windows, staff, guides: Vec::new() };
    s.state.store.seed(&seed).await.unwrap();
}

const MORNING: &str = "2026-03-02T01:00:00Z";

fn set_clock(s: &TestServer, at: &str) {
    s.clock.0.store(at.parse::<DateTime<Utc>>().unwrap().timestamp(), Ordering::SeqCst);
}

/// A letter window 1 (and so the second center's window 11) calls.
fn letter() -> char {
    bianmin::server::seed::bundled_seed().unwrap().windows.iter().find(|w| w.number == 1).unwrap().categories[0]
}

/// The next `change` event of a raw feed (snapshots and other events skipped), as JSON.
async fn next_change(r: &mut reqwest::Response, buffer: &mut String) -> serde_json::Value {
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if event.lines().any(|l| l == "event: change") {
                let data: String = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
                    .collect();
                return serde_json::from_str(&data).unwrap();
            }
        }
        let chunk = tokio::time::timeout(Duration::from_secs(20), r.chunk())
            .await
            .expect("the feed sends its center's change")
            .unwrap()
            .expect("the feed stays open");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

async fn feed_of(s: &TestServer, staff_id: &str) -> reqwest::Response {
    let token = s.sign_in(staff_id).await;
    let r = s.http.get(s.url("/api/v1/queue/events")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r
}

#[tokio::test]
async fn two_centers_queues_run_independently() {
    let s = TestServer::start().await;
    set_clock(&s, MORNING);
    two_centers_queues_run_independently_on(s).await;
}

/// Also to be run on PostgreSQL once the records/accounts statements name their center (the
/// audit line of a queue change is written with `(SELECT id FROM center)` until then).
pub async fn two_centers_queues_run_independently_on(s: TestServer) {
    add_second_center(&s).await;
    let letter = letter();
    let a_clerk = signed_in_client(&s.base, "s001").await;
    let b_clerk = signed_in_client(&s.base, &staff_b("s001")).await;
    let ticket_of = |c: &QueueChange| c.ticket.clone().expect("the change carries its ticket");

    // The second center's feed, open before anything happens.
    let mut b_feed = feed_of(&s, &staff_b("s001")).await;
    let mut b_buffer = String::new();

    // Numbers start at 1 in each center, and so do revisions.
    let a1 = a_clerk.issue_ticket(&IssueTicket::new(letter)).await.unwrap();
    let a2 = a_clerk.issue_ticket(&IssueTicket::new(letter)).await.unwrap();
    let b1 = b_clerk.issue_ticket(&IssueTicket::new(letter)).await.unwrap();
    assert_eq!((ticket_of(&a1).number.seq, ticket_of(&a2).number.seq, ticket_of(&b1).number.seq), (1, 2, 1));
    assert_eq!((a1.rev, a2.rev, b1.rev), (1, 2, 1), "each center counts its own revisions");
    assert_eq!(ticket_of(&a1).number, ticket_of(&b1).number, "the same number, in two centers");
    assert_ne!(ticket_of(&a1).id, ticket_of(&b1).id);

    // B's feed: its own change first (A's two never reach it).
    let first = next_change(&mut b_feed, &mut b_buffer).await;
    assert_eq!(first["rev"], 1, "{first}");
    assert_eq!(first["ticket"]["id"], ticket_of(&b1).id.to_string(), "B's feed carries B's ticket: {first}");

    // Call-next at B's window hands out B's ticket, never A's older ones.
    let called = b_clerk.call_next(1 + WINDOW_OFFSET).await.unwrap();
    assert_eq!(ticket_of(&called).id, ticket_of(&b1).id);
    let next = next_change(&mut b_feed, &mut b_buffer).await;
    assert_eq!(next["rev"], 2, "{next}");
    assert_eq!(next["ticket"]["id"], ticket_of(&b1).id.to_string());
    let a_called = a_clerk.call_next(1).await.unwrap();
    assert_eq!(ticket_of(&a_called).id, ticket_of(&a1).id, "A's window calls A's first ticket");
    assert_eq!(a_called.rev, 3);

    // Each center's snapshot holds its own tickets only.
    let a_queue = a_clerk.queue().await.unwrap();
    let b_queue = b_clerk.queue().await.unwrap();
    assert_eq!(a_queue.rev, 3);
    assert_eq!(b_queue.rev, 2);
    let ids = |q: &bianmin::api::queue::QueueSnapshot| q.tickets.iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(&b_queue), vec![ticket_of(&b1).id]);
    assert_eq!(ids(&a_queue).len(), 2);
    assert!(!ids(&a_queue).contains(&ticket_of(&b1).id));

    // A later change of B still reaches B's feed next: nothing of A's came in between.
    let b2 = b_clerk.issue_ticket(&IssueTicket::new(letter)).await.unwrap();
    assert_eq!(ticket_of(&b2).number.seq, 2);
    let after = next_change(&mut b_feed, &mut b_buffer).await;
    assert_eq!(after["rev"], 3);
    assert_eq!(after["ticket"]["id"], ticket_of(&b2).id.to_string());
    drop(b_feed);
    s.stop().await;
}

/// On a database of two centers an audit line goes to its account's center, a county account's
/// and an unknown caller's to the county, and none is lost: a failed sign-in of center B's clerk
/// is in B's trail, refusals of a request without a session are counted in one county line.
#[tokio::test]
async fn audit_lines_of_two_centers_go_to_their_own_trails() {
    let s = TestServer::start().await;
    add_second_center(&s).await;
    let b = staff_b("s001");
    let r = s
        .http
        .post(s.url("/api/v1/session"))
        .json(&serde_json::json!({ "staff_id": b, "password": "wrong-password-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let failed = |center: &str| {
        format!(
            "SELECT COUNT(*) FROM audit WHERE action = 'sign_in_failed' AND staff_id = '{b}' AND center_id = '{center}'"
        )
    };
    assert_eq!(s.db_count(&failed(CENTER_B)).await, 1, "B's clerk's failed sign-in is in B's trail");
    for _ in 0..3 {
        let r = s.http.get(s.url("/api/v1/board")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let county = "SELECT COUNT(*) FROM audit WHERE center_id IS NULL AND bucket LIKE '%board%'";
    assert_eq!(s.db_count(county).await, 1, "the refusals without a session are one counted county line");
    let counted = "SELECT MAX(count) FROM audit WHERE center_id IS NULL AND bucket LIKE '%board%'";
    assert!(s.db_count(counted).await >= 3, "counted, not written three times");
    s.stop().await;
}
