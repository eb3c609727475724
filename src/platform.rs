//! What differs between operating systems and is not configuration: for now the Windows
//! console's stop events, which both `bianmin serve` and the clerk terminal listen for.

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
