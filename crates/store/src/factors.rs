//! Second factors: TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, one step of skew
//! either way) and ten one-time recovery codes, for the web and API sign-in.
//!
//! The TOTP secret (20 random bytes) is stored as base32 in the account's row and never leaves
//! the store except on its holder's enrolment page; nothing here logs it or derives `Debug`
//! for it. It is not encrypted at rest: the server must read it to check a code, so a key for
//! it would sit beside the database, and a copy of the database already holds everything the
//! second factor protects (the safeguarding log itself). What a stolen copy gains is a way past
//! the second factor of a password it must still crack (Argon2id).
//!
//! A code is accepted once: the last time step a code was accepted for is kept, and a code of
//! that step or an earlier one is refused as replayed. Recovery codes are kept only as the
//! SHA-256 of 80 random bits, and each works once.

use crate::{Result, StoreError};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret, TOTP};

mod enrolment;
mod sign_in;

pub use enrolment::TotpSetup;
pub use sign_in::SecondFactor;

/// Seconds in one TOTP time step.
pub const STEP_SECONDS: i64 = 30;
/// Digits of a code.
pub const DIGITS: usize = 6;
/// Steps either side of now whose code is accepted (a phone's clock a little off).
pub const SKEW_STEPS: i64 = 1;
/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// Why a code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefused {
    /// Not the code of any step near now (nor an unused recovery code).
    Wrong,
    /// The code of a step already used, or of one before it.
    Replayed,
}

/// What checking a code against a secret found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodeCheck {
    /// The code of this step, later than any used before.
    Accepted(i64),
    Refused(CodeRefused),
}

/// The TOTP time step `at` falls in.
pub fn step_at(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(STEP_SECONDS)
}

/// A new random secret (20 bytes, as RFC 4226 recommends), base32 without padding.
fn new_secret() -> String {
    Secret::generate_secret().to_encoded().to_string()
}

/// The TOTP generator for a stored base32 secret, labelled for authenticator apps with
/// `issuer` and `account` (colons, which the key URI reserves, become spaces).
fn generator(secret: &str, issuer: &str, account: &str) -> Result<TOTP> {
    let bytes = Secret::Encoded(secret.to_string())
        .to_bytes()
        .map_err(|_| corrupt("the stored TOTP secret is not base32"))?;
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        // Skew is applied here, not by totp-rs, so that the step that matched is known.
        0,
        STEP_SECONDS.unsigned_abs(),
        bytes,
        Some(issuer.replace(':', " ")),
        account.replace(':', " "),
    )
    .map_err(|e| corrupt(&format!("the stored TOTP secret cannot be used: {e}")))
}

fn corrupt(message: &str) -> StoreError {
    StoreError::Corrupt {
        table: "accounts",
        id: "totp_secret".into(),
        message: message.to_string(),
    }
}

/// The code of time step `step` for `secret` (what an authenticator app shows then).
pub fn code_for_step(secret: &str, step: i64) -> Result<String> {
    let seconds = u64::try_from(step.max(0) * STEP_SECONDS).unwrap_or(0);
    Ok(generator(secret, "Palisade", "code")?.generate(seconds))
}

/// Checks `code` against `secret` at `now`: the code of a step within [`SKEW_STEPS`] of now,
/// and later than `last_step` (the last one accepted) if there was one.
fn check_code(
    secret: &str,
    code: &str,
    now: DateTime<Utc>,
    last_step: Option<i64>,
) -> Result<CodeCheck> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(CodeCheck::Refused(CodeRefused::Wrong));
    }
    let now_step = step_at(now);
    let mut matched = None;
    // Every candidate is computed and compared, whichever matches, so that the time taken says
    // nothing about which step (if any) the code was for.
    for step in now_step - SKEW_STEPS..=now_step + SKEW_STEPS {
        if constant_time_eq(code_for_step(secret, step)?.as_bytes(), code.as_bytes()) {
            matched = Some(step);
        }
    }
    Ok(match matched {
        None => CodeCheck::Refused(CodeRefused::Wrong),
        Some(step) if last_step.is_some_and(|last| step <= last) => {
            CodeCheck::Refused(CodeRefused::Replayed)
        }
        Some(step) => CodeCheck::Accepted(step),
    })
}

/// Ten new recovery codes as their holder writes them down (`abcd-efgh-ijkl-mnop`, 80 random
/// bits each).
fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let bytes = Secret::generate_secret()
                .to_bytes()
                .unwrap_or_default()
                .into_iter()
                .take(10)
                .collect::<Vec<u8>>();
            let text = Secret::Raw(bytes).to_encoded().to_string().to_lowercase();
            text.as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// A recovery code as typed, reduced to what is hashed: letters and digits, lower case.
fn normalised_recovery_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The stored form of a recovery code.
fn recovery_hash(code: &str) -> String {
    hex::encode(Sha256::digest(normalised_recovery_code(code).as_bytes()))
}

/// Whether what was typed at the code step looks like a TOTP code rather than a recovery code.
fn looks_like_totp(input: &str) -> bool {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's SHA-1 test secret, "12345678901234567890", in base32.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap_or_default()
    }

    #[test]
    fn codes_follow_rfc_6238() {
        // RFC 6238 appendix B gives 8 digits (94287082, 07081804, 14050471, 89005924); six
        // digits are their last six.
        for (seconds, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
        ] {
            assert_eq!(
                code_for_step(RFC_SECRET, step_at(at(seconds))).unwrap_or_default(),
                code
            );
        }
    }

    #[test]
    fn a_code_is_accepted_within_one_step_and_never_twice() {
        let now = at(1_234_567_890);
        let step = step_at(now);
        for s in [step - 1, step, step + 1] {
            let code = code_for_step(RFC_SECRET, s).unwrap_or_default();
            assert_eq!(
                check_code(RFC_SECRET, &code, now, None).ok(),
                Some(CodeCheck::Accepted(s))
            );
        }
        let old = code_for_step(RFC_SECRET, step - 2).unwrap_or_default();
        assert_eq!(
            check_code(RFC_SECRET, &old, now, None).ok(),
            Some(CodeCheck::Refused(CodeRefused::Wrong))
        );
        let code = code_for_step(RFC_SECRET, step).unwrap_or_default();
        for last in [step, step + 1] {
            assert_eq!(
                check_code(RFC_SECRET, &code, now, Some(last)).ok(),
                Some(CodeCheck::Refused(CodeRefused::Replayed))
            );
        }
        assert_eq!(
            check_code(RFC_SECRET, &code, now, Some(step - 1)).ok(),
            Some(CodeCheck::Accepted(step))
        );
        for junk in ["", "12345", "1234567", "abcdef", "12 34 5x"] {
            assert_eq!(
                check_code(RFC_SECRET, junk, now, None).ok(),
                Some(CodeCheck::Refused(CodeRefused::Wrong)),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn recovery_codes_are_long_random_and_hash_as_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let distinct: std::collections::BTreeSet<&String> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        for c in &codes {
            assert_eq!(c.len(), 19, "{c}");
            assert!(!looks_like_totp(c));
            assert_eq!(
                recovery_hash(c),
                recovery_hash(&c.to_uppercase().replace('-', " "))
            );
        }
        assert!(looks_like_totp(" 123 456 "));
    }

    #[test]
    fn new_secrets_are_twenty_bytes_of_base32() {
        let s = new_secret();
        assert_eq!(
            Secret::Encoded(s).to_bytes().map(|b| b.len()).ok(),
            Some(20)
        );
    }
}
