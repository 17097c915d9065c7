//! Google Cloud Storage's XML API, as far as a test here can have it: Garage behind a gate
//! that refuses the S3 calls GCS's XML API does not implement.
//!
//! Quay's `GoogleCloudStorage` talks to GCS through its S3-interoperable XML API with HMAC
//! keys. No server implementing that API can be had on these machines: fake-gcs-server is
//! not in the package registries reachable here, and the GCS emulators that are (PyPI's
//! `gcp-storage-emulator`) serve the JSON API plus only XML object PUT and GET. So the
//! driver is run against a real S3 server (Garage) through this gate, which forwards every
//! request unchanged except the ones GCS would refuse:
//!
//! * `GET ?list-type=2` (ListObjectsV2; GCS lists with version 1),
//! * `POST ?delete` (multi-object delete),
//! * `PUT ?partNumber=…&uploadId=…` with `x-amz-copy-source` (UploadPartCopy).
//!
//! Those get `501 NotImplemented` and are recorded, so a test can assert both that the
//! driver never sent one and that the gate does refuse them.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::garage::{self, Bucket};

/// A gate in front of one Garage bucket, listening on loopback.
pub struct GcsGate {
    /// `http://127.0.0.1:<port>`: what `QUAYSIDE_GCS_ENDPOINT` points at.
    pub endpoint: String,
    /// The Garage bucket behind the gate.
    pub bucket: Bucket,
    refused: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone)]
struct Gate {
    upstream: String,
    client: reqwest::Client,
    refused: Arc<Mutex<Vec<String>>>,
}

/// A fresh Garage bucket behind a new gate, served on the current tokio runtime.
pub async fn gate() -> GcsGate {
    let bucket = garage::bucket();
    let refused = Arc::new(Mutex::new(Vec::new()));
    let state = Gate {
        upstream: bucket.endpoint.clone(),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("building the gate's HTTP client: {e}")),
        refused: refused.clone(),
    };
    let app = axum::Router::new().fallback(forward).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("binding the GCS gate: {e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("the GCS gate's address: {e}"))
        .port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    GcsGate {
        endpoint: format!("http://127.0.0.1:{port}"),
        bucket,
        refused,
    }
}

impl GcsGate {
    /// Quay's `GoogleCloudStorage` parameters for the bucket behind the gate.
    pub fn gcs_storage_params(&self, storage_path: &str) -> Vec<(&'static str, String)> {
        vec![
            ("storage_path", storage_path.to_string()),
            ("bucket_name", self.bucket.name.clone()),
            ("access_key", garage::ACCESS_KEY.to_string()),
            ("secret_key", garage::SECRET_KEY.to_string()),
        ]
    }

    /// The requests the gate refused so far, as `METHOD path?query`.
    pub fn refused(&self) -> Vec<String> {
        self.refused
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// Why GCS's XML API would not serve this request, if it would not.
fn unsupported(req: &Request) -> Option<&'static str> {
    let query = req.uri().query().unwrap_or("");
    let has = |key: &str| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some(key))
    };
    if query.split('&').any(|pair| pair == "list-type=2") {
        return Some("ListObjectsV2");
    }
    if req.method() == axum::http::Method::POST && has("delete") {
        return Some("DeleteObjects");
    }
    if req.method() == axum::http::Method::PUT
        && has("partNumber")
        && req.headers().contains_key("x-amz-copy-source")
    {
        return Some("UploadPartCopy");
    }
    None
}

const HOP_BY_HOP: [&str; 3] = ["connection", "transfer-encoding", "keep-alive"];

async fn forward(State(gate): State<Gate>, req: Request) -> Response {
    if let Some(call) = unsupported(&req) {
        let line = format!(
            "{} {}",
            req.method(),
            req.uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
        );
        gate.refused
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(line);
        let body = format!(
            "<?xml version='1.0' encoding='UTF-8'?><Error><Code>NotImplemented</Code>\
             <Message>{call} is not implemented by the XML API.</Message></Error>"
        );
        return (StatusCode::NOT_IMPLEMENTED, body).into_response();
    }
    let (parts, body) = req.into_parts();
    let url = format!(
        "{}{}",
        gate.upstream,
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let mut out = gate
        .client
        .request(parts.method, url)
        .body(reqwest::Body::wrap_stream(body.into_data_stream()));
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            // The Host header is kept: the client signed it.
            out = out.header(name, value);
        }
    }
    let resp = match out.send().await {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("upstream: {e}")).into_response(),
    };
    let mut builder = Response::builder().status(resp.status());
    for (name, value) in resp.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            builder = builder.header(name, value);
        }
    }
    builder
        .body(Body::from_stream(resp.bytes_stream()))
        .unwrap_or_else(|e| (StatusCode::BAD_GATEWAY, e.to_string()).into_response())
}
