//! Blob uploads: `POST`, `PATCH`, `PUT`, `GET` (status) and `DELETE`
//! on `/v2/<name>/blobs/uploads/…`. Bodies stream straight to storage.

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::Response;
use futures::TryStreamExt;
use quayside_domain::{DomainError, RepoRef};
use quayside_oci::{Digest, ErrorCode, RegistryError, RepoName};
use serde_json::json;

use crate::access::{authorize, Need};
use crate::{upload_range, V2Error, V2State};

fn query_param(req: &Parts, key: &str) -> Option<String> {
    let q = req.uri.query()?;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn parse_digest(s: &str) -> Result<Digest, V2Error> {
    Digest::parse(s).map_err(|e| {
        V2Error::Registry(
            RegistryError::new(ErrorCode::DigestInvalid).with_detail_message(e.to_string()),
        )
    })
}

fn upload_location(state: &V2State, name: &RepoName, uuid: &str) -> String {
    format!(
        "{}/v2/{}/blobs/uploads/{uuid}",
        state.settings.base_url(),
        name.full()
    )
}

fn blob_location(state: &V2State, name: &RepoName, digest: &Digest) -> String {
    format!(
        "{}/v2/{}/blobs/{digest}",
        state.settings.base_url(),
        name.full()
    )
}

fn body_stream(
    body: Body,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Unpin + Send {
    body.into_data_stream().map_err(std::io::Error::other)
}

fn created(state: &V2State, name: &RepoName, digest: &Digest) -> Result<Response, V2Error> {
    Response::builder()
        .status(StatusCode::CREATED)
        .header(header::LOCATION, blob_location(state, name, digest))
        .header("docker-content-digest", digest.to_string())
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .map_err(|e| V2Error::Internal(e.to_string()))
}

fn accepted(
    state: &V2State,
    name: &RepoName,
    uuid: &str,
    range: String,
) -> Result<Response, V2Error> {
    Response::builder()
        .status(StatusCode::ACCEPTED)
        .header(header::LOCATION, upload_location(state, name, uuid))
        .header(header::RANGE, range)
        .header("docker-upload-uuid", uuid)
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .map_err(|e| V2Error::Internal(e.to_string()))
}

/// `POST /v2/<name>/blobs/uploads/`: a session, a monolithic upload
/// (`?digest=`), or a cross-repository mount (`?mount=&from=`).
pub async fn start(
    state: &V2State,
    req: &Parts,
    body: Body,
    name: RepoName,
) -> Result<Response, V2Error> {
    let repo = authorize(state, req, &name, Need::Push).await?;
    if let (Some(mount), Some(from)) = (query_param(req, "mount"), query_param(req, "from")) {
        let digest = parse_digest(&mount)?;
        if let Some(resp) = try_mount(state, req, &repo, &name, &from, &digest).await? {
            return Ok(resp);
        }
        // Quay falls back to an ordinary session when the mount cannot happen.
    }
    if let Some(d) = query_param(req, "digest") {
        let digest = parse_digest(&d)?;
        // The session lives only for this request; a failure leaves nothing behind.
        let blob = state
            .registry
            .upload_whole(&repo, &digest, body_stream(body))
            .await?;
        state.metrics.pushed_bytes(blob.size);
        return created(state, &name, &digest);
    }
    let session = state.registry.start_upload(&repo).await?;
    accepted(state, &name, &session.uuid, "bytes=0--1".into())
}

async fn try_mount(
    state: &V2State,
    req: &Parts,
    repo: &RepoRef,
    name: &RepoName,
    from: &str,
    digest: &Digest,
) -> Result<Option<Response>, V2Error> {
    let Ok(from_name) = RepoName::parse_with(from, &state.settings.name_rules) else {
        return Ok(None);
    };
    let Ok(from_repo) = authorize(state, req, &from_name, Need::Pull).await else {
        return Ok(None);
    };
    match state.registry.mount(repo, &from_repo, digest).await? {
        Some(_) => Ok(Some(created(state, name, digest)?)),
        None => Ok(None),
    }
}

/// `GET /v2/<name>/blobs/uploads/<uuid>`: progress.
pub async fn status(
    state: &V2State,
    req: &Parts,
    name: RepoName,
    uuid: String,
) -> Result<Response, V2Error> {
    let repo = authorize(state, req, &name, Need::Push).await?;
    let session = state
        .registry
        .upload(&repo, &uuid)
        .await?
        .ok_or_else(|| V2Error::code(ErrorCode::BlobUploadUnknown))?;
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(header::LOCATION, upload_location(state, &name, &uuid))
        .header(header::RANGE, upload_range(session.offset))
        .header("docker-upload-uuid", &uuid)
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .map_err(|e| V2Error::Internal(e.to_string()))
}

/// `Content-Range: <start>-<end>` (inclusive), as Quay reads it.
fn content_range_start(req: &Parts) -> Result<Option<u64>, V2Error> {
    let Some(v) = req.headers.get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let bad = || {
        V2Error::Registry(
            RegistryError::new(ErrorCode::BlobUploadInvalid)
                .with_detail(json!({"reason": "invalid Content-Range header"})),
        )
    };
    let s = v.to_str().map_err(|_| bad())?.trim();
    let s = s.strip_prefix("bytes ").unwrap_or(s);
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let start: u64 = a.parse().map_err(|_| bad())?;
    let end: u64 = b.parse().map_err(|_| bad())?;
    if end < start {
        return Err(bad());
    }
    Ok(Some(start))
}

fn map_upload_error(e: DomainError, state: &V2State, name: &RepoName, uuid: &str) -> V2Error {
    match e {
        DomainError::RangeMismatch { offset } => V2Error::RangeMismatch {
            location: upload_location(state, name, uuid),
            uuid: uuid.to_string(),
            offset,
        },
        other => other.into(),
    }
}

/// `PATCH /v2/<name>/blobs/uploads/<uuid>`: append a chunk.
pub async fn patch(
    state: &V2State,
    req: &Parts,
    body: Body,
    name: RepoName,
    uuid: String,
) -> Result<Response, V2Error> {
    let repo = authorize(state, req, &name, Need::Push).await?;
    let start = content_range_start(req)?;
    let session = state
        .registry
        .append(&repo, &uuid, start, body_stream(body))
        .await
        .map_err(|e| map_upload_error(e, state, &name, &uuid))?;
    accepted(state, &name, &uuid, upload_range(session.offset))
}

/// `PUT /v2/<name>/blobs/uploads/<uuid>?digest=`: the last bytes, verified.
pub async fn put(
    state: &V2State,
    req: &Parts,
    body: Body,
    name: RepoName,
    uuid: String,
) -> Result<Response, V2Error> {
    let repo = authorize(state, req, &name, Need::Push).await?;
    let Some(d) = query_param(req, "digest") else {
        return Err(V2Error::Registry(
            RegistryError::new(ErrorCode::BlobUploadInvalid)
                .with_detail(json!({"reason": "Missing digest arg on monolithic upload"})),
        ));
    };
    let digest = parse_digest(&d)?;
    let blob = state
        .registry
        .complete(&repo, &uuid, &digest, Some(body_stream(body)))
        .await
        .map_err(|e| map_upload_error(e, state, &name, &uuid))?;
    state.metrics.pushed_bytes(blob.size);
    created(state, &name, &digest)
}

/// `DELETE /v2/<name>/blobs/uploads/<uuid>`: cancel.
pub async fn cancel(
    state: &V2State,
    req: &Parts,
    name: RepoName,
    uuid: String,
) -> Result<Response, V2Error> {
    let repo = authorize(state, req, &name, Need::Push).await?;
    if !state.registry.cancel(&repo, &uuid).await? {
        return Err(V2Error::code(ErrorCode::BlobUploadUnknown));
    }
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .map_err(|e| V2Error::Internal(e.to_string()))
}
