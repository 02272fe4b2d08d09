//! The operator's endpoints: `/metrics` (Prometheus text) and `/readyz` (may this node take
//! traffic?), beside `/healthz` (is the process alive?).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use fanloop_community::search_sync::SyncStatus;
use fanloop_platform::ops::{self, prometheus};
use fanloop_platform::ratelimit::SharedCounters;
use fanloop_platform::Db;
use once_cell::sync::Lazy;
use serde_json::json;

#[derive(Clone)]
pub struct Ops {
    pub db: Db,
    pub auth_cache: Arc<fanloop_platform::authcache::AuthCache>,
    pub search: Arc<SyncStatus>,
    pub redis: Option<SharedCounters>,
}

pub fn routes(state: Ops) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/readyz", get(readyz))
        .with_state(state)
}

struct Gauges {
    pool: prometheus::IntGaugeVec,
    probe: prometheus::Gauge,
    search: prometheus::IntGaugeVec,
    outbox: prometheus::IntGaugeVec,
    jobs_overdue: prometheus::IntGauge,
    auth_cache: prometheus::IntGaugeVec,
}

static GAUGES: Lazy<Gauges> = Lazy::new(|| {
    let probe = prometheus::Gauge::new(
        "fanloop_db_probe_seconds",
        "Time of a trivial query at the last scrape (database round trip and pool wait).",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let jobs_overdue = prometheus::IntGauge::new(
        "fanloop_jobs_overdue",
        "Background jobs due for over a minute that no node is running.",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for m in [
        Box::new(probe.clone()) as Box<dyn prometheus::core::Collector>,
        Box::new(jobs_overdue.clone()),
    ] {
        let _ = ops::REGISTRY.register(m);
    }
    Gauges {
        pool: ops::gauge_vec("fanloop_db_pool_connections", "Database connections of this node, by state.", &["state"]),
        probe,
        search: ops::gauge_vec(
            "fanloop_search_index",
            "This node's search index: `lag` entries of the change log not yet applied, `position`, `head`, `applied` since start, `rebuilds` since start.",
            &["what"],
        ),
        outbox: ops::gauge_vec("fanloop_mail_outbox", "Mail in the outbox, by state.", &["state"]),
        jobs_overdue,
        auth_cache: ops::gauge_vec(
            "fanloop_auth_cache",
            "This node's memory of API tokens: `tokens` kept, `trusted` 1 while it follows auth_changes, `clears` since start, `misses` (lookups sent to the database) since start.",
            &["what"],
        ),
    }
});

async fn metrics(State(s): State<Ops>) -> Response {
    let g = &*GAUGES;
    let pool = &s.db.pool;
    let (size, idle) = (pool.size() as i64, pool.num_idle() as i64);
    g.pool.with_label_values(&["in_use"]).set(size - idle);
    g.pool.with_label_values(&["idle"]).set(idle);
    g.pool
        .with_label_values(&["max"])
        .set(pool.options().get_max_connections() as i64);
    let started = Instant::now();
    let probe = tokio::time::timeout(Duration::from_secs(2), sqlx::query("SELECT 1").execute(pool)).await;
    g.probe.set(match probe {
        Ok(Ok(_)) => started.elapsed().as_secs_f64(),
        _ => f64::NAN,
    });
    let cache = &s.auth_cache;
    for (what, v) in [
        ("tokens", cache.len() as i64),
        ("trusted", i64::from(cache.trusted())),
        ("clears", cache.clears() as i64),
        ("misses", cache.misses() as i64),
    ] {
        g.auth_cache.with_label_values(&[what]).set(v);
    }
    let st = &s.search;
    for (what, v) in [
        ("lag", st.lag()),
        ("position", st.position.load(Ordering::Relaxed)),
        ("head", st.head.load(Ordering::Relaxed)),
        ("applied", st.applied.load(Ordering::Relaxed)),
        ("rebuilds", st.rebuilds.load(Ordering::Relaxed)),
    ] {
        g.search.with_label_values(&[what]).set(v);
    }
    if let Ok((waiting, sent, failed)) = fanloop_platform::mail::outbox_counts(&s.db).await {
        for (state, v) in [("waiting", waiting), ("sent", sent), ("failed", failed)] {
            g.outbox.with_label_values(&[state]).set(v);
        }
    }
    if let Ok(jobs) = fanloop_platform::jobs::list(&s.db).await {
        g.jobs_overdue.set(jobs.iter().filter(|j| j.overdue).count() as i64);
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        ops::render(),
    )
        .into_response()
}

/// 200 when the database answers, Redis answers (if configured) and the search index follows
/// the store's change log and has caught up; 503 with the failing checks otherwise.
async fn readyz(State(s): State<Ops>) -> Response {
    let db = matches!(
        tokio::time::timeout(Duration::from_secs(2), sqlx::query("SELECT 1").execute(&s.db.pool)).await,
        Ok(Ok(_))
    );
    let redis = match &s.redis {
        Some(r) => Some(r.ping().await),
        None => None,
    };
    let search = s.search.healthy();
    let ready = db && search && redis != Some(false);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "ready": ready,
        "database": db,
        "redis": redis,
        "search": { "caught_up": search, "lag": s.search.lag() },
    });
    (status, Json(body)).into_response()
}
