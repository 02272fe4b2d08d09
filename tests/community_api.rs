//! HTTP-level tests of accounts and the community, run against SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, Events, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn setup_board(app: &TestApp) -> (String, String) {
    // The first account on an empty instance is the administrator.
    let admin = app.user("admin").await;
    let (s, me) = app.get("/api/v1/me", Some(&admin)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["role"], "admin");
    let (s, _) = app
        .post(
            "/api/v1/boards",
            &admin,
            json!({"slug": "aurora-x2", "name": "Aurora X2", "description": "手机讨论"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    (admin, "aurora-x2".into())
}

async fn forum_flow(app: &TestApp) {
    let (admin, board) = setup_board(app).await;
    let fan = app.user("小米粒").await;
    let other = app.user("alex_chen").await;
    let (s, me) = app.get("/api/v1/me", Some(&fan)).await;
    assert_eq!((s, me["role"].as_str()), (StatusCode::OK, Some("fan")));

    // A fan opens a thread in Chinese.
    let (s, created) = app
        .post(
            &format!("/api/v1/boards/{board}/threads"),
            &fan,
            json!({"title": "夜景模式拍照发糊", "body": "升级之后**夜景模式**拍照总是发糊，电池续航也变差了。"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let thread_id = created["thread_id"].as_i64().unwrap();
    let first_post = created["post_id"].as_i64().unwrap();
    let (_, boards) = app.get("/api/v1/boards", None).await;
    assert_eq!(boards[0]["thread_count"], 1);

    // Search finds it by a Chinese word, highlighted, and by title.
    let (s, found) = app.get("/api/v1/search?q=%E5%A4%9C%E6%99%AF", None).await; // 夜景
    assert_eq!(s, StatusCode::OK);
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["hits"][0]["thread_id"], thread_id);
    assert!(
        found["hits"][0]["snippet_html"]
            .as_str()
            .unwrap()
            .contains("<b>夜景</b>"),
        "{found}"
    );
    assert!(
        found["hits"][0]["title_html"].as_str().unwrap().contains("<b>夜景</b>"),
        "{found}"
    );

    // Another fan replies and mentions a third member; the author is told of the reply.
    let (s, _) = app
        .post(
            &format!("/api/v1/threads/{thread_id}/posts"),
            &other,
            json!({"body": "Same here on build 3.3. @admin please look"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, notes) = app.get("/api/v1/notifications", Some(&fan)).await;
    assert_eq!(notes["unread"], 1, "{notes}");
    assert_eq!(notes["items"][0]["kind"], "reply");
    assert_eq!(notes["items"][0]["actor"], "alex_chen");
    let (_, notes) = app.get("/api/v1/notifications", Some(&admin)).await;
    assert_eq!(notes["items"][0]["kind"], "mention", "{notes}");

    // A staff member answers: the author gets a "staff answer", and the post carries the badge.
    let (s, user) = app
        .call(
            Method::PUT,
            "/api/v1/users/alex_chen/role",
            Some(&admin),
            Some(json!({"role": "staff", "team": "Camera team"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{user}");
    assert_eq!(user["team"], "Camera team");
    let (s, _) = app
        .post(
            &format!("/api/v1/threads/{thread_id}/posts"),
            &other,
            json!({"body": "We reproduced it, fix in the next build."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, notes) = app.get("/api/v1/notifications", Some(&fan)).await;
    assert_eq!(notes["items"][0]["kind"], "staff_answer", "{notes}");
    let (_, page) = app.get(&format!("/api/v1/threads/{thread_id}"), None).await;
    assert_eq!(page["posts"].as_array().unwrap().len(), 3);
    assert_eq!(page["posts"][2]["author"]["is_staff"], true);
    let (s, _) = app.post("/api/v1/notifications/read", &fan, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (_, notes) = app.get("/api/v1/notifications", Some(&fan)).await;
    assert_eq!(notes["unread"], 0);

    // Likes are idempotent and counted once per member.
    for _ in 0..2 {
        let (s, like) = app
            .call(
                Method::PUT,
                &format!("/api/v1/posts/{first_post}/like"),
                Some(&other),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(like["like_count"], 1);
    }
    let (_, like) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/posts/{first_post}/like"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(
        (like["liked"].as_bool(), like["like_count"].as_i64()),
        (Some(false), Some(0))
    );
    app.call(
        Method::PUT,
        &format!("/api/v1/posts/{first_post}/like"),
        Some(&admin),
        None,
    )
    .await;
    let (_, profile) = app.get("/api/v1/users/%E5%B0%8F%E7%B1%B3%E7%B2%92", None).await;
    assert_eq!(profile["stats"]["likes_received"], 1, "{profile}");
    assert_eq!(profile["stats"]["post_count"], 1);
    assert_eq!(profile["honor_rank"], 1);

    // Editing keeps the history and the index follows.
    let (s, edited) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/posts/{first_post}"),
            Some(&fan),
            Some(json!({"body": "已解决：重启后 autofocus 恢复正常", "title": "对焦问题已解决"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{edited}");
    let (_, revisions) = app.get(&format!("/api/v1/posts/{first_post}/revisions"), None).await;
    assert_eq!(revisions[0]["title"], "夜景模式拍照发糊");
    assert!(revisions[0]["body"].as_str().unwrap().contains("夜景模式"));
    let (_, found) = app.get("/api/v1/search?q=%E5%A4%9C%E6%99%AF", None).await;
    assert_eq!(found["total"], 0, "old words are gone from the index: {found}");
    let (_, found) = app.get("/api/v1/search?q=autofocus", None).await;
    assert_eq!(found["total"], 1);

    // Search filters by board and author.
    let (_, found) = app.get("/api/v1/search?q=build&author=alex_chen", None).await;
    assert_eq!(found["total"], 2, "{found}");
    let (_, found) = app.get("/api/v1/search?q=build&author=admin", None).await;
    assert_eq!(found["total"], 0);
    let (_, found) = app.get("/api/v1/search?q=build&board=nope", None).await;
    assert_eq!(found["total"], 0);

    // Flag, moderation queue, resolution by deletion; the index forgets the post.
    let reply_id = page["posts"][1]["id"].as_i64().unwrap();
    let (s, _) = app
        .post(
            &format!("/api/v1/posts/{reply_id}/flags"),
            &fan,
            json!({"reason": "spam"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app
        .post(
            &format!("/api/v1/posts/{reply_id}/flags"),
            &fan,
            json!({"reason": "spam again"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = app.get("/api/v1/moderation/flags", Some(&fan)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, queue) = app.get("/api/v1/moderation/flags", Some(&admin)).await;
    assert_eq!(queue["total"], 1);
    let flag_id = queue["flags"][0]["id"].as_i64().unwrap();
    let (s, _) = app
        .post(
            &format!("/api/v1/moderation/flags/{flag_id}"),
            &admin,
            json!({"action": "delete"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get(&format!("/api/v1/posts/{reply_id}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, found) = app.get("/api/v1/search?q=3.3", None).await;
    assert_eq!(found["total"], 0, "{found}");

    // Deleting the opening post removes the thread.
    let (s, del) = app
        .call(Method::DELETE, &format!("/api/v1/posts/{first_post}"), Some(&fan), None)
        .await;
    assert_eq!((s, del["deleted"].as_str()), (StatusCode::OK, Some("thread")));
    let (s, _) = app.get(&format!("/api/v1/threads/{thread_id}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, found) = app.get("/api/v1/search?q=build", None).await;
    assert_eq!(found["total"], 0, "{found}");
    let (_, boards) = app.get("/api/v1/boards", None).await;
    assert_eq!(boards[0]["thread_count"], 0, "the board count follows deletions");
}
both_backends!(forum_flow_works_end_to_end, forum_flow);

async fn permissions(app: &TestApp) {
    let (admin, board) = setup_board(app).await;
    let author = app.user("author").await;
    let stranger = app.user("stranger").await;
    let (_, created) = app
        .post(
            &format!("/api/v1/boards/{board}/threads"),
            &author,
            json!({"title": "Mine", "body": "my words"}),
        )
        .await;
    let thread_id = created["thread_id"].as_i64().unwrap();
    let post_id = created["post_id"].as_i64().unwrap();

    let (s, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/posts/{post_id}"),
            Some(&stranger),
            Some(json!({"body": "hijacked"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/posts/{post_id}"),
            Some(&stranger),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/threads/{thread_id}"),
            Some(&stranger),
            Some(json!({"pinned": true})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/users/stranger/role",
            Some(&stranger),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .post("/api/v1/boards", &stranger, json!({"slug": "mine", "name": "Mine"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/users/admin/role",
            Some(&admin),
            Some(json!({"role": "fan"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "an admin cannot demote themselves");
    let (s, _) = app
        .post(
            &format!("/api/v1/boards/{board}/threads"),
            "not-a-token",
            json!({"title": "x", "body": "y"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/boards/{board}/threads"),
            None,
            Some(json!({"title": "x", "body": "y"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // A moderator locks: fans can no longer reply or edit, staff still can answer.
    let (s, t) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/threads/{thread_id}"),
            Some(&admin),
            Some(json!({"locked": true, "pinned": true})),
        )
        .await;
    assert_eq!(
        (s, t["locked"].as_bool(), t["pinned"].as_bool()),
        (StatusCode::OK, Some(true), Some(true))
    );
    let (s, e) = app
        .post(
            &format!("/api/v1/threads/{thread_id}/posts"),
            &author,
            json!({"body": "but wait"}),
        )
        .await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::FORBIDDEN, Some("thread_locked")));
    let (s, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/posts/{post_id}"),
            Some(&author),
            Some(json!({"body": "edit"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .post(
            &format!("/api/v1/threads/{thread_id}/posts"),
            &admin,
            json!({"body": "Closing: fixed in 3.3"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    // Roles: admins promote; the fan is notified.
    let (s, u) = app
        .call(
            Method::PUT,
            "/api/v1/users/author/role",
            Some(&admin),
            Some(json!({"role": "beta_tester"})),
        )
        .await;
    assert_eq!((s, u["role"].as_str()), (StatusCode::OK, Some("beta_tester")));
    let (_, notes) = app.get("/api/v1/notifications", Some(&author)).await;
    assert!(
        notes["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "role_changed"),
        "{notes}"
    );
    let (s, users) = app.get("/api/v1/users", Some(&admin)).await;
    assert_eq!((s, users.as_array().map(|a| a.len())), (StatusCode::OK, Some(3)));
}
both_backends!(permissions_are_enforced, permissions);

async fn hostile_input(app: &TestApp) {
    let (_admin, board) = setup_board(app).await;
    let fan = app.user("fan_one").await;
    let c = app.api();
    let path = app.url(&format!("/api/v1/boards/{board}/threads"));
    let send = |body: reqwest::Body, ct: &'static str| {
        c.post(&path)
            .bearer_auth(&fan)
            .header("content-type", ct)
            .body(body)
            .send()
    };

    let r = send("{not json".into(), "application/json").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"], "malformed_json");
    let r = send(r#"{"title": 5, "body": []}"#.into(), "application/json")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = send(r#"{"title": "only a title"}"#.into(), "application/json")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "validation_failed"
    );
    let r = send(vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'].into(), "application/json")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = send(r#"{"title":"t","body":"b"}"#.into(), "text/plain").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = format!(r#"{{"title":"t","body":"{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let r = send(huge.into(), "application/json").await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (s, e) = app
        .post(
            &format!("/api/v1/boards/{board}/threads"),
            &fan,
            json!({"title": "  ", "body": "b"}),
        )
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"))
    );
    let (s, _) = app
        .post(
            &format!("/api/v1/boards/{board}/threads"),
            &fan,
            json!({"title": "t", "body": "x".repeat(20_001)}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    for path in [
        "/api/v1/threads/999999",
        "/api/v1/posts/424242",
        "/api/v1/boards/nope/threads",
        "/api/v1/users/nobody",
        "/api/v1/nothing-here",
    ] {
        let (s, e) = app.get(path, Some(&fan)).await;
        assert_eq!(
            (s, e["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{path}"
        );
    }
    for path in [
        "/api/v1/threads/abc",
        "/api/v1/threads/99999999999999999999999",
        "/api/v1/search?q=x&page=abc",
    ] {
        let (s, _) = app.get(path, Some(&fan)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}");
    }
    let (s, _) = app.get(&format!("/api/v1/search?q={}", "a".repeat(300)), None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .post(
            "/api/v1/users",
            "",
            json!({"username": "<script>", "email": "a@b.cn", "password": "password123"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .post(
            "/api/v1/users",
            "",
            json!({"username": "fan_one", "email": "new@b.cn", "password": "password123"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Script injection is neutralised in the rendered page.
    let evil = "<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(2)) **safe**";
    let (s, created) = app
        .post(
            &format!("/api/v1/boards/{board}/threads"),
            &fan,
            json!({"title": "<b onmouseover=alert(3)>hi</b>", "body": evil}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let html = c
        .get(app.url(&format!("/t/{}", created["thread_id"])))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("<script>alert"), "no script survives");
    for bad in ["onerror=", "href=\"javascript:", "<b onmouseover"] {
        if let Some(i) = html.find(bad) {
            panic!(
                "{bad} survived: {}",
                html.get(i.saturating_sub(200)..(i + 60).min(html.len())).unwrap_or("")
            );
        }
    }
    assert!(
        html.contains("&lt;b onmouseover=alert(3)&gt;hi&lt;&#x2f;b&gt;") || html.contains("&lt;b onmouseover"),
        "title is escaped"
    );
    assert!(html.contains("<strong>safe</strong>"));
}
both_backends!(hostile_input_gets_clear_4xx, hostile_input);

async fn browser_forms(app: &TestApp) {
    let (_admin, board) = setup_board(app).await;
    let browser = app.browser();
    let csrf = common::csrf_of(app, &browser, "/signup").await;
    // Without the CSRF token a form post is refused.
    let r = browser
        .post(app.url("/signup"))
        .form(&[
            ("username", "web_fan"),
            ("email", "w@x.cn"),
            ("password", "password123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = browser
        .post(app.url("/signup"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", "web_fan"),
            ("email", "w@x.cn"),
            ("password", "short"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text().await.unwrap().contains("8"),
        "the form explains the password rule"
    );
    let r = browser
        .post(app.url("/signup"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", "web_fan"),
            ("email", "w@x.cn"),
            ("password", "password123"),
            ("next", "/b/aurora-x2"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/b/aurora-x2");
    let csrf = common::csrf_of(app, &browser, "/").await;
    let r = browser
        .post(app.url(&format!("/b/{board}/new")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("title", "Batterie qui chauffe"),
            ("body", "Depuis la mise à jour, la batterie chauffe. @nobody"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let thread_url = r.headers()["location"].to_str().unwrap().to_string();
    let page = browser
        .get(app.url(&thread_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Batterie qui chauffe") && page.contains("Depuis la mise à jour"));
    // Search is accent-insensitive for French.
    let page = browser
        .get(app.url("/search?q=mise%20a%20jour"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<b>mise</b>") || page.contains("<b>jour</b>"),
        "highlighted hit in {page}"
    );
    let r = browser.get(app.url("/admin/boards")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "fans do not manage boards");
    // Cookie-authenticated API writes need the CSRF header.
    let r = browser
        .post(app.url(&format!("/api/v1/boards/{board}/threads")))
        .json(&json!({"title": "t", "body": "b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = browser
        .post(app.url(&format!("/api/v1/boards/{board}/threads")))
        .header("x-csrf-token", &csrf)
        .json(&json!({"title": "t", "body": "b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // Sign out ends the session.
    let r = browser
        .post(app.url("/signout"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = browser.get(app.url("/settings")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
both_backends!(browser_forms_work_with_csrf, browser_forms);

/// A refused form comes back with every problem next to its field, in the reader's language, and
/// with what was typed; error pages keep the site's top bar and speak the reader's language.
async fn readers_language_forms(app: &TestApp) {
    let (admin, board) = setup_board(app).await;
    app.user("taken_name").await;
    let browser = app.browser();
    let csrf = common::csrf_of(app, &browser, "/signup").await;
    let signup = |fields: Vec<(&'static str, String)>, lang: &'static str| {
        let mut form: Vec<(&str, String)> = vec![("_csrf", csrf.clone()), ("next", "/".into())];
        form.extend(fields);
        browser
            .post(app.url("/signup"))
            .header("accept-language", lang)
            .form(&form)
            .send()
    };
    let r = signup(
        vec![
            ("username", "x".into()),
            ("email", "nope".into()),
            ("password", "short".into()),
        ],
        "zh-CN",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    for expected in [
        "用户名长度须为 2 到 32 个字符",
        "请输入有效的邮箱地址",
        "密码至少需要 8 个字符",
        "value=\"x\"",
        "value=\"nope\"",
        "id=\"err-username\"",
        "id=\"err-email\"",
        "id=\"err-password\"",
    ] {
        assert!(html.contains(expected), "{expected} in the sign-up page");
    }
    assert!(!html.contains("Username must"), "no English in a Chinese page");
    // A name already in use is said next to the name, in French.
    let r = signup(
        vec![
            ("username", "taken_name".into()),
            ("email", "new@example.fr".into()),
            ("password", "password123".into()),
        ],
        "fr-FR",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let html = r.text().await.unwrap();
    assert!(html.contains("Ce nom d’utilisateur est déjà pris") && html.contains("value=\"new@example.fr\""));
    assert!(!html.contains("err-email"), "only the name is refused");

    // Error pages: the top bar, the reader's language, a way on.
    for (path, lang, expected, english) in [
        (
            "/t/987654321",
            "zh-CN",
            "页面不存在或已删除",
            "This page does not exist",
        ),
        (
            "/no/such/page",
            "fr-FR",
            "Cette page n’existe pas",
            "This page does not exist",
        ),
        ("/settings", "zh-CN", "请先登录", "Please sign in"),
    ] {
        let r = app
            .api()
            .get(app.url(path))
            .header("accept-language", lang)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{path}");
        let html = r.text().await.unwrap();
        assert!(html.contains("class=\"topbar\""), "{path} has the top bar");
        assert!(html.contains(expected), "{path} in {lang}: {html}");
        assert!(!html.contains(english), "{path} has no English in {lang}");
    }
    let html = app
        .api()
        .get(app.url("/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("class=\"button\" href=\"/signin?next=&#x2f;settings\""),
        "the sign-in page is offered, returning here: {html}"
    );

    // An empty reply: the error sits next to the reply box (the form returns to it), text kept.
    let (_, thread) = app
        .post(
            &format!("/api/v1/boards/{board}/threads"),
            &admin,
            json!({"title": "相机对焦慢", "body": "夜景对焦很慢"}),
        )
        .await;
    let (browser, csrf) = app.browser_as("taken_name", "password123").await;
    let thread_url = format!("/t/{}", thread["thread_id"]);
    let html = browser
        .get(app.url(&thread_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("action=\"{thread_url}/reply#reply\"")));
    let r = browser
        .post(app.url(&format!("{thread_url}/reply")))
        .header("accept-language", "zh-CN")
        .form(&[("_csrf", csrf.as_str()), ("body", "   ")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    let error_at = html.find("正文不能为空").expect("the error in Chinese");
    let box_at = html.find("id=\"reply-body\"").expect("the reply box");
    assert!(
        error_at > box_at && error_at - box_at < 800,
        "the error is right under the box"
    );

    // The edit history shows what changed.
    let post = thread["post_id"].as_i64().unwrap();
    let (s, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/posts/{post}"),
            Some(&admin),
            Some(json!({"body": "夜景对焦非常慢"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let html = browser
        .get(app.url(&format!("/p/{post}/history")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<del>很</del><ins>非常</ins>") || html.contains("<ins>非常</ins>"),
        "{html}"
    );
}
both_backends!(forms_and_error_pages_speak_the_readers_language, readers_language_forms);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_pages_render_in_three_languages() {
    let app = TestApp::spawn_with(Backend::Sqlite, true).await.unwrap();
    let c = app.api();
    for (lang, expected) in [
        ("zh-CN,zh;q=0.9", "最新讨论"),
        ("en-US", "Latest discussions"),
        ("fr-FR", "Discussions récentes"),
    ] {
        let html = c
            .get(app.url("/"))
            .header("accept-language", lang)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(expected), "{lang}");
    }
    // The language cookie overrides the browser's preference.
    let html = c
        .get(app.url("/search?q=%E7%94%B5%E6%B1%A0"))
        .header("cookie", "fl_lang=fr")
        .header("accept-language", "zh")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("résultats") && html.contains("<b>电池</b>"),
        "French UI, Chinese hits"
    );
    let (_, boards) = app.get("/api/v1/boards", None).await;
    assert_eq!(boards.as_array().unwrap().len(), 6);
    let total: i64 = boards
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["thread_count"].as_i64().unwrap())
        .sum();
    assert!(total >= 300, "a few hundred demo threads, got {total}");
    for path in [
        "/",
        "/b/aurora-x2",
        "/b/francophone?page=2",
        "/t/1",
        "/u/camera_lead_li",
        "/search?q=battery",
        "/campaigns",
        "/campaigns/autumn-snaps",
        "/campaigns/summer-nights",
        "/signin",
        "/signup",
        "/api/v1/openapi.json",
        "/healthz",
    ] {
        let r = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let spec: serde_json::Value = c
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/search",
        "/api/v1/boards/{slug}/threads",
        "/api/v1/users",
        "/api/v1/tokens",
        "/api/v1/notifications",
        "/api/v1/campaigns",
        "/api/v1/campaigns/{slug}/dashboard",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} documented");
    }
    // The demo campaigns: one running with entries, one ended with its winners.
    let (_, running) = app.get("/api/v1/campaigns/autumn-snaps", None).await;
    assert_eq!(running["phase"], "open");
    assert!(running["entries"].as_i64().unwrap() >= 8, "{running}");
    let (_, ended) = app.get("/api/v1/campaigns/summer-nights", None).await;
    assert_eq!(ended["winners"].as_array().unwrap().len(), 2, "{ended}");
    app.stop().await;
}

both_backends!(times_follow_the_readers_zone, reader_zones);

/// The zone times are shown in: the profile's, else the browser's (`fl_tz`), else the language's.
async fn reader_zones(app: &TestApp) {
    use std::sync::Arc;
    app.user("admin").await;
    app.user("zone_fan").await;
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(
            [(reqwest::header::ACCEPT_LANGUAGE, "zh-CN".parse().unwrap())]
                .into_iter()
                .collect(),
        )
        .build()
        .unwrap();
    let csrf = app.sign_in(&browser, "zone_fan", "password123").await;
    // minijinja escapes `/` as `&#x2f;` (the browser shows `/`).
    let settings = || async {
        let page = browser
            .get(app.url("/settings"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        page.replace("&#x2f;", "/")
    };
    // A Chinese reader with no setting and no browser zone: Beijing time.
    assert!(settings().await.contains("时间按 Asia/Shanghai 显示"));
    // The browser's zone, as app.js writes it.
    jar.add_cookie_str("fl_tz=Europe%2FParis; Path=/", &app.url("/").parse().unwrap());
    assert!(settings().await.contains("时间按 Europe/Paris 显示"));
    // The profile's zone wins; an unknown one is refused and changes nothing.
    let save = |zone: &'static str| {
        let (browser, csrf) = (browser.clone(), csrf.clone());
        async move {
            browser
                .post(app.url("/settings/time-zone"))
                .form(&[("time_zone", zone), ("_csrf", &csrf)])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(save("Mars/Olympus").await, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(settings().await.contains("时间按 Europe/Paris 显示"));
    assert_eq!(save("Asia/Tokyo").await, StatusCode::SEE_OTHER);
    let page = settings().await;
    assert!(page.contains("时间按 Asia/Tokyo 显示"), "{page}");
    assert!(
        page.contains("<option value=\"Asia/Tokyo\" selected>Asia/Tokyo (UTC+9)</option>"),
        "{page}"
    );
    // Back to following the device.
    assert_eq!(save("").await, StatusCode::SEE_OTHER);
    assert!(settings().await.contains("时间按 Europe/Paris 显示"));
}

/// Open pages learn of what happens at once: the bell's unread count and a thread's new
/// replies arrive as server-sent events within seconds, without a reload.
async fn live_counts_flow(app: &TestApp) {
    let (_admin, board) = setup_board(app).await;
    let author = app.user("live_author").await;
    let replier = app.user("live_replier").await;
    let (s, created) = app
        .post(
            &format!("/api/v1/boards/{board}/threads"),
            &author,
            json!({"title": "实时回复测试", "body": "有人在吗？"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let thread = created["thread_id"].as_i64().unwrap();
    let first = created["post_id"].as_i64().unwrap();

    let mut bell = Events::open(app, "/api/v1/notifications/stream", Some(&author)).await;
    assert_eq!(bell.next("unread").await, json!({"unread": 0}));
    let mut replies = Events::open(app, &format!("/api/v1/threads/{thread}/stream?after={first}"), None).await;
    assert_eq!(replies.next("posts").await, json!({"new": 0, "first": null}));

    let started = std::time::Instant::now();
    let (s, reply) = app
        .post(
            &format!("/api/v1/threads/{thread}/posts"),
            &replier,
            json!({"body": "在的，我也遇到了"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{reply}");
    let reply_id = reply["post_id"].as_i64().unwrap();
    assert_eq!(replies.next("posts").await, json!({"new": 1, "first": reply_id}));
    assert_eq!(bell.next("unread").await, json!({"unread": 1}));
    eprintln!(
        "a reply reached the open thread and the author's bell in {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(4));

    // Bad requests are refused plainly.
    let (s, _) = app.get("/api/v1/notifications/stream", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    for after in ["-1", "9223372036854775808", "x"] {
        let (s, e) = app
            .get(&format!("/api/v1/threads/{thread}/stream?after={after}"), None)
            .await;
        assert_eq!(
            (s, e["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query")),
            "{after}"
        );
    }
    let (s, _) = app.get("/api/v1/threads/999999/stream?after=0", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

both_backends!(live_counts_reach_open_pages, live_counts_flow);
