//! 好差评 (clause 8.2.1): the applicant rates the service; every bad rating gets a reply.

use super::labels::labelled;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

labelled! { codes:
    /// The five levels of GB/T 39734.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum RatingLevel {
        VerySatisfied = "very_satisfied" / "非常满意",
        Satisfied = "satisfied" / "满意",
        BasicallySatisfied = "basically_satisfied" / "基本满意",
        Dissatisfied = "dissatisfied" / "不满意",
        VeryDissatisfied = "very_dissatisfied" / "非常不满意",
    }
}

impl RatingLevel {
    /// Best first.
    pub const ALL: [Self; 5] =
        [Self::VerySatisfied, Self::Satisfied, Self::BasicallySatisfied, Self::Dissatisfied, Self::VeryDissatisfied];

    /// Position in [`Self::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The level from the evaluator's keypad: 5 非常满意 down to 1 非常不满意.
    pub fn from_digit(digit: u32) -> Option<Self> {
        Some(match digit {
            5 => Self::VerySatisfied,
            4 => Self::Satisfied,
            3 => Self::BasicallySatisfied,
            2 => Self::Dissatisfied,
            1 => Self::VeryDissatisfied,
            _ => return None,
        })
    }

    /// 差评: must be answered (clause 8.2.1.4 asks for a 100% reply rate).
    pub fn is_bad(self) -> bool {
        matches!(self, Self::Dissatisfied | Self::VeryDissatisfied)
    }
}

/// How many ratings of each level, and the satisfaction rate made of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingCounts {
    /// By level, 非常满意 first (the order of [`RatingLevel::ALL`]).
    pub by_level: [u32; 5],
}

impl RatingCounts {
    pub fn add(&mut self, level: RatingLevel) {
        self.by_level[level.index()] += 1;
    }

    pub fn of(&self, level: RatingLevel) -> u32 {
        self.by_level[level.index()]
    }

    pub fn total(&self) -> u32 {
        self.by_level.iter().sum()
    }

    /// 差评: 不满意 and 非常不满意.
    pub fn bad(&self) -> u32 {
        RatingLevel::ALL.iter().filter(|l| l.is_bad()).map(|l| self.of(*l)).sum()
    }

    /// 满意率 in per mille: every rating that is not bad, over all ratings; `None` without
    /// ratings.
    pub fn satisfaction_per_mille(&self) -> Option<u32> {
        Satisfaction::from_counts(self.total(), self.bad()).per_mille()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub id: Uuid,
    pub window: u32,
    /// The clerk rated.
    pub staff: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<Uuid>,
    pub level: RatingLevel,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// When the server took it (its clock, not the device's).
    pub rated_at: DateTime<Utc>,
    /// The day of the ticket rated, where the server decided it ([`rating_of_ticket`]): a rating
    /// given offline before midnight and uploaded after is one of the day before. Read it through
    /// [`Rating::day`]; ratings stored before the server kept it have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<chrono::NaiveDate>,
    /// The reply to a bad rating (整改反馈).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
}

impl Rating {
    /// The day this rating counts for, in every figure (the day's and the month's satisfaction,
    /// the report, the follow-up's due day): its ticket's day, not the day it reached the server.
    /// A rating without one (stored before the server kept the day, or typed in by a clerk on
    /// an older terminal) was taken the day it was rated: the day of `rated_at`, China time.
    pub fn day(&self) -> chrono::NaiveDate {
        self.day.unwrap_or_else(|| super::time::china_date(self.rated_at))
    }

    pub fn needs_reply(&self) -> bool {
        self.level.is_bad() && self.reply.as_deref().is_none_or(|r| r.trim().is_empty())
    }
}

/// The reasons the evaluator offers for a bad rating (the applicant may give none).
pub const BAD_REASONS: &[&str] = &["等候时间长", "服务态度不好", "材料要求没讲清楚", "办理效率低", "其他"];
/// The longest reason kept.
pub const MAX_REASON_CHARS: usize = 200;

/// The applicant's rating as the evaluator facing `window` gives it, kept in the evaluator's
/// device log (record `ticket_rated`) and uploaded with the other records. It says only what the
/// device knows: the ticket, the level and the reason. Who was rated, when, and who rated (the
/// evaluator's session) are the server's to say ([`rating_of_ticket`]). `id` is made on the
/// device and is the rating's id on the server: a resend is the same rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRating {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub window: u32,
    pub level: RatingLevel,
    /// Optional, for the two bad levels.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// Who may upload which rating records. The evaluator facing window W uploads only ratings
/// (`ticket_rated`) of W: no case, visit or handover, nothing of another window. Nobody else
/// uploads a `ticket_rated` record: a clerk does not rate their own work, not even through the
/// log. (Ratings a clerk typed in on older terminals, `rating_recorded`, are still taken into
/// the log and never counted.)
pub fn check_rating_record(
    uploader: &super::staff::Staff,
    window: u32,
    body: Option<&super::record::RecordBody>,
) -> Result<(), super::Invalid> {
    use super::record::RecordBody;
    let refuse = |message: String| Err(super::Invalid { field: "body".into(), message });
    let rating = matches!(body, Some(RecordBody::TicketRated(_)));
    match super::staff::evaluator_window(uploader) {
        Some(w) if w != window => refuse(format!("本评价器面向 {w} 号窗口，不能上传 {window} 号窗口的记录")),
        Some(_) if !rating => refuse("评价器只能上传评价记录".into()),
        Some(_) => Ok(()),
        None if uploader.role == super::staff::Role::Evaluator => refuse("评价器账号未指明窗口，不能上传记录".into()),
        None if rating => refuse(format!("只有 {window} 号窗口的评价器可以上传评价")),
        None => Ok(()),
    }
}

/// The rating the server keeps of `given` (one bound to the ticket served at its window on
/// `day`, the five levels, a reason only for the two bad ones): the clerk who served the ticket
/// is the one rated ([`rated_clerk`]), `now` (the server's clock) is when. `day` is today, or for
/// a rating kept in a device log the day the device recorded it ([`late_rating_day`]). `case_id`
/// is the ticket's case at the window, where there is one. One rating per ticket is the store's
/// to hold (it keeps the first and refuses another).
pub fn rating_of_ticket(
    given: &TicketRating,
    ticket: &super::ticket::Ticket,
    case_id: Option<Uuid>,
    day: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<Rating, super::Invalid> {
    let comment = check_reason(given.level, &given.reason)?;
    if ticket.id != given.ticket_id {
        return Err(super::Invalid {
            field: "ticket_id".into(), message: "今天没有这个号，不能评价".into()
        });
    }
    let staff = rated_clerk(ticket, given.window, day)?;
    Ok(Rating {
        id: given.id,
        window: given.window,
        staff,
        case_id,
        level: given.level,
        comment,
        rated_at: now,
        day: Some(day),
        reply: None,
    })
}

/// The day of the tickets a rating kept in a device log rates when its ticket is not today's:
/// the day the device recorded it (`recorded`, China time), when that is before `today` but not
/// before the previous working day of `calendar` (a rating given offline before midnight, or
/// before a weekend, and uploaded after). `None` when it was recorded today or later (a device
/// clock ahead of the server's): today's tickets are the ones it may rate. Anything older is
/// refused: the evaluator's figures of that day are closed.
pub fn late_rating_day(
    recorded: chrono::NaiveDate,
    today: chrono::NaiveDate,
    calendar: &super::calendar::WorkCalendar,
) -> Result<Option<chrono::NaiveDate>, super::Invalid> {
    if recorded >= today {
        return Ok(None);
    }
    // A year of days off at most: a calendar with no working day before today refuses all.
    let previous_working_day = today.iter_days().rev().skip(1).take(366).find(|d| calendar.is_working_day(*d));
    match previous_working_day {
        Some(earliest) if recorded >= earliest => Ok(Some(recorded)),
        _ => Err(super::Invalid {
            field: "created_at".into(),
            message: format!("这条评价记录于 {recorded}，早于上一个工作日，不再计入"),
        }),
    }
}

/// Whom a rating of `ticket` at window `window` rates: the clerk who served it there (who started
/// it, or served it without a ticket). Refused when the ticket was not served at that window on
/// `day` (today, or the day a late rating was recorded: [`late_rating_day`]): a rating is bound
/// to the ticket served.
pub fn rated_clerk(
    ticket: &super::ticket::Ticket,
    window: u32,
    day: chrono::NaiveDate,
) -> Result<String, super::Invalid> {
    use super::ticket::{QueueAction, TicketStatus};
    let refuse = |message: String| super::Invalid { field: "ticket_id".into(), message };
    let number = ticket.number;
    if ticket.day != day {
        return Err(refuse(format!("{number} 不是今天的号，不能评价")));
    }
    if ticket.window != Some(window) {
        return Err(refuse(format!("{number} 不是在 {window} 号窗口办理的，不能在此评价")));
    }
    if !matches!(ticket.status, TicketStatus::Serving | TicketStatus::Done) {
        return Err(refuse(format!("{number} 还没有开始办理，不能评价")));
    }
    ticket
        .history
        .iter()
        .rev()
        .find(|e| e.window == Some(window) && matches!(e.action, QueueAction::Started | QueueAction::WalkIn))
        .map(|e| e.by.clone())
        .ok_or_else(|| refuse(format!("{number} 没有办理记录，不能评价")))
}

/// The reason given with `level`: only the two bad levels take one; cleaned to one line.
pub fn check_reason(level: RatingLevel, reason: &str) -> Result<String, super::Invalid> {
    let reason = super::text::clean_line(reason).trim().to_owned();
    let refuse = |message: &str| Err(super::Invalid { field: "reason".into(), message: message.into() });
    if !reason.is_empty() && !level.is_bad() {
        return refuse("只有“不满意”和“非常不满意”需要填写原因");
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return refuse("原因不能超过 200 个字");
    }
    Ok(reason)
}

/// The public evaluation summary of a day (clause 8.2.1.4 asks that evaluations be public): how
/// many ratings, and how many of them satisfied (基本满意 or better, i.e. not a bad rating).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Satisfaction {
    pub rated: u32,
    pub satisfied: u32,
}

impl Satisfaction {
    /// From the levels given.
    pub fn of(levels: impl IntoIterator<Item = RatingLevel>) -> Self {
        levels.into_iter().fold(Self::default(), |mut s, level| {
            s.rated += 1;
            s.satisfied += u32::from(!level.is_bad());
            s
        })
    }

    /// From counts of all ratings and of the bad ones (as a store counts them).
    pub fn from_counts(rated: u32, bad: u32) -> Self {
        Self { rated, satisfied: rated.saturating_sub(bad) }
    }

    /// 满意率 in per mille, `None` before the first rating.
    pub fn per_mille(&self) -> Option<u32> {
        super::text::per_mille(self.satisfied, self.rated)
    }

    /// `96.0%`, or `None` before the first rating.
    pub fn rate_label(&self) -> Option<String> {
        self.per_mille().map(|pm| super::text::percent_label(Some(pm)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_rating_counts_back_to_the_previous_working_day_and_no_further() {
        let calendar = crate::domain::calendar::WorkCalendar::default();
        let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        // Tuesday: Monday is the previous working day.
        assert_eq!(late_rating_day(d("2026-03-02"), d("2026-03-03"), &calendar), Ok(Some(d("2026-03-02"))));
        assert!(late_rating_day(d("2026-03-01"), d("2026-03-03"), &calendar).is_err());
        // Monday: back over the weekend to Friday.
        assert_eq!(late_rating_day(d("2026-02-28"), d("2026-03-02"), &calendar), Ok(Some(d("2026-02-28"))));
        assert_eq!(late_rating_day(d("2026-02-27"), d("2026-03-02"), &calendar), Ok(Some(d("2026-02-27"))));
        let old = late_rating_day(d("2026-02-26"), d("2026-03-02"), &calendar).unwrap_err();
        assert_eq!(old.message, "这条评价记录于 2026-02-26，早于上一个工作日，不再计入");
        // Today, or a device clock ahead: today's tickets.
        assert_eq!(late_rating_day(d("2026-03-02"), d("2026-03-02"), &calendar), Ok(None));
        assert_eq!(late_rating_day(d("2026-03-04"), d("2026-03-02"), &calendar), Ok(None));
    }

    #[test]
    fn only_a_windows_evaluator_uploads_ratings_and_nothing_else() {
        use crate::domain::record::{RecordBody, Visit};
        use crate::domain::staff::{Role, Staff};
        let account = |id: &str, role| Staff { id: id.into(), name: id.into(), role, active: true };
        let given = |window| {
            RecordBody::TicketRated(Box::new(TicketRating {
                id: Uuid::nil(),
                ticket_id: Uuid::nil(),
                window,
                level: RatingLevel::Satisfied,
                reason: String::new(),
            }))
        };
        let visit = RecordBody::Visit(Visit { paper_ticket: String::new(), note: "x".into() });
        let evaluator = account("evaluator-1", Role::Evaluator);
        assert!(check_rating_record(&evaluator, 1, Some(&given(1))).is_ok());
        assert!(check_rating_record(&evaluator, 2, Some(&given(2))).is_err(), "another window's");
        assert!(check_rating_record(&evaluator, 1, Some(&visit)).is_err(), "a visit");
        assert!(check_rating_record(&evaluator, 1, None).is_err(), "a kind the server does not know");
        assert!(check_rating_record(&account("evaluator-x", Role::Evaluator), 1, Some(&given(1))).is_err());
        for clerk in [
            account("s001", Role::WindowClerk),
            account("evaluator-1", Role::WindowClerk),
            account("admin", Role::Admin),
        ] {
            assert!(check_rating_record(&clerk, 1, Some(&given(1))).is_err(), "{} rates", clerk.id);
            assert!(check_rating_record(&clerk, 1, Some(&visit)).is_ok(), "{}'s own work", clerk.id);
        }
    }

    #[test]
    fn the_satisfaction_rate_counts_every_level_but_the_two_bad_ones() {
        use RatingLevel::*;
        let s = Satisfaction::of([VerySatisfied, Satisfied, BasicallySatisfied, Dissatisfied, VeryDissatisfied]);
        assert_eq!((s.rated, s.satisfied), (5, 3));
        assert_eq!(s.rate_label().as_deref(), Some("60.0%"));
        assert_eq!(Satisfaction::from_counts(5, 2), s);
        assert_eq!(Satisfaction::default().rate_label(), None);
        // The same rounding as every other rate (the report's, the reply rate): down, never up.
        let two_of_three = Satisfaction::from_counts(3, 1);
        assert_eq!(two_of_three.rate_label().as_deref(), Some("66.6%"));
        let mut counts = RatingCounts::default();
        [Satisfied, Satisfied, Dissatisfied].into_iter().for_each(|l| counts.add(l));
        assert_eq!(counts.satisfaction_per_mille(), two_of_three.per_mille());
    }

    #[test]
    fn only_bad_ratings_need_a_reply_until_answered() {
        let mut r = Rating {
            id: Uuid::nil(),
            window: 1,
            staff: "s001".into(),
            case_id: None,
            level: RatingLevel::Satisfied,
            comment: String::new(),
            rated_at: DateTime::UNIX_EPOCH,
            day: None,
            reply: None,
        };
        assert!(!r.needs_reply());
        r.level = RatingLevel::VeryDissatisfied;
        assert!(r.needs_reply());
        r.reply = Some("  ".into());
        assert!(r.needs_reply(), "a blank reply is no reply");
        r.reply = Some("已电话回访，材料问题已现场解决".into());
        assert!(!r.needs_reply());
        let json = serde_json::to_value(RatingLevel::BasicallySatisfied).unwrap();
        assert_eq!(json, "basically_satisfied", "stored and sent as a stable code");
        let old: RatingLevel = serde_json::from_value(serde_json::json!("基本满意")).unwrap();
        assert_eq!(old, RatingLevel::BasicallySatisfied, "records of schema 1 still read");
    }
}
