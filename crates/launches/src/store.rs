//! Launch storage.  Orders are written by the sale actor in one transaction per batch.

use fanloop_platform::db::{now_ms, opt_i64, Db};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::ToSchema;

use crate::engine::{NewOrder, Rejection, Rules, SaleMode};
use crate::share::{Carried, ShareOn, SharePost, ShareRule};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Drop {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub currency: String,
    pub per_account_limit: i64,
    pub reservations_open_at: i64,
    pub reservations_close_at: i64,
    pub fcode_opens_at: i64,
    pub opens_at: i64,
    pub closes_at: i64,
    pub min_honor_rank: i64,
    pub min_account_age_days: i64,
    pub mode: SaleMode,
    /// SHA-256 of the draw seed, published from the start.
    pub seed_commitment: String,
    /// The seed itself, once the draw has run.
    pub seed: Option<String>,
    pub payment_seconds: i64,
    pub variants: Vec<Variant>,
    /// Set when reserving or buying is done by publishing a post (see `share`).
    pub share: Option<ShareRule>,
    /// The forum thread mirroring the drop's wall.
    pub share_thread_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Variant {
    pub id: i64,
    pub name: String,
    pub general_stock: i64,
    pub fcode_stock: i64,
}

impl Drop {
    /// Whether its orders are placed by posting on its wall (see `share`).
    pub fn sells_by_posting(&self) -> bool {
        self.share.as_ref().is_some_and(|r| r.on.to_buy())
    }

    pub fn rules(&self) -> Rules {
        Rules {
            opens_at: self.opens_at,
            fcode_opens_at: self.fcode_opens_at,
            closes_at: self.closes_at,
            per_account_limit: self.per_account_limit as u32,
            min_honor_rank: self.min_honor_rank as u8,
            min_account_age_ms: self.min_account_age_days * 86_400_000,
            mode: self.mode.clone(),
        }
    }
}

fn drop_from_row(row: &AnyRow, variants: Vec<Variant>) -> Drop {
    let mode = match row.get::<String, _>("mode").as_str() {
        "draw" => SaleMode::Draw,
        "queue" => SaleMode::Queue {
            wave_size: row.get::<i64, _>("wave_size") as u32,
            wave_ms: row.get("wave_ms"),
        },
        _ => SaleMode::Open,
    };
    let revealed = row.get::<i64, _>("seed_revealed") != 0;
    Drop {
        id: row.get("id"),
        slug: row.get("slug"),
        name: row.get("name"),
        description: row.get("description"),
        price_cents: row.get("price_cents"),
        currency: row.get("currency"),
        per_account_limit: row.get("per_account_limit"),
        reservations_open_at: row.get("reservations_open_at"),
        reservations_close_at: row.get("reservations_close_at"),
        fcode_opens_at: row.get("fcode_opens_at"),
        opens_at: row.get("opens_at"),
        closes_at: row.get("closes_at"),
        min_honor_rank: row.get("min_honor_rank"),
        min_account_age_days: row.get("min_account_age_days"),
        mode,
        seed_commitment: row.get("seed_commitment"),
        seed: revealed.then(|| row.get("seed")),
        payment_seconds: row.get("payment_seconds"),
        variants,
        share: ShareOn::parse(&row.get::<String, _>("share_on")).map(|on| ShareRule {
            on,
            hashtag: row.get("share_hashtag"),
            template: row.get("share_template"),
            min_chars: row.get::<i64, _>("share_min_chars").clamp(0, 200) as u32,
            board: row.get("share_board"),
        }),
        share_thread_id: opt_i64(row, "share_thread_id"),
    }
}

pub struct NewDrop<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub price_cents: i64,
    pub currency: &'a str,
    pub per_account_limit: i64,
    pub reservations_open_at: i64,
    pub reservations_close_at: i64,
    pub fcode_opens_at: i64,
    pub opens_at: i64,
    pub closes_at: i64,
    pub min_honor_rank: i64,
    pub min_account_age_days: i64,
    pub mode: &'a SaleMode,
    pub payment_seconds: i64,
    pub seed: &'a str,
    pub seed_commitment: &'a str,
    pub created_by: i64,
    /// (name, general stock, F-code stock)
    pub variants: &'a [(String, i64, i64)],
    pub share: Option<&'a ShareRule>,
}

/// Creates a drop with its variants; `None` if the slug is taken.
pub async fn create_drop(db: &Db, d: &NewDrop<'_>) -> anyhow::Result<Option<i64>> {
    let (mode, wave_size, wave_ms) = match d.mode {
        SaleMode::Open => ("open", 0, 0),
        SaleMode::Draw => ("draw", 0, 0),
        SaleMode::Queue { wave_size, wave_ms } => ("queue", *wave_size as i64, *wave_ms),
    };
    let mut tx = db.begin_write().await?;
    let inserted = sqlx::query(
        "INSERT INTO drops (slug, name, description, price_cents, currency, per_account_limit, reservations_open_at, reservations_close_at, \
         fcode_opens_at, opens_at, closes_at, min_honor_rank, min_account_age_days, mode, wave_size, wave_ms, seed, seed_commitment, \
         payment_seconds, created_by, created_at, share_on, share_hashtag, share_template, share_min_chars, share_board) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26) \
         RETURNING id",
    )
    .bind(d.slug)
    .bind(d.name)
    .bind(d.description)
    .bind(d.price_cents)
    .bind(d.currency)
    .bind(d.per_account_limit)
    .bind(d.reservations_open_at)
    .bind(d.reservations_close_at)
    .bind(d.fcode_opens_at)
    .bind(d.opens_at)
    .bind(d.closes_at)
    .bind(d.min_honor_rank)
    .bind(d.min_account_age_days)
    .bind(mode)
    .bind(wave_size)
    .bind(wave_ms)
    .bind(d.seed)
    .bind(d.seed_commitment)
    .bind(d.payment_seconds)
    .bind(d.created_by)
    .bind(now_ms())
    .bind(d.share.map_or("", |r| r.on.as_str()))
    .bind(d.share.map_or("", |r| r.hashtag.as_str()))
    .bind(d.share.map_or("", |r| r.template.as_str()))
    .bind(d.share.map_or(0, |r| i64::from(r.min_chars)))
    .bind(d.share.map_or("", |r| r.board.as_str()))
    .fetch_one(&mut *tx)
    .await;
    let id: i64 = match inserted {
        Ok(row) => row.get("id"),
        Err(e) if fanloop_platform::db::is_unique_violation(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    for (name, general, fcode) in d.variants {
        sqlx::query("INSERT INTO variants (drop_id, name, general_stock, fcode_stock) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(name)
            .bind(general)
            .bind(fcode)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Some(id))
}

async fn variants(db: &Db, drop_id: i64) -> anyhow::Result<Vec<Variant>> {
    let rows = sqlx::query("SELECT id, name, general_stock, fcode_stock FROM variants WHERE drop_id = $1 ORDER BY id")
        .bind(drop_id)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows
        .iter()
        .map(|r| Variant {
            id: r.get("id"),
            name: r.get("name"),
            general_stock: r.get("general_stock"),
            fcode_stock: r.get("fcode_stock"),
        })
        .collect())
}

pub async fn drop_by_slug(db: &Db, slug: &str) -> anyhow::Result<Option<Drop>> {
    let Some(row) = sqlx::query("SELECT * FROM drops WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&db.pool)
        .await?
    else {
        return Ok(None);
    };
    let id: i64 = row.get("id");
    Ok(Some(drop_from_row(&row, variants(db, id).await?)))
}

pub async fn drop_by_id(db: &Db, id: i64) -> anyhow::Result<Option<Drop>> {
    let Some(row) = sqlx::query("SELECT * FROM drops WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(drop_from_row(&row, variants(db, id).await?)))
}

/// Drops per page of the public list.
pub const DROPS_PER_PAGE: i64 = 50;

/// Drops for the public list: those on sale or coming (soonest first), then past ones (latest
/// first), a page at a time (1-based).
pub async fn list_drops(db: &Db, now: i64, page: i64) -> anyhow::Result<Vec<Drop>> {
    let rows = sqlx::query(
        "SELECT * FROM drops ORDER BY CASE WHEN closes_at > $1 THEN 0 ELSE 1 END, \
         CASE WHEN closes_at > $1 THEN opens_at ELSE -closes_at END, id DESC LIMIT $2 OFFSET $3",
    )
    .bind(now)
    .bind(DROPS_PER_PAGE)
    .bind((page.max(1) - 1).saturating_mul(DROPS_PER_PAGE))
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::new();
    for row in &rows {
        let id: i64 = row.get("id");
        out.push(drop_from_row(row, variants(db, id).await?));
    }
    Ok(out)
}

/// Live (pending or paid) orders of a drop, to rebuild the engine, with whether each used the
/// F-code pool.
pub async fn live_orders(db: &Db, drop_id: i64) -> anyhow::Result<Vec<(NewOrder, bool)>> {
    let rows = sqlx::query("SELECT id, user_id, variant_id, quantity, idempotency_key, fcode_id FROM orders WHERE drop_id = $1 AND status <> 'expired' ORDER BY id")
        .bind(drop_id)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let fcode = opt_i64(r, "fcode_id");
            (
                NewOrder {
                    order_id: r.get("id"),
                    account: r.get("user_id"),
                    variant: r.get("variant_id"),
                    quantity: r.get::<i64, _>("quantity") as u32,
                    idempotency_key: r.get("idempotency_key"),
                    fcode,
                    stored_at: None,
                },
                fcode.is_some(),
            )
        })
        .collect())
}

/// Idempotency keys of expired orders, so a late retry after expiry replays instead of buying.
pub async fn expired_keys(db: &Db, drop_id: i64) -> anyhow::Result<Vec<(i64, String, i64)>> {
    let rows = sqlx::query("SELECT user_id, idempotency_key, id FROM orders WHERE drop_id = $1 AND status = 'expired'")
        .bind(drop_id)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("user_id"), r.get("idempotency_key"), r.get("id")))
        .collect())
}

pub async fn max_order_id(db: &Db, drop_id: i64) -> anyhow::Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT MAX(id) FROM orders WHERE drop_id = $1")
        .bind(drop_id)
        .fetch_one(&db.pool)
        .await?)
}

/// Why the system of record refused an order by itself, whatever the engine or Redis in front
/// of it believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The variant's pool has fewer units left than the order takes.
    SoldOut,
    /// The order would take its buyer above the drop's per-account limit.
    LimitReached,
    /// The F-code was used or revoked meanwhile.
    FcodeUsed,
    /// The order's share post copies another member's post on the drop's wall.
    PostCopied,
    /// The drop sells by posting, and neither this order nor an earlier one of its buyer
    /// carries a post.
    PostRequired,
}

impl Refusal {
    pub fn rejection(self) -> Rejection {
        match self {
            Refusal::SoldOut => Rejection::SoldOut,
            Refusal::LimitReached => Rejection::LimitReached,
            Refusal::FcodeUsed => Rejection::FcodeUsed,
            Refusal::PostCopied => Rejection::PostCopied,
            Refusal::PostRequired => Rejection::PostRequired,
        }
    }
}

/// Persists a batch of accepted orders (and the F-codes they consumed).  The whole batch goes
/// in one transaction; if the database refuses one member (a revoked F-code, a limit), the batch
/// is written again one order at a time, each in its own savepoint, so only that member is
/// refused: one element per order, `None` when stored.
pub async fn commit_orders(
    db: &Db,
    drop_id: i64,
    per_account_limit: i64,
    orders: &[NewOrder],
    posts: Option<&[Carried]>,
    created_at: i64,
    expires_at: i64,
) -> anyhow::Result<Vec<Option<Refusal>>> {
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    let batch = Batch {
        drop_id,
        per_account_limit,
        created_at,
        expires_at,
        redis_pending: false,
    };
    let mut tx = db.begin_write().await?;
    if write_orders(&mut tx, &batch, orders, posts).await?.is_ok() {
        tx.commit().await?;
        return Ok(vec![None; orders.len()]);
    }
    tx.rollback().await?;
    let mut tx = db.begin_write().await?;
    let mut out = Vec::with_capacity(orders.len());
    for (i, o) in orders.iter().enumerate() {
        let mut one = sqlx::Acquire::begin(&mut *tx).await?;
        let post = posts.map(|p| p.get(i).map(std::slice::from_ref).unwrap_or_default());
        match write_orders(&mut one, &batch, std::slice::from_ref(o), post).await? {
            Ok(()) => {
                one.commit().await?;
                out.push(None);
            }
            Err(refusal) => {
                one.rollback().await?;
                out.push(Some(refusal));
            }
        }
    }
    tx.commit().await?;
    Ok(out)
}

/// What became of a decision taken in Redis, once the database had its say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Stored under this order id.
    Order(i64),
    /// The buyer already has an order under this idempotency key (decided in an earlier Redis
    /// epoch, or on another node): that order, and nothing new stored.
    Existing(i64),
    /// A reconciler voided the decision first (its node was presumed dead): nothing stored.
    Voided,
    Refused(Refusal),
}

/// The order a Redis decision asks the database to store.
#[derive(Debug, Clone)]
pub struct Decided {
    pub account: i64,
    pub variant: i64,
    pub quantity: u32,
    pub idempotency_key: String,
    pub fcode: Option<i64>,
    /// The share post the order is made with, if the drop asks for one.
    pub share: Carried,
}

/// Order ids of a drop live in [drop id × 10⁹, (drop id + 1) × 10⁹).
fn order_id_base(drop_id: i64) -> i64 {
    drop_id.saturating_mul(1_000_000_000)
}

/// Multi-node mode (PostgreSQL): claims the decision's token and stores its order in one
/// transaction, the order id coming from the database; every rule is checked again here.
pub async fn commit_decision(
    db: &Db,
    d: &Drop,
    token: &str,
    order: &Decided,
    created_at: i64,
    timeout_ms: u64,
) -> anyhow::Result<Stored> {
    let mut tx = db.begin_write().await?;
    // The database itself gives up on this transaction in time: a node paused or cut off in the
    // middle must not keep the drop's rows locked for every other node (a client-side timeout
    // only drops the future; the server would go on waiting and holding).
    for setting in [
        "lock_timeout",
        "statement_timeout",
        "idle_in_transaction_session_timeout",
    ] {
        sqlx::query(&format!("SET LOCAL {setting} = {}", timeout_ms.max(1)))
            .execute(&mut *tx)
            .await?;
    }
    let claimed = sqlx::query(
        "INSERT INTO decision_claims (token, kind, created_at) VALUES ($1, 'order', $2) ON CONFLICT DO NOTHING",
    )
    .bind(token)
    .bind(created_at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if claimed == 0 {
        tx.rollback().await?;
        return Ok(Stored::Voided);
    }
    // One writer per drop at a time from here: the next id is the drop's highest plus one.
    sqlx::query("SELECT id FROM drops WHERE id = $1 FOR UPDATE")
        .bind(d.id)
        .execute(&mut *tx)
        .await?;
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM orders WHERE drop_id = $1 AND user_id = $2 AND idempotency_key = $3")
            .bind(d.id)
            .bind(order.account)
            .bind(&order.idempotency_key)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(id) = existing {
        tx.rollback().await?;
        return Ok(Stored::Existing(id));
    }
    let base = order_id_base(d.id);
    let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), $1) + 1 FROM orders WHERE id > $1 AND id < $2")
        .bind(base)
        .bind(base.saturating_add(1_000_000_000))
        .fetch_one(&mut *tx)
        .await?;
    let new = NewOrder {
        order_id: id,
        account: order.account,
        variant: order.variant,
        quantity: order.quantity,
        idempotency_key: order.idempotency_key.clone(),
        fcode: order.fcode,
        stored_at: None,
    };
    let batch = Batch {
        drop_id: d.id,
        per_account_limit: d.per_account_limit,
        created_at,
        expires_at: created_at.saturating_add(d.payment_seconds.saturating_mul(1_000)),
        redis_pending: true,
    };
    let sells_by_posting = d.sells_by_posting();
    let post = sells_by_posting.then_some(std::slice::from_ref(&order.share));
    if let Err(refusal) = write_orders(&mut tx, &batch, std::slice::from_ref(&new), post).await? {
        tx.rollback().await?;
        return Ok(Stored::Refused(refusal));
    }
    sqlx::query("UPDATE decision_claims SET order_id = $1 WHERE token = $2")
        .bind(id)
        .bind(token)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Stored::Order(id))
}

/// Voids a decision unless its order was stored; returns the order id if it was (it stays), or
/// `None` (it never will be: its units go back).
pub async fn void_decision(db: &Db, token: &str) -> anyhow::Result<Option<i64>> {
    sqlx::query("INSERT INTO decision_claims (token, kind, created_at) VALUES ($1, 'void', $2) ON CONFLICT DO NOTHING")
        .bind(token)
        .bind(now_ms())
        .execute(&db.pool)
        .await?;
    let row = sqlx::query("SELECT kind, order_id FROM decision_claims WHERE token = $1")
        .bind(token)
        .fetch_one(&db.pool)
        .await?;
    Ok(match row.get::<String, _>("kind").as_str() {
        "order" => opt_i64(&row, "order_id"),
        _ => None,
    })
}

/// Everything Redis needs to rebuild a drop's counters, read in one consistent snapshot.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// (variant, general units left, F-code units left)
    pub stock: Vec<(i64, i64, i64)>,
    /// Every order of the drop, live and expired, with its decision token where it has one.
    pub orders: Vec<SyncOrder>,
    /// F-codes of this drop that can no longer buy (used or revoked).
    pub spent_fcodes: Vec<i64>,
}

/// An order as Redis must account for it.
#[derive(Debug, Clone)]
pub struct SyncOrder {
    pub id: i64,
    pub account: i64,
    pub variant: i64,
    pub quantity: u32,
    pub idempotency_key: String,
    pub fcode: Option<i64>,
    pub expired: bool,
    pub token: Option<String>,
}

fn sync_order(r: &AnyRow) -> SyncOrder {
    SyncOrder {
        id: r.get("id"),
        account: r.get("user_id"),
        variant: r.get("variant_id"),
        quantity: r.get::<i64, _>("quantity").clamp(0, u32::MAX as i64) as u32,
        idempotency_key: r.get("idempotency_key"),
        fcode: opt_i64(r, "fcode_id"),
        expired: r.get::<String, _>("status") == "expired",
        token: fanloop_platform::db::opt_string(r, "token"),
    }
}

const SYNC_SELECT: &str =
    "SELECT o.id, o.user_id, o.variant_id, o.quantity, o.idempotency_key, o.fcode_id, o.status, c.token \
    FROM orders o LEFT JOIN decision_claims c ON c.order_id = o.id";

pub async fn snapshot(db: &Db, drop_id: i64) -> anyhow::Result<Snapshot> {
    let mut tx = db.pool.begin().await?;
    if db.backend == fanloop_platform::db::Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await?;
    }
    let variants = sqlx::query("SELECT id, general_stock, fcode_stock FROM variants WHERE drop_id = $1 ORDER BY id")
        .bind(drop_id)
        .fetch_all(&mut *tx)
        .await?;
    let orders: Vec<SyncOrder> = sqlx::query(&format!("{SYNC_SELECT} WHERE o.drop_id = $1 ORDER BY o.id"))
        .bind(drop_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(sync_order)
        .collect();
    let spent_fcodes: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM fcodes WHERE drop_id = $1 AND (used_at IS NOT NULL OR revoked_at IS NOT NULL)",
    )
    .bind(drop_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let stock = variants
        .iter()
        .map(|v| {
            let id: i64 = v.get("id");
            let held = |fcode_pool: bool| -> i64 {
                orders
                    .iter()
                    .filter(|o| o.variant == id && !o.expired && o.fcode.is_some() == fcode_pool)
                    .map(|o| o.quantity as i64)
                    .sum()
            };
            (
                id,
                v.get::<i64, _>("general_stock") - held(false),
                v.get::<i64, _>("fcode_stock") - held(true),
            )
        })
        .collect();
    Ok(Snapshot {
        stock,
        orders,
        spent_fcodes,
    })
}

/// Orders whose latest state Redis may not know yet: expired ones, and stored ones older than
/// `stored_before` (younger ones are still being settled by their node).
pub async fn redis_pending(db: &Db, drop_id: i64, stored_before: i64, limit: i64) -> anyhow::Result<Vec<SyncOrder>> {
    Ok(sqlx::query(&format!(
        "{SYNC_SELECT} WHERE o.drop_id = $1 AND o.redis_pending = 1 AND (o.status = 'expired' OR o.created_at <= $2) ORDER BY o.id LIMIT $3"
    ))
    .bind(drop_id)
    .bind(stored_before)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(sync_order)
    .collect())
}

/// Redis now knows these orders' state: live ones (`expired == false`) or expired ones.  A flag
/// is cleared only if the order is still in the state Redis was told.
pub async fn clear_redis_pending(db: &Db, ids: &[i64], expired: bool) -> anyhow::Result<()> {
    for chunk in ids.chunks(500) {
        let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 1)).collect();
        let sql = format!(
            "UPDATE orders SET redis_pending = 0 WHERE id IN ({}) AND status {} 'expired'",
            list.join(", "),
            if expired { "=" } else { "<>" }
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id);
        }
        q.execute(&db.pool).await?;
    }
    Ok(())
}

/// What one transaction of orders shares.
struct Batch {
    drop_id: i64,
    per_account_limit: i64,
    created_at: i64,
    expires_at: i64,
    /// Multi-node mode: Redis must still be told of these orders.
    redis_pending: bool,
}

/// Writes orders and checks, in the same transaction, every rule the database can check by
/// itself: stock per pool, units per buyer, single-use F-codes.  On a refusal the caller rolls
/// back (nothing is left half-written: the order rows were inserted first).
async fn write_orders(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    b: &Batch,
    orders: &[NewOrder],
    posts: Option<&[Carried]>,
) -> anyhow::Result<Result<(), Refusal>> {
    // Multi-row inserts of a fixed size: a flash sale commits thousands of orders per batch, and
    // one statement per order costs more than the commit itself.  A fixed size keeps the SQL
    // text, hence the prepared statement, the same from batch to batch; the rest go one by one.
    const ROWS_PER_INSERT: usize = 64;
    let insert_sql = |rows: usize| {
        let values: Vec<String> = (0..rows)
            .map(|i| {
                let p = i * 10;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, 'pending', ${}, ${}, ${})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6,
                    p + 7,
                    p + 8,
                    p + 9,
                    p + 10
                )
            })
            .collect();
        format!(
            "INSERT INTO orders (id, drop_id, user_id, variant_id, quantity, idempotency_key, fcode_id, status, created_at, expires_at, redis_pending) VALUES {}",
            values.join(", ")
        )
    };
    let (many, one) = (insert_sql(ROWS_PER_INSERT), insert_sql(1));
    let mut chunks = orders.chunks_exact(ROWS_PER_INSERT);
    let rest = chunks.remainder();
    for chunk in chunks.by_ref().chain(rest.chunks(1)) {
        let mut insert = sqlx::query(if chunk.len() == ROWS_PER_INSERT { &many } else { &one });
        for o in chunk {
            insert = insert
                .bind(o.order_id)
                .bind(b.drop_id)
                .bind(o.account)
                .bind(o.variant)
                .bind(o.quantity as i64)
                .bind(&o.idempotency_key)
                .bind(o.fcode)
                .bind(b.created_at)
                .bind(b.expires_at)
                .bind(b.redis_pending as i64);
        }
        insert.execute(&mut **tx).await?;
    }
    // Stock, once per variant and pool: the batch's units must fit in what is left.
    let mut held: std::collections::BTreeMap<(i64, bool), i64> = std::collections::BTreeMap::new();
    for o in orders {
        *held.entry((o.variant, o.fcode.is_some())).or_default() += o.quantity as i64;
    }
    for ((variant, from_fcode), units) in held {
        let (column, stock) = if from_fcode {
            ("sold_fcode", "fcode_stock")
        } else {
            ("sold_general", "general_stock")
        };
        let updated = sqlx::query(&format!(
            "UPDATE variants SET {column} = {column} + $1 WHERE id = $2 AND drop_id = $3 AND {column} + $1 <= {stock}"
        ))
        .bind(units)
        .bind(variant)
        .bind(b.drop_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if updated != 1 {
            return Ok(Err(Refusal::SoldOut));
        }
    }
    // Units per buyer: an upsert that only applies while the buyer stays within the limit.
    let mut per_buyer: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
    for o in orders {
        *per_buyer.entry(o.account).or_default() += o.quantity as i64;
    }
    if per_buyer.values().any(|units| *units > b.per_account_limit) {
        return Ok(Err(Refusal::LimitReached));
    }
    let buyers: Vec<(i64, i64)> = per_buyer.into_iter().collect();
    let upsert_sql = |rows: usize| {
        let values: Vec<String> = (0..rows)
            .map(|i| format!("($1, ${}, ${})", i * 2 + 3, i * 2 + 4))
            .collect();
        format!(
            "INSERT INTO drop_buyers (drop_id, user_id, units) VALUES {} ON CONFLICT (drop_id, user_id) \
             DO UPDATE SET units = drop_buyers.units + excluded.units WHERE drop_buyers.units + excluded.units <= $2",
            values.join(", ")
        )
    };
    let (many, one) = (upsert_sql(ROWS_PER_INSERT), upsert_sql(1));
    let mut chunks = buyers.chunks_exact(ROWS_PER_INSERT);
    let rest = chunks.remainder();
    for chunk in chunks.by_ref().chain(rest.chunks(1)) {
        let mut upsert = sqlx::query(if chunk.len() == ROWS_PER_INSERT { &many } else { &one })
            .bind(b.drop_id)
            .bind(b.per_account_limit);
        for (account, units) in chunk {
            upsert = upsert.bind(*account).bind(*units);
        }
        if upsert.execute(&mut **tx).await?.rows_affected() != chunk.len() as u64 {
            return Ok(Err(Refusal::LimitReached));
        }
    }
    for o in orders {
        if let Some(code) = o.fcode {
            let used = sqlx::query("UPDATE fcodes SET used_at = $1, used_by = $2, order_id = $3 WHERE id = $4 AND used_at IS NULL AND revoked_at IS NULL")
                .bind(b.created_at)
                .bind(o.account)
                .bind(o.order_id)
                .bind(code)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            if used != 1 {
                return Ok(Err(Refusal::FcodeUsed));
            }
            sqlx::query("INSERT INTO fcode_audit (fcode_id, action, actor_id, created_at) VALUES ($1, 'used', $2, $3)")
                .bind(code)
                .bind(o.account)
                .bind(b.created_at)
                .execute(&mut **tx)
                .await?;
        }
    }
    // A drop that sells by posting (`posts` given, one per order): each order's post is made
    // with it or not at all, and an order without one needs its buyer's earlier post.
    if let Some(posts) = posts {
        anyhow::ensure!(posts.len() == orders.len(), "one post (or none) per order");
        for (o, post) in orders.iter().zip(posts) {
            let written = match post {
                Some(post) => {
                    write_post(tx, b.drop_id, o.account, post, Some(o.order_id), "order", b.created_at).await?
                }
                None => match has_post(tx, b.drop_id, o.account).await? {
                    true => Ok(None),
                    false => Err(Refusal::PostRequired),
                },
            };
            if let Err(refusal) = written {
                return Ok(Err(refusal));
            }
        }
    }
    Ok(Ok(()))
}

/// Stored terms of posts by other members on a drop's wall sharing a MinHash band with `bands`
/// (near-copy candidates), at most 200.
pub async fn near_copy_candidates<'e, E>(
    ex: E,
    drop_id: i64,
    user_id: i64,
    bands: &[i64],
) -> anyhow::Result<Vec<String>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    if bands.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (0..bands.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT p.id, p.terms FROM drop_post_bands b JOIN drop_posts p ON p.id = b.post_id \
         WHERE b.drop_id = $1 AND p.user_id <> $2 AND b.band IN ({}) \
         GROUP BY p.id, p.terms ORDER BY COUNT(*) DESC, p.id LIMIT 200",
        list.join(", ")
    );
    let mut q = sqlx::query(&sql).bind(drop_id).bind(user_id);
    for band in bands {
        q = q.bind(*band);
    }
    Ok(q.fetch_all(ex).await?.iter().map(|r| r.get("terms")).collect())
}

/// The advisory lock key space of walls (one key per drop: this XOR its id).
const WALL_LOCK: i64 = 0x5741_4c4c_0000_0000;

/// Stores a member's share post in the caller's transaction: `Ok(Some(id))` when stored,
/// `Ok(None)` when the member already has a post on this wall (it stays theirs, once), or the
/// refusal when it copies another member's post (exactly: a unique index; nearly: the bands).
async fn write_post(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    drop_id: i64,
    user_id: i64,
    post: &SharePost,
    order_id: Option<i64>,
    made_with: &str,
    now: i64,
) -> anyhow::Result<Result<Option<i64>, Refusal>> {
    // PostgreSQL: one post writer per wall at a time, so near copies sent together are
    // compared with each other (a reservation holds the drop's row only for share, and the
    // single-node sale writes without the row lock). SQLite has one writer at a time anyway.
    if tx.backend_name().eq_ignore_ascii_case("postgresql") {
        sqlx::query("SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock($1)) AS l")
            .bind(WALL_LOCK ^ drop_id)
            .execute(&mut **tx)
            .await?;
    }
    if has_post(tx, drop_id, user_id).await? {
        return Ok(Ok(None));
    }
    if crate::share::copies_any(
        post,
        &near_copy_candidates(&mut **tx, drop_id, user_id, &post.bands).await?,
    ) {
        return Ok(Err(Refusal::PostCopied));
    }
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO drop_posts (drop_id, user_id, body, made_with, order_id, fingerprint, terms, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(drop_id)
    .bind(user_id)
    .bind(&post.body)
    .bind(made_with)
    .bind(order_id)
    .bind(post.fingerprint.as_deref())
    .bind(crate::share::joined_terms(&post.terms))
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(id) = id else {
        // A conflict: the member's own post, made meanwhile by a concurrent reservation (it
        // stays theirs), or the same words already on the wall.
        if has_post(tx, drop_id, user_id).await? {
            return Ok(Ok(None));
        }
        return Ok(Err(Refusal::PostCopied));
    };
    if !post.bands.is_empty() {
        let values: Vec<String> = (0..post.bands.len()).map(|i| format!("($1, ${}, $2)", i + 3)).collect();
        let sql = format!(
            "INSERT INTO drop_post_bands (drop_id, band, post_id) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(drop_id).bind(id);
        for band in &post.bands {
            q = q.bind(*band);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(Ok(Some(id)))
}

async fn has_post(tx: &mut sqlx::Transaction<'_, sqlx::Any>, drop_id: i64, user_id: i64) -> anyhow::Result<bool> {
    let mine: Option<i64> = sqlx::query_scalar("SELECT id FROM drop_posts WHERE drop_id = $1 AND user_id = $2")
        .bind(drop_id)
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(mine.is_some())
}

/// A post on a drop's wall.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WallPost {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub body: String,
    /// `order` or `reservation`.
    pub made_with: String,
    pub created_at: i64,
    /// Hidden by a moderator (only moderators see hidden posts); it no longer counts.
    pub hidden: bool,
    /// The forum reply mirroring it, once made.
    pub community_post_id: Option<i64>,
}

/// Wall posts: those with an id above `after` (oldest first), or else newest first below
/// `before`, at most `limit`; hidden ones
/// (by a moderator here, or their forum mirror deleted) only if `with_hidden`.
pub async fn wall(
    db: &Db,
    drop_id: i64,
    after: i64,
    before: i64,
    limit: i64,
    with_hidden: bool,
) -> anyhow::Result<Vec<WallPost>> {
    let hidden = "(p.hidden_at IS NOT NULL OR COALESCE(m.deleted, 0) <> 0)";
    let filter = if with_hidden {
        String::new()
    } else {
        format!(" AND NOT {hidden}")
    };
    // Following the wall (`after`): the oldest new ones first, so none is skipped; otherwise a
    // page down from the newest.
    let order = if after > 0 { "ASC" } else { "DESC" };
    let rows = sqlx::query(&format!(
        "SELECT p.id, u.username, COALESCE(u.display_name, u.username) AS display_name, p.body, p.made_with, p.created_at, p.community_post_id, \
         CASE WHEN {hidden} THEN 1 ELSE 0 END AS hidden \
         FROM drop_posts p JOIN users u ON u.id = p.user_id LEFT JOIN posts m ON m.id = p.community_post_id \
         WHERE p.drop_id = $1 AND p.id > $2 AND p.id < $3{filter} ORDER BY p.id {order} LIMIT $4"
    ))
    .bind(drop_id)
    .bind(after)
    .bind(before)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| WallPost {
            id: r.get("id"),
            username: r.get("username"),
            display_name: r.get("display_name"),
            body: r.get("body"),
            made_with: r.get("made_with"),
            created_at: r.get("created_at"),
            hidden: r.get::<i64, _>("hidden") != 0,
            community_post_id: opt_i64(r, "community_post_id"),
        })
        .collect())
}

/// Counted posts of a wall (shown), and how many are hidden.
pub async fn wall_counts(db: &Db, drop_id: i64) -> anyhow::Result<(i64, i64)> {
    let row = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, \
         CAST(COALESCE(SUM(CASE WHEN p.hidden_at IS NOT NULL OR COALESCE(m.deleted, 0) <> 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS hidden \
         FROM drop_posts p LEFT JOIN posts m ON m.id = p.community_post_id WHERE p.drop_id = $1",
    )
    .bind(drop_id)
    .fetch_one(&db.pool)
    .await?;
    let (n, hidden): (i64, i64) = (row.get("n"), row.get("hidden"));
    Ok((n - hidden, hidden))
}

/// The member's post on a drop's wall, if any: (id, hidden).
pub async fn post_of(db: &Db, drop_id: i64, user_id: i64) -> anyhow::Result<Option<(i64, bool)>> {
    let row = sqlx::query("SELECT id, hidden_at FROM drop_posts WHERE drop_id = $1 AND user_id = $2")
        .bind(drop_id)
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| (r.get("id"), opt_i64(&r, "hidden_at").is_some())))
}

/// Hides a wall post (once); returns its forum mirror, if any, for the caller to remove, or
/// `None` if there is no such post on this drop.
pub async fn hide_post(
    db: &Db,
    drop_id: i64,
    post_id: i64,
    moderator: i64,
    now: i64,
) -> anyhow::Result<Option<Option<i64>>> {
    // Hidden first, then the mirror read: a mirror made meanwhile either is seen here, or sees
    // the post hidden when it looks right after storing itself (`wall::mirror_pass`).
    sqlx::query(
        "UPDATE drop_posts SET hidden_at = $1, hidden_by = $2 WHERE id = $3 AND drop_id = $4 AND hidden_at IS NULL",
    )
    .bind(now)
    .bind(moderator)
    .bind(post_id)
    .bind(drop_id)
    .execute(&db.pool)
    .await?;
    let row = sqlx::query("SELECT community_post_id FROM drop_posts WHERE id = $1 AND drop_id = $2")
        .bind(post_id)
        .bind(drop_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|row| opt_i64(&row, "community_post_id")))
}

/// A post the forum does not mirror yet.
#[derive(Debug, Clone)]
pub struct Unmirrored {
    pub id: i64,
    pub drop_id: i64,
    pub user_id: i64,
    pub body: String,
    pub created_at: i64,
}

/// Posts not mirrored in the forum yet, oldest first.
pub async fn unmirrored(db: &Db, limit: i64) -> anyhow::Result<Vec<Unmirrored>> {
    let rows = sqlx::query(
        "SELECT id, drop_id, user_id, body, created_at FROM drop_posts WHERE community_post_id IS NULL ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Unmirrored {
            id: r.get("id"),
            drop_id: r.get("drop_id"),
            user_id: r.get("user_id"),
            body: r.get("body"),
            created_at: r.get("created_at"),
        })
        .collect())
}

/// Records the forum replies mirroring wall posts (`(post, reply)`, 0 for a post that no
/// thread can take), in one transaction.
pub async fn set_mirrored(db: &Db, done: &[(i64, i64)]) -> anyhow::Result<()> {
    if done.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    for (id, community_post_id) in done {
        sqlx::query("UPDATE drop_posts SET community_post_id = $1 WHERE id = $2")
            .bind(community_post_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Records the forum thread of a drop's wall, unless one was recorded first (`false`).
pub async fn set_share_thread(db: &Db, drop_id: i64, thread_id: i64) -> anyhow::Result<bool> {
    Ok(
        sqlx::query("UPDATE drops SET share_thread_id = $1 WHERE id = $2 AND share_thread_id IS NULL")
            .bind(thread_id)
            .bind(drop_id)
            .execute(&db.pool)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Who created a drop.
pub async fn drop_author(db: &Db, drop_id: i64) -> anyhow::Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT created_by FROM drops WHERE id = $1")
        .bind(drop_id)
        .fetch_optional(&db.pool)
        .await?)
}

/// `Some(moderator)` if the wall post is hidden (`Some(None)`: by nobody on record).
pub async fn hidden_by(db: &Db, post_id: i64) -> anyhow::Result<Option<Option<i64>>> {
    let row = sqlx::query("SELECT hidden_at, hidden_by FROM drop_posts WHERE id = $1")
        .bind(post_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row
        .filter(|r| opt_i64(r, "hidden_at").is_some())
        .map(|r| opt_i64(&r, "hidden_by")))
}

/// Times of a wall's counted posts (shown, one per member, made with an order or a
/// reservation) from `since` to `until`.
pub async fn share_post_times(db: &Db, drop_id: i64, since: i64, until: i64) -> anyhow::Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT p.created_at FROM drop_posts p LEFT JOIN posts m ON m.id = p.community_post_id \
         WHERE p.drop_id = $1 AND p.created_at >= $2 AND p.created_at <= $3 AND p.hidden_at IS NULL AND COALESCE(m.deleted, 0) = 0",
    )
    .bind(drop_id)
    .bind(since)
    .bind(until)
    .fetch_all(&db.pool)
    .await?)
}

/// Marks unpaid orders past their deadline expired; returns them (they give stock back).  In
/// multi-node mode (`tell_redis`) each is flagged until Redis has its units back.
pub async fn expire_orders(db: &Db, drop_id: i64, now: i64, tell_redis: bool) -> anyhow::Result<Vec<(NewOrder, bool)>> {
    let mut tx = db.begin_write().await?;
    // A bounded pass, oldest first: a backlog is worked off over several passes instead of one
    // transaction that never finishes in time.
    let rows = sqlx::query("SELECT id, user_id, variant_id, quantity, idempotency_key, fcode_id FROM orders WHERE drop_id = $1 AND status = 'pending' AND expires_at <= $2 ORDER BY expires_at, id LIMIT 1000")
        .bind(drop_id)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
    let mut out = Vec::new();
    for r in &rows {
        let id: i64 = r.get("id");
        // Several nodes may expire at once: only the one whose update applies releases the units.
        let mine = sqlx::query(
            "UPDATE orders SET status = 'expired', redis_pending = $2 WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(tell_redis as i64)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if mine == 0 {
            continue;
        }
        let fcode = opt_i64(r, "fcode_id");
        let quantity: i64 = r.get("quantity");
        let column = if fcode.is_some() { "sold_fcode" } else { "sold_general" };
        sqlx::query(&format!("UPDATE variants SET {column} = {column} - $1 WHERE id = $2"))
            .bind(quantity)
            .bind(r.get::<i64, _>("variant_id"))
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE drop_buyers SET units = units - $1 WHERE drop_id = $2 AND user_id = $3")
            .bind(quantity)
            .bind(drop_id)
            .bind(r.get::<i64, _>("user_id"))
            .execute(&mut *tx)
            .await?;
        out.push((
            NewOrder {
                order_id: id,
                account: r.get("user_id"),
                variant: r.get("variant_id"),
                quantity: quantity as u32,
                idempotency_key: r.get("idempotency_key"),
                fcode,
                stored_at: None,
            },
            fcode.is_some(),
        ));
    }
    tx.commit().await?;
    Ok(out)
}

/// Drops with unpaid orders past their deadline, whether or not anyone opened them since the
/// process started.
pub async fn drops_with_due_orders(db: &Db, now: i64) -> anyhow::Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT drop_id FROM orders WHERE status = 'pending' AND expires_at <= $1")
            .bind(now)
            .fetch_all(&db.pool)
            .await?,
    )
}

/// Drops a background pass must look after: on sale or closed less than a day ago, or with
/// orders still to expire or to tell Redis about.  No cap: a busy calendar never hides one.
pub async fn active_drops(db: &Db, now: i64) -> anyhow::Result<Vec<Drop>> {
    let rows = sqlx::query(
        "SELECT * FROM drops WHERE closes_at > $1 OR id IN (SELECT drop_id FROM orders WHERE status = 'pending') \
         OR id IN (SELECT drop_id FROM orders WHERE redis_pending = 1) ORDER BY id",
    )
    .bind(now - 86_400_000)
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::new();
    for row in &rows {
        let id: i64 = row.get("id");
        out.push(drop_from_row(row, variants(db, id).await?));
    }
    Ok(out)
}

/// Units left per variant (general, F-code) as the database counts them.
pub async fn remaining_in_db(db: &Db, drop_id: i64) -> anyhow::Result<Vec<(i64, u32, u32)>> {
    let rows = sqlx::query(
        "SELECT id, general_stock - sold_general AS g, fcode_stock - sold_fcode AS f FROM variants WHERE drop_id = $1 ORDER BY id",
    )
    .bind(drop_id)
    .fetch_all(&db.pool)
    .await?;
    let units = |v: i64| v.clamp(0, u32::MAX as i64) as u32;
    Ok(rows
        .iter()
        .map(|r| (r.get("id"), units(r.get("g")), units(r.get("f"))))
        .collect())
}

/// The buyer's order under an idempotency key, if any: a retry's answer, which can only ever be
/// the caller's own order.
pub async fn order_by_key(db: &Db, drop_id: i64, user_id: i64, key: &str) -> anyhow::Result<Option<Order>> {
    let row = sqlx::query(&format!(
        "{ORDER_SELECT} WHERE o.drop_id = $1 AND o.user_id = $2 AND o.idempotency_key = $3"
    ))
    .bind(drop_id)
    .bind(user_id)
    .bind(key)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.as_ref().map(order_from_row))
}

/// Pays a pending order that has not expired; `false` otherwise.
pub async fn pay_order(db: &Db, order_id: i64, user_id: i64, now: i64) -> anyhow::Result<bool> {
    let done = sqlx::query("UPDATE orders SET status = 'paid', paid_at = $1 WHERE id = $2 AND user_id = $3 AND status = 'pending' AND expires_at > $1")
        .bind(now)
        .bind(order_id)
        .bind(user_id)
        .execute(&db.pool)
        .await?
        .rows_affected();
    Ok(done == 1)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Order {
    pub id: i64,
    pub drop_slug: String,
    pub variant_id: i64,
    pub variant: String,
    pub quantity: i64,
    /// `pending`, `paid` or `expired`.
    pub status: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_fcode: bool,
}

fn order_from_row(r: &AnyRow) -> Order {
    Order {
        id: r.get("id"),
        drop_slug: r.get("slug"),
        variant_id: r.get("variant_id"),
        variant: r.get("name"),
        quantity: r.get("quantity"),
        status: r.get("status"),
        created_at: r.get("created_at"),
        expires_at: r.get("expires_at"),
        used_fcode: opt_i64(r, "fcode_id").is_some(),
    }
}

const ORDER_SELECT: &str = "SELECT o.id, o.user_id, d.slug, o.variant_id, v.name, o.quantity, o.status, o.created_at, o.expires_at, o.fcode_id \
    FROM orders o JOIN drops d ON d.id = o.drop_id JOIN variants v ON v.id = o.variant_id";

pub async fn order(db: &Db, id: i64) -> anyhow::Result<Option<(Order, i64)>> {
    let row = sqlx::query(&format!("{ORDER_SELECT} WHERE o.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| (order_from_row(&r), r.get("user_id"))))
}

pub async fn orders_of(db: &Db, drop_id: i64, user_id: i64) -> anyhow::Result<Vec<Order>> {
    let rows = sqlx::query(&format!(
        "{ORDER_SELECT} WHERE o.drop_id = $1 AND o.user_id = $2 ORDER BY o.id"
    ))
    .bind(drop_id)
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(order_from_row).collect())
}

/// An order with what its history page shows of its drop.
#[derive(Debug, Clone, Serialize)]
pub struct OrderLine {
    pub order: Order,
    pub drop_name: String,
    pub price_cents: i64,
    pub currency: String,
}

/// A member's orders across every drop, newest first (at most `limit`).
pub async fn orders_of_user(db: &Db, user_id: i64, limit: i64) -> anyhow::Result<Vec<OrderLine>> {
    let rows = sqlx::query(
        "SELECT o.id, o.user_id, d.slug, o.variant_id, v.name, o.quantity, o.status, o.created_at, o.expires_at, \
         o.fcode_id, d.name AS drop_name, d.price_cents, d.currency \
         FROM orders o JOIN drops d ON d.id = o.drop_id JOIN variants v ON v.id = o.variant_id \
         WHERE o.user_id = $1 ORDER BY o.created_at DESC, o.id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| OrderLine {
            order: order_from_row(r),
            drop_name: r.get("drop_name"),
            price_cents: r.get("price_cents"),
            currency: r.get("currency"),
        })
        .collect())
}

/// Records a reservation; `false` if the fan already reserved.
/// Nothing is recorded once the drop's reservations have closed (a draw may have closed them
/// a moment ago), or when the fan already reserved.
pub async fn reserve(
    db: &Db,
    drop_id: i64,
    user_id: i64,
    now: i64,
    post: Option<&SharePost>,
) -> anyhow::Result<Result<bool, Refusal>> {
    // PostgreSQL: the drop row is share-locked, so a reservation and the draw's closing update
    // of that row are ordered: either the reservation commits before the draw reads them, or it
    // sees the new closing time and records nothing. (SQLite has one writer at a time.)
    let lock = match db.backend {
        fanloop_platform::db::Backend::Postgres => " FOR SHARE",
        fanloop_platform::db::Backend::Sqlite => "",
    };
    let sql = format!(
        "INSERT INTO reservations (drop_id, user_id, created_at) \
         SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM drops WHERE id = $1 AND reservations_close_at > $3 \
         AND seed_revealed = 0{lock}) \
         ON CONFLICT (drop_id, user_id) DO NOTHING"
    );
    let mut tx = db.begin_write().await?;
    if post.is_some() && matches!(db.backend, fanloop_platform::db::Backend::Postgres) {
        // A reservation by posting waits for the wall's lock (see `write_post`): not forever,
        // and a node paused while holding it does not hold it for long.
        for setting in ["lock_timeout", "idle_in_transaction_session_timeout"] {
            sqlx::query(&format!("SET LOCAL {setting} = 5000"))
                .execute(&mut *tx)
                .await?;
        }
    }
    let n = sqlx::query(&sql)
        .bind(drop_id)
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    // The post is made with the reservation, or neither is.
    if let (1, Some(post)) = (n, post) {
        if let Err(refusal) = write_post(&mut tx, drop_id, user_id, post, None, "reservation", now).await? {
            tx.rollback().await?;
            return Ok(Err(refusal));
        }
    }
    tx.commit().await?;
    Ok(Ok(n == 1))
}

/// The last characters of a member's usable F-codes for a drop (to remind them they hold one).
pub async fn fcode_hints_of(db: &Db, drop_id: i64, user_id: i64) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT code_hint FROM fcodes WHERE drop_id = $1 AND issued_to = $2 AND used_at IS NULL AND revoked_at IS NULL ORDER BY id",
    )
    .bind(drop_id)
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?)
}

/// Closes a drop's reservations now (running the draw early).
pub async fn close_reservations(db: &Db, drop_id: i64, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE drops SET reservations_close_at = $2 WHERE id = $1 AND reservations_close_at > $2")
        .bind(drop_id)
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn reservation_at(db: &Db, drop_id: i64, user_id: i64) -> anyhow::Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT created_at FROM reservations WHERE drop_id = $1 AND user_id = $2")
            .bind(drop_id)
            .bind(user_id)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// (user, reserved at) in arrival order.
pub async fn reservations(db: &Db, drop_id: i64) -> anyhow::Result<Vec<(i64, i64)>> {
    let rows =
        sqlx::query("SELECT user_id, created_at FROM reservations WHERE drop_id = $1 ORDER BY created_at, user_id")
            .bind(drop_id)
            .fetch_all(&db.pool)
            .await?;
    Ok(rows.iter().map(|r| (r.get("user_id"), r.get("created_at"))).collect())
}

pub async fn reservation_count(db: &Db, drop_id: i64) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM reservations WHERE drop_id = $1")
            .bind(drop_id)
            .fetch_one(&db.pool)
            .await?,
    )
}

/// Stores the draw's result and reveals the seed, atomically; `actor` ran it (`None`: the
/// scheduled draw), written to the audit log.
pub async fn save_admission(db: &Db, drop_id: i64, order: &[(i64, i64)], actor: Option<i64>) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM admissions WHERE drop_id = $1")
        .bind(drop_id)
        .execute(&mut *tx)
        .await?;
    let name: String = sqlx::query_scalar("SELECT name FROM drops WHERE id = $1")
        .bind(drop_id)
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or_default();
    fanloop_platform::audit::record(
        &mut *tx,
        &fanloop_platform::audit::Entry::new(
            actor,
            "launch.draw",
            "drop",
            &drop_id.to_string(),
            &name,
            serde_json::json!({ "admitted": order.len() }),
        ),
    )
    .await?;
    for (position, (user, at)) in order.iter().enumerate() {
        sqlx::query("INSERT INTO admissions (drop_id, user_id, position, admitted_at) VALUES ($1, $2, $3, $4)")
            .bind(drop_id)
            .bind(user)
            .bind(position as i64 + 1)
            .bind(at)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("UPDATE drops SET seed_revealed = 1 WHERE id = $1")
        .bind(drop_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn admissions(db: &Db, drop_id: i64) -> anyhow::Result<Vec<(i64, i64)>> {
    let rows = sqlx::query("SELECT user_id, admitted_at FROM admissions WHERE drop_id = $1 ORDER BY position")
        .bind(drop_id)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(|r| (r.get("user_id"), r.get("admitted_at"))).collect())
}

pub async fn admission_of(db: &Db, drop_id: i64, user_id: i64) -> anyhow::Result<Option<(i64, i64)>> {
    let row = sqlx::query("SELECT position, admitted_at FROM admissions WHERE drop_id = $1 AND user_id = $2")
        .bind(drop_id)
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| (r.get("position"), r.get("admitted_at"))))
}

pub async fn seed_of(db: &Db, drop_id: i64) -> anyhow::Result<String> {
    Ok(sqlx::query_scalar("SELECT seed FROM drops WHERE id = $1")
        .bind(drop_id)
        .fetch_one(&db.pool)
        .await?)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Fcode {
    pub id: i64,
    /// Last characters of the code, to recognise it.
    pub hint: String,
    pub issued_to: String,
    pub transferable: bool,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub used_at: Option<i64>,
    pub used_by: Option<String>,
}

pub async fn create_fcode(
    db: &Db,
    drop_id: i64,
    code_hash: &str,
    hint: &str,
    issued_to: i64,
    transferable: bool,
    issued_by: i64,
) -> anyhow::Result<i64> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO fcodes (drop_id, code_hash, code_hint, issued_to, transferable, issued_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(drop_id)
    .bind(code_hash)
    .bind(hint)
    .bind(issued_to)
    .bind(transferable as i64)
    .bind(issued_by)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO fcode_audit (fcode_id, action, actor_id, created_at) VALUES ($1, 'issued', $2, $3)")
        .bind(id)
        .bind(issued_by)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    fanloop_platform::audit::record(
        &mut *tx,
        &fanloop_platform::audit::Entry::new(
            Some(issued_by),
            "fcode.issue",
            "fcode",
            &id.to_string(),
            hint,
            serde_json::json!({ "drop_id": drop_id, "issued_to": issued_to, "transferable": transferable }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The F-code with this hash in this drop: (id, issued_to, transferable, usable).
pub async fn fcode_by_hash(db: &Db, drop_id: i64, code_hash: &str) -> anyhow::Result<Option<(i64, i64, bool, bool)>> {
    let row = sqlx::query(
        "SELECT id, issued_to, transferable, revoked_at, used_at FROM fcodes WHERE drop_id = $1 AND code_hash = $2",
    )
    .bind(drop_id)
    .bind(code_hash)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| {
        let usable = opt_i64(&r, "revoked_at").is_none() && opt_i64(&r, "used_at").is_none();
        (
            r.get("id"),
            r.get("issued_to"),
            r.get::<i64, _>("transferable") != 0,
            usable,
        )
    }))
}

pub async fn list_fcodes(db: &Db, drop_id: i64) -> anyhow::Result<Vec<Fcode>> {
    let rows = sqlx::query(
        "SELECT f.id, f.code_hint, u.username, f.transferable, f.created_at, f.revoked_at, f.used_at, b.username AS buyer \
         FROM fcodes f JOIN users u ON u.id = f.issued_to LEFT JOIN users b ON b.id = f.used_by WHERE f.drop_id = $1 ORDER BY f.id",
    )
    .bind(drop_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Fcode {
            id: r.get("id"),
            hint: r.get("code_hint"),
            issued_to: r.get("username"),
            transferable: r.get::<i64, _>("transferable") != 0,
            created_at: r.get("created_at"),
            revoked_at: opt_i64(r, "revoked_at"),
            used_at: opt_i64(r, "used_at"),
            used_by: fanloop_platform::db::opt_string(r, "buyer"),
        })
        .collect())
}

/// Revokes an unused code; `false` if it was used or already revoked.
pub async fn revoke_fcode(db: &Db, id: i64, actor: i64) -> anyhow::Result<bool> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let n = sqlx::query("UPDATE fcodes SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL AND used_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 1 {
        sqlx::query("INSERT INTO fcode_audit (fcode_id, action, actor_id, created_at) VALUES ($1, 'revoked', $2, $3)")
            .bind(id)
            .bind(actor)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        fanloop_platform::audit::record(
            &mut *tx,
            &fanloop_platform::audit::Entry::new(
                Some(actor),
                "fcode.revoke",
                "fcode",
                &id.to_string(),
                "",
                serde_json::json!({}),
            ),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(n == 1)
}

pub async fn fcode_drop(db: &Db, id: i64) -> anyhow::Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT drop_id FROM fcodes WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SaleStats {
    pub reservations: i64,
    pub orders: i64,
    pub units_sold: i64,
    pub paid: i64,
    pub expired: i64,
    /// Units sold in each of the first seconds of the sale.
    pub sold_per_second: Vec<SecondSales>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SecondSales {
    /// Seconds since the opening.
    pub second: i64,
    pub units: i64,
}

pub async fn stats(db: &Db, drop: &Drop) -> anyhow::Result<SaleStats> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS orders, CAST(COALESCE(SUM(CASE WHEN status <> 'expired' THEN quantity ELSE 0 END), 0) AS BIGINT) AS units, \
         CAST(COALESCE(SUM(CASE WHEN status = 'paid' THEN 1 ELSE 0 END), 0) AS BIGINT) AS paid, \
         CAST(COALESCE(SUM(CASE WHEN status = 'expired' THEN 1 ELSE 0 END), 0) AS BIGINT) AS expired FROM orders WHERE drop_id = $1",
    )
    .bind(drop.id)
    .fetch_one(&db.pool)
    .await?;
    let per_second = sqlx::query(
        "SELECT (created_at - $2) / 1000 AS second, CAST(SUM(quantity) AS BIGINT) AS units FROM orders WHERE drop_id = $1 AND status <> 'expired' \
         GROUP BY (created_at - $2) / 1000 ORDER BY second LIMIT 600",
    )
    .bind(drop.id)
    .bind(drop.opens_at)
    .fetch_all(&db.pool)
    .await?;
    Ok(SaleStats {
        reservations: reservation_count(db, drop.id).await?,
        orders: row.get("orders"),
        units_sold: row.get("units"),
        paid: row.get("paid"),
        expired: row.get("expired"),
        sold_per_second: per_second
            .iter()
            .map(|r| SecondSales {
                second: r.get("second"),
                units: r.get("units"),
            })
            .collect(),
    })
}

/// The head of the admission list (draw winners or queue), for staff: (position, username, admitted at).
pub async fn admission_list(db: &Db, drop_id: i64, limit: i64) -> anyhow::Result<Vec<(i64, String, i64)>> {
    let rows = sqlx::query(
        "SELECT a.position, u.username, a.admitted_at FROM admissions a JOIN users u ON u.id = a.user_id WHERE a.drop_id = $1 ORDER BY a.position LIMIT $2",
    )
    .bind(drop_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("position"), r.get("username"), r.get("admitted_at")))
        .collect())
}

/// An order as campaign dashboards count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEvent {
    pub created_at: i64,
    pub paid: bool,
    /// Units × the drop's price, in cents of the drop's currency.
    pub value_cents: i64,
}

/// The live (not expired) orders of a drop placed in [since, until).
pub async fn order_events(db: &Db, drop_id: i64, since: i64, until: i64) -> anyhow::Result<Vec<OrderEvent>> {
    let rows = sqlx::query(
        "SELECT o.created_at, o.status, o.quantity * d.price_cents AS value FROM orders o JOIN drops d ON d.id = o.drop_id \
         WHERE o.drop_id = $1 AND o.status <> 'expired' AND o.created_at >= $2 AND o.created_at < $3",
    )
    .bind(drop_id)
    .bind(since)
    .bind(until)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| OrderEvent {
            created_at: r.get("created_at"),
            paid: r.get::<String, _>("status") == "paid",
            value_cents: r.get("value"),
        })
        .collect())
}

/// Drops opening within `lead_ms` whose reservers have not been reminded yet: (id, name, slug, opens_at).
pub async fn drops_to_remind(db: &Db, now: i64, lead_ms: i64) -> anyhow::Result<Vec<(i64, String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT id, name, slug, opens_at FROM drops WHERE reminder_sent_at IS NULL AND opens_at > $1 AND opens_at <= $2",
    )
    .bind(now)
    .bind(now + lead_ms)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("id"), r.get("name"), r.get("slug"), r.get("opens_at")))
        .collect())
}

/// Claims a drop's reminder and notifies every reserver, in one transaction (one statement for
/// all of them: a launch may have 50,000). `None` when another node claimed it first.
pub async fn remind_reservers(db: &Db, drop_id: i64, name: &str, slug: &str, now: i64) -> anyhow::Result<Option<u64>> {
    let mut tx = db.begin_write().await?;
    let claimed = sqlx::query("UPDATE drops SET reminder_sent_at = $1 WHERE id = $2 AND reminder_sent_at IS NULL")
        .bind(now)
        .bind(drop_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if claimed == 0 {
        return Ok(None);
    }
    // The notification rows as `notifications::notify` writes them (a kind turned off is skipped).
    let n = sqlx::query(&format!(
        "INSERT INTO notifications (user_id, kind, actor_id, subject, link, detail, created_at) \
         SELECT r.user_id, 'launch_reminder', NULL, $2, $3, NULL, $4 FROM reservations r WHERE r.drop_id = $1 \
         AND {}",
        fanloop_platform::notifications::not_turned_off(
            "r.user_id",
            fanloop_platform::notifications::NotificationKind::LaunchReminder
        )
    ))
    .bind(drop_id)
    .bind(name)
    .bind(format!("/drops/{slug}"))
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(Some(n))
}
