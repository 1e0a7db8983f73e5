//! The safeguarding leads' alert inbox: filter by severity and status, acknowledge, dismiss with
//! a reason. Nobody else sees it; a single alert is not found for anyone else (it names a pupil).

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{AlertRow, AlertsPage, Chrome, render, when};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use policy::profile::monitoring::AlertSeverity;
use policy::{Action, Object};
use serde::Deserialize;
use store::{AlertAction, AlertFilter};

#[derive(Deserialize, Default)]
pub struct InboxQuery {
    #[serde(default)]
    severity: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    year: String,
}

#[derive(Deserialize)]
pub struct DismissForm {
    reason: String,
}

#[derive(Deserialize)]
pub struct EscalateForm {
    /// The pupil the concern is about (their username).
    subject: String,
    category: String,
}

/// Who an alert is about, as shown, and whether it is about no person (Palisade itself, or a
/// concern waiting for triage), so that it cannot be escalated to a concern about someone.
pub(crate) fn who(subject: String, audience: policy::alerts::AlertAudience) -> (String, bool) {
    use policy::alerts::AlertAudience;
    match audience {
        _ if subject == store::gaps::SYSTEM_SUBJECT => ("Palisade itself".to_string(), true),
        AlertAudience::System | AlertAudience::Escalation | AlertAudience::Backup => {
            (subject, true)
        }
        AlertAudience::Safeguarding | AlertAudience::Staff | AlertAudience::AboutHeadteacher => {
            (subject, false)
        }
    }
}

/// What the inbox is asked about: the school's profile's readers of each audience.
pub(crate) fn inbox_object(state: &AppState) -> Object<'static> {
    Object::Alerts(state.profile.concerns.alert_readers())
}

/// `filter` narrowed to the alerts `user` reads: their roles' audiences, none about them.
pub(crate) fn readable_by(
    state: &AppState,
    user: &CurrentUser,
    filter: AlertFilter,
) -> AlertFilter {
    let readers = state.profile.concerns.alert_readers();
    AlertFilter {
        audiences: Some(readers.visible_to(user.actor.roles)),
        not_about: Some(user.person.id),
        ..filter
    }
}

/// `GET /alerts`.
pub async fn inbox(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<InboxQuery>,
) -> Result<Response, WebError> {
    user.permit(Action::HandleAlerts, inbox_object(&state))?;
    let status = if q.status.is_empty() {
        "open".to_string()
    } else {
        q.status.clone()
    };
    let filter = readable_by(
        &state,
        &user,
        AlertFilter {
            severity: AlertSeverity::parse(&q.severity),
            status: (status != "all").then(|| status.clone()),
            year_group: Some(q.year.clone()).filter(|y| !y.is_empty()),
            ..AlertFilter::default()
        },
    );
    let alerts = state
        .store
        .alerts(&filter, 200)
        .await?
        .into_iter()
        .map(|a| {
            let evidence = a
                .events()
                .into_iter()
                .rev()
                .map(|e| {
                    (
                        when(&e.at),
                        e.url.unwrap_or(e.name),
                        e.verdict,
                        e.category.unwrap_or_default(),
                    )
                })
                .collect();
            let (who, system) = who(a.subject, a.audience);
            AlertRow {
                id: a.id,
                who,
                system,
                severity: a.severity,
                rule: a.rule,
                group: a.group_name,
                first: when(&a.first_at),
                last: when(&a.last_at),
                count: a.count,
                status: a.status,
                note: a.status_note.unwrap_or_default(),
                username: a.username.unwrap_or_default(),
                evidence,
            }
        })
        .collect();
    let outbox = state.store.outbox_state().await?;
    let mail = (outbox.waiting > 0).then(|| {
        let mut m = format!("{} alert mail(s) waiting to be sent", outbox.waiting);
        if outbox.failing > 0 {
            m.push_str(&format!(
                "; {} failed and will be retried (last error: {})",
                outbox.failing,
                outbox.last_error.clone().unwrap_or_default()
            ));
        }
        m
    });
    Ok(render(&AlertsPage {
        chrome: Chrome::new(&state, &user, "Alerts", "/alerts"),
        alerts,
        severity: q.severity,
        status,
        severities: AlertSeverity::ALL.to_vec(),
        mail,
        years: state.store.alert_year_groups().await?,
        year: q.year,
        categories: state
            .profile
            .concerns
            .categories
            .iter()
            .map(|c| (c.id.clone(), c.label.clone()))
            .collect(),
    }))
}

/// The permit to handle alert `id`, with the alert. Refused, it is not found: an alert names
/// a pupil or a member of staff, and its existence is not for anyone else to learn.
async fn alert_permit(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<(policy::Permit, store::Alert), WebError> {
    let alert = match state.store.alert(id).await {
        Ok(a) => a,
        Err(store::StoreError::NotFound { .. }) => return Err(WebError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let object = Object::Alert {
        id,
        readers: state.profile.concerns.alert_readers().of(alert.audience),
        about: alert.person_id,
    };
    let permit = user
        .permit(Action::HandleAlerts, object)
        .map_err(|_| WebError::NotFound)?;
    Ok((permit, alert))
}

async fn act(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    action: AlertAction,
) -> Result<Response, WebError> {
    let (permit, _) = alert_permit(state, user, id).await?;
    state.store.act_on_alert(&permit, id, &action).await?;
    Ok(Redirect::to("/alerts").into_response())
}

/// `POST /alerts/{id}/acknowledge`.
pub async fn acknowledge(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    act(&state, &user, id, AlertAction::Acknowledge).await
}

/// `POST /alerts/{id}/dismiss`.
pub async fn dismiss(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<DismissForm>,
) -> Result<Response, WebError> {
    act(&state, &user, id, AlertAction::Dismiss { reason: f.reason }).await
}

/// `POST /alerts/{id}/escalate`: a safeguarding concern about the pupil, reported by the lead,
/// with the alert's evidence in its details; the alert is marked escalated, linking to it.
pub async fn escalate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<EscalateForm>,
) -> Result<Response, WebError> {
    let (permit, alert) = alert_permit(&state, &user, id).await?;
    if !matches!(alert.status.as_str(), "open" | "acknowledged") {
        return Err(WebError::Conflict(format!(
            "alert {id} was already {}",
            alert.status
        )));
    }
    let pupil = state
        .store
        .person_by_username(f.subject.trim())
        .await?
        .ok_or_else(|| {
            WebError::BadRequest(format!("subject: nobody is called `{}`", f.subject.trim()))
        })?;
    let mut details = format!(
        "Escalated from a filtering alert ({} severity): {}.\nSeen {} time(s) from {} to {}, group {}, device {}.\n\nEvidence:\n",
        alert.severity,
        alert.rule,
        alert.count,
        when(&alert.first_at),
        when(&alert.last_at),
        alert.group_name,
        alert.client_ip,
    );
    for e in alert.events() {
        let what = e.url.clone().unwrap_or_else(|| e.name.clone());
        let search = e
            .search_term
            .as_deref()
            .map(|t| format!(" (search: {t})"))
            .unwrap_or_default();
        details.push_str(&format!(
            "- {} {} {}{} [{}]\n",
            when(&e.at),
            e.verdict,
            what,
            search,
            e.category.unwrap_or_default()
        ));
    }
    let new = store::NewConcern {
        reporter_id: user.person.id,
        form: policy::concern::ReportForm::Staff,
        subjects: vec![pupil.id],
        category: f.category,
        summary: format!("Filtering alert: {}", alert.rule)
            .chars()
            .take(200)
            .collect(),
        details,
        about_text: None,
        occurred_at: Some(when(&alert.first_at)),
        platform: Some("School internet".into()),
        attachments: Vec::new(),
    };
    let report = user.permit(Action::ReportConcern, Object::School)?;
    let concern_id = state
        .store
        .create_concern(&report, &state.profile.concerns, &new)
        .await?;
    state
        .store
        .act_on_alert(&permit, id, &AlertAction::Escalate { concern_id })
        .await?;
    Ok(Redirect::to(&format!("/concerns/{concern_id}")).into_response())
}
