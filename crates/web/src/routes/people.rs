//! The people pages: the Headteacher and Data Manager add people and accounts and mark leavers;
//! who may give, take or switch off which role is `policy::can`'s to say.

use crate::AppState;
use crate::auth::{self, CurrentUser};
use crate::error::WebError;
use crate::views::{
    Chrome, NewPersonPage, PeopleFilterView, PeoplePage, PersonAddedPage, PersonRow, refused_if,
    render, when,
};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use policy::{Action, Object, Permit, PersonKind, Role, RoleSet};
use serde::Deserialize;
use store::NewPerson;

pub mod guests;
pub mod leavers;
pub mod record;

/// Days a new account's one-time link works.
pub const WELCOME_DAYS: i64 = 7;

/// The one-time link a new account's holder opens to set their first password, shown once to
/// whoever made the account.
pub struct Welcome {
    /// `/welcome/{token}`: the token is 256 random bits, stored only as its SHA-256.
    pub path: String,
    pub expires_at: String,
}

/// Asks `policy::can` about giving, taking, or switching off or on `roles` of `holder`.
pub fn roles_permit(
    state: &AppState,
    user: &CurrentUser,
    action: Action,
    holder: Option<i64>,
    roles: RoleSet,
) -> Result<Permit, WebError> {
    let object = Object::Roles {
        holder,
        roles,
        audiences: state.profile.concerns.audiences(),
    };
    user.permit(action, object)
}

/// The answer for a person id that does not exist: not found for those who may change some
/// people's roles, and the same refusal as for an existing person for everyone else, so that
/// the ids of the school's people are not probed through these routes.
pub fn unknown_person(state: &AppState, user: &CurrentUser) -> WebError {
    let may_change_some = user.may(Action::ManagePeople, Object::School)
        || user.actor.roles.intersects(safeguarding(state));
    if may_change_some {
        WebError::NotFound
    } else {
        WebError::Forbidden
    }
}

/// The profile's safeguarding roles: a change to one is mailed to the DSLs and the Chair.
pub fn safeguarding(state: &AppState) -> RoleSet {
    state.profile.concerns.audiences().safeguarding_roles()
}

/// Now and when a new link stops working, as stored (by the store's clock).
fn welcome_times(state: &AppState) -> (String, String) {
    let now = state.store.now_utc();
    (
        store::timestamp(now),
        store::timestamp(now + chrono::Duration::days(WELCOME_DAYS)),
    )
}

/// Adds a person with their roles (asking `policy::can` to grant them), optionally with a
/// login account whose first password the holder sets through the returned one-time link, and
/// parent links; used by the form and the API.
pub async fn add_person(
    state: &AppState,
    user: &CurrentUser,
    new: &NewPerson,
    account: bool,
    parent_of: &[String],
) -> Result<(i64, Option<Welcome>), WebError> {
    new.validate()?;
    let permit = roles_permit(state, user, Action::GrantRole, None, new.roles)?;
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
        // Asked before anything is written, so that a refused link leaves no person behind.
        children.push((
            child.id,
            user.permit(Action::ManagePeople, Object::Person(child.id))?,
        ));
    }
    let id = state
        .store
        .create_person(&permit, safeguarding(state), new)
        .await?;
    let welcome = if account {
        let token = state.school_token();
        let (at, expires_at) = welcome_times(state);
        state
            .store
            .invite_account(&permit, id, &auth::token_hash(&token), &at, &expires_at)
            .await?;
        Some(Welcome {
            path: format!("/welcome/{token}"),
            expires_at,
        })
    } else {
        None
    };
    for (child, link) in children {
        state.store.link_parent(&link, id, child).await?;
    }
    Ok((id, welcome))
}

/// People a page of the list shows.
pub const PEOPLE_PER_PAGE: i64 = 100;

/// `GET /people`'s filters: `kind`, `q` (part of a name or username), `year` and `page`
/// (from 1).
#[derive(Deserialize, Default)]
pub struct PeopleParams {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    page: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<PeopleParams>,
) -> Result<Response, WebError> {
    let can_manage = user.may(Action::ManagePeople, Object::School);
    let chronology = user.may(Action::ViewChronology, Object::School);
    let can_unlock = user.may(Action::ManageSignIns, Object::School);
    let leavers = user.may(Action::ManageLeavers, Object::School);
    let guests = user.may(
        Action::CreateGuest,
        Object::Guests {
            created_by: &state.profile.guests.created_by,
        },
    );
    if !can_manage && !chronology && !can_unlock && !leavers {
        return Err(WebError::Forbidden);
    }
    let kind = match params.kind.trim() {
        "" => None,
        k => Some(PersonKind::parse(k).ok_or_else(|| {
            WebError::BadRequest(format!(
                "kind: `{k}` is not one of pupil, staff, governor, parent or visitor"
            ))
        })?),
    };
    let page = params.page.unwrap_or(1);
    if page < 1 {
        return Err(WebError::BadRequest(format!(
            "page: `{page}` is not a page number (they start at 1)"
        )));
    }
    let filter = store::PeopleQuery {
        kind,
        text: Some(params.q.trim().to_string()).filter(|q| !q.is_empty()),
        year_group: Some(params.year.trim().to_string()).filter(|y| !y.is_empty()),
        offset: (page - 1).saturating_mul(PEOPLE_PER_PAGE),
        limit: PEOPLE_PER_PAGE,
    };
    let listed = state.store.people_page(&filter).await?;
    let at = state.store.now_utc();
    let rows = listed
        .people
        .into_iter()
        .map(|store::ListedPerson { person: p, account }| {
            let locked = account.as_ref().is_some_and(|a| a.locked_at(at));
            let account = match account {
                Some(a) if !a.is_active() => "disabled",
                // Made, and waiting for its holder to choose a password through the one-time link.
                Some(a) if a.password_hash == store::welcome::NO_PASSWORD_YET => "invited",
                Some(_) if locked => "locked",
                Some(_) => "active",
                None => "none",
            };
            PersonRow {
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
            }
        })
        .collect();
    let link = |page: i64| {
        let mut query = vec![format!("page={page}")];
        for (key, value) in [
            ("kind", &params.kind),
            ("q", &params.q),
            ("year", &params.year),
        ] {
            if !value.trim().is_empty() {
                query.push(format!("{key}={}", crate::urlencode(value.trim())));
            }
        }
        format!("/people?{}", query.join("&"))
    };
    let first = filter.offset + 1;
    let last = (filter.offset + PEOPLE_PER_PAGE).min(listed.total);
    Ok(render(&PeoplePage {
        chrome: Chrome::new(&state, &user, "People", "/people"),
        error: None,
        can_manage,
        can_unlock,
        leavers,
        guests,
        rows,
        filter: PeopleFilterView {
            kind: params.kind.trim().to_string(),
            q: params.q.trim().to_string(),
            year: params.year.trim().to_string(),
            years: state.store.year_groups().await?,
        },
        showing: if listed.total == 0 {
            "Nobody matches.".to_string()
        } else {
            format!("Showing {first} to {last} of {}.", listed.total)
        },
        previous: (page > 1).then(|| link(page - 1)),
        next: (last < listed.total).then(|| link(page + 1)),
    }))
}

fn new_person_page(state: &AppState, user: &CurrentUser, error: Option<String>) -> Response {
    let page = render(&NewPersonPage {
        chrome: Chrome::new(state, user, "Add a person", "/people"),
        error: error.clone(),
        kinds: PersonKind::ALL.iter().map(|k| k.as_str()).collect(),
        // Only the roles this user may give.
        roles: Role::ALL
            .iter()
            .filter(|r| {
                roles_permit(state, user, Action::GrantRole, None, RoleSet::of(**r)).is_ok()
            })
            .map(|r| {
                (
                    r.as_str().to_string(),
                    state.profile.role_title(*r).to_string(),
                )
            })
            .collect(),
        welcome_days: WELCOME_DAYS,
    });
    refused_if(error.is_some(), page)
}

pub async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    user.permit(Action::ManagePeople, Object::School)?;
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
    /// `on` when the person gets a login account (the form's checkbox).
    #[serde(default)]
    account: String,
}

pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<PersonForm>,
) -> Result<Response, WebError> {
    // Whether this user may give the person's roles is asked in `add_person`.
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
        let (_, welcome) =
            add_person(&state, &user, &new, !f.account.is_empty(), &parent_of).await?;
        Ok((new, welcome))
    }
    .await;
    match result {
        Ok((new, Some(welcome))) => Ok(render(&PersonAddedPage {
            chrome: Chrome::new(&state, &user, "Person added", "/people"),
            name: new.display_name.trim().to_string(),
            username: new.username,
            link: welcome.path,
            expires: when(&welcome.expires_at),
        })),
        Ok((_, None)) => Ok(Redirect::to("/people").into_response()),
        Err(WebError::BadRequest(m) | WebError::Conflict(m)) => {
            Ok(new_person_page(&state, &user, Some(m)))
        }
        Err(e) => Err(e),
    }
}

/// Switches a person (`account` false: marks them as having left or returned) or their login
/// account off or on: decided as taking, or giving back, every role they hold.
async fn set_active(
    state: AppState,
    user: CurrentUser,
    id: i64,
    account: bool,
    active: bool,
) -> Result<Response, WebError> {
    if id == user.person.id && !active {
        return Err(WebError::BadRequest(
            "you cannot deactivate yourself".into(),
        ));
    }
    let target = state
        .store
        .person(id)
        .await?
        .ok_or_else(|| unknown_person(&state, &user))?;
    let action = if active {
        Action::ReactivateAccount
    } else {
        Action::DeactivateAccount
    };
    let permit = roles_permit(&state, &user, action, Some(id), target.roles)?;
    if account {
        state
            .store
            .set_account_active(&permit, safeguarding(&state), id, active)
            .await?;
    } else {
        state
            .store
            .set_person_active(&permit, safeguarding(&state), id, active)
            .await?;
    }
    Ok(Redirect::to("/people").into_response())
}

pub async fn deactivate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    set_active(state, user, id, false, false).await
}

pub async fn reactivate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    set_active(state, user, id, false, true).await
}

pub async fn disable_account(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    set_active(state, user, id, true, false).await
}

pub async fn enable_account(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    set_active(state, user, id, true, true).await
}

/// Unlocks an account locked by failed sign-ins: the Headteacher or the network manager.
pub async fn unlock(state: &AppState, user: &CurrentUser, id: i64) -> Result<(), WebError> {
    let permit = user.permit(Action::ManageSignIns, Object::Person(id))?;
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
