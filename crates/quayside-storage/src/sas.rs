//! Read-only Azure Blob service SAS for one blob, signed with the account key: what Quay's
//! `AzureStorage` hands clients as a direct-download URL (`generate_blob_sas` with permission
//! `r` and an expiry). Signing is local; the URL carries the signature, never the key.

use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;

/// The service version the signature follows (its string-to-sign layout).
const SIGNED_VERSION: &str = "2020-12-06";

/// Everything but unreserved characters is escaped in a query value.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Path segments keep `/` between them.
const BLOB_PATH: &AsciiSet = &QUERY_VALUE.remove(b'/');

/// Signs read URLs for the blobs of one container.
#[derive(Clone)]
pub(crate) struct AzureSigner {
    endpoint: String,
    account: String,
    container: String,
    /// The decoded account key.
    key: Vec<u8>,
    /// The object prefix (`storage_path` without its leading `/`, with a trailing one), or "".
    prefix: String,
}

impl std::fmt::Debug for AzureSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureSigner")
            .field("endpoint", &self.endpoint)
            .field("account", &self.account)
            .field("container", &self.container)
            .finish_non_exhaustive()
    }
}

impl AzureSigner {
    /// `None` when `key` is not base64 (the store refuses such a key anyway).
    pub(crate) fn new(
        endpoint: &str,
        account: &str,
        container: &str,
        key: &str,
        storage_path: &str,
    ) -> Option<AzureSigner> {
        let key = base64::engine::general_purpose::STANDARD.decode(key).ok()?;
        let trimmed = storage_path.trim_matches('/');
        Some(AzureSigner {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            account: account.to_string(),
            container: container.to_string(),
            key,
            prefix: if trimmed.is_empty() {
                String::new()
            } else {
                format!("{trimmed}/")
            },
        })
    }

    /// A URL that reads the object at layout path `path` until `now + expires`.
    pub(crate) fn read_url(&self, path: &str, expires: Duration, now: DateTime<Utc>) -> String {
        let blob = format!("{}{}", self.prefix, path.trim_start_matches('/'));
        let expiry = now
            + chrono::Duration::from_std(expires).unwrap_or_else(|_| chrono::Duration::seconds(60));
        let se = expiry.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let resource = format!("/blob/{}/{}/{}", self.account, self.container, blob);
        // sp, st, se, canonicalized resource, si, sip, spr, sv, sr, snapshot time, encryption
        // scope, rscc, rscd, rsce, rscl, rsct.
        let to_sign = [
            "r",
            "",
            &se,
            &resource,
            "",
            "",
            "",
            SIGNED_VERSION,
            "b",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ]
        .join("\n");
        let sig = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mut mac) => {
                mac.update(to_sign.as_bytes());
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            }
            // HMAC takes a key of any length; this arm cannot be reached.
            Err(_) => String::new(),
        };
        format!(
            "{}/{}/{}?sv={}&se={}&sr=b&sp=r&sig={}",
            self.endpoint,
            utf8_percent_encode(&self.container, BLOB_PATH),
            utf8_percent_encode(&blob, BLOB_PATH),
            SIGNED_VERSION,
            utf8_percent_encode(&se, QUERY_VALUE),
            utf8_percent_encode(&sig, QUERY_VALUE),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_quays_key_and_expire() {
        let signer = AzureSigner::new(
            "http://127.0.0.1:10000/devstoreaccount1/",
            "devstoreaccount1",
            "quay",
            "a2V5",
            "/datastorage/registry",
        )
        .expect("base64 key");
        let now = DateTime::parse_from_rfc3339("2026-12-07T01:02:03Z")
            .expect("time")
            .with_timezone(&Utc);
        let url = signer.read_url("sha256/ab/abcd", Duration::from_secs(60), now);
        assert!(
            url.starts_with(
                "http://127.0.0.1:10000/devstoreaccount1/quay/datastorage/registry/sha256/ab/abcd?"
            ),
            "{url}"
        );
        assert!(url.contains("&se=2026-12-07T01%3A03%3A03Z&"), "{url}");
        assert!(url.contains("sp=r") && url.contains("sr=b") && url.contains("sig="));
        assert!(AzureSigner::new("e", "a", "c", "not base64!", "/").is_none());
    }
}
