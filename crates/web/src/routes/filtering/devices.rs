//! The device register: the network manager records which device is at which address, who
//! holds it and its filtering group; the DNS gateway reloads it at once.

use super::shared::{filter_changed, group_choices};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{Chrome, DeviceForm, DeviceRow, DevicesPage, LoanRow, refused_if, render, when};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use policy::{Action, Object};
use serde::Deserialize;
use store::{NewDevice, StoreError};

async fn show(
    state: &AppState,
    user: &CurrentUser,
    form: DeviceForm,
    error: Option<String>,
) -> Result<Response, WebError> {
    let today = state.store.school_today();
    let open = state.store.open_loans().await?;
    let all = state.store.devices().await?;
    let names: std::collections::HashMap<i64, String> =
        all.iter().map(|d| (d.id, d.name.clone())).collect();
    let reports = state
        .store
        .device_reports()
        .await?
        .into_iter()
        .map(|r| {
            let device = names
                .get(&r.device_id)
                .cloned()
                .unwrap_or_else(|| format!("device {} (retired)", r.device_id));
            (device, r.kind, r.note, when(&r.reported_at))
        })
        .collect();
    let loans = open
        .iter()
        .map(|l| LoanRow {
            id: l.id,
            device: l.device_name.clone(),
            holder: l.person_name.clone(),
            holder_id: l.person_id,
            lent_on: l.lent_on.clone(),
            due_on: l.due_on.clone().unwrap_or_default(),
            overdue: l.overdue(&today),
            condition: l.condition_out.clone(),
        })
        .collect();
    let devices: Vec<DeviceRow> = all
        .into_iter()
        .map(|d| DeviceRow {
            on_loan: open
                .iter()
                .find(|l| l.device_id == d.id)
                .map(|l| match &l.due_on {
                    Some(due) => format!("{} until {due}", l.person_name),
                    None => l.person_name.clone(),
                }),
            mdm: match (&d.mdm, &d.mdm_last_seen) {
                (Some(m), Some(seen)) => format!("{m}, last seen {seen}"),
                (Some(m), None) => m.clone(),
                _ => "not enrolled".into(),
            },
            passcode_set: d.passcode_set != 0,
            school_account: d.school_account.clone().unwrap_or_default(),
            id: d.id,
            name: d.name,
            ip: d.ip.unwrap_or_default(),
            mac: d.mac.unwrap_or_default(),
            holder: match (d.holder_name, d.holder_username) {
                (Some(name), Some(username)) => format!("{name} ({username})"),
                _ => "shared".into(),
            },
            group: d.group_name.unwrap_or_else(|| "as its subnet's".into()),
            added: when(&d.added_at),
        })
        .collect();
    let all_on_loan = devices.iter().all(|d: &DeviceRow| d.on_loan.is_some());
    let page = render(&DevicesPage {
        all_on_loan,
        chrome: Chrome::new(state, user, "Devices", "/devices"),
        error: error.clone(),
        form,
        devices,
        groups: group_choices(state),
        loans,
        reports,
        today,
    });
    Ok(refused_if(error.is_some(), page))
}

/// `GET /devices`.
pub async fn page(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    user.permit(Action::ManageDevices, Object::School)?;
    show(&state, &user, DeviceForm::default(), None).await
}

/// `POST /devices`: registers a device; a wrong field shows the form again, naming it.
pub async fn add(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<DeviceForm>,
) -> Result<Response, WebError> {
    let permit = user.permit(Action::ManageDevices, Object::School)?;
    let new = NewDevice {
        name: f.name.clone(),
        ip: f.ip.clone(),
        mac: f.mac.clone(),
        holder: f.holder.clone(),
        group_name: f.group.clone(),
    };
    let groups: Vec<String> = group_choices(&state).into_iter().map(|g| g.0).collect();
    match state.store.add_device(&permit, &new, &groups).await {
        Ok(_) => {
            filter_changed(&state);
            Ok(Redirect::to("/devices").into_response())
        }
        Err(StoreError::Invalid(e)) => show(&state, &user, f, Some(e.to_string())).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct RetireForm {
    reason: String,
}

/// `POST /devices/{id}/retire`: takes a device out of the register, keeping it on record.
pub async fn retire(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<RetireForm>,
) -> Result<Response, WebError> {
    let permit = user.permit(Action::ManageDevices, Object::School)?;
    state.store.retire_device(&permit, id, &f.reason).await?;
    filter_changed(&state);
    Ok(Redirect::to("/devices").into_response())
}
