//! Test harness: starts fanloop in-process on a random port against SQLite (a temp folder) or a
//! fresh PostgreSQL database, and drives it over HTTP like a client would.

#![allow(dead_code)]

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

pub const PG_ADMIN_URL_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";

pub struct TestApp {
    pub base: String,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pg_database: Option<(String, String)>,
    pub state: fanloop_community::CommunityState,
    /// The passwords printed at the first start with the demo.
    pub demo: Option<fanloop_community::demo::DemoCredentials>,
    /// The knowledge hub's state: tests move its clock.
    pub hub: fanloop_hub::HubState,
}

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn pg_admin_url() -> String {
    std::env::var("FANLOOP_TEST_PG_URL").unwrap_or_else(|_| PG_ADMIN_URL_DEFAULT.to_string())
}

/// Creates a fresh PostgreSQL database, or `None` (with a loud message) when PostgreSQL is not
/// reachable outside CI.  In CI (`CI=true`) an unreachable server fails the test.
pub async fn fresh_pg_database() -> Option<(String, String)> {
    let admin = pg_admin_url();
    let db = match fanloop_platform::Db::connect(&admin).await {
        Ok(db) => db,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL is required in CI but unreachable at {admin}: {e:#}");
            }
            eprintln!("\n!!!!!!!! SKIPPING PostgreSQL variant: cannot reach {admin} ({e}). CI runs it. !!!!!!!!\n");
            return None;
        }
    };
    let name = format!("fanloop_test_{}", &fanloop_platform::auth::new_token()[..12]);
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&db.pool)
        .await
        .expect("create test database");
    db.pool.close().await;
    let url = match admin.rfind('/') {
        Some(i) => format!("{}/{name}", &admin[..i]),
        None => panic!("bad admin url"),
    };
    Some((name, url))
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, false).await
    }

    /// An app with the sentence-embedding model (`None` when it is not installed: a plain
    /// local `cargo test` says so loudly and skips; under `CI=true` its absence fails).
    pub async fn spawn_semantic(backend: Backend) -> Option<TestApp> {
        let model = fanloop_platform::embed::shared_for_tests()?;
        Self::spawn_configured(backend, false, Some(model.path().to_path_buf())).await
    }

    pub async fn spawn_with(backend: Backend, demo: bool) -> Option<TestApp> {
        Self::spawn_configured(backend, demo, None).await
    }

    async fn spawn_configured(
        backend: Backend,
        demo: bool,
        embed_model: Option<std::path::PathBuf>,
    ) -> Option<TestApp> {
        Self::spawn_full(backend, demo, embed_model, None).await
    }

    /// An app that mails through `smtp_url` (`None`: no SMTP, mail waits in the outbox), with a
    /// mail worker that looks every 100 ms.
    pub async fn spawn_mail(backend: Backend, smtp_url: Option<String>) -> Option<TestApp> {
        Self::spawn_full(backend, false, None, Some(smtp_url)).await
    }

    async fn spawn_full(
        backend: Backend,
        demo: bool,
        embed_model: Option<std::path::PathBuf>,
        mail: Option<Option<String>>,
    ) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("tempdir");
        let pg_database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_pg_database().await?),
        };
        let mail = fanloop_platform::mail::MailConfig {
            smtp_url: mail.flatten(),
            from: Some("fanloop tests <noreply@fanloop.test>".into()),
            poll: Some(std::time::Duration::from_millis(100)),
            lease: Some(std::time::Duration::from_secs(10)),
        };
        let config = fanloop::Config {
            database_url: pg_database.as_ref().map(|(_, url)| url.clone()),
            demo,
            embed_model,
            mail,
            public_url: "http://fanloop.test".into(),
            ..fanloop::Config::sqlite(dir.path())
        };
        let app = fanloop::build(&config).await.expect("build app");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(fanloop::serve(app.router, listener, async {
            let _ = stopped.await;
        }));
        Some(TestApp {
            base,
            dir,
            stop: Some(stop),
            server: Some(server),
            pg_database,
            state: app.state,
            demo: app.demo,
            hub: app.hub,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A browser signed in as `login` (password `password123`), with its CSRF token.
    pub async fn signed_in_browser(&self, login: &str) -> (Client, String) {
        self.browser_as(login, "password123").await
    }

    /// A browser signed in with a login and password (demo accounts have their own), with the
    /// CSRF token of its session: signing in gives a new one.
    pub async fn browser_as(&self, login: &str, password: &str) -> (Client, String) {
        let browser = self.browser();
        let csrf = self.sign_in(&browser, login, password).await;
        (browser, csrf)
    }

    /// Signs `browser` (a client with a cookie store) in; returns its session's CSRF token.
    pub async fn sign_in(&self, browser: &Client, login: &str, password: &str) -> String {
        let csrf = csrf_of(self, browser, "/signin").await;
        let r = browser
            .post(self.url("/signin"))
            .form(&[("login", login), ("password", password), ("_csrf", &csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "sign in as {login}");
        csrf_of(self, browser, "/").await
    }

    /// An API token for a demo account.
    pub async fn token_for(&self, login: &str, password: &str) -> String {
        let r = self
            .api()
            .post(self.url("/api/v1/tokens"))
            .json(&json!({"login": login, "password": password, "name": "tests"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "token for {login}");
        let body: Value = r.json().await.unwrap();
        body["token"].as_str().unwrap().to_string()
    }

    /// A client with its own cookie jar: one browser, one person.
    pub fn browser(&self) -> Client {
        Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    pub fn api(&self) -> Client {
        Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Signs up over the API and returns a Bearer token.
    pub async fn user(&self, name: &str) -> String {
        let c = self.api();
        let r = c
            .post(self.url("/api/v1/users"))
            .json(&json!({"username": name, "email": format!("{}@example.com", fanloop_community::domain::percent_encode(name).replace('%', "")), "password": "password123"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "signup {name}: {}",
            r.text().await.unwrap()
        );
        let r = c
            .post(self.url("/api/v1/tokens"))
            .json(&json!({"login": name, "password": "password123", "name": "tests"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let body: Value = r.json().await.unwrap();
        body["token"].as_str().unwrap().to_string()
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.api().request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}: {value}");
        (status, value)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.state.platform.db.pool.close().await;
        if let Some((name, _)) = self.pg_database.take() {
            if let Ok(db) = fanloop_platform::Db::connect(&pg_admin_url()).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&db.pool)
                    .await;
            }
        }
    }
}

/// Reads the CSRF cookie a browser was given by visiting `path`.
pub async fn csrf_of(app: &TestApp, browser: &Client, path: &str) -> String {
    let page = browser.get(app.url(path)).send().await.unwrap().text().await.unwrap();
    let marker = "name=\"csrf-token\" content=\"";
    let start = page.find(marker).expect("csrf meta") + marker.len();
    page[start..start + 64].to_string()
}

/// Runs one test body against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
                ($body)(&app).await;
                app.stop().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) = TestApp::spawn(Backend::Postgres).await else {
                    return;
                };
                ($body)(&app).await;
                app.stop().await;
            }
        }
    };
}

/// A free TCP port on loopback (for tests that start the real binary).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the real `fanloop` binary on `port` with an empty store in `data`.
pub fn start_binary(data: &std::path::Path, port: u16) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_fanloop"))
        .args(["serve", "--no-demo", "--addr", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start fanloop")
}

/// Signs `name` up on the server at `base` (password `password123`) and returns an API token.
pub async fn signup_token(c: &reqwest::Client, base: &str, name: &str) -> String {
    let r = c
        .post(format!("{base}/api/v1/users"))
        .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let t: serde_json::Value = c
        .post(format!("{base}/api/v1/tokens"))
        .json(&json!({"login": name, "password": "password123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    t["token"].as_str().unwrap().to_string()
}

pub async fn wait_healthy(base: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if reqwest::get(format!("{base}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("fanloop did not become healthy at {base}");
}

/// Whether this is a CI run (`CI=true`): then unreachable services fail tests instead of
/// skipping them.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The shared Redis for multi-node tests, or `None` (loudly) outside CI when it is not running.
/// Tests use a key prefix of their own and never flush it.
pub async fn redis_url() -> Option<String> {
    let url = std::env::var("FANLOOP_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let reachable = match redis::Client::open(url.as_str()) {
        Ok(c) => c.get_multiplexed_async_connection().await.is_ok(),
        Err(_) => false,
    };
    if reachable {
        return Some(url);
    }
    assert!(!in_ci(), "Redis is required in CI but unreachable at {url}");
    eprintln!("\n!!!!!!!! SKIPPING multi-node test: Redis unreachable at {url}. CI runs it. !!!!!!!!\n");
    None
}

pub fn redis_server_installed() -> bool {
    std::process::Command::new("redis-server")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A private `redis-server` on a free port, for tests that kill and restart it.
pub struct OwnRedis {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

impl OwnRedis {
    /// Starts one, or `None` (loudly) outside CI when `redis-server` is not installed.
    pub async fn start() -> Option<OwnRedis> {
        if !redis_server_installed() {
            assert!(!in_ci(), "redis-server is required in CI");
            eprintln!("\n!!!!!!!! SKIPPING: no redis-server on this machine. CI runs it. !!!!!!!!\n");
            return None;
        }
        let mut r = OwnRedis {
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        r.restart().await;
        Some(r)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// kill -9.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// (Re)starts it empty and waits until it answers.
    pub async fn restart(&mut self) {
        self.kill();
        self.child = Some(
            std::process::Command::new("redis-server")
                .args([
                    "--port",
                    &self.port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .arg("--dir")
                .arg(self.dir.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        for _ in 0..100 {
            if let Ok(c) = redis::Client::open(self.url()) {
                if c.get_multiplexed_async_connection().await.is_ok() {
                    return;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("redis-server did not start");
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A real SMTP server (aiosmtpd, `scripts/smtp-sink.py`) that writes what it accepts to a
/// folder. `None` (loudly) when Python's aiosmtpd is missing outside CI; under `CI=true` its
/// absence fails the test.
pub struct SmtpSink {
    child: std::process::Child,
    pub dir: tempfile::TempDir,
    pub url: String,
}

/// A message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
    pub headers: Vec<(String, String)>,
}

impl ReceivedMail {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first link to `path_prefix` in the text part, as a path (`/account/reset/…`).
    pub fn link(&self, path_prefix: &str) -> Option<String> {
        let at = self.text.find(&format!("http://fanloop.test{path_prefix}"))?;
        let rest = &self.text[at + "http://fanloop.test".len()..];
        Some(rest.split_whitespace().next()?.to_string())
    }
}

impl SmtpSink {
    pub fn start(slow_rcpt_secs: f64) -> Option<SmtpSink> {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/smtp-sink.py");
        let spawned = std::process::Command::new("python3")
            .arg(script)
            .arg(dir.path())
            .args(["--slow-rcpt", &slow_rcpt_secs.to_string()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => return Self::unavailable(&format!("python3 did not start: {e}")),
        };
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let Ok(port) = line.trim().parse::<u16>() else {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            return Self::unavailable(&format!("the SMTP sink did not start (pip install aiosmtpd): {err}"));
        };
        Some(SmtpSink {
            child,
            dir,
            url: format!("smtp://127.0.0.1:{port}"),
        })
    }

    fn unavailable(why: &str) -> Option<SmtpSink> {
        if in_ci() {
            panic!("a real SMTP server is required in CI: {why}");
        }
        eprintln!("\n!!!!!!!! SKIPPING mail test: {why}. CI runs it. !!!!!!!!\n");
        None
    }

    /// Every message received so far, in order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                let raw = std::fs::read(p).unwrap();
                let m = mail_parser::MessageParser::default()
                    .parse(&raw)
                    .expect("a MIME message");
                ReceivedMail {
                    to: m
                        .to()
                        .and_then(|a| a.first())
                        .and_then(|a| a.address())
                        .unwrap_or_default()
                        .to_string(),
                    subject: m.subject().unwrap_or_default().to_string(),
                    text: m.body_text(0).map(|t| t.to_string()).unwrap_or_default(),
                    html: m.body_html(0).map(|t| t.to_string()).unwrap_or_default(),
                    message_id: m.message_id().unwrap_or_default().to_string(),
                    headers: m
                        .headers_raw()
                        .map(|(n, v)| (n.to_string(), v.trim().to_string()))
                        .collect(),
                }
            })
            .collect()
    }

    /// Waits until at least `n` messages arrived (30 s at most), and returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<ReceivedMail> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let got = self.messages();
            if got.len() >= n || std::time::Instant::now() > deadline {
                assert!(
                    got.len() >= n,
                    "expected {n} messages, the SMTP server has {}: {got:#?}",
                    got.len()
                );
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Messages received for `to`.
    pub fn to(&self, to: &str) -> Vec<ReceivedMail> {
        self.messages().into_iter().filter(|m| m.to == to).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An open server-sent-event stream, read event by event.
pub struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    pub async fn open(app: &TestApp, path: &str, token: Option<&str>) -> Events {
        let mut request = app.api().get(app.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        Events {
            response,
            buffer: String::new(),
        }
    }

    /// The data of the next event named `name`, waiting at most 5 s.
    pub async fn next(&mut self, name: &str) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if block.lines().any(|l| l == format!("event: {name}")) {
                    let data = block.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
                    return serde_json::from_str(data).unwrap();
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no `{name}` event within 5 s"))
                .unwrap()
                .expect("stream ended");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}
