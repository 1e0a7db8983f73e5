//! The filtering pages: the query log (with a live tail) and per-group statistics, for the
//! safeguarding leads and the network manager.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::views::{
    Chrome, DayStats, GroupStats, NetworkStatsPage, QueriesPage, QueryRow, QueryRowsPartial,
    render, when,
};
use axum::extract::{Query, State};
use axum::response::Response;
use events::LogVerdict;
use policy::{Action, Object};
use serde::Deserialize;
use store::AccessFilter;

const PAGE: i64 = 200;

#[derive(Deserialize, Default, serde::Serialize)]
pub struct LogQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    user: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    device: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    group: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    verdict: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    category: String,
    /// `YYYY-MM-DDTHH:MM` from the form, local to the browser; compared as UTC text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    since: String,
    #[serde(default, skip_serializing)]
    before: Option<i64>,
    #[serde(default, skip_serializing)]
    partial: Option<String>,
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

pub async fn queries(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<LogQuery>,
) -> Result<Response, WebError> {
    user.permit(Action::ViewAccessLog, Object::School)?;
    let verdict = match q.verdict.as_str() {
        "" => None,
        v => Some(
            LogVerdict::parse(v)
                .ok_or_else(|| WebError::BadRequest(format!("verdict: `{v}` is not a verdict")))?,
        ),
    };
    let since = match opt(&q.since) {
        Some(s) if s.len() == 16 && s.as_bytes().get(10) == Some(&b'T') => {
            Some(format!("{s}:00.000Z"))
        }
        Some(s) => {
            return Err(WebError::BadRequest(format!(
                "since: `{s}` must be a date and time"
            )));
        }
        None => None,
    };
    let filter = AccessFilter {
        username: opt(&q.user),
        device: opt(&q.device),
        group_name: opt(&q.group),
        verdict,
        category: opt(&q.category),
        since,
        before_id: q.before,
    };
    let found = state.store.access_log(&filter, PAGE).await?;
    let older = (found.len() as i64 == PAGE)
        .then(|| found.last().map(|r| r.id))
        .flatten();
    let rows: Vec<QueryRow> = found
        .into_iter()
        .map(|r| {
            let e = r.event;
            QueryRow {
                at: when(&e.at),
                source: e.source,
                who: [e.username, e.device]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" / "),
                client: e.client_ip,
                group: e.group_name,
                name: e.url.unwrap_or(e.name),
                qtype: e.qtype,
                verdict: e.verdict,
                category: e.category.unwrap_or_default(),
                rule: e.rule.unwrap_or_default(),
            }
        })
        .collect();
    if q.partial.is_some() {
        return Ok(render(&QueryRowsPartial { rows }));
    }
    state
        .store
        .audit_event(
            Some(user.person.id),
            store::AuditAction::AccessLogViewed {
                query: serde_json::to_value(&q).unwrap_or_default(),
            },
        )
        .await?;
    let query = serde_urlencoded::to_string(&q).unwrap_or_default();
    Ok(render(&QueriesPage {
        chrome: Chrome::new(&state, &user, "Query log", "/network/queries"),
        rows,
        groups: state
            .profile
            .filtering
            .group_names()
            .into_iter()
            .map(str::to_string)
            .collect(),
        verdicts: LogVerdict::ALL.to_vec(),
        f_user: q.user.clone(),
        f_device: q.device.clone(),
        f_group: q.group.clone(),
        f_verdict: q.verdict.clone(),
        f_category: q.category.clone(),
        f_since: q.since.clone(),
        query,
        older,
    }))
}

/// Days of history the statistics page shows.
const HISTORY_DAYS: i64 = 30;

pub async fn stats(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    user.permit(Action::ViewAccessLog, Object::School)?;
    let now = state.store.now_utc();
    let since = store::timestamp(now - chrono::Duration::hours(24));
    let mut groups: Vec<GroupStats> = Vec::new();
    for (group, verdict, n) in state.store.access_by_group(&since).await? {
        tally(&mut groups, group, &verdict, n);
    }
    let first_day = (now - chrono::Duration::days(HISTORY_DAYS - 1))
        .format("%Y-%m-%d")
        .to_string();
    let mut days: Vec<DayStats> = Vec::new();
    for (day, group, verdict, n) in state.store.daily_requests_by_group(&first_day).await? {
        // Rows come newest day first, so a new day is always the last one.
        if days.last().is_none_or(|d| d.day != day) {
            days.push(DayStats {
                day,
                groups: Vec::new(),
            });
        }
        if let Some(d) = days.last_mut() {
            tally(&mut d.groups, group, &verdict, n);
        }
    }
    Ok(render(&NetworkStatsPage {
        chrome: Chrome::new(&state, &user, "Filtering statistics", "/network"),
        groups,
        top: state.store.top_blocked(&since, 20).await?,
        days,
        history_days: HISTORY_DAYS,
    }))
}

/// Adds `n` requests of `verdict` to `group`'s row in `groups` (a new row if it has none).
fn tally(groups: &mut Vec<GroupStats>, group: String, verdict: &str, n: i64) {
    let idx = match groups.iter().position(|g| g.name == group) {
        Some(i) => i,
        None => {
            groups.push(GroupStats {
                name: group,
                allow: 0,
                block: 0,
                rewrite: 0,
                refused: 0,
                error: 0,
            });
            groups.len() - 1
        }
    };
    let g = &mut groups[idx];
    match LogVerdict::parse(verdict) {
        Some(LogVerdict::Allow | LogVerdict::Unfiltered) => g.allow += n,
        Some(LogVerdict::Block) => g.block += n,
        Some(LogVerdict::Rewrite) => g.rewrite += n,
        Some(LogVerdict::Refused) => g.refused += n,
        Some(LogVerdict::Error | LogVerdict::Dropped) | None => g.error += n,
    }
}

/// `/proxy.pac` and `/wpad.dat`: how browsers find the web proxy. Public, because browsers fetch
/// it before anyone signs in; it says nothing but where the proxy is.
pub async fn proxy_pac(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, WebError> {
    use axum::response::IntoResponse;
    let (Some(network), Some(proxy)) = (&state.profile.network, &state.proxy_address) else {
        return Err(WebError::NotFound);
    };
    let web_host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
        .map(|a| {
            a.host()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string()
        })
        .unwrap_or_default();
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/x-ns-proxy-autoconfig",
            ),
            (axum::http::header::CACHE_CONTROL, "max-age=300"),
        ],
        network.pac_script(proxy, &web_host),
    )
        .into_response())
}

/// `/ca.pem`: the school CA's certificate, for school devices to trust (public: devices fetch
/// it before anyone signs in, and a certificate is not a secret).
pub async fn ca_certificate(State(state): State<AppState>) -> Result<Response, WebError> {
    use axum::response::IntoResponse;
    let pem = state.ca_certificate.clone().ok_or(WebError::NotFound)?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/x-pem-file"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"school-ca.pem\"",
            ),
        ],
        pem,
    )
        .into_response())
}

/// `/ca`: how to install the school CA on school devices (public, like the certificate).
pub async fn ca_page(State(state): State<AppState>) -> Result<Response, WebError> {
    use crate::views::CaPage;
    let inspected = state
        .profile
        .network
        .as_ref()
        .map(|n| n.proxy.inspect_groups.clone())
        .unwrap_or_default();
    Ok(render(&CaPage {
        chrome: crate::views::Chrome::anonymous(
            &state.profile.school.name,
            "The school's certificate",
        ),
        available: state.ca_certificate.is_some(),
        fingerprint: state.ca_certificate.as_deref().and_then(sha256_fingerprint),
        inspected: inspected.join(", "),
    }))
}

/// The SHA-256 fingerprint of the first certificate in `pem`, as browsers and `openssl x509
/// -fingerprint -sha256` show it (`AB:CD:…`).
pub fn sha256_fingerprint(pem: &str) -> Option<String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    use sha2::{Digest, Sha256};
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).ok()?;
    let digest = Sha256::digest(der.as_ref());
    Some(
        digest
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}
