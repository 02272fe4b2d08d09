//! Fixed-window attempt counters, used to slow down password guessing and other abuse.
//!
//! On one node the counters live in memory.  With several nodes (Redis configured) they live in
//! Redis, so a client has one budget for the whole cluster, not one per node: a Lua script
//! counts the attempt and sets the window's expiry in one step.  If Redis does not answer
//! within [`SHARED_TIMEOUT`], the node falls back to its own counters for that attempt (a
//! budget per node, as without Redis) rather than refusing everyone or hanging.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Longest wait for Redis before counting locally.
pub const SHARED_TIMEOUT: Duration = Duration::from_millis(300);

/// Counts one attempt: `-1` when allowed, else the milliseconds until the window ends.
const COUNT_SCRIPT: &str = r#"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
  return ttl
end
return -1
"#;

/// Counters shared by every node through Redis.
#[derive(Clone)]
pub struct SharedCounters {
    conn: redis::aio::ConnectionManager,
    prefix: String,
    script: std::sync::Arc<redis::Script>,
}

impl SharedCounters {
    /// Connects to Redis; keys are `{prefix}:rl:{limiter}:{key}`.
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<SharedCounters> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(SHARED_TIMEOUT)
            .set_number_of_retries(1);
        let conn = tokio::time::timeout(
            Duration::from_secs(5),
            redis::aio::ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| anyhow::anyhow!("connecting to Redis at {url}: timed out"))??;
        Ok(SharedCounters {
            conn,
            prefix: prefix.to_string(),
            script: std::sync::Arc::new(redis::Script::new(COUNT_SCRIPT)),
        })
    }
}

impl SharedCounters {
    /// Whether Redis answers within [`SHARED_TIMEOUT`].
    pub async fn ping(&self) -> bool {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<String>(&mut conn);
        matches!(tokio::time::timeout(SHARED_TIMEOUT, ping).await, Ok(Ok(_)))
    }
}

pub struct RateLimiter {
    name: &'static str,
    limit: u32,
    window: Duration,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
    shared: OnceLock<SharedCounters>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self::named("limit", limit, window)
    }

    /// A limiter whose shared counters are kept under `name`.
    pub fn named(name: &'static str, limit: u32, window: Duration) -> Self {
        RateLimiter {
            name,
            limit,
            window,
            windows: Mutex::new(HashMap::new()),
            shared: OnceLock::new(),
        }
    }

    /// Keeps the counters in Redis from now on (several nodes).
    pub fn share(&self, counters: SharedCounters) {
        let _ = self.shared.set(counters);
    }

    /// Counts an attempt for `key`; `Err(seconds)` says how long until the next attempt is allowed.
    pub async fn check(&self, key: &str) -> Result<(), u64> {
        if let Some(shared) = self.shared.get() {
            let redis_key = format!("{}:rl:{}:{key}", shared.prefix, self.name);
            let mut conn = shared.conn.clone();
            let mut invocation = shared.script.key(redis_key);
            invocation.arg(self.window.as_millis() as u64).arg(self.limit);
            let call = invocation.invoke_async::<i64>(&mut conn);
            match tokio::time::timeout(SHARED_TIMEOUT, call).await {
                Ok(Ok(-1)) => return Ok(()),
                Ok(Ok(wait_ms)) => return Err((wait_ms.max(0) as u64).div_ceil(1000).max(1)),
                Ok(Err(e)) => tracing::warn!("rate limit in Redis: {e}; counting on this node"),
                Err(_) => tracing::warn!("rate limit in Redis: no answer; counting on this node"),
            }
        }
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), u64> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = windows.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            let wait = self.window.saturating_sub(now.duration_since(entry.0));
            return Err(wait.as_secs().max(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_limit_until_window_passes() {
        let rl = RateLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(rl.check_at("ip:alice", t0).is_ok());
        }
        let wait = rl.check_at("ip:alice", t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, 50);
        assert!(rl.check_at("ip:bob", t0).is_ok(), "keys are independent");
        assert!(rl.check_at("ip:alice", t0 + Duration::from_secs(61)).is_ok());
    }
}
