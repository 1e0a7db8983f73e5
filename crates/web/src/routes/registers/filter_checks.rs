//! The record of filtering checks made with an outside tool (issue 19, part 2), such as SWGfL's
//! TestFiltering: date, tool, device, site, group, result and the certificate file. The page
//! shows, for each filtering group of the profile, the latest outside check and a due note when
//! the group has had none this academic year, as the DfE standard asks for checks per device
//! type, site and group. Kept by [`policy::filtering_review::FILTERING_KEEPERS`], read by
//! governors too; Palisade's own self-test is at `/filtering/self-test`.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::routes::api::ApiJson;
use crate::views::{Chrome, refused_if, render, when};
use askama::Template;
use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use policy::concern::NewAttachment;
use policy::filtering_review::{NewCheck, group_checked};
use policy::{Action, Object};
use serde_json::{Value, json};

/// One group of the profile and where it stands on outside checks.
pub struct GroupRow {
    pub name: String,
    pub description: String,
    pub latest: String,
    pub due: Option<String>,
}

/// One check as the page lists it.
pub struct CheckRow {
    pub id: i64,
    pub checked_on: String,
    pub tool: String,
    pub device: String,
    pub site: String,
    pub group: String,
    pub passed: bool,
    pub notes: String,
    pub certificate: Option<String>,
    pub recorded: String,
}

#[derive(Template)]
#[template(path = "registers_filter_checks.html")]
struct ChecksPage {
    chrome: Chrome,
    error: Option<String>,
    may_record: bool,
    groups: Vec<GroupRow>,
    checks: Vec<CheckRow>,
    max_bytes: u64,
}

fn may_read(user: &CurrentUser) -> Result<(), WebError> {
    user.permit(Action::ViewFilteringRecords, Object::School)
        .map(|_| ())
}

/// Each group of the profile in force with its latest outside check, on the store's today.
pub async fn group_rows(state: &AppState) -> Result<Vec<GroupRow>, WebError> {
    let today = state.store.clock().school_now().date_naive();
    let checks = state.store.filter_checks().await?;
    let profile = state.profile_in_force();
    Ok(profile
        .filtering
        .groups
        .iter()
        .map(|g| {
            // Checks are newest first.
            let latest = checks
                .iter()
                .filter(|c| c.group == g.name)
                .find_map(|c| chrono::NaiveDate::parse_from_str(&c.checked_on, "%Y-%m-%d").ok());
            let standing = group_checked(latest, today);
            GroupRow {
                name: g.name.clone(),
                description: g.description.clone(),
                latest: standing
                    .latest
                    .map_or_else(|| "never".to_string(), |d| d.to_string()),
                due: standing.due,
            }
        })
        .collect())
}

async fn show(
    state: &AppState,
    user: &CurrentUser,
    error: Option<String>,
) -> Result<Response, WebError> {
    let checks = state
        .store
        .filter_checks()
        .await?
        .into_iter()
        .map(|c| CheckRow {
            id: c.id,
            checked_on: c.checked_on,
            tool: c.tool,
            device: if c.device_name.is_empty() {
                c.device_type
            } else {
                format!("{} ({})", c.device_type, c.device_name)
            },
            site: c.site,
            group: c.group,
            passed: c.passed,
            notes: c.notes,
            certificate: c.certificate,
            recorded: format!("{}, {}", when(&c.recorded_at), c.recorded_by_name),
        })
        .collect();
    let page = render(&ChecksPage {
        chrome: Chrome::new(state, user, "Filtering checks", "/registers/filter-checks"),
        error: error.clone(),
        may_record: user.may(Action::KeepFilteringRecords, Object::School),
        groups: group_rows(state).await?,
        checks,
        max_bytes: state.profile.concerns.max_attachment_bytes,
    });
    Ok(refused_if(error.is_some(), page))
}

/// `GET /registers/filter-checks`.
pub async fn page(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    may_read(&user)?;
    show(&state, &user, None).await
}

/// Checks and stores an outside check; the refusal names the field that is wrong.
async fn add(
    state: &AppState,
    user: &CurrentUser,
    entry: &NewCheck,
    certificate: Option<&NewAttachment>,
) -> Result<i64, WebError> {
    let permit = user.permit(Action::KeepFilteringRecords, Object::School)?;
    let today = state.store.clock().school_now().date_naive();
    let profile = state.profile_in_force();
    let groups: Vec<&str> = profile
        .filtering
        .groups
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    let checked = entry.check(&groups, today)?;
    if let Some(file) = certificate {
        policy::concern::check_attachment(&state.profile.concerns, file).map_err(|e| {
            WebError::BadRequest(e.to_string().replacen("attachment", "certificate", 1))
        })?;
    }
    Ok(state
        .store
        .record_filter_check(&permit, &checked, certificate)
        .await?)
}

/// `POST /registers/filter-checks` (multipart: the fields of [`NewCheck`] and `certificate`):
/// records it; a wrong field shows the page again, naming it.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    user.permit(Action::KeepFilteringRecords, Object::School)?;
    let bad = crate::routes::upload::unreadable;
    let mut entry = NewCheck::default();
    let mut certificate = None;
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "certificate" {
            certificate = crate::routes::upload::file_of(field).await?;
            continue;
        }
        let text = field.text().await.map_err(bad)?;
        match name.as_str() {
            "checked_on" => entry.checked_on = text,
            "tool" => entry.tool = text,
            "device_type" => entry.device_type = text,
            "device_name" => entry.device_name = text,
            "site" => entry.site = text,
            "group" => entry.group = text,
            "result" => entry.result = text,
            "notes" => entry.notes = text,
            _ => {}
        }
    }
    match add(&state, &user, &entry, certificate.as_ref()).await {
        Ok(_) => Ok(Redirect::to("/registers/filter-checks").into_response()),
        Err(WebError::BadRequest(message)) => show(&state, &user, Some(message)).await,
        Err(e) => Err(e),
    }
}

/// `GET /registers/filter-checks/{id}/certificate`: the check's certificate, as an attachment.
pub async fn certificate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    may_read(&user)?;
    let (name, kind, bytes) = state
        .store
        .filter_check_certificate(id)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(crate::routes::upload::download(&name, kind, bytes))
}

/// `GET /api/v1/filter-checks`: every check, and each group's latest with its due note.
pub async fn list_json(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, WebError> {
    may_read(&user)?;
    let groups: Vec<Value> = group_rows(&state)
        .await?
        .into_iter()
        .map(|g| json!({"group": g.name, "latest": g.latest, "due": g.due}))
        .collect();
    Ok(Json(json!({
        "groups": groups,
        "checks": state.store.filter_checks().await?,
    })))
}

/// `POST /api/v1/filter-checks` with a [`NewCheck`] (no certificate file): 201 `{"id"}`, or
/// 400 naming the field.
pub async fn create_json(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, WebError> {
    user.permit(Action::KeepFilteringRecords, Object::School)?;
    let entry: NewCheck = crate::routes::api::body_as(body)?;
    let id = add(&state, &user, &entry, None).await?;
    Ok(crate::routes::api::created(id))
}
