//! Trending's SQL: the posts of an hour, from the forum (with campaign entries) and from imported
//! social posts, and the hourly roll-ups of their terms (`trend_terms`, `trend_totals`,
//! `trend_marks`; migration 6001).

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

/// Roll-up source numbers (`trend_*` tables).
pub const FORUM: i64 = 1;
pub const IMPORTED: i64 = 2;

/// `(hour * 4 + source)`: one integer naming a source's hour, so a set of them is one parameter.
pub fn hour_key(source: i64, hour: i64) -> i64 {
    hour * 4 + source
}

/// One source's hour as read for a roll-up, all from one snapshot of the database: the marks
/// of its changes and its posts.
pub struct HourRead {
    pub marks: Vec<i64>,
    pub posts: Vec<(i64, String)>,
    /// A table had more posts in the hour than `cap`.
    pub truncated: bool,
}

/// Reads a source's hour (marks and posts, at most `cap` per table) in one snapshot, so the
/// marks are exactly those of the changes the posts show.
pub async fn read_hour(db: &Db, source: i64, hour: i64, cap: i64) -> anyhow::Result<HourRead> {
    let sources = Sources {
        forum: source == FORUM,
        imported: source == IMPORTED,
    };
    // A deferred transaction on SQLite reads one snapshot (WAL); PostgreSQL needs REPEATABLE READ.
    let mut tx = db.pool.begin().await?;
    if db.backend == fanloop_platform::db::Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await?;
    }
    let marks: Vec<i64> = sqlx::query_scalar("SELECT id FROM trend_marks WHERE source = $1 AND hour = $2")
        .bind(source)
        .bind(hour)
        .fetch_all(&mut *tx)
        .await?;
    let mut posts = Vec::new();
    let mut truncated = false;
    for (at, text, from) in sources.tables() {
        let rows = sqlx::query(&format!(
            "SELECT {at} AS at, {text} AS text FROM {from} AND {at} >= $1 AND {at} <= $2 ORDER BY {at} DESC LIMIT $3"
        ))
        .bind(hour * 3_600_000)
        .bind((hour + 1) * 3_600_000 - 1)
        .bind(cap)
        .fetch_all(&mut *tx)
        .await?;
        truncated |= rows.len() as i64 == cap;
        posts.extend(rows.iter().map(|r| (r.get("at"), r.get("text"))));
    }
    tx.commit().await?;
    Ok(HourRead {
        marks,
        posts,
        truncated,
    })
}

/// The hours from `lo` to `hi` of `sources` whose roll-up is out of date, newest first.
pub async fn dirty_hours(db: &Db, sources: &[i64], lo: i64, hi: i64) -> anyhow::Result<Vec<(i64, i64)>> {
    let list = db.json_list("$1", true);
    let rows = sqlx::query(&format!(
        "SELECT DISTINCT source, hour FROM trend_marks WHERE source IN ({list}) AND hour >= $2 AND hour <= $3 \
         ORDER BY hour DESC, source"
    ))
    .bind(serde_json::to_string(sources)?)
    .bind(lo)
    .bind(hi)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(|r| (r.get("source"), r.get("hour"))).collect())
}

/// Up to `limit` out-of-date hours (source, hour), newest first, and how many there are.
pub async fn next_dirty(db: &Db, limit: i64) -> anyhow::Result<(Vec<(i64, i64)>, i64)> {
    let rows =
        sqlx::query("SELECT source, hour FROM trend_marks GROUP BY source, hour ORDER BY hour DESC, source LIMIT $1")
            .bind(limit)
            .fetch_all(&db.pool)
            .await?;
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT DISTINCT source, hour FROM trend_marks) AS d")
        .fetch_one(&db.pool)
        .await?;
    Ok((rows.iter().map(|r| (r.get("source"), r.get("hour"))).collect(), pending))
}

/// Replaces the roll-up of one source's hour, counted from what [`read_hour`] read, and deletes
/// the marks it saw.  If any of them is already gone, another roll-up of this hour counted from
/// a newer snapshot has written or is writing: nothing is changed and `false` is returned (the
/// marks of changes this one did not see stay, and are counted next time).
pub async fn store_hour(
    db: &Db,
    source: i64,
    hour: i64,
    marks: &[i64],
    posts: i64,
    terms: &[(String, u32)],
) -> anyhow::Result<bool> {
    let mut tx = db.begin_write().await?;
    let deleted = sqlx::query(&format!(
        "DELETE FROM trend_marks WHERE id IN ({})",
        db.json_list("$1", true)
    ))
    .bind(serde_json::to_string(marks)?)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if deleted != marks.len() as u64 {
        tx.rollback().await?;
        return Ok(false);
    }
    // The totals row next: on PostgreSQL its row lock makes two roll-ups of one hour with
    // different marks take turns, so the second one's deletion sees the first one's rows.
    sqlx::query(
        "INSERT INTO trend_totals (source, hour, posts) VALUES ($1, $2, $3) \
         ON CONFLICT (source, hour) DO UPDATE SET posts = excluded.posts",
    )
    .bind(source)
    .bind(hour)
    .bind(posts)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM trend_terms WHERE source = $1 AND hour = $2")
        .bind(source)
        .bind(hour)
        .execute(&mut *tx)
        .await?;
    // Rows as one JSON parameter per 2,000 terms: [[term, n], …].
    let insert = match db.backend {
        fanloop_platform::db::Backend::Sqlite => {
            "INSERT INTO trend_terms (source, hour, term, n) \
             SELECT $1, $2, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each($3)"
        }
        fanloop_platform::db::Backend::Postgres => {
            "INSERT INTO trend_terms (source, hour, term, n) \
             SELECT $1, $2, e->>0, CAST(e->>1 AS BIGINT) FROM json_array_elements(CAST($3 AS json)) AS e"
        }
    };
    for chunk in terms.chunks(2_000) {
        sqlx::query(insert)
            .bind(source)
            .bind(hour)
            .bind(serde_json::to_string(chunk)?)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// The filter shared by the stored-roll-up reads: `$1` sources (JSON), `$2`..`$3` hours, `$4`
/// source-hours left out (JSON of [`hour_key`]s: those counted live instead).
fn stored_filter(db: &Db) -> String {
    format!(
        "source IN ({}) AND hour >= $2 AND hour <= $3 AND (hour * 4 + source) NOT IN ({})",
        db.json_list("$1", true),
        db.json_list("$4", true)
    )
}

/// Posts per hour from `lo` to `hi` in the stored roll-ups (sources summed).
pub async fn stored_totals(
    db: &Db,
    sources: &[i64],
    lo: i64,
    hi: i64,
    live: &[i64],
) -> anyhow::Result<Vec<(i64, i64)>> {
    let rows = sqlx::query(&format!(
        "SELECT hour, CAST(SUM(posts) AS BIGINT) AS n FROM trend_totals WHERE {} GROUP BY hour",
        stored_filter(db)
    ))
    .bind(serde_json::to_string(sources)?)
    .bind(lo)
    .bind(hi)
    .bind(serde_json::to_string(live)?)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(|r| (r.get("hour"), r.get("n"))).collect())
}

/// Counts per (term, bucket) from the stored roll-ups, buckets of `per` hours from hour `base`:
/// either those of at least `min` (`terms` is `None`) or every count of the given terms.
#[allow(clippy::too_many_arguments)]
pub async fn stored_counts(
    db: &Db,
    sources: &[i64],
    lo: i64,
    hi: i64,
    live: &[i64],
    base: i64,
    per: i64,
    min: i64,
    terms: Option<&[String]>,
) -> anyhow::Result<Vec<(String, i64, i64)>> {
    let only = match terms {
        Some(_) => format!(" AND term IN ({})", db.json_list("$8", false)),
        None => String::new(),
    };
    let sql = format!(
        "SELECT term, (hour - $5) / $6 AS b, CAST(SUM(n) AS BIGINT) AS cnt FROM trend_terms \
         WHERE {}{only} GROUP BY term, b HAVING SUM(n) >= $7",
        stored_filter(db)
    );
    let mut query = sqlx::query(&sql)
        .bind(serde_json::to_string(sources)?)
        .bind(lo)
        .bind(hi)
        .bind(serde_json::to_string(live)?)
        .bind(base)
        .bind(per)
        .bind(min);
    if let Some(terms) = terms {
        query = query.bind(serde_json::to_string(terms)?);
    }
    let rows = query.fetch_all(&db.pool).await?;
    Ok(rows.iter().map(|r| (r.get("term"), r.get("b"), r.get("cnt"))).collect())
}

/// The `limit` most used terms from `lo` to `hi` in the stored roll-ups, with their counts.
pub async fn stored_top_terms(
    db: &Db,
    sources: &[i64],
    lo: i64,
    hi: i64,
    live: &[i64],
    limit: i64,
) -> anyhow::Result<Vec<(String, i64)>> {
    let rows = sqlx::query(&format!(
        "SELECT term, CAST(SUM(n) AS BIGINT) AS cnt FROM trend_terms WHERE {} GROUP BY term \
         ORDER BY SUM(n) DESC, term LIMIT $5",
        stored_filter(db)
    ))
    .bind(serde_json::to_string(sources)?)
    .bind(lo)
    .bind(hi)
    .bind(serde_json::to_string(live)?)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(|r| (r.get("term"), r.get("cnt"))).collect())
}
