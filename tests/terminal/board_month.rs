//! The board over a synthetic month (#17's Done-when): a shorter month than the report test's
//! (the first 4 working days of March 2026, 6 windows, 5 rounds a day) built through the real
//! server by the same generator (tests/common/month.rs), with the test's clock; the board as
//! `GET /api/v1/board` serves it to a 中心负责人, rendered by the board pane at 80x24 and 120x40.

use crate::common;

use bianmin::domain::staff::Role;
use bianmin::server;
use bianmin::tui::app::{App, AppEvent, BackendEvent, Link};
use bianmin::tui::view;
use chrono::{Datelike, NaiveDate};
use common::month::{self, Outcome, at, set};
use common::server::{PASSWORD, TestServer, signed_in_client};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const DAYS: usize = 4;
const ROUNDS: u32 = 5;

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::render(app, frame)).unwrap();
    crate::tui_render::screen_text(&terminal)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_renders_a_synthetic_month_at_80x24_and_120x40() {
    let calendar = bianmin::assets::bundled_calendar().unwrap();
    let first = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let days: Vec<NaiveDate> =
        first.iter_days().take_while(|d| d.month() == 3).filter(|d| calendar.is_working_day(*d)).take(DAYS).collect();
    let s = TestServer::start().await;
    let built = month::build(&s, &days, ROUNDS).await;
    let bad = built
        .outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Served { rating: Some((level, _)), .. } if level.is_bad()))
        .count();
    assert!(bad > 0, "the month has bad ratings to follow up");

    // The last day at 16:30: open, nobody's terminal heard from.
    let now = at(*days.last().unwrap(), 16 * 60 + 30);
    set(&s, now);
    server::admin::add_staff(s.state.store.as_ref(), "命令行:test", "z001", "赵主任", Role::Director, PASSWORD, now)
        .await
        .unwrap();
    let director = signed_in_client(&s.base, "z001").await;
    let board = director.board().await.unwrap();
    assert_eq!(board.follow_ups.len(), bad, "every bad rating of the month has its follow-up on the board");
    let me = director.me().await.unwrap();
    let center = director.center().await.unwrap();

    let mut app = App::new(now, None);
    app.update(AppEvent::Backend(BackendEvent::SignedIn(me)));
    app.update(AppEvent::Backend(BackendEvent::Center(Box::new(center))));
    app.update(AppEvent::Backend(BackendEvent::Link(Link::Online)));
    app.update(AppEvent::Backend(BackendEvent::Board(Box::new(board))));
    assert!(app.on_board());
    insta::assert_snapshot!("board_month_80x24", screen(&app, 80, 24));
    insta::assert_snapshot!("board_month_120x40", screen(&app, 120, 40));
    s.stop().await;
}
