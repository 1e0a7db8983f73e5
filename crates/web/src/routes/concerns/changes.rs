//! Changing a concern: entries on its timeline, triage, closing and reopening, attachments.

use super::{concern_page, read_report};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::ops;
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use policy::concern::{ActionInput, Channel};
use policy::{Action, Agency, Severity};
use serde::Deserialize;
use store::Triage;

/// Runs a change and goes back to the concern; a bad input shows the page with the error.
async fn after_change(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    result: Result<(), WebError>,
) -> Result<Response, WebError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/concerns/{id}#timeline")).into_response()),
        Err(WebError::BadRequest(msg)) => {
            let page = concern_page(state, user, id, Some(msg), false).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct ActionForm {
    kind: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    who: String,
    #[serde(default)]
    when: String,
    #[serde(default)]
    how: String,
    #[serde(default)]
    sanction: String,
    #[serde(default)]
    agency: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    corrects: String,
}

impl ActionForm {
    fn into_input(self) -> Result<ActionInput, WebError> {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let corrects = match self.corrects.trim() {
            "" => None,
            n => Some(n.trim_start_matches('#').parse::<i64>().map_err(|_| {
                WebError::BadRequest(format!("corrects: `{n}` is not an entry number"))
            })?),
        };
        Ok(match self.kind.as_str() {
            "note" => ActionInput::Note {
                text: self.text,
                corrects,
            },
            "parents_informed" => ActionInput::ParentsInformed {
                who: self.who,
                when: self.when,
                how: Channel::parse(&self.how)
                    .ok_or_else(|| WebError::BadRequest("how: choose how they were told".into()))?,
                text: opt(&self.text),
                corrects,
            },
            "sanction" => ActionInput::Sanction {
                sanction: self.sanction,
                text: opt(&self.text),
                corrects,
            },
            "police" => ActionInput::Police {
                text: self.text,
                reference: opt(&self.reference),
                corrects,
            },
            "referral" => ActionInput::Referral {
                agency: Agency::parse(&self.agency).ok_or_else(|| {
                    WebError::BadRequest("agency: choose the agency referred to".into())
                })?,
                reference: self.reference,
                text: opt(&self.text),
                corrects,
            },
            other => {
                return Err(WebError::BadRequest(format!(
                    "kind: `{other}` is not a kind of entry"
                )));
            }
        })
    }
}

pub async fn add_action(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<ActionForm>,
) -> Result<Response, WebError> {
    let (_, permit) = ops::authorize(&state, &user, id, Action::AddConcernAction).await?;
    let result = match f.into_input() {
        Ok(input) => state
            .store
            .add_action(&permit, &state.profile, id, &input)
            .await
            .map(|_| ())
            .map_err(WebError::from),
        Err(e) => Err(e),
    };
    after_change(&state, &user, id, result).await
}

#[derive(Deserialize)]
pub struct TriageForm {
    #[serde(default)]
    severity: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    assignee: String,
}

pub async fn triage(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<TriageForm>,
) -> Result<Response, WebError> {
    let (concern, permit) = ops::authorize(&state, &user, id, Action::TriageConcern).await?;
    // The form offers staff who are not subjects; a hand-made form is held to the same rule.
    let assignee = match f.assignee.as_str() {
        "" => Ok(None),
        s => match s.parse::<i64>() {
            Ok(pid) => ops::check_assignee(&concern, state.store.person(pid).await?, s).map(Some),
            Err(_) => Err(WebError::BadRequest(
                "assignee: choose a person from the list".into(),
            )),
        },
    };
    let parse = || -> Result<Triage, WebError> {
        Ok(Triage {
            severity: match f.severity.as_str() {
                "" => None,
                s => Some(Severity::parse(s).ok_or_else(|| {
                    WebError::BadRequest(format!("severity: `{s}` is not a severity"))
                })?),
            },
            status: match f.status.as_str() {
                "" => None,
                s => Some(ops::status(s)?),
            },
            assignee_id: assignee?,
        })
    };
    let result = match parse() {
        Ok(t) => state
            .store
            .triage(&permit, id, &t)
            .await
            .map_err(WebError::from),
        Err(e) => Err(e),
    };
    after_change(&state, &user, id, result).await
}

#[derive(Deserialize)]
pub struct CloseForm {
    outcome: String,
}

pub async fn close(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<CloseForm>,
) -> Result<Response, WebError> {
    let (_, permit) = ops::authorize(&state, &user, id, Action::CloseConcern).await?;
    let result = state
        .store
        .close_concern(&permit, id, &f.outcome)
        .await
        .map_err(WebError::from);
    after_change(&state, &user, id, result).await
}

#[derive(Deserialize)]
pub struct ReopenForm {
    reason: String,
}

pub async fn reopen(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<ReopenForm>,
) -> Result<Response, WebError> {
    let (_, permit) = ops::authorize(&state, &user, id, Action::ReopenConcern).await?;
    let result = state
        .store
        .reopen_concern(&permit, id, &f.reason)
        .await
        .map_err(WebError::from);
    after_change(&state, &user, id, result).await
}

pub async fn attach(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let (_, permit) = ops::authorize(&state, &user, id, Action::AddConcernAction).await?;
    let input = read_report(multipart).await?;
    let mut result = if input.attachments.is_empty() {
        Err(WebError::BadRequest("attachment: choose a file".into()))
    } else {
        Ok(())
    };
    for a in &input.attachments {
        if result.is_ok() {
            result = state
                .store
                .add_attachment(&permit, &state.profile.concerns, id, a)
                .await
                .map(|_| ())
                .map_err(WebError::from);
        }
    }
    after_change(&state, &user, id, result).await
}
