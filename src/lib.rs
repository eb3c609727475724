//! bianmin (便民): the front-desk terminal of a township convenient service center and the server
//! it syncs with.
//!
//! Dependencies point one way: `domain` (pure rules) ← `api` (wire types) ← `server` and `client`
//! ← `tui`. `config`, `logging` and `platform` are shared plumbing. `search` (the service-guide index) depends
//! only on `domain`; `cli` (the scriptable subcommands) on `domain`, `search`, and for imports the server's store.

pub mod api;
pub mod assets;
pub mod cli;
pub mod client;
pub mod config;
pub mod documents;
pub mod domain;
pub mod logging;
pub mod platform;
pub mod search;
pub mod server;
pub mod tui;
