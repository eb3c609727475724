//! The catalogue job: holds the service guides' summaries and their search index off the UI
//! thread. The app sends it the query on every keystroke through a single slot (only the latest
//! query is searched, so typing is never held up by a search at any catalogue size) and asks it
//! for whole guides, which it reads from the terminal's cache one at a time; the backend tells it
//! when the cached catalogue changed.
//!
//! Whole guides are never all in memory: the cache is read a page at a time, each guide decoded,
//! indexed and reduced to its summary before the next page is read.

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, watch};

use super::app::{AppEvent, BackendEvent};
use crate::api::GuideSummary;
use crate::client::local::LocalStore;
use crate::client::stored_index;
use crate::domain::guide::ServiceGuide;
use crate::domain::lexicon::Lexicon;
use crate::search::{SearchIndex, SearchIndexBuilder};

/// How many results a query shows: more than fit on any screen.
pub const RESULT_LIMIT: usize = 200;

/// Cached guides read (and decoded) per page while loading.
const LOAD_PAGE: u32 = 256;

/// One search result, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRow {
    pub code: String,
    pub name: String,
    pub department: String,
    pub promised_limit_days: u32,
    /// Where the query matched, when not in the name (别名, 材料, ...).
    pub field: Option<&'static str>,
    /// Matched by allowing a typo (近似).
    pub fuzzy: bool,
    /// Byte ranges of `name` to highlight.
    pub highlight: Vec<Range<usize>>,
    /// The words of the question this guide matched.
    pub matched: Vec<String>,
    /// The words of the question it did not match (empty: it answers all of it).
    pub missed: Vec<String>,
    /// The whole guide, for the desk's answer card: the first result only.
    pub guide: Option<Box<ServiceGuide>>,
}

/// What the job is asked.
enum Request {
    /// A catalogue held in memory (no local store).
    Replace(Vec<ServiceGuide>),
    /// The catalogue cached in the local store (read at start, and again after a sync changed it).
    Load(LocalStore),
    Lexicon(Lexicon),
    Open(String),
}

#[derive(Clone)]
pub struct CatalogueHandle {
    requests: mpsc::UnboundedSender<Request>,
    query: Arc<watch::Sender<String>>,
}

impl CatalogueHandle {
    /// A new catalogue held in memory (only when there is no local store to read it from).
    pub fn replace(&self, guides: Vec<ServiceGuide>) {
        let _ = self.requests.send(Request::Replace(guides));
    }

    /// The catalogue cached in `store` (at start-up, or after a sync brought changes): read a
    /// page at a time by the job; whole guides are read again only when opened.
    pub fn load(&self, store: LocalStore) {
        let _ = self.requests.send(Request::Load(store));
    }

    /// A new lexicon (from the cache at start-up, or after a sync brought a changed one): the
    /// index is rebuilt with it.
    pub fn set_lexicon(&self, lexicon: Lexicon) {
        let _ = self.requests.send(Request::Lexicon(lexicon));
    }

    /// The latest query; an older one not yet searched is dropped.
    pub fn search(&self, query: String) {
        self.query.send_replace(query);
    }

    pub fn open(&self, code: String) {
        let _ = self.requests.send(Request::Open(code));
    }
}

/// Where whole guides come from.
enum Source {
    Memory(Arc<Vec<ServiceGuide>>),
    Store(LocalStore),
}

struct Catalogue {
    /// What the list and the results show, in the index's order.
    summaries: Arc<Vec<GuideSummary>>,
    index: Arc<SearchIndex>,
    source: Source,
    /// For a catalogue from the store: what it was built from, and its storing beside it.
    loaded: Option<(stored_index::Stamp, Option<tokio::task::JoinHandle<()>>)>,
}

impl Catalogue {
    /// The catalogue from the store, to bring up to date (`None`: not from the store).
    fn take_loaded(&mut self) -> Option<Loaded> {
        let (stamp, saving) = self.loaded.take()?;
        let summaries = std::mem::take(&mut self.summaries);
        let index = std::mem::replace(&mut self.index, Arc::new(SearchIndex::build(&[])));
        Some(Loaded { stamp, summaries, index, saving })
    }

    fn from_store(loaded: Loaded, store: LocalStore) -> Self {
        Catalogue {
            summaries: loaded.summaries,
            index: loaded.index,
            source: Source::Store(store),
            loaded: Some((loaded.stamp, loaded.saving)),
        }
    }
}

/// The summaries and index of the catalogue cached in `store` (see [`refresh`]), stored beside
/// it before this returns. `None` when the store could not be read to the end.
pub async fn load(store: &LocalStore, lexicon: Arc<Lexicon>) -> Option<(Vec<GuideSummary>, SearchIndex)> {
    let mut loaded = refresh(store, lexicon, None).await?;
    if let Some(saving) = loaded.saving.take() {
        let _ = saving.await;
    }
    let summaries = Arc::try_unwrap(loaded.summaries).unwrap_or_else(|s| (*s).clone());
    let index = Arc::try_unwrap(loaded.index).ok()?;
    Some((summaries, index))
}

/// A catalogue as loaded from the local store.
pub struct Loaded {
    /// What it was built from.
    stamp: stored_index::Stamp,
    /// What the list and the results show, in the index's order (code order).
    summaries: Arc<Vec<GuideSummary>>,
    index: Arc<SearchIndex>,
    /// Writing it beside the store, when it was not read from there.
    saving: Option<tokio::task::JoinHandle<()>>,
}

impl Loaded {
    pub fn summaries(&self) -> &[GuideSummary] {
        &self.summaries
    }

    pub fn index(&self) -> &SearchIndex {
        &self.index
    }

    /// Waits until it is stored beside the store (when it is being stored).
    pub async fn stored(&mut self) {
        if let Some(saving) = self.saving.take() {
            let _ = saving.await;
        }
    }
}

/// Guides a delta may change before the index is rebuilt instead of updated in place (at least
/// this many, else an eighth of the catalogue), and as many retired guides the updated index may
/// carry before it is rebuilt to drop them.
const IN_PLACE_MIN: usize = 64;

/// The summaries and index of the catalogue cached in `store`, as cheaply as they can be had:
/// - `held` (the catalogue in memory) when it is current; brought up to date in place when the
///   store only has guides stored since (a delta sync): only those are read and indexed;
/// - else the index stored beside the store when it was built from this catalogue and lexicon,
///   or from an earlier sequence of it, then brought up to date in place the same way;
/// - else built from the whole store.
///
/// Whatever was not read from the file as it is gets stored beside the store in the background
/// (`saving`). `None` when the store could not be read to the end (the catalogue shown stays as
/// it was).
pub async fn refresh(store: &LocalStore, lexicon: Arc<Lexicon>, held: Option<Loaded>) -> Option<Loaded> {
    let started = Instant::now();
    // Read before the guides: a change applied while they are read makes the stamp older than
    // the index, so the index is brought up to date next time rather than trusted wrongly.
    let (seq, revision) = match store.catalogue_revision().await {
        Ok(read) => read,
        Err(e) => {
            tracing::error!(error = %e, "cached catalogue could not be read");
            return None;
        }
    };
    let stamp = stored_index::Stamp::new(seq, revision, &lexicon);
    let file = stored_index::path_for(store.path());
    if let Some(mut held) = held {
        if let Some(saving) = held.saving.take() {
            let _ = saving.await;
        }
        if held.stamp == stamp {
            return Some(held);
        }
        if held.stamp.precedes(&stamp)
            && let Ok(index) = Arc::try_unwrap(held.index)
            && let Some((summaries, index)) = catch_up(store, held.stamp.catalogue_seq, &held.summaries, index).await
        {
            tracing::info!(
                guides = summaries.len(),
                ms = started.elapsed().as_millis() as u64,
                "catalogue index updated in place"
            );
            return Some(save_later(file, stamp, summaries, index));
        }
    }
    let stored = {
        let (file, stamp) = (file.clone(), stamp.clone());
        tokio::task::spawn_blocking(move || stored_index::load_current_or_earlier(&file, &stamp)).await.ok()?
    };
    match stored {
        Ok((found, summaries, index)) if found == stamp => {
            tracing::info!(
                guides = summaries.len(),
                ms = started.elapsed().as_millis() as u64,
                "catalogue index loaded from the cache"
            );
            return Some(Loaded { stamp, summaries: Arc::new(summaries), index: Arc::new(index), saving: None });
        }
        Ok((found, summaries, index)) => {
            if let Some((summaries, index)) = catch_up(store, found.catalogue_seq, &summaries, index).await {
                tracing::info!(
                    guides = summaries.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "catalogue index loaded from the cache and updated in place"
                );
                return Some(save_later(file, stamp, summaries, index));
            }
        }
        Err(stored_index::Unusable::Missing) => {
            tracing::info!(file = %file.display(), "no stored search index; building it")
        }
        Err(why) => {
            tracing::warn!(file = %file.display(), reason = %why, "stored search index not used; rebuilding it")
        }
    }
    let (summaries, index) = build(store, lexicon).await?;
    tracing::info!(guides = summaries.len(), ms = started.elapsed().as_millis() as u64, "catalogue loaded");
    Some(save_later(file, stamp, summaries, index))
}

/// The catalogue, with a task storing it beside the store.
fn save_later(
    file: std::path::PathBuf,
    stamp: stored_index::Stamp,
    summaries: Vec<GuideSummary>,
    index: SearchIndex,
) -> Loaded {
    let (summaries, index) = (Arc::new(summaries), Arc::new(index));
    let (to_save, stamp_saved, summaries_saved, index_saved) = (file, stamp.clone(), summaries.clone(), index.clone());
    let saving = tokio::task::spawn_blocking(move || {
        if let Err(e) = stored_index::save(&to_save, &stamp_saved, &summaries_saved, &index_saved) {
            tracing::warn!(file = %to_save.display(), error = %e, "search index not stored; rebuilt again next time");
        }
    });
    Loaded { stamp, summaries, index, saving: Some(saving) }
}

/// `summaries` and `index`, built from the store at catalogue sequence `since`, brought up to
/// date in place with the guides stored after it: only those are read, decoded and indexed.
/// `None` (build from the whole store instead) when the delta or the retired guides it would
/// leave are too many, or when the updated catalogue does not hold every guide the store has.
async fn catch_up(
    store: &LocalStore,
    since: i64,
    summaries: &[GuideSummary],
    index: SearchIndex,
) -> Option<(Vec<GuideSummary>, SearchIndex)> {
    let (all, changed) = store
        .guide_counts(since)
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "cached catalogue could not be counted; rebuilding the index"))
        .ok()?;
    let limit = (summaries.len() / 8).max(IN_PLACE_MIN);
    if changed as usize + index.retired() > limit {
        tracing::info!(
            changed,
            retired = index.retired(),
            "catalogue delta too large to apply in place; rebuilding the index"
        );
        return None;
    }
    let rows = store
        .guides_since(since)
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "changed guides could not be read; rebuilding the index"))
        .ok()?;
    let old: Vec<GuideSummary> = summaries.to_vec();
    let updated = tokio::task::spawn_blocking(move || {
        let changed: Vec<(String, Option<ServiceGuide>)> = rows
            .into_iter()
            .map(|(code, body)| {
                let guide = serde_json::from_str::<ServiceGuide>(&body)
                    .inspect_err(|e| tracing::warn!(%code, error = %e, "cached guide skipped"))
                    .ok();
                (code, guide)
            })
            .collect();
        let (summaries, moved, added) = merge(old, &changed);
        let added: Vec<(u32, &ServiceGuide)> =
            added.into_iter().map(|(p, i)| (p, changed[i].1.as_ref().expect("decoded"))).collect();
        let index = index.update(&moved, &added).ok()?;
        Some((summaries, index))
    })
    .await
    .ok()??;
    if updated.0.len() as u64 != all {
        tracing::warn!(
            indexed = updated.0.len(),
            cached = all,
            "updated catalogue index does not hold every cached guide; rebuilding it"
        );
        return None;
    }
    Some(updated)
}

/// The summaries of the catalogue after `changed` (code order, each guide decoded or `None`
/// when it could not be) replaced or joined `old` (code order), with what
/// [`SearchIndex::update`] needs: per old guide its new position (`None`: replaced), and per
/// decoded changed guide its new position and its place in `changed`.
#[allow(clippy::type_complexity)]
fn merge(
    old: Vec<GuideSummary>,
    changed: &[(String, Option<ServiceGuide>)],
) -> (Vec<GuideSummary>, Vec<Option<u32>>, Vec<(u32, usize)>) {
    let mut summaries = Vec::with_capacity(old.len() + changed.len());
    let mut moved = vec![None; old.len()];
    let mut added = Vec::new();
    let mut next = changed.iter().enumerate().peekable();
    for (i, summary) in old.into_iter().enumerate() {
        // Replaced by its new version (or gone, when that does not decode).
        let mut replaced = false;
        while let Some((j, (code, guide))) = next.next_if(|(_, (code, _))| *code <= summary.code) {
            replaced |= *code == summary.code;
            if let Some(guide) = guide {
                added.push((summaries.len() as u32, j));
                summaries.push(GuideSummary::from(guide));
            }
        }
        if !replaced {
            moved[i] = Some(summaries.len() as u32);
            summaries.push(summary);
        }
    }
    for (j, (_, guide)) in next {
        if let Some(guide) = guide {
            added.push((summaries.len() as u32, j));
            summaries.push(GuideSummary::from(guide));
        }
    }
    (summaries, moved, added)
}

/// The summaries and index of the catalogue cached in `store`, read a page at a time: the pages
/// are decoded and indexed on a blocking thread while the next is read. `None` when the store
/// could not be read to the end.
async fn build(store: &LocalStore, lexicon: Arc<Lexicon>) -> Option<(Vec<GuideSummary>, SearchIndex)> {
    let (pages, mut page_rx) = mpsc::channel::<Vec<(String, String)>>(2);
    let indexer = tokio::task::spawn_blocking(move || {
        let mut builder = SearchIndexBuilder::new(&lexicon);
        let mut summaries = Vec::new();
        while let Some(page) = page_rx.blocking_recv() {
            for (code, body) in page {
                match serde_json::from_str::<ServiceGuide>(&body) {
                    Ok(guide) => {
                        summaries.push(GuideSummary::from(&guide));
                        builder.add(&guide);
                    }
                    Err(e) => tracing::warn!(%code, error = %e, "cached guide skipped"),
                }
            }
        }
        summaries.shrink_to_fit();
        (summaries, builder.finish())
    });
    let mut after = String::new();
    let mut complete = true;
    loop {
        match store.guide_page(&after, LOAD_PAGE).await {
            Ok(page) if page.is_empty() => break,
            Ok(page) => {
                if let Some((code, _)) = page.last() {
                    after.clone_from(code);
                }
                if pages.send(page).await.is_err() {
                    complete = false;
                    break;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cached catalogue could not be read");
                complete = false;
                break;
            }
        }
    }
    drop(pages);
    let (summaries, index) = indexer.await.ok()?;
    if !complete {
        return None;
    }
    Some((summaries, index))
}

/// One whole guide for the desk, from wherever the catalogue is held.
async fn whole_guide(source: &Source, code: &str) -> Result<Option<ServiceGuide>, String> {
    match source {
        Source::Memory(guides) => Ok(guides.iter().find(|g| g.code == code).cloned()),
        Source::Store(store) => store.guide(code).await.map_err(|e| {
            tracing::error!(%code, error = %e, "cached guide could not be read");
            format!("读取本机事项 {code} 失败，请重试；仍失败请联系管理员")
        }),
    }
}

pub fn spawn(events: mpsc::UnboundedSender<AppEvent>) -> CatalogueHandle {
    let (requests, mut request_rx) = mpsc::unbounded_channel();
    let (query, mut query_rx) = watch::channel(String::new());
    tokio::spawn(async move {
        let mut catalogue = Catalogue {
            summaries: Arc::new(Vec::new()),
            index: Arc::new(SearchIndex::build(&[])),
            source: Source::Memory(Arc::new(Vec::new())),
            loaded: None,
        };
        let mut lexicon = Arc::new(Lexicon::bundled().clone());
        let report = |event| events.send(AppEvent::Backend(event)).is_ok();
        loop {
            tokio::select! {
                request = request_rx.recv() => match request {
                    Some(Request::Lexicon(new)) => {
                        // The first sync usually brings the lexicon the job already has.
                        if *lexicon == new {
                            continue;
                        }
                        lexicon = Arc::new(new);
                        match &catalogue.source {
                            Source::Memory(guides) => {
                                let (guides, words) = (guides.clone(), lexicon.clone());
                                let index = tokio::task::spawn_blocking(move || SearchIndex::build_with(&guides, &words)).await;
                                let Ok(index) = index else { continue };
                                catalogue.index = Arc::new(index);
                            }
                            Source::Store(store) => {
                                // Another lexicon: the index is built again (the file is of the old one).
                                let store = store.clone();
                                let Some(loaded) = refresh(&store, lexicon.clone(), None).await else { continue };
                                catalogue = Catalogue::from_store(loaded, store);
                            }
                        }
                        // Results on screen must come from the new lexicon.
                        if !query_rx.borrow().trim().is_empty() {
                            query_rx.mark_changed();
                        }
                    }
                    Some(Request::Replace(guides)) => {
                        let summaries: Vec<GuideSummary> = guides.iter().map(GuideSummary::from).collect();
                        let guides = Arc::new(guides);
                        let (for_index, words) = (guides.clone(), lexicon.clone());
                        // Building the index grows with the catalogue: never on the UI thread.
                        let index = tokio::task::spawn_blocking(move || SearchIndex::build_with(&for_index, &words)).await;
                        let Ok(index) = index else { continue };
                        let summaries = Arc::new(summaries);
                        catalogue = Catalogue {
                            summaries: summaries.clone(),
                            index: Arc::new(index),
                            source: Source::Memory(guides),
                            loaded: None,
                        };
                        if !report(BackendEvent::Guides(summaries)) {
                            return;
                        }
                        // The shown results must come from the new catalogue.
                        query_rx.mark_changed();
                    }
                    Some(Request::Load(store)) => {
                        // The catalogue in memory is brought up to date in place when it came
                        // from this store (after a delta sync: only the changed guides are read).
                        let same_store = matches!(&catalogue.source, Source::Store(s) if s.path() == store.path());
                        // A store that cannot be read now (busy, damaged) leaves the catalogue in
                        // hand as it is: handing it over first would leave search with nothing.
                        if same_store && let Err(e) = store.catalogue_revision().await {
                            tracing::error!(error = %e, "cached catalogue could not be read; the one in memory stays");
                            let message = "本机事项目录暂时读取失败，搜索仍按上次读取的目录；请稍后重试，仍失败请联系管理员";
                            if !report(BackendEvent::Message(message.into())) {
                                return;
                            }
                            continue;
                        }
                        let held = if same_store { catalogue.take_loaded() } else { None };
                        let Some(loaded) = refresh(&store, lexicon.clone(), held).await else {
                            // What was held was handed over and is gone: the list and search show
                            // nothing rather than disagree, and the next load reads it whole.
                            catalogue = Catalogue {
                                summaries: Arc::default(),
                                index: Arc::new(SearchIndex::build(&[])),
                                source: Source::Store(store),
                                loaded: None,
                            };
                            if !report(BackendEvent::Guides(catalogue.summaries.clone()))
                                || !report(BackendEvent::Message("本机事项目录读取失败，请重启程序；仍失败请联系管理员".into()))
                            {
                                return;
                            }
                            query_rx.mark_changed();
                            continue;
                        };
                        catalogue = Catalogue::from_store(loaded, store);
                        let shown = catalogue.summaries.clone();
                        // What loading or updating freed (the old index, the file's bytes, the
                        // decoded pages) goes back to the system.
                        crate::client::memory::release_free();
                        if !report(BackendEvent::Guides(shown)) {
                            return;
                        }
                        query_rx.mark_changed();
                    }
                    Some(Request::Open(code)) => {
                        let event = match whole_guide(&catalogue.source, &code).await {
                            Ok(Some(guide)) => BackendEvent::GuideDetail(Box::new(guide)),
                            Ok(None) => BackendEvent::Message(format!("本机没有编码为 {code} 的事项")),
                            Err(message) => BackendEvent::Message(message),
                        };
                        if !report(event) {
                            return;
                        }
                    }
                    None => return,
                },
                changed = query_rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let query = query_rx.borrow_and_update().clone();
                    let searched = query.clone();
                    let index = catalogue.index.clone();
                    let rows = match &catalogue.source {
                        Source::Memory(guides) => {
                            let guides = guides.clone();
                            tokio::task::spawn_blocking(move || rows_for(&guides, &index, &searched)).await
                        }
                        Source::Store(_) => {
                            let summaries = catalogue.summaries.clone();
                            tokio::task::spawn_blocking(move || rows_for(&summaries, &index, &searched)).await
                        }
                    };
                    let Ok(mut rows) = rows else { continue };
                    // The answer card's whole guide: one row read from the cache.
                    if let (Source::Store(_), Some(first)) = (&catalogue.source, rows.first_mut())
                        && first.guide.is_none()
                    {
                        first.guide = whole_guide(&catalogue.source, &first.code).await.ok().flatten().map(Box::new);
                    }
                    if !report(BackendEvent::SearchResults { query, rows }) {
                        return;
                    }
                }
            }
        }
    });
    CatalogueHandle { requests, query: Arc::new(query) }
}

/// What a result row needs of a guide: a whole guide or its summary.
pub trait Listed {
    fn summary(&self) -> (&str, &str, &str, u32);
    /// The whole guide, when this is one.
    fn whole(&self) -> Option<&ServiceGuide>;
}

impl Listed for ServiceGuide {
    fn summary(&self) -> (&str, &str, &str, u32) {
        (&self.code, &self.name, &self.department, self.promised_limit_days)
    }

    fn whole(&self) -> Option<&ServiceGuide> {
        Some(self)
    }
}

impl Listed for GuideSummary {
    fn summary(&self) -> (&str, &str, &str, u32) {
        (&self.code, &self.name, &self.department, self.promised_limit_days)
    }

    fn whole(&self) -> Option<&ServiceGuide> {
        None
    }
}

/// The rows for a question: [`SearchIndex::ask`], each guide with the words it matched, the
/// first with its whole guide for the answer card when `guides` are whole guides.
pub fn rows_for<G: Listed>(guides: &[G], index: &SearchIndex, query: &str) -> Vec<SearchRow> {
    let answer = index.ask(query, RESULT_LIMIT);
    answer
        .hits
        .into_iter()
        .enumerate()
        .filter_map(|(i, hit)| {
            let g = guides.get(hit.guide)?;
            let (code, name, department, promised_limit_days) = g.summary();
            let missed = answer.words.iter().filter(|w| !hit.matched.contains(w)).cloned().collect();
            Some(SearchRow {
                code: code.to_owned(),
                name: name.to_owned(),
                department: department.to_owned(),
                promised_limit_days,
                field: (hit.field != crate::search::MatchField::Name).then(|| hit.field.label()),
                fuzzy: hit.fuzzy,
                highlight: hit.name_highlight,
                matched: hit.matched,
                missed,
                guide: if i == 0 { g.whole().map(|g| Box::new(g.clone())) } else { None },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A local store in a temp dir holding the bundled catalogue (sequence 1), the guides it was
    /// given, and the bundled lexicon.
    async fn store_with_the_bundled_catalogue() -> (tempfile::TempDir, LocalStore, Vec<ServiceGuide>, Arc<Lexicon>) {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = LocalStore::open(&dir.path().join("local.db"), chrono::Utc::now()).await.unwrap();
        let guides = crate::assets::bundled_catalogue().unwrap().guides;
        store
            .apply_guides(&crate::api::GuideChanges { seq: 1, guides: guides.clone(), removed: Vec::new() })
            .await
            .unwrap();
        (dir, store, guides, Arc::new(Lexicon::bundled().clone()))
    }

    async fn next_results(rx: &mut mpsc::UnboundedReceiver<AppEvent>, wanted: &str) -> Vec<SearchRow> {
        loop {
            match tokio::time::timeout(std::time::Duration::from_secs(30), rx.recv()).await.unwrap().unwrap() {
                AppEvent::Backend(BackendEvent::SearchResults { query, rows })
                    if query == wanted && !rows.is_empty() =>
                {
                    return rows;
                }
                _ => {}
            }
        }
    }

    /// The catalogue cached in the store: read in pages (more guides than one page), listed by
    /// summary, searched, and each whole guide read from the store when it is wanted, so a
    /// guide changed in the store shows changed without reloading anything.
    #[tokio::test]
    async fn a_cached_catalogue_is_read_in_pages_and_whole_guides_from_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = LocalStore::open(&dir.path().join("local.db"), chrono::Utc::now()).await.unwrap();
        let bundled = crate::assets::bundled_catalogue().unwrap().guides;
        let mut guides = Vec::new();
        for copy in 0..4 {
            for g in &bundled {
                let mut g = g.clone();
                if copy > 0 {
                    g.code = format!("{}-{copy}", g.code);
                }
                guides.push(g);
            }
        }
        assert!(guides.len() > LOAD_PAGE as usize, "more than one page");
        store
            .apply_guides(&crate::api::GuideChanges { seq: 1, guides: guides.clone(), removed: Vec::new() })
            .await
            .unwrap();

        let (tx, mut rx) = mpsc::unbounded_channel();
        let job = spawn(tx);
        job.load(store.clone());
        let listed = loop {
            if let AppEvent::Backend(BackendEvent::Guides(list)) = rx.recv().await.unwrap() {
                break list;
            }
        };
        assert_eq!(listed.len(), guides.len());
        let mut codes: Vec<&str> = guides.iter().map(|g| g.code.as_str()).collect();
        codes.sort_unstable();
        assert_eq!(listed.iter().map(|s| s.code.as_str()).collect::<Vec<_>>(), codes);

        job.search("cjrz".into());
        let rows = next_results(&mut rx, "cjrz").await;
        assert!(rows[0].name.contains("残疾人证"), "{:?}", rows[0]);
        let card = rows[0].guide.as_ref().expect("the first result carries its whole guide");
        assert_eq!(card.code, rows[0].code);
        assert!(!card.materials.is_empty(), "read whole: {card:?}");
        assert!(rows[1..].iter().all(|r| r.guide.is_none()));

        // Changed in the store after loading: opening reads the store, not a copy in memory.
        let mut changed = *card.clone();
        changed.materials.truncate(1);
        store
            .apply_guides(&crate::api::GuideChanges { seq: 2, guides: vec![changed.clone()], removed: Vec::new() })
            .await
            .unwrap();
        job.open(changed.code.clone());
        loop {
            if let AppEvent::Backend(BackendEvent::GuideDetail(g)) = rx.recv().await.unwrap() {
                assert_eq!(*g, changed);
                break;
            }
        }
        job.open("NO-SUCH-CODE".into());
        loop {
            if let AppEvent::Backend(BackendEvent::Message(m)) = rx.recv().await.unwrap() {
                assert!(m.contains("NO-SUCH-CODE"), "{m}");
                break;
            }
        }
    }

    /// The first load stores the index beside the store; the next load takes it from there
    /// instead of reading the catalogue; a stored file cut short or scribbled over is not used:
    /// the catalogue is read and indexed again, and stored again.
    #[tokio::test]
    async fn the_index_is_stored_then_loaded_and_rebuilt_when_damaged_or_stale() {
        let (_dir, store, mut guides, lexicon) = store_with_the_bundled_catalogue().await;
        let file = stored_index::path_for(store.path());
        assert!(!file.exists());

        let (summaries, index) = load(&store, lexicon.clone()).await.unwrap();
        assert_eq!((summaries.len(), index.len()), (guides.len(), guides.len()));
        let (seq, revision) = store.catalogue_revision().await.unwrap();
        let stamp = stored_index::Stamp::new(seq, revision, &lexicon);
        let (stored, _) = stored_index::load(&file, &stamp).expect("stored after the first load");
        assert_eq!(stored, summaries);

        // Loaded from the file, not rebuilt: a stored index of three guides is what comes back.
        let few = &guides[..3];
        let few_summaries: Vec<GuideSummary> = few.iter().map(GuideSummary::from).collect();
        stored_index::save(&file, &stamp, &few_summaries, &SearchIndex::build_with(few, &lexicon)).unwrap();
        assert_eq!(load(&store, lexicon.clone()).await.unwrap().0, few_summaries);

        // Cut short, then scribbled over: rebuilt from the store, and stored whole again.
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
        assert_eq!(load(&store, lexicon.clone()).await.unwrap().0, summaries);
        assert_eq!(stored_index::load(&file, &stamp).unwrap().0, summaries);
        let mut bytes = std::fs::read(&file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&file, &bytes).unwrap();
        let (again, index) = load(&store, lexicon.clone()).await.unwrap();
        assert_eq!(again, summaries);
        assert!(!index.search("cjrz", 5).is_empty());

        // A delta sync: the stored index is of an earlier sequence, so the next load brings it
        // up to date with the change (in place, see `a_delta_updates_the_index_in_place`) and
        // stores that.
        guides[0].name = "同步后改名的事项".into();
        store
            .apply_guides(&crate::api::GuideChanges { seq: 2, guides: vec![guides[0].clone()], removed: Vec::new() })
            .await
            .unwrap();
        let (after, index) = load(&store, lexicon.clone()).await.unwrap();
        assert!(after.iter().any(|s| s.name == "同步后改名的事项"));
        assert_eq!(index.search("同步后改名", 5).len(), 1);
        let (seq, revision) = store.catalogue_revision().await.unwrap();
        assert_eq!(seq, 2);
        let stamp = stored_index::Stamp::new(seq, revision, &lexicon);
        assert_eq!(stored_index::load(&file, &stamp).unwrap().0, after);
    }

    /// The answers of `index` are those of an index built from scratch on what the store holds.
    async fn assert_answers_like_a_fresh_build(store: &LocalStore, summaries: &[GuideSummary], index: &SearchIndex) {
        let mut guides = Vec::new();
        for (code, body) in store.guide_page("", u32::MAX).await.unwrap() {
            let guide: ServiceGuide = serde_json::from_str(&body).unwrap();
            assert_eq!(guide.code, code);
            guides.push(guide);
        }
        let fresh = SearchIndex::build_with(&guides, Lexicon::bundled());
        assert_eq!(summaries, guides.iter().map(GuideSummary::from).collect::<Vec<_>>());
        let questions = crate::search::eval::load(include_str!("../../tests/eval/questions.toml")).unwrap();
        for q in questions.iter().map(|q| q.text.as_str()).chain(["同步改名", "新增事项", "tbgm", "cjrz"]) {
            assert_eq!(index.ask(q, RESULT_LIMIT), fresh.ask(q, RESULT_LIMIT), "{q}");
            assert_eq!(index.search(q, 10), fresh.search(q, 10), "{q}");
        }
    }

    /// After a delta sync the index is brought up to date in place, from the catalogue in memory
    /// or from the stored file, reading only the guides the delta changed: it answers like an
    /// index built from the whole store, and is stored for the next start. A delta too large is
    /// indexed from scratch.
    #[tokio::test]
    async fn a_delta_updates_the_index_in_place() {
        let (_dir, store, mut guides, lexicon) = store_with_the_bundled_catalogue().await;
        let file = stored_index::path_for(store.path());
        let (_, first) = load(&store, lexicon.clone()).await.unwrap();
        assert_eq!(first.retired(), 0);

        // From the stored file: one guide renamed, one added between others.
        guides[0].name = "同步改名的事项".into();
        let mut added = guides[5].clone();
        added.code = format!("{}-A", guides[5].code);
        added.name = "新增事项办理".into();
        store
            .apply_guides(&crate::api::GuideChanges {
                seq: 2,
                guides: vec![guides[0].clone(), added],
                removed: Vec::new(),
            })
            .await
            .unwrap();
        let (summaries, index) = load(&store, lexicon.clone()).await.unwrap();
        assert_eq!(index.retired(), 1, "updated in place, not rebuilt");
        assert_eq!(summaries.len(), guides.len() + 1);
        assert_answers_like_a_fresh_build(&store, &summaries, &index).await;
        let (seq, revision) = store.catalogue_revision().await.unwrap();
        let stamp = stored_index::Stamp::new(seq, revision, &lexicon);
        let (stored, stored_index) = stored_index::load(&file, &stamp).expect("the updated index is stored");
        assert_eq!((stored, stored_index.retired()), (summaries.clone(), 1));

        // From the catalogue in memory (the stored file gone: it cannot come from there).
        let held = refresh(&store, lexicon.clone(), None).await.unwrap();
        guides[1].keywords.push("同步改名".into());
        store
            .apply_guides(&crate::api::GuideChanges { seq: 3, guides: vec![guides[1].clone()], removed: Vec::new() })
            .await
            .unwrap();
        std::fs::remove_file(&file).unwrap();
        let loaded = refresh(&store, lexicon.clone(), Some(held)).await.unwrap();
        assert_eq!(loaded.index.retired(), 2, "updated in place from memory");
        assert_answers_like_a_fresh_build(&store, &loaded.summaries, &loaded.index).await;
        loaded.saving.unwrap().await.unwrap();
        assert!(file.exists(), "stored again");

        // A delta larger than the index should carry: built from scratch.
        for g in guides.iter_mut().take(IN_PLACE_MIN + 1) {
            g.department.push('局');
        }
        store
            .apply_guides(&crate::api::GuideChanges { seq: 4, guides: guides.clone(), removed: Vec::new() })
            .await
            .unwrap();
        let (summaries, index) = load(&store, lexicon.clone()).await.unwrap();
        assert_eq!(index.retired(), 0, "rebuilt");
        assert_answers_like_a_fresh_build(&store, &summaries, &index).await;
    }

    #[test]
    fn a_merge_places_changed_and_new_guides_in_code_order() {
        let summary = |code: &str| {
            let mut guide = crate::assets::bundled_catalogue().unwrap().guides.remove(0);
            guide.code = code.into();
            guide
        };
        let old: Vec<GuideSummary> = ["a", "c", "e", "g"].map(|c| GuideSummary::from(&summary(c))).to_vec();
        // b new, c changed, e changed but undecodable (gone), h new.
        let changed = vec![
            ("b".to_string(), Some(summary("b"))),
            ("c".to_string(), Some(summary("c"))),
            ("e".to_string(), None),
            ("h".to_string(), Some(summary("h"))),
        ];
        let (summaries, moved, added) = merge(old, &changed);
        assert_eq!(summaries.iter().map(|s| s.code.as_str()).collect::<Vec<_>>(), ["a", "b", "c", "g", "h"]);
        assert_eq!(moved, [Some(0), None, None, Some(3)]);
        assert_eq!(added, [(1, 0), (2, 1), (4, 3)]);
    }

    /// A load that finds the store unreadable (busy, damaged) after a sync keeps the catalogue in
    /// hand: search still answers from it, and the clerk is told.
    #[tokio::test]
    async fn an_unreadable_store_leaves_the_catalogue_in_hand_searchable() {
        let (dir, store, _, _) = store_with_the_bundled_catalogue().await;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let job = spawn(tx);
        job.load(store.clone());
        wait_for(&mut rx, |e| matches!(e, BackendEvent::Guides(list) if !list.is_empty())).await;
        let url = crate::config::sqlite_url(&dir.path().join("local.db"));
        let other = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query("ALTER TABLE kv RENAME TO kv_away").execute(&other).await.unwrap();
        other.close().await;

        job.load(store.clone());
        wait_for(&mut rx, |e| matches!(e, BackendEvent::Message(m) if m.contains("暂时读取失败"))).await;
        job.search("cjrz".into());
        let rows =
            wait_for(&mut rx, |e| matches!(e, BackendEvent::SearchResults { query, .. } if query == "cjrz")).await;
        let BackendEvent::SearchResults { rows, .. } = rows else { unreachable!() };
        assert!(rows.first().is_some_and(|r| r.name.contains("残疾人证")), "{rows:?}");
    }

    /// The first backend event that `wanted` accepts, within ten seconds.
    async fn wait_for(
        rx: &mut mpsc::UnboundedReceiver<AppEvent>,
        wanted: impl Fn(&BackendEvent) -> bool,
    ) -> BackendEvent {
        loop {
            match tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv()).await.unwrap().unwrap() {
                AppEvent::Backend(e) if wanted(&e) => return e,
                _ => {}
            }
        }
    }

    #[tokio::test]
    async fn searches_run_in_the_job_and_report_back() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let job = spawn(tx);
        job.replace(crate::assets::bundled_catalogue().unwrap().guides);
        job.search("cjrz".into());
        let mut found = None;
        while found.is_none() {
            match tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv()).await.unwrap().unwrap() {
                AppEvent::Backend(BackendEvent::SearchResults { query, rows })
                    if query == "cjrz" && !rows.is_empty() =>
                {
                    found = Some(rows)
                }
                _ => {}
            }
        }
        let rows = found.unwrap();
        assert!(rows[0].name.contains("残疾人证"), "{:?}", rows[0]);
        job.open(rows[0].code.clone());
        loop {
            if let AppEvent::Backend(BackendEvent::GuideDetail(g)) = rx.recv().await.unwrap() {
                assert_eq!(g.code, rows[0].code);
                break;
            }
        }
    }
}
