//! The desk search answers questions as people ask them: on the evaluation set
//! (`tests/eval/questions.toml`), the right guide is among the first three for at least 95% of
//! the questions. Prints top-1, top-3 and MRR for the tuning and the held-out questions, the
//! substring search the desk used before beside them, and the tuning questions not answered first.

use bianmin::search::{SearchIndex, eval};

#[test]
fn the_right_guide_is_in_the_top_three() {
    let guides = bianmin::assets::bundled_catalogue().expect("bundled catalogue").guides;
    let mut questions = eval::load(include_str!("../eval/questions.toml")).expect("evaluation set");
    assert!(questions.len() >= 150, "{} questions", questions.len());
    // The fresh questions are reported apart and hold no floor: they measure, they do not gate.
    questions.extend(eval::load(include_str!("../eval/fresh.toml")).expect("fresh questions"));
    let index = SearchIndex::build(&guides);

    let before =
        eval::evaluate(&questions, &guides, |q| index.search(q, eval::DEPTH).iter().map(|h| h.guide).collect());
    println!("substring search (before #14):\n{before}\n");
    let report =
        eval::evaluate(&questions, &guides, |q| index.ask(q, eval::DEPTH).hits.iter().map(|h| h.guide).collect());
    println!("question search:\n{report}\n");
    for miss in &report.tune_misses {
        println!("tuning miss: {} expected {:?} rank {:?} got {:?}", miss.question, miss.expect, miss.rank, miss.got);
    }
    assert!(report.all.top3 >= 0.95, "top-3 {:.1}% is below 95%", 100.0 * report.all.top3);
}
