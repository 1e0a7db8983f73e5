//! Sign-in, sessions and CSRF: Argon2id password hashes, lockout from the profile, session
//! cookies that are Secure, HttpOnly and SameSite=Strict, and a per-session CSRF token that every
//! state-changing request must carry; and what a session reaches while its password must change
//! or its required second factor is not enrolled yet. The password and code steps of signing in
//! are in `auth/sign_in.rs`.

use crate::AppState;
use crate::error::WebError;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use policy::Actor;
use sha2::{Digest, Sha256};
use store::Person;

pub mod oidc;
mod sign_in;
pub use sign_in::{
    CHALLENGE_COOKIE, CHALLENGE_MINUTES, CodeStep, NewSession, Refused, Signed, challenge_cookie,
    clear_challenge_cookie, finish_with_code, login,
};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "palisade_session";
/// The header API clients send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field (or, for file uploads, query parameter) pages send it in.
pub const CSRF_FIELD: &str = "csrf_token";
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 8;
/// Largest form body the CSRF check will read.
const MAX_FORM_BYTES: usize = 256 * 1024;

pub use store::passwords::LoginFailure;
pub use store::passwords::verify as verify_password;

/// Hashes a password with Argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, WebError> {
    store::passwords::hash(password).map_err(|e| WebError::Internal(e.to_string()))
}

/// 32 random bytes as hex: session tokens and CSRF tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

/// The stored form of a session token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A `Set-Cookie` value for this site: `Secure`, `HttpOnly` and `SameSite=Strict`, for
/// `max_age` seconds (`None`: until the browser closes).
pub(crate) fn set_cookie(name: &str, value: &str, max_age: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; Secure; SameSite=Strict");
    if let Some(seconds) = max_age {
        c.push_str(&format!("; Max-Age={seconds}"));
    }
    c
}

/// The `Set-Cookie` value that starts a session.
pub fn session_cookie(token: &str) -> String {
    set_cookie(SESSION_COOKIE, token, Some(SESSION_HOURS * 3600))
}

/// The `Set-Cookie` value that ends one.
pub fn clear_cookie() -> String {
    set_cookie(SESSION_COOKIE, "", Some(0))
}

/// Signs `user` out: ends their session in the store and returns the header that clears its
/// cookie (the form and the API answer differently around it).
pub async fn sign_out(
    state: &AppState,
    user: &CurrentUser,
) -> Result<[(header::HeaderName, String); 1], WebError> {
    let home = state.store.in_school(user.home_school);
    home.end_session(&user.token_hash).await?;
    Ok([(header::SET_COOKIE, clear_cookie())])
}

/// The session token a request's cookie carries.
pub(crate) fn cookie_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of a request's cookie `name`, if it is there and not empty.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The signed-in user of a request; extracting it fails with 401 (API) or a redirect to the
/// sign-in page when there is no live session.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub person: Person,
    pub actor: Actor,
    pub csrf_token: String,
    pub token_hash: String,
    /// The profile's rotation rule says this password must be changed before anything else.
    pub password_expired: bool,
    /// Someone said this password may be known: a new one before anything else.
    pub must_change_password: bool,
    /// The profile requires a second factor of this person's roles and none is enrolled yet:
    /// the enrolment page before anything else.
    pub second_factor_missing: bool,
    /// The school (or trust) whose session this is: a trust's person acting in a school
    /// still signs out of the trust's.
    pub home_school: i64,
}

pub(crate) async fn session_of(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<CurrentUser>, WebError> {
    let Some(token) = cookie_token(headers) else {
        return Ok(None);
    };
    let hash = token_hash(&token);
    let idle = chrono::Duration::minutes(i64::from(state.profile.passwords.session_idle_minutes));
    let Some(store::SignedIn {
        session,
        person,
        account,
    }) = state.store.signed_in(&hash, idle).await?
    else {
        return Ok(None);
    };
    let must_change_password = account
        .as_ref()
        .is_some_and(store::Account::must_change_password);
    // The school's provider did the second factor, and no Palisade password was used.
    let through_provider = session.method.as_deref() == Some("oidc");
    let second_factor_missing = !through_provider
        && state.totp_required(person.roles)
        && account.as_ref().is_some_and(|a| !a.has_totp());
    let password_expired = match account {
        Some(_) if through_provider => false,
        Some(a) => store::parse_timestamp(&a.password_changed_at).is_some_and(|changed| {
            policy::people::password_expired(
                &state.profile.passwords,
                person.roles,
                changed,
                state.store.now_utc(),
            )
        }),
        None => false,
    };
    Ok(Some(CurrentUser {
        password_expired,
        must_change_password,
        second_factor_missing,
        actor: Actor {
            person_id: person.id,
            roles: person.roles,
        },
        person,
        csrf_token: session.csrf_token,
        token_hash: hash,
        home_school: state.store.school_id(),
    }))
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        session_of(state, &parts.headers)
            .await?
            .ok_or(WebError::Unauthenticated)
    }
}

/// What a user whose password has expired may still reach: the page to change it, and sign-out.
const ALLOWED_WITH_EXPIRED_PASSWORD: [&str; 5] = [
    "/account",
    "/account/password",
    "/logout",
    "/api/v1/logout",
    "/api/v1/me",
];

/// What a person whose role requires a second factor may reach before they have enrolled one:
/// the enrolment page and its forms, and sign-out.
const ALLOWED_BEFORE_SECOND_FACTOR: [&str; 8] = [
    "/account/two-factor",
    "/account/two-factor/start",
    "/account/two-factor/confirm",
    "/logout",
    "/api/v1/logout",
    "/api/v1/me",
    "/healthz",
    "/readyz",
];

/// What a member of staff who must sign the code of conduct first may still reach: the code
/// (its page and the API that signs it), and sign-out.
const ALLOWED_BEFORE_SIGNING: [&str; 7] = [
    "/aup",
    "/api/v1/acknowledgements",
    "/logout",
    "/api/v1/logout",
    "/api/v1/me",
    "/healthz",
    "/readyz",
];

/// Middleware: for every state-changing request with a session, the CSRF token must arrive in
/// the `X-CSRF-Token` header, the `csrf_token` form field, or (file uploads) query parameter.
/// The session it found is passed on so handlers do not look it up twice.
pub async fn csrf_guard(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, WebError> {
    // A trust's person acting in this school comes already signed in (see `schools::app`).
    let user = match req.extensions().get::<CurrentUser>() {
        Some(user) => Some(user.clone()),
        None => session_of(&state, req.headers()).await?,
    };
    // Signing in creates a session rather than using one, so it needs no token (the code's
    // step is bound to its challenge cookie, which is SameSite=Strict).
    let path = req.uri().path();
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || path == "/login"
        || path == "/login/code"
        || path == "/api/v1/login";
    let Some(user) = user else {
        return Ok(next.run(req).await);
    };
    let (mut parts, body) = req.into_parts();
    let mut body = Body::new(body);
    if !safe {
        let expected = user.csrf_token.as_bytes();
        let header = parts
            .headers
            .get(CSRF_HEADER)
            .map(|v| v.as_bytes().to_vec());
        let query = parts
            .uri
            .query()
            .and_then(|q| form_field(q.as_bytes(), CSRF_FIELD));
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let mut presented = header.or(query);
        if presented.is_none() && is_form {
            let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
                .await
                .map_err(|_| {
                    WebError::TooLarge(format!("a form may be at most {MAX_FORM_BYTES} bytes"))
                })?;
            presented = form_field(&bytes, CSRF_FIELD);
            body = Body::from(bytes);
        }
        if !presented.is_some_and(|p| constant_time_eq(&p, expected)) {
            return Err(WebError::Csrf);
        }
    }
    let path_is = |allowed: &[&str]| {
        allowed.contains(&parts.uri.path()) || parts.uri.path().starts_with("/static/")
    };
    if user.must_change_password && !path_is(&ALLOWED_WITH_EXPIRED_PASSWORD) {
        return Err(WebError::MustChangePassword);
    }
    if user.password_expired && !path_is(&ALLOWED_WITH_EXPIRED_PASSWORD) {
        return Err(WebError::PasswordExpired);
    }
    // A second factor comes after a new password (whose pages the gates above keep open) and
    // before the code of conduct: its pages are all that is open.
    let enrolling =
        user.second_factor_missing && !user.must_change_password && !user.password_expired;
    if enrolling && !path_is(&ALLOWED_BEFORE_SECOND_FACTOR) {
        return Err(WebError::SecondFactorRequired);
    }
    if !enrolling
        && !path_is(&ALLOWED_BEFORE_SIGNING)
        && crate::routes::must_sign_code(&state, &user).await?
    {
        return Err(WebError::CodeUnsigned);
    }
    let source = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let path = parts.uri.path().to_string();
    let username = user.person.username.clone();
    parts.extensions.insert(user);
    let res = next.run(Request::from_parts(parts, body)).await;
    if res.status() == axum::http::StatusCode::FORBIDDEN {
        // A refused request by a signed-in person: counted for the network manager.
        if let Err(e) = state
            .store
            .record_sign_in_failure(
                store::sign_ins::FailureReason::Denied,
                source,
                Some(&username),
                Some(&path),
            )
            .await
        {
            tracing::warn!(error = %e, "a refused request could not be recorded");
        }
    }
    Ok(res)
}

/// The value of one field of a URL-encoded form or query string.
fn form_field(encoded: &[u8], name: &str) -> Option<Vec<u8>> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(encoded)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_found_and_decoded() {
        assert_eq!(
            form_field(b"a=1&csrf_token=x%2By", "csrf_token"),
            Some(b"x+y".to_vec())
        );
        assert_eq!(form_field(b"a=1", "csrf_token"), None);
    }
}
