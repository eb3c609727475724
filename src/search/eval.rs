//! Relevance of the desk search, measured: the evaluation set in `tests/eval/questions.toml`
//! (questions as people ask them, each with the guides that answer it) scored by top-1, top-3
//! and mean reciprocal rank, separately for the questions tuning looked at and for the held-out
//! third. Shared by the test that holds the floor (`tests/search_eval.rs`) and the bench that
//! prints the figures beside the latencies (`benches/search.rs`).

use std::fmt;

use serde::Deserialize;

use crate::domain::guide::ServiceGuide;

/// Ranks beyond this count as not found (MRR@10).
pub const DEPTH: usize = 10;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub text: String,
    /// Codes of the guides that answer it; any of them counts.
    pub expect: Vec<String>,
    /// sentence, dialect, pinyin, initials, mixed, typo, material, place, fragment.
    pub kind: String,
    /// "tune" or "holdout", fixed when the question was written; "fresh" for the questions of
    /// `tests/eval/fresh.toml`, written after tuning had ended and never tuned on.
    pub set: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    question: Vec<Question>,
}

/// Parses the evaluation set; every question must name a set and at least one guide.
pub fn load(text: &str) -> Result<Vec<Question>, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    for q in &file.question {
        if q.expect.is_empty() || !matches!(q.set.as_str(), "tune" | "holdout" | "fresh") {
            return Err(format!("question {:?}: needs `expect` and a set of tune, holdout or fresh", q.text));
        }
    }
    Ok(file.question)
}

/// Top-1, top-3 and MRR over some questions.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    pub questions: usize,
    pub top1: f64,
    pub top3: f64,
    pub mrr: f64,
}

impl Figures {
    fn of(ranks: &[Option<usize>]) -> Self {
        let n = ranks.len().max(1) as f64;
        let within = |k: usize| ranks.iter().filter(|r| r.is_some_and(|r| r <= k)).count() as f64 / n;
        Figures {
            questions: ranks.len(),
            top1: within(1),
            top3: within(3),
            mrr: ranks.iter().map(|r| r.map_or(0.0, |r| 1.0 / r as f64)).sum::<f64>() / n,
        }
    }
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>3} questions  top-1 {:5.1}%  top-3 {:5.1}%  MRR {:.3}",
            self.questions,
            100.0 * self.top1,
            100.0 * self.top3,
            self.mrr
        )
    }
}

/// A tuning question whose answer was not first: what came instead.
#[derive(Debug, Clone)]
pub struct Miss {
    pub question: String,
    pub expect: Vec<String>,
    pub rank: Option<usize>,
    pub got: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub tune: Figures,
    pub holdout: Figures,
    /// Tuning and held-out together.
    pub all: Figures,
    /// The fresh questions (not counted in `all`), when given.
    pub fresh: Figures,
    /// Tuning questions only: the held-out ones are never shown one by one.
    pub tune_misses: Vec<Miss>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "tuning   {}", self.tune)?;
        writeln!(f, "held-out {}", self.holdout)?;
        write!(f, "all      {}", self.all)?;
        if self.fresh.questions > 0 {
            write!(f, "\nfresh    {}", self.fresh)?;
        }
        Ok(())
    }
}

/// Scores `answer` (a question to guide indices into `guides`, best first) on `questions`.
pub fn evaluate(questions: &[Question], guides: &[ServiceGuide], mut answer: impl FnMut(&str) -> Vec<usize>) -> Report {
    let mut tune = Vec::new();
    let mut holdout = Vec::new();
    let mut fresh = Vec::new();
    let mut tune_misses = Vec::new();
    for q in questions {
        let got: Vec<&str> = answer(&q.text).into_iter().take(DEPTH).map(|g| guides[g].code.as_str()).collect();
        let rank = got.iter().position(|c| q.expect.iter().any(|e| e == c)).map(|p| p + 1);
        if q.set == "holdout" {
            holdout.push(rank);
        } else if q.set == "fresh" {
            fresh.push(rank);
        } else {
            if rank != Some(1) {
                tune_misses.push(Miss {
                    question: q.text.clone(),
                    expect: q.expect.clone(),
                    rank,
                    got: got.iter().take(3).map(|c| c.to_string()).collect(),
                });
            }
            tune.push(rank);
        }
    }
    let all: Vec<Option<usize>> = tune.iter().chain(&holdout).copied().collect();
    Report {
        tune: Figures::of(&tune),
        holdout: Figures::of(&holdout),
        all: Figures::of(&all),
        fresh: Figures::of(&fresh),
        tune_misses,
    }
}
