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
    /// The request's id (also in the `x-request-id` header): quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
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

/// A message with its `{name}` placeholders filled, in one pass: a value is put in as it is,
/// never read again for placeholders (a value from a user's file that says `{row1}` stays that).
/// A placeholder without a value is left as written.
pub fn fill<'a>(template: &str, value: impl Fn(&str) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if !after[..close].contains('{') => {
                let name = &after[..close];
                match value(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
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

        impl From<$name> for $crate::error::PageError {
            fn from(e: $name) -> Self {
                $crate::error::PageError::from(e.with(&[]))
            }
        }
    };
}

#[derive(Debug, Clone)]
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
    /// A text made for each language (English, Chinese, French).
    Texts(Box<[String; 3]>),
}

impl Arg {
    fn in_lang(&self, lang: crate::i18n::Lang) -> &str {
        match (self, lang) {
            (Arg::Text(t), _) => t,
            (Arg::Words([en, ..]), crate::i18n::Lang::En) => en,
            (Arg::Words([_, zh, _]), crate::i18n::Lang::Zh) => zh,
            (Arg::Words([.., fr]), crate::i18n::Lang::Fr) => fr,
            (Arg::Texts(t), crate::i18n::Lang::En) => &t[0],
            (Arg::Texts(t), crate::i18n::Lang::Zh) => &t[1],
            (Arg::Texts(t), crate::i18n::Lang::Fr) => &t[2],
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
            Some((spec, args)) => fill(spec.text(lang), |name| {
                args.iter().find(|(n, _)| *n == name).map(|(_, v)| v.in_lang(lang))
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
            request_id: crate::ops::request_id(),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        response
    }
}

crate::error_table! {
    /// The platform's own errors a person may read: generic pages (not found, forbidden, sign
    /// in, server error) and the refusals of the request layer (expired form, unreadable form).
    pub enum CommonError {
        NotFound => ("not_found", NOT_FOUND, "This page does not exist or was removed.", "页面不存在或已删除。", "Cette page n’existe pas ou a été supprimée."),
        Forbidden => ("forbidden", FORBIDDEN, "You are not allowed to do this.", "你没有权限执行此操作。", "Vous n’avez pas le droit de faire cela."),
        SignIn => ("unauthorized", UNAUTHORIZED, "Please sign in first.", "请先登录。", "Veuillez d’abord vous connecter."),
        Internal => ("internal", INTERNAL_SERVER_ERROR, "Something went wrong on our side. Please try again in a moment.", "服务器出错了，请稍后再试。", "Une erreur est survenue de notre côté. Réessayez dans un instant."),
        Unavailable => ("unavailable", SERVICE_UNAVAILABLE, "The service is busy. Please try again in a moment.", "服务繁忙，请稍后再试。", "Le service est surchargé. Réessayez dans un instant."),
        RateLimited => ("rate_limited", TOO_MANY_REQUESTS, "Too many attempts. Please wait a few minutes.", "尝试次数过多，请几分钟后再试。", "Trop de tentatives. Patientez quelques minutes."),
        FormExpired => ("csrf_failed", FORBIDDEN, "This form expired or did not come from this site. Reload the page and try again.", "表单已过期或并非来自本站，请刷新页面后重试。", "Ce formulaire a expiré ou ne vient pas de ce site : rechargez la page et réessayez."),
        FormTooLarge => ("payload_too_large", PAYLOAD_TOO_LARGE, "The submitted form is too large.", "提交的内容过大。", "Le formulaire envoyé est trop volumineux."),
        NotAForm => ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "Expected a form submission.", "请通过页面上的表单提交。", "Un envoi de formulaire était attendu."),
        BadForm => ("bad_request", BAD_REQUEST, "The form could not be read. Reload the page and try again.", "无法读取表单内容，请刷新页面后重试。", "Le formulaire est illisible : rechargez la page et réessayez."),
        BadAddress => ("bad_request", BAD_REQUEST, "This address is not valid.", "该网址无效。", "Cette adresse n’est pas valide."),
        UnknownChoice => ("bad_request", BAD_REQUEST, "Unknown choice: reload the page and pick one from the list.", "未知选项，请刷新页面后从列表中选择。", "Choix inconnu : rechargez la page et choisissez dans la liste."),
    }
}

crate::error_table! {
    /// Accounts' errors a person reads (sign-up, sign-in, tokens, roles, settings).
    pub enum AccountError {
        UsernameLength => ("validation_failed", UNPROCESSABLE_ENTITY, "Username must be 2 to 32 characters.", "用户名长度须为 2 到 32 个字符。", "Le nom d’utilisateur doit compter de 2 à 32 caractères."),
        UsernameChars => ("validation_failed", UNPROCESSABLE_ENTITY, "Username may only contain letters, digits, '_', '-' and '.'.", "用户名只能包含文字、数字、“_”、“-”和“.”。", "Le nom d’utilisateur ne peut contenir que des lettres, chiffres, « _ », « - » et « . »."),
        EmailInvalid => ("validation_failed", UNPROCESSABLE_ENTITY, "Please enter a valid email address.", "请输入有效的邮箱地址。", "Veuillez saisir une adresse e-mail valide."),
        PasswordShort => ("validation_failed", UNPROCESSABLE_ENTITY, "Password must be at least 8 characters.", "密码至少需要 8 个字符。", "Le mot de passe doit contenir au moins 8 caractères."),
        PasswordLong => ("validation_failed", UNPROCESSABLE_ENTITY, "Password is too long (at most 256 characters).", "密码过长（最多 256 个字符）。", "Le mot de passe est trop long (256 caractères au plus)."),
        UsernameTaken => ("taken", CONFLICT, "This username is already taken.", "该用户名已被使用。", "Ce nom d’utilisateur est déjà pris."),
        EmailTaken => ("taken", CONFLICT, "This email is already registered: sign in instead.", "该邮箱已注册，请直接登录。", "Cet e-mail est déjà inscrit : connectez-vous plutôt."),
        BadLogin => ("bad_credentials", UNAUTHORIZED, "Wrong username or password.", "用户名或密码错误。", "Nom d’utilisateur ou mot de passe incorrect."),
        TokenName => ("validation_failed", UNPROCESSABLE_ENTITY, "token name must be 1–64 characters", "令牌名称须为 1–64 个字符。", "Nom du jeton : 1 à 64 caractères."),
        AdminsOnlyRoles => ("forbidden", FORBIDDEN, "only administrators change roles", "只有管理员可以修改角色。", "Seuls les administrateurs changent les rôles."),
        AdminsOnlyList => ("forbidden", FORBIDDEN, "only administrators list accounts", "只有管理员可以查看账号列表。", "Seuls les administrateurs voient la liste des comptes."),
        SelfDemote => ("last_admin_guard", CONFLICT, "administrators cannot demote themselves", "管理员不能取消自己的管理员身份。", "Un administrateur ne peut pas se rétrograder lui-même."),
        TeamTooLong => ("validation_failed", UNPROCESSABLE_ENTITY, "team name is at most 64 characters", "团队名称最多 64 个字符。", "Nom d’équipe : 64 caractères au plus."),
        UnknownZone => ("validation_failed", UNPROCESSABLE_ENTITY, "unknown time zone: pick one from the list", "未知时区，请从列表中选择。", "Fuseau horaire inconnu : choisissez-en un dans la liste."),
        Suspended => ("suspended", FORBIDDEN, "This account is suspended until {until}. Reason: {reason}", "该账号已被停用，直到 {until}。原因：{reason}", "Ce compte est suspendu jusqu’au {until}. Motif : {reason}"),
        Silenced => ("silenced", FORBIDDEN, "Your account is read-only until {until}. Reason: {reason}", "你的账号在 {until} 之前只能浏览，不能发言或购买。原因：{reason}", "Votre compte est en lecture seule jusqu’au {until}. Motif : {reason}"),
        VerifyFirst => ("email_unverified", FORBIDDEN, "Confirm your e-mail address first: open the link we mailed you, or send a new one from Settings.", "请先验证邮箱：打开我们发给你的邮件中的链接，或在“设置”里重新发送。", "Confirmez d’abord votre adresse : ouvrez le lien envoyé par e-mail, ou renvoyez-le depuis les Paramètres."),
        WrongPassword => ("bad_credentials", UNPROCESSABLE_ENTITY, "The current password is wrong.", "当前密码不正确。", "Le mot de passe actuel est incorrect."),
        PasswordsDiffer => ("validation_failed", UNPROCESSABLE_ENTITY, "The two new passwords are not the same.", "两次输入的新密码不一致。", "Les deux nouveaux mots de passe diffèrent."),
        LinkInvalid => ("link_invalid", GONE, "This link was already used or has expired. Ask for a new one.", "该链接已使用或已过期，请重新申请。", "Ce lien a déjà servi ou a expiré. Demandez-en un nouveau."),
        SameEmail => ("validation_failed", UNPROCESSABLE_ENTITY, "This is already your address.", "这已经是你的邮箱地址。", "C’est déjà votre adresse."),
        ReasonNeeded => ("validation_failed", UNPROCESSABLE_ENTITY, "Give a reason (1–500 characters): the member reads it.", "请填写原因（1–500 个字符），对方会看到。", "Indiquez un motif (1 à 500 caractères) : le membre le lira."),
        BadUntil => ("validation_failed", UNPROCESSABLE_ENTITY, "Pick an end date in the future (within ten years).", "请选择一个未来的结束日期（十年以内）。", "Choisissez une date de fin future (dans les dix ans)."),
        NotStaffTarget => ("forbidden", FORBIDDEN, "Staff accounts cannot be suspended or silenced: change their role first.", "不能停用或禁言工作人员账号，请先修改其角色。", "Un compte de l’équipe ne peut être suspendu ni réduit au silence : changez d’abord son rôle."),
        ModeratorsOnly => ("forbidden", FORBIDDEN, "Only moderators and administrators do this.", "只有版主和管理员可以执行此操作。", "Seuls les modérateurs et administrateurs peuvent faire cela."),
        BioTooLong => ("validation_failed", UNPROCESSABLE_ENTITY, "The bio is at most 500 characters.", "个人简介最多 500 个字符。", "La présentation fait au plus 500 caractères."),
        UnknownDelivery => ("validation_failed", UNPROCESSABLE_ENTITY, "Unknown choice: reload the page and pick one from the list.", "未知选项，请刷新页面后从列表中选择。", "Choix inconnu : rechargez la page et choisissez dans la liste."),
        DisplayNameLength => ("validation_failed", UNPROCESSABLE_ENTITY, "The display name is at most 40 characters.", "显示名称最多 40 个字符。", "Le nom affiché fait au plus 40 caractères."),
        DisplayNameLooksLike => ("validation_failed", UNPROCESSABLE_ENTITY, "This display name looks like another member's name: choose another.", "这个显示名称和其他成员的名字太像，请换一个。", "Ce nom affiché ressemble au nom d’un autre membre : choisissez-en un autre."),
        ImageEmpty => ("validation_failed", UNPROCESSABLE_ENTITY, "Choose a picture to send.", "请选择要上传的图片。", "Choisissez une image à envoyer."),
        ImageTooLarge => ("payload_too_large", PAYLOAD_TOO_LARGE, "The picture is larger than 8 MB.", "图片超过 8 MB。", "L’image dépasse 8 Mo."),
        ImageNotImage => ("unsupported_image", UNSUPPORTED_MEDIA_TYPE, "Only PNG, JPEG, GIF and WebP pictures can be sent.", "只能上传 PNG、JPEG、GIF 或 WebP 图片。", "Seules les images PNG, JPEG, GIF et WebP sont acceptées."),
        ImageTooManyPixels => ("validation_failed", UNPROCESSABLE_ENTITY, "The picture is too big: at most 12,000 pixels on a side and 50 megapixels.", "图片尺寸过大：每边最多 12000 像素，总共最多 5000 万像素。", "L’image est trop grande : 12 000 pixels de côté et 50 mégapixels au plus."),
        ImageUnreadable => ("validation_failed", UNPROCESSABLE_ENTITY, "The picture cannot be read: the file may be damaged or cut short.", "无法读取这张图片，文件可能已损坏或不完整。", "L’image est illisible : le fichier est peut-être abîmé ou incomplet."),
        UploadQuota => ("rate_limited", TOO_MANY_REQUESTS, "You sent {limit} pictures in the last 24 hours, the most allowed: try again later.", "你在 24 小时内已上传 {limit} 张图片，达到上限，请稍后再试。", "Vous avez envoyé {limit} images en 24 heures, le maximum : réessayez plus tard."),
    }
}

/// An error shown to a person in the browser: an [`ApiError`] read in the visitor's language.
/// The shell middleware (see `web::shell_middleware`) renders it inside the site's layout, with
/// the top bar, from the [`ErrorPage`] the response carries; the plain page below is only the
/// fallback when that fails.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub error: ApiError,
}

/// Carried by an error page's response for the shell middleware to render it in the layout.
#[derive(Debug, Clone)]
pub struct ErrorPage(pub std::sync::Arc<ApiError>);

impl ErrorPage {
    /// What the visitor reads: the table's message in their language; an error without one is
    /// described by its status (a bare English detail is never shown inside a zh/fr page for
    /// these), else its English message.
    pub fn text(&self, lang: crate::i18n::Lang) -> String {
        let e = &self.0;
        if e.spec.is_some() {
            return e.text(lang);
        }
        let generic = match e.status.as_u16() {
            401 => Some(CommonError::SignIn),
            403 => Some(CommonError::Forbidden),
            404 | 405 => Some(CommonError::NotFound),
            413 => Some(CommonError::FormTooLarge),
            415 => Some(CommonError::NotAForm),
            429 => Some(CommonError::RateLimited),
            503 => Some(CommonError::Unavailable),
            s if s >= 500 => Some(CommonError::Internal),
            400 if lang != crate::i18n::Lang::En => Some(CommonError::BadForm),
            _ => None,
        };
        match generic {
            Some(g) => g.spec().text(lang).to_string(),
            None => e.message.clone(),
        }
    }
}

impl PageError {
    /// A page with a message that has no table row (English only; prefer a table error).
    pub fn new(status: StatusCode, _title: impl Into<String>, message: impl Into<String>) -> Self {
        PageError {
            status,
            error: ApiError::new(status, "page", message),
        }
    }
    pub fn not_found() -> Self {
        CommonError::NotFound.into()
    }
    pub fn forbidden() -> Self {
        CommonError::Forbidden.into()
    }
    pub fn sign_in() -> Self {
        CommonError::SignIn.into()
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "400", message)
    }
    /// The page for an API error; the middleware shows it in the reader's language.
    pub fn localized(err: ApiError, _lang: crate::i18n::Lang) -> Self {
        PageError::from(err)
    }
}

impl From<anyhow::Error> for PageError {
    fn from(err: anyhow::Error) -> Self {
        tracing::error!("internal error: {err:#}");
        CommonError::Internal.into()
    }
}

impl From<sqlx::Error> for PageError {
    fn from(err: sqlx::Error) -> Self {
        PageError::from(anyhow::Error::from(err))
    }
}

impl From<ApiError> for PageError {
    fn from(err: ApiError) -> Self {
        PageError {
            status: err.status,
            error: err,
        }
    }
}

impl IntoResponse for PageError {
    /// The fallback page (every language, no layout); the shell middleware replaces it with the
    /// page in the visitor's language inside the layout.
    fn into_response(self) -> Response {
        use crate::i18n::Lang;
        let page = ErrorPage(std::sync::Arc::new(self.error));
        let message = [Lang::Zh, Lang::En, Lang::Fr]
            .iter()
            .map(|l| page.text(*l))
            .collect::<Vec<_>>()
            .join(" / ");
        let title = self.status.as_u16().to_string();
        let body = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <title>{title} · fanloop</title><link rel=\"stylesheet\" href=\"/static/app.css\"></head>\
             <body><main class=\"container narrow\"><div class=\"card error-card\"><h1>{title}</h1><p>{message}</p>\
             <p><a class=\"button\" href=\"/\">fanloop</a></p></div></main></body></html>",
            message = escape_html(&message),
        );
        let retry = page.0.retry_after_secs;
        let mut response = (self.status, Html(body)).into_response();
        if let Some(secs) = retry {
            response.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        response.extensions_mut().insert(page);
        response
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_once_and_values_are_not_read_again() {
        let get = |n: &str| match n {
            "a" => Some("{b}{b}"),
            "b" => Some("x"),
            _ => None,
        };
        assert_eq!(fill("{a} and {b}", get), "{b}{b} and x");
        assert_eq!(fill("{missing} {", get), "{missing} {");
        assert_eq!(fill("{{a}}", get), "{{b}{b}}");
        assert_eq!(fill("", get), "");
        assert_eq!(fill("无占位符。", get), "无占位符。");
    }
}
