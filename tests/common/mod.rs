//! Helpers shared by the integration tests. Each test crate uses what it needs.

#![allow(dead_code)]

pub mod disk;
pub mod feed;
pub mod month;
pub mod pages;
pub mod postgres;
pub mod pty;
pub mod server;

/// Each check `async fn CHECK(s: server::TestServer)` as two tests: `CHECK::on_sqlite` on the
/// SQLite test server and `CHECK::on_postgres` on PostgreSQL (skipped without one, see
/// `postgres.rs`). One wrapper for every check that runs on both backends, instead of two
/// hand-written ones per check.
#[allow(unused_macros)]
macro_rules! on_both_servers {
    ($($check:ident),* $(,)?) => {$(
        mod $check {
            #[tokio::test]
            async fn on_sqlite() {
                super::$check(crate::common::server::TestServer::start().await).await;
            }

            #[tokio::test]
            async fn on_postgres() {
                let Some(s) = crate::common::server::TestServer::start_postgres().await else { return };
                super::$check(s).await;
            }
        }
    )*};
}
