//! Signing in: the password (with the throttle and the profile's lockout), then, for an
//! account with a second factor, its code. The web form takes the code on a second page: a
//! right password starts a short-lived challenge (its own cookie, reaching nothing but the
//! code's form), never a session. The API takes both at once (`totp`).

use super::{random_token, set_cookie, token_hash};
use crate::AppState;
use crate::error::WebError;
use crate::throttle::Throttled;
use std::net::IpAddr;
use store::Person;
use store::factors::{CodeRefused, SecondFactor};
use store::passwords::LoginFailure;
use store::sign_ins::FailureReason;

/// How long the code may follow a right password.
pub const CHALLENGE_MINUTES: i64 = 5;
/// The cookie that carries the challenge from the password to the code.
pub const CHALLENGE_COOKIE: &str = "palisade_challenge";

/// A successful sign-in: the new session's token and CSRF token.
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub person: Person,
    /// The profile requires a second factor of the person's roles and none is enrolled: the
    /// session reaches only the enrolment page until one is.
    pub second_factor_missing: bool,
}

/// Where a right password leads.
pub enum Signed {
    /// Signed in.
    In(Box<NewSession>),
    /// The account's code is still to come (the web form): the challenge's token, for its
    /// cookie.
    NeedsCode { challenge: String },
}

/// How the code of an account with a second factor comes.
#[derive(Clone, Copy)]
pub enum CodeStep<'a> {
    /// On a page of its own, after the password (the web form).
    Later,
    /// With the password, if at all (the API's `totp`).
    With(Option<&'a str>),
}

/// Why a sign-in did not go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// An unknown name or a wrong password.
    Invalid,
    /// Locked after too many failures.
    Locked,
    /// The account signs in with a code too, and none came.
    CodeNeeded,
    /// A wrong code, or one already used.
    WrongCode,
    /// The code's page came too late, or without a password before it.
    ChallengeOver,
    /// The password may be known to someone: the API refuses it until a new one is set on the
    /// web.
    MustChangePassword,
    /// The profile's `sign_in.password_for` leaves out a role the person holds: they sign in
    /// through the school's provider instead.
    PasswordNotAllowed,
}

impl Refused {
    /// The error the API answers with.
    pub fn error(self) -> WebError {
        match self {
            Refused::Invalid => WebError::BadCredentials,
            Refused::Locked => WebError::Locked,
            Refused::CodeNeeded => WebError::CodeRequired,
            Refused::WrongCode => WebError::WrongCode,
            Refused::ChallengeOver => WebError::Unauthenticated,
            Refused::MustChangePassword => WebError::MustChangePassword,
            Refused::PasswordNotAllowed => WebError::PasswordNotAllowed,
        }
    }
}

impl From<LoginFailure> for Refused {
    fn from(f: LoginFailure) -> Self {
        match f {
            LoginFailure::Invalid => Refused::Invalid,
            LoginFailure::Locked => Refused::Locked,
        }
    }
}

/// The `Set-Cookie` value that carries a challenge to the code's page.
pub fn challenge_cookie(token: &str) -> String {
    set_cookie(CHALLENGE_COOKIE, token, Some(CHALLENGE_MINUTES * 60))
}

/// The `Set-Cookie` value that ends one.
pub fn clear_challenge_cookie() -> String {
    set_cookie(CHALLENGE_COOKIE, "", Some(0))
}

/// Refuses at once when `source` (or everyone) has failed too often lately.
fn throttle(state: &AppState, source: Option<IpAddr>) -> Result<(), WebError> {
    state
        .sign_ins
        .check(source)
        .map_err(|throttled| match throttled {
            Throttled::Address(seconds) => WebError::Throttled {
                seconds,
                message: format!(
                    "too many failed sign-ins from your address; try again in {seconds} seconds"
                ),
            },
            Throttled::Overall(seconds) => WebError::Throttled {
                seconds,
                message: format!(
                    "too many failed sign-ins at the moment; try again in {seconds} seconds"
                ),
            },
        })
}

/// Checks a username and password from `source`, applies the throttle (per address and
/// overall) and the profile's lockout; then, for an account with a second factor, either
/// starts the code's step ([`CodeStep::Later`]) or checks the code that came with it. Starts
/// a session when everything was right.
pub async fn login(
    state: &AppState,
    source: Option<IpAddr>,
    username: &str,
    password: &str,
    code: CodeStep<'_>,
) -> Result<Result<Signed, Refused>, WebError> {
    throttle(state, source)?;
    // The user's school, from the directory of logins: from here on the sign-in sees that
    // school alone. An unknown name fails in this state's school, as a wrong password would.
    let school = state.store.school_of_login(username).await?;
    let state = &match school.and_then(|id| state.in_school(id)) {
        Some(school) => school,
        None => state.clone(),
    };
    let (store, rules) = (&state.store, &state.profile.passwords);
    let person = match store
        .check_credentials(
            username,
            password,
            rules.lockout_attempts,
            rules.lockout_minutes,
        )
        .await?
    {
        Ok(p) => p,
        Err(failure) => {
            state.sign_ins.failed(source);
            let reason = match failure {
                LoginFailure::Invalid => FailureReason::UnknownOrWrong,
                LoginFailure::Locked => FailureReason::Locked,
            };
            store
                .record_sign_in_failure(reason, source, Some(username), None)
                .await?;
            return Ok(Err(failure.into()));
        }
    };
    let account = store.account(person.id).await?.ok_or(WebError::NotFound)?;
    // Told only after a right password, so that the answer says nothing of a name's roles.
    if !state.profile.sign_in.password_allowed(person.roles) {
        return Ok(Err(Refused::PasswordNotAllowed));
    }
    if account.has_totp() {
        match code {
            CodeStep::Later => {
                let challenge = state.school_token();
                store
                    .start_challenge(
                        person.id,
                        &token_hash(&challenge),
                        chrono::Duration::minutes(CHALLENGE_MINUTES),
                    )
                    .await?;
                return Ok(Ok(Signed::NeedsCode { challenge }));
            }
            CodeStep::With(None) => return Ok(Err(Refused::CodeNeeded)),
            CodeStep::With(Some(code)) => {
                if let Err(refused) = second_factor(state, source, &person, code).await? {
                    return Ok(Err(refused));
                }
            }
        }
    }
    // The web's session for such an account reaches only the page that sets a new password;
    // the API, which cannot set one, is refused.
    if matches!(code, CodeStep::With(_)) && account.must_change_password() {
        return Ok(Err(Refused::MustChangePassword));
    }
    let missing = state.totp_required(person.roles) && !account.has_totp();
    Ok(Ok(Signed::In(Box::new(
        open_session(state, person, missing).await?,
    ))))
}

/// The code's step of a web sign-in: the challenge its cookie carries must still be live; a
/// right code (or unused recovery code) ends it and starts the session.
pub async fn finish_with_code(
    state: &AppState,
    source: Option<IpAddr>,
    challenge: &str,
    code: &str,
) -> Result<Result<NewSession, Refused>, WebError> {
    throttle(state, source)?;
    let state = &match crate::schools::school_of_token(challenge).and_then(|id| state.in_school(id))
    {
        Some(school) => school,
        None => state.clone(),
    };
    let hash = token_hash(challenge);
    let Some(person_id) = state.store.challenge(&hash).await? else {
        return Ok(Err(Refused::ChallengeOver));
    };
    let Some(person) = state.store.person(person_id).await? else {
        return Ok(Err(Refused::ChallengeOver));
    };
    if let Err(refused) = second_factor(state, source, &person, code).await? {
        if refused == Refused::Locked {
            state.store.end_challenge(&hash).await?;
        }
        return Ok(Err(refused));
    }
    state.store.end_challenge(&hash).await?;
    Ok(Ok(open_session(state, person, false).await?))
}

/// Checks the code (or recovery code) of `person`, whose password was right: a refusal is
/// counted (the lockout, the throttle) and recorded in the register of failed sign-ins.
async fn second_factor(
    state: &AppState,
    source: Option<IpAddr>,
    person: &Person,
    code: &str,
) -> Result<Result<(), Refused>, WebError> {
    let rules = &state.profile.passwords;
    let checked = state
        .store
        .check_second_factor(
            person.id,
            code,
            rules.lockout_attempts,
            rules.lockout_minutes,
        )
        .await?;
    let (reason, refused) = match checked {
        SecondFactor::Code | SecondFactor::RecoveryCode { .. } => return Ok(Ok(())),
        SecondFactor::Locked => (FailureReason::Locked, Refused::Locked),
        SecondFactor::Refused { why, locked } => (
            match why {
                CodeRefused::Wrong => FailureReason::WrongCode,
                CodeRefused::Replayed => FailureReason::ReplayedCode,
            },
            if locked {
                Refused::Locked
            } else {
                Refused::WrongCode
            },
        ),
    };
    state.sign_ins.failed(source);
    state
        .store
        .record_sign_in_failure(reason, source, Some(&person.username), None)
        .await?;
    Ok(Err(refused))
}

/// Starts a session for `person` (and clears their failed sign-ins).
async fn open_session(
    state: &AppState,
    person: Person,
    second_factor_missing: bool,
) -> Result<NewSession, WebError> {
    open_session_through(state, person, second_factor_missing, None).await
}

/// [`open_session`] for a sign-in by `method` (`Some("oidc")`), which the audit row names.
pub(super) async fn open_session_through(
    state: &AppState,
    person: Person,
    second_factor_missing: bool,
    method: Option<&str>,
) -> Result<NewSession, WebError> {
    let token = state.school_token();
    let csrf_token = random_token();
    state
        .store
        .start_session_through(
            person.id,
            &token_hash(&token),
            &csrf_token,
            chrono::Duration::hours(super::SESSION_HOURS),
            method,
        )
        .await?;
    Ok(NewSession {
        token,
        csrf_token,
        person,
        second_factor_missing,
    })
}
