//! `bianmin evaluator --window N`: the screen facing the applicant at window N, and its ratings.

use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::eyre;
use futures_util::StreamExt;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{Event, EventStream, KeyCode, KeyEventKind, KeyModifiers};
use tokio::sync::mpsc;

use super::ticket::{device_client_named, device_server};
use crate::api::hall::Facing;
use crate::api::hall::RateTicket;
use crate::cli::args::EvaluatorArgs;
use crate::client::evaluator_log::EvaluatorLog;
use crate::client::sync::upload_own_logs;
use crate::client::{ApiClient, ClientError};
use crate::config::Settings;
use crate::domain::staff::Role;
use crate::tui::evaluator::{EvaluatorState, render};

/// How often the evaluator looks at its window.
const LOOK_EVERY: Duration = Duration::from_secs(1);

pub async fn evaluator(settings: Settings, args: EvaluatorArgs) -> color_eyre::Result<()> {
    let server = device_server(&settings, args.server)?;
    // The token of window N's evaluator: device-evaluator-N.token.
    let word = crate::domain::staff::device_account_id(Role::Evaluator, args.window).unwrap_or_default();
    let client = device_client_named(&settings, &server, Role::Evaluator, &word)?;
    let outbox = EvaluatorLog::open(&settings.data_dir()?, args.window, &word, Utc::now())
        .await
        .map_err(|e| eyre!("无法打开本机缓存，评价无法保存：{e}"))?;
    crate::tui::install_panic_hook();
    let mut terminal = ratatui::try_init().map_err(|e| eyre!("无法进入终端界面（需要在终端窗口中运行）：{e}"))?;
    let result = run(&mut terminal, client, outbox, args.window).await;
    ratatui::restore();
    result
}

enum Report {
    Looked(Box<Result<Facing, ClientError>>),
    /// Ratings still waiting on this PC.
    Pending(usize),
}

/// Looks at the window once a second.
async fn look(client: ApiClient, window: u32, tx: mpsc::UnboundedSender<Report>) {
    let mut every = tokio::time::interval(LOOK_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if tx.send(Report::Looked(Box::new(client.facing(window).await))).is_err() {
            return;
        }
    }
}

/// Keeps each new rating in the device log (on the disk), then uploads what waits with the
/// same record upload as every device; again whenever poked and every few seconds.
async fn upload(
    client: ApiClient,
    log: EvaluatorLog,
    mut new: mpsc::UnboundedReceiver<RateTicket>,
    tx: mpsc::UnboundedSender<Report>,
) {
    loop {
        tokio::select! {
            kept = new.recv() => {
                let Some(rating) = kept else { return };
                if let Err(e) = log.keep(&rating, Utc::now()).await {
                    tracing::error!(error = %e, "a rating could not be kept on this PC");
                }
            }
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        match upload_own_logs(&client, log.store(), log.window()).await {
            Ok(outcome) => {
                for refused in &outcome.refused {
                    // Kept in the server's log, not counted: another rating of the ticket came
                    // first, or it was not served here. Resending would not change that.
                    tracing::warn!(record = %refused.record_id, code = %refused.code, "a rating was not counted by the server");
                }
            }
            Err(crate::client::sync::SyncError::Client(e)) if e.is_offline() => {}
            Err(e) => tracing::warn!(error = %e, "ratings not uploaded; retrying later"),
        }
        let left = log.pending().await.unwrap_or_default();
        if tx.send(Report::Pending(left)).is_err() {
            return;
        }
    }
}

async fn run(
    terminal: &mut DefaultTerminal,
    client: ApiClient,
    outbox: EvaluatorLog,
    window: u32,
) -> color_eyre::Result<()> {
    let mut state = EvaluatorState::new(window, Utc::now());
    terminal.draw(|f| render(&state, f))?;
    let (tx, mut reports) = mpsc::unbounded_channel();
    let (kept_tx, kept_rx) = mpsc::unbounded_channel();
    let looker = tokio::spawn(look(client.clone(), window, tx.clone()));
    let uploader = tokio::spawn(upload(client, outbox, kept_rx, tx));
    let mut input = EventStream::new();
    let result = loop {
        tokio::select! {
            Some(report) = reports.recv() => match report {
                Report::Looked(looked) => match *looked {
                    Ok(facing) => state.on_facing(facing),
                    Err(e) if e.is_offline() => state.online = false,
                    Err(e) => {
                        state.online = false;
                        state.problem = Some(format!("服务器拒绝了本评价器：{e}"));
                    }
                },
                Report::Pending(n) => state.pending = n,
            },
            event = input.next() => match event {
                Some(Ok(Event::Key(k))) if k.kind == KeyEventKind::Press => {
                    let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                    // q quits only when nothing is asked: the applicant's keypad has no q.
                    if ctrl_c || (k.code == KeyCode::Char('q') && state.phase == crate::tui::evaluator::Phase::Showing) {
                        break Ok(());
                    }
                    if let Some(rating) = state.on_key(k) {
                        state.pending += 1;
                        let _ = kept_tx.send(rating);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break Err(eyre!("读取键盘失败：{e}")),
                None => break Ok(()),
            },
        }
        state.tick(Utc::now());
        terminal.draw(|f| render(&state, f))?;
    };
    looker.abort();
    // Let a rating just given reach the disk before leaving.
    drop(kept_tx);
    let _ = tokio::time::timeout(Duration::from_secs(3), uploader).await;
    result
}
