//! Which center a backend handle's statements are bound to ([`crate::server::store::Scope`]).

use std::sync::Arc;

use super::{Backend, q};
use crate::server::store::repo::Lock;
use crate::server::store::{Scope, StoreError, StoreResult};

impl Backend {
    /// The center this handle's statements bind: the bound one, or the database's only center.
    pub(super) async fn center_id(&self) -> StoreResult<Arc<str>> {
        match &self.scope {
            Scope::Bound(center) => Ok(center.clone()),
            Scope::County => Err(StoreError::CountyHandle),
            Scope::Only => {
                let ids: Vec<String> =
                    sqlx::query_scalar(&q("SELECT id FROM center ORDER BY id LIMIT 2")).fetch_all(&self.pool).await?;
                match ids.as_slice() {
                    [only] => Ok(Arc::from(only.as_str())),
                    _ => {
                        let centers: i64 =
                            sqlx::query_scalar(&q("SELECT COUNT(*) FROM center")).fetch_one(&self.pool).await?;
                        Err(StoreError::CenterNotChosen { centers: usize::try_from(centers).unwrap_or(usize::MAX) })
                    }
                }
            }
        }
    }

    /// The center a unit holding `lock` binds: `None` for a county-wide unit (the sign-in counts
    /// and the catalogue are the county's) on a handle bound to no center, on a database of
    /// several, rather than a guess ([`crate::server::store::UnitCenter::id`] says what its
    /// statements then bind).
    pub(super) async fn unit_center(&self, lock: Lock) -> StoreResult<crate::server::store::UnitCenter> {
        match self.center_id().await {
            Err(StoreError::CenterNotChosen { .. } | StoreError::CountyHandle)
                if matches!(lock, Lock::SignIn | Lock::Catalogue) =>
            {
                Ok(crate::server::store::UnitCenter(None))
            }
            other => other.map(|center| crate::server::store::UnitCenter(Some(center))),
        }
    }

    /// A handle on the same pool acting for the county.
    pub(super) fn for_the_county(&self) -> Self {
        self.with_scope(Scope::County)
    }

    /// A handle on the same pool bound to `center`.
    pub(super) fn bound_to(&self, center: &str) -> Self {
        self.with_scope(Scope::Bound(Arc::from(center)))
    }
}
