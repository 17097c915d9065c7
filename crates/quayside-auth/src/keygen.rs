//! `quayside keys generate`: the key pair Quay's `tools/generatekeypair.py` makes for
//! read-only registries and pre-shared keys — `<name>.jwk` (public JWK JSON with its
//! `kid`), `<name>.kid` (the RFC 7638 thumbprint) and `<name>.pem` (PKCS#1 private key,
//! mode 0600).

use std::path::{Path, PathBuf};

use crate::keys::{generate_key_material, write_secret_file, KeyMaterial};
use crate::AuthError;

/// What [`generate_key_pair`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedKeyPair {
    /// The key id written to `<name>.kid`.
    pub kid: String,
    pub jwk_path: PathBuf,
    pub kid_path: PathBuf,
    pub pem_path: PathBuf,
}

/// The three files for `name` (a file-name prefix, as Quay's tool takes it) in `dir`
/// (the current directory when `None`).
pub fn key_pair_paths(dir: Option<&Path>, name: &str) -> [PathBuf; 3] {
    let base = match dir {
        Some(d) => d.join(name),
        None => PathBuf::from(name),
    };
    let with = |ext: &str| {
        let mut s = base.clone().into_os_string();
        s.push(".");
        s.push(ext);
        PathBuf::from(s)
    };
    [with("jwk"), with("kid"), with("pem")]
}

/// Generates an RSA 2048 key pair and writes `<name>.jwk`, `<name>.kid` and `<name>.pem`,
/// calling `say` with Quay's line before each file. Existing files are only replaced
/// with `overwrite` (a replaced `.pem` whose kid is in the database would be lost).
pub fn generate_key_pair(
    dir: Option<&Path>,
    name: &str,
    overwrite: bool,
    mut say: impl FnMut(&str),
) -> Result<GeneratedKeyPair, AuthError> {
    if name.is_empty() || name.ends_with('/') {
        return Err(AuthError::BadRequest(format!(
            "key name {name:?} must be a file name prefix such as quay-readonly"
        )));
    }
    let [jwk_path, kid_path, pem_path] = key_pair_paths(dir, name);
    if !overwrite {
        if let Some(existing) = [&jwk_path, &kid_path, &pem_path]
            .into_iter()
            .find(|p| p.exists())
        {
            return Err(AuthError::BadRequest(format!(
                "{} already exists; choose another name or pass --force to replace it",
                existing.display()
            )));
        }
    }
    let KeyMaterial { kid, jwk, pem } = generate_key_material()?;
    say(&format!("Writing public key to {}", jwk_path.display()));
    write_public_file(&jwk_path, jwk.as_bytes())?;
    say(&format!("Writing key ID to {}", kid_path.display()));
    write_public_file(&kid_path, kid.as_bytes())?;
    say(&format!("Writing private key to {}", pem_path.display()));
    write_secret_file(&pem_path, pem.as_bytes())?;
    Ok(GeneratedKeyPair {
        kid,
        jwk_path,
        kid_path,
        pem_path,
    })
}

fn write_public_file(path: &Path, contents: &[u8]) -> Result<(), AuthError> {
    std::fs::write(path, contents)
        .map_err(|e| AuthError::Key(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1::DecodeRsaPrivateKey;

    #[test]
    fn writes_jwk_kid_and_private_pem_like_generatekeypair() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut lines = Vec::new();
        let out = generate_key_pair(Some(dir.path()), "quay-readonly", false, |l| {
            lines.push(l.to_owned())
        })
        .expect("generate");
        let p = |ext: &str| dir.path().join(format!("quay-readonly.{ext}"));
        assert_eq!(
            lines,
            [
                format!("Writing public key to {}", p("jwk").display()),
                format!("Writing key ID to {}", p("kid").display()),
                format!("Writing private key to {}", p("pem").display()),
            ]
        );
        let kid = std::fs::read_to_string(p("kid")).expect("kid");
        assert_eq!(kid, out.kid);
        let jwk: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p("jwk")).expect("jwk")).expect("json");
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["kid"], kid.as_str());
        let (e, n) = (jwk["e"].as_str().expect("e"), jwk["n"].as_str().expect("n"));
        assert_eq!(crate::jwk_thumbprint(e, n), kid);
        let pem = std::fs::read_to_string(p("pem")).expect("pem");
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"), "{pem}");
        let key = rsa::RsaPrivateKey::from_pkcs1_pem(&pem).expect("PKCS#1");
        let (_, _, thumb) = crate::keys::public_jwk(&key);
        assert_eq!(thumb, kid, "the PEM is the private half of the JWK");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(p("pem"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A second run refuses to replace the key unless asked to.
        let err = generate_key_pair(Some(dir.path()), "quay-readonly", false, |_| {})
            .expect_err("existing files are kept");
        assert!(err.to_string().contains("already exists"), "{err}");
        let again =
            generate_key_pair(Some(dir.path()), "quay-readonly", true, |_| {}).expect("overwrite");
        assert_ne!(again.kid, kid);
    }
}
