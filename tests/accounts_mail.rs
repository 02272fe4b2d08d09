//! Accounts and e-mail over HTTP against a real SMTP server (aiosmtpd), on SQLite and
//! PostgreSQL: sign up → verify → reset password → change address → a mention mailed in the
//! recipient's language → digest → one-click unsubscribe; suspension and silence; the audit
//! log; the outbox without SMTP; and a node killed mid-send.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{csrf_of, Backend, SmtpSink, TestApp};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

/// Signs up in a browser whose language is `lang`; returns the browser (signed in).
async fn browser_signup(app: &TestApp, name: &str, email: &str, lang: &str) -> Client {
    let browser = app.browser();
    let r = browser.get(app.url(&format!("/lang/{lang}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let csrf = csrf_of(app, &browser, "/signup").await;
    let r = browser
        .post(app.url("/signup"))
        .form(&[
            ("username", name),
            ("email", email),
            ("password", "password123"),
            ("_csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "sign up {name}");
    browser
}

/// Posts a form of the page at `page` (its CSRF token) to `action`.
async fn submit(
    app: &TestApp,
    browser: &Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let csrf = csrf_of(app, browser, page).await;
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("_csrf", &csrf));
    let r = browser.post(app.url(action)).form(&form).send().await.unwrap();
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{action}: {body}");
    (status, body)
}

async fn lifecycle(app: &TestApp, sink: &SmtpSink) {
    // The first account is the administrator; it signs up in English.
    let admin = browser_signup(app, "admin", "admin@example.com", "en").await;
    let mails = sink.wait_for(1).await;
    assert_eq!(mails[0].to, "admin@example.com");
    assert_eq!(mails[0].subject, "Confirm your e-mail address");

    // A fan signs up in Chinese: the letter is in Chinese, text and HTML, no unsubscribe.
    let fan = browser_signup(app, "小米粒", "mi@example.com", "zh").await;
    sink.wait_for(2).await;
    let letter = sink.to("mi@example.com").pop().unwrap();
    assert_eq!(letter.subject, "请验证你的邮箱");
    assert!(letter.text.contains("小米粒，你好"), "{}", letter.text);
    assert!(
        letter
            .html
            .contains("<a href=\"http:&#x2f;&#x2f;fanloop.test&#x2f;account&#x2f;verify&#x2f;"),
        "{}",
        letter.html
    );
    assert!(letter.header("List-Unsubscribe").is_none());
    assert!(letter.message_id.contains("fanloop.test"), "{}", letter.message_id);
    let settings = fan
        .get(app.url("/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(settings.contains("未验证"), "unverified at first");

    // The link shows a button; pressing it proves the address; the link is then spent.
    let link = letter.link("/account/verify/").unwrap();
    let page = fan.get(app.url(&link)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let (s, body) = submit(app, &fan, &link, &link, &[]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("邮箱已验证"));
    let settings = fan
        .get(app.url("/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(settings.contains("已验证") && !settings.contains("未验证"));
    let (s, _) = submit(app, &fan, "/settings", &link, &[]).await;
    assert_eq!(s, StatusCode::GONE, "a used link");

    // Forgot password: the same answer for a stranger's address and for the fan's; only the
    // fan gets a letter.
    let anon = app.browser();
    let (s1, unknown) = submit(
        app,
        &anon,
        "/account/forgot",
        "/account/forgot",
        &[("login", "nobody@example.com")],
    )
    .await;
    let (s2, known) = submit(
        app,
        &anon,
        "/account/forgot",
        "/account/forgot",
        &[("login", "MI@example.com")],
    )
    .await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    let strip = |p: &str| {
        p.split("<main")
            .nth(1)
            .unwrap_or("")
            .split("</main>")
            .next()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(strip(&unknown), strip(&known), "no account enumeration");
    sink.wait_for(3).await;
    let reset = sink.to("mi@example.com").pop().unwrap();
    assert_eq!(reset.subject, "重置你的密码");
    assert!(sink.to("nobody@example.com").is_empty());
    let reset_link = reset.link("/account/reset/").unwrap();

    // A second device of the fan, signed in before the reset.
    let (other_device, _) = app.browser_as("小米粒", "password123").await;
    assert_eq!(
        other_device.get(app.url("/settings")).send().await.unwrap().status(),
        StatusCode::OK
    );

    // Two different passwords are refused and the form stays; then the reset works once.
    let (s, body) = submit(
        app,
        &anon,
        &reset_link,
        &reset_link,
        &[("password", "newpassword1"), ("confirm", "other")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, _) = submit(
        app,
        &anon,
        &reset_link,
        &reset_link,
        &[("password", "newpassword1"), ("confirm", "newpassword1")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        anon.get(app.url("/settings")).send().await.unwrap().status(),
        StatusCode::OK,
        "signed in after reset"
    );
    assert_eq!(
        other_device.get(app.url("/settings")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "every other session ended"
    );
    assert_eq!(
        fan.get(app.url("/settings")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        anon.get(app.url(&reset_link)).send().await.unwrap().status(),
        StatusCode::GONE,
        "single use"
    );
    let fan = anon;
    let (s, _) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/tokens",
            None,
            Some(json!({"login": "小米粒", "password": "newpassword1"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "the new password works");

    // Change of address: needs the current password; the new address confirms it; the old one
    // is told.
    let (s, body) = submit(
        app,
        &fan,
        "/settings",
        "/settings/email",
        &[("email", "mi.new@example.com"), ("current", "wrong")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("mi.new@example.com"), "what was typed stays");
    let (s, _) = submit(
        app,
        &fan,
        "/settings",
        "/settings/email",
        &[("email", "mi.new@example.com"), ("current", "newpassword1")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    sink.wait_for(4).await;
    let change = sink.to("mi.new@example.com").pop().unwrap();
    assert_eq!(change.subject, "请验证你的新邮箱");
    let link = change.link("/account/verify/").unwrap();
    let (s, _) = submit(app, &fan, &link, &link, &[]).await;
    assert_eq!(s, StatusCode::OK);
    sink.wait_for(5).await;
    let told = sink.to("mi@example.com").pop().unwrap();
    assert_eq!(told.subject, "你的邮箱已更改");
    assert!(told.text.contains("mi.new@example.com"));
    let settings = fan
        .get(app.url("/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(settings.contains("mi.new@example.com"));
    // Another account's address gets the same answer as a free one, and no letter.
    let before_taken = sink.messages().len();
    let (s, body) = submit(
        app,
        &fan,
        "/settings",
        "/settings/email",
        &[("email", "ADMIN@example.com"), ("current", "newpassword1")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), before_taken, "nothing tells whose address it is");
    // A reset now goes to the current address.
    let (s, _) = submit(
        app,
        &app.browser(),
        "/account/forgot",
        "/account/forgot",
        &[("login", "小米粒")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let fresh = sink.wait_for(before_taken + 1).await;
    assert_eq!(
        fresh.last().unwrap().to,
        "mi.new@example.com",
        "the reset goes to the current address"
    );

    // A mention reaches the fan by mail, in Chinese, with one-click unsubscribe (RFC 8058).
    let admin_token = app.token_for("admin", "password123").await;
    let (s, _) = app
        .post(
            "/api/v1/boards",
            &admin_token,
            json!({"slug": "x2", "name": "X2", "description": "讨论"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, t) = app
        .post(
            "/api/v1/boards/x2/threads",
            &admin_token,
            json!({"title": "Night mode feedback", "body": "@小米粒 could you try the new build?"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let all = sink.wait_for(before_taken + 2).await;
    let mention = all.iter().rev().find(|m| m.to == "mi.new@example.com").unwrap().clone();
    assert!(mention.subject.starts_with("admin 提到了你"), "{}", mention.subject);
    assert!(mention.text.contains("Night mode feedback"));
    let unsubscribe = mention
        .header("List-Unsubscribe")
        .unwrap()
        .trim_matches(['<', '>'])
        .to_string();
    assert_eq!(
        mention.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let path = unsubscribe.strip_prefix("http://fanloop.test").unwrap().to_string();
    // The mail client's one-click POST: no cookie, no CSRF token.
    let r = app
        .api()
        .post(app.url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let prefs = fan
        .get(app.url("/settings/notifications"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mention_select = prefs
        .split("name=\"kind.mention\"")
        .nth(1)
        .unwrap()
        .split("</select>")
        .next()
        .unwrap();
    assert!(
        mention_select.contains("value=\"site\" selected"),
        "mentions now on the site only: {mention_select}"
    );
    // A forged link does nothing.
    let forged = path.replace("mention", "reply");
    assert_eq!(
        app.api().post(app.url(&forged)).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let count = sink.messages().len();
    let (s, _) = app
        .post(
            "/api/v1/boards/x2/threads",
            &admin_token,
            json!({"title": "Second ping", "body": "@小米粒 and again"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(sink.messages().len(), count, "no mail after unsubscribing");
    let unread: Value = app
        .get(
            "/api/v1/notifications",
            Some(&app.token_for("小米粒", "newpassword1").await),
        )
        .await
        .1;
    assert!(
        unread["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "mention")
            .count()
            >= 2,
        "still on the site"
    );

    // The digest: mentions go to it; when it is due, one letter lists what is unread.
    let (s, _) = submit(
        app,
        &fan,
        "/settings/notifications",
        "/settings/notifications",
        &[
            ("kind.mention", "digest"),
            ("digest_every", "daily"),
            ("mail_lang", "zh"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    for title in ["Third ping", "Fourth ping"] {
        let (s, _) = app
            .post(
                "/api/v1/boards/x2/threads",
                &admin_token,
                json!({"title": title, "body": "@小米粒 digest me"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(sink.messages().len(), count, "digest not due yet");
    sqlx::query("UPDATE users SET digest_sent_at = 0 WHERE username = '小米粒'")
        .execute(&app.state.platform.db.pool)
        .await
        .unwrap();
    app.state.platform.wake_mail();
    let all = sink.wait_for(count + 1).await;
    let digest = all.last().unwrap();
    assert_eq!(digest.to, "mi.new@example.com");
    assert_eq!(digest.subject, "你有 2 条新通知", "{digest:?}");
    assert!(digest.text.contains("Third ping") && digest.text.contains("Fourth ping"));
    assert!(digest.header("List-Unsubscribe").unwrap().contains("/unsubscribe/"));

    // Change password from settings: the current one is asked; other devices end.
    let (second, _) = app.browser_as("小米粒", "newpassword1").await;
    let (s, _) = submit(
        app,
        &fan,
        "/settings",
        "/settings/password",
        &[
            ("current", "nope"),
            ("password", "thirdpass1"),
            ("confirm", "thirdpass1"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = submit(
        app,
        &fan,
        "/settings",
        "/settings/password",
        &[
            ("current", "newpassword1"),
            ("password", "thirdpass1"),
            ("confirm", "thirdpass1"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        fan.get(app.url("/settings")).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        second.get(app.url("/settings")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // The sessions page lists this device; a device can be signed out from another.
    let (third, _) = app.browser_as("小米粒", "thirdpass1").await;
    let page = fan
        .get(app.url("/settings/sessions"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("this device"), "{page}");
    let (s, _) = submit(app, &fan, "/settings/sessions", "/settings/sessions/end-others", &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        third.get(app.url("/settings")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    drop(admin);
}

async fn moderation(app: &TestApp, _sink: &SmtpSink) {
    let admin = app.user("admin").await;
    let fan = app.user("troll").await;
    let (s, _) = app
        .post(
            "/api/v1/boards",
            &admin,
            json!({"slug": "x2", "name": "X2", "description": "d"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (browser, _) = app.browser_as("troll", "password123").await;
    assert_eq!(
        browser.get(app.url("/settings")).send().await.unwrap().status(),
        StatusCode::OK
    );

    // The bio: too long is refused with what was typed kept; then shown on the profile.
    let long = "长".repeat(501);
    let (s, body) = submit(app, &browser, "/settings", "/settings/profile", &[("bio", &long)]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains(&long));
    let (s, _) = submit(
        app,
        &browser,
        "/settings",
        "/settings/profile",
        &[("bio", "米粉，摄影爱好者\n<b>hi</b>")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let profile = app
        .api()
        .get(app.url("/u/troll"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        profile.contains("米粉，摄影爱好者") && profile.contains("&lt;b&gt;hi"),
        "escaped"
    );

    // Silence: reads work, writes are refused with the reason, settings still work.
    let (s, body) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/users/troll/sanctions/silence",
            Some(&admin),
            Some(json!({"days": 3, "reason": "spam links"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = app
        .post(
            "/api/v1/boards/x2/threads",
            &fan,
            json!({"title": "buy now", "body": "cheap"}),
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("silenced")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("spam links"));
    assert_eq!(app.get("/api/v1/boards", Some(&fan)).await.0, StatusCode::OK);
    let (s, _) = submit(
        app,
        &browser,
        "/settings/notifications",
        "/settings/notifications",
        &[("digest_every", "daily")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "a silenced member keeps their settings");
    let (s, body) = submit(
        app,
        &browser,
        "/b/x2",
        "/b/x2/new",
        &[("title", "hello"), ("body", "there")],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("spam links"));

    // A staff account cannot be sanctioned; a fan cannot sanction.
    let (s, _) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/users/admin/sanctions/suspend",
            Some(&admin),
            Some(json!({"days": 1, "reason": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/users/admin/sanctions/suspend",
            Some(&fan),
            Some(json!({"days": 1, "reason": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/users/troll/sanctions/suspend",
            Some(&admin),
            Some(json!({"days": 0, "reason": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/users/troll/sanctions/suspend",
            Some(&admin),
            Some(json!({"days": 2, "reason": "  "})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Suspension: the open session and the token stop at once; sign-in says why and until when.
    let (s, _) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/users/troll/sanctions/suspend",
            Some(&admin),
            Some(json!({"days": 7, "reason": "repeated spam"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        browser.get(app.url("/settings")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let (s, body) = app.get("/api/v1/me", Some(&fan)).await;
    assert_eq!((s, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("suspended")));
    let again = app.browser();
    let csrf = csrf_of(app, &again, "/signin").await;
    let r = again
        .post(app.url("/signin"))
        .form(&[("login", "troll"), ("password", "password123"), ("_csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("repeated spam"));
    let (s, _) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/tokens",
            None,
            Some(json!({"login": "troll", "password": "password123"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Lifting it lets them back in.
    let (s, _) = app
        .call(
            reqwest::Method::DELETE,
            "/api/v1/users/troll/sanctions/suspend",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.get("/api/v1/me", Some(&fan)).await.0, StatusCode::OK);

    // The audit log has each action, with who and what; filters work; fans cannot read it.
    let (s, log) = app.get("/api/v1/audit?action=user.", Some(&admin)).await;
    assert_eq!(s, StatusCode::OK);
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["user.unsuspend", "user.suspend", "user.silence"], "{log}");
    assert_eq!(log[1]["actor"], "admin");
    assert_eq!(log[1]["target_label"], "troll");
    assert_eq!(log[1]["detail"]["reason"], "repeated spam");
    let (s, _) = app.get("/api/v1/audit", Some(&fan)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (admin_browser, _) = app.browser_as("admin", "password123").await;
    let page = admin_browser
        .get(app.url("/admin/audit?action=user.suspend"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("repeated spam"));
    // A role change is logged too.
    let (s, _) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/users/troll/role",
            Some(&admin),
            Some(json!({"role": "moderator"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, log) = app.get("/api/v1/audit?action=user.role", Some(&admin)).await;
    assert_eq!(log[0]["detail"]["to"], "moderator", "{log}");
}

macro_rules! with_mail {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let Some(sink) = SmtpSink::start(0.0) else { return };
                let app = TestApp::spawn_mail(Backend::Sqlite, Some(sink.url.clone()))
                    .await
                    .unwrap();
                ($body)(&app, &sink).await;
                app.stop().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(sink) = SmtpSink::start(0.0) else { return };
                let Some(app) = TestApp::spawn_mail(Backend::Postgres, Some(sink.url.clone())).await else {
                    return;
                };
                ($body)(&app, &sink).await;
                app.stop().await;
            }
        }
    };
}

with_mail!(account_lifecycle_by_mail, lifecycle);
with_mail!(suspension_silence_and_audit, moderation);

/// Without SMTP, mail is kept and listed for the administrator, never dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_smtp_mail_waits_in_the_outbox() {
    let app = TestApp::spawn_mail(Backend::Sqlite, None).await.unwrap();
    app.user("admin").await;
    app.user("fan").await;
    let (browser, _) = app.browser_as("admin", "password123").await;
    let page = browser
        .get(app.url("/admin/mail"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Not sent: no SMTP"), "{page}");
    assert!(page.contains("fan@example.com") && page.contains("admin@example.com"));
    let (fan, _) = app.browser_as("fan", "password123").await;
    assert_eq!(
        fan.get(app.url("/admin/mail")).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    app.stop().await;
}

/// The real binary is killed (SIGKILL) while it talks to a slow SMTP server, then restarted:
/// every message arrives exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_send_loses_no_mail_and_sends_none_twice() {
    let Some(sink) = SmtpSink::start(0.4) else { return };
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let start = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_fanloop"))
            .args(["serve", "--no-demo", "--addr", &format!("127.0.0.1:{port}"), "--data"])
            .arg(dir.path())
            .args(["--smtp-url", &sink.url, "--public-url", "http://fanloop.test"])
            .env("FANLOOP_MAIL_POLL_MS", "100")
            .env("FANLOOP_MAIL_LEASE_MS", "6000")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut node = start();
    common::wait_healthy(&base).await;
    let c = reqwest::Client::new();
    const N: usize = 12;
    for i in 0..N {
        let r = c
            .post(format!("{base}/api/v1/users"))
            .json(&json!({"username": format!("fan{i}"), "email": format!("fan{i}@example.com"), "password": "password123"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    // Each message waits 0.4 s at the server before its recipient is accepted; the node is
    // killed in that wait, mid-conversation, before the server accepted the message.
    let busy = sink.dir.path().join("rcpt.busy");
    let mut kills = 0;
    while sink.messages().len() < N && kills < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(300 + 400 * kills)).await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !busy.exists() && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        node.kill().unwrap();
        node.wait().unwrap();
        kills += 1;
        node = start();
        common::wait_healthy(&base).await;
    }
    let mails = sink.wait_for(N).await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let mails_after = sink.messages();
    node.kill().unwrap();
    let _ = node.wait();
    assert!(kills >= 1, "the node was killed mid-run");
    let mut recipients: Vec<String> = mails_after.iter().map(|m| m.to.clone()).collect();
    recipients.sort();
    let mut expected: Vec<String> = (0..N).map(|i| format!("fan{i}@example.com")).collect();
    expected.sort();
    assert_eq!(
        recipients,
        expected,
        "each exactly once after {kills} kills ({} then {})",
        mails.len(),
        mails_after.len()
    );
}

/// New accounts: posts per day, links and images per post, and first posts with links held
/// for a moderator; the limits lift with the honor level.
async fn new_account_limits(app: &TestApp) {
    let admin = app.user("admin").await;
    let (s, _) = app
        .post(
            "/api/v1/boards",
            &admin,
            json!({"slug": "x2", "name": "X2", "description": "d"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let fan = app.user("newbie").await;

    // Three links in one post: refused (at most two), the text is not stored.
    let (s, body) = app
        .post(
            "/api/v1/boards/x2/threads",
            &fan,
            json!({"title": "deals", "body": "https://a.example https://b.example www.c.example"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, _) = app
        .post(
            "/api/v1/boards/x2/threads",
            &fan,
            json!({"title": "pics", "body": "![a](https://a.example/1.png) ![b](https://a.example/2.png)"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "two images");

    // One link: held for review, not published, not searchable.
    let (s, held) = app
        .post(
            "/api/v1/boards/x2/threads",
            &fan,
            json!({"title": "My night photos", "body": "Album: [here](https://photos.example/night)"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{held}");
    let held_id = held["held_id"].as_i64().unwrap();
    let (_, threads) = app.get("/api/v1/boards/x2/threads", None).await;
    assert_eq!(threads["total"], 0, "{threads}");
    let (s, _) = app.get("/api/v1/moderation/held", Some(&fan)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, queue) = app.get("/api/v1/moderation/held", Some(&admin)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(queue[0]["title"], "My night photos");

    // Without links it is published at once.
    let (s, plain) = app
        .post(
            "/api/v1/boards/x2/threads",
            &fan,
            json!({"title": "hello", "body": "first post"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{plain}");

    // The moderator publishes the held one, as its author; the audit log says who.
    let (s, done) = app
        .post(
            &format!("/api/v1/moderation/held/{held_id}"),
            &admin,
            json!({"approve": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    let thread_id = done["thread_id"].as_i64().unwrap();
    let (_, thread) = app.get(&format!("/api/v1/threads/{thread_id}"), None).await;
    assert_eq!(thread["thread"]["author"]["username"], "newbie", "{thread}");
    let (s, _) = app
        .post(
            &format!("/api/v1/moderation/held/{held_id}"),
            &admin,
            json!({"approve": true}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "decided once");
    let (_, log) = app.get("/api/v1/audit?action=post.approve", Some(&admin)).await;
    assert_eq!(log[0]["actor"], "admin");
    // A rejected one is gone from the queue; links cannot be added by editing either.
    let (s, held2) = app
        .post(
            "/api/v1/boards/x2/threads",
            &fan,
            json!({"title": "spam", "body": "buy at https://spam.example"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = app
        .post(
            &format!("/api/v1/moderation/held/{}", held2["held_id"]),
            &admin,
            json!({"approve": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, queue) = app.get("/api/v1/moderation/held", Some(&admin)).await;
    assert_eq!(queue.as_array().unwrap().len(), 0, "{queue}");
    let post_id = plain["post_id"].as_i64().unwrap();
    let (s, body) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/posts/{post_id}"),
            Some(&fan),
            Some(json!({"body": "first post, now with https://spam.example"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Ten posts a day (held ones count, rejected too): the next is refused with 429.
    for i in 0..7 {
        let (s, b) = app
            .post(
                &format!("/api/v1/threads/{thread_id}/posts"),
                &fan,
                json!({"body": format!("reply {i}")}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{i}: {b}");
    }
    let (s, body) = app
        .post(
            &format!("/api/v1/threads/{thread_id}/posts"),
            &fan,
            json!({"body": "one too many"}),
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
        "{body}"
    );

    // A beta tester has no such limits.
    let (s, _) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/users/newbie/role",
            Some(&admin),
            Some(json!({"role": "beta_tester"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .post(
            "/api/v1/boards/x2/threads",
            &fan,
            json!({"title": "links ok", "body": "https://a.example https://b.example https://c.example"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
}

both_backends!(new_accounts_are_limited_until_trusted, new_account_limits);

/// The F-code letter shows the code (once: the notification is not mailed again), and reservers
/// are reminded before the drop opens, in their language.
async fn launch_mail(app: &TestApp, sink: &SmtpSink) {
    let admin = browser_signup(app, "admin", "admin@example.com", "en").await;
    drop(admin);
    let fan = browser_signup(app, "小米粒", "mi@example.com", "zh").await;
    let mails = sink.wait_for(2).await;
    let link = mails
        .iter()
        .find(|m| m.to == "mi@example.com")
        .unwrap()
        .link("/account/verify/")
        .unwrap();
    let (s, _) = submit(app, &fan, &link, &link, &[]).await;
    assert_eq!(s, StatusCode::OK);
    let admin = app.token_for("admin", "password123").await;
    let fan_token = app.token_for("小米粒", "password123").await;
    let now = fanloop_platform::db::now_ms();
    let (s, d) = app
        .post(
            "/api/v1/drops",
            &admin,
            json!({
                "slug": "x2", "name": "Aurora X2 首发", "price_cents": 399900, "per_account_limit": 1,
                "reservations_open_at": now - 60_000, "reservations_close_at": now + 600_000,
                "fcode_opens_at": now, "opens_at": now + 600_000, "closes_at": now + 3_600_000,
                "mode": {"kind": "open"}, "payment_seconds": 600,
                "variants": [{"name": "Black", "stock": 10, "fcode_stock": 2}]
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let (s, codes) = app
        .post("/api/v1/drops/x2/fcodes", &admin, json!({"usernames": ["小米粒"]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{codes}");
    let code = codes[0]["code"].as_str().unwrap().to_string();
    let all = sink.wait_for(3).await;
    let letter = all.last().unwrap();
    assert_eq!(letter.to, "mi@example.com");
    assert_eq!(letter.subject, "你的 Aurora X2 首发 F 码");
    assert!(letter.text.contains(&code), "{}", letter.text);
    assert!(letter.header("List-Unsubscribe").is_some());

    // A reserver is reminded half an hour before the opening (here: it opens in 10 minutes).
    let (s, _) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/drops/x2/reservations",
            Some(&fan_token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let launches = fanloop_launches::LaunchState::new(app.state.platform.clone());
    let reminded = fanloop_launches::service::send_reminders(&launches, fanloop_platform::db::now_ms())
        .await
        .unwrap();
    assert_eq!(reminded, 1);
    assert_eq!(
        fanloop_launches::service::send_reminders(&launches, fanloop_platform::db::now_ms())
            .await
            .unwrap(),
        0,
        "once per drop"
    );
    let all = sink.wait_for(4).await;
    let reminder = all.last().unwrap();
    assert_eq!(reminder.to, "mi@example.com");
    assert!(
        reminder.subject.contains("你预约的发售即将开始"),
        "{}",
        reminder.subject
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        sink.messages().len(),
        4,
        "the F-code notification was not mailed a second time"
    );
}

with_mail!(fcode_letters_and_launch_reminders, launch_mail);

/// Watching a thread, unread counts, the "new since your last visit" line, and bookmarks.
async fn watching_and_bookmarks(app: &TestApp) {
    let admin = app.user("admin").await;
    let (s, _) = app
        .post(
            "/api/v1/boards",
            &admin,
            json!({"slug": "x2", "name": "X2", "description": "d"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let author = app.user("author").await;
    app.user("reader").await;
    let (s, t) = app
        .post(
            "/api/v1/boards/x2/threads",
            &author,
            json!({"title": "Battery report", "body": "first"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let thread = t["thread_id"].as_i64().unwrap();
    let (reader, _) = app.browser_as("reader", "password123").await;
    let page = reader
        .get(app.url(&format!("/t/{thread}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("new-marker"), "nothing new on a first visit");
    let (s, _) = submit(
        app,
        &reader,
        &format!("/t/{thread}"),
        &format!("/t/{thread}/watch"),
        &[("on", "1")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _) = submit(
        app,
        &reader,
        &format!("/t/{thread}"),
        &format!("/t/{thread}/bookmark"),
        &[("on", "1")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    // Two replies by the author: the watcher is notified of each; the board shows 2 new.
    for body in ["second", "third"] {
        let (s, _) = app
            .post(
                &format!("/api/v1/threads/{thread}/posts"),
                &author,
                json!({"body": body}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let reader_token = app.token_for("reader", "password123").await;
    let (_, notes) = app.get("/api/v1/notifications", Some(&reader_token)).await;
    let replies = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "reply")
        .count();
    assert_eq!(replies, 2, "{notes}");
    let board = reader.get(app.url("/b/x2")).send().await.unwrap().text().await.unwrap();
    assert!(board.contains("2 new"), "unread count on the board");
    let bookmarks = reader
        .get(app.url("/bookmarks"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(bookmarks.contains("Battery report") && bookmarks.contains("2 new"));

    // The thread shows where the reader left off; once read, nothing is new.
    let page = reader
        .get(app.url(&format!("/t/{thread}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = page.find("new-marker").expect("a new-since marker");
    assert!(
        page[marker..].contains("second") && !page[marker..].contains(">first<"),
        "before the first new post"
    );
    let board = reader.get(app.url("/b/x2")).send().await.unwrap().text().await.unwrap();
    assert!(!board.contains(" new</a>"), "read now");

    // Unwatched and unbookmarked: no more notifications, no bookmark.
    let (s, _) = submit(
        app,
        &reader,
        &format!("/t/{thread}"),
        &format!("/t/{thread}/watch"),
        &[("on", "0")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _) = submit(
        app,
        &reader,
        &format!("/t/{thread}"),
        &format!("/t/{thread}/bookmark"),
        &[("on", "0")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _) = app
        .post(
            &format!("/api/v1/threads/{thread}/posts"),
            &author,
            json!({"body": "fourth"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, notes) = app.get("/api/v1/notifications", Some(&reader_token)).await;
    let replies = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "reply")
        .count();
    assert_eq!(replies, 2);
    let bookmarks = reader
        .get(app.url("/bookmarks"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!bookmarks.contains("Battery report"));
}

both_backends!(watching_unread_and_bookmarks, watching_and_bookmarks);

/// A multipart form with the page's CSRF token and one file.
async fn send_picture(
    app: &TestApp,
    browser: &Client,
    page: &str,
    action: &str,
    name: &str,
    data: Vec<u8>,
) -> (StatusCode, String) {
    let csrf = csrf_of(app, browser, page).await;
    let form = reqwest::multipart::Form::new().text("_csrf", csrf).part(
        "file",
        reqwest::multipart::Part::bytes(data).file_name(name.to_string()),
    );
    let r = browser.post(app.url(action)).multipart(form).send().await.unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = r.text().await.unwrap();
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{action}: {body}");
    (
        status,
        if status == StatusCode::SEE_OTHER {
            location
        } else {
            body
        },
    )
}

/// Sends `data` to the upload API as `token`.
async fn upload(app: &TestApp, token: &str, name: &str, data: Vec<u8>) -> (StatusCode, Value) {
    let r = app
        .api()
        .post(app.url(&format!("/api/v1/uploads?name={name}")))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(data)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{text}");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Pictures in posts, avatars and display names: a phone photo is turned upright, resized and
/// stripped of its GPS position; what is not a picture is refused with the reason in the
/// reader's language; a display name cannot pass for another member.
async fn pictures_and_profiles(app: &TestApp) {
    use fanloop_platform::images::{test_jpeg_with_exif, test_png};
    let admin = app.user("admin").await;
    let fan = app.user("pic_fan").await;
    let (s, _) = app
        .post(
            "/api/v1/boards",
            &admin,
            json!({"slug": "pics", "name": "Pics", "description": "d"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    // A phone photo held sideways, with its GPS position.
    let photo = test_jpeg_with_exif(3000, 2000, 6);
    assert!(contains(&photo, b"GPS 31.2N"));
    let (s, info) = upload(app, &fan, "trip%20photo.jpg", photo).await;
    assert_eq!(s, StatusCode::CREATED, "{info}");
    assert_eq!(
        (info["width"].as_i64(), info["height"].as_i64()),
        (Some(1067), Some(1600)),
        "upright, 1,600 px at most"
    );
    assert_eq!(info["name"], "trip photo.jpg");
    let key = info["key"].as_str().unwrap().to_string();
    for (path, longest) in [
        (format!("/uploads/{key}"), 1600),
        (format!("/uploads/{key}/thumb"), 640),
    ] {
        let r = app.api().get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "image/jpeg");
        assert_eq!(
            r.headers()["cache-control"],
            "private, max-age=86400",
            "no shared cache keeps a deleted picture"
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        let bytes = r.bytes().await.unwrap();
        assert!(
            !contains(&bytes, b"GPS 31.2N") && !contains(&bytes, b"Exif"),
            "{path}: metadata gone"
        );
        let img = image::load_from_memory(&bytes).unwrap();
        assert_eq!(img.height(), longest, "{path}");
        assert!(img.width() < img.height(), "{path} upright");
    }
    // Not pictures, or not usable: clear 4xx with a code, nothing stored.
    let png = test_png(64, 64, false);
    let bomb = fanloop_platform::images::test_png_header(10_000, 10_000); // 100 megapixels
    for (data, status, code) in [
        (
            b"GIF89a but not really".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            b"<svg onload=alert(1)>".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_image",
        ),
        (Vec::new(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (
            png[..40].to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (bomb, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), // "too big", from the header
        (
            vec![0xFF; 9 * 1024 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ] {
        let (s, e) = upload(app, &fan, "x.png", data).await;
        assert_eq!((s, e["error"].as_str()), (status, Some(code)), "{e}");
    }
    let (s, _) = app.call(reqwest::Method::POST, "/api/v1/uploads", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, mine) = app.get("/api/v1/uploads", Some(&fan)).await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "refused files are not kept: {mine}");

    // The markdown shows the thumbnail in a post, linked to the larger picture.
    let body = format!("Sunset at the lake\n\n{}", info["markdown"].as_str().unwrap());
    let (s, t) = app
        .post(
            "/api/v1/boards/pics/threads",
            &fan,
            json!({"title": "Night mode sample", "body": body}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let thread = t["thread_id"].as_i64().unwrap();
    let page = app
        .api()
        .get(app.url(&format!("/t/{thread}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("<a href=\"/uploads/{key}\" rel=\"nofollow noopener ugc\"><img src=\"/uploads/{key}/thumb\" alt=\"trip photo.jpg\"")),
        "{}",
        &page[page.find("post-body").unwrap_or(0)..][..600.min(page.len() - page.find("post-body").unwrap_or(0))]
    );

    // Without JavaScript: the pictures page takes the file and gives the line to paste.
    let (fan_browser, _) = app.browser_as("pic_fan", "password123").await;
    let (s, location) = send_picture(app, &fan_browser, "/uploads", "/uploads", "chart.png", png.clone()).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{location}");
    let page = fan_browser
        .get(app.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"added-md\"") && page.contains("[![chart.png]("),
        "the line to paste"
    );
    // A refused file: the reason next to the field, in the reader's language.
    fan_browser.get(app.url("/lang/zh")).send().await.unwrap();
    let (s, page) = send_picture(
        app,
        &fan_browser,
        "/uploads",
        "/uploads",
        "notes.txt",
        b"hello".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        page.contains("id=\"upload-error\"") && page.contains("只能上传 PNG、JPEG、GIF 或 WebP 图片"),
        "zh reason"
    );

    // An avatar: the centre square; it shows on the profile and beside the posts.
    let (s, location) = send_picture(
        app,
        &fan_browser,
        "/settings",
        "/settings/avatar",
        "me.png",
        test_png(900, 400, false),
    )
    .await;
    assert_eq!(
        (s, location.as_str()),
        (StatusCode::SEE_OTHER, "/settings?avatar=1#avatar")
    );
    let (_, me) = app.get("/api/v1/me", Some(&fan)).await;
    let avatar = me["avatar_url"].as_str().unwrap().to_string();
    let small = app
        .api()
        .get(app.url(&avatar))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let img = image::load_from_memory(&small).unwrap();
    assert_eq!((img.width(), img.height()), (64, 64));
    let large = app
        .api()
        .get(app.url(&avatar.replace("/thumb", "")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(image::load_from_memory(&large).unwrap().width(), 256);
    let page = app
        .api()
        .get(app.url(&format!("/t/{thread}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // (Templates escape `/` in attributes as `&#x2f;`.)
    let avatar_key = avatar.split('/').nth(2).unwrap();
    assert!(
        page.contains(&format!(
            "class=\"avatar small\" src=\"&#x2f;uploads&#x2f;{avatar_key}&#x2f;thumb\""
        )),
        "beside the post"
    );
    // A new avatar replaces the old one, whose address stops working.
    let (s, _) = send_picture(
        app,
        &fan_browser,
        "/settings",
        "/settings/avatar",
        "me2.png",
        test_png(300, 300, true),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let r = app.api().get(app.url(&avatar)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "the old avatar is gone");
    let (s, page) = send_picture(
        app,
        &fan_browser,
        "/settings",
        "/settings/avatar",
        "me.gif",
        b"GIF89a".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"avatar-error\""), "the reason next to the field");
    let (s, _) = submit(app, &fan_browser, "/settings", "/settings/avatar/remove", &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, me) = app.get("/api/v1/me", Some(&fan)).await;
    assert!(me["avatar_url"].is_null(), "{me}");

    // Display names: shown beside the @username; never another member's name; kept when refused.
    let (s, _) = submit(
        app,
        &fan_browser,
        "/settings",
        "/settings/profile",
        &[("display_name", " 李雷\u{200B} Li "), ("bio", "")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let page = app
        .api()
        .get(app.url(&format!("/t/{thread}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<span class=\"display-name\">李雷 Li</span> <span class=\"handle\">@pic_fan</span>"));
    for (name, said) in [
        ("ＡＤＭＩＮ", "和其他成员的名字太像"),
        (&"长".repeat(41) as &str, "最多 40 个字符"),
    ] {
        let (s, page) = submit(
            app,
            &fan_browser,
            "/settings",
            "/settings/profile",
            &[("display_name", name), ("bio", "kept")],
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(page.contains(said), "{name}: {said}");
        assert!(
            page.contains(&format!("value=\"{name}\"")) && page.contains(">kept</textarea>"),
            "what was typed stays"
        );
    }
    let (_, me) = app.get("/api/v1/me", Some(&fan)).await;
    assert_eq!(me["display_name"], "李雷 Li");
    // Nor "@admin", nor a look-alike of another member's display name.
    let (admin_browser, _) = app.browser_as("admin", "password123").await;
    let (s, _) = submit(
        app,
        &admin_browser,
        "/settings",
        "/settings/profile",
        &[("display_name", "Emma Wang"), ("bio", "")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    for name in ["@admin", "ad\u{3164}min", "emma  wang", "Ｅｍｍａ Ｗａｎｇ"] {
        let (s, page) = submit(
            app,
            &fan_browser,
            "/settings",
            "/settings/profile",
            &[("display_name", name), ("bio", "")],
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(page.contains("和其他成员的名字太像"), "{name}");
    }
    // One's own username (any case) is fine as a display name.
    let (s, _) = submit(
        app,
        &fan_browser,
        "/settings",
        "/settings/profile",
        &[("display_name", "PIC_FAN"), ("bio", "")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    // Delete a picture: its address stops working.
    let r = app
        .api()
        .delete(app.url(&format!("/api/v1/uploads/{key}")))
        .bearer_auth(&fan)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app.api().get(app.url(&format!("/uploads/{key}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app.api().get(app.url("/uploads/..%2F..%2Fetc")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The daily limit (staff have none): counted before anything is decoded.
    let tiny = test_png(8, 8, false);
    let mut sent = 0;
    loop {
        let (s, e) = upload(app, &fan, "t.png", tiny.clone()).await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(e["error"], "rate_limited");
            break;
        }
        assert_eq!(s, StatusCode::CREATED, "{e}");
        sent += 1;
        assert!(sent <= 60, "no limit");
    }
    // Four sent before (the photo, since deleted; the page's chart; two avatars, replaced and
    // removed): deleting gives nothing back.
    assert_eq!(sent, 50 - 4, "deleted pictures still count toward the day");
    let (s, _) = upload(app, &admin, "t.png", tiny.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "staff are not limited");

    // A silenced member cannot change what others see (name, picture) nor send pictures; a
    // moderator removes a misleading name and picture, and the audit log says so.
    let quiet = app.user("pic_quiet").await;
    let (quiet_browser, _) = app.browser_as("pic_quiet", "password123").await;
    // Before being silenced the name and the picture change; after, neither does.
    for (silenced, name, expected) in [
        (false, "Official Support", StatusCode::SEE_OTHER),
        (true, "Staff", StatusCode::FORBIDDEN),
    ] {
        if silenced {
            let (s, e) = app
                .call(
                    reqwest::Method::PUT,
                    "/api/v1/users/pic_quiet/sanctions/silence",
                    Some(&admin),
                    Some(json!({"days": 3, "reason": "misleading name"})),
                )
                .await;
            assert!(s.is_success(), "{e}");
        }
        let profile = [("display_name", name), ("bio", "")];
        let (s, _) = submit(app, &quiet_browser, "/settings", "/settings/profile", &profile).await;
        assert_eq!(s, expected, "name, silenced: {silenced}");
        let (s, _) = send_picture(
            app,
            &quiet_browser,
            "/settings",
            "/settings/avatar",
            "me.png",
            tiny.clone(),
        )
        .await;
        assert_eq!(s, expected, "avatar, silenced: {silenced}");
    }
    let (s, e) = upload(app, &quiet, "t.png", tiny).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::FORBIDDEN, Some("silenced")));
    let (_, me) = app.get("/api/v1/me", Some(&quiet)).await;
    assert_eq!(me["display_name"], "Official Support");
    assert!(me["avatar_url"].is_string(), "{me}");
    let quiet_id = me["id"].as_i64().unwrap();
    let (s, _) = submit(
        app,
        &admin_browser,
        &format!("/admin/users/{quiet_id}"),
        &format!("/admin/users/{quiet_id}/clear-profile"),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, me) = app.get("/api/v1/me", Some(&quiet)).await;
    assert!(me["display_name"].is_null() && me["avatar_url"].is_null(), "{me}");
    // The removed name no longer blocks anyone.
    let (s, _) = submit(
        app,
        &fan_browser,
        "/settings",
        "/settings/profile",
        &[("display_name", "Official Support"), ("bio", "")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "a cleared name is free again");
    let (_, audit) = app.get("/api/v1/audit?action=user.clear_profile", Some(&admin)).await;
    assert_eq!(audit[0]["target_label"], "pic_quiet", "{audit}");
    let r = fan_browser
        .post(app.url(&format!("/admin/users/{quiet_id}/clear-profile")))
        .form(&[("_csrf", csrf_of(app, &fan_browser, "/settings").await)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "moderators only");
}

both_backends!(pictures_avatars_and_display_names, pictures_and_profiles);

/// Watching a board: each new thread in it tells the watcher (once, not its author), until they stop.
async fn watching_boards(app: &TestApp) {
    let admin = app.user("admin").await;
    let (s, _) = app
        .post(
            "/api/v1/boards",
            &admin,
            json!({"slug": "camera", "name": "Camera", "description": "d"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let author = app.user("wb_author").await;
    let watcher = app.user("wb_watcher").await;
    let (browser, _) = app.browser_as("wb_watcher", "password123").await;
    let (s, _) = submit(app, &browser, "/b/camera", "/b/camera/watch", &[("on", "1")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // The author watches too: still not told of their own threads.
    let (author_browser, _) = app.browser_as("wb_author", "password123").await;
    let (s, _) = submit(app, &author_browser, "/b/camera", "/b/camera/watch", &[("on", "1")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let page = browser
        .get(app.url("/b/camera"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"watch-note\""), "the page says the board is watched");
    let kinds = |token: String| async move {
        let (_, n) = app.get("/api/v1/notifications", Some(&token)).await;
        n["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["kind"].as_str().unwrap().to_string(),
                    x["subject"].as_str().unwrap().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    let post = |title: &'static str, body: &'static str| {
        let author = author.clone();
        async move {
            let (s, t) = app
                .post(
                    "/api/v1/boards/camera/threads",
                    &author,
                    json!({"title": title, "body": body}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{t}");
        }
    };
    post("Portrait mode edges", "Hair edges look cut").await;
    assert_eq!(
        kinds(watcher.clone()).await,
        vec![("watching".to_string(), "Portrait mode edges".to_string())]
    );
    assert!(
        kinds(author.clone()).await.is_empty(),
        "the author is not told of their own thread"
    );
    // Mentioned and watching: told once, as a mention.
    post("Night mode tips", "@wb_watcher what do you think?").await;
    let got = kinds(watcher.clone()).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], ("mention".to_string(), "Night mode tips".to_string()));
    // Mentions turned off: the mention is not written, so the watch tells them.
    let (s, _) = submit(
        app,
        &browser,
        "/settings/notifications",
        "/settings/notifications",
        &[("kind.mention", "off")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    post("Lens flare at night", "@wb_watcher seen this?").await;
    let got = kinds(watcher.clone()).await;
    assert_eq!(got[0], ("watching".to_string(), "Lens flare at night".to_string()));
    // The watching kind turned off: nothing.
    let (s, _) = submit(
        app,
        &browser,
        "/settings/notifications",
        "/settings/notifications",
        &[("kind.watching", "off")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    post("Macro mode", "close-ups").await;
    assert_eq!(kinds(watcher.clone()).await.len(), 3, "turned off");
    let (s, _) = submit(
        app,
        &browser,
        "/settings/notifications",
        "/settings/notifications",
        &[("kind.watching", "email")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = submit(app, &browser, "/b/camera", "/b/camera/watch", &[("on", "0")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    post("Zoom focus hunting", "at 10x").await;
    assert_eq!(kinds(watcher.clone()).await.len(), 3, "stopped");
    let (s, _) = submit(app, &browser, "/b/camera", "/b/nope/watch", &[("on", "1")]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

both_backends!(watching_a_board, watching_boards);
