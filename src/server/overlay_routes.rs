//! The county catalogue and the centers' overlays on it, over the API (issue #18): a center
//! admin sets their own center's overlay, the county admin any center's and the county catalogue
//! itself (a center admin too where the database has no county admin). Who may is the domain's
//! ([`check_overlay_edit`], [`check_catalogue_edit`]); the change itself is the catalogue
//! service's.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::SignedIn;
use super::problem::{ApiError, ApiJson};
use super::service::catalogue::{OverlayChange, OverlayError, change_overlay};
use super::store::Store;
use crate::domain::access::{check_catalogue_edit, check_overlay_edit};
use crate::domain::overlay::GuideOverlay;
use crate::server::service::catalogue::AliasError;

/// Reply of a catalogue or overlay change: the catalogue's change sequence after it (terminals
/// get the change when they sync past it), or the one it already had when nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueChanged {
    pub changed: bool,
    pub seq: i64,
}

/// Body of `POST /api/v1/guides/{code}/aliases`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewAlias {
    /// Defaulted, so that a body without it is refused for who sends it before what it says.
    #[serde(default)]
    pub alias: String,
}

fn refused(e: crate::domain::Invalid) -> ApiError {
    ApiError::forbidden(e.message)
}

/// `PUT /api/v1/centers/{center}/guides/{code}/overlay`: replaces center `center`'s overlay of
/// guide `code` with the body.
pub async fn put_overlay(
    State(state): State<AppState>,
    who: SignedIn,
    Path((center, code)): Path<(String, String)>,
    ApiJson(overlay): ApiJson<GuideOverlay>,
) -> Result<Json<CatalogueChanged>, ApiError> {
    check_overlay_edit(who.staff.role, who.center.as_deref(), &center).map_err(refused)?;
    if !state.store.centers().await?.iter().any(|c| c.id == center) {
        return Err(ApiError::not_found("没有这个中心"));
    }
    let store = state.store.for_center(&center);
    let now = state.clock.now();
    match change_overlay(store.as_ref(), &center, &code, |o| *o = overlay, &who.staff.id, now).await {
        Ok(OverlayChange::Changed { seq }) => Ok(Json(CatalogueChanged { changed: true, seq })),
        Ok(OverlayChange::Unchanged) => {
            Ok(Json(CatalogueChanged { changed: false, seq: state.store.catalogue_seq().await? }))
        }
        Err(OverlayError::NoSuchGuide(code)) => Err(ApiError::not_found(format!("没有编码为 {code} 的事项"))),
        Err(OverlayError::Invalid(e)) => Err(ApiError::invalid(vec![e])),
        Err(OverlayError::Store(e)) => Err(e.into()),
    }
}

/// A handle for a county catalogue change. The catalogue's statements name no center, but a unit
/// of work is begun on a handle bound to one: the caller's, or for the county admin the first
/// center by id (only the audit line's center depends on it).
pub fn catalogue_handle(store: &Arc<dyn Store>, center: Option<&str>) -> Arc<dyn Store> {
    match center {
        Some(center) => store.for_center(center),
        // A county admin's catalogue change is the county's (its unit binds no center).
        None => store.for_county(),
    }
}

/// `POST /api/v1/guides/{code}/aliases`: adds an alias to the county catalogue's guide (every
/// center's terminals get it).
pub async fn add_county_alias(
    State(state): State<AppState>,
    who: SignedIn,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<NewAlias>,
) -> Result<Json<CatalogueChanged>, ApiError> {
    let county_admin = state.store.county_admin_exists().await?;
    check_catalogue_edit(who.staff.role, who.center.as_deref(), county_admin).map_err(refused)?;
    let store = catalogue_handle(&state.store, who.center.as_deref());
    let today = crate::domain::time::china_date(state.clock.now());
    let guide = match super::service::catalogue::add_alias(store.as_ref(), code.trim(), &body.alias, today).await {
        Ok(guide) => guide,
        Err(AliasError::NoSuchGuide(code)) => return Err(ApiError::not_found(format!("没有编码为 {code} 的事项"))),
        Err(AliasError::Refused(problem)) => {
            return Err(ApiError::invalid(vec![crate::domain::Invalid { field: "alias".into(), message: problem }]));
        }
        Err(AliasError::Store(e)) => return Err(e.into()),
    };
    super::audit::record(
        &state,
        &who.staff.id,
        None,
        "guide_alias_added",
        super::audit::Target::new("guide", guide.code.clone()),
        None,
    )
    .await;
    Ok(Json(CatalogueChanged { changed: true, seq: state.store.catalogue_seq().await? }))
}
