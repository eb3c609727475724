//! The queue on SQLite (migration 0004): tickets stored whole as JSON beside the columns the
//! selection orders on, a window-pause table, and one revision counter whose increment is the
//! first statement of every command's transaction.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Row, SqliteConnection};

use super::StoreError;
use super::queue::{QueueCommand, QueueError, QueueStore};
use super::sqlite::SqliteStore;
use crate::api::queue::{QueueChange, QueueSnapshot, WindowPause, WindowQueueState};
use crate::domain::Invalid;
use crate::domain::center::Window;
use crate::domain::queue::{self as rules, Step};
use crate::domain::ticket::{QueueAction, Ticket, TicketNumber};
use crate::domain::time::china_date;

/// Statuses of a ticket called to or in service at a window (at most one per window).
const AT_WINDOW: &str = "('已叫号', '办理中')";
/// Statuses of a ticket still in play.
const IN_PLAY: &str = "('已预约', '等候', '已叫号', '办理中', '挂起', '过号')";
/// How many of the first waiting tickets, in the rule's own order, the selection looks at. The
/// first is the one unless the rule refuses it; the rest are a margin.
const CANDIDATES: i64 = 8;
/// Who voids tickets left over from a past day.
const SYSTEM: &str = "system";

fn decode(body: &str) -> Result<Ticket, QueueError> {
    Ok(serde_json::from_str(body)?)
}

fn invalid(field: &str, message: impl Into<String>) -> QueueError {
    QueueError::Invalid(vec![Invalid { field: field.into(), message: message.into() }])
}

/// The columns kept beside the body: where the ticket stands in the line.
fn rank_columns(t: &Ticket) -> (i64, i64, Option<i64>) {
    let rank = rules::rank(t);
    (i64::from(rank.tier), rank.at_ms, rules::slot_held(t).map(|a| a.slot_start.timestamp_millis()))
}

async fn insert(c: &mut SqliteConnection, t: &Ticket) -> Result<(), QueueError> {
    let (tier, rank_at, slot_start) = rank_columns(t);
    sqlx::query(
        "INSERT INTO queue_tickets \
         (id, day, letter, seq, category, status, window_no, target_window, tier, rank_at, slot_start, body) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(t.id.to_string())
    .bind(t.day.to_string())
    .bind(t.number.category.to_string())
    .bind(i64::from(t.number.seq))
    .bind(t.category.to_string())
    .bind(t.status.label())
    .bind(t.window.map(i64::from))
    .bind(t.target_window.map(i64::from))
    .bind(tier)
    .bind(rank_at)
    .bind(slot_start)
    .bind(serde_json::to_string(t)?)
    .execute(&mut *c)
    .await?;
    Ok(())
}

async fn save(c: &mut SqliteConnection, t: &Ticket) -> Result<(), QueueError> {
    let (tier, rank_at, slot_start) = rank_columns(t);
    sqlx::query(
        "UPDATE queue_tickets SET category = ?, status = ?, window_no = ?, target_window = ?, tier = ?, \
         rank_at = ?, slot_start = ?, body = ? WHERE id = ?",
    )
    .bind(t.category.to_string())
    .bind(t.status.label())
    .bind(t.window.map(i64::from))
    .bind(t.target_window.map(i64::from))
    .bind(tier)
    .bind(rank_at)
    .bind(slot_start)
    .bind(serde_json::to_string(t)?)
    .bind(t.id.to_string())
    .execute(&mut *c)
    .await?;
    Ok(())
}

async fn window_of(c: &mut SqliteConnection, number: u32) -> Result<Window, QueueError> {
    let body: Option<String> = sqlx::query_scalar("SELECT body FROM windows WHERE window_no = ?")
        .bind(i64::from(number))
        .fetch_optional(&mut *c)
        .await?;
    match body {
        Some(b) => Ok(serde_json::from_str(&b)?),
        None => Err(QueueError::UnknownWindow(number)),
    }
}

async fn require_category(c: &mut SqliteConnection, letter: char) -> Result<(), QueueError> {
    let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM queue_categories WHERE letter = ?")
        .bind(letter.to_string())
        .fetch_optional(&mut *c)
        .await?;
    match known {
        Some(_) => Ok(()),
        None => Err(invalid("category", format!("没有 {letter} 类排队类别"))),
    }
}

async fn by_number(c: &mut SqliteConnection, day: NaiveDate, number: TicketNumber) -> Result<Ticket, QueueError> {
    let body: Option<String> =
        sqlx::query_scalar("SELECT body FROM queue_tickets WHERE day = ? AND letter = ? AND seq = ?")
            .bind(day.to_string())
            .bind(number.category.to_string())
            .bind(i64::from(number.seq))
            .fetch_optional(&mut *c)
            .await?;
    body.map_or(Err(QueueError::TicketNotFound(number)), |b| decode(&b))
}

async fn at_window(c: &mut SqliteConnection, window: u32) -> Result<Option<Ticket>, QueueError> {
    let body: Option<String> =
        sqlx::query_scalar(&format!("SELECT body FROM queue_tickets WHERE window_no = ? AND status IN {AT_WINDOW}"))
            .bind(i64::from(window))
            .fetch_optional(&mut *c)
            .await?;
    body.map(|b| decode(&b)).transpose()
}

async fn pause_of(c: &mut SqliteConnection, window: u32) -> Result<Option<WindowPause>, QueueError> {
    let row = sqlx::query(
        "SELECT paused_reason, paused_at, paused_by FROM queue_windows \
         WHERE window_no = ? AND paused_reason IS NOT NULL",
    )
    .bind(i64::from(window))
    .fetch_optional(&mut *c)
    .await?;
    row.map(|r| pause_from_row(&r)).transpose()
}

fn pause_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<WindowPause, QueueError> {
    Ok(WindowPause {
        reason: r.try_get("paused_reason")?,
        since: DateTime::from_timestamp_millis(r.try_get("paused_at")?).unwrap_or_default(),
        by: r.try_get("paused_by")?,
    })
}

/// A window may take a new ticket: it is not paused and holds none called or in service.
async fn ready_to_call(c: &mut SqliteConnection, window: u32) -> Result<(), QueueError> {
    if let Some(pause) = pause_of(c, window).await? {
        return Err(QueueError::WindowPaused(pause.reason));
    }
    if let Some(current) = at_window(c, window).await? {
        return Err(QueueError::WindowBusy(current.number));
    }
    Ok(())
}

async fn next_number(c: &mut SqliteConnection, day: NaiveDate, letter: char) -> Result<TicketNumber, QueueError> {
    let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM queue_tickets WHERE day = ? AND letter = ?")
        .bind(day.to_string())
        .bind(letter.to_string())
        .fetch_one(&mut *c)
        .await?;
    rules::next_number(letter, u32::try_from(last).unwrap_or(u32::MAX)).map_err(QueueError::Refused)
}

/// The first waiting tickets `window` may be given, in the selection rule's order.
async fn candidates(
    c: &mut SqliteConnection,
    day: NaiveDate,
    window: &Window,
    now: DateTime<Utc>,
) -> Result<Vec<Ticket>, QueueError> {
    let in_categories = if window.categories.is_empty() {
        "0".to_owned()
    } else {
        format!("target_window IS NULL AND category IN ({})", vec!["?"; window.categories.len()].join(", "))
    };
    let sql = format!(
        "SELECT body FROM queue_tickets WHERE day = ? AND status = '等候' AND (({in_categories}) OR target_window = ?) \
         AND (slot_start IS NULL OR slot_start <= ?) ORDER BY tier, rank_at, letter, seq LIMIT ?"
    );
    let mut query = sqlx::query_scalar::<_, String>(&sql).bind(day.to_string());
    for letter in &window.categories {
        query = query.bind(letter.to_string());
    }
    let bodies =
        query.bind(i64::from(window.number)).bind(now.timestamp_millis()).bind(CANDIDATES).fetch_all(&mut *c).await?;
    bodies.iter().map(|b| decode(b)).collect()
}

/// Voids the tickets of past days still in play, so that none is called, none holds a window, and
/// the numbers of the new day start again at 001.
async fn expire_past_days(c: &mut SqliteConnection, today: NaiveDate, now: DateTime<Utc>) -> Result<(), QueueError> {
    let bodies: Vec<String> =
        sqlx::query_scalar(&format!("SELECT body FROM queue_tickets WHERE status IN {IN_PLAY} AND day < ?"))
            .bind(today.to_string())
            .fetch_all(&mut *c)
            .await?;
    for body in bodies {
        let ticket = decode(&body)?;
        match rules::apply(&ticket, &Step::Expire, SYSTEM, now, None) {
            Ok(expired) => save(c, &expired).await?,
            Err(e) => tracing::error!(ticket = %ticket.number, error = %e, "could not void a past day's ticket"),
        }
    }
    Ok(())
}

type Outcome = (QueueAction, Option<Ticket>, Option<WindowQueueState>);

/// Carries out one command on an open write transaction.
async fn run(
    c: &mut SqliteConnection,
    command: &QueueCommand,
    by: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Outcome, QueueError> {
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
            require_category(c, request.category).await?;
            let number = next_number(c, rules::day_of(request, now), request.category).await?;
            let ticket = rules::issue(uuid::Uuid::now_v7(), number, request, by, now);
            insert(c, &ticket).await?;
            return Ok(changed(ticket));
        }
        QueueCommand::WalkIn { window, category } => {
            let w = window_of(c, *window).await?;
            ready_to_call(c, *window).await?;
            let letter = category
                .or_else(|| w.categories.first().copied())
                .ok_or_else(|| invalid("category", "本窗口没有排队类别，请指定类别"))?;
            require_category(c, letter).await?;
            let number = next_number(c, today, letter).await?;
            let ticket = rules::walk_in(uuid::Uuid::now_v7(), number, *window, note.map(str::to_owned), by, now);
            insert(c, &ticket).await?;
            return Ok(changed(ticket));
        }
        QueueCommand::Pause { window, reason } => {
            window_of(c, *window).await?;
            let reason = rules::pause_reason(reason).map_err(|e| QueueError::Invalid(vec![e]))?;
            sqlx::query(
                "INSERT INTO queue_windows (window_no, paused_reason, paused_at, paused_by) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (window_no) DO UPDATE SET paused_reason = excluded.paused_reason, \
                 paused_at = excluded.paused_at, paused_by = excluded.paused_by",
            )
            .bind(i64::from(*window))
            .bind(&reason)
            .bind(now.timestamp_millis())
            .bind(by)
            .execute(&mut *c)
            .await?;
            let paused = WindowPause { reason, since: now, by: by.to_owned() };
            return Ok((QueueAction::Paused, None, Some(WindowQueueState { window: *window, paused: Some(paused) })));
        }
        QueueCommand::Resume { window } => {
            window_of(c, *window).await?;
            if pause_of(c, *window).await?.is_none() {
                return Err(QueueError::Refused(Invalid {
                    field: "window".into(),
                    message: format!("{window} 号窗口没有暂停"),
                }));
            }
            sqlx::query(
                "UPDATE queue_windows SET paused_reason = NULL, paused_at = NULL, paused_by = NULL WHERE window_no = ?",
            )
            .bind(i64::from(*window))
            .execute(&mut *c)
            .await?;
            return Ok((QueueAction::Resumed, None, Some(WindowQueueState { window: *window, paused: None })));
        }
        QueueCommand::CheckIn { number } => step(&by_number(c, today, *number).await?, Step::CheckIn)?,
        QueueCommand::Return { number } => step(&by_number(c, today, *number).await?, Step::Return)?,
        QueueCommand::CallNext { window } => {
            let w = window_of(c, *window).await?;
            ready_to_call(c, *window).await?;
            let waiting = candidates(c, today, &w, now).await?;
            let next = rules::select_next(*window, &w.categories, &waiting, now).ok_or(QueueError::QueueEmpty)?;
            step(next, Step::Call { window: *window })?
        }
        QueueCommand::Call { window, number } => {
            window_of(c, *window).await?;
            ready_to_call(c, *window).await?;
            step(&by_number(c, today, *number).await?, Step::Call { window: *window })?
        }
        QueueCommand::CallBack { window, number } => {
            window_of(c, *window).await?;
            ready_to_call(c, *window).await?;
            step(&by_number(c, today, *number).await?, Step::CallBack { window: *window })?
        }
        QueueCommand::Recall { window }
        | QueueCommand::NoShow { window }
        | QueueCommand::Start { window }
        | QueueCommand::Finish { window }
        | QueueCommand::Park { window } => {
            window_of(c, *window).await?;
            let current = at_window(c, *window).await?.ok_or(QueueError::NothingAtWindow(*window))?;
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
            window_of(c, *window).await?;
            let current = at_window(c, *window).await?.ok_or(QueueError::NothingAtWindow(*window))?;
            if category.is_none() && to_window.is_none() {
                return Err(invalid("category", "请选择转移到的类别或窗口"));
            }
            if let Some(target) = to_window
                && let Err(QueueError::UnknownWindow(_)) = window_of(c, *target).await
            {
                return Err(invalid("window", format!("没有 {target} 号窗口")));
            }
            if let Some(letter) = category {
                require_category(c, *letter).await?;
            }
            let category = category.unwrap_or(current.category);
            step(&current, Step::Transfer { window: *window, category, to_window: *to_window })?
        }
    };
    save(c, &ticket).await?;
    Ok(changed(ticket))
}

#[async_trait]
impl QueueStore for SqliteStore {
    async fn queue_command(
        &self,
        command: &QueueCommand,
        by: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<QueueChange, QueueError> {
        let note = rules::clean_note(note).map_err(|e| QueueError::Invalid(vec![e]))?;
        let mut tx = self.pool.begin().await?;
        // The first statement writes, so the transaction takes the write lock at once (waiting on
        // the busy timeout) instead of failing to upgrade a read lock later; and the revision of a
        // command that fails is rolled back with it, so committed revisions have no gaps.
        let rev: i64 = sqlx::query_scalar("UPDATE queue_revision SET rev = rev + 1 WHERE id = 1 RETURNING rev")
            .fetch_one(&mut *tx)
            .await?;
        let now_day = china_date(now);
        expire_past_days(&mut tx, now_day, now).await?;
        let (action, ticket, window_state) = run(&mut tx, command, by, note.as_deref(), now).await?;
        tx.commit().await?;
        Ok(QueueChange {
            rev: u64::try_from(rev).unwrap_or_default(),
            at: now,
            action,
            by: by.to_owned(),
            window: command.window(),
            ticket,
            window_state,
        })
    }

    async fn queue_day_tickets(&self, day: NaiveDate) -> Result<Vec<Ticket>, StoreError> {
        let bodies: Vec<String> = sqlx::query_scalar("SELECT body FROM queue_tickets WHERE day = ?")
            .bind(day.to_string())
            .fetch_all(&self.pool)
            .await?;
        Ok(bodies.iter().map(|b| serde_json::from_str(b)).collect::<Result<Vec<Ticket>, _>>()?)
    }

    async fn queue_snapshot(&self, day: NaiveDate) -> Result<QueueSnapshot, StoreError> {
        // One read transaction: the revision and the rows are one consistent view.
        let mut tx = self.pool.begin().await?;
        let rev: i64 = sqlx::query_scalar("SELECT rev FROM queue_revision WHERE id = 1").fetch_one(&mut *tx).await?;
        let bodies: Vec<String> =
            sqlx::query_scalar(&format!("SELECT body FROM queue_tickets WHERE day = ? AND status IN {IN_PLAY}"))
                .bind(day.to_string())
                .fetch_all(&mut *tx)
                .await?;
        let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM queue_tickets WHERE day = ? AND status = '已完成'")
            .bind(day.to_string())
            .fetch_one(&mut *tx)
            .await?;
        let numbers: Vec<i64> =
            sqlx::query_scalar("SELECT window_no FROM windows ORDER BY window_no").fetch_all(&mut *tx).await?;
        let pauses = sqlx::query(
            "SELECT window_no, paused_reason, paused_at, paused_by FROM queue_windows WHERE paused_reason IS NOT NULL",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut tickets = bodies.iter().map(|b| serde_json::from_str(b)).collect::<Result<Vec<Ticket>, _>>()?;
        tickets.sort_by_key(rules::rank);
        let mut windows: Vec<WindowQueueState> =
            numbers.iter().map(|&n| WindowQueueState { window: n as u32, paused: None }).collect();
        for row in &pauses {
            let number: i64 = row.try_get("window_no")?;
            let pause = pause_from_row(row).map_err(|e| match e {
                QueueError::Store(s) => s,
                other => StoreError::Corrupt(serde::de::Error::custom(other.to_string())),
            })?;
            if let Some(w) = windows.iter_mut().find(|w| i64::from(w.window) == number) {
                w.paused = Some(pause);
            }
        }
        Ok(QueueSnapshot { rev: u64::try_from(rev).unwrap_or_default(), day, tickets, done: done as u32, windows })
    }
}
