//! Sign-in with the school's accounts (`[sign_in.oidc]`): `GET /login/oidc` sends the
//! browser to the provider, `GET /login/oidc/callback` takes it back and signs in. Without
//! `[sign_in.oidc]` both are 404. See `auth/oidc.rs` for the flow and its checks.

use super::session::{login_page_with_error, safe_next};
use crate::AppState;
use crate::auth::{self, oidc as flow};
use crate::error::WebError;
use crate::throttle::SourceAddr;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use policy::sign_in::OidcPolicy;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct StartQuery {
    #[serde(default)]
    next: Option<String>,
}

/// `GET /login/oidc`: to the provider, with a fresh state, nonce and PKCE challenge.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> Result<Response, WebError> {
    let oidc = configured(&state)?;
    let next = safe_next(q.next.as_deref());
    let redirect = redirect_url(&oidc, &headers);
    match flow::begin(&state, &oidc, &redirect, &next).await? {
        Ok(begun) => Ok((
            [(header::SET_COOKIE, flow::state_cookie(&begun.state))],
            Redirect::to(&begun.authorize_url),
        )
            .into_response()),
        Err(refused) => Ok(refusal(&state, refused, next)),
    }
}

#[derive(Deserialize, Default)]
pub struct CallbackQuery {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// The page that ends a sign-in: it sets the session cookie and moves on to `next` from
/// here. A redirect would not do: the session cookie is `SameSite=Strict`, and a redirect
/// chain that began at the provider is cross-site, so the browser would leave the new cookie
/// off the next page and show the sign-in again; a navigation this page starts is same-site.
#[derive(Template)]
#[template(
    source = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={{ next }}">
<title>Signed in</title></head>
<body><p id="signed-in">Signed in. <a href="{{ next }}">Continue</a></p></body></html>
"#,
    ext = "html"
)]
struct SignedInPage {
    next: String,
}

/// `GET /login/oidc/callback`: the provider's answer. A state works once and for ten
/// minutes, and only in the browser that began the sign-in.
pub async fn callback(
    State(state): State<AppState>,
    SourceAddr(source): SourceAddr,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, WebError> {
    let oidc = configured(&state)?;
    let cookie_state = auth::cookie(&headers, flow::STATE_COOKIE);
    let back = flow::Callback {
        state: q.state.as_deref(),
        code: q.code.as_deref(),
        error: q.error.as_deref(),
        cookie_state: cookie_state.as_deref(),
    };
    match flow::finish(&state, &oidc, source, back).await? {
        Ok((session, next)) => {
            let page = SignedInPage {
                next: safe_next(Some(&next)),
            }
            .render()?;
            Ok((
                AppendHeaders([
                    (header::SET_COOKIE, auth::session_cookie(&session.token)),
                    (header::SET_COOKIE, flow::clear_state_cookie()),
                ]),
                Html(page),
            )
                .into_response())
        }
        Err(refused) => Ok((
            [(header::SET_COOKIE, flow::clear_state_cookie())],
            refusal(&state, refused, "/".into()),
        )
            .into_response()),
    }
}

/// The profile's provider; 404 without one.
fn configured(state: &AppState) -> Result<OidcPolicy, WebError> {
    state.profile.sign_in.oidc.clone().ok_or(WebError::NotFound)
}

/// The sign-in page, saying why the provider's way did not work (the password form is still
/// there for those who have one).
fn refusal(state: &AppState, refused: flow::OidcRefused, next: String) -> Response {
    let status = match refused {
        flow::OidcRefused::Provider => StatusCode::BAD_GATEWAY,
        flow::OidcRefused::StateOver => StatusCode::BAD_REQUEST,
        flow::OidcRefused::Denied
        | flow::OidcRefused::Email(_)
        | flow::OidcRefused::NoAccount { .. } => StatusCode::FORBIDDEN,
    };
    login_page_with_error(state, status, refused.to_string(), next, String::new())
}

/// Where the provider sends the browser back: `sign_in.oidc.redirect_url`, else this
/// request's own name (`Host`, already checked against the names the app answers to) with
/// `/login/oidc/callback`, over HTTPS unless the name is a loopback one (the session cookie is
/// `Secure`, which browsers accept over plain HTTP on loopback only) or a proxy in front says
/// `X-Forwarded-Proto: http`. The provider only sends people to the addresses registered with
/// it, so a wrong guess fails there rather than anywhere else.
fn redirect_url(oidc: &OidcPolicy, headers: &HeaderMap) -> String {
    if let Some(url) = &oidc.redirect_url {
        return url.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let forwarded = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .map(str::trim);
    let scheme = match forwarded {
        Some("https") => "https",
        Some("http") => "http",
        _ if is_loopback(host) => "http",
        _ => "https",
    };
    format!("{scheme}://{host}{}", flow::CALLBACK_PATH)
}

/// Whether a `Host` value names this machine's loopback.
fn is_loopback(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redirect_follows_the_request_over_https_except_on_loopback() {
        let oidc = OidcPolicy {
            provider: policy::sign_in::Provider::Google,
            issuer: "https://accounts.google.com".into(),
            client_id: "id".into(),
            client_secret_file: "/s".into(),
            domains: vec!["holt.norfolk.sch.uk".into()],
            redirect_url: None,
        };
        let with_host = |h: &str| {
            let mut m = HeaderMap::new();
            m.insert(
                header::HOST,
                h.parse().unwrap_or(header::HeaderValue::from_static("x")),
            );
            m
        };
        assert_eq!(
            redirect_url(&oidc, &with_host("127.0.0.1:8080")),
            "http://127.0.0.1:8080/login/oidc/callback"
        );
        assert_eq!(
            redirect_url(&oidc, &with_host("[::1]:8080")),
            "http://[::1]:8080/login/oidc/callback"
        );
        assert_eq!(
            redirect_url(&oidc, &with_host("palisade.holt.sch.uk")),
            "https://palisade.holt.sch.uk/login/oidc/callback"
        );
        let fixed = OidcPolicy {
            redirect_url: Some("https://p.example/login/oidc/callback".into()),
            ..oidc
        };
        assert_eq!(
            redirect_url(&fixed, &with_host("127.0.0.1")),
            "https://p.example/login/oidc/callback"
        );
    }
}
