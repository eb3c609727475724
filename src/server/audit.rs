//! The audit trail: who did what to which ticket, case, handover, account or window, when, and
//! from which window. Records uploaded from the windows are audited in the upload's transaction
//! (`store::accounts`); what the server does itself is audited here, after it is done: a failure
//! to write the line is logged, and the action stands. Every line's `at` is the server's clock;
//! a time the client claims is kept beside it (`claimed_at`). [`trail`] audits every refused
//! request and every read of applicants' personal data.

use std::sync::{Arc, OnceLock};

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use super::throttle::ClientAddress;
use crate::api::accounts::AuditEntry;
use crate::api::queue::QueueChange;

/// What an audit line is about.
pub struct Target<'a> {
    pub kind: &'a str,
    pub id: String,
}

impl<'a> Target<'a> {
    pub fn new(kind: &'a str, id: impl Into<String>) -> Self {
        Self { kind, id: id.into() }
    }
}

/// The audit line of a request at the server's time, by the session's staff.
fn request_entry(
    state: &AppState,
    staff_id: &str,
    window: Option<u32>,
    action: &str,
    target: Target<'_>,
    addr: Option<&ClientAddress>,
) -> AuditEntry {
    AuditEntry {
        id: 0,
        at: state.clock.now(),
        claimed_at: None,
        staff_id: staff_id.to_owned(),
        window,
        action: action.to_owned(),
        target_kind: target.kind.to_owned(),
        target_id: target.id,
        addr: addr.map(|a| a.0.clone()),
        count: 1,
    }
}

pub async fn record(
    state: &AppState,
    staff_id: &str,
    window: Option<u32>,
    action: &str,
    target: Target<'_>,
    addr: Option<&ClientAddress>,
) {
    let entry = request_entry(state, staff_id, window, action, target, addr);
    if let Err(e) = trail_of(state, staff_id).await.append_audit(&entry).await {
        tracing::error!(error = %e, action, "audit line not written");
    }
}

/// Audits an action of `who` on the center `state` is bound to (the one they act for): in the
/// caller's own trail, as [`record`] does; for a county admin on a county route
/// (`acting_for`), in the trail of the center acted on, so that center's trail shows who changed
/// its accounts.
pub async fn record_acting(state: &AppState, who: &super::auth::SignedIn, action: &str, target: Target<'_>) {
    if who.acting_for.is_none() {
        return record(state, &who.staff.id, None, action, target, None).await;
    }
    let entry = request_entry(state, &who.staff.id, None, action, target, None);
    if let Err(e) = state.store.append_audit(&entry).await {
        tracing::error!(error = %e, action, "audit line not written");
    }
}

/// Audits on the county's trail (whatever the caller's center): what a center's own trail must
/// not show, because that center's admin reads it (e.g. that an id they tried belongs to
/// another center).
pub async fn record_for_county(state: &AppState, staff_id: &str, action: &str, target: Target<'_>) {
    let entry = request_entry(state, staff_id, None, action, target, None);
    if let Err(e) = state.store.for_county().append_audit(&entry).await {
        tracing::error!(error = %e, action, "audit line not written");
    }
}

/// Audits a refusal, counted: one line per who (the session's staff, else the address), what
/// (`action` and `what`, e.g. the route), window and minute of the server's clock, with how many
/// times it happened. A flood of refused requests thus adds at most one line a minute for each
/// of these, and the first one's target and time stay on the line.
pub async fn record_refusal(
    state: &AppState,
    staff_id: &str,
    window: Option<u32>,
    action: &str,
    target: Target<'_>,
    addr: Option<&ClientAddress>,
) {
    let what = if target.kind == "request" { target.id.clone() } else { target.kind.to_owned() };
    let entry = request_entry(state, staff_id, window, action, target, addr);
    let bucket = format!(
        "{}|{action}|{staff_id}|{}|{what}|{}",
        entry.at.timestamp().div_euclid(60),
        entry.addr.as_deref().unwrap_or(""),
        window.map(|w| w.to_string()).unwrap_or_default()
    );
    if let Err(e) = trail_of(state, staff_id).await.count_audit(&entry, &bucket).await {
        tracing::error!(error = %e, action, "audit line not written");
    }
}

/// Whose trail a line of `staff_id` goes to: their center's, the county's for a county account,
/// and for anyone else (a request without a session, an unknown id) the database's only center
/// or, with several, the county's.
async fn trail_of(state: &AppState, staff_id: &str) -> std::sync::Arc<dyn crate::server::store::Store> {
    match state.store.staff_center(staff_id).await {
        Ok(Some(Some(center))) => state.store.for_center(&center),
        Ok(Some(None)) => state.store.for_county(),
        _ => state.store.clone(),
    }
}

/// The audit line of a queue change: `queue:<动作>` on the ticket (day/number), or on the window
/// for a pause or resume. Written in the change's own unit of work (`service::queue`).
pub fn queue_change_entry(change: &QueueChange) -> AuditEntry {
    let (target_kind, target_id) = match (&change.ticket, change.window) {
        (Some(t), _) => ("ticket", format!("{}/{}", t.day, t.number)),
        (None, Some(w)) => ("window", w.to_string()),
        (None, None) => ("queue", change.rev.to_string()),
    };
    AuditEntry {
        id: 0,
        at: change.at,
        claimed_at: None,
        staff_id: change.by.clone(),
        window: change.window,
        action: format!("queue:{}", change.action.label()),
        target_kind: target_kind.to_owned(),
        target_id,
        addr: None,
        count: 1,
    }
}

/// Who made a request, once the access check knows it from the session: put in every request by
/// [`trail`], filled in by `access`, read by [`trail`] after the reply.
#[derive(Debug, Clone, Default)]
pub struct Actor(Arc<OnceLock<(String, Option<String>)>>);

impl Actor {
    /// The session's staff member and their center (whose audit trail the request goes to).
    pub fn set(&self, staff_id: &str, center: Option<&str>) {
        let _ = self.0.set((staff_id.to_owned(), center.map(str::to_owned)));
    }
}

/// Staff id of a refused request whose session was not established.
pub const UNKNOWN_ACTOR: &str = "-";

/// The reads that show applicants' personal data: `(route, action)`.
const PERSONAL_READS: &[(&str, &str)] = &[
    ("/api/v1/windows/{number}/overview", "read:overview"),
    ("/api/v1/windows/{number}/handovers", "read:handovers"),
    ("/api/v1/records", "read:records"),
];

/// Whether a reply refuses the request (a 4xx other than "no such path or method").
fn is_refusal(status: StatusCode) -> bool {
    status.is_client_error() && status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED
}

/// Middleware around every route: audits each refused request (`refused:<status>`, by the
/// session's staff if it was valid, with the route and client address) and each successful read
/// of applicants' personal data (`read:<what>`, with the window and the log read). Written after
/// the reply is made; a failure to write is logged.
pub async fn trail(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let actor = Actor::default();
    parts.extensions.insert(actor.clone());
    let Ok(addr) = ClientAddress::from_request_parts(&mut parts, &state).await;
    let method = parts.method.clone();
    let route = parts.extensions.get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let path = parts.uri.path().to_owned();
    let stream = parts.uri.query().and_then(|q| {
        url_query(q, "stream").map(|s| s.replace("%2F", "/").replace("%2f", "/")).filter(|s| s.len() <= 64)
    });
    let response = next.run(Request::from_parts(parts, body)).await;
    let status = response.status();
    let (staff_id, center) = actor.0.get().cloned().unzip();
    // The caller's center's trail; a request without a session goes to the database's only
    // center (a county database has none to guess: the line is not written, and that is logged).
    let state = match center.flatten() {
        Some(center) => state.for_center(&center),
        None => state,
    };
    let route_or_path = route.clone().unwrap_or_else(|| super::problem::redact_path(&path).chars().take(128).collect());
    if is_refusal(status) {
        let window = window_of(route.as_deref(), &path, stream.as_deref());
        let target = Target::new("request", format!("{method} {route_or_path}"));
        let who = staff_id.as_deref().unwrap_or(UNKNOWN_ACTOR);
        record_refusal(&state, who, window, &format!("refused:{}", status.as_u16()), target, Some(&addr)).await;
    } else if status.is_success()
        && method == Method::GET
        && let Some(who) = staff_id.as_deref()
        && let Some((_, action)) = PERSONAL_READS.iter().find(|(r, _)| Some(*r) == route.as_deref())
    {
        let window = window_of(route.as_deref(), &path, stream.as_deref());
        let target = match &stream {
            Some(stream) if route.as_deref() == Some("/api/v1/records") => Target::new("stream", stream.clone()),
            _ => Target::new("window", window.map(|w| w.to_string()).unwrap_or_default()),
        };
        record(&state, who, window, action, target, Some(&addr)).await;
    }
    response
}

/// The window a request names: `/api/v1/windows/{number}/...`, or the window of its log stream.
fn window_of(route: Option<&str>, path: &str, stream: Option<&str>) -> Option<u32> {
    if route.is_some_and(|r| r.starts_with("/api/v1/windows/{number}")) {
        return path.split('/').nth(4).and_then(|n| n.parse().ok());
    }
    stream.and_then(crate::domain::record::stream_window)
}

fn url_query<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.split('&').find_map(|pair| pair.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
}
