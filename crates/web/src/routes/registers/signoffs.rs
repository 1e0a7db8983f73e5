//! Policies and sign-offs (issue 18, part 2): the versions of the online safety policy and the
//! codes of conduct, who has not signed their code (by audience, year and class), a teacher's
//! record of a class's paper sign-off, and the API. The signature itself is at `/aup`.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::routes::api::ApiJson;
use crate::views::{Chrome, DocumentRow, DocumentsPage, UnsignedGroup, refused_if, render, when};
use axum::Json;
use axum::extract::{ConnectInfo, Form, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use policy::concern::NewAttachment;
use policy::conduct::{Audience, DocumentKind, NewDocument};
use policy::{Action, Object};
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;
use store::Person;

/// The people of one audience who have not signed the current version of their code.
pub struct Unsigned {
    pub audience: Audience,
    pub kind: DocumentKind,
    pub version: String,
    pub people: Vec<Person>,
}

/// For every audience the profile asks to sign, who has not signed the current version of their
/// code (the register's, or the profile's `aup_version`): active people only.
pub async fn unsigned(
    store: &store::Store,
    profile: &policy::Profile,
) -> Result<Vec<Unsigned>, WebError> {
    let rules = &profile.code_of_conduct;
    let asked: Vec<Person> = store
        .people(None)
        .await?
        .into_iter()
        .filter(|p| p.active && rules.asks(Audience::of(p.kind, p.roles)))
        .collect();
    let standings = store.code_standings(&asked, rules).await?;
    let mut out: Vec<Unsigned> = Vec::new();
    for (person, s) in asked.into_iter().zip(standings) {
        let Some(s) = s.filter(|s| s.signed_at.is_none()) else {
            continue;
        };
        match out.iter_mut().find(|u| u.audience == s.audience) {
            Some(u) => u.people.push(person),
            None => out.push(Unsigned {
                audience: s.audience,
                kind: s.kind,
                version: s.version,
                people: vec![person],
            }),
        }
    }
    out.sort_by_key(|u| u.audience);
    Ok(out)
}

/// Whether `user` may see this register at all: the keepers, and teachers for their classes'
/// paper sign-offs.
fn may_open(user: &CurrentUser) -> Result<(), WebError> {
    if user.may(Action::ManageDocuments, Object::School) {
        return Ok(());
    }
    user.permit(Action::RecordPaperSignOff, Object::School)
        .map(|_| ())
}

fn group_label(p: &Person) -> String {
    match (&p.year_group, &p.class_name) {
        (Some(y), Some(c)) => format!("{y}, class {c}"),
        (Some(y), None) => y.clone(),
        (None, Some(c)) => format!("class {c}"),
        (None, None) => String::new(),
    }
}

async fn show(
    state: &AppState,
    user: &CurrentUser,
    error: Option<String>,
    done: Option<String>,
) -> Result<Response, WebError> {
    may_open(user)?;
    let keeper = user.may(Action::ManageDocuments, Object::School);
    let documents = if keeper {
        state
            .store
            .documents()
            .await?
            .into_iter()
            .map(|d| DocumentRow {
                file: d.file_name.clone().map(|f| (d.id, f)),
                kind: d.kind.label().to_string(),
                version: d.version,
                title: d.title,
                approved: match (&d.approved_on, d.minute_ref.is_empty()) {
                    (Some(on), true) => on.clone(),
                    (Some(on), false) => format!("{on} (minute {})", d.minute_ref),
                    (None, _) => "not yet".into(),
                },
                review_on: d.review_on,
                added: format!("{}, {}", when(&d.added_at), d.added_by_name),
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut groups = Vec::new();
    for u in unsigned(&state.store, &state.profile).await? {
        // Pupils and parents by year and class; staff as one group.
        let mut by: Vec<(String, Vec<String>)> = Vec::new();
        for p in &u.people {
            let label = if u.audience == Audience::Staff {
                String::new()
            } else {
                group_label(p)
            };
            match by.iter_mut().find(|(l, _)| *l == label) {
                Some((_, names)) => names.push(p.display_name.clone()),
                None => by.push((label, vec![p.display_name.clone()])),
            }
        }
        for (label, names) in by {
            groups.push(UnsignedGroup {
                audience: u.audience.as_str().to_string(),
                code: format!("{} version {}", u.kind.label(), u.version),
                group: label,
                count: names.len(),
                names: if keeper || u.audience == Audience::Pupils {
                    names.join(", ")
                } else {
                    String::new()
                },
            });
        }
    }
    let classes = super::consent::classes_of(&super::consent::pupils(state).await?);
    let page = render(&DocumentsPage {
        chrome: Chrome::new(
            state,
            user,
            "Policies and sign-offs",
            "/registers/documents",
        ),
        error: error.clone(),
        done,
        keeper,
        documents,
        kinds: DocumentKind::ALL
            .iter()
            .map(|k| (k.as_str().to_string(), k.label().to_string()))
            .collect(),
        groups,
        classes,
        review_every_months: state.profile.policy.review_every_months.unwrap_or(0),
        review_group: state.profile.policy.review_group.clone(),
    });
    Ok(refused_if(error.is_some(), page))
}

/// `GET /registers/documents`.
pub async fn page(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    show(&state, &user, None, None).await
}

async fn add(
    state: &AppState,
    user: &CurrentUser,
    doc: &NewDocument,
    file: Option<&NewAttachment>,
) -> Result<i64, WebError> {
    let permit = user.permit(Action::ManageDocuments, Object::School)?;
    let today = state.store.clock().school_now().date_naive();
    let checked = doc.check(state.profile.policy.review_every_months, today)?;
    if let Some(f) = file {
        policy::concern::check_attachment(&state.profile.concerns, f)
            .map_err(|e| WebError::BadRequest(e.to_string().replacen("attachment", "file", 1)))?;
    }
    Ok(state.store.add_document(&permit, &checked, file).await?)
}

/// `POST /registers/documents` (multipart: the [`NewDocument`] fields and an optional `file`,
/// the approved document): adds a version; a wrong field shows the page again, naming it.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    user.permit(Action::ManageDocuments, Object::School)?;
    let bad = crate::routes::upload::unreadable;
    let mut doc = NewDocument::default();
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            file = crate::routes::upload::file_of(field).await?;
            continue;
        }
        let text = field.text().await.map_err(bad)?;
        match name.as_str() {
            "kind" => doc.kind = text,
            "version" => doc.version = text,
            "title" => doc.title = text,
            "body" => doc.body = text,
            "revised_by" => doc.revised_by = text,
            "approved_on" => doc.approved_on = text,
            "minute_ref" => doc.minute_ref = text,
            "review_on" => doc.review_on = text,
            _ => {}
        }
    }
    match add(&state, &user, &doc, file.as_ref()).await {
        Ok(_) => Ok(Redirect::to("/registers/documents").into_response()),
        Err(WebError::BadRequest(message)) => show(&state, &user, Some(message), None).await,
        Err(e) => Err(e),
    }
}

/// `GET /registers/documents/{id}/file`: a version's approved document, for anyone signed in
/// (a school publishes its policies); 404 when it kept none.
pub async fn file(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let (name, kind, bytes) = state
        .store
        .document_file(id)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(crate::routes::upload::download(&name, kind, bytes))
}

/// What the paper sign-off form sends: a class.
#[derive(Deserialize, Default)]
pub struct PaperForm {
    #[serde(default)]
    class: String,
}

/// Records the current pupil code as signed on paper by every active pupil of `class`: how many.
async fn paper(state: &AppState, user: &CurrentUser, class: &str) -> Result<usize, WebError> {
    let permit = user.permit(Action::RecordPaperSignOff, Object::School)?;
    let class = class.trim();
    let pupils: Vec<Person> = super::consent::pupils(state)
        .await?
        .into_iter()
        .filter(|p| p.class_name.as_deref() == Some(class))
        .collect();
    let Some(first) = pupils.first() else {
        return Err(WebError::BadRequest(format!(
            "class: there is no class `{class}` with pupils"
        )));
    };
    let rules = &state.profile.code_of_conduct;
    let s = state
        .store
        .code_standing(first, rules)
        .await?
        .ok_or_else(|| WebError::BadRequest("class: pupils here have no code to sign".into()))?;
    let today = state.store.clock().school_now().date_naive();
    let fresh_from = rules.counts_from(s.audience, today);
    Ok(state
        .store
        .record_paper_sign_off(&permit, &pupils, s.kind, &s.version, fresh_from)
        .await?)
}

/// `POST /registers/documents/paper`: a class's paper sign-off.
pub async fn paper_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<PaperForm>,
) -> Result<Response, WebError> {
    match paper(&state, &user, &f.class).await {
        Ok(n) => {
            let done = format!("Recorded {n} paper sign-offs for class {}.", f.class.trim());
            show(&state, &user, None, Some(done)).await
        }
        Err(WebError::BadRequest(message)) => show(&state, &user, Some(message), None).await,
        Err(e) => Err(e),
    }
}

/// `GET /api/v1/documents`: every version, and who has not signed (ids, by audience).
pub async fn list_json(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, WebError> {
    user.permit(Action::ManageDocuments, Object::School)?;
    let documents = state.store.documents().await?;
    let unsigned: Vec<Value> = unsigned(&state.store, &state.profile)
        .await?
        .into_iter()
        .map(|u| {
            json!({
                "audience": u.audience,
                "document": u.kind,
                "version": u.version,
                "people": u.people.iter().map(|p| p.id).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(
        json!({ "documents": documents, "unsigned": unsigned }),
    ))
}

/// `POST /api/v1/documents` with a [`NewDocument`]: 201 `{"id"}`, or 400 naming the field.
pub async fn create_json(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, WebError> {
    user.permit(Action::ManageDocuments, Object::School)?;
    let doc: NewDocument = crate::routes::api::body_as(body)?;
    let id = add(&state, &user, &doc, None).await?;
    Ok(crate::routes::api::created(id))
}

/// `GET /api/v1/acknowledgements`: the document keepers see every acknowledgement; anyone else
/// only their own, with the code they must sign now.
pub async fn acknowledgements_json(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, WebError> {
    user.permit(Action::ManageOwnAccount, Object::Person(user.person.id))?;
    let everyone = user.may(Action::ManageDocuments, Object::School);
    let rows = state
        .store
        .acknowledgements((!everyone).then_some(user.person.id))
        .await?;
    let current = state
        .store
        .code_standing(&user.person, &state.profile.code_of_conduct)
        .await?
        .map(|s| json!({"document": s.kind, "version": s.version, "signed_at": s.signed_at}));
    Ok(Json(
        json!({ "acknowledgements": rows, "current": current }),
    ))
}

/// What `POST /api/v1/acknowledgements` takes: the version being signed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignBody {
    version: String,
}

/// `POST /api/v1/acknowledgements` `{"version"}`: signs one's own current code (201), or 400
/// when that is not the current version.
pub async fn sign_json(
    State(state): State<AppState>,
    user: CurrentUser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<SignBody>,
) -> Result<Response, WebError> {
    let (s, written) = crate::routes::aup::sign_current(
        &state,
        &user,
        Some(&body.version),
        &peer.ip().to_string(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"document": s.kind, "version": s.version, "new": written})),
    )
        .into_response())
}

/// What `POST /api/v1/acknowledgements/paper` takes: a class.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperBody {
    class: String,
}

/// `POST /api/v1/acknowledgements/paper` `{"class"}`: 201 `{"recorded"}`.
pub async fn paper_json(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<PaperBody>,
) -> Result<Response, WebError> {
    let n = paper(&state, &user, &body.class).await?;
    Ok((StatusCode::CREATED, Json(json!({ "recorded": n }))).into_response())
}
