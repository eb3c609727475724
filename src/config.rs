//! Settings: built-in defaults, then the TOML file, then `BIANMIN_*` environment variables.
//!
//! An environment variable names a key as `BIANMIN_<SECTION>_<KEY>` (e.g.
//! `BIANMIN_NETWORK_CONNECT_TIMEOUT_MS=2000`) or `BIANMIN_<KEY>` for top-level keys
//! (`BIANMIN_DATA_DIR`). Unknown keys are an error, so a typo does not silently do nothing.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[cfg(windows)]
pub mod owner_only;

/// `config.example.toml`, compiled in so that its test runs against what ships.
pub const EXAMPLE: &str = include_str!("../config.example.toml");

const SECTIONS: &[&str] = &["terminal", "network", "server", "log", "keys", "hall"];
/// Variables that are not settings keys: the config path itself, remote sign-in for scripts
/// (never a settings key: a password does not belong in a config file), and test hooks.
const NOT_SETTINGS: &[&str] = &[
    "BIANMIN_CONFIG",
    "BIANMIN_STAFF_ID",
    "BIANMIN_PASSWORD",
    "BIANMIN_NEW_PASSWORD",
    "BIANMIN_DEVICE_TOKEN",
    "BIANMIN_TEST_PANIC_IN_TASK",
    // The test suite's PostgreSQL server (tests/common/postgres.rs), exported by `.ci/run` for the
    // whole test run, so every `bianmin` a test starts sees them too.
    "BIANMIN_TEST_POSTGRES_URL",
    "BIANMIN_REQUIRE_POSTGRES",
];

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the local database, logs and notices live. Empty: the platform's data directory.
    pub data_dir: String,
    pub terminal: TerminalSettings,
    pub network: NetworkSettings,
    pub server: ServerSettings,
    pub log: LogSettings,
    pub keys: KeySettings,
    pub hall: HallSettings,
    pub center: CenterSettings,
}

/// The center's own rules that the server applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CenterSettings {
    /// Opening hours on working days (China time), `08:30-12:00,14:00-17:30`: a window without
    /// its clerk inside them is 空岗 on the board, and the report counts hours on post in them.
    pub opening_hours: String,
}

impl Default for CenterSettings {
    fn default() -> Self {
        Self { opening_hours: "08:30-12:00,14:00-17:30".into() }
    }
}

impl CenterSettings {
    /// The opening hours, parsed by the domain's one rule.
    pub fn opening_hours(&self) -> Result<crate::domain::attendance::OpeningHours, ConfigError> {
        crate::domain::attendance::OpeningHours::parse(&self.opening_hours)
            .map_err(|e| ConfigError::Invalid { key: "center.opening_hours", message: e.message })
    }
}

/// The hall's devices: the calling display's voice.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HallSettings {
    /// Command that speaks an announcement. The text is given on its standard input, or in place
    /// of an argument `{text}`. Empty: `espeak-ng -v cmn {text}` where espeak-ng is installed,
    /// otherwise no voice. `off`: no voice.
    pub announce_command: String,
}

/// Keys of the window's queue operations. Each is "F1".."F12" or one character. Function keys
/// work from every pane; characters only in 当前叫号.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeySettings {
    /// 叫下一号.
    pub call_next: String,
    /// 重呼.
    pub recall: String,
    /// 开始办理, then 办结.
    pub serve: String,
    /// 过号 (asks for confirmation).
    pub no_show: String,
    /// 转移, keeping the number.
    pub transfer: String,
    /// 挂起.
    pub park: String,
    /// 回呼 (the ticket parked longest ago).
    pub call_back: String,
    /// 过号回队.
    pub return_to_line: String,
    /// 呼叫指定号.
    pub call_number: String,
    /// 暂停 / 恢复.
    pub pause: String,
    /// 直接办理 (no ticket).
    pub walk_in: String,
    /// 预约签到.
    pub check_in: String,
    /// 好差评.
    pub rating: String,
}

impl Default for KeySettings {
    fn default() -> Self {
        let key = |k: &str| k.to_owned();
        Self {
            call_next: key("F6"),
            recall: key("F7"),
            serve: key("F8"),
            no_show: key("F9"),
            transfer: key("t"),
            park: key("k"),
            call_back: key("b"),
            return_to_line: key("u"),
            call_number: key("c"),
            pause: key("z"),
            walk_in: key("j"),
            check_in: key("i"),
            rating: key("v"),
        }
    }
}

/// A key named in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyName {
    F(u8),
    Char(char),
}

impl KeyName {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Some(n) = text.strip_prefix(['F', 'f']).and_then(|n| n.parse::<u8>().ok()) {
            return (1..=12).contains(&n).then_some(Self::F(n));
        }
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_control() => Some(Self::Char(c)),
            _ => None,
        }
    }

    pub fn label(self) -> String {
        match self {
            Self::F(n) => format!("F{n}"),
            Self::Char(c) => c.to_string(),
        }
    }
}

/// The queue operations that have a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueKey {
    CallNext,
    Recall,
    Serve,
    NoShow,
    Transfer,
    Park,
    CallBack,
    ReturnToLine,
    CallNumber,
    Pause,
    WalkIn,
    CheckIn,
    Rating,
}

/// The checked keys of the queue operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueKeys(pub Vec<(QueueKey, KeyName)>);

impl QueueKeys {
    pub fn key(&self, which: QueueKey) -> KeyName {
        self.0.iter().find(|(k, _)| *k == which).map_or(KeyName::F(1), |(_, name)| *name)
    }
}

/// Keys the terminal keeps for itself: help, the panes, quit, the visit form (来访登记).
const RESERVED: &[KeyName] = &[
    KeyName::F(1),
    KeyName::F(2),
    KeyName::F(3),
    KeyName::F(4),
    KeyName::F(5),
    KeyName::Char('q'),
    KeyName::Char('w'),
    KeyName::Char('?'),
];

impl KeySettings {
    /// Every key checked: each must parse, and none may be taken twice or clash with the keys
    /// the terminal reserves (F1 help, F2-F5 panes, q, w, ?).
    pub fn resolve(&self) -> Result<QueueKeys, ConfigError> {
        use QueueKey::*;
        let named = [
            ("call_next", &self.call_next, CallNext),
            ("recall", &self.recall, Recall),
            ("serve", &self.serve, Serve),
            ("no_show", &self.no_show, NoShow),
            ("transfer", &self.transfer, Transfer),
            ("park", &self.park, Park),
            ("call_back", &self.call_back, CallBack),
            ("return_to_line", &self.return_to_line, ReturnToLine),
            ("call_number", &self.call_number, CallNumber),
            ("pause", &self.pause, Pause),
            ("walk_in", &self.walk_in, WalkIn),
            ("check_in", &self.check_in, CheckIn),
            ("rating", &self.rating, Rating),
        ];
        let mut out: Vec<(QueueKey, KeyName)> = Vec::new();
        for (name, value, which) in named {
            let key = KeyName::parse(value).ok_or_else(|| ConfigError::Env {
                name: format!("keys.{name}"),
                message: format!("按键“{value}”无法识别，应为 F1 至 F12 或一个字符"),
            })?;
            if RESERVED.contains(&key) || out.iter().any(|(_, k)| *k == key) {
                return Err(ConfigError::Env {
                    name: format!("keys.{name}"),
                    message: format!("按键 {} 已有其他用途", key.label()),
                });
            }
            out.push((which, key));
        }
        Ok(QueueKeys(out))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TerminalSettings {
    /// URL of the bianmin server. Empty: standalone, with the server embedded on loopback.
    pub server: String,
    /// Staff id to sign in as when standalone. Empty: the sample data's demo clerk (or, with
    /// `desk`, its guidance-desk staff).
    pub standalone_staff_id: String,
    /// The window this PC sits at (a PC serves one window). A clerk holding a post there works
    /// in it; 0: not set (a clerk with posts at several windows is asked at sign-in).
    pub window: u32,
    /// Show the guidance desk's search-first screen. Staff with the 咨询导办 role get it anyway.
    pub desk: bool,
    /// Show the director's board (`bianmin board`), not a setting of the file: 中心负责人
    /// accounts get it anyway.
    #[serde(skip)]
    pub board: bool,
    /// Command that prints a saved notice or receipt; the A4 HTML file's path is appended as
    /// the last argument (e.g. "lp -d counter"), or the 80-column text file's with
    /// `print_text`. Empty: save only.
    pub print_command: String,
    /// Send the 80-column text file to `print_command` instead of the A4 HTML page (a receipt
    /// printer that takes plain text).
    pub print_text: bool,
    /// Days after which a closed case's applicant data is removed from the local cache.
    pub purge_closed_after_days: u32,
}

impl Default for TerminalSettings {
    fn default() -> Self {
        Self {
            server: String::new(),
            standalone_staff_id: String::new(),
            window: 0,
            desk: false,
            board: false,
            print_command: String::new(),
            print_text: false,
            purge_closed_after_days: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkSettings {
    /// How long to wait for a TCP/TLS connection to the server.
    pub connect_timeout_ms: u64,
    /// How long one request may take in all.
    pub request_timeout_ms: u64,
    /// How often the terminal refreshes what it shows from the server.
    pub refresh_interval_s: u64,
    /// Allow plain `http://` to a server that is not on this machine (loopback always is).
    pub allow_insecure_http: bool,
    /// PEM file of the certificate authority that signed the server's certificate (a center's
    /// own CA). Empty: the system's trusted roots.
    pub ca_cert: String,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        Self {
            connect_timeout_ms: 3_000,
            request_timeout_ms: 10_000,
            refresh_interval_s: 30,
            allow_insecure_http: false,
            ca_cert: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address `bianmin serve` listens on.
    pub listen: String,
    /// `sqlite://PATH`. Empty: `bianmin-server.db` in the data directory.
    pub database: String,
    pub session_ttl_hours: u32,
    pub max_body_bytes: usize,
    /// PEM certificate chain and private key: with both, `bianmin serve` speaks HTTPS.
    pub tls_cert: String,
    pub tls_key: String,
    /// Behind a reverse proxy: take the client address from `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// The server's address as phones on the hall's Wi-Fi reach it (`http://192.168.1.10:8734`):
    /// the kiosk prints a QR code of each ticket's status page under it. Empty: no QR code.
    pub public_url: String,
    /// Working days a bad rating's follow-up (差评整改) may stay open before it is late.
    pub follow_up_due_working_days: u32,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8734".into(),
            database: String::new(),
            session_ttl_hours: 12,
            max_body_bytes: 256 * 1024,
            tls_cert: String::new(),
            tls_key: String::new(),
            trust_forwarded_for: false,
            public_url: String::new(),
            follow_up_due_working_days: crate::domain::follow_up::DEFAULT_DUE_WORKING_DAYS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// error, warn, info, debug or trace.
    pub level: String,
    /// Daily log files kept.
    pub keep_days: usize,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { level: "info".into(), keep_days: 14 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("无法读取配置文件 {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("配置文件 {path} 有误: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("环境变量 {name} 有误: {message}")]
    Env { name: String, message: String },
    #[error("找不到用户数据目录，请在配置文件中设置 data_dir")]
    NoDataDir,
    #[error("配置项 {key} 有误：{message}")]
    Invalid { key: &'static str, message: String },
    #[error("配置项 {key} 的值 {value} 超出范围，应在 {min} 至 {max} 之间")]
    OutOfRange { key: &'static str, value: u64, min: u64, max: u64 },
}

impl Settings {
    /// Loads settings. `path`: an explicit `--config`, which must exist; otherwise the default
    /// path, which may be absent.
    pub fn load(path: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let (path, required) = match path {
            Some(p) => (Some(p.to_path_buf()), true),
            None => (default_config_path(), false),
        };
        let mut table = toml::Table::new();
        let mut file_read = false;
        if let Some(path) = &path {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    file_read = true;
                    table = text
                        .parse::<toml::Table>()
                        .map_err(|e| ConfigError::Parse { path: path.clone(), message: e.to_string() })?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {}
                Err(source) => return Err(ConfigError::Read { path: path.clone(), source }),
            }
        }
        for (name, value) in env {
            apply_env(&mut table, &name, &value)?;
        }
        let settings = Settings::deserialize(table).map_err(|e| match path {
            // Only blame a file that was read: without one, the values came from the environment.
            Some(path) if file_read => ConfigError::Parse { path, message: e.to_string() },
            _ => ConfigError::Env { name: "BIANMIN_*".into(), message: e.to_string() },
        })?;
        settings.check_ranges()?;
        Ok(settings)
    }

    pub fn parse_str(text: &str) -> Result<Self, ConfigError> {
        let settings: Self = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: PathBuf::from("<text>"), message: e.to_string() })?;
        settings.check_ranges()?;
        Ok(settings)
    }

    /// Refuses a numeric setting outside its range, naming the key: a value outside makes no
    /// sense (a body limit of 0 refuses every request, a refresh every 0 s spins).
    pub fn check_ranges(&self) -> Result<(), ConfigError> {
        let ranges: [(&'static str, u64, u64, u64); 8] = [
            ("terminal.purge_closed_after_days", u64::from(self.terminal.purge_closed_after_days), 1, 3650),
            ("network.connect_timeout_ms", self.network.connect_timeout_ms, 100, 120_000),
            ("network.request_timeout_ms", self.network.request_timeout_ms, 100, 600_000),
            ("network.refresh_interval_s", self.network.refresh_interval_s, 1, 3600),
            ("server.session_ttl_hours", u64::from(self.server.session_ttl_hours), 1, 24 * 30),
            ("server.max_body_bytes", self.server.max_body_bytes as u64, 1024, 64 * 1024 * 1024),
            ("server.follow_up_due_working_days", u64::from(self.server.follow_up_due_working_days), 1, 60),
            ("log.keep_days", self.log.keep_days as u64, 1, 3650),
        ];
        for (key, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(ConfigError::OutOfRange { key, value, min, max });
            }
        }
        for (key, setting) in [
            ("terminal.print_command", &self.terminal.print_command),
            ("hall.announce_command", &self.hall.announce_command),
        ] {
            check_command(setting).map_err(|message| ConfigError::Invalid { key, message })?;
        }
        self.center.opening_hours().map(drop)
    }

    pub fn data_dir(&self) -> Result<PathBuf, ConfigError> {
        if !self.data_dir.is_empty() {
            return Ok(PathBuf::from(&self.data_dir));
        }
        project_dirs().map(|d| d.data_dir().to_path_buf()).ok_or(ConfigError::NoDataDir)
    }

    /// The server database URL: the configured one, or SQLite in the data directory.
    pub fn server_database_url(&self) -> Result<String, ConfigError> {
        if !self.server.database.is_empty() {
            return Ok(self.server.database.clone());
        }
        Ok(sqlite_url(&self.data_dir()?.join("bianmin-server.db")))
    }

    pub fn is_standalone(&self) -> bool {
        self.terminal.server.trim().is_empty()
    }
}

pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("cn", "bianmin", "bianmin")
}

pub fn default_config_path() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("config.toml"))
}

fn apply_env(table: &mut toml::Table, name: &str, value: &str) -> Result<(), ConfigError> {
    let Some(rest) = name.strip_prefix("BIANMIN_") else { return Ok(()) };
    if NOT_SETTINGS.contains(&name) {
        return Ok(());
    }
    let rest = rest.to_ascii_lowercase();
    let section = SECTIONS.iter().find(|s| rest.strip_prefix(*s).is_some_and(|k| k.starts_with('_')));
    let (section, key) = match section {
        Some(section) => (Some(*section), &rest[section.len() + 1..]),
        None => (None, rest.as_str()),
    };
    let Some(default) = default_value(section, key) else {
        return Err(ConfigError::Env { name: name.into(), message: "没有这个配置项".into() });
    };
    let parsed = typed_like(default, value).map_err(|expected| ConfigError::Env {
        name: name.into(),
        message: format!("应为{expected}，实为 {value:?}"),
    })?;
    match section {
        Some(section) => {
            let entry = table.entry(section.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(inner) = entry else {
                return Err(ConfigError::Env {
                    name: name.into(),
                    message: format!("配置中的 {section} 不是一个段落"),
                });
            };
            inner.insert(key.to_owned(), parsed);
        }
        None => {
            table.insert(key.to_owned(), parsed);
        }
    }
    Ok(())
}

/// The built-in default of a key, which says what type an environment value must have.
fn default_value(section: Option<&str>, key: &str) -> Option<toml::Value> {
    let defaults = toml::Table::try_from(Settings::default()).ok()?;
    let value = match section {
        Some(section) => defaults.get(section)?.as_table()?.get(key)?,
        None => defaults.get(key).filter(|v| !v.is_table())?,
    };
    Some(value.clone())
}

/// An environment value read as the type of the key's default: a numeric staff ID stays a
/// string where the key is a string, and a word where a number belongs is refused with the
/// type named. The error names what was expected, in Chinese.
fn typed_like(default: toml::Value, value: &str) -> Result<toml::Value, &'static str> {
    match default {
        toml::Value::Integer(_) => value.trim().parse::<i64>().map(toml::Value::Integer).map_err(|_| "整数"),
        toml::Value::Boolean(_) => match value.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Ok(toml::Value::Boolean(false)),
            _ => Err("true 或 false"),
        },
        toml::Value::Float(_) => value.trim().parse::<f64>().map(toml::Value::Float).map_err(|_| "数字"),
        _ => Ok(toml::Value::String(value.to_owned())),
    }
}

/// The words of a command setting (`terminal.print_command`, `hall.announce_command`): separated
/// by spaces, a part in double quotes kept as one word with its spaces, the quotes dropped, and
/// nothing else special. That is the part of Windows' own rule that matters here: a program under
/// `C:\Program Files` is written `"C:\Program Files\...\print.exe" /p`. Backslashes are kept as
/// they are (not `shlex`/`shell-words`, whose POSIX escapes turn `C:\tools\print.exe` into
/// `C:toolsprint.exe`).
pub fn command_words(setting: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quoted = false;
    for c in setting.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                word.get_or_insert_with(String::new);
            }
            c if c.is_whitespace() && !quoted => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// Refuses a command setting that [`command_words`] would not read as written: a double quote
/// without its closing one would run to the end of the line, taking the arguments after it
/// into the program's name.
pub fn check_command(setting: &str) -> Result<(), String> {
    if setting.chars().filter(|c| *c == '"').count() % 2 == 1 {
        return Err(format!("双引号不成对：{setting}（用双引号括起含空格的路径时，两端都要有双引号）"));
    }
    Ok(())
}

/// The data directory holds applicants' ID numbers (the databases with their WAL and shared-memory
/// files, damaged copies, documents, logs): from here on everything this process creates is
/// owner-only (umask 077), and what is already there is made so (directories 0700, files 0600),
/// whatever the umask the program was started with. On Windows the same through the ACL (see
/// [`owner_only`]): the directory and what is in it get the current user's entry alone, and what
/// is created in it later inherits that.
pub fn make_private(dir: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
        std::fs::create_dir_all(dir)?;
        fn walk(path: &std::path::Path) -> std::io::Result<()> {
            let meta = std::fs::symlink_metadata(path)?;
            if meta.file_type().is_symlink() {
                return Ok(());
            }
            let mode = if meta.is_dir() { 0o700 } else { 0o600 };
            if meta.permissions().mode() & 0o777 != mode {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
            }
            if meta.is_dir() {
                for entry in std::fs::read_dir(path)? {
                    walk(&entry?.path())?;
                }
            }
            Ok(())
        }
        walk(dir)?;
    }
    #[cfg(windows)]
    {
        std::fs::create_dir_all(dir)?;
        // The directory itself always: its entry is the one new files inherit.
        owner_only::restrict(dir)?;
        fn walk(path: &std::path::Path) -> std::io::Result<()> {
            let meta = std::fs::symlink_metadata(path)?;
            if meta.file_type().is_symlink() {
                return Ok(());
            }
            if !owner_only::is_owner_only(path)? {
                owner_only::restrict(path)?;
            }
            if meta.is_dir() {
                for entry in std::fs::read_dir(path)? {
                    walk(&entry?.path())?;
                }
            }
            Ok(())
        }
        walk(dir)?;
    }
    #[cfg(not(any(unix, windows)))]
    std::fs::create_dir_all(dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn command_words_keep_a_quoted_windows_path_whole_and_its_backslashes() {
        assert_eq!(command_words("lp -d window1"), ["lp", "-d", "window1"]);
        assert_eq!(
            command_words(r#""C:\Program Files\SumatraPDF\SumatraPDF.exe" -print-to-default  -silent"#),
            [r"C:\Program Files\SumatraPDF\SumatraPDF.exe", "-print-to-default", "-silent"]
        );
        assert_eq!(command_words(r"C:\tools\print.exe \\server\counter"), [r"C:\tools\print.exe", r"\\server\counter"]);
        assert_eq!(command_words(r#"say -v "Ting-Ting" {text}"#), ["say", "-v", "Ting-Ting", "{text}"]);
        assert_eq!(command_words(r#"prog "" x"#), ["prog", "", "x"], "an empty quoted word is a word");
        assert_eq!(command_words("   "), Vec::<String>::new());
    }

    #[test]
    fn a_command_with_an_unbalanced_quote_is_refused_at_load() {
        let e = Settings::parse_str("[terminal]\nprint_command = '\"C:\\Program Files\\print.exe /p'\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "配置项 terminal.print_command 有误：双引号不成对：\"C:\\Program Files\\print.exe /p（用双引号括起含空格的路径时，两端都要有双引号）"
        );
        let e = Settings::load(None::<&Path>, [("BIANMIN_HALL_ANNOUNCE_COMMAND".to_owned(), r#"say "hi"#.to_owned())])
            .unwrap_err();
        assert!(e.to_string().contains("hall.announce_command"), "{e}");
        assert!(Settings::parse_str("[terminal]\nprint_command = '\"C:\\P F\\p.exe\" /p'\n").is_ok());
    }

    #[test]
    fn values_out_of_range_are_refused_with_the_key_named() {
        let e = Settings::parse_str("[server]\nmax_body_bytes = 0\n").unwrap_err();
        assert_eq!(e.to_string(), "配置项 server.max_body_bytes 的值 0 超出范围，应在 1024 至 67108864 之间");
        let e = Settings::load(None::<&Path>, [("BIANMIN_NETWORK_REFRESH_INTERVAL_S".to_owned(), "0".to_owned())])
            .unwrap_err();
        assert!(e.to_string().contains("network.refresh_interval_s"), "{e}");
        let e = Settings::parse_str("[server]\nsession_ttl_hours = 100000\n").unwrap_err();
        assert!(e.to_string().contains("server.session_ttl_hours"), "{e}");
        assert!(Settings::parse_str("[server]\nmax_body_bytes = 1024\n").is_ok(), "the bounds are allowed");
    }

    #[test]
    fn example_config_parses_and_equals_the_defaults() {
        assert_eq!(Settings::parse_str(EXAMPLE).unwrap(), Settings::default());
    }

    #[test]
    fn file_then_environment_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "data_dir = \"/srv/bm\"\n[network]\nconnect_timeout_ms = 1500\n").unwrap();
        let s = Settings::load(
            Some(&path),
            env(&[
                ("BIANMIN_NETWORK_REQUEST_TIMEOUT_MS", "4000"),
                ("BIANMIN_TERMINAL_SERVER", "https://bm.example"),
                ("BIANMIN_CONFIG", "ignored"),
                ("BIANMIN_PASSWORD", "not a setting"),
                ("BIANMIN_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:55433/postgres"),
                ("BIANMIN_REQUIRE_POSTGRES", "1"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(s.data_dir, "/srv/bm");
        assert_eq!(s.network.connect_timeout_ms, 1500);
        assert_eq!(s.network.request_timeout_ms, 4000);
        assert_eq!(s.terminal.server, "https://bm.example");
        assert!(!s.is_standalone());
        assert_eq!(s.server.session_ttl_hours, 12, "untouched keys keep their default");
    }

    #[test]
    fn environment_beats_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[log]\nlevel = \"warn\"\n").unwrap();
        let s = Settings::load(Some(&path), env(&[("BIANMIN_LOG_LEVEL", "debug")])).unwrap();
        assert_eq!(s.log.level, "debug");
    }

    #[test]
    fn queue_keys_are_checked() {
        let keys = KeySettings::default().resolve().unwrap();
        assert_eq!(keys.key(QueueKey::CallNext), KeyName::F(6));
        assert_eq!(keys.key(QueueKey::Rating), KeyName::Char('v'));
        let mine = KeySettings { call_next: "n".into(), ..KeySettings::default() };
        assert_eq!(mine.resolve().unwrap().key(QueueKey::CallNext), KeyName::Char('n'));
        for bad in ["F2", "F13", "Ctrl+N", "", "F7", "q", "t"] {
            let keys = KeySettings { call_next: bad.into(), ..KeySettings::default() };
            assert!(keys.resolve().is_err(), "{bad}");
        }
    }

    #[test]
    fn mistakes_are_reported_in_chinese() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        let e = Settings::load(Some(&missing), env(&[])).unwrap_err();
        assert!(e.to_string().contains("无法读取配置文件"), "{e}");
        let typo = dir.path().join("typo.toml");
        std::fs::write(&typo, "[network]\nconect_timeout_ms = 1\n").unwrap();
        let e = Settings::load(Some(&typo), env(&[])).unwrap_err();
        assert!(e.to_string().contains("conect_timeout_ms"), "{e}");
        let e = Settings::load(None, env(&[("BIANMIN_NETWORK_CONNECT_TIMEOUT_MS", "soon")])).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("BIANMIN_NETWORK_CONNECT_TIMEOUT_MS") && text.contains("整数"), "{text}");
        let e = Settings::load(None, env(&[("BIANMIN_NETWORK_CONECT_TIMEOUT_MS", "1")])).unwrap_err();
        assert!(e.to_string().contains("BIANMIN_NETWORK_CONECT_TIMEOUT_MS"), "{e}");
    }

    #[test]
    fn environment_values_take_the_type_of_the_key() {
        // Numeric staff IDs are common: a string key keeps them as text.
        let s = Settings::load(None, env(&[("BIANMIN_TERMINAL_STANDALONE_STAFF_ID", "1001")])).unwrap();
        assert_eq!(s.terminal.standalone_staff_id, "1001");
        let s = Settings::load(None, env(&[("BIANMIN_DATA_DIR", "2024")])).unwrap();
        assert_eq!(s.data_dir, "2024");
        let s = Settings::load(None, env(&[("BIANMIN_NETWORK_CONNECT_TIMEOUT_MS", " 2500 ")])).unwrap();
        assert_eq!(s.network.connect_timeout_ms, 2500);
    }
}
