//! Sign-in and sign-out pages.

use crate::AppState;
use crate::auth::{self, CodeStep, CurrentUser, Refused, Signed};
use crate::error::WebError;
use crate::throttle::SourceAddr;
use crate::views::{Chrome, LoginCodePage, LoginPage, render};
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct NextParam {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    changed: Option<String>,
}

/// Only local paths: never redirect off-site after sign-in. A path must start with one `/`
/// (not `//` or `/\`, which browsers read as another host) and hold no backslash and no
/// control character (browsers drop tabs and newlines, so `/\t/evil` becomes `//evil`; a
/// newline cannot go in a `Location` header at all). Anything else goes to `/`.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

pub async fn login_page(State(state): State<AppState>, Query(q): Query<NextParam>) -> Response {
    let mut chrome = Chrome::anonymous(&state.profile.school.name, "Sign in");
    if q.changed.is_some() {
        chrome.flash = Some("Your password was changed. Sign in with the new one.".into());
    }
    let next = safe_next(q.next.as_deref());
    render(&LoginPage {
        chrome,
        error: None,
        oidc: oidc_button(&state, &next),
        next,
        username: String::new(),
    })
}

/// The button of the school's provider, when the profile has one: its label and link.
pub(crate) fn oidc_button(state: &AppState, next: &str) -> Option<(String, String)> {
    let oidc = state.profile.sign_in.oidc.as_ref()?;
    Some((
        format!("Sign in with {}", oidc.provider.label()),
        format!("/login/oidc?next={}", crate::urlencode(next)),
    ))
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn login_form(
    State(state): State<AppState>,
    SourceAddr(source): SourceAddr,
    Form(f): Form<LoginForm>,
) -> Result<Response, WebError> {
    let next = safe_next(f.next.as_deref());
    match auth::login(&state, source, &f.username, &f.password, CodeStep::Later).await? {
        Ok(Signed::In(session)) => Ok((
            [(header::SET_COOKIE, auth::session_cookie(&session.token))],
            Redirect::to(&next),
        )
            .into_response()),
        // The password was right; the code comes on a page of its own.
        Ok(Signed::NeedsCode { challenge }) => Ok((
            [(header::SET_COOKIE, auth::challenge_cookie(&challenge))],
            Redirect::to(&format!("/login/code?next={}", crate::urlencode(&next))),
        )
            .into_response()),
        Err(refused) => Ok(login_refused(&state, refused, next, f.username)),
    }
}

/// The sign-in page again, saying why it did not go through.
fn login_refused(state: &AppState, refused: Refused, next: String, username: String) -> Response {
    let (status, error) = match refused {
        Refused::Locked => (StatusCode::TOO_MANY_REQUESTS, WebError::Locked.to_string()),
        Refused::PasswordNotAllowed => (
            StatusCode::FORBIDDEN,
            match &state.profile.sign_in.oidc {
                Some(oidc) => format!(
                    "Your school signs you in with your school account, not a Palisade password: use the “Sign in with {}” button.",
                    oidc.provider.label()
                ),
                None => WebError::PasswordNotAllowed.to_string(),
            },
        ),
        Refused::ChallengeOver => (
            StatusCode::UNAUTHORIZED,
            "The sign-in was not finished in time: enter your password again.".to_string(),
        ),
        _ => (
            StatusCode::UNAUTHORIZED,
            WebError::BadCredentials.to_string(),
        ),
    };
    login_page_with_error(state, status, error, next, username)
}

/// The sign-in page with `error` at its top, answered with `status`.
pub(crate) fn login_page_with_error(
    state: &AppState,
    status: StatusCode,
    error: String,
    next: String,
    username: String,
) -> Response {
    let page = render(&LoginPage {
        chrome: Chrome::anonymous(&state.profile.school.name, "Sign in"),
        error: Some(error),
        oidc: oidc_button(state, &next),
        next,
        username,
    });
    (status, page).into_response()
}

/// `GET /login/code`: the second step, for a sign-in whose password was right.
pub async fn code_page(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Query(q): Query<NextParam>,
) -> Result<Response, WebError> {
    let next = safe_next(q.next.as_deref());
    if auth::cookie(&headers, auth::CHALLENGE_COOKIE).is_none() {
        return Ok(
            Redirect::to(&format!("/login?next={}", crate::urlencode(&next))).into_response(),
        );
    }
    Ok(code_form_page(&state, None, next))
}

fn code_form_page(state: &AppState, error: Option<String>, next: String) -> Response {
    render(&LoginCodePage {
        chrome: Chrome::anonymous(&state.profile.school.name, "Sign in: code"),
        error,
        next,
        minutes: auth::CHALLENGE_MINUTES,
    })
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /login/code`: a right code (or unused recovery code) finishes the sign-in; a wrong or
/// replayed one is refused and counted like a wrong password.
pub async fn code_form(
    State(state): State<AppState>,
    SourceAddr(source): SourceAddr,
    headers: axum::http::HeaderMap,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    let next = safe_next(f.next.as_deref());
    let Some(challenge) = auth::cookie(&headers, auth::CHALLENGE_COOKIE) else {
        return Ok(
            Redirect::to(&format!("/login?next={}", crate::urlencode(&next))).into_response(),
        );
    };
    match auth::finish_with_code(&state, source, &challenge, &f.code).await? {
        Ok(session) => Ok((
            AppendHeaders([
                (header::SET_COOKIE, auth::session_cookie(&session.token)),
                (header::SET_COOKIE, auth::clear_challenge_cookie()),
            ]),
            Redirect::to(&next),
        )
            .into_response()),
        Err(Refused::WrongCode) => Ok((
            StatusCode::UNAUTHORIZED,
            code_form_page(&state, Some(WebError::WrongCode.to_string()), next),
        )
            .into_response()),
        Err(refused) => Ok((
            [(header::SET_COOKIE, auth::clear_challenge_cookie())],
            login_refused(&state, refused, next, String::new()),
        )
            .into_response()),
    }
}

pub async fn logout_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    let cleared = auth::sign_out(&state, &user).await?;
    Ok((cleared, Redirect::to("/login")).into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_plain_local_paths_are_followed_after_sign_in() {
        for ok in ["/", "/concerns/3", "/alerts?status=open", "/%2F%2Fevil"] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "/\t/127.0.0.1:18999/phish",
            "/\n/evil",
            "/\r\nSet-Cookie: x=y",
            "//evil",
            "/\\evil",
            "/ok\\..\\evil",
            "https://evil",
            "evil",
            "",
            "/\u{7f}/evil",
            "/\u{85}/evil",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
