//! Hourly roll-ups of the terms trending counts, so a trending request reads a few thousand
//! rows instead of every post of its window (which at millions of posts is too slow).
//!
//! Triggers mark an hour out of date whenever one of its posts is written, edited, hidden or
//! deleted (`trend_marks`, migration 6001).  A job, run by one node of the cluster at a time,
//! counts each marked hour again from its posts and replaces its roll-up; a trending request
//! counts the newest marked hours of its window itself, so what it shows is never older than
//! the posts.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fanloop_platform::db::Db;

use crate::store;
use crate::trending::terms;

pub const HOUR_MS: i64 = 3_600_000;

/// Posts counted per source and hour at most (far beyond any real forum's hour).
pub const MAX_POSTS_PER_HOUR: i64 = 200_000;

/// One source's hour, counted from its posts.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct HourCount {
    pub posts: u32,
    /// Each term once, with how many posts used it.
    pub terms: HashMap<String, u32>,
    /// The hour had more posts than were counted.
    pub truncated: bool,
}

/// Counts the terms of posts.
pub async fn count_posts(posts: Vec<(i64, String)>, truncated: bool) -> anyhow::Result<HourCount> {
    tokio::task::spawn_blocking(move || {
        let mut count = HourCount {
            posts: posts.len() as u32,
            truncated,
            ..HourCount::default()
        };
        for (_, text) in &posts {
            for t in terms(text) {
                *count.terms.entry(t).or_default() += 1;
            }
        }
        count
    })
    .await
    .map_err(|e| anyhow::anyhow!("counting an hour's terms: {e}"))
}

/// Counts the terms of a source's hour from its posts (and returns the marks it saw).
pub async fn count_hour(db: &Db, source: i64, hour: i64) -> anyhow::Result<(HourCount, Vec<i64>)> {
    let read = store::read_hour(db, source, hour, MAX_POSTS_PER_HOUR).await?;
    Ok((count_posts(read.posts, read.truncated).await?, read.marks))
}

/// Rolls up out-of-date hours, newest first, for at most `budget`; returns (hours rolled up,
/// hours still out of date).  Safe to run beside another run (a test, a node whose lease
/// expired): of two runs that read overlapping marks, only the one that deletes them all writes.
pub async fn roll_up_pending(db: &Db, budget: Duration) -> anyhow::Result<(usize, i64)> {
    let started = Instant::now();
    let mut rolled = 0;
    loop {
        let (batch, pending) = store::next_dirty(db, 32).await?;
        if batch.is_empty() || started.elapsed() >= budget {
            return Ok((rolled, pending));
        }
        let mut stored = 0;
        for (source, hour) in batch {
            let (count, marks) = count_hour(db, source, hour).await?;
            if marks.is_empty() {
                // Another run took this hour's marks meanwhile.
                continue;
            }
            let mut terms: Vec<(String, u32)> = count.terms.into_iter().collect();
            terms.sort_unstable();
            if store::store_hour(db, source, hour, &marks, count.posts as i64, &terms).await? {
                stored += 1;
                rolled += 1;
            }
            if started.elapsed() >= budget {
                break;
            }
        }
        if stored == 0 {
            // Another run is taking these hours: leave them to it rather than spin here.
            let (_, pending) = store::next_dirty(db, 0).await?;
            return Ok((rolled, pending));
        }
    }
}

/// Keeps the roll-ups current: every 10 s, on one node of the cluster.
pub fn spawn(db: Db) {
    let job_db = db.clone();
    fanloop_platform::jobs::spawn(
        db,
        fanloop_platform::jobs::Schedule {
            name: "trending.rollup",
            every: Duration::from_secs(10),
            lease: Duration::from_secs(300),
            delay_first: false,
        },
        move || {
            let db = job_db.clone();
            async move {
                let (rolled, pending) = roll_up_pending(&db, Duration::from_secs(120)).await?;
                Ok(format!("{rolled} hours rolled up, {pending} out of date"))
            }
        },
    );
}
