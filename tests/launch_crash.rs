//! Stop the real server in the middle of a sale — SIGKILL, or SIGTERM (a graceful stop: it
//! stops accepting, answers what is in flight and exits) — restart it, and check against the
//! client's ledger that every acknowledged order survived and no invariant broke.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{free_port, signup_token as token, start_binary as start, wait_healthy};

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

/// Every fan's view of the sale: their orders and units bought.
async fn my_statuses(c: &reqwest::Client, base: &str, fans: &[String]) -> Vec<Value> {
    let mut out = Vec::with_capacity(fans.len());
    for fan in fans {
        out.push(
            c.get(format!("{base}/api/v1/drops/crash/me"))
                .bearer_auth(fan)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap(),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_sale_loses_no_acknowledged_order() {
    stop_mid_sale(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_mid_sale_exits_cleanly_and_loses_no_acknowledged_order() {
    stop_mid_sale(true).await;
}

async fn stop_mid_sale(graceful: bool) {
    const STOCK: i64 = 3_000;
    const LIMIT: i64 = 25;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(dir.path(), port);
    wait_healthy(&base).await;
    let c = reqwest::Client::new();
    let admin = token(&c, &base, "admin").await;
    let now = fanloop_platform::db::now_ms();
    let d: Value = c
        .post(format!("{base}/api/v1/drops"))
        .bearer_auth(&admin)
        .json(&json!({"slug": "crash", "name": "Crash test", "price_cents": 1, "per_account_limit": LIMIT,
            "reservations_open_at": now - 1000, "reservations_close_at": now, "opens_at": now, "closes_at": now + 3_600_000,
            "mode": {"kind": "open"}, "payment_seconds": 3600, "variants": [{"name": "only", "stock": STOCK}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let variant = d["variants"][0]["id"].as_i64().unwrap();
    let mut fans = Vec::new();
    for i in 0..150 {
        fans.push(token(&c, &base, &format!("buyer{i}")).await);
    }

    // Clients hammer the sale and keep a ledger of every acknowledged order.
    let ledger = Arc::new(tokio::sync::Mutex::new(HashMap::<String, Vec<i64>>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for worker in 0..30 {
        let (c, base, ledger, stop, fans) = (c.clone(), base.clone(), ledger.clone(), stop.clone(), fans.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let fan = &fans[(worker + 30 * (n as usize % 5)) % fans.len()];
                n += 1;
                let r = c
                    .post(format!("{base}/api/v1/drops/crash/purchase"))
                    .bearer_auth(fan)
                    .header("idempotency-key", format!("w{worker}-{n}"))
                    .json(&json!({"variant_id": variant}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 201 => {
                        let o: Value = r.json().await.unwrap_or(Value::Null);
                        if let Some(id) = o["id"].as_i64() {
                            ledger.lock().await.entry(fan.clone()).or_default().push(id);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    if graceful {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &server.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let started = std::time::Instant::now();
        let status = server.wait().unwrap();
        assert!(status.success(), "a SIGTERM ends the server cleanly: {status}");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "it stopped within {:?}",
            started.elapsed()
        );
    } else {
        server.kill().unwrap(); // SIGKILL mid-sale
        server.wait().unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let acknowledged: usize = ledger.lock().await.values().map(Vec::len).sum();
    assert!(acknowledged > 0, "the stop happened during the sale");

    let mut server = start(dir.path(), port);
    wait_healthy(&base).await;
    let mut sold = 0;
    for (fan, me) in fans.iter().zip(my_statuses(&c, &base, &fans).await) {
        let ids: Vec<i64> = me["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect();
        for acked in ledger.lock().await.get(fan).cloned().unwrap_or_default() {
            assert!(ids.contains(&acked), "acknowledged order {acked} survived the crash");
        }
        assert!(me["bought"].as_i64().unwrap() <= LIMIT, "no account above its limit");
        sold += me["bought"].as_i64().unwrap();
    }
    let view: Value = c
        .get(format!("{base}/api/v1/drops/crash"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        sold + view["stock"]["total_remaining"].as_i64().unwrap(),
        STOCK,
        "sold + remaining = initial after recovery"
    );
    eprintln!("stopped (graceful: {graceful}) after {acknowledged} acknowledged orders; {sold} sold at recovery");
    assert!(sold < STOCK, "the stop came before the sell-out");

    // The sale goes on after the restart and sells out exactly.
    let mut buyers = Vec::new();
    for (i, fan) in fans.iter().cloned().enumerate() {
        let (c, base) = (c.clone(), base.clone());
        buyers.push(tokio::spawn(async move {
            for k in 0..LIMIT {
                let _ = c
                    .post(format!("{base}/api/v1/drops/crash/purchase"))
                    .bearer_auth(&fan)
                    .header("idempotency-key", format!("after-{i}-{k}"))
                    .json(&json!({"variant_id": variant}))
                    .send()
                    .await
                    .unwrap();
            }
        }));
    }
    for b in buyers {
        b.await.unwrap();
    }
    let view: Value = c
        .get(format!("{base}/api/v1/drops/crash"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["stock"]["total_remaining"], 0);
    let total: i64 = my_statuses(&c, &base, &fans)
        .await
        .iter()
        .map(|me| me["bought"].as_i64().unwrap())
        .sum();
    assert_eq!(total, STOCK, "sold exactly the stock, never more");
    server.kill().unwrap();
    server.wait().unwrap();
}
