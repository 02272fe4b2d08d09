//! Campaign use cases, shared by the pages and the API.  Staff run campaigns and read the
//! dashboard; signed-in fans file entries and vote; anyone may look.

use fanloop_platform::accounts::User;
use fanloop_platform::db::now_ms;
use fanloop_platform::error::Arg;
use fanloop_platform::web::{image_content_type, is_url_slug, Upload};
use fanloop_platform::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::domain::{self, Metric, Phase, Progress, Targets, WinnerPick};
use super::store::{self, Adjustment, Campaign, CampaignRow, Entry, EntryOrder, VoteOutcome};
use crate::error::ListeningError;
use crate::ListeningState;

/// Entries per page of the gallery and the API.
pub const ENTRIES_PER_PAGE: i64 = 24;
/// Request body limit of entry submissions: four 2 MiB images, base64 in JSON or multipart.
pub const ENTRY_BODY_LIMIT: usize = 12 * 1024 * 1024;
/// Imported posts read for a dashboard's exposure (newest first beyond that).
pub const MAX_IMPORTED_SCAN: i64 = 100_000;

pub fn require_staff(user: &User) -> Result<(), ApiError> {
    if user.role.is_staff() {
        Ok(())
    } else {
        Err(ListeningError::CampaignStaffOnly.into())
    }
}

fn default_limit() -> i64 {
    3
}

fn default_currency() -> String {
    "CNY".into()
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CampaignRequest {
    /// 2–40 lowercase letters, digits or dashes (ignored on update).
    #[serde(default)]
    pub slug: String,
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 120)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub description: String,
    /// `#小米影像大赛#`, `小米影像大赛`, `#ShotOnFan` or `ShotOnFan`.
    pub hashtag: String,
    /// Unix ms.
    #[schema(minimum = 0, maximum = 4102444800000i64)]
    pub starts_at: i64,
    /// Unix ms, exclusive.
    #[schema(minimum = 0, maximum = 4102444800000i64)]
    pub ends_at: i64,
    /// ISO 4217 code of the revenue target; linked drops must sell in it.
    #[serde(default = "default_currency")]
    pub currency: String,
    pub targets: Targets,
    #[serde(default = "default_limit")]
    pub max_entries_per_account: i64,
    #[serde(default = "default_limit")]
    pub max_votes_per_account: i64,
    /// Slugs of the drops whose orders count toward orders and revenue.
    #[serde(default)]
    pub drops: Vec<String>,
}

struct Checked {
    hashtag: domain::Hashtag,
    currency: String,
    drop_ids: Vec<i64>,
}

async fn check_request(state: &ListeningState, r: &CampaignRequest) -> Result<Checked, ApiError> {
    domain::check_settings(
        &r.title,
        &r.description,
        r.starts_at,
        r.ends_at,
        &r.targets,
        r.max_entries_per_account,
        r.max_votes_per_account,
    )?;
    let hashtag = domain::parse_hashtag(&r.hashtag)?;
    let currency = r.currency.trim().to_ascii_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ListeningError::Currency.into());
    }
    if r.drops.len() > 20 {
        return Err(ListeningError::TooManyDrops.into());
    }
    let mut drop_ids = Vec::new();
    for slug in &r.drops {
        let slug = slug.trim();
        let d = fanloop_launches::store::drop_by_slug(&state.platform.db, slug)
            .await?
            .ok_or_else(|| ListeningError::NoDrop.with(&[("drop", slug.to_string())]))?;
        if d.currency != currency {
            return Err(ListeningError::DropCurrency.with(&[
                ("drop", slug.to_string()),
                ("sells", d.currency),
                ("currency", currency),
            ]));
        }
        if !drop_ids.contains(&d.id) {
            drop_ids.push(d.id);
        }
    }
    Ok(Checked {
        hashtag,
        currency,
        drop_ids,
    })
}

fn row<'a>(slug: &'a str, r: &'a CampaignRequest, c: &'a Checked) -> CampaignRow<'a> {
    CampaignRow {
        slug,
        title: r.title.trim(),
        description: r.description.trim(),
        hashtag: &c.hashtag.display,
        hashtag_key: &c.hashtag.key,
        starts_at: r.starts_at,
        ends_at: r.ends_at,
        currency: &c.currency,
        targets: r.targets,
        max_entries_per_account: r.max_entries_per_account,
        max_votes_per_account: r.max_votes_per_account,
        drop_ids: &c.drop_ids,
    }
}

/// The campaign as `viewer` may see it: targets and drops for staff only.
fn visible(mut c: Campaign, viewer: Option<&User>) -> Campaign {
    if viewer.is_some_and(|u| u.role.is_staff()) {
        c.targets = Some(c.all_targets);
    } else {
        c.drops = None;
    }
    c
}

pub async fn campaign(state: &ListeningState, slug: &str) -> Result<Campaign, ApiError> {
    store::campaign_by_slug(&state.platform.db, slug)
        .await?
        .ok_or_else(|| ApiError::not_found("campaign"))
}

pub async fn create(state: &ListeningState, me: &User, r: &CampaignRequest) -> Result<Campaign, ApiError> {
    require_staff(me)?;
    let slug = r.slug.trim();
    if !is_url_slug(slug) {
        return Err(ListeningError::Slug.into());
    }
    let checked = check_request(state, r).await?;
    store::create_campaign(&state.platform.db, &row(slug, r, &checked), me.id)
        .await?
        .ok_or_else(|| ListeningError::SlugTaken.with(&[("slug", slug.to_string())]))?;
    Ok(visible(campaign(state, slug).await?, Some(me)))
}

pub async fn update(state: &ListeningState, me: &User, slug: &str, r: &CampaignRequest) -> Result<Campaign, ApiError> {
    require_staff(me)?;
    let c = campaign(state, slug).await?;
    let checked = check_request(state, r).await?;
    store::update_campaign(&state.platform.db, c.id, &row(slug, r, &checked)).await?;
    Ok(visible(campaign(state, slug).await?, Some(me)))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignSummary {
    #[serde(flatten)]
    pub campaign: Campaign,
    pub phase: Phase,
    pub entries: i64,
}

pub async fn list(state: &ListeningState, viewer: Option<&User>) -> Result<Vec<CampaignSummary>, ApiError> {
    let now = now_ms();
    Ok(store::list_campaigns(&state.platform.db)
        .await?
        .into_iter()
        .map(|(c, entries)| CampaignSummary {
            phase: Phase::at(c.starts_at, c.ends_at, now),
            campaign: visible(c, viewer),
            entries,
        })
        .collect())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignView {
    pub campaign: Campaign,
    pub phase: Phase,
    /// Shown entries.
    pub entries: i64,
    /// Ranked, once staff have picked them.
    pub winners: Vec<Entry>,
    /// The caller's entries and votes left (signed-in callers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries_left: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub votes_left: Option<i64>,
}

/// Counts a view of the campaign page (not staff's: they would inflate their own figures).
pub async fn record_view(state: &ListeningState, c: &Campaign, viewer: Option<&User>) -> Result<(), ApiError> {
    if !viewer.is_some_and(|u| u.role.is_staff()) {
        store::record_view(&state.platform.db, c.id, now_ms()).await?;
    }
    Ok(())
}

pub async fn view(state: &ListeningState, viewer: Option<&User>, slug: &str) -> Result<CampaignView, ApiError> {
    view_of(state, viewer, campaign(state, slug).await?).await
}

/// [`view`] of a campaign the caller has already loaded.
pub async fn view_of(state: &ListeningState, viewer: Option<&User>, c: Campaign) -> Result<CampaignView, ApiError> {
    let db = &state.platform.db;
    let phase = Phase::at(c.starts_at, c.ends_at, now_ms());
    let entries = store::entry_count(db, c.id, false).await?;
    let winners = store::winners(db, c.id, viewer.map(|u| u.id)).await?;
    let (entries_left, votes_left) = match viewer {
        Some(u) => {
            let (filed, voted) = store::participation(db, c.id, u.id).await?;
            (
                Some((c.max_entries_per_account - filed).max(0)),
                Some((c.max_votes_per_account - voted).max(0)),
            )
        }
        None => (None, None),
    };
    Ok(CampaignView {
        phase,
        entries,
        winners,
        entries_left,
        votes_left,
        campaign: visible(c, viewer),
    })
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Most votes first.
    #[default]
    Top,
    /// Newest first.
    New,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntriesQuery {
    /// top (most votes) or new.
    #[serde(default)]
    pub sort: Sort,
    /// From 1.
    #[serde(default, deserialize_with = "fanloop_platform::web::page_number")]
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntryPage {
    pub entries: Vec<Entry>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

pub async fn entries(
    state: &ListeningState,
    viewer: Option<&User>,
    slug: &str,
    q: &EntriesQuery,
) -> Result<EntryPage, ApiError> {
    entries_of(state, viewer, &campaign(state, slug).await?, q).await
}

/// [`entries`] of a campaign the caller has already loaded.
pub async fn entries_of(
    state: &ListeningState,
    viewer: Option<&User>,
    c: &Campaign,
    q: &EntriesQuery,
) -> Result<EntryPage, ApiError> {
    let page = q.page.unwrap_or(1);
    if !(1..=fanloop_platform::web::MAX_PAGE).contains(&page) {
        return Err(ListeningError::Page.into());
    }
    let order = match q.sort {
        Sort::Top => EntryOrder::Top,
        Sort::New => EntryOrder::New,
    };
    let with_hidden = viewer.is_some_and(|u| u.role.can_moderate());
    let (entries, total) = store::entries(
        &state.platform.db,
        c.id,
        order,
        with_hidden,
        viewer.map(|u| u.id),
        (page - 1) * ENTRIES_PER_PAGE,
        ENTRIES_PER_PAGE,
    )
    .await?;
    Ok(EntryPage {
        entries,
        total,
        page,
        per_page: ENTRIES_PER_PAGE,
    })
}

/// What opens and closes with a campaign, in each language.
const FILING_ENTRIES: [&str; 3] = ["filing entries", "投稿", "le dépôt des participations"];
const VOTING: [&str; 3] = ["voting", "投票", "le vote"];

fn require_open(c: &Campaign, what: [&'static str; 3]) -> Result<(), ApiError> {
    let error = match Phase::at(c.starts_at, c.ends_at, now_ms()) {
        Phase::Open => return Ok(()),
        Phase::Upcoming => ListeningError::NotStarted,
        Phase::Ended => ListeningError::Ended,
    };
    Err(error.with_args(vec![("what", Arg::Words(what))]))
}

pub async fn submit_entry(
    state: &ListeningState,
    me: &User,
    slug: &str,
    text: &str,
    uploads: &[Upload],
) -> Result<Entry, ApiError> {
    let text = &fanloop_platform::text::multiline(text);
    let c = campaign(state, slug).await?;
    require_open(&c, FILING_ENTRIES)?;
    let typed: Vec<(String, Option<&str>, usize)> = uploads
        .iter()
        .map(|u| (u.filename.clone(), image_content_type(&u.data), u.data.len()))
        .collect();
    domain::check_entry(text, &typed)?;
    let hashtag = domain::parse_hashtag(&c.hashtag).map_err(|p| ApiError::internal(ApiError::from(p)))?;
    let body = domain::entry_text(text, &hashtag);
    let cleaned: Vec<(&str, Vec<u8>)> = typed
        .iter()
        .zip(uploads)
        .map(|((_, kind, _), u)| {
            let kind = kind.unwrap_or_default();
            (kind, domain::strip_metadata(kind, u.data.clone()))
        })
        .collect();
    let images: Vec<(&str, &[u8])> = cleaned.iter().map(|(kind, data)| (*kind, data.as_slice())).collect();
    let db = &state.platform.db;
    let id = store::add_entry(db, c.id, me.id, &body, &images, c.max_entries_per_account)
        .await?
        .ok_or_else(|| ListeningError::EntryLimit.with(&[("max", c.max_entries_per_account.to_string())]))?;
    store::entry(db, id, Some(me.id))
        .await?
        .ok_or_else(|| ApiError::internal("entry vanished"))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VoteResult {
    pub entry_id: i64,
    pub votes: i64,
    pub voted: bool,
}

/// The campaign and one of its entries shown to the public.
async fn shown_entry(state: &ListeningState, slug: &str, entry_id: i64) -> Result<(Campaign, Entry), ApiError> {
    let c = campaign(state, slug).await?;
    match store::entry(&state.platform.db, entry_id, None).await? {
        Some(e) if e.campaign_id == c.id && !e.hidden => Ok((c, e)),
        _ => Err(ApiError::not_found("entry")),
    }
}

pub async fn vote(state: &ListeningState, me: &User, slug: &str, entry_id: i64) -> Result<VoteResult, ApiError> {
    let (c, e) = shown_entry(state, slug, entry_id).await?;
    require_open(&c, VOTING)?;
    if e.author_id == me.id {
        return Err(ListeningError::OwnEntry.into());
    }
    let db = &state.platform.db;
    match store::vote(db, c.id, e.id, me.id, c.max_votes_per_account).await? {
        VoteOutcome::Counted | VoteOutcome::AlreadyVoted => {}
        VoteOutcome::LimitReached => {
            return Err(ListeningError::VoteLimit.with(&[("max", c.max_votes_per_account.to_string())]))
        }
    }
    Ok(VoteResult {
        entry_id: e.id,
        votes: store::entry_votes(db, e.id).await?,
        voted: true,
    })
}

pub async fn unvote(state: &ListeningState, me: &User, slug: &str, entry_id: i64) -> Result<VoteResult, ApiError> {
    let (c, e) = shown_entry(state, slug, entry_id).await?;
    require_open(&c, VOTING)?;
    let db = &state.platform.db;
    store::unvote(db, c.id, e.id, me.id).await?;
    Ok(VoteResult {
        entry_id: e.id,
        votes: store::entry_votes(db, e.id).await?,
        voted: false,
    })
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct HideRequest {
    /// true hides the entry (it stops counting, leaves the gallery and its votes go back to the
    /// voters), false shows it again.
    pub hidden: bool,
    /// Required when hiding: what rule it broke.
    #[serde(default)]
    #[schema(max_length = 300)]
    pub reason: String,
}

pub async fn moderate(
    state: &ListeningState,
    me: &User,
    slug: &str,
    entry_id: i64,
    r: &HideRequest,
) -> Result<Entry, ApiError> {
    if !me.role.can_moderate() {
        return Err(ListeningError::ModeratorsOnly.into());
    }
    let c = campaign(state, slug).await?;
    let db = &state.platform.db;
    let e = store::entry(db, entry_id, None)
        .await?
        .filter(|e| e.campaign_id == c.id)
        .ok_or_else(|| ApiError::not_found("entry"))?;
    let reason = r.reason.trim();
    if r.hidden && (reason.is_empty() || reason.chars().count() > 300) {
        return Err(ListeningError::HideReason.into());
    }
    if r.hidden && e.winner_rank.is_some() {
        return Err(ListeningError::HideWinner.into());
    }
    store::set_hidden(db, c.id, e.id, r.hidden, me.id, reason).await?;
    store::entry(db, e.id, Some(me.id))
        .await?
        .ok_or_else(|| ApiError::internal("entry vanished"))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct WinnersRequest {
    /// In rank order; an empty list withdraws the announcement.
    pub winners: Vec<WinnerPick>,
}

pub async fn set_winners(
    state: &ListeningState,
    me: &User,
    slug: &str,
    r: &WinnersRequest,
) -> Result<Vec<Entry>, ApiError> {
    require_staff(me)?;
    let c = campaign(state, slug).await?;
    let db = &state.platform.db;
    let shown = store::shown_entry_ids(db, c.id).await?;
    let phase = Phase::at(c.starts_at, c.ends_at, now_ms());
    // Before the end the list is refused as `not_ended` (409); after it, for what it holds (422).
    domain::check_winners(phase, &r.winners, &shown)?;
    store::set_winners(db, &c, &r.winners, me.id).await?;
    Ok(store::winners(db, c.id, Some(me.id)).await?)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AdjustmentRequest {
    pub metric: Metric,
    /// Added to the metric (negative to correct); revenue in cents.
    #[schema(minimum = -1000000000000i64, maximum = 1000000000000i64)]
    pub amount: i64,
    /// When it happened (Unix ms, inside the campaign); now if absent.
    pub at: Option<i64>,
    /// Where the figure comes from ("Weibo topic page, 3 May").
    #[schema(pattern = r"[^\s\x00-\x1f\x7f-\x9f]", max_length = 300)]
    pub note: String,
}

pub async fn add_adjustment(
    state: &ListeningState,
    me: &User,
    slug: &str,
    r: &AdjustmentRequest,
) -> Result<Adjustment, ApiError> {
    require_staff(me)?;
    let c = campaign(state, slug).await?;
    let now = now_ms();
    let at = r.at.unwrap_or_else(|| now.min(c.ends_at - 1));
    if !(c.starts_at..c.ends_at).contains(&at) {
        return Err(ListeningError::AdjustmentAt.into());
    }
    if at > now {
        return Err(ListeningError::AdjustmentFuture.into());
    }
    domain::check_adjustment(r.amount)?;
    let note = r.note.trim();
    if note.is_empty() || note.chars().count() > 300 {
        return Err(ListeningError::AdjustmentNote.into());
    }
    let db = &state.platform.db;
    let id = store::add_adjustment(db, c.id, r.metric, r.amount, at, note, me.id).await?;
    store::adjustments(db, c.id)
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| ApiError::internal("adjustment vanished"))
}

/// Where each actual comes from, so that nobody has to take a number on trust.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Sources {
    pub page_views: i64,
    /// Imported social posts carrying the hashtag during the campaign, and their authors'
    /// followers summed (counted as exposure).
    pub imported_posts: i64,
    pub imported_reach: i64,
    /// True when more imported posts had a hashtag than were read.
    pub imported_truncated: bool,
    pub shown_entries: i64,
    /// Posts that made reservations or orders on linked drops' walls during the campaign (one
    /// per member and drop, hidden ones not counted), each counted once as exposure.
    pub share_posts: i64,
    /// Orders on linked drops during the campaign, all and paid.
    pub orders: i64,
    pub paid_orders: i64,
    /// Sum of recorded figures per metric.
    pub adjustments: Vec<MetricTotal>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MetricTotal {
    pub metric: Metric,
    pub amount: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Dashboard {
    pub campaign: Campaign,
    pub phase: Phase,
    pub now: i64,
    pub progress: Progress,
    pub sources: Sources,
    pub adjustments: Vec<Adjustment>,
}

pub async fn dashboard(state: &ListeningState, me: &User, slug: &str) -> Result<Dashboard, ApiError> {
    require_staff(me)?;
    let c = campaign(state, slug).await?;
    let db = &state.platform.db;
    let now = now_ms();
    let until = now.min(c.ends_at);
    let mut events: Vec<(Metric, Vec<(i64, i64)>)> = Vec::new();
    let mut sources = Sources::default();

    let views = store::views(db, c.id).await?;
    sources.page_views = domain::total(views.iter().map(|(_, n)| *n));
    events.push((Metric::PageViews, views.clone()));
    events.push((Metric::Exposure, views));

    let posts = store::imported_posts_with_tags(db, c.starts_at, until, MAX_IMPORTED_SCAN).await?;
    sources.imported_truncated = posts.len() as i64 == MAX_IMPORTED_SCAN;
    let key = c.hashtag_key.clone();
    let carrying: Vec<(i64, i64)> = tokio::task::spawn_blocking(move || {
        posts
            .into_iter()
            .filter(|(_, text, _)| domain::carries(text, &key))
            .map(|(at, _, followers)| (at, followers))
            .collect()
    })
    .await
    .map_err(ApiError::internal)?;
    sources.imported_posts = carrying.len() as i64;
    sources.imported_reach = domain::total(carrying.iter().map(|(_, f)| *f));
    events.push((Metric::Exposure, carrying));

    let entries: Vec<(i64, i64)> = store::entry_times(db, c.id)
        .await?
        .into_iter()
        .map(|t| (t, 1))
        .collect();
    sources.shown_entries = entries.len() as i64;
    events.push((Metric::Entries, entries));

    let mut shares = Vec::new();
    for drop_id in &c.drop_ids {
        for at in fanloop_launches::store::share_post_times(db, *drop_id, c.starts_at, until).await? {
            shares.push((at, 1));
        }
    }
    sources.share_posts = shares.len() as i64;
    events.push((Metric::Exposure, shares));

    let (mut orders, mut revenue) = (Vec::new(), Vec::new());
    for drop_id in &c.drop_ids {
        for o in fanloop_launches::store::order_events(db, *drop_id, c.starts_at, until).await? {
            orders.push((o.created_at, 1));
            if o.paid {
                revenue.push((o.created_at, o.value_cents));
            }
        }
    }
    sources.orders = orders.len() as i64;
    sources.paid_orders = revenue.len() as i64;
    events.push((Metric::Orders, orders));
    events.push((Metric::Revenue, revenue));

    let adjustments = store::adjustments(db, c.id).await?;
    for m in Metric::ALL {
        let list: Vec<(i64, i64)> = adjustments
            .iter()
            .filter(|a| a.metric == m)
            .map(|a| (a.at, a.amount))
            .collect();
        if !list.is_empty() {
            sources.adjustments.push(MetricTotal {
                metric: m,
                amount: domain::total(list.iter().map(|(_, n)| *n)),
            });
            events.push((m, list));
        }
    }
    let progress = domain::progress(&events, &c.all_targets, c.starts_at, c.ends_at, now);
    Ok(Dashboard {
        phase: Phase::at(c.starts_at, c.ends_at, now),
        now,
        progress,
        sources,
        adjustments,
        campaign: visible(c, Some(me)),
    })
}

/// An entry image: staff and moderators also see hidden entries' images.
pub async fn image(state: &ListeningState, viewer: Option<&User>, id: i64) -> Result<(String, Vec<u8>), ApiError> {
    match store::image(&state.platform.db, id).await? {
        Some((kind, data, hidden)) if !hidden || viewer.is_some_and(|u| u.role.can_moderate()) => Ok((kind, data)),
        _ => Err(ApiError::not_found("image")),
    }
}
