//! `/account/two-factor`: one's own second factor (TOTP). Setting it up shows a QR code and the
//! secret as text, confirmed by a code from the app; ten recovery codes are shown once; it is
//! turned off with a current code, unless the profile requires it of the holder's role.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{Chrome, TwoFactorPage, refused_if, render, when};
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use policy::{Action, Object, Permit};
use serde::Deserialize;
use store::factors::CodeRefused;

/// `POST /people/{id}/account/two-factor/reset`, from the person's page: turns off someone
/// else's second factor, so that they enrol again (a lost phone). Asked as giving them every
/// role they hold; refused for one's own.
pub async fn reset(
    State(state): State<AppState>,
    user: CurrentUser,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<Response, WebError> {
    let person = state
        .store
        .person(id)
        .await?
        .ok_or_else(|| crate::routes::people::unknown_person(&state, &user))?;
    let permit = crate::routes::people::roles_permit(
        &state,
        &user,
        Action::ResetSecondFactor,
        Some(id),
        person.roles,
    )?;
    state.store.reset_totp(&permit, id).await?;
    Ok(Redirect::to(&format!("/people/{id}?two_factor_reset=1")).into_response())
}

/// The permit every change here takes: the user's own account.
fn own(user: &CurrentUser) -> Result<Permit, WebError> {
    user.permit(Action::ManageOwnAccount, Object::Person(user.person.id))
}

/// Whether the user's roles need a second factor under their own school's profile.
fn required(state: &AppState, user: &CurrentUser) -> bool {
    state.totp_required(user.person.roles)
}

/// The page, with `error` (400 when there is one) or the recovery codes just made.
async fn two_factor_page(
    state: &AppState,
    user: &CurrentUser,
    error: Option<String>,
    recovery_codes: Vec<String>,
) -> Result<Response, WebError> {
    let store = &state.store;
    let account = store
        .account(user.person.id)
        .await?
        .ok_or(WebError::NotFound)?;
    let school = state.profile.school.name.clone();
    let setup = if account.has_totp() {
        None
    } else {
        store
            .totp_setup(
                user.person.id,
                &format!("Palisade {school}"),
                &user.person.username,
            )
            .await?
            .map(|s| (s.secret, s.qr_png_base64))
    };
    let page = render(&TwoFactorPage {
        chrome: Chrome::new(state, user, "Two-factor sign-in", "/account"),
        error: error.clone(),
        enrolled: account.totp_enrolled_at.as_deref().map(when),
        required: required(state, user),
        setup,
        recovery_codes,
        recovery_left: store.recovery_codes_left(user.person.id).await?,
        school,
    });
    Ok(refused_if(error.is_some(), page))
}

/// `GET /account/two-factor`.
pub async fn page(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    two_factor_page(&state.home_of(&user), &user, None, Vec::new()).await
}

/// `POST /account/two-factor/start`: a new secret waits for its first code.
pub async fn start(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    let state = state.home_of(&user);
    state.store.begin_totp(&own(&user)?, user.person.id).await?;
    Ok(Redirect::to("/account/two-factor").into_response())
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

/// What a refused code is told.
fn refusal(why: CodeRefused) -> String {
    match why {
        CodeRefused::Wrong => {
            "code: that is not the code your app shows now; check the app is set up with the key above and try again".into()
        }
        CodeRefused::Replayed => "code: that code was already used; wait for the next one".into(),
    }
}

/// The page after a code that makes recovery codes: the codes, shown this once, or why the
/// code was refused.
async fn codes_made(
    state: &AppState,
    user: &CurrentUser,
    outcome: Result<Vec<String>, CodeRefused>,
) -> Result<Response, WebError> {
    match outcome {
        Ok(codes) => two_factor_page(state, user, None, codes).await,
        Err(why) => two_factor_page(state, user, Some(refusal(why)), Vec::new()).await,
    }
}

/// `POST /account/two-factor/confirm`: the app's first code turns the second factor on and
/// shows the recovery codes, this once.
pub async fn confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    let state = state.home_of(&user);
    let outcome = state
        .store
        .confirm_totp(&own(&user)?, user.person.id, &f.code)
        .await?;
    codes_made(&state, &user, outcome).await
}

/// `POST /account/two-factor/recovery-codes`: ten new recovery codes for old ones used up or
/// lost, with a current code from the app; shown once.
pub async fn renew_codes(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    let state = state.home_of(&user);
    let outcome = state
        .store
        .renew_recovery_codes(&own(&user)?, user.person.id, &f.code)
        .await?;
    codes_made(&state, &user, outcome).await
}

/// `POST /account/two-factor/remove`: turns it off with a current code, unless the profile
/// requires it of the user's role.
pub async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    let state = state.home_of(&user);
    if required(&state, &user) {
        let why = "The school's password policy requires two-factor sign-in for your role: it cannot be turned off.";
        return two_factor_page(&state, &user, Some(why.into()), Vec::new()).await;
    }
    match state
        .store
        .remove_totp(&own(&user)?, user.person.id, &f.code)
        .await?
    {
        Ok(()) => Ok(Redirect::to("/account/two-factor").into_response()),
        Err(why) => two_factor_page(&state, &user, Some(refusal(why)), Vec::new()).await,
    }
}
