//! The guidance desk in the backend: inquiries go to the device log (they work offline); a ticket
//! needs the server, and its number goes into the inquiry it answers.

use chrono::Utc;
use uuid::Uuid;

use super::Worker;
use crate::api::queue::IssueTicket;
use crate::domain::inquiry::{Inquiry, InquiryOutcome};
use crate::domain::record::RecordBody;
use crate::tui::app::{AppCommand, BackendEvent};

impl Worker {
    pub(super) async fn desk_command(&mut self, command: AppCommand) {
        let result = match command {
            AppCommand::RecordInquiry { question, guide_code, outcome } => {
                self.record_inquiry(question, guide_code, outcome).await.map(|()| "咨询已记录".to_owned())
            }
            AppCommand::IssueTicketFor { question, guide_code, category, green } => {
                self.issue_for(question, guide_code, category, green).await
            }
            AppCommand::Book(request) => self.book(&request).await,
            AppCommand::CancelBooking(request) => self.cancel_booking(&request).await,
            AppCommand::FreePlaces(query) => {
                // The form works without the list (the server still refuses a full slot): a
                // failed look-up only says so in the list's place.
                let Some(client) = self.client.clone() else { return };
                match client.free_places(query.day, query.category).await {
                    Ok(places) => self.report(BackendEvent::FreePlaces(Box::new(places))),
                    Err(e) => tracing::info!(error = %e, "free places not fetched"),
                }
                return;
            }
            _ => return,
        };
        match result {
            Ok(message) => self.report(BackendEvent::Message(message)),
            Err(message) => self.report(BackendEvent::Message(message)),
        }
    }

    async fn record_inquiry(
        &mut self,
        question: String,
        guide_code: Option<String>,
        outcome: InquiryOutcome,
    ) -> Result<(), String> {
        let (staff_id, _, _) = self.acting()?;
        let inquiry = Inquiry {
            id: Uuid::now_v7(),
            question,
            guide_code,
            outcome,
            first_responder: staff_id,
            asked_at: Utc::now(),
        };
        self.append(RecordBody::InquiryRecorded(Box::new(inquiry))).await
    }

    async fn issue_for(
        &mut self,
        question: String,
        guide_code: Option<String>,
        category: char,
        green: Option<crate::domain::ticket::GreenReason>,
    ) -> Result<String, String> {
        let client = self.client.clone().ok_or("尚未连接服务器")?;
        let request = IssueTicket { green, guide_code: guide_code.clone(), ..IssueTicket::new(category) };
        let change = client.issue_ticket(&request).await.map_err(|e| {
            if e.is_offline() {
                "离线：取号需要连接服务器。可先记录咨询并引导至窗口（F7）".to_owned()
            } else {
                e.to_string()
            }
        })?;
        let ticket = change.ticket.ok_or("服务器没有返回号码")?;
        self.record_inquiry(question, guide_code, InquiryOutcome::TicketIssued { ticket: ticket.number }).await?;
        let windows: Vec<String> = self
            .center
            .as_ref()
            .map(|c| {
                c.windows.iter().filter(|w| w.categories.contains(&category)).map(|w| w.number.to_string()).collect()
            })
            .unwrap_or_default();
        Ok(format!("已取号 {}：请到 {} 号窗口等候叫号", ticket.number, windows.join("、")))
    }

    async fn book(&mut self, request: &crate::api::queue::BookAppointment) -> Result<String, String> {
        let client = self.client.clone().ok_or("尚未连接服务器")?;
        let booking = client.book_appointment(request).await.map_err(|e| {
            if e.is_offline() {
                "离线：预约需要连接服务器".to_owned()
            } else {
                format!("未能预约：{e}")
            }
        })?;
        let ticket = booking.change.ticket.ok_or("服务器没有返回号码")?;
        let slot = ticket.appointment.map(|a| {
            let hm = |t| crate::domain::time::to_china(t).format("%H:%M").to_string();
            format!("{} {}-{}", ticket.day, hm(a.slot_start), hm(a.slot_end))
        });
        Ok(format!(
            "已预约 {}（{}），预约码 {}：请告知对方凭预约码或电话签到",
            ticket.number,
            slot.unwrap_or_default(),
            booking.code
        ))
    }

    async fn cancel_booking(&mut self, request: &crate::api::queue::CancelBooking) -> Result<String, String> {
        let client = self.client.clone().ok_or("尚未连接服务器")?;
        let change = client.cancel_booking(request).await.map_err(|e| {
            if e.is_offline() {
                "离线：取消预约需要连接服务器".to_owned()
            } else {
                format!("未能取消：{e}")
            }
        })?;
        let number = change.ticket.map(|t| t.number.to_string()).unwrap_or_default();
        Ok(format!("已取消预约 {number}，名额已释放"))
    }
}
