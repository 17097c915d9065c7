//! Quay's encrypted database fields (`DATABASE_SECRET_KEY`).
//!
//! Facts (Quay `util/security/secret.py`, `data/encryption.py`):
//! * key derivation: the configured string is read as a decimal integer (its minimal
//!   big-endian bytes; a value whose hex form has an odd number of digits is rejected),
//!   else as a UUID (its 16 bytes), else as its characters taken one byte each (code
//!   points above 255 are an error); the bytes are then repeated until 32 long;
//! * format `v0$$` + base64(nonce[13] ‖ AES-256-CCM ciphertext ‖ 16-byte tag), no AAD.

use aes::Aes256;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ccm::aead::generic_array::GenericArray;
use ccm::aead::{Aead, KeyInit};
use ccm::consts::{U13, U16};
use ccm::Ccm;
use rand::RngCore;

type AesCcm = Ccm<Aes256, U16, U13>;

/// Nonce length Quay uses for AES-CCM.
pub const NONCE_LEN: usize = 13;
const SEPARATOR: &str = "$$";
const VERSION_V0: &str = "v0";

/// Why a stored value could not be decrypted (Quay's `DecryptionFailureException`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("Invalid encrypted value")]
    NoSeparator,
    #[error("Unknown version prefix {0}")]
    UnknownVersion(String),
    #[error("value could not be decrypted (wrong DATABASE_SECRET_KEY or corrupt value)")]
    Failed,
}

/// Why a `DATABASE_SECRET_KEY` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretKeyError {
    #[error("DATABASE_SECRET_KEY is empty")]
    Empty,
    #[error(
        "DATABASE_SECRET_KEY contains a character outside Latin-1, which Quay cannot use either"
    )]
    NotLatin1,
}

/// Quay's `convert_secret_key`: the 32-byte AES key derived from `DATABASE_SECRET_KEY`.
pub fn convert_secret_key(config_secret_key: &str) -> Result<[u8; 32], SecretKeyError> {
    let bytes = match python_int_bytes(config_secret_key) {
        Some(b) => b,
        None => match python_uuid_bytes(config_secret_key) {
            Some(b) => b.to_vec(),
            None => {
                let mut out = Vec::with_capacity(config_secret_key.len());
                for ch in config_secret_key.chars() {
                    let code = u32::from(ch);
                    let byte = u8::try_from(code).map_err(|_| SecretKeyError::NotLatin1)?;
                    out.push(byte);
                }
                out
            }
        },
    };
    if bytes.is_empty() {
        return Err(SecretKeyError::Empty);
    }
    let mut key = [0u8; 32];
    for (i, slot) in key.iter_mut().enumerate() {
        *slot = bytes[i % bytes.len()];
    }
    Ok(key)
}

/// `bytearray.fromhex("{:02x}".format(int(s)))` or None where Python raises ValueError.
fn python_int_bytes(s: &str) -> Option<Vec<u8>> {
    let t = s.trim();
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    // Digits with single underscores between them (Python 3 int() syntax).
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    if !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return None;
    }
    // Big-endian base-256 accumulation of the decimal digits.
    let mut value: Vec<u8> = vec![0];
    for d in digits.bytes().filter(|b| b.is_ascii_digit()) {
        let mut carry = u32::from(d - b'0');
        for byte in value.iter_mut().rev() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = (v & 0xff) as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            value.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    while value.len() > 1 && value[0] == 0 {
        value.remove(0);
    }
    let is_zero = value == [0];
    if negative && !is_zero {
        // "{:02x}".format(-n) starts with '-', which fromhex rejects.
        return None;
    }
    // "{:02x}" pads to two digits only; a longer odd-length hex string is rejected.
    if value.len() > 1 && value[0] < 0x10 {
        return None;
    }
    Some(value)
}

/// `uuid.UUID(s).bytes` or None where Python raises ValueError.
fn python_uuid_bytes(s: &str) -> Option<[u8; 16]> {
    let h = s.replace("urn:", "").replace("uuid:", "");
    let h = h.trim_matches(|c| c == '{' || c == '}').replace('-', "");
    if h.len() != 32 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Encrypts and decrypts Quay's `EncryptedCharField` / `EncryptedTextField` values.
#[derive(Clone)]
pub struct FieldEncrypter {
    cipher: AesCcm,
}

impl std::fmt::Debug for FieldEncrypter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FieldEncrypter(..)")
    }
}

impl FieldEncrypter {
    /// From the configured `DATABASE_SECRET_KEY` string.
    pub fn new(database_secret_key: &str) -> Result<FieldEncrypter, SecretKeyError> {
        let key = convert_secret_key(database_secret_key)?;
        Ok(FieldEncrypter::from_key(&key))
    }

    /// From an already derived 32-byte key.
    pub fn from_key(key: &[u8; 32]) -> FieldEncrypter {
        FieldEncrypter {
            cipher: AesCcm::new(GenericArray::from_slice(key)),
        }
    }

    /// `v0$$…` with a fresh random nonce.
    pub fn encrypt(&self, value: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        self.encrypt_with_nonce(value, &nonce)
    }

    /// `v0$$…` with the given nonce (deterministic; for tests and vectors).
    pub fn encrypt_with_nonce(&self, value: &str, nonce: &[u8; NONCE_LEN]) -> String {
        let sealed = self
            .cipher
            .encrypt(GenericArray::from_slice(nonce), value.as_bytes())
            // AES-CCM with a 13-byte nonce only fails past 2^16 bytes of plaintext.
            .unwrap_or_default();
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(nonce);
        blob.extend_from_slice(&sealed);
        format!("{VERSION_V0}{SEPARATOR}{}", STANDARD.encode(blob))
    }

    /// Decrypts a stored value.
    pub fn decrypt(&self, stored: &str) -> Result<String, DecryptError> {
        let Some((version, data)) = stored.split_once(SEPARATOR) else {
            return Err(DecryptError::NoSeparator);
        };
        if version != VERSION_V0 {
            return Err(DecryptError::UnknownVersion(version.to_owned()));
        }
        // Python's b64decode skips characters outside the alphabet.
        let cleaned: String = data
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
            .collect();
        let blob = STANDARD
            .decode(cleaned.as_bytes())
            .map_err(|_| DecryptError::Failed)?;
        if blob.len() < NONCE_LEN {
            return Err(DecryptError::Failed);
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(GenericArray::from_slice(nonce), sealed)
            .map_err(|_| DecryptError::Failed)?;
        String::from_utf8(plain).map_err(|_| DecryptError::Failed)
    }
}

/// The secrets Quay's credential migrations need (`quayside migrate` over an old database):
/// field encryption with `DATABASE_SECRET_KEY`, decryption with the old `SECRET_KEY`, and
/// bcrypt credentials.
pub struct UpgradeSecrets {
    current: FieldEncrypter,
    legacy: Option<FieldEncrypter>,
}

impl UpgradeSecrets {
    /// From the configured `DATABASE_SECRET_KEY` and (optional) `SECRET_KEY`.
    pub fn new(
        database_secret_key: &str,
        secret_key: Option<&str>,
    ) -> Result<UpgradeSecrets, SecretKeyError> {
        Ok(UpgradeSecrets {
            current: FieldEncrypter::new(database_secret_key)?,
            legacy: secret_key.map(FieldEncrypter::new).transpose()?,
        })
    }
}

impl quayside_meta::upgrade::Secrets for UpgradeSecrets {
    fn encrypt(&self, plain: &str) -> String {
        self.current.encrypt(plain)
    }

    fn decrypts(&self, stored: &str) -> bool {
        self.current.decrypt(stored).is_ok()
    }

    fn reencrypt_legacy(&self, stored: &str) -> Option<String> {
        let plain = self.legacy.as_ref()?.decrypt(stored).ok()?;
        Some(self.current.encrypt(&plain))
    }

    fn hash(&self, plain: &str) -> Option<String> {
        bcrypt::hash(plain, bcrypt::DEFAULT_COST).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_derivation_modes() {
        // Raw characters, cycled.
        let k = convert_secret_key("test1234").expect("key");
        assert_eq!(&k[..8], b"test1234");
        assert_eq!(&k[24..], b"test1234");
        // Integer: 4128 = 0x1020.
        let k = convert_secret_key("4128").expect("key");
        assert_eq!(&k[..4], &[0x10, 0x20, 0x10, 0x20]);
        // 258 = 0x102: odd-length hex, so Python's fromhex fails and raw characters are used.
        let k = convert_secret_key("258").expect("key");
        assert_eq!(&k[..3], b"258");
        // Whitespace and underscores as Python's int() accepts them; 1000 = 0x03e8 → "3e8" odd.
        assert_eq!(&convert_secret_key(" 42 ").expect("key")[..2], &[42, 42]);
        assert_eq!(&convert_secret_key("1_000").expect("key")[..6], b"1_0001");
        // Integer with odd-length hex (0x123 = 291) falls through to raw characters.
        let k = convert_secret_key("291").expect("key");
        assert_eq!(&k[..3], b"291");
        // Small integers are padded: 5 -> 0x05.
        let k = convert_secret_key("5").expect("key");
        assert_eq!(k, [5u8; 32]);
        // UUID -> its 16 bytes twice.
        let k = convert_secret_key("12345678-9abc-def0-1234-56789abcdef0").expect("key");
        assert_eq!(&k[..2], &[0x12, 0x34]);
        assert_eq!(&k[16..18], &[0x12, 0x34]);
        assert!(convert_secret_key("").is_err());
        assert!(convert_secret_key("κλειδί").is_err());
    }

    #[test]
    fn roundtrip_and_wrong_key() {
        let enc = FieldEncrypter::new("some key").expect("key");
        let stored = enc.encrypt("hello world");
        assert!(stored.starts_with("v0$$"));
        assert_eq!(enc.decrypt(&stored).as_deref(), Ok("hello world"));
        let other = FieldEncrypter::new("some other key").expect("key");
        assert_eq!(other.decrypt(&stored), Err(DecryptError::Failed));
        assert_eq!(
            enc.decrypt("somerandomvalue"),
            Err(DecryptError::NoSeparator)
        );
        assert!(matches!(
            enc.decrypt("v9$$abcd"),
            Err(DecryptError::UnknownVersion(_))
        ));
    }
}
