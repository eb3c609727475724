//! The guidance desk's colloquial lexicon, one document with a change sequence (like the
//! working-day calendar).

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::lexicon::Lexicon;

#[async_trait]
pub trait LexiconStore: Send + Sync {
    /// The lexicon and its change sequence, if one was stored.
    async fn lexicon(&self) -> StoreResult<Option<(i64, Lexicon)>>;
    /// Replaces the lexicon; returns the new sequence.
    async fn put_lexicon(&self, lexicon: &Lexicon) -> StoreResult<i64>;
}
