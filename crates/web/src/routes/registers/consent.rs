//! Photo and video consent (issue 18, part 3): a class list for a teacher before a trip (who may
//! be photographed for what), the form the office records answers with (given, refused,
//! withdrawn: each a new entry), and the API. Pupils and parents see only their own answers.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::routes::api::ApiJson;
use crate::views::{Chrome, ConsentPage, ConsentPupil, refused_if, render, when};
use axum::Json;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use policy::consent::{NewConsent, Standing};
use policy::{Action, Object, PersonKind, Role};
use serde::Deserialize;
use serde_json::{Value, json};
use store::Person;

/// Where each of `pupils` stands on each of the profile's purposes today.
pub async fn standings(
    state: &AppState,
    pupils: Vec<Person>,
) -> Result<Vec<(Person, Vec<Standing>)>, WebError> {
    let rules = &state.profile.consent;
    let today = state.store.clock().school_now().date_naive();
    let latest = state.store.latest_consents().await?;
    Ok(pupils
        .into_iter()
        .map(|p| {
            let cells = rules
                .purposes
                .iter()
                .map(|purpose| crate::publish::standing_in(&latest, rules, p.id, purpose, today))
                .collect();
            (p, cells)
        })
        .collect())
}

/// `pupils` as a consent page lists them: each purpose's standing, and whether photos may be
/// used.
async fn rows_of(state: &AppState, pupils: Vec<Person>) -> Result<Vec<ConsentPupil>, WebError> {
    Ok(standings(state, pupils)
        .await?
        .into_iter()
        .map(|(p, cells)| ConsentPupil {
            id: p.id,
            name: p.display_name,
            cells: cells
                .into_iter()
                .map(|s| (s.as_str().to_string(), s.allows()))
                .collect(),
        })
        .collect())
}

#[derive(Deserialize, Default)]
pub struct ClassQuery {
    #[serde(default)]
    class: String,
}

/// The school's pupils who have not left.
pub(super) async fn pupils(state: &AppState) -> Result<Vec<Person>, WebError> {
    Ok(state
        .store
        .people(Some(PersonKind::Pupil))
        .await?
        .into_iter()
        .filter(|p| p.active)
        .collect())
}

/// The classes `pupils` are in, sorted, each once.
pub(super) fn classes_of(pupils: &[Person]) -> Vec<String> {
    let mut classes: Vec<String> = pupils.iter().filter_map(|p| p.class_name.clone()).collect();
    classes.sort();
    classes.dedup();
    classes
}

async fn show(
    state: &AppState,
    user: &CurrentUser,
    class: &str,
    error: Option<String>,
) -> Result<Response, WebError> {
    user.permit(Action::ViewConsents, Object::School)?;
    let all = pupils(state).await?;
    let classes = classes_of(&all);
    let class = if class.is_empty() {
        classes.first().cloned().unwrap_or_default()
    } else {
        class.to_string()
    };
    let in_class: Vec<Person> = all
        .iter()
        .filter(|p| p.class_name.as_deref() == Some(class.as_str()))
        .cloned()
        .collect();
    let rows = rows_of(state, in_class).await?;
    let manager = user.may(Action::ManageConsents, Object::School);
    let history = if manager {
        state
            .store
            .consents(None)
            .await?
            .into_iter()
            .take(100)
            .map(|c| {
                format!(
                    "{}: {} {} for {} by {} on {} (recorded {}, {})",
                    c.pupil_name,
                    if c.given {
                        "given"
                    } else {
                        "refused or withdrawn"
                    },
                    if c.named { "with name" } else { "" },
                    c.purpose,
                    c.by_whom,
                    c.given_on,
                    when(&c.recorded_at),
                    c.recorded_by_name
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let page = render(&ConsentPage {
        chrome: Chrome::new(state, user, "Photo consent", "/registers/consent"),
        error: error.clone(),
        class,
        classes,
        purposes: state.profile.consent.purposes.clone(),
        rows,
        manager,
        pupils: all.iter().map(|p| (p.id, p.display_name.clone())).collect(),
        names_allowed: state.profile.consent.names_with_photos,
        history,
    });
    Ok(refused_if(error.is_some(), page))
}

/// `GET /registers/consent?class=`: the class list.
pub async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ClassQuery>,
) -> Result<Response, WebError> {
    show(&state, &user, q.class.trim(), None).await
}

/// What the recording form sends.
#[derive(Deserialize, Default)]
pub struct ConsentForm {
    #[serde(default)]
    pupil: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    named: Option<String>,
    #[serde(default)]
    by_whom: String,
    #[serde(default)]
    on: String,
    #[serde(default)]
    note: String,
}

/// Checks and stores one answer: its id. The office answers for any pupil; a parent for their
/// own child only, as themselves. An unknown pupil, a purpose not in the profile, a date in the
/// future: 400 naming the field, nothing stored.
async fn add(state: &AppState, user: &CurrentUser, entry: &NewConsent) -> Result<i64, WebError> {
    let mut entry = entry.clone();
    let permit = if user.may(Action::ManageConsents, Object::School) {
        user.permit(Action::ManageConsents, Object::School)?
    } else {
        let own = user.person.roles.contains(Role::Parent)
            && state
                .store
                .children_of(user.person.id)
                .await?
                .iter()
                .any(|c| c.id == entry.pupil);
        let child = Object::Child {
            pupil: entry.pupil,
            own,
        };
        let permit = user.permit(Action::AnswerConsentForChild, child)?;
        entry.by_whom = format!("{} (parent, own login)", user.person.display_name);
        entry.named = entry.named && state.profile.consent.names_with_photos;
        permit
    };
    let today = state.store.clock().school_now().date_naive();
    let checked = entry.check(&state.profile.consent, today)?;
    Ok(state.store.record_consent(&permit, &checked).await?)
}

/// `POST /registers/consent`: records an answer and shows the pupil's class.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<ConsentForm>,
) -> Result<Response, WebError> {
    user.permit(Action::ManageConsents, Object::School)?;
    let Ok(pupil) = f.pupil.trim().parse::<i64>() else {
        return show(&state, &user, "", Some("pupil: choose a pupil".into())).await;
    };
    let entry = NewConsent {
        pupil,
        purpose: f.purpose,
        given: f.answer == "given",
        named: f.named.is_some(),
        by_whom: f.by_whom,
        on: f.on,
        note: f.note,
    };
    match add(&state, &user, &entry).await {
        Ok(_) => {
            let class = state
                .store
                .person(pupil)
                .await?
                .and_then(|p| p.class_name)
                .unwrap_or_default();
            Ok(Redirect::to(&format!(
                "/registers/consent?class={}",
                crate::urlencode(&class)
            ))
            .into_response())
        }
        Err(WebError::BadRequest(message)) => show(&state, &user, "", Some(message)).await,
        Err(e) => Err(e),
    }
}

/// `GET /api/v1/consents`: staff see every pupil's standing and every answer; a pupil only
/// their own, a parent only their children's.
pub async fn list_json(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, WebError> {
    let everyone = user.may(Action::ViewConsents, Object::School);
    let pupils: Vec<Person> = if everyone {
        pupils(&state).await?
    } else {
        user.permit(Action::ManageOwnAccount, Object::Person(user.person.id))?;
        let mut own = Vec::new();
        if user.person.roles.contains(Role::Pupil) {
            own.push(user.person.clone());
        }
        if user.person.roles.contains(Role::Parent) {
            own.extend(state.store.children_of(user.person.id).await?);
        }
        own
    };
    let ids: Vec<i64> = pupils.iter().map(|p| p.id).collect();
    let entries = state.store.consents(Some(&ids)).await?;
    let purposes = state.profile.consent.purposes.clone();
    let rows: Vec<Value> = standings(&state, pupils)
        .await?
        .into_iter()
        .map(|(p, cells)| {
            let by: serde_json::Map<String, Value> = purposes
                .iter()
                .zip(cells)
                .map(|(purpose, s)| (purpose.clone(), json!(s.as_str())))
                .collect();
            json!({"pupil": p.id, "name": p.display_name, "class": p.class_name, "purposes": by})
        })
        .collect();
    Ok(Json(json!({ "pupils": rows, "entries": entries })))
}

/// `POST /api/v1/consents` with a [`NewConsent`] (the office for any pupil, a parent for their
/// own child): 201 `{"id"}`, or 400 naming the field.
pub async fn create_json(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, WebError> {
    if !user.person.roles.contains(Role::Parent) {
        user.permit(Action::ManageConsents, Object::School)?;
    }
    let entry: NewConsent = crate::routes::api::body_as(body)?;
    let id = add(&state, &user, &entry).await?;
    Ok(crate::routes::api::created(id))
}

/// `GET /consent`: a parent's own children and where their photo consent stands, with a
/// button to give or withdraw each.
pub async fn parent_page(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    parent_show(&state, &user, None).await
}

async fn parent_show(
    state: &AppState,
    user: &CurrentUser,
    error: Option<String>,
) -> Result<Response, WebError> {
    if !user.person.roles.contains(Role::Parent) {
        return Err(WebError::Forbidden);
    }
    let children = state.store.children_of(user.person.id).await?;
    let rows = rows_of(state, children).await?;
    let page = render(&crate::views::ParentConsentPage {
        chrome: Chrome::new(state, user, "Photo consent", "/consent"),
        error: error.clone(),
        purposes: state.profile.consent.purposes.clone(),
        rows,
    });
    Ok(refused_if(error.is_some(), page))
}

/// What a parent's buttons send.
#[derive(Deserialize, Default)]
pub struct ParentForm {
    #[serde(default)]
    pupil: i64,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    note: String,
}

/// `POST /consent`: a parent gives or withdraws consent for their child, today.
pub async fn parent_answer(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<ParentForm>,
) -> Result<Response, WebError> {
    let today = state.store.clock().school_now().date_naive();
    let entry = NewConsent {
        pupil: f.pupil,
        purpose: f.purpose,
        given: f.answer == "given",
        named: false,
        by_whom: String::new(),
        on: today.format("%Y-%m-%d").to_string(),
        note: f.note,
    };
    match add(&state, &user, &entry).await {
        Ok(_) => Ok(Redirect::to("/consent").into_response()),
        Err(WebError::BadRequest(message)) => parent_show(&state, &user, Some(message)).await,
        Err(e) => Err(e),
    }
}
