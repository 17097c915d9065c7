//! `GET`/`HEAD /v2/<name>/blobs/<digest>`, streamed, with `Range`.

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use quayside_oci::{Digest, ErrorCode, RegistryError, RepoName};

use crate::access::{caller, permit, Need};
use crate::{V2Error, V2State};

/// A parsed single `Range: bytes=…` request against an object of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ByteRange {
    Whole,
    Part { start: u64, end_inclusive: u64 },
    Unsatisfiable,
}

pub(crate) fn parse_range(value: Option<&str>, size: u64) -> Result<ByteRange, V2Error> {
    let Some(value) = value else {
        return Ok(ByteRange::Whole);
    };
    let invalid = || {
        V2Error::Registry(
            RegistryError::new(ErrorCode::InvalidRequest).with_message("Invalid range header"),
        )
    };
    let spec = value.trim().strip_prefix("bytes=").ok_or_else(invalid)?;
    if spec.contains(',') {
        return Err(invalid());
    }
    let (a, b) = spec.split_once('-').ok_or_else(invalid)?;
    let parse = |s: &str| s.trim().parse::<u64>().map_err(|_| invalid());
    let (start, end) = match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, true) => return Err(invalid()),
        (true, false) => {
            let suffix = parse(b)?;
            if suffix == 0 || size == 0 {
                return Ok(ByteRange::Unsatisfiable);
            }
            (size.saturating_sub(suffix), size - 1)
        }
        (false, true) => (parse(a)?, size.saturating_sub(1)),
        (false, false) => (parse(a)?, parse(b)?.min(size.saturating_sub(1))),
    };
    if start >= size || start > end {
        return Ok(ByteRange::Unsatisfiable);
    }
    Ok(ByteRange::Part {
        start,
        end_inclusive: end,
    })
}

pub async fn get(
    state: &V2State,
    req: &Parts,
    name: RepoName,
    digest: Digest,
    head: bool,
) -> Result<Response, V2Error> {
    // The repository and the blob in one round trip; nothing is served unless `permit` allows.
    let who = caller(state, req).await?;
    let (repo, blob) = match state
        .registry
        .lookup_repo_with_blob(&name.namespace, &name.repository, &digest)
        .await?
    {
        Some((repo, blob)) => (Some(repo), blob),
        None => (None, None),
    };
    permit(state, &who, &name, Need::Pull, repo)?;
    let blob = blob.ok_or_else(|| V2Error::code(ErrorCode::BlobUnknown))?;
    if !head {
        // As Quay: a store the client can reach itself gets the pull as a redirect to a
        // short-lived signed URL (the store answers `Range` too); otherwise quayside streams.
        let client = quayside_domain::DownloadClient {
            client_ip: crate::audit::client_ip(req).and_then(|ip| ip.parse().ok()),
            namespace: Some(name.namespace.clone()),
            host: req
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string),
            username: who
                .grant()
                .map(|g| g.subject.clone())
                .filter(|s| s != "(anonymous)"),
            repo_name: Some(name.repository.clone()),
        };
        if let Some(url) = state.registry.direct_download_url(&blob, &client).await? {
            state.metrics.pulled_bytes(blob.size);
            return Response::builder()
                .status(StatusCode::FOUND)
                .header(header::LOCATION, url)
                .header("docker-content-digest", digest.to_string())
                .header(header::ACCEPT_RANGES, "bytes")
                .header(header::CACHE_CONTROL, "max-age=31536000")
                .body(Body::empty())
                .map_err(|e| V2Error::Internal(e.to_string()));
        }
    }
    let range_header = req.headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let range = if head {
        ByteRange::Whole
    } else {
        parse_range(range_header, blob.size)?
    };
    let mut builder = Response::builder()
        .header("docker-content-digest", digest.to_string())
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CACHE_CONTROL, "max-age=31536000");
    let resp = match range {
        ByteRange::Unsatisfiable => {
            // An envelope answer: nothing of it depends on the route.
            let mut r = V2Error::Registry(RegistryError::new(ErrorCode::RangeInvalid))
                .render(&crate::Route::default());
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{}", blob.size)) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(r);
        }
        ByteRange::Whole => {
            builder = builder
                .header(header::CONTENT_LENGTH, blob.size)
                .status(StatusCode::OK);
            if head {
                builder.body(Body::empty())
            } else {
                let stream = state.registry.open_blob(&blob, None).await?;
                state.metrics.pulled_bytes(blob.size);
                builder.body(Body::from_stream(stream))
            }
        }
        ByteRange::Part {
            start,
            end_inclusive,
        } => {
            let stream = state
                .registry
                .open_blob(&blob, Some(start..end_inclusive + 1))
                .await?;
            builder
                .status(StatusCode::PARTIAL_CONTENT)
                .header(header::CONTENT_LENGTH, end_inclusive + 1 - start)
                .header(
                    header::CONTENT_RANGE,
                    format!("bytes {start}-{end_inclusive}/{}", blob.size),
                )
                .body(Body::from_stream(stream))
        }
    };
    resp.map_err(|e| V2Error::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10).ok(), Some(ByteRange::Whole));
        assert_eq!(
            parse_range(Some("bytes=0-4"), 10).ok(),
            Some(ByteRange::Part {
                start: 0,
                end_inclusive: 4
            })
        );
        assert_eq!(
            parse_range(Some("bytes=5-"), 10).ok(),
            Some(ByteRange::Part {
                start: 5,
                end_inclusive: 9
            })
        );
        assert_eq!(
            parse_range(Some("bytes=-3"), 10).ok(),
            Some(ByteRange::Part {
                start: 7,
                end_inclusive: 9
            })
        );
        assert_eq!(
            parse_range(Some("bytes=8-100"), 10).ok(),
            Some(ByteRange::Part {
                start: 8,
                end_inclusive: 9
            })
        );
        assert_eq!(
            parse_range(Some("bytes=10-"), 10).ok(),
            Some(ByteRange::Unsatisfiable)
        );
        assert_eq!(
            parse_range(Some("bytes=5-2"), 10).ok(),
            Some(ByteRange::Unsatisfiable)
        );
        for bad in ["5-6", "bytes=a-b", "bytes=-", "bytes=0-1,3-4", "items=0-1"] {
            assert!(parse_range(Some(bad), 10).is_err(), "{bad}");
        }
    }
}
