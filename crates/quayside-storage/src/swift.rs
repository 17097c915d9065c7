//! Quay's `SwiftStorage`: OpenStack Swift through OpenDAL's Swift service, with the
//! authentication Quay's driver does (swiftclient's auth v1, Keystone v2 and v3).
//!
//! OpenDAL's Swift service takes a fixed storage URL and token; a Swift token expires and
//! the storage URL comes from the auth response. So the operator is built against a
//! placeholder URL and sends through [`SwiftTransport`], which logs in on first use, puts
//! the real storage URL and `X-Auth-Token` on every request, and logs in again once when a
//! request answers 401 (an expired token).

use std::sync::Arc;

use opendal::{Buffer, HttpBody, HttpTransport, HttpTransporter};
use serde_json::{json, Map, Value};

/// The storage URL the operator is built with; [`SwiftTransport`] replaces it.
pub(crate) const PLACEHOLDER: &str = "http://swift-storage-url.quayside.invalid";

/// How to log in: Quay's `auth_version`, `auth_url`, `swift_user`, `swift_password`,
/// `os_options`.
#[derive(Debug, Clone)]
pub(crate) struct SwiftLogin {
    pub version: u8,
    pub auth_url: String,
    pub user: String,
    pub password: String,
    pub os_options: Map<String, Value>,
}

#[derive(Debug, Clone)]
struct Session {
    storage_url: String,
    token: String,
}

/// A logged-in session, shared by every request of one location.
pub(crate) struct SwiftAuth {
    login: SwiftLogin,
    http: HttpTransporter,
    session: tokio::sync::Mutex<Option<Session>>,
}

fn auth_err(msg: impl Into<String>) -> opendal::Error {
    opendal::Error::new(opendal::ErrorKind::PermissionDenied, msg.into())
        .with_operation("swift::login")
}

fn temp_url_err(msg: impl Into<String>) -> opendal::Error {
    opendal::Error::new(opendal::ErrorKind::PermissionDenied, msg.into())
        .with_operation("swift::temp_url")
}

fn opt<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

impl SwiftAuth {
    pub(crate) fn new(login: SwiftLogin, http: HttpTransporter) -> SwiftAuth {
        SwiftAuth {
            login,
            http,
            session: tokio::sync::Mutex::new(None),
        }
    }

    async fn session(&self, renew: bool) -> opendal::Result<Session> {
        let mut guard = self.session.lock().await;
        if let (Some(s), false) = (guard.as_ref(), renew) {
            return Ok(s.clone());
        }
        let s = self.login().await?;
        *guard = Some(s.clone());
        Ok(s)
    }

    async fn login(&self) -> opendal::Result<Session> {
        let l = &self.login;
        let base = l.auth_url.trim_end_matches('/');
        match l.version {
            1 => {
                let req = http::Request::get(base)
                    .header("X-Auth-User", &l.user)
                    .header("X-Auth-Key", &l.password)
                    .body(Buffer::new())
                    .map_err(|e| auth_err(format!("auth request: {e}")))?;
                let resp = self.http.send(req).await?;
                if !resp.status().is_success() {
                    return Err(auth_err(format!(
                        "Swift auth v1 at {base} answered {}",
                        resp.status()
                    )));
                }
                let header = |name: &str| {
                    resp.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                match (header("X-Storage-Url"), header("X-Auth-Token")) {
                    (Some(storage_url), Some(token)) => Ok(Session { storage_url, token }),
                    _ => Err(auth_err(
                        "Swift auth v1 answered without X-Storage-Url and X-Auth-Token",
                    )),
                }
            }
            2 => {
                let o = &l.os_options;
                let mut auth =
                    json!({"passwordCredentials": {"username": l.user, "password": l.password}});
                if let Some(t) = opt(o, "tenant_id") {
                    auth["tenantId"] = t.into();
                } else if let Some(t) = opt(o, "tenant_name").or(opt(o, "project_name")) {
                    auth["tenantName"] = t.into();
                }
                let (_, body) = self
                    .post_json(&format!("{base}/tokens"), json!({ "auth": auth }))
                    .await?;
                let token = body["access"]["token"]["id"]
                    .as_str()
                    .ok_or_else(|| auth_err("Keystone v2 answered without access.token.id"))?;
                let storage_url = catalog_url(&body["access"]["serviceCatalog"], o, |e| {
                    e["publicURL"].as_str().map(str::to_string)
                })
                .ok_or_else(|| auth_err("Keystone v2 catalog has no object-store endpoint"))?;
                Ok(Session {
                    storage_url,
                    token: token.to_string(),
                })
            }
            _ => {
                let o = &l.os_options;
                let user_domain = match opt(o, "user_domain_id") {
                    Some(id) => json!({ "id": id }),
                    None => json!({ "name": opt(o, "user_domain_name").unwrap_or("Default") }),
                };
                let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": {
                    "name": l.user, "password": l.password, "domain": user_domain}}}});
                let project_domain = match opt(o, "project_domain_id") {
                    Some(id) => json!({ "id": id }),
                    None => json!({ "name": opt(o, "project_domain_name")
                        .or(opt(o, "user_domain_name"))
                        .unwrap_or("Default") }),
                };
                if let Some(id) = opt(o, "project_id").or(opt(o, "tenant_id")) {
                    auth["scope"] = json!({"project": {"id": id}});
                } else if let Some(name) = opt(o, "project_name").or(opt(o, "tenant_name")) {
                    auth["scope"] = json!({"project": {"name": name, "domain": project_domain}});
                }
                let (headers, body) = self
                    .post_json(&format!("{base}/auth/tokens"), json!({ "auth": auth }))
                    .await?;
                let token = headers
                    .get("X-Subject-Token")
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| auth_err("Keystone v3 answered without X-Subject-Token"))?;
                let storage_url = catalog_url(&body["token"]["catalog"], o, |e| {
                    let interface = opt(o, "interface").unwrap_or("public");
                    (e["interface"].as_str() == Some(interface))
                        .then(|| e["url"].as_str().map(str::to_string))
                        .flatten()
                })
                .ok_or_else(|| auth_err("Keystone v3 catalog has no object-store endpoint"))?;
                Ok(Session {
                    storage_url,
                    token: token.to_string(),
                })
            }
        }
    }

    async fn post_json(&self, url: &str, body: Value) -> opendal::Result<(http::HeaderMap, Value)> {
        let req = http::Request::post(url)
            .header("Content-Type", "application/json")
            .body(Buffer::from(body.to_string().into_bytes()))
            .map_err(|e| auth_err(format!("auth request: {e}")))?;
        let resp = self.http.send(req).await?;
        let status = resp.status();
        let (parts, buf) = resp.into_parts();
        if !status.is_success() {
            return Err(auth_err(format!("Keystone at {url} answered {status}")));
        }
        let json: Value = serde_json::from_slice(&buf.to_bytes())
            .map_err(|e| auth_err(format!("Keystone at {url} answered non-JSON: {e}")))?;
        Ok((parts.headers, json))
    }
}

/// The object-store endpoint of a Keystone catalog (in `os_options.region_name` when set).
fn catalog_url(
    catalog: &Value,
    o: &Map<String, Value>,
    pick: impl Fn(&Value) -> Option<String>,
) -> Option<String> {
    let region = opt(o, "region_name");
    catalog
        .as_array()?
        .iter()
        .filter(|s| s["type"].as_str() == Some("object-store"))
        .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
        .filter(|e| {
            region.is_none_or(|r| {
                e["region"].as_str() == Some(r) || e["region_id"].as_str() == Some(r)
            })
        })
        .find_map(|e| pick(&e))
}

/// The HTTP transport of one Swift location: the real storage URL and a valid token on
/// every request.
pub(crate) struct SwiftTransport {
    pub(crate) inner: HttpTransporter,
    pub(crate) auth: Arc<SwiftAuth>,
}

impl HttpTransport for SwiftTransport {
    async fn fetch(&self, req: http::Request<Buffer>) -> opendal::Result<http::Response<HttpBody>> {
        let (parts, body) = req.into_parts();
        let original = parts.uri.to_string();
        let mut renew = false;
        loop {
            let session = self.auth.session(renew).await?;
            let target = match original.strip_prefix(PLACEHOLDER) {
                Some(rest) => format!("{}{rest}", session.storage_url.trim_end_matches('/')),
                None => original.clone(),
            };
            let mut builder = http::Request::builder()
                .method(parts.method.clone())
                .uri(&target)
                .version(parts.version);
            for (k, v) in &parts.headers {
                if k.as_str().eq_ignore_ascii_case("x-auth-token") {
                    continue;
                }
                builder = builder.header(k, v);
            }
            let req = builder
                .header("X-Auth-Token", &session.token)
                .body(body.clone())
                .map_err(|e| {
                    opendal::Error::new(opendal::ErrorKind::Unexpected, "swift request")
                        .set_source(e)
                })?;
            let resp = self.inner.fetch(req).await?;
            if resp.status() == http::StatusCode::UNAUTHORIZED && !renew {
                // An expired token: log in again, once.
                renew = true;
                continue;
            }
            return Ok(resp);
        }
    }
}

/// Quay's Swift direct downloads: a temp URL signed with the account's `temp_url_key`
/// (Swift's `tempurl` middleware checks it; HMAC-SHA1 over method, expiry and path, as
/// Quay's driver signs). The storage URL comes from the location's login.
pub(crate) struct SwiftTempUrl {
    pub(crate) key: String,
    pub(crate) container: String,
    /// Object-name prefix: Quay's `storage_path` without its leading `/`, ending in `/`.
    pub(crate) prefix: String,
    pub(crate) auth: Arc<SwiftAuth>,
}

impl std::fmt::Debug for SwiftTempUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwiftTempUrl")
            .field("container", &self.container)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl SwiftTempUrl {
    /// A `GET` URL of the layout path `path`, valid for `expires` from `now`.
    pub(crate) async fn read_url(
        &self,
        path: &str,
        expires: std::time::Duration,
        now: std::time::SystemTime,
    ) -> opendal::Result<String> {
        let session = self.auth.session(false).await?;
        let until = now
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
            .saturating_add(expires.as_secs());
        temp_url(
            &self.key,
            "GET",
            &session.storage_url,
            &self.container,
            &format!("{}{path}", self.prefix),
            until,
        )
    }
}

impl SwiftTempUrl {
    /// Reads `path` through its temp URL, with no token. With `contents`, the object must be
    /// there and hold them; without, only the signature is checked: Swift answers 404 for a
    /// well-signed URL of a missing object and 401 for a bad signature, so nothing needs to
    /// be written first.
    pub(crate) async fn check(&self, path: &str, contents: Option<&[u8]>) -> opendal::Result<()> {
        let url = self
            .read_url(
                path,
                std::time::Duration::from_secs(60),
                std::time::SystemTime::now(),
            )
            .await?;
        let req = http::Request::get(&url)
            .body(Buffer::new())
            .map_err(|e| temp_url_err(format!("direct download request: {e}")))?;
        let resp = self.auth.http.send(req).await?;
        let status = resp.status();
        let accepted = status == http::StatusCode::OK
            || (contents.is_none() && status == http::StatusCode::NOT_FOUND);
        if !accepted {
            return Err(temp_url_err(format!(
                "Direct download URL failed with status code {}. Please check your \
                 temp-url-key.",
                status.as_u16()
            )));
        }
        if let Some(contents) = contents {
            if resp.into_body().to_bytes().as_ref() != contents {
                return Err(temp_url_err(
                    "the direct download URL answered other bytes than the object holds",
                ));
            }
        }
        Ok(())
    }
}

/// Swift's temp URL of `object` in `container` under `storage_url`, for `method` until the
/// Unix time `until`.
fn temp_url(
    key: &str,
    method: &str,
    storage_url: &str,
    container: &str,
    object: &str,
    until: u64,
) -> opendal::Result<String> {
    use hmac::Mac as _;
    let uri: http::Uri = storage_url
        .parse()
        .map_err(|e| temp_url_err(format!("the storage URL {storage_url:?} is not a URL: {e}")))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(temp_url_err(format!(
            "the storage URL {storage_url:?} has no scheme and host"
        )));
    };
    let full_path = format!("{}/{container}/{object}", uri.path().trim_end_matches('/'));
    // HMAC takes a key of any length.
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes())
        .map_err(|e| temp_url_err(format!("temp_url_key: {e}")))?;
    mac.update(format!("{method}\n{until}\n{full_path}").as_bytes());
    let sig = hex::encode(mac.finalize().into_bytes());
    Ok(format!(
        "{scheme}://{authority}{full_path}?temp_url_sig={sig}&temp_url_expires={until}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature of a known request, computed independently with Python's `hmac`:
    /// `hmac.new(b"mykey", b"GET\n1440619048\n/v1/AUTH_account/container/object", sha1)`.
    #[test]
    fn temp_url_is_signed_as_swift_checks_it() {
        let url = temp_url(
            "mykey",
            "GET",
            "https://swift.example:8080/v1/AUTH_account/",
            "container",
            "object",
            1_440_619_048,
        )
        .expect("signs");
        assert_eq!(
            url,
            "https://swift.example:8080/v1/AUTH_account/container/object\
             ?temp_url_sig=da720a7e11f9f2c7b0fe46039811229c1c7a9cb4&temp_url_expires=1440619048"
        );
        assert!(temp_url("k", "GET", "not a url", "c", "o", 1).is_err());
    }
}
