//! The evaluator's ratings kept on its PC until the server has them: in the device's local store
//! (`bianmin-local.db`, table `rating_outbox`, migration 0003), written before the upload is tried
//! and forgotten once the server answered. The rating's id is made on the device, so a resend
//! after a lost reply is the same rating on the server: uploaded once.
//!
//! Evaluators of an earlier version kept them in `evaluator-outbox.jsonl` in the data directory:
//! opening the outbox carries every line of that file into the store once, then deletes the file
//! (a line that does not read stays in the file, for a person to look at; nothing is dropped).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::local::{LocalError, LocalStore};
use crate::api::hall::RateTicket;

/// The file earlier evaluators kept their ratings in.
pub const OUTBOX_FILE: &str = "evaluator-outbox.jsonl";
/// The device's local store in the data directory.
pub const LOCAL_STORE_FILE: &str = "bianmin-local.db";

/// A rating waiting for the server, with the window it was given at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptRating {
    pub window: u32,
    pub rating: RateTicket,
}

#[derive(Clone)]
pub struct RatingOutbox {
    store: LocalStore,
}

impl RatingOutbox {
    /// Opens the outbox in the device's local store in `data_dir`, carrying over an earlier
    /// evaluator's JSON-lines file.
    pub async fn open(data_dir: &Path, now: DateTime<Utc>) -> Result<Self, LocalError> {
        let (store, _) = LocalStore::open(&data_dir.join(LOCAL_STORE_FILE), now).await?;
        let outbox = Self { store };
        outbox.carry_over(&data_dir.join(OUTBOX_FILE), now).await?;
        Ok(outbox)
    }

    /// Moves the ratings of the old file into the store: every readable line is kept in the store
    /// first; then the file is deleted, or rewritten with only the lines that do not read.
    async fn carry_over(&self, file: &PathBuf, now: DateTime<Utc>) -> Result<(), LocalError> {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                tracing::error!(error = %e, path = %file.display(), "the old evaluator outbox cannot be read; left in place");
                return Ok(());
            }
        };
        let mut unread = Vec::new();
        let mut carried = 0usize;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<KeptRating>(line) {
                Ok(kept) => {
                    self.store.keep_rating(kept.window, &kept.rating, now).await?;
                    carried += 1;
                }
                Err(e) => {
                    tracing::error!(error = %e, "an old evaluator outbox line does not read; left in the file");
                    unread.push(line);
                }
            }
        }
        let done = if unread.is_empty() {
            std::fs::remove_file(file)
        } else {
            std::fs::write(file, unread.iter().map(|l| format!("{l}\n")).collect::<String>())
        };
        if let Err(e) = done {
            // The ratings are in the store: carried again at the next start, they are the same
            // rows (kept by id), so nothing doubles.
            tracing::warn!(error = %e, path = %file.display(), "the old evaluator outbox could not be removed");
        }
        tracing::info!(carried, left = unread.len(), "old evaluator outbox carried into the local store");
        Ok(())
    }

    /// Every rating waiting, oldest first.
    pub async fn pending(&self) -> Result<Vec<KeptRating>, LocalError> {
        Ok(self
            .store
            .pending_ratings()
            .await?
            .into_iter()
            .map(|(window, rating)| KeptRating { window, rating })
            .collect())
    }

    /// Keeps a rating: in the store (committed) before this returns.
    pub async fn keep(&self, kept: &KeptRating, now: DateTime<Utc>) -> Result<(), LocalError> {
        self.store.keep_rating(kept.window, &kept.rating, now).await
    }

    /// Forgets a rating the server answered for.
    pub async fn remove(&self, id: uuid::Uuid) -> Result<(), LocalError> {
        self.store.forget_rating(id).await
    }

    pub async fn close(&self) {
        self.store.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rating::RatingLevel;

    fn rating(level: RatingLevel) -> RateTicket {
        RateTicket { id: uuid::Uuid::now_v7(), ticket_id: uuid::Uuid::now_v7(), level, reason: String::new() }
    }

    #[tokio::test]
    async fn a_kept_rating_survives_a_restart_until_removed_and_is_kept_once() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let outbox = RatingOutbox::open(dir.path(), now).await.unwrap();
        let (a, b) = (rating(RatingLevel::Satisfied), rating(RatingLevel::VerySatisfied));
        outbox.keep(&KeptRating { window: 1, rating: a.clone() }, now).await.unwrap();
        outbox.keep(&KeptRating { window: 1, rating: a.clone() }, now).await.unwrap();
        outbox.keep(&KeptRating { window: 2, rating: b.clone() }, now).await.unwrap();
        outbox.close().await;
        let again = RatingOutbox::open(dir.path(), now).await.unwrap();
        assert_eq!(again.pending().await.unwrap().len(), 2, "kept across a restart, the same rating once");
        again.remove(a.id).await.unwrap();
        assert_eq!(again.pending().await.unwrap(), vec![KeptRating { window: 2, rating: b }]);
        assert!(!dir.path().join(OUTBOX_FILE).exists(), "no file beside the store");
    }

    #[tokio::test]
    async fn the_old_file_is_carried_into_the_store_once_and_deleted_keeping_unreadable_lines() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let (a, b) = (rating(RatingLevel::Dissatisfied), rating(RatingLevel::Satisfied));
        let line = |w, r: &RateTicket| serde_json::to_string(&KeptRating { window: w, rating: r.clone() }).unwrap();
        let file = dir.path().join(OUTBOX_FILE);
        std::fs::write(&file, format!("{}\n{}\n", line(3, &a), line(3, &b))).unwrap();
        let outbox = RatingOutbox::open(dir.path(), now).await.unwrap();
        let pending = outbox.pending().await.unwrap();
        assert_eq!(pending.iter().map(|k| (k.window, k.rating.id)).collect::<Vec<_>>(), [(3, a.id), (3, b.id)]);
        assert!(!file.exists(), "deleted once carried over");
        outbox.remove(a.id).await.unwrap();
        outbox.close().await;
        // Opening again carries nothing back: the uploaded one stays uploaded.
        let again = RatingOutbox::open(dir.path(), now).await.unwrap();
        assert_eq!(again.pending().await.unwrap().len(), 1);
        again.close().await;

        // A line that does not read is never dropped: it stays in the file.
        let c = rating(RatingLevel::VeryDissatisfied);
        std::fs::write(&file, format!("{}\nnot json\n", line(4, &c))).unwrap();
        let third = RatingOutbox::open(dir.path(), now).await.unwrap();
        assert_eq!(third.pending().await.unwrap().len(), 2);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "not json\n");
    }
}
