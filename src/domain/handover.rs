//! A/B posts (窗口AB岗, clause 7.6.4): who is on duty at a window, and the written handover between
//! the A and B holders.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Invalid;
use super::case::Case;
use super::center::{Post, Window};
use super::labels::labelled;
use super::text::clean_line;
use super::ticket::{Ticket, TicketNumber, TicketStatus};

labelled! { codes:
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum AwayReason {
        Leave = "leave" / "请假",
        Meeting = "meeting" / "会议",
        Training = "training" / "培训",
        Errand = "errand" / "外出办事",
        Other = "other" / "其他",
    }
}

labelled! { tagged:
    /// Who answers for the window right now. There is deliberately no state with both holders
    /// away while the window is open: the rule "A and B may not be away at the same time" is
    /// unrepresentable.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(tag = "state")]
    pub enum DutyState {
        AOnDuty = "A岗在岗",
        BCovering {
            reason: AwayReason,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            expected_return: Option<DateTime<Utc>>,
        } = "B岗顶岗",
        Closed = "暂停服务",
    }
}

impl DutyState {
    /// The post that acts for the window, if it is open.
    pub fn acting_post(&self) -> Option<Post> {
        match self {
            Self::AOnDuty => Some(Post::A),
            Self::BCovering { .. } => Some(Post::B),
            Self::Closed => None,
        }
    }

    /// The staff id acting for the window, if it is open.
    pub fn acting_staff<'w>(&self, window: &'w Window) -> Option<&'w str> {
        self.acting_post().map(|post| match post {
            Post::A => window.a_holder.as_str(),
            Post::B => window.b_holder.as_str(),
        })
    }
}

/// A to-do left for the other post holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingItem {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<DateTime<Utc>>,
    pub done: bool,
}

/// A reference to an open case as it stood at handover time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRef {
    pub case_id: Uuid,
    /// 办件编号, once the case was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_number: Option<String>,
    pub guide_name: String,
    pub status_label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    pub id: Uuid,
    pub window: u32,
    /// `A` when A hands over to B; `B` when B hands back to A.
    pub from_post: Post,
    pub from_staff: String,
    pub to_staff: String,
    pub written_at: DateTime<Utc>,
    pub open_cases: Vec<CaseRef>,
    pub parked_tickets: Vec<TicketNumber>,
    pub pending: Vec<PendingItem>,
    pub notes: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_return: Option<DateTime<Utc>>,
    /// B took over without a handover from A (A had no time to write one).
    pub emergency: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Acknowledgement>,
    /// Why A is away (A to B, and emergency takeovers); `None` for a hand back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<AwayReason>,
    /// Staff id of who wrote it: `from_staff`, except for an emergency takeover, which B writes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub written_by: String,
    /// Set by the server when the handover was recorded but could not change who is on duty
    /// (the change would leave a window uncovered, or it arrived after a newer change): the
    /// reason, in Chinese, for the terminal to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duty_refused: Option<String>,
    /// Withdrawn by its writer before it was acknowledged (see [`fold_withdrawal`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<Withdrawal>,
}

/// A handover taken back by the one who wrote it, before its addressee acknowledged it (A did
/// not leave after all, or B hands back later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    pub by: String,
    pub at: DateTime<Utc>,
}

labelled! { shown:
    /// The three kinds of handover of clause 7.6.4 and the local rules.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum HandoverKind {
        /// A leaves and hands the window to B.
        AToB = "A岗交B岗",
        /// A left without a handover; B takes over anyway (紧急顶岗), and says so.
        EmergencyTakeover = "紧急顶岗",
        /// A is back; B hands the window back with a report of what happened.
        HandBack = "B岗交回",
    }
}

impl Handover {
    pub fn kind(&self) -> HandoverKind {
        match (self.emergency, self.from_post) {
            (true, _) => HandoverKind::EmergencyTakeover,
            (false, Post::A) => HandoverKind::AToB,
            (false, Post::B) => HandoverKind::HandBack,
        }
    }

    /// Who is on duty once the handover took effect.
    pub fn duty_after(&self) -> DutyState {
        match self.kind() {
            HandoverKind::AToB | HandoverKind::EmergencyTakeover => DutyState::BCovering {
                reason: self.reason.unwrap_or(AwayReason::Other),
                expected_return: self.expected_return,
            },
            HandoverKind::HandBack => DutyState::AOnDuty,
        }
    }

    /// Who acknowledges it (接收确认): the one who receives the window; for an emergency takeover,
    /// which B writes, A on return.
    pub fn acknowledger(&self) -> &str {
        match self.kind() {
            HandoverKind::EmergencyTakeover => &self.from_staff,
            HandoverKind::AToB | HandoverKind::HandBack => &self.to_staff,
        }
    }

    /// Whether `staff_id` still has to acknowledge it (the flag in the status bar).
    pub fn awaits_acknowledgement_by(&self, staff_id: &str) -> bool {
        self.acknowledged.is_none() && self.withdrawn.is_none() && self.acknowledger() == staff_id
    }

    /// Who wrote it: `written_by`, or for records that predate the field the one handing over.
    pub fn writer(&self) -> &str {
        if self.written_by.is_empty() { &self.from_staff } else { &self.written_by }
    }

    /// Who is on duty when a withdrawal undoes it: A again after an A to B handover or an
    /// emergency takeover; B still covering after a hand back.
    pub fn duty_before(&self) -> DutyState {
        match self.kind() {
            HandoverKind::AToB | HandoverKind::EmergencyTakeover => DutyState::AOnDuty,
            HandoverKind::HandBack => DutyState::BCovering { reason: AwayReason::Other, expected_return: None },
        }
    }
}

pub const MAX_NOTES_CHARS: usize = 2000;
pub const MAX_PENDING_ITEMS: usize = 50;
pub const MAX_PENDING_CHARS: usize = 200;
pub const MAX_ACK_NOTE_CHARS: usize = 500;

fn invalid(field: &str, message: impl Into<String>) -> Invalid {
    Invalid { field: field.into(), message: message.into() }
}

/// Several lines of clean text (the multi-line editor): each line cleaned as one line, trailing
/// spaces and empty lines at both ends dropped.
pub fn clean_text(input: &str) -> String {
    let lines: Vec<String> = input.lines().map(|l| clean_line(l).trim_end().to_owned()).collect();
    lines.join("\n").trim_matches(|c: char| c == '\n' || c.is_whitespace()).to_owned()
}

/// The window as it stands when the handover is written: its open cases and the queue's tickets
/// (only the ones parked at this window are taken).
#[derive(Debug, Clone, Copy)]
pub struct WindowAtHandover<'a> {
    pub window: &'a Window,
    pub open_cases: &'a [Case],
    pub tickets: &'a [Ticket],
}

/// What the clerk writes; the rest of a handover is listed automatically.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandoverDraft {
    pub reason: Option<AwayReason>,
    pub expected_return: Option<DateTime<Utc>>,
    pub pending: Vec<PendingItem>,
    /// Free-text notes; for a hand back, the report of what was done while A was away.
    pub notes: String,
}

/// The window's open cases, earliest deadline first (cases without a running deadline last).
pub fn case_refs(window: u32, cases: &[Case]) -> Vec<CaseRef> {
    let mut open: Vec<&Case> = cases.iter().filter(|c| c.window == window && c.status.is_open()).collect();
    open.sort_by_key(|c| {
        (c.deadline.as_ref().map(|d| d.date).is_none(), c.deadline.as_ref().map(|d| d.date), c.opened_at)
    });
    open.into_iter()
        .map(|c| CaseRef {
            case_id: c.id,
            case_number: c.case_number.clone(),
            guide_name: c.guide_name.clone(),
            status_label: c.status.label().to_owned(),
            deadline: c.deadline.as_ref().map(|d| d.date),
        })
        .collect()
}

/// Tickets parked (挂起) at the window, by number.
pub fn parked_tickets(window: u32, tickets: &[Ticket]) -> Vec<TicketNumber> {
    let mut parked: Vec<TicketNumber> = tickets
        .iter()
        .filter(|t| t.status == TicketStatus::Parked && t.window == Some(window))
        .map(|t| t.number)
        .collect();
    parked.sort();
    parked.dedup();
    parked
}

/// Builds a handover of `kind` written by `written_by`, listing the window's open cases and parked
/// tickets, and checks what the clerk wrote.
pub fn handover_from(
    at: &WindowAtHandover<'_>,
    kind: HandoverKind,
    written_by: &str,
    draft: HandoverDraft,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Handover, Invalid> {
    let w = at.window;
    let (from_post, from_staff, to_staff, writer) = match kind {
        HandoverKind::AToB => (Post::A, &w.a_holder, &w.b_holder, &w.a_holder),
        HandoverKind::EmergencyTakeover => (Post::A, &w.a_holder, &w.b_holder, &w.b_holder),
        HandoverKind::HandBack => (Post::B, &w.b_holder, &w.a_holder, &w.b_holder),
    };
    if written_by != writer {
        let who = if writer == &w.a_holder { "A岗" } else { "B岗" };
        return Err(invalid("written_by", format!("{}只能由 {} 号窗口{who}填写", kind.label(), w.number)));
    }
    let reason = match kind {
        HandoverKind::AToB | HandoverKind::EmergencyTakeover => {
            Some(draft.reason.ok_or_else(|| invalid("reason", "请选择A岗离岗原因"))?)
        }
        HandoverKind::HandBack => None,
    };
    let expected_return = match kind {
        HandoverKind::HandBack => None,
        _ => draft.expected_return,
    };
    if expected_return.is_some_and(|t| t <= now) {
        return Err(invalid("expected_return", "预计返回时间应晚于现在"));
    }
    let notes = clean_text(&draft.notes);
    if notes.chars().count() > MAX_NOTES_CHARS {
        return Err(invalid("notes", format!("交接说明不能超过 {MAX_NOTES_CHARS} 个字")));
    }
    if kind == HandoverKind::HandBack && notes.is_empty() {
        return Err(invalid("notes", "请填写顶岗期间的情况报告"));
    }
    // A handover that says nothing hands nothing over: A writes at least a to-do or a note.
    if kind == HandoverKind::AToB && notes.is_empty() && draft.pending.is_empty() {
        return Err(invalid("notes", "交接内容为空：请写明待办事项或交接说明"));
    }
    if draft.pending.len() > MAX_PENDING_ITEMS {
        return Err(invalid("pending", format!("待办事项不能超过 {MAX_PENDING_ITEMS} 条")));
    }
    let mut pending = Vec::with_capacity(draft.pending.len());
    for (i, item) in draft.pending.into_iter().enumerate() {
        let text = clean_line(&item.text).trim().to_owned();
        if text.is_empty() {
            return Err(invalid(&format!("pending[{i}]"), "待办事项不能为空"));
        }
        if text.chars().count() > MAX_PENDING_CHARS {
            return Err(invalid(&format!("pending[{i}]"), format!("每条待办不能超过 {MAX_PENDING_CHARS} 个字")));
        }
        pending.push(PendingItem { text, ..item });
    }
    Ok(Handover {
        id,
        window: w.number,
        from_post,
        from_staff: from_staff.clone(),
        to_staff: to_staff.clone(),
        written_at: now,
        open_cases: case_refs(w.number, at.open_cases),
        parked_tickets: parked_tickets(w.number, at.tickets),
        pending,
        notes,
        expected_return,
        emergency: kind == HandoverKind::EmergencyTakeover,
        acknowledged: None,
        reason,
        written_by: written_by.to_owned(),
        duty_refused: None,
        withdrawn: None,
    })
}

/// The handover that began the current cover, if the newest one is an A to B handover or an
/// emergency takeover: B's hand back answers it (its pending items are carried back, checked).
pub fn covering_since(newest_first: &[Handover]) -> Option<&Handover> {
    newest_first.first().filter(|h| h.kind() != HandoverKind::HandBack)
}

/// 接收确认 of `handover` by `by`.
pub fn acknowledge(handover: &Handover, by: &str, note: &str, now: DateTime<Utc>) -> Result<Acknowledgement, Invalid> {
    if let Some(done) = &handover.acknowledged {
        return Err(invalid("handover", format!("该交接已由 {} 确认", done.by)));
    }
    if handover.acknowledger() != by {
        return Err(invalid("by", format!("该交接应由 {} 确认", handover.acknowledger())));
    }
    let note = clean_text(note);
    if note.chars().count() > MAX_ACK_NOTE_CHARS {
        return Err(invalid("note", format!("确认说明不能超过 {MAX_ACK_NOTE_CHARS} 个字")));
    }
    Ok(Acknowledgement { by: by.to_owned(), at: now, note })
}

/// Whether window `window` may go to `new`, given every window's duty (a window missing from
/// `duties` counts as closed). Refused, with the reason in Chinese, when the one who would act
/// for the window cannot be there: they already act at another open window (one person cannot be
/// at two windows), or they are the A of a window that B covers because they are away (A and B
/// may not be away at the same time: the window would be open with nobody at it).
pub fn check_duty_change(
    windows: &[Window],
    duties: &[(u32, DutyState)],
    window: u32,
    new: &DutyState,
) -> Result<(), Invalid> {
    let w = windows
        .iter()
        .find(|w| w.number == window)
        .ok_or_else(|| invalid("window", format!("没有 {window} 号窗口")))?;
    let Some(person) = new.acting_staff(w) else { return Ok(()) };
    let duty_of = |n: u32| duties.iter().find(|(m, _)| *m == n).map_or(&DutyState::Closed, |(_, d)| d);
    let wanted = format!("在 {window} 号窗口{}", new.label());
    for other in windows.iter().filter(|o| o.number != window) {
        let state = duty_of(other.number);
        if state.acting_staff(other) == Some(person) {
            return Err(invalid(
                "duty",
                format!(
                    "{person} 正在 {} 号窗口{}，不能同时{wanted}（一人不能同时在两个窗口）",
                    other.number,
                    state.label()
                ),
            ));
        }
        if let DutyState::BCovering { reason, .. } = state
            && other.a_holder == person
        {
            return Err(invalid(
                "duty",
                format!(
                    "{person} 是 {} 号窗口A岗，正离岗（{}），不能{wanted}（A岗、B岗不能同时离岗）",
                    other.number,
                    reason.label()
                ),
            ));
        }
    }
    Ok(())
}

/// A window with a ticket called or in service cannot close (暂停服务) until it is finished,
/// transferred or parked.
pub fn check_close(ticket_in_service: Option<TicketNumber>) -> Result<(), Invalid> {
    match ticket_in_service {
        Some(n) => Err(invalid("duty", format!("窗口正在办理 {n} 号，请先办结、转移或挂起再暂停服务"))),
        None => Ok(()),
    }
}

/// Who may set a window's duty directly (asked through [`super::access::check_window_act`]): an admin anything; the A holder anything (on duty on
/// return, B covering when leaving, closed); the B holder B covering (A is away, with or without
/// a handover), and, while covering, the hand back (A on duty) or closing the window.
pub(super) fn check_duty_permission(
    window: &Window,
    staff_id: &str,
    is_admin: bool,
    current: &DutyState,
    new: &DutyState,
) -> Result<(), Invalid> {
    if is_admin {
        return Ok(());
    }
    let covering = matches!(current, DutyState::BCovering { .. });
    match (window.post_of(staff_id), new) {
        (None, _) => Err(invalid("duty", format!("你不是 {} 号窗口的A岗或B岗", window.number))),
        (Some(Post::A), _) | (Some(Post::B), DutyState::BCovering { .. }) => Ok(()),
        (Some(Post::B), DutyState::AOnDuty) if covering || current == new => Ok(()),
        (Some(Post::B), DutyState::AOnDuty) => Err(invalid("duty", "B岗只能在顶岗期间把窗口交回A岗")),
        (Some(Post::B), DutyState::Closed) if covering || current == new => Ok(()),
        (Some(Post::B), DutyState::Closed) => Err(invalid("duty", "B岗只能在顶岗期间暂停本窗口服务")),
    }
}

/// A handover names the window's current A and B holders in the right places, or it cannot
/// change who is on duty (the roster changed since it was written, or it is forged).
pub fn check_handover_roster(window: &Window, h: &Handover) -> Result<(), Invalid> {
    let (from, to, writer) = match h.kind() {
        HandoverKind::AToB => (&window.a_holder, &window.b_holder, &window.a_holder),
        HandoverKind::EmergencyTakeover => (&window.a_holder, &window.b_holder, &window.b_holder),
        HandoverKind::HandBack => (&window.b_holder, &window.a_holder, &window.b_holder),
    };
    let writer_ok = h.written_by.is_empty() || &h.written_by == writer;
    if h.window != window.number || &h.from_staff != from || &h.to_staff != to || !writer_ok {
        return Err(invalid(
            "handover",
            format!(
                "{}的交接人与 {} 号窗口现任A岗（{}）、B岗（{}）不符",
                h.kind().label(),
                window.number,
                window.a_holder,
                window.b_holder
            ),
        ));
    }
    Ok(())
}

/// What a handover arriving from a window's log does to the window's duty, given the roster,
/// every window's duty and when the window's duty last changed: `Ok(Some(duty))` to switch to,
/// `Ok(None)` when the window is already there, or why it does not switch (the handover is kept
/// as a record with that reason). A handover written before the duty last changed (it waited
/// offline) is a record, not a switch back.
pub fn duty_after_handover(
    windows: &[Window],
    duties: &[(u32, DutyState)],
    changed_at: Option<DateTime<Utc>>,
    window: u32,
    h: &Handover,
) -> Result<Option<DutyState>, String> {
    let Some(w) = windows.iter().find(|w| w.number == window) else {
        return Err(format!("没有 {window} 号窗口"));
    };
    check_handover_roster(w, h).map_err(|e| e.message)?;
    let new = h.duty_after();
    let current = duties.iter().find(|(n, _)| *n == window).map(|(_, d)| d);
    if let Some(changed_at) = changed_at
        && h.written_at <= changed_at
    {
        if current == Some(&new) {
            return Ok(None);
        }
        let when = super::time::to_china(changed_at).format("%m-%d %H:%M");
        return Err(format!(
            "该交接上传时，值班状态已在其后（{when}）变更为{}，未按此交接切换",
            current.map_or(DutyState::Closed.label(), DutyState::label)
        ));
    }
    check_duty_change(windows, duties, window, &new).map_err(|e| e.message)?;
    Ok(Some(new))
}

/// What the log says about handovers, in log order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandoverEvent {
    Written(Box<Handover>),
    Acknowledged {
        handover_id: Uuid,
        ack: Acknowledgement,
    },
    /// Taken back by its writer ([`fold_withdrawal`]).
    Withdrawn {
        handover_id: Uuid,
        withdrawal: Withdrawal,
    },
    /// A to-do ticked off (or unticked); the latest word on an item wins.
    ItemChecked {
        handover_id: Uuid,
        item: usize,
        done: bool,
    },
}

/// Applies a tick to a handover's to-do list; an item that is not there is ignored.
pub fn check_item(handover: &mut Handover, item: usize, done: bool) -> bool {
    match handover.pending.get_mut(item) {
        Some(p) => {
            p.done = done;
            true
        }
        None => false,
    }
}

/// Withdraws a handover: only its writer, only while nobody acknowledged it.
pub fn withdraw(handover: &Handover, by: &str, now: DateTime<Utc>) -> Result<Withdrawal, Invalid> {
    if handover.writer() != by {
        return Err(invalid("by", format!("只有填写人 {} 可以撤回这份交接", handover.writer())));
    }
    if handover.acknowledged.is_some() {
        return Err(invalid("acknowledged", "对方已确认接收，不能撤回"));
    }
    if handover.withdrawn.is_some() {
        return Err(invalid("withdrawn", "这份交接已撤回"));
    }
    Ok(Withdrawal { by: by.to_owned(), at: now })
}

/// Folds a withdrawal into its handover: it counts only from the writer, and between a
/// withdrawal and an acknowledgement the earlier by its own time stands (whichever arrives
/// first), as [`fold_acknowledgement`] does from the other side. Returns whether it changed the
/// handover.
pub fn fold_withdrawal(handover: &mut Handover, w: Withdrawal) -> bool {
    if handover.writer() != w.by {
        return false;
    }
    if handover.acknowledged.as_ref().is_some_and(|a| a.at <= w.at) {
        return false;
    }
    if handover.withdrawn.as_ref().is_some_and(|old| old.at <= w.at) {
        return false;
    }
    handover.acknowledged = None;
    handover.withdrawn = Some(w);
    true
}

/// Folds one acknowledgement into its handover: it counts only from the one who is to
/// acknowledge, and of several such (B acknowledged on two terminals) the earliest by its own time
/// stands, ties broken by the note, so that every terminal and the server agree whatever order the
/// records arrived in. Returns whether it changed the handover. The server and the terminals both
/// fold with this.
pub fn fold_acknowledgement(handover: &mut Handover, ack: Acknowledgement) -> bool {
    if handover.acknowledger() != ack.by || handover.withdrawn.as_ref().is_some_and(|w| w.at < ack.at) {
        return false;
    }
    let earlier = match &handover.acknowledged {
        None => true,
        Some(current) => (ack.at, &ack.note) < (current.at, &current.note),
    };
    if earlier {
        // A withdrawal made after this acknowledgement came too late.
        handover.withdrawn = None;
        handover.acknowledged = Some(ack);
    }
    earlier
}

/// A window's handover history from its log, newest first. Acknowledgements fold with
/// [`fold_acknowledgement`]; one may come before its handover.
pub fn fold_history(events: impl IntoIterator<Item = HandoverEvent>) -> Vec<Handover> {
    let mut handovers: Vec<Handover> = Vec::new();
    let mut acks = Vec::new();
    let mut checks = Vec::new();
    let mut withdrawals = Vec::new();
    for event in events {
        match event {
            HandoverEvent::Written(h) => {
                if !handovers.iter().any(|k| k.id == h.id) {
                    handovers.push(*h);
                }
            }
            HandoverEvent::Acknowledged { handover_id, ack } => acks.push((handover_id, ack)),
            HandoverEvent::ItemChecked { handover_id, item, done } => checks.push((handover_id, item, done)),
            HandoverEvent::Withdrawn { handover_id, withdrawal } => withdrawals.push((handover_id, withdrawal)),
        }
    }
    for (id, w) in withdrawals {
        if let Some(h) = handovers.iter_mut().find(|h| h.id == id) {
            fold_withdrawal(h, w);
        }
    }
    for (id, item, done) in checks {
        if let Some(h) = handovers.iter_mut().find(|h| h.id == id) {
            check_item(h, item, done);
        }
    }
    for (id, ack) in acks {
        if let Some(h) = handovers.iter_mut().find(|h| h.id == id) {
            fold_acknowledgement(h, ack);
        }
    }
    handovers.sort_by_key(|h| std::cmp::Reverse((h.written_at, h.id)));
    handovers
}

/// Whether the holder of `post` is at the window (在岗). The acting post is, with one
/// exception: after B's hand back, A is not there yet until A acknowledges it or is the one
/// signed in here (`signed_in`), so until then A shows as waiting to take the window back
/// (the duty is already A's: only A can call, once A is there).
pub fn holder_present(
    duty: &DutyState,
    post: Post,
    newest_first: &[Handover],
    a_holder: &str,
    signed_in: Option<&str>,
) -> bool {
    if duty.acting_post() != Some(post) {
        return false;
    }
    let returning = post == Post::A
        && newest_first
            .iter()
            .find(|h| h.withdrawn.is_none())
            .is_some_and(|h| h.kind() == HandoverKind::HandBack && h.acknowledged.is_none());
    !returning || signed_in == Some(a_holder)
}

/// The newest handover `staff_id` still has to acknowledge.
pub fn unacknowledged_for<'h>(newest_first: &'h [Handover], staff_id: &str) -> Option<&'h Handover> {
    newest_first.iter().find(|h| h.awaits_acknowledgement_by(staff_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::CaseStatus;
    use crate::domain::center::WindowKind;

    #[test]
    fn only_the_writer_withdraws_and_the_earlier_of_withdrawal_and_acknowledgement_stands() {
        let w = Window {
            number: 1,
            name: "一号窗口".into(),
            kind: WindowKind::ComprehensiveAcceptance,
            a_holder: "s001".into(),
            b_holder: "s002".into(),
            categories: vec!['A'],
        };
        let at = WindowAtHandover { window: &w, open_cases: &[], tickets: &[] };
        let draft =
            HandoverDraft { notes: "去开会".into(), reason: Some(AwayReason::Meeting), ..HandoverDraft::default() };
        let h = handover_from(&at, HandoverKind::AToB, "s001", draft, Uuid::from_u128(3), now()).unwrap();
        assert_eq!(h.duty_before(), DutyState::AOnDuty);
        assert!(withdraw(&h, "s002", now()).is_err(), "B did not write it");
        let later = now() + chrono::TimeDelta::minutes(5);
        let w1 = withdraw(&h, "s001", later).unwrap();
        let ack =
            |m| Acknowledgement { by: "s002".into(), at: now() + chrono::TimeDelta::minutes(m), note: String::new() };
        // In either order of arrival: an acknowledgement before the withdrawal stands...
        for order in [true, false] {
            let written = HandoverEvent::Written(Box::new(h.clone()));
            let ack_event = HandoverEvent::Acknowledged { handover_id: h.id, ack: ack(1) };
            let w_event = HandoverEvent::Withdrawn { handover_id: h.id, withdrawal: w1.clone() };
            let events = if order { vec![written, ack_event, w_event] } else { vec![written, w_event, ack_event] };
            let folded = fold_history(events).remove(0);
            assert!(folded.acknowledged.is_some() && folded.withdrawn.is_none(), "{order}");
        }
        // ...and one after it does not.
        let mut mine = h.clone();
        assert!(fold_withdrawal(&mut mine, w1.clone()));
        assert!(!fold_acknowledgement(&mut mine, ack(10)));
        assert!(!mine.awaits_acknowledgement_by("s002"), "a withdrawn handover waits for nobody");
        assert!(withdraw(&mine, "s001", later).is_err(), "withdrawn once");
        let mut acked = h.clone();
        acked.acknowledged = Some(ack(1));
        assert!(withdraw(&acked, "s001", later).is_err(), "acknowledged: too late");
        let mut forged = h;
        assert!(!fold_withdrawal(&mut forged, Withdrawal { by: "s002".into(), at: later }));
    }

    #[test]
    fn after_a_hand_back_a_is_present_once_a_acknowledges_or_is_signed_in() {
        let w = Window {
            number: 1,
            name: "一号窗口".into(),
            kind: WindowKind::ComprehensiveAcceptance,
            a_holder: "s001".into(),
            b_holder: "s002".into(),
            categories: vec!['A'],
        };
        let at = WindowAtHandover { window: &w, open_cases: &[], tickets: &[] };
        let draft = HandoverDraft { notes: "办了两件".into(), ..HandoverDraft::default() };
        let mut back = handover_from(&at, HandoverKind::HandBack, "s002", draft, Uuid::from_u128(9), now()).unwrap();
        let duty = back.duty_after();
        assert_eq!(duty, DutyState::AOnDuty);
        let history = [back.clone()];
        assert!(!holder_present(&duty, Post::A, &history, "s001", Some("s002")), "B's screen: A not back yet");
        assert!(!holder_present(&duty, Post::A, &history, "s001", None));
        assert!(holder_present(&duty, Post::A, &history, "s001", Some("s001")), "A signed in here");
        assert!(!holder_present(&duty, Post::B, &history, "s001", Some("s002")), "B handed back");
        back.acknowledged = Some(Acknowledgement { by: "s001".into(), at: now(), note: String::new() });
        assert!(holder_present(&duty, Post::A, &[back], "s001", Some("s002")), "A acknowledged");
        assert!(holder_present(&DutyState::AOnDuty, Post::A, &[], "s001", None), "no handover: A is there");
    }

    #[test]
    fn acting_staff_follows_the_duty_state() {
        let window = Window {
            number: 1,
            name: "综合受理一号窗".into(),
            kind: WindowKind::ComprehensiveAcceptance,
            a_holder: "s001".into(),
            b_holder: "s002".into(),
            categories: vec!['A'],
        };
        assert_eq!(DutyState::AOnDuty.acting_staff(&window), Some("s001"));
        let covering = DutyState::BCovering { reason: AwayReason::Training, expected_return: None };
        assert_eq!(covering.acting_staff(&window), Some("s002"));
        assert_eq!(DutyState::Closed.acting_staff(&window), None);
    }

    fn window(number: u32, a: &str, b: &str) -> Window {
        Window {
            number,
            name: format!("{number}号窗"),
            kind: WindowKind::ComprehensiveAcceptance,
            a_holder: a.into(),
            b_holder: b.into(),
            categories: vec!['A'],
        }
    }

    /// The seeded roster of assets/center.json.
    fn roster() -> Vec<Window> {
        [
            (1, "s001", "s002"),
            (2, "s003", "s004"),
            (3, "s004", "s003"),
            (4, "s005", "s006"),
            (5, "s006", "s005"),
            (6, "s007", "s002"),
        ]
        .into_iter()
        .map(|(n, a, b)| window(n, a, b))
        .collect()
    }

    fn away() -> DutyState {
        DutyState::BCovering { reason: AwayReason::Meeting, expected_return: None }
    }

    fn all_on_duty() -> Vec<(u32, DutyState)> {
        (1..=6).map(|n| (n, DutyState::AOnDuty)).collect()
    }

    fn with(mut duties: Vec<(u32, DutyState)>, n: u32, state: DutyState) -> Vec<(u32, DutyState)> {
        duties.retain(|(m, _)| *m != n);
        duties.push((n, state));
        duties
    }

    #[test]
    fn duty_changes_by_table() {
        type Row = (&'static str, Vec<(u32, DutyState)>, u32, DutyState, Option<&'static str>);
        let rows: Vec<Row> = vec![
            ("A stays on duty", all_on_duty(), 1, DutyState::AOnDuty, None),
            ("s002 is free to cover window 1", all_on_duty(), 1, away(), None),
            (
                "s004 cannot cover window 2 while on duty as A of window 3",
                all_on_duty(),
                2,
                away(),
                Some("s004 正在 3 号窗口A岗在岗，不能同时在 2 号窗口B岗顶岗"),
            ),
            ("window 3 closed: s004 may cover window 2", with(all_on_duty(), 3, DutyState::Closed), 2, away(), None),
            (
                "s003 cannot cover window 3 while away from window 2 (A and B both away)",
                with(with(all_on_duty(), 2, away()), 3, DutyState::Closed),
                3,
                away(),
                Some("s003 是 2 号窗口A岗，正离岗（会议），不能在 3 号窗口B岗顶岗"),
            ),
            (
                "s002 cannot cover windows 1 and 6 at once",
                with(all_on_duty(), 1, away()),
                6,
                away(),
                Some("s002 正在 1 号窗口B岗顶岗"),
            ),
            (
                "s003 cannot return to window 2 while covering window 3",
                with(with(all_on_duty(), 2, DutyState::Closed), 3, away()),
                2,
                DutyState::AOnDuty,
                Some("s003 正在 3 号窗口B岗顶岗，不能同时在 2 号窗口A岗在岗"),
            ),
            ("closing never leaves anyone in two places", with(all_on_duty(), 2, away()), 3, DutyState::Closed, None),
            ("a window without a duty row counts as closed", vec![(1, DutyState::AOnDuty)], 2, away(), None),
            ("the window's own state does not count against it", with(all_on_duty(), 1, away()), 1, away(), None),
            ("back from cover", with(all_on_duty(), 1, away()), 1, DutyState::AOnDuty, None),
            ("unknown window", all_on_duty(), 9, DutyState::AOnDuty, Some("没有 9 号窗口")),
        ];
        let windows = roster();
        for (name, duties, n, new, expected) in rows {
            let got = check_duty_change(&windows, &duties, n, &new);
            match expected {
                None => assert_eq!(got, Ok(()), "{name}"),
                Some(text) => {
                    let e = got.expect_err(name);
                    assert!(e.message.contains(text), "{name}: {}", e.message);
                    assert_eq!(e.field, if n == 9 { "window" } else { "duty" }, "{name}");
                }
            }
        }
    }

    #[test]
    fn who_may_set_the_duty_by_table() {
        let w = window(1, "s001", "s002");
        let (on, closed) = (DutyState::AOnDuty, DutyState::Closed);
        type Row = (&'static str, &'static str, bool, DutyState, DutyState, bool);
        let rows: Vec<Row> = vec![
            ("A leaves", "s001", false, on.clone(), away(), true),
            ("A returns", "s001", false, away(), on.clone(), true),
            ("A closes", "s001", false, on.clone(), closed.clone(), true),
            ("B takes over", "s002", false, on.clone(), away(), true),
            ("B hands back", "s002", false, away(), on.clone(), true),
            ("B cannot reopen a closed window as A", "s002", false, closed.clone(), on.clone(), false),
            ("B closes while covering", "s002", false, away(), closed.clone(), true),
            ("B cannot close A's window", "s002", false, on.clone(), closed.clone(), false),
            ("someone else", "s005", false, on.clone(), away(), false),
            ("admin", "admin", true, closed.clone(), on.clone(), true),
        ];
        for (name, who, admin, current, new, ok) in rows {
            assert_eq!(check_duty_permission(&w, who, admin, &current, &new).is_ok(), ok, "{name}");
        }
    }

    #[test]
    fn closing_waits_for_the_ticket_in_service() {
        assert!(check_close(None).is_ok());
        let e = check_close(Some("A007".parse().unwrap())).unwrap_err();
        assert!(e.message.contains("A007"), "{}", e.message);
    }

    fn case(window: u32, status: CaseStatus, deadline: Option<(u32, u32)>, opened_min: i64) -> Case {
        use crate::domain::calendar::Deadline;
        Case {
            id: Uuid::from_u128(opened_min as u128 + 1),
            case_number: None,
            guide_code: "G".into(),
            guide_name: format!("事项{opened_min}"),
            guide_revision: 1,
            situation_id: None,
            window,
            ticket: None,
            applicant: None,
            checklist: Default::default(),
            status,
            opened_at: DateTime::from_timestamp(1_780_000_000 + opened_min * 60, 0).unwrap(),
            opened_by: "s001".into(),
            post: Post::A,
            accepted_on: None,
            deadline: deadline.map(|(m, d)| Deadline {
                date: chrono::NaiveDate::from_ymd_opt(2026, m, d).unwrap(),
                provisional: false,
            }),
            version: Default::default(),
            agent: None,
            ending: None,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000, 0).unwrap()
    }

    fn draft() -> HandoverDraft {
        HandoverDraft {
            reason: Some(AwayReason::Training),
            expected_return: Some(now() + chrono::Duration::hours(3)),
            pending: vec![PendingItem { text: " 回电\t张三 ".into(), due: None, done: false }],
            notes: "  第一行\x1b\n\n第二行  \n\n".into(),
        }
    }

    #[test]
    fn a_handover_lists_open_cases_by_deadline_and_parked_tickets() {
        let w = window(1, "s001", "s002");
        let cases = vec![
            case(1, CaseStatus::Accepted, Some((12, 9)), 3),
            case(1, CaseStatus::AwaitingMaterials, None, 1),
            case(1, CaseStatus::Dispatched, Some((12, 2)), 2),
            case(1, CaseStatus::Closed, Some((12, 1)), 4),
            case(2, CaseStatus::Accepted, Some((12, 1)), 5),
        ];
        let ticket = |n: &str, status: TicketStatus, window: Option<u32>| {
            let json = serde_json::json!({
                "id": Uuid::nil(), "number": n, "day": "2026-06-01", "priority": crate::domain::ticket::Priority::Normal, "status": status,
                "window": window, "issued_at": now(), "category": "A", "queued_at": now(),
            });
            serde_json::from_value::<Ticket>(json).unwrap()
        };
        let tickets = vec![
            ticket("A009", TicketStatus::Parked, Some(1)),
            ticket("A003", TicketStatus::Parked, Some(1)),
            ticket("A004", TicketStatus::Parked, Some(2)),
            ticket("A005", TicketStatus::Serving, Some(1)),
        ];
        let at = WindowAtHandover { window: &w, open_cases: &cases, tickets: &tickets };
        let h = handover_from(&at, HandoverKind::AToB, "s001", draft(), Uuid::from_u128(7), now()).unwrap();
        let names: Vec<&str> = h.open_cases.iter().map(|c| c.guide_name.as_str()).collect();
        assert_eq!(
            names,
            ["事项2", "事项3", "事项1"],
            "earliest deadline first, none last, closed and other windows left out"
        );
        assert_eq!(h.parked_tickets, vec!["A003".parse().unwrap(), "A009".parse().unwrap()]);
        assert_eq!((h.from_post, h.from_staff.as_str(), h.to_staff.as_str()), (Post::A, "s001", "s002"));
        assert_eq!(h.notes, "第一行\n\n第二行");
        assert_eq!(h.pending[0].text, "回电 张三");
        assert_eq!(h.kind(), HandoverKind::AToB);
        assert_eq!(
            h.duty_after(),
            DutyState::BCovering { reason: AwayReason::Training, expected_return: draft().expected_return }
        );
        assert!(h.awaits_acknowledgement_by("s002") && !h.awaits_acknowledgement_by("s001"));
        let json = serde_json::to_value(&h).unwrap();
        assert_eq!(serde_json::from_value::<Handover>(json).unwrap(), h);
    }

    #[test]
    fn handovers_are_written_by_the_right_post_and_checked() {
        let w = window(1, "s001", "s002");
        let at = WindowAtHandover { window: &w, open_cases: &[], tickets: &[] };
        let id = Uuid::from_u128(1);
        type Row = (&'static str, HandoverKind, &'static str, HandoverDraft, Option<&'static str>);
        let rows: Vec<Row> = vec![
            ("B cannot write A's handover", HandoverKind::AToB, "s002", draft(), Some("written_by")),
            (
                "A cannot take over in an emergency",
                HandoverKind::EmergencyTakeover,
                "s001",
                draft(),
                Some("written_by"),
            ),
            ("B takes over in an emergency", HandoverKind::EmergencyTakeover, "s002", draft(), None),
            (
                "a reason is needed",
                HandoverKind::AToB,
                "s001",
                HandoverDraft { reason: None, ..draft() },
                Some("reason"),
            ),
            (
                "return in the past",
                HandoverKind::AToB,
                "s001",
                HandoverDraft { expected_return: Some(now()), ..draft() },
                Some("expected_return"),
            ),
            (
                "a hand back needs a report",
                HandoverKind::HandBack,
                "s002",
                HandoverDraft { notes: " \n ".into(), ..draft() },
                Some("notes"),
            ),
            ("hand back", HandoverKind::HandBack, "s002", draft(), None),
            (
                "an empty handover",
                HandoverKind::AToB,
                "s001",
                HandoverDraft { notes: " ".into(), pending: Vec::new(), ..draft() },
                Some("notes"),
            ),
            (
                "empty to-do",
                HandoverKind::AToB,
                "s001",
                HandoverDraft { pending: vec![PendingItem { text: " ".into(), due: None, done: false }], ..draft() },
                Some("pending[0]"),
            ),
            (
                "notes too long",
                HandoverKind::AToB,
                "s001",
                HandoverDraft { notes: "字".repeat(MAX_NOTES_CHARS + 1), ..draft() },
                Some("notes"),
            ),
        ];
        for (name, kind, by, d, expected) in rows {
            match (handover_from(&at, kind, by, d, id, now()), expected) {
                (Ok(h), None) => {
                    assert_eq!(h.kind(), kind, "{name}");
                    assert_eq!(h.written_by, by, "{name}");
                }
                (Err(e), Some(field)) => assert_eq!(e.field, field, "{name}: {e}"),
                (got, _) => panic!("{name}: {got:?}"),
            }
        }
        let emergency = handover_from(&at, HandoverKind::EmergencyTakeover, "s002", draft(), id, now()).unwrap();
        assert!(emergency.emergency && emergency.from_staff == "s001" && emergency.to_staff == "s002");
        assert_eq!(emergency.acknowledger(), "s001", "A learns of the emergency takeover on return");
        let back = handover_from(&at, HandoverKind::HandBack, "s002", draft(), id, now()).unwrap();
        assert_eq!(
            (back.from_post, back.to_staff.as_str(), back.reason, back.expected_return),
            (Post::B, "s001", None, None)
        );
        assert_eq!(back.duty_after(), DutyState::AOnDuty);
        assert!(check_handover_roster(&w, &back).is_ok());
        assert!(check_handover_roster(&window(1, "s001", "s009"), &back).is_err(), "roster changed since");
    }

    #[test]
    fn acknowledgements_fold_once_and_only_from_the_receiver() {
        let w = window(1, "s001", "s002");
        let at = WindowAtHandover { window: &w, open_cases: &[], tickets: &[] };
        let first = handover_from(&at, HandoverKind::AToB, "s001", draft(), Uuid::from_u128(1), now()).unwrap();
        let later = now() + chrono::Duration::hours(1);
        let back = handover_from(&at, HandoverKind::HandBack, "s002", draft(), Uuid::from_u128(2), later).unwrap();
        let ack = |by: &str, note: &str| Acknowledgement { by: by.into(), at: later, note: note.into() };
        assert!(acknowledge(&first, "s001", "", later).is_err(), "A does not acknowledge A's own handover");
        let by_b = acknowledge(&first, "s002", " 收到\n", later).unwrap();
        assert_eq!(by_b.note, "收到");
        let events = vec![
            // An acknowledgement can arrive before its handover.
            HandoverEvent::Acknowledged { handover_id: first.id, ack: ack("s001", "不算") },
            HandoverEvent::Acknowledged { handover_id: first.id, ack: ack("s002", "收到") },
            HandoverEvent::Written(Box::new(first.clone())),
            HandoverEvent::Acknowledged { handover_id: first.id, ack: ack("s002", "第二次") },
            HandoverEvent::Written(Box::new(back.clone())),
            HandoverEvent::Written(Box::new(back.clone())),
        ];
        let history = fold_history(events);
        assert_eq!(
            history.iter().map(|h| h.id).collect::<Vec<_>>(),
            vec![back.id, first.id],
            "newest first, once each"
        );
        assert_eq!(history[1].acknowledged.as_ref().unwrap().note, "收到");
        assert!(acknowledge(&history[1], "s002", "", later).is_err(), "acknowledged once");
        assert_eq!(unacknowledged_for(&history, "s001").map(|h| h.id), Some(back.id));
        assert_eq!(unacknowledged_for(&history, "s002"), None);
        assert_eq!(covering_since(&history), None, "handed back: not covering");
        assert_eq!(covering_since(&history[1..]).map(|h| h.id), Some(first.id));
    }

    #[test]
    fn of_two_acknowledgements_by_the_receiver_the_earliest_stands_in_any_arrival_order() {
        let w = window(1, "s001", "s002");
        let at = WindowAtHandover { window: &w, open_cases: &[], tickets: &[] };
        let h = handover_from(&at, HandoverKind::AToB, "s001", draft(), Uuid::from_u128(1), now()).unwrap();
        let ack = |minutes: i64, note: &str| Acknowledgement {
            by: "s002".into(),
            at: now() + chrono::Duration::minutes(minutes),
            note: note.into(),
        };
        let (early, late) = (ack(1, "在二号机确认"), ack(5, "在一号机确认"));
        for order in [[early.clone(), late.clone()], [late.clone(), early.clone()]] {
            let mut folded = h.clone();
            for a in order.clone() {
                fold_acknowledgement(&mut folded, a);
            }
            assert_eq!(folded.acknowledged.as_ref(), Some(&early), "{order:?}");
            let events = order
                .into_iter()
                .map(|ack| HandoverEvent::Acknowledged { handover_id: h.id, ack })
                .chain([HandoverEvent::Written(Box::new(h.clone()))]);
            assert_eq!(fold_history(events)[0].acknowledged.as_ref(), Some(&early));
        }
        let mut by_a = h.clone();
        assert!(!fold_acknowledgement(&mut by_a, Acknowledgement { by: "s001".into(), ..early }));
        assert_eq!(by_a.acknowledged, None, "only the receiver acknowledges");
    }

    #[test]
    fn ticks_fold_onto_the_to_do_list_and_the_latest_wins() {
        let w = window(1, "s001", "s002");
        let at = WindowAtHandover { window: &w, open_cases: &[], tickets: &[] };
        let mut with_todos = draft();
        with_todos.pending = vec![
            PendingItem { text: "回电".into(), due: None, done: false },
            PendingItem { text: "补材料".into(), due: None, done: false },
        ];
        let h = handover_from(&at, HandoverKind::AToB, "s001", with_todos, Uuid::from_u128(1), now()).unwrap();
        let tick = |item, done| HandoverEvent::ItemChecked { handover_id: h.id, item, done };
        // A tick may arrive before its handover; one for an item that is not there is ignored.
        let history = fold_history(vec![
            tick(1, true),
            HandoverEvent::Written(Box::new(h.clone())),
            tick(0, true),
            tick(0, false),
            tick(9, true),
        ]);
        let done: Vec<bool> = history[0].pending.iter().map(|p| p.done).collect();
        assert_eq!(done, vec![false, true]);
    }
}
