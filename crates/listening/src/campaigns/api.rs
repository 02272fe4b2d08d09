//! `/api/v1/campaigns`: the same use cases as the pages, as JSON.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use fanloop_platform::error::ErrorBody;
use fanloop_platform::web::{decode_uploads, ApiCaller, ApiJson, ApiPath, ApiQuery, ApiUser, UploadedFile};
use fanloop_platform::ApiError;
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::domain::{Metric, MetricProgress, Pace, Phase, Progress, Targets, WinnerPick};
use super::service::{
    self, AdjustmentRequest, CampaignRequest, CampaignSummary, CampaignView, Dashboard, EntriesQuery, EntryPage,
    HideRequest, Sort, Sources, VoteResult, WinnersRequest,
};
use super::store::{Adjustment, Campaign, Entry};
use crate::ListeningState;

pub fn router() -> Router<ListeningState> {
    Router::new()
        .route("/api/v1/campaigns", get(list).post(create))
        .route("/api/v1/campaigns/{slug}", get(view).put(update))
        .route(
            "/api/v1/campaigns/{slug}/entries",
            get(entries)
                .post(submit)
                .layer(DefaultBodyLimit::max(service::ENTRY_BODY_LIMIT)),
        )
        .route("/api/v1/campaigns/{slug}/entries/{id}/vote", post(vote).delete(unvote))
        .route("/api/v1/campaigns/{slug}/entries/{id}/moderation", put(moderate))
        .route("/api/v1/campaigns/{slug}/winners", put(winners))
        .route("/api/v1/campaigns/{slug}/dashboard", get(dashboard))
        .route("/api/v1/campaigns/{slug}/adjustments", post(adjust))
        .route("/api/v1/campaign-images/{id}", get(image))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, create, view, update, entries, submit, vote, unvote, moderate, winners, dashboard, adjust, image),
    components(schemas(
        CampaignRequest, Campaign, CampaignSummary, CampaignView, Targets, Phase, Entry, EntryPage, Sort,
        EntrySubmission, UploadedFile, VoteResult, HideRequest, WinnersRequest, WinnerPick, Dashboard, Progress,
        MetricProgress, Metric, Pace, Sources, Adjustment, AdjustmentRequest, ErrorBody
    )),
    tags((name = "campaigns", description = "Hashtag campaigns: entries with images, votes, winners, and targets against actuals"))
)]
pub struct CampaignsApi;

#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns", responses((status = 200, body = Vec<CampaignSummary>)))]
async fn list(
    State(state): State<ListeningState>,
    ApiCaller(me): ApiCaller,
) -> Result<Json<Vec<CampaignSummary>>, ApiError> {
    Ok(Json(service::list(&state, me.as_ref()).await?))
}

#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", request_body = CampaignRequest,
    responses((status = 201, body = Campaign), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create(
    State(state): State<ListeningState>,
    ApiUser(me): ApiUser,
    ApiJson(r): ApiJson<CampaignRequest>,
) -> Result<(StatusCode, Json<Campaign>), ApiError> {
    Ok((StatusCode::CREATED, Json(service::create(&state, &me, &r).await?)))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{slug}", tag = "campaigns", params(("slug" = String, Path)),
    responses((status = 200, body = CampaignView), (status = 404, body = ErrorBody)))]
async fn view(
    State(state): State<ListeningState>,
    ApiCaller(me): ApiCaller,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<CampaignView>, ApiError> {
    Ok(Json(service::view(&state, me.as_ref(), &slug).await?))
}

#[utoipa::path(put, path = "/api/v1/campaigns/{slug}", tag = "campaigns", params(("slug" = String, Path)), request_body = CampaignRequest,
    responses((status = 200, body = Campaign), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update(
    State(state): State<ListeningState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(r): ApiJson<CampaignRequest>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(service::update(&state, &me, &slug, &r).await?))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{slug}/entries", tag = "campaigns", params(("slug" = String, Path), EntriesQuery),
    responses((status = 200, body = EntryPage), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn entries(
    State(state): State<ListeningState>,
    ApiCaller(me): ApiCaller,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<EntriesQuery>,
) -> Result<Json<EntryPage>, ApiError> {
    Ok(Json(service::entries(&state, me.as_ref(), &slug, &q).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct EntrySubmission {
    /// Up to 1000 characters; the hashtag is added in front when missing.
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 1000)]
    pub text: String,
    /// One to four images.
    /// PNG, JPEG or WebP, at most 2 MiB each.
    #[schema(min_items = 1, max_items = 4)]
    pub images: Vec<UploadedFile>,
}

#[utoipa::path(post, path = "/api/v1/campaigns/{slug}/entries", tag = "campaigns", params(("slug" = String, Path)), request_body = EntrySubmission,
    responses((status = 201, body = Entry), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "entry limit reached"),
        (status = 409, body = ErrorBody, description = "not open"), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn submit(
    State(state): State<ListeningState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(r): ApiJson<EntrySubmission>,
) -> Result<(StatusCode, Json<Entry>), ApiError> {
    let uploads = decode_uploads(&r.images)?;
    let entry = service::submit_entry(&state, &me, &slug, &r.text, &uploads).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

#[utoipa::path(post, path = "/api/v1/campaigns/{slug}/entries/{id}/vote", tag = "campaigns", params(("slug" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = VoteResult), (status = 403, body = ErrorBody, description = "own entry or vote limit"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "voting closed")),
    security(("bearer" = [])))]
async fn vote(
    State(state): State<ListeningState>,
    ApiUser(me): ApiUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<Json<VoteResult>, ApiError> {
    Ok(Json(service::vote(&state, &me, &slug, id).await?))
}

#[utoipa::path(delete, path = "/api/v1/campaigns/{slug}/entries/{id}/vote", tag = "campaigns", params(("slug" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = VoteResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn unvote(
    State(state): State<ListeningState>,
    ApiUser(me): ApiUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<Json<VoteResult>, ApiError> {
    Ok(Json(service::unvote(&state, &me, &slug, id).await?))
}

#[utoipa::path(put, path = "/api/v1/campaigns/{slug}/entries/{id}/moderation", tag = "campaigns", params(("slug" = String, Path), ("id" = i64, Path)),
    request_body = HideRequest,
    responses((status = 200, body = Entry), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn moderate(
    State(state): State<ListeningState>,
    ApiUser(me): ApiUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
    ApiJson(r): ApiJson<HideRequest>,
) -> Result<Json<Entry>, ApiError> {
    Ok(Json(service::moderate(&state, &me, &slug, id, &r).await?))
}

#[utoipa::path(put, path = "/api/v1/campaigns/{slug}/winners", tag = "campaigns", params(("slug" = String, Path)), request_body = WinnersRequest,
    responses((status = 200, body = Vec<Entry>), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "not ended"),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn winners(
    State(state): State<ListeningState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(r): ApiJson<WinnersRequest>,
) -> Result<Json<Vec<Entry>>, ApiError> {
    Ok(Json(service::set_winners(&state, &me, &slug, &r).await?))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{slug}/dashboard", tag = "campaigns", params(("slug" = String, Path)),
    responses((status = 200, body = Dashboard), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn dashboard(
    State(state): State<ListeningState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Dashboard>, ApiError> {
    Ok(Json(service::dashboard(&state, &me, &slug).await?))
}

#[utoipa::path(post, path = "/api/v1/campaigns/{slug}/adjustments", tag = "campaigns", params(("slug" = String, Path)), request_body = AdjustmentRequest,
    responses((status = 201, body = Adjustment), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn adjust(
    State(state): State<ListeningState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(r): ApiJson<AdjustmentRequest>,
) -> Result<(StatusCode, Json<Adjustment>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(service::add_adjustment(&state, &me, &slug, &r).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/campaign-images/{id}", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, description = "the image bytes"), (status = 404, body = ErrorBody)))]
async fn image(
    State(state): State<ListeningState>,
    ApiCaller(me): ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let (kind, data) = service::image(&state, me.as_ref(), id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        data,
    )
        .into_response())
}
