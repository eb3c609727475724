//! The queue's rules, pure: which waiting ticket a window gets next, and which changes a ticket may
//! go through. The server applies them inside one write transaction; nothing here reads a clock, a
//! database or the network.
//!
//! The selection rule, in order:
//! 1. a checked-in appointment (预约) whose slot has begun, earliest slot first. Before its slot it
//!    is not called at all; one checked in after its slot ended has lost the slot and queues like
//!    any other ticket from its check-in;
//! 2. everyone else by the time they joined the line, where a green-channel ticket (绿色通道) counts
//!    as if it had joined [`GREEN_HEAD_START`] earlier.
//!
//! Rule 2 is why normal tickets cannot starve: a normal ticket is overtaken only by green tickets
//! that joined less than the head start after it, however many green tickets keep arriving, and
//! the rule needs no counter shared between windows. Ties go by number. Parked (挂起), no-show
//! (过号), booked-but-not-arrived tickets, tickets of another day and tickets transferred to
//! another window are never selected.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use uuid::Uuid;

use super::error::Invalid;
use super::text::clean_line;
use super::ticket::{Appointment, Priority, QueueAction, Ticket, TicketEvent, TicketNumber, TicketStatus};
use super::time::china_date;

/// How much earlier a green-channel ticket counts as having joined the line.
pub const GREEN_HEAD_START: TimeDelta = TimeDelta::minutes(10);
/// Longest note on a ticket, in characters.
pub const MAX_NOTE_CHARS: usize = 100;
/// Longest reason for pausing a window.
pub const MAX_REASON_CHARS: usize = 50;
/// How far ahead an appointment may be booked, in days.
pub const MAX_BOOKING_DAYS: i64 = 30;
/// Longest appointment slot.
pub const MAX_SLOT: TimeDelta = TimeDelta::hours(4);
/// The highest daily sequence of one category (`A9999`).
pub const MAX_SEQ: u32 = 9999;

/// The appointment of a ticket that still holds its slot: checked in no later than the slot's end.
pub fn slot_held(t: &Ticket) -> Option<&Appointment> {
    t.appointment.as_ref().filter(|a| a.checked_in && a.checked_in_at.is_none_or(|at| at <= a.slot_end))
}

/// Where a waiting ticket stands in the line: the lowest is called first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rank {
    /// 0: an appointment holding its slot; 1: everyone else.
    pub tier: u8,
    /// Unix milliseconds: the slot's start (tier 0), or the time it joined the line less the
    /// green head start (tier 1).
    pub at_ms: i64,
    pub number: TicketNumber,
}

pub fn rank(t: &Ticket) -> Rank {
    match slot_held(t) {
        Some(a) => Rank { tier: 0, at_ms: a.slot_start.timestamp_millis(), number: t.number },
        None => {
            let head_start = if t.priority.is_green() { GREEN_HEAD_START } else { TimeDelta::zero() };
            Rank { tier: 1, at_ms: (t.queued_at - head_start).timestamp_millis(), number: t.number }
        }
    }
}

/// Whether 叫下一个 at `window`, which calls from `categories`, may be given `t` at `now`.
pub fn callable_by(t: &Ticket, window: u32, categories: &[char], now: DateTime<Utc>) -> bool {
    t.status == TicketStatus::Waiting
        && t.day == china_date(now)
        && match t.target_window {
            Some(target) => target == window,
            None => categories.contains(&t.category),
        }
        && slot_held(t).is_none_or(|a| a.slot_start <= now)
}

/// The ticket 叫下一个 at `window` gets, if any.
pub fn select_next<'a>(
    window: u32,
    categories: &[char],
    waiting: &'a [Ticket],
    now: DateTime<Utc>,
) -> Option<&'a Ticket> {
    waiting.iter().filter(|t| callable_by(t, window, categories, now)).min_by_key(|t| rank(t))
}

/// One change to one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// 签到: a booked applicant has arrived.
    CheckIn,
    /// 叫号, by 叫下一个 or by number (a waiting or a no-show ticket).
    Call {
        window: u32,
    },
    /// 重呼.
    Recall {
        window: u32,
    },
    /// 过号: called and did not come.
    NoShow {
        window: u32,
    },
    /// 过号 back into the line, at the back.
    Return,
    Start {
        window: u32,
    },
    Finish {
        window: u32,
    },
    /// 转移: back into the line of another category, or of one window, keeping the number and the
    /// time it first joined the line.
    Transfer {
        window: u32,
        category: char,
        to_window: Option<u32>,
    },
    /// 挂起: set aside at the window (e.g. the applicant fetches a missing paper).
    Park {
        window: u32,
    },
    /// 回呼: the window calls its parked ticket again.
    CallBack {
        window: u32,
    },
    /// Left over from a past day.
    Expire,
    /// 取消预约: a booking not yet checked in is withdrawn; the ticket is void and its place in
    /// the slot free again.
    Cancel,
}

impl Step {
    pub fn action(&self) -> QueueAction {
        match self {
            Self::CheckIn => QueueAction::CheckedIn,
            Self::Cancel => QueueAction::Cancelled,
            Self::Call { .. } => QueueAction::Called,
            Self::Recall { .. } => QueueAction::Recalled,
            Self::NoShow { .. } => QueueAction::NoShow,
            Self::Return => QueueAction::Returned,
            Self::Start { .. } => QueueAction::Started,
            Self::Finish { .. } => QueueAction::Finished,
            Self::Transfer { .. } => QueueAction::Transferred,
            Self::Park { .. } => QueueAction::Parked,
            Self::CallBack { .. } => QueueAction::CalledBack,
            Self::Expire => QueueAction::Expired,
        }
    }

    /// The window that does it, if a window does.
    pub fn window(&self) -> Option<u32> {
        match *self {
            Self::Call { window }
            | Self::Recall { window }
            | Self::NoShow { window }
            | Self::Start { window }
            | Self::Finish { window }
            | Self::Transfer { window, .. }
            | Self::Park { window }
            | Self::CallBack { window } => Some(window),
            Self::CheckIn | Self::Return | Self::Expire | Self::Cancel => None,
        }
    }
}

fn where_it_is(t: &Ticket) -> String {
    match t.window {
        Some(w) if t.status.is_at_window() || t.status == TicketStatus::Parked => {
            format!("「{}」（{w} 号窗口）", t.status.label())
        }
        _ => format!("「{}」", t.status.label()),
    }
}

fn require(t: &Ticket, allowed: &[TicketStatus], what: &str) -> Result<(), Invalid> {
    if allowed.contains(&t.status) {
        Ok(())
    } else {
        Err(Invalid {
            field: "status".into(), message: format!("{} 当前{}，不能{what}", t.number, where_it_is(t))
        })
    }
}

fn require_at(t: &Ticket, window: u32, what: &str) -> Result<(), Invalid> {
    if t.window == Some(window) {
        Ok(())
    } else {
        Err(Invalid {
            field: "window".into(),
            message: format!("{} 不在 {window} 号窗口（当前{}），不能{what}", t.number, where_it_is(t)),
        })
    }
}

fn require_today(t: &Ticket, now: DateTime<Utc>, what: &str) -> Result<(), Invalid> {
    let today = china_date(now);
    if t.day == today {
        Ok(())
    } else {
        Err(Invalid {
            field: "day".into(), message: format!("{} 是 {} 的号，不是今天的，不能{what}", t.number, t.day)
        })
    }
}

/// Applies `step`, done by staff member `by` at `now`, to `t`: the changed ticket with the step at
/// the end of its history, or why the step is not allowed now.
pub fn apply(t: &Ticket, step: &Step, by: &str, now: DateTime<Utc>, note: Option<&str>) -> Result<Ticket, Invalid> {
    use TicketStatus::{Booked, Called, NoShow, Parked, Serving, Waiting};
    let mut n = t.clone();
    match *step {
        Step::CheckIn => {
            require(t, &[Booked], "签到")?;
            require_today(t, now, "签到")?;
            if let Some(super::appointment::Arrival::TooEarly { opens }) =
                t.appointment.as_ref().map(|a| super::appointment::arrival(a, now))
            {
                let opens = super::time::to_china(opens).format("%H:%M");
                return Err(Invalid {
                    field: "check_in".into(),
                    message: format!("{} 的预约时段还没到，{opens} 起可以签到", t.number),
                });
            }
            if let Some(a) = &mut n.appointment {
                a.checked_in = true;
                a.checked_in_at = Some(now);
            }
            n.status = Waiting;
            n.queued_at = now;
        }
        Step::Call { window } => {
            require(t, &[Waiting, NoShow], "叫号")?;
            require_today(t, now, "叫号")?;
            if let Some(target) = t.target_window.filter(|&target| target != window) {
                return Err(Invalid {
                    field: "window".into(),
                    message: format!("{} 已转至 {target} 号窗口，只能由该窗口叫号", t.number),
                });
            }
            n.status = Called;
            n.window = Some(window);
            n.called_at = Some(now);
            n.target_window = None;
        }
        Step::Recall { window } => {
            require(t, &[Called], "重呼")?;
            require_at(t, window, "重呼")?;
            n.recalls += 1;
        }
        Step::NoShow { window } => {
            require(t, &[Called], "记为过号")?;
            require_at(t, window, "记为过号")?;
            n.status = NoShow;
            n.window = None;
            n.no_shows += 1;
        }
        Step::Return => {
            require(t, &[NoShow], "回到队列")?;
            require_today(t, now, "回到队列")?;
            n.status = Waiting;
            n.queued_at = now;
        }
        Step::Start { window } => {
            require(t, &[Called], "开始办理")?;
            require_at(t, window, "开始办理")?;
            n.status = Serving;
            n.started_at = Some(now);
        }
        Step::Finish { window } => {
            require(t, &[Called, Serving], "办结")?;
            require_at(t, window, "办结")?;
            n.status = TicketStatus::Done;
            n.started_at.get_or_insert(now);
            n.finished_at = Some(now);
        }
        Step::Transfer { window, category, to_window } => {
            require(t, &[Called, Serving], "转移")?;
            require_at(t, window, "转移")?;
            if to_window == Some(window) {
                return Err(Invalid { field: "to_window".into(), message: "不能转移到本窗口".into() });
            }
            if !category.is_ascii_uppercase() {
                return Err(Invalid {
                    field: "category".into(), message: format!("无效的排队类别: {category}")
                });
            }
            if to_window.is_none() && category == t.category {
                return Err(Invalid {
                    field: "category".into(),
                    message: format!("{} 已在 {category} 类排队，请选择其他类别或窗口", t.number),
                });
            }
            n.status = Waiting;
            n.category = category;
            n.target_window = to_window;
            n.window = None;
            n.called_at = None;
            n.started_at = None;
        }
        Step::Park { window } => {
            require(t, &[Called, Serving], "挂起")?;
            require_at(t, window, "挂起")?;
            n.status = Parked;
        }
        Step::CallBack { window } => {
            require(t, &[Parked], "回呼")?;
            if t.window != Some(window) {
                let at = t.window.map_or_else(|| "其他".to_owned(), |w| w.to_string());
                return Err(Invalid {
                    field: "window".into(),
                    message: format!("{} 挂起在 {at} 号窗口，只能由该窗口回呼", t.number),
                });
            }
            n.status = Called;
            n.called_at = Some(now);
        }
        Step::Cancel => {
            require(t, &[Booked], "取消预约")?;
            n.status = TicketStatus::Expired;
        }
        Step::Expire => {
            if t.status.is_final() {
                return Err(Invalid {
                    field: "status".into(),
                    message: format!("{} 当前{}，不能作废", t.number, where_it_is(t)),
                });
            }
            n.status = TicketStatus::Expired;
            n.window = None;
            n.target_window = None;
        }
    }
    n.history.push(TicketEvent {
        at: now,
        action: step.action(),
        window: step.window(),
        by: by.to_owned(),
        note: note.map(str::to_owned),
    });
    Ok(n)
}

/// What the guidance desk, a kiosk or a window asks for when issuing or booking a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRequest {
    pub category: char,
    pub priority: Priority,
    /// The service asked for (a guide code), if known.
    pub guide_code: Option<String>,
    pub note: Option<String>,
    /// Booking (预约) a slot. Without it the ticket joins the line at once.
    pub slot: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Cleans a note: one line, trimmed, empty is none, at most [`MAX_NOTE_CHARS`].
pub fn clean_note(note: Option<&str>) -> Result<Option<String>, Invalid> {
    let Some(note) = note.map(|n| clean_line(n).trim().to_owned()).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(Invalid { field: "note".into(), message: format!("备注不能超过 {MAX_NOTE_CHARS} 个字") });
    }
    Ok(Some(note))
}

/// The China day a requested ticket's number belongs to: today, or the day of the booked slot.
pub fn day_of(r: &TicketRequest, now: DateTime<Utc>) -> NaiveDate {
    r.slot.map_or_else(|| china_date(now), |(start, _)| china_date(start))
}

/// Everything wrong with a request, at once. Whether the category exists is the store's to say.
pub fn check_request(r: &TicketRequest, now: DateTime<Utc>) -> Vec<Invalid> {
    let mut out = Vec::new();
    let mut bad = |field: &str, message: String| out.push(Invalid { field: field.into(), message });
    if !r.category.is_ascii_uppercase() {
        bad("category", format!("无效的排队类别: {}", r.category));
    }
    if r.guide_code.as_ref().is_some_and(|c| c.trim().is_empty() || c.len() > 64) {
        bad("guide_code", "事项编码无效".into());
    }
    if let Err(e) = clean_note(r.note.as_deref()) {
        bad(&e.field, e.message);
    }
    if let Some((start, end)) = r.slot {
        let today = china_date(now);
        if end <= start {
            bad("slot_end", "预约时段的结束应晚于开始".into());
        } else if end - start > MAX_SLOT {
            bad("slot_end", "预约时段不能超过 4 小时".into());
        } else if china_date(start) != china_date(end - TimeDelta::milliseconds(1)) {
            bad("slot_end", "预约时段不能跨天".into());
        }
        if end <= now {
            bad("slot_start", "预约时段已经过去".into());
        }
        if china_date(start) > today + TimeDelta::days(MAX_BOOKING_DAYS) {
            bad("slot_start", format!("最多预约 {MAX_BOOKING_DAYS} 天以内"));
        }
    }
    out
}

/// The number after `last` (0 when none was issued yet) in `category` on one day.
pub fn next_number(category: char, last: u32) -> Result<TicketNumber, Invalid> {
    if last >= MAX_SEQ {
        return Err(Invalid { field: "category".into(), message: format!("{category} 类今天的号已经发完") });
    }
    Ok(TicketNumber { category, seq: last + 1 })
}

/// A new ticket for a checked request: waiting, or booked when it has a slot.
pub fn issue(id: Uuid, number: TicketNumber, r: &TicketRequest, by: &str, now: DateTime<Utc>) -> Ticket {
    let note = clean_note(r.note.as_deref()).ok().flatten();
    let (status, action) = if r.slot.is_some() {
        (TicketStatus::Booked, QueueAction::Booked)
    } else {
        (TicketStatus::Waiting, QueueAction::Issued)
    };
    Ticket {
        id,
        number,
        day: day_of(r, now),
        priority: r.priority,
        appointment: r.slot.map(|(slot_start, slot_end)| Appointment {
            slot_start,
            slot_end,
            checked_in: false,
            checked_in_at: None,
        }),
        guide_code: r.guide_code.as_ref().map(|c| c.trim().to_owned()),
        status,
        window: None,
        issued_at: now,
        called_at: None,
        started_at: None,
        finished_at: None,
        recalls: 0,
        category: number.category,
        target_window: None,
        queued_at: now,
        walk_in: false,
        no_shows: 0,
        note: note.clone(),
        history: vec![TicketEvent { at: now, action, window: None, by: by.to_owned(), note }],
    }
}

/// A ticket for someone served at `window` without one from the queue (直接办理): in service at once.
pub fn walk_in(
    id: Uuid,
    number: TicketNumber,
    window: u32,
    note: Option<String>,
    by: &str,
    now: DateTime<Utc>,
) -> Ticket {
    Ticket {
        id,
        number,
        day: china_date(now),
        priority: Priority::Normal,
        appointment: None,
        guide_code: None,
        status: TicketStatus::Serving,
        window: Some(window),
        issued_at: now,
        called_at: Some(now),
        started_at: Some(now),
        finished_at: None,
        recalls: 0,
        category: number.category,
        target_window: None,
        queued_at: now,
        walk_in: true,
        no_shows: 0,
        note: note.clone(),
        history: vec![TicketEvent {
            at: now,
            action: QueueAction::WalkIn,
            window: Some(window),
            by: by.to_owned(),
            note,
        }],
    }
}

/// Checks and cleans the reason for pausing a window (暂停).
pub fn pause_reason(reason: &str) -> Result<String, Invalid> {
    let reason = clean_line(reason).trim().to_owned();
    if reason.is_empty() {
        return Err(Invalid { field: "reason".into(), message: "请填写暂停原因".into() });
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(Invalid {
            field: "reason".into(), message: format!("暂停原因不能超过 {MAX_REASON_CHARS} 个字")
        });
    }
    Ok(reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::GreenReason;

    /// 2026-03-02 09:00 China time.
    fn t0() -> DateTime<Utc> {
        "2026-03-02T01:00:00Z".parse().unwrap()
    }

    fn min(m: i64) -> DateTime<Utc> {
        t0() + TimeDelta::minutes(m)
    }

    fn ticket(number: &str, queued_min: i64, green: bool) -> Ticket {
        let number: TicketNumber = number.parse().unwrap();
        let request = TicketRequest {
            category: number.category,
            priority: if green { Priority::Green(GreenReason::Elderly) } else { Priority::Normal },
            guide_code: None,
            note: None,
            slot: None,
        };
        issue(Uuid::nil(), number, &request, "d001", min(queued_min))
    }

    /// Booked for [from, to) minutes, checked in at `arrived` (if it has arrived).
    fn booked(number: &str, from: i64, to: i64, arrived: Option<i64>) -> Ticket {
        let mut t = ticket(number, -60, false);
        t.appointment =
            Some(Appointment { slot_start: min(from), slot_end: min(to), checked_in: false, checked_in_at: None });
        t.status = TicketStatus::Booked;
        match arrived {
            Some(m) => apply(&t, &Step::CheckIn, "d001", min(m), None).unwrap(),
            None => t,
        }
    }

    fn with(mut t: Ticket, f: impl FnOnce(&mut Ticket)) -> Ticket {
        f(&mut t);
        t
    }

    /// (case, window categories, waiting tickets, minutes after t0 the window calls, expected).
    type SelectionCase = (&'static str, &'static [char], Vec<Ticket>, i64, Option<&'static str>);
    /// (status, window it is at, step, resulting status or the start of the refusal).
    type TransitionCase = (TicketStatus, Option<u32>, Step, Result<TicketStatus, &'static str>);

    #[test]
    fn selection_by_table() {
        const A: &[char] = &['A'];
        const AB: &[char] = &['A', 'B'];
        let cases: Vec<SelectionCase> = vec![
            ("empty", A, vec![], 0, None),
            ("first come first served", A, vec![ticket("A002", 2, false), ticket("A001", 1, false)], 5, Some("A001")),
            (
                "only the window's categories",
                A,
                vec![ticket("B001", 0, false), ticket("A001", 3, false)],
                5,
                Some("A001"),
            ),
            (
                "across categories by time",
                AB,
                vec![ticket("A001", 3, false), ticket("B001", 1, false)],
                5,
                Some("B001"),
            ),
            ("nothing in the window's categories", A, vec![ticket("B001", 0, false)], 5, None),
            (
                "green jumps a recent normal",
                A,
                vec![ticket("A001", 0, false), ticket("A002", 5, true)],
                6,
                Some("A002"),
            ),
            (
                "green does not jump one who waited longer than the head start",
                A,
                vec![ticket("A001", 0, false), ticket("A002", 11, true)],
                12,
                Some("A001"),
            ),
            ("two greens keep their order", A, vec![ticket("A002", 2, true), ticket("A001", 1, true)], 5, Some("A001")),
            ("ties go by number", AB, vec![ticket("B001", 1, false), ticket("A001", 1, false)], 5, Some("A001")),
            (
                "appointment in its slot goes first",
                A,
                vec![ticket("A001", 0, false), booked("A002", 30, 60, Some(20))],
                30,
                Some("A002"),
            ),
            (
                "appointment before its slot waits",
                A,
                vec![ticket("A001", 25, false), booked("A002", 30, 60, Some(20))],
                29,
                Some("A001"),
            ),
            ("appointment before its slot alone: nobody", A, vec![booked("A002", 30, 60, Some(20))], 29, None),
            ("booked but not arrived is not called", A, vec![booked("A002", 30, 60, None)], 40, None),
            (
                "arrived after the slot: queues from arrival",
                A,
                vec![booked("A002", 30, 60, Some(61)), ticket("A001", 62, false)],
                63,
                Some("A002"),
            ),
            (
                "arrived after the slot: behind those before",
                A,
                vec![ticket("A001", 50, false), booked("A002", 30, 60, Some(61))],
                63,
                Some("A001"),
            ),
            (
                "parked and no-show are skipped",
                A,
                vec![
                    with(ticket("A001", 0, false), |t| t.status = TicketStatus::Parked),
                    with(ticket("A002", 1, false), |t| t.status = TicketStatus::NoShow),
                    ticket("A003", 2, false),
                ],
                5,
                Some("A003"),
            ),
            (
                "transferred to another window is skipped",
                A,
                vec![with(ticket("A001", 0, false), |t| t.target_window = Some(4)), ticket("A002", 1, false)],
                5,
                Some("A002"),
            ),
            (
                "transferred to this window, whatever its category",
                A,
                vec![ticket("A002", 0, false), with(ticket("D001", 1, false), |t| t.target_window = Some(1))],
                5,
                Some("A002"),
            ),
            (
                "transferred into a category keeps its place",
                A,
                vec![ticket("A005", 3, false), with(ticket("C001", 1, false), |t| t.category = 'A')],
                5,
                Some("C001"),
            ),
            (
                "yesterday's ticket is not called",
                A,
                vec![with(ticket("A001", 0, false), |t| t.day = t.day.pred_opt().unwrap())],
                5,
                None,
            ),
        ];
        for (case, categories, waiting, at, expected) in cases {
            let got = select_next(1, categories, &waiting, min(at)).map(|t| t.number.to_string());
            assert_eq!(got.as_deref(), expected, "{case}");
        }
    }

    #[test]
    fn a_stream_of_green_tickets_cannot_starve_a_normal_one() {
        // A normal ticket at minute 0, then a green one every minute for two hours, and a window
        // that serves one ticket a minute: the normal one is served by minute 11.
        let mut waiting = vec![ticket("A001", 0, false)];
        for m in 0..120 {
            if m > 0 {
                waiting.push(ticket(&format!("A{:03}", m + 1), m, true));
            }
            let next = select_next(1, &['A'], &waiting, min(m)).unwrap().number;
            if next.seq == 1 {
                assert!(m <= GREEN_HEAD_START.num_minutes() + 1, "served at minute {m}");
                return;
            }
            waiting.retain(|t| t.number != next);
        }
        panic!("the normal ticket was never served");
    }

    #[test]
    fn transitions_by_table() {
        use TicketStatus::*;
        let base = |status: TicketStatus, window: Option<u32>| {
            with(ticket("A001", 0, false), |t| {
                t.status = status;
                t.window = window;
            })
        };
        let transfer = Step::Transfer { window: 1, category: 'C', to_window: None };
        let cases: Vec<TransitionCase> = vec![
            (Waiting, None, Step::Call { window: 1 }, Ok(Called)),
            (NoShow, None, Step::Call { window: 1 }, Ok(Called)),
            (Called, Some(2), Step::Call { window: 1 }, Err("A001 当前「已叫号」（2 号窗口），不能叫号")),
            (Parked, Some(1), Step::Call { window: 1 }, Err("A001 当前「挂起」（1 号窗口），不能叫号")),
            (Done, None, Step::Call { window: 1 }, Err("A001 当前「已完成」，不能叫号")),
            (Called, Some(1), Step::Recall { window: 1 }, Ok(Called)),
            (Serving, Some(1), Step::Recall { window: 1 }, Err("A001 当前「办理中」（1 号窗口），不能重呼")),
            (Called, Some(2), Step::Recall { window: 1 }, Err("A001 不在 1 号窗口")),
            (Called, Some(1), Step::NoShow { window: 1 }, Ok(NoShow)),
            (Serving, Some(1), Step::NoShow { window: 1 }, Err("A001 当前「办理中」（1 号窗口），不能记为过号")),
            (NoShow, None, Step::Return, Ok(Waiting)),
            (Waiting, None, Step::Return, Err("A001 当前「等候」，不能回到队列")),
            (Called, Some(1), Step::Start { window: 1 }, Ok(Serving)),
            (Waiting, None, Step::Start { window: 1 }, Err("A001 当前「等候」，不能开始办理")),
            (Serving, Some(1), Step::Finish { window: 1 }, Ok(Done)),
            (Called, Some(1), Step::Finish { window: 1 }, Ok(Done)),
            (Parked, Some(1), Step::Finish { window: 1 }, Err("A001 当前「挂起」（1 号窗口），不能办结")),
            (Serving, Some(1), transfer.clone(), Ok(Waiting)),
            (Called, Some(1), transfer.clone(), Ok(Waiting)),
            (Waiting, None, transfer, Err("A001 当前「等候」，不能转移")),
            (Serving, Some(1), Step::Transfer { window: 1, category: 'A', to_window: None }, Err("A001 已在 A 类排队")),
            (
                Serving,
                Some(1),
                Step::Transfer { window: 1, category: 'A', to_window: Some(1) },
                Err("不能转移到本窗口"),
            ),
            (Serving, Some(1), Step::Transfer { window: 1, category: 'A', to_window: Some(3) }, Ok(Waiting)),
            (Serving, Some(1), Step::Park { window: 1 }, Ok(Parked)),
            (Called, Some(1), Step::Park { window: 1 }, Ok(Parked)),
            (Parked, Some(1), Step::Park { window: 1 }, Err("A001 当前「挂起」（1 号窗口），不能挂起")),
            (Parked, Some(1), Step::CallBack { window: 1 }, Ok(Called)),
            (Parked, Some(1), Step::CallBack { window: 2 }, Err("A001 挂起在 1 号窗口，只能由该窗口回呼")),
            (Serving, Some(1), Step::CallBack { window: 1 }, Err("A001 当前「办理中」（1 号窗口），不能回呼")),
            (Waiting, None, Step::CheckIn, Err("A001 当前「等候」，不能签到")),
            (Serving, Some(1), Step::Expire, Ok(Expired)),
            (Done, None, Step::Expire, Err("A001 当前「已完成」，不能作废")),
        ];
        for (status, window, step, expected) in cases {
            let before = base(status, window);
            let result = apply(&before, &step, "s001", min(1), None);
            match (expected, result) {
                (Ok(want), Ok(after)) => {
                    assert_eq!(after.status, want, "{status:?} {step:?}");
                    let last = after.history.last().unwrap();
                    assert_eq!((last.action, last.window, last.by.as_str()), (step.action(), step.window(), "s001"));
                    assert_eq!(after.number, before.number, "the number never changes");
                    // A finished ticket remembers where it was served.
                    if want.is_at_window() || want == Parked || want == Done {
                        assert_eq!(after.window, step.window(), "{status:?} {step:?}");
                    } else {
                        assert_eq!(after.window, None, "{status:?} {step:?}");
                    }
                }
                (Err(want), Err(e)) => assert!(e.message.starts_with(want), "{status:?} {step:?}: {}", e.message),
                (want, got) => panic!("{status:?} {step:?}: expected {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn transitions_keep_count_and_place() {
        let t = apply(&ticket("A001", 0, false), &Step::Call { window: 1 }, "s001", min(1), None).unwrap();
        let t = apply(&t, &Step::Recall { window: 1 }, "s001", min(2), None).unwrap();
        let t = apply(&t, &Step::Recall { window: 1 }, "s001", min(3), None).unwrap();
        assert_eq!(t.recalls, 2);
        let moved =
            apply(&t, &Step::Transfer { window: 1, category: 'C', to_window: None }, "s001", min(4), Some("补材料"))
                .unwrap();
        assert_eq!((moved.category, moved.number.to_string(), moved.queued_at), ('C', "A001".into(), min(0)));
        assert_eq!(moved.history.last().unwrap().note.as_deref(), Some("补材料"));
        let missed = apply(&t, &Step::NoShow { window: 1 }, "s001", min(4), None).unwrap();
        let back = apply(&missed, &Step::Return, "d001", min(9), None).unwrap();
        assert_eq!((back.no_shows, back.queued_at), (1, min(9)), "a returned ticket joins at the back");
        let tomorrow = with(missed, |t| t.day = t.day.pred_opt().unwrap());
        assert!(apply(&tomorrow, &Step::Return, "d001", min(9), None).is_err(), "yesterday's ticket stays gone");
        let actions: Vec<_> = back.history.iter().map(|e| e.action.label()).collect();
        assert_eq!(actions, ["取号", "叫号", "重呼", "重呼", "过号", "回队"]);
    }

    #[test]
    fn appointments_check_in_on_their_day_only() {
        let b = booked("A001", 30, 60, None);
        let checked = apply(&b, &Step::CheckIn, "d001", min(10), None).unwrap();
        assert_eq!(checked.status, TicketStatus::Waiting);
        assert_eq!(checked.appointment.unwrap().checked_in_at, Some(min(10)));
        let next_day = apply(&b, &Step::CheckIn, "d001", min(24 * 60), None).unwrap_err();
        assert!(next_day.message.contains("不是今天"), "{}", next_day.message);
    }

    #[test]
    fn requests_are_checked() {
        let ok = TicketRequest { category: 'A', priority: Priority::Normal, guide_code: None, note: None, slot: None };
        assert!(check_request(&ok, t0()).is_empty());
        let fields = |r: &TicketRequest| check_request(r, t0()).into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(&TicketRequest { category: 'a', ..ok.clone() }), ["category"]);
        assert_eq!(fields(&TicketRequest { note: Some("长".repeat(101)), ..ok.clone() }), ["note"]);
        assert_eq!(fields(&TicketRequest { slot: Some((min(60), min(30))), ..ok.clone() }), ["slot_end"]);
        assert_eq!(fields(&TicketRequest { slot: Some((min(-60), min(-30))), ..ok.clone() }), ["slot_start"]);
        assert_eq!(fields(&TicketRequest { slot: Some((min(60), min(60 * 6))), ..ok.clone() }), ["slot_end"]);
        assert_eq!(
            fields(&TicketRequest { slot: Some((min(40 * 24 * 60), min(40 * 24 * 60 + 30))), ..ok.clone() }),
            ["slot_start"]
        );
        let booked = TicketRequest { slot: Some((min(24 * 60), min(24 * 60 + 30))), ..ok };
        assert!(check_request(&booked, t0()).is_empty());
        assert_eq!(day_of(&booked, t0()), china_date(t0()).succ_opt().unwrap(), "numbered on the slot's day");
        assert_eq!(issue(Uuid::nil(), "A001".parse().unwrap(), &booked, "d001", t0()).status, TicketStatus::Booked);
    }

    #[test]
    fn numbers_run_out_at_9999() {
        assert_eq!(next_number('A', 0).unwrap().to_string(), "A001");
        assert_eq!(next_number('B', 13).unwrap().to_string(), "B014");
        assert!(next_number('A', MAX_SEQ).is_err());
    }

    #[test]
    fn pause_needs_a_reason() {
        assert_eq!(pause_reason("  午休\n").unwrap(), "午休");
        assert!(pause_reason(" ").is_err());
        assert!(pause_reason(&"长".repeat(51)).is_err());
    }
}
