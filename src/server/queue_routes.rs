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
use super::service::day_queue::DayQueue;
use super::service::day_view::{DayTickets, DayView};
use super::service::queue::Queued;
use super::store::{BookingLookup, QueueCommand, QueueError};
use crate::api::queue::{
    BookAppointment, Booking, ByNumber, CancelBooking, CheckInBooking, EVENT_CHANGE, EVENT_SNAPSHOT, FreePlaces,
    FreeQuery, IssueTicket, NoteOnly, PauseWindow, QueueChange, QueueSnapshot, SlotPlans, TransferTicket, WalkInTicket,
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
/// How long a feed holds changes back while one before them is missing, before it reads the
/// whole queue instead. With several server processes a change made here often overtakes the
/// notification of one made just before in another process; it arrives within milliseconds, and
/// waiting for it spares every feed of this process a snapshot read.
const GAP_WAIT: Duration = Duration::from_millis(200);
/// Changes a feed holds back at most while one is missing.
const FEED_AHEAD: usize = 64;
/// How often an open feed checks that its session is still valid (signed out, expired, staff
/// deactivated: the feed ends, and the terminal's reconnect is refused).
const SESSION_RECHECK: Duration = Duration::from_secs(60);

/// What the feeds are told, serialised once for every feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Announced {
    /// A committed change.
    Change { rev: u64, json: String },
    /// A change another process committed, too large for its notification: the feed reads the
    /// queue if it is behind.
    Revision(u64),
    /// Not a queue change: a window's records changed (a handover, a case), so its terminals
    /// should sync now. Carries no revision and never opens a gap.
    Nudge { window: u32, json: String },
    /// Changes may have been missed (the listening connection dropped): every feed compares its
    /// revision with the store's and catches up if behind.
    CatchUp,
}

impl Announced {
    pub(super) fn nudge(window: u32) -> Self {
        Self::Nudge { window, json: serde_json::json!({ "window": window }).to_string() }
    }
}

/// The most commands one batch carries: a bound on the transaction, not a wait (a batch never
/// waits to fill; it takes what is queued when its turn comes).
const MAX_BATCH: usize = 256;

/// A command waiting for its batch, and where its answer goes.
struct Pending {
    queued: Queued,
    reply: oneshot::Sender<Result<QueueChange, QueueError>>,
}

/// The queue's live side, one per server process: for each center, its feed's channel, the
/// commands waiting for their batch and the turn batches take (centers never share a batch, a
/// turn or a feed). On PostgreSQL the channels are joined to every other process's (`feed_bus`).
pub struct QueueHub {
    /// Each center's live queue, by center id, made on first use.
    centers: std::sync::Mutex<std::collections::HashMap<Arc<str>, Arc<CenterQueue>>>,
    closing: watch::Sender<bool>,
    /// Set once on PostgreSQL: where what this process announces goes to the others.
    outbox: std::sync::OnceLock<super::feed_bus::Outbox>,
}

/// One center's live queue in this process.
struct CenterQueue {
    changes: broadcast::Sender<Arc<Announced>>,
    pending: std::sync::Mutex<Vec<Pending>>,
    /// The turn batches take, and the queue's day in memory that only the turn's holder touches.
    turn: Mutex<DayQueue>,
    /// The highest revision announced to this process's feeds (its own or another process's).
    seen: std::sync::atomic::AtomicU64,
    /// The day as the last batch committed it, for the routes that only read (see
    /// `service::day_view` for when it is trusted). Written only by the turn's holder.
    view: std::sync::RwLock<Option<Arc<DayView>>>,
    /// The center's name and categories as last read for a kiosk slip, with their configuration
    /// revision (see [`QueueHub::slip_config`]).
    slip_config: std::sync::Mutex<Option<Arc<super::store::SlipConfig>>>,
}

impl QueueHub {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            centers: std::sync::Mutex::default(),
            closing: watch::channel(false).0,
            outbox: std::sync::OnceLock::new(),
        })
    }

    /// The live queue of `center`, made on first use.
    fn of(&self, center: &str) -> Arc<CenterQueue> {
        let mut centers = self.centers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(queue) = centers.get(center) {
            return queue.clone();
        }
        let queue = Arc::new(CenterQueue {
            changes: broadcast::channel(FEED_BUFFER).0,
            pending: std::sync::Mutex::new(Vec::new()),
            turn: Mutex::new(Default::default()),
            seen: std::sync::atomic::AtomicU64::new(0),
            view: std::sync::RwLock::new(None),
            slip_config: std::sync::Mutex::new(None),
        });
        centers.insert(Arc::from(center), queue.clone());
        queue
    }

    /// The centers this process has a live queue for.
    fn known(&self) -> Vec<Arc<CenterQueue>> {
        self.centers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).values().cloned().collect()
    }

    pub(super) fn set_outbox(&self, outbox: super::feed_bus::Outbox) {
        if self.outbox.set(outbox).is_err() {
            tracing::error!("queue hub joined to the other processes twice");
        }
    }

    /// To `center`'s feeds in this process at once, and in the other processes when there are any.
    fn publish(&self, center: &str, announced: Announced) {
        if let Some(outbox) = self.outbox.get() {
            outbox.send(center, &announced);
        }
        self.publish_local(center, announced);
    }

    /// What another process committed (its notification comes after its commit), to `center`'s
    /// feeds in this process; a change that follows on this process's committed view moves the
    /// view on, so that its reads stay answered from memory.
    pub(super) fn publish_remote(&self, center: &str, announced: Announced) {
        let queue = self.of(center);
        if let Announced::Change { rev, json } = &announced {
            queue.follow(*rev, json);
        }
        queue.publish(announced);
    }

    /// To `center`'s feeds in this process only. Nobody listening is fine.
    pub(super) fn publish_local(&self, center: &str, announced: Announced) {
        self.of(center).publish(announced);
    }

    /// To the feeds of every center of this process (after a listening connection dropped).
    pub(super) fn publish_everywhere(&self, announced: &Announced) {
        for queue in self.known() {
            queue.publish(announced.clone());
        }
    }

    /// The highest revision `center`'s feeds in this process were told of.
    pub(super) fn seen_revision(&self, center: &str) -> u64 {
        self.of(center).seen.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(super) fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Tells every feed of `center` that `window`'s records changed, so its terminals sync at
    /// once instead of at their next interval: how B learns of A's handover within a second,
    /// whichever server process each terminal is connected to.
    pub fn nudge(&self, center: &str, window: u32) {
        self.publish(center, Announced::nudge(window));
    }

    /// The committed view of `center`'s `day` when it is provably the store's state at some
    /// instant of this call (its revision is at least the store's, read before it was taken; see
    /// `service::day_view`), else `None`: read the store.
    pub(super) async fn committed_view(
        &self,
        store: &dyn super::store::Store,
        center: &str,
        day: chrono::NaiveDate,
    ) -> Result<Option<Arc<DayView>>, super::store::StoreError> {
        let rev = store.queue_revision().await?;
        let Some(view) = self.of(center).current_view().filter(|v| v.day() == day) else { return Ok(None) };
        Ok((view.rev() >= rev).then_some(view))
    }

    /// The view this process published of `center`'s `day` at revision `rev` or later, if it is
    /// still the one out (none newer withdrew it). A view is published only after its batch's
    /// commit, so it is the store's committed state at an instant after the command of revision
    /// `rev` was committed: what that command's own caller may be answered from, with no read.
    pub(super) fn published_since(&self, center: &str, day: chrono::NaiveDate, rev: u64) -> Option<Arc<DayView>> {
        self.of(center).current_view().filter(|v| v.day() == day && v.rev() >= rev)
    }

    /// `center`'s name and categories at configuration revision `at` (a view's, see
    /// [`DayView::config_rev`]): those kept when they were read at that revision, which names
    /// exactly (every write of them bumps it); else, or without one, read from the store (the
    /// current ones) and kept.
    pub(super) async fn slip_config(
        &self,
        store: &dyn super::store::Store,
        center: &str,
        at: Option<u64>,
    ) -> Result<Arc<super::store::SlipConfig>, super::store::StoreError> {
        let queue = self.of(center);
        let kept = queue.slip_config.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        if let Some(kept) = kept.filter(|k| Some(k.config_rev) == at) {
            return Ok(kept);
        }
        let read = Arc::new(store.slip_config().await?);
        let mut slot = queue.slip_config.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.as_ref().is_none_or(|k| k.config_rev <= read.config_rev) {
            *slot = Some(read.clone());
        }
        Ok(read)
    }

    /// Ends every open feed, so that a graceful shutdown does not wait for them forever. The
    /// terminals reconnect and catch up.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}

impl CenterQueue {
    fn current_view(&self) -> Option<Arc<DayView>> {
        self.view.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// After a batch, by the turn's holder: the view of what it committed. The view before it
    /// with the batch's changes when they follow on without a gap and end where the memory
    /// stands; else afresh from the memory; none when the memory was forgotten (a batch that
    /// failed: nothing newer than the store is ever shown).
    fn publish_view(&self, memory: &DayQueue, results: &[Result<QueueChange, QueueError>]) {
        let next = memory.held().and_then(|(day, rev)| {
            let kept = self.current_view().filter(|v| v.day() == day).and_then(|mut view| {
                let v = Arc::make_mut(&mut view);
                let followed = results.iter().filter_map(|r| r.as_ref().ok()).all(|change| v.apply(change));
                (followed && v.rev() == rev).then_some(view)
            });
            let mut view = kept.or_else(|| {
                let tickets = memory.tickets_at(day, rev)?;
                Some(Arc::new(DayView::new(day, rev, tickets, memory.pauses_at(day, rev)?)))
            })?;
            // The windows the batch's unit had up to its commit: those at the view's revision.
            Arc::make_mut(&mut view).set_config(memory.checked_config_rev(), memory.checked_windows());
            Some(view)
        });
        let mut slot = self.view.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Never back: a view another process's change moved further on meanwhile stays.
        let further = slot.as_ref().zip(next.as_ref()).is_some_and(|(s, n)| s.day() == n.day() && s.rev() > n.rev());
        if !further {
            *slot = next;
        }
    }

    /// Applies another process's committed change `json` at `rev` to the view, if it is the next.
    fn follow(&self, rev: u64, json: &str) {
        if self.current_view().is_none_or(|v| v.rev() + 1 != rev) {
            return;
        }
        let change = match serde_json::from_str::<QueueChange>(json) {
            Ok(change) => change,
            Err(e) => {
                tracing::warn!(error = %e, rev, "another process's queue change does not parse");
                return;
            }
        };
        let mut view = self.view.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(v) = view.as_mut()
            && v.rev() + 1 == rev
        {
            Arc::make_mut(v).apply(&change);
        }
    }

    fn publish(&self, announced: Announced) {
        if let Announced::Change { rev, .. } | Announced::Revision(rev) = &announced {
            self.seen.fetch_max(*rev, std::sync::atomic::Ordering::Relaxed);
        }
        let _ = self.changes.send(Arc::new(announced));
    }
}

/// The center whose queue `state`'s store is bound to (the caller's, see `AppState::for_caller`).
async fn center_of(state: &AppState) -> Result<Arc<str>, super::store::StoreError> {
    state.store.bound_center().await
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
    run_queued(state, Queued::new(command, who.staff.id.clone(), note)).await
}

/// Runs one command, as [`run_command`], with all it carries.
async fn run_queued(state: &AppState, queued: Queued) -> Result<QueueChange, QueueError> {
    let center = center_of(state).await.map_err(QueueError::Store)?;
    let (hub, queue) = (state.queue.clone(), state.queue.of(&center));
    let (reply, answer) = oneshot::channel();
    queue.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(Pending { queued, reply });
    // Every command queued is followed by one task taking the turn, and every turn taken runs at
    // least one queued command: none is left behind.
    let (store, clock) = (state.store.clone(), state.clock.clone());
    tokio::spawn(async move {
        let mut day = queue.turn.lock().await;
        let batch: Vec<Pending> = {
            let mut pending = queue.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let n = pending.len().min(MAX_BATCH);
            pending.drain(..n).collect()
        };
        if batch.is_empty() {
            // An earlier turn ran this task's command with its own batch.
            return;
        }
        let commands: Vec<Queued> = batch.iter().map(|p| p.queued.clone()).collect();
        let now = || clock.now();
        let results = super::service::queue::queue_batch(store.as_ref(), &commands, &now, &mut day).await;
        // Committed (or not at all): the readers' view first, so that a caller reading right
        // after its answer finds its change there.
        queue.publish_view(&day, &results);
        if results.len() != batch.len() {
            tracing::error!(commands = batch.len(), results = results.len(), "queue batch answered wrongly");
        }
        for (pending, result) in batch.into_iter().zip(results) {
            if let Ok(change) = &result {
                match serde_json::to_string(change) {
                    Ok(json) => hub.publish(&center, Announced::Change { rev: change.rev, json }),
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

pub(super) async fn issue(
    State(state): State<AppState>,
    who: SignedIn,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Reply {
    issue_with_slip(&state, &who, body, None).await
}

/// [`issue`], and with `status_token` the kiosk's slip token given to the new ticket in the
/// same unit of work (see [`Queued::status_token`]).
pub(super) async fn issue_with_slip(
    state: &AppState,
    who: &SignedIn,
    body: serde_json::Value,
    status_token: Option<String>,
) -> Reply {
    let state = state.for_caller(who)?;
    // Booking has one way in, the appointments route and its rules: a slot named here is refused
    // rather than ignored, so an old client learns why its booking did not happen.
    if let Some(field) = crate::api::queue::RETIRED_SLOT_FIELDS.iter().find(|f| body.get(**f).is_some()) {
        tracing::info!(field, by = %who.staff.id, "ticket request names a slot: booking goes through /api/v1/appointments");
        return Err(ApiError::invalid(vec![Invalid {
            field: (*field).into(),
            message: "取号不能预约时段；预约请通过预约功能（/api/v1/appointments）办理".into(),
        }]));
    }
    let body: IssueTicket = serde_json::from_value(body).map_err(|e| {
        tracing::info!(reason = %super::problem::redact(&e.to_string()), "rejected request body");
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", "请求内容的字段不正确")
    })?;
    let request = TicketRequest {
        category: body.category,
        priority: body.green.map_or(Priority::Normal, Priority::Green),
        guide_code: body.guide_code,
        note: body.note,
        slot: None,
    };
    let queued = Queued { status_token, ..Queued::new(QueueCommand::Issue(request), who.staff.id.clone(), None) };
    Ok(Json(run_queued(&state, queued).await.map_err(problem)?))
}

pub(super) async fn check_in(
    State(state): State<AppState>,
    who: SignedIn,
    Path(number): Path<String>,
    body: Bytes,
) -> Reply {
    let state = state.for_caller(&who)?;
    let note = optional_body::<NoteOnly>(&body)?.note;
    run_and_announce(&state, &who, QueueCommand::CheckIn { number: ticket_number(&number)? }, note).await
}

pub(super) async fn return_to_line(
    State(state): State<AppState>,
    who: SignedIn,
    Path(number): Path<String>,
    body: Bytes,
) -> Reply {
    let state = state.for_caller(&who)?;
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
    let state = state.for_caller(&who)?;
    simple(state, who, at, body, |window| QueueCommand::CallNext { window }).await
}

pub(super) async fn recall(State(state): State<AppState>, who: SignedIn, at: AtWindow, body: Bytes) -> Reply {
    let state = state.for_caller(&who)?;
    simple(state, who, at, body, |window| QueueCommand::Recall { window }).await
}

pub(super) async fn no_show(State(state): State<AppState>, who: SignedIn, at: AtWindow, body: Bytes) -> Reply {
    let state = state.for_caller(&who)?;
    simple(state, who, at, body, |window| QueueCommand::NoShow { window }).await
}

pub(super) async fn start(State(state): State<AppState>, who: SignedIn, at: AtWindow, body: Bytes) -> Reply {
    let state = state.for_caller(&who)?;
    simple(state, who, at, body, |window| QueueCommand::Start { window }).await
}

pub(super) async fn finish(State(state): State<AppState>, who: SignedIn, at: AtWindow, body: Bytes) -> Reply {
    let state = state.for_caller(&who)?;
    simple(state, who, at, body, |window| QueueCommand::Finish { window }).await
}

pub(super) async fn park(State(state): State<AppState>, who: SignedIn, at: AtWindow, body: Bytes) -> Reply {
    let state = state.for_caller(&who)?;
    simple(state, who, at, body, |window| QueueCommand::Park { window }).await
}

pub(super) async fn resume(State(state): State<AppState>, who: SignedIn, at: AtWindow, body: Bytes) -> Reply {
    let state = state.for_caller(&who)?;
    simple(state, who, at, body, |window| QueueCommand::Resume { window }).await
}

pub(super) async fn call(
    State(state): State<AppState>,
    who: SignedIn,
    at: AtWindow,
    ApiJson(body): ApiJson<ByNumber>,
) -> Reply {
    let state = state.for_caller(&who)?;
    let window = at.number();
    run_and_announce(&state, &who, QueueCommand::Call { window, number: body.number }, None).await
}

pub(super) async fn call_back(
    State(state): State<AppState>,
    who: SignedIn,
    at: AtWindow,
    ApiJson(body): ApiJson<ByNumber>,
) -> Reply {
    let state = state.for_caller(&who)?;
    let window = at.number();
    run_and_announce(&state, &who, QueueCommand::CallBack { window, number: body.number }, None).await
}

pub(super) async fn transfer(
    State(state): State<AppState>,
    who: SignedIn,
    at: AtWindow,
    ApiJson(body): ApiJson<TransferTicket>,
) -> Reply {
    let state = state.for_caller(&who)?;
    let window = at.number();
    let command = QueueCommand::Transfer { window, category: body.category, to_window: body.window };
    run_and_announce(&state, &who, command, body.note).await
}

pub(super) async fn walk_in(State(state): State<AppState>, who: SignedIn, at: AtWindow, body: Bytes) -> Reply {
    let state = state.for_caller(&who)?;
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
    let state = state.for_caller(&who)?;
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
    who: SignedIn,
    Query(q): Query<StatsQuery>,
) -> Result<Json<crate::api::queue::QueueStats>, ApiError> {
    let state = state.for_caller(&who)?;
    let now = state.clock.now();
    let tickets = day_tickets(&state, china_date(now)).await?;
    Ok(Json(crate::api::queue::QueueStats {
        window: q.window.map(|w| tickets.stats(Some(w), now)),
        center: tickets.stats(None, now),
    }))
}

/// The committed view of `day` for a read, when it is trusted; `None`: read the store.
pub(super) async fn committed_view(
    state: &AppState,
    day: chrono::NaiveDate,
) -> Result<Option<Arc<DayView>>, super::store::StoreError> {
    let center = center_of(state).await?;
    state.queue.committed_view(state.store.as_ref(), &center, day).await
}

/// Every ticket of `day`: from the committed view when it is trusted, else from the store.
pub(super) async fn day_tickets(state: &AppState, day: chrono::NaiveDate) -> Result<DayTickets, ApiError> {
    Ok(match committed_view(state, day).await? {
        Some(view) => DayTickets::View(view),
        None => DayTickets::Read(state.store.queue_day_tickets(day).await?),
    })
}

/// The queue's snapshot of `day`: from the committed view when it is trusted (the windows read
/// from the store, as they are the admin's), else from the store.
pub(super) async fn queue_snapshot(
    state: &AppState,
    day: chrono::NaiveDate,
) -> Result<QueueSnapshot, super::store::StoreError> {
    if let Some(view) = committed_view(state, day).await? {
        let mut windows: Vec<u32> = state.store.windows().await?.iter().map(|w| w.number).collect();
        windows.sort_unstable();
        return Ok(view.snapshot(&windows));
    }
    state.store.queue_snapshot(day).await
}

pub(super) async fn snapshot(State(state): State<AppState>, who: SignedIn) -> Result<Json<QueueSnapshot>, ApiError> {
    let state = state.for_caller(&who)?;
    Ok(Json(queue_snapshot(&state, china_date(state.clock.now())).await?))
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
    let state = state.for_caller(&who)?;
    let since = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or(q.since);
    // Subscribed before the snapshot is read: whatever commits after it arrives on the channel.
    let changes = state.queue.of(&center_of(&state).await?).changes.subscribe();
    let closing = state.queue.closing.subscribe();
    // From the committed view when it is the store's state, as the other reads.
    let snapshot = queue_snapshot(&state, china_date(state.clock.now())).await?;
    let first = if since == Some(snapshot.rev) { None } else { snapshot_event(&snapshot) };
    let mut recheck = tokio::time::interval(SESSION_RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    recheck.reset();
    let feed = Feed {
        state,
        token_hash: who.token_hash,
        changes,
        closing,
        recheck,
        last: snapshot.rev,
        first,
        ahead: Default::default(),
        gap_since: None,
    };
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
    /// Changes that came before one still missing, by revision (see [`GAP_WAIT`]).
    ahead: std::collections::BTreeMap<u64, String>,
    /// Since when the feed waits for a missing change.
    gap_since: Option<tokio::time::Instant>,
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

    /// The next change in order, if it came ahead of the one before.
    fn next_ahead(&mut self) -> Option<Event> {
        while let Some(entry) = self.ahead.first_entry() {
            if *entry.key() > self.last + 1 {
                return None;
            }
            let (rev, json) = entry.remove_entry();
            if rev == self.last + 1 {
                self.last = rev;
                self.gap_since = None;
                return Some(Event::default().event(EVENT_CHANGE).id(rev.to_string()).data(json));
            }
        }
        None
    }

    async fn next(&mut self) -> Option<Event> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        loop {
            if let Some(event) = self.next_ahead() {
                return Some(event);
            }
            let gap = self.gap_since.map(|since| since + GAP_WAIT);
            let received = tokio::select! {
                received = self.changes.recv() => Some(received),
                _ = self.closing.wait_for(|closing| *closing) => return None,
                _ = self.recheck.tick() => None,
                () = tokio::time::sleep_until(gap.unwrap_or_else(tokio::time::Instant::now)), if gap.is_some() => {
                    Some(Ok(Arc::new(Announced::Revision(self.last + 1))))
                }
            };
            let Some(received) = received else {
                if self.session_valid().await {
                    continue;
                }
                return None;
            };
            let behind = match received {
                Ok(announced) => match &*announced {
                    Announced::Nudge { json, .. } => {
                        return Some(Event::default().event(crate::api::queue::EVENT_RECORDS).data(json));
                    }
                    Announced::Change { rev, .. } | Announced::Revision(rev) if *rev <= self.last => continue,
                    Announced::Change { rev, json } if *rev == self.last + 1 => {
                        self.last = *rev;
                        self.gap_since = None;
                        return Some(Event::default().event(EVENT_CHANGE).id(rev.to_string()).data(json));
                    }
                    // A revision further on: the ones between are on their way from another
                    // process (its notification overtaken by a change made here), or lost. Wait a
                    // little for them before reading the whole queue.
                    Announced::Change { rev, json } if self.ahead.len() < FEED_AHEAD => {
                        self.ahead.insert(*rev, json.clone());
                        self.gap_since.get_or_insert_with(tokio::time::Instant::now);
                        continue;
                    }
                    // Too far behind, or a change that did not fit a notification (or the wait
                    // for a missing one is over).
                    Announced::Change { .. } | Announced::Revision(_) => true,
                    // Perhaps nothing was missed: a snapshot only if the queue moved on.
                    Announced::CatchUp => false,
                },
                Err(broadcast::error::RecvError::Lagged(_)) => true,
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            let now = self.state.clock.now();
            match queue_snapshot(&self.state, china_date(now)).await {
                Ok(snapshot) if !behind && snapshot.rev == self.last => {}
                Ok(snapshot) => {
                    self.last = snapshot.rev;
                    self.gap_since = None;
                    // What the snapshot holds is dropped; what came after it follows in order.
                    self.ahead = self.ahead.split_off(&(snapshot.rev + 1));
                    if !self.ahead.is_empty() {
                        self.gap_since = Some(tokio::time::Instant::now());
                    }
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
    }
}

async fn is_working_day(state: &AppState, day: chrono::NaiveDate) -> Result<bool, ApiError> {
    super::service::queue::is_working_day(state.store.as_ref(), day).await.map_err(problem)
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
    let state = state.for_caller(&who)?;
    let phone = match body.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(raw) => Some(Phone::parse(raw).map_err(|e| ApiError::invalid(vec![e]))?),
        None => None,
    };
    appointment::check_booker(who.staff.role, phone.is_some()).map_err(|e| ApiError::invalid(vec![e]))?;
    if who.staff.role == crate::domain::staff::Role::OnlineChannel
        && !state.channel_bookings.admit(&who.staff.id, state.clock.now().timestamp())
    {
        tracing::warn!(channel = %who.staff.id, "online channel over its booking limit");
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_bookings",
            format!("预约过于频繁：网上预约渠道每小时最多预约 {} 个", appointment::CHANNEL_BOOKINGS_PER_HOUR),
        ));
    }
    let working_day = is_working_day(&state, china_date(body.slot_start)).await?;
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
    let state = state.for_caller(&who)?;
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

/// `POST /api/v1/appointments/cancel`: withdraws a booking not yet checked in. The desk names it
/// by its code; the online channel by code and the phone it was booked with, and only its own.
pub(super) async fn cancel_booking(
    State(state): State<AppState>,
    who: SignedIn,
    ApiJson(body): ApiJson<CancelBooking>,
) -> Reply {
    let state = state.for_caller(&who)?;
    let code = appointment::parse_code(&body.code).map_err(|e| ApiError::invalid(vec![e]))?;
    let channel = if appointment::is_channel(who.staff.role) {
        let raw = body.phone.as_deref().map(str::trim).filter(|p| !p.is_empty());
        let raw = raw.ok_or_else(|| {
            ApiError::invalid(vec![Invalid {
                field: "phone".into(),
                message: "取消网上预约须填写预约时的手机号码".into(),
            }])
        })?;
        Some(Phone::parse(raw).map_err(|e| ApiError::invalid(vec![e]))?)
    } else {
        None
    };
    run_and_announce(&state, &who, QueueCommand::CancelBooking { day: body.day, code, channel }, None).await
}

/// `GET /api/v1/appointments/free`: the slots of a day with the places left in each.
pub(super) async fn free_places(
    State(state): State<AppState>,
    who: SignedIn,
    Query(q): Query<FreeQuery>,
) -> Result<Json<FreePlaces>, ApiError> {
    let state = state.for_caller(&who)?;
    let now = state.clock.now();
    let day = q.day.unwrap_or_else(|| china_date(now));
    let working_day = is_working_day(&state, day).await?;
    let slots = super::service::queue::free_places(state.store.as_ref(), day, q.category, working_day, now)
        .await
        .map_err(problem)?;
    Ok(Json(FreePlaces { day, working_day, slots }))
}

/// `GET /api/v1/appointments/slots`: every category's slots.
pub(super) async fn slots(State(state): State<AppState>, who: SignedIn) -> Result<Json<SlotPlans>, ApiError> {
    let state = state.for_caller(&who)?;
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
    let state = state.for_caller(&who)?;
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

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::server::service::queue::queue_batch;
    use crate::server::store::{self, Store};

    async fn seeded() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = store::open(&crate::config::sqlite_url(&dir.path().join("s.db"))).await.unwrap();
        let mut seed = crate::server::seed::bundled_seed().unwrap();
        // Hashing every sample password is slow in a unit test; one hash serves them all.
        let one = crate::server::auth::hash_password("bianmin-demo");
        for s in &mut seed.staff {
            s.password_hash = one.clone();
        }
        store.seed(&seed).await.unwrap();
        (dir, store)
    }

    fn queued(command: QueueCommand) -> Queued {
        Queued::new(command, "d001", None)
    }

    fn issue(letter: char) -> Queued {
        queued(QueueCommand::Issue(TicketRequest {
            category: letter,
            priority: Priority::Normal,
            guide_code: None,
            note: None,
            slot: None,
        }))
    }

    /// The published view against the store: the same revision and the same snapshot.
    async fn same_as_store(queue: &CenterQueue, store: &dyn Store, now: DateTime<Utc>) {
        let view = queue.current_view().expect("a view after a committed batch");
        let windows: Vec<u32> =
            store.queue_snapshot(china_date(now)).await.unwrap().windows.iter().map(|w| w.window).collect();
        assert_eq!(view.rev(), store.queue_revision().await.unwrap());
        assert_eq!(view.snapshot(&windows), store.queue_snapshot(china_date(now)).await.unwrap());
        let mut stored = store.queue_day_tickets(china_date(now)).await.unwrap();
        let mut seen: Vec<_> = view.tickets().iter().map(|t| (**t).clone()).collect();
        stored.sort_by_key(|t| t.id);
        seen.sort_by_key(|t| t.id);
        assert_eq!(seen, stored);
    }

    #[tokio::test]
    async fn the_published_view_is_what_was_committed_and_a_failed_batch_withdraws_it() {
        let (_dir, store) = seeded().await;
        let now: DateTime<Utc> = "2026-03-02T01:00:00Z".parse().unwrap();
        let clock = || now;
        let queue = QueueHub::new().of("qingshi");
        let mut day = DayQueue::default();
        // A batch, with a command that fails (undone, its revision given back) among others.
        let batch = [issue('A'), issue('B'), queued(QueueCommand::CallNext { window: 99 }), issue('A')];
        let results = queue_batch(store.as_ref(), &batch, &clock, &mut day).await;
        assert!(results[2].is_err() && results.iter().filter(|r| r.is_ok()).count() == 3);
        queue.publish_view(&day, &results);
        same_as_store(&queue, store.as_ref(), now).await;
        // The next batch keeps the view by its changes.
        let batch = [queued(QueueCommand::CallNext { window: 1 }), queued(QueueCommand::Start { window: 1 })];
        let results = queue_batch(store.as_ref(), &batch, &clock, &mut day).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        queue.publish_view(&day, &results);
        same_as_store(&queue, store.as_ref(), now).await;
        // Another process commits (a memory of its own) and its notification moves the view on.
        let mut other = DayQueue::default();
        let results = queue_batch(store.as_ref(), &[issue('C')], &clock, &mut other).await;
        let change = results[0].as_ref().unwrap();
        let before = queue.current_view().unwrap();
        queue.follow(change.rev, &serde_json::to_string(change).unwrap());
        assert_eq!(queue.current_view().unwrap().rev(), change.rev);
        assert_eq!(before.rev() + 1, change.rev, "a published view never changes");
        same_as_store(&queue, store.as_ref(), now).await;
        // Its next notification is lost: this one's next batch sees the gap and the view is built
        // afresh from its memory, loaded again.
        let results = queue_batch(store.as_ref(), &[issue('D')], &clock, &mut other).await;
        assert!(results[0].is_ok());
        let results =
            queue_batch(store.as_ref(), &[queued(QueueCommand::Finish { window: 1 })], &clock, &mut day).await;
        assert!(results[0].is_ok());
        queue.publish_view(&day, &results);
        same_as_store(&queue, store.as_ref(), now).await;
        // A batch that failed forgets its memory: no view is published, and the one before is
        // withdrawn (it may not be newer than the store, nor is it kept as if it were current).
        day.forget();
        let failed: Vec<Result<QueueChange, QueueError>> = vec![Err(QueueError::QueueEmpty)];
        queue.publish_view(&day, &failed);
        assert!(queue.current_view().is_none());
    }
}
