//! A/B post duty and handovers over HTTP (clause 7.6.4). Handovers themselves are records of the
//! windows' logs (they are written offline too) and arrive by upload; what is here is the
//! synchronous side for a terminal that is online: setting the duty at once, the history, and
//! the admin's roster edit.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::access::{Admin, AtWindow};
use super::auth::SignedIn;
use super::problem::{ApiError, ApiJson};
use super::store::DutyError;
use super::{AppState, service};
use crate::api::SetHolders;
use crate::domain::center::Window;
use crate::domain::handover::{DutyState, Handover};

/// The most handovers one history request returns.
const MAX_HISTORY: usize = 500;

fn problem(e: DutyError) -> ApiError {
    match e {
        DutyError::Store(e) => e.into(),
        DutyError::UnknownWindow(n) => ApiError::not_found(format!("没有 {n} 号窗口")),
        DutyError::Forbidden(why) => ApiError { errors: vec![why.clone()], ..ApiError::forbidden(why.message) },
        DutyError::Refused(why) => {
            ApiError { errors: vec![why.clone()], ..ApiError::new(StatusCode::CONFLICT, "duty_refused", why.message) }
        }
        DutyError::Invalid(errors) => ApiError::invalid(errors),
    }
}

/// `PUT /api/v1/windows/{n}/duty`: A on duty, B covering (with A's reason and expected return)
/// or closed, checked against every window's duty; 409 `duty_refused` with the reason.
pub(super) async fn put_duty(
    State(state): State<AppState>,
    who: SignedIn,
    w: AtWindow,
    ApiJson(new): ApiJson<DutyState>,
) -> Result<Json<DutyState>, ApiError> {
    let state = state.for_caller(&who)?;
    let w = w.window;
    let duty = service::duty::set_duty(state.store.as_ref(), w.number, &new, &who.staff, state.clock.now())
        .await
        .map_err(problem)?;
    tracing::info!(window = w.number, duty = duty.label(), staff_id = %who.staff.id, "duty set");
    Ok(Json(duty))
}

#[derive(Debug, Deserialize)]
pub(super) struct HistoryQuery {
    limit: Option<usize>,
}

/// `GET /api/v1/windows/{n}/handovers[?limit=N]`: newest first, with acknowledgements.
pub(super) async fn history(
    State(state): State<AppState>,
    who: SignedIn,
    w: AtWindow,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Vec<Handover>>, ApiError> {
    let state = state.for_caller(&who)?;
    let limit = q.limit.unwrap_or(MAX_HISTORY).clamp(1, MAX_HISTORY);
    Ok(Json(state.store.handovers(w.number(), limit).await?))
}

/// `PUT /api/v1/windows/{n}/holders` (admin): who holds the window's A and B posts; audited with
/// the change (`roster_set`).
pub(super) async fn put_holders(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(window): Path<String>,
    ApiJson(body): ApiJson<SetHolders>,
) -> Result<Json<Window>, ApiError> {
    let state = state.for_caller(&who)?;
    let number: u32 = window.parse().map_err(|_| ApiError::not_found(format!("没有 {window} 号窗口")))?;
    let updated = service::duty::set_holders(
        state.store.as_ref(),
        number,
        &body.a_holder,
        &body.b_holder,
        &who.staff.id,
        state.clock.now(),
    )
    .await
    .map_err(problem)?;
    Ok(Json(updated))
}
