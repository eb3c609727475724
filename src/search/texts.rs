//! Normalized texts stored as two-byte character ids in one buffer, each followed by the
//! separator, so a literal search is one `memchr::memmem` pass and no match crosses two texts.

use std::ops::Range;

use super::alphabet::SEP;

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Texts {
    /// Little-endian `u16` ids.
    units: Vec<u8>,
    /// Exclusive end (in units) of each text; the next one starts after the separator.
    end: Vec<u32>,
}

impl Texts {
    pub(crate) fn len(&self) -> usize {
        self.end.len()
    }

    pub(crate) fn start(&self, text: usize) -> usize {
        if text == 0 { 0 } else { self.end[text - 1] as usize + 1 }
    }

    /// Number of units of a text.
    pub(crate) fn text_len(&self, text: usize) -> usize {
        self.end[text] as usize - self.start(text)
    }

    pub(crate) fn units_of(&self, text: usize) -> impl ExactSizeIterator<Item = u16> + '_ {
        self.bytes(self.start(text)..self.end[text] as usize).chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    /// The raw bytes of a range of units.
    pub(crate) fn bytes(&self, units: Range<usize>) -> &[u8] {
        &self.units[2 * units.start..2 * units.end]
    }

    /// Units of texts `from..to`, the separator after the last included.
    pub(crate) fn span(&self, from: usize, to: usize) -> Range<usize> {
        if from >= to { 0..0 } else { self.start(from)..self.end[to - 1] as usize + 1 }
    }

    /// The text that unit `unit` belongs to (the text before it for a separator).
    pub(crate) fn text_at(&self, unit: usize) -> usize {
        self.end.partition_point(|&e| e as usize <= unit).min(self.len().saturating_sub(1))
    }

    /// Appends a text and returns its number.
    pub(crate) fn push(&mut self, ids: &[u16]) -> u32 {
        for id in ids {
            self.units.extend_from_slice(&id.to_le_bytes());
        }
        self.end.push(u32::try_from(self.units.len() / 2).unwrap_or(u32::MAX));
        self.units.extend_from_slice(&SEP.to_le_bytes());
        u32::try_from(self.end.len() - 1).unwrap_or(u32::MAX)
    }

    /// Room for `texts` more texts of `units` units in all (separators included).
    pub(crate) fn reserve_exact(&mut self, units: usize, texts: usize) {
        self.units.reserve_exact(2 * units);
        self.end.reserve_exact(texts);
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.units.shrink_to_fit();
        self.end.shrink_to_fit();
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.units.capacity() + 4 * self.end.capacity()
    }

    /// Calls `found(text, unit)` for the first occurrence of `needle` (the bytes of a non-empty
    /// id sequence) in each text of `texts`, in order; `found` returns the first text to look at
    /// next (at least the next one), so a caller can skip texts.
    pub(crate) fn find_each(
        &self,
        finder: &memchr::memmem::Finder,
        texts: Range<usize>,
        mut found: impl FnMut(usize, usize) -> usize,
    ) {
        let span = self.span(texts.start, texts.end);
        let hay = self.bytes(span.clone());
        let mut pos = 0;
        while pos < hay.len() {
            let Some(at) = finder.find(&hay[pos..]).map(|f| pos + f) else { break };
            if at % 2 == 1 {
                pos = at + 1;
                continue;
            }
            let unit = span.start + at / 2;
            let text = self.text_at(unit);
            let next = found(text, unit).max(text + 1);
            if next >= texts.end {
                break;
            }
            pos = 2 * (self.start(next) - span.start);
        }
    }
}
