//! Multi-node launches (PostgreSQL + Redis), one regression test per defect of issue 11 that
//! needs a cluster; `launch_faults.rs` runs the whole thing under injected faults.  Nodes run
//! in-process against the shared Redis under their own key prefix (never flushed), or against a
//! private `redis-server` when the test kills it.  Runs with `CI=true`; a plain local `cargo test`
//! skips loudly without PostgreSQL or Redis.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use fanloop_launches::cluster::{Cluster, ClusterOptions};
use fanloop_launches::engine::{Attempt, Decision};
use fanloop_launches::store;
use fanloop_platform::accounts;
use fanloop_platform::auth::{self, Role};
use fanloop_platform::db::now_ms;
use reqwest::StatusCode;
use serde_json::{json, Value};

struct Node {
    base: String,
    cluster: Cluster,
    db: fanloop_platform::Db,
    _dir: tempfile::TempDir,
}

async fn node(db_url: &str, redis_url: &str, prefix: &str, options: ClusterOptions) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let config = fanloop::Config {
        database_url: Some(db_url.to_string()),
        redis_url: Some(redis_url.to_string()),
        redis_prefix: prefix.to_string(),
        cluster: options,
        ..fanloop::Config::sqlite(dir.path())
    };
    let app = fanloop::build(&config).await.expect("node");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let cluster = app.launches.cluster.clone().expect("multi-node mode");
    let db = app.state.platform.db.clone();
    tokio::spawn(fanloop::serve(app.router, listener, std::future::pending()));
    Node {
        base,
        cluster,
        db,
        _dir: dir,
    }
}

struct Fan {
    id: i64,
    token: String,
}

async fn fans(db: &fanloop_platform::Db, prefix: &str, n: usize, role: Role) -> Vec<Fan> {
    let hash = auth::hash_password("password123").unwrap();
    let mut out = Vec::new();
    for i in 0..n {
        let name = format!("{prefix}{i}");
        let u = accounts::create_user(db, &name, &format!("{name}@example.com"), &hash, role, None, None, None)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        out.push(Fan {
            id: u.id,
            token: accounts::create_api_token(db, u.id, "t").await.unwrap().1,
        });
    }
    out
}

async fn create_drop(
    n: &Node,
    admin: &Fan,
    slug: &str,
    stock: i64,
    fcode_stock: i64,
    payment_seconds: i64,
) -> store::Drop {
    let base = &n.base;
    let now = now_ms();
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/drops"))
        .bearer_auth(&admin.token)
        .json(
            &json!({"slug": slug, "name": slug, "price_cents": 1, "per_account_limit": 2,
            "reservations_open_at": now - 1000, "reservations_close_at": now, "fcode_opens_at": now - 1000,
            "opens_at": now, "closes_at": now + 3_600_000, "mode": {"kind": "open"}, "payment_seconds": payment_seconds,
            "variants": [{"name": "only", "stock": stock, "fcode_stock": fcode_stock}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let d: Value = r.json().await.unwrap();
    let id = d["id"].as_i64().unwrap();
    store::drop_by_id(&n.db, id).await.unwrap().unwrap()
}

async fn buy(base: &str, fan: &Fan, slug: &str, key: &str, body: Value) -> (StatusCode, Value, Duration) {
    let t = Instant::now();
    let r = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
        .post(format!("{base}/api/v1/drops/{slug}/purchase"))
        .bearer_auth(&fan.token)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null), t.elapsed())
}

fn attempt(d: &store::Drop, fan: &Fan, key: &str) -> Attempt {
    Attempt {
        account: fan.id,
        account_created_at: 0,
        honor_rank: 1,
        variant: d.variants[0].id,
        quantity: 1,
        idempotency_key: key.into(),
        fcode: None,
        now: now_ms(),
        share: None,
    }
}

async fn free_in_db(db: &fanloop_platform::Db, d: &store::Drop) -> i64 {
    store::remaining_in_db(db, d.id)
        .await
        .unwrap()
        .iter()
        .map(|(_, g, f)| (*g + *f) as i64)
        .sum()
}

async fn in_redis(c: &Cluster, d: &store::Drop) -> i64 {
    c.remaining(d)
        .await
        .unwrap()
        .iter()
        .map(|(_, g, f)| (*g + *f) as i64)
        .sum()
}

async fn drop_database(name: &str) {
    if let Ok(admin) = fanloop_platform::Db::connect(&common::pg_admin_url()).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&admin.pool)
            .await;
    }
}

/// Defect 1 (critical): after Redis restarts empty while a decision is in flight, no order id is
/// issued twice and every retry is answered with the caller's own order.  Also defect 2 at the
/// source: the database refuses a decision above the per-account limit by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_are_never_reused_and_a_replay_is_the_callers_own_after_redis_loses_everything() {
    let Some(redis) = common::redis_url().await else { return };
    let Some((db_name, db_url)) = common::fresh_pg_database().await else {
        return;
    };
    let prefix = format!("t11-{}", &auth::new_token()[..8]);
    let n = node(&db_url, &redis, &prefix, ClusterOptions::default()).await;
    let admin = fans(&n.db, "admin", 1, Role::Admin).await.remove(0);
    let people = fans(&n.db, "p", 3, Role::Fan).await;
    let (ann, bob, cy) = (&people[0], &people[1], &people[2]);
    let d = create_drop(&n, &admin, "reuse", 5, 0, 600).await;
    let variant = json!({"variant_id": d.variants[0].id});

    // Ann's attempt is decided; before her node stores it, Redis loses everything.
    let ann_token = n.cluster.decide(&d, &attempt(&d, ann, "k-ann")).await.unwrap().unwrap();
    n.cluster.reset_drop(d.id).await.unwrap();
    let (s, bob_order, _) = buy(&n.base, bob, "reuse", "k-bob", variant.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{bob_order}");
    let ann_stored = n
        .cluster
        .store(&d, &attempt(&d, ann, "k-ann"), &ann_token)
        .await
        .unwrap();
    let Decision::Accepted(ann_order) = ann_stored else {
        panic!("{ann_stored:?}")
    };
    assert_ne!(
        ann_order.order_id,
        bob_order["id"].as_i64().unwrap(),
        "ids are never reused"
    );
    for (who, key, expected) in [
        (ann, "k-ann", ann_order.order_id),
        (bob, "k-bob", bob_order["id"].as_i64().unwrap()),
    ] {
        let (s, o, _) = buy(&n.base, who, "reuse", key, variant.clone()).await;
        assert_eq!(s, StatusCode::OK, "a retry replays: {o}");
        assert_eq!(
            o["id"].as_i64().unwrap(),
            expected,
            "and only ever the caller's own order"
        );
    }
    let (s, o, _) = buy(&n.base, cy, "reuse", "k-ann", variant.clone()).await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "the same key from someone else is their own new order: {o}"
    );
    assert_eq!(in_redis(&n.cluster, &d).await, 2, "Redis counted the late order once");
    assert_eq!(free_in_db(&n.db, &d).await, 2);

    // The database alone refuses a third unit for Ann, whatever Redis believed.
    let third = store::Decided {
        account: ann.id,
        variant: d.variants[0].id,
        quantity: 2,
        idempotency_key: "k-ann-2".into(),
        fcode: None,
        share: None,
    };
    assert_eq!(
        store::commit_decision(&n.db, &d, "test:1", &third, now_ms(), 3_000)
            .await
            .unwrap(),
        store::Stored::Refused(store::Refusal::LimitReached)
    );
    // And a drifted Redis (it forgot Ann's units) is corrected: her attempt is refused, then
    // Redis is reloaded from the database.
    let (s, o, _) = buy(&n.base, ann, "reuse", "k-ann-2", variant.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "Ann's second unit: {o}");
    n.cluster.reset_drop(d.id).await.unwrap();
    n.cluster.ensure_loaded(&d).await.unwrap();
    let mut r = redis::Client::open(redis.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg(format!("{prefix}:drop:{}:bought", d.id))
        .arg(ann.id)
        .arg(0)
        .query_async(&mut r)
        .await
        .unwrap();
    let (s, o, _) = buy(&n.base, ann, "reuse", "k-ann-3", variant.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{o}");
    assert_eq!(o["error"], "limit_reached");
    let (s, o, elapsed) = buy(&n.base, ann, "reuse", "k-ann-4", variant.clone()).await;
    assert_eq!((s, o["error"].as_str()), (StatusCode::FORBIDDEN, Some("limit_reached")));
    assert!(elapsed < Duration::from_secs(2), "the reload is immediate: {elapsed:?}");
    let held: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT user_id, CAST(SUM(quantity) AS BIGINT) FROM orders WHERE drop_id = $1 AND status <> 'expired' GROUP BY user_id",
    )
    .bind(d.id)
    .fetch_all(&n.db.pool)
    .await
    .unwrap();
    assert!(held.iter().all(|(_, units)| *units <= 2), "{held:?}");
    n.cluster.reset_drop(d.id).await.unwrap();
    drop_database(&db_name).await;
}

/// Defects 3 and 4: with Redis down, purchases are answered 503 with Retry-After at once and the
/// drop page still answers (stock from the database); once Redis is back (empty), sales resume
/// within seconds, and no load lock is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_fails_fast_and_sales_resume_when_it_is_back() {
    let Some(mut redis) = common::OwnRedis::start().await else {
        return;
    };
    let Some((db_name, db_url)) = common::fresh_pg_database().await else {
        return;
    };
    let options = ClusterOptions {
        redis_timeout: Duration::from_millis(400),
        ..ClusterOptions::default()
    };
    let n = node(&db_url, &redis.url(), "outage", options).await;
    let admin = fans(&n.db, "admin", 1, Role::Admin).await.remove(0);
    let people = fans(&n.db, "o", 4, Role::Fan).await;
    let d = create_drop(&n, &admin, "outage", 10, 0, 600).await;
    let body = json!({"variant_id": d.variants[0].id});
    let (s, _, _) = buy(&n.base, &people[0], "outage", "a", body.clone()).await;
    assert_eq!(s, StatusCode::CREATED);
    let mut r = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let lock: bool = redis::cmd("EXISTS")
        .arg(format!("outage:drop:{}:loading", d.id))
        .query_async(&mut r)
        .await
        .unwrap();
    assert!(!lock, "the load lock is released after a load");

    redis.kill();
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for fan in &people[1..3] {
        let t = Instant::now();
        let resp = c
            .post(format!("{}/api/v1/drops/outage/purchase", n.base))
            .bearer_auth(&fan.token)
            .header("idempotency-key", "b")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()["retry-after"], "1");
        assert!(t.elapsed() < Duration::from_secs(2), "fails fast: {:?}", t.elapsed());
    }
    let t = Instant::now();
    let view: Value = c
        .get(format!("{}/api/v1/drops/outage", n.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        view["stock"]["total_remaining"], 9,
        "the page answers from the database"
    );
    assert!(t.elapsed() < Duration::from_secs(2));
    let page = c.get(format!("{}/drops/outage", n.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);

    redis.restart().await;
    let back = Instant::now();
    loop {
        let (s, o, _) = buy(&n.base, &people[1], "outage", "b", body.clone()).await;
        if s == StatusCode::CREATED {
            break;
        }
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{o}");
        assert!(back.elapsed() < Duration::from_secs(5), "sales resume within seconds");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("sales resumed {:?} after Redis came back", back.elapsed());
    let (s, _, _) = buy(&n.base, &people[0], "outage", "a", body.clone()).await;
    assert_eq!(s, StatusCode::OK, "the order from before the outage replays");
    assert_eq!(in_redis(&n.cluster, &d).await, 8);
    drop_database(&db_name).await;
}

/// Defect 5: one transferable F-code hammered by many fans at once buys one unit; the F-code pool
/// stays for the other holders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_fcode_hammered_by_many_fans_does_not_drain_the_pool() {
    let Some(redis) = common::redis_url().await else { return };
    let Some((db_name, db_url)) = common::fresh_pg_database().await else {
        return;
    };
    let prefix = format!("t11f-{}", &auth::new_token()[..8]);
    let n = node(&db_url, &redis, &prefix, ClusterOptions::default()).await;
    let admin = fans(&n.db, "admin", 1, Role::Admin).await.remove(0);
    let people = fans(&n.db, "h", 24, Role::Fan).await;
    let d = create_drop(&n, &admin, "fpool", 0, 5, 600).await;
    let c = reqwest::Client::new();
    let issue = |names: Vec<String>, transferable: bool| {
        let (c, base, token) = (c.clone(), n.base.clone(), admin.token.clone());
        async move {
            let r = c
                .post(format!("{base}/api/v1/drops/fpool/fcodes"))
                .bearer_auth(token)
                .json(&json!({"usernames": names, "transferable": transferable}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.unwrap()
        }
    };
    let shared = issue(vec!["h0".into()], true).await[0]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let own = issue((20..24).map(|i| format!("h{i}")).collect(), false).await;
    let mut tasks = Vec::new();
    for fan in &people[0..20] {
        let (base, token, id, code) = (n.base.clone(), fan.token.clone(), fan.id, shared.clone());
        let variant = d.variants[0].id;
        tasks.push(tokio::spawn(async move {
            let fan = Fan { id, token };
            buy(
                &base,
                &fan,
                "fpool",
                "same-code",
                json!({"variant_id": variant, "fcode": code}),
            )
            .await
            .0
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::CREATED).count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT));
    for (fan, code) in people[20..24].iter().zip(own.as_array().unwrap()) {
        let (s, o, _) = buy(
            &n.base,
            fan,
            "fpool",
            "mine",
            json!({"variant_id": d.variants[0].id, "fcode": code["code"]}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "every other holder gets a unit: {o}");
    }
    assert_eq!(in_redis(&n.cluster, &d).await, 0);
    n.cluster.reset_drop(d.id).await.unwrap();
    drop_database(&db_name).await;
}

/// Defect 8: a node that dies holding a decision gives it up within its lease, not 30 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_decisions_are_settled_within_its_lease() {
    let Some(redis) = common::redis_url().await else { return };
    let Some((db_name, db_url)) = common::fresh_pg_database().await else {
        return;
    };
    let prefix = format!("t11l-{}", &auth::new_token()[..8]);
    let options = ClusterOptions {
        lease: Duration::from_millis(1_000),
        ..ClusterOptions::default()
    };
    let n = node(&db_url, &redis, &prefix, options).await;
    let admin = fans(&n.db, "admin", 1, Role::Admin).await.remove(0);
    let people = fans(&n.db, "l", 2, Role::Fan).await;
    let d = create_drop(&n, &admin, "lease", 1, 0, 600).await;
    // Another node (no heartbeat: it is dead from the start) decides, and never stores.
    let dead = Cluster::connect(&redis, &prefix, n.db.clone(), options).await.unwrap();
    let decided_at = Instant::now();
    dead.decide(&d, &attempt(&d, &people[0], "lost"))
        .await
        .unwrap()
        .unwrap();
    let body = json!({"variant_id": d.variants[0].id});
    let (s, _, _) = buy(&n.base, &people[1], "lease", "x", body.clone()).await;
    assert_eq!(s, StatusCode::CONFLICT, "the unit is held");
    loop {
        let (s, _, _) = buy(&n.base, &people[1], "lease", "y", body.clone()).await;
        if s == StatusCode::CREATED {
            break;
        }
        assert!(
            decided_at.elapsed() < Duration::from_millis(3_500),
            "settled within the lease and a pass"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("a dead node's unit was back after {:?}", decided_at.elapsed());
    n.cluster.reset_drop(d.id).await.unwrap();
    drop_database(&db_name).await;
}

/// Defect 11: expiry gives units back to Redis exactly once, also when Redis lost its state
/// between the database's expiry and Redis's update, and however often a pass repeats it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_units_go_back_to_redis_exactly_once() {
    let Some(redis) = common::redis_url().await else { return };
    let Some((db_name, db_url)) = common::fresh_pg_database().await else {
        return;
    };
    let prefix = format!("t11e-{}", &auth::new_token()[..8]);
    let n = node(&db_url, &redis, &prefix, ClusterOptions::default()).await;
    let admin = fans(&n.db, "admin", 1, Role::Admin).await.remove(0);
    let people = fans(&n.db, "e", 3, Role::Fan).await;
    let d = create_drop(&n, &admin, "expiry", 5, 0, 1).await;
    let body = json!({"variant_id": d.variants[0].id});
    for (i, fan) in people.iter().enumerate() {
        let (s, _, _) = buy(&n.base, fan, "expiry", &format!("k{i}"), body.clone()).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    assert_eq!(in_redis(&n.cluster, &d).await, 2);
    // Expire in the database while Redis is gone, then pass again and again.
    n.cluster.reset_drop(d.id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let expired = store::expire_orders(&n.db, d.id, now_ms(), true).await.unwrap();
    for _ in 0..3 {
        n.cluster.look_after(&d).await.unwrap();
        n.cluster.catch_up(&d).await.unwrap();
    }
    let total = expired.len() as i64;
    let again = store::expire_orders(&n.db, d.id, now_ms(), true).await.unwrap().len() as i64;
    eprintln!("expired by the test: {total}, by a pass: {}", 3 - total - again);
    assert_eq!(free_in_db(&n.db, &d).await, 5);
    assert_eq!(in_redis(&n.cluster, &d).await, 5, "every unit back once, never twice");
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE drop_id = $1 AND redis_pending = 1")
        .bind(d.id)
        .fetch_one(&n.db.pool)
        .await
        .unwrap();
    assert_eq!(pending, 0, "Redis was told of every order");
    // Same with Redis up: three more orders expire, and repeated passes give them back once.
    for (i, fan) in people.iter().enumerate() {
        let (s, _, _) = buy(&n.base, fan, "expiry", &format!("again{i}"), body.clone()).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    for _ in 0..3 {
        n.cluster.look_after(&d).await.unwrap();
    }
    let unsettled: Vec<store::SyncOrder> = store::redis_pending(&n.db, d.id, now_ms(), 100).await.unwrap();
    assert!(unsettled.is_empty(), "{unsettled:?}");
    assert_eq!(in_redis(&n.cluster, &d).await, 5);
    n.cluster.reset_drop(d.id).await.unwrap();
    drop_database(&db_name).await;
}

/// Review findings: a node that stalls while holding the drop's rows makes the database give up
/// on its own (lock and statement timeouts), so other nodes are not blocked; and a retry of an
/// acknowledged order is answered with that order even after the sale closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_transaction_does_not_block_the_drop_and_late_retries_get_their_order() {
    let Some(redis) = common::redis_url().await else { return };
    let Some((db_name, db_url)) = common::fresh_pg_database().await else {
        return;
    };
    let prefix = format!("t11s-{}", &auth::new_token()[..8]);
    let options = ClusterOptions {
        commit_timeout: Duration::from_millis(800),
        ..ClusterOptions::default()
    };
    let n = node(&db_url, &redis, &prefix, options).await;
    let admin = fans(&n.db, "admin", 1, Role::Admin).await.remove(0);
    let people = fans(&n.db, "s", 3, Role::Fan).await;
    let d = create_drop(&n, &admin, "stall", 10, 0, 600).await;
    let body = json!({"variant_id": d.variants[0].id});
    let (s, first, _) = buy(&n.base, &people[0], "stall", "early", body.clone()).await;
    assert_eq!(s, StatusCode::CREATED);

    // Another session holds the drop's row, as a node paused mid-transaction would.
    let holder = fanloop_platform::Db::connect(&db_url).await.unwrap();
    let mut tx = holder.pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM drops WHERE id = $1 FOR UPDATE")
        .bind(d.id)
        .execute(&mut *tx)
        .await
        .unwrap();
    let (s, _, elapsed) = buy(&n.base, &people[1], "stall", "k", body.clone()).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(elapsed < Duration::from_secs(3), "answered in time: {elapsed:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiting: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .fetch_one(&holder.pool)
    .await
    .unwrap();
    assert_eq!(
        waiting, 0,
        "the database gave up waiting too: no session still queued on the lock"
    );
    tx.rollback().await.unwrap();
    // The attempt is resolved (its unit back), and the same key then buys.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (s, o, _) = buy(&n.base, &people[1], "stall", "k", body.clone()).await;
        if s == StatusCode::CREATED || s == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "{s} {o}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The sale closes; a retry of the first order still gets it.
    sqlx::query("UPDATE drops SET closes_at = $1 WHERE id = $2")
        .bind(now_ms() - 1)
        .bind(d.id)
        .execute(&n.db.pool)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await; // the purchase path caches drops 1 s
    let (s, again, _) = buy(&n.base, &people[0], "stall", "early", body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["id"], first["id"]);
    let (s, late, _) = buy(&n.base, &people[2], "stall", "late", body.clone()).await;
    assert_eq!((s, late["error"].as_str()), (StatusCode::CONFLICT, Some("closed")));
    holder.pool.close().await;
    n.cluster.reset_drop(d.id).await.unwrap();
    drop_database(&db_name).await;
}

/// Ordering by posting on two nodes (issue 16): the post is stored with the order by the node
/// that decides it; a copy sent to the other node is refused and its unit goes back to Redis; both
/// nodes show the same wall, and the forum gets each post once although both mirror it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_posts_are_stored_with_their_orders_and_mirrored_once_across_nodes() {
    let Some(redis) = common::redis_url().await else { return };
    let Some((db_name, db_url)) = common::fresh_pg_database().await else {
        return;
    };
    let prefix = format!("t16-{}", &auth::new_token()[..8]);
    let a = node(&db_url, &redis, &prefix, ClusterOptions::default()).await;
    let b = node(&db_url, &redis, &prefix, ClusterOptions::default()).await;
    let admin = fans(&a.db, "admin", 1, Role::Admin).await.remove(0);
    let people = fans(&a.db, "s", 3, Role::Fan).await;
    let c = reqwest::Client::new();
    let r = c
        .post(format!("{}/api/v1/boards", a.base))
        .bearer_auth(&admin.token)
        .json(&json!({"slug": "wall", "name": "Wall", "description": "墙"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let now = now_ms();
    let r = c
        .post(format!("{}/api/v1/drops", a.base))
        .bearer_auth(&admin.token)
        .json(&json!({"slug": "shared", "name": "shared", "price_cents": 1, "per_account_limit": 1,
            "reservations_open_at": now - 1000, "reservations_close_at": now, "opens_at": now, "closes_at": now + 3_600_000,
            "mode": {"kind": "open"}, "variants": [{"name": "only", "stock": 3}],
            "share": {"on": "buy", "hashtag": "共享墙", "min_chars": 4, "board": "wall"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let d: Value = r.json().await.unwrap();
    let d = store::drop_by_id(&a.db, d["id"].as_i64().unwrap())
        .await
        .unwrap()
        .unwrap();
    let body = |post: &str| json!({"variant_id": d.variants[0].id, "post": post});
    let words = "两台设备切换很顺，开会再也不用摘耳机";
    let (s, o, _) = buy(&a.base, &people[0], "shared", "k0", body(words)).await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let (s, e, _) = buy(
        &b.base,
        &people[1],
        "shared",
        "k1",
        body(&format!("#共享墙# {words}！")),
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::CONFLICT, Some("post_copied")),
        "{e}"
    );
    let (s, o, _) = buy(&b.base, &people[2], "shared", "k2", body("电池比上一代耐用多了")).await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    // The refused copy took no unit: Redis and the database agree on what is left.
    assert_eq!(free_in_db(&a.db, &d).await, 1);
    assert_eq!(in_redis(&a.cluster, &d).await, 1);
    for n in [&a, &b] {
        let w: Value = c
            .get(format!("{}/api/v1/drops/shared/wall", n.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(w["counted"], 2, "{w}");
    }
    // Both nodes mirror; each post becomes one forum reply.
    let mut replies = 0;
    for _ in 0..100 {
        replies = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM posts WHERE origin LIKE 'drop_post:%'")
            .fetch_one(&a.db.pool)
            .await
            .unwrap();
        if replies >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let replies_later: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts WHERE origin LIKE 'drop_post:%'")
        .fetch_one(&a.db.pool)
        .await
        .unwrap();
    assert_eq!((replies, replies_later), (2, 2));
    let bumped: i64 = sqlx::query_scalar("SELECT reply_count FROM threads WHERE id = $1")
        .bind(
            store::drop_by_id(&a.db, d.id)
                .await
                .unwrap()
                .unwrap()
                .share_thread_id
                .unwrap(),
        )
        .fetch_one(&a.db.pool)
        .await
        .unwrap();
    assert_eq!(bumped, 2, "the thread is bumped once per post");
    a.cluster.reset_drop(d.id).await.unwrap();
    drop_database(&db_name).await;
}
