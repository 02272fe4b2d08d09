//! Multi-node sales: several `fanloop serve` processes sell the same drop.  Redis holds the hot
//! counters (stock per pool, units per account, idempotency keys, spent F-codes) and decides each
//! attempt in one Lua script; PostgreSQL is the system of record and checks every rule again
//! (stock, per-account limit, single-use F-codes, one order per idempotency key) in the
//! transaction that stores the order.  An order is acknowledged only after that transaction
//! commits, and its id comes from the database, so nothing Redis forgets or repeats can make the
//! database oversell, exceed a limit, or answer one buyer with another's order.
//!
//! **Epochs.**  Redis's state for a drop is loaded from one consistent database snapshot and
//! stamped with a fresh random epoch.  Every decision carries a token `epoch:n`.  When Redis
//! loses its state (restart, eviction) or the database refuses a decision Redis took (a sign of
//! drift), the epoch key disappears ("frozen"): no decision is taken until a node reloads.
//! Settling scripts tell apart decisions of the current epoch (counted when taken) from older
//! ones (counted only if the snapshot did not include them), using the sets of order ids the
//! snapshot saw as live (`seen`) and as expired (`released`).
//!
//! **Leases.**  Every node keeps a heartbeat key alive in Redis (`--node-lease-ms`, 3 s by
//! default).  A decision still in flight whose node's lease lapsed — or that is older than
//! [`ClusterOptions::max_in_flight`] — is voided in the database (so its node can no longer
//! store it) and its units go back, within a few seconds of the node's death.
//!
//! **Catching up.**  Orders are written with `redis_pending = 1`, and expiry sets it again;
//! every node's background pass tells Redis of such orders (idempotently) and clears the flag, so
//! a node dying between the database and Redis never leaves units stuck.
//!
//! **Failing fast.**  Every Redis call has a timeout, and so does the database transaction: a
//! purchase is answered 503 with `Retry-After` instead of hanging, and an attempt whose commit
//! timed out is resolved in the background (voided or settled) so its units never stay held.
//!
//! The rules checked before stock (window, eligibility, admission) need no shared state and run
//! on the node; admission for draws and queues is read from the database.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use fanloop_platform::db::now_ms;
use fanloop_platform::Db;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::engine::{Attempt, Decision, NewOrder, Rejection, SaleMode};
use crate::store::{self, Decided, Drop, Refusal, Stored, SyncOrder};

const PURCHASE: &str = r#"
-- KEYS: epoch, stock, bought, idem, seq, inflight, fcodes
-- ARGV: account, idempotency key, quantity, per-account limit, now (ms), node, F-code id or ''
local epoch = redis.call('GET', KEYS[1])
if not epoch then return {-9, ''} end
local idk = ARGV[1] .. ':' .. ARGV[2]
local previous = redis.call('HGET', KEYS[4], idk)
if previous then return {2, previous} end
local q = tonumber(ARGV[3])
local bought = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if bought + q > tonumber(ARGV[4]) then return {-1, ''} end
if ARGV[7] ~= '' and redis.call('SISMEMBER', KEYS[7], ARGV[7]) == 1 then return {-2, ''} end
local left = tonumber(redis.call('GET', KEYS[2]) or '0')
if left < q then return {0, ''} end
redis.call('DECRBY', KEYS[2], q)
redis.call('HINCRBY', KEYS[3], ARGV[1], q)
if ARGV[7] ~= '' then redis.call('SADD', KEYS[7], ARGV[7]) end
local token = epoch .. ':' .. redis.call('INCR', KEYS[5])
redis.call('HSET', KEYS[4], idk, token)
-- In flight until its node stores it (or a reconciler voids it).  Numbers travel as strings:
-- cjson would print a millisecond time in exponent notation.
redis.call('HSET', KEYS[6], token, cjson.encode({at = ARGV[5], node = ARGV[6], stock = KEYS[2],
  account = ARGV[1], key = ARGV[2], quantity = ARGV[3], fcode = ARGV[7]}))
return {1, token}
"#;

const SETTLE: &str = r#"
-- An order was stored.  KEYS: epoch, stock, bought, idem, inflight, fcodes, seen, released
-- ARGV: token, order id, account, idempotency key, quantity, F-code id or ''
if not redis.call('GET', KEYS[1]) then return -9 end
if redis.call('HDEL', KEYS[5], ARGV[1]) == 1 then
  redis.call('SADD', KEYS[7], ARGV[2])
  return 1
end
if redis.call('SISMEMBER', KEYS[7], ARGV[2]) == 1 or redis.call('SISMEMBER', KEYS[8], ARGV[2]) == 1 then
  return 0
end
-- Decided in an earlier epoch and stored after this one's snapshot: count it now.
redis.call('SADD', KEYS[7], ARGV[2])
redis.call('DECRBY', KEYS[2], tonumber(ARGV[5]))
redis.call('HINCRBY', KEYS[3], ARGV[3], tonumber(ARGV[5]))
redis.call('HSET', KEYS[4], ARGV[3] .. ':' .. ARGV[4], ARGV[1])
if ARGV[6] ~= '' then redis.call('SADD', KEYS[6], ARGV[6]) end
return 2
"#;

const UNDO: &str = r#"
-- A decision that will never be stored.  KEYS: stock, bought, idem, inflight, fcodes
-- ARGV: token, account, idempotency key, quantity, F-code id or ''
-- Only the call that takes the decision out of flight gives its units back: a node and a
-- reconciler can never both do it, and a decision of an earlier epoch was never counted here.
if redis.call('HDEL', KEYS[4], ARGV[1]) == 0 then return 0 end
redis.call('INCRBY', KEYS[1], tonumber(ARGV[4]))
redis.call('HINCRBY', KEYS[2], ARGV[2], -tonumber(ARGV[4]))
local idk = ARGV[2] .. ':' .. ARGV[3]
if redis.call('HGET', KEYS[3], idk) == ARGV[1] then redis.call('HDEL', KEYS[3], idk) end
if ARGV[5] ~= '' then redis.call('SREM', KEYS[5], ARGV[5]) end
return 1
"#;

const RELEASE: &str = r#"
-- An order expired in the database.  KEYS: epoch, stock, bought, inflight, seen, released
-- ARGV: token or '', order id, account, quantity
if not redis.call('GET', KEYS[1]) then return -9 end
if redis.call('SADD', KEYS[6], ARGV[2]) == 0 then return 0 end
local counted = redis.call('SISMEMBER', KEYS[5], ARGV[2]) == 1
if ARGV[1] ~= '' and redis.call('HDEL', KEYS[4], ARGV[1]) == 1 then
  redis.call('SADD', KEYS[5], ARGV[2])
  counted = true
end
if not counted then return 0 end
redis.call('INCRBY', KEYS[2], tonumber(ARGV[4]))
redis.call('HINCRBY', KEYS[3], ARGV[3], -tonumber(ARGV[4]))
return 1
"#;

const FREEZE: &str = r#"
-- The database refused what Redis decided: Redis drifted.  Stop deciding in this epoch until a
-- node reloads (unless a reload already happened).  KEYS: epoch; ARGV: the decision's epoch
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
"#;

const INSTALL: &str = r#"
-- Moves a staged load into place unless another node finished loading first, this node no
-- longer holds the load lock, or the staged keys are not all there (Redis restarted, or they
-- expired, in between): then the staged keys go and nothing is installed.
-- KEYS: epoch, loading, seq, inflight, staged marker, then pairs (staged, live)
-- ARGV: new epoch, this node
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('GET', KEYS[2]) ~= ARGV[2]
   or redis.call('EXISTS', KEYS[5]) == 0 then
  redis.call('DEL', KEYS[5])
  for i = 6, #KEYS, 2 do redis.call('DEL', KEYS[i]) end
  return 0
end
redis.call('DEL', KEYS[5])
for i = 6, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('RENAME', KEYS[i], KEYS[i + 1])
    redis.call('PERSIST', KEYS[i + 1])
  else
    redis.call('DEL', KEYS[i + 1])
  end
end
redis.call('DEL', KEYS[4])
redis.call('SET', KEYS[3], 0)
redis.call('SET', KEYS[1], ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return 1
"#;

const UNLOCK: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

/// How a node takes part in a multi-node sale.
#[derive(Debug, Clone, Copy)]
pub struct ClusterOptions {
    /// A node that has not renewed its heartbeat for this long is presumed dead: its decisions in
    /// flight are voided and their units go back.
    pub lease: Duration,
    /// Longest wait for any Redis call before answering 503.
    pub redis_timeout: Duration,
    /// Longest wait for the database transaction that stores an order before answering 503 (the
    /// attempt is then resolved in the background).
    pub commit_timeout: Duration,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            lease: Duration::from_millis(3_000),
            redis_timeout: Duration::from_millis(1_000),
            commit_timeout: Duration::from_millis(3_000),
        }
    }
}

impl ClusterOptions {
    /// A decision in flight longer than this is settled even if its node looks alive: no node
    /// keeps one that long (its commit timed out and its own resolution failed).
    pub fn max_in_flight(&self) -> Duration {
        (self.lease + self.commit_timeout * 2 + self.redis_timeout * 2).max(Duration::from_secs(5))
    }
    /// Orders stored at least this long ago are caught up by the background pass.
    fn catch_up_after(&self) -> Duration {
        self.commit_timeout + self.redis_timeout * 2
    }
}

/// What the purchase script records for a decision in flight.
#[derive(Debug, serde::Deserialize)]
struct InFlight {
    at: String,
    node: String,
    stock: String,
    account: String,
    key: String,
    quantity: String,
    fcode: String,
}

struct Scripts {
    purchase: redis::Script,
    settle: redis::Script,
    undo: redis::Script,
    release: redis::Script,
    freeze: redis::Script,
    install: redis::Script,
    unlock: redis::Script,
}

#[derive(Clone)]
pub struct Cluster {
    /// Key prefix: one per deployment, so several fanloop installations can share a Redis.
    prefix: String,
    redis: ConnectionManager,
    db: Db,
    scripts: Arc<Scripts>,
    /// This process, for leases.
    node: String,
    options: ClusterOptions,
}

/// A decision's units and owner, as the scripts need them.
struct Held<'a> {
    stock: &'a str,
    account: i64,
    key: &'a str,
    quantity: u32,
    fcode: Option<i64>,
}

fn fcode_arg(fcode: Option<i64>) -> String {
    fcode.map(|f| f.to_string()).unwrap_or_default()
}

/// The epoch part of a decision token.
fn epoch_of(token: &str) -> &str {
    token.rsplit_once(':').map(|(e, _)| e).unwrap_or(token)
}

impl Cluster {
    fn key(&self, drop: i64, what: &str) -> String {
        format!("{}:drop:{drop}:{what}", self.prefix)
    }

    fn stock_key(&self, drop: i64, variant: i64, fcode: bool) -> String {
        self.key(drop, &format!("stock:{variant}:{}", if fcode { "f" } else { "g" }))
    }

    fn node_key(&self, node: &str) -> String {
        format!("{}:node:{node}", self.prefix)
    }

    pub async fn connect(url: &str, prefix: &str, db: Db, options: ClusterOptions) -> anyhow::Result<Cluster> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(options.redis_timeout)
            .set_response_timeout(options.redis_timeout)
            .set_number_of_retries(1)
            .set_max_delay(options.redis_timeout.as_millis() as u64);
        let redis = ConnectionManager::new_with_config(client, config).await?;
        Ok(Cluster {
            prefix: prefix.to_string(),
            redis,
            db,
            scripts: Arc::new(Scripts {
                purchase: redis::Script::new(PURCHASE),
                settle: redis::Script::new(SETTLE),
                undo: redis::Script::new(UNDO),
                release: redis::Script::new(RELEASE),
                freeze: redis::Script::new(FREEZE),
                install: redis::Script::new(INSTALL),
                unlock: redis::Script::new(UNLOCK),
            }),
            node: fanloop_platform::auth::new_token()[..16].to_string(),
            options,
        })
    }

    /// Runs one Redis call with the configured timeout (the connection's own timeouts do not
    /// cover a reconnection in progress).
    async fn timed<T>(&self, call: impl std::future::Future<Output = redis::RedisResult<T>>) -> anyhow::Result<T> {
        match tokio::time::timeout(self.options.redis_timeout, call).await {
            Ok(r) => Ok(r?),
            Err(_) => anyhow::bail!("Redis did not answer within {:?}", self.options.redis_timeout),
        }
    }

    /// Renews this node's lease; runs until the process ends.
    pub async fn heartbeat(self) {
        let mut tick = tokio::time::interval(self.options.lease / 3);
        let key = self.node_key(&self.node);
        loop {
            tick.tick().await;
            let mut r = self.redis.clone();
            let renewed = self
                .timed(
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(now_ms())
                        .arg("PX")
                        .arg(self.options.lease.as_millis() as u64)
                        .query_async::<()>(&mut r),
                )
                .await;
            if let Err(e) = renewed {
                tracing::warn!("renewing node lease: {e:#}");
            }
        }
    }

    /// Loads a drop's counters into Redis from one database snapshot, unless they are there.
    /// One node loads at a time; the others wait a little, then answer 503.
    pub async fn ensure_loaded(&self, d: &Drop) -> anyhow::Result<()> {
        let mut r = self.redis.clone();
        let epoch_key = self.key(d.id, "epoch");
        if self
            .timed(redis::cmd("EXISTS").arg(&epoch_key).query_async::<bool>(&mut r))
            .await?
        {
            return Ok(());
        }
        let loading = self.key(d.id, "loading");
        let won = self
            .timed(
                redis::cmd("SET")
                    .arg(&loading)
                    .arg(&self.node)
                    .arg("NX")
                    .arg("PX")
                    .arg(20_000)
                    .query_async::<Option<String>>(&mut r),
            )
            .await?
            .is_some();
        if !won {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
            while tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(25)).await;
                if self
                    .timed(redis::cmd("EXISTS").arg(&epoch_key).query_async::<bool>(&mut r))
                    .await?
                {
                    return Ok(());
                }
            }
            anyhow::bail!("another node is still loading drop {}", d.id);
        }
        let loaded = self.load(d).await;
        if loaded.is_err() {
            let _ = self
                .timed(
                    self.scripts
                        .unlock
                        .key(&loading)
                        .arg(&self.node)
                        .invoke_async::<i64>(&mut r),
                )
                .await;
        }
        loaded
    }

    async fn load(&self, d: &Drop) -> anyhow::Result<()> {
        let snap = match tokio::time::timeout(self.options.commit_timeout * 2, store::snapshot(&self.db, d.id)).await {
            Ok(s) => s?,
            Err(_) => anyhow::bail!("the database did not answer in time"),
        };
        let epoch = fanloop_platform::auth::new_token()[..12].to_string();
        let stage = |what: &str| self.key(d.id, &format!("stage:{epoch}:{what}"));
        // (staged, live) pairs the install script moves into place.
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut pipe = redis::pipe();
        for (variant, general, fcode) in &snap.stock {
            for (pool, left) in [(false, general), (true, fcode)] {
                let live = self.stock_key(d.id, *variant, pool);
                let staged = stage(&format!("stock:{variant}:{pool}"));
                pipe.set(&staged, *left).ignore();
                pairs.push((staged, live));
            }
        }
        let mut bought: BTreeMap<i64, i64> = BTreeMap::new();
        let mut idem: Vec<(String, String)> = Vec::new();
        let (mut seen, mut released, mut fcodes) = (Vec::new(), Vec::new(), snap.spent_fcodes.clone());
        for o in &snap.orders {
            idem.push((
                format!("{}:{}", o.account, o.idempotency_key),
                o.token.clone().unwrap_or_else(|| format!("order:{}", o.id)),
            ));
            if o.expired {
                released.push(o.id);
            } else {
                seen.push(o.id);
                *bought.entry(o.account).or_default() += o.quantity as i64;
            }
            fcodes.extend(o.fcode);
        }
        let bought: Vec<(i64, i64)> = bought.into_iter().collect();
        for (what, staged) in [
            ("bought", stage("bought")),
            ("idem", stage("idem")),
            ("seen", stage("seen")),
            ("released", stage("released")),
            ("fcodes", stage("fcodes")),
        ] {
            match what {
                "bought" => bought.chunks(1_000).for_each(|c| {
                    pipe.hset_multiple(&staged, c).ignore();
                }),
                "idem" => idem.chunks(1_000).for_each(|c| {
                    pipe.hset_multiple(&staged, c).ignore();
                }),
                "seen" => seen.chunks(1_000).for_each(|c| {
                    pipe.sadd(&staged, c).ignore();
                }),
                "released" => released.chunks(1_000).for_each(|c| {
                    pipe.sadd(&staged, c).ignore();
                }),
                _ => fcodes.chunks(1_000).for_each(|c| {
                    pipe.sadd(&staged, c).ignore();
                }),
            }
            pairs.push((staged, self.key(d.id, what)));
        }
        // Staged keys left by a loader that died expire by themselves (the install persists them).
        for (staged, _) in &pairs {
            pipe.pexpire(staged, 60_000).ignore();
        }
        let marker = stage("marker");
        pipe.set(&marker, 1).ignore().pexpire(&marker, 60_000).ignore();
        let mut r = self.redis.clone();
        match tokio::time::timeout(self.options.redis_timeout * 5, pipe.query_async::<()>(&mut r)).await {
            Ok(done) => done?,
            Err(_) => anyhow::bail!("Redis did not take the drop's counters in time"),
        }
        let mut install = self.scripts.install.prepare_invoke();
        install
            .key(self.key(d.id, "epoch"))
            .key(self.key(d.id, "loading"))
            .key(self.key(d.id, "seq"))
            .key(self.key(d.id, "inflight"))
            .key(&marker);
        for (staged, live) in &pairs {
            install.key(staged).key(live);
        }
        install.arg(&epoch).arg(&self.node);
        let installed: i64 = self.timed(install.invoke_async(&mut r)).await?;
        // Not installed: another node's load is live, or this one was cut short (the next
        // attempt loads again if needed).
        if installed == 1 {
            tracing::info!(
                "drop {}: Redis loaded from the database (epoch {epoch}, {} orders)",
                d.id,
                snap.orders.len()
            );
        }
        Ok(())
    }

    pub async fn purchase(&self, d: &Drop, a: &Attempt) -> anyhow::Result<Decision> {
        if let Some(rejection) = self.local_checks(d, a).await? {
            return Ok(Decision::Rejected(rejection));
        }
        if !d.variants.iter().any(|v| v.id == a.variant) {
            return Ok(Decision::Rejected(Rejection::UnknownVariant));
        }
        let token = match self.decide(d, a).await? {
            Ok(token) => token,
            Err(decision) => return Ok(decision),
        };
        self.store(d, a, &token).await
    }

    /// The Redis half of a purchase: the decision, and for an acceptance its token.  Public for
    /// tests, which stop here to play a node dying before it stores the order.
    #[doc(hidden)]
    pub async fn decide(&self, d: &Drop, a: &Attempt) -> anyhow::Result<Result<String, Decision>> {
        let stock = self.stock_key(d.id, a.variant, a.fcode.is_some());
        for round in 0..3 {
            if round > 0 {
                // The drop is not loaded (first attempt, Redis restarted, or frozen): load it.
                self.ensure_loaded(d).await?;
            }
            let mut r = self.redis.clone();
            let (verdict, token): (i64, String) = self
                .timed(
                    self.scripts
                        .purchase
                        .key(self.key(d.id, "epoch"))
                        .key(&stock)
                        .key(self.key(d.id, "bought"))
                        .key(self.key(d.id, "idem"))
                        .key(self.key(d.id, "seq"))
                        .key(self.key(d.id, "inflight"))
                        .key(self.key(d.id, "fcodes"))
                        .arg(a.account)
                        .arg(&a.idempotency_key)
                        .arg(a.quantity)
                        .arg(d.per_account_limit)
                        .arg(now_ms())
                        .arg(&self.node)
                        .arg(fcode_arg(a.fcode))
                        .invoke_async(&mut r),
                )
                .await?;
            return Ok(match verdict {
                -9 => continue, // not loaded, lost or frozen: load, then decide
                2 => Err(Decision::Replayed(None)),
                -1 => Err(Decision::Rejected(Rejection::LimitReached)),
                -2 => Err(Decision::Rejected(Rejection::FcodeUsed)),
                0 => Err(Decision::Rejected(Rejection::SoldOut)),
                _ => Ok(token),
            });
        }
        anyhow::bail!("drop {} is being reloaded; try again", d.id)
    }

    /// The database half: stores the decision's order (every rule checked again), then tells
    /// Redis.  Public for tests.
    #[doc(hidden)]
    pub async fn store(&self, d: &Drop, a: &Attempt, token: &str) -> anyhow::Result<Decision> {
        let decided = Decided {
            account: a.account,
            variant: a.variant,
            quantity: a.quantity,
            idempotency_key: a.idempotency_key.clone(),
            fcode: a.fcode,
            share: a.share.clone(),
        };
        let stored = tokio::time::timeout(
            self.options.commit_timeout,
            store::commit_decision(
                &self.db,
                d,
                token,
                &decided,
                now_ms(),
                self.options.commit_timeout.as_millis() as u64,
            ),
        )
        .await;
        let stock = self.stock_key(d.id, a.variant, a.fcode.is_some());
        let held = Held {
            stock: &stock,
            account: a.account,
            key: &a.idempotency_key,
            quantity: a.quantity,
            fcode: a.fcode,
        };
        match stored {
            Ok(Ok(Stored::Order(id))) => {
                // If Redis does not hear of it now, the background pass tells it later.
                if let Err(e) = self.settle(d.id, token, id, &held).await {
                    tracing::warn!("drop {}: settling order {id} in Redis: {e:#}", d.id);
                }
                Ok(Decision::Accepted(NewOrder {
                    order_id: id,
                    account: a.account,
                    variant: a.variant,
                    quantity: a.quantity,
                    idempotency_key: a.idempotency_key.clone(),
                    fcode: a.fcode,
                    stored_at: None,
                }))
            }
            Ok(Ok(Stored::Existing(_))) => {
                // An earlier attempt with this key was stored (decided before Redis reloaded):
                // this decision's units go back, and the buyer gets that order.
                let _ = self.undo(d.id, token, &held).await;
                Ok(Decision::Replayed(None))
            }
            // A reconciler voided it (this node was presumed dead) and gave the units back.
            Ok(Ok(Stored::Voided)) => anyhow::bail!("the order was not stored in time; try again"),
            Ok(Ok(Stored::Refused(refusal))) => {
                // A refused F-code stays spent in Redis: the database says it is.
                let held = Held {
                    fcode: if refusal == Refusal::FcodeUsed {
                        None
                    } else {
                        held.fcode
                    },
                    ..held
                };
                let _ = self.undo(d.id, token, &held).await;
                if matches!(refusal, Refusal::SoldOut | Refusal::LimitReached) {
                    // Redis believed what the database does not: reload it from the database.
                    tracing::warn!(
                        "drop {}: the database refused a Redis decision ({refusal:?}); reloading",
                        d.id
                    );
                    let mut r = self.redis.clone();
                    let _ = self
                        .timed(
                            self.scripts
                                .freeze
                                .key(self.key(d.id, "epoch"))
                                .arg(epoch_of(token))
                                .invoke_async::<i64>(&mut r),
                        )
                        .await;
                }
                Ok(Decision::Rejected(refusal.rejection()))
            }
            outcome => {
                // Timed out or failed, maybe after the commit reached the database: the outcome is
                // unknown here, so it is resolved in the background (void, or settle if stored).
                let why = match outcome {
                    Ok(Err(e)) => format!("{e:#}"),
                    _ => "the database did not answer in time".to_string(),
                };
                tracing::warn!("drop {}: storing decision {token}: {why}", d.id);
                let (c, drop_id, token) = (self.clone(), d.id, token.to_string());
                let (stock, account, key, quantity, fcode) =
                    (stock.clone(), a.account, a.idempotency_key.clone(), a.quantity, a.fcode);
                tokio::spawn(async move {
                    let held = Held {
                        stock: &stock,
                        account,
                        key: &key,
                        quantity,
                        fcode,
                    };
                    for attempt in 0..120u32 {
                        match c.resolve(drop_id, &token, &held).await {
                            Ok(()) => return,
                            Err(e) if attempt % 10 == 0 => tracing::warn!("resolving decision {token}: {e:#}"),
                            Err(_) => {}
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                });
                anyhow::bail!("the order could not be confirmed in time; retry with the same key")
            }
        }
    }

    /// Settles a decision whose fate is unknown: voids it unless its order was stored, then
    /// gives its units back, or counts the stored order.
    async fn resolve(&self, drop_id: i64, token: &str, held: &Held<'_>) -> anyhow::Result<()> {
        let voided = tokio::time::timeout(self.options.commit_timeout, store::void_decision(&self.db, token)).await;
        match voided {
            Ok(Ok(Some(order_id))) => self.settle(drop_id, token, order_id, held).await.map(|_| ()),
            Ok(Ok(None)) => self.undo(drop_id, token, held).await.map(|_| ()),
            Ok(Err(e)) => Err(e),
            Err(_) => anyhow::bail!("the database did not answer in time"),
        }
    }

    /// Tells Redis an order was stored; -9 when the drop is not loaded (told later).
    async fn settle(&self, drop_id: i64, token: &str, order_id: i64, h: &Held<'_>) -> anyhow::Result<i64> {
        let mut r = self.redis.clone();
        self.timed(
            self.scripts
                .settle
                .key(self.key(drop_id, "epoch"))
                .key(h.stock)
                .key(self.key(drop_id, "bought"))
                .key(self.key(drop_id, "idem"))
                .key(self.key(drop_id, "inflight"))
                .key(self.key(drop_id, "fcodes"))
                .key(self.key(drop_id, "seen"))
                .key(self.key(drop_id, "released"))
                .arg(token)
                .arg(order_id)
                .arg(h.account)
                .arg(h.key)
                .arg(h.quantity)
                .arg(fcode_arg(h.fcode))
                .invoke_async(&mut r),
        )
        .await
    }

    async fn undo(&self, drop_id: i64, token: &str, h: &Held<'_>) -> anyhow::Result<i64> {
        let mut r = self.redis.clone();
        self.timed(
            self.scripts
                .undo
                .key(h.stock)
                .key(self.key(drop_id, "bought"))
                .key(self.key(drop_id, "idem"))
                .key(self.key(drop_id, "inflight"))
                .key(self.key(drop_id, "fcodes"))
                .arg(token)
                .arg(h.account)
                .arg(h.key)
                .arg(h.quantity)
                .arg(fcode_arg(h.fcode))
                .invoke_async(&mut r),
        )
        .await
    }

    /// Settles decisions in flight whose node's lease lapsed, or older than `max_age`: a stored
    /// order is counted, anything else is voided in the database (so its node can no longer
    /// store it) and its units go back.  Safe on every node at once.  Returns how many
    /// decisions were given back.
    pub async fn reconcile(&self, d: &Drop, max_age: Duration) -> anyhow::Result<usize> {
        let mut r = self.redis.clone();
        let inflight = self.key(d.id, "inflight");
        let entries: Vec<(String, String)> = self
            .timed(redis::cmd("HGETALL").arg(&inflight).query_async(&mut r))
            .await?;
        let now = now_ms();
        let lease = self.options.lease.as_millis() as i64;
        let mut alive: HashMap<String, bool> = HashMap::new();
        let mut given_back = 0;
        for (token, raw) in entries {
            let parsed = serde_json::from_str::<InFlight>(&raw).ok().and_then(|f| {
                Some((
                    f.at.parse::<i64>().ok()?,
                    f.account.parse::<i64>().ok()?,
                    f.quantity.parse::<u32>().ok()?,
                    f.fcode.parse::<i64>().ok(),
                    f,
                ))
            });
            let Some((at, account, quantity, fcode, f)) = parsed else {
                tracing::error!("drop {}: unreadable decision in flight {token}: {raw}", d.id);
                continue;
            };
            let age = now - at;
            if age < lease.min(max_age.as_millis() as i64) {
                continue;
            }
            let node_alive = match alive.get(&f.node) {
                Some(a) => *a,
                None => {
                    let a: bool = self
                        .timed(redis::cmd("EXISTS").arg(self.node_key(&f.node)).query_async(&mut r))
                        .await?;
                    alive.insert(f.node.clone(), a);
                    a
                }
            };
            if node_alive && age < max_age.as_millis() as i64 {
                continue;
            }
            let held = Held {
                stock: &f.stock,
                account,
                key: &f.key,
                quantity,
                fcode,
            };
            let voided = store::void_decision(&self.db, &token).await?;
            match voided {
                Some(order_id) => {
                    self.settle(d.id, &token, order_id, &held).await?;
                }
                None => {
                    if self.undo(d.id, &token, &held).await? == 1 {
                        tracing::warn!(
                            "drop {}: decision {token} of account {account} was never stored; its {quantity} unit(s) are back on sale",
                            d.id
                        );
                        given_back += 1;
                    }
                }
            }
        }
        Ok(given_back)
    }

    /// Tells Redis of orders it may not know the latest state of (stored by a node that died
    /// before telling it, or expired), then clears their flags.  Returns how many were told.
    pub async fn catch_up(&self, d: &Drop) -> anyhow::Result<usize> {
        let before = now_ms() - self.options.catch_up_after().as_millis() as i64;
        let pending = store::redis_pending(&self.db, d.id, before, 2_000).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        self.ensure_loaded(d).await?;
        let (mut live, mut expired) = (Vec::new(), Vec::new());
        for o in &pending {
            let stock = self.stock_key(d.id, o.variant, o.fcode.is_some());
            let told = if o.expired {
                self.release(d.id, &stock, o).await?
            } else {
                let held = Held {
                    stock: &stock,
                    account: o.account,
                    key: &o.idempotency_key,
                    quantity: o.quantity,
                    fcode: o.fcode,
                };
                let token = o.token.clone().unwrap_or_else(|| format!("order:{}", o.id));
                self.settle(d.id, &token, o.id, &held).await?
            };
            if told == -9 {
                continue; // not loaded after all (Redis restarted meanwhile): next pass
            }
            if o.expired {
                expired.push(o.id);
            } else {
                live.push(o.id);
            }
        }
        store::clear_redis_pending(&self.db, &live, false).await?;
        store::clear_redis_pending(&self.db, &expired, true).await?;
        Ok(live.len() + expired.len())
    }

    async fn release(&self, drop_id: i64, stock: &str, o: &SyncOrder) -> anyhow::Result<i64> {
        let mut r = self.redis.clone();
        self.timed(
            self.scripts
                .release
                .key(self.key(drop_id, "epoch"))
                .key(stock)
                .key(self.key(drop_id, "bought"))
                .key(self.key(drop_id, "inflight"))
                .key(self.key(drop_id, "seen"))
                .key(self.key(drop_id, "released"))
                .arg(o.token.clone().unwrap_or_default())
                .arg(o.id)
                .arg(o.account)
                .arg(o.quantity)
                .invoke_async(&mut r),
        )
        .await
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

    /// Expires unpaid orders in the database (whichever node gets each one), then gives their
    /// units back in Redis; what Redis does not take now, a later pass gives back.
    pub async fn expire(&self, d: &Drop) -> anyhow::Result<usize> {
        let expired = store::expire_orders(&self.db, d.id, now_ms(), true).await?;
        if !expired.is_empty() {
            self.catch_up(d).await?;
        }
        Ok(expired.len())
    }

    /// Remaining units per variant (general, F-code) as Redis sees them; from the database
    /// when Redis cannot answer, so the drop page never hangs on it.
    pub async fn remaining(&self, d: &Drop) -> anyhow::Result<Vec<(i64, u32, u32)>> {
        match self.remaining_in_redis(d).await {
            Ok(r) => Ok(r),
            Err(e) => {
                tracing::warn!("drop {}: stock from the database, Redis failed: {e:#}", d.id);
                store::remaining_in_db(&self.db, d.id).await
            }
        }
    }

    async fn remaining_in_redis(&self, d: &Drop) -> anyhow::Result<Vec<(i64, u32, u32)>> {
        self.ensure_loaded(d).await?;
        let mut r = self.redis.clone();
        let mut keys = Vec::new();
        for v in &d.variants {
            keys.push(self.stock_key(d.id, v.id, false));
            keys.push(self.stock_key(d.id, v.id, true));
        }
        let values: Vec<Option<i64>> = self.timed(redis::cmd("MGET").arg(&keys).query_async(&mut r)).await?;
        Ok(d.variants
            .iter()
            .zip(values.chunks(2))
            .map(|(v, pair)| {
                let units = |i: usize| pair.get(i).copied().flatten().unwrap_or(0).clamp(0, u32::MAX as i64) as u32;
                (v.id, units(0), units(1))
            })
            .collect())
    }

    /// One background pass over a drop: expiry, decisions left by dead nodes, catching up.
    pub async fn look_after(&self, d: &Drop) -> anyhow::Result<()> {
        // Each step runs whatever happened to the one before: a stuck expiry must not keep dead
        // nodes' decisions from being settled.
        let expired = self.expire(d).await;
        let reconciled = self.reconcile(d, self.options.max_in_flight()).await;
        let caught_up = self.catch_up(d).await;
        expired?;
        reconciled?;
        caught_up?;
        Ok(())
    }

    /// Forgets a drop's counters (tests start from a clean Redis).
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
