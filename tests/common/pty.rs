//! A pseudo-terminal harness: runs the `bianmin` binary in a real PTY, feeds everything it writes
//! into a `vt100` screen, and lets a test type keys, wait for text, resize and collect the exit
//! status.
//!
//! The binary path comes from the caller (`env!("CARGO_BIN_EXE_bianmin")` only expands in the
//! test or bench crate). Every run gets a clean environment whose HOME, XDG directories and
//! `BIANMIN_DATA_DIR` point into a [`Sandbox`], so the tests never touch the developer's data.
//! The child is killed when the [`Pty`] is dropped: a failing test leaves no process behind.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

/// How often [`Pty::wait_for`] looks at the screen.
pub const POLL: Duration = Duration::from_millis(20);
/// Pause after each key so that crossterm reads it on its own (an ESC followed quickly by a
/// letter would be parsed as Alt+letter).
pub const KEY_GAP: Duration = Duration::from_millis(60);

/// xterm key sequences.
pub mod keys {
    pub const F1: &[u8] = b"\x1bOP";
    pub const F2: &[u8] = b"\x1bOQ";
    pub const F3: &[u8] = b"\x1bOR";
    pub const F4: &[u8] = b"\x1bOS";
    pub const F5: &[u8] = b"\x1b[15~";
    pub const TAB: &[u8] = b"\t";
    pub const BACKTAB: &[u8] = b"\x1b[Z";
    pub const ESC: &[u8] = b"\x1b";
    pub const ENTER: &[u8] = b"\r";
    pub const CTRL_C: &[u8] = b"\x03";
    pub const Q: &[u8] = b"q";
}

/// The directories one or more runs of the app share: HOME, XDG_* and the data directory, all
/// inside one temporary directory that is removed on drop.
pub struct Sandbox {
    root: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Self {
        let root = tempfile::Builder::new().prefix("bianmin-pty-").tempdir().expect("create a temporary directory");
        for sub in ["home", "xdg-data", "xdg-config", "xdg-cache", "xdg-state"] {
            std::fs::create_dir_all(root.path().join(sub)).expect("create a sandbox directory");
        }
        Self { root }
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `BIANMIN_DATA_DIR`: the SQLite database and `logs/` end up here. Created by the app.
    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// The environment a run gets, and nothing else from the test process but PATH.
    pub fn env(&self) -> Vec<(String, String)> {
        let at = |sub: &str| self.root.path().join(sub).display().to_string();
        let mut env = vec![
            ("HOME".to_owned(), at("home")),
            ("XDG_DATA_HOME".to_owned(), at("xdg-data")),
            ("XDG_CONFIG_HOME".to_owned(), at("xdg-config")),
            ("XDG_CACHE_HOME".to_owned(), at("xdg-cache")),
            ("XDG_STATE_HOME".to_owned(), at("xdg-state")),
            ("BIANMIN_DATA_DIR".to_owned(), self.data_dir().display().to_string()),
            ("TERM".to_owned(), "xterm-256color".to_owned()),
            ("LANG".to_owned(), "C.UTF-8".to_owned()),
        ];
        if let Some(path) = std::env::var_os("PATH") {
            env.push(("PATH".to_owned(), path.to_string_lossy().into_owned()));
        }
        env
    }

    /// Files in `data_dir()/logs`, sorted.
    pub fn log_files(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.data_dir().join("logs")) else { return Vec::new() };
        let mut files: Vec<PathBuf> =
            entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect();
        files.sort();
        files
    }

    /// All log files concatenated (a run near midnight may write to two daily files).
    pub fn log_text(&self) -> String {
        self.log_files().iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect::<Vec<_>>().join("")
    }
}

/// How to start the binary.
#[derive(Debug, Clone)]
pub struct Spawn {
    pub rows: u16,
    pub cols: u16,
    pub args: Vec<String>,
    /// Added to (or overriding) the sandbox environment.
    pub env: Vec<(String, String)>,
    /// Texts whose first appearance on screen is timed (see [`Pty::first_seen`]).
    pub watch: Vec<String>,
}

impl Spawn {
    pub fn new(rows: u16, cols: u16) -> Self {
        Self { rows, cols, args: Vec::new(), env: Vec::new(), watch: Vec::new() }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn watch(mut self, text: impl Into<String>) -> Self {
        self.watch.push(text.into());
        self
    }
}

/// What the reader thread shares with the test.
struct Shared {
    parser: Mutex<vt100::Parser>,
    /// Every byte the child wrote, in order.
    raw: Mutex<Vec<u8>>,
    bytes: AtomicUsize,
    /// The reader saw end of file or an error: the child and everything holding the PTY are gone.
    eof: AtomicBool,
    /// For each watched text, when it first appeared on screen.
    seen: Mutex<Vec<(String, Option<Instant>)>>,
}

/// One run of the binary in a pseudo-terminal.
pub struct Pty {
    shared: Arc<Shared>,
    master: Box<dyn MasterPty + Send>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    child: Box<dyn Child + Send + Sync>,
    status: Option<ExitStatus>,
    spawned_at: Instant,
    data_dir: PathBuf,
    reader: Option<thread::JoinHandle<()>>,
}

impl Pty {
    /// Starts `bin` with no arguments in a `rows`×`cols` terminal.
    pub fn spawn(bin: &str, sandbox: &Sandbox, rows: u16, cols: u16) -> Pty {
        Self::spawn_with(bin, sandbox, Spawn::new(rows, cols))
    }

    pub fn spawn_with(bin: &str, sandbox: &Sandbox, options: Spawn) -> Pty {
        let size = PtySize { rows: options.rows, cols: options.cols, pixel_width: 0, pixel_height: 0 };
        let pair = native_pty_system().openpty(size).expect("open a pseudo-terminal");
        let mut cmd = CommandBuilder::new(bin);
        cmd.args(&options.args);
        cmd.env_clear();
        for (k, v) in sandbox.env().into_iter().chain(options.env.iter().cloned()) {
            cmd.env(k, v);
        }
        cmd.cwd(sandbox.root());

        let shared = Arc::new(Shared {
            parser: Mutex::new(vt100::Parser::new(options.rows, options.cols, 0)),
            raw: Mutex::new(Vec::new()),
            bytes: AtomicUsize::new(0),
            eof: AtomicBool::new(false),
            seen: Mutex::new(options.watch.iter().map(|w| (w.clone(), None)).collect()),
        });
        let mut reader = pair.master.try_clone_reader().expect("clone the PTY reader");
        let writer = Arc::new(Mutex::new(pair.master.take_writer().expect("take the PTY writer")));
        let spawned_at = Instant::now();
        let child = pair.slave.spawn_command(cmd).expect("spawn bianmin in the PTY");
        // Only the child may hold the slave side: then the reader sees end of file when it exits.
        drop(pair.slave);

        let thread_shared = Arc::clone(&shared);
        let answer = Arc::clone(&writer);
        let reader = thread::Builder::new()
            .name("pty-reader".into())
            .spawn(move || {
                let shared = thread_shared;
                let mut buf = [0u8; 16 * 1024];
                loop {
                    let n = match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let now = Instant::now();
                    let mut parser = lock(&shared.parser);
                    parser.process(&buf[..n]);
                    lock(&shared.raw).extend_from_slice(&buf[..n]);
                    // Answer cursor position queries (DSR) as a terminal would; crossterm asks
                    // with `ESC [ 6 n` and waits two seconds for the reply.
                    if contains(&buf[..n], b"\x1b[6n") {
                        let (row, col) = parser.screen().cursor_position();
                        let reply = format!("\x1b[{};{}R", row + 1, col + 1);
                        let mut w = lock(&answer);
                        let _ = w.write_all(reply.as_bytes()).and_then(|()| w.flush());
                    }
                    shared.bytes.fetch_add(n, Ordering::SeqCst);
                    let mut seen = lock(&shared.seen);
                    if seen.iter().any(|(_, at)| at.is_none()) {
                        let text = parser.screen().contents();
                        for (needle, at) in seen.iter_mut() {
                            if at.is_none() && text.contains(needle.as_str()) {
                                *at = Some(now);
                            }
                        }
                    }
                }
                shared.eof.store(true, Ordering::SeqCst);
            })
            .expect("start the PTY reader thread");

        Pty {
            shared,
            master: pair.master,
            writer,
            child,
            status: None,
            spawned_at,
            data_dir: sandbox.data_dir(),
            reader: Some(reader),
        }
    }

    /// The screen as text, rows separated by newlines, trailing blanks trimmed.
    pub fn screen_text(&self) -> String {
        lock(&self.shared.parser).screen().contents()
    }

    /// The parser, for `screen().alternate_screen()`, `hide_cursor()`, cells and colours.
    pub fn parser(&self) -> MutexGuard<'_, vt100::Parser> {
        lock(&self.shared.parser)
    }

    /// Whether the screen is the alternate screen (the app is drawing).
    pub fn alternate_screen(&self) -> bool {
        self.parser().screen().alternate_screen()
    }

    pub fn hide_cursor(&self) -> bool {
        self.parser().screen().hide_cursor()
    }

    /// How many bytes the child has written so far.
    pub fn bytes_written(&self) -> usize {
        self.shared.bytes.load(Ordering::SeqCst)
    }

    /// A copy of everything the child has written so far.
    pub fn raw_output(&self) -> Vec<u8> {
        lock(&self.shared.raw).clone()
    }

    /// Everything written so far, decoded lossily: escape sequences included, but also text
    /// printed after the screen was restored (the panic message, for example).
    pub fn output_lossy(&self) -> String {
        String::from_utf8_lossy(&lock(&self.shared.raw)).into_owned()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn spawned_at(&self) -> Instant {
        self.spawned_at
    }

    /// When a text given to [`Spawn::watch`] first appeared, measured from the spawn. `None`:
    /// not (yet) seen, or never watched.
    pub fn first_seen(&self, text: &str) -> Option<Duration> {
        lock(&self.shared.seen).iter().find(|(w, _)| w == text).and_then(|(_, at)| *at).map(|at| at - self.spawned_at)
    }

    pub fn process_id(&self) -> Option<u32> {
        self.child.process_id()
    }

    /// Polls the screen until `done` holds. The error shows the screen as it stood.
    pub fn wait_for(&self, done: impl Fn(&str) -> bool, timeout: Duration) -> Result<(), String> {
        self.wait_for_every(done, timeout, POLL)
    }

    /// [`Pty::wait_for`] with a chosen polling interval (finer for timing measurements).
    pub fn wait_for_every(&self, done: impl Fn(&str) -> bool, timeout: Duration, poll: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.screen_text();
            if done(&text) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let exited = if self.shared.eof.load(Ordering::SeqCst) {
                    " (the PTY is closed: the process has exited)"
                } else {
                    ""
                };
                return Err(format!(
                    "timed out after {timeout:?}{exited}; the screen:\n{}\n{}\n{}",
                    "─".repeat(40),
                    text,
                    "─".repeat(40)
                ));
            }
            thread::sleep(poll);
        }
    }

    /// [`Pty::wait_for`] that panics with `what` and the screen when it times out.
    pub fn expect(&self, what: &str, done: impl Fn(&str) -> bool, timeout: Duration) {
        if let Err(e) = self.wait_for(done, timeout) {
            panic!("waiting for {what}: {e}");
        }
    }

    /// Waits until the screen contains every one of `texts`.
    pub fn expect_all(&self, texts: &[&str], timeout: Duration) {
        let what = format!("{texts:?}");
        self.expect(&what, |s| texts.iter().all(|t| s.contains(t)), timeout);
    }

    /// Writes raw bytes to the terminal's input in one write.
    pub fn send(&mut self, bytes: &[u8]) {
        let mut writer = lock(&self.writer);
        writer.write_all(bytes).expect("write to the PTY");
        writer.flush().expect("flush the PTY");
    }

    /// Sends one key (a whole escape sequence in one write) and pauses, so that the next key is
    /// not read together with it.
    pub fn send_key(&mut self, key: &[u8]) {
        self.send(key);
        thread::sleep(KEY_GAP);
    }

    pub fn send_q(&mut self) {
        self.send_key(keys::Q);
    }

    pub fn send_tab(&mut self) {
        self.send_key(keys::TAB);
    }

    pub fn send_esc(&mut self) {
        self.send_key(keys::ESC);
    }

    pub fn send_ctrl_c(&mut self) {
        self.send_key(keys::CTRL_C);
    }

    /// F1 to F5.
    pub fn send_f(&mut self, n: u8) {
        let key = match n {
            1 => keys::F1,
            2 => keys::F2,
            3 => keys::F3,
            4 => keys::F4,
            5 => keys::F5,
            _ => panic!("no sequence for F{n}"),
        };
        self.send_key(key);
    }

    /// Resizes the terminal (the child gets SIGWINCH) and the screen model with it.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        self.parser().screen_mut().set_size(rows, cols);
        self.master.resize(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).expect("resize the PTY");
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        if self.status.is_some() {
            return false;
        }
        match self.child.try_wait() {
            Ok(Some(status)) => {
                self.status = Some(status);
                false
            }
            Ok(None) => true,
            Err(_) => false,
        }
    }

    /// Waits for the process to exit and for its last output to reach the screen. Kills it and
    /// panics (with the screen) if it does not exit in time.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = &self.status {
                break status.clone();
            }
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.status = Some(status.clone());
                    break status;
                }
                Ok(None) => {}
                Err(e) => panic!("waiting for the process: {e}"),
            }
            if Instant::now() >= deadline {
                let screen = self.screen_text();
                self.kill();
                panic!("the process did not exit within {timeout:?}; killed it. The screen:\n{screen}");
            }
            thread::sleep(POLL);
        };
        // The reader drains what the child wrote before it exited, then sees end of file.
        let drain_deadline = Instant::now() + Duration::from_secs(5);
        while !self.shared.eof.load(Ordering::SeqCst) && Instant::now() < drain_deadline {
            thread::sleep(Duration::from_millis(5));
        }
        if let Some(reader) = self.reader.take()
            && reader.is_finished()
        {
            let _ = reader.join();
        }
        status
    }

    /// Whether the terminal is back in cooked mode (ICANON and ECHO set), i.e. raw mode was
    /// switched off. Readable after the child exited: the settings stay with the PTY. Unix only
    /// (termios).
    #[cfg(unix)]
    pub fn cooked_mode(&self) -> Option<bool> {
        let termios = self.master.get_termios()?;
        // The flag names from the bitflags `Debug` output, e.g. `LocalFlags(ECHO | ICANON | ...)`.
        let flags = format!("{:?}", termios.local_flags);
        let names: Vec<&str> = flags.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        Some(names.contains(&"ICANON") && names.contains(&"ECHO"))
    }

    /// Peak resident set size (VmHWM) of the running process, in KiB. Linux only.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        proc_status_kib(self.process_id()?, "VmHWM:")
    }

    /// Current resident set size (VmRSS), in KiB. Linux only.
    pub fn rss_kib(&self) -> Option<u64> {
        proc_status_kib(self.process_id()?, "VmRSS:")
    }

    fn kill(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            if let Ok(status) = self.child.wait() {
                self.status = Some(status);
            }
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            self.kill();
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// A poisoned lock only means another assertion failed while holding it; the data is still good.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Which pane has the thick (focused) border: the title whose top-left corner is `┏`.
pub fn focused_pane(screen: &str) -> Option<&'static str> {
    const TITLES: [&str; 4] = ["F2 当前叫号", "F3 一次性告知", "F4 办事指南", "F5 AB岗交接"];
    let focused: Vec<&'static str> = TITLES.into_iter().filter(|t| screen.contains(&format!("┏ {t}"))).collect();
    match focused.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}
