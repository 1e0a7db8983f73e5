//! `/people/import` for the data manager and the Headteacher: upload the MIS export, see what it
//! would change (the dry run), apply it, and watch it go. `POST /api/v1/people/import` does the
//! same for scripts, returning the plan (or the report) as JSON.
//!
//! What is applied is what was previewed: the preview keeps the export and its plan under a
//! random token ([`crate::imports`]), "Apply" hands both to the store, which works the plan out
//! again in its transaction and refuses if it is not the same.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::imports::{Job, Stage};
use crate::routes::upload::unreadable;
use crate::views::{
    Chrome, ImportPage, ImportPreview, ImportProgressPartial, ImportRunPage, PreviewRow,
    PreviewTable, render,
};
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use policy::import::{Export, Format, Mapping, Plan, Problem, parse_file};
use policy::{Action, Object, Permit, PolicyError};
use serde::Deserialize;
use std::sync::Arc;
use store::{ImportRequest, ImportedFile, Leavers};

/// The most rows of each table the preview shows.
const SHOWN: usize = 500;
/// The most files one import takes.
const MAX_FILES: usize = 8;

const FORMATS: [(&str, &str); 4] = [
    ("auto", "Recognise it by its columns"),
    ("sims", "SIMS"),
    ("arbor", "Arbor"),
    ("pupil-asset", "Pupil Asset"),
];

/// What was uploaded: the files (name, bytes), and the choices.
struct Upload {
    files: Vec<(String, Vec<u8>)>,
    mapping: Option<(String, Vec<u8>)>,
    format: String,
    leavers: String,
}

/// Why an upload was not previewed: a file's problems, or one thing wrong.
enum Refusal {
    Problems(Vec<Problem>),
    Other(String),
}

impl From<PolicyError> for Refusal {
    fn from(e: PolicyError) -> Refusal {
        match e {
            PolicyError::Import { problems } => Refusal::Problems(problems),
            other => Refusal::Other(other.to_string()),
        }
    }
}

/// The permit to apply `plan`: to import, giving the roles it gives its new people.
fn apply_permit(state: &AppState, user: &CurrentUser, plan: &Plan) -> Result<Permit, WebError> {
    user.permit(
        Action::ImportPeople,
        Object::Roles {
            holder: None,
            roles: plan.roles_given(),
            audiences: state.profile.concerns.audiences(),
        },
    )
}

/// Reads the files and works out the plan: the export, its files for the audit row, the plan.
async fn prepare(
    state: &AppState,
    up: &Upload,
) -> Result<(Export, Vec<ImportedFile>, Plan, Leavers), Refusal> {
    let format = Format::parse_choice(&up.format)?;
    let leavers = Leavers::parse(&up.leavers)
        .ok_or_else(|| Refusal::Other("leavers: choose mark or ignore".into()))?;
    if up.files.is_empty() {
        return Err(Refusal::Other(
            "files: choose the export's CSV files".into(),
        ));
    }
    if up.files.len() > MAX_FILES {
        return Err(Refusal::Other(format!(
            "files: at most {MAX_FILES} files at a time"
        )));
    }
    let mapping = match &up.mapping {
        Some((name, bytes)) => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| Refusal::Other(format!("{name}: the mapping is not UTF-8 text")))?;
            Some(Mapping::from_toml(text, name)?)
        }
        None => None,
    };
    let several = up.files.len() > 1;
    let mut parsed = Vec::new();
    for (name, bytes) in &up.files {
        match parse_file(bytes, name, format, mapping.as_ref()) {
            Ok(f) => parsed.push(f),
            // With several files, each problem says which.
            Err(PolicyError::Import { mut problems }) if several => {
                for p in &mut problems {
                    p.source.get_or_insert_with(|| name.clone());
                }
                return Err(Refusal::Problems(problems));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let export = Export::from_files(parsed)?;
    let files = export
        .files
        .iter()
        .zip(&up.files)
        .map(|(summary, (_, bytes))| ImportedFile::of(summary, bytes))
        .collect();
    let plan = match state.store.plan_import(&export).await {
        Ok(plan) => plan,
        Err(store::StoreError::Invalid(e)) => return Err(e.into()),
        Err(e) => return Err(Refusal::Other(WebError::from(e).to_string())),
    };
    Ok((export, files, plan, leavers))
}

/// Reads the multipart form: `files` (repeated), `mapping`, `format`, `leavers`.
async fn read_upload(mut multipart: Multipart) -> Result<Upload, WebError> {
    let mut up = Upload {
        files: Vec::new(),
        mapping: None,
        format: "auto".into(),
        leavers: "ignore".into(),
    };
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().unwrap_or_default().to_string();
        match name.as_str() {
            "format" => up.format = field.text().await.map_err(unreadable)?,
            "leavers" => up.leavers = field.text().await.map_err(unreadable)?,
            "files" | "file" => {
                let bytes = field.bytes().await.map_err(unreadable)?;
                if !bytes.is_empty() || !file_name.is_empty() {
                    let shown = if file_name.is_empty() {
                        "export.csv".to_string()
                    } else {
                        file_name
                    };
                    up.files.push((shown, bytes.to_vec()));
                }
            }
            "mapping" => {
                let bytes = field.bytes().await.map_err(unreadable)?;
                if !bytes.is_empty() {
                    up.mapping = Some((file_name, bytes.to_vec()));
                }
            }
            _ => {}
        }
    }
    Ok(up)
}

fn table(rows: impl Iterator<Item = PreviewRow>, len: usize) -> PreviewTable {
    PreviewTable {
        rows: rows.take(SHOWN).collect(),
        more: len.saturating_sub(SHOWN),
    }
}

/// The preview of `plan` under `token`.
fn preview(token: &str, job: &Job, refused: Option<String>) -> ImportPreview {
    let plan = &job.plan;
    let c = plan.counts();
    let links = plan
        .links_added
        .iter()
        .map(|l| ("added", l))
        .chain(plan.links_changed.iter().map(|l| ("changed", l)))
        .chain(plan.links_removed.iter().map(|l| ("removed", l)));
    let link_count = c.links_added + c.links_changed + c.links_removed;
    ImportPreview {
        token: token.to_string(),
        files: job
            .export
            .files
            .iter()
            .map(|f| {
                format!(
                    "{}: {} {}, {} rows",
                    f.source,
                    f.format.title(),
                    f.kind.as_str(),
                    f.rows
                )
            })
            .collect(),
        added: c.added,
        changed: c.changed,
        leaving: c.leaving,
        unchanged: c.unchanged,
        links_added: c.links_added,
        links_changed: c.links_changed,
        links_removed: c.links_removed,
        added_rows: table(
            plan.added.iter().map(|a| PreviewRow {
                kind: a.kind.as_str().into(),
                username: a.username.clone(),
                name: a.values.display_name.clone(),
                detail: if a.kind == policy::PersonKind::Staff {
                    a.roles.to_csv()
                } else {
                    [
                        a.values.year_group.as_deref(),
                        a.values.class_name.as_deref(),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ")
                },
            }),
            c.added,
        ),
        changed_rows: table(
            plan.changed.iter().map(|ch| PreviewRow {
                kind: ch.kind.as_str().into(),
                username: ch.username.clone(),
                name: ch.display_name.clone(),
                detail: ch
                    .fields
                    .iter()
                    .map(|f| {
                        format!(
                            "{}: {} → {}",
                            f.field,
                            f.before.as_deref().unwrap_or("(none)"),
                            f.after.as_deref().unwrap_or("(none)")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            }),
            c.changed,
        ),
        leaving_rows: table(
            plan.leaving.iter().map(|l| PreviewRow {
                kind: l.kind.as_str().into(),
                username: l.username.clone(),
                name: l.display_name.clone(),
                detail: String::new(),
            }),
            c.leaving,
        ),
        link_rows: table(
            links.map(|(what, l)| PreviewRow {
                kind: what.into(),
                username: l.parent_name.clone(),
                name: l.child_name.clone(),
                detail: format!(
                    "{}{}",
                    l.relationship.as_deref().unwrap_or(""),
                    if l.parental_responsibility {
                        ""
                    } else {
                        " (no parental responsibility)"
                    }
                ),
            }),
            link_count,
        ),
        leavers_on: (job.leavers == Leavers::Mark).then(|| plan.today.to_string()),
        refused,
        nothing: plan.is_empty(),
    }
}

fn page(state: &AppState, user: &CurrentUser) -> ImportPage {
    ImportPage {
        chrome: Chrome::new(state, user, "Import people", "/people"),
        error: None,
        problems: Vec::new(),
        more_problems: 0,
        formats: FORMATS.to_vec(),
        format: "auto".into(),
        leavers: "ignore".into(),
        preview: None,
    }
}

/// `GET /people/import`: the upload form.
pub async fn form(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    user.permit(Action::ImportPeople, Object::School)?;
    Ok(render(&page(&state, &user)))
}

/// `POST /people/import` (multipart): the dry run's preview, or the files' problems (400).
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    multipart: Multipart,
) -> Result<Response, WebError> {
    user.permit(Action::ImportPeople, Object::School)?;
    let up = read_upload(multipart).await?;
    let mut shown = page(&state, &user);
    shown.format = up.format.clone();
    shown.leavers = up.leavers.clone();
    match prepare(&state, &up).await {
        Ok((export, files, plan, leavers)) => {
            let refused = apply_permit(&state, &user, &plan).err().map(|_| {
                format!(
                    "This import gives its new people roles you may not give ({}): ask someone who may, or change the role mapping.",
                    plan.roles_given()
                        .iter()
                        .map(|r| state.profile.role_title(r).to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
            let token = crate::auth::random_token();
            let job = Job::new(
                state.store.school_id(),
                user.person.id,
                state.store.now_utc(),
                export,
                plan,
                files,
                leavers,
            );
            let job = state
                .imports
                .keep(token.clone(), job, state.store.now_utc());
            shown.preview = Some(preview(&token, &job, refused));
            Ok(render(&shown))
        }
        Err(Refusal::Problems(problems)) => {
            shown.more_problems = problems.len().saturating_sub(SHOWN);
            shown.problems = problems
                .iter()
                .take(SHOWN)
                .map(Problem::to_string)
                .collect();
            Ok((StatusCode::BAD_REQUEST, render(&shown)).into_response())
        }
        Err(Refusal::Other(message)) => {
            shown.error = Some(message);
            Ok((StatusCode::BAD_REQUEST, render(&shown)).into_response())
        }
    }
}

/// The import under `token` for this user: not found when it is not theirs or is forgotten
/// (and refused, as the form is, for those who may not import at all).
fn job_of(state: &AppState, user: &CurrentUser, token: &str) -> Result<Arc<Job>, WebError> {
    user.permit(Action::ImportPeople, Object::School)?;
    state
        .imports
        .get(token, state.store.school_id(), user.person.id)
        .ok_or(WebError::NotFound)
}

/// Writes `job` in the background, its stage telling the progress page how far it got.
fn run(state: &AppState, job: Arc<Job>, permit: Permit) {
    let store = state.store.clone();
    let safeguarding = crate::routes::people::safeguarding(state);
    tokio::spawn(async move {
        let request = ImportRequest {
            export: &job.export,
            previewed: &job.plan,
            leavers: job.leavers,
            files: &job.files,
        };
        let progress = |done, total| job.set(Stage::Running { done, total });
        let result = store
            .import_people(&permit, safeguarding, &request, &progress)
            .await;
        job.set(match result {
            Ok(report) => Stage::Done(report),
            Err(e) => {
                tracing::warn!(error = %e, "an import of people failed; nothing was written");
                Stage::Failed(format!("Nothing was imported: {}", WebError::from(e)))
            }
        });
    });
}

/// `POST /people/import/{token}/apply`: starts writing the previewed import (once), then
/// shows its progress.
pub async fn apply(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let job = job_of(&state, &user, &token)?;
    let permit = apply_permit(&state, &user, &job.plan)?;
    if job.start() {
        run(&state, job, permit);
    }
    Ok(Redirect::to(&format!("/people/import/{token}")).into_response())
}

#[derive(Deserialize)]
pub struct ProgressQuery {
    partial: Option<String>,
}

/// `GET /people/import/{token}`: how far the import got (`?partial=1`: the part htmx polls).
pub async fn progress(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(token): Path<String>,
    Query(q): Query<ProgressQuery>,
) -> Result<Response, WebError> {
    let job = job_of(&state, &user, &token)?;
    let (running, done, total, summary, error) = match job.stage() {
        // Previewed and not applied: the preview is on the form's page.
        Stage::Previewed => return Ok(Redirect::to("/people/import").into_response()),
        Stage::Running { done, total } => (true, done, total, Vec::new(), None),
        Stage::Done(report) => {
            let c = &report.counts;
            let summary = vec![
                format!("{} added", c.added),
                format!("{} changed", c.changed),
                match job.leavers {
                    Leavers::Mark => format!(
                        "{} marked to leave on {}",
                        report.leavers_marked.len(),
                        job.plan.today
                    ),
                    Leavers::Ignore => format!("{} proposed as leaving, not marked", c.leaving),
                },
                format!("{} unchanged", c.unchanged),
                format!(
                    "parent links: {} added, {} changed, {} removed",
                    c.links_added, c.links_changed, c.links_removed
                ),
            ];
            (false, 0, 0, summary, None)
        }
        Stage::Failed(e) => (false, 0, 0, Vec::new(), Some(e)),
    };
    let percent = (done * 100).checked_div(total).unwrap_or(0);
    if q.partial.is_some() {
        return Ok(render(&ImportProgressPartial {
            token,
            running,
            done,
            total,
            percent,
            summary,
            error,
        }));
    }
    Ok(render(&ImportRunPage {
        chrome: Chrome::new(&state, &user, "Importing people", "/people"),
        token,
        running,
        done,
        total,
        percent,
        summary,
        error,
    }))
}

#[derive(Deserialize)]
pub struct ApiQuery {
    #[serde(default)]
    dry_run: Option<String>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    leavers: Option<String>,
}

fn yes(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("" | "1" | "true" | "yes"))
}

/// `POST /api/v1/people/import?dry_run=true&format=auto&leavers=ignore`: the body is one CSV
/// file (`text/csv`) or a multipart form as the page sends. The plan as JSON (a dry run), or
/// the import applied and its report (201); a file's problems are 400 with each one listed.
pub async fn api(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ApiQuery>,
    req: Request,
) -> Result<Response, WebError> {
    user.permit(Action::ImportPeople, Object::School)?;
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut up = if is_multipart {
        let multipart = Multipart::from_request(req, &state)
            .await
            .map_err(|e| WebError::BadRequest(format!("the form could not be read: {e}")))?;
        read_upload(multipart).await?
    } else {
        let limit =
            usize::try_from(state.profile.concerns.max_attachment_bytes).unwrap_or(usize::MAX);
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| WebError::TooLarge(format!("an export may be at most {limit} bytes")))?;
        Upload {
            files: vec![("export.csv".into(), bytes.to_vec())],
            mapping: None,
            format: "auto".into(),
            leavers: "ignore".into(),
        }
    };
    if let Some(f) = &q.format {
        up.format = f.clone();
    }
    if let Some(l) = &q.leavers {
        up.leavers = l.clone();
    }
    let (export, files, plan, leavers) = match prepare(&state, &up).await {
        Ok(prepared) => prepared,
        Err(Refusal::Problems(problems)) => {
            let error = PolicyError::Import {
                problems: problems.clone(),
            }
            .to_string();
            let body = serde_json::json!({"error": error, "problems": problems});
            return Ok((StatusCode::BAD_REQUEST, axum::Json(body)).into_response());
        }
        Err(Refusal::Other(m)) => return Err(WebError::BadRequest(m)),
    };
    if yes(&q.dry_run) {
        return Ok(axum::Json(serde_json::json!({
            "dry_run": true,
            "counts": plan.counts(),
            "plan": plan,
        }))
        .into_response());
    }
    let permit = apply_permit(&state, &user, &plan)?;
    let request = ImportRequest {
        export: &export,
        previewed: &plan,
        leavers,
        files: &files,
    };
    let report = state
        .store
        .import_people(
            &permit,
            crate::routes::people::safeguarding(&state),
            &request,
            &|_, _| {},
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(serde_json::json!({"dry_run": false, "report": report})),
    )
        .into_response())
}
