//! The people pages: the Headteacher and Data Manager add people and accounts and mark leavers.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{Chrome, NewPersonPage, PeoplePage, PersonRow, render};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use policy::{Action, Decision, Object, PersonKind, Role, RoleSet};
use serde::Deserialize;
use store::NewPerson;

fn require(user: &CurrentUser, action: Action) -> Result<(), WebError> {
    match policy::can(&user.actor, action, Object::School) {
        Decision::Allow => Ok(()),
        refusal => Err(refusal.into()),
    }
}

/// Adds a person, optionally with a login account and parent links; used by the form and the API.
pub async fn add_person(
    state: &AppState,
    user: &CurrentUser,
    new: &NewPerson,
    password: Option<&str>,
    parent_of: &[String],
) -> Result<i64, WebError> {
    new.validate()?;
    let mut children = Vec::new();
    for username in parent_of {
        let child = state
            .store
            .person_by_username(username)
            .await?
            .filter(|c| c.kind == PersonKind::Pupil)
            .ok_or_else(|| {
                WebError::BadRequest(format!("parent_of: `{username}` is not a pupil's username"))
            })?;
        if new.kind != PersonKind::Parent {
            return Err(WebError::BadRequest(
                "parent_of: only a parent or carer can be linked to pupils".into(),
            ));
        }
        children.push(child.id);
    }
    let hash = match password {
        Some(pw) => {
            policy::people::check_password(&state.profile.passwords, pw, &new.username)?;
            Some(store::passwords::hash_limited(pw).await?)
        }
        None => None,
    };
    let id = state.store.create_person(Some(user.person.id), new).await?;
    if let Some(hash) = hash {
        state
            .store
            .create_account(Some(user.person.id), id, &hash)
            .await?;
    }
    for child in children {
        state
            .store
            .link_parent(Some(user.person.id), id, child)
            .await?;
    }
    Ok(id)
}

pub async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    let can_manage =
        policy::can(&user.actor, Action::ManagePeople, Object::School) == Decision::Allow;
    let chronology =
        policy::can(&user.actor, Action::ViewChronology, Object::School) == Decision::Allow;
    let can_unlock =
        policy::can(&user.actor, Action::ManageSignIns, Object::School) == Decision::Allow;
    if !can_manage && !chronology && !can_unlock {
        return Err(WebError::Forbidden);
    }
    let at = state.store.now_utc();
    let mut rows = Vec::new();
    for p in state.store.people(None).await? {
        let account_row = state.store.account(p.id).await?;
        let locked = account_row.as_ref().is_some_and(|a| a.locked_at(at));
        let account = match account_row {
            Some(_) if locked => "locked",
            Some(a) if a.is_active() => "active",
            Some(_) => "disabled",
            None => "none",
        };
        rows.push(PersonRow {
            id: p.id,
            name: p.display_name.clone(),
            username: p.username.clone(),
            kind: p.kind.as_str().to_string(),
            roles: p
                .roles
                .iter()
                .map(|r| state.profile.role_title(r).to_string())
                .collect::<Vec<_>>()
                .join(", "),
            class_info: [p.year_group.clone(), p.class_name.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", "),
            account: account.to_string(),
            active: p.active,
            locked,
            chronology: (chronology && p.kind == PersonKind::Pupil)
                .then(|| format!("/pupils/{}/chronology", p.id)),
        });
    }
    Ok(render(&PeoplePage {
        chrome: Chrome::new(&state, &user, "People", "/people"),
        error: None,
        can_manage,
        can_unlock,
        rows,
    }))
}

fn new_person_page(state: &AppState, user: &CurrentUser, error: Option<String>) -> Response {
    let page = render(&NewPersonPage {
        chrome: Chrome::new(state, user, "Add a person", "/people"),
        error: error.clone(),
        kinds: PersonKind::ALL.iter().map(|k| k.as_str()).collect(),
        roles: Role::ALL
            .iter()
            .map(|r| {
                (
                    r.as_str().to_string(),
                    state.profile.role_title(*r).to_string(),
                )
            })
            .collect(),
        min_len: state.profile.passwords.min_length,
    });
    if error.is_some() {
        (StatusCode::BAD_REQUEST, page).into_response()
    } else {
        page
    }
}

pub async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    require(&user, Action::ManagePeople)?;
    Ok(new_person_page(&state, &user, None))
}

#[derive(Deserialize)]
pub struct PersonForm {
    display_name: String,
    username: String,
    kind: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    year_group: String,
    #[serde(default)]
    class_name: String,
    #[serde(default)]
    parent_of: String,
    #[serde(default)]
    password: String,
}

pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<PersonForm>,
) -> Result<Response, WebError> {
    require(&user, Action::ManagePeople)?;
    let opt = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let result = async {
        let kind = PersonKind::parse(&f.kind).ok_or_else(|| {
            WebError::BadRequest(format!("kind: `{}` is not a kind of person", f.kind))
        })?;
        let role = match f.role.as_str() {
            "" => kind.default_role(),
            r => Role::parse(r)
                .ok_or_else(|| WebError::BadRequest(format!("role: `{r}` is not a role")))?,
        };
        let password = opt(f.password.clone());
        if password.is_some() {
            require(&user, Action::ManageAccounts)?;
        }
        let parent_of: Vec<String> = f
            .parent_of
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let new = NewPerson {
            username: f.username.trim().to_string(),
            display_name: f.display_name.clone(),
            kind,
            roles: RoleSet::of(role),
            year_group: opt(f.year_group.clone()),
            class_name: opt(f.class_name.clone()),
        };
        add_person(&state, &user, &new, password.as_deref(), &parent_of).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/people").into_response()),
        Err(WebError::BadRequest(m) | WebError::Conflict(m)) => {
            Ok(new_person_page(&state, &user, Some(m)))
        }
        Err(e) => Err(e),
    }
}

async fn set_active(
    state: AppState,
    user: CurrentUser,
    id: i64,
    action: Action,
    active: bool,
) -> Result<Response, WebError> {
    require(&user, action)?;
    if id == user.person.id && !active {
        return Err(WebError::BadRequest(
            "you cannot deactivate yourself".into(),
        ));
    }
    if action == Action::ManagePeople {
        state
            .store
            .set_person_active(user.person.id, id, active)
            .await?;
    } else {
        state
            .store
            .set_account_active(user.person.id, id, active)
            .await?;
    }
    Ok(Redirect::to("/people").into_response())
}

pub async fn deactivate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    set_active(state, user, id, Action::ManagePeople, false).await
}

pub async fn reactivate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    set_active(state, user, id, Action::ManagePeople, true).await
}

pub async fn disable_account(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    set_active(state, user, id, Action::ManageAccounts, false).await
}

pub async fn enable_account(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    set_active(state, user, id, Action::ManageAccounts, true).await
}

/// Unlocks an account locked by failed sign-ins: the Headteacher or the network manager.
pub async fn unlock(state: &AppState, user: &CurrentUser, id: i64) -> Result<(), WebError> {
    let permit = policy::permit(&user.actor, Action::ManageSignIns, Object::School)?;
    state.store.unlock_account(&permit, id).await?;
    Ok(())
}

pub async fn unlock_account(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    unlock(&state, &user, id).await?;
    Ok(Redirect::to("/people").into_response())
}
