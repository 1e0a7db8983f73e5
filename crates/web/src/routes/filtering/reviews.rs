//! Review requests: the block page's "ask for a review" lands here; the network manager's queue
//! approves (into the school's allow-list, and the filter reloads) or declines, with a reason
//! that goes into the audit trail.

use super::shared::{filter_changed, group_choices, is_group_or_every};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{
    Chrome, MyReviewRow, ReviewNewPage, ReviewRow, ReviewsPage, refused_if, render, when,
};
use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use policy::{Action, Object, Role};
use serde::Deserialize;
use std::net::SocketAddr;
use store::{NewReview, Review, ReviewDecision, StoreError};

/// The filtering group of the device a request came from, as the gateways would see it.
fn group_of(state: &AppState, peer: SocketAddr) -> String {
    state
        .profile
        .network
        .as_ref()
        .map(|n| {
            policy::profile::network::ClientMap::new(n)
                .group_for(peer.ip())
                .to_string()
        })
        .unwrap_or_default()
}

/// The filter's (category, rule) for `url` requested by `group`, if it blocks it.
fn judged(state: &AppState, group: &str, url: &str) -> (Option<String>, Option<String>) {
    match state
        .filtering
        .as_ref()
        .and_then(|f| f.blocked_by(group, url))
    {
        Some((category, rule)) => (
            Some(category).filter(|c| !c.is_empty()),
            Some(rule).filter(|r| !r.is_empty()),
        ),
        None => (None, None),
    }
}

#[derive(Deserialize, Default)]
pub struct AskQuery {
    #[serde(default)]
    url: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    sent: Option<i64>,
}

#[derive(Deserialize)]
pub struct AskForm {
    url: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    rule: String,
    reason: String,
}

async fn ask_page(
    state: &AppState,
    user: &CurrentUser,
    peer: SocketAddr,
    form: AskForm,
    sent: bool,
    error: Option<String>,
) -> Result<Response, WebError> {
    let mine = state
        .store
        .reviews_by(user.person.id, 50)
        .await?
        .into_iter()
        .map(|r| MyReviewRow {
            asked: when(&r.requested_at),
            url: r.url,
            status: r.status,
            note: r.decision_note.unwrap_or_default(),
        })
        .collect();
    let page = render(&ReviewNewPage {
        chrome: Chrome::new(state, user, "Ask for a review", "/review"),
        error: error.clone(),
        sent,
        url: form.url,
        category: form.category,
        rule: form.rule,
        group: group_of(state, peer),
        reason: form.reason,
        reviewer_title: state.profile.role_title(Role::NetworkManager).to_string(),
        mine,
    });
    Ok(refused_if(error.is_some(), page))
}

/// `GET /review`: the form for the page the block page named, and one's earlier requests.
pub async fn ask(
    State(state): State<AppState>,
    user: CurrentUser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<AskQuery>,
) -> Result<Response, WebError> {
    user.permit(Action::RequestReview, Object::School)?;
    // What the page shows as the reason for the block is the filter's, not the link's.
    let _ = (q.category, q.rule);
    let (category, rule) = judged(&state, &group_of(&state, peer), q.url.trim());
    let form = AskForm {
        url: q.url,
        category: category.unwrap_or_default(),
        rule: rule.unwrap_or_default(),
        reason: String::new(),
    };
    ask_page(&state, &user, peer, form, q.sent.is_some(), None).await
}

/// `POST /review`: files the request, with the device's group and address.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(f): Form<AskForm>,
) -> Result<Response, WebError> {
    let permit = user.permit(Action::RequestReview, Object::School)?;
    let host = match filter::normalize::host_of(&f.url) {
        Ok(h) => h,
        Err(filter::normalize::BadName::IpLiteral) => f
            .url
            .split_once("://")
            .map(|(_, r)| r)
            .unwrap_or(&f.url)
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .to_string(),
        Err(e) => {
            let message = format!("url: {e}");
            return ask_page(&state, &user, peer, f, false, Some(message)).await;
        }
    };
    let group = group_of(&state, peer);
    let url = f.url.trim().to_string();
    // The category and rule are the filter's own verdict for this device's group: what the
    // block page (or anyone) sends is ignored, so a request cannot claim a harmless category.
    let (category, rule) = judged(&state, &group, &url);
    let new = NewReview {
        url,
        host,
        category,
        rule,
        group_name: group,
        client_ip: peer.ip().to_string(),
        reason: f.reason.clone(),
    };
    match state.store.request_review(&permit, &new).await {
        Ok(id) => Ok(Redirect::to(&format!("/review?sent={id}")).into_response()),
        Err(StoreError::Invalid(e)) => {
            ask_page(&state, &user, peer, f, false, Some(e.to_string())).await
        }
        Err(e) => Err(e.into()),
    }
}

fn row(r: Review) -> ReviewRow {
    ReviewRow {
        id: r.id,
        asked: when(&r.requested_at),
        url: r.url,
        host: r.host,
        category: r.category.unwrap_or_default(),
        rule: r.rule.unwrap_or_default(),
        who: r.requester_name,
        group: r.group_name,
        client_ip: r.client_ip,
        reason: r.reason,
        status: r.status,
        decider: r.decider_name.unwrap_or_default(),
        note: r.decision_note.unwrap_or_default(),
    }
}

/// `GET /reviews`: the network manager's queue, the school's allow entries and past decisions.
pub async fn queue(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    state.filtering_permit(&user)?;
    let (pending, decided): (Vec<ReviewRow>, Vec<ReviewRow>) = state
        .store
        .reviews(500)
        .await?
        .into_iter()
        .map(row)
        .partition(|r| r.status == "pending");
    let mut groups = group_choices(&state);
    groups.push(("*".into(), "every group".into()));
    Ok(render(&ReviewsPage {
        chrome: Chrome::new(&state, &user, "Review requests", "/reviews"),
        error: None,
        pending,
        decided,
        groups,
    }))
}

#[derive(Deserialize)]
pub struct ApproveForm {
    group: String,
    note: String,
}

#[derive(Deserialize)]
pub struct NoteForm {
    note: String,
}

/// `POST /reviews/{id}/approve`: allows the host for the chosen group and reloads the filter.
pub async fn approve(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<ApproveForm>,
) -> Result<Response, WebError> {
    let permit = state.filtering_permit(&user)?;
    if !is_group_or_every(&state, &f.group) {
        return Err(WebError::BadRequest(format!(
            "group: `{}` is not a filtering group",
            f.group
        )));
    }
    let decision = ReviewDecision::Approve {
        group: f.group,
        note: f.note,
    };
    state.store.decide_review(&permit, id, &decision).await?;
    filter_changed(&state);
    Ok(Redirect::to("/reviews").into_response())
}

/// `POST /reviews/{id}/decline`.
pub async fn decline(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<NoteForm>,
) -> Result<Response, WebError> {
    let permit = state.filtering_permit(&user)?;
    let decision = ReviewDecision::Decline { note: f.note };
    state.store.decide_review(&permit, id, &decision).await?;
    Ok(Redirect::to("/reviews").into_response())
}
