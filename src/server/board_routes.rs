//! The director's board and the presence it reads. A clerk's terminal at a window tells the
//! server every [`PRESENCE_INTERVAL_S`](crate::domain::attendance::PRESENCE_INTERVAL_S) seconds
//! that it is there; the server notes its own time. The board is
//! [`crate::domain::board::build`] over what the store holds now: nothing is computed here.
//!
//! Presence is kept in memory, not in the database: it only says who was heard from in the last
//! minute, which a restarted server learns again within one interval.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Datelike, Utc};

use super::AppState;
use super::access::AtWindow;
use super::auth::SignedIn;
use super::problem::ApiError;
use crate::api::follow_up::PresenceReply;
use crate::api::report::ReportQuery;
use crate::documents::report::render;
use crate::domain::board::{Board, BoardSources, build, window_now};
use crate::domain::time::{china_date, china_day_start};

/// When the server last heard from each clerk's terminal at each window, per center.
#[derive(Debug, Default)]
pub struct Presence {
    seen: Mutex<HashMap<(String, u32, String), DateTime<Utc>>>,
}

impl Presence {
    pub fn note(&self, center: &str, window: u32, staff: &str, at: DateTime<Utc>) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.insert((center.to_owned(), window, staff.to_owned()), at);
        }
    }

    /// Every (window, staff, last heard) known at `center`.
    pub fn all(&self, center: &str) -> Vec<(u32, String, DateTime<Utc>)> {
        self.seen
            .lock()
            .map(|seen| {
                seen.iter().filter(|((c, _, _), _)| c == center).map(|((_, w, s), at)| (*w, s.clone(), *at)).collect()
            })
            .unwrap_or_default()
    }
}

/// `POST /api/v1/windows/{number}/presence`: the session's clerk is at the window, now. The
/// reply is how the window stands (the domain's rule, as on the board), so that the terminals
/// of its post holders can flag 空岗.
pub(super) async fn presence(
    State(state): State<AppState>,
    who: SignedIn,
    at: AtWindow,
    // Read (and ignored) so that a client sending one gets its reply on a connection kept whole.
    _body: axum::body::Bytes,
) -> Result<Json<PresenceReply>, ApiError> {
    let state = state.for_caller(&who)?;
    let now = state.clock.now();
    state.presence.note(who.acting_center()?, at.number(), &who.staff.id, now);
    let store = state.store.as_ref();
    let calendar = calendar(store).await?;
    let duties = store.duties().await?;
    let snapshot = super::queue_routes::queue_snapshot(&state, china_date(now)).await?;
    let pauses = pauses(&snapshot);
    let presence = state.presence.all(&state.store.bound_center().await?);
    let all_windows = store.windows().await?;
    let sources = BoardSources {
        windows: &all_windows,
        duties: &duties,
        pauses: &pauses,
        presence: &presence,
        categories: &[],
        tickets: &snapshot.tickets,
        cases: &[],
        ratings: &[],
        follow_ups: &[],
        inquiries: &[],
        departments: &[],
    };
    let open_now = state.opening_hours.is_open(&calendar, now);
    let standing = window_now(&at.window, sources, open_now, now).standing;
    let empty_b_posts = all_windows
        .iter()
        .filter(|w| w.number != at.number() && w.b_holder == who.staff.id)
        .filter(|w| window_now(w, sources, open_now, now).standing.is_alarm())
        .map(|w| w.number)
        .collect();
    Ok(Json(PresenceReply { window: at.number(), standing, empty_b_posts }))
}

fn pauses(snapshot: &crate::api::queue::QueueSnapshot) -> Vec<(u32, String)> {
    snapshot.windows.iter().filter_map(|w| w.paused.as_ref().map(|p| (w.window, p.reason.clone()))).collect()
}

/// The center's working-day calendar (the bundled one when none is stored).
async fn calendar(store: &dyn crate::server::store::Store) -> Result<crate::domain::calendar::WorkCalendar, ApiError> {
    match store.calendar().await? {
        Some((_, calendar)) => Ok(calendar),
        None => crate::assets::bundled_calendar().map_err(|e| {
            tracing::error!(error = %e, "no working-day calendar");
            ApiError::internal()
        }),
    }
}

/// `GET /api/v1/board`: the center now, for the director (and an admin).
pub(super) async fn board(State(state): State<AppState>, who: SignedIn) -> Result<Json<Board>, ApiError> {
    let state = state.for_caller(&who)?;
    Ok(Json(load(&state).await?))
}

/// The board as of the server's time.
pub async fn load(state: &AppState) -> Result<Board, ApiError> {
    let now = state.clock.now();
    let today = china_date(now);
    let store = state.store.as_ref();
    let month_start = today.with_day(1).unwrap_or(today);
    let tomorrow = today.succ_opt().map_or(i64::MAX, china_day_start);
    let calendar = calendar(store).await?;
    let windows = store.windows().await?;
    let duties = store.duties().await?;
    // The queue's part from the committed view when it is trusted (see `service::day_view`).
    let (pauses, tickets) = match super::queue_routes::committed_view(state, today).await? {
        Some(view) => (
            view.pauses()
                .filter(|(w, _)| windows.iter().any(|x| x.number == *w))
                .map(|(w, p)| (w, p.reason.clone()))
                .collect(),
            view.tickets().iter().map(|t| (**t).clone()).collect(),
        ),
        None => (pauses(&store.queue_snapshot(today).await?), store.queue_day_tickets(today).await?),
    };
    let categories = store.categories().await?;
    // Only open cases can be on their last day or overdue: read those, window by window, not
    // every case the center ever had.
    let mut cases = Vec::new();
    for window in &windows {
        cases.extend(store.open_cases(window.number).await?);
    }
    let ratings = store.ratings_of_days(month_start, today).await?;
    let follow_ups = store.follow_ups(None).await?;
    let inquiries = store.inquiries_between(china_day_start(today), tomorrow).await?;
    // The departments of those cases' guides, one guide read per distinct code: the board
    // refreshes every second and must not decode the whole catalogue each time.
    let mut codes: Vec<&str> =
        cases.iter().filter(|c| c.status.deadline_runs()).map(|c| c.guide_code.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    let mut departments: Vec<(String, String)> = Vec::with_capacity(codes.len());
    for code in codes {
        if let Some(guide) = store.guide(code).await? {
            departments.push((guide.code, guide.department));
        }
    }
    let presence = state.presence.all(&state.store.bound_center().await?);
    let sources = BoardSources {
        windows: &windows,
        duties: &duties,
        pauses: &pauses,
        presence: &presence,
        categories: &categories,
        tickets: &tickets,
        cases: &cases,
        ratings: &ratings,
        follow_ups: &follow_ups,
        inquiries: &inquiries,
        departments: &departments,
    };
    Ok(build(sources, &state.opening_hours, &calendar, now))
}

/// `GET /api/v1/report?period=day|month|range&from=&to=&format=text|csv|html`: the supervision
/// report, for the director (and an admin) — the board's export. Built by the same
/// [`crate::server::service::report::load`] and [`crate::documents::report::render`] as
/// `bianmin report`; days left out are the server's today.
pub(super) async fn report(
    State(state): State<AppState>,
    who: SignedIn,
    query: Result<axum::extract::Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    let state = state.for_caller(&who)?;
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let bad = |title: String| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", title);
    let axum::extract::Query(query) = query.map_err(|e| {
        tracing::info!(error = %e.body_text(), "report query refused");
        bad("报表参数无效：period 须为 day、month 或 range，format 须为 text、csv 或 html，日期写成 YYYY-MM-DD".into())
    })?;
    let now = state.clock.now();
    let period = query.period(china_date(now)).map_err(bad)?;
    let loaded = crate::server::service::report::load(state.store.as_ref(), period, &state.opening_hours, now)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, from = %period.from, to = %period.to, "report not built");
            ApiError::internal()
        })?;
    let bytes = render(&loaded.report, &loaded.center, &loaded.names, query.format);
    let days =
        if period.from == period.to { period.from.to_string() } else { format!("{}_{}", period.from, period.to) };
    let file_name = format!("report-{days}.{}", query.format.extension());
    let headers = [
        (header::CONTENT_TYPE, query.format.content_type().to_owned()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")),
    ];
    Ok((headers, bytes).into_response())
}
