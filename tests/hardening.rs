//! What an attacker or a careless user types must not break a page or the server: one
//! regression test per defect of the hardening review, and a crawl of every page as every role
//! in every language that fails on any 5xx.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashSet, VecDeque};

use common::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00";

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

async fn demo_app() -> (TestApp, String, String) {
    let app = TestApp::spawn_with(Backend::Sqlite, true).await.expect("demo app");
    let demo = app.demo.as_ref().expect("demo credentials");
    let (admin_pw, member_pw) = (demo.admin_password.clone(), demo.member_password.clone());
    (app, admin_pw, member_pw)
}

async fn user_count(app: &TestApp) -> i64 {
    fanloop_platform::accounts::user_count(&app.state.platform.db)
        .await
        .unwrap()
}

/// Defect 1: ordinary punctuation ("!!", "...", a blank line) made the vetting report panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vetting_report_survives_punctuation_runs() {
    let (app, admin_pw, _) = demo_app().await;
    let admin = app.token_for("admin", &admin_pw).await;
    let (s, b) = app
        .post(
            "/api/v1/vetting/brands",
            &admin,
            json!({"slug": "acme", "name": "Acme", "aliases": {"fans": ["Acme fans"], "fan_slurs": ["acmeclowns"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let texts = [
        "Acme!!",
        "Acme fans...",
        "Really?! Acme?!",
        ". . Acme",
        "Acme is fine\n\n\nreally",
        "!!\n\n...\n?!",
        "Acme fans are acmeclowns!!!",
    ];
    let body: String = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"handle": "punct", "platform": "weibo", "time": 1_700_000_000 + i as i64 * 3600, "text": t,
                   "likes": 1, "reposts": 0, "comments": 0, "followers": 10})
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    let r = app
        .api()
        .post(app.url("/api/v1/vetting/imports?file_name=p.jsonl"))
        .bearer_auth(&admin)
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let summary: Value = r.json().await.unwrap();
    let candidate = summary["candidates"][0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/vetting/brands/acme/candidates/{candidate}/report");
    let (s, report) = app.get(&path, Some(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    let (browser, _) = app.browser_as("admin", &admin_pw).await;
    let page = browser
        .get(app.url(&format!("/vetting/brands/acme/candidates/{candidate}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let (s, r) = app
        .post(
            &format!("/api/v1/vetting/brands/acme/candidates/{candidate}/reviews"),
            &admin,
            json!({"decision": "high_risk", "note": "checked by hand"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    app.stop().await;
}

/// Defects 2 and 3: the demo product's report form (it has an extra field) and a request page
/// with an attachment both answered 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_form_and_request_with_attachment_render() {
    let (app, _, member_pw) = demo_app().await;
    let (browser, _) = app.browser_as("alex_chen", &member_pw).await;
    let r = browser.get(app.url("/f/aurora-x2/new")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the report form renders");
    let fan = app.token_for("alex_chen", &member_pw).await;
    let (_, list) = app.get("/api/v1/products/aurora-x2/requests", None).await;
    let request = list["requests"][0]["id"].as_i64().expect("a demo request");
    let (_, product) = app.get("/api/v1/products/aurora-x2", None).await;
    let area = product["areas"][0]["slug"].as_str().unwrap().to_string();
    let extra: BTreeMap<String, String> = product["form_fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .map(|f| (f["key"].as_str().unwrap().to_string(), "x".to_string()))
                .collect()
        })
        .unwrap_or_default();
    let (s, b) = app
        .post(
            "/api/v1/products/aurora-x2/reports",
            &fan,
            json!({"kind": "suggestion", "area": area, "title": "Attach a screenshot here",
                   "description": "see the picture", "extra": extra,
                   "attach_to": request,
                   "attachments": [{"filename": "shot.png", "data_base64": b64(PNG)}, {"filename": "log.txt", "data_base64": b64(b"log line")}]}),
        )
        .await;
    assert!(s.is_success(), "{s} {b}");
    let page = browser
        .get(app.url(&format!("/requests/{request}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<img src=\"/api/v1/attachments/"), "the image is shown");
    assert!(html.contains("log.txt"), "the log is linked");
    app.stop().await;
}

/// Defects 4 and 5: `next` could leave the site (`/\t/evil.example`) or panic the redirect
/// (`%0a`), and sign-up created the account before the 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_stay_on_site_and_never_fail() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.user("admin").await;
    let browser = app.browser();
    for next in [
        "/%09/evil.example",
        "/%0a/evil.example",
        "%2F%2Fevil.example",
        "/%5Cevil.example",
        "/%0d%0aSet-Cookie:x=1",
        "/%7F",
    ] {
        let r = browser
            .get(app.url(&format!("/lang/fr?next={next}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(r.headers()["location"], "/", "{next}");
    }
    let r = browser
        .get(app.url("/lang/fr?next=/t/1%3Fpage%3D2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/t/1?page=2");
    // Sign-up with a control character in `next`: one account, sent home.
    let before = user_count(&app).await;
    let r = signup(&app, "next_fan", "password123", "/\n/evil.example").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/");
    assert_eq!(user_count(&app).await, before + 1);
    // A refused sign-up (short password) with a hostile `next` leaves nothing behind.
    let r = signup(&app, "short_pw", "short", "/\r\n").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        user_count(&app).await,
        before + 1,
        "nothing stored for a refused sign-up"
    );
    app.stop().await;
}

/// Signs up through the form in a fresh browser.
async fn signup(app: &TestApp, username: &str, password: &str, next: &str) -> reqwest::Response {
    let browser = app.browser();
    let csrf = common::csrf_of(app, &browser, "/signup").await;
    let email = format!("{username}@example.com");
    browser
        .post(app.url("/signup"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", username),
            ("email", email.as_str()),
            ("password", password),
            ("next", next),
        ])
        .send()
        .await
        .unwrap()
}

/// NUL characters cannot be stored (PostgreSQL refuses them): in an address, a JSON body or a
/// form they are dropped, never a 500.
async fn nul_characters(app: &TestApp) {
    app.user("admin").await;
    let admin = app.token_for("admin", "password123").await;
    for (path, status) in [
        ("/u/a%00b", StatusCode::NOT_FOUND),
        ("/api/v1/users/a%00b", StatusCode::NOT_FOUND),
        ("/search?q=%00", StatusCode::OK),
        ("/api/v1/search?q=a%00&author=x%00y", StatusCode::OK),
    ] {
        let r = app.api().get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), status, "{path}");
    }
    let (s, b) = app
        .post("/api/v1/boards", &admin, json!({"slug": "nul", "name": "a\u{0}b"}))
        .await;
    assert_eq!((s, b["name"].as_str()), (StatusCode::CREATED, Some("ab")), "{b}");
    let (s, _) = app
        .call(
            Method::POST,
            "/api/v1/tokens",
            None,
            Some(json!({"login": "ad\u{0}min", "password": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let browser = app.browser();
    let csrf = common::csrf_of(app, &browser, "/signin").await;
    let r = browser
        .post(app.url("/signin"))
        .form(&[("_csrf", csrf.as_str()), ("login", "ad\0min"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
both_backends!(nul_characters_are_dropped_not_stored, nul_characters);

/// Defect 6: each spelling of one login (spaces, case, e-mail) got a fresh sign-in budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_limit_holds_across_spellings_of_one_account() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.user("team0").await;
    let spellings = [" team0", "team0 ", "team0@example.com", "TEAM0@EXAMPLE.COM", "Team0"];
    let mut statuses = Vec::new();
    for i in 0..12 {
        let r = app
            .api()
            .post(app.url("/api/v1/tokens"))
            .json(&json!({"login": spellings[i % spellings.len()], "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status());
    }
    // Ten attempts per account in the window, whatever the spelling (the sign-up's own token
    // request was the first).
    assert!(
        statuses[..9].iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(statuses[9..], [StatusCode::TOO_MANY_REQUESTS; 3], "{statuses:?}");
    // The right password is refused too while the account is locked.
    let r = app
        .api()
        .post(app.url("/api/v1/tokens"))
        .json(&json!({"login": "team0", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

/// Defect 7: thousands of half-open connections exhausted file descriptors. With 5,000 held,
/// `/healthz` must still answer within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_while_5000_connections_hang() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut held = Vec::new();
    for i in 0..5000 {
        let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await else {
            panic!("connection {i} refused");
        };
        // Half a request head, never finished.
        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
        held.push(s);
    }
    let started = std::time::Instant::now();
    let r = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).to_string()
    })
    .await
    .expect("/healthz answered within 1 s");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    eprintln!("healthz with 5000 half-open connections: {:?}", started.elapsed());
    drop(held);
    app.stop().await;
}

/// A fresh SQLite instance served with `limits` on a local port, for tests that speak raw HTTP;
/// the instance is kept as long as the caller holds what is returned with the address.
async fn serve_on_sqlite(dir: &std::path::Path, limits: fanloop::ServeLimits) -> (impl Sized, std::net::SocketAddr) {
    let app = fanloop::build(&fanloop::Config::sqlite(dir)).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(fanloop::serve_with(
        app.router.clone(),
        listener,
        limits,
        std::future::pending(),
    ));
    (app, addr)
}

/// Pipelined requests (HTTP/1.1 allows a client to send several before reading) are all
/// answered, in order, whatever each answer is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let (_app, addr) = serve_on_sqlite(dir.path(), fanloop::ServeLimits::default()).await;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut requests = String::new();
    let body = r#"{"variant_id":1}"#;
    for i in 0..50 {
        requests.push_str(&match i % 3 {
            0 => "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n".to_string(),
            1 => format!(
                "POST /api/v1/drops/none/purchase HTTP/1.1\r\nhost: x\r\nauthorization: Bearer nope{i}\r\n\
                 idempotency-key: k{i}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            ),
            _ => "GET /api/v1/no-such-thing HTTP/1.1\r\nhost: x\r\n\r\n".to_string(),
        });
    }
    requests.push_str("GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    s.write_all(requests.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut got))
        .await
        .expect("every answer within 10 s")
        .unwrap();
    let got = String::from_utf8_lossy(&got);
    let statuses: Vec<&str> = got
        .match_indices("HTTP/1.1 ")
        .map(|(at, _)| &got[at + 9..at + 12])
        .collect();
    let expected: Vec<&str> = (0..50).map(|i| ["200", "401", "404"][i % 3]).chain(["200"]).collect();
    assert_eq!(statuses, expected);
    assert_eq!(got.matches("\"error\":\"invalid_token\"").count(), 17);
}

/// The server closes a connection that never finishes its request head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_heads_are_cut() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let limits = fanloop::ServeLimits {
        header_read_timeout: std::time::Duration::from_millis(300),
        ..Default::default()
    };
    let (_app, addr) = serve_on_sqlite(dir.path(), limits).await;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    assert!(closed.is_ok(), "the connection was closed by the server");
}

/// Defect 8: an adjustment of i64::MIN was accepted and the sums wrapped around.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_figures_are_bounded_and_refusals_store_nothing() {
    let (app, admin_pw, _) = demo_app().await;
    let admin = app.token_for("admin", &admin_pw).await;
    let path = "/api/v1/campaigns/autumn-snaps/adjustments";
    let (_, before) = app.get("/api/v1/campaigns/autumn-snaps/dashboard", Some(&admin)).await;
    for amount in [
        json!(i64::MIN),
        json!(i64::MAX),
        json!(-1_000_000_000_001i64),
        json!(1e300),
    ] {
        let (s, e) = app
            .post(
                path,
                &admin,
                json!({"metric": "exposure", "amount": amount, "note": "overflow"}),
            )
            .await;
        assert!(s == StatusCode::UNPROCESSABLE_ENTITY, "{amount}: {s} {e}");
    }
    let (_, after) = app.get("/api/v1/campaigns/autumn-snaps/dashboard", Some(&admin)).await;
    assert_eq!(before["adjustments"], after["adjustments"], "nothing stored");
    assert_eq!(before["sources"], after["sources"]);
    app.stop().await;
}

/// Defect 9: `аdmin` (Cyrillic а) and full-width `ａｄｍｉｎ` could sit next to `admin`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_alike_usernames_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.user("admin").await;
    for name in ["аdmin", "ａｄｍｉｎ", "ADMIN", "adrnin"] {
        let (s, e) = app
            .call(
                Method::POST,
                "/api/v1/users",
                None,
                Some(json!({"username": name, "email": format!("{}@example.org", b64(name.as_bytes()).replace(['=', '+', '/'], "")), "password": "password123"})),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{name}: {e}");
    }
    assert_eq!(user_count(&app).await, 1);
    app.stop().await;
}

/// Defect 10: pages carry a CSP without inline script, no framing, nosniff and a referrer
/// policy; behind HTTPS every cookie is Secure and `__Host-` prefixed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_security_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let r = app.api().get(app.url("/signin")).send().await.unwrap();
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self';"), "no inline script: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h.contains_key("referrer-policy"));
    let html = r.text().await.unwrap();
    // The API's answers (data, an error included) may be neither rendered nor framed.
    for path in ["/api/v1/drops", "/api/v1/no-such-endpoint"] {
        let r = app.api().get(app.url(path)).send().await.unwrap();
        let h = r.headers();
        assert_eq!(
            h["content-security-policy"], "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
    }
    assert!(!html.contains(" onsubmit=") && !html.contains(" onclick="));
    let r = app
        .api()
        .get(app.url("/signin"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("__Host-fl_csrf=") && cookie.contains("; Secure"),
        "{cookie}"
    );
    assert!(r.headers().contains_key("strict-transport-security"));
    app.stop().await;
}

/// Defect 11: a CSRF cookie chosen by an attacker, with a matching form field, passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_token_is_bound_to_the_session() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.user("admin").await;
    let (s, _) = app
        .post(
            "/api/v1/boards",
            &app.token_for("admin", "password123").await,
            json!({"slug": "general", "name": "General"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    app.user("victim").await;
    // The victim's session token, as the browser holds it.
    let browser = app.browser();
    let csrf = common::csrf_of(&app, &browser, "/signin").await;
    let r = browser
        .post(app.url("/signin"))
        .form(&[("login", "victim"), ("password", "password123"), ("_csrf", &csrf)])
        .send()
        .await
        .unwrap();
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("fl_session="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_string();
    let forged = "a".repeat(64);
    let r = app
        .api()
        .post(app.url("/b/general/new"))
        .header("cookie", format!("fl_session={session}; fl_csrf={forged}"))
        .form(&[("_csrf", forged.as_str()), ("title", "forged"), ("body", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .api()
        .post(app.url("/api/v1/boards/general/threads"))
        .header("cookie", format!("fl_session={session}; fl_csrf={forged}"))
        .header("x-csrf-token", &forged)
        .json(&json!({"title": "forged", "body": "forged"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A pair the server really issued, to a visitor cookie the attacker chose, is no good once
    // the victim is signed in: the token follows the session.
    let planted = "b".repeat(64);
    let page = app
        .api()
        .get(app.url("/signin"))
        .header("cookie", format!("fl_csrf={planted}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"csrf-token\" content=\"";
    let at = page.find(marker).unwrap() + marker.len();
    let issued = page[at..at + 64].to_string();
    let r = app
        .api()
        .post(app.url("/b/general/new"))
        .header("cookie", format!("fl_session={session}; fl_csrf={planted}"))
        .form(&[("_csrf", issued.as_str()), ("title", "planted"), ("body", "planted")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a planted visitor pair");
    // Behind HTTPS a plain `fl_session` (which a sibling domain could set) is not read.
    let r = app
        .api()
        .get(app.url("/settings"))
        .header("x-forwarded-proto", "https")
        .header("cookie", format!("fl_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .api()
        .get(app.url("/settings"))
        .header("x-forwarded-proto", "https")
        .header("cookie", format!("__Host-fl_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, threads) = app.get("/api/v1/boards/general/threads", None).await;
    assert_eq!(threads["total"].as_i64().unwrap_or(0), 0, "nothing posted: {threads}");
    // A write the browser marks as sent from another site is refused even with a good token.
    let csrf = common::csrf_of(&app, &browser, "/b/general").await;
    let r = browser
        .post(app.url("/b/general/new"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("_csrf", csrf.as_str()), ("title", "cross"), ("body", "cross")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The real page's token works.
    let r = browser
        .post(app.url("/b/general/new"))
        .form(&[("_csrf", csrf.as_str()), ("title", "real"), ("body", "real")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    app.stop().await;
}

/// Defect 12: a lone `\r` was deleted and joined two words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_endings_are_kept_as_line_breaks() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = app.user("admin").await;
    app.post("/api/v1/boards", &admin, json!({"slug": "general", "name": "General"}))
        .await;
    let (s, t) = app
        .post(
            "/api/v1/boards/general/threads",
            &admin,
            json!({"title": "one\rtwo", "body": "first\rsecond\r\nthird"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let (_, t) = app.get(&format!("/api/v1/threads/{}", t["thread_id"]), None).await;
    let text = t.to_string();
    assert!(text.contains("one two"), "{t}");
    assert!(text.contains("first\\nsecond\\nthird"), "{t}");
    app.stop().await;
}

/// Defect 13: query parameters declared as path parameters, path parameters missing, tuple
/// `items`, and responses missing from the document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_is_consistent() {
    let spec = serde_json::to_value(fanloop::openapi()).unwrap();
    let mut problems = Vec::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        let placeholders: HashSet<String> = path
            .split('{')
            .skip(1)
            .filter_map(|p| p.split('}').next())
            .map(str::to_string)
            .collect();
        for (method, op) in ops.as_object().unwrap() {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let declared: HashSet<String> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap().to_string())
                .collect();
            if declared != placeholders {
                problems.push(format!("{method} {path}: path params {declared:?} ≠ {placeholders:?}"));
            }
            let responses = op["responses"].as_object().unwrap();
            if op.get("security").is_some() && !responses.contains_key("401") {
                problems.push(format!("{method} {path}: no 401"));
            }
            if !placeholders.is_empty() && !responses.contains_key("404") {
                problems.push(format!("{method} {path}: no 404"));
            }
            if op.get("requestBody").is_some() && !responses.contains_key("415") {
                problems.push(format!("{method} {path}: no 415"));
            }
        }
    }
    // `items` must be a schema; the tuple form `items: [a, b]` is not OpenAPI 3.1.
    fn tuple_items(v: &Value, at: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    if k == "items" && x.is_array() {
                        out.push(at.to_string());
                    }
                    tuple_items(x, &format!("{at}/{k}"), out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| tuple_items(x, at, out)),
            _ => {}
        }
    }
    tuple_items(&spec, "", &mut problems);
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Every page reachable by links from `/` (and the staff pages), as anonymous, a fan, staff and
/// the admin, in zh, en and fr: no answer may be a 5xx. At most a few URLs of each shape are
/// visited (the demo has hundreds of threads that all render the same way).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_as_every_role_in_every_language() {
    let (app, admin_pw, member_pw) = demo_app().await;
    let roles: [(&str, Option<(&str, &str)>); 5] = [
        ("anonymous", None),
        ("fan", Some(("alex_chen", member_pw.as_str()))),
        ("moderator", Some(("mod_xiaoyu", member_pw.as_str()))),
        ("staff", Some(("camera_lead_li", member_pw.as_str()))),
        ("admin", Some(("admin", admin_pw.as_str()))),
    ];
    let seeds = [
        "/",
        "/f",
        "/f/aurora-x2/triage",
        "/f/aurora-x2/new",
        "/requests/1",
        "/requests/2",
        "/drops",
        "/drops/new",
        "/vetting",
        "/trending",
        "/campaigns",
        "/hub",
        "/hub/me",
        "/hub/manage",
        "/hub/write",
        "/hub/series/pregnancy-weekly-fr",
        "/hub/ask",
        "/hub/faq",
        "/hub?q=睡眠&lang=all",
        "/hub?filter=pregnancy%3D12",
        "/admin/boards",
        "/admin/users",
        "/mod",
        "/settings",
        "/notifications",
        "/awards",
        "/search?q=电池",
        "/search?q=",
        "/signin",
        "/signup",
        "/no-such-page",
    ];
    let mut failures = Vec::new();
    let mut visited_total = 0;
    for (role, login) in roles {
        let browser = match login {
            Some((name, pw)) => app.browser_as(name, pw).await.0,
            None => app.browser(),
        };
        for lang in ["zh", "en", "fr"] {
            let mut shapes: BTreeMap<String, usize> = BTreeMap::new();
            let mut seen: HashSet<String> = HashSet::new();
            let mut queue: VecDeque<String> = seeds.iter().map(|s| s.to_string()).collect();
            while let Some(url) = queue.pop_front() {
                if !seen.insert(url.clone()) {
                    continue;
                }
                let shape = shape_of(&url);
                let n = shapes.entry(shape).or_default();
                if *n >= 3 {
                    continue;
                }
                *n += 1;
                visited_total += 1;
                if visited_total % 200 == 0 {
                    eprintln!("{visited_total} pages…");
                }
                let started = std::time::Instant::now();
                let r = browser
                    .get(app.url(&url))
                    .header("cookie", format!("fl_lang={lang}"))
                    .timeout(std::time::Duration::from_secs(10))
                    .send()
                    .await;
                let r = match r {
                    Ok(r) => r,
                    Err(e) => {
                        failures.push(format!("{role} {lang} {url}: {e}"));
                        continue;
                    }
                };
                if started.elapsed() > std::time::Duration::from_millis(500) {
                    eprintln!("slow: {role} {lang} {url} {:?}", started.elapsed());
                }
                let status = r.status();
                if status.is_server_error() {
                    failures.push(format!("{role} {lang} {url}: {status}"));
                    continue;
                }
                let is_html = r
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("text/html"));
                if !is_html {
                    continue;
                }
                let html = r.text().await.unwrap();
                for link in links(&html) {
                    if !seen.contains(&link) {
                        queue.push_back(link);
                    }
                }
            }
        }
    }
    eprintln!("crawled {visited_total} pages");
    assert!(visited_total > 300, "the crawl reached {visited_total} pages");
    assert!(failures.is_empty(), "{failures:#?}");
    app.stop().await;
}

/// Pages of one shape render the same template: `/t/123?page=4` and `/t/9?page=2` are both
/// `t|2|?page`; the last segment counts when there are three or more (`/f/x/roadmap`).
fn shape_of(url: &str) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut shape = format!("{}|{}", segments.first().unwrap_or(&""), segments.len());
    if segments.len() >= 3 {
        let last = segments[segments.len() - 1];
        shape.push('|');
        shape.push_str(
            &last
                .chars()
                .map(|c| if c.is_ascii_digit() { 'N' } else { c })
                .collect::<String>(),
        );
    }
    let mut keys: Vec<&str> = query
        .split('&')
        .filter_map(|kv| kv.split('=').next())
        .filter(|k| !k.is_empty())
        .collect();
    keys.sort();
    shape.push_str(&format!("|?{}", keys.join(",")));
    shape
}

/// Same-site links of a page (no language switch, no static files, no fragments).
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|h| h.replace("&amp;", "&").replace("&#x2f;", "/").replace("&#x27;", "'"))
        .map(|h| h.split('#').next().unwrap_or("").to_string())
        .filter(|h| h.starts_with('/') && !h.starts_with("//"))
        .filter(|h| !h.starts_with("/static/") && !h.starts_with("/lang/") && !h.starts_with("/api/"))
        .collect()
}
