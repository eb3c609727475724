//! What the `bianmin` binary's scriptable subcommands do, as functions that write to any
//! `io::Write`, so they are tested without spawning the binary.

pub mod guides;
pub mod import;
pub mod knowledge;
