//! The rendered screen, on ratatui's `TestBackend`, snapshotted with insta. Fixtures come from
//! the bundled sample data, so the snapshots show what a clerk sees on a fresh install.

use bianmin::api::{CenterInfo, GuideSummary, Me, PostAssignment, WindowOverview};
use bianmin::domain::center::Post;
use bianmin::domain::handover::{AwayReason, DutyState};
use bianmin::domain::staff::Staff;
use bianmin::server::seed::bundled_seed;
use bianmin::tui::app::{App, AppEvent, BackendEvent, Link, Pane};
use bianmin::tui::view;
use chrono::{DateTime, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn at() -> DateTime<Utc> {
    "2026-11-30T00:42:00Z".parse().unwrap() // 08:42 in China
}

/// The app as it stands once the standalone terminal has loaded everything.
fn loaded_app() -> App {
    let seed = bundled_seed().unwrap();
    let staff: Vec<Staff> = seed.staff.iter().map(|c| c.staff.clone()).collect();
    let find = |id: &str| staff.iter().find(|s| s.id == id).unwrap().clone();
    let window = seed.windows[0].clone();
    let mut app = App::new(at(), None);
    app.update(AppEvent::Backend(BackendEvent::SignedIn(Me {
        staff: find("s001"),
        posts: vec![PostAssignment { window: 1, post: Post::A }],
    })));
    app.update(AppEvent::Backend(BackendEvent::Center(Box::new(CenterInfo {
        center: seed.center.clone(),
        windows: seed.windows.clone(),
        categories: seed.categories.clone(),
        staff: staff.clone(),
    }))));
    app.update(AppEvent::Backend(BackendEvent::Overview(Box::new(WindowOverview {
        a_holder: find(&window.a_holder),
        b_holder: find(&window.b_holder),
        window,
        duty: DutyState::AOnDuty,
        waiting: 3,
        current_ticket: None,
        open_cases: Vec::new(),
        walk_ins_today: 2,
        catalogue_seq: seed.guides.len() as i64,
        unacknowledged_handover: None,
        last_handovers: Vec::new(),
    }))));
    app.update(AppEvent::Backend(BackendEvent::Guides(seed.guides.iter().map(GuideSummary::from).collect())));
    app.update(AppEvent::Backend(BackendEvent::Link(Link::Online)));
    app
}

fn render(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::render(app, frame)).unwrap();
    terminal
}

fn press(app: &mut App, code: KeyCode) {
    app.update(AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

#[test]
fn first_frame_before_the_server_answers() {
    let app = App::new(at(), None);
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn loaded_shell_at_80x24() {
    insta::assert_snapshot!(render(&loaded_app(), 80, 24).backend());
}

#[test]
fn loaded_shell_at_120x40_with_the_guide_list_focused() {
    let mut app = loaded_app();
    press(&mut app, KeyCode::F(4));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.focus, Pane::Guides);
    assert_eq!(app.guide_selected, 2);
    insta::assert_snapshot!(render(&app, 120, 40).backend());
}

#[test]
fn help_overlay_lists_every_key() {
    let mut app = loaded_app();
    press(&mut app, KeyCode::F(1));
    let terminal = render(&app, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    // Scrolled to the end, the last keys show too: nothing is out of reach at 80x24.
    for _ in 0..40 {
        press(&mut app, KeyCode::Down);
    }
    let screen = format!("{:?}", render(&app, 80, 24).backend());
    assert!(screen.contains("Ctrl+C") && screen.contains("退出登录"), "{screen}");
}

#[test]
fn offline_after_losing_the_server() {
    let mut app = loaded_app();
    app.update(AppEvent::Backend(BackendEvent::Link(Link::Offline("无法连接服务器".into()))));
    app.update(AppEvent::Backend(BackendEvent::Pending(3)));
    assert!(matches!(app.link, Link::Offline(_)));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn b_post_covering_shows_in_the_handover_pane() {
    let mut app = loaded_app();
    let mut overview = app.overview.clone().unwrap();
    overview.duty = DutyState::BCovering { reason: AwayReason::Training, expected_return: None };
    app.update(AppEvent::Backend(BackendEvent::Overview(Box::new(overview))));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn walk_in_form_with_chinese_text_and_the_cursor_at_the_caret() {
    let mut app = loaded_app();
    press(&mut app, KeyCode::Char('w'));
    for c in "A023".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    for c in "咨询低保".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    let mut terminal = render(&app, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    // The caret follows the display width: four Hanzi are eight columns after the field start.
    let cursor = terminal.get_cursor_position().unwrap();
    let cell = |x: u16| terminal.backend().buffer()[(x, cursor.y)].symbol().to_string();
    let field_start = (0..80).find(|&x| cell(x) == "咨").expect("the note is on the cursor's row");
    assert!((0..80).any(|x| cell(x) == "事"), "the cursor is on the 事项 row");
    assert_eq!(cursor.x, field_start + 8);
}

/// A case opened for the sample guide with situations, part-way through the check.
fn app_with_a_case_in_progress() -> App {
    use bianmin::domain::case::MaterialCheck;
    use bianmin::domain::intake::{self, Opening};
    let mut app = loaded_app();
    let guide = bundled_seed().unwrap().guides.into_iter().find(|g| g.code == "HB-QS-0077").unwrap();
    let situation = guide.situations.iter().find(|s| s.name == "委托他人申请").map(|s| s.id.clone());
    let opening = Opening { window: 1, post: bianmin::domain::center::Post::A, staff_id: "s001", ticket: None };
    let mut case = intake::open_case(&guide, situation.as_deref(), &opening, uuid::Uuid::nil(), at()).unwrap();
    let ids: Vec<String> = case.checklist.items.iter().map(|i| i.material_id.clone()).collect();
    intake::set_material(&mut case, &ids[0], MaterialCheck::Received, None).unwrap();
    intake::set_material(&mut case, &ids[1], MaterialCheck::Missing, Some("须本人签字")).unwrap();
    intake::set_material(&mut case, &ids[2], MaterialCheck::NotApplicable, None).unwrap();
    app.update(AppEvent::Backend(BackendEvent::GuideDetail(Box::new(guide))));
    app.update(AppEvent::Backend(BackendEvent::CaseUpdated(Box::new(case))));
    app
}

#[test]
fn a_case_being_checked_at_120x40() {
    let app = app_with_a_case_in_progress();
    assert_eq!(app.focus, Pane::Checklist);
    insta::assert_snapshot!(render(&app, 120, 40).backend());
}

#[test]
fn the_case_list_counts_down_working_days() {
    use bianmin::domain::calendar::Deadline;
    use bianmin::domain::case::CaseStatus;
    let mut app = app_with_a_case_in_progress();
    app.update(AppEvent::Backend(BackendEvent::Calendar(Box::new(bianmin::server::seed::bundled_calendar().unwrap()))));
    let template = app.cases[0].clone();
    let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
    let mut cases = Vec::new();
    for (i, (name, deadline)) in [
        ("还有几天", day(4)),
        ("最后一天", day(1)),
        ("已经超期", chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()),
    ]
    .into_iter()
    .enumerate()
    {
        let mut case = template.clone();
        case.id = uuid::Uuid::from_u128(i as u128 + 1);
        case.guide_name = name.into();
        case.status = CaseStatus::Accepted;
        case.deadline = Some(Deadline { date: deadline, provisional: false });
        cases.push(case);
    }
    app.update(AppEvent::Backend(BackendEvent::Cases(cases)));
    press(&mut app, KeyCode::Esc);
    assert!(app.current_case.is_none());
    let terminal = render(&app, 80, 24);
    let screen = format!("{:?}", terminal.backend());
    assert!(screen.contains("剩4日"), "1 to 4 December are four working days after 30 November");
    assert!(screen.contains("最后1日") && screen.contains("超期2日"));
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn a_guide_opened_whole_and_the_situation_picker() {
    let mut app = app_with_a_case_in_progress();
    press(&mut app, KeyCode::F(4));
    insta::assert_snapshot!("guide_detail_80x24", render(&app, 80, 24).backend());
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.situation_picker, Some(0));
    insta::assert_snapshot!("situation_picker_80x24", render(&app, 80, 24).backend());
}

/// A ticket in service at window 1 with a green-channel mark and a transfer behind it, two
/// waiting, one parked, and today's figures.
fn app_serving_a_ticket() -> App {
    use bianmin::api::queue::{QueueEvent, QueueSnapshot, QueueStats};
    use bianmin::domain::queue::{TicketRequest, issue};
    use bianmin::domain::queue_stats::day_stats;
    use bianmin::domain::ticket::{GreenReason, Priority, QueueAction, TicketEvent, TicketStatus};
    let mut app = loaded_app();
    let minutes = |m: i64| at() - chrono::TimeDelta::minutes(m);
    let request = |category, priority| TicketRequest { category, priority, guide_code: None, note: None, slot: None };
    let mut serving = issue(
        uuid::Uuid::from_u128(1),
        "A007".parse().unwrap(),
        &request('A', Priority::Green(GreenReason::Elderly)),
        "d001",
        minutes(40),
    );
    serving.status = TicketStatus::Serving;
    serving.window = Some(1);
    serving.called_at = Some(minutes(12));
    serving.started_at = Some(minutes(10) - chrono::TimeDelta::seconds(25));
    serving.history.push(TicketEvent {
        at: minutes(20),
        action: QueueAction::Transferred,
        by: "s003".into(),
        window: Some(2),
        note: None,
    });
    let waiting_a =
        issue(uuid::Uuid::from_u128(2), "A008".parse().unwrap(), &request('A', Priority::Normal), "d001", minutes(30));
    let waiting_b =
        issue(uuid::Uuid::from_u128(3), "B002".parse().unwrap(), &request('B', Priority::Normal), "d001", minutes(5));
    let mut parked =
        issue(uuid::Uuid::from_u128(4), "A005".parse().unwrap(), &request('A', Priority::Normal), "d001", minutes(50));
    parked.status = TicketStatus::Parked;
    parked.window = Some(1);
    let tickets = vec![serving, waiting_a, waiting_b, parked];
    let snapshot = QueueSnapshot {
        rev: 9,
        day: bianmin::domain::time::china_date(at()),
        tickets: tickets.clone(),
        done: 6,
        windows: Vec::new(),
    };
    app.update(AppEvent::Backend(BackendEvent::Queue(Box::new(QueueEvent::Snapshot(snapshot)))));
    let stats =
        QueueStats { window: Some(day_stats(&tickets, Some(1), at())), center: day_stats(&tickets, None, at()) };
    app.update(AppEvent::Backend(BackendEvent::QueueStats(Box::new(stats))));
    app
}

#[test]
fn the_current_ticket_with_its_marks_timer_and_the_day_at_120x40() {
    let app = app_serving_a_ticket();
    assert!(app.needs_seconds(), "a ticket in service ticks every second");
    let terminal = render(&app, 120, 40);
    let screen = format!("{:?}", terminal.backend());
    assert!(screen.contains("A 0 0 7") && screen.contains("办理中 10:25"), "the serving timer");
    assert!(screen.contains("绿色通道（老年人）") && screen.contains("转移"));
    assert!(screen.contains("挂起  A005"));
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn a_no_show_asks_first() {
    let mut app = app_serving_a_ticket();
    press(&mut app, KeyCode::F(9));
    assert!(app.confirm.is_some());
    insta::assert_snapshot!(render(&app, 80, 24).backend());
    press(&mut app, KeyCode::Char('n'));
    assert!(app.confirm.is_none());
}

#[test]
fn too_small_asks_for_a_larger_window() {
    insta::assert_snapshot!(render(&loaded_app(), 40, 6).backend());
}

#[test]
fn no_size_makes_it_panic() {
    let mut help = loaded_app();
    press(&mut help, KeyCode::F(1));
    let apps = [App::new(at(), None), loaded_app(), help];
    for app in &apps {
        for width in (1..=130).step_by(3) {
            for height in (1..=45).step_by(2) {
                render(app, width, height);
            }
        }
    }
}

#[test]
fn the_guidance_desk_searches_by_initials_and_records_where_the_person_went() {
    use bianmin::tui::catalogue::SearchRow;
    let mut app = loaded_app();
    app.desk = true;
    for c in "cjrz".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    assert_eq!(app.search_text(), "cjrz");
    let guide = bundled_seed().unwrap().guides.into_iter().find(|g| g.name.contains("残疾人证")).unwrap();
    let row = SearchRow {
        code: guide.code.clone(),
        name: guide.name.clone(),
        department: guide.department.clone(),
        promised_limit_days: guide.promised_limit_days,
        field: None,
        fuzzy: false,
        highlight: vec![0..3, 6..9, 9..12],
        matched: vec!["cjrz".into()],
        missed: Vec::new(),
        guide: None,
    };
    app.update(AppEvent::Backend(BackendEvent::SearchResults { query: "cjrz".into(), rows: vec![row] }));
    app.update(AppEvent::Backend(BackendEvent::GuideDetail(Box::new(guide))));
    insta::assert_snapshot!(render(&app, 120, 40).backend());
    press(&mut app, KeyCode::F(7));
    let form = app.form.as_ref().expect("the inquiry form");
    assert_eq!(form.values()[0], "cjrz", "the question starts as what was typed");
    insta::assert_snapshot!("desk_inquiry_form", render(&app, 80, 24).backend());
}

/// The desk types a question as the person says it: the results come from the real search, and
/// the top one's answer card stands beside them; F8 issues the ticket in that guide's own queue
/// category (残疾人证新办 is B 民政残联, though its window kind's first window calls A first).
#[test]
fn the_desk_answers_a_question_with_a_card_and_tickets_in_the_guides_category() {
    use bianmin::search::SearchIndex;
    use bianmin::tui::catalogue::rows_for;
    let guides = bundled_seed().unwrap().guides;
    let index = SearchIndex::build(&guides);
    let mut app = loaded_app();
    app.desk = true;
    let question = "残疾证在哪里办";
    for c in question.chars() {
        press(&mut app, KeyCode::Char(c));
    }
    let rows = rows_for(&guides, &index, question);
    assert_eq!(rows[0].code, "HB-QS-0027");
    app.update(AppEvent::Backend(BackendEvent::SearchResults { query: question.into(), rows }));
    insta::assert_snapshot!("desk_answer_card_120x40", render(&app, 120, 40).backend());
    insta::assert_snapshot!("desk_answer_card_80x24", render(&app, 80, 24).backend());
    press(&mut app, KeyCode::F(8));
    let form = app.form.as_ref().expect("the ticket form");
    assert_eq!(form.values()[0], question);
    assert_eq!(form.values()[1], "B", "残疾人证新办 is queued under B 民政残联");
}

/// A question with a known word but no guide for all of it: the closest guides and what matched,
/// never a bare 没有找到; F5 records it as 未找到.
#[test]
fn the_desk_shows_the_closest_guides_and_records_not_found() {
    use bianmin::search::SearchIndex;
    use bianmin::tui::catalogue::rows_for;
    let guides = bundled_seed().unwrap().guides;
    let index = SearchIndex::build(&guides);
    let mut app = loaded_app();
    app.desk = true;
    let question = "身份证照片能不能自己拍";
    for c in question.chars() {
        press(&mut app, KeyCode::Char(c));
    }
    let rows = rows_for(&guides, &index, question);
    assert!(!rows.is_empty() && !rows[0].missed.is_empty(), "{:?}", rows.first());
    app.update(AppEvent::Backend(BackendEvent::SearchResults { query: question.into(), rows }));
    let screen = format!("{:?}", render(&app, 120, 40).backend());
    assert!(screen.contains("没有完全对上的事项"), "{screen}");
    assert!(!screen.contains("没有找到"));
    press(&mut app, KeyCode::F(5));
    let form = app.form.as_ref().expect("the inquiry form");
    assert_eq!(form.values()[0], question);
    insta::assert_snapshot!("desk_not_found_form", render(&app, 80, 24).backend());
}

/// A handover from A to B, waiting for B's acknowledgement, seen from B's terminal.
fn b_with_a_handover_waiting() -> App {
    use bianmin::domain::handover::{HandoverDraft, HandoverKind, PendingItem, WindowAtHandover, handover_from};
    let mut app = app_with_a_case_in_progress();
    let seed = bundled_seed().unwrap();
    let window = seed.windows[0].clone();
    let draft = HandoverDraft {
        reason: Some(AwayReason::Training),
        expected_return: Some("2026-11-30T08:30:00Z".parse().unwrap()),
        pending: vec![PendingItem { text: "14:00 前回电张先生补材料".into(), due: None, done: false }],
        notes: "宅基地登记的授权委托书须本人签字。".into(),
    };
    let at = WindowAtHandover { window: &window, open_cases: &app.cases, tickets: &[] };
    let handover = handover_from(&at, HandoverKind::AToB, "s001", draft, uuid::Uuid::from_u128(7), at_time()).unwrap();
    // B is signed in at the same window.
    let b = seed.staff.iter().find(|s| s.staff.id == "s002").unwrap().staff.clone();
    app.update(AppEvent::Backend(BackendEvent::SignedIn(Me {
        staff: b,
        posts: vec![PostAssignment { window: 1, post: Post::B }],
    })));
    app.update(AppEvent::Backend(BackendEvent::Handovers(vec![handover])));
    app
}

fn at_time() -> DateTime<Utc> {
    at()
}

#[test]
fn a_handover_waiting_for_b_is_flagged_and_shown_whole() {
    let mut app = b_with_a_handover_waiting();
    assert!(app.handover_to_acknowledge().is_some());
    press(&mut app, KeyCode::F(5));
    let terminal = render(&app, 120, 40);
    let screen = format!("{:?}", terminal.backend());
    assert!(screen.contains("交接待确认"), "the flag in the status bar");
    assert!(screen.contains("按 a 确认接收"));
    insta::assert_snapshot!(terminal.backend());
    press(&mut app, KeyCode::Char('a'));
    assert!(app.form.is_some(), "the acknowledgement form");
}

#[test]
fn the_handover_editor_with_chinese_and_the_cursor_at_the_caret() {
    let mut app = loaded_app();
    press(&mut app, KeyCode::F(5));
    press(&mut app, KeyCode::Char('h'));
    assert!(app.handover_editor.is_some());
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    for c in "回电张先生".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    let mut terminal = render(&app, 100, 30);
    insta::assert_snapshot!(terminal.backend());
    let cursor = terminal.get_cursor_position().unwrap();
    let start = (0..100).find(|&x| terminal.backend().buffer()[(x, cursor.y)].symbol() == "回").unwrap();
    assert_eq!(cursor.x, start + 10, "five Hanzi are ten columns");
}
