//! The centers' overlays on the county catalogue, shared by both backends.

use std::collections::HashMap;
use std::ops::DerefMut;

use async_trait::async_trait;

use super::{Backend, BackendUnit, Conn, q};
use crate::domain::overlay::GuideOverlay;
use crate::domain::staff::{Role, Staff};
use crate::server::store::overlay::{OverlayStore, OverlayUnit};
use crate::server::store::StoreResult;

#[async_trait]
impl OverlayStore for Backend {
    async fn overlays(&self, center: &str) -> StoreResult<HashMap<String, GuideOverlay>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as(&q("SELECT code, body FROM guide_overlays WHERE center_id = ?"))
                .bind(center)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(|(code, body)| Ok((code, serde_json::from_str(&body)?))).collect()
    }

    async fn add_county_staff(&self, staff: &Staff, password_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query(&q("INSERT INTO staff (id, name, role, password_hash, active, center_id) \
             VALUES (?, ?, ?, ?, 1, NULL) ON CONFLICT (id) DO NOTHING"))
        .bind(&staff.id)
        .bind(&staff.name)
        .bind(staff.role.label())
        .bind(password_hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn county_admin_exists(&self) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(&q(
            "SELECT COUNT(*) FROM staff WHERE role = ? AND center_id IS NULL AND active = 1",
        ))
        .bind(Role::CountyAdmin.label())
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }
}

#[async_trait]
impl<C: DerefMut<Target = Conn> + Send> OverlayUnit for BackendUnit<C> {
    async fn overlay(&mut self, center: &str, code: &str) -> StoreResult<Option<GuideOverlay>> {
        let body: Option<String> =
            sqlx::query_scalar(&q("SELECT body FROM guide_overlays WHERE center_id = ? AND code = ?"))
                .bind(center)
                .bind(code)
                .fetch_optional(&mut *self.c)
                .await?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    async fn put_overlay(&mut self, center: &str, code: &str, overlay: &GuideOverlay) -> StoreResult<()> {
        sqlx::query(&q("INSERT INTO guide_overlays (center_id, code, body) VALUES (?, ?, ?) \
             ON CONFLICT (center_id, code) DO UPDATE SET body = excluded.body"))
        .bind(center)
        .bind(code)
        .bind(serde_json::to_string(overlay)?)
        .execute(&mut *self.c)
        .await?;
        Ok(())
    }
}
