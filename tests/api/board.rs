//! The director's board over the real server: 空岗 from the clerks' presence within a minute, the
//! window serving, a bad rating at the evaluator on the board with its follow-up, answered by
//! the clerk, closed by the 中心负责人, and the reply rate moving from 0% to 100%. The director
//! reads and closes follow-ups; it serves no window.

use crate::common;

use std::sync::atomic::Ordering;

use bianmin::api::hall::RateTicket;
use bianmin::api::queue::IssueTicket;
use bianmin::client::ApiClient;
use bianmin::domain::attendance::{PRESENCE_TIMEOUT_S, WindowStanding};
use bianmin::domain::center::Post;
use bianmin::domain::follow_up::{Feedback, FeedbackChannel, Finding, FollowUpAction, FollowUpState};
use bianmin::domain::rating::RatingLevel;
use bianmin::domain::staff::Role;
use bianmin::domain::time::china_offset;
use bianmin::server;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use common::server::{PASSWORD, TestServer, signed_in_client};
use uuid::Uuid;

/// China time on Monday 2026-11-30, a working day.
fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    china_offset().with_ymd_and_hms(2026, 11, 30, h, m, s).unwrap().with_timezone(&Utc)
}

fn set(s: &TestServer, t: DateTime<Utc>) {
    s.clock.0.store(t.timestamp(), Ordering::SeqCst);
}

/// A 中心负责人 account, added as `bianmin admin staff add --role 中心负责人` does.
pub async fn director(s: &TestServer) -> ApiClient {
    let now = DateTime::from_timestamp(s.clock.0.load(Ordering::SeqCst), 0).unwrap();
    server::admin::add_staff(s.state.store.as_ref(), "命令行:test", "z001", "赵主任", Role::Director, PASSWORD, now)
        .await
        .unwrap();
    signed_in_client(&s.base, "z001").await
}

#[tokio::test]
async fn the_board_flags_an_empty_post_shows_a_bad_rating_and_the_reply_rate_reaches_100() {
    let s = TestServer::start().await;
    set(&s, at(9, 0, 0));
    let boss = director(&s).await;
    let clerk = signed_in_client(&s.base, "s003").await; // A post of window 2
    let kiosk = s.device(Role::Kiosk, None).await;
    let evaluator = s.device(Role::Evaluator, Some(2)).await;

    // Open hours, nobody heard from: every window on duty is 空岗.
    let board = boss.board().await.unwrap();
    assert!(board.open_now);
    let w2 = |b: &bianmin::domain::board::Board| b.windows.iter().find(|w| w.number == 2).unwrap().clone();
    assert_eq!(w2(&board).standing, WindowStanding::Empty);
    assert_eq!((w2(&board).acting_post, w2(&board).acting_staff.as_deref()), (Some(Post::A), Some("s003")));
    assert!(board.empty_posts().any(|w| w.number == 2));

    // The clerk's terminal reports: idle; silent past the timeout (under a minute): 空岗 again.
    // s003 also holds window 3's B post, and window 3's A (s004) has not been heard from: the
    // reply tells s003, working at window 2, that window 3 stands empty, until s004 is there.
    let reply = clerk.presence(2).await.unwrap();
    assert_eq!(reply.empty_b_posts, vec![3]);
    let s004 = signed_in_client(&s.base, "s004").await;
    assert_eq!(
        s004.presence(3).await.unwrap().empty_b_posts,
        Vec::<u32>::new(),
        "s004 is B of window 2, which is staffed"
    );
    assert_eq!(clerk.presence(2).await.unwrap().empty_b_posts, Vec::<u32>::new());
    assert_eq!(w2(&boss.board().await.unwrap()).standing, WindowStanding::Idle);
    set(&s, at(9, 0, 0) + chrono::Duration::seconds(PRESENCE_TIMEOUT_S + 1));
    const { assert!(PRESENCE_TIMEOUT_S < 60) };
    assert_eq!(w2(&boss.board().await.unwrap()).standing, WindowStanding::Empty);
    // Presence is the session's, at its own windows: another window's clerk cannot report for 2.
    let other = signed_in_client(&s.base, "s001").await;
    assert!(other.presence(2).await.is_err());
    assert_eq!(w2(&boss.board().await.unwrap()).standing, WindowStanding::Empty);
    // The director does not stand in for a clerk.
    assert!(boss.presence(2).await.is_err());

    // A ticket waits, then is served at window 2.
    set(&s, at(9, 10, 0));
    clerk.presence(2).await.unwrap();
    let ticket = kiosk.issue_ticket(&IssueTicket::new('A')).await.unwrap().ticket.unwrap();
    set(&s, at(9, 15, 0));
    let board = boss.board().await.unwrap();
    let line = board.lines.iter().find(|l| l.letter == 'A').unwrap();
    assert_eq!((line.waiting, line.longest_wait_s), (1, Some(300)));
    clerk.call_next(2).await.unwrap();
    clerk.start_service(2).await.unwrap();
    let board = boss.board().await.unwrap();
    assert_eq!(w2(&board).standing, WindowStanding::Serving);
    assert_eq!(w2(&board).ticket, Some(ticket.number.to_string()));
    assert_eq!(board.calls_per_hour, vec![(9, 1)]);
    assert!(boss.call_next(2).await.is_err(), "the director serves no window");
    clerk.finish_service(2).await.unwrap();

    // No bad rating yet: no reply rate to speak of.
    assert_eq!(boss.board().await.unwrap().reply_rate.per_mille(), None);
    let rating = RateTicket {
        id: Uuid::now_v7(),
        ticket_id: ticket.id,
        level: RatingLevel::Dissatisfied,
        reason: "等候时间长".into(),
    };
    evaluator.rate_ticket(2, &rating).await.unwrap();
    let board = boss.board().await.unwrap();
    assert_eq!((board.ratings_today.total(), board.ratings_today.bad()), (1, 1));
    assert_eq!(board.satisfaction_today, Some(0));
    assert_eq!(board.follow_ups.len(), 1);
    assert_eq!(board.follow_ups[0].0.rating_id, rating.id);
    assert_eq!(board.follow_ups[0].1, FollowUpState::Open);
    assert_eq!(board.reply_rate.per_mille(), Some(0));

    // The clerk answers (not closing); the director assigns and closes.
    set(&s, at(10, 0, 0));
    clerk.follow_up_step(rating.id, FollowUpAction::Answered { text: "高峰时段人手不足".into() }).await.unwrap();
    assert!(
        clerk.follow_up_step(rating.id, FollowUpAction::ResolvedOnSpot { what: "已道歉".into() }).await.is_err(),
        "a clerk does not close"
    );
    assert_eq!(boss.board().await.unwrap().reply_rate.per_mille(), Some(0));
    boss.follow_up_step(rating.id, FollowUpAction::Assigned { to: "s003".into() }).await.unwrap();
    let feedback = Feedback {
        channel: FeedbackChannel::Phone,
        on: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        given_by: "z001".into(),
    };
    let closing =
        FollowUpAction::Rectified { finding: Finding::Valid, rectification: "高峰增开窗口".into(), feedback };
    let row = boss.follow_up_step(rating.id, closing).await.unwrap();
    assert_eq!(row.state, FollowUpState::ClosedInTime);
    assert_eq!(row.follow_up.steps.last().map(|s| (s.by.as_str(), s.at)), Some(("z001", at(10, 0, 0))));
    let board = boss.board().await.unwrap();
    assert_eq!(board.reply_rate.per_mille(), Some(1000));
    assert_eq!(board.follow_ups[0].1, FollowUpState::ClosedInTime, "closed today: still shown");

    // Outside opening hours an absent clerk is no alarm.
    set(&s, at(12, 30, 0));
    let board = boss.board().await.unwrap();
    assert!(!board.open_now);
    assert_eq!(board.empty_posts().count(), 0);
    // A clerk does not see the board.
    assert!(clerk.board().await.is_err());
    s.stop().await;
}
