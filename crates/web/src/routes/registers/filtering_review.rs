//! The annual review of filtering and monitoring (issue 19, part 3): the reviews with their
//! participants, an answer to each of the DfE standard's prompts, findings and actions (each
//! with an owner and a due date, marked done later), and the triggers that make a review due
//! before the year is out. When the next review is due is [`policy::filtering_review::review_due`]'s;
//! it and the actions past due are on the dashboard and in the daily digest.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::routes::api::ApiJson;
use crate::views::{Chrome, refused_if, render, when};
use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use policy::dashboard::DueStatus;
use policy::filtering_review::{
    NewAction, NewReview, NewTrigger, PROMPTS, ReviewDue, ReviewReason, TRIGGER_KINDS,
    action_status, missing_participants, past_date, review_due,
};
use policy::{Action, Object, Role};
use serde_json::{Value, json};

/// How many action rows the new review's form offers.
const ACTION_ROWS: usize = 6;

fn parse(s: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn may_read(user: &CurrentUser) -> Result<(), WebError> {
    user.permit(Action::ViewFilteringRecords, Object::School)
        .map(|_| ())
}

/// When the next review is due on the store's today, from the reviews and triggers kept.
pub async fn next_review(store: &store::Store) -> Result<ReviewDue, WebError> {
    let today = store.clock().school_now().date_naive();
    let last = store
        .filtering_reviews()
        .await?
        .iter()
        .filter_map(|r| parse(&r.held_on))
        .max();
    let triggers: Vec<chrono::NaiveDate> = store
        .review_triggers()
        .await?
        .iter()
        .filter_map(|t| parse(&t.happened_on))
        .collect();
    Ok(review_due(last, &triggers, today))
}

/// Words for when the next review is due.
pub fn due_words(due: &ReviewDue) -> String {
    let why = match due.reason {
        ReviewReason::Never => "no review has been recorded".to_string(),
        ReviewReason::Yearly => "at least once every academic year".to_string(),
        ReviewReason::Trigger(on) => format!("after what happened on {on}"),
    };
    let state = match due.status {
        Some(DueStatus::Overdue) => "overdue",
        Some(DueStatus::Due) => "due",
        None => "next due",
    };
    format!("{state} by {} ({why})", due.due_on)
}

/// People who may take part or own an action: active staff and governors.
async fn people_choice(state: &AppState) -> Result<Vec<(i64, String)>, WebError> {
    Ok(state
        .store
        .people(None)
        .await?
        .into_iter()
        .filter(|p| {
            p.active
                && p.roles
                    .any(|r| r.is_staff() || matches!(r, Role::Governor | Role::ChairOfGovernors))
        })
        .map(|p| {
            let roles: Vec<&str> = p
                .roles
                .iter()
                .map(|r| state.profile.role_title(r))
                .collect();
            (p.id, format!("{} ({})", p.display_name, roles.join(", ")))
        })
        .collect())
}

/// An open action as the list shows it.
pub struct ActionRow {
    pub id: i64,
    pub review: i64,
    pub what: String,
    pub owner: String,
    pub due_on: String,
    pub done_on: Option<String>,
    /// `due`, `overdue` or empty.
    pub status: &'static str,
}

fn action_row(a: store::ReviewAction, today: chrono::NaiveDate) -> ActionRow {
    let status = parse(&a.due_on)
        .and_then(|d| action_status(d, a.done_on.as_deref().and_then(parse), today))
        .map_or("", DueStatus::as_str);
    ActionRow {
        id: a.id,
        review: a.review_id,
        what: a.what,
        owner: a.owner_name,
        due_on: a.due_on,
        done_on: a.done_on,
        status,
    }
}

#[derive(Template)]
#[template(path = "registers_filtering_reviews.html")]
struct ListPage {
    chrome: Chrome,
    error: Option<String>,
    may_record: bool,
    due: String,
    overdue: bool,
    reviews: Vec<store::FilteringReview>,
    actions: Vec<ActionRow>,
    triggers: Vec<(store::ReviewTrigger, String)>,
    kinds: Vec<(&'static str, &'static str)>,
}

async fn show_list(
    state: &AppState,
    user: &CurrentUser,
    error: Option<String>,
) -> Result<Response, WebError> {
    let today = state.store.clock().school_now().date_naive();
    let due = next_review(&state.store).await?;
    let triggers = state
        .store
        .review_triggers()
        .await?
        .into_iter()
        .map(|t| {
            let words = TRIGGER_KINDS
                .iter()
                .find(|(k, _)| *k == t.kind)
                .map_or(t.kind.clone(), |(_, w)| (*w).to_string());
            (t, words)
        })
        .collect();
    let page = render(&ListPage {
        chrome: Chrome::new(
            state,
            user,
            "Filtering review",
            "/registers/filtering-review",
        ),
        error: error.clone(),
        may_record: user.may(Action::KeepFilteringRecords, Object::School),
        due: due_words(&due),
        overdue: due.status == Some(DueStatus::Overdue),
        reviews: state.store.filtering_reviews().await?,
        actions: state
            .store
            .open_review_actions()
            .await?
            .into_iter()
            .map(|a| action_row(a, today))
            .collect(),
        triggers,
        kinds: TRIGGER_KINDS.to_vec(),
    });
    Ok(refused_if(error.is_some(), page))
}

/// `GET /registers/filtering-review`: when the next review is due, the reviews, the open
/// actions and the triggers.
pub async fn page(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    may_read(&user)?;
    show_list(&state, &user, None).await
}

#[derive(Template)]
#[template(path = "registers_filtering_review_new.html")]
struct NewPage {
    chrome: Chrome,
    error: Option<String>,
    people: Vec<(i64, String)>,
    /// (key, question, answer so far).
    prompts: Vec<(&'static str, &'static str, String)>,
    held_on: String,
    findings: String,
    chosen: Vec<i64>,
    /// (senior leader, DSL, IT, governor): the roles the standard asks for.
    asked_for: Vec<String>,
    rows: Vec<usize>,
}

async fn show_new(
    state: &AppState,
    user: &CurrentUser,
    entry: &NewReview,
    error: Option<String>,
) -> Result<Response, WebError> {
    let asked_for = policy::filtering_review::participant_roles(&state.profile.registers)
        .iter()
        .map(|(role, words)| format!("{words}: {}", state.profile.role_title(*role)))
        .collect();
    let page = render(&NewPage {
        chrome: Chrome::new(
            state,
            user,
            "New filtering review",
            "/registers/filtering-review",
        ),
        error: error.clone(),
        people: people_choice(state).await?,
        prompts: PROMPTS
            .iter()
            .map(|(k, q)| (*k, *q, entry.answers.get(*k).cloned().unwrap_or_default()))
            .collect(),
        held_on: entry.held_on.clone(),
        findings: entry.findings.clone(),
        chosen: entry.participants.clone(),
        asked_for,
        rows: (1..=ACTION_ROWS).collect(),
    });
    Ok(refused_if(error.is_some(), page))
}

/// `GET /registers/filtering-review/new`: the form.
pub async fn new_page(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    user.permit(Action::KeepFilteringRecords, Object::School)?;
    show_new(&state, &user, &NewReview::default(), None).await
}

/// The review a form sends: `held_on`, repeated `participants`, `answer.KEY` per prompt,
/// `findings`, and `action_what_N` / `action_owner_N` / `action_due_N` rows (blank rows are
/// skipped), and what cannot be read, named.
fn review_of_form(fields: &[(String, String)]) -> (NewReview, Option<String>) {
    let mut entry = NewReview::default();
    let mut rows: std::collections::BTreeMap<usize, (String, String, String)> =
        std::collections::BTreeMap::new();
    let mut wrong = None;
    for (k, v) in fields {
        if let Some(key) = k.strip_prefix("answer.") {
            entry.answers.insert(key.to_string(), v.clone());
            continue;
        }
        if let Some((what, n)) = k.strip_prefix("action_").and_then(|r| r.rsplit_once('_'))
            && let Ok(n) = n.parse::<usize>()
        {
            let row = rows.entry(n).or_default();
            match what {
                "what" => row.0 = v.clone(),
                "owner" => row.1 = v.clone(),
                "due" => row.2 = v.clone(),
                _ => {}
            }
            continue;
        }
        match k.as_str() {
            "held_on" => entry.held_on = v.clone(),
            "findings" => entry.findings = v.clone(),
            "participants" => match v.trim().parse() {
                Ok(id) => entry.participants.push(id),
                Err(_) => wrong = Some(format!("participants: `{v}` is not a person's number")),
            },
            _ => {}
        }
    }
    for (n, (what, owner, due)) in rows {
        if what.trim().is_empty() && owner.trim().is_empty() && due.trim().is_empty() {
            continue;
        }
        match owner.trim().parse() {
            Ok(owner) => entry.actions.push(NewAction {
                what,
                owner,
                due_on: due,
            }),
            Err(_) => {
                wrong.get_or_insert(format!("actions[{n}].owner: choose who owns the action"));
            }
        }
    }
    (entry, wrong)
}

/// Checks and stores a review; the refusal names the field (or the person) that is wrong.
async fn add(state: &AppState, user: &CurrentUser, entry: &NewReview) -> Result<i64, WebError> {
    let permit = user.permit(Action::KeepFilteringRecords, Object::School)?;
    let today = state.store.clock().school_now().date_naive();
    let checked = entry.check(today)?;
    Ok(state
        .store
        .record_filtering_review(&permit, &checked)
        .await?)
}

/// `POST /registers/filtering-review`: records a review and opens it; a wrong field shows the
/// form again with what was entered, naming it.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    user.permit(Action::KeepFilteringRecords, Object::School)?;
    let (entry, wrong) = review_of_form(&fields);
    if let Some(message) = wrong {
        return show_new(&state, &user, &entry, Some(message)).await;
    }
    match add(&state, &user, &entry).await {
        Ok(id) => Ok(Redirect::to(&format!("/registers/filtering-review/{id}")).into_response()),
        Err(WebError::BadRequest(message)) => show_new(&state, &user, &entry, Some(message)).await,
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "registers_filtering_review.html")]
struct OnePage {
    chrome: Chrome,
    may_record: bool,
    review: store::FilteringReview,
    recorded: String,
    participants: Vec<(String, String)>,
    missing: Vec<&'static str>,
    /// (question, answer).
    answers: Vec<(String, String)>,
    actions: Vec<ActionRow>,
    today: String,
}

/// `GET /registers/filtering-review/{id}`: one review, printable, with its actions.
pub async fn one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    may_read(&user)?;
    let record = state
        .store
        .filtering_review(id)
        .await?
        .ok_or(WebError::NotFound)?;
    let today = state.store.clock().school_now().date_naive();
    let roles: Vec<policy::RoleSet> = record
        .participants
        .iter()
        .filter_map(|p| policy::RoleSet::from_csv(&p.roles).ok())
        .collect();
    let participants = record
        .participants
        .iter()
        .map(|p| {
            let titles: Vec<&str> = policy::RoleSet::from_csv(&p.roles)
                .unwrap_or_default()
                .iter()
                .map(|r| state.profile.role_title(r))
                .collect();
            (p.name.clone(), titles.join(", "))
        })
        .collect();
    let answers = record
        .answers
        .iter()
        .map(|(k, a)| {
            let q = PROMPTS
                .iter()
                .find(|(p, _)| p == k)
                .map_or(k.as_str(), |(_, q)| *q);
            (q.to_string(), a.clone())
        })
        .collect();
    Ok(render(&OnePage {
        chrome: Chrome::new(
            &state,
            &user,
            format!("Filtering review of {}", record.review.held_on),
            "/registers/filtering-review",
        ),
        may_record: user.may(Action::KeepFilteringRecords, Object::School),
        recorded: format!(
            "{}, {}",
            when(&record.review.recorded_at),
            record.review.recorded_by_name
        ),
        missing: missing_participants(&state.profile.registers, &roles),
        participants,
        answers,
        actions: record
            .actions
            .into_iter()
            .map(|a| action_row(a, today))
            .collect(),
        review: record.review,
        today: today.to_string(),
    }))
}

/// What marking an action done sends.
#[derive(serde::Deserialize)]
pub struct DoneForm {
    #[serde(default)]
    done_on: String,
}

/// `POST /registers/filtering-review/actions/{id}/done` (`done_on`): marks the action done
/// and goes back to the list; a wrong date is named.
pub async fn action_done(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<DoneForm>,
) -> Result<Response, WebError> {
    let permit = user.permit(Action::KeepFilteringRecords, Object::School)?;
    let today = state.store.clock().school_now().date_naive();
    let on = past_date("done_on", &form.done_on, today)?;
    state.store.mark_review_action_done(&permit, id, on).await?;
    Ok(Redirect::to("/registers/filtering-review").into_response())
}

/// `POST /registers/filtering-review/triggers` (`happened_on`, `kind`, `reason`): records what
/// makes a review due now; a wrong field shows the page again, naming it.
pub async fn trigger(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(entry): Form<NewTrigger>,
) -> Result<Response, WebError> {
    let permit = user.permit(Action::KeepFilteringRecords, Object::School)?;
    let today = state.store.clock().school_now().date_naive();
    let checked = match entry.check(today) {
        Ok(c) => c,
        Err(e) => return show_list(&state, &user, Some(e.to_string())).await,
    };
    state.store.record_review_trigger(&permit, &checked).await?;
    Ok(Redirect::to("/registers/filtering-review").into_response())
}

/// `GET /api/v1/filtering-reviews`: when the next review is due, the reviews, the open actions
/// and the triggers.
pub async fn list_json(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, WebError> {
    may_read(&user)?;
    let due = next_review(&state.store).await?;
    Ok(Json(json!({
        "next_review": {
            "due_on": due.due_on.to_string(),
            "status": due.status.map(DueStatus::as_str),
            "words": due_words(&due),
        },
        "reviews": state.store.filtering_reviews().await?,
        "open_actions": state.store.open_review_actions().await?,
        "triggers": state.store.review_triggers().await?,
    })))
}

/// `GET /api/v1/filtering-reviews/{id}`: one review with everything it recorded.
pub async fn one_json(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Value>, WebError> {
    may_read(&user)?;
    let record = state
        .store
        .filtering_review(id)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(Json(json!(record)))
}

/// `POST /api/v1/filtering-reviews` with a [`NewReview`]: 201 `{"id"}`, or 400 naming the
/// field.
pub async fn create_json(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, WebError> {
    user.permit(Action::KeepFilteringRecords, Object::School)?;
    let entry: NewReview = crate::routes::api::body_as(body)?;
    let id = add(&state, &user, &entry).await?;
    Ok(crate::routes::api::created(id))
}
