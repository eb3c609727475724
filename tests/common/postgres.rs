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
        // FORCE ends the connections a store's pool may still hold.
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = execute_blocking(&self.server_url, sql) {
            eprintln!("test database {} was not dropped: {e}", self.name);
        }
    }
}

/// A tablespace `bianmin_small_<uuid>` at a directory of this machine (the database server must
/// run here), dropped when this is dropped: drop it after the databases using it.
pub struct TempTablespace {
    pub name: String,
    server_url: String,
}

impl TempTablespace {
    /// Creates it at `location` (owned by the server's user); the server's refusal as an error.
    pub async fn create(location: &std::path::Path) -> Result<Self, sqlx::Error> {
        let server_url = std::env::var(URL_VAR).map_err(sqlx::Error::config)?;
        let name = format!("bianmin_small_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::connect(&server_url).await?;
        admin.execute(format!("CREATE TABLESPACE {name} LOCATION '{}'", location.display()).as_str()).await?;
        admin.close().await?;
        Ok(Self { name, server_url })
    }
}

impl Drop for TempTablespace {
    fn drop(&mut self) {
        if let Err(e) = execute_blocking(&self.server_url, format!("DROP TABLESPACE IF EXISTS {}", self.name)) {
            eprintln!("test tablespace {} was not dropped: {e}", self.name);
        }
    }
}

/// Runs one statement on its own connection and runtime: for `Drop`, which runs inside the
/// test's runtime and cannot await.
fn execute_blocking(server_url: &str, sql: String) -> Result<(), sqlx::Error> {
    let server_url = server_url.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let mut admin = PgConnection::connect(&server_url).await?;
            admin.execute(sql.as_str()).await?;
            admin.close().await
        })
    })
    .join()
    .unwrap_or_else(|_| Err(sqlx::Error::Protocol("the thread dropping it panicked".into())))
}
