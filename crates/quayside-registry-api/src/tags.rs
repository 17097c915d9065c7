//! `tags/list`, `_catalog` and `referrers`.

use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use quayside_oci::{media_types, Digest, ErrorCode, RegistryError, RepoName};
use serde_json::json;

use crate::access::{anon_protect, authorize, caller, Caller, Need};
use crate::{V2Error, V2State};

fn query(req: &Parts) -> Vec<(String, String)> {
    req.uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `n` as a page size: absent → the maximum; huge values clamp; garbage is an error.
fn page_size(q: &[(String, String)]) -> Result<Option<u32>, V2Error> {
    match param(q, "n") {
        None | Some("") => Ok(None),
        Some(s) => match s.parse::<u64>() {
            Ok(n) => Ok(Some(n.min(u64::from(u32::MAX)) as u32)),
            Err(_) => Err(V2Error::Registry(
                RegistryError::new(ErrorCode::InvalidRequest)
                    .with_message(format!("invalid page size n={s}")),
            )),
        },
    }
}

fn with_link(mut resp: Response, link: Option<String>) -> Response {
    if let Some(v) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert(header::LINK, v);
    }
    resp
}

/// `GET /v2/<name>/tags/list?n=&last=`.
pub async fn list(state: &V2State, req: &Parts, name: RepoName) -> Result<Response, V2Error> {
    let repo = authorize(state, req, &name, Need::Pull).await?;
    let q = query(req);
    let n = page_size(&q)?;
    let last = param(&q, "last").filter(|s| !s.is_empty());
    let (tags, more) = state.registry.list_tags(&repo, n, last).await?;
    let link = match (more, tags.last()) {
        (true, Some(last_tag)) => Some(format!(
            "</v2/{}/tags/list?n={}&last={}>; rel=\"next\"",
            name.full(),
            tags.len(),
            last_tag
        )),
        _ => None,
    };
    let body = json!({ "name": name.full(), "tags": tags });
    Ok(with_link(
        (StatusCode::OK, axum::Json(body)).into_response(),
        link,
    ))
}

/// `GET /v2/_catalog?n=&last=`: only what the caller may see. `last` is the
/// last `ns/repo` of the previous page (`next_page` is read as an alias).
pub async fn catalog(state: &V2State, req: &Parts) -> Result<Response, V2Error> {
    let who = caller(state, req).await?;
    // `@anon_protect` and no repository check before it: an anonymous caller is refused
    // outright when anonymous access is off.
    anon_protect(state, &who)?;
    let q = query(req);
    let n = page_size(&q)?.unwrap_or(100).clamp(1, 100);
    let last = param(&q, "last")
        .or_else(|| param(&q, "next_page"))
        .filter(|s| !s.is_empty());
    let grant = match &who {
        Caller::Token(g) => Some(g),
        Caller::Anonymous => None,
    };
    let filter = state.auth.catalog_scope(grant).await?;
    let after_id = match last {
        None => None,
        Some(l) => {
            let bad = || {
                V2Error::Registry(
                    RegistryError::new(ErrorCode::InvalidRequest)
                        .with_message(format!("invalid last={l}")),
                )
            };
            let (ns, name) = l.split_once('/').ok_or_else(bad)?;
            Some(
                state
                    .registry
                    .lookup_repo(ns, name)
                    .await?
                    .ok_or_else(bad)?
                    .id,
            )
        }
    };
    let (repos, more) = match filter {
        None => (Vec::new(), false),
        Some(f) => state.registry.catalog(&f, n, after_id).await?,
    };
    let names: Vec<String> = repos
        .iter()
        .map(|r| format!("{}/{}", r.namespace, r.name))
        .collect();
    let link = match (more, names.last()) {
        (true, Some(l)) => Some(format!("</v2/_catalog?n={n}&last={l}>; rel=\"next\"")),
        _ => None,
    };
    Ok(with_link(
        (StatusCode::OK, axum::Json(json!({ "repositories": names }))).into_response(),
        link,
    ))
}

/// `GET /v2/<name>/referrers/<digest>[?artifactType=]`.
pub async fn referrers(
    state: &V2State,
    req: &Parts,
    name: RepoName,
    digest: Digest,
) -> Result<Response, V2Error> {
    if !state.settings.referrers_api {
        return Err(V2Error::NotFound);
    }
    let repo = authorize(state, req, &name, Need::Pull).await?;
    let q = query(req);
    let artifact_type = param(&q, "artifactType").filter(|s| !s.is_empty());
    // A digest nothing refers to (a blob, a missing manifest) has an empty index.
    let found = state
        .registry
        .referrers(&repo, &digest, artifact_type)
        .await?;
    let body = quayside_domain::referrers_index(&found);
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media_types::OCI_INDEX),
    );
    if artifact_type.is_some() {
        h.insert(
            "oci-filters-applied",
            HeaderValue::from_static("artifactType"),
        );
    }
    Ok(resp)
}
