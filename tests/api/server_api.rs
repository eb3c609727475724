//! The server over real HTTP on an ephemeral loopback port, with a real SQLite file.

use crate::common;

use std::sync::atomic::Ordering;

use bianmin::api::{CenterInfo, GuideChanges, Me, PROBLEM_CONTENT_TYPE, Problem, VERSION_HEADER, WindowOverview};
use bianmin::client::{ApiClient, ClientError};
use bianmin::config::NetworkSettings;
use bianmin::domain::center::Post;
use common::server::{PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::json;

/// Asserts a problem+json reply and returns it.
async fn problem(r: reqwest::Response, status: StatusCode, code: &str) -> Problem {
    assert_eq!(r.status(), status);
    assert_eq!(r.headers()[VERSION_HEADER], "1.0", "every reply carries the API version");
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with(PROBLEM_CONTENT_TYPE));
    let p: Problem = r.json().await.unwrap();
    assert_eq!(p.code, code);
    assert_eq!(p.status, status.as_u16());
    assert!(p.title.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "title is Chinese: {}", p.title);
    p
}

#[tokio::test]
async fn health_needs_no_sign_in_and_carries_the_api_version() {
    let s = TestServer::start().await;
    let r = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[VERSION_HEADER], "1.0");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    s.stop().await;
}

#[tokio::test]
async fn every_route_but_health_needs_a_token() {
    let s = TestServer::start().await;
    for path in
        ["/api/v1/me", "/api/v1/center", "/api/v1/guides", "/api/v1/guides/HB-QS-0001", "/api/v1/windows/1/overview"]
    {
        let r = s.http.get(s.url(path)).send().await.unwrap();
        problem(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let r = s.get(path, "not-a-real-token").await;
        problem(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let r = s.http.delete(s.url("/api/v1/session")).send().await.unwrap();
    problem(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    s.stop().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_staff_get_the_same_answer() {
    let s = TestServer::start().await;
    for (id, pw) in [("s001", "wrong"), ("nobody", PASSWORD)] {
        let r =
            s.http.post(s.url("/api/v1/session")).json(&json!({"staff_id": id, "password": pw})).send().await.unwrap();
        let p = problem(r, StatusCode::UNAUTHORIZED, "wrong_credentials").await;
        assert_eq!(p.title, "工号或密码不正确");
    }
    let r = s.http.post(s.url("/api/v1/session")).json(&json!({"staff_id": " ", "password": ""})).send().await.unwrap();
    let p = problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let fields: Vec<_> = p.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["staff_id", "password"], "every problem is reported at once");
    s.stop().await;
}

#[tokio::test]
async fn signed_in_clerk_reads_center_catalogue_and_own_window() {
    let s = TestServer::start().await;
    let token = s.sign_in("s001").await;
    let me: Me = s.get("/api/v1/me", &token).await.json().await.unwrap();
    assert_eq!(me.staff.name, "王丽");
    assert_eq!((me.posts[0].window, me.posts[0].post), (1, Post::A));

    let center: CenterInfo = s.get("/api/v1/center", &token).await.json().await.unwrap();
    assert_eq!(center.center.name, "青石镇便民服务中心");
    assert_eq!(center.windows.len(), 6);

    let all: GuideChanges = s.get("/api/v1/guides?since=0", &token).await.json().await.unwrap();
    assert_eq!(all.guides.len(), 91);
    assert_eq!(all.seq, 91);
    let none: GuideChanges = s.get(&format!("/api/v1/guides?since={}", all.seq), &token).await.json().await.unwrap();
    assert!(none.guides.is_empty(), "nothing changed since the latest sequence");
    let tail: GuideChanges = s.get("/api/v1/guides?since=90", &token).await.json().await.unwrap();
    assert_eq!(tail.guides.len(), 1);

    let code = &all.guides[0].code;
    let one: serde_json::Value = s.get(&format!("/api/v1/guides/{code}"), &token).await.json().await.unwrap();
    assert_eq!(&one["code"], code.as_str());
    problem(s.get("/api/v1/guides/NO-SUCH", &token).await, StatusCode::NOT_FOUND, "not_found").await;

    let overview: WindowOverview = s.get("/api/v1/windows/1/overview", &token).await.json().await.unwrap();
    assert_eq!(overview.a_holder.name, "王丽");
    assert_eq!(overview.b_holder.name, "李强");
    assert_eq!(overview.waiting, 0);
    assert!(overview.open_cases.is_empty());
    assert_eq!(overview.catalogue_seq, 91);
    s.stop().await;
}

#[tokio::test]
async fn a_clerk_cannot_read_another_windows_cases_but_an_admin_can() {
    let s = TestServer::start().await;
    let clerk = s.sign_in("s001").await;
    problem(s.get("/api/v1/windows/4/overview", &clerk).await, StatusCode::FORBIDDEN, "forbidden").await;
    let desk = s.sign_in("d001").await;
    problem(s.get("/api/v1/windows/1/overview", &desk).await, StatusCode::FORBIDDEN, "forbidden").await;
    let admin = s.sign_in("admin").await;
    assert_eq!(s.get("/api/v1/windows/4/overview", &admin).await.status(), StatusCode::OK);
    problem(s.get("/api/v1/windows/99/overview", &admin).await, StatusCode::NOT_FOUND, "not_found").await;
    s.stop().await;
}

#[tokio::test]
async fn bad_requests_get_problem_json() {
    let s = TestServer::start().await;
    let post = |body: &'static str, content_type: &'static str| {
        s.http.post(s.url("/api/v1/session")).header("content-type", content_type).body(body).send()
    };
    problem(post("{not json", "application/json").await.unwrap(), StatusCode::BAD_REQUEST, "malformed_json").await;
    problem(post("{}", "text/plain").await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
        .await;
    problem(
        post(r#"{"staff_id": 7, "password": []}"#, "application/json").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;
    let huge = format!(r#"{{"staff_id": "s001", "password": "{}"}}"#, "x".repeat(100 * 1024));
    let r = s
        .http
        .post(s.url("/api/v1/session"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let r = s
        .http
        .post(s.url("/api/v1/session"))
        .json(&json!({"staff_id": "s001", "password": "p".repeat(500)}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    problem(s.http.get(s.url("/api/v1/nothing-here")).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
    problem(
        s.http.put(s.url("/api/v1/session")).send().await.unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn sessions_expire_and_sign_out_revokes() {
    let s = TestServer::start().await;
    let token = s.sign_in("s001").await;
    assert_eq!(s.get("/api/v1/me", &token).await.status(), StatusCode::OK);
    s.clock.0.fetch_add(13 * 3600, Ordering::SeqCst);
    let p = problem(s.get("/api/v1/me", &token).await, StatusCode::UNAUTHORIZED, "session_expired").await;
    assert_eq!(p.title, "登录已过期，请重新登录");

    let token = s.sign_in("s001").await;
    let r = s.http.delete(s.url("/api/v1/session")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    problem(s.get("/api/v1/me", &token).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    s.stop().await;
}

#[tokio::test]
async fn a_restarted_server_keeps_its_data_and_does_not_reseed() {
    let s = TestServer::start().await;
    let token = s.sign_in("s002").await;
    let db_url = s.db_url.clone();
    let dir = s.stop().await;
    let s = TestServer::start_on(&db_url).await;
    let me: Me = s.get("/api/v1/me", &token).await.json().await.unwrap();
    assert_eq!(me.staff.id, "s002", "the session survived the restart");
    let all: GuideChanges = s.get("/api/v1/guides", &token).await.json().await.unwrap();
    assert_eq!((all.guides.len(), all.seq), (91, 91), "not seeded a second time");
    s.stop().await;
    drop(dir);
}

#[tokio::test]
async fn the_client_signs_in_and_reads_over_http() {
    let s = TestServer::start().await;
    let mut client = s.client();
    assert!(client.health().await.is_ok());
    let e = client.window_overview(1).await.unwrap_err();
    assert_eq!(e.problem_code(), Some("unauthorized"));
    assert_eq!(e.to_string(), "请先登录");
    let wrong = client.sign_in("s001", "nope").await.unwrap_err();
    assert_eq!(wrong.to_string(), "工号或密码不正确");
    let me = client.sign_in("s001", PASSWORD).await.unwrap();
    assert_eq!(me.posts[0].window, 1);
    let overview = client.window_overview(1).await.unwrap();
    assert_eq!(overview.window.name, "综合受理一号窗");
    let changes = client.guides_since(0).await.unwrap();
    let guide = client.guide(&changes.guides[5].code).await.unwrap();
    assert_eq!(guide, changes.guides[5]);
    client.sign_out().await.unwrap();
    assert!(!client.is_signed_in());
    s.stop().await;
}

#[tokio::test]
async fn an_unreachable_server_is_offline_not_an_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = ApiClient::new(&format!("http://{addr}"), &NetworkSettings::default()).unwrap();
    let e = client.health().await.unwrap_err();
    assert!(e.is_offline(), "{e:?}");
    assert_eq!(e.to_string(), "无法连接服务器");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // Accepts connections and then says nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let network = NetworkSettings { connect_timeout_ms: 500, request_timeout_ms: 500, ..NetworkSettings::default() };
    let client = ApiClient::new(&format!("http://{addr}"), &network).unwrap();
    let e = client.health().await.unwrap_err();
    assert_eq!(e, ClientError::Timeout);
    assert!(e.is_offline());
    hold.abort();
}

/// A fake peer that answers every request with fixed bytes: what a broken proxy or a
/// half-written reply looks like to the client.
async fn fake_peer(reply: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let _ = socket.write_all(reply.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn malformed_and_foreign_replies_are_errors_not_panics() {
    type Check = fn(&ClientError) -> bool;
    let cases: [(&str, Check); 5] = [
        (
            "HTTP/1.1 200 OK\r\nbianmin-api-version: 1.0\r\ncontent-type: application/json\r\ncontent-length: 9\r\n\r\n{\"status\"",
            |e| matches!(e, ClientError::Malformed(_)),
        ),
        ("HTTP/1.1 200 OK\r\nbianmin-api-version: 1.0\r\ncontent-length: 100\r\n\r\n{\"status\": \"ok\"", |e| {
            matches!(e, ClientError::Malformed(_) | ClientError::Unreachable(_))
        }),
        ("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}", |e| matches!(e, ClientError::Malformed(_))),
        ("HTTP/1.1 200 OK\r\nbianmin-api-version: 2.0\r\ncontent-length: 2\r\n\r\n{}", |e| {
            matches!(e, ClientError::IncompatibleServer { .. })
        }),
        ("HTTP/1.1 502 Bad Gateway\r\nbianmin-api-version: 1.0\r\ncontent-length: 5\r\n\r\noops!", |e| {
            matches!(e, ClientError::Malformed(_))
        }),
    ];
    for (reply, expected) in cases {
        let base = fake_peer(reply).await;
        let client = ApiClient::new(&base, &NetworkSettings::default()).unwrap();
        let e = client.health().await.unwrap_err();
        assert!(expected(&e), "reply {reply:?} gave {e:?}");
        assert!(!e.to_string().is_empty());
    }
    let e = ApiClient::new(&fake_peer("garbage\r\n\r\n").await, &NetworkSettings::default())
        .unwrap()
        .health()
        .await
        .unwrap_err();
    assert!(e.is_offline() || matches!(e, ClientError::Malformed(_)), "{e:?}");
    let incompatible = ClientError::IncompatibleServer { server: "2.0".into() };
    assert!(incompatible.to_string().contains("请升级终端"));
}

#[tokio::test]
async fn bad_server_urls_are_refused_up_front() {
    for url in ["", "bianmin.example", "ftp://x"] {
        assert!(matches!(ApiClient::new(url, &NetworkSettings::default()), Err(ClientError::BadUrl(_))), "{url}");
    }
}

#[tokio::test]
async fn what_is_stored_is_validated_record_places_dates_years_and_guide_codes() {
    use bianmin::domain::record::{RecordBody, Visit};
    let s = TestServer::start().await;
    let clerk = s.sign_in("s001").await;
    let walk_in = serde_json::to_value(RecordBody::Visit(Visit::new("", "咨询").unwrap())).unwrap();
    let now = chrono::DateTime::from_timestamp(s.clock.0.load(Ordering::SeqCst), 0).unwrap();
    let upload = |idx: u64, created_at: String, body: serde_json::Value| {
        let record = json!({
            "device": uuid::Uuid::now_v7(), "stream": "w1/visits", "idx": idx, "id": uuid::Uuid::now_v7(),
            "created_at": created_at, "author": "s001", "window": 1, "post": "A", "body": body,
        });
        s.http.post(s.url("/api/v1/records")).bearer_auth(&clerk).json(&json!({"records": [record]})).send()
    };
    let fields = |p: &Problem| p.errors.iter().map(|e| e.field.clone()).collect::<Vec<_>>();

    let ok = upload(1, now.to_rfc3339(), walk_in.clone()).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK, "{}", ok.text().await.unwrap());
    // An index past i64 would be stored negative.
    let r = upload(1 << 63, now.to_rfc3339(), walk_in.clone()).await.unwrap();
    let p = problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&p), ["records[0].idx"]);
    let r = upload(2, "1970-01-01T00:00:00Z".into(), walk_in.clone()).await.unwrap();
    let p = problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&p), ["records[0].created_at"]);
    let mut far = walk_in.clone();
    far["at"] = json!("9999-12-31T00:00:00Z");
    let r = upload(2, now.to_rfc3339(), far).await.unwrap();
    let p = problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&p), ["records[0].body.at"]);
    let device = uuid::Uuid::now_v7();
    let r = s.get(&format!("/api/v1/records?device={device}&stream=w1%2Fvisits&from={}", 1u64 << 63), &clerk).await;
    problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    // Calendar years 2000-2100 only.
    let admin = s.sign_in("admin").await;
    let put = |year: i64| {
        s.http
            .put(s.url(&format!("/api/v1/calendar/years/{year}")))
            .bearer_auth(&admin)
            .json(&json!({"holidays": {}, "workdays": {}}))
            .send()
    };
    assert_eq!(put(2100).await.unwrap().status(), StatusCode::OK);
    for year in [1999, 2101, 200_000] {
        let p = problem(put(year).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(p.errors[0].message.contains("2000 至 2100"), "{year}: {p:?}");
    }

    // A guide code outside the safe alphabet is not looked up and not echoed.
    let p = problem(s.get("/api/v1/guides/%E2%80%AEevil", &clerk).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(p.title, "事项编码无效");
    let p = problem(s.get("/api/v1/guides/HB-QS-9999", &clerk).await, StatusCode::NOT_FOUND, "not_found").await;
    assert!(p.title.contains("HB-QS-9999"));
    s.stop().await;
}

/// gzip only where it pays: a reply of a few hundred bytes (who am I, a call-next) goes out
/// plain even to a client that accepts gzip, where each used to set up a compressor; a large
/// one (the center's description with its staff and windows) is still gzipped.
#[tokio::test]
async fn small_replies_go_out_plain_and_large_ones_gzipped() {
    let server = TestServer::start().await;
    let token = server.sign_in("s001").await;
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let fetch = |path: &'static str| {
        let request = raw.get(server.url(path)).bearer_auth(&token).header("accept-encoding", "gzip");
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            let encoding = r.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_owned());
            (encoding, r.bytes().await.unwrap().len())
        }
    };
    let (encoding, size) = fetch(bianmin::api::paths::ME).await;
    assert!(size < 1400, "who am I is a small reply: {size} bytes");
    assert_eq!(encoding, None, "a reply of {size} bytes is sent as it is");
    let (encoding, size) = fetch(bianmin::api::paths::CENTER).await;
    assert_eq!(encoding.as_deref(), Some("gzip"), "the center's description ({size} bytes zipped) is gzipped");
}
