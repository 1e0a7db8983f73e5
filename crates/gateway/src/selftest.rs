//! The filtering self-test's network side: runs a group's plan ([`filter::selftest::plan`])
//! against the running gateways on their serving path, as the group. Each DNS question is a
//! real UDP packet and each HTTPS check a real `CONNECT` through the proxy, sent from a
//! loopback address the profile maps to the group (only local processes can send from 127/8,
//! so speaking as a group this way is safe).

use filter::selftest::{Check, Expect, Probe, QueryType};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where the gateways under test listen, and how blocks look there.
#[derive(Debug, Clone)]
pub struct Gateways {
    /// The DNS gateway (UDP).
    pub dns: SocketAddr,
    /// The web proxy, when it runs.
    pub proxy: Option<SocketAddr>,
    /// The profile's block page addresses: an answer with only these is a block.
    pub block_page: Vec<IpAddr>,
    /// How long to wait for each answer.
    pub timeout: Duration,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    /// The check, in words.
    pub check: String,
    /// What was sent, in words (`A adult.test.palisade.invalid`, `CONNECT 192.0.2.1:443`).
    pub sent: String,
    pub expected: String,
    pub got: String,
    pub pass: bool,
}

/// Runs `checks` from `source` against `gateways`, one after the other.
pub async fn run(gateways: &Gateways, source: IpAddr, checks: &[Check]) -> Vec<Outcome> {
    let mut out = Vec::with_capacity(checks.len());
    for c in checks {
        let (sent, got, pass) = match &c.probe {
            Probe::Dns { name, qtype } => {
                let qtype = match qtype {
                    QueryType::A => RecordType::A,
                    QueryType::Cname => RecordType::CNAME,
                };
                let reply = ask(gateways, source, name, qtype).await;
                let (got, pass) = judge_dns(&c.expect, reply, &gateways.block_page);
                (format!("{qtype} {name}"), got, pass)
            }
            Probe::Connect { authority } => {
                let (got, pass) = match gateways.proxy {
                    None => ("the proxy is not running".to_string(), false),
                    Some(proxy) => match tunnel(proxy, source, authority, gateways.timeout).await {
                        Ok(status) => (
                            format!("HTTP {status}"),
                            c.expect == Expect::Refused && status == 403,
                        ),
                        Err(e) => (e, false),
                    },
                };
                (format!("CONNECT {authority}"), got, pass)
            }
        };
        out.push(Outcome {
            check: c.name.clone(),
            sent,
            expected: c.expect.words(),
            got,
            pass,
        });
    }
    out
}

/// A new query id (not secret: the self-test's own socket, on loopback).
fn next_id() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let seed = (std::process::id() & 0xffff) as u16;
    NEXT.fetch_add(1, Ordering::Relaxed).wrapping_add(seed) | 1
}

/// Asks the DNS gateway over UDP from `source`; tried twice before giving up.
async fn ask(
    gateways: &Gateways,
    source: IpAddr,
    name: &str,
    qtype: RecordType,
) -> Result<Message, String> {
    let qname =
        Name::from_ascii(format!("{name}.")).map_err(|e| format!("`{name}` is no name: {e}"))?;
    let sock = tokio::net::UdpSocket::bind(SocketAddr::new(source, 0))
        .await
        .map_err(|e| format!("cannot send from {source}: {e}"))?;
    let mut last = String::new();
    for _ in 0..2 {
        let id = next_id();
        let mut m = Message::new(id, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(qname.clone(), qtype));
        let bytes = m
            .to_vec()
            .map_err(|e| format!("cannot encode the query: {e}"))?;
        if let Err(e) = sock.send_to(&bytes, gateways.dns).await {
            last = format!("cannot send to {}: {e}", gateways.dns);
            continue;
        }
        let mut buf = vec![0u8; 4096];
        let deadline = tokio::time::Instant::now() + gateways.timeout;
        loop {
            match tokio::time::timeout_at(deadline, sock.recv_from(&mut buf)).await {
                Ok(Ok((n, _))) => match Message::from_vec(&buf[..n]) {
                    Ok(reply) if reply.metadata.id == id => return Ok(reply),
                    Ok(_) => continue,
                    Err(e) => {
                        last = format!("an answer that does not parse: {e}");
                        break;
                    }
                },
                Ok(Err(e)) => {
                    last = format!("receive failed: {e}");
                    break;
                }
                Err(_) => {
                    last = format!(
                        "no answer from {} within {} ms",
                        gateways.dns,
                        gateways.timeout.as_millis()
                    );
                    break;
                }
            }
        }
    }
    Err(last)
}

/// What the answer was, in words, and whether it is what `expect` asks.
fn judge_dns(
    expect: &Expect,
    reply: Result<Message, String>,
    block_page: &[IpAddr],
) -> (String, bool) {
    let m = match reply {
        Ok(m) => m,
        Err(e) => return (e, false),
    };
    let code = m.metadata.response_code;
    let mut addresses = Vec::new();
    let mut cnames = Vec::new();
    for r in &m.answers {
        match &r.data {
            RData::A(a) => addresses.push(IpAddr::V4(a.0)),
            RData::AAAA(a) => addresses.push(IpAddr::V6(a.0)),
            RData::CNAME(c) => {
                cnames.push(c.0.to_ascii().trim_end_matches('.').to_ascii_lowercase())
            }
            _ => {}
        }
    }
    let mut got = mnemonic(code);
    for c in &cnames {
        got.push_str(&format!(" CNAME {c}"));
    }
    for a in &addresses {
        got.push_str(&format!(" {a}"));
    }
    if code == ResponseCode::NoError && addresses.is_empty() && cnames.is_empty() {
        got.push_str(" (no records)");
    }
    let block_page_only = code == ResponseCode::NoError
        && cnames.is_empty()
        && !addresses.is_empty()
        && addresses.iter().all(|a| block_page.contains(a));
    let pass = match expect {
        Expect::Blocked => code == ResponseCode::NXDomain || block_page_only,
        Expect::Nxdomain => code == ResponseCode::NXDomain,
        Expect::Cname(target) => {
            code == ResponseCode::NoError && cnames.iter().any(|c| c == target)
        }
        Expect::Resolves => {
            code == ResponseCode::NoError && addresses.iter().any(|a| !block_page.contains(a))
        }
        Expect::Refused => false,
    };
    match code {
        ResponseCode::ServFail if *expect == Expect::Resolves => {
            got.push_str(
                ": upstream unreachable (the gateway's upstream resolvers did not answer)",
            );
        }
        ResponseCode::NXDomain if *expect == Expect::Resolves => got.push_str(
            ": not resolved (blocked, or the upstream resolvers cannot be reached or do not know it)",
        ),
        ResponseCode::Refused => {
            got.push_str(": the gateway refused to answer (no filter in force?)")
        }
        _ if block_page_only => got.push_str(" (the block page)"),
        _ => {}
    }
    (got, pass)
}

/// Opens an HTTPS tunnel to `authority` through the proxy from `source`: the status it answers.
async fn tunnel(
    proxy: SocketAddr,
    source: IpAddr,
    authority: &str,
    timeout: Duration,
) -> Result<u16, String> {
    let sock = match proxy {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .map_err(|e| format!("no socket: {e}"))?;
    sock.bind(SocketAddr::new(source, 0))
        .map_err(|e| format!("cannot connect from {source}: {e}"))?;
    let work = async {
        let mut stream = sock
            .connect(proxy)
            .await
            .map_err(|e| format!("cannot reach the proxy at {proxy}: {e}"))?;
        let request = format!(
            "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("cannot send to the proxy: {e}"))?;
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.windows(2).any(|w| w == b"\r\n") && got.len() < 8192 {
            let n = stream
                .read(&mut buf)
                .await
                .map_err(|e| format!("the proxy's answer broke off: {e}"))?;
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        let line = String::from_utf8_lossy(&got);
        line.split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| "the proxy gave no HTTP status".to_string())
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "no answer from the proxy within {} ms",
            timeout.as_millis()
        )),
    }
}

/// The response code as `dig` prints it (`NOERROR`, `NXDOMAIN`, `REFUSED`...).
fn mnemonic(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => format!("RCODE {}", u16::from(other)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use hickory_proto::rr::Record;
    use hickory_proto::rr::rdata::{A, CNAME};

    fn reply(code: ResponseCode, answers: Vec<RData>) -> Result<Message, String> {
        let mut m = Message::new(1, MessageType::Response, OpCode::Query);
        m.metadata.response_code = code;
        let name = Name::from_ascii("q.example.").unwrap();
        for a in answers {
            m.answers.push(Record::from_rdata(name.clone(), 60, a));
        }
        Ok(m)
    }

    fn a(ip: [u8; 4]) -> RData {
        RData::A(A(ip.into()))
    }

    #[test]
    fn a_block_is_nxdomain_or_the_block_page_and_nothing_else() {
        let page = [IpAddr::from([127, 0, 0, 1])];
        let judge = |r| judge_dns(&Expect::Blocked, r, &page);
        assert_eq!(
            judge(reply(ResponseCode::NXDomain, vec![])),
            ("NXDOMAIN".into(), true)
        );
        assert_eq!(
            judge(reply(ResponseCode::NoError, vec![a([127, 0, 0, 1])])),
            ("NOERROR 127.0.0.1 (the block page)".into(), true)
        );
        assert!(!judge(reply(ResponseCode::NoError, vec![a([192, 0, 2, 1])])).1);
        let (got, pass) = judge(reply(ResponseCode::Refused, vec![]));
        assert!(!pass && got.starts_with("REFUSED"), "{got}");
        assert!(!judge(reply(ResponseCode::ServFail, vec![])).1);
        assert!(!judge(Err("no answer".into())).1);
    }

    #[test]
    fn an_allowed_name_must_resolve_and_says_when_the_upstream_is_unreachable() {
        let page = [IpAddr::from([127, 0, 0, 1])];
        let judge = |r| judge_dns(&Expect::Resolves, r, &page);
        assert!(judge(reply(ResponseCode::NoError, vec![a([93, 184, 215, 14])])).1);
        assert!(!judge(reply(ResponseCode::NoError, vec![a([127, 0, 0, 1])])).1);
        assert!(!judge(reply(ResponseCode::NXDomain, vec![])).1);
        let (got, pass) = judge(reply(ResponseCode::ServFail, vec![]));
        assert!(!pass && got.contains("upstream unreachable"), "{got}");
    }

    #[test]
    fn a_rewrite_must_name_the_safe_endpoint() {
        let safe = Name::from_ascii("forcesafesearch.google.com.").unwrap();
        let other = Name::from_ascii("www.google.com.").unwrap();
        let want = Expect::Cname("forcesafesearch.google.com".into());
        let (got, pass) = judge_dns(
            &want,
            reply(ResponseCode::NoError, vec![RData::CNAME(CNAME(safe))]),
            &[],
        );
        assert!(pass, "{got}");
        assert!(
            !judge_dns(
                &want,
                reply(ResponseCode::NoError, vec![RData::CNAME(CNAME(other))]),
                &[]
            )
            .1
        );
        assert!(
            !judge_dns(
                &want,
                reply(ResponseCode::NoError, vec![a([1, 2, 3, 4])]),
                &[]
            )
            .1
        );
    }
}
