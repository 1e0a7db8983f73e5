//! Passwords: Argon2id hashes, and the one credential check that the web sign-in and the
//! proxy's sign-in share, with the profile's lockout.

use crate::{Person, Result, Store, StoreError};
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How many sign-ins may wait for an Argon2 slot beyond those running; past that the caller
/// is told to come back later ([`StoreError::Busy`]) rather than queue without bound.
pub const ARGON2_QUEUE: usize = 16;

/// Largest Argon2 memory (in 1 KiB blocks) a stored hash may ask for: 64 MiB. Our hashes use
/// 19 MiB; a hash asking for more is refused rather than allowed to take the memory.
const MAX_BLOCKS: usize = 64 * 1024;

/// The process-wide bound on Argon2 work: each run takes 19 MiB, so 64 parallel sign-ins
/// once took the server past 1 GiB. At most `permits` run at once, each on a blocking thread
/// with a memory buffer that is kept and reused (so the allocator never gets to keep freed
/// 19 MiB chunks per thread arena), and at most [`ARGON2_QUEUE`] more wait.
struct Limiter {
    permits: Semaphore,
    slots: usize,
    /// Running plus waiting.
    busy: AtomicUsize,
    /// Memory buffers not in use, at most one per permit.
    buffers: Mutex<Vec<Vec<Block>>>,
}

static LIMITER: LazyLock<Limiter> = LazyLock::new(|| {
    let slots = std::thread::available_parallelism()
        .map(std::num::NonZeroUsize::get)
        .unwrap_or(2)
        .max(2);
    Limiter {
        permits: Semaphore::new(slots),
        slots,
        busy: AtomicUsize::new(0),
        buffers: Mutex::new(Vec::new()),
    }
});

/// Counts a caller in `busy` and out again when dropped, however the future ends.
struct BusyGuard;

impl Drop for BusyGuard {
    fn drop(&mut self) {
        LIMITER.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Runs `work` with a reused Argon2 memory buffer on a blocking thread, once a slot is free.
async fn limited<T: Send + 'static>(
    work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
) -> Result<T> {
    let limiter = &*LIMITER;
    if limiter.busy.fetch_add(1, Ordering::AcqRel) >= limiter.slots + ARGON2_QUEUE {
        limiter.busy.fetch_sub(1, Ordering::AcqRel);
        return Err(StoreError::Busy);
    }
    let _busy = BusyGuard;
    let _permit = limiter
        .permits
        .acquire()
        .await
        .map_err(|_| StoreError::Busy)?;
    tokio::task::spawn_blocking(move || {
        let mut memory = limiter
            .buffers
            .lock()
            .ok()
            .and_then(|mut b| b.pop())
            .unwrap_or_default();
        let out = work(&mut memory);
        if let Ok(mut b) = limiter.buffers.lock()
            && b.len() < limiter.slots
        {
            b.push(memory);
        }
        out
    })
    .await
    .map_err(|e| StoreError::Conflict(format!("password check failed: {e}")))
}

/// Hashes a password like [`hash`], within the process-wide bound on Argon2 work.
pub async fn hash_limited(password: &str) -> Result<String> {
    let password = password.to_string();
    limited(move |_| hash(&password)).await?
}

/// Checks a password like [`verify`], within the process-wide bound on Argon2 work and with a
/// reused memory buffer. `Err(Busy)` when too many checks are already waiting.
pub async fn verify_limited(password: &str, hash: &str) -> Result<bool> {
    let (password, hash) = (password.to_string(), hash.to_string());
    limited(move |memory| verify_with_memory(&password, &hash, memory)).await
}

/// [`verify`], computing into `memory` (grown as the hash's parameters need) instead of a
/// fresh allocation.
fn verify_with_memory(password: &str, hash: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let blocks = params.block_count();
    if blocks > MAX_BLOCKS {
        return false;
    }
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    let mut out = vec![0u8; expected.len()];
    let Some(memory) = memory.get_mut(..blocks) else {
        return false;
    };
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory)
        .is_ok()
        && constant_time_eq(&out, expected.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Hashes a password with Argon2id and a random salt (PHC string).
pub fn hash(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Conflict(format!("password hashing failed: {e}")))
}

/// Whether `password` matches the stored PHC hash.
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// An Argon2id hash of a random string, verified against when the user does not exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3Ssbn+Zb2nHsbUoT4HjD6xT1qR3a+3fFb9ig5fDbkqM";

pub use events::LoginFailure;

/// Bumped whenever an account changes in a way that must end a remembered sign-in.
static ACCOUNTS_CHANGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Changes whenever, in this process, a person leaves or returns, an account is disabled or
/// enabled, a password is set or an account locks. Caches of verified credentials (the
/// proxy's sign-ins) compare it on every use instead of asking the database.
pub fn accounts_generation() -> u64 {
    ACCOUNTS_CHANGED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Says that an account changed (see [`accounts_generation`]).
pub(crate) fn accounts_changed() {
    ACCOUNTS_CHANGED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// Verifies on a blocking thread (Argon2 is deliberately slow), within the bound on Argon2
/// work; `Err(Busy)` when the queue is full.
async fn verify_blocking(password: &str, hash: &str) -> Result<bool> {
    verify_limited(password, hash).await
}

/// Failed sign-ins for names with no usable account, so that such a name "locks" after the same
/// number of failures as a real account and for as long: the answer never tells an attacker
/// which usernames exist. Kept in memory (monotonic time), bounded.
struct Phantom {
    failed: u32,
    locked_until: Option<Instant>,
}

/// Most names without an account tracked at once; past it, names whose lock is over are
/// forgotten, and if that is not enough, all are.
const MAX_PHANTOMS: usize = 10_000;

static PHANTOMS: LazyLock<Mutex<HashMap<String, Phantom>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Counts a failure for a name with no account; whether it is now (or still) "locked".
fn phantom_failure(username: &str, attempts: u32, minutes: u32) -> bool {
    let Ok(mut map) = PHANTOMS.lock() else {
        return false;
    };
    let now = Instant::now();
    if map.len() >= MAX_PHANTOMS && !map.contains_key(username) {
        map.retain(|_, p| p.locked_until.is_some_and(|u| u > now));
        if map.len() >= MAX_PHANTOMS {
            map.clear();
        }
    }
    let entry = map.entry(username.to_string()).or_insert(Phantom {
        failed: 0,
        locked_until: None,
    });
    if entry.locked_until.is_some_and(|u| u > now) {
        return true;
    }
    entry.failed += 1;
    if entry.failed >= attempts.max(1) {
        entry.failed = 0;
        entry.locked_until = Some(now + Duration::from_secs(u64::from(minutes) * 60));
        return true;
    }
    false
}

impl Store {
    /// Whether a person's account has ended by its date: a guest past `expires_at`, or a
    /// leaver on or after `leaves_on` (the school's date).
    pub fn closed_by_date(&self, p: &Person) -> bool {
        let now = self.now();
        let today = self.clock.school_now().date_naive();
        p.expires_at.as_deref().is_some_and(|e| e <= now.as_str())
            || p.leaves_on
                .as_deref()
                .is_some_and(|d| policy::leavers::has_left(d, today))
    }

    /// The account of `person` if it may sign in at all, however: the person active, not
    /// closed by a date (a guest whose time is over, or a leaver whose date has come, is
    /// refused at once, before the daily run has closed the account), the account enabled.
    /// The password's sign-in and the OpenID Connect one both ask this.
    pub async fn usable_account(&self, person: &Person) -> Result<Option<crate::Account>> {
        if !person.active || self.closed_by_date(person) {
            return Ok(None);
        }
        Ok(self.account(person.id).await?.filter(|a| a.is_active()))
    }

    /// Checks a username and password against an active account, counting failures towards
    /// the lockout (`attempts` failures lock the account for `minutes`). A name with no usable
    /// account gets exactly the answers a real one would (invalid, then locked), and every
    /// answer costs one Argon2 check, so neither answer nor timing tells which names exist.
    pub async fn check_credentials(
        &self,
        username: &str,
        password: &str,
        attempts: u32,
        minutes: u32,
    ) -> Result<std::result::Result<Person, LoginFailure>> {
        let username = username.trim();
        let person = self.person_by_username(username).await?;
        let account = match &person {
            Some(p) => self.usable_account(p).await?,
            None => None,
        };
        let usable = person.zip(account);
        let Some((person, account)) = usable else {
            // Same work as a real check, so that timing does not reveal which usernames exist.
            verify_blocking(password, DUMMY_HASH).await?;
            return Ok(Err(if phantom_failure(username, attempts, minutes) {
                LoginFailure::Locked
            } else {
                LoginFailure::Invalid
            }));
        };
        let right = verify_blocking(password, &account.password_hash).await?;
        // A lock holds even for the right password with a second factor enrolled: wrong codes
        // count towards it too, and letting a right password through it would let whoever
        // knows the password go on guessing codes past the lock.
        if account.locked_at(self.now_utc()) {
            return Ok(Err(LoginFailure::Locked));
        }
        if !right {
            let locked = self
                .record_failed_login(person.id, attempts, minutes)
                .await?;
            return Ok(Err(if locked {
                LoginFailure::Locked
            } else {
                LoginFailure::Invalid
            }));
        }
        Ok(Ok(person))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash("correct horse battery").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong", &h));
        assert!(!verify("x", "not a hash"));
    }

    #[test]
    fn verifying_with_reused_memory_agrees_with_the_plain_check() {
        let h = hash("correct horse battery").unwrap_or_default();
        let mut memory = Vec::new();
        assert!(verify_with_memory("correct horse battery", &h, &mut memory));
        assert!(!verify_with_memory("wrong", &h, &mut memory));
        assert!(verify_with_memory("correct horse battery", &h, &mut memory));
        assert!(!verify_with_memory("x", "not a hash", &mut memory));
        assert!(!verify_with_memory("x", DUMMY_HASH, &mut memory));
    }

    #[test]
    fn the_dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
