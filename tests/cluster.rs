//! Three nodes of the real binary on one PostgreSQL and Redis act as one site: a post written
//! on one node is found by search on the others within 2 s (edits and deletions too); the
//! sign-in limit holds for the cluster, not per node; a job runs once, not once per node; a
//! node killed with SIGKILL and restarted catches up from where its index stopped, without a
//! rebuild; `/metrics` and `/readyz` answer.  Runs with `CI=true`; a plain local `cargo test`
//! skips loudly without PostgreSQL or Redis.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

struct Node {
    base: String,
    port: u16,
    data: PathBuf,
    child: Option<Child>,
}

impl Node {
    fn start(db_url: &str, redis_url: &str, prefix: &str, data: &Path, port: u16) -> Node {
        std::fs::create_dir_all(data).unwrap();
        let log = std::fs::File::create(data.join("node.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_fanloop"))
            .args(["serve", "--no-demo", "--addr", &format!("127.0.0.1:{port}"), "--data"])
            .arg(data)
            .args([
                "--database-url",
                db_url,
                "--redis-url",
                redis_url,
                "--redis-prefix",
                prefix,
            ])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start fanloop");
        Node {
            base: format!("http://127.0.0.1:{port}"),
            port,
            data: data.to_path_buf(),
            child: Some(child),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("node.log")).unwrap_or_default()
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn call(
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = client().request(method, format!("{base}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let s = r.status();
    let text = r.text().await.unwrap();
    (s, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// An open server-sent-event stream and what was read of it.
type Events = (reqwest::Response, String);

async fn open_events(url: &str, token: Option<&str>) -> Events {
    let mut req = client().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{url}");
    (r, String::new())
}

/// The data of the next event named `name`, waiting at most 5 s.
async fn next_event(events: &mut Events, name: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        while let Some(end) = events.1.find("\n\n") {
            let block: String = events.1.drain(..end + 2).collect();
            if block.lines().any(|l| l == format!("event: {name}")) {
                let data = block.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
                return serde_json::from_str(data).unwrap();
            }
        }
        let chunk = tokio::time::timeout_at(deadline, events.0.chunk())
            .await
            .unwrap_or_else(|_| panic!("no `{name}` event within 5 s"))
            .unwrap()
            .expect("stream ended");
        events.1.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// The post ids search finds for `q` on a node.
async fn found(base: &str, q: &str) -> Vec<i64> {
    let (s, v) = call(base, reqwest::Method::GET, &format!("/api/v1/search?q={q}"), None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["post_id"].as_i64().unwrap())
        .collect()
}

/// Waits until search for `q` on `base` gives `want`; returns how long it took.
async fn converge(base: &str, q: &str, want: &[i64]) -> Duration {
    let started = Instant::now();
    loop {
        let mut got = found(base, q).await;
        got.sort();
        if got == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{base}: search for {q} gives {got:?}, not {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn metric(base: &str, line_prefix: &str) -> Option<f64> {
    let text = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with(line_prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_act_as_one_site() {
    let Some((_name, db_url)) = common::fresh_pg_database().await else {
        return;
    };
    let Some(redis_url) = common::redis_url().await else {
        return;
    };
    let prefix = format!("fanloop-test-{}:", &fanloop_platform::auth::new_token()[..10]);
    let dir = tempfile::tempdir().unwrap();
    // The first node creates the schema; the others start on it.
    let mut nodes = vec![Node::start(
        &db_url,
        &redis_url,
        &prefix,
        &dir.path().join("a"),
        common::free_port(),
    )];
    common::wait_healthy(&nodes[0].base).await;
    for name in ["b", "c"] {
        nodes.push(Node::start(
            &db_url,
            &redis_url,
            &prefix,
            &dir.path().join(name),
            common::free_port(),
        ));
    }
    for n in &nodes {
        common::wait_healthy(&n.base).await;
    }
    let (a, b, c) = (nodes[0].base.clone(), nodes[1].base.clone(), nodes[2].base.clone());
    for n in &nodes {
        let (s, v) = call(&n.base, reqwest::Method::GET, "/readyz", None, None).await;
        assert_eq!((s, v["ready"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
        assert_eq!(v["redis"], true, "{v}");
    }

    // The first account (the administrator) signs up on A and gets a token on B.
    let (s, v) = call(
        &a,
        reqwest::Method::POST,
        "/api/v1/users",
        None,
        Some(json!({"username": "ops_admin", "email": "ops@example.com", "password": "password123"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = call(
        &b,
        reqwest::Method::POST,
        "/api/v1/tokens",
        None,
        Some(json!({"login": "ops_admin", "password": "password123", "name": "t"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let admin = v["token"].as_str().unwrap().to_string();
    let (s, v) = call(
        &c,
        reqwest::Method::POST,
        "/api/v1/boards",
        Some(&admin),
        Some(json!({"slug": "general", "name": "General"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // A post on A is found on B and C within 2 s.
    let (s, v) = call(
        &a,
        reqwest::Method::POST,
        "/api/v1/boards/general/threads",
        Some(&admin),
        Some(json!({"title": "集群搜索测试", "body": "夜景模式 quasarflux 在三个节点上"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let post = v["post_id"].as_i64().unwrap();
    let thread = v["thread_id"].as_i64().unwrap();
    for base in [&b, &c] {
        let took = converge(base, "quasarflux", &[post]).await;
        eprintln!("a new post on A is found on {base} after {took:?}");
        assert!(took < Duration::from_secs(2), "{base} took {took:?}");
    }
    // An edit on B and a reply on C reach every node; a deletion on C leaves every index.
    let (s, v) = call(
        &b,
        reqwest::Method::PATCH,
        &format!("/api/v1/posts/{post}"),
        Some(&admin),
        Some(json!({"body": "夜景模式 nebulith 在三个节点上"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = call(
        &c,
        reqwest::Method::POST,
        &format!("/api/v1/threads/{thread}/posts"),
        Some(&admin),
        Some(json!({"body": "回复 nebulith too"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let reply = v["post_id"].as_i64().unwrap();
    let mut both = vec![post, reply];
    both.sort();
    for base in [&a, &b, &c] {
        let took = converge(base, "nebulith", &both).await;
        eprintln!("an edit on B and a reply on C are found on {base} after {took:?}");
        assert!(took < Duration::from_secs(2), "{base} took {took:?}");
        assert!(
            found(base, "quasarflux").await.is_empty(),
            "{base} still finds the old text"
        );
    }
    let (s, v) = call(
        &c,
        reqwest::Method::DELETE,
        &format!("/api/v1/posts/{reply}"),
        Some(&admin),
        None,
    )
    .await;
    assert!(s.is_success(), "{s} {v}");
    for base in [&a, &b, &c] {
        let took = converge(base, "nebulith", &[post]).await;
        assert!(took < Duration::from_secs(2), "{base} took {took:?}");
    }

    // The sign-in limit (10 attempts per account and address in 5 minutes) holds for the
    // cluster: after the sign-in on B above, nine guesses spread over three nodes are answered
    // and then every node refuses (per node, each would have allowed ten).
    let guess = |base: String| async move {
        call(
            &base,
            reqwest::Method::POST,
            "/api/v1/tokens",
            None,
            Some(json!({"login": "ops_admin", "password": "wrong-password", "name": "t"})),
        )
        .await
        .0
    };
    for i in 0..9 {
        let base = [&a, &b, &c][i % 3].clone();
        assert_eq!(guess(base).await, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    for base in [&a, &b, &c] {
        assert_eq!(guess(base.clone()).await, StatusCode::TOO_MANY_REQUESTS, "{base}");
    }

    // The purchase flood limit (20 attempts per account per second) holds for the cluster too:
    // 45 attempts at once, 15 on each node, are more than the cluster allows in a second (or
    // two, if they straddle one), though each node alone would let its 15 through.  It is
    // counted before the drop is looked up, so a drop that does not exist shows it.
    let attempts = (0..45).map(|i| {
        let base = [&a, &b, &c][i % 3].clone();
        let admin = admin.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/api/v1/drops/no-such-drop/purchase"))
                .bearer_auth(&admin)
                .header("idempotency-key", format!("flood-{i}"))
                .json(&json!({"variant_id": 1}))
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    let limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert!((5..=25).contains(&limited), "{limited} of 45 refused: {statuses:?}");
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::TOO_MANY_REQUESTS || *s == StatusCode::NOT_FOUND));

    // Live counts cross nodes: the administrator's bell is open on C and the thread on B; a
    // fan replies on A; both learn of it within a few seconds.
    let (s, v) = call(
        &a,
        reqwest::Method::POST,
        "/api/v1/users",
        None,
        Some(json!({"username": "ops_fan", "email": "fan@example.com", "password": "password123"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = call(
        &a,
        reqwest::Method::POST,
        "/api/v1/tokens",
        None,
        Some(json!({"login": "ops_fan", "password": "password123", "name": "t"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let fan = v["token"].as_str().unwrap().to_string();
    let mut bell = open_events(&format!("{c}/api/v1/notifications/stream"), Some(&admin)).await;
    let unread_before = next_event(&mut bell, "unread").await["unread"].as_i64().unwrap();
    let mut replies = open_events(&format!("{b}/api/v1/threads/{thread}/stream?after={post}"), None).await;
    assert_eq!(next_event(&mut replies, "posts").await["new"], 0);
    let started = std::time::Instant::now();
    let (s, v) = call(
        &a,
        reqwest::Method::POST,
        &format!("/api/v1/threads/{thread}/posts"),
        Some(&fan),
        Some(json!({"body": "从节点 A 回复"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(next_event(&mut replies, "posts").await["first"], v["post_id"]);
    assert!(next_event(&mut bell, "unread").await["unread"].as_i64().unwrap() > unread_before);
    eprintln!(
        "a reply on A reached an open thread on B and a bell on C in {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    drop((bell, replies));

    // Every node keeps the tokens it has looked up in memory; a suspension on A reaches B and
    // C within a second or two (they read `auth_changes`), and lifting it works the same way.
    let me = |base: String, token: String| async move {
        call(&base, reqwest::Method::GET, "/api/v1/me", Some(&token), None).await
    };
    for base in [&b, &c] {
        for _ in 0..2 {
            let (s, v) = me(base.clone(), fan.clone()).await;
            assert_eq!((s, v["username"].as_str()), (StatusCode::OK, Some("ops_fan")), "{v}");
        }
        // The node answers from memory: what follows tests the cache, not the database.
        assert_eq!(metric(base, "fanloop_auth_cache{what=\"trusted\"}").await, Some(1.0));
        assert!(metric(base, "fanloop_auth_cache{what=\"tokens\"}").await.unwrap_or(0.0) >= 1.0);
    }
    let until_answer = |base: String, want: StatusCode| {
        let fan = fan.clone();
        async move {
            let started = Instant::now();
            loop {
                let (s, v) = me(base.clone(), fan.clone()).await;
                if s == want {
                    return (started.elapsed(), v);
                }
                assert!(started.elapsed() < Duration::from_secs(10), "{base}: still {s} {v}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let (s, v) = call(
        &a,
        reqwest::Method::PUT,
        "/api/v1/users/ops_fan/sanctions/suspend",
        Some(&admin),
        Some(json!({"days": 1, "reason": "cluster test"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = me(a.clone(), fan.clone()).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("suspended")),
        "on A at once"
    );
    for base in [&b, &c] {
        let (took, v) = until_answer(base.clone(), StatusCode::FORBIDDEN).await;
        assert_eq!(v["error"], "suspended", "{v}");
        eprintln!("a suspension on A reached the token cache of {base} in {took:?}");
        assert!(took < Duration::from_secs(3), "{base} took {took:?}");
    }
    let (s, v) = call(
        &c,
        reqwest::Method::DELETE,
        "/api/v1/users/ops_fan/sanctions/suspend",
        Some(&admin),
        None,
    )
    .await;
    assert!(s.is_success(), "{s} {v}");
    // (A suspended account is never kept, so this is the database's answer.)
    for base in [&a, &b] {
        let (took, _) = until_answer(base.clone(), StatusCode::OK).await;
        assert!(took < Duration::from_secs(3), "{base} took {took:?}");
    }

    // The knowledge hub on several nodes: a segment made on A is listed on B, an expert
    // appointed on B takes a question asked on C, and the member's conversation, open on B,
    // shows the answer the expert writes on A within seconds.
    let (s, v) = call(
        &a,
        reqwest::Method::POST,
        "/api/v1/users",
        None,
        Some(json!({"username": "ops_nurse", "email": "nurse@example.com", "password": "password123"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, v) = call(
        &a,
        reqwest::Method::POST,
        "/api/v1/tokens",
        None,
        Some(json!({"login": "ops_nurse", "password": "password123", "name": "t"})),
    )
    .await;
    let nurse = v["token"].as_str().unwrap().to_string();
    let (s, v) = call(
        &a,
        reqwest::Method::POST,
        "/api/v1/hub/segments",
        Some(&admin),
        Some(
            json!({"key": "pregnancy", "kind": "stage", "names": {"en": "Pregnancy", "zh": "孕期"},
            "date_prompt": {"en": "Due date"}, "unit": "week", "offset": 40, "min": 1, "max": 42}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let until = |base: String, path: &'static str, want: &'static str| async move {
        let started = Instant::now();
        loop {
            let (_, v) = call(&base, reqwest::Method::GET, path, None, None).await;
            if v.to_string().contains(want) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{base}{path}: no {want} in {v}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let took = until(b.clone(), "/api/v1/hub/segments", "pregnancy").await;
    eprintln!("a segment made on A was listed on B after {took:?}");
    assert!(took < Duration::from_millis(1_500), "{took:?}");
    let (s, v) = call(
        &b,
        reqwest::Method::POST,
        "/api/v1/hub/experts",
        Some(&admin),
        Some(json!({"username": "ops_nurse", "field": "Sleep"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let took = until(c.clone(), "/api/v1/hub/topics", "Sleep").await;
    assert!(took < Duration::from_millis(1_500), "{took:?}");
    let (s, q) = call(
        &c,
        reqwest::Method::POST,
        "/api/v1/hub/questions",
        Some(&fan),
        Some(json!({"field": "Sleep", "subject": "夜醒", "body": "宝宝晚上每两小时醒一次，正常吗？"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    let id = q["id"].as_i64().unwrap();
    let mut live = open_events(&format!("{b}/api/v1/hub/questions/{id}/stream"), Some(&fan)).await;
    assert_eq!(next_event(&mut live, "conversation").await["messages"], 1);
    let started = Instant::now();
    let (s, v) = call(
        &a,
        reqwest::Method::POST,
        &format!("/api/v1/hub/questions/{id}/messages"),
        Some(&nurse),
        Some(json!({"body": "0–3 个月的宝宝夜醒 2–3 次是正常的。"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let pushed = next_event(&mut live, "conversation").await;
    assert_eq!(
        (pushed["messages"].as_i64(), pushed["status"].as_str()),
        (Some(2), Some("open"))
    );
    eprintln!(
        "an answer written on A reached the member's conversation open on B in {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    drop(live);

    // A job that is due at start ran once, not once per node.
    let db = fanloop_platform::Db::connect(&db_url).await.unwrap();
    let runs: i64 = sqlx::Row::get(
        &sqlx::query("SELECT runs FROM jobs WHERE name = 'search.prune_log'")
            .fetch_one(&db.pool)
            .await
            .unwrap(),
        "runs",
    );
    assert_eq!(runs, 1, "the hourly job ran {runs} times on three nodes");

    // C is killed; posts written meanwhile are on C as soon as it is back, without a rebuild.
    nodes[2].kill9();
    let mut written = Vec::new();
    for i in 0..5 {
        let node = &[&a, &b][i % 2];
        let (s, v) = call(
            node,
            reqwest::Method::POST,
            "/api/v1/boards/general/threads",
            Some(&admin),
            Some(json!({"title": format!("停机期间 {i}"), "body": "写于节点停机期间 zephyrion"})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        written.push(v["post_id"].as_i64().unwrap());
    }
    written.sort();
    let (port, data) = (nodes[2].port, nodes[2].data.clone());
    nodes[2] = Node::start(&db_url, &redis_url, &prefix, &data, port);
    common::wait_healthy(&c).await;
    let took = converge(&c, "zephyrion", &written).await;
    eprintln!("the restarted node found the 5 posts written while it was down after {took:?}");
    assert!(
        took < Duration::from_millis(500),
        "caught up before serving, yet took {took:?}"
    );
    assert_eq!(
        metric(&c, "fanloop_search_index{what=\"rebuilds\"}").await,
        Some(0.0),
        "the restarted node rebuilt its index: {}",
        nodes[2].log()
    );
    assert_eq!(metric(&c, "fanloop_search_index{what=\"lag\"}").await, Some(0.0));
    assert!(metric(
        &a,
        "fanloop_http_requests_total{method=\"GET\",route=\"/api/v1/search\",status=\"200\"}"
    )
    .await
    .is_some_and(|n| n >= 1.0));

    // A request id comes back on every answer and in JSON errors.
    let r = client().get(format!("{a}/api/v1/posts/999999")).send().await.unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["request_id"], id.as_str(), "{body}");
}
