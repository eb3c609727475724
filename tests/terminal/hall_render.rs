//! The hall's calling display on ratatui's `TestBackend`, fed the way the live feed feeds it (a
//! snapshot, then changes), snapshotted with insta at the smallest and a common hall size.

use bianmin::api::CenterInfo;
use bianmin::api::queue::{QueueChange, QueueEvent, QueueSnapshot, WindowPause, WindowQueueState};
use bianmin::domain::hall::announcement;
use bianmin::domain::queue::{Step, TicketRequest, apply, issue};
use bianmin::domain::rating::Satisfaction;
use bianmin::domain::staff::Staff;
use bianmin::domain::ticket::{GreenReason, Priority, QueueAction, Ticket};
use bianmin::domain::time::china_date;
use bianmin::server::seed::bundled_seed;
use bianmin::tui::display::{DisplayLink, DisplayState, render};
use chrono::{DateTime, Duration, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn at() -> DateTime<Utc> {
    "2026-11-30T01:30:00Z".parse().unwrap() // 09:30 in China
}

fn center() -> CenterInfo {
    let seed = bundled_seed().unwrap();
    let staff: Vec<Staff> = seed.staff.iter().map(|c| c.staff.clone()).collect();
    CenterInfo { center: seed.center, windows: seed.windows, categories: seed.categories, staff }
}

fn ticket(number: &str, priority: Priority, minutes_ago: i64) -> Ticket {
    let category = number.chars().next().unwrap();
    let request = TicketRequest { category, priority, guide_code: None, note: None, slot: None };
    issue(uuid::Uuid::now_v7(), number.parse().unwrap(), &request, "kiosk-1", at() - Duration::minutes(minutes_ago))
}

struct Feed {
    rev: u64,
}

impl Feed {
    fn change(&mut self, action: QueueAction, window: u32, ticket: Option<Ticket>) -> QueueEvent {
        self.rev += 1;
        QueueEvent::Change(Box::new(QueueChange {
            rev: self.rev,
            at: at(),
            action,
            by: "s001".into(),
            window: Some(window),
            ticket,
            window_state: None,
        }))
    }
}

/// A busy morning: window 1 serves A001, window 2 recalls B002 (green channel), window 3 called
/// C001, window 6 is paused; others are idle; people wait in A, B and D.
fn busy_hall() -> (DisplayState, Vec<String>) {
    let mut state = DisplayState::new(at());
    state.center = Some(center());
    let waiting = vec![
        ticket("A001", Priority::Normal, 40),
        ticket("B002", Priority::Green(GreenReason::Elderly), 35),
        ticket("C001", Priority::Normal, 30),
        ticket("A002", Priority::Normal, 20),
        ticket("A003", Priority::Normal, 15),
        ticket("B003", Priority::Normal, 10),
        ticket("D001", Priority::Normal, 5),
    ];
    let windows = (1..=6).map(|window| WindowQueueState { window, paused: None }).collect();
    let snapshot = QueueSnapshot { rev: 10, day: china_date(at()), tickets: waiting.clone(), done: 12, windows };
    let mut spoken = Vec::new();
    assert!(state.apply(QueueEvent::Snapshot(snapshot)).is_empty(), "a snapshot announces nothing");
    let mut feed = Feed { rev: 10 };
    let step = |t: &Ticket, s: Step| apply(t, &s, "s001", at(), None).unwrap();
    let a1 = step(&waiting[0], Step::Call { window: 1 });
    let b2 = step(&waiting[1], Step::Call { window: 2 });
    let c1 = step(&waiting[2], Step::Call { window: 3 });
    let events = vec![
        feed.change(QueueAction::Called, 1, Some(a1.clone())),
        feed.change(QueueAction::Started, 1, Some(step(&a1, Step::Start { window: 1 }))),
        feed.change(QueueAction::Called, 2, Some(b2.clone())),
        feed.change(QueueAction::Called, 3, Some(c1)),
        feed.change(QueueAction::Recalled, 2, Some(step(&b2, Step::Recall { window: 2 }))),
    ];
    for event in events {
        spoken.extend(state.apply(event).iter().map(announcement));
    }
    feed.rev += 1;
    let pause = WindowQueueState {
        window: 6,
        paused: Some(WindowPause { reason: "系统维护".into(), since: at(), by: "s007".into() }),
    };
    let paused = QueueChange {
        rev: feed.rev,
        at: at(),
        action: QueueAction::Paused,
        by: "s007".into(),
        window: Some(6),
        ticket: None,
        window_state: Some(pause),
    };
    assert!(state.apply(QueueEvent::Change(Box::new(paused))).is_empty());
    state.link = DisplayLink::Online;
    state.satisfaction = Some(Satisfaction { rated: 25, satisfied: 24 });
    (state, spoken)
}

fn screen(state: &DisplayState, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render(state, frame)).unwrap();
    screen_text(&terminal)
}

/// As `tui_render::screen_text`: one line a row, each wide character once.
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

#[test]
fn the_calls_are_announced_in_order_and_a_recall_again() {
    let (state, spoken) = busy_hall();
    assert_eq!(
        spoken,
        [
            "请 A001 号到 1 号窗口办理",
            "请绿色通道 B002 号到 2 号窗口办理",
            "请 C001 号到 3 号窗口办理",
            "再次呼叫，请绿色通道 B002 号到 2 号窗口办理",
        ]
    );
    let recent: Vec<String> = state.calls.iter().map(|c| c.number.to_string()).collect();
    assert_eq!(recent, ["B002", "C001", "B002", "A001"], "newest first");
}

#[test]
fn the_hall_at_80x24() {
    let (state, _) = busy_hall();
    let text = screen(&state, 80, 24);
    for expected in ["再次呼叫，请绿色通道 B002 号到 2 号窗口办理", "暂停服务", "A 社保医保 2人", "满意率 96.0%"]
    {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn the_hall_at_120x40() {
    let (state, _) = busy_hall();
    let text = screen(&state, 120, 40);
    assert!(text.contains("办理中") && text.contains("再次呼叫") && text.contains("空闲"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn before_the_server_answers_and_when_the_token_is_refused() {
    let mut state = DisplayState::new(at());
    assert!(screen(&state, 80, 24).contains("正在连接服务器"));
    state.link = DisplayLink::Stopped("服务器拒绝了本叫号屏：登录已失效".into());
    assert!(screen(&state, 80, 24).contains("无法显示叫号"));
}
