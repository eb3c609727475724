//! `bianmin import guides FILE`: the real binary against an SQLite database in a temp dir: the
//! whole file checked first (every error, nothing written), then one transaction.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");

fn bundled_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/guides.json")
}

fn bundled() -> Value {
    serde_json::from_str(&std::fs::read_to_string(bundled_path()).expect("assets/guides.json")).expect("JSON")
}

fn bundled_count() -> i64 {
    bundled()["guides"].as_array().expect("guides").len() as i64
}

/// A temp dir holding the home, data directory and server database of one test.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temp dir") }
    }

    fn db_path(&self) -> PathBuf {
        self.dir.path().join("server.db")
    }

    fn db_url(&self) -> String {
        format!("sqlite://{}", self.db_path().display())
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write the import file");
        path
    }

    fn write_json(&self, name: &str, value: &Value) -> PathBuf {
        self.write(name, &serde_json::to_string_pretty(value).expect("JSON"))
    }

    /// `bianmin import guides FILE --database URL [extra]`, with no user config and only PATH
    /// from the test process.
    fn import(&self, file: &Path, extra: &[&str]) -> (Output, String, String) {
        let output = self.command(file, extra).output().expect("run bianmin");
        let stdout = String::from_utf8(output.stdout.clone()).expect("UTF-8 stdout");
        let stderr = String::from_utf8(output.stderr.clone()).expect("UTF-8 stderr");
        (output, stdout, stderr)
    }

    /// The import command, not yet started.
    fn command(&self, file: &Path, extra: &[&str]) -> Command {
        let url = self.db_url();
        let mut args = vec!["import", "guides", file.to_str().expect("UTF-8 path"), "--database", &url];
        args.extend_from_slice(extra);
        let at = |sub: &str| self.dir.path().join(sub);
        let mut command = Command::new(BIN);
        command
            .args(&args)
            .env_clear()
            .env("HOME", at("home"))
            .env("XDG_CONFIG_HOME", at("xdg-config"))
            .env("XDG_DATA_HOME", at("xdg-data"))
            .env("BIANMIN_DATA_DIR", at("data"))
            .env("USER", "tester")
            .env("LANG", "C.UTF-8");
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        command
    }

    /// The files beside the database whose names start with its name (the database itself, its
    /// journal or log, an import's scratch file), without the lock file every open leaves.
    fn database_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .expect("temp dir")
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.starts_with("server.db") && name != "server.db.migrate-lock")
            .collect();
        names.sort();
        names
    }

    /// A database seeded from the bundled catalogue, by importing that same file.
    fn seeded(self) -> Self {
        let (output, stdout, stderr) = self.import(&bundled_path(), &[]);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert_eq!(stdout.trim_end(), format!("新增 0 项，更新 0 项（版本号已递增），未变 {} 项", bundled_count()));
        self
    }

    fn query<T>(&self, f: impl AsyncFnOnce(&sqlx::SqlitePool) -> Result<T, sqlx::Error>) -> T {
        let url = self.db_url();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            let pool = sqlx::SqlitePool::connect(&url).await.expect("open the database");
            let out = f(&pool).await.expect("query");
            pool.close().await;
            out
        })
    }

    /// `SELECT COUNT(*), SUM(revision) FROM guides`.
    fn totals(&self) -> (i64, i64) {
        self.query(async |pool| sqlx::query_as("SELECT COUNT(*), SUM(revision) FROM guides").fetch_one(pool).await)
    }

    fn revision(&self, code: &str) -> Option<i64> {
        let code = code.to_owned();
        self.query(async move |pool| {
            sqlx::query_scalar("SELECT revision FROM guides WHERE code = ?").bind(code).fetch_optional(pool).await
        })
    }

    fn audit_actions(&self) -> Vec<(String, String)> {
        self.query(async |pool| {
            sqlx::query_as("SELECT staff_id, action FROM audit WHERE action = 'guides_imported' ORDER BY id")
                .fetch_all(pool)
                .await
        })
    }
}

/// The bundled catalogue with the guide `code` changed by `edit`.
fn with_guide(mut file: Value, code: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let guides = file["guides"].as_array_mut().expect("guides");
    edit(guides.iter_mut().find(|g| g["code"] == code).expect("the guide"));
    file
}

fn new_guide() -> Value {
    let mut guide = bundled()["guides"][0].clone();
    guide["code"] = "HB-QS-0901".into();
    guide["name"] = "农村危房改造补助申请".into();
    guide
}

#[test]
fn the_bundled_catalogue_into_a_fresh_database_changes_nothing() {
    let env = Env::new();
    assert!(!env.db_path().exists());
    let env = env.seeded();
    let n = bundled_count();
    assert_eq!(env.totals(), (n, n));
    assert!(env.audit_actions().is_empty(), "nothing changed, nothing audited");
}

#[test]
fn every_error_in_every_guide_is_reported_and_nothing_is_imported() {
    let env = Env::new().seeded();
    let before = env.totals();
    let mut file = bundled();
    let guides = file["guides"].as_array_mut().expect("guides");
    guides[0]["hours"] = "已改，但不应写入".into(); // a valid change in an invalid file
    guides[1]["materials"][0]["form"] = "原件x".into();
    guides[1]["promised_limit_days"] = "五".into();
    guides[3].as_object_mut().expect("a guide").remove("department");
    guides[6]["handling"] = "即办件".into();
    guides[6]["promised_limit_days"] = 3.into();
    guides[9]["materials"][0]["copies"] = 0.into();
    guides[9]["onlne"] = "全程网办".into();
    guides.push(serde_json::json!({"code": "HB-QS-0999"}));
    let path = env.write_json("bad.json", &file);

    let (output, stdout, stderr) = env.import(&path, &[]);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let lines: Vec<&str> = stderr.lines().collect();
    let expect = [
        "第 2 项（HB-QS-0002 城乡居民基本养老保险待遇申领）的 promised_limit_days（承诺时限）：应为不小于 0 的整数，实际是字符串“五”",
        "第 2 项（HB-QS-0002 城乡居民基本养老保险待遇申领）的 materials[0].form（材料形式）：“原件x”不是允许的取值，应为：原件、复印件、原件和复印件、电子",
        "第 4 项（HB-QS-0004 城乡居民基本养老保险关系转移接续）的 department（实施主体）：缺少此字段（必填）",
        "第 7 项（HB-QS-0007 社会保障卡申领和补换）的 promised_limit_days（承诺时限）：即办件的承诺时限应为 0 个工作日",
    ];
    for (line, expected) in lines.iter().zip(expect) {
        assert_eq!(*line, expected);
    }
    assert!(
        lines[4].starts_with("第 10 项（HB-QS-0010 ") && lines[4].ends_with("的 onlne：未知字段（是否应为 online？）"),
        "{stderr}"
    );
    let last_guide = bundled_count() + 1;
    assert!(
        lines[5].starts_with(&format!("第 {last_guide} 项（HB-QS-0999）的 name（事项名称）：缺少此字段（必填）")),
        "{stderr}"
    );
    // Every missing required field of the last guide is listed, one line each.
    assert!(lines.iter().any(|l| l.ends_with("的 online（网办程度）：缺少此字段（必填）")), "{stderr}");
    let total = lines.len() - 1;
    assert_eq!(
        *lines.last().expect("a summary"),
        format!("{} 共有 {total} 处错误，未导入任何事项", path.display()).as_str()
    );
    // The copies error of guide 10 only shows once its structure is right; nothing was written.
    assert_eq!(env.totals(), before);
    assert!(env.audit_actions().is_empty());
}

#[test]
fn the_guide_checks_of_the_domain_are_reported_too() {
    let env = Env::new().seeded();
    let before = env.totals();
    let file = with_guide(bundled(), "HB-QS-0010", |g| {
        g["materials"][0]["copies"] = 0.into();
        g["situations"] = serde_json::json!([{"id": "s1", "name": "本人办理", "material_ids": ["m9"]}]);
        g["consult_phone"] = " ".into();
    });
    let file = with_guide(file, "HB-QS-0020", |g| g["process"] = serde_json::json!([]));
    let path = env.write_json("checks.json", &file);
    let (output, _, stderr) = env.import(&path, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("的 consult_phone（咨询电话）：不能为空"), "{stderr}");
    assert!(stderr.contains("的 materials[0].copies（份数）：份数至少为 1"), "{stderr}");
    assert!(stderr.contains("的 situations[0].material_ids（所需材料）：引用了不存在的材料 m9"), "{stderr}");
    assert!(stderr.contains("第 20 项（HB-QS-0020 "), "{stderr}");
    assert!(stderr.contains("的 process（办理流程）：至少需要一个办理环节"), "{stderr}");
    assert!(stderr.ends_with(&format!("{} 共有 4 处错误，未导入任何事项\n", path.display())), "{stderr}");
    assert_eq!(env.totals(), before);
}

#[test]
fn a_syntax_error_gives_line_and_column_and_creates_no_database() {
    let env = Env::new();
    let text = "{\n  \"note\": \"样例\",\n  \"guides\": [\n    {\"code\": \"HB-1\", \"name\": \"残疾人证\",}\n  ]\n}\n";
    let path = env.write("broken.json", text);
    let (output, stdout, stderr) = env.import(&path, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout.is_empty());
    let summary = format!("{} 共有 1 处错误，未导入任何事项", path.display());
    assert_eq!(stderr, format!("第 4 行第 37 列：JSON 语法错误：多余的逗号\n{summary}\n"));
    assert!(!env.db_path().exists(), "a bad file does not even create the database");

    let text = "note = \"样例\"\n\n[[guides]]\ncode = \"HB-1\"\nname = 残疾人证\n";
    let (output, _, stderr) = env.import(&env.write("broken.toml", text), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.starts_with("第 5 行第 8 列：TOML 语法错误："), "{stderr}");

    let (output, _, stderr) = env.import(&env.dir.path().join("missing.json"), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.starts_with("无法读取 ") && stderr.trim_end().ends_with("missing.json：文件不存在"), "{stderr}");
    assert!(!env.db_path().exists());
}

#[test]
fn an_endless_or_oversized_file_fails_fast_and_unsafe_codes_are_refused() {
    let env = Env::new();
    #[cfg(unix)]
    {
        let started = std::time::Instant::now();
        let (output, _, stderr) = env.import(Path::new("/dev/zero"), &[]);
        assert_eq!(output.status.code(), Some(2));
        assert_eq!(stderr, "无法读取 /dev/zero：文件含有 NUL 字节，不是 JSON 或 TOML 文本\n");
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "fails at once, not after reading forever");
    }
    // JSON is streamed, so its cap is only against absurd input: a (sparse) file over 1 GiB is
    // refused by its size, before a byte is parsed.
    let big = env.dir.path().join("big.json");
    std::fs::File::create(&big).unwrap().set_len(1024 * 1024 * 1024 + 1).unwrap();
    let started = std::time::Instant::now();
    let (output, _, stderr) = env.import(&big, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.ends_with("big.json：文件超过 1024 MB，不像办事指南目录\n"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "refused by its size, not read");
    assert!(!env.db_path().exists());
    // TOML is parsed whole: 65 MB of valid-looking text is refused at its 64 MB cap.
    let big = env.dir.path().join("big.toml");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        let line = [b' '; 1024 * 1024];
        for _ in 0..65 {
            f.write_all(&line).unwrap();
        }
    }
    let (output, _, stderr) = env.import(&big, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.ends_with("big.toml：文件超过 64 MB，不像办事指南目录\n"), "{stderr}");
    assert!(!env.db_path().exists());
    let log: String = std::fs::read_dir(env.dir.path().join("data/logs"))
        .expect("log directory")
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
        .collect();
    assert!(log.contains("import file refused before parsing") && log.contains("max_bytes=67108864"), "{log}");

    let file = with_guide(bundled(), "HB-QS-0003", |g| g["code"] = "../../etc/\u{202e}x".into());
    let (output, _, stderr) = env.import(&env.write_json("codes.json", &file), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("事项编码只能由字母、数字和 - _ . 组成，至多 64 个字符"), "{stderr}");
    let long = with_guide(bundled(), "HB-QS-0004", |g| g["code"] = "H".repeat(65).into());
    let (output, _, stderr) = env.import(&env.write_json("long.json", &long), &[]);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("事项编码只能由字母"), "{stderr}");
}

#[test]
fn a_duplicate_code_is_refused() {
    let env = Env::new().seeded();
    let before = env.totals();
    let mut file = bundled();
    let mut copy = file["guides"][4].clone();
    copy["name"] = "重复的一项".into();
    file["guides"].as_array_mut().expect("guides").push(copy);
    let path = env.write_json("dup.json", &file);
    let (output, _, stderr) = env.import(&path, &[]);
    assert_eq!(output.status.code(), Some(2));
    let n = bundled_count() + 1;
    assert_eq!(
        stderr,
        format!(
            "第 {n} 项（HB-QS-0005 重复的一项）的 code（事项编码）：事项编码 HB-QS-0005 与第 5 项重复\n\
             {} 共有 1 处错误，未导入任何事项\n",
            path.display()
        )
    );
    assert_eq!(env.totals(), before);
}

/// A stored guide whose text has another form than today's writer gives it (an older version's
/// key order, layout or escapes) is compared by its content: the same content is unchanged, a
/// changed one is changed; the text comparison only ever skips the decoding of identical texts.
#[test]
fn a_stored_guide_in_another_form_is_compared_by_its_content() {
    let env = Env::new().seeded();
    let n = bundled_count();
    let reformat = |code: &'static str, form: fn(&str) -> String| {
        env.query(async move |pool| {
            let body: String =
                sqlx::query_scalar("SELECT body FROM guides WHERE code = ?").bind(code).fetch_one(pool).await?;
            let other = form(&body);
            assert_ne!(other, body, "{code}: the form changed");
            let same: Value = serde_json::from_str(&other).expect("still JSON");
            assert_eq!(same, serde_json::from_str::<Value>(&body).expect("JSON"), "{code}: the content did not");
            sqlx::query("UPDATE guides SET body = ? WHERE code = ?").bind(other).bind(code).execute(pool).await
        })
    };
    // Pretty-printed; keys in another order (sorted, as a JSON value writes them); the name's
    // characters as \u escapes.
    reformat("HB-QS-0001", |body| {
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(body).expect("JSON")).expect("JSON")
    });
    reformat("HB-QS-0002", |body| {
        let value: std::collections::BTreeMap<String, Value> = serde_json::from_str(body).expect("JSON");
        serde_json::to_string(&value).expect("JSON")
    });
    reformat("HB-QS-0003", |body| {
        let (head, tail) = body.split_once("\"name\":\"").expect("a name");
        let (name, rest) = tail.split_once('"').expect("the name ends");
        let escaped: String = name.encode_utf16().map(|u| format!("\\u{u:04x}")).collect();
        format!("{head}\"name\":\"{escaped}\"{rest}")
    });
    let (output, stdout, stderr) = env.import(&bundled_path(), &[]);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout.trim_end(), format!("新增 0 项，更新 0 项（版本号已递增），未变 {n} 项"));
    assert_eq!(env.totals(), (n, n));

    // A real change to a guide stored in another form is a change.
    let file = with_guide(bundled(), "HB-QS-0002", |g| g["hours"] = "周一至周六 上午8:30-12:00".into());
    let path = env.write_json("changed.json", &file);
    let (output, stdout, stderr) = env.import(&path, &[]);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout.trim_end(), format!("新增 0 项，更新 1 项（版本号已递增），未变 {} 项", n - 1));
    assert_eq!(env.revision("HB-QS-0002"), Some(2));
}

#[test]
fn a_changed_guide_gets_the_next_revision() {
    let env = Env::new().seeded();
    let n = bundled_count();
    let file = with_guide(bundled(), "HB-QS-0027", |g| g["hours"] = "周一至周六 上午8:30-12:00".into());
    let path = env.write_json("changed.json", &file);
    let (output, stdout, stderr) = env.import(&path, &[]);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout.trim_end(), format!("新增 0 项，更新 1 项（版本号已递增），未变 {} 项", n - 1));
    assert_eq!(env.revision("HB-QS-0027"), Some(2));
    assert_eq!(env.totals(), (n, n + 1));
    assert_eq!(env.audit_actions(), [("命令行:tester".to_owned(), "guides_imported".to_owned())]);

    // The same file again changes nothing.
    let (output, stdout, _) = env.import(&path, &[]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout.trim_end(), format!("新增 0 项，更新 0 项（版本号已递增），未变 {n} 项"));
    assert_eq!(env.totals(), (n, n + 1));
    assert_eq!(env.revision("HB-QS-0027"), Some(2));
    assert_eq!(env.audit_actions().len(), 1, "nothing changed, nothing audited");
}

#[test]
fn a_new_guide_is_added_and_a_partial_file_deletes_nothing() {
    let env = Env::new().seeded();
    let n = bundled_count();
    let file = serde_json::json!({"guides": [new_guide(), bundled()["guides"][1].clone()]});
    let (output, stdout, stderr) = env.import(&env.write_json("new.json", &file), &[]);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout.trim_end(), "新增 1 项，更新 0 项（版本号已递增），未变 1 项");
    assert_eq!(env.revision("HB-QS-0901"), Some(1));
    assert_eq!(env.totals(), (n + 1, n + 1));
}

#[test]
fn a_dry_run_writes_nothing() {
    let env = Env::new();
    let mut file = with_guide(bundled(), "HB-QS-0027", |g| g["hours"] = "周一至周六".into());
    file["guides"].as_array_mut().expect("guides").push(new_guide());
    let path = env.write_json("plan.json", &file);
    let n = bundled_count();

    // No database yet: compared with the bundled catalogue a new one starts with, not created.
    let (output, stdout, stderr) = env.import(&path, &["--dry-run"]);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stdout.starts_with("数据库尚未建立"), "{stdout}");
    assert!(!env.db_path().exists());

    let env = env.seeded();
    let before = env.totals();
    let (output, stdout, stderr) = env.import(&path, &["--dry-run"]);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], format!("试运行，未写入数据库：将新增 1 项，更新 1 项（版本号将递增），未变 {} 项", n - 1));
    assert_eq!(lines[1], "  新增 HB-QS-0901 农村危房改造补助申请");
    assert_eq!(lines[2], "  更新 HB-QS-0027 残疾人证新办（版本 1 → 2）");
    assert_eq!(lines.len(), 3);
    assert_eq!(env.totals(), before);
    assert_eq!(env.revision("HB-QS-0901"), None);
    assert!(env.audit_actions().is_empty());
}

#[test]
fn a_toml_file_imports_like_json() {
    let env = Env::new().seeded();
    let n = bundled_count();
    let file = with_guide(bundled(), "HB-QS-0030", |g| g["keywords"] = serde_json::json!(["新关键词"]));
    let mut table: toml::Table = serde_json::from_value(file).expect("TOML-shaped");
    table.remove("note");
    let text = toml::to_string(&table).expect("TOML");
    // A bare TOML date reads like the JSON string.
    let text = text.replacen("updated_on = \"2025-03-12\"", "updated_on = 2025-03-12", 1);
    assert!(text.contains("updated_on = 2025-03-12") && text.contains("[[guides.materials]]"));
    let (output, stdout, stderr) = env.import(&env.write("catalogue.toml", &text), &[]);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout.trim_end(), format!("新增 0 项，更新 1 项（版本号已递增），未变 {} 项", n - 1));
    assert_eq!(env.revision("HB-QS-0030"), Some(2));

    // Errors in TOML name the guide and field the same way.
    let bad = text.replacen("handling = \"承诺件\"", "handling = \"承诺\"", 1);
    let (output, _, stderr) = env.import(&env.write("bad.toml", &bad), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("的 handling（办件类型）：“承诺”不是允许的取值，应为：即办件、承诺件"), "{stderr}");
    assert_eq!(env.totals(), (n, n + 1));
}

/// A file of thousands of guides with one bad guide near its end: the guides before it are read
/// (and would be written) one by one, yet nothing is stored and the message names the guide.
#[test]
fn a_bad_guide_late_in_a_long_file_rejects_the_whole_file() {
    let env = Env::new().seeded();
    let before = env.totals();
    let mut file = bundled();
    let samples = file["guides"].as_array().expect("guides").clone();
    let guides = file["guides"].as_array_mut().expect("guides");
    guides.clear();
    for i in 0..3000 {
        let mut guide = samples[i % samples.len()].clone();
        guide["code"] = format!("GEN-{i:05}").into();
        guides.push(guide);
    }
    guides[2998]["copies_wrong"] = 1.into();
    let path = env.write_json("long.json", &file);
    let (output, stdout, stderr) = env.import(&path, &[]);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(stderr.starts_with("第 2999 项（GEN-02998 "), "{stderr}");
    assert!(stderr.contains("的 copies_wrong：未知字段"), "{stderr}");
    assert!(stderr.ends_with(&format!("{} 共有 1 处错误，未导入任何事项\n", path.display())), "{stderr}");
    assert_eq!(env.totals(), before, "nothing of the file is stored");

    // Without the bad field all 3,000 go in, in one import.
    file["guides"][2998].as_object_mut().expect("guide").remove("copies_wrong");
    let (output, stdout, stderr) = env.import(&env.write_json("long.json", &file), &[]);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "新增 3000 项，更新 0 项（版本号已递增），未变 0 项\n");
}

/// The bundled catalogue's guides repeated under new codes, `n` in all, compact JSON.
#[cfg(unix)]
fn long_file(env: &Env, name: &str, n: usize) -> PathBuf {
    let mut file = bundled();
    let samples = file["guides"].as_array().expect("guides").clone();
    let guides = file["guides"].as_array_mut().expect("guides");
    guides.clear();
    for i in 0..n {
        let mut guide = samples[i % samples.len()].clone();
        guide["code"] = format!("GEN-{i:05}").into();
        guides.push(guide);
    }
    env.write(name, &serde_json::to_string(&file).expect("JSON"))
}

/// Starts the import of `file` and kills it (SIGKILL on Unix) once `path` has grown past
/// `bytes`, i.e. while the guides are being written. Panics if the import ends first.
#[cfg(unix)]
fn kill_while_writing(env: &Env, file: &Path, path: &Path, bytes: u64) {
    let mut child = env
        .command(file, &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start bianmin");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        if path.metadata().is_ok_and(|m| m.len() > bytes) {
            break;
        }
        if let Some(status) = child.try_wait().expect("poll the import") {
            panic!("the import ended ({status}) before {} grew past {bytes} bytes", path.display());
        }
        assert!(std::time::Instant::now() < deadline, "{} never grew past {bytes} bytes", path.display());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().expect("kill the import");
    child.wait().expect("reap the import");
}

/// A first import is one pass into a scratch file renamed into place at the end: after a good
/// file only the database is there, after a bad one nothing at all.
#[test]
fn a_first_import_leaves_the_database_or_nothing() {
    let env = Env::new();
    let bad = with_guide(bundled(), "HB-QS-0001", |g| g["copies_wrong"] = 1.into());
    let (output, _, stderr) = env.import(&env.write_json("bad.json", &bad), &[]);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(env.database_files(), Vec::<String>::new(), "no database and no scratch file");

    let (output, stdout, stderr) = env.import(
        &env.write_json(
            "good.json",
            &with_guide(bundled(), "HB-QS-0001", |g| {
                g["name"] = "残疾人证办理（新）".into();
            }),
        ),
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let n = bundled_count();
    assert_eq!(stdout, format!("新增 0 项，更新 1 项（版本号已递增），未变 {} 项\n", n - 1));
    assert_eq!(env.totals(), (n, n + 1), "the seed and the import, in the one new database");
    assert_eq!(env.revision("HB-QS-0001"), Some(2));
    assert_eq!(env.audit_actions().len(), 1, "the import's audit line is in the new database");
    assert!(env.database_files().iter().all(|f| !f.contains("importing")), "{:?}", env.database_files());
}

/// The real binary killed while it writes: a first import leaves no database (and the next
/// import clears its scratch file); an import into an existing database leaves it as it was.
#[cfg(unix)]
#[test]
fn an_import_killed_half_way_leaves_the_old_state() {
    let env = Env::new();
    let file = long_file(&env, "long.json", 30_000);
    let scratch = env.dir.path().join("server.db.importing");
    kill_while_writing(&env, &file, &scratch, 8 << 20);
    assert!(!env.db_path().exists(), "no database after a first import was killed");

    let env = env.seeded();
    assert_eq!(env.database_files(), ["server.db"], "the next import removed the scratch file");
    let before = env.totals();
    kill_while_writing(&env, &file, &env.dir.path().join("server.db-wal"), 8 << 20);
    assert_eq!(env.totals(), before, "nothing of a killed import is stored");
}
