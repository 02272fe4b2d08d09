//! Hourly roll-ups of the terms trending counts, so a trending request reads a few thousand
//! rows instead of every post of its window (which at millions of posts is too slow).
//!
//! Triggers mark an hour out of date whenever one of its posts is written, edited, hidden or
//! deleted (`trend_dirty`, migration 6001).  A job, run by one node of the cluster at a time,
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

/// Counts the terms of a source's hour from its posts.
pub async fn count_hour(db: &Db, source: i64, hour: i64) -> anyhow::Result<HourCount> {
    let posts =
        store::source_posts_between(db, source, hour * HOUR_MS, (hour + 1) * HOUR_MS - 1, MAX_POSTS_PER_HOUR).await?;
    tokio::task::spawn_blocking(move || {
        let mut count = HourCount {
            posts: posts.len() as u32,
            truncated: posts.len() as i64 == MAX_POSTS_PER_HOUR,
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

/// Rolls up out-of-date hours, newest first, for at most `budget`; returns (hours rolled up,
/// hours still out of date).
pub async fn roll_up_pending(db: &Db, budget: Duration) -> anyhow::Result<(usize, i64)> {
    let started = Instant::now();
    let mut rolled = 0;
    loop {
        let (batch, pending) = store::next_dirty(db, 32).await?;
        if batch.is_empty() || started.elapsed() >= budget {
            return Ok((rolled, pending));
        }
        let mut cleared = 0;
        for (source, hour, marked) in batch {
            let count = count_hour(db, source, hour).await?;
            let mut terms: Vec<(String, u32)> = count.terms.into_iter().collect();
            terms.sort_unstable();
            if store::store_hour(db, source, hour, marked, count.posts as i64, &terms).await? {
                cleared += 1;
            }
            rolled += 1;
            if started.elapsed() >= budget {
                break;
            }
        }
        if cleared == 0 {
            // Every hour of the batch changed while it was counted (a very busy hour): the
            // next run takes them again rather than spinning here.
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
