//! Keeps this node's search index in step with the store, whichever node wrote.
//!
//! Every write that changes what search shows leaves a row in `search_changes` (database
//! triggers, so no write path can forget it), in the writer's own transaction.  Each node
//! follows that log from the position saved in its index's last commit: it reads the entries
//! after its position, re-reads those posts and applies them with the new position in the same
//! index commit.  A node that was down therefore resumes where its index stopped, without a full
//! rebuild; one whose position was pruned away (or that has none) rebuilds.
//!
//! On PostgreSQL, sequence numbers are handed out before commit, so an entry can appear after
//! higher ones did.  The position only moves past a missing number once an entry after it is
//! [`IN_FLIGHT_MS`] old by the database's clock (the missing one belonged to a transaction open
//! that long, or rolled back); entries above the position that were already applied are
//! remembered and not applied twice, and the missing ones are looked for again at each step
//! (for [`LATE_MS`] after the position moved past them).
//! Applying an entry re-reads the post, so applying one again is harmless.  The position is
//! saved with the entry's time, so an index never resumes in another log that reuses the
//! numbers (a restored database): it rebuilds.
//!
//! PostgreSQL wakes the followers with `NOTIFY fanloop_search` from the same triggers; without
//! it (SQLite, or a lost listener) they look every second.  The node that wrote does not apply
//! its change itself (it could overwrite a newer version written elsewhere meanwhile): it wakes
//! its follower and waits, up to 3 s, until the follower has applied the change, so an author
//! finds their post on the next page.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fanloop_platform::db::{now_ms, Backend, Db};
use tokio::sync::Notify;

use crate::search::{Change, LogPosition, SearchIndex};
use crate::store;

/// How long a transaction may hold a change-log number before the position moves past it (by
/// the database's clock).  A number given up on is still looked for, for [`LATE_MS`].
pub const IN_FLIGHT_MS: i64 = 60_000;
/// How long numbers the position moved past are still looked for (a transaction blocked on a
/// lock for minutes that then commits).  An entry later still is applied when its post changes
/// again, or at the next rebuild.
pub const LATE_MS: i64 = 15 * 60_000;
/// Gaps wider than this are not looked for one by one (a sequence moved by hand, say).
const MAX_TRACKED_GAP: i64 = 1_000;
/// Entries read per step.
const BATCH: i64 = 5_000;
/// How often a follower looks without being woken.
const POLL: Duration = Duration::from_secs(1);
/// Entries are kept this long; a node down for longer rebuilds its index when it returns.
pub const KEEP_LOG_MS: i64 = 7 * 86_400_000;

/// What a follower reports, for `/metrics` and `/readyz`, and what writers wait on.
#[derive(Default)]
pub struct SyncStatus {
    /// The newest change-log entry seen in the store.
    pub head: AtomicI64,
    /// The index's position: every entry up to here is applied.
    pub position: AtomicI64,
    /// Entries applied since start.
    pub applied: AtomicI64,
    /// When the last step finished without error (ms).
    pub last_ok_at: AtomicI64,
    /// The last step read everything there was.
    pub caught_up: AtomicBool,
    /// Full rebuilds since start.
    pub rebuilds: AtomicI64,
    /// The position, the entries above it already applied, and the numbers under it still
    /// missing, as of the last step.
    done: Mutex<(i64, BTreeSet<i64>, BTreeSet<i64>)>,
    wake: Notify,
    progress: Notify,
}

impl SyncStatus {
    /// Entries in the store the index has not reached yet.
    pub fn lag(&self) -> i64 {
        (self.head.load(Ordering::Relaxed) - self.position.load(Ordering::Relaxed)).max(0)
    }

    /// Following, without errors in the last few seconds, and caught up.
    pub fn healthy(&self) -> bool {
        self.caught_up.load(Ordering::Relaxed) && now_ms() - self.last_ok_at.load(Ordering::Relaxed) < 10_000
    }

    /// Asks the follower to look now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn has_applied(&self, seq: i64) -> bool {
        let done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        (seq <= done.0 && !done.2.contains(&seq)) || done.1.contains(&seq)
    }

    /// Waits (at most `timeout`) until entry `seq` is applied to this node's index: a member
    /// who just posted finds the post on the next page.  `false` if it was not in time.
    pub async fn wait_for(&self, seq: i64, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let progressed = self.progress.notified();
            if self.has_applied(seq) {
                return true;
            }
            self.wake();
            if tokio::time::timeout_at(deadline, progressed).await.is_err() {
                return self.has_applied(seq);
            }
        }
    }
}

/// One node's follower of the change log.
pub struct SearchSync {
    db: Db,
    index: SearchIndex,
    status: Arc<SyncStatus>,
    position: LogPosition,
    /// Entries above `position` already applied.
    applied: BTreeSet<i64>,
    /// Numbers under `position` that were missing when it moved past them, and when (ms):
    /// looked for at each step until [`LATE_MS`] has passed.
    late: std::collections::BTreeMap<i64, i64>,
}

impl SearchSync {
    /// Brings the index up to date before the node serves: rebuilds it when it never followed
    /// this log, missed pruned entries, or is ahead of the log (a restored database), then
    /// applies everything after its position.
    pub async fn catch_up(db: &Db, index: &SearchIndex) -> anyhow::Result<SearchSync> {
        let status = Arc::new(SyncStatus::default());
        let pruned = store::search_log_pruned(db).await?;
        let head = store::search_log_head(db).await?.max(pruned);
        let resumable = match index.cursor() {
            None => false,
            Some(p) if p.seq < pruned || p.seq > head => false,
            // A pruned (or empty) log holds nothing to compare with.
            Some(p) if p.seq == pruned => true,
            // The entry must be the one the index saw: a restored database reuses numbers.
            Some(p) => store::search_log_entry(db, p.seq).await? == Some(p.at),
        };
        if !resumable {
            tracing::info!(
                "search index position {:?} is not in this change log (pruned up to {pruned}, head {head}): rebuilding",
                index.cursor()
            );
            let n = index.rebuild(db).await?;
            status.rebuilds.fetch_add(1, Ordering::Relaxed);
            tracing::info!("search index rebuilt: {n} posts");
        }
        let position = index.cursor().unwrap_or(LogPosition { seq: 0, at: 0 });
        status.position.store(position.seq, Ordering::Relaxed);
        let mut sync = SearchSync {
            db: db.clone(),
            index: index.clone(),
            status,
            position,
            applied: BTreeSet::new(),
            late: Default::default(),
        };
        let started = std::time::Instant::now();
        let mut applied = 0;
        loop {
            let (n, more) = sync.step().await?;
            applied += n;
            if !more {
                break;
            }
        }
        if applied > 0 {
            tracing::info!("search index caught up: {applied} changes in {:?}", started.elapsed());
        }
        Ok(sync)
    }

    pub fn status(&self) -> Arc<SyncStatus> {
        self.status.clone()
    }

    /// Counts a rebuild made outside the follower (the single node's start-up check).
    pub fn rebuilt(&mut self) {
        self.status.rebuilds.fetch_add(1, Ordering::Relaxed);
        self.position = self.index.cursor().unwrap_or(LogPosition { seq: 0, at: 0 });
        self.applied.clear();
        self.late.clear();
        self.status.position.store(self.position.seq, Ordering::Relaxed);
        *self.status.done.lock().unwrap_or_else(|e| e.into_inner()) =
            (self.position.seq, BTreeSet::new(), BTreeSet::new());
    }

    /// Follows the log for as long as the process runs.  `listen_url` (PostgreSQL) is used to
    /// be woken by other nodes' writes.
    pub fn spawn(mut self, listen_url: Option<String>) {
        let status = self.status.clone();
        if let (Backend::Postgres, Some(url)) = (self.db.backend, listen_url) {
            tokio::spawn(listen(url, status.clone()));
        }
        let db = self.db.clone();
        fanloop_platform::jobs::spawn(
            db.clone(),
            fanloop_platform::jobs::Schedule {
                name: "search.prune_log",
                every: Duration::from_secs(3_600),
                lease: Duration::from_secs(600),
                delay_first: false,
            },
            move || {
                let db = db.clone();
                async move {
                    let n = store::prune_search_log(&db, now_ms() - KEEP_LOG_MS).await?;
                    Ok(format!("{n} entries older than 7 days pruned"))
                }
            },
        );
        tokio::spawn(async move {
            loop {
                if self.db.pool.is_closed() {
                    break;
                }
                let more = match self.step().await {
                    Ok((_, more)) => more,
                    Err(e) => {
                        tracing::warn!("following the search change log: {e:#}");
                        false
                    }
                };
                if !more {
                    let _ = tokio::time::timeout(POLL, status.wake.notified()).await;
                }
            }
        });
    }

    /// Applies the next entries; returns how many and whether more are waiting.  On an error
    /// nothing moves: the same entries are tried again.
    async fn step(&mut self) -> anyhow::Result<(usize, bool)> {
        let top = self.applied.last().copied().unwrap_or(self.position.seq);
        // Entries under the newest applied one that were missing (in flight) last time…
        let mut rows = if top > self.position.seq {
            store::search_changes_between(&self.db, self.position.seq, top).await?
        } else {
            Vec::new()
        };
        // …and new ones.
        let newer = store::search_changes_after(&self.db, top, BATCH).await?;
        let more = newer.len() as i64 == BATCH;
        rows.extend(newer);
        // Numbers the position moved past that have turned up since (very late commits).
        let now = now_ms();
        self.late.retain(|_, since| now - *since < LATE_MS);
        let late_rows = if self.late.is_empty() {
            Vec::new()
        } else {
            let seqs: Vec<i64> = self.late.keys().copied().collect();
            store::search_changes_in(&self.db, &seqs).await?
        };
        let fresh: Vec<&store::SearchChange> = rows
            .iter()
            .filter(|c| !self.applied.contains(&c.seq))
            .chain(late_rows.iter())
            .collect();
        let mut position = self.position;
        let mut horizon: Option<i64> = None;
        for c in &rows {
            if c.seq != position.seq + 1 {
                // A missing number below `c` belongs to a transaction that began before `c` was
                // written: once `c` is older than the horizon (by the database's clock), it is
                // given up on (rolled back, or far too slow).
                let h = match horizon {
                    Some(h) => h,
                    None => *horizon.insert(store::search_log_clock(&self.db).await? - IN_FLIGHT_MS),
                };
                if c.at >= h {
                    break;
                }
                if c.seq - position.seq - 1 <= MAX_TRACKED_GAP {
                    for missing in position.seq + 1..c.seq {
                        self.late.insert(missing, now);
                    }
                }
            }
            position = LogPosition { seq: c.seq, at: c.at };
        }
        if !fresh.is_empty() || position != self.position {
            let ids: Vec<i64> = fresh
                .iter()
                .map(|c| c.post_id)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let docs = store::index_docs(&self.db, &ids).await?;
            let live: HashSet<i64> = docs.iter().map(|d| d.post_id).collect();
            let mut changes: Vec<Change> = docs.into_iter().map(Change::Upsert).collect();
            changes.extend(ids.iter().filter(|id| !live.contains(id)).map(|id| Change::Delete(*id)));
            self.index.apply_at(changes, Some(position)).await?;
        }
        self.applied
            .extend(fresh.iter().map(|c| c.seq).filter(|s| *s > position.seq));
        for c in &late_rows {
            self.late.remove(&c.seq);
        }
        self.position = position;
        self.applied = self.applied.split_off(&(position.seq + 1));
        let head = rows.last().map_or(position.seq, |c| c.seq);
        let s = &self.status;
        *s.done.lock().unwrap_or_else(|e| e.into_inner()) =
            (position.seq, self.applied.clone(), self.late.keys().copied().collect());
        s.head.fetch_max(head, Ordering::Relaxed);
        s.position.store(position.seq, Ordering::Relaxed);
        s.applied.fetch_add(fresh.len() as i64, Ordering::Relaxed);
        s.last_ok_at.store(now_ms(), Ordering::Relaxed);
        s.caught_up.store(!more, Ordering::Relaxed);
        s.progress.notify_waiters();
        Ok((fresh.len(), more))
    }
}

/// Wakes the follower on every `NOTIFY fanloop_search`; reconnects after a lost connection
/// (the follower keeps looking every second meanwhile).
async fn listen(url: String, status: Arc<SyncStatus>) {
    loop {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen("fanloop_search").await {
                    tracing::warn!("LISTEN fanloop_search: {e}");
                } else {
                    // `recv` reconnects by itself after a lost connection and returns an error
                    // only when it cannot.
                    while listener.recv().await.is_ok() {
                        status.wake();
                    }
                }
            }
            Err(e) => tracing::warn!("connecting to listen for search changes: {e}"),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db_with_posts() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(dir.path()).await.unwrap();
        std::mem::forget(dir);
        db.migrate(&[&fanloop_platform::MIGRATIONS, &crate::MIGRATIONS])
            .await
            .unwrap();
        db
    }

    async fn seq_of(db: &Db) -> i64 {
        store::search_log_head(db).await.unwrap()
    }

    /// A number handed out but not committed yet holds the position back, and what came after
    /// it is applied once, not again on every step.
    #[tokio::test]
    async fn a_missing_number_holds_the_position_until_it_is_old() {
        let db = db_with_posts().await;
        let index = SearchIndex::in_memory().unwrap();
        let mut sync = SearchSync::catch_up(&db, &index).await.unwrap();
        let base = seq_of(&db).await;
        for (seq, at) in [(base + 1, now_ms()), (base + 3, now_ms())] {
            sqlx::query("INSERT INTO search_changes (seq, post_id, at) VALUES ($1, 999999, $2)")
                .bind(seq)
                .bind(at)
                .execute(&db.pool)
                .await
                .unwrap();
        }
        assert_eq!(sync.step().await.unwrap(), (2, false));
        assert_eq!(sync.position.seq, base + 1, "held below the gap at {}", base + 2);
        assert_eq!(sync.step().await.unwrap(), (0, false), "nothing is applied twice");
        // The late transaction commits: its entry is applied and the position moves past both.
        sqlx::query("INSERT INTO search_changes (seq, post_id, at) VALUES ($1, 999998, $2)")
            .bind(base + 2)
            .bind(now_ms())
            .execute(&db.pool)
            .await
            .unwrap();
        assert_eq!(sync.step().await.unwrap(), (1, false));
        assert_eq!(sync.position.seq, base + 3);
        assert_eq!(
            index.cursor().map(|p| p.seq),
            Some(base + 3),
            "the position is in the index's commit"
        );
        // A gap whose successor is older than the horizon is given up on.
        sqlx::query("INSERT INTO search_changes (seq, post_id, at) VALUES ($1, 999997, $2)")
            .bind(base + 5)
            .bind(now_ms() - IN_FLIGHT_MS - 1_000) // a second past: the database clock may trail by a millisecond
            .execute(&db.pool)
            .await
            .unwrap();
        assert_eq!(sync.step().await.unwrap(), (1, false));
        assert_eq!(sync.position.seq, base + 5);
        let status = sync.status();
        assert!(
            !status.has_applied(base + 4),
            "a number given up on is not reported applied"
        );
        assert!(status.has_applied(base + 5) && status.has_applied(base + 3));
        // Its transaction commits minutes late: the entry is still applied, once.
        sqlx::query("INSERT INTO search_changes (seq, post_id, at) VALUES ($1, 999996, $2)")
            .bind(base + 4)
            .bind(now_ms() - 2 * IN_FLIGHT_MS)
            .execute(&db.pool)
            .await
            .unwrap();
        assert_eq!(sync.step().await.unwrap(), (1, false));
        assert!(status.has_applied(base + 4));
        assert_eq!(sync.step().await.unwrap(), (0, false));
        assert_eq!(sync.position.seq, base + 5);
    }
}
