//! Filtering across a trust's schools, for the trust's IT lead: the lists every school filters
//! with (the trust's), and for each school their roles let them manage the filtering of, its
//! groups, its own entries, what waits for review, its devices, the last day's requests and
//! the last change in its decision log, with a button that opens its rules page. Counts only:
//! no pupil, device or site of any school is named here.

use super::{Covered, covered_schools, trust_of};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::routes::filtering::rules::{decision_words, group_rows};
use crate::views::{Chrome, TrustFilteringPage, TrustFilteringRow, TrustListRow, render, when};
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use events::LogVerdict;
use policy::{Action, Object};
use serde_json::{Value, json};

/// What the page and the API show.
async fn filtering(
    state: &AppState,
    user: &CurrentUser,
) -> Result<(Vec<TrustListRow>, Vec<TrustFilteringRow>), WebError> {
    let trust = trust_of(state, user)?;
    let lists = trust
        .profile
        .lists
        .iter()
        .map(|l| TrustListRow {
            name: l.name.clone(),
            file: l.path.clone().unwrap_or_default(),
            category: l.category.clone().unwrap_or_else(|| "by folder".into()),
            mandatory: l.mandatory,
        })
        .collect();
    let since = store::timestamp(state.store.now_utc() - chrono::Duration::hours(24));
    let mut rows = Vec::new();
    for Covered {
        slug,
        name,
        state: school,
        user: there,
    } in covered_schools(state, user)?
    {
        if school.filtering_permit(&there).is_err() {
            continue;
        }
        let entries = school.store.filter_entries().await?;
        let allowed = entries.iter().filter(|e| e.kind != "block").count();
        let reviews_waiting = school
            .store
            .reviews(500)
            .await?
            .iter()
            .filter(|r| r.status == "pending")
            .count();
        let devices = school.store.devices().await?.len();
        let (mut requests, mut blocked) = (None, None);
        if there.may(Action::ViewAccessLog, Object::School) {
            let (mut all, mut block) = (0, 0);
            for (_, verdict, n) in school.store.access_by_group(&since).await? {
                all += n;
                if LogVerdict::parse(&verdict) == Some(LogVerdict::Block) {
                    block += n;
                }
            }
            (requests, blocked) = (Some(all), Some(block));
        }
        let last_change = school
            .store
            .filtering_decisions(1)
            .await?
            .first()
            .map(|e| (when(&e.at), decision_words(&e.action, &e.object_id)));
        rows.push(TrustFilteringRow {
            slug,
            name,
            not_filtered: match (&school.filtering, &school.profile.network) {
                (Some(_), _) => None,
                (None, None) => Some("its profile has no [network] section".into()),
                (None, Some(_)) => {
                    Some("this server runs without its DNS resolver and proxy".into())
                }
            },
            groups: group_rows(&school.profile_in_force()),
            allowed,
            blocked_sites: entries.len() - allowed,
            reviews_waiting,
            devices,
            requests,
            blocked,
            last_change,
        });
    }
    Ok((lists, rows))
}

/// `GET /trust/filtering`.
pub async fn page(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    let (lists, schools) = filtering(&state, &user).await?;
    Ok(render(&TrustFilteringPage {
        chrome: Chrome::new(&state, &user, "Filtering across the trust", "/trust"),
        lists,
        schools,
    }))
}

/// `GET /api/v1/trust/filtering`: the same, as JSON.
pub async fn json(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, WebError> {
    let (lists, schools) = filtering(&state, &user).await?;
    let lists: Vec<Value> = lists
        .iter()
        .map(|l| json!({"name": l.name, "file": l.file, "category": l.category, "mandatory": l.mandatory}))
        .collect();
    let schools: Vec<Value> = schools
        .iter()
        .map(|s| {
            json!({"school": s.slug, "name": s.name, "filtered": s.not_filtered.is_none(),
                   "not_filtered_because": s.not_filtered,
                   "groups": s.groups.iter().map(|g| json!({"name": g.name, "pupil": g.pupil, "blocks": g.blocks})).collect::<Vec<_>>(),
                   "allowed_sites": s.allowed, "blocked_sites": s.blocked_sites,
                   "reviews_waiting": s.reviews_waiting, "devices": s.devices,
                   "requests_24h": s.requests, "blocked_24h": s.blocked,
                   "last_change": s.last_change.as_ref().map(|(at, what)| json!({"at": at, "what": what}))})
        })
        .collect();
    Ok(Json(json!({ "lists": lists, "schools": schools })))
}
