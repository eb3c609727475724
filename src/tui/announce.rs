//! The display's voice: announcements played one after another through a command (espeak-ng in
//! Mandarin by default, where it is installed), so that two calls never talk over each other.
//! The display's loop only queues the text; a task of its own runs the command and waits for it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// The longest one announcement may take before it is stopped (a hung speech command must not
/// silence every later call).
const MAX_ANNOUNCEMENT: Duration = Duration::from_secs(30);
/// Announcements waiting beyond this many are dropped, oldest kept: a backlog this long means the
/// command is far too slow, and the screen shows the calls anyway.
const MAX_QUEUED: usize = 32;

/// How announcements are spoken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Voice {
    /// No voice: the screen only.
    Off,
    /// `program args...`; the text replaces an argument `{text}`, or goes on standard input.
    Command { program: PathBuf, args: Vec<String> },
}

/// The placeholder of the text in `announce_command`.
pub const TEXT_ARG: &str = "{text}";

impl Voice {
    /// The voice of the `hall.announce_command` setting. Empty: espeak-ng in Mandarin where it
    /// is on the PATH, else none.
    pub fn from_setting(setting: &str) -> Self {
        let setting = setting.trim();
        if setting.eq_ignore_ascii_case("off") || setting == "关闭" {
            return Self::Off;
        }
        if setting.is_empty() {
            return match find_on_path("espeak-ng") {
                Some(program) => Self::Command { program, args: vec!["-v".into(), "cmn".into(), TEXT_ARG.into()] },
                None => Self::Off,
            };
        }
        let mut words = crate::config::command_words(setting).into_iter();
        match words.next() {
            Some(program) => Self::Command { program: program.into(), args: words.collect() },
            None => Self::Off,
        }
    }

    /// The command's arguments for `text`, and whether the text goes on standard input instead.
    pub fn arguments(&self, text: &str) -> Option<(PathBuf, Vec<String>, bool)> {
        let Self::Command { program, args } = self else { return None };
        let as_arg = args.iter().any(|a| a == TEXT_ARG);
        let args = args.iter().map(|a| if a == TEXT_ARG { text.to_owned() } else { a.clone() }).collect();
        Some((program.clone(), args, !as_arg))
    }
}

/// `name` in one of the PATH's directories (`name.exe` on Windows).
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(&path).map(|dir| dir.join(&file)).find(|p| p.is_file())
}

/// Speaks one announcement and waits until it is done (or stopped after [`MAX_ANNOUNCEMENT`]).
pub async fn speak(voice: &Voice, text: &str) -> Result<(), String> {
    let Some((program, args, on_stdin)) = voice.arguments(text) else { return Ok(()) };
    let mut command = tokio::process::Command::new(&program);
    command
        .args(&args)
        .stdin(if on_stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| format!("无法运行播报命令 {}：{e}", program.display()))?;
    if on_stdin && let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(format!("{text}\n").as_bytes()).await;
        drop(stdin);
    }
    match tokio::time::timeout(MAX_ANNOUNCEMENT, child.wait()).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("播报命令 {} 失败（{status}）", program.display())),
        Ok(Err(e)) => Err(format!("播报命令 {} 出错：{e}", program.display())),
        Err(_) => {
            let _ = child.kill().await;
            Err(format!("播报命令 {} 超时，已停止", program.display()))
        }
    }
}

/// The queue of announcements: [`Announcer::say`] returns at once; one task speaks them in order.
#[derive(Clone)]
pub struct Announcer {
    tx: mpsc::Sender<String>,
}

impl Announcer {
    /// Starts the task. `done` hears each announcement once it was spoken (or failed), in order.
    pub fn spawn(voice: Voice, done: Option<mpsc::UnboundedSender<(String, Result<(), String>)>>) -> Self {
        let (tx, mut rx) = mpsc::channel::<String>(MAX_QUEUED);
        tokio::spawn(async move {
            while let Some(text) = rx.recv().await {
                let result = speak(&voice, &text).await;
                if let Err(e) = &result {
                    tracing::warn!(error = %e, "announcement not spoken");
                }
                if let Some(done) = &done {
                    let _ = done.send((text, result));
                }
            }
        });
        Self { tx }
    }

    /// Queues `text`; never waits. Dropped (and logged) when the queue is full.
    pub fn say(&self, text: String) {
        if self.tx.try_send(text).is_err() {
            tracing::warn!("announcement queue full; one announcement dropped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_names_the_command_and_where_the_text_goes() {
        assert_eq!(Voice::from_setting("off"), Voice::Off);
        let v = Voice::from_setting("say-it -r 2 {text}");
        let (program, args, on_stdin) = v.arguments("请 A003 号到 2 号窗口办理").unwrap();
        assert_eq!(program, PathBuf::from("say-it"));
        assert_eq!(args, ["-r", "2", "请 A003 号到 2 号窗口办理"]);
        assert!(!on_stdin);
        let (_, args, on_stdin) = Voice::from_setting("festival --tts").arguments("x").unwrap();
        assert_eq!((args, on_stdin), (vec!["--tts".to_owned()], true));
        match Voice::from_setting("") {
            Voice::Off => assert!(find_on_path("espeak-ng").is_none()),
            Voice::Command { program, args } => {
                assert!(program.ends_with("espeak-ng"));
                assert_eq!(args, ["-v", "cmn", TEXT_ARG]);
            }
        }
    }

    /// Duration in seconds of a PCM WAV file, from its header (byte rate) and data size.
    fn wav_seconds(bytes: &[u8]) -> f64 {
        assert!(bytes.len() > 44 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WAVE", "not a WAV file");
        let byte_rate = u32::from_le_bytes(bytes[28..32].try_into().unwrap());
        // Chunks after "fmt ": find "data".
        let mut at = 12;
        while at + 8 <= bytes.len() {
            let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
            if &bytes[at..at + 4] == b"data" {
                let size = size.min(bytes.len() - at - 8);
                return size as f64 / f64::from(byte_rate);
            }
            at += 8 + size;
        }
        panic!("no data chunk");
    }

    /// With espeak-ng installed (CI installs it), the default voice speaks Mandarin: the
    /// announcement goes through the same command path into a WAV file of a sensible length.
    #[tokio::test]
    async fn espeak_ng_speaks_an_announcement_of_sensible_length() {
        let Some(espeak) = find_on_path("espeak-ng") else {
            assert!(std::env::var_os("CI").is_none(), "CI installs espeak-ng (.ci/run)");
            eprintln!("espeak-ng is not installed here: skipped");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("call.wav");
        let setting = format!("{} -v cmn -w {} {TEXT_ARG}", espeak.display(), wav.display());
        let text = "请 A003 号到 2 号窗口办理";
        speak(&Voice::from_setting(&setting), text).await.unwrap();
        let seconds = wav_seconds(&std::fs::read(&wav).unwrap());
        assert!((1.5..15.0).contains(&seconds), "{seconds:.2} s for {text}");
        // A longer sentence takes longer: the text was spoken, not a fixed sound.
        let longer = dir.path().join("recall.wav");
        let setting = format!("{} -v cmn -w {} {TEXT_ARG}", espeak.display(), longer.display());
        speak(&Voice::from_setting(&setting), "再次呼叫，请绿色通道 A003 号到 2 号窗口办理").await.unwrap();
        assert!(wav_seconds(&std::fs::read(&longer).unwrap()) > seconds);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn announcements_are_spoken_one_after_another_never_over_each_other() {
        // A "voice" that notes when it starts and ends each text, and takes a while to speak.
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("spoken.log");
        let script = dir.path().join("voice.sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\nread t\necho \"start $t\" >> {0}\nsleep 0.2\necho \"end $t\" >> {0}\n", log.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
        let announcer = Announcer::spawn(Voice::from_setting(&script.display().to_string()), Some(done_tx));
        for text in ["一", "二", "三"] {
            announcer.say(text.into());
        }
        for _ in 0..3 {
            let (_, result) = tokio::time::timeout(Duration::from_secs(60), done_rx.recv()).await.unwrap().unwrap();
            assert_eq!(result, Ok(()));
        }
        let spoken = std::fs::read_to_string(&log).unwrap();
        assert_eq!(spoken, "start 一\nend 一\nstart 二\nend 二\nstart 三\nend 三\n");
    }
}
