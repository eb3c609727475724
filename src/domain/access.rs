//! Who may act at a window, for which action, in which duty state: the one statement of it.
//! The server's access check resolves it once per request (`server::access`), the upload of
//! records asks it for every record's window, and setting the duty asks it inside the store's
//! transaction; nothing else restates it.

use super::Invalid;
use super::center::{Post, Window};
use super::handover::{DutyState, HandoverKind, check_duty_permission};
use super::record::RecordBody;
use super::staff::Role;

/// The roles that issue tickets: the guidance desk, window clerks, admins (clause 4.2.2), and
/// the ticket kiosk, whose account can do nothing else.
pub const TICKET_ISSUERS: &[Role] = &[Role::GuidanceDesk, Role::WindowClerk, Role::Admin, Role::Kiosk];
/// The roles that check in appointments and put a no-show back into the line: people at the
/// desk and the windows, not a device.
pub const TICKET_DESK: &[Role] = &[Role::GuidanceDesk, Role::WindowClerk, Role::Admin];
/// The roles that follow the live queue: every person, and the hall's calling display.
pub const QUEUE_WATCHERS: &[Role] = &[Role::WindowClerk, Role::GuidanceDesk, Role::Admin, Role::Display];
/// Every signed-in person: the roles a route open to "any staff" admits. Devices are not staff:
/// each reaches only the routes that name its role.
pub use super::staff::PERSON_ROLES as PEOPLE;
/// The roles that keep a device log: window clerks, and the guidance desk for its inquiries on
/// window 0 ([`super::record::DESK_WINDOW`]). Each record's window is checked with
/// [`check_window_act`].
pub const LOG_WRITERS: &[Role] = &[Role::WindowClerk, Role::GuidanceDesk, Role::Admin];
/// The roles that work at counter windows (the window's post holders among them).
pub const WINDOW_STAFF: &[Role] = &[Role::WindowClerk, Role::Admin];

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
        RecordBody::HandoverAcknowledged { by, .. } => ("by", by.as_str()),
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
        RecordBody::CaseSnapshot(_) | RecordBody::WalkIn(_) | RecordBody::HandoverItemChecked { .. } => return Ok(()),
    };
    if acting != author {
        return Err(refused(field, format!("记录中的经办人 {acting} 与记录作者 {author} 不符，已拒绝")));
    }
    Ok(())
}

/// An acknowledgement of a handover the server holds is taken only from its addressee (B for A's
/// handover, A for a hand back or an emergency takeover). One of a handover not held yet is kept
/// and counts only if it is the addressee's ([`super::handover::fold_acknowledgement`]).
pub fn check_acknowledger(stored: Option<&super::handover::Handover>, by: &str) -> Result<(), Invalid> {
    match stored {
        Some(h) if h.acknowledger() != by => {
            Err(refused("by", format!("该交接应由 {} 确认，{by} 不能确认", h.acknowledger())))
        }
        _ => Ok(()),
    }
}

/// A case snapshot is kept only from the window that opened the case.
pub fn check_case_window(case_window_now: Option<u32>, record_window: u32) -> Result<(), Invalid> {
    match case_window_now {
        Some(w) if w != record_window => {
            Err(refused("window", format!("该办件属于 {w} 号窗口，{record_window} 号窗口不能修改")))
        }
        _ => Ok(()),
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
        assert!(check_case_window(Some(1), 1).is_ok() && check_case_window(None, 4).is_ok());
        assert!(check_case_window(Some(1), 4).is_err());
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
}
