//! The server's API tests that matter most for a second backend, run on PostgreSQL: call-next
//! with many windows at once and with several servers on one database, idempotent record upload,
//! and sync in both directions. Each is the same test body as on SQLite (in `queue` and `sync`),
//! on a fresh PostgreSQL database; skipped without one (see `tests/common/postgres.rs`).

use crate::common::server::TestServer;

#[tokio::test]
async fn twenty_windows_calling_at_once_serve_every_ticket_exactly_once() {
    let Some(s) = TestServer::start_postgres().await else { return };
    crate::queue::concurrent_windows_on(s, 20, 300).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_servers_on_one_database_never_share_a_ticket() {
    let Some(s) = TestServer::start_postgres().await else { return };
    crate::queue::several_servers_on_one_database_never_share_a_ticket(s).await;
}

#[tokio::test]
async fn records_upload_once_and_replays_change_nothing() {
    let Some(s) = TestServer::start_postgres().await else { return };
    crate::sync::records_upload_once_and_replays_change_nothing_on(s).await;
}

#[tokio::test]
async fn a_different_record_at_a_stored_place_is_a_conflict() {
    let Some(s) = TestServer::start_postgres().await else { return };
    crate::sync::a_different_record_at_a_stored_place_is_a_conflict_on(s).await;
}

#[tokio::test]
async fn two_devices_upload_at_once_and_each_downloads_the_other() {
    let Some(s) = TestServer::start_postgres().await else { return };
    crate::sync::two_devices_upload_at_once_and_each_downloads_the_other_on(s).await;
}

#[tokio::test]
async fn an_interrupted_upload_resumes_at_the_first_gap() {
    let Some(s) = TestServer::start_postgres().await else { return };
    crate::sync::an_interrupted_upload_resumes_at_the_first_gap_on(s).await;
}
