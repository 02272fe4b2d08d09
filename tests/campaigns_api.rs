//! Hashtag campaigns over HTTP, on SQLite and PostgreSQL: settings are checked, fans file
//! entries with images and vote within their limits, moderators hide entries, staff pick
//! winners once it has ended, and the dashboard's actuals are counted from the right sources.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use common::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const HOUR: i64 = 3_600_000;

fn now_ms() -> i64 {
    fanloop_platform::db::now_ms()
}

/// The smallest valid PNG (1×1), so that uploads are real images.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D,
    0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

fn image(name: &str, data: &[u8]) -> Value {
    json!({"filename": name, "data_base64": base64::engine::general_purpose::STANDARD.encode(data)})
}

fn campaign_body(slug: &str, starts_at: i64, ends_at: i64) -> Value {
    json!({
        "slug": slug, "title": "小米影像大赛 · Photo week", "description": "Shoot the city at night.",
        "hashtag": "#小米影像大赛#", "starts_at": starts_at, "ends_at": ends_at,
        "targets": {"exposure": 200_000, "page_views": 10, "entries": 4, "orders": 4, "revenue_cents": 799_800},
        "max_entries_per_account": 2, "max_votes_per_account": 2, "drops": ["x2-campaign"]
    })
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::PUT, path, Some(token), Some(body)).await
}

async fn buy(app: &TestApp, token: &str, variant: i64, key: &str) -> Value {
    let r = app
        .api()
        .post(app.url("/api/v1/drops/x2-campaign/purchase"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&json!({"variant_id": variant}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

async fn campaign_lifecycle(app: &TestApp) {
    let admin = app.user("admin").await;
    let (ann, bob, cat, dan) = (
        app.user("ann").await,
        app.user("bob").await,
        app.user("cat").await,
        app.user("dan").await,
    );
    let now = now_ms();
    let (starts, ends) = (now - 2 * HOUR, now + 2 * HOUR);

    // A drop on sale now, whose orders count toward the campaign.
    let (s, d) = app
        .post(
            "/api/v1/drops",
            &admin,
            json!({
                "slug": "x2-campaign", "name": "Aurora X2", "price_cents": 399_900, "per_account_limit": 1,
                "reservations_open_at": now - 60_000, "reservations_close_at": now - 1_000,
                "fcode_opens_at": now - 1_000, "opens_at": now - 1_000, "closes_at": now + HOUR,
                "mode": {"kind": "open"}, "payment_seconds": 600,
                "variants": [{"name": "Black", "stock": 10, "fcode_stock": 0}]
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let variant = d["variants"][0]["id"].as_i64().unwrap();

    // Settings are checked; nothing is stored when they are wrong.
    let (s, e) = app
        .post("/api/v1/campaigns", &ann, campaign_body("photo-week", starts, ends))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    for (change, what) in [
        (json!({"ends_at": starts}), "start before it ends"),
        (json!({"hashtag": "shot on fan"}), "hashtag"),
        (json!({"targets": {}}), "at least one target"),
        (json!({"drops": ["nope"]}), "no drop nope"),
        (json!({"slug": "Photo Week"}), "slug"),
        (json!({"currency": "EUR"}), "sells in CNY"),
        (json!({"max_votes_per_account": 0}), "votes per account"),
    ] {
        let mut body = campaign_body("photo-week", starts, ends);
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, e) = app.post("/api/v1/campaigns", &admin, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{change}: {e}");
        assert!(e["message"].as_str().unwrap().contains(what), "{change}: {e}");
    }
    let (s, list) = app.get("/api/v1/campaigns", None).await;
    assert_eq!((s, list.as_array().unwrap().len()), (StatusCode::OK, 0));
    let (s, c) = app
        .post("/api/v1/campaigns", &admin, campaign_body("photo-week", starts, ends))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["hashtag"], "#小米影像大赛#");
    assert_eq!(c["targets"]["entries"], 4);
    let (s, _) = app
        .post("/api/v1/campaigns", &admin, campaign_body("photo-week", starts, ends))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, public) = app.get("/api/v1/campaigns/photo-week", Some(&ann)).await;
    assert!(
        public["campaign"].get("targets").is_none(),
        "targets are staff information"
    );
    assert_eq!(public["phase"], "open");
    assert_eq!(public["entries_left"], 2);

    // Entries: text and 1–4 real images, within the account's limit.
    let entries = "/api/v1/campaigns/photo-week/entries";
    let (s, a1) = app
        .post(
            entries,
            &ann,
            json!({"text": "外滩夜景 night at the Bund", "images": [image("a.png", PNG), image("b.png", PNG)]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a1}");
    assert!(a1["text"].as_str().unwrap().starts_with("#小米影像大赛# "), "{a1}");
    assert_eq!(a1["images"].as_array().unwrap().len(), 2);
    let img = app
        .api()
        .get(app.url(a1["images"][0].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(img.headers()["content-type"], "image/png");
    assert_eq!(img.bytes().await.unwrap().as_ref(), PNG);
    for (body, what) in [
        (
            json!({"text": "x", "images": [image("log.png", b"not an image at all")]}),
            "only PNG",
        ),
        (json!({"text": "x", "images": []}), "at least one image"),
        (
            json!({"text": "x", "images": vec![image("a.png", PNG); 5]}),
            "at most 4",
        ),
        (json!({"text": " ", "images": [image("a.png", PNG)]}), "text"),
        (
            json!({"text": "x", "images": [{"filename": "a.png", "data_base64": "%%%"}]}),
            "base64",
        ),
    ] {
        let (s, e) = app.post(entries, &ann, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {e}");
        assert!(e["message"].as_str().unwrap().contains(what), "{what}: {e}");
    }
    let (s, _) = app
        .call(
            Method::POST,
            entries,
            None,
            Some(json!({"text": "x", "images": [image("a.png", PNG)]})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, a2) = app
        .post(
            entries,
            &ann,
            json!({"text": "Rain on Nanjing Road #小米影像大賽#", "images": [image("c.png", PNG)]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(
        !a2["text"].as_str().unwrap().starts_with("#小米影像大赛#"),
        "the tag was there already (traditional)"
    );
    let (s, e) = app
        .post(entries, &ann, json!({"text": "third", "images": [image("d.png", PNG)]}))
        .await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::FORBIDDEN, Some("entry_limit")));
    // A JPEG's GPS position does not reach the public.
    let photo = fanloop_listening::campaigns::domain::jpeg_with_gps();
    let (s, b1) = app
        .post(
            entries,
            &bob,
            json!({"text": "Lujiazui", "images": [image("gps.jpg", &photo)]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b1}");
    let served = app
        .api()
        .get(app.url(b1["images"][0].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(served.headers()["content-type"], "image/jpeg");
    let served = served.bytes().await.unwrap();
    assert_eq!(served.len(), photo.len());
    let latitude_seconds = 1234u32.to_le_bytes();
    assert!(photo.windows(4).any(|w| w == latitude_seconds));
    assert!(
        !served.windows(4).any(|w| w == latitude_seconds),
        "the latitude is gone"
    );
    let (_, c1) = app
        .post(
            entries,
            &cat,
            json!({"text": "Yu Garden", "images": [image("f.png", PNG)]}),
        )
        .await;
    let id = |v: &Value| v["id"].as_i64().unwrap();
    let vote = |entry: i64| format!("/api/v1/campaigns/photo-week/entries/{entry}/vote");

    // Votes: not for yourself, once per entry, at most two per account, and they can be taken back.
    let (s, e) = app.call(Method::POST, &vote(id(&a1)), Some(&ann), None).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::FORBIDDEN, Some("own_entry")));
    for _ in 0..2 {
        let (s, v) = app.call(Method::POST, &vote(id(&a1)), Some(&bob), None).await;
        assert_eq!(
            (s, v["votes"].as_i64()),
            (StatusCode::OK, Some(1)),
            "a repeated vote counts once"
        );
    }
    let (s, _) = app.call(Method::POST, &vote(id(&a2)), Some(&bob), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = app.call(Method::POST, &vote(id(&c1)), Some(&bob), None).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::FORBIDDEN, Some("vote_limit")));
    let (s, v) = app.call(Method::DELETE, &vote(id(&a2)), Some(&bob), None).await;
    assert_eq!(
        (s, v["votes"].as_i64(), v["voted"].as_bool()),
        (StatusCode::OK, Some(0), Some(false))
    );
    let (s, _) = app.call(Method::POST, &vote(id(&c1)), Some(&bob), None).await;
    assert_eq!(s, StatusCode::OK, "the vote taken back freed a slot");
    // Concurrent votes from one account cannot pass its limit.
    let tries = [id(&a1), id(&a2), id(&b1), id(&c1)].map(|e| {
        let (app_url, token) = (app.url(&vote(e)), dan.clone());
        async move { app_url_post(&app_url, &token).await }
    });
    let counted = futures::future::join_all(tries)
        .await
        .into_iter()
        .filter(|s| *s == StatusCode::OK)
        .count();
    assert_eq!(counted, 2, "exactly the limit of concurrent votes counted");
    let (_, page) = app.get(&format!("{entries}?sort=top"), Some(&bob)).await;
    let listed: Vec<(i64, i64, bool)> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_i64().unwrap(),
                e["votes"].as_i64().unwrap(),
                e["voted"].as_bool().unwrap(),
            )
        })
        .collect();
    let total_votes: i64 = listed.iter().map(|(_, v, _)| v).sum();
    assert_eq!(total_votes, 4, "bob's 2 and dan's 2: {listed:?}");
    assert!(listed.windows(2).all(|w| w[0].1 >= w[1].1), "most votes first");
    assert!(
        listed.iter().any(|(e, _, voted)| *e == id(&a1) && *voted),
        "bob sees his vote"
    );

    // Moderation: a hidden entry leaves the gallery and the counts, and its images go private.
    let moderation = format!("/api/v1/campaigns/photo-week/entries/{}/moderation", id(&b1));
    let (s, _) = put(app, &moderation, &ann, json!({"hidden": true, "reason": "not a photo"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = put(app, &moderation, &admin, json!({"hidden": true})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a reason is required");
    let (s, hidden) = put(
        app,
        &moderation,
        &admin,
        json!({"hidden": true, "reason": "not a photo"}),
    )
    .await;
    assert_eq!((s, hidden["hidden"].as_bool()), (StatusCode::OK, Some(true)));
    let (_, page) = app.get(entries, None).await;
    assert_eq!(page["total"], 3);
    // Votes for the hidden entry went back to their voters.
    let (_, page) = app.get(entries, Some(&dan)).await;
    let dan_votes = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["voted"] == true)
        .count() as i64;
    let (_, view) = app.get("/api/v1/campaigns/photo-week", Some(&dan)).await;
    assert_eq!(view["votes_left"].as_i64().unwrap(), 2 - dan_votes, "{view}");
    let hidden_image = app.url(b1["images"][0].as_str().unwrap());
    assert_eq!(
        app.api().get(&hidden_image).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let staff_sees = app.api().get(&hidden_image).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(staff_sees.status(), StatusCode::OK);

    // Entries are on-site posts under the hashtag: trending reads them (hidden ones excepted).
    let (s, trending) = app.get("/api/v1/trending?source=forum", Some(&admin)).await;
    assert_eq!(s, StatusCode::OK);
    let tag = trending["trends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["term"] == "#小米影像大赛#")
        .unwrap_or_else(|| panic!("{trending}"));
    assert_eq!(tag["total"], 3);

    // Page views: visitors and fans count, staff do not.
    for _ in 0..5 {
        let r = app.api().get(app.url("/campaigns/photo-week")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let (staff_browser, _) = app.signed_in_browser("admin").await;
    staff_browser
        .get(app.url("/campaigns/photo-week"))
        .send()
        .await
        .unwrap();

    // Exposure: imported social posts carrying the hashtag, with their authors' followers.
    let posts = [
        (now - HOUR, "#小米影像大赛# 我的参赛作品", 50_000),
        (now - HOUR + 60_000, "投稿 #小米影像大賽# 夜景", 50_000),
        (now - HOUR + 120_000, "小米影像大赛 without the tag", 1_000_000),
        (now - 3 * HOUR, "#小米影像大赛# before the campaign", 1_000_000),
    ];
    let body: Vec<String> = posts
        .iter()
        .enumerate()
        .map(|(i, (t, text, f))| {
            json!({"handle": "city_lens", "platform": "weibo", "time": t, "text": text, "followers": f, "id": format!("p{i}")})
                .to_string()
        })
        .collect();
    let r = app
        .api()
        .post(app.url("/api/v1/vetting/imports?file_name=city_lens.jsonl"))
        .bearer_auth(&admin)
        .header("content-type", "text/plain")
        .body(body.join("\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());

    // Orders on the linked drop: one paid, one pending.
    let paid = buy(app, &ann, variant, "k1").await;
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/orders/{}/pay", paid["id"]),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    buy(app, &bob, variant, "k1").await;

    // Figures recorded by staff, checked.
    let adjustments = "/api/v1/campaigns/photo-week/adjustments";
    for (body, status) in [
        (
            json!({"metric": "exposure", "amount": 0, "note": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"metric": "exposure", "amount": 5, "note": " "}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"metric": "exposure", "amount": 5, "note": "x", "at": ends + 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"metric": "likes", "amount": 5, "note": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (s, e) = app.post(adjustments, &admin, body.clone()).await;
        assert_eq!(s, status, "{body}: {e}");
    }
    let (s, _) = app
        .post(
            adjustments,
            &ann,
            json!({"metric": "exposure", "amount": 5, "note": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, a) = app
        .post(
            adjustments,
            &admin,
            json!({"metric": "exposure", "amount": 10_000, "note": "Weibo topic page views"}),
        )
        .await;
    assert_eq!(
        (s, a["created_by"].as_str()),
        (StatusCode::CREATED, Some("admin")),
        "{a}"
    );

    // The dashboard, for staff only.
    let (s, _) = app.get("/api/v1/campaigns/photo-week/dashboard", Some(&ann)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, dash) = app.get("/api/v1/campaigns/photo-week/dashboard", Some(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{dash}");
    let metric = |name: &str| -> Value {
        dash["progress"]["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(metric("entries")["actual"], 3, "the hidden entry does not count");
    assert_eq!(metric("entries")["completion_pct"], 75.0);
    assert_eq!(
        metric("entries")["completion_by_day"].as_array().unwrap().last(),
        Some(&json!(75.0))
    );
    assert!(metric("exposure").get("completion_by_day").is_some());
    assert_eq!(metric("page_views")["actual"], 5, "staff views are not counted");
    assert_eq!(
        metric("exposure")["actual"],
        5 + 2 * 50_000 + 10_000,
        "{}",
        dash["sources"]
    );
    assert_eq!(metric("orders")["actual"], 2);
    assert_eq!(metric("revenue")["actual"], 399_900, "only the paid order");
    assert_eq!(metric("revenue")["completion_pct"], 50.0);
    assert_eq!(dash["sources"]["imported_posts"], 2);
    for m in dash["progress"]["metrics"].as_array().unwrap() {
        assert_eq!(m["cumulative"].as_array().unwrap().last(), Some(&m["actual"]), "{m}");
    }

    // Winners: only once it has ended, only shown entries; winners are told.
    let winners = "/api/v1/campaigns/photo-week/winners";
    let picks =
        json!({"winners": [{"entry_id": id(&a1), "prize": "一等奖 · Aurora X2"}, {"entry_id": id(&c1), "prize": ""}]});
    let (s, e) = put(app, winners, &admin, picks.clone()).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::CONFLICT, Some("not_ended")));
    let mut ended = campaign_body("photo-week", starts, now - 1);
    ended["max_entries_per_account"] = json!(2);
    let (s, e) = put(app, "/api/v1/campaigns/photo-week", &admin, ended).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, e) = app.call(Method::POST, &vote(id(&c1)), Some(&ann), None).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::CONFLICT, Some("ended")));
    let (s, e) = app
        .post(entries, &cat, json!({"text": "late", "images": [image("g.png", PNG)]}))
        .await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::CONFLICT, Some("ended")));
    let (s, _) = put(
        app,
        winners,
        &admin,
        json!({"winners": [{"entry_id": id(&b1), "prize": ""}]}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a hidden entry cannot win");
    let (s, _) = put(app, winners, &ann, picks.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, w) = put(app, winners, &admin, picks.clone()).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!(
        (w[0]["author"].as_str(), w[0]["winner_rank"].as_i64()),
        (Some("ann"), Some(1))
    );
    let (_, notes) = app.get("/api/v1/notifications", Some(&ann)).await;
    let won: Vec<&Value> = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "campaign_winner")
        .collect();
    assert_eq!(won.len(), 1, "{notes}");
    assert!(won[0]["subject"].as_str().unwrap().contains("一等奖"));
    let (_, again) = put(app, winners, &admin, picks).await;
    assert_eq!(again.as_array().unwrap().len(), 2);
    let (_, notes) = app.get("/api/v1/notifications", Some(&ann)).await;
    let count = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "campaign_winner")
        .count();
    assert_eq!(count, 1, "re-announcing does not notify twice");
    let (_, public) = app.get("/api/v1/campaigns/photo-week", None).await;
    assert_eq!(
        (public["phase"].as_str(), public["winners"].as_array().unwrap().len()),
        (Some("ended"), 2)
    );
}

async fn app_url_post(url: &str, token: &str) -> StatusCode {
    reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

both_backends!(
    campaigns_take_entries_votes_and_winners_and_count_actuals,
    campaign_lifecycle
);

/// The pages: a fan enters through the form with an image, votes; staff read the dashboard.
#[tokio::test]
async fn campaign_pages_take_entries_votes_and_show_the_dashboard() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = app.user("admin").await;
    app.user("ann").await;
    app.user("bob").await;
    let now = now_ms();
    let mut body = campaign_body("night-shots", now - HOUR, now + HOUR);
    body["drops"] = json!([]);
    body["hashtag"] = json!("ShotOnFan");
    let (s, e) = app.post("/api/v1/campaigns", &admin, body).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");

    let (ann, csrf) = app.signed_in_browser("ann").await;
    let form = reqwest::multipart::Form::new()
        .text("_csrf", csrf.clone())
        .text("text", "Neon and rain")
        .part(
            "images",
            reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("rain.png"),
        );
    let r = ann
        .post(app.url("/campaigns/night-shots/entries"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let form = reqwest::multipart::Form::new()
        .text("_csrf", csrf.clone())
        .text("text", "not a picture")
        .part(
            "images",
            reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("notes.txt"),
        );
    let r = ann
        .post(app.url("/campaigns/night-shots/entries"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("only PNG, JPEG or WebP") && page.contains("not a picture"),
        "error shown, text kept"
    );

    let (_, list) = app.get("/api/v1/campaigns/night-shots/entries", None).await;
    let entry = list["entries"][0]["id"].as_i64().unwrap();
    assert_eq!(list["entries"][0]["text"], "#ShotOnFan Neon and rain");
    let (bob, bob_csrf) = app.signed_in_browser("bob").await;
    let r = bob
        .post(app.url(&format!("/campaigns/night-shots/entries/{entry}/vote")))
        .form(&[("_csrf", bob_csrf.as_str()), ("action", "vote")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = bob
        .get(app.url("/campaigns/night-shots"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("进行中") && page.contains("data-unvote"),
        "zh page, bob's vote shown"
    );
    assert!(page.contains("#ShotOnFan Neon and rain"));

    let (staff, staff_csrf) = app.signed_in_browser("admin").await;
    let dash = staff
        .get(app.url("/campaigns/night-shots/dashboard"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        dash.contains("data-metric=\"entries\" data-actual=\"1\" data-target=\"4\" data-completion=\"25.0\""),
        "{dash}"
    );
    let r = bob
        .get(app.url("/campaigns/night-shots/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A refused settings form keeps what was typed and says why.
    let r = staff
        .post(app.url("/campaigns/night-shots/settings"))
        .form(&[
            ("_csrf", staff_csrf.as_str()),
            ("title", "Night shots"),
            ("hashtag", "ShotOnFan"),
            ("starts", "2026-12-10"),
            ("ends", "2026-12-01"),
            ("entries", "40"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("must start before it ends") && page.contains("2026-12-10"));
    let r = staff
        .post(app.url("/campaigns/night-shots/adjustments"))
        .form(&[
            ("_csrf", staff_csrf.as_str()),
            ("metric", "revenue"),
            ("amount", "1,234.50"),
            ("date", &fanloop_platform::web::format_datetime(now)[..10]),
            ("note", "Partner shop"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, dash) = app.get("/api/v1/campaigns/night-shots/dashboard", Some(&admin)).await;
    let revenue = dash["progress"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "revenue")
        .unwrap()["actual"]
        .clone();
    assert_eq!(revenue, 123_450);
    app.stop().await;
}
