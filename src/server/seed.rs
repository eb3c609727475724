//! The initial content of a new database, shipped in `assets/` and compiled into the binary so
//! that a fresh install works anywhere without copying files around.

use serde::Deserialize;

use super::auth::hash_password;
use super::store::{SeedData, StaffCredentials};
use crate::domain::center::{Center, Window};
use crate::domain::guide::Catalogue;
use crate::domain::staff::{Role, Staff};
use crate::domain::ticket::QueueCategory;

pub const CENTER_JSON: &str = include_str!("../../assets/center.json");
pub const GUIDES_JSON: &str = include_str!("../../assets/guides.json");
pub const CALENDAR_JSON: &str = include_str!("../../assets/calendar/workdays.json");

/// The State Council schedules shipped in `assets/calendar/`.
pub fn bundled_calendar() -> Result<crate::domain::calendar::WorkCalendar, SeedError> {
    crate::domain::calendar::WorkCalendar::from_json(CALENDAR_JSON)
        .map_err(|e| SeedError(format!("assets/calendar/workdays.json: {e}")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedStaff {
    id: String,
    name: String,
    role: Role,
}

/// `assets/center.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CenterSeed {
    #[serde(default)]
    pub note: String,
    pub center: Center,
    pub categories: Vec<QueueCategory>,
    pub windows: Vec<Window>,
    staff: Vec<SeedStaff>,
    /// Every sample account's password: sample data, to be changed before real use.
    pub sample_password: String,
    /// The staff id the standalone terminal signs in as.
    pub demo_sign_in: String,
    /// The staff id the standalone guidance desk (`--desk`) signs in as.
    pub demo_desk_sign_in: String,
}

impl CenterSeed {
    pub fn bundled() -> Result<Self, SeedError> {
        let seed: Self =
            serde_json::from_str(CENTER_JSON).map_err(|e| SeedError(format!("assets/center.json: {e}")))?;
        seed.check()?;
        Ok(seed)
    }

    fn check(&self) -> Result<(), SeedError> {
        let mut problems = Vec::new();
        for w in &self.windows {
            problems.extend(w.problems().into_iter().map(|p| format!("窗口 {}: {p}", w.number)));
            for holder in [&w.a_holder, &w.b_holder] {
                if !self.staff.iter().any(|s| &s.id == holder) {
                    problems.push(format!("窗口 {}: 没有工号为 {holder} 的人员", w.number));
                }
            }
        }
        if !self.staff.iter().any(|s| s.id == self.demo_sign_in) {
            problems.push(format!("demo_sign_in: 没有工号为 {} 的人员", self.demo_sign_in));
        }
        if problems.is_empty() { Ok(()) } else { Err(SeedError(problems.join("; "))) }
    }
}

pub fn bundled_catalogue() -> Result<Catalogue, SeedError> {
    let catalogue: Catalogue =
        serde_json::from_str(GUIDES_JSON).map_err(|e| SeedError(format!("assets/guides.json: {e}")))?;
    let problems: Vec<String> = catalogue
        .guides
        .iter()
        .flat_map(|g| g.problems().into_iter().map(move |p| format!("{} {}: {p}", g.code, g.name)))
        .collect();
    if problems.is_empty() { Ok(catalogue) } else { Err(SeedError(problems.join("; "))) }
}

#[derive(Debug, thiserror::Error)]
#[error("bundled seed data is invalid: {0}")]
pub struct SeedError(String);

/// Everything a new database starts with. Hashing the sample passwords is the slow part
/// (Argon2id, on purpose), so one hash is shared by all sample accounts.
pub fn bundled_seed() -> Result<SeedData, SeedError> {
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
