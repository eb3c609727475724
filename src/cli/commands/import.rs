//! `bianmin import guides|lexicon`.

use std::process::ExitCode;

use super::{run_async, server_store};
use crate::cli::args::*;
use crate::config::Settings;
use crate::server::{self, ServerConfig};

/// `bianmin import guides`: the file is read once, guide by guide, never held whole, each guide
/// checked and written into one transaction that is committed only when the whole file had no
/// problem. Only when that would create the database is the file checked first, without it, so
/// that a bad file does not even create one. Exit 2 with every problem on stderr when anything is
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
    use crate::cli::import::{self, Format, ImportOutcome, Source, Unreadable};
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
    // Into a database still to be created, a first pass makes every check with none opened (a
    // bad file does not even create one). Otherwise the pass that writes checks too, and a dry
    // run never creates a database.
    if !args.dry_run && sqlite_file_missing(&database_url) {
        let path = args.file.clone();
        let checked = tokio::task::spawn_blocking(move || {
            import::stream_catalogue(Source::File(&path), format, today, &mut |_| true)
        })
        .await?;
        match checked {
            Ok(summary) => tracing::info!(guides = summary.guides, "import file checked before creating the database"),
            Err(unreadable) => return refuse(unreadable),
        }
    }
    let source = args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(shown.clone());
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
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or("");
    let path = path.split('?').next().unwrap_or("");
    !path.is_empty() && !path.starts_with(':') && !std::path::Path::new(path).exists()
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
