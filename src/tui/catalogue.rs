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
}

/// The summaries and index of the catalogue cached in `store`: the index stored beside the store
/// when it was built from exactly this catalogue and lexicon, else built from the store (and
/// stored for the next time). `None` when the store could not be read to the end (the catalogue
/// shown stays as it was).
pub async fn load(store: &LocalStore, lexicon: Arc<Lexicon>) -> Option<(Vec<GuideSummary>, SearchIndex)> {
    let started = Instant::now();
    // Read before the guides: a change applied while they are read makes the stamp older than
    // the index, so the index is rebuilt next time rather than trusted wrongly.
    let (seq, revision) = match store.catalogue_revision().await {
        Ok(read) => read,
        Err(e) => {
            tracing::error!(error = %e, "cached catalogue could not be read");
            return None;
        }
    };
    let stamp = stored_index::Stamp::new(seq, revision, &lexicon);
    let file = stored_index::path_for(store.path());
    let stored = {
        let (file, stamp) = (file.clone(), stamp.clone());
        tokio::task::spawn_blocking(move || stored_index::load(&file, &stamp)).await.ok()?
    };
    match stored {
        Ok((summaries, index)) => {
            tracing::info!(
                guides = summaries.len(),
                ms = started.elapsed().as_millis() as u64,
                "catalogue index loaded from the cache"
            );
            return Some((summaries, index));
        }
        Err(stored_index::Unusable::Missing) => {
            tracing::info!(file = %file.display(), "no stored search index; building it")
        }
        Err(why) => {
            tracing::warn!(file = %file.display(), reason = %why, "stored search index not used; rebuilding it")
        }
    }
    let (summaries, index) = build(store, lexicon).await?;
    let saved = tokio::task::spawn_blocking(move || {
        let saved = stored_index::save(&file, &stamp, &summaries, &index).inspect_err(
            |e| tracing::warn!(file = %file.display(), error = %e, "search index not stored; rebuilt again next time"),
        );
        (saved.is_ok(), summaries, index)
    })
    .await
    .ok()?;
    let (stored, summaries, index) = saved;
    tracing::info!(guides = summaries.len(), stored, ms = started.elapsed().as_millis() as u64, "catalogue loaded");
    Some((summaries, index))
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
                                let Some((summaries, index)) = load(store, lexicon.clone()).await else { continue };
                                catalogue.summaries = Arc::new(summaries);
                                catalogue.index = Arc::new(index);
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
                        };
                        if !report(BackendEvent::Guides(summaries)) {
                            return;
                        }
                        // The shown results must come from the new catalogue.
                        query_rx.mark_changed();
                    }
                    Some(Request::Load(store)) => {
                        let Some((summaries, index)) = load(&store, lexicon.clone()).await else {
                            if !report(BackendEvent::Message("本机事项目录读取失败，请重启程序；仍失败请联系管理员".into())) {
                                return;
                            }
                            continue;
                        };
                        let summaries = Arc::new(summaries);
                        let shown = summaries.clone();
                        catalogue = Catalogue {
                            summaries,
                            index: Arc::new(index),
                            source: Source::Store(store),
                        };
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
        store.apply_guides(&crate::api::GuideChanges { seq: 1, guides: guides.clone() }).await.unwrap();

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
        store.apply_guides(&crate::api::GuideChanges { seq: 2, guides: vec![changed.clone()] }).await.unwrap();
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
    /// instead of reading the catalogue; a stored file cut short or scribbled over, or one left
    /// behind by a change to the catalogue, is not used: the catalogue is read and indexed again,
    /// and stored again.
    #[tokio::test]
    async fn the_index_is_stored_then_loaded_and_rebuilt_when_damaged_or_stale() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = LocalStore::open(&dir.path().join("local.db"), chrono::Utc::now()).await.unwrap();
        let mut guides = crate::assets::bundled_catalogue().unwrap().guides;
        store.apply_guides(&crate::api::GuideChanges { seq: 1, guides: guides.clone() }).await.unwrap();
        let lexicon = Arc::new(Lexicon::bundled().clone());
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

        // A delta sync: the stored index no longer matches the catalogue, so the next load
        // rebuilds it with the change and stores that.
        guides[0].name = "同步后改名的事项".into();
        store.apply_guides(&crate::api::GuideChanges { seq: 2, guides: vec![guides[0].clone()] }).await.unwrap();
        let (after, index) = load(&store, lexicon.clone()).await.unwrap();
        assert!(after.iter().any(|s| s.name == "同步后改名的事项"));
        assert_eq!(index.search("同步后改名", 5).len(), 1);
        let (seq, revision) = store.catalogue_revision().await.unwrap();
        assert_eq!(seq, 2);
        let stamp = stored_index::Stamp::new(seq, revision, &lexicon);
        assert_eq!(stored_index::load(&file, &stamp).unwrap().0, after);
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
