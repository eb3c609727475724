//! A synthetic month through the real server (#17, "Done when"): 20 working days of March 2026
//! (the working-day calendar decides which), 6 windows, thousands of tickets issued at the kiosk,
//! called, served or missed at the windows, cases accepted and one-time notices given (uploaded
//! from each window's log), ratings at each window's evaluator, and the follow-ups the bad ones
//! open: some closed in time, some late, some answered only, some never touched. The server's
//! clock is the test's. Then the month report, by the service the CLI calls and by the real
//! binary as CSV, is checked against figures this test keeps from what it did: it never calls
//! `domain::report` to work out what to expect. The generator is `tests/common/month.rs` (the
//! board's render test builds a shorter month with it).

use crate::common;

use std::collections::BTreeMap;
use std::process::Command;

use bianmin::domain::attendance::OpeningHours;
use bianmin::domain::rating::RatingLevel;
use bianmin::domain::report::Period;
use bianmin::server;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use common::month::{self, Outcome, at, set};
use common::server::TestServer;
use futures_util::future::join_all;
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");

/// Rounds per day: every 20 minutes from 08:30, each window calls one ticket (20 x 17 x 6 =
/// 2,040 tickets in the month).
const ROUNDS: u32 = 17;
const DAYS: usize = 20;

#[derive(Default, Clone)]
struct Expect {
    served: u32,
    wait_sum: i64,
    waits: u32,
    handling_sum: i64,
    handlings: u32,
    ratings: [u32; 5],
    bad: u32,
    in_time: u32,
    late: u32,
    accepted: u32,
    notices: u32,
}

impl Expect {
    fn wait(&self) -> Option<u32> {
        (self.waits > 0).then(|| (self.wait_sum / i64::from(self.waits)) as u32)
    }
    fn handling(&self) -> Option<u32> {
        (self.handlings > 0).then(|| (self.handling_sum / i64::from(self.handlings)) as u32)
    }
}

fn level_index(level: RatingLevel) -> usize {
    RatingLevel::ALL.iter().position(|l| *l == level).unwrap()
}

/// What the test does with a bad rating's follow-up.
#[derive(Clone, Copy, PartialEq)]
enum Fate {
    InTime,
    Late,
    AnsweredOnly,
    Untouched,
}

/// A follow-up step to post: (rating, who posts it, the action, the fate, window, rated clerk).
type Step<'a> = (Uuid, &'a str, serde_json::Value, Fate, u32, &'a str);

/// Minutes as the report prints them, worked out here.
fn minutes_text(seconds: Option<u32>) -> String {
    match seconds.map(|s| s / 60) {
        None => "—".into(),
        Some(m) if m < 60 => format!("{m}分"),
        Some(m) => format!("{}时{:02}分", m / 60, m % 60),
    }
}

fn percent_text(part: u32, whole: u32) -> String {
    if whole == 0 {
        return "—".into();
    }
    let pm = u64::from(part) * 1000 / u64::from(whole);
    if pm == 1000 { "100%".into() } else { format!("{}.{}%", pm / 10, pm % 10) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_synthetic_month_through_the_server_is_reported_with_the_figures_it_made() {
    let calendar = bianmin::assets::bundled_calendar().unwrap();
    let first = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let days: Vec<NaiveDate> =
        first.iter_days().take_while(|d| d.month() == 3).filter(|d| calendar.is_working_day(*d)).take(DAYS).collect();
    assert_eq!(days.len(), DAYS, "March 2026 has {DAYS} working days");

    let started = std::time::Instant::now();
    let s = TestServer::start().await;
    let built = month::build(&s, &days, ROUNDS).await;

    // What was done, folded into the figures to expect, in the order it was done.
    let mut by_clerk: BTreeMap<&str, Expect> = BTreeMap::new();
    let mut by_window: BTreeMap<u32, Expect> = BTreeMap::new();
    // category -> (issued, served, no-shows)
    let mut by_category: BTreeMap<char, (u32, u32, u32)> = built.issued.iter().map(|(c, n)| (*c, (*n, 0, 0))).collect();
    // Bad ratings: (rating id, window, clerk, day index, fate).
    let mut bad: Vec<(Uuid, u32, &str, usize, Fate)> = Vec::new();
    let issued_total: u32 = built.issued.values().sum();
    for outcome in &built.outcomes {
        match *outcome {
            Outcome::NoShow { category } => by_category.entry(category).or_default().2 += 1,
            Outcome::Served { day: d, window, staff, category, waited_s, handling_min: h, rating } => {
                by_category.entry(category).or_default().1 += 1;
                for e in [by_clerk.entry(staff).or_default(), by_window.entry(window).or_default()] {
                    e.served += 1;
                    // A ticket's wait counts for whoever finished it (a missed one belongs to
                    // nobody).
                    e.wait_sum += waited_s;
                    e.waits += 1;
                    e.handling_sum += h * 60;
                    e.handlings += 1;
                }
                if let Some((level, id)) = rating {
                    for e in [by_clerk.entry(staff).or_default(), by_window.entry(window).or_default()] {
                        e.ratings[level_index(level)] += 1;
                        e.bad += u32::from(level.is_bad());
                    }
                    if level.is_bad() {
                        let fate = [Fate::InTime, Fate::Late, Fate::AnsweredOnly, Fate::Untouched][bad.len() % 4];
                        bad.push((id, window, staff, d, fate));
                    }
                }
            }
        }
    }
    for up in &built.uploaded {
        by_clerk.entry(up.staff).or_default().accepted += 1;
        by_window.entry(up.window).or_default().accepted += 1;
        if up.notice {
            by_clerk.entry(up.staff).or_default().notices += 1;
        }
    }
    eprintln!("month built through the API in {:.1?}", started.elapsed());
    let tickets_served: u32 = by_window.values().map(|e| e.served).sum();
    assert!(issued_total >= 2000, "thousands of tickets: {issued_total}");

    // Follow-ups: the clerk answers (the day after the rating), the director closes in time (the
    // day after) or after the due day; some are left answered only, some untouched.
    let due_days = bianmin::domain::follow_up::DEFAULT_DUE_WORKING_DAYS;
    let mut steps: BTreeMap<DateTime<Utc>, Vec<Step>> = BTreeMap::new();
    for (id, window, staff, d, fate) in &bad {
        let next = calendar.add_working_days(days[*d], 1).date;
        let due = calendar.add_working_days(days[*d], due_days).date;
        if *fate != Fate::Untouched {
            let answer = serde_json::json!({"kind": "answered", "text": "已核实情况"});
            steps.entry(at(next, 9 * 60)).or_default().push((*id, staff, answer, *fate, *window, staff));
        }
        let close = match fate {
            Fate::InTime => Some((next, serde_json::json!({"kind": "resolved_on_spot", "what": "已当面道歉并说明"}))),
            Fate::Late => {
                let late = due.succ_opt().unwrap();
                Some((
                    late,
                    serde_json::json!({
                        "kind": "rectified",
                        "finding": "valid",
                        "rectification": "增开高峰窗口",
                        "feedback": {"channel": "phone", "on": late.to_string(), "given_by": "admin"},
                    }),
                ))
            }
            _ => None,
        };
        if let Some((on, action)) = close {
            steps.entry(at(on, 15 * 60)).or_default().push((*id, "admin", action, *fate, *window, staff));
        }
    }
    let mut last = at(*days.last().unwrap(), 18 * 60);
    for (when, batch) in &steps {
        set(&s, *when);
        last = last.max(*when);
        let mut tokens: BTreeMap<&str, String> = BTreeMap::new();
        for (_, who, _, _, _, _) in batch {
            if !tokens.contains_key(who) {
                tokens.insert(who, s.sign_in(who).await);
            }
        }
        let posts = batch.iter().map(|(id, who, action, _, _, _)| {
            let token = tokens[who].clone();
            let url = s.url(&bianmin::api::paths::follow_up_steps(*id));
            let http = s.http.clone();
            async move {
                let r = http
                    .post(url)
                    .bearer_auth(token)
                    .json(&serde_json::json!({ "action": action }))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                (status, r.text().await.unwrap())
            }
        });
        for (status, body) in join_all(posts).await {
            assert_eq!(status, 200, "{body}");
        }
        for (_, who, action, fate, window, staff) in batch {
            if *who == "admin" && action["kind"] != "answered" {
                for e in [by_clerk.entry(staff).or_default(), by_window.entry(*window).or_default()] {
                    match fate {
                        Fate::InTime => e.in_time += 1,
                        Fate::Late => e.late += 1,
                        _ => unreachable!(),
                    }
                }
            }
        }
    }
    eprintln!("follow-ups done at {:.1?}", started.elapsed());
    let now = last + Duration::days(1);
    let bad_total = bad.len() as u32;
    let in_time_total = bad.iter().filter(|b| b.4 == Fate::InTime).count() as u32;
    let late_total = bad.iter().filter(|b| b.4 == Fate::Late).count() as u32;
    assert!(bad_total >= 40 && in_time_total > 0 && late_total > 0, "bad ratings of every fate: {bad_total}");

    // The report, by the service `bianmin report` calls.
    let month = Period { from: first, to: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap() };
    let loaded =
        server::service::report::load(s.state.store.as_ref(), month, &OpeningHours::default(), now).await.unwrap();
    let r = &loaded.report;
    assert_eq!((r.tickets_issued, r.tickets_served), (issued_total, tickets_served));
    let rated: u32 = by_window.values().map(|e| e.ratings.iter().sum::<u32>()).sum();
    assert_eq!((r.ratings.total(), r.ratings.bad()), (rated, bad_total));
    assert_eq!(
        (r.replies.bad_ratings, r.replies.replied_in_time, r.replies.replied_late, r.replies.overdue),
        (bad_total, in_time_total, late_total, bad_total - in_time_total - late_total),
        "every follow-up left open is past its due day by now"
    );
    for (staff, e) in &by_clerk {
        let c = r.clerks.iter().find(|c| c.staff == *staff).unwrap_or_else(|| panic!("{staff} in the report"));
        assert_eq!(c.tickets_served, e.served, "{staff} served");
        assert_eq!(c.average_wait_s, e.wait(), "{staff} wait");
        assert_eq!(c.average_handling_s, e.handling(), "{staff} handling");
        assert_eq!((c.cases_accepted, c.cases_immediate, c.notices_given), (e.accepted, 0, e.notices), "{staff} cases");
        let levels: Vec<u32> = RatingLevel::ALL.iter().map(|l| c.ratings.of(*l)).collect();
        assert_eq!(levels, e.ratings, "{staff} ratings");
        assert_eq!(
            (c.replies.bad_ratings, c.replies.replied_in_time, c.replies.replied_late),
            (e.bad, e.in_time, e.late),
            "{staff} replies"
        );
    }
    for (window, e) in &by_window {
        let w = r.windows.iter().find(|w| w.window == *window).unwrap();
        assert_eq!(
            (w.tickets_served, w.average_wait_s, w.average_handling_s, w.cases_accepted, w.ratings.bad()),
            (e.served, e.wait(), e.handling(), e.accepted, e.bad),
            "window {window}"
        );
        assert_eq!((w.replies.bad_ratings, w.replies.replied_in_time), (e.bad, e.in_time), "window {window} replies");
    }
    for (category, (issued, served, no_shows)) in &by_category {
        let c = r.categories.iter().find(|c| c.category == *category).unwrap();
        assert_eq!((c.issued, c.served, c.no_shows, c.transferred_out), (*issued, *served, *no_shows, 0), "{category}");
    }

    // The same month from the real binary, as CSV, read the way Excel would.
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["report", "month", "--month", "2026-03", "--format", "csv", "--database", &s.db_url])
        .env_clear()
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("xdg-config"))
        .env("XDG_DATA_HOME", home.path().join("xdg-data"))
        .env("BIANMIN_DATA_DIR", home.path().join("data"))
        .env("LANG", "C.UTF-8")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8(out.stdout).unwrap();
    let csv = csv.strip_prefix('\u{feff}').expect("UTF-8 with a BOM");
    let rows: Vec<Vec<String>> = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let section = |name: &str| -> Vec<Vec<String>> {
        let at = rows.iter().position(|r| r.len() == 1 && r[0] == name).unwrap_or_else(|| panic!("section {name}"));
        rows[at + 2..].iter().take_while(|r| r.len() > 1).cloned().collect()
    };
    let totals = &section("总体")[0];
    assert_eq!(
        totals[..7],
        [
            issued_total.to_string(),
            tickets_served.to_string(),
            rated.to_string(),
            totals[3].clone(),
            bad_total.to_string(),
            percent_text(in_time_total, bad_total),
            (bad_total - in_time_total - late_total).to_string(),
        ]
    );
    let clerk_rows = section("按人员");
    for (staff, e) in &by_clerk {
        let row = clerk_rows.iter().find(|r| r[0].ends_with(&format!("（{staff}）"))).unwrap();
        let levels = e.ratings.iter().map(u32::to_string).collect::<Vec<_>>().join("/");
        let replies = format!("{}/{}（{}）", e.in_time, e.bad, percent_text(e.in_time, e.bad));
        assert_eq!(
            [&row[1], &row[2], &row[3], &row[4], &row[6], &row[7], &row[8]],
            [
                &e.served.to_string(),
                &minutes_text(e.wait()),
                &minutes_text(e.handling()),
                &e.accepted.to_string(),
                &e.notices.to_string(),
                &levels,
                &replies
            ],
            "{staff}'s row"
        );
    }
    let window_rows = section("按窗口");
    for (window, e) in &by_window {
        let row = window_rows.iter().find(|r| r[0].starts_with(&format!("{window}号 "))).unwrap();
        assert_eq!([&row[1], &row[2]], [&e.served.to_string(), &minutes_text(e.wait())], "window {window}'s row");
    }
    s.stop().await;
}
