//! The web shell every pillar plugs into: shared state, templates, the visitor's identity and
//! language, CSRF protection, and request extractors that turn bad input into clear 4xx answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, Response};
use minijinja::{context, Environment, State, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::accounts::{self, User};
use crate::auth;
use crate::db::Db;
use crate::error::{AccountError, ApiError, Arg, CommonError, ErrorPage, PageError};
use crate::i18n::{Catalog, Lang, MessageTable};
use crate::notifications;
use crate::ratelimit::RateLimiter;

pub const SESSION_COOKIE: &str = "fl_session";
pub const CSRF_COOKIE: &str = "fl_csrf";
pub const LANG_COOKIE: &str = "fl_lang";
/// The browser's time zone, written by app.js.
pub const TZ_COOKIE: &str = "fl_tz";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "_csrf";

/// Templates and messages contributed by one crate.
pub struct UiBundle {
    pub templates: &'static [(&'static str, &'static str)],
    pub messages: MessageTable,
}

#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark cookies `Secure`; turn on whenever fanloop is served over HTTPS. Requests that a
    /// proxy marks `X-Forwarded-Proto: https` get secure cookies either way.
    pub secure_cookies: bool,
    /// The installation's key for CSRF tokens (the same on every node).
    pub csrf_key: SecretKey,
    /// The address the site is reached at, for links in mail (`https://fans.example.com`).
    pub public_url: String,
    /// Members must prove their address before they post, vote or buy.
    pub require_verified_email: bool,
    /// Whether mail leaves (an SMTP server is configured) or waits in the outbox.
    pub smtp_configured: bool,
    /// API tokens this node keeps in memory once looked up (see `authcache`); 0 turns it off.
    pub auth_cache_tokens: usize,
}

/// Key material that never shows in logs.
#[derive(Clone)]
pub struct SecretKey(pub Arc<[u8]>);

impl SecretKey {
    /// A key for one process only (tools that serve no forms across restarts).
    pub fn random() -> SecretKey {
        SecretKey(Arc::from(hex::decode(auth::new_token()).unwrap_or_default()))
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

pub type PanelFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<Option<String>>> + Send + 'a>>;

/// A section another pillar adds to member profiles (e.g. the builds a fan's feedback shipped
/// in), so the community crate does not depend on the pillars that extend it.
pub trait ProfilePanel: Send + Sync {
    fn render<'a>(&'a self, platform: &'a Platform, lang: Lang, user: &'a User) -> PanelFuture<'a>;
}

/// State shared by every handler of every pillar.  One allocation behind an `Arc`: axum clones
/// the state for every extractor of every request, and a flash sale makes millions of requests.
#[derive(Clone)]
pub struct Platform(Arc<PlatformInner>);

impl std::ops::Deref for Platform {
    type Target = PlatformInner;
    fn deref(&self) -> &PlatformInner {
        &self.0
    }
}

pub struct PlatformInner {
    pub db: Db,
    pub templates: Arc<Environment<'static>>,
    pub catalog: Arc<Catalog>,
    pub login_limiter: Arc<RateLimiter>,
    pub login_ip_limiter: Arc<RateLimiter>,
    /// Sign-in attempts on one account from every address together.
    pub login_account_limiter: Arc<RateLimiter>,
    pub config: Arc<WebConfig>,
    profile_panels: Arc<std::sync::RwLock<Vec<Arc<dyn ProfilePanel>>>>,
    /// API-token uses waiting to be written (every 5 s).
    pub token_uses: Arc<accounts::TokenUses>,
    /// Batches API-token lookups (`None` outside a Tokio runtime: one query per lookup).
    pub tokens: Option<accounts::TokenResolver>,
    /// API tokens looked up lately, kept true by following `auth_changes` (see `authcache`).
    pub auth_cache: Arc<crate::authcache::AuthCache>,
    /// The sentence-embedding model, when installed (see `embed`); set once at start.
    embedder: std::sync::OnceLock<Arc<crate::embed::Embedder>>,
    /// Wakes the mail worker when mail or a notification was just written.
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// New notifications and posts, for the live counts of open pages (see `live`).
    pub live: crate::live::LiveFeed,
    /// Password-reset requests per address of the requester, and per account asked about.
    pub reset_ip_limiter: Arc<RateLimiter>,
    pub reset_account_limiter: Arc<RateLimiter>,
}

impl Platform {
    /// Shares the abuse limits (sign-in, password reset) across nodes through Redis.
    pub fn share_limits(&self, counters: &crate::ratelimit::SharedCounters) {
        for limiter in [
            &self.login_limiter,
            &self.login_ip_limiter,
            &self.login_account_limiter,
            &self.reset_ip_limiter,
            &self.reset_account_limiter,
        ] {
            limiter.share(counters.clone());
        }
    }

    pub fn new(db: Db, config: WebConfig, bundles: &[&UiBundle]) -> anyhow::Result<Platform> {
        let mut catalog = Catalog::default();
        for bundle in bundles {
            catalog.add(bundle.messages);
        }
        let catalog = Arc::new(catalog);
        let mut env = Environment::new();
        // A missing field on a fresh form (`f.extra[key]` before anything was typed) renders as
        // empty instead of failing the whole page.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        for bundle in bundles {
            for (name, source) in bundle.templates {
                env.add_template(name, source)?;
            }
        }
        let lookup = catalog.clone();
        env.add_function("t", move |state: &State, key: &str| -> String {
            let lang = state
                .lookup("lang")
                .and_then(|v| v.as_str().and_then(Lang::parse))
                .unwrap_or(Lang::En);
            lookup.get(lang, key).to_string()
        });
        // `tf(key, {name: value})`: a translated message with its `{name}` placeholders filled.
        let lookup = catalog.clone();
        env.add_function("tf", move |state: &State, key: &str, args: Value| -> String {
            let lang = state
                .lookup("lang")
                .and_then(|v| v.as_str().and_then(Lang::parse))
                .unwrap_or(Lang::En);
            let mut values = std::collections::BTreeMap::new();
            if let Ok(names) = args.try_iter() {
                for name in names {
                    if let Ok(value) = args.get_item(&name) {
                        values.insert(name.to_string(), value.to_string());
                    }
                }
            }
            crate::i18n::fill(lookup.get(lang, key), &values)
        });
        // Times in the reader's zone (`tz` in the page's context; UTC outside a page).
        fn reader(state: &State) -> (Lang, String) {
            let lang = state
                .lookup("lang")
                .and_then(|v| v.as_str().and_then(Lang::parse))
                .unwrap_or(Lang::En);
            let tz = state
                .lookup("tz")
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "UTC".into());
            (lang, tz)
        }
        env.add_filter("datetime", |state: &State, ms: i64| -> String {
            crate::locale::datetime(ms, &reader(state).1)
        });
        // For times a reader acts on: with the zone's offset.
        env.add_filter("datetime_zone", |state: &State, ms: i64| -> String {
            crate::locale::datetime_with_zone(ms, &reader(state).1)
        });
        // "3 小时前" with the exact time (and zone) on hover.
        env.add_filter("when", |state: &State, ms: i64| -> Value {
            let (lang, tz) = reader(state);
            let shown = crate::locale::relative(ms, crate::db::now_ms(), lang, &tz);
            let exact = crate::locale::datetime_with_zone(ms, &tz);
            Value::from_safe_string(format!(
                "<time datetime=\"{}\" title=\"{}\">{}</time>",
                format_iso(ms),
                exact,
                minijinja::HtmlEscape(&shown)
            ))
        });
        env.add_filter("count", |state: &State, n: i64| -> String {
            crate::locale::count(n, reader(state).0)
        });
        env.add_filter("money", |state: &State, cents: i64, currency: Option<&str>| -> String {
            crate::locale::money(cents, currency.unwrap_or("CNY"), reader(state).0)
        });
        env.add_filter("isodate", |ms: i64| -> String { format_iso(ms) });
        let token_uses = Arc::new(accounts::TokenUses::default());
        let auth_cache = Arc::new(crate::authcache::AuthCache::new(config.auth_cache_tokens));
        let mut tokens = None;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let _entered = runtime.enter();
            if config.auth_cache_tokens > 0 {
                auth_cache.clone().follow(db.clone());
            }
            tokens = Some(accounts::TokenResolver::start(
                db.clone(),
                token_uses.clone(),
                auth_cache.clone(),
            ));
            let (uses, db) = (token_uses.clone(), db.clone());
            runtime.spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    if let Err(e) = uses.flush_at_most(&db, 50_000).await {
                        tracing::warn!("writing API token uses: {e:#}");
                    }
                }
            });
        }
        Ok(Platform(Arc::new(PlatformInner {
            db,
            templates: Arc::new(env),
            catalog,
            login_limiter: Arc::new(RateLimiter::named("login", 10, Duration::from_secs(300))),
            login_ip_limiter: Arc::new(RateLimiter::named("login_ip", 300, Duration::from_secs(300))),
            login_account_limiter: Arc::new(RateLimiter::named("login_account", 100, Duration::from_secs(300))),
            config: Arc::new(config),
            profile_panels: Arc::default(),
            token_uses,
            tokens,
            auth_cache,
            embedder: std::sync::OnceLock::new(),
            mail_wake: Arc::new(tokio::sync::Notify::new()),
            live: crate::live::LiveFeed::default(),
            reset_ip_limiter: Arc::new(RateLimiter::named("reset_ip", 10, Duration::from_secs(900))),
            reset_account_limiter: Arc::new(RateLimiter::named("reset_account", 3, Duration::from_secs(900))),
        })))
    }

    /// Installs the embedding model (once; later calls are ignored).
    pub fn set_embedder(&self, model: Arc<crate::embed::Embedder>) {
        let _ = self.embedder.set(model);
    }

    /// The embedding model, if this installation has one: the semantic paths use it, the
    /// lexical ones stand in without it.
    pub fn embedder(&self) -> Option<Arc<crate::embed::Embedder>> {
        self.embedder.get().cloned()
    }

    /// Loads the model from `configured`, else from where [`Embedder::locate`] looks.  A
    /// configured file that does not load is an error; a missing default is not (the lexical
    /// paths work without it, and the log says so).
    ///
    /// [`Embedder::locate`]: crate::embed::Embedder::locate
    pub fn load_embedder(
        &self,
        configured: Option<&std::path::Path>,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<()> {
        let path = match configured {
            Some(p) => p.to_path_buf(),
            None => match crate::embed::Embedder::locate(data_dir) {
                Some(p) => p,
                None => {
                    tracing::info!(
                        "no embedding model ({}/models/e5-small-q4.bin or FANLOOP_EMBED_MODEL): duplicates and vetting use their lexical matchers",
                        data_dir.display()
                    );
                    return Ok(());
                }
            },
        };
        let started = std::time::Instant::now();
        let model = match crate::embed::Embedder::shared(&path) {
            Ok(m) => m,
            Err(e) if configured.is_none() => {
                tracing::warn!(
                    "the embedding model found at {} does not load ({e}): running lexically",
                    path.display()
                );
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        tracing::info!("embedding model {} loaded in {:.1?}", path.display(), started.elapsed());
        self.set_embedder(model);
        Ok(())
    }

    pub fn add_profile_panel(&self, panel: Arc<dyn ProfilePanel>) {
        self.profile_panels
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(panel);
    }

    /// HTML of every registered profile panel for `user`, in registration order.
    pub async fn profile_panels(&self, lang: Lang, user: &User) -> anyhow::Result<Vec<String>> {
        let panels: Vec<_> = self.profile_panels.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut out = Vec::new();
        for panel in panels {
            if let Some(html) = panel.render(self, lang, user).await? {
                out.push(html);
            }
        }
        Ok(out)
    }

    /// Renders a template on its own (no layout), e.g. a profile panel.
    pub fn render_fragment(&self, lang: Lang, name: &str, data: Value) -> anyhow::Result<String> {
        let template = self.templates.get_template(name)?;
        Ok(template.render(context! { lang => lang.code(), ..data })?)
    }

    pub fn t(&self, lang: Lang, key: &str) -> String {
        self.catalog.get(lang, key).to_string()
    }

    /// Renders a page inside the shared layout with the visitor's identity, language and CSRF token.
    pub fn render(&self, viewer: &Viewer, name: &str, page: Value) -> Result<Html<String>, PageError> {
        let template = self
            .templates
            .get_template(name)
            .map_err(|e| PageError::from(anyhow::anyhow!("template {name}: {e}")))?;
        let langs: Vec<_> = Lang::ALL
            .iter()
            .map(|l| context! { code => l.code(), name => l.native_name(), current => *l == viewer.lang })
            .collect();
        let ctx = context! {
            lang => viewer.lang.code(),
            tz => viewer.tz.clone(),
            html_lang => viewer.lang.html_tag(),
            langs => langs,
            me => viewer.user.as_ref().map(user_badge),
            unread => viewer.unread,
            csrf => viewer.csrf.clone(),
            path => viewer.path.clone(),
            ..page
        };
        template
            .render(ctx)
            .map(Html)
            .map_err(|e| PageError::from(anyhow::anyhow!("rendering {name}: {e}")))
    }
}

/// What templates need to show a user's name with their badge.
pub fn user_badge(user: &User) -> Value {
    context! {
        id => user.id,
        username => user.username.clone(),
        role => user.role.as_str(),
        team => user.team.clone(),
        display_name => user.display_name.clone(),
        avatar_url => user.avatar_url.clone(),
        is_staff => user.role.is_staff(),
        can_moderate => user.role.can_moderate(),
        is_admin => user.role.is_admin(),
    }
}

pub fn format_datetime(ms: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) else {
        return String::new();
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

pub fn format_iso(ms: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) else {
        return String::new();
    };
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value. Values are hex tokens or language codes; anything else is dropped
/// rather than failing the answer.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("fl_invalid=; Path=/; Max-Age=0"))
}

/// The CSRF token of this request's browser ([`auth::csrf_token`]), available to handlers
/// rendering forms and to the extractors checking them.
#[derive(Clone)]
pub struct CsrfToken(pub String);

/// Headers every answer carries: no inline script, no framing, no type sniffing, and a
/// referrer that does not leak paths to other sites.
const SECURITY_HEADERS: [(HeaderName, &str); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
         frame-ancestors 'none'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
    (
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    ),
];

/// An API answer is data, never a page to render or frame: the strict set OWASP's REST
/// cheat sheet gives, a fifth of the bytes of the pages' set (a flash sale sends a million).
const API_SECURITY_HEADERS: [(HeaderName, &str); 3] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
];

/// Cookie names are prefixed `__Host-` over HTTPS, so that no other site (a sibling
/// subdomain) can plant them.
const HOST_PREFIX: &str = "__Host-";

fn forwarded_https(headers: &HeaderMap) -> bool {
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("proto=https"));
    proto || forwarded
}

/// Over HTTPS only the `__Host-` cookies count: they are renamed to the plain names the code
/// reads, and plain `fl_*` cookies (which anyone on a sibling domain could set) are dropped.
fn keep_host_cookies(headers: &mut HeaderMap) {
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter_map(|pair| {
            if let Some(rest) = pair.strip_prefix(HOST_PREFIX) {
                Some(rest.to_string())
            } else if pair.starts_with("fl_") {
                None
            } else {
                Some(pair.to_string())
            }
        })
        .collect();
    headers.remove(header::COOKIE);
    if let Ok(v) = HeaderValue::from_str(&kept.join("; ")) {
        headers.insert(header::COOKIE, v);
    }
}

/// Over HTTPS every cookie we set is `Secure` and `__Host-` prefixed.
fn secure_set_cookies(headers: &mut HeaderMap) {
    let cookies: Vec<HeaderValue> = headers.get_all(header::SET_COOKIE).iter().cloned().collect();
    if cookies.is_empty() {
        return;
    }
    headers.remove(header::SET_COOKIE);
    for value in cookies {
        let text = value.to_str().unwrap_or_default().to_string();
        let mut text = if text.starts_with("fl_") {
            format!("{HOST_PREFIX}{text}")
        } else {
            text
        };
        if !text.to_ascii_lowercase().contains("; secure") {
            text.push_str("; Secure");
        }
        if let Ok(v) = HeaderValue::from_str(&text) {
            headers.append(header::SET_COOKIE, v);
        }
    }
}

/// NUL characters are dropped wherever they arrive (address, JSON, form): no text may hold one
/// (PostgreSQL refuses it) and no text means anything by it. The server calls this before
/// routing, so `/u/a%00b` is looked up as `/u/ab`.
pub fn drop_nul_from_uri<B>(req: &mut axum::http::Request<B>) {
    // Looked at in place: nearly every request has nothing to clean, and costs no copy.
    let Some(pq) = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .filter(|pq| pq.contains("%00"))
        .map(str::to_string)
    else {
        return;
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(cleaned) = pq.replace("%00", "").parse() {
        parts.path_and_query = Some(cleaned);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
}

/// A write that the browser says comes from another site (`Sec-Fetch-Site: cross-site`) is
/// refused before any handler runs: a second line of defence behind the CSRF token.
fn refuse_cross_site_write(req: &Request) -> Option<Response> {
    use axum::response::IntoResponse;
    let cross_site = req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    // A one-click unsubscribe (RFC 8058) may come from a webmail's page: its signed link is
    // its proof, and it can only turn mail off.
    if !cross_site
        || matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || req.uri().path().starts_with("/unsubscribe/")
    {
        return None;
    }
    Some(if req.uri().path().starts_with("/api/") {
        ApiError::forbidden("a write sent from another site")
            .with_code("csrf_failed")
            .into_response()
    } else {
        PageError::forbidden().into_response()
    })
}

/// Around every request: gives each browser a visitor cookie and its CSRF token, secures
/// cookies over HTTPS, adds the security headers, and times the request for benchmarks
/// (`Server-Timing: app;dur=…` is the server-side time, excluding the network).
pub async fn shell_middleware(
    axum::extract::State(platform): axum::extract::State<Platform>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    if let Some(refusal) = refuse_cross_site_write(&req) {
        return refusal;
    }
    let https = platform.config.secure_cookies || forwarded_https(req.headers());
    if https {
        keep_host_cookies(req.headers_mut());
    }
    let existing = cookie(req.headers(), CSRF_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string);
    let api_path = req.uri().path().starts_with("/api/");
    let browser_path = !api_path && !req.uri().path().starts_with("/static/");
    let session = cookie(req.headers(), SESSION_COOKIE).map(str::to_string);
    // An API call without cookies (a token, or anonymous) has no use for a CSRF token: it is
    // neither made nor handed out, which keeps a flash sale's million calls cheaper.
    let needs_csrf = browser_path || existing.is_some() || session.is_some();
    let (visitor, fresh) = match existing {
        Some(t) => (t, false),
        None if needs_csrf => (auth::new_token(), browser_path),
        None => (String::new(), false),
    };
    let mut csrf = String::new();
    if needs_csrf {
        csrf = auth::csrf_token(&platform.config.csrf_key.0, session.as_deref(), &visitor);
        req.extensions_mut().insert(CsrfToken(csrf.clone()));
    }
    // A page's error is shown in the site's layout, in the reader's language: what is needed
    // to know the reader is kept aside (only for pages, not the API or static files).
    let reader = browser_path.then(|| {
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        (req.headers().clone(), path)
    });
    let mut response = next.run(req).await;
    if let (Some((headers, path)), Some(page)) = (reader, response.extensions().get::<ErrorPage>().cloned()) {
        if let Some(html) = render_error_page(&platform, &headers, csrf, path, &page).await {
            let (mut parts, _) = response.into_parts();
            parts.headers.remove(header::CONTENT_LENGTH);
            response = Response::from_parts(parts, axum::body::Body::from(html));
        }
    }
    let headers = response.headers_mut();
    if fresh {
        headers.append(
            header::SET_COOKIE,
            set_cookie(CSRF_COOKIE, &visitor, 365 * 86_400, https),
        );
    }
    if https {
        secure_set_cookies(headers);
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    let set: &[(HeaderName, &'static str)] = if api_path {
        &API_SECURITY_HEADERS
    } else {
        &SECURITY_HEADERS
    };
    for (name, value) in set {
        if !headers.contains_key(name) {
            headers.insert(name.clone(), HeaderValue::from_static(value));
        }
    }
    let micros = started.elapsed().as_micros();
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={}.{:03}", micros / 1000, micros % 1000)) {
        headers.insert("server-timing", v);
    }
    response
}

/// The error page inside the layout, or `None` (the plain fallback stays) if it cannot be made.
async fn render_error_page(
    platform: &Platform,
    headers: &HeaderMap,
    csrf: String,
    path: String,
    page: &ErrorPage,
) -> Option<String> {
    let status = page.0.status.as_u16();
    // A server error may be the database itself: the page is then drawn without asking it who
    // is reading (no name in the top bar), in the language the browser asks for.
    let viewer = if status >= 500 {
        let lang = request_lang(headers);
        Viewer {
            user: None,
            lang,
            tz: crate::locale::default_zone(lang).to_string(),
            profile_zone: None,
            csrf,
            unread: 0,
            path,
        }
    } else {
        Viewer::load(platform, headers, &Method::GET, csrf, path).await.ok()?
    };
    let sign_in = status == 401 && viewer.user.is_none();
    let title_key = match status {
        401 => "error.title_401",
        403 => "error.title_403",
        404 | 405 => "error.title_404",
        429 => "error.title_429",
        s if s >= 500 => "error.title_500",
        _ => "error.title",
    };
    let html = platform
        .render(
            &viewer,
            "error.html",
            minijinja::context! {
                status => status,
                title => platform.t(viewer.lang, title_key),
                message => page.text(viewer.lang),
                sign_in => sign_in,
                next => viewer.path.clone(),
                request_id => crate::ops::request_id(),
            },
        )
        .map_err(|e| tracing::error!("the error page could not be rendered: {:?}", e.error))
        .ok()?;
    Some(html.0)
}

/// A browser visitor: maybe signed in, always with a language and a CSRF token.
pub struct Viewer {
    pub user: Option<User>,
    pub lang: Lang,
    /// The reader's time zone (an IANA name this server knows).
    pub tz: String,
    /// The zone chosen in the profile, if any (else `tz` follows the device or the language).
    pub profile_zone: Option<String>,
    pub csrf: String,
    pub unread: i64,
    pub path: String,
}

impl Viewer {
    pub fn require_user(&self) -> Result<&User, PageError> {
        self.user.as_ref().ok_or_else(PageError::sign_in)
    }

    /// The signed-in staff member, or the 401/403 page.
    pub fn require_staff(&self) -> Result<&User, PageError> {
        let user = self.require_user()?;
        if user.role.is_staff() {
            Ok(user)
        } else {
            Err(PageError::forbidden())
        }
    }

    pub fn t(&self, platform: &Platform, key: &str) -> String {
        platform.t(self.lang, key)
    }
}

pub fn request_lang(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(Lang::parse)
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::negotiate)
        })
        .unwrap_or(Lang::En)
}

impl<S> FromRequestParts<S> for Viewer
where
    Platform: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let platform = Platform::from_ref(state);
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        Viewer::load(&platform, &parts.headers, &parts.method, csrf, path).await
    }
}

/// Paths where a silenced or unverified member may still write: their own account (sign out,
/// settings, notifications, verification, language).
pub fn account_path(path: &str) -> bool {
    const OWN: [&str; 10] = [
        "/signout",
        "/settings",
        "/notifications",
        "/account/",
        "/unsubscribe/",
        "/lang/",
        "/api/v1/me",
        "/api/v1/notifications",
        "/api/v1/tokens",
        "/api/v1/account/",
    ];
    OWN.iter().any(|p| path.starts_with(p))
}

/// Why `user` may not write at `path` now, if they may not: silenced (read-only), or an
/// address not yet proven where the installation requires it. Checked for every write of
/// every pillar where the caller is identified, so no handler can forget it.
pub async fn write_refusal(platform: &Platform, user: &User, path: &str) -> Result<Option<ApiError>, ApiError> {
    // The name and picture others see are not the member's own business alone: a silenced
    // member cannot change them.
    let shown_to_others = path == "/settings/profile" || path.starts_with("/settings/avatar");
    if account_path(path) && !(shown_to_others && user.silenced_until.is_some()) {
        return Ok(None);
    }
    if let Some(until) = user.silenced_until {
        let reason = accounts::details(&platform.db, user.id)
            .await?
            .and_then(|d| d.silenced_reason)
            .unwrap_or_default();
        return Ok(Some(ApiError::from_spec(
            AccountError::Silenced.spec(),
            vec![
                ("until", Arg::Text(format!("{} UTC", format_datetime(until)))),
                ("reason", Arg::Text(reason)),
            ],
        )));
    }
    // Staff are exempt: an administrator of an installation without SMTP must still run it.
    if platform.config.require_verified_email && !user.email_verified && !user.role.is_staff() {
        return Ok(Some(AccountError::VerifyFirst.into()));
    }
    Ok(None)
}

/// The error for a suspended account's credentials.
pub fn suspended_error(until: i64, reason: String) -> ApiError {
    ApiError::from_spec(
        AccountError::Suspended.spec(),
        vec![
            ("until", Arg::Text(format!("{} UTC", format_datetime(until)))),
            ("reason", Arg::Text(reason)),
        ],
    )
}

impl Viewer {
    /// Who is reading, from the request's cookies and headers.
    pub async fn load(
        platform: &Platform,
        headers: &HeaderMap,
        method: &Method,
        csrf: String,
        path: String,
    ) -> Result<Viewer, PageError> {
        let (user, profile_zone) = match cookie(headers, SESSION_COOKIE) {
            Some(token) => match accounts::session_viewer(&platform.db, token).await? {
                Some((user, zone)) => (Some(user), zone),
                None => (None, None),
            },
            None => (None, None),
        };
        let lang = request_lang(headers);
        // The profile's zone, else the browser's (app.js keeps `fl_tz` current), else the
        // language's usual one.
        let profile_zone = profile_zone.as_deref().and_then(crate::locale::known_zone);
        let tz = profile_zone
            .clone()
            .or_else(|| {
                cookie(headers, TZ_COOKIE)
                    .map(|v| {
                        v.replace("%2F", "/")
                            .replace("%2f", "/")
                            .replace("%2B", "+")
                            .replace("%2b", "+")
                    })
                    .and_then(|v| crate::locale::known_zone(&v))
            })
            .unwrap_or_else(|| crate::locale::default_zone(lang).to_string());
        let unread = match &user {
            Some(u) => notifications::unread_count(&platform.db, u.id).await?,
            None => 0,
        };
        if let Some(u) = &user {
            if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
                let bare = path.split('?').next().unwrap_or("");
                if let Some(refusal) = write_refusal(platform, u, bare).await? {
                    return Err(refusal.into());
                }
            }
        }
        Ok(Viewer {
            user,
            lang,
            tz,
            profile_zone,
            csrf,
            unread,
            path,
        })
    }
}

/// The caller of an API endpoint, if identified by a Bearer token or a browser session.
pub struct ApiCaller(pub Option<User>);

/// An API caller that must be identified (401 otherwise).
pub struct ApiUser(pub User);

impl<S> FromRequestParts<S> for ApiCaller
where
    Platform: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let platform = Platform::from_ref(state);
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "unauthorized",
                        "expected `Authorization: Bearer <token>`",
                    )
                })?;
            let user = match &platform.tokens {
                Some(resolver) => resolver.resolve(token).await?,
                None => accounts::api_token_user(&platform.db, token, &platform.token_uses).await?,
            };
            if let Some(user) = &user {
                if let Some(until) = user.suspended_until {
                    let reason = accounts::suspension(&platform.db, user.id)
                        .await?
                        .map(|(_, r)| r)
                        .unwrap_or_default();
                    return Err(suspended_error(until, reason));
                }
                if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
                    if let Some(refusal) = write_refusal(&platform, user, parts.uri.path()).await? {
                        return Err(refusal);
                    }
                }
            }
            return match user {
                Some(user) => Ok(ApiCaller(Some(user))),
                None => Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "unknown or revoked API token",
                )),
            };
        }
        let Some(session) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Ok(ApiCaller(None));
        };
        let Some(user) = accounts::session_user(&platform.db, session).await? else {
            return Ok(ApiCaller(None));
        };
        // Cookie-authenticated writes must prove they come from our own pages.
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let expected = parts.extensions.get::<CsrfToken>().map(|t| t.0.as_str()).unwrap_or("");
            if expected.is_empty() || !auth::tokens_equal(sent, expected) {
                return Err(ApiError::forbidden(
                    "missing or wrong X-CSRF-Token header for a cookie-authenticated request",
                )
                .with_code("csrf_failed"));
            }
            if let Some(refusal) = write_refusal(&platform, &user, parts.uri.path()).await? {
                return Err(refusal);
            }
        }
        Ok(ApiCaller(Some(user)))
    }
}

impl<S> FromRequestParts<S> for ApiUser
where
    Platform: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match ApiCaller::from_request_parts(parts, state).await? {
            ApiCaller(Some(user)) => Ok(ApiUser(user)),
            ApiCaller(None) => Err(ApiError::unauthorized()),
        }
    }
}

impl ApiError {
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }
}

/// A JSON object body whose every failure is a JSON 4xx: 415 without a JSON content type, 413
/// past the size limit, 400 for broken JSON, 422 for a body that is not an object or whose
/// fields have the wrong type or are missing.
///
/// A number written with a zero fraction (`3.0`) is the integer 3, as JSON Schema says, so a
/// client that writes integers as floats is not refused.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_body(req, state).await?;
        parse_json_object(&bytes).map(ApiJson)
    }
}

/// [`ApiJson`] for an optional body: a request without a body (no `Content-Type`, nothing
/// sent) is `T::default()`; anything sent must be JSON as for [`ApiJson`].
pub struct ApiJsonOrEmpty<T>(pub T);

impl<S, T> FromRequest<S> for ApiJsonOrEmpty<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if req.headers().get(header::CONTENT_TYPE).is_none() {
            let bytes = Bytes::from_request(req, state)
                .await
                .map_err(|rejection| ApiError::new(rejection.status(), "bad_request", rejection.body_text()))?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(ApiJsonOrEmpty(T::default()));
            }
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected `Content-Type: application/json`",
            ));
        }
        let bytes = json_body(req, state).await?;
        if bytes.trim_ascii() == b"null" || bytes.trim_ascii().is_empty() {
            return Ok(ApiJsonOrEmpty(T::default()));
        }
        parse_json_object(&bytes).map(ApiJsonOrEmpty)
    }
}

/// [`ApiJson`] for credentials (sign-up, tokens): a NUL character in the `password` field is
/// refused with 400 instead of dropped, so a password is never silently shortened (NULs
/// elsewhere are dropped as everywhere).
pub struct ApiJsonStrict<T>(pub T);

impl<S, T> FromRequest<S> for ApiJsonStrict<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_body(req, state).await?;
        if has_json_nul(&bytes) {
            let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(malformed_json)?;
            if value
                .get("password")
                .and_then(|p| p.as_str())
                .is_some_and(|p| p.contains('\0'))
            {
                return Err(ApiError::bad_request(
                    "nul_character",
                    "a password cannot contain a NUL character (\\u0000)",
                ));
            }
        }
        parse_json_object(&bytes).map(ApiJsonStrict)
    }
}

/// A request's body if it says it is JSON: 415 otherwise, 413 past the size limit.
async fn json_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| v == "application/json" || (v.starts_with("application/") && v.ends_with("+json")));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "payload_too_large"
            } else {
                "bad_request"
            };
            ApiError::new(status, code, rejection.body_text())
        })?;
        Ok(bytes)
    }
}

/// Parses a JSON object body into `T` (see [`ApiJson`]).
pub fn parse_json_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if has_json_nul(bytes) {
        // Drop every NUL from keys and values, then read the body as if it had none.
        let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(malformed_json)?;
        drop_nul(&mut value);
        let cleaned = serde_json::to_vec(&value).map_err(ApiError::internal)?;
        return parse_json_object(&cleaned);
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        // Still tell broken JSON apart from a well-formed value of the wrong kind.
        return Err(match serde_json::from_slice::<serde_json::Value>(bytes) {
            Err(e) => malformed_json(e),
            Ok(_) => ApiError::validation("the body must be a JSON object"),
        });
    }
    match serde_json::from_slice::<T>(bytes) {
        Ok(value) => Ok(value),
        Err(e) if e.is_syntax() || e.is_eof() => Err(malformed_json(e)),
        Err(first_error) => {
            // Retry once with integral floats read as integers; otherwise report the first error.
            let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(malformed_json)?;
            if integral_floats_to_integers(&mut value) {
                if let Ok(v) = serde_json::from_value::<T>(value) {
                    return Ok(v);
                }
            }
            Err(ApiError::validation(format!("invalid body: {first_error}")))
        }
    }
}

fn malformed_json(e: serde_json::Error) -> ApiError {
    ApiError::bad_request("malformed_json", format!("malformed JSON: {e}"))
}

fn drop_nul(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => s.retain(|c| c != '\0'),
        Value::Array(items) => items.iter_mut().for_each(drop_nul),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (mut k, mut v) in entries {
                k.retain(|c| c != '\0');
                drop_nul(&mut v);
                map.insert(k, v);
            }
        }
        _ => {}
    }
}

/// Whether a JSON text holds the escape `\u0000` (an unescaped backslash followed by `u0000`):
/// no stored text may contain NUL (PostgreSQL refuses it).
fn has_json_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes.get(i + 1..i + 6) == Some(b"u0000".as_slice()) {
                return true;
            }
            i += 2; // skip the escaped character
        } else {
            i += 1;
        }
    }
    false
}

/// Rewrites every float with no fraction (within ±2^53, where floats are exact) as an integer;
/// says whether anything changed.
fn integral_floats_to_integers(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        // serde_json's default float reading may land one unit in the last place off a large
        // integral number (`-2251799813685247.0` reads as `-2251799813685247.25`): a number
        // within one such unit of an integer is that integer.
        Value::Number(n) if !n.is_i64() && !n.is_u64() => match n.as_f64() {
            Some(f) if (f - f.round()).abs() <= f.abs() * f64::EPSILON && f.abs() <= EXACT => {
                *value = Value::from(f.round() as i64);
                true
            }
            _ => false,
        },
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| integral_floats_to_integers(v) | changed),
        Value::Object(map) => map
            .values_mut()
            .fold(false, |changed, v| integral_floats_to_integers(v) | changed),
        _ => false,
    }
}

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(PageError))]
pub struct PagePath<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(PageError))]
pub struct PageQuery<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::bad_request("invalid_path", rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", rejection.body_text())
    }
}

impl From<PathRejection> for PageError {
    fn from(_: PathRejection) -> Self {
        PageError::not_found()
    }
}

impl From<QueryRejection> for PageError {
    fn from(rejection: QueryRejection) -> Self {
        tracing::debug!("unreadable query: {}", rejection.body_text());
        CommonError::BadAddress.into()
    }
}

impl From<FormRejection> for PageError {
    fn from(rejection: FormRejection) -> Self {
        tracing::debug!("unreadable form: {}", rejection.body_text());
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => CommonError::FormTooLarge.into(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => CommonError::NotAForm.into(),
            _ => CommonError::BadForm.into(),
        }
    }
}

/// An HTML form submission that carries a valid CSRF token.
pub struct CsrfForm<T>(pub T);

#[derive(Deserialize)]
struct CsrfField {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

impl<S, T> FromRequest<S> for CsrfForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(CommonError::NotAForm.into());
        }
        let expected = req
            .extensions()
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            PageError::from(if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                CommonError::FormTooLarge
            } else {
                CommonError::BadForm
            })
        })?;
        // NUL characters are dropped, as everywhere (see `drop_nul_from_uri`).
        let bytes: Bytes = if bytes.windows(3).any(|w| w == b"%00") {
            String::from_utf8_lossy(&bytes).replace("%00", "").into_bytes().into()
        } else {
            bytes
        };
        let field: CsrfField = serde_urlencoded::from_bytes(&bytes).unwrap_or(CsrfField { csrf: String::new() });
        if expected.is_empty() || !auth::tokens_equal(&field.csrf, &expected) {
            return Err(CommonError::FormExpired.into());
        }
        let value = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            tracing::debug!("unreadable form: {e}");
            PageError::from(CommonError::BadForm)
        })?;
        Ok(CsrfForm(value))
    }
}

/// The CSRF check for multipart forms (uploads), which [`CsrfForm`] cannot read: `sent` is the
/// form's `_csrf` field.
pub fn check_multipart_csrf(viewer: &Viewer, sent: &str) -> Result<(), PageError> {
    let expected = viewer.csrf.as_str();
    if expected.is_empty() || !auth::tokens_equal(sent, expected) {
        return Err(CommonError::FormExpired.into());
    }
    Ok(())
}

/// A file as received from a form or the API, before any check.
#[derive(Debug, Clone)]
pub struct Upload {
    pub filename: String,
    pub data: Vec<u8>,
}

/// A file sent inside a JSON body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct UploadedFile {
    pub filename: String,
    /// File content, base64.
    pub data_base64: String,
}

/// Decodes the files of a JSON body; bad base64 is a 422 naming the file.
pub fn decode_uploads(files: &[UploadedFile]) -> Result<Vec<Upload>, ApiError> {
    use base64::Engine;
    files
        .iter()
        .map(|f| {
            let data = base64::engine::general_purpose::STANDARD
                .decode(f.data_base64.as_bytes())
                .map_err(|_| ApiError::validation(format!("{}: data_base64 is not valid base64", f.filename)))?;
            Ok(Upload {
                filename: f.filename.clone(),
                data,
            })
        })
        .collect()
}

/// Reads a multipart file field; `None` when the browser sent the field without a file.
pub async fn read_file_field(field: axum::extract::multipart::Field<'_>) -> Result<Option<Upload>, PageError> {
    let filename = field.file_name().unwrap_or("").to_string();
    let data = field.bytes().await.map_err(|e| {
        tracing::debug!("upload failed: {e}");
        PageError::from(CommonError::BadForm)
    })?;
    Ok((!filename.is_empty() && !data.is_empty()).then(|| Upload {
        filename,
        data: data.to_vec(),
    }))
}

/// The content type of a PNG, JPEG or WebP image, decided from its magic bytes (never from
/// what the client claims), or `None` for anything else.
pub fn image_content_type(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if data.len() > 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// A short name used in URLs (drops, vetting brands, campaigns): 2–40 lowercase ASCII letters,
/// digits or dashes.
pub fn is_url_slug(slug: &str) -> bool {
    (2..=40).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A form that carries nothing but its CSRF token (sign-out, like, delete, vote…).
#[derive(Deserialize)]
pub struct EmptyForm {}

/// `?next=/path`: where to go after an action (checked with [`safe_next`]).
#[derive(Deserialize)]
pub struct NextParam {
    pub next: Option<String>,
}

/// Largest page number a list accepts.
pub const MAX_PAGE: i64 = 100_000;

/// `page` in a query string: absent, or 1 to [`MAX_PAGE`] (anything else is a 400, as the
/// OpenAPI document says).
pub fn page_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let page: Option<i64> = Option::deserialize(d)?;
    match page {
        Some(p) if !(1..=MAX_PAGE).contains(&p) => Err(serde::de::Error::custom(format!("page: from 1 to {MAX_PAGE}"))),
        page => Ok(page),
    }
}

/// `?page=N` (1-based, at most [`MAX_PAGE`]).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParam {
    /// 1-based page number.
    #[serde(default, deserialize_with = "page_number")]
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<i64>,
}

impl PageParam {
    pub fn number(&self) -> i64 {
        self.page.unwrap_or(1).clamp(1, MAX_PAGE)
    }
    pub fn offset(&self, per_page: i64) -> i64 {
        (self.number() - 1) * per_page
    }
}

/// Pagination links for templates.
pub fn pager(page: i64, per_page: i64, total: i64) -> Value {
    let pages = ((total + per_page - 1) / per_page).max(1);
    context! {
        page => page,
        pages => pages,
        total => total,
        prev => (page > 1).then_some(page - 1),
        next => (page < pages).then_some(page + 1),
    }
}

/// Redirect after a successful form post (303 so the browser follows with GET). A location
/// that cannot be a header value (control characters) redirects home instead of failing.
pub fn see_other(location: &str) -> Response {
    let value = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    response.headers_mut().insert(header::LOCATION, value);
    response
}

/// Only same-site relative paths may be used as a post-action redirect target.
///
/// Browsers drop tabs and line breaks from URLs and read `\` as `/`, so `/\t/evil.example`
/// would become `//evil.example`: any control character, white space or backslash refuses the
/// target. Non-ASCII characters are percent-encoded so the result is always a valid header.
pub fn safe_next(next: Option<&str>) -> String {
    let Some(n) = next else { return "/".into() };
    let refused = !n.starts_with('/')
        || n.starts_with("//")
        || n.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    if refused {
        return "/".into();
    }
    let mut out = String::with_capacity(n.len());
    for c in n.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// The peer address, when the server was started with connection info (always, in `fanloop serve`).
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        Ok(ClientIp(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies_must_be_objects_and_integral_floats_are_integers() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Body {
            n: i64,
            list: Vec<i64>,
        }
        let ok: Body = parse_json_object(br#"{"n": 3.0, "list": [1, 2.0]}"#).unwrap();
        assert_eq!(ok, Body { n: 3, list: vec![1, 2] });
        // A large integral number written as a float (schemathesis sends these), read by
        // serde_json a unit in the last place off.
        let ok: Body = parse_json_object(br#"{"n": -2251799813685247.0, "list": [4503599627370495.0]}"#).unwrap();
        assert_eq!(
            ok,
            Body {
                n: -2251799813685247,
                list: vec![4503599627370495]
            }
        );
        let e = parse_json_object::<Body>(br#"{"n": 3.5, "list": []}"#).unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        let e = parse_json_object::<Body>(b"[3, []]").unwrap_err();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
        );
        let e = parse_json_object::<Body>(b"{\"n\": ").unwrap_err();
        assert_eq!((e.status, e.code), (StatusCode::BAD_REQUEST, "malformed_json"));
        let e = parse_json_object::<Body>(b"[1,").unwrap_err();
        assert_eq!(e.code, "malformed_json");
        assert!(has_json_nul(br#"{"a": "x\u0000"}"#));
        assert!(
            !has_json_nul(br#"{"a": "x\\u0000"}"#),
            "an escaped backslash, then text"
        );
        assert!(has_json_nul(br#"{"a": "x\\\u0000"}"#));
        #[derive(Deserialize, Debug, PartialEq)]
        struct Text {
            t: String,
        }
        let t: Text = parse_json_object(br#"{"t": "a\u0000b", "\u0000x": "\u0000"}"#).unwrap();
        assert_eq!(t.t, "ab", "NUL characters are dropped");
    }

    #[test]
    fn next_targets_stay_on_this_site() {
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/x",
            "/\u{7f}x",
            "/ /evil.example",
            "/\u{3000}/evil.example",
            "https://evil.example",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some("/t/12?page=2#p3")), "/t/12?page=2#p3");
        assert_eq!(safe_next(Some("/search?q=小米")), "/search?q=%E5%B0%8F%E7%B1%B3");
    }

    #[test]
    fn redirects_never_panic() {
        let r = see_other("/a\nb");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[header::LOCATION], "/");
        assert_eq!(see_other("/ok").headers()[header::LOCATION], "/ok");
    }

    proptest::proptest! {
        #[test]
        fn safe_next_is_always_a_local_header_value(n in "\\PC{0,40}|[/\\\\\t\n\r\u{7f} a-z.:]{0,12}") {
            let out = safe_next(Some(&n));
            proptest::prop_assert!(out.starts_with('/'));
            proptest::prop_assert!(!out.starts_with("//"));
            proptest::prop_assert!(!out.contains('\\'));
            proptest::prop_assert!(HeaderValue::from_str(&out).is_ok());
            proptest::prop_assert_eq!(see_other(&out).status(), StatusCode::SEE_OTHER);
        }
    }

    #[test]
    fn cookies_are_found_among_many() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; fl_lang=fr; b=2"));
        assert_eq!(cookie(&headers, LANG_COOKIE), Some("fr"));
        assert_eq!(cookie(&headers, "missing"), None);
        assert_eq!(request_lang(&headers), Lang::Fr);
    }

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert_eq!(safe_next(Some("/t/5")), "/t/5");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn page_param_is_clamped() {
        assert_eq!(PageParam { page: Some(-5) }.number(), 1);
        assert_eq!(PageParam { page: Some(3) }.offset(20), 40);
        assert_eq!(PageParam { page: Some(i64::MAX) }.number(), 100_000);
    }

    #[test]
    fn dates_format() {
        assert_eq!(format_datetime(0), "1970-01-01 00:00");
        assert_eq!(format_iso(86_400_000), "1970-01-02T00:00:00Z");
    }
}
