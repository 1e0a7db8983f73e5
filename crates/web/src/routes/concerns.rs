//! The safeguarding log's pages: home, report forms, the list, a concern, a pupil's chronology.

pub mod changes;
pub mod chronology;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::ops::{self, Access};
use crate::views::{
    Chrome, ConcernPage, ConcernRow, ConcernsPage, HomePage, NewConcernPage, ReporterViewPage,
    TimelineEntry, refused_if, render, when,
};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use policy::concern::{Channel, ReportForm};
use policy::{Action, Agency, ConcernStatus, Object, PersonKind, Role, Severity};
use serde::Deserialize;
use store::{ConcernFilter, ConcernRecord};

/// A concern as a row of a list, in `state`'s school.
pub(crate) async fn row(state: &AppState, c: &ConcernRecord) -> Result<ConcernRow, WebError> {
    let subjects = ops::names(state, &c.subjects).await?;
    Ok(ConcernRow {
        id: c.id,
        overdue: ops::triage_overdue(state, c),
        reported: when(&c.created_at),
        summary: c.summary.clone(),
        subjects: subjects
            .into_iter()
            .map(|s| s.1)
            .collect::<Vec<_>>()
            .join(", "),
        category: state
            .profile
            .category(&c.category)
            .map(|x| x.label.clone())
            .unwrap_or_else(|| c.category.clone()),
        severity: c.severity.map(|s| s.as_str().to_string()),
        status: c.status.as_str().to_string(),
        status_label: c.status.label().to_string(),
        route: c.route.as_str().to_string(),
        route_label: match c.route {
            policy::RouteKind::Safeguarding => "safeguarding".into(),
            policy::RouteKind::AboutStaff => "about a member of staff".into(),
            policy::RouteKind::AboutHeadteacher => {
                format!("about the {}", state.profile.role_title(Role::Headteacher))
            }
        },
    })
}

pub async fn home(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    // The trust's people start at the trust's page, where they choose a school.
    if state
        .trust
        .as_ref()
        .is_some_and(|t| t.id == state.store.school_id())
    {
        return Ok(axum::response::Redirect::to("/trust").into_response());
    }
    let (full, _) = ops::visible_concerns(&state, &user, &ConcernFilter::default()).await?;
    let mine_records: Vec<ConcernRecord> = state
        .store
        .concerns_for(&user.actor, &ConcernFilter::default())
        .await?
        .into_iter()
        .filter(|c| c.reporter_id == user.person.id)
        .collect();
    let mut mine = Vec::new();
    for c in &mine_records {
        mine.push(row(&state, c).await?);
    }
    let open: Vec<&ConcernRecord> = full
        .iter()
        .filter(|c| c.status != ConcernStatus::Closed)
        .collect();
    let p = &state.profile;
    Ok(render(&HomePage {
        chrome: Chrome::new(&state, &user, "Home", "/"),
        first_name: user
            .person
            .display_name
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string(),
        is_pupil: ReportForm::for_roles(user.person.roles) == ReportForm::Pupil,
        first_contact_title: format!("the {}", p.role_title(p.concerns.first_contact)),
        sees_queue: user.may(
            Action::ViewConcernQueue,
            Object::Queue {
                team: p.concerns.team.iter().copied().collect(),
            },
        ),
        queue_count: open.len(),
        untriaged_count: open
            .iter()
            .filter(|c| c.status == ConcernStatus::New)
            .count(),
        overdue_count: open
            .iter()
            .filter(|c| ops::triage_overdue(&state, c))
            .count(),
        triage_hours: p.concerns.triage_within_hours,
        due: crate::dashboard::due_items(&state, &user).await?,
        backup: crate::dashboard::backup_status(&state, &user)
            .await?
            .map(|b| b.line()),
        mine,
    }))
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    user.permit(Action::ListConcerns, Object::School)?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(ops::status(s)?),
        None => None,
    };
    let (full, mine) = ops::visible_concerns(
        &state,
        &user,
        &ConcernFilter {
            status,
            subject: None,
        },
    )
    .await?;
    let mut rows = Vec::new();
    for c in full.iter().chain(mine.iter()) {
        rows.push(row(&state, c).await?);
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.id));
    Ok(render(&ConcernsPage {
        chrome: Chrome::new(&state, &user, "Concerns", "/concerns"),
        rows,
        statuses: ConcernStatus::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), s.label().to_string()))
            .collect(),
        status: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
    }))
}

async fn new_form_page(
    state: &AppState,
    user: &CurrentUser,
    error: Option<String>,
) -> Result<Response, WebError> {
    let form = ReportForm::for_roles(user.person.roles);
    let p = &state.profile;
    let categories = p
        .concerns
        .categories
        .iter()
        .map(|c| {
            (
                c.id.clone(),
                if form == ReportForm::Pupil {
                    c.pupil_label.clone()
                } else {
                    c.label.clone()
                },
            )
        })
        .collect();
    // Pupils and parents may say it is about a grown-up at school, by name.
    let grown_ups: Vec<(String, String)> = if form == ReportForm::Staff {
        Vec::new()
    } else {
        state
            .store
            .people(None)
            .await?
            .into_iter()
            .filter(|x| x.active && form.may_name_as_grown_up(x.roles))
            .map(|x| {
                let role = x
                    .roles
                    .iter()
                    .find(|r| r.is_adult_in_position_of_trust())
                    .map(|r| p.role_title(r).to_string())
                    .unwrap_or_default();
                (x.username, format!("{} ({role})", x.display_name))
            })
            .collect()
    };
    let people: Vec<(String, String)> = match form {
        ReportForm::Staff => state
            .store
            .people(None)
            .await?
            .into_iter()
            .filter(|x| {
                x.active
                    && matches!(
                        x.kind,
                        PersonKind::Pupil
                            | PersonKind::Staff
                            | PersonKind::Governor
                            | PersonKind::Visitor
                    )
            })
            .map(|x| {
                let detail = match (&x.class_name, x.kind) {
                    (Some(c), PersonKind::Pupil) => format!("pupil, {c}"),
                    _ => x
                        .roles
                        .iter()
                        .map(|r| p.role_title(r).to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                (x.username.clone(), format!("{} ({detail})", x.display_name))
            })
            .collect(),
        ReportForm::Parent => state
            .store
            .children_of(user.person.id)
            .await?
            .into_iter()
            .map(|c| (c.username, c.display_name))
            .collect(),
        ReportForm::Pupil => Vec::new(),
    };
    let page = render(&NewConcernPage {
        chrome: Chrome::new(
            state,
            user,
            if form == ReportForm::Pupil {
                "Tell us"
            } else {
                "Report a concern"
            },
            "/concerns/new",
        ),
        form: form.as_str().to_string(),
        error: error.clone(),
        categories,
        people,
        grown_ups,
        first_contact_title: format!("the {}", p.role_title(p.concerns.first_contact)),
        head_title: p.role_title(Role::Headteacher).to_string(),
        chair_title: p.role_title(Role::ChairOfGovernors).to_string(),
        max_mb: p.concerns.max_attachment_bytes / (1024 * 1024),
    });
    Ok(refused_if(error.is_some(), page))
}

pub async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    user.permit(Action::ReportConcern, Object::School)?;
    new_form_page(&state, &user, None).await
}

/// Reads a multipart report form: text fields, repeated `subjects`, and files.
async fn read_report(mut multipart: Multipart) -> Result<ops::ReportInput, WebError> {
    let bad = super::upload::unreadable;
    let mut input = ops::ReportInput::default();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "attachment" {
            input
                .attachments
                .extend(super::upload::file_of(field).await?);
            continue;
        }
        let text = field.text().await.map_err(bad)?;
        match name.as_str() {
            "subjects" => input.subjects.push(text),
            "category" => input.category = text,
            "summary" => input.summary = Some(text),
            "details" => input.details = text,
            "about" => input.about = Some(text),
            "occurred_at" => input.occurred_at = Some(text),
            "platform" => input.platform = Some(text),
            "grown_up" => input.grown_up = Some(text),
            _ => {}
        }
    }
    Ok(input)
}

pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let input = read_report(multipart).await?;
    match ops::report(&state, &user, input).await {
        Ok(id) => Ok(Redirect::to(&format!("/concerns/{id}?sent=1")).into_response()),
        Err(WebError::BadRequest(msg)) => new_form_page(&state, &user, Some(msg)).await,
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    sent: Option<String>,
}

async fn concern_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    error: Option<String>,
    sent: bool,
) -> Result<Response, WebError> {
    let (c, access) = ops::view(state, user, id).await?;
    let p = &state.profile;
    let mut chrome = Chrome::new(state, user, format!("Concern #{id}"), "/concerns");
    if sent {
        chrome.flash = Some(if user.person.roles.contains(Role::Pupil) {
            "Thank you for telling us. A grown-up will read it today.".to_string()
        } else {
            format!(
                "Your report was sent to the {}.",
                p.role_title(p.concerns.first_contact)
            )
        });
    }
    if access == Access::Reporter {
        return Ok(render(&ReporterViewPage {
            chrome,
            summary: c.summary.clone(),
            status: c.status.as_str().into(),
            status_label: c.status.label().into(),
            reported: when(&c.created_at),
            details: c.details.clone(),
        }));
    }
    let subjects = ops::names(state, &c.subjects).await?;
    let may_chronology = user.may(Action::ViewChronology, Object::School);
    let actions = state.store.actions(id).await?;
    let mut actor_ids: Vec<i64> = actions.iter().map(|a| a.actor_id).collect();
    actor_ids.push(c.reporter_id);
    actor_ids.extend(c.assignee_id);
    actor_ids.sort_unstable();
    actor_ids.dedup();
    let actor_names = ops::names(state, &actor_ids).await?;
    let name_of = |id: i64| {
        actor_names
            .iter()
            .find(|n| n.0 == id)
            .map(|n| n.1.clone())
            .unwrap_or_else(|| format!("#{id}"))
    };
    let timeline = actions
        .iter()
        .map(|a| TimelineEntry {
            id: a.id,
            label: a.kind.label().to_string(),
            actor: name_of(a.actor_id),
            at: when(&a.at),
            text: ops::entry_text(state, &a.body),
            corrects: a.corrects_id,
        })
        .collect();
    let can_act = user.may(Action::AddConcernAction, Object::Concern(&c.facts()));
    let staff = if can_act {
        state
            .store
            .people(Some(PersonKind::Staff))
            .await?
            .into_iter()
            .chain(state.store.people(Some(PersonKind::Governor)).await?)
            .filter(|x| policy::concern::assignable(&x.candidate(), &c.subjects).is_ok())
            .map(|x| (x.id.to_string(), x.display_name))
            .collect()
    } else {
        Vec::new()
    };
    let pairs = |v: &[(&str, &str)]| {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    };
    let attachments = state
        .store
        .attachments(id)
        .await?
        .into_iter()
        .map(|a| (a.id, a.filename, a.size, a.sha256))
        .collect();
    let form_name = c.form.clone();
    Ok(render(&ConcernPage {
        chrome,
        c: row(state, &c).await?,
        error,
        lado_required: c.lado_required,
        local_authority: state.profile.school.local_authority.clone(),
        subjects: subjects
            .into_iter()
            .map(|(sid, name, _)| {
                (
                    sid,
                    name,
                    may_chronology.then(|| format!("/pupils/{sid}/chronology")),
                )
            })
            .collect(),
        about_text: c.about_text.clone(),
        reporter: name_of(c.reporter_id),
        form_name,
        occurred_at: c.occurred_at.clone(),
        platform: c.platform.clone(),
        assignee: c
            .assignee_id
            .map(name_of)
            .unwrap_or_else(|| "nobody yet".into()),
        outcome: c.outcome.clone(),
        details: c.details.clone(),
        attachments,
        timeline,
        can_act,
        channels: pairs(
            &Channel::ALL
                .iter()
                .map(|x| (x.as_str(), x.label()))
                .collect::<Vec<_>>(),
        ),
        sanctions: p
            .concerns
            .sanctions
            .iter()
            .map(|s| (s.id.clone(), s.label.clone()))
            .collect(),
        agencies: pairs(
            &Agency::ALL
                .iter()
                .map(|x| (x.as_str(), x.label()))
                .collect::<Vec<_>>(),
        ),
        severities: pairs(
            &Severity::ALL
                .iter()
                .map(|x| (x.as_str(), x.label()))
                .collect::<Vec<_>>(),
        ),
        open_statuses: pairs(
            &ConcernStatus::ALL
                .iter()
                .filter(|s| **s != ConcernStatus::Closed)
                .map(|x| (x.as_str(), x.label()))
                .collect::<Vec<_>>(),
        ),
        staff,
    }))
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, WebError> {
    concern_page(&state, &user, id, None, q.sent.is_some()).await
}

pub async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, attachment)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    let (c, access) = ops::view(&state, &user, id).await?;
    if access != Access::Full {
        return Err(WebError::NotFound);
    }
    let (a, bytes) = state
        .store
        .attachment_bytes(c.id, attachment)
        .await?
        .ok_or(WebError::NotFound)?;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&a.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    // Rows from before names followed the verified type are served under such a name too.
    let safe_name: String = policy::concern::verified_filename(&a.filename, &a.content_type)
        .chars()
        .filter(|ch| ch.is_ascii_alphanumeric() || "._- ".contains(*ch))
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
