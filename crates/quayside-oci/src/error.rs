//! Registry (`/v2`) error codes and the `{"errors":[...]}` envelope.
//!
//! Codes, statuses and default messages follow Quay's `endpoints/v2/errors.py`
//! (as summarised in `quay-api.md` §1.7); where Quay defines nothing the OCI
//! distribution-spec wording is used. `RANGE_INVALID` is quayside's own: Quay
//! answers a PATCH offset mismatch with a bare `416` and an empty body.

use serde_json::{json, Map, Value};

/// A `/v2` error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `BLOB_UNKNOWN`
    BlobUnknown,
    /// `BLOB_UPLOAD_INVALID`
    BlobUploadInvalid,
    /// `BLOB_UPLOAD_UNKNOWN`
    BlobUploadUnknown,
    /// `DIGEST_INVALID`
    DigestInvalid,
    /// `MANIFEST_BLOB_UNKNOWN`
    ManifestBlobUnknown,
    /// `MANIFEST_INVALID`
    ManifestInvalid,
    /// `MANIFEST_UNKNOWN`
    ManifestUnknown,
    /// `MANIFEST_UNVERIFIED` (Quay; never raised upstream)
    ManifestUnverified,
    /// `NAME_INVALID`
    NameInvalid,
    /// `NAME_UNKNOWN`
    NameUnknown,
    /// `SIZE_INVALID`
    SizeInvalid,
    /// `TAG_INVALID` (Quay)
    TagInvalid,
    /// `TAG_EXPIRED` (Quay, non-standard)
    TagExpired,
    /// `TAG_IMMUTABLE` (Quay)
    TagImmutable,
    /// `TAG_ALREADY_EXISTS` (Quay; never raised upstream)
    TagAlreadyExists,
    /// `TOO_MANY_TAGS_REQUESTED` (Quay; never raised upstream)
    TooManyTagsRequested,
    /// `UNAUTHORIZED`
    Unauthorized,
    /// `DENIED`
    Denied,
    /// `UNSUPPORTED`
    Unsupported,
    /// `TOOMANYREQUESTS`
    TooManyRequests,
    /// `INVALID_REQUEST` (Quay)
    InvalidRequest,
    /// `METHOD NOT ALLOWED` — literally with a space; Quay's `DISABLE_PUSHES` code.
    MethodNotAllowed,
    /// `RANGE_INVALID` (quayside; 416)
    RangeInvalid,
    /// `UNAVAILABLE` (distribution's code for a dependency that cannot serve now; 503)
    Unavailable,
    /// `UNKNOWN` (distribution's code for an unexpected server fault; 500)
    Unknown,
}

impl ErrorCode {
    /// Every code, for table tests and documentation.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::BlobUnknown,
        ErrorCode::BlobUploadInvalid,
        ErrorCode::BlobUploadUnknown,
        ErrorCode::DigestInvalid,
        ErrorCode::ManifestBlobUnknown,
        ErrorCode::ManifestInvalid,
        ErrorCode::ManifestUnknown,
        ErrorCode::ManifestUnverified,
        ErrorCode::NameInvalid,
        ErrorCode::NameUnknown,
        ErrorCode::SizeInvalid,
        ErrorCode::TagInvalid,
        ErrorCode::TagExpired,
        ErrorCode::TagImmutable,
        ErrorCode::TagAlreadyExists,
        ErrorCode::TooManyTagsRequested,
        ErrorCode::Unauthorized,
        ErrorCode::Denied,
        ErrorCode::Unsupported,
        ErrorCode::TooManyRequests,
        ErrorCode::InvalidRequest,
        ErrorCode::MethodNotAllowed,
        ErrorCode::RangeInvalid,
        ErrorCode::Unavailable,
        ErrorCode::Unknown,
    ];

    /// The wire `code` string.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorCode::BlobUnknown => "BLOB_UNKNOWN",
            ErrorCode::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            ErrorCode::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            ErrorCode::DigestInvalid => "DIGEST_INVALID",
            ErrorCode::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            ErrorCode::ManifestInvalid => "MANIFEST_INVALID",
            ErrorCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            ErrorCode::ManifestUnverified => "MANIFEST_UNVERIFIED",
            ErrorCode::NameInvalid => "NAME_INVALID",
            ErrorCode::NameUnknown => "NAME_UNKNOWN",
            ErrorCode::SizeInvalid => "SIZE_INVALID",
            ErrorCode::TagInvalid => "TAG_INVALID",
            ErrorCode::TagExpired => "TAG_EXPIRED",
            ErrorCode::TagImmutable => "TAG_IMMUTABLE",
            ErrorCode::TagAlreadyExists => "TAG_ALREADY_EXISTS",
            ErrorCode::TooManyTagsRequested => "TOO_MANY_TAGS_REQUESTED",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Denied => "DENIED",
            ErrorCode::Unsupported => "UNSUPPORTED",
            ErrorCode::TooManyRequests => "TOOMANYREQUESTS",
            ErrorCode::InvalidRequest => "INVALID_REQUEST",
            ErrorCode::MethodNotAllowed => "METHOD NOT ALLOWED",
            ErrorCode::RangeInvalid => "RANGE_INVALID",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Unknown => "UNKNOWN",
        }
    }

    /// Default HTTP status.
    pub const fn status(self) -> u16 {
        match self {
            ErrorCode::BlobUnknown
            | ErrorCode::BlobUploadUnknown
            | ErrorCode::ManifestUnknown
            | ErrorCode::NameUnknown
            | ErrorCode::TagExpired => 404,
            ErrorCode::BlobUploadInvalid
            | ErrorCode::DigestInvalid
            | ErrorCode::ManifestBlobUnknown
            | ErrorCode::ManifestInvalid
            | ErrorCode::ManifestUnverified
            | ErrorCode::NameInvalid
            | ErrorCode::SizeInvalid
            | ErrorCode::TagInvalid
            | ErrorCode::InvalidRequest => 400,
            ErrorCode::TagImmutable | ErrorCode::TagAlreadyExists => 409,
            ErrorCode::TooManyTagsRequested => 413,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Denied => 403,
            ErrorCode::Unsupported | ErrorCode::MethodNotAllowed => 405,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::RangeInvalid => 416,
            ErrorCode::Unavailable => 503,
            ErrorCode::Unknown => 500,
        }
    }

    /// Default message (Quay's wording where it has one).
    pub const fn default_message(self) -> &'static str {
        match self {
            ErrorCode::BlobUnknown => "blob unknown to registry",
            ErrorCode::BlobUploadInvalid => "blob upload invalid",
            ErrorCode::BlobUploadUnknown => "blob upload unknown to registry",
            ErrorCode::DigestInvalid => "provided digest did not match uploaded content",
            ErrorCode::ManifestBlobUnknown => "manifest blob unknown to registry",
            ErrorCode::ManifestInvalid => "manifest invalid",
            ErrorCode::ManifestUnknown => "manifest unknown",
            ErrorCode::ManifestUnverified => "manifest failed signature verification",
            ErrorCode::NameInvalid => "invalid repository name",
            ErrorCode::NameUnknown => "repository not found",
            ErrorCode::SizeInvalid => "provided length did not match content length",
            ErrorCode::TagInvalid => "manifest tag did not match URI",
            ErrorCode::TagExpired => "Tag has expired",
            ErrorCode::TagImmutable => "tag is immutable and cannot be overwritten",
            ErrorCode::TagAlreadyExists => "tag was already pushed",
            ErrorCode::TooManyTagsRequested => "too many tags requested",
            ErrorCode::Unauthorized => "access to the requested resource is not authorized",
            ErrorCode::Denied => "requested access to the resource is denied",
            ErrorCode::Unsupported => "The operation is unsupported.",
            ErrorCode::TooManyRequests => "too many requests",
            ErrorCode::InvalidRequest => "Invalid request",
            ErrorCode::MethodNotAllowed => "Pushes to the registry are currently disabled. Please contact the administrator for more information.",
            ErrorCode::RangeInvalid => "invalid content range",
            ErrorCode::Unavailable => "service unavailable",
            ErrorCode::Unknown => "unknown error",
        }
    }

    /// Looks a code up by its wire string.
    pub fn from_code(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.code() == code)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Quay's read-only-mode message (`REGISTRY_STATE: readonly`).
pub const READ_ONLY_MESSAGE: &str =
    "System is currently read-only. Pulls will succeed but all write operations are currently suspended.";
/// Quay's quota-exceeded message.
pub const QUOTA_EXCEEDED_MESSAGE: &str = "Quota has been exceeded on namespace";

/// One `/v2` error, rendered as `{"errors":[{"code","message","detail"}]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryError {
    /// Error code.
    pub code: ErrorCode,
    /// Human-readable message.
    pub message: String,
    /// Free-form detail (Quay defaults to `{}`).
    pub detail: Value,
    /// HTTP status to answer with.
    pub status: u16,
    /// Adds `"is_readonly": true` to the error object (Quay's read-only mode).
    pub is_readonly: bool,
}

impl RegistryError {
    /// An error with the code's default message, status and `{}` detail.
    pub fn new(code: ErrorCode) -> RegistryError {
        RegistryError {
            code,
            message: code.default_message().to_owned(),
            detail: Value::Object(Map::new()),
            status: code.status(),
            is_readonly: false,
        }
    }

    /// Replaces the message.
    pub fn with_message(mut self, message: impl Into<String>) -> RegistryError {
        self.message = message.into();
        self
    }

    /// Replaces the detail.
    pub fn with_detail(mut self, detail: Value) -> RegistryError {
        self.detail = detail;
        self
    }

    /// Sets `detail` to `{"message": <message>}` (Quay's usual shape).
    pub fn with_detail_message(self, message: impl Into<String>) -> RegistryError {
        self.with_detail(json!({ "message": message.into() }))
    }

    /// Replaces the HTTP status.
    pub fn with_status(mut self, status: u16) -> RegistryError {
        self.status = status;
        self
    }

    /// `405 DENIED` with `is_readonly: true` (Quay's `REGISTRY_STATE: readonly`).
    pub fn read_only() -> RegistryError {
        let mut e = RegistryError::new(ErrorCode::Denied)
            .with_message(READ_ONLY_MESSAGE)
            .with_status(405);
        e.is_readonly = true;
        e
    }

    /// `405 METHOD NOT ALLOWED` (Quay's `DISABLE_PUSHES`).
    pub fn pushes_disabled() -> RegistryError {
        RegistryError::new(ErrorCode::MethodNotAllowed)
    }

    /// `403 DENIED` quota rejection.
    pub fn quota_exceeded() -> RegistryError {
        RegistryError::new(ErrorCode::Denied).with_message(QUOTA_EXCEEDED_MESSAGE)
    }

    /// `405 DENIED` for a disabled namespace.
    pub fn namespace_disabled(namespace: &str) -> RegistryError {
        RegistryError::new(ErrorCode::Denied)
            .with_message(format!(
                "Namespace {namespace} has been disabled. Please contact a system administrator."
            ))
            .with_status(405)
    }

    /// `415 MANIFEST_INVALID` for an unsupported manifest Content-Type.
    pub fn manifest_schema_unsupported() -> RegistryError {
        RegistryError::new(ErrorCode::ManifestInvalid)
            .with_detail_message("manifest schema version not supported")
            .with_status(415)
    }

    /// The error object (without the envelope).
    pub fn to_error_object(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("code".into(), Value::String(self.code.code().to_owned()));
        obj.insert("message".into(), Value::String(self.message.clone()));
        obj.insert("detail".into(), self.detail.clone());
        if self.is_readonly {
            obj.insert("is_readonly".into(), Value::Bool(true));
        }
        Value::Object(obj)
    }

    /// The full envelope `{"errors":[{...}]}`.
    pub fn to_json(&self) -> Value {
        json!({ "errors": [self.to_error_object()] })
    }

    /// The envelope serialized to a string.
    pub fn to_json_string(&self) -> String {
        self.to_json().to_string()
    }
}

impl From<ErrorCode> for RegistryError {
    fn from(code: ErrorCode) -> Self {
        RegistryError::new(code)
    }
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for RegistryError {}

/// Renders several errors into one envelope.
pub fn errors_to_json(errors: &[RegistryError]) -> Value {
    json!({ "errors": errors.iter().map(RegistryError::to_error_object).collect::<Vec<_>>() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_table() {
        let expected: &[(ErrorCode, &str, u16)] = &[
            (ErrorCode::BlobUnknown, "BLOB_UNKNOWN", 404),
            (ErrorCode::BlobUploadInvalid, "BLOB_UPLOAD_INVALID", 400),
            (ErrorCode::BlobUploadUnknown, "BLOB_UPLOAD_UNKNOWN", 404),
            (ErrorCode::DigestInvalid, "DIGEST_INVALID", 400),
            (ErrorCode::ManifestBlobUnknown, "MANIFEST_BLOB_UNKNOWN", 400),
            (ErrorCode::ManifestInvalid, "MANIFEST_INVALID", 400),
            (ErrorCode::ManifestUnknown, "MANIFEST_UNKNOWN", 404),
            (ErrorCode::ManifestUnverified, "MANIFEST_UNVERIFIED", 400),
            (ErrorCode::NameInvalid, "NAME_INVALID", 400),
            (ErrorCode::NameUnknown, "NAME_UNKNOWN", 404),
            (ErrorCode::SizeInvalid, "SIZE_INVALID", 400),
            (ErrorCode::TagInvalid, "TAG_INVALID", 400),
            (ErrorCode::TagExpired, "TAG_EXPIRED", 404),
            (ErrorCode::TagImmutable, "TAG_IMMUTABLE", 409),
            (ErrorCode::TagAlreadyExists, "TAG_ALREADY_EXISTS", 409),
            (
                ErrorCode::TooManyTagsRequested,
                "TOO_MANY_TAGS_REQUESTED",
                413,
            ),
            (ErrorCode::Unauthorized, "UNAUTHORIZED", 401),
            (ErrorCode::Denied, "DENIED", 403),
            (ErrorCode::Unsupported, "UNSUPPORTED", 405),
            (ErrorCode::TooManyRequests, "TOOMANYREQUESTS", 429),
            (ErrorCode::InvalidRequest, "INVALID_REQUEST", 400),
            (ErrorCode::MethodNotAllowed, "METHOD NOT ALLOWED", 405),
            (ErrorCode::RangeInvalid, "RANGE_INVALID", 416),
            (ErrorCode::Unavailable, "UNAVAILABLE", 503),
            (ErrorCode::Unknown, "UNKNOWN", 500),
        ];
        assert_eq!(expected.len(), ErrorCode::ALL.len());
        for (code, s, status) in expected {
            assert_eq!(code.code(), *s);
            assert_eq!(code.status(), *status, "{s}");
            assert_eq!(ErrorCode::from_code(s), Some(*code));
            assert!(!code.default_message().is_empty());
            assert_eq!(code.to_string(), *s);
        }
        assert_eq!(ErrorCode::from_code("NOPE"), None);
    }

    #[test]
    fn quay_messages() {
        assert_eq!(
            ErrorCode::Unauthorized.default_message(),
            "access to the requested resource is not authorized"
        );
        assert_eq!(
            ErrorCode::BlobUnknown.default_message(),
            "blob unknown to registry"
        );
        assert_eq!(
            ErrorCode::Unsupported.default_message(),
            "The operation is unsupported."
        );
    }

    #[test]
    fn envelope_shape() {
        let e = RegistryError::new(ErrorCode::ManifestUnknown);
        assert_eq!(
            e.to_json(),
            json!({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]})
        );
        assert_eq!(e.status, 404);
        let s = e.to_json_string();
        let back: Value = serde_json::from_str(&s).expect("valid json");
        assert_eq!(back, e.to_json());
    }

    #[test]
    fn builders_and_presets() {
        let e = RegistryError::new(ErrorCode::ManifestInvalid)
            .with_detail_message("manifest digest mismatch");
        assert_eq!(
            e.to_json(),
            json!({"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":{"message":"manifest digest mismatch"}}]})
        );

        let ro = RegistryError::read_only();
        assert_eq!(ro.status, 405);
        assert_eq!(ro.to_json()["errors"][0]["is_readonly"], json!(true));
        assert_eq!(ro.to_json()["errors"][0]["code"], json!("DENIED"));
        assert_eq!(ro.message, READ_ONLY_MESSAGE);

        let pd = RegistryError::pushes_disabled();
        assert_eq!(pd.status, 405);
        assert_eq!(
            pd.to_json()["errors"][0]["code"],
            json!("METHOD NOT ALLOWED")
        );
        assert!(pd.to_json()["errors"][0].get("is_readonly").is_none());

        let q = RegistryError::quota_exceeded();
        assert_eq!(
            (q.status, q.message.as_str()),
            (403, QUOTA_EXCEEDED_MESSAGE)
        );

        let nd = RegistryError::namespace_disabled("acme");
        assert_eq!(nd.status, 405);
        assert_eq!(
            nd.message,
            "Namespace acme has been disabled. Please contact a system administrator."
        );

        let u = RegistryError::manifest_schema_unsupported();
        assert_eq!(u.status, 415);
        assert_eq!(
            u.detail,
            json!({"message": "manifest schema version not supported"})
        );

        let custom = RegistryError::from(ErrorCode::BlobUploadInvalid)
            .with_message("m")
            .with_detail(json!({"reason": "Missing digest arg on monolithic upload"}))
            .with_status(400);
        assert_eq!(custom.to_string(), "BLOB_UPLOAD_INVALID (400): m");
    }

    #[test]
    fn multiple_errors() {
        let v = errors_to_json(&[
            RegistryError::new(ErrorCode::Denied),
            RegistryError::new(ErrorCode::Unauthorized),
        ]);
        let arr = v["errors"].as_array().map(Vec::len);
        assert_eq!(arr, Some(2));
        assert_eq!(v["errors"][1]["code"], json!("UNAUTHORIZED"));
    }
}
