//! Repository names, tags and manifest references, following Quay's rules.
//!
//! Quay (`util/names.py`, `util/validation.py`, the `/v2` path converter):
//! * namespace: `^[a-z0-9]+(?:[._-][a-z0-9]+)*$`, 2–255 characters;
//! * repository (classic): `^[a-z0-9][.a-z0-9_-]{0,254}$`;
//! * repository (`FEATURE_EXTENDED_REPOSITORY_NAMES`, default on):
//!   `^(?=.{0,255}$)[a-z0-9][.a-z0-9_-]*(?:/[a-z0-9][.a-z0-9_-]*)*$`;
//! * with `FEATURE_LIBRARY_SUPPORT` (default on) a single-segment name maps to
//!   `LIBRARY_NAMESPACE` (default `library`);
//! * tag: `^[\w][\w.-]{0,127}$` (ASCII).
//!
//! Quay's repository regex is *looser* than the OCI distribution-spec name grammar
//! (it allows e.g. `repo-`, `a..b`, `a__-b`). Repositories created through Quay's API
//! with such names must stay reachable over `/v2`, so [`RepoName::parse`] enforces
//! Quay's rules; [`is_oci_name`] / [`RepoName::is_oci_compliant`] check the stricter
//! OCI grammar separately.

use std::fmt;
use std::str::FromStr;

use crate::digest::{Digest, DigestError};

/// Quay's default `LIBRARY_NAMESPACE`.
pub const DEFAULT_LIBRARY_NAMESPACE: &str = "library";
/// Minimum namespace length.
pub const NAMESPACE_MIN_LEN: usize = 2;
/// Maximum namespace length.
pub const NAMESPACE_MAX_LEN: usize = 255;
/// Maximum repository (part after the namespace) length.
pub const REPOSITORY_MAX_LEN: usize = 255;
/// Maximum tag length.
pub const TAG_MAX_LEN: usize = 128;

/// Quay's user-facing error text for invalid tags.
pub const TAG_ERROR_MESSAGE: &str = "Invalid tag: must match [A-Za-z0-9_.-], NOT start with \".\" or \"-\", and can contain 1-128 characters";

/// How repository names are interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRules {
    /// `FEATURE_EXTENDED_REPOSITORY_NAMES`: the repository part may contain `/`.
    pub extended: bool,
    /// `Some(ns)` when `FEATURE_LIBRARY_SUPPORT` is on: a single-segment name
    /// `foo` means `ns/foo`. `None`: a namespace must always be given.
    pub library_namespace: Option<String>,
}

impl Default for NameRules {
    /// Quay's defaults: extended names on, library support on with `library`.
    fn default() -> Self {
        NameRules {
            extended: true,
            library_namespace: Some(DEFAULT_LIBRARY_NAMESPACE.to_owned()),
        }
    }
}

/// Why a repository name was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty name.
    #[error("repository name is empty")]
    Empty,
    /// Single segment given and library support is off (Quay answers
    /// `400 {"error": "A namespace must be specified explicitly"}`).
    #[error("A namespace must be specified explicitly")]
    NamespaceRequired,
    /// Namespace fails the character rules.
    #[error("Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$: {0}")]
    InvalidNamespace(String),
    /// Namespace shorter than 2 or longer than 255.
    #[error("Namespace must be between 2 and 255 characters in length")]
    NamespaceLength(String),
    /// Repository part fails the character rules.
    #[error("Invalid repository name: {0}")]
    InvalidRepository(String),
    /// Repository part is longer than 255 characters.
    #[error("Invalid repository name: {0}")]
    RepositoryTooLong(String),
    /// `/` inside the repository part while extended names are off.
    #[error("Nested repositories are not supported. Found: {0}")]
    NestedNotSupported(String),
}

/// A repository name split into namespace and repository (which may contain `/`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName {
    /// User or organization name.
    pub namespace: String,
    /// Repository name inside the namespace; may contain `/` with extended names.
    pub repository: String,
}

impl RepoName {
    /// Parses `ns/repo[/more]` requiring an explicit namespace (no library mapping).
    pub fn parse(s: &str, extended: bool) -> Result<RepoName, NameError> {
        RepoName::parse_with(
            s,
            &NameRules {
                extended,
                library_namespace: None,
            },
        )
    }

    /// Parses a name under the given rules (library namespace mapping included).
    pub fn parse_with(s: &str, rules: &NameRules) -> Result<RepoName, NameError> {
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        let (namespace, repository) = match s.split_once('/') {
            Some((ns, repo)) => (ns, repo),
            None => match &rules.library_namespace {
                Some(lib) => (lib.as_str(), s),
                None => return Err(NameError::NamespaceRequired),
            },
        };
        validate_namespace(namespace)?;
        validate_repository(repository, rules.extended)?;
        Ok(RepoName {
            namespace: namespace.to_owned(),
            repository: repository.to_owned(),
        })
    }

    /// `namespace/repository`.
    pub fn full(&self) -> String {
        format!("{}/{}", self.namespace, self.repository)
    }

    /// Whether the full name also satisfies the OCI distribution-spec grammar.
    pub fn is_oci_compliant(&self) -> bool {
        is_oci_name(&self.full())
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.repository)
    }
}

/// Validates a namespace (user/org/robot short name) per Quay.
pub fn validate_namespace(ns: &str) -> Result<(), NameError> {
    if !is_separated_components(ns, |b| matches!(b, b'.' | b'_' | b'-')) {
        return Err(NameError::InvalidNamespace(ns.to_owned()));
    }
    if ns.len() < NAMESPACE_MIN_LEN || ns.len() > NAMESPACE_MAX_LEN {
        return Err(NameError::NamespaceLength(ns.to_owned()));
    }
    Ok(())
}

/// Validates the repository part (after the namespace) per Quay.
pub fn validate_repository(repo: &str, extended: bool) -> Result<(), NameError> {
    if repo.contains('/') && !extended {
        return Err(NameError::NestedNotSupported(repo.to_owned()));
    }
    if repo.len() > REPOSITORY_MAX_LEN {
        return Err(NameError::RepositoryTooLong(repo.to_owned()));
    }
    // Each `/`-separated segment: [a-z0-9][.a-z0-9_-]*
    let ok = !repo.is_empty()
        && repo.split('/').all(|seg| {
            let mut bytes = seg.bytes();
            match bytes.next() {
                Some(first) if is_lower_alnum(first) => {
                    bytes.all(|b| is_lower_alnum(b) || matches!(b, b'.' | b'_' | b'-'))
                }
                _ => false,
            }
        });
    if !ok {
        return Err(NameError::InvalidRepository(repo.to_owned()));
    }
    Ok(())
}

/// The OCI distribution-spec repository name grammar:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
pub fn is_oci_name(name: &str) -> bool {
    !name.is_empty() && name.split('/').all(is_oci_path_component)
}

fn is_oci_path_component(c: &str) -> bool {
    // [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
    let b = c.as_bytes();
    let mut i = 0;
    let alnum_run = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && is_lower_alnum(b[*i]) {
            *i += 1;
        }
        *i > start
    };
    if !alnum_run(&mut i) {
        return false;
    }
    while i < b.len() {
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if !alnum_run(&mut i) {
            return false;
        }
    }
    true
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[a-z0-9]+(SEP[a-z0-9]+)*` where SEP is one byte accepted by `is_sep`.
fn is_separated_components(s: &str, is_sep: impl Fn(u8) -> bool) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    let mut prev_sep = true; // treat start as after a separator: must begin with alnum
    for &c in b {
        if is_lower_alnum(c) {
            prev_sep = false;
        } else if is_sep(c) && !prev_sep {
            prev_sep = true;
        } else {
            return false;
        }
    }
    !prev_sep
}

/// A validated tag name: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

/// Invalid tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid tag: must match [A-Za-z0-9_.-], NOT start with \".\" or \"-\", and can contain 1-128 characters")]
pub struct TagError(pub String);

impl Tag {
    /// Validates a tag name.
    pub fn parse(s: &str) -> Result<Tag, TagError> {
        let mut bytes = s.bytes();
        let ok = match bytes.next() {
            Some(first) if first.is_ascii_alphanumeric() || first == b'_' => {
                s.len() <= TAG_MAX_LEN
                    && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
            }
            _ => false,
        };
        if ok {
            Ok(Tag(s.to_owned()))
        } else {
            Err(TagError(s.to_owned()))
        }
    }

    /// The tag string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Tag {
    type Err = TagError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tag::parse(s)
    }
}

/// A manifest reference in a URL: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    /// `/manifests/<tag>`.
    Tag(Tag),
    /// `/manifests/<digest>`.
    Digest(Digest),
}

/// Invalid manifest reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// Contains `:` but is not a valid digest.
    #[error("invalid digest reference: {0}")]
    Digest(#[from] DigestError),
    /// Not a valid tag.
    #[error(transparent)]
    Tag(#[from] TagError),
}

impl Reference {
    /// A reference containing `:` is a digest (tags cannot contain `:`), otherwise a tag.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        if s.contains(':') {
            Ok(Reference::Digest(Digest::parse(s)?))
        } else {
            Ok(Reference::Tag(Tag::parse(s)?))
        }
    }

    /// The tag, if this is a tag reference.
    pub fn as_tag(&self) -> Option<&Tag> {
        match self {
            Reference::Tag(t) => Some(t),
            Reference::Digest(_) => None,
        }
    }

    /// The digest, if this is a digest reference.
    pub fn as_digest(&self) -> Option<&Digest> {
        match self {
            Reference::Digest(d) => Some(d),
            Reference::Tag(_) => None,
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(t) => t.fmt(f),
            Reference::Digest(d) => d.fmt(f),
        }
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lib_rules(extended: bool) -> NameRules {
        NameRules {
            extended,
            library_namespace: Some("library".into()),
        }
    }

    #[test]
    fn parse_simple_and_nested() {
        let n = RepoName::parse("acme/app", false).expect("valid");
        assert_eq!(n.namespace, "acme");
        assert_eq!(n.repository, "app");
        assert_eq!(n.full(), "acme/app");
        assert_eq!(n.to_string(), "acme/app");

        let n = RepoName::parse("acme/team/sub/app", true).expect("valid");
        assert_eq!(n.namespace, "acme");
        assert_eq!(n.repository, "team/sub/app");
    }

    #[test]
    fn nested_rejected_without_extended() {
        assert_eq!(
            RepoName::parse("acme/team/app", false),
            Err(NameError::NestedNotSupported("team/app".into()))
        );
        assert_eq!(
            RepoName::parse("acme/team/app", false)
                .expect_err("error expected")
                .to_string(),
            "Nested repositories are not supported. Found: team/app"
        );
    }

    #[test]
    fn library_namespace_mapping() {
        let n = RepoName::parse_with("ubuntu", &lib_rules(true)).expect("valid");
        assert_eq!(n.namespace, "library");
        assert_eq!(n.repository, "ubuntu");
        let custom = NameRules {
            extended: true,
            library_namespace: Some("base".into()),
        };
        assert_eq!(
            RepoName::parse_with("ubuntu", &custom)
                .expect("valid")
                .namespace,
            "base"
        );
        assert_eq!(
            RepoName::parse("ubuntu", true),
            Err(NameError::NamespaceRequired)
        );
        assert_eq!(
            NameError::NamespaceRequired.to_string(),
            "A namespace must be specified explicitly"
        );
        assert_eq!(NameRules::default(), lib_rules(true));
    }

    #[test]
    fn name_errors() {
        let cases: &[(&str, bool, NameError)] = &[
            ("", true, NameError::Empty),
            ("Acme/app", true, NameError::InvalidNamespace("Acme".into())),
            ("a/app", true, NameError::NamespaceLength("a".into())),
            (
                "-acme/app",
                true,
                NameError::InvalidNamespace("-acme".into()),
            ),
            (
                "acme-/app",
                true,
                NameError::InvalidNamespace("acme-".into()),
            ),
            (
                "ac..me/app",
                true,
                NameError::InvalidNamespace("ac..me".into()),
            ),
            ("/app", true, NameError::InvalidNamespace(String::new())),
            ("acme/", true, NameError::InvalidRepository(String::new())),
            ("acme/App", true, NameError::InvalidRepository("App".into())),
            (
                "acme/.app",
                true,
                NameError::InvalidRepository(".app".into()),
            ),
            (
                "acme/_app",
                true,
                NameError::InvalidRepository("_app".into()),
            ),
            (
                "acme/a//b",
                true,
                NameError::InvalidRepository("a//b".into()),
            ),
            ("acme/a/", true, NameError::InvalidRepository("a/".into())),
            ("acme/a b", true, NameError::InvalidRepository("a b".into())),
            ("acme/é", true, NameError::InvalidRepository("é".into())),
        ];
        for (input, ext, expected) in cases {
            assert_eq!(
                &RepoName::parse(input, *ext).expect_err("error expected"),
                expected,
                "input {input:?}"
            );
        }
    }

    #[test]
    fn length_limits() {
        let ns255 = "a".repeat(255);
        assert!(RepoName::parse(&format!("{ns255}/x"), true).is_ok());
        let ns256 = "a".repeat(256);
        assert_eq!(
            RepoName::parse(&format!("{ns256}/x"), true),
            Err(NameError::NamespaceLength(ns256.clone()))
        );
        let r255 = "b".repeat(255);
        assert!(RepoName::parse(&format!("ns/{r255}"), false).is_ok());
        let r256 = "b".repeat(256);
        assert_eq!(
            RepoName::parse(&format!("ns/{r256}"), false),
            Err(NameError::RepositoryTooLong(r256.clone()))
        );
        // extended: the whole repository part (with slashes) counts.
        let nested = format!("{}/{}", "c".repeat(200), "d".repeat(55)); // 256
        assert_eq!(
            RepoName::parse(&format!("ns/{nested}"), true),
            Err(NameError::RepositoryTooLong(nested.clone()))
        );
    }

    #[test]
    fn quay_allows_names_oci_does_not() {
        let n = RepoName::parse("acme/app-", true).expect("quay accepts trailing dash");
        assert!(!n.is_oci_compliant());
        let n = RepoName::parse("acme/a..b", true).expect("quay accepts double dot");
        assert!(!n.is_oci_compliant());
        let n = RepoName::parse("acme/a_b.c--d__e", true).expect("valid");
        assert!(n.is_oci_compliant());
    }

    #[test]
    fn oci_grammar() {
        for ok in ["a", "a/b", "a.b", "a_b", "a__b", "a---b", "a0/b-c/d.e", "0"] {
            assert!(is_oci_name(ok), "{ok}");
        }
        for bad in [
            "", "A", "a/", "/a", "a//b", "a___b", "a.", ".a", "a..b", "a-", "-a", "a_-b", "a b",
            "a_.b",
        ] {
            assert!(!is_oci_name(bad), "{bad}");
        }
    }

    #[test]
    fn tags() {
        for ok in ["latest", "v1.0.0", "_x", "A-b_c.d", "0"] {
            assert_eq!(Tag::parse(ok).expect(ok).as_str(), ok);
        }
        let max = "a".repeat(128);
        assert!(Tag::parse(&max).is_ok());
        for bad in ["", ".x", "-x", "a:b", "a/b", "a b", "é", &"a".repeat(129)] {
            assert_eq!(Tag::parse(bad), Err(TagError(bad.to_owned())), "{bad}");
        }
        assert_eq!(TagError("x".into()).to_string(), TAG_ERROR_MESSAGE);
        let t: Tag = "v2".parse().expect("valid");
        assert_eq!(t.to_string(), "v2");
    }

    #[test]
    fn references() {
        let r = Reference::parse("latest").expect("tag");
        assert_eq!(r.as_tag().map(Tag::as_str), Some("latest"));
        assert!(r.as_digest().is_none());
        let d = Digest::sha256_of(b"");
        let r: Reference = d.to_string().parse().expect("digest");
        assert_eq!(r.as_digest(), Some(&d));
        assert!(r.as_tag().is_none());
        assert_eq!(r.to_string(), d.to_string());
        assert!(matches!(
            Reference::parse("sha256:xyz"),
            Err(ReferenceError::Digest(DigestError::InvalidLength { .. }))
        ));
        assert!(matches!(
            Reference::parse(".bad"),
            Err(ReferenceError::Tag(_))
        ));
    }
}
