//! Leavers (issue 20, part 3): the leaving date set in advance on the person's page, and the
//! checklist ticked item by item; devices on loan are ticked off by their return.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use policy::{Action, Object};
use serde::Deserialize;

/// `POST /people/{id}/leaving`.
#[derive(Deserialize)]
pub struct LeavingForm {
    /// `YYYY-MM-DD`; empty takes the date away.
    #[serde(default)]
    leaves_on: String,
}

/// `POST /people/{id}/leaving`: sets or takes away the leaving date.
pub async fn set_date(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<LeavingForm>,
) -> Result<Response, WebError> {
    let permit = user.permit(Action::ManagePeople, Object::Person(id))?;
    let date = Some(f.leaves_on.as_str()).filter(|d| !d.trim().is_empty());
    state.store.set_leaving_date(&permit, id, date).await?;
    Ok(Redirect::to(&format!("/people/{id}#leaving")).into_response())
}

/// `POST /people/{id}/leaving/tick`.
#[derive(Deserialize)]
pub struct TickForm {
    item: String,
    #[serde(default)]
    note: String,
}

/// `POST /people/{id}/leaving/tick`: ticks one item of the profile's checklist.
pub async fn tick(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<TickForm>,
) -> Result<Response, WebError> {
    let permit = user.permit(Action::ManageLeavers, Object::School)?;
    state.profile.leavers.check_item(&f.item)?;
    state
        .store
        .tick_leaver_item(&permit, id, &f.item, &f.note)
        .await?;
    Ok(Redirect::to(&format!("/people/{id}#leaving")).into_response())
}

/// A person's leavers' checklist: the profile's items with their ticks, then each device lent
/// to them (done when returned). Empty while no leaving date is set and they are at school.
pub async fn checklist_of(
    state: &AppState,
    person: &store::Person,
    loans: &[store::devices::Loan],
) -> Result<Vec<policy::leavers::ChecklistItem>, WebError> {
    if person.leaves_on.is_none() && person.active {
        return Ok(Vec::new());
    }
    let ticks = state.store.leaver_ticks(person.id).await?;
    let loans: Vec<policy::leavers::LoanItem> = loans
        .iter()
        .map(|l| policy::leavers::LoanItem {
            loan_id: l.id,
            device: l.device_name.clone(),
            returned: l.returned_on.as_ref().map(|on| policy::leavers::Done {
                by: l.returned_by_name.clone().unwrap_or_default(),
                at: on.clone(),
                note: l.condition_back.clone().unwrap_or_default(),
            }),
        })
        .collect();
    let ticks: Vec<(String, policy::leavers::Done)> = ticks
        .into_iter()
        .map(|(item, d)| {
            let at = crate::views::when(&d.at);
            (item, policy::leavers::Done { at, ..d })
        })
        .collect();
    Ok(state.profile.leavers.checklist(&ticks, &loans))
}

/// Leavers whose checklists are the school's to work through: everyone with a leaving date
/// to come (with their checklist), and everyone who has left with a device still on loan
/// (with the device's name).
pub struct OpenChecklists {
    pub to_come: Vec<(store::Person, Vec<policy::leavers::ChecklistItem>)>,
    /// Person id, name, device.
    pub gone: Vec<(i64, String, String)>,
}

/// The leavers page's and the dashboard's one reading of [`OpenChecklists`].
pub async fn open_checklists(state: &AppState) -> Result<OpenChecklists, WebError> {
    let open_loans = state.store.open_loans().await?;
    let mut to_come = Vec::new();
    for p in state.store.leavers_to_come().await? {
        let loans: Vec<_> = open_loans
            .iter()
            .filter(|l| l.person_id == p.id)
            .cloned()
            .collect();
        let list = checklist_of(state, &p, &loans).await?;
        to_come.push((p, list));
    }
    let gone = open_loans
        .iter()
        .filter(|l| l.person_active == 0)
        .map(|l| (l.person_id, l.person_name.clone(), l.device_name.clone()))
        .collect();
    Ok(OpenChecklists { to_come, gone })
}

/// `GET /people/leavers`: everyone with a leaving date to come, with how much of their
/// checklist is open, and those who have left with a device still on loan.
pub async fn page(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    user.permit(Action::ManageLeavers, Object::School)?;
    let open = open_checklists(&state).await?;
    let rows = open
        .to_come
        .into_iter()
        .map(|(p, list)| crate::views::LeaverRow {
            id: p.id,
            name: p.display_name,
            kind: p.kind.as_str().to_string(),
            leaves_on: p.leaves_on.unwrap_or_default(),
            open: list.iter().filter(|i| i.done.is_none()).count(),
            items: list.len(),
        })
        .collect();
    let gone = open.gone;
    Ok(crate::views::render(&crate::views::LeaversPage {
        chrome: crate::views::Chrome::new(&state, &user, "Leavers", "/people"),
        rows,
        gone,
    }))
}
