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
use crate::domain::case::{Case, CaseStatus, CaseTransfer, EndKind, TransferKind};
use crate::domain::documents::{Letterhead, case_number, notice_number, refusal_number};
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
            AppCommand::GiveNotice { case, .. }
            | AppCommand::Accept(case)
            | AppCommand::Advance { case, .. }
            | AppCommand::ContinueCase(case)
            | AppCommand::EndCase { case, .. }
            | AppCommand::TransferCase { case, .. } => Some(BackendEvent::CaseDone { id: case.id, step: true }),
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
                let mut case = intake::open_case(&guide, situation_id.as_deref(), &opening, Uuid::now_v7(), Utc::now())
                    .map_err(|e| e.message)?;
                self.commit_case(&mut case).await?;
                self.report(BackendEvent::Message(format!("已开始收件：{}，请逐项核验材料", case.guide_name)));
                self.report(BackendEvent::CaseOpened(Box::new(case)));
            }
            AppCommand::SaveCase(mut case) => {
                self.commit_case(&mut case).await?;
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
                case.new_version(Uuid::now_v7());
                self.commit_case(&mut case).await?;
                self.report(BackendEvent::Message(format!("{}：{}", case.guide_name, case.status.label())));
                self.report(BackendEvent::CaseUpdated(case));
            }
            AppCommand::FindCases(search) => {
                let client = self.client.as_ref().ok_or("查找办件需要连接服务器，请联网后再试")?;
                let found = client.search_cases(&search).await.map_err(|e| e.to_string())?;
                tracing::info!(found = found.len(), "returning applicant's cases looked up");
                if found.is_empty() {
                    return Err("没有找到未办结的办件，请核对告知单编号、办件编号、身份证号或姓名电话".into());
                }
                self.report(BackendEvent::FoundCases(found));
            }
            AppCommand::ContinueCase(case) => self.continue_case(*case).await?,
            AppCommand::TransferCase { case, to_window, reason } => {
                let (staff_id, window, _) = self.acting()?;
                let transfer = CaseTransfer {
                    case_id: case.id,
                    from_window: window,
                    to_window,
                    step: TransferKind::Transfer,
                    by: staff_id,
                    at: Utc::now(),
                    reason,
                };
                self.append(RecordBody::CaseTransferred(Box::new(transfer))).await?;
                self.report(BackendEvent::Message(format!(
                    "已转办至 {to_window} 号窗口：{}（上传后从本窗口列表移除）",
                    case.guide_name
                )));
            }
            AppCommand::ConflictsSeen(records) => {
                let client = self.client.as_ref().ok_or("需要连接服务器，请联网后再试")?;
                let (_, window, _) = self.acting()?;
                for record in &records {
                    client.case_conflict_seen(window, *record).await.map_err(|e| e.to_string())?;
                }
                self.report(BackendEvent::Message(format!("已知悉 {} 条办件冲突", records.len())));
                let _ = self.own_commands.send(AppCommand::SyncNow);
            }
            AppCommand::EndCase { case, kind, reason } => self.end_case(*case, kind, reason).await?,
            AppCommand::Reprint { number } => self.reprint(&number).await?,
            // Other commands are handled elsewhere in the backend.
            _ => {}
        }
        Ok(())
    }

    /// Continues a returning applicant's case here: when another window holds it, the takeover
    /// is recorded first (the server's rule: `domain::access::check_case_transfer`), then the
    /// case's next version at this window; the checklist keeps what was received.
    async fn continue_case(&mut self, mut case: Case) -> Result<(), String> {
        let (staff_id, window, _) = self.acting()?;
        if case.window == window {
            // This window's own case, for the applicant's new ticket.
            let held = self.last_overview.as_ref().and_then(|o| o.open_cases.iter().find(|c| c.id == case.id));
            if held.is_some_and(|held| held.ticket != case.ticket) {
                case.new_version(Uuid::now_v7());
                self.commit_case(&mut case).await?;
            }
        } else {
            if let Some(center) = &self.center {
                let to = center.windows.iter().find(|w| w.number == window);
                let transfer = self.takeover(&case, &staff_id, window);
                crate::domain::access::check_case_transfer(&transfer, Some((case.window, case.status)), to)
                    .map_err(|e| e.message)?;
            }
            let transfer = self.takeover(&case, &staff_id, window);
            let from = case.window;
            self.append(RecordBody::CaseTransferred(Box::new(transfer))).await?;
            case.window = window;
            case.new_version(Uuid::now_v7());
            self.commit_case(&mut case).await?;
            self.report(BackendEvent::Message(format!(
                "已从 {from} 号窗口接续办件：{}，已收材料保持已收，请核验补正材料",
                case.guide_name
            )));
        }
        self.report(BackendEvent::CaseOpened(Box::new(case)));
        Ok(())
    }

    fn takeover(&self, case: &Case, staff_id: &str, window: u32) -> CaseTransfer {
        CaseTransfer {
            case_id: case.id,
            from_window: case.window,
            to_window: window,
            step: TransferKind::Takeover,
            by: staff_id.to_owned(),
            at: Utc::now(),
            reason: String::new(),
        }
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
    /// Every snapshot written is a new version of the case (the app makes each edit one; each
    /// step taken here makes one before committing). A copy whose version is already in the log
    /// (a step that forgot) is made the next version here, so the server never takes a change
    /// for a replay of the version it holds.
    async fn commit_case(&mut self, case: &mut Case) -> Result<(), String> {
        let local = self.local.as_ref().ok_or("本机缓存不可用，无法保存")?;
        let written = match case.version.version_id {
            Some(id) => local.holds_case_version(id).await.map_err(|e| e.to_string())?,
            None => true,
        };
        if written {
            case.new_version(Uuid::now_v7());
        }
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
        case.new_version(Uuid::now_v7());
        self.commit_case(&mut case).await?;
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
        case.new_version(Uuid::now_v7());
        self.commit_case(&mut case).await?;
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

    /// Ends a case without acceptance. The ending is the case's snapshot, committed before
    /// anything is printed; a refusal gets its numbered 不予受理告知书.
    async fn end_case(&mut self, mut case: Case, kind: EndKind, reason: String) -> Result<(), String> {
        let (staff_id, window, _) = self.acting()?;
        let now = Utc::now();
        // Check first, number after: a refused ending must not use up a notice number.
        let mut trial = case.clone();
        let placeholder = (kind == EndKind::Refused).then(String::new);
        intake::end_case(&mut trial, kind, &reason, &staff_id, now, placeholder).map_err(|e| e.message)?;
        let number = if kind == EndKind::Refused {
            let local = self.local.as_ref().ok_or("本机缓存不可用，无法保存")?;
            let today = china_date(now);
            let prefix = number_prefix(&refusal_number(window, today, 0));
            let used = local
                .highest_number("case_snapshot", window, &prefix, now - chrono::TimeDelta::days(2))
                .await
                .map_err(|e| e.to_string())?;
            let seq =
                local.next_sequence(&format!("refusal:{window}:{today}"), used).await.map_err(|e| e.to_string())?;
            Some(refusal_number(window, today, seq))
        } else {
            None
        };
        intake::end_case(&mut case, kind, &reason, &staff_id, now, number.clone()).map_err(|e| e.message)?;
        case.new_version(Uuid::now_v7());
        self.commit_case(&mut case).await?;
        tracing::info!(case = %case.id, kind = ?kind, "case ended without acceptance");
        let message = match number {
            Some(number) => {
                let guide = self.find_guide(&case.guide_code).await.ok_or("本机没有这个事项的指南")?;
                let head = self.letterhead()?;
                let text = documents::refusal_text(&head.borrow(), &case, &guide).map_err(|e| e.message)?;
                let html = documents::refusal_html(&head.borrow(), &case, &guide).map_err(|e| e.message)?;
                let saved = self.save_document(&format!("{number}-不予受理告知书"), &text, &html).await?;
                format!("已不予受理：告知书 {number} {saved}")
            }
            None => format!("办件已终止（{}）：{}", kind.label(), case.guide_name),
        };
        self.report(BackendEvent::Message(message));
        self.report(BackendEvent::CaseUpdated(Box::new(case)));
        Ok(())
    }

    /// Prints a document again from the records held here: the same number and content, the
    /// print time now, marked 补打. No record is written: a reprint is not a new legal act; it
    /// is a line in the log.
    async fn reprint(&mut self, number: &str) -> Result<(), String> {
        let number = number.trim().to_uppercase();
        let local = self.local.as_ref().ok_or("本机缓存不可用")?;
        let found = local.document_by_number(&number).await.map_err(|e| e.to_string())?;
        let (case, notice) = found.ok_or_else(|| format!("本机没有编号为 {number} 的告知单、受理凭证或告知书"))?;
        let guide = self.find_guide(&case.guide_code).await.ok_or("本机没有这个事项的指南")?;
        let head = self.letterhead()?;
        let head = head.borrow();
        let (name, text, html) = match notice {
            Some(notice) => (
                format!("{number}-补打"),
                documents::notice_text(&head, &notice, &case, &guide),
                documents::notice_html(&head, &notice, &case, &guide),
            ),
            None if case.case_number.as_deref() == Some(number.as_str()) => (
                format!("{number}-受理凭证-补打"),
                documents::receipt_text(&head, &case, &guide).map_err(|e| e.message)?,
                documents::receipt_html(&head, &case, &guide).map_err(|e| e.message)?,
            ),
            None => (
                format!("{number}-不予受理告知书-补打"),
                documents::refusal_text(&head, &case, &guide).map_err(|e| e.message)?,
                documents::refusal_html(&head, &case, &guide).map_err(|e| e.message)?,
            ),
        };
        let saved = self.save_document(&name, &mark_reprint(&text), &mark_reprint_html(&html)).await?;
        tracing::info!(number = %number, case = %case.id, "document reprinted");
        self.report(BackendEvent::Message(format!("已补打 {number}（不产生新的记录） {saved}")));
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
        Ok(OwnedLetterhead {
            center: center.center,
            windows: center.windows,
            window,
            window_name,
            clerk: me.staff.name.clone(),
        })
    }

    /// Saves a document as text and HTML under `data_dir/documents/DATE/`, and sends the A4
    /// HTML (or, with `print_text`, the text) to the print command when one is configured.
    /// Returns what happened for the clerk, naming the file; a failed print command's error
    /// output is part of it.
    async fn save_document(&self, name: &str, text: &str, html: &str) -> Result<String, String> {
        let day = china_date(Utc::now()).format("%Y-%m-%d").to_string();
        let dir: PathBuf = self.settings.data_dir().map_err(|e| e.to_string())?.join("documents").join(&day);
        tokio::fs::create_dir_all(&dir).await.map_err(|e| format!("无法保存文件：{e}"))?;
        let text_path = dir.join(format!("{name}.txt"));
        let html_path = dir.join(format!("{name}.html"));
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
        write(html_path.clone(), html.to_owned()).await?;
        let printed = if self.settings.terminal.print_text { text_path } else { html_path };
        tracing::info!(path = %printed.display(), "document saved");
        // The clerk's message names the file under the data directory (the full path is in the
        // log): short enough for the message line.
        let file = format!("documents/{day}/{}", printed.file_name().unwrap_or_default().to_string_lossy());
        let print = self.settings.terminal.print_command.trim();
        if print.is_empty() {
            return Ok(format!("已保存：{file}"));
        }
        Ok(match run_print_command(print, &printed).await {
            Ok(()) => format!("已发送打印：{file}"),
            Err(why) => format!("打印失败（{why}），文件：{file}"),
        })
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

/// How long a print command may take before it is given up on (the backend waits for it).
const PRINT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Runs the print command with the file as its last argument. `Err` says why it failed, in
/// Chinese, with an excerpt of what the command wrote to stderr.
async fn run_print_command(command: &str, file: &std::path::Path) -> Result<(), String> {
    let mut parts = crate::config::command_words(command).into_iter();
    let program = parts.next().unwrap_or_default();
    let program = program.as_str();
    let mut child = tokio::process::Command::new(program);
    child.args(parts).arg(file).stdin(std::process::Stdio::null()).kill_on_drop(true);
    let output = match tokio::time::timeout(PRINT_TIMEOUT, child.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => {
            tracing::warn!(program, error = %e, "print command did not start");
            return Err(format!("打印命令 {program} 无法启动（{e}）"));
        }
        Err(_) => {
            tracing::warn!(program, "print command timed out");
            return Err(format!("打印命令 {} 秒未结束", PRINT_TIMEOUT.as_secs()));
        }
    };
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let excerpt = stderr_excerpt(&stderr);
    tracing::warn!(program, status = ?output.status, stderr = %excerpt, "print command failed");
    Err(if excerpt.is_empty() { format!("打印命令退出（{}）", output.status) } else { excerpt })
}

/// The last non-empty lines of a command's error output, on one line, at most 120 characters.
fn stderr_excerpt(stderr: &str) -> String {
    let cleaned = crate::domain::text::clean_line(stderr);
    let text = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    let count = text.chars().count();
    if count <= 120 { text } else { format!("…{}", text.chars().skip(count - 119).collect::<String>()) }
}

/// A reprinted text document says so under its title line.
fn mark_reprint(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().skip(1).position(|l| l.starts_with('=')).map_or(0, |i| i + 2);
    lines.insert(at, "（补打件：内容与原件相同）");
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn mark_reprint_html(html: &str) -> String {
    html.replacen("</header>", "<p class=\"sub\">（补打件：内容与原件相同）</p></header>", 1)
}

/// A document number without its sequence: `GZ01-20261130-0007` gives `GZ01-20261130-`.
fn number_prefix(number: &str) -> String {
    number.rsplit_once('-').map(|(head, _)| format!("{head}-")).unwrap_or_default()
}

/// A letterhead that owns its parts, so it can outlive a borrow of the worker.
struct OwnedLetterhead {
    center: crate::domain::center::Center,
    windows: Vec<crate::domain::center::Window>,
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
            windows: &self.windows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a shell script as the print command: Unix only.
    #[cfg(unix)]
    #[test]
    fn a_failed_print_command_says_what_it_wrote_to_stderr() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let file = std::env::temp_dir().join("bianmin-print-test.html");
        std::fs::write(&file, "x").unwrap();
        let script = std::env::temp_dir().join("bianmin-print-test.sh");
        std::fs::write(&script, "#!/bin/sh\necho \"lp: 打印机 window1 不存在\" >&2\nexit 3\n").unwrap();
        let why = rt.block_on(run_print_command(&format!("sh {}", script.display()), &file)).unwrap_err();
        assert_eq!(why, "lp: 打印机 window1 不存在");
        let missing = rt.block_on(run_print_command("/no/such/printer", &file)).unwrap_err();
        assert!(missing.contains("无法启动"), "{missing}");
        assert!(rt.block_on(run_print_command("true", &file)).is_ok());
        assert_eq!(stderr_excerpt(&"错".repeat(300)).chars().count(), 120);
    }

    /// A print program under a folder with a space (every program under `C:\Program Files`),
    /// written in double quotes as on Windows' own command line: Windows' cmd.exe copied there.
    #[cfg(windows)]
    #[test]
    fn a_print_program_in_a_folder_with_a_space_is_run() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("notice.html");
        std::fs::write(&file, "x").unwrap();
        let folder = dir.path().join("Print Tools");
        std::fs::create_dir(&folder).unwrap();
        let system = std::env::var_os("SystemRoot").expect("SystemRoot");
        let program = folder.join("cmd.exe");
        std::fs::copy(std::path::Path::new(&system).join(r"System32\cmd.exe"), &program).unwrap();
        let command = format!("\"{}\" /c exit 0", program.display());
        assert_eq!(rt.block_on(run_print_command(&command, &file)), Ok(()), "{command}");
        let command = format!("\"{}\" /c exit 3", program.display());
        assert!(rt.block_on(run_print_command(&command, &file)).unwrap_err().contains('3'), "{command}");
    }

    #[test]
    fn a_reprint_is_marked_under_the_title() {
        let text = "====\n中心\n告知单\n====\n告知编号：GZ\n";
        let marked = mark_reprint(text);
        assert_eq!(marked.lines().nth(4), Some("（补打件：内容与原件相同）"), "{marked}");
        assert!(mark_reprint_html("<header><h1>x</h1></header>").contains("补打件"));
    }
}
