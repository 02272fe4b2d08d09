//! Sign-up, sign-in, API tokens, roles and notifications: pages and `/api/v1` endpoints.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use minijinja::context;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::accounts::{self, ApiToken, CreateUserError, User};
use crate::auth::{self, Role};
use crate::error::{AccountError, ApiError, CommonError, ErrorBody, PageError};
use crate::i18n::Lang;
use crate::notifications::{self, NewNotification, Notification, NotificationKind};
use crate::web::{
    self, see_other, set_cookie, ApiJson, ApiJsonStrict, ApiPath, ApiQuery, ApiUser, ClientIp, CsrfForm, EmptyForm,
    NextParam, PageParam, PagePath, PageQuery, Platform, Viewer, LANG_COOKIE, SESSION_COOKIE,
};

pub fn router() -> Router<Platform> {
    Router::new()
        .route("/signup", get(signup_page).post(signup_submit))
        .route("/signin", get(signin_page).post(signin_submit))
        .route("/signout", post(signout))
        .route("/settings", get(settings_page))
        .route("/settings/tokens", post(token_create_submit))
        .route("/settings/time-zone", post(time_zone_submit))
        .route("/settings/tokens/{id}/revoke", post(token_revoke_submit))
        .route("/admin/users", get(admin_users_page))
        .route("/admin/users/{id}/role", post(role_submit))
        .route("/notifications", get(notifications_page))
        .route("/notifications/read", post(notifications_read_submit))
        .route("/lang/{code}", get(switch_lang))
        .route("/api/v1/users", post(api_signup).get(api_list_users))
        .route("/api/v1/tokens", post(api_create_token))
        .route("/api/v1/me", get(api_me))
        .route("/api/v1/users/{username}/role", put(api_set_role))
        .route("/api/v1/notifications", get(api_notifications))
        .route("/api/v1/notifications/read", post(api_notifications_read))
        .route("/api/v1/notifications/stream", get(api_notifications_stream))
        .merge(crate::account_pages::router())
        .merge(crate::uploads_web::router())
}

#[derive(OpenApi)]
#[openapi(
    paths(api_signup, api_create_token, api_me, api_list_users, api_set_role, api_notifications, api_notifications_read, api_notifications_stream),
    components(schemas(User, Role, ApiToken, Notification, ErrorBody, SignupRequest, TokenRequest, TokenCreated, RoleRequest, NotificationPage, ReadResult, UnreadCount)),
    tags((name = "accounts", description = "Accounts, roles, API tokens and notifications"))
)]
pub struct AccountsApi;

/// Counts a sign-in attempt per address, per (account, address) and per account; `Err` carries
/// the wait.
///
/// The account is the one [`accounts::find_login`] found for the login (trimmed, NFKC,
/// username or e-mail, any case), so spelling one login several ways shares one budget. The
/// per-account budget is ten times looser than the per-(account, address) one, so that a
/// stranger guessing from one address cannot lock the owner out, while guesses spread over many
/// addresses stay bounded.
async fn check_login_rate(
    platform: &Platform,
    ip: &str,
    login: &str,
    candidate: Option<&accounts::LoginCandidate>,
) -> Result<(), u64> {
    platform.login_ip_limiter.check(ip).await?;
    let account = match candidate {
        Some(c) => format!("account:{}", c.user.id),
        None => format!("unknown:{}", accounts::normalize_username(login).to_lowercase()),
    };
    platform.login_limiter.check(&format!("{account}|{ip}")).await?;
    platform.login_account_limiter.check(&account).await
}

/// Opens a session and sends the browser on to `next` with the session cookie set.
pub(crate) async fn start_session(
    platform: &Platform,
    user_id: i64,
    headers: &HeaderMap,
    ip: &str,
    next: &str,
) -> Result<Response, PageError> {
    let device = accounts::Device {
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        ip: Some(ip.to_string()),
    };
    let token = accounts::create_session(&platform.db, user_id, &device).await?;
    let mut response = see_other(next);
    let (name, value) = session_cookie_header(platform, &token);
    response.headers_mut().append(name, value);
    Ok(response)
}

fn session_cookie_header(platform: &Platform, token: &str) -> (header::HeaderName, axum::http::HeaderValue) {
    (
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            token,
            accounts::SESSION_DAYS * 86_400,
            platform.config.secure_cookies,
        ),
    )
}

// ---------- sign-up ----------

#[derive(Deserialize, ToSchema)]
pub struct SignupRequest {
    /// 2–32 letters (any script), digits, `_`, `-` or `.`.
    #[schema(pattern = r"^[\w.\-]{2,32}$")]
    pub username: String,
    #[schema(
        pattern = r"^[^\s@\x00-\x20\x7f-\x9f]+@[^\s@.\x00-\x20\x7f-\x9f]([^\s@\x00-\x20\x7f-\x9f]*[^\s@.\x00-\x20\x7f-\x9f])?\.[^\s@.\x00-\x20\x7f-\x9f]([^\s@\x00-\x20\x7f-\x9f]*[^\s@.\x00-\x20\x7f-\x9f])?$",
        max_length = 254
    )]
    pub email: String,
    /// At least 8 characters; no NUL character.
    #[schema(min_length = 8, max_length = 256, pattern = r"^[^\x00]*$")]
    pub password: String,
}

#[derive(Deserialize)]
pub struct SignupForm {
    username: String,
    email: String,
    password: String,
    next: Option<String>,
}

/// Why a sign-up was refused: each field's problem (all at once), or a failure of ours.
enum Refused {
    Fields(Vec<(&'static str, AccountError)>),
    Internal(ApiError),
}

impl Refused {
    /// For the API: the first problem (a taken name or address first, as 409).
    fn into_api(self) -> ApiError {
        match self {
            Refused::Internal(e) => e,
            Refused::Fields(fields) => {
                let first = fields
                    .iter()
                    .find(|(_, e)| e.spec().status == StatusCode::CONFLICT)
                    .or(fields.first())
                    .map(|(_, e)| *e)
                    .unwrap_or(AccountError::UsernameLength);
                first.into()
            }
        }
    }
}

/// The first account created on an empty instance becomes its administrator. A letter asking to
/// confirm the address is written with the account, in the language of the sign-up.
async fn register(platform: &Platform, req: &SignupRequest, lang: Lang) -> Result<User, Refused> {
    let username = accounts::normalize_username(&req.username);
    let username = username.as_str();
    let email = req.email.trim();
    auth::validate_signup(username, email, &req.password)
        .map_err(|problems| Refused::Fields(problems.iter().map(|p| (p.field(), p.error())).collect()))?;
    let password = req.password.clone();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| Refused::Internal(ApiError::internal(e)))?
        .map_err(|e| Refused::Internal(ApiError::internal(e)))?;
    let role = match accounts::user_count(&platform.db).await {
        Ok(0) => Role::Admin,
        Ok(_) => Role::Fan,
        Err(e) => return Err(Refused::Internal(ApiError::internal(e))),
    };
    let token = auth::new_token();
    let letter = crate::account_pages::verification_letter(platform, lang, username, email, &token, false)
        .map_err(|e| Refused::Internal(ApiError::internal(e)))?;
    let verification = accounts::VerificationMail {
        token,
        mail: letter,
        message_host: platform.mail_host(),
    };
    let created = accounts::create_user(
        &platform.db,
        username,
        email,
        &hash,
        role,
        None,
        Some(lang.code()),
        Some(verification),
    )
    .await;
    match created {
        Ok(user) => {
            platform.wake_mail();
            Ok(user)
        }
        Err(CreateUserError::Taken) => {
            // The name first: when it is taken, nothing is said about the address, so the form
            // cannot be used to learn whether someone's e-mail is registered without an account
            // being created when it is not.
            let internal = |e: anyhow::Error| Refused::Internal(ApiError::internal(e));
            let name_taken = accounts::find_by_username(&platform.db, username)
                .await
                .map_err(internal)?
                .is_some();
            let email_taken = !name_taken
                && accounts::email_registered(&platform.db, email)
                    .await
                    .map_err(internal)?;
            // Neither exactly: a look-alike of an existing name.
            Err(Refused::Fields(vec![if email_taken {
                ("email", AccountError::EmailTaken)
            } else {
                ("username", AccountError::UsernameTaken)
            }]))
        }
        Err(CreateUserError::Other(e)) => Err(Refused::Internal(ApiError::internal(format!("sign-up failed: {e:#}")))),
    }
}

async fn signup_page(
    State(platform): State<Platform>,
    viewer: Viewer,
    PageQuery(q): PageQuery<NextParam>,
) -> Result<Html<String>, PageError> {
    platform.render(
        &viewer,
        "signup.html",
        context! { next => web::safe_next(q.next.as_deref()) },
    )
}

async fn signup_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    CsrfForm(form): CsrfForm<SignupForm>,
) -> Result<Response, PageError> {
    let req = SignupRequest {
        username: form.username.clone(),
        email: form.email.clone(),
        password: form.password,
    };
    let next = web::safe_next(form.next.as_deref());
    match register(&platform, &req, viewer.lang).await {
        Ok(user) => start_session(&platform, user.id, &headers, &ip, &next).await,
        Err(Refused::Internal(e)) => Err(e.into()),
        Err(Refused::Fields(fields)) => {
            let status = if fields.iter().any(|(_, e)| e.spec().status == StatusCode::CONFLICT) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let errors: std::collections::BTreeMap<&str, &str> = fields
                .iter()
                .map(|(field, e)| (*field, e.spec().text(viewer.lang)))
                .collect();
            let page = platform.render(
                &viewer,
                "signup.html",
                context! {
                    errors => errors,
                    email_taken => fields.iter().any(|(_, e)| *e == AccountError::EmailTaken),
                    username => form.username,
                    email => form.email,
                    next => next,
                },
            )?;
            Ok((status, page).into_response())
        }
    }
}

#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = SignupRequest,
    responses((status = 201, body = User), (status = 400, body = ErrorBody, description = "a NUL character in the body"),
              (status = 409, body = ErrorBody, description = "username or email taken"), (status = 422, body = ErrorBody)))]
async fn api_signup(
    State(platform): State<Platform>,
    headers: HeaderMap,
    ApiJsonStrict(req): ApiJsonStrict<SignupRequest>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    match register(&platform, &req, web::request_lang(&headers)).await {
        Ok(user) => Ok((StatusCode::CREATED, Json(user))),
        Err(refused) => Err(refused.into_api()),
    }
}

// ---------- sign-in / sign-out ----------

#[derive(Deserialize)]
pub struct SigninForm {
    login: String,
    password: String,
    next: Option<String>,
}

async fn signin_page(
    State(platform): State<Platform>,
    viewer: Viewer,
    PageQuery(q): PageQuery<NextParam>,
) -> Result<Html<String>, PageError> {
    platform.render(
        &viewer,
        "signin.html",
        context! { next => web::safe_next(q.next.as_deref()) },
    )
}

enum CommonOrAccount {
    Common(CommonError),
    Account(AccountError),
}

async fn signin_submit(
    State(platform): State<Platform>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<SigninForm>,
) -> Result<Response, PageError> {
    let next = web::safe_next(form.next.as_deref());
    let fail = |status: StatusCode, error: CommonOrAccount| -> Result<Response, PageError> {
        let text = match error {
            CommonOrAccount::Common(e) => e.spec().text(viewer.lang),
            CommonOrAccount::Account(e) => e.spec().text(viewer.lang),
        };
        let page = platform.render(
            &viewer,
            "signin.html",
            context! { error => text, login => form.login.clone(), next => next.clone() },
        )?;
        Ok((status, page).into_response())
    };
    let candidate = accounts::find_login(&platform.db, &form.login).await?;
    if let Err(wait) = check_login_rate(&platform, &ip, &form.login, candidate.as_ref()).await {
        let mut response = fail(
            StatusCode::TOO_MANY_REQUESTS,
            CommonOrAccount::Common(CommonError::RateLimited),
        )?;
        response.headers_mut().insert(header::RETRY_AFTER, wait.into());
        return Ok(response);
    }
    match accounts::check_password(candidate, &form.password).await? {
        // A suspended member is told why and until when (only with the right password).
        Some(user) if user.is_suspended() => {
            let (until, reason) = accounts::suspension(&platform.db, user.id).await?.unwrap_or_default();
            let text = web::suspended_error(until, reason).text(viewer.lang);
            let page = platform.render(
                &viewer,
                "signin.html",
                context! { error => text, login => form.login.clone(), next => next.clone() },
            )?;
            Ok((StatusCode::FORBIDDEN, page).into_response())
        }
        Some(user) => start_session(&platform, user.id, &headers, &ip, &next).await,
        None => fail(
            StatusCode::UNAUTHORIZED,
            CommonOrAccount::Account(AccountError::BadLogin),
        ),
    }
}

async fn signout(
    State(platform): State<Platform>,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    if let Some(token) = web::cookie(&headers, SESSION_COOKIE) {
        accounts::delete_session(&platform.db, token).await?;
    }
    let mut response = see_other("/");
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, platform.config.secure_cookies),
    );
    Ok(response)
}

// ---------- API tokens ----------

#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Username or email.
    pub login: String,
    /// No NUL character.
    #[schema(pattern = r"^[^\x00]*$")]
    pub password: String,
    /// A label to recognise the token by, e.g. "release script".
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 64)]
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenCreated {
    /// Shown once; send it as `Authorization: Bearer <token>`.
    pub token: String,
    pub info: ApiToken,
    pub user: User,
}

fn token_name(name: Option<&str>) -> Result<String, ApiError> {
    let name = name.unwrap_or("api").trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AccountError::TokenName.into());
    }
    Ok(name.to_string())
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts", request_body = TokenRequest,
    responses((status = 201, body = TokenCreated), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn api_create_token(
    State(platform): State<Platform>,
    ClientIp(ip): ClientIp,
    ApiJsonStrict(req): ApiJsonStrict<TokenRequest>,
) -> Result<(StatusCode, Json<TokenCreated>), ApiError> {
    let name = token_name(req.name.as_deref())?;
    let candidate = accounts::find_login(&platform.db, &req.login).await?;
    check_login_rate(&platform, &ip, &req.login, candidate.as_ref())
        .await
        .map_err(ApiError::rate_limited)?;
    let user = accounts::check_password(candidate, &req.password)
        .await?
        .ok_or_else(|| ApiError::from(AccountError::BadLogin))?;
    if let Some(until) = user.suspended_until {
        let reason = accounts::suspension(&platform.db, user.id)
            .await?
            .map(|(_, r)| r)
            .unwrap_or_default();
        return Err(web::suspended_error(until, reason));
    }
    let (info, token) = accounts::create_api_token(&platform.db, user.id, &name).await?;
    Ok((StatusCode::CREATED, Json(TokenCreated { token, info, user })))
}

#[derive(Deserialize)]
pub struct TokenForm {
    name: String,
}

#[derive(Deserialize, Default)]
struct SettingsQuery {
    /// Set after a change, to say it was saved.
    password: Option<String>,
    reset: Option<String>,
    profile: Option<String>,
    avatar: Option<String>,
}

async fn settings_page(
    State(platform): State<Platform>,
    viewer: Viewer,
    PageQuery(q): PageQuery<SettingsQuery>,
) -> Result<Html<String>, PageError> {
    settings_with(
        &platform,
        &viewer,
        context! { password_changed => q.password.is_some(), after_reset => q.reset.is_some(),
        profile_saved => q.profile.is_some(), avatar_saved => q.avatar.is_some() },
    )
    .await
}

async fn render_settings(
    platform: &Platform,
    viewer: &Viewer,
    new_token: Option<String>,
) -> Result<Html<String>, PageError> {
    settings_with(platform, viewer, context! { new_token => new_token }).await
}

/// The settings page with `extra` in its context (a form's error and what was typed).
pub(crate) async fn settings_with(
    platform: &Platform,
    viewer: &Viewer,
    extra: minijinja::Value,
) -> Result<Html<String>, PageError> {
    let user = viewer.require_user()?;
    let details = accounts::details(&platform.db, user.id)
        .await?
        .ok_or_else(PageError::sign_in)?;
    let tokens = accounts::list_api_tokens(&platform.db, user.id).await?;
    let chosen = viewer.profile_zone.clone();
    let mut zones: Vec<String> = crate::locale::COMMON_ZONES.iter().map(|z| z.to_string()).collect();
    for z in [chosen.clone(), Some(viewer.tz.clone())].into_iter().flatten() {
        if !zones.contains(&z) {
            zones.insert(0, z);
        }
    }
    let now = crate::db::now_ms();
    let zones: Vec<_> = zones
        .iter()
        .map(|z| context! { name => z, offset => crate::locale::offset_label(now, z) })
        .collect();
    platform.render(
        viewer,
        "settings.html",
        context! { tokens => tokens, zones => zones, chosen_zone => chosen, details => details, my_bio => user.bio.clone(),
        my_display_name => user.display_name.clone(), my_avatar => user.avatar_url.clone(),
        require_verified => platform.config.require_verified_email, ..extra },
    )
}

#[derive(Deserialize)]
struct ZoneForm {
    #[serde(default)]
    time_zone: String,
}

/// Saves the account's time zone; empty follows the device.
async fn time_zone_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<ZoneForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    let zone = match form.time_zone.trim() {
        "" => None,
        name => Some(crate::locale::known_zone(name).ok_or_else(|| PageError::from(AccountError::UnknownZone))?),
    };
    accounts::set_time_zone(&platform.db, user.id, zone.as_deref()).await?;
    Ok(see_other("/settings"))
}

async fn token_create_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    let name = token_name(Some(&form.name))?;
    let (_, token) = accounts::create_api_token(&platform.db, user.id, &name).await?;
    Ok(render_settings(&platform, &viewer, Some(token)).await?.into_response())
}

async fn token_revoke_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    if !accounts::revoke_api_token(&platform.db, user.id, id).await? {
        return Err(PageError::not_found());
    }
    // At once on this node; the others read it in `auth_changes` within a second.
    platform.auth_cache.drop_account(user.id);
    Ok(see_other("/settings"))
}

#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, body = User), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn api_me(ApiUser(user): ApiUser) -> Json<User> {
    Json(user)
}

// ---------- roles ----------

#[derive(Deserialize, ToSchema)]
pub struct RoleRequest {
    pub role: Role,
    /// Team shown next to a staff badge; ignored for fan roles.
    pub team: Option<String>,
}

async fn change_role(
    platform: &Platform,
    admin: &User,
    target_id: i64,
    role: Role,
    team: Option<&str>,
) -> Result<User, ApiError> {
    if !admin.role.is_admin() {
        return Err(AccountError::AdminsOnlyRoles.into());
    }
    if admin.id == target_id && role != Role::Admin {
        return Err(AccountError::SelfDemote.into());
    }
    if team.is_some_and(|t| t.chars().count() > 64) {
        return Err(AccountError::TeamTooLong.into());
    }
    let user = accounts::set_role(&platform.db, target_id, role, team, admin.id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    platform.auth_cache.drop_account(user.id);
    notifications::notify(
        &platform.db.pool,
        &NewNotification {
            user_id: user.id,
            kind: NotificationKind::RoleChanged,
            actor_id: Some(admin.id),
            subject: role.as_str(),
            link: &format!("/u/{}", user.username),
            detail: None,
        },
    )
    .await?;
    Ok(user)
}

#[utoipa::path(put, path = "/api/v1/users/{username}/role", tag = "accounts", request_body = RoleRequest,
    params(("username" = String, Path)),
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "an administrator demoting themselves")),
    security(("bearer" = [])))]
async fn api_set_role(
    State(platform): State<Platform>,
    ApiUser(admin): ApiUser,
    ApiPath(username): ApiPath<String>,
    ApiJson(req): ApiJson<RoleRequest>,
) -> Result<Json<User>, ApiError> {
    if !admin.role.is_admin() {
        return Err(AccountError::AdminsOnlyRoles.into());
    }
    let target = accounts::find_by_username(&platform.db, &username)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(Json(
        change_role(&platform, &admin, target.id, req.role, req.team.as_deref()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "accounts", params(PageParam),
    responses((status = 200, body = Vec<User>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn api_list_users(
    State(platform): State<Platform>,
    ApiUser(me): ApiUser,
    ApiQuery(p): ApiQuery<PageParam>,
) -> Result<Json<Vec<User>>, ApiError> {
    if !me.role.is_admin() {
        return Err(AccountError::AdminsOnlyList.into());
    }
    Ok(Json(accounts::list_users(&platform.db, p.offset(100), 100).await?))
}

const USERS_PER_PAGE: i64 = 50;

async fn admin_users_page(
    State(platform): State<Platform>,
    viewer: Viewer,
    PageQuery(p): PageQuery<PageParam>,
) -> Result<Html<String>, PageError> {
    let me = viewer.require_user()?;
    if !me.role.is_admin() {
        return Err(PageError::forbidden());
    }
    let users = accounts::list_users(&platform.db, p.offset(USERS_PER_PAGE), USERS_PER_PAGE).await?;
    let total = accounts::user_count(&platform.db).await?;
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    platform.render(
        &viewer,
        "admin_users.html",
        context! { users => users, roles => roles, pager => web::pager(p.number(), USERS_PER_PAGE, total) },
    )
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
    team: Option<String>,
}

async fn role_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    let role = Role::parse(&form.role).ok_or_else(|| PageError::from(CommonError::UnknownChoice))?;
    change_role(&platform, me, id, role, form.team.as_deref()).await?;
    Ok(see_other("/admin/users"))
}

// ---------- notifications ----------

const NOTIFICATIONS_PER_PAGE: i64 = 30;

#[derive(Serialize, ToSchema)]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    pub total: i64,
    pub unread: i64,
    pub page: i64,
}

/// The number of unread notifications, as the live stream sends it.
#[derive(Serialize, ToSchema, Clone, PartialEq)]
pub struct UnreadCount {
    pub unread: i64,
}

/// The caller's unread count, live: sent at once, then whenever it changes (a notification
/// written on any node reaches the stream within about a second).
#[utoipa::path(get, path = "/api/v1/notifications/stream", tag = "accounts",
    responses((status = 200, description = "server-sent events: `unread` events carrying an UnreadCount as JSON", content_type = "text/event-stream"),
        (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn api_notifications_stream(
    State(platform): State<Platform>,
    ApiUser(me): ApiUser,
) -> axum::response::sse::Sse<impl futures::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>>
{
    use axum::response::sse::{Event, KeepAlive, Sse};
    use futures::StreamExt;
    let user_id = me.id;
    let db = platform.db.clone();
    let counts = crate::live::stream(
        &platform.live,
        move |e| *e == crate::live::LiveEvent::Notified { user_id },
        move || {
            let db = db.clone();
            async move {
                Ok(UnreadCount {
                    unread: notifications::unread_count(&db, user_id).await?,
                })
            }
        },
    );
    let events = counts.map(|c| Ok(Event::default().event("unread").json_data(&c).unwrap_or_default()));
    Sse::new(crate::live::bounded(events)).keep_alive(KeepAlive::default())
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "accounts", params(PageParam),
    responses((status = 200, body = NotificationPage), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn api_notifications(
    State(platform): State<Platform>,
    ApiUser(me): ApiUser,
    ApiQuery(p): ApiQuery<PageParam>,
) -> Result<Json<NotificationPage>, ApiError> {
    let (items, total) = notifications::list(
        &platform.db,
        me.id,
        p.offset(NOTIFICATIONS_PER_PAGE),
        NOTIFICATIONS_PER_PAGE,
    )
    .await?;
    let unread = notifications::unread_count(&platform.db, me.id).await?;
    Ok(Json(NotificationPage {
        items,
        total,
        unread,
        page: p.number(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ReadResult {
    pub marked: u64,
}

#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "accounts",
    responses((status = 200, body = ReadResult), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn api_notifications_read(
    State(platform): State<Platform>,
    ApiUser(me): ApiUser,
) -> Result<Json<ReadResult>, ApiError> {
    Ok(Json(ReadResult {
        marked: notifications::mark_all_read(&platform.db, me.id).await?,
    }))
}

async fn notifications_page(
    State(platform): State<Platform>,
    viewer: Viewer,
    PageQuery(p): PageQuery<PageParam>,
) -> Result<Html<String>, PageError> {
    let me = viewer.require_user()?;
    let (items, total) = notifications::list(
        &platform.db,
        me.id,
        p.offset(NOTIFICATIONS_PER_PAGE),
        NOTIFICATIONS_PER_PAGE,
    )
    .await?;
    // What this page shows is read: the bell clears (the rows stay highlighted this once).
    let shown: Vec<i64> = items.iter().filter(|n| !n.read).map(|n| n.id).collect();
    let cleared = notifications::mark_shown_read(&platform.db, me.id, &shown).await?;
    let mut viewer = viewer;
    viewer.unread = (viewer.unread - cleared as i64).max(0);
    platform.render(
        &viewer,
        "notifications.html",
        context! { items => group_repeats(items), pager => web::pager(p.number(), NOTIFICATIONS_PER_PAGE, total) },
    )
}

/// One row per run of notifications about the same thing (four status changes of one request
/// in a row are one row, "×4", showing the newest).
fn group_repeats(items: Vec<Notification>) -> Vec<minijinja::Value> {
    let mut rows: Vec<(Notification, usize)> = Vec::new();
    for n in items {
        match rows.last_mut() {
            Some((last, count)) if last.kind == n.kind && last.link == n.link && last.subject == n.subject => {
                *count += 1;
                last.read &= n.read;
            }
            _ => rows.push((n, 1)),
        }
    }
    rows.into_iter()
        .map(|(n, count)| context! { count => count, ..minijinja::Value::from_serialize(&n) })
        .collect()
}

#[derive(Deserialize)]
pub struct ReadForm {
    id: Option<i64>,
    next: Option<String>,
}

async fn notifications_read_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<ReadForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    match form.id {
        Some(id) => {
            notifications::mark_read(&platform.db, me.id, id).await?;
        }
        None => {
            notifications::mark_all_read(&platform.db, me.id).await?;
        }
    }
    Ok(see_other(&web::safe_next(
        form.next.as_deref().or(Some("/notifications")),
    )))
}

// ---------- language ----------

async fn switch_lang(
    State(platform): State<Platform>,
    PagePath(code): PagePath<String>,
    PageQuery(q): PageQuery<NextParam>,
) -> Result<Response, PageError> {
    let lang = Lang::parse(&code).ok_or_else(PageError::not_found)?;
    let mut response = see_other(&web::safe_next(q.next.as_deref()));
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LANG_COOKIE, lang.code(), 365 * 86_400, platform.config.secure_cookies),
    );
    Ok(response)
}
