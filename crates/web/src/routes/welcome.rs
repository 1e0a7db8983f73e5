//! A new account's holder sets their first password through the one-time link that whoever
//! made the account was shown once. No session: the link's token is the proof.

use crate::AppState;
use crate::auth::{self, CurrentUser};
use crate::error::WebError;
use crate::views::{Chrome, WelcomePage, refused_if, render};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

/// Longest token accepted (a real one is 64 hex digits): anything else is simply not found.
const MAX_TOKEN: usize = 128;

async fn page(
    state: &AppState,
    token: &str,
    csrf: String,
    error: Option<String>,
) -> Result<Response, WebError> {
    if token.len() > MAX_TOKEN {
        return Err(WebError::NotFound);
    }
    let person = state
        .store
        .welcome_for(&auth::token_hash(token), &state.store.now())
        .await?
        .ok_or(WebError::NotFound)?;
    let mut chrome = Chrome::anonymous(&state.profile.school.name, "Choose your password");
    chrome.csrf = csrf;
    let page = render(&WelcomePage {
        chrome,
        error: error.clone(),
        name: person.display_name,
        username: person.username,
        action: format!("/welcome/{token}"),
        min_len: state.profile.passwords.min_length,
    });
    Ok(refused_if(error.is_some(), page))
}

/// The form, for an unused and unexpired link; 404 for any other.
pub async fn form(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let csrf = user.map(|u| u.0.csrf_token).unwrap_or_default();
    page(&state, &token, csrf, None).await
}

#[derive(Deserialize)]
pub struct WelcomeForm {
    new: String,
    confirm: String,
}

/// Sets the password under the profile's rules and spends the link; then to the sign-in page.
pub async fn set_password(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    Path(token): Path<String>,
    Form(f): Form<WelcomeForm>,
) -> Result<Response, WebError> {
    let csrf = user.map(|u| u.0.csrf_token).unwrap_or_default();
    if token.len() > MAX_TOKEN {
        return Err(WebError::NotFound);
    }
    let hash = auth::token_hash(&token);
    let person = state
        .store
        .welcome_for(&hash, &state.store.now())
        .await?
        .ok_or(WebError::NotFound)?;
    let problem = if f.new != f.confirm {
        Some("password: the two passwords differ".to_string())
    } else {
        policy::people::check_password(&state.profile.passwords, &f.new, &person.username)
            .err()
            .map(|e| e.to_string())
    };
    if let Some(problem) = problem {
        return page(&state, &token, csrf, Some(problem)).await;
    }
    let new = f.new;
    let password_hash = tokio::task::spawn_blocking(move || auth::hash_password(&new))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
    state
        .store
        .accept_welcome(&hash, &password_hash, &state.store.now())
        .await?
        .ok_or(WebError::NotFound)?;
    Ok((
        [(header::SET_COOKIE, auth::clear_cookie())],
        Redirect::to("/login?changed=1"),
    )
        .into_response())
}
