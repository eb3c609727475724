//! A query compiled into a small nondeterministic automaton over text units, run bit-parallel.
//!
//! The query is a string of normalized characters `q[0..m]`. A text unit (one character of an
//! indexed text) consumes a *piece* of the query:
//!
//! - the character itself (Hanzi, digit, or an ASCII letter of Latin text), or, for a Hanzi, any
//!   of its readings (多音字 have several):
//! - the full reading (`zhong`), its first letter (`z`), its two-letter initial (`zh`, `ch`,
//!   `sh`), or, for the last unit of a match only, any prefix of the reading (`zho`), so that a
//!   match holds while the user is still typing.
//!
//! A match is a run of consecutive units whose pieces spell the whole query, so `cjrbt`, `canjiren`,
//! `残疾rbt` and `canjrbt` all match 残疾人补贴. States are query positions, one bit each in a
//! `u64`: layer E (no error so far), and for the typo-tolerant variant layer F (one error spent)
//! and layer P (half-way through a transposition across two pieces). One error is one
//! substituted, inserted, deleted or transposed letter inside a piece, a transposition across two
//! pieces (`yanlgao` for yang+lao), or one substituted, missing or extra Hanzi. The first letter of
//! a Latin query is never an error: this keeps short typo matches from matching everything, and
//! it makes the fuzzy scan nearly as cheap as the exact one because a match can only begin at a
//! unit that reads with that letter.
//!
//! Transitions are precomputed per query for every syllable (about 450) and every state, and the
//! transitions out of the start state for every character of the alphabet, so scanning a unit is
//! one table load while no match is in progress.

use super::alphabet::{Alphabet, SEP};

/// Longest query (in normalized characters) that the exact automaton handles; longer queries
/// only match literally.
pub(crate) const MAX_EXACT: usize = 63;
/// Longest query for typo tolerance: three layers of `m + 1` states in 64 bits.
pub(crate) const MAX_FUZZY: usize = 20;
/// Byte that stands for a query character that is not an ASCII letter in letter comparisons.
const NOT_LETTER: u8 = 0xFF;

pub(crate) struct Automaton<'a> {
    alphabet: &'a Alphabet,
    m: usize,
    fuzzy: bool,
    /// Alphabet id of each query character (`ABSENT` if the index has no such character).
    lit: Vec<u16>,
    /// Bit s set: q[s] is not an ASCII letter (a Hanzi, digit or other), so whole-character edits
    /// apply at s.
    symbol: u64,
    /// Transitions out of E(s) for syllable y: `ex[y * (m + 1) + s]`.
    ex: Vec<u64>,
    /// Transitions out of P(p) for syllable y: `px[y * (m + 1) + p]`.
    px: Vec<u64>,
    /// State after one unit when starting fresh, per alphabet id.
    start: Vec<u64>,
    e_mask: u64,
    /// E bits whose character may be deleted from the query (closure E(s) -> F(s + 1)).
    del_mask: u64,
    accept: u64,
}

/// How a text matched, for ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemMatch {
    /// The whole text is the match.
    pub whole: bool,
    /// The match starts at the first unit.
    pub prefix: bool,
    /// Unit index where the first match ends (inclusive).
    pub end: usize,
}

impl<'a> Automaton<'a> {
    /// `None` when the query is empty or too long for the requested variant.
    pub(crate) fn new(alphabet: &'a Alphabet, query: &[char], fuzzy: bool) -> Option<Self> {
        let m = query.len();
        if m == 0 || m > if fuzzy { MAX_FUZZY } else { MAX_EXACT } {
            return None;
        }
        let qb: Vec<u8> = query.iter().map(|&c| if c.is_ascii_lowercase() { c as u8 } else { NOT_LETTER }).collect();
        let lit: Vec<u16> = query.iter().map(|&c| alphabet.lookup(c)).collect();
        let symbol = (0..m).filter(|&s| qb[s] == NOT_LETTER).fold(0u64, |acc, s| acc | 1 << s);
        let w = m + 1;
        let e_mask = if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
        let del_mask = if fuzzy { symbol } else { 0 };
        let accept_exact = 1u64 << m;
        let accept = if fuzzy { accept_exact | 1u64 << (w + m) } else { accept_exact };
        let syllables = alphabet.syllables();
        let has_letters = qb.iter().any(|&b| b != NOT_LETTER);
        let mut ex = vec![0u64; if has_letters { syllables.len() * w } else { 0 }];
        let mut px = vec![0u64; if has_letters && fuzzy { syllables.len() * w } else { 0 }];
        if has_letters {
            for (y, r) in syllables.iter().enumerate() {
                for s in 0..m {
                    ex[y * w + s] = out_of_e(&qb, s, r, fuzzy);
                    if fuzzy && s >= 2 {
                        px[y * w + s] = out_of_p(&qb, s, r);
                    }
                }
                if fuzzy && m >= 2 {
                    px[y * w + m] = out_of_p(&qb, m, r);
                }
            }
        }
        let mut a = Self { alphabet, m, fuzzy, lit, symbol, ex, px, start: Vec::new(), e_mask, del_mask, accept };
        let initial = a.closure(1);
        a.start = (0..alphabet.len()).map(|c| a.step_raw(initial, c as u16)).collect();
        Some(a)
    }

    #[inline]
    fn closure(&self, state: u64) -> u64 {
        state | (state & self.del_mask) << (self.m + 2)
    }

    /// The state after unit `c` from `state`.
    fn step_raw(&self, state: u64, c: u16) -> u64 {
        if c == SEP {
            return 0;
        }
        let m = self.m;
        let w = m + 1;
        let syls = self.alphabet.readings(c);
        let mut next = 0u64;
        let mut st = state;
        while st != 0 {
            let b = st.trailing_zeros() as usize;
            st &= st - 1;
            if b < w {
                let s = b;
                if s == m {
                    continue;
                }
                if self.lit[s] == c {
                    next |= 1 << (s + 1);
                }
                let symbol = self.symbol >> s & 1 == 1;
                if !self.ex.is_empty() {
                    let mut t = 0;
                    for &y in syls {
                        t |= self.ex[y as usize * w + s];
                    }
                    next |= t;
                }
                if self.fuzzy && symbol {
                    // Substituted Hanzi; extra unit between two Hanzi of the query.
                    next |= 1 << (w + s + 1);
                    if s > 0 && self.symbol >> (s - 1) & 1 == 1 {
                        next |= 1 << (w + s);
                    }
                }
            } else if b < 2 * w {
                let s = b - w;
                if s == m {
                    continue;
                }
                if self.lit[s] == c {
                    next |= 1 << (w + s + 1);
                }
                if !self.ex.is_empty() {
                    let mut t = 0;
                    for &y in syls {
                        t |= self.ex[y as usize * w + s];
                    }
                    next |= (t & self.e_mask) << w;
                }
            } else {
                let p = b - 2 * w;
                for &y in syls {
                    next |= self.px[y as usize * w + p];
                }
            }
        }
        self.closure(next)
    }

    #[inline]
    fn step(&self, state: u64, c: u16) -> u64 {
        let fresh = match self.start.get(c as usize) {
            Some(&s) => s,
            None => return 0,
        };
        if state == 0 { fresh } else { fresh | self.step_raw(state, c) }
    }

    #[inline]
    fn step_anchored(&self, state: u64, c: u16) -> u64 {
        if state == 0 { 0 } else { self.step_raw(state, c) }
    }

    #[inline]
    fn start_of(&self, c: u16) -> u64 {
        self.start.get(c as usize).copied().unwrap_or(0)
    }

    /// Matches one text (a run of units; separators inside it end any match in progress).
    /// Returns where the first match ends and whether the text matched from its start or whole.
    pub(crate) fn match_item(&self, units: impl ExactSizeIterator<Item = u16>) -> Option<ItemMatch> {
        let n = units.len();
        let mut st = 0u64;
        let mut anchored = 0u64;
        let mut first_end = None;
        let mut prefix = false;
        let mut whole = false;
        for (i, c) in units.enumerate() {
            st = self.step(st, c);
            anchored = if i == 0 { self.start_of(c) } else { self.step_anchored(anchored, c) };
            if anchored & self.accept != 0 {
                prefix = true;
                whole |= i + 1 == n;
            }
            if st & self.accept != 0 {
                first_end.get_or_insert(i);
                if anchored == 0 {
                    // The anchored run is over, so neither `prefix` nor `whole` can change.
                    break;
                }
            }
        }
        Some(ItemMatch { whole, prefix, end: first_end? })
    }

    /// The leftmost match in `units` as a unit range `start..=end`.
    pub(crate) fn find_span(&self, units: &[u16]) -> Option<(usize, usize)> {
        for i in 0..units.len() {
            let mut st = self.start_of(units[i]);
            let mut j = i;
            loop {
                if st & self.accept != 0 {
                    return Some((i, j));
                }
                j += 1;
                if st == 0 || j >= units.len() {
                    break;
                }
                st = self.step_anchored(st, units[j]);
            }
        }
        None
    }
}

/// Transitions out of E(s) through one reading `r` of a unit.
fn out_of_e(q: &[u8], s: usize, r: &[u8], fuzzy: bool) -> u64 {
    let m = q.len();
    let w = m + 1;
    let e = |t: usize| 1u64 << t;
    let f = |t: usize| 1u64 << (w + t);
    let p = |t: usize| 1u64 << (2 * w + t);
    let rest = &q[s..];
    let mut out = 0u64;
    if rest[0] == r[0] {
        // Initial letter; two-letter initial; full reading; prefix of the reading to the end.
        out |= e(s + 1);
        if r.len() >= 2 && r[1] == b'h' && matches!(r[0], b'z' | b'c' | b's') && rest.get(1) == Some(&b'h') {
            out |= e(s + 2);
        }
        if rest.starts_with(r) {
            out |= e(s + r.len());
        }
        if r.starts_with(rest) {
            out |= e(m);
        }
    }
    if !fuzzy || (s == 0 && rest[0] != r[0]) {
        // No typo in the first letter of a Latin query.
        return out;
    }
    // Full reading with one edit.
    for t in (s + r.len()).saturating_sub(1)..=(s + r.len() + 1).min(m) {
        if t > s && one_edit(&q[s..t], r) {
            out |= f(t);
        }
    }
    // Initial letter with one edit: the unit is extra, the letter is wrong, or a letter is extra.
    if s > 0 {
        out |= f(s);
    }
    if rest[0] != r[0] {
        out |= f(s + 1);
    }
    if rest.len() >= 2 && (rest[0] == r[0] || rest[1] == r[0]) {
        out |= f(s + 2);
    }
    // The rest of the query is one edit away from a prefix of the reading.
    if rest.len() <= r.len() + 1 {
        let n = rest.len();
        let ks = [n.saturating_sub(1), n, n + 1];
        if !r.starts_with(rest) && ks.iter().any(|&k| k >= 1 && k <= r.len() && one_edit(rest, &r[..k])) {
            out |= f(m);
        }
    }
    // Transposition of this piece's last letter with the next piece's first letter.
    for k in [1, r.len()] {
        if s + k < m && rest[..k - 1] == r[..k - 1] && rest[k] == r[k - 1] && rest[k - 1] != r[k - 1] {
            out |= p(s + k + 1);
        }
    }
    out
}

/// Transitions out of P(pos) (the next piece must start with q[pos - 2] and go on at q[pos])
/// through one reading `r`.
fn out_of_p(q: &[u8], pos: usize, r: &[u8]) -> u64 {
    let m = q.len();
    let w = m + 1;
    let f = |t: usize| 1u64 << (w + t);
    let mut out = 0u64;
    if r[0] != q[pos - 2] {
        return 0;
    }
    out |= f(pos);
    let rest = &q[pos..];
    if r.len() >= 2 && r[1] == b'h' && matches!(r[0], b'z' | b'c' | b's') && rest.first() == Some(&b'h') {
        out |= f(pos + 1);
    }
    let tail = &r[1..];
    if rest.starts_with(tail) {
        out |= f(pos + tail.len());
    }
    if tail.starts_with(rest) {
        out |= f(m);
    }
    out
}

/// Whether `a` and `b` are exactly one edit apart: one substitution, insertion, deletion or
/// transposition of adjacent letters.
pub(crate) fn one_edit(a: &[u8], b: &[u8]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let i = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    match long.len() - short.len() {
        0 => {
            if i == short.len() {
                return false;
            }
            short[i + 1..] == long[i + 1..]
                || (i + 1 < short.len()
                    && short[i] == long[i + 1]
                    && short[i + 1] == long[i]
                    && short[i + 2..] == long[i + 2..])
        }
        1 => short[i..] == long[i + 1..],
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_edit_distance() {
        assert!(one_edit(b"yang", b"yan"));
        assert!(one_edit(b"yang", b"yagn"));
        assert!(one_edit(b"yang", b"yanh"));
        assert!(one_edit(b"yang", b"xyang"));
        assert!(!one_edit(b"yang", b"yang"));
        assert!(!one_edit(b"yang", b"ygna"));
        assert!(!one_edit(b"", b"ab"));
        assert!(one_edit(b"", b"a"));
    }
}
