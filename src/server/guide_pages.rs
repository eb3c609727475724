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
use std::sync::Mutex;

use axum::body::Bytes;
use axum::http::HeaderMap;

use crate::api::GuidePage;

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
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    serde_json::to_writer(&mut encoder, page)?;
    Ok(encoder.finish()?.into())
}

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
