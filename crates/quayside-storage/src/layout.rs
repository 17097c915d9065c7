//! Where things live inside one storage location. This is Quay's layout, so that
//! Quay and quayside can share a bucket or a directory:
//!
//! ```text
//! <storage_path>/
//! ├── sha256/
//! │   └── ab/
//! │       └── ab12…ef          one object per blob, named by its full hex digest
//! ├── sharedimages/<uuid>/layer   legacy (pre-CAS) Quay blobs; read-only for us
//! ├── uploads/
//! │   ├── <uuid>               an upload in progress; renamed into sha256/ once verified
//! │   └── <uuid>.<random>      one chunk of an upload on an object store (assembled at the end)
//! └── _verify                  health probe object ("testing 123")
//! ```
//!
//! Content addressing means two repositories that push the same layer share
//! one object: deleting an object is only allowed when no metadata row still
//! names its digest (the garbage collector owns that rule).

/// The health probe object written by every storage validation.
pub const VERIFY_PATH: &str = "_verify";
/// What the health probe writes.
pub const VERIFY_CONTENTS: &[u8] = b"testing 123";
/// Prefix of in-progress uploads.
pub const UPLOADS_PREFIX: &str = "uploads/";

/// Object path of a content-addressed blob, from its hex sha256.
///
/// Returns `None` unless `hex` is exactly 64 lowercase hex characters, so a
/// path can never be steered outside `sha256/` by a crafted digest.
pub fn blob_path(hex: &str) -> Option<String> {
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    Some(format!("sha256/{}/{}", &hex[..2], hex))
}

/// Object path of a blob given a `sha256:<hex>` digest string.
pub fn blob_path_for_digest(digest: &str) -> Option<String> {
    digest.strip_prefix("sha256:").and_then(blob_path)
}

/// Object path of an upload in progress.
pub fn upload_path(id: &uuid::Uuid) -> String {
    format!("{UPLOADS_PREFIX}{}", id.hyphenated())
}

/// Object path of a new part of an upload kept in parts (a driver that cannot append): the
/// upload's path, a dot, and a random suffix, so two writers of the same chunk never share
/// an object.
pub fn upload_part_path(id: &uuid::Uuid) -> String {
    format!(
        "{}{}",
        upload_part_prefix(id),
        uuid::Uuid::new_v4().simple()
    )
}

/// The prefix every part of an upload starts with (`uploads/<uuid>.`).
pub fn upload_part_prefix(id: &uuid::Uuid) -> String {
    format!("{}.", upload_path(id))
}

/// Object path of a legacy, non-content-addressed Quay blob (`cas_path = false`).
pub fn legacy_blob_path(storage_uuid: &uuid::Uuid) -> String {
    format!("sharedimages/{}/layer", storage_uuid.hyphenated())
}

/// Where an `imagestorage` row's bytes are: Quay's content address for a `cas_path` blob
/// (from its `sha256:` checksum), `sharedimages/<uuid>/layer` otherwise. `None` when the row
/// cannot name an object (a CAS row without a sha256 checksum, a legacy row without a uuid).
pub fn stored_blob_path(cas_path: bool, checksum: Option<&str>, uuid: &str) -> Option<String> {
    if cas_path {
        blob_path_for_digest(checksum?)
    } else {
        uuid::Uuid::parse_str(uuid)
            .ok()
            .map(|id| legacy_blob_path(&id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_blob_paths_follow_cas_path() {
        let hex = "ab".repeat(32);
        let digest = format!("sha256:{hex}");
        assert_eq!(
            stored_blob_path(true, Some(&digest), "ignored"),
            blob_path(&hex)
        );
        assert_eq!(stored_blob_path(true, None, "x"), None);
        let id = "0b2f5c1e-8d3a-4e59-9a6b-1c2d3e4f5a6b";
        assert_eq!(
            stored_blob_path(false, Some(&digest), id).as_deref(),
            Some("sharedimages/0b2f5c1e-8d3a-4e59-9a6b-1c2d3e4f5a6b/layer")
        );
        assert_eq!(stored_blob_path(false, None, "not-a-uuid"), None);
    }

    #[test]
    fn blob_paths_follow_quay() {
        let hex = "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
        assert_eq!(
            blob_path(hex).as_deref(),
            Some("sha256/a3/a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4")
        );
        assert_eq!(
            blob_path_for_digest(&format!("sha256:{hex}")),
            blob_path(hex)
        );
    }

    #[test]
    fn crafted_digests_get_no_path() {
        assert_eq!(blob_path("../../etc/passwd"), None);
        assert_eq!(blob_path(&"A".repeat(64)), None);
        assert_eq!(blob_path(&"a".repeat(63)), None);
        assert_eq!(
            blob_path_for_digest(&format!("sha512:{}", "a".repeat(64))),
            None
        );
        assert_eq!(blob_path_for_digest(&"a".repeat(64)), None);
    }

    #[test]
    fn uploads_and_legacy_paths() {
        let id = uuid::Uuid::nil();
        assert_eq!(
            upload_path(&id),
            "uploads/00000000-0000-0000-0000-000000000000"
        );
        assert_eq!(
            legacy_blob_path(&id),
            "sharedimages/00000000-0000-0000-0000-000000000000/layer"
        );
    }
}
