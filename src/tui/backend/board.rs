//! The director's board in the backend: the snapshot fetched every [`BOARD_REFRESH`] and on
//! every change of the live queue, and sent to the app (which redraws only when it changed);
//! follow-up steps sent to the server; and the clerk terminal's presence heartbeat (空岗 is
//! judged from it on the server).

use std::path::{Path, PathBuf};
use std::time::Duration;

use uuid::Uuid;

use super::Worker;
use crate::api::queue::QueueEvent;
use crate::api::report::{ReportFile, ReportFormat, ReportQuery};
use crate::client::queue::QueueFeed;
use crate::client::{ApiClient, ClientError};
use crate::domain::attendance::PRESENCE_INTERVAL_S;
use crate::domain::follow_up::FollowUpAction;
use crate::tui::app::{AppEvent, BackendEvent};
use crate::tui::board::WindowWatch;

/// How often the board asks the server for a new snapshot: a bad rating shows within it.
pub const BOARD_REFRESH: Duration = Duration::from_secs(1);

impl Worker {
    /// Whether this session shows the director's board.
    fn shows_board(&self) -> bool {
        self.settings.terminal.board
            || self.me.as_ref().is_some_and(|me| crate::tui::board::is_board_role(me.staff.role))
    }

    /// (Re)starts fetching the board for the current session, if it shows the board.
    pub(super) fn follow_board(&mut self) {
        if let Some(old) = self.board_feed.take() {
            old.abort();
        }
        let Some(client) = self.client.clone().filter(|_| self.shows_board()) else { return };
        let events = self.events.clone();
        self.board_feed = Some(tokio::spawn(async move {
            // A change of the live queue (a call, a finish, a rating's ticket) fetches the board
            // at once; the tick brings what the queue does not carry (ratings, follow-ups).
            let mut queue = client.follow_queue(None);
            let mut failing = false;
            let mut tick = tokio::time::interval(BOARD_REFRESH);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    item = queue.recv() => match item {
                        Some(QueueFeed::Event(QueueEvent::Change(_) | QueueEvent::Snapshot(_))) => tick.reset(),
                        Some(_) => continue,
                        // The feed gave up (a refused session): the tick goes on alone.
                        None => {
                            queue = tokio::sync::mpsc::channel(1).1;
                            continue;
                        }
                    },
                }
                match client.board().await {
                    Ok(board) => {
                        failing = false;
                        if events.send(AppEvent::Backend(BackendEvent::Board(Box::new(board)))).is_err() {
                            return;
                        }
                    }
                    // The sync round reports the link; the board keeps its last snapshot. Logged
                    // once per outage, not every second.
                    Err(e) => {
                        if !std::mem::replace(&mut failing, true) {
                            tracing::info!(error = ?e, "board not refreshed");
                        }
                    }
                }
            }
        }));
    }

    /// (Re)starts telling the server every [`PRESENCE_INTERVAL_S`] seconds that the signed-in
    /// clerk is at the window this terminal works for.
    pub(super) fn keep_present(&mut self) {
        if let Some(old) = self.presence_feed.take() {
            old.abort();
        }
        let (Some(client), Some(window)) = (self.client.clone(), self.service_window()) else { return };
        let events = self.events.clone();
        self.presence_feed = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(PRESENCE_INTERVAL_S));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let (standing, empty_b_posts) = match client.presence(window).await {
                    Ok(reply) => (Some(reply.standing), reply.empty_b_posts),
                    Err(e) => {
                        tracing::info!(error = ?e, window, "presence not reported");
                        (None, Vec::new())
                    }
                };
                let follow_ups = match client.follow_ups().await {
                    Ok(rows) => rows,
                    Err(e) => {
                        tracing::info!(error = ?e, "follow-ups not fetched");
                        continue;
                    }
                };
                let watch = WindowWatch { window, standing, empty_b_posts, follow_ups };
                if events.send(AppEvent::Backend(BackendEvent::Watch(Box::new(watch)))).is_err() {
                    return;
                }
            }
        }));
    }

    /// Stops the session's background feeds (sign-out, shutdown).
    pub(super) fn stop_feeds(&mut self) {
        for feed in [self.board_feed.take(), self.presence_feed.take()].into_iter().flatten() {
            feed.abort();
        }
    }

    /// A follow-up step on the server; the app is told what became of it.
    pub(super) async fn follow_up_step(&mut self, rating_id: Uuid, action: FollowUpAction) {
        let Some(client) = self.client.clone() else { return };
        let label = action.label();
        let message = match client.follow_up_step(rating_id, action).await {
            Ok(row) if row.state.is_closed() => format!("差评整改已{label}办结（{}）", row.state.label()),
            Ok(_) => format!("已{label}"),
            Err(e) if e.is_offline() => "离线：差评整改需要连接服务器".to_owned(),
            Err(e) => e.to_string(),
        };
        self.report(BackendEvent::Message(message));
    }
}

impl Worker {
    /// The board's export: this month's report as HTML and CSV from the server, saved under the
    /// data directory's `reports/`. Fetched and written on a task of its own (the queue's
    /// commands do not wait for it); the app hears "报表已保存" only once both files are written
    /// and flushed to disk, otherwise why not.
    pub(super) fn export_report(&self) {
        let Some(client) = self.client.clone() else {
            self.report(BackendEvent::Message("离线：导出报表需要连接服务器".into()));
            return;
        };
        let dir = match self.settings.data_dir() {
            Ok(dir) => dir.join("reports"),
            Err(e) => {
                tracing::error!(error = %e, "no data directory for the report");
                self.report(BackendEvent::Message(format!("报表未保存：找不到数据目录（{e}）")));
                return;
            }
        };
        let events = self.events.clone();
        tokio::spawn(async move {
            let message = match export_report(&client, dir).await {
                Ok(path) => format!("报表已保存：{}（及同名 .csv）", path.display()),
                Err(why) => why,
            };
            let _ = events.send(AppEvent::Backend(BackendEvent::Message(message)));
        });
    }
}

/// Fetches this month's report as HTML and CSV and writes both into `dir`; the HTML's path, or
/// what went wrong in Chinese.
async fn export_report(client: &ApiClient, dir: PathBuf) -> Result<PathBuf, String> {
    let mut files = Vec::new();
    for format in [ReportFormat::Html, ReportFormat::Csv] {
        match client.report(&ReportQuery::this_month(format)).await {
            Ok(file) => files.push(file),
            Err(e) if e.is_offline() => return Err("离线：导出报表需要连接服务器".into()),
            Err(ClientError::Problem(problem)) => {
                tracing::warn!(code = %problem.code, "report export refused by the server");
                return Err(format!("服务器拒绝导出报表：{}", problem.title));
            }
            Err(e) => {
                tracing::warn!(error = ?e, "report export failed");
                return Err(format!("报表导出失败：{e}"));
            }
        }
    }
    let written = tokio::task::spawn_blocking(move || save_files(&dir, &files)).await;
    match written {
        Ok(Ok(paths)) => paths.into_iter().next().ok_or_else(|| "报表未保存".to_owned()),
        Ok(Err((path, e))) => {
            tracing::error!(path = %path.display(), error = %e, "report not saved");
            if e.raw_os_error() == Some(28) {
                Err("磁盘已满，报表未保存".into())
            } else {
                Err(format!("报表未保存（{}）：{e}", path.display()))
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "report writer panicked");
            Err("报表未保存".into())
        }
    }
}

/// Writes each file into `dir` whole or not at all: into a temporary file first, flushed to disk,
/// then renamed over the name. The paths written, or the path that failed and why.
fn save_files(dir: &Path, files: &[ReportFile]) -> Result<Vec<PathBuf>, (PathBuf, std::io::Error)> {
    use std::io::Write;
    std::fs::create_dir_all(dir).map_err(|e| (dir.to_owned(), e))?;
    let mut paths = Vec::new();
    for file in files {
        let path = dir.join(&file.file_name);
        // A name of its own: a second export started meanwhile writes another.
        let part = dir.join(format!(".{}.{}.part", file.file_name, Uuid::now_v7()));
        let write = || -> std::io::Result<()> {
            let mut out = std::fs::File::create(&part)?;
            out.write_all(&file.bytes)?;
            out.sync_all()?;
            std::fs::rename(&part, &path)
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&part);
            return Err((path, e));
        }
        paths.push(path);
    }
    // The renames themselves, on disk (a directory cannot be opened for this on Windows).
    #[cfg(unix)]
    if let Err(e) = std::fs::File::open(dir).and_then(|d| d.sync_all()) {
        return Err((dir.to_owned(), e));
    }
    Ok(paths)
}
