//! The initial content of a new database: the bundled sample center and catalogue from
//! `crate::assets`, with the sample accounts' passwords hashed.

use super::auth::hash_password;
use super::store::{SeedData, StaffCredentials};
use crate::assets::{AssetError, CenterSeed, bundled_catalogue};
use crate::domain::staff::Staff;

/// Everything a new database starts with. Hashing the sample passwords is the slow part
/// (Argon2id, on purpose), so one hash is shared by all sample accounts.
pub fn bundled_seed() -> Result<SeedData, AssetError> {
    let center = CenterSeed::bundled()?;
    let catalogue = bundled_catalogue()?;
    let password_hash = hash_password(&center.sample_password);
    let staff = center
        .staff
        .into_iter()
        .map(|s| StaffCredentials {
            staff: Staff { id: s.id, name: s.name, role: s.role, active: true },
            password_hash: password_hash.clone(),
        })
        .collect();
    Ok(SeedData {
        center: center.center,
        categories: center.categories,
        windows: center.windows,
        staff,
        guides: catalogue.guides,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_assets_are_valid() {
        let seed = bundled_seed().unwrap();
        assert!(seed.windows.len() >= 5);
        assert!(seed.guides.len() >= 80, "{} guides", seed.guides.len());
        let departments: std::collections::HashSet<_> = seed.guides.iter().map(|g| &g.department).collect();
        assert!(departments.len() >= 10, "{} departments", departments.len());
        let codes: std::collections::HashSet<_> = seed.guides.iter().map(|g| &g.code).collect();
        assert_eq!(codes.len(), seed.guides.len(), "guide codes are unique");
    }
}
