//! Launch use cases shared by the pages and the API.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::FromRef;
use fanloop_platform::accounts::{self, User};
use fanloop_platform::auth::{self, Role};
use fanloop_platform::db::now_ms;
use fanloop_platform::notifications::{self, NewNotification, NotificationKind};
use fanloop_platform::ratelimit::RateLimiter;
use fanloop_platform::{ApiError, Platform};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

use crate::draw;
use crate::engine::{Attempt, Decision, Rejection, SaleMode};
use crate::error::LaunchError;
use crate::sale::{SaleHub, StockView};
use crate::store::{self, Drop, Order};

/// What every launch handler shares: one `Arc`, so the extractors' clones of it cost one atomic
/// increment each rather than one per field.
#[derive(Clone)]
pub struct LaunchState(Arc<LaunchInner>);

impl std::ops::Deref for LaunchState {
    type Target = LaunchInner;
    fn deref(&self) -> &LaunchInner {
        &self.0
    }
}

#[derive(Clone)]
pub struct LaunchInner {
    pub platform: Platform,
    pub hub: SaleHub,
    /// Set in multi-node mode: Redis decides, the database stores (see `cluster`).
    pub cluster: Option<crate::cluster::Cluster>,
    /// Purchase attempts per account per second: a fan's retries are fine, a bot's flood is not.
    /// Counted in Redis when it is configured, so the limit holds for the cluster.
    pub purchase_limiter: Arc<RateLimiter>,
    /// Drops as the purchase path reads them, for a second (a sale asks a million times);
    /// `None` for a slug that has no drop. What the path uses changes rarely, and the one
    /// change made while a drop runs (closing its reservations) calls `forget_drop`.
    drops_for_sale: Arc<DropsForSale>,
    /// The newest posts of each wall as this node last read them (see `wall::wall`).
    pub(crate) walls: Arc<crate::wall::WallCache>,
}

/// A drop as read (`None`: no such drop), and when the read began.
type DropCopy = (Option<Arc<Drop>>, std::time::Instant);

/// The purchase path's copies of drops (see [`drop_for_sale`]).
#[derive(Default)]
struct DropsForSale {
    /// Slug → (the drop or `None`, when its read began).
    copies: std::sync::RwLock<HashMap<String, DropCopy>>,
    /// Slugs being read again: one reader each.
    loading: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Woken when a read ends.
    loaded: tokio::sync::Notify,
    /// Moves on every `forget_drop`: a read that began before one does not store its copy.
    generation: std::sync::atomic::AtomicU64,
}

impl LaunchState {
    pub fn new(platform: Platform) -> Self {
        LaunchState(Arc::new(LaunchInner {
            hub: SaleHub::new(platform.db.clone()),
            platform,
            cluster: None,
            purchase_limiter: Arc::new(RateLimiter::named("purchase", 20, Duration::from_secs(1))),
            drops_for_sale: Arc::default(),
            walls: Arc::default(),
        }))
    }

    /// Single-node mode: unpaid orders expire every second, also in drops nobody has opened
    /// since the process started.
    pub fn start_background(&self) {
        self.hub.start_expiry();
    }

    /// Before a sale opens (10 minutes ahead, or at once for one already open), this node loads
    /// API tokens into its memory (`fanloop_platform::authcache`, oldest first up to its
    /// capacity), so the rush of purchases is authenticated without a database read each.  Once
    /// per drop and node, and again if the node had to empty its memory since.
    pub fn start_auth_warmup(&self) {
        let platform = self.platform.clone();
        tokio::spawn(async move {
            // Drop id → how many times the cache had been emptied when it was loaded for it.
            let mut warmed = std::collections::HashMap::new();
            let mut tick = tokio::time::interval(Duration::from_secs(30));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if platform.db.pool.is_closed() {
                    return;
                }
                let now = now_ms();
                let clears = platform.auth_cache.clears();
                let soon = match store::active_drops(&platform.db, now).await {
                    Ok(drops) => drops
                        .into_iter()
                        .filter(|d| d.closes_at > now && d.opens_at.min(d.fcode_opens_at) - now <= 600_000)
                        .map(|d| d.id)
                        .filter(|id| warmed.get(id) != Some(&clears))
                        .collect::<Vec<_>>(),
                    Err(e) => {
                        tracing::debug!("listing drops to warm up for: {e:#}");
                        continue;
                    }
                };
                if soon.is_empty() {
                    continue;
                }
                let started = std::time::Instant::now();
                match platform.auth_cache.warm(&platform.db).await {
                    Ok(n) => {
                        tracing::info!(
                            "a sale opens soon: {n} API tokens loaded into memory in {:?}",
                            started.elapsed()
                        );
                        // As it was before loading: emptied meanwhile, it is loaded again.
                        warmed.extend(soon.into_iter().map(|id| (id, clears)));
                    }
                    Err(e) => tracing::warn!("loading API tokens before a sale: {e:#}"),
                }
            }
        });
    }

    /// Reminds reservers half an hour before a drop opens: a job, so one node of the cluster
    /// looks every 20 s (and each drop is also claimed, so a reminder is never sent twice).
    pub fn start_reminders(&self) {
        let state = self.clone();
        fanloop_platform::jobs::spawn(
            self.platform.db.clone(),
            fanloop_platform::jobs::Schedule {
                name: "launches.reminders",
                every: Duration::from_secs(20),
                lease: Duration::from_secs(120),
                delay_first: false,
            },
            move || {
                let state = state.clone();
                async move {
                    let n = send_reminders(&state, now_ms()).await?;
                    Ok(format!("{n} reminders"))
                }
            },
        );
    }

    /// Multi-node mode: sales go through Redis + the database.  This node renews its lease, and
    /// every second, alongside the others, expires unpaid orders, settles decisions left in
    /// flight by dead nodes and tells Redis of orders it missed, in every drop that needs it.
    pub fn with_cluster(self, cluster: crate::cluster::Cluster) -> Self {
        tokio::spawn(cluster.clone().heartbeat());
        let (db, c) = (self.platform.db.clone(), cluster.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if db.pool.is_closed() {
                    break;
                }
                let drops = match store::active_drops(&db, now_ms()).await {
                    Ok(drops) => drops,
                    Err(e) => {
                        tracing::warn!("listing drops to look after: {e:#}");
                        continue;
                    }
                };
                for d in &drops {
                    let pass = tokio::time::timeout(Duration::from_secs(30), c.look_after(d)).await;
                    match pass {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::warn!("looking after drop {}: {e:#}", d.id),
                        Err(_) => tracing::warn!("looking after drop {}: timed out", d.id),
                    }
                }
            }
        });
        let mut inner = Arc::try_unwrap(self.0).unwrap_or_else(|shared| (*shared).clone());
        inner.cluster = Some(cluster);
        LaunchState(Arc::new(inner))
    }
}

impl LaunchState {
    /// Drops the purchase path's cached copy of a drop whose windows just changed.
    pub fn forget_drop(&self, slug: &str) {
        let drops = &self.drops_for_sale;
        let mut copies = drops.copies.write().unwrap_or_else(|e| e.into_inner());
        drops.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        copies.remove(slug);
    }
}

impl FromRef<LaunchState> for Platform {
    fn from_ref(state: &LaunchState) -> Platform {
        state.platform.clone()
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewVariant {
    pub name: String,
    /// Units for the general sale.
    pub stock: i64,
    /// Units reserved for F-code holders.
    #[serde(default)]
    pub fcode_stock: i64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewDropRequest {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub price_cents: i64,
    /// An ISO 4217 code in capitals (default CNY).
    #[serde(default = "default_currency")]
    #[schema(pattern = r"^[A-Z]{3}$", min_length = 3, max_length = 3)]
    pub currency: String,
    pub per_account_limit: i64,
    pub reservations_open_at: i64,
    pub reservations_close_at: i64,
    /// When F-code holders may start buying (defaults to the opening).
    pub fcode_opens_at: Option<i64>,
    pub opens_at: i64,
    pub closes_at: i64,
    #[serde(default = "default_rank")]
    pub min_honor_rank: i64,
    #[serde(default)]
    pub min_account_age_days: i64,
    pub mode: SaleMode,
    /// Seconds to pay before an order expires and its stock returns (default 1,800).
    #[serde(default = "default_payment")]
    pub payment_seconds: i64,
    pub variants: Vec<NewVariant>,
    /// Reserving or buying by publishing a post that carries the drop's hashtag.
    #[serde(default)]
    pub share: Option<crate::share::ShareRule>,
}

fn default_currency() -> String {
    "CNY".into()
}
fn default_rank() -> i64 {
    1
}
fn default_payment() -> i64 {
    1_800
}

pub fn honor_rank(role: Role) -> u8 {
    if role.is_staff() {
        3
    } else {
        role.honor_rank()
    }
}

pub async fn create_drop(state: &LaunchState, actor: &User, r: &NewDropRequest) -> Result<Drop, ApiError> {
    if !actor.role.is_staff() {
        return Err(LaunchError::StaffOnly.into());
    }
    let problems = [
        (!fanloop_platform::web::is_url_slug(&r.slug), LaunchError::BadSlug),
        (
            r.name.trim().is_empty() || r.name.chars().count() > 80,
            LaunchError::BadName,
        ),
        (r.price_cents < 0, LaunchError::BadPrice),
        (
            r.currency.len() != 3 || !r.currency.bytes().all(|b| b.is_ascii_uppercase()),
            LaunchError::BadCurrency,
        ),
        (!(1..=100).contains(&r.per_account_limit), LaunchError::BadLimit),
        (
            r.reservations_open_at > r.reservations_close_at,
            LaunchError::ReservationWindow,
        ),
        (r.opens_at >= r.closes_at, LaunchError::SaleWindow),
        (
            r.fcode_opens_at.is_some_and(|f| f > r.opens_at),
            LaunchError::FcodeWindow,
        ),
        (
            !(0..=3).contains(&r.min_honor_rank) || r.min_account_age_days < 0,
            LaunchError::BadEligibility,
        ),
        (!(1..=86_400).contains(&r.payment_seconds), LaunchError::BadPayment),
        (
            r.variants.is_empty() || r.variants.len() > 20,
            LaunchError::BadVariantCount,
        ),
        (
            r.variants.iter().any(|v| {
                v.name.trim().is_empty()
                    || !(0..=10_000_000).contains(&v.stock)
                    || !(0..=10_000_000).contains(&v.fcode_stock)
                    || v.stock + v.fcode_stock > 10_000_000
            }),
            LaunchError::BadVariant,
        ),
        (
            {
                let mut names: Vec<String> = r.variants.iter().map(|v| v.name.trim().to_lowercase()).collect();
                names.sort();
                names.windows(2).any(|w| w[0] == w[1])
            },
            LaunchError::DuplicateVariant,
        ),
        (
            matches!(r.mode, SaleMode::Queue { wave_size, wave_ms } if wave_size == 0 || wave_ms < 0),
            LaunchError::BadQueue,
        ),
    ];
    if let Some((_, problem)) = problems.iter().find(|(bad, _)| *bad) {
        return Err((*problem).into());
    }
    let share = match &r.share {
        Some(rule) => {
            let rule = crate::share::ShareRule {
                hashtag: rule.hashtag.trim().to_string(),
                template: fanloop_platform::text::multiline(&rule.template).trim().to_string(),
                board: rule.board.trim().to_string(),
                ..rule.clone()
            };
            rule.check()?;
            if fanloop_community::store::board_by_slug(&state.platform.db, &rule.board)
                .await?
                .is_none()
            {
                return Err(LaunchError::ShareBadBoard.into());
            }
            Some(rule)
        }
        None => None,
    };
    let seed = draw::new_seed();
    let variants: Vec<(String, i64, i64)> = r
        .variants
        .iter()
        .map(|v| (v.name.trim().to_string(), v.stock, v.fcode_stock))
        .collect();
    let new = store::NewDrop {
        slug: &r.slug,
        name: r.name.trim(),
        description: r.description.trim(),
        price_cents: r.price_cents,
        currency: &r.currency,
        per_account_limit: r.per_account_limit,
        reservations_open_at: r.reservations_open_at,
        reservations_close_at: r.reservations_close_at,
        fcode_opens_at: r.fcode_opens_at.unwrap_or(r.opens_at),
        opens_at: r.opens_at,
        closes_at: r.closes_at,
        min_honor_rank: r.min_honor_rank,
        min_account_age_days: r.min_account_age_days,
        mode: &r.mode,
        payment_seconds: r.payment_seconds,
        seed: &seed,
        seed_commitment: &draw::commitment(&seed),
        created_by: actor.id,
        variants: &variants,
        share: share.as_ref(),
    };
    let id = store::create_drop(&state.platform.db, &new)
        .await?
        .ok_or(LaunchError::SlugTaken)?;
    // The purchase path may remember that this slug had no drop.
    state.forget_drop(new.slug);
    let d = store::drop_by_id(&state.platform.db, id)
        .await?
        .ok_or_else(|| ApiError::internal("the new drop vanished"))?;
    if d.share.is_some() {
        // The wall's forum thread; if this fails, the mirror makes it later.
        if let Err(e) = crate::wall::ensure_thread(state, &d).await {
            tracing::warn!("drop {}: opening its wall's forum thread: {e:#}", d.id);
        }
        return Ok(store::drop_by_id(&state.platform.db, id).await?.unwrap_or(d));
    }
    Ok(d)
}

pub async fn drop(state: &LaunchState, slug: &str) -> Result<Drop, ApiError> {
    store::drop_by_slug(&state.platform.db, slug)
        .await?
        .ok_or_else(|| LaunchError::NoDrop.into())
}

/// A drop for the purchase path (see `LaunchState::drops_for_sale`).
///
/// One request reads it again at a time.  A sale asks about 50,000 times a second: when every
/// request that found the copy a second old read the drop itself, each second began with
/// hundreds of reads queueing for the database's 8 connections, behind which token lookups,
/// the auth follower and order batches waited (seconds at the tail).  Now the first one reads;
/// the others keep the copy they found (under [`STALE_FOR`] old) or, with none, wait for the
/// read to end.  A slug without a drop is remembered too (a bot's bad slug costs one read a
/// second).  A failed read keeps serving a copy under [`STALE_FOR`] old.
pub(crate) async fn drop_for_sale(state: &LaunchState, slug: &str) -> Result<Arc<Drop>, ApiError> {
    use std::sync::atomic::Ordering;
    const FRESH: Duration = Duration::from_secs(1);
    /// How old a copy may be served while another request reads the drop again.
    const STALE_FOR: Duration = Duration::from_secs(5);
    /// How long a request without a copy waits for another one's read before reading itself.
    const WAIT_FOR: Duration = Duration::from_secs(2);
    /// Frees a slug's claim however the read ends (an error, or the request given up), and
    /// wakes the requests waiting for it.
    struct Loading<'a>(&'a DropsForSale, &'a str);
    impl std::ops::Drop for Loading<'_> {
        fn drop(&mut self) {
            self.0.loading.lock().unwrap_or_else(|e| e.into_inner()).remove(self.1);
            self.0.loaded.notify_waiters();
        }
    }
    let drops = &*state.drops_for_sale;
    let found = |copy: &Option<Arc<Drop>>| copy.clone().ok_or_else(|| ApiError::from(LaunchError::NoDrop));
    let started = std::time::Instant::now();
    loop {
        // Registered before looking, so the end of a read that happens meanwhile is not missed.
        let loaded = drops.loaded.notified();
        tokio::pin!(loaded);
        loaded.as_mut().enable();
        let cached = drops
            .copies
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(slug)
            .map(|(d, at)| (d.clone(), at.elapsed()));
        if let Some((d, age)) = &cached {
            if *age < FRESH {
                return found(d);
            }
        }
        let claimed = {
            let mut loading = drops.loading.lock().unwrap_or_else(|e| e.into_inner());
            loading.insert(slug.to_string())
        };
        if !claimed {
            match &cached {
                Some((d, age)) if *age < STALE_FOR => return found(d),
                _ => {
                    let left = WAIT_FOR.saturating_sub(started.elapsed());
                    if !left.is_zero() && tokio::time::timeout(left, loaded).await.is_ok() {
                        continue;
                    }
                    // The read takes longer than WAIT_FOR (the database is slow): read too.
                }
            }
        }
        let _loading = claimed.then(|| Loading(drops, slug));
        let generation = drops.generation.load(Ordering::Acquire);
        let began = std::time::Instant::now();
        let read = store::drop_by_slug(&state.platform.db, slug).await;
        let copy = match read {
            Ok(d) => d.map(Arc::new),
            Err(e) => {
                return match cached {
                    // The database did not answer: a copy recent enough still serves.
                    Some((d, age)) if age < STALE_FOR => {
                        tracing::warn!("reading drop {slug} again: {e:#}");
                        found(&d)
                    }
                    _ => Err(e.into()),
                };
            }
        };
        let mut copies = drops.copies.write().unwrap_or_else(|e| e.into_inner());
        // Stored only if no change was made since the read began, and no newer read stored.
        let newer = copies.get(slug).is_some_and(|(_, at)| *at > began);
        if drops.generation.load(Ordering::Acquire) == generation && !newer {
            if copies.len() > 1_000 {
                copies.retain(|_, (_, at)| at.elapsed() < STALE_FOR);
            }
            copies.insert(slug.to_string(), (copy.clone(), began));
        }
        return found(&copy);
    }
}

pub async fn stock(state: &LaunchState, d: &Drop) -> Result<StockView, ApiError> {
    if let Some(cluster) = &state.cluster {
        let remaining = cluster.remaining(d).await?;
        return Ok(StockView {
            total_remaining: remaining.iter().map(|(_, g, f)| g + f).sum(),
            remaining,
        });
    }
    Ok(state.hub.handle(d).await?.stock.borrow().clone())
}

fn eligible(d: &Drop, user: &User, now: i64) -> bool {
    honor_rank(user.role) as i64 >= d.min_honor_rank && now - user.created_at >= d.min_account_age_days * 86_400_000
}

/// Reserves; in a drop that takes reservations by posting, with the member's post (`typed`),
/// stored with the reservation or not at all.
pub async fn reserve(state: &LaunchState, user: &User, slug: &str, typed: Option<&str>) -> Result<bool, ApiError> {
    let d = drop(state, slug).await?;
    let now = now_ms();
    if now < d.reservations_open_at || now >= d.reservations_close_at {
        return Err(LaunchError::ReservationsClosed.into());
    }
    if !eligible(&d, user, now) {
        return Err(LaunchError::NotEligible.into());
    }
    let db = &state.platform.db;
    let post = crate::wall::share_for(state, &d, user, typed, false).await?;
    let reserved = store::reserve(db, d.id, user.id, now, post.as_deref()).await?;
    if post.is_some() {
        state.walls.forget(d.id);
    }
    match reserved {
        Ok(true) => return Ok(true),
        Ok(false) => {}
        Err(refusal) => return Err(rejection_error(&refusal.rejection())),
    }
    // Not recorded: already reserved, or the reservations closed meanwhile.
    match store::reservation_at(db, d.id, user.id).await? {
        Some(_) => Ok(false),
        None => Err(LaunchError::ReservationsClosed.into()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DrawResult {
    /// The seed, now public; SHA-256(seed) equals the commitment published at creation.
    pub seed: String,
    pub seed_commitment: String,
    pub reservations: usize,
    pub admitted: usize,
}

/// Closes the reservation phase: runs the draw (or orders the queue) from the committed seed,
/// stores who may buy when, reveals the seed, and hands the admission list to the sale actor.
pub async fn run_draw(state: &LaunchState, actor: &User, slug: &str) -> Result<DrawResult, ApiError> {
    if !actor.role.is_staff() {
        return Err(LaunchError::StaffOnly.into());
    }
    let db = &state.platform.db;
    let d = drop(state, slug).await?;
    if d.seed.is_some() {
        return Err(LaunchError::AlreadyDrawn.into());
    }
    if d.mode == SaleMode::Open {
        return Err(LaunchError::NoDraw.into());
    }
    // Running the draw closes the reservations (staff may close them early); the database
    // refuses any reservation from then on, so the draw sees every one that was accepted.
    let now = now_ms();
    if now < d.reservations_close_at {
        store::close_reservations(db, d.id, now).await?;
        state.forget_drop(slug);
    }
    let seed = store::seed_of(db, d.id).await?;
    let reservations = store::reservations(db, d.id).await?;
    let accounts: Vec<i64> = reservations.iter().map(|(u, _)| *u).collect();
    // Admission in order (draw order, or queue order): positions are stored as they are.
    let ordered: Vec<(i64, i64)> = match d.mode {
        SaleMode::Draw => {
            let units: i64 = d.variants.iter().map(|v| v.general_stock).sum();
            let winners = (units / d.per_account_limit.max(1)).max(0) as usize;
            draw::draw_winners(&seed, &accounts, winners, d.opens_at)
        }
        SaleMode::Queue { wave_size, wave_ms } => {
            let (early, late): (Vec<_>, Vec<_>) = reservations.iter().partition(|(_, at)| *at < d.opens_at);
            let early: Vec<i64> = early.iter().map(|(u, _)| *u).collect();
            let late: Vec<i64> = late.iter().map(|(u, _)| *u).collect();
            draw::queue_admission(&seed, &early, &late, d.opens_at, wave_size, wave_ms)
        }
        SaleMode::Open => unreachable!("checked above"),
    };
    let admission: HashMap<i64, i64> = ordered.iter().copied().collect();
    store::save_admission(db, d.id, &ordered, Some(actor.id)).await?;
    if state.cluster.is_none() {
        state.hub.handle(&d).await?.set_admission(admission.clone()).await?;
    }
    Ok(DrawResult {
        seed,
        seed_commitment: d.seed_commitment,
        reservations: accounts.len(),
        admitted: admission.len(),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyStatus {
    pub reserved: bool,
    /// `not_reserved`, `reserved` (draw not run yet), `won`, `lost`, `queued` or `open`.
    pub status: String,
    /// Queue or draw position (1-based), once known.
    pub position: Option<i64>,
    /// When this fan may start buying.
    pub admitted_at: Option<i64>,
    pub bought: i64,
    pub orders: Vec<Order>,
    /// The last four characters of each usable F-code this member holds for the drop.
    pub fcode_hints: Vec<String>,
    /// The member's post on the drop's wall (drops that take orders by posting).
    pub post_id: Option<i64>,
    /// Hidden by a moderator: it no longer counts (an order made with it stands).
    pub post_hidden: bool,
}

pub async fn my_status(state: &LaunchState, user: &User, slug: &str) -> Result<MyStatus, ApiError> {
    let db = &state.platform.db;
    let d = drop(state, slug).await?;
    let reserved = store::reservation_at(db, d.id, user.id).await?.is_some();
    let admission = store::admission_of(db, d.id, user.id).await?;
    let orders = store::orders_of(db, d.id, user.id).await?;
    let fcode_hints = store::fcode_hints_of(db, d.id, user.id).await?;
    let post = store::post_of(db, d.id, user.id).await?;
    let status = match (&d.mode, reserved, d.seed.is_some(), admission) {
        (SaleMode::Open, _, _, _) => "open",
        (_, false, _, _) => "not_reserved",
        (_, true, false, _) => "reserved",
        (SaleMode::Draw, true, true, Some(_)) => "won",
        (SaleMode::Draw, true, true, None) => "lost",
        (_, true, true, _) => "queued",
    };
    Ok(MyStatus {
        reserved,
        status: status.into(),
        position: admission.map(|(p, _)| p),
        admitted_at: admission.map(|(_, at)| at),
        bought: orders
            .iter()
            .filter(|o| o.status != "expired")
            .map(|o| o.quantity)
            .sum(),
        orders,
        fcode_hints,
        post_id: post.map(|(id, _)| id),
        post_hidden: post.is_some_and(|(_, hidden)| hidden),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PurchaseRequest {
    pub variant_id: i64,
    #[serde(default = "one")]
    #[schema(minimum = 1)]
    pub quantity: u32,
    /// An F-code to buy from the priority pool.
    pub fcode: Option<String>,
    /// The post that places the order, in a drop that sells by posting (a member's first order
    /// there; later ones keep that post). The hashtag is added if left out.
    #[schema(max_length = 1000)]
    pub post: Option<String>,
}

fn one() -> u32 {
    1
}

pub enum PurchaseOutcome {
    Created(Order),
    Replayed(Order),
}

/// A time in API messages: UTC with its label (pages show the reader's zone beside it).
fn utc(ms: i64) -> String {
    fanloop_platform::locale::datetime_with_zone(ms, "UTC")
}

pub fn rejection_error(r: &Rejection) -> ApiError {
    match r {
        Rejection::NotOpen { opens_at } => LaunchError::NotOpen.with(&[("opens_at", utc(*opens_at))]),
        Rejection::NotYourTurn { admitted_at } => LaunchError::NotYourTurn.with(&[("admitted_at", utc(*admitted_at))]),
        Rejection::Closed => LaunchError::Closed.into(),
        Rejection::SoldOut => LaunchError::SoldOut.into(),
        Rejection::LimitReached => LaunchError::LimitReached.into(),
        Rejection::NotEligible => LaunchError::NotEligible.into(),
        Rejection::NotSelected => LaunchError::NotSelected.into(),
        Rejection::UnknownVariant => LaunchError::UnknownVariant.into(),
        Rejection::BadQuantity => LaunchError::BadQuantity.into(),
        Rejection::FcodeUsed => LaunchError::FcodeUsed.into(),
        Rejection::PostCopied => LaunchError::ShareCopied.into(),
        Rejection::PostRequired => LaunchError::ShareRequired.into(),
    }
}

/// One purchase attempt, with a client-chosen idempotency key (required: retries are normal in
/// a flash sale, and must never buy twice).
pub async fn purchase(
    state: &LaunchState,
    user: &User,
    slug: &str,
    idempotency_key: &str,
    req: &PurchaseRequest,
) -> Result<PurchaseOutcome, ApiError> {
    if idempotency_key.is_empty()
        || idempotency_key.len() > 100
        || !idempotency_key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(LaunchError::BadIdempotencyKey.into());
    }
    if let Err(wait) = state.purchase_limiter.check(&user.id.to_string()).await {
        return Err(ApiError::rate_limited(wait));
    }
    let db = &state.platform.db;
    let d = drop_for_sale(state, slug).await?;
    let fcode = match req.fcode.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => {
            let (id, issued_to, transferable, usable) =
                store::fcode_by_hash(db, d.id, &auth::token_hash(&code.to_uppercase()))
                    .await?
                    .ok_or(LaunchError::FcodeUnknown)?;
            if !usable {
                // Used by this very attempt, whose answer was lost: a retry gets its order.
                if let Some(order) = store::order_by_key(db, d.id, user.id, idempotency_key).await? {
                    SALE_DECISIONS[1].inc();
                    return Ok(PurchaseOutcome::Replayed(order));
                }
                return Err(LaunchError::FcodeUsed.into());
            }
            if !transferable && issued_to != user.id {
                return Err(LaunchError::FcodeNotYours.into());
            }
            Some(id)
        }
        None => None,
    };
    // A sold-out single-node sale answers most attempts from memory (the sale's shortcut): the
    // post is then neither prepared nor checked (were a unit to come back meanwhile, the
    // transaction refuses an order without a post from a member who has none).
    let sold_out = match &state.cluster {
        Some(_) => false,
        None => d.share.is_some() && state.hub.handle(&d).await?.stock.borrow().total_remaining == 0,
    };
    let share = match sold_out {
        true => None,
        false => crate::wall::share_for(state, &d, user, req.post.as_deref(), true).await?,
    };
    let with_post = share.is_some();
    let attempt = Attempt {
        account: user.id,
        account_created_at: user.created_at,
        honor_rank: honor_rank(user.role),
        variant: req.variant_id,
        quantity: req.quantity,
        idempotency_key: idempotency_key.to_string(),
        fcode,
        now: now_ms(),
        share,
    };
    let decided = match &state.cluster {
        Some(cluster) => cluster.purchase(&d, &attempt).await,
        None => state.hub.handle(&d).await?.purchase(attempt).await,
    };
    let not_stored = |error: LaunchError| {
        let mut err: ApiError = error.into();
        err.retry_after_secs = Some(1);
        err
    };
    if with_post {
        // The buyer looks at the wall next: this node's copy is read again.
        state.walls.forget(d.id);
    }
    let decision = decided.map_err(|e| {
        SALE_DECISIONS[3].inc();
        tracing::warn!("purchase in drop {} not stored: {e:#}", d.id);
        not_stored(LaunchError::NotStored)
    })?;
    SALE_DECISIONS[match &decision {
        Decision::Accepted(_) => 0,
        Decision::Replayed(_) => 1,
        Decision::Rejected(_) => 2,
    }]
    .inc();
    match decision {
        // Whatever the engine or Redis says, an answer only ever carries the caller's own order.
        // This node's sale actor: it decided for this very attempt and answers once the batch
        // is committed, so the order it stored is known without reading it back.
        Decision::Accepted(o) if o.account == user.id && o.stored_at.is_some() && state.cluster.is_none() => {
            match stored_order(&d, &o) {
                Some(order) => Ok(PurchaseOutcome::Created(order)),
                None => match store::order(db, o.order_id).await? {
                    Some((order, owner)) if owner == user.id => Ok(PurchaseOutcome::Created(order)),
                    _ => Err(not_stored(LaunchError::NotStored)),
                },
            }
        }
        Decision::Accepted(o) => match store::order(db, o.order_id).await? {
            Some((order, owner)) if owner == user.id => Ok(PurchaseOutcome::Created(order)),
            Some(_) => {
                tracing::error!(
                    "order {} was decided for account {} but belongs to another",
                    o.order_id,
                    user.id
                );
                Err(not_stored(LaunchError::NotStored))
            }
            None => Err(not_stored(LaunchError::NotStored)),
        },
        // A retry: the order stored under this account and key, found by both.
        Decision::Replayed(_) => match store::order_by_key(db, d.id, user.id, idempotency_key).await? {
            Some(order) => Ok(PurchaseOutcome::Replayed(order)),
            None => Err(not_stored(LaunchError::StillStoring)),
        },
        // Several nodes: Redis (or the window check before it) may not know an order stored
        // under this key yet — stored after Redis last loaded, or a retry just after the close —
        // so a refusal is checked against the database: a retry always gets its order.
        Decision::Rejected(r) if state.cluster.is_some() => {
            match store::order_by_key(db, d.id, user.id, idempotency_key).await? {
                Some(order) => Ok(PurchaseOutcome::Replayed(order)),
                None => Err(rejection_error(&r)),
            }
        }
        Decision::Rejected(r) => Err(rejection_error(&r)),
    }
}

/// The order the sale actor has just stored, as the API shows it (what `store::order` would read).
fn stored_order(d: &Drop, o: &crate::engine::NewOrder) -> Option<Order> {
    let (created_at, expires_at) = o.stored_at?;
    let variant = d.variants.iter().find(|v| v.id == o.variant)?;
    Some(Order {
        id: o.order_id,
        drop_slug: d.slug.clone(),
        variant_id: variant.id,
        variant: variant.name.clone(),
        quantity: i64::from(o.quantity),
        status: "pending".to_string(),
        created_at,
        expires_at,
        used_fcode: o.fcode.is_some(),
    })
}

/// Each outcome's counter, looked up once (not hashed again for each of a sale's attempts).
static SALE_DECISIONS: std::sync::LazyLock<[fanloop_platform::ops::prometheus::IntCounter; 4]> =
    std::sync::LazyLock::new(|| {
        let family = fanloop_platform::ops::counter_vec(
            "fanloop_sale_decisions_total",
            "Purchase attempts decided, by outcome (`not_stored`: answered 503 to retry).",
            &["decision"],
        );
        ["accepted", "replayed", "rejected", "not_stored"].map(|d| family.with_label_values(&[d]))
    });

pub async fn pay(state: &LaunchState, user: &User, order_id: i64) -> Result<Order, ApiError> {
    let db = &state.platform.db;
    let (order, owner) = store::order(db, order_id).await?.ok_or(LaunchError::NoOrder)?;
    if owner != user.id {
        return Err(LaunchError::NoOrder.into());
    }
    if order.status == "paid" {
        return Ok(order);
    }
    let paid_now = store::pay_order(db, order_id, user.id, now_ms()).await?;
    // Read again either way: a concurrent payment of the same order may have won the update,
    // and then the order is paid, not expired.
    let (order, _) = store::order(db, order_id)
        .await?
        .ok_or_else(|| ApiError::internal("the order vanished"))?;
    if paid_now || order.status == "paid" {
        return Ok(order);
    }
    Err(LaunchError::Expired.into())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedCode {
    pub username: String,
    /// Shown once: hand it to the fan.
    pub code: String,
    pub id: i64,
}

/// Issues single-use, unguessable F-codes (80 random bits) to the named fans.
pub async fn issue_fcodes(
    state: &LaunchState,
    actor: &User,
    slug: &str,
    usernames: &[String],
    transferable: bool,
) -> Result<Vec<IssuedCode>, ApiError> {
    if !actor.role.is_staff() {
        return Err(LaunchError::StaffOnly.into());
    }
    if usernames.is_empty() || usernames.len() > 1000 {
        return Err(LaunchError::BadUsernameCount.into());
    }
    let db = &state.platform.db;
    let d = drop(state, slug).await?;
    // Every name first: a code issued to some of the list and then refused for the rest would
    // be lost (it is shown once), so one unknown name issues nothing.
    let mut members = Vec::new();
    let mut unknown = Vec::new();
    for name in usernames {
        match accounts::find_by_username(db, name.trim()).await? {
            Some(user) => members.push(user),
            None => unknown.push(name.trim().to_string()),
        }
    }
    if !unknown.is_empty() {
        return Err(LaunchError::UnknownMembers.with(&[("names", unknown.join(", "))]));
    }
    let mut out = Vec::new();
    for user in members {
        // Crockford-like alphabet without look-alikes: 16 characters ≈ 80 bits.
        const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";
        let raw = auth::new_token();
        let code: String = raw
            .as_bytes()
            .chunks(2)
            .take(16)
            .map(|pair| {
                ALPHABET[(u16::from_str_radix(std::str::from_utf8(pair).unwrap_or("00"), 16).unwrap_or(0) as usize)
                    % ALPHABET.len()] as char
            })
            .collect();
        let code = format!("F-{}-{}-{}-{}", &code[..4], &code[4..8], &code[8..12], &code[12..16]);
        let id = store::create_fcode(
            db,
            d.id,
            &auth::token_hash(&code),
            &code[code.len() - 4..],
            user.id,
            transferable,
            actor.id,
        )
        .await?;
        // The holder learns of it on the site; by mail (their choice) the letter carries the
        // code itself, once. The notification is then marked mailed, so it is not mailed again.
        let notification = NewNotification {
            user_id: user.id,
            kind: NotificationKind::FcodeIssued,
            actor_id: Some(actor.id),
            subject: &d.name,
            link: &format!("/drops/{}", d.slug),
            detail: None,
        };
        match fcode_letter(state, &user, &d, &code).await? {
            Some(letter) => {
                let mut tx = db.begin_write().await?;
                fanloop_platform::mail::enqueue(&mut *tx, &letter, &state.platform.mail_host()).await?;
                notifications::notify_with_mail_state(&mut *tx, &notification, "mailed").await?;
                tx.commit().await?;
                state.platform.wake_mail();
            }
            None => notifications::notify(&db.pool, &notification).await?,
        }
        out.push(IssuedCode {
            username: user.username,
            code,
            id,
        });
    }
    Ok(out)
}

/// The letter that carries an F-code, when its holder gets F-code news by e-mail now and has a
/// proven address.
async fn fcode_letter(
    state: &LaunchState,
    user: &fanloop_platform::accounts::User,
    d: &Drop,
    code: &str,
) -> anyhow::Result<Option<fanloop_platform::mail::Outgoing>> {
    use fanloop_platform::mail::{args, Delivery, Letter};
    let p = &state.platform;
    if !user.email_verified || user.is_suspended() {
        return Ok(None);
    }
    let delivery = fanloop_platform::mail::preferences(&p.db, user.id)
        .await?
        .into_iter()
        .find(|(k, _)| *k == NotificationKind::FcodeIssued)
        .map(|(_, d)| d);
    if delivery != Some(Delivery::Email) {
        return Ok(None);
    }
    let Some(details) = accounts::details(&p.db, user.id).await? else {
        return Ok(None);
    };
    if details.email.to_ascii_lowercase().ends_with(".invalid") {
        return Ok(None);
    }
    let lang = details
        .locale
        .as_deref()
        .and_then(fanloop_platform::i18n::Lang::parse)
        .unwrap_or(fanloop_platform::i18n::Lang::Zh);
    let fill = |key: &str| {
        fanloop_platform::i18n::fill(&p.t(lang, key), &args(&[("drop", &d.name), ("name", &user.username)]))
    };
    let letter = Letter {
        greeting: fill("mail.greeting"),
        paragraphs: vec![fill("mail.fcode_intro"), fill("mail.fcode_keep")],
        code: Some(code.to_string()),
        action: Some((p.t(lang, "mail.open"), p.absolute(&format!("/drops/{}", d.slug)))),
        ..Letter::default()
    };
    Ok(Some(p.compose(
        fanloop_platform::mail::To {
            lang,
            user_id: Some(user.id),
            address: &details.email,
        },
        "fcode_issued",
        fill("mail.fcode_subject"),
        letter,
        Some("fcode_issued"),
    )?))
}

/// Notifies the reservers of every drop opening within half an hour (once per drop).
pub async fn send_reminders(state: &LaunchState, now: i64) -> anyhow::Result<u64> {
    const LEAD_MS: i64 = 30 * 60_000;
    let db = &state.platform.db;
    let mut total = 0;
    for (id, name, slug, _opens_at) in store::drops_to_remind(db, now, LEAD_MS).await? {
        if let Some(n) = store::remind_reservers(db, id, &name, &slug, now).await? {
            tracing::info!("reminded {n} reservers that {slug} opens soon");
            total += n;
        }
    }
    if total > 0 {
        state.platform.wake_mail();
    }
    Ok(total)
}
