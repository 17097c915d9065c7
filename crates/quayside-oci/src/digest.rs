//! Content digests (`algorithm ":" encoded`).
//!
//! The OCI image-spec grammar is
//! `algorithm ::= component (separator component)*`, `component ::= [a-z0-9]+`,
//! `separator ::= [+._-]`, `encoded ::= [a-zA-Z0-9=_-]+`. Of the registered
//! algorithms only `sha256` (`[a-f0-9]{64}`) and `sha512` (`[a-f0-9]{128}`) are
//! accepted; any other syntactically valid algorithm is rejected with
//! [`DigestError::UnsupportedAlgorithm`], so callers can distinguish "garbage"
//! from "well-formed but unsupported".

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256, Sha512};

/// A supported digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// `sha256`, 64 lowercase hex characters.
    Sha256,
    /// `sha512`, 128 lowercase hex characters.
    Sha512,
}

impl Algorithm {
    /// The algorithm identifier as it appears before the `:`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Length of the hex-encoded value.
    pub const fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string is not an acceptable digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// No `:` separator.
    #[error("digest has no ':' separator")]
    MissingSeparator,
    /// The algorithm part violates the grammar (empty, bad characters, empty component).
    #[error("invalid digest algorithm {0:?}")]
    InvalidAlgorithm(String),
    /// Grammatically valid algorithm that quayside does not support.
    #[error("unsupported digest algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// The encoded part is empty or contains characters outside `[a-zA-Z0-9=_-]`.
    #[error("invalid digest encoding")]
    InvalidEncoding,
    /// Encoded part has the wrong length for the algorithm.
    #[error("digest {algorithm} must have {expected} hex characters, got {found}")]
    InvalidLength {
        /// Algorithm named by the digest.
        algorithm: Algorithm,
        /// Required length.
        expected: usize,
        /// Actual length.
        found: usize,
    },
    /// Encoded part is not lowercase hex (uppercase hex is rejected as the spec requires).
    #[error("digest value must be lowercase hex")]
    NotLowercaseHex,
}

/// A validated content digest, e.g. `sha256:<64 lowercase hex>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Parses and validates a digest string.
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        let (alg, encoded) = s.split_once(':').ok_or(DigestError::MissingSeparator)?;
        if !is_valid_algorithm_grammar(alg) {
            return Err(DigestError::InvalidAlgorithm(alg.to_owned()));
        }
        if encoded.is_empty()
            || !encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'=' || b == b'_' || b == b'-')
        {
            return Err(DigestError::InvalidEncoding);
        }
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            other => return Err(DigestError::UnsupportedAlgorithm(other.to_owned())),
        };
        if encoded.len() != algorithm.hex_len() {
            return Err(DigestError::InvalidLength {
                algorithm,
                expected: algorithm.hex_len(),
                found: encoded.len(),
            });
        }
        if !encoded
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(DigestError::NotLowercaseHex);
        }
        Ok(Digest {
            algorithm,
            hex: encoded.to_owned(),
        })
    }

    /// SHA-256 digest of `data`.
    pub fn sha256_of(data: &[u8]) -> Digest {
        Digest {
            algorithm: Algorithm::Sha256,
            hex: hex::encode(Sha256::digest(data)),
        }
    }

    /// SHA-512 digest of `data`.
    pub fn sha512_of(data: &[u8]) -> Digest {
        Digest {
            algorithm: Algorithm::Sha512,
            hex: hex::encode(Sha512::digest(data)),
        }
    }

    /// Digest of `data` with the same algorithm as `self` (for verifying content).
    pub fn same_algorithm_of(&self, data: &[u8]) -> Digest {
        match self.algorithm {
            Algorithm::Sha256 => Digest::sha256_of(data),
            Algorithm::Sha512 => Digest::sha512_of(data),
        }
    }

    /// True when `data` hashes to this digest.
    pub fn verifies(&self, data: &[u8]) -> bool {
        self.same_algorithm_of(data) == *self
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The lowercase hex value (without the algorithm prefix).
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

fn is_valid_algorithm_grammar(alg: &str) -> bool {
    // component (separator component)*; components are [a-z0-9]+.
    if alg.is_empty() {
        return false;
    }
    alg.split(['+', '.', '_', '-']).all(|component| {
        !component.is_empty()
            && component
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str =
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn sha256_of_empty_matches_known_value() {
        assert_eq!(Digest::sha256_of(b"").to_string(), EMPTY_SHA256);
    }

    #[test]
    fn sha256_of_known_value() {
        assert_eq!(
            Digest::sha256_of(b"{}").to_string(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }

    #[test]
    fn parse_roundtrip_sha256() {
        let d = Digest::parse(EMPTY_SHA256).expect("valid");
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert_eq!(d.hex().len(), 64);
        assert_eq!(d.to_string(), EMPTY_SHA256);
        assert!(d.verifies(b""));
        assert!(!d.verifies(b"x"));
    }

    #[test]
    fn parse_roundtrip_sha512() {
        let computed = Digest::sha512_of(b"abc");
        let s = computed.to_string();
        assert!(s.starts_with("sha512:"));
        assert_eq!(s.len(), 7 + 128);
        let parsed: Digest = s.parse().expect("valid");
        assert_eq!(parsed, computed);
        assert_eq!(parsed.algorithm(), Algorithm::Sha512);
        assert!(parsed.verifies(b"abc"));
        assert_eq!(parsed.same_algorithm_of(b"abc"), computed);
    }

    #[test]
    fn parse_errors() {
        let cases: &[(&str, DigestError)] = &[
            ("", DigestError::MissingSeparator),
            ("sha256", DigestError::MissingSeparator),
            (":abc", DigestError::InvalidAlgorithm(String::new())),
            ("SHA256:abc", DigestError::InvalidAlgorithm("SHA256".into())),
            (
                "sha256+:abc",
                DigestError::InvalidAlgorithm("sha256+".into()),
            ),
            (
                "+sha256:abc",
                DigestError::InvalidAlgorithm("+sha256".into()),
            ),
            (
                "sha 256:abc",
                DigestError::InvalidAlgorithm("sha 256".into()),
            ),
            ("sha256:", DigestError::InvalidEncoding),
            ("sha256:ab/cd", DigestError::InvalidEncoding),
            ("sha256:ab:cd", DigestError::InvalidEncoding),
            (
                "md5:d41d8cd98f00b204e9800998ecf8427e",
                DigestError::UnsupportedAlgorithm("md5".into()),
            ),
            (
                "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
                DigestError::UnsupportedAlgorithm("multihash+base58".into()),
            ),
            (
                "sha256:abc",
                DigestError::InvalidLength {
                    algorithm: Algorithm::Sha256,
                    expected: 64,
                    found: 3,
                },
            ),
            (
                "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                DigestError::InvalidLength {
                    algorithm: Algorithm::Sha512,
                    expected: 128,
                    found: 64,
                },
            ),
            (
                "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                DigestError::NotLowercaseHex,
            ),
            (
                "sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                DigestError::NotLowercaseHex,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                &Digest::parse(input).expect_err("error expected"),
                expected,
                "input {input:?}"
            );
        }
    }

    #[test]
    fn non_ascii_input_is_rejected_without_panic() {
        assert!(Digest::parse("sha256:é").is_err());
        assert!(Digest::parse("shä256:00").is_err());
        let long = format!("sha256:{}", "é".repeat(64));
        assert_eq!(Digest::parse(&long), Err(DigestError::InvalidEncoding));
    }

    #[test]
    fn serde_roundtrip_and_rejection() {
        let d = Digest::sha256_of(b"x");
        let json = serde_json::to_string(&d).expect("serialize");
        assert_eq!(json, format!("\"{d}\""));
        let back: Digest = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, d);
        assert!(serde_json::from_str::<Digest>("\"sha256:zz\"").is_err());
        assert!(serde_json::from_str::<Digest>("42").is_err());
    }

    #[test]
    fn error_messages_are_informative() {
        let e = Digest::parse("sha256:abc").expect_err("error expected");
        assert_eq!(
            e.to_string(),
            "digest sha256 must have 64 hex characters, got 3"
        );
    }
}
