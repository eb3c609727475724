//! The API's input, fuzzed: every route that takes a JSON body gets malformed JSON, huge strings,
//! nesting 10,000 deep, wrong types, control characters, huge numbers, invalid UTF-8, and
//! property-generated values (whole bodies, and valid bodies with one part replaced); paths and
//! queries get garbage too. Never a 5xx, every refusal problem+json, and the server stays up.
//! Seeded, so a failure reproduces.

use crate::common;

use bianmin::api::{PROBLEM_CONTENT_TYPE, Problem};
use bianmin::domain::center::Post;
use bianmin::domain::intake::{self, Opening};
use common::server::TestServer;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The JSON-taking routes with a concrete path, from the server's route declaration (so new ones
/// join).
fn json_routes() -> Vec<(reqwest::Method, String)> {
    let routes: Vec<_> = bianmin::server::declaration()
        .iter()
        .map(bianmin::server::access::Route::access)
        .filter(|a| matches!(a.method, "POST" | "PUT" | "PATCH"))
        .map(|a| {
            let path = a
                .path
                .replace("/windows/{number}", "/windows/1")
                .replace("/tickets/{number}", "/tickets/A001")
                .replace("{year}", "2027")
                .replace("{letter}", "A")
                .replace("{code}", "HB-QS-0001")
                .replace("{center}", "qingshi")
                .replace("{staff_id}", "s007")
                .replace("{record}", "0193a4b8-0000-7000-8000-000000000001")
                .replace("{rating_id}", "0193a4b8-0000-7000-8000-000000000002");
            assert!(!path.contains('{'), "tests/fuzz_api.rs does not know how to fill in {}", a.path);
            (reqwest::Method::from_bytes(a.method.as_bytes()).unwrap(), path)
        })
        .collect();
    assert!(routes.len() >= 15, "{routes:?}");
    routes
}

/// What every reply must be: no server error, and a refusal is problem+json with a Chinese title.
async fn check(response: reqwest::Response, what: &str) -> StatusCode {
    let status = response.status();
    assert!(!status.is_server_error(), "{what}: {status} {:?}", response.text().await);
    if status.is_client_error() {
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(content_type.starts_with(PROBLEM_CONTENT_TYPE), "{what}: {status} as {content_type:?}");
        let problem: Problem = response.json().await.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(problem.status, status.as_u16(), "{what}");
        assert!(problem.title.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{what}: {}", problem.title);
    }
    status
}

/// Replies by status, for the summary.
static SEEN: std::sync::Mutex<std::collections::BTreeMap<u16, usize>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

async fn send(s: &TestServer, token: &str, method: &reqwest::Method, path: &str, body: Vec<u8>) -> StatusCode {
    let what = format!("{method} {path} with {}", String::from_utf8_lossy(&body[..body.len().min(120)]));
    let response = s
        .http
        .request(method.clone(), s.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{what}: the server went away: {e}"));
    let status = check(response, &what).await;
    *SEEN.lock().unwrap().entry(status.as_u16()).or_default() += 1;
    status
}

fn nested(open: &str, inner: &str, close: &str, depth: usize) -> Vec<u8> {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth)).into_bytes()
}

/// Bodies that break parsers: syntax, size, depth, types, numbers, encodings.
fn nasty_bodies() -> Vec<Vec<u8>> {
    let mut bodies: Vec<Vec<u8>> = [
        "",
        " ",
        "{",
        "}",
        "[",
        "]",
        "{]",
        "nul",
        "null",
        "true",
        "0",
        "-0",
        "1e400",
        "-1e400",
        "NaN",
        "Infinity",
        "18446744073709551616",
        "\"just a string\"",
        "[]",
        "{}",
        "{\"a\":1,\"a\":2}",
        "{\"records\": null}",
        "{\"records\": \"x\"}",
        "{\"records\": [1, 2, 3]}",
        "{\"records\": [{}]}",
        "{\"records\": [[]]}",
        "{\"category\": 5}",
        "{\"category\": \"AB\"}",
        "{\"category\": \"\"}",
        "{\"category\": null}",
        "{\"number\": \"A1\"}",
        "{\"number\": 1}",
        "{\"number\": \"Z99999\"}",
        "{\"reason\": 12}",
        "{\"window\": -1}",
        "{\"window\": 1e308}",
        "{\"window\": 4294967296}",
        "{\"window\": 1.5}",
        "{\"staff_id\": 7, \"password\": []}",
        "{\"staff_id\": \"s001\"}",
        "{\"state\": \"B岗顶岗\"}",
        "{\"state\": \"B岗顶岗\", \"reason\": \"请假\", \"expected_return\": \"not a time\"}",
        "{\"a_holder\": \"s001\", \"b_holder\": \"s001\"}",
        "{\"holidays\": {\"x\": 1}, \"workdays\": []}",
        "{\"slot_start\": \"2026-13-45T99:99:99Z\", \"slot_end\": 5, \"category\": \"A\"}",
        "{\"note\": \"\\u0000\\u001b[31m\\r\\n\\t\\u202e\"}",
        "{\"reason\": \"\\u0000\"}",
        "{\"note\": \"\\ud800\"}",
        "\u{feff}{}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    bodies.push(b"{\"note\": \"\x00\x01\x1b\"}".to_vec());
    bodies.push(b"{\"note\": \"\xff\xfe\xfd\"}".to_vec());
    bodies.push(b"\xef\xbb\xbf\xff".to_vec());
    bodies.push(nested("[", "", "]", 10_000));
    bodies.push(nested("{\"a\":", "1", "}", 10_000));
    bodies.push(nested("[", "", "", 10_000));
    bodies.push(format!("{{\"records\": {}}}", String::from_utf8(nested("[", "", "]", 10_000)).unwrap()).into_bytes());
    bodies.push(json!({"note": "字".repeat(20_000)}).to_string().into_bytes());
    bodies.push(json!({"reason": "x".repeat(60_000)}).to_string().into_bytes());
    bodies.push(json!({"staff_id": "s".repeat(60_000), "password": "p"}).to_string().into_bytes());
    // Over the body limit (64 KiB in tests; the upload route allows 4 MiB).
    bodies.push(json!({"note": "x".repeat(300_000)}).to_string().into_bytes());
    bodies.push(format!("{{\"n\": {}}}", "9".repeat(50_000)).into_bytes());
    bodies.push(format!("[{}]", "0,".repeat(20_000) + "0").into_bytes());
    bodies
}

/// A valid body for each route, to take apart.
fn valid_bodies() -> Vec<(&'static str, &'static str, Value)> {
    let guide = bianmin::assets::bundled_catalogue()
        .unwrap()
        .guides
        .into_iter()
        .find(|g| g.situations.is_empty() && !g.materials.is_empty())
        .unwrap();
    let opening = Opening { window: 1, post: Post::A, staff_id: "s001", ticket: None };
    let case = intake::open_case(&guide, None, &opening, uuid::Uuid::now_v7(), chrono::Utc::now()).unwrap();
    let envelope = |idx: u64, body: Value| {
        json!({
            "device": "018f0000-0000-7000-8000-000000000001", "stream": "w1/cases", "idx": idx,
            "id": uuid::Uuid::now_v7(), "created_at": "2026-11-30T01:00:00Z", "author": "s001",
            "window": 1, "post": "A", "body": body,
        })
    };
    let mut case_body = serde_json::to_value(&case).unwrap();
    case_body["kind"] = json!("case_snapshot");
    vec![
        ("POST", "/api/v1/session", json!({"staff_id": "s001", "password": "wrong password"})),
        ("POST", "/api/v1/records", json!({"records": [envelope(1, case_body)]})),
        ("POST", "/api/v1/records", json!({"records": [envelope(1, json!({"kind": "walk_in", "note": "办低保"}))]})),
        ("POST", "/api/v1/queue/tickets", json!({"category": "A", "note": "咨询", "guide_code": "HB-QS-0001"})),
        ("POST", "/api/v1/windows/1/transfer", json!({"category": "B", "window": 2, "note": "x"})),
        ("POST", "/api/v1/windows/1/pause", json!({"reason": "开会"})),
        ("POST", "/api/v1/windows/1/call", json!({"number": "A001"})),
        ("POST", "/api/v1/windows/1/walk-in", json!({"category": "A", "note": "x"})),
        ("PUT", "/api/v1/windows/1/duty", json!({"state": "B岗顶岗", "reason": "请假"})),
        ("PUT", "/api/v1/windows/1/holders", json!({"a_holder": "s001", "b_holder": "s002"})),
        ("PUT", "/api/v1/calendar/years/2027", json!({"holidays": {"2027-01-01": "元旦"}, "workdays": {}})),
    ]
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        "[\\x00-\\x1f\\u{7f}-\\u{9f}\\u{202e}\\u{feff}A-Z0-9]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "A001",
            "s001",
            "B岗顶岗",
            "请假",
            "case_snapshot",
            "walk_in",
            "2026-11-30T01:00:00Z"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces the value at a pseudo-random place of `body` with `with`.
fn replace_somewhere(here: &mut Value, pick: usize, with: Value) {
    let container = match here {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    };
    if !container {
        *here = with;
        return;
    }
    let child = match here {
        Value::Object(map) => {
            let key = map.keys().nth(pick % map.len()).cloned().unwrap();
            map.get_mut(&key).unwrap()
        }
        Value::Array(items) => {
            let i = pick % items.len();
            &mut items[i]
        }
        _ => unreachable!(),
    };
    // Stop at this level now and then, so that whole objects get replaced too.
    if pick.is_multiple_of(5) { *child = with } else { replace_somewhere(child, pick / 3, with) }
}

#[test]
fn no_json_input_makes_the_server_fail() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut s = runtime.block_on(TestServer::start());
    // A fresh connection per request. The server may close a keep-alive connection after
    // refusing a body it did not read (an oversized one), and a pooled client can pick that
    // connection just as it closes: a broken pipe that says nothing about the server.
    s.http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let admin = runtime.block_on(s.sign_in("admin"));
    let routes = json_routes();

    runtime.block_on(async {
        for (method, path) in &routes {
            for body in nasty_bodies() {
                send(&s, &admin, method, path, body).await;
            }
            // Wrong or missing content types.
            for content_type in ["text/plain", "application/json; charset=utf-16", "application/x-www-form-urlencoded"]
            {
                let r = s
                    .http
                    .request(method.clone(), s.url(path))
                    .bearer_auth(&admin)
                    .header("content-type", content_type)
                    .body("{}")
                    .send()
                    .await
                    .unwrap();
                check(r, &format!("{method} {path} as {content_type}")).await;
            }
            let r = s.http.request(method.clone(), s.url(path)).bearer_auth(&admin).body("{}").send().await.unwrap();
            check(r, &format!("{method} {path} without a content type")).await;
        }
    });

    let config = Config { cases: 400, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config.clone(), TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let route_count = routes.len();
    runner
        .run(&(0..route_count, arbitrary_json()), |(route, body)| {
            let (method, path) = &routes[route];
            runtime.block_on(send(&s, &admin, method, path, body.to_string().into_bytes()));
            Ok(())
        })
        .unwrap();

    let valid = valid_bodies();
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    runner
        .run(&(0..valid.len(), any::<usize>(), arbitrary_json()), |(which, pick, with)| {
            let (method, path, body) = &valid[which];
            let mut body = body.clone();
            replace_somewhere(&mut body, pick, with);
            // Uploads must not collide with each other's places in the log: a fresh device each.
            if let Some(records) = body.get_mut("records").and_then(|r| r.as_array_mut()) {
                for r in records.iter_mut().filter(|r| r.is_object()) {
                    r["device"] = json!(uuid::Uuid::now_v7());
                }
            }
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            runtime.block_on(send(&s, &admin, &method, path, body.to_string().into_bytes()));
            Ok(())
        })
        .unwrap();

    runtime.block_on(async {
        // Garbage in paths and queries is refused as problem+json too.
        for path in [
            "/api/v1/windows/abc/overview",
            "/api/v1/windows/99999999999/overview",
            "/api/v1/windows/-1/call-next",
            "/api/v1/calendar/years/99999999999",
            "/api/v1/guides?since=abc",
            "/api/v1/guides?since=99999999999999999999",
            "/api/v1/sync/status?window=x",
            "/api/v1/sync/status",
            "/api/v1/records?device=zzz&stream=w1",
            "/api/v1/records",
            "/api/v1/audit?limit=-5",
            "/api/v1/audit?limit=99999999999999999999999",
            "/api/v1/queue/events?since=x",
            "/api/v1/queue/tickets/%00%ff/check-in",
            "/api/v1/guides/%E4%B8%AD%00",
        ] {
            let method = if path.contains("call-next") || path.contains("check-in") { "POST" } else { "GET" };
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let r = s.http.request(method.clone(), s.url(path)).bearer_auth(&admin).send().await.unwrap();
            if r.status().is_success() {
                continue;
            }
            check(r, &format!("{method} {path}")).await;
        }
        // Still up, and still answering properly.
        assert_eq!(s.http.get(s.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
        assert_eq!(s.get("/api/v1/me", &admin).await.status(), StatusCode::OK);
    });
    runtime.block_on(s.stop());
    let seen = SEEN.lock().unwrap();
    eprintln!("replies by status: {seen:?}");
    assert!(seen.values().sum::<usize>() > 1000, "{seen:?}");
    assert!(seen.keys().any(|s| *s < 300), "some fuzzed bodies were valid enough to be served: {seen:?}");
}
