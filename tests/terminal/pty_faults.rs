//! The device log's faults on the real binaries: the terminal in a pseudo-terminal against a real
//! `bianmin serve` child. A data file copied to a second PC (or restored from a backup) becomes a
//! new device and its records upload; a cache whose records table lost a page says exactly how
//! many unsent records it recovered and lost, and the server ends up with exactly the recovered
//! ones. Records are counted on both sides: every walk-in the screen said 已保存 is on the server
//! once.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bianmin::client::local::Recovery;
use bianmin::client::sync::SyncOutcome;
use common::pages::interior_children;
use common::pty::{Pty, Sandbox, Spawn, keys};
use common::server::{PASSWORD, ServerProcess};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
const START: Duration = Duration::from_secs(60);
/// Wide enough that the long messages (re-key, recovery) fit on the one message line.
const COLS: u16 = 240;

fn remote_terminal(sandbox: &Sandbox, base: &str) -> Pty {
    Pty::spawn_with(
        BIN,
        sandbox,
        Spawn::new(30, COLS)
            .arg("--server")
            .arg(base)
            .env("BIANMIN_STAFF_ID", "s001")
            .env("BIANMIN_PASSWORD", PASSWORD)
            .env("BIANMIN_NETWORK_CONNECT_TIMEOUT_MS", "1000")
            .env("BIANMIN_NETWORK_REQUEST_TIMEOUT_MS", "10000")
            .env("BIANMIN_NETWORK_REFRESH_INTERVAL_S", "1"),
    )
}

fn status_line(screen: &str) -> String {
    screen.lines().next().unwrap_or_default().to_owned()
}

/// Runs `f` on a connection to the SQLite file at `path`, in a runtime of our own.
fn with_db<T>(path: &Path, read_only: bool, f: impl AsyncFnOnce(&sqlx::SqlitePool) -> T) -> T {
    let mode = if read_only { "?mode=ro" } else { "" };
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}{mode}", path.display())).await.unwrap();
        let out = f(&pool).await;
        pool.close().await;
        out
    })
}

fn server_path(db_url: &str) -> PathBuf {
    PathBuf::from(db_url.trim_start_matches("sqlite://"))
}

/// (rows, distinct ids) of the server's device records.
fn server_rows(db_url: &str) -> (i64, i64) {
    with_db(&server_path(db_url), true, async |pool| {
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT id) FROM device_records").fetch_one(pool).await.unwrap()
    })
}

fn server_ids(db_url: &str) -> BTreeSet<String> {
    with_db(&server_path(db_url), true, async |pool| {
        sqlx::query_scalar("SELECT id FROM device_records").fetch_all(pool).await.unwrap().into_iter().collect()
    })
}

fn server_rows_of(db_url: &str, device: &str) -> i64 {
    with_db(&server_path(db_url), true, async |pool| {
        sqlx::query_scalar("SELECT COUNT(*) FROM device_records WHERE device = ?")
            .bind(device)
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

fn visits(db_url: &str) -> i64 {
    with_db(&server_path(db_url), true, async |pool| {
        sqlx::query_scalar("SELECT COUNT(*) FROM visits").fetch_one(pool).await.unwrap()
    })
}

fn local_db(data_dir: &Path) -> PathBuf {
    data_dir.join("bianmin-local.db")
}

/// The device id a terminal's store goes by.
fn local_device(data_dir: &Path) -> String {
    with_db(&local_db(data_dir), true, async |pool| {
        sqlx::query_scalar("SELECT value FROM kv WHERE key = 'device'").fetch_one(pool).await.unwrap()
    })
}

/// Ids of the walk-ins a terminal's store holds.
fn local_walk_ins(data_dir: &Path) -> BTreeSet<String> {
    with_db(&local_db(data_dir), true, async |pool| {
        sqlx::query_scalar("SELECT id FROM records WHERE kind = 'walk_in'")
            .fetch_all(pool)
            .await
            .unwrap()
            .into_iter()
            .collect()
    })
}

/// Records a walk-in through the form and waits until the terminal says it is saved.
fn record_visit(pty: &mut Pty, number: &str, note: &str) {
    pty.send_key(b"w");
    pty.expect("the form", |s| s.contains("来访登记") && !s.contains("来访登记已保存"), START);
    pty.send(number.as_bytes());
    pty.send_key(keys::ENTER);
    pty.send(note.as_bytes());
    pty.send_key(keys::ENTER);
    pty.expect("来访登记已保存", |s| s.contains("来访登记已保存"), START);
}

/// Waits until the server holds `rows` device records and the terminal says nothing waits.
fn expect_uploaded(pty: &Pty, db_url: &str, rows: i64) {
    let deadline = std::time::Instant::now() + START;
    while server_rows(db_url).0 < rows {
        assert!(std::time::Instant::now() < deadline, "the server never got {rows} records: {:?}", server_rows(db_url));
        std::thread::sleep(Duration::from_millis(100));
    }
    pty.expect("在线 and 待上传0", |s| status_line(s).contains("在线") && status_line(s).contains("待上传0"), START);
}

/// Quits with q, confirming when records wait for upload.
fn quit(pty: &mut Pty) {
    pty.send_key(keys::Q);
    pty.wait_for(|s| s.contains("确认退出"), Duration::from_secs(2)).ok();
    if pty.screen_text().contains("确认退出") {
        pty.send_key(b"y");
    }
    assert!(pty.wait_exit(Duration::from_secs(30)).success());
}

fn copy_store(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let name = format!("bianmin-local.db{suffix}");
        if from.join(&name).exists() {
            std::fs::copy(from.join(&name), to.join(&name)).unwrap();
        }
    }
}

#[test]
fn a_copied_data_file_becomes_a_new_device_tells_the_clerk_once_and_every_saved_record_uploads_once() {
    let server_dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", server_dir.path().join("server.db").display());
    let server = ServerProcess::start(BIN, server_dir.path(), &db_url, 0);
    let (port, base) = (server.port, server.base());
    let (first, second) = (Sandbox::new(), Sandbox::new());
    let mut saved = 0;

    // The first PC records and uploads.
    let mut pty = remote_terminal(&first, &base);
    pty.expect("在线 as 王丽", |s| status_line(s).contains("在线") && s.contains("王丽"), START);
    for n in 1..=3 {
        record_visit(&mut pty, &format!("A{n:03}"), "原机登记");
        saved += 1;
    }
    expect_uploaded(&pty, &db_url, saved);
    quit(&mut pty);
    drop(pty);

    // Its data file is copied to a second PC (or kept as a backup to restore later).
    copy_store(&first.data_dir(), &second.data_dir());
    let original_device = local_device(&first.data_dir());
    assert_eq!(local_device(&second.data_dir()), original_device);

    // The first PC goes on: the server now holds places 4 and 5 of its log.
    let mut pty = remote_terminal(&first, &base);
    pty.expect("在线 as 王丽", |s| status_line(s).contains("在线") && s.contains("王丽"), START);
    for n in 4..=5 {
        record_visit(&mut pty, &format!("A{n:03}"), "原机登记");
        saved += 1;
    }
    expect_uploaded(&pty, &db_url, saved);
    quit(&mut pty);
    drop(pty);

    // The copy starts while the network is down and records on the same places.
    server.kill();
    let mut copy = remote_terminal(&second, &base);
    copy.expect("离线 with the cached clerk", |s| status_line(s).contains("离线") && s.contains("王丽"), START);
    for n in 1..=3 {
        record_visit(&mut copy, &format!("B{n:03}"), "复制机登记");
        saved += 1;
    }
    copy.expect("three waiting", |s| status_line(s).contains("待上传3"), START);

    // The network returns: the copy finds out, becomes a new device, says so, and uploads.
    let server = ServerProcess::start(BIN, server_dir.path(), &db_url, port);
    let told = SyncOutcome { rekeyed: Some(3), ..SyncOutcome::default() }.rekey_message().unwrap();
    copy.expect("the re-key message", |s| s.contains(&told), START);
    expect_uploaded(&copy, &db_url, saved);
    // A record made after the re-key goes under the new device, and the clerk is not told again.
    record_visit(&mut copy, "B004", "复制机登记");
    saved += 1;
    expect_uploaded(&copy, &db_url, saved);
    assert!(
        copy.wait_for(|s| s.contains(&told), Duration::from_secs(5)).is_err(),
        "told once: the message does not come back in later rounds"
    );
    quit(&mut copy);
    drop(copy);

    // After a restart the copy is still the new device: nothing waits, nothing is re-keyed.
    let mut copy = remote_terminal(&second, &base);
    copy.expect(
        "在线 and 待上传0 after a restart",
        |s| status_line(s).contains("在线") && status_line(s).contains("待上传0"),
        START,
    );
    expect_uploaded(&copy, &db_url, saved);
    quit(&mut copy);
    drop(copy);
    drop(server);

    assert_eq!(second.log_text().matches("re-keyed to a new device").count(), 1, "re-keyed once");
    let copy_device = local_device(&second.data_dir());
    assert_ne!(copy_device, original_device, "the copy is a new device");
    assert_eq!(local_device(&first.data_dir()), original_device, "the original keeps its own");
    // Every walk-in said saved is on the server exactly once.
    assert_eq!(server_rows(&db_url), (saved, saved));
    assert_eq!(visits(&db_url), saved);
    assert_eq!(server_rows_of(&db_url, &original_device), 5);
    assert_eq!(server_rows_of(&db_url, &copy_device), 4, "the copy's three moved records and the one after");
    let on_server = server_ids(&db_url);
    let first_ids = local_walk_ins(&first.data_dir());
    let second_ids = local_walk_ins(&second.data_dir());
    assert_eq!(first_ids.len(), 5);
    assert!(first_ids.is_subset(&on_server));
    assert!(second_ids.is_subset(&on_server));
    assert_eq!(first_ids.union(&second_ids).count() as i64, saved, "both hold everything once");
}

/// The records table's leaf pages, in rowid order: (page, rows on it as (rowid, id)).
fn records_leaves(path: &Path) -> (i64, Vec<(u32, Vec<String>)>) {
    let (root, page_size, rows) = with_db(path, false, async |pool| {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await.unwrap();
        let root: i64 = sqlx::query_scalar("SELECT rootpage FROM sqlite_master WHERE name = 'records'")
            .fetch_one(pool)
            .await
            .unwrap();
        let page_size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(pool).await.unwrap();
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT rowid, id FROM records ORDER BY rowid").fetch_all(pool).await.unwrap();
        (root, page_size, rows)
    });
    let bytes = std::fs::read(path).unwrap();
    let at = |n: i64| ((n - 1) * page_size) as usize;
    let children = interior_children(&bytes[at(root)..at(root + 1)]);
    let mut low = i64::MIN;
    let leaves = children
        .into_iter()
        .map(|(page, high)| {
            let high = high.unwrap_or(i64::MAX);
            let ids = rows.iter().filter(|(r, _)| *r > low && *r <= high).map(|(_, id)| id.clone()).collect();
            low = high;
            (page, ids)
        })
        .collect();
    (page_size, leaves)
}

#[test]
fn a_damaged_cache_says_exactly_what_it_recovered_and_lost_and_the_server_gets_the_recovered_once() {
    let server_dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", server_dir.path().join("server.db").display());
    let server = ServerProcess::start(BIN, server_dir.path(), &db_url, 0);
    let (port, base) = (server.port, server.base());
    let sandbox = Sandbox::new();

    // A first run leaves the clerk and the window in the cache.
    let mut pty = remote_terminal(&sandbox, &base);
    pty.expect("在线 as 王丽", |s| status_line(s).contains("在线") && s.contains("王丽"), START);
    quit(&mut pty);
    drop(pty);

    // The server is unreachable: every walk-in stays on this PC. Long notes, so the records
    // table spans several pages.
    server.kill();
    let mut pty = remote_terminal(&sandbox, &base);
    pty.expect("离线 with the cached clerk", |s| status_line(s).contains("离线") && s.contains("王丽"), START);
    let note = "页".repeat(150);
    let made = 16;
    for n in 0..made {
        record_visit(&mut pty, &format!("C{n:03}"), &note);
    }
    pty.expect("all waiting", |s| status_line(s).contains(&format!("待上传{made}")), START);
    quit(&mut pty);
    drop(pty);

    // A page in the middle of the records table is scribbled over.
    let path = local_db(&sandbox.data_dir());
    let all = local_walk_ins(&sandbox.data_dir());
    assert_eq!(all.len(), made);
    let (page_size, leaves) = records_leaves(&path);
    assert!(leaves.len() >= 3, "at least three leaf pages: {leaves:?}");
    let (leaf, lost_ids) = leaves[1].clone();
    assert!(!lost_ids.is_empty());
    let mut bytes = std::fs::read(&path).unwrap();
    let start = ((i64::from(leaf) - 1) * page_size) as usize;
    bytes[start..start + page_size as usize].fill(0xA5);
    std::fs::write(&path, bytes).unwrap();
    let lost: BTreeSet<String> = lost_ids.into_iter().collect();
    let kept: BTreeSet<String> = all.difference(&lost).cloned().collect();

    // Still offline: the terminal says exactly what it recovered and what it lost.
    let mut pty = remote_terminal(&sandbox, &base);
    pty.expect("the recovery message", |s| s.contains("本机缓存文件损坏"), START);
    let moved_to = std::fs::read_dir(sandbox.data_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name().unwrap().to_string_lossy().starts_with("bianmin-local.db.corrupt-")
                && !p.to_string_lossy().ends_with("-wal")
                && !p.to_string_lossy().ends_with("-shm")
        })
        .expect("the damaged copy kept aside");
    let told = Recovery { moved_to, recovered_records: Some(kept.len()), lost_unsent: Some(lost.len()) }.message();
    pty.expect("exactly these counts", |s| s.contains(&told), START);
    pty.expect("the recovered wait", |s| status_line(s).contains(&format!("待上传{}", kept.len())), START);

    // The server returns: it gets exactly the recovered records, once each.
    let server = ServerProcess::start(BIN, server_dir.path(), &db_url, port);
    expect_uploaded(&pty, &db_url, kept.len() as i64);
    quit(&mut pty);
    drop(pty);

    // After a restart nothing waits and nothing is sent again.
    let mut pty = remote_terminal(&sandbox, &base);
    pty.expect(
        "在线 and 待上传0 after a restart",
        |s| status_line(s).contains("在线") && status_line(s).contains("待上传0"),
        START,
    );
    quit(&mut pty);
    drop(pty);
    drop(server);
    assert_eq!(server_rows(&db_url), (kept.len() as i64, kept.len() as i64));
    assert_eq!(server_ids(&db_url), kept, "the recovered records, and none of the lost");
    assert_eq!(kept.len() + lost.len(), made);
}
