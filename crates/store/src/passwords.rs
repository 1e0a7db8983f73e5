//! Passwords: Argon2id hashes, and the one credential check that the web sign-in and the
//! proxy's sign-in share, with the profile's lockout.

use crate::{Person, Result, Store, StoreError};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

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

/// Why a sign-in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// Wrong username or password (never says which).
    Invalid,
    /// Too many failures: locked for a while.
    Locked,
}

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

/// Verifies on a blocking thread: Argon2 is deliberately slow.
async fn verify_blocking(password: &str, hash: &str) -> bool {
    let (pw, hash) = (password.to_string(), hash.to_string());
    tokio::task::spawn_blocking(move || verify(&pw, &hash))
        .await
        .unwrap_or(false)
}

impl Store {
    /// Checks a username and password against an active account, counting failures towards
    /// the lockout (`attempts` failures lock the account for `minutes`).
    pub async fn check_credentials(
        &self,
        username: &str,
        password: &str,
        attempts: u32,
        minutes: u32,
    ) -> Result<std::result::Result<Person, LoginFailure>> {
        let person = self.person_by_username(username.trim()).await?;
        let account = match &person {
            Some(p) if p.active => self.account(p.id).await?,
            _ => None,
        };
        let (Some(person), Some(account)) = (person, account) else {
            // Same work as a real check, so that timing does not reveal which usernames exist.
            let _ = verify_blocking(password, DUMMY_HASH).await;
            return Ok(Err(LoginFailure::Invalid));
        };
        if !account.is_active() {
            let _ = verify_blocking(password, DUMMY_HASH).await;
            return Ok(Err(LoginFailure::Invalid));
        }
        if account.locked_at(self.now_utc()) {
            return Ok(Err(LoginFailure::Locked));
        }
        if !verify_blocking(password, &account.password_hash).await {
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
    fn the_dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
