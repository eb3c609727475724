//! The one gate between what the server (or the local cache of it) sends and the app's state:
//! every text of a [`BackendEvent`] goes through [`clean_shown`], so that no pane, present or
//! future, can put a control character or a bidi override on the screen. A clerk's own input is
//! cleaned where it is typed; this is for everything else.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::app::{BackendEvent, Link};
use super::catalogue::SearchRow;
use crate::api::GuideSummary;
use crate::api::queue::QueueEvent;
use crate::domain::text::{clean_json, clean_shown};

/// The event with all its text cleaned. Events that are clean already (nearly all) come back
/// as they were.
pub fn sanitized(event: BackendEvent) -> BackendEvent {
    use BackendEvent as E;
    match event {
        E::Link(Link::Connecting(text)) => E::Link(Link::Connecting(clean_shown(&text).into_owned())),
        E::Link(Link::Offline(text)) => E::Link(Link::Offline(clean_shown(&text).into_owned())),
        e @ (E::Link(Link::Online | Link::Syncing) | E::Pending(_)) => e,
        E::SignedIn(me) => E::SignedIn(cleaned(me)),
        E::Center(center) => E::Center(cleaned(center)),
        E::Overview(overview) => E::Overview(cleaned(overview)),
        E::Guides(guides) => E::Guides(clean_summaries(guides)),
        E::Calendar(calendar) => E::Calendar(cleaned(calendar)),
        E::GuideDetail(guide) => E::GuideDetail(cleaned(guide)),
        E::Cases(cases) => E::Cases(cleaned(cases)),
        E::CaseUpdated(case) => E::CaseUpdated(cleaned(case)),
        E::CaseOpened(case) => E::CaseOpened(cleaned(case)),
        e @ E::CaseDone { .. } => e,
        E::ChoosePost(options) => E::ChoosePost(cleaned(options)),
        E::Handovers(handovers) => E::Handovers(cleaned(handovers)),
        E::FoundCases(found) => E::FoundCases(cleaned(found)),
        E::Queue(event) => E::Queue(Box::new(match *event {
            QueueEvent::Snapshot(snapshot) => QueueEvent::Snapshot(cleaned(snapshot)),
            QueueEvent::Change(change) => QueueEvent::Change(cleaned(change)),
            e @ QueueEvent::RecordsChanged { .. } => e,
        })),
        E::QueueStats(stats) => E::QueueStats(cleaned(stats)),
        E::SearchResults { query, rows } => E::SearchResults {
            query: clean_shown(&query).into_owned(),
            rows: rows.into_iter().map(clean_row).collect(),
        },
        E::NeedSignIn(why) => E::NeedSignIn(why.map(|w| clean_shown(&w).into_owned())),
        E::Message(text) => E::Message(clean_shown(&text).into_owned()),
        E::Board(board) => E::Board(cleaned(board)),
        // Dates, times, letters and numbers only: nothing to clean.
        e @ E::FreePlaces(_) => e,
        E::Watch(watch) => E::Watch(cleaned(watch)),
    }
}

/// A value with every string in it cleaned, by way of its JSON form: a field added to a wire
/// type later is covered without anyone remembering it here.
fn cleaned<T: Serialize + DeserializeOwned>(value: T) -> T {
    let Ok(mut json) = serde_json::to_value(&value) else { return value };
    if !clean_json(&mut json) {
        return value;
    }
    match serde_json::from_value(json) {
        Ok(clean) => clean,
        Err(e) => {
            // Cannot happen for our own types; shown uncleaned would be worse than not shown,
            // but dropping data is worse still, and the panes cut lines to their width.
            tracing::error!(error = %e, "cleaned text no longer decodes");
            value
        }
    }
}

/// A catalogue summary, field by field: the whole catalogue arrives in one event and is cleaned on
/// the event loop, where a JSON round trip of every summary would grow with the catalogue. The
/// exhaustive pattern makes a new field impossible to forget.
/// The catalogue's summaries cleaned: the same shared list when none needs it (the usual case, so
/// a county catalogue is not copied).
fn clean_summaries(guides: std::sync::Arc<Vec<GuideSummary>>) -> std::sync::Arc<Vec<GuideSummary>> {
    let dirty = |s: &GuideSummary| {
        [&s.code, &s.name, &s.department].into_iter().any(|t| matches!(clean_shown(t), std::borrow::Cow::Owned(_)))
    };
    if !guides.iter().any(dirty) {
        return guides;
    }
    std::sync::Arc::new(std::sync::Arc::unwrap_or_clone(guides).into_iter().map(clean_summary).collect())
}

fn clean_summary(mut summary: GuideSummary) -> GuideSummary {
    let GuideSummary { code, name, department, item_type: _, handling: _, promised_limit_days: _, revision: _ } =
        &mut summary;
    for text in [code, name, department] {
        if let std::borrow::Cow::Owned(clean) = clean_shown(text) {
            *text = clean;
        }
    }
    summary
}

/// A search result: its name cleaned, and the highlighted byte ranges moved with the text.
fn clean_row(mut row: SearchRow) -> SearchRow {
    row.code = clean_shown(&row.code).into_owned();
    row.department = clean_shown(&row.department).into_owned();
    for word in row.matched.iter_mut().chain(row.missed.iter_mut()) {
        *word = clean_shown(word).into_owned();
    }
    // The answer card shows the whole guide.
    row.guide = row.guide.map(cleaned);
    if let std::borrow::Cow::Owned(clean) = clean_shown(&row.name) {
        // Where each byte offset of the old name lands in the new one.
        let mut map = vec![0usize; row.name.len() + 1];
        let mut new_at = 0;
        let mut kept = clean.chars();
        let mut next = kept.next();
        for (at, c) in row.name.char_indices() {
            for slot in &mut map[at..at + c.len_utf8()] {
                *slot = new_at;
            }
            let replacement = if c == '\t' { ' ' } else { c };
            if next == Some(replacement) {
                new_at += replacement.len_utf8();
                next = kept.next();
            }
        }
        map[row.name.len()] = new_at;
        row.highlight = row
            .highlight
            .iter()
            .map(|r| map[r.start.min(row.name.len())]..map[r.end.min(row.name.len())])
            .filter(|r| !r.is_empty())
            .collect();
        row.name = clean;
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_row_keeps_its_highlight_on_the_same_letters() {
        let name = "残\u{202E}疾人证";
        let start = name.find('疾').unwrap();
        let (other_start, other) = (name.find('证').unwrap(), "证".len());
        let row = SearchRow {
            code: "HB\u{1b}".into(),
            name: name.into(),
            department: "民政".into(),
            promised_limit_days: 1,
            field: None,
            fuzzy: false,
            highlight: vec![start..start + "疾人".len(), other_start..other_start + other],
            matched: vec!["残\u{202E}疾".into()],
            missed: Vec::new(),
            guide: None,
        };
        let row = clean_row(row);
        assert_eq!((row.name.as_str(), row.code.as_str()), ("残疾人证", "HB"));
        assert_eq!(&row.name[row.highlight[0].clone()], "疾人");
        assert_eq!(&row.name[row.highlight[1].clone()], "证");
        assert_eq!(row.matched, ["残疾"]);
    }

    #[test]
    fn catalogue_summaries_are_cleaned_field_by_field() {
        let guide = crate::assets::bundled_catalogue().unwrap().guides.remove(0);
        let mut dirty = GuideSummary::from(&guide);
        dirty.name = format!("残\u{202E}疾{}", "\u{1b}[2J");
        dirty.department = "民政\u{2066}".into();
        let clean = GuideSummary::from(&guide);
        let BackendEvent::Guides(out) =
            sanitized(BackendEvent::Guides(std::sync::Arc::new(vec![dirty, clean.clone()])))
        else {
            panic!("still a catalogue");
        };
        assert_eq!((out[0].name.as_str(), out[0].department.as_str()), ("残疾[2J", "民政"));
        assert_eq!(out[0].code, clean.code);
        assert_eq!(out[1], clean, "clean summaries come back as they were");
    }
}
