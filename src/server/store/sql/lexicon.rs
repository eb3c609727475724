//! The guidance desk's lexicon, shared by both backends.

use async_trait::async_trait;
use sqlx::Row;

use super::{Backend, q};
use crate::domain::lexicon::Lexicon;
use crate::server::store::{LexiconStore, StoreError, StoreResult};

#[async_trait]
impl LexiconStore for Backend {
    async fn lexicon(&self) -> StoreResult<Option<(i64, Lexicon)>> {
        let row = sqlx::query(&q("SELECT seq, body FROM lexicon WHERE id = 1")).fetch_optional(&self.pool).await?;
        row.map(|r| {
            let seq: i64 = r.try_get("seq")?;
            let body: String = r.try_get("body")?;
            Ok((seq, serde_json::from_str(&body).map_err(StoreError::Corrupt)?))
        })
        .transpose()
    }

    async fn put_lexicon(&self, lexicon: &Lexicon) -> StoreResult<i64> {
        let body = serde_json::to_string(lexicon).map_err(StoreError::Corrupt)?;
        let seq: i64 = sqlx::query_scalar(&q("INSERT INTO lexicon (id, seq, body) VALUES (1, 1, ?) \
             ON CONFLICT (id) DO UPDATE SET seq = lexicon.seq + 1, body = excluded.body RETURNING seq"))
        .bind(body)
        .fetch_one(&self.pool)
        .await?;
        Ok(seq)
    }
}
