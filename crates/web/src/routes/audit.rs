//! The audit page for the Headteacher and DSL: the chain's verification and its newest entries.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{AuditPage, AuditRow, Chrome, RoleChangesPage, render, when};
use axum::extract::{Query, State};
use axum::response::Response;
use policy::{Action, Object};
use serde::Deserialize;
use store::AuditVerdict;

const PAGE: i64 = 100;

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    before: Option<i64>,
}

pub async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    user.permit(Action::ViewAudit, Object::School)?;
    let verdict = state.store.verify_audit().await?;
    let entries = state.store.audit_page(q.before, PAGE).await?;
    let names = crate::ops::actor_names(&state, &entries).await?;
    // Rows about a concern the reader may not see keep their place in the chain but not their
    // details: a Headteacher must not learn here of a concern about themselves.
    let mut rows = Vec::with_capacity(entries.len());
    for e in &entries {
        let hidden = if e.object_type == "concern" {
            match e.object_id.parse::<i64>() {
                Ok(cid) => match state.store.concern(cid).await? {
                    Some(c) => !user.may(Action::ViewConcern, Object::Concern(&c.facts())),
                    None => true,
                },
                Err(_) => true,
            }
        } else {
            false
        };
        rows.push(AuditRow {
            id: e.id,
            at: when(&e.at),
            actor: if hidden {
                "—".into()
            } else {
                e.actor_id
                    .and_then(|a| names.get(&a).cloned())
                    .unwrap_or_else(|| "system".into())
            },
            action: if hidden {
                "restricted entry".into()
            } else {
                e.action.clone()
            },
            object: if hidden {
                "—".into()
            } else {
                format!("{} {}", e.object_type, e.object_id)
            },
            details: if hidden {
                String::new()
            } else {
                e.details.clone()
            },
        });
    }
    let older = (entries.len() as i64 == PAGE)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    let (intact, count, head, broken) = match verdict {
        AuditVerdict::Intact { rows, head } => (true, rows, head, String::new()),
        AuditVerdict::Broken { row_id, reason } => {
            (false, 0, String::new(), format!("entry {row_id}: {reason}"))
        }
    };
    Ok(render(&AuditPage {
        chrome: Chrome::new(&state, &user, "Audit trail", "/audit"),
        intact,
        rows: count,
        head,
        broken,
        entries: rows,
        older,
    }))
}

/// Who gave and took which role, and who switched whom off: the audit rows about roles and
/// accounts, for the auditors and the Chair of Governors (who oversees the safeguarding roles).
pub async fn role_changes(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    user.permit(Action::ViewRoleChanges, Object::School)?;
    let entries = state.store.audit_role_changes(q.before, PAGE).await?;
    let names = crate::ops::actor_names(&state, &entries).await?;
    let rows = entries
        .iter()
        .map(|e| AuditRow {
            id: e.id,
            at: when(&e.at),
            actor: e
                .actor_id
                .and_then(|a| names.get(&a).cloned())
                .unwrap_or_else(|| "system".into()),
            action: e.action.clone(),
            object: format!("{} {}", e.object_type, e.object_id),
            details: e.details.clone(),
        })
        .collect();
    Ok(render(&RoleChangesPage {
        chrome: Chrome::new(&state, &user, "Changes of role", "/audit/roles"),
        entries: rows,
    }))
}
