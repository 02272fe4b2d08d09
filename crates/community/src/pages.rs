//! Server-rendered community pages.  Every action is a plain form post (works without
//! JavaScript) answered with a redirect; validation problems re-render the form with a message.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use fanloop_platform::accounts;
use fanloop_platform::web::{
    pager, see_other, user_badge, CsrfForm, EmptyForm, PageParam, PagePath, PageQuery, Viewer,
};
use fanloop_platform::{ApiError, PageError};
use minijinja::context;
use serde::Deserialize;

use crate::domain;
use crate::service::{self, CommunityState, Posted};
use crate::store;

pub const THREADS_PER_PAGE: i64 = 25;
pub const POSTS_PER_PAGE: i64 = 20;

pub fn router() -> Router<CommunityState> {
    Router::new()
        .route("/", get(home))
        .route("/b/{slug}", get(board_page))
        .route("/b/{slug}/new", get(compose_page).post(compose_submit))
        .route("/b/{slug}/watch", post(board_watch_submit))
        .route("/t/{id}", get(thread_page))
        .route("/t/{id}/reply", post(reply_submit))
        .route("/t/{id}/watch", post(watch_submit))
        .route("/t/{id}/bookmark", post(bookmark_submit))
        .route("/bookmarks", get(bookmarks_page))
        .route("/t/{id}/moderate", post(moderate_submit))
        .route("/p/{id}", get(post_link))
        .route("/p/{id}/edit", get(edit_page).post(edit_submit))
        .route("/p/{id}/delete", post(delete_submit))
        .route("/p/{id}/like", post(like_submit))
        .route("/p/{id}/flag", post(flag_submit))
        .route("/p/{id}/history", get(history_page))
        .route("/search", get(search_page))
        .route("/u/{username}", get(profile_page))
        .route("/mod", get(mod_page))
        .route("/admin/boards", get(admin_boards_page).post(admin_boards_submit))
        .route("/mod/flags/{id}", post(resolve_submit))
        .route("/mod/held/{id}", post(held_submit))
}

async fn home(State(state): State<CommunityState>, viewer: Viewer) -> Result<Html<String>, PageError> {
    let boards = store::list_boards(&state.platform.db).await?;
    let latest = store::latest_threads(&state.platform.db, 20).await?;
    let unread = unread_for(&state.platform.db, &viewer, latest.iter().map(|t| t.id)).await?;
    state.platform.render(
        &viewer,
        "home.html",
        context! { boards => boards, latest => latest, unread_posts => unread },
    )
}

async fn board_page(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    PageQuery(p): PageQuery<PageParam>,
) -> Result<Html<String>, PageError> {
    let db = &state.platform.db;
    let board = store::board_by_slug(db, &slug)
        .await?
        .ok_or_else(PageError::not_found)?;
    let (threads, total) = store::list_threads(db, board.id, p.offset(THREADS_PER_PAGE), THREADS_PER_PAGE).await?;
    let unread = unread_for(&state.platform.db, &viewer, threads.iter().map(|t| t.id)).await?;
    let watching = match &viewer.user {
        Some(u) => store::watches_board(db, u.id, board.id).await?,
        None => false,
    };
    state.platform.render(
        &viewer,
        "board.html",
        context! { board => board, threads => threads, unread_posts => unread, watching => watching,
        pager => pager(p.number(), THREADS_PER_PAGE, total) },
    )
}

/// Watch a board (every new thread in it notifies you) or stop.
async fn board_watch_submit(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    CsrfForm(form): CsrfForm<ToggleForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    let board = store::board_by_slug(&state.platform.db, &slug)
        .await?
        .ok_or_else(PageError::not_found)?;
    store::set_board_watch(&state.platform.db, user.id, board.id, form.on == "1").await?;
    Ok(see_other(&format!("/b/{}", board.slug)))
}

async fn compose_page(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
) -> Result<Response, PageError> {
    if viewer.user.is_none() {
        return Ok(see_other(&format!("/signin?next=/b/{slug}/new")));
    }
    let board = store::board_by_slug(&state.platform.db, &slug)
        .await?
        .ok_or_else(PageError::not_found)?;
    Ok(state
        .platform
        .render(&viewer, "compose.html", context! { board => board })?
        .into_response())
}

#[derive(Deserialize)]
pub struct ComposeForm {
    title: String,
    body: String,
}

async fn compose_submit(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(slug): PagePath<String>,
    CsrfForm(form): CsrfForm<ComposeForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    match service::create_thread(&state, user, &slug, &form.title, &form.body).await {
        Ok(Posted::Published((thread_id, _))) => Ok(see_other(&format!("/t/{thread_id}"))),
        Ok(Posted::Held(_)) => held_page(&state, &viewer),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::TOO_MANY_REQUESTS => {
            let board = store::board_by_slug(&state.platform.db, &slug)
                .await?
                .ok_or_else(PageError::not_found)?;
            let page = state.platform.render(
                &viewer,
                "compose.html",
                context! { board => board, error => e.text(viewer.lang), title => form.title, body => form.body },
            )?;
            Ok((e.status, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// Unread posts per thread for a signed-in reader (threads they opened before).
async fn unread_for(
    db: &fanloop_platform::Db,
    viewer: &Viewer,
    ids: impl Iterator<Item = i64>,
) -> Result<std::collections::BTreeMap<String, i64>, PageError> {
    let Some(u) = &viewer.user else {
        return Ok(Default::default());
    };
    let ids: Vec<i64> = ids.collect();
    Ok(store::unread_counts(db, u.id, &ids)
        .await?
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect())
}

#[derive(Deserialize)]
pub struct ToggleForm {
    #[serde(default)]
    on: String,
}

/// Watch a thread (every reply notifies you) or stop.
async fn watch_submit(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(form): CsrfForm<ToggleForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    store::get_thread(&state.platform.db, id)
        .await?
        .filter(|t| !t.deleted)
        .ok_or_else(PageError::not_found)?;
    store::set_watching(&state.platform.db, user.id, id, form.on == "1").await?;
    Ok(see_other(&format!("/t/{id}")))
}

/// Bookmark a thread or remove the bookmark.
async fn bookmark_submit(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(form): CsrfForm<ToggleForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    store::get_thread(&state.platform.db, id)
        .await?
        .filter(|t| !t.deleted)
        .ok_or_else(PageError::not_found)?;
    store::set_bookmark(&state.platform.db, user.id, id, form.on == "1").await?;
    Ok(see_other(&format!("/t/{id}")))
}

async fn bookmarks_page(State(state): State<CommunityState>, viewer: Viewer) -> Result<Html<String>, PageError> {
    let user = viewer.require_user()?;
    let threads = store::bookmarks(&state.platform.db, user.id, 200).await?;
    let unread = unread_for(&state.platform.db, &viewer, threads.iter().map(|t| t.id)).await?;
    state.platform.render(
        &viewer,
        "bookmarks.html",
        context! { threads => threads, unread_posts => unread },
    )
}

/// Says that a post waits for a moderator (202: accepted, not yet published).
fn held_page(state: &CommunityState, viewer: &Viewer) -> Result<Response, PageError> {
    let page = state.platform.render(viewer, "held.html", context! {})?;
    Ok((StatusCode::ACCEPTED, page).into_response())
}

#[derive(Deserialize, Default)]
pub struct ThreadQuery {
    #[serde(default, deserialize_with = "fanloop_platform::web::page_number")]
    page: Option<i64>,
    /// A post to quote in the reply box (the quote button without JavaScript).
    #[serde(default, deserialize_with = "fanloop_platform::web::page_number")]
    quote: Option<i64>,
}

async fn thread_page(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    PageQuery(q): PageQuery<ThreadQuery>,
) -> Result<Html<String>, PageError> {
    let page = PageParam { page: q.page }.number();
    let quoted = match q.quote {
        Some(post_id) => service::load_post(&state, post_id)
            .await
            .ok()
            .filter(|rec| rec.post.thread_id == id && !rec.post.deleted)
            .map(|rec| domain::quote(&rec.post.author.username, &rec.post.body)),
        None => None,
    };
    render_thread(&state, &viewer, id, page, None, quoted).await
}

async fn render_thread(
    state: &CommunityState,
    viewer: &Viewer,
    id: i64,
    page: i64,
    error: Option<String>,
    draft: Option<String>,
) -> Result<Html<String>, PageError> {
    let db = &state.platform.db;
    let thread = store::get_thread(db, id)
        .await?
        .filter(|t| !t.deleted)
        .ok_or_else(PageError::not_found)?;
    let total = thread.summary.reply_count + 1;
    let posts = store::list_posts(
        db,
        id,
        (page - 1) * POSTS_PER_PAGE,
        POSTS_PER_PAGE,
        viewer.user.as_ref().map(|u| u.id),
    )
    .await?;
    let can_reply = viewer
        .user
        .as_ref()
        .is_some_and(|u| crate::domain::can_reply(u.role, thread.summary.locked));
    let me_id = viewer.user.as_ref().map(|u| u.id).unwrap_or(0);
    let can_moderate = viewer.user.as_ref().is_some_and(|u| u.role.can_moderate());
    let post_count = store::post_count_in_thread(db, id).await?;
    // Where the reader left off (the marker goes before the first post newer than that), then
    // what this page shows counts as read.
    let (last_read, watching, bookmarked) = match &viewer.user {
        Some(u) => {
            let state = store::reading_state(db, u.id, id).await?;
            // A write only when the page shows something newer than what was read.
            if let Some(newest) = posts.iter().map(|p| p.id).max().filter(|n| *n > state.0) {
                store::mark_read(db, u.id, id, newest).await?;
            }
            state
        }
        None => (0, false, false),
    };
    // The first post this reader has not seen, on a thread they opened before.
    let new_from = (last_read > 0)
        .then(|| posts.iter().map(|p| p.id).filter(|id| *id > last_read).min())
        .flatten()
        .unwrap_or(0);
    state.platform.render(
        viewer,
        "thread.html",
        context! {
            thread => thread.summary,
            posts => posts,
            pager => pager(page, POSTS_PER_PAGE, post_count.max(total)),
            can_reply => can_reply,
            can_moderate => can_moderate,
            me_id => me_id,
            error => error,
            draft => draft,
            new_from => new_from,
            watching => watching,
            bookmarked => bookmarked,
        },
    )
}

#[derive(Deserialize)]
pub struct ReplyForm {
    body: String,
}

async fn reply_submit(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(form): CsrfForm<ReplyForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    match service::reply(&state, user, id, &form.body).await {
        Ok(Posted::Published(post_id)) => Ok(see_other(&post_url(&state, id, post_id).await?)),
        Ok(Posted::Held(_)) => held_page(&state, &viewer),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::TOO_MANY_REQUESTS => {
            let last_page = (store::post_count_in_thread(&state.platform.db, id).await? - 1) / POSTS_PER_PAGE + 1;
            let page = render_thread(
                &state,
                &viewer,
                id,
                last_page.max(1),
                Some(e.text(viewer.lang)),
                Some(form.body),
            )
            .await?;
            Ok((e.status, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn post_url(state: &CommunityState, thread_id: i64, post_id: i64) -> Result<String, PageError> {
    let position = store::post_position(&state.platform.db, thread_id, post_id).await?;
    Ok(format!(
        "/t/{thread_id}?page={}#p{post_id}",
        position / POSTS_PER_PAGE + 1
    ))
}

async fn post_link(State(state): State<CommunityState>, PagePath(id): PagePath<i64>) -> Result<Response, PageError> {
    let rec = service::load_post(&state, id)
        .await
        .map_err(|_| PageError::not_found())?;
    Ok(see_other(&post_url(&state, rec.post.thread_id, id).await?))
}

#[derive(Deserialize)]
pub struct ModerateForm {
    action: String,
}

async fn moderate_submit(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(form): CsrfForm<ModerateForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    let (pinned, locked) = match form.action.as_str() {
        "pin" => (Some(true), None),
        "unpin" => (Some(false), None),
        "lock" => (None, Some(true)),
        "unlock" => (None, Some(false)),
        _ => return Err(fanloop_platform::CommonError::UnknownChoice.into()),
    };
    service::moderate_thread(&state, user, id, pinned, locked).await?;
    Ok(see_other(&format!("/t/{id}")))
}

async fn edit_page(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
) -> Result<Html<String>, PageError> {
    let user = viewer.require_user()?;
    let rec = service::load_post(&state, id).await?;
    let ctx = crate::domain::PostContext {
        author_id: rec.post.author.id,
        thread_locked: rec.thread_locked,
        deleted: false,
    };
    if !crate::domain::can_edit(user.id, user.role, ctx) {
        return Err(PageError::forbidden());
    }
    state.platform.render(
        &viewer,
        "edit.html",
        context! { post => rec.post, title => rec.thread_title },
    )
}

#[derive(Deserialize)]
pub struct EditForm {
    body: String,
    title: Option<String>,
}

async fn edit_submit(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(form): CsrfForm<EditForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    match service::edit_post(&state, user, id, &form.body, form.title.as_deref()).await {
        Ok(()) => {
            let rec = service::load_post(&state, id).await?;
            Ok(see_other(&post_url(&state, rec.post.thread_id, id).await?))
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let rec = service::load_post(&state, id).await?;
            let page = state.platform.render(&viewer, "edit.html", context! { post => rec.post, title => form.title.unwrap_or(rec.thread_title), body => form.body, error => e.text(viewer.lang) })?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete_submit(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    let rec = service::load_post(&state, id).await?;
    match service::delete_post(&state, user, id).await? {
        store::Deleted::Thread(_) => {
            let board = store::get_thread(&state.platform.db, rec.post.thread_id)
                .await?
                .map(|t| t.summary.board_slug)
                .unwrap_or_default();
            Ok(see_other(&format!("/b/{board}")))
        }
        store::Deleted::Post(_) => Ok(see_other(&format!("/t/{}", rec.post.thread_id))),
    }
}

async fn like_submit(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    let rec = service::load_post(&state, id).await?;
    let liked = store::is_liked(&state.platform.db, id, user.id).await?;
    service::like(&state, user, id, !liked).await?;
    Ok(see_other(&post_url(&state, rec.post.thread_id, id).await?))
}

#[derive(Deserialize)]
pub struct FlagForm {
    reason: String,
}

async fn flag_submit(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(form): CsrfForm<FlagForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    let rec = service::load_post(&state, id).await?;
    service::flag(&state, user, id, &form.reason).await?;
    Ok(see_other(
        &post_url(&state, rec.post.thread_id, id)
            .await?
            .replace('#', "&flagged=1#"),
    ))
}

async fn history_page(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
) -> Result<Html<String>, PageError> {
    let rec = service::load_post(&state, id).await?;
    let revisions = store::revisions(&state.platform.db, id).await?;
    // Each revision holds the text before an edit; the edit is the change from it to the next
    // newer text (the current post for the latest one). The latest edits are diffed (each one
    // within a time budget, off the async workers); older ones are only counted.
    const SHOWN: usize = 20;
    let older = revisions.len().saturating_sub(SHOWN);
    let (body, title) = (rec.post.body.clone(), rec.thread_title.clone());
    let shown: Vec<store::Revision> = revisions.into_iter().take(SHOWN).collect();
    let edits = tokio::task::spawn_blocking(move || {
        let (mut newer_body, mut newer_title) = (body, title);
        shown
            .iter()
            .map(|r| {
                let body_diff = domain::diff_html(&r.body, &newer_body);
                let title_diff = r
                    .title
                    .as_ref()
                    .filter(|t| **t != newer_title)
                    .map(|t| domain::diff_html(t, &newer_title));
                newer_body = r.body.clone();
                if let Some(t) = &r.title {
                    newer_title = t.clone();
                }
                context! { edited_by => r.edited_by, created_at => r.created_at, body_diff => body_diff, title_diff => title_diff }
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| PageError::from(anyhow::anyhow!("diffing edits: {e}")))?;
    state.platform.render(
        &viewer,
        "history.html",
        context! { post => rec.post, title => rec.thread_title, edits => edits, older => older },
    )
}

#[derive(Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    board: Option<String>,
    author: Option<String>,
    page: Option<i64>,
}

async fn search_page(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PageQuery(params): PageQuery<SearchParams>,
) -> Result<Html<String>, PageError> {
    let q = params.q.unwrap_or_default();
    let page = PageParam { page: params.page }.number();
    let results = if q.trim().is_empty() {
        None
    } else {
        Some(service::search(&state, &q, params.board.as_deref(), params.author.as_deref(), page).await?)
    };
    let boards = store::list_boards(&state.platform.db).await?;
    let total = results.as_ref().map(|r| r.total as i64).unwrap_or(0);
    state.platform.render(
        &viewer,
        "search.html",
        context! {
            q => q,
            board => params.board.unwrap_or_default(),
            author_filter => params.author.unwrap_or_default(),
            boards => boards,
            results => results,
            pager => pager(page, service::SEARCH_PER_PAGE, total),
        },
    )
}

async fn profile_page(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(username): PagePath<String>,
) -> Result<Html<String>, PageError> {
    let db = &state.platform.db;
    let user = accounts::find_by_username(db, &username)
        .await?
        .ok_or_else(PageError::not_found)?;
    let stats = store::profile_stats(db, user.id).await?;
    let threads = store::threads_by_author(db, user.id, 10).await?;
    let panels = state.platform.profile_panels(viewer.lang, &user).await?;
    state.platform.render(
        &viewer,
        "profile.html",
        context! { profile => user_badge(&user), joined => user.created_at, bio => user.bio, stats => stats, threads => threads, honor_rank => user.role.honor_rank(), panels => panels },
    )
}

const FLAGS_PER_PAGE: i64 = 30;

async fn mod_page(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PageQuery(p): PageQuery<PageParam>,
) -> Result<Html<String>, PageError> {
    let user = viewer.require_user()?;
    if !user.role.can_moderate() {
        return Err(PageError::forbidden());
    }
    let (flags, total) = store::open_flags(&state.platform.db, p.offset(FLAGS_PER_PAGE), FLAGS_PER_PAGE).await?;
    let held = service::held_posts(&state, user).await?;
    state.platform.render(
        &viewer,
        "mod.html",
        context! { flags => flags, held => held, pager => pager(p.number(), FLAGS_PER_PAGE, total) },
    )
}

#[derive(Deserialize)]
pub struct ResolveForm {
    action: String,
}

async fn resolve_submit(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(form): CsrfForm<ResolveForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    service::resolve_flag(&state, user, id, &form.action)
        .await
        .map_err(|e: ApiError| PageError::from(e))?;
    Ok(see_other("/mod"))
}

#[derive(Deserialize)]
pub struct HeldForm {
    action: String,
}

async fn held_submit(
    State(state): State<CommunityState>,
    viewer: Viewer,
    PagePath(id): PagePath<i64>,
    CsrfForm(form): CsrfForm<HeldForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    let approve = match form.action.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(fanloop_platform::CommonError::UnknownChoice.into()),
    };
    service::review_held(&state, user, id, approve).await?;
    Ok(see_other("/mod"))
}

async fn admin_boards_page(State(state): State<CommunityState>, viewer: Viewer) -> Result<Html<String>, PageError> {
    render_admin_boards(&state, &viewer, None, None).await
}

async fn render_admin_boards(
    state: &CommunityState,
    viewer: &Viewer,
    error: Option<String>,
    form: Option<&BoardForm>,
) -> Result<Html<String>, PageError> {
    if !viewer.require_user()?.role.is_admin() {
        return Err(PageError::forbidden());
    }
    let boards = store::list_boards(&state.platform.db).await?;
    state.platform.render(
        viewer,
        "admin_boards.html",
        context! { boards => boards, error => error, form => form },
    )
}

#[derive(Deserialize, serde::Serialize)]
pub struct BoardForm {
    slug: String,
    name: String,
    #[serde(default)]
    description: String,
    position: Option<i64>,
}

async fn admin_boards_submit(
    State(state): State<CommunityState>,
    viewer: Viewer,
    CsrfForm(f): CsrfForm<BoardForm>,
) -> Result<Response, PageError> {
    let user = viewer.require_user()?;
    match service::create_board(&state, user, &f.slug, &f.name, &f.description, f.position.unwrap_or(0)).await {
        Ok(_) => Ok(see_other("/admin/boards")),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::CONFLICT => {
            let page = render_admin_boards(&state, &viewer, Some(e.text(viewer.lang)), Some(&f)).await?;
            Ok((e.status, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
