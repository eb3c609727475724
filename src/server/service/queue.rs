//! The queue's command flow: each command runs in one unit of work holding the queue lock. It
//! takes the next queue revision, voids what is left over from past days, reads what it needs,
//! applies the pure rules of [`crate::domain::queue`] and writes the result, so two windows calling
//! at the same instant never get the same ticket, on one server process or on several sharing
//! the database.

use chrono::{DateTime, NaiveDate, Utc};

use super::day_queue::{DayQueue, Undo};
use crate::api::queue::{QueueChange, WindowPause, WindowQueueState};
use crate::domain::Invalid;
use crate::domain::applicant::Phone;
use crate::domain::appointment;
use crate::domain::center::Window;
use crate::domain::queue::{self as rules, Step};
use crate::domain::ticket::{QueueAction, Ticket, TicketNumber};
use crate::domain::time::china_date;
use crate::server::store::repo::{BookingKey, Lock, QueueUnit, Repository};
use crate::server::store::{BookingLookup, QueueCommand, QueueError};

/// How many of the first waiting tickets, in the rule's own order, the selection looks at. The
/// first is the one unless the rule refuses it; the rest are a margin.
const CANDIDATES: usize = 8;
/// Who voids tickets left over from a past day.
const SYSTEM: &str = "system";

fn invalid(field: &str, message: impl Into<String>) -> QueueError {
    QueueError::Invalid(vec![Invalid { field: field.into(), message: message.into() }])
}

/// Carries out `command` for staff member `by` at `now` in one unit of work, and returns the
/// committed change with its revision. Also voids tickets left over from past days.
pub async fn queue_command(
    repo: &dyn Repository,
    command: &QueueCommand,
    by: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<QueueChange, QueueError> {
    let mut unit = repo.begin(Lock::Queue).await?;
    let change = command_in(unit.as_mut(), command, by, note, now).await?;
    unit.commit().await?;
    Ok(change)
}

/// One command of a batch ([`queue_batch`]): what, by whom, with which note.
#[derive(Debug, Clone)]
pub struct Queued {
    pub command: QueueCommand,
    pub by: String,
    pub note: Option<String>,
    /// For an issue, the status-page token of the kiosk's slip, given to the new ticket in the
    /// command's own unit, by the same statement that writes the ticket ([`DayQueue::slip_token`]).
    /// A write of its own after the issue's commit was a second commit (a second wait for the
    /// disk) per ticket, and on SQLite a writer racing the queue's next unit for the one write
    /// lock, whose busy wait stalled the windows' calls behind it; an update of its own after the
    /// batch's writes was a round trip more per issued ticket.
    pub status_token: Option<String>,
}

impl Queued {
    pub fn new(command: QueueCommand, by: impl Into<String>, note: Option<String>) -> Self {
        Self { command, by: by.into(), note, status_token: None }
    }
}

/// Carries out `batch` in order in one unit of work with one commit (group commit: one wait for
/// the disk instead of one per command), each command at the server's `now()` when its turn
/// comes and seeing what the commands before it wrote. A command that fails undoes only its own
/// writes (its revision too, so revisions stay gapless); the others go on. Nothing is committed
/// before the end, so a change in the result is on the disk, and a failed commit fails every
/// command of the batch. If the unit itself breaks before its commit, nothing of it was
/// committed and every command not yet answered runs again on its own.
///
/// No savepoint is taken per command: a refused command has taken only its revision (the
/// queue's memory knows, [`DayQueue::undo_of_failed`]), which it gives back by setting the
/// counter back. A command that fails after writing anything else, or on the store's own error,
/// breaks the unit as above (rolled back whole, the commands run one by one). The commands'
/// writes are held in the memory and sent at the batch's end in a few multi-row statements
/// ([`DayQueue::flush`]), the audit lines of the kept commands in one more, then the commit; a
/// flush that fails breaks the unit too.
///
/// The commands read the day from `day` (the queue's memory, see [`DayQueue`]), which is kept in
/// step with what they write, checked against the store's revision and forgotten whenever the
/// store's state may differ from it.
pub async fn queue_batch(
    repo: &dyn Repository,
    batch: &[Queued],
    now: &(dyn Fn() -> DateTime<Utc> + Sync),
    day: &mut DayQueue,
) -> Vec<Result<QueueChange, QueueError>> {
    day.begin_batch();
    match batch {
        [] => return Vec::new(),
        [one] => return vec![single(repo, one, now(), day).await],
        _ => {}
    }
    let mut unit = match repo.begin(Lock::Queue).await {
        Ok(unit) => unit,
        Err(e) => return fail_all(batch.len(), e),
    };
    let mut results = Vec::with_capacity(batch.len());
    for queued in batch {
        let at = now();
        day.begin_command();
        day.slip_token(slip_token(queued));
        let result = {
            let mut held = day.over(unit.as_mut(), china_date(at));
            command_in(&mut held, &queued.command, &queued.by, queued.note.as_deref(), at).await
        };
        let closed = match &result {
            Ok(_) => Ok(()),
            Err(e) => match day.undo_of_failed(matches!(e, QueueError::Store(_))) {
                Undo::Nothing => Ok(()),
                // Given back in memory (`command_undone`): the batch's end writes the counter.
                Undo::GiveBack(_) => Ok(()),
                Undo::Whole => Err(e.to_string()),
            },
        };
        if let Err(e) = closed {
            tracing::error!(error = %e, "a batch of queue commands broke; running them one at a time");
            day.forget();
            drop(unit);
            return one_at_a_time(repo, batch, results, now, day).await;
        }
        match &result {
            Ok(_) => day.command_kept(),
            Err(_) => day.command_undone(),
        }
        results.push(result);
    }
    if let Err(e) = day.flush(unit.as_mut()).await {
        tracing::error!(error = %e, "a batch's writes were refused; running its commands one at a time");
        day.forget();
        drop(unit);
        return one_at_a_time(repo, batch, results, now, day).await;
    }
    let audits = day.take_audits();
    if let Err(e) = unit.append_audits(&audits).await {
        day.forget();
        return fail_all(batch.len(), e);
    }
    match unit.commit().await {
        Ok(()) => results,
        Err(e) => {
            day.forget();
            fail_all(batch.len(), e)
        }
    }
}

/// One command in a unit of its own, reading the day from memory.
async fn single(
    repo: &dyn Repository,
    queued: &Queued,
    now: DateTime<Utc>,
    day: &mut DayQueue,
) -> Result<QueueChange, QueueError> {
    let mut unit = repo.begin(Lock::Queue).await?;
    day.begin_unit();
    day.begin_command();
    day.slip_token(slip_token(queued));
    let mut held = day.over(unit.as_mut(), china_date(now));
    let result = command_in(&mut held, &queued.command, &queued.by, queued.note.as_deref(), now).await;
    let change = match result {
        Ok(change) => change,
        Err(e) => {
            // The unit is dropped: rolled back, and what it held is not sent.
            day.unit_rolled_back();
            day.command_undone();
            return Err(e);
        }
    };
    day.command_kept();
    if let Err(e) = day.flush(unit.as_mut()).await {
        day.forget();
        return Err(e.into());
    }
    let audits = day.take_audits();
    if let Err(e) = unit.append_audits(&audits).await {
        day.forget();
        return Err(e.into());
    }
    if let Err(e) = unit.commit().await {
        day.forget();
        return Err(e.into());
    }
    Ok(change)
}

/// The slip's token for the ticket `queued` issues, if it is an issue that carries one. A refused
/// issue writes no ticket, so no token either; one that fails after writing its ticket is rolled
/// back with it.
fn slip_token(queued: &Queued) -> Option<String> {
    match &queued.command {
        QueueCommand::Issue(_) => queued.status_token.clone(),
        _ => None,
    }
}

/// The batch after its unit broke (rolled back, nothing committed): the commands that had failed
/// on their own keep their answer; the rest run again, each in a unit of its own.
async fn one_at_a_time(
    repo: &dyn Repository,
    batch: &[Queued],
    mut results: Vec<Result<QueueChange, QueueError>>,
    now: &(dyn Fn() -> DateTime<Utc> + Sync),
    day: &mut DayQueue,
) -> Vec<Result<QueueChange, QueueError>> {
    for (i, queued) in batch.iter().enumerate() {
        if results.get(i).is_some_and(Result::is_err) {
            continue;
        }
        let result = single(repo, queued, now(), day).await;
        match results.get_mut(i) {
            Some(slot) => *slot = result,
            None => results.push(result),
        }
    }
    results
}

/// Every command of a batch whose unit failed as a whole: the first gets the failure itself,
/// the others its description (whether the disk is full, kept).
fn fail_all(n: usize, e: crate::server::store::StoreError) -> Vec<Result<QueueChange, QueueError>> {
    let shared = crate::server::store::StoreError::Batch { disk_full: e.is_disk_full(), message: e.to_string() };
    let mut results: Vec<Result<QueueChange, QueueError>> = Vec::with_capacity(n);
    results.push(Err(e.into()));
    for _ in 1..n {
        results.push(Err(shared.duplicate().into()));
    }
    results
}

/// One command in an open unit: the next revision, past days voided, the rules applied, the
/// change and its audit line written. The caller commits.
async fn command_in(
    unit: &mut dyn QueueUnit,
    command: &QueueCommand,
    by: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<QueueChange, QueueError> {
    let note = rules::clean_note(note).map_err(|e| QueueError::Invalid(vec![e]))?;
    // Taken first: a command that fails rolls its revision back with it.
    let rev = unit.next_queue_revision().await?.rev;
    expire_past_days(&mut *unit, china_date(now), now).await?;
    let (action, ticket, window_state) = apply(&mut *unit, command, by, note.as_deref(), now).await?;
    let change =
        QueueChange { rev, at: now, action, by: by.to_owned(), window: command.window(), ticket, window_state };
    // The audit line is part of the change: a 200 means both are on the disk.
    unit.append_audit(&crate::server::audit::queue_change_entry(&change)).await?;
    Ok(change)
}

async fn window_of(u: &mut dyn QueueUnit, number: u32) -> Result<Window, QueueError> {
    u.window(number).await?.ok_or(QueueError::UnknownWindow(number))
}

async fn require_category(u: &mut dyn QueueUnit, letter: char) -> Result<(), QueueError> {
    if u.category_exists(letter).await? {
        Ok(())
    } else {
        Err(invalid("category", format!("没有 {letter} 类排队类别")))
    }
}

async fn by_number(u: &mut dyn QueueUnit, day: NaiveDate, number: TicketNumber) -> Result<Ticket, QueueError> {
    u.ticket(day, number).await?.ok_or(QueueError::TicketNotFound(number))
}

/// A window may take a new ticket: it is not paused and holds none called or in service.
async fn ready_to_call(u: &mut dyn QueueUnit, window: u32) -> Result<(), QueueError> {
    if let Some(pause) = u.pause(window).await? {
        return Err(QueueError::WindowPaused(pause.reason));
    }
    if let Some(current) = u.ticket_at_window(window).await? {
        return Err(QueueError::WindowBusy(current.number));
    }
    Ok(())
}

async fn next_number(u: &mut dyn QueueUnit, day: NaiveDate, letter: char) -> Result<TicketNumber, QueueError> {
    let last = u.last_seq(day, letter).await?;
    rules::next_number(letter, last).map_err(QueueError::Refused)
}

/// Voids the tickets of past days still in play, so that none is called, none holds a window, and
/// the numbers of the new day start again at 001.
async fn expire_past_days(u: &mut dyn QueueUnit, today: NaiveDate, now: DateTime<Utc>) -> Result<(), QueueError> {
    for ticket in u.in_play_before(today).await? {
        match rules::apply(&ticket, &Step::Expire, SYSTEM, now, None) {
            Ok(expired) => u.save_ticket(&expired).await?,
            Err(e) => tracing::error!(ticket = %ticket.number, error = %e, "could not void a past day's ticket"),
        }
    }
    Ok(())
}

type Applied = (QueueAction, Option<Ticket>, Option<WindowQueueState>);

/// Carries out one command in an open unit of work.
async fn apply(
    u: &mut dyn QueueUnit,
    command: &QueueCommand,
    by: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Applied, QueueError> {
    let today = china_date(now);
    let step = |t: &Ticket, s: Step| rules::apply(t, &s, by, now, note).map_err(QueueError::Refused);
    let changed = |t: Ticket| {
        let action = t.history.last().map_or(QueueAction::Issued, |e| e.action);
        (action, Some(t), None)
    };
    let ticket = match command {
        QueueCommand::Issue(request) => {
            let problems = rules::check_request(request, now);
            if !problems.is_empty() {
                return Err(QueueError::Invalid(problems));
            }
            require_category(u, request.category).await?;
            let number = next_number(u, rules::day_of(request, now), request.category).await?;
            let ticket = rules::issue(uuid::Uuid::now_v7(), number, request, by, now);
            u.insert_ticket(&ticket).await?;
            return Ok(changed(ticket));
        }
        QueueCommand::WalkIn { window, category } => {
            let w = window_of(u, *window).await?;
            ready_to_call(u, *window).await?;
            let letter = category
                .or_else(|| w.categories.first().copied())
                .ok_or_else(|| invalid("category", "本窗口没有排队类别，请指定类别"))?;
            require_category(u, letter).await?;
            let number = next_number(u, today, letter).await?;
            let ticket = rules::walk_in(uuid::Uuid::now_v7(), number, *window, note.map(str::to_owned), by, now);
            u.insert_ticket(&ticket).await?;
            return Ok(changed(ticket));
        }
        QueueCommand::Pause { window, reason } => {
            window_of(u, *window).await?;
            let reason = rules::pause_reason(reason).map_err(|e| QueueError::Invalid(vec![e]))?;
            let paused = WindowPause { reason, since: now, by: by.to_owned() };
            u.set_pause(*window, Some(&paused)).await?;
            return Ok((QueueAction::Paused, None, Some(WindowQueueState { window: *window, paused: Some(paused) })));
        }
        QueueCommand::Resume { window } => {
            window_of(u, *window).await?;
            if u.pause(*window).await?.is_none() {
                return Err(QueueError::Refused(Invalid {
                    field: "window".into(),
                    message: format!("{window} 号窗口没有暂停"),
                }));
            }
            u.set_pause(*window, None).await?;
            return Ok((QueueAction::Resumed, None, Some(WindowQueueState { window: *window, paused: None })));
        }
        QueueCommand::Book { category, slot_start, working_day, phone, code } => {
            require_category(u, *category).await?;
            let plans = u.slot_plans().await?;
            let booked = u.booked_in_slot(*category, *slot_start).await?;
            let (start, end) = appointment::check_booking(&plans, *category, *slot_start, *working_day, booked, now)
                .map_err(|e| QueueError::Invalid(vec![e]))?;
            let day = china_date(start);
            if let Some(phone) = phone {
                let open = u.bookings_of(day, BookingKey::Phone(phone.expose())).await?.len();
                appointment::check_phone_cap(open).map_err(|e| QueueError::Invalid(vec![e]))?;
            }
            if u.booking_code_taken(day, code).await? {
                return Err(QueueError::CodeTaken);
            }
            let request = rules::TicketRequest {
                category: *category,
                priority: crate::domain::ticket::Priority::Normal,
                guide_code: None,
                note: note.map(str::to_owned),
                slot: Some((start, end)),
            };
            let number = next_number(u, day, *category).await?;
            let ticket = rules::issue(uuid::Uuid::now_v7(), number, &request, by, now);
            u.insert_ticket(&ticket).await?;
            u.insert_booking(&ticket, code, phone.as_ref().map(Phone::expose)).await?;
            return Ok(changed(ticket));
        }
        QueueCommand::CheckInBooking(lookup) => {
            let key = match lookup {
                BookingLookup::Code(code) => BookingKey::Code(code),
                BookingLookup::Phone(phone) => BookingKey::Phone(phone.expose()),
            };
            // The earliest slot of the day still to check in: someone booked twice checks in one
            // at a time.
            let booked = u.bookings_of(today, key).await?;
            step(booked.first().ok_or(QueueError::BookingNotFound)?, Step::CheckIn)?
        }
        QueueCommand::CancelBooking { day, code, channel } => {
            let booked = u.bookings_of(*day, BookingKey::Code(code)).await?;
            let found = booked.first().ok_or(QueueError::BookingNotFound)?;
            if let Some(phone) = channel {
                let of_phone = u.bookings_of(*day, BookingKey::Phone(phone.expose())).await?;
                let phone_matches = of_phone.iter().any(|t| t.id == found.id);
                if !appointment::channel_may_cancel(found, by, phone_matches) {
                    return Err(QueueError::BookingNotFound);
                }
            }
            step(found, Step::Cancel)?
        }
        QueueCommand::CheckIn { number } => step(&by_number(u, today, *number).await?, Step::CheckIn)?,
        QueueCommand::Return { number } => step(&by_number(u, today, *number).await?, Step::Return)?,
        QueueCommand::CallNext { window } => {
            let w = window_of(u, *window).await?;
            ready_to_call(u, *window).await?;
            let waiting = u.waiting_for(today, &w, now, CANDIDATES).await?;
            let next = rules::select_next(*window, &w.categories, &waiting, now).ok_or(QueueError::QueueEmpty)?;
            step(next, Step::Call { window: *window })?
        }
        QueueCommand::Call { window, number } => {
            window_of(u, *window).await?;
            ready_to_call(u, *window).await?;
            step(&by_number(u, today, *number).await?, Step::Call { window: *window })?
        }
        QueueCommand::CallBack { window, number } => {
            window_of(u, *window).await?;
            ready_to_call(u, *window).await?;
            step(&by_number(u, today, *number).await?, Step::CallBack { window: *window })?
        }
        QueueCommand::Recall { window }
        | QueueCommand::NoShow { window }
        | QueueCommand::Start { window }
        | QueueCommand::Finish { window }
        | QueueCommand::Park { window } => {
            window_of(u, *window).await?;
            let current = u.ticket_at_window(*window).await?.ok_or(QueueError::NothingAtWindow(*window))?;
            let window = *window;
            let s = match command {
                QueueCommand::Recall { .. } => Step::Recall { window },
                QueueCommand::NoShow { .. } => Step::NoShow { window },
                QueueCommand::Start { .. } => Step::Start { window },
                QueueCommand::Finish { .. } => Step::Finish { window },
                _ => Step::Park { window },
            };
            step(&current, s)?
        }
        QueueCommand::Transfer { window, category, to_window } => {
            window_of(u, *window).await?;
            let current = u.ticket_at_window(*window).await?.ok_or(QueueError::NothingAtWindow(*window))?;
            if category.is_none() && to_window.is_none() {
                return Err(invalid("category", "请选择转移到的类别或窗口"));
            }
            if let Some(target) = to_window
                && u.window(*target).await?.is_none()
            {
                return Err(invalid("window", format!("没有 {target} 号窗口")));
            }
            if let Some(letter) = category {
                require_category(u, *letter).await?;
            }
            let category = category.unwrap_or(current.category);
            step(&current, Step::Transfer { window: *window, category, to_window: *to_window })?
        }
    };
    u.save_ticket(&ticket).await?;
    Ok(changed(ticket))
}

/// The appointment slots of a working day, every category.
pub async fn slot_plans(repo: &dyn Repository) -> Result<Vec<appointment::SlotPlan>, QueueError> {
    let mut unit = repo.begin(Lock::Queue).await?;
    Ok(unit.slot_plans().await?)
}

/// Whether `day` is a working day by the server's calendar (the shipped one until the admin
/// loads one): what a booking and the free places go by.
pub async fn is_working_day(store: &dyn crate::server::store::Store, day: NaiveDate) -> Result<bool, QueueError> {
    let calendar = match store.calendar().await? {
        Some((_, calendar)) => calendar,
        None => crate::assets::bundled_calendar().map_err(|e| {
            tracing::error!(error = %e, "shipped calendar does not load");
            invalid("day", "服务器的工作日历无法读取，请联系管理员")
        })?,
    };
    Ok(calendar.is_working_day(day))
}

/// The slots of `day` (of `category`, or all) with the places left in each at `now`: the
/// domain's [`appointment::free_slots`] over the live bookings counted per slot.
pub async fn free_places(
    repo: &dyn Repository,
    day: NaiveDate,
    category: Option<char>,
    working_day: bool,
    now: DateTime<Utc>,
) -> Result<Vec<appointment::FreeSlot>, QueueError> {
    let mut unit = repo.begin(Lock::Queue).await?;
    let plans = unit.slot_plans().await?;
    let mut booked = std::collections::HashMap::new();
    for p in plans.iter().filter(|p| category.is_none_or(|c| c == p.category)) {
        booked.insert((p.category, p.start), unit.booked_in_slot(p.category, p.on(day).0).await?);
    }
    Ok(appointment::free_slots(&plans, day, category, working_day, now, |p| {
        booked.get(&(p.category, p.start)).copied().unwrap_or(0)
    }))
}

/// Replaces the slots of `category` (an admin's setting, by `by` at `now`, on the audit trail in
/// the same transaction). Bookings already made keep their slot.
pub async fn set_slot_plans(
    repo: &dyn Repository,
    by: &str,
    category: char,
    plans: &[appointment::SlotPlan],
    now: DateTime<Utc>,
) -> Result<Vec<appointment::SlotPlan>, QueueError> {
    let mut problems = appointment::check_plans(plans);
    if plans.iter().any(|p| p.category != category) {
        problems.push(Invalid { field: "slots".into(), message: format!("时段的类别应都是 {category}") });
    }
    if !problems.is_empty() {
        return Err(QueueError::Invalid(problems));
    }
    let mut unit = repo.begin(Lock::Queue).await?;
    require_category(unit.as_mut(), category).await?;
    unit.replace_slot_plans(category, plans).await?;
    let listed: Vec<String> = plans.iter().map(ToString::to_string).collect();
    unit.append_audit(&crate::api::accounts::AuditEntry {
        id: 0,
        at: now,
        claimed_at: None,
        staff_id: by.to_owned(),
        window: None,
        action: "appointment_slots_set".into(),
        target_kind: "category".into(),
        target_id: format!("{category}: {}", listed.join(", ")),
        addr: None,
        count: 1,
    })
    .await?;
    let all = unit.slot_plans().await?;
    unit.commit().await?;
    Ok(all)
}
