//! Plain HTTP: an allowed request forwarded to its origin (or the parent proxy), with the
//! hop-by-hop headers stripped.

use super::*;

impl Shared {
    /// Sends an allowed request on: to the parent if there is one, to `connect_to` (a
    /// SafeSearch endpoint) if given, else to the host it names. The body streams both ways.
    pub(super) async fn forward(
        &self,
        mut req: Request<Incoming>,
        authority: &Authority,
        connect_to: Option<&str>,
    ) -> Result<Response<Body>, Failed> {
        // The host judged is the request target's, so that is the one sent (RFC 9112 section
        // 3.2.2): a client's own `Host` would reach a host the filter never saw.
        outgoing_headers(req.headers_mut(), authority.as_str());
        let target = match (self.config.parent, connect_to) {
            (Some(parent), _) => parent.to_string(),
            (None, Some(t)) => match authority.port_u16() {
                Some(p) => format!("{t}:{p}"),
                None => t.to_string(),
            },
            (None, None) => authority.as_str().to_string(),
        };
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let Ok(uri) = Uri::try_from(format!("http://{target}{path}")) else {
            return Err(Failed::Page(page(
                StatusCode::BAD_REQUEST,
                "Bad address",
                "The address could not be forwarded.",
            )));
        };
        *req.uri_mut() = uri;
        match self.client.request(req).await {
            Ok(res) => Ok(from_upstream(res)),
            Err(e) => {
                if let Some(why) = refusal_in(&e) {
                    return Err(Failed::Refused(why));
                }
                tracing::debug!(error = %e, host = %authority, "proxy upstream failed");
                Err(Failed::Page(page(
                    StatusCode::BAD_GATEWAY,
                    "The site could not be reached",
                    &format!("{} did not answer.", authority.host()),
                )))
            }
        }
    }
}

/// The headers of a request as it goes on: this hop's own removed, `Host` set to `authority`
/// (the host the filter judged, whatever the client wrote) and our `Via` added.
pub(super) fn outgoing_headers(headers: &mut HeaderMap, authority: &str) {
    strip_hop_by_hop(headers);
    match HeaderValue::from_str(authority) {
        Ok(v) => {
            headers.insert(header::HOST, v);
        }
        Err(_) => {
            headers.remove(header::HOST);
        }
    }
    headers.append(header::VIA, HeaderValue::from_static("1.1 palisade"));
}

/// An origin's answer as the client gets it: this hop's headers removed, the body streamed.
pub(super) fn from_upstream(res: Response<Incoming>) -> Response<Body> {
    let (mut parts, body) = res.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Response::from_parts(parts, body.boxed())
}

/// Headers that belong to one hop and must not be passed on (RFC 9110 section 7.6.1), plus
/// any the `Connection` header names.
pub(super) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
    headers.remove("proxy-connection");
    headers.remove("keep-alive");
}
