//! The staff audit log: every role change, suspension, merge, status change, draw, F-code and
//! vetting decision, with who did it, when, and what. Each pillar writes its entry with the
//! executor of the transaction that makes the change, so the log and the change agree.

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use crate::db::{now_ms, opt_string, Db};

/// An entry to write.
pub struct Entry<'a> {
    pub actor_id: Option<i64>,
    /// `user.role`, `user.suspend`, `feedback.status`, `feedback.merge`, `launch.draw`,
    /// `fcode.issue`, `fcode.revoke`, `vetting.decision`, …
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: &'a str,
    /// What the target is called (kept: the target may be renamed or deleted later).
    pub target_label: &'a str,
    pub detail: serde_json::Value,
}

impl<'a> Entry<'a> {
    pub fn new(
        actor_id: Option<i64>,
        action: &'a str,
        target_kind: &'a str,
        target_id: &'a str,
        target_label: &'a str,
        detail: serde_json::Value,
    ) -> Entry<'a> {
        Entry {
            actor_id,
            action,
            target_kind,
            target_id,
            target_label,
            detail,
        }
    }
}

pub async fn record<'e, E>(executor: E, entry: &Entry<'_>) -> anyhow::Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO audit_log (actor_id, action, target_kind, target_id, target_label, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(entry.actor_id)
    .bind(entry.action)
    .bind(entry.target_kind)
    .bind(entry.target_id)
    .bind(entry.target_label.chars().take(200).collect::<String>())
    .bind(entry.detail.to_string())
    .bind(now_ms())
    .execute(executor)
    .await?;
    Ok(())
}

/// A written entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// Who did it (`None`: the system, or a deleted account).
    pub actor: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub target_label: String,
    /// What changed, as JSON.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub created_at: i64,
}

/// Filters for the log: by action (or its prefix, `user.`), by actor's username, by target.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    /// Entries older than this id (the next page).
    pub before: Option<i64>,
}

pub async fn list(db: &Db, filter: &Filter, limit: i64) -> anyhow::Result<Vec<AuditEntry>> {
    let action = filter.action.as_deref().map(str::trim).filter(|a| !a.is_empty());
    let (action_exact, action_prefix) = match action {
        Some(a) if a.ends_with('.') => (None, Some(format!("{a}%"))),
        Some(a) => (Some(a.to_string()), None),
        None => (None, None),
    };
    let rows = sqlx::query(
        "SELECT l.id, a.username AS actor, l.action, l.target_kind, l.target_id, l.target_label, l.detail, l.created_at \
         FROM audit_log l LEFT JOIN users a ON a.id = l.actor_id \
         WHERE ($1 IS NULL OR l.action = $1) AND ($2 IS NULL OR l.action LIKE $2) \
         AND ($3 IS NULL OR lower(a.username) = lower($3)) AND ($4 IS NULL OR l.target_kind = $4) \
         AND ($5 IS NULL OR l.target_id = $5) AND ($6 IS NULL OR l.id < $6) ORDER BY l.id DESC LIMIT $7",
    )
    .bind(action_exact)
    .bind(action_prefix)
    .bind(filter.actor.as_deref().map(str::trim).filter(|a| !a.is_empty()))
    .bind(filter.target_kind.as_deref().filter(|a| !a.is_empty()))
    .bind(filter.target_id.as_deref().filter(|a| !a.is_empty()))
    .bind(filter.before)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| AuditEntry {
            id: r.get("id"),
            actor: opt_string(r, "actor"),
            action: r.get("action"),
            target_kind: r.get("target_kind"),
            target_id: r.get("target_id"),
            target_label: r.get("target_label"),
            detail: serde_json::from_str(&r.get::<String, _>("detail")).unwrap_or(serde_json::Value::Null),
            created_at: r.get("created_at"),
        })
        .collect())
}

/// The actions the log holds, for the filter's list.
pub async fn actions(db: &Db) -> anyhow::Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT action FROM audit_log ORDER BY action")
            .fetch_all(&db.pool)
            .await?,
    )
}
