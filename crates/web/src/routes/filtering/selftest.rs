//! The filtering self-test's page (issue 19, part 1): the latest run per group as a printable
//! certificate (school, date, each check and whether it passed) and the history of runs, with
//! a button that runs it now through the running gateways. The web app sends no packets
//! itself: the binary runs the checks ([`crate::FilteringControl::run_self_test`]). For the
//! self-testers ([`policy::permissions::SELF_TESTERS`]); the API's twin is JSON.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{Chrome, SelfTestCheck, SelfTestGroup, SelfTestPage, SelfTestRun, render, when};
use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use policy::{Action, Object, Permit};
use serde::Deserialize;
use serde_json::{Value, json};

/// Runs shown in the history.
const HISTORY: i64 = 100;

fn permit(user: &CurrentUser) -> Result<Permit, WebError> {
    user.permit(Action::RunFilterTest, Object::School)
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    /// Why the last "run now" could not run, to show once.
    #[serde(default)]
    error: Option<String>,
}

/// The latest results per group, grouped.
async fn certificate(state: &AppState) -> Result<Vec<SelfTestGroup>, WebError> {
    let mut groups: Vec<SelfTestGroup> = Vec::new();
    for r in state.store.latest_filter_tests().await? {
        let check = SelfTestCheck {
            check: r.check,
            sent: r.sent,
            expected: r.expected,
            got: r.got,
            pass: r.pass,
        };
        match groups.last_mut() {
            Some(g) if g.group == r.group => {
                g.pass &= check.pass;
                g.checks.push(check);
            }
            _ => groups.push(SelfTestGroup {
                group: r.group,
                client_ip: r.client_ip,
                at: when(&r.run_at),
                run_id: r.run_id,
                pass: check.pass,
                checks: vec![check],
            }),
        }
    }
    Ok(groups)
}

/// `GET /filtering/self-test`.
pub async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<PageQuery>,
) -> Result<Response, WebError> {
    permit(&user)?;
    let groups = certificate(&state).await?;
    let runs = state
        .store
        .filter_test_runs(HISTORY)
        .await?
        .into_iter()
        .map(|r| SelfTestRun {
            id: r.id,
            at: when(&r.run_at),
            site: r.site,
            cause: r.cause,
            by: r.run_by.unwrap_or_else(|| "Palisade".into()),
            checks: r.checks,
            failed: r.failed,
        })
        .collect();
    Ok(render(&SelfTestPage {
        chrome: Chrome::new(&state, &user, "Filtering self-test", "/filtering/self-test"),
        school: state.profile.school.name.clone(),
        error: q.error,
        all_pass: !groups.is_empty() && groups.iter().all(|g| g.pass),
        groups,
        runs,
    }))
}

/// Runs the self-test now with the user's permit: the run's id, or why it could not run.
async fn run_now(state: &AppState, user: &CurrentUser) -> Result<Result<i64, String>, WebError> {
    let permit = permit(user)?;
    Ok(match &state.filtering {
        Some(control) => control.run_self_test(&permit).await,
        None => Err("the filtering gateways are not running here".into()),
    })
}

/// `POST /filtering/self-test`: runs it now, then shows the page (with why not, if it could
/// not run).
pub async fn run(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    Ok(match run_now(&state, &user).await? {
        Ok(_) => Redirect::to("/filtering/self-test").into_response(),
        Err(why) => Redirect::to(&format!(
            "/filtering/self-test?error={}",
            crate::urlencode(&why)
        ))
        .into_response(),
    })
}

/// `GET /api/v1/filtering/self-test`: the latest results per group and the runs.
pub async fn api_show(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, WebError> {
    permit(&user)?;
    let latest = state.store.latest_filter_tests().await?;
    let runs = state.store.filter_test_runs(HISTORY).await?;
    Ok(Json(json!({ "latest": latest, "runs": runs })))
}

/// `POST /api/v1/filtering/self-test`: runs it now; 201 with the run and its results, or 503
/// naming why it could not run.
pub async fn api_run(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    match run_now(&state, &user).await? {
        Ok(id) => {
            let results = state.store.filter_test_results(id).await?;
            let pass = results.iter().all(|r| r.pass);
            Ok((
                axum::http::StatusCode::CREATED,
                Json(json!({ "run_id": id, "pass": pass, "results": results })),
            )
                .into_response())
        }
        Err(why) => Ok((
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": why })),
        )
            .into_response()),
    }
}
