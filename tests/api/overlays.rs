//! The county catalogue and the centers' overlays on it (issue #18, step 4), through the real
//! server and real terminals' catalogue sync: a center hides a guide and adds a local alias; its
//! terminals drop the guide and find the alias in their next delta sync, another center's
//! terminals keep the guide and never see the alias; a center admin sets only their own center's
//! overlay and, once the county has its admin, no longer edits the county catalogue.

use crate::common;

use std::ops::ControlFlow;
use std::path::Path;

use bianmin::api::Problem;
use bianmin::client::local::LocalStore;
use bianmin::client::sync::sync_catalogue;
use bianmin::domain::staff::Role;
use bianmin::search::SearchIndex;
use bianmin::server::admin;
use chrono::Utc;
use common::server::{PASSWORD, TestServer};
use reqwest::StatusCode;

/// The seeded center, and the one these tests add beside it.
const HOME: &str = "qingshi";
const OTHER: &str = "baishui";
/// Hidden at HOME.
const HIDDEN: &str = "HB-QS-0001";
/// Given HOME's local alias.
const ALIASED: &str = "HB-QS-0002";
/// A local name no guide of the bundled catalogue comes near.
const LOCAL_ALIAS: &str = "鹭鸶湾老说法";

/// A second center in the server's database, as `admin center add` will once every statement is
/// scoped (it refuses until then): inserted directly, like `tests/api/tenants.rs` does.
async fn add_other_center(s: &TestServer) {
    let home = s.state.store.center().await.unwrap().unwrap();
    let other =
        bianmin::domain::center::Center { id: OTHER.into(), name: "白水镇便民服务中心".into(), ..home };
    let pool = sqlx::SqlitePool::connect(&s.db_url).await.unwrap();
    sqlx::query("INSERT INTO center (id, body) VALUES (?, ?)")
        .bind(OTHER)
        .bind(serde_json::to_string(&other).unwrap())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// A session for `id`, stored as sign-in would store it. Sign-in itself refuses to run on a
/// database of two centers until every statement is scoped (step 3): its unit of work is begun
/// on the database's only center.
pub async fn session(s: &TestServer, id: &str) -> String {
    let now = s.clock.0.load(std::sync::atomic::Ordering::SeqCst);
    let token = bianmin::server::auth::new_token();
    let hash = bianmin::server::auth::token_hash(&token);
    s.state.store.create_session(&hash, id, now, now + 12 * 3600).await.unwrap();
    token
}

async fn add_staff(s: &TestServer, center: Option<&str>, id: &str, role: Role) {
    admin::add_staff_in(s.state.store.as_ref(), "命令行:test", center, id, "测试", role, PASSWORD, Utc::now())
        .await
        .unwrap();
}

/// A terminal's catalogue: its local store, synced against the server as `staff_id`.
struct Terminal {
    local: LocalStore,
    client: bianmin::client::ApiClient,
}

impl Terminal {
    async fn new(s: &TestServer, dir: &Path, staff_id: &str) -> Self {
        let local = LocalStore::open(&dir.join(format!("{staff_id}.db")), Utc::now()).await.unwrap().0;
        bianmin::client::install_tls_provider();
        let mut client = bianmin::client::ApiClient::new(&s.base, &Default::default()).unwrap();
        client.set_token(Some(session(s, staff_id).await));
        Self { local, client }
    }

    /// Syncs; how many guides the sync brought.
    async fn sync(&self) -> usize {
        sync_catalogue(&self.client, &self.local, 50, |_| ControlFlow::Continue(())).await.unwrap().guides
    }

    async fn has(&self, code: &str) -> bool {
        self.local.guide(code).await.unwrap().is_some()
    }

    /// The codes the terminal's search puts first for `query`.
    async fn finds(&self, query: &str) -> Vec<String> {
        let guides = self.local.guides().await.unwrap();
        let index = SearchIndex::build(&guides);
        index.search(query, 3).iter().map(|h| guides[h.guide].code.clone()).collect()
    }
}

async fn put_overlay(s: &TestServer, token: &str, center: &str, code: &str, body: &str) -> reqwest::Response {
    s.http
        .put(s.url(&format!("/api/v1/centers/{center}/guides/{code}/overlay")))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn add_county_alias(s: &TestServer, token: &str, code: &str, alias: &str) -> reqwest::Response {
    s.http
        .post(s.url(&format!("/api/v1/guides/{code}/aliases")))
        .bearer_auth(token)
        .json(&serde_json::json!({ "alias": alias }))
        .send()
        .await
        .unwrap()
}

async fn refused(r: reqwest::Response, says: &str) {
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let problem: Problem = r.json().await.unwrap();
    assert_eq!(problem.code, "forbidden");
    assert!(problem.title.contains(says), "{}", problem.title);
}

async fn page_bytes(s: &TestServer, token: &str) -> Vec<u8> {
    let r = s.http.get(s.url("/api/v1/guides?since=0&limit=1000")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.bytes().await.unwrap().to_vec()
}

/// One center hides a guide and names another its own way, on `s` (either backend): its
/// terminal synced before the change gets both in its next delta sync.
async fn a_center_hides_and_aliases(s: &TestServer, dir: &Path) -> Terminal {
    let before = Terminal::new(s, dir, "s001").await;
    let all = before.sync().await;
    assert!(all > 2 && before.has(HIDDEN).await);
    assert!(!before.finds(LOCAL_ALIAS).await.contains(&ALIASED.to_owned()));

    let admin = session(s, "admin").await;
    let r = put_overlay(s, &admin, HOME, HIDDEN, r#"{"hidden": true}"#).await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    let body = format!(
        r#"{{"aliases": ["{LOCAL_ALIAS}"], "location": "便民服务中心3号窗口", "consult_phone": "0710-1234567"}}"#
    );
    let r = put_overlay(s, &admin, HOME, ALIASED, &body).await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    // The same again changes nothing.
    let again: serde_json::Value = put_overlay(s, &admin, HOME, ALIASED, &body).await.json().await.unwrap();
    assert_eq!(again["changed"], false);

    // A delta: the two guides, not the catalogue again.
    assert_eq!(before.sync().await, 1, "the hidden guide is a removal, the aliased one a change");
    assert!(!before.has(HIDDEN).await, "the hidden guide is gone from the terminal");
    assert_eq!(before.finds(LOCAL_ALIAS).await.first().map(String::as_str), Some(ALIASED));
    let shown = before.local.guide(ALIASED).await.unwrap().unwrap();
    assert_eq!((shown.location.as_str(), shown.consult_phone.as_str()), ("便民服务中心3号窗口", "0710-1234567"));
    // A terminal of the center synced from nothing has the same catalogue.
    let fresh = Terminal::new(s, dir, "s002").await;
    assert_eq!(fresh.sync().await, all - 1);
    assert!(!fresh.has(HIDDEN).await);
    assert_eq!(fresh.finds(LOCAL_ALIAS).await.first().map(String::as_str), Some(ALIASED));
    // One guide asked for: hidden here.
    let token = session(s, "s001").await;
    let r = s.http.get(s.url(&format!("/api/v1/guides/{HIDDEN}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Shown again: back in the next delta.
    let r = put_overlay(s, &admin, HOME, HIDDEN, r#"{"hidden": false}"#).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(before.sync().await, 1);
    assert!(before.has(HIDDEN).await);
    assert_eq!(s.db_count("SELECT COUNT(*) FROM audit WHERE action = 'guide_overlay_set'").await, 3);
    before
}

#[tokio::test]
async fn a_centers_overlay_reaches_its_terminals_only_and_only_its_admins_and_the_county_set_it() {
    let s = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    add_other_center(&s).await;
    add_staff(&s, Some(OTHER), "b001", Role::WindowClerk).await;
    add_staff(&s, Some(OTHER), "badmin", Role::Admin).await;
    let other = Terminal::new(&s, dir.path(), "b001").await;
    let all = other.sync().await;

    a_center_hides_and_aliases(&s, dir.path()).await;

    // The other center's terminal: the guides came again (the county sequence moved on), as the
    // county has them.
    other.sync().await;
    assert!(other.has(HIDDEN).await);
    assert!(!other.finds(LOCAL_ALIAS).await.contains(&ALIASED.to_owned()));
    assert!(!other.local.guide(ALIASED).await.unwrap().unwrap().aliases.contains(&LOCAL_ALIAS.to_owned()));
    assert_eq!(other.local.guides().await.unwrap().len(), all);

    // A center without an overlay gets the county's pages as they are, byte for byte.
    let county_page = {
        let page = s.state.store.guides_page(0, Some(1000), bianmin::api::MAX_GUIDE_PAGE_BYTES).await.unwrap();
        serde_json::to_vec(&page).unwrap()
    };
    assert_eq!(page_bytes(&s, &session(&s, "b001").await).await, county_page);
    assert_ne!(page_bytes(&s, &session(&s, "s001").await).await, county_page);

    // The center admins: their own center only.
    let home_admin = session(&s, "admin").await;
    let other_admin = session(&s, "badmin").await;
    refused(put_overlay(&s, &home_admin, OTHER, HIDDEN, r#"{"hidden": true}"#).await, "不能修改其他中心").await;
    refused(put_overlay(&s, &other_admin, HOME, HIDDEN, r#"{"hidden": true}"#).await, "不能修改其他中心").await;
    assert_eq!(s.state.store.overlays(OTHER).await.unwrap().len(), 0, "nothing was stored");
    let clerk = session(&s, "s001").await;
    assert_eq!(put_overlay(&s, &clerk, HOME, HIDDEN, "{}").await.status(), StatusCode::FORBIDDEN);

    // No county admin yet (a one-center or standalone server): a center admin edits the county
    // catalogue, as before.
    let r = add_county_alias(&s, &home_admin, HIDDEN, "县里统一的说法").await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);

    // Once the county has its admin, the county catalogue is theirs.
    add_staff(&s, None, "county", Role::CountyAdmin).await;
    refused(add_county_alias(&s, &home_admin, HIDDEN, "另一个说法").await, "县级管理员").await;
    // The working-day calendar is the county's too: the same rule.
    let year = serde_json::json!({"holidays": {"2027-01-01": "元旦"}, "workdays": {}});
    let put_year = |token: &str| s.http.put(s.url("/api/v1/calendar/years/2027")).bearer_auth(token).json(&year).send();
    refused(put_year(&home_admin).await.unwrap(), "县级管理员").await;
    let county = session(&s, "county").await;
    let r = add_county_alias(&s, &county, HIDDEN, "另一个说法").await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    let r = put_overlay(&s, &county, OTHER, ALIASED, r#"{"hidden": true}"#).await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    other.sync().await;
    assert!(!other.has(ALIASED).await, "the county admin hid it at the other center");
    assert!(other.local.guide(HIDDEN).await.unwrap().unwrap().aliases.contains(&"另一个说法".to_owned()));
    s.stop().await;
}

#[tokio::test]
async fn a_centers_overlay_on_postgres() {
    let Some(s) = TestServer::start_postgres().await else { return };
    let dir = tempfile::tempdir().unwrap();
    a_center_hides_and_aliases(&s, dir.path()).await;
    s.stop().await;
}

#[tokio::test]
async fn the_county_admin_is_an_account_of_no_center_and_bad_overlays_are_refused() {
    let s = TestServer::start().await;
    let store = s.state.store.as_ref();
    let at =
        admin::add_staff_in(store, "命令行:test", Some(HOME), "c1", "县管", Role::CountyAdmin, PASSWORD, Utc::now())
            .await;
    assert!(matches!(at, Err(admin::AdminError::Refused(m)) if m.contains("不属于任何中心")));
    add_staff(&s, None, "county", Role::CountyAdmin).await;
    assert_eq!(s.db_count("SELECT COUNT(*) FROM staff WHERE id = 'county' AND center_id IS NULL").await, 1);
    let county = session(&s, "county").await;
    let me: serde_json::Value =
        s.http.get(s.url("/api/v1/me")).bearer_auth(&county).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["staff"]["role"], "县级管理员", "{me}");

    let admin = session(&s, "admin").await;
    for (body, field) in [
        (r#"{"aliases": [" "]}"#, "aliases"),
        (r#"{"aliases": ["a", "a"]}"#, "aliases"),
        (r#"{"location": "两行\n地点"}"#, "location"),
        (r#"{"consult_phone": ""}"#, "consult_phone"),
    ] {
        let r = put_overlay(&s, &admin, HOME, ALIASED, body).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let problem: Problem = r.json().await.unwrap();
        assert_eq!(problem.errors[0].field, field, "{body}");
    }
    let r = put_overlay(&s, &admin, HOME, "NO-SUCH-1", r#"{"hidden": true}"#).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(s.state.store.overlays(HOME).await.unwrap().is_empty(), "nothing was stored");
    s.stop().await;
}

/// `bianmin admin guide ...` and `admin staff add --role 县级管理员` through the real binary.
#[tokio::test]
async fn the_admin_commands_set_a_centers_overlay() {
    let dir = tempfile::tempdir().unwrap();
    let url = bianmin::config::sqlite_url(&dir.path().join("server.db"));
    let sandbox = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| crate::common::server::run_cli(args, &url, sandbox.path());
    let text = |out: &std::process::Output| {
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    };
    let hidden = run(&["admin", "guide", "hide", HIDDEN]);
    assert!(hidden.status.success(), "{}", text(&hidden));
    assert!(text(&hidden).contains("已在本中心隐藏"), "{}", text(&hidden));
    let aliased = run(&["admin", "guide", "alias", "--center", HOME, ALIASED, LOCAL_ALIAS]);
    assert!(aliased.status.success(), "{}", text(&aliased));
    let window = run(&["admin", "guide", "set-window", ALIASED, "3号窗口"]);
    assert!(window.status.success(), "{}", text(&window));
    let listed = run(&["admin", "guide", "list"]);
    let listed = text(&listed);
    assert!(listed.contains(&format!("{HIDDEN}\t已隐藏")), "{listed}");
    assert!(listed.contains(LOCAL_ALIAS) && listed.contains("办理地点：3号窗口"), "{listed}");
    let unknown = run(&["admin", "guide", "hide", "--center", OTHER, HIDDEN]);
    assert!(!unknown.status.success());
    assert!(text(&unknown).contains("没有代码为 baishui 的中心"), "{}", text(&unknown));
    let twice = run(&["admin", "guide", "alias", ALIASED, LOCAL_ALIAS]);
    assert!(!twice.status.success());
    assert!(text(&twice).contains("已有别名"), "{}", text(&twice));

    let county = std::process::Command::new(env!("CARGO_BIN_EXE_bianmin"))
        .args(["admin", "staff", "add", "county", "县管", "--role", "县级管理员", "--database", &url])
        .env("BIANMIN_DATA_DIR", sandbox.path())
        .env("HOME", sandbox.path())
        .env("BIANMIN_NEW_PASSWORD", "bianmin-new-1")
        .output()
        .unwrap();
    assert!(county.status.success(), "{}", text(&county));
    assert!(text(&county).contains("县级管理员"), "{}", text(&county));
}

/// Aliases added to one county guide at once are all kept: each is read, checked and stored in
/// one unit holding the catalogue lock (read before it, one would write the other's back over).
#[tokio::test]
async fn aliases_added_at_once_are_all_kept() {
    let s = TestServer::start().await;
    let store = s.state.store.clone();
    let today = bianmin::domain::time::china_date(Utc::now());
    let adds = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            bianmin::server::service::catalogue::add_alias(store.as_ref(), HIDDEN, &format!("同时加的说法{i}"), today)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    });
    let adds: Vec<_> = adds.collect();
    for add in adds {
        let add = add.await;
        add.unwrap().unwrap();
    }
    let guide = store.guide(HIDDEN).await.unwrap().unwrap();
    for i in 0..8 {
        assert!(guide.aliases.contains(&format!("同时加的说法{i}")), "alias {i} kept: {:?}", guide.aliases);
    }
    s.stop().await;
}
