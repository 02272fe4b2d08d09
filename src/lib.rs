//! Wires the pillars into one server: storage, migrations, search, demo data, routes and the
//! OpenAPI document.  `main.rs` is only the command line around this.

pub mod bench;
pub mod bench_sale;

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use fanloop_community::search::SearchIndex;
use fanloop_community::{demo, store, CommunityState};
use fanloop_platform::web::{Platform, WebConfig};
use fanloop_platform::{ApiError, Db, PageError};
use tower_http::catch_panic::CatchPanicLayer;
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
        }
    }
}

pub struct App {
    pub router: Router,
    pub state: CommunityState,
    pub launches: fanloop_launches::LaunchState,
    /// Set when this start loaded the demo community.
    pub demo: Option<demo::DemoCredentials>,
}

pub async fn open_db(config: &Config) -> anyhow::Result<Db> {
    let db = match &config.database_url {
        Some(url) => Db::connect(url).await?,
        None => Db::open_sqlite(&config.data_dir).await?,
    };
    db.migrate(&[
        &fanloop_platform::MIGRATIONS,
        &fanloop_community::MIGRATIONS,
        &fanloop_feedback::MIGRATIONS,
        &fanloop_launches::MIGRATIONS,
        &fanloop_vetting::MIGRATIONS,
        &fanloop_listening::MIGRATIONS,
    ])
    .await?;
    Ok(db)
}

/// Opens storage and search, loads the demo on an empty store, and builds the routes.
pub async fn build(config: &Config) -> anyhow::Result<App> {
    let db = open_db(config).await?;
    let search = SearchIndex::open(&config.data_dir.join("search-index"))?;
    let load_demo = config.demo && fanloop_platform::accounts::user_count(&db).await? == 0;
    let demo_credentials = if load_demo { Some(demo::load(&db).await?) } else { None };
    // The index is derived data: if it disagrees with the store (first start, a crash between the
    // two commits, a restored backup), rebuild it before serving.
    let live = store::live_post_count(&db).await?;
    if search.num_docs() != live as u64 {
        tracing::info!(
            "search index has {} documents, store has {live} posts: rebuilding",
            search.num_docs()
        );
        search.rebuild(&db).await?;
    }
    let platform = Platform::new(
        db,
        WebConfig {
            secure_cookies: config.secure_cookies,
        },
        &[
            &fanloop_platform::ui::BUNDLE,
            &fanloop_community::ui::BUNDLE,
            &fanloop_feedback::ui::BUNDLE,
            &fanloop_launches::ui::BUNDLE,
            &fanloop_vetting::ui::BUNDLE,
            &fanloop_vetting::ui::REASONS,
            &fanloop_listening::ui::BUNDLE,
        ],
    )?;
    platform.add_profile_panel(std::sync::Arc::new(fanloop_feedback::pages::CreditsPanel));
    let mut launches = fanloop_launches::LaunchState::new(platform.clone());
    if let Some(url) = &config.redis_url {
        let cluster =
            fanloop_launches::cluster::Cluster::connect(url, &config.redis_prefix, platform.db.clone()).await?;
        launches = launches.with_cluster(cluster);
    }
    if load_demo {
        fanloop_feedback::demo::load(&fanloop_feedback::FeedbackState::new(platform.clone())).await?;
        fanloop_launches::demo::load(&launches).await?;
        fanloop_listening::campaigns::demo::load(&fanloop_listening::ListeningState {
            platform: platform.clone(),
        })
        .await?;
    }
    let state = CommunityState {
        platform: platform.clone(),
        search,
    };
    Ok(App {
        router: router(state.clone(), launches.clone()),
        state,
        launches,
        demo: demo_credentials,
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
    doc.merge(fanloop_community::api::CommunityApi::openapi());
    doc.merge(fanloop_feedback::api::FeedbackApi::openapi());
    doc.merge(fanloop_launches::api::LaunchesApi::openapi());
    doc.merge(fanloop_vetting::api::VettingApi::openapi());
    doc.merge(fanloop_listening::web::ListeningApi::openapi());
    doc.merge(fanloop_listening::campaigns::api::CampaignsApi::openapi());
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    doc
}

pub fn router(state: CommunityState, launches: fanloop_launches::LaunchState) -> Router {
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
        .merge(fanloop_platform::accounts_web::router().with_state(platform.clone()))
        .merge(fanloop_platform::ui::static_router().with_state(platform.clone()))
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/v1/openapi.json", get(move || async move { Json(spec.clone()) }))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            platform,
            fanloop_platform::web::shell_middleware,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal("handler panicked").into_response()
        }))
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

/// Serves until the future `shutdown` completes.
pub async fn serve(
    app: Router,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
