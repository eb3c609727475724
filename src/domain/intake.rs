//! What a clerk does with a case, as rules: open it from a guide and situation, check materials,
//! give the one-time notice, accept with a promised deadline, finish on the spot, dispatch to
//! the department, record its result and deliver. Every function checks the case's state first
//! and says in Chinese why a step is not allowed.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::Invalid;
use super::calendar::{Deadline, WorkCalendar};
use super::case::{Case, CaseStatus, Checklist, MaterialCheck};
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
    })
}

fn in_intake(case: &Case) -> Result<(), Invalid> {
    match case.status {
        CaseStatus::Intake | CaseStatus::AwaitingMaterials => Ok(()),
        other => Err(refuse("status", format!("办件已{}，不能再修改材料", other.label()))),
    }
}

/// Marks one material received, missing or not applicable, with an optional note.
pub fn set_material(
    case: &mut Case,
    material_id: &str,
    state: MaterialCheck,
    note: Option<&str>,
) -> Result<(), Invalid> {
    in_intake(case)?;
    let item = case
        .checklist
        .items
        .iter_mut()
        .find(|i| i.material_id == material_id)
        .ok_or_else(|| refuse("material_id", "清单中没有这项材料"))?;
    item.state = state;
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
        Ok(())
    } else {
        let missing = case
            .checklist
            .items
            .iter()
            .filter(|i| !matches!(i.state, MaterialCheck::Received | MaterialCheck::NotApplicable))
            .count();
        Err(refuse("checklist", format!("还有 {missing} 项材料未收齐，不能受理")))
    }
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
        check_all(&mut case, MaterialCheck::NotApplicable);
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
}
