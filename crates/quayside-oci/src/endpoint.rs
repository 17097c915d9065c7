//! `/v2` route recognition.
//!
//! The repository name may contain any number of `/` segments, including words
//! such as `manifests`, `blobs` or `tags`, so routes are recognised from the
//! **right**: the trailing `/manifests/<ref>`, `/blobs/<digest>`,
//! `/blobs/uploads/`, `/blobs/uploads/<uuid>`, `/tags/list` or
//! `/referrers/<digest>` is split off and everything before it is the name.
//!
//! Order of checks: path shape → method → repository name → reference/digest/uuid.
//! Methods are case-sensitive (`GET`, not `get`). Like Flask, every GET route also
//! answers HEAD. Leniencies versus Quay/Werkzeug (which would redirect with 308):
//! `/v2` is treated as `/v2/`, and `/blobs/uploads` without the trailing slash as
//! `/blobs/uploads/`. Any other trailing slash is [`ParseError::NotFound`].

use crate::digest::{Digest, DigestError};
use crate::error::{ErrorCode, RegistryError};
use crate::name::{NameError, NameRules, Reference, ReferenceError, RepoName};

/// Maximum accepted length of an upload session id.
pub const UPLOAD_ID_MAX_LEN: usize = 128;

/// A recognised `/v2` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET|HEAD /v2/`
    Base,
    /// `GET /v2/auth`
    Auth,
    /// `GET /v2/_catalog`
    Catalog,
    /// `GET /v2/<name>/tags/list`
    TagsList {
        /// Repository.
        name: RepoName,
    },
    /// `GET|HEAD /v2/<name>/manifests/<ref>`
    GetManifest {
        /// Repository.
        name: RepoName,
        /// Tag or digest.
        reference: Reference,
        /// HEAD rather than GET.
        head: bool,
    },
    /// `GET|HEAD /v2/<name>/manifests/<ref>` where `<ref>` is neither a valid tag nor a
    /// digest: no manifest can have it, so (after the pull check) it is `404
    /// MANIFEST_UNKNOWN`, as distribution-spec v1.1 expects. Writes keep `400 TAG_INVALID`.
    GetImpossibleManifest {
        /// Repository.
        name: RepoName,
        /// HEAD rather than GET.
        head: bool,
    },
    /// `PUT /v2/<name>/manifests/<ref>`
    PutManifest {
        /// Repository.
        name: RepoName,
        /// Tag or digest.
        reference: Reference,
    },
    /// `DELETE /v2/<name>/manifests/<ref>` (Quay allows delete by tag too)
    DeleteManifest {
        /// Repository.
        name: RepoName,
        /// Tag or digest.
        reference: Reference,
    },
    /// `GET|HEAD /v2/<name>/blobs/<digest>`
    GetBlob {
        /// Repository.
        name: RepoName,
        /// Blob digest.
        digest: Digest,
        /// HEAD rather than GET.
        head: bool,
    },
    /// `DELETE /v2/<name>/blobs/<digest>` (Quay: always `405 UNSUPPORTED`)
    DeleteBlob {
        /// Repository.
        name: RepoName,
        /// Blob digest.
        digest: Digest,
    },
    /// `POST /v2/<name>/blobs/uploads/`
    StartUpload {
        /// Repository.
        name: RepoName,
    },
    /// `GET|HEAD /v2/<name>/blobs/uploads/<uuid>`
    GetUpload {
        /// Repository.
        name: RepoName,
        /// Upload session id.
        upload_id: String,
    },
    /// `PATCH /v2/<name>/blobs/uploads/<uuid>`
    PatchUpload {
        /// Repository.
        name: RepoName,
        /// Upload session id.
        upload_id: String,
    },
    /// `PUT /v2/<name>/blobs/uploads/<uuid>?digest=`
    PutUpload {
        /// Repository.
        name: RepoName,
        /// Upload session id.
        upload_id: String,
    },
    /// `DELETE /v2/<name>/blobs/uploads/<uuid>`
    DeleteUpload {
        /// Repository.
        name: RepoName,
        /// Upload session id.
        upload_id: String,
    },
    /// `GET /v2/<name>/referrers/<digest>`
    Referrers {
        /// Repository.
        name: RepoName,
        /// Subject digest.
        digest: Digest,
    },
}

/// Why a path/method is not a valid `/v2` request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The path is not under `/v2`.
    #[error("not a /v2 path")]
    NotV2,
    /// No `/v2` route has this shape.
    #[error("no such /v2 route")]
    NotFound,
    /// The route exists but not for this method.
    #[error("method not allowed; allowed: {allowed:?}")]
    MethodNotAllowed {
        /// Methods the route accepts.
        allowed: &'static [&'static str],
    },
    /// Invalid repository name.
    #[error(transparent)]
    Name(#[from] NameError),
    /// Invalid manifest reference.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// Invalid blob/subject digest.
    #[error("invalid digest: {0}")]
    Digest(#[from] DigestError),
    /// Invalid upload session id.
    #[error("invalid upload id {0:?}")]
    UploadId(String),
}

impl ParseError {
    /// The `/v2` error to answer with, when one fits the `errors` envelope.
    ///
    /// `None` for [`ParseError::NotV2`], [`ParseError::NotFound`] (plain 404) and
    /// [`NameError::NamespaceRequired`] (Quay answers
    /// `400 {"error": "A namespace must be specified explicitly"}` outside the envelope).
    pub fn registry_error(&self) -> Option<RegistryError> {
        match self {
            ParseError::NotV2 | ParseError::NotFound => None,
            ParseError::Name(NameError::NamespaceRequired) => None,
            ParseError::MethodNotAllowed { .. } => Some(RegistryError::new(ErrorCode::Unsupported)),
            ParseError::Name(e) => {
                Some(RegistryError::new(ErrorCode::NameInvalid).with_detail_message(e.to_string()))
            }
            ParseError::Reference(ReferenceError::Tag(e)) => {
                Some(RegistryError::new(ErrorCode::TagInvalid).with_detail_message(e.to_string()))
            }
            ParseError::Reference(ReferenceError::Digest(e)) | ParseError::Digest(e) => Some(
                RegistryError::new(ErrorCode::DigestInvalid).with_detail_message(e.to_string()),
            ),
            ParseError::UploadId(_) => Some(RegistryError::new(ErrorCode::BlobUploadUnknown)),
        }
    }
}

const GET: &[&str] = &["GET", "HEAD"];
const MANIFEST_METHODS: &[&str] = &["GET", "HEAD", "PUT", "DELETE"];
const BLOB_METHODS: &[&str] = &["GET", "HEAD", "DELETE"];
const UPLOAD_START_METHODS: &[&str] = &["POST"];
const UPLOAD_METHODS: &[&str] = &["GET", "HEAD", "PATCH", "PUT", "DELETE"];

enum Shape<'a> {
    TagsList,
    Manifest(&'a str),
    Blob(&'a str),
    UploadStart,
    Upload(&'a str),
    Referrers(&'a str),
}

impl Endpoint {
    /// Parses with Quay's default name rules (extended names, `library` namespace).
    pub fn parse(method: &str, path: &str) -> Result<Endpoint, ParseError> {
        Endpoint::parse_with(method, path, &NameRules::default())
    }

    /// Parses with explicit name rules.
    pub fn parse_with(method: &str, path: &str, rules: &NameRules) -> Result<Endpoint, ParseError> {
        if path == "/v2" || path == "/v2/" {
            check_method(method, GET)?;
            return Ok(Endpoint::Base);
        }
        let rest = path.strip_prefix("/v2/").ok_or(ParseError::NotV2)?;
        match rest {
            "_catalog" => {
                check_method(method, GET)?;
                return Ok(Endpoint::Catalog);
            }
            "auth" => {
                check_method(method, GET)?;
                return Ok(Endpoint::Auth);
            }
            _ => {}
        }

        let segs: Vec<&str> = rest.split('/').collect();
        let n = segs.len();
        let tail =
            |k: usize| -> Option<&str> { n.checked_sub(k).and_then(|i| segs.get(i).copied()) };

        // (shape, number of trailing segments that are not part of the name)
        let (shape, used) = match (tail(3), tail(2), tail(1)) {
            (Some("blobs"), Some("uploads"), Some("")) => (Shape::UploadStart, 3),
            (_, _, Some("")) => return Err(ParseError::NotFound),
            (Some("blobs"), Some("uploads"), Some(id)) => (Shape::Upload(id), 3),
            (_, Some("blobs"), Some("uploads")) => (Shape::UploadStart, 2),
            (_, Some("tags"), Some("list")) => (Shape::TagsList, 2),
            (_, Some("manifests"), Some(r)) => (Shape::Manifest(r), 2),
            (_, Some("blobs"), Some(d)) => (Shape::Blob(d), 2),
            (_, Some("referrers"), Some(d)) => (Shape::Referrers(d), 2),
            _ => return Err(ParseError::NotFound),
        };
        let name_segs = segs.get(..n - used).unwrap_or(&[]);
        if name_segs.is_empty() {
            return Err(ParseError::NotFound);
        }

        let allowed = match shape {
            Shape::TagsList | Shape::Referrers(_) => GET,
            Shape::Manifest(_) => MANIFEST_METHODS,
            Shape::Blob(_) => BLOB_METHODS,
            Shape::UploadStart => UPLOAD_START_METHODS,
            Shape::Upload(_) => UPLOAD_METHODS,
        };
        check_method(method, allowed)?;

        let name = RepoName::parse_with(&name_segs.join("/"), rules)?;
        let head = method == "HEAD";

        Ok(match shape {
            Shape::TagsList => Endpoint::TagsList { name },
            Shape::Referrers(d) => Endpoint::Referrers {
                name,
                digest: Digest::parse(d)?,
            },
            Shape::Manifest(r) => {
                let reference = match Reference::parse(r) {
                    Ok(reference) => reference,
                    Err(ReferenceError::Tag(_)) if matches!(method, "GET" | "HEAD") => {
                        return Ok(Endpoint::GetImpossibleManifest { name, head });
                    }
                    Err(e) => return Err(e.into()),
                };
                match method {
                    "PUT" => Endpoint::PutManifest { name, reference },
                    "DELETE" => Endpoint::DeleteManifest { name, reference },
                    _ => Endpoint::GetManifest {
                        name,
                        reference,
                        head,
                    },
                }
            }
            Shape::Blob(d) => {
                let digest = Digest::parse(d)?;
                match method {
                    "DELETE" => Endpoint::DeleteBlob { name, digest },
                    _ => Endpoint::GetBlob { name, digest, head },
                }
            }
            Shape::UploadStart => Endpoint::StartUpload { name },
            Shape::Upload(id) => {
                let upload_id = parse_upload_id(id)?;
                match method {
                    "PATCH" => Endpoint::PatchUpload { name, upload_id },
                    "PUT" => Endpoint::PutUpload { name, upload_id },
                    "DELETE" => Endpoint::DeleteUpload { name, upload_id },
                    _ => Endpoint::GetUpload { name, upload_id },
                }
            }
        })
    }

    /// The repository, for repository-scoped routes.
    pub fn name(&self) -> Option<&RepoName> {
        match self {
            Endpoint::Base | Endpoint::Auth | Endpoint::Catalog => None,
            Endpoint::TagsList { name }
            | Endpoint::GetManifest { name, .. }
            | Endpoint::GetImpossibleManifest { name, .. }
            | Endpoint::PutManifest { name, .. }
            | Endpoint::DeleteManifest { name, .. }
            | Endpoint::GetBlob { name, .. }
            | Endpoint::DeleteBlob { name, .. }
            | Endpoint::StartUpload { name }
            | Endpoint::GetUpload { name, .. }
            | Endpoint::PatchUpload { name, .. }
            | Endpoint::PutUpload { name, .. }
            | Endpoint::DeleteUpload { name, .. }
            | Endpoint::Referrers { name, .. } => Some(name),
        }
    }

    /// Whether the route needs `push` (write) access; Quay's upload status GET does too.
    pub fn requires_push(&self) -> bool {
        matches!(
            self,
            Endpoint::PutManifest { .. }
                | Endpoint::DeleteManifest { .. }
                | Endpoint::DeleteBlob { .. }
                | Endpoint::StartUpload { .. }
                | Endpoint::GetUpload { .. }
                | Endpoint::PatchUpload { .. }
                | Endpoint::PutUpload { .. }
                | Endpoint::DeleteUpload { .. }
        )
    }

    /// Whether Quay's `REGISTRY_STATE: readonly` rejects this route (write methods).
    pub fn blocked_when_read_only(&self) -> bool {
        self.requires_push() && !matches!(self, Endpoint::GetUpload { .. })
    }

    /// Whether Quay's `DISABLE_PUSHES` rejects this route: upload POST/PATCH/DELETE and
    /// manifest PUT/DELETE (the final blob `PUT` is, as upstream, not blocked).
    pub fn blocked_when_pushes_disabled(&self) -> bool {
        matches!(
            self,
            Endpoint::PutManifest { .. }
                | Endpoint::DeleteManifest { .. }
                | Endpoint::StartUpload { .. }
                | Endpoint::PatchUpload { .. }
                | Endpoint::DeleteUpload { .. }
        )
    }
}

fn check_method(method: &str, allowed: &'static [&'static str]) -> Result<(), ParseError> {
    if allowed.contains(&method) {
        Ok(())
    } else {
        Err(ParseError::MethodNotAllowed { allowed })
    }
}

fn parse_upload_id(id: &str) -> Result<String, ParseError> {
    let ok = !id.is_empty()
        && id.len() <= UPLOAD_ID_MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(id.to_owned())
    } else {
        Err(ParseError::UploadId(id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Tag;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn rn(ns: &str, repo: &str) -> RepoName {
        RepoName {
            namespace: ns.into(),
            repository: repo.into(),
        }
    }
    fn tag(t: &str) -> Reference {
        Reference::Tag(Tag::parse(t).expect("tag"))
    }
    fn dg() -> Digest {
        Digest::parse(D).expect("digest")
    }

    #[test]
    fn table_ok() {
        let up = "1f3c2b4a-0000-4000-8000-aaaaaaaaaaaa";
        let cases: Vec<(&str, String, Endpoint)> = vec![
            ("GET", "/v2/".into(), Endpoint::Base),
            ("HEAD", "/v2/".into(), Endpoint::Base),
            ("GET", "/v2".into(), Endpoint::Base),
            ("GET", "/v2/auth".into(), Endpoint::Auth),
            ("GET", "/v2/_catalog".into(), Endpoint::Catalog),
            (
                "GET",
                "/v2/acme/app/tags/list".into(),
                Endpoint::TagsList {
                    name: rn("acme", "app"),
                },
            ),
            (
                "GET",
                "/v2/ubuntu/tags/list".into(),
                Endpoint::TagsList {
                    name: rn("library", "ubuntu"),
                },
            ),
            (
                "GET",
                "/v2/acme/a/b/c/manifests/latest".into(),
                Endpoint::GetManifest {
                    name: rn("acme", "a/b/c"),
                    reference: tag("latest"),
                    head: false,
                },
            ),
            (
                "HEAD",
                format!("/v2/acme/app/manifests/{D}"),
                Endpoint::GetManifest {
                    name: rn("acme", "app"),
                    reference: Reference::Digest(dg()),
                    head: true,
                },
            ),
            (
                "PUT",
                "/v2/acme/app/manifests/v1.0".into(),
                Endpoint::PutManifest {
                    name: rn("acme", "app"),
                    reference: tag("v1.0"),
                },
            ),
            (
                "DELETE",
                "/v2/acme/app/manifests/v1.0".into(),
                Endpoint::DeleteManifest {
                    name: rn("acme", "app"),
                    reference: tag("v1.0"),
                },
            ),
            // names containing route keywords
            (
                "GET",
                "/v2/acme/manifests/manifests/manifests/manifests".into(),
                Endpoint::GetManifest {
                    name: rn("acme", "manifests/manifests"),
                    reference: tag("manifests"),
                    head: false,
                },
            ),
            (
                "GET",
                format!("/v2/acme/blobs/blobs/{D}"),
                Endpoint::GetBlob {
                    name: rn("acme", "blobs"),
                    digest: dg(),
                    head: false,
                },
            ),
            (
                "GET",
                "/v2/acme/tags/tags/list".into(),
                Endpoint::TagsList {
                    name: rn("acme", "tags"),
                },
            ),
            (
                "GET",
                "/v2/acme/manifests/blobs/manifests/tags".into(),
                Endpoint::GetManifest {
                    name: rn("acme", "manifests/blobs"),
                    reference: tag("tags"),
                    head: false,
                },
            ),
            (
                "POST",
                "/v2/acme/blobs/uploads/blobs/uploads/".into(),
                Endpoint::StartUpload {
                    name: rn("acme", "blobs/uploads"),
                },
            ),
            (
                "GET",
                "/v2/acme/uploads/manifests/list".into(),
                Endpoint::GetManifest {
                    name: rn("acme", "uploads"),
                    reference: tag("list"),
                    head: false,
                },
            ),
            (
                "HEAD",
                format!("/v2/acme/app/blobs/{D}"),
                Endpoint::GetBlob {
                    name: rn("acme", "app"),
                    digest: dg(),
                    head: true,
                },
            ),
            (
                "DELETE",
                format!("/v2/acme/app/blobs/{D}"),
                Endpoint::DeleteBlob {
                    name: rn("acme", "app"),
                    digest: dg(),
                },
            ),
            (
                "POST",
                "/v2/acme/app/blobs/uploads/".into(),
                Endpoint::StartUpload {
                    name: rn("acme", "app"),
                },
            ),
            (
                "POST",
                "/v2/acme/app/blobs/uploads".into(),
                Endpoint::StartUpload {
                    name: rn("acme", "app"),
                },
            ),
            (
                "GET",
                format!("/v2/acme/app/blobs/uploads/{up}"),
                Endpoint::GetUpload {
                    name: rn("acme", "app"),
                    upload_id: up.into(),
                },
            ),
            (
                "HEAD",
                format!("/v2/acme/app/blobs/uploads/{up}"),
                Endpoint::GetUpload {
                    name: rn("acme", "app"),
                    upload_id: up.into(),
                },
            ),
            (
                "PATCH",
                format!("/v2/acme/app/blobs/uploads/{up}"),
                Endpoint::PatchUpload {
                    name: rn("acme", "app"),
                    upload_id: up.into(),
                },
            ),
            (
                "PUT",
                format!("/v2/acme/x/y/blobs/uploads/{up}"),
                Endpoint::PutUpload {
                    name: rn("acme", "x/y"),
                    upload_id: up.into(),
                },
            ),
            (
                "DELETE",
                format!("/v2/acme/app/blobs/uploads/{up}"),
                Endpoint::DeleteUpload {
                    name: rn("acme", "app"),
                    upload_id: up.into(),
                },
            ),
            (
                "GET",
                format!("/v2/acme/app/referrers/{D}"),
                Endpoint::Referrers {
                    name: rn("acme", "app"),
                    digest: dg(),
                },
            ),
            (
                "GET",
                format!("/v2/acme/referrers/referrers/{D}"),
                Endpoint::Referrers {
                    name: rn("acme", "referrers"),
                    digest: dg(),
                },
            ),
        ];
        for (method, path, expected) in cases {
            assert_eq!(
                Endpoint::parse(method, &path),
                Ok(expected),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn table_errors() {
        let na = |allowed| ParseError::MethodNotAllowed { allowed };
        let cases: Vec<(&str, String, ParseError)> = vec![
            ("GET", "/".into(), ParseError::NotV2),
            ("GET", "/v1/_ping".into(), ParseError::NotV2),
            ("GET", "/v2x".into(), ParseError::NotV2),
            ("GET", "/api/v1/repository".into(), ParseError::NotV2),
            ("POST", "/v2/".into(), na(GET)),
            ("POST", "/v2/auth".into(), na(GET)),
            ("DELETE", "/v2/_catalog".into(), na(GET)),
            ("GET", "/v2/_catalog/".into(), ParseError::NotFound),
            ("GET", "/v2/acme/app".into(), ParseError::NotFound),
            (
                "GET",
                "/v2/acme/app/manifests/latest/".into(),
                ParseError::NotFound,
            ),
            (
                "GET",
                "/v2/acme/app/tags/list/".into(),
                ParseError::NotFound,
            ),
            (
                "GET",
                "/v2/acme/app/manifests/".into(),
                ParseError::NotFound,
            ),
            (
                "GET",
                format!("/v2/acme/app/blobs/{D}/"),
                ParseError::NotFound,
            ),
            ("GET", "/v2/manifests/latest".into(), ParseError::NotFound),
            ("GET", "/v2/tags/list".into(), ParseError::NotFound),
            ("POST", "/v2/blobs/uploads/".into(), ParseError::NotFound),
            ("GET", "/v2/acme/app/unknown/x".into(), ParseError::NotFound),
            (
                "POST",
                "/v2/acme/app/manifests/latest".into(),
                na(MANIFEST_METHODS),
            ),
            (
                "get",
                "/v2/acme/app/manifests/latest".into(),
                na(MANIFEST_METHODS),
            ),
            ("PUT", format!("/v2/acme/app/blobs/{D}"), na(BLOB_METHODS)),
            (
                "GET",
                "/v2/acme/app/blobs/uploads/".into(),
                na(UPLOAD_START_METHODS),
            ),
            (
                "POST",
                "/v2/acme/app/blobs/uploads/abc".into(),
                na(UPLOAD_METHODS),
            ),
            ("PUT", "/v2/acme/app/tags/list".into(), na(GET)),
            ("DELETE", format!("/v2/acme/app/referrers/{D}"), na(GET)),
            (
                "GET",
                "/v2/Acme/app/tags/list".into(),
                ParseError::Name(NameError::InvalidNamespace("Acme".into())),
            ),
            (
                "GET",
                "/v2/acme//app/tags/list".into(),
                ParseError::Name(NameError::InvalidRepository("/app".into())),
            ),
            (
                "GET",
                "/v2/acme/app/manifests/sha256:abc".into(),
                ParseError::Reference(ReferenceError::Digest(DigestError::InvalidLength {
                    algorithm: crate::digest::Algorithm::Sha256,
                    expected: 64,
                    found: 3,
                })),
            ),
            (
                "PUT",
                "/v2/acme/app/manifests/-bad".into(),
                ParseError::Reference(ReferenceError::Tag(crate::name::TagError("-bad".into()))),
            ),
            (
                "DELETE",
                "/v2/acme/app/manifests/.INVALID_MANIFEST_NAME".into(),
                ParseError::Reference(ReferenceError::Tag(crate::name::TagError(
                    ".INVALID_MANIFEST_NAME".into(),
                ))),
            ),
            (
                "GET",
                "/v2/acme/app/blobs/latest".into(),
                ParseError::Digest(DigestError::MissingSeparator),
            ),
            (
                "GET",
                "/v2/acme/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e".into(),
                ParseError::Digest(DigestError::UnsupportedAlgorithm("md5".into())),
            ),
            (
                "GET",
                format!(
                    "/v2/acme/app/blobs/{}",
                    D.to_uppercase().replace("SHA256", "sha256")
                ),
                ParseError::Digest(DigestError::NotLowercaseHex),
            ),
            (
                "GET",
                "/v2/acme/app/referrers/latest".into(),
                ParseError::Digest(DigestError::MissingSeparator),
            ),
            (
                "PATCH",
                "/v2/acme/app/blobs/uploads/a%20b".into(),
                ParseError::UploadId("a%20b".into()),
            ),
            (
                "PATCH",
                format!("/v2/acme/app/blobs/uploads/{}", "a".repeat(129)),
                ParseError::UploadId("a".repeat(129)),
            ),
        ];
        for (method, path, expected) in cases {
            assert_eq!(
                Endpoint::parse(method, &path),
                Err(expected),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn library_off_and_classic_names() {
        let rules = NameRules {
            extended: false,
            library_namespace: None,
        };
        assert_eq!(
            Endpoint::parse_with("GET", "/v2/ubuntu/tags/list", &rules),
            Err(ParseError::Name(NameError::NamespaceRequired))
        );
        assert_eq!(
            Endpoint::parse_with("GET", "/v2/acme/a/b/tags/list", &rules),
            Err(ParseError::Name(NameError::NestedNotSupported(
                "a/b".into()
            )))
        );
        assert_eq!(
            Endpoint::parse_with("GET", "/v2/acme/ab/tags/list", &rules),
            Ok(Endpoint::TagsList {
                name: rn("acme", "ab")
            })
        );
    }

    #[test]
    fn classification_helpers() {
        let put = Endpoint::parse("PUT", "/v2/acme/app/manifests/latest").expect("ok");
        assert!(
            put.requires_push()
                && put.blocked_when_read_only()
                && put.blocked_when_pushes_disabled()
        );
        assert_eq!(put.name(), Some(&rn("acme", "app")));
        let final_put = Endpoint::parse("PUT", "/v2/acme/app/blobs/uploads/u1").expect("ok");
        assert!(final_put.blocked_when_read_only());
        assert!(!final_put.blocked_when_pushes_disabled());
        let status = Endpoint::parse("GET", "/v2/acme/app/blobs/uploads/u1").expect("ok");
        assert!(status.requires_push() && !status.blocked_when_read_only());
        let get = Endpoint::parse("GET", "/v2/acme/app/manifests/latest").expect("ok");
        assert!(!get.requires_push() && !get.blocked_when_read_only());
        assert_eq!(Endpoint::Base.name(), None);
        assert!(!Endpoint::Catalog.requires_push());
    }

    #[test]
    fn reads_of_an_impossible_reference_are_their_own_endpoint() {
        for (method, head) in [("GET", false), ("HEAD", true)] {
            for r in ["-bad", ".INVALID_MANIFEST_NAME", &"x".repeat(129)] {
                let e = Endpoint::parse(method, &format!("/v2/acme/app/manifests/{r}"))
                    .expect("a read of any reference parses");
                assert_eq!(
                    e,
                    Endpoint::GetImpossibleManifest {
                        name: RepoName::parse("acme/app", true).expect("name"),
                        head
                    },
                    "{method} {r}"
                );
                assert!(!e.requires_push() && e.name().is_some());
            }
        }
        // A malformed digest is still refused on reads.
        assert!(Endpoint::parse("GET", "/v2/acme/app/manifests/sha256:abc").is_err());
    }

    #[test]
    fn registry_error_mapping() {
        let code = |e: ParseError| e.registry_error().map(|r| (r.code, r.status));
        assert_eq!(code(ParseError::NotFound), None);
        assert_eq!(code(ParseError::NotV2), None);
        assert_eq!(code(ParseError::Name(NameError::NamespaceRequired)), None);
        assert_eq!(
            code(ParseError::MethodNotAllowed { allowed: GET }),
            Some((ErrorCode::Unsupported, 405))
        );
        assert_eq!(
            code(ParseError::Name(NameError::Empty)),
            Some((ErrorCode::NameInvalid, 400))
        );
        assert_eq!(
            code(ParseError::Digest(DigestError::InvalidEncoding)),
            Some((ErrorCode::DigestInvalid, 400))
        );
        assert_eq!(
            code(ParseError::Reference(ReferenceError::Tag(
                crate::name::TagError(".x".into())
            ))),
            Some((ErrorCode::TagInvalid, 400))
        );
        assert_eq!(
            code(ParseError::UploadId("x y".into())),
            Some((ErrorCode::BlobUploadUnknown, 404))
        );
    }
}
