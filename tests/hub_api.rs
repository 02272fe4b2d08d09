//! The knowledge hub over HTTP, on SQLite and PostgreSQL: staff define segments (a choice, and
//! a stage from a due date), members say what fits them, staff and experts write targeted and
//! scheduled articles and a weekly series; "for you" follows the member's stage as the hub's
//! clock moves (the test moves it, it does not sleep); search finds Chinese in either script
//! and English word forms; bad input is a 4xx that leaves nothing behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, Events, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const DAY: i64 = 86_400_000;

async fn call_lang(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    lang: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app.api().request(method, app.url(path)).header("accept-language", lang);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}: {text}");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::PUT, path, Some(token), Some(body)).await
}

fn slugs(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap().to_string())
        .collect()
}

fn pregnancy() -> Value {
    json!({"key": "pregnancy", "kind": "stage", "names": {"en": "Pregnancy", "zh": "孕期", "fr": "Grossesse"},
        "date_prompt": {"en": "Due date", "zh": "预产期"}, "unit": "week", "offset": 40, "min": 1, "max": 42})
}

fn device() -> Value {
    json!({"key": "device", "kind": "choice", "names": {"en": "Device owned", "zh": "我的设备"},
        "choices": [{"key": "washer", "names": {"en": "Washing machine", "zh": "洗衣机"}},
                    {"key": "phone", "names": {"en": "Phone", "zh": "手机"}}]})
}

fn article(slug: &str, lang: &str, title: &str, body: &str, targets: Value) -> Value {
    json!({"slug": slug, "lang": lang, "title": title, "summary": "", "body": body, "targets": targets})
}

async fn hub_lifecycle(app: &TestApp) {
    let admin = app.user("admin").await;
    let mei = app.user("mei").await;
    let nurse = app.user("nurse_lin").await;
    let tom = app.user("tom").await;

    // Segments: staff only, checked, unique, nothing half-written on refusal.
    let (s, _) = app.post("/api/v1/hub/segments", &tom, pregnancy()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for bad in [
        json!({"key": "X", "kind": "choice", "names": {"en": "x"}, "choices": [{"key": "a1", "names": {"en": "A"}}]}),
        json!({"key": "sizes", "kind": "colour", "names": {"en": "x"}}),
        json!({"key": "sizes", "kind": "choice", "names": {"en": "Sizes"}, "choices": []}),
        json!({"key": "sizes", "kind": "choice", "names": {"en": "Sizes"},
               "choices": [{"key": "s1", "names": {"en": "S"}}, {"key": "s1", "names": {"en": "S again"}}]}),
        json!({"key": "sizes", "kind": "choice", "names": {}, "choices": [{"key": "s1", "names": {"en": "S"}}]}),
        json!({"key": "age", "kind": "stage", "names": {"en": "Age"}, "date_prompt": {"en": "Birth"}, "unit": "year", "min": 0, "max": 3}),
        json!({"key": "age", "kind": "stage", "names": {"en": "Age"}, "date_prompt": {"en": "Birth"}, "unit": "month", "min": 5, "max": 3}),
        json!({"key": "age", "kind": "stage", "names": {"en": "Age"}, "unit": "month", "min": 0, "max": 3}),
        json!({"key": "age", "kind": "stage", "names": {"en": "\u{0}\u{1}"}, "date_prompt": {"en": "Birth"}, "unit": "month", "min": 0, "max": 3}),
    ] {
        let (s, e) = app.post("/api/v1/hub/segments", &admin, bad.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {e}");
        assert_eq!(e["error"], "validation_failed");
    }
    let (s, p) = app.post("/api/v1/hub/segments", &admin, pregnancy()).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["rule"]["offset"], 40);
    let (s, _) = app.post("/api/v1/hub/segments", &admin, device()).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, e) = app.post("/api/v1/hub/segments", &admin, device()).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::CONFLICT, Some("key_taken")));
    let (_, all) = app.get("/api/v1/hub/segments", None).await;
    assert_eq!(all.as_array().unwrap().len(), 2, "refused segments left nothing: {all}");
    // A segment keeps its kind; its names and choices may change.
    let (s, _) = put(app, "/api/v1/hub/segments/device", &admin, pregnancy()).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Experts and a series.
    let (s, e) = app
        .post(
            "/api/v1/hub/experts",
            &admin,
            json!({"username": "nobody_here", "field": "Sleep"}),
        )
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"))
    );
    let (s, x) = app
        .post(
            "/api/v1/hub/experts",
            &admin,
            json!({"username": "nurse_lin", "field": "Paediatric nurse", "bio": "Ten years."}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{x}");
    let (s, _) = app
        .post(
            "/api/v1/hub/series",
            &admin,
            json!({"slug": "weekly", "lang": "en", "title": "Week by week", "dimension": "device"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a series unfolds along a stage segment"
    );
    let (s, _) = app
        .post(
            "/api/v1/hub/series",
            &admin,
            json!({"slug": "weekly", "lang": "en", "title": "Week by week", "dimension": "pregnancy"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    // Writing: staff and experts only; targets and series are checked.
    let week = |n: i64| {
        let mut a = article(
            &format!("week-{n}"),
            "en",
            &format!("Week {n} of your pregnancy"),
            &format!("What happens in **week {n}**."),
            json!([{"dimension": "pregnancy", "from": n, "to": n}]),
        );
        a["series"] = json!("weekly");
        a
    };
    let (s, _) = app.post("/api/v1/hub/articles", &tom, week(12)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for (bad, why) in [
        (
            {
                let mut a = week(12);
                a["targets"] = json!([]);
                a
            },
            "a series article targets a stage",
        ),
        (
            {
                let mut a = week(12);
                a["lang"] = json!("zh");
                a
            },
            "a series article is in its language",
        ),
        (
            {
                let mut a = week(12);
                a["targets"] = json!([{"dimension": "pregnancy", "from": 0, "to": 3}]);
                a
            },
            "stage 0 does not exist",
        ),
        (
            {
                let mut a = week(12);
                a["targets"] = json!([{"dimension": "pregnancy", "from": 12, "to": 12}, {"dimension": "device", "choices": ["dryer"]}]);
                a
            },
            "no such choice",
        ),
        (
            {
                let mut a = week(12);
                a["lang"] = json!("de");
                a["series"] = Value::Null;
                a
            },
            "language",
        ),
        (
            {
                let mut a = week(12);
                a["title"] = json!("  ");
                a
            },
            "title",
        ),
        (
            {
                let mut a = week(12);
                a["body"] = json!("x".repeat(50_001));
                a
            },
            "body",
        ),
        (
            {
                let mut a = week(12);
                a["publish_at"] = json!(-5);
                a
            },
            "publish time",
        ),
        (
            {
                let mut a = week(12);
                a["slug"] = json!("Week 12");
                a
            },
            "slug",
        ),
    ] {
        let (s, e) = app.post("/api/v1/hub/articles", &nurse, bad).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {e}");
    }
    for n in [12, 13] {
        let (s, a) = app.post("/api/v1/hub/articles", &nurse, week(n)).await;
        assert_eq!(s, StatusCode::CREATED, "{a}");
        assert_eq!(a["author"]["expert_field"], "Paediatric nurse");
    }
    let (s, e) = app.post("/api/v1/hub/articles", &nurse, week(12)).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::CONFLICT, Some("key_taken")));
    let washer = article(
        "laundry",
        "en",
        "Washing baby clothes",
        "Use the hygiene cycle for the batteries of tiny socks.",
        json!([{"dimension": "device", "choices": ["washer"]}]),
    );
    assert_eq!(
        app.post("/api/v1/hub/articles", &admin, washer).await.0,
        StatusCode::CREATED
    );
    let general = article("welcome", "en", "Welcome", "Hello everyone.", json!([]));
    assert_eq!(
        app.post("/api/v1/hub/articles", &admin, general).await.0,
        StatusCode::CREATED
    );
    let mut later = article("coming-soon", "en", "Coming soon", "Soon.", json!([]));
    later["publish_at"] = json!(app.hub.clock.now_ms() + 2 * DAY);
    let (s, l) = app.post("/api/v1/hub/articles", &admin, later.clone()).await;
    assert_eq!((s, l["scheduled"].as_bool()), (StatusCode::CREATED, Some(true)));
    // Fixing a typo without naming a time keeps it scheduled.
    later.as_object_mut().unwrap().remove("publish_at");
    later["body"] = json!("Soon, really.");
    let (s, l) = put(app, "/api/v1/hub/articles/coming-soon", &admin, later).await;
    assert_eq!((s, l["scheduled"].as_bool()), (StatusCode::OK, Some(true)), "{l}");
    let zh = article(
        "battery-zh",
        "zh",
        "電池續航與夜景模式",
        "拍夜景時電池掉得快：關閉後台應用。",
        json!([]),
    );
    assert_eq!(
        app.post("/api/v1/hub/articles", &admin, zh).await.0,
        StatusCode::CREATED
    );

    // A member tells the hub her due date (week 12 today, for three more days) and her washer.
    let due = app.hub.clock.day_in(28 * 7 - 3);
    let facts =
        json!({"facts": [{"dimension": "pregnancy", "date": due}, {"dimension": "device", "choice": "washer"}]});
    for (bad, code) in [
        (
            json!({"facts": [{"dimension": "pregnancy", "date": "30/06/2027"}]}),
            "validation_failed",
        ),
        (
            json!({"facts": [{"dimension": "pregnancy", "date": app.hub.clock.day_in(400)}]}),
            "validation_failed",
        ),
        (
            json!({"facts": [{"dimension": "pregnancy", "choice": "washer"}]}),
            "validation_failed",
        ),
        (
            json!({"facts": [{"dimension": "device", "choice": "dryer"}]}),
            "validation_failed",
        ),
        (
            json!({"facts": [{"dimension": "shoe_size", "choice": "42"}]}),
            "validation_failed",
        ),
        (
            json!({"facts": [{"dimension": "device", "choice": "washer"}, {"dimension": "device", "choice": "phone"}]}),
            "validation_failed",
        ),
        (
            json!({"facts": [{"dimension": "device", "choice": "\u{202e}\u{0}😀".repeat(1000)}]}),
            "validation_failed",
        ),
    ] {
        let (s, e) = put(app, "/api/v1/hub/me", &mei, bad.clone()).await;
        assert_eq!(
            (s, e["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{bad}"
        );
    }
    let (s, me) = put(app, "/api/v1/hub/me", &mei, facts).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    let (_, me) = call_lang(app, Method::GET, "/api/v1/hub/me", Some(&mei), "zh-CN", None).await;
    let stage = me["facts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["dimension"] == "pregnancy")
        .unwrap()
        .clone();
    assert_eq!(
        (stage["stage"].as_i64(), stage["stage_label"].as_str()),
        (Some(12), Some("第 12 周"))
    );
    assert_eq!(stage["dimension_name"], "孕期");

    // For you: week 12 first (the narrowest fit), then the washer article, then everyone's;
    // not week 13, not what is scheduled, not other languages before hers.
    let (_, fy) = call_lang(app, Method::GET, "/api/v1/hub/for-you", Some(&mei), "en", None).await;
    assert_eq!(
        slugs(&fy["articles"]),
        ["week-12", "laundry", "welcome", "battery-zh"],
        "{fy}"
    );
    assert!(fy["profile"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "Pregnancy · week 12"));
    // Someone who said nothing sees only what is for everyone.
    let (_, fy) = call_lang(app, Method::GET, "/api/v1/hub/for-you", Some(&tom), "en", None).await;
    assert_eq!(slugs(&fy["articles"]), ["welcome", "battery-zh"]);

    // The scheduled article: hidden from members until its time, shown to staff.
    assert_eq!(
        app.get("/api/v1/hub/articles/coming-soon", Some(&mei)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/v1/hub/articles/coming-soon", Some(&admin)).await.0,
        StatusCode::OK
    );
    let (_, page) = app.get("/api/v1/hub/articles?lang=all", None).await;
    assert!(!slugs(&page["articles"]).contains(&"coming-soon".to_string()));
    let (_, page) = app.get("/api/v1/hub/articles?lang=all", Some(&admin)).await;
    assert!(
        slugs(&page["articles"]).contains(&"coming-soon".to_string()),
        "staff see what is scheduled"
    );

    // A week later her stage has moved by itself: week 13's article replaces week 12's.
    app.hub.clock.advance_days(7);
    let (_, fy) = call_lang(app, Method::GET, "/api/v1/hub/for-you", Some(&mei), "en", None).await;
    assert_eq!(slugs(&fy["articles"])[0], "week-13", "{fy}");
    assert!(!slugs(&fy["articles"]).contains(&"week-12".to_string()));
    let (_, series) = app.get("/api/v1/hub/series/weekly", Some(&mei)).await;
    assert_eq!(series["current_stage"], 13);
    let current: Vec<&Value> = series["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["current"] == true)
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["article"]["slug"], "week-13");
    let (_, a) = app.get("/api/v1/hub/articles/week-12", None).await;
    assert_eq!((a["next"].as_str(), a["previous"].as_str()), (Some("week-13"), None));

    // Staff change a series: the title and summary at any time, its language and segment only
    // while it has no articles (each of them is written in its language, along its segment).
    let change = |lang: &str, title: &str| json!({"lang": lang, "title": title, "summary": "Every week", "dimension": "pregnancy"});
    assert_eq!(
        put(app, "/api/v1/hub/series/weekly", &tom, change("en", "x")).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(app, "/api/v1/hub/series/nope", &admin, change("en", "x")).await.0,
        StatusCode::NOT_FOUND
    );
    let (s, e) = put(app, "/api/v1/hub/series/weekly", &admin, change("en", "  ")).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"))
    );
    let (s, e) = put(app, "/api/v1/hub/series/weekly", &admin, change("fr", "Semaine")).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::CONFLICT, Some("series_in_use")),
        "{e}"
    );
    let (s, v) = put(
        app,
        "/api/v1/hub/series/weekly",
        &admin,
        change("en", "Your pregnancy, week by week"),
    )
    .await;
    assert_eq!((s, v["slug"].as_str()), (StatusCode::OK, Some("weekly")), "{v}");
    let (_, series) = app.get("/api/v1/hub/series/weekly", Some(&mei)).await;
    assert_eq!(
        (
            series["title"].as_str(),
            series["summary"].as_str(),
            series["lang"].as_str()
        ),
        (Some("Your pregnancy, week by week"), Some("Every week"), Some("en")),
        "{series}"
    );
    let (_, a) = app.get("/api/v1/hub/articles/week-12", None).await;
    assert_eq!(a["series_title"], "Your pregnancy, week by week", "its articles follow");
    let (s, _) = app
        .post(
            "/api/v1/hub/series",
            &admin,
            json!({"slug": "empty-one", "lang": "en", "title": "Soon", "dimension": "pregnancy"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = put(app, "/api/v1/hub/series/empty-one", &admin, change("fr", "Bientôt")).await;
    assert_eq!(
        (s, v["lang"].as_str()),
        (StatusCode::OK, Some("fr")),
        "an empty series may change language"
    );

    // ... and now the scheduled article is out.
    let (s, a) = app.get("/api/v1/hub/articles/coming-soon", None).await;
    assert_eq!((s, a["scheduled"].as_bool()), (StatusCode::OK, Some(false)));

    // Search: simplified finds traditional, a compound finds its text, English word forms.
    for (q, expect) in [
        ("电池", vec!["battery-zh"]),
        ("夜景模式", vec!["battery-zh"]),
        ("续航", vec!["battery-zh"]),
        ("battery", vec!["laundry"]),
        ("Week 13", vec!["week-13"]),
        ("pregnancy", vec!["week-13", "week-12"]),
        ("nothing-matches-this", vec![]),
        ("\u{0}\u{1f}«»!!!", vec![]),
    ] {
        let path = format!("/api/v1/hub/articles?lang=all&q={}", urlencode(q));
        let (s, page) = app.get(&path, None).await;
        assert_eq!(s, StatusCode::OK, "{q}");
        let mut got = slugs(&page["articles"]);
        if q == "pregnancy" {
            got.sort();
            got.reverse();
        }
        assert_eq!(got, expect, "{q}");
    }
    let (s, _) = app
        .get(&format!("/api/v1/hub/articles?q={}", "字".repeat(201)), None)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Filters: by a choice, by a stage; an unknown value is a 422.
    let (_, page) = app.get("/api/v1/hub/articles?segment=device&value=washer", None).await;
    assert_eq!(slugs(&page["articles"]), ["laundry"]);
    let (_, page) = app.get("/api/v1/hub/articles?segment=pregnancy&value=13", None).await;
    assert_eq!(slugs(&page["articles"]), ["week-13"]);
    let (_, page) = app
        .get("/api/v1/hub/articles?segment=pregnancy&value=13&q=pregnancy", None)
        .await;
    assert_eq!(slugs(&page["articles"]), ["week-13"], "words and a filter together");
    let (_, page) = app
        .get("/api/v1/hub/articles?segment=device&value=washer&q=pregnancy", None)
        .await;
    assert!(slugs(&page["articles"]).is_empty());
    for bad in [
        "segment=device&value=dryer",
        "segment=pregnancy&value=x",
        "segment=shoes&value=1",
        "lang=de",
        "page=0",
    ] {
        let (s, _) = app.get(&format!("/api/v1/hub/articles?{bad}"), None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    // Editing: the author (while an expert) and staff; nobody else.
    let mut edited = week(12);
    edited["title"] = json!("Week 12: the end of the first trimester");
    assert_eq!(
        put(app, "/api/v1/hub/articles/week-12", &tom, edited.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, a) = put(app, "/api/v1/hub/articles/week-12", &nurse, edited.clone()).await;
    assert_eq!(
        (s, a["title"].as_str()),
        (StatusCode::OK, Some("Week 12: the end of the first trimester"))
    );
    let (s, _) = app
        .call(Method::DELETE, "/api/v1/hub/experts/nurse_lin", Some(&admin), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        put(app, "/api/v1/hub/articles/week-12", &nurse, edited.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post("/api/v1/hub/articles", &nurse, week(14)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(app, "/api/v1/hub/articles/week-12", &admin, edited).await.0,
        StatusCode::OK
    );

    // Forgetting: everything she told the hub is gone, and "for you" no longer uses it.
    let (s, me) = app.call(Method::DELETE, "/api/v1/hub/me", Some(&mei), None).await;
    assert_eq!((s, me["facts"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
    let (_, fy) = app.get("/api/v1/hub/for-you", Some(&mei)).await;
    assert!(!slugs(&fy["articles"])
        .iter()
        .any(|s| s.starts_with("week-") || s == "laundry"));
}

fn urlencode(s: &str) -> String {
    fanloop_community::domain::percent_encode(s)
}

both_backends!(hub_segments_stages_articles_and_search, hub_lifecycle);

/// The pages in Chinese: a member fills in her situation (a bad date is refused with what she
/// typed kept), sees her week on "for you", and staff write an article through the form.
#[tokio::test]
async fn hub_pages_take_a_members_situation_and_an_article() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = app.user("admin").await;
    app.user("mei").await;
    assert_eq!(
        app.post("/api/v1/hub/segments", &admin, pregnancy()).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        app.post("/api/v1/hub/segments", &admin, device()).await.0,
        StatusCode::CREATED
    );
    let a = article(
        "week-12",
        "zh",
        "孕 12 周",
        "本周：建档。",
        json!([{"dimension": "pregnancy", "from": 12, "to": 12}]),
    );
    assert_eq!(app.post("/api/v1/hub/articles", &admin, a).await.0, StatusCode::CREATED);

    let (mei, csrf) = app.signed_in_browser("mei").await;
    let zh = |r: reqwest::RequestBuilder| r.header("accept-language", "zh-CN");
    let r = zh(mei.post(app.url("/hub/me")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("f_pregnancy", "2027-13-45"),
            ("f_device", "washer"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("YYYY-MM-DD") && page.contains("2027-13-45"),
        "the refusal keeps what was typed"
    );
    assert!(page.contains("value=\"washer\" selected"));
    let due = app.hub.clock.day_in(28 * 7 - 3);
    let r = zh(mei.post(app.url("/hub/me")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("f_pregnancy", due.as_str()),
            ("f_device", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = zh(mei.get(app.url("/hub/me?saved=1")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("第 12 周") && page.contains("data-saved"));
    let page = zh(mei.get(app.url("/hub"))).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("孕期 · 第 12 周") && page.contains("data-article=\"week-12\""),
        "{page}"
    );
    // Members cannot write.
    let r = zh(mei.get(app.url("/hub/write"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Staff write through the form: a bad stage range is refused keeping the text.
    let (staff, staff_csrf) = app.signed_in_browser("admin").await;

    // Staff edit a segment on the manage page: a refused change keeps what was typed, with its
    // form open; a good one is saved (the key and kind stay).
    let edit = |min: &str, name_zh: &str| {
        vec![
            ("_csrf", staff_csrf.clone()),
            ("editing", "pregnancy".to_string()),
            ("kind", "stage".to_string()),
            ("name_en", "Pregnancy".to_string()),
            ("name_zh", name_zh.to_string()),
            ("name_fr", "Grossesse".to_string()),
            ("prompt_en", "Due date".to_string()),
            ("prompt_zh", "预产期".to_string()),
            ("prompt_fr", String::new()),
            ("unit", "week".to_string()),
            ("offset", "40".to_string()),
            ("min", min.to_string()),
            ("max", "42".to_string()),
        ]
    };
    let page = zh(staff.get(app.url("/hub/manage")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-edit-segment=\"pregnancy\"") && page.contains("value=\"孕期\""),
        "the edit form is filled with what is stored"
    );
    let r = zh(staff.post(app.url("/hub/manage/segments")))
        .form(&edit("50", "怀孕周数"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("value=\"怀孕周数\"") && page.contains("value=\"50\""),
        "kept as typed"
    );
    assert!(page.contains("阶段：偏移量"), "the reason, in Chinese");
    assert!(
        page.contains("<details open><summary>修改<span class=\"visually-hidden\">: 孕期"),
        "the refused edit form is open"
    );
    assert!(
        page.contains("<input name=\"key\" value=\"\" required"),
        "the new-segment form is not filled with the edit"
    );
    let r = zh(staff.post(app.url("/hub/manage/segments")))
        .form(&edit("1", "怀孕周数"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, dims) = app.get("/api/v1/hub/segments", None).await;
    let preg = dims
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == "pregnancy")
        .unwrap();
    assert_eq!(
        (preg["names"]["zh"].as_str(), preg["kind"].as_str()),
        (Some("怀孕周数"), Some("stage")),
        "{preg}"
    );
    // A series is created and renamed on the same page.
    let series_form = |editing: &str, title: &str| {
        vec![
            ("_csrf", staff_csrf.clone()),
            ("editing", editing.to_string()),
            ("slug", "weeks-zh".to_string()),
            ("lang", "zh".to_string()),
            ("title", title.to_string()),
            ("summary", String::new()),
            ("dimension", "pregnancy".to_string()),
        ]
    };
    for (editing, title) in [("", "孕期周周看"), ("weeks-zh", "孕期每周指南")] {
        let r = zh(staff.post(app.url("/hub/manage/series")))
            .form(&series_form(editing, title))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{editing}");
    }
    let (_, series) = app.get("/api/v1/hub/series/weeks-zh", None).await;
    assert_eq!(series["title"], "孕期每周指南", "{series}");
    let form = |from: &'static str| {
        vec![
            ("_csrf", staff_csrf.clone()),
            ("slug", "washer-tips".to_string()),
            ("lang", "zh".to_string()),
            ("title", "洗衣机小贴士".to_string()),
            ("summary", String::new()),
            ("body", "婴儿程序。".to_string()),
            ("publish_at", String::new()),
            ("from_pregnancy", from.to_string()),
            ("to_pregnancy", "20".to_string()),
            ("target", "device=washer".to_string()),
        ]
    };
    let r = zh(staff.post(app.url("/hub/write")))
        .form(&form("30"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("洗衣机小贴士") && page.contains("value=\"device=washer\" checked"));
    let r = zh(staff.post(app.url("/hub/write")))
        .form(&form("10"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, a) = app.get("/api/v1/hub/articles/washer-tips", None).await;
    assert_eq!(a["targets"].as_array().unwrap().len(), 2, "{a}");
    let get = |path: &'static str| {
        let staff = staff.clone();
        let url = app.url(path);
        async move {
            let r = staff.get(url).header("accept-language", "zh-CN").send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (_, page) = get("/hub?filter=device%3Dwasher&lang=all").await;
    assert!(page.contains("data-article=\"washer-tips\"") && !page.contains("data-article=\"week-12\""));
    assert!(
        page.contains("value=\"device=washer\" selected"),
        "the filter stays chosen"
    );
    let (_, page) = get("/hub?filter=pregnancy%3D12&lang=all").await;
    assert!(page.contains("data-article=\"week-12\"") && page.contains(">第 12 周</option>"));
    let (_, page) = get("/hub?q=").await;
    assert!(
        page.contains("data-results") && page.contains("data-article=\"washer-tips\""),
        "an empty search lists my language"
    );
    let (s, _) = get("/hub?filter=nonsense").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Asking an expert through the pages: the form, the waiting page, the queue.
    assert_eq!(
        app.post(
            "/api/v1/hub/experts",
            &admin,
            json!({"username": "admin", "field": "睡眠"})
        )
        .await
        .0,
        StatusCode::OK
    );
    let r = zh(mei.post(app.url("/hub/ask")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("field", "睡眠"),
            ("subject", ""),
            ("body", "夜醒"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text().await.unwrap().contains(">夜醒</textarea>"),
        "the question is kept"
    );
    let r = zh(mei.post(app.url("/hub/ask")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("field", "睡眠"),
            ("subject", "夜醒"),
            ("body", "正常吗？"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let question = r.headers()["location"].to_str().unwrap().to_string();
    for lang in ["zh-CN", "en", "fr"] {
        let r = mei
            .get(app.url(&question))
            .header("accept-language", lang)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{question} {lang}");
        let r = mei
            .get(app.url("/hub/ask"))
            .header("accept-language", lang)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "/hub/ask {lang}");
    }
    let page = zh(mei.get(app.url(&question)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("你的问题排在第 1 位"), "{page}");
    let r = staff.get(app.url(&question)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the field's expert sees it");
    // Once the field has an answered question, a new one shows an expected wait.
    app.hub.clock.advance_ms(90_000);
    let id: i64 = question.rsplit('/').next().unwrap().parse().unwrap();
    let (s, _) = app
        .post(
            &format!("/api/v1/hub/questions/{id}/messages"),
            &admin,
            json!({"body": "正常。"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let r = zh(mei.post(app.url("/hub/ask")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("field", "睡眠"),
            ("subject", "午睡"),
            ("body", "多久？"),
        ])
        .send()
        .await
        .unwrap();
    let second = r.headers()["location"].to_str().unwrap().to_string();
    let r = zh(mei.get(app.url(&second))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.text().await.unwrap().contains("预计等待约 2 分钟"),
        "90 s, rounded up"
    );
    // The staff page: its sections are in the page, not in its title.
    let page = staff
        .get(app.url("/hub/manage"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let title = &page[page.find("<title>").unwrap()..page.find("</title>").unwrap()];
    assert!(!title.contains('<') || title.len() < 200, "{title}");
    assert!(page.find("data-reach").unwrap() > page.find("<main").unwrap());
    assert!(page.find("data-response-times").unwrap() > page.find("<main").unwrap());
    for path in [
        "/hub/ask",
        "/hub/faq",
        "/hub",
        "/hub/manage",
        "/hub/write",
        "/hub/a/washer-tips",
        "/hub/a/washer-tips/edit",
    ] {
        for lang in ["zh-CN", "en", "fr"] {
            let r = staff
                .get(app.url(path))
                .header("accept-language", lang)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{path} {lang}");
        }
    }
    app.stop().await;
}

/// The demo hub loads and shows its fan her week.
#[tokio::test]
async fn the_demo_hub_has_segments_series_and_a_fan_in_week_12() {
    let app = TestApp::spawn_with(Backend::Sqlite, true).await.unwrap();
    let password = app.demo.as_ref().unwrap().member_password.clone();
    let token = app.token_for("小米粒", &password).await;
    let (_, fy) = call_lang(&app, Method::GET, "/api/v1/hub/for-you", Some(&token), "zh-CN", None).await;
    assert_eq!(slugs(&fy["articles"])[0], "zh-pregnancy-week-12", "{fy}");
    let (_, segments) = app.get("/api/v1/hub/segments", None).await;
    assert_eq!(segments.as_array().unwrap().len(), 4);
    for lang in ["zh", "en", "fr"] {
        let (_, page) = app.get(&format!("/api/v1/hub/articles?lang={lang}"), None).await;
        assert!(page["total"].as_i64().unwrap() >= 4, "{lang}: {page}");
    }
    let (_, a) = app.get("/api/v1/hub/articles/night-shots-en", None).await;
    assert_eq!(
        a["products"][0]["drop"], "aurora-x2-restock",
        "the demo embeds a product card"
    );
    let (_, faq) = app.get("/api/v1/hub/faq", None).await;
    assert_eq!(faq.as_array().unwrap().len(), 1, "{faq}");
    let (_, mine) = app.get("/api/v1/hub/questions", Some(&token)).await;
    assert_eq!(mine["asked"][0]["status"], "open");
    let (s, _) = app.get("/api/v1/hub/articles/first-food-zh", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the scheduled demo article waits for its day");
    app.stop().await;
}

/// Ask an expert: routed to the experts of the field, private to the member and the expert
/// who takes it, live on an open page, notified otherwise; the queue position and the expected
/// wait; FAQ only with consent (and gone when consent is taken back); response times for staff.
async fn expert_conversations(app: &TestApp) {
    let admin = app.user("admin").await;
    let nurse = app.user("nurse_lin").await;
    let nurse2 = app.user("nurse_wu").await;
    let cook = app.user("chef_li").await;
    let mei = app.user("mei").await;
    let tom = app.user("tom").await;
    for (who, field) in [("nurse_lin", "Sleep"), ("nurse_wu", "Sleep"), ("chef_li", "Food")] {
        let (s, e) = app
            .post("/api/v1/hub/experts", &admin, json!({"username": who, "field": field}))
            .await;
        assert_eq!(s, StatusCode::OK, "{e}");
    }
    let (_, topics) = app.get("/api/v1/hub/topics", None).await;
    assert_eq!(topics.as_array().unwrap().len(), 2, "{topics}");

    let q = |field: &str, subject: &str| json!({"field": field, "subject": subject, "body": "宝宝晚上每两小时醒一次，正常吗？"});
    for (bad, why) in [
        (q("Astrology", "x"), "no expert in that field"),
        (q("Sleep", "  "), "subject"),
        (
            json!({"field": "Sleep", "subject": "x", "body": "\u{0}\u{7}"}),
            "empty body after cleaning",
        ),
        (
            json!({"field": "Sleep", "subject": "x", "body": "字".repeat(5001)}),
            "body too long",
        ),
    ] {
        let (s, e) = app.post("/api/v1/hub/questions", &mei, bad).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {e}");
    }
    let (_, mine) = app.get("/api/v1/hub/questions", Some(&mei)).await;
    assert!(
        mine["asked"].as_array().unwrap().is_empty(),
        "refused questions left nothing"
    );

    let (s, q1) = app.post("/api/v1/hub/questions", &mei, q("Sleep", "夜醒")).await;
    assert_eq!(s, StatusCode::CREATED, "{q1}");
    assert_eq!(
        (q1["status"].as_str(), q1["position"].as_i64()),
        (Some("waiting"), Some(1))
    );
    assert!(
        q1.get("expected_wait_secs").is_none(),
        "no estimate before any answer: {q1}"
    );
    let (_, q2) = app.post("/api/v1/hub/questions", &tom, q("Sleep", "午睡")).await;
    assert_eq!(q2["position"], 2);
    let (id1, id2) = (q1["id"].as_i64().unwrap(), q2["id"].as_i64().unwrap());

    // Private: the member and the field's experts; not another member, another field's expert
    // or staff (a 404 either way, so nobody learns the question exists).
    for (who, token) in [("tom", &tom), ("chef", &cook), ("admin", &admin)] {
        let (s, _) = app.get(&format!("/api/v1/hub/questions/{id1}"), Some(token)).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{who}");
    }
    let (s, seen) = app.get(&format!("/api/v1/hub/questions/{id1}"), Some(&nurse)).await;
    assert_eq!((s, seen["is_expert"].as_bool()), (StatusCode::OK, Some(true)));
    let (_, queue) = app.get("/api/v1/hub/questions", Some(&nurse)).await;
    assert_eq!(queue["queue"].as_array().unwrap().len(), 2, "{queue}");
    let (_, notes) = app.get("/api/v1/notifications", Some(&nurse2)).await;
    assert!(
        notes["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "expert_conversation"),
        "{notes}"
    );

    // The member's page is open while the expert answers ten minutes later: it learns at once.
    let mut live = Events::open(app, &format!("/api/v1/hub/questions/{id1}/stream"), Some(&mei)).await;
    assert_eq!(live.next("conversation").await["messages"], 1);
    advance_minutes(app, 10);
    let answer = json!({"body": "0–3 个月的宝宝夜醒 2–3 次是正常的。"});
    let (s, c) = app
        .post(&format!("/api/v1/hub/questions/{id1}/messages"), &nurse, answer.clone())
        .await;
    assert_eq!(
        (s, c["status"].as_str(), c["expert"].as_str()),
        (StatusCode::CREATED, Some("open"), Some("nurse_lin"))
    );
    let pushed = live.next("conversation").await;
    assert_eq!(
        (pushed["messages"].as_i64(), pushed["status"].as_str()),
        (Some(2), Some("open"))
    );
    // Taken: the other expert of the field no longer sees it.
    assert_eq!(
        app.get(&format!("/api/v1/hub/questions/{id1}"), Some(&nurse2)).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, notes) = app.get("/api/v1/notifications", Some(&mei)).await;
    assert!(notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["kind"] == "expert_conversation" && n["link"] == format!("/hub/questions/{id1}")));

    // Tom's question moved up, with an estimate from the answer just given (10 min, 2 experts).
    let (_, c2) = app.get(&format!("/api/v1/hub/questions/{id2}"), Some(&tom)).await;
    assert_eq!(
        (c2["position"].as_i64(), c2["expected_wait_secs"].as_i64()),
        (Some(1), Some(600))
    );
    // Two experts answer it at once: exactly one takes it.
    let path2 = format!("/api/v1/hub/questions/{id2}/messages");
    let (a, b) = tokio::join!(
        app.post(&path2, &nurse, answer.clone()),
        app.post(&path2, &nurse2, answer.clone())
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses[0], StatusCode::CREATED, "{a:?} {b:?}");
    assert!(
        matches!(statuses[1], StatusCode::NOT_FOUND | StatusCode::CONFLICT),
        "{a:?} {b:?}"
    );
    let (_, c2) = app.get(&format!("/api/v1/hub/questions/{id2}"), Some(&tom)).await;
    assert_eq!(c2["messages"].as_array().unwrap().len(), 2, "one answer only: {c2}");

    // The transcript: who wrote what.
    app.post(
        &format!("/api/v1/hub/questions/{id1}/messages"),
        &mei,
        json!({"body": "谢谢！"}),
    )
    .await;
    let (_, c) = app.get(&format!("/api/v1/hub/questions/{id1}"), Some(&mei)).await;
    let from_expert: Vec<bool> = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["from_expert"].as_bool().unwrap())
        .collect();
    assert_eq!(from_expert, [false, true, false]);

    // FAQ: only with the member's consent, once; taking consent back removes it.
    let faq = json!({"question": "0–3 个月宝宝夜醒正常吗？", "answer": "夜醒 2–3 次是正常的。"});
    let faq_path = format!("/api/v1/hub/questions/{id1}/faq");
    let (s, e) = app.post(&faq_path, &nurse, faq.clone()).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::CONFLICT, Some("no_consent")));
    assert_eq!(
        put(
            app,
            &format!("/api/v1/hub/questions/{id1}/consent"),
            &nurse,
            json!({"faq_consent": true})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(
            app,
            &format!("/api/v1/hub/questions/{id1}/consent"),
            &tom,
            json!({"faq_consent": true})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (s, _) = put(
        app,
        &format!("/api/v1/hub/questions/{id1}/consent"),
        &mei,
        json!({"faq_consent": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        app.post(&faq_path, &nurse2, faq.clone()).await.0,
        StatusCode::NOT_FOUND,
        "not the answering expert"
    );
    let (s, entry) = app.post(&faq_path, &nurse, faq.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{entry}");
    assert!(
        !entry.to_string().contains("mei"),
        "the FAQ does not name the member: {entry}"
    );
    assert_eq!(app.post(&faq_path, &nurse, faq).await.1["error"], "faq_exists");
    assert_eq!(app.get("/api/v1/hub/faq", None).await.1.as_array().unwrap().len(), 1);
    put(
        app,
        &format!("/api/v1/hub/questions/{id1}/consent"),
        &mei,
        json!({"faq_consent": false}),
    )
    .await;
    assert!(app.get("/api/v1/hub/faq", None).await.1.as_array().unwrap().is_empty());

    // Closed: no more messages; the transcript stays with the member.
    let (s, c) = app
        .post(&format!("/api/v1/hub/questions/{id1}/close"), &mei, json!({}))
        .await;
    assert_eq!((s, c["status"].as_str()), (StatusCode::OK, Some("closed")));
    let (s, e) = app
        .post(
            &format!("/api/v1/hub/questions/{id1}/messages"),
            &mei,
            json!({"body": "还有一个问题"}),
        )
        .await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::CONFLICT, Some("closed")));
    // nurse_lin is dismissed. The closed conversation stays with its member; a question she had
    // in hand (if she won the race for it) goes back to the field's queue, where the other
    // expert takes it, and she no longer sees it.
    let (_, c2) = app.get(&format!("/api/v1/hub/questions/{id2}"), Some(&tom)).await;
    let held = c2["expert"] == "nurse_lin";
    let (s, _) = app
        .call(Method::DELETE, "/api/v1/hub/experts/nurse_lin", Some(&admin), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, c) = app.get(&format!("/api/v1/hub/questions/{id1}"), Some(&mei)).await;
    assert_eq!(
        (s, c["messages"].as_array().unwrap().len(), c["status"].as_str()),
        (StatusCode::OK, 3, Some("closed"))
    );
    assert_eq!(
        app.get(&format!("/api/v1/hub/questions/{id1}"), Some(&nurse)).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, back) = app.get(&format!("/api/v1/hub/questions/{id2}"), Some(&tom)).await;
    if held {
        assert_eq!(
            (back["status"].as_str(), back["position"].as_i64()),
            (Some("waiting"), Some(1)),
            "{back}"
        );
        assert_eq!(
            app.get(&format!("/api/v1/hub/questions/{id2}"), Some(&nurse)).await.0,
            StatusCode::NOT_FOUND
        );
        let (s, taken) = app.post(&path2, &nurse2, answer.clone()).await;
        assert_eq!(
            (s, taken["expert"].as_str()),
            (StatusCode::CREATED, Some("nurse_wu")),
            "{taken}"
        );
    } else {
        assert_eq!(
            (back["status"].as_str(), back["expert"].as_str()),
            (Some("open"), Some("nurse_wu"))
        );
    }

    // Response times: staff only; the field's line and each expert's.
    assert_eq!(
        app.get("/api/v1/hub/response-times", Some(&mei)).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, times) = app.get("/api/v1/hub/response-times", Some(&admin)).await;
    let field = times
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["field"] == "Sleep" && r.get("expert").is_none())
        .unwrap()
        .clone();
    assert_eq!(field["answered"], 2, "{times}");
    assert_eq!(field["median_secs"], 600, "{times}");
}

fn advance_minutes(app: &TestApp, minutes: i64) {
    app.hub.clock.advance_ms(minutes * 60_000);
}

both_backends!(expert_conversations_are_private_live_and_counted, expert_conversations);

/// The shop inside the hub: an article embeds a drop's product card (price, what is left, a
/// buy link); the drop's page finds the guides about it; a click on the card followed by an
/// order counts as the article's conversion, an order without the click does not.
async fn product_cards_and_conversions(app: &TestApp) {
    let admin = app.user("admin").await;
    let buyer = app.user("buyer").await;
    let other = app.user("other").await;
    let now = fanloop_platform::db::now_ms();
    let (s, d) = app
        .post(
            "/api/v1/drops",
            &admin,
            json!({
                "slug": "x2-washer", "name": "Washer <X2>", "price_cents": 199_900, "per_account_limit": 1,
                "reservations_open_at": now - 60_000, "reservations_close_at": now - 1_000,
                "fcode_opens_at": now - 1_000, "opens_at": now - 1_000, "closes_at": now + 3_600_000,
                "mode": {"kind": "open"}, "payment_seconds": 600,
                "variants": [{"name": "White", "stock": 10, "fcode_stock": 0}]
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let body = "Use the hygiene cycle.\n\n[[drop:x2-washer]]\n\nMore tips.";
    let (s, e) = app
        .post(
            "/api/v1/hub/articles",
            &admin,
            article("bad-card", "en", "Bad", "[[drop:no-such-drop]]", json!([])),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, a) = app
        .post(
            "/api/v1/hub/articles",
            &admin,
            article("washer-guide", "en", "Washer guide", body, json!([])),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!(a["products"][0]["drop"], "x2-washer");
    assert_eq!(a["products"][0]["remaining"], 10);
    let html = a["body_html"].as_str().unwrap();
    assert!(
        html.contains("data-product=\"x2-washer\"") && html.contains("/hub/a/washer-guide/buy/x2-washer"),
        "{html}"
    );
    assert!(
        html.contains("Washer &lt;X2&gt;") && html.contains("1999.00 CNY"),
        "the name is escaped: {html}"
    );
    let (_, guides) = app.get("/api/v1/hub/articles?drop=x2-washer&lang=all", None).await;
    assert_eq!(slugs(&guides["articles"]), ["washer-guide"]);

    // The buyer reads the article, clicks the card, and orders; another member orders without.
    let (browser, _) = app.signed_in_browser("buyer").await;
    assert_eq!(
        browser
            .get(app.url("/hub/a/washer-guide"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let r = browser
        .get(app.url("/hub/a/washer-guide/buy/x2-washer"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/drops/x2-washer");
    // An image pointing at the link, and a second click, are not counted again.
    for dest in ["image", "document"] {
        let r = browser
            .get(app.url("/hub/a/washer-guide/buy/x2-washer"))
            .header("sec-fetch-dest", dest)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let r = browser
        .get(app.url("/hub/a/washer-guide/buy/another-drop"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "only a card the article carries counts"
    );
    let drop = app.get("/api/v1/drops/x2-washer", None).await.1;
    let variant = drop["drop"]["variants"][0]["id"]
        .as_i64()
        .or_else(|| drop["variants"][0]["id"].as_i64())
        .unwrap();
    for (token, key) in [(&buyer, "k-buyer"), (&other, "k-other")] {
        let r = app
            .api()
            .post(app.url("/api/v1/drops/x2-washer/purchase"))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&json!({"variant_id": variant}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let (_, a) = app.get("/api/v1/hub/articles/washer-guide", None).await;
    assert_eq!(a["products"][0]["remaining"], 8, "the card shows what is left now");

    // Devices from orders: the washer choice is given by orders of the drop, unless the member
    // says otherwise.
    let mut segment = device();
    segment["choices"][0]["drops"] = json!(["x2-washer", "no-such-drop-yet"]);
    assert_eq!(
        app.post("/api/v1/hub/segments", &admin, segment).await.0,
        StatusCode::CREATED
    );
    let mut bad = device();
    bad["key"] = json!("device2");
    bad["choices"][0]["drops"] = json!(["Not A Slug"]);
    assert_eq!(
        app.post("/api/v1/hub/segments", &admin, bad).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let for_washers = article(
        "washer-owners",
        "en",
        "For washer owners",
        "Descale monthly.",
        json!([{"dimension": "device", "choices": ["washer"]}]),
    );
    assert_eq!(
        app.post("/api/v1/hub/articles", &admin, for_washers).await.0,
        StatusCode::CREATED
    );
    let (_, me) = app.get("/api/v1/hub/me", Some(&buyer)).await;
    let fact = me["facts"][0].clone();
    assert_eq!(
        (fact["choice"].as_str(), fact["from_orders"].as_bool()),
        (Some("washer"), Some(true)),
        "{me}"
    );
    let (_, fy) = app.get("/api/v1/hub/for-you", Some(&buyer)).await;
    assert_eq!(slugs(&fy["articles"])[0], "washer-owners", "{fy}");
    let (s, me) = put(
        app,
        "/api/v1/hub/me",
        &buyer,
        json!({"facts": [{"dimension": "device", "choice": "-"}]}),
    )
    .await;
    assert_eq!(
        (s, me["facts"][0]["from_orders"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{me}"
    );
    let (_, fy) = app.get("/api/v1/hub/for-you", Some(&buyer)).await;
    assert!(
        !slugs(&fy["articles"]).contains(&"washer-owners".to_string()),
        "none of these: orders do not choose"
    );
    let (_, me) = app.get("/api/v1/hub/me", Some(&other)).await;
    assert_eq!(
        me["facts"][0]["from_orders"], true,
        "the other buyer's orders speak for them"
    );

    assert_eq!(
        app.get("/api/v1/hub/stats", Some(&buyer)).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, stats) = app.get("/api/v1/hub/stats", Some(&admin)).await;
    let row = stats["articles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["slug"] == "washer-guide")
        .unwrap()
        .clone();
    assert_eq!(
        (row["views"].as_i64(), row["clicks"].as_i64(), row["orders"].as_i64()),
        (Some(1), Some(1), Some(1)),
        "{stats}"
    );
    // The drop's page links to its guides.
    let page = app
        .browser()
        .get(app.url("/drops/x2-washer"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("/hub?drop=x2-washer"));
}

both_backends!(
    product_cards_lead_to_orders_and_count_conversions,
    product_cards_and_conversions
);

/// "Your stage this week" (issue 16): a member who gave a due date gets one letter a week, in her
/// language, naming her stage and the articles that fit it; the next week's names the next stage;
/// nobody gets two in a week however often the job runs; unproven addresses and members who
/// turned the letter off get none.
async fn weekly_letters(app: &TestApp) {
    use fanloop_platform::mail::{self, Delivery};
    use fanloop_platform::notifications::NotificationKind;
    let admin = app.user("admin").await;
    app.user("mei").await;
    app.user("unproven").await;
    let db = &app.state.platform.db;
    assert_eq!(
        app.post("/api/v1/hub/segments", &admin, pregnancy()).await.0,
        StatusCode::CREATED
    );
    for (slug, week, title) in [("w12", 12, "孕 12 周：建档"), ("w13", 13, "孕 13 周：唐筛")] {
        let body = article(
            slug,
            "zh",
            title,
            "本周要做的事。",
            json!([{"dimension": "pregnancy", "from": week, "to": week}]),
        );
        assert_eq!(
            app.post("/api/v1/hub/articles", &admin, body).await.0,
            StatusCode::CREATED
        );
    }
    // Both say week 12 today (for three more days); only mei proved her address, in Chinese.
    let due = app.hub.clock.day_in(28 * 7 - 3);
    for name in ["mei", "unproven"] {
        let token = app.token_for(name, "password123").await;
        let (s, e) = put(
            app,
            "/api/v1/hub/me",
            &token,
            json!({"facts": [{"dimension": "pregnancy", "date": due}]}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{e}");
    }
    sqlx::query("UPDATE users SET email_verified_at = 1, locale = 'zh' WHERE username = 'mei'")
        .execute(&db.pool)
        .await
        .unwrap();
    let letters = || async {
        mail::list_outbox(db, 100, 0)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.kind == "hub_weekly")
            .collect::<Vec<_>>()
    };
    let sent = fanloop_hub::digest::send_weekly(&app.hub).await.unwrap();
    let first = letters().await;
    assert_eq!((sent, first.len()), (1, 1), "{first:?}");
    assert_eq!(first[0].to, "mei@example.com");
    assert!(first[0].subject.contains("第 12 周"), "{}", first[0].subject);
    let body: String = sqlx::query_scalar("SELECT body_text FROM outbox WHERE kind = 'hub_weekly'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(body.contains("孕 12 周：建档") && !body.contains("孕 13 周"), "{body}");
    assert!(body.contains("/hub/a/w12") && body.contains("/unsubscribe/"), "{body}");
    // Again the same week (the job on another node, say): nothing more.
    app.hub.clock.advance_days(3);
    assert_eq!(fanloop_hub::digest::send_weekly(&app.hub).await.unwrap(), 0);
    // A week after the first: week 13, and its article.
    app.hub.clock.advance_days(4);
    assert_eq!(fanloop_hub::digest::send_weekly(&app.hub).await.unwrap(), 1);
    let all = letters().await;
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|m| m.subject.contains("第 13 周")), "{all:?}");
    // Turned off in her settings: no letter the week after.
    let mei = fanloop_platform::accounts::find_by_username(db, "mei")
        .await
        .unwrap()
        .unwrap();
    mail::set_preference(&db.pool, mei.id, NotificationKind::HubWeekly, Delivery::Off)
        .await
        .unwrap();
    app.hub.clock.advance_days(7);
    assert_eq!(fanloop_hub::digest::send_weekly(&app.hub).await.unwrap(), 0);
    assert_eq!(letters().await.len(), 2);
}

both_backends!(a_weekly_letter_names_the_members_stage_once_a_week, weekly_letters);

/// A stage moves on at the member's midnight, not UTC's: at 20:00 UTC it is already tomorrow in
/// Shanghai, so a member there is a week further on the day her week turns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stages_turn_at_the_members_midnight() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = app.user("admin").await;
    assert_eq!(
        app.post("/api/v1/hub/segments", &admin, pregnancy()).await.0,
        StatusCode::CREATED
    );
    let db = &app.state.platform.db;
    // 20:00 UTC tomorrow, by the hub's clock.
    let now = app.hub.clock.now_ms();
    let target = now - now.rem_euclid(DAY) + DAY + 20 * 3_600_000;
    app.hub.clock.advance_ms(target - now);
    // Due 28 weeks after Shanghai's today: week 12 there, still week 11 in UTC (a day short).
    let due = app.hub.clock.day_in(28 * 7 + 1);
    for (name, zone) in [("shanghai", "Asia/Shanghai"), ("london", "UTC")] {
        let token = app.user(name).await;
        let user = fanloop_platform::accounts::find_by_username(db, name)
            .await
            .unwrap()
            .unwrap();
        fanloop_platform::accounts::set_time_zone(db, user.id, Some(zone))
            .await
            .unwrap();
        let (s, me) = call_lang(
            &app,
            Method::PUT,
            "/api/v1/hub/me",
            Some(&token),
            "en",
            Some(json!({"facts": [{"dimension": "pregnancy", "date": due}]})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{me}");
        let expected = if zone == "UTC" { "week 11" } else { "week 12" };
        assert_eq!(me["facts"][0]["stage_label"], expected, "{name}: {me}");
    }
    app.stop().await;
}

/// An article is deleted by staff or its author (an expert), with its targets and counts; not by
/// another member; the page's delete button does it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn articles_are_deleted_by_staff_or_their_author() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = app.user("admin").await;
    let nurse = app.user("nurse_lin").await;
    let tom = app.user("tom").await;
    let (s, x) = app
        .post(
            "/api/v1/hub/experts",
            &admin,
            json!({"username": "nurse_lin", "field": "Sleep", "bio": "Ten years."}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{x}");
    for (slug, token) in [("by-nurse", &nurse), ("by-staff", &admin), ("by-page", &nurse)] {
        let body = article(slug, "en", "Naps", "Short naps are fine.", json!([]));
        assert_eq!(
            app.post("/api/v1/hub/articles", token, body).await.0,
            StatusCode::CREATED
        );
    }
    let app_ref = &app;
    let del = |slug: &str, token: &str| {
        let (slug, token) = (slug.to_string(), token.to_string());
        async move {
            app_ref
                .call(
                    Method::DELETE,
                    &format!("/api/v1/hub/articles/{slug}"),
                    Some(&token),
                    None,
                )
                .await
                .0
        }
    };
    assert_eq!(del("by-nurse", &tom).await, StatusCode::FORBIDDEN);
    assert_eq!(del("by-staff", &nurse).await, StatusCode::FORBIDDEN);
    assert_eq!(del("by-nurse", &nurse).await, StatusCode::NO_CONTENT);
    assert_eq!(del("by-staff", &admin).await, StatusCode::NO_CONTENT);
    assert_eq!(del("by-staff", &admin).await, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/api/v1/hub/articles/by-nurse", None).await.0,
        StatusCode::NOT_FOUND
    );
    let terms: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM hub_article_terms t LEFT JOIN hub_articles a ON a.id = t.article_id WHERE a.id IS NULL",
    )
    .fetch_one(&app.state.platform.db.pool)
    .await
    .unwrap();
    assert_eq!(terms, 0, "its search terms went with it");
    // From the edit page.
    let (browser, csrf) = app.browser_as("nurse_lin", "password123").await;
    let edit = browser
        .get(app.url("/hub/a/by-page/edit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(edit.contains("data-delete-article"));
    let r = browser
        .post(app.url("/hub/a/by-page/delete"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/v1/hub/articles/by-page", None).await.0,
        StatusCode::NOT_FOUND
    );

    // Presence: the expert who just used the site is online; one who never signed in is not.
    let db = &app.state.platform.db;
    let hash = fanloop_platform::auth::hash_password("password123").unwrap();
    fanloop_platform::accounts::create_user(
        db,
        "dr_away",
        "away@example.com",
        &hash,
        fanloop_platform::auth::Role::Fan,
        None,
        None,
        None,
    )
    .await
    .unwrap();
    let (s, _) = app
        .post(
            "/api/v1/hub/experts",
            &admin,
            json!({"username": "dr_away", "field": "Feeding", "bio": ""}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, experts) = app.get("/api/v1/hub/experts", None).await;
    let online = |name: &str| {
        experts
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["username"] == name)
            .unwrap()["online"]
            .clone()
    };
    assert_eq!(
        (online("nurse_lin"), online("dr_away")),
        (json!(true), json!(false)),
        "{experts}"
    );
    let (_, topics) = app.get("/api/v1/hub/topics", None).await;
    let topic = |f: &str| topics.as_array().unwrap().iter().find(|t| t["field"] == f).unwrap()["online"].clone();
    assert_eq!((topic("Sleep"), topic("Feeding")), (json!(1), json!(0)), "{topics}");
    app.stop().await;
}
