//! The queue over HTTP: issuing tickets, window operations, and the live feed every terminal of
//! the center follows (server-sent events).
//!
//! Every command is queued in the hub and runs in a task of its own, one batch at a time per
//! server process: whichever task takes the turn runs every command queued by then as one batch
//! in one transaction with one commit (group commit: a disk wait per batch, not per command; see
//! `service::queue::queue_batch`), announces the changes in revision order and answers each
//! caller only after the commit. The store's transaction makes the batch atomic (also against
//! other processes on the same database), the turn makes the changes go out in revision order,
//! and the task makes sure a committed change is announced even if the client hangs up meanwhile.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, broadcast, oneshot, watch};

use super::AppState;
use super::access::{Admin, AtWindow};
use super::auth::SignedIn;
use super::problem::{ApiError, ApiJson};
use super::service::queue::Queued;
use super::store::{BookingLookup, QueueCommand, QueueError};
use crate::api::queue::{
    BookAppointment, Booking, ByNumber, CancelBooking, CheckInBooking, EVENT_CHANGE, EVENT_SNAPSHOT, IssueTicket,
    NoteOnly, PauseWindow, QueueChange, QueueSnapshot, SlotPlans, TransferTicket, WalkInTicket,
};
use crate::domain::Invalid;
use crate::domain::applicant::Phone;
use crate::domain::appointment;
use crate::domain::queue::TicketRequest;
use crate::domain::ticket::{Priority, TicketNumber};
use crate::domain::time::china_date;

/// How often an idle feed sends a comment, so that proxies and the client see it is alive.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Changes a slow feed may fall behind before it catches up from a snapshot instead.
const FEED_BUFFER: usize = 1024;
/// How often an open feed checks that its session is still valid (signed out, expired, staff
/// deactivated: the feed ends, and the terminal's reconnect is refused).
const SESSION_RECHECK: Duration = Duration::from_secs(60);

/// A committed change, serialised once for every feed.
struct Announced {
    rev: u64,
    json: String,
    /// Not a queue change: a window's records changed (a handover, a case), so its terminals
    /// should sync now. Carries no revision and never opens a gap.
    nudge: bool,
}

/// The most commands one batch carries: a bound on the transaction, not a wait (a batch never
/// waits to fill; it takes what is queued when its turn comes).
const MAX_BATCH: usize = 256;

/// A command waiting for its batch, and where its answer goes.
struct Pending {
    queued: Queued,
    reply: oneshot::Sender<Result<QueueChange, QueueError>>,
}

/// The queue's live side, one per server process: the feed's channel, the commands waiting for
/// their batch, and the turn batches take.
pub struct QueueHub {
    changes: broadcast::Sender<Arc<Announced>>,
    pending: std::sync::Mutex<Vec<Pending>>,
    turn: Mutex<()>,
    closing: watch::Sender<bool>,
}

impl QueueHub {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            changes: broadcast::channel(FEED_BUFFER).0,
            pending: std::sync::Mutex::new(Vec::new()),
            turn: Mutex::new(()),
            closing: watch::channel(false).0,
        })
    }

    /// Tells every feed that `window`'s records changed, so its terminals sync at once instead of
    /// at their next interval: how B learns of A's handover within a second.
    pub fn nudge(&self, window: u32) {
        let json = serde_json::json!({ "window": window }).to_string();
        let _ = self.changes.send(Arc::new(Announced { rev: 0, json, nudge: true }));
    }

    /// Ends every open feed, so that a graceful shutdown does not wait for them forever. The
    /// terminals reconnect and catch up.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}

fn problem(e: QueueError) -> ApiError {
    let conflict = |code, title: String| ApiError::new(StatusCode::CONFLICT, code, title);
    match e {
        QueueError::Store(e) => e.into(),
        QueueError::Invalid(errors) => ApiError::invalid(errors),
        QueueError::Refused(why) => {
            ApiError { errors: vec![why.clone()], ..conflict("invalid_transition", why.message) }
        }
        QueueError::UnknownWindow(n) => ApiError::not_found(format!("没有 {n} 号窗口")),
        QueueError::TicketNotFound(n) => {
            ApiError::new(StatusCode::NOT_FOUND, "ticket_not_found", format!("今天没有 {n} 号"))
        }
        QueueError::QueueEmpty => conflict("queue_empty", "当前没有等候的号".into()),
        QueueError::WindowBusy(n) => {
            conflict("window_busy", format!("窗口正在办理另一个号（{n}），请先办结、转移或挂起"))
        }
        QueueError::WindowPaused(reason) => conflict("window_paused", format!("窗口已暂停（{reason}），请先恢复")),
        QueueError::NothingAtWindow(n) => conflict("no_ticket_at_window", format!("{n} 号窗口当前没有叫到的号")),
        QueueError::BookingNotFound => {
            ApiError::new(StatusCode::NOT_FOUND, "booking_not_found", "没有找到待签到的预约，请核对预约码或电话")
        }
        QueueError::CodeTaken => {
            tracing::error!("booking codes kept colliding");
            ApiError::internal()
        }
    }
}

/// Runs one command and announces it.
async fn run_and_announce(
    state: &AppState,
    who: &SignedIn,
    command: QueueCommand,
    note: Option<String>,
) -> Result<Json<QueueChange>, ApiError> {
    Ok(Json(run_command(state, who, command, note).await.map_err(problem)?))
}

/// Runs one command and announces it; the queue's own error, for a caller that handles some.
async fn run_command(
    state: &AppState,
    who: &SignedIn,
    command: QueueCommand,
    note: Option<String>,
) -> Result<QueueChange, QueueError> {
    let hub = state.queue.clone();
    let (reply, answer) = oneshot::channel();
    let queued = Queued { command, by: who.staff.id.clone(), note };
    hub.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(Pending { queued, reply });
    // Every command queued is followed by one task taking the turn, and every turn taken runs at
    // least one queued command: none is left behind.
    let (store, clock) = (state.store.clone(), state.clock.clone());
    tokio::spawn(async move {
        let _turn = hub.turn.lock().await;
        let batch: Vec<Pending> = {
            let mut pending = hub.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let n = pending.len().min(MAX_BATCH);
            pending.drain(..n).collect()
        };
        if batch.is_empty() {
            // An earlier turn ran this task's command with its own batch.
            return;
        }
        let commands: Vec<Queued> = batch.iter().map(|p| p.queued.clone()).collect();
        let now = || clock.now();
        let results = super::service::queue::queue_batch(store.as_ref(), &commands, &now).await;
        if results.len() != batch.len() {
            tracing::error!(commands = batch.len(), results = results.len(), "queue batch answered wrongly");
        }
        for (pending, result) in batch.into_iter().zip(results) {
            if let Ok(change) = &result {
                match serde_json::to_string(change) {
                    // Nobody listening is fine.
                    Ok(json) => drop(hub.changes.send(Arc::new(Announced { rev: change.rev, json, nudge: false }))),
                    Err(e) => tracing::error!(error = %e, "queue change does not serialise"),
                }
            }
            // The caller may have gone; the change stands and was announced.
            drop(pending.reply.send(result));
        }
    });
    let change = match answer.await {
        Ok(result) => result?,
        Err(_) => {
            tracing::error!("queue command task failed");
            return Err(QueueError::Store(super::store::StoreError::Database(sqlx::Error::WorkerCrashed)));
        }
    };
    tracing::info!(
        rev = change.rev,
        action = change.action.label(),
        ticket = %change.ticket.as_ref().map(|t| t.number.to_string()).unwrap_or_default(),
        window = change.window.unwrap_or_default(),
        "queue change"
    );
    Ok(change)
}

fn ticket_number(text: &str) -> Result<TicketNumber, ApiError> {
    text.parse().map_err(|e: Invalid| ApiError::invalid(vec![e]))
}

/// An optional JSON body: empty is the default.
fn optional_body<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        tracing::info!(reason = %super::problem::redact(&e.to_string()), "rejected request body");
        if e.is_syntax() || e.is_eof() {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", "请求内容不是有效的 JSON")
        } else {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", "请求内容的字段不正确")
        }
    })
}

type Reply = Result<Json<QueueChange>, ApiError>;

pub(super) async fn issue(State(state): State<AppState>, who: SignedIn, ApiJson(body): ApiJson<IssueTicket>) -> Reply {
    let slot = match (body.slot_start, body.slot_end) {
        (Some(start), Some(end)) => Some((start, end)),
        (None, None) => None,
        _ => {
            return Err(ApiError::invalid(vec![Invalid {
                field: "slot_end".into(),
                message: "预约须同时填写开始和结束时间".into(),
            }]));
        }
    };
    let request = TicketRequest {
        category: body.category,
        priority: body.green.map_or(Priority::Normal, Priority::Green),
        guide_code: body.guide_code,
        note: body.note,
        slot,
    };
    run_and_announce(&state, &who, QueueCommand::Issue(request), None).await
}

pub(super) async fn check_in(
    State(state): State<AppState>,
    who: SignedIn,
    Path(number): Path<String>,
    body: Bytes,
) -> Reply {
    let note = optional_body::<NoteOnly>(&body)?.note;
    run_and_announce(&state, &who, QueueCommand::CheckIn { number: ticket_number(&number)? }, note).await
}

pub(super) async fn return_to_line(
    State(state): State<AppState>,
    who: SignedIn,
    Path(number): Path<String>,
    body: Bytes,
) -> Reply {
    let note = optional_body::<NoteOnly>(&body)?.note;
    run_and_announce(&state, &who, QueueCommand::Return { number: ticket_number(&number)? }, note).await
}

/// The window operations that take at most a note.
async fn simple(state: AppState, who: SignedIn, at: AtWindow, body: Bytes, command: fn(u32) -> QueueCommand) -> Reply {
    let window = at.number();
    let note = optional_body::<NoteOnly>(&body)?.note;
    run_and_announce(&state, &who, command(window), note).await
}

pub(super) async fn call_next(State(state): State<AppState>, who: SignedIn, at: AtWindow, body: Bytes) -> Reply {
    simple(state, who, at, body, |window| QueueCommand::CallNext { window }).await
}

pub(super) async fn recall(State(state): State<AppState>, who: SignedIn, at: AtWindow, body: Bytes) -> Reply {
    simple(state, who, at, body, |window| QueueCommand::Recall { window }).await
}

pub(super) async fn no_show(State(state): State<AppState>, who: SignedIn, at: AtWindow, body: Bytes) -> Reply {
    simple(state, who, at, body, |window| QueueCommand::NoShow { window }).await
}

pub(super) async fn start(State(state): State<AppState>, who: SignedIn, at: AtWindow, body: Bytes) -> Reply {
    simple(state, who, at, body, |window| QueueCommand::Start { window }).await
}

pub(super) async fn finish(State(state): State<AppState>, who: SignedIn, at: AtWindow, body: Bytes) -> Reply {
    simple(state, who, at, body, |window| QueueCommand::Finish { window }).await
}

pub(super) async fn park(State(state): State<AppState>, who: SignedIn, at: AtWindow, body: Bytes) -> Reply {
    simple(state, who, at, body, |window| QueueCommand::Park { window }).await
}

pub(super) async fn resume(State(state): State<AppState>, who: SignedIn, at: AtWindow, body: Bytes) -> Reply {
    simple(state, who, at, body, |window| QueueCommand::Resume { window }).await
}

pub(super) async fn call(
    State(state): State<AppState>,
    who: SignedIn,
    at: AtWindow,
    ApiJson(body): ApiJson<ByNumber>,
) -> Reply {
    let window = at.number();
    run_and_announce(&state, &who, QueueCommand::Call { window, number: body.number }, None).await
}

pub(super) async fn call_back(
    State(state): State<AppState>,
    who: SignedIn,
    at: AtWindow,
    ApiJson(body): ApiJson<ByNumber>,
) -> Reply {
    let window = at.number();
    run_and_announce(&state, &who, QueueCommand::CallBack { window, number: body.number }, None).await
}

pub(super) async fn transfer(
    State(state): State<AppState>,
    who: SignedIn,
    at: AtWindow,
    ApiJson(body): ApiJson<TransferTicket>,
) -> Reply {
    let window = at.number();
    let command = QueueCommand::Transfer { window, category: body.category, to_window: body.window };
    run_and_announce(&state, &who, command, body.note).await
}

pub(super) async fn walk_in(State(state): State<AppState>, who: SignedIn, at: AtWindow, body: Bytes) -> Reply {
    let window = at.number();
    let body = optional_body::<WalkInTicket>(&body)?;
    run_and_announce(&state, &who, QueueCommand::WalkIn { window, category: body.category }, body.note).await
}

pub(super) async fn pause(
    State(state): State<AppState>,
    who: SignedIn,
    at: AtWindow,
    ApiJson(body): ApiJson<PauseWindow>,
) -> Reply {
    let window = at.number();
    run_and_announce(&state, &who, QueueCommand::Pause { window, reason: body.reason }, None).await
}

/// `GET /api/v1/queue`: today's queue. Every signed-in staff member may see it (it is what the
/// hall display shows).
#[derive(Debug, Deserialize)]
pub(super) struct StatsQuery {
    window: Option<u32>,
}

/// Today's figures for the center, and for one window when asked.
pub(super) async fn stats(
    State(state): State<AppState>,
    _who: SignedIn,
    Query(q): Query<StatsQuery>,
) -> Result<Json<crate::api::queue::QueueStats>, ApiError> {
    use crate::domain::queue_stats::day_stats;
    let now = state.clock.now();
    let tickets = state.store.queue_day_tickets(china_date(now)).await?;
    Ok(Json(crate::api::queue::QueueStats {
        window: q.window.map(|w| day_stats(&tickets, Some(w), now)),
        center: day_stats(&tickets, None, now),
    }))
}

pub(super) async fn snapshot(State(state): State<AppState>, _who: SignedIn) -> Result<Json<QueueSnapshot>, ApiError> {
    Ok(Json(state.store.queue_snapshot(china_date(state.clock.now())).await?))
}

#[derive(Debug, Deserialize)]
pub(super) struct EventsQuery {
    since: Option<u64>,
}

/// `GET /api/v1/queue/events`: a snapshot, then every change as it is committed. A client that
/// reconnects with `Last-Event-ID` (or `?since=REV`) equal to the current revision gets no
/// snapshot, only what follows.
pub(super) async fn events(
    State(state): State<AppState>,
    who: SignedIn,
    Query(q): Query<EventsQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let since = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or(q.since);
    // Subscribed before the snapshot is read: whatever commits after it arrives on the channel.
    let changes = state.queue.changes.subscribe();
    let closing = state.queue.closing.subscribe();
    let snapshot = state.store.queue_snapshot(china_date(state.clock.now())).await?;
    let first = if since == Some(snapshot.rev) { None } else { snapshot_event(&snapshot) };
    let mut recheck = tokio::time::interval(SESSION_RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    recheck.reset();
    let feed = Feed { state, token_hash: who.token_hash, changes, closing, recheck, last: snapshot.rev, first };
    let stream =
        futures_util::stream::unfold(feed, |mut feed| async move { feed.next().await.map(|event| (Ok(event), feed)) });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

fn snapshot_event(snapshot: &QueueSnapshot) -> Option<Event> {
    match Event::default().event(EVENT_SNAPSHOT).id(snapshot.rev.to_string()).json_data(snapshot) {
        Ok(event) => Some(event),
        Err(e) => {
            tracing::error!(error = %e, "queue snapshot does not serialise");
            None
        }
    }
}

/// One client's feed: the changes after `last`, in order and without gaps. A gap (this client
/// fell behind, or another server process changed the queue) is closed with a fresh snapshot.
struct Feed {
    state: AppState,
    token_hash: String,
    changes: broadcast::Receiver<Arc<Announced>>,
    closing: watch::Receiver<bool>,
    recheck: tokio::time::Interval,
    last: u64,
    first: Option<Event>,
}

impl Feed {
    async fn session_valid(&self) -> bool {
        match self.state.store.session(&self.token_hash).await {
            Ok(Some(session)) => session.staff.active && session.expires_at > self.state.clock.now().timestamp(),
            Ok(None) => false,
            // A database hiccup is no reason to drop every terminal: check again next time.
            Err(e) => {
                tracing::warn!(error = %e, "queue feed could not check its session");
                true
            }
        }
    }

    async fn next(&mut self) -> Option<Event> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        loop {
            let received = tokio::select! {
                received = self.changes.recv() => Some(received),
                _ = self.closing.wait_for(|closing| *closing) => return None,
                _ = self.recheck.tick() => None,
            };
            let Some(received) = received else {
                if self.session_valid().await {
                    continue;
                }
                return None;
            };
            match received {
                Ok(nudge) if nudge.nudge => {
                    return Some(Event::default().event(crate::api::queue::EVENT_RECORDS).data(&nudge.json));
                }
                Ok(change) if change.rev <= self.last => {}
                Ok(change) if change.rev == self.last + 1 => {
                    self.last = change.rev;
                    return Some(Event::default().event(EVENT_CHANGE).id(change.rev.to_string()).data(&change.json));
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    let now = self.state.clock.now();
                    match self.state.store.queue_snapshot(china_date(now)).await {
                        Ok(snapshot) => {
                            self.last = snapshot.rev;
                            if let Some(event) = snapshot_event(&snapshot) {
                                return Some(event);
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "queue feed could not catch up");
                            return None;
                        }
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// Draws for a free booking code before giving up (one in a million collides on a busy day).
const CODE_DRAWS: usize = 5;

/// `POST /api/v1/appointments`: one place in a configured slot. The code goes back to the booker
/// only; the feed announces the booked ticket without it.
pub(super) async fn book(
    State(state): State<AppState>,
    who: SignedIn,
    ApiJson(body): ApiJson<BookAppointment>,
) -> Result<Json<Booking>, ApiError> {
    let phone = match body.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(raw) => Some(Phone::parse(raw).map_err(|e| ApiError::invalid(vec![e]))?),
        None => None,
    };
    let day = china_date(body.slot_start);
    let working_day = match state.store.calendar().await? {
        Some((_, calendar)) => calendar.is_working_day(day),
        None => crate::assets::bundled_calendar()
            .map_err(|e| {
                tracing::error!(error = %e, "shipped calendar does not load");
                ApiError::internal()
            })?
            .is_working_day(day),
    };
    for _ in 0..CODE_DRAWS {
        let code = appointment::booking_code(argon2::password_hash::rand_core::RngCore::next_u32(
            &mut argon2::password_hash::rand_core::OsRng,
        ));
        let command = QueueCommand::Book {
            category: body.category,
            slot_start: body.slot_start,
            working_day,
            phone: phone.clone(),
            code: code.clone(),
        };
        match run_command(&state, &who, command, body.note.clone()).await {
            Ok(change) => return Ok(Json(Booking { code, change })),
            Err(QueueError::CodeTaken) => {}
            Err(e) => return Err(problem(e)),
        }
    }
    Err(problem(QueueError::CodeTaken))
}

/// `POST /api/v1/appointments/check-in`: 签到 by booking code or phone number, at the kiosk or
/// the desk. Too early is refused with the time to come back (the domain's rule).
pub(super) async fn check_in_booking(
    State(state): State<AppState>,
    who: SignedIn,
    ApiJson(body): ApiJson<CheckInBooking>,
) -> Reply {
    let filled = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let lookup = match (filled(&body.code), filled(&body.phone)) {
        (Some(code), _) => BookingLookup::Code(appointment::parse_code(&code).map_err(|e| ApiError::invalid(vec![e]))?),
        (None, Some(phone)) => BookingLookup::Phone(Phone::parse(&phone).map_err(|e| ApiError::invalid(vec![e]))?),
        (None, None) => {
            return Err(ApiError::invalid(vec![Invalid {
                field: "code".into(),
                message: "请输入预约码或预约时留的电话".into(),
            }]));
        }
    };
    run_and_announce(&state, &who, QueueCommand::CheckInBooking(lookup), None).await
}

/// `POST /api/v1/appointments/cancel`: the desk withdraws a booking not yet checked in.
pub(super) async fn cancel_booking(
    State(state): State<AppState>,
    who: SignedIn,
    ApiJson(body): ApiJson<CancelBooking>,
) -> Reply {
    let code = appointment::parse_code(&body.code).map_err(|e| ApiError::invalid(vec![e]))?;
    run_and_announce(&state, &who, QueueCommand::CancelBooking { day: body.day, code }, None).await
}

/// `GET /api/v1/appointments/slots`: every category's slots.
pub(super) async fn slots(State(state): State<AppState>, _who: SignedIn) -> Result<Json<SlotPlans>, ApiError> {
    let slots = super::service::queue::slot_plans(state.store.as_ref()).await.map_err(problem)?;
    Ok(Json(SlotPlans { slots }))
}

/// `PUT /api/v1/appointments/slots/{letter}`: an admin sets one category's slots.
pub(super) async fn put_slots(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(letter): Path<String>,
    ApiJson(body): ApiJson<SlotPlans>,
) -> Result<Json<SlotPlans>, ApiError> {
    let mut chars = letter.chars();
    let category = match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_uppercase() => c,
        _ => return Err(ApiError::not_found(format!("没有 {letter} 类排队类别"))),
    };
    let slots = super::service::queue::set_slot_plans(
        state.store.as_ref(),
        &who.staff.id,
        category,
        &body.slots,
        state.clock.now(),
    )
    .await
    .map_err(problem)?;
    tracing::info!(by = %who.staff.id, category = %category, count = body.slots.len(), "appointment slots set");
    Ok(Json(SlotPlans { slots }))
}
