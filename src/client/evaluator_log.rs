//! The evaluator's ratings in its device log: each rating is a `ticket_rated` record appended to
//! the device's local store (`bianmin-local.db`), committed before the applicant is thanked, and
//! uploaded with the same record envelope and the same upload as every other device's records
//! ([`super::sync::upload_own_logs`]), once: the server stores a record by its place and id, so a
//! resend after a lost reply changes nothing.
//!
//! Evaluators of earlier versions kept ratings elsewhere, and each is carried into the log once
//! when the evaluator opens it, nothing dropped: rows of the local store's table `rating_outbox`
//! (moved in one transaction, [`LocalStore::carry_over_rating_outbox`]), and before that lines of
//! `evaluator-outbox.jsonl` in the data directory (appended, then the file is deleted; a line
//! that does not read, or belongs to another window's evaluator, stays in the file).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::local::{LocalError, LocalStore};
use crate::api::RecordEnvelope;
use crate::api::hall::RateTicket;
use crate::domain::center::Post;
use crate::domain::rating::TicketRating;
use crate::domain::record::RecordBody;

/// The file the first evaluators kept their ratings in.
pub const OUTBOX_FILE: &str = "evaluator-outbox.jsonl";
/// The device's local store in the data directory.
pub const LOCAL_STORE_FILE: &str = "bianmin-local.db";

/// A line of [`OUTBOX_FILE`]: a rating waiting for the server, with the window it was given at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptRating {
    pub window: u32,
    pub rating: RateTicket,
}

/// The log of the evaluator facing `window`, signed in as `author` (its device account).
#[derive(Clone)]
pub struct EvaluatorLog {
    store: LocalStore,
    window: u32,
    author: String,
}

impl EvaluatorLog {
    /// Opens the device's local store in `data_dir`, carrying the ratings of earlier evaluators
    /// into the log.
    pub async fn open(data_dir: &Path, window: u32, author: &str, now: DateTime<Utc>) -> Result<Self, LocalError> {
        let (store, _) = LocalStore::open(&data_dir.join(LOCAL_STORE_FILE), now).await?;
        let log = Self { store, window, author: author.to_owned() };
        log.carry_over_file(&data_dir.join(OUTBOX_FILE), now).await?;
        log.store.carry_over_rating_outbox(window, author, now).await?;
        Ok(log)
    }

    /// Appends the readable lines of this window to the log (unless already there), then deletes
    /// the file, or rewrites it with only the lines left.
    async fn carry_over_file(&self, file: &PathBuf, now: DateTime<Utc>) -> Result<(), LocalError> {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                tracing::error!(error = %e, path = %file.display(), "the old evaluator outbox cannot be read; left in place");
                return Ok(());
            }
        };
        let mut left = Vec::new();
        let mut carried = 0usize;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<KeptRating>(line) {
                Ok(kept) if kept.window == self.window => {
                    // Appended before the file is rewritten: a crash in between finds it here.
                    if !self.store.holds_rating(kept.rating.id).await? {
                        self.keep(&kept.rating, now).await?;
                    }
                    carried += 1;
                }
                Ok(_) => left.push(line),
                Err(e) => {
                    tracing::error!(error = %e, "an old evaluator outbox line does not read; left in the file");
                    left.push(line);
                }
            }
        }
        let done = if left.is_empty() {
            std::fs::remove_file(file)
        } else {
            std::fs::write(file, left.iter().map(|l| format!("{l}\n")).collect::<String>())
        };
        if let Err(e) = done {
            tracing::warn!(error = %e, path = %file.display(), "the old evaluator outbox could not be removed");
        }
        tracing::info!(carried, left = left.len(), "old evaluator outbox carried into the device log");
        Ok(())
    }

    /// Keeps a rating: appended to the device log (committed) before this returns.
    pub async fn keep(&self, rating: &RateTicket, now: DateTime<Utc>) -> Result<RecordEnvelope, LocalError> {
        let body = RecordBody::TicketRated(Box::new(TicketRating {
            id: rating.id,
            ticket_id: rating.ticket_id,
            window: self.window,
            level: rating.level,
            reason: rating.reason.clone(),
        }));
        // An evaluator holds no post; its records name the window's A post, the window's own.
        self.store.append(&self.author, self.window, Post::A, &body, now).await
    }

    /// Records of this device the server has not acknowledged yet.
    pub async fn pending(&self) -> Result<usize, LocalError> {
        self.store.pending().await
    }

    pub fn store(&self) -> &LocalStore {
        &self.store
    }

    pub fn window(&self) -> u32 {
        self.window
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

    /// The `ticket_rated` records of the log: (window, author, rating id).
    async fn logged(log: &EvaluatorLog) -> Vec<(u32, String, uuid::Uuid)> {
        let mut out = Vec::new();
        for s in log.store.streams().await.unwrap() {
            for r in log.store.records_between(s.device, &s.stream, 1, s.max, 1000).await.unwrap() {
                if let Ok(RecordBody::TicketRated(t)) = serde_json::from_value::<RecordBody>(r.body.clone()) {
                    out.push((r.window, r.author.clone(), t.id));
                }
            }
        }
        out
    }

    #[tokio::test]
    async fn a_kept_rating_is_a_record_of_the_log_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let log = EvaluatorLog::open(dir.path(), 1, "evaluator-1", now).await.unwrap();
        let a = rating(RatingLevel::Satisfied);
        let record = log.keep(&a, now).await.unwrap();
        assert_eq!((record.stream.as_str(), record.author.as_str(), record.idx), ("w1/ratings", "evaluator-1", 1));
        log.close().await;
        let again = EvaluatorLog::open(dir.path(), 1, "evaluator-1", now).await.unwrap();
        assert_eq!(again.pending().await.unwrap(), 1, "waits for the upload across a restart");
        assert_eq!(logged(&again).await, [(1, "evaluator-1".to_owned(), a.id)]);
        assert!(!dir.path().join(OUTBOX_FILE).exists(), "no file beside the store");
    }

    /// Ratings left by earlier evaluators (the JSON-lines file, the store's `rating_outbox`
    /// table) move into the log once, nothing dropped.
    #[tokio::test]
    async fn ratings_left_in_the_old_file_and_table_move_into_the_log_once() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let (a, b, c, other, unread) = (
            rating(RatingLevel::Dissatisfied),
            rating(RatingLevel::Satisfied),
            rating(RatingLevel::VerySatisfied),
            rating(RatingLevel::BasicallySatisfied),
            rating(RatingLevel::VeryDissatisfied),
        );
        // The table, as the previous evaluator left it (one row of window 3, one of window 4,
        // one that no longer decodes).
        {
            let (store, _) = LocalStore::open(&dir.path().join(LOCAL_STORE_FILE), now).await.unwrap();
            store.close().await;
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join(LOCAL_STORE_FILE).display()))
                .await
                .unwrap();
            for (window, r) in [(3, &c), (4, &other)] {
                sqlx::query("INSERT INTO rating_outbox (id, window_no, body, kept_at) VALUES (?, ?, ?, ?)")
                    .bind(r.id.to_string())
                    .bind(window)
                    .bind(serde_json::to_string(r).unwrap())
                    .bind(now.timestamp())
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            sqlx::query("INSERT INTO rating_outbox (id, window_no, body, kept_at) VALUES (?, 3, 'not json', 0)")
                .bind(unread.id.to_string())
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        let line = |w, r: &RateTicket| serde_json::to_string(&KeptRating { window: w, rating: r.clone() }).unwrap();
        let file = dir.path().join(OUTBOX_FILE);
        std::fs::write(&file, format!("{}\n{}\nnot json\n{}\n", line(3, &a), line(3, &b), line(4, &other))).unwrap();

        let log = EvaluatorLog::open(dir.path(), 3, "evaluator-3", now).await.unwrap();
        let author = "evaluator-3".to_owned();
        let expected = vec![(3, author.clone(), a.id), (3, author.clone(), b.id), (3, author.clone(), c.id)];
        assert_eq!(logged(&log).await, expected, "the file's, then the table's, in order");
        assert_eq!(log.pending().await.unwrap(), 3);
        let other_line = line(4, &other);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            format!("not json\n{other_line}\n"),
            "what does not read, or is another window's, stays in the file"
        );
        log.close().await;

        // Opened again: nothing carried twice.
        let again = EvaluatorLog::open(dir.path(), 3, "evaluator-3", now).await.unwrap();
        assert_eq!(logged(&again).await, expected);
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join(LOCAL_STORE_FILE).display()))
            .await
            .unwrap();
        let left: Vec<String> =
            sqlx::query_scalar("SELECT id FROM rating_outbox ORDER BY window_no").fetch_all(&pool).await.unwrap();
        assert_eq!(left, [unread.id.to_string(), other.id.to_string()], "the unreadable row and window 4's stay");
        pool.close().await;
        again.close().await;

        // Window 4's evaluator takes its own, from the table and from the file, once.
        let four = EvaluatorLog::open(dir.path(), 4, "evaluator-4", now).await.unwrap();
        assert_eq!(logged(&four).await.iter().filter(|(w, _, _)| *w == 4).count(), 1, "the same rating once");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "not json\n");
    }
}
