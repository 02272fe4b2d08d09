//! Server-rendered feedback pages; every action is a form post that works without JavaScript.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use fanloop_platform::i18n::Lang;
use fanloop_platform::web::{
    check_multipart_csrf, pager, read_file_field, see_other, CsrfForm, EmptyForm, PageParam, PagePath, PageQuery,
    Upload, Viewer,
};
use fanloop_platform::PageError;
use minijinja::context;
use serde::Deserialize;

use crate::api::{parse_status, REQUESTS_PER_PAGE};
use crate::domain::{ReportInput, Status};
use crate::error::FeedbackError;
use crate::service::{self, FeedbackState};
use crate::store;

pub fn router() -> Router<FeedbackState> {
    Router::new()
        .route("/f", get(products_page).post(create_product_submit))
        .route("/f/{slug}/areas", post(add_area_submit))
        .route("/f/{slug}/fields", post(add_field_submit))
        .route("/f/{slug}", get(product_page))
        .route("/f/{slug}/builds", post(publish_build_submit))
        .route(
            "/f/{slug}/new",
            get(submit_page)
                .post(submit_form)
                .layer(axum::extract::DefaultBodyLimit::max(crate::api::REPORT_BODY_LIMIT)),
        )
        .route("/f/{slug}/roadmap", get(roadmap_page))
        .route("/f/{slug}/triage", get(triage_page).post(triage_submit))
        .route("/f/{slug}/builds/{version}", get(changelog_page))
        .route("/requests/{id}", get(request_page))
        .route("/requests/{id}/vote", post(vote_submit))
        .route("/requests/{id}/unvote", post(unvote_submit))
        .route("/requests/{id}/status", post(status_submit))
        .route("/requests/{id}/merge", get(merge_page).post(merge_submit))
        .route("/requests/{id}/comments", post(comment_submit))
        .route("/requests/{id}/watch", post(watch_submit))
        .route("/reports/{id}/split", post(split_submit))
        .route("/awards", get(award_page))
        .route("/awards/vote", post(award_submit))
}

/// Areas (and their teams) named in the reader's language.
fn localized_areas(areas: Vec<store::Area>, lang: Lang) -> Vec<store::Area> {
    areas.into_iter().map(|a| a.localized(lang)).collect()
}

fn statuses() -> Vec<&'static str> {
    Status::ALL.iter().map(|s| s.as_str()).collect()
}

async fn products_page(State(state): State<FeedbackState>, viewer: Viewer) -> Result<Html<String>, PageError> {
    let products = store::list_products(&state.platform.db).await?;
    state
        .platform
        .render(&viewer, "products.html", context! { products => products })
}

async fn product_page(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
) -> Result<Html<String>, PageError> {
    render_product(&state, &viewer, &slug, None, None).await
}

/// The product page; after a refused build, with the message and what was typed.
async fn render_product(
    state: &FeedbackState,
    viewer: &Viewer,
    slug: &str,
    build_error: Option<String>,
    build_form: Option<&BuildForm>,
) -> Result<Html<String>, PageError> {
    let mut o = service::overview(state, slug, viewer.user.as_ref()).await?;
    o.areas = localized_areas(std::mem::take(&mut o.areas), viewer.lang);
    let filter = store::RequestFilter {
        product_id: o.product.id,
        area: None,
        status: None,
        build: None,
        sort: "votes",
        limit: 15,
        offset: 0,
    };
    let (mut top, _) = store::list_requests(&state.platform.db, &filter, viewer.user.as_ref().map(|u| u.id)).await?;
    service::localize_requests(state, viewer.lang, top.iter_mut()).await?;
    state.platform.render(
        viewer,
        "product.html",
        context! { o => o, top => top, build_error => build_error, bf => build_form },
    )
}

#[derive(Deserialize)]
pub struct ProductForm {
    slug: String,
    name: String,
    #[serde(default)]
    description: String,
}

async fn create_product_submit(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    CsrfForm(f): CsrfForm<ProductForm>,
) -> Result<Response, PageError> {
    let p = service::create_product(
        &state,
        viewer.require_user()?,
        &f.slug,
        &f.name,
        &f.description,
        None,
        None,
    )
    .await?;
    Ok(see_other(&format!("/f/{}", p.slug)))
}

#[derive(Deserialize)]
pub struct AreaForm {
    slug: String,
    name: String,
    team: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    name_fr: String,
    #[serde(default)]
    team_zh: String,
    #[serde(default)]
    team_en: String,
    #[serde(default)]
    team_fr: String,
}

async fn add_area_submit(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(product): PagePath<String>,
    CsrfForm(f): CsrfForm<AreaForm>,
) -> Result<Response, PageError> {
    let names = |pairs: [(&str, &String); 3]| {
        pairs
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let input = service::AreaInput {
        names: names([("zh", &f.name_zh), ("en", &f.name_en), ("fr", &f.name_fr)]),
        team_names: names([("zh", &f.team_zh), ("en", &f.team_en), ("fr", &f.team_fr)]),
        slug: f.slug,
        name: f.name,
        team: f.team,
    };
    service::add_area(&state, viewer.require_user()?, &product, &input).await?;
    Ok(see_other(&format!("/f/{product}")))
}

#[derive(Deserialize)]
pub struct FieldForm {
    key: String,
    label: String,
    required: Option<String>,
}

async fn add_field_submit(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(product): PagePath<String>,
    CsrfForm(f): CsrfForm<FieldForm>,
) -> Result<Response, PageError> {
    service::add_form_field(
        &state,
        viewer.require_user()?,
        &product,
        &f.key,
        &f.label,
        f.required.is_some(),
    )
    .await?;
    Ok(see_other(&format!("/f/{product}")))
}

#[derive(Deserialize, serde::Serialize)]
pub struct BuildForm {
    version: String,
    channel: String,
    #[serde(default)]
    notes: String,
}

async fn publish_build_submit(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    CsrfForm(f): CsrfForm<BuildForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    match service::publish_build(&state, user, &slug, &f.version, &f.channel, &f.notes, None).await {
        Ok(_) => Ok(see_other(&format!("/f/{slug}"))),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::CONFLICT => Ok((
            e.status,
            render_product(&state, &viewer, &slug, Some(e.text(viewer.lang)), Some(&f)).await?,
        )
            .into_response()),
        Err(e) => Err(PageError::localized(e, viewer.lang)),
    }
}

async fn submit_page(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
) -> Result<Response, PageError> {
    if viewer.user.is_none() {
        return Ok(see_other(&format!("/signin?next=/f/{slug}/new")));
    }
    let mut o = service::overview(&state, &slug, viewer.user.as_ref()).await?;
    o.areas = localized_areas(std::mem::take(&mut o.areas), viewer.lang);
    let f = context! { kind => "bug", build => o.current_build.as_ref().map(|b| b.version.clone()) };
    Ok(state
        .platform
        .render(&viewer, "submit.html", context! { o => o, f => f })?
        .into_response())
}

/// Reads the multipart report form: fields, the `_csrf` token and up to three files.
/// The report form as sent: what was typed, its files, and the files kept from an earlier try.
struct SentReport {
    input: ReportInput,
    csrf: String,
    action: String,
    uploads: Vec<Upload>,
    /// The form's token for files kept when it was refused, and which of them are still ticked.
    upload_token: String,
    keep: Vec<i64>,
}

async fn read_form(mut multipart: Multipart, lang: Lang) -> Result<SentReport, PageError> {
    let mut input = ReportInput::default();
    let (mut csrf, mut action, mut uploads) = (String::new(), String::new(), Vec::new());
    let (mut upload_token, mut keep) = (String::new(), Vec::new());
    while let Some(field) = multipart.next_field().await.map_err(|e| {
        tracing::debug!("unreadable report form: {e}");
        PageError::localized(FeedbackError::InvalidForm.into(), lang)
    })? {
        let name = field.name().unwrap_or("").to_string();
        if name == "attachments" {
            uploads.extend(read_file_field(field).await?);
            continue;
        }
        let value = field
            .text()
            .await
            .map_err(|_| PageError::localized(FeedbackError::FormNotUtf8.into(), lang))?;
        match name.as_str() {
            "_csrf" => csrf = value,
            "action" => action = value,
            "upload_token" => upload_token = value,
            "keep" if keep.len() < 20 => keep.extend(value.parse::<i64>().ok()),
            "kind" => input.kind = value,
            "area" => input.area = value,
            "build" => input.build = Some(value),
            "title" => input.title = value,
            "description" => input.description = value,
            "steps" => input.steps = value,
            "expected" => input.expected = value,
            "actual" => input.actual = value,
            "device" => input.device = value,
            other => {
                if let Some(key) = other.strip_prefix("extra.") {
                    if !value.trim().is_empty() {
                        input.extra.insert(key.to_string(), value);
                    }
                }
            }
        }
    }
    Ok(SentReport {
        input,
        csrf,
        action,
        uploads,
        upload_token,
        keep,
    })
}

async fn submit_form(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    let sent = read_form(multipart, viewer.lang).await?;
    check_multipart_csrf(&viewer, &sent.csrf)?;
    let (input, db) = (&sent.input, &state.platform.db);
    let mut o = service::overview(&state, &slug, Some(user)).await?;
    o.areas = localized_areas(std::mem::take(&mut o.areas), viewer.lang);
    // Files kept from an earlier try of this form (a refusal, or a duplicate check) that are
    // still ticked come along with the new ones.
    let token_ok = sent.upload_token.len() == 64 && sent.upload_token.bytes().all(|b| b.is_ascii_hexdigit());
    let token = if token_ok {
        sent.upload_token.clone()
    } else {
        fanloop_platform::auth::new_token()
    };
    let kept: Vec<store::PendingUpload> = store::kept_uploads(db, &token, user.id, true)
        .await?
        .into_iter()
        .filter(|k| sent.keep.contains(&k.id))
        .collect();
    let mut uploads: Vec<Upload> = kept
        .iter()
        .map(|k| Upload {
            filename: k.filename.clone(),
            data: k.data.clone(),
        })
        .collect();
    uploads.extend(sent.uploads.iter().cloned());
    // On the way back to the form: keep what is usable, under the form's token.
    let keep_for_next_try = |candidates: Vec<service::DuplicateCandidate>,
                             status: StatusCode,
                             error: Option<String>,
                             errors: std::collections::BTreeMap<String, String>| {
        let (state, viewer, o, token, kept) = (&state, &viewer, &o, &token, &kept);
        let new_files: Vec<(String, String, Vec<u8>)> = sent
            .uploads
            .iter()
            .filter_map(|u| {
                crate::domain::check_attachment(&u.filename, &u.data)
                    .ok()
                    .map(|t| (u.filename.clone(), t.to_string(), u.data.clone()))
            })
            .collect();
        async move {
            let db = &state.platform.db;
            store::drop_kept_uploads_except(db, token, user.id, &kept.iter().map(|k| k.id).collect::<Vec<_>>()).await?;
            store::keep_uploads(db, token, user.id, &new_files, crate::domain::MAX_ATTACHMENTS).await?;
            let files = store::kept_uploads(db, token, user.id, false).await?;
            let f = context! { kind => input.kind.clone(), area => input.area.clone(), build => input.build.clone(), title => input.title.clone(),
            description => input.description.clone(), steps => input.steps.clone(), expected => input.expected.clone(),
            actual => input.actual.clone(), device => input.device.clone(), extra => input.extra.clone() };
            let page = state.platform.render(
                viewer,
                "submit.html",
                context! { o => o, f => f, error => error, errors => errors, candidates => candidates, upload_token => token, kept => files },
            )?;
            Ok::<Response, PageError>((status, page).into_response())
        }
    };
    let text = service::report_text(&input.title, &input.description);
    if sent.action == "check" {
        let candidates = service::likely_duplicates(&state, &slug, &text, Some(user)).await?;
        return keep_for_next_try(candidates, StatusCode::OK, None, Default::default()).await;
    }
    // Every problem of the form at once, next to its field.
    let fields: Vec<(String, bool)> = o.form_fields.iter().map(|f| (f.key.clone(), f.required)).collect();
    let problems = crate::domain::report_problems(&input.cleaned(), &fields);
    if !problems.is_empty() {
        let mut errors = std::collections::BTreeMap::new();
        for (field, problem) in problems {
            errors
                .entry(field)
                .or_insert_with(|| fanloop_platform::ApiError::from(problem).text(viewer.lang));
        }
        let candidates = service::likely_duplicates(&state, &slug, &text, Some(user))
            .await
            .unwrap_or_default();
        let error = Some(viewer.t(&state.platform, "form.fix_below"));
        return keep_for_next_try(candidates, StatusCode::UNPROCESSABLE_ENTITY, error, errors).await;
    }
    match service::submit_report(&state, user, &slug, input, None, &uploads).await {
        Ok(result) => {
            store::drop_kept_uploads_except(db, &token, user.id, &[]).await?;
            Ok(see_other(&format!("{}?filed=1", result.url)))
        }
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
            // The likely duplicates stay in view: the fan may +1 one instead.
            let candidates = if input.title.trim().is_empty() && input.description.trim().is_empty() {
                Vec::new()
            } else {
                service::likely_duplicates(&state, &slug, &text, Some(user))
                    .await
                    .unwrap_or_default()
            };
            keep_for_next_try(
                candidates,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(e.text(viewer.lang)),
                Default::default(),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct AreaParam {
    area: Option<String>,
}

async fn roadmap_page(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    PageQuery(q): PageQuery<AreaParam>,
) -> Result<Html<String>, PageError> {
    let product = service::product(&state, &slug).await?;
    let area = q.area.filter(|a| !a.is_empty());
    let mut columns = service::roadmap(&state, &slug, area.as_deref(), viewer.user.as_ref()).await?;
    service::localize_requests(
        &state,
        viewer.lang,
        columns.iter_mut().flat_map(|c| c.requests.iter_mut()),
    )
    .await?;
    let areas = localized_areas(store::list_areas(&state.platform.db, product.id).await?, viewer.lang);
    state.platform.render(
        &viewer,
        "roadmap.html",
        context! { product => product, columns => columns, areas => areas, area => area.unwrap_or_default() },
    )
}

async fn changelog_page(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath((slug, version)): PagePath<(String, String)>,
) -> Result<Html<String>, PageError> {
    let mut c = service::changelog(&state, &slug, &version, viewer.user.as_ref()).await?;
    service::localize_requests(&state, viewer.lang, c.entries.iter_mut().map(|e| &mut e.request)).await?;
    let dashboard = match &viewer.user {
        Some(u) if u.role.is_staff() => Some(store::build_dashboard(&state.platform.db, &c.build).await?),
        _ => None,
    };
    state
        .platform
        .render(&viewer, "changelog.html", context! { c => c, dashboard => dashboard })
}

async fn request_page(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let db = &state.platform.db;
    // A request merged into another sends the reader to the one that holds it now.
    let r = match store::get_request(db, id, viewer.user.as_ref().map(|u| u.id)).await? {
        Some((mut r, None)) => {
            service::localize_requests(&state, viewer.lang, [&mut r]).await?;
            r
        }
        Some((_, Some(into))) => return Ok(see_other(&format!("/requests/{into}"))),
        None => return Err(PageError::not_found()),
    };
    let product = service::product(&state, &r.product_slug).await?;
    let builds = store::list_builds(db, product.id, true).await?;
    let watching = match &viewer.user {
        Some(u) => store::watches_request(db, u.id, id).await?,
        None => false,
    };
    let page = state.platform.render(
        &viewer,
        "request.html",
        context! {
            r => r,
            reports => store::reports_of(db, id).await?,
            history => store::status_history(db, id).await?,
            comments => store::comments(db, id).await?,
            watching => watching,
            statuses => statuses(),
            builds => builds,
        },
    )?;
    Ok(page.into_response())
}

async fn vote_submit(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    service::vote(&state, viewer.require_user()?, id, true).await?;
    Ok(see_other(&format!("/requests/{id}")))
}

async fn unvote_submit(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    service::vote(&state, viewer.require_user()?, id, false).await?;
    Ok(see_other(&format!("/requests/{id}")))
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
    build: Option<String>,
    reason: Option<String>,
}

async fn status_submit(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(f): CsrfForm<StatusForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    let status = Status::parse(&f.status)
        .ok_or_else(|| PageError::localized(FeedbackError::UnknownStatus.into(), viewer.lang))?;
    service::change_status(&state, user, id, status, f.build.as_deref(), f.reason.as_deref()).await?;
    Ok(see_other(&format!("/requests/{id}")))
}

#[derive(Deserialize, Default)]
pub struct MergeSearch {
    #[serde(default)]
    q: String,
}

/// Staff look for the request to merge this one into: by words of its title or its number; with
/// nothing typed, the requests most like this one are offered.
async fn merge_page(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    PageQuery(search): PageQuery<MergeSearch>,
) -> Result<Html<String>, PageError> {
    let user = viewer.require_staff()?;
    let db = &state.platform.db;
    let Some((mut r, None)) = store::get_request(db, id, Some(user.id)).await? else {
        return Err(PageError::not_found());
    };
    service::localize_requests(&state, viewer.lang, [&mut r]).await?;
    let product = service::product(&state, &r.product_slug).await?;
    let q: String = search.q.chars().take(200).collect();
    let mut candidates: Vec<store::Request> = if q.trim().is_empty() {
        service::likely_duplicates(&state, &product.slug, &r.title, Some(user))
            .await?
            .into_iter()
            .map(|c| c.request)
            .filter(|c| c.id != id)
            .collect()
    } else {
        store::search_requests(db, product.id, &q, id, 20).await?
    };
    service::localize_requests(&state, viewer.lang, candidates.iter_mut()).await?;
    state.platform.render(
        &viewer,
        "merge.html",
        context! { r => r, mq => q, candidates => candidates, suggested => search.q.trim().is_empty() },
    )
}

#[derive(Deserialize)]
pub struct MergeForm {
    into: i64,
}

async fn merge_submit(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(f): CsrfForm<MergeForm>,
) -> Result<Response, PageError> {
    let r = service::merge(&state, viewer.require_user()?, id, f.into).await?;
    Ok(see_other(&format!("/requests/{}", r.id)))
}

#[derive(Deserialize)]
pub struct CommentForm {
    body: String,
}

async fn comment_submit(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(f): CsrfForm<CommentForm>,
) -> Result<Response, PageError> {
    service::comment(&state, viewer.require_user()?, id, &f.body).await?;
    Ok(see_other(&format!("/requests/{id}")))
}

#[derive(Deserialize)]
pub struct WatchForm {
    #[serde(default)]
    on: String,
}

/// Watch a request (its comments and status changes notify you) or stop.
async fn watch_submit(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(f): CsrfForm<WatchForm>,
) -> Result<Response, PageError> {
    service::watch(&state, viewer.require_user()?, id, f.on == "1").await?;
    Ok(see_other(&format!("/requests/{id}")))
}

async fn split_submit(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let new_id = service::split(&state, viewer.require_user()?, id).await?;
    Ok(see_other(&format!("/requests/{new_id}")))
}

async fn award_page(State(state): State<FeedbackState>, viewer: Viewer) -> Result<Html<String>, PageError> {
    let a = service::award_page(&state, viewer.user.as_ref()).await?;
    // Votes are kept under each team's canonical name; readers see it in their language.
    let labels: std::collections::BTreeMap<String, String> = store::team_names(&state.platform.db)
        .await?
        .into_iter()
        .map(|(team, names)| (team.clone(), store::name_in(&names, viewer.lang, &team)))
        .collect();
    state
        .platform
        .render(&viewer, "award.html", context! { a => a, labels => labels })
}

#[derive(Deserialize)]
pub struct AwardForm {
    team: String,
}

async fn award_submit(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    CsrfForm(f): CsrfForm<AwardForm>,
) -> Result<Response, PageError> {
    service::award_vote(&state, viewer.require_user()?, &f.team).await?;
    Ok(see_other("/awards"))
}

#[derive(Deserialize, Default)]
pub struct TriageQuery {
    #[serde(default)]
    area: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    build: String,
    #[serde(default)]
    sort: String,
    page: Option<i64>,
}

async fn render_triage(
    state: &FeedbackState,
    viewer: &Viewer,
    slug: &str,
    q: TriageQuery,
    bulk: Option<(crate::api::BulkResult, Status)>,
) -> Result<Html<String>, PageError> {
    let user = viewer.require_user()?;
    if !user.role.is_staff() {
        return Err(PageError::forbidden());
    }
    let db = &state.platform.db;
    let product = service::product(state, slug).await?;
    let page = PageParam { page: q.page };
    // Triage starts from what nobody has looked at yet; "all" lifts the filter.
    let status = if q.status.is_empty() {
        "new".to_string()
    } else {
        q.status.clone()
    };
    let filter = store::RequestFilter {
        product_id: product.id,
        area: Some(q.area.as_str()).filter(|s| !s.is_empty()),
        status: if status == "all" {
            None
        } else {
            parse_status(Some(&status))?
        },
        build: Some(q.build.as_str()).filter(|s| !s.is_empty()),
        sort: if q.sort.is_empty() { "votes" } else { &q.sort },
        limit: REQUESTS_PER_PAGE,
        offset: page.offset(REQUESTS_PER_PAGE),
    };
    let (mut requests, total) = store::list_requests(db, &filter, Some(user.id)).await?;
    service::localize_requests(state, viewer.lang, requests.iter_mut()).await?;
    let q = context! { area => q.area, status => status, build => q.build, sort => if q.sort.is_empty() { "votes".to_string() } else { q.sort } };
    state.platform.render(
        viewer,
        "triage.html",
        context! {
            product => &product,
            areas => localized_areas(store::list_areas(db, product.id).await?, viewer.lang),
            builds => store::list_builds(db, product.id, true).await?,
            statuses => statuses(),
            requests => requests,
            q => q,
            bulk => bulk.map(|(b, status)| context! { changed => b.changed, skipped => b.skipped, status => status.as_str() }),
            pager => pager(page.number(), REQUESTS_PER_PAGE, total),
        },
    )
}

async fn triage_page(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    PageQuery(q): PageQuery<TriageQuery>,
) -> Result<Html<String>, PageError> {
    render_triage(&state, &viewer, &slug, q, None).await
}

/// Bulk status change: `ids` repeats, so the form is read as pairs rather than a struct.
async fn triage_submit(
    State(state): State<FeedbackState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Html<String>, PageError> {
    let user = viewer.require_user()?;
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let status = get("status")
        .and_then(Status::parse)
        .ok_or_else(|| PageError::localized(FeedbackError::UnknownStatus.into(), viewer.lang))?;
    let ids: Vec<i64> = pairs
        .iter()
        .filter(|(k, _)| k == "ids")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    if ids.is_empty() {
        return Err(PageError::localized(FeedbackError::NoneSelected.into(), viewer.lang));
    }
    let mut bulk = crate::api::BulkResult {
        changed: Vec::new(),
        skipped: Vec::new(),
    };
    for id in ids.into_iter().take(200) {
        match service::change_status(&state, user, id, status, get("build"), get("reason")).await {
            Ok(_) => bulk.changed.push(id),
            Err(e) if e.status.is_client_error() => bulk.skipped.push(crate::api::Skipped {
                id,
                reason: e.text(viewer.lang),
            }),
            Err(e) => return Err(e.into()),
        }
    }
    // The list comes back as it was filtered, with what happened above it.
    let q = TriageQuery {
        area: get("f_area").unwrap_or_default().to_string(),
        status: get("f_status").unwrap_or_default().to_string(),
        build: get("f_build").unwrap_or_default().to_string(),
        sort: get("f_sort").unwrap_or_default().to_string(),
        page: get("f_page")
            .and_then(|p| p.parse().ok())
            .filter(|p: &i64| (1..=100_000).contains(p)),
    };
    render_triage(&state, &viewer, &slug, q, Some((bulk, status))).await
}

/// The profile section listing the builds a fan's feedback shipped in.
pub struct CreditsPanel;

impl fanloop_platform::web::ProfilePanel for CreditsPanel {
    fn render<'a>(
        &'a self,
        platform: &'a fanloop_platform::Platform,
        lang: fanloop_platform::i18n::Lang,
        user: &'a fanloop_platform::accounts::User,
    ) -> fanloop_platform::web::PanelFuture<'a> {
        Box::pin(async move {
            let credits = store::credits_of(&platform.db, user.id).await?;
            if credits.is_empty() {
                return Ok(None);
            }
            Ok(Some(platform.render_fragment(
                lang,
                "fb_credits.html",
                context! { credits => credits },
            )?))
        })
    }
}
