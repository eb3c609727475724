//! Catalogue changes (an import, an alias added), in one unit of work holding the catalogue lock:
//! a changed guide gets its next revision by the domain's rule
//! ([`crate::domain::guide::imported_revision`]) and the next change sequence, so a terminal's
//! delta sync (`guides since SEQ`) sees every change once.

use chrono::NaiveDate;

use crate::domain::guide::{ServiceGuide, imported_revision};
use crate::server::store::repo::{Lock, Repository};
use crate::server::store::{ImportReport, StoreResult};

/// Adds guides or replaces changed ones (dated `today`). An identical guide is left alone, so
/// re-importing a file changes nothing.
pub async fn upsert_guides(
    repo: &dyn Repository,
    guides: &[ServiceGuide],
    today: NaiveDate,
) -> StoreResult<ImportReport> {
    let mut unit = repo.begin(Lock::Catalogue).await?;
    let mut report = ImportReport::default();
    let mut seq = unit.catalogue_seq().await?;
    for guide in guides {
        let stored = unit.guide(&guide.code).await?;
        let Some(revision) = imported_revision(stored.as_ref(), guide) else {
            report.unchanged += 1;
            continue;
        };
        if stored.is_some() {
            report.changed += 1;
        } else {
            report.added += 1;
        }
        seq += 1;
        unit.put_guide(&ServiceGuide { revision, updated_on: today, ..guide.clone() }, seq).await?;
    }
    unit.commit().await?;
    Ok(report)
}
