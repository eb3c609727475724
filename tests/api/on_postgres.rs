//! The server's API tests that matter most for a second backend, run on PostgreSQL: call-next
//! with many windows at once and with several servers on one database, idempotent record upload,
//! and sync in both directions. Each is the same test body as on SQLite (in `queue` and `sync`),
//! on a fresh PostgreSQL database; skipped without one (see `tests/common/postgres.rs`). And the
//! real `bianmin serve --database postgres://...` binary: end to end, killed mid-upload, restarted
//! with a handover waiting to upload, stopped by SIGTERM, and on a full disk.

use bianmin::api::queue::IssueTicket;
use bianmin::client::local::LocalStore;
use bianmin::domain::center::Post;
use bianmin::domain::record::{RecordBody, Visit};
use bianmin::domain::ticket::TicketStatus;
use chrono::Utc;
use sqlx::{Connection, Executor, PgConnection};

use crate::common::disk::SmallDisk;
use crate::common::postgres::{TempPgDatabase, TempTablespace};
use crate::common::server::{ServerProcess, TestServer, db_count, signed_in_client};

/// The binary as an operator starts it, on an empty PostgreSQL database: it migrates and seeds
/// it, and a ticket goes from the kiosk through call-next to done; the database holds it so.
#[tokio::test]
async fn bianmin_serve_runs_the_queue_on_postgres() {
    let Some(db) = TempPgDatabase::create().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(env!("CARGO_BIN_EXE_bianmin"), dir.path(), &db.url, 0);
    let admin = signed_in_client(&server.base(), "admin").await;
    let issued = admin.issue_ticket(&IssueTicket::new('A')).await.unwrap().ticket.unwrap();
    let called = admin.call_next(1).await.unwrap().ticket.unwrap();
    assert_eq!((called.id, called.status, called.window), (issued.id, TicketStatus::Called, Some(1)));
    let done = admin.finish_service(1).await.unwrap().ticket.unwrap();
    assert_eq!((done.id, done.status), (issued.id, TicketStatus::Done));
    let sql = format!(
        "SELECT COUNT(*) FROM queue_tickets WHERE id = '{}' AND status = '{}'",
        issued.id,
        TicketStatus::Done.label()
    );
    assert_eq!(db_count(&db.url, &sql).await, 1, "the database holds the ticket done");
    assert_eq!(admin.queue().await.unwrap().done, 1);
    server.kill();
}

#[tokio::test]
async fn twenty_windows_calling_at_once_serve_every_ticket_exactly_once() {
    let Some(s) = TestServer::start_postgres().await else { return };
    crate::queue::concurrent_windows_on(s, 20, 300).await;
}

/// Two centers in one PostgreSQL database: each center's queue, numbers and feed its own.
#[tokio::test]
async fn two_centers_queues_run_independently_on_postgres() {
    let Some(s) = TestServer::start_postgres().await else { return };
    crate::two_centers::two_centers_queues_run_independently_on(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_servers_on_one_database_never_share_a_ticket() {
    let Some(s) = TestServer::start_postgres().await else { return };
    crate::queue::several_servers_on_one_database_never_share_a_ticket(s).await;
}

/// The store's pool does not ping a connection it hands out right after using it (a round trip
/// per statement the county's load queued for), only one idle for a moment: so a connection the
/// database cut off while it sat in the pool (a restart, a terminated backend) is found out and
/// replaced, and the requests after the pause all answer as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_cut_off_while_idle_fail_no_request() {
    let Some(s) = TestServer::start_postgres().await else { return };
    let admin = signed_in_client(&s.base, "admin").await;
    // Several connections in the pool: requests at once.
    let request = IssueTicket::new('A');
    let issued = futures_util::future::join_all((0..8).map(|_| admin.issue_ticket(&request))).await;
    assert!(issued.iter().all(Result::is_ok), "{issued:?}");
    let cut = db_count(
        &s.db_url,
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'bianmin'",
    )
    .await;
    assert!(cut >= 2, "the pool held {cut} connections");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    for i in 0..2 * 16 {
        let answered = match i % 3 {
            0 => admin.issue_ticket(&IssueTicket::new('A')).await.map(drop),
            1 => admin.queue().await.map(drop),
            _ => admin.call_next(1).await.and(admin.finish_service(1).await).map(drop),
        };
        assert!(answered.is_ok(), "request {i} after the cut: {answered:?}");
    }
    s.stop().await;
}

/// The real server SIGKILLed in the middle of an upload and restarted on the same PostgreSQL
/// database: every record arrives exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_upload_loses_and_doubles_nothing() {
    let Some(db) = TempPgDatabase::create().await else { return };
    let dir = tempfile::tempdir().unwrap();
    crate::faults::a_server_killed_mid_upload_loses_and_doubles_nothing_on(&db.url, dir.path()).await;
}

/// A full disk under PostgreSQL (SQLSTATE 53100) is the clerk's 磁盘已满 (507), not a storage
/// fault, and what was acknowledged before is kept once. The device logs' tables are moved to a
/// tablespace on a 2 MiB tmpfs, which needs root and the database server on this machine;
/// skipped (saying so) otherwise.
#[tokio::test]
async fn a_full_disk_under_postgresql_is_refused_as_such_and_loses_nothing() {
    // Declared in this order so that they are dropped in the reverse one: the test database,
    // then the tablespace, then the small disk.
    let Some(disk) = SmallDisk::mount() else {
        eprintln!("no small filesystem on this machine: PostgreSQL's full disk is not exercised here");
        return;
    };
    let tablespace: TempTablespace;
    let Some(s) = TestServer::start_postgres().await else { return };
    let location = disk.path().join("tablespace");
    std::fs::create_dir(&location).unwrap();
    let owned = std::process::Command::new("chown").arg("postgres:").arg(&location).status();
    if !owned.is_ok_and(|s| s.success()) {
        eprintln!("no postgres user here: PostgreSQL's full disk is not exercised here");
        return;
    }
    tablespace = match TempTablespace::create(&location).await {
        Ok(created) => created,
        Err(e) => {
            eprintln!("the PostgreSQL server cannot use a directory of this machine ({e}): full disk not exercised");
            return;
        }
    };
    let name = &tablespace.name;
    let mut admin = PgConnection::connect(&s.db_url).await.unwrap();
    for table in ["device_records", "visits"] {
        admin.execute(format!("ALTER TABLE {table} SET TABLESPACE {name}").as_str()).await.unwrap();
    }
    admin.close().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (local, _) = LocalStore::open(&dir.path().join("a.db"), Utc::now()).await.unwrap();
    let mut records = Vec::new();
    for i in 0..40 {
        let body = RecordBody::Visit(Visit::new(&format!("纸{i}"), "咨询").unwrap());
        records.push(local.append("s001", 1, Post::A, &body, Utc::now()).await.unwrap());
    }
    let client = crate::common::server::signed_in_client(&s.base, "s001").await;
    client.upload(records[..5].to_vec()).await.unwrap();

    disk.fill();
    let e = client.upload(records[5..].to_vec()).await.unwrap_err();
    assert_eq!(e.problem_code(), Some("disk_full"), "{e:?}");
    assert_eq!(s.db_count("SELECT COUNT(*) FROM device_records").await, 5, "nothing of the refused batch");

    disk.free();
    client.upload(records[5..].to_vec()).await.unwrap();
    client.upload(records.clone()).await.unwrap();
    assert_eq!(s.db_count("SELECT COUNT(*) FROM device_records").await, 40, "each record once");
    assert_eq!(s.db_count("SELECT COUNT(*) FROM visits").await, 40);
}

/// Restart and replay: a handover written while the server is down uploads once when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handover_written_while_the_server_is_down_uploads_once_when_it_is_back() {
    let Some(db) = TempPgDatabase::create().await else { return };
    let dir = tempfile::tempdir().unwrap();
    crate::handover::a_handover_written_while_the_server_is_down_uploads_once_when_it_is_back_on(&db.url, dir.path())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_stops_gracefully_on_sigterm() {
    let Some(db) = TempPgDatabase::create().await else { return };
    let dir = tempfile::tempdir().unwrap();
    crate::faults::serve_stops_gracefully_on_sigterm_on(&db.url, dir.path());
}

#[tokio::test]
async fn stopping_the_server_ends_open_feeds() {
    let Some(s) = TestServer::start_postgres().await else { return };
    crate::queue::stopping_the_server_ends_open_feeds_on(s).await;
}

/// A store on `url`, seeded, and its center's id.
async fn seeded_store(url: &str) -> (std::sync::Arc<dyn bianmin::server::store::Store>, String) {
    let store = bianmin::server::store::open(url).await.unwrap();
    store.seed(&bianmin::server::seed::bundled_seed().unwrap()).await.unwrap();
    let center = store.bound_center().await.unwrap().to_string();
    (store, center)
}

/// Takes `center`'s queue lock (kind 1 over the server's space "bm") in the session `other`,
/// as a unit of another process would hold it.
async fn hold_the_queue_lock(other: &mut PgConnection, center: &str) {
    sqlx::query("SELECT pg_advisory_lock($1, hashtext($2))")
        .bind((1 << 16) | 0x626d)
        .bind(center)
        .execute(other)
        .await
        .unwrap();
}

/// A unit's advisory locks are keyed by PostgreSQL's own `hashtext` of its center's id, as every
/// server process sharing the database keys them (the server writes the key into the statement
/// that begins the unit, asked of PostgreSQL once per center): a records unit holds the records
/// lock and then the duty lock of its center, both taken when it begins.
#[tokio::test]
async fn a_units_locks_are_keyed_by_its_centers_hashtext() {
    use bianmin::server::store::repo::Lock;
    let Some(db) = TempPgDatabase::create().await else { return };
    let (store, center) = seeded_store(&db.url).await;
    let mut other = PgConnection::connect(&db.url).await.unwrap();
    let key: i32 = sqlx::query_scalar("SELECT hashtext($1)").bind(&center).fetch_one(&mut other).await.unwrap();
    let held = "SELECT classid::bigint, objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 \
                AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                ORDER BY classid";
    let unit = store.begin(Lock::Records).await.unwrap();
    let locks: Vec<(i64, i64)> = sqlx::query_as(held).fetch_all(&mut other).await.unwrap();
    // The first key: the kind of lock (duty 2, records 3) over the server's space "bm"; the
    // second as PostgreSQL shows it, unsigned.
    let second = i64::from(key as u32);
    assert_eq!(locks, [((2 << 16) | 0x626d, second), ((3 << 16) | 0x626d, second)]);
    unit.commit().await.unwrap();
    let locks: Vec<(i64, i64)> = sqlx::query_as(held).fetch_all(&mut other).await.unwrap();
    assert!(locks.is_empty(), "a committed unit holds no lock: {locks:?}");
}

/// A unit whose lock cannot be taken (here a lock timeout, set for the store's connections) fails
/// and leaves its connection as it found it: the transaction it began is rolled back before the
/// connection goes back to the pool, so the next statements on it work.
#[tokio::test]
async fn a_unit_that_fails_to_take_its_lock_leaves_its_connection_clean() {
    use bianmin::server::store::repo::Lock;
    let Some(db) = TempPgDatabase::create().await else { return };
    let (_seeded, center) = seeded_store(&db.url).await;
    let impatient = bianmin::server::store::open(&format!("{}?options=-c%20lock_timeout%3D200", db.url)).await.unwrap();
    let mut other = PgConnection::connect(&db.url).await.unwrap();
    // The queue lock of the center, held by another session.
    hold_the_queue_lock(&mut other, &center).await;
    assert!(impatient.begin(Lock::Queue).await.is_err(), "the lock is held elsewhere: the unit fails");
    other.execute("SELECT pg_advisory_unlock_all()").await.unwrap();
    // However often the pool hands out the connection the failed unit had, it works.
    for _ in 0..3 {
        impatient.queue_revision().await.expect("a statement on the pool's connections works");
        let mut unit = impatient.begin(Lock::Queue).await.expect("a unit begins");
        unit.next_queue_revision().await.expect("a unit's statement works");
        unit.commit().await.expect("and commits");
    }
}

/// A unit whose beginning is abandoned while it waits for its lock (the request's caller hung up
/// and axum dropped the handler) leaves no transaction behind: once the lock comes free, nothing
/// of the abandoned unit holds it or sits idle inside a transaction, and the pool's connections
/// commit what they are given. Returned to the pool inside its transaction, the connection would
/// keep the center's queue lock and run the next borrower's statements in that transaction.
#[tokio::test]
async fn a_unit_abandoned_while_waiting_for_its_lock_leaves_no_transaction_behind() {
    use bianmin::server::store::repo::Lock;
    let Some(db) = TempPgDatabase::create().await else { return };
    let (store, center) = seeded_store(&db.url).await;
    let mut other = PgConnection::connect(&db.url).await.unwrap();
    hold_the_queue_lock(&mut other, &center).await;
    // Abandoned only once it is waiting for the lock (seen in pg_locks), not before its
    // statement went out.
    let pool_user = store.clone();
    let waiting = tokio::spawn(async move { pool_user.begin(Lock::Queue).await.map(drop) });
    let ungranted = "SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                     WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = 'bianmin'";
    let mut seen = false;
    for _ in 0..100 {
        seen = sqlx::query_scalar::<_, i64>(ungranted).fetch_one(&mut other).await.unwrap() > 0;
        if seen {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(seen, "the unit never waited for the lock held elsewhere");
    waiting.abort();
    assert!(waiting.await.unwrap_err().is_cancelled(), "the unit was still waiting when abandoned");
    other.execute("SELECT pg_advisory_unlock_all()").await.unwrap();
    let sql = "SELECT COUNT(*) FROM pg_stat_activity a WHERE a.datname = current_database() \
               AND a.application_name = 'bianmin' AND (a.state = 'idle in transaction' \
               OR EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory'))";
    let mut left = -1;
    for _ in 0..50 {
        left = sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut other).await.unwrap();
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "a connection of the pool still holds the abandoned unit's transaction or lock");
    for _ in 0..3 {
        let mut unit = store.begin(Lock::Queue).await.expect("a unit begins");
        unit.next_queue_revision().await.expect("a unit's statement works");
        unit.commit().await.expect("and commits");
    }
}
