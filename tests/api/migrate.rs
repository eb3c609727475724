//! `bianmin migrate --from sqlite://... --to postgres://...` with the real binary: a center's
//! server database, filled through the API (queue, a case, a handover, visits, sessions, a failed
//! sign-in), moved to a fresh PostgreSQL database; then `bianmin serve` on that database serves
//! the center as before. Checked, resumable after kill -9, refusing to run twice or onto another
//! center, stopping on a mismatch or on a table the county schema lacks. Skipped without
//! PostgreSQL (see `tests/common/postgres.rs`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use bianmin::api::queue::IssueTicket;
use bianmin::client::ApiClient;
use bianmin::client::local::LocalStore;
use bianmin::client::sync::sync_logs;
use bianmin::config::sqlite_url;
use bianmin::domain::center::Post;
use bianmin::domain::record::{RecordBody, Visit};
use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::postgres::TempPgDatabase;
use crate::common::server::{ServerProcess, TestServer, db_count, signed_in_client};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");

/// A center's server database after some work, and what its clients saw of it.
struct Center {
    /// Holds the server's database (`server.db`).
    dir: tempfile::TempDir,
    _terminal: tempfile::TempDir,
    db_url: String,
    /// s001's terminal at window 1, synced with the center's server.
    local: LocalStore,
    queue: Value,
    overview: Value,
    handovers: Value,
    streams: Value,
}

/// A center's server with a day's work on window 1: tickets issued, called and finished, a case
/// opened, an A-to-B handover, `visits` visits, a failed sign-in; the server then stopped.
async fn a_center_after_a_days_work(visits: usize) -> Center {
    let server = TestServer::start().await;
    let admin = signed_in_client(&server.base, "admin").await;
    for _ in 0..4 {
        admin.issue_ticket(&IssueTicket::new('A')).await.unwrap();
    }
    admin.call_next(1).await.unwrap();
    admin.finish_service(1).await.unwrap();
    admin.call_next(1).await.unwrap();

    let terminal = tempfile::tempdir().unwrap();
    let (local, _) = LocalStore::open(&terminal.path().join("a.db"), Utc::now()).await.unwrap();
    let a = signed_in_client(&server.base, "s001").await;
    let case = crate::cases::opened(1, "s001");
    local.append("s001", 1, Post::A, &RecordBody::CaseSnapshot(Box::new(case)), Utc::now()).await.unwrap();
    for i in 0..visits {
        let body = RecordBody::Visit(Visit::new(&format!("来访{i}"), "咨询").unwrap());
        local.append("s001", 1, Post::A, &body, Utc::now()).await.unwrap();
    }
    let handover = crate::sync::errand_handover();
    local.append("s001", 1, Post::A, &RecordBody::HandoverWritten(Box::new(handover)), Utc::now()).await.unwrap();
    for _ in 0..50 {
        if sync_logs(&a, &local, 1).await.unwrap().pending == 0 {
            break;
        }
    }
    assert_eq!(local.pending().await.unwrap(), 0, "the terminal's log is all on the server");
    let wrong = server
        .http
        .post(server.url("/api/v1/session"))
        .json(&json!({"staff_id": "s003", "password": "not-the-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let b = signed_in_client(&server.base, "s002").await;
    let (queue, overview, handovers, streams) = seen(&admin, &b, &local).await;
    assert!(overview["unacknowledged_handover"].is_object(), "B is told of the handover: {overview}");
    assert_eq!(overview["open_cases"].as_array().unwrap().len(), 1);
    let db_url = server.db_url.clone();
    let dir = server.stop().await.unwrap();
    Center { dir, _terminal: terminal, db_url, local, queue, overview, handovers, streams }
}

/// What the clients see: the queue, window 1 as its B post sees it (case, handover), the handover
/// history, and the server's heads of the window's logs and the terminal's.
async fn seen(admin: &ApiClient, b: &ApiClient, local: &LocalStore) -> (Value, Value, Value, Value) {
    let queue = serde_json::to_value(admin.queue().await.unwrap()).unwrap();
    let overview = serde_json::to_value(b.window_overview(1).await.unwrap()).unwrap();
    let handovers = serde_json::to_value(b.handovers(1).await.unwrap()).unwrap();
    let streams = serde_json::to_value(b.sync_status(1, local.device()).await.unwrap()).unwrap();
    (queue, overview, handovers, streams)
}

fn migrate(from: &str, to: &str, extra: &[&str], sandbox: &Path) -> Output {
    Command::new(BIN)
        .args(["migrate", "--from", from, "--to", to])
        .args(extra)
        .env("BIANMIN_DATA_DIR", sandbox)
        .env("HOME", sandbox)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Per copied table: the checked row count and digest the run recorded (empty before it finished).
async fn recorded_checks(url: &str) -> Vec<(String, Option<i64>, Option<String>)> {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let rows = sqlx::query_as("SELECT table_name, checked_rows, digest FROM migration_progress ORDER BY table_name")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows
}

async fn execute(url: &str, sql: &str) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::raw_sql(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

async fn finished_runs(url: &str) -> i64 {
    db_count(url, "SELECT COUNT(*) FROM migration_runs WHERE finished_at IS NOT NULL").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_center_moves_to_the_county_server_and_is_served_there_as_before() {
    let Some(county) = TempPgDatabase::create().await else { return };
    let center = a_center_after_a_days_work(30).await;
    let sandbox = center.dir.path();

    // A dry run lists the tables with their rows and changes nothing.
    let dry = migrate(&center.db_url, &county.url, &["--dry-run"], sandbox);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let out = text(&dry.stdout);
    let device_records = db_count(&center.db_url, "SELECT COUNT(*) FROM device_records").await;
    assert_eq!(device_records, 32, "a case, 30 visits and a handover");
    assert!(out.contains("试运行") && out.contains(&format!("device_records\t{device_records} 行")), "{out}");
    assert!(out.contains("正式运行将从头开始迁移"), "{out}");
    assert_eq!(db_count(&county.url, "SELECT COUNT(*) FROM migration_runs").await, 0);
    assert_eq!(db_count(&county.url, "SELECT COUNT(*) FROM device_records").await, 0);

    let run = migrate(&center.db_url, &county.url, &[], sandbox);
    let (out, err) = (text(&run.stdout), text(&run.stderr));
    assert!(run.status.success(), "{out}\n{err}");
    assert!(out.contains("迁移完成") && out.contains("内容摘要两边一致"), "{out}");
    assert!(err.contains(&format!("复制表 device_records：{device_records}/{device_records} 行")), "{err}");
    assert!(err.contains("不迁移表 meta"), "what stays behind is said: {err}");
    assert_eq!(finished_runs(&county.url).await, 1);
    for table in ["device_records", "queue_tickets", "handovers", "cases", "audit", "login_failures", "sessions"] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let rows = db_count(&center.db_url, &sql).await;
        assert!(rows > 0, "the fixture fills {table}");
        assert_eq!(db_count(&county.url, &sql).await, rows, "{table}: each row once");
    }
    // Generated ids continue where the center's left off: after every audit id it handed out
    // (AUTOINCREMENT on SQLite), after the largest of the others.
    let next = |seq: &str| format!("SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM {seq}");
    let handed_out = db_count(&center.db_url, "SELECT seq FROM sqlite_sequence WHERE name = 'audit'").await;
    assert_eq!(db_count(&county.url, &next("audit_id_seq")).await, handed_out + 1);
    for (table, column) in [("login_failures", "id"), ("handover_acks", "seq")] {
        let max = db_count(&center.db_url, &format!("SELECT COALESCE(MAX({column}), 0) FROM {table}")).await;
        assert_eq!(db_count(&county.url, &next(&format!("{table}_{column}_seq"))).await, max + 1, "{table}");
    }

    // The county server serves the center: same password, same queue, case, handover, logs.
    let server = ServerProcess::start(BIN, sandbox, &county.url, 0);
    let admin = signed_in_client(&server.base(), "admin").await;
    let b = signed_in_client(&server.base(), "s002").await;
    let (queue, overview, handovers, streams) = seen(&admin, &b, &center.local).await;
    assert_eq!(queue, center.queue);
    assert_eq!(overview, center.overview);
    assert_eq!(handovers, center.handovers);
    assert_eq!(streams, center.streams);
    // The terminal that synced with the center's server replays nothing and gets nothing twice.
    let a = signed_in_client(&server.base(), "s001").await;
    let outcome = sync_logs(&a, &center.local, 1).await.unwrap();
    assert_eq!((outcome.uploaded, outcome.downloaded, outcome.pending), (0, 0, 0));
    assert_eq!(db_count(&county.url, "SELECT COUNT(*) FROM device_records").await, device_records);

    // Generated ids go on after the copied ones: new audit lines and failed sign-ins are stored.
    let max_failure = db_count(&county.url, "SELECT MAX(id) FROM login_failures").await;
    let max_audit = db_count(&county.url, "SELECT MAX(id) FROM audit").await;
    let wrong = reqwest::Client::new()
        .post(format!("{}/api/v1/session", server.base()))
        .json(&json!({"staff_id": "s003", "password": "still-not-it"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let newer = format!("SELECT COUNT(*) FROM login_failures WHERE id > {max_failure}");
    assert_eq!(db_count(&county.url, &newer).await, 1, "stored, no id collision");
    let body = RecordBody::Visit(Visit::new("迁移后来访", "咨询").unwrap());
    center.local.append("s001", 1, Post::A, &body, Utc::now()).await.unwrap();
    assert_eq!(sync_logs(&a, &center.local, 1).await.unwrap().uploaded, 1, "the log goes on where it was");
    assert!(db_count(&county.url, "SELECT MAX(id) FROM audit").await > max_audit, "its audit lines after the copied");
    server.kill();

    // A second run says the center was moved and changes nothing.
    let before = recorded_checks(&county.url).await;
    let tickets = db_count(&county.url, "SELECT COUNT(*) FROM queue_tickets").await;
    let again = migrate(&center.db_url, &county.url, &[], sandbox);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("已于") && text(&again.stderr).contains("不再重复迁移"),
        "{}",
        text(&again.stderr)
    );
    assert!(!text(&again.stdout).contains("迁移完成"));
    assert_eq!(recorded_checks(&county.url).await, before);
    assert_eq!(db_count(&county.url, "SELECT COUNT(*) FROM queue_tickets").await, tickets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_killed_midway_continues_and_ends_as_an_uninterrupted_one() {
    let Some(killed) = TempPgDatabase::create().await else { return };
    let Some(whole) = TempPgDatabase::create().await else { return };
    let center = a_center_after_a_days_work(400).await;
    let sandbox = center.dir.path();
    let total = db_count(&center.db_url, "SELECT COUNT(*) FROM device_records").await;

    // Killed (SIGKILL) right after a batch of the device logs was reported copied.
    let mut child = Command::new(BIN)
        .args(["migrate", "--from", &center.db_url, "--to", &killed.url, "--batch-size", "10"])
        .env("BIANMIN_DATA_DIR", sandbox)
        .env("HOME", sandbox)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.starts_with("复制表 device_records：") && !line.starts_with("复制表 device_records：0/") {
            child.kill().unwrap();
            break;
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed before the end: {seen:?}");
    let copied = db_count(&killed.url, "SELECT COUNT(*) FROM device_records").await;
    assert!(copied > 0 && copied < total, "killed midway: {copied} of {total}");
    assert_eq!(finished_runs(&killed.url).await, 0, "not reported done");

    let resumed = migrate(&center.db_url, &killed.url, &[], sandbox);
    let err = text(&resumed.stderr);
    assert!(resumed.status.success(), "{err}");
    assert!(err.contains("接着上次中断的迁移继续"), "{err}");
    let uninterrupted = migrate(&center.db_url, &whole.url, &[], sandbox);
    assert!(uninterrupted.status.success(), "{}", text(&uninterrupted.stderr));

    let checks = recorded_checks(&killed.url).await;
    assert!(checks.iter().all(|(_, rows, digest)| rows.is_some() && digest.is_some()), "{checks:?}");
    assert_eq!(checks, recorded_checks(&whole.url).await, "same rows, same content, table for table");
    assert_eq!(db_count(&killed.url, "SELECT COUNT(*) FROM device_records").await, total, "nothing doubled");
    let copied_count = "SELECT rows_copied FROM migration_progress WHERE table_name = 'device_records'";
    assert_eq!(db_count(&killed.url, copied_count).await, total, "progress counted each row once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_that_does_not_match_stops_naming_the_table_and_is_not_done() {
    let Some(county) = TempPgDatabase::create().await else { return };
    let center = a_center_after_a_days_work(5).await;
    let sandbox = center.dir.path();
    // The county schema first (a dry run migrates it), then something that alters one table's
    // rows on the way in, as a faulty copy would.
    assert!(migrate(&center.db_url, &county.url, &["--dry-run"], sandbox).status.success());
    execute(
        &county.url,
        "CREATE FUNCTION garble() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN NEW.body := NEW.body || ' '; RETURN NEW; END $$; \
         CREATE TRIGGER garble BEFORE INSERT ON visits FOR EACH ROW EXECUTE FUNCTION garble();",
    )
    .await;
    let run = migrate(&center.db_url, &county.url, &[], sandbox);
    let err = text(&run.stderr);
    assert!(!run.status.success());
    assert!(err.contains("校验失败：表 visits 两边不一致"), "{err}");
    assert!(!text(&run.stdout).contains("迁移完成"));
    assert_eq!(finished_runs(&county.url).await, 0, "not reported done");

    // Run again, it checks again and stops again; a fault is never waved through.
    let again = migrate(&center.db_url, &county.url, &[], sandbox);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("校验失败：表 visits"), "{}", text(&again.stderr));
    assert_eq!(finished_runs(&county.url).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_the_county_schema_lacks_stops_the_migration_before_copying() {
    let Some(county) = TempPgDatabase::create().await else { return };
    let center = a_center_after_a_days_work(1).await;
    let sandbox = center.dir.path();
    // As a new SQLite migration without its PostgreSQL counterpart would leave it.
    let pool = sqlx::SqlitePool::connect(&center.db_url).await.unwrap();
    sqlx::query("CREATE TABLE stamps (id TEXT PRIMARY KEY, body TEXT NOT NULL)").execute(&pool).await.unwrap();
    sqlx::query("INSERT INTO stamps VALUES ('x', '{}')").execute(&pool).await.unwrap();
    pool.close().await;
    let run = migrate(&center.db_url, &county.url, &[], sandbox);
    let err = text(&run.stderr);
    assert!(!run.status.success());
    assert!(err.contains("源库的表 stamps 在县级库中没有对应的表"), "{err}");
    assert_eq!(db_count(&county.url, "SELECT COUNT(*) FROM migration_runs").await, 0);
    assert_eq!(db_count(&county.url, "SELECT COUNT(*) FROM center").await, 0, "nothing copied");
}

/// Two townships' databases (two centers, their own staff) move into one county database one
/// after the other; each run checks out against its own source, the second keeps the county's
/// catalogue, and both centers are then served from it side by side. A source whose staff ids
/// the county already has is refused first, untouched; a second run of either is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_townships_move_into_one_county_database_one_after_the_other() {
    let Some(county) = TempPgDatabase::create().await else { return };
    let first = a_center_after_a_days_work(3).await;
    let second = a_center_after_a_days_work(2).await;
    rename_center(&second.db_url, "another-center").await;
    let ok = migrate(&first.db_url, &county.url, &[], first.dir.path());
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let checks = recorded_checks(&county.url).await;

    // Both townships were seeded with the same staff ids: the county cannot tell them apart.
    let clash = migrate(&second.db_url, &county.url, &[], second.dir.path());
    let err = text(&clash.stderr);
    assert!(!clash.status.success());
    assert!(err.contains("员工编号") && err.contains("本次未做任何改动"), "{err}");
    assert_eq!(recorded_checks(&county.url).await, checks, "nothing changed");

    rename_staff(&second.db_url, "b-").await;
    let run = migrate(&second.db_url, &county.url, &[], second.dir.path());
    let err = text(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("表 guides 为全县共用") && err.contains("保留县级的"), "{err}");
    assert_eq!(finished_runs(&county.url).await, 2);

    // Each center's rows, as many as in its own database; the queue revision is per center.
    for (source, center) in [(&first.db_url, "qingshi"), (&second.db_url, "another-center")] {
        for table in
            ["device_records", "stream_heads", "cases", "queue_tickets", "handovers", "audit", "visits", "staff"]
        {
            let had = db_count(source, &format!("SELECT COUNT(*) FROM {table}")).await;
            let has =
                db_count(&county.url, &format!("SELECT COUNT(*) FROM {table} WHERE center_id = '{center}'")).await;
            assert_eq!(has, had, "{center}: {table}");
            assert!(had > 0, "{center}: {table} has rows to move");
        }
        let rev = "SELECT rev FROM queue_revision";
        let county_rev = format!("SELECT rev FROM queue_revision WHERE center_id = '{center}'");
        assert_eq!(db_count(&county.url, &county_rev).await, db_count(source, rev).await, "{center}: revision");
    }
    let audit = db_count(&county.url, "SELECT COUNT(DISTINCT id) FROM audit").await;
    assert_eq!(audit, db_count(&county.url, "SELECT COUNT(*) FROM audit").await);

    // Served from the county database, each center sees its own, as its clients saw it.
    let store = bianmin::server::store::open(&county.url).await.unwrap();
    for (center, was) in [("qingshi", &first), ("another-center", &second)] {
        let bound = store.for_center(center);
        let handovers = serde_json::to_value(bound.handovers(1, 50).await.unwrap()).unwrap();
        assert_eq!(handovers, was.handovers, "{center}: handovers as before");
        assert_eq!(bound.open_cases(1).await.unwrap().len(), 1, "{center}: its one open case");
        let streams = serde_json::to_value(bound.stream_status(1, Some(was.local.device())).await.unwrap()).unwrap();
        assert_eq!(streams, was.streams["streams"], "{center}: the logs' heads as before");
        // A new audit line takes an id no migrated line has.
        let entry = bianmin::api::accounts::AuditEntry {
            id: 0,
            at: Utc::now(),
            claimed_at: None,
            staff_id: "admin".into(),
            window: None,
            action: "test".into(),
            target_kind: "center".into(),
            target_id: center.into(),
            addr: None,
            count: 1,
        };
        bound.append_audit(&entry).await.unwrap();
    }

    // Once each.
    for (source, dir) in [(&first.db_url, first.dir.path()), (&second.db_url, second.dir.path())] {
        let again = migrate(source, &county.url, &[], dir);
        assert!(!again.status.success());
        assert!(text(&again.stderr).contains("不再重复迁移"), "{}", text(&again.stderr));
    }
    assert_eq!(finished_runs(&county.url).await, 2);
}

/// Gives every staff id of a SQLite server database `prefix`, everywhere a column names one (as a
/// township with ids of its own would have them).
async fn rename_staff(url: &str, prefix: &str) {
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("PRAGMA defer_foreign_keys = ON").execute(&mut *tx).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c \
         WHERE m.type = 'table' AND c.name = 'staff_id'",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    for table in tables {
        sqlx::query(&format!("UPDATE {table} SET staff_id = ?1 || staff_id"))
            .bind(prefix)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE staff SET id = ?1 || id").bind(prefix).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    pool.close().await;
}

/// Renames the center of a SQLite server database everywhere it is named, in one transaction:
/// every center-owned row refers to the center, so the key cannot change alone.
async fn rename_center(url: &str, to: &str) {
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("PRAGMA defer_foreign_keys = ON").execute(&mut *tx).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c \
         WHERE m.type = 'table' AND c.name = 'center_id'",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    for table in tables {
        sqlx::query(&format!("UPDATE {table} SET center_id = ?1 WHERE center_id IS NOT NULL"))
            .bind(to)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE center SET id = ?1").bind(to).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    pool.close().await;
}

#[test]
fn a_missing_source_file_is_not_created_and_migrated_empty() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.db");
    let run = migrate(&sqlite_url(&missing), "postgres://127.0.0.1:1/none", &[], dir.path());
    assert!(!run.status.success());
    assert!(text(&run.stderr).contains("源数据库文件不存在"), "{}", text(&run.stderr));
    assert!(!missing.exists());
}

/// A value SQLite stored in a column of another type (its columns take anything) is not coerced
/// on the way: the run stops naming the table and column, and is not marked done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_of_the_wrong_type_in_the_source_stops_the_run_naming_it() {
    let Some(county) = TempPgDatabase::create().await else { return };
    let center = a_center_after_a_days_work(3).await;
    let pool = sqlx::SqlitePool::connect(&center.db_url).await.unwrap();
    sqlx::query("UPDATE visits SET created_at = 'gestern' WHERE rowid = (SELECT MIN(rowid) FROM visits)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let run = migrate(&center.db_url, &county.url, &[], center.dir.path());
    let err = text(&run.stderr);
    assert!(!run.status.success());
    assert!(err.contains("表 visits 列 created_at 的值无法读取"), "{err}");
    assert_eq!(finished_runs(&county.url).await, 0);
}

/// A county server writing into a table the migration is filling (here the county's own audit
/// line, while the center's audit lines are copied in batches) is never handed an id a copied
/// line has: the sequence is set past them in the first batch's transaction, even though the
/// county's table was empty. And a source line that names no center is not left behind
/// silently: the run says how many, per table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_county_server_writing_meanwhile_gets_no_copied_id_and_lines_of_no_center_are_counted() {
    use bianmin::server::store::migrate::{self, MigrateOptions, Outcome};
    let Some(county) = TempPgDatabase::create().await else { return };
    let center = a_center_after_a_days_work(1).await;
    let source = sqlx::SqlitePool::connect(&center.db_url).await.unwrap();
    sqlx::query(
        "INSERT INTO audit (at, staff_id, action, target_kind, target_id, count, center_id) \
         VALUES (?, 'county-1', 'staff_added', 'staff', 'x', 1, NULL)",
    )
    .bind(Utc::now().timestamp())
    .execute(&source)
    .await
    .unwrap();
    let copied: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit WHERE center_id IS NOT NULL").fetch_one(&source).await.unwrap();
    source.close().await;
    assert!(copied > 4, "the audit table takes several batches ({copied} lines)");

    let target = bianmin::server::store::open(&county.url).await.unwrap().for_county();
    let entry = bianmin::api::accounts::AuditEntry {
        id: 0,
        at: Utc::now(),
        claimed_at: None,
        staff_id: "county-admin".into(),
        window: None,
        action: "written_meanwhile".into(),
        target_kind: "test".into(),
        target_id: "1".into(),
        addr: None,
        count: 1,
    };
    let mut written: Vec<Result<(), String>> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    let mut progress = |line: String| {
        if line.starts_with("复制表 audit：") && written.is_empty() {
            // The county server's write, between two batches of the copy.
            let (store, entry) = (target.clone(), entry.clone());
            let done = tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(async move { store.append_audit(&entry).await })
            });
            written.push(done.map_err(|e| e.to_string()));
        }
        lines.push(line);
    };
    let options = MigrateOptions { from: center.db_url.clone(), to: county.url.clone(), dry_run: false, batch_size: 2 };
    let outcome = migrate::migrate(&options, &mut progress).await;
    assert_eq!(written, [Ok(())], "the county's line was written meanwhile");
    let Ok(Outcome::Done { without_center, .. }) = outcome else { panic!("{outcome:?}") };
    assert_eq!(without_center, [("audit".to_owned(), 1)]);
    assert!(lines.iter().any(|l| l.contains("不迁移表 audit 中不属于任何中心的 1 行")), "{lines:#?}");
    let county_lines = "SELECT COUNT(*) FROM audit WHERE center_id IS NULL AND action = 'written_meanwhile'";
    assert_eq!(db_count(&county.url, county_lines).await, 1);
    let moved = "SELECT COUNT(*) FROM audit WHERE center_id = 'qingshi'";
    assert_eq!(db_count(&county.url, moved).await, copied, "every line of the center, beside the county's");
}
