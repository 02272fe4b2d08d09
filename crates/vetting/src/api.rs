//! `/api/v1/vetting` endpoints.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use fanloop_platform::error::ErrorBody;
use fanloop_platform::web::{ApiJson, ApiPath, ApiQuery, ApiUser};
use fanloop_platform::ApiError;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use crate::import::{Format, RowError};
use crate::report::{
    CommunityMention, CommunityView, IncidentRecord, Month, QuotedPost, Reach, Reason, Report, StanceCounts, Verdict,
};
use crate::service::{self, BrandRequest, BrandUpdate, CandidateReport, ReviewRequest, VettingState};
use crate::stance::{Evidence, IncidentKind, Stance, Target};
use crate::store::{self, Aliases, Brand, Candidate, ImportRecord, ImportSummary, Review};

pub fn router() -> Router<VettingState> {
    Router::new()
        .route("/api/v1/vetting/brands", get(list_brands).post(create_brand))
        .route("/api/v1/vetting/brands/{slug}", get(get_brand).put(update_brand))
        .route(
            "/api/v1/vetting/imports",
            get(list_imports)
                .post(import_posts)
                .layer(DefaultBodyLimit::max(service::IMPORT_BODY_LIMIT)),
        )
        .route("/api/v1/vetting/candidates", get(list_candidates))
        .route("/api/v1/vetting/brands/{slug}/candidates/{id}/report", get(report))
        .route("/api/v1/vetting/brands/{slug}/candidates/{id}/reviews", post(review))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_brands, create_brand, get_brand, update_brand, list_imports, import_posts, list_candidates, report, review),
    components(schemas(Brand, Aliases, BrandRequest, BrandUpdate, BrandView, ImportSummary, ImportRecord, RowError, Candidate,
        CandidateReport, Report, Verdict, Reason, Reach, StanceCounts, Month, QuotedPost, IncidentRecord, CommunityView,
        CommunityMention, Evidence, Stance, Target, IncidentKind, Review, ReviewRequest, Format, ErrorBody)),
    tags((name = "vetting", description = "Partner vetting: brand profiles, imported posts, due-diligence reports (staff only)"))
)]
pub struct VettingApi;

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct BrandView {
    pub brand: Brand,
    pub aliases: Aliases,
}

#[utoipa::path(get, path = "/api/v1/vetting/brands", tag = "vetting",
    responses((status = 200, body = Vec<Brand>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_brands(State(state): State<VettingState>, ApiUser(me): ApiUser) -> Result<Json<Vec<Brand>>, ApiError> {
    service::require_staff(&me)?;
    Ok(Json(store::list_brands(&state.platform.db).await?))
}

#[utoipa::path(post, path = "/api/v1/vetting/brands", tag = "vetting", request_body = BrandRequest,
    responses((status = 201, body = Brand), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn create_brand(
    State(state): State<VettingState>,
    ApiUser(me): ApiUser,
    ApiJson(r): ApiJson<BrandRequest>,
) -> Result<(StatusCode, Json<Brand>), ApiError> {
    Ok((StatusCode::CREATED, Json(service::create_brand(&state, &me, &r).await?)))
}

#[utoipa::path(get, path = "/api/v1/vetting/brands/{slug}", tag = "vetting", params(("slug" = String, Path)),
    responses((status = 200, body = BrandView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_brand(
    State(state): State<VettingState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<BrandView>, ApiError> {
    service::require_staff(&me)?;
    let brand = service::brand(&state.platform.db, &slug).await?;
    let aliases = store::aliases(&state.platform.db, brand.id).await?;
    Ok(Json(BrandView { brand, aliases }))
}

#[utoipa::path(put, path = "/api/v1/vetting/brands/{slug}", tag = "vetting", params(("slug" = String, Path)), request_body = BrandUpdate,
    responses((status = 200, body = BrandView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn update_brand(
    State(state): State<VettingState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(r): ApiJson<BrandUpdate>,
) -> Result<Json<BrandView>, ApiError> {
    let brand = service::update_brand(&state, &me, &slug, &r).await?;
    let aliases = store::aliases(&state.platform.db, brand.id).await?;
    Ok(Json(BrandView { brand, aliases }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// jsonl or csv; guessed from `file_name` or the content when absent.
    format: Option<Format>,
    /// Recorded with the import.
    file_name: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/vetting/imports", tag = "vetting", params(ImportParams),
    request_body(content = String, description = "The file: JSON lines or CSV (UTF-8)", content_type = "text/plain"),
    responses((status = 201, body = ImportSummary, description = "Stored; rejected rows are listed with their line numbers"),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody, description = "No usable row")), security(("bearer" = [])))]
async fn import_posts(
    State(state): State<VettingState>,
    ApiUser(me): ApiUser,
    ApiQuery(q): ApiQuery<ImportParams>,
    body: Bytes,
) -> Result<(StatusCode, Json<ImportSummary>), ApiError> {
    let name = q.file_name.unwrap_or_else(|| "api upload".into());
    let summary = service::import(&state, Some(&me), &name, &body, q.format).await?;
    Ok((StatusCode::CREATED, Json(summary)))
}

#[utoipa::path(get, path = "/api/v1/vetting/imports", tag = "vetting",
    responses((status = 200, body = Vec<ImportRecord>)), security(("bearer" = [])))]
async fn list_imports(
    State(state): State<VettingState>,
    ApiUser(me): ApiUser,
) -> Result<Json<Vec<ImportRecord>>, ApiError> {
    service::require_staff(&me)?;
    Ok(Json(store::recent_imports(&state.platform.db, 50).await?))
}

#[utoipa::path(get, path = "/api/v1/vetting/candidates", tag = "vetting",
    responses((status = 200, body = Vec<Candidate>)), security(("bearer" = [])))]
async fn list_candidates(
    State(state): State<VettingState>,
    ApiUser(me): ApiUser,
) -> Result<Json<Vec<Candidate>>, ApiError> {
    service::require_staff(&me)?;
    Ok(Json(store::list_candidates(&state.platform.db).await?))
}

#[utoipa::path(get, path = "/api/v1/vetting/brands/{slug}/candidates/{id}/report", tag = "vetting", params(("slug" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = CandidateReport), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn report(
    State(state): State<VettingState>,
    ApiUser(me): ApiUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<Json<CandidateReport>, ApiError> {
    Ok(Json(service::report(&state, &me, &slug, id).await?))
}

#[utoipa::path(post, path = "/api/v1/vetting/brands/{slug}/candidates/{id}/reviews", tag = "vetting", params(("slug" = String, Path), ("id" = i64, Path)), request_body = ReviewRequest,
    responses((status = 201, body = CandidateReport), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn review(
    State(state): State<VettingState>,
    ApiUser(me): ApiUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
    ApiJson(r): ApiJson<ReviewRequest>,
) -> Result<(StatusCode, Json<CandidateReport>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(service::review(&state, &me, &slug, id, &r).await?),
    ))
}
