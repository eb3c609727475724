//! Integration tests: api. One test binary for the group, so the whole dependency graph is
//! linked once per group rather than once per file.

// First: its `on_both_servers!` is used by the modules below.
#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod access;
mod accounts;
mod appointments;
mod board;
mod case_end;
mod cases;
mod catalogue_pages;
mod cli_guides;
mod county_admin;
mod durable;
mod envelope;
mod export;
mod faults;
mod fuzz_api;
mod hall;
mod handover;
mod import_guides;
mod layering;
mod lexicon_sync;
mod migrate;
mod month;
mod on_postgres;
mod online;
mod overlays;
mod privacy;
mod processes;
mod queue;
mod queue_memory;
mod rating_upload;
mod report;
mod search_eval;
mod server_api;
mod store_contract;
mod sync;
mod tenants;
mod two_centers;
