//! Text as the clerk types or pastes it, and as the terminal shows it. Widths are display widths
//! (a Hanzi takes two columns), never character counts.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// One line of clean text: control characters (pasted tabs, escapes, newlines, bidi overrides)
/// become nothing or a space, so they can neither move the cursor nor forge screen content.
pub fn clean_line(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '\t' | '\n' | '\r' => out.push(' '),
            c if c.is_control() || is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Cuts `s` to at most `max` columns, ending with `..` when something was cut. (Not `…`: it is
/// ambiguous-width and takes two columns in some CJK terminals.)
pub fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_owned();
    }
    let budget = max.saturating_sub(2);
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > budget {
            break;
        }
        out.push(c);
        used += w;
    }
    out.extend(std::iter::repeat_n('.', (max - used).min(2)));
    out
}

/// Pads `s` with spaces on the right to exactly `cols` columns (cutting it first if longer).
pub fn pad(s: &str, cols: usize) -> String {
    let mut out = truncate(s, cols);
    let w = width(&out);
    out.extend(std::iter::repeat_n(' ', cols.saturating_sub(w)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_removed() {
        assert_eq!(clean_line("张三\x1b[31m\u{7}\t李四\r\n"), "张三[31m 李四  ");
        assert_eq!(clean_line("a\u{202E}b"), "ab");
    }

    #[test]
    fn truncation_counts_display_columns() {
        assert_eq!(truncate("残疾人证办理", 8), "残疾人..");
        assert_eq!(truncate("残疾人证办理", 9), "残疾人..");
        assert_eq!(truncate("残疾人证办理", 12), "残疾人证办理");
        assert_eq!(truncate("残疾人证办理", 1), ".");
        assert_eq!(truncate("abc", 0), "");
        assert_eq!(width(&pad("低保", 7)), 7);
        assert_eq!(pad("高龄津贴申领", 5), "高.. ");
    }
}
