//! Wires the pillars into one server: storage, migrations, search, demo data, routes and the
//! OpenAPI document.  `main.rs` is only the command line around this.

pub mod backup;
pub mod ops;

use std::path::PathBuf;

use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use fanloop_community::search::SearchIndex;
use fanloop_community::search_sync::{SearchSync, SyncStatus};
use fanloop_community::{demo, store, CommunityState};
use fanloop_platform::web::{Platform, SecretKey, WebConfig};
use fanloop_platform::{ApiError, Db, PageError};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;

/// Largest request body accepted (posts are at most 20,000 characters).
pub const BODY_LIMIT_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// `postgres://…`; `None` uses embedded SQLite in `data_dir`.
    pub database_url: Option<String>,
    pub demo: bool,
    pub secure_cookies: bool,
    /// Multi-node launches: stock and limits in this Redis, orders in the database.
    pub redis_url: Option<String>,
    /// Prefix of this installation's Redis keys.
    pub redis_prefix: String,
    /// Multi-node timings (node lease, Redis and database timeouts).
    pub cluster: fanloop_launches::cluster::ClusterOptions,
    /// The sentence-embedding model file; `None` looks in `data_dir/models` and
    /// `FANLOOP_EMBED_MODEL`, and runs without one if neither has it.
    pub embed_model: Option<PathBuf>,
    /// Outgoing mail (SMTP server, sender); without a server, mail waits in the outbox.
    pub mail: fanloop_platform::mail::MailConfig,
    /// The address people reach the site at, for links in mail.
    pub public_url: String,
    /// Members must confirm their address before they post, vote or buy.
    pub require_verified_email: bool,
    /// API tokens a node keeps in memory once looked up (0: none); see `authcache`.
    pub auth_cache_tokens: usize,
    /// Demos and browser tests: the knowledge hub's clock runs this many days ahead.
    pub hub_days_ahead: i64,
}

impl Config {
    /// Embedded SQLite in `data_dir`, no demo, no Redis: what tools and benchmarks use.
    pub fn sqlite(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            database_url: None,
            demo: false,
            secure_cookies: false,
            redis_url: None,
            redis_prefix: "fanloop".into(),
            cluster: Default::default(),
            embed_model: None,
            mail: Default::default(),
            public_url: "http://127.0.0.1:8080".into(),
            require_verified_email: false,
            auth_cache_tokens: DEFAULT_AUTH_CACHE_TOKENS,
            hub_days_ahead: 0,
        }
    }
}

/// About 650 bytes each (measured by `fanloop-bench sale`: 1.3 million tokens, 800 MB); a node
/// holds at most the tokens it read from the database in the last 30 minutes (used or loaded
/// before a sale).
pub const DEFAULT_AUTH_CACHE_TOKENS: usize = 1_500_000;

pub struct App {
    pub router: Router,
    pub state: CommunityState,
    pub launches: fanloop_launches::LaunchState,
    /// Set when this start loaded the demo community.
    pub demo: Option<demo::DemoCredentials>,
    /// How this node's search index follows the store.
    pub search_status: std::sync::Arc<SyncStatus>,
    /// The knowledge hub (its clock is what tests move).
    pub hub: fanloop_hub::HubState,
}

/// Every crate's migrations, in the order they run.
pub const MIGRATION_SETS: &[&fanloop_platform::db::Migrations] = &[
    &fanloop_platform::MIGRATIONS,
    &fanloop_community::MIGRATIONS,
    &fanloop_feedback::MIGRATIONS,
    &fanloop_launches::MIGRATIONS,
    &fanloop_vetting::MIGRATIONS,
    &fanloop_listening::MIGRATIONS,
    &fanloop_hub::MIGRATIONS,
];

pub async fn open_db(config: &Config) -> anyhow::Result<Db> {
    let db = match &config.database_url {
        Some(url) => Db::connect(url).await?,
        None => Db::open_sqlite(&config.data_dir).await?,
    };
    db.migrate(MIGRATION_SETS).await?;
    fanloop_platform::accounts::backfill_username_skeletons(&db).await?;
    Ok(db)
}

/// Opens storage and search, loads the demo on an empty store, and builds the routes.
/// Every pillar's templates and messages, merged by the web shell.
pub const UI_BUNDLES: &[&fanloop_platform::web::UiBundle] = &[
    &fanloop_platform::ui::BUNDLE,
    &fanloop_community::ui::BUNDLE,
    &fanloop_feedback::ui::BUNDLE,
    &fanloop_launches::ui::BUNDLE,
    &fanloop_vetting::ui::BUNDLE,
    &fanloop_vetting::ui::REASONS,
    &fanloop_listening::ui::BUNDLE,
    &fanloop_hub::ui::BUNDLE,
];

pub async fn build(config: &Config) -> anyhow::Result<App> {
    let db = open_db(config).await?;
    let search = SearchIndex::open(&config.data_dir.join("search-index"))?;
    let load_demo = config.demo && fanloop_platform::accounts::user_count(&db).await? == 0;
    let demo_credentials = if load_demo { Some(demo::load(&db).await?) } else { None };
    // The index is derived data: it resumes following the store's change log where its last
    // commit stopped (or is rebuilt), and is caught up before the node serves.
    let mut search_sync = SearchSync::catch_up(&db, &search).await?;
    // A single node is the only writer: if the index still disagrees with the store (an index
    // folder copied from elsewhere), rebuild it.
    if db.backend == fanloop_platform::db::Backend::Sqlite {
        let live = store::live_post_count(&db).await?;
        if search.num_docs() != live as u64 {
            tracing::info!(
                "search index has {} documents, store has {live} posts: rebuilding",
                search.num_docs()
            );
            search.rebuild(&db).await?;
            search_sync.rebuilt();
        }
    }
    let search_status = search_sync.status();
    search_sync.spawn(config.database_url.clone());
    let csrf_key = SecretKey(fanloop_platform::accounts::instance_secret(&db, "csrf").await?.into());
    let platform = Platform::new(
        db,
        WebConfig {
            secure_cookies: config.secure_cookies,
            csrf_key,
            public_url: config.public_url.clone(),
            require_verified_email: config.require_verified_email,
            smtp_configured: config.mail.smtp_url.is_some(),
            auth_cache_tokens: config.auth_cache_tokens,
        },
        UI_BUNDLES,
    )?;
    platform.add_profile_panel(std::sync::Arc::new(fanloop_feedback::pages::CreditsPanel));
    platform.load_embedder(config.embed_model.as_deref(), &config.data_dir)?;
    let mut launches = fanloop_launches::LaunchState::new(platform.clone());
    let mut shared_counters = None;
    if let Some(url) = &config.redis_url {
        anyhow::ensure!(
            platform.db.backend == fanloop_platform::db::Backend::Postgres,
            "several nodes (a Redis URL) need a shared PostgreSQL database"
        );
        // Sign-in, reset and purchase limits hold for the cluster, not per node.
        let counters = fanloop_platform::ratelimit::SharedCounters::connect(url, &config.redis_prefix).await?;
        platform.share_limits(&counters);
        launches.purchase_limiter.share(counters.clone());
        shared_counters = Some(counters);
        let cluster =
            fanloop_launches::cluster::Cluster::connect(url, &config.redis_prefix, platform.db.clone(), config.cluster)
                .await?;
        launches = launches.with_cluster(cluster);
    } else {
        launches.start_background();
    }
    launches.start_reminders();
    // Share walls' posts reach the forum (and so search and trending) from any node.
    fanloop_launches::wall::start_mirror(&launches);
    launches.start_auth_warmup();
    fanloop_feedback::service::start_regrouping(fanloop_feedback::FeedbackState::new(platform.clone()));
    fanloop_listening::rollup::spawn(platform.db.clone());
    // Live counts on open pages follow the database, so a write on any node reaches them.
    platform.live.follow(
        platform.db.clone(),
        std::sync::Arc::new(fanloop_platform::live::NotificationRows),
    );
    platform.live.follow(
        platform.db.clone(),
        std::sync::Arc::new(fanloop_community::api::PostRows),
    );
    platform
        .live
        .follow(platform.db.clone(), std::sync::Arc::new(fanloop_hub::ask::MessageRows));
    if load_demo {
        fanloop_feedback::demo::load(&fanloop_feedback::FeedbackState::new(platform.clone())).await?;
        fanloop_launches::demo::load(&launches).await?;
        fanloop_vetting::demo::load(&platform.db).await?;
        fanloop_listening::campaigns::demo::load(&fanloop_listening::ListeningState {
            platform: platform.clone(),
        })
        .await?;
    }
    let hub = fanloop_hub::HubState {
        platform: platform.clone(),
        clock: fanloop_hub::Clock::default(),
        catalogue: Default::default(),
    };
    if config.hub_days_ahead != 0 {
        hub.clock.advance_days(config.hub_days_ahead);
    }
    if load_demo {
        fanloop_hub::demo::load(&hub).await?;
    }
    // "Your stage this week" letters, by one node at a time.
    fanloop_hub::digest::start(hub.clone());
    // Every node runs a mail worker; claims keep them from sending a message twice.
    fanloop_platform::mail::start(platform.clone(), &config.mail)?;
    let state = CommunityState {
        platform: platform.clone(),
        search,
        search_sync: search_status.clone(),
    };
    Ok(App {
        router: router(
            state.clone(),
            launches.clone(),
            hub.clone(),
            ops::Ops {
                db: state.platform.db.clone(),
                auth_cache: state.platform.auth_cache.clone(),
                search: search_status.clone(),
                redis: shared_counters,
            },
        ),
        state,
        launches,
        demo: demo_credentials,
        search_status,
        hub,
    })
}

#[derive(OpenApi)]
#[openapi(info(
    title = "fanloop API",
    description = "Everything the fanloop web UI does, as JSON. Authenticate scripts with `Authorization: Bearer <token>` (create one with POST /api/v1/tokens or on the settings page)."
))]
struct ApiDoc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(fanloop_platform::accounts_web::AccountsApi::openapi());
    doc.merge(fanloop_platform::account_pages::AccountPagesApi::openapi());
    doc.merge(fanloop_platform::uploads_web::UploadsApi::openapi());
    doc.merge(fanloop_community::api::CommunityApi::openapi());
    doc.merge(fanloop_feedback::api::FeedbackApi::openapi());
    doc.merge(fanloop_launches::api::LaunchesApi::openapi());
    doc.merge(fanloop_vetting::api::VettingApi::openapi());
    doc.merge(fanloop_listening::web::ListeningApi::openapi());
    doc.merge(fanloop_listening::campaigns::api::CampaignsApi::openapi());
    doc.merge(fanloop_hub::api::HubApi::openapi());
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    add_shared_error_responses(&mut doc);
    doc
}

/// Adds the error answers the shared extractors give to every operation that uses them, so the
/// document says what the server does without each handler repeating it: 401 wherever a bearer
/// token may be sent, 403 where credentials are required, 400 and 404 where the path has
/// parameters, 400 for a bad query, and 400, 403 (CSRF for cookie sessions), 413, 415 and 422
/// where a body is read.
fn add_shared_error_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let has_path_params = path.contains('{');
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let has_query = op
                .parameters
                .iter()
                .flatten()
                .any(|p| matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query));
            let has_body = op.request_body.is_some();
            let secured = op.security.is_some();
            let mut add = |code: &str, description: &str| {
                op.responses
                    .responses
                    .entry(code.to_string())
                    .or_insert_with(|| error(description).into());
            };
            // Every API operation reads `Authorization` when it is sent: an unknown or revoked
            // token is refused even where signing in is optional.
            add("401", "missing, unknown or revoked credentials");
            if secured {
                add("403", "the caller's role may not do this");
            }
            if has_path_params {
                add("400", "a path parameter of the wrong type");
                add("404", "no such resource");
            }
            if path.starts_with("/api/v1/requests/{id}") {
                add(
                    "409",
                    "the request was merged into another one (`merged`; the message names it)",
                );
            }
            if has_query {
                add("400", "a query parameter of the wrong type");
            }
            if has_body {
                add("400", "malformed body");
                add("403", "a cookie-authenticated write without its X-CSRF-Token");
                add("413", "body too large");
                add("415", "wrong content type");
                add("422", "the body does not satisfy the rules");
            }
        }
    }
}

pub fn router(
    state: CommunityState,
    launches: fanloop_launches::LaunchState,
    hub: fanloop_hub::HubState,
    ops: ops::Ops,
) -> Router {
    let platform = state.platform.clone();
    let feedback = fanloop_feedback::FeedbackState::new(platform.clone());
    let vetting = fanloop_vetting::VettingState {
        platform: platform.clone(),
        search: state.search.clone(),
    };
    let spec = openapi();
    Router::new()
        .merge(fanloop_community::router().with_state(state))
        .merge(fanloop_feedback::router().with_state(feedback))
        .merge(fanloop_launches::router().with_state(launches))
        .merge(fanloop_vetting::router().with_state(vetting))
        .merge(
            fanloop_listening::router().with_state(fanloop_listening::ListeningState {
                platform: platform.clone(),
            }),
        )
        .merge(fanloop_hub::router().with_state(hub))
        .merge(fanloop_platform::accounts_web::router().with_state(platform.clone()))
        .merge(fanloop_platform::ui::static_router().with_state(platform.clone()))
        .route("/healthz", get(|| async { "ok" }))
        .merge(ops::routes(ops))
        .route("/api/v1/openapi.json", get(move || async move { Json(spec.clone()) }))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            platform,
            fanloop_platform::web::shell_middleware,
        ))
        .layer(axum::middleware::from_fn(catch_panics))
        // Pages and JSON gzip-compressed for clients that accept it (a phone on a slow network);
        // the default predicate leaves small bodies, images and event streams alone.
        .layer(tower_http::compression::CompressionLayer::new())
        // Outermost: every request gets its id, its log line and its count, panics included.
        .layer(axum::middleware::from_fn(fanloop_platform::ops::observe))
}

/// A handler that panics answers 500 as its caller expects it (an HTML page for a page, JSON
/// for the API) instead of dropping the connection; the panic is logged with its path.
async fn catch_panics(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use futures::FutureExt;
    // The URI shares the request's buffer: kept for the log line at no copy.
    let uri = req.uri().clone();
    match std::panic::AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let path = uri.path();
            tracing::error!("handler panicked on {path}: {what}");
            if path.starts_with("/api/") {
                ApiError::internal("internal error").into_response()
            } else {
                PageError::from(anyhow::anyhow!("panic on {path}")).into_response()
            }
        }
    }
}

async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no endpoint at {}", uri.path()),
        )
        .into_response()
    } else {
        PageError::not_found().into_response()
    }
}

/// Limits that keep slow or idle clients from holding the server.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// A client must send a request's whole head within this time (also bounds idle keep-alive).
    pub header_read_timeout: std::time::Duration,
    /// Longest wait for the next piece of a request body.
    pub body_read_timeout: std::time::Duration,
    /// Connections held open at once; past this, new connections are closed at once. Also
    /// kept under the process's limit on open files.
    pub max_connections: usize,
    /// How long a shutdown waits for open connections to finish.
    pub shutdown_grace: std::time::Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            header_read_timeout: std::time::Duration::from_secs(10),
            body_read_timeout: std::time::Duration::from_secs(30),
            max_connections: 10_000,
            shutdown_grace: std::time::Duration::from_secs(20),
        }
    }
}

/// Serves until the future `shutdown` completes, with the default [`ServeLimits`].
pub async fn serve(
    app: Router,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with(app, listener, ServeLimits::default(), shutdown).await
}

/// Serves HTTP/1.1 until `shutdown` completes, then stops accepting, lets in-flight requests
/// finish and returns.
///
/// Unlike `axum::serve`, a connection that never finishes its request head is closed after
/// `header_read_timeout`, and at most `max_connections` are held at once, so half-open
/// connections cannot exhaust file descriptors; a stalled request body is cut after
/// `body_read_timeout`.
pub async fn serve_with(
    app: Router,
    listener: tokio::net::TcpListener,
    limits: ServeLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tower::ServiceExt;

    // Never more connections than file descriptors allow (a few hundred stay for the database,
    // the search index and logs).
    let max_connections = match open_file_limit() {
        Some(limit) => limits.max_connections.min(limit.saturating_sub(256).max(64)),
        None => limits.max_connections,
    };
    /// Gives the connection's slot back however its task ends (a panic included).
    struct Slot(Arc<AtomicUsize>);
    impl Drop for Slot {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::Relaxed);
        }
    }
    let open = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<()>(1);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut refused_logged = std::time::Instant::now() - std::time::Duration::from_secs(60);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors or a connection reset before accept: wait a moment.
                    tracing::debug!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        if open.load(Ordering::Relaxed) >= max_connections {
            if refused_logged.elapsed() > std::time::Duration::from_secs(10) {
                tracing::warn!("{max_connections} connections open: refusing new ones");
                refused_logged = std::time::Instant::now();
            }
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        open.fetch_add(1, Ordering::Relaxed);
        let slot = Slot(open.clone());
        let done = done_tx.clone();
        let mut stop = stop_rx.clone();
        let service = app
            .clone()
            .map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                fanloop_platform::web::drop_nul_from_uri(&mut req);
                req.extensions_mut().insert(axum::extract::ConnectInfo(remote));
                // A client that starts a body must keep sending it: a stalled upload is cut.
                req.map(|body| {
                    axum::body::Body::new(tower_http::timeout::TimeoutBody::new(limits.body_read_timeout, body))
                })
            });
        tokio::spawn(async move {
            let service = hyper_util::service::TowerToHyperService::new(service);
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .keep_alive(true);
            let conn = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
            let mut conn = std::pin::pin!(conn);
            let mut stopping = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::trace!("connection from {remote}: {e}");
                        }
                        break;
                    }
                    changed = stop.changed(), if !stopping => {
                        stopping = true;
                        if changed.is_ok() {
                            conn.as_mut().graceful_shutdown();
                        }
                    }
                }
            }
            drop(slot);
            drop(done);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(done_tx);
    // Every connection task holds a sender: this returns once the last one finished, or after
    // the grace period (a live stream or a trickling client must not hold the exit forever).
    if tokio::time::timeout(limits.shutdown_grace, done_rx.recv())
        .await
        .is_err()
    {
        tracing::warn!(
            "{} connections still open after {:?}: closing them",
            open.load(Ordering::Relaxed),
            limits.shutdown_grace
        );
    }
    Ok(())
}

/// The soft limit on open files of this process (Linux), if it can be read.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every error a person can read has its message in every language, naming the same values.
    #[test]
    fn every_error_table_is_complete_in_every_language() {
        let specs = fanloop_launches::error::LaunchError::ALL
            .iter()
            .map(|e| e.spec())
            .chain(fanloop_feedback::error::FeedbackError::ALL.iter().map(|e| e.spec()))
            .chain(fanloop_listening::error::ListeningError::ALL.iter().map(|e| e.spec()))
            .chain(fanloop_hub::error::HubError::ALL.iter().map(|e| e.spec()))
            .chain(fanloop_vetting::error::VettingError::ALL.iter().map(|e| e.spec()))
            .chain(fanloop_community::error::CommunityError::ALL.iter().map(|e| e.spec()))
            .chain(fanloop_platform::error::AccountError::ALL.iter().map(|e| e.spec()))
            .chain(fanloop_platform::error::CommonError::ALL.iter().map(|e| e.spec()));
        let problems = fanloop_platform::error::table_problems(specs);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        let broken = fanloop_platform::error::ErrorSpec {
            code: "x",
            status: axum::http::StatusCode::CONFLICT,
            en: "{a} and {b}",
            zh: "{a}",
            fr: "",
        };
        assert_eq!(
            fanloop_platform::error::table_problems([&broken]).len(),
            2,
            "the check itself works"
        );
    }

    /// Every `t('…')` key a template uses has a message in every language: a missing one would
    /// show the raw key (`admin.boards`) or English inside a Chinese or French page.
    #[test]
    fn every_template_key_is_translated_in_every_language() {
        let mut messages = std::collections::HashMap::new();
        for bundle in UI_BUNDLES {
            for (key, en, zh, fr) in bundle.messages {
                messages.insert(*key, [*en, *zh, *fr]);
            }
        }
        let call = regex::Regex::new(r#"\btf?\(\s*['"]([^'"]+)['"]\s*[,)]"#).unwrap();
        let mut missing = Vec::new();
        let mut used = 0;
        for bundle in UI_BUNDLES {
            for (template, source) in bundle.templates {
                for found in call.captures_iter(source) {
                    used += 1;
                    let key = &found[1];
                    match messages.get(key) {
                        None => missing.push(format!("{template}: {key} (no message)")),
                        Some(texts) => {
                            for (lang, text) in ["en", "zh", "fr"].iter().zip(texts) {
                                if text.trim().is_empty() {
                                    missing.push(format!("{template}: {key} ({lang} empty)"));
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(used > 200, "only {used} keys found: is the pattern right?");
        assert!(missing.is_empty(), "untranslated:\n{}", missing.join("\n"));
    }
    use tower::ServiceExt;

    #[tokio::test]
    async fn panics_answer_html_for_pages_and_json_for_the_api() {
        async fn boom() -> &'static str {
            panic!("boom")
        }
        let app = Router::new()
            .route("/boom", get(boom))
            .route("/api/v1/boom", get(boom))
            .layer(axum::middleware::from_fn(catch_panics));
        for (path, kind) in [("/boom", "text/html"), ("/api/v1/boom", "application/json")] {
            let req = axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap();
            let r = app.clone().oneshot(req).await.unwrap();
            assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
            let ct = r.headers()[axum::http::header::CONTENT_TYPE].to_str().unwrap();
            assert!(ct.starts_with(kind), "{path}: {ct}");
        }
    }
}
