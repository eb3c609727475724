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

/// How many guides an import reads and writes per statement: two statements per batch instead
/// of two per guide (a statement costs a round trip to the driver's thread). 4 values a guide
/// stay far below SQLite's and PostgreSQL's bind limits (32766, 65535).
const IMPORT_BATCH: usize = 500;

/// An import fed one guide at a time (a file streamed by `bianmin import guides`), in one unit of
/// work: nothing is visible until [`GuideImport::commit`], and dropping it rolls everything back.
/// Guides are held back and stored [`IMPORT_BATCH`] at a time, in the order given.
pub struct GuideImport {
    unit: Box<dyn Unit>,
    seq: i64,
    report: ImportReport,
    today: NaiveDate,
    pending: Vec<ServiceGuide>,
}

impl GuideImport {
    pub async fn begin(repo: &dyn Repository, today: NaiveDate) -> StoreResult<Self> {
        let mut unit = repo.begin(Lock::Catalogue).await?;
        let seq = unit.catalogue_seq().await?;
        Ok(Self { unit, seq, report: ImportReport::default(), today, pending: Vec::with_capacity(IMPORT_BATCH) })
    }

    /// Adds the guide or replaces the stored one when it changed (dated `today`).
    pub async fn put(&mut self, guide: &ServiceGuide) -> StoreResult<()> {
        // The same code twice in one batch: the second compares with the first, so store it first.
        if self.pending.iter().any(|g| g.code == guide.code) {
            self.flush().await?;
        }
        self.pending.push(guide.clone());
        if self.pending.len() >= IMPORT_BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> StoreResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let codes: Vec<&str> = pending.iter().map(|g| g.code.as_str()).collect();
        let mut stored: std::collections::HashMap<String, ServiceGuide> =
            self.unit.guides_by_code(&codes).await?.into_iter().map(|g| (g.code.clone(), g)).collect();
        let mut writes = Vec::with_capacity(pending.len());
        for guide in pending {
            let stored = stored.remove(&guide.code);
            let Some(revision) = imported_revision(stored.as_ref(), &guide) else {
                self.report.unchanged += 1;
                continue;
            };
            if stored.is_some() {
                self.report.changed += 1;
            } else {
                self.report.added += 1;
            }
            self.seq += 1;
            writes.push((ServiceGuide { revision, updated_on: self.today, ..guide }, self.seq));
        }
        self.unit.put_guides(&writes).await?;
        self.pending = Vec::with_capacity(IMPORT_BATCH);
        Ok(())
    }

    pub async fn commit(mut self) -> StoreResult<ImportReport> {
        self.flush().await?;
        self.unit.commit().await?;
        Ok(self.report)
    }
}
