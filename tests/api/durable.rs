//! Saved means saved: faults that used to lose records the clerk was told were kept. Each test
//! counts records on both sides of the fault: what was reported saved is present exactly once.

use crate::common;

use std::path::Path;

use bianmin::client::local::{LocalError, LocalStore};
use bianmin::domain::center::Post;
use bianmin::domain::record::{RecordBody, Visit};
use chrono::Utc;
use common::disk::SmallDisk;

fn walk_in(n: usize, note: &str) -> RecordBody {
    RecordBody::Visit(Visit::new(&format!("纸{n}"), note).unwrap())
}

/// Rows of the device log as another process would see them: committed ones only.
async fn committed_rows(path: &Path) -> (i64, i64) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", path.display())).await.unwrap();
    let row: (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT id) FROM records").fetch_one(&pool).await.unwrap();
    pool.close().await;
    row
}

/// Whether another connection can take the write lock at once (nobody holds a transaction open).
async fn write_lock_free(path: &Path) -> bool {
    use sqlx::ConnectOptions;
    use std::str::FromStr;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .busy_timeout(std::time::Duration::from_millis(0))
        .connect()
        .await
        .unwrap();
    let free = sqlx::query("BEGIN IMMEDIATE").execute(&mut conn).await.is_ok();
    if free {
        sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
    }
    free
}

/// Where the disk fills: a real 2 MiB filesystem, or (where none can be mounted) SQLite's page
/// limit, filled by another connection with a table it drops again.
enum Full {
    Disk(SmallDisk),
    Pages(std::path::PathBuf),
}

const PAGE_LIMIT: u64 = 400;

impl Full {
    fn new(scratch: &Path) -> Self {
        match SmallDisk::mount().filter(|_| std::env::var_os("BIANMIN_TEST_NO_TMPFS").is_none()) {
            Some(disk) => Self::Disk(disk),
            None => Self::Pages(scratch.to_owned()),
        }
    }

    fn dir(&self) -> &Path {
        match self {
            Self::Disk(disk) => disk.path(),
            Self::Pages(dir) => dir,
        }
    }

    fn limit(&self) -> Option<u64> {
        matches!(self, Self::Pages(_)).then_some(PAGE_LIMIT)
    }

    async fn other_connection(&self) -> sqlx::SqliteConnection {
        use sqlx::ConnectOptions;
        use std::str::FromStr;
        sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{}", self.dir().join(DB).display()))
            .unwrap()
            .pragma("max_page_count", PAGE_LIMIT.to_string())
            .connect()
            .await
            .unwrap()
    }

    async fn fill(&self) {
        match self {
            Self::Disk(disk) => disk.fill(),
            Self::Pages(_) => {
                let mut conn = self.other_connection().await;
                sqlx::query("CREATE TABLE filler (b BLOB)").execute(&mut conn).await.unwrap();
                while sqlx::query("INSERT INTO filler VALUES (zeroblob(2000))").execute(&mut conn).await.is_ok() {}
            }
        }
    }

    async fn free(&self) {
        match self {
            Self::Disk(disk) => disk.free(),
            Self::Pages(_) => {
                let mut conn = self.other_connection().await;
                sqlx::query("DROP TABLE filler").execute(&mut conn).await.unwrap();
            }
        }
    }
}

const DB: &str = "bianmin-local.db";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_full_disk_every_record_reported_saved_is_committed_once() {
    let scratch = tempfile::tempdir().unwrap();
    let full = Full::new(scratch.path());
    let path = full.dir().join(DB);
    let (local, _) = LocalStore::open_with_limit(&path, Utc::now(), full.limit()).await.unwrap();
    let big = "满".repeat(200);
    let mut saved = 0usize;
    for i in 0..3 {
        local.append("s001", 1, Post::A, &walk_in(i, &big), Utc::now()).await.unwrap();
        saved += 1;
    }

    // The disk fills up: recording fails with the clerk's message (perhaps after a few more).
    full.fill().await;
    let mut failures = 0;
    for i in 0..400 {
        match local.append("s001", 1, Post::A, &walk_in(100 + i, &big), Utc::now()).await {
            Ok(_) => saved += 1,
            Err(e) => {
                assert!(matches!(e, LocalError::DiskFull), "{e:?}");
                failures += 1;
                break;
            }
        }
    }
    assert_eq!(failures, 1, "the disk never filled");
    // A few more tries while it is full: each is either saved or refused, never in between.
    for i in 0..3 {
        match local.append("s001", 1, Post::A, &walk_in(500 + i, &big), Utc::now()).await {
            Ok(_) => saved += 1,
            Err(e) => assert!(matches!(e, LocalError::DiskFull), "{e:?}"),
        }
    }

    // Space comes back: what is reported saved now must really be committed.
    full.free().await;
    for i in 0..5 {
        local.append("s001", 1, Post::A, &walk_in(1000 + i, "空间已释放"), Utc::now()).await.unwrap();
        saved += 1;
    }
    assert_eq!(local.pending().await.unwrap(), saved);
    assert!(write_lock_free(&path).await, "no transaction is left open");
    assert_eq!(committed_rows(&path).await, (saved as i64, saved as i64), "what another process sees");

    // Killed without closing (the connection is leaked, nothing is flushed or rolled back by us).
    std::mem::forget(local);
    let (reopened, recovery) = LocalStore::open(&path, Utc::now()).await.unwrap();
    assert!(recovery.is_none());
    assert_eq!(reopened.pending().await.unwrap(), saved, "every record reported saved, once");
    reopened.close().await;
}

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");

async fn server_rows(db_url: &str) -> (i64, i64) {
    let pool = sqlx::SqlitePool::connect(&format!("{db_url}?mode=ro")).await.unwrap();
    let row: (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT id) FROM device_records").fetch_one(&pool).await.unwrap();
    pool.close().await;
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_disk_filled_acknowledges_only_what_it_committed() {
    use bianmin::client::sync::sync_logs;
    use common::server::{ServerProcess, signed_in_client};
    let Some(disk) = SmallDisk::mount() else {
        eprintln!("no small filesystem on this machine: the server's full disk is not exercised here");
        return;
    };
    let db_url = bianmin::config::sqlite_url(&disk.path().join("server.db"));
    let server = ServerProcess::start(BIN, disk.path(), &db_url, 0);
    let port = server.port;
    let scratch = tempfile::tempdir().unwrap();
    let (local, _) = LocalStore::open(&scratch.path().join(DB), Utc::now()).await.unwrap();
    let client = signed_in_client(&server.base(), "s001").await;
    let big = "满".repeat(200);
    let mut made = 0usize;
    async fn record(local: &LocalStore, made: &mut usize, n: usize, big: &str) {
        for _ in 0..n {
            local.append("s001", 1, Post::A, &walk_in(*made, big), Utc::now()).await.unwrap();
            *made += 1;
        }
    }
    record(&local, &mut made, 5, &big).await;
    assert_eq!(sync_logs(&client, &local, 1).await.unwrap().pending, 0);

    // The server's disk fills: uploads are refused (and stay in the outbox), never half-taken.
    disk.fill();
    let mut refused = false;
    for _ in 0..1000 {
        record(&local, &mut made, 5, &big).await;
        let attempt = tokio::time::timeout(std::time::Duration::from_secs(60), sync_logs(&client, &local, 1)).await;
        if !matches!(attempt, Ok(Ok(ref o)) if o.pending == 0) {
            refused = true;
            break;
        }
    }
    assert!(refused, "the server's disk never filled: {made} records, {:?}", server_rows(&db_url).await);
    assert!(local.pending().await.unwrap() > 0);
    // More tries while it is full (each refused).
    for _ in 0..30 {
        record(&local, &mut made, 5, &big).await;
        let attempt = tokio::time::timeout(std::time::Duration::from_secs(60), sync_logs(&client, &local, 1)).await;
        assert!(!matches!(attempt, Ok(Ok(_))), "a round against a full server ends in its error: {attempt:?}");
    }

    // Space comes back: the outbox uploads, and what the server acknowledged it keeps.
    disk.free();
    record(&local, &mut made, 5, &big).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(60), sync_logs(&client, &local, 1)).await {
            Ok(Ok(outcome)) if outcome.pending == 0 => break,
            other => {
                assert!(std::time::Instant::now() < deadline, "the server never recovered: {other:?}");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
    assert_eq!(local.pending().await.unwrap(), 0, "everything acknowledged");
    server.kill();
    assert_eq!(server_rows(&db_url).await, (made as i64, made as i64), "acknowledged means on the disk, once");

    let server = ServerProcess::start(BIN, disk.path(), &db_url, port);
    let client = signed_in_client(&server.base(), "s001").await;
    let outcome = sync_logs(&client, &local, 1).await.unwrap();
    assert_eq!((outcome.uploaded, outcome.pending), (0, 0));
    assert_eq!(server_rows(&db_url).await, (made as i64, made as i64));
    server.kill();
    local.close().await;
}

/// Every queue change the server answered 200 to while its disk filled and emptied is on the
/// disk after a kill -9, each with its audit line; nothing it refused is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_disk_filled_keeps_every_queue_change_it_acknowledged_with_its_audit_line() {
    use bianmin::api::queue::IssueTicket;
    use common::server::{ServerProcess, signed_in_client};
    use std::time::Duration;
    let Some(disk) = SmallDisk::mount() else {
        eprintln!("no small filesystem on this machine: the server's full disk is not exercised here");
        return;
    };
    let db_url = bianmin::config::sqlite_url(&disk.path().join("server.db"));
    let server = ServerProcess::start(BIN, disk.path(), &db_url, 0);
    let client = signed_in_client(&server.base(), "s001").await;
    let issue = || async {
        match tokio::time::timeout(Duration::from_secs(60), client.issue_ticket(&IssueTicket::new('A'))).await {
            Ok(Ok(change)) => Some(change.ticket.expect("an issued ticket").number.to_string()),
            _ => None,
        }
    };
    let mut acknowledged = vec![issue().await.expect("the first ticket")];

    disk.fill();
    let mut refused = false;
    for _ in 0..2000 {
        match issue().await {
            Some(number) => acknowledged.push(number),
            None => {
                refused = true;
                break;
            }
        }
    }
    assert!(refused, "the server's disk never filled after {} tickets", acknowledged.len());
    // Space comes back a little at a time: some changes fit whole, some only in part (the ticket
    // but not its audit line); a part is never acknowledged.
    for _ in 0..64 {
        disk.release(4096);
        if let Some(number) = issue().await {
            acknowledged.push(number);
        }
    }

    // Space comes back: the server takes changes again without a restart.
    disk.free();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(number) = issue().await {
            acknowledged.push(number);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the server never recovered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.kill();

    let pool = sqlx::SqlitePool::connect(&format!("{db_url}?mode=ro")).await.unwrap();
    let tickets: Vec<String> =
        sqlx::query_scalar("SELECT letter || printf('%03d', seq) FROM queue_tickets ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT substr(target_id, instr(target_id, '/') + 1) FROM audit WHERE action LIKE 'queue:%' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(tickets, acknowledged, "every acknowledged ticket is on the disk, and no other");
    assert_eq!(audited, acknowledged, "each with its audit line");
}

#[cfg(unix)]
#[test]
fn the_data_directory_and_its_files_are_owner_only_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Left by an earlier version with a lax umask: a damaged copy, a document, a log.
    std::fs::create_dir_all(data.join("documents/2026-01-05")).unwrap();
    for file in ["bianmin-local.db.corrupt-20260105-101010", "documents/2026-01-05/GZ-1.txt"] {
        std::fs::write(data.join(file), "x").unwrap();
        std::fs::set_permissions(data.join(file), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The real binary, started with umask 022, creates its database, WAL, shared memory and log.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask 022 && exec '{BIN}' admin staff list"))
        .env("BIANMIN_DATA_DIR", &data)
        .env("HOME", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let mut seen = Vec::new();
    fn walk(path: &Path, seen: &mut Vec<(String, u32)>) {
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        seen.push((path.display().to_string(), mode));
        if path.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                walk(&entry.unwrap().path(), seen);
            }
        }
    }
    walk(&data, &mut seen);
    let names: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
    assert!(names.iter().any(|p| p.ends_with("bianmin-server.db")), "{names:?}");
    assert!(names.iter().any(|p| p.contains("/logs/bianmin.log")), "{names:?}");
    for (path, mode) in &seen {
        let want = if Path::new(path).is_dir() { 0o700 } else { 0o600 };
        assert_eq!(*mode, want, "{path}: {mode:o}");
    }
}

/// The queue commits its commands in batches (one transaction, one wait for the disk, for every
/// command queued meanwhile). Killed with -9 while kiosks issue and windows call at once, the
/// server has on its disk every change it answered 200 to, each with its audit line, and no half
/// of a batch: revisions and numbers without gaps, no ticket called to two windows. Started
/// again, it numbers on from the last committed ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_between_batches_of_queue_commands_keeps_every_acknowledged_one() {
    use bianmin::api::queue::IssueTicket;
    use common::server::{ServerProcess, signed_in_client};
    use std::collections::{HashMap, HashSet};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let db_url = bianmin::config::sqlite_url(&dir.path().join("server.db"));
    let server = ServerProcess::start(BIN, dir.path(), &db_url, 0);
    let admin = signed_in_client(&server.base(), "admin").await;
    // What the server acknowledged: issued numbers, and (ticket id, window) for calls and finishes.
    let issued = Arc::new(Mutex::new(Vec::<String>::new()));
    let called = Arc::new(Mutex::new(Vec::<(uuid::Uuid, u32)>::new()));
    let finished = Arc::new(Mutex::new(Vec::<uuid::Uuid>::new()));
    let mut tasks = Vec::new();
    for kiosk in 0..12 {
        let (client, issued) = (admin.clone(), issued.clone());
        tasks.push(tokio::spawn(async move {
            let category = ['A', 'B', 'C'][kiosk % 3];
            while let Ok(change) = client.issue_ticket(&IssueTicket::new(category)).await {
                issued.lock().unwrap().push(change.ticket.expect("an issued ticket").number.to_string());
            }
        }));
    }
    for window in 1..=6u32 {
        let (client, called, finished) = (admin.clone(), called.clone(), finished.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                match client.call_next(window).await {
                    Ok(change) => {
                        let id = change.ticket.expect("a called ticket").id;
                        called.lock().unwrap().push((id, window));
                        match client.finish_service(window).await {
                            Ok(_) => finished.lock().unwrap().push(id),
                            Err(_) => return,
                        }
                    }
                    Err(e) if e.problem_code() == Some("queue_empty") => {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    // Kill it in full flow, with requests in flight.
    let deadline = Instant::now() + Duration::from_secs(120);
    while issued.lock().unwrap().len() < 300 || finished.lock().unwrap().len() < 30 {
        assert!(Instant::now() < deadline, "the server acknowledged too little to test");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill();
    for task in tasks {
        task.await.unwrap();
    }
    let issued = issued.lock().unwrap().clone();
    let called = called.lock().unwrap().clone();
    let finished: HashSet<uuid::Uuid> = finished.lock().unwrap().iter().copied().collect();

    let pool = sqlx::SqlitePool::connect(&format!("{db_url}?mode=ro")).await.unwrap();
    let rows: Vec<(String, String, i64, String, Option<i64>)> =
        sqlx::query_as("SELECT id, letter, seq, status, window_no FROM queue_tickets").fetch_all(&pool).await.unwrap();
    let rev: i64 = sqlx::query_scalar("SELECT rev FROM queue_revision").fetch_one(&pool).await.unwrap();
    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit WHERE action LIKE 'queue:%'").fetch_one(&pool).await.unwrap();
    pool.close().await;

    let numbers: HashSet<String> = rows.iter().map(|(_, letter, seq, _, _)| format!("{letter}{seq:03}")).collect();
    for number in &issued {
        assert!(numbers.contains(number), "acknowledged ticket {number} is not on the disk");
    }
    let mut per_letter: HashMap<&str, Vec<i64>> = HashMap::new();
    for (_, letter, seq, _, _) in &rows {
        per_letter.entry(letter.as_str()).or_default().push(*seq);
    }
    for (letter, seqs) in &mut per_letter {
        seqs.sort_unstable();
        assert_eq!(*seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "numbers of {letter} have a gap");
    }
    assert_eq!(audited, rev, "every committed change has its revision and its audit line, no more");
    let by_id: HashMap<uuid::Uuid, (&str, Option<i64>)> =
        rows.iter().map(|(id, _, _, status, window)| (id.parse().unwrap(), (status.as_str(), *window))).collect();
    let mut seen = HashSet::new();
    for (id, window) in &called {
        assert!(seen.insert(*id), "ticket {id} was called twice");
        let (status, at) = by_id[id];
        assert_eq!(at, Some(i64::from(*window)), "an acknowledged call is on the disk");
        let expected: &[&str] = if finished.contains(id) { &["已完成"] } else { &["已叫号", "已完成"] };
        assert!(expected.contains(&status), "ticket {id} is {status}");
    }
    eprintln!(
        "killed after {} tickets issued, {} called and {} finished were acknowledged; {} changes committed",
        issued.len(),
        called.len(),
        finished.len(),
        rev
    );

    // Started again, it numbers on from what was committed.
    let server = ServerProcess::start(BIN, dir.path(), &db_url, 0);
    let client = signed_in_client(&server.base(), "admin").await;
    let next = client.issue_ticket(&IssueTicket::new('A')).await.unwrap().ticket.unwrap().number;
    assert_eq!(i64::from(next.seq), per_letter.get("A").map_or(0, Vec::len) as i64 + 1);
    server.kill();
}
