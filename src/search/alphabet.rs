//! The characters of the indexed text, numbered densely, and their pinyin readings.
//!
//! Every distinct normalized character gets a `u16` id (0 is the separator between texts), so the
//! index stores text at two bytes a character and a query compiles into small tables indexed by
//! id. Each Hanzi points at its set of readings (多音字 have several: 重 zhong/chong, 行
//! xing/hang); an ASCII letter is its own one-letter "reading" so that Latin text in a name
//! matches literally through the same machinery.

use std::collections::HashMap;

use ib_matcher::pinyin::{PinyinData, PinyinNotation};

/// Separates texts (items) in a unit buffer; never equal to a query character.
pub(crate) const SEP: u16 = 0;
/// A query character that occurs nowhere in the index; never equal to a unit.
pub(crate) const ABSENT: u16 = u16::MAX;
/// Text characters beyond the `u16` id space (more than 65,533 distinct characters, which no
/// real catalogue has) share this id; it matches nothing, not even itself.
pub(crate) const OVERFLOW: u16 = u16::MAX - 1;

/// Stored with the index in its finished state: what only building needs is not stored.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Alphabet {
    /// Ids of characters in the Basic Multilingual Plane (0: not in the index), a direct table so
    /// that building and compiling queries do no hashing.
    bmp: Vec<u16>,
    /// Ids of the rarer characters beyond it.
    #[serde(serialize_with = "super::sorted")]
    astral: HashMap<char, u16>,
    /// Per id: the index of its reading set in `sets` (0: no readings).
    reading_set: Vec<u16>,
    /// Syllable ids of each reading set; set 0 is empty.
    sets: Vec<Box<[u16]>>,
    #[serde(skip)]
    set_ids: HashMap<Box<[u16]>, u16>,
    /// Plain ASCII spelling of each syllable (`ü` spelled both `v` and `u`).
    syllables: Vec<Box<[u8]>>,
    #[serde(skip)]
    syllable_ids: HashMap<Box<[u8]>, u16>,
    /// The reading tables while building; dropped by [`Alphabet::finish`].
    #[serde(skip)]
    pinyin: Option<PinyinData>,
}

impl std::fmt::Debug for Alphabet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alphabet")
            .field("chars", &self.reading_set.len())
            .field("reading_sets", &self.sets.len())
            .field("syllables", &self.syllables.len())
            .finish_non_exhaustive()
    }
}

impl Alphabet {
    pub(crate) fn new() -> Self {
        let mut a = Self {
            pinyin: Some(PinyinData::new(PinyinNotation::Ascii)),
            bmp: vec![0; 0x1_0000],
            reading_set: vec![0],
            sets: vec![Box::new([])],
            set_ids: HashMap::new(),
            ..Self::default()
        };
        a.set_ids.insert(Box::new([]), 0);
        a
    }

    /// The id of `c`, adding it (and its readings) when new.
    pub(crate) fn intern(&mut self, c: char) -> u16 {
        let known = self.lookup(c);
        if known != ABSENT {
            return known;
        }
        if self.reading_set.len() >= OVERFLOW as usize {
            return OVERFLOW;
        }
        let id = self.reading_set.len() as u16;
        let set = self.readings_of(c);
        let set_id = match self.set_ids.get(&set) {
            Some(&s) => s,
            None => {
                let s = self.sets.len() as u16;
                self.sets.push(set.clone());
                self.set_ids.insert(set, s);
                s
            }
        };
        self.reading_set.push(set_id);
        match self.bmp.get_mut(c as usize) {
            Some(slot) => *slot = id,
            None => {
                self.astral.insert(c, id);
            }
        }
        id
    }

    fn readings_of(&mut self, c: char) -> Box<[u16]> {
        let mut spellings: Vec<Vec<u8>> = Vec::new();
        if c.is_ascii_lowercase() {
            spellings.push(vec![c as u8]);
        } else if let Some(data) = &self.pinyin {
            data.get_pinyins_and_for_each(c, |reading| {
                if let Some(plain) = reading.notation(PinyinNotation::Ascii)
                    && !plain.is_empty()
                    && plain.bytes().all(|b| b.is_ascii_lowercase())
                {
                    spellings.push(plain.as_bytes().to_vec());
                    // ü is written v; some people type u (lv/lu for 绿).
                    if plain.contains('v') {
                        spellings.push(plain.replace('v', "u").into_bytes());
                    }
                }
            });
        }
        // In the table's order, the usual reading first (what `SearchIndex::spell` takes), not
        // in the order of the syllable ids: those depend on which characters the catalogue
        // brought first, and a spelling must not change with that (an index updated in place
        // numbers syllables otherwise than one built from scratch).
        let mut ids: Vec<u16> = Vec::new();
        for spelling in spellings {
            let id = self.syllable(spelling);
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids.into_boxed_slice()
    }

    /// Drops what only building needs.
    pub(crate) fn finish(&mut self) {
        self.pinyin = None;
        self.set_ids = HashMap::new();
        self.syllable_ids = HashMap::new();
    }

    /// Makes a finished alphabet able to add characters again (for updating an index in
    /// place): the reading tables and the lookups of sets and syllables that
    /// [`Alphabet::finish`] dropped, rebuilt from what it kept.
    pub(crate) fn reopen(&mut self) {
        self.pinyin = Some(PinyinData::new(PinyinNotation::Ascii));
        self.set_ids = self.sets.iter().enumerate().map(|(i, s)| (s.clone(), i as u16)).collect();
        self.syllable_ids = self.syllables.iter().enumerate().map(|(i, s)| (s.clone(), i as u16)).collect();
    }

    /// The character of every id still looked up (`None`: the separator, an overflow or a
    /// forgotten id).
    pub(crate) fn chars(&self) -> Vec<Option<char>> {
        let mut chars = vec![None; self.reading_set.len()];
        for (c, &id) in self.bmp.iter().enumerate() {
            if id != 0 && id != OVERFLOW {
                chars[id as usize] = char::from_u32(c as u32);
            }
        }
        for (&c, &id) in &self.astral {
            if id != OVERFLOW {
                chars[id as usize] = Some(c);
            }
        }
        chars
    }

    /// Stops looking up the characters whose ids `live` says no indexed text holds any more, as
    /// if they had never been indexed: a query with one of them finds nothing literally, exactly
    /// as in an index built without the texts that held it. Their ids stay taken (only removed
    /// texts use them); a character indexed again gets a new id.
    pub(crate) fn forget(&mut self, live: &[bool]) {
        for id in self.bmp.iter_mut() {
            if *id != 0 && *id != OVERFLOW && !live.get(*id as usize).copied().unwrap_or(true) {
                *id = 0;
            }
        }
        self.astral.retain(|_, id| *id == OVERFLOW || live.get(*id as usize).copied().unwrap_or(true));
    }

    fn syllable(&mut self, spelling: Vec<u8>) -> u16 {
        if let Some(&id) = self.syllable_ids.get(spelling.as_slice()) {
            return id;
        }
        let id = self.syllables.len() as u16;
        let spelling = spelling.into_boxed_slice();
        self.syllables.push(spelling.clone());
        self.syllable_ids.insert(spelling, id);
        id
    }

    /// The id of a query character, `ABSENT` when no indexed text contains it.
    #[inline]
    pub(crate) fn lookup(&self, c: char) -> u16 {
        match self.bmp.get(c as usize) {
            Some(0) => ABSENT,
            Some(&id) => id,
            None => self.astral.get(&c).copied().unwrap_or(ABSENT),
        }
    }

    /// The reading set of unit `id` (0: none).
    #[inline]
    pub(crate) fn reading_set_of(&self, id: u16) -> u16 {
        self.reading_set.get(id as usize).copied().unwrap_or(0)
    }

    pub(crate) fn set(&self, set: u16) -> &[u16] {
        &self.sets[set as usize]
    }

    pub(crate) fn set_count(&self) -> usize {
        self.sets.len()
    }

    /// Number of ids including the separator.
    pub(crate) fn len(&self) -> usize {
        self.reading_set.len()
    }

    /// Syllable ids readable for unit `id` (empty for the separator, digits, other symbols).
    #[inline]
    pub(crate) fn readings(&self, id: u16) -> &[u16] {
        match self.reading_set.get(id as usize) {
            Some(&set) => &self.sets[set as usize],
            None => &[],
        }
    }

    pub(crate) fn syllables(&self) -> &[Box<[u8]>] {
        &self.syllables
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        // A hashbrown entry costs its key and value plus one control byte; capacity is rounded up.
        let ids = self.bmp.capacity() * 2 + self.astral.capacity() * (size_of::<char>() + size_of::<u16>() + 1);
        let sets: usize = self.sets.iter().map(|s| s.len() * 2 + size_of::<Box<[u16]>>()).sum::<usize>() * 2
            + self.set_ids.capacity() * (size_of::<Box<[u16]>>() + 3);
        let syllables: usize = self.syllables.iter().map(|s| s.len() + size_of::<Box<[u8]>>()).sum::<usize>() * 2
            + self.syllable_ids.capacity() * (size_of::<Box<[u8]>>() + 3);
        ids + self.reading_set.capacity() * 2 + sets + syllables
    }
}
