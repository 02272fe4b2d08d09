//! Trending over HTTP: a hashtag that suddenly takes over imported posts is reported as a burst,
//! on SQLite and PostgreSQL; the page renders with sparklines; bad parameters get a 400.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::json;

const HOUR_MS: i64 = 3_600_000;

async fn trending_flow(app: &TestApp) {
    let admin = app.user("admin").await;
    let fan = app.user("fan").await;
    let now = fanloop_platform::db::now_ms();
    let ordinary = [
        "Morning run done, coffee next",
        "早上跑步，然后喝咖啡",
        "Nouvelle semaine, nouveaux tests",
        "Reading about keyboards",
    ];
    let mut lines = Vec::new();
    for h in 1..72 {
        for i in 0..8 {
            let text = ordinary[(h + i) % ordinary.len()];
            lines.push(json!({"handle": "watcher", "platform": "weibo", "time": now - h as i64 * HOUR_MS, "text": format!("{text} {i}")}).to_string());
        }
    }
    for i in 0..20 {
        lines.push(
            json!({"handle": "watcher", "platform": "weibo", "time": now - 10 * 60_000 - i * 1000,
            "text": format!("#小米14发布会# 太期待了 {i}")})
            .to_string(),
        );
    }
    let r = app
        .api()
        .post(app.url("/api/v1/vetting/imports?format=jsonl"))
        .bearer_auth(&admin)
        .body(lines.join("\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    let (s, v) = app
        .get("/api/v1/trending?granularity=hour&source=imported", Some(&admin))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let top = &v["trends"][0];
    assert_eq!(top["term"], "#小米14发布会#", "{v}");
    assert!(top["burst"]["observed"].as_u64().unwrap() >= 20);
    assert_eq!(top["series"].as_array().unwrap().len(), 72);
    assert!(
        v["trends"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| !t["burst"].is_null())
            .count()
            <= 3,
        "steady words do not burst: {v}"
    );

    let (s, _) = app.get("/api/v1/trending", Some(&fan)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = app.get("/api/v1/trending?granularity=minute", Some(&admin)).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );
    let (s, v) = app.get("/api/v1/trending?granularity=day", Some(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

both_backends!(a_sudden_hashtag_is_reported_as_a_burst, trending_flow);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trending_page_renders_for_staff_only() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.user("admin").await;
    let r = app.browser().get(app.url("/trending")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (browser, _) = app.signed_in_browser("admin").await;
    let r = browser
        .get(app.url("/trending?granularity=day"))
        .header("accept-language", "fr")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Termes et hashtags tendance"));
    app.stop().await;
}

/// A new user who opens trending on the demo sees a real burst: the overheating reports of the
/// last hours, in three languages under one topic, ranked first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_a_burst_on_trending() {
    let app = TestApp::spawn_with(Backend::Sqlite, true).await.expect("demo app");
    let admin_pw = app.demo.as_ref().expect("demo credentials").admin_password.clone();
    let admin = app.token_for("admin", &admin_pw).await;
    let (s, v) = app.get("/api/v1/trending", Some(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let first = &v["trends"][0];
    assert_eq!(first["term"], "#x2发烫#", "{}", v["trends"]);
    assert!(first["burst"]["observed"].as_u64().unwrap() >= 5, "{first}");
    let bursting = v["trends"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| !t["burst"].is_null())
        .count();
    assert!(
        bursting <= 10,
        "a demo with {bursting} bursts would be noise, not a signal"
    );
}
