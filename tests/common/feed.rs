//! Reading a live queue feed in tests: the next event within a limit, skipping connection
//! reports; the snapshot every feed opens with.

use std::time::{Duration, Instant};

use bianmin::api::queue::{QueueEvent, QueueSnapshot};
use bianmin::client::queue::QueueFeed;
use tokio::sync::mpsc;

/// The next event of a feed, skipping connection reports, within `limit`.
pub async fn next_event(feed: &mut mpsc::Receiver<QueueFeed>, limit: Duration) -> QueueEvent {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, feed.recv()).await {
            Ok(Some(QueueFeed::Event(event))) => return event,
            Ok(Some(QueueFeed::Connected)) => {}
            Ok(Some(other)) => panic!("feed: {other:?}"),
            Ok(None) => panic!("feed ended"),
            Err(_) => panic!("no event within {limit:?}"),
        }
    }
}

/// The snapshot a feed opens with, within `limit`.
pub async fn first_snapshot(feed: &mut mpsc::Receiver<QueueFeed>, limit: Duration) -> QueueSnapshot {
    match next_event(feed, limit).await {
        QueueEvent::Snapshot(s) => s,
        other => panic!("expected a snapshot first, got {other:?}"),
    }
}
