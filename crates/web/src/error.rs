//! The one place where errors become HTTP statuses and pages. The domain crates never see a
//! status code; handlers return `WebError` and this module decides how it looks.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use store::StoreError;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No live session: API 401, pages redirect to sign-in.
    #[error("please sign in")]
    Unauthenticated,
    /// Wrong username or password.
    #[error("wrong username or password")]
    BadCredentials,
    /// Too many failed sign-ins.
    #[error("this account is locked after too many failed sign-ins; try again later")]
    Locked,
    /// Too many sign-ins (or password checks) at once, or from one address: come back after
    /// `Retry-After` seconds.
    #[error("{0}")]
    Busy(String),
    /// Too many failed sign-ins from one address or overall: wait `seconds`.
    #[error("{message}")]
    Throttled { seconds: u64, message: String },
    /// Missing or wrong CSRF token.
    #[error("the form's security token is missing or out of date; reload the page and try again")]
    Csrf,
    /// The school's rotation rule requires a new password first.
    #[error("your password has expired under the school's password policy; choose a new one")]
    PasswordExpired,
    /// Someone said the password may be known: a new one before anything else (the API's
    /// sign-in is refused until then).
    #[error(
        "Palisade was told this password may be known to someone else: choose a new one at /account before anything else"
    )]
    MustChangePassword,
    /// The profile requires a second factor of the user's role and none is enrolled yet.
    #[error(
        "the school's password policy requires two-factor sign-in for your role: enrol an authenticator app at /account/two-factor first"
    )]
    SecondFactorRequired,
    /// The account signs in with a code too, and none came (the API's `totp`).
    #[error(
        "this account signs in with a code from its authenticator app too: send it (or a recovery code) as `totp`"
    )]
    CodeRequired,
    /// A wrong second-factor code, or one already used.
    #[error(
        "that code is wrong or was already used: wait for the next code in your app, or use a recovery code"
    )]
    WrongCode,
    /// The profile's `sign_in.password_for` leaves the person's roles out: they sign in
    /// through the school's OpenID Connect provider.
    #[error(
        "your school signs you in with your school account, not a Palisade password: use the \"Sign in with\" button on the sign-in page"
    )]
    PasswordNotAllowed,
    /// The profile has staff sign the current code of conduct before anything else.
    #[error("sign the school's current staff code of conduct first, at /aup")]
    CodeUnsigned,
    /// Not allowed, and existence is not secret.
    #[error("you are not allowed to do that")]
    Forbidden,
    /// Not there, or not yours to know about.
    #[error("not found")]
    NotFound,
    /// The input is wrong; the message names the field.
    #[error("{0}")]
    BadRequest(String),
    /// The body is too large.
    #[error("{0}")]
    TooLarge(String),
    /// The change conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// A bug or an outage; details go to the log, not to the user.
    #[error("something went wrong on our side; it has been logged")]
    Internal(String),
}

impl WebError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::Unauthenticated
            | WebError::BadCredentials
            | WebError::CodeRequired
            | WebError::WrongCode => StatusCode::UNAUTHORIZED,
            WebError::Locked | WebError::Busy(_) | WebError::Throttled { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            WebError::Csrf
            | WebError::Forbidden
            | WebError::PasswordExpired
            | WebError::MustChangePassword
            | WebError::SecondFactorRequired
            | WebError::PasswordNotAllowed
            | WebError::CodeUnsigned => StatusCode::FORBIDDEN,
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(p) => WebError::BadRequest(p.to_string()),
            StoreError::Conflict(m) => WebError::Conflict(m),
            StoreError::NotFound { .. } => WebError::NotFound,
            StoreError::Busy => WebError::Busy(StoreError::Busy.to_string()),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<policy::PolicyError> for WebError {
    fn from(e: policy::PolicyError) -> Self {
        WebError::BadRequest(e.to_string())
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(format!("template: {e}"))
    }
}

impl From<policy::Decision> for WebError {
    fn from(d: policy::Decision) -> Self {
        match d {
            policy::Decision::Hide => WebError::NotFound,
            _ => WebError::Forbidden,
        }
    }
}

/// What a 429 for too much sign-in work tells the client to wait, in seconds.
pub const RETRY_AFTER_SECONDS: &str = "2";

/// Marks a response as coming from the JSON API, so errors render as JSON.
#[derive(Clone, Copy)]
pub struct ApiRequest;

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let status = self.status();
        // Which form the error takes is settled by `render_errors`, which knows the path.
        let mut res = (status, self.to_string()).into_response();
        res.extensions_mut().insert(ErrorMessage(self.to_string()));
        if matches!(self, WebError::Unauthenticated) {
            res.extensions_mut().insert(NeedsLogin);
        }
        if matches!(
            self,
            WebError::PasswordExpired | WebError::MustChangePassword
        ) {
            res.extensions_mut().insert(NeedsNewPassword);
        }
        if matches!(self, WebError::SecondFactorRequired) {
            res.extensions_mut().insert(NeedsSecondFactor);
        }
        if matches!(self, WebError::CodeUnsigned) {
            res.extensions_mut().insert(NeedsCode);
        }
        if matches!(self, WebError::Busy(_)) {
            res.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        if let WebError::Throttled { seconds, .. } = &self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(*seconds));
        }
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        res
    }
}

/// The user-facing message of an error response.
#[derive(Clone)]
pub struct ErrorMessage(pub String);

/// Set when the password must change: pages redirect to the account page.
#[derive(Clone, Copy)]
pub struct NeedsNewPassword;

/// Set when a second factor must be enrolled first: pages redirect to its page.
#[derive(Clone, Copy)]
pub struct NeedsSecondFactor;

/// Set when the staff code of conduct must be signed first: pages redirect to it.
#[derive(Clone, Copy)]
pub struct NeedsCode;

/// Set on 401 responses: pages redirect to the sign-in page.
#[derive(Clone, Copy)]
pub struct NeedsLogin;
