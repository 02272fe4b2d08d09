//! A node's memory of API-token lookups, so that a burst of calls (a flash sale: a million fans
//! buying within seconds) is authenticated without a database read each.
//!
//! What it keeps: for a token's SHA-256, the account as the database gave it and when the token
//! was last used.  What keeps it true: every change that bears on a token's account (the token
//! revoked, the account suspended, silenced, verified, renamed, its role changed, deleted) is
//! written to `auth_changes` by triggers, on every node's shared database; each node reads the new
//! rows every [`FOLLOW`] and drops that member's tokens.  A revocation therefore takes effect on
//! every node within about a second.  Rows that commit late (PostgreSQL hands out ids before
//! commit) are caught by reading again 500 ids behind the newest and every row of the last
//! minute.  A node answers from memory only while its last complete read of the changes is
//! less than [`TRUST`] old (else from the database); after a gap longer than [`CLEAR_AFTER`] it
//! empties its memory.  Whatever happens, no entry is served more than [`MAX_AGE`] after it was
//! read.
//!
//! Accounts that are suspended or silenced are never kept (their state depends on the time).
//! A full cache takes no new tokens: those are looked up in the database as before.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::accounts::User;
use crate::db::Db;

/// How often a node reads new `auth_changes`.
pub const FOLLOW: Duration = Duration::from_millis(500);
/// How long after its last successful read of the changes a node still answers from memory.
pub const TRUST: Duration = Duration::from_secs(5);
/// How far behind the newest change id a read goes again, for rows that committed late...
const LOOK_BACK: i64 = 500;
/// ...and how far back in time (rows written that long ago are read again, whatever their id).
const LOOK_BACK_MS: i64 = 60_000;
/// The longest an entry is served after it was read from the database.
pub const MAX_AGE: Duration = Duration::from_secs(30 * 60);
/// Changes older than this are removed...
const KEEP_CHANGES_MS: i64 = 3_600_000;
/// ...so a node that has not read them for this long (well under that) empties its memory: a
/// shorter gap loses no change (the next read finds them all), it only stops answers from
/// memory meanwhile.  A node starved by a flood of requests must not lose its cache.
const CLEAR_AFTER: Duration = Duration::from_secs(600);
const SHARDS: usize = 16;
/// `last_used_at` of a token never used.
const NEVER: i64 = i64::MIN;

struct Entry {
    user: User,
    /// The token's row (its uses are written by id).
    token_id: i64,
    last_used_at: AtomicI64,
    /// When it was read (ms on the cache's clock).
    loaded_at: u64,
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
    /// How many times the cache was emptied (a warm-up done before must be done again).
    clears: AtomicU64,
    /// Lookups it could not answer (not kept, too old, or not trusted then): each went to the
    /// database.
    misses: AtomicU64,
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
            clears: AtomicU64::new(0),
            misses: AtomicU64::new(0),
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

    /// A cached token's account, the token's id and when it was last used, if it is kept and
    /// the cache is trusted.
    pub fn get(&self, key: &TokenDigest) -> Option<(User, i64, Option<i64>)> {
        let found = if self.per_shard > 0 && self.trusted() {
            let oldest = self.now().saturating_sub(MAX_AGE.as_millis() as u64);
            let shard = self.shard(key).read().unwrap_or_else(|e| e.into_inner());
            shard.get(key).filter(|e| e.loaded_at >= oldest).map(|e| {
                let used = e.last_used_at.load(Ordering::Relaxed);
                (e.user.clone(), e.token_id, (used != NEVER).then_some(used))
            })
        } else {
            None
        };
        if found.is_none() {
            self.misses.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// Lookups since start that the cache could not answer.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
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
    pub fn insert(&self, epoch: u64, key: TokenDigest, token_id: i64, user: &User, last_used_at: Option<i64>) -> bool {
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
            token_id,
            last_used_at: AtomicI64::new(last_used_at.unwrap_or(NEVER)),
            loaded_at: self.now(),
        };
        match shard.insert(key, entry) {
            Some(old) if old.user.id == user.id => {}
            replaced => {
                // A token that changed hands is filed under its new owner only.
                if let Some(old) = replaced {
                    if let Some(keys) = owners.get_mut(&old.user.id) {
                        keys.retain(|k| *k != key);
                    }
                }
                owners.entry(user.id).or_default().push(key);
            }
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

    /// Forgets the entries older than [`MAX_AGE`] (they are no longer served, and would hold
    /// the room of new ones).  Returns how many.
    pub fn sweep(&self) -> usize {
        let oldest = self.now().saturating_sub(MAX_AGE.as_millis() as u64);
        let mut owners = self.owners.lock().unwrap_or_else(|e| e.into_inner());
        let mut gone = Vec::new();
        for shard in self.shards.iter() {
            shard.write().unwrap_or_else(|e| e.into_inner()).retain(|key, e| {
                let keep = e.loaded_at >= oldest;
                if !keep {
                    gone.push((e.user.id, *key));
                }
                keep
            });
        }
        for (user_id, key) in &gone {
            if let Some(keys) = owners.get_mut(user_id) {
                keys.retain(|k| k != key);
                if keys.is_empty() {
                    owners.remove(user_id);
                }
            }
        }
        gone.len()
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let mut owners = self.owners.lock().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.clears.fetch_add(1, Ordering::AcqRel);
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
        self.len() >= self.per_shard.saturating_mul(SHARDS)
    }

    /// How many times the cache was emptied so far.
    pub fn clears(&self) -> u64 {
        self.clears.load(Ordering::Acquire)
    }

    fn trust_from(&self, read_started: Instant) {
        let until = read_started.saturating_duration_since(self.clock) + TRUST;
        self.trusted_until.store(until.as_millis() as u64, Ordering::Release);
    }

    /// Follows `auth_changes` for as long as the database is open: drops the accounts changed
    /// on any node, and answers from memory only while the changes are read.
    pub fn follow(self: Arc<Self>, db: Db) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FOLLOW);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The newest change applied and the changes seen lately (id → written at); `None`
            // until the first read.
            let mut state: Option<(i64, BTreeMap<i64, i64>)> = None;
            let mut pruned = Instant::now();
            let mut swept = Instant::now();
            let mut last_complete = Instant::now();
            loop {
                tick.tick().await;
                if db.pool.is_closed() {
                    return;
                }
                let started = Instant::now();
                let since = crate::db::now_ms() - LOOK_BACK_MS;
                let read = match &state {
                    Some((newest, _)) => {
                        crate::accounts::auth_changes_after(&db, (newest - LOOK_BACK).max(0), since).await
                    }
                    None => crate::accounts::auth_changes_newest(&db).await.map(|n| vec![(n, 0, 0)]),
                };
                let rows = match read {
                    Ok(rows) => rows,
                    Err(e) => {
                        tracing::debug!("reading auth changes: {e:#}");
                        continue;
                    }
                };
                let complete = rows.len() < crate::accounts::AUTH_CHANGES_PAGE;
                let mut advanced = false;
                match &mut state {
                    None => {
                        // From what exists now: what was kept before is dropped (it may
                        // predate a change this node will never read).
                        let newest = rows.first().map(|r| r.0).unwrap_or(0);
                        self.clear();
                        state = Some((newest, BTreeMap::new()));
                    }
                    Some((newest, seen)) => {
                        if last_complete.elapsed() > CLEAR_AFTER && !self.is_empty() {
                            // Changes went unread for long: some may be gone (pruned).
                            tracing::warn!("API-token cache: changes unread for over {CLEAR_AFTER:?}, emptied");
                            self.clear();
                        }
                        for (id, user_id, at) in rows {
                            if seen.insert(id, at).is_none() {
                                self.drop_account(user_id);
                            }
                            advanced |= id > *newest;
                            *newest = (*newest).max(id);
                        }
                        let floor = *newest - LOOK_BACK;
                        seen.retain(|id, at| *id > floor || *at > since - 5_000);
                    }
                }
                // A full page means more changes wait: memory is trusted again only once
                // every change has been read.  The next page is read at once if this one moved
                // on (a page of the last minute's changes alone waits for them to age out).
                if complete {
                    self.trust_from(started);
                    last_complete = started;
                } else if advanced {
                    tick.reset_immediately();
                }
                if swept.elapsed() > Duration::from_secs(60) {
                    swept = Instant::now();
                    self.sweep();
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

    /// Loads tokens (oldest first) until the cache is full or every token is in: done by a node
    /// before a sale opens, so the rush finds its fans in memory.  Waits (up to 10 s) until the
    /// cache follows the changes; fails if it stops following them meanwhile.  Returns how many
    /// tokens it added.
    pub async fn warm(&self, db: &Db) -> anyhow::Result<usize> {
        if self.per_shard == 0 {
            return Ok(0);
        }
        let waiting = Instant::now();
        while !self.trusted() {
            anyhow::ensure!(
                waiting.elapsed() < Duration::from_secs(10),
                "this node does not follow auth_changes"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let before = self.len();
        let mut after = None;
        let mut retries = 0;
        while !self.full() {
            let epoch = self.epoch();
            let (page, last) = crate::accounts::token_page(db, after, 5_000).await?;
            let Some(last) = last else { break };
            anyhow::ensure!(self.trusted(), "this node stopped following auth_changes");
            for (digest, token_id, last_used_at, user) in &page {
                self.insert(epoch, *digest, *token_id, user, *last_used_at);
            }
            // A change applied while the page was read kept the rest of it out: read it again.
            if self.epoch() != epoch && retries < 5 {
                retries += 1;
                continue;
            }
            retries = 0;
            after = Some(last);
        }
        Ok(self.len().saturating_sub(before))
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
        assert!(cache.insert(e, [1; 32], 1, &user(7), None));
        assert_eq!(cache.get(&[1; 32]).map(|(u, _, _)| u.id), Some(7));
        // A lookup that began before a change is not kept.
        let before = cache.epoch();
        cache.drop_account(99);
        assert!(!cache.insert(before, [2; 32], 1, &user(8), None));
        assert!(cache.get(&[2; 32]).is_none());
        // Dropping an account forgets all its tokens and only them.
        let e = cache.epoch();
        assert!(cache.insert(e, [3; 32], 1, &user(7), Some(5)));
        assert!(cache.insert(e, [4; 32], 1, &user(9), None));
        cache.drop_account(7);
        assert!(cache.get(&[1; 32]).is_none() && cache.get(&[3; 32]).is_none());
        assert!(cache.get(&[4; 32]).is_some());
        // Time-bound states are never kept.
        let mut suspended = user(10);
        suspended.suspended_until = Some(i64::MAX);
        assert!(!cache.insert(cache.epoch(), [5; 32], 1, &suspended, None));
        let mut silenced = user(11);
        silenced.silenced_until = Some(i64::MAX);
        assert!(!cache.insert(cache.epoch(), [6; 32], 1, &silenced, None));
    }

    #[test]
    fn an_entry_is_served_for_at_most_its_age_and_moves_with_its_token() {
        let cache = AuthCache {
            clock: Instant::now() - MAX_AGE * 2,
            ..AuthCache::new(100)
        };
        cache.trust_from(Instant::now());
        assert!(cache.insert(cache.epoch(), [1; 32], 1, &user(1), None));
        assert!(cache.get(&[1; 32]).is_some());
        cache
            .shard(&[1; 32])
            .write()
            .unwrap()
            .get_mut(&[1; 32])
            .unwrap()
            .loaded_at = 0;
        assert!(cache.get(&[1; 32]).is_none(), "older than MAX_AGE");
        assert_eq!(cache.sweep(), 1);
        assert_eq!(cache.len(), 0);
        // A token read again under another account is dropped with that account only.
        assert!(cache.insert(cache.epoch(), [1; 32], 1, &user(2), None));
        cache.drop_account(1);
        assert_eq!(cache.get(&[1; 32]).map(|(u, _, _)| u.id), Some(2));
        cache.drop_account(2);
        assert!(cache.get(&[1; 32]).is_none());
        assert_eq!(cache.clears(), 0);
        cache.clear();
        assert_eq!(cache.clears(), 1);
    }

    #[test]
    fn uses_are_remembered_and_never_go_back() {
        let cache = trusted(100);
        assert!(cache.insert(cache.epoch(), [1; 32], 1, &user(1), None));
        assert_eq!(cache.get(&[1; 32]).unwrap().2, None);
        cache.mark_used(&[1; 32], 2_000);
        cache.mark_used(&[1; 32], 1_000);
        assert_eq!(cache.get(&[1; 32]).unwrap().2, Some(2_000));
    }

    #[test]
    fn an_untrusted_or_full_cache_answers_and_keeps_nothing() {
        let cache = AuthCache::new(100);
        assert!(!cache.insert(cache.epoch(), [1; 32], 1, &user(1), None));
        let cache = trusted(100);
        assert!(cache.insert(cache.epoch(), [1; 32], 1, &user(1), None));
        cache.trusted_until.store(0, Ordering::Release);
        assert!(cache.get(&[1; 32]).is_none());

        let cache = trusted(SHARDS); // one token per shard
        assert!(cache.insert(cache.epoch(), [0; 32], 1, &user(1), None));
        assert!(!cache.insert(cache.epoch(), [SHARDS as u8; 32], 1, &user(2), None));
        assert!(cache.get(&[SHARDS as u8; 32]).is_none());
        let off = AuthCache::new(0);
        off.trust_from(Instant::now());
        assert!(!off.insert(off.epoch(), [1; 32], 1, &user(1), None));
        assert!(off.full());
    }
}
