//! `fanloop backup` while the real server takes a stream of posts, then `fanloop restore` into
//! the same data folder: every post acknowledged before the backup began is there after the
//! restore, and search finds exactly what the restored store holds.  A restore refuses to run
//! under a serving process, and a backup never overwrites a file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{free_port, signup_token, start_binary, wait_healthy};
use serde_json::{json, Value};

fn fanloop(args: &[&str], data: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fanloop"))
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_under_writes_restores_every_acknowledged_post() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start_binary(&data, port);
    wait_healthy(&base).await;
    let c = reqwest::Client::new();
    let admin = signup_token(&c, &base, "keeper").await;
    let r = c
        .post(format!("{base}/api/v1/boards"))
        .bearer_auth(&admin)
        .json(&json!({"slug": "log", "name": "Log"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // Writers post without pause and note when each post was acknowledged.
    let acked = Arc::new(std::sync::Mutex::new(Vec::<(i64, Instant)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (c, base, admin, acked, stop) = (c.clone(), base.clone(), admin.clone(), acked.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let r = c
                    .post(format!("{base}/api/v1/boards/log/threads"))
                    .bearer_auth(&admin)
                    .json(&json!({"title": format!("记录 {w}-{n}"), "body": format!("备份测试 saxifrage {w} {n}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                let v: Value = r.json().await.unwrap();
                acked
                    .lock()
                    .unwrap()
                    .push((v["post_id"].as_i64().unwrap(), Instant::now()));
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let backup_file = dir.path().join("backups/one.db");
    let began = Instant::now();
    let out = fanloop(&["backup", "--to", backup_file.to_str().unwrap()], &data);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let before: Vec<i64> = acked.iter().filter(|(_, at)| *at < began).map(|(id, _)| *id).collect();
    let after = acked.len() - before.len();
    eprintln!(
        "{} posts acknowledged before the backup began, {after} during or after it",
        before.len()
    );
    assert!(
        before.len() >= 10 && after >= 1,
        "{} posts before the backup, {after} during or after",
        before.len()
    );

    // A backup never overwrites; a restore refuses while the server runs.
    let again = fanloop(&["backup", "--to", backup_file.to_str().unwrap()], &data);
    assert!(!again.status.success());
    let busy = fanloop(&["restore", "--from", backup_file.to_str().unwrap()], &data);
    assert!(!busy.status.success(), "restore under a running server");
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("stop it first"),
        "{}",
        String::from_utf8_lossy(&busy.stderr)
    );

    // Stop, restore, start.
    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(server.wait().unwrap().success());
    let out = fanloop(&["restore", "--from", backup_file.to_str().unwrap()], &data);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    server = start_binary(&data, port);
    wait_healthy(&base).await;

    for id in &before {
        let r = c.get(format!("{base}/api/v1/posts/{id}")).send().await.unwrap();
        assert_eq!(
            r.status(),
            200,
            "post {id}, acknowledged before the backup, was restored"
        );
    }
    // Search was rebuilt from the restored store: it finds exactly the posts there.
    let db = fanloop_platform::Db::connect(&format!("sqlite://{}?mode=ro", data.join("fanloop.db").display()))
        .await
        .unwrap();
    let stored: i64 = sqlx::Row::get(
        &sqlx::query("SELECT COUNT(*) AS n FROM posts WHERE deleted = 0")
            .fetch_one(&db.pool)
            .await
            .unwrap(),
        "n",
    );
    assert!(stored as usize >= before.len());
    let v: Value = c
        .get(format!("{base}/api/v1/search?q=saxifrage"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["total"].as_i64(), Some(stored), "{v}");
    server.kill().unwrap();
    server.wait().unwrap();
}
