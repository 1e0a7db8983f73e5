//! The publish check's upload page (issue 18, part 4), for whoever edits the website: the
//! photos and videos about to go out, with any caption files or the HTML page that shows them,
//! checked as `palisade publish-check` checks a folder. Staff, who see the class consent lists
//! anyway; nothing uploaded is kept.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{Chrome, PublishPage, refused_if, render};
use axum::extract::{Multipart, State};
use axum::response::Response;
use policy::{Action, Object};

/// The most files one check takes.
const MAX_FILES: usize = 200;

async fn show(
    state: &AppState,
    user: &CurrentUser,
    purpose: String,
    result: Result<Option<Vec<web_publish::FileFindings>>, String>,
) -> Result<Response, WebError> {
    let (files, error) = match result {
        Ok(files) => (files, None),
        Err(e) => (None, Some(e)),
    };
    let page = render(&PublishPage {
        chrome: Chrome::new(
            state,
            user,
            "Check before publishing",
            "/registers/publish-check",
        ),
        error: error.clone(),
        purposes: state.profile.consent.purposes.clone(),
        purpose,
        flagged: files
            .as_ref()
            .map(|f| f.iter().filter(|x| x.flagged()).count()),
        files: files.unwrap_or_default(),
    });
    Ok(refused_if(error.is_some(), page))
}

use crate::publish as web_publish;

/// `GET /registers/publish-check`.
pub async fn page(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    user.permit(Action::ViewConsents, Object::School)?;
    show(&state, &user, String::new(), Ok(None)).await
}

/// A file name as uploaded, reduced to its last part and to characters a folder can hold.
fn safe_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next()?.trim();
    let clean: String = last
        .chars()
        .filter(|c| !c.is_control() && *c != ':')
        .collect();
    (!clean.is_empty() && clean != "." && clean != ".." && clean.len() <= 255).then_some(clean)
}

/// `POST /registers/publish-check` (multipart: `purpose`, repeated `files`): the findings.
pub async fn check(
    State(state): State<AppState>,
    user: CurrentUser,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    user.permit(Action::ViewConsents, Object::School)?;
    let bad = |e: axum::extract::multipart::MultipartError| {
        WebError::BadRequest(format!("the upload could not be read: {}", e.body_text()))
    };
    let dir = tempfile::tempdir()
        .map_err(|e| WebError::Internal(format!("no room for the upload: {e}")))?;
    let mut purpose = String::new();
    let mut count = 0;
    let mut problem = None;
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "purpose" => purpose = field.text().await.map_err(bad)?.trim().to_string(),
            "files" => {
                let name = field.file_name().and_then(safe_name);
                let bytes = field.bytes().await.map_err(bad)?;
                let Some(name) = name else {
                    if !bytes.is_empty() {
                        problem = Some("files: a file has no usable name".to_string());
                    }
                    continue;
                };
                count += 1;
                if count > MAX_FILES {
                    problem = Some(format!("files: at most {MAX_FILES} files at a time"));
                    continue;
                }
                tokio::fs::write(dir.path().join(&name), &bytes)
                    .await
                    .map_err(|e| {
                        WebError::Internal(format!("the upload could not be kept: {e}"))
                    })?;
            }
            _ => {}
        }
    }
    if problem.is_none() && count == 0 {
        problem = Some("files: choose the photos and videos to check".into());
    }
    if let Some(p) = problem {
        return show(&state, &user, purpose, Err(p)).await;
    }
    let result =
        web_publish::check_folder(&state.store, &state.profile, dir.path(), &purpose).await;
    match result {
        Ok(files) => show(&state, &user, purpose, Ok(Some(files))).await,
        Err(WebError::BadRequest(m)) => show(&state, &user, purpose, Err(m)).await,
        Err(e) => Err(e),
    }
}
