//! Setting a window's duty and the admin's roster edit, each in one unit of work holding the
//! duty lock: the rules of [`crate::domain::handover`] and [`crate::domain::access`] are checked
//! against every window's duty as it is inside the unit, so nobody ends up at two windows.

use chrono::{DateTime, Utc};

use crate::domain::Invalid;
use crate::domain::access::{Place, WindowAct, check_window_act};
use crate::domain::center::Window;
use crate::domain::handover::{DutyState, check_close, check_duty_change};
use crate::domain::staff::{Role, Staff};
use crate::server::store::DutyError;
use crate::server::store::repo::{Lock, Repository};

fn refused(message: String) -> DutyError {
    DutyError::Refused(Invalid { field: "duty".into(), message })
}

/// Sets window `window` to `new` for `by` at `at`: who may (`check_window_act`), that closing
/// waits for the ticket in service (`check_close`) and that nobody ends up at two windows or away
/// and covering (`check_duty_change`). Returns the new duty.
pub async fn set_duty(
    repo: &dyn Repository,
    window: u32,
    new: &DutyState,
    by: &Staff,
    at: DateTime<Utc>,
) -> Result<DutyState, DutyError> {
    let mut unit = repo.begin(Lock::Duty).await?;
    let windows = unit.windows().await?;
    let w = windows.iter().find(|w| w.number == window).ok_or(DutyError::UnknownWindow(window))?;
    let duties = unit.duties().await?;
    let current = duties.iter().find(|(n, _)| *n == window).map_or(DutyState::Closed, |(_, d)| d.clone());
    let place = Place::Counter { window: w, duty: &current };
    check_window_act(&by.id, by.role, place, WindowAct::SetDuty { current: &current, new })
        .map_err(DutyError::Forbidden)?;
    if *new == DutyState::Closed {
        let ticket = unit.ticket_at_window(window).await?;
        check_close(ticket.map(|t| t.number)).map_err(DutyError::Refused)?;
    }
    check_duty_change(&windows, &duties, window, new).map_err(DutyError::Refused)?;
    unit.write_duty(window, new, at).await?;
    unit.commit().await?;
    Ok(new.clone())
}

/// Changes a window's A and B holders (an admin's edit of the seeded roster). Refused when the new
/// roster, with every window's duty as it is, would put someone at two windows. The change and
/// its audit line (`roster_set`: `by`, at the server's `at`, the window and its new holders) are
/// committed together, in the trail of the center `repo` is bound to (the one acted on, also for
/// the county admin's route).
pub async fn set_holders(
    repo: &dyn Repository,
    window: u32,
    a_holder: &str,
    b_holder: &str,
    by: &str,
    at: DateTime<Utc>,
) -> Result<Window, DutyError> {
    let mut unit = repo.begin(Lock::Duty).await?;
    let mut windows = unit.windows().await?;
    let w = windows.iter_mut().find(|w| w.number == window).ok_or(DutyError::UnknownWindow(window))?;
    w.a_holder = a_holder.trim().to_owned();
    w.b_holder = b_holder.trim().to_owned();
    let updated = w.clone();
    let mut problems = updated.problems();
    for (field, id) in [("a_holder", &updated.a_holder), ("b_holder", &updated.b_holder)] {
        let ok = unit.staff(id).await?.is_some_and(|s| s.role == Role::WindowClerk && s.active);
        if !ok {
            problems.push(Invalid { field: field.into(), message: format!("{id} 不是在职的窗口人员") });
        }
    }
    if !problems.is_empty() {
        return Err(DutyError::Invalid(problems));
    }
    let duties = unit.duties().await?;
    for (n, duty) in &duties {
        if windows.iter().any(|w| w.number == *n) {
            check_duty_change(&windows, &duties, *n, duty)
                .map_err(|e| refused(format!("按新的A/B岗安排，{n} 号窗口当前的值班状态不成立：{}", e.message)))?;
        }
    }
    unit.save_window(&updated).await?;
    unit.append_audit(&crate::api::accounts::AuditEntry {
        id: 0,
        at,
        claimed_at: None,
        staff_id: by.to_owned(),
        window: Some(window),
        action: "roster_set".into(),
        target_kind: "window".into(),
        target_id: format!("{window}: A岗 {}, B岗 {}", updated.a_holder, updated.b_holder),
        addr: None,
        count: 1,
    })
    .await?;
    unit.commit().await?;
    tracing::info!(window, a_holder = %updated.a_holder, b_holder = %updated.b_holder, "window roster changed");
    Ok(updated)
}
