//! Storage of the live queue. Each command runs in one write transaction: it takes the next
//! queue revision, reads what it needs, applies the pure rules of [`crate::domain::queue`] and
//! writes the result, so two windows calling at the same instant never get the same ticket, on
//! one server process or on several sharing the database.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::StoreError;
use crate::api::queue::QueueSnapshot;
use crate::domain::Invalid;
use crate::domain::applicant::Phone;
use crate::domain::queue::TicketRequest;
use crate::domain::ticket::TicketNumber;

/// What a staff member asks of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueCommand {
    /// Issue a ticket, or book one when the request has a slot.
    Issue(TicketRequest),
    /// 签到: a booked applicant arrived.
    CheckIn {
        number: TicketNumber,
    },
    /// A no-show (过号) back into the line.
    Return {
        number: TicketNumber,
    },
    /// 叫下一个: the window gets the next ticket by the selection rule.
    CallNext {
        window: u32,
    },
    /// A specific number: a waiting or a no-show ticket of today.
    Call {
        window: u32,
        number: TicketNumber,
    },
    Recall {
        window: u32,
    },
    NoShow {
        window: u32,
    },
    Start {
        window: u32,
    },
    Finish {
        window: u32,
    },
    /// 转移 the ticket at the window: to a category's line, or to one window (keeping its
    /// category when none is given).
    Transfer {
        window: u32,
        category: Option<char>,
        to_window: Option<u32>,
    },
    Park {
        window: u32,
    },
    CallBack {
        window: u32,
        number: TicketNumber,
    },
    /// Someone served without a ticket: numbered in `category`, by default the window's first.
    WalkIn {
        window: u32,
        category: Option<char>,
    },
    Pause {
        window: u32,
        reason: String,
    },
    Resume {
        window: u32,
    },
    /// 预约: one place in a configured slot ([`crate::domain::appointment`]), with the booking
    /// `code` drawn by the caller (refused with [`QueueError::CodeTaken`] if the day has it).
    Book {
        category: char,
        slot_start: DateTime<Utc>,
        /// Whether the slot's day is a working day, by the server's calendar.
        working_day: bool,
        phone: Option<Phone>,
        code: String,
    },
    /// 签到 of today's booking found by its code or phone number.
    CheckInBooking(BookingLookup),
    /// 取消预约 of a booking of `day` found by its code. `channel`: cancelled by the online
    /// channel, with the phone it named; only a booking that channel made with that phone
    /// ([`crate::domain::appointment::channel_may_cancel`]); any other is not found.
    CancelBooking {
        day: NaiveDate,
        code: String,
        channel: Option<Phone>,
    },
}

/// How an applicant names their booking at check-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookingLookup {
    Code(String),
    Phone(Phone),
}

impl QueueCommand {
    /// The window the command acts at, if it is a window operation.
    pub fn window(&self) -> Option<u32> {
        match *self {
            Self::Issue(_)
            | Self::CheckIn { .. }
            | Self::Return { .. }
            | Self::Book { .. }
            | Self::CheckInBooking(_)
            | Self::CancelBooking { .. } => None,
            Self::CallNext { window }
            | Self::Call { window, .. }
            | Self::Recall { window }
            | Self::NoShow { window }
            | Self::Start { window }
            | Self::Finish { window }
            | Self::Transfer { window, .. }
            | Self::Park { window }
            | Self::CallBack { window, .. }
            | Self::WalkIn { window, .. }
            | Self::Pause { window, .. }
            | Self::Resume { window } => Some(window),
        }
    }
}

/// Why a queue command was not carried out. Everything but `Store` is the clerk's to read.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request itself is wrong (fields named).
    #[error("invalid request")]
    Invalid(Vec<Invalid>),
    /// Not allowed in the ticket's current state.
    #[error("{0}")]
    Refused(Invalid),
    #[error("no window {0}")]
    UnknownWindow(u32),
    #[error("no ticket {0} today")]
    TicketNotFound(TicketNumber),
    #[error("nothing waiting")]
    QueueEmpty,
    /// The window already holds a ticket called or in service.
    #[error("window holds {0}")]
    WindowBusy(TicketNumber),
    #[error("window paused: {0}")]
    WindowPaused(String),
    /// The window holds no ticket called or in service.
    #[error("nothing at window {0}")]
    NothingAtWindow(u32),
    /// No booking still to check in matches the code or phone number given.
    #[error("no such booking")]
    BookingNotFound,
    /// The drawn booking code is already used on that day: draw another.
    #[error("booking code taken")]
    CodeTaken,
}

impl From<sqlx::Error> for QueueError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

impl From<serde_json::Error> for QueueError {
    fn from(e: serde_json::Error) -> Self {
        Self::Store(StoreError::Corrupt(e))
    }
}

#[async_trait]
pub trait QueueStore: Send + Sync {
    /// Ticket `number` of China day `day` with its status-page token, if it has one.
    async fn ticket_with_status_token(
        &self,
        day: NaiveDate,
        number: TicketNumber,
    ) -> Result<Option<(crate::domain::ticket::Ticket, String)>, StoreError>;

    /// The queue of China day `day`, read consistently with its revision.
    async fn queue_snapshot(&self, day: NaiveDate) -> Result<QueueSnapshot, StoreError>;

    /// The queue's committed revision.
    async fn queue_revision(&self) -> Result<u64, StoreError>;

    /// Every ticket of China day `day`, finished ones included, for the day's figures.
    async fn queue_day_tickets(&self, day: NaiveDate) -> Result<Vec<crate::domain::ticket::Ticket>, StoreError>;
}
