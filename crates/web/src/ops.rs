//! What the pages and the API both do with concerns: one implementation, two renderings.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use policy::concern::ReportForm;
use policy::{Action, Object, Permit};
use store::{ConcernRecord, NewAttachment, NewConcern};

/// A report as submitted by a form or the API; subjects are usernames.
#[derive(Debug, Default)]
pub struct ReportInput {
    pub subjects: Vec<String>,
    pub category: String,
    pub summary: Option<String>,
    pub details: String,
    pub about: Option<String>,
    pub occurred_at: Option<String>,
    pub platform: Option<String>,
    /// On the pupil and parent forms: the username of the grown-up at school it is about.
    pub grown_up: Option<String>,
    pub attachments: Vec<NewAttachment>,
}

fn blank_to_none(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Files a report for the signed-in user, routed by the profile.
pub async fn report(
    state: &AppState,
    user: &CurrentUser,
    input: ReportInput,
) -> Result<i64, WebError> {
    let permit = user.permit(Action::ReportConcern, Object::School)?;
    let form = ReportForm::for_roles(user.person.roles);
    let mut subject_ids = Vec::new();
    let allowed_children = if form == ReportForm::Parent {
        state.store.children_of(user.person.id).await?
    } else {
        Vec::new()
    };
    for username in input
        .subjects
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        let person = match form {
            ReportForm::Staff => state.store.person_by_username(username).await?,
            // Parents may name their own children; anyone else goes in the free text.
            ReportForm::Parent => allowed_children
                .iter()
                .find(|c| c.username == username)
                .cloned(),
            ReportForm::Pupil => None,
        };
        let person = person.ok_or_else(|| {
            WebError::BadRequest(match form {
                ReportForm::Staff => format!("subjects: nobody has the username `{username}`"),
                _ => "subjects: describe who it is about in your own words instead".to_string(),
            })
        })?;
        subject_ids.push(person.id);
    }
    if let Some(username) = blank_to_none(input.grown_up) {
        let person = state
            .store
            .person_by_username(&username)
            .await?
            .filter(|p| p.active && form.may_name_as_grown_up(p.roles))
            .ok_or_else(|| {
                WebError::BadRequest(
                    "grown_up: choose the grown-up at school from the list".to_string(),
                )
            })?;
        subject_ids.push(person.id);
    }
    let category = state.profile.category(&input.category).ok_or_else(|| {
        WebError::BadRequest(format!(
            "category: `{}` is not one of the school's categories",
            input.category
        ))
    })?;
    let summary = match blank_to_none(input.summary) {
        Some(s) => s,
        None if form != ReportForm::Pupil => {
            return Err(WebError::BadRequest("summary: must not be empty".into()));
        }
        // Pupils are not asked for a summary: their chosen words and the start of the story do.
        None => {
            let start: String = input.details.chars().take(80).collect();
            format!("{}: {}", category.pupil_label, start.trim())
                .chars()
                .take(policy::concern::MAX_SUMMARY_CHARS)
                .collect()
        }
    };
    let new = NewConcern {
        reporter_id: user.person.id,
        form,
        subjects: subject_ids,
        category: input.category,
        summary,
        details: input.details,
        about_text: blank_to_none(input.about),
        occurred_at: blank_to_none(input.occurred_at),
        platform: blank_to_none(input.platform),
        attachments: input.attachments,
    };
    Ok(state
        .store
        .create_concern(&permit, &state.profile.concerns, &new)
        .await?)
}

/// How much of a concern the user may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The handling team: everything.
    Full,
    /// The reporter: their report and its status, not the team's work.
    Reporter,
}

/// How much of a concern the user may see, if anything (the one place that asks).
pub fn access_to(user: &CurrentUser, c: &ConcernRecord) -> Option<Access> {
    let facts = c.facts();
    let allowed = |action| user.may(action, Object::Concern(&facts));
    if allowed(Action::ViewConcern) {
        Some(Access::Full)
    } else if allowed(Action::ViewOwnReport) {
        Some(Access::Reporter)
    } else {
        None
    }
}

/// Loads a concern for viewing, decides how much the user sees, and records the view in the
/// audit trail. Anyone else gets 404, so the concern's existence stays confidential.
pub async fn view(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<(ConcernRecord, Access), WebError> {
    let c = state.store.concern(id).await?.ok_or(WebError::NotFound)?;
    let access = access_to(user, &c).ok_or(WebError::NotFound)?;
    state
        .store
        .audit_event(
            Some(user.person.id),
            store::AuditAction::ConcernViewed {
                id,
                access: if access == Access::Full {
                    "full"
                } else {
                    "reporter"
                },
            },
        )
        .await?;
    Ok((c, access))
}

/// Loads a concern and asks for a permit to do `action` to it.
pub async fn authorize(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    action: Action,
) -> Result<(ConcernRecord, Permit), WebError> {
    let c = state.store.concern(id).await?.ok_or(WebError::NotFound)?;
    let permit = user.permit(action, Object::Concern(&c.facts()))?;
    Ok((c, permit))
}

/// Names for ids, for showing people; unknown ids show as `#id`.
pub async fn names(state: &AppState, ids: &[i64]) -> Result<Vec<(i64, String, String)>, WebError> {
    let mut people = state.store.people_by_ids(ids).await?;
    // The trust's people act in the school (a note, a view, a filter entry) but are the trust's
    // row's, which the school cannot read: their names are read from the trust's row.
    if let Some(trust) = state
        .trust
        .as_ref()
        .filter(|t| t.id != state.store.school_id())
    {
        let missing: Vec<i64> = ids
            .iter()
            .filter(|id| !people.iter().any(|p| p.id == **id))
            .copied()
            .collect();
        if !missing.is_empty() {
            let theirs = state
                .store
                .in_school(trust.id)
                .people_by_ids(&missing)
                .await?;
            people.extend(theirs);
        }
    }
    Ok(ids
        .iter()
        .map(|id| {
            people
                .iter()
                .find(|p| p.id == *id)
                .map(|p| (p.id, p.display_name.clone(), p.username.clone()))
                .unwrap_or((*id, format!("#{id}"), String::new()))
        })
        .collect())
}

/// The display names of the people who made `entries`, by id (rows by nobody are not in it).
pub async fn actor_names(
    state: &AppState,
    entries: &[store::AuditEntry],
) -> Result<std::collections::HashMap<i64, String>, WebError> {
    let mut ids: Vec<i64> = entries.iter().filter_map(|e| e.actor_id).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(names(state, &ids)
        .await?
        .into_iter()
        .map(|(id, name, _)| (id, name))
        .collect())
}

/// The text of a timeline entry's body, as one readable line.
pub fn entry_text(state: &AppState, body: &serde_json::Value) -> String {
    let get = |k: &str| {
        body.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let mut parts = Vec::new();
    if let Some(s) = body.get("sanction").and_then(|v| v.as_str()) {
        parts.push(
            state
                .profile
                .sanction(s)
                .map(|x| x.label.clone())
                .unwrap_or(s.to_string()),
        );
    }
    if let Some(a) = body.get("agency").and_then(|v| v.as_str()) {
        let label = policy::Agency::parse(a)
            .map(|x| x.label().to_string())
            .unwrap_or(a.to_string());
        parts.push(format!("{label}, reference {}", get("reference")));
    } else if body.get("reference").is_some_and(|r| !r.is_null()) {
        parts.push(format!("reference {}", get("reference")));
    }
    if body.get("who").is_some() {
        let how = policy::concern::Channel::parse(&get("how"))
            .map(|c| c.label())
            .unwrap_or_default();
        parts.push(format!("{} told {} ({})", get("who"), get("when"), how));
    }
    for key in ["text", "outcome", "reason"] {
        let v = get(key);
        if !v.is_empty() {
            parts.push(v);
        }
    }
    if let Some(status) = body.get("status").and_then(|v| v.as_str()) {
        let mut s = format!("status {status}");
        if let Some(sev) = body.get("severity").and_then(|v| v.as_str()) {
            s.push_str(&format!(", severity {sev}"));
        }
        parts.push(s);
    }
    if let Some(f) = body.get("filename").and_then(|v| v.as_str()) {
        parts.push(f.to_string());
    }
    parts.join(" — ")
}

/// The assignee for `concern`, held to `policy::concern::check_assignee`, the one rule the
/// triage form, the API and the store share. A person who does not exist is named as asked.
pub fn check_assignee(
    concern: &store::ConcernRecord,
    person: Option<store::Person>,
    asked: &str,
) -> Result<i64, WebError> {
    let Some(p) = person else {
        return Err(WebError::BadRequest(format!(
            "assignee: `{asked}` is not an active member of staff"
        )));
    };
    policy::concern::check_assignee(&p.candidate(), &concern.subjects, asked)?;
    Ok(p.id)
}

/// Whether `c` has waited for triage longer than the school's profile allows.
pub fn triage_overdue(state: &AppState, c: &ConcernRecord) -> bool {
    store::parse_timestamp(&c.created_at).is_some_and(|reported| {
        state
            .profile
            .concerns
            .triage_overdue(c.status, reported, state.store.now_utc())
    })
}

/// Concerns the user may see in full, and those they reported, newest first.
pub async fn visible_concerns(
    state: &AppState,
    user: &CurrentUser,
    filter: &store::ConcernFilter,
) -> Result<(Vec<ConcernRecord>, Vec<ConcernRecord>), WebError> {
    let mut full = Vec::new();
    let mut mine = Vec::new();
    for c in state.store.concerns_for(&user.actor, filter).await? {
        match access_to(user, &c) {
            Some(Access::Full) => full.push(c),
            Some(Access::Reporter) => mine.push(c),
            None => {}
        }
    }
    Ok((full, mine))
}

/// A concern status as a form or a query gives it, or a 400 naming it.
pub fn status(s: &str) -> Result<policy::ConcernStatus, WebError> {
    policy::ConcernStatus::parse(s)
        .ok_or_else(|| WebError::BadRequest(format!("status: `{s}` is not a status")))
}
