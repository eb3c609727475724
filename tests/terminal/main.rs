//! Integration tests: terminal. One test binary for the group, so the whole dependency graph is
//! linked once per group rather than once per file.

mod board_month;
mod board_render;
#[path = "../common/mod.rs"]
mod common;
mod hall_render;
mod pty;
mod pty_appointment;
mod pty_board;
mod pty_case;
mod pty_day;
mod pty_desk;
mod pty_faults;
mod pty_hall;
mod pty_handover;
mod pty_offline;
mod pty_queue;
mod pty_saved;
mod pty_sign_in;
mod tui_render;
