//! Short-lived memory of verified Basic credentials, so repeated `docker` logins do not
//! pay a bcrypt (cost 12 ≈ 0.25 s) each. Only successes are stored; the key is a SHA-256
//! of the username and password, never the password itself.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::Identity;

pub(crate) struct CredentialCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<[u8; 32], (Identity, Instant)>>,
}

impl CredentialCache {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> CredentialCache {
        CredentialCache {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn key(username: &str, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update((username.len() as u64).to_le_bytes());
        h.update(username.as_bytes());
        h.update(password.as_bytes());
        h.finalize().into()
    }

    pub(crate) fn get(&self, key: &[u8; 32]) -> Option<Identity> {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(key) {
            Some((identity, until)) if *until > Instant::now() => Some(identity.clone()),
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remembers a success for `ttl`, or less when `max_life` is shorter.
    pub(crate) fn put(&self, key: [u8; 32], identity: Identity, max_life: Option<Duration>) {
        if self.capacity == 0 || self.ttl.is_zero() {
            return;
        }
        let life = max_life.map_or(self.ttl, |m| m.min(self.ttl));
        let now = Instant::now();
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.capacity {
            map.retain(|_, (_, until)| *until > now);
            if map.len() >= self.capacity {
                map.clear();
            }
        }
        map.insert(key, (identity, now + life));
    }

    /// Forgets everything (a credential was revoked or changed).
    pub(crate) fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
