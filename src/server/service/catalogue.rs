//! Catalogue changes (an import, an alias added), in one unit of work holding the catalogue lock:
//! a changed guide gets its next revision by the domain's rule
//! ([`crate::domain::guide::imported_revision`]) and the next change sequence, so a terminal's
//! delta sync (`guides since SEQ`) sees every change once.

use chrono::NaiveDate;

use crate::domain::guide::{ServiceGuide, imported_revision};
use crate::server::store::repo::{Lock, Repository, Unit};
use crate::server::store::{ImportReport, StoreResult};

/// Adds guides or replaces changed ones (dated `today`). An identical guide is left alone, so
/// re-importing a file changes nothing.
pub async fn upsert_guides(
    repo: &dyn Repository,
    guides: &[ServiceGuide],
    today: NaiveDate,
) -> StoreResult<ImportReport> {
    let mut import = GuideImport::begin(repo, today).await?;
    for guide in guides {
        import.put(guide).await?;
    }
    import.commit().await
}

/// An import fed one guide at a time (a file streamed by `bianmin import guides`), in one unit of
/// work: nothing is visible until [`GuideImport::commit`], and dropping it rolls everything back.
pub struct GuideImport {
    unit: Box<dyn Unit>,
    seq: i64,
    report: ImportReport,
    today: NaiveDate,
}

impl GuideImport {
    pub async fn begin(repo: &dyn Repository, today: NaiveDate) -> StoreResult<Self> {
        let mut unit = repo.begin(Lock::Catalogue).await?;
        let seq = unit.catalogue_seq().await?;
        Ok(Self { unit, seq, report: ImportReport::default(), today })
    }

    /// Adds the guide or replaces the stored one when it changed (dated `today`).
    pub async fn put(&mut self, guide: &ServiceGuide) -> StoreResult<()> {
        let stored = self.unit.guide(&guide.code).await?;
        let Some(revision) = imported_revision(stored.as_ref(), guide) else {
            self.report.unchanged += 1;
            return Ok(());
        };
        if stored.is_some() {
            self.report.changed += 1;
        } else {
            self.report.added += 1;
        }
        self.seq += 1;
        self.unit.put_guide(&ServiceGuide { revision, updated_on: self.today, ..guide.clone() }, self.seq).await
    }

    pub async fn commit(self) -> StoreResult<ImportReport> {
        self.unit.commit().await?;
        Ok(self.report)
    }
}
