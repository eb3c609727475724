//! The store contract: what every storage backend must do for the server's business flows
//! (`server::service`) to be correct on it. Each check is an async function over a freshly seeded
//! `Arc<dyn Store>`; `backend_contract!` runs all of them against one backend: SQLite on a
//! temporary file, and PostgreSQL on a fresh database of the server named by
//! `BIANMIN_TEST_POSTGRES_URL` (skipped without it, unless `BIANMIN_REQUIRE_POSTGRES=1`; see
//! `tests/common/postgres.rs`).

use std::sync::Arc;
use std::time::Duration;

use bianmin::api::RecordEnvelope;
use bianmin::domain::handover::{AwayReason, DutyState, HandoverDraft, HandoverKind, WindowAtHandover, handover_from};
use bianmin::domain::queue::{self as rules, TicketRequest};
use bianmin::domain::record::{Family, RecordBody, stream_name};
use bianmin::domain::ticket::{Priority, Ticket, TicketNumber, TicketStatus};
use bianmin::server::service::records::append_records;
use bianmin::server::store::repo::Lock;
use bianmin::server::store::{self, Store};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// A backend under test: its store, and whatever keeps it alive (a temporary directory).
pub struct Backend {
    pub store: Arc<dyn Store>,
    _keep: Box<dyn std::any::Any + Send>,
}

async fn open_sqlite() -> Option<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let url = bianmin::config::sqlite_url(&dir.path().join("contract.db"));
    let store = store::open(&url).await.unwrap();
    store.seed(&bianmin::server::seed::bundled_seed().unwrap()).await.unwrap();
    Some(Backend { store, _keep: Box::new(dir) })
}

async fn open_postgres() -> Option<Backend> {
    let db = crate::common::postgres::TempPgDatabase::create().await?;
    let store = store::open(&db.url).await.unwrap();
    store.seed(&bianmin::server::seed::bundled_seed().unwrap()).await.unwrap();
    Some(Backend { store, _keep: Box::new(db) })
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).unwrap()
}

fn today() -> NaiveDate {
    bianmin::domain::time::china_date(now())
}

fn ticket(letter: char, seq: u32, day: NaiveDate, joined: DateTime<Utc>) -> Ticket {
    let request =
        TicketRequest { category: letter, priority: Priority::Normal, guide_code: None, note: None, slot: None };
    let mut t = rules::issue(uuid::Uuid::now_v7(), TicketNumber { category: letter, seq }, &request, "d001", joined);
    t.day = day;
    t
}

fn at_window(mut t: Ticket, status: TicketStatus, window: u32) -> Ticket {
    t.status = status;
    t.window = Some(window);
    t
}

async fn queue_day(b: &Backend) -> Vec<Ticket> {
    b.store.queue_day_tickets(today()).await.unwrap()
}

/// Writes are seen by the unit itself at once and by everyone else only after commit; a unit
/// dropped without commit leaves nothing behind, its queue revision included.
pub async fn units_commit_or_leave_nothing(b: Backend) {
    let first = {
        let mut unit = b.store.begin(Lock::Queue).await.unwrap();
        let rev = unit.next_queue_revision().await.unwrap().rev;
        unit.insert_ticket(&ticket('A', 1, today(), now())).await.unwrap();
        assert_eq!(unit.last_seq(today(), 'A').await.unwrap(), 1, "a unit sees its own writes");
        rev
        // Dropped: rolled back.
    };
    assert!(queue_day(&b).await.is_empty(), "nothing of a dropped unit remains");
    let mut unit = b.store.begin(Lock::Queue).await.unwrap();
    assert_eq!(unit.next_queue_revision().await.unwrap().rev, first, "a dropped unit's revision is taken again");
    unit.insert_ticket(&ticket('A', 1, today(), now())).await.unwrap();
    unit.commit().await.unwrap();
    assert_eq!(queue_day(&b).await.len(), 1);
    assert_eq!(b.store.queue_snapshot(today()).await.unwrap().rev, first, "the snapshot carries the revision");
}

/// A slip's status token is written with its ticket's row, and only on a ticket that has none:
/// a later write of the ticket, with another token or none, keeps the first.
pub async fn a_status_token_goes_only_to_a_ticket_without_one(b: Backend) {
    use bianmin::server::store::repo::TicketWrite;
    let t = ticket('A', 1, today(), now());
    let write = |t: &Ticket, token: Option<&str>| TicketWrite {
        ticket: t.clone(),
        rev: 1,
        status_token: token.map(str::to_owned),
    };
    let token = || async { b.store.ticket_with_status_token(today(), t.number).await.unwrap().map(|(_, token)| token) };
    let mut unit = b.store.begin(Lock::Queue).await.unwrap();
    unit.put_tickets(&[write(&t, Some("first"))]).await.unwrap();
    unit.commit().await.unwrap();
    assert_eq!(token().await.as_deref(), Some("first"), "a new ticket takes its token");
    let mut unit = b.store.begin(Lock::Queue).await.unwrap();
    unit.put_tickets(&[write(&t, Some("second"))]).await.unwrap();
    unit.put_tickets(&[write(&at_window(t.clone(), TicketStatus::Called, 1), None)]).await.unwrap();
    unit.commit().await.unwrap();
    assert_eq!(token().await.as_deref(), Some("first"), "a second token, or none, leaves the first");
    let other = ticket('A', 2, today(), now());
    let mut unit = b.store.begin(Lock::Queue).await.unwrap();
    unit.put_tickets(&[write(&other, None)]).await.unwrap();
    unit.commit().await.unwrap();
    assert_eq!(b.store.ticket_with_status_token(today(), other.number).await.unwrap().map(|(_, k)| k), None);
}

/// Two units holding the same lock run one after the other: the second begins only once the first
/// has committed, and then reads what the first wrote.
pub async fn units_holding_one_lock_run_one_after_another(b: Backend) {
    for lock in [Lock::Queue, Lock::Duty, Lock::Records, Lock::SignIn, Lock::Catalogue] {
        let mut first = b.store.begin(lock).await.unwrap();
        // Only a read so far: the lock is the unit's from its beginning, not from its first write.
        first.last_seq(today(), 'A').await.unwrap();
        let store = b.store.clone();
        let second = tokio::spawn(async move {
            let mut unit = store.begin(lock).await.unwrap();
            let rev = unit.next_queue_revision().await.unwrap().rev;
            unit.commit().await.unwrap();
            rev
        });
        // However long the first holds its lock, the second waits for it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!second.is_finished(), "{lock:?}: a second unit ran while the first held the lock");
        let rev = first.next_queue_revision().await.unwrap().rev;
        first.commit().await.unwrap();
        let second = tokio::time::timeout(Duration::from_secs(30), second).await.unwrap().unwrap();
        assert_eq!(second, rev + 1, "{lock:?}: the second unit read the first's revision");
    }
}

/// "At a window" and "in play" are the domain's predicates, whatever the backend stores.
pub async fn status_questions_follow_the_domain(b: Backend) {
    let yesterday = today() - TimeDelta::days(1);
    let mut unit = b.store.begin(Lock::Queue).await.unwrap();
    for (seq, status) in TicketStatus::ALL.into_iter().enumerate() {
        let seq = seq as u32 + 1;
        unit.insert_ticket(&at_window(ticket('B', seq, yesterday, now()), status, 20 + seq)).await.unwrap();
        unit.insert_ticket(&at_window(ticket('C', seq, today(), now()), status, 3 + seq)).await.unwrap();
    }
    let mut past: Vec<TicketStatus> = unit.in_play_before(today()).await.unwrap().iter().map(|t| t.status).collect();
    past.sort_by_key(|s| s.label());
    let mut expected: Vec<TicketStatus> = TicketStatus::all_where(TicketStatus::is_in_play).collect();
    expected.sort_by_key(|s| s.label());
    assert_eq!(past, expected, "in play before today");
    assert!(unit.in_play_before(yesterday).await.unwrap().is_empty());
    for (seq, status) in TicketStatus::ALL.into_iter().enumerate() {
        let window = 3 + seq as u32 + 1;
        let found = unit.ticket_at_window(window).await.unwrap().map(|t| t.status);
        assert_eq!(found, status.is_at_window().then_some(status), "ticket at window {window} ({status:?})");
    }
    unit.commit().await.unwrap();
    for (seq, status) in TicketStatus::ALL.into_iter().enumerate() {
        let found = b.store.ticket_at_window(3 + seq as u32 + 1).await.unwrap().map(|t| t.status);
        assert_eq!(found, status.is_at_window().then_some(status), "the read side agrees ({status:?})");
    }
    let snapshot = b.store.queue_snapshot(today()).await.unwrap();
    assert!(snapshot.tickets.iter().all(|t| t.status.is_in_play()));
    assert_eq!(snapshot.tickets.len(), expected.len());
    assert_eq!(snapshot.done, 1);
}

/// The waiting tickets a window may be given: its categories' lines and tickets sent to it, in
/// the selection rule's order, slots not yet begun left out, at most `limit`.
pub async fn waiting_tickets_come_in_the_rules_order(b: Backend) {
    let window = b.store.windows().await.unwrap().into_iter().find(|w| w.number == 1).unwrap();
    assert_eq!(window.categories, vec!['A', 'B']);
    let mut unit = b.store.begin(Lock::Queue).await.unwrap();
    let minute = |m: i64| now() - TimeDelta::minutes(60 - m);
    let mut green = ticket('B', 1, today(), minute(10));
    green.priority = Priority::Green(bianmin::domain::ticket::GreenReason::Elderly);
    let mut sent_here = ticket('D', 1, today(), minute(20));
    sent_here.target_window = Some(1);
    let mut sent_elsewhere = ticket('A', 9, today(), minute(0));
    sent_elsewhere.target_window = Some(2);
    let tickets = [
        ticket('A', 1, today(), minute(5)),
        green,
        sent_here,
        sent_elsewhere,
        ticket('C', 1, today(), minute(0)),
        ticket('A', 2, today() - TimeDelta::days(1), minute(0)),
        at_window(ticket('A', 3, today(), minute(1)), TicketStatus::Parked, 1),
    ];
    for t in &tickets {
        unit.insert_ticket(t).await.unwrap();
    }
    let got = unit.waiting_for(today(), &window, now(), 8).await.unwrap();
    let mut expected: Vec<&Ticket> = tickets[..3].iter().collect();
    expected.sort_by_key(|t| rules::rank(t));
    assert_eq!(got.iter().map(|t| t.number).collect::<Vec<_>>(), expected.iter().map(|t| t.number).collect::<Vec<_>>());
    assert_eq!(got[0].number.category, 'B', "the green head start puts B001 first");
    assert_eq!(unit.waiting_for(today(), &window, now(), 1).await.unwrap().len(), 1, "at most the limit");
    // Saving a ticket moves it in the order: called, it is no longer waiting.
    let called = at_window(got[0].clone(), TicketStatus::Called, 1);
    unit.save_ticket(&called).await.unwrap();
    assert_eq!(unit.waiting_for(today(), &window, now(), 8).await.unwrap().len(), 2);
    assert_eq!(unit.ticket_at_window(1).await.unwrap().map(|t| t.number), Some(called.number));
    assert_eq!(unit.ticket(today(), called.number).await.unwrap().map(|t| t.status), Some(TicketStatus::Called));
    assert_eq!(unit.last_seq(today(), 'A').await.unwrap(), 9);
    assert_eq!(unit.last_seq(today(), 'E').await.unwrap(), 0);
    assert!(unit.category_exists('A').await.unwrap() && !unit.category_exists('Z').await.unwrap());
}

/// Pauses, duties, the roster and staff are kept as given.
pub async fn pauses_duties_and_the_roster_are_kept(b: Backend) {
    let mut unit = b.store.begin(Lock::Duty).await.unwrap();
    assert_eq!(unit.pause(1).await.unwrap(), None);
    let pause = bianmin::api::queue::WindowPause { reason: "系统故障".into(), since: now(), by: "s001".into() };
    unit.set_pause(1, Some(&pause)).await.unwrap();
    assert_eq!(unit.pause(1).await.unwrap(), Some(pause));
    unit.set_pause(1, None).await.unwrap();
    assert_eq!(unit.pause(1).await.unwrap(), None);
    let duties = unit.duties().await.unwrap();
    assert!(duties.iter().all(|(_, d)| *d == DutyState::AOnDuty), "{duties:?}");
    let covering =
        DutyState::BCovering { reason: bianmin::domain::handover::AwayReason::Meeting, expected_return: None };
    unit.write_duty(2, &covering, now()).await.unwrap();
    assert_eq!(unit.duty_changed_at(2).await.unwrap(), Some(now()));
    let mut windows = unit.windows().await.unwrap();
    windows[0].b_holder = "s007".into();
    unit.save_window(&windows[0]).await.unwrap();
    assert_eq!(unit.staff("s007").await.unwrap().map(|s| s.id), Some("s007".into()));
    assert_eq!(unit.staff("nobody").await.unwrap(), None);
    unit.commit().await.unwrap();
    assert_eq!(b.store.duty(2).await.unwrap(), covering);
    assert_eq!(b.store.windows().await.unwrap()[0].b_holder, "s007");
}

/// Appointment slots are replaced per category; a booking's place counts until its ticket is
/// void; a booking is found by its code or phone only while still booked.
pub async fn bookings_are_counted_found_and_freed(b: Backend) {
    use bianmin::domain::appointment::SlotPlan;
    use bianmin::server::store::repo::BookingKey;
    let t = |h| chrono::NaiveTime::from_hms_opt(h, 0, 0).unwrap();
    let plan = |category, h| SlotPlan { category, start: t(h), end: t(h + 1), capacity: 2 };
    let mut unit = b.store.begin(Lock::Queue).await.unwrap();
    unit.replace_slot_plans('A', &[plan('A', 10), plan('A', 9)]).await.unwrap();
    unit.replace_slot_plans('B', &[plan('B', 9)]).await.unwrap();
    unit.replace_slot_plans('A', &[plan('A', 11)]).await.unwrap();
    assert_eq!(unit.slot_plans().await.unwrap(), [plan('A', 11), plan('B', 9)], "replaced, ordered");
    let start = now() + TimeDelta::hours(2);
    let end = start + TimeDelta::hours(1);
    let booked = |seq| {
        let request = TicketRequest {
            category: 'A',
            priority: Priority::Normal,
            guide_code: None,
            note: None,
            slot: Some((start, end)),
        };
        rules::issue(uuid::Uuid::now_v7(), TicketNumber { category: 'A', seq }, &request, "d001", now())
    };
    let (one, two) = (booked(1), booked(2));
    for (t, code, phone) in [(&one, "482715", Some("13800138000")), (&two, "593826", None)] {
        unit.insert_ticket(t).await.unwrap();
        unit.insert_booking(t, code, phone).await.unwrap();
    }
    assert_eq!(unit.booked_in_slot('A', start).await.unwrap(), 2);
    assert_eq!(unit.booked_in_slot('B', start).await.unwrap(), 0);
    assert!(unit.booking_code_taken(one.day, "482715").await.unwrap());
    assert!(!unit.booking_code_taken(one.day + TimeDelta::days(1), "482715").await.unwrap());
    let found = |v: Vec<Ticket>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(found(unit.bookings_of(one.day, BookingKey::Code("593826")).await.unwrap()), [two.id]);
    assert_eq!(found(unit.bookings_of(one.day, BookingKey::Phone("13800138000")).await.unwrap()), [one.id]);
    // Checked in: no longer found; cancelled (void): its place is free.
    let arrived = rules::apply(&one, &rules::Step::CheckIn, "d001", start - TimeDelta::minutes(10), None).unwrap();
    unit.save_ticket(&arrived).await.unwrap();
    assert!(unit.bookings_of(one.day, BookingKey::Code("482715")).await.unwrap().is_empty());
    let cancelled = rules::apply(&two, &rules::Step::Cancel, "d001", now(), None).unwrap();
    unit.save_ticket(&cancelled).await.unwrap();
    assert_eq!(unit.booked_in_slot('A', start).await.unwrap(), 1);
    unit.commit().await.unwrap();
}

fn envelope(device: uuid::Uuid, idx: u64, author: &str, body: &RecordBody) -> RecordEnvelope {
    RecordEnvelope {
        schema: bianmin::api::RECORD_SCHEMA,
        device,
        stream: stream_name(1, Family::Handovers),
        idx,
        id: uuid::Uuid::now_v7(),
        created_at: now(),
        author: author.into(),
        window: 1,
        post: bianmin::domain::center::Post::B,
        body: serde_json::to_value(body).unwrap(),
    }
}

/// A handover's acknowledgements fold by the domain's rule (`fold_acknowledgement`), as the
/// terminals fold them: of two by the receiver, the earliest stands whichever arrived first; one
/// by anyone else never counts. The handover switches the duty as the domain says.
pub async fn acknowledgements_fold_by_the_domains_rule(b: Backend) {
    let windows = b.store.windows().await.unwrap();
    let at = WindowAtHandover { window: &windows[0], open_cases: &[], tickets: &[] };
    let draft =
        HandoverDraft { reason: Some(AwayReason::Meeting), notes: "去开会".into(), ..HandoverDraft::default() };
    let h = handover_from(&at, HandoverKind::AToB, "s001", draft, uuid::Uuid::now_v7(), now()).unwrap();
    let ack = |minutes: i64, by: &str, note: &str| RecordBody::HandoverAcknowledged {
        handover_id: h.id,
        by: by.into(),
        at: now() + TimeDelta::minutes(minutes),
        note: note.into(),
    };
    let (a_device, b_device, b_laptop) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    // The later acknowledgement and one by A arrive before the handover, the earlier one after it.
    let batches = [
        envelope(b_laptop, 1, "s002", &ack(9, "s002", "后确认")),
        envelope(a_device, 1, "s001", &ack(1, "s001", "不算")),
        envelope(a_device, 2, "s001", &RecordBody::HandoverWritten(Box::new(h.clone()))),
        envelope(b_device, 1, "s002", &ack(5, "s002", "先确认")),
    ];
    for record in batches {
        append_records(b.store.as_ref(), &[record], now().timestamp(), &crate::common::server::clerk("s001"))
            .await
            .unwrap();
    }
    let stored = b.store.handovers(1, 10).await.unwrap();
    assert_eq!(stored.len(), 1);
    let counted = stored[0].acknowledged.as_ref().expect("acknowledged");
    assert_eq!((counted.by.as_str(), counted.note.as_str()), ("s002", "先确认"));
    assert!(matches!(b.store.duty(1).await.unwrap(), DutyState::BCovering { .. }), "A to B: B covers");
}

fn envelope_in(device: uuid::Uuid, family: Family, idx: u64, at: DateTime<Utc>, body: &RecordBody) -> RecordEnvelope {
    RecordEnvelope { stream: stream_name(1, family), created_at: at, ..envelope(device, idx, "s001", body) }
}

fn walk_in(note: &str) -> RecordBody {
    RecordBody::Visit(bianmin::domain::record::Visit::new("", note).unwrap())
}

/// A record is kept once at its place: a second insert at the place (or of the same id) stores
/// nothing. A log's head is what the backend is told; the indexes after it come in order.
pub async fn records_are_kept_once_at_their_place(b: Backend) {
    let device = uuid::Uuid::now_v7();
    let first = envelope_in(device, Family::Visits, 1, now(), &walk_in("咨询"));
    let mut unit = b.store.begin(Lock::Records).await.unwrap();
    assert!(unit.insert_record(&first, now().timestamp()).await.unwrap());
    assert!(!unit.insert_record(&first, now().timestamp()).await.unwrap(), "a replay stores nothing");
    let other = envelope_in(device, Family::Visits, 1, now(), &walk_in("另一条"));
    assert!(!unit.insert_record(&other, now().timestamp()).await.unwrap(), "the place is taken");
    assert_eq!(unit.record_id_at(device, &first.stream, 1).await.unwrap(), Some(first.id));
    assert_eq!(unit.record_id_at(device, &first.stream, 2).await.unwrap(), None);
    for idx in [3, 4, 7] {
        let r = envelope_in(device, Family::Visits, idx, now(), &walk_in("咨询"));
        assert!(unit.insert_record(&r, now().timestamp()).await.unwrap());
    }
    assert_eq!(unit.indexes_after(device, &first.stream, 1, 10).await.unwrap(), vec![3, 4, 7]);
    assert_eq!(unit.indexes_after(device, &first.stream, 3, 1).await.unwrap(), vec![4], "at most the limit");
    assert_eq!(unit.stream_head(device, &first.stream).await.unwrap(), 0, "a new log");
    unit.set_stream_head(device, &first.stream, 1, 1).await.unwrap();
    assert_eq!(unit.stream_head(device, &first.stream).await.unwrap(), 1);
    unit.commit().await.unwrap();
    let heads = b.store.stream_status(1, None).await.unwrap();
    assert_eq!(heads.iter().map(|h| (h.device, h.last)).collect::<Vec<_>>(), vec![(device, 1)]);
}

/// Uploads through the flow: a head stops at a gap and moves over it once the gap is filled; a
/// replay changes nothing; another record at a taken place is a conflict and nothing of its batch
/// stays.
pub async fn uploads_move_heads_over_gaps_only(b: Backend) {
    let device = uuid::Uuid::now_v7();
    let r = |idx| envelope_in(device, Family::Visits, idx, now(), &walk_in("咨询"));
    let (one, two, three) = (r(1), r(2), r(3));
    let (heads, new) =
        append_records(b.store.as_ref(), &[one.clone(), three.clone()], 0, &crate::common::server::clerk("s001"))
            .await
            .unwrap();
    assert_eq!((heads[0].last, new), (1, 2), "the head stops before the gap at 2");
    let (heads, new) =
        append_records(b.store.as_ref(), &[two, three.clone()], 0, &crate::common::server::clerk("s001"))
            .await
            .unwrap();
    assert_eq!((heads[0].last, new), (3, 1), "filled: the head moves over 3 as well; 3 was a replay");
    let clash = r(3);
    let fresh = r(4);
    let refused = append_records(b.store.as_ref(), &[fresh, clash], 0, &crate::common::server::clerk("s001")).await;
    assert!(matches!(refused, Err(store::StoreError::RecordConflict { idx: 3, .. })), "{refused:?}");
    assert_eq!(b.store.records(device, &one.stream, 1, 10).await.unwrap().len(), 3, "record 4 went with its batch");
    assert_eq!(b.store.visits_since(1, 0).await.unwrap(), 3, "each walk-in projected once");
}

/// A case's changes are ordered by its version, never by a clock: the next version stands even
/// when its terminal's clock is behind, a rival made from the same version is kept as a conflict
/// for the window to see, and the same change sent again changes nothing.
pub async fn case_changes_are_ordered_by_version_not_by_clock(b: Backend) {
    let case = a_case_opened_at_window_1();
    let mut next = case.clone();
    next.status = bianmin::domain::case::CaseStatus::AwaitingMaterials;
    next.new_version(uuid::Uuid::now_v7());
    let mut rival = case.clone();
    rival.status = bianmin::domain::case::CaseStatus::Ended;
    rival.new_version(uuid::Uuid::now_v7());
    let (device, other) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let snapshot = |device, idx, at, c: &bianmin::domain::case::Case| {
        envelope_in(device, Family::Cases, idx, at, &RecordBody::CaseSnapshot(Box::new(c.clone())))
    };
    append_records(b.store.as_ref(), &[snapshot(device, 1, now(), &case)], 0, &crate::common::server::clerk("s001"))
        .await
        .unwrap();
    // The next version from a terminal whose clock is five minutes behind.
    append_records(
        b.store.as_ref(),
        &[snapshot(device, 2, now() - TimeDelta::minutes(5), &next)],
        0,
        &crate::common::server::clerk("s001"),
    )
    .await
    .unwrap();
    // A rival made from version 1 on another terminal, with a clock ahead.
    let rival_record = snapshot(other, 1, now() + TimeDelta::minutes(5), &rival);
    append_records(b.store.as_ref(), std::slice::from_ref(&rival_record), 0, &crate::common::server::clerk("s001"))
        .await
        .unwrap();
    let open = b.store.open_cases(1).await.unwrap();
    assert_eq!(open.iter().map(|c| (c.id, c.status)).collect::<Vec<_>>(), vec![(case.id, next.status)]);
    let conflicts = b.store.case_conflicts(1).await.unwrap();
    assert_eq!(
        conflicts.iter().map(|c| (c.record_id, c.version, c.held_version)).collect::<Vec<_>>(),
        vec![(rival_record.id, 2, 2)]
    );
    let mut unit = b.store.begin(Lock::Records).await.unwrap();
    let held = unit.held_case(case.id).await.unwrap().expect("held");
    assert_eq!((held.window, held.version.version, held.version.version_id), (1, 2, next.version.version_id));
    assert!(unit.held_case(uuid::Uuid::now_v7()).await.unwrap().is_none());
}

/// Sign-in attempts are counted under the sign-in lock: however many run at once, no more are
/// reserved than the limits allow, and a refused one is not written.
pub async fn sign_in_limits_hold_under_concurrency(b: Backend) {
    use bianmin::server::service::sign_in::reserve_attempt;
    use bianmin::server::store::{LoginLimits, Reservation};
    let limits = LoginLimits { account: 3, address: 100, anywhere: 100 };
    let at = now().timestamp();
    let attempts: Vec<_> = (0..12)
        .map(|_| {
            let store = b.store.clone();
            tokio::spawn(async move { reserve_attempt(store.as_ref(), "s001", "10.0.0.9", at, at - 900, limits).await })
        })
        .collect();
    let mut reserved = 0;
    for attempt in attempts {
        match attempt.await.unwrap().unwrap() {
            Reservation::Reserved(_) => reserved += 1,
            Reservation::Refused(counted) => assert_eq!(counted.account.len(), 3, "refused with what was counted"),
        }
    }
    assert_eq!(reserved, 3, "exactly the limit, however the attempts interleave");
    let mut unit = b.store.begin(Lock::SignIn).await.unwrap();
    let counted = unit.attempts("s001", "10.0.0.9").await.unwrap();
    assert_eq!((counted.account.len(), counted.address.len(), counted.anywhere.len()), (3, 3, 3));
    unit.forget_attempts_before(at + 1).await.unwrap();
    assert!(unit.attempts("s001", "10.0.0.9").await.unwrap().account.is_empty(), "older ones are forgotten");
}

/// A catalogue change takes the next change sequence and the guide's next revision (the domain's
/// rule); an unchanged guide takes neither.
pub async fn catalogue_changes_take_the_next_sequence(b: Backend) {
    use bianmin::server::service::catalogue::upsert_guides;
    let before = b.store.catalogue_seq().await.unwrap();
    let mut guide = b.store.guide("HB-QS-0001").await.unwrap().unwrap();
    let report = upsert_guides(b.store.as_ref(), std::slice::from_ref(&guide), today()).await.unwrap();
    assert_eq!((report.added, report.changed, report.unchanged), (0, 0, 1));
    assert_eq!(b.store.catalogue_seq().await.unwrap(), before, "nothing changed, no new sequence");
    guide.aliases.push("测试别名".into());
    let report = upsert_guides(b.store.as_ref(), std::slice::from_ref(&guide), today()).await.unwrap();
    assert_eq!((report.added, report.changed), (0, 1));
    let (seq, changed) = b.store.guides_since(before).await.unwrap();
    assert_eq!(seq, before + 1);
    assert_eq!(
        changed.iter().map(|g| (g.code.as_str(), g.revision)).collect::<Vec<_>>(),
        vec![("HB-QS-0001", guide.revision + 1)]
    );
    let mut unit = b.store.begin(Lock::Catalogue).await.unwrap();
    assert_eq!(unit.catalogue_seq().await.unwrap(), before + 1);
    assert_eq!(unit.guide("HB-QS-0001").await.unwrap().map(|g| g.updated_on), Some(today()));
    assert_eq!(unit.guide("nope").await.unwrap(), None);
}

/// The second center of a two-center database: its own id, name, staff (`b-…`) and two windows
/// numbered like the first center's; the catalogue is the county's and is not seeded twice.
fn second_center() -> store::SeedData {
    let mut seed = bianmin::server::seed::bundled_seed().unwrap();
    seed.center.id = "second-center".into();
    seed.center.name = "第二乡镇便民服务中心".into();
    for s in &mut seed.staff {
        s.staff.id = format!("b-{}", s.staff.id);
    }
    seed.windows.truncate(2);
    for w in &mut seed.windows {
        w.name = format!("第二中心{}号窗口", w.number);
        w.a_holder = format!("b-{}", w.a_holder);
        w.b_holder = format!("b-{}", w.b_holder);
    }
    seed.guides.clear();
    seed
}

/// Two centers in one database, each through a handle bound to it: what is written through A's
/// handle (uploads and their projections, a rating with its follow-up, a handover, an audit
/// line, a session) is invisible through B's, A's rows looked up by id through B answer
/// not-found, B cannot change A's staff nor write into A's device log, and B's report reads
/// count only B. The handle bound to no center refuses rather than guess.
pub async fn centers_see_only_their_own_data(b: Backend) {
    use bianmin::domain::follow_up::FollowUp;
    use bianmin::domain::rating::{Rating, RatingLevel};
    let first = b.store.bound_center().await.unwrap().to_string();
    let second = second_center();
    b.store.seed(&second).await.unwrap();
    let refused = b.store.windows().await;
    assert!(matches!(refused, Err(store::StoreError::CenterNotChosen { centers: 2 })), "{refused:?}");
    assert!(matches!(b.store.begin(Lock::Records).await, Err(store::StoreError::CenterNotChosen { centers: 2 })));
    let (a, z) = (b.store.for_center(&first), b.store.for_center(&second.center.id));

    // The center's own: center, windows, categories, staff, duty.
    assert_eq!(z.center().await.unwrap().map(|c| c.name), Some(second.center.name.clone()));
    assert_eq!(a.center().await.unwrap().map(|c| c.id), Some(first.clone()));
    let names = |ws: Vec<bianmin::domain::center::Window>| ws.into_iter().map(|w| w.name).collect::<Vec<_>>();
    assert_eq!(names(z.windows().await.unwrap()), names(second.windows.clone()));
    assert!(a.windows().await.unwrap().len() > 2, "A keeps its own windows");
    assert_eq!(z.place(1).await.unwrap().map(|(w, _)| w.name), Some(second.windows[0].name.clone()));
    assert_eq!(z.place(3).await.unwrap(), None, "B has no window 3, A has");
    assert!(z.all_staff().await.unwrap().iter().all(|s| s.id.starts_with("b-")));
    assert!(a.all_staff().await.unwrap().iter().all(|s| !s.id.starts_with("b-")));
    assert_eq!(z.categories().await.unwrap().len(), second.categories.len());

    // Uploads through A: a walk-in and a case; a rival case change (a conflict); a notice.
    let case = a_case_opened_at_window_1();
    let mut rival = case.clone();
    rival.status = bianmin::domain::case::CaseStatus::Ended;
    rival.new_version(uuid::Uuid::now_v7());
    let mut next = case.clone();
    next.new_version(uuid::Uuid::now_v7());
    let (device, other) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let snapshot = |device, idx, c: &bianmin::domain::case::Case| {
        envelope_in(device, Family::Cases, idx, now(), &RecordBody::CaseSnapshot(Box::new(c.clone())))
    };
    let notice = bianmin::domain::notice::OneTimeNotice {
        id: uuid::Uuid::now_v7(),
        number: "GZ01-20260528-0001".into(),
        case_id: case.id,
        missing: vec![],
        given_at: now(),
        given_by: "s001".into(),
        window: 1,
        repeat_reason: None,
    };
    let visit = envelope_in(device, Family::Visits, 1, now(), &walk_in("咨询"));
    let inquiry = bianmin::domain::inquiry::Inquiry {
        id: uuid::Uuid::now_v7(),
        question: "社保怎么转".into(),
        guide_code: None,
        outcome: bianmin::domain::inquiry::InquiryOutcome::Answered,
        first_responder: "d001".into(),
        asked_at: now(),
    };
    let uploads = [
        visit.clone(),
        snapshot(device, 1, &case),
        snapshot(device, 2, &next),
        snapshot(other, 1, &rival),
        envelope_in(device, Family::Notices, 1, now(), &RecordBody::NoticeGiven(Box::new(notice.clone()))),
        envelope_in(device, Family::Inquiries, 1, now(), &RecordBody::InquiryRecorded(Box::new(inquiry))),
    ];
    let clerk = crate::common::server::clerk("s001");
    append_records(a.as_ref(), &uploads, now().timestamp(), &clerk).await.unwrap();
    let conflict = uploads[3].id;
    // A handover, through A's unit.
    let windows = a.windows().await.unwrap();
    let at = WindowAtHandover { window: &windows[0], open_cases: &[], tickets: &[] };
    let draft =
        HandoverDraft { reason: Some(AwayReason::Meeting), notes: "去开会".into(), ..HandoverDraft::default() };
    let h = handover_from(&at, HandoverKind::AToB, "s001", draft, uuid::Uuid::now_v7(), now()).unwrap();
    let mut unit = a.begin(Lock::Records).await.unwrap();
    assert!(unit.insert_handover(1, &h).await.unwrap());
    unit.commit().await.unwrap();
    // A bad rating of a ticket with its follow-up, an audit line and a session, through A.
    let rating = Rating {
        id: uuid::Uuid::now_v7(),
        window: 1,
        staff: "s001".into(),
        case_id: None,
        level: RatingLevel::Dissatisfied,
        comment: "等太久".into(),
        rated_at: now(),
        day: None,
        reply: None,
    };
    let follow_up = FollowUp::open(&rating, &bianmin::assets::bundled_calendar().unwrap(), 5).unwrap();
    let rated_ticket = uuid::Uuid::now_v7();
    assert!(a.rate_ticket(&rating, rated_ticket, "e001", Some(&follow_up)).await.unwrap());
    let audit = bianmin::api::accounts::AuditEntry {
        id: 0,
        at: now(),
        claimed_at: None,
        staff_id: "s001".into(),
        window: Some(1),
        action: "测试".into(),
        target_kind: "case".into(),
        target_id: case.id.to_string(),
        addr: None,
        count: 1,
    };
    a.append_audit(&audit).await.unwrap();
    a.create_session("hash-of-a", "s001", now().timestamp(), now().timestamp() + 3600).await.unwrap();

    // A sees all of it...
    assert_eq!(a.open_cases(1).await.unwrap().len(), 1);
    assert_eq!(a.case(case.id).await.unwrap().map(|c| c.id), Some(case.id));
    assert_eq!(a.case_window(case.id).await.unwrap(), Some(1));
    assert_eq!(a.case_conflicts(1).await.unwrap().len(), 1);
    assert_eq!(a.handovers(1, 10).await.unwrap().len(), 1);
    assert_eq!(a.visits_since(1, 0).await.unwrap(), 1);
    assert_eq!(a.records(device, &visit.stream, 1, 10).await.unwrap().len(), 1);
    assert_eq!(a.stream_status(1, Some(device)).await.unwrap().len(), 5, "four logs of the device, one of the other");
    assert_eq!(a.follow_ups(None).await.unwrap().len(), 1);
    assert!(a.ticket_rated(rated_ticket).await.unwrap());
    assert_eq!(a.rating_counts(rating.day()).await.unwrap(), (1, 1));
    assert!(a.audit_trail(10, None).await.unwrap().iter().any(|e| e.action == "测试"));

    // ... and B none of it: by window, by id, in the report's reads.
    assert!(z.open_cases(1).await.unwrap().is_empty());
    assert_eq!(z.case(case.id).await.unwrap(), None, "another center's case by id: not found");
    assert_eq!(z.case_window(case.id).await.unwrap(), None);
    assert!(z.case_former_windows(case.id).await.unwrap().is_empty());
    let by_notice = bianmin::api::CaseSearch { notice_number: notice.number.clone(), ..Default::default() };
    assert!(z.find_cases(&by_notice, 10).await.unwrap().is_empty());
    assert_eq!(a.find_cases(&by_notice, 10).await.unwrap().len(), 1, "A finds its case by its notice");
    assert!(z.case_conflicts(1).await.unwrap().is_empty());
    assert!(z.conflicts_of(&[conflict]).await.unwrap().is_empty());
    assert!(!z.mark_conflict_seen(1, conflict, "b-s001", now().timestamp()).await.unwrap());
    assert!(z.handovers(1, 10).await.unwrap().is_empty());
    assert_eq!(z.handover(h.id).await.unwrap(), None);
    assert_eq!(z.unacknowledged_handover(1, "s002").await.unwrap(), None);
    assert_eq!(z.visits_since(1, 0).await.unwrap(), 0);
    assert!(z.records(device, &visit.stream, 1, 10).await.unwrap().is_empty());
    assert!(z.stream_status(1, Some(device)).await.unwrap().is_empty());
    assert!(z.follow_ups(None).await.unwrap().is_empty());
    assert!(z.follow_ups(Some(1)).await.unwrap().is_empty());
    assert_eq!(z.follow_up(rating.id).await.unwrap(), None);
    assert!(!z.add_follow_up_step(&follow_up, 0).await.unwrap(), "B cannot step A's follow-up");
    assert!(!z.ticket_rated(rated_ticket).await.unwrap());
    assert_eq!(z.ticket_rating(rating.id).await.unwrap(), None);
    assert_eq!(z.rating_counts(rating.day()).await.unwrap(), (0, 0));
    assert!(!z.audit_trail(10, None).await.unwrap().iter().any(|e| e.action == "测试"));
    let mut unit = z.begin(Lock::Records).await.unwrap();
    assert!(unit.held_case(case.id).await.unwrap().is_none());
    assert!(unit.handover(h.id).await.unwrap().is_none());
    assert_eq!(unit.stream_head(device, &visit.stream).await.unwrap(), 0);
    assert_eq!(unit.record_id_at(device, &visit.stream, 1).await.unwrap(), None);
    drop(unit);
    let (from, to) = (0, i64::MAX);
    assert!(z.all_cases().await.unwrap().is_empty(), "B's report counts no case of A's");
    assert!(z.notices_between(from, to).await.unwrap().is_empty());
    assert!(z.ratings_of_days(rating.day(), rating.day()).await.unwrap().is_empty());
    assert!(z.all_handovers().await.unwrap().is_empty());
    assert!(z.inquiries_between(from, to).await.unwrap().is_empty());
    assert_eq!(a.inquiries_between(from, to).await.unwrap().len(), 1);
    assert_eq!(a.all_cases().await.unwrap().len(), 1);
    assert_eq!(a.notices_between(from, to).await.unwrap().len(), 1);
    assert_eq!(a.ratings_of_days(rating.day(), rating.day()).await.unwrap().len(), 1);
    assert_eq!(a.all_handovers().await.unwrap().len(), 1);

    // B cannot touch A's staff; sign-in's lookup is county-wide (a staff id names one person).
    assert!(!z.set_active("s001", false).await.unwrap());
    assert!(!z.set_password("s001", "x").await.unwrap());
    assert_eq!(z.revoke_sessions("s001").await.unwrap(), 0);
    assert!(a.session("hash-of-a").await.unwrap().is_some(), "A's session outlives B's attempt");
    assert!(a.staff_credentials("s001").await.unwrap().unwrap().staff.active);
    assert!(z.staff_credentials("s001").await.unwrap().is_some());

    // B's uploads: into A's device log never, not even a replay of A's own record.
    let into_a = envelope_in(device, Family::Visits, 2, now(), &walk_in("冒用"));
    let refused = append_records(z.as_ref(), &[into_a], 0, &crate::common::server::clerk("b-s001")).await;
    assert!(matches!(refused, Err(store::StoreError::RecordConflict { idx: 2, .. })), "{refused:?}");
    let replay =
        append_records(z.as_ref(), std::slice::from_ref(&visit), 0, &crate::common::server::clerk("b-s001")).await;
    assert!(matches!(replay, Err(store::StoreError::RecordConflict { idx: 1, .. })), "{replay:?}");
    assert_eq!(a.records(device, &visit.stream, 1, 10).await.unwrap().len(), 1, "A's log is as it was");
    // B's own device: stored, and only B sees it.
    let own = uuid::Uuid::now_v7();
    let b_visit = envelope_in(own, Family::Visits, 1, now(), &walk_in("咨询"));
    append_records(z.as_ref(), &[b_visit], 0, &crate::common::server::clerk("b-s001")).await.unwrap();
    assert_eq!(z.visits_since(1, 0).await.unwrap(), 1);
    assert_eq!(a.visits_since(1, 0).await.unwrap(), 1, "A counts only its own walk-in");
    assert!(a.stream_status(1, Some(own)).await.unwrap().iter().all(|s| s.device != own));
}

/// One device id presented by two centers at once (a forged or copied id): the first records of
/// its log arrive in both centers' units before either commits. The log stays one center's:
/// the second center's record is refused (a conflict for the upload), never stored beside the
/// first center's in one log. (Without a claim on the log's head before its first record, both
/// units found no head and each stored its own records: a split log.)
pub async fn a_device_id_of_two_centers_at_once_never_splits_its_log(b: Backend) {
    let first = b.store.bound_center().await.unwrap().to_string();
    let second = second_center();
    b.store.seed(&second).await.unwrap();
    let (a, z) = (b.store.for_center(&first), b.store.for_center(&second.center.id));
    let device = uuid::Uuid::now_v7();
    let (one, two) = (
        envelope_in(device, Family::Visits, 1, now(), &walk_in("一")),
        envelope_in(device, Family::Visits, 2, now(), &walk_in("二")),
    );
    let stream = one.stream.clone();
    let mut unit_a = a.begin(Lock::Records).await.unwrap();
    assert!(unit_a.insert_record(&one, now().timestamp()).await.unwrap());
    let other = tokio::spawn(async move {
        let mut unit_z = z.begin(Lock::Records).await.unwrap();
        let stored = unit_z.insert_record(&two, now().timestamp()).await.unwrap();
        if stored {
            unit_z.set_stream_head(two.device, &two.stream, two.window, 0).await.unwrap();
        }
        unit_z.commit().await.unwrap();
        stored
    });
    // The other center's unit runs meanwhile (on PostgreSQL it then waits for this one's claim).
    tokio::time::sleep(Duration::from_millis(500)).await;
    unit_a.set_stream_head(device, &stream, 1, 1).await.unwrap();
    unit_a.commit().await.unwrap();
    let stored_by_other = tokio::time::timeout(Duration::from_secs(60), other).await.unwrap().unwrap();
    assert!(!stored_by_other, "the second center's record was stored in a log the first center holds");
    let held = a.records(device, &stream, 1, 10).await.unwrap();
    assert_eq!(held.iter().map(|r| r.idx).collect::<Vec<_>>(), [1]);
    let z = b.store.for_center(&second.center.id);
    assert!(z.records(device, &stream, 1, 10).await.unwrap().is_empty(), "nothing of the log in the other center");
}

/// The configuration revision a queue unit reads with its revision (the store's triggers bump it
/// on every write of the center's windows, categories or row) orders it with those writes: a
/// unit taking its revision while a roster write is under way waits for it and reads its
/// revision; a roster write begun while a queue unit holds its revision waits for that unit.
/// What the queue's memory trusts its windows and categories by (`service::day_queue`).
pub async fn the_configuration_revision_orders_queue_units_and_config_writes(b: Backend) {
    async fn taken(store: Arc<dyn Store>) -> u64 {
        let mut unit = store.begin(Lock::Queue).await.unwrap();
        let config_rev = unit.next_queue_revision().await.unwrap().config_rev;
        unit.commit().await.unwrap();
        config_rev
    }
    let before = taken(b.store.clone()).await;
    let window = b.store.windows().await.unwrap().remove(0);
    let mut roster = b.store.begin(Lock::Duty).await.unwrap();
    roster.save_window(&window).await.unwrap();
    let queue = tokio::spawn(taken(b.store.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!queue.is_finished(), "a queue unit took its revision while a roster write was under way");
    roster.commit().await.unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(30), queue).await.unwrap().unwrap();
    assert_eq!(seen, before + 1, "the queue unit reads the configuration revision the roster write committed");

    let mut unit = b.store.begin(Lock::Queue).await.unwrap();
    assert_eq!(unit.next_queue_revision().await.unwrap().config_rev, seen);
    let store = b.store.clone();
    let roster = tokio::spawn(async move {
        let mut roster = store.begin(Lock::Duty).await.unwrap();
        roster.save_window(&window).await.unwrap();
        roster.commit().await.unwrap();
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!roster.is_finished(), "a roster write committed while a queue unit held its revision");
    unit.commit().await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), roster).await.unwrap().unwrap();
    assert_eq!(taken(b.store.clone()).await, seen + 1);
}

macro_rules! backend_contract {
    ($name:ident, $open:ident) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn units_commit_or_leave_nothing() {
                let Some(b) = $open().await else { return };
                super::units_commit_or_leave_nothing(b).await;
            }

            #[tokio::test]
            async fn a_status_token_goes_only_to_a_ticket_without_one() {
                let Some(b) = $open().await else { return };
                super::a_status_token_goes_only_to_a_ticket_without_one(b).await;
            }

            #[tokio::test]
            async fn units_holding_one_lock_run_one_after_another() {
                let Some(b) = $open().await else { return };
                super::units_holding_one_lock_run_one_after_another(b).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn the_configuration_revision_orders_queue_units_and_config_writes() {
                let Some(b) = $open().await else { return };
                super::the_configuration_revision_orders_queue_units_and_config_writes(b).await;
            }

            #[tokio::test]
            async fn status_questions_follow_the_domain() {
                let Some(b) = $open().await else { return };
                super::status_questions_follow_the_domain(b).await;
            }

            #[tokio::test]
            async fn waiting_tickets_come_in_the_rules_order() {
                let Some(b) = $open().await else { return };
                super::waiting_tickets_come_in_the_rules_order(b).await;
            }

            #[tokio::test]
            async fn acknowledgements_fold_by_the_domains_rule() {
                let Some(b) = $open().await else { return };
                super::acknowledgements_fold_by_the_domains_rule(b).await;
            }

            #[tokio::test]
            async fn pauses_duties_and_the_roster_are_kept() {
                let Some(b) = $open().await else { return };
                super::pauses_duties_and_the_roster_are_kept(b).await;
            }

            #[tokio::test]
            async fn records_are_kept_once_at_their_place() {
                let Some(b) = $open().await else { return };
                super::records_are_kept_once_at_their_place(b).await;
            }

            #[tokio::test]
            async fn uploads_move_heads_over_gaps_only() {
                let Some(b) = $open().await else { return };
                super::uploads_move_heads_over_gaps_only(b).await;
            }

            #[tokio::test]
            async fn case_changes_are_ordered_by_version_not_by_clock() {
                let Some(b) = $open().await else { return };
                super::case_changes_are_ordered_by_version_not_by_clock(b).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sign_in_limits_hold_under_concurrency() {
                let Some(b) = $open().await else { return };
                super::sign_in_limits_hold_under_concurrency(b).await;
            }

            #[tokio::test]
            async fn bookings_are_counted_found_and_freed() {
                let Some(b) = $open().await else { return };
                super::bookings_are_counted_found_and_freed(b).await;
            }

            #[tokio::test]
            async fn catalogue_changes_take_the_next_sequence() {
                let Some(b) = $open().await else { return };
                super::catalogue_changes_take_the_next_sequence(b).await;
            }

            #[tokio::test]
            async fn centers_see_only_their_own_data() {
                let Some(b) = $open().await else { return };
                super::centers_see_only_their_own_data(b).await;
            }

            #[tokio::test]
            async fn a_device_id_of_two_centers_at_once_never_splits_its_log() {
                let Some(b) = $open().await else { return };
                super::a_device_id_of_two_centers_at_once_never_splits_its_log(b).await;
            }
        }
    };
}

backend_contract!(sqlite, open_sqlite);
backend_contract!(postgres, open_postgres);

/// A case of the bundled guide HB-QS-0004, opened now by s001 on window 1's A post.
fn a_case_opened_at_window_1() -> bianmin::domain::case::Case {
    let guide =
        bianmin::assets::bundled_catalogue().unwrap().guides.into_iter().find(|g| g.code == "HB-QS-0004").unwrap();
    let opening = bianmin::domain::intake::Opening {
        window: 1,
        post: bianmin::domain::center::Post::A,
        staff_id: "s001",
        ticket: None,
    };
    bianmin::domain::intake::open_case(&guide, None, &opening, uuid::Uuid::now_v7(), now()).unwrap()
}

#[tokio::test]
async fn ratings_stored_before_their_day_was_kept_count_for_their_china_time_day_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = bianmin::config::sqlite_url(&dir.path().join("before.db"));
    ratings_stored_before_their_day_was_kept_count_for_their_china_time_day(&url, 31).await;
}

#[tokio::test]
async fn ratings_stored_before_their_day_was_kept_count_for_their_china_time_day_on_postgres() {
    let Some(db) = crate::common::postgres::TempPgDatabase::create().await else { return };
    ratings_stored_before_their_day_was_kept_count_for_their_china_time_day(&db.url, 17).await;
}

/// A rating a server kept before ratings had their day (SQLite 0031, PostgreSQL 0017) counts,
/// after the upgrade, for the day it was taken, China time: one taken at 00:30 on 3 March in
/// China (16:30 UTC on the 2nd) counts for the 3rd, as `Rating::day` reads its body.
async fn ratings_stored_before_their_day_was_kept_count_for_their_china_time_day(url: &str, migration: i64) {
    use bianmin::domain::rating::{Rating, RatingLevel};
    let taken: DateTime<Utc> = "2026-03-02T16:30:00Z".parse().unwrap();
    let rating = Rating {
        id: uuid::Uuid::now_v7(),
        window: 1,
        staff: "s001".into(),
        case_id: None,
        level: RatingLevel::Satisfied,
        comment: String::new(),
        rated_at: taken,
        day: None,
        reply: None,
    };
    let store = store::open(url).await.unwrap();
    store.seed(&bianmin::server::seed::bundled_seed().unwrap()).await.unwrap();
    assert!(store.rate_ticket(&rating, uuid::Uuid::now_v7(), "e001", None).await.unwrap());
    drop(store);
    // The database as the server before the migration left it: no day column, the migration
    // not applied.
    let sql = format!(
        "DROP INDEX ratings_by_day; ALTER TABLE ratings DROP COLUMN day; \
         DELETE FROM _sqlx_migrations WHERE version = {migration}"
    );
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::raw_sql(&sql).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::raw_sql(&sql).execute(&pool).await.unwrap();
        pool.close().await;
    }

    let store = store::open(url).await.unwrap();
    let (march_2, march_3) =
        (NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(), NaiveDate::from_ymd_opt(2026, 3, 3).unwrap());
    assert_eq!(rating.day(), march_3);
    assert_eq!(store.rating_counts(march_3).await.unwrap(), (1, 0), "the day it was taken, China time");
    assert_eq!(store.rating_counts(march_2).await.unwrap(), (0, 0), "not UTC's day");
    assert_eq!(store.ratings_of_days(march_3, march_3).await.unwrap().len(), 1);
}

/// SQLite's `INSERT OR REPLACE` replaces a row without firing its delete trigger
/// (`recursive_triggers` is off): the center's row replaced so by hand still bumps the
/// configuration revision, by the insert trigger, so the kiosk's kept center name is read again.
#[tokio::test]
async fn a_center_row_replaced_by_hand_on_sqlite_bumps_the_configuration_revision() {
    let dir = tempfile::tempdir().unwrap();
    let url = bianmin::config::sqlite_url(&dir.path().join("replace.db"));
    let store = bianmin::server::store::open(&url).await.unwrap();
    store.seed(&bianmin::server::seed::bundled_seed().unwrap()).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let config_rev = || sqlx::query_scalar::<_, i64>("SELECT config_rev FROM queue_revision").fetch_one(&pool);
    let before = config_rev().await.unwrap();
    sqlx::query("INSERT OR REPLACE INTO center (id, body) SELECT id, body FROM center").execute(&pool).await.unwrap();
    assert!(config_rev().await.unwrap() > before, "the replaced center row left the configuration revision");
}
