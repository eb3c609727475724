//! The month report over 10,000 tickets (#17: "builds in under one second"). A month of 20
//! working days is written into a real SQLite file through the server's own queue commands (issue,
//! call, start, finish) and rating store, then the report is timed in its parts: the store read
//! (what `server::service::report::load` reads), the domain build, and each printed form (text,
//! CSV, HTML), and end to end as `bianmin report month` does it. Prints figures beside the goal;
//! asserts nothing. `cargo bench --bench report`.

use std::time::{Duration, Instant};

use bianmin::config::sqlite_url;
use bianmin::domain::attendance::OpeningHours;
use bianmin::domain::follow_up::FollowUp;
use bianmin::domain::queue::TicketRequest;
use bianmin::domain::rating::{Rating, RatingLevel};
use bianmin::domain::report::{Period, Sources, build};
use bianmin::domain::ticket::Priority;
use bianmin::domain::time::china_offset;
use bianmin::server::store::QueueCommand;
use bianmin::server::{self, ServerConfig};
use chrono::{DateTime, Datelike, Duration as Span, NaiveDate, TimeZone, Utc};
use uuid::Uuid;

const TICKETS: usize = 10_000;
const DAYS: usize = 20;
const GOAL: Duration = Duration::from_secs(1);
/// Windows of the sample center with the category only they serve (or serve first).
const WINDOWS: [(u32, &str, char); 6] =
    [(1, "s001", 'A'), (2, "s003", 'B'), (3, "s004", 'C'), (4, "s005", 'D'), (5, "s006", 'E'), (6, "s007", 'F')];

fn at(day: NaiveDate, minutes: i64) -> DateTime<Utc> {
    china_offset().from_local_datetime(&day.and_hms_opt(8, 30, 0).unwrap()).unwrap().with_timezone(&Utc)
        + Span::minutes(minutes)
}

fn ms(d: Duration) -> String {
    format!("{:9.3} ms", d.as_secs_f64() * 1000.0)
}

/// Best of `runs` (the machine is shared; the best run is the code's cost).
async fn best<T, F, Fut>(runs: usize, mut f: F) -> (Duration, T)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let started = Instant::now();
        let value = f().await;
        best = best.min(started.elapsed());
        out = Some(value);
    }
    (best, out.unwrap())
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        listen: "127.0.0.1:0".into(),
        database_url: sqlite_url(&dir.path().join("server.db")),
        session_ttl_hours: 12,
        max_body_bytes: 64 * 1024,
        follow_up_due_working_days: bianmin::domain::follow_up::DEFAULT_DUE_WORKING_DAYS,
        opening_hours: bianmin::domain::attendance::OpeningHours::default(),
    };
    let state = server::prepare(&config).await.unwrap();
    let store = state.store.clone();
    let calendar = bianmin::assets::bundled_calendar().unwrap();
    let first = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let days: Vec<NaiveDate> =
        first.iter_days().take_while(|d| d.month() == 3).filter(|d| calendar.is_working_day(*d)).take(DAYS).collect();

    // The month: each day, rounds of one ticket per window, called, served and rated.
    let filling = Instant::now();
    let per_day = TICKETS.div_ceil(DAYS * WINDOWS.len());
    let mut written = 0usize;
    let mut rated = 0usize;
    for day in &days {
        for round in 0..per_day {
            let t0 = i64::try_from(round).unwrap();
            for (_, _, category) in WINDOWS {
                let request =
                    TicketRequest { category, priority: Priority::Normal, guide_code: None, note: None, slot: None };
                let command = QueueCommand::Issue(request);
                server::service::queue::queue_command(store.as_ref(), &command, "kiosk", None, at(*day, t0))
                    .await
                    .unwrap();
                written += 1;
            }
            for (i, (window, staff, _)) in WINDOWS.into_iter().enumerate() {
                let call = |command: QueueCommand, minutes: i64| {
                    let store = store.clone();
                    async move {
                        server::service::queue::queue_command(store.as_ref(), &command, staff, None, at(*day, minutes))
                            .await
                            .unwrap()
                    }
                };
                let called = call(QueueCommand::CallNext { window }, t0 + 1).await;
                call(QueueCommand::Start { window }, t0 + 1).await;
                call(QueueCommand::Finish { window }, t0 + 2 + (round % 9) as i64).await;
                let ticket = called.ticket.unwrap();
                if (round + i) % 3 == 0 {
                    let level = RatingLevel::ALL[(round / 3 + i) % 5];
                    let rating = Rating {
                        id: Uuid::now_v7(),
                        window,
                        staff: staff.into(),
                        case_id: None,
                        level,
                        comment: String::new(),
                        rated_at: at(*day, t0 + 12),
                        day: None,
                        reply: None,
                    };
                    let follow_up = FollowUp::open(&rating, &calendar, config.follow_up_due_working_days);
                    store.rate_ticket(&rating, ticket.id, "evaluator", follow_up.as_ref()).await.unwrap();
                    rated += 1;
                }
            }
        }
    }
    println!(
        "month report bench: {written} tickets over {} working days, 6 windows, {rated} ratings (written in {:.1?})",
        days.len(),
        filling.elapsed()
    );

    let period = Period { from: first, to: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap() };
    let hours = OpeningHours::default();
    let now = at(NaiveDate::from_ymd_opt(2026, 4, 15).unwrap(), 0);
    let day_start = |d: NaiveDate| at(d, -(8 * 60 + 30)).timestamp();
    let (from, to) = (day_start(period.from), day_start(period.to.succ_opt().unwrap()));
    const RUNS: usize = 5;

    // 1. The store read: what the report service reads for a period.
    let (read, (windows, tickets, cases, notices, ratings, handovers, follow_ups)) = best(RUNS, || async {
        (
            store.windows().await.unwrap(),
            store.tickets_of_days(period.from, period.to).await.unwrap(),
            store.all_cases().await.unwrap(),
            store.notices_between(from, to).await.unwrap(),
            store.ratings_of_days(period.from, period.to).await.unwrap(),
            store.all_handovers().await.unwrap(),
            store.follow_ups(None).await.unwrap(),
        )
    })
    .await;
    assert_eq!(tickets.len(), written, "every ticket read back");

    // 2. The domain build.
    let sources = Sources {
        windows: &windows,
        tickets: &tickets,
        cases: &cases,
        notices: &notices,
        ratings: &ratings,
        follow_ups: &follow_ups,
        handovers: &handovers,
    };
    let (built, report) = best(RUNS, || async { build(sources, period, &hours, &calendar, now) }).await;
    assert_eq!(report.tickets_served as usize, written);

    // 3. The printed forms.
    let center = "青石镇便民服务中心";
    let names = store.all_staff().await.unwrap().into_iter().map(|s| (s.id, s.name)).collect();
    let (text, t) = best(RUNS, || async { bianmin::documents::report::report_text(&report, center, &names) }).await;
    let (csv, c) = best(RUNS, || async { bianmin::documents::report::report_csv(&report, center, &names) }).await;
    let (html, h) = best(RUNS, || async { bianmin::documents::report::report_html(&report, center, &names) }).await;

    // 4. End to end, as `bianmin report month` does it (read + build + names), then CSV.
    let (whole, _) = best(RUNS, || async {
        let loaded = server::service::report::load(store.as_ref(), period, &hours, now).await.unwrap();
        bianmin::documents::report::report_csv(&loaded.report, &loaded.center, &loaded.names)
    })
    .await;

    println!("{:<34}{:>12}", "part (best of 5)", "time");
    println!("{:<34}{}", format!("store read ({} tickets)", tickets.len()), ms(read));
    println!("{:<34}{}", "domain build", ms(built));
    println!("{:<34}{}   ({} bytes)", "text", ms(text), t.len());
    println!("{:<34}{}   ({} bytes)", "csv", ms(csv), c.len());
    println!("{:<34}{}   ({} bytes)", "html", ms(html), h.len());
    println!("{:<34}{}", "load + build + csv, end to end", ms(whole));
    let verdict = if whole < GOAL { "within" } else { "OVER" };
    println!("goal: month report for 10,000 tickets under {} ms: {verdict}", GOAL.as_millis());
}
