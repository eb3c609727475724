//! The versioned record envelope (docs/record-format.md): records of schema 1 (Chinese state
//! values, no `schema` field) written by older terminals still decode, upload and replay; new
//! records carry stable ASCII codes and `schema: 2`; logs stored by an older server or terminal
//! are rewritten once, and the queries over them still find them.

use crate::common;

use std::path::Path;

use bianmin::api::{RECORD_SCHEMA, RecordEnvelope};
use bianmin::client::local::LocalStore;
use bianmin::domain::case::{Case, CaseStatus, MaterialCheck};
use bianmin::domain::center::Post;
use bianmin::domain::intake::{self, Opening};
use bianmin::domain::record::RecordBody;
use bianmin::server::service::records::append_records;
use chrono::{Duration as Days, Utc};
use common::server::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The codes of schema 2 and the Chinese values of schema 1 they replace, by the JSON key they sit
/// under. Pinned here on purpose: a code, once stored, never changes.
const CODES: &[(&str, &str, &str)] = &[
    ("status", "intake", "收件中"),
    ("status", "awaiting_materials", "待补正"),
    ("status", "accepted", "已受理"),
    ("status", "dispatched", "已分办"),
    ("status", "ready_for_delivery", "待出件"),
    ("status", "closed", "已办结"),
    ("status", "ended", "已终止"),
    ("state", "unchecked", "待核"),
    ("state", "received", "已收"),
    ("state", "missing", "缺"),
    ("state", "not_applicable", "不适用"),
    ("level", "very_satisfied", "非常满意"),
    ("level", "satisfied", "满意"),
    ("level", "basically_satisfied", "基本满意"),
    ("level", "dissatisfied", "不满意"),
    ("level", "very_dissatisfied", "非常不满意"),
    ("reason", "leave", "请假"),
    ("reason", "meeting", "会议"),
    ("reason", "training", "培训"),
    ("reason", "errand", "外出办事"),
    ("reason", "other", "其他"),
    ("outcome", "answered", "已解答"),
    ("outcome", "sent_to_window", "引导至窗口"),
    ("outcome", "ticket_issued", "已取号"),
    ("outcome", "referred_to_cannot_get_done", "转办不成事窗口"),
];

/// A JSON value as a terminal of schema 1 wrote it: every code back to its Chinese value.
fn to_schema_1(value: &Value) -> Value {
    fn walk(value: &Value, key: &str) -> Value {
        match value {
            Value::String(s) => CODES
                .iter()
                .find(|(k, code, _)| *k == key && code == s)
                .map_or_else(|| value.clone(), |(_, _, old)| Value::String((*old).into())),
            Value::Array(items) => Value::Array(items.iter().map(|v| walk(v, key)).collect()),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), walk(v, k))).collect()),
            other => other.clone(),
        }
    }
    walk(value, "")
}

/// Whether any Chinese value of schema 1 is left anywhere in `value` under its key.
fn has_schema_1_values(value: &Value) -> bool {
    fn walk(value: &Value, key: &str) -> bool {
        match value {
            Value::String(s) => CODES.iter().any(|(k, _, old)| *k == key && old == s),
            Value::Array(items) => items.iter().any(|v| walk(v, key)),
            Value::Object(map) => map.iter().any(|(k, v)| walk(v, k)),
            _ => false,
        }
    }
    walk(value, "")
}

/// An envelope exactly as a schema-1 terminal sent and stored it: no `schema`, Chinese values.
fn old_envelope(new: &RecordEnvelope) -> Value {
    let mut v = to_schema_1(&serde_json::to_value(new).unwrap());
    v.as_object_mut().unwrap().remove("schema");
    v
}

fn guide() -> bianmin::domain::guide::ServiceGuide {
    bianmin::assets::bundled_catalogue()
        .unwrap()
        .guides
        .into_iter()
        .find(|g| g.situations.is_empty() && g.materials.len() >= 2)
        .unwrap()
}

fn case(status: CaseStatus, opened: chrono::DateTime<Utc>) -> Case {
    let opening = Opening { window: 1, post: Post::A, staff_id: "s001", ticket: None };
    let mut case = intake::open_case(&guide(), None, &opening, uuid::Uuid::now_v7(), opened).unwrap();
    case.checklist.items[0].state = MaterialCheck::Received;
    case.checklist.items[1].state = MaterialCheck::Missing;
    case.status = status;
    case
}

fn envelope(device: uuid::Uuid, idx: u64, body: &RecordBody) -> RecordEnvelope {
    RecordEnvelope {
        schema: RECORD_SCHEMA,
        device,
        stream: bianmin::domain::record::stream_name(1, body.family()),
        idx,
        id: uuid::Uuid::now_v7(),
        created_at: Utc::now(),
        author: "s001".into(),
        window: 1,
        post: Post::A,
        body: serde_json::to_value(body).unwrap(),
    }
}

#[test]
fn records_of_schema_1_decode_and_new_ones_are_written_in_codes() {
    // Written by hand as a schema-1 terminal stored them.
    let rating = json!({
        "device": "0190d5a8-0000-7000-8000-000000000001", "stream": "w1/ratings", "idx": 1,
        "id": "0190d5a8-0000-7000-8000-000000000002", "created_at": "2026-03-02T01:00:00Z",
        "author": "s001", "window": 1, "post": "A",
        "body": {"kind": "rating_recorded", "id": "0190d5a8-0000-7000-8000-000000000003", "window": 1,
                 "staff": "s001", "level": "不满意", "rated_at": "2026-03-02T01:00:00Z"}
    });
    let inquiry = json!({"kind": "inquiry_recorded", "id": "0190d5a8-0000-7000-8000-000000000004",
        "question": "低保怎么办", "outcome": "引导至窗口", "window": 3, "first_responder": "d001",
        "asked_at": "2026-03-02T01:00:00Z"});
    let mut old: RecordEnvelope = serde_json::from_value(rating).unwrap();
    assert_eq!(old.schema, 1, "no schema field: schema 1");
    let Ok(RecordBody::RatingRecorded(r)) = serde_json::from_value(old.body.clone()) else { panic!("rating") };
    assert_eq!(r.level.label(), "不满意", "the display label is unchanged");
    assert!(matches!(
        serde_json::from_value::<RecordBody>(inquiry).unwrap(),
        RecordBody::InquiryRecorded(i) if i.outcome == bianmin::domain::inquiry::InquiryOutcome::SentToWindow { window: 3 }
    ));
    assert!(old.upgrade());
    assert_eq!((old.schema, &old.body["level"]), (2, &json!("dissatisfied")));
    assert!(!old.upgrade(), "schema 2 is left as it is");

    // Every code of the table, both ways, through the real record bodies.
    let mut new = case(CaseStatus::Accepted, Utc::now());
    new.applicant = Some(bianmin::domain::applicant::Applicant {
        name: "欧阳甲".into(),
        id_number: bianmin::domain::applicant::IdNumber::parse("440524188001010014").unwrap(),
        phone: Some(bianmin::domain::applicant::Phone::parse("13812345678").unwrap()),
    });
    new.deadline = Some(bianmin::domain::calendar::Deadline {
        date: chrono::NaiveDate::from_ymd_opt(2026, 3, 20).unwrap(),
        provisional: false,
    });
    // An upgrade keeps everything but the values' spelling (the applicant's data included).
    let mut upgraded: RecordEnvelope = serde_json::from_value(old_envelope(&envelope(
        uuid::Uuid::nil(),
        1,
        &RecordBody::CaseSnapshot(Box::new(new.clone())),
    )))
    .unwrap();
    assert!(upgraded.upgrade());
    assert_eq!(
        serde_json::from_value::<RecordBody>(upgraded.body).unwrap(),
        RecordBody::CaseSnapshot(Box::new(new.clone()))
    );
    let body = serde_json::to_value(RecordBody::CaseSnapshot(Box::new(new.clone()))).unwrap();
    assert_eq!((&body["status"], &body["checklist"]["items"][1]["state"]), (&json!("accepted"), &json!("missing")));
    let back: RecordBody = serde_json::from_value(to_schema_1(&body)).unwrap();
    assert_eq!(back, RecordBody::CaseSnapshot(Box::new(new)));
    for (key, code, old) in CODES {
        let decoded_old = match *key {
            "status" => serde_json::to_value(serde_json::from_value::<CaseStatus>(json!(old)).unwrap()),
            "state" => serde_json::to_value(serde_json::from_value::<MaterialCheck>(json!(old)).unwrap()),
            "level" => serde_json::to_value(
                serde_json::from_value::<bianmin::domain::rating::RatingLevel>(json!(old)).unwrap(),
            ),
            "reason" => serde_json::to_value(
                serde_json::from_value::<bianmin::domain::handover::AwayReason>(json!(old)).unwrap(),
            ),
            _ => {
                let o: bianmin::domain::inquiry::InquiryOutcome =
                    serde_json::from_value(json!({"outcome": old, "window": 1, "ticket": "A001"})).unwrap();
                serde_json::to_value(o).map(|v| v["outcome"].clone())
            }
        };
        assert_eq!(decoded_old.unwrap(), json!(code), "{old} is written as {code}");
    }
}

#[tokio::test]
async fn new_records_are_stored_with_the_schema_and_codes() {
    let dir = tempfile::tempdir().unwrap();
    let local = LocalStore::open(&dir.path().join("t.db"), Utc::now()).await.unwrap().0;
    let body = RecordBody::CaseSnapshot(Box::new(case(CaseStatus::Closed, Utc::now())));
    let made = local.append("s001", 1, Post::A, &body, Utc::now()).await.unwrap();
    local.close().await;
    let row = raw_local_envelopes(&dir.path().join("t.db")).await.pop().unwrap();
    assert_eq!((&row["schema"], &row["body"]["status"]), (&json!(2), &json!("closed")));
    assert!(!has_schema_1_values(&row));
    assert_eq!(made.schema, RECORD_SCHEMA);
}

async fn raw_local_envelopes(path: &Path) -> Vec<Value> {
    let pool = sqlx::SqlitePool::connect(&bianmin::config::sqlite_url(path)).await.unwrap();
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT envelope FROM records ORDER BY rowid").fetch_all(&pool).await.unwrap();
    pool.close().await;
    rows.iter().map(|r| serde_json::from_str(r).unwrap()).collect()
}

/// Posts a batch as raw JSON, the way a terminal of schema 1 sends it.
async fn post_raw(server: &TestServer, token: &str, records: Vec<Value>) -> StatusCode {
    server
        .http
        .post(server.url("/api/v1/records"))
        .bearer_auth(token)
        .header(bianmin::api::VERSION_HEADER, bianmin::api::API_VERSION)
        .json(&json!({"records": records}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn an_old_terminals_record_is_accepted_and_replays_across_formats_are_no_conflict() {
    let server = TestServer::start().await;
    let token = server.sign_in("s001").await;
    let device = uuid::Uuid::now_v7();
    let new = envelope(device, 1, &RecordBody::CaseSnapshot(Box::new(case(CaseStatus::Accepted, Utc::now()))));
    let old = old_envelope(&new);
    assert!(has_schema_1_values(&old) && old.get("schema").is_none());

    assert_eq!(post_raw(&server, &token, vec![old.clone()]).await, StatusCode::OK, "an old terminal's upload");
    // The same record, re-sent by the terminal after its upgrade, and once more as it was.
    assert_eq!(post_raw(&server, &token, vec![serde_json::to_value(&new).unwrap()]).await, StatusCode::OK);
    assert_eq!(post_raw(&server, &token, vec![old.clone()]).await, StatusCode::OK);
    // A different record at that place is still refused.
    let mut other = new.clone();
    other.id = uuid::Uuid::now_v7();
    assert_eq!(post_raw(&server, &token, vec![serde_json::to_value(&other).unwrap()]).await, StatusCode::CONFLICT);

    let pool = sqlx::SqlitePool::connect(&server.db_url).await.unwrap();
    let stored: Vec<String> = sqlx::query_scalar("SELECT envelope FROM device_records").fetch_all(&pool).await.unwrap();
    assert_eq!(stored.len(), 1, "stored once");
    let stored: Value = serde_json::from_str(&stored[0]).unwrap();
    assert_eq!(stored["schema"], json!(2), "kept in the current schema");
    assert!(!has_schema_1_values(&stored), "{stored}");
    let status: String = sqlx::query_scalar("SELECT status FROM cases").fetch_one(&pool).await.unwrap();
    assert_eq!(status, "accepted");
    pool.close().await;
    let open = server.state.store.open_cases(1).await.unwrap();
    assert_eq!(open.len(), 1, "the old terminal's case is found by the open-cases query");
    server.stop().await;
}

/// A server database as schema 1 left it: migrated up to 0011, with rows an older server wrote.
async fn schema_1_server_db(url: &str) -> (RecordEnvelope, Case, uuid::Uuid) {
    use sqlx::sqlite::SqliteConnectOptions;
    use std::str::FromStr;
    let pool = sqlx::SqlitePool::connect_with(SqliteConnectOptions::from_str(url).unwrap().create_if_missing(true))
        .await
        .unwrap();
    let mut migrator = sqlx::migrate::Migrator::new(Path::new("migrations/sqlite")).await.unwrap();
    migrator.migrations = migrator.migrations.iter().filter(|m| m.version < 12).cloned().collect::<Vec<_>>().into();
    migrator.run(&pool).await.unwrap();
    // An older server seeded its center when it first started, before it stored any record.
    let center = bianmin::server::seed::bundled_seed().unwrap().center;
    sqlx::query("INSERT INTO center (id, body) VALUES (?, ?)")
        .bind(&center.id)
        .bind(serde_json::to_string(&center).unwrap())
        .execute(&pool)
        .await
        .unwrap();

    let device = uuid::Uuid::now_v7();
    let open = case(CaseStatus::Dispatched, Utc::now());
    let record = envelope(device, 1, &RecordBody::CaseSnapshot(Box::new(open.clone())));
    let old_record = old_envelope(&record);
    sqlx::query(
        "INSERT INTO device_records (device, stream, idx, id, window_no, kind, author, post, created_at, received_at, envelope) \
         VALUES (?, ?, 1, ?, 1, 'case_snapshot', 's001', 'A岗', ?, ?, ?)",
    )
    .bind(device.to_string())
    .bind(&record.stream)
    .bind(record.id.to_string())
    .bind(record.created_at.timestamp())
    .bind(record.created_at.timestamp())
    .bind(old_record.to_string())
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO cases (id, window_no, status, opened_at, updated_at, body) VALUES (?, 1, '已分办', ?, ?, ?)",
    )
    .bind(open.id.to_string())
    .bind(open.opened_at.timestamp())
    .bind(record.created_at.timestamp_micros())
    .bind(to_schema_1(&serde_json::to_value(&open).unwrap()).to_string())
    .execute(&pool)
    .await
    .unwrap();
    let rating_id = uuid::Uuid::now_v7();
    let rating = json!({"id": rating_id, "window": 1, "staff": "s001", "level": "非常不满意",
        "rated_at": "2026-03-02T01:00:00Z"});
    sqlx::query(
        "INSERT INTO ratings (id, window_no, staff_id, case_id, level, bad, rated_at, body) VALUES (?, 1, 's001', NULL, '非常不满意', 1, 0, ?)",
    )
    .bind(rating_id.to_string())
    .bind(rating.to_string())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    (record, open, rating_id)
}

#[tokio::test]
async fn a_server_database_of_schema_1_is_rewritten_once_and_its_queries_find_the_old_rows() {
    let dir = tempfile::tempdir().unwrap();
    let url = bianmin::config::sqlite_url(&dir.path().join("server.db"));
    let (record, open, rating_id) = schema_1_server_db(&url).await;

    let store = bianmin::server::store::open(&url).await.unwrap();
    let found = store.open_cases(1).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), [open.id], "the old open case is found");
    assert_eq!(found[0], open);
    let back = store.records(record.device, &record.stream, 1, 10).await.unwrap();
    assert_eq!(back, std::slice::from_ref(&record), "the stored log reads back in schema 2, identical to a new record");
    // Replays across formats, after the rewrite, are replays.
    let mut old_again: RecordEnvelope = serde_json::from_value(old_envelope(&record)).unwrap();
    assert_eq!(old_again.schema, 1);
    append_records(store.as_ref(), &[old_again.clone()], 0, &crate::common::server::clerk("s001")).await.unwrap();
    append_records(store.as_ref(), std::slice::from_ref(&record), 0, &crate::common::server::clerk("s001"))
        .await
        .unwrap();
    old_again.id = uuid::Uuid::now_v7();
    assert!(
        append_records(store.as_ref(), &[old_again], 0, &crate::common::server::clerk("s001")).await.is_err(),
        "another record at the place"
    );
    drop(store);

    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let envelope: String = sqlx::query_scalar("SELECT envelope FROM device_records").fetch_one(&pool).await.unwrap();
    let envelope: Value = serde_json::from_str(&envelope).unwrap();
    assert!(envelope["schema"] == json!(2) && !has_schema_1_values(&envelope), "{envelope}");
    let (status, body): (String, String) =
        sqlx::query_as("SELECT status, body FROM cases").fetch_one(&pool).await.unwrap();
    assert_eq!(status, "dispatched");
    assert!(!has_schema_1_values(&serde_json::from_str(&body).unwrap()), "{body}");
    let (level, body): (String, String) = sqlx::query_as("SELECT level, body FROM ratings WHERE id = ?")
        .bind(rating_id.to_string())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        (level.as_str(), serde_json::from_str::<Value>(&body).unwrap()["level"].clone()),
        ("very_dissatisfied", json!("very_dissatisfied"))
    );
    let post: String = sqlx::query_scalar("SELECT post FROM device_records").fetch_one(&pool).await.unwrap();
    assert_eq!(post, "A");
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pending_upgrades").fetch_one(&pool).await.unwrap();
    assert_eq!(pending, 0, "done once");
    pool.close().await;
}

#[tokio::test]
async fn a_terminal_log_of_schema_1_is_rewritten_and_its_queries_find_the_old_records() {
    use sqlx::sqlite::SqliteConnectOptions;
    use std::str::FromStr;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let url = bianmin::config::sqlite_url(&path);
    let pool = sqlx::SqlitePool::connect_with(SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true))
        .await
        .unwrap();
    let mut migrator = sqlx::migrate::Migrator::new(Path::new("migrations/local")).await.unwrap();
    migrator.migrations = migrator.migrations.iter().filter(|m| m.version < 2).cloned().collect::<Vec<_>>().into();
    migrator.run(&pool).await.unwrap();
    let device = uuid::Uuid::now_v7();
    sqlx::query("INSERT INTO kv (key, value) VALUES ('device', ?)")
        .bind(device.to_string())
        .execute(&pool)
        .await
        .unwrap();
    // A case closed 40 days ago (uploaded: the purge's business), and an open one not uploaded yet.
    let long_ago = Utc::now() - Days::days(45);
    let mut open = case(CaseStatus::AwaitingMaterials, long_ago);
    open.applicant = None;
    let mut closed = case(CaseStatus::Closed, long_ago);
    closed.applicant = Some(bianmin::domain::applicant::Applicant {
        name: "欧阳甲".into(),
        id_number: bianmin::domain::applicant::IdNumber::parse("440524188001010014").unwrap(),
        phone: None,
    });
    let mut made = Vec::new();
    for (idx, c) in [(1, &closed), (2, &open)] {
        let mut e = envelope(device, idx, &RecordBody::CaseSnapshot(Box::new(c.clone())));
        e.created_at = Utc::now() - Days::days(40);
        sqlx::query(
            "INSERT INTO records (device, stream, idx, id, window_no, kind, created_at, envelope) \
             VALUES (?, ?, ?, ?, 1, 'case_snapshot', ?, ?)",
        )
        .bind(device.to_string())
        .bind(&e.stream)
        .bind(idx as i64)
        .bind(e.id.to_string())
        .bind(e.created_at.timestamp())
        .bind(old_envelope(&e).to_string())
        .execute(&pool)
        .await
        .unwrap();
        made.push(e);
    }
    sqlx::query("INSERT INTO acked (device, stream, last) VALUES (?, 'w1/cases', 1)")
        .bind(device.to_string())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert!(raw_local_envelopes(&path).await.iter().all(has_schema_1_values));

    let local = LocalStore::open(&path, Utc::now()).await.unwrap().0;
    assert_eq!(local.device(), device);
    let pending = local.pending_cases(1).await.unwrap();
    assert_eq!(pending.iter().map(|c| c.id).collect::<Vec<_>>(), [open.id], "the old open case is found");
    assert_eq!(local.purge_personal_data(Utc::now() - Days::days(30)).await.unwrap(), 1, "the old closed case");
    local.close().await;
    let rows = raw_local_envelopes(&path).await;
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert!(row["schema"] == json!(2) && !has_schema_1_values(row), "{row}");
    }
    assert_eq!(rows[0]["body"]["status"], json!("closed"));
    assert!(rows[0]["body"].get("applicant").is_none(), "purged");
    // Reopening does not rewrite again (the marker is gone); the records read back as made.
    let local = LocalStore::open(&path, Utc::now()).await.unwrap().0;
    let back = local.records_between(device, "w1/cases", 2, 2, 10).await.unwrap();
    assert_eq!(back, [made[1].clone()], "the unsent record reads as a new one made now would");
    local.close().await;
}
