//! Per-user notifications, shared by every pillar (replies, mentions, staff answers, and later
//! feedback status changes and launch results).

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use crate::db::{now_ms, opt_i64, opt_string, Db};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Reply,
    Mention,
    StaffAnswer,
    RoleChanged,
    /// A feedback request you reported or voted on changed status.
    StatusChanged,
    /// Honor progression promoted you.
    Promoted,
    /// Your campaign entry was picked as a winner.
    CampaignWinner,
    /// Staff gave you an F-code for a launch.
    FcodeIssued,
    /// A drop you reserved opens soon.
    LaunchReminder,
    /// Something new in what you watch: a thread in a board, a comment on a request.
    Watching,
    /// Ask an expert: an answer to your question, or a question waiting in your field.
    ExpertConversation,
    /// The knowledge hub's weekly letter: your stage this week and what fits it (mail only).
    HubWeekly,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Reply => "reply",
            NotificationKind::Mention => "mention",
            NotificationKind::StaffAnswer => "staff_answer",
            NotificationKind::RoleChanged => "role_changed",
            NotificationKind::StatusChanged => "status_changed",
            NotificationKind::Promoted => "promoted",
            NotificationKind::CampaignWinner => "campaign_winner",
            NotificationKind::FcodeIssued => "fcode_issued",
            NotificationKind::LaunchReminder => "launch_reminder",
            NotificationKind::Watching => "watching",
            NotificationKind::ExpertConversation => "expert_conversation",
            NotificationKind::HubWeekly => "hub_weekly",
        }
    }

    pub fn parse(s: &str) -> Option<NotificationKind> {
        use NotificationKind::*;
        [
            Reply,
            Mention,
            StaffAnswer,
            RoleChanged,
            StatusChanged,
            Promoted,
            CampaignWinner,
            FcodeIssued,
            LaunchReminder,
            Watching,
            ExpertConversation,
            HubWeekly,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notification {
    pub id: i64,
    /// `reply`, `mention`, `staff_answer`, `role_changed`, `status_changed`, `promoted`,
    /// `campaign_winner`, `fcode_issued`, `launch_reminder`, `watching` or `expert_conversation`.
    pub kind: String,
    pub actor: Option<String>,
    pub subject: String,
    pub link: String,
    /// What changed, where the kind says (the new status of a request).
    pub detail: Option<String>,
    pub created_at: i64,
    pub read: bool,
}

pub struct NewNotification<'a> {
    pub user_id: i64,
    pub kind: NotificationKind,
    pub actor_id: Option<i64>,
    pub subject: &'a str,
    pub link: &'a str,
    pub detail: Option<&'a str>,
}

/// The SQL condition that `user_col` has not turned `kind` off: every statement that writes
/// notifications (one, or one per watcher or reserver) skips those who did.
pub fn not_turned_off(user_col: &str, kind: NotificationKind) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM notification_prefs off_p WHERE off_p.user_id = {user_col} \
         AND off_p.kind = '{}' AND off_p.delivery = 'off')",
        kind.as_str()
    )
}

/// Tells a member of something; the mail worker then decides whether it is mailed.
pub async fn notify<'e, E>(executor: E, n: &NewNotification<'_>) -> anyhow::Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    write(executor, n, None).await
}

/// [`notify`] with the mail worker's decision already made (`mailed`: the caller wrote the
/// letter itself, in the same transaction).
pub async fn notify_with_mail_state<'e, E>(executor: E, n: &NewNotification<'_>, mail_state: &str) -> anyhow::Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    write(executor, n, Some(mail_state)).await
}

/// One statement (`executor` may be the caller's transaction, used once); a kind the member
/// turned off is not written at all.
async fn write<'e, E>(executor: E, n: &NewNotification<'_>, mail_state: Option<&str>) -> anyhow::Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(&format!(
        "INSERT INTO notifications (user_id, kind, actor_id, subject, link, detail, created_at, mail_state) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE {}",
        not_turned_off("$1", n.kind)
    ))
    .bind(n.user_id)
    .bind(n.kind.as_str())
    .bind(n.actor_id)
    .bind(n.subject)
    .bind(n.link)
    .bind(n.detail)
    .bind(now_ms())
    .bind(mail_state)
    .execute(executor)
    .await?;
    Ok(())
}

/// The newest notification's id (0 when there is none).
pub async fn newest_id(db: &Db) -> anyhow::Result<i64> {
    let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM notifications")
        .fetch_one(&db.pool)
        .await?;
    Ok(newest.unwrap_or(0))
}

/// Notifications (id, member) above `id`, oldest first: what the live feed tells open pages.
pub async fn owners_after(db: &Db, id: i64, limit: i64) -> anyhow::Result<Vec<(i64, i64)>> {
    Ok(
        sqlx::query_as::<_, (i64, i64)>("SELECT id, user_id FROM notifications WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(id)
            .bind(limit)
            .fetch_all(&db.pool)
            .await?,
    )
}

pub async fn unread_count(db: &Db, user_id: i64) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL")
            .bind(user_id)
            .fetch_one(&db.pool)
            .await?,
    )
}

pub async fn list(db: &Db, user_id: i64, offset: i64, limit: i64) -> anyhow::Result<(Vec<Notification>, i64)> {
    let rows = sqlx::query(
        "SELECT n.id, n.kind, a.username AS actor, n.subject, n.link, n.detail, n.created_at, n.read_at \
         FROM notifications n LEFT JOIN users a ON a.id = n.actor_id \
         WHERE n.user_id = $1 ORDER BY n.id DESC LIMIT $2 OFFSET $3",
    )
    .bind(user_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&db.pool)
        .await?;
    let items = rows
        .iter()
        .map(|row| Notification {
            id: row.get("id"),
            kind: row.get("kind"),
            actor: opt_string(row, "actor"),
            subject: row.get("subject"),
            link: row.get("link"),
            detail: opt_string(row, "detail"),
            created_at: row.get("created_at"),
            read: opt_i64(row, "read_at").is_some(),
        })
        .collect();
    Ok((items, total))
}

pub async fn mark_all_read(db: &Db, user_id: i64) -> anyhow::Result<u64> {
    let done = sqlx::query("UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL")
        .bind(now_ms())
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected())
}

/// Marks the given notifications of `user_id` read (those a page just showed).
pub async fn mark_shown_read(db: &Db, user_id: i64, ids: &[i64]) -> anyhow::Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let list = db.json_list("$3", true);
    let done = sqlx::query(&format!(
        "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL AND id IN ({list})"
    ))
    .bind(now_ms())
    .bind(user_id)
    .bind(serde_json::to_string(ids)?)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected())
}

pub async fn mark_read(db: &Db, user_id: i64, id: i64) -> anyhow::Result<bool> {
    let done = sqlx::query("UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND id = $3 AND read_at IS NULL")
        .bind(now_ms())
        .bind(user_id)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}
