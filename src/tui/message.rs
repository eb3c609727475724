//! The messages of the terminal: what reaches the app ([`AppEvent`], the backend's
//! [`BackendEvent`]) and what the app asks of the loop ([`Reaction`] with its [`AppCommand`]s for the
//! backend task).

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::KeyEvent;
use uuid::Uuid;

use super::app::Link;
use super::catalogue::SearchRow;
use crate::api::queue::{QueueEvent, QueueStats};
use crate::api::{CenterInfo, GuideSummary, Me, WindowOverview};
use crate::domain::calendar::WorkCalendar;
use crate::domain::case::Case;
use crate::domain::guide::ServiceGuide;
use crate::domain::handover::{Handover, HandoverDraft, HandoverKind};
use crate::domain::inquiry::InquiryOutcome;
use crate::domain::record::Visit;
use crate::domain::ticket::{GreenReason, TicketNumber};

/// What the backend task reports. Data events never change [`Link`]: the backend says where it
/// stands with the server explicitly, so cached data shown at start-up does not look live.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendEvent {
    Link(Link),
    /// Records in the outbox.
    Pending(usize),
    SignedIn(Me),
    Center(Box<CenterInfo>),
    Overview(Box<WindowOverview>),
    /// Shared with the catalogue job (one copy of a county catalogue's summaries, not two).
    Guides(std::sync::Arc<Vec<GuideSummary>>),
    /// The working-day calendar, for deadlines.
    Calendar(Box<WorkCalendar>),
    /// A whole guide, asked for with [`AppCommand::OpenGuide`].
    GuideDetail(Box<ServiceGuide>),
    /// The window's open cases: the server's, with changes made here and not yet uploaded.
    Cases(Vec<Case>),
    /// A case opened here: the checklist pane shows it.
    CaseOpened(Box<Case>),
    /// A case changed here (checked, accepted...). It stays where it is on screen: the clerk
    /// may have called the next ticket since, and the reply must not bring the last applicant's
    /// case back.
    CaseUpdated(Box<Case>),
    /// The backend has finished a command about case `id` (committed, or refused with a
    /// message): `step` when it was a step the backend completes itself (notice, acceptance,
    /// dispatch...) rather than saving the app's copy.
    CaseDone {
        id: Uuid,
        step: bool,
    },
    /// Cases found for a returning applicant (asked with [`AppCommand::FindCases`]).
    FoundCases(Vec<crate::api::FoundCase>),
    /// The window's handovers, newest first (the server's and this terminal's log together).
    Handovers(Vec<Handover>),
    /// The live queue: a snapshot, or one change.
    Queue(Box<QueueEvent>),
    QueueStats(Box<QueueStats>),
    /// Results of the search for `query`, best first.
    SearchResults {
        query: String,
        rows: Vec<SearchRow>,
    },
    /// The clerk holds posts at several windows and this PC has none configured: ask which.
    ChoosePost(Vec<crate::api::PostAssignment>),
    /// No session: the terminal asks the clerk to sign in (with why, e.g. 登录已过期).
    NeedSignIn(Option<String>),
    /// Something the clerk should read: an error, or a confirmation.
    Message(String),
    /// The director's board as the server computed it just now.
    Board(Box<crate::domain::board::Board>),
    /// The places left in each appointment slot of a day, asked with [`AppCommand::FreePlaces`].
    FreePlaces(Box<crate::api::queue::FreePlaces>),
    /// A clerk's window as the server sees it (空岗) and the follow-ups that concern them.
    Watch(Box<crate::tui::board::WindowWatch>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum AppEvent {
    Key(KeyEvent),
    /// The terminal's new size, columns and rows.
    Resize(u16, u16),
    /// The wall clock reached a new minute.
    Clock(DateTime<Utc>),
    Backend(BackendEvent),
}

/// Work for the backend task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppCommand {
    /// The clerk's 刷新 (Ctrl+R): exchange with the server now, the lexicon included.
    Refresh,
    /// The backend's own: something was committed, or the server says the window's records
    /// changed; exchange with the server now.
    SyncNow,
    /// Commit a visit (来访登记) to the device log, then upload it when the server can be reached.
    RecordVisit(Visit),
    OpenGuide(String),
    /// Search the catalogue (handled by the catalogue job, not the backend).
    Search(String),
    /// Open a case for a guide's situation at this window.
    OpenCase {
        guide_code: String,
        situation_id: Option<String>,
        /// The ticket being served at the window, which the case belongs to.
        ticket: Option<TicketNumber>,
    },
    /// Commit the case as it now stands (a material checked, the applicant entered).
    SaveCase(Box<Case>),
    /// Give the one-time notice for the case; a reason when it is not the first.
    GiveNotice {
        case: Box<Case>,
        repeat_reason: Option<String>,
    },
    /// Accept the case (收件即受理) or, for 即办件, finish it on the spot.
    Accept(Box<Case>),
    Advance {
        case: Box<Case>,
        step: CaseStep,
    },
    /// Move the case to another window (转办), a recorded step.
    TransferCase {
        case: Box<Case>,
        to_window: u32,
        reason: String,
    },
    /// The clerk has read these conflicts of the window's cases (online only).
    ConflictsSeen(Vec<Uuid>),
    /// Look up a returning applicant's case on the server (online only).
    FindCases(crate::api::CaseSearch),
    /// Continue a found case at this window: taken over by a recorded step when it belongs to
    /// another window, what was received stays received.
    ContinueCase(Box<Case>),
    /// End a case without acceptance (误开撤销, 撤回, 不予受理 with its notice).
    EndCase {
        case: Box<Case>,
        kind: crate::domain::case::EndKind,
        reason: String,
    },
    /// Print a notice, receipt or 不予受理告知书 again, found by its number; no new record.
    Reprint {
        number: String,
    },
    /// A window operation on the shared queue (server-owned: online only).
    Queue(QueueOp),
    /// Sign in with what the clerk typed.
    SignIn {
        staff_id: String,
        password: String,
    },
    /// End the session and forget the kept token.
    SignOut,
    /// Work at another of the clerk's windows from now on; why (kept in the log).
    WorkAt {
        window: u32,
        reason: String,
    },
    /// Write a handover (A→B, emergency takeover, or hand back) into the device log.
    WriteHandover {
        kind: HandoverKind,
        draft: HandoverDraft,
        cases: Vec<Case>,
        parked: Vec<crate::domain::ticket::Ticket>,
    },
    AcknowledgeHandover {
        handover: Box<Handover>,
        note: String,
    },
    /// Withdraw a handover this clerk wrote and nobody acknowledged yet.
    WithdrawHandover {
        handover: Box<Handover>,
    },
    /// Tick off (or untick) a handover's to-do.
    CheckHandoverItem {
        handover_id: Uuid,
        item: u32,
        done: bool,
    },
    /// Record an inquiry at the guidance desk.
    RecordInquiry {
        question: String,
        guide_code: Option<String>,
        outcome: InquiryOutcome,
    },
    /// A step of a 差评整改 follow-up (the director assigns or closes, a clerk answers), taken
    /// on the server (online only).
    FollowUpStep {
        rating_id: Uuid,
        action: crate::domain::follow_up::FollowUpAction,
    },
    /// 预约 at the desk; the reply's code is shown once, to be told to the applicant.
    Book(crate::api::queue::BookAppointment),
    /// 取消预约 at the desk.
    CancelBooking(crate::api::queue::CancelBooking),
    /// Fetch the places left in each slot (the desk's booking form lists them; online only).
    FreePlaces(crate::api::queue::FreeQuery),
    /// Fetch this month's supervision report (HTML and CSV) from the server and save it under
    /// the data directory's `reports/` (the board's export; online only).
    ExportReport,
    /// Issue a ticket for the person at the desk, then record the inquiry with its number.
    IssueTicketFor {
        question: String,
        guide_code: Option<String>,
        category: char,
        green: Option<GreenReason>,
    },
}

/// What the window asks of the shared queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueOp {
    CallNext,
    Recall,
    Start,
    Finish,
    NoShow,
    Park,
    CallBack(TicketNumber),
    CallNumber(TicketNumber),
    /// A no-show back into the line (过号回队).
    Return(TicketNumber),
    /// Someone with an appointment has arrived (预约签到): called in their slot.
    CheckIn(TicketNumber),
    /// 预约签到 by booking code or phone number: today's booking, called in its slot.
    CheckInBooking(crate::api::queue::CheckInBooking),
    /// Served at the window without a ticket (直接办理).
    WalkIn,
    Transfer {
        category: Option<char>,
        window: Option<u32>,
    },
    Pause(String),
    Resume,
    /// Ask the applicant to rate on the window's evaluator (好差评 is given there, not typed here).
    InviteRating,
}

/// Steps after acceptance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStep {
    /// 分办: sent to the department.
    Dispatch,
    /// The department's result is back.
    RecordResult,
    /// 统一出件: delivered, case closed.
    Deliver,
}

/// What handling an event asks of the loop.
#[derive(Debug, Default, PartialEq)]
pub struct Reaction {
    pub redraw: bool,
    pub commands: Vec<AppCommand>,
}

impl Reaction {
    pub(super) fn redraw() -> Self {
        Self { redraw: true, commands: Vec::new() }
    }
}
