//! HTTP-level tests of launches against SQLite and PostgreSQL: a hammered sale keeps every
//! invariant, the draw is verifiable, F-codes buy early from their pool, unpaid orders expire.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use common::{Backend, TestApp};
use fanloop_platform::accounts;
use fanloop_platform::auth::{self, Role};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn now_ms() -> i64 {
    fanloop_platform::db::now_ms()
}

/// Many accounts without paying for a password hash each: one shared hash, tokens issued directly.
async fn accounts_fast(app: &TestApp, prefix: &str, n: usize) -> Vec<(i64, String)> {
    let db = &app.state.platform.db;
    let hash = auth::hash_password("password123").unwrap();
    let mut out = Vec::new();
    for i in 0..n {
        let name = format!("{prefix}{i}");
        let user = accounts::create_user(
            db,
            &name,
            &format!("{name}@example.com"),
            &hash,
            Role::Fan,
            None,
            None,
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
        let (_, token) = accounts::create_api_token(db, user.id, "tests").await.unwrap();
        out.push((user.id, token));
    }
    out
}

/// Checks a sale against the database and the clients' ledger of acknowledged orders: no
/// account above `limit`, no duplicate (account, key), every acknowledged order stored, and every
/// retried key answered with one and the same order.  Returns the units sold.
async fn assert_sale_invariants(
    db: &fanloop_platform::Db,
    drop_id: i64,
    limit: i64,
    ledger: &[(i64, i64, String)],
) -> i64 {
    let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "SELECT id, user_id, quantity, idempotency_key FROM orders WHERE drop_id = $1 AND status <> 'expired'",
    )
    .bind(drop_id)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let mut per_user: HashMap<i64, i64> = HashMap::new();
    for r in &rows {
        *per_user.entry(r.1).or_default() += r.2;
    }
    assert!(per_user.values().all(|n| *n <= limit), "no account above its limit");
    let keys: HashSet<(i64, &str)> = rows.iter().map(|r| (r.1, r.3.as_str())).collect();
    assert_eq!(keys.len(), rows.len(), "no duplicate order");
    let ids: HashSet<i64> = rows.iter().map(|r| r.0).collect();
    let mut by_key: HashMap<(i64, &str), HashSet<i64>> = HashMap::new();
    for (user, id, key) in ledger {
        assert!(
            ids.contains(id),
            "acknowledged order {id} of {user} ({key}) is in the database"
        );
        by_key.entry((*user, key.as_str())).or_default().insert(*id);
    }
    assert!(
        by_key.values().all(|ids| ids.len() == 1),
        "a retry returns the same order"
    );
    rows.iter().map(|r| r.2).sum()
}

fn drop_body(slug: &str, mode: Value, stock: i64, fcode_stock: i64, opens_in_ms: i64, limit: i64) -> Value {
    let now = now_ms();
    json!({
        "slug": slug, "name": "Aurora X2 首发", "price_cents": 399900, "per_account_limit": limit,
        "reservations_open_at": now - 60_000, "reservations_close_at": now + opens_in_ms,
        "fcode_opens_at": now, "opens_at": now + opens_in_ms, "closes_at": now + 3_600_000,
        "mode": mode, "payment_seconds": 600,
        "variants": [{"name": "Black 12+256", "stock": stock, "fcode_stock": fcode_stock}]
    })
}

async fn purchase(
    client: &reqwest::Client,
    app: &TestApp,
    slug: &str,
    token: &str,
    key: &str,
    body: Value,
) -> (StatusCode, Value) {
    let r = client
        .post(app.url(&format!("/api/v1/drops/{slug}/purchase")))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn hammer(app: &TestApp) {
    let admin = app.user("admin").await;
    // Accounts first: on a loaded machine, creating them could outlast the wait before opening.
    let fans = accounts_fast(app, "fan", 150).await;
    let client = reqwest::Client::new();
    // Before the drop exists, a purchase is told so (and the purchase path remembers it)...
    let (s, e) = purchase(
        &client,
        app,
        "x2-launch",
        &fans[0].1,
        "too-soon",
        json!({"variant_id": 1}),
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{e}"
    );
    let (s, d) = app
        .post(
            "/api/v1/drops",
            &admin,
            drop_body("x2-launch", json!({"kind": "open"}), 60, 5, 4_000, 2),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let variant = d["variants"][0]["id"].as_i64().unwrap();
    let opens_at = d["opens_at"].as_i64().unwrap();
    // ...and once it is created, at once it is not.
    let (s, e) = purchase(
        &client,
        app,
        "x2-launch",
        &fans[0].1,
        "too-soon",
        json!({"variant_id": variant}),
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::CONFLICT, Some("not_open")),
        "{e}"
    );

    // F-codes for five top contributors: they buy before the general opening, from their pool.
    let names: Vec<String> = (0..5).map(|i| format!("fan{i}")).collect();
    let (s, codes) = app
        .post("/api/v1/drops/x2-launch/fcodes", &admin, json!({"usernames": names}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, e) = purchase(
        &client,
        app,
        "x2-launch",
        &fans[6].1,
        "steal",
        json!({"variant_id": variant, "fcode": codes[0]["code"]}),
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("fcode_invalid")),
        "bound codes are not transferable"
    );
    for (i, c) in codes.as_array().unwrap().iter().enumerate() {
        let (s, o) = purchase(
            &client,
            app,
            "x2-launch",
            &fans[i].1,
            "fcode",
            json!({"variant_id": variant, "fcode": c["code"]}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{o}");
        assert_eq!(o["used_fcode"], true);
        // The order a purchase answers with is the order stored: its retry reads it back.
        let (s, stored) = purchase(
            &client,
            app,
            "x2-launch",
            &fans[i].1,
            "fcode",
            json!({"variant_id": variant, "fcode": c["code"]}),
        )
        .await;
        assert_eq!((s, &stored), (StatusCode::OK, &o), "the answer is what was stored");
    }
    let (s, _) = purchase(
        &client,
        app,
        "x2-launch",
        &fans[0].1,
        "fcode-again",
        json!({"variant_id": variant, "fcode": codes[0]["code"]}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "single use");

    // Early attempts touch nothing.
    for (_, token) in fans.iter().take(20) {
        let (s, e) = purchase(
            &client,
            app,
            "x2-launch",
            token,
            "early",
            json!({"variant_id": variant}),
        )
        .await;
        assert_eq!((s.as_u16(), e["error"].as_str()), (409, Some("not_open")));
    }
    let (_, view) = app.get("/api/v1/drops/x2-launch", None).await;
    assert_eq!(
        view["stock"]["total_remaining"], 60,
        "nothing sold before the opening but F-code units"
    );
    let wait = (opens_at - now_ms() + 100).max(0) as u64;
    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;

    // The hammer: every account tries three different purchases and retries one, concurrently.
    let ledger = Arc::new(tokio::sync::Mutex::new(Vec::<(i64, i64, String)>::new()));
    let statuses = Arc::new(tokio::sync::Mutex::new(HashMap::<u16, usize>::new()));
    let mut tasks = Vec::new();
    for (user_id, token) in fans.clone() {
        let (client, base, ledger, statuses) = (client.clone(), app.base.clone(), ledger.clone(), statuses.clone());
        tasks.push(tokio::spawn(async move {
            for key in ["a", "b", "c", "a"] {
                let r = client
                    .post(format!("{base}/api/v1/drops/x2-launch/purchase"))
                    .bearer_auth(&token)
                    .header("idempotency-key", key)
                    .json(&json!({"variant_id": variant}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                *statuses.lock().await.entry(status).or_default() += 1;
                if status == 201 || status == 200 {
                    let o: Value = r.json().await.unwrap();
                    ledger
                        .lock()
                        .await
                        .push((user_id, o["id"].as_i64().unwrap(), key.to_string()));
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let statuses = statuses.lock().await.clone();
    assert!(
        !statuses.contains_key(&500) && !statuses.contains_key(&503),
        "{statuses:?}"
    );
    assert!(
        statuses.get(&409).copied().unwrap_or(0) > 0,
        "sold out was reached: {statuses:?}"
    );

    // Invariants, counted from the database.
    let db = &app.state.platform.db;
    let sold = assert_sale_invariants(db, d["id"].as_i64().unwrap(), 2, &ledger.lock().await).await;
    let (_, view) = app.get("/api/v1/drops/x2-launch", None).await;
    assert_eq!(
        sold + view["stock"]["total_remaining"].as_i64().unwrap(),
        65,
        "sold + remaining = initial"
    );
    assert_eq!(view["stock"]["remaining"][0][1], 0, "the general pool sold out exactly");

    // Staff see the sale's statistics; fans do not.
    let (s, stats) = app.get("/api/v1/drops/x2-launch/stats", Some(&admin)).await;
    assert_eq!((s, stats["units_sold"].as_i64()), (StatusCode::OK, Some(sold)));
    let (s, _) = app.get("/api/v1/drops/x2-launch/stats", Some(&fans[0].1)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
both_backends!(a_hammered_sale_keeps_every_invariant, hammer);

async fn draw_and_expiry(app: &TestApp) {
    let admin = app.user("admin").await;
    let (s, d) = app
        .post(
            "/api/v1/drops",
            &admin,
            drop_body("x2-draw", json!({"kind": "draw"}), 10, 0, 1_200, 2),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let commitment = d["seed_commitment"].as_str().unwrap().to_string();
    assert!(d["seed"].is_null(), "the seed stays secret until the draw");
    let variant = d["variants"][0]["id"].as_i64().unwrap();
    let fans = accounts_fast(app, "r", 20).await;
    for (_, token) in &fans {
        let (s, _) = app
            .call(Method::POST, "/api/v1/drops/x2-draw/reservations", Some(token), None)
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, _) = app
        .call(
            Method::POST,
            "/api/v1/drops/x2-draw/reservations",
            Some(&fans[0].1),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "reserving twice is harmless");
    let (s, _) = app
        .call(Method::POST, "/api/v1/drops/x2-draw/draw", Some(&fans[0].1), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Staff may run the draw before the planned close: it closes the reservations then.
    let (s, result) = app
        .call(Method::POST, "/api/v1/drops/x2-draw/draw", Some(&admin), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{result}");
    let late = accounts_fast(app, "late", 1).await;
    let (s, refused) = app
        .call(
            Method::POST,
            "/api/v1/drops/x2-draw/reservations",
            Some(&late[0].1),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"], "reservations_closed", "{refused}");
    let (s, again) = app
        .call(Method::POST, "/api/v1/drops/x2-draw/draw", Some(&admin), None)
        .await;
    assert_eq!((s, &again["error"]), (StatusCode::CONFLICT, &json!("already_drawn")));
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    let seed = result["seed"].as_str().unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(seed.as_bytes())),
        commitment,
        "the revealed seed matches the commitment"
    );
    assert_eq!(
        (result["reservations"].as_i64(), result["admitted"].as_i64()),
        (Some(20), Some(5))
    );
    let ids: Vec<i64> = fans.iter().map(|f| f.0).collect();
    let expected: HashSet<i64> = fanloop_launches::draw::shuffled(seed, &ids)
        .into_iter()
        .take(5)
        .collect();
    let client = reqwest::Client::new();
    let mut won = 0;
    for (user_id, token) in &fans {
        let (_, me) = app.get("/api/v1/drops/x2-draw/me", Some(token)).await;
        let winner = expected.contains(user_id);
        assert_eq!(
            me["status"],
            if winner { "won" } else { "lost" },
            "anyone can re-run the draw from the seed"
        );
        let (s, e) = purchase(
            &client,
            app,
            "x2-draw",
            token,
            "k",
            json!({"variant_id": variant, "quantity": 2}),
        )
        .await;
        if winner {
            assert_eq!(s, StatusCode::CREATED, "{e}");
            won += 1;
        } else {
            assert_eq!((s, e["error"].as_str()), (StatusCode::FORBIDDEN, Some("not_selected")));
        }
    }
    assert_eq!(won, 5);

    // Unpaid orders expire and their stock returns; paying an expired order is refused.
    let (_, d) = app
        .post("/api/v1/drops", &admin, {
            let mut b = drop_body("x2-expiry", json!({"kind": "open"}), 1, 0, 0, 1);
            b["payment_seconds"] = json!(1);
            b
        })
        .await;
    let variant = d["variants"][0]["id"].as_i64().unwrap();
    let buyers = accounts_fast(app, "e", 2).await;
    let (s, order) = purchase(
        &client,
        app,
        "x2-expiry",
        &buyers[0].1,
        "k",
        json!({"variant_id": variant}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = purchase(
        &client,
        app,
        "x2-expiry",
        &buyers[1].1,
        "k",
        json!({"variant_id": variant}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let mut bought = false;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let (s, _) = purchase(
            &client,
            app,
            "x2-expiry",
            &buyers[1].1,
            &format!("k{}", now_ms()),
            json!({"variant_id": variant}),
        )
        .await;
        if s == StatusCode::CREATED {
            bought = true;
            break;
        }
    }
    assert!(bought, "the expired order's unit went back on sale");
    let (s, e) = app
        .call(
            Method::POST,
            &format!("/api/v1/orders/{}/pay", order["id"]),
            Some(&buyers[0].1),
            None,
        )
        .await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::GONE, Some("expired")));
    let (s, again) = purchase(
        &client,
        app,
        "x2-expiry",
        &buyers[0].1,
        "k",
        json!({"variant_id": variant}),
    )
    .await;
    assert_eq!(
        (s, again["status"].as_str()),
        (StatusCode::OK, Some("expired")),
        "a late retry replays the expired order, it does not buy"
    );
}
both_backends!(verifiable_draw_and_order_expiry, draw_and_expiry);

/// The group commit writes orders many rows per statement: a batch with full chunks and a
/// remainder is stored whole; in one that would pass the stock, only the order that does not fit
/// is refused, and nothing of it is left behind.
async fn batch_commit(app: &TestApp) {
    use fanloop_launches::engine::NewOrder;
    use fanloop_launches::store;
    let admin = app.user("admin").await;
    let (s, d) = app
        .post(
            "/api/v1/drops",
            &admin,
            drop_body("x2-batch", json!({"kind": "open"}), 200, 0, 0, 1),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let (drop_id, variant) = (d["id"].as_i64().unwrap(), d["variants"][0]["id"].as_i64().unwrap());
    let buyers = accounts_fast(app, "batch", 201).await;
    let order = |i: usize| NewOrder {
        order_id: drop_id * 1_000_000_000 + i as i64 + 1,
        account: buyers[i].0,
        variant,
        quantity: 1,
        idempotency_key: format!("k{i}"),
        fcode: None,
        stored_at: None,
    };
    let db = &app.state.platform.db;
    let now = now_ms();
    let first: Vec<NewOrder> = (0..130).map(order).collect();
    assert!(store::commit_orders(db, drop_id, 1, &first, None, now, now + 60_000)
        .await
        .unwrap()
        .iter()
        .all(Option::is_none));
    let stored: Vec<(i64, i64, String)> =
        sqlx::query_as("SELECT id, user_id, idempotency_key FROM orders WHERE drop_id = $1 ORDER BY id")
            .bind(drop_id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(stored.len(), 130, "two full chunks of 64 and a remainder of 2");
    for (o, row) in first.iter().zip(&stored) {
        assert_eq!((o.order_id, o.account, &o.idempotency_key), (row.0, row.1, &row.2));
    }
    let too_many: Vec<NewOrder> = (130..201).map(order).collect();
    let outcomes = store::commit_orders(db, drop_id, 1, &too_many, None, now, now + 60_000)
        .await
        .unwrap();
    assert_eq!(
        outcomes.iter().filter(|o| o.is_none()).count(),
        70,
        "71 more units than the 70 left: 70 stored"
    );
    assert_eq!(outcomes[70], Some(store::Refusal::SoldOut), "the last one refused");
    let (count, sold): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM orders WHERE drop_id = $1), (SELECT sold_general FROM variants WHERE id = $2)",
    )
    .bind(drop_id)
    .bind(variant)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((count, sold), (200, 200), "the refused order left nothing behind");
}

both_backends!(group_commit_writes_whole_batches_or_nothing, batch_commit);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_drop_and_purchase_input_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = app.user("admin").await;
    let fan = app.user("fan").await;
    let (s, _) = app
        .post(
            "/api/v1/drops",
            &fan,
            drop_body("x", json!({"kind": "open"}), 1, 0, 0, 1),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let mut bad = drop_body("bad", json!({"kind": "open"}), 1, 0, 0, 1);
    bad["closes_at"] = bad["opens_at"].clone();
    let (s, _) = app.post("/api/v1/drops", &admin, bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app.post("/api/v1/drops", &admin, json!({"slug": "x"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, d) = app
        .post(
            "/api/v1/drops",
            &admin,
            drop_body("ok", json!({"kind": "open"}), 1, 0, 0, 1),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let client = reqwest::Client::new();
    let r = client
        .post(app.url("/api/v1/drops/ok/purchase"))
        .bearer_auth(&fan)
        .json(&json!({"variant_id": d["variants"][0]["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "the Idempotency-Key header is required"
    );
    let (s, _) = purchase(&client, &app, "ok", &fan, "k", json!({"variant_id": 999999})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "no such variant");
    let (s, _) = purchase(
        &client,
        &app,
        "ok",
        &fan,
        "k2",
        json!({"variant_id": d["variants"][0]["id"], "quantity": 0}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = purchase(&client, &app, "nope", &fan, "k3", json!({"variant_id": 1})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let mut limited = 0;
    for i in 0..40 {
        let (s, _) = purchase(
            &client,
            &app,
            "ok",
            &fan,
            &format!("flood{i}"),
            json!({"variant_id": d["variants"][0]["id"], "quantity": 5}),
        )
        .await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert!(limited > 0, "a flood from one account is rate-limited");
    app.stop().await;
}

/// Two `fanloop` nodes sharing one PostgreSQL database and one Redis sell the same drop under a
/// concurrent hammer spread over both; the invariants hold, counted from the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_with_redis_and_postgres_never_oversell() {
    let Some(redis) = common::redis_url().await else { return };
    let Some((db_name, db_url)) = common::fresh_pg_database().await else {
        return;
    };
    let prefix = format!("fanloop-test-{}", &auth::new_token()[..10]);
    let mut nodes = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let config = fanloop::Config {
            database_url: Some(db_url.clone()),
            redis_url: Some(redis.clone()),
            redis_prefix: prefix.clone(),
            ..fanloop::Config::sqlite(dir.path())
        };
        let app = fanloop::build(&config).await.expect("node");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(fanloop::serve(app.router, listener, std::future::pending()));
        nodes.push((base, app.state));
        dirs.push(dir);
    }
    let c = reqwest::Client::new();
    let admin = common::signup_token(&c, &nodes[0].0, "admin").await;
    let now = now_ms();
    let d: Value = c
        .post(format!("{}/api/v1/drops", nodes[0].0))
        .bearer_auth(&admin)
        .json(&json!({"slug": "cluster", "name": "Cluster", "price_cents": 1, "per_account_limit": 2,
            "reservations_open_at": now - 1000, "reservations_close_at": now, "opens_at": now, "closes_at": now + 3_600_000,
            "mode": {"kind": "open"}, "variants": [{"name": "only", "stock": 100}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let variant = d["variants"][0]["id"].as_i64().unwrap();
    // Accounts are created on the shared database directly (hashing 120 passwords is slow).
    let db = &nodes[0].1.platform.db;
    let hash = auth::hash_password("password123").unwrap();
    let mut fans = Vec::new();
    for i in 0..120 {
        let user = accounts::create_user(
            db,
            &format!("n{i}"),
            &format!("n{i}@example.com"),
            &hash,
            Role::Fan,
            None,
            None,
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
        fans.push((user.id, accounts::create_api_token(db, user.id, "t").await.unwrap().1));
    }
    let ledger = Arc::new(tokio::sync::Mutex::new(Vec::<(i64, i64, String)>::new()));
    let mut tasks = Vec::new();
    for (i, (user_id, token)) in fans.iter().cloned().enumerate() {
        let (c, ledger) = (c.clone(), ledger.clone());
        let bases = [nodes[0].0.clone(), nodes[1].0.clone()];
        tasks.push(tokio::spawn(async move {
            // Each account hits both nodes, and retries one key on the other node.
            for (n, key) in ["a", "b", "c", "a"].iter().enumerate() {
                let base = &bases[(i + n) % 2];
                let r = c
                    .post(format!("{base}/api/v1/drops/cluster/purchase"))
                    .bearer_auth(&token)
                    .header("idempotency-key", *key)
                    .json(&json!({"variant_id": variant}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                assert!(matches!(status, 200 | 201 | 403 | 409 | 503), "{status}");
                if status == 200 || status == 201 {
                    let o: Value = r.json().await.unwrap();
                    ledger
                        .lock()
                        .await
                        .push((user_id, o["id"].as_i64().unwrap(), key.to_string()));
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let sold = assert_sale_invariants(db, d["id"].as_i64().unwrap(), 2, &ledger.lock().await).await;
    assert_eq!(sold, 100, "sold out exactly across two nodes");
    let (held,): (i64,) = sqlx::query_as("SELECT sold_general FROM variants WHERE id = $1")
        .bind(variant)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(held, 100);
    for node in &nodes {
        let view: Value = c
            .get(format!("{}/api/v1/drops/cluster", node.0))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(view["stock"]["total_remaining"], 0, "both nodes see the sell-out");
        let mut sse = c
            .get(format!("{}/api/v1/drops/cluster/stream", node.0))
            .send()
            .await
            .unwrap();
        let first = String::from_utf8(sse.chunk().await.unwrap().unwrap().to_vec()).unwrap();
        assert!(
            first.contains("event: stock") && first.contains("\"total_remaining\":0"),
            "live stock comes from Redis: {first}"
        );
    }
    if let Ok(admin_db) = fanloop_platform::Db::connect(&common::pg_admin_url()).await {
        db.pool.close().await;
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
            .execute(&admin_db.pool)
            .await;
    }
}

/// Queue mode: reservations made before the opening are shuffled and admitted in waves; later
/// reservations queue behind them in arrival order; nobody buys before their turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_mode_admits_early_arrivals_at_random_then_late_ones_in_order() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = app.user("admin").await;
    let now = now_ms();
    let mut body = drop_body(
        "x2-queue",
        json!({"kind": "queue", "wave_size": 2, "wave_ms": 60_000}),
        20,
        0,
        700,
        1,
    );
    body["reservations_close_at"] = json!(now + 1_500);
    let (s, d) = app.post("/api/v1/drops", &admin, body).await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let variant = d["variants"][0]["id"].as_i64().unwrap();
    let fans = accounts_fast(&app, "q", 6).await;
    for (_, token) in &fans[..4] {
        app.call(Method::POST, "/api/v1/drops/x2-queue/reservations", Some(token), None)
            .await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(800)).await; // the sale has opened
    for (_, token) in &fans[4..] {
        app.call(Method::POST, "/api/v1/drops/x2-queue/reservations", Some(token), None)
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let client = reqwest::Client::new();
    let (s, e) = purchase(
        &client,
        &app,
        "x2-queue",
        &fans[0].1,
        "early",
        json!({"variant_id": variant}),
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_selected")),
        "no admission before the queue is drawn"
    );
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let (s, r) = app
        .call(Method::POST, "/api/v1/drops/x2-queue/draw", Some(&admin), None)
        .await;
    assert_eq!((s, r["admitted"].as_i64()), (StatusCode::OK, Some(6)), "{r}");
    let mut positions = HashMap::new();
    for (i, (_, token)) in fans.iter().enumerate() {
        let (_, me) = app.get("/api/v1/drops/x2-queue/me", Some(token)).await;
        assert_eq!(me["status"], "queued");
        positions.insert(i, me["position"].as_i64().unwrap());
        let (s, e) = purchase(&client, &app, "x2-queue", token, "k", json!({"variant_id": variant})).await;
        if me["position"].as_i64().unwrap() <= 2 {
            assert_eq!(s, StatusCode::CREATED, "the first wave buys: {e}");
        } else {
            assert_eq!(
                (s.as_u16(), e["error"].as_str()),
                (409, Some("not_your_turn")),
                "later waves wait"
            );
        }
    }
    let mut early: Vec<i64> = (0..4).map(|i| positions[&i]).collect();
    early.sort();
    assert_eq!(early, vec![1, 2, 3, 4], "everyone who came before the opening is ahead");
    assert_eq!(
        (positions[&4], positions[&5]),
        (5, 6),
        "late arrivals keep their arrival order"
    );
    app.stop().await;
}

/// A node that dies between Redis's decision and the database's commit leaves that decision in
/// flight: the reconciler gives its units (and its idempotency key) back once it is stale, never
/// twice, never for an order that was stored, and a node waking up late cannot store it anymore.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_left_in_flight_by_a_dead_node_are_reconciled() {
    use fanloop_launches::engine::Attempt;
    use fanloop_launches::store;
    let Some(redis) = common::redis_url().await else { return };
    let Some((db_name, db_url)) = common::fresh_pg_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = fanloop::Config {
        database_url: Some(db_url),
        redis_url: Some(redis),
        redis_prefix: format!("fanloop-test-{}", &auth::new_token()[..10]),
        ..fanloop::Config::sqlite(dir.path())
    };
    let app = fanloop::build(&config).await.expect("node");
    let cluster = app.launches.cluster.clone().expect("multi-node mode");
    let db = app.state.platform.db.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(fanloop::serve(app.router, listener, std::future::pending()));
    let c = reqwest::Client::new();
    let hash = auth::hash_password("password123").unwrap();
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for (name, role) in [("admin", Role::Admin), ("ann", Role::Fan), ("bob", Role::Fan)] {
        let u = accounts::create_user(&db, name, &format!("{name}@example.com"), &hash, role, None, None, None)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        ids.push(u.id);
        tokens.push(accounts::create_api_token(&db, u.id, "t").await.unwrap().1);
    }
    let buy = |slug: &'static str, who: usize, key: &'static str, variant: i64| {
        let (c, base, token) = (c.clone(), base.clone(), tokens[who].clone());
        async move {
            let r = c
                .post(format!("{base}/api/v1/drops/{slug}/purchase"))
                .bearer_auth(token)
                .header("idempotency-key", key)
                .json(&json!({"variant_id": variant}))
                .send()
                .await
                .unwrap();
            r.status()
        }
    };
    let mut drops = Vec::new();
    for (slug, stock) in [("leak", 1), ("leak2", 2)] {
        let r = c
            .post(format!("{base}/api/v1/drops"))
            .bearer_auth(&tokens[0])
            .json(&drop_body(slug, json!({"kind": "open"}), stock, 0, 0, 1))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        drops.push(store::drop_by_slug(&db, slug).await.unwrap().unwrap());
    }
    let attempt = |d: &store::Drop, who: usize, key: &str| Attempt {
        account: ids[who],
        account_created_at: 0,
        honor_rank: 1,
        variant: d.variants[0].id,
        quantity: 1,
        idempotency_key: key.into(),
        fcode: None,
        now: now_ms(),
        share: None,
    };
    let (leak, leak2) = (&drops[0], &drops[1]);
    let variant = leak.variants[0].id;

    // Ann's attempt is decided in Redis, then her node dies before storing it.
    let lost = match cluster.decide(leak, &attempt(leak, 1, "k-ann")).await.unwrap() {
        Ok(token) => token,
        Err(d) => panic!("expected an acceptance, got {d:?}"),
    };
    assert_eq!(
        buy("leak", 2, "k-bob", variant).await,
        StatusCode::CONFLICT,
        "the unit is held"
    );
    assert_eq!(
        buy("leak", 1, "k-ann", variant).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "her retry is told to come back"
    );
    let (stale, now_) = (Duration::from_secs(60), Duration::ZERO);
    assert_eq!(
        cluster.reconcile(leak, stale).await.unwrap(),
        0,
        "not stale yet: the node's lease is alive"
    );
    assert_eq!(cluster.reconcile(leak, now_).await.unwrap(), 1);
    assert_eq!(cluster.reconcile(leak, now_).await.unwrap(), 0, "given back once");
    assert_eq!(store::void_decision(&db, &lost).await.unwrap(), None, "voided");
    assert_eq!(
        buy("leak", 2, "k-bob-2", variant).await,
        StatusCode::CREATED,
        "the unit is back on sale"
    );
    assert_eq!(
        buy("leak", 1, "k-ann", variant).await,
        StatusCode::CONFLICT,
        "her key is free again; sold out"
    );

    // A node that stored its order and died before clearing it: nothing is given back.
    let decided = |who: usize, key: &str| store::Decided {
        account: ids[who],
        variant: leak2.variants[0].id,
        quantity: 1,
        idempotency_key: key.into(),
        fcode: None,
        share: None,
    };
    let stored = match cluster.decide(leak2, &attempt(leak2, 1, "k1")).await.unwrap() {
        Ok(token) => token,
        Err(d) => panic!("{d:?}"),
    };
    let now = now_ms();
    assert!(matches!(
        store::commit_decision(&db, leak2, &stored, &decided(1, "k1"), now, 3_000)
            .await
            .unwrap(),
        store::Stored::Order(_)
    ));
    assert_eq!(cluster.reconcile(leak2, now_).await.unwrap(), 0);
    // A node that wakes up after the reconciler voided its decision cannot store it.
    let late = match cluster.decide(leak2, &attempt(leak2, 2, "k2")).await.unwrap() {
        Ok(token) => token,
        Err(d) => panic!("{d:?}"),
    };
    assert_eq!(cluster.reconcile(leak2, now_).await.unwrap(), 1);
    assert_eq!(
        store::commit_decision(&db, leak2, &late, &decided(2, "k2"), now, 3_000)
            .await
            .unwrap(),
        store::Stored::Voided
    );
    let stored_orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE drop_id = $1")
        .bind(leak2.id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(stored_orders, 1);
    let remaining = cluster.remaining(leak2).await.unwrap();
    assert_eq!(remaining[0].1, 1, "2 units: 1 stored, 1 given back once");
    assert!(
        cluster.decide(leak2, &attempt(leak2, 2, "k3")).await.unwrap().is_ok(),
        "bob's voided unit no longer counts against his limit"
    );

    db.pool.close().await;
    if let Ok(admin) = fanloop_platform::Db::connect(&common::pg_admin_url()).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
            .execute(&admin.pool)
            .await;
    }
}

/// Issue 11, defects 2 and 9: the system of record refuses by itself an order over the
/// per-account limit or with a revoked F-code, and such a member never fails the rest of its
/// batch: the innocent buyers in the same group commit are stored.
async fn database_guards(app: &TestApp) {
    use fanloop_launches::engine::NewOrder;
    use fanloop_launches::store;
    let admin = app.user("admin").await;
    let (s, d) = app
        .post(
            "/api/v1/drops",
            &admin,
            drop_body("x2-guards", json!({"kind": "open"}), 50, 5, 0, 2),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let (drop_id, variant) = (d["id"].as_i64().unwrap(), d["variants"][0]["id"].as_i64().unwrap());
    let buyers = accounts_fast(app, "guard", 6).await;
    let (s, codes) = app
        .post(
            "/api/v1/drops/x2-guards/fcodes",
            &admin,
            json!({"usernames": ["guard0"], "transferable": false}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{codes}");
    let code = codes[0]["id"].as_i64().unwrap();
    let (s, _) = app
        .post(&format!("/api/v1/fcodes/{code}/revoke"), &admin, json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let mut next_id = drop_id * 1_000_000_000;
    let mut order = |who: usize, quantity: u32, fcode: Option<i64>| {
        next_id += 1;
        NewOrder {
            order_id: next_id,
            account: buyers[who].0,
            variant,
            quantity,
            idempotency_key: format!("k{next_id}"),
            fcode,
            stored_at: None,
        }
    };
    let batch = vec![
        order(1, 1, None),
        order(0, 1, Some(code)), // revoked while the engine believed it usable
        order(2, 2, None),
        order(3, 1, None),
        order(3, 2, None), // takes guard3 to 3 units: over the limit of 2
        order(4, 1, None),
    ];
    let db = &app.state.platform.db;
    let now = now_ms();
    let outcomes = store::commit_orders(db, drop_id, 2, &batch, None, now, now + 60_000)
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            None,
            Some(store::Refusal::FcodeUsed),
            None,
            None,
            Some(store::Refusal::LimitReached),
            None
        ]
    );
    let stored: Vec<i64> = sqlx::query_scalar("SELECT id FROM orders WHERE drop_id = $1 ORDER BY id")
        .bind(drop_id)
        .fetch_all(&db.pool)
        .await
        .unwrap();
    let expected: Vec<i64> = [0, 2, 3, 5].iter().map(|i| batch[*i].order_id).collect();
    assert_eq!(
        stored, expected,
        "the innocent members are stored, the refused ones not at all"
    );
    let (sold_general, sold_fcode): (i64, i64) =
        sqlx::query_as("SELECT sold_general, sold_fcode FROM variants WHERE id = $1")
            .bind(variant)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!((sold_general, sold_fcode), (5, 0));
    // A later order alone over the limit is refused too, whatever the caller believed.
    let over = vec![order(2, 1, None)];
    assert_eq!(
        store::commit_orders(db, drop_id, 2, &over, None, now, now + 60_000)
            .await
            .unwrap(),
        vec![Some(store::Refusal::LimitReached)]
    );
    let held: i64 = sqlx::query_scalar("SELECT units FROM drop_buyers WHERE drop_id = $1 AND user_id = $2")
        .bind(drop_id)
        .bind(buyers[2].0)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(held, 2);
}

both_backends!(
    the_database_refuses_bad_members_without_failing_their_batch,
    database_guards
);

/// Issue 11, defect 7: paying one order many times at once answers every payment with the paid
/// order, never "expired".
async fn concurrent_payments(app: &TestApp) {
    let admin = app.user("admin").await;
    let (s, d) = app
        .post(
            "/api/v1/drops",
            &admin,
            drop_body("x2-pay", json!({"kind": "open"}), 10, 0, 0, 2),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let buyer = accounts_fast(app, "payer", 1).await.remove(0).1;
    let c = app.api();
    let (s, o) = purchase(
        &c,
        app,
        "x2-pay",
        &buyer,
        "p1",
        json!({"variant_id": d["variants"][0]["id"]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let id = o["id"].as_i64().unwrap();
    let mut payments = Vec::new();
    for _ in 0..40 {
        let (c, url, buyer) = (c.clone(), app.url(&format!("/api/v1/orders/{id}/pay")), buyer.clone());
        payments.push(tokio::spawn(async move {
            let r = c.post(url).bearer_auth(buyer).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }));
    }
    for p in payments {
        let (s, body) = p.await.unwrap();
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "paid");
    }
}

both_backends!(concurrent_payments_of_one_order_all_see_it_paid, concurrent_payments);

/// Issue 11, defects 6 and 10: a drop stays listed and looked after however many later drops
/// exist, and its unpaid orders expire after a restart even if nobody opens it.
async fn busy_calendar(app: &TestApp) {
    use fanloop_launches::engine::NewOrder;
    use fanloop_launches::store;
    let admin = app.user("admin").await;
    let (s, d) = app
        .post(
            "/api/v1/drops",
            &admin,
            drop_body("x2-now", json!({"kind": "open"}), 10, 0, 0, 2),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    for i in 0..101 {
        let mut later = drop_body(&format!("later-{i}"), json!({"kind": "open"}), 10, 0, 0, 2);
        later["opens_at"] = json!(now_ms() + 86_400_000 + i * 1_000);
        later["reservations_close_at"] = later["opens_at"].clone();
        later["fcode_opens_at"] = later["opens_at"].clone();
        later["closes_at"] = json!(now_ms() + 2 * 86_400_000);
        let (s, body) = app.post("/api/v1/drops", &admin, later).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    let (s, list) = app.get("/api/v1/drops", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list[0]["slug"], "x2-now", "the drop on sale comes first");
    assert_eq!(list.as_array().unwrap().len(), 50);
    let (_, page3) = app.get("/api/v1/drops?page=3", None).await;
    assert_eq!(page3.as_array().unwrap().len(), 2, "102 drops: 50 + 50 + 2");
    let (drop_id, variant) = (d["id"].as_i64().unwrap(), d["variants"][0]["id"].as_i64().unwrap());
    let db = &app.state.platform.db;
    let active = store::active_drops(db, now_ms()).await.unwrap();
    assert!(active.iter().any(|a| a.id == drop_id) && active.len() == 102);

    // An order stored before a restart (straight in the database: this process never opened
    // the drop's sale), due in half a second.
    let buyer = accounts_fast(app, "sleepy", 1).await.remove(0);
    let now = now_ms();
    let order = NewOrder {
        order_id: drop_id * 1_000_000_000 + 1,
        account: buyer.0,
        variant,
        quantity: 2,
        idempotency_key: "before-restart".into(),
        fcode: None,
        stored_at: None,
    };
    store::commit_orders(db, drop_id, 2, &[order], None, now, now + 500)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(6);
    loop {
        let (status, sold): (String, i64) = sqlx::query_as(
            "SELECT o.status, v.sold_general FROM orders o JOIN variants v ON v.id = o.variant_id WHERE o.drop_id = $1",
        )
        .bind(drop_id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        if status == "expired" {
            assert_eq!(sold, 0, "its units are back");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the unpaid order of an unopened drop expires"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, view) = app.get("/api/v1/drops/x2-now", None).await;
    assert_eq!(view["stock"]["total_remaining"], 10);
}

both_backends!(a_busy_calendar_hides_no_drop_and_unopened_drops_expire, busy_calendar);

/// Staff create a drop from the page: several versions, times typed in their own zone, and a
/// refused form that comes back with each problem next to its field and everything typed.
async fn new_drop_form(app: &TestApp) {
    app.user("admin").await;
    let (browser, csrf) = app.browser_as("admin", "password123").await;
    let r = browser
        .post(app.url("/settings/time-zone"))
        .form(&[("_csrf", csrf.as_str()), ("time_zone", "Asia/Shanghai")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = browser
        .get(app.url("/drops/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("type=\"datetime-local\"") && html.contains("Asia&#x2f;Shanghai (UTC+8)"));
    assert_eq!(
        html.matches("name=\"variant_name\"").count(),
        6,
        "room for several versions, not a wall of empty rows"
    );

    let form = |fields: &[(&'static str, &'static str)]| {
        let mut all: Vec<(&str, &str)> = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        browser
            .post(app.url("/drops/new"))
            .header("accept-language", "zh-CN")
            .form(&all)
            .send()
    };
    let r = form(&[
        ("name", ""),
        ("slug", "Bad Slug"),
        ("price", "abc"),
        ("currency", "CNY"),
        ("limit", "2"),
        ("mode", "draw"),
        ("opens_at", "2027-01-10T20:00"),
        ("closes_at", "2027-01-10T19:00"),
        ("min_honor", "1"),
        ("variant_name", "12+256"),
        ("variant_stock", "100"),
        ("variant_fcode", "5"),
        ("variant_name", "12+256"),
        ("variant_stock", "50"),
        ("variant_fcode", ""),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    for expected in [
        "id=\"err-name\"",
        "id=\"err-slug\"",
        "id=\"err-price\"",
        "id=\"err-closes_at\"",
        "id=\"err-variants\"",
        "有两个版本同名",
        "value=\"abc\"",
        "value=\"Bad Slug\"",
        "value=\"2027-01-10T20:00\"",
        "value=\"50\"",
    ] {
        assert!(html.contains(expected), "{expected} in the refused form");
    }
    assert_eq!(app.get("/api/v1/drops/bad-slug", None).await.0, StatusCode::NOT_FOUND);

    let r = form(&[
        ("name", "Aurora X3"),
        ("slug", "aurora-x3"),
        ("price", "3999,50"),
        ("currency", "EUR"),
        ("limit", "2"),
        ("mode", "draw"),
        ("opens_at", "2027-01-10T20:00"),
        ("closes_at", "2027-01-11T20:00"),
        ("min_honor", "2"),
        ("variant_name", "12+256 曜石黑"),
        ("variant_stock", "100"),
        ("variant_fcode", "5"),
        ("variant_name", "16+512 冰川蓝"),
        ("variant_stock", "50"),
        ("variant_fcode", ""),
        ("variant_name", ""),
        ("variant_stock", ""),
        ("variant_fcode", ""),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/drops/aurora-x3");
    let (s, d) = app.get("/api/v1/drops/aurora-x3", None).await;
    assert_eq!(s, StatusCode::OK);
    let d = &d["drop"];
    assert_eq!(d["opens_at"], 1_799_582_400_000_i64, "20:00 in Shanghai is 12:00 UTC");
    assert_eq!(d["closes_at"], 1_799_582_400_000_i64 + 86_400_000);
    assert_eq!(d["reservations_close_at"], d["opens_at"]);
    assert_eq!(
        (d["price_cents"].as_i64(), d["currency"].as_str()),
        (Some(399_950), Some("EUR"))
    );
    assert_eq!(d["mode"]["kind"], "draw");
    let variants: Vec<(String, i64, i64)> = d["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_string(),
                v["general_stock"].as_i64().unwrap(),
                v["fcode_stock"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        variants,
        vec![("12+256 曜石黑".into(), 100, 5), ("16+512 冰川蓝".into(), 50, 0)]
    );
    // The same address again is refused next to the field, in the reader's language.
    let r = form(&[
        ("name", "Aurora X3 bis"),
        ("slug", "aurora-x3"),
        ("price", "1"),
        ("currency", "EUR"),
        ("limit", "1"),
        ("mode", "open"),
        ("opens_at", "2027-01-10T20:00"),
        ("closes_at", "2027-01-11T20:00"),
        ("min_honor", "1"),
        ("variant_name", "std"),
        ("variant_stock", "1"),
        ("variant_fcode", "0"),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"err-slug\"") && html.contains("已有使用该网址标识的首发"));
}
both_backends!(staff_create_a_drop_with_versions_at_a_local_time, new_drop_form);

/// A node keeps the API tokens it has looked up in memory (the purchase path of a flash sale
/// then needs no database read to authenticate) and stays true to the database: a token
/// revoked or an account suspended by any node (here, straight in the shared database, as
/// another node would) stops working within a second or two; writes that change nothing about
/// an account leave no trace; before a sale the node loads every token.
async fn token_cache(app: &TestApp) {
    let platform = app.state.platform.clone();
    let cache = platform.auth_cache.clone();
    let db = platform.db.clone();
    let started = std::time::Instant::now();
    while !cache.trusted() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the cache never follows the changes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let changes = |db: fanloop_platform::Db| async move {
        sqlx::query_scalar::<_, i64>("SELECT CAST(COUNT(*) AS BIGINT) FROM auth_changes")
            .fetch_one(&db.pool)
            .await
            .unwrap()
    };
    let alice = app.user("cache_alice").await;
    let bob = app.user("cache_bob").await;
    for token in [&alice, &bob] {
        let (s, v) = app.get("/api/v1/me", Some(token)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    assert!(cache.get(&auth::token_digest(&alice)).is_some(), "a used token is kept");
    assert!(cache.get(&auth::token_digest(&bob)).is_some());

    // A new token used by many requests at once (one database batch asks for it several
    // times): every one is answered.
    let carol = app.user("cache_carol").await;
    let calls = (0..24).map(|_| app.get("/api/v1/me", Some(&carol)));
    for (s, v) in futures::future::join_all(calls).await {
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    // Writes that change nothing about an account (a row lock, the token-use stamp) add no
    // change; real ones do.
    let before = changes(db.clone()).await;
    sqlx::query("UPDATE users SET role = role WHERE username = 'cache_alice'")
        .execute(&db.pool)
        .await
        .unwrap();
    platform.token_uses.flush(&db).await.unwrap();
    sqlx::query(
        "UPDATE api_tokens SET last_used_at = 1 WHERE user_id IN (SELECT id FROM users WHERE username = 'cache_bob')",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    assert_eq!(changes(db.clone()).await, before);

    let until = |token: String, want: StatusCode| async move {
        {
            let started = std::time::Instant::now();
            loop {
                let (s, v) = app.get("/api/v1/me", Some(&token)).await;
                if s == want {
                    return (started.elapsed(), v);
                }
                assert!(started.elapsed() < Duration::from_secs(10), "still {s} {v}");
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
    };
    // Alice's token is deleted by "another node": refused within 2 s.
    sqlx::query("DELETE FROM api_tokens WHERE user_id IN (SELECT id FROM users WHERE username = 'cache_alice')")
        .execute(&db.pool)
        .await
        .unwrap();
    let (took, v) = until(alice.clone(), StatusCode::UNAUTHORIZED).await;
    assert_eq!(v["error"], "invalid_token", "{v}");
    assert!(took < Duration::from_secs(3), "a revocation took {took:?}");
    assert!(cache.get(&auth::token_digest(&alice)).is_none());
    // Bob is suspended by "another node": refused within 2 s, and then never kept.
    sqlx::query("UPDATE users SET suspended_until = $1, suspended_reason = 'x' WHERE username = 'cache_bob'")
        .bind(fanloop_platform::db::now_ms() + 86_400_000)
        .execute(&db.pool)
        .await
        .unwrap();
    assert!(changes(db.clone()).await > before);
    let (took, v) = until(bob.clone(), StatusCode::FORBIDDEN).await;
    assert_eq!(v["error"], "suspended", "{v}");
    assert!(took < Duration::from_secs(3), "a suspension took {took:?}");
    assert!(cache.get(&auth::token_digest(&bob)).is_none());
    let (s, _) = app.get("/api/v1/me", Some(&bob)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        cache.get(&auth::token_digest(&bob)).is_none(),
        "a suspended account is not kept"
    );

    // Before a sale: every token is loaded, and answers come from memory.
    let mut tokens = Vec::new();
    for i in 0..5 {
        tokens.push(app.user(&format!("cache_fan{i}")).await);
    }
    cache.clear();
    let loaded = cache.warm(&db).await.unwrap();
    assert!(loaded >= 5, "{loaded}");
    for token in &tokens {
        assert!(cache.get(&auth::token_digest(token)).is_some());
        let (s, _) = app.get("/api/v1/me", Some(token)).await;
        assert_eq!(s, StatusCode::OK);
    }
    assert!(
        cache.get(&auth::token_digest(&bob)).is_none(),
        "the suspended account is not loaded"
    );

    // A backlog larger than a page of changes (12,000 written at once, two minutes ago, then one
    // for a loaded fan): the node reads it page after page and drops the fan's token.
    sqlx::query(
        "INSERT INTO auth_changes (user_id, created_at) SELECT -1, $1 \
         FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 12000) SELECT x FROM c) AS s",
    )
    .bind(fanloop_platform::db::now_ms() - 120_000)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO auth_changes (user_id) SELECT id FROM users WHERE username = 'cache_fan0'")
        .execute(&db.pool)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    while cache.get(&auth::token_digest(&tokens[0])).is_some() {
        assert!(started.elapsed() < Duration::from_secs(5), "the backlog was not read");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        cache.get(&auth::token_digest(&tokens[1])).is_some(),
        "only that fan is dropped"
    );
    eprintln!("a change behind 12,000 others was applied in {:?}", started.elapsed());
}

both_backends!(api_tokens_kept_in_memory_follow_every_change, token_cache);

/// Ordering by posting (issue 16): the post and the order are made together or not at all; one
/// post per member; too short and copied posts are refused without touching stock; the suggested
/// text may be posted by everyone; the wall and its forum mirror follow; a moderator hides a
/// post (the order stands, the post stops counting); reservations by posting too.
async fn share_to_order(app: &TestApp) {
    let admin = app.user("admin").await;
    let (s, _) = app
        .post(
            "/api/v1/boards",
            &admin,
            json!({"slug": "buds", "name": "Buds", "description": "耳机"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let now = now_ms();
    let share = json!({"on": "buy", "hashtag": "Buds首发", "template": "我在 fanloop 抢 Aurora Buds，一起来！",
        "min_chars": 8, "board": "buds"});
    let mut body = drop_body("buds", json!({"kind": "open"}), 4, 0, 0, 2);
    body["opens_at"] = json!(now - 1_000);
    body["fcode_opens_at"] = json!(now - 1_000);
    body["reservations_close_at"] = json!(now - 1_000);
    // Settings are checked: a hashtag with a space, a board that does not exist.
    for (field, bad) in [
        ("hashtag", json!("two words")),
        ("board", json!("nowhere")),
        ("min_chars", json!(500)),
    ] {
        let mut b = body.clone();
        b["share"] = share.clone();
        b["share"][field] = bad;
        let (s, e) = app.post("/api/v1/drops", &admin, b).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {e}");
    }
    body["share"] = share.clone();
    let (s, d) = app.post("/api/v1/drops", &admin, body).await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let drop_id = d["id"].as_i64().unwrap();
    let variant = d["variants"][0]["id"].as_i64().unwrap();
    assert_eq!(d["share"]["hashtag"], "Buds首发");
    let c = app.api();
    let fans: Vec<String> = {
        let mut v = Vec::new();
        for name in ["ann", "bob", "cat", "dan", "eve", "fay", "gus"] {
            v.push(app.user(name).await);
        }
        v
    };
    let db = &app.state.platform.db;
    let orders_of_drop = || async {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE drop_id = $1")
            .bind(drop_id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        n
    };
    let buy = |token: &str, key: &str, post: Value| {
        let (c, token, key) = (c.clone(), token.to_string(), key.to_string());
        let body = json!({"variant_id": variant, "quantity": 1, "post": post});
        async move { purchase(&c, app, "buds", &token, &key, body).await }
    };
    // No post, a blank one, one that is only the hashtag and punctuation, one too long: refused,
    // nothing stored.
    for (post, code) in [
        (Value::Null, "post_required"),
        (json!("   \n "), "post_required"),
        (json!("#Buds首发# ！！！ 😀😀"), "validation_failed"),
        (json!("长".repeat(1_001)), "validation_failed"),
    ] {
        let (s, e) = buy(&fans[0], "k-bad", post.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{post}: {e}");
        assert_eq!(e["error"], code, "{e}");
    }
    let (_, e) = buy(&fans[0], "k-bad", json!("太短了")).await;
    assert!(
        e["message"].as_str().unwrap().contains('8'),
        "the minimum is named: {e}"
    );
    assert_eq!(orders_of_drop().await, 0, "a refused post makes no order");
    // Ann orders in her own words: order and post together; the hashtag is added.
    let own = "降噪很强，通勤地铁上终于听得清播客了";
    let (s, ann1) = buy(&fans[0], "k-ann-1", json!(own)).await;
    assert_eq!(s, StatusCode::CREATED, "{ann1}");
    // A retry replays the order and makes no second post.
    let (s, again) = buy(&fans[0], "k-ann-1", json!(own)).await;
    assert_eq!((s, &again["id"]), (StatusCode::OK, &ann1["id"]));
    // Her second unit needs no new post: the first one stays hers, once.
    let (s, ann2) = buy(&fans[0], "k-ann-2", Value::Null).await;
    assert_eq!(s, StatusCode::CREATED, "{ann2}");
    let (_, me) = app.get("/api/v1/drops/buds/me", Some(&fans[0])).await;
    assert!(me["post_id"].as_i64().is_some(), "{me}");
    // Bob copies Ann's words (traditional characters, other punctuation, hashtag first): refused,
    // and the stock is untouched.
    let (_, before) = app.get("/api/v1/drops/buds", None).await;
    let (s, e) = buy(
        &fans[1],
        "k-bob",
        json!("#Buds首发# 降噪很強！通勤地鐵上，終於聽得清播客了!!"),
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::CONFLICT, Some("post_copied")),
        "{e}"
    );
    let (_, after) = app.get("/api/v1/drops/buds", None).await;
    assert_eq!(before["stock"], after["stock"]);
    // The suggested text is the brand's: two members may both post it as offered.
    let prefill = "我在 fanloop 抢 Aurora Buds，一起来！ #Buds首发#";
    for (i, fan) in fans[2..4].iter().enumerate() {
        let (s, o) = buy(fan, &format!("k-tpl-{i}"), json!(prefill)).await;
        assert_eq!(s, StatusCode::CREATED, "{o}");
    }
    assert_eq!(orders_of_drop().await, 4);
    // Sold out (4 units): a valid post makes neither order nor post.
    let (s, e) = buy(&fans[6], "k-gus", json!("音质通透，低频不轰头，佩戴两小时不疼")).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::CONFLICT, Some("sold_out")),
        "{e}"
    );
    // The wall: three posts (Ann, Cat, Dan), newest first, each carrying the hashtag.
    let (s, wall) = app.get("/api/v1/drops/buds/wall", None).await;
    assert_eq!(s, StatusCode::OK, "{wall}");
    let posts = wall["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 3, "{wall}");
    assert_eq!(wall["counted"], 3);
    assert_eq!(posts[2]["username"], "ann");
    assert_eq!(posts[2]["body"], format!("{own} #Buds首发#"));
    assert!(posts.iter().all(|p| p["body"].as_str().unwrap().contains("#Buds首发#")));
    let newest = posts[0]["id"].as_i64().unwrap();
    let (_, none_newer) = app.get(&format!("/api/v1/drops/buds/wall?after={newest}"), None).await;
    assert_eq!(none_newer["posts"].as_array().unwrap().len(), 0);
    // The forum mirrors the wall: one reply per post, in the drop's thread, within seconds.
    let thread = wall["thread_id"].as_i64().expect("the wall's forum thread");
    let mut replies = Vec::new();
    for _ in 0..100 {
        let (_, t) = app.get(&format!("/api/v1/threads/{thread}"), None).await;
        replies = t["posts"]
            .as_array()
            .unwrap()
            .iter()
            .skip(1)
            .cloned()
            .collect::<Vec<_>>();
        if replies.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(replies.len(), 3, "{replies:?}");
    assert!(replies
        .iter()
        .any(|p| p["author"]["username"] == "ann" && p["body"].as_str().unwrap().contains(own)));
    // A moderator hides Cat's post: gone from the wall and the forum, no longer counted; her
    // order stands.  A fan cannot hide.
    let cat_post = posts.iter().find(|p| p["username"] == "cat").unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, _) = app
        .post(&format!("/api/v1/drops/buds/wall/{cat_post}/hide"), &fans[1], json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .post(&format!("/api/v1/drops/buds/wall/{cat_post}/hide"), &admin, json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.post("/api/v1/drops/buds/wall/999999/hide", &admin, json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, wall) = app.get("/api/v1/drops/buds/wall", None).await;
    assert_eq!((wall["counted"].as_i64(), wall["hidden"].as_i64()), (Some(2), Some(1)));
    assert!(wall["posts"].as_array().unwrap().iter().all(|p| p["username"] != "cat"));
    let (_, staff_wall) = app.get("/api/v1/drops/buds/wall", Some(&admin)).await;
    assert!(staff_wall["posts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["username"] == "cat" && p["hidden"] == true));
    let (_, cat_me) = app.get("/api/v1/drops/buds/me", Some(&fans[2])).await;
    assert_eq!(
        (cat_me["bought"].as_i64(), cat_me["post_hidden"].as_bool()),
        (Some(1), Some(true)),
        "{cat_me}"
    );
    let (_, t) = app.get(&format!("/api/v1/threads/{thread}"), None).await;
    assert_eq!(
        t["posts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["deleted"] == false)
            .count(),
        1 + 2,
        "{t}"
    );
    let counted = fanloop_launches::store::share_post_times(db, drop_id, 0, now_ms() + 1)
        .await
        .unwrap();
    assert_eq!(counted.len(), 2, "a hidden post is not counted");

    // Two members send the same words at the same instant to a fresh drop: one post, one order.
    let mut body = drop_body("buds2", json!({"kind": "open"}), 10, 0, 0, 1);
    body["opens_at"] = json!(now - 1_000);
    body["fcode_opens_at"] = json!(now - 1_000);
    body["reservations_close_at"] = json!(now - 1_000);
    body["share"] = share.clone();
    let (s, d2) = app.post("/api/v1/drops", &admin, body).await;
    assert_eq!(s, StatusCode::CREATED, "{d2}");
    let v2 = d2["variants"][0]["id"].as_i64().unwrap();
    let same = "充电盒小巧，放口袋刚好，续航一整天都够用";
    let sends = fans[4..6].iter().enumerate().map(|(i, t)| {
        let (c, t) = (c.clone(), t.clone());
        async move {
            purchase(
                &c,
                app,
                "buds2",
                &t,
                &format!("k-same-{i}"),
                json!({"variant_id": v2, "post": same}),
            )
            .await
        }
    });
    let outcomes = futures::future::join_all(sends).await;
    let codes: Vec<StatusCode> = outcomes.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        codes.iter().filter(|s| **s == StatusCode::CREATED).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        codes.iter().filter(|s| **s == StatusCode::CONFLICT).count(),
        1,
        "{outcomes:?}"
    );
    let (_, w2) = app.get("/api/v1/drops/buds2/wall", None).await;
    assert_eq!(w2["posts"].as_array().unwrap().len(), 1);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE drop_id = $1")
        .bind(d2["id"].as_i64().unwrap())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1, "the refused copy left no order");
    // The transaction itself refuses an order without a post from a member who has none (what
    // the sale's sold-out shortcut leaves to it when units come back meanwhile); a member whose
    // post is on the wall needs none, and is refused here only for the per-account limit.
    let d2_id = d2["id"].as_i64().unwrap();
    let gus = accounts::find_by_username(db, "gus").await.unwrap().unwrap();
    let eve = accounts::find_by_username(db, "eve").await.unwrap().unwrap();
    let order = |i: i64, account: i64| fanloop_launches::engine::NewOrder {
        order_id: d2_id * 1_000_000_000 + 500 + i,
        account,
        variant: v2,
        quantity: 1,
        idempotency_key: format!("tx-{i}"),
        fcode: None,
        stored_at: None,
    };
    let eve_posted = w2["posts"][0]["username"] == "eve";
    let poster = if eve_posted {
        eve.id
    } else {
        accounts::find_by_username(db, "fay").await.unwrap().unwrap().id
    };
    let now = now_ms();
    let outcomes = fanloop_launches::store::commit_orders(
        db,
        d2_id,
        1,
        &[order(0, gus.id), order(1, poster)],
        Some(&[None, None]),
        now,
        now + 60_000,
    )
    .await
    .unwrap();
    assert_eq!(
        outcomes,
        vec![
            Some(fanloop_launches::store::Refusal::PostRequired),
            Some(fanloop_launches::store::Refusal::LimitReached)
        ]
    );

    // Reservations by posting (a draw): the post is made with the reservation.
    let mut body = drop_body("buds3", json!({"kind": "draw"}), 10, 0, 1_800_000, 1);
    body["share"] = json!({"on": "reserve", "hashtag": "Buds预约", "min_chars": 4, "board": "buds"});
    let (s, d3) = app.post("/api/v1/drops", &admin, body).await;
    assert_eq!(s, StatusCode::CREATED, "{d3}");
    let (s, e) = app.post("/api/v1/drops/buds3/reservations", &fans[6], json!({})).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("post_required"))
    );
    // No body at all is an empty request, answered the same way.
    let r = c
        .post(app.url("/api/v1/drops/buds3/reservations"))
        .bearer_auth(&fans[6])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (s, e) = app
        .post(
            "/api/v1/drops/buds3/reservations",
            &fans[6],
            json!({"post": "想要一副黑色的"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let (s, _) = app
        .post(
            "/api/v1/drops/buds3/reservations",
            &fans[6],
            json!({"post": "再来一次也不会重复"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "already reserved");
    let (_, w3) = app.get("/api/v1/drops/buds3/wall", None).await;
    assert_eq!(w3["posts"].as_array().unwrap().len(), 1, "{w3}");
    assert_eq!(w3["posts"][0]["made_with"], "reservation");
    assert_eq!(w3["posts"][0]["body"], "想要一副黑色的 #Buds预约#");
    // Near copies (one word apart, so not the same fingerprint) sent at the same instant by
    // four members: one reservation and its post, three copies refused with nothing stored.
    let near = ["really", "truly", "surely", "simply"].map(|w| {
        format!("the charging case fits my jacket pocket and {w} lasts a whole weekend of hiking in the mountains with friends")
    });
    let sends = fans[..4].iter().zip(&near).map(|(t, text)| {
        let (c, t, text) = (c.clone(), t.clone(), text.clone());
        async move {
            let r = c
                .post(app.url("/api/v1/drops/buds3/reservations"))
                .bearer_auth(&t)
                .json(&json!({"post": text}))
                .send()
                .await
                .unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap())
        }
    });
    let outcomes = futures::future::join_all(sends).await;
    let created = outcomes.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
    let copies = outcomes
        .iter()
        .filter(|(s, e)| *s == StatusCode::CONFLICT && e["error"] == "post_copied")
        .count();
    assert_eq!((created, copies), (1, 3), "{outcomes:?}");
    let reserved: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reservations WHERE drop_id = $1")
        .bind(d3["id"].as_i64().unwrap())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(reserved, 2, "the refused copies reserved nothing");
    // A drop without a wall has none to show.
    let (s, _) = app.get("/api/v1/drops/nowall/wall", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The page: a refused post is shown again as typed, with the reason in the reader's language.
    let (browser, _) = app.signed_in_browser("gus").await;
    let csrf = common::csrf_of(app, &browser, "/drops/buds2").await;
    let page = browser
        .get(app.url("/drops/buds2"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-wall=\"buds2\"") && page.contains("name=\"post\""),
        "the post box and the wall"
    );
    let r = browser
        .post(app.url("/drops/buds2/buy"))
        .header("accept-language", "zh-CN")
        .form(&[
            ("_csrf", csrf.as_str()),
            ("variant_id", &v2.to_string()),
            ("quantity", "1"),
            ("idempotency_key", "page-1"),
            ("post", "#Buds首发# 充电盒小巧，放口袋刚好！续航一整天都够用"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("充电盒小巧，放口袋刚好！续航一整天都够用"),
        "what was typed is kept"
    );

    // Staff set it up on the new-drop page: a bad hashtag comes back next to its field with
    // everything typed; a good one makes a drop whose wall has its forum thread.
    let (staff, csrf) = app.browser_as("admin", "password123").await;
    let html = staff
        .get(app.url("/drops/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("name=\"share_on\"") && html.contains("value=\"buds\""),
        "the share setting and the boards"
    );
    let fields = |tag: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("name", "Buds 页面".into()),
            ("slug", "buds-page".into()),
            ("price", "499".into()),
            ("currency", "CNY".into()),
            ("limit", "1".into()),
            ("mode", "open".into()),
            ("opens_at", "2027-01-10T20:00".into()),
            ("closes_at", "2027-01-11T20:00".into()),
            ("min_honor", "1".into()),
            ("variant_name", "Black".into()),
            ("variant_stock", "10".into()),
            ("variant_fcode", "0".into()),
            ("share_on", "both".into()),
            ("share_hashtag", tag.into()),
            ("share_template", "页面上写的推荐文案，足够长".into()),
            ("share_min", "6".into()),
            ("share_board", "buds".into()),
        ]
    };
    let r = staff
        .post(app.url("/drops/new"))
        .form(&fields("two words"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("value=\"two words\"") && html.contains("页面上写的推荐文案，足够长"),
        "kept as typed"
    );
    let r = staff
        .post(app.url("/drops/new"))
        .form(&fields("#页面话题#"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page_drop) = app.get("/api/v1/drops/buds-page", None).await;
    assert_eq!(page_drop["drop"]["share"]["hashtag"], "页面话题", "{page_drop}");
    assert_eq!(page_drop["drop"]["share"]["on"], "both");
    assert!(page_drop["drop"]["share_thread_id"].as_i64().is_some());
}

both_backends!(share_to_order_drops_take_orders_by_posting, share_to_order);
