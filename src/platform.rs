//! What differs between operating systems and is not configuration: the Windows console's stop
//! events, which both `bianmin serve` and the clerk terminal listen for, and Windows' refusal to
//! remove or rename a file that is still open.

/// Runs `op` (a remove or rename of a database file) and, on Windows, runs it again for up to
/// five seconds while the file is still in use. Windows refuses both while another handle holds
/// the file without sharing delete, as SQLite's own handles do, and the SQLite driver may close a
/// pool's last connection on its worker thread a moment after the pool's `close()` returned:
/// Wine showed `Sharing violation. (os error 32)` removing a refused import's scratch database
/// in 2 runs of 6. Antivirus and search indexers hold new files briefly the same way. Elsewhere
/// `op` runs once (Unix removes and renames open files).
pub fn when_released<T>(mut op: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    #[cfg(windows)]
    {
        use windows_sys::Win32::Foundation::{ERROR_ACCESS_DENIED, ERROR_LOCK_VIOLATION, ERROR_SHARING_VIOLATION};
        let in_use = |e: &std::io::Error| {
            e.raw_os_error().is_some_and(|code| {
                [ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION].contains(&(code as u32))
            })
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            match op() {
                Err(e) if in_use(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                done => return done,
            }
        }
    }
    #[cfg(not(windows))]
    op()
}

/// The Windows console's stop events: Ctrl-C, Ctrl-Break, the console window closing, log-off
/// and shut-down. Windows gives a process about five seconds after the console closes (a little
/// longer at log-off and shut-down) before it ends it: enough to finish the requests in flight
/// and close the database.
#[cfg(windows)]
pub struct ConsoleStop {
    ctrl_c: tokio::signal::windows::CtrlC,
    ctrl_break: tokio::signal::windows::CtrlBreak,
    close: tokio::signal::windows::CtrlClose,
    logoff: tokio::signal::windows::CtrlLogoff,
    shutdown: tokio::signal::windows::CtrlShutdown,
}

#[cfg(windows)]
impl ConsoleStop {
    /// Registers for all of them at once (before anything that should be stopped gracefully).
    pub fn listen() -> std::io::Result<Self> {
        use tokio::signal::windows;
        Ok(Self {
            ctrl_c: windows::ctrl_c()?,
            ctrl_break: windows::ctrl_break()?,
            close: windows::ctrl_close()?,
            logoff: windows::ctrl_logoff()?,
            shutdown: windows::ctrl_shutdown()?,
        })
    }

    /// Until the first of them arrives.
    pub async fn wait(mut self) {
        let event = tokio::select! {
            _ = self.ctrl_c.recv() => "Ctrl-C",
            _ = self.ctrl_break.recv() => "Ctrl-Break",
            _ = self.close.recv() => "console closed",
            _ = self.logoff.recv() => "log-off",
            _ = self.shutdown.recv() => "shut-down",
        };
        tracing::info!(event, "stop requested by the console");
    }
}

#[cfg(all(test, windows))]
mod tests {
    /// A file held open the way SQLite holds its database (no delete sharing) for a moment: the
    /// remove and the rename wait for it instead of failing with a sharing violation.
    #[test]
    fn a_file_still_open_for_a_moment_is_removed_and_renamed_once_released() {
        use std::os::windows::fs::OpenOptionsExt;
        use windows_sys::Win32::Storage::FileSystem::{FILE_SHARE_READ, FILE_SHARE_WRITE};
        let dir = tempfile::tempdir().unwrap();
        for rename in [false, true] {
            let path = dir.path().join("scratch.db");
            std::fs::write(&path, "x").unwrap();
            let held = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE)
                .open(&path)
                .unwrap();
            let target = dir.path().join("target.db");
            let in_use = if rename { std::fs::rename(&path, &target) } else { std::fs::remove_file(&path) };
            assert!(in_use.is_err(), "Windows refuses while the file is open (rename: {rename})");
            let holder = std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(300));
                drop(held);
            });
            if rename {
                super::when_released(|| std::fs::rename(&path, &target)).unwrap();
                assert!(target.exists() && !path.exists());
                std::fs::remove_file(&target).unwrap();
            } else {
                super::when_released(|| std::fs::remove_file(&path)).unwrap();
                assert!(!path.exists());
            }
            holder.join().unwrap();
        }
    }
}
