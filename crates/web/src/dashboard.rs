//! What is due or overdue for the signed-in person (issue 18, part 7): on the home page and at
//! `GET /api/v1/dashboard`. Each item is counted only where the person's roles may see what it
//! counts; the date rule is `policy::dashboard`'s. Counts and dates only: no names.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use policy::dashboard::{DueStatus, due_status};
use policy::{Action, ConcernStatus, Object};
use serde::Serialize;
use store::{AlertFilter, ConcernFilter};

/// One line of the dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct DueItem {
    pub kind: &'static str,
    pub title: String,
    pub count: usize,
    /// The earliest date it is due on, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_on: Option<String>,
    pub status: &'static str,
    pub link: String,
}

fn item(
    kind: &'static str,
    title: String,
    count: usize,
    due_on: Option<chrono::NaiveDate>,
    status: DueStatus,
    link: &str,
) -> DueItem {
    DueItem {
        kind,
        title,
        count,
        due_on: due_on.map(|d| d.format("%Y-%m-%d").to_string()),
        status: status.as_str(),
        link: link.to_string(),
    }
}

/// Dates of `dates` that are due or overdue on `today`: how many, the earliest, and whether
/// any is overdue.
fn due_among(
    dates: impl Iterator<Item = chrono::NaiveDate>,
    today: chrono::NaiveDate,
) -> Option<(usize, chrono::NaiveDate, DueStatus)> {
    let due: Vec<(chrono::NaiveDate, DueStatus)> = dates
        .filter_map(|d| due_status(d, today).map(|s| (d, s)))
        .collect();
    let earliest = due.iter().map(|(d, _)| *d).min()?;
    let worst = due.iter().map(|(_, s)| *s).max()?;
    Some((due.len(), earliest, worst))
}

/// What is due or overdue for `user` in `state`'s school, the overdue first.
pub async fn due_items(state: &AppState, user: &CurrentUser) -> Result<Vec<DueItem>, WebError> {
    let today = state.store.clock().school_now().date_naive();
    let profile = state.profile_in_force();
    let mut items = Vec::new();
    let team = profile.concerns.team.iter().copied().collect();
    if user.may(Action::ViewConcernQueue, Object::Queue { team }) {
        let new = ConcernFilter {
            status: Some(ConcernStatus::New),
            subject: None,
        };
        let (waiting, _) = crate::ops::visible_concerns(state, user, &new).await?;
        if !waiting.is_empty() {
            let late = waiting
                .iter()
                .filter(|c| crate::ops::triage_overdue(state, c))
                .count();
            let title = if late > 0 {
                format!(
                    "Concerns waiting for triage ({late} for over {} hours)",
                    profile.concerns.triage_within_hours
                )
            } else {
                "Concerns waiting for triage".to_string()
            };
            let status = if late > 0 {
                DueStatus::Overdue
            } else {
                DueStatus::Due
            };
            items.push(item(
                "concerns.untriaged",
                title,
                waiting.len(),
                None,
                status,
                "/concerns?status=new",
            ));
        }
    }
    if user.may(Action::HandleAlerts, Object::School) {
        let open = AlertFilter {
            status: Some("open".into()),
            ..AlertFilter::default()
        };
        let n = state.store.alerts(&open, 10_000).await?.len();
        if n > 0 {
            items.push(item(
                "alerts.open",
                "Alerts not yet handled".into(),
                n,
                None,
                DueStatus::Due,
                "/alerts",
            ));
        }
    }
    if user.may(Action::ViewPolicyReview, Object::School)
        && let Some(review) = profile.next_review()
        && let Some(status) = due_status(review, today)
    {
        items.push(item(
            "policy.review",
            format!(
                "Review of the {} (version {})",
                profile.policy.title, profile.policy.version
            ),
            1,
            Some(review),
            status,
            "/#due",
        ));
    }
    if user.may(Action::ViewPolicyReview, Object::School) {
        let unheld = crate::routes::unheld_duties(state).await?;
        if !unheld.is_empty() {
            items.push(item(
                "roles.duty_unheld",
                format!("Nobody holds the role of {}", unheld.join(" or ")),
                unheld.len(),
                None,
                DueStatus::Overdue,
                "/registers/roles",
            ));
        }
    }
    let register = Object::Register {
        kept: profile.registers.data_processors,
    };
    if user.may(Action::ManageDataProcessors, register) {
        let processors = state.store.processors().await?;
        let parse = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let renewals = processors
            .iter()
            .filter_map(|p| p.renewal_on.as_deref().and_then(parse));
        if let Some((n, on, status)) = due_among(renewals, today) {
            items.push(item(
                "data_processors.renewal",
                "Data processing agreements to renew".into(),
                n,
                Some(on),
                status,
                "/registers/processors",
            ));
        }
        let reviews = processors.iter().filter_map(|p| parse(&p.review_on));
        if let Some((n, on, status)) = due_among(reviews, today) {
            items.push(item(
                "data_processors.review",
                "Data processors to review".into(),
                n,
                Some(on),
                status,
                "/registers/processors",
            ));
        }
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.status == "overdue"));
    Ok(items)
}
