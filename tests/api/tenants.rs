//! Centers as tenants (issue #18): a database of one center, as the migrations before tenants left
//! it, is migrated in place and becomes tenant #1. Every table of the old schema gets a row (one
//! value per column, made from its declared type, so a table added later is covered without
//! editing this test); after the migration every old column of every row reads back identical, and
//! every center-owned table has the one center in its `center_id`. On SQLite (the rebuilds:
//! create, copy, drop, rename) and on PostgreSQL (`ALTER TABLE`).

use std::collections::BTreeMap;
use std::path::Path;

use sqlx::migrate::Migrator;

/// The first migration of the tenants step, per backend.
const SQLITE_TENANTS: i64 = 25;
const POSTGRES_TENANTS: i64 = 8;

/// The tables that gain a NOT NULL `center_id` (staff and audit gain a nullable one: NULL is the
/// county). Listed here so that the test fails if a migration forgets one.
const CENTER_OWNED: &[&str] = &[
    "appointment_bookings",
    "appointment_slots",
    "audit",
    "case_conflicts",
    "case_transfers",
    "cases",
    "device_records",
    "duty",
    "follow_ups",
    "handover_acks",
    "handovers",
    "inquiries",
    "notices",
    "queue_categories",
    "queue_revision",
    "queue_tickets",
    "queue_windows",
    "ratings",
    "staff",
    "stream_heads",
    "visits",
    "windows",
];

/// The one center of the old database (the value given to `center.id`).
const CENTER: &str = "id-1";

/// Columns the migration drops on purpose: the revision counter's row is keyed by its center now.
const DROPPED: &[(&str, &str)] = &[("queue_revision", "id")];

/// `schema` without the columns the migration drops.
fn kept(schema: &Schema) -> Schema {
    let mut out = schema.clone();
    for (t, cols) in &mut out {
        cols.retain(|(c, _)| !DROPPED.contains(&(t.as_str(), c.as_str())));
    }
    out
}

/// Table -> its columns, each with whether it is an integer.
type Schema = BTreeMap<String, Vec<(String, bool)>>;
/// Table -> its rows, every column as text, in column order.
type Rows = BTreeMap<String, Vec<Vec<Option<String>>>>;

async fn migrator_before(dir: &str, first_new: i64) -> Migrator {
    let mut m = Migrator::new(Path::new(dir)).await.unwrap();
    m.migrations = m.migrations.iter().filter(|m| m.version < first_new).cloned().collect::<Vec<_>>().into();
    m
}

/// A value for `column`: integers are 1 (every CHECK in the schema accepts it), text names its
/// column, except where a foreign key must find its parent (`staff.id`, `queue_tickets.id`).
fn value(column: &str, integer: bool) -> String {
    if integer {
        return "1".to_owned();
    }
    match column {
        "staff_id" | "ticket_id" => format!("'{CENTER}'"),
        c => format!("'{c}-1'"),
    }
}

fn insert_statement(table: &str, columns: &[(String, bool)], postgres: bool) -> String {
    let names: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
    let values: Vec<String> = columns.iter().map(|(c, i)| value(c, *i)).collect();
    if postgres {
        format!(
            "INSERT INTO {table} ({}) OVERRIDING SYSTEM VALUE VALUES ({}) ON CONFLICT DO NOTHING",
            names.join(", "),
            values.join(", ")
        )
    } else {
        format!("INSERT OR IGNORE INTO {table} ({}) VALUES ({})", names.join(", "), values.join(", "))
    }
}

/// Parents before children, for the two foreign keys of the schema.
fn in_insert_order(schema: &Schema) -> Vec<&String> {
    let mut tables: Vec<&String> = schema.keys().collect();
    tables.sort_by_key(|t| match t.as_str() {
        "center" => 0,
        "staff" | "queue_tickets" => 1,
        _ => 2,
    });
    tables
}

fn select_statement(table: &str, columns: &[(String, bool)], postgres: bool) -> String {
    let cols: Vec<String> = columns
        .iter()
        .map(|(c, _)| if postgres { format!("{c}::text") } else { format!("CAST({c} AS TEXT)") })
        .collect();
    format!("SELECT {} FROM {table} ORDER BY 1", cols.join(", "))
}

/// The body both backends' in-place migration tests share, written once: a row in every table
/// of the old schema, the migrations run, then every old column of every row reads back identical
/// and every center-owned row belongs to the one center. A macro, as the pools' types differ and
/// each backend module has its own `schema` and `rows`.
macro_rules! fills_every_table_migrates_and_reads_back {
    ($pool:ident, $migrations:literal, $postgres:literal) => {
        let old = schema(&$pool).await;
        for t in in_insert_order(&old) {
            sqlx::query(&insert_statement(t, &old[t], $postgres)).execute(&$pool).await.unwrap();
        }
        let old = kept(&old);
        let before = rows(&$pool, &old).await;
        for (t, rows) in &before {
            assert!(!rows.is_empty(), "{t} has a row before the migration");
        }

        Migrator::new(Path::new($migrations)).await.unwrap().run(&$pool).await.unwrap();

        let new = schema(&$pool).await;
        // Later migrations may add tables; none of the old ones is lost.
        let lost: Vec<&String> = old.keys().filter(|t| !new.contains_key(*t)).collect();
        assert!(lost.is_empty(), "tables lost: {lost:?}");
        assert_eq!(rows(&$pool, &old).await, before, "every old column of every row reads back identical");
        let with_center: Vec<&str> = new
            .iter()
            .filter(|(t, _)| old.contains_key(*t))
            .filter(|(_, cols)| cols.iter().any(|(c, _)| c == "center_id"))
            .map(|(t, _)| t.as_str())
            .collect();
        assert_eq!(with_center, CENTER_OWNED);
        for t in CENTER_OWNED {
            let centers: Vec<Option<String>> =
                sqlx::query_scalar(&format!("SELECT DISTINCT center_id FROM {t}")).fetch_all(&$pool).await.unwrap();
            assert_eq!(centers, [Some(CENTER.to_owned())], "{t}: every row belongs to the one center");
        }
    };
}

mod sqlite {
    use super::*;
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{Row, SqlitePool};
    use std::str::FromStr;

    async fn schema(pool: &SqlitePool) -> Schema {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE '_sqlx%' ORDER BY name",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        let mut out = Schema::new();
        for t in tables {
            let rows = sqlx::query(&format!("PRAGMA table_info({t})")).fetch_all(pool).await.unwrap();
            let cols = rows
                .iter()
                .map(|r| (r.get::<String, _>("name"), r.get::<String, _>("type").eq_ignore_ascii_case("INTEGER")))
                .collect();
            out.insert(t, cols);
        }
        out
    }

    async fn rows(pool: &SqlitePool, schema: &Schema) -> Rows {
        let mut out = Rows::new();
        for (t, cols) in schema {
            let rows = sqlx::query(&select_statement(t, cols, false)).fetch_all(pool).await.unwrap();
            let rows = rows.iter().map(|r| (0..cols.len()).map(|i| r.get::<Option<String>, _>(i)).collect()).collect();
            out.insert(t.clone(), rows);
        }
        out
    }

    #[tokio::test]
    async fn a_one_center_database_becomes_tenant_one_with_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let url = bianmin::config::sqlite_url(&dir.path().join("server.db"));
        let options = SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true).foreign_keys(true);
        let pool = SqlitePool::connect_with(options).await.unwrap();
        migrator_before("migrations/sqlite", SQLITE_TENANTS).await.run(&pool).await.unwrap();
        fills_every_table_migrates_and_reads_back!(pool, "migrations/sqlite", false);
        let violations = sqlx::query("PRAGMA foreign_key_check").fetch_all(&pool).await.unwrap();
        assert!(violations.is_empty(), "foreign keys hold after the rebuilds");
        pool.close().await;
    }
}

mod postgres {
    use super::*;
    use crate::common::postgres::TempPgDatabase;
    use sqlx::{PgPool, Row};

    async fn schema(pool: &PgPool) -> Schema {
        let rows = sqlx::query(
            "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%' ORDER BY table_name, ordinal_position",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        let mut out = Schema::new();
        for r in rows {
            out.entry(r.get::<String, _>("t"))
                .or_default()
                .push((r.get::<String, _>("c"), r.get::<String, _>("ty") == "bigint"));
        }
        out
    }

    async fn rows(pool: &PgPool, schema: &Schema) -> Rows {
        let mut out = Rows::new();
        for (t, cols) in schema {
            let rows = sqlx::query(&select_statement(t, cols, true)).fetch_all(pool).await.unwrap();
            let rows = rows.iter().map(|r| (0..cols.len()).map(|i| r.get::<Option<String>, _>(i)).collect()).collect();
            out.insert(t.clone(), rows);
        }
        out
    }

    #[tokio::test]
    async fn a_one_center_database_becomes_tenant_one_with_every_row() {
        let Some(db) = TempPgDatabase::create().await else { return };
        let pool = PgPool::connect(&db.url).await.unwrap();
        migrator_before("migrations/postgres", POSTGRES_TENANTS).await.run(&pool).await.unwrap();
        fills_every_table_migrates_and_reads_back!(pool, "migrations/postgres", true);
        pool.close().await;
    }
}

/// A value bound to a statement of [`old_seed`].
enum Bind {
    Text(String),
    Int(i64),
}

/// What an older server wrote when it seeded a new database (`Store::seed` before the tenants
/// migrations): its one center, categories, staff, windows, duty and guides; and the queue's
/// revision counter moved on to 41. Statements with `?` placeholders.
fn old_seed(seed: &bianmin::server::store::SeedData) -> Vec<(&'static str, Vec<Bind>)> {
    use Bind::{Int, Text};
    let mut out = vec![(
        "INSERT INTO center (id, body) VALUES (?, ?)",
        vec![Text(seed.center.id.clone()), Text(json(&seed.center))],
    )];
    for c in &seed.categories {
        out.push((
            "INSERT INTO queue_categories (letter, name) VALUES (?, ?)",
            vec![Text(c.letter.to_string()), Text(c.name.clone())],
        ));
    }
    for s in &seed.staff {
        out.push((
            "INSERT INTO staff (id, name, role, active, password_hash) VALUES (?, ?, ?, 1, ?)",
            vec![
                Text(s.staff.id.clone()),
                Text(s.staff.name.clone()),
                Text(s.staff.role.label().to_owned()),
                Text(s.password_hash.clone()),
            ],
        ));
    }
    for w in &seed.windows {
        out.push((
            "INSERT INTO windows (window_no, body) VALUES (?, ?)",
            vec![Int(i64::from(w.number)), Text(json(w))],
        ));
        out.push((
            "INSERT INTO duty (window_no, body) VALUES (?, ?)",
            vec![Int(i64::from(w.number)), Text(json(&bianmin::domain::handover::DutyState::AOnDuty))],
        ));
    }
    for (i, g) in seed.guides.iter().enumerate() {
        out.push((
            "INSERT INTO guides (code, seq, revision, body) VALUES (?, ?, ?, ?)",
            vec![Text(g.code.clone()), Int(i as i64 + 1), Int(i64::from(g.revision)), Text(json(g))],
        ));
    }
    out.push(("UPDATE queue_revision SET rev = 41", vec![]));
    out
}

/// Through the store and the server: a database of the old schema, seeded as an older server
/// seeded it ([`old_seed`]), is migrated when the server starts; the store reads the seed back
/// as written, and the queue goes on from the old revision with the same keys (ticket numbers,
/// the window, the revision counter now per center).
async fn serves_its_center_after_migrating(url: &str, seed: &bianmin::server::store::SeedData) {
    use bianmin::api::queue::IssueTicket;
    let s = crate::common::server::TestServer::start_on(url).await;
    let store = s.state.store.as_ref();
    assert_eq!(store.centers().await.unwrap(), std::slice::from_ref(&seed.center));
    let mut windows = seed.windows.clone();
    windows.sort_by_key(|w| w.number);
    assert_eq!(store.windows().await.unwrap(), windows);
    let mut categories = seed.categories.clone();
    categories.sort_by_key(|c| c.letter);
    assert_eq!(store.categories().await.unwrap(), categories);
    let mut staff: Vec<_> = seed.staff.iter().map(|c| c.staff.clone()).collect();
    staff.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(store.all_staff().await.unwrap(), staff);
    assert_eq!(store.guides_since(0).await.unwrap().1, seed.guides);

    let admin = crate::common::server::signed_in_client(&s.base, "admin").await;
    let issued = admin.issue_ticket(&IssueTicket::new('A')).await.unwrap();
    assert_eq!(issued.rev, 42, "the revision goes on from the old database's");
    let called = admin.call_next(1).await.unwrap();
    assert_eq!((called.rev, called.ticket.unwrap().id), (43, issued.ticket.unwrap().id));
    s.stop().await;
}

#[tokio::test]
async fn a_seeded_database_of_the_old_schema_serves_its_center_after_migrating() {
    use sqlx::sqlite::SqliteConnectOptions;
    use std::str::FromStr;
    let dir = tempfile::tempdir().unwrap();
    let url = bianmin::config::sqlite_url(&dir.path().join("server.db"));
    let pool = sqlx::SqlitePool::connect_with(SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true))
        .await
        .unwrap();
    migrator_before("migrations/sqlite", SQLITE_TENANTS).await.run(&pool).await.unwrap();
    let seed = bianmin::server::seed::bundled_seed().unwrap();
    for (sql, binds) in old_seed(&seed) {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = match b {
                Bind::Text(t) => q.bind(t),
                Bind::Int(i) => q.bind(i),
            };
        }
        q.execute(&pool).await.unwrap();
    }
    pool.close().await;
    serves_its_center_after_migrating(&url, &seed).await;
}

#[tokio::test]
async fn a_seeded_database_of_the_old_schema_serves_its_center_after_migrating_on_postgres() {
    let Some(db) = crate::common::postgres::TempPgDatabase::create().await else { return };
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    migrator_before("migrations/postgres", POSTGRES_TENANTS).await.run(&pool).await.unwrap();
    let seed = bianmin::server::seed::bundled_seed().unwrap();
    for (sql, binds) in old_seed(&seed) {
        // `?` -> `$n` (no statement here has a `?` in quoted text).
        let mut n = 0;
        let sql: String = sql
            .chars()
            .map(|c| match c {
                '?' => {
                    n += 1;
                    format!("${n}")
                }
                c => c.to_string(),
            })
            .collect();
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = match b {
                Bind::Text(t) => q.bind(t),
                Bind::Int(i) => q.bind(i),
            };
        }
        q.execute(&pool).await.unwrap();
    }
    pool.close().await;
    serves_its_center_after_migrating(&db.url, &seed).await;
}

/// A seed value as the old server stored it.
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap()
}

/// `bianmin admin center list` shows the centers; `center add` refuses a code already taken and
/// adds a new one; `--center` on `staff add` takes either center and refuses an unknown one.
#[tokio::test]
async fn the_admin_commands_add_a_center_and_its_staff() {
    let dir = tempfile::tempdir().unwrap();
    let url = bianmin::config::sqlite_url(&dir.path().join("server.db"));
    let sandbox = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| crate::common::server::run_cli(args, &url, sandbox.path());
    let text = |out: &std::process::Output| {
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    };

    let listed = run(&["admin", "center", "list"]);
    assert!(listed.status.success(), "{}", text(&listed));
    assert_eq!(String::from_utf8_lossy(&listed.stdout).lines().collect::<Vec<_>>(), ["qingshi\t青石镇便民服务中心"]);

    let refused = run(&["admin", "center", "add", "qingshi", "重复"]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("已有代码为 qingshi"), "{}", text(&refused));
    let added = run(&["admin", "center", "add", "baishui", "白水镇便民服务中心"]);
    assert!(added.status.success(), "{}", text(&added));
    let listed = run(&["admin", "center", "list"]);
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout).lines().collect::<Vec<_>>(),
        ["baishui\t白水镇便民服务中心", "qingshi\t青石镇便民服务中心"]
    );

    let staff = |id: &str, center: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_bianmin"))
            .args(["admin", "staff", "add", id, "新人", "--role", "窗口人员", "--center", center, "--database", &url])
            .env("BIANMIN_DATA_DIR", sandbox.path())
            .env("HOME", sandbox.path())
            .env("BIANMIN_NEW_PASSWORD", "bianmin-new-1")
            .output()
            .unwrap()
    };
    let ok = staff("s900", "qingshi");
    assert!(ok.status.success(), "{}", text(&ok));
    let ok = staff("s901", "baishui");
    assert!(ok.status.success(), "{}", text(&ok));
    let ok = staff("s903", "baishui");
    assert!(ok.status.success(), "{}", text(&ok));
    // The roster and the appointment slots name their center on a database of several.
    for args in [
        &["admin", "roster", "set", "1", "--a", "s901", "--b", "s903"][..],
        &["admin", "slots", "set", "A", "09:00-10:00/3"],
        &["admin", "slots", "list"],
    ] {
        let refused = run(args);
        assert!(!refused.status.success(), "{args:?}");
        assert!(text(&refused).contains("本数据库有多个中心，请用 --center 指定"), "{args:?}: {}", text(&refused));
    }
    let set = run(&["admin", "roster", "set", "1", "--a", "s901", "--b", "s903", "--center", "baishui"]);
    assert!(set.status.success(), "{}", text(&set));
    assert!(text(&set).contains("A岗 s901，B岗 s903"), "{}", text(&set));
    let elsewhere = run(&["admin", "roster", "set", "1", "--a", "s901", "--b", "s903", "--center", "qingshi"]);
    assert!(!elsewhere.status.success());
    assert!(text(&elsewhere).contains("s901 不是中心 qingshi 的人员"), "{}", text(&elsewhere));
    let set = run(&["admin", "slots", "set", "A", "09:00-10:00/3", "--center", "baishui"]);
    assert!(set.status.success(), "{}", text(&set));
    let (b, q) = (
        run(&["admin", "slots", "list", "--center", "baishui"]),
        run(&["admin", "slots", "list", "--center", "qingshi"]),
    );
    assert!(text(&b).contains("09:00"), "{}", text(&b));
    assert_ne!(text(&b), text(&q), "each center's slots are its own");
    // Each center's staff under its name; an account is disabled where it belongs, no --center.
    let listed = run(&["admin", "staff", "list"]);
    assert!(listed.status.success(), "{}", text(&listed));
    let listing = String::from_utf8_lossy(&listed.stdout).to_string();
    // Centers by code: baishui's staff, then qingshi's.
    let (baishui, qingshi) = listing.split_once("青石镇便民服务中心（qingshi）").unwrap_or_default();
    assert!(baishui.starts_with("白水镇便民服务中心（baishui）"), "{listing}");
    assert!(baishui.contains("s901") && !baishui.contains("s900"), "{listing}");
    assert!(qingshi.contains("s900") && !qingshi.contains("s901"), "{listing}");
    let disabled = run(&["admin", "staff", "disable", "s901"]);
    assert!(disabled.status.success(), "{}", text(&disabled));
    let refused = staff("s902", "heshan");
    assert!(!refused.status.success());
    assert!(text(&refused).contains("没有代码为 heshan 的中心"), "{}", text(&refused));
}

/// The statements of the server's store (`src/server/store/`), as the string literals they are
/// written in: each with the file it is in.
fn store_statements() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server/store");
    let mut files: Vec<_> = std::fs::read_dir(root.join("sql"))
        .unwrap()
        .chain(std::fs::read_dir(&root).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let name = path.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        // A file's unit tests hold example statements, not the store's.
        let source = source.split("#[cfg(test)]").next().unwrap_or_default();
        for literal in string_literals(source) {
            out.push((name.clone(), literal));
        }
    }
    out
}

/// The contents of the string literals of Rust source (comments, char literals and lifetimes
/// skipped; a `\` at the end of a line joins it to the next, as in Rust).
fn string_literals(source: &str) -> Vec<String> {
    let chars: Vec<char> = source.chars().collect();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < chars.len() {
        match chars[i] {
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '\'' if chars.get(i + 2) == Some(&'\'') => i += 3,
            '\'' if chars.get(i + 1) == Some(&'\\') => {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            }
            '"' => {
                let mut text = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && chars.get(i + 1) == Some(&'\n') {
                        i += 2;
                        while i < chars.len() && chars[i].is_whitespace() {
                            i += 1;
                        }
                        text.push(' ');
                        continue;
                    }
                    if chars[i] == '\\' {
                        text.push(chars[i]);
                        i += 1;
                    }
                    text.push(chars[i]);
                    i += 1;
                }
                out.push(text);
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// The tables a statement names after FROM, JOIN, INTO or UPDATE.
fn tables_of(statement: &str) -> Vec<String> {
    let words: Vec<&str> =
        statement.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    words.windows(2).filter(|w| matches!(w[0], "FROM" | "JOIN" | "INTO" | "UPDATE")).map(|w| w[1].to_owned()).collect()
}

/// Step 3's ratchet (issue #18): a statement on a center-owned table must name `center_id`, bound
/// to the caller's center. Those that do not yet, and those that still write "the one center"
/// (`(SELECT id FROM center)`), are counted per file; the counts must match `NOT_YET_SCOPED`, so
/// a new statement that forgets the center fails here, and scoping one means lowering its count.
/// When every count is 0 a database may hold several centers.
#[test]
fn statements_on_center_data_name_the_center_or_are_counted_as_not_yet_scoped() {
    const NOT_YET_SCOPED: &[(&str, usize)] = &[];
    let mut counts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let statements = store_statements();
    assert!(statements.len() > 100, "the store's statements were found: {}", statements.len());
    for (file, statement) in statements {
        let owned = tables_of(&statement).iter().any(|t| CENTER_OWNED.contains(&t.as_str()));
        let scoped = statement.contains("center_id") && !statement.contains("(SELECT id FROM center)");
        if owned && !scoped {
            counts.entry(file).or_default().push(statement);
        }
    }
    let found: Vec<(&str, usize)> = counts.iter().map(|(f, s)| (f.as_str(), s.len())).collect();
    for (file, list) in &counts {
        eprintln!("{file}: {} not yet scoped by center", list.len());
        for s in list {
            eprintln!("    {s}");
        }
    }
    assert_eq!(found, NOT_YET_SCOPED, "statements on center data without the caller's center, per file");
}
