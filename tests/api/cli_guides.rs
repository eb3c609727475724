//! `bianmin guides search` and `bianmin guides show`: the real binary, its output and exit codes.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");

/// Runs the binary in an empty home (no user config file), with only PATH from the test process.
fn run(args: &[&str]) -> (Output, String, String) {
    let home = tempfile::tempdir().expect("temp dir");
    let at = |sub: &str| home.path().join(sub);
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .env("HOME", at("home"))
        .env("XDG_CONFIG_HOME", at("xdg-config"))
        .env("XDG_DATA_HOME", at("xdg-data"))
        .env("BIANMIN_DATA_DIR", at("data"))
        .env("LANG", "C.UTF-8");
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    let output = command.output().expect("run bianmin");
    let stdout = String::from_utf8(output.stdout.clone()).expect("UTF-8 stdout");
    let stderr = String::from_utf8(output.stderr.clone()).expect("UTF-8 stderr");
    (output, stdout, stderr)
}

#[test]
fn search_prints_one_guide_per_line() {
    let (output, stdout, stderr) = run(&["guides", "search", "cjrz"]);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("HB-QS-0027  残疾人证新办"), "{stdout}");
    assert!(lines[0].contains("青石镇残疾人联合会") && lines[0].contains("个工作日"), "{stdout}");
    assert!(lines[1].starts_with("HB-QS-0028"), "{stdout}");
    assert!(stderr.is_empty());

    // A match that is not in the name says where it is.
    let (output, stdout, _) = run(&["guides", "search", "上户口", "--limit", "1"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout.lines().count(), 1);
    assert!(stdout.starts_with("HB-QS-0065") && stdout.trim_end().ends_with("〔别名〕"), "{stdout}");
}

#[test]
fn search_limit_and_json() {
    let (output, stdout, _) = run(&["guides", "search", "残疾", "--limit", "3", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let rows: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON array");
    let rows = rows.as_array().expect("an array");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["code"], "HB-QS-0027");
    assert_eq!(rows[0]["name"], "残疾人证新办");
    assert_eq!(rows[0]["department"], "青石镇残疾人联合会");
    assert_eq!(rows[0]["field"], "名称");
    assert_eq!(rows[0]["fuzzy"], false);
    assert!(rows[0]["score"].as_u64().expect("a number") >= rows[1]["score"].as_u64().expect("a number"));

    // Pinyin with one typo: found, marked fuzzy.
    let (output, stdout, _) = run(&["guides", "search", "yanlgao", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let rows: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON array");
    assert_eq!(rows[0]["fuzzy"], true);
    assert!(rows[0]["name"].as_str().expect("a name").contains("养老"));
}

#[test]
fn search_finding_nothing_exits_1() {
    let (output, stdout, stderr) = run(&["guides", "search", "xqxqxq"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout.is_empty());
    assert_eq!(stderr.trim_end(), "没有找到与“xqxqxq”相关的事项");
    let (output, stdout, _) = run(&["guides", "search", "xqxqxq", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout.trim_end(), "[]");
    let (output, _, _) = run(&["guides", "search", "  "]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn show_prints_the_whole_guide() {
    let (output, stdout, stderr) = run(&["guides", "show", "HB-QS-0027"]);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stdout.starts_with("残疾人证新办\n"), "{stdout}");
    for needle in [
        "事项编码：HB-QS-0027",
        "实施主体：青石镇残疾人联合会",
        "【设定依据】",
        "《中华人民共和国残疾人保障法》",
        "承诺时限：",
        "【受理条件】",
        "【申请材料】",
        "【办理流程】",
        "办理地点：",
        "咨询电话：",
        "网办程度：",
        "版本：第1版",
    ] {
        assert!(stdout.contains(needle), "{needle} missing from\n{stdout}");
    }
}

#[test]
fn show_unknown_code_exits_2() {
    let (output, stdout, stderr) = run(&["guides", "show", "HB-QS-9999"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout.is_empty());
    assert_eq!(stderr.trim_end(), "没有编码为 HB-QS-9999 的事项");
}

#[test]
fn help_is_in_chinese() {
    let (output, stdout, _) = run(&["guides", "search", "--help"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout.contains("用法") && stdout.contains("--limit") && stdout.contains("--json"), "{stdout}");
}

#[test]
fn offline_the_commands_read_the_terminals_cached_catalogue() {
    let data = tempfile::tempdir().unwrap();
    // The catalogue a terminal synced from its center: one guide renamed there.
    let mut catalogue = bianmin::assets::bundled_catalogue().unwrap().guides;
    catalogue[0].name = "本中心特有的缓存事项".into();
    // A code stored in mixed case: found by the case-blind lookup, not by the key.
    let mut mixed = catalogue[1].clone();
    (mixed.code, mixed.name) = ("Hb-Mixed-7".into(), "混合大小写编码的事项".into());
    catalogue.push(mixed);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let path = data.path().join("bianmin-local.db");
        let (local, _) = bianmin::client::local::LocalStore::open(&path, chrono::Utc::now()).await.unwrap();
        local
            .apply_guides(&bianmin::api::GuideChanges { seq: 91, guides: catalogue, removed: Vec::new() })
            .await
            .unwrap();
        local.close().await;
    });
    let output = Command::new(BIN)
        .args(["guides", "search", "缓存事项"])
        .env("BIANMIN_DATA_DIR", data.path())
        .env("HOME", data.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("本中心特有的缓存事项"));
    // `guides show` reads the one guide from the cache, by its code in any letter case.
    let show = |code: &str| {
        Command::new(BIN)
            .args(["guides", "show", code])
            .env("BIANMIN_DATA_DIR", data.path())
            .env("HOME", data.path())
            .output()
            .unwrap()
    };
    let output = show(&bianmin::assets::bundled_catalogue().unwrap().guides[0].code.to_lowercase());
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("本中心特有的缓存事项\n"));
    for typed in ["hb-mixed-7", "HB-MIXED-7", "Hb-Mixed-7"] {
        let output = show(typed);
        assert_eq!(output.status.code(), Some(0), "{typed}: {}", String::from_utf8_lossy(&output.stderr));
        assert!(String::from_utf8_lossy(&output.stdout).starts_with("混合大小写编码的事项\n"), "{typed}");
    }
    let output = show("HB-QS-9999");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("没有编码为 HB-QS-9999 的事项"));
}

/// `bianmin guides alias add` and `bianmin guides unanswered` on the server's database: the alias
/// is a catalogue change the search finds at once; a fresh database has nothing unanswered.
#[test]
fn an_alias_added_by_the_admin_answers_the_question() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = format!("sqlite://{}", dir.path().join("server.db").display());
    let (output, stdout, stderr) = run(&["guides", "unanswered", "--database", &database]);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout.trim_end(), "没有未解答或把握不大的咨询");

    let (output, stdout, stderr) =
        run(&["guides", "alias", "add", "HB-QS-0083", "屋头的猫丢了", "--database", &database]);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stdout.starts_with("已为 HB-QS-0083 消费投诉和举报受理 添加别名“屋头的猫丢了”"), "{stdout}");
    let (output, _, stderr) = run(&["guides", "alias", "add", "HB-QS-0083", "屋头的猫丢了", "--database", &database]);
    assert_ne!(output.status.code(), Some(0));
    assert!(stderr.contains("已有别名"), "{stderr}");
    let (output, _, stderr) = run(&["guides", "alias", "add", "HB-QS-9999", "猫", "--database", &database]);
    assert_ne!(output.status.code(), Some(0));
    assert!(stderr.contains("没有编码为 HB-QS-9999 的事项"), "{stderr}");
}

/// `guides search` on a cached catalogue uses the index stored beside the cache (it does not
/// read and index the catalogue again), rebuilds it without a word to the user when the file is
/// damaged (the log says why), and is right again after a delta sync changed the cache.
#[test]
fn search_uses_the_stored_index_and_rebuilds_it_when_damaged_or_after_a_sync() {
    use bianmin::client::stored_index::{self, Stamp};
    let data = tempfile::tempdir().unwrap();
    let path = data.path().join("bianmin-local.db");
    let file = stored_index::path_for(&path);
    let mut catalogue = bianmin::assets::bundled_catalogue().unwrap().guides;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let open = || async {
        let (local, _) = bianmin::client::local::LocalStore::open(&path, chrono::Utc::now()).await.unwrap();
        local
    };
    runtime.block_on(async {
        let local = open().await;
        local
            .apply_guides(&bianmin::api::GuideChanges { seq: 91, guides: catalogue.clone(), removed: Vec::new() })
            .await
            .unwrap();
        local.close().await;
    });
    let search = |query: &str| {
        let output = Command::new(BIN)
            .args(["guides", "search", query, "--limit", "3"])
            .env("BIANMIN_DATA_DIR", data.path())
            .env("HOME", data.path())
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = search("cjrz");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("HB-QS-0027"), "{stdout}");
    assert!(file.exists(), "the first search stores the index");

    // A stored index for this very catalogue whose first guide says something the cache does
    // not: finding it proves the search read the stored index, not the cache.
    let stamp = runtime.block_on(async {
        let local = open().await;
        let (seq, revision) = local.catalogue_revision().await.unwrap();
        local.close().await;
        Stamp::new(seq, revision, bianmin::domain::lexicon::Lexicon::bundled())
    });
    let mut stored = catalogue.clone();
    stored[0].name = "只在存储的索引里".into();
    let summaries: Vec<_> = stored.iter().map(bianmin::api::GuideSummary::from).collect();
    stored_index::save(&file, &stamp, &summaries, &bianmin::search::SearchIndex::build(&stored)).unwrap();
    let (code, stdout, stderr) = search("只在存储的索引里");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("只在存储的索引里"), "{stdout}");

    // Scribbled over: the same answers as from the cache, no error, and the log says why.
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let (code, stdout, stderr) = search("cjrz");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert!(stdout.starts_with("HB-QS-0027"), "{stdout}");
    let (_, stdout, _) = search("只在存储的索引里");
    assert!(!stdout.contains("只在存储的索引里"), "rebuilt from the cache: {stdout}");
    let logs: String = std::fs::read_dir(data.path().join("logs"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(logs.contains("stored search index not used") && logs.contains("checksum mismatch"), "{logs}");

    // A delta sync renames a guide: the next search finds the new name, not the old one.
    let old_name = catalogue[1].name.clone();
    catalogue[1].name = "同步后改名的事项".into();
    runtime.block_on(async {
        let local = open().await;
        local
            .apply_guides(&bianmin::api::GuideChanges {
                seq: 92,
                guides: vec![catalogue[1].clone()],
                removed: Vec::new(),
            })
            .await
            .unwrap();
        local.close().await;
    });
    let (code, stdout, stderr) = search("同步后改名");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with(&catalogue[1].code), "{stdout}");
    let (_, stdout, _) = search(&old_name);
    assert!(!stdout.contains(&format!("{}  {old_name}", catalogue[1].code)), "{stdout}");
}
