//! Sync of device logs: compare how far each (device, stream) log is complete here and on the
//! server, turn the difference into operations with a pure function, then run them. Uploads and
//! downloads resume from the first record the other side lacks, so an interrupted transfer
//! leaves no hole, and the server stores idempotently, so a replay changes nothing.

use uuid::Uuid;

use super::local::{LocalError, LocalStore, LocalStream};
use super::{ApiClient, ClientError};
use crate::api::{MAX_UPLOAD_RECORDS, StreamStatus};
use crate::domain::record::stream_window;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOp {
    /// Send records `from..=to` of a log the server holds less of.
    Upload { device: Uuid, stream: String, from: u64, to: u64 },
    /// Fetch records `from..=to` of a log this terminal holds less of.
    Download { device: Uuid, stream: String, from: u64, to: u64 },
}

/// The operations that bring both sides level. Pure, so that it can be tested by table.
///
/// - Upload when this side has records past what the server holds complete: from the server's
///   first gap to the highest record here (records this side lacks in between are skipped by the
///   range query; the server reports how far it then is complete).
/// - Download when the server holds a log further than it is complete here: from the first gap
///   here to the server's end.
///
/// Uploads come first, then downloads, each ordered by device and stream.
pub fn operations(local: &[LocalStream], remote: &[StreamStatus]) -> Vec<SyncOp> {
    let remote_last = |device: Uuid, stream: &str| {
        remote.iter().find(|r| r.device == device && r.stream == stream).map_or(0, |r| r.last)
    };
    let mut uploads: Vec<SyncOp> = local
        .iter()
        .filter_map(|l| {
            let server = remote_last(l.device, &l.stream);
            (l.max > server).then(|| SyncOp::Upload {
                device: l.device,
                stream: l.stream.clone(),
                from: server + 1,
                to: l.max,
            })
        })
        .collect();
    let mut downloads: Vec<SyncOp> = remote
        .iter()
        .filter_map(|r| {
            let here = local.iter().find(|l| l.device == r.device && l.stream == r.stream).map_or(0, |l| l.contiguous);
            (r.last > here).then(|| SyncOp::Download {
                device: r.device,
                stream: r.stream.clone(),
                from: here + 1,
                to: r.last,
            })
        })
        .collect();
    let key = |op: &SyncOp| match op {
        SyncOp::Upload { device, stream, .. } | SyncOp::Download { device, stream, .. } => (*device, stream.clone()),
    };
    uploads.sort_by_key(key);
    downloads.sort_by_key(key);
    uploads.extend(downloads);
    uploads
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Local(#[from] LocalError),
}

/// How far a catalogue sync got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatalogueProgress {
    /// Pages fetched and stored by this sync.
    pub pages: usize,
    /// Guides in them.
    pub guides: usize,
    /// The catalogue sequence the local copy is now current to.
    pub seq: i64,
    /// More pages were on the server when the sync stopped (only when `on_page` stopped it).
    pub more: bool,
}

/// Brings the local catalogue up to the server's, `limit` guides a page. Each page is stored with
/// its sequence in one local transaction ([`LocalStore::apply_guides`]) before the next is asked
/// for, so a sync cut off (the network, the process) resumes after the last stored page, never
/// from the start. `on_page` sees the progress after each stored page and may stop the sync.
pub async fn sync_catalogue(
    client: &ApiClient,
    local: &LocalStore,
    limit: u32,
    mut on_page: impl FnMut(&CatalogueProgress) -> std::ops::ControlFlow<()>,
) -> Result<CatalogueProgress, SyncError> {
    let mut progress = CatalogueProgress { seq: local.catalogue_seq().await?, ..CatalogueProgress::default() };
    loop {
        let (changes, more) = client.guides_page(progress.seq, limit).await?.into_changes();
        if changes.guides.is_empty() && changes.seq == progress.seq {
            progress.more = false;
            return Ok(progress);
        }
        if more && changes.seq <= progress.seq {
            // A page that says more follow must move on, or this loop never ends.
            tracing::warn!(since = progress.seq, seq = changes.seq, "catalogue page does not advance");
            return Err(
                ClientError::Malformed(format!("事项目录分页没有前进（{} → {}）", progress.seq, changes.seq)).into()
            );
        }
        local.apply_guides(&changes).await?;
        progress.pages += 1;
        progress.guides += changes.guides.len();
        progress.seq = changes.seq;
        progress.more = more;
        if on_page(&progress).is_break() || !more {
            return Ok(progress);
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncOutcome {
    pub uploaded: usize,
    pub downloaded: usize,
    /// Records still not acknowledged by the server.
    pub pending: usize,
    /// The log turned out to be a copy and was re-keyed: this many records moved to the new
    /// device (see [`LocalStore::rekey`]).
    pub rekeyed: Option<usize>,
    /// Case changes uploaded this round that the server kept as conflicts instead of applying
    /// (another terminal's change came first, or the case had moved to another window).
    pub conflicts: Vec<crate::api::CaseConflict>,
    /// Records uploaded this round that the server kept in the log but did not count (a rating
    /// of a ticket rated already), with its reason.
    pub refused: Vec<crate::api::RefusedRecord>,
}

impl SyncOutcome {
    /// What the clerk is told, once, when the log was re-keyed.
    pub fn rekey_message(&self) -> Option<String> {
        self.rekeyed.map(|n| {
            format!(
                "本机数据文件是复制或从备份恢复的，已改用新的终端编号；尚未上传的 {n} 条记录已重新登记，将自动上传，不会丢失"
            )
        })
    }
}

/// Where this device's log and the server's disagree: for each of this device's logs the server
/// holds further than it acknowledged here, the records in between are compared by id. The
/// first place where the server holds another record means the log is a copy (restored from a
/// backup, or copied to another PC); returns (stream, first such idx) for each such log.
async fn find_copies(
    client: &ApiClient,
    local: &LocalStore,
    remote: &[StreamStatus],
) -> Result<Vec<(String, u64)>, SyncError> {
    let device = local.device();
    let mut copies = Vec::new();
    for s in remote.iter().filter(|s| s.device == device) {
        let acked = local.acked(device, &s.stream).await?;
        let mut next = acked + 1;
        'compare: while next <= s.last {
            let mine = local.records_between(device, &s.stream, next, s.last, UPLOAD_BATCH).await?;
            let Some(last_mine) = mine.last().map(|r| r.idx) else { break };
            let theirs = client.download(device, &s.stream, next).await?;
            if theirs.is_empty() {
                break;
            }
            for record in &mine {
                match theirs.iter().find(|t| t.idx == record.idx) {
                    Some(t) if t.id == record.id => {}
                    Some(_) => {
                        copies.push((s.stream.clone(), record.idx));
                        break 'compare;
                    }
                    // Not in this page of the server's: compare from here with the next one.
                    None => {
                        next = record.idx;
                        continue 'compare;
                    }
                }
            }
            next = last_mine + 1;
        }
    }
    Ok(copies)
}

/// Records per upload request: small enough to finish on a slow link, large enough to be few.
pub const UPLOAD_BATCH: usize = 50;
const _: () = assert!(UPLOAD_BATCH <= MAX_UPLOAD_RECORDS);

/// One round of log sync for a window.
pub async fn sync_logs(client: &ApiClient, local: &LocalStore, window: u32) -> Result<SyncOutcome, SyncError> {
    let mut remote = client.sync_status(window, local.device()).await?;
    let mut outcome = SyncOutcome::default();
    // Before the server's word marks anything of this device's as held there, check it is the
    // same records: a copied log would otherwise count records the server never got as sent.
    let copies = find_copies(client, local, &remote.streams).await?;
    if !copies.is_empty() {
        tracing::error!(?copies, device = %local.device(), "the server holds other records at this device's places");
        outcome.rekeyed = Some(local.rekey(&copies).await?);
        remote = client.sync_status(window, local.device()).await?;
    }
    local.set_acked(&remote.streams).await?;
    // The server tells this window's logs and this device's: only those are compared. Logs of
    // another window held here (downloaded while the terminal served it) are not this round's.
    let here: Vec<LocalStream> = local
        .streams()
        .await?
        .into_iter()
        .filter(|l| l.device == local.device() || stream_window(&l.stream) == Some(window))
        .collect();
    let ops = operations(&here, &remote.streams);
    for op in ops {
        let result = match op {
            SyncOp::Upload { device, stream, from, to } => {
                upload(client, local, device, &stream, from, to, &mut outcome).await.map(|n| outcome.uploaded += n)
            }
            SyncOp::Download { device, stream, from, to } => {
                download(client, local, device, &stream, from, to).await.map(|n| outcome.downloaded += n)
            }
        };
        match result {
            Ok(()) => {}
            // The server refused one log (a conflict, a window this clerk may not write): the
            // others still go; the refused one is tried again next round. A server that failed
            // (its disk full, say) ends the round: the clerk sees why records stay waiting.
            Err(SyncError::Client(ClientError::Problem(p))) if p.status >= 500 => {
                return Err(SyncError::Client(ClientError::Problem(p)));
            }
            Err(SyncError::Client(e)) if e.problem_code().is_some() => {
                tracing::warn!(error = ?e, "one log refused by the server; the others continue");
            }
            Err(e) => return Err(e),
        }
    }
    outcome.pending = local.pending().await?;
    Ok(outcome)
}

/// One round of upload for a device that keeps a log but reads none (the evaluator): this
/// device's logs of `window`, from past what the server acknowledged to the end, by the same
/// upload as [`sync_logs`]. Nothing is downloaded; a resend after a lost reply is a replay the
/// server recognises.
pub async fn upload_own_logs(client: &ApiClient, local: &LocalStore, window: u32) -> Result<SyncOutcome, SyncError> {
    let mut outcome = SyncOutcome::default();
    let device = local.device();
    let own =
        local.streams().await?.into_iter().filter(|l| l.device == device && stream_window(&l.stream) == Some(window));
    for l in own {
        let acked = local.acked(device, &l.stream).await?;
        if l.max <= acked {
            continue;
        }
        let mut sent = 0;
        match upload(client, local, device, &l.stream, acked + 1, l.max, &mut outcome).await {
            Ok(n) => sent += n,
            Err(SyncError::Client(ClientError::Problem(p))) if p.status >= 500 => {
                return Err(SyncError::Client(ClientError::Problem(p)));
            }
            Err(SyncError::Client(e)) if e.problem_code().is_some() => {
                tracing::warn!(error = ?e, stream = %l.stream, "one log refused by the server; tried again next round");
            }
            Err(e) => return Err(e),
        }
        outcome.uploaded += sent;
    }
    outcome.pending = local.pending().await?;
    Ok(outcome)
}

async fn download(
    client: &ApiClient,
    local: &LocalStore,
    device: Uuid,
    stream: &str,
    from: u64,
    to: u64,
) -> Result<usize, SyncError> {
    let mut next = from;
    let mut got = 0;
    while next <= to {
        let records = client.download(device, stream, next).await?;
        let Some(last) = records.last().map(|r| r.idx) else { break };
        got += local.insert_records(&records).await?;
        local.set_acked(&[StreamStatus { device, stream: stream.to_owned(), last: last.min(to) }]).await?;
        next = last + 1;
    }
    Ok(got)
}

async fn upload(
    client: &ApiClient,
    local: &LocalStore,
    device: Uuid,
    stream: &str,
    from: u64,
    to: u64,
    outcome: &mut SyncOutcome,
) -> Result<usize, SyncError> {
    let mut next = from;
    let mut sent = 0;
    let acked = local.acked(device, stream).await?;
    // Set once a place before `next` is held on neither side (lost with a damaged cache): the
    // server's `last` then stays below it for good.
    let mut past_gap = false;
    while next <= to {
        let batch = local.records_between(device, stream, next, to, UPLOAD_BATCH).await?;
        let (Some(batch_first), Some(batch_last)) = (batch.first().map(|r| r.idx), batch.last().map(|r| r.idx)) else {
            break;
        };
        past_gap |= batch_first > next;
        if past_gap && batch_last <= acked {
            // Stored past the gap in an earlier round (below): nothing to send again.
            next = batch_last + 1;
            continue;
        }
        sent += batch.len();
        let reply = client.upload(batch).await?;
        local.set_acked(&reply.streams).await?;
        outcome.conflicts.extend(reply.conflicts);
        outcome.refused.extend(reply.refused);
        let server_last = reply.streams.iter().find(|s| s.device == device && s.stream == stream).map_or(0, |s| s.last);
        if server_last < next {
            // The server is missing a record before this batch that this side does not hold
            // either (lost with a damaged cache), so its `last` cannot pass the gap. Its 200 says
            // it stored this batch: these records no longer wait here, and the next batch goes on.
            tracing::warn!(%device, stream, server_last, next, batch_last, "log has a gap neither side can fill; stored past it");
            local.set_acked(&[StreamStatus { device, stream: stream.to_owned(), last: batch_last }]).await?;
            next = batch_last + 1;
            continue;
        }
        next = server_last.max(batch_last) + 1;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn local(device: u128, stream: &str, contiguous: u64, max: u64) -> LocalStream {
        LocalStream { device: dev(device), stream: stream.into(), contiguous, max }
    }

    fn remote(device: u128, stream: &str, last: u64) -> StreamStatus {
        StreamStatus { device: dev(device), stream: stream.into(), last }
    }

    fn up(device: u128, stream: &str, from: u64, to: u64) -> SyncOp {
        SyncOp::Upload { device: dev(device), stream: stream.into(), from, to }
    }

    fn down(device: u128, stream: &str, from: u64, to: u64) -> SyncOp {
        SyncOp::Download { device: dev(device), stream: stream.into(), from, to }
    }

    #[test]
    fn table() {
        type Case = (&'static str, Vec<LocalStream>, Vec<StreamStatus>, Vec<SyncOp>);
        let cases: Vec<Case> = vec![
            ("nothing anywhere", vec![], vec![], vec![]),
            ("level", vec![local(1, "w1/visits", 5, 5)], vec![remote(1, "w1/visits", 5)], vec![]),
            ("new log, server has none", vec![local(1, "w1/visits", 3, 3)], vec![], vec![up(1, "w1/visits", 1, 3)]),
            (
                "interrupted upload resumes at the server's first gap",
                vec![local(1, "w1/visits", 9, 9)],
                vec![remote(1, "w1/visits", 4)],
                vec![up(1, "w1/visits", 5, 9)],
            ),
            (
                "another device's log downloads from the first gap here",
                vec![local(2, "w1/visits", 3, 7)],
                vec![remote(2, "w1/visits", 10)],
                vec![down(2, "w1/visits", 4, 10)],
            ),
            (
                "a log this terminal has never seen downloads whole",
                vec![],
                vec![remote(2, "w1/visits", 2)],
                vec![down(2, "w1/visits", 1, 2)],
            ),
            (
                "records carried over from a damaged cache upload past the server's end",
                vec![local(9, "w1/visits", 0, 12)],
                vec![remote(9, "w1/visits", 10)],
                vec![up(9, "w1/visits", 11, 12), down(9, "w1/visits", 1, 10)],
            ),
            (
                "server ahead of a rebuilt cache for this device: download, no upload",
                vec![],
                vec![remote(1, "w1/visits", 4)],
                vec![down(1, "w1/visits", 1, 4)],
            ),
            (
                "several streams, uploads before downloads, sorted",
                vec![local(1, "w1/visits", 2, 2), local(1, "w1/cases", 1, 1), local(3, "w1/visits", 1, 1)],
                vec![remote(3, "w1/visits", 4), remote(1, "w1/cases", 0)],
                vec![up(1, "w1/cases", 1, 1), up(1, "w1/visits", 1, 2), down(3, "w1/visits", 2, 4)],
            ),
        ];
        for (name, l, r, expected) in cases {
            assert_eq!(operations(&l, &r), expected, "{name}");
        }
    }

    #[test]
    fn operations_are_idempotent_once_applied() {
        // After every operation has run, both sides agree and nothing is left to do.
        let l = vec![local(1, "w1/visits", 6, 6), local(2, "w1/visits", 3, 3)];
        let r = vec![remote(1, "w1/visits", 2), remote(2, "w1/visits", 5)];
        assert_eq!(operations(&l, &r).len(), 2);
        let l_after = vec![local(1, "w1/visits", 6, 6), local(2, "w1/visits", 5, 5)];
        let r_after = vec![remote(1, "w1/visits", 6), remote(2, "w1/visits", 5)];
        assert!(operations(&l_after, &r_after).is_empty());
    }
}
