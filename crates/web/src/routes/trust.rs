//! The trust's own pages, for the trust's people (signed in at the trust's row): the schools
//! their roles cover, with what waits in each, and choosing the school to work in from the
//! browser (API clients send `X-Palisade-School` instead); the lists across schools are in
//! [`lists`]. Everyone else gets 404.

pub mod filtering;
pub mod lists;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::ops;
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
use store::ConcernFilter;
use store::ConcernRecord;

/// The trust `user` is one of the people of, or 404.
fn trust_of<'a>(state: &'a AppState, user: &CurrentUser) -> Result<&'a Arc<Trust>, WebError> {
    state
        .trust
        .as_ref()
        .filter(|t| t.id == user.home_school)
        .ok_or(WebError::NotFound)
}

/// A school `user`'s trust roles cover: its slug and name, its state, and `user` acting there
/// with the school roles the trust's roles give them.
pub(crate) struct Covered {
    pub slug: String,
    pub name: String,
    pub state: AppState,
    pub user: CurrentUser,
}

/// Each school `user`'s trust roles cover, in the trust profile's order; 404 for anyone who is
/// not one of the trust's people.
pub(crate) fn covered_schools(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Vec<Covered>, WebError> {
    let trust = trust_of(state, user)?;
    let mut out = Vec::new();
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
        out.push(Covered {
            slug: site.slug.clone(),
            name: site.profile.school.name.clone(),
            state: school,
            user: there,
        });
    }
    Ok(out)
}

/// The concerns `user` (acting in a school) may handle there: those they see in full.
pub(crate) async fn handled_concerns(
    school: &AppState,
    user: &CurrentUser,
    filter: &ConcernFilter,
) -> Result<Vec<ConcernRecord>, WebError> {
    if !user.may(Action::ListConcerns, Object::School) {
        return Ok(Vec::new());
    }
    Ok(ops::visible_concerns(school, user, filter).await?.0)
}

/// Each school `user`'s trust roles cover, with what waits there for those roles.
async fn covered(state: &AppState, user: &CurrentUser) -> Result<Vec<TrustSchoolRow>, WebError> {
    let mut rows = Vec::new();
    for Covered {
        slug,
        name,
        state: school,
        user: there,
    } in covered_schools(state, user)?
    {
        let seen = handled_concerns(&school, &there, &ConcernFilter::default()).await?;
        // The school's dashboard for their role there already counted its open alerts.
        let due = crate::dashboard::due_items(&school, &there).await?;
        let open_alerts = if there.may(
            Action::HandleAlerts,
            crate::routes::alerts::inbox_object(&school),
        ) {
            due.iter()
                .find(|i| i.kind == "alerts.open")
                .map_or(0, |i| i.count)
                .to_string()
        } else {
            "-".into()
        };
        let roles = there.actor.roles;
        rows.push(TrustSchoolRow {
            slug,
            name,
            roles: roles
                .iter()
                .map(|r| school.profile.role_title(r).to_string())
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
            overdue_concerns: seen
                .iter()
                .filter(|c| ops::triage_overdue(&school, c))
                .count(),
            triage_hours: school.profile.concerns.triage_within_hours,
            open_alerts,
            due: due.len(),
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
    let mut sees_concerns = false;
    let mut sees_alerts = false;
    let mut sees_filtering = false;
    for c in covered_schools(&state, &user)? {
        sees_concerns |= c.user.may(
            Action::ViewConcernQueue,
            Object::Queue {
                team: c.state.profile.concerns.team.iter().copied().collect(),
            },
        );
        sees_alerts |= c.user.may(
            Action::HandleAlerts,
            crate::routes::alerts::inbox_object(&c.state),
        );
        sees_filtering |= c.state.filtering_permit(&c.user).is_ok();
    }
    Ok(render(&TrustPage {
        chrome: Chrome::new(&state, &user, trust.profile.trust.name.clone(), "/trust"),
        trust: trust.profile.trust.name.clone(),
        acting: crate::schools::school_cookie(&headers),
        schools,
        sees_concerns,
        sees_alerts,
        sees_filtering,
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
                   "overdue_concerns": r.overdue_concerns, "triage_within_hours": r.triage_hours,
                   "open_alerts": r.open_alerts.parse::<u64>().ok(), "due": r.due})
        })
        .collect();
    Ok(Json(json!({ "schools": out })))
}

#[derive(Deserialize)]
pub struct Choice {
    school: String,
    /// The page of that school to open (a concern or alert of the trust's lists), else its home.
    #[serde(default)]
    next: Option<String>,
}

/// `POST /trust/school`: work in a school the trust's roles cover (its pages from then on, from
/// the one `next` names), or with an empty choice, back at the trust.
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
    let next = super::session::safe_next(f.next.as_deref());
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
}
