//! One normalization for indexed text and queries, so that both sides compare equal: full-width
//! ASCII becomes half-width, letters become lower case, `ü` is typed `v`, and everything that is
//! neither a letter nor a digit (spaces, punctuation, symbols, control characters, emoji) is dropped.
//! Hanzi are letters (`char::is_alphanumeric`), so "户口迁移（省内和跨省迁入）" becomes
//! "户口迁移省内和跨省迁入" and "Yang Lao" becomes "yanglao".

use std::ops::Range;

/// The normalized form of one character, or `None` when it is dropped.
#[inline]
pub(crate) fn fold_char(c: char) -> Option<char> {
    // Fast path for the common case: CJK Unified Ideographs (and Extension A) are kept as they are.
    if matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}') {
        return Some(c);
    }
    let c = match c {
        // Full-width ASCII (！ to ～) to half-width; the ideographic space is dropped below.
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        'ü' | 'Ü' => 'v',
        _ => c,
    };
    if c.is_ascii() {
        return c.is_ascii_alphanumeric().then(|| c.to_ascii_lowercase());
    }
    if !c.is_alphanumeric() {
        return None;
    }
    // Other scripts' capitals: lower case when that is a single character.
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => Some(l),
        _ => Some(c),
    }
}

/// The normalized characters of `text`.
pub(crate) fn normalize(text: &str) -> Vec<char> {
    text.chars().filter_map(fold_char).collect()
}

/// The normalized characters of `text`, each with the byte range of the original character.
pub(crate) fn normalize_with_offsets(text: &str) -> Vec<(char, Range<usize>)> {
    text.char_indices().filter_map(|(i, c)| fold_char(c).map(|f| (f, i..i + c.len_utf8()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize(s).into_iter().collect()
    }

    #[test]
    fn folds_width_case_and_drops_punctuation() {
        assert_eq!(norm("  Yang Lao "), "yanglao");
        assert_eq!(norm("ＹＡＮＧ　ｌａｏ"), "yanglao");
        assert_eq!(norm("户口迁移（省内和跨省迁入）"), "户口迁移省内和跨省迁入");
        assert_eq!(norm("残疾人证换领、补领和迁移"), "残疾人证换领补领和迁移");
        assert_eq!(norm("《就业创业证》申领"), "就业创业证申领");
        assert_eq!(norm("HB-QS-0001"), "hbqs0001");
        assert_eq!(norm("lǚ Lü"), "lǚlv");
        assert_eq!(norm("\u{0}\t😀\u{200B}"), "");
    }

    #[test]
    fn offsets_point_at_the_original_characters() {
        let text = "户口（省内）";
        let folded = normalize_with_offsets(text);
        let chars: String = folded.iter().map(|(c, _)| *c).collect();
        assert_eq!(chars, "户口省内");
        assert_eq!(&text[folded[2].1.clone()], "省");
    }
}
