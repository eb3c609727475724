//! 差评整改 (clause 8.2.1.3-8.2.1.4): every bad rating opens a follow-up that must be closed, either
//! on the spot (现场化解, with a record of what was done) or by checking it and putting it right
//! (核实整改: the finding, the rectification, and the feedback given to the applicant), within a
//! limit in working days. The reply rate (差评回复率, 100% required) is computed here and nowhere
//! else, so the board and the report cannot disagree.
//!
//! Pure: the caller passes the server's time and the calendar; who may take which step is decided
//! by [`FollowUp::check_step`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::calendar::WorkCalendar;
use super::error::Invalid;
use super::labels::labelled;
use super::rating::{Rating, RatingLevel};
use super::text::{per_mille, percent_label};
use super::time::china_date;

/// Working days a bad rating may stay open when the center has not configured its own limit.
pub const DEFAULT_DUE_WORKING_DAYS: u32 = 5;

/// The longest text of one step: a few sentences, not a report.
pub const MAX_STEP_TEXT_CHARS: usize = 500;

/// The follow-up of one bad rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    /// The rating it follows; one follow-up per rating.
    pub rating_id: Uuid,
    pub window: u32,
    /// The clerk who was rated.
    pub staff: String,
    pub level: RatingLevel,
    /// China-time day of the rating.
    pub opened_on: NaiveDate,
    /// Last day on which closing it still counts as replied in time.
    pub due_on: NaiveDate,
    /// Whom the director gave it to; the rated clerk until then.
    pub assignee: String,
    /// Every step, oldest first, each with its author and the server's time.
    #[serde(default)]
    pub steps: Vec<FollowUpStep>,
}

/// One recorded step of a follow-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpStep {
    /// The server's receipt time.
    pub at: DateTime<Utc>,
    /// Staff id from the session that took the step.
    pub by: String,
    pub action: FollowUpAction,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FollowUpAction {
    /// The director gives the follow-up to someone (the clerk, or a department contact).
    Assigned { to: String },
    /// The clerk (or assignee) explains what happened; does not close it.
    Answered { text: String },
    /// 现场化解: settled with the applicant on the spot. Closes it.
    ResolvedOnSpot { what: String },
    /// 核实整改: checked; if the complaint holds, what was put right; and the feedback given to the
    /// applicant. Closes it.
    Rectified { finding: Finding, rectification: String, feedback: Feedback },
}

labelled! { codes:
    /// Whether the complaint held after checking (核实).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum Finding {
        /// The complaint holds.
        Valid = "valid" / "属实",
        /// It does not; the feedback explains why.
        NotValid = "not_valid" / "不属实",
    }
}

/// The feedback given to the applicant (反馈).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    pub channel: FeedbackChannel,
    /// China-time day it was given.
    pub on: NaiveDate,
    /// Who gave it (staff id).
    pub given_by: String,
}

labelled! { codes:
    /// How the applicant was given the feedback.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum FeedbackChannel {
        Phone = "phone" / "电话",
        InPerson = "in_person" / "当面",
        Sms = "sms" / "短信",
        Letter = "letter" / "书面",
    }
}

/// Who is taking a step, as the server resolved it from the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUpActor<'a> {
    /// 中心负责人: assigns and closes any follow-up of the center.
    Director(&'a str),
    /// A clerk: may answer (not close) the follow-ups of their own window or given to them.
    Clerk { id: &'a str, windows: &'a [u32] },
}

labelled! { codes:
    /// Where a follow-up stands on a given day.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum FollowUpState {
        /// Open and still within its limit.
        Open = "open" / "待整改",
        /// Open past its due day.
        Overdue = "overdue" / "已逾期",
        /// Closed on or before its due day: counts as replied.
        ClosedInTime = "closed_in_time" / "已办结",
        /// Closed after its due day: replied, but late.
        ClosedLate = "closed_late" / "逾期办结",
    }
}

impl FollowUpState {
    pub fn is_closed(self) -> bool {
        matches!(self, Self::ClosedInTime | Self::ClosedLate)
    }
}

impl FollowUp {
    /// The follow-up a rating opens, if it is bad: due `due_working_days` working days after the
    /// day the rating counts for ([`Rating::day`]: its ticket's, for one uploaded late too).
    pub fn open(rating: &Rating, calendar: &WorkCalendar, due_working_days: u32) -> Option<Self> {
        if !rating.level.is_bad() {
            return None;
        }
        let opened_on = rating.day();
        Some(Self {
            rating_id: rating.id,
            window: rating.window,
            staff: rating.staff.clone(),
            level: rating.level,
            opened_on,
            due_on: calendar.add_working_days(opened_on, due_working_days).date,
            assignee: rating.staff.clone(),
            steps: Vec::new(),
        })
    }

    /// The step that closed it, if any.
    pub fn closing_step(&self) -> Option<&FollowUpStep> {
        self.steps.iter().find(|s| s.action.closes())
    }

    /// Where it stands on `today` (China time).
    pub fn state(&self, today: NaiveDate) -> FollowUpState {
        match self.closing_step() {
            Some(step) if china_date(step.at) <= self.due_on => FollowUpState::ClosedInTime,
            Some(_) => FollowUpState::ClosedLate,
            None if today > self.due_on => FollowUpState::Overdue,
            None => FollowUpState::Open,
        }
    }

    /// Whether `actor` may take `action` now; the reason in Chinese when not. `today` is the
    /// server's China-time day.
    pub fn check_step(
        &self,
        actor: FollowUpActor<'_>,
        action: &FollowUpAction,
        today: NaiveDate,
    ) -> Result<(), Invalid> {
        if self.closing_step().is_some() {
            return Err(Invalid::new("steps", "该差评已整改办结，不能再添加记录"));
        }
        match actor {
            FollowUpActor::Director(_) => {}
            FollowUpActor::Clerk { id, windows } => {
                let concerned = windows.contains(&self.window) || self.assignee == id || self.staff == id;
                if !concerned {
                    return Err(Invalid::new("by", "只能处理本窗口或交办给本人的差评"));
                }
                if !matches!(action, FollowUpAction::Answered { .. }) {
                    return Err(Invalid::new("kind", "交办和办结由中心负责人操作，窗口人员可填写情况说明"));
                }
            }
        }
        let text_ok = |key: &str, field: &str, text: &str| -> Result<(), Invalid> {
            let chars = text.trim().chars().count();
            if chars == 0 {
                return Err(Invalid::new(key, format!("请填写{field}")));
            }
            if chars > MAX_STEP_TEXT_CHARS {
                return Err(Invalid::new(key, format!("{field}不能超过{MAX_STEP_TEXT_CHARS}字")));
            }
            Ok(())
        };
        match action {
            FollowUpAction::Assigned { to } => text_ok("to", "交办对象", to),
            FollowUpAction::Answered { text } => text_ok("text", "情况说明", text),
            FollowUpAction::ResolvedOnSpot { what } => text_ok("what", "现场化解情况", what),
            FollowUpAction::Rectified { finding, rectification, feedback } => {
                if *finding == Finding::Valid {
                    text_ok("rectification", "整改措施", rectification)?;
                } else if rectification.chars().count() > MAX_STEP_TEXT_CHARS {
                    return Err(Invalid::new("rectification", format!("整改措施不能超过{MAX_STEP_TEXT_CHARS}字")));
                }
                text_ok("feedback.given_by", "反馈人", &feedback.given_by)?;
                if feedback.on < self.opened_on {
                    return Err(Invalid::new("feedback.on", "反馈日期不能早于差评日期"));
                }
                if feedback.on > today {
                    return Err(Invalid::new("feedback.on", "反馈日期不能晚于今天"));
                }
                Ok(())
            }
        }
    }

    /// Records a step already checked with [`Self::check_step`]; an assignment changes the
    /// assignee.
    pub fn record(&mut self, step: FollowUpStep) {
        if let FollowUpAction::Assigned { to } = &step.action {
            self.assignee = to.trim().to_string();
        }
        self.steps.push(step);
    }
}

impl FollowUpAction {
    /// Whether this step closes the follow-up.
    pub fn closes(&self) -> bool {
        matches!(self, Self::ResolvedOnSpot { .. } | Self::Rectified { .. })
    }

    pub fn label(&self) -> &'static str {
        match self {
            Self::Assigned { .. } => "交办",
            Self::Answered { .. } => "情况说明",
            Self::ResolvedOnSpot { .. } => "现场化解",
            Self::Rectified { .. } => "核实整改",
        }
    }
}

/// 差评回复率 over a period: bad ratings whose follow-up was closed by its due day, out of all bad
/// ratings of the period. A bad rating without a follow-up counts as not replied. `None` when
/// there was no bad rating (nothing to reply to: shown as "—", not as 100% or 0%).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyRate {
    pub bad_ratings: u32,
    pub replied_in_time: u32,
    pub replied_late: u32,
    pub overdue: u32,
}

impl ReplyRate {
    /// Counts over `bad_ratings` (the ids of the period's bad ratings) with their follow-ups.
    pub fn of(bad_ratings: &[Uuid], follow_ups: &[FollowUp], today: NaiveDate) -> Self {
        let mut rate = Self { bad_ratings: bad_ratings.len() as u32, replied_in_time: 0, replied_late: 0, overdue: 0 };
        for id in bad_ratings {
            match follow_ups.iter().find(|f| f.rating_id == *id).map(|f| f.state(today)) {
                Some(FollowUpState::ClosedInTime) => rate.replied_in_time += 1,
                Some(FollowUpState::ClosedLate) => rate.replied_late += 1,
                Some(FollowUpState::Overdue) => rate.overdue += 1,
                Some(FollowUpState::Open) => {}
                // A bad rating that never opened a follow-up is overdue from the start: it was
                // never going to be replied to.
                None => rate.overdue += 1,
            }
        }
        rate
    }

    /// The rate in per mille (1000 = 100%), `None` without bad ratings.
    pub fn per_mille(self) -> Option<u32> {
        per_mille(self.replied_in_time, self.bad_ratings)
    }

    /// `100%`, `66.6%`, or `—` without bad ratings.
    pub fn label(self) -> String {
        percent_label(self.per_mille())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn calendar() -> WorkCalendar {
        WorkCalendar::default()
    }

    fn rating(level: RatingLevel, at: DateTime<Utc>) -> Rating {
        Rating {
            id: Uuid::from_u128(at.timestamp() as u128),
            window: 2,
            staff: "s003".into(),
            case_id: None,
            level,
            comment: String::new(),
            rated_at: at,
            day: None,
            reply: None,
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// 10:00 China time on that day.
    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 2, 0, 0).unwrap()
    }

    fn feedback(on: NaiveDate) -> Feedback {
        Feedback { channel: FeedbackChannel::Phone, on, given_by: "d900".into() }
    }

    #[test]
    fn only_bad_ratings_open_a_follow_up_due_in_working_days() {
        let cal = calendar();
        assert!(FollowUp::open(&rating(RatingLevel::BasicallySatisfied, at(2026, 12, 4)), &cal, 5).is_none());
        // Friday 2026-12-04: five working days later is Friday 2026-12-11 (no data year => weekends rest).
        let f = FollowUp::open(&rating(RatingLevel::Dissatisfied, at(2026, 12, 4)), &cal, 5).unwrap();
        assert_eq!(f.opened_on, day(2026, 12, 4));
        assert_eq!(f.due_on, day(2026, 12, 11));
        assert_eq!(f.assignee, "s003");
        // A rating at 23:30 China time on Friday is still Friday's (UTC says 15:30).
        let late = Utc.with_ymd_and_hms(2026, 12, 4, 15, 30, 0).unwrap();
        assert_eq!(
            FollowUp::open(&rating(RatingLevel::VeryDissatisfied, late), &cal, 1).unwrap().due_on,
            day(2026, 12, 7)
        );
    }

    #[test]
    fn a_clerk_answers_but_only_the_director_assigns_and_closes() {
        let f = FollowUp::open(&rating(RatingLevel::Dissatisfied, at(2026, 12, 4)), &calendar(), 5).unwrap();
        let today = day(2026, 12, 7);
        let own = FollowUpActor::Clerk { id: "s003", windows: &[2] };
        let other = FollowUpActor::Clerk { id: "s005", windows: &[4] };
        let director = FollowUpActor::Director("d900");
        let answer = FollowUpAction::Answered { text: "申请人材料不全，已解释".into() };
        let close = FollowUpAction::ResolvedOnSpot { what: "当场补办".into() };
        assert!(f.check_step(own, &answer, today).is_ok());
        assert!(f.check_step(other, &answer, today).is_err(), "another window's clerk");
        assert!(f.check_step(own, &close, today).is_err(), "a clerk cannot close their own bad rating");
        assert!(f.check_step(director, &close, today).is_ok());
        assert!(f.check_step(director, &FollowUpAction::ResolvedOnSpot { what: "  ".into() }, today).is_err());
        let assigned_elsewhere = FollowUpActor::Clerk { id: "s005", windows: &[4] };
        let mut g = f.clone();
        g.record(FollowUpStep {
            at: at(2026, 12, 7),
            by: "d900".into(),
            action: FollowUpAction::Assigned { to: "s005".into() },
        });
        assert!(g.check_step(assigned_elsewhere, &answer, today).is_ok(), "the assignee may answer");
    }

    #[test]
    fn rectification_needs_measures_when_valid_and_a_feedback_date_within_reason() {
        let f = FollowUp::open(&rating(RatingLevel::Dissatisfied, at(2026, 12, 4)), &calendar(), 5).unwrap();
        let director = FollowUpActor::Director("d900");
        let today = day(2026, 12, 8);
        let step = |finding, rectification: &str, on| FollowUpAction::Rectified {
            finding,
            rectification: rectification.into(),
            feedback: feedback(on),
        };
        assert!(f.check_step(director, &step(Finding::Valid, "", today), today).is_err());
        assert!(f.check_step(director, &step(Finding::NotValid, "", today), today).is_ok());
        assert!(f.check_step(director, &step(Finding::Valid, "加强培训", day(2026, 12, 3)), today).is_err());
        assert!(f.check_step(director, &step(Finding::Valid, "加强培训", day(2026, 12, 9)), today).is_err());
        assert!(f.check_step(director, &step(Finding::Valid, &"长".repeat(501), today), today).is_err());
    }

    #[test]
    fn a_closed_follow_up_takes_no_more_steps_and_knows_whether_it_was_in_time() {
        let mut f = FollowUp::open(&rating(RatingLevel::Dissatisfied, at(2026, 12, 4)), &calendar(), 5).unwrap();
        assert_eq!(f.state(day(2026, 12, 11)), FollowUpState::Open, "the due day itself is still in time");
        assert_eq!(f.state(day(2026, 12, 12)), FollowUpState::Overdue);
        f.record(FollowUpStep {
            at: at(2026, 12, 11),
            by: "d900".into(),
            action: FollowUpAction::ResolvedOnSpot { what: "电话沟通，申请人满意".into() },
        });
        assert_eq!(f.state(day(2027, 1, 1)), FollowUpState::ClosedInTime);
        let again = FollowUpAction::Answered { text: "补充".into() };
        assert!(f.check_step(FollowUpActor::Director("d900"), &again, day(2026, 12, 12)).is_err());

        let mut late = FollowUp::open(&rating(RatingLevel::Dissatisfied, at(2026, 12, 4)), &calendar(), 5).unwrap();
        late.record(FollowUpStep {
            at: at(2026, 12, 14),
            by: "d900".into(),
            action: FollowUpAction::Rectified {
                finding: Finding::NotValid,
                rectification: String::new(),
                feedback: feedback(day(2026, 12, 14)),
            },
        });
        assert_eq!(late.state(day(2026, 12, 14)), FollowUpState::ClosedLate);
    }

    #[test]
    fn the_reply_rate_counts_only_closures_in_time_and_a_missing_follow_up_as_overdue() {
        let cal = calendar();
        let ratings: Vec<Rating> = (1..=4).map(|d| rating(RatingLevel::Dissatisfied, at(2026, 11, d + 1))).collect();
        let ids: Vec<Uuid> = ratings.iter().map(|r| r.id).collect();
        let mut follow_ups: Vec<FollowUp> = ratings[..3].iter().map(|r| FollowUp::open(r, &cal, 5).unwrap()).collect();
        let today = day(2026, 12, 5);
        let zero = ReplyRate::of(&ids, &follow_ups, today);
        assert_eq!(zero.per_mille(), Some(0));
        assert_eq!(zero.overdue, 4);
        let close_at = |f: &mut FollowUp, on: DateTime<Utc>| {
            f.record(FollowUpStep {
                at: on,
                by: "d900".into(),
                action: FollowUpAction::ResolvedOnSpot { what: "已沟通".into() },
            })
        };
        close_at(&mut follow_ups[0], at(2026, 11, 3));
        close_at(&mut follow_ups[1], at(2026, 11, 4));
        close_at(&mut follow_ups[2], at(2026, 12, 1));
        let rate = ReplyRate::of(&ids, &follow_ups, today);
        assert_eq!((rate.replied_in_time, rate.replied_late, rate.overdue), (2, 1, 1));
        assert_eq!(rate.label(), "50.0%");
        assert_eq!(ReplyRate::of(&ids[..2], &follow_ups, today).label(), "100%");
        assert_eq!(ReplyRate::of(&[], &follow_ups, today).label(), "—");
        assert_eq!(ReplyRate::of(&ids[..3], &follow_ups, today).label(), "66.6%");
    }
}
