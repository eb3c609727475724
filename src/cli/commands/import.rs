//! `bianmin import guides|lexicon`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use super::{run_async, server_store};
use crate::cli::args::*;
use crate::config::Settings;
use crate::server::{self, ServerConfig};

/// `bianmin import guides`: the file is read once, guide by guide, never held whole, each guide
/// checked and written into one transaction that is committed only when the whole file had no
/// problem. When that would create the database, the new database is built in a scratch file
/// beside it and renamed into place only after the whole file passed, so that a bad file (or an
/// import stopped half-way) does not even create one. Exit 2 with every problem on stderr when anything is
/// wrong (nothing imported), 1 when the database fails, 0 after the import (or the dry run).
pub fn import_guides(settings: Settings, args: ImportGuidesArgs) -> ExitCode {
    let refused = std::cell::Cell::new(false);
    let code = run_async(settings, false, |settings| async {
        let ok = import_guides_checked(settings, args).await?;
        refused.set(!ok);
        Ok(())
    });
    if refused.get() && code == ExitCode::SUCCESS { ExitCode::from(2) } else { code }
}

/// False when the file was refused (its problems printed, nothing written).
async fn import_guides_checked(settings: Settings, args: ImportGuidesArgs) -> color_eyre::Result<bool> {
    use crate::cli::import::{self, Format, ImportOutcome, Unreadable};
    let shown = crate::domain::text::clean_line(&args.file.display().to_string());
    let format = Format::of_path(&args.file);
    let now = chrono::Utc::now();
    let today = crate::domain::time::china_date(now);
    let refuse = |unreadable: Unreadable| {
        match unreadable {
            Unreadable::Refused(why) => {
                tracing::warn!(reason = %why, max_bytes = format.max_bytes(), "import file refused before parsing");
                eprintln!("无法读取 {shown}：{why}");
            }
            Unreadable::Problems { shown: problems, total } => {
                tracing::warn!(problems = total, "import file has problems; nothing imported");
                for problem in &problems {
                    eprintln!("{problem}");
                }
                if total > problems.len() {
                    eprintln!("……另有 {} 处错误未列出", total - problems.len());
                }
                eprintln!("{shown} 共有 {total} 处错误，未导入任何事项");
            }
            Unreadable::Stopped => eprintln!("{shown} 未导入任何事项"),
        }
        Ok(false)
    };
    let database_url = settings.server_database_url()?;
    let source = args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(shown.clone());
    // Into a database still to be created: one pass into a scratch file renamed into place at
    // the end. Otherwise the pass that writes checks too, and a dry run never creates a database.
    if !args.dry_run && sqlite_file_missing(&database_url) {
        let config = ServerConfig::from_settings(&settings)?;
        match import_into_new_database(config, &args.file, format, &source, now).await? {
            Some(Ok(report)) => {
                for line in ImportOutcome::Imported(report).lines() {
                    println!("{line}");
                }
                return Ok(true);
            }
            Some(Err(unreadable)) => return refuse(unreadable),
            // Another process created the database meanwhile: import into it as into any.
            None => {}
        }
    }
    let outcome = if args.dry_run {
        // A dry run writes nothing, not even a new database: compare with what a new one would
        // start with, the bundled sample catalogue.
        let store =
            if sqlite_file_missing(&database_url) { None } else { Some(server::store::open(&database_url).await?) };
        let planned = match store {
            Some(store) if store.is_seeded().await? => {
                import::plan_file(Some(store.as_ref()), &Default::default(), args.file.clone(), format, today).await?
            }
            _ => {
                println!("数据库尚未建立：新数据库会先载入内置样例目录，以下与之比较");
                let bundled = crate::assets::bundled_catalogue()?.guides;
                let stored = bundled.into_iter().map(|g| (g.code.clone(), g)).collect();
                import::plan_file(None, &stored, args.file.clone(), format, today).await?
            }
        };
        match planned {
            Ok(plan) => ImportOutcome::DryRun(plan),
            Err(unreadable) => return refuse(unreadable),
        }
    } else {
        let config = ServerConfig::from_settings(&settings)?;
        let state = server::prepare(&config).await?;
        let actor = server::admin::cli_actor();
        match import::import_file(state.store.as_ref(), args.file.clone(), format, &actor, &source, now).await? {
            Ok(report) => ImportOutcome::Imported(report),
            Err(unreadable) => return refuse(unreadable),
        }
    };
    for line in outcome.lines() {
        println!("{line}");
    }
    Ok(true)
}

/// Whether `url` names an SQLite file that does not exist yet.
fn sqlite_file_missing(url: &str) -> bool {
    sqlite_file(url).is_some_and(|(path, _)| !path.exists())
}

/// The file an SQLite `url` names (none for memory or another database) and the URL's options.
fn sqlite_file(url: &str) -> Option<(PathBuf, &str)> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, options) = rest.split_once('?').unwrap_or((rest, ""));
    (!path.is_empty() && !path.starts_with(':')).then(|| (PathBuf::from(path), options))
}

/// A first import, in one pass: the new database (migrated, seeded, then the file's guides in one
/// transaction) is written into `<database>.importing` beside it, without waiting for the disk at
/// each commit, and becomes the database only when the whole file passed: closed, its contents
/// and then the rename flushed to the disk. A bad file or a failure removes the scratch file, so
/// nothing is left; an import killed half-way leaves no database (its scratch file is removed by
/// the next first import). The database's migration turn is held throughout, so a server started
/// meanwhile waits and then opens the imported database. `None`: the database exists after all.
async fn import_into_new_database(
    config: ServerConfig,
    file: &Path,
    format: crate::cli::import::Format,
    source: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> color_eyre::Result<Option<Result<crate::server::store::ImportReport, crate::cli::import::Unreadable>>> {
    use crate::server::store::{SqliteStore, migration_turn};
    let Some((target, options)) = sqlite_file(&config.database_url) else { return Ok(None) };
    let turn = migration_turn(&target).await?;
    if target.exists() {
        return Ok(None);
    }
    let scratch = with_suffix(&target, ".importing");
    remove_scratch(&scratch, true);
    let url = if options.is_empty() {
        format!("sqlite://{}", scratch.display())
    } else {
        format!("sqlite://{}?{options}", scratch.display())
    };
    let sqlite = Arc::new(SqliteStore::open_scratch(&url).await?);
    let imported = async {
        let state = server::prepare_store(&config, sqlite.clone()).await?;
        let actor = server::admin::cli_actor();
        let outcome =
            crate::cli::import::import_file(state.store.as_ref(), file.to_owned(), format, &actor, source, now).await?;
        color_eyre::Result::<_>::Ok(outcome)
    }
    .await;
    sqlite.close().await;
    drop(sqlite);
    let outcome = match imported {
        Ok(Ok(report)) => report,
        Ok(Err(unreadable)) => {
            remove_scratch(&scratch, false);
            return Ok(Some(Err(unreadable)));
        }
        Err(e) => {
            remove_scratch(&scratch, false);
            return Err(e);
        }
    };
    let placed = tokio::task::spawn_blocking({
        let (scratch, target) = (scratch.clone(), target.clone());
        move || put_in_place(&scratch, &target)
    })
    .await?;
    if let Err(e) = placed {
        tracing::error!(error = %e, scratch = %scratch.display(), "the imported database could not be put in place");
        remove_scratch(&scratch, false);
        return Err(e.into());
    }
    remove_scratch_lock(&scratch);
    drop(turn);
    tracing::info!(database = %target.display(), "new database imported in one pass");
    Ok(Some(Ok(outcome)))
}

/// `path` with `suffix` added to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Makes the closed scratch database the database: its contents on the disk first, then the
/// rename, then (Unix) the folder's entry, so after a crash there is either no database or the
/// whole imported one.
fn put_in_place(scratch: &Path, target: &Path) -> std::io::Result<()> {
    for sidecar in ["-journal", "-wal"] {
        let left = with_suffix(scratch, sidecar);
        if left.metadata().is_ok_and(|m| m.len() > 0) {
            return Err(std::io::Error::other(format!("{} is left after closing the database", left.display())));
        }
    }
    // Opened for writing: on Windows flushing a file needs write access (a read-only handle is
    // refused with "access denied").
    std::fs::OpenOptions::new().write(true).open(scratch)?.sync_all()?;
    crate::platform::when_released(|| std::fs::rename(scratch, target))?;
    #[cfg(unix)]
    {
        let folder = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::File::open(folder)?.sync_all()?;
    }
    Ok(())
}

/// Removes a scratch database and its side files; `stale`: left by an import that was stopped.
fn remove_scratch(scratch: &Path, stale: bool) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let path = with_suffix(scratch, suffix);
        match crate::platform::when_released(|| std::fs::remove_file(&path)) {
            Ok(()) if stale => {
                tracing::warn!(path = %path.display(), "removed a scratch file left by an interrupted import")
            }
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(error = %e, path = %path.display(), "could not remove an import's scratch file"),
        }
    }
    remove_scratch_lock(scratch);
}

/// The scratch database's own migration lock file (its turn was released when it was opened).
fn remove_scratch_lock(scratch: &Path) {
    let _ = std::fs::remove_file(with_suffix(scratch, ".migrate-lock"));
}

/// `bianmin import lexicon`: the whole file is checked first (exit 2 with every problem, nothing
/// written); then it replaces the stored lexicon in one write.
pub fn import_lexicon(settings: Settings, args: ImportLexiconArgs) -> ExitCode {
    use crate::domain::lexicon::Lexicon;
    let shown = crate::domain::text::clean_line(&args.file.display().to_string());
    let text = match std::fs::read(&args.file).map(String::from_utf8) {
        Ok(Ok(text)) => text,
        Ok(Err(_)) => {
            eprintln!("{shown} 不是 UTF-8 文本");
            return ExitCode::from(2);
        }
        Err(e) => {
            let why = match e.kind() {
                std::io::ErrorKind::NotFound => "文件不存在".to_owned(),
                std::io::ErrorKind::PermissionDenied => "没有读取权限".to_owned(),
                _ => e.to_string(),
            };
            eprintln!("无法读取 {shown}：{why}");
            return ExitCode::from(2);
        }
    };
    let lexicon = match Lexicon::from_toml(&text) {
        Ok(lexicon) => lexicon,
        Err(problems) => {
            for problem in &problems {
                eprintln!("{problem}");
            }
            eprintln!("{shown} 共有 {} 处错误，未导入", problems.len());
            return ExitCode::from(2);
        }
    };
    let summary = format!("虚词 {} 个，同义词组 {} 组", lexicon.filler.len(), lexicon.groups.len());
    if args.dry_run {
        println!("检查通过：{summary}（未写入）");
        return ExitCode::SUCCESS;
    }
    run_async(settings, false, move |settings| async move {
        let store = server_store(&settings).await?;
        let seq = store.put_lexicon(&lexicon).await?;
        tracing::info!(seq, "lexicon imported");
        println!("词库已导入（第 {seq} 版）：{summary}；各终端下次同步后生效");
        Ok(())
    })
}
