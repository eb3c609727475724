//! The audit trail: who did what to which ticket, case, handover, account or window, when, and
//! from which window. Records uploaded from the windows are audited in the upload's transaction
//! (`store::accounts`); what the server does itself is audited here, after it is done: a failure
//! to write the line is logged, and the action stands.

use super::AppState;
use super::store::Store;
use super::throttle::ClientAddress;
use crate::api::accounts::AuditEntry;
use crate::api::queue::QueueChange;

/// What an audit line is about.
pub struct Target<'a> {
    pub kind: &'a str,
    pub id: String,
}

impl<'a> Target<'a> {
    pub fn new(kind: &'a str, id: impl Into<String>) -> Self {
        Self { kind, id: id.into() }
    }
}

pub async fn record(
    state: &AppState,
    staff_id: &str,
    window: Option<u32>,
    action: &str,
    target: Target<'_>,
    addr: Option<&ClientAddress>,
) {
    let entry = AuditEntry {
        id: 0,
        at: state.clock.now(),
        staff_id: staff_id.to_owned(),
        window,
        action: action.to_owned(),
        target_kind: target.kind.to_owned(),
        target_id: target.id,
        addr: addr.map(|a| a.0.clone()),
    };
    if let Err(e) = state.store.append_audit(&entry).await {
        tracing::error!(error = %e, action, "audit line not written");
    }
}

/// A committed queue change: `queue:<动作>` on the ticket (day/number), or on the window for a
/// pause or resume. Called in the command's own task, so it is written even if the client hangs
/// up meanwhile.
pub async fn queue_change(store: &dyn Store, change: &QueueChange) {
    let (target_kind, target_id) = match (&change.ticket, change.window) {
        (Some(t), _) => ("ticket", format!("{}/{}", t.day, t.number)),
        (None, Some(w)) => ("window", w.to_string()),
        (None, None) => ("queue", change.rev.to_string()),
    };
    let entry = AuditEntry {
        id: 0,
        at: change.at,
        staff_id: change.by.clone(),
        window: change.window,
        action: format!("queue:{}", change.action.label()),
        target_kind: target_kind.to_owned(),
        target_id,
        addr: None,
    };
    if let Err(e) = store.append_audit(&entry).await {
        tracing::error!(error = %e, "audit line of a queue change not written");
    }
}
