//! The catalogue's pages as sent, kept gzipped per catalogue revision: every terminal's first sync
//! asks for the same pages (`since` = the previous page's last sequence, the default `limit`), so
//! the second terminal's sync is served from memory instead of reading, encoding and compressing
//! the pages again. A change of the catalogue (its sequence moves on) drops every kept page. A
//! center with an overlay on the catalogue has pages of its own ([`PageKey::view`]).
//!
//! Bounded: at most [`MAX_CACHED_BYTES`] of gzipped bodies, the least recently served dropped
//! first. 100,000 generated guides take about 25 MB gzipped, so one revision of a large county
//! catalogue fits whole.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderMap;

use crate::api::GuidePage;
use crate::server::store::{Store, StoreError, StoreResult};

/// The most gzipped page bytes kept at once (all revisions together; in practice one).
pub const MAX_CACHED_BYTES: usize = 64 * 1024 * 1024;

/// Which page: the catalogue revision (its sequence) it was built at, whose view of the catalogue,
/// and the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageKey {
    pub revision: i64,
    /// The center whose overlay the page shows; `None`: the county catalogue as it is, which every
    /// center without an overlay shares. An overlay change moves the catalogue's sequence on (see
    /// `service::catalogue::change_overlay`), so a revision holds for every view.
    pub view: Option<std::sync::Arc<str>>,
    pub since: i64,
    pub limit: Option<u32>,
}

#[derive(Default)]
struct Kept {
    revision: i64,
    /// Least recently served first.
    pages: VecDeque<(PageKey, Bytes)>,
    bytes: usize,
}

/// The kept pages; see the module's description.
pub struct GuidePageCache {
    cap: usize,
    kept: Mutex<Kept>,
}

impl Default for GuidePageCache {
    fn default() -> Self {
        Self::with_cap(MAX_CACHED_BYTES)
    }
}

impl GuidePageCache {
    pub fn with_cap(cap: usize) -> Self {
        Self { cap, kept: Mutex::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // A panic while holding the lock leaves only a cache behind: carry on with it.
        self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The gzipped page, if kept for this revision. Asking with a newer revision drops every page
    /// of the older ones.
    pub fn get(&self, key: &PageKey) -> Option<Bytes> {
        let mut kept = self.lock();
        if kept.revision != key.revision {
            if key.revision > kept.revision {
                *kept = Kept { revision: key.revision, ..Kept::default() };
            }
            return None;
        }
        let at = kept.pages.iter().position(|(k, _)| k == key)?;
        let page = kept.pages.remove(at)?;
        let body = page.1.clone();
        kept.pages.push_back(page);
        Some(body)
    }

    /// Keeps a gzipped page built at `key.revision`, unless the catalogue has moved on since or the
    /// page alone is larger than the cap.
    pub fn put(&self, key: PageKey, body: Bytes) {
        if body.len() > self.cap {
            return;
        }
        let mut kept = self.lock();
        if key.revision < kept.revision {
            return;
        }
        if key.revision > kept.revision {
            *kept = Kept { revision: key.revision, ..Kept::default() };
        }
        if kept.pages.iter().any(|(k, _)| *k == key) {
            return;
        }
        while kept.bytes + body.len() > self.cap {
            let Some((_, dropped)) = kept.pages.pop_front() else { break };
            kept.bytes -= dropped.len();
        }
        kept.bytes += body.len();
        kept.pages.push_back((key, body));
    }

    /// How many pages and gzipped bytes are kept (for tests and figures).
    pub fn size(&self) -> (usize, usize) {
        let kept = self.lock();
        (kept.pages.len(), kept.bytes)
    }
}

/// The page as JSON, gzipped (the default level: the JSON shrinks about tenfold).
pub fn gzip_page(page: &GuidePage) -> std::io::Result<Bytes> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Buffered: see `build_full_reply`.
    let mut buffered = std::io::BufWriter::with_capacity(ENCODE_BUFFER, encoder);
    serde_json::to_writer(&mut buffered, page)?;
    Ok(buffered.into_inner().map_err(std::io::IntoInnerError::into_error)?.finish()?.into())
}

/// The buffer between the JSON encoder's many small writes and the compressor.
const ENCODE_BUFFER: usize = 64 * 1024;

/// The JSON of a gzipped page, for a client that does not take gzip.
pub fn gunzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(body).read_to_end(&mut json)?;
    Ok(json)
}

/// Whether the request's `Accept-Encoding` takes gzip (`gzip`, `x-gzip` or `*`, with a q-value
/// above zero). No header means identity only.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(axum::http::header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|value| {
        value.split(',').any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let q = parts
                .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            q > 0.0 && ["gzip", "x-gzip", "*"].iter().any(|c| coding.eq_ignore_ascii_case(c))
        })
    })
}

/// The whole catalogue after `since` in one reply (`limit` absent: what terminals from before
/// pages ask for), kept gzipped per catalogue revision like the pages. It is built page by page
/// from the store into a gzip stream, so building it holds one page of guides and the compressed
/// bytes, never the whole reply as guides or as JSON (at 100,000 guides that was 800 MB and more
/// than an old terminal's 10 s timeout). One build at a time: terminals asking together wait for
/// the one build and share its bytes.
pub struct FullReplies {
    kept: GuidePageCache,
    building: tokio::sync::Mutex<()>,
    /// The builds under way, one per key: every ask of a key finding no kept reply waits on the
    /// same build instead of starting its own.
    in_flight: Mutex<Vec<(PageKey, BuildDone)>>,
    /// How many whole-catalogue replies were built (for tests and figures).
    builds: std::sync::atomic::AtomicU64,
    /// How long an ask finding no kept reply waits for the build before it is answered 503.
    cold_wait: std::time::Duration,
}

/// What a build of a whole-catalogue reply came to, once it ended: the gzipped reply, or none
/// when the catalogue had moved on from its revision before it began; the store's error as text
/// (shared by every asker).
type Built = Result<Option<Bytes>, String>;

/// Tells every asker of a key when its build ends.
type BuildDone = tokio::sync::watch::Receiver<Option<Built>>;

/// Takes a build off the builds under way when its task ends, however it ends.
struct InFlightEntry {
    replies: Arc<FullReplies>,
    key: PageKey,
}

impl Drop for InFlightEntry {
    fn drop(&mut self) {
        let mut in_flight = self.replies.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        in_flight.retain(|(key, _)| key != &self.key);
    }
}

/// How long an old terminal's ask waits for a reply being built before it is told to come back
/// ([`FULL_REPLY_RETRY_AFTER`]): well inside the terminal's 10 s request timeout, so a build that
/// takes longer on a loaded server (100,000 guides: 5-10 s) is a clear "not yet" instead of a
/// timeout, and the build goes on for the terminal's next ask.
pub const FULL_REPLY_COLD_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Seconds a 503 for a whole-catalogue reply being built asks the client to wait (`Retry-After`).
pub const FULL_REPLY_RETRY_AFTER: u64 = 5;

/// The most gzipped bytes of whole-catalogue replies kept at once (100,000 generated guides take
/// about 40 MB; a second revision's reply replaces the first).
pub const MAX_FULL_REPLY_BYTES: usize = 128 * 1024 * 1024;

/// How many guides are read and encoded at a time while building a whole-catalogue reply.
const FULL_REPLY_PAGE: u32 = 1000;

/// How often the server looks whether the catalogue moved on, to build the new reply before an
/// old terminal asks for it (an import runs in another process and tells the server nothing).
pub const FULL_REPLY_POLL: std::time::Duration = std::time::Duration::from_secs(5);

impl Default for FullReplies {
    fn default() -> Self {
        Self::with_cold_wait(FULL_REPLY_COLD_WAIT)
    }
}

impl FullReplies {
    /// With another wait for a cold ask than [`FULL_REPLY_COLD_WAIT`] (tests: zero).
    pub fn with_cold_wait(cold_wait: std::time::Duration) -> Self {
        Self {
            kept: GuidePageCache::with_cap(MAX_FULL_REPLY_BYTES),
            building: tokio::sync::Mutex::new(()),
            in_flight: Mutex::default(),
            builds: Default::default(),
            cold_wait,
        }
    }

    /// The reply for `key`: kept, or built within the cold wait. `None`: still being built (the
    /// build goes on in a task of its own, kept for the next ask, whatever becomes of this one),
    /// or `key` is no longer the catalogue's current revision.
    pub async fn get_within_wait(self: &Arc<Self>, store: Arc<dyn Store>, key: PageKey) -> StoreResult<Option<Bytes>> {
        if let Some(kept) = self.kept.get(&key) {
            return Ok(Some(kept));
        }
        let mut done = self.build_once(store, key);
        let built = match tokio::time::timeout(self.cold_wait, done.wait_for(Option::is_some)).await {
            Ok(Ok(built)) => built.clone(),
            Ok(Err(_)) => Some(Err("the whole-catalogue build ended without a result".to_owned())),
            Err(_) => None,
        };
        match built {
            Some(Ok(reply)) => Ok(reply),
            Some(Err(e)) => Err(StoreError::from(sqlx::Error::Io(std::io::Error::other(e)))),
            None => Ok(None),
        }
    }

    /// The build of `key` under way, started now in a task of its own when there is none. The
    /// task logs a failed build itself: its askers may all have been answered already.
    fn build_once(self: &Arc<Self>, store: Arc<dyn Store>, key: PageKey) -> BuildDone {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, done)) = in_flight.iter().find(|(k, _)| k == &key) {
            return done.clone();
        }
        let (tell, done) = tokio::sync::watch::channel(None);
        in_flight.push((key.clone(), done.clone()));
        let entry = InFlightEntry { replies: self.clone(), key };
        tokio::spawn(async move {
            let built = entry.replies.build_if_current(store.as_ref(), &entry.key).await;
            if let Err(e) = &built {
                tracing::warn!(
                    revision = entry.key.revision,
                    since = entry.key.since,
                    error = %e,
                    "building the whole-catalogue reply failed"
                );
            }
            tell.send_replace(Some(built.map_err(|e| e.to_string())));
            drop(entry);
        });
        done
    }

    /// The gzipped reply for `key` (`key.limit` is none): kept, or built now (and kept when the
    /// catalogue did not change while it was built). `None`: the catalogue moved on from
    /// `key.revision` before the build's turn came, so nothing is built for a reply nobody keeps.
    async fn build_if_current(&self, store: &dyn Store, key: &PageKey) -> StoreResult<Option<Bytes>> {
        if let Some(kept) = self.kept.get(key) {
            return Ok(Some(kept));
        }
        let _turn = self.building.lock().await;
        if let Some(kept) = self.kept.get(key) {
            return Ok(Some(kept));
        }
        if store.catalogue_seq().await? != key.revision {
            tracing::debug!(revision = key.revision, "whole-catalogue reply of an old revision not built");
            return Ok(None);
        }
        self.builds.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let started = std::time::Instant::now();
        let body = build_full_reply(store, key.since).await?;
        let unchanged = store.catalogue_seq().await? == key.revision;
        tracing::info!(
            revision = key.revision,
            since = key.since,
            gzipped_bytes = body.len(),
            ms = started.elapsed().as_millis() as u64,
            kept = unchanged,
            "whole-catalogue reply built"
        );
        if unchanged {
            self.kept.put(key.clone(), body.clone());
        }
        Ok(Some(body))
    }

    /// How many whole-catalogue replies were built since the server started (for tests and
    /// figures).
    pub fn builds(&self) -> u64 {
        self.builds.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many whole-catalogue builds are under way or wait for their turn: one per key at
    /// most (for tests).
    pub fn builds_under_way(&self) -> usize {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Holds every build back until the guard is dropped (tests: asks arriving while a build
    /// is under way).
    #[doc(hidden)]
    pub async fn hold_builds(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.building.lock().await
    }

    /// Whether the reply for `key` is kept (for tests and figures).
    pub fn is_kept(&self, key: &PageKey) -> bool {
        let kept = self.kept.lock();
        kept.revision == key.revision && kept.pages.iter().any(|(k, _)| k == key)
    }

    /// Keeps the whole-catalogue reply of the current revision built: at once, then whenever the
    /// catalogue's sequence moves on (looked at every [`FULL_REPLY_POLL`]). Runs until the
    /// server's runtime ends.
    pub async fn keep_built(self: Arc<Self>, store: Arc<dyn Store>) {
        let mut built = None;
        loop {
            match store.catalogue_seq().await {
                Ok(revision) if built != Some(revision) => {
                    let key = PageKey { revision, view: None, since: 0, limit: None };
                    // The one build of this key, shared with the terminals asking meanwhile; its
                    // task logs a failure. Not built (the catalogue moved on): the next look
                    // builds the new revision.
                    let mut done = self.build_once(store.clone(), key);
                    if let Ok(ended) = done.wait_for(Option::is_some).await
                        && matches!(*ended, Some(Ok(Some(_))))
                    {
                        built = Some(revision);
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reading the catalogue sequence failed"),
            }
            tokio::time::sleep(FULL_REPLY_POLL).await;
        }
    }
}

/// The JSON of `GuidePage { seq, guides, more: false }` with every guide after `since`, gzipped,
/// read [`FULL_REPLY_PAGE`] guides at a time. Equal to the one-page reply when the catalogue does
/// not change meanwhile; when it does, a changed guide is found later in change order, as by a
/// terminal reading pages.
pub async fn build_full_reply(store: &dyn Store, since: i64) -> StoreResult<Bytes> {
    use std::io::Write;
    // serde_json writes token by token; the encoder compresses each write as it comes, so without
    // a buffer between them most of the time went in per-call overhead.
    let encoder = std::io::BufWriter::with_capacity(
        ENCODE_BUFFER,
        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(FULL_REPLY_LEVEL)),
    );
    let mut state = (encoder, false);
    // Encoding into memory fails only as the allocator does; reported as the store's I/O error.
    let io = |e: std::io::Error| StoreError::from(sqlx::Error::Io(e));
    state.0.write_all(b"{\"guides\":[").map_err(io)?;
    let mut cursor = since;
    let seq = loop {
        let page = store.guides_page(cursor, Some(FULL_REPLY_PAGE), crate::api::MAX_GUIDE_PAGE_BYTES).await?;
        let (seq, more) = (page.seq, page.more);
        state = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
            let (mut encoder, mut any) = state;
            for guide in &page.guides {
                if any {
                    encoder.write_all(b",")?;
                }
                serde_json::to_writer(&mut encoder, guide)?;
                any = true;
            }
            Ok((encoder, any))
        })
        .await
        .map_err(|e| io(std::io::Error::other(e)))?
        .map_err(io)?;
        cursor = seq;
        if !more {
            break seq;
        }
    };
    let (mut encoder, _) = state;
    write!(encoder, "],\"seq\":{seq},\"more\":false}}").map_err(io)?;
    let mut body = encoder.into_inner().map_err(|e| io(e.into_error()))?.finish().map_err(io)?;
    body.shrink_to_fit();
    Ok(body.into())
}

/// gzip level of the whole-catalogue reply: 1 compresses 250 MB of JSON several times faster
/// than the default 6 for a reply about a third larger, which keeps a reply built while an old
/// terminal waits within its timeout.
const FULL_REPLY_LEVEL: u32 = 1;

/// The JSON in `gzipped`, unzipped 64 KiB at a time as it is sent (for a client that does not
/// take gzip): never the whole JSON in memory.
pub fn gunzip_stream(gzipped: Bytes) -> axum::body::Body {
    let decoder = flate2::read::GzDecoder::new(std::io::Cursor::new(gzipped));
    let chunks = futures_util::stream::unfold(Some(decoder), |decoder| async move {
        let mut decoder = decoder?;
        let mut chunk = vec![0; 64 * 1024];
        match decoder.read(&mut chunk) {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some((Ok(Bytes::from(chunk)), Some(decoder)))
            }
            Err(e) => {
                tracing::error!(error = %e, "a kept catalogue reply does not unzip");
                Some((Err(e), None))
            }
        }
    });
    axum::body::Body::from_stream(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(revision: i64, since: i64) -> PageKey {
        PageKey { revision, view: None, since, limit: Some(1000) }
    }

    #[test]
    fn a_newer_revision_drops_the_older_pages_and_the_cap_holds() {
        let cache = GuidePageCache::with_cap(10);
        cache.put(key(5, 0), Bytes::from_static(b"aaaa"));
        cache.put(key(5, 4), Bytes::from_static(b"bbbb"));
        assert_eq!(cache.get(&key(5, 0)).as_deref(), Some(&b"aaaa"[..]));
        // Over the cap: the least recently served page (since=4) goes.
        cache.put(key(5, 8), Bytes::from_static(b"cccc"));
        assert_eq!(cache.size(), (2, 8));
        assert!(cache.get(&key(5, 4)).is_none());
        assert!(cache.get(&key(5, 0)).is_some());
        // Too big alone: not kept.
        cache.put(key(5, 12), Bytes::from_static(b"dddddddddddd"));
        assert!(cache.get(&key(5, 12)).is_none());
        // The catalogue changed: nothing of revision 5 is served, and a late page of it is not kept.
        assert!(cache.get(&key(6, 0)).is_none());
        assert_eq!(cache.size(), (0, 0));
        cache.put(key(5, 0), Bytes::from_static(b"aaaa"));
        assert_eq!(cache.size(), (0, 0));
    }

    #[test]
    fn accept_encoding_is_read_with_its_q_values() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(axum::http::header::ACCEPT_ENCODING, v.parse().unwrap());
            accepts_gzip(&h)
        };
        assert!(with("gzip"));
        assert!(with("br, GZIP;q=0.5"));
        assert!(with("*"));
        assert!(!with("gzip;q=0"));
        assert!(!with("identity"));
        assert!(!with("br, deflate"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
