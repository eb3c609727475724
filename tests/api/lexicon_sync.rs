//! The desk's colloquial lexicon travels like the calendar: the server keeps one copy with a
//! change sequence, a terminal fetches it only when it changed (ETag, 304 otherwise), caches it,
//! and the catalogue job rebuilds the search index with it. Real server on a loopback port, real
//! SQLite files.

use crate::common;

use std::path::Path;
use std::time::Duration;

use bianmin::config::Settings;
use bianmin::domain::lexicon::{Lexicon, SynonymGroup};
use bianmin::tui::app::{AppCommand, AppEvent, BackendEvent, Link};
use bianmin::tui::backend::{self, Credentials, ServerUrl};
use bianmin::tui::catalogue;
use common::server::{PASSWORD, TestServer, signed_in_client};

fn remote_settings(dir: &Path, server: String) -> Settings {
    let mut settings = Settings { data_dir: dir.display().to_string(), ..Settings::default() };
    settings.terminal.server = server;
    settings.network.connect_timeout_ms = 300;
    settings.network.request_timeout_ms = 1_000;
    settings.network.refresh_interval_s = 1;
    settings
}

/// The bundled lexicon plus 铲屎官 as a word for 农机 (nonsense on purpose: no other route
/// could make the question below find the 农机 guide).
fn taught() -> Lexicon {
    let mut lexicon = Lexicon::bundled().clone();
    lexicon.groups.push(SynonymGroup { words: vec!["铲屎官".into(), "收割机补贴".into()] });
    lexicon
}

#[tokio::test]
async fn the_lexicon_is_fetched_once_and_then_only_when_an_admin_changes_it() {
    let server = TestServer::start().await;
    let client = signed_in_client(&server.base, "d001").await;
    let first = client.lexicon(None).await.unwrap().expect("the first fetch has a body");
    assert_eq!(&first.lexicon, Lexicon::bundled(), "a new server starts with the bundled lexicon");
    assert!(client.lexicon(Some(first.seq)).await.unwrap().is_none(), "a current copy costs a 304");
    let seq = server.state.store.put_lexicon(&taught()).await.unwrap();
    assert_eq!(seq, first.seq + 1);
    let second = client.lexicon(Some(first.seq)).await.unwrap().expect("a stale copy is replaced");
    assert_eq!((second.seq, second.lexicon), (seq, taught()));
}

/// Asks the job until the top result of `question` is `code` (or the deadline passes).
async fn top_becomes(
    job: &catalogue::CatalogueHandle,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<AppEvent>,
    question: &str,
    code: &str,
    within: Duration,
) -> Option<String> {
    let deadline = tokio::time::Instant::now() + within;
    let mut last = None;
    while tokio::time::Instant::now() < deadline {
        job.search(question.to_owned());
        let wait = tokio::time::Instant::now() + Duration::from_millis(500);
        while let Ok(Some(event)) = tokio::time::timeout_at(wait, events.recv()).await {
            if let AppEvent::Backend(BackendEvent::SearchResults { query, rows }) = event
                && query == question
            {
                last = rows.first().map(|r| r.code.clone());
                if last.as_deref() == Some(code) {
                    return last;
                }
            }
        }
        job.search(String::new());
    }
    last
}

#[tokio::test]
async fn a_word_the_admin_adds_reaches_the_desk_search_with_the_next_sync() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = remote_settings(dir.path(), server.base.clone());
    let credentials = Credentials { staff_id: "d001".into(), password: PASSWORD.into() };
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let job = catalogue::spawn(tx.clone());
    let handle = backend::spawn(
        settings.clone(),
        ServerUrl::At(settings.terminal.server.clone()),
        Some(credentials),
        tx,
        job.clone(),
    );

    // Online, catalogue loaded: the bundled lexicon does not know 铲屎官.
    online_with(&mut events, 91).await;
    let question = "铲屎官";
    let before = top_becomes(&job, &mut events, question, "HB-QS-0045", Duration::from_secs(2)).await;
    assert_ne!(before.as_deref(), Some("HB-QS-0045"));

    // The admin imports the changed lexicon; the next sync brings it.
    server.state.store.put_lexicon(&taught()).await.unwrap();
    handle.send(AppCommand::Refresh);
    let after = top_becomes(&job, &mut events, question, "HB-QS-0045", Duration::from_secs(30)).await;
    assert_eq!(after.as_deref(), Some("HB-QS-0045"), "the desk search did not learn 铲屎官");
    handle.stop(Duration::from_secs(3)).await;
}

/// `bianmin import lexicon` checks the whole file first (every problem, exit 2, nothing written);
/// `bianmin lexicon add` adds one word. Both write the server's database; the sequence goes up.
#[test]
fn the_admin_imports_a_lexicon_and_adds_a_word() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("server.db").display());
    let run = |args: &[&str]| {
        let output = common::server::run_cli(args, &database, dir.path());
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (output.status.code(), text(&output.stdout), text(&output.stderr))
    };
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "filler = [\"怎么\", \"怎么\"]\n[[group]]\nwords = [\"娃\"]\n").unwrap();
    let (code, stdout, stderr) = run(&["import", "lexicon", bad.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("虚词第2个「怎么」与虚词第1个「怎么」重复"), "{stderr}");
    assert!(stderr.contains("同义词组第1组至少要有两个词"), "{stderr}");
    assert!(stderr.contains("共有 2 处错误，未导入"), "{stderr}");
    assert!(!dir.path().join("server.db").exists(), "nothing written, not even a database");

    let good = dir.path().join("good.toml");
    std::fs::write(&good, include_str!("../../assets/lexicon.toml")).unwrap();
    let (code, stdout, stderr) = run(&["import", "lexicon", good.to_str().unwrap(), "--dry-run"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("检查通过"), "{stdout}");
    let (code, stdout, stderr) = run(&["import", "lexicon", good.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    // A new database starts with the bundled lexicon (version 1); the import is version 2.
    assert!(stdout.starts_with("词库已导入（第 2 版）"), "{stdout}");

    let (code, stdout, stderr) = run(&["lexicon", "add", "铲屎官", "--like", "收割机"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("已把“铲屎官”加入“收割机”所在的同义词组（词库第 3 版）"), "{stdout}");
    let (code, _, stderr) = run(&["lexicon", "add", "铲屎官", "--like", "收割机"]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("重复"), "{stderr}");
}

/// Waits until the backend is online and the catalogue job holds `guides` guides.
async fn online_with(events: &mut tokio::sync::mpsc::UnboundedReceiver<AppEvent>, guides: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut ready = (false, false);
    while !(ready.0 && ready.1) {
        match tokio::time::timeout_at(deadline, events.recv()).await.expect("online in time").unwrap() {
            AppEvent::Backend(BackendEvent::Link(Link::Online)) => ready.0 = true,
            AppEvent::Backend(BackendEvent::Guides(g)) => ready.1 = g.len() == guides,
            _ => {}
        }
    }
}

/// An alias the admin adds with `bianmin guides alias add` (the real binary, on the running
/// server's database) reaches the desk: the server's catalogue revision goes up, the desk's
/// catalogue delta sync fetches the changed guide, and its search finds the guide by the alias.
/// No 刷新 is pressed: the periodic sync carries it.
#[tokio::test]
async fn an_alias_the_admin_adds_reaches_the_desk_search_with_the_next_sync() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = remote_settings(dir.path(), server.base.clone());
    let credentials = Credentials { staff_id: "d001".into(), password: PASSWORD.into() };
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let job = catalogue::spawn(tx.clone());
    let server_url = ServerUrl::At(settings.terminal.server.clone());
    let handle = backend::spawn(settings, server_url, Some(credentials), tx, job.clone());
    online_with(&mut events, 91).await;

    let (question, code) = ("屋头的猫丢了找哪个", "HB-QS-0083");
    let before = top_becomes(&job, &mut events, question, code, Duration::from_secs(2)).await;
    assert_ne!(before.as_deref(), Some(code), "the bundled catalogue already answers it");

    let admin_home = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_bianmin"))
        .args(["guides", "alias", "add", code, "屋头的猫丢了", "--database", &server.db_url])
        .env_clear()
        .env("HOME", admin_home.path())
        .env("XDG_CONFIG_HOME", admin_home.path().join("config"))
        .env("BIANMIN_DATA_DIR", admin_home.path().join("data"))
        .output()
        .expect("run bianmin guides alias add");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let after = top_becomes(&job, &mut events, question, code, Duration::from_secs(30)).await;
    assert_eq!(after.as_deref(), Some(code), "the desk search did not learn the alias");
    handle.stop(Duration::from_secs(3)).await;
}
