//! Community use cases shared by the HTML pages and the JSON API: each checks permissions,
//! validates input, writes to the store, then keeps the search index in step.

use axum::extract::FromRef;
use fanloop_platform::accounts::{self, User};
use fanloop_platform::{ApiError, Platform};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{self, PostContext};
use crate::error::CommunityError;
use crate::search::{SearchIndex, SearchQuery};
use crate::search_sync::SyncStatus;
use crate::store::{self, Deleted, NewReply, NewThread, UserRef};

#[derive(Clone)]
pub struct CommunityState {
    pub platform: Platform,
    pub search: SearchIndex,
    /// This node's follower of the store's change log (see `search_sync`).
    pub search_sync: std::sync::Arc<SyncStatus>,
}

impl FromRef<CommunityState> for Platform {
    fn from_ref(state: &CommunityState) -> Platform {
        state.platform.clone()
    }
}

/// How long a write waits for its change to reach this node's search index.
const SEARCH_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Waits until this node's index has applied the latest change to `post_ids`, so the author
/// finds it on the next page.  The change goes through the change log like every other node's
/// (applying it directly could overwrite a newer version another node wrote meanwhile).  A
/// follower that is behind delays nothing for long: past the wait, the change is applied
/// when the follower gets to it.
async fn reindex_posts(state: &CommunityState, post_ids: &[i64]) -> anyhow::Result<()> {
    if let Some(seq) = store::search_log_latest_for(&state.platform.db, post_ids).await? {
        if !state.search_sync.wait_for(seq, SEARCH_WAIT).await {
            tracing::warn!("search has not applied change {seq} after {SEARCH_WAIT:?}; it will");
        }
    }
    Ok(())
}

async fn reindex_post(state: &CommunityState, post_id: i64) -> anyhow::Result<()> {
    reindex_posts(state, &[post_id]).await
}

async fn mentioned_ids(platform: &Platform, body: &str) -> anyhow::Result<Vec<i64>> {
    let names = domain::extract_mentions(body);
    Ok(accounts::find_by_usernames(&platform.db, &names)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect())
}

/// What became of a submitted post: published, or held for a moderator (its held id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted<T> {
    Published(T),
    Held(i64),
}

/// Applies the account's posting limits (see [`domain::posting_limits`]) to a post about to be
/// published: `Err` over a limit, `Ok(Some(reason))` when it must wait for a moderator.
async fn check_limits(p: &Platform, actor: &User, body: &str, html: &str) -> Result<Option<&'static str>, ApiError> {
    use fanloop_platform::error::Arg;
    let now = fanloop_platform::db::now_ms();
    let (today, total) = store::post_counts(&p.db, actor.id, now - 86_400_000).await?;
    let Some(limits) = domain::posting_limits(actor.role, now - actor.created_at, total) else {
        return Ok(None);
    };
    let limit = |e: CommunityError, n: i64| ApiError::from_spec(e.spec(), vec![("limit", Arg::Text(n.to_string()))]);
    if today >= limits.posts_per_day {
        return Err(limit(CommunityError::DailyLimit, limits.posts_per_day));
    }
    let (links, images) = domain::links_and_images(body, html);
    if links > limits.links_per_post {
        return Err(limit(CommunityError::TooManyLinks, limits.links_per_post as i64));
    }
    if images > limits.images_per_post {
        return Err(limit(CommunityError::TooManyImages, limits.images_per_post as i64));
    }
    Ok((limits.hold_links && links > 0).then_some("new account, post with links"))
}

/// An edit meets the same link and image limits as a new post, and a new account cannot add
/// links by editing (they would skip the review a new post with links gets).
async fn check_edit_limits(p: &Platform, actor: &User, before: &str, body: &str, html: &str) -> Result<(), ApiError> {
    use fanloop_platform::error::Arg;
    let now = fanloop_platform::db::now_ms();
    let (_, total) = store::post_counts(&p.db, actor.id, now).await?;
    let Some(limits) = domain::posting_limits(actor.role, now - actor.created_at, total) else {
        return Ok(());
    };
    let limit = |e: CommunityError, n: usize| ApiError::from_spec(e.spec(), vec![("limit", Arg::Text(n.to_string()))]);
    let (links, images) = domain::links_and_images(body, html);
    if links > limits.links_per_post {
        return Err(limit(CommunityError::TooManyLinks, limits.links_per_post));
    }
    if images > limits.images_per_post {
        return Err(limit(CommunityError::TooManyImages, limits.images_per_post));
    }
    let (links_before, _) = domain::links_and_images(before, &domain::render_markdown(before));
    if limits.hold_links && links > links_before {
        return Err(CommunityError::NoNewLinksInEdits.into());
    }
    Ok(())
}

pub async fn create_thread(
    state: &CommunityState,
    actor: &User,
    board_slug: &str,
    title: &str,
    body: &str,
) -> Result<Posted<(i64, i64)>, ApiError> {
    let p = &state.platform;
    let board = store::board_by_slug(&p.db, board_slug)
        .await?
        .ok_or_else(|| ApiError::not_found("board"))?;
    let title = domain::validate_title(title).map_err(ApiError::from)?;
    let body = domain::validate_body(body).map_err(ApiError::from)?;
    let html = domain::render_markdown(&body);
    if let Some(reason) = check_limits(p, actor, &body, &html).await? {
        let id = store::hold_post(&p.db, actor.id, Some(board.id), None, Some(&title), &body, reason).await?;
        return Ok(Posted::Held(id));
    }
    publish_thread(state, actor, board.id, &title, &body, &html)
        .await
        .map(Posted::Published)
}

async fn publish_thread(
    state: &CommunityState,
    actor: &User,
    board_id: i64,
    title: &str,
    body: &str,
    html: &str,
) -> Result<(i64, i64), ApiError> {
    let p = &state.platform;
    let mentions: Vec<_> = mentioned_ids(p, body)
        .await?
        .into_iter()
        .filter(|id| *id != actor.id)
        .map(|id| (id, fanloop_platform::notifications::NotificationKind::Mention))
        .collect();
    let thread = NewThread {
        board_id,
        author_id: actor.id,
        title,
        body,
        body_html: html,
        created_at: fanloop_platform::db::now_ms(),
    };
    let (thread_id, post_id) = store::create_thread(&p.db, &thread, &mentions, "").await?;
    reindex_post(state, post_id).await?;
    p.wake_mail();
    Ok((thread_id, post_id))
}

pub async fn reply(state: &CommunityState, actor: &User, thread_id: i64, body: &str) -> Result<Posted<i64>, ApiError> {
    reply_checked(state, actor, thread_id, body, true).await
}

async fn reply_checked(
    state: &CommunityState,
    actor: &User,
    thread_id: i64,
    body: &str,
    limited: bool,
) -> Result<Posted<i64>, ApiError> {
    let p = &state.platform;
    let thread = store::get_thread(&p.db, thread_id)
        .await?
        .filter(|t| !t.deleted)
        .ok_or_else(|| ApiError::not_found("thread"))?;
    // (`limited` false: a moderator approved it; a lock added since does not undo that.)
    if limited && !domain::can_reply(actor.role, thread.summary.locked) {
        return Err(CommunityError::Locked.into());
    }
    let body = domain::validate_body(body).map_err(ApiError::from)?;
    let html = domain::render_markdown(&body);
    if limited {
        if let Some(reason) = check_limits(p, actor, &body, &html).await? {
            let id = store::hold_post(&p.db, actor.id, None, Some(thread_id), None, &body, reason).await?;
            return Ok(Posted::Held(id));
        }
    }
    let plan = domain::plan_reply_notifications(
        thread.summary.author.id,
        actor.id,
        actor.role,
        &mentioned_ids(p, &body).await?,
    );
    let reply = NewReply {
        thread_id,
        thread_title: &thread.summary.title,
        author_id: actor.id,
        body: &body,
        body_html: &html,
        created_at: fanloop_platform::db::now_ms(),
    };
    let post_id = store::create_reply(&p.db, &reply, &plan)
        .await?
        .ok_or_else(|| ApiError::not_found("thread"))?;
    reindex_post(state, post_id).await?;
    p.wake_mail();
    Ok(Posted::Published(post_id))
}

/// Posts waiting for a moderator, oldest first.
pub async fn held_posts(state: &CommunityState, actor: &User) -> Result<Vec<store::HeldPost>, ApiError> {
    if !actor.role.can_moderate() {
        return Err(CommunityError::ModeratorsQueue.into());
    }
    Ok(store::held_posts(&state.platform.db, 100).await?)
}

/// Publishes (as its author, now) or rejects a held post. Returns the published post's thread.
pub async fn review_held(
    state: &CommunityState,
    actor: &User,
    held_id: i64,
    approve: bool,
) -> Result<Option<i64>, ApiError> {
    if !actor.role.can_moderate() {
        return Err(CommunityError::ModeratorsQueue.into());
    }
    let db = &state.platform.db;
    let held = store::held_post(db, held_id)
        .await?
        .ok_or_else(|| ApiError::from(CommunityError::HeldNotFound))?;
    if !approve {
        if !store::decide_held(db, &held, actor.id, false).await? {
            return Err(CommunityError::HeldNotFound.into());
        }
        return Ok(None);
    }
    // Published first, then taken out of the queue: a post that cannot be published (its
    // thread deleted meanwhile) stays in the queue instead of being lost.
    if !store::claim_held(db, held_id, fanloop_platform::db::now_ms()).await? {
        return Err(CommunityError::HeldNotFound.into());
    }
    let published = publish_held(state, &held).await;
    match published {
        Ok(thread_id) => {
            store::decide_held(db, &held, actor.id, true).await?;
            Ok(Some(thread_id))
        }
        Err(e) => {
            store::unclaim_held(db, held_id).await?;
            Err(e)
        }
    }
}

/// Publishes a held post as its author, now. A moderator approving a reply to a thread locked
/// since is taken as wanting it published.
async fn publish_held(state: &CommunityState, held: &store::HeldPost) -> Result<i64, ApiError> {
    let db = &state.platform.db;
    let author = accounts::find_by_id(db, held.author_id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    match (held.thread_id, held.board_slug.as_deref()) {
        (Some(thread_id), _) => {
            reply_checked(state, &author, thread_id, &held.body, false).await?;
            Ok(thread_id)
        }
        (None, Some(slug)) => {
            let board = store::board_by_slug(db, slug)
                .await?
                .ok_or_else(|| ApiError::not_found("board"))?;
            let html = domain::render_markdown(&held.body);
            let (thread_id, _) = publish_thread(state, &author, board.id, &held.title, &held.body, &html).await?;
            Ok(thread_id)
        }
        (None, None) => Err(ApiError::not_found("board")),
    }
}

fn post_context(rec: &store::PostRecord) -> PostContext {
    PostContext {
        author_id: rec.post.author.id,
        thread_locked: rec.thread_locked,
        deleted: rec.post.deleted || rec.thread_deleted,
    }
}

pub async fn load_post(state: &CommunityState, post_id: i64) -> Result<store::PostRecord, ApiError> {
    store::get_post(&state.platform.db, post_id)
        .await?
        .filter(|r| !r.post.deleted && !r.thread_deleted)
        .ok_or_else(|| ApiError::not_found("post"))
}

pub async fn edit_post(
    state: &CommunityState,
    actor: &User,
    post_id: i64,
    body: &str,
    title: Option<&str>,
) -> Result<(), ApiError> {
    let p = &state.platform;
    let rec = load_post(state, post_id).await?;
    if !domain::can_edit(actor.id, actor.role, post_context(&rec)) {
        return Err(CommunityError::NotYours.into());
    }
    let body = domain::validate_body(body).map_err(ApiError::from)?;
    let title = match title {
        Some(t) if rec.post.is_first => Some(domain::validate_title(t).map_err(ApiError::from)?),
        Some(_) => return Err(CommunityError::NotOpeningPost.into()),
        None => None,
    };
    let html = domain::render_markdown(&body);
    check_edit_limits(p, actor, &rec.post.body, &body, &html).await?;
    store::edit_post(&p.db, post_id, actor.id, &body, &html, title.as_deref()).await?;
    reindex_post(state, post_id).await?;
    Ok(())
}

pub async fn delete_post(state: &CommunityState, actor: &User, post_id: i64) -> Result<Deleted, ApiError> {
    let rec = load_post(state, post_id).await?;
    if !domain::can_delete(actor.id, actor.role, post_context(&rec)) {
        return Err(CommunityError::NotYours.into());
    }
    let moderator = (rec.post.author.id != actor.id).then_some(actor.id);
    let deleted = store::delete_post(&state.platform.db, post_id, moderator).await?;
    let ids = match &deleted {
        Deleted::Post(id) => vec![*id],
        Deleted::Thread(ids) => ids.clone(),
    };
    reindex_posts(state, &ids).await?;
    Ok(deleted)
}

pub async fn moderate_thread(
    state: &CommunityState,
    actor: &User,
    thread_id: i64,
    pinned: Option<bool>,
    locked: Option<bool>,
) -> Result<(), ApiError> {
    if !actor.role.can_moderate() {
        return Err(CommunityError::ModeratorsPin.into());
    }
    store::get_thread(&state.platform.db, thread_id)
        .await?
        .filter(|t| !t.deleted)
        .ok_or_else(|| ApiError::not_found("thread"))?;
    store::set_thread_flag(&state.platform.db, thread_id, pinned, locked, actor.id).await?;
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LikeState {
    pub liked: bool,
    pub like_count: i64,
}

pub async fn like(state: &CommunityState, actor: &User, post_id: i64, like: bool) -> Result<LikeState, ApiError> {
    load_post(state, post_id).await?;
    let (liked, like_count) = store::set_like(&state.platform.db, post_id, actor.id, like).await?;
    Ok(LikeState { liked, like_count })
}

pub async fn flag(state: &CommunityState, actor: &User, post_id: i64, reason: &str) -> Result<bool, ApiError> {
    load_post(state, post_id).await?;
    let reason = domain::validate_flag_reason(reason).map_err(ApiError::from)?;
    Ok(store::flag_post(&state.platform.db, post_id, actor.id, &reason).await?)
}

/// `dismiss` keeps the post; `delete` removes it.  Either closes every open flag on the post.
pub async fn resolve_flag(state: &CommunityState, actor: &User, flag_id: i64, action: &str) -> Result<(), ApiError> {
    if !actor.role.can_moderate() {
        return Err(CommunityError::ModeratorsFlags.into());
    }
    if !matches!(action, "dismiss" | "delete") {
        return Err(CommunityError::FlagAction.into());
    }
    let post_id = store::resolve_flag(&state.platform.db, flag_id, actor.id, action)
        .await?
        .ok_or_else(|| ApiError::not_found("open flag"))?;
    if action == "delete" {
        match delete_post(state, actor, post_id).await {
            // Already gone (deleted meanwhile): the flag is resolved all the same.
            Ok(_) => {}
            Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub async fn create_board(
    state: &CommunityState,
    actor: &User,
    slug: &str,
    name: &str,
    description: &str,
    position: i64,
) -> Result<store::Board, ApiError> {
    if !actor.role.is_admin() {
        return Err(CommunityError::AdminsBoards.into());
    }
    if !domain::validate_slug(slug) {
        return Err(CommunityError::BoardSlug.into());
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 || description.chars().count() > 500 {
        return Err(CommunityError::BoardName.into());
    }
    store::create_board(&state.platform.db, slug, name, description.trim(), position)
        .await?
        .ok_or_else(|| CommunityError::BoardTaken.into())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHit {
    pub post_id: i64,
    pub thread_id: i64,
    pub thread_title: String,
    /// Thread title with matches wrapped in `<b>` (HTML-escaped), when the title matched.
    pub title_html: Option<String>,
    /// Fragment of the post with matches wrapped in `<b>` (HTML-escaped).
    pub snippet_html: String,
    pub board_slug: String,
    pub board_name: String,
    pub author: UserRef,
    pub created_at: i64,
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchPage {
    pub total: usize,
    pub page: i64,
    pub per_page: i64,
    pub hits: Vec<SearchHit>,
    /// True when no post has every word of the query: these hits have some of them.
    pub partial: bool,
}

pub const SEARCH_PER_PAGE: i64 = 20;

pub async fn search(
    state: &CommunityState,
    text: &str,
    board: Option<&str>,
    author: Option<&str>,
    page: i64,
) -> Result<SearchPage, ApiError> {
    let db = &state.platform.db;
    let empty = || SearchPage {
        total: 0,
        page,
        per_page: SEARCH_PER_PAGE,
        hits: Vec::new(),
        partial: false,
    };
    if text.chars().count() > 200 {
        return Err(CommunityError::SearchTooLong.into());
    }
    let board_id = match board.filter(|b| !b.is_empty()) {
        Some(slug) => match store::board_by_slug(db, slug).await? {
            Some(b) => Some(b.id),
            None => return Ok(empty()),
        },
        None => None,
    };
    let author_id = match author.map(str::trim).filter(|a| !a.is_empty()) {
        Some(name) => match accounts::find_by_username(db, name.trim_start_matches('@')).await? {
            Some(u) => Some(u.id),
            None => return Ok(empty()),
        },
        None => None,
    };
    let query = SearchQuery {
        text: text.to_string(),
        board_id,
        author_id,
        offset: ((page - 1) * SEARCH_PER_PAGE) as usize,
        limit: SEARCH_PER_PAGE as usize,
    };
    let index = state.search.clone();
    let results = tokio::task::spawn_blocking(move || index.search(&query))
        .await
        .map_err(ApiError::internal)??;
    let ids: Vec<i64> = results.hits.iter().map(|h| h.post_id).collect();
    let infos = store::hit_infos(db, &ids).await?;
    let mut hits = Vec::with_capacity(results.hits.len());
    for hit in results.hits {
        // A post deleted after the search ran is simply skipped.
        let Some(info) = infos.iter().find(|i| i.post_id == hit.post_id) else {
            continue;
        };
        let thread_page = info.position / crate::pages::POSTS_PER_PAGE + 1;
        hits.push(SearchHit {
            post_id: hit.post_id,
            thread_id: info.thread_id,
            thread_title: info.thread_title.clone(),
            title_html: if info.is_first { hit.title_html } else { None },
            snippet_html: hit.snippet_html,
            board_slug: info.board_slug.clone(),
            board_name: info.board_name.clone(),
            author: info.author.clone(),
            created_at: info.created_at,
            url: format!("/t/{}?page={thread_page}#p{}", info.thread_id, info.post_id),
        });
    }
    Ok(SearchPage {
        total: results.total,
        page,
        per_page: SEARCH_PER_PAGE,
        hits,
        partial: results.partial,
    })
}
