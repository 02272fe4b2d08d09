//! A drop's wall: the posts that placed its reservations or orders (see `share`), shown live on
//! the drop's page, mirrored as replies in a forum thread (so search, trending and the forum see
//! them), counted in linked campaigns, hidden by moderators.

use std::sync::Arc;
use std::time::Duration;

use fanloop_platform::accounts::User;
use fanloop_platform::db::now_ms;
use fanloop_platform::ApiError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::LaunchError;
use crate::service::LaunchState;
use crate::share::{self, Carried};
use crate::store::{self, Drop, WallPost};

/// The post a reservation (`buying` false) or an order must carry, checked before the attempt
/// goes on: `None` when the drop does not ask for one there, or the member's post is already
/// on the wall (one per member and drop: their later orders keep it).
///
/// An order's post is checked here without reading the database (its length, own characters
/// and links) and left to the order's transaction for the rest (the member's earlier post, and
/// copies): a sale's attempts arrive by the hundred thousand, and the transaction checks those
/// anyway, giving the unit back when it refuses. Only a text that fails here costs a read:
/// the member may have a post already and need none.
/// A reservation, a write of its own, is checked in full here first.
pub async fn share_for(
    state: &LaunchState,
    d: &Drop,
    user: &User,
    typed: Option<&str>,
    buying: bool,
) -> Result<Carried, ApiError> {
    let Some(rule) = &d.share else {
        return Ok(None);
    };
    if !(if buying { rule.on.to_buy() } else { rule.on.to_reserve() }) {
        return Ok(None);
    }
    let db = &state.platform.db;
    if buying {
        let typed = typed.filter(|t| !t.trim().is_empty());
        return match typed.map(|t| share::prepare(rule, t)) {
            // Nothing typed: the transaction stores the order if the member has a post, and
            // refuses it (`post_required`) otherwise.
            None => Ok(None),
            Some(Ok(post)) => Ok(Some(Arc::new(post))),
            Some(Err(e)) => match store::post_of(db, d.id, user.id).await? {
                Some(_) => Ok(None),
                None => Err(match e {
                    LaunchError::ShareTooShort => e.with(&[("n", rule.min_chars.to_string())]),
                    e => ApiError::from(e),
                }),
            },
        };
    }
    if store::post_of(db, d.id, user.id).await?.is_some() {
        return Ok(None);
    }
    let post = share::prepare(rule, typed.unwrap_or("")).map_err(|e| match e {
        LaunchError::ShareTooShort => e.with(&[("n", rule.min_chars.to_string())]),
        e => ApiError::from(e),
    })?;
    // Early answer for copies already on the wall (the transaction that stores the post checks
    // again, so two sent together cannot both pass).
    if share::copies_any(
        &post,
        &store::near_copy_candidates(&db.pool, d.id, user.id, &post.bands).await?,
    ) {
        return Err(LaunchError::ShareCopied.into());
    }
    Ok(Some(Arc::new(post)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Wall {
    /// The hashtag every post carries, as posts carry it (`#topic#`).
    pub hashtag: String,
    /// Newest first; those asked for with `after`, oldest first.
    pub posts: Vec<WallPost>,
    /// Posts shown and counted (one per member), and hidden ones.
    pub counted: i64,
    pub hidden: i64,
    /// The forum thread mirroring the wall.
    pub thread_id: Option<i64>,
}

/// Posts per read of a wall.
pub const WALL_PAGE: i64 = 50;

/// How long a node serves a wall's newest posts without reading them again: every open drop
/// page asks every 5 s, thousands of them during a sale.
const WALL_FRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// Per drop: when read, its newest posts (newest first, hidden ones left out) and its counts.
type WallCopy = (std::time::Instant, Arc<(Vec<WallPost>, i64, i64)>);

#[derive(Default)]
pub struct WallCache(std::sync::Mutex<std::collections::HashMap<i64, WallCopy>>);

impl WallCache {
    fn get(&self, drop_id: i64) -> Option<Arc<(Vec<WallPost>, i64, i64)>> {
        let copies = self.0.lock().unwrap_or_else(|e| e.into_inner());
        copies
            .get(&drop_id)
            .filter(|(at, _)| at.elapsed() < WALL_FRESH)
            .map(|(_, c)| c.clone())
    }

    /// Drops a wall's copy: a post was just made or hidden through this node, and whoever made
    /// it looks next (other nodes see it within [`WALL_FRESH`]).
    pub fn forget(&self, drop_id: i64) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&drop_id);
    }

    fn put(&self, drop_id: i64, copy: Arc<(Vec<WallPost>, i64, i64)>) {
        let mut copies = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if copies.len() > 1_000 {
            copies.retain(|_, (at, _)| at.elapsed() < WALL_FRESH);
        }
        copies.insert(drop_id, (std::time::Instant::now(), copy));
    }
}

/// The wall: posts newer than `after`, or older than `before` (a page further down).
/// Moderators also see hidden posts, marked.
pub async fn wall(
    state: &LaunchState,
    viewer: Option<&User>,
    slug: &str,
    after: Option<i64>,
    before: Option<i64>,
) -> Result<Wall, ApiError> {
    let d = crate::service::drop_for_sale(state, slug).await?;
    let Some(rule) = &d.share else {
        return Err(LaunchError::NoDrop.into());
    };
    let db = &state.platform.db;
    let moderator = viewer.is_some_and(|u| u.role.can_moderate());
    // What everyone else sees, the newest posts and what follows them, comes from this node's
    // copy of at most a second ago (a page further down, or a moderator's view, is read).
    if !moderator && before.is_none() {
        let copy = match state.walls.get(d.id) {
            Some(c) => c,
            None => {
                let posts = store::wall(db, d.id, 0, i64::MAX, WALL_PAGE, false).await?;
                let (counted, hidden) = store::wall_counts(db, d.id).await?;
                let c = Arc::new((posts, counted, hidden));
                state.walls.put(d.id, c.clone());
                c
            }
        };
        let (newest, counted, hidden) = &*copy;
        let after = after.unwrap_or(0).max(0);
        let oldest_copied = newest.last().map_or(0, |p| p.id);
        // All that is newer than `after` is in the copy when the copy reaches back to it (or
        // holds the whole wall).
        if after == 0 || after >= oldest_copied || (newest.len() as i64) < WALL_PAGE {
            let posts: Vec<WallPost> = if after == 0 {
                newest.clone()
            } else {
                newest.iter().rev().filter(|p| p.id > after).cloned().collect()
            };
            return Ok(Wall {
                hashtag: rule.tag(),
                posts,
                counted: *counted,
                hidden: *hidden,
                thread_id: d.share_thread_id,
            });
        }
    }
    let posts = store::wall(
        db,
        d.id,
        after.unwrap_or(0).max(0),
        before.unwrap_or(i64::MAX),
        WALL_PAGE,
        moderator,
    )
    .await?;
    let (counted, hidden) = store::wall_counts(db, d.id).await?;
    Ok(Wall {
        hashtag: rule.tag(),
        posts,
        counted,
        hidden,
        thread_id: d.share_thread_id,
    })
}

/// Hides a post from the wall and its forum mirror: it stops counting; an order made with it
/// stands.
pub async fn hide(state: &LaunchState, moderator: &User, slug: &str, post_id: i64) -> Result<(), ApiError> {
    if !moderator.role.can_moderate() {
        return Err(LaunchError::ModeratorsOnly.into());
    }
    let d = crate::service::drop(state, slug).await?;
    let db = &state.platform.db;
    let mirror = store::hide_post(db, d.id, post_id, moderator.id, now_ms())
        .await?
        .ok_or(LaunchError::NoWallPost)?;
    state.walls.forget(d.id);
    if let Some(reply) = mirror.filter(|id| *id > 0) {
        fanloop_community::store::delete_post(db, reply, Some(moderator.id)).await?;
    }
    Ok(())
}

/// Opens the forum thread mirroring a drop's wall, once.
pub async fn ensure_thread(state: &LaunchState, d: &Drop) -> anyhow::Result<Option<i64>> {
    if let Some(id) = d.share_thread_id {
        return Ok(Some(id));
    }
    let Some(rule) = &d.share else {
        return Ok(None);
    };
    let db = &state.platform.db;
    let Some(board) = fanloop_community::store::board_by_slug(db, &rule.board).await? else {
        // The board is gone: the wall stays, without a forum thread.
        tracing::warn!("drop {}: board {} is gone; its wall is not mirrored", d.id, rule.board);
        return Ok(None);
    };
    let Some(author) = store::drop_author(db, d.id).await? else {
        anyhow::bail!("drop {} has no author", d.id);
    };
    let title = format!("{} {}", rule.tag(), d.name);
    let body = format!(
        "{}\n\n{}\n\n[{}](/drops/{})",
        d.description,
        rule.prefill(),
        d.name,
        d.slug
    );
    let body = body.trim().to_string();
    let html = fanloop_community::domain::render_markdown(&body);
    let (thread_id, first_post) = fanloop_community::store::create_thread(
        db,
        &fanloop_community::store::NewThread {
            board_id: board.id,
            author_id: author,
            title: &title,
            body: &body,
            body_html: &html,
            created_at: now_ms(),
        },
        &[],
        "",
    )
    .await?;
    if !store::set_share_thread(db, d.id, thread_id).await? {
        // Another node opened it first: theirs stands, this one goes.
        fanloop_community::store::delete_post(db, first_post, None).await?;
        return Ok(store::drop_by_id(db, d.id).await?.and_then(|d| d.share_thread_id));
    }
    Ok(Some(thread_id))
}

/// The forum thread of a drop's wall, opened if need be (see [`mirror_pass`]): `None` when it
/// could not be told (one drop's trouble does not hold up the others' posts).
async fn wall_thread(state: &LaunchState, drop_id: i64) -> Option<Option<(i64, String)>> {
    let db = &state.platform.db;
    let thread_id = match store::drop_by_id(db, drop_id).await {
        Ok(Some(d)) => match ensure_thread(state, &d).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!("drop {drop_id}: opening its wall's forum thread: {e:#}");
                return None;
            }
        },
        Ok(None) => None,
        Err(e) => {
            tracing::warn!("drop {drop_id}: {e:#}");
            return None;
        }
    };
    let Some(id) = thread_id else {
        return Some(None);
    };
    match fanloop_community::store::get_thread(db, id).await {
        Ok(t) => Some(t.map(|t| (t.summary.id, t.summary.title))),
        Err(e) => {
            tracing::warn!("drop {drop_id}: reading its wall's thread: {e:#}");
            None
        }
    }
}

/// Mirrors wall posts into their forum threads: a pass over what is not mirrored yet, written
/// in one transaction (and their marks in a second), so that a wall filling during a sale does
/// not contend for the write lock once per post with the sale's own commits. Every node may run
/// it; a post is mirrored once whoever runs it (`mirror_replies` is keyed by origin).
pub async fn mirror_pass(state: &LaunchState) -> anyhow::Result<usize> {
    let db = &state.platform.db;
    let pending = store::unmirrored(db, 200).await?;
    // Per drop, read once a pass: `None` when that failed (its posts wait for the next pass),
    // `Some(None)` when no thread can take its posts, else the thread's id and title.
    let mut threads: std::collections::HashMap<i64, Option<Option<(i64, String)>>> = std::collections::HashMap::new();
    let drops: std::collections::BTreeSet<i64> = pending.iter().map(|p| p.drop_id).collect();
    for drop_id in drops {
        threads.insert(drop_id, wall_thread(state, drop_id).await);
    }
    // (post, reply) marks; 0 for a post no thread can take (its board or thread is gone), so
    // the passes move on.
    let mut marks: Vec<(i64, i64)> = Vec::new();
    let mut batch = Vec::new();
    let htmls: Vec<String> = pending
        .iter()
        .map(|p| fanloop_community::domain::render_markdown(&p.body))
        .collect();
    for (p, html) in pending.iter().zip(&htmls) {
        match threads.get(&p.drop_id) {
            Some(Some(Some((thread_id, title)))) => batch.push((
                p.id,
                fanloop_community::store::NewReply {
                    thread_id: *thread_id,
                    thread_title: title,
                    author_id: p.user_id,
                    body: &p.body,
                    body_html: html,
                    created_at: p.created_at,
                },
            )),
            Some(Some(None)) => marks.push((p.id, 0)),
            _ => {}
        }
    }
    let replies: Vec<_> = batch
        .iter()
        .map(|(id, r)| (r.clone(), format!("drop_post:{id}")))
        .collect();
    let made = fanloop_community::store::mirror_replies(db, &replies).await?;
    let mut done = 0;
    let mut mirrored = Vec::new();
    for ((post_id, _), reply) in batch.iter().zip(made) {
        match reply {
            Some(reply_id) => {
                marks.push((*post_id, reply_id));
                mirrored.push((*post_id, reply_id));
                done += 1;
            }
            // The thread was deleted by a moderator: the wall stays, unmirrored.
            None => marks.push((*post_id, 0)),
        }
    }
    store::set_mirrored(db, &marks).await?;
    // Hidden meanwhile (or before): the mirror goes too.
    for (post_id, reply_id) in mirrored {
        if let Some(moderator) = store::hidden_by(db, post_id).await? {
            fanloop_community::store::delete_post(db, reply_id, moderator).await?;
        }
    }
    Ok(done)
}

/// Mirrors walls every second, one node at a time (a job with a lease: another node takes
/// over if this one dies; a post is mirrored once whoever runs it, `mirror_replies` being keyed
/// by origin).
pub fn start_mirror(state: &LaunchState) {
    let state = state.clone();
    fanloop_platform::jobs::spawn(
        state.platform.db.clone(),
        fanloop_platform::jobs::Schedule {
            name: "launches.wall_mirror",
            every: Duration::from_secs(1),
            // Short: a node killed mid-run holds the posts back only this long, and a second
            // runner meanwhile is harmless (a post is mirrored once, keyed by origin).
            lease: Duration::from_secs(10),
            delay_first: false,
        },
        move || {
            let state = state.clone();
            async move {
                let mut total = 0;
                loop {
                    let n = mirror_pass(&state).await?;
                    total += n;
                    if n < 200 {
                        break;
                    }
                }
                Ok(format!("{total} wall posts mirrored"))
            }
        },
    );
}
