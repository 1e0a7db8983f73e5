use gateway::dns::{DnsConfig, DnsServer};
use gateway::{Filter, FilterSlot, Verdict};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use policy::profile::network::{BlockAnswer, DnsSettings, NetworkPolicy};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use testkit::dns::{StubUpstream, answer_strings, tcp, udp, udp_raw, udp_rcode};
use testkit::filter::{KS1, Rules, STAFF, UNKNOWN, loopback_network};

fn network(upstream: SocketAddr, answer: BlockAnswer) -> NetworkPolicy {
    NetworkPolicy {
        dns: DnsSettings {
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            upstreams: vec![upstream],
            block_answer: answer,
            block_page_ipv4: Some(Ipv4Addr::new(127, 0, 3, 3)),
            block_page_ipv6: None,
            ..DnsSettings::default()
        },
        ..loopback_network()
    }
}

async fn start(
    upstream: SocketAddr,
    answer: BlockAnswer,
    loaded: bool,
) -> (DnsServer, Arc<FilterSlot>) {
    let pupils = ["ks1", "ks2"].iter().map(|s| s.to_string()).collect();
    let config =
        DnsConfig::from_network(&network(upstream, answer), pupils, clock::Clock::system());
    let slot = FilterSlot::empty();
    if loaded {
        slot.replace(Box::new(Rules { safesearch: true }));
    }
    let server = DnsServer::start(config, slot.clone(), None).await.unwrap();
    (server, slot)
}

#[tokio::test]
async fn allowed_names_are_forwarded_over_udp_and_tcp_and_blocked_ones_get_nxdomain() {
    let up = StubUpstream::start().await;
    let (server, _) = start(up.addr, BlockAnswer::Nxdomain, true).await;
    let addr = server.addrs[0];
    let m = udp(addr, KS1, "school.example.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(answer_strings(&m), ["127.0.2.1"]);
    let m = tcp(addr, KS1, "school.example.", RecordType::AAAA).await;
    assert_eq!(answer_strings(&m), ["fd00::1"]);
    for name in ["blocked.test.", "a.b.blocked.test.", "BLOCKED.test."] {
        let m = udp(addr, KS1, name, RecordType::A).await;
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain, "{name}");
        assert!(m.answers.is_empty());
    }
    let m = udp(addr, KS1, "nope.nxdomain.test.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
}

#[tokio::test]
async fn groups_follow_the_source_address_and_unknown_clients_get_the_pupil_default() {
    let up = StubUpstream::start().await;
    let (server, _) = start(up.addr, BlockAnswer::Nxdomain, true).await;
    let addr = server.addrs[0];
    assert_eq!(
        udp_rcode(addr, KS1, "games.test.", RecordType::A).await,
        ResponseCode::NXDomain
    );
    assert_eq!(
        answer_strings(&udp(addr, STAFF, "games.test.", RecordType::A).await),
        ["127.0.2.1"]
    );
    // SafeSearch for pupils (the default group included), not for staff.
    let m = udp(addr, UNKNOWN, "www.google.com.", RecordType::A).await;
    assert_eq!(
        answer_strings(&m),
        ["CNAME forcesafesearch.google.com.", "127.0.2.1"]
    );
    let m = udp(addr, STAFF, "www.google.com.", RecordType::A).await;
    assert_eq!(answer_strings(&m), ["127.0.2.1"]);
    // The Firefox canary is NXDOMAIN for everyone.
    assert_eq!(
        udp_rcode(addr, STAFF, "use-application-dns.net.", RecordType::A).await,
        ResponseCode::NXDomain
    );
}

#[tokio::test]
async fn the_block_page_answer_points_browsers_at_the_block_page() {
    let up = StubUpstream::start().await;
    let (server, _) = start(up.addr, BlockAnswer::BlockPage, true).await;
    let m = udp(server.addrs[0], KS1, "www.blocked.test.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(answer_strings(&m), ["127.0.3.3"]);
}

#[tokio::test]
async fn a_truncated_upstream_answer_is_fetched_over_tcp() {
    let up = StubUpstream::start().await;
    let (server, _) = start(up.addr, BlockAnswer::Nxdomain, true).await;
    let m = tcp(server.addrs[0], STAFF, "big.test.", RecordType::TXT).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(m.answers.len(), 40);
    // Over plain UDP without EDNS the 40 records do not fit: the client is told to use TCP.
    let m = udp(server.addrs[0], STAFF, "big.test.", RecordType::TXT).await;
    assert!(m.metadata.truncation || m.answers.len() == 40, "{m:?}");
}

#[tokio::test]
async fn without_a_filter_pupils_are_refused_and_staff_still_resolve() {
    let up = StubUpstream::start().await;
    let (server, slot) = start(up.addr, BlockAnswer::Nxdomain, false).await;
    let addr = server.addrs[0];
    assert_eq!(
        udp_rcode(addr, KS1, "school.example.", RecordType::A).await,
        ResponseCode::Refused
    );
    assert_eq!(
        udp_rcode(addr, UNKNOWN, "school.example.", RecordType::A).await,
        ResponseCode::Refused
    );
    assert_eq!(
        answer_strings(&udp(addr, STAFF, "school.example.", RecordType::A).await),
        ["127.0.2.1"]
    );
    // Loading the filter takes effect for the next query, without a restart.
    slot.replace(Box::new(Rules { safesearch: true }));
    assert_eq!(
        answer_strings(&udp(addr, KS1, "school.example.", RecordType::A).await),
        ["127.0.2.1"]
    );
}

#[tokio::test]
async fn a_dead_upstream_gives_servfail() {
    // Bind and drop a socket: nothing listens there afterwards.
    let dead = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (server, _) = start(dead, BlockAnswer::Nxdomain, true).await;
    let m = udp(server.addrs[0], STAFF, "school.example.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    // Blocking needs no upstream.
    let m = udp(server.addrs[0], KS1, "blocked.test.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
}

#[tokio::test]
async fn malformed_packets_break_nothing() {
    let up = StubUpstream::start().await;
    let (server, _) = start(up.addr, BlockAnswer::Nxdomain, true).await;
    let addr = server.addrs[0];
    let mut seed = 0x1234_5678u32;
    for len in [0usize, 1, 2, 11, 12, 13, 40, 300, 1400] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        // Garbage may get FORMERR or silence; it must not stop the server.
        let _ = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            udp_raw(addr, KS1, &bytes),
        )
        .await;
    }
    // A header claiming a question that is not there.
    let _ = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        udp_raw(addr, KS1, &[0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
    )
    .await;
    assert_eq!(
        answer_strings(&udp(addr, KS1, "school.example.", RecordType::A).await),
        ["127.0.2.1"]
    );
}

struct BlockEverything;

impl Filter for BlockEverything {
    fn decide(&self, _group: &str, host: &str) -> Verdict {
        Verdict::Block {
            category: "all".into(),
            rule: host.into(),
            source: "test".into(),
        }
    }
}

#[tokio::test]
async fn answers_are_reused_with_the_clients_case_until_the_filter_changes() {
    let up = StubUpstream::start().await;
    let (server, slot) = start(up.addr, BlockAnswer::Nxdomain, true).await;
    let addr = server.addrs[0];
    let first = udp(addr, STAFF, "GaMeS.test.", RecordType::A).await;
    assert_eq!(answer_strings(&first), ["127.0.2.1"]);
    let asked = up.queries.load(std::sync::atomic::Ordering::Relaxed);
    let second = udp(addr, STAFF, "gAmEs.TEST.", RecordType::A).await;
    assert_eq!(answer_strings(&second), ["127.0.2.1"]);
    assert_eq!(second.queries[0].name().to_string(), "gAmEs.TEST.");
    assert_eq!(
        up.queries.load(std::sync::atomic::Ordering::Relaxed),
        asked,
        "the second answer came from the cache"
    );
    // The same name for another group is decided for that group.
    assert_eq!(
        udp_rcode(addr, KS1, "games.test.", RecordType::A).await,
        ResponseCode::NXDomain
    );
    // A new filter takes effect at once, cached answers or not.
    slot.replace(Box::new(BlockEverything));
    assert_eq!(
        udp_rcode(addr, STAFF, "games.test.", RecordType::A).await,
        ResponseCode::NXDomain
    );
}
