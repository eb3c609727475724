//! Finding a service guide (办事指南) as the guidance desk types. [`SearchIndex::ask`] (module
//! `ask`) takes a question as people say it, cuts it into words with the colloquial lexicon and
//! scores guides by how much of it they cover; it is built on [`SearchIndex::search`], described
//! here, which matches one query as a whole: Hanzi substrings, full pinyin
//! (`yanglao`), pinyin initials (`cjrbt`), both mixed (`残疾rbt`), either reading of a 多音字
//! (重度 as `zhongdu` or `chongdu`), and one typo (`yanlgao`, `残急人证`).
//!
//! Ranking: exact matches before typo matches; then the field (name, alias, keyword, material
//! name, FAQ, body text); then the whole text before a prefix before a match inside it; then an
//! earlier match; then a shorter text.
//!
//! How it stays fast (figures: `cargo bench --bench search`):
//!
//! - Every text is normalized once at build time (module `normalize`) and stored as two-byte
//!   character ids, texts separated by a separator id. Readings come from ib-matcher's pinyin
//!   table, which lists the modern readings of a character, not every historical one.
//! - A query is compiled into a small automaton over those ids (module `automaton`) with its
//!   transitions precomputed for the query, so a character of text costs one table load while no
//!   match is in progress. Pinyin is matched in the name, aliases and keywords only: pinyin over
//!   the body text would match everything for short queries and rank nothing usefully.
//! - Before the automaton runs over a guide, the guide's signature must contain every letter pair
//!   the query's pinyin implies and every Hanzi of the query (module `signature`).
//! - Material names, FAQ and body text match literally (`memchr::memmem`) and are stored once per
//!   distinct text, and each guide's texts of a field as a set stored once per distinct set:
//!   catalogues repeat the same laws, steps and 居民户口簿 across items and townships. Guides
//!   with the same name, aliases and keywords share one signature. A 100,000-guide index holds
//!   about 24 MB (44 MB before the sets and shared signatures); the bench prints it by part.
//! - Fields are searched best first; once `limit` guides have matched, no lower field can enter
//!   the result and the search stops.
//! - Typo tolerance is a second pass over the name, aliases and keywords that runs only when the
//!   exact pass left room (and for a four-letter query only when it found nothing), so a short
//!   query like `shen` never drowns in typo matches. The first letter of a pinyin query is never
//!   the typo.

mod alphabet;
mod ask;
mod automaton;
pub mod eval;
mod normalize;
mod signature;
#[cfg(test)]
mod tests;
mod texts;

use std::collections::HashMap;
use std::ops::Range;

use memchr::memmem;
use serde::{Deserialize, Serialize};

use crate::domain::guide::ServiceGuide;
use crate::domain::lexicon::Lexicon;
use alphabet::{ABSENT, Alphabet, SEP};
pub use ask::{Answer, Answered, Segmentation};
use automaton::Automaton;
use signature::{QuerySignature, Signature, Signer};
use texts::Texts;

/// Where a guide matched, best first: the derived order sorts `Name` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchField {
    Name,
    Alias,
    Keyword,
    Material,
    Faq,
    Body,
}

impl MatchField {
    pub const ALL: [MatchField; 6] = [Self::Name, Self::Alias, Self::Keyword, Self::Material, Self::Faq, Self::Body];

    pub fn label(self) -> &'static str {
        match self {
            Self::Name => "名称",
            Self::Alias => "别名",
            Self::Keyword => "关键词",
            Self::Material => "材料",
            Self::Faq => "常见问题",
            Self::Body => "正文",
        }
    }

    /// Higher is better; the top bits of a score.
    fn rank(self) -> u32 {
        5 - self as u32
    }

    fn from_rank(rank: u32) -> Self {
        Self::ALL[5 - rank.min(5) as usize]
    }

    /// Fields matched by pinyin as well as literally.
    fn pinyin(self) -> bool {
        matches!(self, Self::Name | Self::Alias | Self::Keyword)
    }
}

/// One guide found by [`SearchIndex::search`].
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Index into the slice given to [`SearchIndex::build`].
    pub guide: usize,
    /// The best field the guide matched in.
    pub field: MatchField,
    /// Higher is better; only meaningful for comparing hits of one query.
    pub score: u32,
    /// Matched only with one typo.
    pub fuzzy: bool,
    /// Byte ranges of the matched characters in the guide's name; empty unless `field` is `Name`.
    pub name_highlight: Vec<Range<usize>>,
    /// In how many of the name, aliases and keywords the guide matched (counted only for
    /// [`SearchIndex::ask`]; 1 otherwise).
    pub(crate) fields: u8,
}

/// Pool texts per block of the pool's ASCII filter.
const POOL_BLOCK: usize = 256;
/// Shortest queries whose typo-tolerant variant is worth running: enough letters (or Hanzi) for
/// one error not to match everything.
const FUZZY_MIN_LETTERS: usize = 4;
const FUZZY_MIN_HANZI: usize = 3;

/// The name, aliases or keywords of all guides, guide after guide.
#[derive(Debug, Default, Serialize, Deserialize)]
struct PinyinField {
    texts: Texts,
    /// First text of each guide, plus one past the last.
    first: Vec<u32>,
}

impl PinyinField {
    fn texts_of(&self, guide: usize) -> Range<usize> {
        self.first[guide] as usize..self.first[guide + 1] as usize
    }

    fn guide_of(&self, text: usize) -> usize {
        self.first.partition_point(|&f| f as usize <= text) - 1
    }

    fn heap_bytes(&self) -> usize {
        self.texts.heap_bytes() + 4 * self.first.capacity()
    }
}

/// The material names, FAQ or body text of a guide are a *set* of texts of the shared pool of
/// distinct texts (only the best match in a field counts, so order and repeats do not), and the
/// sets are stored once each: catalogues repeat these (the same law, the same steps, the same
/// 居民户口簿; one item in every township) far more than names. Set 0 is empty.
#[derive(Debug, Serialize, Deserialize)]
struct PoolSets {
    /// Pool texts of set `s`: `refs[first[s]..first[s + 1]]`.
    refs: Vec<u32>,
    first: Vec<u32>,
}

impl Default for PoolSets {
    fn default() -> Self {
        Self { refs: Vec::new(), first: vec![0, 0] }
    }
}

impl PoolSets {
    fn len(&self) -> usize {
        self.first.len() - 1
    }

    fn refs_of(&self, set: usize) -> &[u32] {
        &self.refs[self.first[set] as usize..self.first[set + 1] as usize]
    }

    fn heap_bytes(&self) -> usize {
        4 * (self.refs.capacity() + self.first.capacity())
    }
}

/// Builds [`PoolSets`], each distinct set once.
#[derive(Default)]
struct PoolSetsBuilder {
    sets: PoolSets,
    ids: HashMap<Box<[u32]>, u32>,
}

impl PoolSetsBuilder {
    /// The id of the set of `refs` (sorted and deduplicated here).
    fn intern(&mut self, refs: &mut Vec<u32>) -> u32 {
        refs.sort_unstable();
        refs.dedup();
        if refs.is_empty() {
            return 0;
        }
        if let Some(&id) = self.ids.get(refs.as_slice()) {
            return id;
        }
        let id = u32::try_from(self.sets.len()).unwrap_or(u32::MAX);
        self.sets.refs.extend_from_slice(refs);
        self.sets.first.push(u32::try_from(self.sets.refs.len()).unwrap_or(u32::MAX));
        self.ids.insert(refs.as_slice().into(), id);
        id
    }
}

/// Serializes a map in key order, so a stored index is the same bytes for the same catalogue.
fn sorted<K: Ord + Serialize, V: Serialize, S: serde::Serializer>(
    map: &HashMap<K, V>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut entries: Vec<(&K, &V)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    serializer.collect_map(entries)
}

fn ascii_bit(c: char) -> u64 {
    match c {
        'a'..='z' => 1 << (c as u32 - 'a' as u32),
        '0'..='9' => 1 << (26 + c as u32 - '0' as u32),
        _ => 0,
    }
}

/// Builds a [`SearchIndex`] from guides given one at a time, so a catalogue can be indexed as it
/// is read (from the terminal's cache, say) without holding every whole guide at once. Hits name
/// guides by the order they were added in.
pub struct SearchIndexBuilder {
    alphabet: Alphabet,
    pinyin: [PinyinField; 3],
    pooled: [Vec<u32>; 3],
    pool_sets: PoolSetsBuilder,
    refs: Vec<u32>,
    pool: Texts,
    pool_ascii: Vec<u64>,
    pool_ids: HashMap<Box<[u16]>, u32>,
    signatures: Vec<Signature>,
    signature_ids: HashMap<Signature, u32>,
    signature_of: Vec<u32>,
    signer: Signer,
    names: String,
    name_end: Vec<u32>,
    ids: Vec<u16>,
    words: ask::Words,
    /// Per guide added, its position in the catalogue (see [`SearchIndex::update`]); empty
    /// while building from scratch, where a guide's position is the order it was added in.
    position: Vec<u32>,
}

impl SearchIndexBuilder {
    /// An empty index that will understand questions with `lexicon`.
    pub fn new(lexicon: &Lexicon) -> Self {
        Self {
            alphabet: Alphabet::new(),
            pinyin: Default::default(),
            pooled: Default::default(),
            pool_sets: PoolSetsBuilder::default(),
            refs: Vec::new(),
            pool: Texts::default(),
            pool_ascii: Vec::new(),
            pool_ids: HashMap::new(),
            signatures: Vec::new(),
            signature_ids: HashMap::new(),
            signature_of: Vec::new(),
            signer: Signer::default(),
            names: String::new(),
            name_end: Vec::new(),
            ids: Vec::new(),
            words: ask::Words::new(lexicon, &[]),
            position: Vec::new(),
        }
    }

    /// How many guides were added.
    pub fn len(&self) -> usize {
        self.signature_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.signature_of.is_empty()
    }

    /// Indexes one more guide (the next hit number).
    pub fn add(&mut self, guide: &ServiceGuide) {
        let Self {
            alphabet,
            pinyin,
            pooled,
            pool_sets,
            refs,
            pool,
            pool_ascii,
            pool_ids,
            signatures,
            signature_ids,
            signature_of,
            signer,
            names,
            name_end,
            ids,
            words,
            position: _,
        } = self;
        words.add_guide(guide);
        names.push_str(&guide.name);
        name_end.push(u32::try_from(names.len()).unwrap_or(u32::MAX));
        for field in MatchField::ALL {
            let texts = field_texts(guide, field);
            if field.pinyin() {
                let target = &mut pinyin[field as usize];
                target.first.push(u32::try_from(target.texts.len()).unwrap_or(u32::MAX));
                for text in texts {
                    ids.clear();
                    signer.text();
                    for c in text.chars().filter_map(normalize::fold_char) {
                        let id = alphabet.intern(c);
                        ids.push(id);
                        signer.unit(alphabet, id, c);
                    }
                    target.texts.push(ids);
                }
            } else {
                refs.clear();
                for text in texts {
                    ids.clear();
                    let mut ascii = 0;
                    for c in text.chars().filter_map(normalize::fold_char) {
                        ids.push(alphabet.intern(c));
                        ascii |= ascii_bit(c);
                    }
                    if ids.is_empty() {
                        continue;
                    }
                    let id = match pool_ids.get(ids.as_slice()) {
                        Some(&id) => id,
                        None => {
                            let id = pool.push(ids);
                            pool_ids.insert(ids.as_slice().into(), id);
                            if id as usize / POOL_BLOCK >= pool_ascii.len() {
                                pool_ascii.push(0);
                            }
                            pool_ascii[id as usize / POOL_BLOCK] |= ascii;
                            id
                        }
                    };
                    refs.push(id);
                }
                pooled[field as usize - 3].push(pool_sets.intern(refs));
            }
        }
        let signature = signer.finish();
        let id = *signature_ids.entry(signature).or_insert_with(|| {
            signatures.push(signature);
            u32::try_from(signatures.len() - 1).unwrap_or(u32::MAX)
        });
        signature_of.push(id);
    }

    /// The index of the guides added, in their order.
    pub fn finish(self) -> SearchIndex {
        let Self {
            mut alphabet,
            mut pinyin,
            mut pooled,
            pool_sets,
            mut pool,
            pool_ascii,
            mut signatures,
            signature_of,
            names,
            name_end,
            mut words,
            position,
            ..
        } = self;
        for field in &mut pinyin {
            field.first.push(u32::try_from(field.texts.len()).unwrap_or(u32::MAX));
            field.texts.shrink_to_fit();
        }
        for field in &mut pooled {
            field.shrink_to_fit();
        }
        signatures.shrink_to_fit();
        let mut pool_sets = pool_sets.sets;
        pool_sets.refs.shrink_to_fit();
        pool_sets.first.shrink_to_fit();
        pool.shrink_to_fit();
        alphabet.finish();
        words.finish_guides();
        let mut slot_at = Vec::new();
        if !position.is_empty() {
            slot_at = vec![0; position.iter().filter(|&&p| p != REMOVED).count()];
            for (slot, &p) in position.iter().enumerate() {
                if p != REMOVED {
                    slot_at[p as usize] = slot as u32;
                }
            }
        }
        let mut index = SearchIndex {
            alphabet,
            pinyin,
            signatures,
            signature_of,
            pool,
            pool_ascii,
            pool_sets,
            pooled,
            names,
            name_end,
            words,
            position,
            slot_at,
        };
        let mut words = std::mem::take(&mut index.words);
        words.add_sounds(|word| index.spell(word));
        index.words = words;
        index
    }
}

/// A search index over a catalogue, built once and queried per keystroke. Holds no reference to
/// the guides: hits name them by their index in the slice given to [`SearchIndex::build`].
#[derive(Debug, Serialize, Deserialize)]
pub struct SearchIndex {
    alphabet: Alphabet,
    /// Name, alias, keyword.
    pinyin: [PinyinField; 3],
    /// Distinct signatures: guides with the same name, aliases and keywords (one item in many
    /// townships) share one.
    signatures: Vec<Signature>,
    /// Per guide, its signature in `signatures`.
    signature_of: Vec<u32>,
    /// Distinct texts of the pooled fields.
    pool: Texts,
    /// Per `POOL_BLOCK` pool texts: the ASCII letters (bits 0-25) and digits (26-35) they contain.
    pool_ascii: Vec<u64>,
    /// Distinct sets of pool texts.
    pool_sets: PoolSets,
    /// Material, FAQ, body: per guide, its set in `pool_sets`.
    pooled: [Vec<u32>; 3],
    /// The guides' names, for highlighting.
    names: String,
    name_end: Vec<u32>,
    /// The lexicon and the catalogue's own words, for understanding questions.
    words: ask::Words,
    /// Guides are indexed in *slots*, in the order they were added; hits name them by their
    /// *position* in the catalogue. In an index as built the two are the same and these are
    /// empty; [`SearchIndex::update`] appends changed and new guides in new slots and retires
    /// the old ones. Per slot, its position (`REMOVED`: retired).
    position: Vec<u32>,
    /// Per position, its slot.
    slot_at: Vec<u32>,
}

/// The position of a retired slot.
const REMOVED: u32 = u32::MAX;

impl SearchIndex {
    /// The index with the bundled lexicon.
    pub fn build(guides: &[ServiceGuide]) -> Self {
        Self::build_with(guides, Lexicon::bundled())
    }

    /// The index, understanding questions with `lexicon`.
    pub fn build_with(guides: &[ServiceGuide], lexicon: &Lexicon) -> Self {
        let mut builder = SearchIndexBuilder::new(lexicon);
        for guide in guides {
            builder.add(guide);
        }
        builder.finish()
    }

    /// The index of a changed catalogue, made from this one without indexing again the guides
    /// that stayed: it answers every query exactly as [`SearchIndex::build_with`] on the changed
    /// catalogue would (the same hits, scores, order and highlights, and the same words for
    /// questions). `moved[p]` is the new position of the guide at position `p`, or `None` when it
    /// was removed or changed; `added` are the new and changed guides with their new positions.
    /// Changed and new guides take new slots and the old ones are retired ([`Self::retired`]):
    /// rebuild when they grow. `Err` (this index, unchanged) when the positions do not number the new catalogue
    /// `0..n` once each.
    pub fn update(
        self,
        moved: &[Option<u32>],
        added: &[(u32, &ServiceGuide)],
    ) -> Result<SearchIndex, Box<SearchIndex>> {
        let n = moved.iter().flatten().count() + added.len();
        let mut taken = vec![false; n];
        let positions = moved.iter().flatten().copied().chain(added.iter().map(|a| a.0));
        let valid = moved.len() == self.len()
            && positions.into_iter().all(|p| taken.get_mut(p as usize).is_some_and(|t| !std::mem::replace(t, true)));
        if !valid || n > REMOVED as usize {
            return Err(Box::new(self));
        }
        let mut position = vec![REMOVED; self.slots()];
        for (p, &to) in moved.iter().enumerate() {
            position[self.slot_of(p)] = to.unwrap_or(REMOVED);
        }
        let SearchIndex {
            mut alphabet,
            mut pinyin,
            signatures,
            signature_of,
            mut pool,
            pool_ascii,
            pool_sets,
            pooled,
            names,
            name_end,
            mut words,
            ..
        } = self;

        // What the guides that stay still use: characters, and the catalogue's words.
        let chars = alphabet.chars();
        let mut live_chars = vec![false; alphabet.len()];
        let mut mark = |units: &mut dyn Iterator<Item = u16>| {
            for id in units {
                if let Some(live) = live_chars.get_mut(id as usize) {
                    *live = true;
                }
            }
        };
        words.forget_catalogue();
        let mut live_sets = vec![false; pool_sets.len()];
        for slot in (0..position.len()).filter(|&s| position[s] != REMOVED) {
            for (f, field) in pinyin.iter().enumerate() {
                for text in field.texts_of(slot) {
                    mark(&mut field.texts.units_of(text));
                    if f > 0 {
                        let word: String = field
                            .texts
                            .units_of(text)
                            .filter_map(|id| chars.get(id as usize).copied().flatten())
                            .collect();
                        words.add_text(word);
                    }
                }
            }
            for sets in &pooled {
                live_sets[sets[slot] as usize] = true;
            }
        }
        let mut live_texts = vec![false; pool.len()];
        for set in (0..pool_sets.len()).filter(|&s| live_sets[s]) {
            for &text in pool_sets.refs_of(set) {
                live_texts[text as usize] = true;
            }
        }
        for text in (0..pool.len()).filter(|&t| live_texts[t]) {
            mark(&mut pool.units_of(text));
        }
        live_chars[SEP as usize] = true;
        alphabet.forget(&live_chars);
        alphabet.reopen();

        // Room for the new texts at once, not by doubling buffers of the whole catalogue.
        let (mut units, mut texts) = ([0usize; 6], [0usize; 6]);
        for (_, guide) in added {
            for field in MatchField::ALL {
                for text in field_texts(guide, field) {
                    units[field as usize] += text.chars().count() + 1;
                    texts[field as usize] += 1;
                }
            }
        }
        for (f, field) in pinyin.iter_mut().enumerate() {
            field.first.pop();
            field.first.reserve_exact(added.len() + 1);
            field.texts.reserve_exact(units[f], texts[f]);
        }
        pool.reserve_exact(units[3..].iter().sum(), texts[3..].iter().sum());

        let mut builder = SearchIndexBuilder {
            alphabet,
            pinyin,
            pooled,
            pool_sets: PoolSetsBuilder { sets: pool_sets, ids: HashMap::new() },
            refs: Vec::new(),
            pool,
            pool_ascii,
            pool_ids: HashMap::new(),
            signatures,
            signature_ids: HashMap::new(),
            signature_of,
            signer: Signer::default(),
            names,
            name_end,
            ids: Vec::new(),
            words,
            position,
        };
        for &(p, guide) in added {
            builder.add(guide);
            builder.position.push(p);
        }
        Ok(builder.finish())
    }

    /// How many guides the index holds.
    pub fn len(&self) -> usize {
        if self.position.is_empty() { self.slots() } else { self.slot_at.len() }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Guides indexed, including those retired by [`SearchIndex::update`].
    fn slots(&self) -> usize {
        self.signature_of.len()
    }

    /// How many guides [`SearchIndex::update`] retired that still take room in the index (an
    /// index built from scratch has none): the caller rebuilds it when they grow.
    pub fn retired(&self) -> usize {
        self.slots() - self.len()
    }

    fn slot_of(&self, position: usize) -> usize {
        if self.slot_at.is_empty() { position } else { self.slot_at[position] as usize }
    }

    /// Bytes the index holds on the heap (capacities; hash tables estimated per entry).
    pub fn heap_bytes(&self) -> usize {
        self.heap_parts().iter().map(|p| p.1).sum()
    }

    /// [`SearchIndex::heap_bytes`] by part, for the bench to show where the memory goes.
    pub fn heap_parts(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("alphabet", self.alphabet.heap_bytes()),
            ("name texts", self.pinyin[0].heap_bytes()),
            ("alias texts", self.pinyin[1].heap_bytes()),
            ("keyword texts", self.pinyin[2].heap_bytes()),
            ("signatures", self.signatures.capacity() * size_of::<Signature>() + self.signature_of.capacity() * 4),
            ("pool texts", self.pool.heap_bytes() + self.pool_ascii.capacity() * 8),
            ("pool sets", self.pool_sets.heap_bytes() + self.pooled.iter().map(|p| p.capacity() * 4).sum::<usize>()),
            ("names (highlight)", self.names.capacity() + self.name_end.capacity() * 4),
            ("words (lexicon)", self.words.heap_bytes()),
            ("positions (updated)", 4 * (self.position.capacity() + self.slot_at.capacity())),
        ]
    }

    /// The best `limit` guides for `query`, best first. Never panics; an empty or blank query,
    /// or one of only punctuation, finds nothing.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit> {
        self.search_ranked(query, limit, false, MatchField::Body)
    }

    /// [`SearchIndex::search`]; with `whole_first`, a name, alias or keyword equal to the whole
    /// query ranks above every other exact match, whatever the field (`低保` is a keyword of
    /// 最低生活保障审核确认 and only part of an alias of another item). Fields after `last` are
    /// not searched, and below `MatchField::Body` no typo is tried: a synonym is looked up in the
    /// name, aliases and keywords only, which at 100,000 guides costs a fraction of the rest.
    fn search_ranked(&self, query: &str, limit: usize, whole_first: bool, last: MatchField) -> Vec<Hit> {
        let q = normalize::normalize(query);
        if limit == 0 || q.is_empty() || self.is_empty() {
            return Vec::new();
        }
        let ids: Vec<u16> = q.iter().map(|&c| self.alphabet.lookup(c)).collect();
        let has_letters = q.iter().any(char::is_ascii_lowercase);
        // A literal match needs every character of the query somewhere in the index.
        let finder = (!ids.contains(&ABSENT)).then(|| {
            let needle: Vec<u8> = ids.iter().flat_map(|id| id.to_le_bytes()).collect();
            memmem::Finder::new(&needle).into_owned()
        });
        let qsig = QuerySignature::new(&q, &ids);
        let exact = Automaton::new(&self.alphabet, &q, false);
        let mut run = Run { seen: vec![false; self.slots()], hits: Vec::new(), whole_first, position: &self.position };
        for (slot, &p) in self.position.iter().enumerate() {
            if p == REMOVED {
                run.seen[slot] = true;
            }
        }

        let mut candidates: Option<Vec<u32>> = None;
        let mut pool_quality: Option<Option<Vec<u32>>> = None;
        let mut set_quality: Option<Vec<u32>> = None;
        for field in MatchField::ALL {
            if field > last {
                break;
            }
            if field.pinyin() {
                if has_letters {
                    if let Some(automaton) = &exact {
                        let candidates = candidates.get_or_insert_with(|| {
                            let ok: Vec<bool> = self.signatures.iter().map(|s| qsig.exact_candidate(s)).collect();
                            (0..self.slots() as u32).filter(|&g| ok[self.signature_of[g as usize] as usize]).collect()
                        });
                        self.scan_automaton(field, automaton, candidates, false, &mut run);
                    }
                } else if let Some(finder) = &finder {
                    self.scan_literal(field, finder, ids.len(), &mut run);
                }
            } else if let Some(finder) = &finder {
                let quality = pool_quality.get_or_insert_with(|| self.scan_pool(finder, ids.len(), &q));
                if let Some(quality) = quality {
                    let sets = set_quality.get_or_insert_with(|| {
                        (0..self.pool_sets.len())
                            .map(|s| self.pool_sets.refs_of(s).iter().map(|&r| quality[r as usize]).max().unwrap_or(0))
                            .collect()
                    });
                    self.collect_pooled(field, sets, &mut run);
                }
            }
            if run.hits.len() >= limit {
                break;
            }
        }

        let mut fuzzy = None;
        if run.hits.len() < limit && last == MatchField::Body && fuzzy_worthwhile(&q, run.hits.len()) {
            fuzzy = Automaton::new(&self.alphabet, &q, true);
            if let Some(automaton) = &fuzzy {
                let ok: Vec<bool> = self.signatures.iter().map(|s| qsig.fuzzy_candidate(s)).collect();
                let candidates: Vec<u32> = (0..self.slots() as u32)
                    .filter(|&g| !run.seen[g as usize] && ok[self.signature_of[g as usize] as usize])
                    .collect();
                for field in [MatchField::Name, MatchField::Alias, MatchField::Keyword] {
                    self.scan_automaton(field, automaton, &candidates, true, &mut run);
                    if run.hits.len() >= limit {
                        break;
                    }
                }
            }
        }

        let mut hits = run.hits;
        // Per guide (sorted), in how many of name, aliases and keywords it matched.
        let mut fields: Vec<(u32, u8)> = Vec::new();
        if whole_first {
            // A guide may have been recorded once per field: keep its best.
            hits.sort_unstable_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
            for &(_, g) in &hits {
                match fields.last_mut() {
                    Some((last, n)) if *last == g => *n += 1,
                    _ => fields.push((g, 1)),
                }
            }
            hits.dedup_by_key(|h| h.1);
        }
        let by_rank = |a: &(u32, u32), b: &(u32, u32)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
        if hits.len() > limit {
            hits.select_nth_unstable_by(limit - 1, by_rank);
            hits.truncate(limit);
        }
        hits.sort_unstable_by(by_rank);
        hits.into_iter()
            .map(|(score, g)| {
                let field = MatchField::from_rank(score >> 24 & 0x7);
                let is_fuzzy = score >> 28 == 0;
                let name_highlight = if field == MatchField::Name {
                    let automaton = if is_fuzzy { fuzzy.as_ref() } else { exact.as_ref() };
                    self.highlight(self.slot_of(g as usize), &ids, automaton)
                } else {
                    Vec::new()
                };
                let fields = fields.binary_search_by_key(&g, |f| f.0).map_or(1, |i| fields[i].1);
                Hit { guide: g as usize, field, score, fuzzy: is_fuzzy, name_highlight, fields }
            })
            .collect()
    }

    fn scan_automaton(&self, field: MatchField, automaton: &Automaton, candidates: &[u32], fuzzy: bool, run: &mut Run) {
        let source = &self.pinyin[field as usize];
        for &g in candidates {
            let g = g as usize;
            if run.seen[g] && !run.whole_first {
                continue;
            }
            let mut best = None;
            for text in source.texts_of(g) {
                if let Some(m) = automaton.match_item(source.texts.units_of(text)) {
                    let kind = if m.whole {
                        3
                    } else if m.prefix {
                        2
                    } else {
                        1
                    };
                    let s = score(fuzzy, field, quality(kind, m.end, source.texts.text_len(text)));
                    best = best.max(Some(run.tier(s, kind == 3)));
                }
            }
            if let Some(best) = best {
                run.record(g, best);
            }
        }
    }

    /// A query without letters in the name, aliases or keywords: literal search.
    fn scan_literal(&self, field: MatchField, finder: &memmem::Finder, n: usize, run: &mut Run) {
        let source = &self.pinyin[field as usize];
        let mut current: Option<(usize, u32)> = None;
        source.texts.find_each(finder, 0..source.texts.len(), |text, unit| {
            let g = source.guide_of(text);
            let guide_end = source.first[g + 1] as usize;
            if run.seen[g] && !run.whole_first {
                return guide_end;
            }
            let quality = literal_quality(&source.texts, text, unit, n);
            let s = run.tier(score(false, field, quality), quality >> 22 == 3);
            match &mut current {
                Some((cg, best)) if *cg == g => *best = (*best).max(s),
                _ => {
                    if let Some((cg, best)) = current.replace((g, s)) {
                        run.record(cg, best);
                    }
                }
            }
            text + 1
        });
        if let Some((cg, best)) = current {
            run.record(cg, best);
        }
    }

    /// Literal search over the pool: the match quality of every pool text, `None` if none matched.
    fn scan_pool(&self, finder: &memmem::Finder, n: usize, q: &[char]) -> Option<Vec<u32>> {
        let ascii = q.iter().fold(0u64, |m, &c| m | ascii_bit(c));
        let mut quality: Vec<u32> = Vec::new();
        for (block, &mask) in self.pool_ascii.iter().enumerate() {
            if mask & ascii != ascii {
                continue;
            }
            let texts = block * POOL_BLOCK..((block + 1) * POOL_BLOCK).min(self.pool.len());
            self.pool.find_each(finder, texts, |text, unit| {
                if quality.is_empty() {
                    quality = vec![0; self.pool.len()];
                }
                quality[text] = literal_quality(&self.pool, text, unit, n);
                text + 1
            });
        }
        (!quality.is_empty()).then_some(quality)
    }

    /// Guides whose set of texts in `field` matched; `sets` is the best match quality of every
    /// pool set.
    fn collect_pooled(&self, field: MatchField, sets: &[u32], run: &mut Run) {
        let source = &self.pooled[field as usize - 3];
        for g in 0..self.slots() {
            if run.seen[g] {
                continue;
            }
            let best = sets[source[g] as usize];
            if best != 0 {
                run.record(g, score(false, field, best));
            }
        }
    }

    /// Byte ranges of the matched characters in guide `g`'s name.
    fn highlight(&self, g: usize, ids: &[u16], automaton: Option<&Automaton>) -> Vec<Range<usize>> {
        let start = if g == 0 { 0 } else { self.name_end[g - 1] as usize };
        let name = &self.names[start..self.name_end[g] as usize];
        let folded = normalize::normalize_with_offsets(name);
        let units: Vec<u16> = folded.iter().map(|(c, _)| self.alphabet.lookup(*c)).collect();
        let span = match automaton {
            Some(a) => a.find_span(&units),
            None => units.windows(ids.len()).position(|w| w == ids).map(|i| (i, i + ids.len() - 1)),
        };
        let Some((from, to)) = span else { return Vec::new() };
        let mut ranges: Vec<Range<usize>> = Vec::new();
        for (_, r) in &folded[from..=to] {
            match ranges.last_mut() {
                Some(last) if last.end == r.start => last.end = r.end,
                _ => ranges.push(r.clone()),
            }
        }
        ranges
    }
}

/// Per-query bookkeeping: which guides already have their best hit.
struct Run<'a> {
    /// Per slot.
    seen: Vec<bool>,
    /// Score and position.
    hits: Vec<(u32, u32)>,
    /// Whole-text matches in the name, aliases and keywords above all other exact matches.
    whole_first: bool,
    /// The index's positions of its slots (empty: the same).
    position: &'a [u32],
}

impl Run<'_> {
    /// The score of a name, alias or keyword match; `whole` when it is the whole text.
    fn tier(&self, score: u32, whole: bool) -> u32 {
        if self.whole_first && whole { score | WHOLE_TIER } else { score }
    }

    /// The best score of the guide in `slot`; a retired slot is never a hit. Hits name the
    /// guide's position, so that ties rank in the catalogue's order however the index was made.
    fn record(&mut self, slot: usize, score: u32) {
        self.seen[slot] = true;
        let position = if self.position.is_empty() { slot as u32 } else { self.position[slot] };
        if position != REMOVED {
            self.hits.push((score, position));
        }
    }
}

/// Above every field's rank (bits 24-26): the whole-text tier of `search_ranked`.
const WHOLE_TIER: u32 = 1 << 27;

/// Exact before fuzzy, then the field, then the quality within the field.
fn score(fuzzy: bool, field: MatchField, quality: u32) -> u32 {
    u32::from(!fuzzy) << 28 | field.rank() << 24 | quality
}

/// Whole text before prefix before substring (`kind` 3, 2, 1), then an earlier match, then a
/// shorter text. Never 0.
fn quality(kind: u32, end: usize, len: usize) -> u32 {
    kind << 22 | (1023 - end.min(1023) as u32) << 12 | (4095 - len.min(4095) as u32)
}

fn literal_quality(texts: &Texts, text: usize, unit: usize, n: usize) -> u32 {
    let start = texts.start(text);
    let len = texts.text_len(text);
    let kind = if unit == start && n == len {
        3
    } else if unit == start {
        2
    } else {
        1
    };
    quality(kind, unit - start + n - 1, len)
}

/// Whether to look for matches with one typo, given how many guides matched exactly. Three
/// correct letters out of four say little, so a four-letter query gets typo matches only when
/// nothing matched it exactly; longer queries whenever the exact hits leave room.
fn fuzzy_worthwhile(q: &[char], exact_hits: usize) -> bool {
    let letters = q.iter().filter(|c| c.is_ascii_lowercase()).count();
    let others = q.len() - letters;
    match others {
        0 if letters == FUZZY_MIN_LETTERS => exact_hits == 0,
        0 => letters > FUZZY_MIN_LETTERS,
        _ => letters + 2 * others >= 2 * FUZZY_MIN_HANZI,
    }
}

/// The texts of one field of a guide; no match crosses two texts.
fn field_texts(guide: &ServiceGuide, field: MatchField) -> Vec<&str> {
    match field {
        MatchField::Name => vec![guide.name.as_str()],
        MatchField::Alias => guide.aliases.iter().map(String::as_str).collect(),
        MatchField::Keyword => guide.keywords.iter().map(String::as_str).collect(),
        MatchField::Material => guide.materials.iter().map(|m| m.name.as_str()).collect(),
        MatchField::Faq => guide.faqs.iter().flat_map(|f| [f.question.as_str(), f.answer.as_str()]).collect(),
        MatchField::Body => {
            let mut parts: Vec<&str> = vec![guide.department.as_str(), guide.item_type.label()];
            for l in &guide.legal_basis {
                parts.push(&l.law);
                parts.push(&l.article);
            }
            parts.extend(guide.acceptance_conditions.iter().map(String::as_str));
            for s in &guide.situations {
                parts.push(&s.name);
                parts.extend(s.conditions.iter().map(String::as_str));
            }
            for m in &guide.materials {
                parts.extend(m.condition.as_deref());
                parts.push(&m.source);
                parts.push(&m.notes);
                parts.extend(m.blank_form.as_deref());
                parts.extend(m.sample_form.as_deref());
            }
            for f in &guide.fees {
                parts.extend([f.item.as_str(), f.standard.as_str(), f.basis.as_str()]);
            }
            for p in &guide.process {
                parts.push(&p.name);
                parts.push(&p.description);
            }
            parts
        }
    }
}
