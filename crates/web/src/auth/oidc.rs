//! Signing in with the school's accounts: OpenID Connect, the authorization code flow with
//! PKCE, against the profile's `[sign_in.oidc]` provider.
//!
//! `begin` keeps the sign-in in the database (a hash of its `state`, the nonce and the PKCE
//! verifier; ten minutes, used once) and sends the browser to the provider; `finish` takes it
//! back by the state the provider returns, which must also be the one the browser's own cookie
//! carries (so nobody can hand someone else a finished sign-in), exchanges the code, verifies
//! the ID token (signature against the provider's keys, issuer, audience, nonce and expiry on
//! the injected clock), asks the policy whether its email may sign in, finds the person by
//! email and refuses an account the password's sign-in would refuse. The provider does the
//! second factor: no Palisade code is asked for.
//!
//! The provider's discovery document is read at the first sign-in (never at startup: an
//! unreachable provider must not stop Palisade) and kept for an hour.

use super::sign_in::{NewSession, open_session_through};
use super::{random_token, set_cookie, token_hash};
use crate::AppState;
use crate::error::WebError;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AsyncHttpClient, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use policy::sign_in::{EmailRefused, OidcPolicy};
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};
use store::sign_ins::FailureReason;

/// How long the provider may take to send the browser back.
pub const STATE_MINUTES: i64 = 10;
/// The cookie that ties a sign-in's `state` to the browser that began it. `SameSite=Lax`,
/// not `Strict`: the provider's redirect back is a cross-site navigation, which carries Lax
/// cookies and not Strict ones.
pub const STATE_COOKIE: &str = "palisade_oidc";
/// The callback's path under the app.
pub const CALLBACK_PATH: &str = "/login/oidc/callback";
/// How long a discovered provider's metadata (and keys) are used before being read again.
const METADATA_FOR: Duration = Duration::from_secs(3600);
/// Largest answer read from the provider.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Why a sign-in through the provider did not go through; each says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OidcRefused {
    /// The provider could not be reached or answered wrongly (the detail is logged).
    Provider,
    /// No sign-in is waiting for this state: replayed, out of time, or begun in another
    /// browser.
    StateOver,
    /// The provider said no (the person cancelled, or the provider refused them).
    Denied,
    /// The policy refuses the email the provider vouched for.
    Email(EmailRefused),
    /// No active account here has that email.
    NoAccount { email: String },
}

impl std::fmt::Display for OidcRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OidcRefused::Provider => f.write_str(
                "The school's sign-in service could not be reached or answered wrongly. Try again in a few minutes, or sign in with your password if you have one.",
            ),
            OidcRefused::StateOver => f.write_str(
                "That sign-in was already used or took too long. Start again with the button below.",
            ),
            OidcRefused::Denied => f.write_str("The sign-in was cancelled or refused."),
            OidcRefused::Email(why) => write!(f, "Cannot sign in: {why}."),
            OidcRefused::NoAccount { email } => write!(
                f,
                "There is no active Palisade account for {email}. Ask the school office."
            ),
        }
    }
}

/// The `Set-Cookie` value that ties a sign-in's state to this browser.
pub fn state_cookie(state: &str) -> String {
    set_cookie(STATE_COOKIE, state, Some(STATE_MINUTES * 60))
        .replace("SameSite=Strict", "SameSite=Lax")
}

/// The `Set-Cookie` value that ends it.
pub fn clear_state_cookie() -> String {
    set_cookie(STATE_COOKIE, "", Some(0)).replace("SameSite=Strict", "SameSite=Lax")
}

/// Where to send the browser to begin, and the state for its cookie.
pub struct Begun {
    pub authorize_url: String,
    pub state: String,
}

/// Begins a sign-in: the provider's authorization URL with a fresh state, nonce and PKCE
/// challenge, the provider sending the browser back to `redirect_url`, and `next` (a local
/// path) the page to land on.
pub async fn begin(
    state: &AppState,
    oidc: &OidcPolicy,
    redirect_url: &str,
    next: &str,
) -> Result<Result<Begun, OidcRefused>, WebError> {
    let Some(client) = client(oidc, redirect_url).await else {
        return Ok(Err(OidcRefused::Provider));
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let csrf = CsrfToken::new(random_token());
    let nonce = Nonce::new(random_token());
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || csrf,
            move || nonce,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    state
        .store
        .start_oidc_login(
            &store::oidc::NewOidcLogin {
                state_hash: &token_hash(csrf.secret()),
                nonce: nonce.secret(),
                pkce_verifier: verifier.secret(),
                next_path: next,
                redirect_url,
            },
            chrono::Duration::minutes(STATE_MINUTES),
        )
        .await?;
    Ok(Ok(Begun {
        authorize_url: url.to_string(),
        state: csrf.secret().clone(),
    }))
}

/// What the provider sent the browser back with.
pub struct Callback<'a> {
    pub state: Option<&'a str>,
    pub code: Option<&'a str>,
    pub error: Option<&'a str>,
    /// The state this browser's cookie carries.
    pub cookie_state: Option<&'a str>,
}

/// Finishes a sign-in: the new session and the path to land on.
pub async fn finish(
    state: &AppState,
    oidc: &OidcPolicy,
    source: Option<IpAddr>,
    back: Callback<'_>,
) -> Result<Result<(NewSession, String), OidcRefused>, WebError> {
    let Some(returned) = back.state.filter(|s| !s.is_empty()) else {
        return Ok(Err(OidcRefused::StateOver));
    };
    // Taken (and so used up) before anything else is looked at: a state works once.
    let pending = state.store.take_oidc_login(&token_hash(returned)).await?;
    let Some(pending) = pending else {
        return Ok(Err(OidcRefused::StateOver));
    };
    if back.cookie_state != Some(returned) {
        return Ok(Err(OidcRefused::StateOver));
    }
    if let Some(error) = back.error {
        tracing::info!(error = %cut(error), "the OpenID provider refused a sign-in");
        return Ok(Err(OidcRefused::Denied));
    }
    let Some(code) = back.code.filter(|c| !c.is_empty()) else {
        return Ok(Err(OidcRefused::Denied));
    };
    let Some(client) = client(oidc, &pending.redirect_url).await else {
        return Ok(Err(OidcRefused::Provider));
    };
    let http = http_client();
    let exchanged = match client.exchange_code(AuthorizationCode::new(code.to_string())) {
        Ok(request) => {
            request
                .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
                .request_async(&http)
                .await
        }
        Err(e) => {
            tracing::warn!(error = %e, "the OpenID provider has no token endpoint");
            return Ok(Err(OidcRefused::Provider));
        }
    };
    let tokens = match exchanged {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "the OpenID provider refused the sign-in's code");
            return Ok(Err(OidcRefused::Provider));
        }
    };
    let Some(id_token) = tokens.id_token() else {
        tracing::warn!("the OpenID provider sent no ID token");
        return Ok(Err(OidcRefused::Provider));
    };
    let clock = state.store.clock().clone();
    let verifier = client.id_token_verifier().set_time_fn(move || clock.now());
    let claims = match id_token.claims(&verifier, &Nonce::new(pending.nonce.clone())) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "an ID token did not verify");
            return Ok(Err(OidcRefused::Provider));
        }
    };
    let email = claims.email().map(|e| e.as_str().to_string());
    let email = match oidc.email_allowed(email.as_deref(), claims.email_verified()) {
        Ok(email) => email,
        Err(why) => {
            refused(state, source, email.as_deref()).await?;
            return Ok(Err(OidcRefused::Email(why)));
        }
    };
    // One person with that email, with an account the password's sign-in would take too.
    let people = state.store.people_by_email(&email).await?;
    let person = match people.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    };
    let usable = match &person {
        Some(p) => state.store.usable_account(p).await?.is_some(),
        None => false,
    };
    let Some(person) = person.filter(|_| usable) else {
        refused(state, source, Some(&email)).await?;
        return Ok(Err(OidcRefused::NoAccount { email }));
    };
    let session = open_session_through(state, person, false, Some("oidc")).await?;
    Ok(Ok((session, pending.next_path)))
}

/// Records a refused identity in the register of failed sign-ins.
async fn refused(
    state: &AppState,
    source: Option<IpAddr>,
    email: Option<&str>,
) -> Result<(), WebError> {
    state
        .store
        .record_sign_in_failure(
            FailureReason::OidcRefused,
            source,
            email,
            Some(CALLBACK_PATH),
        )
        .await?;
    Ok(())
}

fn cut(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(100).collect()
}

/// A client discovered from the provider's metadata: the authorization endpoint is there,
/// the token and user info endpoints may be.
type Discovered = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The client for the profile's provider, sending people back to `redirect_url`; `None`
/// (logged) when the provider cannot be discovered or the secret cannot be read.
async fn client(oidc: &OidcPolicy, redirect_url: &str) -> Option<Discovered> {
    let metadata = metadata(&oidc.issuer).await?;
    let secret = match std::fs::read_to_string(&oidc.client_secret_file) {
        Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
        Ok(_) => {
            tracing::warn!(file = %oidc.client_secret_file, "sign_in.oidc.client_secret_file is empty");
            return None;
        }
        Err(e) => {
            tracing::warn!(file = %oidc.client_secret_file, error = %e, "cannot read sign_in.oidc.client_secret_file");
            return None;
        }
    };
    let redirect = match RedirectUrl::new(redirect_url.to_string()) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(url = %redirect_url, error = %e, "the OpenID redirect URL is not a URL");
            return None;
        }
    };
    Some(
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(oidc.client_id.clone()),
            Some(ClientSecret::new(secret)),
        )
        .set_redirect_uri(redirect),
    )
}

/// The discovered providers, by issuer, with when they were read.
static DISCOVERED: LazyLock<Mutex<HashMap<String, (Instant, CoreProviderMetadata)>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The provider's metadata and keys: from the cache while fresh, else discovered (and kept);
/// `None` (logged, not kept) when discovery fails.
async fn metadata(issuer: &str) -> Option<CoreProviderMetadata> {
    if let Ok(cache) = DISCOVERED.lock()
        && let Some((at, m)) = cache.get(issuer)
        && at.elapsed() < METADATA_FOR
    {
        return Some(m.clone());
    }
    let url = match IssuerUrl::new(issuer.to_string()) {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(%issuer, error = %e, "sign_in.oidc.issuer is not a URL");
            return None;
        }
    };
    let http = http_client();
    match CoreProviderMetadata::discover_async(url, &http).await {
        Ok(m) => {
            if let Ok(mut cache) = DISCOVERED.lock() {
                cache.insert(issuer.to_string(), (Instant::now(), m.clone()));
            }
            Some(m)
        }
        Err(e) => {
            tracing::warn!(%issuer, error = %e, "cannot discover the OpenID provider");
            None
        }
    }
}

/// The workspace's HTTP client for the provider: short timeouts, and no redirects followed
/// (the token endpoint's answer must come from the token endpoint).
fn http_client() -> Http {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Http(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default(),
    )
}

/// `openidconnect`'s HTTP calls over reqwest.
struct Http(reqwest::Client);

/// A failed call to the provider.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct HttpError(String);

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut response = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(|e| HttpError(e.to_string()))?;
            let mut out = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                out = out.header(name, value);
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| HttpError(e.to_string()))?
            {
                if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(HttpError("the provider's answer is too large".into()));
                }
                bytes.extend_from_slice(&chunk);
            }
            out.body(bytes).map_err(|e| HttpError(e.to_string()))
        })
    }
}
