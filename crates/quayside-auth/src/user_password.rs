//! Quay's "encrypted CLI passwords" (`encrypted_password` in API answers), keyed by
//! `SECRET_KEY`.
//!
//! Facts (Quay `data/users/__init__.py` `encrypt_user_password` / `_decrypt_user_password`,
//! `util/security/aes.py`, `util/security/secret.py`):
//! * key: `SECRET_KEY` through the same `convert_secret_key` as `DATABASE_SECRET_KEY`
//!   (decimal integer → its bytes, else UUID → 16 bytes, else the characters as bytes;
//!   cycled to 32 bytes), used as an AES-256 key;
//! * plaintext: Python's `json.dumps({"password": password})`, i.e.
//!   `{"password": "<escaped>"}` with `ensure_ascii` escaping, UTF-8 encoded;
//! * cipher: PKCS#7 padding to 16 bytes, AES-256-CBC with a random 16-byte IV;
//! * value: standard base64 of `IV ‖ ciphertext` (with `=` padding);
//! * decryption failure of any kind means "this is not an encrypted password" (the
//!   caller then treats the string as a plain password). A decrypted JSON object without
//!   a `password` key yields the encrypted string itself, as Quay's `data.get("password",
//!   encrypted)` does. Values Quay would crash on (a JSON value that is not an object, a
//!   non-string `password`) count as "not encrypted" here.

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use aes::Aes256;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::Engine;
use rand::RngCore;

use crate::secret::{convert_secret_key, SecretKeyError};

const BLOCK: usize = 16;

/// Python's `b64decode` (non-strict) tolerates non-zero trailing bits.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// Why `SECRET_KEY` cannot be used as the encrypted-password key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserPasswordKeyError {
    #[error("SECRET_KEY is empty")]
    Empty,
    #[error("SECRET_KEY contains a character outside Latin-1, which Quay cannot use either")]
    NotLatin1,
}

/// Encrypts and decrypts Quay's encrypted CLI passwords.
#[derive(Clone)]
pub struct UserPasswordCipher {
    cipher: Aes256,
}

impl std::fmt::Debug for UserPasswordCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserPasswordCipher(..)")
    }
}

impl UserPasswordCipher {
    /// From the configured `SECRET_KEY` string.
    pub fn new(secret_key: &str) -> Result<UserPasswordCipher, UserPasswordKeyError> {
        let key = convert_secret_key(secret_key).map_err(|e| match e {
            SecretKeyError::Empty => UserPasswordKeyError::Empty,
            SecretKeyError::NotLatin1 => UserPasswordKeyError::NotLatin1,
        })?;
        Ok(UserPasswordCipher::from_key(&key))
    }

    /// A random key for this process only (no `SECRET_KEY` configured): encrypted
    /// passwords handed out then stop working at the next restart.
    pub fn random() -> UserPasswordCipher {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        UserPasswordCipher::from_key(&key)
    }

    /// From an already derived 32-byte key.
    pub fn from_key(key: &[u8; 32]) -> UserPasswordCipher {
        UserPasswordCipher {
            cipher: Aes256::new(GenericArray::from_slice(key)),
        }
    }

    /// Quay's `encrypt_user_password` with a fresh random IV.
    pub fn encrypt(&self, password: &str) -> String {
        let mut iv = [0u8; BLOCK];
        rand::rng().fill_bytes(&mut iv);
        self.encrypt_with_iv(password, &iv)
    }

    /// Quay's `encrypt_user_password` with the given IV (deterministic; for test vectors).
    pub fn encrypt_with_iv(&self, password: &str, iv: &[u8; BLOCK]) -> String {
        let mut data = plaintext(password).into_bytes();
        let pad = BLOCK - data.len() % BLOCK;
        // pad is 1..=16, so the cast cannot truncate.
        data.extend(std::iter::repeat_n(pad as u8, pad));
        let mut out = Vec::with_capacity(BLOCK + data.len());
        out.extend_from_slice(iv);
        let mut prev = *iv;
        for chunk in data.chunks_exact(BLOCK) {
            let mut block = GenericArray::clone_from_slice(chunk);
            for (b, p) in block.iter_mut().zip(prev.iter()) {
                *b ^= p;
            }
            self.cipher.encrypt_block(&mut block);
            prev.copy_from_slice(&block);
            out.extend_from_slice(&block);
        }
        STANDARD.encode(out)
    }

    /// Quay's `_decrypt_user_password`: the password inside `encrypted`, or None when
    /// `encrypted` is not an encrypted password made with this key.
    pub fn decrypt(&self, encrypted: &str) -> Option<String> {
        // Python's non-strict b64decode skips characters outside the alphabet.
        let cleaned: String = encrypted
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
            .collect();
        let blob = LENIENT_B64.decode(cleaned.as_bytes()).ok()?;
        if blob.len() < 2 * BLOCK || blob.len() % BLOCK != 0 {
            return None;
        }
        let (iv, body) = blob.split_at(BLOCK);
        let mut prev: [u8; BLOCK] = iv.try_into().ok()?;
        let mut plain = Vec::with_capacity(body.len());
        for chunk in body.chunks_exact(BLOCK) {
            let mut block = GenericArray::clone_from_slice(chunk);
            self.cipher.decrypt_block(&mut block);
            for (b, p) in block.iter_mut().zip(prev.iter()) {
                *b ^= p;
            }
            prev.copy_from_slice(chunk);
            plain.extend_from_slice(&block);
        }
        let pad = usize::from(*plain.last()?);
        if pad == 0 || pad > BLOCK || plain[plain.len() - pad..].iter().any(|&b| b != pad as u8) {
            return None;
        }
        plain.truncate(plain.len() - pad);
        let text = String::from_utf8(plain).ok()?;
        match serde_json::from_str::<serde_json::Value>(&text).ok()? {
            serde_json::Value::Object(map) => match map.get("password") {
                Some(serde_json::Value::String(p)) => Some(p.clone()),
                Some(_) => None,
                None => Some(encrypted.to_owned()),
            },
            _ => None,
        }
    }
}

/// `json.dumps({"password": password})` exactly as Python writes it.
fn plaintext(password: &str) -> String {
    let mut out = String::with_capacity(password.len() + 16);
    out.push_str("{\"password\": ");
    quayside_oci::pyjson::write_str(&mut out, password);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors made with Python's `cryptography` (the library Quay uses) following Quay's
    /// `encrypt_user_password` step by step, with IV = 00 01 02 … 0f.
    const IV: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    const VECTORS: &[(&str, &str, &str)] = &[
        (
            "a-quay-secret-key",
            "quaypass123",
            "AAECAwQFBgcICQoLDA0OD6y+J5uOhmjZ4ehZqdVmF3nwRrUeonCGAcO+pwv5MsPg",
        ),
        (
            // A UUID key; a password that needs ensure_ascii escaping.
            "3c2b2b3f-4b1a-4d5e-9f00-123456789abc",
            "p\u{e4}ssw\u{f6}rd\u{1F600}\"\\/\t",
            "AAECAwQFBgcICQoLDA0ODyMmclCvnRyQzstuFaLkwV55+Rd/enWfhLZZ2CFOv4284GjyugezWpYfPryZuOrm6io5AsATT9kcN3DXi0tIm14=",
        ),
    ];

    #[test]
    fn python_json_plaintext() {
        assert_eq!(plaintext("quaypass123"), r#"{"password": "quaypass123"}"#);
        assert_eq!(
            plaintext("p\u{e4}\u{1F600}\"\\/\t\u{7f}"),
            r#"{"password": "p\u00e4\ud83d\ude00\"\\/\t\u007f"}"#
        );
    }

    #[test]
    fn quay_vectors() {
        for (key, password, expected) in VECTORS {
            let c = UserPasswordCipher::new(key).expect("key");
            assert_eq!(&c.encrypt_with_iv(password, &IV), expected, "{key}");
            assert_eq!(c.decrypt(expected).as_deref(), Some(*password), "{key}");
        }
    }

    #[test]
    fn random_iv_roundtrip_and_rejections() {
        let c = UserPasswordCipher::new("some secret").expect("key");
        let a = c.encrypt("hunter2hunter2");
        let b = c.encrypt("hunter2hunter2");
        assert_ne!(a, b, "fresh IV each time");
        assert_eq!(c.decrypt(&a).as_deref(), Some("hunter2hunter2"));
        let other = UserPasswordCipher::new("another secret").expect("key");
        assert_eq!(other.decrypt(&a), None);
        for plain in [
            "quaypass123",
            "",
            "AAAAAAAAAAAAAAAAAAAAAA==",
            "not base64 at all!",
        ] {
            assert_eq!(c.decrypt(plain), None, "{plain}");
        }
        assert_eq!(
            UserPasswordCipher::new("").map(|_| ()),
            Err(UserPasswordKeyError::Empty)
        );
    }
}
