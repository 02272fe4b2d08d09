//! Feedback storage in the SQL both backends share.  Every multi-row change is one transaction.

use fanloop_platform::auth::Role;
use fanloop_platform::db::{now_ms, opt_i64, opt_string, Db};
use fanloop_platform::notifications::{self, NewNotification, NotificationKind};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::ToSchema;

use crate::domain::{HonorRule, Status};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Product {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub cadence_days: i64,
    /// 1 = Monday … 7 = Sunday; 5 (Friday) by default.
    pub release_weekday: i64,
}

fn product_from_row(row: &AnyRow) -> Product {
    Product {
        id: row.get("id"),
        slug: row.get("slug"),
        name: row.get("name"),
        description: row.get("description"),
        cadence_days: row.get("cadence_days"),
        release_weekday: row.get("release_weekday"),
    }
}

pub async fn create_product(
    db: &Db,
    slug: &str,
    name: &str,
    description: &str,
    cadence_days: i64,
    release_weekday: i64,
) -> anyhow::Result<Option<Product>> {
    let result = sqlx::query(
        "INSERT INTO products (slug, name, description, cadence_days, release_weekday, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(slug)
    .bind(name)
    .bind(description)
    .bind(cadence_days)
    .bind(release_weekday)
    .bind(now_ms())
    .execute(&db.pool)
    .await;
    match result {
        Ok(_) => product_by_slug(db, slug).await,
        Err(e) if fanloop_platform::db::is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub async fn product_by_slug(db: &Db, slug: &str) -> anyhow::Result<Option<Product>> {
    let row = sqlx::query("SELECT * FROM products WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(product_from_row))
}

pub async fn list_products(db: &Db) -> anyhow::Result<Vec<Product>> {
    let rows = sqlx::query("SELECT * FROM products ORDER BY id")
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(product_from_row).collect())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Area {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// The staff team that owns this area.
    pub team: String,
    /// The name in other languages (`en`, `zh`, `fr`), where staff gave one.
    pub names: Names,
    /// The team's name in other languages.
    pub team_names: Names,
}

/// A name in each language that has one: `{"en": "Camera", "fr": "Appareil photo", "zh": "相机"}`.
pub type Names = std::collections::BTreeMap<String, String>;

/// The name for a reader: theirs if given, else the canonical one.
pub fn name_in(names: &Names, lang: fanloop_platform::i18n::Lang, canonical: &str) -> String {
    names.get(lang.code()).cloned().unwrap_or_else(|| canonical.to_string())
}

fn names_from(json: &str) -> Names {
    serde_json::from_str(json).unwrap_or_default()
}

impl Area {
    /// The area with its and its team's names in the reader's language.
    pub fn localized(mut self, lang: fanloop_platform::i18n::Lang) -> Area {
        self.name = name_in(&self.names, lang, &self.name);
        self.team = name_in(&self.team_names, lang, &self.team);
        self
    }
}

pub async fn create_area(
    db: &Db,
    product_id: i64,
    slug: &str,
    (name, names): (&str, &Names),
    (team, team_names): (&str, &Names),
) -> anyhow::Result<Option<Area>> {
    let result = sqlx::query(
        "INSERT INTO areas (product_id, slug, name, team, names, team_names) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(product_id)
    .bind(slug)
    .bind(name)
    .bind(team)
    .bind(serde_json::to_string(names)?)
    .bind(serde_json::to_string(team_names)?)
    .fetch_one(&db.pool)
    .await;
    match result {
        Ok(row) => Ok(Some(Area {
            id: row.get("id"),
            slug: slug.into(),
            name: name.into(),
            team: team.into(),
            names: names.clone(),
            team_names: team_names.clone(),
        })),
        Err(e) if fanloop_platform::db::is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub async fn list_areas(db: &Db, product_id: i64) -> anyhow::Result<Vec<Area>> {
    let rows =
        sqlx::query("SELECT id, slug, name, team, names, team_names FROM areas WHERE product_id = $1 ORDER BY id")
            .bind(product_id)
            .fetch_all(&db.pool)
            .await?;
    Ok(rows
        .iter()
        .map(|r| Area {
            id: r.get("id"),
            slug: r.get("slug"),
            name: r.get("name"),
            team: r.get("team"),
            names: names_from(&r.get::<String, _>("names")),
            team_names: names_from(&r.get::<String, _>("team_names")),
        })
        .collect())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Build {
    pub id: i64,
    pub version: String,
    /// `beta` or `stable`.
    pub channel: String,
    pub released_at: i64,
    pub notes: String,
}

fn build_from_row(row: &AnyRow) -> Build {
    Build {
        id: row.get("id"),
        version: row.get("version"),
        channel: row.get("channel"),
        released_at: row.get("released_at"),
        notes: row.get("notes"),
    }
}

pub async fn create_build(
    db: &Db,
    product_id: i64,
    version: &str,
    channel: &str,
    released_at: i64,
    notes: &str,
    created_by: i64,
) -> anyhow::Result<Option<Build>> {
    let result = sqlx::query(
        "INSERT INTO builds (product_id, version, channel, released_at, notes, created_by) VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING id, version, channel, released_at, notes",
    )
    .bind(product_id)
    .bind(version)
    .bind(channel)
    .bind(released_at)
    .bind(notes)
    .bind(created_by)
    .fetch_one(&db.pool)
    .await;
    match result {
        Ok(row) => Ok(Some(build_from_row(&row))),
        Err(e) if fanloop_platform::db::is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Builds newest first; beta builds only when `include_beta`.
pub async fn list_builds(db: &Db, product_id: i64, include_beta: bool) -> anyhow::Result<Vec<Build>> {
    let rows = sqlx::query(
        "SELECT id, version, channel, released_at, notes FROM builds WHERE product_id = $1 AND (channel = 'stable' OR $2 = 1) \
         ORDER BY released_at DESC, id DESC",
    )
    .bind(product_id)
    .bind(include_beta as i64)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(build_from_row).collect())
}

pub async fn build_by_version(db: &Db, product_id: i64, version: &str) -> anyhow::Result<Option<Build>> {
    let row = sqlx::query(
        "SELECT id, version, channel, released_at, notes FROM builds WHERE product_id = $1 AND version = $2",
    )
    .bind(product_id)
    .bind(version)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.as_ref().map(build_from_row))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FormField {
    pub key: String,
    pub label: String,
    pub required: bool,
}

pub async fn add_form_field(db: &Db, product_id: i64, key: &str, label: &str, required: bool) -> anyhow::Result<bool> {
    let result = sqlx::query("INSERT INTO form_fields (product_id, key, label, required) VALUES ($1, $2, $3, $4)")
        .bind(product_id)
        .bind(key)
        .bind(label)
        .bind(required as i64)
        .execute(&db.pool)
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) if fanloop_platform::db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub async fn form_fields(db: &Db, product_id: i64) -> anyhow::Result<Vec<FormField>> {
    let rows = sqlx::query("SELECT key, label, required FROM form_fields WHERE product_id = $1 ORDER BY id")
        .bind(product_id)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows
        .iter()
        .map(|r| FormField {
            key: r.get("key"),
            label: r.get("label"),
            required: r.get::<i64, _>("required") != 0,
        })
        .collect())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Request {
    pub id: i64,
    pub product_slug: String,
    pub area: String,
    pub area_name: String,
    pub team: String,
    /// `bug` or `suggestion`.
    pub kind: String,
    pub title: String,
    pub status: Status,
    /// The build a request is in, or shipped in.
    pub build: Option<String>,
    pub decline_reason: Option<String>,
    pub vote_count: i64,
    pub report_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub voted_by_me: bool,
    /// The area's and team's names in each language (see [`Request::localize`]).
    #[serde(skip)]
    pub area_names: Names,
    #[serde(skip)]
    pub team_names: Names,
}

impl Request {
    /// The area and team named in the reader's language.
    pub fn localize(&mut self, lang: fanloop_platform::i18n::Lang) {
        self.area_name = name_in(&self.area_names, lang, &self.area_name);
        self.team = name_in(&self.team_names, lang, &self.team);
    }
}

const REQUEST_COLS: &str =
    "r.id, p.slug AS product_slug, a.slug AS area, a.name AS area_name, a.team, a.names AS area_names, a.team_names, r.kind, r.title, r.status, \
    bu.version AS build, r.decline_reason, r.vote_count, r.report_count, r.created_at, r.updated_at, r.signature";
const REQUEST_FROM: &str = "FROM requests r JOIN products p ON p.id = r.product_id JOIN areas a ON a.id = r.area_id \
    LEFT JOIN builds bu ON bu.id = r.status_build_id";

fn request_from_row(row: &AnyRow) -> Request {
    Request {
        id: row.get("id"),
        product_slug: row.get("product_slug"),
        area: row.get("area"),
        area_name: row.get("area_name"),
        team: row.get("team"),
        kind: row.get("kind"),
        title: row.get("title"),
        status: Status::parse(&row.get::<String, _>("status")).unwrap_or(Status::New),
        build: opt_string(row, "build"),
        decline_reason: opt_string(row, "decline_reason"),
        vote_count: row.get("vote_count"),
        report_count: row.get("report_count"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        voted_by_me: row.try_get::<i64, _>("voted").map(|v| v != 0).unwrap_or(false),
        area_names: names_from(&row.get::<String, _>("area_names")),
        team_names: names_from(&row.get::<String, _>("team_names")),
    }
}

pub async fn get_request(db: &Db, id: i64, viewer_id: Option<i64>) -> anyhow::Result<Option<(Request, Option<i64>)>> {
    let row = sqlx::query(&format!(
        "SELECT {REQUEST_COLS}, r.merged_into, r.product_id, \
         (SELECT COUNT(*) FROM votes v WHERE v.request_id = r.id AND v.user_id = $2) AS voted {REQUEST_FROM} WHERE r.id = $1"
    ))
    .bind(id)
    .bind(viewer_id.unwrap_or(0))
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|row| (request_from_row(&row), opt_i64(&row, "merged_into"))))
}

/// How many live (not merged) requests a product has and the newest id: changes whenever one is
/// filed or merged, so a cached duplicate index knows when it is stale.
pub async fn live_requests_stamp(db: &Db, product_id: i64) -> anyhow::Result<(i64, i64, i64)> {
    let row: (i64, Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MAX(id), CAST(SUM(report_count) AS BIGINT) FROM requests WHERE product_id = $1 AND merged_into IS NULL",
    )
    .bind(product_id)
    .fetch_one(&db.pool)
    .await?;
    Ok((row.0, row.1.unwrap_or(0), row.2.unwrap_or(0)))
}

/// The team a fan voted for in a week's award, if any.
pub async fn award_vote_of(db: &Db, week: &str, user_id: i64) -> anyhow::Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT team FROM award_votes WHERE week = $1 AND user_id = $2")
            .bind(week)
            .bind(user_id)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// Live requests of a product whose title contains `text` (any case, accents ignored, the same on
/// both backends), or whose number it is, for staff looking for the request to merge another
/// into; most voted first. The most voted 5,000 live requests are searched.
pub async fn search_requests(
    db: &Db,
    product_id: i64,
    text: &str,
    except: i64,
    limit: i64,
) -> anyhow::Result<Vec<Request>> {
    let number: i64 = text.trim().trim_start_matches('#').parse().unwrap_or(0);
    let wanted = crate::dedupe::fold(text.trim());
    let rows = sqlx::query(&format!(
        "SELECT {REQUEST_COLS} {REQUEST_FROM} WHERE r.product_id = $1 AND r.merged_into IS NULL AND r.id <> $2 \
         ORDER BY r.vote_count DESC, r.id DESC LIMIT 5000"
    ))
    .bind(product_id)
    .bind(except)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(request_from_row)
        .filter(|r| r.id == number || (!wanted.is_empty() && crate::dedupe::fold(&r.title).contains(&wanted)))
        .take(limit.max(0) as usize)
        .collect())
}

/// A file kept from a refused report form.
#[derive(Debug, Clone, Serialize)]
pub struct PendingUpload {
    pub id: i64,
    pub filename: String,
    #[serde(skip)]
    pub data: Vec<u8>,
}

const PENDING_TTL_MS: i64 = 86_400_000;

/// Keeps files under a form's token for a day. An account keeps files for one form at a time
/// (its other forms' files are dropped) and at most `max` of them, so nobody can park more than
/// one report's worth of attachments; expired files of anybody are dropped on the way.
pub async fn keep_uploads(
    db: &Db,
    token: &str,
    user_id: i64,
    files: &[(String, String, Vec<u8>)],
    max: usize,
) -> anyhow::Result<()> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM pending_uploads WHERE created_at < $1 OR (user_id = $2 AND token <> $3)")
        .bind(now - PENDING_TTL_MS)
        .bind(user_id)
        .bind(token)
        .execute(&mut *tx)
        .await?;
    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pending_uploads WHERE token = $1 AND user_id = $2")
        .bind(token)
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
    // Still being worked on: the files kept so far get a new day.
    sqlx::query("UPDATE pending_uploads SET created_at = $1 WHERE token = $2 AND user_id = $3")
        .bind(now)
        .bind(token)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    for (filename, content_type, data) in files.iter().take(max.saturating_sub(held.max(0) as usize)) {
        sqlx::query(
            "INSERT INTO pending_uploads (token, user_id, filename, content_type, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token)
        .bind(user_id)
        .bind(filename)
        .bind(content_type)
        .bind(data.as_slice())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The files kept under a token for this account (another account's token finds nothing); their
/// bytes only `with_data` (listing them in the form needs only the names).
pub async fn kept_uploads(db: &Db, token: &str, user_id: i64, with_data: bool) -> anyhow::Result<Vec<PendingUpload>> {
    let data = if with_data { ", data" } else { "" };
    let rows = sqlx::query(&format!(
        "SELECT id, filename{data} FROM pending_uploads WHERE token = $1 AND user_id = $2 AND created_at >= $3 ORDER BY id"
    ))
    .bind(token)
    .bind(user_id)
    .bind(now_ms() - PENDING_TTL_MS)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| PendingUpload {
            id: r.get("id"),
            filename: r.get("filename"),
            data: if with_data { r.get("data") } else { Vec::new() },
        })
        .collect())
}

/// Drops a form's kept files except those listed (the ones the fan left ticked; none once the
/// report is filed).
pub async fn drop_kept_uploads_except(db: &Db, token: &str, user_id: i64, except: &[i64]) -> anyhow::Result<()> {
    let ids = db.json_list("$3", true);
    sqlx::query(&format!(
        "DELETE FROM pending_uploads WHERE token = $1 AND user_id = $2 AND id NOT IN ({ids})"
    ))
    .bind(token)
    .bind(user_id)
    .bind(serde_json::to_string(except)?)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The titles of the reports grouped in these requests, oldest report first: (request, title).
pub async fn report_titles(db: &Db, request_ids: &[i64]) -> anyhow::Result<Vec<(i64, String)>> {
    if request_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = db.json_list("$1", true);
    Ok(sqlx::query_as(&format!(
        "SELECT request_id, title FROM reports WHERE request_id IN ({ids}) ORDER BY id LIMIT 5000"
    ))
    .bind(serde_json::to_string(request_ids)?)
    .fetch_all(&db.pool)
    .await?)
}

/// A live request as the duplicate matcher reads it.
pub struct StoredFingerprint {
    pub id: i64,
    pub title: String,
    pub signature: String,
    pub embedding: Option<Vec<u8>>,
    pub report_count: i64,
    pub status: String,
}

/// Live (unmerged) requests of a product with their fingerprints, oldest first.
pub async fn request_fingerprints(db: &Db, product_id: i64) -> anyhow::Result<Vec<StoredFingerprint>> {
    let rows = sqlx::query(
        "SELECT id, title, signature, embedding, report_count, status FROM requests WHERE product_id = $1 AND merged_into IS NULL ORDER BY id",
    )
    .bind(product_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| StoredFingerprint {
            id: r.get("id"),
            title: r.get("title"),
            signature: r.get("signature"),
            embedding: r.get("embedding"),
            report_count: r.get("report_count"),
            status: r.get("status"),
        })
        .collect())
}

/// Stores a request's embedding, the plain mean of its reports' (after a report joined it).
pub async fn set_request_embedding(db: &Db, request_id: i64, embedding: &[u8]) -> anyhow::Result<()> {
    sqlx::query("UPDATE requests SET embedding = $1 WHERE id = $2")
        .bind(embedding.to_vec())
        .bind(request_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub struct RequestFilter<'a> {
    pub product_id: i64,
    pub area: Option<&'a str>,
    pub status: Option<Status>,
    pub build: Option<&'a str>,
    /// `votes` (default), `reports` or `recent`.
    pub sort: &'a str,
    pub limit: i64,
    pub offset: i64,
}

pub async fn list_requests(
    db: &Db,
    f: &RequestFilter<'_>,
    viewer_id: Option<i64>,
) -> anyhow::Result<(Vec<Request>, i64)> {
    let order = match f.sort {
        "reports" => "r.report_count DESC, r.vote_count DESC, r.id DESC",
        "recent" => "r.created_at DESC, r.id DESC",
        _ => "r.vote_count DESC, r.report_count DESC, r.id DESC",
    };
    let filter = "r.product_id = $1 AND r.merged_into IS NULL AND ($2 = '' OR a.slug = $2) AND ($3 = '' OR r.status = $3) \
        AND ($4 = '' OR EXISTS (SELECT 1 FROM reports x JOIN builds xb ON xb.id = x.build_id WHERE x.request_id = r.id AND xb.version = $4))";
    let rows = sqlx::query(&format!(
        "SELECT {REQUEST_COLS}, (SELECT COUNT(*) FROM votes v WHERE v.request_id = r.id AND v.user_id = $5) AS voted \
         {REQUEST_FROM} WHERE {filter} ORDER BY {order} LIMIT $6 OFFSET $7"
    ))
    .bind(f.product_id)
    .bind(f.area.unwrap_or(""))
    .bind(f.status.map(Status::as_str).unwrap_or(""))
    .bind(f.build.unwrap_or(""))
    .bind(viewer_id.unwrap_or(0))
    .bind(f.limit)
    .bind(f.offset)
    .fetch_all(&db.pool)
    .await?;
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {REQUEST_FROM} WHERE {filter}"))
        .bind(f.product_id)
        .bind(f.area.unwrap_or(""))
        .bind(f.status.map(Status::as_str).unwrap_or(""))
        .bind(f.build.unwrap_or(""))
        .fetch_one(&db.pool)
        .await?;
    Ok((rows.iter().map(request_from_row).collect(), total))
}

pub struct NewReport<'a> {
    pub product_id: i64,
    pub area_id: i64,
    pub build_id: i64,
    pub author_id: i64,
    pub kind: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub steps: &'a str,
    pub expected: &'a str,
    pub actual: &'a str,
    pub device: &'a str,
    pub extra_json: &'a str,
    pub signature: &'a str,
    /// The report's embedding (also the new request's, when it starts one).
    pub embedding: Option<Vec<u8>>,
}

pub struct Attachment<'a> {
    pub filename: &'a str,
    pub content_type: &'a str,
    pub data: &'a [u8],
}

/// Files a report, into `into_request` or a new request, and the reporter votes for it; all in
/// one transaction.  Returns (request id, report id, whether the request is new).
pub async fn file_report(
    db: &Db,
    r: &NewReport<'_>,
    into_request: Option<i64>,
    attachments: &[Attachment<'_>],
) -> anyhow::Result<(i64, i64, bool)> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let (request_id, created) = match into_request {
        Some(id) => {
            sqlx::query("UPDATE requests SET report_count = report_count + 1, updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            (id, false)
        }
        None => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO requests (product_id, area_id, kind, title, signature, embedding, report_count, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING id",
            )
            .bind(r.product_id)
            .bind(r.area_id)
            .bind(r.kind)
            .bind(r.title)
            .bind(r.signature)
            .bind(r.embedding.clone())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            (id, true)
        }
    };
    let report_id: i64 = sqlx::query_scalar(
        "INSERT INTO reports (request_id, product_id, area_id, build_id, author_id, kind, title, description, steps, expected, actual, device, extra, signature, embedding, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
    )
    .bind(request_id)
    .bind(r.product_id)
    .bind(r.area_id)
    .bind(r.build_id)
    .bind(r.author_id)
    .bind(r.kind)
    .bind(r.title)
    .bind(r.description)
    .bind(r.steps)
    .bind(r.expected)
    .bind(r.actual)
    .bind(r.device)
    .bind(r.extra_json)
    .bind(r.signature)
    .bind(r.embedding.clone())
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    for a in attachments {
        sqlx::query("INSERT INTO attachments (report_id, filename, content_type, size_bytes, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(report_id)
            .bind(a.filename)
            .bind(a.content_type)
            .bind(a.data.len() as i64)
            .bind(a.data.to_vec())
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    add_vote(&mut tx, request_id, r.author_id, now).await?;
    tx.commit().await?;
    Ok((request_id, report_id, created))
}

async fn add_vote(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    request_id: i64,
    user_id: i64,
    now: i64,
) -> anyhow::Result<bool> {
    let added = sqlx::query("INSERT INTO votes (request_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (request_id, user_id) DO NOTHING")
        .bind(request_id)
        .bind(user_id)
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if added > 0 {
        sqlx::query("UPDATE requests SET vote_count = vote_count + 1 WHERE id = $1")
            .bind(request_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(added > 0)
}

/// One vote per fan per request; idempotent.  Returns the new vote count.
pub async fn set_vote(db: &Db, request_id: i64, user_id: i64, vote: bool) -> anyhow::Result<i64> {
    let mut tx = db.begin_write().await?;
    if vote {
        add_vote(&mut tx, request_id, user_id, now_ms()).await?;
    } else {
        let removed = sqlx::query("DELETE FROM votes WHERE request_id = $1 AND user_id = $2")
            .bind(request_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed > 0 {
            sqlx::query("UPDATE requests SET vote_count = vote_count - 1 WHERE id = $1")
                .bind(request_id)
                .execute(&mut *tx)
                .await?;
        }
    }
    let count: i64 = sqlx::query_scalar("SELECT vote_count FROM requests WHERE id = $1")
        .bind(request_id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(count)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    pub id: i64,
    pub author: String,
    pub build: String,
    pub kind: String,
    pub title: String,
    pub description: String,
    pub steps: String,
    pub expected: String,
    pub actual: String,
    pub device: String,
    /// Extra form fields, as a JSON object.
    pub extra: serde_json::Value,
    pub attachments: Vec<AttachmentInfo>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentInfo {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
}

pub async fn reports_of(db: &Db, request_id: i64) -> anyhow::Result<Vec<Report>> {
    let rows = sqlx::query(
        "SELECT x.id, u.username, b.version, x.kind, x.title, x.description, x.steps, x.expected, x.actual, x.device, x.extra, x.created_at \
         FROM reports x JOIN users u ON u.id = x.author_id JOIN builds b ON b.id = x.build_id WHERE x.request_id = $1 ORDER BY x.id",
    )
    .bind(request_id)
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.get("id");
        let atts = sqlx::query(
            "SELECT id, filename, content_type, size_bytes FROM attachments WHERE report_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&db.pool)
        .await?;
        out.push(Report {
            id,
            author: row.get("username"),
            build: row.get("version"),
            kind: row.get("kind"),
            title: row.get("title"),
            description: row.get("description"),
            steps: row.get("steps"),
            expected: row.get("expected"),
            actual: row.get("actual"),
            device: row.get("device"),
            extra: serde_json::from_str(&row.get::<String, _>("extra")).unwrap_or_default(),
            attachments: atts
                .iter()
                .map(|a| AttachmentInfo {
                    id: a.get("id"),
                    filename: a.get("filename"),
                    content_type: a.get("content_type"),
                    size_bytes: a.get("size_bytes"),
                })
                .collect(),
            created_at: row.get("created_at"),
        });
    }
    Ok(out)
}

pub async fn attachment(db: &Db, id: i64) -> anyhow::Result<Option<(String, String, Vec<u8>)>> {
    let row = sqlx::query("SELECT filename, content_type, data FROM attachments WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| (r.get("filename"), r.get("content_type"), r.get("data"))))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusChange {
    pub from_status: Status,
    pub to_status: Status,
    pub build: Option<String>,
    pub reason: Option<String>,
    pub changed_by: String,
    pub created_at: i64,
}

pub async fn status_history(db: &Db, request_id: i64) -> anyhow::Result<Vec<StatusChange>> {
    let rows = sqlx::query(
        "SELECT c.from_status, c.to_status, b.version, c.reason, u.username, c.created_at FROM status_changes c \
         JOIN users u ON u.id = c.changed_by LEFT JOIN builds b ON b.id = c.build_id WHERE c.request_id = $1 ORDER BY c.id",
    )
    .bind(request_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| StatusChange {
            from_status: Status::parse(&r.get::<String, _>("from_status")).unwrap_or(Status::New),
            to_status: Status::parse(&r.get::<String, _>("to_status")).unwrap_or(Status::New),
            build: opt_string(r, "version"),
            reason: opt_string(r, "reason"),
            changed_by: r.get("username"),
            created_at: r.get("created_at"),
        })
        .collect())
}

/// Moves a request to a new status, records who and when, and notifies every reporter and voter
/// (except the person making the change), atomically.
#[derive(Clone, Copy)]
pub struct StatusUpdate<'a> {
    pub request_id: i64,
    /// The status the caller saw; the update only applies if it is still current.
    pub from: Status,
    pub to: Status,
    pub build_id: Option<i64>,
    pub reason: Option<&'a str>,
    pub actor_id: i64,
    /// Request title, for the notifications.
    pub title: &'a str,
}

pub async fn change_status(db: &Db, u: &StatusUpdate<'_>) -> anyhow::Result<bool> {
    let StatusUpdate {
        request_id,
        from,
        to,
        build_id,
        reason,
        actor_id,
        title,
    } = *u;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE requests SET status = $1, status_build_id = $2, decline_reason = $3, updated_at = $4, \
         acknowledged_at = COALESCE(acknowledged_at, CASE WHEN $1 <> 'new' THEN $4 ELSE NULL END) WHERE id = $5 AND status = $6",
    )
    .bind(to.as_str())
    .bind(build_id)
    .bind(reason)
    .bind(now)
    .bind(request_id)
    .bind(from.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(false); // someone else changed it first
    }
    sqlx::query("INSERT INTO status_changes (request_id, from_status, to_status, build_id, reason, changed_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(request_id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(build_id)
        .bind(reason)
        .bind(actor_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    fanloop_platform::audit::record(
        &mut *tx,
        &fanloop_platform::audit::Entry::new(
            Some(actor_id),
            "feedback.status",
            "request",
            &request_id.to_string(),
            title,
            serde_json::json!({ "from": from.as_str(), "to": to.as_str(), "build_id": build_id, "reason": reason }),
        ),
    )
    .await?;
    let people: Vec<i64> = sqlx::query_scalar(
        "SELECT user_id FROM votes WHERE request_id = $1 UNION SELECT author_id FROM reports WHERE request_id = $1 \
         UNION SELECT user_id FROM request_watches WHERE request_id = $1",
    )
    .bind(request_id)
    .fetch_all(&mut *tx)
    .await?;
    let link = format!("/requests/{request_id}");
    for user_id in people.into_iter().filter(|u| *u != actor_id) {
        notifications::notify(
            &mut *tx,
            &NewNotification {
                user_id,
                kind: NotificationKind::StatusChanged,
                actor_id: Some(actor_id),
                subject: title,
                link: &link,
                detail: Some(to.as_str()),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Moves the reports and votes of `from` into `into` and marks `from` merged; `actor` is the
/// staff member who did it (`None`: the automatic regrouping), written to the audit log.
pub async fn merge(db: &Db, from: i64, into: i64, actor: Option<i64>) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE reports SET request_id = $1 WHERE request_id = $2")
        .bind(into)
        .bind(from)
        .execute(&mut *tx)
        .await?;
    // Those watching the merged request now watch the one that holds its reports.
    sqlx::query(
        "INSERT INTO request_watches (user_id, request_id, created_at) \
         SELECT user_id, $1, created_at FROM request_watches WHERE request_id = $2 \
         ON CONFLICT (user_id, request_id) DO NOTHING",
    )
    .bind(into)
    .bind(from)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM request_watches WHERE request_id = $1")
        .bind(from)
        .execute(&mut *tx)
        .await?;
    let title: String = sqlx::query_scalar("SELECT title FROM requests WHERE id = $1")
        .bind(from)
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or_default();
    fanloop_platform::audit::record(
        &mut *tx,
        &fanloop_platform::audit::Entry::new(
            actor,
            "feedback.merge",
            "request",
            &from.to_string(),
            &title,
            serde_json::json!({ "into": into }),
        ),
    )
    .await?;
    sqlx::query(
        "INSERT INTO votes (request_id, user_id, created_at) SELECT $1, user_id, created_at FROM votes WHERE request_id = $2 \
         ON CONFLICT (request_id, user_id) DO NOTHING",
    )
    .bind(into)
    .bind(from)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM votes WHERE request_id = $1")
        .bind(from)
        .execute(&mut *tx)
        .await?;
    recount(&mut tx, into).await?;
    recount(&mut tx, from).await?;
    sqlx::query("UPDATE requests SET merged_into = $1, updated_at = $2 WHERE id = $3")
        .bind(into)
        .bind(now_ms())
        .bind(from)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Takes one report out of its request into a request of its own (undoing a wrong grouping).
pub async fn split(db: &Db, report_id: i64, actor: i64) -> anyhow::Result<Option<i64>> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "SELECT request_id, product_id, area_id, kind, title, signature, embedding, author_id FROM reports WHERE id = $1",
    )
    .bind(report_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let old: i64 = row.get("request_id");
    let remaining: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reports WHERE request_id = $1")
        .bind(old)
        .fetch_one(&mut *tx)
        .await?;
    if remaining < 2 {
        return Ok(Some(old)); // already alone
    }
    let now = now_ms();
    let new_id: i64 = sqlx::query_scalar(
        "INSERT INTO requests (product_id, area_id, kind, title, signature, embedding, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(row.get::<i64, _>("product_id"))
    .bind(row.get::<i64, _>("area_id"))
    .bind(row.get::<String, _>("kind"))
    .bind(row.get::<String, _>("title"))
    .bind(row.get::<String, _>("signature"))
    .bind(row.get::<Option<Vec<u8>>, _>("embedding"))
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("UPDATE reports SET request_id = $1 WHERE id = $2")
        .bind(new_id)
        .bind(report_id)
        .execute(&mut *tx)
        .await?;
    add_vote(&mut tx, new_id, row.get("author_id"), now).await?;
    recount(&mut tx, old).await?;
    recount(&mut tx, new_id).await?;
    fanloop_platform::audit::record(
        &mut *tx,
        &fanloop_platform::audit::Entry::new(
            Some(actor),
            "feedback.split",
            "report",
            &report_id.to_string(),
            &row.get::<String, _>("title"),
            serde_json::json!({ "from": old, "into": new_id }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(new_id))
}

async fn recount(tx: &mut sqlx::Transaction<'_, sqlx::Any>, request_id: i64) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE requests SET report_count = (SELECT COUNT(*) FROM reports WHERE request_id = $1), \
         vote_count = (SELECT COUNT(*) FROM votes WHERE request_id = $1) WHERE id = $1",
    )
    .bind(request_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Comment {
    pub author: String,
    pub author_role: Role,
    pub is_staff: bool,
    pub team: Option<String>,
    pub body: String,
    pub created_at: i64,
}

/// Adds a comment and tells those watching the request (not its author), in one transaction.
pub async fn add_comment(db: &Db, request_id: i64, title: &str, author_id: i64, body: &str) -> anyhow::Result<()> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    sqlx::query("INSERT INTO request_comments (request_id, author_id, body, created_at) VALUES ($1, $2, $3, $4)")
        .bind(request_id)
        .bind(author_id)
        .bind(body)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    // As `notifications::notify` writes them (a kind turned off is skipped).
    sqlx::query(&format!(
        "INSERT INTO notifications (user_id, kind, actor_id, subject, link, detail, created_at) \
         SELECT w.user_id, 'watching', $2, $3, $4, NULL, $5 FROM request_watches w \
         WHERE w.request_id = $1 AND w.user_id <> $2 AND {}",
        notifications::not_turned_off("w.user_id", NotificationKind::Watching)
    ))
    .bind(request_id)
    .bind(author_id)
    .bind(title)
    .bind(format!("/requests/{request_id}#comments"))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether `user_id` watches the request.
pub async fn watches_request(db: &Db, user_id: i64, request_id: i64) -> anyhow::Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT request_id FROM request_watches WHERE user_id = $1 AND request_id = $2")
            .bind(user_id)
            .bind(request_id)
            .fetch_optional(&db.pool)
            .await?;
    Ok(found.is_some())
}

/// Starts or stops watching a request (idempotent).
pub async fn set_request_watch(db: &Db, user_id: i64, request_id: i64, on: bool) -> anyhow::Result<()> {
    let query = if on {
        sqlx::query(
            "INSERT INTO request_watches (user_id, request_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, request_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(request_id)
        .bind(now_ms())
    } else {
        sqlx::query("DELETE FROM request_watches WHERE user_id = $1 AND request_id = $2")
            .bind(user_id)
            .bind(request_id)
    };
    query.execute(&db.pool).await?;
    Ok(())
}

pub async fn comments(db: &Db, request_id: i64) -> anyhow::Result<Vec<Comment>> {
    let rows = sqlx::query(
        "SELECT u.username, u.role, u.team, c.body, c.created_at FROM request_comments c JOIN users u ON u.id = c.author_id \
         WHERE c.request_id = $1 ORDER BY c.id",
    )
    .bind(request_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let role = Role::parse(&r.get::<String, _>("role")).unwrap_or(Role::Fan);
            Comment {
                author: r.get("username"),
                author_role: role,
                is_staff: role.is_staff(),
                team: opt_string(r, "team"),
                body: r.get("body"),
                created_at: r.get("created_at"),
            }
        })
        .collect())
}

/// Fans credited in a changelog entry: reporters first, then voters.
pub async fn credited_fans(db: &Db, request_id: i64) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let reporters: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT u.username FROM reports x JOIN users u ON u.id = x.author_id WHERE x.request_id = $1 ORDER BY u.username",
    )
    .bind(request_id)
    .fetch_all(&db.pool)
    .await?;
    let voters: Vec<String> = sqlx::query_scalar(
        "SELECT u.username FROM votes v JOIN users u ON u.id = v.user_id WHERE v.request_id = $1 ORDER BY u.username",
    )
    .bind(request_id)
    .fetch_all(&db.pool)
    .await?;
    let voters = voters.into_iter().filter(|v| !reporters.contains(v)).collect();
    Ok((reporters, voters))
}

/// Requests shipped in a build.
pub async fn shipped_in(db: &Db, build_id: i64) -> anyhow::Result<Vec<Request>> {
    let rows = sqlx::query(&format!("SELECT {REQUEST_COLS} {REQUEST_FROM} WHERE r.status_build_id = $1 AND r.status = 'shipped' ORDER BY r.vote_count DESC, r.id"))
        .bind(build_id)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(request_from_row).collect())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShippedCredit {
    pub product_slug: String,
    pub build: String,
    pub request_id: i64,
    pub title: String,
}

/// Builds a fan's reports or votes shipped in, newest first.
pub async fn credits_of(db: &Db, user_id: i64) -> anyhow::Result<Vec<ShippedCredit>> {
    let rows = sqlx::query(
        "SELECT DISTINCT p.slug, b.version, b.released_at, r.id, r.title FROM requests r JOIN builds b ON b.id = r.status_build_id \
         JOIN products p ON p.id = r.product_id WHERE r.status = 'shipped' AND (\
           EXISTS (SELECT 1 FROM reports x WHERE x.request_id = r.id AND x.author_id = $1) OR \
           EXISTS (SELECT 1 FROM votes v WHERE v.request_id = r.id AND v.user_id = $1)) \
         ORDER BY b.released_at DESC, r.id",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| ShippedCredit {
            product_slug: r.get("slug"),
            build: r.get("version"),
            request_id: r.get("id"),
            title: r.get("title"),
        })
        .collect())
}

/// (accepted reports, shipped requests) of a reporter, for honor progression.
pub async fn reporter_stats(db: &Db, user_id: i64) -> anyhow::Result<(i64, i64)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS accepted, CAST(COALESCE(SUM(CASE WHEN r.status = 'shipped' THEN 1 ELSE 0 END), 0) AS BIGINT) AS shipped \
         FROM reports x JOIN requests r ON r.id = x.request_id \
         WHERE x.author_id = $1 AND r.status IN ('acknowledged', 'planned', 'in_build', 'shipped')",
    )
    .bind(user_id)
    .fetch_one(&db.pool)
    .await?;
    Ok((row.get("accepted"), row.get("shipped")))
}

pub async fn honor_rules(db: &Db) -> anyhow::Result<Vec<HonorRule>> {
    let rows =
        sqlx::query("SELECT target_role, min_accepted_reports, min_shipped_requests FROM honor_rules ORDER BY id")
            .fetch_all(&db.pool)
            .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(HonorRule {
                target_role: Role::parse(&r.get::<String, _>("target_role"))?,
                min_accepted_reports: r.get("min_accepted_reports"),
                min_shipped_requests: r.get("min_shipped_requests"),
            })
        })
        .collect())
}

pub async fn set_honor_rule(db: &Db, rule: &HonorRule) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO honor_rules (target_role, min_accepted_reports, min_shipped_requests) VALUES ($1, $2, $3) \
         ON CONFLICT (target_role) DO UPDATE SET min_accepted_reports = $2, min_shipped_requests = $3",
    )
    .bind(rule.target_role.as_str())
    .bind(rule.min_accepted_reports)
    .bind(rule.min_shipped_requests)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Authors of a request's reports.
pub async fn reporters(db: &Db, request_id: i64) -> anyhow::Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT author_id FROM reports WHERE request_id = $1")
            .bind(request_id)
            .fetch_all(&db.pool)
            .await?,
    )
}

/// Records an award vote; `false` if the fan already voted this week.
pub async fn award_vote(db: &Db, week: &str, user_id: i64, team: &str) -> anyhow::Result<bool> {
    let added = sqlx::query("INSERT INTO award_votes (week, user_id, team, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (week, user_id) DO NOTHING")
        .bind(week)
        .bind(user_id)
        .bind(team)
        .bind(now_ms())
        .execute(&db.pool)
        .await?
        .rows_affected();
    Ok(added > 0)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AwardTally {
    pub week: String,
    pub team: String,
    pub votes: i64,
}

/// Vote counts per team for a week, most votes first.
pub async fn award_results(db: &Db, week: &str) -> anyhow::Result<Vec<AwardTally>> {
    let rows = sqlx::query(
        "SELECT team, COUNT(*) AS votes FROM award_votes WHERE week = $1 GROUP BY team ORDER BY votes DESC, team",
    )
    .bind(week)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| AwardTally {
            week: week.into(),
            team: r.get("team"),
            votes: r.get("votes"),
        })
        .collect())
}

/// The winner of every past week (ties go to the alphabetically first team).
pub async fn past_winners(db: &Db, before_week: &str) -> anyhow::Result<Vec<AwardTally>> {
    let rows = sqlx::query("SELECT week, team, COUNT(*) AS votes FROM award_votes WHERE week < $1 GROUP BY week, team ORDER BY week DESC, votes DESC, team")
        .bind(before_week)
        .fetch_all(&db.pool)
        .await?;
    let mut winners: Vec<AwardTally> = Vec::new();
    for r in &rows {
        let week: String = r.get("week");
        if winners.last().is_none_or(|w| w.week != week) {
            winners.push(AwardTally {
                week,
                team: r.get("team"),
                votes: r.get("votes"),
            });
        }
    }
    Ok(winners)
}

/// Each team's names in other languages (from the areas it owns).
pub async fn team_names(db: &Db) -> anyhow::Result<Vec<(String, Names)>> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT team, team_names FROM areas ORDER BY id")
        .fetch_all(&db.pool)
        .await?;
    let mut out: Vec<(String, Names)> = Vec::new();
    for (team, json) in rows {
        let names = names_from(&json);
        match out.iter_mut().find(|(t, _)| *t == team) {
            Some((_, known)) => {
                for (k, v) in names {
                    known.entry(k).or_insert(v);
                }
            }
            None => out.push((team, names)),
        }
    }
    Ok(out)
}

/// Teams that own an area in any product (the award ballot).
pub async fn teams(db: &Db) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT DISTINCT team FROM areas ORDER BY team")
        .fetch_all(&db.pool)
        .await?)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayCount {
    /// YYYY-MM-DD (UTC).
    pub day: String,
    pub reports: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BuildDashboard {
    pub build: String,
    /// Reports filed each UTC day against this build.
    pub reports_per_day: Vec<DayCount>,
    pub total_reports: i64,
    pub requests: i64,
    /// Requests with reports on this build that staff acknowledged within 48 hours of creation.
    pub acknowledged_within_48h: i64,
    pub share_acknowledged_within_48h: f64,
    /// The most voted requests with reports against this build.
    pub top_requests: Vec<Request>,
}

pub async fn build_dashboard(db: &Db, build: &Build) -> anyhow::Result<BuildDashboard> {
    let rows = sqlx::query("SELECT created_at FROM reports WHERE build_id = $1 ORDER BY created_at")
        .bind(build.id)
        .fetch_all(&db.pool)
        .await?;
    let mut per_day: Vec<DayCount> = Vec::new();
    for r in &rows {
        let day: String = fanloop_platform::web::format_datetime(r.get("created_at"))
            .chars()
            .take(10)
            .collect();
        match per_day.last_mut() {
            Some(d) if d.day == day => d.reports += 1,
            _ => per_day.push(DayCount { day, reports: 1 }),
        }
    }
    let row = sqlx::query(
        "SELECT COUNT(*) AS requests, CAST(COALESCE(SUM(CASE WHEN r.acknowledged_at IS NOT NULL AND r.acknowledged_at - r.created_at <= 172800000 THEN 1 ELSE 0 END), 0) AS BIGINT) AS fast \
         FROM requests r WHERE r.merged_into IS NULL AND EXISTS (SELECT 1 FROM reports x WHERE x.request_id = r.id AND x.build_id = $1)",
    )
    .bind(build.id)
    .fetch_one(&db.pool)
    .await?;
    let requests: i64 = row.get("requests");
    let fast: i64 = row.get("fast");
    let top = sqlx::query(&format!(
        "SELECT {REQUEST_COLS} {REQUEST_FROM} WHERE r.merged_into IS NULL \
         AND EXISTS (SELECT 1 FROM reports x WHERE x.request_id = r.id AND x.build_id = $1) ORDER BY r.vote_count DESC, r.report_count DESC, r.id LIMIT 10"
    ))
    .bind(build.id)
    .fetch_all(&db.pool)
    .await?;
    Ok(BuildDashboard {
        build: build.version.clone(),
        total_reports: rows.len() as i64,
        reports_per_day: per_day,
        requests,
        acknowledged_within_48h: fast,
        share_acknowledged_within_48h: if requests == 0 {
            0.0
        } else {
            fast as f64 / requests as f64
        },
        top_requests: top.iter().map(request_from_row).collect(),
    })
}
