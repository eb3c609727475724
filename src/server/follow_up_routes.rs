//! 差评整改 follow-ups over HTTP: the list, and adding a step. The actor comes from the session
//! (the 中心负责人, and an admin, act as the center's director; a clerk acts for the windows
//! whose A or B post they hold), the time from the server's clock; whether the step is allowed
//! is [`FollowUp::check_step`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use uuid::Uuid;

use super::AppState;
use super::auth::SignedIn;
use super::problem::{ApiError, ApiJson};
use crate::api::follow_up::{AddFollowUpStep, FollowUpRow};
use crate::domain::follow_up::{FollowUp, FollowUpActor, FollowUpStep};
use crate::domain::staff::Role;
use crate::domain::time::china_date;

/// The windows whose A or B post `staff_id` holds.
async fn held_windows(state: &AppState, staff_id: &str) -> Result<Vec<u32>, ApiError> {
    let windows = state.store.windows().await?;
    Ok(windows.iter().filter(|w| w.a_holder == staff_id || w.b_holder == staff_id).map(|w| w.number).collect())
}

/// Whether a clerk sees this follow-up: their window's, given to them, or about them.
fn concerns(f: &FollowUp, staff_id: &str, windows: &[u32]) -> bool {
    windows.contains(&f.window) || f.assignee == staff_id || f.staff == staff_id
}

/// Whether the session's account acts for the center (assigns and closes any follow-up).
fn is_director(role: Role) -> bool {
    matches!(role, Role::Director | Role::Admin)
}

/// `GET /api/v1/follow-ups`: the director (and an admin) sees all; a clerk those that concern them.
pub(super) async fn list(State(state): State<AppState>, who: SignedIn) -> Result<Json<Vec<FollowUpRow>>, ApiError> {
    let state = state.for_caller(&who)?;
    let today = china_date(state.clock.now());
    let all = state.store.follow_ups(None).await?;
    let mine: Vec<FollowUp> = if is_director(who.staff.role) {
        all
    } else {
        let windows = held_windows(&state, &who.staff.id).await?;
        all.into_iter().filter(|f| concerns(f, &who.staff.id, &windows)).collect()
    };
    Ok(Json(mine.into_iter().map(|f| FollowUpRow { state: f.state(today), follow_up: f }).collect()))
}

/// `POST /api/v1/follow-ups/{rating_id}/steps`: a step taken by the session's staff at the
/// server's time, if the domain allows it.
pub(super) async fn add_step(
    State(state): State<AppState>,
    who: SignedIn,
    Path(rating_id): Path<String>,
    ApiJson(body): ApiJson<AddFollowUpStep>,
) -> Result<Json<FollowUpRow>, ApiError> {
    let state = state.for_caller(&who)?;
    let now = state.clock.now();
    let today = china_date(now);
    let missing = || ApiError::not_found("没有这条差评的整改记录");
    let rating_id: Uuid = rating_id.parse().map_err(|_| missing())?;
    let mut follow_up = state.store.follow_up(rating_id).await?.ok_or_else(missing)?;
    let windows;
    let actor = if is_director(who.staff.role) {
        FollowUpActor::Director(&who.staff.id)
    } else {
        windows = held_windows(&state, &who.staff.id).await?;
        if !concerns(&follow_up, &who.staff.id, &windows) {
            // Not theirs to see: as if it did not exist.
            return Err(missing());
        }
        FollowUpActor::Clerk { id: &who.staff.id, windows: &windows }
    };
    if let Err(e) = follow_up.check_step(actor, &body.action, today) {
        tracing::info!(rating = %rating_id, by = %who.staff.id, field = %e.field, "follow-up step refused");
        // Who may take which step is the domain's answer; a clerk closing is forbidden, not
        // malformed.
        return Err(match e.field.as_str() {
            "by" | "kind" => ApiError { errors: vec![e.clone()], ..ApiError::forbidden(e.message) },
            _ => ApiError::invalid(vec![e]),
        });
    }
    let before = follow_up.steps.len();
    follow_up.record(FollowUpStep { at: now, by: who.staff.id.clone(), action: body.action });
    if !state.store.add_follow_up_step(&follow_up, before).await? {
        return Err(ApiError::new(StatusCode::CONFLICT, "conflict", "有人刚刚更新了这条整改记录，请刷新后再试"));
    }
    tracing::info!(rating = %rating_id, by = %who.staff.id, step = follow_up.steps.len(), "follow-up step recorded");
    Ok(Json(FollowUpRow { state: follow_up.state(today), follow_up }))
}
