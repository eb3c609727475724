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
pub fn loaded_app() -> App {
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
        case_conflicts: Vec::new(),
    }))));
    app.update(AppEvent::Backend(BackendEvent::Guides(std::sync::Arc::new(
        seed.guides.iter().map(GuideSummary::from).collect(),
    ))));
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
pub fn screen_text(terminal: &Terminal<TestBackend>) -> String {
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
    assert_eq!(app.guide_pane.selected, 2);
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

/// B handed the window back: until A acknowledges (or is the one signed in), A is not shown
/// 在岗 on B's screen, though the duty is A's again.
#[test]
fn after_b_hands_back_a_is_not_shown_on_duty_until_a_acknowledges() {
    use bianmin::domain::handover::{Acknowledgement, HandoverDraft, HandoverKind, WindowAtHandover, handover_from};
    let mut app = loaded_app();
    let window = bundled_seed().unwrap().windows.into_iter().find(|w| w.number == 1).unwrap();
    let at_window = WindowAtHandover { window: &window, open_cases: &[], tickets: &[] };
    let draft = HandoverDraft { notes: "上午办了两件，均已受理".into(), ..HandoverDraft::default() };
    let mut back =
        handover_from(&at_window, HandoverKind::HandBack, "s002", draft, uuid::Uuid::from_u128(7), at()).unwrap();
    app.update(AppEvent::Backend(BackendEvent::Handovers(vec![back.clone()])));
    let a_line = |app: &App| {
        let screen = screen_text(&render(app, 80, 24));
        screen.lines().find(|l| l.contains("A岗  王丽")).map(str::to_owned).unwrap()
    };
    assert!(a_line(&app).contains("王丽 在岗"), "A is the one signed in here: {}", a_line(&app));
    // B's screen.
    let mut me = app.me.clone().unwrap();
    me.staff = Staff { id: "s002".into(), name: "李强".into(), ..me.staff.clone() };
    me.posts = vec![PostAssignment { window: 1, post: Post::B }];
    app.me = Some(me);
    assert!(a_line(&app).contains("王丽 不在岗（待确认接收）"), "{}", a_line(&app));
    back.acknowledged = Some(Acknowledgement { by: "s001".into(), at: at(), note: String::new() });
    app.update(AppEvent::Backend(BackendEvent::Handovers(vec![back])));
    assert!(a_line(&app).contains("王丽 在岗"), "{}", a_line(&app));
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
    // 代办人居民身份证: conditional (委托他人代办的), so it may be 不适用.
    intake::set_material(&mut case, &ids[6], MaterialCheck::NotApplicable, None).unwrap();
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
    let template = app.case_pane.list[0].clone();
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
    assert!(app.case_pane.current.is_none());
    let terminal = render(&app, 80, 24);
    let screen = format!("{:?}", terminal.backend());
    assert!(screen.contains("剩4日"), "1 to 4 December are four working days after 30 November");
    assert!(screen.contains("最后1日") && screen.contains("超期2日"));
    assert!(screen.contains("A003号") && screen.contains("张**"), "whose case it is, masked");
    assert!(!screen.contains("张三丰"));
    insta::assert_snapshot!(screen_text(&terminal));
}

/// A 容缺 acceptance in the open-case list (its due date under the deadline), and a case with a
/// 代办人 being ended: the end form over it, and the key hints whole at 80 columns.
#[test]
fn a_deferred_acceptance_is_tracked_and_a_case_with_an_agent_is_ended_at_80x24() {
    use bianmin::domain::case::MaterialCheck;
    use bianmin::domain::intake::{self, Opening};
    let mut app = loaded_app();
    app.update(AppEvent::Backend(BackendEvent::Calendar(Box::new(bianmin::assets::bundled_calendar().unwrap()))));
    let calendar = bianmin::assets::bundled_calendar().unwrap();
    let guide = bundled_seed().unwrap().guides.into_iter().find(|g| g.code == "HB-QS-0044").unwrap();
    let opening = Opening { window: 1, post: bianmin::domain::center::Post::A, staff_id: "s001", ticket: None };
    let mut deferred = intake::open_case(&guide, None, &opening, uuid::Uuid::from_u128(1), at()).unwrap();
    deferred.applicant = Some(bianmin::domain::applicant::Applicant {
        name: "张三丰".into(),
        id_number: bianmin::domain::applicant::IdNumber::parse("11010519491231002X").unwrap(),
        phone: None,
    });
    let ids: Vec<String> = deferred.checklist.items.iter().map(|i| i.material_id.clone()).collect();
    for id in &ids {
        let deferrable = deferred.checklist.items.iter().any(|i| &i.material_id == id && i.deferral_days.is_some());
        let state = if deferrable { MaterialCheck::Deferred } else { MaterialCheck::Received };
        intake::set_material(&mut deferred, id, state, None).unwrap();
    }
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    intake::accept(&mut deferred, &guide, "SL20261130-01-0001".into(), today, &calendar).unwrap();
    assert!(deferred.status.deadline_runs());
    let mut agent_case = intake::open_case(&guide, None, &opening, uuid::Uuid::from_u128(2), at()).unwrap();
    agent_case.agent = Some(bianmin::domain::applicant::Agent::parse("李四", "440524188001010014", "子女").unwrap());
    agent_case.ticket = Some("A004".parse().unwrap());
    app.update(AppEvent::Backend(BackendEvent::Cases(vec![deferred, agent_case.clone()])));
    press(&mut app, KeyCode::F(3));
    let list = render(&app, 80, 24);
    let screen = screen_text(&list);
    assert!(screen.contains("容缺12-07前"), "5 working days after 30 November:\n{screen}");
    insta::assert_snapshot!("deferred_acceptance_in_the_case_list_80x24", screen);

    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.case_pane.current, Some(agent_case.id));
    let screen = screen_text(&render(&app, 80, 24));
    assert!(screen.contains("代办李*（子女）") && !screen.contains("李四"), "the agent, masked:\n{screen}");
    let hints = screen.lines().find(|l| l.contains("y收")).unwrap();
    assert!(hints.contains("F1更多") && !hints.contains(".."), "hints whole: {hints}");
    press(&mut app, KeyCode::Char('c'));
    insta::assert_snapshot!("end_case_form_80x24", screen_text(&render(&app, 80, 24)));
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

/// The answer card wraps long Chinese text by display width, as the opened guide does: a wide
/// character never lands on the card's right border, at 80x24 or any width near it.
#[test]
fn the_answer_card_wraps_long_chinese_text_inside_its_border() {
    use bianmin::search::SearchIndex;
    use bianmin::tui::catalogue::rows_for;
    let mut guides = bundled_seed().unwrap().guides;
    let guide = guides.iter_mut().find(|g| g.code == "HB-QS-0027").unwrap();
    guide.location = "青石镇便民服务中心一楼综合受理窗口（进大门右手边第三个窗口，残联工作人员每周二、周四在岗，其余时间由综合窗口代收）".into();
    guide.hours = "周一至周五上午八点半至十二点，下午两点半至五点半；法定节假日除外，周六上午值班窗口可以咨询".into();
    let index = SearchIndex::build(&guides);
    let question = "残疾证在哪里办";
    let rows = rows_for(&guides, &index, question);
    assert_eq!(rows[0].code, "HB-QS-0027");
    let mut app = loaded_app();
    app.desk = true;
    for c in question.chars() {
        press(&mut app, KeyCode::Char(c));
    }
    app.update(AppEvent::Backend(BackendEvent::SearchResults { query: question.into(), rows }));
    let mut broken = Vec::new();
    for width in 80u16..=101 {
        let terminal = render(&app, width, 24);
        let buf = terminal.backend().buffer();
        // The card's pane is the right one: its top-right corner is the last column of row 1.
        let x = width - 1;
        assert_eq!(buf[(x, 1)].symbol(), "┐", "width {width}");
        assert_eq!(buf[(x, 21)].symbol(), "┘", "width {width}");
        for y in 2..21 {
            if buf[(x, y)].symbol() != "│" {
                broken.push((width, y));
            }
        }
    }
    assert!(broken.is_empty(), "card border broken at (width, row): {broken:?}");
    insta::assert_snapshot!("desk_answer_card_long_text_80x24", screen_text(&render(&app, 80, 24)));
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
    let at = WindowAtHandover { window: &window, open_cases: &app.case_pane.list, tickets: &[] };
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
    let mut case = app.case_pane.list[0].clone();
    case.id = uuid::Uuid::from_u128(99);
    case.guide_name = format!("城乡居民{EVIL}养老保险");
    case.case_number = Some(format!("QS{EVIL}0001"));
    app.update(AppEvent::Backend(BackendEvent::Cases(vec![case])));
    assert!(app.case_pane.list.iter().all(|c| !c.guide_name.contains('\u{202E}')), "cleaned on the way in");
    let mut handovers = app.handover_pane.list.clone();
    handovers[0].notes = format!("第一行{EVIL}\n第二行");
    app.update(AppEvent::Backend(BackendEvent::Handovers(handovers)));
    assert_eq!(app.handover_pane.list[0].notes, "第一行[2J\n第二行", "lines kept, controls gone");
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
    let queue = app.queue_pane.snapshot.as_mut().unwrap();
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
                app.guide_pane.scroll = scroll;
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

#[test]
fn a_conflict_names_the_case_and_what_did_not_apply_and_found_cases_show_masked() {
    use bianmin::api::{CaseConflict, ConflictReason, FoundCase};
    let mut app = app_with_a_case_in_progress();
    let case = app.case_pane.list[0].clone();
    let mut overview = app.overview.clone().unwrap();
    overview.case_conflicts = vec![CaseConflict {
        record_id: uuid::Uuid::from_u128(9),
        case_id: case.id,
        window: 1,
        guide_name: case.guide_name.clone(),
        reason: ConflictReason::Stale,
        version: 4,
        held_version: 4,
        author: "s002".into(),
        received_at: at(),
        edits: vec!["“居民身份证”不适用（现为已收）".into()],
    }];
    app.update(AppEvent::Backend(BackendEvent::Overview(Box::new(overview))));
    press(&mut app, KeyCode::Esc);
    let screen = screen_text(&render(&app, 120, 30));
    assert!(screen.contains("办件冲突") && screen.contains(&case.guide_name), "{screen}");
    assert!(screen.contains("未生效") && screen.contains("现为已收") && screen.contains("Ctrl+K"), "{screen}");
    let outcome = app.update(AppEvent::Key(KeyEvent::new(KeyCode::Char('k'), KeyModifiers::CONTROL)));
    assert_eq!(outcome.commands, vec![bianmin::tui::app::AppCommand::ConflictsSeen(vec![uuid::Uuid::from_u128(9)])]);

    let mut found = case.clone();
    found.window = 2;
    found.applicant = Some(bianmin::domain::applicant::Applicant {
        name: "张三丰".into(),
        id_number: bianmin::domain::applicant::IdNumber::parse("11010519491231002X").unwrap(),
        phone: None,
    });
    let outcome = app.update(AppEvent::Key(KeyEvent::new(KeyCode::Char('f'), KeyModifiers::CONTROL)));
    assert!(outcome.commands.is_empty());
    for c in "GZ02-20261130-0001".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    let outcome = app.update(AppEvent::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    assert!(
        matches!(&outcome.commands[..], [bianmin::tui::app::AppCommand::FindCases(s)] if s.notice_number == "GZ02-20261130-0001"),
        "{outcome:?}"
    );
    let notices = vec!["GZ02-20261130-0001".to_owned()];
    app.update(AppEvent::Backend(BackendEvent::FoundCases(vec![FoundCase { case: found.clone(), notices }])));
    let screen = screen_text(&render(&app, 120, 30));
    assert!(screen.contains("找到的办件") && screen.contains("2 号窗口") && screen.contains("张**"), "{screen}");
    assert!(!screen.contains("张三丰") && !screen.contains("19491231"), "masked on screen:\n{screen}");
    let outcome = app.update(AppEvent::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    assert!(
        matches!(&outcome.commands[..], [bianmin::tui::app::AppCommand::ContinueCase(c)] if c.id == found.id),
        "{outcome:?}"
    );
}

#[test]
fn m_transfers_the_case_being_worked_to_another_window_by_the_domains_rule() {
    let mut app = app_with_a_case_in_progress();
    let id = app.case_pane.list[0].id;
    let fill = |app: &mut App, window: &str, reason: &str| {
        press(app, KeyCode::Char('m'));
        for c in window.chars() {
            press(app, KeyCode::Char(c));
        }
        press(app, KeyCode::Enter);
        for c in reason.chars() {
            press(app, KeyCode::Char(c));
        }
        app.update(AppEvent::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)))
    };
    let outcome = fill(&mut app, "1", "属部门专窗");
    assert!(outcome.commands.is_empty());
    let screen = screen_text(&render(&app, 120, 30));
    assert!(screen.contains("转办到其他窗口") && screen.contains("办件已在本窗口"), "{screen}");
    press(&mut app, KeyCode::Esc);
    let outcome = fill(&mut app, "4", "属部门专窗");
    assert!(
        matches!(&outcome.commands[..], [bianmin::tui::app::AppCommand::TransferCase { case, to_window: 4, reason }]
            if case.id == id && reason == "属部门专窗"),
        "{outcome:?}"
    );
    assert_eq!(app.case_pane.current, None, "back to the list");
}

/// The kiosk's 预约签到 screen: a phone number being typed, its middle hidden.
#[test]
fn kiosk_check_in_by_phone_80x24() {
    use bianmin::tui::kiosk::{KioskState, render};
    let seed = bundled_seed().unwrap();
    let mut kiosk = KioskState::new(at());
    kiosk.center =
        Some(CenterInfo { center: seed.center, windows: seed.windows, categories: seed.categories, staff: Vec::new() });
    let choose = {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        terminal.draw(|f| render(&kiosk, f)).unwrap();
        screen_text(&terminal)
    };
    assert!(choose.contains("按 0 签到"), "{choose}");
    for c in "013800138000".chars() {
        kiosk.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| render(&kiosk, f)).unwrap();
    let screen = screen_text(&terminal);
    assert!(!screen.contains("13800138000"), "the phone number is masked: {screen}");
    insta::assert_snapshot!(screen);
}

/// The desk's booking form (F11) lists the places left in each slot that can still be booked
/// today: F11 asks the server, the reply fills the list (余N / 已满).
#[test]
fn desk_booking_form_with_free_places_80x24() {
    use bianmin::domain::appointment::{SlotPlan, free_slots};
    let mut app = loaded_app();
    app.desk = true;
    let asked = app.update(AppEvent::Key(KeyEvent::new(KeyCode::F(11), KeyModifiers::NONE)));
    assert!(
        asked.commands.iter().any(|c| matches!(c, bianmin::tui::app::AppCommand::FreePlaces(_))),
        "F11 asks for the places left: {:?}",
        asked.commands
    );
    assert!(screen_text(&render(&app, 80, 24)).contains("正在查询各时段剩余名额"));
    let t = |h| chrono::NaiveTime::from_hms_opt(h, 0, 0).unwrap();
    let plan = |category, start, end, capacity| SlotPlan { category, start: t(start), end: t(end), capacity };
    let plans = [plan('A', 8, 9, 2), plan('A', 14, 15, 3), plan('A', 15, 16, 2), plan('B', 16, 17, 1)];
    let day = bianmin::domain::time::china_date(app.now);
    // Taken: one place of A 14-15, both of A 15-16; the 08:00 slot has begun and is left out.
    let booked = |p: &SlotPlan| match (p.category, p.start.format("%H").to_string().as_str()) {
        ('A', "14") => 1,
        ('A', "15") => 2,
        _ => 0,
    };
    let slots = free_slots(&plans, day, None, true, app.now, booked);
    let places = bianmin::api::queue::FreePlaces { day, working_day: true, slots };
    app.update(AppEvent::Backend(BackendEvent::FreePlaces(Box::new(places))));
    let screen = screen_text(&render(&app, 80, 24));
    assert!(screen.contains("A 14:00 余2  15:00 已满") && screen.contains("B 16:00 余1"), "{screen}");
    assert!(!screen.contains("08:00"), "a slot that has begun is not offered: {screen}");
    insta::assert_snapshot!(screen);
}

/// The desk's booking form (F11): category, day, slot, and the phone typed masked.
#[test]
fn desk_booking_form_80x24() {
    let mut app = loaded_app();
    app.desk = true;
    press(&mut app, KeyCode::F(11));
    let fill = |app: &mut App, text: &str| {
        for c in text.chars() {
            press(app, KeyCode::Char(c));
        }
        press(app, KeyCode::Tab);
    };
    for text in ["A", "2026-12-07", "10:00", "13800138000"] {
        fill(&mut app, text);
    }
    let form = app.form().expect("the booking form");
    assert_eq!(form.value(FieldId::Phone), "13800138000");
    let screen = screen_text(&render(&app, 80, 24));
    assert!(!screen.contains("13800138000") && !screen.contains("8000"), "the phone is masked: {screen}");
    insta::assert_snapshot!(screen);
}
