//! One person's page: who they are as the MIS and the school know them, their links, account,
//! leaving date, and the sections other registers add (devices on loan, the leavers' checklist,
//! the subject access export). Seen by those who may see the people list.

use super::unknown_person;
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{Chrome, PersonPage, render, when};
use axum::extract::{Path, State};
use axum::response::Response;
use policy::{Action, Object, PersonKind};

/// Whether `user` may open people's pages: as for the people list, and the leavers' keepers
/// (the network manager takes devices back).
pub fn may_see_people(user: &CurrentUser) -> bool {
    user.may(Action::ManagePeople, Object::School)
        || user.may(Action::ViewChronology, Object::School)
        || user.may(Action::ManageSignIns, Object::School)
        || user.may(Action::ManageLeavers, Object::School)
}

/// `GET /people/{id}`.
pub async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    if !may_see_people(&user) {
        return Err(WebError::Forbidden);
    }
    let person = state
        .store
        .person(id)
        .await?
        .ok_or_else(|| unknown_person(&state, &user))?;
    let links = match person.kind {
        PersonKind::Pupil => state.store.parents_of(id).await?,
        PersonKind::Parent => state.store.children_of(id).await?,
        _ => Vec::new(),
    };
    let account = state.store.account(id).await?;
    let can_reset_factor = account.as_ref().is_some_and(|a| a.has_totp())
        && super::roles_permit(
            &state,
            &user,
            Action::ResetSecondFactor,
            Some(id),
            person.roles,
        )
        .is_ok();
    let account = match account {
        None => "none",
        Some(a) if !a.is_active() => "disabled",
        Some(a) if a.password_hash == store::welcome::NO_PASSWORD_YET => "invited",
        Some(a) if a.locked_at(state.store.now_utc()) => "locked",
        Some(_) => "active",
    };
    let roles = person
        .roles
        .iter()
        .map(|r| state.profile.role_title(r).to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let chronology = (person.kind == PersonKind::Pupil
        && user.may(Action::ViewChronology, Object::School))
    .then(|| format!("/pupils/{id}/chronology"));
    let loans = state.store.loans_of(id).await?;
    let checklist = super::leavers::checklist_of(&state, &person, &loans).await?;
    Ok(render(&PersonPage {
        loans,
        can_return: user.may(Action::ManageDevices, Object::School),
        checklist,
        can_tick: user.may(Action::ManageLeavers, Object::School),
        today: state.store.school_today(),
        subject_access: user
            .may(Action::ExportSubjectAccess, Object::Person(id))
            .then(|| format!("/people/{id}/subject-access")),
        can_force_password: user.may(Action::ForcePasswordChange, Object::Person(id))
            && matches!(account, "active" | "locked"),
        can_reset_factor,
        chrome: Chrome::new(&state, &user, &person.display_name, "/people"),
        can_manage: user.may(Action::ManagePeople, Object::Person(id)),
        links: links
            .into_iter()
            .map(|p| (p.id, p.display_name, p.kind.as_str().to_string()))
            .collect(),
        account: account.to_string(),
        roles,
        chronology,
        left: person.left_at.as_deref().map(when),
        expires: person.expires_at.as_deref().map(when),
        person,
    }))
}
