//! Feedback use cases shared by the pages and the API.

use crate::error::FeedbackError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::FromRef;
use fanloop_platform::accounts::{self, User};
use fanloop_platform::db::now_ms;
use fanloop_platform::i18n::Lang;
use fanloop_platform::notifications::{self, NewNotification, NotificationKind};
use fanloop_platform::web::Upload;
use fanloop_platform::{ApiError, Platform};
use serde::Serialize;
use utoipa::ToSchema;

use crate::dedupe::{self, Decision, Fingerprint, Group};
use crate::domain::{self, ReportInput, Status};
use crate::store::{self, Area, Attachment, Build, FormField, Product, Request};

/// A product's live requests as the duplicate matcher sees them, with the (count, max id, reports)
/// they were read at: when another node (a new report, a merge) changes any, they are read again.
type CachedGroups = ((i64, i64, i64), Arc<Vec<Group>>);

#[derive(Clone)]
pub struct FeedbackState {
    pub platform: Platform,
    duplicates: Arc<Mutex<HashMap<i64, CachedGroups>>>,
}

impl FeedbackState {
    pub fn new(platform: Platform) -> Self {
        FeedbackState {
            platform,
            duplicates: Arc::default(),
        }
    }
}

impl FromRef<FeedbackState> for Platform {
    fn from_ref(state: &FeedbackState) -> Platform {
        state.platform.clone()
    }
}

fn require_staff(user: &User) -> Result<(), ApiError> {
    if user.role.is_staff() {
        Ok(())
    } else {
        Err(FeedbackError::StaffOnly.into())
    }
}

fn require_admin(user: &User) -> Result<(), ApiError> {
    if user.role.is_admin() {
        Ok(())
    } else {
        Err(FeedbackError::AdminOnly.into())
    }
}

fn valid_slug(s: &str) -> bool {
    (2..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

pub async fn product(state: &FeedbackState, slug: &str) -> Result<Product, ApiError> {
    store::product_by_slug(&state.platform.db, slug)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))
}

pub async fn create_product(
    state: &FeedbackState,
    actor: &User,
    slug: &str,
    name: &str,
    description: &str,
    cadence_days: Option<i64>,
    release_weekday: Option<i64>,
) -> Result<Product, ApiError> {
    require_admin(actor)?;
    if !valid_slug(slug) || name.trim().is_empty() || name.chars().count() > 80 {
        return Err(FeedbackError::BadProduct.into());
    }
    let cadence = cadence_days.unwrap_or(7);
    let weekday = release_weekday.unwrap_or(5);
    if !(1..=90).contains(&cadence) || !(1..=7).contains(&weekday) {
        return Err(FeedbackError::BadCadence.into());
    }
    store::create_product(
        &state.platform.db,
        slug,
        name.trim(),
        description.trim(),
        cadence,
        weekday,
    )
    .await?
    .ok_or_else(|| FeedbackError::ProductExists.into())
}

/// A new area: its address, its name and owning team, and optionally both in other languages.
#[derive(Debug, Default, Clone)]
pub struct AreaInput {
    pub slug: String,
    pub name: String,
    pub team: String,
    pub names: store::Names,
    pub team_names: store::Names,
}

/// Names in other languages: only `en`, `zh` and `fr`, each 1–80 characters once trimmed (an
/// empty one is left out).
fn clean_names(names: &store::Names) -> Result<store::Names, ApiError> {
    let mut out = store::Names::new();
    for (lang, sent) in names {
        if Lang::parse(lang).map(|l| l.code()) != Some(lang.as_str()) {
            return Err(FeedbackError::NameLanguage.with(&[("lang", lang.chars().take(16).collect())]));
        }
        // The limit counts what was sent, as the API document states it.
        if sent.chars().count() > 80 {
            return Err(FeedbackError::BadArea.into());
        }
        let name = fanloop_platform::text::single_line(sent).trim().to_string();
        if !name.is_empty() {
            out.insert(lang.clone(), name);
        }
    }
    Ok(out)
}

pub async fn add_area(
    state: &FeedbackState,
    actor: &User,
    product_slug: &str,
    a: &AreaInput,
) -> Result<Area, ApiError> {
    require_admin(actor)?;
    let p = product(state, product_slug).await?;
    let (name, team) = (a.name.trim(), a.team.trim());
    if !valid_slug(&a.slug)
        || name.is_empty()
        || team.is_empty()
        || a.name.chars().count() > 80
        || a.team.chars().count() > 80
    {
        return Err(FeedbackError::BadArea.into());
    }
    let (names, team_names) = (clean_names(&a.names)?, clean_names(&a.team_names)?);
    store::create_area(&state.platform.db, p.id, &a.slug, (name, &names), (team, &team_names))
        .await?
        .ok_or_else(|| FeedbackError::AreaExists.into())
}

pub async fn publish_build(
    state: &FeedbackState,
    actor: &User,
    product_slug: &str,
    version: &str,
    channel: &str,
    notes: &str,
    released_at: Option<i64>,
) -> Result<Build, ApiError> {
    require_staff(actor)?;
    let p = product(state, product_slug).await?;
    let version = version.trim();
    if version.is_empty() || version.chars().count() > 40 || version.contains(char::is_whitespace) {
        return Err(FeedbackError::BadVersion.into());
    }
    if !matches!(channel, "beta" | "stable") {
        return Err(FeedbackError::BadChannel.into());
    }
    if notes.chars().count() > 10_000 {
        return Err(FeedbackError::NotesTooLong.into());
    }
    if released_at.is_some_and(|t| !(0..=domain::LATEST_TIME_MS).contains(&t)) {
        return Err(FeedbackError::BadReleasedAt.into());
    }
    store::create_build(
        &state.platform.db,
        p.id,
        version,
        channel,
        released_at.unwrap_or_else(now_ms),
        notes,
        actor.id,
    )
    .await?
    .ok_or_else(|| FeedbackError::VersionExists.into())
}

pub async fn add_form_field(
    state: &FeedbackState,
    actor: &User,
    product_slug: &str,
    key: &str,
    label: &str,
    required: bool,
) -> Result<(), ApiError> {
    require_admin(actor)?;
    let p = product(state, product_slug).await?;
    if !(1..=40).contains(&key.len())
        || !key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        || label.trim().is_empty()
        || label.chars().count() > 80
    {
        return Err(FeedbackError::BadFormField.into());
    }
    if !store::add_form_field(&state.platform.db, p.id, key, label.trim(), required).await? {
        return Err(FeedbackError::FieldExists.into());
    }
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductOverview {
    pub product: Product,
    pub areas: Vec<Area>,
    /// Builds this viewer may see (beta builds only for beta testers and above), newest first.
    pub builds: Vec<Build>,
    pub current_build: Option<Build>,
    /// When the next build is due on the product's cadence (Unix ms).
    pub next_release_at: i64,
    pub form_fields: Vec<FormField>,
}

pub async fn overview(state: &FeedbackState, slug: &str, viewer: Option<&User>) -> Result<ProductOverview, ApiError> {
    let db = &state.platform.db;
    let product = product(state, slug).await?;
    let include_beta = viewer.is_some_and(|u| domain::may_see_beta(u.role));
    let builds = store::list_builds(db, product.id, include_beta).await?;
    let all = store::list_builds(db, product.id, true).await?;
    let next_release_at = domain::next_release(
        now_ms(),
        all.first().map(|b| b.released_at),
        product.cadence_days,
        product.release_weekday,
    );
    Ok(ProductOverview {
        areas: store::list_areas(db, product.id).await?,
        current_build: builds.first().cloned(),
        builds,
        next_release_at,
        form_fields: store::form_fields(db, product.id).await?,
        product,
    })
}

async fn duplicate_groups(state: &FeedbackState, product_id: i64) -> Result<Arc<Vec<Group>>, ApiError> {
    let db = &state.platform.db;
    let stamp = store::live_requests_stamp(db, product_id).await?;
    if let Some((cached, groups)) = state
        .duplicates
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&product_id)
    {
        if *cached == stamp {
            return Ok(groups.clone());
        }
    }
    let groups: Vec<Group> = store::request_fingerprints(db, product_id)
        .await?
        .iter()
        .map(stored_group)
        .collect();
    let groups = Arc::new(groups);
    state
        .duplicates
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(product_id, (stamp, groups.clone()));
    Ok(groups)
}

/// Whether a fingerprint should carry an embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Semantic {
    /// Lexical only.
    No,
    /// If a core is free now.
    IfFree,
    /// Wait for a core: a filed report is stored with its vector.
    Required,
}

/// A stored request as a matcher group.  A signature of an older format is rebuilt from the
/// request's title (lexically; its vector, if any, is kept).
fn stored_group(r: &store::StoredFingerprint) -> Group {
    let fp = Fingerprint::from_stored(&r.signature, None).unwrap_or_else(|| Fingerprint::of_text(&r.title, None));
    let mean = r.embedding.as_deref().and_then(fanloop_platform::embed::from_bytes);
    Group::stored(r.id, fp, mean, r.report_count.max(1) as usize)
}

/// The fingerprint of a report's text, with its embedding when the model is installed and
/// `semantic` is asked (about 35 ms of one core, so off the async workers, and at most one
/// embedding per core at a time: a burst of requests queues instead of starving the server).
async fn fingerprint(state: &FeedbackState, text: String, semantic: Semantic) -> Result<Fingerprint, ApiError> {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let Some(embedder) = state.platform.embedder().filter(|_| semantic != Semantic::No) else {
        return Ok(Fingerprint::of_text(&text, None));
    };
    let permits = PERMITS
        .get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));
    let _permit = match semantic {
        Semantic::Required => permits.acquire().await.map_err(ApiError::internal)?,
        // Suggestions while typing do not queue: when every core is embedding, they are lexical.
        _ => match permits.try_acquire() {
            Ok(p) => p,
            Err(_) => return Ok(Fingerprint::of_text(&text, None)),
        },
    };
    tokio::task::spawn_blocking(move || Fingerprint::of_text(&text, Some(&embedder)))
        .await
        .map_err(ApiError::internal)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateCandidate {
    pub request: Request,
    /// How likely the matcher finds it that this is the same problem, 0–1.
    pub similarity: f64,
}

pub fn report_text(title: &str, description: &str) -> String {
    format!("{title}\n{description}")
}

pub async fn likely_duplicates(
    state: &FeedbackState,
    product_slug: &str,
    text: &str,
    viewer: Option<&User>,
) -> Result<Vec<DuplicateCandidate>, ApiError> {
    let p = product(state, product_slug).await?;
    if text.chars().count() > 6_000 {
        return Err(FeedbackError::DuplicateText.into());
    }
    let groups = duplicate_groups(state, p.id).await?;
    // Only signed-in callers get the (costly) semantic comparison; anonymous ones the lexical.
    let semantic = if viewer.is_some() {
        Semantic::IfFree
    } else {
        Semantic::No
    };
    let fp = fingerprint(state, text.to_string(), semantic).await?;
    let mut out = Vec::new();
    for (id, m, _) in dedupe::rank(&fp, groups.iter()).into_iter().take(5) {
        if let Some((request, None)) = store::get_request(&state.platform.db, id, viewer.map(|u| u.id)).await? {
            out.push(DuplicateCandidate {
                request,
                similarity: (m.likelihood() * 1000.0).round() / 1000.0,
            });
        }
    }
    Ok(out)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubmitResult {
    pub request_id: i64,
    pub report_id: i64,
    /// True when the report joined an existing request (chosen or detected as a duplicate).
    pub grouped: bool,
    pub url: String,
}

pub async fn submit_report(
    state: &FeedbackState,
    actor: &User,
    product_slug: &str,
    input: &ReportInput,
    attach_to: Option<i64>,
    uploads: &[Upload],
) -> Result<SubmitResult, ApiError> {
    let input = &input.cleaned();
    let db = &state.platform.db;
    let overview = overview(state, product_slug, Some(actor)).await?;
    let fields: Vec<(String, bool)> = overview
        .form_fields
        .iter()
        .map(|f| (f.key.clone(), f.required))
        .collect();
    let kind = domain::validate_report(input, &fields)?;
    let area = overview
        .areas
        .iter()
        .find(|a| a.slug == input.area)
        .ok_or(FeedbackError::UnknownArea)?;
    let build = match input.build.as_deref().filter(|b| !b.is_empty()) {
        // Only builds this fan may see exist for them: a beta build is "not found" to a fan.
        Some(version) => overview
            .builds
            .iter()
            .find(|b| b.version == version)
            .ok_or(FeedbackError::UnknownReportBuild)?,
        None => overview.current_build.as_ref().ok_or(FeedbackError::NoBuild)?,
    };
    if uploads.len() > domain::MAX_ATTACHMENTS {
        return Err(domain::AttachmentProblem::TooMany.into());
    }
    let mut typed = Vec::new();
    for u in uploads {
        let content_type = domain::check_attachment(&u.filename, &u.data)?;
        let name: String = u
            .filename
            .chars()
            .filter(|c| !c.is_control() && !matches!(c, '/' | '\\'))
            .take(120)
            .collect();
        typed.push((name, content_type, &u.data));
    }
    let text = report_text(&input.title, &input.description);
    let fp = fingerprint(state, text, Semantic::Required).await?;
    let groups = duplicate_groups(state, overview.product.id).await?;
    let into = match attach_to {
        Some(id) => match store::get_request(db, id, None).await? {
            Some((r, None)) if r.product_slug == overview.product.slug => Some(id),
            _ => return Err(ApiError::not_found("request")),
        },
        // Grouped without asking only when the matcher is confident (precision ≥ 0.95 on its
        // labelled data); likelier-than-not matches were offered on the form instead.
        None => dedupe::rank(&fp, groups.iter())
            .first()
            .filter(|(_, _, d)| *d == Decision::Same)
            .map(|(id, _, _)| *id),
    };
    let signature = fp.stored_signature();
    let extra_json = serde_json::to_string(&input.extra).map_err(ApiError::internal)?;
    let report = store::NewReport {
        product_id: overview.product.id,
        area_id: area.id,
        build_id: build.id,
        author_id: actor.id,
        kind: kind.as_str(),
        title: input.title.trim(),
        description: input.description.trim(),
        steps: input.steps.trim(),
        expected: input.expected.trim(),
        actual: input.actual.trim(),
        device: input.device.trim(),
        extra_json: &extra_json,
        signature: &signature,
        embedding: fp.vector_bytes(),
    };
    let attachments: Vec<Attachment<'_>> = typed
        .iter()
        .map(|(n, t, d)| Attachment {
            filename: n,
            content_type: t,
            data: d,
        })
        .collect();
    let (request_id, report_id, created) = store::file_report(db, &report, into, &attachments).await?;
    if !created && fp.vector.is_some() {
        // The request's vector is the mean of its reports': it represents the whole request.
        if let Some(mut group) = groups.iter().find(|g| g.id == request_id).cloned() {
            group.absorb(&fp);
            if let Some(bytes) = group.mean_bytes() {
                store::set_request_embedding(db, request_id, &bytes).await?;
            }
        }
    }
    Ok(SubmitResult {
        request_id,
        report_id,
        grouped: !created,
        url: format!("/requests/{request_id}"),
    })
}

pub async fn live_request(state: &FeedbackState, id: i64, viewer: Option<&User>) -> Result<Request, ApiError> {
    match store::get_request(&state.platform.db, id, viewer.map(|u| u.id)).await? {
        Some((r, None)) => Ok(r),
        Some((_, Some(into))) => Err(FeedbackError::Merged.with(&[("request", into.to_string())])),
        None => Err(ApiError::not_found("request")),
    }
}

/// Starts or stops watching a live request.
pub async fn watch(state: &FeedbackState, actor: &User, id: i64, on: bool) -> Result<(), ApiError> {
    live_request(state, id, None).await?;
    Ok(store::set_request_watch(&state.platform.db, actor.id, id, on).await?)
}

pub async fn vote(state: &FeedbackState, actor: &User, id: i64, vote: bool) -> Result<i64, ApiError> {
    live_request(state, id, None).await?;
    Ok(store::set_vote(&state.platform.db, id, actor.id, vote).await?)
}

pub async fn change_status(
    state: &FeedbackState,
    actor: &User,
    id: i64,
    to: Status,
    build_version: Option<&str>,
    reason: Option<&str>,
) -> Result<Request, ApiError> {
    require_staff(actor)?;
    let db = &state.platform.db;
    let request = live_request(state, id, None).await?;
    let p = product(state, &request.product_slug).await?;
    let build_id = match build_version.filter(|b| !b.is_empty()) {
        Some(v) => Some(
            store::build_by_version(db, p.id, v)
                .await?
                .ok_or(FeedbackError::UnknownBuild)?
                .id,
        ),
        None => None,
    };
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > 1_000) {
        return Err(FeedbackError::ReasonTooLong.into());
    }
    domain::check_transition(request.status, to, build_id, reason)?;
    let update = store::StatusUpdate {
        request_id: id,
        from: request.status,
        to,
        build_id,
        reason: reason.filter(|_| to == Status::Declined),
        actor_id: actor.id,
        title: &request.title,
    };
    if !store::change_status(db, &update).await? {
        return Err(FeedbackError::StaleStatus.into());
    }
    if to.is_accepted() {
        promote_reporters(state, id).await?;
    }
    live_request(state, id, Some(actor)).await
}

/// Applies the honor rules to everyone who reported a request, notifying those promoted.
async fn promote_reporters(state: &FeedbackState, request_id: i64) -> Result<(), ApiError> {
    let db = &state.platform.db;
    let rules = store::honor_rules(db).await?;
    for user_id in store::reporters(db, request_id).await? {
        let Some(user) = accounts::find_by_id(db, user_id).await? else {
            continue;
        };
        let (accepted, shipped) = store::reporter_stats(db, user_id).await?;
        if let Some(role) = domain::earned_promotion(user.role, accepted, shipped, &rules) {
            accounts::set_role(db, user_id, role, None, user_id).await?;
            state.platform.auth_cache.drop_account(user_id);
            notifications::notify(
                &db.pool,
                &NewNotification {
                    user_id,
                    kind: NotificationKind::Promoted,
                    actor_id: None,
                    subject: role.as_str(),
                    link: &format!("/u/{}", user.username),
                    detail: None,
                },
            )
            .await?;
        }
    }
    Ok(())
}

pub async fn merge(state: &FeedbackState, actor: &User, from: i64, into: i64) -> Result<Request, ApiError> {
    require_staff(actor)?;
    if from == into {
        return Err(FeedbackError::SameRequest.into());
    }
    let a = live_request(state, from, None).await?;
    let b = live_request(state, into, None).await?;
    if a.product_slug != b.product_slug {
        return Err(FeedbackError::OtherProduct.into());
    }
    store::merge(&state.platform.db, from, into, Some(actor.id)).await?;
    live_request(state, into, Some(actor)).await
}

pub async fn split(state: &FeedbackState, actor: &User, report_id: i64) -> Result<i64, ApiError> {
    require_staff(actor)?;
    store::split(&state.platform.db, report_id, actor.id)
        .await?
        .ok_or_else(|| ApiError::not_found("report"))
}

pub async fn comment(state: &FeedbackState, actor: &User, id: i64, body: &str) -> Result<(), ApiError> {
    let request = live_request(state, id, None).await?;
    let body = fanloop_platform::text::multiline(body);
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 5_000 {
        return Err(FeedbackError::Comment.into());
    }
    store::add_comment(&state.platform.db, id, &request.title, actor.id, body).await?;
    Ok(())
}

/// Requests as the reader sees them: area and team named in the reader's language, and the title
/// of a report written in it when the request groups one (a group of Chinese and French reports
/// reads in French to a French fan); otherwise the request keeps its own title.
pub async fn localize_requests<'a>(
    state: &FeedbackState,
    lang: Lang,
    requests: impl IntoIterator<Item = &'a mut Request>,
) -> Result<(), ApiError> {
    let mut requests: Vec<&mut Request> = requests.into_iter().collect();
    for r in requests.iter_mut() {
        r.localize(lang);
    }
    requests.retain(|r| r.report_count > 1 && fanloop_platform::text::detect_lang(&r.title) != lang);
    if requests.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = requests.iter().map(|r| r.id).collect();
    let titles = store::report_titles(&state.platform.db, &ids).await?;
    for r in requests.iter_mut() {
        if let Some((_, t)) = titles
            .iter()
            .find(|(id, t)| *id == r.id && fanloop_platform::text::detect_lang(t) == lang)
        {
            r.title = t.clone();
        }
    }
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoadmapColumn {
    pub status: Status,
    pub requests: Vec<Request>,
    pub total: i64,
}

pub async fn roadmap(
    state: &FeedbackState,
    product_slug: &str,
    area: Option<&str>,
    viewer: Option<&User>,
) -> Result<Vec<RoadmapColumn>, ApiError> {
    let p = product(state, product_slug).await?;
    let mut columns = Vec::new();
    // What is coming and what came: new and acknowledged requests live on the product page
    // and in triage, not on the roadmap.
    for status in [Status::Planned, Status::InBuild, Status::Shipped] {
        let filter = store::RequestFilter {
            product_id: p.id,
            area,
            status: Some(status),
            build: None,
            sort: "votes",
            limit: 30,
            offset: 0,
        };
        let (requests, total) = store::list_requests(&state.platform.db, &filter, viewer.map(|u| u.id)).await?;
        columns.push(RoadmapColumn {
            status,
            requests,
            total,
        });
    }
    Ok(columns)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangelogEntry {
    pub request: Request,
    /// Fans who reported it.
    pub reported_by: Vec<String>,
    /// Fans who voted for it (reporters excluded).
    pub voted_by: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Changelog {
    pub product: Product,
    pub build: Build,
    pub entries: Vec<ChangelogEntry>,
}

pub async fn changelog(
    state: &FeedbackState,
    product_slug: &str,
    version: &str,
    viewer: Option<&User>,
) -> Result<Changelog, ApiError> {
    let db = &state.platform.db;
    let product = product(state, product_slug).await?;
    let build = store::build_by_version(db, product.id, version)
        .await?
        .ok_or_else(|| ApiError::not_found("build"))?;
    if build.channel == "beta" && !viewer.is_some_and(|u| domain::may_see_beta(u.role)) {
        return Err(ApiError::not_found("build"));
    }
    let mut entries = Vec::new();
    for request in store::shipped_in(db, build.id).await? {
        let (reported_by, voted_by) = store::credited_fans(db, request.id).await?;
        entries.push(ChangelogEntry {
            request,
            reported_by,
            voted_by,
        });
    }
    Ok(Changelog {
        product,
        build,
        entries,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AwardPage {
    pub week: String,
    pub teams: Vec<String>,
    pub results: Vec<store::AwardTally>,
    pub past_winners: Vec<store::AwardTally>,
    pub my_vote: Option<String>,
}

pub async fn award_page(state: &FeedbackState, viewer: Option<&User>) -> Result<AwardPage, ApiError> {
    let db = &state.platform.db;
    let week = domain::iso_week(now_ms());
    let my_vote = match viewer {
        Some(u) => store::award_vote_of(db, &week, u.id).await?,
        None => None,
    };
    Ok(AwardPage {
        teams: store::teams(db).await?,
        results: store::award_results(db, &week).await?,
        past_winners: store::past_winners(db, &week).await?,
        week,
        my_vote,
    })
}

pub async fn award_vote(state: &FeedbackState, actor: &User, team: &str) -> Result<(), ApiError> {
    let db = &state.platform.db;
    if !store::teams(db).await?.iter().any(|t| t == team) {
        return Err(FeedbackError::UnknownTeam.into());
    }
    if !store::award_vote(db, &domain::iso_week(now_ms()), actor.id, team).await? {
        return Err(FeedbackError::AlreadyVoted.into());
    }
    Ok(())
}

/// Regroups every product's requests every hour (a job: one node of the cluster does it).
pub fn start_regrouping(state: FeedbackState) {
    let db = state.platform.db.clone();
    fanloop_platform::jobs::spawn(
        db,
        fanloop_platform::jobs::Schedule {
            name: "feedback.regroup",
            every: std::time::Duration::from_secs(3_600),
            lease: std::time::Duration::from_secs(900),
            delay_first: true,
        },
        move || {
            let state = state.clone();
            async move {
                let mut merged = 0;
                for p in store::list_products(&state.platform.db).await? {
                    merged += recluster(&state, &p.slug)
                        .await
                        .map_err(|e| anyhow::anyhow!("regrouping {}: {e:?}", p.slug))?;
                }
                Ok(format!("{merged} requests merged"))
            }
        },
    );
}

/// Regroups a product's requests: requests whose wholes the matcher finds to be the same
/// problem (with confidence) are merged, most similar first.  Only untriaged (`new`) requests
/// are folded into others; staff decisions on the rest stand.  Returns how many were merged.
pub async fn recluster(state: &FeedbackState, product_slug: &str) -> Result<usize, ApiError> {
    let db = &state.platform.db;
    let p = product(state, product_slug).await?;
    let rows = store::request_fingerprints(db, p.id).await?;
    let mut groups: Vec<Group> = rows.iter().map(stored_group).collect();
    let movable: Vec<bool> = rows.iter().map(|r| r.status == "new").collect();
    let into = tokio::task::spawn_blocking(move || {
        let into = dedupe::merge_groups(&mut groups, |j| movable[j]);
        into.iter().map(|&i| groups[i].id).collect::<Vec<i64>>()
    })
    .await
    .map_err(ApiError::internal)?;
    let mut merged = 0;
    for (r, leader) in rows.iter().zip(into) {
        if r.id != leader {
            store::merge(db, r.id, leader, None).await?;
            merged += 1;
        }
    }
    Ok(merged)
}
