//! The HTTP handlers. Each protected handler takes [`SignedIn`]; role checks sit at the top of the
//! handler where they can be read next to what they protect.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::AppState;
use super::access::{self, Admin, AtLog, AtWindow};
use super::audit::{self, Target};
use super::auth::{SignedIn, new_token, token_hash, verify_password_bounded};
use super::problem::{ApiError, ApiJson};
use super::throttle::{self, ClientAddress};
use crate::api::{
    API_VERSION, CalendarReply, CenterInfo, Health, MAX_DOWNLOAD_RECORDS, MAX_UPLOAD_RECORDS, Me, PostAssignment,
    RecordEnvelope, SessionGranted, SignIn, SyncStatus, UploadBatch, UploadReply, WindowOverview,
};
use crate::domain::Invalid;
use crate::domain::access::{
    CaseWindow, Uploader, WindowAct, check_acknowledger, check_case_search, check_case_transfer, check_case_window,
    check_record_identity,
};
use crate::domain::center::Post;
use crate::domain::guide::ServiceGuide;
use crate::domain::record::RecordBody;
use crate::domain::time::{china_date, china_day_start};
use crate::server::service::records::UploadedRating;
use crate::server::store::StoreError;

pub async fn health() -> Json<Health> {
    Json(Health { status: "ok".into(), api_version: API_VERSION.into() })
}

const MAX_CREDENTIAL_LEN: usize = 128;

pub async fn sign_in(
    State(state): State<AppState>,
    addr: ClientAddress,
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
    let staff_id = body.staff_id.trim();
    // Counted before the (slow) hash, so that any number of attempts at once meets the limit.
    let attempt = throttle::reserve(&state, staff_id, &addr).await?;
    let credentials = state.store.staff_credentials(staff_id).await?;
    let stored_hash = credentials.as_ref().map(|c| c.password_hash.clone());
    let ok =
        verify_password_bounded(body.password, stored_hash, state.hash_memory).await.ok_or_else(ApiError::internal)?;
    let Some(credentials) = credentials.filter(|_| ok) else {
        // What was typed as a staff id is logged only if it is one: it could be anything.
        let known = state.store.staff_credentials(staff_id).await?.map(|c| c.staff.id);
        tracing::info!(staff_id = known.as_deref().unwrap_or("(未知工号)"), addr = %addr.0, "sign-in refused: wrong staff id or password");
        if let Some(id) = &known {
            audit::record(&state, id, None, "sign_in_failed", Target::new("staff", id), Some(&addr)).await;
        }
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong_credentials", "工号或密码不正确"));
    };
    throttle::succeeded(&state, attempt, staff_id).await?;
    if !credentials.staff.active {
        return Err(ApiError::account_disabled());
    }
    let token = new_token();
    let now = state.clock.now();
    let expires_at = now + state.session_ttl;
    state
        .store
        .create_session(&token_hash(&token), &credentials.staff.id, now.timestamp(), expires_at.timestamp())
        .await?;
    tracing::info!(staff_id = %credentials.staff.id, "signed in");
    // The center the session acts for, as every later request of it will see it.
    let center = state.store.session(&token_hash(&token)).await?.and_then(|s| s.center);
    let state = center.as_deref().map_or_else(|| state.clone(), |center| state.for_center(center));
    let id = &credentials.staff.id;
    audit::record(&state, id, None, "sign_in", Target::new("staff", id), Some(&addr)).await;
    let me = me_of(&state, credentials.staff, center.as_deref()).await?;
    Ok(Json(SessionGranted { token, expires_at, me }))
}

pub async fn sign_out(State(state): State<AppState>, who: SignedIn) -> Result<StatusCode, ApiError> {
    state.store.delete_session(&who.token_hash).await?;
    tracing::info!(staff_id = %who.staff.id, "signed out");
    // A county account may sign out too: its line goes where a request without a center's does.
    let state = who.center.as_deref().map_or_else(|| state.clone(), |center| state.for_center(center));
    audit::record(&state, &who.staff.id, None, "sign_out", Target::new("staff", &who.staff.id), None).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The staff member and the posts they hold at their center's windows (none for the county).
async fn me_of(state: &AppState, staff: crate::domain::staff::Staff, center: Option<&str>) -> Result<Me, ApiError> {
    let Some(center) = center else { return Ok(Me { staff, posts: Vec::new() }) };
    let windows = state.for_center(center).store.windows().await?;
    let mut posts: Vec<PostAssignment> = windows
        .iter()
        .filter_map(|w| w.post_of(&staff.id).map(|post| PostAssignment { window: w.number, post }))
        .collect();
    posts.sort_by_key(|p| (p.post != Post::A, p.window));
    Ok(Me { staff, posts })
}

pub async fn me(State(state): State<AppState>, who: SignedIn) -> Result<Json<Me>, ApiError> {
    Ok(Json(me_of(&state, who.staff, who.center.as_deref()).await?))
}

pub async fn center(State(state): State<AppState>, who: SignedIn) -> Result<Json<CenterInfo>, ApiError> {
    let state = state.for_caller(&who)?;
    let center = state.store.center().await?.ok_or_else(|| ApiError::not_found("服务器尚未初始化中心信息"))?;
    Ok(Json(CenterInfo {
        center,
        windows: state.store.windows().await?,
        categories: state.store.categories().await?,
        staff: state.store.all_staff().await?,
    }))
}

/// `GET /api/v1/ratings/today`: how many ratings today (China time) and how many satisfied; no
/// names, no windows: what the hall display shows everyone.
pub async fn ratings_today(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<crate::domain::rating::Satisfaction>, ApiError> {
    let state = state.for_caller(&who)?;
    let today = crate::domain::time::china_date(state.clock.now());
    let (rated, bad) = state.store.rating_counts(today).await?;
    Ok(Json(crate::domain::rating::Satisfaction::from_counts(rated, bad)))
}

#[derive(Debug, Deserialize)]
pub struct GuidesQuery {
    #[serde(default)]
    since: i64,
    /// Guides per page; none: the whole rest of the catalogue (terminals before pages).
    limit: Option<u32>,
}

/// 503 with `Retry-After` for an old terminal's whole-catalogue ask whose reply is being built.
fn full_reply_not_ready() -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response =
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "catalogue_building", "服务器正在准备完整事项目录，请稍后重试")
            .into_response();
    response.headers_mut().insert(axum::http::header::RETRY_AFTER, super::guide_pages::FULL_REPLY_RETRY_AFTER.into());
    response
}

/// A page of the catalogue changes after `since` (see [`crate::api::GuidePage`]). The ETag is the
/// catalogue sequence: a terminal whose copy is current sends it as `If-None-Match` and gets an
/// empty 304. Pages are kept gzipped per catalogue revision ([`super::guide_pages`]) and sent as
/// they are kept to a client that takes gzip (the compression layer leaves a reply that already
/// has a `Content-Encoding` alone), unzipped for one that does not.
pub async fn guides(
    State(state): State<AppState>,
    who: SignedIn,
    Query(q): Query<GuidesQuery>,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;

    use super::guide_pages::{PageKey, accepts_gzip, gunzip, gunzip_stream, gzip_page};
    let current = state.store.catalogue_seq().await?;
    let etag = format!("\"{current}\"");
    let unchanged = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str());
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let limit = q.limit.map(|n| n.clamp(1, crate::api::MAX_GUIDE_PAGE));
        // The caller's center's overlay on the county catalogue: a center without one shares the
        // county's pages.
        let overlays = match &who.center {
            Some(center) => state.store.overlays(center).await?,
            None => Default::default(),
        };
        let view = if overlays.is_empty() { None } else { who.center.as_deref().map(std::sync::Arc::from) };
        let key = PageKey { revision: current, view, since: q.since, limit };
        // The whole rest of the county catalogue (a terminal from before pages): built in bounded
        // memory and kept apart from the pages. A center with an overlay has its reply built
        // below like a page (such terminals predate overlays too and ignore removals).
        let full = match (limit, &key.view) {
            (None, None) => match state.full_replies.get_within_wait(state.store.clone(), key.clone()).await? {
                Some(reply) => Some(reply),
                // Still being built (a cold ask at 100,000 guides on a loaded server): a clear
                // "come back" instead of the client's timeout; the build goes on and is kept.
                None => return Ok(full_reply_not_ready()),
            },
            _ => state.guide_pages.get(&key),
        };
        let gzipped = match full {
            Some(kept) => kept,
            None => {
                let page = state.store.guides_page(q.since, limit, crate::api::MAX_GUIDE_PAGE_BYTES).await?;
                // Read after the page: an overlay change committed before a guide of the page got
                // its sequence is in what is read here (a later one moves the sequence on again).
                let now_overlays = match &who.center {
                    Some(center) => state.store.overlays(center).await?,
                    None => Default::default(),
                };
                let keep = now_overlays.is_empty() == overlays.is_empty();
                let page = page.overlaid(&now_overlays);
                let gzipped = tokio::task::spawn_blocking(move || gzip_page(&page))
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, "encoding a catalogue page panicked");
                        ApiError::internal()
                    })?
                    .map_err(|e| {
                        tracing::error!(error = %e, "encoding a catalogue page failed");
                        ApiError::internal()
                    })?;
                // Kept only under the view it was built for (the center's first overlay may have
                // come in between).
                if keep {
                    state.guide_pages.put(key, gzipped.clone());
                }
                gzipped
            }
        };
        let json = HeaderValue::from_static("application/json");
        let vary = (header::VARY, HeaderValue::from_static("accept-encoding"));
        if accepts_gzip(&headers) {
            let gzip = (header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            ([(header::CONTENT_TYPE, json), gzip, vary], gzipped).into_response()
        } else if limit.is_none() {
            ([(header::CONTENT_TYPE, json), vary], gunzip_stream(gzipped)).into_response()
        } else {
            let body = gunzip(&gzipped).map_err(|e| {
                tracing::error!(error = %e, "a kept catalogue page does not unzip");
                ApiError::internal()
            })?;
            ([(header::CONTENT_TYPE, json), vary], body).into_response()
        }
    };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}

/// One guide as the caller's center shows it (its overlay applied); a guide the center hides is
/// not found there.
pub async fn guide(
    State(state): State<AppState>,
    who: SignedIn,
    Path(code): Path<String>,
) -> Result<Json<ServiceGuide>, ApiError> {
    // A code outside the safe alphabet is no code: not looked up, and not echoed back.
    if !crate::domain::guide::is_valid_code(&code) {
        return Err(ApiError::not_found("事项编码无效"));
    }
    let missing = || ApiError::not_found(format!("没有编码为 {code} 的事项"));
    let guide = state.store.guide(&code).await?.ok_or_else(missing)?;
    let overlays = match &who.center {
        Some(center) => state.store.overlays(center).await?,
        None => Default::default(),
    };
    match overlays.get(&code) {
        None => Ok(Json(guide)),
        Some(overlay) => overlay.apply(&guide).map(Json).ok_or_else(missing),
    }
}

/// Cases hold applicants' personal data: the access rule lets only the window's own post holders
/// and admins here.
pub async fn window_overview(
    State(state): State<AppState>,
    who: SignedIn,
    at: AtWindow,
) -> Result<Json<WindowOverview>, ApiError> {
    let state = state.for_caller(&who)?;
    let AtWindow { window, duty, .. } = at;
    let number = window.number;
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
        duty,
        waiting: state.store.waiting_count(today, &window.categories).await?,
        current_ticket: state.store.ticket_at_window(number).await?,
        open_cases: state.store.open_cases(number).await?,
        visits_today: state.store.visits_since(number, china_day_start(today)).await?,
        catalogue_seq: state.store.catalogue_seq().await?,
        unacknowledged_handover: state.store.unacknowledged_handover(number, &who.staff.id).await?,
        last_handovers: state.store.handovers(number, crate::api::OVERVIEW_HANDOVERS).await?,
        case_conflicts: state.store.case_conflicts(number).await?,
        window,
    }))
}

pub async fn upload_records(
    State(state): State<AppState>,
    who: SignedIn,
    ApiJson(batch): ApiJson<UploadBatch>,
) -> Result<Json<UploadReply>, ApiError> {
    let state = state.for_caller(&who)?;
    if batch.records.len() > MAX_UPLOAD_RECORDS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_records",
            format!("一次最多上传 {MAX_UPLOAD_RECORDS} 条记录"),
        ));
    }
    let mut errors = Vec::new();
    for (i, r) in batch.records.iter().enumerate() {
        if r.idx == 0 || i64::try_from(r.idx).is_err() {
            errors.push(Invalid {
                field: format!("records[{i}].idx"), message: "序号应在 1 至 2^63-1 之间".into()
            });
        }
        if !crate::domain::time::is_plausible(r.created_at) {
            errors.push(Invalid {
                field: format!("records[{i}].created_at"),
                message: "时间不在 2000 至 2100 年之间".into(),
            });
        }
        if let Some(field) = crate::domain::record::implausible_date(&r.body) {
            errors.push(Invalid {
                field: format!("records[{i}].{field}"),
                message: "日期不在 2000 至 2100 年之间".into(),
            });
        }
        if r.stream.is_empty() || r.stream.len() > 64 || r.author.is_empty() || r.author.len() > 64 {
            errors.push(Invalid { field: format!("records[{i}]"), message: "流名称或作者无效".into() });
        }
        if !r.body.is_object() {
            errors.push(Invalid { field: format!("records[{i}].body"), message: "记录内容应为对象".into() });
        }
        // A record belongs to one window, named three ways; they must agree, or a clerk of one
        // window could write into another's streams or cases.
        let body_window =
            serde_json::from_value::<crate::domain::record::RecordBody>(r.body.clone()).ok().and_then(|b| b.window());
        if crate::domain::record::stream_window(&r.stream) != Some(r.window)
            || body_window.is_some_and(|w| w != r.window)
        {
            errors
                .push(Invalid {
                    field: format!("records[{i}].window"), message: "记录的窗口与流或内容不一致".into()
                });
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let mut windows: Vec<u32> = batch.records.iter().map(|r| r.window).collect();
    windows.sort_unstable();
    windows.dedup();
    for window in windows {
        if who.staff.role == crate::domain::staff::Role::Evaluator {
            // The evaluator's log holds its window's ratings only (checked per record below).
            crate::domain::access::check_evaluator(&who.staff, window)
                .map_err(|e| ApiError { errors: vec![e.clone()], ..ApiError::forbidden(e.message) })?;
        } else {
            access::check_log(&state, &who, window, WindowAct::Record).await?;
        }
    }
    // Each body decoded once, for the checks, the ratings and the conflicts below; one that
    // does not decode is refused or stored as the record layer decides, never guessed at here.
    let bodies: Vec<Option<RecordBody>> =
        batch.records.iter().map(|r| serde_json::from_value::<RecordBody>(r.body.clone()).ok()).collect();
    check_identities(&state, &who, &batch.records, &bodies).await?;
    let (ratings, mut refused) = prepare_ratings(&state, &who, &batch.records, &bodies).await?;
    let counted: Vec<UploadedRating> = ratings
        .iter()
        .map(|(record_id, rating, ticket, follow_up)| UploadedRating {
            record_id: *record_id,
            rating: rating.clone(),
            ticket_id: ticket.id,
            author: who.staff.id.clone(),
            follow_up: follow_up.clone(),
        })
        .collect();
    let stored = super::service::records::store_upload(
        state.store.as_ref(),
        &batch.records,
        state.clock.now().timestamp(),
        &who.staff,
        &counted,
    )
    .await
    .map_err(|e| match e {
        StoreError::RecordConflict { device, stream, idx } => {
            tracing::error!(%device, %stream, idx, "record conflict");
            ApiError::new(StatusCode::CONFLICT, "record_conflict", "记录与服务器已有记录冲突，请联系管理员")
        }
        other => other.into(),
    })?;
    for (record_id, rating, ticket, _) in &ratings {
        if stored.already_rated.contains(record_id) {
            refused.push(refused_rating(*record_id, rating.window, &super::hall_routes::already_rated(ticket)));
        } else {
            super::hall_routes::rating_kept(&state, rating, ticket).await;
        }
    }
    // Named in the upload's order, whichever step refused them.
    refused.sort_by_key(|f| batch.records.iter().position(|r| r.id == f.record_id));
    let (streams, new) = (stored.streams, stored.new);
    // Other terminals of these windows sync at once (a handover reaches B within a second).
    // Only when something was new: a replay must not set every terminal syncing again.
    if new > 0 {
        let mut windows: Vec<u32> = batch.records.iter().map(|r| r.window).collect();
        windows.sort_unstable();
        windows.dedup();
        for window in windows {
            state.queue.nudge(who.acting_center()?, window);
        }
    }
    let ids: Vec<uuid::Uuid> = batch
        .records
        .iter()
        .zip(&bodies)
        .filter(|(_, body)| matches!(body, Some(RecordBody::CaseSnapshot(_))))
        .map(|(r, _)| r.id)
        .collect();
    let conflicts = state.store.conflicts_of(&ids).await?;
    Ok(Json(UploadReply { streams, conflicts, refused }))
}

/// A rating of an upload made by the server, to be counted with it: the record's id, the rating,
/// its ticket and the follow-up it opens.
type PreparedRating = (
    uuid::Uuid,
    crate::domain::rating::Rating,
    Box<crate::domain::ticket::Ticket>,
    Option<crate::domain::follow_up::FollowUp>,
);

/// The ratings of an upload are made by [`super::hall_routes::prepare_rating`], as every rating
/// is, from the day the device recorded them on, and counted in the unit that stores the records
/// ([`super::service::records::store_upload`]): counted exactly when the upload is stored. A
/// rating it refuses (the ticket has its rating already, was not served at the window, or is
/// older than the previous working day) is still kept in the log, so the evaluator's outbox moves
/// on, and is named in the reply with the reason; nothing is counted twice (a replay is the
/// stored rating again).
async fn prepare_ratings(
    state: &AppState,
    who: &SignedIn,
    records: &[RecordEnvelope],
    bodies: &[Option<RecordBody>],
) -> Result<(Vec<PreparedRating>, Vec<crate::api::RefusedRecord>), ApiError> {
    use super::hall_routes::Prepared;
    let mut ratings = Vec::new();
    let mut refused = Vec::new();
    for (r, body) in records.iter().zip(bodies) {
        let Some(RecordBody::TicketRated(given)) = body else { continue };
        match super::hall_routes::prepare_rating(state, &who.staff, given, Some(r.created_at)).await {
            Ok(Prepared::Stored(_)) => {}
            Ok(Prepared::New { rating, ticket, follow_up }) => ratings.push((r.id, rating, ticket, follow_up)),
            Err(e) if e.status.is_client_error() => refused.push(refused_rating(r.id, r.window, &e)),
            Err(e) => return Err(e),
        }
    }
    Ok((ratings, refused))
}

/// A rating record kept in the log and not counted, named in the reply with the reason.
fn refused_rating(record_id: uuid::Uuid, window: u32, e: &ApiError) -> crate::api::RefusedRecord {
    tracing::warn!(record = %record_id, window, code = e.code, "rating record kept in the log, not counted");
    let message = e.errors.first().map_or_else(|| e.title.clone(), |i| i.message.clone());
    crate::api::RefusedRecord { record_id, code: e.code.to_owned(), message }
}

/// Identity comes from the session: every record's author and who it says acted
/// ([`check_record_identity`]); a case snapshot only from the window holding the case, or as a
/// conflict from one it moved away from ([`check_case_window`]); a transfer only as
/// [`check_case_transfer`] allows; an acknowledgement only of a handover already held, by its
/// addressee ([`check_acknowledger`]). What earlier records of the same upload do (open or move a
/// case, write a handover) counts for the later ones, as it will once stored. The uploading
/// session is bound to each device it uploads from first. A refusal names the record, is
/// audited, and stores nothing of the batch.
async fn check_identities(
    state: &AppState,
    who: &SignedIn,
    records: &[RecordEnvelope],
    bodies: &[Option<RecordBody>],
) -> Result<(), ApiError> {
    let now = state.clock.now().timestamp();
    let mut devices: Vec<uuid::Uuid> = records.iter().map(|r| r.device).collect();
    devices.sort_unstable();
    devices.dedup();
    let mut device_staff = Vec::with_capacity(devices.len());
    for device in devices {
        state.store.bind_device(device, &who.staff.id, now).await?;
        device_staff.push((device, state.store.device_staff(device).await?));
    }
    // What this upload does to cases (window and status) and handovers before it is stored.
    let mut cases: std::collections::HashMap<uuid::Uuid, (u32, crate::domain::case::CaseStatus)> = Default::default();
    let mut moved_from: Vec<(uuid::Uuid, u32)> = Vec::new();
    let mut handovers: Vec<crate::domain::handover::Handover> = Vec::new();
    let mut windows = None;
    for (i, (r, body)) in records.iter().zip(bodies).enumerate() {
        let bound = device_staff.iter().find(|(d, _)| *d == r.device).map_or(&[][..], |(_, s)| s.as_slice());
        let uploader = Uploader { staff_id: &who.staff.id, device_staff: bound };
        let mut checked = check_record_identity(uploader, &r.author, body.as_ref())
            .and_then(|()| crate::domain::rating::check_rating_record(&who.staff, r.window, body.as_ref()));
        match (&checked, &body) {
            (Ok(()), Some(RecordBody::CaseSnapshot(case))) => {
                let holder = match cases.get(&case.id) {
                    Some(held) => Some(*held),
                    None => state.store.case(case.id).await?.map(|c| (c.window, c.status)),
                };
                let mut before = state.store.case_former_windows(case.id).await?;
                before.extend(moved_from.iter().filter(|(id, _)| *id == case.id).map(|(_, w)| *w));
                checked = check_case_window(holder.map(|(w, _)| w), &before, r.window).map(|kept| {
                    if kept == CaseWindow::Holder {
                        cases.insert(case.id, (r.window, case.status));
                    }
                });
            }
            (Ok(()), Some(RecordBody::CaseTransferred(transfer))) => {
                let holder = match cases.get(&transfer.case_id) {
                    Some(held) => Some(*held),
                    None => state.store.case(transfer.case_id).await?.map(|c| (c.window, c.status)),
                };
                let windows = match &windows {
                    Some(w) => w,
                    None => windows.insert(state.store.windows().await?),
                };
                let to = windows.iter().find(|w| w.number == transfer.to_window);
                checked = check_case_transfer(transfer, holder, to).map(|()| {
                    let status = holder.map(|(_, s)| s).unwrap_or(crate::domain::case::CaseStatus::Intake);
                    cases.insert(transfer.case_id, (transfer.to_window, status));
                    moved_from.push((transfer.case_id, transfer.from_window));
                });
            }
            (Ok(()), Some(RecordBody::HandoverWritten(handover))) => handovers.push((**handover).clone()),
            (Ok(()), Some(RecordBody::HandoverAcknowledged { handover_id, by, .. })) => {
                let stored = match handovers.iter().find(|h| h.id == *handover_id) {
                    Some(h) => Some(h.clone()),
                    None => state.store.handover(*handover_id).await?,
                };
                checked = check_acknowledger(stored.as_ref(), by);
            }
            (Ok(()), Some(RecordBody::HandoverWithdrawn { handover_id, by, .. })) => {
                checked =
                    crate::domain::access::check_withdrawer(state.store.handover(*handover_id).await?.as_ref(), by);
            }
            _ => {}
        }
        if let Err(e) = checked {
            tracing::warn!(staff_id = %who.staff.id, record = %r.id, window = r.window, field = %e.field, "uploaded record refused: identity");
            let target = super::audit::Target::new("record", r.id.to_string());
            super::audit::record_refusal(state, &who.staff.id, Some(r.window), "record_refused", target, None).await;
            let e = Invalid { field: format!("records[{i}].{}", e.field), message: e.message };
            return Err(ApiError { errors: vec![e.clone()], ..ApiError::forbidden(e.message) });
        }
    }
    Ok(())
}

/// A returning applicant's case (补正 after a one-time notice, "我上次来过"), found by notice number,
/// case number, ID number, or name and phone, at any 综合受理 window ([`check_case_search`]). The
/// terms come in the body, never in the URL; every search is audited (`read:case_search`, with
/// which kind of term and how many cases were shown, never the term itself).
pub async fn search_cases(
    State(state): State<AppState>,
    who: SignedIn,
    ApiJson(search): ApiJson<crate::api::CaseSearch>,
) -> Result<Json<Vec<crate::api::FoundCase>>, ApiError> {
    let state = state.for_caller(&who)?;
    use crate::domain::applicant::{IdNumber, Phone};
    let windows = state.store.windows().await?;
    check_case_search(&who.staff.id, who.staff.role, &windows)
        .map_err(|e| ApiError { errors: vec![e.clone()], ..ApiError::forbidden(e.message) })?;
    let bad =
        |field: &str, message: &str| ApiError::invalid(vec![Invalid { field: field.into(), message: message.into() }]);
    let trimmed = |text: &str| crate::domain::text::clean_line(text).trim().to_owned();
    let mut normal = crate::api::CaseSearch::default();
    let by = if !search.notice_number.trim().is_empty() {
        normal.notice_number = trimmed(&search.notice_number).to_uppercase();
        "notice_number"
    } else if !search.case_number.trim().is_empty() {
        normal.case_number = trimmed(&search.case_number).to_uppercase();
        "case_number"
    } else if !search.id_number.trim().is_empty() {
        normal.id_number =
            IdNumber::parse(&search.id_number).map_err(|e| bad("id_number", &e.message)).and_then(|id| {
                serde_json::to_value(&id)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .ok_or_else(ApiError::internal)
            })?;
        "id_number"
    } else if !search.name.trim().is_empty() && !search.phone.trim().is_empty() {
        normal.name = trimmed(&search.name);
        normal.phone = Phone::parse(&search.phone).map_err(|e| bad("phone", &e.message)).and_then(|p| {
            serde_json::to_value(&p).ok().and_then(|v| v.as_str().map(str::to_owned)).ok_or_else(ApiError::internal)
        })?;
        "name_phone"
    } else {
        return Err(bad("search", "请输入告知单编号、办件编号、身份证号，或姓名加电话"));
    };
    if [&normal.notice_number, &normal.case_number, &normal.name].iter().any(|t| t.chars().count() > 64) {
        return Err(bad(by, "查找内容过长"));
    }
    let found = state.store.find_cases(&normal, crate::api::MAX_FOUND_CASES).await?;
    let target = Target::new("case_search", format!("{by}:{}", found.len()));
    audit::record(&state, &who.staff.id, None, "read:case_search", target, None).await;
    Ok(Json(found))
}

/// A clerk of the window has read a conflict: it leaves the window's list (kept, and audited).
pub async fn case_conflict_seen(
    State(state): State<AppState>,
    who: SignedIn,
    at: AtWindow,
    Path(params): Path<std::collections::HashMap<String, String>>,
) -> Result<StatusCode, ApiError> {
    let state = state.for_caller(&who)?;
    let record = params
        .get("record")
        .and_then(|r| r.parse::<uuid::Uuid>().ok())
        .ok_or_else(|| ApiError::not_found("没有这条冲突记录"))?;
    let number = at.window.number;
    if !state.store.mark_conflict_seen(number, record, &who.staff.id, state.clock.now().timestamp()).await? {
        return Err(ApiError::not_found("没有这条待处理的冲突"));
    }
    audit::record(
        &state,
        &who.staff.id,
        Some(number),
        "case_conflict_seen",
        Target::new("record", record.to_string()),
        None,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct StatusQuery {
    device: Option<uuid::Uuid>,
}

pub async fn sync_status(
    State(state): State<AppState>,
    who: SignedIn,
    at: AtLog,
    Query(q): Query<StatusQuery>,
) -> Result<Json<SyncStatus>, ApiError> {
    let state = state.for_caller(&who)?;
    // The terminal names its own device: this session is on it (see `check_identities`).
    if let Some(device) = q.device {
        state.store.bind_device(device, &who.staff.id, state.clock.now().timestamp()).await?;
    }
    Ok(Json(SyncStatus { streams: state.store.stream_status(at.window, q.device).await? }))
}

#[derive(Debug, Deserialize)]
pub struct RecordsQuery {
    device: uuid::Uuid,
    stream: String,
    #[serde(default = "first_idx")]
    from: u64,
}

fn first_idx() -> u64 {
    1
}

/// A stream is named after its window ("w1/cases"): the access rule checked that window before
/// anything is read, so even an empty answer says nothing about another window.
pub async fn download_records(
    State(state): State<AppState>,
    who: SignedIn,
    _at: AtLog,
    Query(q): Query<RecordsQuery>,
) -> Result<Json<Vec<RecordEnvelope>>, ApiError> {
    let state = state.for_caller(&who)?;
    if i64::try_from(q.from).is_err() {
        return Err(ApiError::invalid(vec![Invalid {
            field: "from".into(),
            message: "序号应在 1 至 2^63-1 之间".into(),
        }]));
    }
    let records = state.store.records(q.device, &q.stream, q.from, MAX_DOWNLOAD_RECORDS).await?;
    Ok(Json(records))
}

/// The guidance desk's lexicon. A terminal with the current copy sends its ETag and gets a 304.
pub async fn lexicon(
    State(state): State<AppState>,
    _who: SignedIn,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    use crate::api::LexiconReply;
    use axum::response::IntoResponse;
    let (seq, lexicon) = state.store.lexicon().await?.ok_or_else(|| ApiError::not_found("服务器尚无咨询词库"))?;
    let etag = LexiconReply::etag(seq);
    let unchanged = headers.get(axum::http::header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str());
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Json(LexiconReply { seq, lexicon }).into_response()
    };
    if let Ok(value) = axum::http::HeaderValue::from_str(&etag) {
        response.headers_mut().insert(axum::http::header::ETAG, value);
    }
    Ok(response)
}

/// The working-day calendar. A terminal with the current copy sends its ETag and gets a 304.
pub async fn calendar(
    State(state): State<AppState>,
    _who: SignedIn,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let (seq, calendar) = state.store.calendar().await?.ok_or_else(|| ApiError::not_found("服务器尚无工作日历"))?;
    let etag = CalendarReply::etag(seq);
    let unchanged = headers.get(axum::http::header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str());
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Json(CalendarReply { seq, calendar }).into_response()
    };
    if let Ok(value) = axum::http::HeaderValue::from_str(&etag) {
        response.headers_mut().insert(axum::http::header::ETAG, value);
    }
    Ok(response)
}

/// An admin loads (or corrects) one year of the State Council schedule; terminals pick it up at
/// their next exchange.
pub async fn put_calendar_year(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(year): Path<i32>,
    ApiJson(schedule): ApiJson<crate::domain::calendar::YearSchedule>,
) -> Result<Json<CalendarReply>, ApiError> {
    // The calendar is the county's, as the catalogue is: the same rule says who may change it.
    let county_admin = state.store.county_admin_exists().await?;
    crate::domain::access::check_catalogue_edit(who.staff.role, who.center.as_deref(), county_admin)
        .map_err(|e| ApiError::forbidden(e.message))?;
    let (_, mut calendar) = state.store.calendar().await?.unwrap_or_default();
    calendar
        .set_year(year, schedule)
        .map_err(|e| ApiError::invalid(vec![Invalid { field: format!("years.{year}"), message: e.to_string() }]))?;
    let seq = state.store.put_calendar(&calendar).await?;
    tracing::info!(year, seq, staff_id = %who.staff.id, "calendar year loaded");
    audit::record(&state, &who.staff.id, None, "calendar_year_loaded", Target::new("calendar", year.to_string()), None)
        .await;
    Ok(Json(CalendarReply { seq, calendar }))
}
