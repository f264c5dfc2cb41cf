//! Secrets: argon2id password hashes, API token secrets, and the brake on guessing passwords.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Hash a password with argon2id (OWASP's parameters: 19 MiB, 2 passes) into a PHC string.
/// Slow on purpose, so run it off the async threads.
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(format!("hashing task: {e}")))?
}

/// Whether `password` matches the PHC string `hash`.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash of a password nobody knows, to spend the same time on unknown usernames as on known
/// ones (so response times do not tell which usernames exist).
pub async fn dummy_verify(password: String) {
    use std::sync::OnceLock;
    static DUMMY: OnceLock<String> = OnceLock::new();
    let hash = match DUMMY.get() {
        Some(h) => h.clone(),
        None => {
            let h = hash_password("not a real password".into()).await.unwrap_or_default();
            DUMMY.get_or_init(|| h).clone()
        }
    };
    verify_password(password, hash).await;
}

/// The prefix that marks Switchyard API tokens (handy for secret scanners).
pub const TOKEN_PREFIX: &str = "sy_";

/// A new API token secret: 256 random bits, URL-safe.
pub fn new_token_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

pub fn hash_token_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A process's token for its config trigger: 192 random bits, hex (it travels in an HTTP header
/// and an environment variable).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Compare secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A random password for the first administrator when none is configured.
pub fn generate_password() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 15];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Slows down password guessing per account: after `FREE_FAILURES` failed logins in a row, each
/// further attempt must wait twice as long as the one before (1 s, 2 s, 4 s … up to 5 min). A
/// successful login resets the count. Kept in memory: a restart forgives, which is acceptable
/// for a brake whose job is to make guessing slow, not impossible.
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

const FREE_FAILURES: u32 = 5;
const MAX_DELAY: Duration = Duration::from_secs(300);

impl Default for LoginThrottle {
    fn default() -> Self {
        Self { failures: Mutex::new(HashMap::new()) }
    }
}

impl LoginThrottle {
    fn delay(failures: u32) -> Duration {
        if failures < FREE_FAILURES {
            Duration::ZERO
        } else {
            Duration::from_secs(1u64 << (failures - FREE_FAILURES).min(9)).min(MAX_DELAY)
        }
    }

    /// Refuse an attempt that comes too soon after the last failure.
    pub fn check(&self, username: &str) -> Result<()> {
        let map = self.failures.lock().expect("throttle poisoned");
        if let Some((count, last)) = map.get(username) {
            let wait = Self::delay(*count);
            let elapsed = last.elapsed();
            if elapsed < wait {
                let left = (wait - elapsed).as_secs_f64().ceil() as u64;
                return Err(Error::Throttled { retry_after_secs: left.max(1) });
            }
        }
        Ok(())
    }

    pub fn failed(&self, username: &str) {
        let mut map = self.failures.lock().expect("throttle poisoned");
        // Forget entries that have been quiet for longer than the longest delay.
        if map.len() > 10_000 {
            map.retain(|_, (_, last)| last.elapsed() < MAX_DELAY);
        }
        let entry = map.entry(username.to_string()).or_insert((0, Instant::now()));
        entry.0 += 1;
        entry.1 = Instant::now();
    }

    pub fn succeeded(&self, username: &str) {
        self.failures.lock().expect("throttle poisoned").remove(username);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn password_round_trip() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), hash.clone()).await);
        assert!(!verify_password("wrong horse".into(), hash).await);
        assert!(!verify_password("x".into(), "not a hash".into()).await);
    }

    #[test]
    fn tokens_are_unique_and_hashed() {
        let (a, b) = (new_token_secret(), new_token_secret());
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == 3 + 43);
        assert_eq!(hash_token_secret(&a).len(), 64);
        assert_ne!(hash_token_secret(&a), hash_token_secret(&b));
    }

    #[test]
    fn throttle_slows_down_after_free_failures() {
        let t = LoginThrottle::default();
        for _ in 0..FREE_FAILURES - 1 {
            t.failed("bob");
            assert!(t.check("bob").is_ok());
        }
        t.failed("bob");
        match t.check("bob") {
            Err(Error::Throttled { retry_after_secs }) => assert_eq!(retry_after_secs, 1),
            other => panic!("expected throttling, got {other:?}"),
        }
        assert!(t.check("alice").is_ok());
        t.succeeded("bob");
        assert!(t.check("bob").is_ok());
        assert_eq!(LoginThrottle::delay(FREE_FAILURES + 20), MAX_DELAY);
    }
}
