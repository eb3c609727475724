//! The catalogue job: holds the service guides and their search index off the UI thread. The
//! app sends it the query on every keystroke through a single slot (only the latest query is
//! searched, so typing is never held up by a search at any catalogue size) and asks it for whole
//! guides; the backend hands it the catalogue whenever that changes.

use std::ops::Range;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::app::{AppEvent, BackendEvent};
use crate::api::GuideSummary;
use crate::domain::guide::ServiceGuide;
use crate::domain::lexicon::Lexicon;
use crate::search::SearchIndex;

/// How many results a query shows: more than fit on any screen.
pub const RESULT_LIMIT: usize = 200;

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
    Replace(Vec<ServiceGuide>),
    Lexicon(Lexicon),
    Open(String),
}

#[derive(Clone)]
pub struct CatalogueHandle {
    requests: mpsc::UnboundedSender<Request>,
    query: Arc<watch::Sender<String>>,
}

impl CatalogueHandle {
    /// A new catalogue (from the cache at start-up, or after a sync brought changes).
    pub fn replace(&self, guides: Vec<ServiceGuide>) {
        let _ = self.requests.send(Request::Replace(guides));
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

struct Catalogue {
    guides: Arc<Vec<ServiceGuide>>,
    index: Arc<SearchIndex>,
}

pub fn spawn(events: mpsc::UnboundedSender<AppEvent>) -> CatalogueHandle {
    let (requests, mut request_rx) = mpsc::unbounded_channel();
    let (query, mut query_rx) = watch::channel(String::new());
    tokio::spawn(async move {
        let mut catalogue = Catalogue { guides: Arc::new(Vec::new()), index: Arc::new(SearchIndex::build(&[])) };
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
                        let (guides, words) = (catalogue.guides.clone(), lexicon.clone());
                        let index = tokio::task::spawn_blocking(move || SearchIndex::build_with(&guides, &words)).await;
                        let Ok(index) = index else { continue };
                        catalogue.index = Arc::new(index);
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
                        catalogue = Catalogue { guides, index: Arc::new(index) };
                        if !report(BackendEvent::Guides(summaries)) {
                            return;
                        }
                        // The shown results must come from the new catalogue.
                        query_rx.mark_changed();
                    }
                    Some(Request::Open(code)) => {
                        let event = match catalogue.guides.iter().find(|g| g.code == code) {
                            Some(guide) => BackendEvent::GuideDetail(Box::new(guide.clone())),
                            None => BackendEvent::Message(format!("本机没有编码为 {code} 的事项")),
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
                    let (guides, index) = (catalogue.guides.clone(), catalogue.index.clone());
                    let searched = query.clone();
                    let rows = tokio::task::spawn_blocking(move || rows_for(&guides, &index, &searched)).await;
                    let Ok(rows) = rows else { continue };
                    if !report(BackendEvent::SearchResults { query, rows }) {
                        return;
                    }
                }
            }
        }
    });
    CatalogueHandle { requests, query: Arc::new(query) }
}

/// The rows for a question: [`SearchIndex::ask`], each guide with the words it matched, the
/// first with its whole guide for the answer card.
pub fn rows_for(guides: &[ServiceGuide], index: &SearchIndex, query: &str) -> Vec<SearchRow> {
    let answer = index.ask(query, RESULT_LIMIT);
    answer
        .hits
        .into_iter()
        .enumerate()
        .filter_map(|(i, hit)| {
            let g = guides.get(hit.guide)?;
            let missed = answer.words.iter().filter(|w| !hit.matched.contains(w)).cloned().collect();
            Some(SearchRow {
                code: g.code.clone(),
                name: g.name.clone(),
                department: g.department.clone(),
                promised_limit_days: g.promised_limit_days,
                field: (hit.field != crate::search::MatchField::Name).then(|| hit.field.label()),
                fuzzy: hit.fuzzy,
                highlight: hit.name_highlight,
                matched: hit.matched,
                missed,
                guide: (i == 0).then(|| Box::new(g.clone())),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
