//! The JSON API under `/api/v1` (see the README for the contract).

use crate::AppState;
use crate::auth::{self, CodeStep, CurrentUser, Signed};
use crate::error::WebError;
use crate::ops::{self, Access};
use crate::throttle::SourceAddr;
use axum::Json;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use policy::concern::ActionInput;
use policy::{Action, Object, PersonKind, Role, RoleSet, Severity};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use store::{AuditVerdict, ConcernFilter, NewPerson, RoleChange, Triage};

/// A JSON body whose parse errors become this app's 400 with a clear message.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, WebError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(WebError::BadRequest(rejection.body_text())),
        }
    }
}

/// A body already read as JSON, as `T`: a wrong field is a 400 naming it. The registers read
/// the body only once they know the caller may write.
pub fn body_as<T: DeserializeOwned>(body: Value) -> Result<T, WebError> {
    serde_json::from_value(body).map_err(|e| WebError::BadRequest(e.to_string()))
}

/// 201 with the new row's id.
pub fn created(id: i64) -> Response {
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
    /// The code from the authenticator app (or a recovery code), for an account with a second
    /// factor.
    #[serde(default)]
    totp: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    SourceAddr(source): SourceAddr,
    ApiJson(b): ApiJson<LoginBody>,
) -> Result<Response, WebError> {
    let code = CodeStep::With(b.totp.as_deref());
    match auth::login(&state, source, &b.username, &b.password, code).await? {
        Ok(Signed::In(s)) => Ok((
            [(header::SET_COOKIE, auth::session_cookie(&s.token))],
            Json(json!({
                "csrf_token": s.csrf_token,
                "username": s.person.username,
                "roles": s.person.roles.iter().map(Role::as_str).collect::<Vec<_>>(),
                // Until it is enrolled (on the web), every other route answers 403.
                "two_factor_enrolment_required": s.second_factor_missing,
            })),
        )
            .into_response()),
        // The API's sign-in takes its code with it: there is no second step.
        Ok(Signed::NeedsCode { .. }) => Err(WebError::CodeRequired),
        Err(refused) => Err(refused.error()),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    let cleared = auth::sign_out(&state, &user).await?;
    Ok((cleared, StatusCode::NO_CONTENT).into_response())
}

pub async fn me(user: CurrentUser) -> Json<Value> {
    Json(json!({
        "id": user.person.id,
        "username": user.person.username,
        "display_name": user.person.display_name,
        "roles": user.person.roles.iter().map(Role::as_str).collect::<Vec<_>>(),
        "csrf_token": user.csrf_token,
        "must_change_password": user.must_change_password || user.password_expired,
        "two_factor_enrolment_required": user.second_factor_missing,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcernBody {
    #[serde(default)]
    subjects: Vec<String>,
    category: String,
    #[serde(default)]
    summary: Option<String>,
    details: String,
    #[serde(default)]
    about: Option<String>,
    #[serde(default)]
    occurred_at: Option<String>,
    #[serde(default)]
    platform: Option<String>,
    /// Pupils and parents: the username of a grown-up at school it is about.
    #[serde(default)]
    grown_up: Option<String>,
}

pub async fn create_concern(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(b): ApiJson<ConcernBody>,
) -> Result<Response, WebError> {
    let id = ops::report(
        &state,
        &user,
        ops::ReportInput {
            subjects: b.subjects,
            category: b.category,
            summary: b.summary,
            details: b.details,
            about: b.about,
            occurred_at: b.occurred_at,
            platform: b.platform,
            grown_up: b.grown_up,
            attachments: Vec::new(),
        },
    )
    .await?;
    Ok(created(id))
}

async fn concern_json(
    state: &AppState,
    c: &store::ConcernRecord,
    access: Access,
) -> Result<Value, WebError> {
    let mut v = json!({
        "id": c.id,
        "status": c.status.as_str(),
        "category": c.category,
        "summary": c.summary,
        "details": c.details,
        "created_at": c.created_at,
    });
    if access == Access::Full {
        let subjects = ops::names(state, &c.subjects).await?;
        let timeline = state.store.actions(c.id).await?;
        v["subjects"] = json!(subjects.iter().map(|s| &s.2).collect::<Vec<_>>());
        v["route"] = json!(c.route.as_str());
        v["lado_required"] = json!(c.lado_required);
        v["severity"] = json!(c.severity.map(Severity::as_str));
        v["assignee_id"] = json!(c.assignee_id);
        v["reporter_id"] = json!(c.reporter_id);
        v["outcome"] = json!(c.outcome);
        v["about"] = json!(c.about_text);
        v["occurred_at"] = json!(c.occurred_at);
        v["platform"] = json!(c.platform);
        v["timeline"] = json!(timeline);
        v["attachments"] = json!(state.store.attachments(c.id).await?);
    }
    Ok(v)
}

pub async fn list_concerns(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, WebError> {
    let rows = state
        .store
        .concerns_for(&user.actor, &ConcernFilter::default())
        .await?;
    let mut out = Vec::new();
    for c in rows {
        let Some(access) = ops::access_to(&user, &c) else {
            continue;
        };
        let mut v = json!({"id": c.id, "status": c.status.as_str(), "summary": c.summary, "category": c.category, "created_at": c.created_at});
        if access == Access::Full {
            v["severity"] = json!(c.severity.map(Severity::as_str));
            v["route"] = json!(c.route.as_str());
        }
        out.push(v);
    }
    Ok(Json(json!({ "concerns": out })))
}

pub async fn get_concern(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Value>, WebError> {
    let (c, access) = ops::view(&state, &user, id).await?;
    Ok(Json(concern_json(&state, &c, access).await?))
}

pub async fn add_action(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ActionInput>,
) -> Result<Response, WebError> {
    let (_, permit) = ops::authorize(&state, &user, id, Action::AddConcernAction).await?;
    let action_id = state
        .store
        .add_action(&permit, &state.profile, id, &input)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": action_id }))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageBody {
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    status: Option<policy::ConcernStatus>,
}

pub async fn triage(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<TriageBody>,
) -> Result<StatusCode, WebError> {
    let (concern, permit) = ops::authorize(&state, &user, id, Action::TriageConcern).await?;
    let assignee_id = match b.assignee {
        Some(u) => Some(ops::check_assignee(
            &concern,
            state.store.person_by_username(&u).await?,
            &u,
        )?),
        None => None,
    };
    state
        .store
        .triage(
            &permit,
            id,
            &Triage {
                assignee_id,
                severity: b.severity,
                status: b.status,
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    outcome: String,
}

pub async fn close(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<CloseBody>,
) -> Result<StatusCode, WebError> {
    let (_, permit) = ops::authorize(&state, &user, id, Action::CloseConcern).await?;
    state.store.close_concern(&permit, id, &b.outcome).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReopenBody {
    reason: String,
}

pub async fn reopen(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ReopenBody>,
) -> Result<StatusCode, WebError> {
    let (_, permit) = ops::authorize(&state, &user, id, Action::ReopenConcern).await?;
    state.store.reopen_concern(&permit, id, &b.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_people(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, WebError> {
    user.permit(Action::ViewPeople, Object::School)?;
    let people = state.store.people(None).await?;
    Ok(Json(json!({ "people": people })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonBody {
    username: String,
    display_name: String,
    kind: PersonKind,
    #[serde(default)]
    roles: Vec<Role>,
    #[serde(default)]
    year_group: Option<String>,
    #[serde(default)]
    class_name: Option<String>,
    /// Whether the person gets a login account. Its first password is set by its holder
    /// through the one-time link in the answer; the API takes no password from the creator.
    #[serde(default)]
    account: bool,
}

pub async fn create_person(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(b): ApiJson<PersonBody>,
) -> Result<Response, WebError> {
    // Whether this user may give these roles is asked in `add_person`.
    let roles: RoleSet = if b.roles.is_empty() {
        RoleSet::of(b.kind.default_role())
    } else {
        b.roles.into_iter().collect()
    };
    let new = NewPerson {
        username: b.username,
        display_name: b.display_name,
        kind: b.kind,
        roles,
        year_group: b.year_group,
        class_name: b.class_name,
    };
    let (id, welcome) = super::people::add_person(&state, &user, &new, b.account, &[]).await?;
    let mut out = json!({ "id": id });
    if let Some(w) = welcome {
        out["welcome"] = json!(w.path);
        out["welcome_expires_at"] = json!(w.expires_at);
    }
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesBody {
    #[serde(default)]
    grant: Vec<Role>,
    #[serde(default)]
    remove: Vec<Role>,
}

/// Gives and takes roles of one person; each set is asked of `policy::can` on its own, and
/// nothing changes unless both are allowed.
pub async fn change_roles(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<RolesBody>,
) -> Result<StatusCode, WebError> {
    use super::people::{roles_permit, safeguarding, unknown_person};
    let grant: RoleSet = b.grant.into_iter().collect();
    let remove: RoleSet = b.remove.into_iter().collect();
    if grant.is_empty() && remove.is_empty() {
        return Err(WebError::BadRequest(
            "grant, remove: name at least one role to give or take".into(),
        ));
    }
    if grant.intersects(remove) {
        return Err(WebError::BadRequest(
            "grant, remove: a role cannot be given and taken at once".into(),
        ));
    }
    state
        .store
        .person(id)
        .await?
        .ok_or_else(|| unknown_person(&state, &user))?;
    let grant_permit = (!grant.is_empty())
        .then(|| roles_permit(&state, &user, Action::GrantRole, Some(id), grant))
        .transpose()?;
    let remove_permit = (!remove.is_empty())
        .then(|| roles_permit(&state, &user, Action::RemoveRole, Some(id), remove))
        .transpose()?;
    if let Some(p) = grant_permit {
        state
            .store
            .change_roles(&p, safeguarding(&state), id, RoleChange::Granted(grant))
            .await?;
    }
    if let Some(p) = remove_permit {
        state
            .store
            .change_roles(&p, safeguarding(&state), id, RoleChange::Removed(remove))
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Unlocks an account locked by failed sign-ins (the Headteacher or the network manager).
pub async fn unlock_account(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, WebError> {
    super::people::unlock(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn verify_audit(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, WebError> {
    user.permit(Action::ViewAudit, Object::School)?;
    Ok(Json(match state.store.verify_audit().await? {
        AuditVerdict::Intact { rows, head } => json!({"intact": true, "rows": rows, "head": head}),
        AuditVerdict::Broken { row_id, reason } => {
            json!({"intact": false, "row": row_id, "reason": reason})
        }
    }))
}

/// `GET /api/v1/dashboard`: what is due or overdue for the caller, as on their home page.
pub async fn dashboard(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, WebError> {
    let items = crate::dashboard::due_items(&state, &user).await?;
    let backup = crate::dashboard::backup_status(&state, &user).await?;
    Ok(Json(json!({ "items": items, "backup": backup })))
}
