//! The queue from a terminal: issuing tickets, window operations, and following the live feed
//! (server-sent events) with reconnection and catch-up.

use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use tokio::sync::mpsc;

use super::{ApiClient, ClientError};
use crate::api::queue::{
    BookAppointment, Booking, ByNumber, CancelBooking, CheckInBooking, EVENT_CHANGE, EVENT_SNAPSHOT, IssueTicket,
    NoteOnly, PauseWindow, QueueChange, QueueEvent, QueueSnapshot, SlotPlans, TransferTicket, WalkInTicket, paths,
};
use crate::api::{API_MAJOR, PROBLEM_CONTENT_TYPE, Problem, VERSION_HEADER, major_of};
use crate::domain::ticket::TicketNumber;

impl ApiClient {
    /// Today's queue.
    pub async fn queue(&self) -> Result<QueueSnapshot, ClientError> {
        self.call(Method::GET, paths::QUEUE, None::<&()>).await
    }

    /// Issues a ticket (or books one, with a slot). The new number is in `ticket`.
    pub async fn queue_stats(&self, window: u32) -> Result<crate::api::queue::QueueStats, ClientError> {
        self.call(Method::GET, &super::with_query(paths::QUEUE_STATS, &[("window", &window.to_string())]), None::<&()>)
            .await
    }

    pub async fn issue_ticket(&self, request: &IssueTicket) -> Result<QueueChange, ClientError> {
        self.call(Method::POST, paths::QUEUE_TICKETS, Some(request)).await
    }

    /// Every category's appointment slots.
    pub async fn appointment_slots(&self) -> Result<SlotPlans, ClientError> {
        self.call(Method::GET, paths::APPOINTMENT_SLOTS, None::<&()>).await
    }

    /// The slots of a day (today when `None`) with the places left in each; one category or all.
    pub async fn free_places(
        &self,
        day: Option<chrono::NaiveDate>,
        category: Option<char>,
    ) -> Result<crate::api::queue::FreePlaces, ClientError> {
        let mut query = Vec::new();
        let day = day.map(|d| d.to_string());
        let category = category.map(String::from);
        if let Some(day) = &day {
            query.push(("day", day.as_str()));
        }
        if let Some(category) = &category {
            query.push(("category", category.as_str()));
        }
        self.call(Method::GET, &super::with_query(paths::APPOINTMENTS_FREE, &query), None::<&()>).await
    }

    /// An admin sets the slots of one category.
    pub async fn set_appointment_slots(&self, category: char, slots: &SlotPlans) -> Result<SlotPlans, ClientError> {
        self.call(Method::PUT, &paths::slots_of(category), Some(slots)).await
    }

    /// Books one place in a slot (预约); the booking code is in the reply.
    pub async fn book_appointment(&self, request: &BookAppointment) -> Result<Booking, ClientError> {
        self.call(Method::POST, paths::APPOINTMENTS, Some(request)).await
    }

    /// 签到 of today's booking by its code or phone number.
    pub async fn check_in_booking(&self, request: &CheckInBooking) -> Result<QueueChange, ClientError> {
        self.call(Method::POST, paths::APPOINTMENT_CHECK_IN, Some(request)).await
    }

    /// 取消预约 by code.
    pub async fn cancel_booking(&self, request: &CancelBooking) -> Result<QueueChange, ClientError> {
        self.call(Method::POST, paths::APPOINTMENT_CANCEL, Some(request)).await
    }

    /// 签到 of a booked ticket of today.
    pub async fn check_in(&self, number: TicketNumber) -> Result<QueueChange, ClientError> {
        self.call(Method::POST, &paths::ticket_op(&number, "check-in"), None::<&()>).await
    }

    /// A no-show (过号) back into the line.
    pub async fn return_ticket(&self, number: TicketNumber) -> Result<QueueChange, ClientError> {
        self.call(Method::POST, &paths::ticket_op(&number, "return"), None::<&()>).await
    }

    /// 叫下一个. `queue_empty` when nobody waits for this window.
    pub async fn call_next(&self, window: u32) -> Result<QueueChange, ClientError> {
        self.window_op(window, "call-next", None::<&()>).await
    }

    pub async fn call_number(&self, window: u32, number: TicketNumber) -> Result<QueueChange, ClientError> {
        self.window_op(window, "call", Some(&ByNumber { number })).await
    }

    /// 重呼 the ticket called to the window.
    pub async fn recall(&self, window: u32) -> Result<QueueChange, ClientError> {
        self.window_op(window, "recall", None::<&()>).await
    }

    /// 过号: the called ticket did not come.
    pub async fn no_show(&self, window: u32) -> Result<QueueChange, ClientError> {
        self.window_op(window, "no-show", None::<&()>).await
    }

    pub async fn start_service(&self, window: u32) -> Result<QueueChange, ClientError> {
        self.window_op(window, "start", None::<&()>).await
    }

    pub async fn finish_service(&self, window: u32) -> Result<QueueChange, ClientError> {
        self.window_op(window, "finish", None::<&()>).await
    }

    /// 转移 the ticket at the window, keeping its number.
    pub async fn transfer(&self, window: u32, to: &TransferTicket) -> Result<QueueChange, ClientError> {
        self.window_op(window, "transfer", Some(to)).await
    }

    /// 挂起 the ticket at the window.
    pub async fn park(&self, window: u32, note: Option<&str>) -> Result<QueueChange, ClientError> {
        self.window_op(window, "park", Some(&NoteOnly { note: note.map(str::to_owned) })).await
    }

    /// 回呼 a ticket parked at this window.
    pub async fn call_back(&self, window: u32, number: TicketNumber) -> Result<QueueChange, ClientError> {
        self.window_op(window, "call-back", Some(&ByNumber { number })).await
    }

    /// Someone served without a ticket: numbered and in service at once.
    pub async fn walk_in(&self, window: u32, body: &WalkInTicket) -> Result<QueueChange, ClientError> {
        self.window_op(window, "walk-in", Some(body)).await
    }

    /// 暂停: the window takes no new tickets until resumed.
    pub async fn pause_window(&self, window: u32, reason: &str) -> Result<QueueChange, ClientError> {
        self.window_op(window, "pause", Some(&PauseWindow { reason: reason.to_owned() })).await
    }

    pub async fn resume_window(&self, window: u32) -> Result<QueueChange, ClientError> {
        self.window_op(window, "resume", None::<&()>).await
    }

    async fn window_op<B: serde::Serialize>(
        &self,
        window: u32,
        op: &str,
        body: Option<&B>,
    ) -> Result<QueueChange, ClientError> {
        self.call(Method::POST, &paths::window_op(window, op), body).await
    }

    /// Follows the live queue in a background task until the receiver is dropped: a snapshot
    /// first (unless `since` is already the current revision), then every change. When the
    /// connection drops it reconnects with the last revision it saw, backing off with jitter, and
    /// the server sends a fresh snapshot if anything was missed. It stops for good (sending
    /// [`QueueFeed::Stopped`]) only when the server refuses the session or is incompatible.
    pub fn follow_queue(&self, since: Option<u64>) -> mpsc::Receiver<QueueFeed> {
        let (tx, rx) = mpsc::channel(64);
        let client = self.clone();
        tokio::spawn(async move { client.follow(since, tx).await });
        rx
    }

    async fn follow(self, mut since: Option<u64>, tx: mpsc::Sender<QueueFeed>) {
        let http = match reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("bianmin/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(http) => http,
            Err(e) => {
                let _ = tx.send(QueueFeed::Stopped(ClientError::BadUrl(e.to_string()))).await;
                return;
            }
        };
        let mut failures = 0;
        loop {
            let started = Instant::now();
            let error = match self.follow_once(&http, &mut since, &tx).await {
                Ok(()) => return,
                Err(e) => e,
            };
            if is_final(&error) {
                tracing::warn!(error = %error, "queue feed stopped");
                let _ = tx.send(QueueFeed::Stopped(error)).await;
                return;
            }
            tracing::info!(error = %error, "queue feed lost; reconnecting");
            if tx.send(QueueFeed::Lost(error)).await.is_err() {
                return;
            }
            // A connection that was healthy for a while starts the count again.
            failures = if started.elapsed() > HEALTHY { 1 } else { failures + 1 };
            tokio::select! {
                () = tokio::time::sleep(super::backoff::retry_delay(failures)) => {}
                () = tx.closed() => return,
            }
        }
    }

    /// One connection. `Ok` when the receiver is gone; `Err` when the connection ended.
    async fn follow_once(
        &self,
        http: &reqwest::Client,
        since: &mut Option<u64>,
        tx: &mpsc::Sender<QueueFeed>,
    ) -> Result<(), ClientError> {
        let url = self.base.join(paths::QUEUE_EVENTS).map_err(|e| ClientError::BadUrl(e.to_string()))?;
        let mut request = http.get(url).header(ACCEPT, "text/event-stream");
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(rev) = since {
            request = request.header("last-event-id", rev.to_string());
        }
        let mut response = tokio::time::timeout(CONNECT_TIMEOUT * 2, request.send())
            .await
            .map_err(|_| ClientError::Timeout)?
            .map_err(ClientError::from_reqwest)?;
        check_reply(paths::QUEUE_EVENTS, &mut response).await?;
        if tx.send(QueueFeed::Connected).await.is_err() {
            return Ok(());
        }
        let mut parser = SseParser::default();
        loop {
            let chunk = tokio::select! {
                chunk = tokio::time::timeout(IDLE_TIMEOUT, response.chunk()) => chunk,
                () = tx.closed() => return Ok(()),
            };
            let chunk = match chunk {
                Err(_) => return Err(ClientError::Timeout),
                Ok(Err(e)) => return Err(ClientError::from_reqwest(e)),
                Ok(Ok(None)) => return Err(ClientError::Unreachable("服务器关闭了实时连接".into())),
                Ok(Ok(Some(chunk))) => chunk,
            };
            for frame in parser.push(&chunk) {
                match parse_event(&frame) {
                    Ok(Some(event)) => {
                        // A nudge has no revision of its own: keep the queue's.
                        if !matches!(event, QueueEvent::RecordsChanged { .. }) {
                            *since = Some(event.rev());
                        }
                        if tx.send(QueueFeed::Event(event)).await.is_err() {
                            return Ok(());
                        }
                    }
                    Ok(None) => {}
                    // Skipping it would leave the terminal one change behind without knowing:
                    // reconnect from the last good revision, and the server sends a snapshot.
                    Err(e) => {
                        tracing::warn!(error = %e, "malformed queue event");
                        return Err(ClientError::Malformed(e));
                    }
                }
            }
        }
    }
}

/// What the queue feed reports.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueFeed {
    /// Connected (again); events follow.
    Connected,
    Event(QueueEvent),
    /// The connection dropped or could not be made; it is retried.
    Lost(ClientError),
    /// Given up: the session was refused or the server is incompatible. Sign in and follow anew.
    Stopped(ClientError),
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Three missed keep-alives (the server sends one every 15 s): the connection is dead.
const IDLE_TIMEOUT: Duration = Duration::from_secs(45);
/// A connection that lasted this long was healthy: the next retry starts quickly again.
const HEALTHY: Duration = Duration::from_secs(10);
/// The longest line the parser keeps; longer ones are dropped (a snapshot is far smaller).
const MAX_LINE: usize = 32 * 1024 * 1024;

fn is_final(e: &ClientError) -> bool {
    match e {
        ClientError::IncompatibleServer { .. } | ClientError::BadUrl(_) | ClientError::UntrustedCertificate(_) => true,
        ClientError::Problem(p) => matches!(p.status, 401 | 403),
        _ => false,
    }
}

/// The version and status checks of every reply, for the streaming request.
async fn check_reply(path: &str, response: &mut reqwest::Response) -> Result<(), ClientError> {
    let version = response.headers().get(VERSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    match version.as_deref().map(major_of) {
        Some(Some(API_MAJOR)) => {}
        Some(_) => return Err(ClientError::IncompatibleServer { server: version.unwrap_or_default() }),
        None => return Err(ClientError::Malformed(format!("{path}: 回复中没有 API 版本，可能不是 bianmin 服务器"))),
    }
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let is_problem = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_CONTENT_TYPE));
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ClientError::from_reqwest)? {
        body.extend_from_slice(&chunk);
        if body.len() > 64 * 1024 {
            break;
        }
    }
    match serde_json::from_slice::<Problem>(&body) {
        Ok(problem) if is_problem => Err(ClientError::Problem(Box::new(problem))),
        _ => Err(ClientError::Malformed(format!("{path}: HTTP {status}"))),
    }
}

/// One server-sent event as it arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseFrame {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

/// Splits a byte stream into server-sent events, leniently: LF or CRLF, comments, `field:value`
/// with or without the space. What it cannot read (a line that is not UTF-8, an unknown field, a
/// line beyond [`MAX_LINE`]) is logged and skipped.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    /// How far `buf` is known to hold no newline.
    scanned: usize,
    /// Dropping the rest of an over-long line.
    discarding: bool,
    frame: SseFrame,
    has_data: bool,
}

impl SseParser {
    /// Feeds a chunk; returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseFrame> {
        let mut out = Vec::new();
        self.buf.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(at) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
            let end = self.scanned + at;
            let mut line = &self.buf[start..end];
            if let Some(stripped) = line.strip_suffix(b"\r") {
                line = stripped;
            }
            if self.discarding {
                self.discarding = false;
            } else {
                let line = line.to_vec();
                self.line(&line, &mut out);
            }
            start = end + 1;
            self.scanned = start;
        }
        self.buf.drain(..start);
        self.scanned = self.buf.len();
        if self.buf.len() > MAX_LINE {
            tracing::warn!(bytes = self.buf.len(), "over-long line in the queue feed; skipped");
            self.buf.clear();
            self.scanned = 0;
            self.discarding = true;
        }
        out
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<SseFrame>) {
        if line.is_empty() {
            if self.has_data {
                out.push(std::mem::take(&mut self.frame));
            }
            self.frame = SseFrame::default();
            self.has_data = false;
            return;
        }
        let Ok(line) = std::str::from_utf8(line) else {
            tracing::warn!("queue feed line is not UTF-8; skipped");
            return;
        };
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => value.clone_into(&mut self.frame.event),
            "data" => {
                if self.has_data {
                    self.frame.data.push('\n');
                }
                self.frame.data.push_str(value);
                self.has_data = true;
            }
            "id" => self.frame.id = Some(value.to_owned()),
            "retry" => {}
            other => tracing::debug!(field = other, "unknown field in the queue feed; skipped"),
        }
    }
}

/// The queue event a frame carries: `None` for events this terminal does not know (from a newer
/// server), an error for a known event whose data does not parse.
pub fn parse_event(frame: &SseFrame) -> Result<Option<QueueEvent>, String> {
    match frame.event.as_str() {
        EVENT_SNAPSHOT => serde_json::from_str(&frame.data)
            .map(|s| Some(QueueEvent::Snapshot(s)))
            .map_err(|e| format!("snapshot: {e}")),
        EVENT_CHANGE => serde_json::from_str(&frame.data)
            .map(|c| Some(QueueEvent::Change(Box::new(c))))
            .map_err(|e| format!("change: {e}")),
        crate::api::queue::EVENT_RECORDS => serde_json::from_str::<serde_json::Value>(&frame.data)
            .ok()
            .and_then(|v| v.get("window")?.as_u64())
            .map(|w| Some(QueueEvent::RecordsChanged { window: w as u32 }))
            .ok_or_else(|| "records: no window".to_owned()),
        other => {
            tracing::debug!(event = other, "unknown queue event; skipped");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_chunks_and_line_endings() {
        let mut p = SseParser::default();
        assert!(p.push(b": keep-alive\n\nevent: change\r\nid: 7\r\nda").is_empty());
        let frames = p.push(b"ta: {\"a\":1}\r\ndata:{\"b\":2}\r\n\r\n");
        assert_eq!(
            frames,
            [SseFrame { event: "change".into(), id: Some("7".into()), data: "{\"a\":1}\n{\"b\":2}".into() }]
        );
        let frames = p.push(b"event: snapshot\ndata: x\n\nevent: other\ndata: y\n\n");
        assert_eq!(frames.iter().map(|f| f.event.as_str()).collect::<Vec<_>>(), ["snapshot", "other"]);
    }

    #[test]
    fn garbage_is_skipped_never_a_panic() {
        let mut p = SseParser::default();
        let frames = p.push(b"\xff\xfe\nnonsense\n:\n\nid\nretry: 10\ndata: ok\n\n\n\n");
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].data, "ok");
        assert_eq!(parse_event(&frames[0]), Ok(None), "no event name: not ours");
        let bad = SseFrame { event: "change".into(), id: None, data: "{not json".into() };
        assert!(parse_event(&bad).is_err());
        let unknown = SseFrame { event: "future".into(), id: None, data: "{}".into() };
        assert_eq!(parse_event(&unknown), Ok(None));
    }

    #[test]
    fn a_huge_chunk_by_byte_is_not_quadratic_and_still_parses() {
        let data = format!("event: change\ndata: {}\n\n", "x".repeat(200_000));
        let mut p = SseParser::default();
        let mut frames = Vec::new();
        for b in data.as_bytes() {
            frames.extend(p.push(std::slice::from_ref(b)));
        }
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].data.len(), 200_000);
    }
}
