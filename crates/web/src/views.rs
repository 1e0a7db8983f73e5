//! Page models: one askama struct per page, each with the shared [`Chrome`] for the layout.

use crate::AppState;
use crate::auth::CurrentUser;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use policy::{Action, Object};

/// The layout's data: title, school, the signed-in user and the navigation they may use.
pub struct Chrome {
    pub title: String,
    pub school: String,
    pub user: Option<UserChrome>,
    pub nav: Vec<NavItem>,
    pub csrf: String,
    pub flash: Option<String>,
}

pub struct UserChrome {
    pub name: String,
    pub roles: String,
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

impl Chrome {
    /// The chrome for a signed-in user on the page at `path`.
    pub fn new(
        state: &AppState,
        user: &CurrentUser,
        title: impl Into<String>,
        path: &str,
    ) -> Chrome {
        let in_force = state.profile_in_force();
        let allowed = |a: Action| {
            let object = match a {
                Action::ChangeFiltering => in_force.filtering.as_object(),
                _ => Object::School,
            };
            user.may(a, object)
        };
        let mut nav = vec![NavItem {
            href: "/",
            label: "Home",
            current: path == "/",
        }];
        nav.push(NavItem {
            href: "/concerns/new",
            label: "Report",
            current: path == "/concerns/new",
        });
        if allowed(Action::BrowseConcerns) {
            nav.push(NavItem {
                href: "/concerns",
                label: "Concerns",
                current: path == "/concerns",
            });
        }
        if allowed(Action::ManagePeople) || allowed(Action::ViewChronology) {
            nav.push(NavItem {
                href: "/people",
                label: "People",
                current: path.starts_with("/people"),
            });
        }
        if allowed(Action::ViewAccessLog) {
            nav.push(NavItem {
                href: "/network",
                label: "Filtering",
                current: path.starts_with("/network"),
            });
        }
        if allowed(Action::HandleAlerts) {
            nav.push(NavItem {
                href: "/alerts",
                label: "Alerts",
                current: path.starts_with("/alerts"),
            });
        }
        if allowed(Action::ChangeFiltering) {
            nav.push(NavItem {
                href: "/reviews",
                label: "Reviews",
                current: path.starts_with("/reviews"),
            });
        }
        if allowed(Action::ChangeFiltering) {
            nav.push(NavItem {
                href: "/rules",
                label: "Rules",
                current: path.starts_with("/rules"),
            });
        }
        if allowed(Action::ManageDevices) {
            nav.push(NavItem {
                href: "/devices",
                label: "Devices",
                current: path.starts_with("/devices"),
            });
        }
        if allowed(Action::ViewAudit) {
            nav.push(NavItem {
                href: "/audit",
                label: "Audit",
                current: path == "/audit",
            });
        }
        if allowed(Action::ViewRoleChanges) {
            nav.push(NavItem {
                href: "/audit/roles",
                label: "Roles",
                current: path == "/audit/roles",
            });
        }
        nav.push(NavItem {
            href: "/account",
            label: "Account",
            current: path == "/account",
        });
        let roles = user
            .person
            .roles
            .iter()
            .map(|r| state.profile.role_title(r).to_string())
            .collect::<Vec<_>>()
            .join(", ");
        Chrome {
            title: title.into(),
            school: state.profile.school.name.clone(),
            user: Some(UserChrome {
                name: user.person.display_name.clone(),
                roles,
            }),
            nav,
            csrf: user.csrf_token.clone(),
            flash: None,
        }
    }

    /// The chrome for someone not signed in.
    pub fn anonymous(school: &str, title: &str) -> Chrome {
        Chrome {
            title: title.into(),
            school: school.into(),
            user: None,
            nav: Vec::new(),
            csrf: String::new(),
            flash: None,
        }
    }
}

/// Renders a template into a response, or a 500 if the template fails.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => crate::WebError::from(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    heading: String,
    message: String,
}

/// The error page for `status` (the layout without navigation: the user may not be known).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let heading = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::BAD_REQUEST => "Please check what you entered",
        StatusCode::TOO_MANY_REQUESTS => "Account locked",
        s if s.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    let page = ErrorPage {
        chrome: Chrome::anonymous("", heading),
        heading: heading.into(),
        message: message.into(),
    };
    let html = page.render().unwrap_or_else(|_| message.to_string());
    (status, Html(html)).into_response()
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub next: String,
    pub username: String,
}

/// A concern as a row of a list.
pub struct ConcernRow {
    pub id: i64,
    pub reported: String,
    pub summary: String,
    pub subjects: String,
    pub category: String,
    pub severity: Option<String>,
    pub status: String,
    pub status_label: String,
    pub route: String,
    pub route_label: String,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub chrome: Chrome,
    pub first_name: String,
    pub is_pupil: bool,
    pub first_contact_title: String,
    pub sees_queue: bool,
    pub queue_count: usize,
    pub untriaged_count: usize,
    pub mine: Vec<ConcernRow>,
}

#[derive(Template)]
#[template(path = "concerns.html")]
pub struct ConcernsPage {
    pub chrome: Chrome,
    pub rows: Vec<ConcernRow>,
    pub statuses: Vec<(String, String)>,
    pub status: String,
}

#[derive(Template)]
#[template(path = "concern_new.html")]
pub struct NewConcernPage {
    pub chrome: Chrome,
    pub form: String,
    pub error: Option<String>,
    pub categories: Vec<(String, String)>,
    pub people: Vec<(String, String)>,
    pub first_contact_title: String,
    pub head_title: String,
    pub chair_title: String,
    pub max_mb: u64,
}

/// One timeline entry as shown.
pub struct TimelineEntry {
    pub id: i64,
    pub label: String,
    pub actor: String,
    pub at: String,
    pub text: String,
    pub corrects: Option<i64>,
}

#[derive(Template)]
#[template(path = "concern.html")]
pub struct ConcernPage {
    pub chrome: Chrome,
    pub c: ConcernRow,
    pub error: Option<String>,
    pub lado_required: bool,
    /// (id, name, chronology link)
    pub subjects: Vec<(i64, String, Option<String>)>,
    pub about_text: Option<String>,
    pub reporter: String,
    pub form_name: String,
    pub occurred_at: Option<String>,
    pub platform: Option<String>,
    pub assignee: String,
    pub outcome: Option<String>,
    pub details: String,
    /// (id, filename, size, sha256)
    pub attachments: Vec<(i64, String, i64, String)>,
    pub timeline: Vec<TimelineEntry>,
    pub can_act: bool,
    pub channels: Vec<(String, String)>,
    pub sanctions: Vec<(String, String)>,
    pub agencies: Vec<(String, String)>,
    pub severities: Vec<(String, String)>,
    pub open_statuses: Vec<(String, String)>,
    pub staff: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "concern_mine.html")]
pub struct ReporterViewPage {
    pub chrome: Chrome,
    pub summary: String,
    pub status: String,
    pub status_label: String,
    pub reported: String,
    pub details: String,
}

/// One line of a pupil's chronology.
pub struct ChronologyEntry {
    pub at: String,
    pub concern_id: i64,
    pub summary: String,
    pub label: String,
    pub text: String,
    pub actor: String,
}

#[derive(Template)]
#[template(path = "chronology.html")]
pub struct ChronologyPage {
    pub chrome: Chrome,
    pub pupil: String,
    pub class_info: String,
    pub entries: Vec<ChronologyEntry>,
}

/// A person as a row of the people page.
pub struct PersonRow {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub kind: String,
    pub roles: String,
    pub class_info: String,
    pub account: String,
    pub active: bool,
    /// Locked by failed sign-ins now.
    pub locked: bool,
    pub chronology: Option<String>,
}

#[derive(Template)]
#[template(path = "people.html")]
pub struct PeoplePage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub can_manage: bool,
    /// May unlock accounts locked by failed sign-ins.
    pub can_unlock: bool,
    pub rows: Vec<PersonRow>,
}

#[derive(Template)]
#[template(path = "person_new.html")]
pub struct NewPersonPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub kinds: Vec<&'static str>,
    pub roles: Vec<(String, String)>,
    pub welcome_days: i64,
}

/// A person just added with a login account: the one-time link, shown this once.
#[derive(Template)]
#[template(path = "person_added.html")]
pub struct PersonAddedPage {
    pub chrome: Chrome,
    pub name: String,
    pub username: String,
    pub link: String,
    pub expires: String,
}

/// The page a new account's holder opens from their one-time link to set their password.
#[derive(Template)]
#[template(path = "welcome.html")]
pub struct WelcomePage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub name: String,
    pub username: String,
    pub action: String,
    pub min_len: usize,
}

/// The audit rows about roles and accounts, for the auditors and the Chair of Governors.
#[derive(Template)]
#[template(path = "audit_roles.html")]
pub struct RoleChangesPage {
    pub chrome: Chrome,
    pub entries: Vec<AuditRow>,
}

/// One audit row as shown.
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub details: String,
}

/// One line of the failed sign-ins page (text ready to show).
pub struct SignInRow {
    pub at: String,
    pub reason: String,
    pub source: String,
    pub username: String,
    pub path: String,
}

/// A count of one reason from one address.
pub struct SignInCount {
    pub reason: String,
    pub source: String,
    pub count: i64,
}

#[derive(Template)]
#[template(path = "sign_ins.html")]
pub struct SignInsPage {
    pub chrome: Chrome,
    pub counts: Vec<SignInCount>,
    pub rows: Vec<SignInRow>,
    pub throttled: u64,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub chrome: Chrome,
    pub intact: bool,
    pub rows: u64,
    pub head: String,
    pub broken: String,
    pub entries: Vec<AuditRow>,
    pub older: Option<i64>,
}

/// A stored timestamp as people read it: `2026-11-24 09:15` (UTC).
pub fn when(ts: &str) -> String {
    store::parse_timestamp(ts)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| ts.to_string())
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub chrome: Chrome,
    /// Where the user stands with the Acceptable Use Policy, when the profile has one.
    pub aup: Option<String>,
    pub expired: bool,
    pub error: Option<String>,
    pub name: String,
    pub username: String,
    pub roles: String,
    pub changed: String,
    pub rotation_days: u32,
    pub min_len: usize,
    pub first_contact_title: String,
}

/// One access-log row as shown.
pub struct QueryRow {
    pub at: String,
    pub source: String,
    pub who: String,
    pub client: String,
    pub group: String,
    pub name: String,
    pub qtype: Option<String>,
    pub verdict: String,
    pub category: String,
    pub rule: String,
}

#[derive(Template)]
#[template(path = "queries.html")]
pub struct QueriesPage {
    pub chrome: Chrome,
    pub rows: Vec<QueryRow>,
    pub groups: Vec<String>,
    pub verdicts: Vec<&'static str>,
    pub f_user: String,
    pub f_device: String,
    pub f_group: String,
    pub f_verdict: String,
    pub f_category: String,
    pub f_since: String,
    /// The filter as a query string, for the live refresh and paging.
    pub query: String,
    pub older: Option<i64>,
}

#[derive(Template)]
#[template(path = "queries_rows.html")]
pub struct QueryRowsPartial {
    pub rows: Vec<QueryRow>,
}

/// Per-group counts of the statistics page.
pub struct GroupStats {
    pub name: String,
    pub allow: i64,
    pub block: i64,
    pub rewrite: i64,
    pub refused: i64,
    pub error: i64,
}

/// One day's requests per group, for the statistics page's history.
pub struct DayStats {
    /// YYYY-MM-DD (UTC).
    pub day: String,
    pub groups: Vec<GroupStats>,
}

#[derive(Template)]
#[template(path = "network_stats.html")]
pub struct NetworkStatsPage {
    pub chrome: Chrome,
    pub groups: Vec<GroupStats>,
    pub top: Vec<(String, String, i64)>,
    /// The last days, newest first, from the daily roll-up and the detailed rows.
    pub days: Vec<DayStats>,
    /// How many days `days` goes back.
    pub history_days: i64,
}

/// A review request as shown to the one who asked.
pub struct MyReviewRow {
    pub asked: String,
    pub url: String,
    pub status: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "review_new.html")]
pub struct ReviewNewPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub sent: bool,
    pub url: String,
    pub category: String,
    pub rule: String,
    pub group: String,
    pub reason: String,
    pub reviewer_title: String,
    pub mine: Vec<MyReviewRow>,
}

/// A review request as the network manager sees it.
pub struct ReviewRow {
    pub id: i64,
    pub url: String,
    pub host: String,
    pub category: String,
    pub rule: String,
    pub who: String,
    pub group: String,
    pub client_ip: String,
    pub asked: String,
    pub reason: String,
    pub status: String,
    pub decider: String,
    pub note: String,
}

/// One of the school's own allow or block entries as shown.
pub struct EntryRow {
    pub id: i64,
    /// `allow` or `block`.
    pub kind: String,
    pub host: String,
    pub group: String,
    pub reason: String,
    pub by: String,
    pub at: String,
}

/// What one group's filtering is, as in force.
pub struct GroupRuleRow {
    pub name: String,
    pub description: String,
    pub pupil: bool,
    pub blocks: String,
    pub safe: String,
    pub times: String,
    pub own_lists: String,
}

/// One row of the filtering decision log.
pub struct DecisionRow {
    pub at: String,
    pub who: String,
    pub what: String,
    pub lines: Vec<String>,
    pub why: String,
}

#[derive(Template)]
#[template(path = "rules.html")]
pub struct RulesPage {
    pub chrome: Chrome,
    pub notice: Option<String>,
    pub error: Option<String>,
    pub groups: Vec<GroupRuleRow>,
    pub entries: Vec<EntryRow>,
    /// (value, label) of each group an entry can be for.
    pub choices: Vec<(String, String)>,
    pub form_kind: String,
    pub form_site: String,
    pub form_group: String,
    pub form_reason: String,
    pub decisions: Vec<DecisionRow>,
    /// Where the profile is read from on a reload.
    pub profile_file: String,
}

#[derive(Template)]
#[template(path = "reviews.html")]
pub struct ReviewsPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub pending: Vec<ReviewRow>,
    pub decided: Vec<ReviewRow>,
    /// (value, label) of each group an approval can be for.
    pub groups: Vec<(String, String)>,
}

/// One row of the device register.
pub struct DeviceRow {
    pub id: i64,
    pub name: String,
    pub ip: String,
    pub mac: String,
    pub holder: String,
    pub group: String,
    pub added: String,
}

/// What the device form held (kept after an error).
#[derive(Default, serde::Deserialize)]
pub struct DeviceForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub ip: String,
    #[serde(default)]
    pub mac: String,
    #[serde(default)]
    pub holder: String,
    #[serde(default)]
    pub group: String,
}

#[derive(Template)]
#[template(path = "devices.html")]
pub struct DevicesPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub form: DeviceForm,
    pub devices: Vec<DeviceRow>,
    /// (value, label) of each filtering group.
    pub groups: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "ca.html")]
pub struct CaPage {
    pub chrome: Chrome,
    pub available: bool,
    pub inspected: String,
}

#[derive(Template)]
#[template(path = "aup.html")]
pub struct AupPage {
    pub chrome: Chrome,
    pub school: String,
    pub version: String,
    pub accepted: Option<String>,
    pub return_to: String,
}

/// An alert as the inbox shows it.
pub struct AlertRow {
    pub id: i64,
    pub severity: String,
    pub rule: String,
    pub who: String,
    pub group: String,
    pub first: String,
    pub last: String,
    pub count: i64,
    pub status: String,
    pub note: String,
    /// The signed-in user the alert is about, if known (the escalation's default subject).
    pub username: String,
    /// About Palisade itself (a monitoring gap), not a person or device: nothing to escalate.
    pub system: bool,
    /// What was asked for, newest evidence first: (time, name or URL, verdict, category).
    pub evidence: Vec<(String, String, String, String)>,
}

#[derive(Template)]
#[template(path = "alerts.html")]
pub struct AlertsPage {
    pub chrome: Chrome,
    pub alerts: Vec<AlertRow>,
    pub severity: String,
    pub status: String,
    pub severities: Vec<&'static str>,
    /// (id, label) of the school's concern categories, for escalation.
    pub categories: Vec<(String, String)>,
    /// How alert mail stands: waiting, failing and the last error, if any is unsent.
    pub mail: Option<String>,
    /// Year groups to filter by, and the one chosen.
    pub years: Vec<String>,
    pub year: String,
}
