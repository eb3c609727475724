//! A synthetic month through the real server (#17, "Done when"): 20 working days of March 2026
//! (the working-day calendar decides which), 6 windows, thousands of tickets issued at the kiosk,
//! called, served or missed at the windows, cases accepted and one-time notices given (uploaded
//! from each window's log), ratings at each window's evaluator, and the follow-ups the bad ones
//! open: some closed in time, some late, some answered only, some never touched. The server's
//! clock is the test's. Then the month report, by the service the CLI calls and by the real
//! binary as CSV, is checked against figures this test keeps from what it did: it never calls
//! `domain::report` to work out what to expect.

use crate::common;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::Ordering;

use bianmin::api::RecordEnvelope;
use bianmin::api::hall::RateTicket;
use bianmin::api::queue::IssueTicket;
use bianmin::client::ApiClient;
use bianmin::domain::applicant::{Applicant, IdNumber, Phone};
use bianmin::domain::attendance::OpeningHours;
use bianmin::domain::case::MaterialCheck;
use bianmin::domain::center::Post;
use bianmin::domain::intake::{self, Opening};
use bianmin::domain::rating::RatingLevel;
use bianmin::domain::record::RecordBody;
use bianmin::domain::report::Period;
use bianmin::domain::staff::Role;
use bianmin::domain::time::china_offset;
use bianmin::server;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use common::server::{TestServer, signed_in_client};
use futures_util::future::join_all;
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");

/// The six windows of the sample center, their A holder, and the category issued for each.
const WINDOWS: [(u32, &str, char); 6] =
    [(1, "s001", 'A'), (2, "s003", 'B'), (3, "s004", 'C'), (4, "s005", 'D'), (5, "s006", 'E'), (6, "s007", 'F')];
/// Rounds per day: every 20 minutes from 08:30, each window calls one ticket (20 x 17 x 6 =
/// 2,040 tickets in the month).
const ROUNDS: u32 = 17;
const DAYS: usize = 20;

fn at(day: NaiveDate, minutes_after_midnight: i64) -> DateTime<Utc> {
    china_offset().from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap()).unwrap().with_timezone(&Utc)
        + Duration::minutes(minutes_after_midnight)
}

fn set(s: &TestServer, t: DateTime<Utc>) {
    s.clock.0.store(t.timestamp(), Ordering::SeqCst);
}

async fn device(s: &TestServer, role: Role, window: Option<u32>) -> ApiClient {
    let now = DateTime::from_timestamp(s.clock.0.load(Ordering::SeqCst), 0).unwrap();
    let granted = server::admin::add_device(s.state.store.as_ref(), "命令行:test", role, window, now).await.unwrap();
    let mut client = s.client();
    client.set_token(Some(granted.token));
    client
}

/// A deterministic scramble of a ticket's place in the month.
fn mix(day: usize, round: u32, window: u32) -> u64 {
    let k = (day as u64) * 1_000 + u64::from(round) * 10 + u64::from(window);
    k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40
}

/// What the test did at one window in one round.
#[derive(Clone, Copy)]
struct Plan {
    call: i64,
    /// `None`: the applicant does not come (过号).
    handling: Option<i64>,
    rating: Option<RatingLevel>,
}

fn plan(day: usize, round: u32, window: u32) -> Plan {
    let m = mix(day, round, window);
    // Window 4 (D only) calls before window 2 (A, B and D), so window 2 never takes window 4's
    // only ticket; the others call whenever.
    let call = match window {
        4 => 1,
        2 => 3 + (m % 3) as i64,
        _ => 1 + (m % 5) as i64,
    };
    let handling = (!m.is_multiple_of(17)).then_some(2 + (m / 17 % 11) as i64);
    let rating = match m / 200 % 20 {
        0 => Some(RatingLevel::VeryDissatisfied),
        1 | 2 => Some(RatingLevel::Dissatisfied),
        3..=5 => Some(RatingLevel::BasicallySatisfied),
        6..=11 => Some(RatingLevel::Satisfied),
        12..=17 => Some(RatingLevel::VerySatisfied),
        _ => None,
    };
    Plan { call, handling, rating: handling.and(rating) }
}

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
    set(&s, at(days[0], 8 * 60));
    let kiosk = device(&s, Role::Kiosk, None).await;
    let mut evaluators = Vec::new();
    for (w, _, _) in WINDOWS {
        evaluators.push(device(&s, Role::Evaluator, Some(w)).await);
    }
    let catalogue = bianmin::assets::bundled_catalogue().unwrap();
    let guide = catalogue
        .guides
        .iter()
        .find(|g| g.situations.is_empty() && g.promised_limit_days > 0 && g.materials.len() >= 2)
        .expect("a guide with a time limit and two materials")
        .clone();

    let mut by_clerk: BTreeMap<&str, Expect> = BTreeMap::new();
    let mut by_window: BTreeMap<u32, Expect> = BTreeMap::new();
    // category -> (issued, served, no-shows)
    let mut by_category: BTreeMap<char, (u32, u32, u32)> = BTreeMap::new();
    // Bad ratings: (rating id, window, clerk, day index, fate).
    let mut bad: Vec<(Uuid, u32, &str, usize, Fate)> = Vec::new();
    let mut issued_total = 0u32;
    let mut devices: BTreeMap<u32, (Uuid, u64)> = WINDOWS.iter().map(|(w, _, _)| (*w, (Uuid::now_v7(), 0))).collect();

    for (d, day) in days.iter().enumerate() {
        // Sessions last 12 hours: each clerk signs in in the morning.
        set(&s, at(*day, 8 * 60));
        let clerks = join_all(WINDOWS.iter().map(|(_, staff, _)| signed_in_client(&s.base, staff))).await;
        for round in 0..ROUNDS {
            let start = 8 * 60 + 30 + 20 * i64::from(round);
            set(&s, at(*day, start));
            let requests: Vec<IssueTicket> = WINDOWS.iter().map(|(_, _, c)| IssueTicket::new(*c)).collect();
            let issued = join_all(requests.iter().map(|r| kiosk.issue_ticket(r))).await;
            let mut queued_at: BTreeMap<Uuid, DateTime<Utc>> = BTreeMap::new();
            for (change, (_, _, c)) in issued.into_iter().zip(WINDOWS) {
                let t = change.unwrap().ticket.unwrap();
                queued_at.insert(t.id, at(*day, start));
                by_category.entry(c).or_default().0 += 1;
                issued_total += 1;
            }
            // The round as timed steps, each window's in its own order; steps at the same minute
            // go to the server together.
            let plans: Vec<Plan> = WINDOWS.iter().map(|(w, _, _)| plan(d, round, *w)).collect();
            let mut called: Vec<Option<(Uuid, char)>> = vec![None; WINDOWS.len()];
            let mut waited = vec![0i64; WINDOWS.len()];
            for minute in 1..20 {
                let now = at(*day, start + minute);
                set(&s, now);
                let due: Vec<usize> = (0..WINDOWS.len())
                    .filter(|i| {
                        let p = plans[*i];
                        let c = p.call;
                        minute == c || minute == c + 1 || p.handling.is_some_and(|h| minute == c + 1 + h)
                    })
                    .collect();
                if due.is_empty() {
                    continue;
                }
                let steps = due.iter().map(|i| {
                    let (window, _, _) = WINDOWS[*i];
                    let p = plans[*i];
                    let clerk = &clerks[*i];
                    let evaluator = &evaluators[*i];
                    let ticket = called[*i];
                    async move {
                        if minute == p.call {
                            let t = clerk.call_next(window).await.unwrap().ticket.unwrap();
                            return (*i, Some((t.id, t.category)), None);
                        }
                        let (id, _) = ticket.unwrap();
                        match p.handling {
                            None => {
                                clerk.no_show(window).await.unwrap();
                                (*i, None, None)
                            }
                            Some(_) if minute == p.call + 1 => {
                                clerk.start_service(window).await.unwrap();
                                (*i, None, None)
                            }
                            Some(_) => {
                                clerk.finish_service(window).await.unwrap();
                                let rated = match p.rating {
                                    Some(level) => {
                                        let rating = RateTicket {
                                            id: Uuid::now_v7(),
                                            ticket_id: id,
                                            level,
                                            reason: if level.is_bad() {
                                                "等候时间长".into()
                                            } else {
                                                String::new()
                                            },
                                        };
                                        evaluator.rate_ticket(window, &rating).await.unwrap();
                                        Some(rating.id)
                                    }
                                    None => None,
                                };
                                (*i, None, rated)
                            }
                        }
                    }
                });
                for (i, got, rated) in join_all(steps).await {
                    let (window, staff, _) = WINDOWS[i];
                    let p = plans[i];
                    if let Some(got) = got {
                        called[i] = Some(got);
                        waited[i] = (now - queued_at[&got.0]).num_seconds();
                        continue;
                    }
                    let (_, category) = called[i].unwrap();
                    match p.handling {
                        None => by_category.entry(category).or_default().2 += 1,
                        Some(h) if minute == p.call + 1 + h => {
                            by_category.entry(category).or_default().1 += 1;
                            for e in [by_clerk.entry(staff).or_default(), by_window.entry(window).or_default()] {
                                e.served += 1;
                                // A ticket's wait counts for whoever finished it (a missed one
                                // belongs to nobody).
                                e.wait_sum += waited[i];
                                e.waits += 1;
                                e.handling_sum += h * 60;
                                e.handlings += 1;
                            }
                            if let (Some(level), Some(id)) = (p.rating, rated) {
                                for e in [by_clerk.entry(staff).or_default(), by_window.entry(window).or_default()] {
                                    e.ratings[level_index(level)] += 1;
                                    e.bad += u32::from(level.is_bad());
                                }
                                if level.is_bad() {
                                    let fate =
                                        [Fate::InTime, Fate::Late, Fate::AnsweredOnly, Fate::Untouched][bad.len() % 4];
                                    bad.push((id, window, staff, d, fate));
                                }
                            }
                        }
                        Some(_) => {}
                    }
                }
            }
        }

        // After the queue: each window uploads from its log one accepted case and, every other
        // day, one case told what is missing (a one-time notice).
        set(&s, at(*day, 16 * 60));
        let mut uploads = Vec::new();
        for (i, (window, staff, _)) in WINDOWS.iter().enumerate() {
            let (device_id, idx) = devices.get_mut(window).unwrap();
            let mut records = Vec::new();
            let mut push = |body: RecordBody| {
                *idx += 1;
                records.push(RecordEnvelope {
                    schema: bianmin::api::RECORD_SCHEMA,
                    device: *device_id,
                    stream: bianmin::domain::record::stream_name(*window, body.family()),
                    idx: *idx,
                    id: Uuid::now_v7(),
                    created_at: at(*day, 16 * 60),
                    author: (*staff).into(),
                    window: *window,
                    post: Post::A,
                    body: serde_json::to_value(&body).unwrap(),
                });
            };
            let opening = Opening { window: *window, post: Post::A, staff_id: staff, ticket: None };
            let mut case = intake::open_case(&guide, None, &opening, Uuid::now_v7(), at(*day, 16 * 60)).unwrap();
            case.applicant = Some(Applicant {
                name: "张三".into(),
                id_number: IdNumber::parse("11010519491231002X").unwrap(),
                phone: Some(Phone::parse("13812345678").unwrap()),
            });
            let materials: Vec<_> = case.checklist.items.iter().map(|i| i.material_id.clone()).collect();
            for material in &materials {
                intake::set_material(&mut case, material, MaterialCheck::Received, None).unwrap();
            }
            let number = format!("QS-{}-{:02}{:02}", day.format("%Y%m%d"), window, 1);
            intake::accept(&mut case, &guide, number, *day, &calendar).unwrap();
            case.new_version(Uuid::now_v7());
            push(RecordBody::CaseSnapshot(Box::new(case)));
            by_clerk.entry(staff).or_default().accepted += 1;
            by_window.entry(*window).or_default().accepted += 1;
            if (d + i) % 2 == 0 {
                let mut told = intake::open_case(&guide, None, &opening, Uuid::now_v7(), at(*day, 16 * 60)).unwrap();
                for (k, material) in materials.iter().enumerate() {
                    let check = if k == 0 { MaterialCheck::Missing } else { MaterialCheck::Received };
                    intake::set_material(&mut told, material, check, None).unwrap();
                }
                let number = format!("GZ-{}-{:02}", day.format("%Y%m%d"), window);
                let notice =
                    intake::give_notice(&mut told, &[], number, Uuid::now_v7(), staff, at(*day, 16 * 60), None)
                        .unwrap();
                told.new_version(Uuid::now_v7());
                push(RecordBody::CaseSnapshot(Box::new(told)));
                push(RecordBody::NoticeGiven(Box::new(notice)));
                by_clerk.entry(staff).or_default().notices += 1;
            }
            uploads.push((i, records));
        }
        let sent = join_all(uploads.into_iter().map(|(i, records)| clerks[i].upload(records))).await;
        for reply in sent {
            reply.unwrap();
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
