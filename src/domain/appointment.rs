//! Appointments (线上预约, clause 7.1.1 of the standard: precise time slots). The admin sets, per
//! queue category, the slots of a working day and how many people each takes; a booking takes one
//! place in one slot of one working day and gets a short booking code (预约码) read aloud or typed
//! on the kiosk's keypad. Every rule about slots, places, codes and check-in times is here; the
//! server only counts and stores.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::Invalid;
use super::staff::Role;
use super::ticket::{Appointment, Ticket};
use super::time::{china_date, china_offset};

/// How early before its slot an applicant may check in (签到). Earlier than that the kiosk and the
/// desk say when to come back: a center that lets people queue an hour early has no slots.
pub const CHECK_IN_EARLY: TimeDelta = TimeDelta::minutes(30);
/// Most places one slot may have.
pub const MAX_CAPACITY: u32 = 99;
/// The center's opening hours: no slot begins before or ends after them (China time).
pub const OPENS: NaiveTime = NaiveTime::from_hms_opt(8, 0, 0).expect("valid time");
pub const CLOSES: NaiveTime = NaiveTime::from_hms_opt(18, 0, 0).expect("valid time");
/// Digits of a booking code: six, so that it is read aloud and typed on a numeric keypad without
/// any letter that looks like a digit (O/0, I/1) and one in a million is guessed.
pub const CODE_LEN: usize = 6;
/// Bookings one phone number may hold open (booked, not yet checked in or cancelled) for one
/// day, whoever books: a runaway portal, or someone booking every slot "just in case", cannot
/// fill a day's places with one number.
pub const MAX_OPEN_PER_PHONE: usize = 3;
/// Bookings one online channel account may make in an hour. The per-phone cap does not stop a
/// runaway or stolen channel from filling every slot with made-up numbers; a whole county's
/// portal booking one center stays far below this.
pub const CHANNEL_BOOKINGS_PER_HOUR: u32 = 120;

/// One slot of a working day for one category, with its number of places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotPlan {
    pub category: char,
    /// China time.
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub capacity: u32,
}

impl SlotPlan {
    /// The slot's start and end on `day`.
    pub fn on(&self, day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        (china_time_on(day, self.start), china_time_on(day, self.end))
    }
}

impl SlotPlan {
    /// `09:00-10:00/5`: a slot of `category` as the admin types it (start, end, places).
    pub fn parse(category: char, text: &str) -> Result<Self, Invalid> {
        let bad = || Invalid {
            field: "slots".into(),
            message: format!("时段应写作 09:00-10:00/5（开始-结束/名额），而不是「{text}」"),
        };
        let (times, capacity) = text.trim().split_once('/').ok_or_else(bad)?;
        let (start, end) = times.split_once('-').ok_or_else(bad)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        let capacity = capacity.trim().parse::<u32>().map_err(|_| bad())?;
        Ok(Self { category, start: time(start)?, end: time(end)?, capacity })
    }
}

impl std::fmt::Display for SlotPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}-{}/{}", self.category, self.start.format("%H:%M"), self.end.format("%H:%M"), self.capacity)
    }
}

/// The instant of China time `time` on `day`.
pub fn china_time_on(day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    china_offset().from_local_datetime(&day.and_time(time)).single().map_or_else(
        // A fixed offset has exactly one reading of every local time.
        || DateTime::<Utc>::from_naive_utc_and_offset(day.and_time(time), Utc),
        |local| local.with_timezone(&Utc),
    )
}

/// Everything wrong with a category's slots, at once: each within opening hours, ending after it
/// begins, with 1 to [`MAX_CAPACITY`] places, none overlapping another.
pub fn check_plans(plans: &[SlotPlan]) -> Vec<Invalid> {
    let mut out = Vec::new();
    let mut bad = |message: String| out.push(Invalid { field: "slots".into(), message });
    let hm = |t: NaiveTime| t.format("%H:%M").to_string();
    for p in plans {
        let name = format!("{} 类 {}-{}", p.category, hm(p.start), hm(p.end));
        if p.end <= p.start {
            bad(format!("{name}：结束应晚于开始"));
        } else if p.start < OPENS || p.end > CLOSES {
            bad(format!("{name}：应在办公时间 {}-{} 以内", hm(OPENS), hm(CLOSES)));
        }
        if p.capacity == 0 || p.capacity > MAX_CAPACITY {
            bad(format!("{name}：名额应为 1 到 {MAX_CAPACITY}"));
        }
    }
    for (i, a) in plans.iter().enumerate() {
        for b in &plans[i + 1..] {
            if a.category == b.category && a.start < b.end && b.start < a.end {
                bad(format!("{} 类 {}-{} 与 {}-{} 重叠", a.category, hm(a.start), hm(a.end), hm(b.start), hm(b.end)));
            }
        }
    }
    out
}

/// Whether one more place in the slot of `category` beginning at `slot_start` may be booked at
/// `now`: the slot exists, its day is a working day (`working_day`), it has not begun, it is
/// within [`super::queue::MAX_BOOKING_DAYS`], and fewer than its places are `booked`. The slot's
/// start and end when it may.
pub fn check_booking(
    plans: &[SlotPlan],
    category: char,
    slot_start: DateTime<Utc>,
    working_day: bool,
    booked: u32,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), Invalid> {
    let bad = |message: String| Invalid { field: "slot_start".into(), message };
    let day = china_date(slot_start);
    let plan = plans
        .iter()
        .find(|p| p.category == category && p.on(day).0 == slot_start)
        .ok_or_else(|| bad(format!("{category} 类没有这个预约时段")))?;
    if !working_day {
        return Err(bad(format!("{day} 不是工作日，不能预约")));
    }
    if slot_start <= now {
        return Err(bad("这个时段已经开始或已过去，不能预约".into()));
    }
    if day > china_date(now) + TimeDelta::days(super::queue::MAX_BOOKING_DAYS) {
        return Err(bad(format!("最多预约 {} 天以内", super::queue::MAX_BOOKING_DAYS)));
    }
    if places_left(plan, booked) == 0 {
        return Err(bad(format!("这个时段的 {} 个名额已约满，请选其他时段", plan.capacity)));
    }
    Ok(plan.on(day))
}

/// Places of `plan` left when `booked` of them are taken by live bookings (not cancelled).
pub fn places_left(plan: &SlotPlan, booked: u32) -> u32 {
    plan.capacity.saturating_sub(booked)
}

/// One slot of one day and how many places are left in it, as the desk, the director and the
/// online channel see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeSlot {
    pub category: char,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub capacity: u32,
    /// [`places_left`].
    pub left: u32,
    /// Whether the slot may still be booked at all (a working day, not begun, not too far
    /// ahead): [`check_booking`] with none of its places taken.
    pub open: bool,
}

impl FreeSlot {
    /// Whether one more place may be booked in it now.
    pub fn bookable(&self) -> bool {
        self.open && self.left > 0
    }

    /// How the slot stands, as the desk and the command line show it: 余N, 已满, or 不可约
    /// (begun, a day off, too far ahead).
    pub fn places_text(&self) -> String {
        match (self.open, self.left) {
            (false, _) => "不可约".into(),
            (true, 0) => "已满".into(),
            (true, n) => format!("余{n}"),
        }
    }

    /// `10:00-11:00` in China time.
    pub fn times_text(&self) -> String {
        let hm = |t: DateTime<Utc>| super::time::to_china(t).format("%H:%M").to_string();
        format!("{}-{}", hm(self.start), hm(self.end))
    }
}

/// The slots of `day` (of `category`, or every category) with their places left, `booked`
/// telling how many live bookings each slot has; in category and time order.
pub fn free_slots(
    plans: &[SlotPlan],
    day: NaiveDate,
    category: Option<char>,
    working_day: bool,
    now: DateTime<Utc>,
    mut booked: impl FnMut(&SlotPlan) -> u32,
) -> Vec<FreeSlot> {
    let mut out: Vec<FreeSlot> = plans
        .iter()
        .filter(|p| category.is_none_or(|c| c == p.category))
        .map(|p| {
            let (start, end) = p.on(day);
            let open = check_booking(plans, p.category, start, working_day, 0, now).is_ok();
            FreeSlot { category: p.category, start, end, capacity: p.capacity, left: places_left(p, booked(p)), open }
        })
        .collect();
    out.sort_by_key(|s| (s.category, s.start));
    out
}

/// Whether `role` books for applicants from outside the hall (the online channel): it must give
/// the applicant's phone, cancels only its own bookings, and sees nothing else.
pub fn is_channel(role: Role) -> bool {
    role == Role::OnlineChannel
}

/// What a booking of `role` must carry: the online channel always gives the phone number (the
/// per-phone cap and cancelling by code + phone need it); the desk may leave it out.
pub fn check_booker(role: Role, has_phone: bool) -> Result<(), Invalid> {
    if is_channel(role) && !has_phone {
        return Err(Invalid { field: "phone".into(), message: "网上预约须填写申请人的手机号码".into() });
    }
    Ok(())
}

/// Whether one more booking may be made for a phone number that holds `open` bookings of the
/// day already ([`MAX_OPEN_PER_PHONE`]).
pub fn check_phone_cap(open: usize) -> Result<(), Invalid> {
    if open >= MAX_OPEN_PER_PHONE {
        return Err(Invalid {
            field: "phone".into(),
            message: format!("同一手机号码一天最多保留 {MAX_OPEN_PER_PHONE} 个预约，请先取消不用的预约"),
        });
    }
    Ok(())
}

/// Who booked `t`: the account of its first event.
pub fn booked_by(t: &Ticket) -> Option<&str> {
    t.history.first().map(|e| e.by.as_str())
}

/// Whether the online channel `channel` may cancel the booked ticket `t`: only a booking it made
/// itself, named by its code together with the phone given when booking (`phone_matches`). The
/// desk cancels any booking by its code.
pub fn channel_may_cancel(t: &Ticket, channel: &str, phone_matches: bool) -> bool {
    phone_matches && booked_by(t) == Some(channel)
}

/// When an applicant arrives for a booked slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// More than [`CHECK_IN_EARLY`] before the slot: not yet; may check in from `opens`.
    TooEarly { opens: DateTime<Utc> },
    /// From [`CHECK_IN_EARLY`] before the slot to its end: checked in, called in the slot.
    InTime,
    /// After the slot ended: checked in all the same, but the slot is lost and the ticket queues
    /// like a walk-in from now ([`super::queue::slot_held`]).
    Late,
}

pub fn arrival(a: &Appointment, now: DateTime<Utc>) -> Arrival {
    let opens = a.slot_start - CHECK_IN_EARLY;
    if now < opens {
        Arrival::TooEarly { opens }
    } else if now <= a.slot_end {
        Arrival::InTime
    } else {
        Arrival::Late
    }
}

/// The booking code for a random number: six digits, the first not 0 (so that it is never read
/// as a shorter number).
pub fn booking_code(random: u32) -> String {
    format!("{}", 100_000 + random % 900_000)
}

/// A typed booking code, cleaned: spaces and dashes dropped; six digits or an error.
pub fn parse_code(raw: &str) -> Result<String, Invalid> {
    let text: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if text.len() == CODE_LEN && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0') {
        Ok(text)
    } else {
        Err(Invalid { field: "code".into(), message: "预约码应为 6 位数字".into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn plan(start: u32, end: u32, capacity: u32) -> SlotPlan {
        SlotPlan { category: 'A', start: t(start, 0), end: t(end, 0), capacity }
    }

    /// 2026-12-07 (a Monday) at `h:m` China time.
    fn at(h: u32, m: u32) -> DateTime<Utc> {
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        SlotPlan { category: 'A', start: t(h, m), end: t(h, m), capacity: 1 }.on(day).0
    }

    #[test]
    fn slots_are_china_time() {
        assert_eq!(at(9, 0).to_rfc3339(), "2026-12-07T01:00:00+00:00");
    }

    #[test]
    fn plans_are_checked() {
        assert!(check_plans(&[plan(9, 10, 5), plan(10, 11, 5)]).is_empty());
        let cases = [
            ("ends before it begins", vec![plan(10, 9, 5)]),
            ("before opening", vec![plan(7, 9, 5)]),
            ("after closing", vec![plan(17, 19, 5)]),
            ("no places", vec![plan(9, 10, 0)]),
            ("too many places", vec![plan(9, 10, MAX_CAPACITY + 1)]),
            ("overlap", vec![plan(9, 11, 5), plan(10, 12, 5)]),
        ];
        for (name, plans) in cases {
            assert_eq!(check_plans(&plans).len(), 1, "{name}");
        }
        let other = SlotPlan { category: 'B', ..plan(9, 11, 5) };
        assert!(check_plans(&[plan(9, 11, 5), other]).is_empty(), "other categories may overlap");
    }

    #[test]
    fn slots_are_typed_as_start_end_and_places() {
        assert_eq!(SlotPlan::parse('A', " 09:00-10:00/5 "), Ok(plan(9, 10, 5)));
        assert_eq!(plan(9, 10, 5).to_string(), "A 09:00-10:00/5");
        for bad in ["09:00-10:00", "9-10/5", "09:00/5", "09:00-10:00/x", "09:00-25:00/5"] {
            assert!(SlotPlan::parse('A', bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bookings_are_checked() {
        let plans = [plan(9, 10, 2), plan(10, 11, 2)];
        let now = at(8, 0);
        assert_eq!(check_booking(&plans, 'A', at(9, 0), true, 1, now), Ok((at(9, 0), at(10, 0))));
        let refused = |start, working, booked, now| check_booking(&plans, 'A', start, working, booked, now).is_err();
        assert!(refused(at(9, 0), true, 2, now), "full");
        assert!(refused(at(9, 30), true, 0, now), "no such slot");
        assert!(check_booking(&plans, 'B', at(9, 0), true, 0, now).is_err(), "no slots in B");
        assert!(refused(at(9, 0), false, 0, now), "not a working day");
        assert!(refused(at(9, 0), true, 0, at(9, 0)), "begun");
        assert!(refused(at(9, 0), true, 0, at(9, 0) + TimeDelta::days(40)), "past");
        assert!(refused(at(9, 0), true, 0, at(9, 0) - TimeDelta::days(31)), "too far ahead");
    }

    #[test]
    fn places_left_are_the_places_less_the_live_bookings() {
        let plans = [plan(9, 10, 2), plan(10, 11, 3), SlotPlan { category: 'B', ..plan(9, 10, 1) }];
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let booked = |p: &SlotPlan| if p.start == t(9, 0) { 2 } else { 1 };
        let free = free_slots(&plans, day, Some('A'), true, at(8, 0), booked);
        let shown: Vec<_> = free.iter().map(|s| (s.times_text(), s.left, s.places_text())).collect();
        assert_eq!(shown, [("09:00-10:00".into(), 0, "已满".into()), ("10:00-11:00".into(), 2, "余2".into())]);
        assert!(!free[0].bookable() && free[1].bookable());
        // The same rule as a booking: full exactly when no place is left.
        assert!(check_booking(&plans, 'A', at(9, 0), true, 2, at(8, 0)).is_err());
        assert!(check_booking(&plans, 'A', at(10, 0), true, 1, at(8, 0)).is_ok());
        assert_eq!(free_slots(&plans, day, None, true, at(8, 0), booked).len(), 3, "every category");
        // Begun, or a day off: not bookable, whatever is left.
        let begun = free_slots(&plans, day, Some('A'), true, at(9, 30), |_| 0);
        assert_eq!((begun[0].places_text().as_str(), begun[1].places_text().as_str()), ("不可约", "余3"));
        assert!(free_slots(&plans, day, None, false, at(8, 0), |_| 0).iter().all(|s| !s.bookable()));
        // More bookings than places (places lowered after booking) shows none left.
        assert_eq!(places_left(&plan(9, 10, 1), 3), 0);
    }

    #[test]
    fn the_online_channel_gives_a_phone_and_cancels_only_its_own() {
        assert!(check_booker(Role::OnlineChannel, false).is_err());
        assert!(check_booker(Role::OnlineChannel, true).is_ok());
        assert!(check_booker(Role::GuidanceDesk, false).is_ok());
        assert!(check_phone_cap(MAX_OPEN_PER_PHONE - 1).is_ok());
        assert_eq!(check_phone_cap(MAX_OPEN_PER_PHONE).unwrap_err().field, "phone");
        let request = crate::domain::queue::TicketRequest {
            category: 'A',
            priority: crate::domain::ticket::Priority::Normal,
            guide_code: None,
            note: None,
            slot: Some((at(10, 0), at(11, 0))),
        };
        let n = "A001".parse().unwrap();
        let ticket = crate::domain::queue::issue(uuid::Uuid::now_v7(), n, &request, "online-1", at(8, 0));
        assert_eq!(booked_by(&ticket), Some("online-1"));
        assert!(channel_may_cancel(&ticket, "online-1", true));
        assert!(!channel_may_cancel(&ticket, "online-1", false), "wrong phone");
        assert!(!channel_may_cancel(&ticket, "online-2", true), "another channel's");
    }

    #[test]
    fn check_in_from_half_an_hour_before() {
        let a = Appointment { slot_start: at(10, 0), slot_end: at(11, 0), checked_in: false, checked_in_at: None };
        assert_eq!(arrival(&a, at(9, 29)), Arrival::TooEarly { opens: at(9, 30) });
        assert_eq!(arrival(&a, at(9, 30)), Arrival::InTime);
        assert_eq!(arrival(&a, at(11, 0)), Arrival::InTime);
        assert_eq!(arrival(&a, at(11, 1)), Arrival::Late);
    }

    #[test]
    fn codes_are_six_plain_digits() {
        for r in [0, 1, 899_999, 900_000, u32::MAX] {
            let code = booking_code(r);
            assert_eq!(parse_code(&code), Ok(code.clone()), "{r}");
        }
        assert_eq!(parse_code(" 123-456 "), Ok("123456".into()));
        for bad in ["", "12345", "1234567", "012345", "12345A", "１２３４５６"] {
            assert!(parse_code(bad).is_err(), "{bad}");
        }
    }
}
