//! The server for tests: in-process on an ephemeral loopback port over a temp SQLite file (or a
//! fresh PostgreSQL database, see `postgres`), or the real binary as a child process (for tests
//! that kill it).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use bianmin::api::SessionGranted;
use bianmin::client::{ApiClient, install_tls_provider};
use bianmin::config::{NetworkSettings, sqlite_url};
use bianmin::domain::time::Clock;
use bianmin::server::{self, AppState, RunningServer, ServerConfig};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::json;

/// Password of every sample account.
pub const PASSWORD: &str = "bianmin-demo";

/// A clock the test moves by hand.
pub struct ManualClock(pub AtomicI64);

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.0.load(Ordering::SeqCst), 0).unwrap()
    }
}

pub struct TestServer {
    server: Option<RunningServer>,
    pub base: String,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    dir: Option<tempfile::TempDir>,
    /// The PostgreSQL database the server runs on, dropped with it.
    pg: Option<super::postgres::TempPgDatabase>,
    pub db_url: String,
}

impl TestServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db_url = sqlite_url(&dir.path().join("server.db"));
        let mut s = Self::start_on(&db_url).await;
        s.dir = Some(dir);
        s
    }

    /// The server on a fresh PostgreSQL database; `None` when the tests have no PostgreSQL (see
    /// `super::postgres`).
    pub async fn start_postgres() -> Option<Self> {
        let db = super::postgres::TempPgDatabase::create().await?;
        let mut s = Self::start_on(&db.url).await;
        s.pg = Some(db);
        Some(s)
    }

    pub async fn start_on(db_url: &str) -> Self {
        install_tls_provider();
        let config = ServerConfig {
            listen: "127.0.0.1:0".into(),
            database_url: db_url.to_owned(),
            session_ttl_hours: 12,
            max_body_bytes: 64 * 1024,
            follow_up_due_working_days: bianmin::domain::follow_up::DEFAULT_DUE_WORKING_DAYS,
            opening_hours: Default::default(),
        };
        let mut state = server::prepare(&config).await.unwrap();
        let clock = Arc::new(ManualClock(AtomicI64::new(Utc::now().timestamp())));
        state.clock = clock.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = server::start_on(listener, state.clone(), config.max_body_bytes).unwrap();
        let base = format!("http://{}", server.addr);
        Self {
            server: Some(server),
            base,
            http: reqwest::Client::new(),
            clock,
            state,
            dir: None,
            pg: None,
            db_url: db_url.to_owned(),
        }
    }

    pub async fn stop(mut self) -> Option<tempfile::TempDir> {
        self.server.take().unwrap().stop().await;
        self.dir.take()
    }

    /// An integer the SQL `sql` (no parameters) selects from the server's database, whichever
    /// backend it is on: what a test checks behind the API's back.
    pub async fn db_count(&self, sql: &str) -> i64 {
        db_count(&self.db_url, sql).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn sign_in(&self, staff_id: &str) -> String {
        let r = self
            .http
            .post(self.url("/api/v1/session"))
            .json(&json!({"staff_id": staff_id, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<SessionGranted>().await.unwrap().token
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    pub fn client(&self) -> ApiClient {
        ApiClient::new(&self.base, &NetworkSettings::default()).unwrap()
    }

    /// A client signed in as a new device (kiosk, evaluator, display…), added at the server's
    /// clock the way `bianmin admin device add` adds one.
    pub async fn device(&self, role: bianmin::domain::staff::Role, window: Option<u32>) -> ApiClient {
        let now = DateTime::from_timestamp(self.clock.0.load(Ordering::SeqCst), 0).unwrap();
        let granted =
            server::admin::add_device(self.state.store.as_ref(), "命令行:test", role, window, now).await.unwrap();
        let mut client = self.client();
        client.set_token(Some(granted.token));
        client
    }
}

/// `bianmin serve` as a child process, so a test can kill it like a power cut would.
pub struct ServerProcess {
    child: Child,
    pub port: u16,
    pub db_url: String,
}

impl ServerProcess {
    /// Starts the server binary on `port` (0: pick a free one) over `db_url`, and waits until it
    /// answers its health check.
    pub fn start(bin: &str, data_dir: &std::path::Path, db_url: &str, port: u16) -> Self {
        let port = if port == 0 { free_port() } else { port };
        let child = Command::new(bin)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", db_url])
            .env("BIANMIN_DATA_DIR", data_dir)
            .env("HOME", data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("server binary starts");
        let mut server = Self { child, port, db_url: db_url.to_owned() };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "server did not start listening on {port}");
            server.assert_running();
            std::thread::sleep(Duration::from_millis(20));
        }
        // Something answered on the port; make sure it is this server and not another test's
        // that took the port (a server that cannot bind exits at once).
        std::thread::sleep(Duration::from_millis(50));
        server.assert_running();
        server
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("the server on port {} exited at start: {status}", self.port);
        }
    }

    /// The server process's id (to read its memory from /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no graceful shutdown, no flush, like pulling the plug.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A client signed in as `staff_id` with the sample password.
pub async fn signed_in_client(base: &str, staff_id: &str) -> ApiClient {
    install_tls_provider();
    let mut client = ApiClient::new(base, &NetworkSettings::default()).unwrap();
    client.sign_in(staff_id, PASSWORD).await.unwrap();
    client
}

/// A window clerk's account, as the session of a records upload called in-process.
pub fn clerk(id: &str) -> bianmin::domain::staff::Staff {
    bianmin::domain::staff::Staff {
        id: id.into(),
        name: id.into(),
        role: bianmin::domain::staff::Role::WindowClerk,
        active: true,
    }
}

/// See [`TestServer::db_count`].
pub async fn db_count(db_url: &str, sql: &str) -> i64 {
    if db_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(db_url).await.unwrap();
        let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    } else {
        let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
        let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    }
}

/// The real binary's admin commands and look-ups on a server's database (`--database`), in a
/// sandbox that is its data directory and home.
pub fn run_cli(args: &[&str], db_url: &str, sandbox: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bianmin"))
        .args(args)
        .args(["--database", db_url])
        .env("BIANMIN_DATA_DIR", sandbox)
        .env("HOME", sandbox)
        .output()
        .unwrap()
}
