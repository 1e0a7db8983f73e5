//! A subject access request (issue 20, part 7): `/people/{id}/subject-access` (a printable
//! page) and `/people/{id}/subject-access.json` (a download), each export audited; and
//! `POST /people/{id}/erase`, the erasure of a person's records once retention has passed
//! (part 3). The data manager and the Headteacher export, the data manager erases; anyone
//! else, the person themself included, is not told the record exists (404).

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{Chrome, ConcernView, EntryView, SubjectAccessPage, render, when};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use policy::{Action, Object};
use serde::Deserialize;

/// `?erased=1` after an erasure.
#[derive(Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    erased: Option<String>,
}

/// A timeline entry's text, as the concern pages write it, with its assignee (named as the
/// export names them).
fn entry_text(state: &AppState, body: &serde_json::Value) -> String {
    let text = crate::ops::entry_text(state, body);
    match body.get("assignee").and_then(|v| v.as_str()) {
        Some(who) if text.is_empty() => format!("assigned to {who}"),
        Some(who) => format!("{text} — assigned to {who}"),
        None => text,
    }
}

/// `GET /people/{id}/subject-access`.
pub async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(shown): Query<Shown>,
) -> Result<Response, WebError> {
    let permit = user.permit(Action::ExportSubjectAccess, Object::Person(id))?;
    let mut export = state.store.subject_access(&permit, id, "html").await?;
    // Who is signed in is known here, wherever their own record is (a trust's people).
    export.prepared_by = user.person.display_name.clone();
    let standing = state.store.retention(&state.profile.retention, id).await?;
    let concerns = export
        .concerns
        .iter()
        .map(|c| ConcernView {
            category: state
                .profile
                .category(&c.category)
                .map(|k| k.label.clone())
                .unwrap_or_else(|| c.category.clone()),
            reported_at: when(&c.reported_at),
            timeline: c
                .timeline
                .iter()
                .map(|e| EntryView {
                    at: when(&e.at),
                    label: policy::ActionKind::parse(&e.kind)
                        .map(|k| k.label().to_string())
                        .unwrap_or_else(|| e.kind.clone()),
                    by: e.by.clone(),
                    text: entry_text(&state, &e.body),
                })
                .collect(),
            copy: c.clone(),
        })
        .collect();
    let mut chrome = Chrome::new(
        &state,
        &user,
        format!("Subject access: {}", export.person.display_name),
        "/people",
    );
    if shown.erased.is_some() {
        chrome.flash = Some("Their records were erased; the audit trail records it.".into());
    }
    let retention = match (&export.erased_at, export.person.date_of_birth.as_deref()) {
        (Some(_), _) => "Their records have been erased.".to_string(),
        (None, None) => format!(
            "{} No date of birth is recorded: records whose retention runs from it are kept.",
            standing.sentence()
        ),
        (None, Some(_)) => standing.sentence(),
    };
    Ok(render(&SubjectAccessPage {
        chrome,
        school: state.profile.school.name.clone(),
        prepared_on: when(&export.prepared_at),
        roles: export
            .person
            .roles
            .iter()
            .map(|r| state.profile.role_title(r).to_string())
            .collect::<Vec<_>>()
            .join(", "),
        counts: export.counts(),
        concerns,
        retention,
        erasable: standing.erasable() && export.erased_at.is_none(),
        can_erase: user.may(Action::EraseRecords, Object::Person(id)),
        person_id: id,
        export,
    }))
}

/// `GET /people/{id}/subject-access.json`: the same export as a file to download.
pub async fn json(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let permit = user.permit(Action::ExportSubjectAccess, Object::Person(id))?;
    let mut export = state.store.subject_access(&permit, id, "json").await?;
    export.prepared_by = user.person.display_name.clone();
    let day = export.prepared_at.get(..10).unwrap_or_default().to_string();
    let body = serde_json::json!({
        "school": state.profile.school.name,
        "note": "Prepared for a subject access request. Other people's names are redacted. \
                 Files attached to concerns are listed, not included: they are available on \
                 request.",
        "subject_access": export,
    });
    let bytes = serde_json::to_vec_pretty(&body)
        .map_err(|e| WebError::Internal(format!("the export could not be written: {e}")))?;
    let disposition = format!("attachment; filename=\"subject-access-{id}-{day}.json\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// The erasure form: the person's username typed again, so that nobody erases the wrong one.
#[derive(Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /people/{id}/erase`.
pub async fn erase(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<EraseForm>,
) -> Result<Response, WebError> {
    let permit = user.permit(Action::EraseRecords, Object::Person(id))?;
    let person = state.store.person(id).await?.ok_or(WebError::NotFound)?;
    // Within retention the answer is when, whatever was typed.
    let standing = state.store.retention(&state.profile.retention, id).await?;
    if !standing.erasable() {
        return Err(WebError::Conflict(format!(
            "These records may not be erased yet. {}",
            standing.sentence()
        )));
    }
    if f.confirm.trim() != person.username {
        return Err(WebError::BadRequest(format!(
            "confirm: type their username, `{}`, to erase their records",
            person.username
        )));
    }
    state
        .store
        .erase_person(&permit, &state.profile.retention, id)
        .await?;
    Ok(Redirect::to(&format!("/people/{id}/subject-access?erased=1")).into_response())
}
