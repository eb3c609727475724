//! The shared queue in the backend: the live feed forwarded to the app, window operations sent
//! to the server, today's figures refreshed.

use super::Worker;
use crate::client::ApiClient;
use crate::client::queue::QueueFeed;
use crate::tui::app::{BackendEvent, QueueOp};

impl Worker {
    /// (Re)starts forwarding the server's live queue to the app with the current session.
    pub(super) fn follow_queue(&mut self) {
        let Some(client) = self.client.clone() else { return };
        if let Some(old) = self.queue_feed.take() {
            old.abort();
        }
        let events = self.events.clone();
        let (window, commands) = (self.window(), self.own_commands.clone());
        self.queue_feed = Some(tokio::spawn(async move {
            let mut feed = client.follow_queue(None);
            // Whether the feed was up: losing it is the first sign the server is gone.
            let mut up = false;
            while let Some(item) = feed.recv().await {
                if matches!(item, QueueFeed::Connected | QueueFeed::Event(_)) {
                    up = true;
                }
                let event = match item {
                    // Another terminal of this window changed its records (say, A wrote a
                    // handover for B): sync now rather than at the next interval.
                    QueueFeed::Event(crate::api::queue::QueueEvent::RecordsChanged { window: changed })
                        if Some(changed) == window =>
                    {
                        let _ = commands.send(crate::tui::app::AppCommand::SyncNow);
                        continue;
                    }
                    QueueFeed::Event(crate::api::queue::QueueEvent::RecordsChanged { .. }) => continue,
                    QueueFeed::Event(event) => BackendEvent::Queue(Box::new(event)),
                    QueueFeed::Connected => continue,
                    // The feed reconnects by itself. The first loss asks for a round now, so
                    // the status bar says 离线 at once rather than at the next interval (the
                    // round decides: the server may be fine and only the stream dropped).
                    QueueFeed::Lost(e) => {
                        tracing::info!(error = ?e, "queue feed lost; reconnecting");
                        if std::mem::take(&mut up) {
                            let _ = commands.send(crate::tui::app::AppCommand::SyncNow);
                        }
                        continue;
                    }
                    QueueFeed::Stopped(e) => {
                        tracing::warn!(error = ?e, "queue feed stopped");
                        return;
                    }
                };
                if events.send(crate::tui::app::AppEvent::Backend(event)).is_err() {
                    return;
                }
            }
        }));
    }

    pub(super) async fn refresh_queue_stats(&self, client: &ApiClient, window: u32) {
        match client.queue_stats(window).await {
            Ok(stats) => self.report(BackendEvent::QueueStats(Box::new(stats))),
            Err(e) => tracing::info!(error = ?e, "queue figures not refreshed"),
        }
    }

    /// Sends one window operation. The change comes back through the live feed like everyone
    /// else's, so there is one way the screen learns of it.
    pub(super) async fn queue_op(&mut self, op: QueueOp) {
        let (Some(client), Some(window)) = (self.client.clone(), self.window()) else { return };
        if op == QueueOp::InviteRating {
            let message = match client.invite_rating(window).await {
                Ok(ask) => format!("已请 {} 号的办事群众在评价器上评价", ask.number),
                Err(e) if e.is_offline() => "离线：邀请评价需要连接服务器".to_owned(),
                Err(e) => e.to_string(),
            };
            self.report(BackendEvent::Message(message));
            return;
        }
        let result = match &op {
            QueueOp::CallNext => client.call_next(window).await,
            QueueOp::Recall => client.recall(window).await,
            QueueOp::Start => client.start_service(window).await,
            QueueOp::Finish => client.finish_service(window).await,
            QueueOp::NoShow => client.no_show(window).await,
            QueueOp::Park => client.park(window, None).await,
            QueueOp::CallBack(number) => client.call_back(window, *number).await,
            QueueOp::CallNumber(number) => client.call_number(window, *number).await,
            QueueOp::Return(number) => client.return_ticket(*number).await,
            QueueOp::CheckIn(number) => client.check_in(*number).await,
            QueueOp::CheckInBooking(request) => client.check_in_booking(request).await,
            QueueOp::WalkIn => client.walk_in(window, &crate::api::queue::WalkInTicket::default()).await,
            QueueOp::Transfer { category, window: to } => {
                let to = crate::api::queue::TransferTicket { category: *category, window: *to, note: None };
                client.transfer(window, &to).await
            }
            QueueOp::Pause(reason) => client.pause_window(window, reason).await,
            QueueOp::Resume => client.resume_window(window).await,
            QueueOp::InviteRating => return,
        };
        match result {
            Ok(change) => {
                let what = change.ticket.as_ref().map(|t| t.number.to_string()).unwrap_or_default();
                tracing::info!(?op, rev = change.rev, "queue operation done");
                let message = match op {
                    QueueOp::CallNext | QueueOp::CallNumber(_) | QueueOp::CallBack(_) => {
                        format!("请 {what} 号到 {window} 号窗口")
                    }
                    QueueOp::Recall => format!("已重呼 {what}"),
                    QueueOp::Start => format!("{what} 开始办理"),
                    QueueOp::Finish => format!("{what} 已办结"),
                    QueueOp::NoShow => format!("{what} 已过号，可按 u 回队"),
                    QueueOp::Return(_) => format!("{what} 已回队"),
                    QueueOp::CheckIn(_) | QueueOp::CheckInBooking(_) => format!("{what} 已签到，到预约时段叫号"),
                    QueueOp::WalkIn => format!("直接办理：{what}"),
                    QueueOp::Park => format!("{what} 已挂起"),
                    QueueOp::Transfer { .. } => format!("{what} 已转移，号码不变"),
                    QueueOp::Pause(_) => "本窗口已暂停叫号".to_owned(),
                    QueueOp::Resume => "本窗口已恢复叫号".to_owned(),
                    QueueOp::InviteRating => String::new(),
                };
                self.report(BackendEvent::Message(message));
                self.refresh_queue_stats(&client, window).await;
            }
            Err(e) if e.is_offline() => {
                // The status bar must not say 在线 while this line says 离线: it is known now,
                // not at the next round.
                self.report(BackendEvent::Link(crate::tui::app::Link::Offline(e.to_string())));
                self.report(BackendEvent::Message("离线：叫号需要连接服务器，请按 w 登记纸质号或来访".into()));
            }
            Err(e) => self.report(BackendEvent::Message(e.to_string())),
        }
    }
}
