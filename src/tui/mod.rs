//! The clerk terminal: state ([`app`]), drawing ([`view`], [`panes`]), the backend task
//! ([`backend`]) and the event loop here.
//!
//! One channel feeds the loop: key presses, the minute clock and backend reports. The loop
//! redraws only when an event changed something visible, so an idle terminal costs no CPU.

pub mod announce;
pub mod app;
pub mod backend;
pub mod board;
pub mod cases;
pub mod catalogue;
pub mod desk;
pub mod display;
pub mod evaluator;
pub mod form;
pub mod handover;
pub mod help;
pub mod kiosk;
pub mod message;
pub mod panes;
pub mod queue;
pub mod screen_text;
pub mod view;

use std::io::Write;
use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::{WrapErr, eyre};
use futures_util::StreamExt;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{Event, EventStream, KeyEventKind};
use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use tokio::sync::mpsc;

use app::{App, AppCommand, AppEvent};
use backend::{Credentials, ServerUrl};

use crate::config::Settings;

/// Runs the terminal against `server` until the clerk quits. The terminal is restored on every
/// way out, panics in any thread included (see [`install_panic_hook`]).
pub async fn run_terminal(
    settings: Settings,
    server: ServerUrl,
    credentials: Option<Credentials>,
) -> color_eyre::Result<()> {
    // Checked before the screen is taken, so a mistake in the config reads plainly.
    settings.keys.resolve()?;
    install_panic_hook();
    let mut terminal = ratatui::try_init().map_err(|e| eyre!("无法进入终端界面（需要在终端窗口中运行）：{e}"))?;
    let result = event_loop(&mut terminal, settings, server, credentials).await;
    ratatui::restore();
    result
}

async fn event_loop(
    terminal: &mut DefaultTerminal,
    settings: Settings,
    server: ServerUrl,
    credentials: Option<Credentials>,
) -> color_eyre::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let server_label = (!settings.is_standalone()).then(|| settings.terminal.server.clone());
    let mut app = App::new(Utc::now(), server_label);
    if let Ok(keys) = settings.keys.resolve() {
        app.queue_pane.keys = keys;
    }
    app.desk = settings.terminal.desk;
    app.board_mode = settings.terminal.board;
    if let Ok(size) = terminal.size() {
        app.size = Some((size.width, size.height));
    }
    // The cursor goes before the first frame is written, not after it: ratatui hides it only
    // once a frame is out, and the embedded server starting beside the terminal can stretch that
    // moment.
    let _ = terminal.hide_cursor();
    // First frame before anything slow starts: the clerk sees the terminal at once.
    draw(terminal, &app)?;
    tracing::info!("first frame drawn");

    // Fault injection for the pseudo-terminal tests: proves the terminal is restored when a
    // background task panics.
    if std::env::var_os("BIANMIN_TEST_PANIC_IN_TASK").is_some() {
        tokio::spawn(async { panic!("injected panic (BIANMIN_TEST_PANIC_IN_TASK)") });
    }
    tokio::spawn(read_input(tx.clone()));
    let (seconds_tx, seconds_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(clock(tx.clone(), seconds_rx));
    let catalogue = catalogue::spawn(tx.clone());
    let backend = backend::spawn(settings, server, credentials, tx, catalogue.clone());

    // Closing the console window (or logging off) on Windows: leave as `q` does, so the backend
    // gets its few seconds to finish what it was sending. Ctrl+C is a key in the raw-mode console.
    #[cfg(windows)]
    let mut closed = Box::pin(async {
        match crate::platform::ConsoleStop::listen() {
            Ok(events) => events.wait().await,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for the console closing");
                std::future::pending().await
            }
        }
    });
    #[cfg(not(windows))]
    let mut closed = std::future::pending::<()>();
    loop {
        let event = tokio::select! {
            event = rx.recv() => match event {
                Some(event) => event,
                None => break,
            },
            () = &mut closed => break,
        };
        let mut redraw = false;
        let mut resized = false;
        let mut handle = |event: AppEvent| {
            resized |= matches!(event, AppEvent::Resize(..));
            let outcome = app.update(event);
            redraw |= outcome.redraw;
            for command in outcome.commands {
                match command {
                    AppCommand::Search(query) => catalogue.search(query),
                    AppCommand::OpenGuide(code) => catalogue.open(code),
                    other => backend.send(other),
                }
            }
        };
        handle(event);
        // Coalesce a burst (a paste, a backlog after a stall) into one frame.
        while let Ok(event) = rx.try_recv() {
            handle(event);
        }
        if app.should_quit {
            break;
        }
        // A running serving timer needs a frame a second; otherwise the HH:MM clock a minute.
        let want_seconds = app.needs_seconds();
        seconds_tx.send_if_modified(|seconds| std::mem::replace(seconds, want_seconds) != want_seconds);
        if resized {
            // Several quick resizes can end at the size last drawn; ratatui then sees no change
            // and would not repaint what the terminal cut off. Force a full repaint.
            let size = terminal.size()?;
            terminal.resize(ratatui::layout::Rect::from((ratatui::layout::Position::ORIGIN, size)))?;
        }
        if redraw {
            draw(terminal, &app)?;
        }
    }
    backend.stop(Duration::from_secs(3)).await;
    Ok(())
}

fn draw(terminal: &mut DefaultTerminal, app: &App) -> color_eyre::Result<()> {
    // Synchronized update: the terminal shows the frame whole, never half drawn.
    let _ = ratatui::crossterm::execute!(std::io::stdout(), BeginSynchronizedUpdate);
    terminal.draw(|frame| view::render(app, frame)).wrap_err("绘制界面失败")?;
    let _ = ratatui::crossterm::execute!(std::io::stdout(), EndSynchronizedUpdate);
    Ok(())
}

async fn read_input(tx: mpsc::UnboundedSender<AppEvent>) {
    let mut events = EventStream::new();
    while let Some(event) = events.next().await {
        let sent = match event {
            Ok(Event::Key(key)) if key.kind == KeyEventKind::Press => tx.send(AppEvent::Key(key)),
            Ok(Event::Resize(columns, rows)) => tx.send(AppEvent::Resize(columns, rows)),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, "reading terminal input failed");
                break;
            }
        };
        if sent.is_err() {
            break;
        }
    }
}

/// Wakes once a minute, on the minute, for the HH:MM clock in the status bar; once a second
/// while `seconds` says a timer is running.
async fn clock(tx: mpsc::UnboundedSender<AppEvent>, mut seconds: tokio::sync::watch::Receiver<bool>) {
    loop {
        let now = Utc::now();
        let wait = if *seconds.borrow() {
            Duration::from_millis(1_000 - u64::from(now.timestamp_subsec_millis().min(999)))
        } else {
            let into_minute = now.timestamp().rem_euclid(60) as u64;
            Duration::from_secs(60 - into_minute) + Duration::from_millis(50)
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {
                if tx.send(AppEvent::Clock(Utc::now())).is_err() {
                    return;
                }
            }
            changed = seconds.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// On a panic anywhere: restore the terminal (ratatui's hook, installed after this one, does
/// that first), log where it happened, tell the clerk in Chinese, and end the process rather than
/// leave a half-working window. Records already written are safe in the database.
pub(crate) fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(panic = %info, "panic");
        previous(info);
        let _ = ratatui::crossterm::execute!(std::io::stdout(), ratatui::crossterm::cursor::Show);
        let _ = writeln!(
            std::io::stderr(),
            "\n便民终端遇到内部错误已退出，已保存的记录不受影响。请重新打开；详情见日志文件。"
        );
        std::process::exit(101);
    }));
}
