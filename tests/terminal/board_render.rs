//! The director's board rendered on ratatui's `TestBackend` at 80x24 and 120x40 (insta
//! snapshots of the text): every window's standing with an empty post flagged, B顶岗, the lines
//! and calls per hour, today's ratings with an open and an overdue follow-up, an overdue case,
//! the desk; and the keys that act on a follow-up, closing one only after y.

use bianmin::api::{CenterInfo, Me};
use bianmin::domain::attendance::WindowStanding;
use bianmin::domain::board::{Board, CaseAlert, CaseCount, CategoryLine, DeskFigures, WindowNow};
use bianmin::domain::center::Post;
use bianmin::domain::follow_up::{FollowUp, FollowUpAction, FollowUpState, FollowUpStep, ReplyRate};
use bianmin::domain::rating::{RatingCounts, RatingLevel};
use bianmin::domain::staff::{Role, Staff};
use bianmin::server::seed::bundled_seed;
use bianmin::tui::app::{App, AppCommand, AppEvent, BackendEvent, Link};
use bianmin::tui::form::FieldId;
use bianmin::tui::view;
use chrono::{DateTime, NaiveDate, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use uuid::Uuid;

fn at() -> DateTime<Utc> {
    "2026-11-30T02:42:00Z".parse().unwrap() // 10:42 in China, a Monday
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

fn follow_up(n: u128, window: u32, staff: &str, opened: u32, due: u32) -> FollowUp {
    FollowUp {
        rating_id: Uuid::from_u128(n),
        window,
        staff: staff.into(),
        level: RatingLevel::Dissatisfied,
        opened_on: day(opened),
        due_on: day(due),
        assignee: staff.into(),
        steps: Vec::new(),
    }
}

fn window(
    number: u32,
    standing: WindowStanding,
    post: Option<Post>,
    staff: Option<&str>,
    ticket: Option<&str>,
) -> WindowNow {
    let seed = bundled_seed().unwrap();
    let name = seed.windows.iter().find(|w| w.number == number).unwrap().name.clone();
    WindowNow {
        number,
        name,
        standing,
        acting_post: post,
        acting_staff: staff.map(str::to_owned),
        ticket: ticket.map(str::to_owned),
    }
}

fn board() -> Board {
    let mut ratings = RatingCounts::default();
    for level in
        [RatingLevel::VerySatisfied, RatingLevel::VerySatisfied, RatingLevel::Satisfied, RatingLevel::Dissatisfied]
    {
        ratings.add(level);
    }
    let mut answered = follow_up(2, 2, "s003", 30, 30);
    answered.steps.push(FollowUpStep {
        at: at(),
        by: "s003".into(),
        action: FollowUpAction::Answered { text: "高峰时段人手不足".into() },
    });
    Board {
        at: at(),
        open_now: true,
        lines: vec![
            CategoryLine { letter: 'A', name: "社保医保".into(), waiting: 4, longest_wait_s: Some(1260) },
            CategoryLine { letter: 'C', name: "民政救助".into(), waiting: 1, longest_wait_s: Some(300) },
        ],
        windows: vec![
            window(1, WindowStanding::Serving, Some(Post::A), Some("s001"), Some("A012")),
            window(2, WindowStanding::Idle, Some(Post::A), Some("s003"), None),
            window(3, WindowStanding::Empty, Some(Post::B), Some("s003"), None),
            window(4, WindowStanding::Paused { reason: "系统维护".into() }, Some(Post::A), Some("s005"), None),
            window(5, WindowStanding::Empty, Some(Post::A), Some("s006"), None),
            window(6, WindowStanding::Idle, Some(Post::A), Some("s007"), None),
        ],
        calls_per_hour: vec![(8, 9), (9, 14), (10, 6)],
        cases: vec![CaseAlert {
            case_id: Uuid::from_u128(9),
            case_number: Some("SL20261120003".into()),
            guide_name: "城乡居民养老保险参保登记".into(),
            department: "县人社局".into(),
            window: 1,
            clerk: "s001".into(),
            due_on: day(27),
            days_over: 1,
        }],
        cases_by_window: vec![CaseCount { key: 1, last_day: 0, overdue: 1 }],
        cases_by_department: vec![CaseCount { key: "县人社局".into(), last_day: 0, overdue: 1 }],
        ratings_today: ratings,
        satisfaction_today: ratings.satisfaction_per_mille(),
        follow_ups: vec![(follow_up(1, 1, "s001", 20, 27), FollowUpState::Overdue), (answered, FollowUpState::Open)],
        reply_rate: ReplyRate { bad_ratings: 3, replied_in_time: 1, replied_late: 0, overdue: 1 },
        desk: DeskFigures {
            answered: 12,
            sent_to_window: 5,
            ticket_issued: 7,
            referred: 1,
            not_found: 1,
            unanswered: vec!["宅基地确权怎么弄".into()],
        },
    }
}

fn director_app() -> App {
    let seed = bundled_seed().unwrap();
    let mut staff: Vec<Staff> = seed.staff.iter().map(|c| c.staff.clone()).collect();
    let director = Staff { id: "z001".into(), name: "赵主任".into(), role: Role::Director, active: true };
    staff.push(director.clone());
    let mut app = App::new(at(), None);
    app.update(AppEvent::Backend(BackendEvent::SignedIn(Me { staff: director, posts: Vec::new() })));
    app.update(AppEvent::Backend(BackendEvent::Center(Box::new(CenterInfo {
        center: seed.center.clone(),
        windows: seed.windows.clone(),
        categories: seed.categories.clone(),
        staff,
    }))));
    app.update(AppEvent::Backend(BackendEvent::Link(Link::Online)));
    app.update(AppEvent::Backend(BackendEvent::Board(Box::new(board()))));
    app
}

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::render(app, frame)).unwrap();
    crate::tui_render::screen_text(&terminal)
}

fn press(app: &mut App, code: KeyCode) -> Vec<AppCommand> {
    app.update(AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))).commands
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

#[test]
fn the_board_at_80x24() {
    let app = director_app();
    assert!(app.on_board(), "a 中心负责人 account gets the board");
    insta::assert_snapshot!(screen(&app, 80, 24));
}

#[test]
fn the_board_at_120x40() {
    insta::assert_snapshot!(screen(&director_app(), 120, 40));
}

#[test]
fn a_snapshot_that_differs_only_in_its_time_draws_nothing() {
    let mut app = director_app();
    let mut again = board();
    again.at = at() + chrono::Duration::seconds(1);
    assert!(!app.update(AppEvent::Backend(BackendEvent::Board(Box::new(again.clone())))).redraw);
    again.ratings_today.add(RatingLevel::VeryDissatisfied);
    assert!(app.update(AppEvent::Backend(BackendEvent::Board(Box::new(again)))).redraw);
}

#[test]
fn closing_a_follow_up_asks_first_and_assigning_does_not() {
    let mut app = director_app();
    // The overdue one is highlighted first; r opens 核实整改.
    assert!(press(&mut app, KeyCode::Char('r')).is_empty());
    assert_eq!(app.form().unwrap().value(FieldId::StaffId), "z001", "the director gives the feedback by default");
    // Enter walks the fields and submits on the last: an empty finding is refused with what
    // to choose, and nothing goes.
    for _ in 0..4 {
        assert!(press(&mut app, KeyCode::Enter).is_empty());
    }
    let form = app.form().unwrap();
    assert!(form.error.as_deref().is_some_and(|e| e.contains("核实结论")), "{:?}", form.error);
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "1");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "高峰时段增开窗口");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "1");
    press(&mut app, KeyCode::Tab);
    assert!(press(&mut app, KeyCode::Enter).is_empty(), "nothing goes before y");
    let question = app.question().unwrap().to_owned();
    assert!(question.contains("核实整改") && question.contains("确认"), "{question}");
    insta::assert_snapshot!("board_close_confirm", screen(&app, 80, 24));
    let commands = press(&mut app, KeyCode::Char('y'));
    match commands.as_slice() {
        [AppCommand::FollowUpStep { rating_id, action: FollowUpAction::Rectified { feedback, .. } }] => {
            assert_eq!(*rating_id, Uuid::from_u128(1));
            assert_eq!((feedback.given_by.as_str(), feedback.on), ("z001", day(30)));
        }
        other => panic!("{other:?}"),
    }
    // n leaves it open.
    press(&mut app, KeyCode::Char('x'));
    type_text(&mut app, "当场道歉并办结");
    press(&mut app, KeyCode::Enter);
    assert!(app.question().is_some());
    assert!(press(&mut app, KeyCode::Char('n')).is_empty());
    // Assigning can be redone: it goes at once. The second follow-up, with the down key.
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('a'));
    type_text(&mut app, "s004");
    match press(&mut app, KeyCode::Enter).as_slice() {
        [AppCommand::FollowUpStep { rating_id, action: FollowUpAction::Assigned { to } }] => {
            assert_eq!((*rating_id, to.as_str()), (Uuid::from_u128(2), "s004"));
        }
        other => panic!("{other:?}"),
    }
}

/// A clerk of window 1 told that the window is 空岗 (as a B holder is while A is away), with a
/// bad rating open: both in the status bar; Ctrl+E explains it (the clerk's step).
#[test]
fn the_clerk_sees_the_empty_post_and_the_open_follow_up_and_explains_it() {
    use bianmin::api::follow_up::FollowUpRow;
    use bianmin::tui::board::WindowWatch;
    let mut app = crate::tui_render::loaded_app();
    let watch = WindowWatch {
        window: 1,
        standing: Some(WindowStanding::Empty),
        empty_b_posts: vec![],
        follow_ups: vec![FollowUpRow { follow_up: follow_up(1, 1, "s001", 30, 30), state: FollowUpState::Open }],
    };
    assert!(app.update(AppEvent::Backend(BackendEvent::Watch(Box::new(watch.clone())))).redraw);
    assert!(
        !app.update(AppEvent::Backend(BackendEvent::Watch(Box::new(watch)))).redraw,
        "the same again draws nothing"
    );
    let screen = screen(&app, 80, 24);
    let status = screen.lines().next().unwrap();
    assert!(status.contains("空岗 1号窗口") && status.contains("差评待整改1"), "{status}");
    insta::assert_snapshot!("clerk_status_empty_post", status);
    app.update(AppEvent::Key(KeyEvent::new(KeyCode::Char('e'), KeyModifiers::CONTROL)));
    let form = app.form().expect("the explanation form");
    assert_eq!(form.note.as_deref(), Some("1 号窗口 11-30 不满意 的差评，限 11-30 前整改"));
    type_text(&mut app, "高峰时段人手不足");
    match press(&mut app, KeyCode::Enter).as_slice() {
        [AppCommand::FollowUpStep { rating_id, action: FollowUpAction::Answered { text } }] => {
            assert_eq!((*rating_id, text.as_str()), (Uuid::from_u128(1), "高峰时段人手不足"));
        }
        other => panic!("{other:?}"),
    }
}

/// A clerk working at their own window who holds window 3's B post is told that window 3 stands
/// empty: the B holder is the one to step in, wherever they are (clause 7.6.4).
#[test]
fn the_b_holder_working_elsewhere_sees_the_empty_post_they_cover() {
    use bianmin::tui::board::WindowWatch;
    let mut app = crate::tui_render::loaded_app();
    let watch = WindowWatch { window: 1, standing: None, empty_b_posts: vec![3], follow_ups: vec![] };
    assert!(app.update(AppEvent::Backend(BackendEvent::Watch(Box::new(watch)))).redraw);
    let screen = screen(&app, 120, 24);
    let status = screen.lines().next().unwrap();
    assert!(status.contains("空岗 3号窗口（B岗请顶岗）"), "{status}");
    assert!(!status.contains("空岗 1号窗口"), "{status}");
}

/// Enter opens what is highlighted: the follow-up with its steps, or (after Tab) the case near
/// or past its date, with its department; Esc closes it, and the keys of follow-ups do not act
/// on cases.
#[test]
fn enter_opens_the_follow_up_and_after_tab_the_case() {
    let mut app = director_app();
    press(&mut app, KeyCode::Down);
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    let screen_text = screen(&app, 80, 24);
    assert!(
        screen_text.contains("差评整改记录") && screen_text.contains("情况说明：高峰时段人手不足"),
        "{screen_text}"
    );
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Tab);
    assert!(press(&mut app, KeyCode::Char('x')).is_empty(), "no closing from the case list");
    assert!(app.form().is_none());
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!("board_case_opened", screen(&app, 80, 24));
    press(&mut app, KeyCode::Esc);
    assert!(!screen(&app, 80, 24).contains("承诺日期"));
}

/// e on the board asks the backend for this month's report (on the follow-ups or the cases
/// alike), says it is under way and not that it is saved (the backend says that once the files
/// are on disk); the key is in the footer and in F1's help.
#[test]
fn e_exports_this_months_report() {
    let mut app = director_app();
    assert_eq!(press(&mut app, KeyCode::Char('e')), vec![AppCommand::ExportReport]);
    let shown = screen(&app, 120, 40);
    assert!(shown.contains("正在导出本月报表") && !shown.contains("已保存"), "{shown}");
    assert!(shown.contains("e 导出报表"), "{shown}");
    press(&mut app, KeyCode::Tab);
    assert_eq!(press(&mut app, KeyCode::Char('e')), vec![AppCommand::ExportReport], "on the cases too");
    let ctrl_e = app.update(AppEvent::Key(KeyEvent::new(KeyCode::Char('e'), KeyModifiers::CONTROL)));
    assert!(ctrl_e.commands.is_empty(), "Ctrl+E is not e");
    app.update(AppEvent::Backend(BackendEvent::Message("报表已保存：/tmp/r.html（及同名 .csv）".into())));
    assert!(screen(&app, 120, 40).contains("报表已保存：/tmp/r.html"));
    assert!(
        bianmin::tui::board::board_help().iter().any(|(key, what)| key == "e" && what.contains("导出本月报表")),
        "F1 lists the key"
    );
}
