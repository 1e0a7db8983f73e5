//! The failed sign-ins page for the Headteacher and the network manager.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{Chrome, SignInCount, SignInRow, SignInsPage, render, when};
use axum::extract::State;
use axum::response::Response;
use policy::{Action, Object};

pub async fn page(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    user.permit(Action::ManageSignIns, Object::School)?;
    let since = store::timestamp(state.store.now_utc() - chrono::Duration::hours(24));
    let counts = state
        .store
        .sign_in_failure_counts(&since)
        .await?
        .into_iter()
        .map(|c| SignInCount {
            reason: c.reason,
            source: c.source.unwrap_or_default(),
            count: c.count,
        })
        .collect();
    let rows = state
        .store
        .recent_sign_in_failures(100)
        .await?
        .into_iter()
        .map(|r| SignInRow {
            at: when(&r.at),
            reason: r.reason,
            source: r.source.unwrap_or_default(),
            username: r.username.unwrap_or_default(),
            path: r.path.unwrap_or_default(),
        })
        .collect();
    Ok(render(&SignInsPage {
        chrome: Chrome::new(&state, &user, "Failed sign-ins", "/people"),
        counts,
        rows,
        throttled: state.sign_ins.refused(),
    }))
}
