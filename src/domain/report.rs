//! The supervision figures of clause 8 (and the periodic assessment of 5.1.1.5): per clerk, per
//! window, per guide and per queue category, over a period of China-time days. Every figure is
//! computed here and only here; the board, `bianmin report` and its CSV and HTML all take a
//! [`Report`].
//!
//! Definitions, stated once:
//! - A ticket belongs to the clerk who finished it (the `办结` line of its history) and to the
//!   window it was finished at; its wait (`queue_stats::counted_wait_seconds`, the one rule of
//!   today's figures too) and handling time are those of [`queue_stats`].
//! - A case belongs to the clerk who opened it and to its window; it counts as accepted in the
//!   period when its acceptance day is in the period; 即办 means promised for the day of
//!   acceptance (0 working days).
//! - A case is overdue when its deadline runs and the promised day is before `today`.
//! - Hours on post: the time a clerk acted for a window (A on duty, or B covering, from the
//!   window's handovers) that falls inside opening hours on working days.
//!
//! [`queue_stats`]: super::queue_stats

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::attendance::OpeningHours;
use super::attendance::duty_timeline;
use super::calendar::WorkCalendar;
use super::case::Case;
use super::center::{Post, Window};
use super::follow_up::{FollowUp, ReplyRate};
use super::handover::Handover;
use super::notice::OneTimeNotice;
use super::queue_stats::{counted_wait_seconds, handling_seconds};
use super::rating::{Rating, RatingCounts};
use super::ticket::{QueueAction, Ticket, TicketStatus};
use super::time::{china_date, china_offset};

/// Inclusive range of China-time days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn day(day: NaiveDate) -> Self {
        Self { from: day, to: day }
    }

    /// The month `day` falls in, from its first to its last day.
    pub fn month_of(day: NaiveDate) -> Self {
        let first = day.with_day(1).unwrap_or(day);
        let next = if first.month() == 12 {
            NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
        };
        let last = next.and_then(|d| d.pred_opt()).unwrap_or(first);
        Self { from: first, to: last }
    }

    /// The days `from` to `to`; a Chinese message when the range runs backwards.
    pub fn range(from: NaiveDate, to: NaiveDate) -> Result<Self, String> {
        if from > to {
            return Err(format!("开始日期 {from} 晚于结束日期 {to}，请调换后重试"));
        }
        Ok(Self { from, to })
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    pub fn contains_time(&self, at: DateTime<Utc>) -> bool {
        self.contains(china_date(at))
    }
}

/// Everything a report is computed from, as the store holds it.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    pub windows: &'a [Window],
    pub tickets: &'a [Ticket],
    pub cases: &'a [Case],
    pub notices: &'a [OneTimeNotice],
    pub ratings: &'a [Rating],
    pub follow_ups: &'a [FollowUp],
    /// Every handover of the center, any period: the duty state at the period's start depends on
    /// earlier ones.
    pub handovers: &'a [Handover],
}

/// Running sums of wait and handling seconds, averaged at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Times {
    waits: (i64, u32),
    handling: (i64, u32),
}

impl Times {
    fn add(&mut self, t: &Ticket) {
        if let Some(w) = counted_wait_seconds(t) {
            self.waits = (self.waits.0 + w, self.waits.1 + 1);
        }
        if let Some(h) = handling_seconds(t) {
            self.handling = (self.handling.0 + h, self.handling.1 + 1);
        }
    }

    fn average((sum, n): (i64, u32)) -> Option<u32> {
        (n > 0).then(|| (sum / i64::from(n)) as u32)
    }
}

/// Figures of one clerk (按人).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClerkFigures {
    pub staff: String,
    pub tickets_served: u32,
    pub average_wait_s: Option<u32>,
    pub average_handling_s: Option<u32>,
    pub cases_accepted: u32,
    /// Of the accepted cases, those settled the same day (即办件).
    pub cases_immediate: u32,
    pub notices_given: u32,
    pub ratings: RatingCounts,
    pub replies: ReplyRate,
    pub minutes_on_post: u32,
    /// Handovers this clerk wrote as A leaving or B handing back.
    pub handovers_written: u32,
    /// Emergency takeovers (紧急顶岗) this clerk made as B.
    pub emergency_takeovers: u32,
}

impl ClerkFigures {
    /// 即办率 in per mille, `None` without accepted cases.
    pub fn immediate_per_mille(&self) -> Option<u32> {
        super::text::per_mille(self.cases_immediate, self.cases_accepted)
    }
}

/// Figures of one window (按窗口).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowFigures {
    pub window: u32,
    pub name: String,
    pub tickets_served: u32,
    pub average_wait_s: Option<u32>,
    pub average_handling_s: Option<u32>,
    pub cases_accepted: u32,
    pub cases_overdue: u32,
    pub ratings: RatingCounts,
    pub replies: ReplyRate,
    /// Minutes B covered for A (B岗顶岗) inside opening hours.
    pub minutes_b_covering: u32,
}

/// Figures of one guide (按事项).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuideFigures {
    pub code: String,
    pub name: String,
    pub cases_opened: u32,
    pub cases_accepted: u32,
    pub cases_overdue: u32,
}

/// Figures of one queue category (按类别), by the letter the ticket was issued under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryFigures {
    pub category: char,
    pub issued: u32,
    pub served: u32,
    /// Times a ticket of this category was marked 过号.
    pub no_shows: u32,
    /// Tickets moved to another category (转移).
    pub transferred_out: u32,
    pub average_wait_s: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub period: Period,
    /// The day the report was made: overdue and open follow-ups are as of this day.
    pub as_of: NaiveDate,
    pub tickets_issued: u32,
    pub tickets_served: u32,
    pub ratings: RatingCounts,
    pub replies: ReplyRate,
    pub clerks: Vec<ClerkFigures>,
    pub windows: Vec<WindowFigures>,
    pub guides: Vec<GuideFigures>,
    pub categories: Vec<CategoryFigures>,
}

/// The clerk who finished a ticket, from its history.
fn finisher(t: &Ticket) -> Option<&str> {
    t.history.iter().rev().find(|e| e.action == QueueAction::Finished).map(|e| e.by.as_str())
}

fn is_overdue(case: &Case, today: NaiveDate) -> bool {
    case.status.deadline_runs() && case.deadline.is_some_and(|d| d.date < today)
}

fn accepted_in(case: &Case, period: &Period) -> bool {
    case.accepted_on.is_some_and(|d| period.contains(d))
}

/// Builds the report of `period`. `now` is the server's time: overdue cases and open follow-ups
/// are judged on its China-time day, and hours on post stop there.
pub fn build(
    sources: Sources<'_>,
    period: Period,
    hours: &OpeningHours,
    calendar: &WorkCalendar,
    now: DateTime<Utc>,
) -> Report {
    let today = china_date(now);
    let tickets: Vec<&Ticket> = sources.tickets.iter().filter(|t| period.contains(t.day)).collect();
    let served: Vec<&Ticket> = tickets.iter().copied().filter(|t| t.status == TicketStatus::Done).collect();
    let ratings: Vec<&Rating> = sources.ratings.iter().filter(|r| period.contains(r.day())).collect();
    let replies_of = |keep: &dyn Fn(&Rating) -> bool| {
        let bad: Vec<_> = ratings.iter().filter(|r| r.level.is_bad() && keep(r)).map(|r| r.id).collect();
        ReplyRate::of(&bad, sources.follow_ups, today)
    };
    let on_post = minutes_on_post(sources.windows, sources.handovers, period, hours, calendar, now);

    // Clerks: everyone who acted in the period, in staff-id order.
    let mut clerks: BTreeMap<&str, ClerkFigures> = BTreeMap::new();
    let blank = |staff: &str| ClerkFigures {
        staff: staff.to_string(),
        tickets_served: 0,
        average_wait_s: None,
        average_handling_s: None,
        cases_accepted: 0,
        cases_immediate: 0,
        notices_given: 0,
        ratings: RatingCounts::default(),
        replies: ReplyRate::of(&[], &[], today),
        minutes_on_post: 0,
        handovers_written: 0,
        emergency_takeovers: 0,
    };
    let mut clerk_times: BTreeMap<&str, Times> = BTreeMap::new();
    for t in &served {
        if let Some(by) = finisher(t) {
            clerks.entry(by).or_insert_with(|| blank(by)).tickets_served += 1;
            clerk_times.entry(by).or_default().add(t);
        }
    }
    for case in sources.cases.iter().filter(|c| accepted_in(c, &period)) {
        let c = clerks.entry(case.opened_by.as_str()).or_insert_with(|| blank(&case.opened_by));
        c.cases_accepted += 1;
        if case.deadline.is_some_and(|d| Some(d.date) == case.accepted_on) {
            c.cases_immediate += 1;
        }
    }
    for notice in sources.notices.iter().filter(|n| period.contains_time(n.given_at)) {
        clerks.entry(notice.given_by.as_str()).or_insert_with(|| blank(&notice.given_by)).notices_given += 1;
    }
    for r in &ratings {
        clerks.entry(r.staff.as_str()).or_insert_with(|| blank(&r.staff)).ratings.add(r.level);
    }
    // A handover refused a duty switch or withdrawn by its writer did not hand anything over.
    for h in sources
        .handovers
        .iter()
        .filter(|h| period.contains_time(h.written_at) && h.duty_refused.is_none() && h.withdrawn.is_none())
    {
        let writer = if h.written_by.is_empty() { h.from_staff.as_str() } else { h.written_by.as_str() };
        let c = clerks.entry(writer).or_insert_with(|| blank(writer));
        if h.emergency {
            c.emergency_takeovers += 1;
        } else {
            c.handovers_written += 1;
        }
    }
    for ((staff, _window), minutes) in &on_post {
        clerks.entry(staff.as_str()).or_insert_with(|| blank(staff)).minutes_on_post += minutes;
    }
    for (staff, c) in clerks.iter_mut() {
        let times = clerk_times.get(staff).copied().unwrap_or_default();
        c.average_wait_s = Times::average(times.waits);
        c.average_handling_s = Times::average(times.handling);
        c.replies = replies_of(&|r: &Rating| r.staff == *staff);
    }

    let windows = sources
        .windows
        .iter()
        .map(|w| {
            let mut times = Times::default();
            let mine: Vec<&&Ticket> = served.iter().filter(|t| t.window == Some(w.number)).collect();
            mine.iter().for_each(|t| times.add(t));
            let mut rated = RatingCounts::default();
            ratings.iter().filter(|r| r.window == w.number).for_each(|r| rated.add(r.level));
            let cases = sources.cases.iter().filter(|c| c.window == w.number);
            WindowFigures {
                window: w.number,
                name: w.name.clone(),
                tickets_served: mine.len() as u32,
                average_wait_s: Times::average(times.waits),
                average_handling_s: Times::average(times.handling),
                cases_accepted: cases.clone().filter(|c| accepted_in(c, &period)).count() as u32,
                cases_overdue: cases.filter(|c| is_overdue(c, today)).count() as u32,
                ratings: rated,
                replies: replies_of(&|r: &Rating| r.window == w.number),
                minutes_b_covering: on_post
                    .iter()
                    .filter(|((staff, window), _)| *window == w.number && *staff == w.b_holder)
                    .map(|(_, m)| m)
                    .sum(),
            }
        })
        .collect();

    let mut guides: BTreeMap<&str, GuideFigures> = BTreeMap::new();
    for case in sources.cases {
        let opened = period.contains_time(case.opened_at);
        let accepted = accepted_in(case, &period);
        let overdue = is_overdue(case, today);
        if !(opened || accepted || overdue) {
            continue;
        }
        let g = guides.entry(case.guide_code.as_str()).or_insert_with(|| GuideFigures {
            code: case.guide_code.clone(),
            name: case.guide_name.clone(),
            cases_opened: 0,
            cases_accepted: 0,
            cases_overdue: 0,
        });
        g.cases_opened += u32::from(opened);
        g.cases_accepted += u32::from(accepted);
        g.cases_overdue += u32::from(overdue);
    }

    let mut categories: BTreeMap<char, (CategoryFigures, Times)> = BTreeMap::new();
    for t in &tickets {
        let letter = t.number.category;
        let (c, times) = categories.entry(letter).or_insert_with(|| {
            let figures = CategoryFigures {
                category: letter,
                issued: 0,
                served: 0,
                no_shows: 0,
                transferred_out: 0,
                average_wait_s: None,
            };
            (figures, Times::default())
        });
        c.issued += 1;
        c.no_shows += t.no_shows;
        c.transferred_out += u32::from(t.category != letter);
        if t.status == TicketStatus::Done {
            c.served += 1;
            times.add(t);
        }
    }

    let mut all = RatingCounts::default();
    ratings.iter().for_each(|r| all.add(r.level));
    Report {
        period,
        as_of: today,
        tickets_issued: tickets.iter().filter(|t| t.status != TicketStatus::Booked).count() as u32,
        tickets_served: served.len() as u32,
        ratings: all,
        replies: replies_of(&|_| true),
        clerks: clerks.into_values().collect(),
        windows,
        guides: guides.into_values().collect(),
        categories: categories
            .into_values()
            .map(|(mut c, times)| {
                c.average_wait_s = Times::average(times.waits);
                c
            })
            .collect(),
    }
}

/// Minutes each (clerk, window) acted inside opening hours of working days in `period`, up to
/// `now`.
fn minutes_on_post(
    windows: &[Window],
    handovers: &[Handover],
    period: Period,
    hours: &OpeningHours,
    calendar: &WorkCalendar,
    now: DateTime<Utc>,
) -> BTreeMap<(String, u32), u32> {
    let mut out = BTreeMap::new();
    for w in windows {
        let timeline = duty_timeline(w, handovers);
        let mut day = period.from;
        while day <= period.to {
            if calendar.is_working_day(day) {
                for &(from, to) in &hours.stretches {
                    let at =
                        |t| day.and_time(t).and_local_timezone(china_offset()).single().map(|d| d.with_timezone(&Utc));
                    let (Some(from), Some(to)) = (at(from), at(to)) else { continue };
                    let to = to.min(now);
                    if from >= to {
                        continue;
                    }
                    for (post, start, end) in timeline.spans(from, to) {
                        let staff = match post {
                            Post::A => &w.a_holder,
                            Post::B => &w.b_holder,
                        };
                        *out.entry((staff.clone(), w.number)).or_insert(0) += (end - start).num_minutes() as u32;
                    }
                }
            }
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::{CaseStatus, Checklist};
    use crate::domain::center::WindowKind;
    use crate::domain::follow_up::{FollowUpAction, FollowUpStep};
    use crate::domain::handover::AwayReason;
    use crate::domain::queue::{Step, TicketRequest, apply, issue};
    use crate::domain::rating::RatingLevel;
    use crate::domain::ticket::Priority;
    use chrono::TimeZone;
    use uuid::Uuid;

    /// China time on `day` of December 2026 (the 7th is a Monday).
    fn at(day: u32, hhmm: &str) -> DateTime<Utc> {
        let (h, m) = hhmm.split_once(':').unwrap();
        china_offset()
            .with_ymd_and_hms(2026, 12, day, h.parse().unwrap(), m.parse().unwrap(), 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn d(month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, month, day).unwrap()
    }

    fn windows() -> Vec<Window> {
        let w = |number: u32, a: &str, b: &str, categories: Vec<char>| Window {
            number,
            name: format!("综合受理{number}"),
            kind: WindowKind::ComprehensiveAcceptance,
            a_holder: a.into(),
            b_holder: b.into(),
            categories,
        };
        vec![w(1, "s001", "s002", vec!['A']), w(2, "s003", "s004", vec!['A', 'B'])]
    }

    /// Issues a ticket at `hhmm` on the 7th and takes `steps` (step, by, time) in order.
    fn ticket(number: &str, issued: &str, steps: &[(Step, &str, &str)]) -> Ticket {
        let n: crate::domain::ticket::TicketNumber = number.parse().unwrap();
        let request = TicketRequest {
            category: n.category,
            priority: Priority::Normal,
            guide_code: None,
            note: None,
            slot: None,
        };
        let mut t = issue(Uuid::now_v7(), n, &request, "d001", at(7, issued));
        for (step, by, when) in steps {
            t = apply(&t, step, by, at(7, when), None).unwrap_or_else(|e| panic!("{number} {step:?}: {e}"));
        }
        t
    }

    fn case(
        window: u32,
        by: &str,
        guide: &str,
        opened: DateTime<Utc>,
        status: CaseStatus,
        accepted: Option<(NaiveDate, NaiveDate)>,
    ) -> Case {
        Case {
            id: Uuid::now_v7(),
            case_number: accepted.map(|_| "BM-1".into()),
            guide_code: guide.into(),
            guide_name: format!("事项{guide}"),
            guide_revision: 1,
            situation_id: None,
            window,
            ticket: None,
            applicant: None,
            checklist: Checklist::default(),
            status,
            opened_at: opened,
            opened_by: by.into(),
            post: Post::A,
            accepted_on: accepted.map(|(on, _)| on),
            deadline: accepted.map(|(_, due)| crate::domain::calendar::Deadline { date: due, provisional: false }),
            version: Default::default(),
            agent: None,
            ending: None,
        }
    }

    fn rating(window: u32, staff: &str, level: RatingLevel, hhmm: &str) -> Rating {
        Rating {
            id: Uuid::now_v7(),
            window,
            staff: staff.into(),
            case_id: None,
            level,
            comment: String::new(),
            rated_at: at(7, hhmm),
            day: None,
            reply: None,
        }
    }

    fn handover(window: u32, from_post: Post, from: &str, to: &str, hhmm: &str, emergency: bool) -> Handover {
        Handover {
            id: Uuid::now_v7(),
            window,
            from_post,
            from_staff: from.into(),
            to_staff: to.into(),
            written_at: at(7, hhmm),
            open_cases: vec![],
            parked_tickets: vec![],
            pending: vec![],
            notes: "交接".into(),
            expected_return: None,
            emergency,
            acknowledged: None,
            reason: (from_post == Post::A).then_some(AwayReason::Meeting),
            written_by: if emergency { to.into() } else { from.into() },
            duty_refused: None,
            withdrawn: None,
        }
    }

    /// One hand-built Monday with known answers: a B岗顶岗 stretch at window 1, an emergency
    /// takeover at window 2, a no-show that came back, a transfer, a parked ticket, an overdue
    /// case, a same-day case and two bad ratings (one closed in time, one open).
    #[test]
    fn a_hand_built_day_gives_the_figures_worked_out_by_hand() {
        use Step::*;
        let windows = windows();
        let tickets = vec![
            ticket(
                "A001",
                "08:30",
                &[
                    (Call { window: 1 }, "s001", "08:40"),
                    (Start { window: 1 }, "s001", "08:41"),
                    (Finish { window: 1 }, "s001", "08:51"),
                ],
            ),
            ticket(
                "A002",
                "08:35",
                &[
                    (Call { window: 1 }, "s001", "08:50"),
                    (NoShow { window: 1 }, "s001", "08:55"),
                    (Return, "d001", "09:00"),
                    (Call { window: 1 }, "s002", "10:30"),
                    (Start { window: 1 }, "s002", "10:31"),
                    (Finish { window: 1 }, "s002", "10:41"),
                ],
            ),
            ticket(
                "A003",
                "09:00",
                &[
                    (Call { window: 1 }, "s001", "09:05"),
                    (Transfer { window: 1, category: 'B', to_window: None }, "s001", "09:06"),
                    (Call { window: 2 }, "s003", "09:30"),
                    (Start { window: 2 }, "s003", "09:30"),
                    (Finish { window: 2 }, "s003", "09:50"),
                ],
            ),
            ticket(
                "B001",
                "09:10",
                &[
                    (Call { window: 2 }, "s003", "09:20"),
                    (Start { window: 2 }, "s003", "09:21"),
                    (Park { window: 2 }, "s003", "09:40"),
                ],
            ),
            ticket("B002", "09:15", &[]),
        ];
        let cases = vec![
            case(1, "s001", "G1", at(7, "08:45"), CaseStatus::Accepted, Some((d(12, 7), d(12, 10)))),
            case(1, "s001", "G1", at(7, "10:45"), CaseStatus::Closed, Some((d(12, 7), d(12, 7)))),
            // Accepted on 20 November, promised for 1 December, still not delivered: overdue.
            case(
                2,
                "s003",
                "G2",
                Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap(),
                CaseStatus::Accepted,
                Some((d(11, 20), d(12, 1))),
            ),
            case(2, "s003", "G2", at(7, "09:25"), CaseStatus::AwaitingMaterials, None),
        ];
        let notices = vec![OneTimeNotice {
            id: Uuid::now_v7(),
            number: "GZ02-20261207-0001".into(),
            case_id: cases[3].id,
            missing: vec![],
            given_at: at(7, "09:35"),
            given_by: "s003".into(),
            window: 2,
            repeat_reason: None,
        }];
        let ratings = vec![
            rating(1, "s001", RatingLevel::Satisfied, "08:52"),
            rating(1, "s002", RatingLevel::Dissatisfied, "10:42"),
            rating(2, "s003", RatingLevel::VeryDissatisfied, "09:51"),
            rating(2, "s003", RatingLevel::VerySatisfied, "09:52"),
        ];
        let calendar = WorkCalendar::default();
        let mut closed = FollowUp::open(&ratings[1], &calendar, 5).unwrap();
        closed.record(FollowUpStep {
            at: at(7, "15:00"),
            by: "d900".into(),
            action: FollowUpAction::ResolvedOnSpot { what: "当场解释".into() },
        });
        let follow_ups = vec![closed, FollowUp::open(&ratings[2], &calendar, 5).unwrap()];
        let handovers = vec![
            handover(1, Post::A, "s001", "s002", "10:00", false),
            handover(1, Post::B, "s002", "s001", "11:00", false),
            handover(2, Post::A, "s003", "s004", "14:00", true),
        ];
        let sources = Sources {
            windows: &windows,
            tickets: &tickets,
            cases: &cases,
            notices: &notices,
            ratings: &ratings,
            follow_ups: &follow_ups,
            handovers: &handovers,
        };
        let report = build(sources, Period::day(d(12, 7)), &OpeningHours::default(), &calendar, at(7, "16:00"));

        assert_eq!((report.tickets_issued, report.tickets_served), (5, 3));
        assert_eq!(report.ratings.total(), 4);
        assert_eq!(report.ratings.satisfaction_per_mille(), Some(500));
        assert_eq!((report.replies.bad_ratings, report.replies.replied_in_time), (2, 1));

        let clerk = |id: &str| report.clerks.iter().find(|c| c.staff == id).unwrap_or_else(|| panic!("{id}"));
        let s001 = clerk("s001");
        assert_eq!((s001.tickets_served, s001.average_wait_s, s001.average_handling_s), (1, Some(600), Some(600)));
        assert_eq!((s001.cases_accepted, s001.cases_immediate, s001.immediate_per_mille()), (2, 1, Some(500)));
        // 08:30-10:00, 11:00-12:00 and 14:00-16:00 (the report is made at 16:00).
        assert_eq!((s001.minutes_on_post, s001.handovers_written, s001.emergency_takeovers), (90 + 60 + 120, 1, 0));
        assert_eq!(s001.replies.per_mille(), None, "no bad rating, nothing to reply to");
        let s002 = clerk("s002");
        // A002 rejoined the line at 09:00 after its no-show and was called at 10:30.
        assert_eq!((s002.tickets_served, s002.average_wait_s, s002.average_handling_s), (1, Some(5400), Some(600)));
        assert_eq!((s002.minutes_on_post, s002.handovers_written), (60, 1));
        assert_eq!((s002.ratings.bad(), s002.replies.per_mille()), (1, Some(1000)));
        let s003 = clerk("s003");
        assert_eq!((s003.tickets_served, s003.average_wait_s, s003.average_handling_s), (1, Some(1800), Some(1200)));
        assert_eq!((s003.cases_accepted, s003.notices_given, s003.minutes_on_post), (0, 1, 210));
        assert_eq!(
            (s003.ratings.of(RatingLevel::VerySatisfied), s003.ratings.bad(), s003.replies.per_mille()),
            (1, 1, Some(0))
        );
        let s004 = clerk("s004");
        assert_eq!((s004.emergency_takeovers, s004.minutes_on_post, s004.tickets_served), (1, 120, 0));
        assert_eq!(
            report.clerks.iter().map(|c| c.staff.as_str()).collect::<Vec<_>>(),
            ["s001", "s002", "s003", "s004"]
        );

        let (w1, w2) = (&report.windows[0], &report.windows[1]);
        assert_eq!((w1.tickets_served, w1.average_wait_s, w1.average_handling_s), (2, Some(3000), Some(600)));
        assert_eq!((w1.cases_accepted, w1.cases_overdue, w1.minutes_b_covering), (2, 0, 60));
        assert_eq!((w1.ratings.total(), w1.replies.per_mille()), (2, Some(1000)));
        assert_eq!((w2.tickets_served, w2.cases_accepted, w2.cases_overdue, w2.minutes_b_covering), (1, 0, 1, 120));
        assert_eq!(w2.replies.per_mille(), Some(0));

        let guide = |code: &str| report.guides.iter().find(|g| g.code == code).unwrap();
        assert_eq!((guide("G1").cases_opened, guide("G1").cases_accepted, guide("G1").cases_overdue), (2, 2, 0));
        assert_eq!((guide("G2").cases_opened, guide("G2").cases_accepted, guide("G2").cases_overdue), (1, 0, 1));

        let (a, b) = (&report.categories[0], &report.categories[1]);
        assert_eq!((a.category, a.issued, a.served, a.no_shows, a.transferred_out), ('A', 3, 3, 1, 1));
        assert_eq!(a.average_wait_s, Some((600 + 5400 + 1800) / 3));
        assert_eq!((b.category, b.issued, b.served, b.average_wait_s), ('B', 2, 0, None), "B001 parked, B002 waiting");
    }

    /// One rule of "wait" (`queue_stats::counted_wait_seconds`): the report's figures of a window
    /// and the day's figures of that window (the board, the clerk's F2) agree on the same
    /// tickets, whatever else happened to them: at the window now, a no-show, parked.
    #[test]
    fn the_report_and_the_days_figures_agree_on_the_same_tickets() {
        use Step::*;
        let windows = windows();
        let tickets = vec![
            ticket(
                "A001",
                "08:30",
                &[
                    (Call { window: 1 }, "s001", "08:40"),
                    (Start { window: 1 }, "s001", "08:41"),
                    (Finish { window: 1 }, "s001", "08:51"),
                ],
            ),
            ticket("A002", "08:35", &[(Call { window: 1 }, "s001", "09:35"), (Start { window: 1 }, "s001", "09:36")]),
            ticket("A003", "08:40", &[(Call { window: 1 }, "s001", "08:55"), (NoShow { window: 1 }, "s001", "09:00")]),
            ticket(
                "B001",
                "09:10",
                &[
                    (Call { window: 2 }, "s003", "09:20"),
                    (Start { window: 2 }, "s003", "09:21"),
                    (Park { window: 2 }, "s003", "09:40"),
                ],
            ),
            ticket(
                "B002",
                "09:15",
                &[
                    (Call { window: 2 }, "s003", "09:45"),
                    (Start { window: 2 }, "s003", "09:46"),
                    (Finish { window: 2 }, "s003", "09:56"),
                ],
            ),
        ];
        let sources = Sources {
            windows: &windows,
            tickets: &tickets,
            cases: &[],
            notices: &[],
            ratings: &[],
            follow_ups: &[],
            handovers: &[],
        };
        let now = at(7, "10:00");
        let report = build(sources, Period::day(d(12, 7)), &OpeningHours::default(), &WorkCalendar::default(), now);
        for w in &report.windows {
            let day = crate::domain::queue_stats::day_stats(&tickets, Some(w.window), now);
            assert_eq!(
                (w.tickets_served, w.average_wait_s, w.average_handling_s),
                (day.served, day.average_wait_s, day.average_handling_s),
                "window {}",
                w.window
            );
        }
        assert_eq!(report.windows[0].average_wait_s, Some(600), "A001 only: served");
        assert_eq!(report.windows[1].average_wait_s, Some(1800), "B002 only: served");
    }

    #[test]
    fn the_duty_timeline_follows_handovers_and_ignores_refused_ones() {
        let w = &windows()[0];
        let mut refused = handover(1, Post::A, "s001", "s002", "09:00", false);
        refused.duty_refused = Some("会使窗口无人值守".into());
        let hs = vec![
            handover(1, Post::B, "s002", "s001", "11:00", false),
            refused,
            handover(1, Post::A, "s001", "s002", "10:00", false),
        ];
        let mut withdrawn = handover(1, Post::A, "s001", "s002", "14:00", false);
        withdrawn.withdrawn = Some(crate::domain::handover::Withdrawal { by: "s001".into(), at: at(7, "14:30") });
        let hs = [hs, vec![withdrawn]].concat();
        let t = duty_timeline(w, &hs);
        assert_eq!(
            t.spans(at(7, "14:00"), at(7, "15:00")),
            vec![(Post::B, at(7, "14:00"), at(7, "14:30")), (Post::A, at(7, "14:30"), at(7, "15:00"))],
            "a withdrawn handover: B until the withdrawal, then A again"
        );
        assert_eq!(t.acting_at(at(7, "09:30")), Some(Post::A));
        assert_eq!(t.acting_at(at(7, "10:30")), Some(Post::B));
        assert_eq!(
            t.spans(at(7, "08:30"), at(7, "12:00")),
            vec![
                (Post::A, at(7, "08:30"), at(7, "10:00")),
                (Post::B, at(7, "10:00"), at(7, "11:00")),
                (Post::A, at(7, "11:00"), at(7, "12:00"))
            ]
        );
    }
}
