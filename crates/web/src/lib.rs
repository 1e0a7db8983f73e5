//! Palisade's web app: server-rendered pages (askama, vendored htmx), the JSON API under
//! `/api/v1`, sign-in, sessions and CSRF. Handlers ask `policy::can` and the store; they never
//! decide policy themselves.

pub mod auth;
pub mod dashboard;
pub mod error;
pub mod host;
pub mod imports;
mod ops;
mod permits;
pub mod publish;
mod routes;
pub mod schools;
pub mod throttle;
pub mod tls;
mod views;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use error::{ErrorMessage, NeedsCode, NeedsLogin, NeedsNewPassword, NeedsSecondFactor};
use policy::Profile;
use std::sync::Arc;
use store::Store;

pub use error::WebError;
/// What the weekly monitoring report counts, for its mail (the page reads it too).
pub use routes::reports::weekly_facts;

/// Renders the Prometheus text exposition of everything running (set by the binary).
pub type MetricsRenderer = Arc<dyn Fn() -> String + Send + Sync>;

/// A future the binary hands back to a handler.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The running gateways' filtering, as the binary lets the web see and change it.
pub trait FilteringControl: Send + Sync {
    /// The profile in force: its `[filtering]` may be newer than the profile the web started
    /// with, after a reload. Shared, not copied: every page's menu asks.
    fn in_force(&self) -> Arc<Profile>;
    /// Where the profile is read from, in words for the page (a file, or a shipped profile).
    fn profile_file(&self) -> String;
    /// The school's entries or the device register changed: the gateways reload them.
    fn entries_changed(&self);
    /// Whether a filter is in force: until the lists have compiled, pupils' queries are
    /// refused (fail closed) and `/readyz` says the server is not ready.
    fn filter_in_force(&self) -> bool;
    /// Why the filter in force blocks `url` for `group`: (category, rule), or None when it
    /// does not (or no filter is loaded). Review requests take these, never the client's.
    fn blocked_by(&self, group: &str, url: &str) -> Option<(String, String)> {
        let _ = (group, url);
        None
    }
    /// Reads the profile file again and, if its `[filtering]` compiles and needs no restart,
    /// puts it in force and records it in the decision log with `permit`'s holder and `why`.
    /// The error says what was wrong, in words for the page.
    fn reload_profile<'a>(
        &'a self,
        permit: &'a policy::Permit,
        why: &'a str,
    ) -> BoxFuture<'a, Result<ProfileReload, String>>;
    /// Runs the filtering self-test through the running gateways now and stores it with
    /// `permit`: the run's id, or why it could not run, in words for the page.
    fn run_self_test<'a>(
        &'a self,
        permit: &'a policy::Permit,
    ) -> BoxFuture<'a, Result<i64, String>> {
        let _ = permit;
        Box::pin(async { Err("the filtering gateways are not running here".to_string()) })
    }
}

/// What a reload of the profile's filtering did.
#[derive(Debug, Clone)]
pub struct ProfileReload {
    pub recorded: store::FilteringRecorded,
    /// Changes outside `[filtering]` that wait for a restart, in words.
    pub waiting_for_restart: Vec<String>,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub profile: Arc<Profile>,
    /// `/metrics`, when the binary provides it.
    pub metrics: Option<MetricsRenderer>,
    /// The web proxy's address as browsers should use it (host:port), for `/proxy.pac`.
    pub proxy_address: Option<String>,
    /// The school CA's certificate (PEM), served at `/ca.pem` for devices to install.
    pub ca_certificate: Option<String>,
    /// The gateways' filtering, when they run: reloaded after a change to what the filter
    /// allows or blocks (a review approved, an entry added or removed, a device registered).
    pub filtering: Option<Arc<dyn FilteringControl>>,
    /// Failed sign-ins per source address and overall.
    pub sign_ins: Arc<throttle::SignInThrottle>,
    /// The names (`Host`) the app answers to.
    pub hosts: Arc<host::AllowedHosts>,
    /// Every school of the trust (and the trust's own row), served by the same app (empty
    /// for a single school).
    pub schools: schools::Schools,
    /// The trust, when the app serves one.
    pub trust: Option<Arc<schools::Trust>>,
    /// The demo's `--totp-optional`: nobody is held to the profile's
    /// `passwords.totp_required_for` (`serve` never sets it).
    pub totp_optional: bool,
    /// Imports of people previewed and waiting to be applied, or running.
    pub imports: Arc<imports::Imports>,
}

impl AppState {
    /// Whether holding `roles` requires a second factor at sign-in here.
    pub fn totp_required(&self, roles: policy::RoleSet) -> bool {
        !self.totp_optional && self.profile.passwords.totp_required(roles)
    }

    /// The profile whose `[filtering]` is in force: the gateways' after a reload, else the
    /// one the web started with.
    pub fn profile_in_force(&self) -> Arc<Profile> {
        match &self.filtering {
            Some(control) => control.in_force(),
            None => self.profile.clone(),
        }
    }

    /// Permission to change the filtering, asked about the section in force (its `changes_by`).
    pub fn filtering_permit(&self, user: &auth::CurrentUser) -> Result<policy::Permit, WebError> {
        let profile = self.profile_in_force();
        user.permit(
            policy::Action::ChangeFiltering,
            profile.filtering.as_object(),
        )
    }
}

/// Largest request body: the profile's attachment limit plus room for the form's fields.
fn body_limit(profile: &Profile) -> usize {
    usize::try_from(profile.concerns.max_attachment_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(1024 * 1024)
}

/// The whole app: pages, API, static files, with CSRF and error rendering around them.
pub fn router(state: AppState) -> Router {
    let limit = body_limit(&state.profile);
    Router::new()
        .merge(routes::pages())
        .nest("/api/v1", routes::api())
        .merge(routes::assets())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::csrf_guard,
        ))
        .layer(middleware::from_fn_with_state(limit, drain_unread_body))
        .layer(middleware::from_fn(render_errors))
        .layer(middleware::from_fn(security_headers))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            host::host_guard,
        ))
        .with_state(state)
}

/// Reads what is left of a request's body (up to `limit` bytes, and throws it away) before
/// the answer goes. A refusal given while the client is still sending (a sign-in redirect, a
/// CSRF refusal, a 404 for an upload) would otherwise close the connection under it, and the
/// client would see a broken pipe or a reset instead of the answer. The handler reads the body
/// as it streams in; only the part it left unread is drained here, a chunk at a time, so a
/// refused upload costs no memory. A body larger than `limit` is left unread (the connection
/// closes), as the handlers' own limit would.
async fn drain_unread_body(
    axum::extract::State(limit): axum::extract::State<usize>,
    req: Request,
    next: Next,
) -> Response {
    use futures_util::StreamExt;
    if req.method() == axum::http::Method::GET || req.method() == axum::http::Method::HEAD {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let data = std::sync::Arc::new(tokio::sync::Mutex::new(body.into_data_stream()));
    let feed = futures_util::stream::unfold(data.clone(), |data| async move {
        let chunk = data.lock().await.next().await;
        chunk.map(|c| (c, data))
    });
    let req = Request::from_parts(parts, axum::body::Body::from_stream(feed));
    let res = next.run(req).await;
    let mut rest = data.lock().await;
    let mut drained = 0usize;
    while drained <= limit {
        match rest.next().await {
            Some(Ok(chunk)) => drained += chunk.len(),
            Some(Err(_)) | None => break,
        }
    }
    res
}

/// Serves the app on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        schools::app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Turns error responses into JSON for the API, a redirect to sign-in or an HTML page.
async fn render_errors(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let res = next.run(req).await;
    let Some(ErrorMessage(message)) = res.extensions().get::<ErrorMessage>().cloned() else {
        return res;
    };
    let status = res.status();
    let retry_after = res.headers().get(header::RETRY_AFTER).cloned();
    if path.starts_with("/api/") {
        let mut out = (status, axum::Json(serde_json::json!({ "error": message }))).into_response();
        if let Some(v) = retry_after {
            out.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return out;
    }
    if res.extensions().get::<NeedsLogin>().is_some() {
        let mut next_url = path;
        if let Some(q) = query {
            next_url.push('?');
            next_url.push_str(&q);
        }
        return Redirect::to(&format!("/login?next={}", urlencode(&next_url))).into_response();
    }
    if res.extensions().get::<NeedsNewPassword>().is_some() {
        return Redirect::to("/account?expired=1").into_response();
    }
    if res.extensions().get::<NeedsSecondFactor>().is_some() {
        return Redirect::to("/account/two-factor").into_response();
    }
    if res.extensions().get::<NeedsCode>().is_some() {
        let mut next_url = path;
        if let Some(q) = query {
            next_url.push('?');
            next_url.push_str(&q);
        }
        return Redirect::to(&format!("/aup?return={}", urlencode(&next_url))).into_response();
    }
    let mut out = views::error_page(status, &message);
    if let Some(v) = retry_after {
        out.headers_mut().insert(header::RETRY_AFTER, v);
    }
    out
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The Content-Security-Policy of every page: scripts, styles and images from Palisade itself
/// (inline style allowed, for htmx), no framing, forms posted only back to Palisade.
const PAGE_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'";

/// Headers every response carries: no framing, no sniffing, no referrer leaks, no caching of
/// confidential pages.
async fn security_headers(req: Request, next: Next) -> Response {
    let is_static = req.uri().path().starts_with("/static/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    if !is_static {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// A plain 404 for unknown paths (rendered like every other error).
async fn not_found() -> WebError {
    WebError::NotFound
}
