//! Storing uploaded records, in one unit of work holding the records' lock: each record is kept
//! once at its place in its device's log (a replay changes nothing, another record at the same
//! place is a conflict), a new one is audited and projected into what the server answers queries
//! from, and each touched log's head moves over every record now present without a gap.

use chrono::DateTime;
use uuid::Uuid;

use crate::api::accounts::AuditEntry;
use crate::api::{CaseConflict, ConflictReason, RecordEnvelope, StreamStatus};
use crate::domain::access::{CaseOrder, order_case_change};
use crate::domain::case::Case;
use crate::domain::follow_up::FollowUp;
use crate::domain::handover::{
    Acknowledgement, Handover, Withdrawal, check_duty_change, duty_after_handover, fold_acknowledgement,
    fold_withdrawal,
};
use crate::domain::rating::Rating;
use crate::domain::record::RecordBody;
use crate::domain::staff::Staff;
use crate::server::store::repo::{Lock, Repository, Unit};
use crate::server::store::{StoreError, StoreResult};

/// How many indexes of a log one step of moving its head reads.
const HEAD_STEP: usize = 500;

/// Stores uploaded records once each, projecting the new ones, and returns the status of every
/// (device, stream) touched and how many records were new. The audit lines of new records name
/// `uploader` (the session's staff) and `received_at`, with each record's own time as the claimed
/// time. A rating typed in at a clerk's terminal (`rating_recorded`) is kept in the log and
/// audited as `rating_not_counted`; the evaluator's (`ticket_rated`) is counted by
/// [`store_upload`]. All of it commits together or not at all.
pub async fn append_records(
    repo: &dyn Repository,
    records: &[RecordEnvelope],
    received_at: i64,
    uploader: &Staff,
) -> StoreResult<(Vec<StreamStatus>, usize)> {
    let stored = store_upload(repo, records, received_at, uploader, &[]).await?;
    Ok((stored.streams, stored.new))
}

/// A rating the server made of an uploaded `ticket_rated` record (`hall_routes::prepare_rating`),
/// to be counted with the upload.
#[derive(Debug, Clone)]
pub struct UploadedRating {
    /// The record it was made of.
    pub record_id: Uuid,
    pub rating: Rating,
    pub ticket_id: Uuid,
    /// The evaluator's session.
    pub author: String,
    pub follow_up: Option<FollowUp>,
}

/// What [`store_upload`] stored.
#[derive(Debug)]
pub struct StoredUpload {
    pub streams: Vec<StreamStatus>,
    /// How many records were new.
    pub new: usize,
    /// The ratings not counted because their ticket has another rating (their records are kept).
    pub already_rated: Vec<Uuid>,
}

/// [`append_records`], counting `ratings` in the same unit: a rating is counted exactly when its
/// upload is stored (saved means saved: a refused upload, a record conflict say, counts none), and
/// the one rating per ticket is decided under the records' lock.
pub async fn store_upload(
    repo: &dyn Repository,
    records: &[RecordEnvelope],
    received_at: i64,
    uploader: &Staff,
    ratings: &[UploadedRating],
) -> StoreResult<StoredUpload> {
    let mut unit = repo.begin(Lock::Records).await?;
    let mut touched: Vec<(Uuid, String, u32)> = Vec::new();
    let mut new = 0;
    for r in records {
        // Stored in the current schema whatever the terminal's age; a replay is still recognised
        // by its place and id below.
        let mut r = r.clone();
        r.upgrade();
        if unit.insert_record(&r, received_at).await? {
            new += 1;
            unit.append_audit(&audit_entry(&r, received_at, &uploader.id)).await?;
            project(unit.as_mut(), &r, received_at, uploader).await?;
        } else if unit.record_id_at(r.device, &r.stream, r.idx).await? != Some(r.id) {
            // A replay is the same record at the same place; anything else is a conflict.
            return Err(StoreError::RecordConflict { device: r.device, stream: r.stream.clone(), idx: r.idx });
        }
        if !touched.iter().any(|(d, s, _)| *d == r.device && *s == r.stream) {
            touched.push((r.device, r.stream.clone(), r.window));
        }
    }
    let mut statuses = Vec::with_capacity(touched.len());
    for (device, stream, window) in touched {
        let last = advance_head(unit.as_mut(), device, &stream, window).await?;
        statuses.push(StreamStatus { device, stream, last });
    }
    let mut already_rated = Vec::new();
    for r in ratings {
        if !unit.insert_rating(&r.rating, r.ticket_id, &r.author, r.follow_up.as_ref()).await? {
            already_rated.push(r.record_id);
        }
    }
    unit.commit().await?;
    Ok(StoredUpload { streams: statuses, new, already_rated })
}

/// Moves the log's head over every record now present without a gap after it.
async fn advance_head(unit: &mut dyn Unit, device: Uuid, stream: &str, window: u32) -> StoreResult<u64> {
    let mut last = unit.stream_head(device, stream).await?;
    loop {
        let next = unit.indexes_after(device, stream, last, HEAD_STEP).await?;
        let before = last;
        for idx in &next {
            if *idx != last + 1 {
                break;
            }
            last = *idx;
        }
        if last == before || next.len() < HEAD_STEP {
            break;
        }
    }
    unit.set_stream_head(device, stream, window, last).await?;
    Ok(last)
}

/// Applies a newly stored record to what answers queries. Kinds this server does not know are
/// kept in the log only.
async fn project(unit: &mut dyn Unit, r: &RecordEnvelope, received_at: i64, uploader: &Staff) -> StoreResult<()> {
    let body = match serde_json::from_value::<RecordBody>(r.body.clone()) {
        Ok(body) => body,
        Err(e) => {
            tracing::info!(kind = ?r.body.get("kind"), error = %crate::server::problem::redact(&e.to_string()), "record kept in the log only");
            return Ok(());
        }
    };
    match body {
        RecordBody::CaseSnapshot(case) => project_snapshot(unit, r, &case, received_at).await?,
        RecordBody::CaseTransferred(transfer) => {
            if !unit.move_case(r.id, &transfer, received_at).await? {
                tracing::warn!(case = %transfer.case_id, record = %r.id, "transfer of a case not held at its window; kept in the log only");
            }
        }
        RecordBody::NoticeGiven(notice) => unit.insert_notice(&notice).await?,
        RecordBody::HandoverWritten(handover) => project_handover(unit, r, &handover).await?,
        RecordBody::HandoverAcknowledged { handover_id, by, at, note } => {
            let ack = Acknowledgement { by, at, note };
            unit.insert_acknowledgement(r.id, handover_id, &ack).await?;
            if !fold_into(unit, handover_id, &ack).await? {
                tracing::info!(handover = %handover_id, by = %ack.by, "acknowledgement kept; it does not (yet) count");
            }
        }
        RecordBody::HandoverWithdrawn { handover_id, by, at } => {
            project_withdrawal(unit, r, handover_id, &Withdrawal { by, at }).await?
        }
        RecordBody::HandoverItemChecked { handover_id, item, done } => {
            let Some(mut handover) = unit.handover(handover_id).await? else {
                tracing::info!(handover = %handover_id, "tick for a handover not stored yet; kept in the log only");
                return Ok(());
            };
            if crate::domain::handover::check_item(&mut handover, item as usize, done) {
                unit.save_handover_items(&handover).await?;
            }
        }
        // Counted (or refused) with the upload ([`store_upload`]), made by the rules every rating
        // enters the server by (`hall_routes::prepare_rating`): the log keeps the record.
        RecordBody::TicketRated(_) => {}
        RecordBody::RatingRecorded(rating) => {
            tracing::warn!(record = %r.id, window = rating.window, uploader = %uploader.id, "rating typed in at a clerk's terminal; kept in the log only, not counted");
            let mut entry = audit_entry(r, received_at, &uploader.id);
            entry.action = "rating_not_counted".into();
            unit.append_audit(&entry).await?;
        }
        RecordBody::InquiryRecorded(inquiry) => unit.insert_inquiry(&inquiry).await?,
        RecordBody::Visit(_) => unit.insert_visit(r).await?,
    }
    Ok(())
}

/// A newly stored case snapshot: held when it is the next version of the case at its window
/// (the domain's [`order_case_change`]), kept as a conflict otherwise: an older version, or a
/// window the case moved away from (the upload's check refused any other window).
async fn project_snapshot(unit: &mut dyn Unit, r: &RecordEnvelope, case: &Case, received_at: i64) -> StoreResult<()> {
    let Some(held) = unit.held_case(case.id).await? else {
        return unit.save_case(case, received_at).await;
    };
    let reason = if held.window != r.window {
        ConflictReason::Moved
    } else {
        match order_case_change(Some(held.version), case.version) {
            CaseOrder::Next => return unit.save_case(case, received_at).await,
            CaseOrder::Held => return Ok(()),
            CaseOrder::Stale => ConflictReason::Stale,
        }
    };
    tracing::warn!(case = %case.id, record = %r.id, version = case.version.version, held = held.version.version, ?reason, "case snapshot kept as a conflict");
    let conflict = CaseConflict {
        record_id: r.id,
        case_id: case.id,
        window: r.window,
        guide_name: case.guide_name.clone(),
        reason,
        version: case.version.version,
        held_version: held.version.version,
        author: r.author.clone(),
        received_at: DateTime::from_timestamp(received_at, 0).unwrap_or_default(),
        edits: case.edits_not_in(&held.case),
    };
    unit.insert_case_conflict(&conflict).await
}

/// A newly stored handover: kept once; it switches the window's duty when the domain's
/// [`duty_after_handover`] allows (otherwise it is still kept, with the reason); acknowledgements
/// that arrived before it fold in.
async fn project_handover(unit: &mut dyn Unit, r: &RecordEnvelope, h: &Handover) -> StoreResult<()> {
    let mut h = h.clone();
    // What the server decides is not the terminal's to say.
    h.acknowledged = None;
    h.duty_refused = None;
    h.withdrawn = None;
    if h.written_by.is_empty() {
        h.written_by = r.author.clone();
    }
    if !unit.insert_handover(r.window, &h).await? {
        tracing::warn!(handover = %h.id, record = %r.id, "a second record for a stored handover; the first stands");
        return Ok(());
    }
    let windows = unit.windows().await?;
    let duties = unit.duties().await?;
    let changed_at = unit.duty_changed_at(r.window).await?;
    match duty_after_handover(&windows, &duties, changed_at, r.window, &h) {
        Ok(Some(new)) => unit.write_duty(r.window, &new, h.written_at).await?,
        Ok(None) => {}
        Err(reason) => {
            tracing::info!(handover = %h.id, window = r.window, %reason, "handover recorded; duty not switched");
            unit.set_duty_refused(h.id, &reason).await?;
        }
    }
    // Acknowledgements that arrived first (from another device, say).
    for ack in unit.acknowledgements(h.id).await? {
        fold_into(unit, h.id, &ack).await?;
    }
    Ok(())
}

/// Folds the acknowledgement into its handover by the domain's rule ([`fold_acknowledgement`],
/// the terminals' too). An acknowledgement made before a withdrawal undoes the withdrawal. Whether
/// it changed what counts.
async fn fold_into(unit: &mut dyn Unit, handover_id: Uuid, ack: &Acknowledgement) -> StoreResult<bool> {
    let Some(mut h) = unit.handover(handover_id).await? else { return Ok(false) };
    let withdrawn = h.withdrawn.is_some();
    if !fold_acknowledgement(&mut h, ack.clone()) {
        return Ok(false);
    }
    if withdrawn && h.withdrawn.is_none() {
        unit.save_handover_body(&h).await?;
    }
    unit.set_acknowledged(handover_id, Some(ack)).await?;
    Ok(true)
}

/// A newly stored withdrawal, folded by the domain's rule ([`fold_withdrawal`]): when the
/// handover had switched the window's duty and nothing changed it since, the duty goes back to
/// what it was before ([`Handover::duty_before`]). A withdrawal of a handover this server does not
/// hold is kept in the log only.
async fn project_withdrawal(
    unit: &mut dyn Unit,
    r: &RecordEnvelope,
    handover_id: Uuid,
    w: &Withdrawal,
) -> StoreResult<()> {
    let Some(mut h) = unit.handover(handover_id).await? else {
        tracing::warn!(handover = %handover_id, record = %r.id, "withdrawal of a handover not held here; kept in the log");
        return Ok(());
    };
    let switched = h.duty_refused.is_none();
    if !fold_withdrawal(&mut h, w.clone()) {
        tracing::info!(handover = %handover_id, "withdrawal kept; it does not count (acknowledged first)");
        return Ok(());
    }
    unit.save_handover_body(&h).await?;
    unit.set_acknowledged(handover_id, None).await?;
    if !switched {
        return Ok(());
    }
    let windows = unit.windows().await?;
    let duties = unit.duties().await?;
    let changed_at = unit.duty_changed_at(r.window).await?;
    let current = duties.iter().find(|(n, _)| *n == r.window).map(|(_, d)| d.clone());
    let unchanged_since = changed_at.map(|t| t.timestamp_micros()) == Some(h.written_at.timestamp_micros());
    if current != Some(h.duty_after()) || !unchanged_since {
        tracing::info!(handover = %handover_id, window = r.window, "withdrawn; the duty changed since, left as it is");
        return Ok(());
    }
    let before = h.duty_before();
    match check_duty_change(&windows, &duties, r.window, &before) {
        Ok(()) => unit.write_duty(r.window, &before, w.at).await?,
        Err(e) => tracing::info!(handover = %handover_id, reason = %e.message, "withdrawn; duty not switched back"),
    }
    Ok(())
}

/// What a record is about, for its audit line: the case of a case snapshot or notice, the
/// handover of a handover record, else the record itself. Read from the JSON, so that kinds added
/// later (and kinds this server does not know) are audited too.
fn record_target(r: &RecordEnvelope) -> (String, String) {
    let kind = r.body.get("kind").and_then(|k| k.as_str()).unwrap_or("unknown");
    let text = |key: &str| r.body.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    if kind == "case_snapshot" {
        if let Some(id) = text("id") {
            return ("case".into(), id);
        }
    } else if kind.contains("handover") {
        if let Some(id) = text("handover_id").or_else(|| text("id")) {
            return ("handover".into(), id);
        }
    } else if let Some(id) = text("case_id") {
        return ("case".into(), id);
    }
    ("record".into(), r.id.to_string())
}

/// The audit line of a newly stored record: the record's kind, what it is about, its window, who
/// uploaded it (the session's staff) and when the server received it; the time the record claims
/// is kept beside.
fn audit_entry(r: &RecordEnvelope, received_at: i64, uploader: &str) -> AuditEntry {
    let (target_kind, target_id) = record_target(r);
    let action: String = r.body.get("kind").and_then(|k| k.as_str()).unwrap_or("unknown").chars().take(64).collect();
    AuditEntry {
        id: 0,
        at: DateTime::from_timestamp(received_at, 0).unwrap_or_default(),
        claimed_at: Some(r.created_at),
        staff_id: uploader.to_owned(),
        window: Some(r.window),
        action,
        target_kind,
        target_id: target_id.chars().take(64).collect(),
        addr: None,
        count: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::center::Post;

    fn envelope(body: serde_json::Value) -> RecordEnvelope {
        RecordEnvelope {
            schema: crate::api::RECORD_SCHEMA,
            device: Uuid::nil(),
            stream: "w1/cases".into(),
            idx: 1,
            id: Uuid::from_u128(7),
            created_at: chrono::Utc::now(),
            author: "s001".into(),
            window: 1,
            post: Post::A,
            body,
        }
    }

    #[test]
    fn records_are_audited_against_what_they_are_about() {
        let t = |body| record_target(&envelope(body));
        assert_eq!(t(serde_json::json!({"kind": "case_snapshot", "id": "c1"})), ("case".into(), "c1".into()));
        assert_eq!(
            t(serde_json::json!({"kind": "notice_given", "id": "n1", "case_id": "c1"})),
            ("case".into(), "c1".into())
        );
        assert_eq!(t(serde_json::json!({"kind": "handover_written", "id": "h1"})), ("handover".into(), "h1".into()));
        let record = Uuid::from_u128(7).to_string();
        assert_eq!(t(serde_json::json!({"kind": "walk_in", "note": "x"})), ("record".into(), record.clone()));
        assert_eq!(t(serde_json::json!({"no_kind": 1})), ("record".into(), record));
    }
}
