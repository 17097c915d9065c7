//! Structured logs: one line per request with method, path, status,
//! duration and user; JSON with JSONLOG=true; secrets never logged.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config_check::valid_config;
use crate::fixtures;
use crate::harness::{bin, free_port};

#[tokio::test]
async fn json_request_lines_name_the_user_and_leak_no_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let yaml = valid_config(dir.path()).replace(
        "SERVER_HOSTNAME: localhost:8080",
        &format!("SERVER_HOSTNAME: localhost:{port}"),
    );
    std::fs::write(dir.path().join("config.yaml"), yaml).expect("config");
    let log_path = dir.path().join("json.log");
    let mut child = Command::new(bin())
        .env("QUAYSIDE_METRICS_LISTEN", "127.0.0.1:0")
        .args([
            "serve",
            "--config-dir",
            dir.path().to_str().expect("utf8"),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("JSONLOG", "true")
        .env_remove("QUAYSIDE_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).expect("log"))
        .spawn()
        .expect("spawn");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while reqwest::get(format!("{base}/_internal_ping"))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "server did not start:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let db_uri = format!("sqlite:///{}", dir.path().join("quay.db").display());
    let password = "dave-secret-password-42";
    fixtures::create_user(&db_uri, "dave", password, "dave@example.com").await;
    let resp = reqwest::Client::new()
        .get(format!("{base}/v2/auth"))
        .query(&[
            ("service", format!("localhost:{port}")),
            ("scope", "repository:dave/app:pull,push".to_string()),
        ])
        .basic_auth("dave", Some(password))
        .send()
        .await
        .expect("auth");
    assert_eq!(resp.status(), 200);
    let token = resp.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let resp = reqwest::Client::new()
        .get(format!("{base}/v2/dave/app/tags/list"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("tags");
    assert_eq!(resp.status(), 200);
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();

    let text = std::fs::read_to_string(&log_path).expect("log");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let request_line = lines
        .iter()
        .find(|l| {
            l["span"]["path"] == "/v2/dave/app/tags/list" && l["fields"]["status"].is_number()
        })
        .unwrap_or_else(|| panic!("no request line for tags/list in:\n{text}"));
    assert_eq!(request_line["span"]["method"], "GET");
    assert_eq!(request_line["fields"]["status"], 200);
    assert!(
        request_line["fields"]["duration_ms"].is_number(),
        "{request_line}"
    );
    assert_eq!(request_line["span"]["user"], "dave", "{request_line}");
    for secret in [password, token.as_str(), "another-secret", "a-secret"] {
        assert!(
            !text.contains(secret),
            "secret {secret:?} leaked into the log"
        );
    }
}
