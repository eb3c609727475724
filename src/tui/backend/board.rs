//! The director's board in the backend: the snapshot fetched every [`BOARD_REFRESH`] and on
//! every change of the live queue, and sent to the app (which redraws only when it changed);
//! follow-up steps sent to the server; and the clerk terminal's presence heartbeat (空岗 is
//! judged from it on the server).

use std::time::Duration;

use uuid::Uuid;

use super::Worker;
use crate::api::queue::QueueEvent;
use crate::client::queue::QueueFeed;
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
                let standing = match client.presence(window).await {
                    Ok(reply) => Some(reply.standing),
                    Err(e) => {
                        tracing::info!(error = ?e, window, "presence not reported");
                        None
                    }
                };
                let follow_ups = match client.follow_ups().await {
                    Ok(rows) => rows,
                    Err(e) => {
                        tracing::info!(error = ?e, "follow-ups not fetched");
                        continue;
                    }
                };
                let watch = WindowWatch { window, standing, follow_ups };
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
