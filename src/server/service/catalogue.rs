//! Catalogue changes (an import, an alias added), in one unit of work holding the catalogue lock:
//! a changed guide gets its next revision by the domain's rule
//! ([`crate::domain::guide::imported_revision`]) and the next change sequence, so a terminal's
//! delta sync (`guides since SEQ`) sees every change once.

use chrono::NaiveDate;

use crate::domain::guide::{ServiceGuide, imported_revision, same_stored_text};
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
        let mut stored: std::collections::HashMap<String, String> =
            self.unit.guide_bodies_by_code(&codes).await?.into_iter().collect();
        let mut writes = Vec::with_capacity(pending.len());
        for guide in pending {
            let stored = stored.remove(&guide.code);
            // The same text as stored: unchanged, without decoding the stored guide.
            if stored.as_deref().is_some_and(|body| same_stored_text(body, &guide)) {
                self.report.unchanged += 1;
                continue;
            }
            let stored: Option<ServiceGuide> = stored.map(|body| serde_json::from_str(&body)).transpose()?;
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

/// Why an alias was not added to the county catalogue's guide.
#[derive(Debug, thiserror::Error)]
pub enum AliasError {
    #[error("没有编码为 {0} 的事项")]
    NoSuchGuide(String),
    /// The alias breaks the rule ([`crate::domain::overlay::alias_problem`]).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] crate::server::store::StoreError),
}

/// Adds `alias` to the county catalogue's guide `code` (dated `today`): read, checked and stored
/// in one unit of work holding the catalogue lock, so two aliases added at once are both kept and
/// an import committed meanwhile is never written back over. Returns the guide as stored.
pub async fn add_alias(
    repo: &dyn Repository,
    code: &str,
    alias: &str,
    today: NaiveDate,
) -> Result<ServiceGuide, AliasError> {
    let mut import = GuideImport::begin(repo, today).await?;
    let Some(mut guide) = import.unit.guide(code).await? else {
        return Err(AliasError::NoSuchGuide(crate::domain::text::clean_line(code)));
    };
    if let Some(problem) = crate::domain::overlay::alias_problem(&guide, alias) {
        return Err(AliasError::Refused(problem));
    }
    guide.aliases.push(alias.trim().to_owned());
    import.put(&guide).await?;
    import.commit().await?;
    Ok(guide)
}

/// What an overlay change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverlayChange {
    /// Stored; the guide's change sequence is now this, so every terminal's next delta sync
    /// brings the guide again (as the center's overlay shows it, for that center's terminals).
    Changed { seq: i64 },
    /// The overlay already said so: nothing written.
    Unchanged,
}

/// Why an overlay change was not made.
#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    #[error("没有编码为 {0} 的事项")]
    NoSuchGuide(String),
    #[error("{}", .0.message)]
    Invalid(crate::domain::Invalid),
    #[error(transparent)]
    Store(#[from] crate::server::store::StoreError),
}

/// Changes center `center`'s overlay of guide `code` by `change`, in one unit of work holding the
/// catalogue lock, with its audit line (`guide_overlay_set`, target `guide_overlay`/`CENTER/CODE`).
/// The checked overlay is stored and the guide's change sequence moves on (its content stays):
/// the county catalogue has one sequence, so this is how the center's terminals, which ask for
/// changes after the last sequence they have, get the change. Terminals of other centers receive
/// the same guide again, unchanged for them (a resend, not a change). `store` must be bound to
/// `center` ([`crate::server::store::Store::for_center`]).
pub async fn change_overlay(
    store: &dyn crate::server::store::Store,
    center: &str,
    code: &str,
    change: impl FnOnce(&mut crate::domain::overlay::GuideOverlay),
    actor: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<OverlayChange, OverlayError> {
    let mut unit = store.begin(Lock::Catalogue).await?;
    let Some(guide) = unit.guide(code).await? else {
        return Err(OverlayError::NoSuchGuide(crate::domain::text::clean_line(code)));
    };
    let old = unit.overlay(center, code).await?.unwrap_or_default();
    let mut new = old.clone();
    change(&mut new);
    if new == old {
        return Ok(OverlayChange::Unchanged);
    }
    new.check_change(&guide, &old).map_err(OverlayError::Invalid)?;
    unit.put_overlay(center, code, &new).await?;
    let seq = unit.catalogue_seq().await? + 1;
    unit.put_guide(&guide, seq).await?;
    unit.append_audit(&crate::api::accounts::AuditEntry {
        id: 0,
        at: now,
        claimed_at: None,
        staff_id: actor.to_owned(),
        window: None,
        action: "guide_overlay_set".into(),
        target_kind: "guide_overlay".into(),
        target_id: format!("{center}/{code}"),
        addr: None,
        count: 1,
    })
    .await?;
    unit.commit().await?;
    Ok(OverlayChange::Changed { seq })
}
