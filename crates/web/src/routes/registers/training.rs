//! The training register (issue 18, part 1): where every member of staff and governor stands on
//! each of the profile's courses, and the form that records a session for one person or a whole
//! staff meeting, with a note and an evidence file. For the training leads
//! ([`policy::training::TRAINING_LEADS`]); the page, its evidence files and the API.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::routes::api::ApiJson;
use crate::views::{Chrome, TrainingCell, TrainingPage, TrainingRow, refused_if, render, when};
use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use policy::concern::NewAttachment;
use policy::training::{NewSession, Standing};
use policy::{Action, Object, Permit};
use serde_json::{Value, json};
use store::Person;

fn permit(user: &CurrentUser) -> Result<Permit, WebError> {
    user.permit(Action::ManageTraining, Object::School)
}

/// One person and where they stand on each course they must take (`None`: not theirs).
pub struct PersonStanding {
    pub person: Person,
    pub courses: Vec<Option<Standing>>,
}

/// Who must take which course, and where they stand, on the store's today: every active person
/// who must take at least one of the profile's courses, in the directory's order.
pub async fn standings(
    store: &store::Store,
    profile: &policy::Profile,
) -> Result<Vec<PersonStanding>, WebError> {
    let courses = &profile.training;
    let today = store.clock().school_now().date_naive();
    let done = store.completions(None).await?;
    let mut out = Vec::new();
    for person in store.people(None).await? {
        if !person.active || !courses.iter().any(|c| c.required_of(person.roles)) {
            continue;
        }
        let started = store::parse_timestamp(&person.created_at)
            .map(|t| clock::school_time(t).date_naive())
            .unwrap_or(today);
        let cells = courses
            .iter()
            .map(|c| {
                c.required_of(person.roles).then(|| {
                    // Completions are newest first.
                    let last = done
                        .iter()
                        .filter(|d| d.person_id == person.id && d.course == c.id)
                        .find_map(|d| {
                            chrono::NaiveDate::parse_from_str(&d.held_on, "%Y-%m-%d").ok()
                        });
                    c.standing(last, started, today)
                })
            })
            .collect();
        out.push(PersonStanding {
            person,
            courses: cells,
        });
    }
    Ok(out)
}

fn cell(s: &Option<Standing>) -> TrainingCell {
    let Some(s) = s else {
        return TrainingCell::default();
    };
    let date = match s {
        Standing::Current { until: Some(d) }
        | Standing::Expiring {
            until: d,
            status: policy::dashboard::DueStatus::Due,
        } => format!("until {d}"),
        Standing::Expiring { until, .. } => format!("ran out {until}"),
        Standing::Current { until: None } => String::new(),
        Standing::Missing { due_on, .. } => format!("due {due_on}"),
    };
    TrainingCell {
        required: true,
        label: s.label().to_string(),
        date,
        overdue: matches!(s.due(), Some((_, policy::dashboard::DueStatus::Overdue))),
    }
}

async fn show(
    state: &AppState,
    user: &CurrentUser,
    error: Option<String>,
) -> Result<Response, WebError> {
    let rows = standings(&state.store, &state.profile)
        .await?
        .into_iter()
        .map(|p| TrainingRow {
            id: p.person.id,
            name: p.person.display_name.clone(),
            roles: p
                .person
                .roles
                .iter()
                .map(|r| state.profile.role_title(r).to_string())
                .collect::<Vec<_>>()
                .join(", "),
            cells: p.courses.iter().map(cell).collect(),
        })
        .collect();
    let sessions = state
        .store
        .completions(None)
        .await?
        .into_iter()
        .take(200)
        .map(|c| {
            let course = state
                .profile
                .training
                .iter()
                .find(|k| k.id == c.course)
                .map_or(c.course.clone(), |k| k.title.clone());
            crate::views::CompletionRow {
                session: c.session,
                person: c.person_name,
                course,
                held_on: c.held_on,
                note: c.note,
                evidence: c.evidence,
                recorded: format!("{}, {}", when(&c.recorded_at), c.recorded_by_name),
            }
        })
        .collect();
    let page = render(&TrainingPage {
        chrome: Chrome::new(state, user, "Training", "/registers/training"),
        error: error.clone(),
        courses: state
            .profile
            .training
            .iter()
            .map(|c| (c.id.clone(), c.title.clone()))
            .collect(),
        rows,
        sessions,
        max_bytes: state.profile.concerns.max_attachment_bytes,
    });
    Ok(refused_if(error.is_some(), page))
}

/// `GET /registers/training`.
pub async fn page(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    permit(&user)?;
    show(&state, &user, None).await
}

/// Checks and stores a session; the refusal names the field (or the person) that is wrong.
async fn add(
    state: &AppState,
    user: &CurrentUser,
    entry: &NewSession,
    evidence: Option<&NewAttachment>,
) -> Result<i64, WebError> {
    let permit = permit(user)?;
    let today = state.store.clock().school_now().date_naive();
    let checked = entry.check(&state.profile.training, today)?;
    if let Some(file) = evidence {
        policy::concern::check_attachment(&state.profile.concerns, file).map_err(|e| {
            WebError::BadRequest(e.to_string().replacen("attachment", "evidence", 1))
        })?;
    }
    let course = state
        .profile
        .training
        .iter()
        .find(|c| c.id == checked.course)
        .ok_or(WebError::NotFound)?;
    Ok(state
        .store
        .record_training(&permit, course, &checked, evidence)
        .await?)
}

/// `POST /registers/training` (multipart: `course`, `held_on`, repeated `people`, `note`,
/// `evidence`): records it; a wrong field shows the page again, naming it.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    permit(&user)?;
    let bad = crate::routes::upload::unreadable;
    let mut entry = NewSession::default();
    let mut evidence = None;
    let mut wrong = None;
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "evidence" {
            evidence = crate::routes::upload::file_of(field).await?;
            continue;
        }
        let text = field.text().await.map_err(bad)?;
        match name.as_str() {
            "course" => entry.course = text,
            "held_on" => entry.held_on = text,
            "note" => entry.note = text,
            "people" => match text.trim().parse() {
                Ok(id) => entry.people.push(id),
                Err(_) => wrong = Some(format!("people: `{text}` is not a person's number")),
            },
            _ => {}
        }
    }
    if let Some(message) = wrong {
        return show(&state, &user, Some(message)).await;
    }
    match add(&state, &user, &entry, evidence.as_ref()).await {
        Ok(_) => Ok(Redirect::to("/registers/training").into_response()),
        Err(WebError::BadRequest(message)) => show(&state, &user, Some(message)).await,
        Err(e) => Err(e),
    }
}

/// `GET /registers/training/{session}/evidence`: the session's evidence file, as an attachment.
pub async fn evidence(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(session): Path<i64>,
) -> Result<Response, WebError> {
    permit(&user)?;
    let (name, kind, bytes) = state
        .store
        .training_evidence(session)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(crate::routes::upload::download(&name, kind, bytes))
}

/// `GET /api/v1/training`: the courses, where each person stands, and every completion.
pub async fn list_json(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, WebError> {
    permit(&user)?;
    let courses = &state.profile.training;
    let people: Vec<Value> = standings(&state.store, &state.profile)
        .await?
        .into_iter()
        .map(|p| {
            let standing: serde_json::Map<String, Value> = courses
                .iter()
                .zip(&p.courses)
                .filter_map(|(c, s)| {
                    let s = s.as_ref()?;
                    let due = s
                        .due()
                        .map(|(d, st)| json!({"on": d.to_string(), "status": st.as_str()}));
                    Some((c.id.clone(), json!({"standing": s.label(), "due": due})))
                })
                .collect();
            json!({"id": p.person.id, "name": p.person.display_name, "courses": standing})
        })
        .collect();
    let completions = state.store.completions(None).await?;
    Ok(Json(json!({
        "courses": courses,
        "people": people,
        "completions": completions,
    })))
}

/// `POST /api/v1/training` with a [`NewSession`] (no file: evidence as a note): 201 `{"id"}`,
/// or 400 naming the field.
pub async fn create_json(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, WebError> {
    permit(&user)?;
    let entry: NewSession = crate::routes::api::body_as(body)?;
    let id = add(&state, &user, &entry, None).await?;
    Ok(crate::routes::api::created(id))
}
