//! The roles register (issue 18, part 6): each of the profile's roles with its title, what the
//! policy says it must do, the DfE filtering and monitoring duty the profile gives it, and the
//! people who hold it now, for the school's staff and governors. A role with a duty and no
//! holder is flagged here and on the leaders' dashboards.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{Chrome, RoleRow, RolesPage, render};
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use policy::{Action, Object, Role};
use serde::Serialize;
use serde_json::{Value, json};

/// One role of the register.
#[derive(Debug, Clone, Serialize)]
pub struct RoleHolding {
    pub role: &'static str,
    pub title: String,
    pub responsibilities: Vec<String>,
    /// The DfE duties the profile gives this role.
    pub duties: Vec<&'static str>,
    /// (username, name) of each active person holding it.
    pub holders: Vec<(String, String)>,
    /// Holders the profile names who are not an active person holding it here.
    pub named_missing: Vec<String>,
}

/// The profile's roles (and any role a duty names), with their holders, in the profile's order.
pub async fn holdings(state: &AppState) -> Result<Vec<RoleHolding>, WebError> {
    let profile = state.profile_in_force();
    let people = state.store.people(None).await?;
    let duties = profile.registers.filtering_duties();
    let as_holders: Vec<_> = people.iter().map(store::Person::holder).collect();
    let missing = policy::registers::holder_problems(&profile, &as_holders);
    let mut roles: Vec<Role> = profile.roles.keys().copied().collect();
    for (r, _) in &duties {
        if !roles.contains(r) {
            roles.push(*r);
        }
    }
    Ok(roles
        .into_iter()
        .map(|role| RoleHolding {
            role: role.as_str(),
            title: profile.role_title(role).to_string(),
            responsibilities: profile
                .roles
                .get(&role)
                .map(|e| e.responsibilities.clone())
                .unwrap_or_default(),
            duties: duties
                .iter()
                .filter(|(r, _)| *r == role)
                .map(|(_, d)| *d)
                .collect(),
            holders: people
                .iter()
                .filter(|p| p.active && p.roles.contains(role))
                .map(|p| (p.username.clone(), p.display_name.clone()))
                .collect(),
            named_missing: missing
                .iter()
                .filter(|m| m.role == role)
                .map(|m| m.name.clone())
                .collect(),
        })
        .collect())
}

/// The roles with a DfE duty that nobody holds: their titles.
pub async fn unheld_duties(
    store: &store::Store,
    profile: &policy::Profile,
) -> Result<Vec<String>, WebError> {
    let duties = profile.registers.filtering_duties();
    if duties.is_empty() {
        return Ok(Vec::new());
    }
    let people = store.people(None).await?;
    let mut out: Vec<String> = Vec::new();
    for (role, _) in duties {
        let title = profile.role_title(role).to_string();
        if !people.iter().any(|p| p.active && p.roles.contains(role)) && !out.contains(&title) {
            out.push(title);
        }
    }
    Ok(out)
}

/// `GET /registers/roles`.
pub async fn page(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    user.permit(Action::ViewPeople, Object::School)?;
    let rows = holdings(&state)
        .await?
        .into_iter()
        .map(|h| RoleRow {
            unheld: h.holders.is_empty(),
            named_missing: h.named_missing.join(", "),
            role: h.role.to_string(),
            title: h.title,
            responsibilities: h.responsibilities,
            duties: h.duties.iter().map(|d| d.to_string()).collect(),
            holders: h
                .holders
                .into_iter()
                .map(|(u, n)| format!("{n} ({u})"))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    Ok(render(&RolesPage {
        chrome: Chrome::new(&state, &user, "Roles", "/registers/roles"),
        rows,
    }))
}

/// `GET /api/v1/registers/roles`: the same, as JSON.
pub async fn json(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, WebError> {
    user.permit(Action::ViewPeople, Object::School)?;
    let roles: Vec<Value> = holdings(&state)
        .await?
        .into_iter()
        .map(|h| {
            json!({"role": h.role, "title": h.title, "responsibilities": h.responsibilities,
                   "duties": h.duties, "named_but_not_holding": h.named_missing,
                   "holders": h.holders.iter().map(|(u, n)| json!({"username": u, "name": n})).collect::<Vec<_>>()})
        })
        .collect();
    Ok(Json(json!({ "roles": roles })))
}
