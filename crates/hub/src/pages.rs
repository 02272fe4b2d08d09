//! The hub's pages: "for you" with search and filters, an article, a series, what the hub
//! knows about me, writing an article, and the staff page for segments, series and experts.
//! A refused form is shown again with what was typed and the reason in the reader's language.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use fanloop_platform::accounts::User;
use fanloop_platform::locale;
use fanloop_platform::web::{pager, see_other, CsrfForm, PagePath, PageQuery, Viewer};
use fanloop_platform::{ApiError, PageError};
use minijinja::context;
use serde::Serialize;

use crate::ask;
use crate::domain::{Choice, Names};
use crate::service::{
    self, ArticleRequest, BrowseQuery, DimensionRequest, DimensionView, ExpertRequest, FactRequest, FactsRequest,
    HubState, SeriesRequest, TargetRequest,
};

pub fn router() -> Router<HubState> {
    Router::new()
        .route("/hub", get(home))
        .route("/hub/me", get(me_page).post(me_submit))
        .route("/hub/a/{slug}", get(article_page))
        // 50,000 Chinese characters take 450 KB url-encoded.
        .route("/hub/a/{slug}/delete", post(delete_submit).get(back_to_article))
        .route(
            "/hub/a/{slug}/edit",
            get(edit_page)
                .post(edit_submit)
                .layer(DefaultBodyLimit::max(ARTICLE_FORM_LIMIT)),
        )
        .route(
            "/hub/write",
            get(write_page)
                .post(write_submit)
                .layer(DefaultBodyLimit::max(ARTICLE_FORM_LIMIT)),
        )
        .route("/hub/series/{slug}", get(series_page))
        .route("/hub/a/{slug}/buy/{drop}", get(buy_click))
        .route("/hub/manage", get(manage_page))
        .route("/hub/manage/segments", post(segment_submit))
        .route("/hub/manage/series", post(series_submit))
        .route("/hub/manage/experts", post(expert_submit))
        .route("/hub/ask", get(ask_page).post(ask_submit))
        .route("/hub/questions/{id}", get(question_page).post(reply_submit))
        .route("/hub/questions/{id}/close", post(close_submit))
        .route("/hub/questions/{id}/consent", post(consent_submit))
        .route("/hub/questions/{id}/faq", post(faq_submit))
        .route("/hub/faq", get(faq_page))
}

const ARTICLE_FORM_LIMIT: usize = 1 << 20;

/// A 4xx from a use case is shown on the form that caused it; anything else is an error page.
fn form_problem(e: ApiError, viewer: &Viewer) -> Result<String, PageError> {
    if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND && e.status != StatusCode::FORBIDDEN {
        Ok(e.text(viewer.lang))
    } else {
        Err(PageError::localized(e, viewer.lang))
    }
}

fn page_err(e: ApiError, viewer: &Viewer) -> PageError {
    PageError::localized(e, viewer.lang)
}

type Pairs = Vec<(String, String)>;

fn field<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn fields<'a>(pairs: &'a Pairs, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    pairs.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
}

// ---------------------------------------------------------------------------------------------
// Home: for you, search, series, experts

/// The home page's search form: the segment filter is one select, `segment=value`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
struct HomeQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    filter: Option<String>,
    /// The guides about a product (its drop's page links here).
    #[serde(default)]
    drop: Option<String>,
    #[serde(default, deserialize_with = "fanloop_platform::web::page_number")]
    page: Option<i64>,
    /// Back from deleting an article.
    #[serde(default)]
    deleted: Option<String>,
}

async fn home(
    State(state): State<HubState>,
    viewer: Viewer,
    PageQuery(home): PageQuery<HomeQuery>,
) -> Result<Response, PageError> {
    let (segment, value) = match home.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => {
            let (s, v) = f.split_once('=').unwrap_or((f, ""));
            (Some(s.to_string()), Some(v.to_string()))
        }
        None => (None, None),
    };
    // A submitted search form (even empty) lists articles; the bare page shows "for you".
    let searching =
        home.q.is_some() || home.filter.is_some() || home.lang.is_some() || home.page.is_some() || home.drop.is_some();
    let drop = home.drop.clone();
    let q = BrowseQuery {
        q: home.q,
        lang: home.lang,
        segment,
        value,
        drop: home.drop,
        page: home.page,
    };
    let me = viewer.user.as_ref();
    let dims = service::dimensions(&state, None, viewer.lang)
        .await
        .map_err(|e| page_err(e, &viewer))?;
    let (results, error) = if searching {
        match service::browse(&state, me, &q, viewer.lang).await {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(form_problem(e, &viewer)?)),
        }
    } else {
        (None, None)
    };
    let for_you = service::for_you(&state, me, viewer.lang)
        .await
        .map_err(|e| page_err(e, &viewer))?;
    let series = service::all_series(&state).await.map_err(|e| page_err(e, &viewer))?;
    let experts = service::experts(&state).await.map_err(|e| page_err(e, &viewer))?;
    let can_write = service::may_write_articles(&state, me)
        .await
        .map_err(|e| page_err(e, &viewer))?;
    let pager_value = results.as_ref().map(|r| pager(r.page, r.per_page, r.total));
    let filter = format!(
        "{}={}",
        q.segment.clone().unwrap_or_default(),
        q.value.clone().unwrap_or_default()
    );
    // The filter's options: each segment's choices, or its stages named in the reader's words.
    let filters: Vec<_> = dims
        .iter()
        .map(|d| {
            let options: Vec<(String, String)> = match d.rule {
                Some(rule) => (rule.min..=rule.max.min(rule.min + 59))
                    .map(|n| (format!("{}={n}", d.key), rule.unit.label(n, viewer.lang)))
                    .collect(),
                None => d
                    .choices
                    .iter()
                    .map(|c| (format!("{}={}", d.key, c.key), c.name.clone()))
                    .collect(),
            };
            context! { name => d.name.clone(), options => options }
        })
        .collect();
    let body = state.platform.render(
        &viewer,
        "hub.html",
        context! {
            for_you => for_you,
            results => results,
            pager => pager_value,
            error => error,
            q => q.q.clone().unwrap_or_default(),
            qlang => q.lang.clone().unwrap_or_default(),
            drop => drop,
            filter => filter,
            filters => filters,
            series => series,
            experts => experts,
            can_write => can_write,
            deleted => home.deleted.is_some(),
        },
    )?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, body).into_response())
}

// ---------------------------------------------------------------------------------------------
// What the hub knows about me

async fn render_me(
    state: &HubState,
    viewer: &Viewer,
    me: &User,
    typed: Option<&Pairs>,
    status: StatusCode,
    error: Option<String>,
    saved: bool,
) -> Result<Response, PageError> {
    let dims = service::dimensions(state, None, viewer.lang)
        .await
        .map_err(|e| page_err(e, viewer))?;
    let known = service::my_hub(state, me, viewer.lang)
        .await
        .map_err(|e| page_err(e, viewer))?;
    // The form's values: what was typed when refused, else what the hub knows.
    let value_of = |d: &DimensionView| -> String {
        match typed {
            Some(p) => field(p, &format!("f_{}", d.key)).to_string(),
            // A choice from orders is not something the member said: the select stays on "not
            // said" (saving keeps it from orders), and the page names it beside.
            None => known
                .facts
                .iter()
                .find(|f| f.dimension == d.key && !f.from_orders)
                .map(|f| f.choice.clone().or_else(|| f.date.clone()).unwrap_or_default())
                .unwrap_or_default(),
        }
    };
    let rows: Vec<_> = dims
        .iter()
        .map(|d| context! { d => d, value => value_of(d), fact => known.facts.iter().find(|f| f.dimension == d.key) })
        .collect();
    let body = state.platform.render(
        viewer,
        "hub_me.html",
        context! { rows => rows, known => known, error => error, saved => saved },
    )?;
    Ok((status, body).into_response())
}

#[derive(serde::Deserialize, Default)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

async fn me_page(
    State(state): State<HubState>,
    viewer: Viewer,
    PageQuery(q): PageQuery<SavedQuery>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    render_me(&state, &viewer, me, None, StatusCode::OK, None, q.saved.is_some()).await
}

async fn me_submit(
    State(state): State<HubState>,
    viewer: Viewer,
    CsrfForm(f): CsrfForm<Pairs>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    let dims = service::dimensions(&state, None, viewer.lang)
        .await
        .map_err(|e| page_err(e, &viewer))?;
    let request = if field(&f, "action") == "forget" {
        FactsRequest::default()
    } else {
        FactsRequest {
            facts: dims
                .iter()
                .map(|d| {
                    let v = field(&f, &format!("f_{}", d.key)).to_string();
                    let stage = d.kind == "stage";
                    FactRequest {
                        dimension: d.key.clone(),
                        choice: (!stage).then(|| v.clone()),
                        date: stage.then_some(v),
                    }
                })
                .collect(),
        }
    };
    match service::set_facts(&state, me, &request, viewer.lang).await {
        Ok(_) => Ok(see_other("/hub/me?saved=1")),
        Err(e) => {
            let message = form_problem(e, &viewer)?;
            render_me(
                &state,
                &viewer,
                me,
                Some(&f),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
                false,
            )
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Articles and series

async fn article_page(
    State(state): State<HubState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
) -> Result<Response, PageError> {
    let a = service::article(&state, viewer.user.as_ref(), &slug, viewer.lang)
        .await
        .map_err(|e| page_err(e, &viewer))?;
    // Counting is best effort: a failed count does not cost the reader the page.
    if let Err(e) = service::record_view(&state, viewer.user.as_ref(), &slug).await {
        tracing::warn!("hub: a view of {slug} was not counted: {}", e.message);
    }
    let body = state
        .platform
        .render(&viewer, "hub_article.html", context! { a => a })?;
    Ok(body.into_response())
}

/// A product card's link: the click is counted (article → order conversions), then the drop.
async fn buy_click(
    State(state): State<HubState>,
    viewer: Viewer,
    headers: axum::http::HeaderMap,
    PagePath((slug, drop)): PagePath<(String, String)>,
) -> Result<Response, PageError> {
    // A link followed by the reader, not an image or a fetch that points here (a browser says
    // which with Sec-Fetch-Dest; one that does not say is believed).
    let counted = headers
        .get("sec-fetch-dest")
        .is_none_or(|v| v.as_bytes() == b"document");
    let to = service::click(&state, viewer.user.as_ref(), &slug, &drop, counted)
        .await
        .map_err(|e| page_err(e, &viewer))?;
    Ok(see_other(&to))
}

async fn series_page(
    State(state): State<HubState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
) -> Result<Response, PageError> {
    let s = service::series(&state, viewer.user.as_ref(), &slug, viewer.lang)
        .await
        .map_err(|e| page_err(e, &viewer))?;
    let body = state.platform.render(&viewer, "hub_series.html", context! { s => s })?;
    Ok(body.into_response())
}

/// The article form as typed.
#[derive(Debug, Clone, Default, Serialize)]
struct ArticleForm {
    slug: String,
    lang: String,
    title: String,
    summary: String,
    body: String,
    publish_at: String,
    series: String,
    /// "dimension=choice" for each ticked choice, and the typed stage ranges.
    ticked: Vec<String>,
    from: std::collections::BTreeMap<String, String>,
    to: std::collections::BTreeMap<String, String>,
}

impl ArticleForm {
    fn read(p: &Pairs, dims: &[DimensionView]) -> ArticleForm {
        let mut f = ArticleForm {
            slug: field(p, "slug").to_string(),
            lang: field(p, "lang").to_string(),
            title: field(p, "title").to_string(),
            summary: field(p, "summary").to_string(),
            body: field(p, "body").to_string(),
            publish_at: field(p, "publish_at").to_string(),
            series: field(p, "series").to_string(),
            ticked: fields(p, "target").map(str::to_string).collect(),
            ..ArticleForm::default()
        };
        for d in dims.iter().filter(|d| d.kind == "stage") {
            f.from
                .insert(d.key.clone(), field(p, &format!("from_{}", d.key)).to_string());
            f.to.insert(d.key.clone(), field(p, &format!("to_{}", d.key)).to_string());
        }
        f
    }

    fn of(a: &service::ArticleView, tz: &str) -> ArticleForm {
        let mut f = ArticleForm {
            slug: a.summary.slug.clone(),
            lang: a.summary.lang.clone(),
            title: a.summary.title.clone(),
            summary: a.summary.summary.clone(),
            body: a.body.clone().unwrap_or_default(),
            publish_at: locale::input_value(a.summary.publish_at, tz),
            series: a.summary.series.clone().unwrap_or_default(),
            ..ArticleForm::default()
        };
        for t in &a.targets {
            for c in &t.choices {
                f.ticked.push(format!("{}={c}", t.dimension));
            }
            if let (Some(x), Some(y)) = (t.from, t.to) {
                f.from.insert(t.dimension.clone(), x.to_string());
                f.to.insert(t.dimension.clone(), y.to_string());
            }
        }
        f
    }

    /// The request, or the message for a value that is not a number or a time.
    fn request(&self, dims: &[DimensionView], viewer: &Viewer) -> Result<ArticleRequest, ApiError> {
        let publish_at = match self.publish_at.trim() {
            "" => None,
            s => Some(locale::parse_input(s, &viewer.tz).ok_or(crate::error::HubError::PublishAt)?),
        };
        let mut targets = Vec::new();
        for d in dims {
            if d.kind == "stage" {
                let from = self.from.get(&d.key).map(|s| s.trim()).unwrap_or("");
                let to = self.to.get(&d.key).map(|s| s.trim()).unwrap_or("");
                if from.is_empty() && to.is_empty() {
                    continue;
                }
                let bad = || {
                    crate::error::HubError::TargetStages.with(&[
                        ("dimension", d.name.clone()),
                        ("min", d.rule.map(|r| r.min).unwrap_or(0).to_string()),
                        ("max", d.rule.map(|r| r.max).unwrap_or(0).to_string()),
                    ])
                };
                let from: i64 = if from.is_empty() { to } else { from }.parse().map_err(|_| bad())?;
                let to: i64 = if to.is_empty() {
                    from.to_string()
                } else {
                    to.to_string()
                }
                .parse()
                .map_err(|_| bad())?;
                targets.push(TargetRequest {
                    dimension: d.key.clone(),
                    choices: Vec::new(),
                    from: Some(from),
                    to: Some(to),
                });
            } else {
                let prefix = format!("{}=", d.key);
                let choices: Vec<String> = self
                    .ticked
                    .iter()
                    .filter_map(|t| t.strip_prefix(&prefix))
                    .map(str::to_string)
                    .collect();
                if !choices.is_empty() {
                    targets.push(TargetRequest {
                        dimension: d.key.clone(),
                        choices,
                        from: None,
                        to: None,
                    });
                }
            }
        }
        Ok(ArticleRequest {
            slug: self.slug.clone(),
            lang: self.lang.clone(),
            title: self.title.clone(),
            summary: self.summary.clone(),
            body: self.body.clone(),
            publish_at,
            series: Some(self.series.clone()).filter(|s| !s.trim().is_empty()),
            targets,
        })
    }
}

async fn render_write(
    state: &HubState,
    viewer: &Viewer,
    f: &ArticleForm,
    editing: bool,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, PageError> {
    let dims = service::dimensions(state, None, viewer.lang)
        .await
        .map_err(|e| page_err(e, viewer))?;
    let series = service::all_series(state).await.map_err(|e| page_err(e, viewer))?;
    let body = state.platform.render(
        viewer,
        "hub_write.html",
        context! { f => f, dims => dims, series => series, editing => editing, error => error },
    )?;
    Ok((status, body).into_response())
}

async fn require_writer(state: &HubState, viewer: &Viewer) -> Result<User, PageError> {
    let me = viewer.require_user()?;
    if service::may_write_articles(state, Some(me))
        .await
        .map_err(|e| page_err(e, viewer))?
    {
        Ok(me.clone())
    } else {
        Err(PageError::localized(
            crate::error::HubError::WriterOnly.into(),
            viewer.lang,
        ))
    }
}

async fn write_page(State(state): State<HubState>, viewer: Viewer) -> Result<Response, PageError> {
    require_writer(&state, &viewer).await?;
    let f = ArticleForm {
        lang: viewer.lang.code().to_string(),
        ..ArticleForm::default()
    };
    render_write(&state, &viewer, &f, false, StatusCode::OK, None).await
}

async fn write_submit(
    State(state): State<HubState>,
    viewer: Viewer,
    CsrfForm(p): CsrfForm<Pairs>,
) -> Result<Response, PageError> {
    let me = require_writer(&state, &viewer).await?;
    let dims = service::dimensions(&state, None, viewer.lang)
        .await
        .map_err(|e| page_err(e, &viewer))?;
    let f = ArticleForm::read(&p, &dims);
    let done = match f.request(&dims, &viewer) {
        Ok(r) => service::create_article(&state, &me, &r, viewer.lang).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(a) => Ok(see_other(&format!("/hub/a/{}", a.summary.slug))),
        Err(e) => {
            let message = form_problem(e, &viewer)?;
            render_write(
                &state,
                &viewer,
                &f,
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
            )
            .await
        }
    }
}

async fn back_to_article(PagePath(slug): PagePath<String>) -> Response {
    if fanloop_platform::web::is_url_slug(&slug) {
        see_other(&format!("/hub/a/{slug}"))
    } else {
        see_other("/hub")
    }
}

/// Deletes an article from its edit page (a confirmation button), back to the hub.
async fn delete_submit(
    State(state): State<HubState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    CsrfForm(_): CsrfForm<fanloop_platform::web::EmptyForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    service::delete_article(&state, me, &slug)
        .await
        .map_err(|e| page_err(e, &viewer))?;
    Ok(see_other("/hub?deleted=1"))
}

async fn edit_page(
    State(state): State<HubState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
) -> Result<Response, PageError> {
    viewer.require_user()?;
    let a = service::article(&state, viewer.user.as_ref(), &slug, viewer.lang)
        .await
        .map_err(|e| page_err(e, &viewer))?;
    if !a.can_edit {
        return Err(PageError::localized(
            crate::error::HubError::NotAuthor.into(),
            viewer.lang,
        ));
    }
    let f = ArticleForm::of(&a, &viewer.tz);
    render_write(&state, &viewer, &f, true, StatusCode::OK, None).await
}

async fn edit_submit(
    State(state): State<HubState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    CsrfForm(p): CsrfForm<Pairs>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    let dims = service::dimensions(&state, None, viewer.lang)
        .await
        .map_err(|e| page_err(e, &viewer))?;
    let mut f = ArticleForm::read(&p, &dims);
    f.slug = slug.clone();
    let done = match f.request(&dims, &viewer) {
        Ok(r) => service::update_article(&state, me, &slug, &r, viewer.lang).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Ok(see_other(&format!("/hub/a/{slug}"))),
        Err(e) => {
            let message = form_problem(e, &viewer)?;
            render_write(
                &state,
                &viewer,
                &f,
                true,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
            )
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Staff: segments, series, experts

#[derive(Debug, Clone, Default, Serialize)]
struct Typed {
    /// Which form the values belong to: "segment", "series" or "expert".
    form: String,
    values: std::collections::BTreeMap<String, String>,
}

async fn render_manage(
    state: &HubState,
    viewer: &Viewer,
    typed: Typed,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, PageError> {
    let me = viewer.require_staff()?;
    let dims = service::dimensions(state, Some(me), viewer.lang)
        .await
        .map_err(|e| page_err(e, viewer))?;
    let series = service::all_series(state).await.map_err(|e| page_err(e, viewer))?;
    let experts = service::experts(state).await.map_err(|e| page_err(e, viewer))?;
    let times = ask::response_times(state, me).await.map_err(|e| page_err(e, viewer))?;
    let stats = service::stats(state, me, viewer.lang)
        .await
        .map_err(|e| page_err(e, viewer))?;
    // Each segment's and series' edit form, filled with what is stored, or with what was typed
    // when that form was refused.
    type Values = std::collections::BTreeMap<String, String>;
    let kept = |form: &str, key: &str| -> Option<Values> {
        (typed.form == form && typed.values.get("editing").map(String::as_str) == Some(key))
            .then(|| typed.values.clone())
    };
    let segment_forms: std::collections::BTreeMap<&str, Values> = dims
        .iter()
        .map(|d| {
            (
                d.key.as_str(),
                kept("segment", &d.key).unwrap_or_else(|| segment_values(d)),
            )
        })
        .collect();
    let series_forms: std::collections::BTreeMap<&str, Values> = series
        .iter()
        .map(|s| {
            let stored = || {
                [
                    ("lang", &s.lang),
                    ("title", &s.title),
                    ("summary", &s.summary),
                    ("dimension", &s.dimension),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
            };
            (s.slug.as_str(), kept("series", &s.slug).unwrap_or_else(stored))
        })
        .collect();
    // The new-item forms keep what was typed only when that form was refused.
    let new_values = |form: &str| -> Values {
        if typed.form == form && !typed.values.contains_key("editing") {
            typed.values.clone()
        } else {
            Values::new()
        }
    };
    let mut new_series = new_values("series");
    new_series
        .entry("lang".to_string())
        .or_insert_with(|| viewer.lang.code().to_string());
    let body = state.platform.render(
        viewer,
        "hub_manage.html",
        context! {
            dims => dims, series => series, experts => experts, times => times, stats => stats, typed => typed, error => error,
            segment_forms => segment_forms, series_forms => series_forms,
            new_segment => new_values("segment"), new_series => new_series,
        },
    )?;
    Ok((status, body).into_response())
}

async fn manage_page(State(state): State<HubState>, viewer: Viewer) -> Result<Response, PageError> {
    render_manage(&state, &viewer, Typed::default(), StatusCode::OK, None).await
}

fn typed(form: &str, p: &Pairs) -> Typed {
    Typed {
        form: form.to_string(),
        values: p
            .iter()
            .filter(|(k, _)| k != "_csrf")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

async fn manage_result(
    state: &HubState,
    viewer: &Viewer,
    form: &str,
    p: &Pairs,
    done: Result<(), ApiError>,
) -> Result<Response, PageError> {
    match done {
        Ok(()) => Ok(see_other(&format!("/hub/manage#{form}s"))),
        Err(e) => {
            // The refusal's own status (422 for a bad value, 409 for a conflict).
            let status = e.status;
            let message = form_problem(e, viewer)?;
            render_manage(state, viewer, typed(form, p), status, Some(message)).await
        }
    }
}

/// A stored segment as its edit form's fields (the choices one per line, as they are typed).
fn segment_values(d: &DimensionView) -> std::collections::BTreeMap<String, String> {
    let mut v = std::collections::BTreeMap::new();
    let mut put = |k: &str, value: String| {
        v.insert(k.to_string(), value);
    };
    put("kind", d.kind.clone());
    put("name_en", d.names.en.clone());
    put("name_zh", d.names.zh.clone());
    put("name_fr", d.names.fr.clone());
    if let (Some(p), Some(r)) = (&d.date_prompts, &d.rule) {
        put("prompt_en", p.en.clone());
        put("prompt_zh", p.zh.clone());
        put("prompt_fr", p.fr.clone());
        put("unit", r.unit.as_str().to_string());
        put("offset", r.offset.to_string());
        put("min", r.min.to_string());
        put("max", r.max.to_string());
    }
    let choices: Vec<String> = d
        .choices
        .iter()
        .map(|c| {
            let mut line = format!("{} | {} | {} | {}", c.key, c.names.en, c.names.zh, c.names.fr);
            if !c.drops.is_empty() {
                line.push_str(" | ");
                line.push_str(&c.drops.join(", "));
            }
            line
        })
        .collect();
    put("choices", choices.join("\n"));
    v
}

/// Choices as typed, one per line: `key | English | 中文 | Français | drops` (names and the
/// comma-separated drops whose orders give the choice may be left out).
fn parse_choices(text: &str) -> Vec<Choice> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut parts = line.split(['|', '｜']).map(str::trim);
            let key = parts.next().unwrap_or("").to_string();
            let en = parts.next().unwrap_or("").to_string();
            let zh = parts.next().unwrap_or("").to_string();
            let fr = parts.next().unwrap_or("").to_string();
            let drops = parts
                .next()
                .unwrap_or("")
                .split([',', '，', ' '])
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect();
            let names = if en.is_empty() && zh.is_empty() && fr.is_empty() {
                Names {
                    en: key.clone(),
                    ..Names::default()
                }
            } else {
                Names { en, zh, fr }
            };
            Choice { key, names, drops }
        })
        .collect()
}

async fn segment_submit(
    State(state): State<HubState>,
    viewer: Viewer,
    CsrfForm(p): CsrfForm<Pairs>,
) -> Result<Response, PageError> {
    let me = viewer.require_staff()?;
    let int = |name: &str| field(&p, name).trim().parse::<i64>();
    let kind = field(&p, "kind").to_string();
    let done = async {
        let (offset, min, max) = if kind == "stage" {
            match (int("offset"), int("min"), int("max")) {
                (Ok(o), Ok(a), Ok(b)) => (o, a, b),
                _ => return Err(crate::error::HubError::StageRule.into()),
            }
        } else {
            (0, 0, 0)
        };
        let r = DimensionRequest {
            key: field(&p, "key").trim().to_string(),
            kind: kind.clone(),
            names: Names {
                en: field(&p, "name_en").into(),
                zh: field(&p, "name_zh").into(),
                fr: field(&p, "name_fr").into(),
            },
            date_prompt: Names {
                en: field(&p, "prompt_en").into(),
                zh: field(&p, "prompt_zh").into(),
                fr: field(&p, "prompt_fr").into(),
            },
            unit: field(&p, "unit").into(),
            offset,
            min,
            max,
            choices: parse_choices(field(&p, "choices")),
        };
        match field(&p, "editing") {
            "" => service::create_dimension(&state, me, &r, viewer.lang).await.map(|_| ()),
            key => service::update_dimension(&state, me, key, &r, viewer.lang)
                .await
                .map(|_| ()),
        }
    }
    .await;
    manage_result(&state, &viewer, "segment", &p, done).await
}

async fn series_submit(
    State(state): State<HubState>,
    viewer: Viewer,
    CsrfForm(p): CsrfForm<Pairs>,
) -> Result<Response, PageError> {
    let me = viewer.require_staff()?;
    let r = SeriesRequest {
        slug: field(&p, "slug").trim().to_string(),
        lang: field(&p, "lang").into(),
        title: field(&p, "title").into(),
        summary: field(&p, "summary").into(),
        dimension: field(&p, "dimension").into(),
    };
    let done = match field(&p, "editing") {
        "" => service::create_series(&state, me, &r).await.map(|_| ()),
        slug => {
            let change = service::SeriesChange {
                lang: r.lang,
                title: r.title,
                summary: r.summary,
                dimension: r.dimension,
            };
            service::update_series(&state, me, slug, &change).await.map(|_| ())
        }
    };
    manage_result(&state, &viewer, "series", &p, done).await
}

async fn expert_submit(
    State(state): State<HubState>,
    viewer: Viewer,
    CsrfForm(p): CsrfForm<Pairs>,
) -> Result<Response, PageError> {
    let me = viewer.require_staff()?;
    let done = if field(&p, "action") == "dismiss" {
        let name = field(&p, "username").to_string();
        match service::dismiss_expert(&state, me, &name).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(crate::error::HubError::NotExpert.with(&[("username", name)])),
            Err(e) => Err(e),
        }
    } else {
        let r = ExpertRequest {
            username: field(&p, "username").into(),
            field: field(&p, "field").into(),
            bio: field(&p, "bio").into(),
        };
        service::appoint_expert(&state, me, &r).await.map(|_| ())
    };
    manage_result(&state, &viewer, "expert", &p, done).await
}

// ---------------------------------------------------------------------------------------------
// Ask an expert

#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
struct AskForm {
    #[serde(default)]
    field: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    faq_consent: Option<String>,
}

async fn render_ask(
    state: &HubState,
    viewer: &Viewer,
    me: &User,
    f: &AskForm,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, PageError> {
    let topics = ask::topics(state).await.map_err(|e| page_err(e, viewer))?;
    let mine = ask::my_questions(state, me).await.map_err(|e| page_err(e, viewer))?;
    let body = state.platform.render(
        viewer,
        "hub_ask.html",
        context! { topics => topics, mine => mine, f => f, error => error },
    )?;
    Ok((status, body).into_response())
}

async fn ask_page(State(state): State<HubState>, viewer: Viewer) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    render_ask(&state, &viewer, me, &AskForm::default(), StatusCode::OK, None).await
}

async fn ask_submit(
    State(state): State<HubState>,
    viewer: Viewer,
    CsrfForm(f): CsrfForm<AskForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    let r = ask::QuestionRequest {
        field: f.field.clone(),
        subject: f.subject.clone(),
        body: f.body.clone(),
        faq_consent: f.faq_consent.is_some(),
    };
    match ask::ask(&state, me, &r, viewer.lang).await {
        Ok(c) => Ok(see_other(&format!("/hub/questions/{}", c.id))),
        Err(e) => {
            let message = form_problem(e, &viewer)?;
            render_ask(&state, &viewer, me, &f, StatusCode::UNPROCESSABLE_ENTITY, Some(message)).await
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_question(
    state: &HubState,
    viewer: &Viewer,
    me: &User,
    id: i64,
    draft: &str,
    faq: Option<&FaqForm>,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, PageError> {
    let c = ask::conversation(state, me, id)
        .await
        .map_err(|e| page_err(e, viewer))?;
    let body = state.platform.render(
        viewer,
        "hub_question.html",
        context! { c => c, draft => draft, faq => faq, error => error },
    )?;
    Ok((status, body).into_response())
}

async fn question_page(
    State(state): State<HubState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    render_question(&state, &viewer, me, id, "", None, StatusCode::OK, None).await
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
struct ReplyForm {
    #[serde(default)]
    body: String,
}

async fn reply_submit(
    State(state): State<HubState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(f): CsrfForm<ReplyForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    let r = ask::MessageRequest { body: f.body.clone() };
    match ask::reply(&state, me, id, &r).await {
        Ok(c) => Ok(see_other(&format!(
            "/hub/questions/{id}#m-{}",
            c.messages.last().map(|m| m.id).unwrap_or(0)
        ))),
        // Another expert took it: this expert no longer sees it, so say so on their queue.
        Err(e) if crate::error::HubError::TakenByAnother.is(&e) => {
            let message = e.text(viewer.lang);
            render_ask(
                &state,
                &viewer,
                me,
                &AskForm::default(),
                StatusCode::CONFLICT,
                Some(message),
            )
            .await
        }
        Err(e) => {
            let status = e.status;
            let message = form_problem(e, &viewer)?;
            render_question(&state, &viewer, me, id, &f.body, None, status, Some(message)).await
        }
    }
}

async fn close_submit(
    State(state): State<HubState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(_): CsrfForm<fanloop_platform::web::EmptyForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    ask::close(&state, me, id).await.map_err(|e| page_err(e, &viewer))?;
    Ok(see_other(&format!("/hub/questions/{id}")))
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
struct ConsentForm {
    #[serde(default)]
    faq_consent: String,
}

async fn consent_submit(
    State(state): State<HubState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(f): CsrfForm<ConsentForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    let r = ask::ConsentRequest {
        faq_consent: f.faq_consent == "1",
    };
    ask::set_consent(&state, me, id, &r)
        .await
        .map_err(|e| page_err(e, &viewer))?;
    Ok(see_other(&format!("/hub/questions/{id}")))
}

#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
struct FaqForm {
    #[serde(default)]
    question: String,
    #[serde(default)]
    answer: String,
}

async fn faq_submit(
    State(state): State<HubState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(f): CsrfForm<FaqForm>,
) -> Result<Response, PageError> {
    let me = viewer.require_user()?;
    let r = ask::FaqRequest {
        question: f.question.clone(),
        answer: f.answer.clone(),
    };
    match ask::publish_faq(&state, me, id, &r).await {
        Ok(entry) => Ok(see_other(&format!("/hub/faq#faq-{}", entry.id))),
        Err(e) => {
            let status = e.status;
            let message = form_problem(e, &viewer)?;
            render_question(&state, &viewer, me, id, "", Some(&f), status, Some(message)).await
        }
    }
}

async fn faq_page(State(state): State<HubState>, viewer: Viewer) -> Result<Response, PageError> {
    let entries = ask::faq(&state).await.map_err(|e| page_err(e, &viewer))?;
    let body = state
        .platform
        .render(&viewer, "hub_faq.html", context! { entries => entries })?;
    Ok(body.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_are_read_one_per_line_with_names_in_any_bar() {
        let c = parse_choices("washer | Washing machine | 洗衣机 | Lave-linge\n\n  dryer｜Dryer\nfridge\n");
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].names.zh, "洗衣机");
        assert_eq!(c[1].key, "dryer");
        assert_eq!(c[1].names.en, "Dryer");
        assert_eq!(c[2].names.en, "fridge");
        let d = parse_choices("phone | Phone | 手机 | Téléphone | x2, x3，x4");
        assert_eq!(d[0].drops, ["x2", "x3", "x4"]);
        assert!(parse_choices("").is_empty());
    }
}
