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
-- KEYS: stock, bought (hash), idempotency (hash), order sequence, in flight (hash)
-- ARGV: account, idempotency key, quantity, per-account limit, now (ms)
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
-- Until its node stores it (or a reconciler voids it), the decision is in flight: if the node
-- dies in between, the reconciler finds it here and gives its units back.
-- (Numbers travel as strings: cjson would print a millisecond time in exponent notation.)
redis.call('HSET', KEYS[5], id, cjson.encode({at = ARGV[5], stock = KEYS[1], account = ARGV[1], key = ARGV[2], quantity = ARGV[3]}))
return {1, id}
"#;

const UNDO: &str = r#"
-- KEYS: stock, bought, idempotency, in flight
-- ARGV: account, idempotency key (empty: keep), quantity, order id in flight (empty: none)
-- With an order id, the units go back only if this call is the one that takes the decision
-- out of flight: a node and a reconciler can never both give them back.
if ARGV[4] ~= '' and redis.call('HDEL', KEYS[4], ARGV[4]) == 0 then return 0 end
redis.call('INCRBY', KEYS[1], tonumber(ARGV[3]))
redis.call('HINCRBY', KEYS[2], ARGV[1], -tonumber(ARGV[3]))
if ARGV[2] ~= '' then redis.call('HDEL', KEYS[3], ARGV[1] .. ':' .. ARGV[2]) end
return 1
"#;

/// A decision taken in Redis whose order its node has not stored for this long is presumed
/// lost (the node died between the two); the reconciler then voids it and gives its units back.
pub const STALE_DECISION_MS: i64 = 30_000;

/// What the purchase script records for a decision in flight.
#[derive(Debug, serde::Deserialize)]
struct InFlight {
    at: String,
    stock: String,
    account: String,
    key: String,
    quantity: String,
}

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
            .ignore()
            .del(self.key(d.id, "inflight"))
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
        let order = match self.decide(d, a).await? {
            Ok(order) => order,
            Err(decision) => return Ok(decision),
        };
        self.store(d, order).await
    }

    /// The Redis half of a purchase: the decision, and for an acceptance the order to store.
    /// Public for tests, which stop here to play a node dying before it stores the order.
    #[doc(hidden)]
    pub async fn decide(&self, d: &Drop, a: &Attempt) -> anyhow::Result<Result<NewOrder, Decision>> {
        self.ensure_loaded(d).await?;
        let mut r = self.redis.clone();
        let stock = self.stock_key(d.id, a.variant, a.fcode.is_some());
        let (verdict, id): (i64, i64) = self
            .purchase
            .key(&stock)
            .key(self.key(d.id, "bought"))
            .key(self.key(d.id, "idem"))
            .key(self.key(d.id, "seq"))
            .key(self.key(d.id, "inflight"))
            .arg(a.account)
            .arg(&a.idempotency_key)
            .arg(a.quantity)
            .arg(d.per_account_limit)
            .arg(now_ms())
            .invoke_async(&mut r)
            .await?;
        Ok(match verdict {
            2 => Err(Decision::Replayed(id)),
            -1 => Err(Decision::Rejected(Rejection::LimitReached)),
            0 => Err(Decision::Rejected(Rejection::SoldOut)),
            _ => Ok(NewOrder {
                order_id: id,
                account: a.account,
                variant: a.variant,
                quantity: a.quantity,
                idempotency_key: a.idempotency_key.clone(),
                fcode: a.fcode,
            }),
        })
    }

    /// The database half: claims the id and stores the order, then takes it out of flight.
    async fn store(&self, d: &Drop, order: NewOrder) -> anyhow::Result<Decision> {
        let mut r = self.redis.clone();
        let stock = self.stock_key(d.id, order.variant, order.fcode.is_some());
        let now = now_ms();
        let stored = store::commit_claimed_order(&self.db, d.id, &order, now, now + d.payment_seconds * 1_000).await;
        match stored {
            Ok(true) => {
                // Best effort: if this fails, the reconciler finds the claim and clears it.
                let _ = redis::cmd("HDEL")
                    .arg(self.key(d.id, "inflight"))
                    .arg(order.order_id)
                    .query_async::<i64>(&mut r)
                    .await;
                Ok(Decision::Accepted(order))
            }
            // A reconciler voided it (this node took too long) and gave the units back itself.
            Ok(false) => anyhow::bail!("order not stored in time; try again"),
            Err(e) => {
                // Not stored: give the units and the key back, then tell the client.
                let _: i64 = self
                    .undo
                    .key(&stock)
                    .key(self.key(d.id, "bought"))
                    .key(self.key(d.id, "idem"))
                    .key(self.key(d.id, "inflight"))
                    .arg(order.account)
                    .arg(&order.idempotency_key)
                    .arg(order.quantity)
                    .arg(order.order_id)
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

    /// Settles decisions in flight for longer than `stale_ms`: an order that was stored only
    /// leaves the list; one that was not is voided in the database (so its node can no longer
    /// store it) and its units and idempotency key go back.  Safe on every node at once.
    /// Returns how many decisions were given back.
    pub async fn reconcile(&self, d: &Drop, stale_ms: i64) -> anyhow::Result<usize> {
        let mut r = self.redis.clone();
        let inflight = self.key(d.id, "inflight");
        let entries: Vec<(i64, String)> = redis::cmd("HGETALL").arg(&inflight).query_async(&mut r).await?;
        let now = now_ms();
        let mut given_back = 0;
        for (order_id, raw) in entries {
            let parsed = serde_json::from_str::<InFlight>(&raw).ok().and_then(|f| {
                Some((
                    f.at.parse::<i64>().ok()?,
                    f.account.parse::<i64>().ok()?,
                    f.quantity.parse::<u32>().ok()?,
                    f,
                ))
            });
            let Some((at, account, quantity, f)) = parsed else {
                tracing::error!("drop {}: unreadable decision in flight {order_id}: {raw}", d.id);
                continue;
            };
            if now - at < stale_ms {
                continue;
            }
            if store::void_claim(&self.db, order_id).await? == "order" {
                redis::cmd("HDEL")
                    .arg(&inflight)
                    .arg(order_id)
                    .query_async::<i64>(&mut r)
                    .await?;
                continue;
            }
            let undone: i64 = self
                .undo
                .key(&f.stock)
                .key(self.key(d.id, "bought"))
                .key(self.key(d.id, "idem"))
                .key(&inflight)
                .arg(account)
                .arg(&f.key)
                .arg(quantity)
                .arg(order_id)
                .invoke_async(&mut r)
                .await?;
            if undone == 1 {
                tracing::warn!(
                    "drop {}: order {order_id} of account {} was decided but never stored; its {} unit(s) are back on sale",
                    d.id,
                    account,
                    quantity
                );
                given_back += 1;
            }
        }
        Ok(given_back)
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
                .key(self.key(d.id, "inflight"))
                .arg(o.account)
                .arg("")
                .arg(o.quantity)
                .arg("")
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
