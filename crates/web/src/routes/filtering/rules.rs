//! The filter rules page for those the profile lets change the filtering: what each group
//! blocks as now in force, the school's own allow and block entries ("we have the ability to
//! directly block websites"), reloading the profile's `[filtering]` after an edit, and the
//! decision log of every change with who, when, what and why.

use super::shared::{filter_changed, group_choices, is_group_or_every};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{
    Chrome, DecisionRow, EntryRow, GroupRuleRow, RulesPage, refused_if, render, when,
};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use store::{FilteringRecorded, NewFilterEntry, StoreError};

/// Decision-log rows shown.
const DECISIONS: i64 = 200;

#[derive(Deserialize, Default)]
pub struct RulesQuery {
    /// What the last reload did, to show once.
    #[serde(default)]
    reloaded: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
pub struct EntryForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
}

/// `GET /rules`.
pub async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<RulesQuery>,
) -> Result<Response, WebError> {
    state.filtering_permit(&user)?;
    let notice = q.reloaded.map(|r| match r.as_str() {
        "same" => {
            "The profile's filtering is the same as the one in force: nothing changed.".into()
        }
        other => other.to_string(),
    });
    rules_page(&state, &user, notice, None, EntryForm::default()).await
}

async fn rules_page(
    state: &AppState,
    user: &CurrentUser,
    notice: Option<String>,
    error: Option<String>,
    form: EntryForm,
) -> Result<Response, WebError> {
    let groups = group_rows(&state.profile_in_force());
    let entries = state.store.filter_entries().await?;
    // Who added each, by name: the trust's people's too, whom the school cannot read itself.
    let mut by: Vec<i64> = entries.iter().map(|e| e.added_by).collect();
    by.sort_unstable();
    by.dedup();
    let by: std::collections::HashMap<i64, String> = crate::ops::names(state, &by)
        .await?
        .into_iter()
        .map(|(id, name, _)| (id, name))
        .collect();
    let entries = entries
        .into_iter()
        .map(|e| EntryRow {
            id: e.id,
            kind: e.kind,
            group: if e.group_name == "*" {
                "every group".into()
            } else {
                e.group_name
            },
            host: e.host,
            reason: e.reason,
            by: by.get(&e.added_by).cloned().unwrap_or(e.added_by_name),
            at: when(&e.added_at),
        })
        .collect();
    let log = state.store.filtering_decisions(DECISIONS).await?;
    let names = crate::ops::actor_names(state, &log).await?;
    let decisions = log
        .iter()
        .map(|e| {
            let (lines, why) = decision_facts(&e.details);
            DecisionRow {
                at: when(&e.at),
                who: e
                    .actor_id
                    .and_then(|a| names.get(&a).cloned())
                    .unwrap_or_else(|| "the server's operator".into()),
                what: decision_words(&e.action, &e.object_id),
                lines,
                why,
            }
        })
        .collect();
    let mut choices = group_choices(state);
    choices.push(("*".into(), "every group".into()));
    let page = render(&RulesPage {
        chrome: Chrome::new(state, user, "Filter rules", "/rules"),
        notice,
        error: error.clone(),
        groups,
        entries,
        choices,
        form_kind: if form.kind.is_empty() {
            "block".into()
        } else {
            form.kind
        },
        form_site: form.site,
        form_group: form.group,
        form_reason: form.reason,
        decisions,
        profile_file: state
            .filtering
            .as_ref()
            .map(|c| c.profile_file())
            .unwrap_or_default(),
    });
    Ok(refused_if(error.is_some(), page))
}

/// The groups of `profile`'s filtering, as the rules page (and the trust's filtering page) shows
/// them.
pub(crate) fn group_rows(profile: &policy::Profile) -> Vec<GroupRuleRow> {
    profile
        .filtering
        .groups
        .iter()
        .map(|g| GroupRuleRow {
            name: g.name.clone(),
            description: g.description.clone(),
            pupil: g.pupil,
            blocks: g.block_categories.join(", "),
            safe: match (g.safesearch, g.youtube) {
                (false, policy::profile::filtering::YoutubeMode::Off) => "off".into(),
                (s, y) => format!(
                    "SafeSearch {}, YouTube {}",
                    if s { "on" } else { "off" },
                    format!("{y:?}").to_lowercase()
                ),
            },
            times: g
                .time_rules
                .iter()
                .map(|t| format!("{} {}–{}", t.allow_categories.join(", "), t.from, t.to))
                .collect::<Vec<_>>()
                .join("; "),
            own_lists: format!("{} allowed, {} blocked", g.allow.len(), g.block.len()),
        })
        .collect()
}

/// The decision log's words for an audit action.
pub(crate) fn decision_words(action: &str, object_id: &str) -> String {
    match action {
        "filtering.first_recorded" => "Profile's filtering first put in force".into(),
        "filtering.changed" => "Profile's filtering changed".into(),
        "review.approved" => format!("Review request {object_id} approved"),
        "review.declined" => format!("Review request {object_id} declined"),
        "review.requested" => format!("Review request {object_id} asked for"),
        "allowlist.added" => "Site allowed".into(),
        "allowlist.removed" => "Allow entry removed".into(),
        "blocklist.added" => "Site blocked".into(),
        "blocklist.removed" => "Block entry removed".into(),
        other => other.to_string(),
    }
}

/// The facts of a decision, one line each (the changes of a profile version, or the host and
/// group of an entry), and the reason given.
fn decision_facts(details: &str) -> (Vec<String>, String) {
    let Ok(d) = serde_json::from_str::<serde_json::Value>(details) else {
        return (Vec::new(), String::new());
    };
    let why = d
        .get("why")
        .and_then(|w| w.as_str())
        .unwrap_or_default()
        .to_string();
    let mut out = Vec::new();
    if let Some(changes) = d.get("changes").and_then(|c| c.as_array()) {
        out.extend(
            changes
                .iter()
                .filter_map(|c| c.as_str())
                .map(str::to_string),
        );
    }
    if let Some(host) = d.get("host").and_then(|h| h.as_str()) {
        let group = match d.get("group").and_then(|g| g.as_str()) {
            Some("*") => " for every group".to_string(),
            Some(g) => format!(" for {g}"),
            None => String::new(),
        };
        out.push(format!("{host}{group}"));
    }
    if let Some(via) = d.get("via").and_then(|v| v.as_str()) {
        let how = match via {
            "start" => "at start-up".to_string(),
            "SIGHUP" => "on SIGHUP".to_string(),
            "web" => "from this page".to_string(),
            other => other.to_string(),
        };
        out.push(format!("put in force {how}"));
    }
    (out, why)
}

/// `POST /rules/entries`: allows or blocks a site for a group at once.
pub async fn add_entry(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<EntryForm>,
) -> Result<Response, WebError> {
    let permit = state.filtering_permit(&user)?;
    let refuse = |message: String| rules_page(&state, &user, None, Some(message), f.clone());
    let host = match filter::normalize::host_of(f.site.trim()) {
        Ok(h) => h,
        Err(e) => return refuse(format!("site: {e}")).await,
    };
    if !is_group_or_every(&state, &f.group) {
        return refuse(format!("group: `{}` is not a filtering group", f.group)).await;
    }
    let new = NewFilterEntry {
        kind: f.kind.clone(),
        host,
        group_name: f.group.clone(),
        reason: f.reason.clone(),
    };
    match state.store.add_filter_entry(&permit, &new).await {
        Ok(_) => {
            filter_changed(&state);
            Ok(Redirect::to("/rules").into_response())
        }
        Err(StoreError::Invalid(e)) => refuse(e.to_string()).await,
        Err(StoreError::Conflict(e)) => refuse(e).await,
        Err(e) => Err(e.into()),
    }
}

/// `POST /rules/entries/{id}/remove`: takes an entry out of force and reloads the filter.
pub async fn remove_entry(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<ReasonForm>,
) -> Result<Response, WebError> {
    let permit = state.filtering_permit(&user)?;
    state
        .store
        .remove_filter_entry(&permit, id, &f.reason)
        .await?;
    filter_changed(&state);
    Ok(Redirect::to("/rules").into_response())
}

/// `POST /rules/reload`: reads the profile file again and puts its filtering in force.
pub async fn reload(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<ReasonForm>,
) -> Result<Response, WebError> {
    let permit = state.filtering_permit(&user)?;
    if f.reason.trim().is_empty() {
        let message = "reason: say why the filtering changes (it is kept on record)".into();
        return rules_page(&state, &user, None, Some(message), EntryForm::default()).await;
    }
    let Some(control) = &state.filtering else {
        let message = "The filtering gateways are not running, so there is nothing to reload.";
        return rules_page(
            &state,
            &user,
            None,
            Some(message.into()),
            EntryForm::default(),
        )
        .await;
    };
    match control.reload_profile(&permit, f.reason.trim()).await {
        Ok(done) => {
            let mut words = match done.recorded {
                FilteringRecorded::Unchanged => "same".to_string(),
                FilteringRecorded::First { .. } => "The profile's filtering is in force.".into(),
                FilteringRecorded::Changed { changes, .. } => format!(
                    "Reloaded: {} in force now.",
                    match changes.len() {
                        1 => "1 change".to_string(),
                        n => format!("{n} changes"),
                    }
                ),
            };
            if !done.waiting_for_restart.is_empty() {
                if words == "same" {
                    words = "The filtering is unchanged.".into();
                }
                words.push_str(&format!(
                    " Not in force until Palisade restarts: {}.",
                    done.waiting_for_restart.join("; ")
                ));
            }
            let query = serde_urlencoded::to_string([("reloaded", words)])
                .map_err(|e| WebError::BadRequest(e.to_string()))?;
            Ok(Redirect::to(&format!("/rules?{query}")).into_response())
        }
        Err(message) => rules_page(&state, &user, None, Some(message), EntryForm::default()).await,
    }
}
