//! Matching and ranking against the bundled sample catalogue.

use std::sync::OnceLock;

use super::{Hit, MatchField, SearchIndex};
use crate::domain::guide::ServiceGuide;

pub(super) fn catalogue() -> &'static (Vec<ServiceGuide>, SearchIndex) {
    static CATALOGUE: OnceLock<(Vec<ServiceGuide>, SearchIndex)> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let guides = crate::assets::bundled_catalogue().expect("bundled catalogue").guides;
        let index = SearchIndex::build(&guides);
        (guides, index)
    })
}

fn search(query: &str, limit: usize) -> Vec<Hit> {
    let (guides, index) = catalogue();
    let hits = index.search(query, limit);
    check_invariants(guides, &hits, limit);
    hits
}

fn code(hit: &Hit) -> &'static str {
    &catalogue().0[hit.guide].code
}

fn codes(hits: &[Hit]) -> Vec<&'static str> {
    hits.iter().map(code).collect()
}

/// The highlighted characters of a hit's name, joined.
fn highlighted(hit: &Hit) -> String {
    let name = &catalogue().0[hit.guide].name;
    hit.name_highlight.iter().map(|r| &name[r.clone()]).collect()
}

/// What every result must satisfy, whatever the query.
fn check_invariants(guides: &[ServiceGuide], hits: &[Hit], limit: usize) {
    assert!(hits.len() <= limit);
    for pair in hits.windows(2) {
        assert!(pair[0].score >= pair[1].score, "not best first: {pair:?}");
        // Exact before fuzzy, and within each, the better field first.
        assert!(pair[0].fuzzy <= pair[1].fuzzy, "fuzzy before exact: {pair:?}");
        if pair[0].fuzzy == pair[1].fuzzy {
            assert!(pair[0].field <= pair[1].field, "worse field first: {pair:?}");
        }
    }
    let mut seen = std::collections::HashSet::new();
    for hit in hits {
        assert!(seen.insert(hit.guide), "guide {} twice", hit.guide);
        let name = &guides[hit.guide].name;
        if hit.field != MatchField::Name {
            assert!(hit.name_highlight.is_empty());
        } else {
            assert!(!hit.name_highlight.is_empty(), "a name hit without highlight: {hit:?}");
        }
        let mut last_end = 0;
        for r in &hit.name_highlight {
            assert!(r.start < r.end && r.end <= name.len(), "{r:?} outside {name}");
            assert!(
                name.is_char_boundary(r.start) && name.is_char_boundary(r.end),
                "{r:?} splits a character of {name}"
            );
            assert!(r.start >= last_end, "ranges overlap or are out of order");
            last_end = r.end;
        }
    }
}

#[test]
fn index_basics() {
    let (guides, index) = catalogue();
    assert_eq!(index.len(), guides.len());
    assert!(!index.is_empty());
    assert!(index.heap_bytes() > 10_000);
    assert!(SearchIndex::build(&[]).is_empty());
    assert!(SearchIndex::build(&[]).search("残疾", 10).is_empty());
    fn send_sync<T: Send + Sync>() {}
    send_sync::<SearchIndex>();
}

#[test]
fn field_labels_and_order() {
    let labels: Vec<&str> = MatchField::ALL.iter().map(|f| f.label()).collect();
    assert_eq!(labels, ["名称", "别名", "关键词", "材料", "常见问题", "正文"]);
    assert!(MatchField::Name < MatchField::Alias && MatchField::Faq < MatchField::Body);
}

#[test]
fn hanzi_substring_finds_names_first() {
    let hits = search("残疾", 20);
    let top: Vec<&str> = codes(&hits[..6]);
    for code in ["HB-QS-0027", "HB-QS-0028", "HB-QS-0029", "HB-QS-0030", "HB-QS-0031", "HB-QS-0032"] {
        assert!(top.contains(&code), "{code} not among the name hits {top:?}");
    }
    for hit in &hits[..6] {
        assert_eq!(hit.field, MatchField::Name);
        assert!(!hit.fuzzy);
        assert_eq!(highlighted(hit), "残疾");
    }
    // The shorter name with the match at its start comes first.
    assert_eq!(code(&hits[0]), "HB-QS-0027");
}

#[test]
fn full_pinyin_matches_and_highlights_the_hanzi() {
    let hits = search("yanglao", 10);
    assert!(hits.len() >= 9);
    for hit in hits.iter().filter(|h| !h.fuzzy) {
        assert_eq!(hit.field, MatchField::Name);
        assert_eq!(highlighted(hit), "养老");
    }
    assert!(hits.iter().take(9).all(|h| !h.fuzzy));
    // Spaces, capitals and full-width letters are the same query.
    assert_eq!(codes(&search(" Yang Lao ", 10)), codes(&hits));
    assert_eq!(codes(&search("ＹＡＮＧＬＡＯ", 10)), codes(&hits));
    // As the user types: a partial last syllable already matches.
    assert!(codes(&search("yangla", 10)).contains(&"HB-QS-0001"));
}

#[test]
fn initials_and_mixed_queries() {
    // 领残疾人补贴 is an alias of the two-subsidies item; no name reads cjrbt.
    let hits = search("cjrbt", 10);
    assert_eq!(code(&hits[0]), "HB-QS-0029");
    assert_eq!(hits[0].field, MatchField::Alias);
    assert!(!hits[0].fuzzy);
    let mixed = search("残疾rbt", 10);
    assert_eq!(code(&mixed[0]), "HB-QS-0029");
    assert!(!mixed[0].fuzzy);
    // Initials in names: 残疾人证 → cjrz.
    let hits = search("cjrz", 10);
    assert_eq!(codes(&hits[..2]), ["HB-QS-0027", "HB-QS-0028"]);
    assert_eq!(highlighted(&hits[0]), "残疾人证");
    // Initials mixed with full syllables, and two-letter initials.
    assert_eq!(code(&search("canjrz", 10)[0]), "HB-QS-0027");
    assert!(codes(&search("shbzk", 10)).contains(&"HB-QS-0007"), "社会保障卡 by shbzk");
    assert!(codes(&search("sbzk", 10)).contains(&"HB-QS-0007"), "社会保障卡 by sbzk");
}

#[test]
fn polyphonic_characters_match_either_reading() {
    for q in ["zhongdu", "chongdu", "zd", "cd", "zhongducanji"] {
        let found = codes(&search(q, 30));
        assert!(found.contains(&"HB-QS-0032"), "{q}: 困难重度残疾人家庭无障碍改造申请 missing from {found:?}");
    }
    let hits = search("zhongdu", 10);
    let hit = hits.iter().find(|h| code(h) == "HB-QS-0032").expect("0032");
    assert_eq!(highlighted(hit), "重度");

    let hits = search("yinhang", 10);
    assert_eq!(code(&hits[0]), "HB-QS-0005", "alias 改银行卡号");
    assert!(!hits[0].fuzzy);
    assert!(codes(&hits).contains(&"HB-QS-0059"), "keyword 银行");

    for q in ["huankuan", "haikuan"] {
        assert_eq!(code(&search(q, 10)[0]), "HB-QS-0059", "{q}: alias 创业贷还款");
    }

    for q in ["changqi", "zhangqi", "cqhl"] {
        let hits = search(q, 10);
        assert_eq!(code(&hits[0]), "HB-QS-0014", "{q}: 长期护理保险待遇申请");
        assert_eq!(hits[0].field, MatchField::Name);
    }

    for q in ["danwei", "shanwei"] {
        let found = codes(&search(q, 20));
        assert!(found.contains(&"HB-QS-0008") && found.contains(&"HB-QS-0019"), "{q}: keyword 单位 in {found:?}");
    }
}

#[test]
fn typos_still_find_the_item_below_exact_matches() {
    // Transposed letters across two syllables, a wrong letter, a missing letter, an extra one.
    for q in ["yanlgao", "yangla0", "yanglo", "yangllao", "yanglaa"] {
        let hits = search(q, 10);
        assert!(!hits.is_empty(), "{q} found nothing");
        assert!(hits[0].fuzzy, "{q}");
        assert!(catalogue().0[hits[0].guide].name.contains("养老"), "{q}: {:?}", codes(&hits));
        assert_eq!(highlighted(&hits[0]), "养老", "{q}");
    }
    let hits = search("canjiern", 10);
    assert!(["HB-QS-0027", "HB-QS-0028"].contains(&code(&hits[0])), "{:?}", codes(&hits));
    // One wrong Hanzi in a query of three or more.
    let hits = search("残急人证", 10);
    assert_eq!(codes(&hits[..2]), ["HB-QS-0027", "HB-QS-0028"]);
    assert!(hits.iter().all(|h| h.fuzzy));
    // A missing Hanzi; the exact alias match ranks first.
    let hits = search("上户口", 10);
    assert_eq!(code(&hits[0]), "HB-QS-0065");
    assert!(!hits[0].fuzzy);
    assert!(hits[1..].iter().all(|h| h.fuzzy));
}

#[test]
fn short_queries_do_not_match_fuzzily() {
    // Three letters or two Hanzi: never fuzzy, however many slots are free.
    for q in ["she", "yl", "s", "残急", "zhd"] {
        assert!(search(q, 1000).iter().all(|h| !h.fuzzy), "{q}");
    }
    // `shen` is a prefix of many readings (申, 身, 审, 生, 省): plenty of exact hits fill the
    // screen, so no fuzzy match is even computed.
    let hits = search("shen", 20);
    assert_eq!(hits.len(), 20);
    assert!(hits.iter().all(|h| !h.fuzzy && h.field == MatchField::Name));
    // A typo the first letter carries matches nothing: the first letter is never the error.
    assert!(search("xanglao", 10).iter().all(|h| !catalogue().0[h.guide].name.contains("养老")));
}

#[test]
fn aliases_find_colloquial_names() {
    let hits = search("上户口", 5);
    assert_eq!(code(&hits[0]), "HB-QS-0065");
    assert_eq!(hits[0].field, MatchField::Alias);
    assert!(hits[0].name_highlight.is_empty());
    let hits = search("吃低保", 5);
    assert_eq!(code(&hits[0]), "HB-QS-0020");
    assert_eq!(code(&search("chidibao", 5)[0]), "HB-QS-0020");
    assert_eq!(code(&search("wbh", 5)[0]), "HB-QS-0021", "五保户");
}

#[test]
fn ranking_name_alias_keyword_material_faq_body() {
    // 户口: names (prefix first), then the alias 给娃上户口, then materials (居民户口簿).
    let hits = search("户口", 30);
    let fields: Vec<MatchField> = hits.iter().map(|h| h.field).collect();
    assert_eq!(
        fields[..5],
        [MatchField::Name, MatchField::Name, MatchField::Name, MatchField::Name, MatchField::Alias]
    );
    assert_eq!(code(&hits[4]), "HB-QS-0065");
    assert!(fields[5..].iter().all(|f| *f == MatchField::Material));
    // Prefix matches before the one in the middle of a name.
    assert_eq!(code(&hits[3]), "HB-QS-0068", "死亡人员户口注销 has 户口 mid-name");

    // One query reaching every field: 单位 is a keyword of some items, in the materials of none,
    // and in the FAQ or body of others.
    let hits = search("借记卡", 50);
    assert!(hits.iter().all(|h| h.field == MatchField::Material));
    assert!(codes(&hits).contains(&"HB-QS-0002"));
    let hits = search("楚税通", 10);
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().any(|h| code(h) == "HB-QS-0001" && h.field == MatchField::Faq));
    let hits = search("社会保险法", 50);
    assert!(hits.iter().any(|h| h.field == MatchField::Body));
    assert!(hits.iter().filter(|h| !h.fuzzy).all(|h| h.field == MatchField::Body));
    // The item type label and the department are body text.
    assert!(search("行政裁决", 50).iter().all(|h| h.field == MatchField::Body));
    assert!(!search("司法所", 50).is_empty());
}

#[test]
fn exact_name_beats_prefix_beats_substring() {
    let hits = search("临时救助", 10);
    assert_eq!(code(&hits[0]), "HB-QS-0022", "the whole name");
    assert_eq!(hits[0].field, MatchField::Name);
    let whole = hits[0].score;
    let prefix = search("临时", 10)[0].score;
    let substring = search("时救助", 10)[0].score;
    assert!(whole > prefix && prefix > substring, "{whole} {prefix} {substring}");
    // Exact matches in a worse field still beat fuzzy matches in the name.
    let hits = search("上户口", 10);
    assert!(hits[0].score > hits[1].score && hits[0].field > hits[1].field);
}

#[test]
fn highlight_skips_punctuation_between_matched_characters() {
    let hits = search("换领补领", 10);
    assert_eq!(code(&hits[0]), "HB-QS-0028");
    let name = &catalogue().0[hits[0].guide].name;
    let parts: Vec<&str> = hits[0].name_highlight.iter().map(|r| &name[r.clone()]).collect();
    assert_eq!(parts, ["换领", "补领"], "the 、 in between is not highlighted");
    // Full-width brackets in names are skipped the same way.
    let hits = search("新生儿落户", 10);
    assert_eq!(code(&hits[0]), "HB-QS-0065");
    assert_eq!(highlighted(&hits[0]), "新生儿落户");
}

#[test]
fn digits_and_latin_text_match_literally() {
    let hits = search("12315", 10);
    assert_eq!(code(&hits[0]), "HB-QS-0083", "alias 12315投诉");
    assert_eq!(code(&search("12315ts", 10)[0]), "HB-QS-0083");
    assert!(codes(&search("65", 10)).contains(&"HB-QS-0038"));
}

#[test]
fn empty_and_blank_queries_find_nothing() {
    for q in ["", " ", "\t\n", "　", "、。！", "\u{0}\u{1b}[", "😀😀"] {
        assert!(search(q, 10).is_empty(), "{q:?}");
    }
    assert!(search("残疾", 0).is_empty());
}

/// A small deterministic generator for the property test.
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
}

#[test]
fn garbage_never_panics() {
    let (guides, _) = catalogue();
    let hanzi: Vec<char> = guides.iter().take(20).flat_map(|g| g.name.chars()).collect();
    let odd = [
        '\u{0}',
        '\u{7}',
        '\u{1b}',
        '\u{7f}',
        '\u{85}',
        '\u{200b}',
        '\u{202e}',
        '\u{fe0f}',
        '\u{301}',
        '\u{ffff}',
        '\u{10ffff}',
        '😀',
        '👨',
        '\u{200d}',
        '𠀀',
        '𪚥',
        'Ａ',
        'ｚ',
        '０',
        '　',
        'ü',
        'Ü',
        'ß',
        'İ',
        'Σ',
        'ǚ',
        '﹏',
        '·',
    ];
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for round in 0..3000 {
        let len = rng.below(30);
        let query: String = (0..len)
            .map(|_| match rng.below(5) {
                0 => hanzi[rng.below(hanzi.len())],
                1 => odd[rng.below(odd.len())],
                2 => char::from(b'a' + rng.below(26) as u8),
                3 => char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('?'),
                _ => char::from(b' ' + rng.below(95) as u8),
            })
            .collect();
        let limit = [0, 1, 5, 20, usize::MAX][round % 5];
        search(&query, limit);
    }
    // Very long queries: pinyin, Hanzi, and a whole body paragraph.
    search(&"yanglao".repeat(1500), 10);
    search(&"残".repeat(10_000), 10);
    search(&"a".repeat(64), 10);
    search(&"ab".repeat(11), 10);
    let condition = &guides[0].acceptance_conditions[1];
    assert_eq!(search(condition, 10)[0].guide, 0, "a whole sentence of body text");
}

#[test]
fn every_guide_is_found_by_its_own_name() {
    let (guides, index) = catalogue();
    for (i, g) in guides.iter().enumerate() {
        let hits = index.search(&g.name, 5);
        assert_eq!(hits.first().map(|h| h.guide), Some(i), "{}", g.name);
        assert_eq!(hits[0].field, MatchField::Name);
    }
}

fn ask_codes(question: &str) -> Vec<&'static str> {
    let (guides, index) = catalogue();
    index.ask(question, 10).hits.iter().map(|h| guides[h.guide].code.as_str()).collect()
}

#[test]
fn a_keyword_equal_to_the_question_ranks_above_an_alias_containing_it() {
    // 低保 is exactly a keyword of 最低生活保障审核确认, and only part of the alias 低保户养老保险谁交
    // of 困难群体城乡居民基本养老保险费代缴; the substring search puts the alias first.
    for q in ["低保", "dibao"] {
        let found = ask_codes(q);
        assert_eq!(found[0], "HB-QS-0020", "{q}: {found:?}");
        let at = |code| found.iter().position(|c| *c == code);
        assert!(at("HB-QS-0087").is_none_or(|p| p > 0), "{q}: {found:?}");
    }
    // With `whole_first`, the keyword outranks the alias in the underlying search too.
    let hits = catalogue().1.search_ranked("低保", 10, true, MatchField::Body);
    assert!(hits.iter().position(|h| code(h) == "HB-QS-0020") < hits.iter().position(|h| code(h) == "HB-QS-0087"));
}

#[test]
fn questions_from_the_issue_find_their_guide_first() {
    for (q, code) in [
        ("身份证过期了", "HB-QS-0067"),
        ("医保怎么交", "HB-QS-0017"),
        ("养老金怎么领", "HB-QS-0002"),
        ("户口本丢了怎么办", "HB-QS-0071"),
        ("孩子出生了要上户口", "HB-QS-0065"),
        ("盖房子要批什么", "HB-QS-0051"),
        ("给娃上户口", "HB-QS-0065"),
        ("领高龄补贴", "HB-QS-0023"),
    ] {
        let found = ask_codes(q);
        assert_eq!(found.first(), Some(&code), "{q}: {found:?}");
    }
    // 老人去世了怎么办: the services that follow an old person's death come first.
    let found = ask_codes("老人去世了怎么办");
    for code in ["HB-QS-0068", "HB-QS-0003"] {
        assert!(found[..3].contains(&code), "{code} not near the top of {found:?}");
    }
}

#[test]
fn a_question_with_a_known_word_always_finds_the_closest_guides() {
    let (_, index) = catalogue();
    let answer = index.ask("身份证照片能不能自己拍", 10);
    assert_eq!(answer.words, ["身份证", "照片", "自己拍"]);
    assert!(!answer.hits.is_empty());
    assert_eq!(catalogue().0[answer.hits[0].guide].code, "HB-QS-0067");
    assert!(answer.hits[0].matched.contains(&"身份证".to_owned()));
    // Filler alone, or nothing the catalogue knows: no words, nothing found.
    assert!(index.ask("怎么办呢？", 10).hits.is_empty());
    assert!(index.ask("qqqqxxxx", 10).hits.is_empty());
    assert!(!index.ask("qqqqxxxx", 10).confident());
    assert!(index.ask("身份证过期了", 10).confident());
}

#[test]
fn typed_questions_keep_pinyin_initials_and_typos() {
    assert_eq!(ask_codes("shenfenzheng diule")[0], "HB-QS-0067");
    assert_eq!(ask_codes("cjrz")[..2], ["HB-QS-0027", "HB-QS-0028"]);
    assert_eq!(ask_codes("残疾rbt")[0], "HB-QS-0029");
    assert_eq!(ask_codes("医宝怎么交")[0], "HB-QS-0017", "医宝 sounds like 医保");
    assert_eq!(ask_codes("身分证过期")[0], "HB-QS-0067");
    assert_eq!(
        ask_codes("yanlgao").first().map(|c| catalogue()
            .0
            .iter()
            .find(|g| g.code == *c)
            .unwrap()
            .name
            .contains("养老")),
        Some(true)
    );
}

#[test]
fn another_lexicon_changes_what_questions_mean() {
    use crate::domain::lexicon::{Lexicon, SynonymGroup};
    let (guides, _) = catalogue();
    // Without the bundled lexicon 娃 means nothing the catalogue says.
    let bare = SearchIndex::build_with(guides, &Lexicon::default());
    let code_of = |index: &SearchIndex, q: &str| index.ask(q, 5).hits.first().map(|h| guides[h.guide].code.clone());
    assert_ne!(code_of(&bare, "娃出生了"), Some("HB-QS-0065".to_owned()));
    let lexicon = Lexicon {
        filler: vec!["了".into()],
        groups: vec![
            SynonymGroup { words: vec!["娃".into(), "新生儿".into()] },
            SynonymGroup { words: vec!["出生".into(), "落户".into()] },
        ],
    };
    let taught = SearchIndex::build_with(guides, &lexicon);
    assert_eq!(code_of(&taught, "娃出生了"), Some("HB-QS-0065".to_owned()));
}

/// A catalogue changed by a random delta, as the index and the summaries see it: the guides in
/// code order, and for [`SearchIndex::update`] the new position of each old guide and the new
/// and changed guides with theirs.
struct Delta {
    guides: Vec<ServiceGuide>,
    moved: Vec<Option<u32>>,
    added: Vec<(u32, ServiceGuide)>,
}

/// Characters no bundled guide has, so updates add characters and, removed, forget them.
const RARE: [&str; 4] = ["龘", "靐", "齉", "龖"];

fn random_text(rng: &mut fastrand::Rng, from: &[ServiceGuide]) -> String {
    let donor = &from[rng.usize(..from.len())];
    let mut pool: Vec<&str> = vec![&donor.name];
    pool.extend(donor.aliases.iter().map(String::as_str));
    pool.extend(donor.keywords.iter().map(String::as_str));
    pool.extend(donor.materials.iter().map(|m| m.name.as_str()));
    let text: Vec<char> = pool[rng.usize(..pool.len())].chars().collect();
    let from_char = rng.usize(..text.len().max(1));
    let mut out: String = text[from_char.min(text.len())..].iter().take(rng.usize(1..8)).collect();
    match rng.u8(..6) {
        0 => out.push_str(RARE[rng.usize(..RARE.len())]),
        1 => out.push_str(&format!("x{}", rng.u8(..10))),
        _ => {}
    }
    out
}

/// Removes, changes and adds a few guides of `guides` (in code order); changed and new guides
/// take texts of other guides (so queries match them and ties happen), rare characters, and
/// some are exact copies of another guide under a new code.
fn random_delta(rng: &mut fastrand::Rng, guides: &[ServiceGuide], round: usize) -> Delta {
    let mut by_code: std::collections::BTreeMap<String, (Option<usize>, Option<ServiceGuide>)> =
        guides.iter().enumerate().map(|(i, g)| (g.code.clone(), (Some(i), None))).collect();
    let mut changed = std::collections::BTreeSet::new();
    for _ in 0..rng.usize(0..6) {
        let code = &guides[rng.usize(..guides.len())].code;
        by_code.get_mut(code).expect("code").0.take();
    }
    for i in 0..rng.usize(0..8) {
        let base = guides[rng.usize(..guides.len())].clone();
        let mut guide = base.clone();
        match rng.u8(..3) {
            // A change to a guide already there.
            0 => {}
            // A copy under a new code: every query ties with the original.
            1 => guide.code = format!("{}-{round}c{i}", base.code),
            _ => guide.code = format!("{}-{round}n{i}", guides[rng.usize(..guides.len())].code),
        }
        if guide.code != base.code || rng.bool() {
            if rng.bool() {
                guide.name = random_text(rng, guides) + &random_text(rng, guides);
            }
            if rng.bool() {
                guide.aliases = (0..rng.usize(0..3)).map(|_| random_text(rng, guides)).collect();
            }
            if rng.bool() {
                guide.keywords = (0..rng.usize(0..4)).map(|_| random_text(rng, guides)).collect();
            }
            if rng.bool() {
                guide.materials = guides[rng.usize(..guides.len())].materials.clone();
                if let Some(m) = guide.materials.first_mut() {
                    m.name = random_text(rng, guides);
                }
            }
            if rng.bool() {
                guide.faqs.clear();
            }
        }
        changed.insert(guide.code.clone());
        let code = guide.code.clone();
        by_code.entry(code).or_insert((None, None)).1 = Some(guide);
    }
    let mut delta = Delta { guides: Vec::new(), moved: vec![None; guides.len()], added: Vec::new() };
    for (code, (old, new)) in by_code {
        let position = delta.guides.len() as u32;
        match (old, new) {
            (_, Some(guide)) => {
                delta.added.push((position, guide.clone()));
                delta.guides.push(guide);
            }
            (Some(old), None) if !changed.contains(&code) => {
                delta.moved[old] = Some(position);
                delta.guides.push(guides[old].clone());
            }
            _ => {}
        }
    }
    delta
}

/// The evaluation set's questions.
fn eval_queries() -> Vec<String> {
    let mut queries: Vec<String> = Vec::new();
    for file in [include_str!("../../tests/eval/questions.toml"), include_str!("../../tests/eval/fresh.toml")] {
        queries.extend(super::eval::load(file).expect("evaluation set").into_iter().map(|q| q.text));
    }
    queries
}

/// Queries that exercise every path: rare characters, and random pieces of names, aliases,
/// keywords and materials of `guides`, as they are, spelled in full pinyin, in initials and with
/// a typo.
fn probe_queries(rng: &mut fastrand::Rng, guides: &[ServiceGuide], index: &SearchIndex) -> Vec<String> {
    let mut queries: Vec<String> = Vec::new();
    queries.extend(RARE.iter().map(|r| r.to_string()));
    queries.extend(["shebao", "hukou", "cjrz", "yanglao", "yanlgao", "x1", "dibao", "shenfenzheng"].map(String::from));
    for _ in 0..15 {
        let text = random_text(rng, guides);
        if let Some(syllables) = index.spell(&text) {
            queries.push(syllables.concat());
            queries.push(syllables.iter().filter_map(|s| s.chars().next()).collect());
            let mut typo: Vec<char> = syllables.concat().chars().collect();
            if typo.len() > 3 {
                typo.swap(1, 2);
                queries.push(typo.into_iter().collect());
            }
        }
        queries.push(text);
    }
    queries
}

/// Every answer of `updated` is the answer of `fresh`.
fn assert_same_answers(updated: &SearchIndex, fresh: &SearchIndex, queries: &[String], context: &str) {
    assert_eq!(updated.len(), fresh.len(), "{context}: guides");
    let words = |i: &SearchIndex| {
        let mut w: Vec<String> = i.dictionary_words().into_iter().map(String::from).collect();
        w.sort();
        w
    };
    assert_eq!(words(updated), words(fresh), "{context}: the words questions are cut into");
    for q in queries {
        for limit in [3, 200] {
            assert_eq!(updated.search(q, limit), fresh.search(q, limit), "{context}: search {q:?} limit {limit}");
        }
        assert_eq!(updated.ask(q, 200), fresh.ask(q, 200), "{context}: ask {q:?}");
    }
}

#[test]
fn an_index_updated_in_place_answers_every_query_like_one_built_from_scratch() {
    let lexicon = crate::domain::lexicon::Lexicon::bundled();
    let mut base = crate::assets::bundled_catalogue().expect("bundled catalogue").guides;
    base.sort_by(|a, b| a.code.cmp(&b.code));
    // The seeds to try: BIANMIN_DELTA_SEEDS=n for a longer run.
    let seeds: u64 = std::env::var("BIANMIN_DELTA_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
    for seed in 0..seeds {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut guides = base.clone();
        let mut index = SearchIndex::build_with(&guides, lexicon);
        for round in 0..3 {
            let delta = random_delta(&mut rng, &guides, round);
            let added: Vec<(u32, &ServiceGuide)> = delta.added.iter().map(|(p, g)| (*p, g)).collect();
            index = index.update(&delta.moved, &added).expect("positions number the new catalogue");
            let fresh = SearchIndex::build_with(&delta.guides, lexicon);
            // Pieces of the old catalogue too: what was removed must be found no more.
            let mut queries = eval_queries();
            queries.extend(probe_queries(&mut rng, &guides, &fresh));
            queries.extend(probe_queries(&mut rng, &delta.guides, &fresh));
            assert_same_answers(&index, &fresh, &queries, &format!("seed {seed}, delta {round}"));
            guides = delta.guides;
        }
        assert!(index.retired() > 0, "seed {seed}: no delta changed anything");
    }
}

#[test]
fn an_update_with_positions_that_do_not_number_the_catalogue_is_refused() {
    let (guides, _) = catalogue();
    let index = SearchIndex::build(&guides[..3]);
    // Two guides at position 0.
    let index = *index.update(&[Some(0), Some(0), Some(1)], &[]).expect_err("duplicate position");
    // A gap: positions 0 and 2 of 2 guides.
    let index = *index.update(&[Some(0), None, Some(2)], &[]).expect_err("gap");
    // Too few old positions.
    let index = *index.update(&[Some(0)], &[]).expect_err("short");
    let index = index.update(&[None, Some(0), None], &[(1, &guides[5])]).expect("valid");
    assert_eq!(index.len(), 2);
    assert_eq!(index.search(&guides[5].name, 1)[0].guide, 1);
}
