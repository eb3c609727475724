//! Accounts against the real server: sign-in rate limiting (per account, per address, across a
//! restart, behind a proxy), revoking sessions, disabled accounts, the audit trail, the admin
//! commands of the real binary, HTTPS served by the server itself, and the client's refusal of
//! plain HTTP to another machine.
//! The rate-limit tests read the server's memory from /proc and are Linux only; what only they
//! use is unused elsewhere (the Windows cross-build's clippy).
#![cfg_attr(not(target_os = "linux"), allow(unused_imports, dead_code))]

use crate::common;

use std::process::Command;
use std::sync::atomic::Ordering;

use bianmin::api::accounts::paths::lock_of;
use bianmin::api::accounts::{AuditEntry, LockCleared, SessionsRevoked};
use bianmin::api::queue::IssueTicket;
use bianmin::api::{Problem, SessionGranted};
use bianmin::client::{ApiClient, ClientError};
use bianmin::config::NetworkSettings;
use bianmin::server::throttle::{MAX_ACCOUNT_FAILURES, MAX_ADDRESS_FAILURES};
use bianmin::server::{self, ServeOptions, tls::TlsFiles};
use common::server::{PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::json;

async fn sign_in_as(s: &TestServer, staff_id: &str, password: &str) -> reqwest::Response {
    s.http
        .post(s.url("/api/v1/session"))
        .json(&json!({"staff_id": staff_id, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn code_of(r: reqwest::Response) -> (StatusCode, String, String) {
    let status = r.status();
    let p: Problem = r.json().await.unwrap();
    (status, p.code, p.title)
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_for_fifteen_minutes_even_across_a_restart() {
    let s = TestServer::start().await;
    for _ in 0..5 {
        let (status, code, _) = code_of(sign_in_as(&s, "s001", "wrong password").await).await;
        assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "wrong_credentials"));
    }
    let (status, code, title) = code_of(sign_in_as(&s, "s001", PASSWORD).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"));
    assert_eq!(title, "尝试次数过多，请 15 分钟后再试", "even the right password waits");
    assert_eq!(sign_in_as(&s, "s002", PASSWORD).await.status(), StatusCode::OK, "other accounts are not locked");

    let db_url = s.db_url.clone();
    let dir = s.stop().await;
    let s = TestServer::start_on(&db_url).await;
    assert_eq!(sign_in_as(&s, "s001", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS, "kept in the database");
    s.clock.0.fetch_add(10 * 60, Ordering::SeqCst);
    let (_, _, title) = code_of(sign_in_as(&s, "s001", PASSWORD).await).await;
    assert_eq!(title, "尝试次数过多，请 5 分钟后再试");
    s.clock.0.fetch_add(5 * 60 + 1, Ordering::SeqCst);
    assert_eq!(sign_in_as(&s, "s001", PASSWORD).await.status(), StatusCode::OK, "the window has passed");
    // A success clears the account's count.
    for _ in 0..4 {
        sign_in_as(&s, "s001", "wrong password").await;
    }
    assert_eq!(sign_in_as(&s, "s001", PASSWORD).await.status(), StatusCode::OK);
    s.stop().await;
    drop(dir);
}

#[tokio::test]
async fn thirty_failures_from_one_address_lock_that_address_but_one_account_cannot() {
    let s = TestServer::start().await;
    // One clerk's typos lock that clerk only: the rest of the center, behind the same NAT
    // address, still signs in.
    for _ in 0..MAX_ACCOUNT_FAILURES {
        assert_eq!(sign_in_as(&s, "s001", "typo").await.status(), StatusCode::UNAUTHORIZED);
    }
    for _ in 0..20 {
        assert_eq!(sign_in_as(&s, "s001", "typo").await.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(
        sign_in_as(&s, "s002", PASSWORD).await.status(),
        StatusCode::OK,
        "one account does not lock the address"
    );
    // A spray over many staff ids does.
    for i in MAX_ACCOUNT_FAILURES..MAX_ADDRESS_FAILURES {
        let r = sign_in_as(&s, &format!("nobody{i}"), "guessing").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let (status, code, _) = code_of(sign_in_as(&s, "s003", PASSWORD).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"));
    s.clock.0.fetch_add(15 * 60 + 1, Ordering::SeqCst);
    assert_eq!(sign_in_as(&s, "s003", PASSWORD).await.status(), StatusCode::OK);
    s.stop().await;
}

/// Memory of a process from /proc (Linux): (VmRSS, VmHWM) in KiB.
#[cfg(target_os = "linux")]
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// 200 sign-in attempts at once against the real `bianmin serve`: exactly the limit is hashed and
/// refused as wrong (401), every other attempt is refused as too many (429), the rest of the
/// center still signs in, and the server's memory stays flat.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_parallel_attempts_meet_the_limit_exactly_and_memory_stays_flat() {
    use common::server::ServerProcess;
    bianmin::client::install_tls_provider();
    let dir = tempfile::tempdir().unwrap();
    let db_url = bianmin::config::sqlite_url(&dir.path().join("server.db"));
    let server = ServerProcess::start(env!("CARGO_BIN_EXE_bianmin"), dir.path(), &db_url, 0);
    let url = format!("{}/api/v1/session", server.base());
    let http = reqwest::Client::new();
    let attempt = |staff_id: &'static str, password: &'static str| {
        http.post(&url).json(&json!({"staff_id": staff_id, "password": password})).send()
    };
    // Warm up (the first hash, connection pools), then take the idle figure.
    assert_eq!(attempt("s003", PASSWORD).await.unwrap().status(), StatusCode::OK);
    let (idle_rss, idle_peak) = memory_kib(server.pid());
    println!("idle: RSS {idle_rss} KiB, peak so far {idle_peak} KiB");

    let attempts: Vec<_> = (0..200).map(|_| attempt("s001", "wrong password")).collect();
    let statuses: Vec<StatusCode> =
        futures_util::future::join_all(attempts).await.into_iter().map(|r| r.unwrap().status()).collect();
    let unauthorized = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let too_many = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    let (after_rss, peak) = memory_kib(server.pid());
    println!(
        "200 parallel sign-ins: {unauthorized} x 401, {too_many} x 429; server RSS idle {} MiB, \
         peak {} MiB (+{} MiB), after {} MiB",
        idle_rss / 1024,
        peak / 1024,
        peak.saturating_sub(idle_rss) / 1024,
        after_rss / 1024
    );
    assert_eq!((unauthorized, too_many), (MAX_ACCOUNT_FAILURES, 200 - MAX_ACCOUNT_FAILURES), "{statuses:?}");
    assert!(peak.saturating_sub(idle_rss) < 50 * 1024, "peak {peak} KiB vs idle {idle_rss} KiB");

    // The right password waits too; another clerk behind the same address does not.
    assert_eq!(attempt("s001", PASSWORD).await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    let r = attempt("admin", PASSWORD).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the center is not locked out");
    let admin = r.json::<SessionGranted>().await.unwrap().token;
    // The admin clears the lock.
    let cleared: LockCleared = http
        .delete(format!("{}{}", server.base(), lock_of("s001")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((cleared.staff_id.as_str(), cleared.cleared), ("s001", MAX_ACCOUNT_FAILURES as u64));
    assert_eq!(attempt("s001", PASSWORD).await.unwrap().status(), StatusCode::OK, "unlocked");
    let clerk = http.delete(format!("{}{}", server.base(), lock_of("s002"))).bearer_auth(&admin).send();
    assert_eq!(clerk.await.unwrap().status(), StatusCode::OK);
    server.kill();
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_counts() {
    let s = TestServer::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = ServeOptions { trust_forwarded_for: true, ..ServeOptions::default() };
    let proxied = server::start_with(listener, s.state.clone(), 64 * 1024, &options).unwrap();
    let url = format!("http://{}/api/v1/session", proxied.addr);
    let attempt = |from: &'static str, staff_id: String, password: &'static str| {
        s.http
            .post(&url)
            .header("x-forwarded-for", format!("10.9.9.9, {from}"))
            .json(&json!({"staff_id": staff_id, "password": password}))
            .send()
    };
    for i in 0..MAX_ADDRESS_FAILURES {
        assert_eq!(attempt("192.0.2.1", format!("x{i}"), "guess").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    let refused = attempt("192.0.2.1", "s001".into(), PASSWORD).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS, "the proxy's last entry is the client");
    assert_eq!(attempt("192.0.2.2", "s001".into(), PASSWORD).await.unwrap().status(), StatusCode::OK);
    proxied.stop().await;
    s.stop().await;
}

#[tokio::test]
async fn an_admin_revokes_every_session_of_a_staff_member_and_disabled_accounts_are_shut_out() {
    let s = TestServer::start().await;
    let first = s.sign_in("s001").await;
    let second = s.sign_in("s001").await;
    let other = s.sign_in("s002").await;
    let admin = s.sign_in("admin").await;

    let r = s.http.delete(s.url("/api/v1/sessions/s001")).bearer_auth(&other).send().await.unwrap();
    assert_eq!(code_of(r).await.1, "forbidden", "only an admin");
    let r = s.http.delete(s.url("/api/v1/sessions/s001")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let revoked: SessionsRevoked = r.json().await.unwrap();
    assert_eq!(revoked.revoked, 2);
    for token in [&first, &second] {
        assert_eq!(code_of(s.get("/api/v1/me", token).await).await.1, "unauthorized");
    }
    assert_eq!(s.get("/api/v1/me", &other).await.status(), StatusCode::OK, "nobody else's");
    let r = s.http.delete(s.url("/api/v1/sessions/nobody")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Disabled: the open session stops working, and signing in says why.
    assert!(s.state.store.set_active("s002", false).await.unwrap());
    let (status, code, title) = code_of(s.get("/api/v1/me", &other).await).await;
    assert_eq!(
        (status, code.as_str(), title.as_str()),
        (StatusCode::FORBIDDEN, "account_disabled", "账号已停用，请联系管理员")
    );
    let (status, code, _) = code_of(sign_in_as(&s, "s002", PASSWORD).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "account_disabled"));
    let (_, code, _) = code_of(sign_in_as(&s, "s002", "wrong password").await).await;
    assert_eq!(code, "wrong_credentials", "without the password, a disabled account looks like any other");

    // Expired: the clock moves past the session's end.
    let token = s.sign_in("s003").await;
    s.clock.0.fetch_add(12 * 3600 + 1, Ordering::SeqCst);
    let (_, code, title) = code_of(s.get("/api/v1/me", &token).await).await;
    assert_eq!((code.as_str(), title.as_str()), ("session_expired", "登录已过期，请重新登录"));
    s.stop().await;
}

#[tokio::test]
async fn the_audit_trail_says_who_did_what_to_which_ticket_and_case_from_which_window() {
    use bianmin::domain::center::Post;
    use bianmin::domain::intake::{self, Opening};
    use bianmin::domain::record::RecordBody;
    let s = TestServer::start().await;
    let admin = s.sign_in("admin").await;
    let mut clerk = s.client();
    clerk.sign_in("s001", PASSWORD).await.unwrap();
    let issued = clerk.issue_ticket(&IssueTicket::new('A')).await.unwrap().ticket.unwrap();
    clerk.call_next(1).await.unwrap();
    let guide =
        bianmin::assets::bundled_catalogue().unwrap().guides.into_iter().find(|g| g.situations.is_empty()).unwrap();
    let opening = Opening { window: 1, post: Post::A, staff_id: "s001", ticket: None };
    let case = intake::open_case(&guide, None, &opening, uuid::Uuid::now_v7(), chrono::Utc::now()).unwrap();
    let record = bianmin::api::RecordEnvelope {
        schema: bianmin::api::RECORD_SCHEMA,
        device: uuid::Uuid::now_v7(),
        stream: "w1/cases".into(),
        idx: 1,
        id: uuid::Uuid::now_v7(),
        // Made offline three hours ago (or so the terminal's clock says).
        created_at: chrono::DateTime::from_timestamp(s.clock.0.load(Ordering::SeqCst) - 3 * 3600, 0).unwrap(),
        author: "s001".into(),
        window: 1,
        post: Post::A,
        body: serde_json::to_value(RecordBody::CaseSnapshot(Box::new(case.clone()))).unwrap(),
    };
    let received_at = s.clock.0.load(Ordering::SeqCst);
    clerk.upload(vec![record.clone()]).await.unwrap();
    clerk.upload(vec![record.clone()]).await.unwrap();
    clerk.sign_out().await.unwrap();

    let r = s.get("/api/v1/audit?limit=50", &admin).await;
    assert_eq!(r.status(), StatusCode::OK);
    let trail: Vec<AuditEntry> = r.json().await.unwrap();
    let line = |action: &str| {
        trail.iter().find(|e| e.action == action).unwrap_or_else(|| panic!("no {action} in {trail:#?}")).clone()
    };
    let signed_in = trail.iter().find(|e| e.action == "sign_in" && e.staff_id == "s001").unwrap();
    assert_eq!(signed_in.addr.as_deref(), Some("127.0.0.1"));
    let issue = line("queue:取号");
    assert_eq!((issue.staff_id.as_str(), issue.target_kind.as_str()), ("s001", "ticket"));
    assert!(issue.target_id.ends_with(&issued.number.to_string()), "{issue:?}");
    let call = line("queue:叫号");
    assert_eq!(call.window, Some(1));
    let snapshot = line("case_snapshot");
    assert_eq!(
        (snapshot.staff_id.as_str(), snapshot.window, snapshot.target_kind.as_str(), snapshot.target_id.clone()),
        ("s001", Some(1), "case", case.id.to_string())
    );
    assert_eq!(snapshot.at.timestamp(), received_at, "the server's receipt time, not the record's");
    assert_eq!(snapshot.claimed_at, Some(record.created_at), "the record's own time is kept beside it");
    assert_eq!(trail.iter().filter(|e| e.action == "case_snapshot").count(), 1, "a replay is not a second action");
    assert_eq!(line("sign_out").staff_id, "s001");
    assert!(trail.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let older: Vec<AuditEntry> =
        s.get(&format!("/api/v1/audit?limit=2&before={}", trail[1].id), &admin).await.json().await.unwrap();
    assert_eq!(older.iter().map(|e| e.id).collect::<Vec<_>>(), [trail[2].id, trail[3].id]);

    let clerk_token = s.sign_in("s003").await;
    assert_eq!(s.get("/api/v1/audit", &clerk_token).await.status(), StatusCode::FORBIDDEN);
    s.stop().await;
}

#[tokio::test]
async fn refused_requests_and_reads_of_applicants_data_are_audited() {
    let s = TestServer::start().await;
    let clerk = s.sign_in("s001").await;
    // A read of window 1's open cases, handovers and log.
    assert_eq!(s.get("/api/v1/windows/1/overview", &clerk).await.status(), StatusCode::OK);
    assert_eq!(s.get("/api/v1/windows/1/handovers", &clerk).await.status(), StatusCode::OK);
    let device = uuid::Uuid::now_v7();
    let records = s.get(&format!("/api/v1/records?device={device}&stream=w1%2Fcases"), &clerk).await;
    assert_eq!(records.status(), StatusCode::OK);
    // Refused: another window (403), no session (401), too many attempts (429).
    assert_eq!(s.get("/api/v1/windows/2/overview", &clerk).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(s.get("/api/v1/me", "not-a-token").await.status(), StatusCode::UNAUTHORIZED);
    for _ in 0..MAX_ACCOUNT_FAILURES {
        sign_in_as(&s, "s004", "wrong password").await;
    }
    assert_eq!(sign_in_as(&s, "s004", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);

    let admin = s.sign_in("admin").await;
    let trail: Vec<AuditEntry> = s.get("/api/v1/audit?limit=100", &admin).await.json().await.unwrap();
    let find = |action: &str| trail.iter().filter(|e| e.action == action).cloned().collect::<Vec<_>>();
    let overview = find("read:overview");
    assert_eq!(overview.len(), 1, "{trail:#?}");
    assert_eq!((overview[0].staff_id.as_str(), overview[0].window), ("s001", Some(1)));
    assert_eq!(overview[0].addr.as_deref(), Some("127.0.0.1"));
    assert_eq!(find("read:handovers")[0].window, Some(1));
    let log = &find("read:records")[0];
    assert_eq!((log.target_kind.as_str(), log.target_id.as_str(), log.window), ("stream", "w1/cases", Some(1)));
    let forbidden = &find("refused:403")[0];
    assert_eq!(
        (forbidden.staff_id.as_str(), forbidden.window, forbidden.target_id.as_str()),
        ("s001", Some(2), "GET /api/v1/windows/{number}/overview")
    );
    let unauthorized = find("refused:401");
    assert!(unauthorized.iter().any(|e| e.staff_id == "-" && e.target_id == "GET /api/v1/me"), "{unauthorized:#?}");
    // Counted on one line per caller, route and minute, not one line each.
    let sign_ins: Vec<_> = unauthorized.iter().filter(|e| e.target_id == "POST /api/v1/session").collect();
    assert_eq!(sign_ins.iter().map(|e| e.count as usize).sum::<usize>(), MAX_ACCOUNT_FAILURES);
    let too_many = find("refused:429");
    assert_eq!((too_many.len(), too_many[0].target_id.as_str()), (1, "POST /api/v1/session"));
    // The admin's own read of the trail is neither.
    assert!(trail.iter().all(|e| !e.target_id.contains("audit")));
    s.stop().await;
}

fn admin_cli(data: &std::path::Path, db_url: &str, args: &[&str], password: Option<&str>) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bianmin"));
    command.arg("admin").args(args).args(["--database", db_url]).env("BIANMIN_DATA_DIR", data).env("HOME", data);
    command.env_remove("BIANMIN_NEW_PASSWORD");
    if let Some(p) = password {
        command.env("BIANMIN_NEW_PASSWORD", p);
    }
    let out = command.stdin(std::process::Stdio::null()).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_admin_commands_manage_staff_and_the_roster() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = bianmin::config::sqlite_url(&dir.path().join("server.db"));
    let data = dir.path();
    let (ok, out, err) =
        admin_cli(data, &db_url, &["staff", "add", "s100", "赵新", "--role", "窗口人员"], Some("a long password"));
    assert!(ok, "{out}{err}");
    assert!(out.contains("已添加 s100 赵新（窗口人员）"), "{out}");
    let (ok, _, err) = admin_cli(data, &db_url, &["staff", "add", "s101", "钱", "--role", "窗口人员"], Some("short"));
    assert!(!ok && err.contains("至少 8 个字符"), "{err}");
    let (ok, _, err) = admin_cli(data, &db_url, &["staff", "add", "s101", "钱", "--role", "队长"], Some("long enough"));
    assert!(!ok && err.contains("窗口人员、咨询导办、管理员、中心负责人"), "{err}");
    let (ok, out, err) =
        admin_cli(data, &db_url, &["staff", "add", "z100", "钱主任", "--role", "中心负责人"], Some("a long password"));
    assert!(ok && out.contains("已添加 z100 钱主任（中心负责人）"), "{out}{err}");
    let (ok, _, err) = admin_cli(data, &db_url, &["staff", "add", "s102", "孙", "--role", "咨询导办"], None);
    assert!(!ok && err.contains("BIANMIN_NEW_PASSWORD"), "no terminal and no variable: {err}");

    let (ok, out, err) = admin_cli(data, &db_url, &["roster", "set", "1", "--a", "s100", "--b", "s002"], None);
    assert!(ok, "{out}{err}");
    assert!(out.contains("A岗 s100，B岗 s002"), "{out}");
    let (ok, _, err) = admin_cli(data, &db_url, &["roster", "set", "1", "--a", "s100", "--b", "d001"], None);
    assert!(!ok && err.contains("咨询导办"), "{err}");

    let (ok, out, _) = admin_cli(data, &db_url, &["staff", "disable", "s002"], None);
    assert!(ok && out.contains("已停用 s002") && out.contains("1 号窗口"), "{out}");
    let (ok, out, _) = admin_cli(data, &db_url, &["staff", "list"], None);
    assert!(ok);
    assert!(out.contains("s100\t赵新\t窗口人员\t启用\t1号窗A岗"), "{out}");
    assert!(out.contains("s002\t李强\t窗口人员\t停用"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("s001\t") && l.ends_with("\t-")), "s001 lost window 1: {out}");
    let (ok, out, _) = admin_cli(data, &db_url, &["staff", "passwd", "s100"], Some("another long one"));
    assert!(ok && out.contains("已修改 s100 的密码"), "{out}");
    let (ok, _, _) = admin_cli(data, &db_url, &["staff", "enable", "nobody"], None);
    assert!(!ok);
    let (ok, _, err) = admin_cli(data, &db_url, &["staff", "unlock", "nobody"], None);
    assert!(!ok && err.contains("没有工号为 nobody 的人员"), "{err}");

    let s = TestServer::start_on(&db_url).await;
    let r = sign_in_as(&s, "s100", "another long one").await;
    assert_eq!(r.status(), StatusCode::OK);
    let granted: SessionGranted = r.json().await.unwrap();
    assert_eq!((granted.me.posts[0].window, granted.me.staff.name.as_str()), (1, "赵新"));
    assert_eq!(code_of(sign_in_as(&s, "s002", PASSWORD).await).await.1, "account_disabled");
    let admin = s.sign_in("admin").await;
    let trail: Vec<AuditEntry> = s.get("/api/v1/audit", &admin).await.json().await.unwrap();
    let by_cli: Vec<&str> =
        trail.iter().filter(|e| e.staff_id.starts_with("命令行:")).map(|e| e.action.as_str()).collect();
    assert_eq!(by_cli, ["password_changed", "staff_disabled", "roster_set", "staff_added", "staff_added"]);

    // A locked account is unlocked from the command line.
    for _ in 0..MAX_ACCOUNT_FAILURES {
        assert_eq!(sign_in_as(&s, "s100", "typo typo").await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(sign_in_as(&s, "s100", "another long one").await.status(), StatusCode::TOO_MANY_REQUESTS);
    let (ok, out, err) = admin_cli(data, &db_url, &["staff", "unlock", "s100"], None);
    assert!(ok && out.contains("已解除 s100 的登录锁定（清除 5 次失败记录）"), "{out}{err}");
    assert_eq!(sign_in_as(&s, "s100", "another long one").await.status(), StatusCode::OK);
    s.stop().await;
}

/// A test CA and a server certificate for localhost and 127.0.0.1 signed by it, as PEM files.
fn test_certificates(dir: &std::path::Path) -> (TlsFiles, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    ca_params.distinguished_name.push(DnType::CommonName, "青石镇便民服务中心 测试 CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &*ca).unwrap();
    let files = TlsFiles { cert: dir.join("server.pem"), key: dir.join("server.key") };
    std::fs::write(&files.cert, format!("{}{}", cert.pem(), ca.pem())).unwrap();
    std::fs::write(&files.key, key.serialize_pem()).unwrap();
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, ca.pem()).unwrap();
    (files, ca_path)
}

#[tokio::test]
async fn the_server_speaks_https_itself_and_the_client_trusts_the_centers_ca() {
    let s = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (files, ca_path) = test_certificates(dir.path());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = ServeOptions { tls: Some(files.clone()), ..ServeOptions::default() };
    let https = server::start_with(listener, s.state.clone(), 64 * 1024, &options).unwrap();
    let port = https.addr.port();

    let network = NetworkSettings { ca_cert: ca_path.display().to_string(), ..NetworkSettings::default() };
    for base in [format!("https://127.0.0.1:{port}"), format!("https://localhost:{port}")] {
        let mut client = ApiClient::new(&base, &network).unwrap();
        assert_eq!(client.health().await.unwrap().status, "ok", "{base}");
        let me = client.sign_in("s001", PASSWORD).await.unwrap();
        assert_eq!(me.staff.name, "王丽");
        assert_eq!(client.window_overview(1).await.unwrap().window.number, 1);
        client.sign_out().await.unwrap();
    }
    // Without the center's CA the certificate is not trusted; plain HTTP gets no answer.
    let stranger = ApiClient::new(&format!("https://127.0.0.1:{port}"), &NetworkSettings::default()).unwrap();
    let e = stranger.health().await.unwrap_err();
    assert!(matches!(e, ClientError::UntrustedCertificate(_)), "{e:?}");
    assert!(!e.is_offline(), "an untrusted certificate is not 离线");
    assert!(e.to_string().starts_with("服务器证书不受信任"), "{e}");
    let plain = reqwest::Client::new().get(format!("http://127.0.0.1:{port}/healthz")).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    // A stalled handshake holds up nobody.
    let _stalled = tokio::net::TcpStream::connect(https.addr).await.unwrap();
    let client = ApiClient::new(&format!("https://127.0.0.1:{port}"), &network).unwrap();
    assert!(client.health().await.is_ok());

    // `bianmin serve` itself, configured by environment (server.tls_cert / server.tls_key).
    let data = dir.path().join("served");
    std::fs::create_dir_all(&data).unwrap();
    let served_port = common::server::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bianmin"))
        .args(["serve", "--listen", &format!("127.0.0.1:{served_port}")])
        .args(["--database", &bianmin::config::sqlite_url(&data.join("server.db"))])
        .env("BIANMIN_DATA_DIR", &data)
        .env("HOME", &data)
        .env("BIANMIN_SERVER_TLS_CERT", &files.cert)
        .env("BIANMIN_SERVER_TLS_KEY", &files.key)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let served = ApiClient::new(&format!("https://localhost:{served_port}"), &network).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let health = loop {
        match served.health().await {
            Ok(health) => break health,
            Err(e) => assert!(std::time::Instant::now() < deadline, "bianmin serve over TLS: {e:?}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(health.status, "ok");
    let _ = child.kill();
    let _ = child.wait();

    let missing = TlsFiles { cert: dir.path().join("nope.pem"), key: files.key.clone() };
    let e = server::tls::server_config(&missing).unwrap_err();
    assert!(e.to_string().contains("无法读取证书文件"), "{e}");
    let swapped = TlsFiles { cert: files.key.clone(), key: files.cert.clone() };
    assert!(server::tls::server_config(&swapped).is_err());
    https.stop().await;
    s.stop().await;
}

#[test]
fn plain_http_is_refused_for_a_server_on_another_machine() {
    let defaults = NetworkSettings::default();
    let e = ApiClient::new("http://192.0.2.10:8734", &defaults).unwrap_err();
    assert!(matches!(e, ClientError::BadUrl(_)));
    assert!(e.to_string().contains("https://") && e.to_string().contains("allow_insecure_http"), "{e}");
    assert!(ApiClient::new("http://bianmin.example.gov.cn", &defaults).is_err());
    for url in [
        "http://127.0.0.1:8734",
        "http://127.9.9.9:1",
        "http://localhost:8734",
        "http://[::1]:8734",
        "https://bianmin.example.gov.cn",
    ] {
        assert!(ApiClient::new(url, &defaults).is_ok(), "{url}");
    }
    let allowed = NetworkSettings { allow_insecure_http: true, ..NetworkSettings::default() };
    assert!(ApiClient::new("http://192.0.2.10:8734", &allowed).is_ok());
    let missing_ca = NetworkSettings { ca_cert: "/nonexistent/ca.pem".into(), ..NetworkSettings::default() };
    assert!(ApiClient::new("https://bianmin.example.gov.cn", &missing_ca).unwrap_err().to_string().contains("CA 证书"));
}

/// The real terminal against a server whose certificate it does not trust: it says so, and does
/// not claim to be offline.
#[cfg(unix)]
#[test]
fn the_terminal_says_an_untrusted_certificate_is_untrusted_not_offline() {
    use common::pty::{Pty, Sandbox, Spawn, keys};
    let dir = tempfile::tempdir().unwrap();
    let (files, _ca) = test_certificates(dir.path());
    let port = common::server::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bianmin"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--database", &bianmin::config::sqlite_url(&dir.path().join("server.db"))])
        .env("BIANMIN_DATA_DIR", dir.path())
        .env("HOME", dir.path())
        .env("BIANMIN_SERVER_TLS_CERT", &files.cert)
        .env("BIANMIN_SERVER_TLS_KEY", &files.key)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "server did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let sandbox = Sandbox::new();
    let spawn = Spawn::new(24, 80)
        .arg("--server")
        .arg(format!("https://127.0.0.1:{port}"))
        .env("BIANMIN_STAFF_ID", "s001")
        .env("BIANMIN_PASSWORD", PASSWORD);
    let mut pty = Pty::spawn_with(env!("CARGO_BIN_EXE_bianmin"), &sandbox, spawn);
    pty.expect("the refusal", |s| s.contains("证书不受信任"), std::time::Duration::from_secs(30));
    assert!(!pty.screen_text().contains("离线"), "{}", pty.screen_text());
    pty.send_key(keys::CTRL_C);
    assert!(pty.wait_exit(std::time::Duration::from_secs(15)).success());
    let _ = child.kill();
    let _ = child.wait();
}

/// A window route reads the caller's session and the window with its duty in one statement, for
/// that very request: a duty moved, an account disabled or a session revoked straight in the
/// database (as the admin CLI, another process, does) is seen by the next request.
#[tokio::test]
async fn a_window_route_sees_a_moved_duty_a_disabled_account_and_a_revoked_session_at_once() {
    use bianmin::domain::handover::{AwayReason, DutyState};
    use bianmin::server::store::repo::Lock;
    let s = TestServer::start().await;
    let (a, b) = (s.sign_in("s001").await, s.sign_in("s002").await);
    let call = |token: String| {
        let r = s.http.post(s.url("/api/v1/windows/1/call-next")).bearer_auth(token).send();
        async move { code_of(r.await.unwrap()).await.1 }
    };
    let store = s.state.store.clone();
    let set_duty = |duty: DutyState| {
        let store = store.clone();
        async move {
            let mut unit = store.begin(Lock::Duty).await.unwrap();
            unit.write_duty(1, &duty, chrono::Utc::now()).await.unwrap();
            unit.commit().await.unwrap();
        }
    };
    assert_eq!(call(a.clone()).await, "queue_empty", "the A post acts for window 1");
    assert_eq!(call(b.clone()).await, "forbidden", "the B post does not, while A is on duty");
    set_duty(DutyState::BCovering { reason: AwayReason::Meeting, expected_return: None }).await;
    assert_eq!(call(a.clone()).await, "forbidden", "B covers now: A is refused at once");
    assert_eq!(call(b.clone()).await, "queue_empty", "and B acts at once");
    assert!(s.state.store.set_active("s002", false).await.unwrap());
    assert_eq!(call(b.clone()).await, "account_disabled");
    set_duty(DutyState::AOnDuty).await;
    assert_eq!(call(a.clone()).await, "queue_empty");
    assert_eq!(s.state.store.revoke_sessions("s001").await.unwrap(), 1);
    assert_eq!(call(a).await, "unauthorized");
    s.stop().await;
}
