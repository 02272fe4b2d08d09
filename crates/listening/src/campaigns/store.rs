//! SQL for campaigns, entries, images, votes, page views and recorded figures.

use std::collections::HashSet;

use fanloop_platform::db::{now_ms, opt_i64, opt_string};
use fanloop_platform::notifications::{self, NewNotification, NotificationKind};
use fanloop_platform::Db;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::ToSchema;

use super::domain::{Metric, Targets, WinnerPick};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Campaign {
    #[serde(skip)]
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub description: String,
    /// As shown: `#小米影像大赛#` or `#ShotOnFan`.
    pub hashtag: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub currency: String,
    pub max_entries_per_account: i64,
    pub max_votes_per_account: i64,
    pub winners_announced_at: Option<i64>,
    pub created_at: i64,
    /// Targets and linked drops are staff information: absent for everyone else.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets: Option<Targets>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drops: Option<Vec<String>>,
    #[serde(skip)]
    pub hashtag_key: String,
    #[serde(skip)]
    pub all_targets: Targets,
    #[serde(skip)]
    pub drop_ids: Vec<i64>,
}

/// Settings as written by staff, checked by the service.
pub struct CampaignRow<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub hashtag: &'a str,
    pub hashtag_key: &'a str,
    pub starts_at: i64,
    pub ends_at: i64,
    pub currency: &'a str,
    pub targets: Targets,
    pub max_entries_per_account: i64,
    pub max_votes_per_account: i64,
    pub drop_ids: &'a [i64],
}

const CAMPAIGN_COLUMNS: &str = "id, slug, title, description, hashtag, hashtag_key, starts_at, ends_at, currency, \
    target_exposure, target_page_views, target_entries, target_orders, target_revenue_cents, \
    max_entries_per_account, max_votes_per_account, winners_announced_at, created_at";

fn campaign_from_row(row: &AnyRow) -> Campaign {
    Campaign {
        id: row.get("id"),
        slug: row.get("slug"),
        title: row.get("title"),
        description: row.get("description"),
        hashtag: row.get("hashtag"),
        hashtag_key: row.get("hashtag_key"),
        starts_at: row.get("starts_at"),
        ends_at: row.get("ends_at"),
        currency: row.get("currency"),
        all_targets: Targets {
            exposure: row.get("target_exposure"),
            page_views: row.get("target_page_views"),
            entries: row.get("target_entries"),
            orders: row.get("target_orders"),
            revenue_cents: row.get("target_revenue_cents"),
        },
        max_entries_per_account: row.get("max_entries_per_account"),
        max_votes_per_account: row.get("max_votes_per_account"),
        winners_announced_at: opt_i64(row, "winners_announced_at"),
        created_at: row.get("created_at"),
        targets: None,
        drops: None,
        drop_ids: Vec::new(),
    }
}

async fn load_drops(db: &Db, c: &mut Campaign) -> anyhow::Result<()> {
    let rows = sqlx::query(
        "SELECT d.id, d.slug FROM campaign_drops cd JOIN drops d ON d.id = cd.drop_id WHERE cd.campaign_id = $1 ORDER BY d.id",
    )
    .bind(c.id)
    .fetch_all(&db.pool)
    .await?;
    c.drop_ids = rows.iter().map(|r| r.get("id")).collect();
    c.drops = Some(rows.iter().map(|r| r.get("slug")).collect());
    Ok(())
}

async fn write_drops(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    campaign_id: i64,
    drop_ids: &[i64],
) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM campaign_drops WHERE campaign_id = $1")
        .bind(campaign_id)
        .execute(&mut **tx)
        .await?;
    for d in drop_ids {
        sqlx::query("INSERT INTO campaign_drops (campaign_id, drop_id) VALUES ($1, $2)")
            .bind(campaign_id)
            .bind(d)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// `None` when the slug is taken.
pub async fn create_campaign(db: &Db, c: &CampaignRow<'_>, created_by: i64) -> anyhow::Result<Option<i64>> {
    let mut tx = db.begin_write().await?;
    let inserted = sqlx::query(
        "INSERT INTO campaigns (slug, title, description, hashtag, hashtag_key, starts_at, ends_at, currency, \
         target_exposure, target_page_views, target_entries, target_orders, target_revenue_cents, \
         max_entries_per_account, max_votes_per_account, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
    )
    .bind(c.slug)
    .bind(c.title)
    .bind(c.description)
    .bind(c.hashtag)
    .bind(c.hashtag_key)
    .bind(c.starts_at)
    .bind(c.ends_at)
    .bind(c.currency)
    .bind(c.targets.exposure)
    .bind(c.targets.page_views)
    .bind(c.targets.entries)
    .bind(c.targets.orders)
    .bind(c.targets.revenue_cents)
    .bind(c.max_entries_per_account)
    .bind(c.max_votes_per_account)
    .bind(created_by)
    .bind(now_ms())
    .fetch_one(&mut *tx)
    .await;
    let id: i64 = match inserted {
        Ok(row) => row.get("id"),
        Err(e) if fanloop_platform::db::is_unique_violation(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    write_drops(&mut tx, id, c.drop_ids).await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Everything but the slug; the hashtag may change (entries keep the text they were filed with).
pub async fn update_campaign(db: &Db, id: i64, c: &CampaignRow<'_>) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE campaigns SET title = $1, description = $2, hashtag = $3, hashtag_key = $4, starts_at = $5, ends_at = $6, \
         currency = $7, target_exposure = $8, target_page_views = $9, target_entries = $10, target_orders = $11, \
         target_revenue_cents = $12, max_entries_per_account = $13, max_votes_per_account = $14 WHERE id = $15",
    )
    .bind(c.title)
    .bind(c.description)
    .bind(c.hashtag)
    .bind(c.hashtag_key)
    .bind(c.starts_at)
    .bind(c.ends_at)
    .bind(c.currency)
    .bind(c.targets.exposure)
    .bind(c.targets.page_views)
    .bind(c.targets.entries)
    .bind(c.targets.orders)
    .bind(c.targets.revenue_cents)
    .bind(c.max_entries_per_account)
    .bind(c.max_votes_per_account)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    write_drops(&mut tx, id, c.drop_ids).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn campaign_by_slug(db: &Db, slug: &str) -> anyhow::Result<Option<Campaign>> {
    let row = sqlx::query(&format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE slug = $1"))
        .bind(slug)
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut c = campaign_from_row(&row);
    load_drops(db, &mut c).await?;
    Ok(Some(c))
}

/// Every campaign, newest start first, with its count of shown entries.
pub async fn list_campaigns(db: &Db) -> anyhow::Result<Vec<(Campaign, i64)>> {
    let rows = sqlx::query(&format!(
        "SELECT {CAMPAIGN_COLUMNS}, (SELECT COUNT(*) FROM campaign_entries e WHERE e.campaign_id = campaigns.id AND e.hidden = 0) AS entry_count \
         FROM campaigns ORDER BY starts_at DESC, id DESC LIMIT 500"
    ))
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (campaign_from_row(r), r.get::<i64, _>("entry_count")))
        .collect())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Entry {
    pub id: i64,
    pub author: String,
    pub author_role: String,
    pub text: String,
    /// Image URLs, in the order they were sent.
    pub images: Vec<String>,
    pub votes: i64,
    /// Whether the caller voted for it.
    pub voted: bool,
    pub hidden: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_reason: Option<String>,
    pub winner_rank: Option<i64>,
    pub prize: Option<String>,
    pub created_at: i64,
    #[serde(skip)]
    pub author_id: i64,
    #[serde(skip)]
    pub campaign_id: i64,
}

pub fn image_url(id: i64) -> String {
    format!("/api/v1/campaign-images/{id}")
}

const ENTRY_SELECT: &str =
    "SELECT e.id, e.campaign_id, e.user_id, u.username, u.role, e.body, e.votes, e.hidden, e.hidden_reason, \
    e.winner_rank, e.prize, e.created_at FROM campaign_entries e JOIN users u ON u.id = e.user_id";

fn entry_from_row(row: &AnyRow) -> Entry {
    Entry {
        id: row.get("id"),
        campaign_id: row.get("campaign_id"),
        author_id: row.get("user_id"),
        author: row.get("username"),
        author_role: row.get("role"),
        text: row.get("body"),
        images: Vec::new(),
        votes: row.get("votes"),
        voted: false,
        hidden: row.get::<i64, _>("hidden") != 0,
        hidden_reason: opt_string(row, "hidden_reason"),
        winner_rank: opt_i64(row, "winner_rank"),
        prize: opt_string(row, "prize"),
        created_at: row.get("created_at"),
    }
}

async fn fill_entries(db: &Db, entries: &mut [Entry], viewer: Option<i64>) -> anyhow::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = entries.iter().map(|e| e.id.to_string()).collect();
    let list = ids.join(",");
    // Ids are integers we read ourselves, so inlining them is safe and keeps one query per page.
    let images = sqlx::query(&format!(
        "SELECT id, entry_id FROM campaign_images WHERE entry_id IN ({list}) ORDER BY entry_id, position"
    ))
    .fetch_all(&db.pool)
    .await?;
    for r in &images {
        let entry: i64 = r.get("entry_id");
        if let Some(e) = entries.iter_mut().find(|e| e.id == entry) {
            e.images.push(image_url(r.get("id")));
        }
    }
    if let Some(user) = viewer {
        let voted: HashSet<i64> = sqlx::query(&format!(
            "SELECT entry_id FROM campaign_votes WHERE user_id = $1 AND entry_id IN ({list})"
        ))
        .bind(user)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| r.get("entry_id"))
        .collect();
        for e in entries.iter_mut() {
            e.voted = voted.contains(&e.id);
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryOrder {
    Top,
    New,
}

/// A page of a campaign's entries and the total count.  Hidden entries only when asked (staff).
pub async fn entries(
    db: &Db,
    campaign_id: i64,
    order: EntryOrder,
    with_hidden: bool,
    viewer: Option<i64>,
    offset: i64,
    limit: i64,
) -> anyhow::Result<(Vec<Entry>, i64)> {
    let hidden = if with_hidden { "" } else { " AND e.hidden = 0" };
    let order_by = match order {
        EntryOrder::Top => "e.votes DESC, e.id ASC",
        EntryOrder::New => "e.id DESC",
    };
    let rows = sqlx::query(&format!(
        "{ENTRY_SELECT} WHERE e.campaign_id = $1{hidden} ORDER BY {order_by} LIMIT $2 OFFSET $3"
    ))
    .bind(campaign_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    let total = entry_count(db, campaign_id, with_hidden).await?;
    let mut list: Vec<Entry> = rows.iter().map(entry_from_row).collect();
    fill_entries(db, &mut list, viewer).await?;
    Ok((list, total))
}

/// A campaign's shown entries, or all of them with `with_hidden`.
pub async fn entry_count(db: &Db, campaign_id: i64, with_hidden: bool) -> anyhow::Result<i64> {
    let hidden = if with_hidden { "" } else { " AND hidden = 0" };
    Ok(sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM campaign_entries WHERE campaign_id = $1{hidden}"
    ))
    .bind(campaign_id)
    .fetch_one(&db.pool)
    .await?)
}

pub async fn winners(db: &Db, campaign_id: i64, viewer: Option<i64>) -> anyhow::Result<Vec<Entry>> {
    let rows = sqlx::query(&format!(
        "{ENTRY_SELECT} WHERE e.campaign_id = $1 AND e.winner_rank IS NOT NULL ORDER BY e.winner_rank"
    ))
    .bind(campaign_id)
    .fetch_all(&db.pool)
    .await?;
    let mut list: Vec<Entry> = rows.iter().map(entry_from_row).collect();
    fill_entries(db, &mut list, viewer).await?;
    Ok(list)
}

pub async fn entry(db: &Db, id: i64, viewer: Option<i64>) -> anyhow::Result<Option<Entry>> {
    let row = sqlx::query(&format!("{ENTRY_SELECT} WHERE e.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut list = vec![entry_from_row(&row)];
    fill_entries(db, &mut list, viewer).await?;
    Ok(list.pop())
}

/// Ids of the campaign's shown entries.
pub async fn shown_entry_ids(db: &Db, campaign_id: i64) -> anyhow::Result<Vec<i64>> {
    Ok(
        sqlx::query("SELECT id FROM campaign_entries WHERE campaign_id = $1 AND hidden = 0")
            .bind(campaign_id)
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| r.get("id"))
            .collect(),
    )
}

/// Makes sure the (campaign, account) counter row exists, inside the caller's transaction.
async fn participant_row(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    campaign_id: i64,
    user_id: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO campaign_participants (campaign_id, user_id, entries, votes) VALUES ($1, $2, 0, 0) ON CONFLICT DO NOTHING",
    )
    .bind(campaign_id)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Files an entry and its images in one transaction; `None` when the account has used its
/// entries (counted by a conditional update, so concurrent submissions cannot pass the limit).
pub async fn add_entry(
    db: &Db,
    campaign_id: i64,
    user_id: i64,
    body: &str,
    images: &[(&str, &[u8])],
    max_entries: i64,
) -> anyhow::Result<Option<i64>> {
    let mut tx = db.begin_write().await?;
    participant_row(&mut tx, campaign_id, user_id).await?;
    let counted = sqlx::query(
        "UPDATE campaign_participants SET entries = entries + 1 WHERE campaign_id = $1 AND user_id = $2 AND entries < $3",
    )
    .bind(campaign_id)
    .bind(user_id)
    .bind(max_entries)
    .execute(&mut *tx)
    .await?;
    if counted.rows_affected() == 0 {
        return Ok(None);
    }
    let id: i64 = sqlx::query(
        "INSERT INTO campaign_entries (campaign_id, user_id, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(campaign_id)
    .bind(user_id)
    .bind(body)
    .bind(now_ms())
    .fetch_one(&mut *tx)
    .await?
    .get("id");
    for (position, (content_type, data)) in images.iter().enumerate() {
        sqlx::query("INSERT INTO campaign_images (entry_id, position, content_type, data) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(position as i64)
            .bind(*content_type)
            .bind(*data)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Some(id))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteOutcome {
    Counted,
    AlreadyVoted,
    LimitReached,
}

/// One vote per account and entry, at most `max_votes` entries per account and campaign.
pub async fn vote(
    db: &Db,
    campaign_id: i64,
    entry_id: i64,
    user_id: i64,
    max_votes: i64,
) -> anyhow::Result<VoteOutcome> {
    let mut tx = db.begin_write().await?;
    let inserted = sqlx::query(
        "INSERT INTO campaign_votes (entry_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(entry_id)
    .bind(user_id)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(VoteOutcome::AlreadyVoted);
    }
    participant_row(&mut tx, campaign_id, user_id).await?;
    let counted = sqlx::query(
        "UPDATE campaign_participants SET votes = votes + 1 WHERE campaign_id = $1 AND user_id = $2 AND votes < $3",
    )
    .bind(campaign_id)
    .bind(user_id)
    .bind(max_votes)
    .execute(&mut *tx)
    .await?;
    if counted.rows_affected() == 0 {
        return Ok(VoteOutcome::LimitReached);
    }
    sqlx::query("UPDATE campaign_entries SET votes = votes + 1 WHERE id = $1")
        .bind(entry_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(VoteOutcome::Counted)
}

/// Takes a vote back (and frees its slot); false when there was none.
pub async fn unvote(db: &Db, campaign_id: i64, entry_id: i64, user_id: i64) -> anyhow::Result<bool> {
    let mut tx = db.begin_write().await?;
    let deleted = sqlx::query("DELETE FROM campaign_votes WHERE entry_id = $1 AND user_id = $2")
        .bind(entry_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    if deleted.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("UPDATE campaign_participants SET votes = votes - 1 WHERE campaign_id = $1 AND user_id = $2")
        .bind(campaign_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE campaign_entries SET votes = votes - 1 WHERE id = $1")
        .bind(entry_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn entry_votes(db: &Db, entry_id: i64) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT votes FROM campaign_entries WHERE id = $1")
        .bind(entry_id)
        .fetch_one(&db.pool)
        .await?)
}

/// Hides or shows an entry.  Hiding also hands its votes back to the voters (their slots are
/// free again, as they can no longer see the entry to take the vote back themselves).
pub async fn set_hidden(
    db: &Db,
    campaign_id: i64,
    entry_id: i64,
    hidden: bool,
    by: i64,
    reason: &str,
) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE campaign_entries SET hidden = $1, hidden_reason = $2, hidden_by = $3 WHERE id = $4")
        .bind(hidden as i64)
        .bind(if hidden { Some(reason) } else { None })
        .bind(by)
        .bind(entry_id)
        .execute(&mut *tx)
        .await?;
    if hidden {
        sqlx::query(
            "UPDATE campaign_participants SET votes = votes - 1 WHERE campaign_id = $1 \
             AND user_id IN (SELECT user_id FROM campaign_votes WHERE entry_id = $2)",
        )
        .bind(campaign_id)
        .bind(entry_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM campaign_votes WHERE entry_id = $1")
            .bind(entry_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE campaign_entries SET votes = 0 WHERE id = $1")
            .bind(entry_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Replaces the winner list and notifies the authors who were not winners before, in one
/// transaction.
pub async fn set_winners(db: &Db, campaign: &Campaign, picks: &[WinnerPick], by: i64) -> anyhow::Result<usize> {
    let mut tx = db.begin_write().await?;
    let before: HashSet<i64> =
        sqlx::query("SELECT id FROM campaign_entries WHERE campaign_id = $1 AND winner_rank IS NOT NULL")
            .bind(campaign.id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.get("id"))
            .collect();
    sqlx::query("UPDATE campaign_entries SET winner_rank = NULL, prize = NULL WHERE campaign_id = $1")
        .bind(campaign.id)
        .execute(&mut *tx)
        .await?;
    let mut notified = 0;
    for (rank, pick) in picks.iter().enumerate() {
        let prize = pick.prize.trim();
        let author: i64 = sqlx::query(
            "UPDATE campaign_entries SET winner_rank = $1, prize = $2 WHERE id = $3 AND campaign_id = $4 RETURNING user_id",
        )
        .bind(rank as i64 + 1)
        .bind((!prize.is_empty()).then_some(prize))
        .bind(pick.entry_id)
        .bind(campaign.id)
        .fetch_one(&mut *tx)
        .await?
        .get("user_id");
        if !before.contains(&pick.entry_id) {
            let subject = if prize.is_empty() {
                format!("{} {}", campaign.hashtag, campaign.title)
            } else {
                format!("{} {} · {prize}", campaign.hashtag, campaign.title)
            };
            notifications::notify(
                &mut *tx,
                &NewNotification {
                    user_id: author,
                    kind: NotificationKind::CampaignWinner,
                    actor_id: Some(by),
                    subject: &subject,
                    link: &format!("/campaigns/{}#entry-{}", campaign.slug, pick.entry_id),
                    detail: None,
                },
            )
            .await?;
            notified += 1;
        }
    }
    sqlx::query("UPDATE campaigns SET winners_announced_at = $1 WHERE id = $2")
        .bind((!picks.is_empty()).then(now_ms))
        .bind(campaign.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(notified)
}

/// (content type, bytes, whether its entry is hidden).
pub async fn image(db: &Db, id: i64) -> anyhow::Result<Option<(String, Vec<u8>, bool)>> {
    let row = sqlx::query(
        "SELECT i.content_type, i.data, e.hidden FROM campaign_images i JOIN campaign_entries e ON e.id = i.entry_id WHERE i.id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| (r.get("content_type"), r.get("data"), r.get::<i64, _>("hidden") != 0)))
}

const HOUR_MS: i64 = 3_600_000;

pub async fn record_view(db: &Db, campaign_id: i64, at: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO campaign_views (campaign_id, hour, views) VALUES ($1, $2, 1) \
         ON CONFLICT (campaign_id, hour) DO UPDATE SET views = campaign_views.views + 1",
    )
    .bind(campaign_id)
    .bind(at.div_euclid(HOUR_MS) * HOUR_MS)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// (hour start, views) for every hour with views.
pub async fn views(db: &Db, campaign_id: i64) -> anyhow::Result<Vec<(i64, i64)>> {
    Ok(
        sqlx::query("SELECT hour, views FROM campaign_views WHERE campaign_id = $1")
            .bind(campaign_id)
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| (r.get("hour"), r.get("views")))
            .collect(),
    )
}

/// Filing times of the shown entries.
pub async fn entry_times(db: &Db, campaign_id: i64) -> anyhow::Result<Vec<i64>> {
    Ok(
        sqlx::query("SELECT created_at FROM campaign_entries WHERE campaign_id = $1 AND hidden = 0")
            .bind(campaign_id)
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| r.get("created_at"))
            .collect(),
    )
}

/// Imported social posts of [since, until) that contain a '#', newest first, at most `limit`:
/// (posted at, text, author's followers).  The caller keeps those carrying the hashtag.
pub async fn imported_posts_with_tags(
    db: &Db,
    since: i64,
    until: i64,
    limit: i64,
) -> anyhow::Result<Vec<(i64, String, i64)>> {
    Ok(sqlx::query(
        "SELECT posted_at, text, COALESCE(followers, 0) AS followers FROM vet_posts \
         WHERE posted_at >= $1 AND posted_at < $2 AND (text LIKE '%#%' OR text LIKE '%＃%') ORDER BY posted_at DESC LIMIT $3",
    )
    .bind(since)
    .bind(until)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| (r.get("posted_at"), r.get("text"), r.get("followers")))
    .collect())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Adjustment {
    pub id: i64,
    pub metric: Metric,
    pub amount: i64,
    /// When it happened (ms): where it lands on the dashboard's timeline.
    pub at: i64,
    pub note: String,
    pub created_by: String,
    pub created_at: i64,
}

pub async fn add_adjustment(
    db: &Db,
    campaign_id: i64,
    metric: Metric,
    amount: i64,
    at: i64,
    note: &str,
    by: i64,
) -> anyhow::Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO campaign_adjustments (campaign_id, metric, amount, at, note, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(campaign_id)
    .bind(metric.as_str())
    .bind(amount)
    .bind(at)
    .bind(note)
    .bind(by)
    .bind(now_ms())
    .fetch_one(&db.pool)
    .await?
    .get("id"))
}

pub async fn adjustments(db: &Db, campaign_id: i64) -> anyhow::Result<Vec<Adjustment>> {
    let rows = sqlx::query(
        "SELECT a.id, a.metric, a.amount, a.at, a.note, u.username, a.created_at FROM campaign_adjustments a \
         JOIN users u ON u.id = a.created_by WHERE a.campaign_id = $1 ORDER BY a.at, a.id",
    )
    .bind(campaign_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(Adjustment {
                id: r.get("id"),
                metric: Metric::parse(&r.get::<String, _>("metric"))?,
                amount: r.get("amount"),
                at: r.get("at"),
                note: r.get("note"),
                created_by: r.get("username"),
                created_at: r.get("created_at"),
            })
        })
        .collect())
}

/// (entries filed, votes cast) by an account in a campaign.
pub async fn participation(db: &Db, campaign_id: i64, user_id: i64) -> anyhow::Result<(i64, i64)> {
    let row = sqlx::query("SELECT entries, votes FROM campaign_participants WHERE campaign_id = $1 AND user_id = $2")
        .bind(campaign_id)
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| (r.get("entries"), r.get("votes"))).unwrap_or((0, 0)))
}
