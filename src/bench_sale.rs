//! `fanloop bench sale`: the reference event (1.3 million accounts for 50,000 phones) replayed
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
    /// Comma-separated: noop (the HTTP floor), engine, redis, postgres.
    #[arg(long, default_value = "noop,engine,redis,postgres")]
    pub backends: String,
    #[arg(long, default_value = "redis://127.0.0.1:6379/")]
    pub redis_url: String,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub pg_url: String,
    /// Data folder for the engine's SQLite store (recreated).
    #[arg(long, default_value = "target/bench-sale-data")]
    pub data: std::path::PathBuf,
}

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
            let account = first + next + i + 1;
            out.extend_from_slice(
                format!("POST /buy HTTP/1.1\r\nhost: bench\r\nx-account: {account}\r\ncontent-length: 0\r\n\r\n")
                    .as_bytes(),
            );
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
                        Some(201) => {
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

async fn fire(addr: SocketAddr, args: &SaleBenchArgs) -> RunResult {
    let per = args.accounts / args.connections as u64;
    let extra = args.accounts % args.connections as u64;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..args.connections as u64 {
        let n = per + u64::from(c < extra);
        let first = c * per + c.min(extra);
        let depth = args.pipeline.max(1);
        tasks.push(tokio::spawn(
            async move { connection(addr, first, n, depth, started).await },
        ));
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
            let config = crate::Config::sqlite(args.data.clone());
            let db = crate::open_db(&config).await?;
            // Orders reference accounts: create them all in one statement.
            sqlx::query(&format!(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {}) \
                 INSERT INTO users (username, email, password_hash, role, created_at) SELECT 'b' || x, 'b' || x || '@bench.invalid', '', 'fan', 0 FROM c",
                args.accounts
            ))
            .execute(&db.pool)
            .await?;
            let now = fanloop_platform::db::now_ms();
            let seed = fanloop_launches::draw::new_seed();
            let variants = vec![("phone".to_string(), args.stock as i64, 0)];
            let drop_id = launch_store::create_drop(
                &db,
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
                    created_by: 1,
                    variants: &variants,
                },
            )
            .await?
            .ok_or_else(|| anyhow::anyhow!("the bench drop exists already"))?;
            let drop = launch_store::drop_by_id(&db, drop_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the bench drop vanished"))?;
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

pub async fn run(args: SaleBenchArgs) -> anyhow::Result<()> {
    println!(
        "fanloop bench sale: {} accounts, {} units, {} connections, {} request(s) in flight per connection, HTTP/1.1 on loopback",
        args.accounts, args.stock, args.connections, args.pipeline.max(1)
    );
    let mut rows = Vec::new();
    for name in args.backends.split(',').map(str::trim).filter(|s| !s.is_empty()) {
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
        let r = fire(addr, &args).await;
        let durable = count().await?;
        let _ = stop.send(());
        let _ = server.await;
        println!(
            "{name:<9} wall {:>7.2}s  sold out after {:>6.2}s  {:>8.0} attempts/s  p50 {:>7.2} ms  p99 {:>7.2} ms  p99.9 {:>7.2} ms  sold {}  sold-out answers {}  other {}  orders stored {}",
            r.wall.as_secs_f64(), r.sold_out_after.as_secs_f64(), args.accounts as f64 / r.wall.as_secs_f64(), pct(&r.latencies_us, 0.5), pct(&r.latencies_us, 0.99), pct(&r.latencies_us, 0.999),
            r.created, r.sold_out, r.other, durable
        );
        anyhow::ensure!(
            name == "noop" || (r.created == u64::from(args.stock) && durable == r.created),
            "{name}: sold {} and stored {durable}, expected exactly {}",
            r.created,
            args.stock
        );
        rows.push((
            name.to_string(),
            r.wall.as_secs_f64(),
            pct(&r.latencies_us, 0.5),
            pct(&r.latencies_us, 0.99),
        ));
    }
    if let Some((_, engine_wall, engine_p50, engine_p99)) = rows.iter().find(|r| r.0 == "engine").cloned() {
        if let Some((_, noop_wall, _, _)) = rows.iter().find(|r| r.0 == "noop") {
            println!(
                "engine vs noop: the engine's wall time is {:.2}x the bare HTTP floor",
                engine_wall / noop_wall
            );
        }
        for (name, wall, p50, p99) in rows.iter().filter(|r| r.0 != "engine" && r.0 != "noop") {
            println!(
                "engine vs {name}: wall {:.2}x faster, p50 {:.2}x, p99 {:.2}x",
                wall / engine_wall,
                p50 / engine_p50.max(1e-9),
                p99 / engine_p99.max(1e-9)
            );
        }
    }
    Ok(())
}
