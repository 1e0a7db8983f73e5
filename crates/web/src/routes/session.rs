//! Sign-in and sign-out pages.

use crate::AppState;
use crate::auth::{self, CurrentUser, LoginFailure};
use crate::error::WebError;
use crate::throttle::SourceAddr;
use crate::views::{Chrome, LoginPage, render};
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
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
    render(&LoginPage {
        chrome,
        error: None,
        next: safe_next(q.next.as_deref()),
        username: String::new(),
    })
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
    match auth::login(&state, source, &f.username, &f.password).await? {
        Ok(session) => Ok((
            [(header::SET_COOKIE, auth::session_cookie(&session.token))],
            Redirect::to(&next),
        )
            .into_response()),
        Err(failure) => {
            let (status, error) = match failure {
                LoginFailure::Invalid => (StatusCode::UNAUTHORIZED, WebError::BadCredentials),
                LoginFailure::Locked => (StatusCode::TOO_MANY_REQUESTS, WebError::Locked),
            };
            let page = render(&LoginPage {
                chrome: Chrome::anonymous(&state.profile.school.name, "Sign in"),
                error: Some(error.to_string()),
                next,
                username: f.username,
            });
            Ok((status, page).into_response())
        }
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
