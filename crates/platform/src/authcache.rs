//! A node's memory of API-token lookups, so that a burst of calls (a flash sale: a million fans
//! buying within seconds) is authenticated without a database read each.
//!
//! What it keeps: for a token's SHA-256, the account as the database gave it and when the token
//! was last used.  What keeps it true: every change that bears on a token's account (the token
//! revoked, the account suspended, silenced, verified, renamed, its role changed, deleted) is
//! written to `auth_changes` by triggers, on every node's shared database; each node reads the new
//! rows every [`FOLLOW`] and drops that member's tokens.  A revocation therefore takes effect on
//! every node within about a second.  If a node cannot read the changes for [`TRUST`], it stops
//! answering from memory and empties it, so it never serves an entry older than that.
//!
//! Accounts that are suspended or silenced are never kept (their state depends on the time).
//! A full cache takes no new tokens: those are looked up in the database as before.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::accounts::User;
use crate::db::Db;

/// How often a node reads new `auth_changes`.
pub const FOLLOW: Duration = Duration::from_millis(500);
/// How long after its last successful read of the changes a node still answers from memory.
pub const TRUST: Duration = Duration::from_secs(5);
/// How far behind the newest change id a read goes again, for rows that committed late.
const LOOK_BACK: i64 = 500;
/// Changes older than this are removed (a node that has not read them for [`TRUST`] has
/// emptied its memory anyway).
const KEEP_CHANGES_MS: i64 = 3_600_000;
const SHARDS: usize = 16;
/// `last_used_at` of a token never used.
const NEVER: i64 = i64::MIN;

struct Entry {
    user: User,
    last_used_at: AtomicI64,
}

/// The SHA-256 of an API token.
pub type TokenDigest = [u8; 32];

pub struct AuthCache {
    shards: Box<[RwLock<HashMap<TokenDigest, Entry>>]>,
    /// Each account's cached tokens; held while inserting or dropping, so the two never cross.
    owners: Mutex<HashMap<i64, Vec<TokenDigest>>>,
    /// Moves on every drop: a lookup that began before one may not store what it read.
    epoch: AtomicU64,
    /// Milliseconds on `clock` until which entries may be served.
    trusted_until: AtomicU64,
    clock: Instant,
    per_shard: usize,
}

impl AuthCache {
    /// A cache of at most `capacity` tokens (0 turns it off).
    pub fn new(capacity: usize) -> AuthCache {
        AuthCache {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            owners: Mutex::new(HashMap::new()),
            epoch: AtomicU64::new(0),
            trusted_until: AtomicU64::new(0),
            clock: Instant::now(),
            per_shard: capacity.div_ceil(SHARDS),
        }
    }

    fn shard(&self, key: &TokenDigest) -> &RwLock<HashMap<TokenDigest, Entry>> {
        &self.shards[key[0] as usize % SHARDS]
    }

    fn now(&self) -> u64 {
        self.clock.elapsed().as_millis() as u64
    }

    /// Whether entries may be served now.
    pub fn trusted(&self) -> bool {
        self.now() < self.trusted_until.load(Ordering::Acquire)
    }

    /// The account of a cached token and when the token was last used, if it is kept and the
    /// cache is trusted.
    pub fn get(&self, key: &TokenDigest) -> Option<(User, Option<i64>)> {
        if self.per_shard == 0 || !self.trusted() {
            return None;
        }
        let shard = self.shard(key).read().unwrap_or_else(|e| e.into_inner());
        shard.get(key).map(|e| {
            let used = e.last_used_at.load(Ordering::Relaxed);
            (e.user.clone(), (used != NEVER).then_some(used))
        })
    }

    /// Notes a use of a cached token (what is written to the database is `TokenUses`'s job).
    pub fn mark_used(&self, key: &TokenDigest, at: i64) {
        let shard = self.shard(key).read().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = shard.get(key) {
            e.last_used_at.fetch_max(at, Ordering::Relaxed);
        }
    }

    /// To be read before looking a token up in the database, and given to [`AuthCache::insert`].
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Keeps what a lookup that began at `epoch` read, unless a change was applied since (it
    /// may have been read before that change), the cache is not trusted, the account's state
    /// depends on the time, or the cache is full.
    pub fn insert(&self, epoch: u64, key: TokenDigest, user: &User, last_used_at: Option<i64>) -> bool {
        if self.per_shard == 0 || user.suspended_until.is_some() || user.silenced_until.is_some() || !self.trusted() {
            return false;
        }
        let mut owners = self.owners.lock().unwrap_or_else(|e| e.into_inner());
        if self.epoch.load(Ordering::Acquire) != epoch {
            return false;
        }
        let mut shard = self.shard(&key).write().unwrap_or_else(|e| e.into_inner());
        if shard.len() >= self.per_shard && !shard.contains_key(&key) {
            return false;
        }
        let entry = Entry {
            user: user.clone(),
            last_used_at: AtomicI64::new(last_used_at.unwrap_or(NEVER)),
        };
        if shard.insert(key, entry).is_none() {
            owners.entry(user.id).or_default().push(key);
        }
        true
    }

    /// Forgets every cached token of an account.
    pub fn drop_account(&self, user_id: i64) {
        let mut owners = self.owners.lock().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for key in owners.remove(&user_id).unwrap_or_default() {
            self.shard(&key).write().unwrap_or_else(|e| e.into_inner()).remove(&key);
        }
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let mut owners = self.owners.lock().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        owners.clear();
        for shard in self.shards.iter() {
            shard.write().unwrap_or_else(|e| e.into_inner()).clear();
        }
    }

    /// Tokens kept.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the cache takes no more tokens (or is turned off).
    pub fn full(&self) -> bool {
        self.len() >= self.per_shard * SHARDS
    }

    fn trust_from(&self, read_started: Instant) {
        let until = read_started.saturating_duration_since(self.clock) + TRUST;
        self.trusted_until.store(until.as_millis() as u64, Ordering::Release);
    }

    /// Follows `auth_changes` for as long as the database is open: drops the accounts changed
    /// on any node, and stops trusting the cache when the changes cannot be read.
    pub fn follow(self: Arc<Self>, db: Db) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FOLLOW);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The newest change applied and the ids seen near it; `None` until the first read.
            let mut state: Option<(i64, BTreeSet<i64>)> = None;
            let mut pruned = Instant::now();
            loop {
                tick.tick().await;
                if db.pool.is_closed() {
                    return;
                }
                let started = Instant::now();
                let read = match &state {
                    Some((newest, _)) => crate::accounts::auth_changes_after(&db, (newest - LOOK_BACK).max(0)).await,
                    None => crate::accounts::auth_changes_newest(&db).await.map(|n| vec![(n, 0)]),
                };
                match read {
                    Ok(rows) => {
                        match &mut state {
                            None => {
                                // From what exists now: what was kept before is dropped (it
                                // may predate a change this node will never read).
                                let newest = rows.first().map(|r| r.0).unwrap_or(0);
                                self.clear();
                                state = Some((newest, BTreeSet::new()));
                            }
                            Some((newest, seen)) => {
                                for (id, user_id) in rows {
                                    if seen.insert(id) {
                                        self.drop_account(user_id);
                                    }
                                    *newest = (*newest).max(id);
                                }
                                *seen = seen.split_off(&(*newest - LOOK_BACK));
                            }
                        }
                        self.trust_from(started);
                    }
                    Err(e) => {
                        tracing::debug!("reading auth changes: {e:#}");
                        if !self.trusted() && !self.is_empty() {
                            tracing::warn!("API-token cache: changes unreadable for {TRUST:?}, emptied");
                            self.clear();
                        }
                    }
                }
                if pruned.elapsed() > Duration::from_secs(600) {
                    pruned = Instant::now();
                    if let Err(e) =
                        crate::accounts::prune_auth_changes(&db, crate::db::now_ms() - KEEP_CHANGES_MS).await
                    {
                        tracing::debug!("pruning auth changes: {e:#}");
                    }
                }
            }
        });
    }

    /// Loads tokens (oldest first) until the cache is full or every token is in: done by a node before a sale opens, so the rush finds its fans in memory.
    /// Returns how many tokens it added.
    pub async fn warm(&self, db: &Db) -> anyhow::Result<usize> {
        anyhow::ensure!(
            self.per_shard == 0 || self.trusted(),
            "this node does not follow auth_changes yet"
        );
        let mut added = 0;
        let mut after = None;
        while self.per_shard > 0 && !self.full() {
            let epoch = self.epoch();
            let page = crate::accounts::token_page(db, after, 5_000).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.0);
            for (_, digest, last_used_at, user) in &page {
                if self.insert(epoch, *digest, user, *last_used_at) {
                    added += 1;
                }
            }
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn user(id: i64) -> User {
        User {
            id,
            username: format!("u{id}"),
            role: Role::Fan,
            team: None,
            bio: String::new(),
            display_name: None,
            avatar_url: None,
            created_at: 0,
            email_verified: true,
            suspended_until: None,
            silenced_until: None,
        }
    }

    fn trusted(capacity: usize) -> AuthCache {
        let cache = AuthCache::new(capacity);
        cache.trust_from(Instant::now());
        cache
    }

    #[test]
    fn keeps_only_what_no_change_can_have_overtaken() {
        let cache = trusted(100);
        let e = cache.epoch();
        assert!(cache.insert(e, [1; 32], &user(7), None));
        assert_eq!(cache.get(&[1; 32]).map(|(u, _)| u.id), Some(7));
        // A lookup that began before a change is not kept.
        let before = cache.epoch();
        cache.drop_account(99);
        assert!(!cache.insert(before, [2; 32], &user(8), None));
        assert!(cache.get(&[2; 32]).is_none());
        // Dropping an account forgets all its tokens and only them.
        let e = cache.epoch();
        assert!(cache.insert(e, [3; 32], &user(7), Some(5)));
        assert!(cache.insert(e, [4; 32], &user(9), None));
        cache.drop_account(7);
        assert!(cache.get(&[1; 32]).is_none() && cache.get(&[3; 32]).is_none());
        assert!(cache.get(&[4; 32]).is_some());
        // Time-bound states are never kept.
        let mut suspended = user(10);
        suspended.suspended_until = Some(i64::MAX);
        assert!(!cache.insert(cache.epoch(), [5; 32], &suspended, None));
        let mut silenced = user(11);
        silenced.silenced_until = Some(i64::MAX);
        assert!(!cache.insert(cache.epoch(), [6; 32], &silenced, None));
    }

    #[test]
    fn uses_are_remembered_and_never_go_back() {
        let cache = trusted(100);
        assert!(cache.insert(cache.epoch(), [1; 32], &user(1), None));
        assert_eq!(cache.get(&[1; 32]).unwrap().1, None);
        cache.mark_used(&[1; 32], 2_000);
        cache.mark_used(&[1; 32], 1_000);
        assert_eq!(cache.get(&[1; 32]).unwrap().1, Some(2_000));
    }

    #[test]
    fn an_untrusted_or_full_cache_answers_and_keeps_nothing() {
        let cache = AuthCache::new(100);
        assert!(!cache.insert(cache.epoch(), [1; 32], &user(1), None));
        let cache = trusted(100);
        assert!(cache.insert(cache.epoch(), [1; 32], &user(1), None));
        cache.trusted_until.store(0, Ordering::Release);
        assert!(cache.get(&[1; 32]).is_none());

        let cache = trusted(SHARDS); // one token per shard
        assert!(cache.insert(cache.epoch(), [0; 32], &user(1), None));
        assert!(!cache.insert(cache.epoch(), [SHARDS as u8; 32], &user(2), None));
        assert!(cache.get(&[SHARDS as u8; 32]).is_none());
        let off = AuthCache::new(0);
        off.trust_from(Instant::now());
        assert!(!off.insert(off.epoch(), [1; 32], &user(1), None));
        assert!(off.full());
    }
}
