//! The trending page and `/api/v1/trending`.

use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use fanloop_platform::error::ErrorBody;
use fanloop_platform::web::{ApiQuery, ApiUser, PageQuery, Viewer};
use fanloop_platform::{ApiError, PageError};
use minijinja::context;
use utoipa::OpenApi;

use crate::service::{self, Granularity, ListeningState, Source, TrendingQuery, TrendingView};
use crate::trending::{Burst, Trend};

pub fn router() -> Router<ListeningState> {
    Router::new()
        .route("/trending", get(page))
        .route("/api/v1/trending", get(api))
}

#[derive(OpenApi)]
#[openapi(
    paths(api),
    components(schemas(TrendingView, Trend, Burst, Granularity, Source, ErrorBody)),
    tags((name = "listening", description = "Trending terms and hashtags with burst detection (staff only)"))
)]
pub struct ListeningApi;

#[utoipa::path(get, path = "/api/v1/trending", tag = "listening", params(TrendingQuery),
    responses((status = 200, body = TrendingView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn api(
    State(state): State<ListeningState>,
    ApiUser(me): ApiUser,
    ApiQuery(q): ApiQuery<TrendingQuery>,
) -> Result<Json<TrendingView>, ApiError> {
    Ok(Json(service::trending(&state, &me, &q).await?))
}

async fn page(
    State(state): State<ListeningState>,
    viewer: Viewer,
    PageQuery(q): PageQuery<TrendingQuery>,
) -> Result<Html<String>, PageError> {
    let me = viewer.require_user()?;
    let view = service::trending(&state, me, &q).await?;
    let rows: Vec<_> = view
        .trends
        .iter()
        .map(|t| context! { t => t, points => service::sparkline(&t.series, 160.0, 28.0) })
        .collect();
    state.platform.render(
        &viewer,
        "trending.html",
        context! { view => view, rows => rows, granularity => format!("{:?}", q.granularity).to_lowercase(), source => format!("{:?}", q.source).to_lowercase() },
    )
}
