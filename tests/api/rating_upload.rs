//! The evaluator's ratings uploaded from its device log, against the real server: a rating is
//! counted exactly when its upload is stored (saved means saved), and a rating given offline
//! before midnight and uploaded after counts for the ticket of the day the device recorded it,
//! back to the previous working day and no further, in that day's figures; a rating is linked
//! to its ticket's case of the ticket's day, not to an older open case of the same number.

use std::sync::atomic::Ordering;

use bianmin::api::hall::RateTicket;
use bianmin::api::queue::IssueTicket;
use bianmin::client::evaluator_log::EvaluatorLog;
use bianmin::client::sync::upload_own_logs;
use bianmin::domain::rating::{RatingLevel, TicketRating};
use bianmin::domain::record::RecordBody;
use bianmin::domain::staff::Role;
use bianmin::domain::ticket::Ticket;
use bianmin::server;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::common::server::{TestServer, signed_in_client};

fn set_clock(s: &TestServer, at: &str) {
    s.clock.0.store(at.parse::<DateTime<Utc>>().unwrap().timestamp(), Ordering::SeqCst);
}

fn rating(ticket: &Ticket, level: RatingLevel) -> RateTicket {
    RateTicket { id: Uuid::now_v7(), ticket_id: ticket.id, level, reason: String::new() }
}

/// Two tickets issued and served to the end at window 1 by s001.
async fn two_served(s: &TestServer) -> (Ticket, Ticket) {
    let kiosk = s.device(Role::Kiosk, None).await;
    let clerk = signed_in_client(&s.base, "s001").await;
    let mut served = Vec::new();
    for _ in 0..2 {
        served.push(kiosk.issue_ticket(&IssueTicket::new('A')).await.unwrap().ticket.unwrap());
        clerk.call_next(1).await.unwrap();
        clerk.start_service(1).await.unwrap();
        clerk.finish_service(1).await.unwrap();
    }
    let second = served.pop().unwrap();
    (served.pop().unwrap(), second)
}

/// closing23 "Rating counted before its record is stored": a copied device log puts another
/// rating at a place of the log the server holds; the upload is refused as a conflict, and the
/// rating in it is not counted (nor its follow-up opened), though the ticket had none.
async fn a_rating_whose_upload_is_refused_is_not_counted(s: TestServer) {
    set_clock(&s, "2026-03-02T01:00:00Z");
    let (a1, a2) = two_served(&s).await;
    let evaluator = s.device(Role::Evaluator, Some(1)).await;
    let dir = tempfile::tempdir().unwrap();
    let log = EvaluatorLog::open(dir.path(), 1, "evaluator-1", Utc::now()).await.unwrap();
    let first = log.keep(&rating(&a1, RatingLevel::Satisfied), Utc::now()).await.unwrap();
    assert!(evaluator.upload(vec![first.clone()]).await.unwrap().refused.is_empty());
    assert_eq!(s.db_count("SELECT COUNT(*) FROM ratings").await, 1);

    // The copy's own first record: same device, same place, another record (a bad rating of A002).
    let mut copied = first.clone();
    copied.id = Uuid::now_v7();
    copied.body = serde_json::to_value(RecordBody::TicketRated(Box::new(TicketRating {
        id: Uuid::now_v7(),
        ticket_id: a2.id,
        window: 1,
        level: RatingLevel::VeryDissatisfied,
        reason: "等候时间长".into(),
    })))
    .unwrap();
    let e = evaluator.upload(vec![copied]).await.unwrap_err();
    assert_eq!(e.problem_code(), Some("record_conflict"));
    assert_eq!(s.db_count("SELECT COUNT(*) FROM ratings").await, 1, "the refused upload counted no rating");
    assert_eq!(s.db_count("SELECT COUNT(*) FROM follow_ups").await, 0, "nor opened a follow-up");
    let sql = format!("SELECT COUNT(*) FROM ratings WHERE ticket_id = '{}'", a2.id);
    assert_eq!(s.db_count(&sql).await, 0);

    // A2 is still unrated: its rating, stored properly, counts.
    log.keep(&rating(&a2, RatingLevel::VerySatisfied), Utc::now()).await.unwrap();
    let outcome = upload_own_logs(&evaluator, log.store(), 1).await.unwrap();
    // The first record again (uploaded above by hand, so still in the outbox: a replay) and the new.
    assert_eq!((outcome.uploaded, outcome.refused.len()), (2, 0), "{:?}", outcome.refused);
    assert_eq!(s.db_count(&sql).await, 1);
    log.close().await;
    s.stop().await;
}

/// closing23 "Ratings across midnight": the evaluator, offline, keeps a rating at 23:45 China
/// time (Monday 2026-03-02) and uploads it at 00:10. It counts for Monday's ticket, rating the
/// clerk who served it, stamped with the server's time of the upload; a rating the device
/// recorded before the previous working day is refused by name, kept in the log.
async fn an_offline_rating_given_before_midnight_counts_after_it(s: TestServer) {
    set_clock(&s, "2026-03-02T15:30:00Z");
    let (a1, a2) = two_served(&s).await;
    let evaluator = s.device(Role::Evaluator, Some(1)).await;
    let dir = tempfile::tempdir().unwrap();
    let log = EvaluatorLog::open(dir.path(), 1, "evaluator-1", Utc::now()).await.unwrap();
    let late = rating(&a1, RatingLevel::Dissatisfied);
    log.keep(&late, "2026-03-02T15:45:00Z".parse().unwrap()).await.unwrap();
    // Recorded on Friday 2026-02-27 by the device's clock: before Monday, the previous working
    // day of Tuesday.
    log.keep(&rating(&a2, RatingLevel::VerySatisfied), "2026-02-27T08:00:00Z".parse().unwrap()).await.unwrap();

    set_clock(&s, "2026-03-02T16:10:00Z");
    let outcome = upload_own_logs(&evaluator, log.store(), 1).await.unwrap();
    assert_eq!((outcome.uploaded, outcome.pending), (2, 0), "both kept in the log");
    let refused: Vec<(&str, &str)> = outcome.refused.iter().map(|r| (r.code.as_str(), r.message.as_str())).collect();
    assert_eq!(refused, [("rating_too_old", "这条评价记录于 2026-02-27，早于上一个工作日，不再计入")]);
    let pool_sql = format!(
        "SELECT COUNT(*) FROM ratings WHERE id = '{}' AND ticket_id = '{}' AND staff_id = 's001' AND rated_at = {}",
        late.id,
        a1.id,
        "2026-03-02T16:10:00Z".parse::<DateTime<Utc>>().unwrap().timestamp()
    );
    assert_eq!(s.db_count(&pool_sql).await, 1, "Monday's ticket rated, of its clerk, at the upload's server time");
    assert_eq!(s.db_count("SELECT COUNT(*) FROM ratings").await, 1, "the old one not counted");
    assert_eq!(s.db_count("SELECT COUNT(*) FROM follow_ups").await, 1, "the bad rating opened its follow-up");

    // Sent directly now, the same ticket is not today's: the direct route rates today's only.
    let e = evaluator.rate_ticket(1, &rating(&a2, RatingLevel::Satisfied)).await.unwrap_err();
    assert_eq!(e.problem_code(), Some("validation_failed"));
    log.close().await;
    s.stop().await;
}

/// A bad rating of Monday's ticket, kept offline at 21:00 Monday (China time) and uploaded at
/// 09:00 Tuesday, counts in Monday's figures (the report of Monday, its follow-up due from
/// Monday) and not in Tuesday's (the public count, the board, the report of Tuesday), while it
/// stays stamped with the server's time of the upload.
async fn a_late_rating_counts_in_its_tickets_days_figures_not_the_uploads(s: TestServer) {
    use bianmin::domain::report::Period;
    let monday = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let tuesday = chrono::NaiveDate::from_ymd_opt(2026, 3, 3).unwrap();
    set_clock(&s, "2026-03-02T12:30:00Z");
    let (a1, _) = two_served(&s).await;
    let evaluator = s.device(Role::Evaluator, Some(1)).await;
    let dir = tempfile::tempdir().unwrap();
    let log = EvaluatorLog::open(dir.path(), 1, "evaluator-1", Utc::now()).await.unwrap();
    let late = RateTicket { reason: "等候时间长".into(), ..rating(&a1, RatingLevel::Dissatisfied) };
    log.keep(&late, "2026-03-02T13:00:00Z".parse().unwrap()).await.unwrap();

    let uploaded_at = "2026-03-03T01:00:00Z".parse::<DateTime<Utc>>().unwrap();
    s.clock.0.store(uploaded_at.timestamp(), Ordering::SeqCst);
    let outcome = upload_own_logs(&evaluator, log.store(), 1).await.unwrap();
    assert_eq!((outcome.uploaded, outcome.refused.len()), (1, 0), "{:?}", outcome.refused);
    let sql =
        format!("SELECT COUNT(*) FROM ratings WHERE id = '{}' AND rated_at = {}", late.id, uploaded_at.timestamp());
    assert_eq!(s.db_count(&sql).await, 1, "stamped with the server's time of the upload");

    // Tuesday's figures: none of it.
    let boss = crate::board::director(&s).await;
    let today = boss.ratings_today().await.unwrap();
    assert_eq!(today.rated, 0, "the public count of Tuesday");
    let board = boss.board().await.unwrap();
    assert_eq!(board.ratings_today.total(), 0, "the board's Tuesday");
    let (follow_up, _) = board.follow_ups.iter().find(|(f, _)| f.rating_id == late.id).expect("its follow-up");
    let calendar = s.state.store.calendar().await.unwrap().map(|(_, c)| c).unwrap_or_default();
    assert_eq!(follow_up.opened_on, monday, "the follow-up is of Monday's rating");
    assert_eq!(follow_up.due_on, calendar.add_working_days(monday, s.state.follow_up_due_days).date);

    // The reports of each day, as the report route builds them.
    let report = |day| {
        server::service::report::load(s.state.store.as_ref(), Period::day(day), &s.state.opening_hours, uploaded_at)
    };
    let monday_report = report(monday).await.unwrap().report;
    assert_eq!((monday_report.ratings.total(), monday_report.ratings.bad()), (1, 1), "Monday's report counts it");
    assert_eq!(report(tuesday).await.unwrap().report.ratings.total(), 0, "Tuesday's does not");
    log.close().await;
    s.stop().await;
}

/// A case opened for `ticket` at window 1 by s001 at `at`, kept open, uploaded from the
/// clerk's log.
async fn case_of(s: &TestServer, dir: &std::path::Path, ticket: &Ticket, at: DateTime<Utc>) -> Uuid {
    use bianmin::client::local::LocalStore;
    use bianmin::client::sync::sync_logs;
    use bianmin::domain::center::Post;
    use bianmin::domain::intake::{Opening, open_case};
    let guide =
        bianmin::assets::bundled_catalogue().unwrap().guides.into_iter().find(|g| g.situations.is_empty()).unwrap();
    let opening = Opening { window: 1, post: Post::A, staff_id: "s001", ticket: Some(ticket.number) };
    let case = open_case(&guide, None, &opening, Uuid::now_v7(), at).unwrap();
    let local = LocalStore::open(&dir.join(format!("{}.db", case.id)), Utc::now()).await.unwrap().0;
    local.append("s001", 1, Post::A, &RecordBody::CaseSnapshot(Box::new(case.clone())), at).await.unwrap();
    let clerk = signed_in_client(&s.base, "s001").await;
    let outcome = sync_logs(&clerk, &local, 1).await.unwrap();
    assert_eq!(outcome.pending, 0, "{outcome:?}");
    case.id
}

/// Ticket numbers start again each day: Monday's A001 and A002 have cases still open on
/// Tuesday, beside Tuesday's A001 and A002. Tuesday's A001, whose case was opened on Tuesday,
/// is rated with that case; Tuesday's A002, which has none, is rated with no case, not
/// Monday's A002's.
async fn a_rating_is_linked_to_its_tickets_case_of_that_day_not_an_older_one_of_the_same_number(s: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    set_clock(&s, "2026-03-02T01:00:00Z");
    let monday = two_served(&s).await;
    let at = "2026-03-02T01:30:00Z".parse().unwrap();
    let monday_cases = (case_of(&s, dir.path(), &monday.0, at).await, case_of(&s, dir.path(), &monday.1, at).await);

    set_clock(&s, "2026-03-03T01:00:00Z");
    let (a1, a2) = two_served(&s).await;
    assert_eq!((a1.number, a2.number), (monday.0.number, monday.1.number), "the same numbers, a day apart");
    let todays_case = case_of(&s, dir.path(), &a1, "2026-03-03T01:30:00Z".parse().unwrap()).await;
    let open: Vec<Uuid> = s.state.store.open_cases(1).await.unwrap().into_iter().map(|c| c.id).collect();
    assert!(open.contains(&monday_cases.0) && open.contains(&monday_cases.1), "Monday's cases still open");

    let evaluator = s.device(Role::Evaluator, Some(1)).await;
    let second = evaluator.rate_ticket(1, &rating(&a2, RatingLevel::Satisfied)).await.unwrap();
    assert_eq!(second.case_id, None, "Tuesday's A002 with no case, not Monday's A002's");
    let first = evaluator.rate_ticket(1, &rating(&a1, RatingLevel::Satisfied)).await.unwrap();
    assert_eq!(first.case_id, Some(todays_case), "Tuesday's A001 with Tuesday's case");
    s.stop().await;
}

on_both_servers!(
    a_rating_whose_upload_is_refused_is_not_counted,
    an_offline_rating_given_before_midnight_counts_after_it,
    a_late_rating_counts_in_its_tickets_days_figures_not_the_uploads,
    a_rating_is_linked_to_its_tickets_case_of_that_day_not_an_older_one_of_the_same_number,
);
