//! What is due or overdue for the signed-in person (issue 18, part 7): on the home page and at
//! `GET /api/v1/dashboard`. Each item is counted only where the person's roles may see what it
//! counts; the date rule is `policy::dashboard`'s. Counts and dates only: no names.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use policy::conduct::DocumentKind;
use policy::dashboard::{DueStatus, due_status};
use policy::training::Standing;
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
    summary(&due)
}

/// How many of `due` there are, the earliest date, and whether any is overdue.
fn summary(
    due: &[(chrono::NaiveDate, DueStatus)],
) -> Option<(usize, chrono::NaiveDate, DueStatus)> {
    let earliest = due.iter().map(|(d, _)| *d).min()?;
    let worst = due.iter().map(|(_, s)| *s).max()?;
    Some((due.len(), earliest, worst))
}

fn parse(s: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Training run out or running out within the window, and training not done yet.
async fn training_items(
    store: &store::Store,
    profile: &policy::Profile,
) -> Result<Vec<DueItem>, WebError> {
    let mut renew = Vec::new();
    let mut missing = Vec::new();
    for p in crate::routes::training_standings(store, profile).await? {
        for s in p.courses.iter().flatten() {
            match (s, s.due()) {
                (Standing::Missing { .. }, Some(d)) => missing.push(d),
                (_, Some(d)) => renew.push(d),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    for (kind, title, due) in [
        ("training.renewal", "Training run out or running out", renew),
        ("training.not_done", "Training not yet done", missing),
    ] {
        if let Some((n, on, worst)) = summary(&due) {
            out.push(item(
                kind,
                title.into(),
                n,
                Some(on),
                worst,
                "/registers/training",
            ));
        }
    }
    Ok(out)
}

/// Photo consent to ask for: where the profile renews it each year, pupils whose consent has
/// lapsed or lapses within the window; everywhere, pupils nobody has answered for.
async fn consent_item(
    store: &store::Store,
    profile: &policy::Profile,
    today: chrono::NaiveDate,
) -> Result<Option<DueItem>, WebError> {
    let rules = &profile.consent;
    let latest = store.latest_consents().await?;
    let mut due: Vec<(chrono::NaiveDate, DueStatus)> = Vec::new();
    for pupil in store.people(Some(policy::PersonKind::Pupil)).await? {
        if !pupil.active {
            continue;
        }
        // The map is ordered by pupil, then purpose: this pupil's answers are one range.
        let answers: Vec<&store::ConsentEntry> = latest
            .range((pupil.id, String::new())..)
            .take_while(|((id, _), _)| *id == pupil.id)
            .map(|(_, c)| c)
            .collect();
        if answers.is_empty() {
            due.push((today, DueStatus::Due));
            continue;
        }
        let renewals = answers
            .iter()
            .filter(|c| c.given)
            .filter_map(|c| c.entry())
            .filter_map(|e| rules.renewal_due(e.on))
            .filter_map(|d| due_status(d, today).map(|s| (d, s)));
        if let Some(worst) = renewals.min() {
            due.push(worst);
        }
    }
    Ok(summary(&due).map(|(n, on, worst)| {
        item(
            "consent.renewal",
            "Photo consent to ask for or renew".into(),
            n,
            Some(on),
            worst,
            "/registers/consent",
        )
    }))
}

/// What is due or overdue for `user` in `state`'s school, the overdue first.
pub async fn due_items(state: &AppState, user: &CurrentUser) -> Result<Vec<DueItem>, WebError> {
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
    if user.may(
        Action::HandleAlerts,
        crate::routes::alerts::inbox_object(state),
    ) {
        let open = crate::routes::alerts::readable_by(
            state,
            user,
            AlertFilter {
                status: Some("open".into()),
                ..AlertFilter::default()
            },
        );
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
    if user.may(Action::ManageLeavers, Object::School) {
        items.extend(leavers_item(state).await?);
    }
    if let Some(status) = backup_status(state, user).await? {
        items.extend(status.item());
    }
    items.extend(register_items(&state.store, &profile, |a, o| user.may(a, o)).await?);
    items.sort_by_key(|i| std::cmp::Reverse(i.status == "overdue"));
    Ok(items)
}

/// The daily backups as the Headteacher and the network manager see them: the last one's time
/// and whether it verified, and what is wrong ([`policy::backup::backup_health`]).
#[derive(Debug, Clone, Serialize)]
pub struct BackupStatus {
    /// When the last backup was made or tried (stored time), if ever.
    pub last_at: Option<String>,
    /// Whether the last one verified.
    pub last_verified: bool,
    /// When the newest verified one was made.
    pub verified_at: Option<String>,
    /// `fine`, `not_set_up`, `none_yet`, `failed` or `old`.
    pub health: &'static str,
    #[serde(skip)]
    detail: policy::backup::BackupHealth,
}

impl BackupStatus {
    /// The line on the home page, whatever the health.
    pub fn line(&self) -> String {
        match (&self.last_at, self.last_verified) {
            (Some(at), true) => format!("Last backup {at}, verified."),
            (Some(at), false) => format!("Last backup tried {at}: it failed or did not verify."),
            (None, _) => "No backup on record.".into(),
        }
    }

    /// The dashboard's item when something is wrong.
    fn item(&self) -> Option<DueItem> {
        use policy::backup::BackupHealth as H;
        let (kind, title, status) = match &self.detail {
            H::Fine => return None,
            H::NotSetUp => (
                "backup.not_set_up",
                "No daily backup is set up (the profile has no [backup])".to_string(),
                DueStatus::Due,
            ),
            H::NoneYet => (
                "backup.none_yet",
                "No daily backup has been made yet".to_string(),
                DueStatus::Due,
            ),
            H::Failed(_) => (
                "backup.failed",
                format!(
                    "The last backup ({}) failed or did not verify: see the alert",
                    self.last_at.as_deref().unwrap_or("")
                ),
                DueStatus::Overdue,
            ),
            H::Old(hours) => (
                "backup.old",
                format!("The newest verified backup is {hours} hours old"),
                DueStatus::Overdue,
            ),
        };
        Some(item(kind, title, 1, None, status, "/alerts"))
    }
}

/// The backups' status for `user`, if they answer for the backups (`Action::ViewBackups`).
pub async fn backup_status(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Option<BackupStatus>, WebError> {
    if !user.may(Action::ViewBackups, Object::School) {
        return Ok(None);
    }
    let store = &state.store;
    let last = store.last_backup().await?;
    let verified = store.last_verified_backup().await?;
    let age_hours = verified
        .as_ref()
        .and_then(|b| store::parse_timestamp(&b.made_at))
        .map(|at| (store.now_utc() - at).num_hours());
    let configured = state.profile_in_force().backup.is_some();
    let detail = policy::backup::backup_health(
        configured,
        last.as_ref().map(|b| (b.verified, b.error.as_deref())),
        age_hours,
    );
    use policy::backup::BackupHealth as H;
    let health = match detail {
        H::Fine => "fine",
        H::NotSetUp => "not_set_up",
        H::NoneYet => "none_yet",
        H::Failed(_) => "failed",
        H::Old(_) => "old",
    };
    Ok(Some(BackupStatus {
        last_at: last.as_ref().map(|b| b.made_at.clone()),
        last_verified: last.as_ref().is_some_and(|b| b.verified),
        verified_at: verified.map(|b| b.made_at),
        health,
        detail,
    }))
}

/// Leavers' checklists still open: everyone with a leaving date to come whose checklist has an
/// item not done, and everyone who has left with a device still on loan. Due from 30 days
/// before the date, overdue once it has passed.
async fn leavers_item(state: &AppState) -> Result<Option<DueItem>, WebError> {
    let Some(today) = parse(&state.store.school_today()) else {
        return Ok(None);
    };
    let open = crate::routes::people::leavers::open_checklists(state).await?;
    let mut dates: Vec<(chrono::NaiveDate, DueStatus)> = open
        .to_come
        .iter()
        .filter(|(_, list)| list.iter().any(|i| i.done.is_none()))
        .filter_map(|(p, _)| p.leaves_on.as_deref().and_then(parse))
        .map(|d| (d, due_status(d, today).unwrap_or(DueStatus::Due)))
        .collect();
    let mut gone: Vec<i64> = open.gone.iter().map(|(id, _, _)| *id).collect();
    gone.sort_unstable();
    gone.dedup();
    dates.extend(gone.iter().map(|_| (today, DueStatus::Overdue)));
    Ok(summary(&dates).map(|(n, earliest, status)| {
        item(
            "leavers.open",
            "Leavers' checklists still open".into(),
            n,
            Some(earliest),
            status,
            "/people/leavers",
        )
    }))
}

/// What the registers have due or overdue, for whoever `may` see each (the same for everyone
/// holding the same roles: counts and dates, no names). The home page and the daily digest.
pub async fn register_items(
    store: &store::Store,
    profile: &policy::Profile,
    may: impl Fn(Action, Object<'_>) -> bool,
) -> Result<Vec<DueItem>, WebError> {
    let today = store.clock().school_now().date_naive();
    let mut items = Vec::new();
    if may(Action::ViewPolicyReview, Object::School) {
        // The register's newest version of the policy, else the profile's own dates.
        let current = store
            .current_document(DocumentKind::OnlineSafetyPolicy)
            .await?;
        let (review, version) = match &current {
            Some(d) => (parse(&d.review_on), d.version.clone()),
            // The profile's version, with when the governors approved it (else when it was
            // written), so that the item says which text is due.
            None => {
                let dated = match &profile.policy.approved_by_governors {
                    Some(a) => format!("{}, approved by the governors {a}", profile.policy.version),
                    None => format!(
                        "{}, written {}",
                        profile.policy.version, profile.policy.written
                    ),
                };
                (profile.next_review(), dated)
            }
        };
        if let Some(review) = review
            && let Some(status) = due_status(review, today)
        {
            items.push(item(
                "policy.review",
                format!("Review of the {} (version {version})", profile.policy.title),
                1,
                Some(review),
                status,
                "/registers/documents",
            ));
        }
    }
    if may(Action::ViewPolicyReview, Object::School) {
        let unheld = crate::routes::unheld_duties(store, profile).await?;
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
    if may(Action::ManageTraining, Object::School) {
        items.extend(training_items(store, profile).await?);
    }
    if may(Action::ManageDocuments, Object::School) {
        let unsigned = crate::routes::unsigned_codes(store, profile).await?;
        let n: usize = unsigned.iter().map(|u| u.people.len()).sum();
        if n > 0 {
            let who: Vec<&str> = unsigned.iter().map(|u| u.audience.as_str()).collect();
            items.push(item(
                "conduct.unsigned",
                format!("Codes of conduct not signed yet ({})", who.join(", ")),
                n,
                None,
                DueStatus::Due,
                "/registers/documents",
            ));
        }
    }
    if may(Action::ManageConsents, Object::School)
        && let Some(i) = consent_item(store, profile, today).await?
    {
        items.push(i);
    }
    let register = Object::Register {
        kept: profile.registers.data_processors,
    };
    if may(Action::ManageDataProcessors, register) {
        let processors = store.processors().await?;
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
    if may(Action::ViewFilteringRecords, Object::School) {
        items.extend(filtering_review_items(store, today).await?);
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.status == "overdue"));
    Ok(items)
}

/// The filtering and monitoring review when it is due or overdue (yearly, or after a trigger),
/// and the reviews' open actions due or past due.
async fn filtering_review_items(
    store: &store::Store,
    today: chrono::NaiveDate,
) -> Result<Vec<DueItem>, WebError> {
    let mut out = Vec::new();
    let next = crate::routes::next_filtering_review(store).await?;
    if let Some(status) = next.status {
        let title = match next.reason {
            policy::filtering_review::ReviewReason::Trigger(on) => {
                format!("Review of filtering and monitoring (after what happened on {on})")
            }
            _ => "Review of filtering and monitoring (at least once every academic year)".into(),
        };
        out.push(item(
            "filtering.review",
            title,
            1,
            Some(next.due_on),
            status,
            "/registers/filtering-review",
        ));
    }
    let open = store.open_review_actions().await?;
    let due = open.iter().filter_map(|a| parse(&a.due_on));
    if let Some((n, on, status)) = due_among(due, today) {
        out.push(item(
            "filtering.review_actions",
            "Actions from the filtering review due or past due".into(),
            n,
            Some(on),
            status,
            "/registers/filtering-review",
        ));
    }
    Ok(out)
}
