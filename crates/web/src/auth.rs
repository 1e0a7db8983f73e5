//! Sign-in, sessions and CSRF: Argon2id password hashes, lockout from the profile, session
//! cookies that are Secure, HttpOnly and SameSite=Strict, and a per-session CSRF token that every
//! state-changing request must carry.

use crate::AppState;
use crate::error::WebError;
use crate::throttle::Throttled;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use policy::Actor;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use store::Person;

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

/// A successful sign-in: the new session's token and CSRF token.
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub person: Person,
}

/// Checks a username and password from `source`, applies the throttle (per address and
/// overall) and the profile's lockout, and starts a session.
pub async fn login(
    state: &AppState,
    source: Option<IpAddr>,
    username: &str,
    password: &str,
) -> Result<Result<NewSession, LoginFailure>, WebError> {
    if let Err(throttled) = state.sign_ins.check(source) {
        return Err(match throttled {
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
        });
    }
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
                LoginFailure::Invalid => store::sign_ins::FailureReason::UnknownOrWrong,
                LoginFailure::Locked => store::sign_ins::FailureReason::Locked,
            };
            store
                .record_sign_in_failure(reason, source, Some(username), None)
                .await?;
            return Ok(Err(failure));
        }
    };
    let token = state.school_token();
    let csrf_token = random_token();
    store
        .start_session(
            person.id,
            &token_hash(&token),
            &csrf_token,
            chrono::Duration::hours(SESSION_HOURS),
        )
        .await?;
    Ok(Ok(NewSession {
        token,
        csrf_token,
        person,
    }))
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
    let password_expired = match account {
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

/// What a member of staff who must sign the code of conduct first may still reach: the code
/// (its page and the API that signs it), and sign-out.
const ALLOWED_BEFORE_SIGNING: [&str; 6] = [
    "/aup",
    "/api/v1/acknowledgements",
    "/logout",
    "/api/v1/logout",
    "/api/v1/me",
    "/healthz",
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
    // Signing in creates a session rather than using one, so it needs no token.
    let path = req.uri().path();
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || path == "/login"
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
    if user.password_expired
        && !ALLOWED_WITH_EXPIRED_PASSWORD.contains(&parts.uri.path())
        && !parts.uri.path().starts_with("/static/")
    {
        return Err(WebError::PasswordExpired);
    }
    if !ALLOWED_BEFORE_SIGNING.contains(&parts.uri.path())
        && !parts.uri.path().starts_with("/static/")
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
