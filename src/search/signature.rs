//! A per-guide summary of what its name, aliases and keywords can match, checked before the
//! automaton runs over them: most guides are ruled out by a few bit tests.

use super::alphabet::Alphabet;

/// What a guide's name, aliases and keywords contain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) struct Signature {
    /// Letter pairs `a * 26 + b` that the pieces of consecutive units can spell: inside a reading,
    /// and from a piece's last letter to the next unit's first letter.
    bigrams: [u64; 11],
    /// Bloom filter of the ids of units that are not ASCII letters (Hanzi, digits).
    symbols: [u64; 4],
    /// Letters a piece can start with.
    first: u32,
}

fn symbol_bit(id: u16) -> usize {
    (u32::from(id).wrapping_mul(0x9E37_79B1) >> 24) as usize
}

fn has_bit(words: &[u64], bit: usize) -> bool {
    words[bit / 64] >> (bit % 64) & 1 == 1
}

fn set_bit(words: &mut [u64], bit: usize) {
    words[bit / 64] |= 1 << (bit % 64);
}

fn letter(b: u8) -> u32 {
    1 << (b - b'a')
}

/// Per reading set: first letters, the letters a piece can end with, and the letter pairs inside
/// the readings.
struct SetLetters {
    first: u32,
    last: u32,
    inner: [u64; 11],
}

impl SetLetters {
    fn of(alphabet: &Alphabet, set: u16) -> Self {
        let mut s = SetLetters { first: 0, last: 0, inner: [0; 11] };
        for &y in alphabet.set(set) {
            let r = &alphabet.syllables()[y as usize];
            s.first |= letter(r[0]);
            // A piece ends with the reading's last letter, its initial, or the h of zh/ch/sh.
            s.last |= letter(r[r.len() - 1]) | letter(r[0]);
            if r.len() >= 2 && r[1] == b'h' {
                s.last |= letter(b'h');
            }
            for pair in r.windows(2) {
                set_bit(&mut s.inner, usize::from(pair[0] - b'a') * 26 + usize::from(pair[1] - b'a'));
            }
        }
        s
    }
}

/// Accumulates signatures while the index is built.
#[derive(Default)]
pub(crate) struct Signer {
    cache: Vec<Option<SetLetters>>,
    current: Signature,
    /// Letters the previous unit of the current text can end a piece with.
    prev_last: u32,
}

impl Signer {
    /// Starts a new text (no letter pair crosses texts).
    pub(crate) fn text(&mut self) {
        self.prev_last = 0;
    }

    /// Adds unit `id`, the normalized character `c`.
    pub(crate) fn unit(&mut self, alphabet: &Alphabet, id: u16, c: char) {
        let sig = &mut self.current;
        if !c.is_ascii_lowercase() {
            set_bit(&mut sig.symbols, symbol_bit(id));
        }
        let set = alphabet.reading_set_of(id);
        if set == 0 {
            self.prev_last = 0;
            return;
        }
        if self.cache.len() < alphabet.set_count() {
            self.cache.resize_with(alphabet.set_count(), || None);
        }
        let letters = self.cache[set as usize].get_or_insert_with(|| SetLetters::of(alphabet, set));
        for (word, inner) in sig.bigrams.iter_mut().zip(&letters.inner) {
            *word |= inner;
        }
        sig.first |= letters.first;
        let mut last = self.prev_last;
        while last != 0 {
            let a = last.trailing_zeros() as usize;
            last &= last - 1;
            let mut first = letters.first;
            while first != 0 {
                let b = first.trailing_zeros() as usize;
                first &= first - 1;
                set_bit(&mut sig.bigrams, a * 26 + b);
            }
        }
        self.prev_last = letters.last;
    }

    /// The finished signature of the current guide; the next guide starts empty.
    pub(crate) fn finish(&mut self) -> Signature {
        self.prev_last = 0;
        std::mem::take(&mut self.current)
    }
}

/// What a guide's [`Signature`] must contain for a query to match.
pub(crate) struct QuerySignature {
    bigrams: Vec<usize>,
    symbols: Vec<usize>,
    first: u32,
}

impl QuerySignature {
    pub(crate) fn new(q: &[char], ids: &[u16]) -> Self {
        let bigrams = q
            .windows(2)
            .filter(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_lowercase())
            .map(|w| (w[0] as usize - 'a' as usize) * 26 + (w[1] as usize - 'a' as usize))
            .collect();
        let symbols =
            q.iter().zip(ids).filter(|(c, _)| !c.is_ascii_lowercase()).map(|(_, &id)| symbol_bit(id)).collect();
        let first = match q.first() {
            Some(&c) if c.is_ascii_lowercase() => 1 << (c as u32 - 'a' as u32),
            _ => 0,
        };
        Self { bigrams, symbols, first }
    }

    pub(crate) fn exact_candidate(&self, sig: &Signature) -> bool {
        sig.first & self.first == self.first
            && self.bigrams.iter().all(|&b| has_bit(&sig.bigrams, b))
            && self.symbols.iter().all(|&b| has_bit(&sig.symbols, b))
    }

    /// One error changes at most three letter pairs (a transposition) or one Hanzi; the first
    /// letter is never the error.
    pub(crate) fn fuzzy_candidate(&self, sig: &Signature) -> bool {
        if sig.first & self.first != self.first {
            return false;
        }
        let bigrams = self.bigrams.iter().filter(|&&b| !has_bit(&sig.bigrams, b)).count();
        let symbols = self.symbols.iter().filter(|&&b| !has_bit(&sig.symbols, b)).count();
        bigrams <= 3 && symbols <= 1
    }
}
