//! Multi-node sales: several `fanloop serve` processes sell the same drop.  Redis holds the hot
//! counters (stock per pool, units per account, idempotency keys, order ids) and decides each
//! attempt in one Lua script; PostgreSQL holds the orders.  An order is acknowledged only after
//! its PostgreSQL transaction commits, and that transaction also moves the variant's `sold_*`
//! counter under a CHECK constraint, so even a Redis that lost its last writes cannot make the
//! database oversell: at worst an attempt is refused and Redis is corrected.
//!
//! The rules checked before stock (window, eligibility, admission) need no shared state and run
//! on the node; admission for draws and queues is read from the database.

use fanloop_platform::db::now_ms;
use fanloop_platform::Db;
use redis::aio::ConnectionManager;

use crate::engine::{Attempt, Decision, NewOrder, Rejection, SaleMode};
use crate::store::{self, Drop};

const PURCHASE: &str = r#"
-- KEYS: stock, bought (hash), idempotency (hash), order sequence
-- ARGV: account, idempotency key, quantity, per-account limit
local idk = ARGV[1] .. ':' .. ARGV[2]
local previous = redis.call('HGET', KEYS[3], idk)
if previous then return {2, tonumber(previous)} end
local q = tonumber(ARGV[3])
local bought = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if bought + q > tonumber(ARGV[4]) then return {-1, 0} end
local left = tonumber(redis.call('GET', KEYS[1]) or '0')
if left < q then return {0, 0} end
redis.call('DECRBY', KEYS[1], q)
redis.call('HINCRBY', KEYS[2], ARGV[1], q)
local id = redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[3], idk, id)
return {1, id}
"#;

const UNDO: &str = r#"
-- KEYS: stock, bought, idempotency; ARGV: account, idempotency key (empty: keep), quantity
redis.call('INCRBY', KEYS[1], tonumber(ARGV[3]))
redis.call('HINCRBY', KEYS[2], ARGV[1], -tonumber(ARGV[3]))
if ARGV[2] ~= '' then redis.call('HDEL', KEYS[3], ARGV[1] .. ':' .. ARGV[2]) end
return 1
"#;

#[derive(Clone)]
pub struct Cluster {
    /// Key prefix: one per deployment, so several fanloop installations can share a Redis.
    prefix: String,
    redis: ConnectionManager,
    db: Db,
    purchase: std::sync::Arc<redis::Script>,
    undo: std::sync::Arc<redis::Script>,
}

impl Cluster {
    fn key(&self, drop: i64, what: &str) -> String {
        format!("{}:drop:{drop}:{what}", self.prefix)
    }

    fn stock_key(&self, drop: i64, variant: i64, fcode: bool) -> String {
        self.key(drop, &format!("stock:{variant}:{}", if fcode { "f" } else { "g" }))
    }

    pub async fn connect(url: &str, prefix: &str, db: Db) -> anyhow::Result<Cluster> {
        let client = redis::Client::open(url)?;
        let redis = ConnectionManager::new(client).await?;
        Ok(Cluster {
            prefix: prefix.to_string(),
            redis,
            db,
            purchase: std::sync::Arc::new(redis::Script::new(PURCHASE)),
            undo: std::sync::Arc::new(redis::Script::new(UNDO)),
        })
    }

    /// Loads a drop's counters into Redis from the database, once (the first node wins); also
    /// after Redis lost them.
    async fn ensure_loaded(&self, d: &Drop) -> anyhow::Result<()> {
        let mut r = self.redis.clone();
        let ready: bool = redis::cmd("EXISTS")
            .arg(self.key(d.id, "ready"))
            .query_async(&mut r)
            .await?;
        if ready {
            return Ok(());
        }
        let won: bool = redis::cmd("SET")
            .arg(self.key(d.id, "loading"))
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(30)
            .query_async::<Option<String>>(&mut r)
            .await?
            .is_some();
        if !won {
            for _ in 0..300 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                if redis::cmd("EXISTS")
                    .arg(self.key(d.id, "ready"))
                    .query_async::<bool>(&mut r)
                    .await?
                {
                    return Ok(());
                }
            }
            anyhow::bail!("another node is still loading drop {}", d.id);
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        let rows: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT id, general_stock, fcode_stock, sold_general, sold_fcode FROM variants WHERE drop_id = $1",
        )
        .bind(d.id)
        .fetch_all(&self.db.pool)
        .await?;
        for (variant, general, fcode, sold_g, sold_f) in rows {
            pipe.set(self.stock_key(d.id, variant, false), general - sold_g)
                .ignore();
            pipe.set(self.stock_key(d.id, variant, true), fcode - sold_f).ignore();
        }
        pipe.del(self.key(d.id, "bought"))
            .ignore()
            .del(self.key(d.id, "idem"))
            .ignore();
        for (order, _) in store::live_orders(&self.db, d.id).await? {
            pipe.hincr(self.key(d.id, "bought"), order.account, order.quantity)
                .ignore();
            pipe.hset(
                self.key(d.id, "idem"),
                format!("{}:{}", order.account, order.idempotency_key),
                order.order_id,
            )
            .ignore();
        }
        for (account, idk, order_id) in store::expired_keys(&self.db, d.id).await? {
            pipe.hset(self.key(d.id, "idem"), format!("{account}:{idk}"), order_id)
                .ignore();
        }
        let seq = store::max_order_id(&self.db, d.id)
            .await?
            .unwrap_or(d.id * 1_000_000_000);
        pipe.set(self.key(d.id, "seq"), seq).ignore();
        pipe.set(self.key(d.id, "ready"), 1).ignore();
        pipe.query_async::<()>(&mut r).await?;
        Ok(())
    }

    pub async fn purchase(&self, d: &Drop, a: &Attempt) -> anyhow::Result<Decision> {
        if let Some(rejection) = self.local_checks(d, a).await? {
            return Ok(Decision::Rejected(rejection));
        }
        if !d.variants.iter().any(|v| v.id == a.variant) {
            return Ok(Decision::Rejected(Rejection::UnknownVariant));
        }
        self.ensure_loaded(d).await?;
        let mut r = self.redis.clone();
        let stock = self.stock_key(d.id, a.variant, a.fcode.is_some());
        let (verdict, id): (i64, i64) = self
            .purchase
            .key(&stock)
            .key(self.key(d.id, "bought"))
            .key(self.key(d.id, "idem"))
            .key(self.key(d.id, "seq"))
            .arg(a.account)
            .arg(&a.idempotency_key)
            .arg(a.quantity)
            .arg(d.per_account_limit)
            .invoke_async(&mut r)
            .await?;
        match verdict {
            2 => return Ok(Decision::Replayed(id)),
            -1 => return Ok(Decision::Rejected(Rejection::LimitReached)),
            0 => return Ok(Decision::Rejected(Rejection::SoldOut)),
            _ => {}
        }
        let order = NewOrder {
            order_id: id,
            account: a.account,
            variant: a.variant,
            quantity: a.quantity,
            idempotency_key: a.idempotency_key.clone(),
            fcode: a.fcode,
        };
        let now = now_ms();
        match store::commit_orders(
            &self.db,
            d.id,
            std::slice::from_ref(&order),
            now,
            now + d.payment_seconds * 1_000,
        )
        .await
        {
            Ok(()) => Ok(Decision::Accepted(order)),
            Err(e) => {
                // Not stored: give the units and the key back, then tell the client.
                let _: i64 = self
                    .undo
                    .key(&stock)
                    .key(self.key(d.id, "bought"))
                    .key(self.key(d.id, "idem"))
                    .arg(a.account)
                    .arg(&a.idempotency_key)
                    .arg(a.quantity)
                    .invoke_async(&mut r)
                    .await?;
                if format!("{e:#}").contains("no stock left") {
                    // Redis believed in stock the database does not have (it lost writes): resync.
                    redis::cmd("DEL")
                        .arg(self.key(d.id, "ready"))
                        .query_async::<()>(&mut r)
                        .await?;
                    return Ok(Decision::Rejected(Rejection::SoldOut));
                }
                Err(e)
            }
        }
    }

    async fn local_checks(&self, d: &Drop, a: &Attempt) -> anyhow::Result<Option<Rejection>> {
        let rules = d.rules();
        if a.quantity == 0 {
            return Ok(Some(Rejection::BadQuantity));
        }
        let opens = if a.fcode.is_some() {
            rules.fcode_opens_at
        } else {
            rules.opens_at
        };
        if a.now < opens {
            return Ok(Some(Rejection::NotOpen { opens_at: opens }));
        }
        if a.now >= rules.closes_at {
            return Ok(Some(Rejection::Closed));
        }
        if a.honor_rank < rules.min_honor_rank || a.now - a.account_created_at < rules.min_account_age_ms {
            return Ok(Some(Rejection::NotEligible));
        }
        if a.fcode.is_none() && rules.mode != SaleMode::Open {
            match store::admission_of(&self.db, d.id, a.account).await? {
                None => return Ok(Some(Rejection::NotSelected)),
                Some((_, at)) if a.now < at => return Ok(Some(Rejection::NotYourTurn { admitted_at: at })),
                Some(_) => {}
            }
        }
        Ok(None)
    }

    /// Expires unpaid orders (whichever node gets each one) and gives their units back in Redis.
    pub async fn expire(&self, d: &Drop) -> anyhow::Result<usize> {
        let expired = store::expire_orders(&self.db, d.id, now_ms()).await?;
        let mut r = self.redis.clone();
        for (o, from_fcode) in &expired {
            let _: i64 = self
                .undo
                .key(self.stock_key(d.id, o.variant, *from_fcode))
                .key(self.key(d.id, "bought"))
                .key(self.key(d.id, "idem"))
                .arg(o.account)
                .arg("")
                .arg(o.quantity)
                .invoke_async(&mut r)
                .await?;
        }
        Ok(expired.len())
    }

    /// Remaining units per variant as Redis sees them (general, F-code).
    pub async fn remaining(&self, d: &Drop) -> anyhow::Result<Vec<(i64, u32, u32)>> {
        self.ensure_loaded(d).await?;
        let mut r = self.redis.clone();
        let mut out = Vec::new();
        for v in &d.variants {
            let g: i64 = redis::cmd("GET")
                .arg(self.stock_key(d.id, v.id, false))
                .query_async(&mut r)
                .await?;
            let f: i64 = redis::cmd("GET")
                .arg(self.stock_key(d.id, v.id, true))
                .query_async(&mut r)
                .await?;
            out.push((v.id, g.max(0) as u32, f.max(0) as u32));
        }
        Ok(out)
    }

    /// Forgets every drop's counters (tests start from a clean Redis).
    pub async fn reset_drop(&self, drop_id: i64) -> anyhow::Result<()> {
        let mut r = self.redis.clone();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(self.key(drop_id, "*"))
            .query_async(&mut r)
            .await?;
        if !keys.is_empty() {
            redis::cmd("DEL").arg(keys).query_async::<()>(&mut r).await?;
        }
        Ok(())
    }
}
