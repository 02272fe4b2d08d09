//! `/api/v1` endpoints of the feedback loop.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use fanloop_platform::error::ErrorBody;
use fanloop_platform::web::{decode_uploads, ApiCaller, ApiJson, ApiPath, ApiQuery, ApiUser, PageParam, UploadedFile};
use fanloop_platform::{accounts, ApiError};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::domain::{HonorRule, ReportInput, Status};
use crate::error::FeedbackError;
use crate::service::{
    self, AwardPage, Changelog, ChangelogEntry, DuplicateCandidate, FeedbackState, ProductOverview, RoadmapColumn,
    SubmitResult,
};
use crate::store::{
    self, Area, AttachmentInfo, AwardTally, Build, BuildDashboard, Comment, FormField, Product, Report, Request,
    ShippedCredit, StatusChange,
};

/// Report submissions carry attachments (3 × 2 MiB, base64 in JSON).
pub const REPORT_BODY_LIMIT: usize = 9 * 1024 * 1024;

pub fn router() -> Router<FeedbackState> {
    Router::new()
        .route("/api/v1/products", get(list_products).post(create_product))
        .route("/api/v1/products/{slug}", get(product_overview))
        .route("/api/v1/products/{slug}/areas", post(add_area))
        .route("/api/v1/products/{slug}/builds", post(publish_build))
        .route("/api/v1/products/{slug}/fields", post(add_field))
        .route("/api/v1/products/{slug}/duplicates", post(duplicates))
        .route(
            "/api/v1/products/{slug}/reports",
            post(submit_report).layer(DefaultBodyLimit::max(REPORT_BODY_LIMIT)),
        )
        .route("/api/v1/products/{slug}/requests", get(list_requests))
        .route("/api/v1/products/{slug}/roadmap", get(roadmap))
        .route("/api/v1/products/{slug}/recluster", post(recluster))
        .route("/api/v1/products/{slug}/builds/{version}/changelog", get(changelog))
        .route("/api/v1/products/{slug}/builds/{version}/dashboard", get(dashboard))
        .route("/api/v1/requests/{id}", get(request_detail))
        .route("/api/v1/requests/{id}/vote", put(vote).delete(unvote))
        .route("/api/v1/requests/{id}/status", post(change_status))
        .route("/api/v1/requests/bulk-status", post(bulk_status))
        .route("/api/v1/requests/{id}/merge", post(merge))
        .route("/api/v1/requests/{id}/comments", post(comment))
        .route("/api/v1/reports/{id}/split", post(split))
        .route("/api/v1/attachments/{id}", get(attachment))
        .route("/api/v1/awards", get(awards))
        .route("/api/v1/awards/vote", post(award_vote))
        .route("/api/v1/honor-rules", get(honor_rules).put(set_honor_rule))
        .route("/api/v1/users/{username}/credits", get(credits))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_products, create_product, product_overview, add_area, publish_build, add_field, duplicates, submit_report, list_requests,
          roadmap, recluster, changelog, dashboard, request_detail, vote, unvote, change_status, bulk_status, merge, comment, split,
          attachment, awards, award_vote, honor_rules, set_honor_rule, credits),
    components(schemas(Product, Area, Build, FormField, Request, Report, AttachmentInfo, StatusChange, Comment, Status, ReportInput,
        ProductOverview, DuplicateCandidate, SubmitResult, RoadmapColumn, Changelog, ChangelogEntry, BuildDashboard, AwardPage, AwardTally,
        HonorRule, ShippedCredit, ErrorBody, NewProduct, NewArea, LocalNames, NewBuild, NewField, DuplicateQuery, ReportSubmission, UploadedFile,
        RequestPage, RequestDetail, VoteState, StatusRequest, BulkStatusRequest, BulkResult, MergeRequest, CommentRequest, SplitResult,
        ReclusterResult, AwardVote))
    ,
    tags((name = "feedback", description = "Weekly builds, structured feedback, duplicates, votes, status, roadmap, changelogs, awards"))
)]
pub struct FeedbackApi;

#[utoipa::path(get, path = "/api/v1/products", tag = "feedback", responses((status = 200, body = Vec<Product>)))]
async fn list_products(State(state): State<FeedbackState>) -> Result<Json<Vec<Product>>, ApiError> {
    Ok(Json(store::list_products(&state.platform.db).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewProduct {
    #[schema(pattern = r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$", min_length = 2, max_length = 40)]
    pub slug: String,
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 80)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Days between builds (default 7).
    #[schema(minimum = 1, maximum = 90)]
    pub cadence_days: Option<i64>,
    /// 1 = Monday … 7 = Sunday (default 5, Friday).
    #[schema(minimum = 1, maximum = 7)]
    pub release_weekday: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/products", tag = "feedback", request_body = NewProduct,
    responses((status = 201, body = Product), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn create_product(
    State(state): State<FeedbackState>,
    ApiUser(me): ApiUser,
    ApiJson(r): ApiJson<NewProduct>,
) -> Result<(StatusCode, Json<Product>), ApiError> {
    let p = service::create_product(
        &state,
        &me,
        &r.slug,
        &r.name,
        &r.description,
        r.cadence_days,
        r.release_weekday,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(p)))
}

#[utoipa::path(get, path = "/api/v1/products/{slug}", tag = "feedback", params(("slug" = String, Path)),
    responses((status = 200, body = ProductOverview), (status = 404, body = ErrorBody)))]
async fn product_overview(
    State(state): State<FeedbackState>,
    ApiCaller(me): ApiCaller,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<ProductOverview>, ApiError> {
    Ok(Json(service::overview(&state, &slug, me.as_ref()).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewArea {
    #[schema(pattern = r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$", min_length = 2, max_length = 40)]
    pub slug: String,
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 80)]
    pub name: String,
    /// The staff team that owns the area.
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 80)]
    pub team: String,
    /// The name in each language (an empty one is left out).
    #[serde(default)]
    pub names: LocalNames,
    /// The team's name in each language.
    #[serde(default)]
    pub team_names: LocalNames,
}

/// A name in Chinese, English and French, each optional.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct LocalNames {
    #[schema(max_length = 80)]
    pub zh: Option<String>,
    #[schema(max_length = 80)]
    pub en: Option<String>,
    #[schema(max_length = 80)]
    pub fr: Option<String>,
}

impl LocalNames {
    fn into_map(self) -> std::collections::BTreeMap<String, String> {
        [("zh", self.zh), ("en", self.en), ("fr", self.fr)]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
            .collect()
    }
}

#[utoipa::path(post, path = "/api/v1/products/{slug}/areas", tag = "feedback", params(("slug" = String, Path)), request_body = NewArea,
    responses((status = 201, body = Area), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "the product has an area with this slug")), security(("bearer" = [])))]
async fn add_area(
    State(state): State<FeedbackState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(r): ApiJson<NewArea>,
) -> Result<(StatusCode, Json<Area>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(
            service::add_area(
                &state,
                &me,
                &slug,
                &service::AreaInput {
                    slug: r.slug,
                    name: r.name,
                    team: r.team,
                    names: r.names.into_map(),
                    team_names: r.team_names.into_map(),
                },
            )
            .await?,
        ),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct NewBuild {
    #[schema(pattern = r"^\s*[^\s]{1,40}\s*$")]
    pub version: String,
    /// `beta` or `stable`.
    #[schema(pattern = r"^(beta|stable)$")]
    pub channel: String,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub notes: String,
    /// Release time (Unix ms); now by default.
    #[schema(minimum = 0, maximum = 4102444800000i64)]
    pub released_at: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/products/{slug}/builds", tag = "feedback", params(("slug" = String, Path)), request_body = NewBuild,
    responses((status = 201, body = Build), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn publish_build(
    State(state): State<FeedbackState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(r): ApiJson<NewBuild>,
) -> Result<(StatusCode, Json<Build>), ApiError> {
    let b = service::publish_build(&state, &me, &slug, &r.version, &r.channel, &r.notes, r.released_at).await?;
    Ok((StatusCode::CREATED, Json(b)))
}

#[derive(Deserialize, ToSchema)]
pub struct NewField {
    #[schema(pattern = r"^[a-z0-9_]{1,40}$")]
    pub key: String,
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 80)]
    pub label: String,
    #[serde(default)]
    pub required: bool,
}

#[utoipa::path(post, path = "/api/v1/products/{slug}/fields", tag = "feedback", params(("slug" = String, Path)), request_body = NewField,
    responses((status = 201, description = "field added"), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "the product has this field")), security(("bearer" = [])))]
async fn add_field(
    State(state): State<FeedbackState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(r): ApiJson<NewField>,
) -> Result<StatusCode, ApiError> {
    service::add_form_field(&state, &me, &slug, &r.key, &r.label, r.required).await?;
    Ok(StatusCode::CREATED)
}

#[derive(Deserialize, ToSchema)]
pub struct DuplicateQuery {
    #[schema(max_length = 3000)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 3000)]
    pub description: String,
}

#[utoipa::path(post, path = "/api/v1/products/{slug}/duplicates", tag = "feedback", params(("slug" = String, Path)), request_body = DuplicateQuery,
    responses((status = 200, body = Vec<DuplicateCandidate>, description = "up to 5 likely duplicates, most similar first")))]
async fn duplicates(
    State(state): State<FeedbackState>,
    ApiCaller(me): ApiCaller,
    ApiPath(slug): ApiPath<String>,
    ApiJson(q): ApiJson<DuplicateQuery>,
) -> Result<Json<Vec<DuplicateCandidate>>, ApiError> {
    if q.title.chars().count() > 3_000 || q.description.chars().count() > 3_000 {
        return Err(FeedbackError::DuplicateQuery.into());
    }
    Ok(Json(
        service::likely_duplicates(
            &state,
            &slug,
            &service::report_text(&q.title, &q.description),
            me.as_ref(),
        )
        .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct ReportSubmission {
    #[serde(flatten)]
    pub report: ReportInput,
    /// File this report into this request instead of detecting duplicates ("+1 this instead").
    pub attach_to: Option<i64>,
    #[serde(default)]
    pub attachments: Vec<UploadedFile>,
}

#[utoipa::path(post, path = "/api/v1/products/{slug}/reports", tag = "feedback", params(("slug" = String, Path)), request_body = ReportSubmission,
    responses((status = 201, body = SubmitResult), (status = 409, body = ErrorBody, description = "the product has no build yet"), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn submit_report(
    State(state): State<FeedbackState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(r): ApiJson<ReportSubmission>,
) -> Result<(StatusCode, Json<SubmitResult>), ApiError> {
    let uploads = decode_uploads(&r.attachments)?;
    let result = service::submit_report(&state, &me, &slug, &r.report, r.attach_to, &uploads).await?;
    Ok((StatusCode::CREATED, Json(result)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    pub area: Option<String>,
    /// new, acknowledged, planned, in_build, shipped or declined.
    #[param(pattern = r"^(new|acknowledged|planned|in_build|shipped|declined)?$")]
    pub status: Option<String>,
    /// Only requests with reports against this build version.
    pub build: Option<String>,
    /// `votes` (default), `reports` or `recent`.
    #[param(pattern = r"^(votes|reports|recent)?$")]
    pub sort: Option<String>,
    #[serde(default, deserialize_with = "fanloop_platform::web::page_number")]
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct RequestPage {
    pub requests: Vec<Request>,
    pub total: i64,
    pub page: i64,
}

pub const REQUESTS_PER_PAGE: i64 = 30;

pub fn parse_status(s: Option<&str>) -> Result<Option<Status>, ApiError> {
    match s.filter(|s| !s.is_empty()) {
        Some(s) => Status::parse(s)
            .map(Some)
            .ok_or_else(|| FeedbackError::BadStatusQuery.into()),
        None => Ok(None),
    }
}

#[utoipa::path(get, path = "/api/v1/products/{slug}/requests", tag = "feedback", params(("slug" = String, Path), RequestQuery),
    responses((status = 200, body = RequestPage), (status = 404, body = ErrorBody)))]
async fn list_requests(
    State(state): State<FeedbackState>,
    ApiCaller(me): ApiCaller,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> Result<Json<RequestPage>, ApiError> {
    let sort = q.sort.as_deref().filter(|s| !s.is_empty()).unwrap_or("votes");
    if !matches!(sort, "votes" | "reports" | "recent") {
        return Err(FeedbackError::BadSort.into());
    }
    let p = service::product(&state, &slug).await?;
    let page = PageParam { page: q.page };
    let filter = store::RequestFilter {
        product_id: p.id,
        area: q.area.as_deref().filter(|s| !s.is_empty()),
        status: parse_status(q.status.as_deref())?,
        build: q.build.as_deref().filter(|s| !s.is_empty()),
        sort,
        limit: REQUESTS_PER_PAGE,
        offset: page.offset(REQUESTS_PER_PAGE),
    };
    let (requests, total) = store::list_requests(&state.platform.db, &filter, me.map(|u| u.id)).await?;
    Ok(Json(RequestPage {
        requests,
        total,
        page: page.number(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AreaQuery {
    pub area: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/products/{slug}/roadmap", tag = "feedback", params(("slug" = String, Path), AreaQuery),
    responses((status = 200, body = Vec<RoadmapColumn>)))]
async fn roadmap(
    State(state): State<FeedbackState>,
    ApiCaller(me): ApiCaller,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<AreaQuery>,
) -> Result<Json<Vec<RoadmapColumn>>, ApiError> {
    Ok(Json(
        service::roadmap(&state, &slug, q.area.as_deref().filter(|s| !s.is_empty()), me.as_ref()).await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ReclusterResult {
    pub merged: usize,
}

#[utoipa::path(post, path = "/api/v1/products/{slug}/recluster", tag = "feedback", params(("slug" = String, Path)),
    responses((status = 200, body = ReclusterResult), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn recluster(
    State(state): State<FeedbackState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<ReclusterResult>, ApiError> {
    if !me.role.is_staff() {
        return Err(FeedbackError::StaffRecluster.into());
    }
    Ok(Json(ReclusterResult {
        merged: service::recluster(&state, &slug).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/products/{slug}/builds/{version}/changelog", tag = "feedback", params(("slug" = String, Path), ("version" = String, Path)),
    responses((status = 200, body = Changelog), (status = 404, body = ErrorBody)))]
async fn changelog(
    State(state): State<FeedbackState>,
    ApiCaller(me): ApiCaller,
    ApiPath((slug, version)): ApiPath<(String, String)>,
) -> Result<Json<Changelog>, ApiError> {
    Ok(Json(service::changelog(&state, &slug, &version, me.as_ref()).await?))
}

#[utoipa::path(get, path = "/api/v1/products/{slug}/builds/{version}/dashboard", tag = "feedback", params(("slug" = String, Path), ("version" = String, Path)),
    responses((status = 200, body = BuildDashboard), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn dashboard(
    State(state): State<FeedbackState>,
    ApiUser(me): ApiUser,
    ApiPath((slug, version)): ApiPath<(String, String)>,
) -> Result<Json<BuildDashboard>, ApiError> {
    if !me.role.is_staff() {
        return Err(FeedbackError::StaffDashboard.into());
    }
    let p = service::product(&state, &slug).await?;
    let build = store::build_by_version(&state.platform.db, p.id, &version)
        .await?
        .ok_or_else(|| ApiError::not_found("build"))?;
    Ok(Json(store::build_dashboard(&state.platform.db, &build).await?))
}

#[derive(Serialize, ToSchema)]
pub struct RequestDetail {
    pub request: Request,
    pub reports: Vec<Report>,
    pub history: Vec<StatusChange>,
    pub comments: Vec<Comment>,
}

#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "feedback", params(("id" = i64, Path)),
    responses((status = 200, body = RequestDetail), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "merged into another request")))]
async fn request_detail(
    State(state): State<FeedbackState>,
    ApiCaller(me): ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<RequestDetail>, ApiError> {
    let request = service::live_request(&state, id, me.as_ref()).await?;
    let db = &state.platform.db;
    Ok(Json(RequestDetail {
        request,
        reports: store::reports_of(db, id).await?,
        history: store::status_history(db, id).await?,
        comments: store::comments(db, id).await?,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct VoteState {
    pub voted: bool,
    pub vote_count: i64,
}

#[utoipa::path(put, path = "/api/v1/requests/{id}/vote", tag = "feedback", params(("id" = i64, Path)),
    responses((status = 200, body = VoteState), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn vote(
    State(state): State<FeedbackState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<VoteState>, ApiError> {
    Ok(Json(VoteState {
        voted: true,
        vote_count: service::vote(&state, &me, id, true).await?,
    }))
}

#[utoipa::path(delete, path = "/api/v1/requests/{id}/vote", tag = "feedback", params(("id" = i64, Path)),
    responses((status = 200, body = VoteState), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn unvote(
    State(state): State<FeedbackState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<VoteState>, ApiError> {
    Ok(Json(VoteState {
        voted: false,
        vote_count: service::vote(&state, &me, id, false).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct StatusRequest {
    pub status: Status,
    /// Build version, required for in_build and shipped.
    pub build: Option<String>,
    /// Required for declined; shown to fans.
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/status", tag = "feedback", params(("id" = i64, Path)), request_body = StatusRequest,
    responses((status = 200, body = Request), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "transition not allowed")), security(("bearer" = [])))]
async fn change_status(
    State(state): State<FeedbackState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<StatusRequest>,
) -> Result<Json<Request>, ApiError> {
    Ok(Json(
        service::change_status(&state, &me, id, r.status, r.build.as_deref(), r.reason.as_deref()).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct BulkStatusRequest {
    #[schema(min_items = 1, max_items = 200)]
    pub ids: Vec<i64>,
    pub status: Status,
    pub build: Option<String>,
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkResult {
    pub changed: Vec<i64>,
    /// Requests left as they were, with why.
    pub skipped: Vec<Skipped>,
}

#[derive(Serialize, ToSchema)]
pub struct Skipped {
    pub id: i64,
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/requests/bulk-status", tag = "feedback", request_body = BulkStatusRequest,
    responses((status = 200, body = BulkResult), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn bulk_status(
    State(state): State<FeedbackState>,
    ApiUser(me): ApiUser,
    ApiJson(r): ApiJson<BulkStatusRequest>,
) -> Result<Json<BulkResult>, ApiError> {
    if !me.role.is_staff() {
        return Err(FeedbackError::StaffStatuses.into());
    }
    if r.ids.is_empty() || r.ids.len() > 200 {
        return Err(FeedbackError::BadIds.into());
    }
    let mut result = BulkResult {
        changed: Vec::new(),
        skipped: Vec::new(),
    };
    for id in r.ids {
        match service::change_status(&state, &me, id, r.status, r.build.as_deref(), r.reason.as_deref()).await {
            Ok(_) => result.changed.push(id),
            Err(e) if e.status.is_client_error() => result.skipped.push(Skipped { id, reason: e.message }),
            Err(e) => return Err(e),
        }
    }
    Ok(Json(result))
}

#[derive(Deserialize, ToSchema)]
pub struct MergeRequest {
    pub into: i64,
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/merge", tag = "feedback", params(("id" = i64, Path)), request_body = MergeRequest,
    responses((status = 200, body = Request), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "into itself, or into another product's request")), security(("bearer" = [])))]
async fn merge(
    State(state): State<FeedbackState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<MergeRequest>,
) -> Result<Json<Request>, ApiError> {
    Ok(Json(service::merge(&state, &me, id, r.into).await?))
}

#[derive(Serialize, ToSchema)]
pub struct SplitResult {
    pub request_id: i64,
}

#[utoipa::path(post, path = "/api/v1/reports/{id}/split", tag = "feedback", params(("id" = i64, Path)),
    responses((status = 200, body = SplitResult), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn split(
    State(state): State<FeedbackState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<SplitResult>, ApiError> {
    Ok(Json(SplitResult {
        request_id: service::split(&state, &me, id).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct CommentRequest {
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 5000)]
    pub body: String,
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/comments", tag = "feedback", params(("id" = i64, Path)), request_body = CommentRequest,
    responses((status = 201, description = "comment added"), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn comment(
    State(state): State<FeedbackState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<CommentRequest>,
) -> Result<StatusCode, ApiError> {
    service::comment(&state, &me, id, &r.body).await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "feedback", params(("id" = i64, Path)),
    responses((status = 200, description = "the file"), (status = 404, body = ErrorBody)))]
async fn attachment(State(state): State<FeedbackState>, ApiPath(id): ApiPath<i64>) -> Result<Response, ApiError> {
    let (filename, content_type, data) = store::attachment(&state.platform.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("attachment"))?;
    let safe_name: String = filename
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, format!("inline; filename=\"{safe_name}\"")),
            (
                header::HeaderName::from_static("x-content-type-options"),
                "nosniff".to_string(),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'".to_string(),
            ),
        ],
        data,
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/awards", tag = "feedback", responses((status = 200, body = AwardPage)))]
async fn awards(State(state): State<FeedbackState>, ApiCaller(me): ApiCaller) -> Result<Json<AwardPage>, ApiError> {
    Ok(Json(service::award_page(&state, me.as_ref()).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct AwardVote {
    pub team: String,
}

#[utoipa::path(post, path = "/api/v1/awards/vote", tag = "feedback", request_body = AwardVote,
    responses((status = 201, description = "vote recorded"), (status = 422, body = ErrorBody, description = "no area is owned by this team"), (status = 409, body = ErrorBody, description = "already voted this week")), security(("bearer" = [])))]
async fn award_vote(
    State(state): State<FeedbackState>,
    ApiUser(me): ApiUser,
    ApiJson(r): ApiJson<AwardVote>,
) -> Result<StatusCode, ApiError> {
    service::award_vote(&state, &me, &r.team).await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(get, path = "/api/v1/honor-rules", tag = "feedback", responses((status = 200, body = Vec<HonorRule>)))]
async fn honor_rules(State(state): State<FeedbackState>) -> Result<Json<Vec<HonorRule>>, ApiError> {
    Ok(Json(store::honor_rules(&state.platform.db).await?))
}

#[utoipa::path(put, path = "/api/v1/honor-rules", tag = "feedback", request_body = HonorRule,
    responses((status = 200, body = Vec<HonorRule>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn set_honor_rule(
    State(state): State<FeedbackState>,
    ApiUser(me): ApiUser,
    ApiJson(rule): ApiJson<HonorRule>,
) -> Result<Json<Vec<HonorRule>>, ApiError> {
    if !me.role.is_admin() {
        return Err(FeedbackError::AdminHonorRules.into());
    }
    if rule.target_role.honor_rank() < 2 || rule.min_accepted_reports < 0 || rule.min_shipped_requests < 0 {
        return Err(FeedbackError::BadHonorRule.into());
    }
    store::set_honor_rule(&state.platform.db, &rule).await?;
    Ok(Json(store::honor_rules(&state.platform.db).await?))
}

#[utoipa::path(get, path = "/api/v1/users/{username}/credits", tag = "feedback", params(("username" = String, Path)),
    responses((status = 200, body = Vec<ShippedCredit>), (status = 404, body = ErrorBody)))]
async fn credits(
    State(state): State<FeedbackState>,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<Vec<ShippedCredit>>, ApiError> {
    let user = accounts::find_by_username(&state.platform.db, &username)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(Json(store::credits_of(&state.platform.db, user.id).await?))
}
