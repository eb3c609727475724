//! Search budgets: `cargo bench --bench search` prints index build time (the fastest of five
//! builds, two at 100,000) and heap size, and per-query latency (median, p99, max over three runs
//! of every query) for a few hundred realistic queries typed character by character, on generated
//! catalogues of 10,000 and 100,000 guides, with result limits of 20 (a screen) and 200.
//! Budgets on a 2-core machine: 10k median < 2 ms, p99 < 8 ms, build < 150 ms, index < 10 MB;
//! 100k median < 16 ms, p99 < 50 ms, index < 40 MB. The desk's path is `ask` (a question as the
//! person says it); `search` (the substring matcher it is built on) is timed beside it, and the
//! whole evaluation questions are timed too. First of all it prints the relevance figures
//! (top-1, top-3, MRR on tests/eval/questions.toml, tuning and held-out, and on
//! tests/eval/fresh.toml, written after tuning), then the latency table, the index memory by
//! part, and the segmenters compared: the desk's dictionary cut, character bigrams and, with
//! `--features jieba`, jieba-rs (its own dictionary plus ours, and ours alone), each scored on the
//! evaluation set and timed at 10,000 guides.
//!
//! The catalogues are made from the 91 bundled sample guides: about half keep a sample's name
//! (some with a township in brackets), the rest get a synthesized name from an object and an
//! action ("生猪养殖场备案", "白河镇民宿许可"); every guide moves to one of 120 townships
//! (department, place and conditions mention it) and gets materials drawn from a pool, so the text
//! is not a hundred copies of the same thing.

use std::hint::black_box;
use std::time::{Duration, Instant};

#[path = "common/catalogue.rs"]
mod catalogue;

use bianmin::domain::guide::ServiceGuide;
use bianmin::search::{SearchIndex, Segmentation, eval};
use catalogue::{Rng, generate};
use ib_matcher::pinyin::{PinyinData, PinyinNotation};

/// The first reading of each character, for generating pinyin queries.
fn spell(data: &PinyinData, text: &str) -> Vec<String> {
    text.chars()
        .map(|c| {
            let mut first = None;
            data.get_pinyins_and_for_each(c, |p| {
                if first.is_none() {
                    first = p.notation(PinyinNotation::Ascii).map(str::to_owned);
                }
            });
            first.unwrap_or_else(|| c.to_string())
        })
        .collect()
}

/// Queries as typed at the desk: every prefix of a phrase in Hanzi, full pinyin, initials and
/// Hanzi-then-initials, plus one-typo pinyin.
fn queries(samples: &[ServiceGuide]) -> Vec<String> {
    let data = PinyinData::new(PinyinNotation::Ascii);
    let mut phrases: Vec<String> = vec![
        "养老保险",
        "残疾人证",
        "低保",
        "户口",
        "身份证",
        "医保",
        "重度残疾",
        "银行卡",
        "长期护理",
        "创业贷款",
        "营业执照",
        "宅基地",
        "结婚证",
        "社保卡",
        "失业金",
        "高龄津贴",
        "不动产",
        "法律援助",
        "危房改造",
        "出生登记",
        "民宿",
        "加油站",
        "养殖场",
        "渔船",
        "农药经营",
        "临时救助",
        "退役军人",
        "医疗救助",
        "居住证",
        "食品经营",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    // And words cut from real names, so that some queries hit mid-name.
    let mut rng = Rng(7);
    for _ in 0..10 {
        let name: Vec<char> = rng.pick(samples).name.chars().filter(|c| !c.is_ascii_punctuation()).collect();
        let len = 2 + rng.below(3).min(name.len().saturating_sub(2));
        let start = rng.below(name.len().saturating_sub(len) + 1);
        phrases.push(name[start..(start + len).min(name.len())].iter().collect());
    }
    let mut out = Vec::new();
    for (i, phrase) in phrases.iter().enumerate() {
        let chars: Vec<char> = phrase.chars().collect();
        let syllables = spell(&data, phrase);
        let full: String = syllables.concat();
        let initials: String = syllables.iter().filter_map(|s| s.chars().next()).collect();
        for k in 1..=chars.len().min(6) {
            out.push(chars[..k].iter().collect());
        }
        // Full pinyin as typed: a few prefixes (1, 2, 3, 5 letters, ...) and the whole.
        for k in [1, 2, 3, 5, 8, 11, 14] {
            if k < full.len() {
                out.push(full[..k].to_owned());
            }
        }
        out.push(full.clone());
        for k in 2..=initials.len() {
            out.push(initials[..k].to_owned());
        }
        if chars.len() >= 3 {
            out.push(format!("{}{}", chars[0], &initials[1..]));
        }
        if full.len() >= 5 {
            // One typo: swap two letters, drop one, or change one (never the first).
            let mut typo: Vec<u8> = full.clone().into_bytes();
            let at = 1 + i % (typo.len() - 2);
            match i % 3 {
                0 => typo.swap(at, at + 1),
                1 => {
                    typo.remove(at);
                }
                _ => typo[at] = if typo[at] == b'a' { b'e' } else { b'a' },
            }
            out.push(String::from_utf8(typo).unwrap_or_default());
        }
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// Median, p99 and max over three timed runs of every query (after one untimed run), and the
/// slowest query.
fn time_queries(queries: &[String], mut run: impl FnMut(&str)) -> (Duration, Duration, Duration, &str) {
    for q in queries {
        run(q);
    }
    let mut times: Vec<(Duration, &str)> = Vec::new();
    for _ in 0..3 {
        for q in queries {
            let started = Instant::now();
            run(black_box(q));
            times.push((started.elapsed(), q.as_str()));
        }
    }
    times.sort();
    let sorted: Vec<Duration> = times.iter().map(|t| t.0).collect();
    let (slowest, slowest_q) = times[times.len() - 1];
    (percentile(&sorted, 0.5), percentile(&sorted, 0.99), slowest, slowest_q)
}

fn main() {
    let samples = bianmin::assets::bundled_catalogue().expect("bundled catalogue").guides;
    let mut questions = eval::load(include_str!("../tests/eval/questions.toml")).expect("evaluation set");
    // Written after tuning and never tuned on: reported apart, not in "all".
    questions.extend(eval::load(include_str!("../tests/eval/fresh.toml")).expect("fresh questions"));

    // Relevance on the bundled catalogue: the desk's question search, and the substring search
    // it replaced.
    let index = SearchIndex::build(&samples);
    let before =
        eval::evaluate(&questions, &samples, |q| index.search(q, eval::DEPTH).iter().map(|h| h.guide).collect());
    let after =
        eval::evaluate(&questions, &samples, |q| index.ask(q, eval::DEPTH).hits.iter().map(|h| h.guide).collect());
    println!(
        "Relevance on {} questions (tests/eval/questions.toml: tuning, held-out; tests/eval/fresh.toml: fresh), {} sample guides:",
        questions.len(),
        samples.len()
    );
    println!();
    println!("| search | set | questions | top-1 | top-3 | MRR |");
    println!("|---|---|---:|---:|---:|---:|");
    for (label, report) in [("substring (before #14)", &before), ("question (desk)", &after)] {
        for (set, f) in
            [("tuning", report.tune), ("held-out", report.holdout), ("all", report.all), ("fresh", report.fresh)]
        {
            println!(
                "| {label} | {set} | {} | {:.1}% | {:.1}% | {:.3} |",
                f.questions,
                100.0 * f.top1,
                100.0 * f.top3,
                f.mrr
            );
        }
    }
    println!();

    let queries = queries(&samples);
    let sentences: Vec<String> = questions.iter().map(|q| q.text.clone()).collect();
    println!("{} keystroke queries, e.g. {:?}; {} whole questions", queries.len(), &queries[..12], sentences.len());
    println!();
    println!(
        "| guides | build ms | index MB | path | queries | limit | median ms | p99 ms | max ms | slowest query | budgets |"
    );
    println!("|---:|---:|---:|---|---|---:|---:|---:|---:|---|---|");
    let mut memory = Vec::new();
    let mut segmenter_catalogue = None;
    for n in [10_000, 100_000] {
        let guides = generate(&samples, n, 0x5EED_0000 + n as u64);
        let mut builds = Vec::new();
        let mut index = None;
        for _ in 0..if n <= 10_000 { 5 } else { 2 } {
            let started = Instant::now();
            index = Some(SearchIndex::build(&guides));
            builds.push(started.elapsed());
        }
        builds.sort();
        let index = index.expect("built");
        let heap_mb = index.heap_bytes() as f64 / 1e6;
        let parts: Vec<String> =
            index.heap_parts().iter().map(|(part, bytes)| format!("{part} {:.1}", *bytes as f64 / 1e6)).collect();
        memory.push(format!(
            "- {n} guides: {heap_mb:.1} MB (budget {}): {}",
            if n <= 10_000 { "10 MB" } else { "40 MB" },
            parts.join(", ")
        ));
        let runs: [(&str, &str, &[String], usize); 5] = [
            ("search", "keystrokes", &queries, 20),
            ("search", "keystrokes", &queries, 200),
            ("ask", "keystrokes", &queries, 20),
            ("ask", "keystrokes", &queries, 200),
            ("ask", "questions", &sentences, 200),
        ];
        for (path, kind, list, limit) in runs {
            let (median, p99, slowest, slowest_q) = if path == "search" {
                time_queries(list, |q| {
                    black_box(index.search(q, limit));
                })
            } else {
                time_queries(list, |q| {
                    black_box(index.ask(q, limit));
                })
            };
            let budget = |d: Duration, max_ms: u64| d <= Duration::from_millis(max_ms);
            let within = if n <= 10_000 {
                budget(median, 2) && budget(p99, 8) && budget(builds[0], 150) && heap_mb < 10.0
            } else {
                budget(median, 16) && budget(p99, 50) && heap_mb < 40.0
            };
            println!(
                "| {n} | {} | {heap_mb:.1} | {path} | {kind} | {limit} | {} | {} | {} | `{slowest_q}` | {} |",
                ms(builds[0]),
                ms(median),
                ms(p99),
                ms(slowest),
                if within { "met" } else { "MISSED" },
            );
        }
        if n == 10_000 {
            segmenter_catalogue = Some((guides, index));
        }
    }
    println!();
    println!("Index memory by part, MB:");
    for line in memory {
        println!("{line}");
    }
    println!();
    let (_, big_index) = segmenter_catalogue.expect("the 10k catalogue");
    compare_segmenters(&samples, &questions, &queries, &sentences, &big_index);
}

/// Another segmenter's cut of a run of Hanzi.
#[cfg(feature = "jieba")]
type Cut<'a> = dyn Fn(&str) -> Vec<String> + 'a;

#[cfg(feature = "jieba")]
/// A jieba segmenter that knows the index's words (lexicon and catalogue), with or without
/// jieba's own 350,000-word dictionary.
fn jieba_for(index: &SearchIndex, own_dictionary: bool) -> jieba_rs::Jieba {
    let mut jieba = if own_dictionary { jieba_rs::Jieba::new() } else { jieba_rs::Jieba::empty() };
    for word in index.dictionary_words() {
        jieba.add_word(word, None, None);
    }
    jieba
}

/// The desk's dictionary cut (forward maximum matching over the lexicon and the catalogue's
/// words) against character bigrams and jieba, on the evaluation set and for latency at 10k.
fn compare_segmenters(
    samples: &[ServiceGuide],
    questions: &[eval::Question],
    keystrokes: &[String],
    sentences: &[String],
    big_index: &SearchIndex,
) {
    let index = SearchIndex::build(samples);
    #[allow(unused_mut)]
    let mut ways: Vec<(&str, Segmentation, Segmentation)> = vec![
        ("dictionary (forward maximum matching, the desk's)", Segmentation::Dictionary, Segmentation::Dictionary),
        ("character bigrams", Segmentation::Bigrams, Segmentation::Bigrams),
    ];
    #[cfg(feature = "jieba")]
    let started = Instant::now();
    #[cfg(feature = "jieba")]
    let jieba_full = jieba_for(&index, true);
    #[cfg(feature = "jieba")]
    let jieba_full_ms = ms(started.elapsed());
    #[cfg(feature = "jieba")]
    let jiebas = [jieba_for(&index, false), jieba_for(big_index, true), jieba_for(big_index, false)];
    #[cfg(feature = "jieba")]
    let cuts: Vec<Box<Cut<'_>>> = [&jieba_full, &jiebas[0], &jiebas[1], &jiebas[2]]
        .into_iter()
        .map(|j| {
            Box::new(move |t: &str| j.cut(t, false).into_iter().map(|token| token.word.to_owned()).collect()) as Box<_>
        })
        .collect();
    #[cfg(feature = "jieba")]
    ways.extend([
        ("jieba-rs, its dictionary + ours", Segmentation::External(&*cuts[0]), Segmentation::External(&*cuts[2])),
        ("jieba-rs, our words only", Segmentation::External(&*cuts[1]), Segmentation::External(&*cuts[3])),
    ]);
    println!("Segmenters on the evaluation set (91 sample guides) and at 10,000 guides (ask, limit 20):");
    println!();
    println!(
        "| segmenter | tuning top-1 / top-3 / MRR | held-out top-1 / top-3 / MRR | fresh top-1 / top-3 / MRR | keystrokes median / p99 ms | questions median / p99 ms |"
    );
    println!("|---|---|---|---|---|---|");
    for (label, small, big) in ways {
        let r = eval::evaluate(questions, samples, |q| {
            index.ask_with(q, eval::DEPTH, small).hits.iter().map(|h| h.guide).collect()
        });
        let f = |f: eval::Figures| format!("{:.1}% / {:.1}% / {:.3}", 100.0 * f.top1, 100.0 * f.top3, f.mrr);
        let (k_med, k_p99, _, _) = time_queries(keystrokes, |q| {
            black_box(big_index.ask_with(q, 20, big));
        });
        let (q_med, q_p99, _, _) = time_queries(sentences, |q| {
            black_box(big_index.ask_with(q, 20, big));
        });
        println!(
            "| {label} | {} | {} | {} | {} / {} | {} / {} |",
            f(r.tune),
            f(r.holdout),
            f(r.fresh),
            ms(k_med),
            ms(k_p99),
            ms(q_med),
            ms(q_p99)
        );
    }
    println!();
    #[cfg(feature = "jieba")]
    println!("jieba-rs with its own dictionary: {jieba_full_ms} ms to load it and add our words.");
    #[cfg(not(feature = "jieba"))]
    println!("jieba-rs rows: `cargo bench --bench search --features jieba`.");
}
