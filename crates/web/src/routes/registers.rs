//! The compliance registers. The data processors register (issue 18, part 5): the third
//! parties that hold personal data for the school, for the Headteacher and the data manager
//! (and a trust's data protection officer, who acts as the data manager), where the profile
//! says the school keeps one (`[registers] data_processors`); elsewhere it does not exist (404).
//! A page with the form, a CSV export, and the API.

pub mod consent;
pub mod filter_checks;
pub mod filtering_review;
pub mod publish;
pub mod roles;
pub mod signoffs;
pub mod training;

use super::api::ApiJson;
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{Chrome, ProcessorRow, ProcessorsPage, refused_if, render, when};
use axum::Json;
use axum::extract::{Form, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use policy::registers::{DATA_SUBJECTS, NewProcessor};
use policy::{Action, Object, Permit};
use serde::Deserialize;
use serde_json::{Value, json};
use store::Processor;

/// The permit to see and add to the register, if the school keeps one and `user` may.
fn permit(state: &AppState, user: &CurrentUser) -> Result<Permit, WebError> {
    let kept = state.profile.registers.data_processors;
    user.permit(Action::ManageDataProcessors, Object::Register { kept })
}

/// What the page's form sends: one checkbox per kind of data subject.
#[derive(Deserialize, Default, Clone)]
pub struct ProcessorForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    data_shared: String,
    #[serde(default)]
    pupils: Option<String>,
    #[serde(default)]
    parents: Option<String>,
    #[serde(default)]
    staff: Option<String>,
    #[serde(default)]
    governors: Option<String>,
    #[serde(default)]
    visitors: Option<String>,
    #[serde(default)]
    agreement_on: String,
    #[serde(default)]
    renewal_on: String,
    #[serde(default)]
    transfer: String,
    #[serde(default)]
    stored_where: String,
    #[serde(default)]
    dpia_done: Option<String>,
    #[serde(default)]
    review_on: String,
}

impl ProcessorForm {
    fn entry(&self) -> NewProcessor {
        let ticked = [
            &self.pupils,
            &self.parents,
            &self.staff,
            &self.governors,
            &self.visitors,
        ];
        NewProcessor {
            name: self.name.clone(),
            purpose: self.purpose.clone(),
            data_shared: self.data_shared.clone(),
            whose_data: DATA_SUBJECTS
                .iter()
                .zip(ticked)
                .filter(|(_, t)| t.is_some())
                .map(|(s, _)| s.to_string())
                .collect(),
            agreement_on: self.agreement_on.clone(),
            renewal_on: self.renewal_on.clone(),
            transfer: self.transfer.clone(),
            stored_where: self.stored_where.clone(),
            dpia_done: self.dpia_done.is_some(),
            review_on: self.review_on.clone(),
        }
    }
}

fn row(p: Processor) -> ProcessorRow {
    ProcessorRow {
        name: p.name,
        purpose: p.purpose,
        data_shared: p.data_shared,
        whose_data: p.whose_data.replace(',', ", "),
        agreement_on: p.agreement_on,
        renewal_on: p.renewal_on.unwrap_or_else(|| "none".into()),
        transfer: p.transfer,
        stored_where: p.stored_where,
        dpia_done: p.dpia_done,
        review_on: p.review_on,
        added: format!("{}, {}", when(&p.added_at), p.added_by_name),
    }
}

async fn show(
    state: &AppState,
    user: &CurrentUser,
    error: Option<String>,
) -> Result<Response, WebError> {
    let rows = state
        .store
        .processors()
        .await?
        .into_iter()
        .map(row)
        .collect();
    let page = render(&ProcessorsPage {
        chrome: Chrome::new(state, user, "Data processors", "/registers/processors"),
        error: error.clone(),
        rows,
        subjects: DATA_SUBJECTS.iter().map(|s| s.to_string()).collect(),
    });
    Ok(refused_if(error.is_some(), page))
}

/// `GET /registers/processors`.
pub async fn page(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    permit(&state, &user)?;
    show(&state, &user, None).await
}

/// Checks and stores `entry`; the refusal names the field.
async fn add(state: &AppState, user: &CurrentUser, entry: &NewProcessor) -> Result<i64, WebError> {
    let permit = permit(state, user)?;
    let checked = entry.check().map_err(WebError::from)?;
    Ok(state.store.add_processor(&permit, &checked).await?)
}

/// `POST /registers/processors`: adds one; a wrong field shows the page again, naming it.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<ProcessorForm>,
) -> Result<Response, WebError> {
    match add(&state, &user, &f.entry()).await {
        Ok(_) => Ok(Redirect::to("/registers/processors").into_response()),
        Err(WebError::BadRequest(message)) => show(&state, &user, Some(message)).await,
        Err(e) => Err(e),
    }
}

/// `GET /registers/processors.csv`: the register for the governors or an auditor.
pub async fn csv(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    permit(&state, &user)?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let header_row = [
        "name",
        "purpose",
        "data_shared",
        "whose_data",
        "agreement_on",
        "renewal_on",
        "transfer",
        "stored_where",
        "dpia_done",
        "review_on",
    ];
    let failed = |e: csv::Error| WebError::Internal(format!("the CSV could not be written: {e}"));
    out.write_record(header_row).map_err(failed)?;
    for p in state.store.processors().await? {
        out.write_record([
            p.name.as_str(),
            &p.purpose,
            &p.data_shared,
            &p.whose_data,
            &p.agreement_on,
            p.renewal_on.as_deref().unwrap_or_default(),
            &p.transfer,
            &p.stored_where,
            if p.dpia_done { "yes" } else { "no" },
            &p.review_on,
        ])
        .map_err(failed)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| WebError::Internal(format!("the CSV could not be written: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"data-processors.csv\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /api/v1/data-processors`.
pub async fn list_json(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, WebError> {
    permit(&state, &user)?;
    let rows = state.store.processors().await?;
    Ok(Json(json!({ "processors": rows })))
}

/// `POST /api/v1/data-processors` with a [`NewProcessor`]: 201 `{"id"}`, or 400 naming the
/// field. Who may is asked before the body is read: a school without the register has none.
pub async fn create_json(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, WebError> {
    permit(&state, &user)?;
    let entry: NewProcessor = crate::routes::api::body_as(body)?;
    let id = add(&state, &user, &entry).await?;
    Ok(crate::routes::api::created(id))
}
