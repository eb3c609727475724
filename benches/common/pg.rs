//! A PostgreSQL database of a bench's own, made on the server the bench was given
//! (`BIANMIN_BENCH_POSTGRES_URL`) and dropped after the run.

use sqlx::{Connection, Executor};

/// Creates a database named `<prefix>_<uuid>` on `server`: its URL and name.
pub async fn create_database(server: &str, prefix: &str) -> (String, String) {
    let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(server).await.unwrap();
    admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
    admin.close().await.unwrap();
    let mut url = url::Url::parse(server).unwrap();
    url.set_path(&name);
    (url.to_string(), name)
}

/// Drops database `name` on `server`, closing whatever is still connected to it.
pub async fn drop_database(server: &str, name: &str) {
    let mut admin = sqlx::PgConnection::connect(server).await.unwrap();
    admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await.unwrap();
    admin.close().await.unwrap();
}
