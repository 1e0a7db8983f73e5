//! One DNS request: identify the client, ask the filter, answer, log.

use super::{DnsConfig, Upstream};
use crate::FilterSlot;
use crate::GatewayStats;
use events::LogVerdict;
use events::{AccessEvent, AccessSink};
use filter::Verdict;
use hickory_proto::op::{Edns, Header, HeaderCounts, Metadata, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, HINFO};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncoder;
use hickory_server::net::runtime::Time;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use policy::profile::network::BlockAnswer;
use std::sync::Arc;
use std::time::Instant;

/// TTL of the answers Palisade makes up itself (blocks and rewrites): short, so that a policy
/// change reaches devices within a minute.
const SYNTHETIC_TTL: u32 = 60;

pub struct Handler {
    /// Group names by index (the fast path keys its cache by index).
    groups: Vec<String>,
    /// Where this school's groups start in the answer cache's keys, which several schools
    /// share (see [`Handler::cache_group`]).
    group_base: u16,
    config: Arc<DnsConfig>,
    filter: Arc<FilterSlot>,
    upstream: Upstream,
    log: Option<Arc<dyn AccessSink>>,
    stats: Arc<GatewayStats>,
}

/// How a request was answered, for the log.
struct Outcome {
    code: ResponseCode,
    answers: Vec<Record>,
    authorities: Vec<Record>,
    verdict: LogVerdict,
    category: Option<String>,
    rule: Option<String>,
    upstream_ms: Option<i64>,
}

impl Outcome {
    fn code(code: ResponseCode, verdict: LogVerdict) -> Outcome {
        Outcome {
            code,
            answers: Vec::new(),
            authorities: Vec::new(),
            verdict,
            category: None,
            rule: None,
            upstream_ms: None,
        }
    }
}

/// The answer to a self-test name that is let through: never sent upstream (it is under
/// `.invalid`, which resolvers answer NXDOMAIN themselves, and would look like a block), but
/// answered with [`filter::selftest::TEST_ANSWER_V4`], so that the self-test sees it was not
/// blocked.
fn test_name_answer(name: &Name, qtype: RecordType, verdict: LogVerdict) -> Outcome {
    let mut out = Outcome::code(ResponseCode::NoError, verdict);
    if qtype == RecordType::A {
        out.answers.push(Record::from_rdata(
            name.clone(),
            SYNTHETIC_TTL,
            RData::A(A(filter::selftest::TEST_ANSWER_V4)),
        ));
    }
    out
}

impl Handler {
    pub fn new(
        config: Arc<DnsConfig>,
        filter: Arc<FilterSlot>,
        upstream: Upstream,
        log: Option<Arc<dyn AccessSink>>,
        stats: Arc<GatewayStats>,
        group_base: u16,
    ) -> Handler {
        let mut groups: Vec<String> = Vec::new();
        for g in config
            .clients
            .group_names()
            .into_iter()
            .chain(config.groups.iter().map(String::as_str))
        {
            if !groups.iter().any(|x| x == g) {
                groups.push(g.to_string());
            }
        }
        Handler {
            groups,
            group_base,
            config,
            filter,
            upstream,
            log,
            stats,
        }
    }

    /// Resolves through the upstream cache; NXDOMAIN and NODATA keep their authority records.
    async fn forward(&self, name: &Name, qtype: RecordType, mut out: Outcome) -> Outcome {
        if qtype == RecordType::ANY {
            // RFC 8482: ANY gets one small made-up record, never the upstream's (amplification).
            out.answers.push(Record::from_rdata(
                name.clone(),
                SYNTHETIC_TTL,
                RData::HINFO(HINFO::new("RFC8482".into(), String::new())),
            ));
            return out;
        }
        let started = Instant::now();
        let result = self.upstream.lookup(name.clone(), qtype).await;
        let elapsed = started.elapsed();
        self.stats.upstream_seconds.observe(elapsed.as_secs_f64());
        out.upstream_ms = i64::try_from(elapsed.as_millis()).ok();
        match result {
            Ok(answer) => {
                out.answers.extend(answer.answers);
                out.authorities.extend(answer.authorities);
                out.code = answer.code;
            }
            Err(()) => {
                out.code = ResponseCode::ServFail;
                out.verdict = LogVerdict::Error;
                out.answers.clear();
            }
        }
        out
    }

    fn block_records(&self, name: &Name, qtype: RecordType) -> Vec<Record> {
        let rdata = match (
            qtype,
            self.config.block_page_ipv4,
            self.config.block_page_ipv6,
        ) {
            (RecordType::A, Some(v4), _) => Some(RData::A(A(v4))),
            (RecordType::AAAA, _, Some(v6)) => Some(RData::AAAA(AAAA(v6))),
            _ => None,
        };
        rdata
            .map(|r| Record::from_rdata(name.clone(), SYNTHETIC_TTL, r))
            .into_iter()
            .collect()
    }

    /// `host` is `name` as [`host_of`] gives it.
    async fn decide(&self, group: &str, name: &Name, host: &str, qtype: RecordType) -> Outcome {
        let Some(filter) = self.filter.load() else {
            if self.config.pupil_groups.contains(group) {
                return Outcome::code(ResponseCode::Refused, LogVerdict::Refused);
            }
            // Staff keep working while the lists load; pupils never get an unfiltered answer.
            // A self-test name is let through too, and answered as let through.
            if filter::selftest::is_test_name(host) {
                return test_name_answer(name, qtype, LogVerdict::Unfiltered);
            }
            return self
                .forward(
                    name,
                    qtype,
                    Outcome::code(ResponseCode::NoError, LogVerdict::Unfiltered),
                )
                .await;
        };
        match filter.decide(group, host) {
            // A self-test name the group's filter lets through: answered here, never sent
            // upstream (it is under `.invalid`), with an address that tells it from a block.
            Verdict::Allow if filter::selftest::is_test_name(host) => {
                test_name_answer(name, qtype, LogVerdict::Allow)
            }
            Verdict::Allow => {
                self.forward(
                    name,
                    qtype,
                    Outcome::code(ResponseCode::NoError, LogVerdict::Allow),
                )
                .await
            }
            Verdict::Block {
                category,
                rule,
                source: _,
            } => {
                let mut out = Outcome::code(ResponseCode::NXDomain, LogVerdict::Block);
                if self.config.block_answer == BlockAnswer::BlockPage {
                    out.code = ResponseCode::NoError;
                    out.answers = self.block_records(name, qtype);
                }
                out.category = Some(category);
                out.rule = Some(rule);
                out
            }
            Verdict::Nxdomain { rule } => {
                let mut out = Outcome::code(ResponseCode::NXDomain, LogVerdict::Block);
                out.rule = Some(rule);
                out
            }
            Verdict::Rewrite { target } => {
                let Ok(target_name) = Name::from_ascii(format!("{target}.")) else {
                    return Outcome::code(ResponseCode::ServFail, LogVerdict::Error);
                };
                let mut out = Outcome::code(ResponseCode::NoError, LogVerdict::Rewrite);
                out.rule = Some(target.clone());
                out.answers.push(Record::from_rdata(
                    name.clone(),
                    SYNTHETIC_TTL,
                    RData::CNAME(CNAME(target_name.clone())),
                ));
                if qtype == RecordType::CNAME {
                    return out;
                }
                let mut resolved = self.forward(&target_name, qtype, out).await;
                // The CNAME stands even if the safe endpoint has no record of this type.
                if resolved.code == ResponseCode::NXDomain {
                    resolved.code = ResponseCode::NoError;
                }
                resolved
            }
        }
    }

    /// The index of the client's group: its registered device's group if it has one, else its
    /// subnet's.
    pub fn group_index(&self, ip: std::net::IpAddr) -> u16 {
        let device_group = self.device(ip).and_then(|d| {
            let g = d.group.as_deref()?;
            self.groups.iter().position(|x| x == g)
        });
        let i = device_group.unwrap_or_else(|| {
            let name = self.config.clients.group_for(ip);
            self.groups.iter().position(|g| g == name).unwrap_or(0)
        });
        u16::try_from(i).unwrap_or(0)
    }

    /// How many groups this school has (the next school's groups start after them).
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// The answer cache's key for this school's group `local`: unique across the schools
    /// sharing the cache, so that one school's answer is never given to another's client.
    pub fn cache_group(&self, local: u16) -> u16 {
        self.group_base.saturating_add(local)
    }

    /// Whether `ip` is answered at all: the profile's clients (see
    /// [`ClientMap::dns_client`](policy::profile::network::ClientMap::dns_client)) and
    /// registered devices.
    pub fn admits(&self, ip: std::net::IpAddr) -> bool {
        self.config.clients.dns_client(ip) || self.device(ip).is_some()
    }

    /// The name of the client's group (see [`Handler::group_index`]).
    fn group_name(&self, ip: std::net::IpAddr) -> String {
        self.groups
            .get(usize::from(self.group_index(ip)))
            .cloned()
            .unwrap_or_default()
    }

    /// The registered device at `ip`, if any.
    fn device(&self, ip: std::net::IpAddr) -> Option<Arc<crate::devices::DeviceTag>> {
        self.config.devices.as_ref()?.at(ip)
    }

    /// The device and the person at `ip` for the access log: the user signed in to the proxy
    /// there, else the device's holder.
    fn identify(&self, ip: std::net::IpAddr) -> (Option<String>, Option<i64>, Option<String>) {
        let device = self.device(ip);
        let (person_id, username) = match self.who(ip) {
            Some(w) => (Some(w.person_id), Some(w.username)),
            None => match device.as_ref().and_then(|d| d.holder.clone()) {
                Some((id, name)) => (Some(id), Some(name)),
                None => (None, None),
            },
        };
        (device.map(|d| d.name.clone()), person_id, username)
    }

    /// Changes whenever a different filter is put in force.
    pub fn generation(&self) -> u64 {
        self.filter.generation()
    }

    /// Counts and logs an answer the fast path gave from its cache.
    pub fn record_cached(
        &self,
        src: std::net::SocketAddr,
        group: u16,
        facts: &super::facts::AnswerFacts,
    ) {
        self.stats.cache_hits.inc();
        self.stats
            .count_answer(facts.verdict, facts.category.as_deref());
        let Some(log) = &self.log else { return };
        let group_name = self
            .groups
            .get(usize::from(group))
            .cloned()
            .unwrap_or_default();
        let mut event = self.event(
            src.ip(),
            group_name,
            facts.host.to_string(),
            facts.qtype.to_string(),
            facts.verdict,
        );
        event.category = facts.category.as_deref().map(str::to_string);
        event.rule = facts.rule.as_deref().map(str::to_string);
        event.upstream_ms = Some(0);
        log.send(event);
    }

    /// An access-log event for an answer to `ip`, naming its device and person; the caller
    /// adds the category, rule and upstream time.
    fn event(
        &self,
        ip: std::net::IpAddr,
        group_name: String,
        name: String,
        qtype: String,
        verdict: LogVerdict,
    ) -> AccessEvent {
        let (device, person_id, username) = self.identify(ip);
        let at = events::stamp(self.config.clock.now());
        AccessEvent {
            device,
            person_id,
            username,
            qtype: Some(qtype),
            ..AccessEvent::new(at, "dns", ip.to_string(), group_name, name, verdict)
        }
    }

    /// The gateway's metrics.
    pub fn stats(&self) -> &GatewayStats {
        &self.stats
    }

    /// The user signed in to the proxy at `ip`, if any.
    fn who(&self, ip: std::net::IpAddr) -> Option<crate::signed_in::Identity> {
        self.config.signed_in.as_ref()?.who(ip)
    }

    /// Answers one UDP datagram in full: the encoded response, how long it may be reused, and
    /// what it said. `None` when the datagram is too short to answer at all.
    pub async fn answer_udp(
        &self,
        datagram: Vec<u8>,
        src: std::net::SocketAddr,
    ) -> Option<UdpAnswer> {
        let Some((request, name, qtype)) = read_request(&datagram, src) else {
            return formerr(&datagram);
        };
        let edns = request.edns.clone();
        let (out, host) = self.resolve(src.ip(), &name, qtype).await;
        let max = edns
            .as_ref()
            .map(|e| e.max_payload().max(512))
            .unwrap_or(512);
        let response = encode(&request, &out, max)?;
        let reuse_for = match out.verdict {
            LogVerdict::Allow | LogVerdict::Rewrite | LogVerdict::Block => Some(reuse_time(&out)),
            _ => None,
        };
        Some(UdpAnswer {
            response,
            reuse_for,
            facts: super::facts::AnswerFacts {
                host: host.into(),
                qtype: qtype.to_string().into(),
                verdict: out.verdict,
                category: out.category.as_deref().map(Into::into),
                rule: out.rule.as_deref().map(Into::into),
            },
        })
    }

    /// Decides one question from `ip` for its group, counts the answer in the metrics and
    /// queues its access-log event. Returns the outcome and the host as logged.
    async fn resolve(
        &self,
        ip: std::net::IpAddr,
        name: &Name,
        qtype: RecordType,
    ) -> (Outcome, String) {
        let host = host_of(name);
        if !self.admits(ip) {
            // Not logged: a flood of strangers' queries must not fill the school's log.
            self.stats.count(LogVerdict::Refused);
            return (
                Outcome::code(ResponseCode::Refused, LogVerdict::Refused),
                host,
            );
        }
        let group = self.group_name(ip);
        let out = self.decide(&group, name, &host, qtype).await;
        self.stats
            .count_answer(out.verdict, out.category.as_deref());
        if let Some(log) = &self.log {
            let mut event = self.event(ip, group, host.clone(), qtype.to_string(), out.verdict);
            event.category = out.category.clone();
            event.rule = out.rule.clone();
            event.upstream_ms = out.upstream_ms;
            log.send(event);
        }
        (out, host)
    }
}

/// A query name as the filter and the access log take it: lower case, no trailing dot.
fn host_of(name: &Name) -> String {
    let mut host = name.to_lowercase().to_utf8();
    host.truncate(host.trim_end_matches('.').len());
    host
}

/// A fully answered UDP question.
pub struct UdpAnswer {
    pub response: Vec<u8>,
    /// How long the encoded response may be reused (`None`: not at all).
    pub reuse_for: Option<std::time::Duration>,
    pub facts: super::facts::AnswerFacts,
}

/// The smallest TTL of the answer (or the SOA's for a negative one), for reuse.
fn reuse_time(out: &Outcome) -> std::time::Duration {
    let ttl = out
        .answers
        .iter()
        .chain(out.authorities.iter())
        .map(|r| r.ttl)
        .min()
        .unwrap_or(SYNTHETIC_TTL);
    std::time::Duration::from_secs(u64::from(ttl))
}

/// Encodes an answer the way hickory-server would, truncated to `max` bytes for UDP.
fn encode(request: &Request, out: &Outcome, max: u16) -> Option<Vec<u8>> {
    let response_edns = request.edns.as_ref().map(|req| {
        let mut e = Edns::new();
        e.set_max_payload(req.max_payload().max(512));
        e.set_version(0);
        e
    });
    let builder = MessageResponseBuilder::new(&request.queries, response_edns.as_ref());
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.recursion_available = true;
    metadata.response_code = out.code;
    let response = builder.build(metadata, out.answers.iter(), out.authorities.iter(), [], []);
    let mut bytes = Vec::with_capacity(512);
    let mut encoder = BinEncoder::new(&mut bytes);
    encoder.set_max_size(max);
    response.destructive_emit(&mut encoder).ok()?;
    Some(bytes)
}

/// REFUSED answering `datagram`: its header and its `question_len` bytes of question, nothing
/// else, so never larger than what was asked.
pub(super) fn refused_bytes(datagram: &[u8], question_len: usize) -> Option<Vec<u8>> {
    let mut response = datagram.get(..12 + question_len)?.to_vec();
    response[2] = 0x80 | (datagram[2] & 0x79);
    response[3] = 0x05;
    response[4..12].copy_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    Some(response)
}

/// A FORMERR header answering `datagram`'s; nothing for fewer than 12 bytes.
pub(super) fn formerr_bytes(datagram: &[u8]) -> Option<Vec<u8>> {
    let mut response = datagram.get(..12)?.to_vec();
    response[2] = 0x80 | (datagram[2] & 0x79);
    response[3] = 0x01;
    response[4..12].fill(0);
    Some(response)
}

/// `datagram` as hickory-server reads a request, with its question's name and type; `None`
/// (answered FORMERR) when it has no readable question.
pub(super) fn read_request(
    datagram: &[u8],
    src: std::net::SocketAddr,
) -> Option<(Request, Name, RecordType)> {
    let request = Request::from_bytes(datagram.to_vec(), src, Protocol::Udp).ok()?;
    let (name, qtype) = {
        let info = request.request_info().ok()?;
        (Name::from(info.query.name()), info.query.query_type())
    };
    Some((request, name, qtype))
}

/// FORMERR for a datagram with a readable header; nothing for shorter garbage.
fn formerr(datagram: &[u8]) -> Option<UdpAnswer> {
    Some(UdpAnswer {
        response: formerr_bytes(datagram)?,
        reuse_for: None,
        facts: super::facts::AnswerFacts {
            host: "".into(),
            qtype: "".into(),
            verdict: LogVerdict::Error,
            category: None,
            rule: None,
        },
    })
}

fn failed(request: &Request, code: ResponseCode) -> ResponseInfo {
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.response_code = code;
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}

impl crate::sites::Site for Handler {
    fn clients(&self) -> &policy::profile::network::ClientMap {
        &self.config.clients
    }

    fn has_device(&self, ip: std::net::IpAddr) -> bool {
        self.device(ip).is_some()
    }
}

/// The schools' handlers, shared by the UDP fast path and hickory-server's TCP listener, which
/// hands each request to its client's school.
pub struct Shared(pub Arc<crate::sites::Sites<Handler>>);

#[async_trait::async_trait]
impl RequestHandler for Shared {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        let (_, handler) = self.0.of(request.src().ip());
        handler
            .handle_request::<R, T>(request, response_handle)
            .await
    }
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let response_edns = request.edns.as_ref().map(|req| {
            let mut e = Edns::new();
            e.set_max_payload(req.max_payload().max(512));
            e.set_version(0);
            e
        });
        let builder = MessageResponseBuilder::new(&request.queries, response_edns.as_ref());
        let query = match request.request_info() {
            Ok(info) => info.query.clone(),
            Err(_) => {
                let response = builder.error_msg(&request.metadata, ResponseCode::FormErr);
                return response_handle
                    .send_response(response)
                    .await
                    .unwrap_or_else(|_| failed(request, ResponseCode::FormErr));
            }
        };
        let name: Name = query.name().into();
        let qtype = query.query_type();
        let (out, _) = self.resolve(request.src().ip(), &name, qtype).await;
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.recursion_available = true;
        metadata.response_code = out.code;
        let response = builder.build(metadata, out.answers.iter(), out.authorities.iter(), [], []);
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(e) => {
                tracing::debug!(error = %e, "could not send a DNS response");
                failed(request, ResponseCode::ServFail)
            }
        }
    }
}
