//! Who may act at a window, for which action, in which duty state: the one statement of it.
//! The server's access check resolves it once per request (`server::access`), the upload of
//! records asks it for every record's window, and setting the duty asks it inside the store's
//! transaction; nothing else restates it.

use super::Invalid;
use super::case::{CaseStatus, CaseTransfer, CaseVersion, TransferKind};
use super::center::{Post, Window, WindowKind};
use super::handover::{DutyState, HandoverKind, check_duty_permission};
use super::record::RecordBody;
use super::staff::Role;

/// The roles that issue tickets: the guidance desk, window clerks, admins (clause 4.2.2), and
/// the ticket kiosk, whose account can do nothing else.
pub const TICKET_ISSUERS: &[Role] = &[Role::GuidanceDesk, Role::WindowClerk, Role::Admin, Role::Kiosk];
/// The roles that read the appointment slots: whoever issues tickets, and the director, who
/// reads the whole center.
pub const SLOT_READERS: &[Role] = &[Role::GuidanceDesk, Role::WindowClerk, Role::Admin, Role::Kiosk, Role::Director];
/// The roles that check in appointments and put a no-show back into the line: people at the
/// desk and the windows, not a device.
pub const TICKET_DESK: &[Role] = &[Role::GuidanceDesk, Role::WindowClerk, Role::Admin];
/// The roles that book and cancel appointments: the desk, and the online channel
/// ([`super::appointment::is_channel`]), which cancels only its own bookings.
pub const BOOKERS: &[Role] = &[Role::GuidanceDesk, Role::WindowClerk, Role::Admin, Role::OnlineChannel];
/// The roles that see the places left in each slot of a day: whoever books, and the director.
pub const FREE_PLACE_READERS: &[Role] =
    &[Role::GuidanceDesk, Role::WindowClerk, Role::Admin, Role::Director, Role::OnlineChannel];
/// The roles that follow the live queue: every person, and the hall's calling display.
pub const QUEUE_WATCHERS: &[Role] =
    &[Role::WindowClerk, Role::GuidanceDesk, Role::Admin, Role::Director, Role::Display];
/// The roles that see the director's board (the whole center at once): 中心负责人 and admins.
pub const BOARD_VIEWERS: &[Role] = &[Role::Director, Role::Admin];
/// The roles that fetch the supervision report of a period (the board's export): the same
/// center-wide readers; a clerk reads their own figures on the hall screen, not everyone's.
pub const REPORT_READERS: &[Role] = BOARD_VIEWERS;
/// The roles that see and take steps of 差评整改 follow-ups: clerks for their own windows, the
/// director (and an admin) for the center; which step is whose is
/// [`super::follow_up::FollowUp::check_step`].
pub const FOLLOW_UP_ROLES: &[Role] = &[Role::WindowClerk, Role::Admin, Role::Director];
/// Every signed-in person: the roles a route open to "any staff" admits. Devices are not staff:
/// each reaches only the routes that name its role.
pub use super::staff::PERSON_ROLES as PEOPLE;
/// The roles that keep a device log: window clerks, and the guidance desk for its inquiries on
/// window 0 ([`super::record::DESK_WINDOW`]). Each record's window is checked with
/// [`check_window_act`].
pub const LOG_WRITERS: &[Role] = &[Role::WindowClerk, Role::GuidanceDesk, Role::Admin];
/// The roles that upload records: the log writers, and the evaluators, whose logs hold only the
/// ratings of their window (`rating::check_rating_record`).
pub const RECORD_UPLOADERS: &[Role] = &[Role::WindowClerk, Role::GuidanceDesk, Role::Admin, Role::Evaluator];
/// The roles that work at counter windows (the window's post holders among them).
pub const WINDOW_STAFF: &[Role] = &[Role::WindowClerk, Role::Admin];

/// Who manages any center's roster, appointment slots and accounts over the county routes
/// (`/api/v1/centers/{center}/...`): clerks are staffed by the county (clause 5.1.1.1). A
/// center's admin does the same for their own center on the center's routes.
pub const COUNTY_MANAGERS: &[Role] = &[Role::CountyAdmin];

/// The roles that change the catalogue: a center admin (its own center's overlay, and the county
/// catalogue where there is no county admin) and the county admin; which is whose is
/// [`check_overlay_edit`] and [`check_catalogue_edit`].
pub const CATALOGUE_EDITORS: &[Role] = &[Role::Admin, Role::CountyAdmin];

/// Whether a caller with `role`, of center `own` (`None`: the county), may change center
/// `target`'s overlay on the county catalogue: the county admin for every center, a center admin
/// for their own; refused in Chinese.
pub fn check_overlay_edit(role: Role, own: Option<&str>, target: &str) -> Result<(), Invalid> {
    match (role, own) {
        (Role::CountyAdmin, None) => Ok(()),
        (Role::Admin, Some(own)) if own == target => Ok(()),
        (Role::Admin, Some(_)) => Err(refused("center", "只能维护本中心的事项设置，不能修改其他中心的")),
        _ => Err(refused("center", "只有本中心的管理员或县级管理员可以维护中心的事项设置")),
    }
}

/// Whether a caller with `role`, of center `own` (`None`: the county), may change the county
/// catalogue itself (import guides, add an alias every center sees). The county admin may. A
/// center admin may only while the database has no county admin (`county_admin_exists`): a
/// standalone or one-center server keeps working as before; once the county manages the
/// catalogue, a center changes its own overlay instead.
pub fn check_catalogue_edit(role: Role, own: Option<&str>, county_admin_exists: bool) -> Result<(), Invalid> {
    match (role, own) {
        (Role::CountyAdmin, None) => Ok(()),
        (Role::Admin, _) if !county_admin_exists => Ok(()),
        (Role::Admin, _) => Err(refused(
            "catalogue",
            "县级事项目录由县级管理员维护；本中心可隐藏事项、添加本地别名或修改办理地点和电话",
        )),
        _ => Err(refused("catalogue", "只有管理员可以修改事项目录")),
    }
}

/// What someone wants to do at a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowAct<'a> {
    /// See the window's cases, handovers and logs (applicants' data): either post holder,
    /// whatever the duty, since B prepares and A catches up.
    Read,
    /// Upload records of the window's logs. Records are written offline and arrive later, when
    /// the duty may have changed since: holding a post is what counts, as for `Read`.
    Record,
    /// Operate the window's queue (call, serve, transfer, pause): only the one acting for the
    /// window by its duty (A on duty, B while covering; nobody while the window is closed). A
    /// whose window B covers takes it back first (a hand back or setting the duty), so that the
    /// applicants are never called by two people at one window.
    Serve,
    /// Set the window's duty from `current` to `new` (clause 7.6.4).
    SetDuty { current: &'a DutyState, new: &'a DutyState },
}

/// Where the act happens.
#[derive(Debug, Clone, Copy)]
pub enum Place<'a> {
    /// The guidance desk's own log (window 0): its inquiries.
    Desk,
    /// A counter window, its post holders and its duty now.
    Counter { window: &'a Window, duty: &'a DutyState },
    /// A window number the center does not have.
    Unknown(u32),
}

/// How the caller stands at the window, when they may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Admin,
    /// 中心负责人: reads any counter window, acts at none.
    Director,
    /// The guidance desk at its own log.
    Desk,
    Holder(Post),
    /// The evaluator device facing the window.
    Evaluator,
}

/// Whether the account `staff` is the evaluator facing window `number`: its account names the
/// window ([`super::staff::evaluator_window`]); any other account, and another window's
/// evaluator, is refused. Not even an admin rates for the applicant.
pub fn check_evaluator(staff: &super::staff::Staff, number: u32) -> Result<Standing, Invalid> {
    match super::staff::evaluator_window(staff) {
        Some(w) if w == number => Ok(Standing::Evaluator),
        Some(w) => Err(refused("window", format!("本评价器面向 {w} 号窗口，不能用于 {number} 号窗口"))),
        None => Err(refused("window", format!("只有 {number} 号窗口的评价器可以使用此功能"))),
    }
}

fn refused(field: &str, message: impl Into<String>) -> Invalid {
    Invalid { field: field.into(), message: message.into() }
}

/// Whether staff member `staff_id` with `role` may do `act` at `place`; refused with the reason
/// in Chinese. An admin may do anything anywhere.
pub fn check_window_act(staff_id: &str, role: Role, place: Place<'_>, act: WindowAct<'_>) -> Result<Standing, Invalid> {
    if role == Role::Admin {
        return Ok(Standing::Admin);
    }
    let (window, duty) = match place {
        Place::Desk => {
            return match (role, act) {
                (Role::GuidanceDesk, WindowAct::Read | WindowAct::Record) => Ok(Standing::Desk),
                _ => Err(refused("window", "只有咨询导办可以使用导办台的记录")),
            };
        }
        Place::Counter { .. } if role == Role::Director => {
            return match act {
                WindowAct::Read => Ok(Standing::Director),
                _ => Err(refused("window", "中心负责人只能查看窗口，不能代为办理")),
            };
        }
        Place::Counter { window, duty } => (window, duty),
        Place::Unknown(number) => return Err(refused("window", format!("你不是 {number} 号窗口的A岗或B岗"))),
    };
    let number = window.number;
    if !WINDOW_STAFF.contains(&role) {
        return Err(refused("window", format!("{}不能查看或操作窗口的办件", role.label())));
    }
    let Some(post) = window.post_of(staff_id) else {
        return Err(refused("window", format!("你不是 {number} 号窗口的A岗或B岗")));
    };
    match act {
        WindowAct::Read | WindowAct::Record => Ok(Standing::Holder(post)),
        WindowAct::Serve => match (duty.acting_post(), post) {
            (Some(acting), post) if acting == post => Ok(Standing::Holder(post)),
            (Some(_), Post::B) => {
                Err(refused("duty", format!("{number} 号窗口A岗在岗，B岗不能代为叫号；A岗离开时请先交接或紧急顶岗")))
            }
            (Some(_), Post::A) => {
                Err(refused("duty", format!("{number} 号窗口正由B岗顶岗，A岗回岗须先接回窗口（B岗交回或设为A岗在岗）")))
            }
            (None, _) => Err(refused("duty", format!("{number} 号窗口暂停服务，请先恢复值班"))),
        },
        WindowAct::SetDuty { current, new } => {
            check_duty_permission(window, staff_id, false, current, new).map(|()| Standing::Holder(post))
        }
    }
}

/// Who uploads a record: the signed-in staff member, and the staff who had a session on the
/// record's device (a shared PC: what another clerk wrote there earlier keeps its author).
#[derive(Debug, Clone, Copy)]
pub struct Uploader<'a> {
    pub staff_id: &'a str,
    pub device_staff: &'a [String],
}

/// Whether an uploaded record's identity holds: identity comes from the session, not from what
/// the terminal says. The author is the signed-in staff member, or someone who had a session on
/// the record's device; who the record says acted (the acknowledger, the handover's writer, who
/// gave the notice, answered the inquiry or was rated) is its author; a handover is written by
/// the one who hands over, or, for an emergency takeover, by the one who takes over, so a B who
/// writes "A handed over to me" without marking it an emergency is refused.
pub fn check_record_identity(uploader: Uploader<'_>, author: &str, body: Option<&RecordBody>) -> Result<(), Invalid> {
    if author != uploader.staff_id && !uploader.device_staff.iter().any(|s| s == author) {
        return Err(refused("author", format!("记录作者 {author} 不是当前登录的人员，也未在这台终端登录过，已拒绝")));
    }
    // A kind this server does not know is kept in the log only: its author is all there is.
    let Some(body) = body else { return Ok(()) };
    let (field, acting) = match body {
        RecordBody::HandoverAcknowledged { by, .. } | RecordBody::HandoverWithdrawn { by, .. } => ("by", by.as_str()),
        RecordBody::HandoverWritten(h) => {
            let writer = if h.written_by.is_empty() { author } else { h.written_by.as_str() };
            let must_write = match h.kind() {
                HandoverKind::EmergencyTakeover => &h.to_staff,
                HandoverKind::AToB | HandoverKind::HandBack => &h.from_staff,
            };
            if writer != must_write {
                return Err(refused(
                    "written_by",
                    format!("{}应由 {must_write} 填写，{writer} 不能代写（A岗不在时请使用紧急顶岗）", h.kind().label()),
                ));
            }
            ("written_by", writer)
        }
        RecordBody::NoticeGiven(n) => ("given_by", n.given_by.as_str()),
        RecordBody::InquiryRecorded(i) => ("first_responder", i.first_responder.as_str()),
        RecordBody::RatingRecorded(r) => ("staff", r.staff.as_str()),
        RecordBody::CaseTransferred(t) => ("by", t.by.as_str()),
        // Who ended a case without accepting it (撤销, 撤回, 不予受理) is its author.
        RecordBody::CaseSnapshot(case) if case.ending.is_some() => {
            ("ending.by", case.ending.as_ref().map_or("", |e| e.by.as_str()))
        }
        // The evaluator's rating names nobody but its author (the evaluator's account).
        RecordBody::CaseSnapshot(_)
        | RecordBody::Visit(_)
        | RecordBody::HandoverItemChecked { .. }
        | RecordBody::TicketRated(_) => return Ok(()),
    };
    if acting != author {
        return Err(refused(field, format!("记录中的经办人 {acting} 与记录作者 {author} 不符，已拒绝")));
    }
    Ok(())
}

/// An acknowledgement is taken only for a handover the server already holds (stored, or earlier
/// in the same upload), and only from its addressee (B for A's handover, A for a hand back or an
/// emergency takeover). One that comes first is refused: nobody could know whether it is the
/// addressee's. An honest terminal only acknowledges what it has seen, so it keeps the record in
/// its outbox and it is taken at a later round, once the handover is there.
pub fn check_acknowledger(stored: Option<&super::handover::Handover>, by: &str) -> Result<(), Invalid> {
    match stored {
        None => Err(refused("handover_id", "该交接尚未送达服务器，不能先确认；交接送达后会再上传")),
        Some(h) if h.acknowledger() != by => {
            Err(refused("by", format!("该交接应由 {} 确认，{by} 不能确认", h.acknowledger())))
        }
        Some(_) => Ok(()),
    }
}

/// A withdrawal of a handover the server holds is taken only from its writer.
pub fn check_withdrawer(stored: Option<&super::handover::Handover>, by: &str) -> Result<(), Invalid> {
    match stored {
        Some(h) if h.writer() != by => Err(refused("by", format!("该交接由 {} 填写，{by} 不能撤回", h.writer()))),
        _ => Ok(()),
    }
}

/// Which window a case snapshot comes from, as far as the case is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseWindow {
    /// The window that holds the case (or a case the server does not hold yet).
    Holder,
    /// A window the case was moved away from (转办 or taken over): its change is kept as a
    /// conflict, not applied, since it may have been made before it learned of the move.
    Former,
}

/// A case belongs to the window that opened it, until a recorded transfer moves it
/// ([`check_case_transfer`]): a snapshot is kept only from the window holding the case, or, as a
/// conflict, from one that held it before; any other window is refused.
pub fn check_case_window(holder: Option<u32>, held_before: &[u32], record_window: u32) -> Result<CaseWindow, Invalid> {
    match holder {
        Some(w) if w != record_window && held_before.contains(&record_window) => Ok(CaseWindow::Former),
        Some(w) if w != record_window => {
            Err(refused("window", format!("该办件属于 {w} 号窗口，{record_window} 号窗口不能修改")))
        }
        _ => Ok(CaseWindow::Holder),
    }
}

/// How a case snapshot stands against the version the server holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseOrder {
    /// The next version, edited from the one held (or the first the server sees): stored.
    Next,
    /// The very version already held (the same change sent again).
    Held,
    /// Made from another version than the one held (another terminal's change came first):
    /// kept as a conflict and shown, never applied and never dropped.
    Stale,
}

/// Orders a case's changes by its version, never by a clock: a snapshot counts only when it is
/// the next version after the one held and was edited from exactly that one. Records older than
/// versions (version 0) are taken in arrival order while the case has no versions; once it has,
/// an unversioned change cannot show what it was made from and is a conflict.
pub fn order_case_change(held: Option<CaseVersion>, incoming: CaseVersion) -> CaseOrder {
    let Some(held) = held else { return CaseOrder::Next };
    if incoming.version_id.is_some() && incoming.version_id == held.version_id {
        return CaseOrder::Held;
    }
    match (held.version, incoming.version) {
        (0, 0) => CaseOrder::Next,
        (_, 0) => CaseOrder::Stale,
        (h, v) if v == h + 1 && incoming.based_on == held.version_id => CaseOrder::Next,
        _ => CaseOrder::Stale,
    }
}

/// Whether a case may move as `transfer` says: the case is held by the window it leaves, the
/// window it goes to is another counter window, and the step is recorded by the right window (the
/// one giving it away, or the one taking it over). Taking over is for the returning applicant
/// (补正 after a one-time notice): only at a 综合受理 window and only while the materials are still
/// being collected.
pub fn check_case_transfer(
    transfer: &CaseTransfer,
    holder: Option<(u32, CaseStatus)>,
    to: Option<&Window>,
) -> Result<(), Invalid> {
    let Some((holder, status)) = holder else {
        return Err(refused("case_id", "服务器上没有这个办件，不能转办"));
    };
    if transfer.from_window != holder {
        return Err(refused(
            "from_window",
            format!("该办件现属 {holder} 号窗口，不能从 {} 号窗口转出", transfer.from_window),
        ));
    }
    let Some(to) = to else {
        return Err(refused("to_window", format!("没有 {} 号窗口", transfer.to_window)));
    };
    if to.number == holder {
        return Err(refused("to_window", "办件已在本窗口"));
    }
    if !status.is_open() {
        return Err(refused("status", format!("办件已{}，不能转办", status.label())));
    }
    if transfer.step == TransferKind::Takeover {
        if to.kind != WindowKind::ComprehensiveAcceptance {
            return Err(refused("to_window", "只有综合受理窗口可以接续办理"));
        }
        if !matches!(status, CaseStatus::Intake | CaseStatus::AwaitingMaterials) {
            return Err(refused("status", format!("办件已{}，不能接续收件", status.label())));
        }
    }
    Ok(())
}

/// Who may look a returning applicant's case up by notice number, case number, ID number or name
/// and phone, across windows: a holder of a post at a 综合受理 window (where applicants come
/// back), or an admin. The reads are audited.
pub fn check_case_search(staff_id: &str, role: Role, windows: &[Window]) -> Result<(), Invalid> {
    if role == Role::Admin
        || (WINDOW_STAFF.contains(&role)
            && windows.iter().any(|w| w.kind == WindowKind::ComprehensiveAcceptance && w.post_of(staff_id).is_some()))
    {
        Ok(())
    } else {
        Err(refused("role", "只有综合受理窗口的人员可以查找办件"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::handover::AwayReason;

    fn window() -> Window {
        Window {
            number: 1,
            name: "一号窗口".into(),
            kind: crate::domain::center::WindowKind::ComprehensiveAcceptance,
            a_holder: "s001".into(),
            b_holder: "s002".into(),
            categories: vec!['A'],
        }
    }

    #[test]
    fn only_the_one_acting_by_the_duty_serves() {
        let w = window();
        let covering = DutyState::BCovering { reason: AwayReason::Meeting, expected_return: None };
        let serve = |who: &str, role: Role, duty: &DutyState| {
            check_window_act(who, role, Place::Counter { window: &w, duty }, WindowAct::Serve).is_ok()
        };
        type Row = (&'static str, &'static str, Role, DutyState, bool);
        let rows: Vec<Row> = vec![
            ("A on duty serves", "s001", Role::WindowClerk, DutyState::AOnDuty, true),
            ("B does not while A is on duty", "s002", Role::WindowClerk, DutyState::AOnDuty, false),
            ("B serves while covering", "s002", Role::WindowClerk, covering.clone(), true),
            ("A does not while B covers", "s001", Role::WindowClerk, covering.clone(), false),
            ("nobody at a closed window: A", "s001", Role::WindowClerk, DutyState::Closed, false),
            ("nobody at a closed window: B", "s002", Role::WindowClerk, DutyState::Closed, false),
            ("another window's clerk", "s003", Role::WindowClerk, DutyState::AOnDuty, false),
            ("the guidance desk", "d001", Role::GuidanceDesk, DutyState::AOnDuty, false),
            ("an admin, closed or not", "admin", Role::Admin, DutyState::Closed, true),
            ("the director reads, never serves", "z001", Role::Director, DutyState::AOnDuty, false),
        ];
        for (name, who, role, duty, ok) in rows {
            assert_eq!(serve(who, role, &duty), ok, "{name}");
        }
    }

    #[test]
    fn either_post_reads_and_records_whatever_the_duty() {
        let w = window();
        for duty in [DutyState::AOnDuty, DutyState::Closed] {
            for act in [WindowAct::Read, WindowAct::Record] {
                let at = Place::Counter { window: &w, duty: &duty };
                assert_eq!(check_window_act("s001", Role::WindowClerk, at, act), Ok(Standing::Holder(Post::A)));
                assert_eq!(check_window_act("s002", Role::WindowClerk, at, act), Ok(Standing::Holder(Post::B)));
                assert!(check_window_act("s003", Role::WindowClerk, at, act).is_err());
                assert!(check_window_act("d001", Role::GuidanceDesk, at, act).is_err());
            }
        }
        assert_eq!(check_window_act("d001", Role::GuidanceDesk, Place::Desk, WindowAct::Record), Ok(Standing::Desk));
        let at = Place::Counter { window: &w, duty: &DutyState::AOnDuty };
        assert_eq!(check_window_act("z001", Role::Director, at, WindowAct::Read), Ok(Standing::Director));
        assert!(check_window_act("z001", Role::Director, at, WindowAct::Record).is_err(), "the director writes no log");
        assert!(check_window_act("z001", Role::Director, Place::Desk, WindowAct::Read).is_err());
        assert!(check_window_act("s001", Role::WindowClerk, Place::Desk, WindowAct::Read).is_err());
        assert!(check_window_act("d001", Role::GuidanceDesk, Place::Desk, WindowAct::Serve).is_err());
    }

    #[test]
    fn a_record_names_its_uploader_or_someone_signed_in_on_its_device() {
        use crate::domain::handover::{HandoverDraft, HandoverKind, WindowAtHandover, handover_from};
        let w = window();
        let at = WindowAtHandover { window: &w, open_cases: &[], tickets: &[] };
        let draft =
            HandoverDraft { reason: Some(AwayReason::Leave), notes: "下午请假".into(), ..HandoverDraft::default() };
        let now = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let a_to_b = handover_from(&at, HandoverKind::AToB, "s001", draft.clone(), uuid::Uuid::nil(), now).unwrap();
        let takeover =
            handover_from(&at, HandoverKind::EmergencyTakeover, "s002", draft, uuid::Uuid::nil(), now).unwrap();
        let bound = ["s001".to_owned()];
        let b_here = Uploader { staff_id: "s002", device_staff: &bound };
        let written = |h: &crate::domain::handover::Handover| RecordBody::HandoverWritten(Box::new(h.clone()));
        assert!(check_record_identity(b_here, "s001", Some(&written(&a_to_b))).is_ok(), "A wrote it on this PC");
        assert!(check_record_identity(b_here, "s002", Some(&written(&takeover))).is_ok(), "B's marked takeover");
        let mut unmarked = a_to_b.clone();
        unmarked.written_by = "s002".into();
        let e = check_record_identity(b_here, "s002", Some(&written(&unmarked))).unwrap_err();
        assert_eq!(e.field, "written_by");
        let nobody_here = Uploader { staff_id: "s002", device_staff: &[] };
        assert_eq!(check_record_identity(nobody_here, "s001", None).unwrap_err().field, "author");
        let ack = RecordBody::HandoverAcknowledged {
            handover_id: a_to_b.id,
            by: "s002".into(),
            at: now,
            note: String::new(),
        };
        assert_eq!(check_record_identity(b_here, "s001", Some(&ack)).unwrap_err().field, "by");
        assert_eq!(check_case_window(Some(1), &[], 1), Ok(CaseWindow::Holder));
        assert_eq!(check_case_window(None, &[], 4), Ok(CaseWindow::Holder));
        assert!(check_case_window(Some(1), &[], 4).is_err());
        assert_eq!(check_case_window(Some(2), &[1], 1), Ok(CaseWindow::Former), "moved away: a conflict");
    }

    #[test]
    fn the_duty_is_set_by_the_duty_rules() {
        let w = window();
        let (on, closed) = (DutyState::AOnDuty, DutyState::Closed);
        let at = Place::Counter { window: &w, duty: &on };
        let set = |who, current, new| {
            check_window_act(who, Role::WindowClerk, at, WindowAct::SetDuty { current, new }).is_ok()
        };
        assert!(set("s001", &on, &closed));
        assert!(!set("s002", &on, &closed), "B cannot close A's window");
        assert!(!set("s003", &on, &closed));
    }

    #[test]
    fn a_case_change_counts_only_on_the_version_it_was_made_from() {
        let id = |n: u128| Some(uuid::Uuid::from_u128(n));
        let v = |version, version_id, based_on| CaseVersion { version, version_id, based_on };
        let held = v(3, id(3), id(2));
        type Row = (&'static str, Option<CaseVersion>, CaseVersion, CaseOrder);
        let rows: Vec<Row> = vec![
            ("a case new to the server", None, v(5, id(5), id(4)), CaseOrder::Next),
            ("the next version of the held one", Some(held), v(4, id(4), id(3)), CaseOrder::Next),
            ("the held version again", Some(held), held, CaseOrder::Held),
            ("another terminal's version 3, made from 2", Some(held), v(3, id(33), id(2)), CaseOrder::Stale),
            ("version 4 made on that other version 3", Some(held), v(4, id(44), id(33)), CaseOrder::Stale),
            ("a version from the past", Some(held), v(2, id(22), id(1)), CaseOrder::Stale),
            ("a version from the future", Some(held), v(9, id(9), id(3)), CaseOrder::Stale),
            ("an old terminal's unversioned change", Some(held), CaseVersion::default(), CaseOrder::Stale),
            ("old on old: arrival order", Some(CaseVersion::default()), CaseVersion::default(), CaseOrder::Next),
            ("the first version on an old case", Some(CaseVersion::default()), v(1, id(1), None), CaseOrder::Next),
        ];
        for (name, held, incoming, order) in rows {
            assert_eq!(order_case_change(held, incoming), order, "{name}");
        }
    }

    #[test]
    fn a_case_moves_only_from_its_window_and_is_taken_over_only_at_a_comprehensive_window() {
        use crate::domain::center::WindowKind;
        let mut two = window();
        two.number = 2;
        let mut four = window();
        four.number = 4;
        four.kind = WindowKind::Department;
        let t = |from, to, kind| CaseTransfer {
            case_id: uuid::Uuid::nil(),
            from_window: from,
            to_window: to,
            step: kind,
            by: "s003".into(),
            at: chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap(),
            reason: String::new(),
        };
        let waiting = Some((1, CaseStatus::AwaitingMaterials));
        assert!(check_case_transfer(&t(1, 2, TransferKind::Takeover), waiting, Some(&two)).is_ok());
        assert!(check_case_transfer(&t(1, 4, TransferKind::Transfer), waiting, Some(&four)).is_ok());
        assert_eq!(
            check_case_transfer(&t(1, 4, TransferKind::Takeover), waiting, Some(&four)).unwrap_err().field,
            "to_window"
        );
        assert_eq!(
            check_case_transfer(&t(3, 2, TransferKind::Takeover), waiting, Some(&two)).unwrap_err().field,
            "from_window"
        );
        assert_eq!(
            check_case_transfer(&t(1, 2, TransferKind::Takeover), None, Some(&two)).unwrap_err().field,
            "case_id"
        );
        let accepted = Some((1, CaseStatus::Accepted));
        assert_eq!(
            check_case_transfer(&t(1, 2, TransferKind::Takeover), accepted, Some(&two)).unwrap_err().field,
            "status"
        );
        assert!(check_case_transfer(&t(1, 2, TransferKind::Transfer), accepted, Some(&two)).is_ok());
        assert!(check_case_search("s001", Role::WindowClerk, &[window()]).is_ok());
        assert!(check_case_search("s005", Role::WindowClerk, &[window(), four.clone()]).is_err());
        assert!(check_case_search("d001", Role::GuidanceDesk, &[window()]).is_err());
    }
}
