//! Handovers in the backend: written into the device log (so they survive a dropped network and
//! upload once), then the window's history is rebuilt from the log and shown.

use chrono::Utc;
use uuid::Uuid;

use super::Worker;
use crate::domain::case::Case;
use crate::domain::handover::{self, Handover, HandoverDraft, HandoverKind, WindowAtHandover};
use crate::domain::record::RecordBody;
use crate::domain::ticket::Ticket;
use crate::tui::app::{AppCommand, BackendEvent};

impl Worker {
    pub(super) async fn handover_command(&mut self, command: AppCommand) {
        let result = match command {
            AppCommand::WriteHandover { kind, draft, cases, parked } => {
                self.write_handover(kind, draft, &cases, &parked).await
            }
            AppCommand::AcknowledgeHandover { handover, note } => self.acknowledge_handover(&handover, &note).await,
            AppCommand::WithdrawHandover { handover } => self.withdraw_handover(&handover).await,
            AppCommand::CheckHandoverItem { handover_id, item, done } => {
                self.append(RecordBody::HandoverItemChecked { handover_id, item, done }).await.map(|()| {
                    if done {
                        format!("第 {} 项待办已完成", item + 1)
                    } else {
                        format!("第 {} 项待办改回未完成", item + 1)
                    }
                })
            }
            _ => return,
        };
        match result {
            Ok(message) => self.report(BackendEvent::Message(message)),
            Err(message) => self.report(BackendEvent::Message(message)),
        }
        self.report_handovers().await;
    }

    async fn write_handover(
        &mut self,
        kind: HandoverKind,
        draft: HandoverDraft,
        cases: &[Case],
        parked: &[Ticket],
    ) -> Result<String, String> {
        let (staff_id, window_no, _) = self.acting()?;
        let window = self
            .center
            .as_ref()
            .and_then(|c| c.windows.iter().find(|w| w.number == window_no).cloned())
            .ok_or("尚未取得本窗口信息")?;
        let at = WindowAtHandover { window: &window, open_cases: cases, tickets: parked };
        let written =
            handover::handover_from(&at, kind, &staff_id, draft, Uuid::now_v7(), Utc::now()).map_err(|e| e.message)?;
        // Whoever must acknowledge it: B for A's handover, A for B's emergency takeover or
        // hand-back. By name, as the clerk knows them.
        let to = written.acknowledger().to_owned();
        let to = self.center.as_ref().and_then(|c| c.staff.iter().find(|s| s.id == to)).map_or(to, |s| s.name.clone());
        self.append(RecordBody::HandoverWritten(Box::new(written))).await?;
        Ok(format!("{}已写好（{} 项在办件），联网后送达 {to}", kind.label(), cases.len()))
    }

    async fn acknowledge_handover(&mut self, written: &Handover, note: &str) -> Result<String, String> {
        let (staff_id, _, _) = self.acting()?;
        let ack = handover::acknowledge(written, &staff_id, note, Utc::now()).map_err(|e| e.message)?;
        self.append(RecordBody::HandoverAcknowledged {
            handover_id: written.id,
            by: ack.by,
            at: ack.at,
            note: ack.note,
        })
        .await?;
        Ok("已确认接收交接".to_owned())
    }

    async fn withdraw_handover(&mut self, written: &Handover) -> Result<String, String> {
        let (staff_id, _, _) = self.acting()?;
        let w = handover::withdraw(written, &staff_id, Utc::now()).map_err(|e| e.message)?;
        self.append(RecordBody::HandoverWithdrawn { handover_id: written.id, by: w.by, at: w.at }).await?;
        Ok(format!("已撤回{}（已保存，联网后送达）", written.kind().label()))
    }

    /// The window's handovers from the local log (which holds the other post's records once
    /// synced), or the server's list when there is no local store.
    pub(super) async fn report_handovers(&self) {
        let Some(window) = self.service_window() else { return };
        let handovers = match &self.local {
            Some(local) => match local.handovers(window).await {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!(error = %e, "handovers not read");
                    return;
                }
            },
            None => self.last_overview.as_ref().map(|o| o.last_handovers.clone()).unwrap_or_default(),
        };
        // The server may know handovers this log has not downloaded yet.
        let mut all = handovers;
        if let Some(overview) = &self.last_overview {
            for h in &overview.last_handovers {
                if !all.iter().any(|x| x.id == h.id) {
                    all.push(h.clone());
                }
            }
        }
        all.sort_by_key(|h| std::cmp::Reverse(h.written_at));
        self.report(BackendEvent::Handovers(all));
    }
}
