//! A pupil's chronology: every entry of every concern about them the user may see, in order.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::ops;
use crate::views::{Chrome, ChronologyEntry, ChronologyPage, render, when};
use axum::extract::{Path, State};
use axum::response::Response;
use policy::{Action, Object, PersonKind};
use store::ConcernFilter;

pub async fn chronology(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    user.permit(Action::ViewChronology, Object::School)?;
    let pupil = state
        .store
        .person(id)
        .await?
        .filter(|p| p.kind == PersonKind::Pupil)
        .ok_or(WebError::NotFound)?;
    let (full, _) = crate::ops::visible_concerns(
        &state,
        &user,
        &ConcernFilter {
            status: None,
            subject: Some(id),
        },
    )
    .await?;
    let mut entries = Vec::new();
    for c in &full {
        for a in state.store.actions(c.id).await? {
            entries.push((a.at.clone(), c.id, c.summary.clone(), a));
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0).then(a.3.id.cmp(&b.3.id)));
    let mut ids: Vec<i64> = entries.iter().map(|e| e.3.actor_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = ops::names(&state, &ids).await?;
    for c in &full {
        state
            .store
            .audit_event(
                Some(user.person.id),
                store::AuditAction::ConcernViewed {
                    id: c.id,
                    access: "chronology",
                },
            )
            .await?;
    }
    Ok(render(&ChronologyPage {
        chrome: Chrome::new(
            &state,
            &user,
            format!("Chronology: {}", pupil.display_name),
            "/people",
        ),
        pupil: pupil.display_name.clone(),
        class_info: [pupil.year_group.clone(), pupil.class_name.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", "),
        entries: entries
            .into_iter()
            .map(|(at, cid, summary, a)| ChronologyEntry {
                at: when(&at),
                concern_id: cid,
                summary,
                label: a.kind.label().to_string(),
                text: ops::entry_text(&state, &a.body),
                actor: names
                    .iter()
                    .find(|n| n.0 == a.actor_id)
                    .map(|n| n.1.clone())
                    .unwrap_or_default(),
            })
            .collect(),
    }))
}
