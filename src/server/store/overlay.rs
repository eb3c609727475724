//! The centers' overlays on the county catalogue ([`crate::domain::overlay`]): read when a
//! center's terminals sync, written in a unit of work holding the catalogue lock.

use std::collections::HashMap;

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::overlay::GuideOverlay;

#[async_trait]
pub trait OverlayStore: Send + Sync {
    /// Every overlay of `center`, by guide code (empty: the center sees the county catalogue).
    async fn overlays(&self, center: &str) -> StoreResult<HashMap<String, GuideOverlay>>;
    /// Adds a staff account of no center (the county admin); `false` when the id is taken.
    async fn add_county_staff(&self, staff: &crate::domain::staff::Staff, password_hash: &str) -> StoreResult<bool>;
    /// Whether the database has an active county admin.
    async fn county_admin_exists(&self) -> StoreResult<bool>;
}

/// The overlay writes of a unit holding [`super::repo::Lock::Catalogue`].
#[async_trait]
pub trait OverlayUnit: Send {
    async fn overlay(&mut self, center: &str, code: &str) -> StoreResult<Option<GuideOverlay>>;
    /// Stores `center`'s overlay of guide `code` (replacing the stored one).
    async fn put_overlay(&mut self, center: &str, code: &str, overlay: &GuideOverlay) -> StoreResult<()>;
}
