//! `/readyz`: whether this server should be trusted with the school's data right now, for a
//! load balancer or a monitoring check. 200 when the database answers, the filter is in force
//! wherever the gateways filter (until the lists have compiled pupils are refused), and, once
//! backups are being made (any is on record), the newest verified one is under
//! [`BACKUP_FRESH`] old; 503 otherwise. No sign-in is needed, so the body says what is wrong and nothing else (no file
//! names, no counts).

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// How old the newest verified backup may be: a day, and two hours' grace for a slow run.
pub const BACKUP_FRESH: chrono::TimeDelta = chrono::TimeDelta::hours(policy::backup::FRESH_HOURS);

/// The readiness check (see the module's comment).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let store = &state.store;
    let mut problems: Vec<String> = Vec::new();
    let (last, verified) = match (
        store.last_backup().await,
        store.last_verified_backup().await,
    ) {
        (Ok(last), Ok(verified)) => (last, verified),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "/readyz: the database does not answer");
            let body = json!({
                "ready": false,
                "database": "not answering",
                "problems": ["the database does not answer"],
            });
            return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
        }
    };
    let now = store.now_utc();
    let age = verified
        .as_ref()
        .and_then(|b| store::parse_timestamp(&b.made_at))
        .map(|at| now - at);
    let backups = if last.is_none() {
        json!({"made": false})
    } else {
        match age {
            None => problems.push("no backup has verified".into()),
            Some(age) if age >= BACKUP_FRESH => problems.push(format!(
                "the newest verified backup is {} hours old (over {})",
                age.num_hours(),
                BACKUP_FRESH.num_hours()
            )),
            Some(_) => {}
        }
        json!({
            "made": true,
            "last_verified_at": verified.as_ref().map(|b| b.made_at.clone()),
            "age_seconds": age.map(|a| a.num_seconds()),
            "last_failed": last.as_ref().is_some_and(|b| !b.verified),
        })
    };
    // The first school's filtering, and a trust's other schools' (each site holds its own).
    let filtering: Vec<&std::sync::Arc<dyn crate::FilteringControl>> = state
        .filtering
        .iter()
        .chain(state.schools.values().filter_map(|s| s.filtering.as_ref()))
        .collect();
    let filter = if filtering.is_empty() {
        "not running"
    } else if filtering.iter().all(|f| f.filter_in_force()) {
        "in force"
    } else {
        problems.push(
            "no filter is in force (the lists are compiling, or did not compile: see the log): \
             pupils' queries are refused"
                .into(),
        );
        "not in force"
    };
    let ready = problems.is_empty();
    let body = json!({
        "ready": ready,
        "database": "ok",
        "filter": filter,
        "backups": backups,
        "problems": problems,
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}
