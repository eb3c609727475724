//! `bianmin guides ...` and `bianmin lexicon add`.

use std::process::ExitCode;

use chrono::NaiveDate;

use super::server_store;
use crate::cli::args::*;
use crate::config::Settings;
use crate::server::{self};

/// The catalogue the `guides` subcommands read: the terminal's local cache of the synced
/// catalogue when there is one (so they work offline and show the center's real catalogue),
/// otherwise the sample catalogue bundled in the binary (a fresh machine).
pub fn load_catalogue_for_cli(settings: &Settings) -> Result<Vec<crate::domain::guide::ServiceGuide>, String> {
    let cached = settings.data_dir().ok().map(|d| d.join("bianmin-local.db")).filter(|p| p.exists());
    if let Some(path) = cached {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        let guides = runtime.block_on(async {
            let (local, _) = crate::client::local::LocalStore::open(&path, chrono::Utc::now()).await.ok()?;
            let guides = local.guides().await.ok();
            local.close().await;
            guides
        });
        if let Some(guides) = guides.filter(|g| !g.is_empty()) {
            return Ok(guides);
        }
    }
    crate::assets::bundled_catalogue().map(|c| c.guides).map_err(|e| format!("无法读取办事指南目录：{e}"))
}

/// For `guides show CODE`: the one guide from the terminal's cache (a single row read, not the
/// whole catalogue) when the cache holds a catalogue, else the bundled catalogue. An empty list
/// when the cache has no such code.
fn load_guide_for_cli(settings: &Settings, code: &str) -> Result<Vec<crate::domain::guide::ServiceGuide>, String> {
    let cached = settings.data_dir().ok().map(|d| d.join("bianmin-local.db")).filter(|p| p.exists());
    if let Some(path) = cached {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        let found = runtime.block_on(async {
            let (local, _) = crate::client::local::LocalStore::open(&path, chrono::Utc::now()).await.ok()?;
            let found = match local.catalogue_seq().await {
                Ok(seq) if seq > 0 => local.guide_by_typed_code(code.trim()).await.ok(),
                _ => None,
            };
            local.close().await;
            found
        });
        if let Some(guide) = found {
            return Ok(guide.into_iter().collect());
        }
    }
    crate::assets::bundled_catalogue().map(|c| c.guides).map_err(|e| format!("无法读取办事指南目录：{e}"))
}

/// For `guides search`: the summaries and search index of the catalogue in the terminal's cache,
/// with the lexicon the terminal last synced: the index the terminal stored when it is current,
/// else built from the cache a page at a time (never every whole guide at once) and stored. `None`
/// when there is no cached catalogue.
fn cached_index_for_cli(settings: &Settings) -> Option<(Vec<crate::api::GuideSummary>, crate::search::SearchIndex)> {
    let path = settings.data_dir().ok().map(|d| d.join("bianmin-local.db")).filter(|p| p.exists())?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    runtime.block_on(async {
        let (local, _) = crate::client::local::LocalStore::open(&path, chrono::Utc::now()).await.ok()?;
        let loaded = match local.catalogue_seq().await {
            Ok(seq) if seq > 0 => {
                let synced =
                    local.get::<crate::api::LexiconReply>(crate::tui::backend::LEXICON_KEY).await.ok().flatten();
                let lexicon =
                    synced.map(|r| r.lexicon).unwrap_or_else(|| crate::domain::lexicon::Lexicon::bundled().clone());
                crate::tui::catalogue::load(&local, std::sync::Arc::new(lexicon)).await
            }
            _ => None,
        };
        local.close().await;
        loaded.filter(|(summaries, _)| !summaries.is_empty())
    })
}

/// Exit codes: 0 found, 1 nothing found, 2 an error (unknown code, unreadable catalogue).
pub fn guides(command: GuidesCommand, settings: &Settings) -> ExitCode {
    // Only where the terminal keeps its cache: why a stored index was not used is logged there.
    let _log =
        settings.data_dir().ok().filter(|d| d.join("bianmin-local.db").exists()).and_then(|d| {
            crate::logging::init(&d.join("logs"), &settings.log.level, settings.log.keep_days, false).ok()
        });
    use crate::cli::guides::{search_command, search_summaries, show_command};
    let cached = match &command {
        GuidesCommand::Search { .. } => cached_index_for_cli(settings),
        _ => None,
    };
    let loaded = match &command {
        GuidesCommand::Show { code } => load_guide_for_cli(settings, code),
        _ if cached.is_some() => Ok(Vec::new()),
        _ => load_catalogue_for_cli(settings),
    };
    let guides = match loaded {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    // What to say, and the exit code, when the command finds nothing.
    let (result, (nothing, nothing_code)) = match &command {
        GuidesCommand::Search { query, limit, json } => (
            match &cached {
                Some((summaries, index)) => search_summaries(summaries, index, query, *limit, *json, &mut out),
                None => search_command(&guides, query, *limit, *json, &mut out),
            },
            (format!("没有找到与“{}”相关的事项", crate::domain::text::clean_line(query)), 1),
        ),
        GuidesCommand::Show { code } => (
            show_command(&guides, code, &mut out),
            (format!("没有编码为 {} 的事项", crate::domain::text::clean_line(code)), 2),
        ),
        // Dispatched in `main`: they act on the server's database.
        GuidesCommand::Unanswered { .. } | GuidesCommand::Alias(_) => return ExitCode::from(2),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("{nothing}");
            ExitCode::from(nothing_code)
        }
        // `bianmin guides search … | head`: the reader has what it wanted.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("无法输出结果：{e}");
            ExitCode::from(2)
        }
    }
}

/// `bianmin guides unanswered`: the desk's questions the knowledge base does not answer yet.
pub async fn guides_unanswered(settings: Settings, since: Option<NaiveDate>) -> color_eyre::Result<()> {
    use crate::cli::knowledge::{unanswered, unanswered_lines};
    let store = server_store(&settings).await?;
    let (_, guides) = store.guides_since(0).await?;
    for line in unanswered_lines(&unanswered(store.as_ref(), &guides, since).await?) {
        println!("{line}");
    }
    Ok(())
}

/// `bianmin guides alias add CODE ALIAS`: a catalogue change the next sync carries.
pub async fn guides_alias_add(settings: Settings, code: String, alias: String) -> color_eyre::Result<()> {
    let store = server_store(&settings).await?;
    let actor = server::admin::cli_actor();
    match crate::cli::knowledge::add_alias(store.as_ref(), &code, &alias, &actor, chrono::Utc::now()).await {
        Ok(said) => {
            println!("{said}");
            Ok(())
        }
        Err(why) => color_eyre::eyre::bail!(why),
    }
}

/// `bianmin lexicon add WORD --like SYNONYM`.
pub async fn lexicon_add(settings: Settings, word: String, like: String) -> color_eyre::Result<()> {
    let store = server_store(&settings).await?;
    let (_, mut lexicon) = store.lexicon().await?.unwrap_or_default();
    match crate::cli::knowledge::add_synonym(&mut lexicon, &word, &like) {
        Ok(said) => {
            let seq = store.put_lexicon(&lexicon).await?;
            tracing::info!(seq, "lexicon word added");
            println!("{said}（词库第 {seq} 版）；各终端下次同步后生效");
            Ok(())
        }
        Err(why) => color_eyre::eyre::bail!(why),
    }
}
