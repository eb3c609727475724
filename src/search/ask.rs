//! Questions as people ask them (身份证过期了, 娃的医保咋个办, shenfenzheng diule): the
//! question is split into words, filler is dropped, each word brings its synonyms from the
//! lexicon, and guides are scored by how much of the question they cover.
//!
//! - Splitting: spaces and punctuation split a question into chunks, and a chunk splits where
//!   letters meet Hanzi (`身份证dl` is 身份证 and `dl`). A run of letters made only of spelled
//!   lexicon or catalogue words is cut into them (`shenfenzhengdiule`, `dibao`); otherwise it is
//!   one word, matched as pinyin, initials or literally by the index. A run of Hanzi is cut by
//!   forward maximum matching against the lexicon's words and the catalogue's own keywords and
//!   aliases; consecutive characters no dictionary knows stay together as one word (身分证,
//!   12315), so a typo in a name still gets the one-typo matching of the index.
//! - Filler (怎么, 了, 我, 想, ...) is dropped. What is left are the question's *slots*; two
//!   words of one synonym group are one slot.
//! - A slot is matched by its word (in every field) and, a little lower, by the other words of
//!   its lexicon group (娃 → 孩子, 新生儿, ...; in the name, aliases and keywords only). Unknown
//!   Hanzi that sound like a known word are taken for it as a typo (医宝 → yibao → 医保): most
//!   typos at a desk come from a pinyin input method.
//! - Score: per slot, the best of its words in the guide (plus a little for its other words),
//!   weighted BM25-style by how rare the slot is in the catalogue (idf), by the field (name,
//!   alias and keyword above materials, FAQ and body text) and by how it matched (the whole
//!   name, alias or keyword above a prefix above containment, more for covering more of the text;
//!   a typo match at about a third). The slots add up, so a guide covering more of the question
//!   ranks higher; the remaining words together as one phrase are one more slot.
//!
//! Relevance is measured on `tests/eval/questions.toml` (see [`super::eval`]).
//!
//! Segmenters compared (`cargo bench --bench search --features jieba`, 2026-12-05; top-1 /
//! top-3 on held-out 66 and fresh 35 questions): this dictionary cut 93.9/100 and 88.6/97.1;
//! character bigrams 92.4/98.5 and 77.1/85.7; jieba-rs with its own dictionary plus ours
//! 95.5/100 and 94.3/100; jieba-rs with our words only 95.5/100 and 88.6/100. Latency at 10,000
//! guides is the same for all but bigrams (slower on whole questions). jieba-rs costs about a
//! minute of CPU to build from clean (2 cores), about 3 MB of binary and 94 ms at start with its
//! dictionary; the desk still uses the dictionary cut (see the closing note of issue #14).

use std::collections::HashMap;
use std::ops::Range;

use super::{Hit, MatchField, SearchIndex, alphabet::ABSENT, normalize};
use crate::domain::guide::ServiceGuide;
use crate::domain::lexicon::Lexicon;

/// Results asked of the index per word; enough to see how common a word is.
const WORD_LIMIT: usize = 400;
/// A synonym counts a little less than the word the person said.
const SYNONYM_WEIGHT: f32 = 0.8;
/// A match with one typo.
const FUZZY_WEIGHT: f32 = 0.35;
/// A word matched only by its sound.
const SOUND_WEIGHT: f32 = 0.7;
/// The remaining words of the question matched together as one text.
const PHRASE_WEIGHT: f32 = 1.0;
/// At most this many words of a synonym group are tried for one slot (the said word first).
const MAX_ALTERNATIVES: usize = 8;

/// What a spelling stands for: a lexicon group, or a catalogue keyword or alias.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Sound {
    Group(u32),
    Word(Box<str>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Kind {
    Filler,
    Group(u32),
    Catalogue,
}

/// The words a question is cut into: the lexicon's and the catalogue's.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Words {
    #[serde(serialize_with = "super::sorted")]
    kinds: HashMap<String, Kind>,
    /// Full pinyin (and, for words of three or more Hanzi, initials) of the lexicon's group
    /// words: `hukouben` and `hkb` stand for 户口本.
    #[serde(serialize_with = "super::sorted")]
    sounds: HashMap<String, Sound>,
    groups: Vec<Vec<String>>,
    /// Longest word, in characters.
    longest: usize,
}

fn fold(text: &str) -> String {
    normalize::normalize(text).into_iter().collect()
}

impl Words {
    pub(crate) fn new(lexicon: &Lexicon, guides: &[ServiceGuide]) -> Self {
        let mut words = Words::default();
        for filler in &lexicon.filler {
            words.add(fold(filler), Kind::Filler);
        }
        for group in &lexicon.groups {
            let id = words.groups.len() as u32;
            let mut members: Vec<String> = Vec::new();
            for word in &group.words {
                let word = fold(word);
                if !word.is_empty() && !members.contains(&word) {
                    words.add(word.clone(), Kind::Group(id));
                    members.push(word);
                }
            }
            words.groups.push(members);
        }
        for guide in guides {
            words.add_guide(guide);
        }
        words.finish_guides();
        words
    }

    /// Takes the keywords and aliases of one more guide as words (for building from a stream of
    /// guides); [`Words::finish_guides`] after the last.
    pub(crate) fn add_guide(&mut self, guide: &ServiceGuide) {
        for text in guide.keywords.iter().chain(&guide.aliases) {
            // A single character is too ambiguous to cut a question at, unless the
            // lexicon says so.
            self.add_text(fold(text));
        }
    }

    /// Forgets the catalogue's words and their spellings (the lexicon's stay), for taking them
    /// again from the guides an updated index holds: a word of a removed guide must not cut
    /// questions any more. [`Words::add_text`] each keyword and alias, then
    /// [`Words::finish_guides`] and [`Words::add_sounds`], as when building.
    pub(crate) fn forget_catalogue(&mut self) {
        self.kinds.retain(|_, kind| !matches!(kind, Kind::Catalogue));
        self.sounds.clear();
    }

    /// One keyword or alias, already folded, as [`Words::add_guide`] takes it.
    pub(crate) fn add_text(&mut self, word: String) {
        if word.chars().count() >= 2 && word.chars().count() <= 16 {
            self.kinds.entry(word).or_insert(Kind::Catalogue);
        }
    }

    pub(crate) fn finish_guides(&mut self) {
        self.longest = self.kinds.keys().map(|w| w.chars().count()).max().unwrap_or(0);
        self.kinds.shrink_to_fit();
    }

    /// Spells the lexicon's group words and the catalogue's keywords and aliases with the
    /// index's readings (first reading of each character): full pinyin, and initials for group
    /// words of three or more characters.
    pub(crate) fn add_sounds(&mut self, spell: impl Fn(&str) -> Option<Vec<String>>) {
        let mut words: Vec<(&String, &Kind)> = self.kinds.iter().collect();
        // Deterministic: a spelling shared by two words goes to the group word, then the shorter.
        words.sort_by_key(|(w, k)| (matches!(k, Kind::Catalogue), w.chars().count(), w.as_str()));
        for (word, kind) in words {
            let sound = match kind {
                Kind::Filler => continue,
                Kind::Group(g) => Sound::Group(*g),
                Kind::Catalogue if word.chars().count() <= 6 => Sound::Word(word.as_str().into()),
                Kind::Catalogue => continue,
            };
            let Some(syllables) = spell(word) else { continue };
            if syllables.len() < 2 {
                continue;
            }
            if syllables.len() >= 3 && matches!(sound, Sound::Group(_)) {
                let initials: String = syllables.iter().filter_map(|s| s.chars().next()).collect();
                self.sounds.entry(initials).or_insert_with(|| sound.clone());
            }
            self.sounds.entry(syllables.concat()).or_insert(sound);
        }
        self.sounds.shrink_to_fit();
    }

    /// A group slot for `said`: the word, then the rest of its group.
    fn group_slot(&self, said: String, g: u32) -> Slot {
        let mut words = vec![(said.clone(), 1.0, false)];
        words
            .extend(self.groups[g as usize].iter().filter(|w| **w != said).map(|w| (w.clone(), SYNONYM_WEIGHT, false)));
        Slot { said, words, group: Some(g) }
    }

    /// A slot for `said`, spelled like `sound`: the said word, then what it sounds like; when
    /// `heard` (Hanzi that only sound like the word, 医宝 for 医保), matches by the sound are
    /// typo matches.
    fn sound_slot(&self, said: String, sound: &Sound, heard: bool) -> Slot {
        let mut slot = match sound {
            Sound::Group(g) => self.group_slot(said, *g),
            Sound::Word(w) => {
                Slot { words: vec![(said.clone(), 1.0, false), (w.to_string(), 1.0, false)], said, group: None }
            }
        };
        if heard {
            for (_, weight, fuzzy) in slot.words.iter_mut().skip(1) {
                *weight *= SOUND_WEIGHT;
                *fuzzy = true;
            }
        }
        slot
    }

    /// `letters` cut into spelled words, when it is nothing but those (`diule`, `dibao`,
    /// `shenfenzhengdiule`); longest first.
    fn cut_sounds(&self, letters: &str) -> Option<Vec<(String, &Sound)>> {
        let mut out = Vec::new();
        let mut rest = letters;
        while !rest.is_empty() {
            let (len, sound) =
                (2..=rest.len()).rev().find_map(|len| self.sounds.get(&rest[..len]).map(|s| (len, s)))?;
            out.push((rest[..len].to_owned(), sound));
            rest = &rest[len..];
        }
        Some(out)
    }

    fn add(&mut self, word: String, kind: Kind) {
        if !word.is_empty() {
            self.kinds.entry(word).or_insert(kind);
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        let entry = size_of::<String>() + size_of::<Kind>() + 8;
        (self.kinds.capacity() + self.sounds.capacity()) * entry
            + self.sounds.keys().map(String::capacity).sum::<usize>()
            + self.kinds.keys().map(String::capacity).sum::<usize>()
            + self.groups.iter().flatten().map(|w| w.capacity() + size_of::<String>()).sum::<usize>()
    }
}

/// One meaningful word of a question and the words that can stand for it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Slot {
    /// As the question said it (normalized).
    said: String,
    /// The said word first, then its synonyms, with their weights, and whether a match by it is
    /// a typo match (a word that only sounds like the said one).
    pub(super) words: Vec<(String, f32, bool)>,
    /// The lexicon group it belongs to: two words of one group are one slot.
    group: Option<u32>,
}

/// The question understood: its slots, and the phrase of all of them together.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Understood {
    pub(super) slots: Vec<Slot>,
    pub(super) phrase: Option<String>,
}

/// One guide found by [`SearchIndex::ask`].
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    /// Index into the slice given to [`SearchIndex::build`].
    pub guide: usize,
    /// Higher is better; only meaningful for comparing answers to one question.
    pub score: f32,
    /// The words of the question this guide matched, in the question's order.
    pub matched: Vec<String>,
    /// The best field any of them matched in.
    pub field: MatchField,
    /// Matched only with a typo (or by sound).
    pub fuzzy: bool,
    /// Byte ranges of the matched characters in the guide's name.
    pub name_highlight: Vec<Range<usize>>,
}

/// What [`SearchIndex::ask`] found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Answer {
    /// Best first.
    pub hits: Vec<Answered>,
    /// The meaningful words of the question, filler dropped, in order.
    pub words: Vec<String>,
}

impl Answer {
    /// The words of the question that no found guide matched.
    pub fn unmatched(&self) -> Vec<&str> {
        self.words.iter().filter(|w| !self.hits.iter().any(|h| h.matched.contains(w))).map(String::as_str).collect()
    }

    /// Whether the best guide is a confident answer: it matched at least half of the question's
    /// words, not only by a typo. A question without one is worth the admin's look.
    pub fn confident(&self) -> bool {
        match self.hits.first() {
            Some(top) => !top.fuzzy && 2 * top.matched.len() >= self.words.len(),
            None => false,
        }
    }
}

/// Field weights: where a word matched says how much the guide is about it.
fn field_weight(field: MatchField) -> f32 {
    match field {
        MatchField::Name => 1.0,
        MatchField::Alias => 0.9,
        MatchField::Keyword => 0.9,
        MatchField::Material => 0.35,
        MatchField::Faq => 0.25,
        MatchField::Body => 0.12,
    }
}

/// How a word of `units` characters (0: letters, length unknown) matched a text: the whole of
/// it, its start, or somewhere inside, and how much of the text it covers; in how many of the
/// name, aliases and keywords.
fn kind_weight(hit: &Hit, units: usize) -> f32 {
    let whole = hit.score & super::WHOLE_TIER != 0;
    let kind = hit.score >> 22 & 3;
    let len = (4095 - (hit.score & 0xFFF)).max(1) as f32;
    let by_kind = if whole || kind == 3 {
        1.6
    } else {
        let covered = if units > 0 {
            units as f32 / len
        } else if kind == 2 {
            // A prefix: it ends where the match ends.
            (1024 - (hit.score >> 12 & 0x3FF)) as f32 / len
        } else {
            0.5
        };
        1.0 + 0.4 * covered.min(1.0) + if kind == 2 { 0.1 } else { 0.0 }
    };
    let by_fields = 1.0 + 0.1 * f32::from(hit.fields.saturating_sub(1).min(2));
    let w = by_kind * by_fields;
    if hit.fuzzy { w * FUZZY_WEIGHT } else { w }
}

/// How rare a word is among `n` guides when `df` contain it (BM25's idf, never below a little).
fn idf(n: usize, df: usize) -> f32 {
    let (n, df) = (n as f32, df as f32);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln().max(0.05)
}

/// How runs of Hanzi are cut into words.
#[derive(Clone, Copy)]
pub enum Segmentation<'a> {
    /// Forward maximum matching against the lexicon's and the catalogue's words; characters no
    /// dictionary knows stay together as one word (the desk's way).
    Dictionary,
    /// Overlapping character bigrams (a single character alone); filler bigrams dropped.
    Bigrams,
    /// Another segmenter's cut of a run (e.g. jieba with the same words added); each piece is
    /// then looked up in the lexicon like a word of the dictionary cut.
    External(&'a dyn Fn(&str) -> Vec<String>),
}

/// Per guide while scoring.
#[derive(Default)]
struct Acc {
    score: f32,
    /// Slots matched, as a bit set (questions have few).
    slots: u64,
    field: Option<MatchField>,
    exact: bool,
    /// The best name match's weight and highlight.
    highlight: (f32, Vec<Range<usize>>),
}

impl SearchIndex {
    /// The guides that answer `question` as a person asks it, best first, at most `limit`.
    /// Anything that matches a word of the question is shown, so a question containing a known
    /// word never finds nothing.
    pub fn ask(&self, question: &str, limit: usize) -> Answer {
        self.ask_with(question, limit, Segmentation::Dictionary)
    }

    /// [`SearchIndex::ask`] with another way of cutting runs of Hanzi into words, for measuring
    /// segmenters against each other (`cargo bench --bench search`).
    pub fn ask_with(&self, question: &str, limit: usize, segmentation: Segmentation) -> Answer {
        let understood = self.understand_with(question, segmentation);
        let words: Vec<String> = understood.slots.iter().map(|s| s.said.clone()).collect();
        if limit == 0 || self.is_empty() || understood.slots.is_empty() {
            return Answer { hits: Vec::new(), words };
        }
        let n = self.len();
        let mut acc: HashMap<u32, Acc> = HashMap::new();
        let mut best: HashMap<u32, (f32, f32, Hit)> = HashMap::new();
        // The phrase (`None`) first, then each slot.
        let phrase = understood.phrase.iter().map(|_| None);
        for slot in phrase.chain(understood.slots.iter().enumerate().map(Some)) {
            // Per guide: the best contribution of the slot's words, and their sum.
            best.clear();
            let alternatives: Vec<(String, f32, bool)> = match slot {
                Some((_, s)) => s.words.iter().take(MAX_ALTERNATIVES).cloned().collect(),
                None => vec![(understood.phrase.clone().unwrap_or_default(), PHRASE_WEIGHT, false)],
            };
            for (i, (word, weight, heard)) in alternatives.into_iter().enumerate() {
                // The said word (and the phrase) everywhere; its synonyms in the name, aliases and
                // keywords only: a synonym deep in body text says little and costs the most.
                let last = if i == 0 { MatchField::Body } else { MatchField::Keyword };
                let mut hits = self.search_ranked(&word, WORD_LIMIT, true, last);
                if heard {
                    for h in &mut hits {
                        h.fuzzy = true;
                    }
                }
                let units = if word.bytes().all(|b| b.is_ascii_lowercase()) { 0 } else { word.chars().count() };
                for hit in hits {
                    let c = weight * field_weight(hit.field) * kind_weight(&hit, units);
                    let entry = best.entry(hit.guide as u32).or_insert((0.0, 0.0, hit.clone()));
                    entry.1 += c;
                    if c > entry.0 {
                        entry.0 = c;
                        entry.2 = hit;
                    }
                }
            }
            // How rare the slot is: among guides any of its words matched in the name, aliases or
            // keywords, and among all it matched. 身份证 is in nearly every guide's materials
            // (居民身份证) but in one name: a name match of it still says a lot.
            let named = best.values().filter(|(_, _, h)| h.field.pinyin()).count();
            let (idf_named, idf_all) = (idf(n, named), idf(n, best.len()));
            for (g, (max, sum, hit)) in best.drain() {
                let idf = if hit.field.pinyin() { idf_named } else { idf_all };
                let c = idf * (max + 0.25 * (sum - max)).min(1.5 * max);
                let a = acc.entry(g).or_default();
                a.score += c;
                a.slots |= match slot {
                    Some((i, _)) => 1 << i.min(63),
                    // The whole phrase matched: so did every word of it.
                    None => u64::MAX,
                };
                a.field = Some(a.field.map_or(hit.field, |f| f.min(hit.field)));
                a.exact |= !hit.fuzzy;
                if hit.field == MatchField::Name && c > a.highlight.0 {
                    a.highlight = (c, hit.name_highlight);
                }
            }
        }
        let mut ranked: Vec<(u32, Acc)> = acc.into_iter().collect();
        ranked.sort_unstable_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.0.cmp(&b.0)));
        ranked.truncate(limit);
        let hits = ranked
            .into_iter()
            .map(|(g, a)| Answered {
                guide: g as usize,
                score: a.score,
                matched: understood
                    .slots
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| a.slots >> (*i).min(63) & 1 == 1)
                    .map(|(_, s)| s.said.clone())
                    .collect(),
                field: a.field.unwrap_or(MatchField::Body),
                fuzzy: !a.exact,
                name_highlight: a.highlight.1,
            })
            .collect();
        Answer { hits, words }
    }

    /// The words the dictionary cut knows (lexicon words, filler, the catalogue's keywords and
    /// aliases), for giving another segmenter the same vocabulary.
    pub fn dictionary_words(&self) -> Vec<&str> {
        self.words.kinds.keys().map(String::as_str).collect()
    }

    /// The first reading of each character of `word` (letters and digits as they are), or
    /// `None` when a character has none.
    pub(crate) fn spell(&self, word: &str) -> Option<Vec<String>> {
        let mut out = Vec::new();
        for c in normalize::normalize(word) {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_string());
                continue;
            }
            let id = self.alphabet.lookup(c);
            if id == ABSENT {
                return None;
            }
            let &first = self.alphabet.readings(id).first()?;
            out.push(String::from_utf8(self.alphabet.syllables()[first as usize].to_vec()).ok()?);
        }
        Some(out)
    }

    #[cfg(test)]
    pub(super) fn understand(&self, question: &str) -> Understood {
        self.understand_with(question, Segmentation::Dictionary)
    }

    fn understand_with(&self, question: &str, segmentation: Segmentation) -> Understood {
        let words = &self.words;
        let mut slots: Vec<Slot> = Vec::new();
        // Chunks: split at dropped characters (spaces, punctuation) and where letters meet Hanzi.
        let mut chunks: Vec<(bool, Vec<char>)> = Vec::new();
        let mut boundary = true;
        for c in question.chars() {
            match normalize::fold_char(c) {
                None => boundary = true,
                Some(f) => {
                    let letter = f.is_ascii_lowercase();
                    match chunks.last_mut() {
                        Some((l, chars)) if !boundary && *l == letter => chars.push(f),
                        _ => chunks.push((letter, vec![f])),
                    }
                    boundary = false;
                }
            }
        }
        for (letters, chars) in chunks {
            if letters {
                let word: String = chars.into_iter().collect();
                match words.cut_sounds(&word) {
                    Some(cut) => {
                        slots.extend(cut.into_iter().map(|(said, sound)| words.sound_slot(said, sound, false)))
                    }
                    None => slots.push(Slot { said: word.clone(), words: vec![(word, 1.0, false)], group: None }),
                }
                continue;
            }
            let mut unknown = String::new();
            // Characters no dictionary knows: one word, or a known word they sound like.
            let flush = |unknown: &mut String, slots: &mut Vec<Slot>| {
                if !unknown.is_empty() {
                    let word = std::mem::take(unknown);
                    let sound = (word.chars().count() >= 2)
                        .then(|| self.spell(&word))
                        .flatten()
                        .and_then(|syllables| words.sounds.get(&syllables.concat()));
                    slots.push(match sound {
                        Some(sound) => words.sound_slot(word, sound, true),
                        None => Slot { said: word.clone(), words: vec![(word, 1.0, false)], group: None },
                    });
                }
            };
            let cut = match segmentation {
                Segmentation::Dictionary => None,
                Segmentation::Bigrams if chars.len() == 1 => Some(vec![chars.iter().collect()]),
                Segmentation::Bigrams => Some(chars.windows(2).map(|w| w.iter().collect()).collect()),
                Segmentation::External(cut) => Some(cut(&chars.iter().collect::<String>())),
            };
            if let Some(pieces) = cut {
                for piece in pieces {
                    match words.kinds.get(&piece) {
                        Some(Kind::Filler) => {}
                        Some(Kind::Group(g)) => slots.push(words.group_slot(piece, *g)),
                        Some(Kind::Catalogue) => {
                            slots.push(Slot { said: piece.clone(), words: vec![(piece, 1.0, false)], group: None })
                        }
                        None => {
                            unknown.push_str(&piece);
                            flush(&mut unknown, &mut slots);
                        }
                    }
                }
                continue;
            }
            let mut i = 0;
            while i < chars.len() {
                let found = (1..=words.longest.min(chars.len() - i)).rev().find_map(|len| {
                    let word: String = chars[i..i + len].iter().collect();
                    let kind = *words.kinds.get(&word)?;
                    (len >= 2 || kind != Kind::Catalogue).then_some((word, kind, len))
                });
                let Some((word, kind, len)) = found else {
                    unknown.push(chars[i]);
                    i += 1;
                    continue;
                };
                flush(&mut unknown, &mut slots);
                i += len;
                match kind {
                    Kind::Filler => {}
                    Kind::Catalogue => {
                        slots.push(Slot { said: word.clone(), words: vec![(word, 1.0, false)], group: None })
                    }
                    Kind::Group(g) => slots.push(words.group_slot(word, g)),
                }
            }
            flush(&mut unknown, &mut slots);
        }
        // The same word twice, or two words of one group (坏了 换), count once.
        let mut seen: Vec<(String, Option<u32>)> = Vec::new();
        slots.retain(|s| {
            let new = !seen.iter().any(|(said, g)| *said == s.said || (s.group.is_some() && *g == s.group));
            seen.push((s.said.clone(), s.group));
            new
        });
        slots.truncate(63);
        let phrase = (slots.len() >= 2).then(|| slots.iter().map(|s| s.said.as_str()).collect::<String>());
        Understood { slots, phrase }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::catalogue;

    fn said(question: &str) -> Vec<String> {
        catalogue().1.understand(question).slots.into_iter().map(|s| s.said).collect()
    }

    #[test]
    fn questions_split_into_meaningful_words() {
        assert_eq!(said("身份证过期了怎么办"), ["身份证", "过期"]);
        assert_eq!(said("我想问一下，医保怎么交？"), ["医保", "交"]);
        assert_eq!(said("shenfenzheng diule"), ["shenfenzheng", "diule"]);
        assert_eq!(said("身份证dl"), ["身份证", "dl"]);
        assert_eq!(said("身分证过期"), ["身分证", "过期"]);
        assert!(said("怎么办呢？").is_empty());
    }
}

#[cfg(test)]
mod explain {
    use super::super::tests::catalogue;

    /// `BIANMIN_ASK='问题1|问题2' cargo test --lib explain -- --nocapture` prints how questions are
    /// understood and scored; a tuning aid.
    #[test]
    fn explain_questions() {
        let Ok(questions) = std::env::var("BIANMIN_ASK") else { return };
        let (guides, index) = catalogue();
        for q in questions.split('|') {
            let understood = index.understand(q);
            println!(
                "{q}: {:?} phrase {:?}",
                understood.slots.iter().map(|s| &s.said).collect::<Vec<_>>(),
                understood.phrase
            );
            for h in index.ask(q, 5).hits {
                println!(
                    "  {:.3} {} {} {:?} {:?}",
                    h.score, guides[h.guide].code, guides[h.guide].name, h.matched, h.field
                );
            }
        }
    }
}
