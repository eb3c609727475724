//! The calling display over long synthetic days: every change of the feed applied and the screen
//! rendered at 120x40, day after day, with the process's resident memory after each day. The
//! display must stay up for days: what it holds is bounded (today's tickets in play, the last
//! calls), so memory should stay flat. Prints figures; asserts nothing. `cargo bench --bench hall`.

use std::time::Instant;

use bianmin::api::CenterInfo;
use bianmin::api::queue::{QueueChange, QueueEvent, QueueSnapshot, WindowQueueState};
use bianmin::domain::queue::{Step, TicketRequest, apply, issue};
use bianmin::domain::staff::Staff;
use bianmin::domain::ticket::{Priority, QueueAction, Ticket};
use bianmin::domain::time::china_date;
use bianmin::server::seed::bundled_seed;
use bianmin::tui::display::{DisplayState, render};
use chrono::{DateTime, Duration, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const DAYS: i64 = 5;
const TICKETS_A_DAY: u32 = 1_500;

/// Resident set size in KiB (Linux), from /proc/self/statm.
fn rss_kib() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4)
}

fn main() {
    let seed = bundled_seed().unwrap();
    let staff: Vec<Staff> = seed.staff.iter().map(|c| c.staff.clone()).collect();
    let categories: Vec<char> = seed.categories.iter().map(|c| c.letter).collect();
    let windows = seed.windows.len() as u32;
    let center = CenterInfo { center: seed.center, windows: seed.windows, categories: seed.categories, staff };
    let start: DateTime<Utc> = "2026-11-30T00:30:00Z".parse().unwrap(); // 08:30 China time
    let mut state = DisplayState::new(start);
    state.center = Some(center);
    let snapshot = QueueSnapshot {
        rev: 0,
        day: china_date(start),
        tickets: Vec::new(),
        done: 0,
        windows: (1..=windows).map(|window| WindowQueueState { window, paused: None }).collect(),
    };
    state.apply(QueueEvent::Snapshot(snapshot));
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut rev = 0u64;
    let mut changes = 0u64;
    let mut announced = 0usize;
    let started = Instant::now();
    println!("day  changes  tickets_held  calls_held  rss_kib");
    for day in 0..DAYS {
        let morning = start + Duration::days(day);
        for n in 0..TICKETS_A_DAY {
            let at = morning + Duration::seconds(i64::from(n) * 20);
            let category = categories[n as usize % categories.len()];
            let request =
                TicketRequest { category, priority: Priority::Normal, guide_code: None, note: None, slot: None };
            let number = format!("{category}{:03}", n / categories.len() as u32 + 1).parse().unwrap();
            let ticket = issue(uuid::Uuid::now_v7(), number, &request, "kiosk-1", at);
            let window = n % windows + 1;
            let steps: [(QueueAction, Option<Step>); 5] = [
                (QueueAction::Issued, None),
                (QueueAction::Called, Some(Step::Call { window })),
                (QueueAction::Recalled, Some(Step::Recall { window })),
                (QueueAction::Started, Some(Step::Start { window })),
                (QueueAction::Finished, Some(Step::Finish { window })),
            ];
            let mut current: Ticket = ticket;
            for (action, step) in steps {
                if let Some(step) = step {
                    current = apply(&current, &step, "s001", at, None).unwrap();
                }
                rev += 1;
                let change = QueueChange {
                    rev,
                    at,
                    action,
                    by: "s001".into(),
                    window: Some(window),
                    ticket: Some(current.clone()),
                    window_state: None,
                };
                announced += state.apply(QueueEvent::Change(Box::new(change))).len();
                state.now = at;
                terminal.draw(|f| render(&state, f)).unwrap();
                changes += 1;
            }
        }
        let held = state.queue.as_ref().map_or(0, |q| q.tickets.len());
        println!("{day:>3}  {changes:>7}  {held:>12}  {:>10}  {:>7}", state.calls.len(), rss_kib().unwrap_or(0));
    }
    let per = started.elapsed() / changes as u32;
    println!("{changes} changes applied and rendered at 120x40, {per:?} each; {announced} announcements queued");
}
