//! Proxy sign-in (HTTP Basic against Palisade accounts, with the same lockout as the web app)
//! and the Acceptable Use Policy check. Verified credentials are remembered for a few minutes,
//! so Argon2 and the database are not asked on every request; a remembered sign-in ends at
//! once when any account is disabled, a person leaves, a password is set or an account locks
//! ([`ProxyAccounts::generation`]), and when the password expires. The accounts are reached
//! through [`ProxyAccounts`], which the binary implements over the store.
//!
//! A second factor (TOTP) is not asked for here: HTTP Basic carries a password and nothing
//! else, and a browser asks for it again at every restart. What the second factor protects is
//! the web app (the safeguarding log, alerts, the access log); a proxy sign-in opens only the
//! staff group's filtered browsing, logged under the person. So a holder of a role the profile
//! requires a second factor of signs in to the proxy with their password alone; an account whose
//! password may be known is refused until a new one is set, like an expired one.

use super::ProxyLogin;
use crate::signed_in::Identity;
pub use events::LoginFailure;
use hyper::HeaderMap;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The accounts could not be asked (the database is out of reach): the sign-in is refused.
pub type AccountsError = Box<dyn std::error::Error + Send + Sync>;

/// A person as the proxy's sign-in needs them.
#[derive(Debug, Clone)]
pub struct AccountHolder {
    pub id: i64,
    pub username: String,
    pub roles: policy::RoleSet,
    /// Someone said the password may be known: refused until a new one is set.
    pub must_change_password: bool,
}

/// What the proxy's sign-in asks of the school's accounts (the binary implements it over the
/// store). Verified sign-ins are remembered ([`Logins`]), so it is asked once per sign-in and
/// on the AUP's recheck, never on every request.
#[async_trait::async_trait]
pub trait ProxyAccounts: Send + Sync + 'static {
    /// Checks a username and password with the same lockout as the web app.
    async fn check_credentials(
        &self,
        username: &str,
        password: &str,
        lockout_attempts: u32,
        lockout_minutes: u32,
    ) -> Result<Result<AccountHolder, LoginFailure>, AccountsError>;

    /// When the person's password was last set (a stored timestamp); `None` without an account.
    async fn password_changed_at(&self, person_id: i64) -> Result<Option<String>, AccountsError>;

    /// Whether the person has signed the current version of their code of conduct (the one
    /// register the web pages use too); true when there is nothing for them to sign.
    async fn code_signed(&self, person_id: i64) -> Result<bool, AccountsError>;

    /// Now, by the injected clock.
    fn now_utc(&self) -> chrono::DateTime<chrono::Utc>;

    /// Changes whenever an account changes in a way that must end a remembered sign-in.
    fn generation(&self) -> u64;
}

/// How long a verified password is trusted before it is checked again.
const TRUST: Duration = Duration::from_secs(300);
/// How often a user who has not accepted the AUP is looked up again.
const AUP_RECHECK: Duration = Duration::from_secs(2);
/// How often a user who has accepted it is looked up again: a new version of their code in the
/// register reaches the proxy within this.
const AUP_RECHECK_ACCEPTED: Duration = Duration::from_secs(60);
/// Most remembered sign-ins.
const MAX_CACHED: usize = 50_000;

/// Who made a request, as far as the proxy could tell.
pub enum Identified {
    /// The address's group does not sign in.
    ByAddress,
    User {
        who: Identity,
        staff: bool,
        /// A guest account (a visitor or supply teacher): filtered as the guests' group.
        guest: bool,
    },
}

/// Why a request was not let through to filtering.
pub enum Refusal {
    /// No or wrong credentials: 407, the browser asks for them.
    SignIn,
    /// Too many failures.
    Locked,
    /// The password is older than the profile's rotation rule allows: change it first.
    Expired,
    /// Palisade was told the password may be known to someone: change it first.
    Known,
}

struct Cached {
    who: Identity,
    staff: bool,
    guest: bool,
    verified: Instant,
    /// The accounts' generation when verified: any account change since means check again.
    generation: u64,
    /// When the password expires, if it does.
    expires: Option<Instant>,
    aup_accepted: bool,
    aup_checked: Option<Instant>,
}

/// Remembered sign-ins, keyed by a hash of the credentials (never the password itself).
#[derive(Default)]
pub struct Logins {
    cache: Mutex<HashMap<[u8; 32], Cached>>,
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let value = headers
        .get(hyper::header::PROXY_AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

fn key(user: &str, password: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(user.as_bytes());
    h.update([0]);
    h.update(password.as_bytes());
    h.finalize().into()
}

impl Logins {
    /// Checks the request's credentials if its address group must sign in.
    pub async fn identify(
        &self,
        login: &ProxyLogin,
        address_group: &str,
        headers: &HeaderMap,
    ) -> Result<Identified, Refusal> {
        if !login.groups.contains(address_group) {
            return Ok(Identified::ByAddress);
        }
        let Some((user, password)) = basic(headers) else {
            return Err(Refusal::SignIn);
        };
        let k = key(&user, &password);
        let generation = login.accounts.generation();
        if let Ok(cache) = self.cache.lock()
            && let Some(c) = cache.get(&k)
            && c.verified.elapsed() < TRUST
            && c.generation == generation
            && c.expires.is_none_or(|at| Instant::now() < at)
        {
            return Ok(Identified::User {
                who: c.who.clone(),
                staff: c.staff,
                guest: c.guest,
            });
        }
        let checked = login
            .accounts
            .check_credentials(
                &user,
                &password,
                login.lockout_attempts,
                login.lockout_minutes,
            )
            .await;
        let person = match checked {
            Ok(Ok(p)) => p,
            Ok(Err(LoginFailure::Locked)) => return Err(Refusal::Locked),
            Ok(Err(LoginFailure::Invalid)) => return Err(Refusal::SignIn),
            Err(e) => {
                tracing::error!(error = %e, "proxy sign-in could not be checked");
                return Err(Refusal::SignIn);
            }
        };
        if person.must_change_password {
            return Err(Refusal::Known);
        }
        let expires = match password_expiry(login, &person).await {
            Ok(Expiry::Expired) => return Err(Refusal::Expired),
            Ok(Expiry::At(at)) => Some(at),
            Ok(Expiry::Never) => None,
            Err(e) => {
                tracing::error!(error = %e, "proxy sign-in: the password's age could not be checked");
                return Err(Refusal::SignIn);
            }
        };
        let who = Identity {
            person_id: person.id,
            username: person.username.clone(),
        };
        let staff = person.roles.any(policy::Role::is_staff);
        let guest = person.roles.contains(policy::Role::Visitor);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MAX_CACHED {
                cache.retain(|_, c| c.verified.elapsed() < TRUST);
            }
            cache.insert(
                k,
                Cached {
                    who: who.clone(),
                    staff,
                    guest,
                    verified: Instant::now(),
                    generation,
                    expires,
                    aup_accepted: false,
                    aup_checked: None,
                },
            );
        }
        Ok(Identified::User { who, staff, guest })
    }

    /// Whether `who` still has to accept the current Acceptable Use Policy.
    pub async fn aup_pending(&self, login: &ProxyLogin, who: &Identity) -> bool {
        if login.aup_version.is_none() {
            return false;
        }
        // What the cache still knows, if its last look is recent enough for what it found.
        let known = match self.cache.lock() {
            Ok(cache) => cache
                .values()
                .find(|c| c.who.person_id == who.person_id)
                .and_then(|c| {
                    let every = if c.aup_accepted {
                        AUP_RECHECK_ACCEPTED
                    } else {
                        AUP_RECHECK
                    };
                    let fresh = c.aup_checked.is_some_and(|t| t.elapsed() < every);
                    fresh.then_some(!c.aup_accepted)
                }),
            Err(_) => None,
        };
        if let Some(pending) = known {
            return pending;
        }
        let accepted = match login.accounts.code_signed(who.person_id).await {
            Ok(accepted) => accepted,
            Err(e) => {
                // The database is out of reach: browsing goes on rather than every page
                // turning into the policy.
                tracing::warn!(error = %e, "AUP acceptance could not be checked");
                return false;
            }
        };
        if let Ok(mut cache) = self.cache.lock() {
            for c in cache
                .values_mut()
                .filter(|c| c.who.person_id == who.person_id)
            {
                c.aup_accepted = accepted;
                c.aup_checked = Some(Instant::now());
            }
        }
        !accepted
    }
}

/// Whether and when a password stops being accepted.
enum Expiry {
    Expired,
    At(Instant),
    Never,
}

/// Whether `person`'s password has expired under the profile's rotation rule, and if not, when
/// it will.
async fn password_expiry(
    login: &ProxyLogin,
    person: &AccountHolder,
) -> Result<Expiry, AccountsError> {
    let Some(days) = login.passwords.staff_rotation_days else {
        return Ok(Expiry::Never);
    };
    let Some(changed_at) = login.accounts.password_changed_at(person.id).await? else {
        return Ok(Expiry::Expired);
    };
    // An unreadable date counts as expired: the user changes the password in the web app.
    let Some(changed) = events::parse_timestamp(&changed_at) else {
        return Ok(Expiry::Expired);
    };
    let now = login.accounts.now_utc();
    if policy::people::password_expired(&login.passwords, person.roles, changed, now) {
        return Ok(Expiry::Expired);
    }
    if !person.roles.any(policy::Role::is_staff) {
        return Ok(Expiry::Never);
    }
    let left = (changed + chrono::Duration::days(i64::from(days)) - now)
        .to_std()
        .unwrap_or_default();
    Ok(Expiry::At(Instant::now() + left))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_read_and_anything_else_is_not() {
        let mut h = HeaderMap::new();
        assert!(basic(&h).is_none());
        // "pupil1:pass:word" (a colon in the password is kept).
        h.insert(
            hyper::header::PROXY_AUTHORIZATION,
            hyper::header::HeaderValue::from_static("Basic cHVwaWwxOnBhc3M6d29yZA=="),
        );
        assert_eq!(
            basic(&h),
            Some(("pupil1".to_string(), "pass:word".to_string()))
        );
        h.insert(
            hyper::header::PROXY_AUTHORIZATION,
            hyper::header::HeaderValue::from_static("Bearer abc"),
        );
        assert!(basic(&h).is_none());
        h.insert(
            hyper::header::PROXY_AUTHORIZATION,
            hyper::header::HeaderValue::from_static("Basic !!!"),
        );
        assert!(basic(&h).is_none());
    }
}
