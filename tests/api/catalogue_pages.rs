//! The catalogue in pages: exact page boundaries by change sequence, bounded pages, a first sync
//! that resumes after the last stored page when it is cut off (stopped, or the network gone), and
//! the gzipped page the server keeps per catalogue revision.

use crate::common;
use crate::sync::proxy_to;

use std::io::Read;
use std::ops::ControlFlow;
use std::path::Path;

use bianmin::api::{GuideChanges, GuidePage, MAX_GUIDE_PAGE};
use bianmin::client::local::LocalStore;
use bianmin::client::sync::{SyncError, sync_catalogue};
use bianmin::domain::guide::ServiceGuide;
use bianmin::server::service::catalogue::upsert_guides;
use chrono::Utc;
use common::server::{TestServer, signed_in_client};

/// 91 bundled guides plus this many generated ones: 500 in all.
const GENERATED: usize = 409;
const LIMIT: u32 = 50;

fn generated(n: usize) -> Vec<ServiceGuide> {
    let sample = bianmin::assets::bundled_catalogue().unwrap().guides;
    (0..n)
        .map(|i| {
            let mut g = sample[i % sample.len()].clone();
            g.code = format!("GEN-{i:06}");
            g.name = format!("{}（第{i}项）", g.name);
            g
        })
        .collect()
}

async fn catalogue_server() -> TestServer {
    let server = TestServer::start().await;
    upsert_guides(server.state.store.as_ref(), &generated(GENERATED), Utc::now().date_naive()).await.unwrap();
    server
}

async fn store(dir: &Path, name: &str) -> LocalStore {
    LocalStore::open(&dir.join(name), Utc::now()).await.unwrap().0
}

/// Every cached row as stored (code, its sequence, its body), and the catalogue sequence.
async fn rows(dir: &Path, name: &str) -> (Vec<(String, i64, String)>, String) {
    let url = format!("sqlite://{}?mode=ro", dir.join(name).display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let rows = sqlx::query_as("SELECT code, seq, body FROM guides ORDER BY code").fetch_all(&pool).await.unwrap();
    let seq = sqlx::query_scalar("SELECT value FROM kv WHERE key = 'catalogue_seq'").fetch_one(&pool).await.unwrap();
    pool.close().await;
    (rows, seq)
}

async fn get_page(server: &TestServer, token: &str, query: &str) -> GuidePage {
    let r = server.http.get(server.url(&format!("/api/v1/guides?{query}"))).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200, "{query}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn pages_follow_the_change_sequence_exactly_and_old_terminals_get_everything() {
    let server = catalogue_server().await;
    let token = server.sign_in("s001").await;
    let all = get_page(&server, &token, "since=0").await;
    assert_eq!(all.guides.len(), 91 + GENERATED);
    assert!(!all.more, "without a limit the one page is the whole catalogue");
    // What a terminal from before pages reads: the same reply, `more` ignored.
    let old: GuideChanges = serde_json::from_value(serde_json::to_value(&all).unwrap()).unwrap();
    assert_eq!((old.seq, old.guides.len()), (all.seq, all.guides.len()));

    let mut since = 0;
    let mut paged = Vec::new();
    let mut pages = 0;
    loop {
        let page = get_page(&server, &token, &format!("since={since}&limit={LIMIT}")).await;
        pages += 1;
        assert!(page.guides.len() <= LIMIT as usize);
        assert!(page.seq > since, "a page moves on");
        paged.extend(page.guides);
        since = page.seq;
        if !page.more {
            break;
        }
        assert_eq!(paged.len(), pages * LIMIT as usize, "a full page whenever more follow");
    }
    assert_eq!(pages, (91 + GENERATED).div_ceil(LIMIT as usize));
    assert_eq!(since, all.seq);
    assert_eq!(paged, all.guides, "the pages together are the catalogue in change order, each guide once");

    // A change moves the changed guides to the end of the sequence, each with its own number.
    let mut changed = vec![all.guides[3].clone(), all.guides[200].clone()];
    for g in &mut changed {
        g.hours = "周一至周五 9:00-17:00（分页测试）".into();
    }
    upsert_guides(server.state.store.as_ref(), &changed, Utc::now().date_naive()).await.unwrap();
    let page = get_page(&server, &token, &format!("since={since}&limit=1")).await;
    assert_eq!((page.guides.len(), page.seq, page.more), (1, since + 1, true));
    assert_eq!(page.guides[0].code, changed[0].code);
    let page = get_page(&server, &token, &format!("since={}&limit=1", since + 1)).await;
    assert_eq!((page.guides.len(), page.seq, page.more), (1, since + 2, false));
    assert_eq!(page.guides[0].code, changed[1].code);
    // Current: an empty page at the same sequence; nonsense limits are brought into range.
    let page = get_page(&server, &token, &format!("since={}&limit=0", since + 2)).await;
    assert_eq!((page.guides.len(), page.seq, page.more), (0, since + 2, false));
    let page = get_page(&server, &token, &format!("since=0&limit={}", u32::MAX)).await;
    assert_eq!(page.guides.len(), 91 + GENERATED, "under the server's cap of {MAX_GUIDE_PAGE}");
}

#[tokio::test]
async fn a_page_stops_at_its_byte_bound_but_always_carries_one_guide() {
    let server = catalogue_server().await;
    let store = server.state.store.as_ref();
    let first = store.guides_page(0, Some(LIMIT), usize::MAX).await.unwrap();
    let json = |g: &ServiceGuide| serde_json::to_string(g).unwrap().len();
    let three: usize = first.guides[..3].iter().map(json).sum();
    let bounded = store.guides_page(0, Some(LIMIT), three).await.unwrap();
    assert_eq!(bounded.guides, first.guides[..3], "three guides fit in their own size, the fourth does not");
    assert!(bounded.more);
    let tiny = store.guides_page(0, Some(LIMIT), 1).await.unwrap();
    assert_eq!((tiny.guides.len(), tiny.more), (1, true), "one guide even when it alone passes the bound");
    assert_eq!(store.guides_page(tiny.seq, Some(LIMIT), 1).await.unwrap().guides[0], first.guides[1]);
}

#[tokio::test]
async fn a_first_sync_stopped_after_some_pages_resumes_there_and_ends_the_same() {
    let server = catalogue_server().await;
    let client = signed_in_client(&server.base, "s001").await;
    let dir = tempfile::tempdir().unwrap();

    // The reference: one uninterrupted sync.
    let whole = store(dir.path(), "whole.db").await;
    let done = sync_catalogue(&client, &whole, LIMIT, |_| ControlFlow::Continue(())).await.unwrap();
    let pages = (91 + GENERATED).div_ceil(LIMIT as usize);
    assert_eq!((done.pages, done.guides, done.more), (pages, 91 + GENERATED, false));
    whole.close().await;

    // Stopped after 3 stored pages, as if the process were killed right after the third commit.
    let cut = store(dir.path(), "cut.db").await;
    let stopped = sync_catalogue(&client, &cut, LIMIT, |p| {
        if p.pages == 3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })
    .await
    .unwrap();
    assert_eq!((stopped.pages, stopped.more), (3, true));
    cut.close().await;
    // A new process: the store reopened from its file.
    let reopened = store(dir.path(), "cut.db").await;
    assert_eq!(reopened.catalogue_seq().await.unwrap(), stopped.seq);
    assert_eq!(reopened.guides().await.unwrap().len(), 3 * LIMIT as usize);
    let mut first_seq = None;
    let rest = sync_catalogue(&client, &reopened, LIMIT, |p| {
        first_seq.get_or_insert(p.seq);
        ControlFlow::Continue(())
    })
    .await
    .unwrap();
    assert_eq!(rest.pages, pages - 3, "resumed after the stored pages, not from the start");
    assert_eq!(rest.guides, 91 + GENERATED - 3 * LIMIT as usize);
    assert!(first_seq.unwrap() > stopped.seq);
    reopened.close().await;

    assert_eq!(rows(dir.path(), "cut.db").await, rows(dir.path(), "whole.db").await);
}

#[tokio::test]
async fn a_first_sync_cut_off_by_the_network_resumes_after_the_last_stored_page() {
    let server = catalogue_server().await;
    let proxy = proxy_to(server.base.trim_start_matches("http://").to_owned()).await;
    let through = signed_in_client(&format!("http://127.0.0.1:{}", proxy.port), "s001").await;
    let dir = tempfile::tempdir().unwrap();
    let local = store(dir.path(), "a.db").await;

    // The link goes down after the fourth page is stored.
    let error = sync_catalogue(&through, &local, LIMIT, |p| {
        if p.pages == 4 {
            proxy.cut();
        }
        ControlFlow::Continue(())
    })
    .await
    .unwrap_err();
    assert!(matches!(&error, SyncError::Client(e) if e.is_offline()), "{error:?}");
    let kept = local.catalogue_seq().await.unwrap();
    assert_eq!(local.guides().await.unwrap().len(), 4 * LIMIT as usize, "the four stored pages stay");

    // The link is back (straight to the server this time): only the rest comes.
    let direct = signed_in_client(&server.base, "s001").await;
    let rest = sync_catalogue(&direct, &local, LIMIT, |_| ControlFlow::Continue(())).await.unwrap();
    assert_eq!(rest.guides, 91 + GENERATED - 4 * LIMIT as usize);
    assert!(rest.seq > kept);
    let whole = store(dir.path(), "whole.db").await;
    sync_catalogue(&direct, &whole, LIMIT, |_| ControlFlow::Continue(())).await.unwrap();
    local.close().await;
    whole.close().await;
    assert_eq!(rows(dir.path(), "a.db").await, rows(dir.path(), "whole.db").await);
}

#[tokio::test]
async fn the_server_keeps_each_gzipped_page_until_the_catalogue_changes() {
    let server = catalogue_server().await;
    let token = server.sign_in("s001").await;
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let fetch = |query: &str, encoding: Option<&str>| {
        let mut request = raw.get(server.url(&format!("/api/v1/guides?{query}"))).bearer_auth(&token);
        if let Some(encoding) = encoding {
            request = request.header("accept-encoding", encoding);
        }
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 200);
            let encoding = r.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_owned());
            (encoding, r.bytes().await.unwrap().to_vec())
        }
    };
    let gunzip = |body: &[u8]| {
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(body).read_to_end(&mut json).unwrap();
        json
    };
    let cache = &server.state.guide_pages;
    assert_eq!(cache.size().0, 0);

    let (encoding, zipped) = fetch("since=0&limit=50", Some("gzip")).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    // Zipped once, not twice: one gunzip gives the JSON page.
    let page: GuidePage = serde_json::from_slice(&gunzip(&zipped)).unwrap();
    assert_eq!((page.guides.len(), page.more), (50, true));
    assert_eq!(cache.size(), (1, zipped.len()));

    // The same page again is the kept bytes; a client without gzip gets the same JSON plain.
    let (_, again) = fetch("since=0&limit=50", Some("br;q=1, gzip;q=0.5")).await;
    assert_eq!(again, zipped);
    let (encoding, plain) = fetch("since=0&limit=50", None).await;
    assert_eq!(encoding, None);
    assert_eq!(plain, gunzip(&zipped));
    let (encoding, _) = fetch("since=0&limit=50", Some("gzip;q=0, identity")).await;
    assert_eq!(encoding, None);
    assert_eq!(cache.size().0, 1, "served from the kept page each time");
    fetch(&format!("since={}&limit=50", page.seq), Some("gzip")).await;
    assert_eq!(cache.size().0, 2);

    // A change drops the kept pages: the next reply has the change.
    let mut changed = page.guides[0].clone();
    changed.hours = "周一至周五 9:00-17:00（缓存测试）".into();
    upsert_guides(server.state.store.as_ref(), std::slice::from_ref(&changed), Utc::now().date_naive()).await.unwrap();
    let (_, zipped) = fetch("since=0&limit=1000", Some("gzip")).await;
    let fresh: GuidePage = serde_json::from_slice(&gunzip(&zipped)).unwrap();
    assert_eq!(cache.size(), (1, zipped.len()), "the old revision's pages are gone");
    let last = fresh.guides.last().unwrap();
    assert_eq!((last.code.as_str(), last.hours.as_str()), (changed.code.as_str(), changed.hours.as_str()));
}

/// The whole catalogue in one reply (terminals from before pages) is built page by page into a
/// gzip stream and kept per revision: it decodes to exactly the guides the pages give, in the
/// same order, zipped or (unzipped as it is sent) plain, from `since=0` or a later `since`.
#[tokio::test]
async fn the_one_reply_catalogue_is_the_pages_joined_and_kept_per_revision() {
    use bianmin::server::guide_pages::PageKey;
    let server = catalogue_server().await;
    let token = server.sign_in("s001").await;
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let fetch = |query: String, gzip: bool| {
        let mut request = raw.get(server.url(&format!("/api/v1/guides?{query}"))).bearer_auth(&token);
        if gzip {
            request = request.header("accept-encoding", "gzip");
        }
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 200);
            let encoding = r.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_owned());
            let body = r.bytes().await.unwrap().to_vec();
            if gzip {
                assert_eq!(encoding.as_deref(), Some("gzip"));
                let mut json = Vec::new();
                flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut json).unwrap();
                (body, json)
            } else {
                assert_eq!(encoding, None);
                (Vec::new(), body)
            }
        }
    };
    let paged = async |since: i64| {
        let (mut since, mut guides) = (since, Vec::new());
        loop {
            let page = get_page(&server, &token, &format!("since={since}&limit={LIMIT}")).await;
            guides.extend(page.guides);
            since = page.seq;
            if !page.more {
                return (since, guides);
            }
        }
    };
    let revision = server.state.store.catalogue_seq().await.unwrap();
    let key = PageKey { revision, view: None, since: 0, limit: None };

    let (zipped, json) = fetch("since=0".into(), true).await;
    let whole: GuidePage = serde_json::from_slice(&json).unwrap();
    let (seq, guides) = paged(0).await;
    assert_eq!(whole, GuidePage { seq, guides, more: false, removed: Vec::new() });
    assert_eq!(whole.guides.len(), 91 + GENERATED);
    // What a terminal from before pages decodes.
    let old: GuideChanges = serde_json::from_slice(&json).unwrap();
    assert_eq!((old.seq, old.guides), (whole.seq, whole.guides.clone()));
    assert!(server.state.full_replies.is_kept(&key));
    assert_eq!(fetch("since=0".into(), true).await.0, zipped, "the kept bytes, not built again");
    assert_eq!(fetch("since=0".into(), false).await.1, json, "plain: the same JSON, unzipped as it is sent");

    // A later `since`: the rest of the catalogue, as the pages from there give it.
    let middle = whole.guides.len() / 2;
    let since = paged(0).await.0 - (whole.guides.len() - middle) as i64;
    let rest: GuidePage = serde_json::from_slice(&fetch(format!("since={since}"), false).await.1).unwrap();
    let (seq, guides) = paged(since).await;
    assert_eq!(rest, GuidePage { seq, guides, more: false, removed: Vec::new() });
    assert_eq!(rest.guides[..], whole.guides[middle..]);

    // A change: the next reply is built for the new revision and has it last.
    let mut changed = whole.guides[0].clone();
    changed.hours = "周一至周五 9:00-17:00（整目录测试）".into();
    upsert_guides(server.state.store.as_ref(), std::slice::from_ref(&changed), Utc::now().date_naive()).await.unwrap();
    let fresh: GuidePage = serde_json::from_slice(&fetch("since=0".into(), true).await.1).unwrap();
    assert_eq!(fresh.guides.len(), whole.guides.len());
    let last = fresh.guides.last().unwrap();
    assert_eq!((last.code.as_str(), last.hours.as_str()), (changed.code.as_str(), changed.hours.as_str()));
    assert!(server.state.full_replies.is_kept(&PageKey { revision: fresh.seq, view: None, since: 0, limit: None }));
    assert!(!server.state.full_replies.is_kept(&key), "the old revision's reply is gone");
}

/// Every server that serves terminals builds the whole-catalogue reply ahead (test servers too:
/// one code path), and keeps it built as the catalogue changes, before any terminal asks.
#[tokio::test]
async fn every_server_builds_the_one_reply_catalogue_ahead() {
    use bianmin::server::guide_pages::{FULL_REPLY_POLL, PageKey};
    let server = catalogue_server().await;
    let kept_soon = async |revision: i64| {
        let key = PageKey { revision, view: None, since: 0, limit: None };
        // The poll's period and a build of 500 guides, with room for a loaded machine.
        let deadline = std::time::Instant::now() + FULL_REPLY_POLL * 6;
        while !server.state.full_replies.is_kept(&key) {
            assert!(std::time::Instant::now() < deadline, "the reply of revision {revision} was not built ahead");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    let before = server.state.store.catalogue_seq().await.unwrap();
    kept_soon(before).await;
    let mut added = generated(1);
    added[0].code = "GEN-AHEAD".into();
    upsert_guides(server.state.store.as_ref(), &added, Utc::now().date_naive()).await.unwrap();
    let after = server.state.store.catalogue_seq().await.unwrap();
    assert!(after > before);
    kept_soon(after).await;
}

/// An old terminal's ask that finds the reply still being built (at 100,000 guides a build takes
/// 5-10 s on a loaded server, the terminal times out at 10 s) is told 503 with `Retry-After`
/// at once, and the build goes on. A terminal from before pages asks with
/// [`bianmin::client::ApiClient::guides_since`] (unchanged since then); its round fails on the
/// 503 (a refusal, not "offline") and it tries again after [`bianmin::client::backoff::retry_delay`]:
/// done the same way here, its ask eventually gets the whole catalogue.
#[tokio::test]
async fn a_cold_one_reply_ask_is_told_to_come_back_while_the_build_goes_on() {
    use bianmin::client::ClientError;
    use bianmin::server::guide_pages::{FULL_REPLY_RETRY_AFTER, FullReplies};
    use bianmin::server::{ServeOptions, start_with};
    let first = catalogue_server().await;
    // A second server on the same database, no build ahead and no wait for a cold ask: every
    // ask before the build ends finds it running.
    let mut state = first.state.clone();
    state.full_replies = std::sync::Arc::new(FullReplies::with_cold_wait(std::time::Duration::ZERO));
    let options = ServeOptions { own_terminal_only: true, ..ServeOptions::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cold = start_with(listener, state, 64 * 1024, &options).unwrap();
    let token = first.sign_in("s001").await;
    let url = format!("http://{}/api/v1/guides?since=0", cold.addr);

    let r = first.http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"].to_str().unwrap(), FULL_REPLY_RETRY_AFTER.to_string());
    let problem: bianmin::api::Problem = r.json().await.unwrap();
    assert_eq!(problem.code, "catalogue_building");
    assert!(problem.title.contains("稍后重试"), "{}", problem.title);

    // The old terminal's own request, retried as its sync loop does after a refused round.
    let client = signed_in_client(&format!("http://{}", cold.addr), "s001").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut failures = 0;
    let whole: GuideChanges = loop {
        match client.guides_since(0).await {
            Ok(whole) => break whole,
            Err(e @ ClientError::Problem(_)) => {
                assert_eq!(e.problem_code(), Some("catalogue_building"), "{e:?}");
                assert!(!e.is_offline());
            }
            Err(e) => panic!("the old terminal's ask failed otherwise: {e:?}"),
        }
        assert!(std::time::Instant::now() < deadline, "the reply was never built");
        failures += 1;
        tokio::time::sleep(bianmin::client::backoff::retry_delay(failures)).await;
    };
    assert_eq!(whole.guides.len(), 91 + GENERATED);
    assert_eq!(whole.seq, first.state.store.catalogue_seq().await.unwrap(), "the whole catalogue, current");
    cold.stop().await;
}

/// Terminals from before pages asking together while the whole-catalogue reply is cold share one
/// build, however many ask; asks queued behind a build for a revision the catalogue has since
/// left build nothing (nobody would keep that reply), so the current revision's build is not
/// held up behind them.
#[tokio::test]
async fn cold_whole_catalogue_asks_share_one_build_and_an_old_revision_builds_nothing() {
    use bianmin::server::guide_pages::{FullReplies, PageKey};
    const ASKS: usize = 20;
    let server = catalogue_server().await;
    let store = server.state.store.clone();
    // Its own replies, no wait for a cold ask: every ask finds the build under way.
    let replies = std::sync::Arc::new(FullReplies::with_cold_wait(std::time::Duration::ZERO));
    let ask_all = async |key: &PageKey| {
        let asks = (0..ASKS).map(|_| replies.get_within_wait(store.clone(), key.clone()));
        for answer in futures_util::future::join_all(asks).await {
            answer.unwrap();
        }
    };
    let idle = async || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while replies.builds_under_way() > 0 {
            assert!(std::time::Instant::now() < deadline, "the builds never ended");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };

    // Asks for the current revision while another build holds the turn; then the catalogue moves
    // on before their build's turn comes.
    let old = PageKey { revision: store.catalogue_seq().await.unwrap(), view: None, since: 0, limit: None };
    let held = replies.hold_builds().await;
    ask_all(&old).await;
    assert_eq!(replies.builds_under_way(), 1, "every cold ask waits on the one build");
    let mut added = generated(1);
    added[0].code = "GEN-MOVED-ON".into();
    upsert_guides(store.as_ref(), &added, Utc::now().date_naive()).await.unwrap();
    drop(held);
    idle().await;
    assert_eq!(replies.builds(), 0, "nothing built for a revision the catalogue has left");
    assert!(!replies.is_kept(&old));

    // The current revision, asked cold by many at once: one build, kept.
    let current = PageKey { revision: store.catalogue_seq().await.unwrap(), ..old.clone() };
    assert!(current.revision > old.revision);
    ask_all(&current).await;
    ask_all(&current).await;
    idle().await;
    assert_eq!(replies.builds(), 1, "one build for every cold ask of the revision");
    assert!(replies.is_kept(&current));
    let whole: GuidePage = {
        let reply = replies.get_within_wait(store.clone(), current.clone()).await.unwrap().unwrap();
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(&reply[..]).read_to_end(&mut json).unwrap();
        serde_json::from_slice(&json).unwrap()
    };
    assert_eq!(whole.guides.len(), 91 + GENERATED + 1);
    assert_eq!(replies.builds(), 1, "the kept reply, not built again");
}
