//! The guidance desk's colloquial lexicon (口语词库): words a question can do without (filler) and
//! groups of words that mean the same thing at the desk (娃 / 孩子 / 新生儿). Data, not code: the
//! bundled copy is `assets/lexicon.toml`, an admin imports a changed one, and the search index
//! (`crate::search`) reads it. Format: `docs/lexicon-format.md`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Longest word, in characters.
pub const MAX_WORD_CHARS: usize = 16;
/// Most words in the whole lexicon: it is searched word by word on every keystroke.
pub const MAX_WORDS: usize = 20_000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lexicon {
    /// Question words and particles dropped from a question before it is matched.
    #[serde(default)]
    pub filler: Vec<String>,
    /// Groups of interchangeable words.
    #[serde(default, rename = "group")]
    pub groups: Vec<SynonymGroup>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynonymGroup {
    pub words: Vec<String>,
}

/// One problem with a lexicon, in Chinese, naming where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexiconProblem(pub String);

impl std::fmt::Display for LexiconProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a word must be: letters or Hanzi (punctuation and spaces are ignored by the search, so a
/// word made only of them could never match), at most [`MAX_WORD_CHARS`] characters.
fn word_problem(word: &str) -> Option<&'static str> {
    let meaningful = word.chars().filter(|c| c.is_alphanumeric()).count();
    if meaningful == 0 {
        Some("是空的或只有标点")
    } else if word.chars().count() > MAX_WORD_CHARS {
        Some("太长（最多16个字）")
    } else if word.chars().any(char::is_control) {
        Some("含有控制字符")
    } else {
        None
    }
}

impl Lexicon {
    /// The lexicon bundled with the program (`assets/lexicon.toml`): what a new server starts
    /// with, and what a terminal uses until its first sync.
    pub fn bundled() -> &'static Lexicon {
        static BUNDLED: std::sync::OnceLock<Lexicon> = std::sync::OnceLock::new();
        BUNDLED.get_or_init(|| {
            // Checked by a test; a broken bundled copy would be a build defect, not user input.
            Lexicon::from_toml(include_str!("../../assets/lexicon.toml")).unwrap_or_default()
        })
    }

    /// Parses a lexicon in TOML and checks it; every problem is listed, not just the first.
    pub fn from_toml(text: &str) -> Result<Self, Vec<LexiconProblem>> {
        let lexicon: Lexicon =
            toml::from_str(text).map_err(|e| vec![LexiconProblem(format!("文件格式不对：{}", e.message()))])?;
        let problems = lexicon.problems();
        if problems.is_empty() { Ok(lexicon) } else { Err(problems) }
    }

    /// Everything wrong with this lexicon: bad words, a group of fewer than two words, a word in
    /// two groups (it could not mean both), a filler word that is also in a group.
    pub fn problems(&self) -> Vec<LexiconProblem> {
        let mut problems = Vec::new();
        let mut seen: HashMap<&str, String> = HashMap::new();
        let words = self.filler.len() + self.groups.iter().map(|g| g.words.len()).sum::<usize>();
        if words > MAX_WORDS {
            problems.push(LexiconProblem(format!("词库共 {words} 个词，超过上限 {MAX_WORDS}")));
        }
        for (i, word) in self.filler.iter().enumerate() {
            check_word(&mut seen, &mut problems, word, format!("虚词第{}个「{word}」", i + 1));
        }
        for (g, group) in self.groups.iter().enumerate() {
            if group.words.len() < 2 {
                problems.push(LexiconProblem(format!("同义词组第{}组至少要有两个词", g + 1)));
            }
            for word in &group.words {
                check_word(&mut seen, &mut problems, word, format!("同义词组第{}组「{word}」", g + 1));
            }
        }
        problems
    }
}

/// One word of the lexicon, filler or synonym, checked the same way: a well-formed word, and once
/// in the whole lexicon (`seen` remembers where each word first stood).
fn check_word<'a>(
    seen: &mut HashMap<&'a str, String>,
    problems: &mut Vec<LexiconProblem>,
    word: &'a str,
    place: String,
) {
    if let Some(p) = word_problem(word) {
        problems.push(LexiconProblem(format!("{place}{p}")));
    } else if let Some(first) = seen.get(word) {
        problems.push(LexiconProblem(format!("{place}与{first}重复")));
    } else {
        seen.insert(word, place);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_lexicon_is_valid() {
        let lexicon = Lexicon::from_toml(include_str!("../../assets/lexicon.toml")).expect("valid");
        assert_eq!(Lexicon::bundled(), &lexicon);
        assert!(lexicon.filler.contains(&"怎么".to_owned()));
        assert!(lexicon.groups.iter().any(|g| g.words.contains(&"娃".to_owned())));
    }

    #[test]
    fn every_problem_is_listed_with_its_place() {
        let text = r#"
filler = ["怎么", "、", "怎么"]
[[group]]
words = ["娃"]
[[group]]
words = ["孩子", "怎么", "这是一个非常非常非常非常长的词语啊"]
"#;
        let problems: Vec<String> = Lexicon::from_toml(text).unwrap_err().into_iter().map(|p| p.0).collect();
        assert_eq!(
            problems,
            [
                "虚词第2个「、」是空的或只有标点",
                "虚词第3个「怎么」与虚词第1个「怎么」重复",
                "同义词组第1组至少要有两个词",
                "同义词组第2组「怎么」与虚词第1个「怎么」重复",
                "同义词组第2组「这是一个非常非常非常非常长的词语啊」太长（最多16个字）",
            ]
        );
        let err = Lexicon::from_toml("filler = 3").unwrap_err();
        assert!(err[0].0.starts_with("文件格式不对"), "{err:?}");
        assert!(Lexicon::from_toml("unknown = []").is_err());
    }
}
