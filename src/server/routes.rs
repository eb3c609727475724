//! The HTTP handlers. Each protected handler takes [`SignedIn`]; role checks sit at the top of the
//! handler where they can be read next to what they protect.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::AppState;
use super::auth::{SignedIn, new_token, token_hash, verify_password};
use super::problem::{ApiError, ApiJson};
use crate::api::{
    API_VERSION, CenterInfo, GuideChanges, Health, Me, PostAssignment, SessionGranted, SignIn, WindowOverview,
};
use crate::domain::Invalid;
use crate::domain::center::Post;
use crate::domain::guide::ServiceGuide;
use crate::domain::staff::Role;
use crate::domain::time::china_date;

pub async fn health() -> Json<Health> {
    Json(Health { status: "ok".into(), api_version: API_VERSION.into() })
}

const MAX_CREDENTIAL_LEN: usize = 128;

pub async fn sign_in(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<Json<SessionGranted>, ApiError> {
    let mut errors = Vec::new();
    if body.staff_id.trim().is_empty() || body.staff_id.len() > MAX_CREDENTIAL_LEN {
        errors.push(Invalid { field: "staff_id".into(), message: "请输入工号".into() });
    }
    if body.password.is_empty() || body.password.len() > MAX_CREDENTIAL_LEN {
        errors.push(Invalid { field: "password".into(), message: "请输入密码".into() });
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let credentials = state.store.staff_credentials(body.staff_id.trim()).await?;
    let stored_hash = credentials.as_ref().map(|c| c.password_hash.clone());
    let password = body.password;
    // Argon2 is deliberately slow: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, stored_hash.as_deref()))
        .await
        .map_err(|_| ApiError::internal())?;
    let Some(credentials) = credentials.filter(|_| ok) else {
        tracing::info!(staff_id = %body.staff_id, "sign-in refused: wrong staff id or password");
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong_credentials", "工号或密码不正确"));
    };
    if !credentials.staff.active {
        return Err(ApiError::forbidden("账号已停用，请联系管理员"));
    }
    let token = new_token();
    let now = state.clock.now();
    let expires_at = now + state.session_ttl;
    state
        .store
        .create_session(&token_hash(&token), &credentials.staff.id, now.timestamp(), expires_at.timestamp())
        .await?;
    tracing::info!(staff_id = %credentials.staff.id, "signed in");
    let me = me_of(&state, credentials.staff).await?;
    Ok(Json(SessionGranted { token, expires_at, me }))
}

pub async fn sign_out(State(state): State<AppState>, who: SignedIn) -> Result<StatusCode, ApiError> {
    state.store.delete_session(&who.token_hash).await?;
    tracing::info!(staff_id = %who.staff.id, "signed out");
    Ok(StatusCode::NO_CONTENT)
}

async fn me_of(state: &AppState, staff: crate::domain::staff::Staff) -> Result<Me, ApiError> {
    let windows = state.store.windows().await?;
    let mut posts: Vec<PostAssignment> = windows
        .iter()
        .filter_map(|w| w.post_of(&staff.id).map(|post| PostAssignment { window: w.number, post }))
        .collect();
    posts.sort_by_key(|p| (p.post != Post::A, p.window));
    Ok(Me { staff, posts })
}

pub async fn me(State(state): State<AppState>, who: SignedIn) -> Result<Json<Me>, ApiError> {
    Ok(Json(me_of(&state, who.staff).await?))
}

pub async fn center(State(state): State<AppState>, _who: SignedIn) -> Result<Json<CenterInfo>, ApiError> {
    let center = state.store.center().await?.ok_or_else(|| ApiError::not_found("服务器尚未初始化中心信息"))?;
    Ok(Json(CenterInfo {
        center,
        windows: state.store.windows().await?,
        categories: state.store.categories().await?,
        staff: state.store.all_staff().await?,
    }))
}

#[derive(Debug, Deserialize)]
pub struct SinceQuery {
    #[serde(default)]
    since: i64,
}

pub async fn guides(
    State(state): State<AppState>,
    _who: SignedIn,
    Query(q): Query<SinceQuery>,
) -> Result<Json<GuideChanges>, ApiError> {
    let (seq, guides) = state.store.guides_since(q.since).await?;
    Ok(Json(GuideChanges { seq, guides }))
}

pub async fn guide(
    State(state): State<AppState>,
    _who: SignedIn,
    Path(code): Path<String>,
) -> Result<Json<ServiceGuide>, ApiError> {
    state.store.guide(&code).await?.map(Json).ok_or_else(|| ApiError::not_found(format!("没有编码为 {code} 的事项")))
}

pub async fn window_overview(
    State(state): State<AppState>,
    who: SignedIn,
    Path(number): Path<u32>,
) -> Result<Json<WindowOverview>, ApiError> {
    let windows = state.store.windows().await?;
    let window = windows
        .into_iter()
        .find(|w| w.number == number)
        .ok_or_else(|| ApiError::not_found(format!("没有 {number} 号窗口")))?;
    // Cases hold applicants' personal data: only the window's own post holders and admins.
    if who.staff.role != Role::Admin && window.post_of(&who.staff.id).is_none() {
        return Err(ApiError::forbidden(format!("你不是 {number} 号窗口的A岗或B岗")));
    }
    let staff = state.store.all_staff().await?;
    let find = |id: &str| {
        staff.iter().find(|s| s.id == id).cloned().ok_or_else(|| {
            tracing::error!(window = number, staff_id = id, "window holder missing from staff");
            ApiError::internal()
        })
    };
    let today = china_date(state.clock.now());
    Ok(Json(WindowOverview {
        a_holder: find(&window.a_holder)?,
        b_holder: find(&window.b_holder)?,
        duty: state.store.duty(number).await?,
        waiting: state.store.waiting_count(today, &window.categories).await?,
        current_ticket: state.store.ticket_at_window(number).await?,
        open_cases: state.store.open_cases(number).await?,
        catalogue_seq: state.store.catalogue_seq().await?,
        window,
    }))
}
