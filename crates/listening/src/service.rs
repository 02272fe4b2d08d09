//! Trending over the forum's posts (with campaign entries) and imported social posts, computed
//! on demand from the posts of the window (capped), so it is always consistent with edits and deletions.

use std::collections::HashMap;

use axum::extract::FromRef;
use fanloop_platform::accounts::User;
use fanloop_platform::db::now_ms;
use fanloop_platform::web::Platform;
use fanloop_platform::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::trending::{self, BurstConfig, Counts, Trend};

#[derive(Clone)]
pub struct ListeningState {
    pub platform: Platform,
}

impl FromRef<ListeningState> for Platform {
    fn from_ref(state: &ListeningState) -> Platform {
        state.platform.clone()
    }
}

/// Posts read per source and window: enough for weeks of a busy community; beyond it the
/// oldest posts of the window are left out (and the answer says so).
pub const MAX_POSTS_PER_SOURCE: i64 = 50_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

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
    /// End of the window (ms): now, or the latest post if the community has been quiet.
    pub until: i64,
    pub bucket_ms: i64,
    pub buckets: usize,
    pub posts: usize,
    /// True when a source had more posts in the window than were read.
    pub truncated: bool,
    pub trends: Vec<Trend>,
}

pub async fn trending(state: &ListeningState, me: &User, q: &TrendingQuery) -> Result<TrendingView, ApiError> {
    if !me.role.is_staff() {
        return Err(crate::error::ListeningError::StaffOnly.into());
    }
    let db = &state.platform.db;
    let (bucket_ms, buckets, detect, cfg) = match q.granularity {
        Granularity::Hour => (HOUR_MS, 72usize, 24usize, BurstConfig::HOURLY),
        Granularity::Day => (DAY_MS, 21, 7, BurstConfig::DAILY),
    };
    let now = now_ms();
    let sources = crate::store::Sources {
        forum: q.source != Source::Imported,
        imported: q.source != Source::Forum,
    };
    let latest = crate::store::latest_post_at(db, sources, now).await?;
    let until = latest.unwrap_or(now);
    // Buckets end at `until`, so the last one is always a whole hour (or day) of posts: a
    // burst ten minutes old is not split by the top of the hour, and at 13:02 "the last hour"
    // does not mean two minutes.
    let since = until - buckets as i64 * bucket_ms + 1;
    let (posts, truncated) = crate::store::posts_between(db, sources, since, until, MAX_POSTS_PER_SOURCE).await?;
    let n_posts = posts.len();
    let trends = tokio::task::spawn_blocking(move || {
        let mut counts = Counts::default();
        for (at, text) in &posts {
            counts.add_post((at - since).div_euclid(bucket_ms), text);
        }
        let mut series: HashMap<String, Vec<u32>> = HashMap::new();
        for ((bucket, term), n) in counts.terms {
            if (0..buckets as i64).contains(&bucket) {
                series.entry(term).or_insert_with(|| vec![0; buckets])[bucket as usize] = n;
            }
        }
        let totals: Vec<u32> = (0..buckets as i64)
            .map(|b| counts.totals.get(&b).copied().unwrap_or(0))
            .collect();
        trending::rank(&series, &totals, since, bucket_ms, detect, &cfg, 40)
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(TrendingView {
        granularity: q.granularity,
        source: q.source,
        until,
        bucket_ms,
        buckets,
        posts: n_posts,
        truncated,
        trends,
    })
}

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
