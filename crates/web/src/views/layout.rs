//! The layout every page shares (title, school, the signed-in user, the navigation they may
//! use), rendering, the error page, and times as people read them.

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
                Action::ManageDataProcessors => Object::Register {
                    kept: in_force.registers.data_processors,
                },
                Action::HandleAlerts => crate::routes::alerts::inbox_object(state),
                _ => Object::School,
            };
            user.may(a, object)
        };
        // (where, label, shown, whether the pages below it are it too)
        let items = [
            ("/", "Home", true, false),
            ("/concerns/new", "Report", true, false),
            (
                "/concerns",
                "Concerns",
                allowed(Action::BrowseConcerns),
                false,
            ),
            (
                "/people",
                "People",
                allowed(Action::ManagePeople)
                    || allowed(Action::ViewChronology)
                    || allowed(Action::ManageLeavers),
                true,
            ),
            (
                "/network",
                "Filtering",
                allowed(Action::ViewAccessLog),
                true,
            ),
            ("/alerts", "Alerts", allowed(Action::HandleAlerts), true),
            (
                "/reviews",
                "Reviews",
                allowed(Action::ChangeFiltering),
                true,
            ),
            ("/rules", "Rules", allowed(Action::ChangeFiltering), true),
            ("/devices", "Devices", allowed(Action::ManageDevices), true),
            (
                "/filtering/self-test",
                "Self-test",
                allowed(Action::RunFilterTest),
                true,
            ),
            (
                "/registers/roles",
                "Role holders",
                allowed(Action::ViewPeople),
                true,
            ),
            (
                "/registers/training",
                "Training",
                allowed(Action::ManageTraining),
                true,
            ),
            (
                "/registers/documents",
                "Policies",
                allowed(Action::ManageDocuments) || allowed(Action::RecordPaperSignOff),
                true,
            ),
            (
                "/registers/consent",
                "Consent",
                allowed(Action::ViewConsents),
                true,
            ),
            (
                "/consent",
                "Photo consent",
                user.person.roles.contains(policy::Role::Parent),
                true,
            ),
            (
                "/reports/weekly",
                "Weekly report",
                user.may(
                    Action::ViewWeeklyReport,
                    Object::Queue {
                        team: policy::RoleSet::of(in_force.concerns.first_contact),
                    },
                ),
                false,
            ),
            (
                "/registers/filtering-review",
                "F&M review",
                allowed(Action::ViewFilteringRecords),
                true,
            ),
            (
                "/registers/filter-checks",
                "Checks",
                allowed(Action::ViewFilteringRecords),
                true,
            ),
            (
                "/registers/processors",
                "Processors",
                allowed(Action::ManageDataProcessors),
                true,
            ),
            ("/audit", "Audit", allowed(Action::ViewAudit), false),
            (
                "/audit/roles",
                "Roles",
                allowed(Action::ViewRoleChanges),
                false,
            ),
            ("/account", "Account", true, false),
        ];
        // The trust's people: the trust's page wherever they are; at the trust's own row, only
        // it and their account (the row holds no school's work).
        let trust = state.trust.as_ref().filter(|t| t.id == user.home_school);
        let at_trust = trust.is_some_and(|t| t.id == state.store.school_id());
        let trust_item = ("/trust", "Trust", trust.is_some(), true);
        let nav = std::iter::once(trust_item)
            .chain(items)
            .filter(|(href, _, shown, _)| {
                *shown && (!at_trust || matches!(*href, "/trust" | "/account"))
            })
            .map(|(href, label, _, below)| NavItem {
                href,
                label,
                current: if below {
                    path.starts_with(href)
                } else {
                    path == href
                },
            })
            .collect();
        let roles = user
            .person
            .roles
            .iter()
            .map(|r| match trust.filter(|_| at_trust) {
                Some(t) => t
                    .profile
                    .title_of(r)
                    .unwrap_or(state.profile.role_title(r))
                    .to_string(),
                None => state.profile.role_title(r).to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let school = match trust.filter(|_| at_trust) {
            Some(t) => t.profile.trust.name.clone(),
            None => state.profile.school.name.clone(),
        };
        Chrome {
            title: title.into(),
            school,
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

/// A form page as its answer: 400 Bad Request when it shows what was wrong with what was sent
/// (so scripts and tests see the refusal), 200 otherwise.
pub fn refused_if(failed: bool, page: Response) -> Response {
    if failed {
        (axum::http::StatusCode::BAD_REQUEST, page).into_response()
    } else {
        page
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

/// A stored timestamp as people read it: `2026-11-24 09:15` (UTC).
pub fn when(ts: &str) -> String {
    store::parse_timestamp(ts)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| ts.to_string())
}
