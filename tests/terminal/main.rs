//! Integration tests: terminal. One test binary for the group, so the whole dependency graph is
//! linked once per group rather than once per file. The pseudo-terminal tests (`pty*`) drive the
//! real binary through a Unix PTY and are Unix only; the render snapshots run everywhere.

mod board_month;
mod board_render;
#[path = "../common/mod.rs"]
mod common;
mod hall_render;
#[cfg(unix)]
mod pty;
#[cfg(unix)]
mod pty_appointment;
#[cfg(unix)]
mod pty_board;
#[cfg(unix)]
mod pty_case;
#[cfg(unix)]
mod pty_day;
#[cfg(unix)]
mod pty_desk;
#[cfg(unix)]
mod pty_faults;
#[cfg(unix)]
mod pty_hall;
#[cfg(unix)]
mod pty_handover;
#[cfg(unix)]
mod pty_offline;
#[cfg(unix)]
mod pty_queue;
#[cfg(unix)]
mod pty_saved;
#[cfg(unix)]
mod pty_sign_in;
mod tui_render;
