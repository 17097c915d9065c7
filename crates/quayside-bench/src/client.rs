//! The one registry client both servers are measured with: the same
//! `reqwest` client (HTTP/1.1 keep-alive, TCP_NODELAY, no proxy), the same
//! requests. The only difference is the bearer token quayside requires and
//! distribution (no auth configured) does not need.

use std::sync::RwLock;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_RANGE, CONTENT_TYPE, LINK};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use sha2::{Digest, Sha256};

pub const MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
const ACCEPT_MANIFESTS: &str = "application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json";

/// The HTTP client shared by every request of the run.
pub fn http_client(max_idle: usize) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(max_idle)
        .pool_idle_timeout(Duration::from_secs(300))
        .timeout(Duration::from_secs(600))
        .build()
        .context("build HTTP client")
}

/// Reads a response body to its end as it arrives, keeping nothing; answers its length.
pub async fn body_len(mut resp: reqwest::Response) -> Result<u64> {
    let mut n = 0u64;
    while let Some(chunk) = resp.chunk().await.context("read the body")? {
        n += chunk.len() as u64;
    }
    Ok(n)
}

/// `sha256:<hex>` of `data`.
pub fn digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// Basic credentials for `/v2/auth`.
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// One server as the client sees it.
pub struct Target {
    pub name: &'static str,
    pub base: String,
    /// `service` for `/v2/auth` (quayside's SERVER_HOSTNAME).
    service: String,
    credentials: Option<Credentials>,
    authorization: RwLock<Option<HeaderValue>>,
    pub http: reqwest::Client,
}

impl Target {
    pub fn new(
        name: &'static str,
        port: u16,
        credentials: Option<Credentials>,
        http: reqwest::Client,
    ) -> Target {
        Target {
            name,
            base: format!("http://127.0.0.1:{port}"),
            service: format!("localhost:{port}"),
            credentials,
            authorization: RwLock::new(None),
            http,
        }
    }

    /// Fetches a fresh registry token for `scopes` (a no-op without
    /// credentials). Tokens live an hour; the harness refreshes per phase.
    pub async fn refresh_token(&self, scopes: &[String]) -> Result<()> {
        let Some(c) = &self.credentials else {
            return Ok(());
        };
        let mut query: Vec<(&str, &str)> = vec![("service", self.service.as_str())];
        query.extend(scopes.iter().map(|s| ("scope", s.as_str())));
        let resp = self
            .http
            .get(format!("{}/v2/auth", self.base))
            .query(&query)
            .basic_auth(&c.username, Some(&c.password))
            .send()
            .await
            .context("GET /v2/auth")?;
        let resp = expect(resp, StatusCode::OK, "GET /v2/auth").await?;
        let body: serde_json::Value = resp.json().await.context("/v2/auth body")?;
        let token = body["token"]
            .as_str()
            .context("/v2/auth answered without a token")?;
        let value = HeaderValue::from_str(&format!("Bearer {token}")).context("token header")?;
        *self
            .authorization
            .write()
            .map_err(|_| anyhow::anyhow!("token lock poisoned"))? = Some(value);
        Ok(())
    }

    /// A request to a path (`/v2/...`) or to a `Location` the server gave.
    pub fn req(&self, method: Method, path_or_location: &str) -> Result<RequestBuilder> {
        let url = self.absolute(path_or_location)?;
        let mut rb = self.http.request(method, url);
        let auth = self
            .authorization
            .read()
            .map_err(|_| anyhow::anyhow!("token lock poisoned"))?
            .clone();
        if let Some(v) = auth {
            rb = rb.header(AUTHORIZATION, v);
        }
        Ok(rb)
    }

    /// Servers answer absolute `Location`s with the host they think they
    /// have (quayside: `localhost:P`); the client always dials 127.0.0.1.
    fn absolute(&self, loc: &str) -> Result<String> {
        if loc.starts_with('/') {
            return Ok(format!("{}{loc}", self.base));
        }
        match loc.find("/v2/") {
            Some(i) if loc.starts_with("http://") => Ok(format!("{}{}", self.base, &loc[i..])),
            _ => bail!("{}: unexpected location {loc:?}", self.name),
        }
    }

    /// `POST /v2/<repo>/blobs/uploads/` → the upload's `Location`.
    async fn start_upload(&self, repo: &str) -> Result<String> {
        let resp = self
            .req(Method::POST, &format!("/v2/{repo}/blobs/uploads/"))?
            .send()
            .await
            .context("POST blobs/uploads")?;
        let resp = expect(resp, StatusCode::ACCEPTED, "POST blobs/uploads").await?;
        location(&resp)
    }

    /// Monolithic upload as the spec's two requests: POST for a session, then
    /// one PUT carrying the whole blob and its digest.
    pub async fn upload_post_put(&self, repo: &str, data: &Bytes, digest: &str) -> Result<()> {
        let loc = self.start_upload(repo).await?;
        let resp = self
            .req(Method::PUT, &with_digest(&loc, digest))?
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(data.clone())
            .send()
            .await
            .context("PUT blob")?;
        expect(resp, StatusCode::CREATED, "PUT blob (monolithic)").await?;
        Ok(())
    }

    /// Monolithic upload in a single `POST ?digest=` (optional in the spec).
    /// Returns whether the server took the blob (201) rather than opening a
    /// session (202).
    pub async fn upload_single_post(&self, repo: &str, data: &Bytes, digest: &str) -> Result<bool> {
        let resp = self
            .req(
                Method::POST,
                &format!("/v2/{repo}/blobs/uploads/?digest={digest}"),
            )?
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(data.clone())
            .send()
            .await
            .context("POST blobs/uploads?digest=")?;
        match resp.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => Ok(false),
            _ => {
                expect(resp, StatusCode::CREATED, "POST ?digest=").await?;
                Ok(false)
            }
        }
    }

    /// Chunked upload: POST, one PATCH per `chunk` bytes (with
    /// `Content-Range`), then PUT `?digest=` with no body.
    pub async fn upload_chunked(
        &self,
        repo: &str,
        data: &Bytes,
        digest: &str,
        chunk: usize,
    ) -> Result<()> {
        let mut loc = self.start_upload(repo).await?;
        let mut offset = 0usize;
        while offset < data.len() {
            let end = (offset + chunk.max(1)).min(data.len());
            let resp = self
                .req(Method::PATCH, &loc)?
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_RANGE, format!("{offset}-{}", end - 1))
                .body(data.slice(offset..end))
                .send()
                .await
                .context("PATCH chunk")?;
            let resp = expect(resp, StatusCode::ACCEPTED, "PATCH chunk").await?;
            loc = location(&resp)?;
            offset = end;
        }
        let resp = self
            .req(Method::PUT, &with_digest(&loc, digest))?
            .send()
            .await
            .context("PUT upload")?;
        expect(resp, StatusCode::CREATED, "PUT blob (chunked)").await?;
        Ok(())
    }

    /// `GET /v2/<repo>/blobs/<digest>`, reading (and dropping) the body.
    /// Returns the bytes received.
    pub async fn download(&self, repo: &str, digest: &str) -> Result<u64> {
        let resp = self
            .req(Method::GET, &format!("/v2/{repo}/blobs/{digest}"))?
            .send()
            .await
            .context("GET blob")?;
        let resp = expect(resp, StatusCode::OK, "GET blob").await?;
        body_len(resp).await
    }

    /// `PUT /v2/<repo>/manifests/<reference>`.
    pub async fn put_manifest(&self, repo: &str, reference: &str, body: &Bytes) -> Result<()> {
        let resp = self
            .req(Method::PUT, &format!("/v2/{repo}/manifests/{reference}"))?
            .header(CONTENT_TYPE, MANIFEST_V2)
            .body(body.clone())
            .send()
            .await
            .context("PUT manifest")?;
        expect(resp, StatusCode::CREATED, "PUT manifest").await?;
        Ok(())
    }

    /// `GET` (body read) or `HEAD` of a manifest, as a puller does.
    pub async fn fetch_manifest(&self, repo: &str, reference: &str, head: bool) -> Result<()> {
        let method = if head { Method::HEAD } else { Method::GET };
        let resp = self
            .req(method, &format!("/v2/{repo}/manifests/{reference}"))?
            .header(ACCEPT, ACCEPT_MANIFESTS)
            .send()
            .await
            .context("manifest request")?;
        let resp = expect(resp, StatusCode::OK, "manifest request").await?;
        if !head {
            resp.bytes().await.context("manifest body")?;
        }
        Ok(())
    }

    /// The whole `tags/list` of a repository, following `Link` pages.
    /// Returns the number of tags.
    pub async fn list_tags(&self, repo: &str) -> Result<usize> {
        let mut next = Some(format!("/v2/{repo}/tags/list"));
        let mut count = 0usize;
        let mut pages = 0;
        while let Some(path) = next.take() {
            pages += 1;
            if pages > 10_000 {
                bail!("{}: tags/list did not end after 10,000 pages", self.name);
            }
            let resp = self
                .req(Method::GET, &path)?
                .send()
                .await
                .context("tags/list")?;
            let resp = expect(resp, StatusCode::OK, "tags/list").await?;
            next = resp
                .headers()
                .get(LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| Some(l.split_once('<')?.1.split_once('>')?.0.to_string()));
            let body: serde_json::Value = resp.json().await.context("tags/list body")?;
            count += body["tags"].as_array().map_or(0, Vec::len);
        }
        Ok(count)
    }

    /// Status of a `GET` with `Authorization: Bearer <token>` (an `/api/v1`
    /// OAuth token rather than the registry token); the body is read.
    pub async fn get_status_with(&self, path: &str, token: &str) -> Result<u16> {
        let resp = self
            .http
            .get(self.absolute(path)?)
            .bearer_auth(token)
            .send()
            .await
            .context(path.to_string())?;
        let status = resp.status().as_u16();
        resp.bytes().await.context("body")?;
        Ok(status)
    }
}

fn with_digest(loc: &str, digest: &str) -> String {
    let sep = if loc.contains('?') { '&' } else { '?' };
    format!("{loc}{sep}digest={digest}")
}

fn location(resp: &Response) -> Result<String> {
    Ok(resp
        .headers()
        .get(reqwest::header::LOCATION)
        .context("response without Location")?
        .to_str()
        .context("Location is not ASCII")?
        .to_string())
}

/// Passes `resp` through when it has `want`, else an error with its body.
async fn expect(resp: Response, want: StatusCode, what: &str) -> Result<Response> {
    if resp.status() == want {
        return Ok(resp);
    }
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    let body: String = body.chars().take(500).collect();
    bail!("{what}: expected {want}, got {status}: {body}")
}
