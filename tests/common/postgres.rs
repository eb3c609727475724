//! A fresh PostgreSQL database per test, on the server named by `BIANMIN_TEST_POSTGRES_URL`
//! (e.g. `postgres://postgres@127.0.0.1:55432/postgres`; `.ci/run` starts one). Without it a test
//! on PostgreSQL is skipped with a line saying so, so that `cargo test` works on a machine with no
//! PostgreSQL, unless `BIANMIN_REQUIRE_POSTGRES=1` (CI), where it fails instead.

use sqlx::{Connection, Executor, PgConnection};

pub const URL_VAR: &str = "BIANMIN_TEST_POSTGRES_URL";
pub const REQUIRE_VAR: &str = "BIANMIN_REQUIRE_POSTGRES";

/// A database `bianmin_test_<uuid>` created for one test and dropped when this is dropped.
pub struct TempPgDatabase {
    /// The URL of the new database.
    pub url: String,
    server_url: String,
    name: String,
}

impl TempPgDatabase {
    /// Creates the database; `None` (after printing why) when no server is configured and none
    /// is required.
    pub async fn create() -> Option<Self> {
        let server_url = match std::env::var(URL_VAR) {
            Ok(url) if !url.trim().is_empty() => url,
            _ => {
                if std::env::var(REQUIRE_VAR).as_deref() == Ok("1") {
                    panic!("{REQUIRE_VAR}=1 but {URL_VAR} is not set: the PostgreSQL tests cannot run");
                }
                eprintln!("skipped: no PostgreSQL (set {URL_VAR})");
                return None;
            }
        };
        let name = format!("bianmin_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::connect(&server_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {URL_VAR}={server_url}: {e}"));
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("test database created");
        admin.close().await.ok();
        let mut url = url::Url::parse(&server_url).expect("a postgres:// URL");
        url.set_path(&name);
        Some(Self { url: url.to_string(), server_url, name })
    }
}

impl Drop for TempPgDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime; the DROP DATABASE runs on a runtime of its own.
        // FORCE ends the connections a store's pool may still hold.
        let (server_url, name) = (self.server_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let mut admin = PgConnection::connect(&server_url).await?;
                admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("test database {} was not dropped: {dropped:?}", self.name);
        }
    }
}
