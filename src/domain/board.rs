//! The director's board (中心负责人, clause 8): the center now, computed from what the server
//! holds. Every figure calls the rule that owns it: a window's standing and 空岗 are
//! [`super::attendance::window_standing`], a case's urgency [`super::intake::urgency`], the
//! satisfaction rate [`super::rating::Satisfaction`], the reply rate [`ReplyRate`]. Nothing here
//! restates them; this only selects and groups.

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::attendance::{OpeningHours, WindowFacts, WindowStanding, window_standing};
use super::calendar::WorkCalendar;
use super::case::Case;
use super::center::{Post, Window};
use super::follow_up::{FollowUp, FollowUpState, ReplyRate};
use super::handover::DutyState;
use super::inquiry::{Inquiry, InquiryOutcome};
use super::intake::{Urgency, urgency};
use super::rating::{Rating, RatingCounts, Satisfaction};
use super::ticket::{QueueAction, QueueCategory, Ticket, TicketStatus};
use super::time::{china_date, to_china};

/// What the board is computed from, as the server holds it at `now`.
#[derive(Debug, Clone, Copy)]
pub struct BoardSources<'a> {
    pub windows: &'a [Window],
    /// Each window's duty now.
    pub duties: &'a [(u32, DutyState)],
    /// Each paused window's reason (暂停服务).
    pub pauses: &'a [(u32, String)],
    /// When the server last heard from a clerk's terminal at a window: (window, staff, at).
    pub presence: &'a [(u32, String, DateTime<Utc>)],
    pub categories: &'a [QueueCategory],
    /// Today's tickets, finished ones too.
    pub tickets: &'a [Ticket],
    /// Cases held, in any state.
    pub cases: &'a [Case],
    /// The applicants' ratings of the month so far.
    pub ratings: &'a [Rating],
    pub follow_ups: &'a [FollowUp],
    /// Today's inquiries at the guidance desk.
    pub inquiries: &'a [Inquiry],
    /// The department (实施主体) of each guide, by guide code.
    pub departments: &'a [(String, String)],
}

/// One queue category's line now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryLine {
    pub letter: char,
    pub name: String,
    pub waiting: u32,
    /// The longest wait of a ticket still waiting, in seconds.
    pub longest_wait_s: Option<u32>,
}

/// One window now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowNow {
    pub number: u32,
    pub name: String,
    pub standing: WindowStanding,
    /// The post acting by the duty: A, or B顶岗; none while the window is closed.
    pub acting_post: Option<Post>,
    /// Staff id of who holds the acting post.
    pub acting_staff: Option<String>,
    /// The ticket at the window (called or in service).
    pub ticket: Option<String>,
}

/// A running case near or past its promised date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseAlert {
    pub case_id: Uuid,
    pub case_number: Option<String>,
    pub guide_name: String,
    /// The guide's department (实施主体); empty when the catalogue no longer has the guide.
    pub department: String,
    pub window: u32,
    /// The clerk who opened it.
    pub clerk: String,
    pub due_on: NaiveDate,
    /// Working days past the date; 0 on the last day.
    pub days_over: i64,
}

impl CaseAlert {
    pub fn is_overdue(&self) -> bool {
        self.days_over > 0
    }
}

/// How many alerted cases one window or department has: on their last day, and overdue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseCount<K> {
    pub key: K,
    pub last_day: u32,
    pub overdue: u32,
}

/// Counts `alerts` by `key`, in key order.
fn count_by<K: Ord + Clone>(alerts: &[CaseAlert], key: impl Fn(&CaseAlert) -> K) -> Vec<CaseCount<K>> {
    let mut counts = std::collections::BTreeMap::<K, (u32, u32)>::new();
    for a in alerts {
        let entry = counts.entry(key(a)).or_default();
        if a.is_overdue() {
            entry.1 += 1;
        } else {
            entry.0 += 1;
        }
    }
    counts.into_iter().map(|(key, (last_day, overdue))| CaseCount { key, last_day, overdue }).collect()
}

/// The desk's inquiries of the day by outcome, and what it could not answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeskFigures {
    pub answered: u32,
    pub sent_to_window: u32,
    pub ticket_issued: u32,
    pub referred: u32,
    pub not_found: u32,
    /// The questions recorded 未找到, newest first.
    pub unanswered: Vec<String>,
}

/// The board at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Board {
    /// The server's time of the snapshot.
    pub at: DateTime<Utc>,
    /// Whether the hall is open now (opening hours of a working day).
    pub open_now: bool,
    pub lines: Vec<CategoryLine>,
    pub windows: Vec<WindowNow>,
    /// Calls (first calls and recalls) per China-time hour today: (hour, calls), hours with a call.
    pub calls_per_hour: Vec<(u32, u32)>,
    /// Running cases on their last day or overdue, most overdue first.
    pub cases: Vec<CaseAlert>,
    /// Those cases counted per window, and per department.
    pub cases_by_window: Vec<CaseCount<u32>>,
    pub cases_by_department: Vec<CaseCount<String>>,
    /// Today's ratings by level.
    pub ratings_today: RatingCounts,
    /// Today's satisfaction rate in per mille.
    pub satisfaction_today: Option<u32>,
    /// Follow-ups still open, and those closed today, with their state today.
    pub follow_ups: Vec<(FollowUp, FollowUpState)>,
    /// 差评回复率 of the month so far.
    pub reply_rate: ReplyRate,
    pub desk: DeskFigures,
}

impl Board {
    /// The windows flagged 空岗.
    pub fn empty_posts(&self) -> impl Iterator<Item = &WindowNow> {
        self.windows.iter().filter(|w| w.standing.is_alarm())
    }
}

/// The last time `staff` was heard from at `window`.
fn last_seen(presence: &[(u32, String, DateTime<Utc>)], window: u32, staff: &str) -> Option<DateTime<Utc>> {
    presence.iter().filter(|(w, s, _)| *w == window && s == staff).map(|(_, _, at)| *at).max()
}

/// How window `w` stands at `now`, from the duties, pauses, presence and tickets of `src` (its
/// other fields are not read): the board's row, and what a clerk's terminal is told of its
/// window.
pub fn window_now(w: &Window, src: BoardSources<'_>, open_now: bool, now: DateTime<Utc>) -> WindowNow {
    let duty = src.duties.iter().find(|(n, _)| *n == w.number).map_or(DutyState::AOnDuty, |(_, d)| d.clone());
    let acting_staff = duty.acting_staff(w).map(str::to_owned);
    let ticket = src.tickets.iter().find(|t| t.window == Some(w.number) && t.status.is_at_window());
    let paused = src.pauses.iter().find(|(n, _)| *n == w.number).map(|(_, r)| r.as_str());
    let facts = WindowFacts {
        window: w,
        duty: &duty,
        acting_last_seen: acting_staff.as_deref().and_then(|s| last_seen(src.presence, w.number, s)),
        ticket_at_window: ticket.is_some(),
        paused,
    };
    WindowNow {
        number: w.number,
        name: w.name.clone(),
        standing: window_standing(facts, open_now, now),
        acting_post: duty.acting_post(),
        acting_staff,
        ticket: ticket.map(|t| t.number.to_string()),
    }
}

/// Builds the board as of the server's `now`.
pub fn build(src: BoardSources<'_>, hours: &OpeningHours, calendar: &WorkCalendar, now: DateTime<Utc>) -> Board {
    let today = china_date(now);
    let open_now = hours.is_open(calendar, now);

    let lines = src
        .categories
        .iter()
        .map(|c| {
            let waiting: Vec<&Ticket> = src
                .tickets
                .iter()
                .filter(|t| t.category == c.letter && t.status == TicketStatus::Waiting && t.day == today)
                .collect();
            let longest_wait_s = waiting.iter().map(|t| (now - t.queued_at).num_seconds().max(0) as u32).max();
            CategoryLine { letter: c.letter, name: c.name.clone(), waiting: waiting.len() as u32, longest_wait_s }
        })
        .collect();

    let windows = src.windows.iter().map(|w| window_now(w, src, open_now, now)).collect();

    let mut calls = std::collections::BTreeMap::<u32, u32>::new();
    for t in src.tickets {
        for e in &t.history {
            if matches!(e.action, QueueAction::Called | QueueAction::Recalled) && china_date(e.at) == today {
                *calls.entry(to_china(e.at).hour()).or_default() += 1;
            }
        }
    }

    let mut cases: Vec<CaseAlert> = src
        .cases
        .iter()
        .filter(|c| c.status.deadline_runs())
        .filter_map(|c| {
            let deadline = c.deadline.as_ref()?;
            let days_over = match urgency(calendar, today, deadline) {
                Urgency::InTime { .. } => return None,
                Urgency::LastDay => 0,
                Urgency::Overdue { days_over } => days_over,
            };
            Some(CaseAlert {
                case_id: c.id,
                case_number: c.case_number.clone(),
                guide_name: c.guide_name.clone(),
                department: src
                    .departments
                    .iter()
                    .find(|(code, _)| *code == c.guide_code)
                    .map(|(_, d)| d.clone())
                    .unwrap_or_default(),
                window: c.window,
                clerk: c.opened_by.clone(),
                due_on: deadline.date,
                days_over,
            })
        })
        .collect();
    cases.sort_by(|a, b| b.days_over.cmp(&a.days_over).then(a.due_on.cmp(&b.due_on)).then(a.window.cmp(&b.window)));

    let cases_by_window = count_by(&cases, |a| a.window);
    let cases_by_department = count_by(&cases, |a| a.department.clone());

    let mut ratings_today = RatingCounts::default();
    for r in src.ratings.iter().filter(|r| r.day() == today) {
        ratings_today.add(r.level);
    }
    let satisfaction_today =
        Satisfaction::of(src.ratings.iter().filter(|r| r.day() == today).map(|r| r.level)).per_mille();
    let bad: Vec<Uuid> = src.ratings.iter().filter(|r| r.level.is_bad()).map(|r| r.id).collect();
    let reply_rate = ReplyRate::of(&bad, src.follow_ups, today);
    let mut follow_ups: Vec<(FollowUp, FollowUpState)> = src
        .follow_ups
        .iter()
        .map(|f| (f, f.state(today)))
        .filter(|(f, state)| !state.is_closed() || f.closing_step().is_some_and(|s| china_date(s.at) == today))
        .map(|(f, state)| (f.clone(), state))
        .collect();
    // Open first, by due day; ties in the order the ratings were given (day, window, level),
    // not in whatever order the store returns them: the list does not reshuffle between refreshes.
    follow_ups.sort_by(|(a, sa), (b, sb)| {
        sa.is_closed()
            .cmp(&sb.is_closed())
            .then(a.due_on.cmp(&b.due_on))
            .then(a.opened_on.cmp(&b.opened_on))
            .then(a.window.cmp(&b.window))
            .then_with(|| a.level.label().cmp(b.level.label()))
    });

    let mut desk = DeskFigures::default();
    let mut inquiries: Vec<&Inquiry> = src.inquiries.iter().filter(|i| china_date(i.asked_at) == today).collect();
    inquiries.sort_by_key(|i| std::cmp::Reverse(i.asked_at));
    for i in inquiries {
        match i.outcome {
            InquiryOutcome::Answered => desk.answered += 1,
            InquiryOutcome::SentToWindow { .. } => desk.sent_to_window += 1,
            InquiryOutcome::TicketIssued { .. } => desk.ticket_issued += 1,
            InquiryOutcome::ReferredToCannotGetDone => desk.referred += 1,
            InquiryOutcome::NotFound => {
                desk.not_found += 1;
                desk.unanswered.push(i.question.clone());
            }
        }
    }

    Board {
        at: now,
        open_now,
        lines,
        windows,
        calls_per_hour: calls.into_iter().collect(),
        cases,
        cases_by_window,
        cases_by_department,
        ratings_today,
        satisfaction_today,
        follow_ups,
        reply_rate,
        desk,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::{bundled_calendar, bundled_catalogue};
    use crate::domain::calendar::Deadline;
    use crate::domain::case::CaseStatus;
    use crate::domain::center::WindowKind;
    use crate::domain::intake::{Opening, open_case};
    use chrono::TimeZone;

    /// China time on Monday 2026-12-07 (a working day).
    fn monday(h: u32, m: u32) -> DateTime<Utc> {
        crate::domain::time::china_offset().with_ymd_and_hms(2026, 12, 7, h, m, 0).unwrap().with_timezone(&Utc)
    }

    fn d(month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, month, day).unwrap()
    }

    fn case(window: u32, by: &str, status: CaseStatus, due: NaiveDate) -> Case {
        let guide = bundled_catalogue().unwrap().guides.into_iter().find(|g| g.situations.is_empty()).unwrap();
        let opening = Opening { window, post: Post::A, staff_id: by, ticket: None };
        let mut c =
            open_case(&guide, None, &opening, Uuid::now_v7(), monday(9, 0) - chrono::Duration::days(20)).unwrap();
        c.status = status;
        c.case_number = Some(format!("SL-{window}-{due}"));
        c.deadline = Some(Deadline { date: due, provisional: false });
        c
    }

    fn inquiry(question: &str, outcome: InquiryOutcome, at: DateTime<Utc>) -> Inquiry {
        Inquiry {
            id: Uuid::now_v7(),
            question: question.into(),
            guide_code: None,
            outcome,
            first_responder: "d001".into(),
            asked_at: at,
        }
    }

    #[test]
    fn cases_on_their_last_day_or_overdue_and_the_desk_of_the_day() {
        let now = monday(10, 0);
        let cases = vec![
            // Due Friday 12-04: one working day over on Monday.
            case(1, "s001", CaseStatus::Accepted, d(12, 4)),
            // Due today: the last day.
            case(2, "s003", CaseStatus::Dispatched, d(12, 7)),
            // Due Wednesday: still in time, not shown.
            case(2, "s003", CaseStatus::Accepted, d(12, 9)),
            // Overdue but delivered, or not accepted: no deadline runs.
            case(3, "s005", CaseStatus::Closed, d(11, 2)),
            case(3, "s005", CaseStatus::AwaitingMaterials, d(11, 2)),
        ];
        let inquiries = vec![
            inquiry("社保卡丢了", InquiryOutcome::Answered, now),
            inquiry("宅基地确权", InquiryOutcome::NotFound, now),
            inquiry("低保", InquiryOutcome::SentToWindow { window: 3 }, now),
            inquiry("昨天的问题", InquiryOutcome::NotFound, now - chrono::Duration::days(1)),
        ];
        let departments: Vec<(String, String)> =
            cases.iter().map(|c| (c.guide_code.clone(), "县人社局".to_owned())).take(1).collect();
        let window = Window {
            number: 1,
            name: "综合受理1".into(),
            kind: WindowKind::ComprehensiveAcceptance,
            a_holder: "s001".into(),
            b_holder: "s002".into(),
            categories: vec!['A'],
        };
        let src = BoardSources {
            windows: std::slice::from_ref(&window),
            duties: &[],
            pauses: &[],
            presence: &[],
            categories: &[],
            tickets: &[],
            cases: &cases,
            ratings: &[],
            follow_ups: &[],
            inquiries: &inquiries,
            departments: &departments,
        };
        let board = build(src, &OpeningHours::default(), &bundled_calendar().unwrap(), now);
        let alerts: Vec<(u32, &str, i64)> =
            board.cases.iter().map(|c| (c.window, c.clerk.as_str(), c.days_over)).collect();
        assert_eq!(alerts, [(1, "s001", 1), (2, "s003", 0)], "most overdue first; the last day is 0 over");
        assert!(board.cases[0].is_overdue() && !board.cases[1].is_overdue());
        let by_window: Vec<(u32, u32, u32)> =
            board.cases_by_window.iter().map(|c| (c.key, c.last_day, c.overdue)).collect();
        assert_eq!(by_window, [(1, 0, 1), (2, 1, 0)]);
        let by_department: Vec<(&str, u32, u32)> =
            board.cases_by_department.iter().map(|c| (c.key.as_str(), c.last_day, c.overdue)).collect();
        assert_eq!(by_department, [("县人社局", 1, 1)], "every case here is of the same guide");
        assert_eq!(
            (board.desk.answered, board.desk.sent_to_window, board.desk.not_found),
            (1, 1, 1),
            "only today's inquiries"
        );
        assert_eq!(board.desk.unanswered, ["宅基地确权"]);
        // Nobody heard from at window 1 during opening hours: 空岗, and flagged.
        assert_eq!(board.windows[0].standing, WindowStanding::Empty);
        assert_eq!(board.empty_posts().map(|w| w.number).collect::<Vec<_>>(), [1]);
        assert_eq!(board.reply_rate.per_mille(), None, "no bad rating: no rate");
    }
}
