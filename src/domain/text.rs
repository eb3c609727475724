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

/// Characters that reorder or hide text without showing anything: the bidi embeddings,
/// overrides, isolates and marks, and the line and paragraph separators.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{2028}' | '\u{2029}'
    )
}

/// Text to show that may hold several lines (a guide's FAQ, a handover's notes): as
/// [`clean_line`], but a newline stays a newline. The one function every text from elsewhere
/// (the server, a file) goes through before it reaches the screen.
pub fn clean_shown(input: &str) -> std::borrow::Cow<'_, str> {
    let dirty = |c: char| c != '\n' && (c.is_control() || is_bidi_control(c));
    if !input.chars().any(dirty) {
        return std::borrow::Cow::Borrowed(input);
    }
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push(' '),
            c if dirty(c) => {}
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Cleans every string (and object key) of a JSON value with [`clean_shown`]; says whether
/// anything changed.
pub fn clean_json(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(text) => match clean_shown(text) {
            std::borrow::Cow::Borrowed(_) => false,
            std::borrow::Cow::Owned(clean) => {
                *text = clean;
                true
            }
        },
        Value::Array(items) => items.iter_mut().fold(false, |changed, v| clean_json(v) | changed),
        Value::Object(map) => {
            let mut changed = false;
            if map.keys().any(|k| matches!(clean_shown(k), std::borrow::Cow::Owned(_))) {
                let old = std::mem::take(map);
                for (k, v) in old {
                    map.insert(clean_shown(&k).into_owned(), v);
                }
                changed = true;
            }
            map.values_mut().fold(changed, |changed, v| clean_json(v) | changed)
        }
        _ => false,
    }
}

/// `part` of `whole` in per mille (1000 = 100%), rounded down; `None` when `whole` is 0 (nothing
/// to rate: shown as "—", neither 0% nor 100%). Every rate on screen and paper is one of these.
pub fn per_mille(part: u32, whole: u32) -> Option<u32> {
    (whole > 0).then(|| (u64::from(part) * 1000 / u64::from(whole)) as u32)
}

/// A per-mille rate for screen and paper: `66.6%`, `100%`, or `—` without one.
pub fn percent_label(rate: Option<u32>) -> String {
    match rate {
        None => "—".to_owned(),
        Some(1000) => "100%".to_owned(),
        Some(pm) => format!("{}.{}%", pm / 10, pm % 10),
    }
}

pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Key hints that fit in `max` columns, never one cut in half: taken in the order given (most
/// important first) while they fit, joined by a space, with `F1更多` at the end when some had to
/// be left out (F1 lists every key).
pub fn fit_hints<S: AsRef<str>>(hints: &[S], max: usize) -> String {
    const MORE: &str = "F1更多";
    let total = hints.iter().map(|h| width(h.as_ref()) + 1).sum::<usize>().saturating_sub(1);
    if total <= max {
        return hints.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(" ");
    }
    let budget = max.saturating_sub(width(MORE) + 1);
    let mut out: Vec<&str> = Vec::new();
    let mut used = 0;
    for hint in hints.iter().map(AsRef::as_ref) {
        let w = width(hint) + usize::from(!out.is_empty());
        if used + w <= budget {
            out.push(hint);
            used += w;
        }
    }
    if width(MORE) + usize::from(!out.is_empty()) + used <= max {
        out.push(MORE);
    }
    out.join(" ")
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
    fn shown_text_keeps_its_lines_and_loses_everything_else() {
        assert_eq!(clean_shown("第一行\n第二\u{202E}行\x1b[2J\r\t末"), "第一行\n第二行[2J 末");
        assert!(matches!(clean_shown("干净的文字\n两行"), std::borrow::Cow::Borrowed(_)));
        for c in ['\u{2066}', '\u{200F}', '\u{061C}', '\u{2028}', '\u{7}', '\u{9b}'] {
            assert_eq!(clean_shown(&format!("a{c}b")), "ab", "{:x}", c as u32);
        }
        let mut v =
            serde_json::json!({"name": "张\u{202E}三", "list": ["ok", "\x1b]0;x\x07"], "n": 1, "k\u{202E}": true});
        assert!(clean_json(&mut v));
        assert_eq!(v, serde_json::json!({"name": "张三", "list": ["ok", "]0;x"], "n": 1, "k": true}));
        assert!(!clean_json(&mut v), "clean stays clean");
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

    #[test]
    fn hints_that_do_not_fit_are_left_out_whole() {
        let hints = ["y收", "n缺", "x不用", "a受理", "c终止"];
        assert_eq!(fit_hints(&hints, 80), "y收 n缺 x不用 a受理 c终止");
        let fitted = fit_hints(&hints, 20);
        assert!(width(&fitted) <= 20, "{fitted}");
        assert_eq!(fitted, "y收 n缺 x不用 F1更多");
        for max in 0..30 {
            let fitted = fit_hints(&hints, max);
            assert!(width(&fitted) <= max, "{max}: {fitted}");
            assert!(fitted.split(' ').all(|h| hints.contains(&h) || h == "F1更多" || h.is_empty()), "{fitted}");
        }
    }
}
