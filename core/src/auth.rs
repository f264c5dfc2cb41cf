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

/// The address a request came from (the peer, or the client a trusted proxy names), put on every
/// request by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::IpAddr);

/// The brake on password guessing, keyed by the client's address, never by the account: failures
/// from one address slow down that address only, so nobody can lock another person (the
/// administrator included) out by failing on purpose.
///
/// * After `FREE_FAILURES` failures from an address within `FORGET_AFTER`, each further attempt
///   from it must wait twice as long as the one before (1 s, 2 s, 4 s … up to 5 min).
/// * At most `IN_FLIGHT_PER_ADDRESS` logins from one address are checked at once, and at most
///   `VERIFY_SLOTS` password hashes are computed at once overall, with `VERIFY_QUEUE` waiting (each
///   takes 19 MiB and tens of milliseconds): a flood gets a 429 instead of the server's memory.
/// * Memory is bounded: at most `MAX_ADDRESSES` addresses are remembered (IPv6 by /64), and
///   nothing about the usernames tried.
///
/// Kept in memory: a restart forgives, which suits a brake whose job is to make guessing slow.
pub struct LoginThrottle {
    state: Mutex<HashMap<IpKey, Entry>>,
    verify: tokio::sync::Semaphore,
    waiting: std::sync::atomic::AtomicUsize,
}

/// An address as the brake counts it: IPv4 whole, IPv6 by its /64 (one host holds a /64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpKey(u128);

impl From<std::net::IpAddr> for IpKey {
    fn from(ip: std::net::IpAddr) -> Self {
        match ip {
            std::net::IpAddr::V4(v4) => IpKey(u32::from(v4) as u128),
            std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpKey(u32::from(v4) as u128),
                None => IpKey((u128::from(v6) >> 64 << 64) | (1 << 32)),
            },
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last: Instant,
    in_flight: u32,
}

const FREE_FAILURES: u32 = 5;
const MAX_DELAY: Duration = Duration::from_secs(300);
/// Failures older than this are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(900);
const MAX_ADDRESSES: usize = 10_000;
const IN_FLIGHT_PER_ADDRESS: u32 = 2;
const VERIFY_SLOTS: usize = 4;
const VERIFY_QUEUE: usize = 64;

/// Longest username or password the brake passes on (longer ones are wrong by definition).
pub const CREDENTIAL_MAX: usize = 1024;

impl Default for LoginThrottle {
    fn default() -> Self {
        Self { state: Mutex::new(HashMap::new()), verify: tokio::sync::Semaphore::new(VERIFY_SLOTS), waiting: 0.into() }
    }
}

/// A login attempt in progress; dropping it ends the attempt. Record its outcome with
/// [`LoginAttempt::failed`] (a success needs nothing).
pub struct LoginAttempt<'a> {
    throttle: &'a LoginThrottle,
    key: IpKey,
}

impl LoginAttempt<'_> {
    pub fn failed(&self) {
        let mut map = self.throttle.state.lock().expect("throttle poisoned");
        if let Some(e) = map.get_mut(&self.key) {
            if e.last.elapsed() > FORGET_AFTER {
                e.failures = 0;
            }
            e.failures = e.failures.saturating_add(1);
            e.last = Instant::now();
        }
    }

    /// Compute a password hash check under the global ceiling.
    pub async fn verify<T>(&self, work: impl std::future::Future<Output = T>) -> Result<T> {
        use std::sync::atomic::Ordering;
        let t = self.throttle;
        if t.waiting.fetch_add(1, Ordering::SeqCst) >= VERIFY_SLOTS + VERIFY_QUEUE {
            t.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::Throttled { retry_after_secs: 1 });
        }
        let permit = t.verify.acquire().await;
        let out = work.await;
        drop(permit);
        t.waiting.fetch_sub(1, Ordering::SeqCst);
        Ok(out)
    }
}

impl Drop for LoginAttempt<'_> {
    fn drop(&mut self) {
        if let Some(e) = self.throttle.state.lock().expect("throttle poisoned").get_mut(&self.key) {
            e.in_flight = e.in_flight.saturating_sub(1);
        }
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

    /// Begin an attempt from `addr`, or refuse it when it comes too soon after the address's
    /// last failure or too many of its attempts are under way.
    pub fn begin(&self, addr: std::net::IpAddr) -> Result<LoginAttempt<'_>> {
        let key = IpKey::from(addr);
        let mut map = self.state.lock().expect("throttle poisoned");
        if !map.contains_key(&key) && map.len() >= MAX_ADDRESSES {
            map.retain(|_, e| e.in_flight > 0 || e.last.elapsed() < FORGET_AFTER.min(Self::delay(e.failures) * 2));
            if map.len() >= MAX_ADDRESSES {
                // Still full of recent failures: forget the quietest address.
                if let Some(oldest) =
                    map.iter().filter(|(_, e)| e.in_flight == 0).min_by_key(|(_, e)| e.last).map(|(k, _)| *k)
                {
                    map.remove(&oldest);
                }
            }
        }
        let entry = map.entry(key).or_insert(Entry { failures: 0, last: Instant::now(), in_flight: 0 });
        if entry.last.elapsed() > FORGET_AFTER {
            entry.failures = 0;
        }
        let wait = Self::delay(entry.failures);
        let elapsed = entry.last.elapsed();
        if elapsed < wait {
            let left = (wait - elapsed).as_secs_f64().ceil() as u64;
            return Err(Error::Throttled { retry_after_secs: left.max(1) });
        }
        if entry.in_flight >= IN_FLIGHT_PER_ADDRESS {
            return Err(Error::Throttled { retry_after_secs: 1 });
        }
        entry.in_flight += 1;
        Ok(LoginAttempt { throttle: self, key })
    }

    /// How many addresses are remembered (for tests of the bound).
    pub fn remembered(&self) -> usize {
        self.state.lock().expect("throttle poisoned").len()
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

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn throttle_slows_down_one_address_only() {
        let t = LoginThrottle::default();
        for _ in 0..FREE_FAILURES {
            t.begin(ip("10.0.0.1")).unwrap().failed();
        }
        match t.begin(ip("10.0.0.1")) {
            Err(Error::Throttled { retry_after_secs }) => assert_eq!(retry_after_secs, 1),
            Err(e) => panic!("expected throttling, got {e:?}"),
            Ok(_) => panic!("expected throttling, got through"),
        }
        // Another address, trying the same account, is not held back.
        assert!(t.begin(ip("10.0.0.2")).is_ok());
        // IPv6 addresses of one /64 count as one.
        for _ in 0..FREE_FAILURES {
            t.begin(ip("2001:db8::1")).unwrap().failed();
        }
        assert!(t.begin(ip("2001:db8::2")).is_err());
        assert!(t.begin(ip("2001:db8:0:1::2")).is_ok());
        assert_eq!(LoginThrottle::delay(FREE_FAILURES + 20), MAX_DELAY);
    }

    #[test]
    fn throttle_limits_attempts_in_flight_and_memory() {
        let t = LoginThrottle::default();
        let a = t.begin(ip("10.0.0.1")).unwrap();
        let b = t.begin(ip("10.0.0.1")).unwrap();
        assert!(t.begin(ip("10.0.0.1")).is_err(), "a third attempt at once from one address");
        drop(a);
        assert!(t.begin(ip("10.0.0.1")).is_ok());
        drop(b);
        for i in 0..(MAX_ADDRESSES as u32 + 500) {
            let addr = std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x0b00_0000 + i));
            if let Ok(attempt) = t.begin(addr) {
                attempt.failed();
            }
        }
        assert!(t.remembered() <= MAX_ADDRESSES, "{} addresses remembered", t.remembered());
    }
}
