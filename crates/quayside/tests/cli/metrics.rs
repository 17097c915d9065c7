//! Quay's metric names on the metrics listener move when their events happen.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Digest as _;

use crate::config_check::valid_config;
use crate::fixtures;
use crate::harness::{free_port, Server};

/// Sum of every sample of `name` whose labels contain all of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.starts_with(name) && matches!(l.as_bytes().get(name.len()), Some(b'{') | Some(b' '))
        })
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

async fn scrape(port: u16) -> String {
    let resp = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("scrape");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.expect("body")
}

#[tokio::test]
async fn quay_metrics_move_with_their_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let metrics_port = free_port();
    let yaml = valid_config(dir.path()).replace(
        "SERVER_HOSTNAME: localhost:8080",
        &format!("SERVER_HOSTNAME: localhost:{port}"),
    );
    std::fs::write(dir.path().join("config.yaml"), yaml).expect("config");
    let db_uri = format!("sqlite:///{}", dir.path().join("quay.db").display());
    let args = [
        "--config-dir",
        dir.path().to_str().expect("utf8"),
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--metrics-listen",
        &format!("127.0.0.1:{metrics_port}"),
    ];
    // A user exists before this start, so the row gauges count it at start.
    let mut first = Server::start(&args, dir.path(), port).await;
    fixtures::create_user(&db_uri, "erin", "erins-password", "erin@example.com").await;
    assert!(first.signal_and_wait("TERM").success());
    let mut server = Server::start(&args, dir.path(), port).await;

    let before = scrape(metrics_port).await;
    assert_eq!(sample(&before, "quay_user_rows", &[]), 1.0, "{before}");
    assert_eq!(sample(&before, "quay_org_rows", &[]), 0.0);
    for family in [
        "process_resident_memory_bytes",
        "quay_repository_rows",
        "quay_robot_rows",
    ] {
        assert!(before.contains(family), "{family} exported");
    }

    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let auth = |pw: &'static str| {
        http.get(format!("{base}/v2/auth"))
            .query(&[
                ("service", format!("localhost:{port}")),
                ("scope", "repository:erin/app:pull,push".to_string()),
            ])
            .basic_auth("erin", Some(pw))
            .send()
    };
    assert_eq!(
        auth("wrong-password").await.expect("auth").status(),
        StatusCode::UNAUTHORIZED
    );
    // Quay's login throttling holds the account for 0.5 s after one failure.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let resp = auth("erins-password").await.expect("auth");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    assert_eq!(status, StatusCode::OK, "{text}");
    let token = serde_json::from_str::<Value>(&text).expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(config)));
    let resp = http
        .post(format!(
            "{base}/v2/erin/app/blobs/uploads/?digest={config_digest}"
        ))
        .bearer_auth(&token)
        .body(config.to_vec())
        .send()
        .await
        .expect("push blob");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": []
    }))
    .expect("json");
    let resp = http
        .put(format!("{base}/v2/erin/app/manifests/v1"))
        .bearer_auth(&token)
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest)
        .send()
        .await
        .expect("push manifest");
    assert_eq!(resp.status(), StatusCode::CREATED);
    for _ in 0..2 {
        let resp = http
            .get(format!("{base}/v2/erin/app/manifests/v1"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("pull");
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let resp = http
        .get(format!("{base}/v2/erin/app/manifests/nope"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("pull");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = http
        .get(format!("{base}/v2/erin/app/blobs/{config_digest}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("blob");
    assert_eq!(resp.status(), StatusCode::OK);

    let after = scrape(metrics_port).await;
    let delta =
        |name: &str, labels: &[&str]| sample(&after, name, labels) - sample(&before, name, labels);
    assert_eq!(
        delta(
            "quay_registry_image_pulls_total",
            &["ref=\"tag\"", "status=\"200\""]
        ),
        2.0,
        "{after}"
    );
    assert_eq!(
        delta(
            "quay_registry_image_pulls_total",
            &["ref=\"tag\"", "status=\"404\""]
        ),
        1.0
    );
    assert_eq!(
        delta(
            "quay_registry_image_pushes_total",
            &[
                "status=\"201\"",
                "media_type=\"application/vnd.oci.image.manifest.v1+json\""
            ]
        ),
        1.0
    );
    assert_eq!(
        delta("quay_registry_image_pushed_bytes_total", &[]),
        config.len() as f64
    );
    assert_eq!(
        delta("quay_registry_image_pulled_estimated_bytes_total", &[]),
        config.len() as f64
    );
    assert_eq!(
        delta("quay_authentication_attempts_total", &["success=\"True\""]),
        1.0
    );
    assert_eq!(
        delta("quay_authentication_attempts_total", &["success=\"False\""]),
        1.0
    );
    assert!(
        delta("quay_request_duration_seconds_count", &["method=\"GET\""]) >= 4.0,
        "{after}"
    );
    assert!(server.signal_and_wait("TERM").success());
}
