//! `fanloop-bench sale`: the reference event (1.3 million accounts for 50,000 phones) replayed
//! over real HTTP on loopback against three stock backends behind the same HTTP server, in the
//! same run:
//!
//! - `engine`: fanloop's sale actor (in-memory checks, group-committed durable orders in SQLite);
//! - `redis`: one Lua script per attempt doing check-and-decrement of stock and the per-account
//!   count atomically in Redis (orders live in Redis; as configured here Redis keeps nothing on
//!   disk, so an acknowledged order is *not* durable);
//! - `postgres`: one transaction per attempt: `UPDATE … SET remaining = remaining - 1 WHERE
//!   remaining > 0` and an order row whose primary key is the account (the per-account limit).
//!
//! Every account attempts once, at the opening; each backend must sell exactly the stock.  A
//! fourth, `noop`, answers without doing anything: the floor set by HTTP itself on this machine.
//!
//! `--path bare` times those handlers alone (`POST /buy`, the account in a header).  `--path api`
//! times what fans actually call: the real `POST /api/v1/drops/{slug}/purchase` of a full fanloop
//! server (its hardened accept loop, every middleware, Bearer-token lookup, rate limiter, JSON,
//! idempotency key, re-reading the order), with 1.3 million real accounts and API tokens, against
//! the same three stores: `engine` (one node, SQLite), `postgres` (one node, PostgreSQL) and
//! `redis` (the multi-node mode: Redis decides, PostgreSQL stores).  Both paths run in the same
//! invocation by default, so the ratios compare like with like.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use fanloop_launches::engine::{Attempt, Decision, Rejection, SaleMode};
use fanloop_launches::sale::{SaleHandle, SaleHub};
use fanloop_launches::store as launch_store;
use fanloop_platform::auth;

#[derive(clap::Args, Debug, Clone)]
pub struct SaleBenchArgs {
    #[arg(long, default_value_t = 1_300_000)]
    pub accounts: u64,
    #[arg(long, default_value_t = 50_000)]
    pub stock: u32,
    /// Concurrent client connections.
    #[arg(long, default_value_t = 1_000)]
    pub connections: usize,
    /// Requests in flight per connection: 1 is one request then its answer (a browser); more is
    /// HTTP/1.1 pipelining (a front proxy multiplexing users over its upstream connections).
    #[arg(long, default_value_t = 1)]
    pub pipeline: usize,
    /// Comma-separated: noop (the HTTP floor), engine, redis, postgres; on the api path each may
    /// end in `-share` (the drop sells by posting) and then `-nocache` (no token kept in memory).
    #[arg(long, default_value = "noop,engine,redis,postgres")]
    pub backends: String,
    #[arg(long, default_value = "redis://127.0.0.1:6379/")]
    pub redis_url: String,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub pg_url: String,
    /// Data folder for the engine's SQLite store (recreated).
    #[arg(long, default_value = "target/bench-sale-data")]
    pub data: std::path::PathBuf,
    /// Comma-separated: `bare` (the handlers alone) and/or `api` (the real purchase endpoint).
    #[arg(long, default_value = "bare,api")]
    pub path: String,
}

/// CPU time (user + system) this process has used so far.
/// This process's resident memory (Linux), 0 if unknown.
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// The bytes of one request for an account (1-based).
type RequestFor = Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>;

#[derive(Clone)]
enum Backend {
    /// Answers "sold out" without doing anything: the floor the HTTP stack itself sets.
    Noop,
    Engine(SaleHandle, i64),
    Redis(Box<redis::aio::ConnectionManager>, Arc<redis::Script>),
    Postgres(sqlx::PgPool),
}

const LUA: &str = r#"
local bought = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if bought >= tonumber(ARGV[2]) then return -1 end
local left = tonumber(redis.call('GET', KEYS[1]) or '0')
if left <= 0 then return 0 end
redis.call('DECR', KEYS[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
return 1
"#;

async fn buy(State(backend): State<Backend>, headers: HeaderMap) -> StatusCode {
    let Some(account) = headers
        .get("x-account")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
    else {
        return StatusCode::BAD_REQUEST;
    };
    match backend {
        Backend::Noop => StatusCode::CONFLICT,
        Backend::Engine(handle, variant) => {
            let attempt = Attempt {
                account,
                account_created_at: 0,
                honor_rank: 1,
                variant,
                quantity: 1,
                idempotency_key: "k".into(),
                fcode: None,
                now: fanloop_platform::db::now_ms(),
                share: None,
            };
            match handle.purchase(attempt).await {
                Ok(Decision::Accepted(_)) | Ok(Decision::Replayed(_)) => StatusCode::CREATED,
                Ok(Decision::Rejected(Rejection::SoldOut)) => StatusCode::CONFLICT,
                Ok(Decision::Rejected(_)) => StatusCode::FORBIDDEN,
                Err(_) => StatusCode::SERVICE_UNAVAILABLE,
            }
        }
        Backend::Redis(mut conn, script) => {
            let r: redis::RedisResult<i64> = script
                .key("bench:stock")
                .key("bench:bought")
                .arg(account)
                .arg(1)
                .invoke_async(&mut *conn)
                .await;
            match r {
                Ok(1) => StatusCode::CREATED,
                Ok(0) => StatusCode::CONFLICT,
                Ok(_) => StatusCode::FORBIDDEN,
                Err(_) => StatusCode::SERVICE_UNAVAILABLE,
            }
        }
        Backend::Postgres(pool) => {
            let result: Result<StatusCode, sqlx::Error> = async {
                let mut tx = pool.begin().await?;
                let left: Option<i32> = sqlx::query_scalar("UPDATE bench_stock SET remaining = remaining - 1 WHERE id = 1 AND remaining > 0 RETURNING remaining").fetch_optional(&mut *tx).await?;
                if left.is_none() {
                    return Ok(StatusCode::CONFLICT);
                }
                let inserted = sqlx::query("INSERT INTO bench_orders (account) VALUES ($1) ON CONFLICT DO NOTHING").bind(account).execute(&mut *tx).await?.rows_affected();
                if inserted == 0 {
                    return Ok(StatusCode::FORBIDDEN); // limit reached: the transaction rolls back
                }
                tx.commit().await?;
                Ok(StatusCode::CREATED)
            }
            .await;
            result.unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}

struct RunResult {
    wall: Duration,
    /// When the last unit was acknowledged, from the first attempt.
    sold_out_after: Duration,
    latencies_us: Vec<u64>,
    created: u64,
    sold_out: u64,
    other: u64,
}

/// One connection's share of the accounts, sent `depth` requests at a time (1: one request,
/// then its answer, as a browser does; more: HTTP/1.1 pipelining, as a front proxy batching
/// many users over one connection would).  A minimal client written on the socket, so that the
/// load generator costs as little of the two cores as possible.
async fn connection(
    addr: SocketAddr,
    first: u64,
    n: u64,
    depth: usize,
    started: Instant,
    request: RequestFor,
) -> std::io::Result<(Vec<u64>, [u64; 3], Duration)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut lat = Vec::with_capacity(n as usize);
    let mut counts = [0u64; 3]; // created, sold out, other
    let mut last_sale = Duration::ZERO;
    let mut out = Vec::with_capacity(depth * 80);
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut next = 0u64;
    while next < n {
        let batch = (n - next).min(depth as u64);
        out.clear();
        for i in 0..batch {
            out.extend_from_slice(&request(first + next + i + 1));
        }
        let sent = Instant::now();
        stream.write_all(&out).await?;
        let mut answered = 0;
        while answered < batch {
            // Parse every complete response in the buffer, then read more.
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&buf) {
                Ok(httparse::Status::Complete(head)) => {
                    let body = response
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if buf.len() < head + body {
                        if stream.read_buf(&mut buf).await? == 0 {
                            return Err(std::io::ErrorKind::UnexpectedEof.into());
                        }
                        continue;
                    }
                    match response.code {
                        Some(200 | 201) => {
                            counts[0] += 1;
                            last_sale = started.elapsed();
                        }
                        Some(409) => counts[1] += 1,
                        _ => counts[2] += 1,
                    }
                    lat.push(sent.elapsed().as_micros() as u64);
                    buf.drain(..head + body);
                    answered += 1;
                }
                Ok(httparse::Status::Partial) => {
                    if stream.read_buf(&mut buf).await? == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                }
                Err(e) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            }
        }
        next += batch;
    }
    Ok((lat, counts, last_sale))
}

async fn fire(addr: SocketAddr, args: &SaleBenchArgs, request: RequestFor) -> RunResult {
    let per = args.accounts / args.connections as u64;
    let extra = args.accounts % args.connections as u64;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..args.connections as u64 {
        let n = per + u64::from(c < extra);
        let first = c * per + c.min(extra);
        let depth = args.pipeline.max(1);
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            connection(addr, first, n, depth, started, request).await
        }));
    }
    let mut r = RunResult {
        wall: Duration::ZERO,
        sold_out_after: Duration::ZERO,
        latencies_us: Vec::with_capacity(args.accounts as usize),
        created: 0,
        sold_out: 0,
        other: 0,
    };
    for t in tasks {
        match t.await {
            Ok(Ok((lat, [c, s, o], last_sale))) => {
                r.sold_out_after = r.sold_out_after.max(last_sale);
                r.latencies_us.extend(lat);
                r.created += c;
                r.sold_out += s;
                r.other += o;
            }
            Ok(Err(e)) => {
                eprintln!("a client connection failed: {e}");
                r.other += 1;
            }
            Err(e) => {
                eprintln!("a client task failed: {e}");
                r.other += 1;
            }
        }
    }
    r.wall = started.elapsed();
    r.latencies_us.sort_unstable();
    r
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

/// The bench's drop: an open sale of `stock` phones from now, one per account, paid within an
/// hour, created by `created_by`.
/// The bench drop; with `share`, one that sells by posting (issue 16): every first order carries
/// a post, mirrored into a forum board.
async fn bench_drop(
    db: &fanloop_platform::Db,
    stock: u32,
    created_by: i64,
    share: bool,
) -> anyhow::Result<launch_store::Drop> {
    let now = fanloop_platform::db::now_ms();
    let share = if share {
        fanloop_community::store::create_board(db, "bench-wall", "Bench wall", "", 0).await?;
        Some(fanloop_launches::share::ShareRule {
            on: fanloop_launches::share::ShareOn::Buy,
            hashtag: "benchwall".into(),
            template: String::new(),
            min_chars: 8,
            board: "bench-wall".into(),
        })
    } else {
        None
    };
    let seed = fanloop_launches::draw::new_seed();
    let variants = vec![("phone".to_string(), stock as i64, 0)];
    let drop_id = launch_store::create_drop(
        db,
        &launch_store::NewDrop {
            slug: "bench",
            name: "bench",
            description: "",
            price_cents: 1,
            currency: "CNY",
            per_account_limit: 1,
            reservations_open_at: now,
            reservations_close_at: now,
            fcode_opens_at: now,
            opens_at: now,
            closes_at: now + 3_600_000,
            min_honor_rank: 0,
            min_account_age_days: 0,
            mode: &SaleMode::Open,
            payment_seconds: 3_600,
            seed: &seed,
            seed_commitment: &fanloop_launches::draw::commitment(&seed),
            created_by,
            variants: &variants,
            share: share.as_ref(),
        },
    )
    .await?
    .ok_or_else(|| anyhow::anyhow!("the bench drop exists already"))?;
    launch_store::drop_by_id(db, drop_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the bench drop vanished"))
}

async fn prepare(
    name: &str,
    args: &SaleBenchArgs,
) -> anyhow::Result<(
    Backend,
    Box<dyn Fn() -> futures::future::BoxFuture<'static, anyhow::Result<u64>> + Send + Sync>,
)> {
    match name {
        "noop" => Ok((
            Backend::Noop,
            Box::new(|| -> futures::future::BoxFuture<'static, anyhow::Result<u64>> { Box::pin(async { Ok(0) }) }),
        )),
        "engine" => {
            let _ = std::fs::remove_dir_all(&args.data);
            let config = fanloop::Config::sqlite(args.data.clone());
            let db = fanloop::open_db(&config).await?;
            // Orders reference accounts: create them all in one statement.
            sqlx::query(&format!(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {}) \
                 INSERT INTO users (username, email, password_hash, role, created_at) SELECT 'b' || x, 'b' || x || '@bench.invalid', '', 'fan', 0 FROM c",
                args.accounts
            ))
            .execute(&db.pool)
            .await?;
            let drop = bench_drop(&db, args.stock, 1, false).await?;
            let handle = SaleHub::new(db.clone()).handle(&drop).await?;
            let variant = drop.variants[0].id;
            let count = move || -> futures::future::BoxFuture<'static, anyhow::Result<u64>> {
                let db = db.clone();
                Box::pin(async move {
                    Ok(
                        sqlx::query_scalar::<_, i64>("SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM orders")
                            .fetch_one(&db.pool)
                            .await? as u64,
                    )
                })
            };
            Ok((Backend::Engine(handle, variant), Box::new(count)))
        }
        "redis" => {
            let client = redis::Client::open(args.redis_url.as_str())?;
            let mut conn = redis::aio::ConnectionManager::new(client).await?;
            redis::cmd("DEL")
                .arg("bench:stock")
                .arg("bench:bought")
                .query_async::<()>(&mut conn)
                .await?;
            redis::cmd("SET")
                .arg("bench:stock")
                .arg(args.stock)
                .query_async::<()>(&mut conn)
                .await?;
            let probe = conn.clone();
            let count = move || -> futures::future::BoxFuture<'static, anyhow::Result<u64>> {
                let mut c = probe.clone();
                Box::pin(async move {
                    Ok(redis::cmd("HLEN")
                        .arg("bench:bought")
                        .query_async::<u64>(&mut c)
                        .await?)
                })
            };
            Ok((
                Backend::Redis(Box::new(conn), Arc::new(redis::Script::new(LUA))),
                Box::new(count),
            ))
        }
        "postgres" => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(32)
                .connect(&args.pg_url)
                .await?;
            sqlx::query("DROP TABLE IF EXISTS bench_orders, bench_stock")
                .execute(&pool)
                .await?;
            sqlx::query("CREATE TABLE bench_stock (id INT PRIMARY KEY, remaining INT NOT NULL)")
                .execute(&pool)
                .await?;
            sqlx::query(
                "CREATE TABLE bench_orders (account BIGINT PRIMARY KEY, created_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            )
            .execute(&pool)
            .await?;
            sqlx::query("INSERT INTO bench_stock VALUES (1, $1)")
                .bind(args.stock as i32)
                .execute(&pool)
                .await?;
            let probe = pool.clone();
            let count = move || -> futures::future::BoxFuture<'static, anyhow::Result<u64>> {
                let p = probe.clone();
                Box::pin(async move {
                    Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM bench_orders")
                        .fetch_one(&p)
                        .await? as u64)
                })
            };
            Ok((Backend::Postgres(pool), Box::new(count)))
        }
        other => anyhow::bail!("unknown backend {other}"),
    }
}

/// A full fanloop server with the bench's accounts, tokens and drop.
struct ApiTarget {
    app: fanloop::App,
    secret: String,
    variant: i64,
    drop_id: i64,
    /// A PostgreSQL database this run created (dropped at the end).
    pg_database: Option<String>,
}

/// An account's own post: six words of a synthetic vocabulary of 5,000 picked by its number, so
/// that no two accounts' posts are near copies.
fn bench_post(account: u64) -> String {
    let mut x = account.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let words: Vec<String> = (0..6)
        .map(|_| {
            x ^= x >> 29;
            x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            format!("word{}", x % 5_000)
        })
        .collect();
    format!("b{account} says {}", words.join(" "))
}

fn bench_token(secret: &str, account: u64) -> String {
    format!("fl_bench_{secret}_{account}")
}

/// Creates `n` accounts named b1…bn with one API token each, straight in the database (hashing
/// 1.3 million passwords would take hours; the tokens are what the purchase path checks).
/// Returns the id of account b1 (ids are consecutive).
async fn bench_accounts(db: &fanloop_platform::Db, n: u64, secret: &str) -> anyhow::Result<i64> {
    let series = match db.backend {
        fanloop_platform::db::Backend::Postgres => format!("SELECT x FROM generate_series(1, {n}) AS c(x)"),
        fanloop_platform::db::Backend::Sqlite => {
            format!("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) SELECT x FROM c")
        }
    };
    sqlx::query(&format!(
        "INSERT INTO users (username, username_skeleton, email, password_hash, role, created_at) \
         SELECT 'b' || x, 'b' || x, 'b' || x || '@bench.invalid', '', 'fan', 0 FROM ({series}) AS s"
    ))
    .execute(&db.pool)
    .await?;
    let (first, last): (i64, i64) =
        sqlx::query_as("SELECT MIN(id), MAX(id) FROM users WHERE email LIKE '%@bench.invalid'")
            .fetch_one(&db.pool)
            .await?;
    anyhow::ensure!(last - first + 1 == n as i64, "bench accounts are not consecutive");
    const ROWS: usize = 500;
    let sql = |rows: usize| {
        let values: Vec<String> = (0..rows)
            .map(|r| format!("(${}, 'bench', ${}, 0)", r * 2 + 1, r * 2 + 2))
            .collect();
        format!(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES {}",
            values.join(", ")
        )
    };
    let full = sql(ROWS);
    let mut tx = db.pool.begin().await?;
    let mut account = 1u64;
    while account <= n {
        let rows = (n - account + 1).min(ROWS as u64) as usize;
        let text = if rows == ROWS { full.clone() } else { sql(rows) };
        let mut q = sqlx::query(&text);
        for k in 0..rows as u64 {
            let a = account + k;
            q = q
                .bind(first + a as i64 - 1)
                .bind(auth::token_hash(&bench_token(secret, a)));
        }
        q.execute(&mut *tx).await?;
        account += rows as u64;
    }
    tx.commit().await?;
    Ok(first)
}

async fn fresh_pg_database(admin_url: &str) -> anyhow::Result<(String, String)> {
    let admin = fanloop_platform::Db::connect(admin_url).await?;
    let name = format!("fanloop_bench_{}", &auth::new_token()[..10]);
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin.pool)
        .await?;
    admin.pool.close().await;
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .ok_or_else(|| anyhow::anyhow!("bad PostgreSQL URL"))?;
    Ok((name.clone(), format!("{base}/{name}")))
}

async fn drop_pg_database(admin_url: &str, name: &str) {
    if let Ok(admin) = fanloop_platform::Db::connect(admin_url).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&admin.pool)
            .await;
    }
}

async fn prepare_api(name: &str, args: &SaleBenchArgs) -> anyhow::Result<ApiTarget> {
    let dir = args.data.join(format!("api-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = fanloop::Config::sqlite(dir);
    // `engine-nocache` (and so on): the node keeps no token in memory, every call reads the
    // database to authenticate.
    let (name, cached) = match name.strip_suffix("-nocache") {
        Some(base) => (base, false),
        None => (name, true),
    };
    // `engine-share` (and so on): the drop sells by posting, each purchase carrying a post.
    let (name, share) = match name.strip_suffix("-share") {
        Some(base) => (base, true),
        None => (name, false),
    };
    if !cached {
        config.auth_cache_tokens = 0;
    }
    let mut pg_database = None;
    match name {
        "engine" => {}
        "postgres" | "redis" => {
            let (db_name, url) = fresh_pg_database(&args.pg_url).await?;
            config.database_url = Some(url);
            pg_database = Some(db_name);
            if name == "redis" {
                config.redis_url = Some(args.redis_url.clone());
                config.redis_prefix = format!("fanloop-bench-{}", &auth::new_token()[..8]);
            }
        }
        other => {
            anyhow::bail!("the api path has no backend {other} (engine, postgres, redis, each with -share, -nocache, both or neither)")
        }
    }
    let app = fanloop::build(&config).await?;
    let db = app.state.platform.db.clone();
    let secret = auth::new_token()[..12].to_string();
    let started = Instant::now();
    let first = bench_accounts(&db, args.accounts, &secret).await?;
    println!(
        "  {name}: {} accounts with API tokens in {:.1?}",
        args.accounts,
        started.elapsed()
    );
    let drop = bench_drop(&db, args.stock, first, share).await?;
    if cached {
        // What a node does before a sale opens (`LaunchState::start_auth_warmup`, ten minutes
        // ahead), done here at once since the bench's sale opens now.
        let cache = app.state.platform.auth_cache.clone();
        while !cache.trusted() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let started = Instant::now();
        let rss = resident_bytes();
        let n = cache.warm(&db).await?;
        let grew = resident_bytes().saturating_sub(rss);
        println!(
            "  {name}: {n} API tokens loaded into the node's memory before the sale in {:.1?}; the process grew by {} MB ({} bytes per token)",
            started.elapsed(),
            grew >> 20,
            grew / (n as u64).max(1)
        );
    }
    Ok(ApiTarget {
        app,
        secret,
        variant: drop.variants[0].id,
        drop_id: drop.id,
        pg_database,
    })
}

struct Line {
    name: String,
    wall: f64,
    p50: f64,
    p99: f64,
    cpu_us: f64,
}

fn report(name: &str, args: &SaleBenchArgs, r: &RunResult, durable: u64, cpu: Duration) -> Line {
    let cpu_us = cpu.as_secs_f64() * 1e6 / args.accounts as f64;
    println!(
        "{name:<13} wall {:>7.2}s  sold out after {:>6.2}s  {:>8.0} attempts/s  p50 {:>8.2} ms  p99 {:>8.2} ms  p99.9 {:>8.2} ms  CPU {:>6.1} µs/attempt  sold {}  sold-out answers {}  other {}  orders stored {}",
        r.wall.as_secs_f64(), r.sold_out_after.as_secs_f64(), args.accounts as f64 / r.wall.as_secs_f64(), pct(&r.latencies_us, 0.5), pct(&r.latencies_us, 0.99), pct(&r.latencies_us, 0.999),
        cpu_us, r.created, r.sold_out, r.other, durable
    );
    Line {
        name: name.to_string(),
        wall: r.wall.as_secs_f64(),
        p50: pct(&r.latencies_us, 0.5),
        p99: pct(&r.latencies_us, 0.99),
        cpu_us,
    }
}

pub async fn run(args: SaleBenchArgs) -> anyhow::Result<()> {
    println!(
        "fanloop-bench sale: {} accounts, {} units, {} connections, {} request(s) in flight per connection, HTTP/1.1 on loopback",
        args.accounts, args.stock, args.connections, args.pipeline.max(1)
    );
    let paths: Vec<&str> = args.path.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    let backends: Vec<&str> = args
        .backends
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let mut rows: Vec<Line> = Vec::new();
    if paths.contains(&"bare") {
        // The bare handler has no tokens and no posts: `-nocache` and `-share` lines are for the
        // api path only.
        for name in backends.iter().filter(|n| !n.contains('-')) {
            let (backend, count) = prepare(name, &args).await?;
            let app = Router::new().route("/buy", post(buy)).with_state(backend);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let server = tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
            });
            let request: RequestFor = Arc::new(|account| {
                format!("POST /buy HTTP/1.1\r\nhost: bench\r\nx-account: {account}\r\ncontent-length: 0\r\n\r\n")
                    .into_bytes()
            });
            let cpu = cpu_time();
            let r = fire(addr, &args, request).await;
            let cpu = cpu_time().saturating_sub(cpu);
            let durable = count().await?;
            let _ = stop.send(());
            let _ = server.await;
            rows.push(report(&format!("bare {name}"), &args, &r, durable, cpu));
            anyhow::ensure!(
                *name == "noop" || (r.created == u64::from(args.stock) && durable == r.created),
                "{name}: sold {} and stored {durable}, expected exactly {}",
                r.created,
                args.stock
            );
        }
    }
    if paths.contains(&"api") {
        for name in &backends {
            // `noop` on the real server: `GET /healthz` through the same accept loop and
            // middleware, the floor of the real path.
            let target = prepare_api(if *name == "noop" { "engine" } else { name }, &args).await?;
            let db = target.app.state.platform.db.clone();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let router = target.app.router.clone();
            let server = tokio::spawn(fanloop::serve_with(
                router,
                listener,
                fanloop::ServeLimits {
                    max_connections: args.connections * 2 + 100,
                    ..Default::default()
                },
                async {
                    let _ = stopped.await;
                },
            ));
            let (secret, variant) = (target.secret.clone(), target.variant);
            let noop = *name == "noop";
            let share = name.contains("-share");
            let request: RequestFor = Arc::new(move |account| {
                if noop {
                    return b"GET /healthz HTTP/1.1\r\nhost: bench\r\n\r\n".to_vec();
                }
                let body = if share {
                    format!("{{\"variant_id\":{variant},\"post\":\"{}\"}}", bench_post(account))
                } else {
                    format!("{{\"variant_id\":{variant}}}")
                };
                format!(
                    "POST /api/v1/drops/bench/purchase HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer {}\r\nidempotency-key: a{account}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    bench_token(&secret, account),
                    body.len()
                )
                .into_bytes()
            });
            let misses = target.app.state.platform.auth_cache.misses();
            let cpu = cpu_time();
            let r = fire(addr, &args, request).await;
            // What the sale left to write (each token's first use, written in bulk every few
            // seconds) is part of its cost: written now, and counted.
            let flushing = Instant::now();
            let flushed = target.app.state.platform.token_uses.flush(&db).await?;
            let flush_took = flushing.elapsed();
            let cpu = cpu_time().saturating_sub(cpu);
            if !noop {
                println!("  token uses written after the last answer (counted in CPU): {flushed} in {flush_took:.1?}");
            }
            let cache = &target.app.state.platform.auth_cache;
            println!(
                "  after the sale: {} API tokens in the node's memory, emptied {} times since the node started; {} lookups during the sale went to the database",
                cache.len(),
                cache.clears(),
                cache.misses() - misses
            );
            let durable: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM orders WHERE drop_id = $1 AND status <> 'expired'",
            )
            .bind(target.drop_id)
            .fetch_one(&db.pool)
            .await?;
            let _ = stop.send(());
            let _ = server.await;
            if let Some(cluster) = &target.app.launches.cluster {
                let _ = cluster.reset_drop(target.drop_id).await;
            }
            db.pool.close().await;
            if let Some(name) = &target.pg_database {
                drop_pg_database(&args.pg_url, name).await;
            }
            rows.push(report(&format!("api {name}"), &args, &r, durable as u64, cpu));
            anyhow::ensure!(
                noop || (r.created == u64::from(args.stock) && durable as u64 == r.created),
                "api {name}: sold {} and stored {durable}, expected exactly {}",
                r.created,
                args.stock
            );
        }
    }
    let find = |n: &str| rows.iter().find(|r| r.name == n);
    if let (Some(engine), Some(noop)) = (find("bare engine"), find("bare noop")) {
        println!(
            "bare engine vs bare noop: the engine's wall time is {:.2}x the bare HTTP floor",
            engine.wall / noop.wall
        );
    }
    if let Some(engine) = find("bare engine") {
        for other in rows
            .iter()
            .filter(|r| r.name.starts_with("bare ") && r.name != "bare engine" && r.name != "bare noop")
        {
            println!(
                "bare engine vs {}: wall {:.2}x faster, p50 {:.2}x, p99 {:.2}x",
                other.name,
                other.wall / engine.wall,
                other.p50 / engine.p50.max(1e-9),
                other.p99 / engine.p99.max(1e-9)
            );
        }
        for api in rows
            .iter()
            .filter(|r| r.name.starts_with("api ") && r.name != "api noop")
        {
            println!(
                "{} vs bare engine: CPU per attempt {:.2}x, wall {:.2}x",
                api.name,
                api.cpu_us / engine.cpu_us.max(1e-9),
                api.wall / engine.wall
            );
        }
    }
    for share in rows.iter().filter(|r| r.name.contains("-share")) {
        if let Some(plain) = find(&share.name.replace("-share", "")) {
            println!(
                "{} vs {}: CPU per attempt {:.2}x, wall {:.2}x, p50 {:.2}x, p99 {:.2}x",
                share.name,
                plain.name,
                share.cpu_us / plain.cpu_us.max(1e-9),
                share.wall / plain.wall,
                share.p50 / plain.p50.max(1e-9),
                share.p99 / plain.p99.max(1e-9)
            );
        }
    }
    if let Some(engine) = find("api engine") {
        if let Some(floor) = find("api noop") {
            println!(
                "api engine vs api noop (GET /healthz on the same server): CPU per attempt {:.2}x, wall {:.2}x",
                engine.cpu_us / floor.cpu_us.max(1e-9),
                engine.wall / floor.wall
            );
        }
        for other in rows
            .iter()
            .filter(|r| r.name.starts_with("api ") && r.name != "api engine" && r.name != "api noop")
        {
            println!(
                "api engine vs {}: wall {:.2}x faster, p50 {:.2}x, p99 {:.2}x, CPU {:.2}x",
                other.name,
                other.wall / engine.wall,
                other.p50 / engine.p50.max(1e-9),
                other.p99 / engine.p99.max(1e-9),
                other.cpu_us / engine.cpu_us.max(1e-9)
            );
        }
    }
    Ok(())
}
