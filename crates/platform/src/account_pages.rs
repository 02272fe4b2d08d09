//! The account's life after sign-up: e-mail verification, password reset and change, change of
//! address, signed-in devices, notification preferences and unsubscribing, and moderation
//! (suspend, silence, the audit log, the outbox) — pages and `/api/v1` endpoints.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use minijinja::context;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::accounts::{self, Sanction, TokenPurpose, User, Verified};
use crate::audit::{self, AuditEntry};
use crate::auth;
use crate::error::{AccountError, ApiError, CommonError, ErrorBody, PageError};
use crate::i18n::Lang;
use crate::mail::{self, args, Delivery, Letter};
use crate::web::{
    self, see_other, ApiJson, ApiPath, ApiQuery, ApiUser, ClientIp, CsrfForm, EmptyForm, PagePath, PageQuery, Platform,
    Viewer, SESSION_COOKIE,
};

pub fn router() -> Router<Platform> {
    Router::new()
        .route("/account/verify/{token}", get(verify_page).post(verify_submit))
        .route("/account/forgot", get(forgot_page).post(forgot_submit))
        .route("/account/reset/{token}", get(reset_page).post(reset_submit))
        .route("/settings/verify", post(resend_verification_submit))
        .route("/settings/password", post(password_submit))
        .route("/settings/profile", post(profile_submit))
        .route("/settings/email", post(email_submit))
        .route("/settings/sessions", get(sessions_page))
        .route("/settings/sessions/end", post(end_session_submit))
        .route("/settings/sessions/end-others", post(end_others_submit))
        .route(
            "/settings/notifications",
            get(preferences_page).post(preferences_submit),
        )
        .route("/unsubscribe/{token}", get(unsubscribe_page).post(unsubscribe_submit))
        .route("/admin/mail", get(outbox_page))
        .route("/admin/jobs", get(jobs_page))
        .route("/admin/audit", get(audit_page))
        .route("/admin/users/{id}", get(moderate_page))
        .route("/admin/users/{id}/sanction", post(sanction_submit))
        .route("/admin/users/{id}/verify-email", post(verify_email_submit))
        .route("/admin/users/{id}/clear-profile", post(clear_profile_submit))
        .route("/api/v1/account/password-reset", post(api_password_reset))
        .route("/api/v1/audit", get(api_audit))
        .route(
            "/api/v1/users/{username}/sanctions/{kind}",
            put(api_sanction).delete(api_lift_sanction),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(api_password_reset, api_audit, api_sanction, api_lift_sanction),
    components(schemas(ResetRequest, Accepted, AuditEntry, SanctionRequest, SanctionState)),
    tags((name = "accounts", description = "Accounts, roles, API tokens and notifications"))
)]
pub struct AccountPagesApi;

/// The language of a member's mail: theirs if chosen, else the one given.
fn mail_lang(locale: Option<&str>, fallback: Lang) -> Lang {
    locale.and_then(Lang::parse).unwrap_or(fallback)
}

fn greeting(platform: &Platform, lang: Lang, name: &str) -> String {
    crate::i18n::fill(&platform.t(lang, "mail.greeting"), &args(&[("name", name)]))
}

/// The letter that asks to confirm an address (at sign-up, on request, or a new address).
pub fn verification_letter(
    platform: &Platform,
    lang: Lang,
    username: &str,
    email: &str,
    token: &str,
    change: bool,
) -> anyhow::Result<mail::Outgoing> {
    let link = platform.absolute(&format!("/account/verify/{token}"));
    let (subject, intro) = if change {
        ("mail.change_subject", "mail.change_intro")
    } else {
        ("mail.verify_subject", "mail.verify_intro")
    };
    let letter = Letter {
        greeting: greeting(platform, lang, username),
        paragraphs: vec![
            crate::i18n::fill(&platform.t(lang, intro), &args(&[("email", email)])),
            platform.t(lang, "mail.verify_ignore"),
        ],
        action: Some((platform.t(lang, "mail.verify_action"), link)),
        ..Letter::default()
    };
    platform.compose(
        mail::To {
            lang,
            user_id: None,
            address: email,
        },
        "verify_email",
        platform.t(lang, subject),
        letter,
        None,
    )
}

// ---------- verification ----------

async fn verify_page(
    State(platform): State<Platform>,
    viewer: Viewer,
    PagePath(token): PagePath<String>,
) -> Result<Response, PageError> {
    if !accounts::account_token_valid(&platform.db, &token, TokenPurpose::VerifyEmail).await? {
        return Err(AccountError::LinkInvalid.into());
    }
    Ok(platform
        .render(
            &viewer,
            "account_confirm.html",
            context! { action => format!("/account/verify/{token}"), title_key => "verify.title",
            intro_key => "verify.intro", button_key => "verify.button" },
        )?
        .into_response())
}

async fn verify_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    PagePath(token): PagePath<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let verified = accounts::verify_email(&platform.db, &token).await?;
    if let Verified::Address { user_id } | Verified::Changed { user_id, .. } = &verified {
        platform.auth_cache.drop_account(*user_id);
    }
    match verified {
        Verified::Invalid => Err(AccountError::LinkInvalid.into()),
        Verified::Taken => Err(AccountError::EmailTaken.into()),
        Verified::Address { .. } => message(&platform, &viewer, "verify.done_title", "verify.done", StatusCode::OK),
        Verified::Changed { user_id, old, new } => {
            // The old address is told, so a change made by someone else does not go unnoticed.
            if let Some(user) = accounts::find_by_id(&platform.db, user_id).await? {
                let details = accounts::details(&platform.db, user_id).await?;
                let lang = mail_lang(details.as_ref().and_then(|d| d.locale.as_deref()), viewer.lang);
                let letter = Letter {
                    greeting: greeting(&platform, lang, &user.username),
                    paragraphs: vec![
                        crate::i18n::fill(&platform.t(lang, "mail.changed_intro"), &args(&[("email", &new)])),
                        platform.t(lang, "mail.changed_not_you"),
                    ],
                    action: Some((
                        platform.t(lang, "mail.reset_action"),
                        platform.absolute("/account/forgot"),
                    )),
                    ..Letter::default()
                };
                let mut m = platform.compose(
                    mail::To {
                        lang,
                        user_id: Some(user_id),
                        address: &old,
                    },
                    "email_changed",
                    platform.t(lang, "mail.changed_subject"),
                    letter,
                    None,
                )?;
                m.user_id = Some(user_id);
                mail::enqueue(&platform.db.pool, &m, &platform.mail_host()).await?;
                platform.wake_mail();
            }
            message(
                &platform,
                &viewer,
                "verify.done_title",
                "verify.changed",
                StatusCode::OK,
            )
        }
    }
}

/// A short page that says one thing (done, sent, …).
fn message(
    platform: &Platform,
    viewer: &Viewer,
    title_key: &str,
    text_key: &str,
    status: StatusCode,
) -> Result<Response, PageError> {
    let page = platform.render(
        viewer,
        "account_message.html",
        context! { title_key => title_key, text_key => text_key },
    )?;
    Ok((status, page).into_response())
}

async fn resend_verification_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    let details = accounts::details(&platform.db, me.id)
        .await?
        .ok_or_else(PageError::sign_in)?;
    if details.email_verified {
        return Ok(see_other("/settings"));
    }
    if let Err(wait) = platform.reset_account_limiter.check(&format!("verify:{}", me.id)).await {
        return Err(ApiError::rate_limited(wait).into());
    }
    let lang = mail_lang(details.locale.as_deref(), viewer.lang);
    let token = auth::new_token();
    let m = verification_letter(&platform, lang, &me.username, &details.email, &token, false)?;
    let m = mail::Outgoing {
        user_id: Some(me.id),
        ..m
    };
    accounts::mail_link(
        &platform.db,
        me.id,
        TokenPurpose::VerifyEmail,
        &details.email,
        &token,
        &m,
        &platform.mail_host(),
    )
    .await?;
    platform.wake_mail();
    message(&platform, &viewer, "verify.sent_title", "verify.sent", StatusCode::OK)
}

// ---------- password reset ----------

#[derive(Deserialize, Default)]
struct ForgotForm {
    #[serde(default)]
    login: String,
}

async fn forgot_page(State(platform): State<Platform>, viewer: Viewer) -> Result<Html<String>, PageError> {
    platform.render(&viewer, "account_forgot.html", context! {})
}

/// Asks for a reset link for `login` (an address or a username). The answer is the same
/// whether or not an account matches, so the form tells nobody which addresses are registered;
/// requests are limited per requesting address and per account.
async fn request_reset(platform: &Platform, ip: &str, login: &str, lang: Lang) -> Result<(), ApiError> {
    platform
        .reset_ip_limiter
        .check(ip)
        .await
        .map_err(ApiError::rate_limited)?;
    let login = login.trim();
    if login.is_empty() || login.chars().count() > 254 {
        return Err(AccountError::EmailInvalid.into());
    }
    let Some((user, email, locale)) = accounts::find_for_reset(&platform.db, login).await? else {
        return Ok(());
    };
    // Past the account's budget the answer stays the same (no mail, no hint).
    if platform
        .reset_account_limiter
        .check(&format!("reset:{}", user.id))
        .await
        .is_err()
        || user.is_suspended()
    {
        return Ok(());
    }
    // The letter is written after the answer, so a known address does not answer later than an
    // unknown one.
    let platform = platform.clone();
    tokio::spawn(async move {
        if let Err(e) = write_reset_letter(&platform, &user, &email, locale.as_deref(), lang).await {
            tracing::error!("writing a password-reset letter: {e:#}");
        }
    });
    Ok(())
}

async fn write_reset_letter(
    platform: &Platform,
    user: &User,
    email: &str,
    locale: Option<&str>,
    lang: Lang,
) -> anyhow::Result<()> {
    let lang = mail_lang(locale, lang);
    let token = auth::new_token();
    let link = platform.absolute(&format!("/account/reset/{token}"));
    let letter = Letter {
        greeting: greeting(platform, lang, &user.username),
        paragraphs: vec![
            platform.t(lang, "mail.reset_intro"),
            platform.t(lang, "mail.reset_ignore"),
        ],
        action: Some((platform.t(lang, "mail.reset_action"), link)),
        ..Letter::default()
    };
    let m = platform.compose(
        mail::To {
            lang,
            user_id: Some(user.id),
            address: email,
        },
        "reset_password",
        platform.t(lang, "mail.reset_subject"),
        letter,
        None,
    )?;
    accounts::mail_link(
        &platform.db,
        user.id,
        TokenPurpose::ResetPassword,
        email,
        &token,
        &m,
        &platform.mail_host(),
    )
    .await?;
    platform.wake_mail();
    Ok(())
}

async fn forgot_submit(
    State(platform): State<Platform>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<ForgotForm>,
) -> Result<Response, PageError> {
    match request_reset(&platform, &ip, &form.login, viewer.lang).await {
        Ok(()) => message(&platform, &viewer, "forgot.sent_title", "forgot.sent", StatusCode::OK),
        Err(e) => {
            let status = e.status;
            let page = platform.render(
                &viewer,
                "account_forgot.html",
                context! { error => e.text(viewer.lang), login => form.login },
            )?;
            Ok((status, page).into_response())
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct ResetRequest {
    /// The account's e-mail address or username.
    #[schema(min_length = 1, max_length = 254)]
    pub login: String,
}

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// Always the same sentence, whether or not an account matched.
    pub message: String,
}

#[utoipa::path(post, path = "/api/v1/account/password-reset", tag = "accounts", request_body = ResetRequest,
    responses((status = 202, body = Accepted, description = "a link was mailed if an account matches"),
              (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn api_password_reset(
    State(platform): State<Platform>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ResetRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let lang = web::request_lang(&headers);
    request_reset(&platform, &ip, &req.login, lang).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            message: "If an account matches, a link valid for 30 minutes was mailed to its address.".into(),
        }),
    ))
}

async fn reset_page(
    State(platform): State<Platform>,
    viewer: Viewer,
    PagePath(token): PagePath<String>,
) -> Result<Html<String>, PageError> {
    if !accounts::account_token_valid(&platform.db, &token, TokenPurpose::ResetPassword).await? {
        return Err(AccountError::LinkInvalid.into());
    }
    platform.render(&viewer, "account_reset.html", context! { token => token })
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

fn check_new_password(password: &str, confirm: &str) -> Result<(), AccountError> {
    if password.chars().count() < 8 {
        return Err(AccountError::PasswordShort);
    }
    if password.chars().count() > 256 {
        return Err(AccountError::PasswordLong);
    }
    if password != confirm {
        return Err(AccountError::PasswordsDiffer);
    }
    Ok(())
}

/// Whether `current` is the member's password. Guesses (from a borrowed session) share the
/// account's sign-in budget: past it, 429.
async fn current_password_ok(platform: &Platform, me: &User, current: &str) -> Result<bool, PageError> {
    platform
        .login_account_limiter
        .check(&format!("account:{}", me.id))
        .await
        .map_err(ApiError::rate_limited)?;
    let stored = accounts::password_hash(&platform.db, me.id)
        .await?
        .ok_or_else(PageError::sign_in)?;
    let current = current.to_string();
    Ok(
        tokio::task::spawn_blocking(move || auth::verify_password(&current, &stored))
            .await
            .map_err(ApiError::internal)?,
    )
}

async fn hash(password: &str) -> Result<String, ApiError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

async fn reset_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    PagePath(token): PagePath<String>,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Result<Response, PageError> {
    if let Err(e) = check_new_password(&form.password, &form.confirm) {
        let page = platform.render(
            &viewer,
            "account_reset.html",
            context! { token => token, error => e.spec().text(viewer.lang) },
        )?;
        return Ok((e.spec().status, page).into_response());
    }
    let hashed = hash(&form.password).await?;
    let Some(user_id) = accounts::reset_password(&platform.db, &token, &hashed).await? else {
        return Err(AccountError::LinkInvalid.into());
    };
    // Every other session ended; this browser is signed in anew.
    crate::accounts_web::start_session(&platform, user_id, &headers, &ip, "/settings?reset=1").await
}

// ---------- settings: password, address ----------

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

async fn password_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    let fail = |e: AccountError| {
        let platform = &platform;
        let viewer = &viewer;
        async move {
            crate::accounts_web::settings_with(
                platform,
                viewer,
                context! { password_error => e.spec().text(viewer.lang) },
            )
            .await
            .map(|page| (e.spec().status, page).into_response())
        }
    };
    if let Err(e) = check_new_password(&form.password, &form.confirm) {
        return fail(e).await;
    }
    if !current_password_ok(&platform, me, &form.current).await? {
        return fail(AccountError::WrongPassword).await;
    }
    let hashed = hash(&form.password).await?;
    accounts::change_password(&platform.db, me.id, &hashed, web::cookie(&headers, SESSION_COOKIE)).await?;
    Ok(see_other("/settings?password=1"))
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    current: String,
}

async fn email_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    let email = form.email.trim().to_string();
    let fail = |e: AccountError| {
        let email = email.clone();
        let platform = &platform;
        let viewer = &viewer;
        async move {
            crate::accounts_web::settings_with(
                platform,
                viewer,
                context! { email_error => e.spec().text(viewer.lang), new_email => email },
            )
            .await
            .map(|page| (e.spec().status, page).into_response())
        }
    };
    if !auth::valid_email(&email) {
        return fail(AccountError::EmailInvalid).await;
    }
    let details = accounts::details(&platform.db, me.id)
        .await?
        .ok_or_else(PageError::sign_in)?;
    if details.email.eq_ignore_ascii_case(&email) {
        return fail(AccountError::SameEmail).await;
    }
    if let Err(wait) = platform.reset_account_limiter.check(&format!("email:{}", me.id)).await {
        return Err(ApiError::rate_limited(wait).into());
    }
    if !current_password_ok(&platform, me, &form.current).await? {
        return fail(AccountError::WrongPassword).await;
    }
    // An address another account uses gets the same answer and no letter: the form must not
    // tell a member which addresses are registered.
    if accounts::email_registered(&platform.db, &email).await? {
        return message(&platform, &viewer, "verify.sent_title", "email.sent", StatusCode::OK);
    }
    let lang = mail_lang(details.locale.as_deref(), viewer.lang);
    let token = auth::new_token();
    let m = verification_letter(&platform, lang, &me.username, &email, &token, true)?;
    let m = mail::Outgoing {
        user_id: Some(me.id),
        ..m
    };
    accounts::mail_link(
        &platform.db,
        me.id,
        TokenPurpose::VerifyEmail,
        &email,
        &token,
        &m,
        &platform.mail_host(),
    )
    .await?;
    platform.wake_mail();
    message(&platform, &viewer, "verify.sent_title", "email.sent", StatusCode::OK)
}

// ---------- profile ----------

#[derive(Deserialize)]
struct ProfileForm {
    #[serde(default)]
    bio: String,
    #[serde(default)]
    display_name: String,
}

/// The display name and bio on the member's profile: a name of at most 40 characters that
/// does not look like another member's username, a bio of at most 500 with its line breaks.
/// Every problem is said at once, next to its field, and what was typed stays.
async fn profile_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    let bio = crate::text::multiline(form.bio.trim());
    let bio_error = (bio.chars().count() > 500).then_some(AccountError::BioTooLong);
    let display_name = accounts::clean_display_name(&form.display_name);
    let name_error = match &display_name {
        Err(e) => Some(*e),
        Ok(Some(name)) if accounts::display_name_impersonates(&platform.db, me.id, name).await? => {
            Some(AccountError::DisplayNameLooksLike)
        }
        Ok(_) => None,
    };
    if bio_error.is_some() || name_error.is_some() {
        let page = crate::accounts_web::settings_with(
            &platform,
            &viewer,
            context! {
                bio_error => bio_error.map(|e| e.spec().text(viewer.lang)),
                name_error => name_error.map(|e| e.spec().text(viewer.lang)),
                bio => form.bio,
                display_name => form.display_name,
            },
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let display_name = display_name.ok().flatten();
    accounts::set_profile(&platform.db, me.id, &bio, display_name.as_deref()).await?;
    platform.auth_cache.drop_account(me.id);
    Ok(see_other("/settings?profile=1"))
}

// ---------- sessions ----------

async fn sessions_page(
    State(platform): State<Platform>,
    viewer: Viewer,
    headers: HeaderMap,
) -> Result<Html<String>, PageError> {
    let me = viewer.require_user()?;
    let sessions = accounts::list_sessions(&platform.db, me.id, web::cookie(&headers, SESSION_COOKIE)).await?;
    let sessions: Vec<_> = sessions
        .into_iter()
        .map(|s| context! { device => describe_agent(s.user_agent.as_deref()), ..minijinja::Value::from_serialize(&s) })
        .collect();
    platform.render(&viewer, "account_sessions.html", context! { sessions => sessions })
}

/// "Firefox on Android" from a User-Agent, as far as it can be told.
fn describe_agent(agent: Option<&str>) -> String {
    let Some(a) = agent else { return "?".into() };
    let browser = [
        ("Edg/", "Edge"),
        ("MicroMessenger", "WeChat"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(needle, _)| a.contains(needle))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| a.contains(needle))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} · {s}"),
        (Some(b), None) => b.to_string(),
        (None, Some(s)) => s.to_string(),
        (None, None) => a.chars().take(60).collect(),
    }
}

#[derive(Deserialize)]
struct SessionForm {
    #[serde(default)]
    id: String,
}

async fn end_session_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<SessionForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    if !accounts::end_session(&platform.db, me.id, &form.id).await? {
        return Err(PageError::not_found());
    }
    Ok(see_other("/settings/sessions"))
}

async fn end_others_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    accounts::end_other_sessions(&platform.db.pool, me.id, web::cookie(&headers, SESSION_COOKIE)).await?;
    Ok(see_other("/settings/sessions"))
}

// ---------- notification preferences ----------

async fn preferences_page(State(platform): State<Platform>, viewer: Viewer) -> Result<Response, PageError> {
    render_preferences(&platform, &viewer, None).await
}

async fn render_preferences(platform: &Platform, viewer: &Viewer, saved: Option<bool>) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    let prefs = mail::preferences(&platform.db, me.id).await?;
    let details = accounts::details(&platform.db, me.id)
        .await?
        .ok_or_else(PageError::sign_in)?;
    let rows: Vec<_> = prefs
        .iter()
        .map(|(k, d)| context! { kind => k.as_str(), delivery => d.as_str() })
        .collect();
    let deliveries: Vec<&str> = Delivery::ALL.iter().map(|d| d.as_str()).collect();
    let langs: Vec<_> = Lang::ALL
        .iter()
        .map(|l| context! { code => l.code(), name => l.native_name() })
        .collect();
    let mail_language = details.locale.clone().unwrap_or_else(|| viewer.lang.code().to_string());
    Ok(platform
        .render(
            viewer,
            "account_notifications.html",
            context! { rows => rows, deliveries => deliveries, details => details, langs => langs,
            mail_language => mail_language, saved => saved },
        )?
        .into_response())
}

/// The preferences form: `kind.<kind>=<delivery>` for each kind, `digest_every`, `mail_lang`.
async fn preferences_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    let mut chosen = Vec::new();
    for kind in mail::PREFERENCE_KINDS {
        if let Some(value) = form.get(&format!("kind.{}", kind.as_str())) {
            let d = Delivery::parse(value).ok_or_else(|| PageError::from(AccountError::UnknownDelivery))?;
            chosen.push((kind, d));
        }
    }
    let every = form.get("digest_every").map(String::as_str).unwrap_or("weekly");
    if every != "daily" && every != "weekly" {
        return Err(AccountError::UnknownDelivery.into());
    }
    let lang = form
        .get("mail_lang")
        .and_then(|l| Lang::parse(l))
        .unwrap_or(viewer.lang);
    let mut tx = platform.db.begin_write().await?;
    for (kind, d) in chosen {
        mail::set_preference(&mut *tx, me.id, kind, d).await?;
    }
    tx.commit().await?;
    accounts::set_mail_settings(&platform.db, me.id, lang.code(), every).await?;
    render_preferences(&platform, &viewer, Some(true)).await
}

// ---------- unsubscribe (RFC 8058) ----------

async fn unsubscribe_page(
    State(platform): State<Platform>,
    viewer: Viewer,
    PagePath(token): PagePath<String>,
) -> Result<Html<String>, PageError> {
    let u = mail::read_unsubscribe_token(&platform.config.csrf_key.0, &token).ok_or_else(PageError::not_found)?;
    let what = unsubscribe_label(&platform, viewer.lang, &u.kind);
    platform.render(
        &viewer,
        "account_unsubscribe.html",
        context! { token => token, what => what, done => false },
    )
}

fn unsubscribe_label(platform: &Platform, lang: Lang, kind: &str) -> String {
    if kind == "digest" {
        platform.t(lang, "prefs.digest")
    } else {
        platform.t(lang, &format!("kind.{kind}"))
    }
}

/// One click from a mail client (`List-Unsubscribe=One-Click`, no cookie, no CSRF token) or the
/// button of the page: the signed link is the proof.
async fn unsubscribe_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    PagePath(token): PagePath<String>,
) -> Result<Html<String>, PageError> {
    let u = mail::read_unsubscribe_token(&platform.config.csrf_key.0, &token).ok_or_else(PageError::not_found)?;
    mail::apply_unsubscribe(&platform.db, &u).await?;
    let what = unsubscribe_label(&platform, viewer.lang, &u.kind);
    platform.render(
        &viewer,
        "account_unsubscribe.html",
        context! { token => token, what => what, done => true },
    )
}

// ---------- the outbox ----------

async fn outbox_page(
    State(platform): State<Platform>,
    viewer: Viewer,
    PageQuery(p): PageQuery<web::PageParam>,
) -> Result<Html<String>, PageError> {
    let me = viewer.require_user()?;
    if !me.role.is_admin() {
        return Err(PageError::forbidden());
    }
    let (waiting, sent, failed) = mail::outbox_counts(&platform.db).await?;
    let items = mail::list_outbox(&platform.db, 50, p.offset(50)).await?;
    platform.render(
        &viewer,
        "admin_mail.html",
        context! { items => items, waiting => waiting, sent => sent, failed => failed,
        smtp => platform.config.smtp_configured,
        pager => web::pager(p.number(), 50, waiting + sent + failed) },
    )
}

async fn jobs_page(State(platform): State<Platform>, viewer: Viewer) -> Result<Html<String>, PageError> {
    let me = viewer.require_user()?;
    if !me.role.is_admin() {
        return Err(PageError::forbidden());
    }
    let jobs = crate::jobs::list(&platform.db).await?;
    platform.render(
        &viewer,
        "admin_jobs.html",
        context! { jobs => jobs, node => crate::jobs::NODE.as_str() },
    )
}

// ---------- the audit log ----------

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// An action (`user.suspend`) or a prefix ending in a dot (`user.`).
    #[param(max_length = 64)]
    pub action: Option<String>,
    /// The username of the staff member who acted.
    #[param(max_length = 64)]
    pub actor: Option<String>,
    /// Entries older than this id (the next page).
    pub before: Option<i64>,
}

fn audit_filter(q: &AuditQuery) -> audit::Filter {
    let clip = |s: &Option<String>| s.as_deref().map(|v| v.chars().take(64).collect::<String>());
    audit::Filter {
        action: clip(&q.action),
        actor: clip(&q.actor),
        before: q.before,
        ..audit::Filter::default()
    }
}

async fn audit_page(
    State(platform): State<Platform>,
    viewer: Viewer,
    PageQuery(q): PageQuery<AuditQuery>,
) -> Result<Html<String>, PageError> {
    let me = viewer.require_user()?;
    if !me.role.can_moderate() {
        return Err(AccountError::ModeratorsOnly.into());
    }
    let entries = audit::list(&platform.db, &audit_filter(&q), 50).await?;
    let actions = audit::actions(&platform.db).await?;
    let next = (entries.len() == 50).then(|| entries.last().map(|e| e.id)).flatten();
    let entries: Vec<_> = entries
        .iter()
        .map(|e| context! { detail_text => e.detail.to_string(), ..minijinja::Value::from_serialize(e) })
        .collect();
    platform.render(
        &viewer,
        "admin_audit.html",
        context! { entries => entries, actions => actions, action => q.action, actor => q.actor, next => next },
    )
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "accounts", params(AuditQuery),
    responses((status = 200, body = Vec<AuditEntry>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "a filter longer than 64 characters")),
    security(("bearer" = [])))]
async fn api_audit(
    State(platform): State<Platform>,
    ApiUser(me): ApiUser,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    if !me.role.can_moderate() {
        return Err(AccountError::ModeratorsOnly.into());
    }
    let too_long = |v: &Option<String>| v.as_deref().is_some_and(|s| s.chars().count() > 64);
    if too_long(&q.action) || too_long(&q.actor) {
        return Err(ApiError::validation("action and actor: at most 64 characters"));
    }
    Ok(Json(audit::list(&platform.db, &audit_filter(&q), 100).await?))
}

// ---------- suspend and silence ----------

const DAY_MS: i64 = 86_400_000;

/// Checks and applies a sanction (`until` `None` lifts it).
async fn apply_sanction(
    platform: &Platform,
    moderator: &User,
    target: &User,
    sanction: Sanction,
    days: Option<i64>,
    reason: &str,
) -> Result<(), ApiError> {
    if !moderator.role.can_moderate() {
        return Err(AccountError::ModeratorsOnly.into());
    }
    let until = match days {
        None => None,
        Some(d) => {
            if target.role.is_staff() {
                return Err(AccountError::NotStaffTarget.into());
            }
            if !(1..=3650).contains(&d) {
                return Err(AccountError::BadUntil.into());
            }
            let reason = reason.trim();
            if reason.is_empty() || reason.chars().count() > 500 {
                return Err(AccountError::ReasonNeeded.into());
            }
            Some(crate::db::now_ms() + d * DAY_MS)
        }
    };
    let reason = crate::text::single_line(reason.trim());
    accounts::sanction(&platform.db, moderator, target, sanction, until, &reason).await?;
    // At once on this node; the others read it in `auth_changes` within a second.
    platform.auth_cache.drop_account(target.id);
    Ok(())
}

async fn moderate_page(
    State(platform): State<Platform>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
) -> Result<Html<String>, PageError> {
    let me = viewer.require_user()?;
    if !me.role.can_moderate() {
        return Err(AccountError::ModeratorsOnly.into());
    }
    render_moderation(&platform, &viewer, id, context! {}).await
}

async fn render_moderation(
    platform: &Platform,
    viewer: &Viewer,
    id: i64,
    extra: minijinja::Value,
) -> Result<Html<String>, PageError> {
    let target = accounts::find_by_id(&platform.db, id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let details = accounts::details(&platform.db, id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let history = audit::list(
        &platform.db,
        &audit::Filter {
            target_kind: Some("user".into()),
            target_id: Some(id.to_string()),
            ..audit::Filter::default()
        },
        20,
    )
    .await?;
    platform.render(
        viewer,
        "admin_moderate.html",
        context! { target => web::user_badge(&target), target_id => id, details => details, history => history,
        staff_target => target.role.is_staff(), ..extra },
    )
}

/// A moderator vouches for a member's address (an installation without SMTP, a member whose
/// mail does not arrive); recorded in the audit log.
async fn verify_email_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let (me, target) = moderator_and_target(&platform, &viewer, id).await?;
    accounts::vouch_for_email(&platform.db, me.id, &target).await?;
    platform.auth_cache.drop_account(target.id);
    Ok(see_other(&format!("/admin/users/{id}")))
}

/// The moderator acting (403 for anyone else) and the member they act on (404 if none).
async fn moderator_and_target<'v>(
    platform: &Platform,
    viewer: &'v Viewer,
    id: i64,
) -> Result<(&'v User, User), PageError> {
    let me = viewer.require_user()?;
    if !me.role.can_moderate() {
        return Err(AccountError::ModeratorsOnly.into());
    }
    let target = accounts::find_by_id(&platform.db, id)
        .await?
        .ok_or_else(PageError::not_found)?;
    Ok((me, target))
}

/// A moderator removes a member's display name and avatar (an offensive picture, a name that
/// misleads).
async fn clear_profile_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let (me, target) = moderator_and_target(&platform, &viewer, id).await?;
    accounts::clear_profile(&platform.db, me.id, &target).await?;
    platform.auth_cache.drop_account(target.id);
    Ok(see_other(&format!("/admin/users/{id}")))
}

#[derive(Deserialize)]
struct SanctionForm {
    #[serde(default)]
    kind: String,
    /// Empty or `lift`: lift it.
    #[serde(default)]
    days: String,
    #[serde(default)]
    reason: String,
}

async fn sanction_submit(
    State(platform): State<Platform>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(form): CsrfForm<SanctionForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    let sanction = match form.kind.as_str() {
        "suspend" => Sanction::Suspend,
        "silence" => Sanction::Silence,
        _ => return Err(CommonError::UnknownChoice.into()),
    };
    let target = accounts::find_by_id(&platform.db, id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let days = match form.days.trim() {
        "" | "lift" => None,
        d => Some(d.parse::<i64>().map_err(|_| PageError::from(AccountError::BadUntil))?),
    };
    match apply_sanction(&platform, me, &target, sanction, days, &form.reason).await {
        Ok(()) => Ok(see_other(&format!("/admin/users/{id}"))),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
            let page = render_moderation(
                &platform,
                &viewer,
                id,
                context! { error => e.text(viewer.lang), kind => form.kind, days => form.days, reason => form.reason },
            )
            .await?;
            Ok((e.status, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct SanctionRequest {
    /// How long, in days (1–3650).
    #[schema(minimum = 1, maximum = 3650)]
    pub days: i64,
    /// Why: the member reads it.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct SanctionState {
    pub username: String,
    /// `suspend` or `silence`.
    pub kind: String,
    /// Until when (ms since the epoch); `None` once lifted.
    pub until: Option<i64>,
}

fn sanction_kind(kind: &str) -> Result<Sanction, ApiError> {
    match kind {
        "suspend" => Ok(Sanction::Suspend),
        "silence" => Ok(Sanction::Silence),
        _ => Err(ApiError::not_found("sanction")),
    }
}

#[utoipa::path(put, path = "/api/v1/users/{username}/sanctions/{kind}", tag = "accounts", request_body = SanctionRequest,
    params(("username" = String, Path), ("kind" = String, Path, description = "`suspend` or `silence`")),
    responses((status = 200, body = SanctionState), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn api_sanction(
    State(platform): State<Platform>,
    ApiUser(me): ApiUser,
    ApiPath((username, kind)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<SanctionRequest>,
) -> Result<Json<SanctionState>, ApiError> {
    if !me.role.can_moderate() {
        return Err(AccountError::ModeratorsOnly.into());
    }
    let sanction = sanction_kind(&kind)?;
    let target = accounts::find_by_username(&platform.db, &username)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    apply_sanction(&platform, &me, &target, sanction, Some(req.days), &req.reason).await?;
    let details = accounts::details(&platform.db, target.id).await?;
    let until = details.and_then(|d| match sanction {
        Sanction::Suspend => d.suspended_until,
        Sanction::Silence => d.silenced_until,
    });
    Ok(Json(SanctionState {
        username: target.username,
        kind: sanction.as_str().into(),
        until,
    }))
}

#[utoipa::path(delete, path = "/api/v1/users/{username}/sanctions/{kind}", tag = "accounts",
    params(("username" = String, Path), ("kind" = String, Path, description = "`suspend` or `silence`")),
    responses((status = 200, body = SanctionState), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn api_lift_sanction(
    State(platform): State<Platform>,
    ApiUser(me): ApiUser,
    ApiPath((username, kind)): ApiPath<(String, String)>,
) -> Result<Json<SanctionState>, ApiError> {
    if !me.role.can_moderate() {
        return Err(AccountError::ModeratorsOnly.into());
    }
    let sanction = sanction_kind(&kind)?;
    let target = accounts::find_by_username(&platform.db, &username)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    apply_sanction(&platform, &me, &target, sanction, None, "").await?;
    Ok(Json(SanctionState {
        username: target.username,
        kind: sanction.as_str().into(),
        until: None,
    }))
}
