//! The server's business flows, over the narrow transactional repository of
//! [`crate::server::store::repo`]: each flow begins a unit of work naming its lock, asks the
//! domain's rules, writes, and commits. The store answers questions and keeps what it is given;
//! the rules are the domain's and the order of the steps is here, so another backend
//! (PostgreSQL) implements the repository and nothing else.

pub mod catalogue;
pub mod day_queue;
pub mod day_view;
pub mod duty;
pub mod queue;
pub mod records;
pub mod report;
pub mod sign_in;
