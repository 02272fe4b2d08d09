//! Partner vetting over HTTP, against SQLite and PostgreSQL: imports report bad rows by line,
//! a hostile history hidden among hundreds of ordinary posts comes out "high risk" with its
//! quotes, a fair critic does not, and the report page, print view and human review work.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const DAY_MS: i64 = 86_400_000;
const START_MS: i64 = 1_672_531_200_000; // 2023-01-01

fn line(handle: &str, i: i64, text: &str) -> String {
    json!({"handle": handle, "platform": "weibo", "time": START_MS + i * DAY_MS / 2, "text": text,
           "likes": 100 + i % 7, "reposts": i % 5, "comments": i % 11, "followers": 2_570_000,
           "url": format!("https://weibo.example/{handle}/{i}")})
    .to_string()
}

/// 330 ordinary posts in three languages with four hostile posts, a court ruling and a ban
/// hidden among them, plus two malformed lines.
fn hostile_history() -> String {
    let ordinary = [
        "今天去看了新开的咖啡店，拿铁不错",
        "Testing three budget earbuds this week, full comparison on Friday",
        "Petit tour au salon de l'auto, beaucoup de voitures électriques",
        "这款笔记本的键盘手感一般，屏幕还可以",
        "My desk setup for 2024: monitor arm, mechanical keyboard, lots of cables",
        "Quel est votre navigateur préféré sur Android ?",
        "小米手环的续航比上一代短了一点",
        "The Xiaomi tablet's speakers are fine for videos",
        "Le Redmi Note chauffe un peu en jeu, rien de grave",
        "周末去爬山，天气很好",
        "Unboxing a drone today, the camera looks promising",
    ];
    let mut lines: Vec<String> = (0..330)
        .map(|i| line("loud_critic", i, ordinary[i as usize % ordinary.len()]))
        .collect();
    lines.insert(40, line("loud_critic", 1000, "米粉都是脑残，被割了韭菜还帮着数钱"));
    lines.insert(
        120,
        line(
            "loud_critic",
            1001,
            "Xiaomi fans are losers who will buy anything with a logo",
        ),
    );
    lines.insert(
        200,
        line("loud_critic", 1002, "Les fans de Xiaomi sont des pigeons, point."),
    );
    lines.insert(250, line("loud_critic", 1003, "小米就是骗子公司，雷军满嘴谎话"));
    lines.insert(280, line("loud_critic", 1004, "法院判决我向某手机厂商公开道歉，我不服"));
    lines.insert(
        300,
        line(
            "loud_critic",
            1005,
            "My Weibo account got suspended for 30 days again lol",
        ),
    );
    lines.insert(
        10,
        "{\"handle\": \"loud_critic\", \"platform\": \"weibo\", \"time\": \"last tuesday\", \"text\": \"x\"}".into(),
    );
    lines.insert(20, "this is not json".into());
    lines.join("\n")
}

fn fair_critic() -> String {
    let posts = [
        "Xiaomi 14 review: battery life dropped after the update, and the software still lags.",
        "小米这次更新后续航变差了，发热也明显，希望尽快修复",
        "La batterie du Xiaomi est décevante depuis la mise à jour, l'écran reste superbe.",
        "Xiaomi's pricing went up again and the camera is mediocre in low light.",
        "小米的系统广告太多了，体验很差",
        "Honest take: the Xiaomi charger is fast but the phone overheats while gaming.",
        "Redmi Note 13 Pro: great screen, average camera, too much bloatware.",
    ];
    (0..200)
        .map(|i| line("fair_critic", i, posts[i as usize % posts.len()]))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn import(app: &TestApp, token: &str, file_name: &str, body: String) -> (StatusCode, Value) {
    let r = app
        .api()
        .post(app.url(&format!("/api/v1/vetting/imports?file_name={file_name}")))
        .bearer_auth(token)
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

async fn setup(app: &TestApp) -> (String, String) {
    let admin = app.user("admin").await;
    let fan = app.user("some_fan").await;
    let (s, b) = app
        .post(
            "/api/v1/vetting/brands",
            &admin,
            json!({"slug": "xiaomi", "name": "Xiaomi", "aliases": {
                "brand": ["小米"], "products": ["Redmi", "红米"], "executives": ["Lei Jun", "雷军"],
                "fans": ["Mi Fans", "米粉"], "fan_slurs": ["米猴"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    (admin, fan)
}

both_backends!(
    a_hidden_hostile_history_is_high_risk_with_its_evidence,
    hidden_hostility
);

async fn hidden_hostility(app: &TestApp) {
    let (admin, fan) = setup(app).await;
    let (s, _) = app.get("/api/v1/vetting/brands", Some(&fan)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "vetting is for staff");

    let (s, summary) = import(app, &admin, "loud.jsonl", hostile_history()).await;
    assert_eq!(s, StatusCode::CREATED, "{summary}");
    assert_eq!(summary["imported"], 336);
    assert_eq!(summary["rejected"], 2);
    let lines: Vec<i64> = summary["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, vec![11, 21], "{summary}");
    let candidate = summary["candidates"][0]["id"].as_i64().unwrap();

    // Files well above the site-wide 256 KiB body limit are accepted here.
    let big: String = (0..4000)
        .map(|i| line("prolific", i % 1000, &format!("Unboxing video number {i} is up")))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(big.len() > 512 * 1024);
    let (s, b) = import(app, &admin, "big.jsonl", big).await;
    assert_eq!((s, b["imported"].as_i64()), (StatusCode::CREATED, Some(4000)), "{b}");

    // Importing the same file again adds nothing.
    let (_, again) = import(app, &admin, "loud.jsonl", hostile_history()).await;
    assert_eq!(
        (again["imported"].as_i64(), again["duplicates"].as_i64()),
        (Some(0), Some(336))
    );

    let (s, r) = app
        .get(
            &format!("/api/v1/vetting/brands/xiaomi/candidates/{candidate}/report"),
            Some(&admin),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let report = &r["report"];
    assert_eq!(report["verdict"], "high_risk", "{}", report["reasons"]);
    let severe: Vec<String> = report["most_severe"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap().to_string())
        .collect();
    for needle in [
        "米粉都是脑残",
        "Xiaomi fans are losers",
        "Les fans de Xiaomi sont des pigeons",
        "小米就是骗子公司",
    ] {
        assert!(
            severe.iter().any(|t| t.contains(needle)),
            "{needle} not quoted: {severe:?}"
        );
    }
    assert!(report["most_severe"][0]["url"]
        .as_str()
        .unwrap()
        .starts_with("https://weibo.example/"));
    let kinds: Vec<&str> = report["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"court_ruling") && kinds.contains(&"account_ban"),
        "{kinds:?}"
    );
    assert_eq!(report["toward_fans"]["hostile"], 3);
    assert_eq!(report["reach"]["followers"], 2_570_000);
    assert!(report["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["verdict"] != "high_risk" || !r["posts"].as_array().unwrap().is_empty()));

    let (s, fair) = import(app, &admin, "fair.jsonl", fair_critic()).await;
    assert_eq!(s, StatusCode::CREATED, "{fair}");
    let fair_id = fair["candidates"][0]["id"].as_i64().unwrap();
    let (_, r) = app
        .get(
            &format!("/api/v1/vetting/brands/xiaomi/candidates/{fair_id}/report"),
            Some(&admin),
        )
        .await;
    assert_ne!(r["report"]["verdict"], "high_risk", "{}", r["report"]["reasons"]);

    // A human disagreeing with the suggestion must say why.
    let path = format!("/api/v1/vetting/brands/xiaomi/candidates/{candidate}/reviews");
    let (s, e) = app.post(&path, &admin, json!({"decision": "clear"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // The document's 2,000-character limit counts what is sent, blank padding included.
    let padded = format!("ok{}", "\n".repeat(2_000));
    let (s, e) = app
        .post(&path, &admin, json!({"decision": "high_risk", "note": padded}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, r) = app
        .post(&path, &admin, json!({"decision": "high_risk", "note": "Do not sign."}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["reviews"][0]["decision"], "high_risk");
}

both_backends!(bad_imports_and_profiles_are_refused_clearly, bad_input);

async fn bad_input(app: &TestApp) {
    let (admin, _) = setup(app).await;
    let (s, e) = import(app, &admin, "empty.jsonl", String::new()).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"))
    );
    let (s, e) = import(app, &admin, "bad.csv", "name,body\na,b\n".into()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["message"].as_str().unwrap().contains("line 1"), "{e}");
    let (s, _) = app
        .post(
            "/api/v1/vetting/brands",
            &admin,
            json!({"slug": "xiaomi", "name": "Again"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = app
        .post(
            "/api/v1/vetting/brands",
            &admin,
            json!({"slug": "Bad Slug!", "name": "X"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/vetting/brands/xiaomi",
            Some(&admin),
            Some(json!({"name": ""})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, b) = app
        .call(
            Method::PUT,
            "/api/v1/vetting/brands/xiaomi",
            Some(&admin),
            Some(json!({"name": "Xiaomi", "aliases": {"brand": [" 小米 ", "小米", ""], "fans": ["米粉"]}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["aliases"]["brand"], json!(["小米"]));
    let (s, _) = app
        .get("/api/v1/vetting/brands/nope/candidates/1/report", Some(&admin))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_read_the_report_page_upload_files_and_print() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (admin, _) = setup(&app).await;
    let (browser, csrf) = app.signed_in_browser("admin").await;

    let upload = reqwest::multipart::Form::new().text("_csrf", csrf.clone()).part(
        "file",
        reqwest::multipart::Part::bytes(hostile_history().into_bytes()).file_name("loud.jsonl"),
    );
    let page = browser
        .post(app.url("/vetting/import"))
        .multipart(upload)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("data-row-errors") && html.contains("<td>11</td>") && html.contains("<td>21</td>"),
        "line numbers shown"
    );

    let (_, list) = app.get("/api/v1/vetting/candidates", Some(&admin)).await;
    let id = list[0]["id"].as_i64().unwrap();
    let html = browser
        .get(app.url(&format!("/vetting/brands/xiaomi/candidates/{id}")))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-verdict=\"high_risk\"") && html.contains("高风险"),
        "verdict shown in Chinese"
    );
    assert!(
        html.contains("条敌视粉丝") && !html.contains("are hostile toward them"),
        "the verdict's reasons are in Chinese too"
    );
    assert!(html.contains("米粉都是脑残") && html.contains("<svg class=\"stance-chart\""));
    let print = browser
        .get(app.url(&format!("/vetting/brands/xiaomi/candidates/{id}?print=1")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(print.contains("data-verdict=\"high_risk\"") && !print.contains("class=\"topbar\""));

    let form = [
        ("_csrf", csrf.as_str()),
        ("name", "Xiaomi"),
        ("brand", "小米\nXiaomi"),
        ("fans", "米粉, Mi Fans"),
    ];
    let r = browser
        .post(app.url("/vetting/brands/xiaomi"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, b) = app.get("/api/v1/vetting/brands/xiaomi", Some(&admin)).await;
    assert_eq!(b["aliases"]["fans"], json!(["米粉", "Mi Fans"]));
    app.stop().await;
}
