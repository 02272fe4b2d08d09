//! SQL for the hub: segments and their choices, members' facts, experts, series, articles with
//! their targets and search terms.

use std::collections::{BTreeMap, HashMap};

use fanloop_platform::db::Backend;
use fanloop_platform::db::{is_unique_violation, opt_i64, opt_string};
use fanloop_platform::Db;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::domain::{parse_day, Choice, Dimension, Fact, Kind, Names, StageRule, Targeting, Unit};

fn names(row: &AnyRow, prefix: &str) -> Names {
    Names {
        en: row.get(format!("{prefix}_en").as_str()),
        zh: row.get(format!("{prefix}_zh").as_str()),
        fr: row.get(format!("{prefix}_fr").as_str()),
    }
}

/// Every segment, in their order, with their choices.
pub async fn dimensions(db: &Db) -> anyhow::Result<Vec<Dimension>> {
    let rows = sqlx::query(
        "SELECT id, dim_key, kind, name_en, name_zh, name_fr, date_prompt_en, date_prompt_zh, date_prompt_fr, \
         unit, stage_offset, stage_min, stage_max FROM hub_dimensions ORDER BY position, id",
    )
    .fetch_all(&db.pool)
    .await?;
    let choice_rows = sqlx::query(
        "SELECT dimension_id, choice_key, name_en, name_zh, name_fr, drop_slugs FROM hub_choices \
         ORDER BY dimension_id, position",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut choices: HashMap<i64, Vec<Choice>> = HashMap::new();
    for r in &choice_rows {
        choices.entry(r.get("dimension_id")).or_default().push(Choice {
            key: r.get("choice_key"),
            names: names(r, "name"),
            drops: r
                .get::<String, _>("drop_slugs")
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        });
    }
    Ok(rows
        .iter()
        .map(|r| {
            let id: i64 = r.get("id");
            let kind = match (
                r.get::<String, _>("kind").as_str(),
                Unit::parse(&r.get::<String, _>("unit")),
            ) {
                ("stage", Some(unit)) => Kind::Stage(StageRule {
                    unit,
                    offset: r.get("stage_offset"),
                    min: r.get("stage_min"),
                    max: r.get("stage_max"),
                }),
                _ => Kind::Choice(choices.remove(&id).unwrap_or_default()),
            };
            Dimension {
                id,
                key: r.get("dim_key"),
                names: names(r, "name"),
                date_prompt: names(r, "date_prompt"),
                kind,
            }
        })
        .collect())
}

async fn write_dimension_body(tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: i64, d: &Dimension) -> anyhow::Result<()> {
    let rule = d.rule();
    sqlx::query(
        "UPDATE hub_dimensions SET name_en = $1, name_zh = $2, name_fr = $3, date_prompt_en = $4, date_prompt_zh = $5, \
         date_prompt_fr = $6, unit = $7, stage_offset = $8, stage_min = $9, stage_max = $10 WHERE id = $11",
    )
    .bind(&d.names.en)
    .bind(&d.names.zh)
    .bind(&d.names.fr)
    .bind(&d.date_prompt.en)
    .bind(&d.date_prompt.zh)
    .bind(&d.date_prompt.fr)
    .bind(rule.map(|r| r.unit.as_str()).unwrap_or(""))
    .bind(rule.map(|r| r.offset).unwrap_or(0))
    .bind(rule.map(|r| r.min).unwrap_or(0))
    .bind(rule.map(|r| r.max).unwrap_or(0))
    .bind(id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM hub_choices WHERE dimension_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if let Kind::Choice(choices) = &d.kind {
        for (pos, c) in choices.iter().enumerate() {
            sqlx::query(
                "INSERT INTO hub_choices (dimension_id, choice_key, name_en, name_zh, name_fr, position, drop_slugs) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(&c.key)
            .bind(&c.names.en)
            .bind(&c.names.zh)
            .bind(&c.names.fr)
            .bind(pos as i64)
            .bind(c.drops.join(","))
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// `None` when the key is taken.
pub async fn create_dimension(db: &Db, d: &Dimension, now: i64) -> anyhow::Result<Option<i64>> {
    let mut tx = db.begin_write().await?;
    let kind = if d.rule().is_some() { "stage" } else { "choice" };
    let inserted = sqlx::query(
        "INSERT INTO hub_dimensions (dim_key, kind, name_en, name_zh, name_fr, position, created_at) \
         VALUES ($1, $2, '', '', '', (SELECT COALESCE(MAX(position), 0) + 1 FROM hub_dimensions), $3) RETURNING id",
    )
    .bind(&d.key)
    .bind(kind)
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    let id: i64 = match inserted {
        Ok(row) => row.get("id"),
        Err(e) if is_unique_violation(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    write_dimension_body(&mut tx, id, d).await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Replaces a segment's names, question, stage rule or choices (its key and kind stay).
pub async fn update_dimension(db: &Db, d: &Dimension) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    write_dimension_body(&mut tx, d.id, d).await?;
    tx.commit().await?;
    Ok(())
}

/// What a member told the hub, per segment, with when they last changed it.
pub async fn facts(db: &Db, user_id: i64) -> anyhow::Result<BTreeMap<i64, (Fact, i64)>> {
    let rows = sqlx::query("SELECT dimension_id, choice_key, day, updated_at FROM hub_member_facts WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let fact = match (opt_string(r, "choice_key"), opt_string(r, "day")) {
                (Some(c), _) => Fact::Choice(c),
                (None, Some(d)) => Fact::Day(parse_day(&d)?),
                _ => return None,
            };
            Some((r.get("dimension_id"), (fact, r.get("updated_at"))))
        })
        .collect())
}

/// Replaces everything a member told the hub (an empty list forgets it all). A fact that did
/// not change keeps its time.
pub async fn replace_facts(db: &Db, user_id: i64, facts: &[(i64, Fact)], now: i64) -> anyhow::Result<()> {
    let before = self::facts(db, user_id).await?;
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM hub_member_facts WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    for (dim, fact) in facts {
        let at = match before.get(dim) {
            Some((old, at)) if old == fact => *at,
            _ => now,
        };
        let (choice, day) = match fact {
            Fact::Choice(c) => (Some(c.clone()), None),
            Fact::Day(d) => (None, Some(crate::domain::format_day(*d))),
        };
        sqlx::query(
            "INSERT INTO hub_member_facts (user_id, dimension_id, choice_key, day, updated_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user_id)
        .bind(dim)
        .bind(choice)
        .bind(day)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct ExpertRow {
    pub user_id: i64,
    pub username: String,
    pub display_name: Option<String>,
    pub field: String,
    pub bio: String,
    pub appointed_at: i64,
    /// When the expert last used the site (a page, at most a minute stale) or the API.
    pub last_active_at: Option<i64>,
}

/// When member `u` last used the site or the API (sessions note it once a minute).
macro_rules! last_active {
    () => {
        "(SELECT MAX(at) FROM (SELECT MAX(s.last_seen_at) AS at FROM sessions s WHERE s.user_id = u.id \
         UNION ALL SELECT MAX(t.last_used_at) AS at FROM api_tokens t WHERE t.user_id = u.id) AS seen)"
    };
}
const LAST_ACTIVE: &str = last_active!();

const EXPERT_SELECT: &str = concat!(
    "SELECT e.user_id, u.username, u.display_name, e.field, e.bio, e.appointed_at, ",
    last_active!(),
    " AS last_active_at FROM hub_experts e JOIN users u ON u.id = e.user_id"
);

fn expert_from(r: &AnyRow) -> ExpertRow {
    ExpertRow {
        user_id: r.get("user_id"),
        username: r.get("username"),
        display_name: opt_string(r, "display_name"),
        field: r.get("field"),
        bio: r.get("bio"),
        appointed_at: r.get("appointed_at"),
        last_active_at: opt_i64(r, "last_active_at"),
    }
}

pub async fn experts(db: &Db) -> anyhow::Result<Vec<ExpertRow>> {
    let rows = sqlx::query(&format!("{EXPERT_SELECT} ORDER BY e.appointed_at, e.user_id"))
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(expert_from).collect())
}

pub async fn expert(db: &Db, user_id: i64) -> anyhow::Result<Option<ExpertRow>> {
    let row = sqlx::query(&format!("{EXPERT_SELECT} WHERE e.user_id = $1"))
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(expert_from))
}

pub async fn set_expert(db: &Db, user_id: i64, field: &str, bio: &str, by: i64, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO hub_experts (user_id, field, bio, appointed_by, appointed_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (user_id) DO UPDATE SET field = excluded.field, bio = excluded.bio",
    )
    .bind(user_id)
    .bind(field)
    .bind(bio)
    .bind(by)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Whether there was an expert to remove. The conversations they had taken and not closed go
/// back to their field's queue (their first answer stays counted), in the same transaction.
pub async fn remove_expert(db: &Db, user_id: i64) -> anyhow::Result<bool> {
    let mut tx = db.begin_write().await?;
    let done = sqlx::query("DELETE FROM hub_experts WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE hub_conversations SET status = 'waiting', expert_id = NULL WHERE expert_id = $1 AND status = 'open'",
    )
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}

#[derive(Debug, Clone)]
pub struct SeriesRow {
    pub id: i64,
    pub slug: String,
    pub lang: String,
    pub title: String,
    pub summary: String,
    pub dimension_id: i64,
    pub created_at: i64,
}

fn series_from(r: &AnyRow) -> SeriesRow {
    SeriesRow {
        id: r.get("id"),
        slug: r.get("slug"),
        lang: r.get("lang"),
        title: r.get("title"),
        summary: r.get("summary"),
        dimension_id: r.get("dimension_id"),
        created_at: r.get("created_at"),
    }
}

const SERIES_COLS: &str = "id, slug, lang, title, summary, dimension_id, created_at";

pub async fn all_series(db: &Db) -> anyhow::Result<Vec<SeriesRow>> {
    let rows = sqlx::query(&format!("SELECT {SERIES_COLS} FROM hub_series ORDER BY id"))
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(series_from).collect())
}

pub async fn series_by_slug(db: &Db, slug: &str) -> anyhow::Result<Option<SeriesRow>> {
    let row = sqlx::query(&format!("SELECT {SERIES_COLS} FROM hub_series WHERE slug = $1"))
        .bind(slug)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(series_from))
}

/// Changes a series' title and summary, and its language and segment while it has no articles
/// (theirs must match them): `false` when it has articles and the language or segment changed.
/// PostgreSQL: the series row is locked first, so an article being written into it (which holds
/// a share lock on that row, see [`write_article_parts`]) is either committed and counted here,
/// or checks the changed series after this commits. (SQLite has one writer at a time.)
pub async fn update_series(
    db: &Db,
    id: i64,
    lang: &str,
    title: &str,
    summary: &str,
    dimension_id: i64,
) -> anyhow::Result<bool> {
    let mut tx = db.begin_write().await?;
    let Some((old_lang, old_dimension)) = series_locked(&mut tx, db.backend, id, " FOR UPDATE").await? else {
        return Ok(false);
    };
    if old_lang != lang || old_dimension != dimension_id {
        let used: Option<i64> = sqlx::query_scalar("SELECT id FROM hub_articles WHERE series_id = $1 LIMIT 1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if used.is_some() {
            tx.rollback().await?;
            return Ok(false);
        }
    }
    sqlx::query("UPDATE hub_series SET lang = $2, title = $3, summary = $4, dimension_id = $5 WHERE id = $1")
        .bind(id)
        .bind(lang)
        .bind(title)
        .bind(summary)
        .bind(dimension_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// A series' language and segment, its row locked (`lock`: `" FOR UPDATE"` or `" FOR SHARE"`)
/// on PostgreSQL; SQLite has one writer at a time.
async fn series_locked(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    id: i64,
    lock: &str,
) -> anyhow::Result<Option<(String, i64)>> {
    let lock = match backend {
        Backend::Postgres => lock,
        Backend::Sqlite => "",
    };
    let row = sqlx::query(&format!(
        "SELECT lang, dimension_id FROM hub_series WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| (r.get("lang"), r.get("dimension_id"))))
}

/// `None` when the slug is taken.
#[allow(clippy::too_many_arguments)]
pub async fn create_series(
    db: &Db,
    slug: &str,
    lang: &str,
    title: &str,
    summary: &str,
    dimension_id: i64,
    by: i64,
    now: i64,
) -> anyhow::Result<Option<SeriesRow>> {
    let row = sqlx::query(&format!(
        "INSERT INTO hub_series (slug, lang, title, summary, dimension_id, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {SERIES_COLS}"
    ))
    .bind(slug)
    .bind(lang)
    .bind(title)
    .bind(summary)
    .bind(dimension_id)
    .bind(by)
    .bind(now)
    .fetch_one(&db.pool)
    .await;
    match row {
        Ok(r) => Ok(Some(series_from(&r))),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// An article as stored, with who it is for.
#[derive(Debug, Clone)]
pub struct ArticleRow {
    pub id: i64,
    pub slug: String,
    pub lang: String,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub body_html: String,
    pub author_id: i64,
    pub author: String,
    pub author_display: Option<String>,
    /// The author is staff (by their role now).
    pub author_is_staff: bool,
    pub publish_at: i64,
    pub series_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub targeting: Targeting,
}

/// What the service writes.
pub struct ArticleWrite<'a> {
    pub slug: &'a str,
    pub lang: &'a str,
    pub title: &'a str,
    pub summary: &'a str,
    pub body: &'a str,
    pub body_html: &'a str,
    pub publish_at: i64,
    pub series_id: Option<i64>,
    pub targeting: &'a Targeting,
    /// Search terms: (term, in title).
    pub terms: &'a [(String, bool)],
    /// Drops embedded as product cards.
    pub products: &'a [String],
}

const ARTICLE_SELECT: &str = "SELECT a.id, a.slug, a.lang, a.title, a.summary, a.body, a.body_html, a.author_id, \
    u.username, u.display_name, u.role, a.publish_at, a.series_id, a.created_at, a.updated_at \
    FROM hub_articles a JOIN users u ON u.id = a.author_id";

/// The list columns: everything but the text.
const ARTICLE_LIST_SELECT: &str = "SELECT a.id, a.slug, a.lang, a.title, a.summary, '' AS body, '' AS body_html, \
    a.author_id, u.username, u.display_name, u.role, a.publish_at, a.series_id, a.created_at, a.updated_at \
    FROM hub_articles a JOIN users u ON u.id = a.author_id";

fn article_from(r: &AnyRow) -> ArticleRow {
    ArticleRow {
        id: r.get("id"),
        slug: r.get("slug"),
        lang: r.get("lang"),
        title: r.get("title"),
        summary: r.get("summary"),
        body: r.get("body"),
        body_html: r.get("body_html"),
        author_id: r.get("author_id"),
        author: r.get("username"),
        author_display: opt_string(r, "display_name"),
        author_is_staff: fanloop_platform::auth::Role::parse(&r.get::<String, _>("role")).is_some_and(|x| x.is_staff()),
        publish_at: r.get("publish_at"),
        series_id: opt_i64(r, "series_id"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
        targeting: Targeting::default(),
    }
}

async fn load_targets(db: &Db, articles: &mut [ArticleRow]) -> anyhow::Result<()> {
    if articles.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = articles.iter().map(|a| a.id).collect();
    let rows = sqlx::query(&format!(
        "SELECT article_id, dimension_id, choice_key, stage_from, stage_to FROM hub_article_targets \
         WHERE article_id IN ({})",
        db.json_list("$1", true)
    ))
    .bind(serde_json::to_string(&ids)?)
    .fetch_all(&db.pool)
    .await?;
    let mut by_id: HashMap<i64, Targeting> = HashMap::new();
    for r in &rows {
        let t = by_id.entry(r.get("article_id")).or_default();
        let dim: i64 = r.get("dimension_id");
        match (opt_i64(r, "stage_from"), opt_i64(r, "stage_to")) {
            (Some(a), Some(b)) => {
                t.stages.insert(dim, (a, b));
            }
            _ => {
                t.choices.entry(dim).or_default().insert(r.get("choice_key"));
            }
        }
    }
    for a in articles.iter_mut() {
        a.targeting = by_id.remove(&a.id).unwrap_or_default();
    }
    Ok(())
}

/// Why an article was not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleRefused {
    /// Another article has the slug.
    SlugTaken,
    /// The article was deleted meanwhile.
    Gone,
    /// Its series changed language or segment since the article was checked against it.
    SeriesChanged,
}

/// Writes an article's targets, terms and cards in its transaction, after checking once more,
/// under a share lock on the series row (PostgreSQL; SQLite has one writer at a time), that the
/// article still fits its series: a series change and an article write are thereby ordered
/// (see [`update_series`]).
async fn write_article_parts(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    id: i64,
    a: &ArticleWrite<'_>,
) -> anyhow::Result<Result<(), ArticleRefused>> {
    if let Some(series) = a.series_id {
        let fits = series_locked(tx, backend, series, " FOR SHARE")
            .await?
            .is_some_and(|(lang, dimension)| lang == a.lang && a.targeting.stages.contains_key(&dimension));
        if !fits {
            return Ok(Err(ArticleRefused::SeriesChanged));
        }
    }
    for table in ["hub_article_targets", "hub_article_terms"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE article_id = $1"))
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    for (dim, choices) in &a.targeting.choices {
        for c in choices {
            sqlx::query("INSERT INTO hub_article_targets (article_id, dimension_id, choice_key) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(dim)
                .bind(c)
                .execute(&mut **tx)
                .await?;
        }
    }
    for (dim, (from, to)) in &a.targeting.stages {
        sqlx::query(
            "INSERT INTO hub_article_targets (article_id, dimension_id, choice_key, stage_from, stage_to) \
             VALUES ($1, $2, '', $3, $4)",
        )
        .bind(id)
        .bind(dim)
        .bind(from)
        .bind(to)
        .execute(&mut **tx)
        .await?;
    }
    write_products(tx, id, a.products).await?;
    // Terms in one statement per 500: an article of 50,000 characters has thousands.
    for chunk in a.terms.chunks(500) {
        let json = serde_json::to_string(&chunk.iter().map(|(t, title)| (t, *title as i64)).collect::<Vec<_>>())?;
        let sql = match backend {
            Backend::Postgres => "INSERT INTO hub_article_terms (term, article_id, in_title) \
                 SELECT e->>0, $1, CAST(e->>1 AS BIGINT) FROM json_array_elements(CAST($2 AS json)) e"
                .to_string(),
            _ => "INSERT INTO hub_article_terms (term, article_id, in_title) \
                 SELECT json_extract(value, '$[0]'), $1, json_extract(value, '$[1]') FROM json_each($2)"
                .to_string(),
        };
        sqlx::query(&sql).bind(id).bind(json).execute(&mut **tx).await?;
    }
    Ok(Ok(()))
}

pub async fn create_article(
    db: &Db,
    a: &ArticleWrite<'_>,
    author_id: i64,
    now: i64,
) -> anyhow::Result<Result<i64, ArticleRefused>> {
    let mut tx = db.begin_write().await?;
    let inserted = sqlx::query(
        "INSERT INTO hub_articles (slug, lang, title, summary, body, body_html, author_id, publish_at, series_id, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(a.slug)
    .bind(a.lang)
    .bind(a.title)
    .bind(a.summary)
    .bind(a.body)
    .bind(a.body_html)
    .bind(author_id)
    .bind(a.publish_at)
    .bind(a.series_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    let id: i64 = match inserted {
        Ok(row) => row.get("id"),
        Err(e) if is_unique_violation(&e) => return Ok(Err(ArticleRefused::SlugTaken)),
        Err(e) => return Err(e.into()),
    };
    if let Err(refused) = write_article_parts(&mut tx, db.backend, id, a).await? {
        tx.rollback().await?;
        return Ok(Err(refused));
    }
    tx.commit().await?;
    Ok(Ok(id))
}

/// Deletes an article with its targets, search terms, product cards and counts (cascades);
/// `false` if it was gone already.
pub async fn delete_article(db: &Db, id: i64) -> anyhow::Result<bool> {
    Ok(sqlx::query("DELETE FROM hub_articles WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?
        .rows_affected()
        == 1)
}

/// Rewrites an article (its slug and author stay).
pub async fn update_article(
    db: &Db,
    id: i64,
    a: &ArticleWrite<'_>,
    now: i64,
) -> anyhow::Result<Result<(), ArticleRefused>> {
    let mut tx = db.begin_write().await?;
    let done = sqlx::query(
        "UPDATE hub_articles SET lang = $1, title = $2, summary = $3, body = $4, body_html = $5, publish_at = $6, \
         series_id = $7, updated_at = $8 WHERE id = $9",
    )
    .bind(a.lang)
    .bind(a.title)
    .bind(a.summary)
    .bind(a.body)
    .bind(a.body_html)
    .bind(a.publish_at)
    .bind(a.series_id)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(Err(ArticleRefused::Gone));
    }
    if let Err(refused) = write_article_parts(&mut tx, db.backend, id, a).await? {
        tx.rollback().await?;
        return Ok(Err(refused));
    }
    tx.commit().await?;
    Ok(Ok(()))
}

pub async fn article_by_slug(db: &Db, slug: &str) -> anyhow::Result<Option<ArticleRow>> {
    let row = sqlx::query(&format!("{ARTICLE_SELECT} WHERE a.slug = $1"))
        .bind(slug)
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut a = [article_from(&row)];
    load_targets(db, &mut a).await?;
    let [a] = a;
    Ok(Some(a))
}

/// Articles without their text, with targets: the published ones (`publish_at <= now`), and
/// with `unpublished_of` also the scheduled ones that account may see (`Some(0)`: all of them).
pub async fn article_list(db: &Db, now: i64, unpublished_of: Option<i64>) -> anyhow::Result<Vec<ArticleRow>> {
    let rows = match unpublished_of {
        None => {
            sqlx::query(&format!(
                "{ARTICLE_LIST_SELECT} WHERE a.publish_at <= $1 ORDER BY a.publish_at DESC, a.id DESC"
            ))
            .bind(now)
            .fetch_all(&db.pool)
            .await?
        }
        Some(user) => {
            sqlx::query(&format!(
                "{ARTICLE_LIST_SELECT} WHERE a.publish_at <= $1 OR $2 = 0 OR a.author_id = $2 \
                 ORDER BY a.publish_at DESC, a.id DESC"
            ))
            .bind(now)
            .bind(user)
            .fetch_all(&db.pool)
            .await?
        }
    };
    let mut articles: Vec<ArticleRow> = rows.iter().map(article_from).collect();
    load_targets(db, &mut articles).await?;
    Ok(articles)
}

/// Ids of the articles holding at least one term of every group, with a score: per group, 3
/// when one of its terms is in the title, else 1.
pub async fn search(db: &Db, groups: &[Vec<String>]) -> anyhow::Result<Vec<(i64, i64)>> {
    let mut scores: Option<HashMap<i64, i64>> = None;
    for g in groups {
        let rows = sqlx::query(&format!(
            "SELECT article_id, MAX(in_title) AS in_title FROM hub_article_terms WHERE term IN ({}) GROUP BY article_id",
            db.json_list("$1", false)
        ))
        .bind(serde_json::to_string(g)?)
        .fetch_all(&db.pool)
        .await?;
        let found: HashMap<i64, i64> = rows
            .iter()
            .map(|r| (r.get("article_id"), if r.get::<i64, _>("in_title") > 0 { 3 } else { 1 }))
            .collect();
        scores = Some(match scores {
            None => found,
            Some(before) => before
                .into_iter()
                .filter_map(|(id, s)| found.get(&id).map(|f| (id, s + f)))
                .collect(),
        });
        if scores.as_ref().is_some_and(HashMap::is_empty) {
            break;
        }
    }
    let mut out: Vec<(i64, i64)> = scores.unwrap_or_default().into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    Ok(out)
}

/// How many members gave each value of each segment (for staff): (dimension, choice) → count,
/// and per stage dimension the number of members with a date.
pub async fn member_counts(db: &Db) -> anyhow::Result<HashMap<(i64, String), i64>> {
    let rows = sqlx::query(
        "SELECT dimension_id, COALESCE(choice_key, '') AS choice_key, COUNT(*) AS n FROM hub_member_facts \
         GROUP BY dimension_id, COALESCE(choice_key, '')",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| ((r.get("dimension_id"), r.get("choice_key")), r.get("n")))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Ask an expert

/// Each field experts answer in, with how many experts it has.
/// Each field with its number of experts, and how many were active since `since`.
pub async fn expert_fields(db: &Db, since: i64) -> anyhow::Result<Vec<(String, i64, i64)>> {
    let rows = sqlx::query(&format!(
        "SELECT e.field, CAST(COUNT(*) AS BIGINT) AS n, \
         CAST(SUM(CASE WHEN COALESCE({LAST_ACTIVE}, 0) >= $1 THEN 1 ELSE 0 END) AS BIGINT) AS online \
         FROM hub_experts e JOIN users u ON u.id = e.user_id GROUP BY e.field ORDER BY e.field"
    ))
    .bind(since)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("field"), r.get("n"), r.get("online")))
        .collect())
}

#[derive(Debug, Clone)]
pub struct ConversationRow {
    pub id: i64,
    pub member_id: i64,
    pub member: String,
    pub field: String,
    pub subject: String,
    pub lang: String,
    pub expert_id: Option<i64>,
    pub expert: Option<String>,
    pub status: String,
    pub faq_consent: bool,
    pub created_at: i64,
    pub first_answer_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub messages: i64,
}

const CONVERSATION_SELECT: &str = "SELECT c.id, c.member_id, m.username AS member, c.field, c.subject, c.lang, \
    c.expert_id, x.username AS expert, c.status, c.faq_consent, c.created_at, c.first_answer_at, c.closed_at, \
    (SELECT COUNT(*) FROM hub_messages hm WHERE hm.conversation_id = c.id) AS messages \
    FROM hub_conversations c JOIN users m ON m.id = c.member_id LEFT JOIN users x ON x.id = c.expert_id";

fn conversation_from(r: &AnyRow) -> ConversationRow {
    ConversationRow {
        id: r.get("id"),
        member_id: r.get("member_id"),
        member: r.get("member"),
        field: r.get("field"),
        subject: r.get("subject"),
        lang: r.get("lang"),
        expert_id: opt_i64(r, "expert_id"),
        expert: opt_string(r, "expert"),
        status: r.get("status"),
        faq_consent: r.get::<i64, _>("faq_consent") != 0,
        created_at: r.get("created_at"),
        first_answer_at: opt_i64(r, "first_answer_at"),
        closed_at: opt_i64(r, "closed_at"),
        messages: r.get("messages"),
    }
}

/// A new conversation with its first message, in one transaction.
#[allow(clippy::too_many_arguments)]
pub async fn create_conversation(
    db: &Db,
    member_id: i64,
    field: &str,
    subject: &str,
    lang: &str,
    body: &str,
    faq_consent: bool,
    now: i64,
) -> anyhow::Result<i64> {
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO hub_conversations (member_id, field, subject, lang, status, faq_consent, created_at) \
         VALUES ($1, $2, $3, $4, 'waiting', $5, $6) RETURNING id",
    )
    .bind(member_id)
    .bind(field)
    .bind(subject)
    .bind(lang)
    .bind(faq_consent as i64)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?
    .get("id");
    sqlx::query("INSERT INTO hub_messages (conversation_id, author_id, body, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(member_id)
        .bind(body)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn conversation(db: &Db, id: i64) -> anyhow::Result<Option<ConversationRow>> {
    let row = sqlx::query(&format!("{CONVERSATION_SELECT} WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(conversation_from))
}

/// A member's conversations, newest first.
pub async fn member_conversations(db: &Db, member_id: i64) -> anyhow::Result<Vec<ConversationRow>> {
    let rows = sqlx::query(&format!(
        "{CONVERSATION_SELECT} WHERE c.member_id = $1 ORDER BY c.created_at DESC, c.id DESC LIMIT 200"
    ))
    .bind(member_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(conversation_from).collect())
}

/// An expert's queue: the field's waiting conversations, oldest first, then the open ones the
/// expert took.
pub async fn expert_queue(db: &Db, expert_id: i64, field: &str) -> anyhow::Result<Vec<ConversationRow>> {
    let rows = sqlx::query(&format!(
        "{CONVERSATION_SELECT} WHERE (c.status = 'waiting' AND c.field = $1) OR (c.status = 'open' AND c.expert_id = $2) \
         ORDER BY CASE WHEN c.status = 'waiting' THEN 0 ELSE 1 END, c.created_at, c.id LIMIT 500"
    ))
    .bind(field)
    .bind(expert_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(conversation_from).collect())
}

/// 1 for the oldest waiting conversation of its field.
pub async fn queue_position(db: &Db, c: &ConversationRow) -> anyhow::Result<i64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM hub_conversations WHERE field = $1 AND status = 'waiting' \
         AND (created_at < $2 OR (created_at = $2 AND id < $3))",
    )
    .bind(&c.field)
    .bind(c.created_at)
    .bind(c.id)
    .fetch_one(&db.pool)
    .await?;
    Ok(n + 1)
}

#[derive(Debug, Clone)]
pub struct MessageRow {
    pub id: i64,
    pub author_id: i64,
    pub author: String,
    pub body: String,
    pub created_at: i64,
}

pub async fn messages(db: &Db, conversation_id: i64) -> anyhow::Result<Vec<MessageRow>> {
    let rows = sqlx::query(
        "SELECT m.id, m.author_id, u.username, m.body, m.created_at FROM hub_messages m JOIN users u ON u.id = m.author_id \
         WHERE m.conversation_id = $1 ORDER BY m.id",
    )
    .bind(conversation_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| MessageRow {
            id: r.get("id"),
            author_id: r.get("author_id"),
            author: r.get("username"),
            body: r.get("body"),
            created_at: r.get("created_at"),
        })
        .collect())
}

/// What writing a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Done,
    /// The expert's first answer: the conversation is now theirs.
    Took,
    /// Another expert took it first.
    TakenByAnother,
    Closed,
}

/// Adds a message; `taking` is the expert answering a waiting conversation, who takes it if
/// nobody did first (decided by one conditional update, so two experts cannot both take it).
pub async fn add_message(
    db: &Db,
    conversation_id: i64,
    author_id: i64,
    body: &str,
    taking: bool,
    now: i64,
) -> anyhow::Result<Written> {
    let mut tx = db.begin_write().await?;
    // A no-op update takes the row's lock (PostgreSQL's READ COMMITTED would not see a close
    // committed after a plain read): a concurrent close comes wholly before or after.
    let open = sqlx::query("UPDATE hub_conversations SET status = status WHERE id = $1 AND status <> 'closed'")
        .bind(conversation_id)
        .execute(&mut *tx)
        .await?;
    if open.rows_affected() == 0 {
        return Ok(Written::Closed);
    }
    let expert: Option<i64> = sqlx::query("SELECT expert_id FROM hub_conversations WHERE id = $1")
        .bind(conversation_id)
        .fetch_one(&mut *tx)
        .await
        .map(|r| opt_i64(&r, "expert_id"))?;
    let mut written = Written::Done;
    if taking {
        match expert {
            Some(e) if e != author_id => return Ok(Written::TakenByAnother),
            Some(_) => {}
            None => {
                let took = sqlx::query(
                    "UPDATE hub_conversations SET expert_id = $1, status = 'open', first_answer_at = COALESCE(first_answer_at, $2), \
                     first_answer_by = COALESCE(first_answer_by, $1) \
                     WHERE id = $3 AND status = 'waiting' AND expert_id IS NULL",
                )
                .bind(author_id)
                .bind(now)
                .bind(conversation_id)
                .execute(&mut *tx)
                .await?;
                if took.rows_affected() == 0 {
                    return Ok(Written::TakenByAnother);
                }
                written = Written::Took;
            }
        }
    }
    sqlx::query("INSERT INTO hub_messages (conversation_id, author_id, body, created_at) VALUES ($1, $2, $3, $4)")
        .bind(conversation_id)
        .bind(author_id)
        .bind(body)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(written)
}

pub async fn close_conversation(db: &Db, id: i64, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE hub_conversations SET status = 'closed', closed_at = $1 WHERE id = $2 AND status <> 'closed'")
        .bind(now)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Consent given or taken back; taking it back removes the FAQ entry made from it.
pub async fn set_consent(db: &Db, id: i64, consent: bool) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE hub_conversations SET faq_consent = $1 WHERE id = $2")
        .bind(consent as i64)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if !consent {
        sqlx::query("DELETE FROM hub_faq WHERE conversation_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn has_faq(db: &Db, conversation_id: i64) -> anyhow::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM hub_faq WHERE conversation_id = $1")
        .bind(conversation_id)
        .fetch_one(&db.pool)
        .await?;
    Ok(n > 0)
}

/// Time to the first answer, in ms, of the field's last `limit` answered conversations.
pub async fn recent_first_answers(db: &Db, field: &str, limit: i64) -> anyhow::Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT first_answer_at - created_at AS waited FROM hub_conversations \
         WHERE field = $1 AND first_answer_at IS NOT NULL ORDER BY first_answer_at DESC LIMIT $2",
    )
    .bind(field)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(|r| r.get("waited")).collect())
}

/// Every answered conversation: (the expert who first answered, field, time to that answer in ms).
pub async fn first_answers(db: &Db) -> anyhow::Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT u.username, c.field, c.first_answer_at - c.created_at AS waited FROM hub_conversations c \
         JOIN users u ON u.id = c.first_answer_by WHERE c.first_answer_at IS NOT NULL",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("username"), r.get("field"), r.get("waited")))
        .collect())
}

/// How many conversations wait, per field.
pub async fn waiting_counts(db: &Db) -> anyhow::Result<HashMap<String, i64>> {
    let rows =
        sqlx::query("SELECT field, COUNT(*) AS n FROM hub_conversations WHERE status = 'waiting' GROUP BY field")
            .fetch_all(&db.pool)
            .await?;
    Ok(rows.iter().map(|r| (r.get("field"), r.get("n"))).collect())
}

#[derive(Debug, Clone)]
pub struct FaqRow {
    pub id: i64,
    pub field: String,
    pub lang: String,
    pub question: String,
    pub answer_html: String,
    pub expert: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaqWritten {
    Done(i64),
    Exists,
    /// The member's consent is not (or no longer) given, or `expert_id` is not the
    /// conversation's expert.
    NoConsent,
}

/// Publishes a FAQ entry if, at that moment, the member consents and `expert_id` answers the
/// conversation. The consent is re-read under a row lock (a no-op update) in the same
/// transaction, so consent taken back concurrently either comes first (nothing is published) or
/// after (its delete finds the entry).
#[allow(clippy::too_many_arguments)]
pub async fn create_faq(
    db: &Db,
    conversation_id: i64,
    field: &str,
    lang: &str,
    question: &str,
    answer: &str,
    answer_html: &str,
    expert_id: i64,
    now: i64,
) -> anyhow::Result<FaqWritten> {
    let mut tx = db.begin_write().await?;
    let consenting = sqlx::query(
        "UPDATE hub_conversations SET faq_consent = faq_consent WHERE id = $1 AND faq_consent = 1 AND expert_id = $2",
    )
    .bind(conversation_id)
    .bind(expert_id)
    .execute(&mut *tx)
    .await?;
    if consenting.rows_affected() == 0 {
        return Ok(FaqWritten::NoConsent);
    }
    let row = sqlx::query(
        "INSERT INTO hub_faq (conversation_id, field, lang, question, answer, answer_html, expert_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(conversation_id)
    .bind(field)
    .bind(lang)
    .bind(question)
    .bind(answer)
    .bind(answer_html)
    .bind(expert_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    match row {
        Ok(r) => {
            let id = r.get("id");
            tx.commit().await?;
            Ok(FaqWritten::Done(id))
        }
        Err(e) if is_unique_violation(&e) => Ok(FaqWritten::Exists),
        Err(e) => Err(e.into()),
    }
}

pub async fn faq(db: &Db) -> anyhow::Result<Vec<FaqRow>> {
    let rows = sqlx::query(
        "SELECT f.id, f.field, f.lang, f.question, f.answer_html, u.username, f.created_at FROM hub_faq f \
         JOIN users u ON u.id = f.expert_id ORDER BY f.created_at DESC, f.id DESC LIMIT 500",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| FaqRow {
            id: r.get("id"),
            field: r.get("field"),
            lang: r.get("lang"),
            question: r.get("question"),
            answer_html: r.get("answer_html"),
            expert: r.get("username"),
            created_at: r.get("created_at"),
        })
        .collect())
}

pub async fn newest_message_id(db: &Db) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM hub_messages")
        .fetch_one(&db.pool)
        .await?)
}

/// (message id, conversation id) above `id`, oldest first.
pub async fn message_conversations_after(db: &Db, id: i64, limit: i64) -> anyhow::Result<Vec<(i64, i64)>> {
    let rows = sqlx::query("SELECT id, conversation_id FROM hub_messages WHERE id > $1 ORDER BY id LIMIT $2")
        .bind(id)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(|r| (r.get("id"), r.get("conversation_id"))).collect())
}

// ---------------------------------------------------------------------------------------------
// Shop and reach

/// A drop as a product card shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProductCard {
    pub drop: String,
    pub name: String,
    pub price_cents: i64,
    pub currency: String,
    pub opens_at: i64,
    pub closes_at: i64,
    /// Units not held by live orders, all variants and pools.
    pub remaining: i64,
}

/// The cards of these drops (unknown slugs are left out), in the order given.
pub async fn product_cards(db: &Db, slugs: &[String]) -> anyhow::Result<Vec<ProductCard>> {
    if slugs.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(&format!(
        "SELECT d.slug, d.name, d.price_cents, d.currency, d.opens_at, d.closes_at, \
         CAST(COALESCE(SUM(v.general_stock + v.fcode_stock - v.sold_general - v.sold_fcode), 0) AS BIGINT) AS remaining \
         FROM drops d LEFT JOIN variants v ON v.drop_id = d.id WHERE d.slug IN ({}) \
         GROUP BY d.slug, d.name, d.price_cents, d.currency, d.opens_at, d.closes_at",
        db.json_list("$1", false)
    ))
    .bind(serde_json::to_string(slugs)?)
    .fetch_all(&db.pool)
    .await?;
    let mut cards: Vec<ProductCard> = rows
        .iter()
        .map(|r| ProductCard {
            drop: r.get("slug"),
            name: r.get("name"),
            price_cents: r.get("price_cents"),
            currency: r.get("currency"),
            opens_at: r.get("opens_at"),
            closes_at: r.get("closes_at"),
            remaining: r.get("remaining"),
        })
        .collect();
    cards.sort_by_key(|c| slugs.iter().position(|s| *s == c.drop));
    Ok(cards)
}

pub async fn write_products(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    article_id: i64,
    slugs: &[String],
) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM hub_article_products WHERE article_id = $1")
        .bind(article_id)
        .execute(&mut **tx)
        .await?;
    for s in slugs {
        sqlx::query("INSERT INTO hub_article_products (article_id, drop_slug) VALUES ($1, $2)")
            .bind(article_id)
            .bind(s)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Ids of the articles that embed a drop.
pub async fn articles_with_product(db: &Db, drop_slug: &str) -> anyhow::Result<Vec<i64>> {
    let rows = sqlx::query("SELECT article_id FROM hub_article_products WHERE drop_slug = $1")
        .bind(drop_slug)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(|r| r.get("article_id")).collect())
}

/// Counts a view; a signed-in member's views of one article count once per `dedupe_ms`.
pub async fn record_view(
    db: &Db,
    article_id: i64,
    user_id: Option<i64>,
    now: i64,
    dedupe_ms: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO hub_article_views (article_id, user_id, viewed_at) SELECT $1, $2, $3 \
         WHERE $2 IS NULL OR NOT EXISTS (SELECT 1 FROM hub_article_views WHERE article_id = $1 AND user_id = $2 \
         AND viewed_at > $4)",
    )
    .bind(article_id)
    .bind(user_id)
    .bind(now)
    .bind(now - dedupe_ms)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Counts a member's click on a card, once per `dedupe_ms` for the same article and drop.
pub async fn record_click(
    db: &Db,
    article_id: i64,
    drop_slug: &str,
    user_id: i64,
    now: i64,
    dedupe_ms: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO hub_article_clicks (article_id, drop_slug, user_id, clicked_at) SELECT $1, $2, $3, $4 \
         WHERE NOT EXISTS (SELECT 1 FROM hub_article_clicks WHERE article_id = $1 AND drop_slug = $2 AND user_id = $3 \
         AND clicked_at > $5)",
    )
    .bind(article_id)
    .bind(drop_slug)
    .bind(user_id)
    .bind(now)
    .bind(now - dedupe_ms)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Per article: views, clicks on its cards, and orders (not expired) of a carded drop placed by
/// a member within `window_ms` after clicking it from the article (each order once per
/// article).
pub async fn article_reach(db: &Db, window_ms: i64) -> anyhow::Result<Vec<(i64, i64, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT a.id, \
         (SELECT COUNT(*) FROM hub_article_views v WHERE v.article_id = a.id) AS views, \
         (SELECT COUNT(*) FROM hub_article_clicks c WHERE c.article_id = a.id) AS clicks, \
         (SELECT COUNT(DISTINCT o.id) FROM hub_article_clicks c JOIN drops d ON d.slug = c.drop_slug \
            JOIN orders o ON o.drop_id = d.id AND o.user_id = c.user_id \
            WHERE c.article_id = a.id AND o.status <> 'expired' \
            AND o.created_at >= c.clicked_at AND o.created_at <= c.clicked_at + $1) AS orders \
         FROM hub_articles a ORDER BY a.id",
    )
    .bind(window_ms)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("id"), r.get("views"), r.get("clicks"), r.get("orders")))
        .collect())
}

/// Views by signed-in members per value they gave: (dimension, choice key or '' for a stage
/// segment's date) → views.
pub async fn views_by_segment(db: &Db) -> anyhow::Result<Vec<(i64, String, i64)>> {
    let rows = sqlx::query(
        "SELECT f.dimension_id, COALESCE(f.choice_key, '') AS choice_key, COUNT(*) AS n FROM hub_article_views v \
         JOIN hub_member_facts f ON f.user_id = v.user_id GROUP BY f.dimension_id, COALESCE(f.choice_key, '')",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("dimension_id"), r.get("choice_key"), r.get("n")))
        .collect())
}

/// Questions given a first answer, and FAQ entries.
pub async fn questions_answered(db: &Db) -> anyhow::Result<(i64, i64)> {
    let answered: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM hub_conversations WHERE first_answer_at IS NOT NULL")
        .fetch_one(&db.pool)
        .await?;
    let faq: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM hub_faq")
        .fetch_one(&db.pool)
        .await?;
    Ok((answered, faq))
}

/// The drops a member ordered (orders not expired).
pub async fn ordered_drops(db: &Db, user_id: i64) -> anyhow::Result<std::collections::BTreeSet<String>> {
    let rows = sqlx::query(
        "SELECT DISTINCT d.slug FROM orders o JOIN drops d ON d.id = o.drop_id WHERE o.user_id = $1 AND o.status <> 'expired'",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(|r| r.get("slug")).collect())
}

/// Members due for the weekly letter: they gave a date for a stage segment, their address is
/// proven, their account in good standing, and nothing was sent to them (or they were passed
/// over) since `last_before`. At most `limit`, in id order.
pub async fn weekly_due(db: &Db, now: i64, last_before: i64, limit: i64) -> anyhow::Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT u.id FROM users u WHERE u.email_verified_at IS NOT NULL \
         AND (u.suspended_until IS NULL OR u.suspended_until <= $1) AND LOWER(u.email) NOT LIKE '%.invalid' \
         AND EXISTS (SELECT 1 FROM hub_member_facts f JOIN hub_dimensions d ON d.id = f.dimension_id \
                     WHERE f.user_id = u.id AND d.kind = 'stage' AND f.day IS NOT NULL) \
         AND NOT EXISTS (SELECT 1 FROM hub_weekly w WHERE w.user_id = u.id AND w.sent_at > $2) \
         ORDER BY u.id LIMIT $3",
    )
    .bind(now)
    .bind(last_before)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?)
}

/// Claims a member's weekly letter for `now` (unless one was claimed since `last_before`, by
/// this node or another) and, in the same transaction, puts `mail` in the outbox: `false` when
/// the claim was lost. `None`: passed over this week (nothing to say, or mail turned off).
pub async fn claim_weekly(
    db: &Db,
    user_id: i64,
    now: i64,
    last_before: i64,
    mail: Option<(&fanloop_platform::mail::Outgoing, &str)>,
) -> anyhow::Result<bool> {
    let mut tx = db.begin_write().await?;
    let claimed = sqlx::query(
        "INSERT INTO hub_weekly (user_id, sent_at) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET sent_at = excluded.sent_at WHERE hub_weekly.sent_at <= $3",
    )
    .bind(user_id)
    .bind(now)
    .bind(last_before)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if claimed != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    if let Some((mail, host)) = mail {
        fanloop_platform::mail::enqueue(&mut *tx, mail, host).await?;
    }
    tx.commit().await?;
    Ok(true)
}
