//! Trending over HTTP: a hashtag that suddenly takes over imported posts is reported as a burst,
//! on SQLite and PostgreSQL; the page renders with sparklines; bad parameters get a 400.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::json;

const HOUR_MS: i64 = 3_600_000;

/// Imports social posts (JSON lines) as staff.
async fn import_posts(app: &TestApp, admin: &str, lines: &[String]) {
    let r = app
        .api()
        .post(app.url("/api/v1/vetting/imports?format=jsonl"))
        .bearer_auth(admin)
        .body(lines.join("\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

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
    import_posts(app, &admin, &lines).await;

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

/// What trending must answer, counted the slow way: every imported post of the window read and
/// split into terms here, whatever the roll-ups hold.
async fn counted_from_posts(app: &TestApp, view: &serde_json::Value, per: i64, detect: usize) -> serde_json::Value {
    use fanloop_listening::trending::{rank, terms, BurstConfig};
    use sqlx::Row;
    let buckets = view["buckets"].as_u64().unwrap() as usize;
    let last = view["until"].as_i64().unwrap().div_euclid(HOUR_MS);
    let base = last - buckets as i64 * per + 1;
    let rows = sqlx::query("SELECT posted_at, text FROM vet_posts")
        .fetch_all(&app.state.platform.db.pool)
        .await
        .unwrap();
    let mut totals = vec![0u32; buckets];
    let mut series: std::collections::HashMap<String, Vec<u32>> = Default::default();
    for r in rows {
        let at: i64 = r.get("posted_at");
        let hour = at.div_euclid(HOUR_MS);
        if hour < base || hour > last {
            continue;
        }
        let b = ((hour - base) / per) as usize;
        totals[b] += 1;
        for t in terms(&r.get::<String, _>("text")) {
            series.entry(t).or_insert_with(|| vec![0; buckets])[b] += 1;
        }
    }
    let cfg = if per == 1 {
        BurstConfig::HOURLY
    } else {
        BurstConfig::DAILY
    };
    serde_json::to_value(rank(&series, &totals, base * HOUR_MS, per * HOUR_MS, detect, &cfg, 40)).unwrap()
}

/// `value` with every fraction to 9 significant digits: a float read back from JSON may differ
/// from the one written in its last bit.
fn rounded(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => json!(format!("{:.9e}", n.as_f64().unwrap())),
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(rounded).collect()),
        serde_json::Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), rounded(v))).collect(),
        other => other.clone(),
    }
}

async fn both_views_match_the_posts(app: &TestApp, admin: &str) {
    for (granularity, per, detect) in [("hour", 1, 24), ("day", 24, 7)] {
        let (s, v) = app
            .get(
                &format!("/api/v1/trending?granularity={granularity}&source=imported"),
                Some(admin),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["stale_hours"], 0, "{v}");
        let expected = counted_from_posts(app, &v, per, detect).await;
        assert_eq!(
            rounded(&v["trends"]),
            rounded(&expected),
            "{granularity}: roll-ups and live hours disagree with the posts"
        );
    }
}

/// Trending reads hourly roll-ups.  Whether an hour is rolled up, out of date and counted by
/// the request, or changed after its roll-up, the answer is the one counting every post gives.
async fn rollups_flow(app: &TestApp) {
    let admin = app.user("admin").await;
    let db = &app.state.platform.db;
    let now = fanloop_platform::db::now_ms();
    let words = [
        "电池 续航",
        "camera night mode",
        "écran lumineux",
        "充电 发烫",
        "keyboard travel",
        "相机 夜景",
    ];
    // Sixty steady made-up words, each more used than the burst below: the burst can only be
    // found by looking for bursts, not by being among the most used.
    let syllables = ["zor", "mek", "tal", "vin", "qua", "bro", "lus", "ped"];
    let steady: Vec<String> = (0..60)
        .map(|k| format!("{}{}", syllables[k / 8], syllables[k % 8]))
        .collect();
    let mut lines = Vec::new();
    for h in 0..480i64 {
        for i in 0..(8 + h % 4) {
            let fillers: Vec<&str> = (0..12)
                .map(|j| steady[((h * 7 + i * 13 + j) % 60) as usize].as_str())
                .collect();
            let text = format!(
                "{} {} {}",
                words[((h + i) % 6) as usize],
                ["#日常#", "#daily", ""][(i % 3) as usize],
                fillers.join(" ")
            );
            lines.push(
                json!({"handle": "w", "platform": "weibo", "time": now - h * HOUR_MS - i * 60_000, "text": text})
                    .to_string(),
            );
        }
    }
    for i in 0..25 {
        lines.push(json!({"handle": "w", "platform": "weibo", "time": now - 3 * HOUR_MS - i * 1000, "text": format!("#降价# 太突然 {i}")}).to_string());
    }
    import_posts(app, &admin, &lines).await;

    // Freshly imported: 480 hours out of date. The request counts the newest itself and reads
    // the rest from roll-ups that may not exist yet, and says so.
    let (s, v) = app
        .get("/api/v1/trending?granularity=hour&source=imported", Some(&admin))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let stale = v["stale_hours"].as_u64().unwrap();
    assert_eq!(v["truncated"], stale > 0, "{v}");

    let (rolled, pending) = fanloop_listening::rollup::roll_up_pending(db, std::time::Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(pending, 0, "{rolled} rolled");
    both_views_match_the_posts(app, &admin).await;
    let (s, v) = app
        .get("/api/v1/trending?granularity=hour&source=imported", Some(&admin))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["trends"][0]["term"], "#降价#", "{v}");

    // Changes after the roll-up (edits, posts moved to another hour, deletions) mark their
    // hours; rolling up again agrees with the posts.
    for sql in [
        "UPDATE vet_posts SET text = '#降价# 又来了' WHERE id IN (SELECT id FROM vet_posts WHERE text LIKE '电池%' ORDER BY id LIMIT 40)",
        "UPDATE vet_posts SET posted_at = posted_at - 7200000 WHERE id IN (SELECT id FROM vet_posts WHERE text LIKE '#降价#%' ORDER BY id LIMIT 5)",
        "DELETE FROM vet_posts WHERE id IN (SELECT id FROM vet_posts WHERE text LIKE 'camera%' ORDER BY id DESC LIMIT 30)",
    ] {
        sqlx::query(sql).execute(&db.pool).await.unwrap();
    }
    // Many hours changed: the answer says how many it did not count.
    let (s, v) = app
        .get("/api/v1/trending?granularity=hour&source=imported", Some(&admin))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["truncated"], v["stale_hours"].as_u64().unwrap() > 0, "{v}");
    fanloop_listening::rollup::roll_up_pending(db, std::time::Duration::from_secs(120))
        .await
        .unwrap();
    both_views_match_the_posts(app, &admin).await;

    // A few hours changed (two examined, one of the baseline, one of the day view only): the
    // request counts them from their posts and the rest from the roll-ups; together they agree.
    for (hours_ago, text) in [
        (1, "#降价# 再来"),
        (5, "#日常# 电池"),
        (40, "camera 发烫"),
        (300, "#降价# 老帖"),
    ] {
        let hour = (now - hours_ago * HOUR_MS).div_euclid(HOUR_MS);
        sqlx::query(&format!(
            "UPDATE vet_posts SET text = '{text}' WHERE posted_at >= {} AND posted_at < {}",
            hour * HOUR_MS,
            (hour + 1) * HOUR_MS
        ))
        .execute(&db.pool)
        .await
        .unwrap();
    }
    let dirty: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT DISTINCT hour FROM trend_marks) AS d")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(dirty <= 4, "{dirty} hours marked");
    both_views_match_the_posts(app, &admin).await;
    fanloop_listening::rollup::roll_up_pending(db, std::time::Duration::from_secs(120))
        .await
        .unwrap();
    both_views_match_the_posts(app, &admin).await;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM trend_marks")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

both_backends!(trending_reads_rollups_that_agree_with_the_posts, rollups_flow);
