//! The Distribution API against one registry.
//!
//! The first request pings `/v2/`: its answer fixes the scheme (HTTPS; with `insecure`, a
//! registry that does not speak TLS is reached over plain HTTP and certificates are not
//! verified) and the challenge (`200`: none; `401` with `Bearer realm=…,service=…`: tokens
//! from the realm per scope, with the credentials as Basic when given; `401 Basic`: Basic on
//! every request). Tokens are cached per scope and fetched again once when a request is
//! refused with `401`. A registry's errors keep their status, code and message.

use std::collections::HashMap;
use std::pin::Pin;

use base64::Engine as _;
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use reqwest::{header, Method, StatusCode};
use sha2::Digest as _;

/// Media types asked for when fetching a manifest.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json";

/// Largest manifest read (manifests are small; Distribution's own limit is 4 MiB).
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// A user name and password (or token) for a registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

impl Credentials {
    /// `user:password` as skopeo's `--creds` takes it.
    pub fn parse(s: &str) -> Option<Credentials> {
        let (u, p) = s.split_once(':')?;
        (!u.is_empty()).then(|| Credentials {
            username: u.to_owned(),
            password: p.to_owned(),
        })
    }

    fn basic(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// What can go wrong talking to a registry.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The registry could not be reached or the connection broke.
    #[error("cannot reach {host}: {reason}")]
    Transport { host: String, reason: String },
    /// The registry answered with an error status.
    #[error("{host} answered {status}{}: {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Status {
        host: String,
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// The credentials were refused (by the registry or its token service).
    #[error("{host} refused the credentials: {message}")]
    Unauthorized { host: String, message: String },
    /// What the registry sent is not what was asked for (a digest that does not match, a
    /// manifest that does not parse, a missing header).
    #[error("{0}")]
    Invalid(String),
}

impl UpstreamError {
    /// A `404` (the manifest or blob is not there).
    pub fn is_not_found(&self) -> bool {
        matches!(self, UpstreamError::Status { status: 404, .. })
    }
}

#[derive(Debug, Clone)]
enum Challenge {
    None,
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

#[derive(Debug, Default)]
struct State {
    base: Option<String>,
    challenge: Option<Challenge>,
    tokens: HashMap<String, String>,
}

/// A manifest as the registry served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedManifest {
    pub bytes: Bytes,
    pub media_type: String,
    /// `sha256:` of the bytes.
    pub digest: String,
}

/// A stream of blob bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, UpstreamError>> + Send>>;

/// A client of one registry.
#[derive(Debug)]
pub struct RegistryClient {
    http: reqwest::Client,
    host: String,
    insecure: bool,
    creds: Option<Credentials>,
    state: tokio::sync::Mutex<State>,
}

/// Parses `key="value", key=value` pairs of a `WWW-Authenticate` challenge.
fn challenge_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_ascii_lowercase();
        rest = &rest[eq + 1..];
        let value;
        if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').unwrap_or(r.len());
            value = r[..end].to_owned();
            rest = r.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_owned();
            rest = &rest[end..];
        }
        out.insert(key, value);
    }
    out
}

fn parse_challenge(v: &str) -> Challenge {
    let (scheme, params) = v.trim().split_once(' ').unwrap_or((v.trim(), ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        let p = challenge_params(params);
        match p.get("realm") {
            Some(realm) => Challenge::Bearer {
                realm: realm.clone(),
                service: p.get("service").cloned(),
            },
            None => Challenge::Basic,
        }
    } else {
        Challenge::Basic
    }
}

/// The first error of a registry's `{"errors": [...]}` body.
fn registry_error(body: &[u8]) -> (Option<String>, String) {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    if let Some(e) = parsed.as_ref().and_then(|v| v["errors"].get(0)) {
        let code = e["code"].as_str().map(str::to_owned);
        let message = e["message"]
            .as_str()
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .or_else(|| code.clone())
            .unwrap_or_default();
        return (code, message);
    }
    let text = String::from_utf8_lossy(body);
    (
        None,
        text.chars().take(300).collect::<String>().trim().to_owned(),
    )
}

/// The media type of a manifest: the response's `Content-Type` when it names one, else the
/// document's `mediaType`.
fn manifest_media_type(content_type: Option<&str>, bytes: &[u8]) -> Option<String> {
    let ct = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim().to_owned())
        .filter(|c| c.contains("manifest") || c.contains("index"));
    ct.or_else(|| {
        serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| v["mediaType"].as_str().map(str::to_owned))
    })
}

/// The target of a `Link` header's `rel="next"` entry (a path, or a URL on the registry).
fn next_link(v: &str) -> Option<String> {
    v.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| target.to_owned())
    })
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

impl RegistryClient {
    /// A client of `host` (`host[:port]`). `insecure`: certificates are not verified and a
    /// registry without TLS is reached over plain HTTP.
    pub fn new(
        host: &str,
        insecure: bool,
        creds: Option<Credentials>,
    ) -> Result<RegistryClient, UpstreamError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("quayside/", env!("CARGO_PKG_VERSION")))
            .danger_accept_invalid_certs(insecure)
            .connect_timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| UpstreamError::Transport {
                host: host.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(RegistryClient {
            http,
            host: host.to_owned(),
            insecure,
            creds,
            state: tokio::sync::Mutex::new(State::default()),
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    fn transport(&self, e: &reqwest::Error) -> UpstreamError {
        UpstreamError::Transport {
            host: self.host.clone(),
            reason: e.to_string(),
        }
    }

    async fn status_error(&self, resp: reqwest::Response) -> UpstreamError {
        let status = resp.status().as_u16();
        let body = resp.bytes().await.unwrap_or_default();
        let (code, message) = registry_error(&body);
        if status == 401 {
            return UpstreamError::Unauthorized {
                host: self.host.clone(),
                message,
            };
        }
        UpstreamError::Status {
            host: self.host.clone(),
            status,
            code,
            message,
        }
    }

    /// The base URL (`https://host`) and the challenge, from the `/v2/` ping (once).
    async fn base(&self) -> Result<(String, Challenge), UpstreamError> {
        let mut st = self.state.lock().await;
        if let (Some(b), Some(c)) = (&st.base, &st.challenge) {
            return Ok((b.clone(), c.clone()));
        }
        let mut schemes = vec!["https"];
        if self.insecure {
            schemes.push("http");
        }
        let mut last = None;
        for scheme in schemes {
            let base = format!("{scheme}://{}", self.host);
            match self.http.get(format!("{base}/v2/")).send().await {
                Ok(resp) => {
                    let challenge = match resp.status() {
                        s if s.is_success() => Challenge::None,
                        StatusCode::UNAUTHORIZED => resp
                            .headers()
                            .get(header::WWW_AUTHENTICATE)
                            .and_then(|v| v.to_str().ok())
                            .map_or(Challenge::Basic, parse_challenge),
                        _ => return Err(self.status_error(resp).await),
                    };
                    st.base = Some(base.clone());
                    st.challenge = Some(challenge.clone());
                    return Ok((base, challenge));
                }
                Err(e) => last = Some(self.transport(&e)),
            }
        }
        Err(last.unwrap_or_else(|| UpstreamError::Invalid("no scheme to try".into())))
    }

    /// The `Authorization` value for `scope` (`None`: the registry wants none).
    async fn authorization(
        &self,
        scope: &str,
        fresh: bool,
    ) -> Result<Option<String>, UpstreamError> {
        let (_, challenge) = self.base().await?;
        match challenge {
            Challenge::None => Ok(None),
            Challenge::Basic => Ok(self.creds.as_ref().map(Credentials::basic)),
            Challenge::Bearer { realm, service } => {
                if !fresh {
                    if let Some(t) = self.state.lock().await.tokens.get(scope) {
                        return Ok(Some(format!("Bearer {t}")));
                    }
                }
                let mut url = url::Url::parse(&realm).map_err(|_| {
                    UpstreamError::Invalid(format!(
                        "{} names an invalid token realm '{realm}'",
                        self.host
                    ))
                })?;
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(s) = &service {
                        q.append_pair("service", s);
                    }
                    q.append_pair("scope", scope);
                }
                let mut req = self.http.get(url);
                if let Some(c) = &self.creds {
                    req = req.header(header::AUTHORIZATION, c.basic());
                }
                let resp = req.send().await.map_err(|e| self.transport(&e))?;
                if !resp.status().is_success() {
                    let e = self.status_error(resp).await;
                    return Err(match e {
                        UpstreamError::Status {
                            status: 401 | 403,
                            message,
                            ..
                        } => UpstreamError::Unauthorized {
                            host: self.host.clone(),
                            message,
                        },
                        other => other,
                    });
                }
                let body: serde_json::Value = resp.json().await.map_err(|e| self.transport(&e))?;
                let token = body["token"]
                    .as_str()
                    .or_else(|| body["access_token"].as_str())
                    .ok_or_else(|| {
                        UpstreamError::Invalid(format!(
                            "{}'s token service sent no token",
                            self.host
                        ))
                    })?
                    .to_owned();
                self.state
                    .lock()
                    .await
                    .tokens
                    .insert(scope.to_owned(), token.clone());
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    /// Sends a request without a body to `path`, authorized for `scope`; a `401` fetches a
    /// fresh token once.
    async fn send(
        &self,
        method: Method,
        path: &str,
        scope: &str,
        accept: Option<&str>,
    ) -> Result<reqwest::Response, UpstreamError> {
        let (base, _) = self.base().await?;
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{base}{path}")
        };
        for fresh in [false, true] {
            let mut req = self.http.request(method.clone(), &url);
            if let Some(a) = accept {
                req = req.header(header::ACCEPT, a);
            }
            if let Some(auth) = self.authorization(scope, fresh).await? {
                req = req.header(header::AUTHORIZATION, auth);
            }
            let resp = req.send().await.map_err(|e| self.transport(&e))?;
            if resp.status() == StatusCode::UNAUTHORIZED && !fresh {
                continue;
            }
            return Ok(resp);
        }
        Err(UpstreamError::Unauthorized {
            host: self.host.clone(),
            message: "authentication required".into(),
        })
    }

    fn pull_scope(repo: &str) -> String {
        format!("repository:{repo}:pull")
    }

    fn push_scope(repo: &str) -> String {
        format!("repository:{repo}:pull,push")
    }

    /// The manifest `reference` (tag or digest) of `repo`. A manifest fetched by digest
    /// must hash to it.
    pub async fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<FetchedManifest, UpstreamError> {
        let resp = self
            .send(
                Method::GET,
                &format!("/v2/{repo}/manifests/{reference}"),
                &Self::pull_scope(repo),
                Some(MANIFEST_ACCEPT),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(self.status_error(resp).await);
        }
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_MANIFEST_BYTES as u64)
        {
            return Err(UpstreamError::Invalid(format!(
                "the manifest {repo}:{reference} on {} is larger than {MAX_MANIFEST_BYTES} bytes",
                self.host
            )));
        }
        let mut bytes = Vec::new();
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| self.transport(&e))?;
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_MANIFEST_BYTES {
                return Err(UpstreamError::Invalid(format!(
                    "the manifest {repo}:{reference} on {} is larger than {MAX_MANIFEST_BYTES} bytes",
                    self.host
                )));
            }
        }
        let digest = sha256_digest(&bytes);
        if reference.starts_with("sha256:") && digest != reference {
            return Err(UpstreamError::Invalid(format!(
                "{} served {repo}@{reference} with content hashing to {digest}",
                self.host
            )));
        }
        let media_type = manifest_media_type(content_type.as_deref(), &bytes).ok_or_else(|| {
            UpstreamError::Invalid(format!(
                "the manifest {repo}:{reference} on {} names no media type",
                self.host
            ))
        })?;
        Ok(FetchedManifest {
            bytes: Bytes::from(bytes),
            media_type,
            digest,
        })
    }

    /// Every tag of `repo` (`/v2/<repo>/tags/list`, following `Link: <…>; rel="next"`
    /// pages), in the order the registry lists them.
    pub async fn list_tags(&self, repo: &str) -> Result<Vec<String>, UpstreamError> {
        const MAX_PAGES: usize = 10_000;
        let mut tags = Vec::new();
        let mut next = Some(format!("/v2/{repo}/tags/list?n=1000"));
        let mut pages = 0;
        while let Some(path) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(UpstreamError::Invalid(format!(
                    "{} lists the tags of {repo} in more than {MAX_PAGES} pages",
                    self.host
                )));
            }
            let resp = self
                .send(Method::GET, &path, &Self::pull_scope(repo), None)
                .await?;
            if !resp.status().is_success() {
                return Err(self.status_error(resp).await);
            }
            next = resp
                .headers()
                .get(header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            let body: serde_json::Value = resp.json().await.map_err(|e| self.transport(&e))?;
            if let Some(list) = body["tags"].as_array() {
                tags.extend(list.iter().filter_map(|t| t.as_str().map(str::to_owned)));
            }
        }
        Ok(tags)
    }

    /// Whether `repo` has blob `digest`.
    pub async fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool, UpstreamError> {
        let resp = self
            .send(
                Method::HEAD,
                &format!("/v2/{repo}/blobs/{digest}"),
                &Self::push_scope(repo),
                None,
            )
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.status_error(resp).await),
        }
    }

    /// Streams blob `digest` of `repo` (redirects to storage are followed).
    pub async fn get_blob(
        &self,
        repo: &str,
        digest: &str,
    ) -> Result<(Option<u64>, ByteStream), UpstreamError> {
        let resp = self
            .send(
                Method::GET,
                &format!("/v2/{repo}/blobs/{digest}"),
                &Self::pull_scope(repo),
                None,
            )
            .await?;
        if !resp.status().is_success() {
            return Err(self.status_error(resp).await);
        }
        let len = resp.content_length();
        let host = self.host.clone();
        let stream = resp
            .bytes_stream()
            .map_err(move |e| UpstreamError::Transport {
                host: host.clone(),
                reason: format!("the blob download broke off: {e}"),
            });
        Ok((len, Box::pin(stream)))
    }

    /// Uploads blob `digest` of `size` bytes (when known) into `repo` from `body`: a session,
    /// then its whole content with the digest in one `PUT`, so that nothing is visible
    /// unless every byte arrived and matched.
    pub async fn push_blob(
        &self,
        repo: &str,
        digest: &str,
        size: Option<u64>,
        body: ByteStream,
    ) -> Result<(), UpstreamError> {
        let resp = self
            .send(
                Method::POST,
                &format!("/v2/{repo}/blobs/uploads/"),
                &Self::push_scope(repo),
                None,
            )
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(self.status_error(resp).await);
        }
        let location = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                UpstreamError::Invalid(format!(
                    "{} started an upload without a Location",
                    self.host
                ))
            })?
            .to_owned();
        let (base, _) = self.base().await?;
        let mut url = url::Url::parse(&base)
            .and_then(|b| b.join(&location))
            .map_err(|_| {
                UpstreamError::Invalid(format!(
                    "{} sent an invalid upload Location '{location}'",
                    self.host
                ))
            })?;
        url.query_pairs_mut().append_pair("digest", digest);
        let mut req = self
            .http
            .put(url)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(reqwest::Body::wrap_stream(body));
        if let Some(n) = size {
            req = req.header(header::CONTENT_LENGTH, n);
        }
        if let Some(auth) = self.authorization(&Self::push_scope(repo), false).await? {
            req = req.header(header::AUTHORIZATION, auth);
        }
        let resp = req.send().await.map_err(|e| self.transport(&e))?;
        if resp.status() != StatusCode::CREATED {
            return Err(self.status_error(resp).await);
        }
        Ok(())
    }

    /// Stores a manifest under `reference` (tag or digest) of `repo`.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<(), UpstreamError> {
        let (base, _) = self.base().await?;
        let url = format!("{base}/v2/{repo}/manifests/{reference}");
        let scope = Self::push_scope(repo);
        for fresh in [false, true] {
            let mut req = self
                .http
                .put(&url)
                .header(header::CONTENT_TYPE, media_type)
                .body(bytes.clone());
            if let Some(auth) = self.authorization(&scope, fresh).await? {
                req = req.header(header::AUTHORIZATION, auth);
            }
            let resp = req.send().await.map_err(|e| self.transport(&e))?;
            if resp.status() == StatusCode::UNAUTHORIZED && !fresh {
                continue;
            }
            if !resp.status().is_success() {
                return Err(self.status_error(resp).await);
            }
            return Ok(());
        }
        Err(UpstreamError::Unauthorized {
            host: self.host.clone(),
            message: "authentication required".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_page_links_are_followed() {
        assert_eq!(
            next_link("</v2/a/tags/list?n=2&last=b>; rel=\"next\""),
            Some("/v2/a/tags/list?n=2&last=b".to_owned())
        );
        assert_eq!(next_link("</v2/a/tags/list?n=2>; rel=\"prev\""), None);
        assert_eq!(next_link("not a link"), None);
    }

    #[test]
    fn challenges_parse() {
        match parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#,
        ) {
            Challenge::Bearer { realm, service } => {
                assert_eq!(realm, "https://auth.docker.io/token");
                assert_eq!(service.as_deref(), Some("registry.docker.io"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_challenge(r#"Basic realm="x""#),
            Challenge::Basic
        ));
        assert!(matches!(
            parse_challenge("Bearer service=x"),
            Challenge::Basic
        ));
    }

    #[test]
    fn registry_errors_keep_code_and_message() {
        let (code, message) = registry_error(
            br#"{"errors":[{"code":"DENIED","message":"Quota has been exceeded on namespace","detail":{}}]}"#,
        );
        assert_eq!(code.as_deref(), Some("DENIED"));
        assert_eq!(message, "Quota has been exceeded on namespace");
        assert_eq!(registry_error(b"plain failure").1, "plain failure");
    }

    #[test]
    fn credentials_parse_like_skopeo_creds() {
        let c = Credentials::parse("user:pa:ss").expect("creds");
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("user", "pa:ss")
        );
        assert!(Credentials::parse("nopassword").is_none());
        assert!(
            !format!("{c:?}").contains("pa:ss"),
            "the password is never printed"
        );
    }
}
