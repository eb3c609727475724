//! Issue #18's county deployment, the admins' side: a center's admin learns nothing of another
//! center's staff from the answers of the routes that name a staff id, and the county admin
//! (县级管理员: clerks are staffed by the county, clause 5.1.1.1) manages any center's roster,
//! appointment slots and accounts over the county routes (`/api/v1/centers/{center}/...`).

use crate::common;
use crate::overlays::session;
use crate::two_centers::{CENTER_B, WINDOW_OFFSET, add_second_center, staff_b};

use bianmin::api::Problem;
use bianmin::domain::staff::Role;
use bianmin::server;
use common::server::TestServer;
use reqwest::StatusCode;

/// Status, code and title of a reply: what a caller can tell replies apart by.
async fn answer(r: reqwest::Response) -> (StatusCode, String, String) {
    let status = r.status();
    let text = r.text().await.unwrap();
    match serde_json::from_str::<Problem>(&text) {
        Ok(p) => (status, p.code, p.title),
        Err(_) => (status, String::new(), text),
    }
}

#[tokio::test]
async fn a_center_admin_gets_the_same_answer_for_another_centers_staff_and_for_nobody() {
    let s = TestServer::start().await;
    add_second_center(&s).await;
    let other = staff_b("s004");
    let others_session = session(&s, &other).await;
    let admin = session(&s, "admin").await;
    for pattern in ["/api/v1/sessions/{}", "/api/v1/staff/{}/lock"] {
        let call = |id: &str| s.http.delete(s.url(&pattern.replace("{}", id))).bearer_auth(&admin).send();
        let of_other_center = answer(call(&other).await.unwrap()).await;
        let of_nobody = answer(call("nobody-here").await.unwrap()).await;
        assert_eq!(of_other_center.0, StatusCode::NOT_FOUND, "{pattern}: {of_other_center:?}");
        assert_eq!(of_other_center, of_nobody, "{pattern}: another center's id answers as one nobody has");
        // This center's own staff are still found.
        let own = answer(call("s004").await.unwrap()).await;
        assert_eq!(own.0, StatusCode::OK, "{pattern}: {own:?}");
    }
    let r = s.get("/api/v1/me", &others_session).await;
    assert_eq!(r.status(), StatusCode::OK, "the other center's session was not touched");
    // The county's trail says which it was; this center's trail (its admin reads it) does not.
    let county = s.state.store.for_county().audit_trail(100, None).await.unwrap();
    let line = |action: &str, id: &str| county.iter().any(|e| e.action == action && e.target_id == id);
    assert!(line("refused:staff_of_another_center", &other), "{county:?}");
    assert!(line("refused:staff_unknown", "nobody-here"), "{county:?}");
    let own: Vec<bianmin::api::accounts::AuditEntry> = s.get("/api/v1/audit", &admin).await.json().await.unwrap();
    assert!(!own.iter().any(|e| e.target_id == other || e.target_id == "nobody-here"), "{own:?}");
    s.stop().await;
}

#[tokio::test]
async fn the_county_admin_manages_any_centers_roster_slots_and_accounts() {
    let s = TestServer::start().await;
    add_second_center(&s).await;
    let store = s.state.store.as_ref();
    let now = chrono::Utc::now();
    server::admin::add_staff_in(
        store,
        "命令行:test",
        None,
        "county",
        "县管",
        Role::CountyAdmin,
        common::server::PASSWORD,
        now,
    )
    .await
    .unwrap();
    let county = session(&s, "county").await;
    let home = store.center().await.ok().flatten().map(|c| c.id);
    let home = home.unwrap_or_else(|| "qingshi".into());
    let send = |method: reqwest::Method, path: String, token: String, body: Option<&'static str>| {
        let mut r = s.http.request(method, s.url(&path)).bearer_auth(token);
        if let Some(body) = body {
            r = r.header("content-type", "application/json").body(body);
        }
        r.send()
    };
    let (a, b) = (staff_b("s001"), staff_b("s007"));
    let holders: &'static str = Box::leak(format!(r#"{{"a_holder": "{a}", "b_holder": "{b}"}}"#).into_boxed_str());
    let window = 1 + WINDOW_OFFSET;

    // The second center's roster, by the county admin.
    let path = format!("/api/v1/centers/{CENTER_B}/windows/{window}/holders");
    let r = send(reqwest::Method::PUT, path.clone(), county.clone(), Some(holders)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    let w = store.for_center(CENTER_B).windows().await.unwrap().into_iter().find(|w| w.number == window).unwrap();
    assert_eq!((w.a_holder.as_str(), w.b_holder.as_str()), (a.as_str(), b.as_str()));
    // Its staff are not the first center's clerks.
    let r =
        send(reqwest::Method::PUT, format!("/api/v1/centers/{home}/windows/1/holders"), county.clone(), Some(holders));
    let refused = answer(r.await.unwrap()).await;
    assert!(refused.0.is_client_error() && refused.0 != StatusCode::FORBIDDEN, "{refused:?}");
    let first = store.for_center(&home).windows().await.unwrap().into_iter().find(|w| w.number == 1).unwrap();
    assert_ne!(first.a_holder, a, "nothing changed in the first center");

    // Its appointment slots.
    let slots = r#"{"slots": [{"category": "A", "start": "09:00:00", "end": "10:00:00", "capacity": 3}]}"#;
    let r = send(
        reqwest::Method::PUT,
        format!("/api/v1/centers/{CENTER_B}/appointments/slots/A"),
        county.clone(),
        Some(slots),
    );
    let put = answer(r.await.unwrap()).await;
    assert_eq!(put.0, StatusCode::OK, "{put:?}");
    let plans_b = server::service::queue::slot_plans(store.for_center(CENTER_B).as_ref()).await.unwrap();
    let plans_home = server::service::queue::slot_plans(store.for_center(&home).as_ref()).await.unwrap();
    assert_eq!(plans_b.len(), 1, "{plans_b:?}");
    assert_ne!(plans_b, plans_home, "the first center's slots are its own");

    // A device's (or anyone's) sessions end, in its own center only.
    let device = session(&s, &staff_b("s004")).await;
    let r = send(
        reqwest::Method::DELETE,
        format!("/api/v1/centers/{home}/sessions/{}", staff_b("s004")),
        county.clone(),
        None,
    );
    assert_eq!(r.await.unwrap().status(), StatusCode::NOT_FOUND, "not an account of the first center");
    let r = send(
        reqwest::Method::DELETE,
        format!("/api/v1/centers/{CENTER_B}/sessions/{}", staff_b("s004")),
        county.clone(),
        None,
    );
    assert_eq!(r.await.unwrap().status(), StatusCode::OK);
    assert_eq!(s.get("/api/v1/me", &device).await.status(), StatusCode::UNAUTHORIZED, "its session ended");
    let r = send(
        reqwest::Method::DELETE,
        format!("/api/v1/centers/{CENTER_B}/staff/{}/lock", staff_b("s004")),
        county.clone(),
        None,
    );
    assert_eq!(r.await.unwrap().status(), StatusCode::OK);
    // The center's own trail says who changed its accounts.
    let r = send(reqwest::Method::GET, format!("/api/v1/centers/{CENTER_B}/audit"), county.clone(), None);
    let r = r.await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let trail: Vec<bianmin::api::accounts::AuditEntry> = r.json().await.unwrap();
    for action in ["sessions_revoked", "sign_in_unlocked"] {
        let by_county = |e: &&bianmin::api::accounts::AuditEntry| e.action == action && e.staff_id == "county";
        assert!(trail.iter().find(by_county).is_some_and(|e| e.target_id == staff_b("s004")), "{action}: {trail:?}");
    }
    // Its roster change too, once (the refused one on the first center wrote no line there).
    let roster: Vec<_> = trail.iter().filter(|e| e.action == "roster_set").collect();
    assert_eq!(roster.len(), 1, "{trail:?}");
    assert_eq!(
        (roster[0].staff_id.as_str(), roster[0].window, roster[0].target_id.clone()),
        ("county", Some(window), format!("{window}: A岗 {a}, B岗 {b}"))
    );
    let home_trail = store.for_center(&home).audit_trail(500, None).await.unwrap();
    assert!(!home_trail.iter().any(|e| e.action == "roster_set"), "{home_trail:?}");

    // A center that does not exist; and the county routes are the county admin's only.
    let r = send(reqwest::Method::GET, "/api/v1/centers/nowhere/audit".into(), county.clone(), None);
    let missing = answer(r.await.unwrap()).await;
    assert_eq!(missing.0, StatusCode::NOT_FOUND, "{missing:?}");
    assert!(missing.2.contains("没有代码为 nowhere 的中心"), "{missing:?}");
    for admin in ["admin".to_owned(), staff_b("admin")] {
        let token = session(&s, &admin).await;
        let r = send(reqwest::Method::GET, format!("/api/v1/centers/{CENTER_B}/audit"), token, None);
        let refused = answer(r.await.unwrap()).await;
        assert_eq!(refused.0, StatusCode::FORBIDDEN, "{admin}: {refused:?}");
        assert!(refused.2.contains("县级管理员"), "{refused:?}");
    }
    s.stop().await;
}
