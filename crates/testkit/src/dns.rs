//! A loopback stub upstream for the DNS gateway's tests, and a small client that sends real
//! queries over UDP or TCP from a chosen source address.

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The address every name resolves to at the stub.
pub const STUB_V4: Ipv4Addr = Ipv4Addr::new(127, 0, 2, 1);
/// The IPv6 address every name resolves to at the stub.
pub const STUB_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);

/// A stub authoritative server on loopback: every name has A 127.0.2.1 and AAAA fd00::1, except
/// `*.nxdomain.test` (NXDOMAIN) and `big.test` TXT (too big for UDP: truncated there, whole
/// over TCP).
pub struct StubUpstream {
    pub addr: SocketAddr,
    /// Queries it has answered.
    pub queries: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for StubUpstream {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn answer(request: &Message, tcp: bool) -> Message {
    let mut response = Message::new(request.metadata.id, MessageType::Response, OpCode::Query);
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.metadata.recursion_available = true;
    response.metadata.authoritative = true;
    let Some(q) = request.queries.first() else {
        response.metadata.response_code = ResponseCode::FormErr;
        return response;
    };
    response.add_query(q.clone());
    let name = q.name().to_lowercase().to_utf8();
    if name.ends_with("nxdomain.test.") {
        response.metadata.response_code = ResponseCode::NXDomain;
        return response;
    }
    match q.query_type() {
        RecordType::A => {
            response.add_answer(Record::from_rdata(
                q.name().clone(),
                300,
                RData::A(A(STUB_V4)),
            ));
        }
        RecordType::AAAA => {
            response.add_answer(Record::from_rdata(
                q.name().clone(),
                300,
                RData::AAAA(AAAA(STUB_V6)),
            ));
        }
        RecordType::TXT if name == "big.test." => {
            if tcp {
                for i in 0..40 {
                    let text = format!("{i:02}-{}", "x".repeat(60));
                    response.add_answer(Record::from_rdata(
                        q.name().clone(),
                        300,
                        RData::TXT(TXT::new(vec![text])),
                    ));
                }
            } else {
                response.metadata.truncation = true;
            }
        }
        _ => {}
    }
    response
}

/// Answers length-prefixed queries on one TCP (or TLS) connection until it closes.
async fn serve_stream<S>(mut stream: S, queries: Arc<AtomicU64>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).await.is_err() {
            break;
        }
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut buf).await.is_err() {
            break;
        }
        let Ok(request) = Message::from_vec(&buf) else {
            break;
        };
        queries.fetch_add(1, Ordering::Relaxed);
        let Ok(bytes) = answer(&request, true).to_vec() else {
            break;
        };
        let Ok(n) = u16::try_from(bytes.len()) else {
            break;
        };
        if stream.write_all(&n.to_be_bytes()).await.is_err()
            || stream.write_all(&bytes).await.is_err()
        {
            break;
        }
        let _ = stream.flush().await;
    }
}

impl StubUpstream {
    /// Starts a DNS-over-TLS upstream on a free loopback port, its certificate made out to
    /// `name` by a fresh test CA; returns it and that CA's certificate (PEM).
    pub async fn start_tls(name: &str) -> (StubUpstream, String) {
        let (acceptor, ca_pem) = crate::http::tls_acceptor(&[name]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind stub tls");
        let addr = listener.local_addr().expect("stub addr");
        let queries = Arc::new(AtomicU64::new(0));
        let q = queries.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, q) = (acceptor.clone(), q.clone());
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        serve_stream(tls, q).await;
                    }
                });
            }
        });
        (
            StubUpstream {
                addr,
                queries,
                tasks: vec![task],
            },
            ca_pem,
        )
    }

    /// Starts on a free loopback port (UDP and TCP).
    pub async fn start() -> StubUpstream {
        // UDP and TCP on one port: a port free for UDP may be taken for TCP, so try a few.
        let mut attempt = 0;
        let (udp, tcp, addr) = loop {
            let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
                .await
                .expect("bind stub udp");
            let addr = udp.local_addr().expect("stub addr");
            match tokio::net::TcpListener::bind(addr).await {
                Ok(tcp) => break (udp, tcp, addr),
                Err(_) if attempt < 20 => attempt += 1,
                Err(e) => panic!("bind stub tcp: {e}"),
            }
        };
        let queries = Arc::new(AtomicU64::new(0));
        let q1 = queries.clone();
        let udp_task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, from)) = udp.recv_from(&mut buf).await else {
                    break;
                };
                let Ok(request) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                q1.fetch_add(1, Ordering::Relaxed);
                if let Ok(bytes) = answer(&request, false).to_vec() {
                    let _ = udp.send_to(&bytes, from).await;
                }
            }
        });
        let q2 = queries.clone();
        let tcp_task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = tcp.accept().await else {
                    break;
                };
                tokio::spawn(serve_stream(stream, q2.clone()));
            }
        });
        StubUpstream {
            addr,
            queries,
            tasks: vec![udp_task, tcp_task],
        }
    }
}

/// Builds a query message.
pub fn query(name: &str, qtype: RecordType) -> Message {
    let mut m = Message::new(rand_id(), MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(
        Name::from_ascii(name).expect("query name"),
        qtype,
    ));
    m
}

fn rand_id() -> u16 {
    (store::testing::random_suffix() % 65_000) as u16 + 1
}

/// Sends raw bytes over UDP from `source` (e.g. 127.0.0.5) and returns the raw reply.
pub async fn udp_raw(server: SocketAddr, source: IpAddr, bytes: &[u8]) -> Option<Vec<u8>> {
    let sock = tokio::net::UdpSocket::bind(SocketAddr::new(source, 0))
        .await
        .expect("bind client");
    sock.send_to(bytes, server).await.expect("send");
    let mut buf = vec![0u8; 65_535];
    match tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf)).await {
        Ok(Ok((n, _))) => Some(buf[..n].to_vec()),
        _ => None,
    }
}

/// Asks `server` over UDP from `source`.
pub async fn udp(server: SocketAddr, source: IpAddr, name: &str, qtype: RecordType) -> Message {
    let bytes = query(name, qtype).to_vec().expect("encode query");
    let reply = udp_raw(server, source, &bytes)
        .await
        .unwrap_or_else(|| panic!("no UDP answer for {name}"));
    Message::from_vec(&reply).expect("decode answer")
}

/// The response code of a UDP query for `name` from `source`.
pub async fn udp_rcode(
    server: SocketAddr,
    source: IpAddr,
    name: &str,
    qtype: RecordType,
) -> hickory_proto::op::ResponseCode {
    udp(server, source, name, qtype)
        .await
        .metadata
        .response_code
}

/// Asks `server` over TCP from `source`.
pub async fn tcp(server: SocketAddr, source: IpAddr, name: &str, qtype: RecordType) -> Message {
    let sock = tokio::net::TcpSocket::new_v4().expect("tcp socket");
    sock.bind(SocketAddr::new(source, 0))
        .expect("bind tcp client");
    let mut stream = tokio::time::timeout(Duration::from_secs(5), sock.connect(server))
        .await
        .expect("connect in time")
        .expect("connect");
    let bytes = query(name, qtype).to_vec().expect("encode query");
    let len = u16::try_from(bytes.len()).expect("short query");
    stream.write_all(&len.to_be_bytes()).await.expect("write");
    stream.write_all(&bytes).await.expect("write");
    let mut len = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut len))
        .await
        .expect("answer in time")
        .expect("read");
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut buf).await.expect("read");
    Message::from_vec(&buf).expect("decode answer")
}

/// The A and AAAA addresses and CNAME targets of an answer, as text.
pub fn answer_strings(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .map(|r| match &r.data {
            RData::A(a) => a.0.to_string(),
            RData::AAAA(a) => a.0.to_string(),
            RData::CNAME(c) => format!("CNAME {}", c.0),
            other => format!("{:?}", other.record_type()),
        })
        .collect()
}
