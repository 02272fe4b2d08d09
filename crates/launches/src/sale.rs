//! One sale actor per drop: a task that owns the drop's [`Engine`], takes purchase attempts
//! from a queue in batches, applies them, writes the batch's orders in one transaction (group
//! commit) and only then answers.  A crash before the commit loses only unanswered attempts; a
//! failed commit undoes the batch in memory and answers 503, so no client is ever told
//! "success" for an order that is not durable.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context;
use fanloop_platform::db::now_ms;
use fanloop_platform::Db;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use utoipa::ToSchema;

use crate::engine::{Attempt, Decision, Engine, NewOrder, Rules, SaleMode, Stock};
use crate::store::{self, Drop, Refusal};

/// Attempts answered per commit at most; more wait for the next batch.
const MAX_BATCH: usize = 4096;

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct StockView {
    /// Remaining units per variant: `[variant id, general sale, F-code pool]`.
    #[schema(value_type = Vec<Vec<i64>>)]
    pub remaining: Vec<(i64, u32, u32)>,
    pub total_remaining: u32,
}

enum Cmd {
    Purchase(Attempt, oneshot::Sender<anyhow::Result<Decision>>),
    Expire(i64),
    SetAdmission(HashMap<i64, i64>, oneshot::Sender<()>),
}

/// A read-only shortcut in front of the actor.  Once the general pool is empty, an attempt from
/// an account that has never bought in this drop can only be "sold out", so it is answered
/// without queueing behind the actor: at the reference event, 96% of attempts are such.
/// Accounts that bought (or are buying) still go through the actor, so their retries replay
/// their order.  The actor is the only writer; it marks a buyer when it accepts an order, before
/// it publishes the stock that could make this shortcut apply.
pub struct SoldOutGate {
    /// The shortcut only answers attempts that pass every check the engine makes before stock
    /// (open sale, inside the window, eligible), so its answer is the engine's answer.
    rules: Rules,
    general_remaining: AtomicU64,
    buyers: RwLock<HashSet<i64>>,
}

impl SoldOutGate {
    fn answers(&self, attempt: &Attempt) -> bool {
        let r = &self.rules;
        r.mode == SaleMode::Open
            && attempt.fcode.is_none()
            && attempt.quantity > 0
            && attempt.now >= r.opens_at
            && attempt.now < r.closes_at
            && attempt.honor_rank >= r.min_honor_rank
            && attempt.now - attempt.account_created_at >= r.min_account_age_ms
            && self.general_remaining.load(AtomicOrdering::Acquire) == 0
            && !self
                .buyers
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&attempt.account)
    }

    fn publish(&self, engine: &Engine) {
        let general: u64 = engine.stock().values().map(|s| u64::from(s.general)).sum();
        self.general_remaining.store(general, AtomicOrdering::Release);
    }
}

#[derive(Clone)]
pub struct SaleHandle {
    tx: mpsc::Sender<Cmd>,
    pub stock: watch::Receiver<StockView>,
    gate: Arc<SoldOutGate>,
}

impl SaleHandle {
    pub async fn purchase(&self, attempt: Attempt) -> anyhow::Result<Decision> {
        if self.gate.answers(&attempt) {
            return Ok(Decision::Rejected(crate::engine::Rejection::SoldOut));
        }
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Cmd::Purchase(attempt, reply))
            .await
            .map_err(|_| anyhow::anyhow!("sale actor stopped"))?;
        answer.await.map_err(|_| anyhow::anyhow!("sale actor stopped"))?
    }

    pub async fn set_admission(&self, admission: HashMap<i64, i64>) -> anyhow::Result<()> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(Cmd::SetAdmission(admission, reply))
            .await
            .map_err(|_| anyhow::anyhow!("sale actor stopped"))?;
        done.await.map_err(|_| anyhow::anyhow!("sale actor stopped"))
    }
}

#[derive(Clone)]
pub struct SaleHub {
    db: Db,
    actors: Arc<tokio::sync::Mutex<HashMap<i64, SaleHandle>>>,
    /// Running actors for the hot path: a read lock, no queueing behind the start-up lock.
    running: Arc<RwLock<HashMap<i64, SaleHandle>>>,
    expiry_started: Arc<Mutex<bool>>,
}

fn view(engine: &Engine) -> StockView {
    let mut remaining: Vec<(i64, u32, u32)> = engine.stock().iter().map(|(v, s)| (*v, s.general, s.fcode)).collect();
    remaining.sort();
    StockView {
        total_remaining: engine.remaining(),
        remaining,
    }
}

impl SaleHub {
    pub fn new(db: Db) -> SaleHub {
        SaleHub {
            db,
            actors: Arc::default(),
            running: Arc::default(),
            expiry_started: Arc::default(),
        }
    }

    /// The drop's actor, started on first use from the durable orders.
    pub async fn handle(&self, drop: &Drop) -> anyhow::Result<SaleHandle> {
        if let Some(h) = self.running.read().unwrap_or_else(|e| e.into_inner()).get(&drop.id) {
            if !h.tx.is_closed() {
                return Ok(h.clone());
            }
        }
        self.start_expiry();
        let mut actors = self.actors.lock().await;
        if let Some(h) = actors.get(&drop.id) {
            if !h.tx.is_closed() {
                return Ok(h.clone());
            }
        }
        let stock: HashMap<i64, Stock> = drop
            .variants
            .iter()
            .map(|v| {
                (
                    v.id,
                    Stock {
                        general: v.general_stock as u32,
                        fcode: v.fcode_stock as u32,
                    },
                )
            })
            .collect();
        let first_id = store::max_order_id(&self.db, drop.id)
            .await?
            .map(|m| m + 1)
            .unwrap_or(drop.id * 1_000_000_000 + 1);
        let mut engine = Engine::new(drop.rules(), stock, first_id);
        for (order, from_fcode) in store::live_orders(&self.db, drop.id).await? {
            engine.restore(&order, from_fcode);
        }
        for (account, key, order_id) in store::expired_keys(&self.db, drop.id).await? {
            engine.remember_key(account, key, order_id);
        }
        let admissions = store::admissions(&self.db, drop.id).await?;
        if !admissions.is_empty() {
            engine.set_admission(admissions.into_iter().collect());
        }
        let gate = Arc::new(SoldOutGate {
            rules: drop.rules(),
            general_remaining: AtomicU64::new(u64::MAX),
            buyers: RwLock::default(),
        });
        let mut buyers: HashSet<i64> = store::live_orders(&self.db, drop.id)
            .await?
            .iter()
            .map(|(o, _)| o.account)
            .collect();
        buyers.extend(
            store::expired_keys(&self.db, drop.id)
                .await?
                .into_iter()
                .map(|(account, _, _)| account),
        );
        *gate.buyers.write().unwrap_or_else(|e| e.into_inner()) = buyers;
        gate.publish(&engine);
        let (stock_tx, stock_rx) = watch::channel(view(&engine));
        let (tx, rx) = mpsc::channel(65_536);
        let payment_ms = drop.payment_seconds * 1_000;
        tokio::spawn(run(
            self.db.clone(),
            drop.id,
            drop.per_account_limit,
            drop.sells_by_posting(),
            payment_ms,
            engine,
            rx,
            stock_tx,
            gate.clone(),
        ));
        let handle = SaleHandle {
            tx,
            stock: stock_rx,
            gate,
        };
        actors.insert(drop.id, handle.clone());
        self.running
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(drop.id, handle.clone());
        Ok(handle)
    }

    /// Expires unpaid orders every second, in every running actor, and starts the actor of any
    /// drop with orders due (so a drop nobody opened since a restart still gives its units back).
    pub fn start_expiry(&self) {
        let mut started = self.expiry_started.lock().unwrap_or_else(|e| e.into_inner());
        if *started {
            return;
        }
        *started = true;
        let hub = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // The server shut its database down: nothing is left to expire.
                if hub.db.pool.is_closed() {
                    break;
                }
                match store::drops_with_due_orders(&hub.db, now_ms()).await {
                    Ok(due) => {
                        for id in due {
                            let running = hub.actors.lock().await.contains_key(&id);
                            if running {
                                continue;
                            }
                            let started = match store::drop_by_id(&hub.db, id).await {
                                Ok(Some(d)) => hub.handle(&d).await.map(|_| ()),
                                Ok(None) => Ok(()),
                                Err(e) => Err(e),
                            };
                            if let Err(e) = started {
                                tracing::error!("drop {id}: starting its sale to expire orders: {e:#}");
                            }
                        }
                    }
                    Err(e) => tracing::error!("finding drops with orders due: {e:#}"),
                }
                let handles: Vec<SaleHandle> = hub.actors.lock().await.values().cloned().collect();
                for h in handles {
                    let _ = h.tx.try_send(Cmd::Expire(now_ms()));
                }
            }
        });
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    db: Db,
    drop_id: i64,
    limit: i64,
    sells_by_posting: bool,
    payment_ms: i64,
    mut engine: Engine,
    mut rx: mpsc::Receiver<Cmd>,
    stock: watch::Sender<StockView>,
    gate: Arc<SoldOutGate>,
) {
    let mut pending: Option<Cmd> = None;
    loop {
        let cmd = match pending.take() {
            Some(c) => c,
            None => match rx.recv().await {
                Some(c) => c,
                None => return,
            },
        };
        match cmd {
            Cmd::Purchase(first, reply) => {
                let mut batch = vec![(first, reply)];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(Cmd::Purchase(a, r)) => batch.push((a, r)),
                        Ok(other) => {
                            pending = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                GROUP_COMMIT.observe(batch.len() as f64);
                let mut decisions = Vec::with_capacity(batch.len());
                let mut undos = Vec::new();
                let mut accepted = Vec::new();
                let mut posts = Vec::new();
                for (attempt, reply) in batch {
                    let (decision, undo) = engine.apply(&attempt);
                    if let Decision::Accepted(order) = &decision {
                        gate.buyers
                            .write()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(order.account);
                        accepted.push(order.clone());
                        posts.push(attempt.share.clone());
                    }
                    undos.extend(undo);
                    decisions.push((decision, reply));
                }
                let now = now_ms();
                let stored_at = Some((now, now + payment_ms));
                let committed = store::commit_orders(
                    &db,
                    drop_id,
                    limit,
                    &accepted,
                    sells_by_posting.then_some(&posts[..]),
                    now,
                    now + payment_ms,
                )
                .await
                .context("committing orders");
                match committed {
                    Ok(outcomes) => {
                        // Orders the database refused by itself (an F-code revoked meanwhile, a
                        // limit): only those are undone and refused; the rest of the batch stands.
                        let mut refused: HashMap<i64, Refusal> = HashMap::new();
                        let mut kept_undos = Vec::new();
                        for ((order, outcome), undo) in accepted.iter().zip(&outcomes).zip(undos) {
                            if let Some(r) = outcome {
                                refused.insert(order.order_id, *r);
                                kept_undos.push(undo);
                            }
                        }
                        if !refused.is_empty() {
                            tracing::warn!(
                                "drop {drop_id}: the database refused {} order(s) of a batch",
                                refused.len()
                            );
                            engine.undo(kept_undos);
                        }
                        for (decision, reply) in decisions {
                            let answer = match decision {
                                Decision::Accepted(o) => match refused.get(&o.order_id) {
                                    Some(r) => Decision::Rejected(r.rejection()),
                                    None => Decision::Accepted(NewOrder { stored_at, ..o }),
                                },
                                Decision::Replayed(Some(id)) if refused.contains_key(&id) => {
                                    let _ = reply.send(Err(anyhow::anyhow!("order not stored; try again")));
                                    continue;
                                }
                                other => other,
                            };
                            let _ = reply.send(Ok(answer));
                        }
                    }
                    Err(e) => {
                        tracing::error!(
                            "drop {drop_id}: batch of {} orders not committed: {e:#}",
                            accepted.len()
                        );
                        engine.undo(undos);
                        let lost: HashSet<i64> = accepted.iter().map(|o| o.order_id).collect();
                        for (decision, reply) in decisions {
                            let answer = match decision {
                                Decision::Accepted(_) => Err(anyhow::anyhow!("order not stored; try again")),
                                Decision::Replayed(Some(id)) if lost.contains(&id) => {
                                    Err(anyhow::anyhow!("order not stored; try again"))
                                }
                                other => Ok(other),
                            };
                            let _ = reply.send(answer);
                        }
                    }
                }
                gate.publish(&engine);
                stock.send_if_modified(|v| {
                    let new = view(&engine);
                    let changed = *v != new;
                    *v = new;
                    changed
                });
            }
            Cmd::Expire(now) => match store::expire_orders(&db, drop_id, now, false).await {
                Ok(expired) if !expired.is_empty() => {
                    for (order, from_fcode) in &expired {
                        engine.release(order, *from_fcode);
                    }
                    gate.publish(&engine);
                    let _ = stock.send(view(&engine));
                }
                Ok(_) => {}
                Err(e) => tracing::error!("drop {drop_id}: expiring orders: {e:#}"),
            },
            Cmd::SetAdmission(admission, done) => {
                engine.set_admission(admission);
                let _ = done.send(());
            }
        }
    }
}

/// Purchases decided and written per database transaction on a single node.
static GROUP_COMMIT: std::sync::LazyLock<fanloop_platform::ops::prometheus::Histogram> =
    std::sync::LazyLock::new(|| {
        fanloop_platform::ops::histogram_vec(
            "fanloop_sale_group_commit_size",
            "Purchases written per transaction by a single node's sale loop.",
            &[],
            vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
        )
        .with_label_values(&[] as &[&str])
    });
