//! The guidance desk's colloquial lexicon, one document with a change sequence (like the
//! working-day calendar).

use async_trait::async_trait;
use sqlx::Row;

use super::{SqliteStore, StoreError, StoreResult};
use crate::domain::lexicon::Lexicon;

#[async_trait]
pub trait LexiconStore: Send + Sync {
    /// The lexicon and its change sequence, if one was stored.
    async fn lexicon(&self) -> StoreResult<Option<(i64, Lexicon)>>;
    /// Replaces the lexicon; returns the new sequence.
    async fn put_lexicon(&self, lexicon: &Lexicon) -> StoreResult<i64>;
}

#[async_trait]
impl LexiconStore for SqliteStore {
    async fn lexicon(&self) -> StoreResult<Option<(i64, Lexicon)>> {
        let row = sqlx::query("SELECT seq, body FROM lexicon WHERE id = 1").fetch_optional(&self.pool).await?;
        row.map(|r| {
            let seq: i64 = r.try_get("seq")?;
            let body: String = r.try_get("body")?;
            Ok((seq, serde_json::from_str(&body).map_err(StoreError::Corrupt)?))
        })
        .transpose()
    }

    async fn put_lexicon(&self, lexicon: &Lexicon) -> StoreResult<i64> {
        let body = serde_json::to_string(lexicon).map_err(StoreError::Corrupt)?;
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO lexicon (id, seq, body) VALUES (1, 1, ?) \
             ON CONFLICT (id) DO UPDATE SET seq = lexicon.seq + 1, body = excluded.body RETURNING seq",
        )
        .bind(body)
        .fetch_one(&self.pool)
        .await?;
        Ok(seq)
    }
}
