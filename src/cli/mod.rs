//! The `bianmin` binary's command line ([`args`]) and what its subcommands do ([`commands`]);
//! the look-ups and the catalogue checks are functions that write to any `io::Write`, so they
//! are tested without spawning the binary.

pub mod args;
pub mod commands;
pub mod guides;
pub mod import;
pub mod knowledge;
