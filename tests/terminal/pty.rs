//! The terminal as a clerk meets it: the real binary in a pseudo-terminal, read back through a
//! `vt100` screen. Timeouts are generous: a debug build seeds the database (Argon2 hashes for
//! the sample staff) on its first start, and the tests run side by side on two cores.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::pty::{Pty, Sandbox, Spawn, focused_pane, keys};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
/// Start-up until the first frame, and until the embedded server answered.
const START: Duration = Duration::from_secs(30);
/// A key press until its frame.
const REACT: Duration = Duration::from_secs(10);
const EXIT: Duration = Duration::from_secs(60);

const TITLES: [&str; 4] = ["当前叫号", "一次性告知", "办事指南", "AB岗交接"];
const SAMPLE_GUIDE: &str = "城乡居民基本养老保险参保登记";
const DEMO_CLERK: &str = "王丽";
const SEEDED_LOG_LINE: &str = "seeded a new database";

fn has_titles(screen: &str) -> bool {
    TITLES.iter().all(|t| screen.contains(t))
}

fn loaded(screen: &str) -> bool {
    has_titles(screen) && screen.contains("在线") && screen.contains(DEMO_CLERK) && screen.contains(SAMPLE_GUIDE)
}

/// Quits with `key` and checks the exit status and that the terminal is as it was.
fn quit_cleanly(pty: &mut Pty, key: &[u8]) {
    pty.send_key(key);
    let status = pty.wait_exit(EXIT);
    assert!(status.success(), "exit status {status:?}; output:\n{}", pty.output_lossy());
    assert_restored(pty);
}

fn assert_restored(pty: &Pty) {
    assert!(!pty.alternate_screen(), "still on the alternate screen:\n{}", pty.screen_text());
    assert!(!pty.hide_cursor(), "the cursor is still hidden");
    assert_eq!(pty.cooked_mode(), Some(true), "raw mode was not switched off (ICANON/ECHO missing)");
}

/// Starts in a window large enough for guide names to show whole, and waits until everything
/// has loaded.
fn start_loaded(sandbox: &Sandbox) -> Pty {
    let pty = Pty::spawn(BIN, sandbox, 40, 120);
    pty.expect("the four pane titles", has_titles, START);
    pty.expect("在线, the demo clerk and the sample guide", loaded, START);
    pty
}

/// `共 91 项`: the number of guides the pane shows.
fn guide_count(screen: &str) -> Option<String> {
    let start = screen.find("共 ")?;
    let rest = &screen[start..];
    Some(rest[..rest.find('项')? + '项'.len_utf8()].to_owned())
}

#[test]
fn standalone_start_shows_the_four_panes_goes_online_and_quits_cleanly() {
    let sandbox = Sandbox::new();
    let mut pty = Pty::spawn(BIN, &sandbox, 40, 120);
    pty.expect("the four pane titles", has_titles, START);
    assert!(pty.alternate_screen(), "the app draws on the alternate screen");
    assert!(pty.hide_cursor(), "the cursor is hidden while the app runs");
    pty.expect("在线, the demo clerk and the sample guide", loaded, START);
    let screen = pty.screen_text();
    assert!(screen.contains("1号窗口"), "the status bar names window 1:\n{screen}");
    assert!(screen.contains("王丽 A岗"), "the demo clerk holds the A post:\n{screen}");

    quit_cleanly(&mut pty, keys::Q);

    let data = sandbox.data_dir();
    assert!(data.join("bianmin-server.db").is_file(), "no database in {}", data.display());
    let logs = sandbox.log_files();
    assert!(
        logs.iter().any(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("bianmin.log"))),
        "no log file in {}/logs: {logs:?}",
        data.display()
    );
    let log = sandbox.log_text();
    assert!(log.contains("first frame drawn"), "log:\n{log}");
    assert!(log.contains(SEEDED_LOG_LINE), "a fresh data directory is seeded; log:\n{log}");
}

#[test]
fn a_second_run_reuses_the_database() {
    use std::os::unix::fs::MetadataExt;
    let sandbox = Sandbox::new();
    let db = sandbox.data_dir().join("bianmin-server.db");

    let mut first = start_loaded(&sandbox);
    let count_first = guide_count(&first.screen_text());
    quit_cleanly(&mut first, keys::Q);
    drop(first);
    let inode = std::fs::metadata(&db).expect("the database exists after the first run").ino();
    let log = sandbox.log_text();
    assert_eq!(log.matches(SEEDED_LOG_LINE).count(), 1, "the first run seeds; log:\n{log}");

    let mut second = start_loaded(&sandbox);
    let count_second = guide_count(&second.screen_text());
    quit_cleanly(&mut second, keys::Q);

    assert!(count_first.is_some(), "the guide pane shows a count");
    assert_eq!(count_first, count_second, "the catalogue is neither lost nor seeded twice");
    assert_eq!(std::fs::metadata(&db).unwrap().ino(), inode, "the same database file, not a new one");
    let log = sandbox.log_text();
    assert_eq!(log.matches("first frame drawn").count(), 2, "both runs logged; log:\n{log}");
    assert_eq!(log.matches(SEEDED_LOG_LINE).count(), 1, "the second run must not seed again; log:\n{log}");
}

#[test]
fn function_keys_and_tab_move_the_focus_and_f1_opens_help() {
    let sandbox = Sandbox::new();
    let mut pty = Pty::spawn(BIN, &sandbox, 24, 80);
    pty.expect("the four pane titles", has_titles, START);
    let focus_is = |pty: &Pty, title: &'static str| {
        pty.expect(&format!("the thick border on {title}"), |s| focused_pane(s) == Some(title), REACT);
    };
    focus_is(&pty, "F2 当前叫号");

    for (n, title) in [(4, "F4 办事指南"), (3, "F3 一次性告知"), (5, "F5 AB岗交接"), (2, "F2 当前叫号")]
    {
        pty.send_f(n);
        focus_is(&pty, title);
    }
    // Tab walks the panes in order and wraps; Shift+Tab walks back.
    for title in ["F3 一次性告知", "F4 办事指南", "F5 AB岗交接", "F2 当前叫号"] {
        pty.send_tab();
        focus_is(&pty, title);
    }
    pty.send_key(keys::BACKTAB);
    focus_is(&pty, "F5 AB岗交接");

    pty.send_f(1);
    pty.expect("the help overlay", |s| s.contains("帮助：按键一览"), REACT);
    pty.send_tab();
    pty.send_esc();
    pty.expect("the help overlay to close", |s| !s.contains("帮助：按键一览") && has_titles(s), REACT);
    assert_eq!(
        focused_pane(&pty.screen_text()),
        Some("F5 AB岗交接"),
        "keys behind the help overlay do not reach the panes"
    );

    quit_cleanly(&mut pty, keys::Q);
}

#[test]
fn ctrl_c_quits_and_restores_the_terminal() {
    let sandbox = Sandbox::new();
    let mut pty = Pty::spawn(BIN, &sandbox, 24, 80);
    pty.expect("the four pane titles", has_titles, START);
    quit_cleanly(&mut pty, keys::CTRL_C);
}

/// Waits until the backend has fetched the catalogue (seen in the log): the loading phase and
/// its redraws happened at this size.
fn wait_for_catalogue_in_log(pty: &Pty, sandbox: &Sandbox) {
    let deadline = Instant::now() + START;
    while !sandbox.log_text().contains("/api/v1/guides") {
        assert!(Instant::now() < deadline, "the catalogue was never fetched; screen:\n{}", pty.screen_text());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_tiny_terminal_asks_for_a_larger_window_and_does_not_panic() {
    let sandbox = Sandbox::new();
    let mut pty = Pty::spawn(BIN, &sandbox, 5, 10);
    pty.expect("the too-small message", |s| s.contains("窗口太小"), START);
    wait_for_catalogue_in_log(&pty, &sandbox);
    std::thread::sleep(Duration::from_millis(300));
    assert!(pty.is_alive(), "the process died at 10x5:\n{}", pty.output_lossy());
    assert!(pty.screen_text().contains("窗口太小"), "{}", pty.screen_text());
    quit_cleanly(&mut pty, keys::Q);
}

#[test]
fn a_one_by_one_terminal_does_not_panic() {
    let sandbox = Sandbox::new();
    let mut pty = Pty::spawn(BIN, &sandbox, 1, 1);
    let deadline = Instant::now() + START;
    while !pty.alternate_screen() {
        assert!(Instant::now() < deadline, "never entered the alternate screen");
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_for_catalogue_in_log(&pty, &sandbox);
    std::thread::sleep(Duration::from_millis(300));
    assert!(pty.is_alive(), "the process died at 1x1:\n{}", pty.output_lossy());
    quit_cleanly(&mut pty, keys::Q);
}

#[test]
fn resizing_below_the_minimum_and_back_redraws_without_a_crash() {
    let sandbox = Sandbox::new();
    let mut pty = Pty::spawn(BIN, &sandbox, 24, 80);
    pty.expect("the four pane titles", has_titles, START);
    pty.resize(10, 40);
    pty.expect("the too-small message at 40x10", |s| s.contains("窗口太小") && s.contains("40x10"), REACT);
    assert!(!has_titles(&pty.screen_text()), "the panes are gone at 40x10");
    pty.resize(24, 80);
    pty.expect("the panes again at 80x24", |s| has_titles(s) && !s.contains("窗口太小"), REACT);
    pty.expect("在线", |s| s.contains("在线"), START);
    assert!(pty.is_alive());
    quit_cleanly(&mut pty, keys::Q);
}

/// Two resizes faster than the app reads them arrive as one SIGWINCH and one `Resize` event with
/// the size the app last drew at. The terminal emulator has meanwhile cut the screen to 40x10;
/// ratatui clears only when the size differs from its last frame, so the app must force a full
/// repaint on every resize or the cut-off rows stay blank.
#[test]
fn a_quick_resize_there_and_back_repaints_the_whole_screen() {
    let sandbox = Sandbox::new();
    let mut pty = Pty::spawn(BIN, &sandbox, 24, 80);
    pty.expect("the four pane titles and 在线", |s| has_titles(s) && s.contains("在线"), START);
    pty.resize(10, 40);
    pty.resize(24, 80);
    pty.expect(
        "the whole screen after a quick there and back",
        |s| has_titles(s) && s.contains("F1") && s.contains("在线"),
        REACT,
    );
    quit_cleanly(&mut pty, keys::Q);
}

#[test]
fn a_panic_in_a_background_task_restores_the_terminal_and_exits_101() {
    let sandbox = Sandbox::new();
    let mut pty = Pty::spawn_with(BIN, &sandbox, Spawn::new(24, 80).env("BIANMIN_TEST_PANIC_IN_TASK", "1"));
    let status = pty.wait_exit(START);
    let output = pty.output_lossy();
    assert_eq!(status.exit_code(), 101, "status {status:?}; output:\n{output}");
    assert!(output.contains("\x1b[?1049h"), "the first frame was drawn on the alternate screen first");
    assert!(output.contains("便民终端遇到内部错误已退出"), "the Chinese message on stderr; output:\n{output}");
    assert!(pty.screen_text().contains("便民终端遇到内部错误已退出"), "the message is readable on the restored screen");
    assert_restored(&pty);
}

/// Seconds since the epoch, as a float.
fn epoch_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// Waits until no byte has arrived for `quiet`.
fn settle(pty: &Pty, quiet: Duration, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut last = pty.bytes_written();
    let mut since = Instant::now();
    while since.elapsed() < quiet {
        assert!(Instant::now() < deadline, "the screen never settled");
        std::thread::sleep(Duration::from_millis(20));
        let now = pty.bytes_written();
        if now != last {
            last = now;
            since = Instant::now();
        }
    }
}

#[test]
fn an_idle_terminal_draws_nothing() {
    const IDLE: Duration = Duration::from_secs(3);
    let sandbox = Sandbox::new();
    let mut pty = start_loaded(&sandbox);
    settle(&pty, Duration::from_millis(500), START);
    // Keep the minute clock out of the window if we can: it redraws once, on the minute.
    let into_minute = epoch_secs().rem_euclid(60.0);
    if into_minute > 55.0 {
        std::thread::sleep(Duration::from_secs_f64(61.0 - into_minute));
        settle(&pty, Duration::from_millis(500), START);
    }
    let (t0, before) = (epoch_secs(), pty.bytes_written());
    std::thread::sleep(IDLE);
    let (t1, after) = (epoch_secs(), pty.bytes_written());
    let written = after - before;
    // The clock's redraw lands up to a second or so after the minute under load.
    let minute_in_window = ((t0 - 1.5) / 60.0).floor() != (t1 / 60.0).floor();
    if minute_in_window {
        assert!(written <= 512, "{written} bytes in {IDLE:?} idle; a minute tick allows one small redraw");
    } else {
        assert_eq!(written, 0, "{written} bytes drawn in {IDLE:?} idle");
    }
    assert!(pty.is_alive());
    quit_cleanly(&mut pty, keys::Q);
}

// The command line, without a terminal.

fn cli(sandbox: &Sandbox, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(sandbox.env())
        .current_dir(sandbox.root())
        .output()
        .expect("run bianmin")
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_is_in_chinese() {
    let sandbox = Sandbox::new();
    let out = cli(&sandbox, &["--help"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    for word in ["用法", "子命令", "serve", "workdays"] {
        assert!(text.contains(word), "{word} missing from the help:\n{text}");
    }
}

#[test]
fn version_prints_the_package_version() {
    let sandbox = Sandbox::new();
    let out = cli(&sandbox, &["--version"]);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).contains(env!("CARGO_PKG_VERSION")), "{}", stdout(&out));
}

#[test]
fn workdays_skip_the_national_day_holiday() {
    let sandbox = Sandbox::new();
    let out = cli(&sandbox, &["workdays", "add", "2025-09-30", "1"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out).trim(), "2025-10-09");
    let out = cli(&sandbox, &["workdays", "between", "2025-09-30", "2025-10-09"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out).trim(), "1");
}

#[test]
fn a_missing_config_file_is_reported_in_chinese() {
    let sandbox = Sandbox::new();
    let out = cli(&sandbox, &["--config", "/nonexistent.toml"]);
    assert!(!out.status.success(), "{out:?}");
    assert!(stderr(&out).contains("无法读取配置文件"), "{}", stderr(&out));
    assert!(!sandbox.data_dir().exists(), "nothing is created when the configuration is wrong");
}
