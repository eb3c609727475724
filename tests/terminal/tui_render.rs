//! The rendered screen, on ratatui's `TestBackend`, snapshotted with insta. Fixtures come from
//! the bundled sample data, so the snapshots show what a clerk sees on a fresh install.

use bianmin::api::{CenterInfo, GuideSummary, Me, PostAssignment, WindowOverview};
use bianmin::domain::center::Post;
use bianmin::domain::handover::{AwayReason, DutyState};
use bianmin::domain::staff::Staff;
use bianmin::server::seed::bundled_seed;
use bianmin::tui::app::{App, AppEvent, BackendEvent, Link, Pane};
use bianmin::tui::form::FieldId;
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
        visits_today: 2,
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

/// The screen as text for a snapshot: one line a row, each wide character once and the cells it
/// covers left out (the backend's own form lists every covered cell, drowning a diff in noise),
/// trailing blanks cut.
fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    use unicode_width::UnicodeWidthStr;
    let buffer = terminal.backend().buffer();
    let area = buffer.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        let mut x = area.left();
        while x < area.right() {
            let symbol = buffer[(x, y)].symbol();
            line.push_str(symbol);
            x += (symbol.width() as u16).max(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn press(app: &mut App, code: KeyCode) {
    app.update(AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

#[test]
fn first_frame_before_the_server_answers() {
    let app = App::new(at(), None);
    insta::assert_snapshot!(screen_text(&render(&app, 80, 24)));
}

#[test]
fn loaded_shell_at_80x24() {
    insta::assert_snapshot!(screen_text(&render(&loaded_app(), 80, 24)));
}

#[test]
fn loaded_shell_at_120x40_with_the_guide_list_focused() {
    let mut app = loaded_app();
    press(&mut app, KeyCode::F(4));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.focus, Pane::Guides);
    assert_eq!(app.guide_selected, 2);
    insta::assert_snapshot!(screen_text(&render(&app, 120, 40)));
}

#[test]
fn help_overlay_lists_every_key() {
    let mut app = loaded_app();
    press(&mut app, KeyCode::F(1));
    let terminal = render(&app, 80, 24);
    insta::assert_snapshot!(screen_text(&terminal));
    // Scrolled to the end, the last keys show too: nothing is out of reach at 80x24.
    for _ in 0..40 {
        press(&mut app, KeyCode::Down);
    }
    let screen = format!("{:?}", render(&app, 80, 24).backend());
    assert!(screen.contains("Ctrl+S") && screen.contains("保存交接"), "{screen}");
}

#[test]
fn offline_after_losing_the_server() {
    let mut app = loaded_app();
    app.update(AppEvent::Backend(BackendEvent::Link(Link::Offline("无法连接服务器".into()))));
    app.update(AppEvent::Backend(BackendEvent::Pending(3)));
    assert!(matches!(app.link, Link::Offline(_)));
    insta::assert_snapshot!(screen_text(&render(&app, 80, 24)));
}

#[test]
fn b_post_covering_shows_in_the_handover_pane() {
    let mut app = loaded_app();
    let mut overview = app.overview.clone().unwrap();
    overview.duty = DutyState::BCovering { reason: AwayReason::Training, expected_return: None };
    app.update(AppEvent::Backend(BackendEvent::Overview(Box::new(overview))));
    insta::assert_snapshot!(screen_text(&render(&app, 80, 24)));
}

#[test]
fn visit_form_with_chinese_text_and_the_cursor_at_the_caret() {
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
    insta::assert_snapshot!(screen_text(&terminal));
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
    app.update(AppEvent::Backend(BackendEvent::CaseOpened(Box::new(case))));
    app
}

#[test]
fn a_case_being_checked_at_120x40() {
    let app = app_with_a_case_in_progress();
    assert_eq!(app.focus, Pane::Checklist);
    insta::assert_snapshot!(screen_text(&render(&app, 120, 40)));
}

#[test]
fn the_case_list_counts_down_working_days() {
    use bianmin::domain::calendar::Deadline;
    use bianmin::domain::case::CaseStatus;
    let mut app = app_with_a_case_in_progress();
    app.update(AppEvent::Backend(BackendEvent::Calendar(Box::new(bianmin::assets::bundled_calendar().unwrap()))));
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
        if i == 0 {
            case.ticket = Some("A003".parse().unwrap());
            case.applicant = Some(bianmin::domain::applicant::Applicant {
                name: "张三丰".into(),
                id_number: bianmin::domain::applicant::IdNumber::parse("11010519491231002X").unwrap(),
                phone: None,
            });
        }
        cases.push(case);
    }
    app.update(AppEvent::Backend(BackendEvent::Cases(cases)));
    press(&mut app, KeyCode::Esc);
    assert!(app.current_case.is_none());
    let terminal = render(&app, 80, 24);
    let screen = format!("{:?}", terminal.backend());
    assert!(screen.contains("剩4日"), "1 to 4 December are four working days after 30 November");
    assert!(screen.contains("最后1日") && screen.contains("超期2日"));
    assert!(screen.contains("A003号") && screen.contains("张**"), "whose case it is, masked");
    assert!(!screen.contains("张三丰"));
    insta::assert_snapshot!(screen_text(&terminal));
}

#[test]
fn a_guide_opened_whole_and_the_situation_picker() {
    let mut app = app_with_a_case_in_progress();
    press(&mut app, KeyCode::F(4));
    insta::assert_snapshot!("guide_detail_80x24", screen_text(&render(&app, 80, 24)));
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.situation_picker(), Some(0));
    insta::assert_snapshot!("situation_picker_80x24", screen_text(&render(&app, 80, 24)));
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
    insta::assert_snapshot!(screen_text(&terminal));
}

#[test]
fn a_no_show_asks_first() {
    let mut app = app_serving_a_ticket();
    press(&mut app, KeyCode::F(9));
    assert!(app.confirming());
    insta::assert_snapshot!(screen_text(&render(&app, 80, 24)));
    press(&mut app, KeyCode::Char('n'));
    assert!(!app.confirming());
}

#[test]
fn too_small_asks_for_a_larger_window() {
    insta::assert_snapshot!(screen_text(&render(&loaded_app(), 40, 6)));
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
    insta::assert_snapshot!(screen_text(&render(&app, 120, 40)));
    press(&mut app, KeyCode::F(7));
    let form = app.form().expect("the inquiry form");
    assert_eq!(form.value(FieldId::Question), "cjrz", "the question starts as what was typed");
    insta::assert_snapshot!("desk_inquiry_form", screen_text(&render(&app, 80, 24)));
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
    insta::assert_snapshot!("desk_answer_card_120x40", screen_text(&render(&app, 120, 40)));
    insta::assert_snapshot!("desk_answer_card_80x24", screen_text(&render(&app, 80, 24)));
    press(&mut app, KeyCode::F(8));
    let form = app.form().expect("the ticket form");
    assert_eq!(form.value(FieldId::Question), question);
    assert_eq!(form.value(FieldId::Category), "B", "残疾人证新办 is queued under B 民政残联");
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
    let form = app.form().expect("the inquiry form");
    assert_eq!(form.value(FieldId::Question), question);
    insta::assert_snapshot!("desk_not_found_form", screen_text(&render(&app, 80, 24)));
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
    insta::assert_snapshot!(screen_text(&terminal));
    press(&mut app, KeyCode::Char('a'));
    assert!(app.form().is_some(), "the acknowledgement form");
}

#[test]
fn the_handover_editor_with_chinese_and_the_cursor_at_the_caret() {
    let mut app = loaded_app();
    press(&mut app, KeyCode::F(5));
    press(&mut app, KeyCode::Char('h'));
    assert!(app.handover_editor().is_some());
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    for c in "回电张先生".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    let mut terminal = render(&app, 100, 30);
    insta::assert_snapshot!(screen_text(&terminal));
    let cursor = terminal.get_cursor_position().unwrap();
    let start = (0..100).find(|&x| terminal.backend().buffer()[(x, cursor.y)].symbol() == "回").unwrap();
    assert_eq!(cursor.x, start + 10, "five Hanzi are ten columns");
}

/// Every cell of a rendered screen is free of control and bidi characters.
fn assert_no_control_or_bidi(terminal: &Terminal<TestBackend>, what: &str) {
    for (i, cell) in terminal.backend().buffer().content().iter().enumerate() {
        for c in cell.symbol().chars() {
            let bidi =
                matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}');
            assert!(!c.is_control() && !bidi, "{what}: U+{:04X} in cell {i}", c as u32);
        }
    }
}

#[test]
fn text_from_the_server_is_shown_without_control_or_bidi_characters_in_every_pane() {
    const EVIL: &str = "\u{202E}\u{1b}[2J\u{2066}\u{7}\u{200F}";
    let mut app = b_with_a_handover_waiting();
    // The server's open cases, its handovers and its center, each with a trap in its text.
    let mut case = app.cases[0].clone();
    case.id = uuid::Uuid::from_u128(99);
    case.guide_name = format!("城乡居民{EVIL}养老保险");
    case.case_number = Some(format!("QS{EVIL}0001"));
    app.update(AppEvent::Backend(BackendEvent::Cases(vec![case])));
    assert!(app.cases.iter().all(|c| !c.guide_name.contains('\u{202E}')), "cleaned on the way in");
    let mut handovers = app.handovers.clone();
    handovers[0].notes = format!("第一行{EVIL}\n第二行");
    app.update(AppEvent::Backend(BackendEvent::Handovers(handovers)));
    assert_eq!(app.handovers[0].notes, "第一行[2J\n第二行", "lines kept, controls gone");
    let mut center = app.center.clone().unwrap();
    center.center.name = format!("青石镇{EVIL}便民服务中心");
    app.update(AppEvent::Backend(BackendEvent::Center(Box::new(center))));
    app.update(AppEvent::Backend(BackendEvent::Message(format!("服务器说{EVIL}"))));

    // F3's list of open cases (Esc), then F5, then F4, at two sizes.
    press(&mut app, KeyCode::F(3));
    press(&mut app, KeyCode::Esc);
    for (w, h) in [(80, 24), (120, 40)] {
        let terminal = render(&app, w, h);
        assert!(format!("{:?}", terminal.backend()).contains("城乡居民"), "the case is listed");
        assert_no_control_or_bidi(&terminal, "F3 open cases");
    }
    press(&mut app, KeyCode::F(5));
    let terminal = render(&app, 120, 40);
    assert!(format!("{:?}", terminal.backend()).contains("第一行"));
    assert_no_control_or_bidi(&terminal, "F5 handovers");
    press(&mut app, KeyCode::F(4));
    assert_no_control_or_bidi(&render(&app, 120, 40), "F4 guides");
}

#[test]
fn at_80x24_the_waiting_numbers_and_todays_figures_show() {
    use bianmin::domain::ticket::{GreenReason, Priority};
    let mut app = app_serving_a_ticket();
    let queue = app.queue.as_mut().unwrap();
    queue.tickets.iter_mut().find(|t| t.number.to_string() == "B002").unwrap().priority =
        Priority::Green(GreenReason::Disabled);
    let terminal = render(&app, 80, 24);
    let screen = format!("{:?}", terminal.backend());
    assert!(screen.contains("A008") && screen.contains("B002"), "the waiting numbers themselves: {screen}");
    assert!(screen.contains("办结0") && screen.contains("来访2"), "today's figures below 16 rows");
    assert!(screen.contains("B002绿"), "the green channel marked");
    insta::assert_snapshot!(screen_text(&terminal));
}

#[test]
fn an_accepted_case_shows_its_full_number_and_promised_date_at_80x24() {
    use bianmin::domain::calendar::Deadline;
    use bianmin::domain::case::CaseStatus;
    let mut app = app_with_a_case_in_progress();
    let mut case = app.working_case().unwrap().clone();
    case.status = CaseStatus::Accepted;
    case.case_number = Some("SL-20261130-01-0012".into());
    case.deadline = Some(Deadline { date: chrono::NaiveDate::from_ymd_opt(2026, 12, 14).unwrap(), provisional: false });
    app.update(AppEvent::Backend(BackendEvent::CaseUpdated(Box::new(case))));
    let terminal = render(&app, 80, 24);
    let screen = format!("{:?}", terminal.backend());
    assert!(screen.contains("SL-20261130-01-0012") && screen.contains("承诺2026-12-14前"), "{screen}");
    insta::assert_snapshot!(screen_text(&terminal));
}

/// Wrapped guide lines of wide characters once came out one column too wide and broke the
/// pane's right border, scrolled or not: at any width the border stays whole.
#[test]
fn wrapped_guide_lines_stay_inside_the_border_at_every_width_and_scroll() {
    let seed = bundled_seed().unwrap();
    let mut broken = Vec::new();
    for guide in seed.guides.iter().take(12) {
        for width in [80u16, 81, 83, 85, 87, 100] {
            for scroll in [0u16, 3, 7, 15] {
                let mut app = loaded_app();
                app.update(AppEvent::Backend(BackendEvent::GuideDetail(Box::new(guide.clone()))));
                app.guide_scroll = scroll;
                let terminal = render(&app, width, 24);
                let buf = terminal.backend().buffer();
                // The guide pane is the lower left one: its top-right corner on row 12.
                let x = (0..width).find(|&x| matches!(buf[(x, 12)].symbol(), "┐" | "┓")).unwrap();
                for y in 13..21 {
                    if !matches!(buf[(x, y)].symbol(), "│" | "┃") {
                        broken.push((guide.code.clone(), width, scroll, y));
                    }
                }
            }
        }
    }
    assert!(broken.is_empty(), "border broken at (guide, width, scroll, row): {broken:?}");
}
