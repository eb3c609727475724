//! Signing in at a remote terminal: the sign-in screen, a refused password (asked again, never
//! retried by itself), the session kept between runs, and signing out.

use crate::common;

use std::time::Duration;

use common::pty::{Pty, Sandbox, Spawn, keys};
use common::server::{PASSWORD, ServerProcess};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
const START: Duration = Duration::from_secs(30);
const REACT: Duration = Duration::from_secs(10);

fn terminal(sandbox: &Sandbox, base: &str) -> Pty {
    Pty::spawn_with(BIN, sandbox, Spawn::new(24, 80).arg("--server").arg(base))
}

fn sign_in(pty: &mut Pty, staff: &str, password: &str) {
    pty.send(staff.as_bytes());
    pty.send_key(keys::ENTER);
    pty.send(password.as_bytes());
    pty.send_key(keys::ENTER);
}

#[test]
fn sign_in_keep_the_session_and_sign_out() {
    let server_dir = Sandbox::new();
    let db_url = format!("sqlite://{}", server_dir.root().join("server.db").display());
    let server = ServerProcess::start(BIN, server_dir.root(), &db_url, 0);
    let sandbox = Sandbox::new();

    let mut pty = terminal(&sandbox, &server.base());
    pty.expect("the sign-in screen", |s| s.contains("登录便民终端") && s.contains("工  号"), START);
    sign_in(&mut pty, "s001", "not-the-password");
    pty.expect("refused, asked again", |s| s.contains("工号或密码不正确") && s.contains("登录便民终端"), REACT);
    assert!(!pty.screen_text().contains("not-the-password"), "the password is never shown");
    // The staff id stays, the server is named, and the caret waits in the emptied password
    // field: only the password is typed again.
    assert!(pty.screen_text().contains("s001") && pty.screen_text().contains("服务器："));
    pty.send(PASSWORD.as_bytes());
    pty.send_key(keys::ENTER);
    pty.expect("signed in", |s| s.contains("在线") && s.contains("王丽 A岗"), START);
    let token_file = sandbox.data_dir().join("session-token");
    let kept = std::fs::read_dir(sandbox.data_dir())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().contains("token"));
    assert!(kept, "the session is kept in the data directory ({})", token_file.display());
    pty.send_key(keys::Q);
    assert!(pty.wait_exit(Duration::from_secs(60)).success());

    // The next start resumes the session without asking.
    let mut pty = terminal(&sandbox, &server.base());
    pty.expect("resumed", |s| s.contains("在线") && s.contains("王丽 A岗") && !s.contains("登录便民终端"), START);
    pty.send_key(b"\x0f"); // Ctrl+O
    pty.expect("signed out", |s| s.contains("登录便民终端"), REACT);
    let kept = std::fs::read_dir(sandbox.data_dir())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().contains("token"));
    assert!(!kept, "signing out forgets the session");
    pty.send_key(keys::CTRL_C);
    assert!(pty.wait_exit(Duration::from_secs(60)).success());
    server.kill();
}

/// The (origin, token) lines of a kept token file.
fn kept(path: &std::path::Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    Some((lines.next()?.to_owned(), lines.next()?.to_owned()))
}

/// Whether a token still opens a session at `base`.
fn session_alive(base: &str, token: &str) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        bianmin::client::install_tls_provider();
        let r = reqwest::Client::new().get(format!("{base}/api/v1/me")).bearer_auth(token).send().await.unwrap();
        r.status().is_success()
    })
}

#[test]
fn a_kept_session_is_bound_to_its_server_and_an_offline_sign_out_ends_it_at_the_next_contact() {
    let server_dir = Sandbox::new();
    let db_url = format!("sqlite://{}", server_dir.root().join("server.db").display());
    let port = common::server::free_port();
    let server = ServerProcess::start(BIN, server_dir.root(), &db_url, port);
    // Another server over the same accounts: the token would work there, and must not be sent.
    let other = ServerProcess::start(BIN, server_dir.root(), &db_url, 0);
    let sandbox = Sandbox::new();
    let token_file = sandbox.data_dir().join("session-token");

    let mut pty = terminal(&sandbox, &server.base());
    pty.expect("the sign-in screen", |s| s.contains("登录便民终端"), START);
    sign_in(&mut pty, "s001", PASSWORD);
    pty.expect("signed in", |s| s.contains("在线") && s.contains("王丽 A岗"), START);
    pty.send_key(keys::Q);
    assert!(pty.wait_exit(Duration::from_secs(60)).success());
    let (origin, token) = kept(&token_file).expect("the session is kept with its server");
    assert_eq!(origin, server.base());

    let mut pty = terminal(&sandbox, &other.base());
    pty.expect("another server: sign in again", |s| s.contains("登录便民终端"), START);
    pty.send_key(keys::CTRL_C);
    assert!(pty.wait_exit(Duration::from_secs(60)).success());
    assert!(session_alive(&other.base(), &token), "the same accounts: the token was never sent there");

    // Back at its own server, the session resumes; then the server goes away and the clerk
    // signs out while offline.
    let mut pty = terminal(&sandbox, &server.base());
    pty.expect("resumed", |s| s.contains("在线") && s.contains("王丽 A岗") && !s.contains("登录便民终端"), START);
    server.kill();
    pty.send_key(b"\x0f"); // Ctrl+O
    pty.expect("signed out", |s| s.contains("登录便民终端"), REACT);
    pty.send_key(keys::CTRL_C);
    assert!(pty.wait_exit(Duration::from_secs(60)).success());
    assert!(!token_file.exists(), "the token is forgotten at once");
    assert!(session_alive(&other.base(), &token), "but the server did not hear the sign-out");
    let (_, pending) = kept(&sandbox.data_dir().join("session-token.revoke")).expect("a pending revocation");
    assert_eq!(pending, token);

    // The server is back: the next start of the terminal ends that session.
    let server = ServerProcess::start(BIN, server_dir.root(), &db_url, port);
    let mut pty = terminal(&sandbox, &server.base());
    pty.expect("the sign-in screen", |s| s.contains("登录便民终端"), START);
    let deadline = std::time::Instant::now() + START;
    while session_alive(&server.base(), &token) {
        assert!(std::time::Instant::now() < deadline, "the session signed out offline was not ended");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!sandbox.data_dir().join("session-token.revoke").exists());
    pty.send_key(keys::CTRL_C);
    assert!(pty.wait_exit(Duration::from_secs(60)).success());
    server.kill();
    other.kill();
}

#[test]
fn ctrl_o_standalone_asks_who_signs_in_next() {
    let sandbox = Sandbox::new();
    let mut pty = Pty::spawn(BIN, &sandbox, 24, 80);
    pty.expect("the demo clerk online", |s| s.contains("在线") && s.contains("王丽 A岗"), START);
    pty.send_key(b"\x0f"); // Ctrl+O
    pty.expect(
        "the sign-in screen, standalone",
        |s| s.contains("登录便民终端") && s.contains("单机模式") && !s.contains("王丽 A岗"),
        REACT,
    );
    // Nobody is signed back in behind the form's back.
    std::thread::sleep(Duration::from_secs(2));
    assert!(pty.screen_text().contains("登录便民终端"), "{}", pty.screen_text());
    sign_in(&mut pty, "s002", PASSWORD);
    pty.expect("the next clerk signed in", |s| s.contains("李强") && !s.contains("登录便民终端"), START);
    pty.send_key(keys::CTRL_C);
    assert!(pty.wait_exit(Duration::from_secs(60)).success());
}

/// s004 holds A at window 3 and B at window 2 (the sample roster): the PC's configured window
/// decides; without one the clerk is asked, and the answer is where the terminal works.
#[test]
fn a_clerk_with_two_windows_works_at_this_pcs_window_or_is_asked() {
    let sandbox = Sandbox::new();
    let mut pty = Pty::spawn_with(
        BIN,
        &sandbox,
        Spawn::new(24, 80).env("BIANMIN_TERMINAL_STANDALONE_STAFF_ID", "s004").env("BIANMIN_TERMINAL_WINDOW", "2"),
    );
    pty.expect("window 2, post B", |s| s.contains("在线") && s.contains("2号窗口") && s.contains("刘洋 B岗"), START);
    assert!(!pty.screen_text().contains("本机在哪个窗口工作"), "not asked: the PC says where it is");
    pty.send_key(keys::CTRL_C);
    assert!(pty.wait_exit(Duration::from_secs(60)).success());

    let sandbox = Sandbox::new();
    let mut pty =
        Pty::spawn_with(BIN, &sandbox, Spawn::new(24, 80).env("BIANMIN_TERMINAL_STANDALONE_STAFF_ID", "s004"));
    pty.expect("asked which window", |s| s.contains("本机在哪个窗口工作") && s.contains("2 号窗口（B岗）"), START);
    pty.send(b"2");
    pty.send_key(keys::ENTER);
    pty.send_key(keys::ENTER);
    pty.expect("working at window 2 as B", |s| s.contains("2号窗口") && s.contains("刘洋 B岗"), REACT);
    pty.send_key(keys::CTRL_C);
    assert!(pty.wait_exit(Duration::from_secs(60)).success());
}
