//! Upload storage: pictures members sent, already re-encoded by [`crate::images`], and the
//! avatar each account shows. SQL only; the decisions are in `images` and `uploads_web`.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::ToSchema;

use crate::db::{now_ms, Db};
use crate::images::Processed;

/// What a picture is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Post,
    Avatar,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Post => "post",
            Purpose::Avatar => "avatar",
        }
    }
}

/// A stored picture, as its owner and the API see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UploadInfo {
    /// The random part of its address.
    pub key: String,
    /// The name the file had, for the picture's description.
    pub name: String,
    /// `/uploads/{key}`: the picture, at most 1,600 px on its longer side.
    pub url: String,
    /// `/uploads/{key}/thumb`: at most 640 px, what a post shows.
    pub thumb_url: String,
    pub width: i64,
    pub height: i64,
    pub content_type: String,
    /// Markdown that shows it in a post (the thumbnail, linked to the larger picture).
    pub markdown: String,
    pub created_at: i64,
}

/// The address of a picture's thumbnail (for an avatar: its 64 px version).
pub fn thumb_url(key: &str) -> String {
    format!("/uploads/{key}/thumb")
}

/// The markdown a post uses for a picture: the thumbnail, opening the larger one.
pub fn markdown_for(key: &str, name: &str) -> String {
    let alt: String = name
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | '\\' | '`' | '*' | '_' | '<' | '>' | '@') && !c.is_control())
        .collect();
    format!("[![{}]({})](/uploads/{key})", alt.trim(), thumb_url(key))
}

fn info_from_row(row: &AnyRow) -> UploadInfo {
    let key: String = row.get("upload_key");
    let name: String = row.get("name");
    UploadInfo {
        url: format!("/uploads/{key}"),
        thumb_url: thumb_url(&key),
        markdown: markdown_for(&key, &name),
        key,
        name,
        width: row.get("width"),
        height: row.get("height"),
        content_type: row.get("content_type"),
        created_at: row.get("created_at"),
    }
}

const INFO_COLS: &str = "upload_key, name, width, height, content_type, created_at";

/// A new random key: 24 hex digits (96 bits).
fn new_key() -> String {
    crate::auth::new_token()[..24].to_string()
}

/// Whether `key` is shaped like one of ours (checked before any query).
pub fn is_key(key: &str) -> bool {
    key.len() == 24 && key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

async fn insert<'e, E>(
    executor: E,
    user_id: i64,
    purpose: Purpose,
    name: &str,
    source_bytes: usize,
    p: &Processed,
) -> anyhow::Result<String>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let key = new_key();
    sqlx::query(
        "INSERT INTO uploads (upload_key, user_id, purpose, name, source_format, source_bytes, content_type, width, height, data, \
         thumb_type, thumb_width, thumb_height, thumb, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&key)
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(name)
    .bind(p.source_format)
    .bind(source_bytes as i64)
    .bind(p.full.content_type)
    .bind(i64::from(p.full.width))
    .bind(i64::from(p.full.height))
    .bind(p.full.data.clone())
    .bind(p.thumb.content_type)
    .bind(i64::from(p.thumb.width))
    .bind(i64::from(p.thumb.height))
    .bind(p.thumb.data.clone())
    .bind(now_ms())
    .execute(executor)
    .await?;
    Ok(key)
}

/// 24 hours ago, in ms: the window of the daily limit.
pub fn day_ago() -> i64 {
    now_ms() - 24 * 3_600_000
}

/// Starts the transaction that stores a picture of `user_id`: the account's row is locked
/// first (PostgreSQL: a row lock; SQLite's write lock is taken by `begin_write`), so two
/// requests of one member count one after the other; `None` when `limit` pictures were already
/// sent in 24 hours.
async fn begin_within_limit(
    db: &Db,
    user_id: i64,
    limit: Option<i64>,
) -> anyhow::Result<Option<sqlx::Transaction<'static, sqlx::Any>>> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE users SET avatar_key = avatar_key WHERE id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    if let Some(limit) = limit {
        if count_since(&mut *tx, user_id, day_ago()).await? >= limit {
            return Ok(None);
        }
    }
    Ok(Some(tx))
}

/// Stores a picture for a post; its info, or `None` over the daily `limit`.
pub async fn add(
    db: &Db,
    user_id: i64,
    name: &str,
    source_bytes: usize,
    p: &Processed,
    limit: Option<i64>,
) -> anyhow::Result<Option<UploadInfo>> {
    let Some(mut tx) = begin_within_limit(db, user_id, limit).await? else {
        return Ok(None);
    };
    let key = insert(&mut *tx, user_id, Purpose::Post, name, source_bytes, p).await?;
    tx.commit().await?;
    mine(db, user_id, &key).await
}

/// Pictures `user_id` sent since `since` (ms), avatars and deleted ones included (deleting
/// does not give the day's count back).
pub async fn count_since<'e, E>(executor: E, user_id: i64, since: i64) -> anyhow::Result<i64>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM uploads WHERE user_id = $1 AND created_at >= $2")
            .bind(user_id)
            .bind(since)
            .fetch_one(executor)
            .await?,
    )
}

/// One of `user_id`'s post pictures.
pub async fn mine(db: &Db, user_id: i64, key: &str) -> anyhow::Result<Option<UploadInfo>> {
    let row = sqlx::query(&format!(
        "SELECT {INFO_COLS} FROM uploads WHERE upload_key = $1 AND user_id = $2 AND purpose = 'post'"
    ))
    .bind(key)
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.as_ref().map(info_from_row))
}

/// `user_id`'s post pictures, newest first.
pub async fn list_mine(db: &Db, user_id: i64, limit: i64) -> anyhow::Result<Vec<UploadInfo>> {
    let rows = sqlx::query(&format!(
        "SELECT {INFO_COLS} FROM uploads WHERE user_id = $1 AND purpose = 'post' ORDER BY id DESC LIMIT $2"
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(info_from_row).collect())
}

/// What deleting a picture leaves: the row (it still counts toward the day's limit), without
/// its bytes.
const FORGET: &str = "purpose = 'deleted', data = $1, thumb = $1";

/// Deletes one of `user_id`'s post pictures (posts showing it then show its description).
pub async fn delete_mine(db: &Db, user_id: i64, key: &str) -> anyhow::Result<bool> {
    let done = sqlx::query(&format!(
        "UPDATE uploads SET {FORGET} WHERE upload_key = $2 AND user_id = $3 AND purpose = 'post'"
    ))
    .bind(Vec::<u8>::new())
    .bind(key)
    .bind(user_id)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The bytes to serve: the picture or its thumbnail, with its content type.
pub async fn bytes(db: &Db, key: &str, thumb: bool) -> anyhow::Result<Option<(String, Vec<u8>)>> {
    let sql = if thumb {
        "SELECT thumb_type AS ct, thumb AS data FROM uploads WHERE upload_key = $1 AND purpose <> 'deleted'"
    } else {
        "SELECT content_type AS ct, data FROM uploads WHERE upload_key = $1 AND purpose <> 'deleted'"
    };
    let row = sqlx::query(sql).bind(key).fetch_optional(&db.pool).await?;
    Ok(row.map(|r| (r.get("ct"), r.get("data"))))
}

/// Makes `p` the avatar of `user_id`, replacing (and deleting) the one before, in one
/// transaction; the new key, or `None` over the daily `limit`.
pub async fn set_avatar(
    db: &Db,
    user_id: i64,
    source_bytes: usize,
    p: &Processed,
    limit: Option<i64>,
) -> anyhow::Result<Option<String>> {
    let Some(mut tx) = begin_within_limit(db, user_id, limit).await? else {
        return Ok(None);
    };
    let key = insert(&mut *tx, user_id, Purpose::Avatar, "avatar", source_bytes, p).await?;
    sqlx::query("UPDATE users SET avatar_key = $1 WHERE id = $2")
        .bind(&key)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    forget_avatars(&mut *tx, user_id, &key).await?;
    tx.commit().await?;
    Ok(Some(key))
}

/// Forgets `user_id`'s avatar pictures but the one keyed `keep` ("": all of them).
pub async fn forget_avatars<'e, E>(executor: E, user_id: i64, keep: &str) -> anyhow::Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(&format!(
        "UPDATE uploads SET {FORGET} WHERE user_id = $2 AND purpose = 'avatar' AND upload_key <> $3"
    ))
    .bind(Vec::<u8>::new())
    .bind(user_id)
    .bind(keep)
    .execute(executor)
    .await?;
    Ok(())
}

/// Removes the avatar of `user_id` (the initial shows again).
pub async fn remove_avatar(db: &Db, user_id: i64) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE users SET avatar_key = NULL WHERE id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    forget_avatars(&mut *tx, user_id, "").await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_markdown_are_safe_to_put_in_a_post() {
        let key = new_key();
        assert!(is_key(&key));
        assert!(!is_key("../../etc/passwd"));
        assert!(!is_key("0123456789ABCDEF01234567"));
        assert_eq!(
            markdown_for("0123456789abcdef01234567", "a]b[c\n*x*@bob.png"),
            "[![abcxbob.png](/uploads/0123456789abcdef01234567/thumb)](/uploads/0123456789abcdef01234567)"
        );
    }
}
