//! The real binary, killed with SIGKILL and started again on the same data folder, keeps every
//! acknowledged write, and its search index agrees with the store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{free_port, start_binary as start, wait_healthy};

use serde_json::{json, Value};

#[tokio::test]
async fn sigkill_and_restart_lose_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(dir.path(), port);
    wait_healthy(&base).await;
    let c = reqwest::Client::new();
    let r = c
        .post(format!("{base}/api/v1/users"))
        .json(&json!({"username": "持久", "email": "p@x.cn", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token: Value = c
        .post(format!("{base}/api/v1/tokens"))
        .json(&json!({"login": "持久", "password": "password123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_string();
    c.post(format!("{base}/api/v1/boards"))
        .bearer_auth(&token)
        .json(&json!({"slug": "general", "name": "General"}))
        .send()
        .await
        .unwrap();
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let r = c
            .post(format!("{base}/api/v1/boards/general/threads"))
            .bearer_auth(&token)
            .json(&json!({"title": format!("重启测试 {i}"), "body": format!("数据不能丢失 number{i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        acknowledged.push(v["thread_id"].as_i64().unwrap());
    }
    server.kill().unwrap(); // SIGKILL: no graceful shutdown
    server.wait().unwrap();

    let mut server = start(dir.path(), port);
    wait_healthy(&base).await;
    for id in &acknowledged {
        let r = c.get(format!("{base}/api/v1/threads/{id}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "thread {id} survived the crash");
    }
    let found: Value = c
        .get(format!("{base}/api/v1/search?q=%E4%B8%A2%E5%A4%B1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap(); // 丢失
    assert_eq!(found["total"], 20, "{found}");
    // The token issued before the crash still works.
    let r = c
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.kill().unwrap();
    server.wait().unwrap();
}
