//! `bianmin kiosk`: the ticket machine.

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::eyre;
use futures_util::StreamExt;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{Event, EventStream, KeyCode, KeyEventKind, KeyModifiers};
use tokio::sync::mpsc;

use super::ticket::{device_client, device_server};
use crate::api::CenterInfo;
use crate::cli::args::DeviceArgs;
use crate::client::ApiClient;
use crate::config::Settings;
use crate::documents::slip::{gb18030, slip_text};
use crate::domain::staff::Role;
use crate::tui::kiosk::{KioskState, checked_in_text, render};

pub async fn kiosk(settings: Settings, args: DeviceArgs) -> color_eyre::Result<()> {
    let server = device_server(&settings, args.server)?;
    let client = device_client(&settings, &server, Role::Kiosk)?;
    let slips = settings.data_dir()?.join("slips");
    let print = settings.terminal.print_command.trim().to_owned();
    let public_url = settings.server.public_url.trim().to_owned();
    crate::tui::install_panic_hook();
    let mut terminal = ratatui::try_init().map_err(|e| eyre!("无法进入终端界面（需要在终端窗口中运行）：{e}"))?;
    let result = run(&mut terminal, client, slips, print, public_url).await;
    ratatui::restore();
    result
}

enum Report {
    Center(Box<CenterInfo>),
    Issued { text: String, printed: Option<String> },
    Refused(String),
}

/// Saves the slip (GB18030) and sends it to the print command; what to tell the applicant.
async fn print_slip(dir: PathBuf, print: String, name: String, text: &str) -> Option<String> {
    let path = dir.join(format!("{name}.txt"));
    let saved = async {
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::write(&path, gb18030(text)).await
    };
    if let Err(e) = saved.await {
        tracing::error!(error = %e, "slip not saved");
        return Some("小票未能保存，请记住屏幕上的号码".into());
    }
    if print.is_empty() {
        return None;
    }
    let mut parts = crate::config::command_words(&print).into_iter();
    let program = parts.next().unwrap_or_default();
    match tokio::process::Command::new(program).args(parts).arg(&path).status().await {
        Ok(status) if status.success() => None,
        Ok(status) => {
            tracing::warn!(?status, "slip print command failed");
            Some("打印机故障，请记住屏幕上的号码".into())
        }
        Err(e) => {
            tracing::warn!(error = %e, "slip print command did not start");
            Some("打印机故障，请记住屏幕上的号码".into())
        }
    }
}

async fn run(
    terminal: &mut DefaultTerminal,
    client: ApiClient,
    slips: PathBuf,
    print: String,
    public_url: String,
) -> color_eyre::Result<()> {
    let mut state = KioskState::new(Utc::now());
    terminal.draw(|f| render(&state, f))?;
    let (tx, mut reports) = mpsc::unbounded_channel();
    let mut input = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let fetch_center = |client: ApiClient, tx: mpsc::UnboundedSender<Report>| {
        tokio::spawn(async move {
            match client.center().await {
                Ok(center) => drop(tx.send(Report::Center(Box::new(center)))),
                Err(e) => tracing::info!(error = %e, "center not fetched"),
            }
        })
    };
    fetch_center(client.clone(), tx.clone());
    let mut last_try = std::time::Instant::now();
    loop {
        tokio::select! {
            Some(report) = reports.recv() => match report {
                Report::Center(c) => state.center = Some(*c),
                Report::Issued { text, printed } => state.on_issued(text, printed),
                Report::Refused(m) => state.on_refused(m),
            },
            _ = tick.tick() => {
                state.tick(Utc::now());
                if state.center.is_none() && last_try.elapsed() > Duration::from_secs(5) {
                    last_try = std::time::Instant::now();
                    fetch_center(client.clone(), tx.clone());
                }
            }
            event = input.next() => match event {
                Some(Ok(Event::Key(k))) if k.kind == KeyEventKind::Press => {
                    // Only the operator's Ctrl+C ends the kiosk: the applicant's keypad has no q.
                    if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
                        return Ok(());
                    }
                    let issue = state.on_key(k);
                    if let Some(request) = state.check_in.take() {
                        let (client, tx, dir, print) = (client.clone(), tx.clone(), slips.clone(), print.clone());
                        tokio::spawn(async move {
                            let report = match client.check_in_booking(&request).await {
                                Ok(change) => match change.ticket {
                                    Some(ticket) => {
                                        let text = checked_in_text(&ticket);
                                        let name = format!("{}-{}-checkin", ticket.day, ticket.number);
                                        let printed = print_slip(dir, print, name, &text).await;
                                        Report::Issued { text, printed }
                                    }
                                    None => Report::Refused("签到未完成，请到导办台".into()),
                                },
                                Err(e) if e.is_offline() => Report::Refused("暂时无法签到（与服务器断开），请到导办台".into()),
                                Err(e) => Report::Refused(format!("未能签到：{e}")),
                            };
                            let _ = tx.send(report);
                        });
                    } else if let Some(request) = issue {
                        let (client, tx, dir, print) = (client.clone(), tx.clone(), slips.clone(), print.clone());
                        let public_url = public_url.clone();
                        tokio::spawn(async move {
                            let report = match client.kiosk_issue(&request).await {
                                Ok(slip) => {
                                    let ticket = &slip.slip.ticket;
                                    // The screen shows the slip; the paper also carries the QR code of the
                                    // ticket's status page when the server's public address is configured.
                                    let text = slip_text(&slip.slip, None);
                                    let url = slip.status_token.as_deref().and_then(|token| {
                                        crate::domain::hall::status_url(&public_url, ticket.day, ticket.number, token)
                                    });
                                    let paper = slip_text(&slip.slip, url.as_deref());
                                    let name = format!("{}-{}", ticket.day, ticket.number);
                                    let printed = print_slip(dir, print, name, &paper).await;
                                    Report::Issued { text, printed }
                                }
                                Err(e) if e.is_offline() => Report::Refused("暂时无法取号（与服务器断开），请到导办台取号".into()),
                                Err(e) => Report::Refused(format!("未能取号：{e}")),
                            };
                            let _ = tx.send(report);
                        });
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(eyre!("读取键盘失败：{e}")),
                None => return Ok(()),
            },
        }
        terminal.draw(|f| render(&state, f))?;
    }
}
