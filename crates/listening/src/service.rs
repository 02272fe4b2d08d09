//! Trending over the forum's posts (with campaign entries) and imported social posts, read from
//! the hourly roll-ups, with the hours changed since their roll-up counted from their posts: as
//! new as the posts, edits and deletions included, and fast however many posts there are.

use std::collections::{HashMap, HashSet};

use axum::extract::FromRef;
use fanloop_platform::accounts::User;
use fanloop_platform::db::now_ms;
use fanloop_platform::web::Platform;
use fanloop_platform::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::store;
use crate::trending::{self, BurstConfig, Trend};

#[derive(Clone)]
pub struct ListeningState {
    pub platform: Platform,
}

impl FromRef<ListeningState> for Platform {
    fn from_ref(state: &ListeningState) -> Platform {
        state.platform.clone()
    }
}

/// Out-of-date hours a request counts from their posts itself; older ones are read from their
/// last roll-up (and the answer says how many).
pub const LIVE_HOURS_MAX: usize = 6;
/// Posts a request counts itself at most (beyond, hours are read from their last roll-up).
pub const LIVE_POSTS_MAX: usize = 20_000;
const HOUR_MS: i64 = crate::rollup::HOUR_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    #[default]
    Hour,
    Day,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    #[default]
    All,
    Forum,
    Imported,
}

#[derive(Debug, Clone, Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct TrendingQuery {
    /// hour (last 24 hours against the 48 before) or day (last 7 days against the 14 before).
    #[serde(default)]
    pub granularity: Granularity,
    /// all, forum or imported.
    #[serde(default)]
    pub source: Source,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrendingView {
    pub granularity: Granularity,
    pub source: Source,
    /// The latest post (ms), or now if there is none: the window ends with the end of its hour.
    pub until: i64,
    /// Start of the first bucket (ms): buckets are whole UTC hours, or 24 of them.
    pub start_ms: i64,
    pub bucket_ms: i64,
    pub buckets: usize,
    pub posts: usize,
    /// True when part of the window was counted from an out-of-date roll-up (see
    /// `stale_hours`) or an hour had more posts than are counted.
    pub truncated: bool,
    /// Hours of the window whose latest changes are not counted yet: their roll-up is being
    /// redone in the background (right after an upgrade or a bulk import).
    pub stale_hours: usize,
    pub trends: Vec<Trend>,
}

/// Trending over the window that ends with the hour of the latest post (now, unless the
/// community has been quiet): 72 hours (the last 24 examined), or 21 days of 24 hours (the last
/// 7 examined).  Counts come from the hourly roll-ups (`crate::rollup`); the terms read are only
/// those that can matter: any with a bucket of the examined part reaching the burst minimum,
/// and the most used.  Every other term has neither a burst nor a place in the list.
pub async fn trending(state: &ListeningState, me: &User, q: &TrendingQuery) -> Result<TrendingView, ApiError> {
    if !me.role.is_staff() {
        return Err(crate::error::ListeningError::StaffOnly.into());
    }
    let db = &state.platform.db;
    let (per, buckets, detect, cfg) = match q.granularity {
        Granularity::Hour => (1i64, 72usize, 24usize, BurstConfig::HOURLY),
        Granularity::Day => (24, 21, 7, BurstConfig::DAILY),
    };
    let source_ids: Vec<i64> = match q.source {
        Source::All => vec![store::FORUM, store::IMPORTED],
        Source::Forum => vec![store::FORUM],
        Source::Imported => vec![store::IMPORTED],
    };
    let sources = store::Sources {
        forum: q.source != Source::Imported,
        imported: q.source != Source::Forum,
    };
    let now = now_ms();
    let until = store::latest_post_at(db, sources, now).await?.unwrap_or(now);
    let last = until.div_euclid(HOUR_MS);
    let base = last - buckets as i64 * per + 1;
    let first_examined = buckets - detect;
    let examined_from = base + first_examined as i64 * per;
    let bucket_of = |hour: i64| ((hour - base) / per) as usize;

    // The newest out-of-date hours are counted here (up to a budget of posts); the rest are read
    // from their last roll-up.
    let dirty = store::dirty_hours(db, &source_ids, base, last).await?;
    let mut live: Vec<(i64, i64)> = Vec::new();
    let mut totals = vec![0u32; buckets];
    let mut live_counts: HashMap<String, Vec<u32>> = HashMap::new();
    let mut truncated = false;
    let mut live_posts = 0usize;
    for &(source, hour) in &dirty {
        if live.len() >= LIVE_HOURS_MAX || live_posts >= LIVE_POSTS_MAX {
            break;
        }
        let (count, _) = crate::rollup::count_hour(db, source, hour).await?;
        live.push((source, hour));
        live_posts += count.posts as usize;
        truncated |= count.truncated;
        let b = bucket_of(hour);
        totals[b] += count.posts;
        for (term, n) in count.terms {
            live_counts.entry(term).or_insert_with(|| vec![0; buckets])[b] += n;
        }
    }
    let stale_hours = dirty[live.len()..]
        .iter()
        .map(|&(_, hour)| hour)
        .collect::<HashSet<i64>>()
        .len();
    truncated |= stale_hours > 0;
    let live_keys: Vec<i64> = live.iter().map(|&(s, h)| store::hour_key(s, h)).collect();
    for (hour, n) in store::stored_totals(db, &source_ids, base, last, &live_keys).await? {
        totals[bucket_of(hour)] += n.max(0) as u32;
    }

    // Terms that may burst: a bucket of the examined part at the minimum or above.
    let mut candidates: HashSet<String> = store::stored_counts(
        db,
        &source_ids,
        examined_from,
        last,
        &live_keys,
        base,
        per,
        cfg.min_count as i64,
        None,
    )
    .await?
    .into_iter()
    .map(|(term, _, _)| term)
    .collect();
    // A term counted live: its stored counts in the same buckets are added to the live ones.
    let live_terms: Vec<String> = live_counts
        .iter()
        .filter(|(_, series)| series[first_examined..].iter().any(|&n| n > 0))
        .map(|(term, _)| term.clone())
        .collect();
    let mut examined: HashMap<String, Vec<u32>> = HashMap::new();
    if !live_terms.is_empty() {
        for (term, b, n) in store::stored_counts(
            db,
            &source_ids,
            examined_from,
            last,
            &live_keys,
            base,
            per,
            1,
            Some(&live_terms),
        )
        .await?
        {
            examined.entry(term).or_insert_with(|| vec![0; buckets])[b as usize] += n.max(0) as u32;
        }
        for term in &live_terms {
            let series = examined.entry(term.clone()).or_insert_with(|| vec![0; buckets]);
            if let Some(live_series) = live_counts.get(term) {
                for (b, n) in live_series.iter().enumerate() {
                    series[b] += n;
                }
            }
        }
        for (term, series) in &examined {
            if series[first_examined..].iter().any(|&n| n >= cfg.min_count) {
                candidates.insert(term.clone());
            }
        }
    }
    // And the most used of the examined part, which the list shows after the bursts.
    let mut used: HashMap<String, i64> = store::stored_top_terms(db, &source_ids, examined_from, last, &live_keys, 100)
        .await?
        .into_iter()
        .collect();
    for (term, series) in &examined {
        used.insert(term.clone(), series[first_examined..].iter().map(|&n| n as i64).sum());
    }
    let mut most_used: Vec<(String, i64)> = used.into_iter().collect();
    most_used.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    candidates.extend(most_used.into_iter().take(LIST_LEN).map(|(term, _)| term));

    // Whole series of the candidates.
    let candidates: Vec<String> = candidates.into_iter().collect();
    let mut series: HashMap<String, Vec<u32>> = HashMap::new();
    if !candidates.is_empty() {
        for (term, b, n) in
            store::stored_counts(db, &source_ids, base, last, &live_keys, base, per, 1, Some(&candidates)).await?
        {
            series.entry(term).or_insert_with(|| vec![0; buckets])[b as usize] += n.max(0) as u32;
        }
    }
    for term in &candidates {
        if let Some(live_series) = live_counts.get(term) {
            let s = series.entry(term.clone()).or_insert_with(|| vec![0; buckets]);
            for (b, n) in live_series.iter().enumerate() {
                s[b] += n;
            }
        }
    }
    let bucket_ms = per * HOUR_MS;
    let start_ms = base * HOUR_MS;
    let posts = totals.iter().map(|&n| n as usize).sum();
    let trends = tokio::task::spawn_blocking(move || {
        trending::rank(&series, &totals, start_ms, bucket_ms, detect, &cfg, LIST_LEN)
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(TrendingView {
        granularity: q.granularity,
        source: q.source,
        until,
        start_ms,
        bucket_ms,
        buckets,
        posts,
        truncated,
        stale_hours,
        trends,
    })
}

/// Terms in the list.
const LIST_LEN: usize = 40;

/// Points of an SVG polyline for a sparkline `width`×`height`.
pub fn sparkline(series: &[u32], width: f64, height: f64) -> String {
    let max = series.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = if series.len() > 1 {
        width / (series.len() - 1) as f64
    } else {
        width
    };
    series
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{:.1},{:.1}",
                i as f64 * step,
                height - (*v as f64 / max) * (height - 2.0) - 1.0
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}
