//! `GET`/`HEAD`/`PUT`/`DELETE /v2/<name>/manifests/<reference>`.

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::Response;
use quayside_domain::{StoredManifest, TagLookup};
use quayside_oci::{
    ErrorCode, ManifestKind, ParsedManifest, Reference, RegistryError, RepoName, MAX_MANIFEST_SIZE,
};

use crate::access::{anon_protect, authorize_caller, caller, permit, Need};
use crate::{V2Error, V2State};

fn manifest_response(m: StoredManifest, head: bool) -> Result<Response, V2Error> {
    let len = m.bytes.len();
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, m.media_type)
        .header("docker-content-digest", m.digest.to_string())
        .header(header::CONTENT_LENGTH, len)
        .body(if head {
            Body::empty()
        } else {
            Body::from(m.bytes)
        })
        .map_err(|e| V2Error::Internal(e.to_string()))
}

/// Stored bytes are served as stored: by digest always, and by tag too
/// (quayside does not down-convert to Docker schema 1; see docs/REGISTRY.md).
pub async fn get(
    state: &V2State,
    req: &Parts,
    name: RepoName,
    reference: Reference,
    head: bool,
) -> Result<Response, V2Error> {
    // The repository and the manifest come in one database round trip; nothing is served
    // unless `permit` allows the pull.
    let who = caller(state, req).await?;
    let (ns, repo_name) = (&name.namespace, &name.repository);
    let fetched = match &reference {
        Reference::Tag(tag) => {
            state
                .registry
                .lookup_repo_with_tag(ns, repo_name, tag.as_str())
                .await?
        }
        Reference::Digest(d) => {
            state
                .registry
                .lookup_repo_with_manifest(ns, repo_name, d)
                .await?
        }
    };
    let (repo, manifest) = match fetched {
        Some((repo, manifest)) => (Some(repo), manifest),
        None => (None, None),
    };
    let repo = permit(state, &who, &name, Need::Pull, repo)?;
    anon_protect(state, &who)?;
    if let Some(m) = manifest {
        log_pull(state, &repo, &who, req, &reference);
        return manifest_response(m, head);
    }
    let found = match &reference {
        Reference::Tag(tag) => match state.registry.tag_miss(&repo, tag.as_str()).await? {
            TagLookup::Found(m) => m,
            TagLookup::Expired => {
                return Err(V2Error::Registry(
                    RegistryError::new(ErrorCode::TagExpired).with_message(format!(
                        "Tag {} was deleted or has expired. To pull, revive via time machine",
                        tag.as_str()
                    )),
                ))
            }
            TagLookup::Missing => return Err(V2Error::code(ErrorCode::ManifestUnknown)),
        },
        Reference::Digest(_) => return Err(V2Error::code(ErrorCode::ManifestUnknown)),
    };
    log_pull(state, &repo, &who, req, &reference);
    manifest_response(found, head)
}

/// The reference as Quay's `track_and_log` names it: `tag` or `manifest_digest`.
fn reference_metadata(reference: &Reference) -> (&'static str, serde_json::Value) {
    match reference {
        Reference::Tag(t) => ("tag", serde_json::Value::from(t.as_str())),
        Reference::Digest(d) => ("manifest_digest", serde_json::Value::from(d.to_string())),
    }
}

/// `pull_repo` (Quay logs GET and HEAD alike: Flask serves HEAD with the GET view).
fn log_pull(
    state: &V2State,
    repo: &quayside_domain::RepoRef,
    who: &crate::access::Caller,
    req: &Parts,
    reference: &Reference,
) {
    // Quay skips the row in read-only mode (`ReadOnlyModeException`).
    if state.settings.live.read_only() {
        return;
    }
    state.audit.record(
        "pull_repo",
        repo,
        who.grant(),
        req,
        &[reference_metadata(reference)],
    );
}

pub async fn put(
    state: &V2State,
    req: &Parts,
    body: Body,
    name: RepoName,
    reference: Reference,
) -> Result<Response, V2Error> {
    let (repo, who) = authorize_caller(state, req, &name, Need::Push).await?;
    let content_type = req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = axum::body::to_bytes(body, MAX_MANIFEST_SIZE + 1)
        .await
        .map_err(|_| {
            V2Error::Registry(
                RegistryError::new(ErrorCode::ManifestInvalid)
                    .with_detail_message(format!(
                        "manifest exceeds the maximum size of {MAX_MANIFEST_SIZE} bytes"
                    ))
                    .with_status(413),
            )
        })?;
    let parsed = ParsedManifest::parse(&bytes, content_type.as_deref())
        .map_err(|e| V2Error::Registry(e.registry_error()))?;
    check_allowed(state, &name, &parsed)?;
    let tag = match &reference {
        Reference::Digest(d) => {
            if d != parsed.digest() {
                return Err(V2Error::Registry(
                    RegistryError::new(ErrorCode::ManifestInvalid)
                        .with_detail_message("manifest digest mismatch"),
                ));
            }
            None
        }
        Reference::Tag(t) => Some(t.as_str()),
    };
    let stored = state.registry.put_manifest(&repo, tag, &parsed).await?;
    state.audit.record(
        "push_repo",
        &repo,
        who.grant(),
        req,
        &[match tag {
            Some(t) => ("tag", serde_json::Value::from(t)),
            None => (
                "manifest_digest",
                serde_json::Value::from(stored.digest.to_string()),
            ),
        }],
    );
    state.metrics.registry_push(201, &stored.media_type);
    let mut builder = Response::builder()
        .status(StatusCode::CREATED)
        .header(
            header::LOCATION,
            format!("/v2/{}/manifests/{}", name.full(), stored.digest),
        )
        .header("docker-content-digest", stored.digest.to_string())
        .header(header::CONTENT_LENGTH, 0);
    if let Some(subject) = parsed.subject_digest() {
        builder = builder.header("oci-subject", subject.to_string());
    }
    builder
        .body(Body::empty())
        .map_err(|e| V2Error::Internal(e.to_string()))
}

/// What Quay checks between parsing and storing: OCI support for the namespace, the
/// artifact-type policy, and for schema 1 that the manifest names the URL's repository
/// (`_validate_schema1_manifest`; the tag in the URL wins over the manifest's `tag`).
fn check_allowed(state: &V2State, name: &RepoName, parsed: &ParsedManifest) -> Result<(), V2Error> {
    let settings = &state.settings;
    if matches!(
        parsed.kind(),
        ManifestKind::OciManifest | ManifestKind::OciIndex
    ) && !settings.general_oci_support
        && !settings.oci_namespace_whitelist.contains(&name.namespace)
    {
        return Err(V2Error::Registry(
            RegistryError::manifest_schema_unsupported(),
        ));
    }
    settings
        .artifact_policy
        .check(parsed)
        .map_err(|e| V2Error::Registry(e.registry_error()))?;
    if let Some(s1) = parsed.schema1() {
        let (ns, repo) = s1.namespace_and_repo();
        let library = ns.is_empty()
            && settings.name_rules.library_namespace.as_deref() == Some(name.namespace.as_str());
        if !library && ns != name.namespace {
            return Err(V2Error::Registry(
                RegistryError::new(ErrorCode::NameInvalid)
                    .with_message("namespace name does not match manifest")
                    .with_detail_message(format!(
                        "namespace name `{}` does not match `{ns}` in manifest",
                        name.namespace
                    )),
            ));
        }
        if repo != name.repository {
            return Err(V2Error::Registry(
                RegistryError::new(ErrorCode::NameInvalid)
                    .with_message("repository name does not match manifest")
                    .with_detail_message(format!(
                        "repository name `{}` does not match `{repo}` in manifest",
                        name.repository
                    )),
            ));
        }
    }
    Ok(())
}

pub async fn delete(
    state: &V2State,
    req: &Parts,
    name: RepoName,
    reference: Reference,
) -> Result<Response, V2Error> {
    let (repo, who) = authorize_caller(state, req, &name, Need::Push).await?;
    let deleted = match &reference {
        Reference::Tag(t) => state.registry.delete_by_tag(&repo, t.as_str()).await?,
        Reference::Digest(d) => state.registry.delete_by_digest(&repo, d).await?,
    };
    if !deleted {
        return Err(V2Error::code(ErrorCode::ManifestUnknown));
    }
    let detail = match &reference {
        Reference::Tag(t) => ("tag", serde_json::Value::from(t.as_str())),
        Reference::Digest(d) => ("digest", serde_json::Value::from(d.to_string())),
    };
    state
        .audit
        .record("delete_tag", &repo, who.grant(), req, &[detail]);
    Response::builder()
        .status(StatusCode::ACCEPTED)
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .map_err(|e| V2Error::Internal(e.to_string()))
}
