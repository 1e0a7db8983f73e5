//! The weekly monitoring report's page (issue 19, part 4): `GET /reports/weekly?week=YYYY-MM-DD`
//! (any day of the week; the last full week by default) for the DSL, the deputies, the
//! Headteacher and the profile's first point of contact. The report is `monitor::weekly`'s;
//! the mail that links here carries its counts only.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{Chrome, render};
use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::Response;
use monitor::weekly::{WeeklyFacts, WeeklyReport, build};
use policy::weekly::{last_full_week, week_bounds, week_of};
use policy::{Action, Object, RoleSet};
use serde_json::{Value, json};

/// What the week's report counts, from the store: alerts, blocked requests and the self-test's
/// latest run per group. The page and the weekly mail both read it here.
pub async fn weekly_facts(
    store: &store::Store,
    week: chrono::NaiveDate,
) -> Result<WeeklyFacts, WebError> {
    let (from, to) = week_bounds(week);
    let counts = store
        .weekly_counts(&store::timestamp(from), &store::timestamp(to))
        .await?;
    let mut self_test: Vec<(String, bool, String)> = Vec::new();
    for r in store.latest_filter_tests().await? {
        match self_test.iter_mut().find(|(g, _, _)| *g == r.group) {
            Some((_, ok, _)) => *ok &= r.pass,
            None => self_test.push((r.group.clone(), r.pass, r.run_at.clone())),
        }
    }
    Ok(WeeklyFacts {
        week,
        by_severity: counts.by_severity,
        by_rule: counts.by_rule,
        open_alerts: counts.open_alerts,
        blocked: counts.blocked,
        self_test,
    })
}

/// The query: which week.
#[derive(serde::Deserialize, Default)]
pub struct WeekQuery {
    #[serde(default)]
    week: Option<String>,
}

fn permit(state: &AppState, user: &CurrentUser) -> Result<(), WebError> {
    let team = RoleSet::of(state.profile.concerns.first_contact);
    user.permit(Action::ViewWeeklyReport, Object::Queue { team })
        .map(|_| ())
}

/// The week asked for (its Monday): a day of a week that has begun; by default the last
/// full week.
fn week_asked(state: &AppState, q: &WeekQuery) -> Result<chrono::NaiveDate, WebError> {
    let today = state.store.clock().school_now().date_naive();
    let Some(asked) = q.week.as_deref().map(str::trim).filter(|w| !w.is_empty()) else {
        return Ok(last_full_week(today));
    };
    let day = chrono::NaiveDate::parse_from_str(asked, "%Y-%m-%d").map_err(|_| {
        WebError::BadRequest(format!("week: `{asked}` is not a date like 2026-11-23"))
    })?;
    let week = week_of(day);
    if week > week_of(today) {
        return Err(WebError::BadRequest(format!(
            "week: the week of {week} has not begun"
        )));
    }
    Ok(week)
}

#[derive(Template)]
#[template(path = "reports_weekly.html")]
struct WeeklyPage {
    chrome: Chrome,
    report: WeeklyReport,
    previous: String,
    next: Option<String>,
}

/// `GET /reports/weekly?week=YYYY-MM-DD`: the full report of that week.
pub async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<WeekQuery>,
) -> Result<Response, WebError> {
    permit(&state, &user)?;
    let week = week_asked(&state, &q)?;
    let report = build(&weekly_facts(&state.store, week).await?);
    let today = state.store.clock().school_now().date_naive();
    let next = week + chrono::TimeDelta::days(7);
    Ok(render(&WeeklyPage {
        chrome: Chrome::new(&state, &user, "Weekly monitoring report", "/reports/weekly"),
        previous: (week - chrono::TimeDelta::days(7)).to_string(),
        next: (next <= week_of(today)).then(|| next.to_string()),
        report,
    }))
}

/// `GET /api/v1/reports/weekly?week=YYYY-MM-DD`: the same report as JSON.
pub async fn json(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<WeekQuery>,
) -> Result<Json<Value>, WebError> {
    permit(&state, &user)?;
    let week = week_asked(&state, &q)?;
    let r = build(&weekly_facts(&state.store, week).await?);
    let year_groups: Vec<Value> = r
        .year_groups
        .iter()
        .map(|y| json!({"year_group": y.year_group, "blocked": y.total, "top": y.top}))
        .collect();
    let self_test: Vec<Value> = r
        .self_test
        .iter()
        .map(|(g, ok, at)| json!({"group": g, "passed": ok, "run_at": at}))
        .collect();
    Ok(Json(json!({
        "week": r.week.to_string(),
        "week_end": r.week_end.to_string(),
        "alerts": r.alerts_total,
        "by_severity": r.severities,
        "by_rule": r.rules,
        "open_alerts": r.open_alerts,
        "blocked": r.blocked_total,
        "year_groups": year_groups,
        "self_test": self_test,
    })))
}
