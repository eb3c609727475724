//! Applicants' personal data stays out of the logs and does not outlive its use in the cache.
//!
//! A full flow against the real server binary (logging at debug), with the client's own logging
//! on too: sign in, a case with an applicant's name, ID number and phone, a one-time notice,
//! sync, a second terminal downloading it, and a few mistakes that put personal data where it
//! does not belong. Then every log line of both is searched for the applicant.
//! The full flow stops the server with SIGTERM, so it is Unix only; what only it uses is unused
//! elsewhere (the Windows cross-build's clippy).
#![cfg_attr(not(unix), allow(unused_imports, dead_code))]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bianmin::api::StreamStatus;
use bianmin::client::ApiClient;
use bianmin::client::local::LocalStore;
use bianmin::client::sync::sync_logs;
use bianmin::config::NetworkSettings;
use bianmin::domain::applicant::{Applicant, IdNumber, Phone};
use bianmin::domain::case::{Case, CaseStatus, MaterialCheck};
use bianmin::domain::center::Post;
use bianmin::domain::intake::{self, Opening};
use bianmin::domain::record::RecordBody;
use chrono::{Duration as Days, Utc};
use common::server::{PASSWORD, free_port};

const ID_NUMBER: &str = "11010519491231002X";
const PHONE: &str = "13812345678";
const NAME: &str = "欧阳娜娜";

fn guide() -> bianmin::domain::guide::ServiceGuide {
    bianmin::assets::bundled_catalogue()
        .unwrap()
        .guides
        .into_iter()
        .find(|g| g.situations.is_empty() && g.materials.len() >= 2)
        .unwrap()
}

fn case_for(name: &str, id_number: &str, phone: Option<&str>, opened: chrono::DateTime<Utc>) -> Case {
    let opening = Opening { window: 1, post: Post::A, staff_id: "s001", ticket: None };
    let mut case = intake::open_case(&guide(), None, &opening, uuid::Uuid::now_v7(), opened).unwrap();
    case.applicant = Some(Applicant {
        name: name.into(),
        id_number: IdNumber::parse(id_number).unwrap(),
        phone: phone.map(|p| Phone::parse(p).unwrap()),
    });
    case
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start listening on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
#[test]
fn no_personal_data_reaches_any_log_after_a_full_flow() {
    let dir = tempfile::tempdir().unwrap();
    let server_data = dir.path().join("server");
    let client_logs = dir.path().join("client-logs");
    std::fs::create_dir_all(&server_data).unwrap();
    let db_url = bianmin::config::sqlite_url(&server_data.join("server.db"));
    let port = free_port();
    let stderr = std::fs::File::create(dir.path().join("server-stderr.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bianmin"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", &db_url])
        .env("BIANMIN_DATA_DIR", &server_data)
        .env("HOME", &server_data)
        .env("BIANMIN_LOG_LEVEL", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    wait_for_port(port);
    // This process logs too (the client, the local store, sync), at debug.
    let guard = bianmin::logging::init(&client_logs, "debug", 1, false).unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let base = format!("http://127.0.0.1:{port}");
        let mut client = ApiClient::new(&base, &NetworkSettings::default()).unwrap();
        client.sign_in("s001", PASSWORD).await.unwrap();
        let local = LocalStore::open(&dir.path().join("a.db"), Utc::now()).await.unwrap().0;

        let mut case = case_for(NAME, ID_NUMBER, Some(PHONE), Utc::now());
        let snapshot = |case: &Case| RecordBody::CaseSnapshot(Box::new(case.clone()));
        local.append("s001", 1, Post::A, &snapshot(&case), Utc::now()).await.unwrap();
        let ids: Vec<String> = case.checklist.items.iter().map(|i| i.material_id.clone()).collect();
        intake::set_material(&mut case, &ids[0], MaterialCheck::Received, None).unwrap();
        for id in &ids[1..] {
            intake::set_material(&mut case, id, MaterialCheck::Missing, Some("须本人签字")).unwrap();
        }
        let notice = intake::give_notice(
            &mut case,
            &[],
            "GZ01-20261130-0001".into(),
            uuid::Uuid::now_v7(),
            "s001",
            Utc::now(),
            None,
        )
        .unwrap();
        local.append("s001", 1, Post::A, &RecordBody::NoticeGiven(Box::new(notice)), Utc::now()).await.unwrap();
        local.append("s001", 1, Post::A, &snapshot(&case), Utc::now()).await.unwrap();
        let outcome = sync_logs(&client, &local, 1).await.unwrap();
        assert_eq!(outcome.pending, 0);

        // The window reads the case back, with the applicant: the reply carries it, the logs not.
        let overview = client.window_overview(1).await.unwrap();
        assert_eq!(overview.open_cases[0].applicant.as_ref().unwrap().id_number.expose(), ID_NUMBER);
        // A second terminal of the window (the B post) downloads the log.
        let mut other = ApiClient::new(&base, &NetworkSettings::default()).unwrap();
        other.sign_in("s002", PASSWORD).await.unwrap();
        let second = LocalStore::open(&dir.path().join("b.db"), Utc::now()).await.unwrap().0;
        sync_logs(&other, &second, 1).await.unwrap();
        assert_eq!(second.notices_for(case.id).await.unwrap().len(), 1);

        // Mistakes that put personal data where the server parses, refuses and logs.
        let http = reqwest::Client::new();
        let token = {
            let r = http
                .post(format!("{base}/api/v1/session"))
                .json(&serde_json::json!({"staff_id": "s003", "password": PASSWORD}))
                .send()
                .await
                .unwrap();
            r.json::<bianmin::api::SessionGranted>().await.unwrap().token
        };
        let bad_upload = serde_json::json!({"records": [{"device": ID_NUMBER, "stream": NAME, "idx": PHONE,
            "id": PHONE, "created_at": NAME, "author": NAME, "window": NAME, "post": PHONE, "body": {}}]});
        let r = http.post(format!("{base}/api/v1/records")).bearer_auth(&token).json(&bad_upload).send().await.unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        let mut bad_case = serde_json::to_value(RecordBody::CaseSnapshot(Box::new(case.clone()))).unwrap();
        bad_case["applicant"]["id_number"] = serde_json::json!("11010519491231002Y");
        bad_case["applicant"]["phone"] = serde_json::json!([PHONE, NAME]);
        let envelope = serde_json::json!({"device": uuid::Uuid::now_v7(), "stream": "w1/cases", "idx": 1,
            "id": uuid::Uuid::now_v7(), "created_at": Utc::now(), "author": "admin", "window": 1, "post": "A",
            "body": bad_case});
        let admin = {
            let mut c = ApiClient::new(&base, &NetworkSettings::default()).unwrap();
            c.sign_in("admin", PASSWORD).await.unwrap();
            c
        };
        // Stored in the log, not projected (the ID number does not check): logged as kept.
        let envelope: bianmin::api::RecordEnvelope = serde_json::from_value(envelope).unwrap();
        admin.upload(vec![envelope]).await.unwrap();
        for (staff_id, password) in [(PHONE, PASSWORD), (ID_NUMBER, "x"), (NAME, "y")] {
            let r = http
                .post(format!("{base}/api/v1/session"))
                .json(&serde_json::json!({"staff_id": staff_id, "password": password}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
        }
        for path in [
            format!("/api/v1/guides/{ID_NUMBER}"),
            format!("/api/v1/guides?since={PHONE}x"),
            format!("/api/v1/windows/{PHONE}/overview"),
        ] {
            let r = http.get(format!("{base}{path}")).bearer_auth(&token).send().await.unwrap();
            assert!(r.status().is_client_error(), "{path}");
        }
        client.sign_out().await.unwrap();
        local.close().await;
        second.close().await;
    });
    drop(runtime);
    drop(guard);

    // SIGTERM: a graceful stop flushes the server's log.
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }

    let mut logs = files_under(&server_data.join("logs"));
    logs.extend(files_under(&client_logs));
    logs.push(dir.path().join("server-stderr.log"));
    let mut scanned = 0;
    let mut debug_lines = 0;
    for log in &logs {
        let text = String::from_utf8_lossy(&std::fs::read(log).unwrap()).into_owned();
        scanned += text.lines().count();
        debug_lines += text.lines().filter(|l| l.contains("DEBUG")).count();
        for secret in [ID_NUMBER, "11010519491231002x", "110105194912310", PHONE, "138 1234 5678", NAME, "娜娜"] {
            let at = text.find(secret);
            assert!(
                at.is_none(),
                "{secret} in {}: {}",
                log.display(),
                text[at.unwrap().saturating_sub(300)..].lines().next().unwrap_or("")
            );
        }
    }
    eprintln!("scanned {scanned} log lines ({debug_lines} at debug) in {} files", logs.len());
    assert!(scanned > 100, "the logs were written ({scanned} lines in {logs:?})");
    assert!(debug_lines > 0, "debug level was on");
}

/// Sets up a local store with records made `days_ago`, acknowledged or not.
async fn append_case(local: &LocalStore, case: &Case, days_ago: i64) -> bianmin::api::RecordEnvelope {
    let at = Utc::now() - Days::days(days_ago);
    local.append("s001", 1, Post::A, &RecordBody::CaseSnapshot(Box::new(case.clone())), at).await.unwrap()
}

fn closed(mut case: Case) -> Case {
    case.status = CaseStatus::Closed;
    case
}

#[tokio::test]
async fn closed_cases_lose_their_applicant_after_the_configured_days_but_the_outbox_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("local.db");
    let local = LocalStore::open(&path, Utc::now()).await.unwrap().0;
    let long_ago = Utc::now() - Days::days(45);
    // Closed 40 days ago: purged (both its snapshots).
    let old = case_for("欧阳甲", "440524188001010014", Some("13900001111"), long_ago);
    append_case(&local, &old, 45).await;
    append_case(&local, &closed(old.clone()), 40).await;
    // Ended (不予受理) 40 days ago: purged.
    let mut ended = case_for("欧阳乙", "11010519491231002X", None, long_ago);
    ended.status = CaseStatus::Ended;
    // Its 代办人 is personal data too.
    ended.agent = Some(bianmin::domain::applicant::Agent::parse("司马己", "440524188001010014", "子女").unwrap());
    append_case(&local, &ended, 40).await;
    // Still open though old: kept.
    let open = case_for("欧阳丙", "440524188001010014", None, long_ago);
    append_case(&local, &open, 40).await;
    // Closed only 5 days ago: kept.
    let recent = case_for("欧阳丁", "440524188001010014", None, long_ago);
    append_case(&local, &closed(recent.clone()), 5).await;
    // Everything so far is on the server.
    let streams = local.streams().await.unwrap();
    let acked: Vec<StreamStatus> =
        streams.iter().map(|s| StreamStatus { device: s.device, stream: s.stream.clone(), last: s.max }).collect();
    local.set_acked(&acked).await.unwrap();
    // Closed 40 days ago but never uploaded: the outbox is uploaded as made.
    let unsent = case_for("欧阳戊", "440524188001010014", None, long_ago);
    let unsent_record = append_case(&local, &closed(unsent.clone()), 40).await;
    assert_eq!(local.pending().await.unwrap(), 1);

    let cutoff = Utc::now() - Days::days(30);
    assert_eq!(local.purge_personal_data(cutoff).await.unwrap(), 3);
    assert_eq!(local.purge_personal_data(cutoff).await.unwrap(), 0, "nothing left to do");
    assert_eq!(local.pending().await.unwrap(), 1);

    let all = local.records_between(local.device(), "w1/cases", 1, 100, 100).await.unwrap();
    let applicant_of = |id: uuid::Uuid| -> Vec<bool> {
        all.iter()
            .filter(|r| r.body["id"] == serde_json::json!(id))
            .map(|r| r.body.get("applicant").is_some())
            .collect()
    };
    assert_eq!(applicant_of(old.id), [false, false]);
    assert_eq!(applicant_of(ended.id), [false]);
    assert!(all.iter().all(|r| r.body.get("agent").is_none()), "the 代办人 is gone with the applicant");
    assert_eq!(applicant_of(open.id), [true]);
    assert_eq!(applicant_of(recent.id), [true]);
    assert_eq!(applicant_of(unsent.id), [true]);
    let unsent_now = all.iter().find(|r| r.id == unsent_record.id).unwrap();
    assert_eq!(unsent_now, &unsent_record, "the outbox record is exactly as made");
    // The rest of a purged snapshot is intact, and it still reads as a case.
    let purged =
        all.iter().find(|r| r.body["id"] == serde_json::json!(old.id) && r.body["status"] == "closed").unwrap();
    let RecordBody::CaseSnapshot(case) = serde_json::from_value(purged.body.clone()).unwrap() else { panic!() };
    assert_eq!((case.applicant, case.guide_code), (None, old.guide_code.clone()));
    local.close().await;

    // Not left behind in the file's free space or its write-ahead log either.
    for file in [path.clone(), PathBuf::from(format!("{}-wal", path.display()))] {
        if let Ok(bytes) = std::fs::read(&file) {
            for gone in ["欧阳甲", "欧阳乙", "司马己", "13900001111"] {
                assert!(!bytes.windows(gone.len()).any(|w| w == gone.as_bytes()), "{gone} still in {}", file.display());
            }
        }
    }
}
