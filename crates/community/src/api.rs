//! `/api/v1` endpoints for the community; everything the pages do, as JSON.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use fanloop_platform::accounts::{self, User};
use fanloop_platform::error::ErrorBody;
use fanloop_platform::web::{ApiCaller, ApiJson, ApiPath, ApiQuery, ApiUser, PageParam};
use fanloop_platform::ApiError;

use crate::error::CommunityError;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::pages::{POSTS_PER_PAGE, THREADS_PER_PAGE};
use crate::service::{self, CommunityState, LikeState, Posted, SearchHit, SearchPage};
use crate::store::{self, Board, Flag, HeldPost, Post, ProfileStats, Revision, ThreadSummary, UserRef};

pub fn router() -> Router<CommunityState> {
    Router::new()
        .route("/api/v1/boards", get(list_boards).post(create_board))
        .route("/api/v1/boards/{slug}/threads", get(board_threads).post(create_thread))
        .route("/api/v1/threads/{id}", get(get_thread).patch(moderate_thread))
        .route("/api/v1/threads/{id}/posts", post(create_reply))
        .route("/api/v1/threads/{id}/stream", get(thread_stream))
        .route("/api/v1/posts/{id}", get(get_post).patch(edit_post).delete(delete_post))
        .route("/api/v1/posts/{id}/revisions", get(post_revisions))
        .route("/api/v1/posts/{id}/like", put(like_post).delete(unlike_post))
        .route("/api/v1/posts/{id}/flags", post(flag_post))
        .route("/api/v1/moderation/flags", get(list_flags))
        .route("/api/v1/moderation/flags/{id}", post(resolve_flag))
        .route("/api/v1/markdown/preview", post(preview_markdown))
        .route("/api/v1/users/suggest", get(suggest_users))
        .route("/api/v1/moderation/held", get(list_held))
        .route("/api/v1/moderation/held/{id}", post(review_held))
        .route("/api/v1/search", get(search))
        .route("/api/v1/users/{username}", get(profile))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_boards, create_board, board_threads, create_thread, get_thread, thread_stream, moderate_thread, create_reply, get_post, edit_post,
          delete_post, post_revisions, like_post, unlike_post, flag_post, list_flags, resolve_flag, search, profile,
          list_held, review_held, preview_markdown, suggest_users),
    components(schemas(NewPosts, PreviewRequest, Preview, UserSuggestion, HeldReviewed, Board, ThreadSummary, Post, UserRef, Revision, Flag, ProfileStats, LikeState, SearchHit, SearchPage, ErrorBody,
        NewBoard, NewThreadRequest, ThreadCreated, ThreadPage, ThreadModeration, NewPostRequest, PostCreated, EditPostRequest,
        FlagRequest, ResolveRequest, FlagPage, Profile, BoardThreads, Deletion, HeldForReview, HeldPost, HeldDecision)),
    tags((name = "community", description = "Boards, threads, posts, likes, moderation and search"))
)]
pub struct CommunityApi;

#[derive(Deserialize, ToSchema)]
pub struct NewBoard {
    /// URL name: 2–40 lowercase letters, digits or dashes.
    #[schema(pattern = r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$", min_length = 2, max_length = 40)]
    pub slug: String,
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 60)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
    #[serde(default)]
    pub position: i64,
}

#[utoipa::path(get, path = "/api/v1/boards", tag = "community", responses((status = 200, body = Vec<Board>)))]
async fn list_boards(State(state): State<CommunityState>) -> Result<Json<Vec<Board>>, ApiError> {
    Ok(Json(store::list_boards(&state.platform.db).await?))
}

#[utoipa::path(post, path = "/api/v1/boards", tag = "community", request_body = NewBoard,
    responses((status = 201, body = Board), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn create_board(
    State(state): State<CommunityState>,
    ApiUser(me): ApiUser,
    ApiJson(req): ApiJson<NewBoard>,
) -> Result<(StatusCode, Json<Board>), ApiError> {
    let board = service::create_board(&state, &me, &req.slug, &req.name, &req.description, req.position).await?;
    Ok((StatusCode::CREATED, Json(board)))
}

#[derive(Serialize, ToSchema)]
pub struct BoardThreads {
    pub board: Board,
    pub threads: Vec<ThreadSummary>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[utoipa::path(get, path = "/api/v1/boards/{slug}/threads", tag = "community", params(("slug" = String, Path), PageParam),
    responses((status = 200, body = BoardThreads), (status = 404, body = ErrorBody)))]
async fn board_threads(
    State(state): State<CommunityState>,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(p): ApiQuery<PageParam>,
) -> Result<Json<BoardThreads>, ApiError> {
    let db = &state.platform.db;
    let board = store::board_by_slug(db, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("board"))?;
    let (threads, total) = store::list_threads(db, board.id, p.offset(THREADS_PER_PAGE), THREADS_PER_PAGE).await?;
    Ok(Json(BoardThreads {
        board,
        threads,
        total,
        page: p.number(),
        per_page: THREADS_PER_PAGE,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct NewThreadRequest {
    /// 1–120 characters.
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 120)]
    pub title: String,
    /// Markdown, 1–20,000 characters.
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 20000)]
    pub body: String,
}

#[derive(Serialize, ToSchema)]
pub struct ThreadCreated {
    pub thread_id: i64,
    pub post_id: i64,
    pub url: String,
}

/// A new account's post with links, waiting for a moderator before it is published.
#[derive(Serialize, ToSchema)]
pub struct HeldForReview {
    pub held_id: i64,
    pub message: String,
}

fn held(id: i64) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(HeldForReview {
            held_id: id,
            message: "Held for review: a moderator publishes it soon (new accounts' posts with links).".into(),
        }),
    )
        .into_response()
}

#[utoipa::path(post, path = "/api/v1/boards/{slug}/threads", tag = "community", params(("slug" = String, Path)), request_body = NewThreadRequest,
    responses((status = 201, body = ThreadCreated), (status = 202, body = HeldForReview, description = "held for a moderator"),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 429, body = ErrorBody, description = "a new account's posts per day")),
    security(("bearer" = [])))]
async fn create_thread(
    State(state): State<CommunityState>,
    ApiUser(me): ApiUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<NewThreadRequest>,
) -> Result<Response, ApiError> {
    match service::create_thread(&state, &me, &slug, &req.title, &req.body).await? {
        Posted::Published((thread_id, post_id)) => Ok((
            StatusCode::CREATED,
            Json(ThreadCreated {
                thread_id,
                post_id,
                url: format!("/t/{thread_id}"),
            }),
        )
            .into_response()),
        Posted::Held(id) => Ok(held(id)),
    }
}

#[utoipa::path(get, path = "/api/v1/moderation/held", tag = "community",
    responses((status = 200, body = Vec<HeldPost>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_held(State(state): State<CommunityState>, ApiUser(me): ApiUser) -> Result<Json<Vec<HeldPost>>, ApiError> {
    Ok(Json(service::held_posts(&state, &me).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct HeldDecision {
    /// `true` publishes it as its author; `false` discards it.
    pub approve: bool,
}

#[derive(Serialize, ToSchema)]
pub struct HeldReviewed {
    /// The thread it was published in (`None` when rejected).
    pub thread_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/moderation/held/{id}", tag = "community", params(("id" = i64, Path)), request_body = HeldDecision,
    responses((status = 200, body = HeldReviewed), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn review_held(
    State(state): State<CommunityState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<HeldDecision>,
) -> Result<Json<HeldReviewed>, ApiError> {
    let thread_id = service::review_held(&state, &me, id, req.approve).await?;
    Ok(Json(HeldReviewed { thread_id }))
}

#[derive(Serialize, ToSchema)]
pub struct ThreadPage {
    pub thread: ThreadSummary,
    pub posts: Vec<Post>,
    pub total_posts: i64,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamAfter {
    /// The newest post the reader has: posts after it are counted.
    #[param(minimum = 0)]
    pub after: i64,
}

/// Posts of a thread newer than the reader's newest, as the live stream sends them.
#[derive(Serialize, ToSchema, Clone, PartialEq)]
pub struct NewPosts {
    pub new: i64,
    /// The first of them (its address is `/p/{first}`).
    pub first: Option<i64>,
}

/// New replies of a thread, live: sent at once, then whenever the count changes (a reply
/// written on any node reaches the stream within about a second).
#[utoipa::path(get, path = "/api/v1/threads/{id}/stream", tag = "community", params(("id" = i64, Path), StreamAfter),
    responses((status = 200, description = "server-sent events: `posts` events carrying a NewPosts as JSON", content_type = "text/event-stream"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn thread_stream(
    State(state): State<CommunityState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<StreamAfter>,
) -> Result<
    axum::response::sse::Sse<impl futures::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>>,
    ApiError,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use fanloop_platform::live::LiveEvent;
    use futures::StreamExt;
    let db = state.platform.db.clone();
    store::get_thread(&db, id)
        .await?
        .filter(|t| !t.deleted)
        .ok_or_else(|| ApiError::not_found("thread"))?;
    if q.after < 0 {
        return Err(ApiError::bad_request("invalid_query", "`after` must be 0 or more"));
    }
    let after = q.after;
    let counts = fanloop_platform::live::stream(
        &state.platform.live,
        move |e| *e == LiveEvent::Posted { thread_id: id },
        move || {
            let db = db.clone();
            async move {
                let (new, first) = store::posts_after(&db, id, after).await?;
                Ok(NewPosts { new, first })
            }
        },
    );
    let events = counts.map(|c| Ok(Event::default().event("posts").json_data(&c).unwrap_or_default()));
    Ok(Sse::new(fanloop_platform::live::bounded(events)).keep_alive(KeepAlive::default()))
}

/// Posts: each new one tells the open pages of its thread.
pub struct PostRows;

impl fanloop_platform::live::Followed for PostRows {
    fn newest<'a>(&'a self, db: &'a fanloop_platform::Db) -> fanloop_platform::live::BoxFuture<'a, i64> {
        Box::pin(store::newest_post_id(db))
    }
    fn after<'a>(
        &'a self,
        db: &'a fanloop_platform::Db,
        id: i64,
    ) -> fanloop_platform::live::BoxFuture<'a, Vec<(i64, i64)>> {
        Box::pin(store::post_threads_after(db, id, 2_000))
    }
    fn event(&self, owner: i64) -> fanloop_platform::live::LiveEvent {
        fanloop_platform::live::LiveEvent::Posted { thread_id: owner }
    }
}

#[utoipa::path(get, path = "/api/v1/threads/{id}", tag = "community", params(("id" = i64, Path), PageParam),
    responses((status = 200, body = ThreadPage), (status = 404, body = ErrorBody)))]
async fn get_thread(
    State(state): State<CommunityState>,
    ApiCaller(me): ApiCaller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<PageParam>,
) -> Result<Json<ThreadPage>, ApiError> {
    let db = &state.platform.db;
    let thread = store::get_thread(db, id)
        .await?
        .filter(|t| !t.deleted)
        .ok_or_else(|| ApiError::not_found("thread"))?;
    let posts = store::list_posts(db, id, p.offset(POSTS_PER_PAGE), POSTS_PER_PAGE, me.map(|u| u.id)).await?;
    let total_posts = store::post_count_in_thread(db, id).await?;
    Ok(Json(ThreadPage {
        thread: thread.summary,
        posts,
        total_posts,
        page: p.number(),
        per_page: POSTS_PER_PAGE,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct ThreadModeration {
    pub pinned: Option<bool>,
    pub locked: Option<bool>,
}

#[utoipa::path(patch, path = "/api/v1/threads/{id}", tag = "community", params(("id" = i64, Path)), request_body = ThreadModeration,
    responses((status = 200, body = ThreadSummary), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn moderate_thread(
    State(state): State<CommunityState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ThreadModeration>,
) -> Result<Json<ThreadSummary>, ApiError> {
    service::moderate_thread(&state, &me, id, req.pinned, req.locked).await?;
    let thread = store::get_thread(&state.platform.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("thread"))?;
    Ok(Json(thread.summary))
}

#[derive(Deserialize, ToSchema)]
pub struct NewPostRequest {
    /// Markdown, 1–20,000 characters.  `@name` notifies that member.
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 20000)]
    pub body: String,
}

#[derive(Serialize, ToSchema)]
pub struct PostCreated {
    pub post_id: i64,
    pub thread_id: i64,
}

#[utoipa::path(post, path = "/api/v1/threads/{id}/posts", tag = "community", params(("id" = i64, Path)), request_body = NewPostRequest,
    responses((status = 201, body = PostCreated), (status = 202, body = HeldForReview, description = "held for a moderator"),
              (status = 403, body = ErrorBody, description = "thread locked"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 429, body = ErrorBody, description = "a new account's posts per day")),
    security(("bearer" = [])))]
async fn create_reply(
    State(state): State<CommunityState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<NewPostRequest>,
) -> Result<Response, ApiError> {
    match service::reply(&state, &me, id, &req.body).await? {
        Posted::Published(post_id) => {
            Ok((StatusCode::CREATED, Json(PostCreated { post_id, thread_id: id })).into_response())
        }
        Posted::Held(held_id) => Ok(held(held_id)),
    }
}

#[utoipa::path(get, path = "/api/v1/posts/{id}", tag = "community", params(("id" = i64, Path)),
    responses((status = 200, body = Post), (status = 404, body = ErrorBody)))]
async fn get_post(State(state): State<CommunityState>, ApiPath(id): ApiPath<i64>) -> Result<Json<Post>, ApiError> {
    Ok(Json(service::load_post(&state, id).await?.post))
}

#[derive(Deserialize, ToSchema)]
pub struct EditPostRequest {
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 20000)]
    pub body: String,
    /// New thread title; only for the opening post.
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 120)]
    pub title: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/posts/{id}", tag = "community", params(("id" = i64, Path)), request_body = EditPostRequest,
    responses((status = 200, body = Post), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "a title on a reply"), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn edit_post(
    State(state): State<CommunityState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<EditPostRequest>,
) -> Result<Json<Post>, ApiError> {
    service::edit_post(&state, &me, id, &req.body, req.title.as_deref()).await?;
    Ok(Json(service::load_post(&state, id).await?.post))
}

#[derive(Serialize, ToSchema)]
pub struct Deletion {
    /// `post`, or `thread` when the opening post (and so the thread) was deleted.
    pub deleted: String,
}

#[utoipa::path(delete, path = "/api/v1/posts/{id}", tag = "community", params(("id" = i64, Path)),
    responses((status = 200, body = Deletion), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_post(
    State(state): State<CommunityState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Deletion>, ApiError> {
    let deleted = match service::delete_post(&state, &me, id).await? {
        store::Deleted::Post(_) => "post",
        store::Deleted::Thread(_) => "thread",
    };
    Ok(Json(Deletion {
        deleted: deleted.into(),
    }))
}

#[utoipa::path(get, path = "/api/v1/posts/{id}/revisions", tag = "community", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Revision>), (status = 404, body = ErrorBody)))]
async fn post_revisions(
    State(state): State<CommunityState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<Revision>>, ApiError> {
    service::load_post(&state, id).await?;
    Ok(Json(store::revisions(&state.platform.db, id).await?))
}

#[utoipa::path(put, path = "/api/v1/posts/{id}/like", tag = "community", params(("id" = i64, Path)),
    responses((status = 200, body = LikeState), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn like_post(
    State(state): State<CommunityState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<LikeState>, ApiError> {
    Ok(Json(service::like(&state, &me, id, true).await?))
}

#[utoipa::path(delete, path = "/api/v1/posts/{id}/like", tag = "community", params(("id" = i64, Path)),
    responses((status = 200, body = LikeState), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn unlike_post(
    State(state): State<CommunityState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<LikeState>, ApiError> {
    Ok(Json(service::like(&state, &me, id, false).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct FlagRequest {
    /// Why moderators should look, 1–500 characters.
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 500)]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/posts/{id}/flags", tag = "community", params(("id" = i64, Path)), request_body = FlagRequest,
    responses((status = 201, description = "flag recorded"), (status = 409, body = ErrorBody, description = "you already flagged this post"), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn flag_post(
    State(state): State<CommunityState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<FlagRequest>,
) -> Result<StatusCode, ApiError> {
    if service::flag(&state, &me, id, &req.reason).await? {
        Ok(StatusCode::CREATED)
    } else {
        Err(CommunityError::AlreadyFlagged.into())
    }
}

#[derive(Serialize, ToSchema)]
pub struct FlagPage {
    pub flags: Vec<Flag>,
    pub total: i64,
    pub page: i64,
}

#[utoipa::path(get, path = "/api/v1/moderation/flags", tag = "community", params(PageParam),
    responses((status = 200, body = FlagPage), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_flags(
    State(state): State<CommunityState>,
    ApiUser(me): ApiUser,
    ApiQuery(p): ApiQuery<PageParam>,
) -> Result<Json<FlagPage>, ApiError> {
    if !me.role.can_moderate() {
        return Err(CommunityError::ModeratorsQueue.into());
    }
    let (flags, total) = store::open_flags(&state.platform.db, p.offset(50), 50).await?;
    Ok(Json(FlagPage {
        flags,
        total,
        page: p.number(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct ResolveRequest {
    /// `dismiss` (keep the post) or `delete` (remove it).
    #[schema(pattern = r"^(dismiss|delete)$")]
    pub action: String,
}

#[utoipa::path(post, path = "/api/v1/moderation/flags/{id}", tag = "community", params(("id" = i64, Path)), request_body = ResolveRequest,
    responses((status = 204, description = "resolved"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn resolve_flag(
    State(state): State<CommunityState>,
    ApiUser(me): ApiUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ResolveRequest>,
) -> Result<StatusCode, ApiError> {
    service::resolve_flag(&state, &me, id, &req.action).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words to find (Chinese, English or French).
    #[param(min_length = 1, max_length = 200)]
    pub q: String,
    /// Board slug to search in.
    pub board: Option<String>,
    /// Username whose posts to search.
    pub author: Option<String>,
    #[serde(default, deserialize_with = "fanloop_platform::web::page_number")]
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/search", tag = "community", params(SearchParams),
    responses((status = 200, body = SearchPage), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn search(
    State(state): State<CommunityState>,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> Result<Json<SearchPage>, ApiError> {
    if p.q.is_empty() {
        return Err(CommunityError::SearchEmpty.into());
    }
    let page = PageParam { page: p.page }.number();
    Ok(Json(
        service::search(&state, &p.q, p.board.as_deref(), p.author.as_deref(), page).await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct Profile {
    pub user: User,
    /// Rung on the honor ladder: 1 fan, 2 beta tester, 3 honorary developer (0 for staff).
    pub honor_rank: u8,
    pub stats: ProfileStats,
    pub recent_threads: Vec<ThreadSummary>,
}

#[utoipa::path(get, path = "/api/v1/users/{username}", tag = "community", params(("username" = String, Path)),
    responses((status = 200, body = Profile), (status = 404, body = ErrorBody)))]
async fn profile(
    State(state): State<CommunityState>,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<Profile>, ApiError> {
    let db = &state.platform.db;
    let user = accounts::find_by_username(db, &username)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let stats = store::profile_stats(db, user.id).await?;
    let recent_threads = store::threads_by_author(db, user.id, 10).await?;
    Ok(Json(Profile {
        honor_rank: user.role.honor_rank(),
        user,
        stats,
        recent_threads,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct PreviewRequest {
    /// Markdown, as a post would be written.
    #[schema(max_length = 20000)]
    pub body: String,
}

#[derive(Serialize, ToSchema)]
pub struct Preview {
    /// The sanitised HTML a post with this body would show.
    pub html: String,
}

/// The composer's live preview: the same rendering and sanitising as a published post.
#[utoipa::path(post, path = "/api/v1/markdown/preview", tag = "community", request_body = PreviewRequest,
    responses((status = 200, body = Preview), (status = 422, body = ErrorBody)))]
async fn preview_markdown(ApiJson(req): ApiJson<PreviewRequest>) -> Result<Json<Preview>, ApiError> {
    if req.body.chars().count() > 20_000 {
        return Err(CommunityError::BodyTooLong.into());
    }
    let body = req.body;
    let html = tokio::task::spawn_blocking(move || crate::domain::render_markdown(&body))
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(Preview { html }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestQuery {
    /// The start of a username (what follows `@`).
    #[param(min_length = 1, max_length = 32)]
    pub q: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserSuggestion {
    pub username: String,
    pub is_staff: bool,
    pub team: Option<String>,
}

/// Usernames starting with `q`, for `@` completion in the composer (at most 8).
#[utoipa::path(get, path = "/api/v1/users/suggest", tag = "community", params(SuggestQuery),
    responses((status = 200, body = Vec<UserSuggestion>), (status = 422, body = ErrorBody)))]
async fn suggest_users(
    State(state): State<CommunityState>,
    ApiQuery(q): ApiQuery<SuggestQuery>,
) -> Result<Json<Vec<UserSuggestion>>, ApiError> {
    let n = q.q.chars().count();
    if n == 0 || n > 32 {
        return Err(ApiError::validation("q: 1–32 characters"));
    }
    let users = accounts::find_by_prefix(&state.platform.db, &q.q, 8).await?;
    Ok(Json(
        users
            .into_iter()
            .map(|u| UserSuggestion {
                is_staff: u.role.is_staff(),
                team: u.team,
                username: u.username,
            })
            .collect(),
    ))
}
