//! Pictures: sending one into a post (the composer's button, the `/uploads` page without
//! JavaScript, or `POST /api/v1/uploads`), choosing an avatar, and serving both.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use minijinja::context;
use serde::Deserialize;
use tokio::sync::Semaphore;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::accounts::User;
use crate::error::{AccountError, ApiError, CommonError, ErrorBody, PageError};
use crate::images::{self, ImageProblem, Shape};
use crate::uploads::{self, UploadInfo};
use crate::web::{
    check_multipart_csrf, see_other, ApiPath, ApiQuery, ApiUser, CsrfForm, EmptyForm, PagePath, PageQuery, Platform,
    Upload, Viewer,
};

/// A request carrying one picture: the picture and a little room for the form around it.
pub const UPLOAD_BODY_LIMIT: usize = images::MAX_UPLOAD_BYTES + 64 * 1024;
/// Pictures a member may send in 24 hours (staff: no limit).
pub const UPLOADS_PER_DAY: i64 = 50;
/// The most pictures the `/uploads` page and the API list.
const LIST_LIMIT: i64 = 60;

/// Pictures decoded at once on this node: decoding takes memory (up to a few hundred MB for
/// a 50-megapixel photo) and a core, so the rest wait their turn. The permit goes with the
/// decoding itself: a client that hangs up does not free it while its picture is decoded.
static DECODERS: Semaphore = Semaphore::const_new(2);
/// Pictures waiting or being decoded on this node; beyond, a 503 (each holds its body in memory).
static WAITING: Semaphore = Semaphore::const_new(16);

pub fn router() -> Router<Platform> {
    Router::new()
        .route(
            "/api/v1/uploads",
            post(api_upload)
                .get(api_list)
                .layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route("/api/v1/uploads/{key}", axum::routing::delete(api_delete))
        .route(
            "/uploads",
            get(uploads_page)
                .post(uploads_submit)
                .layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route("/uploads/{key}", get(serve_full))
        .route("/uploads/{key}/thumb", get(serve_thumb))
        .route("/uploads/{key}/delete", post(delete_submit))
        .route(
            "/settings/avatar",
            post(avatar_submit).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route("/settings/avatar/remove", post(avatar_remove_submit))
}

/// A picture's bytes, as the body of `POST /api/v1/uploads`.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct PictureBytes(#[allow(dead_code)] Vec<u8>);

#[derive(OpenApi)]
#[openapi(
    paths(api_upload, api_list, api_delete),
    components(schemas(UploadInfo, PictureBytes)),
    tags((name = "accounts", description = "Accounts, roles, API tokens and notifications"))
)]
pub struct UploadsApi;

fn problem_error(problem: ImageProblem) -> AccountError {
    match problem {
        ImageProblem::Empty => AccountError::ImageEmpty,
        ImageProblem::TooLarge => AccountError::ImageTooLarge,
        ImageProblem::NotAnImage => AccountError::ImageNotImage,
        ImageProblem::TooManyPixels => AccountError::ImageTooManyPixels,
        ImageProblem::Unreadable => AccountError::ImageUnreadable,
    }
}

/// Decodes and re-encodes a picture off the async workers, a few at a time.
async fn process(data: Vec<u8>, shape: Shape) -> Result<images::Processed, ApiError> {
    let waiting = WAITING
        .try_acquire()
        .map_err(|_| ApiError::from(CommonError::Unavailable))?;
    let slot = DECODERS.acquire().await.map_err(ApiError::internal)?;
    tokio::task::spawn_blocking(move || {
        let _held = (waiting, slot);
        images::process(&data, shape)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|p| problem_error(p).into())
}

/// The daily limit, checked before any decoding.
async fn check_quota(platform: &Platform, user: &User) -> Result<(), ApiError> {
    let Some(limit) = day_limit(user) else {
        return Ok(());
    };
    if uploads::count_since(&platform.db.pool, user.id, uploads::day_ago()).await? >= limit {
        return Err(quota_error());
    }
    Ok(())
}

/// A file name fit to describe a picture: one line, at most 100 characters, never empty.
fn clean_name(name: &str) -> String {
    let line = crate::text::single_line(name);
    let base = line.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let cut: String = base.chars().take(100).collect();
    if cut.is_empty() {
        "image".into()
    } else {
        cut
    }
}

/// The most pictures `user` may send in a day, if limited.
fn day_limit(user: &User) -> Option<i64> {
    (!user.role.is_staff()).then_some(UPLOADS_PER_DAY)
}

fn quota_error() -> ApiError {
    AccountError::UploadQuota.with(&[("limit", UPLOADS_PER_DAY.to_string())])
}

/// Stores a post picture for `user`: quota (checked before decoding, and again where it is
/// stored, so parallel requests cannot pass it together), decoding, then one insert.
async fn add_picture(platform: &Platform, user: &User, name: &str, data: Vec<u8>) -> Result<UploadInfo, ApiError> {
    check_quota(platform, user).await?;
    let size = data.len();
    let processed = process(data, Shape::Post).await?;
    uploads::add(
        &platform.db,
        user.id,
        &clean_name(name),
        size,
        &processed,
        day_limit(user),
    )
    .await?
    .ok_or_else(quota_error)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// The file's name, used to describe the picture (its alt text in posts).
    pub name: Option<String>,
}

/// Sends a picture for a post. It is decoded, turned upright, resized (1,600 px at most, and
/// a 640 px thumbnail) and encoded again, so none of the file's metadata (GPS position,
/// camera) is kept. Put `markdown` into a post to show it.
#[utoipa::path(post, path = "/api/v1/uploads", tag = "accounts", params(UploadParams),
    request_body(content = inline(PictureBytes), content_type = "application/octet-stream",
        description = "The picture: PNG, JPEG, GIF (first frame) or WebP, at most 8 MB, 12,000 px a side and 50 megapixels"),
    responses((status = 201, body = UploadInfo), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
async fn api_upload(
    State(platform): State<Platform>,
    ApiUser(user): ApiUser,
    ApiQuery(params): ApiQuery<UploadParams>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<UploadInfo>), ApiError> {
    // Over the body limit: the same answer as a file over 8 MB, in JSON.
    let body = body.map_err(|r| match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::from(AccountError::ImageTooLarge),
        _ => ApiError::from(CommonError::BadForm),
    })?;
    let info = add_picture(&platform, &user, params.name.as_deref().unwrap_or(""), body.to_vec()).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// The pictures you sent for posts, newest first (at most 60).
#[utoipa::path(get, path = "/api/v1/uploads", tag = "accounts",
    responses((status = 200, body = Vec<UploadInfo>)), security(("bearer" = [])))]
async fn api_list(State(platform): State<Platform>, ApiUser(user): ApiUser) -> Result<Json<Vec<UploadInfo>>, ApiError> {
    Ok(Json(uploads::list_mine(&platform.db, user.id, LIST_LIMIT).await?))
}

/// Deletes one of your pictures; posts that showed it show its description instead.
#[utoipa::path(delete, path = "/api/v1/uploads/{key}", tag = "accounts",
    params(("key" = String, Path, description = "The picture's key")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn api_delete(
    State(platform): State<Platform>,
    ApiUser(user): ApiUser,
    ApiPath(key): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if !uploads::is_key(&key) || !uploads::delete_mine(&platform.db, user.id, &key).await? {
        return Err(CommonError::NotFound.into());
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn serve(platform: &Platform, key: &str, thumb: bool) -> Result<Response, PageError> {
    if !uploads::is_key(key) {
        return Err(PageError::not_found());
    }
    let (content_type, data) = uploads::bytes(&platform.db, key, thumb)
        .await?
        .ok_or_else(PageError::not_found)?;
    let mut response = data.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    // A key's bytes never change (a new picture gets a new key), but a deleted picture must stop
    // showing: browsers keep it a day, shared caches not at all.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline"));
    Ok(response)
}

async fn serve_full(State(platform): State<Platform>, PagePath(key): PagePath<String>) -> Result<Response, PageError> {
    serve(&platform, &key, false).await
}

async fn serve_thumb(State(platform): State<Platform>, PagePath(key): PagePath<String>) -> Result<Response, PageError> {
    serve(&platform, &key, true).await
}

/// A multipart form with a `_csrf` field (first, as the pages write it) and one file in
/// `file`. The outer error is for the page (a stale form); the inner one is about the picture
/// (none, or over the size limit), said next to the field.
async fn read_picture_form(mut multipart: Multipart, viewer: &Viewer) -> Result<Result<Upload, ApiError>, PageError> {
    let (mut csrf, mut file) = (String::new(), Err(ApiError::from(AccountError::ImageEmpty)));
    let too_large = |e: axum::extract::multipart::MultipartError| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Ok(ApiError::from(AccountError::ImageTooLarge)),
        _ => Err(PageError::from(CommonError::BadForm)),
    };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                file = Err(too_large(e)?);
                break;
            }
        };
        match field.name().unwrap_or("") {
            "file" if file.is_err() => {
                let filename = field.file_name().unwrap_or("").to_string();
                match field.bytes().await {
                    Ok(data) if !data.is_empty() => {
                        file = Ok(Upload {
                            filename,
                            data: data.to_vec(),
                        })
                    }
                    Ok(_) => {}
                    Err(e) => {
                        file = Err(too_large(e)?);
                        break;
                    }
                }
            }
            "_csrf" => csrf = field.text().await.map_err(|_| PageError::from(CommonError::BadForm))?,
            _ => {}
        }
    }
    check_multipart_csrf(viewer, &csrf)?;
    Ok(file)
}

#[derive(Deserialize)]
struct UploadsQuery {
    added: Option<String>,
}

async fn uploads_page(
    State(platform): State<Platform>,
    viewer: Viewer,
    PageQuery(q): PageQuery<UploadsQuery>,
) -> Result<Html<String>, PageError> {
    render_uploads(&platform, &viewer, q.added.filter(|k| uploads::is_key(k)), None).await
}

async fn render_uploads(
    platform: &Platform,
    viewer: &Viewer,
    added: Option<String>,
    error: Option<String>,
) -> Result<Html<String>, PageError> {
    let me = viewer.require_user()?;
    let list = uploads::list_mine(&platform.db, me.id, LIST_LIMIT).await?;
    let added = added.and_then(|k| list.iter().find(|u| u.key == k).cloned());
    platform.render(
        viewer,
        "uploads.html",
        context! { uploads => list, added => added, upload_error => error, per_day => UPLOADS_PER_DAY },
    )
}

/// The page's form (works without JavaScript): the picture is stored and the page shows the
/// markdown to put in a post.
async fn uploads_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?.clone();
    let result = match read_picture_form(multipart, &viewer).await? {
        Err(e) => Err(e),
        Ok(f) => add_picture(&platform, &me, &f.filename, f.data).await,
    };
    match result {
        Ok(info) => Ok(see_other(&format!("/uploads?added={}#added", info.key))),
        Err(e) => refused(&viewer, e, |text| render_uploads(&platform, &viewer, None, Some(text))).await,
    }
}

/// A refused picture: the page again with the reason next to the file field (its status
/// kept), or the error page for what is not about the picture (a database failure).
async fn refused<F, Fut>(viewer: &Viewer, e: ApiError, page: F) -> Result<Response, PageError>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<Html<String>, PageError>>,
{
    if e.status.is_server_error() {
        return Err(e.into());
    }
    let text = crate::error::ErrorPage(std::sync::Arc::new(e.clone())).text(viewer.lang);
    Ok((e.status, page(text).await?).into_response())
}

async fn delete_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    PagePath(key): PagePath<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    if !uploads::is_key(&key) || !uploads::delete_mine(&platform.db, me.id, &key).await? {
        return Err(PageError::not_found());
    }
    Ok(see_other("/uploads"))
}

/// A new avatar: the centre square of the picture, 256 and 64 px.
async fn avatar_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?.clone();
    let file = read_picture_form(multipart, &viewer).await?;
    let result = async {
        let file = file?;
        check_quota(&platform, &me).await?;
        let size = file.data.len();
        let processed = process(file.data, Shape::Avatar).await?;
        uploads::set_avatar(&platform.db, me.id, size, &processed, day_limit(&me))
            .await?
            .ok_or_else(quota_error)?;
        platform.auth_cache.drop_account(me.id);
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(see_other("/settings?avatar=1#avatar")),
        Err(e) => {
            refused(&viewer, e, |text| {
                crate::accounts_web::settings_with(&platform, &viewer, context! { avatar_error => text })
            })
            .await
        }
    }
}

async fn avatar_remove_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    uploads::remove_avatar(&platform.db, me.id).await?;
    platform.auth_cache.drop_account(me.id);
    Ok(see_other("/settings?avatar=1#avatar"))
}
