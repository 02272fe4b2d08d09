//! What an operator watches: a request id on every request (in the log, the `x-request-id`
//! header, JSON errors and error pages, so a member's report can be found in the log), and
//! Prometheus metrics per route.  Pillars register their own metrics in [`REGISTRY`].

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use once_cell::sync::Lazy;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use tracing::Instrument;

pub use prometheus;

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

/// The id of the request being served, if any.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.to_string()).ok()
}

/// Every metric fanloop exports, named `fanloop_*`.
pub static REGISTRY: Lazy<Registry> = Lazy::new(Registry::new);

fn register<T: prometheus::core::Collector + Clone + 'static>(metric: T) -> T {
    if let Err(e) = REGISTRY.register(Box::new(metric.clone())) {
        tracing::error!("registering a metric: {e}");
    }
    metric
}

/// A counter family, registered once.
pub fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let counter = IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("metric {name}: {e}"));
    register(counter)
}

/// A gauge family, registered once.
pub fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let gauge = IntGaugeVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("metric {name}: {e}"));
    register(gauge)
}

/// A histogram family with the given bucket bounds, registered once.
pub fn histogram_vec(name: &str, help: &str, labels: &[&str], buckets: Vec<f64>) -> HistogramVec {
    let histogram = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    register(histogram)
}

static HTTP_REQUESTS: Lazy<IntCounterVec> = Lazy::new(|| {
    counter_vec(
        "fanloop_http_requests_total",
        "Requests answered, by route, method and status.",
        &["method", "route", "status"],
    )
});

static HTTP_SECONDS: Lazy<HistogramVec> = Lazy::new(|| {
    histogram_vec(
        "fanloop_http_request_duration_seconds",
        "Time to answer a request (until the response head), by route and method.",
        &["method", "route"],
        vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ],
    )
});

/// A request id from the client or the proxy in front (letters, digits, `-`, `_`, `.`, at most
/// 64), else a new one.
fn incoming_id(req: &Request) -> Arc<str> {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(Arc::from)
        .unwrap_or_else(|| {
            // 80 random bits in 20 hexadecimal digits.
            let bits: u128 = rand::random::<u128>() >> 48;
            Arc::from(format!("{bits:020x}").as_str())
        })
}

/// Middleware: gives the request its id (visible to everything that serves it), logs it with
/// the route and status, and counts it.
pub async fn observe(req: Request, next: Next) -> Response {
    let id = incoming_id(&req);
    // A made-up method must not make a new series of every metric.
    let method: &'static str = match *req.method() {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    };
    // The router's own `Arc<str>`: no copy per request.
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", |p| p.as_str());
    let span = tracing::info_span!("request", id = %id, method = %method, route = %route);
    let started = Instant::now();
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(req))
        .instrument(span.clone())
        .await;
    let elapsed = started.elapsed();
    let status = response.status();
    HTTP_REQUESTS.with_label_values(&[method, route, status.as_str()]).inc();
    HTTP_SECONDS
        .with_label_values(&[method, route])
        .observe(elapsed.as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::error!(
                status = status.as_u16(),
                ms = elapsed.as_millis() as u64,
                "request failed"
            );
        } else {
            tracing::debug!(status = status.as_u16(), ms = elapsed.as_millis() as u64, "request");
        }
    });
    response
}

/// The exposition of every registered metric (Prometheus text format 0.0.4).
pub fn render() -> String {
    let encoder = prometheus::TextEncoder::new();
    encoder
        .encode_to_string(&REGISTRY.gather())
        .unwrap_or_else(|e| format!("# encoding metrics failed: {e}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_id_is_kept_only_when_it_is_harmless() {
        let with = |v: &str| {
            let req = Request::builder()
                .header("x-request-id", v)
                .body(axum::body::Body::empty())
                .unwrap();
            incoming_id(&req).to_string()
        };
        assert_eq!(with("lb-1234.abc_9"), "lb-1234.abc_9");
        for bad in ["", "a b", "<script>", &"x".repeat(65)] {
            let id = with(bad);
            assert_ne!(id, bad);
            assert_eq!(id.len(), 20);
        }
    }
}
