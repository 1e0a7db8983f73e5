//! Your own account: see it, and change your password (also when the profile's rotation rule
//! has expired it).

use crate::AppState;
use crate::auth::{self, CurrentUser};
use crate::error::WebError;
use crate::views::{AccountPage, Chrome, refused_if, render, when};
use axum::Form;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use policy::{Action, Object};
use serde::Deserialize;

/// The signed-in user's login account (a session without one is a bug: not found).
async fn own_account(state: &AppState, user: &CurrentUser) -> Result<store::Account, WebError> {
    state
        .store
        .account(user.person.id)
        .await?
        .ok_or(WebError::NotFound)
}

async fn account_page(
    state: &AppState,
    user: &CurrentUser,
    error: Option<String>,
) -> Result<Response, WebError> {
    let account = own_account(state, user).await?;
    let p = &state.profile;
    let aup = state
        .store
        .code_standing(&user.person, &p.code_of_conduct)
        .await?
        .map(|s| match s.signed_at {
            Some(at) => format!("version {} signed {}", s.version, when(&at)),
            None => format!("version {} not signed yet", s.version),
        });
    // A leaver sees what they are to hand back before their leaving date.
    let me = &user.person;
    let checklist = if me.leaves_on.is_some() {
        let loans = state.store.loans_of(me.id).await?;
        crate::routes::people::leavers::checklist_of(state, me, &loans).await?
    } else {
        Vec::new()
    };
    let page = render(&AccountPage {
        leaves_on: me.leaves_on.clone(),
        checklist,
        aup,
        chrome: Chrome::new(state, user, "Your account", "/account"),
        expired: user.password_expired && !user.must_change_password,
        error: error.clone(),
        name: user.person.display_name.clone(),
        username: user.person.username.clone(),
        roles: user
            .person
            .roles
            .iter()
            .map(|r| p.role_title(r).to_string())
            .collect::<Vec<_>>()
            .join(", "),
        changed: when(&account.password_changed_at),
        rotation_days: p
            .passwords
            .staff_rotation_days
            .filter(|_| user.person.roles.any(policy::Role::is_staff))
            .unwrap_or(0),
        also_rotate: if user.person.roles.any(policy::Role::is_staff) {
            p.passwords.rotation_applies_to.clone()
        } else {
            Vec::new()
        },
        min_len: p.passwords.min_length,
        first_contact_title: p.role_title(p.concerns.first_contact).to_string(),
        must_change: user.must_change_password,
        two_factor: account.totp_enrolled_at.as_deref().map(when),
        two_factor_required: state.totp_required(user.person.roles),
    });
    Ok(refused_if(error.is_some(), page))
}

pub async fn page(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    account_page(&state.home_of(&user), &user, None).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<PasswordForm>,
) -> Result<Response, WebError> {
    let state = state.home_of(&user);
    let account = own_account(&state, &user).await?;
    let ok = store::passwords::verify_limited(&f.current, &account.password_hash).await?;
    let problem = if !ok {
        Some("current password: that is not your current password".to_string())
    } else if f.new != f.confirm {
        Some("new password: the two new passwords differ".to_string())
    } else if f.new == f.current {
        Some("new password: must differ from the current one".to_string())
    } else {
        policy::people::check_password(&state.profile.passwords, &f.new, &user.person.username)
            .err()
            .map(|e| e.to_string())
    };
    if let Some(problem) = problem {
        return account_page(&state, &user, Some(problem)).await;
    }
    let hash = store::passwords::hash_limited(&f.new).await?;
    // Every session of this account ends, this one included: sign in again with the new password.
    let own = user.permit(Action::ManageOwnAccount, Object::Person(user.person.id))?;
    state
        .store
        .set_password(&own, user.person.id, &hash)
        .await?;
    Ok((
        [(header::SET_COOKIE, auth::clear_cookie())],
        Redirect::to("/login?changed=1"),
    )
        .into_response())
}
