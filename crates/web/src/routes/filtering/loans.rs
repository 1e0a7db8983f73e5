//! The device register's management and loans (issue 20, part 4): MDM enrolment, passcode and
//! the school-owned account on each device; lending a device, its return and condition; lost
//! and stolen reports. The network manager's, like the rest of the register.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use policy::{Action, Object};
use serde::Deserialize;

/// `POST /devices/management`.
#[derive(Deserialize)]
pub struct ManagementForm {
    device: i64,
    #[serde(default)]
    mdm: String,
    #[serde(default)]
    mdm_last_seen: String,
    /// `on` when a PIN or passcode is set (the form's checkbox).
    #[serde(default)]
    passcode_set: String,
    #[serde(default)]
    school_account: String,
}

/// `POST /devices/management`: sets a device's MDM enrolment, passcode and school account.
pub async fn set_management(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<ManagementForm>,
) -> Result<Response, WebError> {
    let permit = user.permit(Action::ManageDevices, Object::School)?;
    let m = store::devices::Management {
        mdm: f.mdm,
        mdm_last_seen: f.mdm_last_seen,
        passcode_set: !f.passcode_set.is_empty(),
        school_account: f.school_account,
    };
    state
        .store
        .set_device_management(&permit, f.device, &m)
        .await?;
    Ok(Redirect::to("/devices#management").into_response())
}

/// `POST /devices/lend`.
#[derive(Deserialize)]
pub struct LendForm {
    device: i64,
    holder: String,
    lent_on: String,
    #[serde(default)]
    due_on: String,
    condition: String,
}

/// `POST /devices/lend`: lends a device to a person.
pub async fn lend(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<LendForm>,
) -> Result<Response, WebError> {
    let permit = user.permit(Action::ManageDevices, Object::School)?;
    state
        .store
        .lend_device(
            &permit,
            f.device,
            &f.holder,
            &f.lent_on,
            &f.due_on,
            &f.condition,
        )
        .await?;
    Ok(Redirect::to("/devices#loans").into_response())
}

/// `POST /devices/loans/{id}/return`.
#[derive(Deserialize)]
pub struct ReturnForm {
    returned_on: String,
    condition: String,
    /// Where to go back to: the person's page when returned from a leaver's checklist.
    #[serde(default)]
    back: String,
}

/// `POST /devices/loans/{id}/return`: records a loan's return and the device's condition.
pub async fn give_back(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<ReturnForm>,
) -> Result<Response, WebError> {
    let permit = user.permit(Action::ManageDevices, Object::School)?;
    state
        .store
        .return_device(&permit, id, &f.returned_on, &f.condition)
        .await?;
    let back = match f.back.strip_prefix("/people/") {
        Some(rest) if rest.parse::<i64>().is_ok() => f.back.clone(),
        _ => "/devices#loans".into(),
    };
    Ok(Redirect::to(&back).into_response())
}

/// `POST /devices/report`.
#[derive(Deserialize)]
pub struct ReportForm {
    device: i64,
    kind: String,
    note: String,
}

/// `POST /devices/report`: a device lost, stolen, or found again.
pub async fn report(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<ReportForm>,
) -> Result<Response, WebError> {
    let permit = user.permit(Action::ManageDevices, Object::School)?;
    state
        .store
        .report_device(&permit, f.device, &f.kind, &f.note)
        .await?;
    Ok(Redirect::to("/devices#reports").into_response())
}
