//! Case work in the backend: every change is committed to the device log first (so it survives
//! a dropped network and a killed process), notices and receipts are saved as files and
//! optionally printed, then the app is told.

use std::path::PathBuf;

use chrono::Utc;
use uuid::Uuid;

use super::Worker;
use crate::client::local::LocalError;
use crate::documents;
use crate::domain::calendar::WorkCalendar;
use crate::domain::case::{Case, CaseStatus};
use crate::domain::documents::{Letterhead, case_number, notice_number};
use crate::domain::guide::{Handling, ServiceGuide};
use crate::domain::intake::{self, Opening};
use crate::domain::record::RecordBody;
use crate::domain::time::china_date;
use crate::tui::app::{AppCommand, BackendEvent, CaseStep};

impl Worker {
    async fn find_guide(&self, code: &str) -> Option<ServiceGuide> {
        if let Some(local) = &self.local
            && let Ok(Some(guide)) = local.guide(code).await
        {
            return Some(guide);
        }
        let client = self.client.as_ref()?;
        client.guide(code).await.ok()
    }

    /// Handles a case command; every refusal becomes a message for the clerk.
    pub(super) async fn case_command(&mut self, command: AppCommand) {
        // The app counts these commands and keeps its own copy of the case until each is done.
        let done = match &command {
            AppCommand::SaveCase(case) => Some(BackendEvent::CaseDone { id: case.id, step: false }),
            AppCommand::GiveNotice { case, .. } | AppCommand::Accept(case) | AppCommand::Advance { case, .. } => {
                Some(BackendEvent::CaseDone { id: case.id, step: true })
            }
            _ => None,
        };
        let result = self.try_case_command(command).await;
        let tracked = done.is_some();
        if let Some(done) = done {
            self.report(done);
        }
        if let Err(message) = result {
            self.report(BackendEvent::Message(message));
            // The app's copy may be ahead of what was saved: show what the log holds.
            if tracked && let Ok((_, window, _)) = self.acting() {
                let server_cases = self.last_overview.as_ref().map(|o| o.open_cases.clone()).unwrap_or_default();
                if let Err(e) = self.report_cases(window, server_cases).await {
                    tracing::warn!(error = %e, "cases not shown after a refused command");
                }
            }
        }
    }

    async fn try_case_command(&mut self, command: AppCommand) -> Result<(), String> {
        match command {
            AppCommand::OpenCase { guide_code, situation_id, ticket } => {
                let guide = self.find_guide(&guide_code).await.ok_or("本机没有这个事项的指南")?;
                let (staff_id, window, post) = self.acting()?;
                // The app says which ticket is at the window (from the live queue); the cached
                // overview may still name the last applicant's, so it is not a fallback.
                let opening = Opening { window, post, staff_id: &staff_id, ticket };
                let case = intake::open_case(&guide, situation_id.as_deref(), &opening, Uuid::now_v7(), Utc::now())
                    .map_err(|e| e.message)?;
                self.commit_case(&case).await?;
                self.report(BackendEvent::Message(format!("已开始收件：{}，请逐项核验材料", case.guide_name)));
                self.report(BackendEvent::CaseOpened(Box::new(case)));
            }
            AppCommand::SaveCase(case) => {
                self.commit_case(&case).await?;
            }
            AppCommand::GiveNotice { case, repeat_reason } => self.give_notice(*case, repeat_reason).await?,
            AppCommand::Accept(case) => self.accept(*case).await?,
            AppCommand::Advance { mut case, step } => {
                let result = match step {
                    CaseStep::Dispatch => intake::dispatch(&mut case),
                    CaseStep::RecordResult => intake::record_result(&mut case),
                    CaseStep::Deliver => intake::deliver(&mut case),
                };
                result.map_err(|e| e.message)?;
                self.commit_case(&case).await?;
                self.report(BackendEvent::Message(format!("{}：{}", case.guide_name, case.status.label())));
                self.report(BackendEvent::CaseUpdated(case));
            }
            // Other commands are handled elsewhere in the backend.
            _ => {}
        }
        Ok(())
    }

    /// Staff id, window and post of whoever acts at this terminal.
    pub(super) fn acting(&self) -> Result<(String, u32, crate::domain::center::Post), String> {
        let me = self.me.as_ref().ok_or("尚未登录")?;
        match me.posts.first() {
            Some(post) => Ok((me.staff.id.clone(), post.window, post.post)),
            // The desk writes its own log (window 0); it has no A/B posts.
            None if me.staff.role == crate::domain::staff::Role::GuidanceDesk => {
                Ok((me.staff.id.clone(), crate::domain::record::DESK_WINDOW, crate::domain::center::Post::A))
            }
            None => Err("本账号不在任何窗口任职".into()),
        }
    }

    /// Commits a case snapshot to the device log and refreshes the pending count and list.
    async fn commit_case(&mut self, case: &Case) -> Result<(), String> {
        self.append(RecordBody::CaseSnapshot(Box::new(case.clone()))).await?;
        let (_, window, _) = self.acting()?;
        let server_cases = self.last_overview.as_ref().map(|o| o.open_cases.clone()).unwrap_or_default();
        self.report_cases(window, server_cases).await.map_err(|e| e.to_string())?;
        Ok(())
    }

    pub(super) async fn append(&mut self, body: RecordBody) -> Result<(), String> {
        let (staff_id, window, post) = self.acting()?;
        let local = self.local.as_ref().ok_or("本机缓存不可用，无法保存")?;
        let record = local.append(&staff_id, window, post, &body, Utc::now()).await.map_err(|e| e.to_string())?;
        tracing::info!(id = %record.id, stream = %record.stream, idx = record.idx, kind = body.kind(), "record committed");
        if let Ok(pending) = local.pending().await {
            self.report(BackendEvent::Pending(pending));
        }
        self.sync_soon = true;
        Ok(())
    }

    async fn give_notice(&mut self, mut case: Case, repeat_reason: Option<String>) -> Result<(), String> {
        let (staff_id, window, _) = self.acting()?;
        let local = self.local.as_ref().ok_or("本机缓存不可用，无法保存")?;
        let earlier = local.notices_for(case.id).await.map_err(|e| e.to_string())?;
        let now = Utc::now();
        let today = china_date(now);
        let prefix = number_prefix(&notice_number(window, today, 0));
        let used = local
            .highest_number("notice_given", window, &prefix, now - chrono::TimeDelta::days(2))
            .await
            .map_err(|e| e.to_string())?;
        let seq = local.next_sequence(&format!("notice:{window}:{today}"), used).await.map_err(|e| e.to_string())?;
        let number = notice_number(window, today, seq);
        let notice =
            intake::give_notice(&mut case, &earlier, number, Uuid::now_v7(), &staff_id, now, repeat_reason.as_deref())
                .map_err(|e| e.message)?;
        let guide = self.find_guide(&case.guide_code).await.ok_or("本机没有这个事项的指南")?;
        // The notice is the legal record: commit it before anything is printed.
        self.append(RecordBody::NoticeGiven(Box::new(notice.clone()))).await?;
        self.commit_case(&case).await?;
        let head = self.letterhead()?;
        let text = documents::notice_text(&head.borrow(), &notice, &case, &guide);
        let html = documents::notice_html(&head.borrow(), &notice, &case, &guide);
        let saved = self.save_document(&notice.number, &text, &html).await?;
        self.report(BackendEvent::Message(format!(
            "已一次性告知 {} 项：告知单 {} {saved}",
            notice.missing.len(),
            notice.number
        )));
        self.report(BackendEvent::CaseUpdated(Box::new(case)));
        Ok(())
    }

    async fn accept(&mut self, mut case: Case) -> Result<(), String> {
        let (_, window, _) = self.acting()?;
        let guide = self.find_guide(&case.guide_code).await.ok_or("本机没有这个事项的指南")?;
        let local = self.local.as_ref().ok_or("本机缓存不可用，无法保存")?;
        let today = china_date(Utc::now());
        // Check first, number after: a refused acceptance must not use up a case number.
        let mut trial = case.clone();
        self.accept_as(&mut trial, &guide, String::new(), today)?;
        let prefix = number_prefix(&case_number(today, window, 0));
        let used = local
            .highest_number("case_snapshot", window, &prefix, Utc::now() - chrono::TimeDelta::days(2))
            .await
            .map_err(|e| e.to_string())?;
        let seq = local.next_sequence(&format!("case:{window}:{today}"), used).await.map_err(|e| e.to_string())?;
        self.accept_as(&mut case, &guide, case_number(today, window, seq), today)?;
        self.commit_case(&case).await?;
        let head = self.letterhead()?;
        let text = documents::receipt_text(&head.borrow(), &case, &guide).map_err(|e| e.message)?;
        let html = documents::receipt_html(&head.borrow(), &case, &guide).map_err(|e| e.message)?;
        let number = case.case_number.clone().unwrap_or_default();
        let saved = self.save_document(&format!("{number}-受理凭证"), &text, &html).await?;
        let what = match case.status {
            CaseStatus::Closed => "当场办结",
            CaseStatus::Dispatched => "已收件并转部门受理",
            _ => "已受理",
        };
        self.report(BackendEvent::Message(format!("{what}：办件编号 {number}，受理凭证{saved}")));
        self.report(BackendEvent::CaseUpdated(Box::new(case)));
        Ok(())
    }

    fn accept_as(
        &self,
        case: &mut Case,
        guide: &ServiceGuide,
        number: String,
        today: chrono::NaiveDate,
    ) -> Result<(), String> {
        if guide.handling == Handling::OnTheSpot {
            intake::finish_on_spot(case, guide, number, today).map_err(|e| e.message)
        } else {
            intake::accept(case, guide, number, today, &self.calendar()).map(drop).map_err(|e| e.message)
        }
    }

    /// The server's calendar as last fetched, or the one shipped with the program.
    fn calendar(&self) -> WorkCalendar {
        self.calendar.clone().unwrap_or_else(|| crate::assets::bundled_calendar().unwrap_or_default())
    }

    fn letterhead(&self) -> Result<OwnedLetterhead, String> {
        let me = self.me.as_ref().ok_or("尚未登录")?;
        let center = self.center.clone().ok_or("尚未取得服务中心信息")?;
        let (_, window, _) = self.acting()?;
        let window_name =
            center.windows.iter().find(|w| w.number == window).map(|w| w.name.clone()).unwrap_or_default();
        Ok(OwnedLetterhead { center: center.center, window, window_name, clerk: me.staff.name.clone() })
    }

    /// Saves a document as text and HTML under `data_dir/documents/DATE/`, and prints the text
    /// when a print command is configured. Returns a short word for the clerk (the full path goes
    /// to the log).
    async fn save_document(&self, name: &str, text: &str, html: &str) -> Result<String, String> {
        let day = china_date(Utc::now()).format("%Y-%m-%d").to_string();
        let dir: PathBuf = self.settings.data_dir().map_err(|e| e.to_string())?.join("documents").join(day);
        tokio::fs::create_dir_all(&dir).await.map_err(|e| format!("无法保存文件：{e}"))?;
        let text_path = dir.join(format!("{name}.txt"));
        let write = |path: PathBuf, body: String| async move {
            tokio::fs::write(&path, body).await.map_err(|e| {
                tracing::error!(path = %path.display(), error = %e, "document not saved");
                if e.raw_os_error() == Some(28) {
                    "磁盘已满，文件未保存（记录已保存）".to_owned()
                } else {
                    format!("文件未保存：{e}")
                }
            })
        };
        write(text_path.clone(), text.to_owned()).await?;
        write(dir.join(format!("{name}.html")), html.to_owned()).await?;
        tracing::info!(path = %text_path.display(), "document saved");
        let print = self.settings.terminal.print_command.trim();
        if !print.is_empty() {
            let mut parts = print.split_whitespace();
            let program = parts.next().unwrap_or_default();
            match tokio::process::Command::new(program).args(parts).arg(&text_path).status().await {
                Ok(status) if status.success() => return Ok("已保存并发送打印".to_owned()),
                Ok(status) => tracing::warn!(?status, "print command failed"),
                Err(e) => tracing::warn!(error = %e, "print command did not start"),
            }
            return Ok("已保存，打印失败，请检查打印机".to_owned());
        }
        Ok("已保存（数据目录 documents）".to_owned())
    }

    /// Tells the app the window's open cases: the server's list with what this terminal changed
    /// and has not uploaded yet laid over it.
    pub(super) async fn report_cases(&self, window: u32, mut cases: Vec<Case>) -> Result<(), LocalError> {
        if let Some(local) = &self.local {
            for case in local.pending_cases(window).await? {
                match cases.iter_mut().find(|c| c.id == case.id) {
                    Some(slot) => *slot = case,
                    None => cases.push(case),
                }
            }
        }
        cases.retain(|c| c.status.is_open());
        cases.sort_by_key(|c| c.opened_at);
        self.report(BackendEvent::Cases(cases));
        Ok(())
    }
}

/// A document number without its sequence: `GZ01-20261130-0007` gives `GZ01-20261130-`.
fn number_prefix(number: &str) -> String {
    number.rsplit_once('-').map(|(head, _)| format!("{head}-")).unwrap_or_default()
}

/// A letterhead that owns its parts, so it can outlive a borrow of the worker.
struct OwnedLetterhead {
    center: crate::domain::center::Center,
    window: u32,
    window_name: String,
    clerk: String,
}

impl OwnedLetterhead {
    fn borrow(&self) -> Letterhead<'_> {
        Letterhead {
            center: &self.center,
            window_number: self.window,
            window_name: &self.window_name,
            clerk_name: &self.clerk,
            printed_at: Utc::now(),
        }
    }
}
