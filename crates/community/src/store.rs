//! Community storage: boards, threads, posts, likes, revisions and flags, in the SQL both
//! backends share.  Multi-row changes run in one transaction so nothing is left half-written.

use fanloop_platform::auth::Role;
use fanloop_platform::db::{now_ms, opt_i64, opt_string, Db};
use fanloop_platform::notifications::{self, NewNotification, NotificationKind};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::ToSchema;

/// An author as shown next to content: enough for the name, badge and team.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserRef {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub team: Option<String>,
    /// The name shown beside the @username, if the member chose one.
    pub display_name: Option<String>,
    /// The small (64 px) avatar, if the member has one.
    pub avatar_url: Option<String>,
    pub is_staff: bool,
}

fn user_ref(row: &AnyRow, prefix: &str) -> UserRef {
    let role = Role::parse(&row.get::<String, _>(format!("{prefix}role").as_str())).unwrap_or(Role::Fan);
    UserRef {
        id: row.get(format!("{prefix}id").as_str()),
        username: row.get(format!("{prefix}username").as_str()),
        role,
        team: opt_string(row, &format!("{prefix}team")),
        display_name: opt_string(row, &format!("{prefix}display_name")),
        avatar_url: opt_string(row, &format!("{prefix}avatar_key")).map(|k| fanloop_platform::uploads::thumb_url(&k)),
        is_staff: role.is_staff(),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Board {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub position: i64,
    pub thread_count: i64,
}

fn board_from_row(row: &AnyRow) -> Board {
    Board {
        id: row.get("id"),
        slug: row.get("slug"),
        name: row.get("name"),
        description: row.get("description"),
        position: row.get("position"),
        thread_count: row.get("thread_count"),
    }
}

const BOARD_COLS: &str = "b.id, b.slug, b.name, b.description, b.position, b.thread_count";

pub async fn list_boards(db: &Db) -> anyhow::Result<Vec<Board>> {
    let rows = sqlx::query(&format!("SELECT {BOARD_COLS} FROM boards b ORDER BY b.position, b.id"))
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(board_from_row).collect())
}

pub async fn board_by_slug(db: &Db, slug: &str) -> anyhow::Result<Option<Board>> {
    let row = sqlx::query(&format!("SELECT {BOARD_COLS} FROM boards b WHERE b.slug = $1"))
        .bind(slug)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(board_from_row))
}

/// Creates a board; `None` if the slug is taken.
pub async fn create_board(
    db: &Db,
    slug: &str,
    name: &str,
    description: &str,
    position: i64,
) -> anyhow::Result<Option<Board>> {
    let result =
        sqlx::query("INSERT INTO boards (slug, name, description, position, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(slug)
            .bind(name)
            .bind(description)
            .bind(position)
            .bind(now_ms())
            .execute(&db.pool)
            .await;
    match result {
        Ok(_) => board_by_slug(db, slug).await,
        Err(e) if fanloop_platform::db::is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ThreadSummary {
    pub id: i64,
    pub board_slug: String,
    pub board_name: String,
    pub title: String,
    pub author: UserRef,
    pub created_at: i64,
    pub last_post_at: i64,
    pub reply_count: i64,
    pub pinned: bool,
    pub locked: bool,
}

const THREAD_COLS: &str = "t.id, t.title, t.created_at, t.last_post_at, t.reply_count, t.pinned, t.locked, t.deleted, t.board_id, \
    b.slug AS board_slug, b.name AS board_name, u.id AS a_id, u.username AS a_username, u.role AS a_role, u.team AS a_team, u.display_name AS a_display_name, u.avatar_key AS a_avatar_key";

const THREAD_FROM: &str = "FROM threads t JOIN boards b ON b.id = t.board_id JOIN users u ON u.id = t.author_id";

fn thread_from_row(row: &AnyRow) -> ThreadSummary {
    ThreadSummary {
        id: row.get("id"),
        board_slug: row.get("board_slug"),
        board_name: row.get("board_name"),
        title: row.get("title"),
        author: user_ref(row, "a_"),
        created_at: row.get("created_at"),
        last_post_at: row.get("last_post_at"),
        reply_count: row.get("reply_count"),
        pinned: row.get::<i64, _>("pinned") != 0,
        locked: row.get::<i64, _>("locked") != 0,
    }
}

pub async fn list_threads(
    db: &Db,
    board_id: i64,
    offset: i64,
    limit: i64,
) -> anyhow::Result<(Vec<ThreadSummary>, i64)> {
    let rows = sqlx::query(&format!(
        "SELECT {THREAD_COLS} {THREAD_FROM} WHERE t.board_id = $1 AND t.deleted = 0 \
         ORDER BY t.pinned DESC, t.last_post_at DESC, t.id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(board_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM threads WHERE board_id = $1 AND deleted = 0")
        .bind(board_id)
        .fetch_one(&db.pool)
        .await?;
    Ok((rows.iter().map(thread_from_row).collect(), total))
}

pub async fn latest_threads(db: &Db, limit: i64) -> anyhow::Result<Vec<ThreadSummary>> {
    let rows = sqlx::query(&format!(
        "SELECT {THREAD_COLS} {THREAD_FROM} WHERE t.deleted = 0 ORDER BY t.last_post_at DESC, t.id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(thread_from_row).collect())
}

pub async fn threads_by_author(db: &Db, author_id: i64, limit: i64) -> anyhow::Result<Vec<ThreadSummary>> {
    let rows = sqlx::query(&format!(
        "SELECT {THREAD_COLS} {THREAD_FROM} WHERE t.author_id = $1 AND t.deleted = 0 ORDER BY t.id DESC LIMIT $2"
    ))
    .bind(author_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(thread_from_row).collect())
}

/// A thread with the id of its board, for permission checks.
pub struct ThreadRecord {
    pub summary: ThreadSummary,
    pub board_id: i64,
    pub deleted: bool,
}

pub async fn get_thread(db: &Db, id: i64) -> anyhow::Result<Option<ThreadRecord>> {
    let row = sqlx::query(&format!("SELECT {THREAD_COLS} {THREAD_FROM} WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|row| ThreadRecord {
        summary: thread_from_row(&row),
        board_id: row.get("board_id"),
        deleted: row.get::<i64, _>("deleted") != 0,
    }))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Post {
    pub id: i64,
    pub thread_id: i64,
    pub author: UserRef,
    /// Markdown source (empty once deleted).
    pub body: String,
    /// Sanitised HTML rendering of `body`.
    pub body_html: String,
    pub is_first: bool,
    pub like_count: i64,
    pub liked_by_me: bool,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted: bool,
}

const POST_COLS: &str =
    "p.id, p.thread_id, p.body, p.body_html, p.is_first, p.like_count, p.created_at, p.edited_at, p.deleted, \
    u.id AS a_id, u.username AS a_username, u.role AS a_role, u.team AS a_team, u.display_name AS a_display_name, u.avatar_key AS a_avatar_key";

fn post_from_row(row: &AnyRow) -> Post {
    let deleted = row.get::<i64, _>("deleted") != 0;
    Post {
        id: row.get("id"),
        thread_id: row.get("thread_id"),
        author: user_ref(row, "a_"),
        body: if deleted { String::new() } else { row.get("body") },
        body_html: if deleted { String::new() } else { row.get("body_html") },
        is_first: row.get::<i64, _>("is_first") != 0,
        like_count: row.get("like_count"),
        liked_by_me: row.try_get::<i64, _>("liked").map(|v| v != 0).unwrap_or(false),
        created_at: row.get("created_at"),
        edited_at: opt_i64(row, "edited_at"),
        deleted,
    }
}

pub async fn list_posts(
    db: &Db,
    thread_id: i64,
    offset: i64,
    limit: i64,
    viewer_id: Option<i64>,
) -> anyhow::Result<Vec<Post>> {
    let rows = sqlx::query(&format!(
        "SELECT {POST_COLS}, (SELECT COUNT(*) FROM likes l WHERE l.post_id = p.id AND l.user_id = $4) AS liked \
         FROM posts p JOIN users u ON u.id = p.author_id WHERE p.thread_id = $1 ORDER BY p.id LIMIT $2 OFFSET $3"
    ))
    .bind(thread_id)
    .bind(limit)
    .bind(offset)
    .bind(viewer_id.unwrap_or(0))
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(post_from_row).collect())
}

/// The newest post's id (0 when there is none).
pub async fn newest_post_id(db: &Db) -> anyhow::Result<i64> {
    let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM posts")
        .fetch_one(&db.pool)
        .await?;
    Ok(newest.unwrap_or(0))
}

/// Live posts (id, thread) above `id`, oldest first: what the live feed tells open threads.
pub async fn post_threads_after(db: &Db, id: i64, limit: i64) -> anyhow::Result<Vec<(i64, i64)>> {
    Ok(sqlx::query_as::<_, (i64, i64)>(
        "SELECT id, thread_id FROM posts WHERE id > $1 AND deleted = 0 ORDER BY id LIMIT $2",
    )
    .bind(id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?)
}

/// How many live posts of a thread are newer than `after`, and the first of them.
pub async fn posts_after(db: &Db, thread_id: i64, after: i64) -> anyhow::Result<(i64, Option<i64>)> {
    Ok(sqlx::query_as::<_, (i64, Option<i64>)>(
        "SELECT COUNT(*), MIN(id) FROM posts WHERE thread_id = $1 AND id > $2 AND deleted = 0",
    )
    .bind(thread_id)
    .bind(after)
    .fetch_one(&db.pool)
    .await?)
}

pub async fn post_count_in_thread(db: &Db, thread_id: i64) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM posts WHERE thread_id = $1")
        .bind(thread_id)
        .fetch_one(&db.pool)
        .await?)
}

/// A post with what is needed to authorise changes to it.
pub struct PostRecord {
    pub post: Post,
    pub thread_title: String,
    pub thread_locked: bool,
    pub thread_deleted: bool,
    pub board_id: i64,
}

pub async fn get_post(db: &Db, id: i64) -> anyhow::Result<Option<PostRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {POST_COLS}, t.title AS thread_title, t.locked AS thread_locked, t.deleted AS thread_deleted, t.board_id \
         FROM posts p JOIN users u ON u.id = p.author_id JOIN threads t ON t.id = p.thread_id WHERE p.id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|row| PostRecord {
        post: post_from_row(&row),
        thread_title: row.get("thread_title"),
        thread_locked: row.get::<i64, _>("thread_locked") != 0,
        thread_deleted: row.get::<i64, _>("thread_deleted") != 0,
        board_id: row.get("board_id"),
    }))
}

/// Position (0-based) of a post within its thread, to link to the right page.
pub async fn post_position(db: &Db, thread_id: i64, post_id: i64) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM posts WHERE thread_id = $1 AND id < $2")
            .bind(thread_id)
            .bind(post_id)
            .fetch_one(&db.pool)
            .await?,
    )
}

pub struct NewThread<'a> {
    pub board_id: i64,
    pub author_id: i64,
    pub title: &'a str,
    pub body: &'a str,
    pub body_html: &'a str,
    pub created_at: i64,
}

/// Creates a thread and its opening post atomically; returns (thread id, post id).
pub async fn create_thread(
    db: &Db,
    t: &NewThread<'_>,
    mentions: &[(i64, NotificationKind)],
    link_base: &str,
) -> anyhow::Result<(i64, i64)> {
    let mut tx = db.begin_write().await?;
    let thread_id: i64 = sqlx::query_scalar(
        "INSERT INTO threads (board_id, author_id, title, created_at, last_post_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(t.board_id)
    .bind(t.author_id)
    .bind(t.title)
    .bind(t.created_at)
    .fetch_one(&mut *tx)
    .await?;
    let post_id: i64 = sqlx::query_scalar(
        "INSERT INTO posts (thread_id, author_id, body, body_html, is_first, created_at) VALUES ($1, $2, $3, $4, 1, $5) RETURNING id",
    )
    .bind(thread_id)
    .bind(t.author_id)
    .bind(t.body)
    .bind(t.body_html)
    .bind(t.created_at)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("UPDATE boards SET thread_count = thread_count + 1 WHERE id = $1")
        .bind(t.board_id)
        .execute(&mut *tx)
        .await?;
    let link = format!("{link_base}/t/{thread_id}#p{post_id}");
    for (user_id, kind) in mentions {
        notifications::notify(
            &mut *tx,
            &NewNotification {
                user_id: *user_id,
                kind: *kind,
                actor_id: Some(t.author_id),
                subject: t.title,
                link: &link,
                detail: None,
            },
        )
        .await?;
    }
    // Those watching the board, but not its author nor those just told of it by a mention
    // (each person is told once; a mention turned off was not told), as `notifications::notify`
    // writes them (a kind turned off is skipped).
    let told: Vec<i64> = mentions.iter().map(|(u, _)| *u).collect();
    sqlx::query(&format!(
        "INSERT INTO notifications (user_id, kind, actor_id, subject, link, detail, created_at) \
         SELECT w.user_id, 'watching', $2, $3, $4, NULL, $5 FROM board_watches w WHERE w.board_id = $1 \
         AND w.user_id <> $2 AND NOT (w.user_id IN ({}) AND {}) AND {}",
        db.json_list("$6", true),
        notifications::not_turned_off("w.user_id", NotificationKind::Mention),
        notifications::not_turned_off("w.user_id", NotificationKind::Watching),
    ))
    .bind(t.board_id)
    .bind(t.author_id)
    .bind(t.title)
    .bind(&link)
    .bind(t.created_at)
    .bind(serde_json::to_string(&told)?)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((thread_id, post_id))
}

/// Whether `user_id` watches the board.
pub async fn watches_board(db: &Db, user_id: i64, board_id: i64) -> anyhow::Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT board_id FROM board_watches WHERE user_id = $1 AND board_id = $2")
            .bind(user_id)
            .bind(board_id)
            .fetch_optional(&db.pool)
            .await?;
    Ok(found.is_some())
}

/// Starts or stops watching a board (idempotent).
pub async fn set_board_watch(db: &Db, user_id: i64, board_id: i64, on: bool) -> anyhow::Result<()> {
    let query = if on {
        sqlx::query(
            "INSERT INTO board_watches (user_id, board_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, board_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(board_id)
        .bind(now_ms())
    } else {
        sqlx::query("DELETE FROM board_watches WHERE user_id = $1 AND board_id = $2")
            .bind(user_id)
            .bind(board_id)
    };
    query.execute(&db.pool).await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct NewReply<'a> {
    pub thread_id: i64,
    pub thread_title: &'a str,
    pub author_id: i64,
    pub body: &'a str,
    pub body_html: &'a str,
    pub created_at: i64,
}

/// Adds a reply, bumps the thread and notifies, all or nothing.  Refuses (returns `None`) if the
/// thread was deleted meanwhile.
pub async fn create_reply(
    db: &Db,
    r: &NewReply<'_>,
    notify: &[(i64, NotificationKind)],
) -> anyhow::Result<Option<i64>> {
    let mut tx = db.begin_write().await?;
    let bumped = sqlx::query(
        "UPDATE threads SET reply_count = reply_count + 1, last_post_at = $1 WHERE id = $2 AND deleted = 0",
    )
    .bind(r.created_at)
    .bind(r.thread_id)
    .execute(&mut *tx)
    .await?;
    if bumped.rows_affected() == 0 {
        return Ok(None);
    }
    let post_id: i64 = sqlx::query_scalar(
        "INSERT INTO posts (thread_id, author_id, body, body_html, is_first, created_at) VALUES ($1, $2, $3, $4, 0, $5) RETURNING id",
    )
    .bind(r.thread_id)
    .bind(r.author_id)
    .bind(r.body)
    .bind(r.body_html)
    .bind(r.created_at)
    .fetch_one(&mut *tx)
    .await?;
    let link = format!("/t/{}#p{post_id}", r.thread_id);
    // Watchers hear of every reply (once: not when the plan already tells them, not the author).
    let watchers: Vec<i64> =
        sqlx::query_scalar("SELECT user_id FROM thread_reads WHERE thread_id = $1 AND watching = 1")
            .bind(r.thread_id)
            .fetch_all(&mut *tx)
            .await?;
    let mut notify: Vec<(i64, NotificationKind)> = notify.to_vec();
    for w in watchers {
        if w != r.author_id && !notify.iter().any(|(u, _)| *u == w) {
            notify.push((w, NotificationKind::Reply));
        }
    }
    for (user_id, kind) in &notify {
        notifications::notify(
            &mut *tx,
            &NewNotification {
                user_id: *user_id,
                kind: *kind,
                actor_id: Some(r.author_id),
                subject: r.thread_title,
                link: &link,
                detail: None,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Some(post_id))
}

/// Replies mirroring posts made elsewhere (a drop's share wall), each once per `origin` whoever
/// asks and however often: their ids, `None` where the thread is gone.  Nobody is notified (a
/// wall takes thousands of posts in minutes); search and trending see them like any reply.
/// One write transaction, one savepoint each: a wall filling during a sale is mirrored without
/// taking the write lock once per post from the sale's own commits.
pub async fn mirror_replies(db: &Db, replies: &[(NewReply<'_>, String)]) -> anyhow::Result<Vec<Option<i64>>> {
    let mut out = Vec::with_capacity(replies.len());
    if replies.is_empty() {
        return Ok(out);
    }
    let mut tx = db.begin_write().await?;
    let by_origin = "SELECT id FROM posts WHERE origin = $1";
    for (r, origin) in replies {
        let existing = sqlx::query_scalar::<_, i64>(by_origin)
            .bind(origin)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(id) = existing {
            out.push(Some(id));
            continue;
        }
        let mut one = sqlx::Acquire::begin(&mut *tx).await?;
        // (A post mirrored late keeps its own time, and does not move the thread's back.)
        let bumped = sqlx::query(
            "UPDATE threads SET reply_count = reply_count + 1, \
             last_post_at = CASE WHEN last_post_at > $1 THEN last_post_at ELSE $1 END WHERE id = $2 AND deleted = 0",
        )
        .bind(r.created_at)
        .bind(r.thread_id)
        .execute(&mut *one)
        .await?;
        if bumped.rows_affected() == 0 {
            one.rollback().await?;
            out.push(None);
            continue;
        }
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO posts (thread_id, author_id, body, body_html, is_first, created_at, origin) \
             VALUES ($1, $2, $3, $4, 0, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(r.thread_id)
        .bind(r.author_id)
        .bind(r.body)
        .bind(r.body_html)
        .bind(r.created_at)
        .bind(origin)
        .fetch_optional(&mut *one)
        .await?;
        match id {
            Some(id) => {
                one.commit().await?;
                out.push(Some(id));
            }
            // Another node mirrored it meanwhile: theirs stands, and the thread is bumped once.
            None => {
                one.rollback().await?;
                let theirs = sqlx::query_scalar::<_, i64>(by_origin)
                    .bind(origin)
                    .fetch_optional(&mut *tx)
                    .await?;
                out.push(theirs);
            }
        }
    }
    tx.commit().await?;
    Ok(out)
}

/// Saves the previous version as a revision, then the new one.  A new title applies to the thread.
pub async fn edit_post(
    db: &Db,
    post_id: i64,
    editor_id: i64,
    body: &str,
    body_html: &str,
    new_title: Option<&str>,
) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "SELECT p.body, p.thread_id, t.title FROM posts p JOIN threads t ON t.id = p.thread_id WHERE p.id = $1",
    )
    .bind(post_id)
    .fetch_one(&mut *tx)
    .await?;
    let old_body: String = row.get("body");
    let thread_id: i64 = row.get("thread_id");
    let old_title: String = row.get("title");
    let now = now_ms();
    sqlx::query("INSERT INTO post_revisions (post_id, title, body, edited_by, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(post_id)
        .bind(new_title.map(|_| old_title))
        .bind(old_body)
        .bind(editor_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE posts SET body = $1, body_html = $2, edited_at = $3 WHERE id = $4")
        .bind(body)
        .bind(body_html)
        .bind(now)
        .bind(post_id)
        .execute(&mut *tx)
        .await?;
    if let Some(title) = new_title {
        sqlx::query("UPDATE threads SET title = $1 WHERE id = $2")
            .bind(title)
            .bind(thread_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Revision {
    pub id: i64,
    pub title: Option<String>,
    pub body: String,
    pub edited_by: String,
    pub created_at: i64,
}

pub async fn revisions(db: &Db, post_id: i64) -> anyhow::Result<Vec<Revision>> {
    let rows = sqlx::query(
        "SELECT r.id, r.title, r.body, u.username, r.created_at FROM post_revisions r JOIN users u ON u.id = r.edited_by \
         WHERE r.post_id = $1 ORDER BY r.id DESC",
    )
    .bind(post_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| Revision {
            id: row.get("id"),
            title: opt_string(row, "title"),
            body: row.get("body"),
            edited_by: row.get("username"),
            created_at: row.get("created_at"),
        })
        .collect())
}

/// What a deletion removed, so the search index can follow.
pub enum Deleted {
    Post(i64),
    /// The opening post was deleted: the whole thread goes, with these post ids.
    Thread(Vec<i64>),
}

/// Deletes a post (an opening post deletes its thread). `moderator`: a staff member deleting
/// someone else's post, written to the audit log in the same transaction.
pub async fn delete_post(db: &Db, post_id: i64, moderator: Option<i64>) -> anyhow::Result<Deleted> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "SELECT p.thread_id, p.is_first, p.deleted, p.author_id, t.title FROM posts p JOIN threads t ON t.id = p.thread_id \
         WHERE p.id = $1",
    )
    .bind(post_id)
    .fetch_one(&mut *tx)
    .await?;
    let thread_id: i64 = row.get("thread_id");
    if let Some(actor) = moderator {
        fanloop_platform::audit::record(
            &mut *tx,
            &fanloop_platform::audit::Entry::new(
                Some(actor),
                "post.delete",
                "post",
                &post_id.to_string(),
                &row.get::<String, _>("title"),
                serde_json::json!({ "thread_id": thread_id, "author_id": row.get::<i64, _>("author_id"),
                                    "whole_thread": row.get::<i64, _>("is_first") != 0 }),
            ),
        )
        .await?;
    }
    let outcome = if row.get::<i64, _>("is_first") != 0 {
        sqlx::query("UPDATE threads SET deleted = 1 WHERE id = $1")
            .bind(thread_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE boards SET thread_count = thread_count - 1 WHERE id = (SELECT board_id FROM threads WHERE id = $1)",
        )
        .bind(thread_id)
        .execute(&mut *tx)
        .await?;
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM posts WHERE thread_id = $1 AND deleted = 0")
            .bind(thread_id)
            .fetch_all(&mut *tx)
            .await?;
        sqlx::query("UPDATE posts SET deleted = 1 WHERE thread_id = $1")
            .bind(thread_id)
            .execute(&mut *tx)
            .await?;
        Deleted::Thread(ids)
    } else {
        if row.get::<i64, _>("deleted") == 0 {
            sqlx::query("UPDATE posts SET deleted = 1 WHERE id = $1")
                .bind(post_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE threads SET reply_count = reply_count - 1 WHERE id = $1 AND reply_count > 0")
                .bind(thread_id)
                .execute(&mut *tx)
                .await?;
        }
        Deleted::Post(post_id)
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Pins or locks a thread, with the moderator's entry in the audit log.
pub async fn set_thread_flag(
    db: &Db,
    thread_id: i64,
    pinned: Option<bool>,
    locked: Option<bool>,
    actor: i64,
) -> anyhow::Result<()> {
    if pinned.is_none() && locked.is_none() {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    let title: String = sqlx::query_scalar("SELECT title FROM threads WHERE id = $1")
        .bind(thread_id)
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or_default();
    if let Some(p) = pinned {
        sqlx::query("UPDATE threads SET pinned = $1 WHERE id = $2")
            .bind(p as i64)
            .bind(thread_id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(l) = locked {
        sqlx::query("UPDATE threads SET locked = $1 WHERE id = $2")
            .bind(l as i64)
            .bind(thread_id)
            .execute(&mut *tx)
            .await?;
    }
    fanloop_platform::audit::record(
        &mut *tx,
        &fanloop_platform::audit::Entry::new(
            Some(actor),
            "thread.moderate",
            "thread",
            &thread_id.to_string(),
            &title,
            serde_json::json!({ "pinned": pinned, "locked": locked }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Likes or unlikes; idempotent.  Returns the new state and count.
pub async fn set_like(db: &Db, post_id: i64, user_id: i64, like: bool) -> anyhow::Result<(bool, i64)> {
    let mut tx = db.begin_write().await?;
    let changed = if like {
        sqlx::query("INSERT INTO likes (post_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (post_id, user_id) DO NOTHING")
            .bind(post_id)
            .bind(user_id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?
            .rows_affected()
    } else {
        sqlx::query("DELETE FROM likes WHERE post_id = $1 AND user_id = $2")
            .bind(post_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
    };
    if changed > 0 {
        let delta: i64 = if like { 1 } else { -1 };
        sqlx::query("UPDATE posts SET like_count = like_count + $1 WHERE id = $2")
            .bind(delta)
            .bind(post_id)
            .execute(&mut *tx)
            .await?;
    }
    let count: i64 = sqlx::query_scalar("SELECT like_count FROM posts WHERE id = $1")
        .bind(post_id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((like, count))
}

pub async fn is_liked(db: &Db, post_id: i64, user_id: i64) -> anyhow::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM likes WHERE post_id = $1 AND user_id = $2")
        .bind(post_id)
        .bind(user_id)
        .fetch_one(&db.pool)
        .await?;
    Ok(n > 0)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Flag {
    pub id: i64,
    pub post_id: i64,
    pub thread_id: i64,
    pub thread_title: String,
    pub post_excerpt: String,
    pub post_author: String,
    pub reporter: String,
    pub reason: String,
    pub created_at: i64,
}

/// Records a flag; a reporter has at most one open flag per post (`false` if one exists).
pub async fn flag_post(db: &Db, post_id: i64, reporter_id: i64, reason: &str) -> anyhow::Result<bool> {
    let mut tx = db.begin_write().await?;
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM flags WHERE post_id = $1 AND reporter_id = $2 AND resolved_at IS NULL",
    )
    .bind(post_id)
    .bind(reporter_id)
    .fetch_one(&mut *tx)
    .await?;
    if open > 0 {
        return Ok(false);
    }
    sqlx::query("INSERT INTO flags (post_id, reporter_id, reason, created_at) VALUES ($1, $2, $3, $4)")
        .bind(post_id)
        .bind(reporter_id)
        .bind(reason)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn open_flags(db: &Db, offset: i64, limit: i64) -> anyhow::Result<(Vec<Flag>, i64)> {
    let rows = sqlx::query(
        "SELECT f.id, f.post_id, f.reason, f.created_at, p.thread_id, p.body, t.title, a.username AS author, r.username AS reporter \
         FROM flags f JOIN posts p ON p.id = f.post_id JOIN threads t ON t.id = p.thread_id \
         JOIN users a ON a.id = p.author_id JOIN users r ON r.id = f.reporter_id \
         WHERE f.resolved_at IS NULL ORDER BY f.id LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM flags WHERE resolved_at IS NULL")
        .fetch_one(&db.pool)
        .await?;
    let flags = rows
        .iter()
        .map(|row| Flag {
            id: row.get("id"),
            post_id: row.get("post_id"),
            thread_id: row.get("thread_id"),
            thread_title: row.get("title"),
            post_excerpt: crate::domain::excerpt(&row.get::<String, _>("body"), 200),
            post_author: row.get("author"),
            reporter: row.get("reporter"),
            reason: row.get("reason"),
            created_at: row.get("created_at"),
        })
        .collect();
    Ok((flags, total))
}

/// Closes every open flag on the flag's post; returns the post id, or `None` if no such open flag.
pub async fn resolve_flag(db: &Db, flag_id: i64, moderator_id: i64, resolution: &str) -> anyhow::Result<Option<i64>> {
    let mut tx = db.begin_write().await?;
    let post_id: Option<i64> = sqlx::query_scalar("SELECT post_id FROM flags WHERE id = $1 AND resolved_at IS NULL")
        .bind(flag_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(post_id) = post_id else { return Ok(None) };
    sqlx::query("UPDATE flags SET resolved_at = $1, resolved_by = $2, resolution = $3 WHERE post_id = $4 AND resolved_at IS NULL")
        .bind(now_ms())
        .bind(moderator_id)
        .bind(resolution)
        .bind(post_id)
        .execute(&mut *tx)
        .await?;
    fanloop_platform::audit::record(
        &mut *tx,
        &fanloop_platform::audit::Entry::new(
            Some(moderator_id),
            "flag.resolve",
            "post",
            &post_id.to_string(),
            "",
            serde_json::json!({ "flag_id": flag_id, "resolution": resolution }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(post_id))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileStats {
    pub post_count: i64,
    pub thread_count: i64,
    pub likes_received: i64,
}

pub async fn profile_stats(db: &Db, user_id: i64) -> anyhow::Result<ProfileStats> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS posts, CAST(COALESCE(SUM(like_count), 0) AS BIGINT) AS likes, \
         CAST(COALESCE(SUM(is_first), 0) AS BIGINT) AS threads FROM posts WHERE author_id = $1 AND deleted = 0",
    )
    .bind(user_id)
    .fetch_one(&db.pool)
    .await?;
    Ok(ProfileStats {
        post_count: row.get("posts"),
        thread_count: row.get("threads"),
        likes_received: row.get("likes"),
    })
}

/// A post as the search index sees it.
#[derive(Debug, Clone)]
pub struct IndexDoc {
    pub post_id: i64,
    pub thread_id: i64,
    pub board_id: i64,
    pub author_id: i64,
    /// The thread title, only on the opening post.
    pub title: Option<String>,
    pub body: String,
    pub created_at: i64,
}

fn index_doc_from_row(row: &AnyRow) -> IndexDoc {
    let is_first = row.get::<i64, _>("is_first") != 0;
    IndexDoc {
        post_id: row.get("id"),
        thread_id: row.get("thread_id"),
        board_id: row.get("board_id"),
        author_id: row.get("author_id"),
        title: is_first.then(|| row.get("title")),
        body: crate::domain::plain_text(&row.get::<String, _>("body")),
        created_at: row.get("created_at"),
    }
}

const INDEX_COLS: &str = "p.id, p.thread_id, t.board_id, p.author_id, p.is_first, t.title, p.body, p.created_at \
    FROM posts p JOIN threads t ON t.id = p.thread_id";

/// Live posts after `after_id`, in id order, for rebuilding the index in batches.
pub async fn index_docs_after(db: &Db, after_id: i64, limit: i64) -> anyhow::Result<Vec<IndexDoc>> {
    let rows = sqlx::query(&format!(
        "SELECT {INDEX_COLS} WHERE p.id > $1 AND p.deleted = 0 AND t.deleted = 0 ORDER BY p.id LIMIT $2"
    ))
    .bind(after_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(index_doc_from_row).collect())
}

pub async fn index_doc(db: &Db, post_id: i64) -> anyhow::Result<Option<IndexDoc>> {
    let row = sqlx::query(&format!(
        "SELECT {INDEX_COLS} WHERE p.id = $1 AND p.deleted = 0 AND t.deleted = 0"
    ))
    .bind(post_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.as_ref().map(index_doc_from_row))
}

/// The live posts among `post_ids` (deleted ones are simply absent).
pub async fn index_docs(db: &Db, post_ids: &[i64]) -> anyhow::Result<Vec<IndexDoc>> {
    if post_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = db.json_list("$1", true);
    // `+t.deleted`: without the plus, SQLite walks every live thread through `threads_latest`
    // and probes each for the listed posts (60 s for 5,000 posts at a million); with it, each
    // listed post is found by its id (10 ms).
    let rows = sqlx::query(&format!(
        "SELECT {INDEX_COLS} WHERE p.id IN ({list}) AND p.deleted = 0 AND +t.deleted = 0"
    ))
    .bind(serde_json::to_string(post_ids)?)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(index_doc_from_row).collect())
}

/// One entry of the search change log: post `post_id` changed; `at` is when it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchChange {
    pub seq: i64,
    pub post_id: i64,
    pub at: i64,
}

fn search_change(r: &AnyRow) -> SearchChange {
    SearchChange {
        seq: r.get("seq"),
        post_id: r.get("post_id"),
        at: r.get("at"),
    }
}

/// The database's clock in milliseconds (the change log's `at` comes from it, so ages are
/// measured against it, not against a node's clock).
fn db_now(db: &Db) -> &'static str {
    match db.backend {
        fanloop_platform::db::Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
        fanloop_platform::db::Backend::Postgres => {
            "CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT)"
        }
    }
}

/// Change-log entries after `seq`, oldest first, at most `limit`.
pub async fn search_changes_after(db: &Db, seq: i64, limit: i64) -> anyhow::Result<Vec<SearchChange>> {
    let rows = sqlx::query("SELECT seq, post_id, at FROM search_changes WHERE seq > $1 ORDER BY seq LIMIT $2")
        .bind(seq)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(search_change).collect())
}

/// Change-log entries in `(after, upto]`, oldest first.
pub async fn search_changes_between(db: &Db, after: i64, upto: i64) -> anyhow::Result<Vec<SearchChange>> {
    let rows = sqlx::query("SELECT seq, post_id, at FROM search_changes WHERE seq > $1 AND seq <= $2 ORDER BY seq")
        .bind(after)
        .bind(upto)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(search_change).collect())
}

/// The change-log entries with these numbers (those that exist).
pub async fn search_changes_in(db: &Db, seqs: &[i64]) -> anyhow::Result<Vec<SearchChange>> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let list = db.json_list("$1", true);
    let rows = sqlx::query(&format!(
        "SELECT seq, post_id, at FROM search_changes WHERE seq IN ({list}) ORDER BY seq"
    ))
    .bind(serde_json::to_string(seqs)?)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(search_change).collect())
}

/// The database's clock now, in milliseconds.
pub async fn search_log_clock(db: &Db) -> anyhow::Result<i64> {
    let row = sqlx::query(&format!("SELECT {} AS now", db_now(db)))
        .fetch_one(&db.pool)
        .await?;
    Ok(row.get("now"))
}

/// The newest change-log position (0 for an empty log).
pub async fn search_log_head(db: &Db) -> anyhow::Result<i64> {
    let row = sqlx::query("SELECT MAX(seq) AS head FROM search_changes")
        .fetch_one(&db.pool)
        .await?;
    Ok(opt_i64(&row, "head").unwrap_or(0))
}

/// When entry `seq` was written, if it is in the log.
pub async fn search_log_entry(db: &Db, seq: i64) -> anyhow::Result<Option<i64>> {
    let row = sqlx::query("SELECT at FROM search_changes WHERE seq = $1")
        .bind(seq)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| r.get("at")))
}

/// The newest entry of the change log by `post_ids`, if any: an author's write waits until
/// search has applied it.
pub async fn search_log_latest_for(db: &Db, post_ids: &[i64]) -> anyhow::Result<Option<i64>> {
    if post_ids.is_empty() {
        return Ok(None);
    }
    let list = db.json_list("$1", true);
    let row = sqlx::query(&format!(
        "SELECT MAX(seq) AS seq FROM search_changes WHERE post_id IN ({list})"
    ))
    .bind(serde_json::to_string(post_ids)?)
    .fetch_one(&db.pool)
    .await?;
    Ok(opt_i64(&row, "seq"))
}

/// A position every entry written more than `in_flight_ms` ago (by the database's clock) is
/// at or under: where an index built from the store now can start following the log.
/// (Entries written later are re-applied, which is harmless: applying one re-reads the post.)
pub async fn search_log_floor(db: &Db, in_flight_ms: i64) -> anyhow::Result<crate::search::LogPosition> {
    let row = sqlx::query(&format!(
        "SELECT seq, at FROM search_changes WHERE at < {} - $1 ORDER BY seq DESC LIMIT 1",
        db_now(db)
    ))
    .bind(in_flight_ms)
    .fetch_optional(&db.pool)
    .await?;
    let pruned = search_log_pruned(db).await?;
    Ok(match row {
        Some(r) if r.get::<i64, _>("seq") > pruned => crate::search::LogPosition {
            seq: r.get("seq"),
            at: r.get("at"),
        },
        _ => crate::search::LogPosition { seq: pruned, at: 0 },
    })
}

/// The last pruned position: an index whose cursor is below it has missed changes for good.
pub async fn search_log_pruned(db: &Db) -> anyhow::Result<i64> {
    let row = sqlx::query("SELECT upto FROM search_changes_pruned WHERE id = 1")
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| r.get("upto")).unwrap_or(0))
}

/// Deletes the change-log entries written before `before_ms` and records how far it pruned.
pub async fn prune_search_log(db: &Db, before_ms: i64) -> anyhow::Result<u64> {
    // Written before it is read (a SQLite transaction that reads first may not be allowed to write).
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO search_changes_pruned (id, upto) \
         SELECT 1, COALESCE(MAX(seq), 0) FROM search_changes WHERE at < $1 \
         ON CONFLICT (id) DO UPDATE SET upto = CASE WHEN search_changes_pruned.upto > excluded.upto \
         THEN search_changes_pruned.upto ELSE excluded.upto END",
    )
    .bind(before_ms)
    .execute(&mut *tx)
    .await?;
    let upto: i64 = sqlx::query("SELECT upto FROM search_changes_pruned WHERE id = 1")
        .fetch_one(&mut *tx)
        .await?
        .get("upto");
    let deleted = sqlx::query("DELETE FROM search_changes WHERE seq <= $1")
        .bind(upto)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(deleted)
}

/// Display data for search hits, in one round trip; deleted posts are dropped.
pub struct HitInfo {
    pub post_id: i64,
    pub thread_id: i64,
    pub thread_title: String,
    pub board_slug: String,
    pub board_name: String,
    pub author: UserRef,
    pub created_at: i64,
    pub is_first: bool,
    /// 0-based position of the post in its thread, to link to the right page.
    pub position: i64,
}

pub async fn hit_infos(db: &Db, post_ids: &[i64]) -> anyhow::Result<Vec<HitInfo>> {
    if post_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=post_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT p.id, p.thread_id, p.created_at, p.is_first, t.title, b.slug, b.name, \
         (SELECT COUNT(*) FROM posts q WHERE q.thread_id = p.thread_id AND q.id < p.id) AS position, \
         u.id AS a_id, u.username AS a_username, u.role AS a_role, u.team AS a_team, u.display_name AS a_display_name, u.avatar_key AS a_avatar_key \
         FROM posts p JOIN threads t ON t.id = p.thread_id JOIN boards b ON b.id = t.board_id JOIN users u ON u.id = p.author_id \
         WHERE p.id IN ({}) AND p.deleted = 0 AND t.deleted = 0",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for id in post_ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(&db.pool).await?;
    Ok(rows
        .iter()
        .map(|row| HitInfo {
            post_id: row.get("id"),
            thread_id: row.get("thread_id"),
            thread_title: row.get("title"),
            board_slug: row.get("slug"),
            board_name: row.get("name"),
            author: user_ref(row, "a_"),
            created_at: row.get("created_at"),
            is_first: row.get::<i64, _>("is_first") != 0,
            position: row.get("position"),
        })
        .collect())
}

/// A thread to load in bulk (demo data, benchmarks), with its posts in order.
pub struct SeedThread {
    pub board_id: i64,
    pub author_id: i64,
    pub title: String,
    pub created_at: i64,
    pub pinned: bool,
    pub posts: Vec<SeedPost>,
}

pub struct SeedPost {
    pub author_id: i64,
    pub body: String,
    pub created_at: i64,
    pub like_count: i64,
}

/// Inserts threads and their posts in one transaction; the first post opens the thread.
pub async fn bulk_load(db: &Db, threads: &[SeedThread]) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    for t in threads {
        let last = t.posts.last().map(|p| p.created_at).unwrap_or(t.created_at);
        let thread_id: i64 = sqlx::query_scalar(
            "INSERT INTO threads (board_id, author_id, title, created_at, last_post_at, reply_count, pinned) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(t.board_id)
        .bind(t.author_id)
        .bind(&t.title)
        .bind(t.created_at)
        .bind(last)
        .bind(t.posts.len().saturating_sub(1) as i64)
        .bind(t.pinned as i64)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE boards SET thread_count = thread_count + 1 WHERE id = $1")
            .bind(t.board_id)
            .execute(&mut *tx)
            .await?;
        for (i, p) in t.posts.iter().enumerate() {
            sqlx::query(
                "INSERT INTO posts (thread_id, author_id, body, body_html, is_first, like_count, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(thread_id)
            .bind(p.author_id)
            .bind(&p.body)
            .bind(crate::domain::render_markdown(&p.body))
            .bind((i == 0) as i64)
            .bind(p.like_count)
            .bind(p.created_at)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

pub async fn live_post_count(db: &Db) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM posts p JOIN threads t ON t.id = p.thread_id WHERE p.deleted = 0 AND t.deleted = 0",
    )
    .fetch_one(&db.pool)
    .await?)
}

// ---------- posting limits and held posts ----------

/// Posts the author published since `since` (ms), and all their published posts.
pub async fn post_counts(db: &Db, author_id: i64, since: i64) -> anyhow::Result<(i64, i64)> {
    let row = sqlx::query(
        "SELECT COALESCE(SUM(CASE WHEN created_at >= $2 THEN 1 ELSE 0 END), 0) AS recent, \
         COALESCE(SUM(CASE WHEN deleted = 0 THEN 1 ELSE 0 END), 0) AS total FROM posts WHERE author_id = $1",
    )
    .bind(author_id)
    .bind(since)
    .fetch_one(&db.pool)
    .await?;
    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM held_posts WHERE author_id = $1 AND created_at >= $2")
        .bind(author_id)
        .bind(since)
        .fetch_one(&db.pool)
        .await?;
    Ok((row.get::<i64, _>("recent") + held, row.get("total")))
}

/// A post waiting for a moderator.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldPost {
    pub id: i64,
    pub author: String,
    pub author_id: i64,
    /// The board of a new thread, or `None` for a reply.
    pub board_slug: Option<String>,
    pub thread_id: Option<i64>,
    /// The title of the new thread, or of the thread replied to.
    pub title: String,
    pub body: String,
    pub reason: String,
    pub created_at: i64,
}

pub async fn hold_post(
    db: &Db,
    author_id: i64,
    board_id: Option<i64>,
    thread_id: Option<i64>,
    title: Option<&str>,
    body: &str,
    reason: &str,
) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO held_posts (author_id, board_id, thread_id, title, body, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(author_id)
    .bind(board_id)
    .bind(thread_id)
    .bind(title)
    .bind(body)
    .bind(reason)
    .bind(now_ms())
    .fetch_one(&db.pool)
    .await?)
}

const HELD_COLS: &str = "h.id, h.author_id, u.username AS author, b.slug AS board_slug, h.thread_id, \
    COALESCE(h.title, t.title, '') AS title, h.body, h.reason, h.created_at FROM held_posts h \
    JOIN users u ON u.id = h.author_id LEFT JOIN boards b ON b.id = h.board_id LEFT JOIN threads t ON t.id = h.thread_id";

fn held_from_row(r: &sqlx::any::AnyRow) -> HeldPost {
    HeldPost {
        id: r.get("id"),
        author: r.get("author"),
        author_id: r.get("author_id"),
        board_slug: fanloop_platform::db::opt_string(r, "board_slug"),
        thread_id: fanloop_platform::db::opt_i64(r, "thread_id"),
        title: r.get("title"),
        body: r.get("body"),
        reason: r.get("reason"),
        created_at: r.get("created_at"),
    }
}

pub async fn held_posts(db: &Db, limit: i64) -> anyhow::Result<Vec<HeldPost>> {
    let rows = sqlx::query(&format!(
        "SELECT {HELD_COLS} WHERE h.rejected_at IS NULL ORDER BY h.id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(held_from_row).collect())
}

pub async fn held_post(db: &Db, id: i64) -> anyhow::Result<Option<HeldPost>> {
    let row = sqlx::query(&format!("SELECT {HELD_COLS} WHERE h.id = $1 AND h.rejected_at IS NULL"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(held_from_row))
}

/// Takes a held post for publishing: `false` if another moderator holds it (for a minute) or
/// it was decided already.
pub async fn claim_held(db: &Db, id: i64, now: i64) -> anyhow::Result<bool> {
    let n = sqlx::query(
        "UPDATE held_posts SET claimed_at = $1 WHERE id = $2 AND rejected_at IS NULL \
         AND (claimed_at IS NULL OR claimed_at < $3)",
    )
    .bind(now)
    .bind(id)
    .bind(now - 60_000)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Gives a claimed held post back (publishing it failed): it stays in the queue.
pub async fn unclaim_held(db: &Db, id: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE held_posts SET claimed_at = NULL WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Ends a held post's wait, with the moderator's audit entry: approved (published by the
/// caller, the row goes) or rejected (the row stays, marked, out of the queue). `false` if it
/// was decided already.
pub async fn decide_held(db: &Db, held: &HeldPost, moderator: i64, approved: bool) -> anyhow::Result<bool> {
    let mut tx = db.begin_write().await?;
    let n = if approved {
        sqlx::query("DELETE FROM held_posts WHERE id = $1")
            .bind(held.id)
            .execute(&mut *tx)
            .await?
    } else {
        sqlx::query("UPDATE held_posts SET rejected_at = $1 WHERE id = $2 AND rejected_at IS NULL")
            .bind(now_ms())
            .bind(held.id)
            .execute(&mut *tx)
            .await?
    }
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    fanloop_platform::audit::record(
        &mut *tx,
        &fanloop_platform::audit::Entry::new(
            Some(moderator),
            if approved { "post.approve" } else { "post.reject" },
            "user",
            &held.author_id.to_string(),
            &held.author,
            serde_json::json!({ "title": held.title, "thread_id": held.thread_id, "board": held.board_slug }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

// ---------- reading state: last read, watching, bookmarks ----------

/// A member's state in a thread: (last post read, watching, bookmarked).
pub async fn reading_state(db: &Db, user_id: i64, thread_id: i64) -> anyhow::Result<(i64, bool, bool)> {
    let row = sqlx::query(
        "SELECT last_read_post_id, watching, bookmarked_at FROM thread_reads WHERE user_id = $1 AND thread_id = $2",
    )
    .bind(user_id)
    .bind(thread_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(match row {
        Some(r) => (
            r.get("last_read_post_id"),
            r.get::<i64, _>("watching") != 0,
            opt_i64(&r, "bookmarked_at").is_some(),
        ),
        None => (0, false, false),
    })
}

/// Records that the member read the thread up to `post_id` (never moving backwards).
pub async fn mark_read(db: &Db, user_id: i64, thread_id: i64, post_id: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO thread_reads (user_id, thread_id, last_read_post_id) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, thread_id) DO UPDATE SET last_read_post_id = CASE \
         WHEN excluded.last_read_post_id > thread_reads.last_read_post_id THEN excluded.last_read_post_id \
         ELSE thread_reads.last_read_post_id END",
    )
    .bind(user_id)
    .bind(thread_id)
    .bind(post_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn set_watching(db: &Db, user_id: i64, thread_id: i64, on: bool) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO thread_reads (user_id, thread_id, watching) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, thread_id) DO UPDATE SET watching = excluded.watching",
    )
    .bind(user_id)
    .bind(thread_id)
    .bind(on as i64)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn set_bookmark(db: &Db, user_id: i64, thread_id: i64, on: bool) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO thread_reads (user_id, thread_id, bookmarked_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, thread_id) DO UPDATE SET bookmarked_at = excluded.bookmarked_at",
    )
    .bind(user_id)
    .bind(thread_id)
    .bind(on.then(now_ms))
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Posts the member has not read in each of `thread_ids` they have opened before (threads never
/// opened are left out: they are new as a whole).
pub async fn unread_counts(
    db: &Db,
    user_id: i64,
    thread_ids: &[i64],
) -> anyhow::Result<std::collections::HashMap<i64, i64>> {
    if thread_ids.is_empty() {
        return Ok(Default::default());
    }
    let list = db.json_list("$2", true);
    let rows = sqlx::query(&format!(
        "SELECT p.thread_id, COUNT(*) AS unread FROM posts p JOIN thread_reads r ON r.thread_id = p.thread_id AND r.user_id = $1 \
         WHERE p.thread_id IN ({list}) AND p.id > r.last_read_post_id AND p.deleted = 0 GROUP BY p.thread_id"
    ))
    .bind(user_id)
    .bind(serde_json::to_string(thread_ids)?)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(|r| (r.get("thread_id"), r.get("unread"))).collect())
}

/// The member's bookmarked threads, newest bookmark first.
pub async fn bookmarks(db: &Db, user_id: i64, limit: i64) -> anyhow::Result<Vec<ThreadSummary>> {
    let rows = sqlx::query(&format!(
        "SELECT {THREAD_COLS} {THREAD_FROM} JOIN thread_reads r ON r.thread_id = t.id AND r.user_id = $1 \
         WHERE r.bookmarked_at IS NOT NULL AND t.deleted = 0 ORDER BY r.bookmarked_at DESC LIMIT $2"
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(thread_from_row).collect())
}
