//! The device log and its sync against the real server: idempotent replays, concurrent devices,
//! resumed transfers, a damaged cache, a full disk, catalogue deltas, and the backend's own
//! reconnect through a network partition.

use crate::common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bianmin::api::{RecordEnvelope, StreamStatus};
use bianmin::client::local::{LocalError, LocalStore};
use bianmin::client::sync::{UPLOAD_BATCH, sync_logs};
use bianmin::config::Settings;
use bianmin::domain::center::Post;
use bianmin::domain::record::{RecordBody, Visit};
use bianmin::server::service::catalogue::upsert_guides;
use bianmin::tui::app::{AppEvent, BackendEvent, Link};
use bianmin::tui::backend::{self, Credentials, ServerUrl};
use bianmin::tui::catalogue;
use chrono::Utc;
use common::pages::interior_children;
use common::server::{PASSWORD, TestServer, signed_in_client};
use tokio::net::{TcpListener, TcpStream};

fn walk_in(n: usize) -> RecordBody {
    RecordBody::Visit(Visit::new(&format!("纸{n}"), "咨询").unwrap())
}

async fn store(dir: &Path, name: &str) -> LocalStore {
    LocalStore::open(&dir.join(name), Utc::now()).await.unwrap().0
}

async fn append(local: &LocalStore, author: &str, post: Post, n: usize) -> Vec<RecordEnvelope> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(local.append(author, 1, post, &walk_in(i), Utc::now()).await.unwrap());
    }
    out
}

async fn server_counts(server: &TestServer) -> (i64, i64) {
    (server.db_count("SELECT COUNT(*) FROM device_records").await, server.db_count("SELECT COUNT(*) FROM visits").await)
}

/// Also run on PostgreSQL (`on_postgres`).
async fn records_upload_once_and_replays_change_nothing(server: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let local = store(dir.path(), "a.db").await;
    let records = append(&local, "s001", Post::A, 7).await;
    assert_eq!(local.pending().await.unwrap(), 7);

    let client = signed_in_client(&server.base, "s001").await;
    let outcome = sync_logs(&client, &local, 1).await.unwrap();
    assert_eq!((outcome.uploaded, outcome.pending), (7, 0));
    assert_eq!(server_counts(&server).await, (7, 7));

    // The same batch delivered twice more, and a second sync: nothing doubles.
    for _ in 0..2 {
        let reply = client.upload(records.clone()).await.unwrap();
        assert_eq!(reply.streams, vec![StreamStatus { device: local.device(), stream: "w1/visits".into(), last: 7 }]);
    }
    let again = sync_logs(&client, &local, 1).await.unwrap();
    assert_eq!((again.uploaded, again.downloaded, again.pending), (0, 0, 0));
    assert_eq!(server_counts(&server).await, (7, 7));
    assert_eq!(client.window_overview(1).await.unwrap().visits_today, 7);
}

/// Also run on PostgreSQL (`on_postgres`).
async fn a_different_record_at_a_stored_place_is_a_conflict(server: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let local = store(dir.path(), "a.db").await;
    let records = append(&local, "s001", Post::A, 2).await;
    let client = signed_in_client(&server.base, "s001").await;
    client.upload(records.clone()).await.unwrap();
    let mut forged = records[1].clone();
    forged.id = uuid::Uuid::now_v7();
    let e = client.upload(vec![forged]).await.unwrap_err();
    assert_eq!(e.problem_code(), Some("record_conflict"));
    // Reusing a stored id at a new place is a conflict too.
    let mut moved = records[0].clone();
    moved.idx = 3;
    assert_eq!(client.upload(vec![moved]).await.unwrap_err().problem_code(), Some("record_conflict"));
    assert_eq!(server_counts(&server).await, (2, 2), "nothing was overwritten");
}

#[tokio::test]
async fn a_clerk_cannot_upload_for_another_window() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let local = store(dir.path(), "a.db").await;
    let record = local.append("s005", 4, Post::A, &walk_in(0), Utc::now()).await.unwrap();
    let client = signed_in_client(&server.base, "s001").await;
    assert_eq!(client.upload(vec![record]).await.unwrap_err().problem_code(), Some("forbidden"));
}

/// Also run on PostgreSQL (`on_postgres`).
async fn two_devices_upload_at_once_and_each_downloads_the_other(server: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let a = store(dir.path(), "a.db").await;
    let b = store(dir.path(), "b.db").await;
    append(&a, "s001", Post::A, 120).await;
    append(&b, "s002", Post::B, 90).await;
    let client_a = signed_in_client(&server.base, "s001").await;
    let client_b = signed_in_client(&server.base, "s002").await;
    let (ra, rb) = tokio::join!(sync_logs(&client_a, &a, 1), sync_logs(&client_b, &b, 1));
    let (first_a, first_b) = (ra.unwrap(), rb.unwrap());
    assert_eq!((first_a.uploaded, first_b.uploaded), (120, 90));
    assert_eq!(server_counts(&server).await, (210, 210));
    // A second round brings each the rest of the other's log (the first may already have brought
    // some of it, when the other's upload finished before this one asked for the status).
    let (ra, rb) = (sync_logs(&client_a, &a, 1).await.unwrap(), sync_logs(&client_b, &b, 1).await.unwrap());
    assert_eq!((first_a.downloaded + ra.downloaded, first_b.downloaded + rb.downloaded), (90, 120));
    assert_eq!((ra.pending, rb.pending), (0, 0));
    assert_eq!(a.streams().await.unwrap().len(), 2);
    assert_eq!(server_counts(&server).await, (210, 210));
}

/// Also run on PostgreSQL (`on_postgres`).
async fn an_interrupted_upload_resumes_at_the_first_gap(server: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let local = store(dir.path(), "a.db").await;
    let records = append(&local, "s001", Post::A, 3 * UPLOAD_BATCH).await;
    let client = signed_in_client(&server.base, "s001").await;
    // The first batch arrived before the link dropped; the terminal never heard the reply.
    client.upload(records[..UPLOAD_BATCH].to_vec()).await.unwrap();
    assert_eq!(local.pending().await.unwrap(), 3 * UPLOAD_BATCH, "the reply was lost");
    let outcome = sync_logs(&client, &local, 1).await.unwrap();
    assert_eq!(outcome.uploaded, 2 * UPLOAD_BATCH, "only what the server lacked was sent");
    assert_eq!(outcome.pending, 0);
    assert_eq!(server_counts(&server).await.0, 3 * UPLOAD_BATCH as i64);
}

#[tokio::test]
async fn upload_batches_beyond_the_default_body_limit_are_accepted() {
    // A full upload is larger than the 64 KiB limit of other routes in this test server.
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let local = store(dir.path(), "a.db").await;
    let note = "长".repeat(200);
    let mut records = Vec::new();
    for i in 0..200 {
        let body = RecordBody::Visit(Visit::new(&format!("{i}"), &note).unwrap());
        records.push(local.append("s001", 1, Post::A, &body, Utc::now()).await.unwrap());
    }
    assert!(serde_json::to_vec(&records).unwrap().len() > 64 * 1024);
    let client = signed_in_client(&server.base, "s001").await;
    client.upload(records).await.unwrap();
}

#[tokio::test]
async fn a_damaged_cache_is_moved_aside_and_its_records_carried_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("local.db");
    let (local, _) = LocalStore::open(&path, Utc::now()).await.unwrap();
    let old_device = local.device();
    let written = append(&local, "s001", Post::A, 5).await;
    local.close().await;
    // Scribble over the index on record ids: the table itself stays readable.
    scribble_over_root_page(&path, "tbl_name = 'records' AND type = 'index'").await;

    let (local, recovery) = LocalStore::open(&path, Utc::now()).await.unwrap();
    let recovery = recovery.expect("damage was noticed");
    assert!(recovery.moved_to.exists());
    assert!(recovery.moved_to.file_name().unwrap().to_string_lossy().starts_with("local.db.corrupt-"));
    assert_eq!(recovery.recovered_records, Some(5));
    assert!(recovery.message().contains("找回 5 条记录"), "{}", recovery.message());
    assert_ne!(local.device(), old_device, "a rebuilt store is a new device");
    assert_eq!(local.pending().await.unwrap(), 5, "recovered records wait for upload");
    let carried = local.records_between(old_device, "w1/visits", 1, 5, 10).await.unwrap();
    assert_eq!(carried, written, "carried over with their identity");

    // They upload once, even though the old device might have sent some already.
    let server = TestServer::start().await;
    let client = signed_in_client(&server.base, "s001").await;
    client.upload(written[..2].to_vec()).await.unwrap();
    let outcome = sync_logs(&client, &local, 1).await.unwrap();
    assert_eq!(outcome.pending, 0);
    assert_eq!(server_counts(&server).await, (5, 5));
}

/// Overwrites the start of the root page of the schema object `which` selects (a
/// `sqlite_master` condition), as damage on disk would: the file still opens.
async fn scribble_over_root_page(path: &std::path::Path, which: &str) {
    let (root, page_size) = {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        let root: i64 = sqlx::query_scalar(&format!("SELECT rootpage FROM sqlite_master WHERE {which}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        let page_size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(&pool).await.unwrap();
        pool.close().await;
        (root, page_size)
    };
    let mut bytes = std::fs::read(path).unwrap();
    let start = ((root - 1) * page_size) as usize;
    bytes[start..start + 64].fill(0xA5);
    std::fs::write(path, bytes).unwrap();
}

/// The catalogue cache is checked after start-up, not at open: a damaged catalogue page does
/// not hold the open up, the later check finds it, and the next open checks the whole file and
/// rebuilds it with the device's records carried over.
#[tokio::test]
async fn a_damaged_catalogue_cache_is_found_after_start_and_rebuilt_at_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("local.db");
    let (local, _) = LocalStore::open(&path, Utc::now()).await.unwrap();
    let written = append(&local, "s001", Post::A, 3).await;
    let guides = bianmin::assets::bundled_catalogue().unwrap().guides;
    local.apply_guides(&bianmin::api::GuideChanges { seq: 7, guides, removed: Vec::new() }).await.unwrap();
    assert!(local.check_catalogue(&path).await.unwrap(), "an intact cache passes");
    local.close().await;
    scribble_over_root_page(&path, "name = 'guides'").await;

    let (local, recovery) = LocalStore::open(&path, Utc::now()).await.unwrap();
    assert!(recovery.is_none(), "the catalogue is not checked at open");
    let device = local.device();
    assert!(!local.check_catalogue(&path).await.unwrap(), "the later check finds the damage");
    local.close().await;

    let (local, recovery) = LocalStore::open(&path, Utc::now()).await.unwrap();
    let recovery = recovery.expect("the whole file was checked this time");
    assert!(recovery.moved_to.exists());
    assert_eq!(recovery.recovered_records, Some(3));
    assert_eq!(local.catalogue_seq().await.unwrap(), 0, "the catalogue is fetched again");
    assert_eq!(local.records_between(device, "w1/visits", 1, 3, 10).await.unwrap(), written);
    assert!(local.check_catalogue(&path).await.unwrap());
    local.close().await;
    let (_, recovery) = LocalStore::open(&path, Utc::now()).await.unwrap();
    assert!(recovery.is_none(), "checked once, not at every start");
}

#[tokio::test]
async fn a_cache_that_is_not_a_database_at_all_is_rebuilt_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("local.db");
    std::fs::write(&path, b"this is not an SQLite file, it was overwritten by something else entirely").unwrap();
    let (local, recovery) = LocalStore::open(&path, Utc::now()).await.unwrap();
    let recovery = recovery.unwrap();
    assert_eq!(recovery.recovered_records, None);
    assert!(recovery.message().contains("无法读取"), "{}", recovery.message());
    append(&local, "s001", Post::A, 1).await;
    assert_eq!(local.pending().await.unwrap(), 1, "the rebuilt store works");
}

#[tokio::test]
async fn a_full_disk_is_a_clear_message_and_loses_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("local.db");
    let (local, _) = LocalStore::open_with_limit(&path, Utc::now(), Some(40)).await.unwrap();
    let big = "满".repeat(200);
    let mut committed = 0;
    let error = loop {
        let body = RecordBody::Visit(Visit::new("", &big).unwrap());
        match local.append("s001", 1, Post::A, &body, Utc::now()).await {
            Ok(_) => committed += 1,
            Err(e) => break e,
        }
        assert!(committed < 10_000, "the page limit never hit");
    };
    assert!(matches!(error, LocalError::DiskFull), "{error:?}");
    assert_eq!(error.to_string(), "磁盘已满，记录未保存。请清理磁盘后重试");
    assert!(committed > 0);
    local.close().await;
    let (reopened, recovery) = LocalStore::open(&path, Utc::now()).await.unwrap();
    assert!(recovery.is_none(), "a full disk does not damage the store");
    assert_eq!(reopened.pending().await.unwrap(), committed, "every committed record is still there");
}

#[tokio::test]
async fn the_catalogue_syncs_by_delta_and_an_unchanged_one_costs_a_304() {
    let server = TestServer::start().await;
    let client = signed_in_client(&server.base, "s001").await;
    let dir = tempfile::tempdir().unwrap();
    let local = store(dir.path(), "a.db").await;
    let all = client.guides_since(0).await.unwrap();
    local.apply_guides(&all).await.unwrap();
    assert_eq!(local.guides().await.unwrap().len(), 91);

    let seq = local.catalogue_seq().await.unwrap();
    let token = server.sign_in("s001").await;
    let r = server
        .http
        .get(server.url(&format!("/api/v1/guides?since={seq}")))
        .bearer_auth(&token)
        .header("if-none-match", format!("\"{seq}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::NOT_MODIFIED);
    assert_eq!(r.headers()["etag"], format!("\"{seq}\"").as_str());
    assert!(client.guides_since(seq).await.unwrap().guides.is_empty());

    // Two guides change on the server; an identical re-import changes nothing.
    let mut changed: Vec<_> = all.guides[..2].to_vec();
    for g in &mut changed {
        g.hours = "周一至周日 8:30-17:30（测试变更）".into();
    }
    let report = upsert_guides(server.state.store.as_ref(), &changed, Utc::now().date_naive()).await.unwrap();
    assert_eq!((report.changed, report.added), (2, 0));
    let report = upsert_guides(server.state.store.as_ref(), &changed, Utc::now().date_naive()).await.unwrap();
    assert_eq!(report.unchanged, 2);

    let delta = client.guides_since(seq).await.unwrap();
    let codes: Vec<_> = delta.guides.iter().map(|g| g.code.clone()).collect();
    assert_eq!(delta.guides.len(), 2, "{codes:?} seq {seq} -> {}", delta.seq);
    assert!(delta.guides.iter().all(|g| g.revision == 2));
    local.apply_guides(&delta).await.unwrap();
    let cached = local.guides().await.unwrap();
    assert_eq!(cached.len(), 91);
    assert_eq!(cached.iter().filter(|g| g.hours.ends_with("（测试变更）")).count(), 2);
    assert_eq!(local.catalogue_seq().await.unwrap(), seq + 2);
}

/// Settings of a remote terminal whose data lives in `dir`.
fn remote_settings(dir: &Path, server: String) -> Settings {
    let mut settings = Settings { data_dir: dir.display().to_string(), ..Settings::default() };
    settings.terminal.server = server;
    settings.network.connect_timeout_ms = 300;
    settings.network.request_timeout_ms = 1_000;
    settings.network.refresh_interval_s = 1;
    settings
}

/// A TCP proxy the test can cut: cutting drops every open connection, and while cut it accepts
/// and at once drops new ones, like a township link that is down.
pub(crate) struct Proxy {
    pub(crate) port: u16,
    cut: Arc<AtomicBool>,
    open: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    pub(crate) fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for connection in self.open.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

pub(crate) async fn proxy_to(target: String) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let cut = Arc::new(AtomicBool::new(false));
    let open = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (is_cut, connections) = (cut.clone(), open.clone());
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            if is_cut.load(Ordering::SeqCst) {
                drop(inbound);
                continue;
            }
            let target = target.clone();
            let task = tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
            connections.lock().unwrap().push(task.abort_handle());
        }
    });
    Proxy { port, cut, open }
}

async fn next_link(events: &mut tokio::sync::mpsc::UnboundedReceiver<AppEvent>, want: fn(&Link) -> bool) -> Link {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv()).await.expect("link state in time").unwrap();
        if let AppEvent::Backend(BackendEvent::Link(link)) = event
            && want(&link)
        {
            return link;
        }
    }
}

#[tokio::test]
async fn the_backend_rides_out_a_partition_and_uploads_by_itself() {
    let server = TestServer::start().await;
    let proxy = proxy_to(server.base.trim_start_matches("http://").to_owned()).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = remote_settings(dir.path(), format!("http://127.0.0.1:{}", proxy.port));
    let (handle, mut events) = backend_of_s001(&settings);
    next_link(&mut events, |l| *l == Link::Online).await;

    proxy.cut();
    next_link(&mut events, |l| matches!(l, Link::Offline(_))).await;
    handle.send(bianmin::tui::app::AppCommand::RecordVisit(Visit::new("纸1", "断网期间").unwrap()));
    handle.send(bianmin::tui::app::AppCommand::RecordVisit(Visit::new("纸2", "断网期间").unwrap()));
    // Still cut: the records wait in the outbox.
    next_link(&mut events, |l| matches!(l, Link::Offline(_))).await;
    assert_eq!(server_counts(&server).await, (0, 0));

    proxy.restore();
    next_link(&mut events, |l| *l == Link::Online).await;
    assert_eq!(server_counts(&server).await, (2, 2));
    handle.stop(Duration::from_secs(3)).await;
}

#[tokio::test]
async fn the_backend_starts_from_cache_when_the_server_is_gone() {
    let server = TestServer::start().await;
    let base = server.base.clone();
    let dir = tempfile::tempdir().unwrap();
    let settings = remote_settings(dir.path(), base);
    let (handle, mut events) = backend_of_s001(&settings);
    next_link(&mut events, |l| *l == Link::Online).await;
    handle.stop(Duration::from_secs(3)).await;
    server.stop().await;

    let (handle, mut events) = backend_of_s001(&settings);
    let mut saw = (false, false, false, false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !(saw.0 && saw.1 && saw.2 && saw.3) {
        match tokio::time::timeout_at(deadline, events.recv()).await.expect("cached data in time").unwrap() {
            AppEvent::Backend(BackendEvent::Guides(g)) => saw.0 = g.len() == 91,
            AppEvent::Backend(BackendEvent::Overview(o)) => saw.1 = o.window.number == 1,
            AppEvent::Backend(BackendEvent::Link(Link::Offline(_))) => saw.2 = true,
            AppEvent::Backend(BackendEvent::Calendar(c)) => saw.3 = c.has_year(2026),
            AppEvent::Backend(BackendEvent::Link(Link::Online)) => panic!("the server is gone"),
            _ => {}
        }
    }
    handle.stop(Duration::from_secs(3)).await;
}

/// Connecting and signing in start at once, beside the local store's opening: a store that
/// cannot be opened yet (another process holds its file locked, as a slow disk or a long check
/// would hold it up) does not hold the sign-in back. The store waits for the lock up to its busy
/// timeout (5 s) and then gives up with a message; the sign-in must be done before that.
#[tokio::test]
async fn the_sign_in_does_not_wait_for_the_local_store_to_open() {
    use sqlx::ConnectOptions;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
    use std::str::FromStr;
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = remote_settings(dir.path(), server.base.clone());
    // A write lock in rollback-journal mode keeps everyone else out, reading included.
    let path = dir.path().join("bianmin-local.db");
    let mut holder = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Delete)
        .connect()
        .await
        .unwrap();
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut holder).await.unwrap();
    sqlx::query("CREATE TABLE held (x)").execute(&mut holder).await.unwrap();

    let (handle, mut events) = backend_of_s001(&settings);
    // The session's token is kept as soon as the server signed the clerk in.
    let origin = bianmin::client::token::origin_of(&settings.terminal.server);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while bianmin::client::token::load_token(dir.path(), &origin).unwrap().is_none() {
        while let Ok(event) = events.try_recv() {
            match event {
                AppEvent::Backend(BackendEvent::Message(m)) if m.contains("本机缓存") => {
                    panic!("the store gave up waiting before the sign-in was done: {m}")
                }
                AppEvent::Backend(BackendEvent::Link(Link::Online)) => panic!("online with the store unopened"),
                _ => {}
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "no sign-in while the store was locked");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Let go: the store opens and the first round completes.
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    drop(holder);
    next_link(&mut events, |l| *l == Link::Online).await;
    handle.stop(Duration::from_secs(3)).await;
}

#[tokio::test]
async fn a_server_with_a_newer_major_version_is_refused_once_not_retried_in_a_loop() {
    // Answers everything as API 2.0.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = requests.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let reply =
                "HTTP/1.1 200 OK\r\nbianmin-api-version: 2.0\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let settings = remote_settings(dir.path(), format!("http://127.0.0.1:{port}"));
    let (handle, mut events) = backend_of_s001(&settings);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let message = loop {
        match tokio::time::timeout_at(deadline, events.recv()).await.expect("a message in time").unwrap() {
            AppEvent::Backend(BackendEvent::Message(m)) => break m,
            AppEvent::Backend(BackendEvent::Link(Link::Online)) => panic!("an incompatible server is not online"),
            _ => {}
        }
    };
    assert!(message.contains("请升级终端"), "{message}");
    let after_refusal = requests.load(Ordering::SeqCst);
    // Refresh interval is 1 s: a retry loop would show within 3 s.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(requests.load(Ordering::SeqCst), after_refusal, "no retries against an incompatible server");
    handle.stop(Duration::from_secs(3)).await;
}

#[tokio::test]
async fn the_calendar_is_fetched_once_and_then_only_when_an_admin_changes_it() {
    use bianmin::domain::calendar::YearSchedule;
    use chrono::NaiveDate;
    let server = TestServer::start().await;
    let client = signed_in_client(&server.base, "s001").await;
    let first = client.calendar(None).await.unwrap().expect("the first fetch has a body");
    assert!(first.calendar.has_year(2026) && !first.calendar.has_year(2027));
    assert!(client.calendar(Some(first.seq)).await.unwrap().is_none(), "a current copy costs a 304");

    let day = |m, d| NaiveDate::from_ymd_opt(2027, m, d).unwrap();
    let before = first.calendar.add_working_days(day(1, 1), 1);
    assert!(before.provisional, "2027 has no schedule yet");

    // An admin loads 2027 (here: New Year's Day alone, for the test).
    let mut calendar = first.calendar.clone();
    let mut year = YearSchedule::default();
    year.holidays.insert(day(1, 1), "元旦".into());
    calendar.set_year(2027, year).unwrap();
    let seq = server.state.store.put_calendar(&calendar).await.unwrap();
    assert_eq!(seq, first.seq + 1);

    let second = client.calendar(Some(first.seq)).await.unwrap().expect("a stale copy is replaced");
    assert_eq!(second.seq, seq);
    let after = second.calendar.add_working_days(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(), 1);
    assert_eq!(after.date, day(1, 4), "1 Jan 2027 is a holiday, then a weekend");
    assert!(!after.provisional);
}

#[tokio::test]
async fn cases_and_notices_from_the_log_reach_the_window_overview_and_the_record_of_notices() {
    use bianmin::domain::case::{CaseStatus, MaterialCheck};
    use bianmin::domain::intake::{self, Opening};
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let local = store(dir.path(), "a.db").await;
    let guide = bianmin::assets::bundled_catalogue()
        .unwrap()
        .guides
        .into_iter()
        .find(|g| g.situations.is_empty() && g.materials.len() >= 2)
        .unwrap();
    let opening = Opening { window: 1, post: Post::A, staff_id: "s001", ticket: None };
    let mut case = intake::open_case(&guide, None, &opening, uuid::Uuid::now_v7(), Utc::now()).unwrap();
    local.append("s001", 1, Post::A, &RecordBody::CaseSnapshot(Box::new(case.clone())), Utc::now()).await.unwrap();
    let ids: Vec<String> = case.checklist.items.iter().map(|i| i.material_id.clone()).collect();
    intake::set_material(&mut case, &ids[0], MaterialCheck::Received, None).unwrap();
    for id in &ids[1..] {
        intake::set_material(&mut case, id, MaterialCheck::Missing, None).unwrap();
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
    local.append("s001", 1, Post::A, &RecordBody::NoticeGiven(Box::new(notice.clone())), Utc::now()).await.unwrap();
    case.new_version(uuid::Uuid::now_v7());
    local.append("s001", 1, Post::A, &RecordBody::CaseSnapshot(Box::new(case.clone())), Utc::now()).await.unwrap();
    assert_eq!(local.pending_cases(1).await.unwrap(), vec![case.clone()], "the newest snapshot, not yet uploaded");
    assert_eq!(local.notices_for(case.id).await.unwrap(), vec![notice.clone()]);

    let client = signed_in_client(&server.base, "s001").await;
    let outcome = sync_logs(&client, &local, 1).await.unwrap();
    assert_eq!((outcome.uploaded, outcome.pending), (3, 0));
    assert!(local.pending_cases(1).await.unwrap().is_empty());
    let overview = client.window_overview(1).await.unwrap();
    assert_eq!(overview.open_cases.len(), 1);
    assert_eq!(overview.open_cases[0].status, CaseStatus::AwaitingMaterials, "the newest snapshot won");
    let pool = sqlx::SqlitePool::connect(&server.db_url).await.unwrap();
    let (number, body): (String, String) = sqlx::query_as("SELECT number, body FROM notices WHERE case_id = ?")
        .bind(case.id.to_string())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(number, "GZ01-20261130-0001");
    let stored: bianmin::domain::notice::OneTimeNotice = serde_json::from_str(&body).unwrap();
    assert_eq!(stored.missing.len(), ids.len() - 1, "the server can prove every item that was told");
    pool.close().await;
}

#[tokio::test]
async fn only_an_admin_loads_a_calendar_year_and_a_bad_one_is_refused_whole() {
    let server = TestServer::start().await;
    let url = server.url("/api/v1/calendar/years/2027");
    let year = serde_json::json!({"holidays": {"2027-01-01": "元旦"}, "workdays": {}});
    let clerk = server.sign_in("s001").await;
    let r = server.http.put(&url).bearer_auth(&clerk).json(&year).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    let admin = server.sign_in("admin").await;
    let wrong = serde_json::json!({"holidays": {"2026-01-01": "元旦"}, "workdays": {}});
    let r = server.http.put(&url).bearer_auth(&admin).json(&wrong).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let problem: bianmin::api::Problem = r.json().await.unwrap();
    assert!(problem.errors[0].message.contains("2026-01-01"), "{:?}", problem.errors);
    let r = server.http.put(&url).bearer_auth(&admin).json(&year).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let reply: bianmin::api::CalendarReply = r.json().await.unwrap();
    assert!(reply.calendar.has_year(2027) && reply.calendar.has_year(2026));
    let client = signed_in_client(&server.base, "s001").await;
    assert_eq!(client.calendar(None).await.unwrap().unwrap().seq, reply.seq, "terminals see the new year");
}

#[tokio::test]
async fn accepted_dispatched_and_delivered_cases_leave_the_open_list() {
    use bianmin::domain::case::MaterialCheck;
    use bianmin::domain::intake::{self, Opening};
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let local = store(dir.path(), "a.db").await;
    let guide = bianmin::assets::bundled_catalogue()
        .unwrap()
        .guides
        .into_iter()
        .find(|g| g.situations.is_empty() && g.accept_on_receipt && g.promised_limit_days > 0)
        .unwrap();
    let calendar = bianmin::assets::bundled_calendar().unwrap();
    let opening = Opening { window: 1, post: Post::A, staff_id: "s001", ticket: None };
    let mut case = intake::open_case(&guide, None, &opening, uuid::Uuid::now_v7(), Utc::now()).unwrap();
    case.applicant = Some(bianmin::domain::applicant::Applicant {
        name: "李四".into(),
        id_number: bianmin::domain::applicant::IdNumber::parse("11010519491231002X").unwrap(),
        phone: None,
    });
    let ids: Vec<String> = case.checklist.items.iter().map(|i| i.material_id.clone()).collect();
    for id in &ids {
        intake::set_material(&mut case, id, MaterialCheck::Received, None).unwrap();
    }
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    intake::accept(&mut case, &guide, "SL20261130-01-0001".into(), today, &calendar).unwrap();
    let client = signed_in_client(&server.base, "s001").await;
    let snapshot = |case: &bianmin::domain::case::Case| RecordBody::CaseSnapshot(Box::new(case.clone()));
    local.append("s001", 1, Post::A, &snapshot(&case), Utc::now()).await.unwrap();
    sync_logs(&client, &local, 1).await.unwrap();
    let open = client.window_overview(1).await.unwrap().open_cases;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].deadline, case.deadline, "the promised deadline travels with the case");
    for step in [intake::dispatch, intake::record_result, intake::deliver] {
        step(&mut case).unwrap();
        case.new_version(uuid::Uuid::now_v7());
        local.append("s001", 1, Post::A, &snapshot(&case), Utc::now()).await.unwrap();
    }
    sync_logs(&client, &local, 1).await.unwrap();
    assert!(client.window_overview(1).await.unwrap().open_cases.is_empty(), "delivered: closed");
}

#[tokio::test]
async fn an_upload_nudges_the_windows_other_terminals_through_the_live_feed() {
    use bianmin::api::queue::QueueEvent;
    use bianmin::client::queue::QueueFeed;
    let server = TestServer::start().await;
    let b = signed_in_client(&server.base, "s002").await;
    let mut feed = b.follow_queue(None);
    // Wait for the connection (a snapshot comes first).
    loop {
        if let Some(QueueFeed::Event(QueueEvent::Snapshot(_))) = feed.recv().await {
            break;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let local = store(dir.path(), "a.db").await;
    append(&local, "s001", Post::A, 1).await;
    let a = signed_in_client(&server.base, "s001").await;
    let sent = std::time::Instant::now();
    sync_logs(&a, &local, 1).await.unwrap();
    let nudged = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(QueueFeed::Event(QueueEvent::RecordsChanged { window })) = feed.recv().await {
                return window;
            }
        }
    })
    .await
    .expect("the nudge arrives");
    assert_eq!(nudged, 1);
    assert!(sent.elapsed() < Duration::from_secs(5));
}

/// s001's A-to-B handover of the sample center's first window: away on an errand, one to-do
/// (回电张先生) left for B.
pub fn errand_handover() -> bianmin::domain::handover::Handover {
    use bianmin::domain::handover::{HandoverDraft, HandoverKind, PendingItem, WindowAtHandover, handover_from};
    let window = bianmin::server::seed::bundled_seed().unwrap().windows[0].clone();
    let draft = HandoverDraft {
        reason: Some(bianmin::domain::handover::AwayReason::Errand),
        pending: vec![PendingItem { text: "回电张先生".into(), due: None, done: false }],
        ..HandoverDraft::default()
    };
    let at = WindowAtHandover { window: &window, open_cases: &[], tickets: &[] };
    handover_from(&at, HandoverKind::AToB, "s001", draft, uuid::Uuid::now_v7(), Utc::now()).unwrap()
}

#[tokio::test]
async fn a_ticked_to_do_reaches_the_servers_handover_history() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let a = store(dir.path(), "a.db").await;
    let h = errand_handover();
    a.append("s001", 1, Post::A, &RecordBody::HandoverWritten(Box::new(h.clone())), Utc::now()).await.unwrap();
    a.append(
        "s001",
        1,
        Post::A,
        &RecordBody::HandoverItemChecked { handover_id: h.id, item: 0, done: true },
        Utc::now(),
    )
    .await
    .unwrap();
    let client = signed_in_client(&server.base, "s001").await;
    sync_logs(&client, &a, 1).await.unwrap();
    let history = client.handovers(1).await.unwrap();
    assert!(history[0].pending[0].done, "{:?}", history[0].pending);
    assert!(a.handovers(1).await.unwrap()[0].pending[0].done, "and in the terminal's own fold");
}

#[tokio::test]
async fn ratings_a_clerk_typed_in_ride_the_log_but_are_never_counted() {
    use bianmin::domain::rating::{Rating, RatingLevel};
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let local = store(dir.path(), "a.db").await;
    for (i, level) in [RatingLevel::VerySatisfied, RatingLevel::Dissatisfied].into_iter().enumerate() {
        let rating = Rating {
            id: uuid::Uuid::now_v7(),
            window: 1,
            staff: "s001".into(),
            case_id: None,
            level,
            comment: format!("意见{i}"),
            rated_at: Utc::now(),
            day: None,
            reply: None,
        };
        local.append("s001", 1, Post::A, &RecordBody::RatingRecorded(Box::new(rating)), Utc::now()).await.unwrap();
    }
    let client = signed_in_client(&server.base, "s001").await;
    let outcome = sync_logs(&client, &local, 1).await.unwrap();
    // The outbox moved on (nothing left to send) and the log holds both; the ratings do not:
    // a clerk does not rate their own work (only the window's evaluator does).
    assert_eq!((outcome.uploaded, outcome.pending), (2, 0), "nothing stuck in the outbox");
    let pool = sqlx::SqlitePool::connect(&server.db_url).await.unwrap();
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM device_records WHERE kind = 'rating_recorded'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let counted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ratings").fetch_one(&pool).await.unwrap();
    assert_eq!((kept, counted), (2, 0));
    pool.close().await;
}

#[tokio::test]
async fn a_record_whose_window_disagrees_with_its_stream_or_content_is_refused() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let local = store(dir.path(), "a.db").await;
    let mut record = append(&local, "s001", Post::A, 1).await.remove(0);
    record.stream = "w2/visits".into();
    let client = signed_in_client(&server.base, "s001").await;
    assert_eq!(client.upload(vec![record]).await.unwrap_err().problem_code(), Some("validation_failed"));
}

#[tokio::test]
async fn logs_of_another_window_held_here_do_not_stop_this_windows_uploads() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let local = store(dir.path(), "a.db").await;
    // A record of window 4 from another device, downloaded while this PC served window 4.
    let other = store(dir.path(), "other.db").await;
    let foreign = other.append("s005", 4, Post::A, &walk_in(0), Utc::now()).await.unwrap();
    local.insert_records(&[foreign]).await.unwrap();
    append(&local, "s001", Post::A, 2).await;
    let client = signed_in_client(&server.base, "s001").await;
    let outcome = sync_logs(&client, &local, 1).await.unwrap();
    assert_eq!(outcome.uploaded, 2, "window 1's own records went up");
    assert_eq!(server_counts(&server).await.0, 2, "window 4's log was not offered to window 1's server round");
}

#[tokio::test]
async fn a_new_number_starts_above_every_number_already_in_the_log() {
    use bianmin::domain::intake::{self, Opening};
    let dir = tempfile::tempdir().unwrap();
    let local = store(dir.path(), "a.db").await;
    // A notice numbered 0007 today, say from before the cache was rebuilt or from the other
    // terminal of this window.
    let guide =
        bianmin::assets::bundled_catalogue().unwrap().guides.into_iter().find(|g| g.situations.is_empty()).unwrap();
    let opening = Opening { window: 1, post: Post::A, staff_id: "s001", ticket: None };
    let mut case = intake::open_case(&guide, None, &opening, uuid::Uuid::now_v7(), Utc::now()).unwrap();
    let ids: Vec<String> = case.checklist.items.iter().map(|i| i.material_id.clone()).collect();
    for id in &ids {
        intake::set_material(&mut case, id, bianmin::domain::case::MaterialCheck::Missing, None).unwrap();
    }
    let today = bianmin::domain::time::china_date(Utc::now());
    let number = bianmin::domain::documents::notice_number(1, today, 7);
    let notice =
        intake::give_notice(&mut case, &[], number.clone(), uuid::Uuid::now_v7(), "s001", Utc::now(), None).unwrap();
    local.append("s001", 1, Post::A, &RecordBody::NoticeGiven(Box::new(notice)), Utc::now()).await.unwrap();
    let prefix = number.rsplit_once('-').map(|(h, _)| format!("{h}-")).unwrap();
    let used = local.highest_number("notice_given", 1, &prefix, Utc::now() - chrono::TimeDelta::days(2)).await.unwrap();
    assert_eq!(used, 7);
    assert_eq!(local.next_sequence("notice:test", used).await.unwrap(), 8);
    assert_eq!(local.next_sequence("notice:test", used).await.unwrap(), 9, "and on from there");
    assert_eq!(local.next_sequence("notice:fresh", 0).await.unwrap(), 1);
}

#[tokio::test]
async fn old_copies_of_a_damaged_cache_are_removed_after_the_purge_period() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bianmin-local.db");
    let copy = dir.path().join("bianmin-local.db.corrupt-20261101-101010");
    std::fs::write(&copy, b"old damaged copy with applicants' data").unwrap();
    std::fs::write(dir.path().join("unrelated.txt"), b"keep").unwrap();
    use bianmin::client::local::remove_old_damaged_copies;
    assert_eq!(remove_old_damaged_copies(&path, Duration::from_secs(3600)), 0, "too recent to go");
    assert_eq!(remove_old_damaged_copies(&path, Duration::ZERO), 1);
    assert!(!copy.exists() && dir.path().join("unrelated.txt").exists());
}

#[tokio::test]
async fn a_copied_device_log_becomes_a_new_device_and_its_records_upload() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (original_path, copy_path) = (dir.path().join("a.db"), dir.path().join("copy.db"));
    let original = store(dir.path(), "a.db").await;
    let client = signed_in_client(&server.base, "s001").await;
    append(&original, "s001", Post::A, 3).await;
    assert_eq!(sync_logs(&client, &original, 1).await.unwrap().pending, 0);
    // The file is copied to a second PC (or kept as a backup and restored later).
    original.close().await;
    std::fs::copy(&original_path, &copy_path).unwrap();
    let original = store(dir.path(), "a.db").await;
    let copy = store(dir.path(), "copy.db").await;
    assert_eq!(copy.device(), original.device());

    // Both go on: the original uploads first, so the server holds its records at 4 and 5.
    append(&original, "s001", Post::A, 2).await;
    assert_eq!(sync_logs(&client, &original, 1).await.unwrap().pending, 0);
    let made_on_copy = append(&copy, "s001", Post::A, 3).await;

    let outcome = sync_logs(&client, &copy, 1).await.unwrap();
    assert_eq!(outcome.rekeyed, Some(3), "the copy's three unsent records moved to a new device");
    assert!(outcome.rekey_message().unwrap().contains("3 条记录"), "{:?}", outcome.rekey_message());
    assert_ne!(copy.device(), original.device());
    assert_eq!(outcome.pending, 0);
    assert_eq!(server_counts(&server).await, (8, 8), "3 + 2 + 3, each once");
    // Every record made on the copy is on the server, by id.
    let pool = sqlx::SqlitePool::connect(&server.db_url).await.unwrap();
    for r in &made_on_copy {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM device_records WHERE id = ?")
            .bind(r.id.to_string())
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 1, "{}", r.id);
    }
    pool.close().await;
    // Told once: the next round finds nothing to re-key.
    let again = sync_logs(&client, &copy, 1).await.unwrap();
    assert_eq!((again.rekeyed, again.pending), (None, 0));
    // And both terminals end up holding all eight.
    sync_logs(&client, &original, 1).await.unwrap();
    for local in [&original, &copy] {
        let held: usize = local.streams().await.unwrap().iter().map(|s| s.max as usize).sum();
        assert_eq!(held, 8);
    }
    // The copy remembers its new identity after a restart.
    let device = copy.device();
    copy.close().await;
    assert_eq!(store(dir.path(), "copy.db").await.device(), device);
}

#[tokio::test]
async fn a_scribbled_leaf_page_loses_only_its_own_rows_and_says_exactly_how_many() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("local.db");
    let (local, _) = LocalStore::open(&path, Utc::now()).await.unwrap();
    let big = "页".repeat(200);
    for i in 0..12 {
        local
            .append("s001", 1, Post::A, &RecordBody::Visit(Visit::new(&format!("{i}"), &big).unwrap()), Utc::now())
            .await
            .unwrap();
    }
    local.close().await;
    // Find the records table's leaf pages under its root, and the rows on a middle one.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&pool).await.unwrap();
    let root: i64 =
        sqlx::query_scalar("SELECT rootpage FROM sqlite_master WHERE name = 'records'").fetch_one(&pool).await.unwrap();
    let page_size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(&pool).await.unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let page = |n: i64| bytes[((n - 1) * page_size) as usize..(n * page_size) as usize].to_vec();
    let children = interior_children(&page(root));
    assert!(children.len() >= 3, "at least three leaf pages: {children:?}");
    let (leaf, high) = children[1];
    let low = children[0].1.unwrap();
    let on_leaf: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM records WHERE rowid > ? AND rowid <= ?")
        .bind(low)
        .bind(high.unwrap())
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert!(on_leaf > 0);
    let mut bytes = bytes.clone();
    let start = ((i64::from(leaf) - 1) * page_size) as usize;
    bytes[start..start + page_size as usize].fill(0xA5);
    std::fs::write(&path, bytes).unwrap();

    let (local, recovery) = LocalStore::open(&path, Utc::now()).await.unwrap();
    let recovery = recovery.expect("damage was noticed");
    let readable = 12 - on_leaf as usize;
    assert_eq!(recovery.recovered_records, Some(readable), "every row off the damaged page, from both sides");
    assert_eq!(recovery.lost_unsent, Some(on_leaf as usize), "counted exactly");
    let message = recovery.message();
    assert!(message.contains(&format!("找回 {readable} 条记录")), "{message}");
    assert!(message.contains(&format!("有 {on_leaf} 条未上传的记录无法找回")), "{message}");
    assert_eq!(local.pending().await.unwrap(), readable);
}

/// A place lost on both sides (a damaged cache lost an unsent record) keeps the server's
/// contiguous `last` below it for good. What the server stored past it with a 200 no longer
/// waits here, every batch past it goes (not only the first), and later rounds send none again.
#[tokio::test]
async fn records_past_a_place_neither_side_holds_upload_once_and_stop_waiting() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gap.db");
    let local = store(dir.path(), "gap.db").await;
    let client = signed_in_client(&server.base, "s001").await;
    append(&local, "s001", Post::A, 2).await;
    assert_eq!(sync_logs(&client, &local, 1).await.unwrap().pending, 0);
    // The first unsent record (place 3) is lost: the server's log ends just before the gap.
    let unsent = UPLOAD_BATCH + 20;
    append(&local, "s001", Post::A, unsent).await;
    local.close().await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    sqlx::query("DELETE FROM records WHERE idx = 3").execute(&pool).await.unwrap();
    pool.close().await;
    let local = store(dir.path(), "gap.db").await;
    assert_eq!(local.pending().await.unwrap(), unsent - 1);
    let made = unsent + 2;

    let first = sync_logs(&client, &local, 1).await.unwrap();
    assert_eq!(server_counts(&server).await, (made as i64 - 1, made as i64 - 1), "every record held here, once");
    assert_eq!(first.pending, 0, "stored on the server: nothing waits");
    let again = sync_logs(&client, &local, 1).await.unwrap();
    assert_eq!((again.uploaded, again.pending), (0, 0), "nothing sent again");
}

/// The terminal's backend for clerk s001 against `settings`' server, with its events.
fn backend_of_s001(settings: &Settings) -> (backend::BackendHandle, tokio::sync::mpsc::UnboundedReceiver<AppEvent>) {
    let credentials = Credentials { staff_id: "s001".into(), password: PASSWORD.into() };
    let (tx, events) = tokio::sync::mpsc::unbounded_channel();
    let handle = backend::spawn(
        settings.clone(),
        ServerUrl::At(settings.terminal.server.clone()),
        Some(credentials),
        tx.clone(),
        catalogue::spawn(tx),
    );
    (handle, events)
}

on_both_servers!(
    records_upload_once_and_replays_change_nothing,
    a_different_record_at_a_stored_place_is_a_conflict,
    two_devices_upload_at_once_and_each_downloads_the_other,
    an_interrupted_upload_resumes_at_the_first_gap,
);
