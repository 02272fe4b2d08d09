//! Reads for trending: the posts of a window, from the forum (with campaign entries) and from
//! imported social posts.

use fanloop_platform::db::{opt_i64, Db};
use sqlx::Row;

/// Which posts trending reads.
#[derive(Debug, Clone, Copy)]
pub struct Sources {
    /// Forum posts and campaign entries.
    pub forum: bool,
    /// Posts imported for partner vetting.
    pub imported: bool,
}

impl Sources {
    /// Each table read: (time column, text column, table and filter).
    fn tables(self) -> Vec<(&'static str, &'static str, &'static str)> {
        let mut tables = Vec::new();
        if self.forum {
            tables.push(("created_at", "body", "posts WHERE deleted = 0"));
            // Campaign entries are on-site posts under a hashtag: a challenge taking off trends.
            tables.push(("created_at", "body", "campaign_entries WHERE hidden = 0"));
        }
        if self.imported {
            tables.push(("posted_at", "text", "vet_posts WHERE 1 = 1"));
        }
        tables
    }
}

/// The time of the latest post at or before `now`, if any.
pub async fn latest_post_at(db: &Db, sources: Sources, now: i64) -> anyhow::Result<Option<i64>> {
    let mut latest: Option<i64> = None;
    for (at, _, from) in sources.tables() {
        let row = sqlx::query(&format!("SELECT MAX({at}) AS m FROM {from} AND {at} <= $1"))
            .bind(now)
            .fetch_one(&db.pool)
            .await?;
        if let Some(m) = opt_i64(&row, "m") {
            latest = Some(latest.map_or(m, |l| l.max(m)));
        }
    }
    Ok(latest)
}

/// The posts (time, text) from `since` to `until`, the newest `cap` per source; and whether a
/// source had more.
pub async fn posts_between(
    db: &Db,
    sources: Sources,
    since: i64,
    until: i64,
    cap: i64,
) -> anyhow::Result<(Vec<(i64, String)>, bool)> {
    let mut posts = Vec::new();
    let mut truncated = false;
    for (at, text, from) in sources.tables() {
        let rows = sqlx::query(&format!(
            "SELECT {at} AS at, {text} AS text FROM {from} AND {at} >= $1 AND {at} <= $2 ORDER BY {at} DESC LIMIT $3"
        ))
        .bind(since)
        .bind(until)
        .bind(cap)
        .fetch_all(&db.pool)
        .await?;
        truncated |= rows.len() as i64 == cap;
        posts.extend(rows.iter().map(|r| (r.get("at"), r.get("text"))));
    }
    Ok((posts, truncated))
}
