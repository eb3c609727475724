//! Helpers shared by the integration tests. Each test crate uses what it needs.

#![allow(dead_code)]

pub mod disk;
pub mod feed;
pub mod month;
pub mod pages;
pub mod postgres;
pub mod pty;
pub mod server;
