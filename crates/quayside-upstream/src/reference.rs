//! Image references as container clients read them: `[host[:port]/]path[:tag][@digest]`.
//! The first component is a host when it has a `.` or a `:` or is `localhost`; otherwise the
//! reference is on Docker Hub (`docker.io`), where a one-component path is under `library/`.
//! Docker Hub's API lives at `registry-1.docker.io`.

use std::fmt;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    /// The registry as written (`docker.io` for Docker Hub).
    pub registry: String,
    /// The repository path (`library/nginx`, `openshift-release-dev/ocp-release`).
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<hex>`.
    pub digest: Option<String>,
}

/// Why a reference does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference '{reference}': {reason}")]
pub struct ReferenceError {
    pub reference: String,
    pub reason: &'static str,
}

fn valid_component(c: &str) -> bool {
    // Distribution's path-component grammar: lowercase alphanumerics joined by
    // separators (`.`, `_`, `__`, `-`…), starting and ending alphanumeric.
    !c.is_empty()
        && c.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
        && c.as_bytes()
            .first()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && c.as_bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric())
}

fn valid_tag(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && t.as_bytes()
            .first()
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

fn valid_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl ImageReference {
    /// Parses `s`. A reference with neither tag nor digest means `:latest`.
    pub fn parse(s: &str) -> Result<ImageReference, ReferenceError> {
        let err = |reason| ReferenceError {
            reference: s.to_owned(),
            reason,
        };
        let s = s.trim();
        let s = s.strip_prefix("docker://").unwrap_or(s);
        if s.is_empty() {
            return Err(err("empty"));
        }
        let (name, digest) = match s.split_once('@') {
            Some((n, d)) => {
                if !valid_digest(d) {
                    return Err(err("the digest must be sha256:<64 lowercase hex>"));
                }
                (n, Some(d.to_owned()))
            }
            None => (s, None),
        };
        // A tag follows the last ':' after the last '/' (a ':' before it is a port).
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[last_slash..].rfind(':') {
            Some(i) => {
                let t = &name[last_slash + i + 1..];
                if !valid_tag(t) {
                    return Err(err("invalid tag"));
                }
                (&name[..last_slash + i], Some(t.to_owned()))
            }
            None => (name, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), rest.to_owned())
            }
            _ => ("docker.io".to_owned(), name.to_owned()),
        };
        let path = if registry == "docker.io" && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        if !path.split('/').all(valid_component) {
            return Err(err("invalid repository path"));
        }
        let tag = if tag.is_none() && digest.is_none() {
            Some("latest".to_owned())
        } else {
            tag
        };
        Ok(ImageReference {
            registry,
            repository: path,
            tag,
            digest,
        })
    }

    /// The host to talk to: Docker Hub's API host for `docker.io`.
    pub fn api_host(&self) -> &str {
        if self.registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            &self.registry
        }
    }

    /// `registry/repository` (the source of a mirror mapping).
    pub fn repository_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The last path component (the default name of the mirrored repository).
    pub fn short_name(&self) -> &str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
    }

    /// What to fetch: the digest when there is one, else the tag.
    pub fn fetch_reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:5cfbaf45ca96806917830c183e9f37df2e913b187adb32e89fd83fa455ebaa6f";

    #[test]
    fn references_parse_as_clients_read_them() {
        let r = ImageReference::parse("nginx").expect("hub");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("docker.io", "library/nginx", Some("latest"))
        );
        assert_eq!(r.api_host(), "registry-1.docker.io");
        let r = ImageReference::parse("localhost:5000/a/b:v1").expect("port");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("localhost:5000", "a/b", Some("v1"))
        );
        let r = ImageReference::parse(&format!("registry.access.redhat.com/ubi8/ubi-minimal@{D}"))
            .expect("digest");
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.as_deref(), Some(D));
        assert_eq!(r.short_name(), "ubi-minimal");
        assert_eq!(r.fetch_reference(), D);
        let r = ImageReference::parse(&format!("quay.io/x/y:4.12@{D}")).expect("both");
        assert_eq!(r.tag.as_deref(), Some("4.12"));
        assert_eq!(r.to_string(), format!("quay.io/x/y:4.12@{D}"));
        for bad in [
            "",
            "quay.io/UPPER/x",
            "quay.io/x:",
            "quay.io/x@sha256:abc",
            "quay.io//x",
        ] {
            assert!(ImageReference::parse(bad).is_err(), "{bad:?}");
        }
    }
}
