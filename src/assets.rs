//! The data shipped in `assets/` and compiled into the binary, so that a fresh install works
//! anywhere without copying files around: the sample center (`center.json`), the sample
//! service-guide catalogue (`guides.json`) and the State Council holiday schedules
//! (`calendar/workdays.json`). Everyone reads them from here: the server seeds a new database,
//! the terminal falls back to them before its first sync, the CLI searches them on a fresh
//! machine. Depends on the domain only.

use serde::Deserialize;

use crate::domain::calendar::WorkCalendar;
use crate::domain::center::{Center, Window};
use crate::domain::guide::Catalogue;
use crate::domain::staff::Role;
use crate::domain::ticket::QueueCategory;

pub const CENTER_JSON: &str = include_str!("../assets/center.json");
pub const GUIDES_JSON: &str = include_str!("../assets/guides.json");
pub const CALENDAR_JSON: &str = include_str!("../assets/calendar/workdays.json");

/// The State Council schedules shipped in `assets/calendar/`.
pub fn bundled_calendar() -> Result<WorkCalendar, AssetError> {
    WorkCalendar::from_json(CALENDAR_JSON).map_err(|e| AssetError(format!("assets/calendar/workdays.json: {e}")))
}

/// A sample account of `assets/center.json` (its password is the file's `sample_password`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleStaff {
    pub id: String,
    pub name: String,
    pub role: Role,
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
    pub staff: Vec<SampleStaff>,
    /// Every sample account's password: sample data, to be changed before real use.
    pub sample_password: String,
    /// The staff id the standalone terminal signs in as.
    pub demo_sign_in: String,
    /// The staff id the standalone guidance desk (`--desk`) signs in as.
    pub demo_desk_sign_in: String,
}

impl CenterSeed {
    pub fn bundled() -> Result<Self, AssetError> {
        let seed: Self =
            serde_json::from_str(CENTER_JSON).map_err(|e| AssetError(format!("assets/center.json: {e}")))?;
        seed.check()?;
        Ok(seed)
    }
    fn check(&self) -> Result<(), AssetError> {
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
        if problems.is_empty() { Ok(()) } else { Err(AssetError(problems.join("; "))) }
    }
}

pub fn bundled_catalogue() -> Result<Catalogue, AssetError> {
    let catalogue: Catalogue =
        serde_json::from_str(GUIDES_JSON).map_err(|e| AssetError(format!("assets/guides.json: {e}")))?;
    let problems: Vec<String> = catalogue
        .guides
        .iter()
        .flat_map(|g| g.problems().into_iter().map(move |p| format!("{} {}: {p}", g.code, g.name)))
        .collect();
    if problems.is_empty() { Ok(catalogue) } else { Err(AssetError(problems.join("; "))) }
}

#[derive(Debug, thiserror::Error)]
#[error("bundled data is invalid: {0}")]
pub struct AssetError(String);
