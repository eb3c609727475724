//! How a committed queue change or a sync nudge reaches the feeds of every server process on one
//! PostgreSQL database: LISTEN/NOTIFY. On SQLite there is one process, and the local channel in
//! [`QueueHub`](super::queue_routes::QueueHub) is all there is.
//!
//! A process publishes to its own feeds at once, then sends a notification after the commit, from
//! one task in the order the changes were made (so the turn is never held for a round trip to the
//! database). Each process keeps one listening connection and hands what the others sent to its
//! own feeds, skipping what it sent itself. Nothing here has to be exact: a feed that sees a
//! revision it did not expect (one notification overtaking another, one lost because its sender
//! died between commit and notify, one too large to carry the change) reads a fresh snapshot
//! from the store (the revision-gap catch-up in `queue_routes`). A listening connection that
//! drops misses notifications without a trace, so after it is back every feed catches up.
//!
//! Wire format (PostgreSQL limits a payload to 8000 bytes): a header line
//! `<origin> c <rev> <center>` then the change's JSON; `<origin> r <rev> <center>` when the change
//! did not fit; or `<origin> n <window> <center>` for a nudge. Every queue is a center's: a
//! notification reaches that center's feeds only.

use std::str::FromStr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::sync::mpsc;

use super::queue_routes::{Announced, QueueHub};
use super::store::Store;

/// The channel every bianmin process on a database listens on.
pub const CHANNEL: &str = "bianmin_queue";
/// What the listening connection calls itself in `pg_stat_activity`, followed by `-<pid>` of the
/// server process (an operator, or a test, finds it by this name).
pub const LISTENER_NAME: &str = "bianmin-feed";
/// PostgreSQL refuses payloads of 8000 bytes and more; a change larger than this goes as its
/// revision only.
const MAX_PAYLOAD: usize = 7900;
/// Notifications sent in one statement at most, when many wait.
const BATCH: usize = 256;
/// The first wait before reconnecting a dropped listener, doubled on each failure up to the last.
const RECONNECT_FIRST: Duration = Duration::from_secs(1);
const RECONNECT_LAST: Duration = Duration::from_secs(30);
/// How often a process compares the store's queue revision with the last one its feeds were told
/// of. A revision still unheard of at the next check lost its notification (its sender died
/// between commit and notify, or the notify failed): the feeds catch up then, within two checks.
const REVISION_CHECK: Duration = Duration::from_secs(5);

/// The sending side: payloads go to the task that notifies.
pub struct Outbox {
    origin: String,
    tx: mpsc::UnboundedSender<String>,
}

impl Outbox {
    /// Sends `announced` to the other processes (never waits).
    pub(super) fn send(&self, center: &str, announced: &Announced) {
        let payload = encode(&self.origin, center, announced);
        // The task ends only with the process.
        let _ = self.tx.send(payload);
    }
}

fn encode(origin: &str, center: &str, announced: &Announced) -> String {
    match announced {
        Announced::Change { rev, json } => {
            let full = format!("{origin} c {rev} {center}\n{json}");
            if full.len() <= MAX_PAYLOAD { full } else { format!("{origin} r {rev} {center}") }
        }
        Announced::Revision(rev) => format!("{origin} r {rev} {center}"),
        Announced::Nudge { window, .. } => format!("{origin} n {window} {center}"),
        // Local only: each process's listener decides for itself.
        Announced::CatchUp => format!("{origin} x 0 {center}"),
    }
}

/// What another process sent, and to which center's feeds; `None` for our own, or anything
/// unreadable (logged). The center is the rest of the header line (an id may hold spaces).
fn decode(own: &str, payload: &str) -> Option<(String, Announced)> {
    let (header, json) = payload.split_once('\n').unwrap_or((payload, ""));
    let mut parts = header.splitn(4, ' ');
    let (Some(origin), Some(kind), Some(number), Some(center)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        tracing::warn!(len = payload.len(), "unreadable queue notification");
        return None;
    };
    if origin == own {
        return None;
    }
    let Ok(number) = number.parse::<u64>() else {
        tracing::warn!(kind, "queue notification without a number");
        return None;
    };
    let announced = match kind {
        "c" if !json.is_empty() => Some(Announced::Change { rev: number, json: json.to_owned() }),
        "r" => Some(Announced::Revision(number)),
        "n" => u32::try_from(number).ok().map(Announced::nudge),
        _ => {
            tracing::warn!(kind, "unknown queue notification");
            None
        }
    };
    announced.map(|a| (center.to_owned(), a))
}

/// Joins `hub` to the other processes on the PostgreSQL database at `url`: listens before it
/// returns (so no change committed after the server starts answering is missed), and starts the
/// tasks that notify and listen.
pub async fn join(hub: &Arc<QueueHub>, url: &str, store: Arc<dyn Store>) -> Result<(), sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?;
    let listen_pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(options.clone().application_name(&format!("{LISTENER_NAME}-{}", std::process::id())));
    let notify_pool =
        PgPoolOptions::new().max_connections(1).connect_lazy_with(options.application_name("bianmin-notify"));
    let listener = listen(&listen_pool).await?;
    let origin = uuid::Uuid::now_v7().simple().to_string();
    let (tx, rx) = mpsc::unbounded_channel();
    hub.set_outbox(Outbox { origin: origin.clone(), tx });
    tokio::spawn(revision_task(Arc::downgrade(hub), store));
    tokio::spawn(notify_task(notify_pool, rx));
    tokio::spawn(listen_task(Arc::downgrade(hub), listen_pool, listener, origin));
    Ok(())
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // A lost connection comes back in `listen_task`, which then has every feed catch up.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Sends the payloads in order, many in one statement when they queue up. A failure loses them
/// (logged): the receivers catch up at the next revision they see.
async fn notify_task(pool: PgPool, mut rx: mpsc::UnboundedReceiver<String>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let sent = sqlx::query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS t(p)")
            .bind(CHANNEL)
            .bind(&batch)
            .execute(&pool)
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, lost = batch.len(), "queue notifications not sent; other processes catch up later");
        }
        batch.clear();
    }
}

/// Catches up after a lost notification: a committed revision of a center's queue that this
/// process's feeds of that center were not told of by the next check has every feed behind it
/// read the queue. Each center is compared on its own. Ends when the server shuts down.
async fn revision_task(weak: Weak<QueueHub>, store: Arc<dyn Store>) {
    let Some(mut closing) = weak.upgrade().map(|h| h.closing()) else { return };
    let mut suspect: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    loop {
        tokio::select! {
            () = tokio::time::sleep(REVISION_CHECK) => {},
            _ = closing.wait_for(|closing| *closing) => return,
        }
        let Some(hub) = weak.upgrade() else { return };
        let centers = match store.centers().await {
            Ok(centers) => centers,
            Err(e) => {
                tracing::warn!(error = %e, "queue revision check failed");
                continue;
            }
        };
        let mut next = std::collections::HashMap::new();
        for center in centers {
            let stored = match store.for_center(&center.id).queue_revision().await {
                Ok(rev) => rev,
                Err(e) => {
                    tracing::warn!(error = %e, center = %center.id, "queue revision check failed");
                    continue;
                }
            };
            let seen = hub.seen_revision(&center.id);
            if let Some(&missed) = suspect.get(&center.id).filter(|&&missed| missed > seen) {
                tracing::warn!(rev = missed, center = %center.id, "a queue notification never arrived; feeds catch up");
                hub.publish_local(&center.id, Announced::Revision(missed));
            }
            // Unheard of now may still be on its way: suspect only until the next check.
            if stored > hub.seen_revision(&center.id) {
                next.insert(center.id, stored);
            }
        }
        suspect = next;
    }
}

/// Hands what other processes notify to this process's feeds; after a lost connection,
/// reconnects (waiting longer after each failure) and has every feed catch up. Ends when the
/// server shuts down.
async fn listen_task(weak: Weak<QueueHub>, pool: PgPool, mut listener: PgListener, origin: String) {
    let Some(mut closing) = weak.upgrade().map(|h| h.closing()) else { return };
    loop {
        let received = tokio::select! {
            received = listener.try_recv() => received,
            _ = closing.wait_for(|closing| *closing) => return,
        };
        let Some(hub) = weak.upgrade() else { return };
        match received {
            Ok(Some(notification)) => {
                if let Some((center, announced)) = decode(&origin, notification.payload()) {
                    hub.publish_remote(&center, announced);
                }
                continue;
            }
            Ok(None) => tracing::warn!("queue listener lost its connection; reconnecting"),
            Err(e) => tracing::warn!(error = %e, "queue listener failed; reconnecting"),
        }
        drop(hub);
        let mut wait = RECONNECT_FIRST;
        listener = loop {
            tokio::select! {
                () = tokio::time::sleep(wait) => {},
                _ = closing.wait_for(|closing| *closing) => return,
            }
            match listen(&pool).await {
                Ok(listener) => break listener,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_s = wait.as_secs(), "queue listener cannot reconnect");
                    wait = (wait * 2).min(RECONNECT_LAST);
                }
            }
        };
        tracing::info!("queue listener reconnected; feeds catch up");
        let Some(hub) = weak.upgrade() else { return };
        hub.publish_everywhere(&Announced::CatchUp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(announced: &Announced) -> Option<(String, Announced)> {
        decode("other", &encode("me", "center-a", announced))
    }

    fn at_a(announced: Announced) -> Option<(String, Announced)> {
        Some(("center-a".to_owned(), announced))
    }

    #[test]
    fn a_change_goes_whole_when_it_fits_and_as_its_revision_when_not() {
        let small = Announced::Change { rev: 7, json: r#"{"rev":7}"#.into() };
        assert_eq!(round_trip(&small), at_a(small));
        let big = Announced::Change { rev: 8, json: format!(r#"{{"note":"{}"}}"#, "长".repeat(4000)) };
        let encoded = encode("me", "center-a", &big);
        assert!(encoded.len() < 8000, "{}", encoded.len());
        assert_eq!(round_trip(&big), at_a(Announced::Revision(8)));
    }

    #[test]
    fn a_nudge_carries_its_window_and_our_own_notifications_are_skipped() {
        assert_eq!(round_trip(&Announced::nudge(3)), at_a(Announced::nudge(3)));
        assert_eq!(decode("me", &encode("me", "center-a", &Announced::nudge(3))), None);
        assert_eq!(decode("me", "garbage"), None);
        assert_eq!(decode("me", "other c x a\n{}"), None);
        assert_eq!(decode("me", "other c 5 a\n"), None, "a change without its body");
        assert_eq!(decode("me", "other c 5\n{}"), None, "a change without its center");
    }

    #[test]
    fn every_notification_names_its_center() {
        let change = Announced::Change { rev: 2, json: "{}".into() };
        assert_eq!(
            decode("me", &encode("other", "镇 B", &change)),
            Some(("镇 B".to_owned(), change)),
            "a center id with a space comes back whole"
        );
    }
}
