//! The handlers of the subcommands, one module each; `main` parses the command line and calls
//! them. Shared here: logging and the runtime, the server database, a hidden prompt.

mod admin;
mod appointments;
mod display;
mod evaluator;
mod guides;
mod import;
mod kiosk;
mod migrate;
mod report;
mod serve;
mod terminal;
mod ticket;
mod workdays;

pub use admin::admin;
pub use appointments::appointments_free;
pub use display::display;
pub use evaluator::evaluator;
pub use guides::{guides, guides_alias_add, guides_unanswered, lexicon_add, load_catalogue_for_cli};
pub use import::{import_guides, import_lexicon};
pub use kiosk::kiosk;
pub use migrate::migrate;
pub use report::report;
pub use serve::serve;
pub use terminal::terminal;
pub use ticket::issue_ticket;
pub use workdays::workdays;

use std::process::ExitCode;

use crate::config::Settings;
use crate::server;

/// Logging and the runtime, shared by the terminal and the server.
pub fn run_async<F, Fut>(settings: Settings, log_to_stderr: bool, body: F) -> ExitCode
where
    F: FnOnce(Settings) -> Fut,
    Fut: std::future::Future<Output = color_eyre::Result<()>>,
{
    let data_dir = match settings.data_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = crate::config::make_private(&data_dir) {
        // Not fatal: the clerk's work goes on; the operator is told.
        eprintln!("警告：无法把数据目录 {} 设为仅本用户可读写：{e}", data_dir.display());
    }
    let _log_guard = match crate::logging::init(
        &data_dir.join("logs"),
        &settings.log.level,
        settings.log.keep_days,
        log_to_stderr,
    ) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("无法写入日志目录 {}：{e}", data_dir.join("logs").display());
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("无法启动运行时：{e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(body(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The chain, not the developer report: `serve` logs to the operator's stderr.
            tracing::error!(error = %format_args!("{e:#}"), "exited with an error");
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Reads a line without echoing it.
fn read_hidden(prompt: &str) -> color_eyre::Result<String> {
    use ratatui::crossterm::event::{Event, KeyCode, KeyEventKind, read};
    use ratatui::crossterm::terminal::{disable_raw_mode, enable_raw_mode};
    use std::io::Write;
    print!("{prompt}");
    std::io::stdout().flush()?;
    enable_raw_mode()?;
    let mut text = String::new();
    let result = loop {
        match read() {
            Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => match k.code {
                KeyCode::Enter => break Ok(text),
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Esc => break Err(color_eyre::eyre::eyre!("已取消登录")),
                KeyCode::Char('c') if k.modifiers.contains(ratatui::crossterm::event::KeyModifiers::CONTROL) => {
                    break Err(color_eyre::eyre::eyre!("已取消登录"));
                }
                KeyCode::Char(c) => text.push(c),
                _ => {}
            },
            Ok(_) => {}
            Err(e) => break Err(e.into()),
        }
    };
    disable_raw_mode()?;
    println!();
    result
}

/// The server's database, prepared as `bianmin serve` would (created and seeded when new).
async fn server_store(settings: &Settings) -> color_eyre::Result<std::sync::Arc<dyn server::store::Store>> {
    let config = server::ServerConfig::from_settings(settings)?;
    Ok(server::prepare(&config).await?.store)
}
