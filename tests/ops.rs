//! What an operator touches on one node: the settings file (flags, then the environment, win
//! over it),
//! `/metrics` in Prometheus text format, `/readyz`, and the request id on error pages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};

use common::{free_port, wait_healthy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settings_file_configures_the_server_and_metrics_are_scraped() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let file = dir.path().join("fanloop.toml");
    // The file names one port and folder; the command line and the environment override them.
    std::fs::write(
        &file,
        format!(
            "# fanloop settings\naddr = \"127.0.0.1:{}\"\ndata = \"{}\"\nno-demo = true\nheader_timeout = 5\n",
            free_port(),
            dir.path().join("file-data").display()
        ),
    )
    .unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_fanloop"))
        .arg("--config")
        .arg(&file)
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .env("FANLOOP_DATA", dir.path().join("data"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    assert!(
        dir.path().join("data/fanloop.db").is_file(),
        "the environment's data folder"
    );
    assert!(
        !dir.path().join("file-data").exists(),
        "the environment wins over the file"
    );
    let boards: serde_json::Value = reqwest::get(format!("{base}/api/v1/boards"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(boards, serde_json::json!([]), "no-demo = true came from the file");

    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(
        (body["database"].as_bool(), body["redis"].is_null()),
        (Some(true), true),
        "{body}"
    );

    // A page that does not exist: the error page shows the request id the header carries.
    let r = reqwest::get(format!("{base}/t/999999")).await.unwrap();
    assert_eq!(r.status(), 404);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(r.text().await.unwrap().contains(&id), "the error page quotes {id}");

    assert_eq!(
        reqwest::get(format!("{base}/no/such/page")).await.unwrap().status(),
        404
    );
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert!(metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = metrics.text().await.unwrap();
    for needle in [
        "fanloop_http_requests_total{method=\"GET\",route=\"/api/v1/boards\",status=\"200\"} 1",
        "fanloop_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/boards\",le=\"+Inf\"} 1",
        "fanloop_http_requests_total{method=\"GET\",route=\"/t/{id}\",status=\"404\"} 1",
        "fanloop_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1",
        "fanloop_db_pool_connections{state=\"max\"}",
        "fanloop_search_index{what=\"lag\"} 0",
        "fanloop_mail_outbox{state=\"waiting\"}",
        "fanloop_jobs_overdue 0",
        "fanloop_db_probe_seconds",
    ] {
        assert!(text.contains(needle), "/metrics lacks {needle}:\n{text}");
    }
    let _ = server.kill();
    let _ = server.wait();

    // A misspelt setting stops the start with the list of settings.
    std::fs::write(&file, "adress = \"127.0.0.1:1\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fanloop"))
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown setting `adress`") && err.contains("database_url"),
        "{err}"
    );
}
