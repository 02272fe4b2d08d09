//! Vetting use cases, shared by the pages, the API and the command line.  Vetting is a staff
//! tool: every use case checks the caller is staff.

use axum::extract::FromRef;
use fanloop_community::search::{SearchIndex, SearchQuery};
use fanloop_platform::accounts::User;
use fanloop_platform::db::now_ms;
use fanloop_platform::web::Platform;
use fanloop_platform::{ApiError, Db};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{self, VettingError};
use crate::import::{self, Format};
use crate::lexicon::{AliasKind, Matcher};
use crate::report::{self, CommunityPost, Report};
use crate::store::{self, Aliases, Brand, Candidate, ImportSummary};

#[derive(Clone)]
pub struct VettingState {
    pub platform: Platform,
    pub search: SearchIndex,
}

impl FromRef<VettingState> for Platform {
    fn from_ref(state: &VettingState) -> Platform {
        state.platform.clone()
    }
}

/// Largest file accepted by the upload page and the API (a few years of daily posting).
pub const MAX_IMPORT_BYTES: usize = 8 * 1024 * 1024;
/// Request body limit of the import routes: the file plus room for the form's other fields.
pub const IMPORT_BODY_LIMIT: usize = MAX_IMPORT_BYTES + 64 * 1024;
/// Community posts read for the "what our community says" section.
pub const COMMUNITY_SCAN: usize = 200;

pub fn require_staff(user: &User) -> Result<(), ApiError> {
    if user.role.is_staff() {
        Ok(())
    } else {
        Err(VettingError::StaffOnly.into())
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct BrandRequest {
    /// 2–40 lowercase letters, digits or dashes.
    #[schema(pattern = r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$", min_length = 2, max_length = 40)]
    pub slug: String,
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 100)]
    pub name: String,
    #[serde(default)]
    pub aliases: Aliases,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct BrandUpdate {
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 100)]
    pub name: String,
    pub aliases: Aliases,
}

pub fn validate_slug(slug: &str) -> Result<(), ApiError> {
    if fanloop_platform::web::is_url_slug(slug) {
        Ok(())
    } else {
        Err(VettingError::Slug.into())
    }
}

/// Names of one kind a brand profile lists at most (the OpenAPI document says so).
pub const MAX_ALIASES_PER_KIND: usize = 100;

/// Trims, drops blanks and duplicates, and checks lengths.
pub fn clean_aliases(mut aliases: Aliases) -> Result<Aliases, ApiError> {
    let mut total = 0;
    for list in [
        &mut aliases.brand,
        &mut aliases.products,
        &mut aliases.executives,
        &mut aliases.fans,
        &mut aliases.fan_slurs,
    ] {
        if list.len() > MAX_ALIASES_PER_KIND {
            return Err(VettingError::AliasesOfKind.with(&[("max", MAX_ALIASES_PER_KIND.to_string())]));
        }
        let mut clean: Vec<String> = Vec::new();
        for a in list.iter() {
            let a = fanloop_platform::text::single_line(a);
            let a = a.trim();
            if a.is_empty() || clean.iter().any(|c| c.eq_ignore_ascii_case(a)) {
                continue;
            }
            if a.chars().count() > 100 {
                return Err(VettingError::AliasTooLong.with(&[("alias", a.to_string())]));
            }
            clean.push(a.to_string());
        }
        total += clean.len();
        *list = clean;
    }
    if total > 500 {
        return Err(VettingError::TooManyAliases.into());
    }
    Ok(aliases)
}

fn validate_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(VettingError::Name.into());
    }
    Ok(name.to_string())
}

pub async fn create_brand(state: &VettingState, me: &User, r: &BrandRequest) -> Result<Brand, ApiError> {
    require_staff(me)?;
    validate_slug(&r.slug)?;
    let name = validate_name(&r.name)?;
    let aliases = clean_aliases(r.aliases.clone())?;
    store::create_brand(&state.platform.db, &r.slug, &name, &aliases)
        .await?
        .ok_or_else(|| VettingError::SlugTaken.with(&[("slug", r.slug.clone())]))
}

pub async fn brand(db: &Db, slug: &str) -> Result<Brand, ApiError> {
    store::brand_by_slug(db, slug)
        .await?
        .ok_or_else(|| ApiError::not_found("brand"))
}

pub async fn update_brand(state: &VettingState, me: &User, slug: &str, r: &BrandUpdate) -> Result<Brand, ApiError> {
    require_staff(me)?;
    let brand = brand(&state.platform.db, slug).await?;
    let name = validate_name(&r.name)?;
    let aliases = clean_aliases(r.aliases.clone())?;
    store::update_brand(&state.platform.db, brand.id, &name, &aliases).await?;
    Ok(Brand { name, ..brand })
}

/// Matches the brand's names (its display name included) in posts.
pub fn brand_matcher(brand: &Brand, aliases: &Aliases) -> Matcher {
    let mut all: Vec<(AliasKind, &str)> = vec![(AliasKind::Brand, brand.name.as_str())];
    all.extend(aliases.brand.iter().map(|a| (AliasKind::Brand, a.as_str())));
    all.extend(aliases.products.iter().map(|a| (AliasKind::Brand, a.as_str())));
    all.extend(aliases.executives.iter().map(|a| (AliasKind::Brand, a.as_str())));
    all.extend(aliases.fans.iter().map(|a| (AliasKind::Fans, a.as_str())));
    all.extend(aliases.fan_slurs.iter().map(|a| (AliasKind::FanSlur, a.as_str())));
    Matcher::new(all)
}

pub async fn import(
    state: &VettingState,
    me: Option<&User>,
    file_name: &str,
    bytes: &[u8],
    format: Option<Format>,
) -> Result<ImportSummary, ApiError> {
    if let Some(me) = me {
        require_staff(me)?;
    }
    import_into(&state.platform.db, me.map(|u| u.id), file_name, bytes, format).await
}

/// The import itself, also used by `fanloop import posts` (which has no signed-in user).
pub async fn import_into(
    db: &Db,
    user_id: Option<i64>,
    file_name: &str,
    bytes: &[u8],
    format: Option<Format>,
) -> Result<ImportSummary, ApiError> {
    if bytes.is_empty() {
        return Err(VettingError::EmptyFile.into());
    }
    if bytes.len() > MAX_IMPORT_BYTES {
        let mib = MAX_IMPORT_BYTES / 1024 / 1024;
        return Err(VettingError::FileTooLarge.with(&[("mib", mib.to_string())]));
    }
    let content = std::str::from_utf8(bytes)
        .map_err(|e| VettingError::NotUtf8.with(&[("offset", e.valid_up_to().to_string())]))?;
    let format = format.unwrap_or_else(|| Format::guess(file_name, content));
    let parsed = import::parse(content, format);
    if parsed.posts.is_empty() {
        // Nothing usable: say why instead of recording an empty import.
        return Err(error::no_usable_rows(&parsed.errors));
    }
    let name: String = file_name.chars().take(200).collect();
    Ok(store::import(db, &name, user_id, &parsed).await?)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CandidateReport {
    pub brand: Brand,
    pub candidate: Candidate,
    pub report: Report,
    pub reviews: Vec<store::Review>,
}

pub async fn report(
    state: &VettingState,
    me: &User,
    slug: &str,
    candidate_id: i64,
) -> Result<CandidateReport, ApiError> {
    require_staff(me)?;
    let db = &state.platform.db;
    let brand = brand(db, slug).await?;
    let candidate = store::candidate(db, candidate_id)
        .await?
        .ok_or_else(|| ApiError::not_found("candidate"))?;
    let aliases = store::aliases(db, brand.id).await?;
    let posts = store::candidate_posts(db, candidate.id, &candidate.platform).await?;
    let community = community_mentions(state, &candidate.handle).await?;
    let matcher = brand_matcher(&brand, &aliases);
    let subject = Matcher::new([(AliasKind::Subject, candidate.handle.as_str())]);
    let (brand_name, handle) = (brand.name.clone(), candidate.handle.clone());
    // Jieba segmentation of a few thousand posts is CPU work: keep it off the async workers.
    let report = tokio::task::spawn_blocking(move || {
        report::build(&brand_name, &handle, &matcher, &subject, &posts, &community, now_ms())
    })
    .await
    .map_err(ApiError::internal)?;
    let reviews = store::reviews(db, brand.id, candidate.id).await?;
    Ok(CandidateReport {
        brand,
        candidate,
        report,
        reviews,
    })
}

/// Forum posts that name the candidate's handle.
async fn community_mentions(state: &VettingState, handle: &str) -> Result<Vec<CommunityPost>, ApiError> {
    let hits = state
        .search
        .search(&SearchQuery {
            text: handle.to_string(),
            limit: COMMUNITY_SCAN,
            ..SearchQuery::default()
        })
        .map_err(ApiError::internal)?;
    let needle = handle.to_lowercase();
    let mut out = Vec::new();
    for hit in hits.hits {
        let Some(record) = fanloop_community::store::get_post(&state.platform.db, hit.post_id).await? else {
            continue;
        };
        let p = record.post;
        if p.deleted || record.thread_deleted || !p.body.to_lowercase().contains(&needle) {
            continue;
        }
        out.push(CommunityPost {
            post_id: p.id,
            thread_id: p.thread_id,
            author: p.author.username,
            created_at: p.created_at,
            text: p.body,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ReviewRequest {
    /// clear, review or high_risk: the human's decision, which may differ from the suggestion.
    #[schema(pattern = r"^(clear|review|high_risk)$")]
    pub decision: String,
    /// Why (required when the decision differs from the suggested verdict).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: String,
}

pub async fn review(
    state: &VettingState,
    me: &User,
    slug: &str,
    candidate_id: i64,
    r: &ReviewRequest,
) -> Result<CandidateReport, ApiError> {
    let mut current = report(state, me, slug, candidate_id).await?;
    let decision = match r.decision.as_str() {
        "clear" | "review" | "high_risk" => r.decision.as_str(),
        _ => return Err(VettingError::Decision.into()),
    };
    // The limit counts what was sent, as the API document says (blank padding included).
    if r.note.chars().count() > 2000 {
        return Err(VettingError::NoteTooLong.into());
    }
    let note = r.note.trim();
    let suggested = current.report.verdict.as_str();
    if decision != suggested && note.is_empty() {
        return Err(VettingError::NoteRequired.into());
    }
    store::add_review(
        &state.platform.db,
        current.brand.id,
        candidate_id,
        suggested,
        decision,
        note,
        me.id,
    )
    .await?;
    // A review does not change the report, only the list of decisions.
    current.reviews = store::reviews(&state.platform.db, current.brand.id, candidate_id).await?;
    Ok(current)
}
