//! The sale engine: every purchase attempt for one drop is checked and applied here, one at a
//! time, in memory.  No HTTP, no SQL, no clock: time comes in with each attempt, so the engine is
//! deterministic and can be tested alone (see the model test below).
//!
//! Order of checks matters (the known failure modes of flash sales): idempotency first (a retry
//! returns the same order and never consumes stock twice), then the window (nothing before the
//! opening or after the close touches stock), eligibility and admission, the per-account limit,
//! and only then stock.  The engine never acknowledges anything itself: the caller persists the
//! batch's accepted orders and only then answers, undoing the batch if the commit fails.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub type AccountId = i64;
pub type VariantId = i64;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SaleMode {
    /// Everyone eligible may buy from the opening; arrival order decides.
    Open,
    /// Only reservation winners of the published draw may buy.
    Draw,
    /// Reservations made before the opening are shuffled (published seed) and admitted in waves
    /// of `wave_size` every `wave_ms`; later reservations queue behind them in arrival order.
    Queue { wave_size: u32, wave_ms: i64 },
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Rules {
    /// General sale opens (Unix ms).
    pub opens_at: i64,
    /// F-code holders may buy from this time, within the F-code pool.
    pub fcode_opens_at: i64,
    pub closes_at: i64,
    pub per_account_limit: u32,
    /// 1 fan, 2 beta tester, 3 honorary developer; staff count as 3.
    pub min_honor_rank: u8,
    pub min_account_age_ms: i64,
    pub mode: SaleMode,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Stock {
    pub general: u32,
    /// Reserved for F-code holders.
    pub fcode: u32,
}

#[derive(Debug, Clone)]
pub struct Attempt {
    pub account: AccountId,
    pub account_created_at: i64,
    pub honor_rank: u8,
    pub variant: VariantId,
    pub quantity: u32,
    pub idempotency_key: String,
    /// An F-code already checked as valid for this account by the caller.
    pub fcode: Option<i64>,
    pub now: i64,
    /// The share post this order is placed with (drops that ask for one); the engine only
    /// carries it to the transaction that stores the order.
    pub share: crate::share::Carried,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub order_id: i64,
    pub account: AccountId,
    pub variant: VariantId,
    pub quantity: u32,
    pub idempotency_key: String,
    pub fcode: Option<i64>,
    /// When the order was stored and when its payment window ends, once its batch committed
    /// (set by the sale actor; `None` where the deciding side does not know it).
    pub stored_at: Option<(i64, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Rejection {
    NotOpen {
        opens_at: i64,
    },
    Closed,
    SoldOut,
    LimitReached,
    NotEligible,
    NotSelected,
    NotYourTurn {
        admitted_at: i64,
    },
    UnknownVariant,
    BadQuantity,
    FcodeUsed,
    /// The share post copies another member's post on the drop's wall.
    PostCopied,
    /// The drop sells by posting and the buyer has no post on its wall.
    PostRequired,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Accepted(NewOrder),
    /// The same idempotency key was used before: the original order (its id when the deciding
    /// side knows it; the caller finds it by account and key either way).
    Replayed(Option<i64>),
    Rejected(Rejection),
}

/// What one accepted order changed, to undo it if its batch fails to commit.
#[derive(Debug, Clone)]
pub struct Undo {
    order: NewOrder,
    from_fcode_pool: bool,
}

#[derive(Debug, Clone)]
pub struct Engine {
    rules: Rules,
    stock: HashMap<VariantId, Stock>,
    bought: HashMap<AccountId, u32>,
    idempotency: HashMap<(AccountId, String), i64>,
    used_fcodes: HashSet<i64>,
    /// Draw winners, or queue admission times; `None` in open mode.
    admission: Option<HashMap<AccountId, i64>>,
    next_order_id: i64,
}

impl Engine {
    pub fn new(rules: Rules, stock: HashMap<VariantId, Stock>, next_order_id: i64) -> Engine {
        Engine {
            rules,
            stock,
            bought: HashMap::new(),
            idempotency: HashMap::new(),
            used_fcodes: HashSet::new(),
            admission: None,
            next_order_id,
        }
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Sets who may buy when: draw winners (admitted at the opening) or queue positions.
    pub fn set_admission(&mut self, admission: HashMap<AccountId, i64>) {
        self.admission = Some(admission);
    }

    pub fn stock(&self) -> &HashMap<VariantId, Stock> {
        &self.stock
    }

    pub fn remaining(&self) -> u32 {
        self.stock.values().map(|s| s.general + s.fcode).sum()
    }

    pub fn bought_by(&self, account: AccountId) -> u32 {
        self.bought.get(&account).copied().unwrap_or(0)
    }

    /// Rebuilds state from a durable order (on start-up): stock was already reduced by the
    /// caller's initial figures, so this only records the order's effects.
    pub fn restore(&mut self, order: &NewOrder, from_fcode_pool: bool) {
        if let Some(s) = self.stock.get_mut(&order.variant) {
            let pool = if from_fcode_pool { &mut s.fcode } else { &mut s.general };
            *pool = pool.saturating_sub(order.quantity);
        }
        *self.bought.entry(order.account).or_default() += order.quantity;
        self.idempotency
            .insert((order.account, order.idempotency_key.clone()), order.order_id);
        if let Some(code) = order.fcode {
            self.used_fcodes.insert(code);
        }
        self.next_order_id = self.next_order_id.max(order.order_id + 1);
    }

    /// Binds an idempotency key to an order that no longer holds stock (an expired order), so a
    /// late retry replays it instead of buying again.
    pub fn remember_key(&mut self, account: AccountId, key: String, order_id: i64) {
        self.idempotency.insert((account, key), order_id);
        self.next_order_id = self.next_order_id.max(order_id + 1);
    }

    pub fn apply(&mut self, a: &Attempt) -> (Decision, Option<Undo>) {
        if let Some(order_id) = self.idempotency.get(&(a.account, a.idempotency_key.clone())) {
            return (Decision::Replayed(Some(*order_id)), None);
        }
        let reject = |r| (Decision::Rejected(r), None);
        if a.quantity == 0 {
            return reject(Rejection::BadQuantity);
        }
        let Some(stock) = self.stock.get(&a.variant).copied() else {
            return reject(Rejection::UnknownVariant);
        };
        let with_fcode = a.fcode.is_some();
        let opens = if with_fcode {
            self.rules.fcode_opens_at
        } else {
            self.rules.opens_at
        };
        if a.now < opens {
            return reject(Rejection::NotOpen { opens_at: opens });
        }
        if a.now >= self.rules.closes_at {
            return reject(Rejection::Closed);
        }
        if a.honor_rank < self.rules.min_honor_rank || a.now - a.account_created_at < self.rules.min_account_age_ms {
            return reject(Rejection::NotEligible);
        }
        if !with_fcode {
            if let Some(admission) = &self.admission {
                match admission.get(&a.account) {
                    None => return reject(Rejection::NotSelected),
                    Some(at) if a.now < *at => return reject(Rejection::NotYourTurn { admitted_at: *at }),
                    Some(_) => {}
                }
            } else if self.rules.mode != SaleMode::Open {
                // Draw or queue mode before the admission list exists: nobody is admitted yet.
                return reject(Rejection::NotSelected);
            }
        }
        if self.bought_by(a.account) + a.quantity > self.rules.per_account_limit {
            return reject(Rejection::LimitReached);
        }
        if let Some(code) = a.fcode {
            if self.used_fcodes.contains(&code) {
                return reject(Rejection::FcodeUsed);
            }
        }
        let pool = if with_fcode { stock.fcode } else { stock.general };
        if pool < a.quantity {
            return reject(Rejection::SoldOut);
        }
        // All checks passed: apply.
        let Some(s) = self.stock.get_mut(&a.variant) else {
            return reject(Rejection::SoldOut);
        };
        if with_fcode {
            s.fcode -= a.quantity;
        } else {
            s.general -= a.quantity;
        }
        *self.bought.entry(a.account).or_default() += a.quantity;
        let order = NewOrder {
            order_id: self.next_order_id,
            account: a.account,
            variant: a.variant,
            quantity: a.quantity,
            idempotency_key: a.idempotency_key.clone(),
            fcode: a.fcode,
            stored_at: None,
        };
        self.next_order_id += 1;
        self.idempotency
            .insert((a.account, a.idempotency_key.clone()), order.order_id);
        if let Some(code) = a.fcode {
            self.used_fcodes.insert(code);
        }
        (
            Decision::Accepted(order.clone()),
            Some(Undo {
                order,
                from_fcode_pool: with_fcode,
            }),
        )
    }

    /// Reverts accepted orders whose batch failed to commit, newest first.
    pub fn undo(&mut self, undos: Vec<Undo>) {
        for u in undos.into_iter().rev() {
            self.release(&u.order, u.from_fcode_pool);
            self.idempotency
                .remove(&(u.order.account, u.order.idempotency_key.clone()));
            if let Some(code) = u.order.fcode {
                self.used_fcodes.remove(&code);
            }
        }
    }

    /// Returns an order's units to stock and to the buyer's allowance (expiry, cancellation).
    /// The idempotency key stays bound to the expired order, so a late retry does not buy again.
    pub fn release(&mut self, order: &NewOrder, from_fcode_pool: bool) {
        if let Some(s) = self.stock.get_mut(&order.variant) {
            if from_fcode_pool {
                s.fcode += order.quantity;
            } else {
                s.general += order.quantity;
            }
        }
        if let Some(b) = self.bought.get_mut(&order.account) {
            *b = b.saturating_sub(order.quantity);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn rules(mode: SaleMode) -> Rules {
        Rules {
            opens_at: 1_000,
            fcode_opens_at: 500,
            closes_at: 10_000,
            per_account_limit: 2,
            min_honor_rank: 1,
            min_account_age_ms: 0,
            mode,
        }
    }

    fn attempt(account: i64, key: &str, now: i64) -> Attempt {
        Attempt {
            account,
            account_created_at: 0,
            honor_rank: 1,
            variant: 1,
            quantity: 1,
            idempotency_key: key.into(),
            fcode: None,
            now,
            share: None,
        }
    }

    fn engine(general: u32, fcode: u32, mode: SaleMode) -> Engine {
        Engine::new(rules(mode), HashMap::from([(1, Stock { general, fcode })]), 1)
    }

    #[test]
    fn checks_in_the_right_order() {
        let mut e = engine(1, 1, SaleMode::Open);
        assert_eq!(
            e.apply(&attempt(1, "a", 999)).0,
            Decision::Rejected(Rejection::NotOpen { opens_at: 1_000 })
        );
        assert_eq!(e.remaining(), 2, "nothing before the opening touches stock");
        assert!(matches!(e.apply(&attempt(1, "a", 1_000)).0, Decision::Accepted(_)));
        assert_eq!(
            e.apply(&attempt(1, "a", 1_001)).0,
            Decision::Replayed(Some(1)),
            "a retry returns the same order"
        );
        assert_eq!(
            e.apply(&attempt(2, "b", 1_002)).0,
            Decision::Rejected(Rejection::SoldOut)
        );
        assert_eq!(e.remaining(), 1, "the F-code pool is not sold to the general sale");
        let mut with_code = attempt(2, "c", 600);
        with_code.fcode = Some(9);
        assert!(
            matches!(e.apply(&with_code).0, Decision::Accepted(_)),
            "F-codes buy early, from their pool"
        );
        let mut reuse = attempt(3, "d", 700);
        reuse.fcode = Some(9);
        assert_eq!(e.apply(&reuse).0, Decision::Rejected(Rejection::FcodeUsed));
        assert_eq!(
            e.apply(&attempt(4, "e", 10_000)).0,
            Decision::Rejected(Rejection::Closed)
        );
        let mut young = attempt(5, "f", 2_000);
        young.honor_rank = 0;
        assert_eq!(e.apply(&young).0, Decision::Rejected(Rejection::NotEligible));
    }

    #[test]
    fn limits_and_admission() {
        let mut e = engine(10, 0, SaleMode::Draw);
        assert_eq!(
            e.apply(&attempt(1, "a", 2_000)).0,
            Decision::Rejected(Rejection::NotSelected)
        );
        e.set_admission(HashMap::from([(1, 1_000), (2, 5_000)]));
        assert!(matches!(e.apply(&attempt(1, "a", 2_000)).0, Decision::Accepted(_)));
        assert!(matches!(e.apply(&attempt(1, "b", 2_000)).0, Decision::Accepted(_)));
        assert_eq!(
            e.apply(&attempt(1, "c", 2_000)).0,
            Decision::Rejected(Rejection::LimitReached)
        );
        assert_eq!(
            e.apply(&attempt(2, "a", 2_000)).0,
            Decision::Rejected(Rejection::NotYourTurn { admitted_at: 5_000 })
        );
        assert_eq!(
            e.apply(&attempt(3, "a", 2_000)).0,
            Decision::Rejected(Rejection::NotSelected)
        );
    }

    /// Model test: thousands of random attempts (duplicates, retries, early and late arrivals,
    /// accounts over their limit), with random batch commit failures that are undone, and a
    /// "crash" after every batch that rebuilds the engine from the committed orders only.  After
    /// every step: sold + remaining = initial, nobody above the limit, no duplicate order, and the
    /// rebuilt engine agrees with the running one.
    #[test]
    fn model_invariants_hold_under_random_load_failures_and_crashes() {
        for seed in 0..20u64 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let initial = Stock {
                general: rng.gen_range(1..60),
                fcode: rng.gen_range(0..10),
            };
            let fresh = || Engine::new(rules(SaleMode::Open), HashMap::from([(1, initial)]), 1);
            let mut live = fresh();
            let mut committed: Vec<(NewOrder, bool)> = Vec::new();
            for _batch in 0..80 {
                let mut undos = Vec::new();
                let mut accepted = Vec::new();
                for _ in 0..rng.gen_range(1..30) {
                    let account = rng.gen_range(1..40);
                    let mut a = attempt(
                        account,
                        &format!("k{}", rng.gen_range(0..4)),
                        rng.gen_range(400..11_000),
                    );
                    a.quantity = rng.gen_range(0..3);
                    if rng.gen_bool(0.1) {
                        a.fcode = Some(rng.gen_range(1..15));
                    }
                    match live.apply(&a) {
                        (Decision::Accepted(o), Some(u)) => {
                            accepted.push((o, a.fcode.is_some()));
                            undos.push(u);
                        }
                        (Decision::Replayed(Some(id)), _) => {
                            assert!(committed.iter().chain(accepted.iter()).any(|(o, _)| o.order_id == id))
                        }
                        _ => {}
                    }
                }
                if rng.gen_bool(0.15) {
                    live.undo(undos); // the batch's commit failed: nobody was told "success"
                } else {
                    committed.extend(accepted);
                }
                // Crash and recover from what was committed.
                let mut recovered = fresh();
                for (o, pool) in &committed {
                    recovered.restore(o, *pool);
                }
                assert_eq!(recovered.stock(), live.stock(), "seed {seed}");
                let sold: u32 = committed.iter().map(|(o, _)| o.quantity).sum();
                assert_eq!(
                    sold + live.remaining(),
                    initial.general + initial.fcode,
                    "seed {seed}: sold + remaining = initial"
                );
                let mut per_account: HashMap<i64, u32> = HashMap::new();
                let mut keys = HashSet::new();
                for (o, _) in &committed {
                    *per_account.entry(o.account).or_default() += o.quantity;
                    assert!(
                        keys.insert((o.account, o.idempotency_key.clone())),
                        "no duplicate order"
                    );
                }
                assert!(per_account.values().all(|n| *n <= 2), "nobody above the limit");
                live = recovered; // continue from the recovered state, as after a restart
            }
        }
    }
}
