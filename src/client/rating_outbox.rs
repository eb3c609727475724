//! The evaluator's ratings kept on its PC until the server has them: one JSON line per rating in
//! `evaluator-outbox.jsonl` in the data directory (owner-only), written and synced before the
//! upload is tried, removed once the server answered. The rating's id is made on the device, so
//! a resend after a lost reply is the same rating on the server: uploaded once.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::api::hall::RateTicket;

pub const OUTBOX_FILE: &str = "evaluator-outbox.jsonl";

/// A rating waiting for the server, with the window it was given at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptRating {
    pub window: u32,
    pub rating: RateTicket,
}

#[derive(Debug, Clone)]
pub struct RatingOutbox {
    path: PathBuf,
}

fn owner_only() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

impl RatingOutbox {
    pub fn new(dir: &Path) -> Self {
        Self { path: dir.join(OUTBOX_FILE) }
    }

    /// Every rating waiting. A line that does not read is logged and skipped (kept in the file).
    pub fn pending(&self) -> std::io::Result<Vec<KeptRating>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| match serde_json::from_str(l) {
                Ok(kept) => Some(kept),
                Err(e) => {
                    tracing::error!(error = %e, "an evaluator outbox line does not read");
                    None
                }
            })
            .collect())
    }

    /// Keeps a rating: appended and synced to the disk before this returns.
    pub fn keep(&self, kept: &KeptRating) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = owner_only().create(true).append(true).open(&self.path)?;
        file.write_all(format!("{}\n", serde_json::to_string(kept)?).as_bytes())?;
        file.sync_all()
    }

    /// Forgets a rating the server answered for, rewriting the file whole (a crash leaves the
    /// old file or the new, and a rating left over is only sent once more, which the server
    /// answers alike).
    pub fn remove(&self, id: uuid::Uuid) -> std::io::Result<()> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| serde_json::from_str::<KeptRating>(l).map_or(true, |k| k.rating.id != id))
            .collect();
        let temp = self.path.with_extension("jsonl.tmp");
        let _ = std::fs::remove_file(&temp);
        let mut file = owner_only().write(true).create_new(true).open(&temp)?;
        for line in kept {
            file.write_all(format!("{line}\n").as_bytes())?;
        }
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rating::RatingLevel;

    #[test]
    fn a_kept_rating_survives_until_removed_and_others_stay() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = RatingOutbox::new(dir.path());
        let rating = |level| RateTicket {
            id: uuid::Uuid::now_v7(),
            ticket_id: uuid::Uuid::now_v7(),
            level,
            reason: String::new(),
        };
        let (a, b) = (rating(RatingLevel::Satisfied), rating(RatingLevel::VerySatisfied));
        outbox.keep(&KeptRating { window: 1, rating: a.clone() }).unwrap();
        outbox.keep(&KeptRating { window: 1, rating: b.clone() }).unwrap();
        let again = RatingOutbox::new(dir.path());
        assert_eq!(again.pending().unwrap().len(), 2, "kept across a restart");
        again.remove(a.id).unwrap();
        assert_eq!(again.pending().unwrap(), vec![KeptRating { window: 1, rating: b }]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(OUTBOX_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
