//! The trust's own pages, for the trust's people (signed in at the trust's row): the schools
//! their roles cover, with what waits in each, and choosing the school to work in from the
//! browser (API clients send `X-Palisade-School` instead). Everyone else gets 404.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::ops::{self, Access};
use crate::schools::{SCHOOL_COOKIE, Trust};
use crate::views::{Chrome, TrustPage, TrustSchoolRow, render};
use axum::Json;
use axum::extract::{Form, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use policy::{Action, ConcernStatus, Object};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use store::{AlertFilter, ConcernFilter};

/// The trust `user` is one of the people of, or 404.
fn trust_of<'a>(state: &'a AppState, user: &CurrentUser) -> Result<&'a Arc<Trust>, WebError> {
    state
        .trust
        .as_ref()
        .filter(|t| t.id == user.home_school)
        .ok_or(WebError::NotFound)
}

/// Each school `user`'s trust roles cover, with what waits there for those roles.
async fn covered(state: &AppState, user: &CurrentUser) -> Result<Vec<TrustSchoolRow>, WebError> {
    let trust = trust_of(state, user)?;
    let mut rows = Vec::new();
    for (id, site) in state.schools.iter() {
        if *id == trust.id {
            continue;
        }
        let roles = trust.profile.roles_in(user.actor.roles, &site.slug);
        let Some(school) = state.in_school(*id).filter(|_| !roles.is_empty()) else {
            continue;
        };
        let mut there = user.clone();
        there.actor.roles = roles;
        there.person.roles = roles;
        let concerns = school
            .store
            .concerns_for(&there.actor, &ConcernFilter::default())
            .await?;
        let seen: Vec<_> = concerns
            .iter()
            .filter(|c| ops::access_to(&there, c) == Some(Access::Full))
            .collect();
        let open_alerts = if there.may(Action::HandleAlerts, Object::School) {
            let open = AlertFilter {
                status: Some("open".into()),
                ..AlertFilter::default()
            };
            school.store.alerts(&open, 10_000).await?.len().to_string()
        } else {
            "-".into()
        };
        rows.push(TrustSchoolRow {
            slug: site.slug.clone(),
            name: site.profile.school.name.clone(),
            roles: roles
                .iter()
                .map(|r| site.profile.role_title(r).to_string())
                .collect::<Vec<_>>()
                .join(", "),
            open_concerns: seen
                .iter()
                .filter(|c| c.status != ConcernStatus::Closed)
                .count(),
            new_concerns: seen
                .iter()
                .filter(|c| c.status == ConcernStatus::New)
                .count(),
            open_alerts,
        });
    }
    Ok(rows)
}

/// `GET /trust`: the trust's schools for its people.
pub async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: axum::http::HeaderMap,
) -> Result<Response, WebError> {
    let schools = covered(&state, &user).await?;
    let trust = trust_of(&state, &user)?;
    Ok(render(&TrustPage {
        chrome: Chrome::new(&state, &user, trust.profile.trust.name.clone(), "/trust"),
        trust: trust.profile.trust.name.clone(),
        acting: crate::schools::school_cookie(&headers),
        schools,
    }))
}

/// `GET /api/v1/trust/schools`: the same, as JSON.
pub async fn schools(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, WebError> {
    let rows = covered(&state, &user).await?;
    let out: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"slug": r.slug, "name": r.name, "roles": r.roles,
                   "open_concerns": r.open_concerns, "new_concerns": r.new_concerns,
                   "open_alerts": r.open_alerts.parse::<u64>().ok()})
        })
        .collect();
    Ok(Json(json!({ "schools": out })))
}

#[derive(Deserialize)]
pub struct Choice {
    school: String,
}

/// `POST /trust/school`: work in a school the trust's roles cover (its pages from then on), or
/// with an empty choice, back at the trust.
pub async fn choose(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<Choice>,
) -> Result<Response, WebError> {
    let schools = covered(&state, &user).await?;
    if f.school.is_empty() {
        let clear = crate::auth::set_cookie(SCHOOL_COOKIE, "", Some(0));
        return Ok(([(header::SET_COOKIE, clear)], Redirect::to("/trust")).into_response());
    }
    if !schools.iter().any(|s| s.slug == f.school) {
        return Err(WebError::NotFound);
    }
    let cookie = crate::auth::set_cookie(SCHOOL_COOKIE, &f.school, None);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response())
}
