//! The role matrix: every route of the server, called by every kind of caller (no token, an
//! expired token, a revoked token, a disabled account, a window clerk of the window, a clerk of
//! another window, the guidance desk, an admin), allowed or refused exactly as the server's route
//! declaration says. The router is built from that same declaration, so a route cannot exist
//! without a rule, and every declared route is called here.

use crate::common;

use std::collections::BTreeSet;

use bianmin::api::{PROBLEM_CONTENT_TYPE, Problem};
use bianmin::domain::staff::Role;
use bianmin::server;
use bianmin::server::access::{self, Access, ISSUERS, Rule, WINDOW_STAFF};
use bianmin::server::auth::{new_token, token_hash};
use common::server::TestServer;
use reqwest::StatusCode;

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    NoToken,
    Expired,
    Revoked,
    Disabled,
    /// s001: A post of window 1, the window the matrix's paths name, on duty there.
    ClerkOfWindow,
    /// s002: B post of window 1, not covering (A is on duty).
    BPostNotCovering,
    /// s003: A post of window 2, B of window 3; nothing at window 1.
    ClerkOfAnotherWindow,
    /// d001.
    GuidanceDesk,
    Admin,
    /// z001 (中心负责人), added as `bianmin admin staff add --role 中心负责人` does.
    Director,
    /// kiosk-1 (自助取号机).
    Kiosk,
    /// display-1 (叫号屏).
    Display,
    /// evaluator-1 (评价器), facing window 1.
    EvaluatorOfWindow,
    /// online-1 (网上预约渠道): the 政务服务网 or mini-program booking over the API.
    OnlineChannel,
}

const EVERYONE: [Who; 14] = [
    Who::NoToken,
    Who::Expired,
    Who::Revoked,
    Who::Disabled,
    Who::ClerkOfWindow,
    Who::BPostNotCovering,
    Who::ClerkOfAnotherWindow,
    Who::GuidanceDesk,
    Who::Admin,
    Who::Director,
    Who::Kiosk,
    Who::Display,
    Who::EvaluatorOfWindow,
    Who::OnlineChannel,
];

impl Who {
    fn role(self) -> Option<Role> {
        match self {
            Self::ClerkOfWindow | Self::BPostNotCovering | Self::ClerkOfAnotherWindow => Some(Role::WindowClerk),
            Self::GuidanceDesk => Some(Role::GuidanceDesk),
            Self::Admin => Some(Role::Admin),
            Self::Director => Some(Role::Director),
            Self::Kiosk => Some(Role::Kiosk),
            Self::Display => Some(Role::Display),
            Self::EvaluatorOfWindow => Some(Role::Evaluator),
            Self::OnlineChannel => Some(Role::OnlineChannel),
            _ => None,
        }
    }

    /// The code of the refusal a caller without a valid session gets.
    fn unauthenticated_code(self) -> Option<&'static str> {
        match self {
            Self::NoToken | Self::Revoked => Some("unauthorized"),
            Self::Expired => Some("session_expired"),
            Self::Disabled => Some("account_disabled"),
            _ => None,
        }
    }
}

/// What the table says, worked out here independently of the server's own check.
fn expected_allowed(rule: Rule, method: &str, who: Who) -> bool {
    if rule == Rule::Public {
        return true;
    }
    let Some(role) = who.role() else { return false };
    let person = matches!(role, Role::WindowClerk | Role::GuidanceDesk | Role::Admin | Role::Director);
    match rule {
        Rule::Public | Rule::Anyone => true,
        Rule::Staff => person,
        Rule::Roles(roles) => roles.contains(&role),
        Rule::Admin => role == Role::Admin,
        // The county admin's calls on a chosen center: none of these callers is the county's
        // (`county_and_another_center` calls them as the county admin).
        Rule::County => false,
        // The director reads every window and changes none.
        Rule::WindowHolder => {
            matches!(who, Who::Admin | Who::ClerkOfWindow | Who::BPostNotCovering)
                || (who == Who::Director && method == "GET")
        }
        // A is on duty at window 1 throughout.
        Rule::WindowActing => matches!(who, Who::Admin | Who::ClerkOfWindow),
        // Window 1's evaluator only; not even an admin rates for the applicant.
        Rule::WindowEvaluator => who == Who::EvaluatorOfWindow,
        // The paths name window 1's logs.
        Rule::Log(_) => matches!(who, Who::Admin | Who::ClerkOfWindow | Who::BPostNotCovering | Who::Director),
    }
}

/// A concrete request for a route pattern: window 1, a real guide, ticket A001, and a body.
fn concrete(method: &str, pattern: &str) -> (String, Option<&'static str>) {
    let mut path = pattern
        .replace("/windows/{number}", "/windows/1")
        .replace("/q/{day}/{number}", "/q/20260302/A001")
        .replace("/tickets/{number}", "/tickets/A001")
        .replace("{code}", "HB-QS-0001")
        .replace("{center}", "qingshi")
        .replace("{year}", "2026")
        .replace("{letter}", "A")
        .replace("{staff_id}", "s007")
        .replace("{record}", "018f0000-0000-7000-8000-000000000000")
        .replace("{rating_id}", "018f0000-0000-7000-8000-000000000000");
    assert!(!path.contains('{'), "tests/access.rs does not know how to fill in {pattern}");
    match pattern {
        "/api/v1/sync/status" => path.push_str("?window=1"),
        "/api/v1/report" => path.push_str("?period=day&format=csv"),
        "/api/v1/records" if method == "GET" => {
            path.push_str("?device=018f0000-0000-7000-8000-000000000000&stream=w1%2Fcases")
        }
        _ => {}
    }
    let body = match (method, pattern) {
        ("POST", "/api/v1/session") => Some(r#"{"staff_id": "", "password": ""}"#),
        ("POST", "/api/v1/records") => Some(r#"{"records": []}"#),
        ("POST" | "PUT", _) => Some("{}"),
        _ => None,
    };
    (path, body)
}

async fn token_for(s: &TestServer, who: Who) -> Option<String> {
    let now = s.clock.0.load(std::sync::atomic::Ordering::SeqCst);
    match who {
        Who::NoToken => None,
        Who::Expired => {
            let token = new_token();
            // Ends this very second (the test clock stands still), so sign-ins' clean-up of
            // sessions expired before now leaves it for the server to refuse as expired.
            s.state.store.create_session(&token_hash(&token), "s005", now - 12 * 3600, now).await.unwrap();
            Some(token)
        }
        Who::Revoked => {
            let token = s.sign_in("s004").await;
            let admin = s.sign_in("admin").await;
            let r = s.http.delete(s.url("/api/v1/sessions/s004")).bearer_auth(&admin).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "the admin revokes s004's sessions");
            Some(token)
        }
        Who::Disabled => {
            let token = s.sign_in("s006").await;
            assert!(s.state.store.set_active("s006", false).await.unwrap());
            Some(token)
        }
        Who::ClerkOfWindow => Some(s.sign_in("s001").await),
        Who::BPostNotCovering => Some(s.sign_in("s002").await),
        Who::ClerkOfAnotherWindow => Some(s.sign_in("s003").await),
        Who::GuidanceDesk => Some(s.sign_in("d001").await),
        Who::Admin => Some(s.sign_in("admin").await),
        Who::Director => {
            let now = chrono::Utc::now();
            let store = s.state.store.as_ref();
            server::admin::add_staff(
                store,
                "命令行:test",
                "z001",
                "赵主任",
                Role::Director,
                common::server::PASSWORD,
                now,
            )
            .await
            .unwrap();
            Some(s.sign_in("z001").await)
        }
        Who::Kiosk => Some(device(s, Role::Kiosk, None).await.1),
        Who::Display => Some(device(s, Role::Display, None).await.1),
        Who::EvaluatorOfWindow => Some(device(s, Role::Evaluator, Some(1)).await.1),
        Who::OnlineChannel => Some(device(s, Role::OnlineChannel, None).await.1),
    }
}

/// A device account added as `bianmin admin device add` does: its id and token.
async fn device(s: &TestServer, role: Role, window: Option<u32>) -> (String, String) {
    let now = s.clock.0.load(std::sync::atomic::Ordering::SeqCst);
    let now = chrono::DateTime::from_timestamp(now, 0).unwrap();
    let granted = server::admin::add_device(s.state.store.as_ref(), "命令行:test", role, window, now).await.unwrap();
    (granted.staff.id, granted.token)
}

fn table() -> Vec<Access> {
    server::declaration().iter().map(access::Route::access).collect()
}

#[test]
fn the_declaration_has_each_route_once_and_every_path_is_known_here() {
    let table = table();
    assert!(table.len() >= 30, "{} routes", table.len());
    let distinct: BTreeSet<(&str, &str)> = table.iter().map(|a| (a.method, a.path)).collect();
    assert_eq!(distinct.len(), table.len(), "a route is declared twice");
    for a in &table {
        concrete(a.method, a.path);
    }
}

#[tokio::test]
async fn every_route_allows_and_refuses_exactly_as_the_table_says() {
    let s = TestServer::start().await;
    let mut callers = Vec::new();
    for who in EVERYONE {
        callers.push((who, token_for(&s, who).await));
    }
    // Signing out ends the caller's session, and revoking s007's touches nobody here: last.
    let table = table();
    let mut routes: Vec<_> = table.iter().collect();
    routes.sort_by_key(|a| (a.method == "DELETE", a.path == "/api/v1/session"));
    let mut checked = 0;
    for route in routes {
        let (path, body) = concrete(route.method, route.path);
        for (who, token) in &callers {
            let method = reqwest::Method::from_bytes(route.method.as_bytes()).unwrap();
            let mut request = s.http.request(method, s.url(&path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = body {
                request = request.header("content-type", "application/json").body(body);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let what = format!("{} {path} by {who:?} (rule {:?})", route.method, route.rule);
            assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{what}");
            let denied = status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN;
            if expected_allowed(route.rule, route.method, *who) {
                assert!(!denied, "{what} should be allowed, got {status}: {:?}", response.text().await);
            } else {
                assert!(denied, "{what} should be refused, got {status}");
                let is_problem = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with(PROBLEM_CONTENT_TYPE));
                assert!(is_problem, "{what}: refusal is problem+json");
                let problem: Problem = response.json().await.unwrap();
                match who.unauthenticated_code() {
                    Some(code) => assert_eq!(problem.code, code, "{what}"),
                    None => assert_eq!(problem.code, "forbidden", "{what}"),
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, table.len() * EVERYONE.len());
    s.stop().await;
}

#[tokio::test]
async fn a_stolen_kiosk_token_issues_tickets_and_nothing_else() {
    let s = TestServer::start().await;
    let (id, kiosk) = device(&s, Role::Kiosk, None).await;
    assert_eq!(id, "kiosk-1");
    // What the table lets a kiosk do beyond its own session and the center's public description.
    let reach: Vec<String> = table()
        .iter()
        .filter(|a| !matches!(a.rule, Rule::Public | Rule::Anyone))
        .filter(|a| expected_allowed(a.rule, a.method, Who::Kiosk))
        .map(|a| format!("{} {}", a.method, a.path))
        .collect();
    assert_eq!(
        reach,
        [
            "POST /api/v1/queue/tickets",
            "POST /api/v1/kiosk/tickets",
            "GET /api/v1/appointments/slots",
            "POST /api/v1/appointments/check-in"
        ],
        "issue a ticket, or check in a booking"
    );
    // The ticket is issued, and is the kiosk's: identity from the session.
    let r = s
        .http
        .post(s.url("/api/v1/queue/tickets"))
        .bearer_auth(&kiosk)
        .json(&serde_json::json!({"category": "A"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let change: serde_json::Value = r.json().await.unwrap();
    assert_eq!(change["by"], "kiosk-1");
    // It follows no queue, sees no window, uploads no record, calls nobody.
    for path in ["/api/v1/queue", "/api/v1/queue/stats", "/api/v1/windows/1/overview", "/api/v1/guides"] {
        assert_eq!(s.get(path, &kiosk).await.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let r = s.http.post(s.url("/api/v1/windows/1/call-next")).bearer_auth(&kiosk).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A device never signs in with a password, whatever is tried.
    for password in ["bianmin-demo", &kiosk] {
        let body = serde_json::json!({"staff_id": "kiosk-1", "password": password});
        let r = s.http.post(s.url("/api/v1/session")).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "password {password:?}");
    }
    // A second kiosk is numbered after the first; an evaluator needs a window the center has.
    assert_eq!(device(&s, Role::Kiosk, None).await.0, "kiosk-2");
    let now = chrono::Utc::now();
    let store = s.state.store.as_ref();
    for (role, window) in [(Role::Evaluator, None), (Role::Evaluator, Some(99)), (Role::Display, Some(1))] {
        let e = server::admin::add_device(store, "t", role, window, now).await.unwrap_err();
        assert!(e.to_string().contains("窗口"), "{role:?} {window:?}: {e}");
    }
    s.stop().await;
}

#[tokio::test]
async fn a_stolen_online_channel_token_books_and_nothing_else() {
    let s = TestServer::start().await;
    let (id, online) = device(&s, Role::OnlineChannel, None).await;
    assert_eq!(id, "online-1");
    // What the table lets the channel do beyond its own session and the center's public
    // description: read the places left, book, cancel.
    let reach: Vec<String> = table()
        .iter()
        .filter(|a| !matches!(a.rule, Rule::Public | Rule::Anyone))
        .filter(|a| expected_allowed(a.rule, a.method, Who::OnlineChannel))
        .map(|a| format!("{} {}", a.method, a.path))
        .collect();
    assert_eq!(
        reach,
        ["GET /api/v1/appointments/free", "POST /api/v1/appointments", "POST /api/v1/appointments/cancel"],
        "free places, book, cancel"
    );
    // It issues no ticket, checks nobody in, follows no queue, reads no case, calls nobody.
    let post =
        |path: &'static str, body: serde_json::Value| s.http.post(s.url(path)).bearer_auth(&online).json(&body).send();
    for (path, body) in [
        ("/api/v1/queue/tickets", serde_json::json!({"category": "A"})),
        ("/api/v1/kiosk/tickets", serde_json::json!({"category": "A"})),
        ("/api/v1/appointments/check-in", serde_json::json!({"code": "123456"})),
        ("/api/v1/queue/tickets/A001/check-in", serde_json::json!({})),
        ("/api/v1/windows/1/call-next", serde_json::json!({})),
    ] {
        assert_eq!(post(path, body).await.unwrap().status(), StatusCode::FORBIDDEN, "{path}");
    }
    for path in ["/api/v1/queue", "/api/v1/queue/events", "/api/v1/windows/1/overview", "/api/v1/appointments/slots"] {
        assert_eq!(s.get(path, &online).await.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // It never signs in with a password.
    let body = serde_json::json!({"staff_id": "online-1", "password": online});
    let r = s.http.post(s.url("/api/v1/session")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Faces no window.
    let now = chrono::Utc::now();
    let e =
        server::admin::add_device(s.state.store.as_ref(), "t", Role::OnlineChannel, Some(1), now).await.unwrap_err();
    assert!(e.to_string().contains("窗口"), "{e}");
    s.stop().await;
}

#[tokio::test]
async fn the_guidance_desk_sees_no_case_or_applicant_data() {
    let s = TestServer::start().await;
    let desk = s.sign_in("d001").await;
    for path in ["/api/v1/windows/1/overview", "/api/v1/sync/status?window=1", "/api/v1/windows/1/handovers"] {
        assert_eq!(s.get(path, &desk).await.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let r = s.get("/api/v1/records?device=018f0000-0000-7000-8000-000000000000&stream=w1%2Fcases", &desk).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // What the desk may read carries no applicant fields.
    for path in ["/api/v1/queue", "/api/v1/center", "/api/v1/me", "/api/v1/queue/stats"] {
        let text = s.get(path, &desk).await.text().await.unwrap();
        for field in ["\"applicant\"", "\"id_number\"", "\"phone\""] {
            assert!(!text.contains(field), "{path} carries {field}");
        }
    }
    // The rules of the table for the desk, in words.
    assert!(ISSUERS.contains(&Role::GuidanceDesk) && !WINDOW_STAFF.contains(&Role::GuidanceDesk));
    s.stop().await;
}

#[tokio::test]
async fn a_route_missing_from_the_table_is_refused_not_served() {
    use axum::routing::get;
    let s = TestServer::start().await;
    let admin = s.sign_in("admin").await;
    async fn secret(_who: bianmin::server::auth::SignedIn) -> &'static str {
        "secret"
    }
    async fn at_window(_at: access::AtWindow) -> &'static str {
        "secret"
    }
    // A route added to the router after the declared ones: it has no rule, so its handler's
    // extractors refuse.
    let declared = vec![access::route(access::Method::Get, "/healthz", Rule::Public, || async { "ok" })];
    let guarded = access::build(declared, s.state.clone())
        .route("/api/v1/after-the-guard", get(secret))
        .route("/api/v1/windows/{number}/after", get(at_window))
        .with_state(s.state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, guarded).await });
    for path in ["/api/v1/after-the-guard", "/api/v1/windows/1/after"] {
        let r = s.http.get(format!("{base}{path}")).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        let p: Problem = r.json().await.unwrap();
        assert_eq!(p.code, "no_access_rule", "{path}");
    }
    task.abort();
    s.stop().await;
}

/// Records as a dishonest caller would upload them (issue 12): identity comes from the session.
mod forgery {
    use super::*;
    use bianmin::api::RecordEnvelope;
    use bianmin::api::accounts::AuditEntry;
    use bianmin::domain::center::Post;
    use bianmin::domain::handover::{AwayReason, HandoverDraft, HandoverKind, WindowAtHandover, handover_from};
    use bianmin::domain::inquiry::{Inquiry, InquiryOutcome};
    use bianmin::domain::intake::{self, Opening};
    use bianmin::domain::notice::OneTimeNotice;
    use bianmin::domain::rating::{Rating, RatingLevel, TicketRating};
    use bianmin::domain::record::{RecordBody, Visit, stream_name};
    use chrono::Utc;
    use uuid::Uuid;

    /// One record of every kind at `window`, saying `acting` did it.
    async fn every_kind(s: &TestServer, window: u32, acting: &str) -> Vec<RecordBody> {
        let windows = s.state.store.windows().await.unwrap();
        let w = windows.iter().find(|w| w.number == 1).unwrap();
        let mut w = w.clone();
        w.number = window;
        w.a_holder = acting.into();
        let at = WindowAtHandover { window: &w, open_cases: &[], tickets: &[] };
        let draft =
            HandoverDraft { reason: Some(AwayReason::Meeting), notes: "去开会".into(), ..HandoverDraft::default() };
        let handover = handover_from(&at, HandoverKind::AToB, acting, draft, Uuid::now_v7(), Utc::now()).unwrap();
        let guide =
            bianmin::assets::bundled_catalogue().unwrap().guides.into_iter().find(|g| g.situations.is_empty()).unwrap();
        let opening = Opening { window, post: Post::A, staff_id: acting, ticket: None };
        let case = intake::open_case(&guide, None, &opening, Uuid::now_v7(), Utc::now()).unwrap();
        vec![
            RecordBody::Visit(Visit { paper_ticket: String::new(), note: "咨询".into() }),
            RecordBody::NoticeGiven(Box::new(OneTimeNotice {
                id: Uuid::now_v7(),
                number: "GZ01-20261205-0001".into(),
                case_id: case.id,
                missing: Vec::new(),
                given_at: Utc::now(),
                given_by: acting.into(),
                window,
                repeat_reason: None,
            })),
            RecordBody::CaseSnapshot(Box::new(case)),
            RecordBody::HandoverAcknowledged {
                handover_id: handover.id,
                by: acting.into(),
                at: Utc::now(),
                note: String::new(),
            },
            RecordBody::HandoverWritten(Box::new(handover)),
            RecordBody::RatingRecorded(Box::new(Rating {
                id: Uuid::now_v7(),
                window,
                staff: acting.into(),
                case_id: None,
                level: RatingLevel::VerySatisfied,
                comment: String::new(),
                rated_at: Utc::now(),
                day: None,
                reply: None,
            })),
            RecordBody::TicketRated(Box::new(TicketRating {
                id: Uuid::now_v7(),
                ticket_id: Uuid::now_v7(),
                window,
                level: RatingLevel::VerySatisfied,
                reason: String::new(),
            })),
            RecordBody::InquiryRecorded(Box::new(Inquiry {
                id: Uuid::now_v7(),
                question: "社保卡怎么补办".into(),
                guide_code: None,
                outcome: InquiryOutcome::Answered,
                first_responder: acting.into(),
                asked_at: Utc::now(),
            })),
        ]
    }

    fn record(window: u32, author: &str, body: &RecordBody) -> RecordEnvelope {
        RecordEnvelope {
            schema: bianmin::api::RECORD_SCHEMA,
            device: Uuid::now_v7(),
            stream: stream_name(window, body.family()),
            idx: 1,
            id: Uuid::now_v7(),
            created_at: Utc::now(),
            author: author.into(),
            window,
            post: Post::A,
            body: serde_json::to_value(body).unwrap(),
        }
    }

    async fn upload(s: &TestServer, token: &str, records: Vec<RecordEnvelope>) -> reqwest::Response {
        let body = serde_json::json!({ "records": records });
        s.http.post(s.url("/api/v1/records")).bearer_auth(token).json(&body).send().await.unwrap()
    }

    async fn refused(r: reqwest::Response, what: &str) {
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{what}");
        let problem: Problem = r.json().await.unwrap();
        assert_eq!(problem.code, "forbidden", "{what}");
        assert!(!problem.errors.is_empty(), "{what}: the refusal names the record");
    }

    async fn refusals_audited(s: &TestServer) -> Vec<AuditEntry> {
        let admin = s.sign_in("admin").await;
        let trail: Vec<AuditEntry> = s.get("/api/v1/audit?limit=1000", &admin).await.json().await.unwrap();
        trail.into_iter().filter(|e| e.action == "record_refused").collect()
    }

    #[tokio::test]
    async fn every_kind_of_record_forged_by_every_kind_of_caller_is_refused_and_audited() {
        let s = TestServer::start().await;
        // Each caller at a window where they may write records; the desk at its own log.
        let callers = [("s001", 1), ("s002", 1), ("s003", 2), ("d001", 0), ("admin", 1)];
        let mut forged = 0;
        for (caller, window) in callers {
            let token = s.sign_in(caller).await;
            // Written by someone who never had a session on the device.
            for body in every_kind(&s, window, "s007").await {
                let what = format!("{caller} uploads {:?} by s007", body.family());
                refused(upload(&s, &token, vec![record(window, "s007", &body)]).await, &what).await;
                forged += 1;
            }
            // Their own record saying someone else acted.
            for body in every_kind(&s, window, "s007").await {
                if matches!(body, RecordBody::Visit(_) | RecordBody::CaseSnapshot(_)) {
                    continue;
                }
                let what = format!("{caller} uploads {:?} saying s007 acted", body.family());
                refused(upload(&s, &token, vec![record(window, caller, &body)]).await, &what).await;
                forged += 1;
            }
            // The honest record is taken.
            let honest = RecordBody::Visit(Visit { paper_ticket: String::new(), note: "咨询".into() });
            let r = upload(&s, &token, vec![record(window, caller, &honest)]).await;
            assert_eq!(r.status(), StatusCode::OK, "{caller}'s own walk-in");
        }
        // Counted per caller, window and minute (a flood adds no line per record).
        let counted: u32 = refusals_audited(&s).await.iter().map(|e| e.count).sum();
        assert_eq!(counted as usize, forged, "every refusal is in the audit trail");
        s.stop().await;
    }

    #[tokio::test]
    async fn the_forgeries_of_issue_12_are_refused() {
        let s = TestServer::start().await;
        let s001 = s.sign_in("s001").await;
        let s002 = s.sign_in("s002").await;
        // A walk-in "by admin" in 2020, as B.
        let walk_in = RecordBody::Visit(Visit { paper_ticket: String::new(), note: "x".into() });
        let mut backdated = record(1, "admin", &walk_in);
        backdated.post = Post::B;
        backdated.created_at = "2020-01-01T00:00:00Z".parse().unwrap();
        refused(upload(&s, &s001, vec![backdated]).await, "a backdated walk-in by admin").await;
        let overview: serde_json::Value = s.get("/api/v1/windows/1/overview", &s001).await.json().await.unwrap();
        assert_eq!(overview["walk_ins_today"], 0, "nothing of it was stored");
        let refusal = refusals_audited(&s).await;
        assert_eq!((refusal[0].staff_id.as_str(), refusal[0].window), ("s001", Some(1)), "audited as s001's");

        // A acknowledges "as B".
        let bodies = every_kind(&s, 1, "s001").await;
        let RecordBody::HandoverWritten(handover) = &bodies[4] else { panic!("{:?}", bodies[4]) };
        let by_b = RecordBody::HandoverAcknowledged {
            handover_id: handover.id,
            by: "s002".into(),
            at: Utc::now(),
            note: "收到".into(),
        };
        refused(upload(&s, &s001, vec![record(1, "s001", &by_b)]).await, "A acknowledging as B").await;
        // A acknowledging A's own handover, once the server holds it.
        let a_to_b = RecordBody::HandoverWritten(handover.clone());
        assert_eq!(upload(&s, &s001, vec![record(1, "s001", &a_to_b)]).await.status(), StatusCode::OK);
        let by_a = RecordBody::HandoverAcknowledged {
            handover_id: handover.id,
            by: "s001".into(),
            at: Utc::now(),
            note: "自己确认".into(),
        };
        refused(upload(&s, &s001, vec![record(1, "s001", &by_a)]).await, "A acknowledging A's handover").await;
        let b_acks = RecordBody::HandoverAcknowledged {
            handover_id: handover.id,
            by: "s002".into(),
            at: Utc::now(),
            note: "收到".into(),
        };
        assert_eq!(
            upload(&s, &s002, vec![record(1, "s002", &b_acks)]).await.status(),
            StatusCode::OK,
            "B acknowledges"
        );
        // B covers now; hand the window back so that the rest finds A on duty.
        let back = serde_json::json!({"state": "A岗在岗"});
        let r = s.http.put(s.url("/api/v1/windows/1/duty")).bearer_auth(&s002).json(&back).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);

        // B uploads an A to B handover "written by A": refused, duty unchanged, B still cannot call.
        refused(upload(&s, &s002, vec![record(1, "s002", &bodies[4])]).await, "B writing A's handover").await;
        let mut not_emergency = (**handover).clone();
        not_emergency.written_by = "s002".into();
        let body = RecordBody::HandoverWritten(Box::new(not_emergency));
        refused(upload(&s, &s002, vec![record(1, "s002", &body)]).await, "B taking over unmarked").await;
        let r = s.http.post(s.url("/api/v1/windows/1/call-next")).bearer_auth(&s002).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "B is not covering");

        // s005 (window 4) overwrites a window-1 case through its own window's log.
        let RecordBody::CaseSnapshot(case) = &bodies[2] else { panic!() };
        let r = upload(&s, &s001, vec![record(1, "s001", &bodies[2])]).await;
        assert_eq!(r.status(), StatusCode::OK, "window 1 opens its case");
        let mut hijacked = (**case).clone();
        hijacked.window = 4;
        let s005 = s.sign_in("s005").await;
        let body = RecordBody::CaseSnapshot(Box::new(hijacked));
        refused(upload(&s, &s005, vec![record(4, "s005", &body)]).await, "window 4 rewriting window 1's case").await;
        assert_eq!(s.state.store.open_cases(1).await.unwrap().len(), 1, "the case stays at window 1");
        s.stop().await;
    }

    #[tokio::test]
    async fn what_another_clerk_wrote_on_the_same_pc_keeps_its_author_only_if_they_were_signed_in_there() {
        let s = TestServer::start().await;
        let (s001, s002) = (s.sign_in("s001").await, s.sign_in("s002").await);
        let walk_in = RecordBody::Visit(Visit { paper_ticket: String::new(), note: "x".into() });
        let by_a = record(1, "s001", &walk_in);
        refused(upload(&s, &s002, vec![by_a.clone()]).await, "s001 never signed in on this PC").await;
        // A's terminal on this PC names its device when it syncs: A had a session here.
        let status = format!("/api/v1/sync/status?window=1&device={}", by_a.device);
        assert_eq!(s.get(&status, &s001).await.status(), StatusCode::OK);
        assert_eq!(upload(&s, &s002, vec![by_a]).await.status(), StatusCode::OK, "B uploads what A wrote here");
        s.stop().await;
    }
}

#[test]
fn the_director_reads_the_center_and_writes_only_follow_up_steps() {
    let writes: Vec<String> = table()
        .iter()
        .filter(|a| a.method != "GET" && !matches!(a.rule, Rule::Public | Rule::Anyone))
        .filter(|a| expected_allowed(a.rule, a.method, Who::Director))
        .map(|a| format!("{} {}", a.method, a.path))
        .collect();
    assert_eq!(writes, ["POST /api/v1/follow-ups/{rating_id}/steps"]);
    let reads_refused: Vec<&str> = table()
        .iter()
        .filter(|a| a.method == "GET" && !expected_allowed(a.rule, a.method, Who::Director))
        .map(|a| a.path)
        .collect();
    // The evaluator's view is the applicant's, and the audit trail the admin's (and the
    // county admin's, of any center).
    assert_eq!(reads_refused, ["/api/v1/windows/{number}/facing", "/api/v1/audit", "/api/v1/centers/{center}/audit"]);
}

/// Issue #18, step 4: the county admin (县级管理员, an account of no center) and the admin of
/// another center, on every route whose rule names them or depends on the caller's center (the
/// catalogue's). The county admin reads the catalogue and changes it and every center's overlay;
/// another center's admin reads it, and changes neither this center's overlay nor, now that the
/// county has its admin, the county catalogue.
mod county_and_another_center {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Caller {
        CountyAdmin,
        AdminOfAnotherCenter,
    }

    /// Of the catalogue's routes (two reads, two changes) and the county admin's calls on a
    /// chosen center (the path names this center).
    fn expected_allowed(route: &Access, caller: Caller) -> bool {
        match caller {
            Caller::CountyAdmin => true,
            Caller::AdminOfAnotherCenter => route.rule != Rule::County && route.method == "GET",
        }
    }

    #[tokio::test]
    async fn the_catalogue_routes_as_the_county_admin_and_another_centers_admin() {
        let s = TestServer::start().await;
        let home = s.state.store.center().await.unwrap().unwrap();
        let other = bianmin::domain::center::Center { id: "baishui".into(), ..home };
        let pool = sqlx::SqlitePool::connect(&s.db_url).await.unwrap();
        sqlx::query("INSERT INTO center (id, body) VALUES (?, ?)")
            .bind(&other.id)
            .bind(serde_json::to_string(&other).unwrap())
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let store = s.state.store.as_ref();
        let now = chrono::Utc::now();
        let add = |id: &'static str, center: Option<&'static str>, role| async move {
            server::admin::add_staff_in(store, "命令行:test", center, id, "测试", role, common::server::PASSWORD, now)
                .await
                .unwrap();
        };
        add("county", None, Role::CountyAdmin).await;
        add("badmin", Some("baishui"), Role::Admin).await;
        let callers = [
            (Caller::CountyAdmin, crate::overlays::session(&s, "county").await),
            (Caller::AdminOfAnotherCenter, crate::overlays::session(&s, "badmin").await),
        ];
        let routes: Vec<Access> = table()
            .into_iter()
            .filter(|a| a.path.starts_with("/api/v1/guides") || a.path.starts_with("/api/v1/centers/"))
            .collect();
        assert_eq!(routes.len(), 9, "{routes:?}");
        assert_eq!(routes.iter().filter(|a| a.rule == Rule::County).count(), 5, "{routes:?}");
        for route in routes {
            let (path, body) = concrete(route.method, route.path);
            for (caller, token) in &callers {
                let method = reqwest::Method::from_bytes(route.method.as_bytes()).unwrap();
                let mut request = s.http.request(method, s.url(&path)).bearer_auth(token);
                if let Some(body) = body {
                    request = request.header("content-type", "application/json").body(body);
                }
                let response = request.send().await.unwrap();
                let status = response.status();
                let what = format!("{} {path} by {caller:?}", route.method);
                assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{what}");
                let denied = status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN;
                if expected_allowed(&route, *caller) {
                    assert!(!denied, "{what} should be allowed, got {status}: {:?}", response.text().await);
                } else {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{what} should be refused");
                    let problem: Problem = response.json().await.unwrap();
                    assert_eq!(problem.code, "forbidden", "{what}");
                }
            }
        }
        s.stop().await;
    }
}

/// "Another center" as a caller: a clerk of a second center, on duty at their own window, calls
/// every route with this center's window, ticket and ids in the path. Nothing of this center
/// reaches them, and nothing of this center changes.
#[tokio::test]
async fn a_clerk_of_another_center_reaches_nothing_of_this_one() {
    use crate::two_centers::{add_second_center, staff_b};
    let s = TestServer::start().await;
    let here = common::server::signed_in_client(&s.base, "s001").await;
    let ticket = here
        .issue_ticket(&bianmin::api::queue::IssueTicket::new('A'))
        .await
        .unwrap()
        .ticket
        .expect("the change carries its ticket");
    assert_eq!(ticket.number.to_string(), "A001", "the number the matrix's paths name");
    let before = here.queue().await.unwrap();
    add_second_center(&s).await;
    let token = s.sign_in(&staff_b("s001")).await;
    let table = table();
    let mut routes: Vec<_> = table.iter().collect();
    routes.sort_by_key(|a| (a.method == "DELETE", a.path == "/api/v1/session"));
    for route in routes {
        let (path, body) = concrete(route.method, route.path);
        let method = reqwest::Method::from_bytes(route.method.as_bytes()).unwrap();
        let mut request = s.http.request(method, s.url(&path)).bearer_auth(&token);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let what = format!("{} {path} by another center's clerk", route.method);
        let text = if path == "/api/v1/queue/events" {
            // The feed never ends: its first event (the other center's snapshot) is enough.
            first_event(response).await
        } else {
            response.text().await.unwrap()
        };
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{what}: {text}");
        if path.starts_with("/api/v1/windows/1/") {
            // Window 1 is this center's: the other center has no such window.
            assert!(status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN, "{what}: {status} {text}");
        }
        assert!(!text.contains(&ticket.id.to_string()), "{what} shows this center's ticket: {text}");
    }
    let after = here.queue().await.unwrap();
    assert_eq!(after.rev, before.rev, "nothing the other center's clerk did changed this center's queue");
    assert_eq!(after.tickets, before.tickets);
    s.stop().await;
}

/// The first event of a live feed.
async fn first_event(mut r: reqwest::Response) -> String {
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(20), r.chunk()).await.unwrap().unwrap();
        let Some(chunk) = chunk else { break };
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    text
}

/// A county account (no center) is refused on a center's routes, with a message saying why.
#[tokio::test]
async fn a_county_account_is_refused_on_center_routes() {
    let s = TestServer::start().await;
    let hash = bianmin::server::auth::hash_password(common::server::PASSWORD);
    let pool = sqlx::SqlitePool::connect(&s.db_url).await.unwrap();
    sqlx::query("INSERT INTO staff (id, name, role, active, password_hash, center_id) VALUES (?, ?, ?, 1, ?, NULL)")
        .bind("county-1")
        .bind("县级管理员")
        .bind(Role::Admin.label())
        .bind(&hash)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let token = s.sign_in("county-1").await;
    for path in ["/api/v1/center", "/api/v1/board", "/api/v1/audit"] {
        let r = s.get(path, &token).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        let problem: Problem = r.json().await.unwrap();
        assert!(problem.title.contains("县级账号"), "{path}: {}", problem.title);
    }
    let r = s.get("/api/v1/me", &token).await;
    assert_eq!(r.status(), StatusCode::OK, "a county account still knows who it is");
    s.stop().await;
}
