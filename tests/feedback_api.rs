//! HTTP-level tests of the feedback loop, against SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR";

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

async fn report(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.post("/api/v1/products/x2/reports", token, body).await
}

fn bug(title: &str, description: &str, build: Option<&str>) -> Value {
    json!({"kind": "bug", "area": "battery", "build": build, "title": title, "description": description,
           "steps": "1. charge to 100%\n2. leave overnight", "expected": "under 5% lost", "actual": "30% lost", "device": "Aurora X2"})
}

async fn setup(app: &TestApp) -> (String, String) {
    let admin = app.user("admin").await;
    let staff = app.user("battery_emma").await;
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/users/battery_emma/role",
            Some(&admin),
            Some(json!({"role": "staff", "team": "Battery team"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, p) = app
        .post("/api/v1/products", &admin, json!({"slug": "x2", "name": "Aurora X2"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(
        (p["cadence_days"].as_i64(), p["release_weekday"].as_i64()),
        (Some(7), Some(5)),
        "weekly, on Fridays"
    );
    for (slug, name, team) in [
        ("battery", "Battery", "Battery team"),
        ("camera", "Camera", "Camera team"),
    ] {
        let (s, _) = app
            .post(
                "/api/v1/products/x2/areas",
                &admin,
                json!({"slug": slug, "name": name, "team": team}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, _) = app
        .post(
            "/api/v1/products/x2/builds",
            &staff,
            json!({"version": "3.2.1", "channel": "stable", "released_at": 1_700_000_000_000i64}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app
        .post(
            "/api/v1/products/x2/builds",
            &staff,
            json!({"version": "3.3.0-beta.1", "channel": "beta"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    (admin, staff)
}

async fn feedback_loop(app: &TestApp) {
    let (admin, staff) = setup(app).await;
    let fan_zh = app.user("小米粒").await;
    let fan_en = app.user("alex_chen").await;
    let fan_fr = app.user("camille").await;

    // A fan cannot publish builds or see beta builds; the default build is the current stable one.
    let (s, _) = app
        .post(
            "/api/v1/products/x2/builds",
            &fan_en,
            json!({"version": "9.9", "channel": "stable"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, overview) = app.get("/api/v1/products/x2", Some(&fan_en)).await;
    let versions: Vec<&str> = overview["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, vec!["3.2.1"], "beta builds are hidden from fans");
    let (_, staff_view) = app.get("/api/v1/products/x2", Some(&staff)).await;
    assert_eq!(staff_view["current_build"]["version"], "3.3.0-beta.1");
    let (s, e) = report(
        app,
        &fan_en,
        bug("Battery drain overnight", "Battery drains fast", Some("3.3.0-beta.1")),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a beta build does not exist for a fan: {e}"
    );

    // Structured form rules.
    let (s, e) = report(
        app,
        &fan_en,
        json!({"kind": "bug", "area": "battery", "title": "Battery drain", "description": "drains"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["message"].as_str().unwrap().contains("steps"), "{e}");
    let (s, _) = report(app, &fan_en, json!({"kind": "bug", "area": "speakers", "title": "No sound", "description": "x", "steps": "a", "expected": "b", "actual": "c"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "no such area");
    let (s, _) = app
        .post(
            "/api/v1/products/x2/fields",
            &admin,
            json!({"key": "region", "label": "Region", "required": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, e) = report(
        app,
        &fan_en,
        bug("Battery drain overnight", "Battery drains fast", None),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["message"].as_str().unwrap().contains("region"), "{e}");

    // Three fans, three languages, one problem.
    let mut first = bug(
        "更新后电池掉电特别快",
        "更新到 3.2.1 后电池掉电特别快，一晚上掉了 30%，待机也耗电",
        None,
    );
    first["extra"] = json!({"region": "CN"});
    first["attachments"] = json!([{"filename": "battery.png", "data_base64": b64(PNG)}, {"filename": "trace.log", "data_base64": b64("电池 log".as_bytes())}]);
    let (s, r1) = report(app, &fan_zh, first).await;
    assert_eq!(s, StatusCode::CREATED, "{r1}");
    assert_eq!(r1["grouped"], false);
    let request_id = r1["request_id"].as_i64().unwrap();

    let mut en = bug(
        "Battery drains fast overnight",
        "Since the update the battery drains really fast, lost 30% overnight",
        None,
    );
    en["extra"] = json!({"region": "EU"});
    let (_, candidates) = app
        .post(
            "/api/v1/products/x2/duplicates",
            &fan_en,
            json!({"title": en["title"], "description": en["description"]}),
        )
        .await;
    assert_eq!(
        candidates[0]["request"]["id"], request_id,
        "the form offers the Chinese report as a likely duplicate: {candidates}"
    );
    // Without the embedding model nothing is grouped without asking (the lexical matcher does
    // not reach the required precision); the fan takes the offer ("+1 this instead").
    let mut en_plus_one = en.clone();
    en_plus_one["attach_to"] = json!(request_id);
    let (s, r2) = report(app, &fan_en, en_plus_one).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        (r2["request_id"].as_i64(), r2["grouped"].as_bool()),
        (Some(request_id), Some(true)),
        "grouped across languages: {r2}"
    );

    let mut en_again = en.clone();
    en_again["title"] = json!("Battery drain overnight after update");
    en_again["description"] = json!("Battery drains really fast since the update, 30% lost overnight");
    let (_, offered) = app
        .post(
            "/api/v1/products/x2/duplicates",
            &fan_fr,
            json!({"title": en_again["title"], "description": en_again["description"]}),
        )
        .await;
    assert_eq!(offered[0]["request"]["id"], request_id, "{offered}");
    let p = offered[0]["similarity"].as_f64().unwrap();
    assert!(p > 0.5 && p <= 1.0, "a likelihood: {offered}");
    en_again["attach_to"] = json!(request_id);
    let (_, r3) = report(app, &fan_fr, en_again).await;
    assert_eq!(r3["request_id"].as_i64(), Some(request_id), "{r3}");

    // An unrelated report stays apart.
    let mut other = bug(
        "Camera crashes in portrait mode",
        "The camera app crashes when switching to portrait mode",
        None,
    );
    other["area"] = json!("camera");
    other["extra"] = json!({"region": "EU"});
    let (_, r4) = report(app, &fan_en, other).await;
    assert_ne!(r4["request_id"].as_i64(), Some(request_id));
    assert_eq!(r4["grouped"], false);

    // Attachments are typed by content and size-limited.
    let mut fake = bug("Screen flickers", "Screen flickers at low brightness", None);
    fake["extra"] = json!({"region": "EU"});
    fake["attachments"] = json!([{"filename": "x.png", "data_base64": b64(b"<script>alert(1)</script>")}]);
    let (s, _) = report(app, &fan_en, fake).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    let (_, detail) = app.get(&format!("/api/v1/requests/{request_id}"), None).await;
    assert_eq!(detail["request"]["report_count"], 3);
    assert_eq!(detail["request"]["vote_count"], 3, "reporters vote for their request");
    assert_eq!(detail["reports"][0]["extra"]["region"], "CN");
    let att = &detail["reports"][0]["attachments"];
    assert_eq!(att.as_array().unwrap().len(), 2);
    let resp = app
        .api()
        .get(app.url(&format!("/api/v1/attachments/{}", att[0]["id"])))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), PNG);

    // Votes: one per fan per request.
    let voter = app.user("voter_one").await;
    for _ in 0..2 {
        let (s, v) = app
            .call(
                Method::PUT,
                &format!("/api/v1/requests/{request_id}/vote"),
                Some(&voter),
                None,
            )
            .await;
        assert_eq!((s, v["vote_count"].as_i64()), (StatusCode::OK, Some(4)));
    }

    // Honor rule: one accepted report makes a beta tester.
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/honor-rules",
            Some(&fan_en),
            Some(json!({"target_role": "beta_tester", "min_accepted_reports": 1, "min_shipped_requests": 0})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/honor-rules",
            Some(&admin),
            Some(json!({"target_role": "beta_tester", "min_accepted_reports": 1, "min_shipped_requests": 0})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // Status workflow: fans cannot change it; staff move it and everyone involved hears.
    let path = format!("/api/v1/requests/{request_id}/status");
    let (s, _) = app.post(&path, &fan_en, json!({"status": "acknowledged"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = app
        .post(&path, &staff, json!({"status": "shipped", "build": "3.2.1"}))
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition"))
    );
    let (s, e) = app.post(&path, &staff, json!({"status": "declined"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "declining needs a reason: {e}");
    for (status, build) in [
        ("acknowledged", None),
        ("planned", None),
        ("in_build", Some("3.3.0-beta.1")),
    ] {
        let (s, r) = app.post(&path, &staff, json!({"status": status, "build": build})).await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some(status)), "{r}");
    }
    let (_, me) = app.get("/api/v1/me", Some(&fan_zh)).await;
    assert_eq!(me["role"], "beta_tester", "promoted by the honor rule");
    let (_, notes) = app.get("/api/v1/notifications", Some(&fan_zh)).await;
    let kinds: Vec<&str> = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"promoted") && kinds.iter().filter(|k| **k == "status_changed").count() == 3,
        "{kinds:?}"
    );
    let (_, notes) = app.get("/api/v1/notifications", Some(&voter)).await;
    assert_eq!(notes["unread"], 3, "voters hear about every change");
    let (s, _) = app
        .post(
            "/api/v1/products/x2/builds",
            &staff,
            json!({"version": "3.3.0", "channel": "stable"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, r) = app
        .post(&path, &staff, json!({"status": "shipped", "build": "3.3.0"}))
        .await;
    assert_eq!((s, r["build"].as_str()), (StatusCode::OK, Some("3.3.0")));
    let (_, detail) = app.get(&format!("/api/v1/requests/{request_id}"), None).await;
    assert_eq!(detail["history"].as_array().unwrap().len(), 4);
    assert_eq!(detail["history"][3]["changed_by"], "battery_emma");

    // The changelog credits reporters and voters by name; profiles list the build.
    let (s, log) = app.get("/api/v1/products/x2/builds/3.3.0/changelog", None).await;
    assert_eq!(s, StatusCode::OK);
    let entry = &log["entries"][0];
    assert_eq!(entry["request"]["id"], request_id);
    let reporters: Vec<&str> = entry["reported_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        reporters.contains(&"小米粒") && reporters.contains(&"alex_chen") && reporters.contains(&"camille"),
        "{reporters:?}"
    );
    assert_eq!(entry["voted_by"], json!(["voter_one"]));
    let (_, credits) = app.get("/api/v1/users/voter_one/credits", None).await;
    assert_eq!(credits[0]["build"], "3.3.0");
    let html = app
        .api()
        .get(app.url("/u/alex_chen"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-credits") && html.contains("3.3.0"),
        "the profile lists shipped builds"
    );
    let (s, _) = app.get("/api/v1/products/x2/builds/3.3.0-beta.1/changelog", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "beta changelogs are hidden from the public");

    // Roadmap and triage.
    let (_, roadmap) = app.get("/api/v1/products/x2/roadmap?area=battery", None).await;
    let shipped = roadmap
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "shipped")
        .unwrap();
    assert_eq!(shipped["total"], 1);
    let (_, list) = app
        .get("/api/v1/products/x2/requests?status=new&sort=recent", None)
        .await;
    assert_eq!(list["total"], 1);
    let (s, _) = app.get("/api/v1/products/x2/requests?status=bogus", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a bad query parameter");
    let (s, dash) = app
        .get("/api/v1/products/x2/builds/3.2.1/dashboard", Some(&staff))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(dash["total_reports"], 4);
    assert_eq!(dash["acknowledged_within_48h"], 1);
    assert_eq!(
        dash["top_requests"][0]["id"], request_id,
        "the most voted request leads the build's list"
    );
    let (s, _) = app
        .get("/api/v1/products/x2/builds/3.2.1/dashboard", Some(&fan_en))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
both_backends!(feedback_loop_from_report_to_changelog, feedback_loop);

/// With the embedding model: the same problem in other words and other languages is grouped
/// without asking, a look-alike (another component, same symptom) is not, and the batch job
/// folds a split-off duplicate back.
async fn semantic_grouping(app: &TestApp) {
    let (_admin, staff) = setup(app).await;
    let fans = [
        app.user("sem_a").await,
        app.user("sem_b").await,
        app.user("sem_c").await,
        app.user("sem_d").await,
    ];
    let first = bug(
        "蓝牙耳机打电话时老是断开",
        "蓝牙耳机在通话的时候经常自动断开连接，要重新配对",
        None,
    );
    let (s, r1) = report(app, &fans[0], first).await;
    assert_eq!(s, StatusCode::CREATED, "{r1}");
    let id = r1["request_id"].as_i64().unwrap();
    let en = bug(
        "Bluetooth earbuds disconnect during calls",
        "My Bluetooth earbuds keep disconnecting in the middle of phone calls and I have to pair them again",
        None,
    );
    let (_, r2) = report(app, &fans[1], en).await;
    assert_eq!(
        (r2["request_id"].as_i64(), r2["grouped"].as_bool()),
        (Some(id), Some(true)),
        "{r2}"
    );
    let wifi = bug(
        "Wi-Fi disconnects during calls",
        "Wi-Fi keeps disconnecting in the middle of Wi-Fi calls and I have to reconnect",
        None,
    );
    let (_, r3) = report(app, &fans[2], wifi).await;
    assert_ne!(r3["request_id"].as_i64(), Some(id), "a look-alike is not grouped: {r3}");
    let fr = bug(
        "Les écouteurs Bluetooth se déconnectent pendant les appels",
        "Mes écouteurs Bluetooth se déconnectent au milieu des appels, il faut les réappairer",
        None,
    );
    let (_, r4) = report(app, &fans[3], fr).await;
    assert_eq!(r4["request_id"].as_i64(), Some(id), "{r4}");
    let (s, split) = app
        .post(&format!("/api/v1/reports/{}/split", r4["report_id"]), &staff, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(split["request_id"].as_i64(), Some(id));
    let (s, rc) = app.post("/api/v1/products/x2/recluster", &staff, json!({})).await;
    assert_eq!((s, rc["merged"].as_i64()), (StatusCode::OK, Some(1)), "{rc}");
    let (_, orig) = app.get(&format!("/api/v1/requests/{id}"), None).await;
    assert_eq!(orig["request"]["report_count"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semantic_grouping_with_the_model() {
    let Some(app) = TestApp::spawn_semantic(Backend::Sqlite).await else {
        return;
    };
    semantic_grouping(&app).await;
    app.stop().await;
}

async fn merge_split_and_awards(app: &TestApp) {
    let (_admin, staff) = setup(app).await;
    let fan = app.user("fan_a").await;
    let other = app.user("fan_b").await;
    let mut a = bug(
        "Fingerprint unlock slow",
        "Fingerprint unlock needs several tries",
        None,
    );
    let (_, r1) = report(app, &fan, a.clone()).await;
    a["title"] = json!("Face unlock fails at night");
    a["description"] = json!("Face unlock fails in low light");
    let (_, r2) = report(app, &other, a).await;
    let (id1, id2) = (r1["request_id"].as_i64().unwrap(), r2["request_id"].as_i64().unwrap());
    assert_ne!(id1, id2);
    let (s, _) = app
        .post(&format!("/api/v1/requests/{id2}/merge"), &fan, json!({"into": id1}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, merged) = app
        .post(&format!("/api/v1/requests/{id2}/merge"), &staff, json!({"into": id1}))
        .await;
    assert_eq!(
        (s, merged["report_count"].as_i64(), merged["vote_count"].as_i64()),
        (StatusCode::OK, Some(2), Some(2))
    );
    let (s, e) = app.get(&format!("/api/v1/requests/{id2}"), None).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::CONFLICT, Some("merged")));
    let report_id = r2["report_id"].as_i64().unwrap();
    let (s, split) = app
        .post(&format!("/api/v1/reports/{report_id}/split"), &staff, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, back) = app
        .get(&format!("/api/v1/requests/{}", split["request_id"]), None)
        .await;
    assert_eq!(back["request"]["report_count"], 1);
    let (_, orig) = app.get(&format!("/api/v1/requests/{id1}"), None).await;
    assert_eq!(orig["request"]["report_count"], 1);

    // The batch job folds a near duplicate that was split off back into the earlier request.
    let dup = bug(
        "Fingerprint unlock slow again",
        "Fingerprint unlock needs several tries every time",
        None,
    );
    let mut dup = dup.clone();
    dup["attach_to"] = json!(id1);
    let (_, r5) = report(app, &other, dup).await;
    assert_eq!(r5["request_id"].as_i64(), Some(id1), "{r5}");
    let (s, split5) = app
        .post(&format!("/api/v1/reports/{}/split", r5["report_id"]), &staff, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(split5["request_id"].as_i64(), Some(id1));
    let (s, _) = app.post("/api/v1/products/x2/recluster", &fan, json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Without the model the batch job merges nothing by itself (see `semantic_grouping` for
    // the model's regrouping).
    let (s, rc) = app.post("/api/v1/products/x2/recluster", &staff, json!({})).await;
    assert_eq!((s, rc["merged"].as_i64()), (StatusCode::OK, Some(0)), "{rc}");
    let (_, orig) = app.get(&format!("/api/v1/requests/{id1}"), None).await;
    assert_eq!(orig["request"]["report_count"], 1);

    // Staff answers are marked.
    let (s, _) = app
        .post(
            &format!("/api/v1/requests/{id1}/comments"),
            &staff,
            json!({"body": "We are on it."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, d) = app.get(&format!("/api/v1/requests/{id1}"), None).await;
    assert_eq!(d["comments"][0]["is_staff"], true);

    // The weekly award: one vote per fan per week, for a team that owns an area.
    let (s, _) = app.post("/api/v1/awards/vote", &fan, json!({"team": "Nobody"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .post("/api/v1/awards/vote", &fan, json!({"team": "Battery team"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app
        .post("/api/v1/awards/vote", &fan, json!({"team": "Camera team"}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, awards) = app.get("/api/v1/awards", Some(&fan)).await;
    assert_eq!(awards["results"][0]["team"], "Battery team");
    assert_eq!(awards["my_vote"], "Battery team");
}
both_backends!(merge_split_comments_and_awards, merge_split_and_awards);

/// Staff triage from the page: filters survive a bulk change, the result says what happened in
/// the reader's language, and merging starts from a search; a group holding a French report
/// reads in French to a French fan.
async fn triage_and_merge_pages(app: &TestApp) {
    let (_admin, _staff) = setup(app).await;
    let fan = app.user("fan_a").await;
    let fan_fr = app.user("fan_fr").await;
    let mut ids = Vec::new();
    for (title, area) in [
        ("夜间待机耗电严重", "battery"),
        ("Charging stops at 80 percent", "battery"),
        ("Camera app freezes on launch", "camera"),
    ] {
        let mut b = bug(title, &format!("{title} — details"), None);
        b["area"] = json!(area);
        let (s, r) = report(app, &fan, b).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        ids.push(r["request_id"].as_i64().unwrap());
    }
    assert_eq!(ids.iter().collect::<std::collections::HashSet<_>>().len(), 3);
    // A French fan +1s the Chinese request with a report of their own.
    let mut fr = bug(
        "La batterie se vide la nuit en veille",
        "Perte de 30 % chaque nuit",
        None,
    );
    fr["attach_to"] = json!(ids[0]);
    let (s, _) = report(app, &fan_fr, fr).await;
    assert_eq!(s, StatusCode::CREATED);
    let html = app
        .api()
        .get(app.url(&format!("/requests/{}", ids[0])))
        .header("accept-language", "fr-FR")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let h1 = html.split("<h1>").nth(1).unwrap().split("</h1>").next().unwrap();
    assert!(
        h1.contains("La batterie se vide la nuit en veille"),
        "French title for a French reader: {h1}"
    );
    let html = app
        .api()
        .get(app.url("/f/x2"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("夜间待机耗电严重"), "Chinese for a Chinese reader");

    // Areas and teams carry names per language.
    let (s, _) = app
        .post(
            "/api/v1/products/x2/areas",
            &_admin,
            json!({"slug": "display", "name": "Display", "team": "Display team",
                   "names": {"fr": "Écran", "xx": "?"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "only zh, en and fr names");
    let (s, area) = app
        .post(
            "/api/v1/products/x2/areas",
            &_admin,
            json!({"slug": "display", "name": "Display", "team": "Display team",
                   "names": {"fr": "Écran", "zh": "显示"}, "team_names": {"fr": "Équipe écran", "zh": "  "}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{area}");
    assert_eq!(
        area["team_names"],
        json!({"fr": "Équipe écran"}),
        "an empty name is left out"
    );
    let mut d = bug("Screen flickers at low brightness", "Flicker under 10 percent", None);
    d["area"] = json!("display");
    let (s, d) = report(app, &fan, d).await;
    assert_eq!(s, StatusCode::CREATED);
    for (lang, area, team) in [
        ("fr-FR", "Écran", "Équipe écran"),
        ("zh-CN", "显示", "Display team"),
        ("en", "Display", "Display team"),
    ] {
        let html = app
            .api()
            .get(app.url(&format!("/requests/{}", d["request_id"])))
            .header("accept-language", lang)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains(&format!("· {area} ·")) && html.contains(team),
            "{lang}: {area} / {team}"
        );
    }

    let (browser, csrf) = app.browser_as("battery_emma", "password123").await;
    let get = |path: String| {
        let browser = &browser;
        async move {
            browser
                .get(app.url(&path))
                .header("accept-language", "fr-FR")
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let html = get("/f/x2/triage?area=battery&status=new&sort=recent".into()).await;
    assert!(html.contains("data-select-all=\"ids\""), "select all");
    assert!(html.contains("<label>Zone<select name=\"area\">") || html.contains("name=\"area\""));
    assert!(
        html.contains("2 demandes correspondent"),
        "the count of what the filters show"
    );
    // Move both battery requests to "planned", one of them with an impossible change (shipped needs a build).
    let r = browser
        .post(app.url("/f/x2/triage"))
        .header("accept-language", "fr-FR")
        .form(&[
            ("_csrf", csrf.as_str()),
            ("f_area", "battery"),
            ("f_status", "new"),
            ("f_build", ""),
            ("f_sort", "recent"),
            ("f_page", "1"),
            ("ids", &ids[0].to_string()),
            ("ids", &ids[1].to_string()),
            ("status", "shipped"),
            ("build", ""),
            ("reason", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("2 laissée(s) telle(s) quelle(s)"),
        "what was not changed, in French"
    );
    assert!(
        !html.contains("in build and shipped need"),
        "no English reason in a French page"
    );
    assert!(
        html.contains("name=\"f_area\" value=\"battery\"") && html.contains("value=\"battery\" selected"),
        "the filters stay as they were"
    );
    assert!(html.contains("value=\"recent\" selected"));

    // Merging starts from a search, not a raw number.
    let html = get(format!("/requests/{}/merge?q=charging", ids[0])).await;
    assert!(
        html.contains(&format!("name=\"into\" value=\"{}\"", ids[1])),
        "found by a title word"
    );
    assert!(!html.contains(&format!("name=\"into\" value=\"{}\"", ids[2])));
    let html = get(format!("/requests/{}/merge?q=CHARGING%20STOPS", ids[0])).await;
    assert!(
        html.contains(&format!("name=\"into\" value=\"{}\"", ids[1])),
        "any case"
    );
    let html = get(format!("/requests/{}/merge?q=%23{}", ids[0], ids[2])).await;
    assert!(
        html.contains(&format!("name=\"into\" value=\"{}\"", ids[2])),
        "found by its number"
    );
    for q in ["%25", "_", "%5C", "%00", "%F0%9F%99%82", "'%20OR%201=1--"] {
        let r = browser
            .get(app.url(&format!("/requests/{}/merge?q={q}", ids[0])))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{q}");
        assert!(
            !r.text().await.unwrap().contains("name=\"into\""),
            "{q} matches nothing"
        );
    }
    let r = app
        .api()
        .get(app.url(&format!("/requests/{}/merge", ids[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "staff only");
    let r = browser
        .post(app.url(&format!("/requests/{}/merge", ids[1])))
        .form(&[("_csrf", csrf.as_str()), ("into", &ids[0].to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], format!("/requests/{}", ids[0]).as_str());
}
both_backends!(staff_triage_and_merge_from_the_page, triage_and_merge_pages);

/// A refused report form keeps its files (and its likely duplicates): the fan fixes what was
/// wrong and sends again without attaching anything a second time.
async fn refused_form_keeps_files(app: &TestApp) {
    const PNG: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00,
        0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF,
        0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];
    setup(app).await;
    let fan = app.user("fan_a").await;
    let (s, _) = report(
        app,
        &fan,
        bug("Battery drains overnight", "Battery drains overnight in standby", None),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    app.user("fan_b").await;
    let (browser, csrf) = app.browser_as("fan_b", "password123").await;
    let form = |fields: Vec<(&'static str, String)>, file: bool| {
        let mut f = reqwest::multipart::Form::new().text("_csrf", csrf.clone());
        for (k, v) in fields {
            f = f.text(k, v);
        }
        if file {
            f = f.part(
                "attachments",
                reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("drain.png"),
            );
        }
        browser
            .post(app.url("/f/x2/new"))
            .header("accept-language", "zh-CN")
            .multipart(f)
            .send()
    };
    let base = || {
        vec![
            ("action", "submit".to_string()),
            ("kind", "bug".to_string()),
            ("area", "battery".to_string()),
            ("build", "3.2.1".to_string()),
            ("title", "Battery drains overnight".to_string()),
            ("description", "Battery drains overnight in standby".to_string()),
        ]
    };
    // A bug without steps is refused: the file is kept, and the likely duplicate is shown.
    let r = form(base(), true).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("问题反馈需要填写复现步骤"), "the refusal in Chinese");
    for field in ["steps", "expected", "actual"] {
        assert!(
            html.contains(&format!("id=\"err-{field}\"")),
            "{field}'s problem next to it"
        );
    }
    assert!(!html.contains("id=\"err-title\""), "the title was fine");
    assert!(
        html.contains("value=\"Battery drains overnight\""),
        "what was typed is kept"
    );
    assert!(
        html.contains("drain.png") && html.contains("name=\"keep\""),
        "the file is kept"
    );
    assert!(
        !html.contains("id=\"duplicates\" hidden"),
        "the likely duplicate stays in view"
    );
    let token = html.split("name=\"upload_token\" value=\"").nth(1).unwrap()[..64].to_string();
    let keep = html
        .split("name=\"keep\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    // Another account cannot use this form's files.
    app.user("fan_c").await;
    let (other, other_csrf) = app.browser_as("fan_c", "password123").await;
    let mut f = reqwest::multipart::Form::new().text("_csrf", other_csrf);
    for (k, v) in base() {
        f = f.text(k, v);
    }
    let f = f
        .text("steps", "1. charge")
        .text("expected", "a")
        .text("actual", "b")
        .text("upload_token", token.clone())
        .text("keep", keep.clone());
    let r = other.post(app.url("/f/x2/new")).multipart(f).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, stolen) = app
        .get(
            &r.headers()["location"]
                .to_str()
                .unwrap()
                .replace("/requests/", "/api/v1/requests/")
                .replace("?filed=1", ""),
            None,
        )
        .await;
    let attachments: usize = stolen["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["attachments"].as_array().map_or(0, |a| a.len()))
        .sum();
    assert_eq!(attachments, 0, "{stolen}");
    // The same fan completes the form and sends it again, without attaching the file.
    let mut fields = base();
    fields.extend([
        ("steps", "1. charge to 100%".to_string()),
        ("expected", "under 5% lost".to_string()),
        ("actual", "30% lost".to_string()),
        ("upload_token", token),
        ("keep", keep),
    ]);
    let r = form(fields, false).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let url = r.headers()["location"]
        .to_str()
        .unwrap()
        .replace("/requests/", "/api/v1/requests/")
        .replace("?filed=1", "");
    let (_, req) = app.get(&url, None).await;
    let names: Vec<String> = req["reports"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|x| x["attachments"].as_array().cloned().unwrap_or_default())
        .map(|a| a["filename"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["drain.png".to_string()], "{req}");
    // However often the form comes back, one report's worth of files is kept, not more: the
    // files kept so far stay ticked and three more are sent each time.
    let mut ticked: Vec<String> = Vec::new();
    for round in 0..3 {
        let mut f = reqwest::multipart::Form::new()
            .text("_csrf", csrf.clone())
            .text("upload_token", "f".repeat(64))
            .text("action", "check");
        for id in &ticked {
            f = f.text("keep", id.clone());
        }
        for i in 0..3 {
            f = f.part(
                "attachments",
                reqwest::multipart::Part::bytes(PNG.to_vec()).file_name(format!("more{round}{i}.png")),
            );
        }
        let html = browser
            .post(app.url("/f/x2/new"))
            .multipart(f)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        ticked = html
            .split("name=\"keep\" value=\"")
            .skip(1)
            .map(|p| p.split('"').next().unwrap().to_string())
            .collect();
        assert_eq!(ticked.len(), 3, "round {round}: {} files parked", ticked.len());
    }
}
both_backends!(a_refused_report_keeps_its_files, refused_form_keeps_files);

/// The kinds of `token`'s notifications whose subject is `subject`, oldest first.
async fn notified(app: &TestApp, token: &str, subject: &str) -> Vec<String> {
    let (s, n) = app.get("/api/v1/notifications", Some(token)).await;
    assert_eq!(s, StatusCode::OK, "{n}");
    let mut kinds: Vec<String> = n["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["subject"] == subject)
        .map(|x| x["kind"].as_str().unwrap().to_string())
        .collect();
    kinds.reverse();
    kinds
}

/// Watching a request from its page: its comments and status changes reach the watcher (not
/// the commenter), stopping stops them, and a merge carries the watchers over.
async fn watching_requests(app: &TestApp) {
    let (_admin, staff) = setup(app).await;
    let reporter = app.user("wr_reporter").await;
    let (s, r1) = report(
        app,
        &reporter,
        bug("Camera app freezes on launch", "Freezes at start", None),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r1}");
    let first = r1["request_id"].as_i64().unwrap();
    let (s, r2) = report(
        app,
        &reporter,
        bug("Screen flickers at low brightness", "Flicker under 10%", None),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r2}");
    let second = r2["request_id"].as_i64().unwrap();
    assert_ne!(first, second, "{r2}");
    let watcher_token = app.user("wr_watcher").await;
    let (watcher, _) = app.browser_as("wr_watcher", "password123").await;
    let watch = |id: i64, on: &'static str| {
        let watcher = watcher.clone();
        async move {
            let page = format!("/requests/{id}");
            let csrf = common::csrf_of(app, &watcher, &page).await;
            let r = watcher
                .post(app.url(&format!("{page}/watch")))
                .form(&[("on", on), ("_csrf", csrf.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            watcher.get(app.url(&page)).send().await.unwrap().text().await.unwrap()
        }
    };
    let page = watch(first, "1").await;
    assert!(page.contains("id=\"watch-note\""), "the button says it is on");
    let comment = |id: i64, who: String| async move {
        let (s, e) = app
            .post(
                &format!("/api/v1/requests/{id}/comments"),
                &who,
                json!({"body": "Reproduced on 3.2.1"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
    };
    comment(first, staff.clone()).await;
    comment(first, watcher_token.clone()).await; // one's own comment tells nobody but others
    let (s, _) = app
        .post(
            &format!("/api/v1/requests/{first}/status"),
            &staff,
            json!({"status": "acknowledged"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        notified(app, &watcher_token, "Camera app freezes on launch").await,
        vec!["watching", "status_changed"]
    );
    // The reporter did not watch: told of the status change only (as before).
    assert_eq!(
        notified(app, &reporter, "Camera app freezes on launch").await,
        vec!["status_changed"]
    );
    watch(first, "0").await;
    comment(first, staff.clone()).await;
    assert_eq!(
        notified(app, &watcher_token, "Camera app freezes on launch")
            .await
            .len(),
        2,
        "stopped"
    );

    // Watching the second, which is then merged into the first: the watcher now watches the first.
    watch(second, "1").await;
    let (s, e) = app
        .post(
            &format!("/api/v1/requests/{second}/merge"),
            &staff,
            json!({"into": first}),
        )
        .await;
    assert!(s.is_success(), "{e}");
    let page = watcher
        .get(app.url(&format!("/requests/{first}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"watch-note\""), "the merge carried the watch over");
    // Watching a request that does not exist is a 404, not a row.
    let csrf = common::csrf_of(app, &watcher, &format!("/requests/{first}")).await;
    let r = watcher
        .post(app.url("/requests/999999/watch"))
        .form(&[("on", "1"), ("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

both_backends!(watching_a_request_from_its_page, watching_requests);
