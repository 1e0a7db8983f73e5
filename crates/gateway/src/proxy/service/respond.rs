//! The proxy's own answers: block pages, sign-in and policy refusals, and plain pages, all
//! with headers that keep them inert.

use super::*;

impl Shared {
    /// 407: the browser asks for the user's Palisade username and password.
    pub(super) fn refuse(&self, refusal: Refusal) -> Response<Body> {
        let message = match refusal {
            Refusal::SignIn => {
                "Sign in with your school username and password to use the internet."
            }
            Refusal::Locked => {
                "This account is locked after too many wrong passwords. Try again later, or ask the network manager."
            }
            Refusal::Expired => {
                "Your password has expired. Change it in Palisade (My account), then sign in again."
            }
            Refusal::Known => {
                "Palisade was told your password may be known to someone else. Choose a new one in Palisade (My account), then sign in again."
            }
        };
        let mut res = page(
            StatusCode::PROXY_AUTHENTICATION_REQUIRED,
            "Sign in to use the internet",
            message,
        );
        let realm = self
            .config
            .login
            .as_ref()
            .map(|l| l.realm.replace('"', "'"))
            .unwrap_or_default();
        if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\", charset=\"UTF-8\""))
        {
            res.headers_mut().insert(header::PROXY_AUTHENTICATE, v);
        }
        res
    }

    /// Sends the browser to the policy, which links back to `url` once accepted.
    pub(super) fn aup_redirect(&self, url: &str) -> Response<Body> {
        let Some(web) = &self.config.web_url else {
            return page(
                StatusCode::FORBIDDEN,
                "Acceptable Use Policy",
                "Please read and accept the school's Acceptable Use Policy first.",
            );
        };
        let location = format!(
            "{}/aup?return={}",
            web.trim_end_matches('/'),
            query_value(url)
        );
        let mut res = page(
            StatusCode::FOUND,
            "Acceptable Use Policy",
            "Please read and accept the school's Acceptable Use Policy first.",
        );
        if let Ok(v) = HeaderValue::from_str(&location) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        res
    }

    pub(super) fn block_response(
        &self,
        peer: SocketAddr,
        group: &str,
        url: &str,
        category: &str,
        rule: &str,
    ) -> Response<Body> {
        let at = self
            .config
            .clock
            .school_now()
            .format("%Y-%m-%d %H:%M")
            .to_string();
        let who = peer.ip().to_string();
        html(
            StatusCode::FORBIDDEN,
            block_page(&Blocked {
                address: url,
                category,
                rule,
                who: &who,
                group,
                at: &at,
                web_url: self.config.web_url.as_deref(),
            }),
        )
    }
}

pub(super) fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

pub(super) fn with_type(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> Response<Body> {
    let mut res = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The proxy's own pages run nothing, load nothing, are framed by nobody and say nothing of
    // where the user came from (the block page's address may hold a search).
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    res
}

/// The Content-Security-Policy of the proxy's pages: only their inline style.
pub(super) const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub(super) fn html(status: StatusCode, body: String) -> Response<Body> {
    with_type(status, "text/html; charset=utf-8", body)
}

pub(super) fn text(status: StatusCode, body: &str) -> Response<Body> {
    with_type(status, "text/plain; charset=utf-8", body.to_string())
}

pub(super) fn page(status: StatusCode, title: &str, message: &str) -> Response<Body> {
    html(status, message_page(title, message))
}

pub(super) fn not_ready() -> Response<Body> {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The filter is starting",
        "The school's internet filter is loading its lists. Try again in a moment.",
    )
}
