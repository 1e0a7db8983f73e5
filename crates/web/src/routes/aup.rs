//! The Acceptable Use Policy click-through: the proxy sends a signed-in user here until they
//! accept the profile's current version; acceptance is recorded with time, version and device.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{AupPage, Chrome, render, when};
use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use policy::{Action, Object};
use serde::Deserialize;
use std::net::SocketAddr;

#[derive(Deserialize, Default)]
pub struct AupQuery {
    #[serde(default, rename = "return")]
    return_to: String,
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    return_to: String,
}

fn version(state: &AppState) -> Result<String, WebError> {
    state
        .profile
        .code_of_conduct
        .aup_version
        .clone()
        .ok_or(WebError::NotFound)
}

/// Only web addresses are followed after acceptance (no `javascript:` and the like).
fn safe_return(url: &str) -> String {
    let url = url.trim();
    if (url.starts_with("http://") || url.starts_with("https://")) && url.len() <= 4096 {
        url.to_string()
    } else {
        String::new()
    }
}

/// `GET /aup`: the policy, and whether (and when) the user accepted this version.
pub async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AupQuery>,
) -> Result<Response, WebError> {
    let version = version(&state)?;
    let accepted = state
        .store
        .aup_accepted_at(user.person.id, &version)
        .await?
        .map(|at| when(&at));
    Ok(render(&AupPage {
        chrome: Chrome::new(&state, &user, "Acceptable Use Policy", "/aup"),
        school: state.profile.school.name.clone(),
        version,
        accepted,
        return_to: safe_return(&q.return_to),
    }))
}

/// `POST /aup`: records acceptance, then offers the way back to the page the user wanted.
pub async fn accept(
    State(state): State<AppState>,
    user: CurrentUser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(f): Form<AcceptForm>,
) -> Result<Response, WebError> {
    let version = version(&state)?;
    let own = user.permit(Action::ManageOwnAccount, Object::Person(user.person.id))?;
    state
        .store
        .accept_aup(&own, user.person.id, &version, &peer.ip().to_string())
        .await?;
    // Back to this page (which then links on): the content security policy does not let a
    // form send the browser to another site directly.
    let back = safe_return(&f.return_to);
    Ok(if back.is_empty() {
        Redirect::to("/aup").into_response()
    } else {
        Redirect::to(&format!("/aup?return={}", crate::urlencode(&back))).into_response()
    })
}
