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
    pub rated_at: DateTime<Utc>,
    /// The reply to a bad rating (整改反馈).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
}

impl Rating {
    pub fn needs_reply(&self) -> bool {
        self.level.is_bad() && self.reply.as_deref().is_none_or(|r| r.trim().is_empty())
    }
}

/// The reasons the evaluator offers for a bad rating (the applicant may give none).
pub const BAD_REASONS: &[&str] = &["等候时间长", "服务态度不好", "材料要求没讲清楚", "办理效率低", "其他"];
/// The longest reason kept.
pub const MAX_REASON_CHARS: usize = 200;

/// Whether a rating that arrives in an uploaded log counts (is projected into the ratings the
/// center reports and publishes): only when the session uploading it is the evaluator of the
/// rating's window. A clerk's terminal (older versions let the clerk type the applicant's rating)
/// cannot rate its own work: such a record is kept in the log, so the terminal's outbox moves
/// on, but it is never counted.
pub fn counts_uploaded_rating(uploader: &super::staff::Staff, window: u32) -> bool {
    super::staff::evaluator_window(uploader) == Some(window)
}

/// Whom a rating of `ticket` at window `window` rates: the clerk who served it there (who started
/// it, or served it without a ticket). Refused when the ticket was not served at that window
/// today: a rating is bound to the ticket served.
pub fn rated_clerk(
    ticket: &super::ticket::Ticket,
    window: u32,
    today: chrono::NaiveDate,
) -> Result<String, super::Invalid> {
    use super::ticket::{QueueAction, TicketStatus};
    let refuse = |message: String| super::Invalid { field: "ticket_id".into(), message };
    let number = ticket.number;
    if ticket.day != today {
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
    fn an_uploaded_rating_counts_only_from_its_windows_evaluator() {
        use crate::domain::staff::{Role, Staff};
        let account = |id: &str, role| Staff { id: id.into(), name: id.into(), role, active: true };
        assert!(counts_uploaded_rating(&account("evaluator-1", Role::Evaluator), 1));
        assert!(!counts_uploaded_rating(&account("evaluator-2", Role::Evaluator), 1), "another window's");
        assert!(!counts_uploaded_rating(&account("s001", Role::WindowClerk), 1), "the clerk rated");
        assert!(!counts_uploaded_rating(&account("evaluator-1", Role::WindowClerk), 1), "a person named like one");
        assert!(!counts_uploaded_rating(&account("admin", Role::Admin), 1));
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
