//! The county admin's calls on a chosen center (`/api/v1/centers/{center}/...`): clerks are
//! staffed by the county (clause 5.1.1.1), so the county admin manages any center's roster,
//! appointment slots and accounts (a device is an account: revoking its sessions is how a lost
//! one is cut off). The access check ([`super::access::Rule::County`]) has resolved the center
//! into the caller's [`Admin`] (its `acting_for`); each handler here is the center admin's own,
//! called with the path's other parameter, so the rule of each action stays in one place.

use axum::Json;
use axum::extract::{Path, Query, State};

use super::access::Admin;
use super::problem::{ApiError, ApiJson};
use super::{AppState, admin, handover_routes, queue_routes};
use crate::api::accounts::{AuditEntry, LockCleared, SessionsRevoked};
use crate::api::queue::SlotPlans;
use crate::domain::center::Window;

/// `PUT /api/v1/centers/{center}/windows/{number}/holders`.
pub(super) async fn put_holders(
    state: State<AppState>,
    who: Admin,
    Path((_center, number)): Path<(String, String)>,
    body: ApiJson<crate::api::SetHolders>,
) -> Result<Json<Window>, ApiError> {
    handover_routes::put_holders(state, who, Path(number), body).await
}

/// `PUT /api/v1/centers/{center}/appointments/slots/{letter}`.
pub(super) async fn put_slots(
    state: State<AppState>,
    who: Admin,
    Path((_center, letter)): Path<(String, String)>,
    body: ApiJson<SlotPlans>,
) -> Result<Json<SlotPlans>, ApiError> {
    queue_routes::put_slots(state, who, Path(letter), body).await
}

/// `DELETE /api/v1/centers/{center}/sessions/{staff_id}`.
pub(super) async fn revoke_sessions(
    state: State<AppState>,
    who: Admin,
    Path((_center, staff_id)): Path<(String, String)>,
) -> Result<Json<SessionsRevoked>, ApiError> {
    admin::revoke_sessions(state, who, Path(staff_id)).await
}

/// `DELETE /api/v1/centers/{center}/staff/{staff_id}/lock`.
pub(super) async fn unlock(
    state: State<AppState>,
    who: Admin,
    Path((_center, staff_id)): Path<(String, String)>,
) -> Result<Json<LockCleared>, ApiError> {
    admin::unlock_route(state, who, Path(staff_id)).await
}

/// `GET /api/v1/centers/{center}/audit`: the center's trail.
pub(super) async fn audit_trail(
    state: State<AppState>,
    who: Admin,
    query: Query<admin::AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    admin::audit_trail(state, who, query).await
}
