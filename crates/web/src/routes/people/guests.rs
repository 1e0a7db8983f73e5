//! Guest accounts (issue 20, part 2): the school office makes an account for a visitor or a
//! supply teacher that ends by itself after the hours or days chosen (at most the profile's
//! `guests.max_hours`), and prints a sign-in slip. The password is made here, shown on the
//! slip once and kept only as its Argon2id hash.

use crate::AppState;
use crate::auth::{self, CurrentUser};
use crate::error::WebError;
use crate::views::{Chrome, GuestSlipPage, GuestsPage, render, when};
use axum::Form;
use axum::extract::State;
use axum::response::Response;
use policy::leavers::GuestPurpose;
use policy::{Action, Object, Permit};
use serde::Deserialize;

/// Letters and digits a guest reads off a slip without confusing them (no 0/O, 1/l/I).
const SLIP_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// `n` random characters of [`SLIP_ALPHABET`].
fn slip_text(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::fill(&mut bytes[..]);
    bytes
        .iter()
        .map(|b| char::from(SLIP_ALPHABET[usize::from(*b) % SLIP_ALPHABET.len()]))
        .collect()
}

fn guests_permit(state: &AppState, user: &CurrentUser) -> Result<Permit, WebError> {
    user.permit(
        Action::CreateGuest,
        Object::Guests {
            created_by: &state.profile.guests.created_by,
        },
    )
}

async fn show(
    state: &AppState,
    user: &CurrentUser,
    error: Option<String>,
) -> Result<Response, WebError> {
    let guests = state
        .store
        .current_guests()
        .await?
        .into_iter()
        .map(|p| {
            let purpose = p
                .guest_purpose
                .as_deref()
                .and_then(GuestPurpose::parse)
                .map_or("Guest", GuestPurpose::label);
            (
                p.id,
                p.display_name,
                p.username,
                purpose.to_string(),
                p.expires_at.as_deref().map(when).unwrap_or_default(),
            )
        })
        .collect();
    let page = render(&GuestsPage {
        chrome: Chrome::new(state, user, "Guest accounts", "/people"),
        error: error.clone(),
        max_hours: state.profile.guests.max_hours,
        group: state.profile.guests.group.clone(),
        guests,
    });
    Ok(crate::views::refused_if(error.is_some(), page))
}

/// `GET /people/guests`: the guest accounts still open and the form for a new one.
pub async fn page(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    guests_permit(&state, &user)?;
    show(&state, &user, None).await
}

/// `POST /people/guests`.
#[derive(Deserialize)]
pub struct GuestForm {
    display_name: String,
    purpose: String,
    /// How long, in `unit`s.
    length: String,
    /// `hours` or `days`.
    unit: String,
}

/// `POST /people/guests`: makes the account and shows its slip (the password, this once).
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<GuestForm>,
) -> Result<Response, WebError> {
    let permit = guests_permit(&state, &user)?;
    let made = async {
        let purpose = GuestPurpose::parse(&f.purpose).ok_or_else(|| {
            WebError::BadRequest(format!(
                "purpose: `{}` is not visitor or supply_teacher",
                f.purpose
            ))
        })?;
        let n: u32 = f.length.trim().parse().map_err(|_| {
            WebError::BadRequest(format!("length: `{}` is not a whole number", f.length))
        })?;
        let hours = match f.unit.as_str() {
            "hours" => n,
            "days" => n.saturating_mul(24),
            other => {
                return Err(WebError::BadRequest(format!(
                    "unit: `{other}` is not hours or days"
                )));
            }
        };
        state.profile.guests.check_hours(hours)?;
        let expires = state.store.now_utc() + chrono::Duration::hours(i64::from(hours));
        let new = store::NewGuest {
            username: format!("guest-{}", slip_text(6)),
            display_name: f.display_name.clone(),
            purpose,
            expires_at: store::timestamp(expires),
        };
        let password = slip_text(12);
        let hash = auth::hash_password(&password)?;
        state.store.create_guest(&permit, &new, &hash).await?;
        Ok((new, password))
    }
    .await;
    match made {
        Ok((new, password)) => Ok(render(&GuestSlipPage {
            chrome: Chrome::new(&state, &user, "Guest sign-in slip", "/people"),
            school: state.profile.school.name.clone(),
            name: new.display_name.trim().to_string(),
            purpose: new.purpose.label().to_string(),
            username: new.username,
            password,
            ends: when(&new.expires_at),
        })),
        Err(WebError::BadRequest(m) | WebError::Conflict(m)) => show(&state, &user, Some(m)).await,
        Err(e) => Err(e),
    }
}
