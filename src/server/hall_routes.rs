//! The hall's devices over HTTP: what the evaluator facing a window shows, the rating it sends,
//! and the clerk's invitation to rate.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::AppState;
use super::access::AtWindow;
use super::auth::SignedIn;
use super::problem::{ApiError, ApiJson};
use super::queue_routes::{committed_view, day_tickets};
use super::service::day_view::DayView;
use crate::api::hall::{AskRating, Facing, FacingClerk, FacingStep, FacingTicket, RateTicket};
use crate::domain::Invalid;
use crate::domain::access::check_evaluator;
use crate::domain::center::Post;
use crate::domain::follow_up::FollowUp;
use crate::domain::hall::{asks_after_finish, step_label};
use crate::domain::rating::{Rating, TicketRating, late_rating_day, rating_of_ticket};
use crate::domain::staff::Staff;
use crate::domain::ticket::{Ticket, TicketStatus};
use crate::domain::time::china_date;

/// How long the clerk's invitation to rate stands.
const INVITATION: TimeDelta = TimeDelta::minutes(3);

/// The clerks' standing invitations to rate, per center and window (in memory: an invitation
/// lost with a restart only means the clerk presses `v` again).
#[derive(Default)]
pub struct Invitations(Mutex<HashMap<CenterWindow, (Uuid, DateTime<Utc>)>>);

/// A window of a center: (center id, window number).
type CenterWindow = (String, u32);

impl Invitations {
    fn set(&self, center: &str, window: u32, ticket: Uuid, at: DateTime<Utc>) {
        if let Ok(mut map) = self.0.lock() {
            map.insert((center.to_owned(), window), (ticket, at));
        }
    }

    fn get(&self, center: &str, window: u32, now: DateTime<Utc>) -> Option<Uuid> {
        let map = self.0.lock().ok()?;
        map.get(&(center.to_owned(), window)).filter(|(_, at)| now - *at <= INVITATION).map(|(t, _)| *t)
    }

    fn clear(&self, center: &str, window: u32, ticket: Uuid) {
        let key = (center.to_owned(), window);
        if let Ok(mut map) = self.0.lock()
            && map.get(&key).is_some_and(|(t, _)| *t == ticket)
        {
            map.remove(&key);
        }
    }
}

/// `GET /api/v1/windows/{n}/facing`.
pub(super) async fn facing(
    State(state): State<AppState>,
    who: SignedIn,
    at: AtWindow,
) -> Result<Json<Facing>, ApiError> {
    let state = state.for_caller(&who)?;
    let now = state.clock.now();
    let number = at.number();
    let clerk = match at.duty.acting_staff(&at.window) {
        Some(id) => {
            let post = at.duty.acting_post().unwrap_or(Post::A);
            Some(FacingClerk {
                id: id.to_owned(),
                name: state.store.staff_member(id).await?.map(|s| s.name).unwrap_or_default(),
                post: if post == Post::A { "A岗".into() } else { "B岗".into() },
                covering: post == Post::B,
            })
        }
        None => None,
    };
    let tickets = day_tickets(&state, china_date(now)).await?;
    let (current, finished) = tickets.latest_at(number);
    let shown = current.or(finished.filter(|t| asks_after_finish(t, now)));
    let step = match shown {
        Some(t) if t.status == TicketStatus::Done => None,
        Some(t) => {
            state.store.open_cases(number).await?.into_iter().find(|c| c.ticket == Some(t.number)).map(|c| FacingStep {
                label: step_label(c.status).to_owned(),
                service: c.guide_name.clone(),
                missing: c.checklist.missing().map(|i| i.name.clone()).collect(),
                promised: c.deadline.map(|d| d.date),
            })
        }
        None => None,
    };
    let step = match (shown, step) {
        (Some(t), None) if t.status == TicketStatus::Done => Some(FacingStep {
            label: step_label(crate::domain::case::CaseStatus::Closed).to_owned(),
            service: String::new(),
            missing: Vec::new(),
            promised: None,
        }),
        (_, step) => step,
    };
    // Asked: the ticket the clerk invited a rating for, else one finished a moment ago; never
    // one already rated.
    let invited =
        state.invitations.get(&state.store.bound_center().await?, number, now).and_then(|id| tickets.ticket(&id));
    let candidate = invited.or(finished.filter(|t| asks_after_finish(t, now)));
    let ask = match candidate {
        Some(t) if !state.store.ticket_rated(t.id).await? => Some(AskRating { ticket_id: t.id, number: t.number }),
        _ => None,
    };
    Ok(Json(Facing {
        window: number,
        window_name: at.window.name.clone(),
        clerk,
        ticket: shown.map(|t| FacingTicket { number: t.number, status: t.status }),
        step,
        ask,
    }))
}

/// `POST /api/v1/kiosk/tickets`: issues a ticket as `POST /api/v1/queue/tickets` does, and adds
/// what the slip tells the applicant: people ahead, the estimated wait, the windows.
pub(super) async fn kiosk_issue(
    State(state): State<AppState>,
    who: SignedIn,
    body: ApiJson<serde_json::Value>,
) -> Result<Json<crate::api::hall::Slip>, ApiError> {
    let state = state.for_caller(&who)?;
    // The slip's QR code opens the ticket's status page; only the slip holds its token, committed
    // with the ticket.
    let status_token = super::status_page::new_token();
    let Json(change) = super::queue_routes::issue_with_slip(&state, &who, body.0, Some(status_token.clone())).await?;
    let Some(ticket) = change.ticket.clone() else { return Err(ApiError::internal()) };
    // The view the issue's own batch published after its commit (or a later one): the store's
    // state at an instant after the issue, so its line and windows answer the slip without a
    // read. Another batch's failure may have withdrawn it meanwhile: then as any reader.
    let center = state.store.bound_center().await?;
    let (place, config_rev) = match state.queue.published_since(&center, ticket.day, change.rev) {
        Some(view) if ticket.day == china_date(state.clock.now()) => {
            (place_in_view(&state, &view, view.windows(), &ticket).await?, view.config_rev())
        }
        _ => (place_in_line(&state, &ticket).await?, None),
    };
    // The center's name and the category's as they were at the view's instant (kept while the
    // configuration revision says nothing changed), else as they are now.
    let config = state.queue.slip_config(state.store.as_ref(), &center, config_rev).await?;
    let status_token = Some(status_token);
    let slip = crate::domain::hall::SlipFacts {
        center: config.center_name.clone(),
        category_name: config
            .categories
            .iter()
            .find(|c| c.letter == ticket.category)
            .map(|c| c.name.clone())
            .unwrap_or_default(),
        ahead: place.ahead,
        estimated_wait_s: place.estimated_wait_s,
        windows: place.windows,
        ticket,
    };
    Ok(Json(crate::api::hall::Slip { change, slip, status_token }))
}

/// Where a waiting ticket stands: people before it in its line, the windows that call that line,
/// and the estimated wait from today's handling times. The slip and the status page say the same.
pub(super) struct PlaceInLine {
    pub ahead: u32,
    pub windows: Vec<u32>,
    pub estimated_wait_s: Option<u32>,
}

impl PlaceInLine {
    /// `ahead` people before the ticket and the `windows` calling its line, with the wait
    /// estimated from the handling times of today's `tickets`.
    fn estimated<T: std::borrow::Borrow<Ticket>>(
        ahead: u32,
        windows: Vec<u32>,
        tickets: &[T],
        now: DateTime<Utc>,
    ) -> Self {
        use crate::domain::queue_stats::{day_stats, estimated_wait};
        let stats = day_stats(tickets, None, now);
        let estimated_wait_s = estimated_wait(ahead, stats.average_handling_s, windows.len() as u32);
        Self { ahead, windows, estimated_wait_s }
    }
}

pub(super) async fn place_in_line(state: &AppState, ticket: &Ticket) -> Result<PlaceInLine, ApiError> {
    let now = state.clock.now();
    // From the committed view when it is trusted and holds both the ticket's day and today (a
    // ticket of today, as the slip's and a waiting one's are): no day read again.
    if ticket.day == china_date(now)
        && let Some(view) = committed_view(state, ticket.day).await?
    {
        // Not the view's windows: a view trusted by the queue's revision alone may be older than a
        // change of the windows, which does not move that revision (only the slip's own view, of
        // its batch, is known to be at the windows' current configuration).
        return place_in_view(state, &view, None, ticket).await;
    }
    let snapshot = state.store.queue_snapshot(ticket.day).await?;
    let line: Vec<_> = snapshot
        .tickets
        .iter()
        .filter(|t| {
            t.status == TicketStatus::Waiting
                && t.category == ticket.category
                && t.target_window == ticket.target_window
        })
        .collect();
    let ahead = line.iter().position(|t| t.id == ticket.id).unwrap_or(line.len()) as u32;
    let windows: Vec<u32> = windows_calling(ticket, &state.store.windows().await?);
    let tickets = state.store.queue_day_tickets(china_date(now)).await?;
    Ok(PlaceInLine::estimated(ahead, windows, &tickets, now))
}

/// [`place_in_line`] from `view`, a committed state of today holding `ticket`'s day, and the
/// center's `windows` when the caller knows them current, else read.
async fn place_in_view(
    state: &AppState,
    view: &DayView,
    windows: Option<&[crate::domain::center::Window]>,
    ticket: &Ticket,
) -> Result<PlaceInLine, ApiError> {
    let now = state.clock.now();
    let ahead = view.ahead_of(ticket);
    let windows = match windows {
        Some(all) => windows_calling(ticket, all),
        None => windows_calling(ticket, &state.store.windows().await?),
    };
    Ok(PlaceInLine::estimated(ahead, windows, view.tickets(), now))
}

/// The windows that call `ticket`'s line, of `all` (in their order): the one it was sent to, or
/// those taking its category.
fn windows_calling(ticket: &Ticket, all: &[crate::domain::center::Window]) -> Vec<u32> {
    match ticket.target_window {
        Some(window) => vec![window],
        None => all.iter().filter(|w| w.categories.contains(&ticket.category)).map(|w| w.number).collect(),
    }
}

fn refusal(status: StatusCode, code: &'static str, e: Invalid) -> ApiError {
    ApiError { errors: vec![e.clone()], ..ApiError::new(status, code, e.message) }
}

/// `POST /api/v1/windows/{n}/ratings`: the evaluator's rating of a ticket served at its window,
/// sent directly (the evaluator itself keeps its ratings in its device log and uploads them as
/// records); taken exactly as a rating record is, by [`record_rating`].
pub(super) async fn rate(
    State(state): State<AppState>,
    who: SignedIn,
    at: AtWindow,
    ApiJson(body): ApiJson<RateTicket>,
) -> Result<Json<Rating>, ApiError> {
    let state = state.for_caller(&who)?;
    let given = TicketRating {
        id: body.id,
        ticket_id: body.ticket_id,
        window: at.number(),
        level: body.level,
        reason: body.reason,
    };
    Ok(Json(record_rating(&state, &who.staff, &given).await?))
}

/// A rating as the server makes it of what the evaluator gave ([`prepare_rating`]).
pub(super) enum Prepared {
    /// Stored already under its id, of the same ticket (a resend): the stored rating.
    Stored(Rating),
    /// To be kept with the follow-up it opens; one rating per ticket is the store's to decide.
    New { rating: Rating, ticket: Box<Ticket>, follow_up: Option<FollowUp> },
}

/// Where every rating enters the server, whichever way it came (an uploaded `ticket_rated`
/// record, or the direct route): given by the evaluator of its window ([`check_evaluator`]),
/// made by the domain's [`rating_of_ticket`] (bound to the ticket served there today, the clerk
/// who served it rated, the server's time, a reason only for a bad level), authored by the
/// evaluator's session. A resend of a stored rating (same id, same ticket) is the stored one,
/// whatever day it is now: uploaded once. `recorded` is when a device log recorded the rating:
/// a ticket that is not today's may then be one of the day it was recorded, back to the previous
/// working day ([`late_rating_day`]), still stamped with the server's time. Keeping it is the
/// caller's: [`record_rating`] alone, an upload with its records.
pub(super) async fn prepare_rating(
    state: &AppState,
    evaluator: &Staff,
    given: &TicketRating,
    recorded: Option<DateTime<Utc>>,
) -> Result<Prepared, ApiError> {
    if let Some((ticket, stored)) = state.store.ticket_rating(given.id).await? {
        if ticket == given.ticket_id {
            return Ok(Prepared::Stored(stored));
        }
        let e = Invalid { field: "id".into(), message: "评价编号已被另一个号的评价使用".into() };
        return Err(refusal(StatusCode::CONFLICT, "rating_id_taken", e));
    }
    check_evaluator(evaluator, given.window)
        .map_err(|e| ApiError { errors: vec![e.clone()], ..ApiError::forbidden(e.message) })?;
    let now = state.clock.now();
    let today = china_date(now);
    let number = given.window;
    let (_, calendar) = state.store.calendar().await?.unwrap_or_default();
    let not_found = |day: &str| {
        let e = Invalid { field: "ticket_id".into(), message: format!("{day}没有这个号，不能评价") };
        refusal(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", e)
    };
    let todays = day_tickets(state, today).await?.ticket(&given.ticket_id).cloned();
    let (day, ticket) = match todays {
        Some(ticket) => (today, ticket),
        None => {
            let late = match recorded {
                Some(at) => late_rating_day(china_date(at), today, &calendar)
                    .map_err(|e| refusal(StatusCode::UNPROCESSABLE_ENTITY, "rating_too_old", e))?,
                None => None,
            };
            let Some(day) = late else { return Err(not_found("今天")) };
            let ticket = day_tickets(state, day).await?.ticket(&given.ticket_id).cloned();
            (day, ticket.ok_or_else(|| not_found(&day.format("%Y-%m-%d ").to_string()))?)
        }
    };
    // Ticket numbers start again each day: the rated ticket's case was opened on its ticket's day
    // (yesterday's A001 may still be open beside today's A001).
    let case_id = state
        .store
        .open_cases(number)
        .await?
        .into_iter()
        .find(|c| c.ticket == Some(ticket.number) && china_date(c.opened_at) == day)
        .map(|c| c.id);
    let rating = rating_of_ticket(given, &ticket, case_id, day, now)
        .map_err(|e| refusal(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", e))?;
    // A bad rating opens its follow-up (差评整改), due in working days from the rating's day.
    let follow_up = FollowUp::open(&rating, &calendar, state.follow_up_due_days);
    Ok(Prepared::New { rating, ticket: Box::new(ticket), follow_up })
}

/// The refusal of a second rating of `ticket`.
pub(super) fn already_rated(ticket: &Ticket) -> ApiError {
    let e = Invalid { field: "ticket_id".into(), message: format!("{} 已经评价过了", ticket.number) };
    refusal(StatusCode::CONFLICT, "already_rated", e)
}

/// What follows a rating kept: the clerk's invitation to rate that ticket is answered.
/// After the rating's commit: it is stored, so nothing here may turn the answer into an error
/// (the evaluator would resend what is already kept); a failure only leaves the invitation showing.
pub(super) async fn rating_kept(state: &AppState, rating: &Rating, ticket: &Ticket) {
    match state.store.bound_center().await {
        Ok(center) => state.invitations.clear(&center, rating.window, ticket.id),
        Err(e) => tracing::warn!(error = %e, window = rating.window, "rating stored; its invitation not cleared"),
    }
    tracing::info!(window = rating.window, ticket = %ticket.number, level = ?rating.level, "rating recorded");
}

/// A rating sent on its own (the direct route): [`prepare_rating`], kept at once.
pub(super) async fn record_rating(
    state: &AppState,
    evaluator: &Staff,
    given: &TicketRating,
) -> Result<Rating, ApiError> {
    let (rating, ticket, follow_up) = match prepare_rating(state, evaluator, given, None).await? {
        Prepared::Stored(stored) => return Ok(stored),
        Prepared::New { rating, ticket, follow_up } => (rating, ticket, follow_up),
    };
    if !state.store.rate_ticket(&rating, ticket.id, &evaluator.id, follow_up.as_ref()).await? {
        return Err(already_rated(&ticket));
    }
    rating_kept(state, &rating, &ticket).await;
    Ok(rating)
}

/// `POST /api/v1/windows/{n}/invite-rating`: the clerk asks the applicant to rate the ticket at
/// the window now (or the one just finished); the evaluator asks at its next look.
pub(super) async fn invite(
    State(state): State<AppState>,
    who: SignedIn,
    at: AtWindow,
) -> Result<Json<AskRating>, ApiError> {
    let state = state.for_caller(&who)?;
    let now = state.clock.now();
    let tickets = day_tickets(&state, china_date(now)).await?;
    let (current, finished) = tickets.latest_at(at.number());
    let ticket = current.filter(|t| t.status == TicketStatus::Serving).or(finished).ok_or_else(|| {
        ApiError::new(StatusCode::CONFLICT, "no_ticket_at_window", "本窗口今天还没有办理过的号，无法邀请评价")
    })?;
    if state.store.ticket_rated(ticket.id).await? {
        return Err(ApiError::new(StatusCode::CONFLICT, "already_rated", format!("{} 已经评价过了", ticket.number)));
    }
    state.invitations.set(&state.store.bound_center().await?, at.number(), ticket.id, now);
    Ok(Json(AskRating { ticket_id: ticket.id, number: ticket.number }))
}
