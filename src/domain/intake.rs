//! What a clerk does with a case, as rules: open it from a guide and situation, check materials,
//! give the one-time notice, accept with a promised deadline, finish on the spot, dispatch to
//! the department, record its result and deliver. Every function checks the case's state first
//! and says in Chinese why a step is not allowed.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::Invalid;
use super::calendar::{Deadline, WorkCalendar};
use super::case::{Case, CaseEnding, CaseStatus, Checklist, ChecklistItem, EndKind, MaterialCheck};
use super::center::Post;
use super::guide::{Handling, ServiceGuide};
use super::notice::OneTimeNotice;
use super::text::clean_line;
use super::ticket::TicketNumber;

fn refuse(field: &str, message: impl Into<String>) -> Invalid {
    Invalid { field: field.to_owned(), message: message.into() }
}

/// Who opens a case, where, for which ticket.
pub struct Opening<'a> {
    pub window: u32,
    pub post: Post,
    pub staff_id: &'a str,
    pub ticket: Option<TicketNumber>,
}

/// Opens a case for a guide's situation, with that situation's materials as the checklist.
pub fn open_case(
    guide: &ServiceGuide,
    situation_id: Option<&str>,
    by: &Opening,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Case, Invalid> {
    if let Some(s) = situation_id
        && !guide.situations.iter().any(|x| x.id == s)
    {
        return Err(refuse("situation_id", format!("事项“{}”没有这个业务情形", guide.name)));
    }
    if situation_id.is_none() && !guide.situations.is_empty() {
        return Err(refuse("situation_id", "请先选择业务情形"));
    }
    Ok(Case {
        id,
        case_number: None,
        guide_code: guide.code.clone(),
        guide_name: guide.name.clone(),
        guide_revision: guide.revision,
        situation_id: situation_id.map(str::to_owned),
        window: by.window,
        ticket: by.ticket,
        applicant: None,
        checklist: Checklist::for_situation(guide, situation_id),
        status: CaseStatus::Intake,
        opened_at: now,
        opened_by: by.staff_id.to_owned(),
        post: by.post,
        accepted_on: None,
        deadline: None,
        version: super::case::CaseVersion::first(id),
        agent: None,
        ending: None,
    })
}

fn in_intake(case: &Case) -> Result<(), Invalid> {
    match case.status {
        CaseStatus::Intake | CaseStatus::AwaitingMaterials => Ok(()),
        other => Err(refuse("status", format!("办件已{}，不能再修改材料", other.label()))),
    }
}

/// The checklist line of `material_id`, or why there is none.
fn checklist_item<'c>(case: &'c mut Case, material_id: &str) -> Result<&'c mut ChecklistItem, Invalid> {
    case.checklist
        .items
        .iter_mut()
        .find(|i| i.material_id == material_id)
        .ok_or_else(|| refuse("material_id", "清单中没有这项材料"))
}

/// Marks one material received, missing or not applicable, with an optional note.
pub fn set_material(
    case: &mut Case,
    material_id: &str,
    state: MaterialCheck,
    note: Option<&str>,
) -> Result<(), Invalid> {
    in_intake(case)?;
    let item = checklist_item(case, material_id)?;
    match state {
        MaterialCheck::NotApplicable if !item.is_conditional() => {
            return Err(refuse(
                "state",
                format!("“{}”是必交材料，不能标为不适用；缺少时请标“缺”，或按指南容缺受理", item.name),
            ));
        }
        MaterialCheck::Deferred if item.deferral_days.is_none() => {
            return Err(refuse("state", format!("办事指南未允许“{}”容缺受理，缺少时请标“缺”", item.name)));
        }
        _ => {}
    }
    item.state = state;
    item.due_on = None;
    if let Some(note) = note {
        let note = clean_line(note).trim().to_owned();
        if note.chars().count() > 100 {
            return Err(refuse("note", "备注不能超过 100 个字"));
        }
        item.note = note;
    }
    Ok(())
}

/// Gives the one-time notice: every missing item, at once. The law says once: a further notice
/// for the same case needs a recorded reason.
pub fn give_notice(
    case: &mut Case,
    earlier: &[OneTimeNotice],
    number: String,
    id: Uuid,
    by: &str,
    now: DateTime<Utc>,
    repeat_reason: Option<&str>,
) -> Result<OneTimeNotice, Invalid> {
    in_intake(case)?;
    if case.checklist.items.iter().any(|i| i.state == MaterialCheck::Unchecked) {
        return Err(refuse("checklist", "还有材料未核验：请逐项核验后再一次性告知"));
    }
    let missing: Vec<_> = case.checklist.missing().cloned().collect();
    if missing.is_empty() {
        return Err(refuse("checklist", "材料齐全，无需告知，可直接受理"));
    }
    let repeat_reason = repeat_reason.map(|r| clean_line(r).trim().to_owned()).filter(|r| !r.is_empty());
    let given_before = earlier.iter().any(|n| n.case_id == case.id);
    if given_before && repeat_reason.is_none() {
        return Err(refuse("repeat_reason", "本办件已一次性告知过；再次告知须填写原因"));
    }
    case.status = CaseStatus::AwaitingMaterials;
    Ok(OneTimeNotice {
        id,
        number,
        case_id: case.id,
        missing,
        given_at: now,
        given_by: by.to_owned(),
        window: case.window,
        repeat_reason: if given_before { repeat_reason } else { None },
    })
}

fn complete(case: &Case) -> Result<(), Invalid> {
    if case.applicant.is_none() {
        return Err(refuse("applicant", "请先录入申请人信息"));
    }
    if case.checklist.is_complete() {
        return Ok(());
    }
    let unsettled: Vec<_> = case.checklist.items.iter().filter(|i| !i.is_settled()).collect();
    // Say what to do about the first one: a required item marked 不适用 (possible in records
    // made before the rule) is the clerk's to correct, not a missing paper.
    let hint = match unsettled.first() {
        Some(i) if i.state == MaterialCheck::NotApplicable => format!("：“{}”是必交材料，不能不适用", i.name),
        Some(i) if i.state == MaterialCheck::Unchecked => format!("：“{}”尚未核验", i.name),
        Some(i) if i.deferral_days.is_some() => format!("：“{}”可按指南容缺受理（l）", i.name),
        Some(i) => format!("：缺“{}”", i.name),
        None => String::new(),
    };
    Err(refuse("checklist", format!("还有 {} 项材料未收齐，不能受理{hint}", unsettled.len())))
}

/// Sets the due date of every deferred (容缺) item at acceptance: its guide's working days
/// after the day of acceptance.
fn set_deferral_dues(case: &mut Case, today: NaiveDate, calendar: &WorkCalendar) {
    for item in &mut case.checklist.items {
        if item.state == MaterialCheck::Deferred {
            item.due_on = item.deferral_days.map(|n| calendar.add_working_days(today, n).date);
        }
    }
}

/// A deferred (容缺) material brought in after acceptance: received, the commitment kept.
pub fn receive_deferred(case: &mut Case, material_id: &str) -> Result<(), Invalid> {
    if !case.status.is_open() {
        return Err(refuse("status", format!("办件已{}", case.status.label())));
    }
    let item = checklist_item(case, material_id)?;
    if item.state != MaterialCheck::Deferred {
        return Err(refuse("state", format!("“{}”不是容缺材料", item.name)));
    }
    item.state = MaterialCheck::Received;
    Ok(())
}

/// The longest reason a clerk can give for ending a case.
pub const MAX_END_REASON_CHARS: usize = 200;

/// Ends a case that was not accepted: opened by mistake (only before anything was told to the
/// applicant), withdrawn by the applicant, or 不予受理 (with a reason, printed on the notice
/// numbered `notice_number`). The case leaves the open list (已终止); the ending is recorded.
pub fn end_case(
    case: &mut Case,
    kind: EndKind,
    reason: &str,
    by: &str,
    now: DateTime<Utc>,
    notice_number: Option<String>,
) -> Result<(), Invalid> {
    match case.status {
        CaseStatus::Intake | CaseStatus::AwaitingMaterials => {}
        other => return Err(refuse("status", format!("办件已{}，不能再终止", other.label()))),
    }
    if kind == EndKind::Cancelled && case.status == CaseStatus::AwaitingMaterials {
        return Err(refuse("kind", "已向申请人一次性告知，不能作为误开撤销；请选择申请人撤回或不予受理"));
    }
    let reason = clean_line(reason).trim().to_owned();
    if reason.chars().count() > MAX_END_REASON_CHARS {
        return Err(refuse("reason", format!("原因不能超过 {MAX_END_REASON_CHARS} 个字")));
    }
    if kind == EndKind::Refused && reason.is_empty() {
        return Err(refuse("reason", "不予受理须写明理由（将打印在不予受理告知书上）"));
    }
    if kind == EndKind::Refused && notice_number.is_none() {
        return Err(refuse("notice_number", "不予受理须有告知书编号"));
    }
    case.status = CaseStatus::Ended;
    case.ending = Some(CaseEnding {
        kind,
        reason,
        at: now,
        by: by.to_owned(),
        notice_number: if kind == EndKind::Refused { notice_number } else { None },
    });
    Ok(())
}

/// Accepts a complete case and sets the promised deadline: N working days counted from the day
/// after acceptance. Where the guide allows 收件即受理 (clause 7.2.4) the window accepts; where it
/// does not, the window takes the materials in and forwards them to the department, which
/// accepts (the case goes straight to 已分办).
pub fn accept(
    case: &mut Case,
    guide: &ServiceGuide,
    case_number: String,
    today: NaiveDate,
    calendar: &WorkCalendar,
) -> Result<Deadline, Invalid> {
    in_intake(case)?;
    complete(case)?;
    let deadline = calendar.add_working_days(today, guide.promised_limit_days);
    set_deferral_dues(case, today, calendar);
    case.case_number = Some(case_number);
    case.accepted_on = Some(today);
    case.deadline = Some(deadline);
    case.status = if guide.accept_on_receipt { CaseStatus::Accepted } else { CaseStatus::Dispatched };
    Ok(deadline)
}

/// Finishes a 即办件 on the spot: accepted and closed at once.
pub fn finish_on_spot(
    case: &mut Case,
    guide: &ServiceGuide,
    case_number: String,
    today: NaiveDate,
) -> Result<(), Invalid> {
    in_intake(case)?;
    complete(case)?;
    if let Some(item) = case.checklist.deferred().next() {
        return Err(refuse("checklist", format!("当场办结不能容缺：请收齐“{}”", item.name)));
    }
    if guide.handling != Handling::OnTheSpot {
        return Err(refuse("guide", format!("本事项是承诺件（{} 个工作日），不能当场办结", guide.promised_limit_days)));
    }
    case.case_number = Some(case_number);
    case.accepted_on = Some(today);
    case.deadline = Some(Deadline { date: today, provisional: false });
    case.status = CaseStatus::Closed;
    Ok(())
}

/// Sends an accepted case to the department (分办/转办).
pub fn dispatch(case: &mut Case) -> Result<(), Invalid> {
    step(case, CaseStatus::Accepted, CaseStatus::Dispatched, "只有已受理的办件才能分办")
}

/// The department's result is back: waiting for unified delivery (统一出件).
pub fn record_result(case: &mut Case) -> Result<(), Invalid> {
    step(case, CaseStatus::Dispatched, CaseStatus::ReadyForDelivery, "只有已分办的办件才能登记办理结果")
}

/// Delivered to the applicant: the case is closed.
pub fn deliver(case: &mut Case) -> Result<(), Invalid> {
    step(case, CaseStatus::ReadyForDelivery, CaseStatus::Closed, "只有待出件的办件才能出件")
}

fn step(case: &mut Case, from: CaseStatus, to: CaseStatus, refusal: &str) -> Result<(), Invalid> {
    if case.status != from {
        return Err(refuse("status", format!("{refusal}（当前：{}）", case.status.label())));
    }
    case.status = to;
    Ok(())
}

/// How close a running case is to its promised deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// More than one working day left.
    InTime {
        days_left: i64,
    },
    /// The deadline is the next working day or today.
    LastDay,
    Overdue {
        days_over: i64,
    },
}

/// Working days left until the deadline, counted from `today` (China time).
pub fn urgency(calendar: &WorkCalendar, today: NaiveDate, deadline: &Deadline) -> Urgency {
    let (left, _) = calendar.working_days_between(today, deadline.date);
    match left {
        n if n > 1 => Urgency::InTime { days_left: n },
        n if n >= 0 && deadline.date >= today => Urgency::LastDay,
        n => Urgency::Overdue { days_over: (-n).max(1) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::{bundled_calendar, bundled_catalogue};

    fn guide(pred: impl Fn(&ServiceGuide) -> bool) -> ServiceGuide {
        bundled_catalogue().unwrap().guides.into_iter().find(|g| pred(g)).expect("a sample guide fits")
    }

    fn opening() -> Opening<'static> {
        Opening { window: 1, post: Post::A, staff_id: "s001", ticket: None }
    }

    fn now() -> DateTime<Utc> {
        "2025-09-26T02:00:00Z".parse().unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn with_applicant(case: &mut Case) {
        case.applicant = Some(crate::domain::applicant::Applicant {
            name: "张三".into(),
            id_number: crate::domain::applicant::IdNumber::parse("11010519491231002X").unwrap(),
            phone: None,
        });
    }

    fn check_all(case: &mut Case, state: MaterialCheck) {
        with_applicant(case);
        let ids: Vec<String> = case.checklist.items.iter().map(|i| i.material_id.clone()).collect();
        for id in ids {
            set_material(case, &id, state, None).unwrap();
        }
    }

    #[test]
    fn a_guide_with_situations_needs_one_chosen() {
        let g = guide(|g| g.situations.len() >= 2);
        assert!(open_case(&g, None, &opening(), Uuid::now_v7(), now()).is_err());
        assert!(open_case(&g, Some("no-such"), &opening(), Uuid::now_v7(), now()).is_err());
        let s = &g.situations[0];
        let case = open_case(&g, Some(&s.id), &opening(), Uuid::now_v7(), now()).unwrap();
        assert_eq!(case.checklist.items.len(), s.material_ids.len());
        assert_eq!(case.status, CaseStatus::Intake);
    }

    #[test]
    fn the_notice_lists_every_missing_item_once_and_a_second_needs_a_reason() {
        let g = guide(|g| g.situations.is_empty() && g.materials.len() >= 3 && g.accept_on_receipt);
        let mut case = open_case(&g, None, &opening(), Uuid::now_v7(), now()).unwrap();
        let ids: Vec<String> = case.checklist.items.iter().map(|i| i.material_id.clone()).collect();
        assert!(
            give_notice(&mut case, &[], "N1".into(), Uuid::now_v7(), "s001", now(), None).is_err(),
            "unchecked items"
        );
        set_material(&mut case, &ids[0], MaterialCheck::Received, None).unwrap();
        set_material(&mut case, &ids[1], MaterialCheck::Missing, Some("复印件需核验原件\t")).unwrap();
        for id in &ids[2..] {
            set_material(&mut case, id, MaterialCheck::Missing, None).unwrap();
        }
        let notice = give_notice(&mut case, &[], "N1".into(), Uuid::now_v7(), "s001", now(), None).unwrap();
        assert_eq!(notice.missing.len(), ids.len() - 1);
        assert!(notice.missing.iter().all(|i| i.state == MaterialCheck::Missing));
        assert_eq!(notice.missing[0].note, "复印件需核验原件");
        assert_eq!(case.status, CaseStatus::AwaitingMaterials);
        let again =
            give_notice(&mut case, std::slice::from_ref(&notice), "N2".into(), Uuid::now_v7(), "s001", now(), None);
        assert_eq!(again.unwrap_err().message, "本办件已一次性告知过；再次告知须填写原因");
        let second =
            give_notice(&mut case, &[notice], "N2".into(), Uuid::now_v7(), "s001", now(), Some("申请人更换业务情形"))
                .unwrap();
        assert_eq!(second.repeat_reason.as_deref(), Some("申请人更换业务情形"));
    }

    #[test]
    fn acceptance_needs_every_material_and_counts_working_days() {
        let g = guide(|g| g.accept_on_receipt && g.handling == Handling::Promised && g.situations.is_empty());
        let calendar = bundled_calendar().unwrap();
        let mut case = open_case(&g, None, &opening(), Uuid::now_v7(), now()).unwrap();
        let first = case.checklist.items[0].material_id.clone();
        set_material(&mut case, &first, MaterialCheck::Missing, None).unwrap();
        let no_applicant = accept(&mut case, &g, "SL1".into(), day(2025, 9, 30), &calendar).unwrap_err();
        assert_eq!(no_applicant.message, "请先录入申请人信息");
        with_applicant(&mut case);
        let refused = accept(&mut case, &g, "SL1".into(), day(2025, 9, 30), &calendar).unwrap_err();
        assert!(refused.message.contains("未收齐"), "{}", refused.message);
        check_all(&mut case, MaterialCheck::Received);
        // Accepted the day before the National Day holiday: counting starts on 9 October.
        let deadline = accept(&mut case, &g, "SL1".into(), day(2025, 9, 30), &calendar).unwrap();
        assert_eq!(deadline, calendar.add_working_days(day(2025, 9, 30), g.promised_limit_days));
        assert!(deadline.date >= day(2025, 10, 9));
        assert_eq!(case.status, CaseStatus::Accepted);
        assert!(set_material(&mut case, &first, MaterialCheck::Missing, None).is_err(), "accepted cases are frozen");
        dispatch(&mut case).unwrap();
        assert!(deliver(&mut case).is_err(), "no delivery before the result");
        record_result(&mut case).unwrap();
        deliver(&mut case).unwrap();
        assert_eq!(case.status, CaseStatus::Closed);
    }

    #[test]
    fn without_accept_on_receipt_the_window_forwards_to_the_department() {
        let g = guide(|g| !g.accept_on_receipt && g.handling == Handling::Promised && g.situations.is_empty());
        let calendar = bundled_calendar().unwrap();
        let mut case = open_case(&g, None, &opening(), Uuid::now_v7(), now()).unwrap();
        check_all(&mut case, MaterialCheck::Received);
        accept(&mut case, &g, "SL4".into(), day(2026, 3, 2), &calendar).unwrap();
        assert_eq!(case.status, CaseStatus::Dispatched);
        record_result(&mut case).unwrap();
        deliver(&mut case).unwrap();
    }

    #[test]
    fn only_on_the_spot_items_finish_on_the_spot() {
        let quick = guide(|g| g.handling == Handling::OnTheSpot && g.situations.is_empty());
        let mut case = open_case(&quick, None, &opening(), Uuid::now_v7(), now()).unwrap();
        check_all(&mut case, MaterialCheck::Received);
        finish_on_spot(&mut case, &quick, "SL2".into(), day(2026, 3, 2)).unwrap();
        assert_eq!(case.status, CaseStatus::Closed);
        let slow = guide(|g| g.handling == Handling::Promised && g.situations.is_empty());
        let mut case = open_case(&slow, None, &opening(), Uuid::now_v7(), now()).unwrap();
        check_all(&mut case, MaterialCheck::Received);
        assert!(finish_on_spot(&mut case, &slow, "SL3".into(), day(2026, 3, 2)).is_err());
    }

    #[test]
    fn urgency_marks_the_last_day_and_overdue() {
        let calendar = bundled_calendar().unwrap();
        let deadline = Deadline { date: day(2026, 3, 6), provisional: false }; // a Friday
        assert_eq!(urgency(&calendar, day(2026, 3, 2), &deadline), Urgency::InTime { days_left: 4 });
        assert_eq!(urgency(&calendar, day(2026, 3, 5), &deadline), Urgency::LastDay);
        assert_eq!(urgency(&calendar, day(2026, 3, 6), &deadline), Urgency::LastDay);
        assert_eq!(urgency(&calendar, day(2026, 3, 9), &deadline), Urgency::Overdue { days_over: 1 });
        assert_eq!(urgency(&calendar, day(2026, 3, 11), &deadline), Urgency::Overdue { days_over: 3 });
    }

    #[test]
    fn only_conditional_items_can_be_not_applicable_and_zero_materials_never_accept() {
        let g = guide(|g| g.materials.iter().any(|m| m.condition.is_some()) && g.situations.is_empty());
        let calendar = bundled_calendar().unwrap();
        let mut case = open_case(&g, None, &opening(), Uuid::now_v7(), now()).unwrap();
        with_applicant(&mut case);
        let required = case.checklist.items.iter().find(|i| i.condition.is_none()).unwrap().material_id.clone();
        let conditional = case.checklist.items.iter().find(|i| i.condition.is_some()).unwrap().material_id.clone();
        let refused = set_material(&mut case, &required, MaterialCheck::NotApplicable, None).unwrap_err();
        assert!(refused.message.contains("必交材料"), "{}", refused.message);
        set_material(&mut case, &conditional, MaterialCheck::NotApplicable, None).unwrap();
        // A required item marked 不适用 by an older terminal still blocks acceptance.
        for item in &mut case.checklist.items {
            item.state =
                if item.material_id == conditional { MaterialCheck::NotApplicable } else { MaterialCheck::Received };
        }
        case.checklist.items.iter_mut().find(|i| i.material_id == required).unwrap().state =
            MaterialCheck::NotApplicable;
        let e = accept(&mut case, &g, "SL9".into(), day(2026, 3, 2), &calendar).unwrap_err();
        assert!(e.message.contains("不能不适用"), "{}", e.message);
        // Every item of every sample guide marked 不适用 where it can be: never accepted empty.
        for g in bundled_catalogue().unwrap().guides {
            let situation = g.situations.first().map(|s| s.id.clone());
            let mut case = open_case(&g, situation.as_deref(), &opening(), Uuid::now_v7(), now()).unwrap();
            with_applicant(&mut case);
            let ids: Vec<String> = case.checklist.items.iter().map(|i| i.material_id.clone()).collect();
            for id in ids {
                let _ = set_material(&mut case, &id, MaterialCheck::NotApplicable, None);
            }
            assert!(accept(&mut case.clone(), &g, "SL".into(), day(2026, 3, 2), &calendar).is_err(), "{}", g.code);
            assert!(finish_on_spot(&mut case, &g, "SL".into(), day(2026, 3, 2)).is_err(), "{}", g.code);
        }
    }

    #[test]
    fn a_deferrable_item_lets_the_case_be_accepted_with_a_due_date() {
        let g = guide(|g| {
            g.handling == Handling::Promised
                && g.situations.is_empty()
                && g.materials.iter().any(|m| m.deferral_days.is_some())
        });
        let calendar = bundled_calendar().unwrap();
        let mut case = open_case(&g, None, &opening(), Uuid::now_v7(), now()).unwrap();
        check_all(&mut case, MaterialCheck::Received);
        let deferrable = case.checklist.items.iter().find(|i| i.deferral_days.is_some()).unwrap().clone();
        if let Some(fixed) = case.checklist.items.iter().find(|i| i.deferral_days.is_none()) {
            let e = set_material(&mut case.clone(), &fixed.material_id, MaterialCheck::Deferred, None).unwrap_err();
            assert!(e.message.contains("未允许"), "{}", e.message);
        }
        set_material(&mut case, &deferrable.material_id, MaterialCheck::Missing, None).unwrap();
        let e = accept(&mut case.clone(), &g, "SL5".into(), day(2026, 3, 2), &calendar).unwrap_err();
        assert!(e.message.contains("容缺受理"), "the refusal points to 容缺: {}", e.message);
        set_material(&mut case, &deferrable.material_id, MaterialCheck::Deferred, None).unwrap();
        let json = serde_json::to_value(&case.checklist).unwrap();
        assert!(json["items"].as_array().unwrap().iter().any(|i| i["state"] == "deferred"));
        accept(&mut case, &g, "SL5".into(), day(2026, 3, 2), &calendar).unwrap();
        let due = calendar.add_working_days(day(2026, 3, 2), deferrable.deferral_days.unwrap()).date;
        assert_eq!(case.checklist.deferred_due(), Some(due));
        assert!(set_material(&mut case, &deferrable.material_id, MaterialCheck::Received, None).is_err());
        receive_deferred(&mut case, &deferrable.material_id).unwrap();
        assert_eq!(case.checklist.deferred_due(), None);
        assert!(receive_deferred(&mut case, &deferrable.material_id).is_err());
    }

    #[test]
    fn a_case_ends_without_acceptance_in_three_ways() {
        let g = guide(|g| g.situations.is_empty() && g.accept_on_receipt);
        let fresh = || open_case(&g, None, &opening(), Uuid::now_v7(), now()).unwrap();
        let mut case = fresh();
        end_case(&mut case, EndKind::Cancelled, "", "s001", now(), None).unwrap();
        assert_eq!(case.status, CaseStatus::Ended);
        assert!(!case.status.is_open());
        assert_eq!(case.ending.as_ref().unwrap().kind, EndKind::Cancelled);
        assert!(end_case(&mut case, EndKind::Withdrawn, "", "s001", now(), None).is_err(), "ended once");
        let mut refused = fresh();
        let e = end_case(&mut refused, EndKind::Refused, "  ", "s001", now(), Some("BY01".into())).unwrap_err();
        assert_eq!(e.field, "reason");
        end_case(&mut refused, EndKind::Refused, "不属于本中心受理范围\n", "s001", now(), Some("BY01".into())).unwrap();
        let ending = refused.ending.unwrap();
        assert_eq!((ending.reason.as_str(), ending.notice_number.as_deref()), ("不属于本中心受理范围", Some("BY01")));
        // After a notice the applicant was told something: no longer a mistake to cancel.
        let mut told = fresh();
        told.status = CaseStatus::AwaitingMaterials;
        assert!(end_case(&mut told, EndKind::Cancelled, "", "s001", now(), None).is_err());
        end_case(&mut told, EndKind::Withdrawn, "申请人决定不办了", "s001", now(), None).unwrap();
        // Accepted cases are not ended here.
        let mut accepted = fresh();
        accepted.status = CaseStatus::Accepted;
        assert!(end_case(&mut accepted, EndKind::Withdrawn, "", "s001", now(), None).is_err());
        // The ending is stored with ASCII codes.
        let json = serde_json::to_value(&told).unwrap();
        assert_eq!((json["status"].as_str(), json["ending"]["kind"].as_str()), (Some("ended"), Some("withdrawn")));
    }
}
