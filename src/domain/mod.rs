//! Pure types and rules of the service center: no I/O, no clocks read directly, no async.
//! Everything else in the crate depends on this module; it depends on nothing of ours.

pub mod access;
pub mod applicant;
pub mod appointment;
pub mod attendance;
pub mod board;
pub mod calendar;
pub mod case;
pub mod center;
pub mod documents;
pub mod error;
pub mod follow_up;
pub mod guide;
pub mod hall;
pub mod handover;
pub mod inquiry;
pub mod intake;
pub mod labels;
pub mod lexicon;
pub mod notice;
pub mod overlay;
pub mod queue;
pub mod queue_stats;
pub mod rating;
pub mod record;
pub mod report;
pub mod staff;
pub mod text;
pub mod ticket;
pub mod time;

pub use error::Invalid;
