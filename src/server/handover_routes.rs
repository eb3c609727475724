//! A/B post duty and handovers over HTTP (clause 7.6.4). Handovers themselves are records of the
//! windows' logs (they are written offline too) and arrive by upload; what is here is the
//! synchronous side for a terminal that is online: setting the duty at once, the history, and
//! the admin's roster edit.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use super::auth::SignedIn;
use super::problem::{ApiError, ApiJson};
use super::store::DutyError;
use crate::api::SetHolders;
use crate::domain::center::Window;
use crate::domain::handover::{DutyState, Handover};
use crate::domain::staff::Role;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/windows/{number}/duty", put(put_duty))
        .route("/api/v1/windows/{number}/handovers", get(history))
        .route("/api/v1/windows/{number}/holders", put(put_holders))
}

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

/// The window of the path, if the signed-in staff member holds its A or B post or is an admin.
async fn holder_of(state: &AppState, who: &SignedIn, window: &str) -> Result<Window, ApiError> {
    let missing = || ApiError::not_found(format!("没有 {window} 号窗口"));
    let number: u32 = window.parse().map_err(|_| missing())?;
    let windows = state.store.windows().await?;
    let w = windows.into_iter().find(|w| w.number == number).ok_or_else(missing)?;
    if who.staff.role == Role::Admin || w.post_of(&who.staff.id).is_some() {
        Ok(w)
    } else {
        Err(ApiError::forbidden(format!("你不是 {number} 号窗口的A岗或B岗")))
    }
}

/// `PUT /api/v1/windows/{n}/duty`: A on duty, B covering (with A's reason and expected return)
/// or closed, checked against every window's duty; 409 `duty_refused` with the reason.
async fn put_duty(
    State(state): State<AppState>,
    who: SignedIn,
    Path(window): Path<String>,
    ApiJson(new): ApiJson<DutyState>,
) -> Result<Json<DutyState>, ApiError> {
    let w = holder_of(&state, &who, &window).await?;
    let duty = state.store.set_duty(w.number, &new, &who.staff, state.clock.now()).await.map_err(problem)?;
    tracing::info!(window = w.number, duty = duty.label(), staff_id = %who.staff.id, "duty set");
    Ok(Json(duty))
}

#[derive(Debug, Deserialize)]
struct HistoryQuery {
    limit: Option<usize>,
}

/// `GET /api/v1/windows/{n}/handovers[?limit=N]`: newest first, with acknowledgements.
async fn history(
    State(state): State<AppState>,
    who: SignedIn,
    Path(window): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Vec<Handover>>, ApiError> {
    let w = holder_of(&state, &who, &window).await?;
    let limit = q.limit.unwrap_or(MAX_HISTORY).clamp(1, MAX_HISTORY);
    Ok(Json(state.store.handovers(w.number, limit).await?))
}

/// `PUT /api/v1/windows/{n}/holders` (admin): who holds the window's A and B posts.
async fn put_holders(
    State(state): State<AppState>,
    who: SignedIn,
    Path(window): Path<String>,
    ApiJson(body): ApiJson<SetHolders>,
) -> Result<Json<Window>, ApiError> {
    if who.staff.role != Role::Admin {
        return Err(ApiError::forbidden("只有管理员可以调整窗口A/B岗"));
    }
    let w = holder_of(&state, &who, &window).await?;
    let updated = state.store.set_holders(w.number, &body.a_holder, &body.b_holder).await.map_err(problem)?;
    Ok(Json(updated))
}
