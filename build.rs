// `sqlx::migrate!` embeds the migration files at compile time; without this a changed migration
// would not trigger a rebuild.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=migrations/sqlite");
    println!("cargo:rerun-if-changed=migrations/local");
    println!("cargo:rerun-if-changed=migrations/postgres");
}
