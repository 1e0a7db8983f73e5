//! The code of conduct a signed-in person must sign (issue 18, part 2): the register's current
//! version of their audience's code, or the profile's `aup_version` with the built-in text while
//! the school keeps none here. The proxy's click-through sends people here, and where the profile
//! has staff sign before use, so does every other page; one acknowledgement serves both.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{AupPage, Chrome, render, when};
use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use policy::conduct::Audience;
use policy::{Action, Object};
use serde::Deserialize;
use std::net::SocketAddr;
use store::CodeStanding;

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

/// The code `user` must sign, or 404 when there is none for them.
async fn standing(state: &AppState, user: &CurrentUser) -> Result<CodeStanding, WebError> {
    state
        .store
        .code_standing(&user.person, &state.profile.code_of_conduct)
        .await?
        .ok_or(WebError::NotFound)
}

/// Whether `user` must sign the current staff code before any other page: the profile has
/// staff sign before use, the register holds the code, and they have not signed this version.
pub async fn must_sign_code(state: &AppState, user: &CurrentUser) -> Result<bool, WebError> {
    let rules = &state.profile.code_of_conduct;
    if !rules.gates(Audience::of(user.person.kind, user.person.roles)) {
        return Ok(false);
    }
    let Some(s) = state.store.code_standing(&user.person, rules).await? else {
        return Ok(false);
    };
    Ok(s.document.is_some() && s.signed_at.is_none())
}

/// Signs `user`'s current code as themselves (`version`, when given, must be it): the code, and
/// whether a new signature was written. Where the code is discussed each year, this school
/// year's signature is a new one.
pub async fn sign_current(
    state: &AppState,
    user: &CurrentUser,
    version: Option<&str>,
    client_ip: &str,
) -> Result<(CodeStanding, bool), WebError> {
    let own = user.permit(Action::ManageOwnAccount, Object::Person(user.person.id))?;
    let s = standing(state, user).await?;
    if let Some(v) = version
        && v.trim() != s.version
    {
        return Err(WebError::BadRequest(format!(
            "version: `{}` is not the current version of your code ({})",
            v.trim(),
            s.version
        )));
    }
    let today = state.store.clock().school_now().date_naive();
    let fresh_from = state.profile.code_of_conduct.counts_from(s.audience, today);
    let written = state
        .store
        .acknowledge(
            &own,
            user.person.id,
            s.kind,
            &s.version,
            fresh_from,
            client_ip,
        )
        .await?;
    Ok((s, written))
}

/// Web addresses (after the proxy's click-through) and this site's own pages (after the gate)
/// are followed after signing; nothing else (no `javascript:`, no `//elsewhere`).
fn safe_return(url: &str) -> String {
    let url = url.trim();
    let web = url.starts_with("http://") || url.starts_with("https://");
    let local = url.starts_with('/') && !url.starts_with("//") && !url.contains('\\');
    if (web || local) && url.len() <= 4096 && url != "/aup" {
        url.to_string()
    } else {
        String::new()
    }
}

/// `GET /aup`: the code, and whether (and when) the user signed this version.
pub async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AupQuery>,
) -> Result<Response, WebError> {
    let s = standing(&state, &user).await?;
    let gated = state.profile.code_of_conduct.gates(s.audience) && s.document.is_some();
    let title = match &s.document {
        Some(d) => d.title.clone(),
        None => "Acceptable Use Policy".to_string(),
    };
    Ok(render(&AupPage {
        chrome: Chrome::new(&state, &user, &title, "/aup"),
        school: state.profile.school.name.clone(),
        title,
        version: s.version.clone(),
        body: s.document.as_ref().map(|d| d.body.clone()),
        gated: gated && s.signed_at.is_none(),
        file: s
            .document
            .as_ref()
            .and_then(|d| d.file_name.clone().map(|f| (d.id, f))),
        accepted: s.signed_at.as_deref().map(when),
        return_to: safe_return(&q.return_to),
    }))
}

/// `POST /aup`: records the signature, then offers the way back to the page the user wanted.
pub async fn accept(
    State(state): State<AppState>,
    user: CurrentUser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(f): Form<AcceptForm>,
) -> Result<Response, WebError> {
    sign_current(&state, &user, None, &peer.ip().to_string()).await?;
    // Back to this page (which then links on): the content security policy does not let a
    // form send the browser to another site directly.
    let back = safe_return(&f.return_to);
    Ok(if back.starts_with('/') {
        Redirect::to(&back).into_response()
    } else if back.is_empty() {
        Redirect::to("/aup").into_response()
    } else {
        Redirect::to(&format!("/aup?return={}", crate::urlencode(&back))).into_response()
    })
}
