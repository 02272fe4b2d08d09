//! SQL for brand profiles, imported posts, imports and human reviews.

use fanloop_platform::db::{now_ms, opt_i64, opt_string};
use fanloop_platform::Db;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::ToSchema;

use crate::import::{ImportedPost, Parsed, RowError};
use crate::report::CandidatePost;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Brand {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
}

/// Everything a brand is called, one list per kind.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Aliases {
    /// The brand's own names ("Xiaomi", "小米").
    #[serde(default)]
    #[schema(max_items = 100)]
    pub brand: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 100)]
    pub products: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 100)]
    pub executives: Vec<String>,
    /// Names of the fan community ("Mi Fans", "米粉").
    #[serde(default)]
    #[schema(max_items = 100)]
    pub fans: Vec<String>,
    /// Pejorative nicknames for the fans: using one is hostility toward them.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub fan_slurs: Vec<String>,
}

pub const ALIAS_KINDS: [&str; 5] = ["brand", "product", "executive", "fans", "fan_slur"];

impl Aliases {
    pub fn list(&self, kind: &str) -> &Vec<String> {
        match kind {
            "brand" => &self.brand,
            "product" => &self.products,
            "executive" => &self.executives,
            "fans" => &self.fans,
            _ => &self.fan_slurs,
        }
    }
    fn list_mut(&mut self, kind: &str) -> &mut Vec<String> {
        match kind {
            "brand" => &mut self.brand,
            "product" => &mut self.products,
            "executive" => &mut self.executives,
            "fans" => &mut self.fans,
            _ => &mut self.fan_slurs,
        }
    }
}

fn brand_from_row(row: &AnyRow) -> Brand {
    Brand {
        id: row.get("id"),
        slug: row.get("slug"),
        name: row.get("name"),
        created_at: row.get("created_at"),
    }
}

/// `None` when the slug is taken.
pub async fn create_brand(db: &Db, slug: &str, name: &str, aliases: &Aliases) -> anyhow::Result<Option<Brand>> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "INSERT INTO vet_brands (slug, name, created_at) VALUES ($1, $2, $3) RETURNING id, slug, name, created_at",
    )
    .bind(slug)
    .bind(name)
    .bind(now_ms())
    .fetch_one(&mut *tx)
    .await;
    let brand = match row {
        Ok(row) => brand_from_row(&row),
        Err(e) if fanloop_platform::db::is_unique_violation(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    insert_aliases(&mut tx, brand.id, aliases).await?;
    tx.commit().await?;
    Ok(Some(brand))
}

async fn insert_aliases(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    brand_id: i64,
    aliases: &Aliases,
) -> anyhow::Result<()> {
    for kind in ALIAS_KINDS {
        for alias in aliases.list(kind) {
            sqlx::query("INSERT INTO vet_aliases (brand_id, kind, alias) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(brand_id)
                .bind(kind)
                .bind(alias)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

pub async fn list_brands(db: &Db) -> anyhow::Result<Vec<Brand>> {
    let rows = sqlx::query("SELECT id, slug, name, created_at FROM vet_brands ORDER BY name")
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(brand_from_row).collect())
}

pub async fn brand_by_slug(db: &Db, slug: &str) -> anyhow::Result<Option<Brand>> {
    let row = sqlx::query("SELECT id, slug, name, created_at FROM vet_brands WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(brand_from_row))
}

pub async fn aliases(db: &Db, brand_id: i64) -> anyhow::Result<Aliases> {
    let rows = sqlx::query("SELECT kind, alias FROM vet_aliases WHERE brand_id = $1 ORDER BY id")
        .bind(brand_id)
        .fetch_all(&db.pool)
        .await?;
    let mut aliases = Aliases::default();
    for row in rows {
        let kind: String = row.get("kind");
        aliases.list_mut(&kind).push(row.get("alias"));
    }
    Ok(aliases)
}

/// Replaces the name and every alias in one transaction.
pub async fn update_brand(db: &Db, brand_id: i64, name: &str, aliases: &Aliases) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE vet_brands SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(brand_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM vet_aliases WHERE brand_id = $1")
        .bind(brand_id)
        .execute(&mut *tx)
        .await?;
    insert_aliases(&mut tx, brand_id, aliases).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportSummary {
    pub import_id: i64,
    pub file_name: String,
    /// Rows stored by this import.
    pub imported: i64,
    /// Valid rows already stored by an earlier import.
    pub duplicates: i64,
    /// Rows refused, each with its line and reason in `errors`.
    pub rejected: i64,
    pub errors: Vec<RowError>,
    pub candidates: Vec<Candidate>,
    pub created_at: i64,
}

/// The posts' identity: the platform's id when given, else a hash of time and text.
fn external_key(p: &ImportedPost) -> String {
    match &p.external_id {
        Some(id) => format!("id:{id}"),
        None => {
            let mut h = Sha256::new();
            h.update(p.posted_at.to_le_bytes());
            h.update(p.text.as_bytes());
            format!("h:{}", hex::encode(&h.finalize()[..12]))
        }
    }
}

/// Stores every valid row and the import's record in one transaction.
pub async fn import(
    db: &Db,
    file_name: &str,
    imported_by: Option<i64>,
    parsed: &Parsed,
) -> anyhow::Result<ImportSummary> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let import_id: i64 = sqlx::query(
        "INSERT INTO vet_imports (file_name, imported_by, rows_imported, rows_duplicate, rows_rejected, errors, created_at) \
         VALUES ($1, $2, 0, 0, $3, $4, $5) RETURNING id",
    )
    .bind(file_name)
    .bind(imported_by)
    .bind(parsed.errors.len() as i64)
    .bind(serde_json::to_string(&parsed.errors)?)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?
    .get("id");
    let mut candidate_ids: Vec<i64> = Vec::new();
    let (mut imported, mut duplicates) = (0i64, 0i64);
    for p in &parsed.posts {
        let candidate_id: i64 = sqlx::query(
            "INSERT INTO vet_candidates (platform, handle, followers, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (platform, handle) DO UPDATE SET platform = excluded.platform RETURNING id",
        )
        .bind(&p.platform)
        .bind(&p.handle)
        .bind(p.followers)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .get("id");
        if !candidate_ids.contains(&candidate_id) {
            candidate_ids.push(candidate_id);
        }
        let inserted = sqlx::query(
            "INSERT INTO vet_posts (candidate_id, external_key, posted_at, text, likes, reposts, comments, followers, url, import_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (candidate_id, external_key) DO NOTHING",
        )
        .bind(candidate_id)
        .bind(external_key(p))
        .bind(p.posted_at)
        .bind(&p.text)
        .bind(p.likes)
        .bind(p.reposts)
        .bind(p.comments)
        .bind(p.followers)
        .bind(p.url.as_deref())
        .bind(import_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            imported += 1;
        } else {
            duplicates += 1;
        }
    }
    // The follower count shown is the one of each candidate's most recent post.
    for id in &candidate_ids {
        sqlx::query(
            "UPDATE vet_candidates SET followers = (SELECT followers FROM vet_posts WHERE candidate_id = $1 \
             AND followers IS NOT NULL ORDER BY posted_at DESC LIMIT 1) WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE vet_imports SET rows_imported = $1, rows_duplicate = $2 WHERE id = $3")
        .bind(imported)
        .bind(duplicates)
        .bind(import_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let mut candidates = Vec::new();
    for id in candidate_ids {
        if let Some(c) = candidate(db, id).await? {
            candidates.push(c);
        }
    }
    Ok(ImportSummary {
        import_id,
        file_name: file_name.to_string(),
        imported,
        duplicates,
        rejected: parsed.errors.len() as i64,
        errors: parsed.errors.clone(),
        candidates,
        created_at: now,
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Candidate {
    pub id: i64,
    pub platform: String,
    pub handle: String,
    pub followers: Option<i64>,
    pub posts: i64,
    pub first_post_at: Option<i64>,
    pub last_post_at: Option<i64>,
}

const CANDIDATE_SELECT: &str = "SELECT c.id, c.platform, c.handle, c.followers, \
    (SELECT COUNT(*) FROM vet_posts p WHERE p.candidate_id = c.id) AS posts, \
    (SELECT MIN(posted_at) FROM vet_posts p WHERE p.candidate_id = c.id) AS first_post_at, \
    (SELECT MAX(posted_at) FROM vet_posts p WHERE p.candidate_id = c.id) AS last_post_at \
    FROM vet_candidates c";

fn candidate_from_row(row: &AnyRow) -> Candidate {
    Candidate {
        id: row.get("id"),
        platform: row.get("platform"),
        handle: row.get("handle"),
        followers: opt_i64(row, "followers"),
        posts: row.get("posts"),
        first_post_at: opt_i64(row, "first_post_at"),
        last_post_at: opt_i64(row, "last_post_at"),
    }
}

pub async fn list_candidates(db: &Db) -> anyhow::Result<Vec<Candidate>> {
    let rows = sqlx::query(&format!("{CANDIDATE_SELECT} ORDER BY c.handle, c.platform"))
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(candidate_from_row).collect())
}

pub async fn candidate(db: &Db, id: i64) -> anyhow::Result<Option<Candidate>> {
    let row = sqlx::query(&format!("{CANDIDATE_SELECT} WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(candidate_from_row))
}

pub async fn candidate_posts(db: &Db, candidate_id: i64, platform: &str) -> anyhow::Result<Vec<CandidatePost>> {
    let rows = sqlx::query(
        "SELECT id, posted_at, text, likes, reposts, comments, followers, url FROM vet_posts \
         WHERE candidate_id = $1 ORDER BY posted_at",
    )
    .bind(candidate_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| CandidatePost {
            id: row.get("id"),
            platform: platform.to_string(),
            posted_at: row.get("posted_at"),
            text: row.get("text"),
            likes: row.get("likes"),
            reposts: row.get("reposts"),
            comments: row.get("comments"),
            followers: opt_i64(row, "followers"),
            url: opt_string(row, "url"),
        })
        .collect())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportRecord {
    pub id: i64,
    pub file_name: String,
    pub imported_by: Option<String>,
    pub imported: i64,
    pub duplicates: i64,
    pub rejected: i64,
    pub errors: Vec<RowError>,
    pub created_at: i64,
}

pub async fn recent_imports(db: &Db, limit: i64) -> anyhow::Result<Vec<ImportRecord>> {
    let rows = sqlx::query(
        "SELECT i.id, i.file_name, u.username, i.rows_imported, i.rows_duplicate, i.rows_rejected, i.errors, i.created_at \
         FROM vet_imports i LEFT JOIN users u ON u.id = i.imported_by ORDER BY i.id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| ImportRecord {
            id: row.get("id"),
            file_name: row.get("file_name"),
            imported_by: opt_string(row, "username"),
            imported: row.get("rows_imported"),
            duplicates: row.get("rows_duplicate"),
            rejected: row.get("rows_rejected"),
            errors: serde_json::from_str(&row.get::<String, _>("errors")).unwrap_or_default(),
            created_at: row.get("created_at"),
        })
        .collect())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Review {
    pub id: i64,
    pub suggested: String,
    pub decision: String,
    pub note: String,
    pub reviewer: String,
    pub created_at: i64,
}

pub async fn add_review(
    db: &Db,
    brand_id: i64,
    candidate_id: i64,
    suggested: &str,
    decision: &str,
    note: &str,
    reviewer_id: i64,
) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO vet_reviews (brand_id, candidate_id, suggested, decision, note, reviewer_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(brand_id)
    .bind(candidate_id)
    .bind(suggested)
    .bind(decision)
    .bind(note)
    .bind(reviewer_id)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    let handle: String = sqlx::query_scalar("SELECT handle FROM vet_candidates WHERE id = $1")
        .bind(candidate_id)
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or_default();
    fanloop_platform::audit::record(
        &mut *tx,
        &fanloop_platform::audit::Entry::new(
            Some(reviewer_id),
            "vetting.decision",
            "candidate",
            &candidate_id.to_string(),
            &handle,
            serde_json::json!({ "brand_id": brand_id, "suggested": suggested, "decision": decision, "note": note }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn reviews(db: &Db, brand_id: i64, candidate_id: i64) -> anyhow::Result<Vec<Review>> {
    let rows = sqlx::query(
        "SELECT r.id, r.suggested, r.decision, r.note, u.username, r.created_at FROM vet_reviews r \
         JOIN users u ON u.id = r.reviewer_id WHERE r.brand_id = $1 AND r.candidate_id = $2 ORDER BY r.id DESC",
    )
    .bind(brand_id)
    .bind(candidate_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| Review {
            id: row.get("id"),
            suggested: row.get("suggested"),
            decision: row.get("decision"),
            note: row.get("note"),
            reviewer: row.get("username"),
            created_at: row.get("created_at"),
        })
        .collect())
}

/// Imported posts after `after_id`, for listening (id, time, text), oldest first.
pub async fn posts_after(db: &Db, after_id: i64, limit: i64) -> anyhow::Result<Vec<(i64, i64, String)>> {
    let rows = sqlx::query("SELECT id, posted_at, text FROM vet_posts WHERE id > $1 ORDER BY id LIMIT $2")
        .bind(after_id)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("id"), r.get("posted_at"), r.get("text")))
        .collect())
}
