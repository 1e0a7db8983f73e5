//! The names the web app answers to. A page on `evil.example` whose name an attacker points at
//! the school's server (DNS rebinding) sends `Host: evil.example`; answering only the
//! configured names keeps such a page from reading the app or `/metrics`.

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;

/// The allow-list: configured names (lower case), plus IP literals as below.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    names: Vec<String>,
    listen: IpAddr,
}

impl AllowedHosts {
    /// `names` besides `localhost`; IP literals: the loopback addresses and `listen`, or any
    /// address when the app listens on a wildcard (an IP literal cannot be rebound).
    pub fn new(names: Vec<String>, listen: IpAddr) -> AllowedHosts {
        let mut names: Vec<String> = names
            .into_iter()
            .map(|n| n.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        names.push("localhost".into());
        AllowedHosts { names, listen }
    }

    /// Whether a `Host` value (name or address, with or without a port) is allowed.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim();
        let name = if let Some(rest) = host.strip_prefix('[') {
            // [v6]:port
            match rest.split_once(']') {
                Some((addr, _)) => addr,
                None => return false,
            }
        } else {
            match host.rsplit_once(':') {
                Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
                _ => host,
            }
        };
        if let Ok(ip) = name.parse::<IpAddr>() {
            return ip.is_loopback() || ip == self.listen || self.listen.is_unspecified();
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.names.contains(&name)
    }
}

/// Middleware: a request whose `Host` (or HTTP/2 authority) is not allowed gets 421.
pub async fn host_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    match host {
        Some(h) if state.hosts.allows(&h) => next.run(req).await,
        Some(_) => (
            StatusCode::MISDIRECTED_REQUEST,
            "this server does not answer to that name; use the school's address for Palisade\n",
        )
            .into_response(),
        None => (StatusCode::BAD_REQUEST, "the request names no Host\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_configured_names_and_local_addresses_are_allowed() {
        let h = AllowedHosts::new(
            vec!["Palisade.School.example".into()],
            "10.0.0.5".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
        );
        for ok in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:8080",
            "10.0.0.5:8080",
            "palisade.school.example",
            "palisade.school.example.:443",
        ] {
            assert!(h.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "10.0.0.6",
            "[::1",
            "",
            "localhost.evil",
        ] {
            assert!(!h.allows(bad), "{bad}");
        }
        let wildcard = AllowedHosts::new(vec![], IpAddr::from([0, 0, 0, 0]));
        assert!(wildcard.allows("192.168.1.9:8080"));
        assert!(!wildcard.allows("evil.example"));
    }
}
