//! The two ways fanloop answers a failure: JSON with a stable `error` code for the API, and a
//! readable page for people.  Internal details never leak; they go to the log.

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Body of every API error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `not_found`, `validation_failed`, `rate_limited`.
    pub error: String,
    /// Human-readable explanation.
    pub message: String,
}

pub use axum::http::StatusCode as Status;

/// One row of a pillar's error table, as meilisearch's `ErrorCode` does it: the code clients
/// match on, its HTTP status, and what a person reads in each language. `{name}` placeholders
/// are filled from the error's arguments. Each pillar declares its rows with [`error_table!`].
#[derive(Debug)]
pub struct ErrorSpec {
    pub code: &'static str,
    pub status: StatusCode,
    pub en: &'static str,
    pub zh: &'static str,
    pub fr: &'static str,
}

impl ErrorSpec {
    pub fn text(&self, lang: crate::i18n::Lang) -> &'static str {
        match lang {
            crate::i18n::Lang::En => self.en,
            crate::i18n::Lang::Zh => self.zh,
            crate::i18n::Lang::Fr => self.fr,
        }
    }
}

/// What is wrong with an error table: an empty message, or a language whose message names other
/// placeholders than the English one. Every pillar's table is checked by a test of the binary.
pub fn table_problems<'a>(specs: impl IntoIterator<Item = &'a ErrorSpec>) -> Vec<String> {
    let holes = |t: &str| {
        let mut v: Vec<String> = t
            .split('{')
            .skip(1)
            .filter_map(|p| p.split_once('}'))
            .map(|(n, _)| n.to_string())
            .collect();
        v.sort();
        v
    };
    let mut problems = Vec::new();
    for s in specs {
        for text in [s.en, s.zh, s.fr] {
            if text.trim().is_empty() || holes(text) != holes(s.en) {
                problems.push(format!("{}: {text:?} against {:?}", s.code, s.en));
            }
        }
    }
    problems
}

/// Declares a pillar's error enum and its table (code → status → zh/en/fr message) in one place:
///
/// ```ignore
/// error_table! {
///     pub enum LaunchError {
///         SoldOut => ("sold_out", CONFLICT, "sold out", "已售罄", "épuisé"),
///     }
/// }
/// ```
/// `LaunchError::SoldOut.into()` is the `ApiError`; `.with(&[("name", v)])` fills placeholders.
#[macro_export]
macro_rules! error_table {
    ($(#[$meta:meta])* $vis:vis enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident => ($code:literal, $status:ident, $en:literal, $zh:literal, $fr:literal)),* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name { $($(#[$vmeta])* $variant),* }

        impl $name {
            /// Every error of the table (for tests that check each language has each message).
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn spec(self) -> &'static $crate::error::ErrorSpec {
                match self {
                    $($name::$variant => {
                        static SPEC: $crate::error::ErrorSpec = $crate::error::ErrorSpec {
                            code: $code,
                            status: $crate::error::Status::$status,
                            en: $en,
                            zh: $zh,
                            fr: $fr,
                        };
                        &SPEC
                    })*
                }
            }

            /// The API error with its `{name}` placeholders filled.
            pub fn with(self, args: &[(&'static str, String)]) -> $crate::error::ApiError {
                let args: Vec<_> = args.iter().map(|(n, v)| (*n, $crate::error::Arg::Text(v.clone()))).collect();
                $crate::error::ApiError::from_spec(self.spec(), args)
            }

            /// The same, with arguments that have words of their own in each language.
            pub fn with_args(self, args: Vec<(&'static str, $crate::error::Arg)>) -> $crate::error::ApiError {
                $crate::error::ApiError::from_spec(self.spec(), args)
            }
        }

        impl From<$name> for $crate::error::ApiError {
            fn from(e: $name) -> Self {
                e.with(&[])
            }
        }
    };
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    /// English, for API clients; people read [`ApiError::text`].
    pub message: String,
    pub retry_after_secs: Option<u64>,
    /// The table row this error came from, and its arguments: the message in every language.
    pub spec: Option<(&'static ErrorSpec, Vec<(&'static str, Arg)>)>,
}

/// A value for a table message's placeholder.
#[derive(Debug, Clone)]
pub enum Arg {
    /// The same in every language (a name, a number).
    Text(String),
    /// A word of the interface, in English, Chinese and French.
    Words([&'static str; 3]),
}

impl Arg {
    fn in_lang(&self, lang: crate::i18n::Lang) -> &str {
        match (self, lang) {
            (Arg::Text(t), _) => t,
            (Arg::Words([en, ..]), crate::i18n::Lang::En) => en,
            (Arg::Words([_, zh, _]), crate::i18n::Lang::Zh) => zh,
            (Arg::Words([.., fr]), crate::i18n::Lang::Fr) => fr,
        }
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after_secs: None,
            spec: None,
        }
    }

    pub fn from_spec(spec: &'static ErrorSpec, args: Vec<(&'static str, Arg)>) -> Self {
        let mut error = ApiError {
            status: spec.status,
            code: spec.code,
            message: String::new(),
            retry_after_secs: None,
            spec: Some((spec, args)),
        };
        error.message = error.text(crate::i18n::Lang::En);
        error
    }

    /// What a person reads, in their language: the table's message where the error has one,
    /// else the English message.
    pub fn text(&self, lang: crate::i18n::Lang) -> String {
        match &self.spec {
            Some((spec, args)) => args.iter().fold(spec.text(lang).to_string(), |t, (name, value)| {
                t.replace(&format!("{{{name}}}"), value.in_lang(lang))
            }),
            None => self.message.clone(),
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", message)
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in or send a valid Bearer token",
        )
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        ApiError {
            retry_after_secs: Some(retry_after_secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many attempts; try again later",
            )
        }
    }
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {err}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        ApiError::internal(format!("{err:#}"))
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        ApiError::internal(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_string(),
            message: self.message,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// An error shown to a person in the browser.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
}

impl PageError {
    pub fn new(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> Self {
        PageError {
            status,
            title: title.into(),
            message: message.into(),
        }
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "404", "This page does not exist or was removed. / 页面不存在或已删除。 / Cette page n'existe pas ou a été supprimée.")
    }
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "403",
            "You are not allowed to do this. / 你没有权限执行此操作。 / Vous n'avez pas le droit de faire cela.",
        )
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "400", message)
    }
}

impl From<anyhow::Error> for PageError {
    fn from(err: anyhow::Error) -> Self {
        tracing::error!("internal error: {err:#}");
        PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500",
            "Something went wrong on our side. / 服务器出错了。 / Une erreur est survenue.",
        )
    }
}

impl From<sqlx::Error> for PageError {
    fn from(err: sqlx::Error) -> Self {
        PageError::from(anyhow::Error::from(err))
    }
}

impl From<ApiError> for PageError {
    /// Without the reader's language at hand: a table error in all three (zh first).
    fn from(err: ApiError) -> Self {
        let message = match &err.spec {
            Some(_) => {
                use crate::i18n::Lang;
                format!(
                    "{} / {} / {}",
                    err.text(Lang::Zh),
                    err.text(Lang::En),
                    err.text(Lang::Fr)
                )
            }
            None => err.message.clone(),
        };
        PageError::new(err.status, err.status.as_u16().to_string(), message)
    }
}

impl PageError {
    /// The page for an API error, in the reader's language.
    pub fn localized(err: ApiError, lang: crate::i18n::Lang) -> Self {
        let message = err.text(lang);
        PageError::new(err.status, err.status.as_u16().to_string(), message)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <title>{title} · fanloop</title><link rel=\"stylesheet\" href=\"/static/app.css\"></head>\
             <body><main class=\"container narrow\"><div class=\"card error-card\"><h1>{title}</h1><p>{message}</p>\
             <p><a class=\"button\" href=\"/\">fanloop</a></p></div></main></body></html>",
            title = escape_html(&self.title),
            message = escape_html(&self.message),
        );
        (self.status, Html(page)).into_response()
    }
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for ApiError {}
