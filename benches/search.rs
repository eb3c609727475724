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

use bianmin::domain::guide::{Material, MaterialForm, ServiceGuide};
use bianmin::search::{SearchIndex, Segmentation, eval};
use ib_matcher::pinyin::{PinyinData, PinyinNotation};

const PLACE_STEMS: [&str; 40] = [
    "青石", "白河", "柳林", "马家", "龙泉", "高桥", "东湖", "西岭", "南山", "北塘", "石门", "枫树", "桃园", "杨柳",
    "梅溪", "竹园", "金沙", "银湖", "黄土", "红星", "新华", "永安", "太平", "长乐", "万福", "双河", "三里", "五峰",
    "七星", "九龙", "沙洋", "荆河", "观音", "凤凰", "麒麟", "清水", "大堰", "小港", "罗场", "熊口",
];
const PLACE_KINDS: [&str; 3] = ["镇", "乡", "街道"];
const OBJECTS: [&str; 50] = [
    "渔船",
    "生猪养殖场",
    "茶叶加工厂",
    "农家乐",
    "民宿",
    "药店",
    "诊所",
    "网吧",
    "加油站",
    "粮食收购",
    "种子经营",
    "农药经营",
    "兽药经营",
    "饲料生产",
    "水产养殖",
    "林下经济",
    "竹木加工",
    "砖瓦窑",
    "小作坊",
    "食品摊贩",
    "理发店",
    "超市",
    "快递网点",
    "出租汽车",
    "校车",
    "幼儿园",
    "养老机构",
    "托育机构",
    "文化站",
    "体育场地",
    "广告招牌",
    "临时占道",
    "户外广告",
    "燃气经营",
    "烟花爆竹",
    "道路运输",
    "货车",
    "电动自行车",
    "船舶",
    "水井",
    "灌溉渠道",
    "河道采砂",
    "取水",
    "排水",
    "公共厕所",
    "垃圾清运",
    "公益性墓地",
    "宗教活动场所",
    "劳务派遣",
    "人力资源服务",
];
const ACTIONS: [&str; 18] = [
    "许可",
    "备案",
    "登记",
    "审批",
    "变更",
    "注销",
    "延续",
    "补办",
    "年度报告",
    "证明开具",
    "补贴申领",
    "资格认定",
    "验收",
    "检查",
    "核准",
    "换证",
    "申报",
    "查询",
];
const MATERIAL_POOL: [&str; 30] = [
    "营业执照副本",
    "房屋租赁合同",
    "消防安全检查合格证明",
    "环境影响评价批复文件",
    "场地平面图",
    "从业人员健康证明",
    "安全生产管理制度",
    "法定代表人身份证明",
    "土地使用权证明",
    "村民委员会意见",
    "卫生许可证",
    "船舶检验证书",
    "车辆行驶证",
    "驾驶员从业资格证",
    "设备清单",
    "技术人员资格证书",
    "收购台账",
    "产品质量检验报告",
    "排水许可申请表",
    "取水许可申请书",
    "施工方案",
    "应急预案",
    "承诺书",
    "经营场所照片",
    "原许可证件",
    "年度经营情况报告",
    "补贴申请表",
    "银行开户许可证",
    "租地协议",
    "污水处理协议",
];

/// A small deterministic generator (xorshift), so every run measures the same catalogue.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn places() -> Vec<String> {
    PLACE_STEMS.iter().flat_map(|s| PLACE_KINDS.iter().map(move |k| format!("{s}{k}"))).collect()
}

fn relocate(text: &mut String, place: &str) {
    if text.contains("青石镇") {
        *text = text.replace("青石镇", place);
    } else if text.contains("青石") {
        *text = text.replace("青石", &place[..place.len() - 3]);
    }
}

fn generate(samples: &[ServiceGuide], n: usize, seed: u64) -> Vec<ServiceGuide> {
    let mut rng = Rng(seed);
    let places = places();
    (0..n)
        .map(|i| {
            let mut g = rng.pick(samples).clone();
            let place = rng.pick(&places).clone();
            g.code = format!("GEN-{i:06}");
            if rng.chance(45) {
                if rng.chance(30) {
                    g.name = format!("{}（{place}）", g.name);
                }
            } else {
                let object = *rng.pick(&OBJECTS);
                let action = *rng.pick(&ACTIONS);
                g.name = if rng.chance(25) { format!("{place}{object}{action}") } else { format!("{object}{action}") };
                g.aliases = vec![format!("办{object}{action}"), format!("{object}手续")];
                g.keywords = vec![object.to_owned(), action.to_owned()];
                g.keywords.extend(g.keywords.clone().into_iter().take(rng.below(2)));
            }
            for _ in 0..rng.below(4) {
                let name = (*rng.pick(&MATERIAL_POOL)).to_owned();
                g.materials.push(Material {
                    id: format!("x{}", g.materials.len()),
                    name,
                    form: MaterialForm::Copy,
                    copies: 1,
                    condition: None,
                    source: "申请人自备".to_owned(),
                    notes: String::new(),
                    blank_form: None,
                    sample_form: None,
                });
            }
            relocate(&mut g.department, &place);
            relocate(&mut g.location, &place);
            for c in &mut g.acceptance_conditions {
                relocate(c, &place);
            }
            for p in &mut g.process {
                relocate(&mut p.description, &place);
            }
            g
        })
        .collect()
}

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
        memory.push(format!("- {n} guides: {heap_mb:.1} MB (budget {}): {}", if n <= 10_000 { "10 MB" } else { "40 MB" }, parts.join(", ")));
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
    let (big_guides, big_index) = segmenter_catalogue.expect("the 10k catalogue");
    compare_segmenters(&samples, &questions, &queries, &sentences, &big_guides, &big_index);
}

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
    big_guides: &[ServiceGuide],
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
    let cuts: Vec<Box<dyn Fn(&str) -> Vec<String> + '_>> = [&jieba_full, &jiebas[0], &jiebas[1], &jiebas[2]]
        .into_iter()
        .map(|j| Box::new(move |t: &str| j.cut(t, false).into_iter().map(|token| token.word.to_owned()).collect()) as Box<_>)
        .collect();
    #[cfg(feature = "jieba")]
    ways.extend([
        ("jieba-rs, its dictionary + ours", Segmentation::External(&*cuts[0]), Segmentation::External(&*cuts[2])),
        ("jieba-rs, our words only", Segmentation::External(&*cuts[1]), Segmentation::External(&*cuts[3])),
    ]);
    println!("Segmenters on the evaluation set (91 sample guides) and at 10,000 guides (ask, limit 20):");
    println!();
    println!("| segmenter | tuning top-1 / top-3 / MRR | held-out top-1 / top-3 / MRR | fresh top-1 / top-3 / MRR | keystrokes median / p99 ms | questions median / p99 ms |");
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
