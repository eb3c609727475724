//! A synthetic month through the real server (#17): the generator shared by the month report test
//! (tests/api/month.rs) and the board's render test (tests/terminal/board_month.rs). Days of
//! tickets issued at the kiosk, called, served or missed at the six windows, rated at each
//! window's evaluator, and each window's accepted cases and one-time notices uploaded from its
//! log; the server's clock is the test's. It returns what it did, fact by fact, in the order it
//! did it: a test works out what to expect from these, never from the domain.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use bianmin::api::RecordEnvelope;
use bianmin::api::hall::RateTicket;
use bianmin::api::queue::IssueTicket;
use bianmin::client::ApiClient;
use bianmin::domain::applicant::{Applicant, IdNumber, Phone};
use bianmin::domain::case::MaterialCheck;
use bianmin::domain::center::Post;
use bianmin::domain::intake::{self, Opening};
use bianmin::domain::rating::RatingLevel;
use bianmin::domain::record::RecordBody;
use bianmin::domain::staff::Role;
use bianmin::domain::time::china_offset;
use bianmin::server;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use futures_util::future::join_all;
use uuid::Uuid;

use super::server::{TestServer, signed_in_client};

/// The six windows of the sample center, their A holder, and the category issued for each.
pub const WINDOWS: [(u32, &str, char); 6] =
    [(1, "s001", 'A'), (2, "s003", 'B'), (3, "s004", 'C'), (4, "s005", 'D'), (5, "s006", 'E'), (6, "s007", 'F')];

pub fn at(day: NaiveDate, minutes_after_midnight: i64) -> DateTime<Utc> {
    china_offset().from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap()).unwrap().with_timezone(&Utc)
        + Duration::minutes(minutes_after_midnight)
}

pub fn set(s: &TestServer, t: DateTime<Utc>) {
    s.clock.0.store(t.timestamp(), Ordering::SeqCst);
}

pub async fn device(s: &TestServer, role: Role, window: Option<u32>) -> ApiClient {
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
pub struct Plan {
    pub call: i64,
    /// `None`: the applicant does not come (过号).
    pub handling: Option<i64>,
    pub rating: Option<RatingLevel>,
}

pub fn plan(day: usize, round: u32, window: u32) -> Plan {
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

/// One thing that happened to a called ticket, in the order the generator saw the replies.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    /// Served at `window` by its A holder `staff`: waited `waited_s` from issue to call, handled
    /// for `handling_min` minutes, and rated (the rating's id) or not.
    Served {
        day: usize,
        window: u32,
        staff: &'static str,
        category: char,
        waited_s: i64,
        handling_min: i64,
        rating: Option<(RatingLevel, Uuid)>,
    },
    /// Called and not there (过号).
    NoShow { category: char },
}

/// What a window uploaded after a day's queue: one accepted case, and a notice given or not.
#[derive(Debug, Clone, Copy)]
pub struct Uploaded {
    pub window: u32,
    pub staff: &'static str,
    pub notice: bool,
}

/// What the generator did.
#[derive(Debug, Default)]
pub struct Month {
    /// Tickets issued, per category.
    pub issued: BTreeMap<char, u32>,
    pub outcomes: Vec<Outcome>,
    pub uploaded: Vec<Uploaded>,
}

/// Runs `rounds` rounds (every 20 minutes from 08:30, each window issuing, calling and serving or
/// missing one ticket) on each of `days`, then each window's uploads of the day at 16:00.
pub async fn build(s: &TestServer, days: &[NaiveDate], rounds: u32) -> Month {
    let mut month = Month::default();
    set(s, at(days[0], 8 * 60));
    let kiosk = device(s, Role::Kiosk, None).await;
    let mut evaluators = Vec::new();
    for (w, _, _) in WINDOWS {
        evaluators.push(device(s, Role::Evaluator, Some(w)).await);
    }
    let calendar = bianmin::assets::bundled_calendar().unwrap();
    let catalogue = bianmin::assets::bundled_catalogue().unwrap();
    let guide = catalogue
        .guides
        .iter()
        .find(|g| g.situations.is_empty() && g.promised_limit_days > 0 && g.materials.len() >= 2)
        .expect("a guide with a time limit and two materials")
        .clone();
    let mut devices: BTreeMap<u32, (Uuid, u64)> = WINDOWS.iter().map(|(w, _, _)| (*w, (Uuid::now_v7(), 0))).collect();

    for (d, day) in days.iter().enumerate() {
        // Sessions last 12 hours: each clerk signs in in the morning.
        set(s, at(*day, 8 * 60));
        let clerks = join_all(WINDOWS.iter().map(|(_, staff, _)| signed_in_client(&s.base, staff))).await;
        for round in 0..rounds {
            let start = 8 * 60 + 30 + 20 * i64::from(round);
            set(s, at(*day, start));
            let requests: Vec<IssueTicket> = WINDOWS.iter().map(|(_, _, c)| IssueTicket::new(*c)).collect();
            let issued = join_all(requests.iter().map(|r| kiosk.issue_ticket(r))).await;
            let mut queued_at: BTreeMap<Uuid, DateTime<Utc>> = BTreeMap::new();
            for (change, (_, _, c)) in issued.into_iter().zip(WINDOWS) {
                let t = change.unwrap().ticket.unwrap();
                queued_at.insert(t.id, at(*day, start));
                *month.issued.entry(c).or_default() += 1;
            }
            // The round as timed steps, each window's in its own order; steps at the same minute
            // go to the server together.
            let plans: Vec<Plan> = WINDOWS.iter().map(|(w, _, _)| plan(d, round, *w)).collect();
            let mut called: Vec<Option<(Uuid, char)>> = vec![None; WINDOWS.len()];
            let mut waited = vec![0i64; WINDOWS.len()];
            for minute in 1..20 {
                let now = at(*day, start + minute);
                set(s, now);
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
                        None => month.outcomes.push(Outcome::NoShow { category }),
                        Some(h) if minute == p.call + 1 + h => month.outcomes.push(Outcome::Served {
                            day: d,
                            window,
                            staff,
                            category,
                            waited_s: waited[i],
                            handling_min: h,
                            rating: p.rating.zip(rated),
                        }),
                        Some(_) => {}
                    }
                }
            }
        }

        // After the queue: each window uploads from its log one accepted case and, every other
        // day, one case told what is missing (a one-time notice).
        set(s, at(*day, 16 * 60));
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
            let notice = (d + i) % 2 == 0;
            if notice {
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
            }
            month.uploaded.push(Uploaded { window: *window, staff, notice });
            uploads.push((i, records));
        }
        let sent = join_all(uploads.into_iter().map(|(i, records)| clerks[i].upload(records))).await;
        for reply in sent {
            reply.unwrap();
        }
    }
    month
}
