//! "My password may be known to someone": from one's own account page (and the API), or, for
//! the Headteacher and the network manager, from anyone's page. Every session of the account
//! ends at once and it needs a new password before anything else (see
//! `store::compromised`).
//!
//! The holder who says so from the web keeps one fresh session, which reaches only the page
//! that sets the new password, so that they can set it at once; every other session (the
//! other browsers, the API's) ends. From the API, which cannot set a password, every session
//! ends, that one too.

use super::people::unknown_person;
use crate::AppState;
use crate::auth::{self, CurrentUser};
use crate::error::WebError;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use policy::{Action, Object};
use store::compromised::FreshSession;

/// The roles whose holders' accounts are mailed to the DSLs too: every role that reads
/// concerns (the safeguarding roles, and the Headteacher, who reads those about staff).
fn concern_readers(state: &AppState) -> policy::RoleSet {
    state.profile.concerns.audiences().concern_readers()
}

/// Says the user's own password may be known; with `fresh`, keeps a new session of theirs (its
/// token and CSRF token are returned).
async fn report_own(
    state: &AppState,
    user: &CurrentUser,
    fresh: bool,
) -> Result<Option<String>, WebError> {
    let home = state.home_of(user);
    let permit = user.permit(
        Action::ReportOwnPasswordKnown,
        Object::Person(user.person.id),
    )?;
    let token = home.school_token();
    let hash = auth::token_hash(&token);
    let csrf = auth::random_token();
    let session = fresh.then(|| FreshSession {
        token_hash: &hash,
        csrf_token: &csrf,
        lifetime: chrono::Duration::hours(auth::SESSION_HOURS),
    });
    home.store
        .report_password_known(&permit, concern_readers(&home), user.person.id, session)
        .await?;
    Ok(fresh.then_some(token))
}

/// `POST /account/password-known`: every other session ends; this browser goes on to set a
/// new password.
pub async fn own_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    let token = report_own(&state, &user, true).await?.unwrap_or_default();
    Ok((
        [(header::SET_COOKIE, auth::session_cookie(&token))],
        Redirect::to("/account"),
    )
        .into_response())
}

/// `POST /api/v1/account/password-known`: every session ends, this one too (204).
pub async fn own_api(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    report_own(&state, &user, false).await?;
    Ok((
        [(header::SET_COOKIE, auth::clear_cookie())],
        StatusCode::NO_CONTENT,
    )
        .into_response())
}

/// Says person `id`'s password may be known: the Headteacher or the network manager.
async fn force(state: &AppState, user: &CurrentUser, id: i64) -> Result<(), WebError> {
    let permit = user.permit(Action::ForcePasswordChange, Object::Person(id))?;
    if state.store.person(id).await?.is_none() {
        return Err(unknown_person(state, user));
    }
    state
        .store
        .report_password_known(&permit, concern_readers(state), id, None)
        .await?;
    Ok(())
}

/// `POST /people/{id}/account/password-known`, from the person's page.
pub async fn force_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    force(&state, &user, id).await?;
    Ok(Redirect::to(&format!("/people/{id}?password_known=1")).into_response())
}

/// `POST /api/v1/people/{id}/password-known` (204).
pub async fn force_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    force(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
