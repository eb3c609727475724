//! `bianmin display`: the hall's calling display (叫号屏) with its voice.

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
use crate::client::queue::QueueFeed;
use crate::config::Settings;
use crate::domain::hall::announcement;
use crate::domain::rating::Satisfaction;
use crate::domain::staff::Role;
use crate::tui::announce::{Announcer, Voice};
use crate::tui::display::{DisplayLink, DisplayState, render};

/// How often the center's description (until it came) and today's satisfaction are fetched, and
/// the clock moves.
const REFRESH: Duration = Duration::from_secs(30);

/// `bianmin display`: signs in with this PC's display token and shows the hall until `q`.
pub async fn display(settings: Settings, args: DeviceArgs) -> color_eyre::Result<()> {
    let server = device_server(&settings, args.server)?;
    let client = device_client(&settings, &server, Role::Display)?;
    let voice = Voice::from_setting(&settings.hall.announce_command);
    tracing::info!(voice = ?voice, "hall display starting");
    crate::tui::install_panic_hook();
    let mut terminal = ratatui::try_init().map_err(|e| eyre!("无法进入终端界面（需要在终端窗口中运行）：{e}"))?;
    let result = run(&mut terminal, client, voice).await;
    ratatui::restore();
    result
}

/// What the background fetches report.
enum Fetched {
    Center(Box<CenterInfo>),
    Satisfaction(Satisfaction),
}

fn fetch(client: &ApiClient, need_center: bool, tx: &mpsc::UnboundedSender<Fetched>) {
    let (client, tx) = (client.clone(), tx.clone());
    tokio::spawn(async move {
        if need_center {
            match client.center().await {
                Ok(center) => drop(tx.send(Fetched::Center(Box::new(center)))),
                Err(e) => tracing::info!(error = %e, "center not fetched"),
            }
        }
        match client.ratings_today().await {
            Ok(s) => drop(tx.send(Fetched::Satisfaction(s))),
            Err(e) => tracing::info!(error = %e, "today's ratings not fetched"),
        }
    });
}

async fn run(terminal: &mut DefaultTerminal, client: ApiClient, voice: Voice) -> color_eyre::Result<()> {
    let mut state = DisplayState::new(Utc::now());
    terminal.draw(|f| render(&state, f))?;
    let announcer = Announcer::spawn(voice, None);
    let mut feed = client.follow_queue(None);
    let (fetched_tx, mut fetched) = mpsc::unbounded_channel();
    let mut input = EventStream::new();
    let mut tick = tokio::time::interval(REFRESH);
    loop {
        tokio::select! {
            item = feed.recv() => match item {
                Some(QueueFeed::Connected) => state.link = DisplayLink::Online,
                Some(QueueFeed::Event(event)) => {
                    for call in state.apply(event) {
                        announcer.say(announcement(&call));
                    }
                }
                Some(QueueFeed::Lost(e)) => state.link = DisplayLink::Lost(e.to_string()),
                Some(QueueFeed::Stopped(e)) => state.link = DisplayLink::Stopped(format!("服务器拒绝了本叫号屏：{e}")),
                None => {
                    // The feed gave up (reported above); keep the screen, wait for keys only.
                    feed = mpsc::channel(1).1;
                }
            },
            Some(f) = fetched.recv() => match f {
                Fetched::Center(center) => state.center = Some(*center),
                Fetched::Satisfaction(s) => state.satisfaction = Some(s),
            },
            _ = tick.tick() => {
                state.now = Utc::now();
                fetch(&client, state.center.is_none(), &fetched_tx);
            }
            event = input.next() => match event {
                Some(Ok(Event::Key(k))) if k.kind == KeyEventKind::Press => {
                    let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                    if ctrl_c || k.code == KeyCode::Char('q') {
                        return Ok(());
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
