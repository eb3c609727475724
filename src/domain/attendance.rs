//! 空岗 (clause 7.6.4 forbids an empty post): during opening hours on a working day, the clerk who
//! acts for a window (A, or B while covering) must be at it. Presence is what the server last
//! heard from that clerk's terminal at that window; the board and the B holder's status bar both
//! ask [`window_standing`], so they agree on which window is empty.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::WorkCalendar;
use super::center::Post;
use super::center::Window;
use super::error::Invalid;
use super::handover::{DutyState, Handover};
use super::time::{china_date, to_china};

/// A terminal not heard from for this long is not at its window. Terminals report every
/// [`PRESENCE_INTERVAL_S`] seconds, so an empty post shows within a minute.
pub const PRESENCE_TIMEOUT_S: i64 = 45;
/// How often a clerk terminal tells the server it is at its window.
pub const PRESENCE_INTERVAL_S: u64 = 15;

/// When the hall is open on a working day (China time), in one or more stretches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningHours {
    /// Opening stretches, e.g. 08:30-12:00 and 14:00-17:30, in order and not overlapping.
    pub stretches: Vec<(NaiveTime, NaiveTime)>,
}

impl Default for OpeningHours {
    /// The usual township hours: 08:30-12:00 and 14:00-17:30.
    fn default() -> Self {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
        Self { stretches: vec![(t(8, 30), t(12, 0)), (t(14, 0), t(17, 30))] }
    }
}

impl OpeningHours {
    /// Parses `08:30-12:00,14:00-17:30` (the configuration's form).
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let bad =
            |why: &str| Invalid::new("opening_hours", format!("办公时间“{text}”{why}，应写成 08:30-12:00,14:00-17:30"));
        let mut stretches = Vec::new();
        for part in text.split([',', '，']).map(str::trim).filter(|p| !p.is_empty()) {
            let (from, to) = part.split_once('-').ok_or_else(|| bad("缺少“-”"))?;
            let time = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| bad("时间格式不对"));
            let (from, to) = (time(from)?, time(to)?);
            if from >= to {
                return Err(bad("的开始时间不早于结束时间"));
            }
            if stretches.last().is_some_and(|&(_, end)| end > from) {
                return Err(bad("的时段重叠或未按先后顺序"));
            }
            stretches.push((from, to));
        }
        if stretches.is_empty() {
            return Err(bad("为空"));
        }
        Ok(Self { stretches })
    }

    /// Whether the hall is open at `now`: a working day of the calendar, inside a stretch.
    pub fn is_open(&self, calendar: &WorkCalendar, now: DateTime<Utc>) -> bool {
        if !calendar.is_working_day(china_date(now)) {
            return false;
        }
        let time = to_china(now).time();
        self.stretches.iter().any(|&(from, to)| from <= time && time < to)
    }
}

/// How a window stands, as the director's board shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WindowStanding {
    /// A ticket is at the window.
    Serving,
    /// The acting clerk is there, nobody at the counter.
    Idle,
    /// Paused (暂停服务) with the reason given.
    Paused { reason: String },
    /// 空岗: open hours, and the clerk who should act is not at the window.
    Empty,
    /// Outside opening hours and nobody there: nothing to watch.
    Closed,
}

impl WindowStanding {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Serving => "办理中",
            Self::Idle => "空闲",
            Self::Paused { .. } => "暂停",
            Self::Empty => "空岗",
            Self::Closed => "休息",
        }
    }

    pub fn is_alarm(&self) -> bool {
        matches!(self, Self::Empty)
    }
}

/// What the server knows about one window at `now`.
#[derive(Debug, Clone, Copy)]
pub struct WindowFacts<'a> {
    pub window: &'a Window,
    pub duty: &'a DutyState,
    /// When the server last heard from the acting clerk's terminal at this window.
    pub acting_last_seen: Option<DateTime<Utc>>,
    /// A ticket is called to or served at the window.
    pub ticket_at_window: bool,
    /// The queue pause of the window, with its reason.
    pub paused: Option<&'a str>,
}

/// Whether the clerk last heard from at `last_seen` counts as present at `now`.
pub fn is_present(last_seen: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_seen
        .is_some_and(|seen| now - seen <= Duration::seconds(PRESENCE_TIMEOUT_S) && seen <= now + Duration::seconds(5))
}

/// The one rule for a window's standing. A pause with a reason is not 空岗 (the clerk said why);
/// a window whose duty state is 暂停服务 is paused for the whole window.
pub fn window_standing(facts: WindowFacts<'_>, open_now: bool, now: DateTime<Utc>) -> WindowStanding {
    if let Some(reason) = facts.paused {
        return WindowStanding::Paused { reason: reason.to_string() };
    }
    if facts.ticket_at_window {
        return WindowStanding::Serving;
    }
    let present = facts.duty.acting_staff(facts.window).is_some() && is_present(facts.acting_last_seen, now);
    match (facts.duty, present, open_now) {
        (DutyState::Closed, _, _) => WindowStanding::Paused { reason: DutyState::Closed.label().to_string() },
        (_, true, _) => WindowStanding::Idle,
        (_, false, true) => WindowStanding::Empty,
        (_, false, false) => WindowStanding::Closed,
    }
}

/// Who acted for a window over time, from its handovers: A until the first handover that took
/// effect, then whoever each later one put on duty. A handover the server refused to switch on
/// (`duty_refused`) changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DutyTimeline {
    /// (from, post acting from then on), oldest first.
    changes: Vec<(DateTime<Utc>, Option<Post>)>,
}

/// The duty timeline of `window` from the center's handovers (any order, any window). A
/// withdrawn handover put its post on duty until the withdrawal, then the one before it.
pub fn duty_timeline(window: &Window, handovers: &[Handover]) -> DutyTimeline {
    let mut changes: Vec<(DateTime<Utc>, Option<Post>)> = Vec::new();
    for h in handovers.iter().filter(|h| h.window == window.number && h.duty_refused.is_none()) {
        changes.push((h.written_at, h.duty_after().acting_post()));
        if let Some(w) = &h.withdrawn {
            changes.push((w.at.max(h.written_at), h.duty_before().acting_post()));
        }
    }
    changes.sort_by_key(|(at, _)| *at);
    DutyTimeline { changes }
}

impl DutyTimeline {
    /// The post acting at `at`.
    pub fn acting_at(&self, at: DateTime<Utc>) -> Option<Post> {
        self.changes.iter().rev().find(|(from, _)| *from <= at).map_or(Some(Post::A), |(_, post)| *post)
    }

    /// The stretches of `[from, to)` and the post acting in each, in order; stretches with nobody
    /// acting are left out.
    pub fn spans(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(Post, DateTime<Utc>, DateTime<Utc>)> {
        let mut out = Vec::new();
        let mut start = from;
        let mut post = self.acting_at(from);
        for &(at, next) in self.changes.iter().filter(|(at, _)| from < *at && *at < to) {
            if let Some(p) = post {
                out.push((p, start, at));
            }
            (start, post) = (at, next);
        }
        if let Some(p) = post
            && start < to
        {
            out.push((p, start, to));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::center::WindowKind;
    use crate::domain::handover::AwayReason;
    use chrono::{NaiveDate, TimeZone};

    fn window() -> Window {
        Window {
            number: 2,
            name: "综合受理2".into(),
            kind: WindowKind::ComprehensiveAcceptance,
            a_holder: "s003".into(),
            b_holder: "s004".into(),
            categories: vec!['A'],
        }
    }

    /// China time on Monday 2026-12-07.
    fn monday(h: u32, m: u32) -> DateTime<Utc> {
        crate::domain::time::china_offset()
            .from_local_datetime(&NaiveDate::from_ymd_opt(2026, 12, 7).unwrap().and_hms_opt(h, m, 0).unwrap())
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn opening_hours_parse_and_follow_the_calendar() {
        let hours = OpeningHours::parse("08:30-12:00，14:00-17:30").unwrap();
        assert_eq!(hours, OpeningHours::default());
        let cal = WorkCalendar::default();
        assert!(!hours.is_open(&cal, monday(8, 29)));
        assert!(hours.is_open(&cal, monday(8, 30)));
        assert!(!hours.is_open(&cal, monday(12, 0)), "the end is exclusive");
        assert!(!hours.is_open(&cal, monday(13, 0)), "lunch");
        assert!(hours.is_open(&cal, monday(17, 29)));
        let saturday = monday(10, 0) - Duration::days(2);
        assert!(!hours.is_open(&cal, saturday));
        for bad in ["", "8:30", "12:00-08:30", "08:30-12:00,11:00-17:00", "08:30-25:00"] {
            assert!(OpeningHours::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_absent_acting_clerk_in_opening_hours_is_an_empty_post_and_nothing_else_is() {
        let w = window();
        let now = monday(10, 0);
        let facts = |duty, seen: Option<DateTime<Utc>>, ticket, paused| WindowFacts {
            window: &w,
            duty,
            acting_last_seen: seen,
            ticket_at_window: ticket,
            paused,
        };
        let on = DutyState::AOnDuty;
        let covering = DutyState::BCovering { reason: AwayReason::Meeting, expected_return: None };
        let fresh = Some(now - Duration::seconds(20));
        let stale = Some(now - Duration::seconds(PRESENCE_TIMEOUT_S + 1));
        assert_eq!(window_standing(facts(&on, fresh, false, None), true, now), WindowStanding::Idle);
        assert_eq!(window_standing(facts(&on, stale, false, None), true, now), WindowStanding::Empty);
        assert_eq!(window_standing(facts(&on, None, false, None), true, now), WindowStanding::Empty);
        assert_eq!(window_standing(facts(&covering, None, false, None), true, now), WindowStanding::Empty);
        assert_eq!(window_standing(facts(&on, None, false, None), false, now), WindowStanding::Closed);
        assert_eq!(window_standing(facts(&on, None, true, None), true, now), WindowStanding::Serving);
        assert_eq!(
            window_standing(facts(&on, None, false, Some("系统维护")), true, now),
            WindowStanding::Paused { reason: "系统维护".into() }
        );
        assert!(matches!(
            window_standing(facts(&DutyState::Closed, None, false, None), true, now),
            WindowStanding::Paused { .. }
        ));
        let future = Some(now + Duration::minutes(10));
        assert_eq!(
            window_standing(facts(&on, future, false, None), true, now),
            WindowStanding::Empty,
            "a clock far ahead is not presence"
        );
    }
}
