//! Every route of the app, by area. Each handler checks `policy::can` (directly or through
//! `ops`) before it reads or changes anything.

mod account;
pub(crate) mod alerts;
mod api;
mod audit;
mod aup;
mod concerns;
mod filtering;
mod network;
mod oidc;
mod password_known;
pub(crate) mod people;
mod people_import;
mod ready;
mod registers;
pub mod reports;
mod session;
mod sign_ins;
mod subject_access;
mod trust;
mod two_factor;
mod upload;
mod welcome;

use crate::AppState;
use axum::Router;
use axum::http::header;
use axum::routing::{get, post};
use filtering::{devices, loans, reviews, rules, selftest};

pub(crate) use aup::must_sign_code;
pub(crate) use registers::filtering_review::next_review as next_filtering_review;
pub(crate) use registers::roles::unheld_duties;
pub(crate) use registers::signoffs::unsigned as unsigned_codes;
pub(crate) use registers::training::standings as training_standings;

/// The HTML pages.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/login", get(session::login_page).post(session::login_form))
        .route(
            "/login/code",
            get(session::code_page).post(session::code_form),
        )
        .route("/login/oidc", get(oidc::start))
        .route("/login/oidc/callback", get(oidc::callback))
        .route("/logout", post(session::logout_form))
        .route("/", get(concerns::home))
        .route("/concerns", get(concerns::list).post(concerns::create))
        .route("/concerns/new", get(concerns::new_form))
        .route("/concerns/{id}", get(concerns::show))
        .route(
            "/concerns/{id}/actions",
            post(concerns::changes::add_action),
        )
        .route("/concerns/{id}/triage", post(concerns::changes::triage))
        .route("/concerns/{id}/close", post(concerns::changes::close))
        .route("/concerns/{id}/reopen", post(concerns::changes::reopen))
        .route(
            "/concerns/{id}/attachments",
            post(concerns::changes::attach),
        )
        .route(
            "/concerns/{id}/attachments/{attachment}",
            get(concerns::download),
        )
        .route(
            "/pupils/{id}/chronology",
            get(concerns::chronology::chronology),
        )
        .route("/people", get(people::list).post(people::create))
        .route("/people/new", get(people::new_form))
        .route(
            "/people/import",
            get(people_import::form).post(people_import::upload),
        )
        .route("/people/import/{id}", get(people_import::progress))
        .route("/people/import/{id}/apply", post(people_import::apply))
        .route(
            "/people/guests",
            get(people::guests::page).post(people::guests::create),
        )
        .route("/people/leavers", get(people::leavers::page))
        .route("/people/{id}", get(people::record::page))
        .route("/people/{id}/leaving", post(people::leavers::set_date))
        .route("/people/{id}/leaving/tick", post(people::leavers::tick))
        .route("/people/{id}/deactivate", post(people::deactivate))
        .route("/people/{id}/reactivate", post(people::reactivate))
        .route(
            "/people/{id}/account/disable",
            post(people::disable_account),
        )
        .route("/people/{id}/account/enable", post(people::enable_account))
        .route("/people/{id}/account/unlock", post(people::unlock_account))
        .route("/people/{id}/subject-access", get(subject_access::page))
        .route(
            "/people/{id}/subject-access.json",
            get(subject_access::json),
        )
        .route("/people/{id}/erase", post(subject_access::erase))
        .route("/sign-ins", get(sign_ins::page))
        .route("/audit", get(audit::page))
        .route("/audit/roles", get(audit::role_changes))
        .route(
            "/welcome/{token}",
            get(welcome::form).post(welcome::set_password),
        )
        .route("/network", get(network::stats))
        .route("/network/queries", get(network::queries))
        .route("/alerts", get(alerts::inbox))
        .route("/alerts/{id}/acknowledge", post(alerts::acknowledge))
        .route("/alerts/{id}/dismiss", post(alerts::dismiss))
        .route("/alerts/{id}/escalate", post(alerts::escalate))
        .route("/aup", get(aup::page).post(aup::accept))
        .route("/review", get(reviews::ask).post(reviews::create))
        .route("/reviews", get(reviews::queue))
        .route("/reviews/{id}/approve", post(reviews::approve))
        .route("/reviews/{id}/decline", post(reviews::decline))
        .route("/rules", get(rules::page))
        .route("/rules/entries", post(rules::add_entry))
        .route("/rules/entries/{id}/remove", post(rules::remove_entry))
        .route("/rules/reload", post(rules::reload))
        .route("/devices", get(devices::page).post(devices::add))
        .route("/devices/{id}/retire", post(devices::retire))
        .route("/devices/management", post(loans::set_management))
        .route("/devices/lend", post(loans::lend))
        .route("/devices/loans/{id}/return", post(loans::give_back))
        .route("/devices/report", post(loans::report))
        .route(
            "/filtering/self-test",
            get(selftest::page).post(selftest::run),
        )
        .route(
            "/registers/processors",
            get(registers::page).post(registers::create),
        )
        .route("/registers/processors.csv", get(registers::csv))
        .route("/registers/roles", get(registers::roles::page))
        .route(
            "/registers/training",
            get(registers::training::page).post(registers::training::create),
        )
        .route(
            "/registers/documents",
            get(registers::signoffs::page).post(registers::signoffs::create),
        )
        .route(
            "/registers/consent",
            get(registers::consent::page).post(registers::consent::create),
        )
        .route(
            "/consent",
            get(registers::consent::parent_page).post(registers::consent::parent_answer),
        )
        .route(
            "/registers/publish-check",
            get(registers::publish::page).post(registers::publish::check),
        )
        .route(
            "/registers/documents/{id}/file",
            get(registers::signoffs::file),
        )
        .route(
            "/registers/documents/paper",
            post(registers::signoffs::paper_form),
        )
        .route(
            "/registers/training/{session}/evidence",
            get(registers::training::evidence),
        )
        .route(
            "/registers/filter-checks",
            get(registers::filter_checks::page).post(registers::filter_checks::create),
        )
        .route(
            "/registers/filter-checks/{id}/certificate",
            get(registers::filter_checks::certificate),
        )
        .route(
            "/registers/filtering-review",
            get(registers::filtering_review::page).post(registers::filtering_review::create),
        )
        .route(
            "/registers/filtering-review/new",
            get(registers::filtering_review::new_page),
        )
        .route(
            "/registers/filtering-review/{id}",
            get(registers::filtering_review::one),
        )
        .route(
            "/registers/filtering-review/actions/{id}/done",
            post(registers::filtering_review::action_done),
        )
        .route(
            "/registers/filtering-review/triggers",
            post(registers::filtering_review::trigger),
        )
        .route("/reports/weekly", get(reports::page))
        .route("/trust", get(trust::page))
        .route("/trust/school", post(trust::choose))
        .route("/trust/concerns", get(trust::lists::concerns_page))
        .route("/trust/alerts", get(trust::lists::alerts_page))
        .route("/trust/filtering", get(trust::filtering::page))
        .route("/account", get(account::page))
        .route("/account/password", post(account::change_password))
        .route("/account/password-known", post(password_known::own_form))
        .route("/account/two-factor", get(two_factor::page))
        .route("/account/two-factor/start", post(two_factor::start))
        .route("/account/two-factor/confirm", post(two_factor::confirm))
        .route("/account/two-factor/remove", post(two_factor::remove))
        .route(
            "/account/two-factor/recovery-codes",
            post(two_factor::renew_codes),
        )
        .route(
            "/people/{id}/account/two-factor/reset",
            post(two_factor::reset),
        )
        .route(
            "/people/{id}/account/password-known",
            post(password_known::force_form),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready::readyz))
        .route("/metrics", get(metrics))
        .route("/proxy.pac", get(network::proxy_pac))
        .route("/wpad.dat", get(network::proxy_pac))
        .route("/ca", get(network::ca_page))
        .route("/ca.pem", get(network::ca_certificate))
}

/// The JSON API, mounted under `/api/v1`.
pub fn api() -> Router<AppState> {
    Router::new()
        .route("/login", post(api::login))
        .route("/logout", post(api::logout))
        .route("/me", get(api::me))
        .route("/account/password-known", post(password_known::own_api))
        .route(
            "/people/{id}/password-known",
            post(password_known::force_api),
        )
        .route(
            "/concerns",
            get(api::list_concerns).post(api::create_concern),
        )
        .route("/concerns/{id}", get(api::get_concern))
        .route("/concerns/{id}/actions", post(api::add_action))
        .route("/concerns/{id}/triage", post(api::triage))
        .route("/concerns/{id}/close", post(api::close))
        .route("/concerns/{id}/reopen", post(api::reopen))
        .route("/people", get(api::list_people).post(api::create_person))
        .route("/people/import", post(people_import::api))
        .route("/people/{id}/unlock", post(api::unlock_account))
        .route("/people/{id}/roles", post(api::change_roles))
        .route("/audit/verify", get(api::verify_audit))
        .route(
            "/data-processors",
            get(registers::list_json).post(registers::create_json),
        )
        .route("/dashboard", get(api::dashboard))
        .route("/registers/roles", get(registers::roles::json))
        .route(
            "/documents",
            get(registers::signoffs::list_json).post(registers::signoffs::create_json),
        )
        .route(
            "/acknowledgements",
            get(registers::signoffs::acknowledgements_json).post(registers::signoffs::sign_json),
        )
        .route(
            "/consents",
            get(registers::consent::list_json).post(registers::consent::create_json),
        )
        .route(
            "/acknowledgements/paper",
            post(registers::signoffs::paper_json),
        )
        .route(
            "/training",
            get(registers::training::list_json).post(registers::training::create_json),
        )
        .route(
            "/filter-checks",
            get(registers::filter_checks::list_json).post(registers::filter_checks::create_json),
        )
        .route(
            "/filtering-reviews",
            get(registers::filtering_review::list_json)
                .post(registers::filtering_review::create_json),
        )
        .route(
            "/filtering-reviews/{id}",
            get(registers::filtering_review::one_json),
        )
        .route("/reports/weekly", get(reports::json))
        .route(
            "/filtering/self-test",
            get(selftest::api_show).post(selftest::api_run),
        )
        .route("/trust/schools", get(trust::schools))
        .route("/trust/concerns", get(trust::lists::concerns_json))
        .route("/trust/alerts", get(trust::lists::alerts_json))
        .route("/trust/filtering", get(trust::filtering::json))
}

const CSS: &str = include_str!("../../static/palisade.css");
const HTMX: &str = include_str!("../../static/htmx-2.0.11.min.js");

/// Vendored static files, compiled into the binary.
pub fn assets() -> Router<AppState> {
    let cached = |ct: &'static str, body: &'static str| {
        (
            [
                (header::CONTENT_TYPE, ct),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            body,
        )
    };
    Router::new()
        .route(
            "/static/palisade.css",
            get(move || async move { cached("text/css; charset=utf-8", CSS) }),
        )
        .route(
            "/static/htmx-2.0.11.min.js",
            get(move || async move { cached("text/javascript; charset=utf-8", HTMX) }),
        )
}

/// Prometheus metrics, for scrapers on this machine only (the counts say what pupils try).
async fn metrics(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
) -> Result<axum::response::Response, crate::WebError> {
    use axum::response::IntoResponse;
    let local = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .is_some_and(|p| p.0.ip().is_loopback());
    if !local {
        return Err(crate::WebError::Forbidden);
    }
    let body = state
        .metrics
        .as_ref()
        .map(|render| render())
        .unwrap_or_default();
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response())
}
