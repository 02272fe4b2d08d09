//! `/api/v1` endpoints for launches.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use fanloop_platform::error::ErrorBody;
use fanloop_platform::web::{ApiCaller, ApiJson, ApiJsonOrEmpty, ApiPath, ApiQuery, ApiUser, PageParam};
use fanloop_platform::ApiError;
use futures::Stream;
use serde::{Deserialize, Serialize};
use tokio_stream::StreamExt;
use utoipa::{OpenApi, ToSchema};

use crate::engine::SaleMode;
use crate::error::LaunchError;
use crate::sale::StockView;
use crate::service::{
    self, DrawResult, IssuedCode, LaunchState, MyStatus, NewDropRequest, NewVariant, PurchaseOutcome, PurchaseRequest,
};
use crate::share::{ShareOn, ShareRule};
use crate::store::{self, Drop, Fcode, Order, SaleStats, Variant, WallPost};
use crate::wall::Wall;

pub fn router() -> Router<LaunchState> {
    Router::new()
        .route("/api/v1/drops", get(list_drops).post(create_drop))
        .route("/api/v1/drops/{slug}", get(get_drop))
        .route("/api/v1/drops/{slug}/stream", get(stream))
        .route("/api/v1/drops/{slug}/reservations", post(reserve))
        .route("/api/v1/drops/{slug}/wall", get(wall))
        .route("/api/v1/drops/{slug}/wall/{id}/hide", post(hide_wall_post))
        .route("/api/v1/drops/{slug}/me", get(me))
        .route("/api/v1/drops/{slug}/draw", post(run_draw))
        .route("/api/v1/drops/{slug}/purchase", post(purchase))
        .route("/api/v1/drops/{slug}/fcodes", get(list_fcodes).post(issue_fcodes))
        .route("/api/v1/drops/{slug}/stats", get(stats))
        .route("/api/v1/fcodes/{id}/revoke", post(revoke_fcode))
        .route("/api/v1/orders/{id}/pay", post(pay))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_drops, create_drop, get_drop, stream, reserve, wall, hide_wall_post, me, run_draw, purchase, list_fcodes, issue_fcodes, stats, revoke_fcode, pay),
    components(schemas(Drop, Variant, SaleMode, NewDropRequest, NewVariant, DropView, StockView, MyStatus, Order, DrawResult, PurchaseRequest,
        IssueRequest, IssuedCode, Fcode, SaleStats, Reservation, ReserveRequest, Wall, WallPost, ShareRule, ShareOn, ErrorBody)),
    tags((name = "launches", description = "Drops, reservations, verifiable draws, F-codes and the flash sale"))
)]
pub struct LaunchesApi;

#[derive(Serialize, ToSchema)]
pub struct DropView {
    pub drop: Drop,
    pub stock: StockView,
    pub reservations: i64,
    pub server_time: i64,
}

/// Drops on sale or coming first (soonest first), then past ones; 50 a page.
#[utoipa::path(get, path = "/api/v1/drops", tag = "launches", params(PageParam), responses((status = 200, body = Vec<Drop>)))]
async fn list_drops(
    State(state): State<LaunchState>,
    ApiQuery(p): ApiQuery<PageParam>,
) -> Result<Json<Vec<Drop>>, ApiError> {
    Ok(Json(
        store::list_drops(&state.platform.db, fanloop_platform::db::now_ms(), p.number()).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/drops", tag = "launches", request_body = NewDropRequest,
    responses((status = 201, body = Drop), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn create_drop(
    State(state): State<LaunchState>,
    ApiUser(me): ApiUser,
    ApiJson(r): ApiJson<NewDropRequest>,
) -> Result<(StatusCode, Json<Drop>), ApiError> {
    Ok((StatusCode::CREATED, Json(service::create_drop(&state, &me, &r).await?)))
}

pub async fn drop_view(state: &LaunchState, slug: &str) -> Result<DropView, ApiError> {
    let drop = service::drop(state, slug).await?;
    let stock = service::stock(state, &drop).await?;
    let reservations = store::reservation_count(&state.platform.db, drop.id).await?;
    Ok(DropView {
        drop,
        stock,
        reservations,
        server_time: fanloop_platform::db::now_ms(),
    })
}

#[utoipa::path(get, path = "/api/v1/drops/{slug}", tag = "launches", params(("slug" = String, Path)),
    responses((status = 200, body = DropView), (status = 404, body = ErrorBody)))]
async fn get_drop(
    State(state): State<LaunchState>,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<DropView>, ApiError> {
    Ok(Json(drop_view(&state, &slug).await?))
}

#[utoipa::path(get, path = "/api/v1/drops/{slug}/stream", tag = "launches", params(("slug" = String, Path)),
    responses((status = 200, description = "server-sent events: `stock` events carrying a StockView as JSON")))]
async fn stream(
    State(state): State<LaunchState>,
    ApiPath(slug): ApiPath<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let drop = service::drop(&state, &slug).await?;
    let rx = match &state.cluster {
        // Several nodes: stock lives in Redis; one poller per stream, twice a second.
        Some(_) => {
            let (tx, rx) = tokio::sync::watch::channel(service::stock(&state, &drop).await?);
            let state = state.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
                while !tx.is_closed() {
                    tick.tick().await;
                    if let Ok(view) = service::stock(&state, &drop).await {
                        tx.send_if_modified(|v| std::mem::replace(v, view.clone()) != view);
                    }
                }
            });
            rx
        }
        None => state.hub.handle(&drop).await?.stock,
    };
    let events = tokio_stream::wrappers::WatchStream::new(rx)
        .throttle(std::time::Duration::from_millis(250))
        .map(|view| Ok(Event::default().event("stock").json_data(&view).unwrap_or_default()));
    Ok(Sse::new(fanloop_platform::live::bounded(events)).keep_alive(KeepAlive::default()))
}

/// A reservation's optional body.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReserveRequest {
    /// The post that makes the reservation, in a drop that takes reservations by posting (the
    /// hashtag is added if left out). Ignored elsewhere.
    #[schema(max_length = 1000)]
    pub post: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WallQuery {
    /// Only posts newer than this id, oldest first (to follow the wall: ask again from the last
    /// one received).
    pub after: Option<i64>,
    /// Only posts older than this id (the next page down).
    pub before: Option<i64>,
}

/// The drop's wall, newest first, 50 at a time (moderators also see hidden posts, marked).
#[utoipa::path(get, path = "/api/v1/drops/{slug}/wall", tag = "launches", params(("slug" = String, Path), WallQuery),
    responses((status = 200, body = Wall), (status = 404, body = ErrorBody, description = "no such drop, or it takes no posts")))]
async fn wall(
    State(state): State<LaunchState>,
    ApiCaller(viewer): ApiCaller,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<WallQuery>,
) -> Result<Json<Wall>, ApiError> {
    Ok(Json(
        crate::wall::wall(&state, viewer.as_ref(), &slug, q.after, q.before).await?,
    ))
}

/// Hides a post from the wall and from the forum (moderators): it stops counting; an order made
/// with it stands.
#[utoipa::path(post, path = "/api/v1/drops/{slug}/wall/{id}/hide", tag = "launches", params(("slug" = String, Path), ("id" = i64, Path)),
    responses((status = 204, description = "hidden"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn hide_wall_post(
    State(state): State<LaunchState>,
    ApiUser(me): ApiUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<StatusCode, ApiError> {
    crate::wall::hide(&state, &me, &slug, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Reservation {
    pub reserved: bool,
    /// False when the fan had already reserved.
    pub new: bool,
}

#[utoipa::path(post, path = "/api/v1/drops/{slug}/reservations", tag = "launches", params(("slug" = String, Path)), request_body(content = Option<ReserveRequest>, description = "optional: the post, in drops that take reservations by posting"),
    responses((status = 201, body = Reservation), (status = 200, body = Reservation, description = "already reserved"), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "reservations are not open now, or the post copies another member's"), (status = 422, body = ErrorBody, description = "the post is missing, too short, too long, or carries a link")),
    security(("bearer" = [])))]
async fn reserve(
    State(state): State<LaunchState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
    ApiJsonOrEmpty(r): ApiJsonOrEmpty<ReserveRequest>,
) -> Result<(StatusCode, Json<Reservation>), ApiError> {
    let new = service::reserve(&state, &me, &slug, r.post.as_deref()).await?;
    Ok((
        if new { StatusCode::CREATED } else { StatusCode::OK },
        Json(Reservation { reserved: true, new }),
    ))
}

#[utoipa::path(get, path = "/api/v1/drops/{slug}/me", tag = "launches", params(("slug" = String, Path)),
    responses((status = 200, body = MyStatus)), security(("bearer" = [])))]
async fn me(
    State(state): State<LaunchState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<MyStatus>, ApiError> {
    Ok(Json(service::my_status(&state, &me, &slug).await?))
}

#[utoipa::path(post, path = "/api/v1/drops/{slug}/draw", tag = "launches", params(("slug" = String, Path)),
    responses((status = 200, body = DrawResult), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "already drawn, or an open sale (no draw); running the draw before the planned close closes the reservations")), security(("bearer" = [])))]
async fn run_draw(
    State(state): State<LaunchState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<DrawResult>, ApiError> {
    Ok(Json(service::run_draw(&state, &me, &slug).await?))
}

#[utoipa::path(post, path = "/api/v1/drops/{slug}/purchase", tag = "launches", params(("slug" = String, Path), ("Idempotency-Key" = String, Header, pattern = r"^[!-~]{1,100}$", description = "client-chosen, 1–100 visible ASCII characters; a retry with the same key returns the same order")),
    request_body = PurchaseRequest,
    responses((status = 201, body = Order, description = "order created and durable"), (status = 200, body = Order, description = "retry of an earlier attempt"),
        (status = 403, body = ErrorBody, description = "not eligible, not selected, or limit reached"), (status = 409, body = ErrorBody, description = "sold out, closed, F-code used, not open yet, not your turn, or the post copies another member's"), (status = 422, body = ErrorBody, description = "unknown version, bad quantity, or the post is missing, too short, too long, or carries a link"), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody, description = "not stored; retry with the same key")),
    security(("bearer" = [])))]
async fn purchase(
    State(state): State<LaunchState>,
    headers: HeaderMap,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(r): ApiJson<PurchaseRequest>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match service::purchase(&state, &me, &slug, key, &r).await? {
        PurchaseOutcome::Created(o) => Ok((StatusCode::CREATED, Json(o))),
        PurchaseOutcome::Replayed(o) => Ok((StatusCode::OK, Json(o))),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct IssueRequest {
    #[schema(min_items = 1, max_items = 1000)]
    pub usernames: Vec<String>,
    /// May the holder give the code to someone else?
    #[serde(default)]
    pub transferable: bool,
}

#[utoipa::path(post, path = "/api/v1/drops/{slug}/fcodes", tag = "launches", params(("slug" = String, Path)), request_body = IssueRequest,
    responses((status = 201, body = Vec<IssuedCode>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn issue_fcodes(
    State(state): State<LaunchState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(r): ApiJson<IssueRequest>,
) -> Result<(StatusCode, Json<Vec<IssuedCode>>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(service::issue_fcodes(&state, &me, &slug, &r.usernames, r.transferable).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/drops/{slug}/fcodes", tag = "launches", params(("slug" = String, Path)),
    responses((status = 200, body = Vec<Fcode>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_fcodes(
    State(state): State<LaunchState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Vec<Fcode>>, ApiError> {
    if !me.role.is_staff() {
        return Err(LaunchError::StaffListFcodes.into());
    }
    let d = service::drop(&state, &slug).await?;
    Ok(Json(store::list_fcodes(&state.platform.db, d.id).await?))
}

#[utoipa::path(post, path = "/api/v1/fcodes/{id}/revoke", tag = "launches", params(("id" = i64, Path)),
    responses((status = 204, description = "revoked"), (status = 409, body = ErrorBody, description = "already used or revoked")), security(("bearer" = [])))]
async fn revoke_fcode(
    State(state): State<LaunchState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    if !me.role.is_staff() {
        return Err(LaunchError::StaffRevokeFcodes.into());
    }
    store::fcode_drop(&state.platform.db, id)
        .await?
        .ok_or(LaunchError::NoFcode)?;
    if !store::revoke_fcode(&state.platform.db, id, me.id).await? {
        return Err(LaunchError::NotRevocable.into());
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/drops/{slug}/stats", tag = "launches", params(("slug" = String, Path)),
    responses((status = 200, body = SaleStats), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn stats(
    State(state): State<LaunchState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<SaleStats>, ApiError> {
    if !me.role.is_staff() {
        return Err(LaunchError::StaffStats.into());
    }
    let d = service::drop(&state, &slug).await?;
    Ok(Json(store::stats(&state.platform.db, &d).await?))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/pay", tag = "launches", params(("id" = i64, Path)),
    responses((status = 200, body = Order), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody, description = "expired")), security(("bearer" = [])))]
async fn pay(
    State(state): State<LaunchState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Order>, ApiError> {
    Ok(Json(service::pay(&state, &me, id).await?))
}
