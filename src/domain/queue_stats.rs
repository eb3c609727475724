//! Today's figures for a window and for the center: served, average wait, average handling time,
//! how many waited over the day, and tickets per category. Pure: computed from the day's tickets.

use std::borrow::Borrow;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::ticket::{Ticket, TicketStatus};
use super::time::{china_date, china_offset};

/// Minutes between two points of the waiting curve.
pub const CURVE_STEP_MINUTES: i64 = 30;
/// The curve starts when the hall opens, 08:00 China time.
pub const CURVE_START: NaiveTime = match NaiveTime::from_hms_opt(8, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayStats {
    pub served: u32,
    /// The wait of the served tickets, averaged ([`counted_wait_seconds`]).
    pub average_wait_s: Option<u32>,
    /// Seconds from starting to finishing, averaged over finished tickets.
    pub average_handling_s: Option<u32>,
    /// Tickets of the day per category letter, in letter order.
    pub per_category: Vec<(char, u32)>,
    /// How many were waiting at 08:00, 08:30, ... up to now (China time).
    pub waiting_curve: Vec<u32>,
}

/// Figures for `window` (or the whole center with `None`) from the tickets of today.
/// (`tickets` as stored, or shared: `&[Ticket]`, `&[Arc<Ticket>]`.)
pub fn day_stats<T: Borrow<Ticket>>(tickets: &[T], window: Option<u32>, now: DateTime<Utc>) -> DayStats {
    let today = china_date(now);
    let mine = |t: &&Ticket| t.day == today && window.is_none_or(|w| t.window == Some(w));
    let of_day: Vec<&Ticket> = tickets.iter().map(Borrow::borrow).filter(|t: &&Ticket| t.day == today).collect();
    let ours: Vec<&Ticket> = tickets.iter().map(Borrow::borrow).filter(mine).collect();
    let served = ours.iter().filter(|t| t.status == TicketStatus::Done).count() as u32;
    let waits: Vec<i64> = ours.iter().filter_map(|t| counted_wait_seconds(t)).collect();
    let handling: Vec<i64> = ours.iter().filter_map(|t| handling_seconds(t)).collect();
    let average = |xs: &[i64]| (!xs.is_empty()).then(|| (xs.iter().sum::<i64>() / xs.len() as i64) as u32);
    // Categories count for the whole center; a window's share is in `served`.
    let mut per_category: Vec<(char, u32)> = Vec::new();
    for t in &of_day {
        match per_category.iter_mut().find(|(c, _)| *c == t.category) {
            Some((_, n)) => *n += 1,
            None => per_category.push((t.category, 1)),
        }
    }
    per_category.sort();
    DayStats {
        served,
        average_wait_s: average(&waits),
        average_handling_s: average(&handling),
        per_category,
        waiting_curve: waiting_curve(&of_day, now),
    }
}

/// How long a ticket waited: from joining the line (the last time, after a no-show) to being
/// called. `None` until called.
pub fn wait_seconds(t: &Ticket) -> Option<i64> {
    t.called_at.map(|c| (c - t.queued_at).num_seconds().max(0))
}

/// What "wait" means in every average wait, stated once for today's figures ([`day_stats`]: the
/// board, the clerk's F2) and the report (`report::build`): the wait of a served ticket
/// (已办结), from joining the line to being called ([`wait_seconds`]). The applicant waits in the
/// hall until called (the queue's state of clause 7.1.1 ends at the call); the call, not the
/// start, ends it. Only served tickets count, as in the handling time and the period's
/// supervision figures of clause 8: a ticket at the window now has not been served yet, a
/// no-show or a parked ticket was not served, and a figure of a day must not change when a
/// ticket still open is finished later.
pub fn counted_wait_seconds(t: &Ticket) -> Option<i64> {
    if t.status != TicketStatus::Done {
        return None;
    }
    wait_seconds(t)
}

/// How long it was served: from starting to finishing. `None` until finished.
pub fn handling_seconds(t: &Ticket) -> Option<i64> {
    Some((t.finished_at? - t.started_at?).num_seconds().max(0))
}

fn waiting_curve(tickets: &[&Ticket], now: DateTime<Utc>) -> Vec<u32> {
    let Some(open) = china_date(now).and_time(CURVE_START).and_local_timezone(china_offset()).single() else {
        return Vec::new();
    };
    let open = open.with_timezone(&Utc);
    let mut curve = Vec::new();
    let mut at = open;
    while at <= now {
        let waiting = tickets
            .iter()
            .filter(|t| t.queued_at <= at && t.called_at.is_none_or(|c| c > at) && t.status != TicketStatus::Booked)
            .count() as u32;
        curve.push(waiting);
        at += Duration::minutes(CURVE_STEP_MINUTES);
    }
    curve
}

/// The estimated wait of someone with `ahead` people before them in a line that `windows`
/// windows call from, each taking `average_handling_s` a person (today's figure): `None` before
/// anyone was served today or when no window calls the line.
pub fn estimated_wait(ahead: u32, average_handling_s: Option<u32>, windows: u32) -> Option<u32> {
    let each = average_handling_s?;
    (windows > 0).then(|| ahead.saturating_mul(each) / windows)
}

/// `12分` / `1时05分`: a duration for a busy screen.
pub fn minutes_label(seconds: u32) -> String {
    let minutes = seconds / 60;
    if minutes < 60 { format!("{minutes}分") } else { format!("{}时{:02}分", minutes / 60, minutes % 60) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::queue::{TicketRequest, issue};
    use crate::domain::ticket::Priority;

    fn at(hhmm: &str) -> DateTime<Utc> {
        format!("2026-03-02T{hhmm}:00+08:00").parse::<DateTime<chrono::FixedOffset>>().unwrap().with_timezone(&Utc)
    }

    fn ticket(n: u32, category: char, queued: &str) -> Ticket {
        let request = TicketRequest { category, priority: Priority::Normal, guide_code: None, note: None, slot: None };
        issue(uuid::Uuid::now_v7(), format!("{category}{n:03}").parse().unwrap(), &request, "d001", at(queued))
    }

    #[test]
    fn figures_for_a_window_and_the_center() {
        let mut a1 = ticket(1, 'A', "08:10");
        a1.window = Some(1);
        a1.called_at = Some(at("08:20"));
        a1.started_at = Some(at("08:21"));
        a1.finished_at = Some(at("08:31"));
        a1.status = TicketStatus::Done;
        let mut a2 = ticket(2, 'A', "08:15");
        a2.window = Some(2);
        a2.called_at = Some(at("08:45"));
        a2.status = TicketStatus::Called;
        let b1 = ticket(1, 'B', "08:40");
        let tickets = vec![a1, a2, b1];
        let now = at("09:05");
        let window = day_stats(&tickets, Some(1), now);
        assert_eq!(window.served, 1);
        assert_eq!(window.average_wait_s, Some(600));
        assert_eq!(window.average_handling_s, Some(600));
        let center = day_stats(&tickets, None, now);
        assert_eq!(center.average_wait_s, Some(600), "A002 is called, not served yet");
        assert_eq!(center.per_category, vec![('A', 2), ('B', 1)]);
        // 08:00 none, 08:30 A002 waiting, 09:00 B001 waiting.
        assert_eq!(center.waiting_curve, vec![0, 1, 1]);
    }

    #[test]
    fn an_empty_day_has_no_averages() {
        let stats = day_stats::<Ticket>(&[], None, at("07:00"));
        assert_eq!(stats, DayStats::default());
        assert_eq!(minutes_label(125 * 60), "2时05分");
        assert_eq!(minutes_label(59), "0分");
    }
}
