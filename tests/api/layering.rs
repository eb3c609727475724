//! Dependencies point one way: domain <- api <- server / client <- tui (README, "Layout"). The
//! crate is one package, so the compiler does not hold the direction; this test does, by reading
//! the sources: no module names a module it must not depend on (`crate::server` in the terminal,
//! say). Test modules (from `#[cfg(test)]` to the end of a file) may reach further, for fixtures.
//! Why one package and a test rather than a workspace of crates: docs/architecture.md.

use std::path::{Path, PathBuf};

/// Each module and the modules it must not name.
const RULES: &[(&str, &[&str])] = &[
    ("domain", &["api", "server", "client", "tui", "cli", "search", "documents", "config"]),
    ("api", &["server", "client", "tui", "cli", "config"]),
    ("search", &["api", "server", "client", "tui", "cli"]),
    ("documents", &["server", "client", "tui", "cli"]),
    ("client", &["server", "tui", "cli"]),
    ("server", &["client", "tui", "cli"]),
    ("tui", &["server", "cli"]),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The lines of a source file outside its test module, without comments.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l))
}

/// Where `module`'s sources (outside tests) name a module in `forbidden`.
fn breaches(root: &Path, module: &str, forbidden: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    let dir = root.join("src").join(module);
    if dir.is_dir() {
        sources(&dir, &mut files);
    }
    let file = root.join("src").join(format!("{module}.rs"));
    if file.is_file() {
        files.push(file);
    }
    assert!(!files.is_empty(), "no sources for {module}");
    let mut found = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in code_lines(&text) {
            for other in forbidden {
                if line.contains(&format!("crate::{other}::"))
                    || line.contains(&format!("crate::{other}}}"))
                    || line.contains(&format!("crate::{other};"))
                    || line.contains(&format!("crate::{{{other}"))
                {
                    found.push(format!("{}:{n}: {module} names {other}: {}", path.display(), line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn dependencies_point_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found: Vec<String> = RULES.iter().flat_map(|(module, forbidden)| breaches(root, module, forbidden)).collect();
    assert!(found.is_empty(), "dependencies against the direction:\n{}", found.join("\n"));
}

#[test]
fn the_check_sees_a_breach() {
    // The check itself, on a file it must refuse: a test that cannot fail proves nothing.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src/tui")).unwrap();
    std::fs::write(
        dir.path().join("src/tui/bad.rs"),
        "// crate::server:: in a comment is fine\nuse crate::server::{self, ServerConfig};\n#[cfg(test)]\nmod tests { use crate::server::seed; }\n",
    )
    .unwrap();
    let found = breaches(dir.path(), "tui", &["server"]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("bad.rs:2"), "{found:?}");
}
