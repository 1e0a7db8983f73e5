//! The concerns and alerts of every school a trust person's roles cover, in one list each: a
//! trust safeguarding lead sees what waits across their schools without choosing each. A
//! school's rows are read as that school's store (the database shows no other school's), as
//! the school role the trust's role acts as there, so the list holds exactly what that role
//! would see in the school's own list; and each school whose rows were shown records the view,
//! with the ids, in its own audit trail under the trust person's name.

use super::{Covered, covered_schools, handled_concerns};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{
    Chrome, TrustAlertRow, TrustAlertsPage, TrustConcernRow, TrustConcernsPage, render, when,
};
use axum::Json;
use axum::extract::{Query, State};
use axum::response::Response;
use policy::{Action, ConcernStatus};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{AlertFilter, AuditAction, ConcernFilter};

/// How many alerts of one school the list shows (the newest).
const ALERTS_PER_SCHOOL: i64 = 200;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    /// A concern status, `all`, or (empty) every status but closed.
    #[serde(default)]
    status: Option<String>,
}

/// Which concerns a query asks for: `None` for those still open.
fn wanted(q: &ListQuery) -> Result<Option<Option<ConcernStatus>>, WebError> {
    match q.status.as_deref().map(str::trim).unwrap_or_default() {
        "" => Ok(None),
        "all" => Ok(Some(None)),
        s => Ok(Some(Some(crate::ops::status(s)?))),
    }
}

/// Records in `school`'s own audit trail that its rows were shown to the trust's `user`.
async fn shown_to(
    school: &AppState,
    user: &CurrentUser,
    what: AuditAction<'_>,
) -> Result<(), WebError> {
    Ok(school.store.audit_event(Some(user.person.id), what).await?)
}

/// The concerns across `user`'s schools that `q` asks for, newest first, each school's view
/// audited there.
async fn concerns(
    state: &AppState,
    user: &CurrentUser,
    q: &ListQuery,
) -> Result<Vec<TrustConcernRow>, WebError> {
    let wanted = wanted(q)?;
    let filter = ConcernFilter {
        status: wanted.flatten(),
        subject: None,
    };
    let mut rows = Vec::new();
    for Covered {
        slug,
        name,
        state: school,
        user: there,
    } in covered_schools(state, user)?
    {
        let shown: Vec<_> = handled_concerns(&school, &there, &filter)
            .await?
            .into_iter()
            .filter(|c| wanted.is_some() || c.status != ConcernStatus::Closed)
            .collect();
        if shown.is_empty() {
            continue;
        }
        let ids: Vec<i64> = shown.iter().map(|c| c.id).collect();
        shown_to(
            &school,
            user,
            AuditAction::ConcernsListedForTrust { ids: &ids },
        )
        .await?;
        for c in &shown {
            rows.push(TrustConcernRow {
                school_slug: slug.clone(),
                school_name: name.clone(),
                concern: crate::routes::concerns::row(&school, c).await?,
                reported_at: c.created_at.clone(),
            });
        }
    }
    rows.sort_by(|a, b| b.reported_at.cmp(&a.reported_at));
    Ok(rows)
}

/// `GET /trust/concerns`.
pub async fn concerns_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let rows = concerns(&state, &user, &q).await?;
    let mut statuses = vec![("all".to_string(), "Open and closed".to_string())];
    statuses.extend(
        ConcernStatus::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), s.label().to_string())),
    );
    Ok(render(&TrustConcernsPage {
        chrome: Chrome::new(&state, &user, "Concerns across the trust", "/trust"),
        rows,
        statuses,
        status: q.status.unwrap_or_default(),
    }))
}

/// `GET /api/v1/trust/concerns[?status=]`: the same, as JSON.
pub async fn concerns_json(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, WebError> {
    let rows = concerns(&state, &user, &q).await?;
    let out: Vec<Value> = rows
        .iter()
        .map(|r| {
            let c = &r.concern;
            json!({"school": r.school_slug, "id": c.id, "status": c.status,
                   "severity": c.severity, "category": c.category, "summary": c.summary,
                   "about": c.subjects, "route": c.route, "created_at": r.reported_at,
                   "overdue": c.overdue})
        })
        .collect();
    Ok(Json(json!({ "concerns": out })))
}

/// The open alerts across `user`'s schools, newest first, each school's view audited there.
async fn alerts(state: &AppState, user: &CurrentUser) -> Result<Vec<TrustAlertRow>, WebError> {
    let open = AlertFilter {
        status: Some("open".into()),
        ..AlertFilter::default()
    };
    let mut rows = Vec::new();
    for Covered {
        slug,
        name,
        state: school,
        user: there,
    } in covered_schools(state, user)?
    {
        if !there.may(
            Action::HandleAlerts,
            crate::routes::alerts::inbox_object(&school),
        ) {
            continue;
        }
        let open = crate::routes::alerts::readable_by(&school, &there, open.clone());
        let shown = school.store.alerts(&open, ALERTS_PER_SCHOOL).await?;
        if shown.is_empty() {
            continue;
        }
        let ids: Vec<i64> = shown.iter().map(|a| a.id).collect();
        shown_to(
            &school,
            user,
            AuditAction::AlertsListedForTrust { ids: &ids },
        )
        .await?;
        for a in shown {
            let (who, _) = crate::routes::alerts::who(a.subject, a.audience);
            rows.push(TrustAlertRow {
                school_slug: slug.clone(),
                school_name: name.clone(),
                id: a.id,
                severity: a.severity,
                rule: a.rule,
                who,
                group: a.group_name,
                last: when(&a.last_at),
                last_at: a.last_at,
                count: a.count,
                status: a.status,
            });
        }
    }
    rows.sort_by(|a, b| b.last_at.cmp(&a.last_at));
    Ok(rows)
}

/// `GET /trust/alerts`.
pub async fn alerts_page(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    let rows = alerts(&state, &user).await?;
    Ok(render(&TrustAlertsPage {
        chrome: Chrome::new(&state, &user, "Alerts across the trust", "/trust"),
        rows,
    }))
}

/// `GET /api/v1/trust/alerts`: the same, as JSON.
pub async fn alerts_json(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, WebError> {
    let rows = alerts(&state, &user).await?;
    let out: Vec<Value> = rows
        .iter()
        .map(|a| {
            json!({"school": a.school_slug, "id": a.id, "severity": a.severity.as_str(),
                   "rule": a.rule, "who": a.who, "group": a.group, "count": a.count,
                   "last_at": a.last_at, "status": a.status})
        })
        .collect();
    Ok(Json(json!({ "alerts": out })))
}
