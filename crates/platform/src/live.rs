//! Live counts for open pages: a member's unread notifications and the new replies of the thread
//! they are reading, pushed as server-sent events.
//!
//! Every node follows the database, the one record all nodes share: a poller per node and table
//! reads the rows written since its last look (every 0.7 s) and tells the streams it serves.  A
//! notification or reply written on any node therefore reaches a reader connected to any other
//! within about a second, on SQLite and PostgreSQL alike, with or without Redis.  Ids that commit
//! out of order (PostgreSQL hands out sequence numbers before commit) are caught by looking again
//! a little behind the newest id seen.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::db::Db;

/// Something an open page may want to show at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveEvent {
    /// A notification for this member was written.
    Notified { user_id: i64 },
    /// A post was written in this thread.
    Posted { thread_id: i64 },
    /// A message was written in this expert conversation (the knowledge hub).
    Conversation { conversation_id: i64 },
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = anyhow::Result<T>> + Send + 'a>>;

/// A table whose new rows make events (its SQL stays in its pillar's store).
pub trait Followed: Send + Sync + 'static {
    /// The newest id (0 for an empty table).
    fn newest<'a>(&'a self, db: &'a Db) -> BoxFuture<'a, i64>;
    /// Rows (id, owner) above `id`, oldest first, at most a few thousand.
    fn after<'a>(&'a self, db: &'a Db, id: i64) -> BoxFuture<'a, Vec<(i64, i64)>>;
    /// The event a new row of `owner` makes.
    fn event(&self, owner: i64) -> LiveEvent;
}

/// This node's stream of [`LiveEvent`]s.
#[derive(Clone)]
pub struct LiveFeed {
    tx: broadcast::Sender<LiveEvent>,
    /// Set when the node shuts down: open streams end, so their connections close at once
    /// instead of holding the exit until the grace period ends (browsers reconnect elsewhere).
    closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Default for LiveFeed {
    fn default() -> Self {
        LiveFeed {
            tx: broadcast::channel(4_096).0,
            closing: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }
}

/// How often a node looks for new rows.
pub const POLL: Duration = Duration::from_millis(700);
/// How far behind the newest id a look goes again, for rows that committed late.
const LOOK_BACK: i64 = 500;

impl LiveFeed {
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.tx.subscribe()
    }

    /// Ends every open stream (the node is shutting down).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    pub fn publish(&self, event: LiveEvent) {
        // An error only means no stream is open on this node: nobody to tell.
        let _ = self.tx.send(event);
    }

    /// Follows a table for as long as the database is open.
    pub fn follow(&self, db: Db, table: Arc<dyn Followed>) {
        let feed = self.clone();
        tokio::spawn(async move {
            // From what exists now: a node that starts does not replay history.
            let (mut newest, mut seen) = loop {
                let start = async {
                    let newest = table.newest(&db).await?;
                    let window = table.after(&db, (newest - LOOK_BACK).max(0)).await?;
                    anyhow::Ok((newest, window.into_iter().map(|(id, _)| id).collect::<BTreeSet<i64>>()))
                };
                match start.await {
                    Ok(state) => break state,
                    Err(e) => {
                        if db.pool.is_closed() {
                            return;
                        }
                        tracing::debug!("live feed: {e:#}");
                        tokio::time::sleep(POLL).await;
                    }
                }
            };
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if db.pool.is_closed() {
                    return;
                }
                match table.after(&db, (newest - LOOK_BACK).max(0)).await {
                    Ok(found) => {
                        for (id, owner) in found {
                            if seen.insert(id) {
                                feed.publish(table.event(owner));
                            }
                            newest = newest.max(id);
                        }
                        seen = seen.split_off(&(newest - LOOK_BACK));
                    }
                    Err(e) => tracing::debug!("live feed: {e:#}"),
                }
            }
        });
    }
}

/// Notifications: each new one tells its member's open pages.
pub struct NotificationRows;

impl Followed for NotificationRows {
    fn newest<'a>(&'a self, db: &'a Db) -> BoxFuture<'a, i64> {
        Box::pin(crate::notifications::newest_id(db))
    }
    fn after<'a>(&'a self, db: &'a Db, id: i64) -> BoxFuture<'a, Vec<(i64, i64)>> {
        Box::pin(crate::notifications::owners_after(db, id, 2_000))
    }
    fn event(&self, owner: i64) -> LiveEvent {
        LiveEvent::Notified { user_id: owner }
    }
}

/// How long the server keeps one stream of server-sent events open.  The browser's
/// `EventSource` reconnects by itself a few seconds after a stream ends and is sent the current
/// state first (every stream here sends states, not a log), so nothing is missed.  It bounds
/// how long one connection is held: a proxy in front can rebalance, and a request pipelined
/// behind a stream is answered when it ends.
pub const STREAM_LIFETIME: Duration = Duration::from_secs(300);

/// `events`, ended after [`STREAM_LIFETIME`].
pub fn bounded<S: futures::Stream>(events: S) -> impl futures::Stream<Item = S::Item> {
    bounded_for(events, STREAM_LIFETIME)
}

fn bounded_for<S: futures::Stream>(events: S, lifetime: Duration) -> impl futures::Stream<Item = S::Item> {
    use futures::StreamExt;
    events.take_until(tokio::time::sleep(lifetime))
}

/// A stream of server-sent events for one reader: `first` now, then `next` whenever `wake`
/// says something relevant happened (and every 30 s regardless, for what no event tells, such
/// as notifications read in another tab), each only when it differs from the last one sent.
pub fn stream<T, F, Fut>(
    feed: &LiveFeed,
    wake: impl Fn(&LiveEvent) -> bool + Send + 'static,
    next: F,
) -> impl futures::Stream<Item = T> + Send
where
    T: PartialEq + Clone + Send + 'static,
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<T>> + Send,
{
    let rx = feed.subscribe();
    let closing = feed.closing.subscribe();
    let state = (rx, closing, None::<T>, next, wake);
    futures::stream::unfold(state, |(mut rx, mut closing, last, next, wake)| async move {
        loop {
            if *closing.borrow_and_update() {
                return None;
            }
            if last.is_some() {
                // Wait for something relevant, or the periodic look.
                let deadline = tokio::time::sleep(Duration::from_secs(30));
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        event = rx.recv() => match event {
                            Ok(e) if wake(&e) => break,
                            Ok(_) => continue,
                            // Missed events: look now.
                            Err(broadcast::error::RecvError::Lagged(_)) => break,
                            Err(broadcast::error::RecvError::Closed) => return None,
                        },
                        _ = &mut deadline => break,
                        _ = closing.changed() => return None,
                    }
                }
            }
            match next().await {
                Ok(value) if last.as_ref() != Some(&value) => {
                    return Some((value.clone(), (rx, closing, Some(value), next, wake)));
                }
                Ok(_) => continue,
                Err(e) => {
                    tracing::debug!("live stream: {e:#}");
                    // The database is away: end the stream; the browser reconnects by itself.
                    return None;
                }
            }
        }
    })
}

#[cfg(test)]
mod bounded_tests {
    use futures::StreamExt;

    #[tokio::test]
    async fn a_stream_ends_after_its_lifetime_and_not_before() {
        let started = std::time::Instant::now();
        let ticks =
            tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(std::time::Duration::from_millis(10)));
        let got: Vec<_> = super::bounded_for(ticks, std::time::Duration::from_millis(200))
            .collect()
            .await;
        let took = started.elapsed();
        assert!(took >= std::time::Duration::from_millis(200), "{took:?}");
        assert!(took < std::time::Duration::from_secs(5), "{took:?}");
        assert!(got.len() >= 10, "events flow until the end: {}", got.len());
    }
}
