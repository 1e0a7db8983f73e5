//! The UDP path, on a thread of its own per socket (a blocking receive costs less than the
//! runtime's readiness round trip, and the thread never waits for anything else). Every datagram
//! is checked by hickory-proto; a question already answered for the
//! same group, with the same EDNS options, within its TTL (at most a minute, so that policy and
//! time-rule changes reach clients quickly) is answered from the encoded response with the
//! client's id, flags and letter case copied in, and its TTLs counted down by the time it has
//! been kept. Anything else goes to the full handler on its own task, and its answer is kept for
//! next time.

use super::facts::AnswerFacts;
use super::handler::Handler;
use crate::sites::Sites;
use events::LogVerdict;
use hickory_proto::op::Header;
use hickory_proto::op::Query;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest a response is reused.
pub const MAX_REUSE: Duration = Duration::from_secs(60);

struct Cached {
    response: Box<[u8]>,
    /// Where each record's TTL is in `response`, and its value when stored.
    ttls: Box<[(u16, u32)]>,
    stored: Instant,
    expires: Instant,
    generation: u64,
    facts: AnswerFacts,
}

/// A cache key: the group's index and the lower-cased question with the bytes after it (EDNS).
type Key = (u16, Box<[u8]>);

/// Encoded answers by [`Key`].
pub struct AnswerCache {
    entries: Mutex<HashMap<Key, Cached>>,
    capacity: usize,
}

impl AnswerCache {
    pub fn new(capacity: usize) -> AnswerCache {
        AnswerCache {
            entries: Mutex::new(HashMap::with_capacity(capacity.min(1 << 16))),
            capacity: capacity.max(1),
        }
    }

    /// Copies the answer for `key` into `out` (no allocation once `out` has grown).
    fn get_into(
        &self,
        key: &(u16, Box<[u8]>),
        now: Instant,
        generation: u64,
        out: &mut Vec<u8>,
    ) -> Option<AnswerFacts> {
        let entries = self.entries.lock().ok()?;
        let c = entries.get(key)?;
        if c.expires <= now || c.generation != generation {
            return None;
        }
        out.clear();
        out.extend_from_slice(&c.response);
        let kept = u32::try_from(now.duration_since(c.stored).as_secs()).unwrap_or(u32::MAX);
        if kept > 0 {
            for &(at, ttl) in c.ttls.iter() {
                let at = usize::from(at);
                if let Some(field) = out.get_mut(at..at + 4) {
                    field.copy_from_slice(&ttl.saturating_sub(kept).to_be_bytes());
                }
            }
        }
        Some(c.facts.clone())
    }

    fn put(
        &self,
        key: (u16, Box<[u8]>),
        response: Box<[u8]>,
        ttl: Duration,
        generation: u64,
        facts: AnswerFacts,
    ) {
        // An answer whose records cannot be walked is not kept: its TTLs could not count down.
        let Some(ttls) = ttl_fields(&response) else {
            return;
        };
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.capacity {
            let now = Instant::now();
            entries.retain(|_, c| c.expires > now && c.generation == generation);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        let now = Instant::now();
        entries.insert(
            key,
            Cached {
                response,
                ttls: ttls.into_boxed_slice(),
                stored: now,
                expires: now + ttl.min(MAX_REUSE),
                generation,
                facts,
            },
        );
    }
}

/// The cache key of a well-formed single-question query, and the question's length; `None` for
/// anything hickory-proto does not accept as one question.
fn key_of(datagram: &[u8], group: u16) -> Option<(Key, usize)> {
    let mut decoder = BinDecoder::new(datagram);
    let header = Header::read(&mut decoder).ok()?;
    if header.counts.queries != 1 || header.counts.answers != 0 || header.counts.authorities != 0 {
        return None;
    }
    Query::read(&mut decoder).ok()?;
    let end = decoder.index();
    // A question whose name points elsewhere (compression) would be the same bytes for
    // different names: it takes the full path. Plain labels end 4 bytes (type, class) before
    // `end`.
    let mut at = 12;
    loop {
        let len = usize::from(*datagram.get(at)?);
        if len == 0 {
            break;
        }
        if len & 0xc0 != 0 {
            return None;
        }
        at += 1 + len;
    }
    if at + 5 != end {
        return None;
    }
    // Length octets are below 64, so lower-casing the whole question only folds the letters.
    let mut key = datagram.get(12..end)?.to_vec();
    key.make_ascii_lowercase();
    let rest = datagram.get(end..)?;
    match without_cookie(rest) {
        Some(edns) => key.extend_from_slice(&edns),
        None => key.extend_from_slice(rest),
    }
    Some(((group, key.into_boxed_slice()), end - 12))
}

/// EDNS option code of a DNS cookie (RFC 7873).
const COOKIE: u16 = 10;

/// The bytes after the question without a DNS cookie option, when they are exactly one OPT
/// record that holds one. A client's cookie is random per client (`dig` sends one), and
/// answers do not depend on it: Palisade answers as a server without cookies does, with none.
/// `None` leaves the bytes as they are.
fn without_cookie(rest: &[u8]) -> Option<Vec<u8>> {
    use hickory_proto::rr::RecordType;
    let mut decoder = BinDecoder::new(rest);
    if decoder.read_u8().ok()?.unverified() != 0 {
        return None; // not the root name an OPT record has
    }
    if RecordType::from(decoder.read_u16().ok()?.unverified()) != RecordType::OPT {
        return None;
    }
    let fixed = decoder.read_slice(6).ok()?.unverified(); // payload size, rcode, version, flags
    let rdata_len = usize::from(decoder.read_u16().ok()?.unverified());
    let mut options = BinDecoder::new(decoder.read_slice(rdata_len).ok()?.unverified());
    if !decoder.is_empty() {
        return None;
    }
    let mut kept = Vec::with_capacity(rdata_len);
    let mut had_cookie = false;
    while !options.is_empty() {
        let code = options.read_u16().ok()?.unverified();
        let len = options.read_u16().ok()?.unverified();
        let data = options.read_slice(usize::from(len)).ok()?.unverified();
        if code == COOKIE {
            had_cookie = true;
        } else {
            kept.extend_from_slice(&code.to_be_bytes());
            kept.extend_from_slice(&len.to_be_bytes());
            kept.extend_from_slice(data);
        }
    }
    if !had_cookie {
        return None;
    }
    let mut out = Vec::with_capacity(11 + kept.len());
    out.push(0);
    out.extend_from_slice(&u16::from(RecordType::OPT).to_be_bytes());
    out.extend_from_slice(fixed);
    out.extend_from_slice(&u16::try_from(kept.len()).ok()?.to_be_bytes());
    out.extend_from_slice(&kept);
    Some(out)
}

/// The offset and value of every TTL in an encoded response: its answers, authorities and
/// additionals, except EDNS's OPT record, whose TTL field holds flags. `None` if the response
/// does not parse.
fn ttl_fields(response: &[u8]) -> Option<Vec<(u16, u32)>> {
    use hickory_proto::rr::{Name, RecordType};
    let mut decoder = BinDecoder::new(response);
    let header = Header::read(&mut decoder).ok()?;
    for _ in 0..header.counts.queries {
        Query::read(&mut decoder).ok()?;
    }
    let records = u32::from(header.counts.answers)
        + u32::from(header.counts.authorities)
        + u32::from(header.counts.additionals);
    let mut fields = Vec::new();
    for _ in 0..records {
        Name::read(&mut decoder).ok()?;
        let rtype = decoder.read_u16().ok()?.unverified();
        decoder.read_u16().ok()?; // class
        let at = u16::try_from(decoder.index()).ok()?;
        let ttl = decoder.read_u32().ok()?.unverified();
        let rdata_len = decoder.read_u16().ok()?.unverified();
        decoder.read_slice(usize::from(rdata_len)).ok()?;
        if RecordType::from(rtype) != RecordType::OPT {
            fields.push((at, ttl));
        }
    }
    Some(fields)
}

/// Everything the UDP path does to a datagram before an answer is looked up, with what must
/// hold for any bytes at all; run by the `dns_request` fuzz target (`crates/gateway/fuzz`).
/// Panics when a property fails.
#[doc(hidden)]
pub fn check_datagram(datagram: &[u8]) {
    if let Some(((group, key), question_len)) = key_of(datagram, 3) {
        assert_eq!(group, 3);
        assert!(question_len <= key.len() && 12 + question_len <= datagram.len());
        // The id and flags are not part of the question.
        let mut other = datagram.to_vec();
        other[0] ^= 0xff;
        other[2] ^= 0x01;
        assert_eq!(key_of(&other, 3).map(|k| k.0.1), Some(key.clone()));
        let mut response = datagram.to_vec();
        personalise(&mut response, datagram, question_len);
        assert_eq!(response, datagram);
        // A stranger's REFUSED is never larger than what was asked.
        let refused = super::handler::refused_bytes(datagram, question_len);
        assert!(refused.is_some_and(|r| r.len() <= datagram.len() && r[3] & 0x0f == 5));
    }
    if let Some(edns) = datagram.get(12..).and_then(without_cookie) {
        assert!(edns.len() + 12 <= datagram.len());
    }
    // The same bytes taken for an answer to keep: every TTL found lies within them.
    if let Some(fields) = ttl_fields(datagram) {
        assert!(
            fields
                .iter()
                .all(|&(at, _)| usize::from(at) + 4 <= datagram.len())
        );
    }
    let src = std::net::SocketAddr::from(([127, 0, 0, 1], 5353));
    if super::handler::read_request(datagram, src).is_none() {
        match super::handler::formerr_bytes(datagram) {
            Some(r) => assert!(r.len() == 12 && r[2] & 0x80 != 0 && r[3] & 0x0f == 1),
            None => assert!(datagram.len() < 12),
        }
    }
}

/// Copies the client's id, RD and CD flags and the question's letter case into a cached answer.
fn personalise(response: &mut [u8], request: &[u8], question_len: usize) {
    if response.len() < 12 + question_len || request.len() < 12 + question_len {
        return;
    }
    response[0] = request[0];
    response[1] = request[1];
    response[2] = (response[2] & !0x01) | (request[2] & 0x01);
    response[3] = (response[3] & !0x10) | (request[3] & 0x10);
    response[12..12 + question_len].copy_from_slice(&request[12..12 + question_len]);
}

/// Longest a miss's answer may wait for room in the socket's send buffer.
const SEND_TIMEOUT: Duration = Duration::from_millis(20);

/// Datagrams taken from the socket (and answers written to it) per system call.
const BATCH: usize = 32;

/// Serves one UDP socket on a thread of its own until `stop` is set: up to [`BATCH`] datagrams
/// per receive (`recvmmsg`), the answers found in the cache written back together
/// (`sendmmsg`), and every other question handed to the runtime as a task that writes its own
/// answer on the same socket.
pub fn serve_udp(
    socket: std::net::UdpSocket,
    sites: Arc<Sites<Handler>>,
    cache: Arc<AnswerCache>,
    runtime: tokio::runtime::Handle,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg};
    use std::io::{IoSlice, IoSliceMut};
    use std::os::fd::AsRawFd;

    let socket = Arc::new(socket);
    let fd = socket.as_raw_fd();
    let mut bufs = vec![[0u8; 4096]; BATCH];
    let mut received: Vec<(usize, Option<SocketAddr>)> = Vec::with_capacity(BATCH);
    let mut answers: Vec<Vec<u8>> = (0..BATCH).map(|_| Vec::with_capacity(512)).collect();
    let mut destinations: Vec<Option<SockaddrStorage>> = Vec::with_capacity(BATCH);
    // The cached answers' log entries and metrics, made once the answers are sent.
    let mut answered: Vec<(SocketAddr, usize, u16, AnswerFacts)> = Vec::with_capacity(BATCH);
    let mut recv_headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    let mut send_headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        received.clear();
        {
            let mut slices: Vec<[IoSliceMut<'_>; 1]> = bufs
                .iter_mut()
                .map(|b| [IoSliceMut::new(&mut b[..])])
                .collect();
            // The socket's receive timeout ends the wait now and then, to look at `stop`.
            match recvmmsg(
                fd,
                &mut recv_headers,
                slices.iter_mut(),
                MsgFlags::MSG_WAITFORONE,
                None,
            ) {
                Ok(messages) => received.extend(
                    messages.map(|m| (m.bytes, m.address.as_ref().and_then(to_socket_addr))),
                ),
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    tracing::debug!(error = %e, "UDP receive failed");
                    continue;
                }
            }
        }
        destinations.clear();
        for (i, &(n, src)) in received.iter().enumerate() {
            let Some(src) = src else { continue };
            let datagram = &bufs[i][..n.min(4096)];
            let (site, handler) = sites.of(src.ip());
            if !handler.admits(src.ip()) {
                // Strangers get REFUSED, no larger than their question, and never a cached
                // answer; garbage from them gets nothing.
                let refused = key_of(datagram, 0)
                    .and_then(|(_, qlen)| super::handler::refused_bytes(datagram, qlen));
                if let Some(r) = refused {
                    let slot = destinations.len();
                    answers[slot].clear();
                    answers[slot].extend_from_slice(&r);
                    destinations.push(Some(SockaddrStorage::from(src)));
                }
                handler.stats().count(LogVerdict::Refused);
                continue;
            }
            let group = handler.group_index(src.ip());
            let generation = handler.generation();
            let key = key_of(datagram, handler.cache_group(group));
            let slot = destinations.len();
            if let Some((key, qlen)) = &key
                && let Some(facts) =
                    cache.get_into(key, Instant::now(), generation, &mut answers[slot])
            {
                personalise(&mut answers[slot], datagram, *qlen);
                destinations.push(Some(SockaddrStorage::from(src)));
                answered.push((src, site, group, facts));
                continue;
            }
            handler.stats().cache_misses.inc();
            let (socket, handler, cache) = (socket.clone(), handler.clone(), cache.clone());
            let datagram = datagram.to_vec();
            runtime.spawn(async move {
                answer_fully(
                    &socket,
                    &handler,
                    &cache,
                    datagram,
                    src,
                    key.map(|k| k.0),
                    generation,
                )
                .await;
            });
        }
        let mut sent = 0;
        while sent < destinations.len() {
            let slices: Vec<[IoSlice<'_>; 1]> = answers[sent..destinations.len()]
                .iter()
                .map(|a| [IoSlice::new(a)])
                .collect();
            match sendmmsg(
                fd,
                &mut send_headers,
                slices.iter(),
                &destinations[sent..],
                [],
                MsgFlags::empty(),
            ) {
                Ok(results) => {
                    let n = results.count();
                    if n == 0 {
                        break;
                    }
                    sent += n;
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => {
                    // The send timeout passed or the client is gone: UDP answers are best
                    // effort, and the client asks again.
                    tracing::debug!(error = %e, "UDP send failed");
                    break;
                }
            }
        }
        for (src, site, group, facts) in answered.drain(..) {
            if let Some(handler) = sites.all().get(site) {
                handler.record_cached(src, group, &facts);
            }
        }
    }
}

fn to_socket_addr(addr: &nix::sys::socket::SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(SocketAddr::V4(std::net::SocketAddrV4::from(*v4)));
    }
    addr.as_sockaddr_in6()
        .map(|v6| SocketAddr::V6(std::net::SocketAddrV6::from(*v6)))
}

/// Makes `socket` ready for [`serve_udp`]: blocking receives that wake every half second to
/// see whether the server is stopping, and sends that give up rather than stall a task.
pub fn prepare_socket(socket: &std::net::UdpSocket) -> std::io::Result<()> {
    socket.set_nonblocking(false)?;
    socket.set_read_timeout(Some(Duration::from_millis(500)))?;
    socket.set_write_timeout(Some(SEND_TIMEOUT))
}

async fn answer_fully(
    socket: &std::net::UdpSocket,
    handler: &Handler,
    cache: &AnswerCache,
    datagram: Vec<u8>,
    src: SocketAddr,
    key: Option<Key>,
    generation: u64,
) {
    let Some(answer) = handler.answer_udp(datagram, src).await else {
        return;
    };
    let _ = socket.send_to(&answer.response, src);
    if let (Some(key), Some(ttl)) = (key, answer.reuse_for) {
        cache.put(
            key,
            answer.response.into_boxed_slice(),
            ttl,
            generation,
            answer.facts,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_letter_case_and_ids_but_not_edns_or_group() {
        let q = |id: u8, name: &[u8], extra: &[u8]| {
            let mut v = vec![
                0,
                id,
                1,
                0,
                0,
                1,
                0,
                0,
                0,
                0,
                0,
                if extra.is_empty() { 0 } else { 1 },
            ];
            v.extend_from_slice(name);
            v.extend_from_slice(&[0, 1, 0, 1]);
            v.extend_from_slice(extra);
            v
        };
        let a = q(1, b"\x03WwW\x07example\x03com\x00", b"");
        let b = q(2, b"\x03www\x07EXAMPLE\x03com\x00", b"");
        let edns = q(
            3,
            b"\x03www\x07example\x03com\x00",
            &[0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0],
        );
        assert_eq!(key_of(&a, 0).map(|k| k.0), key_of(&b, 0).map(|k| k.0));
        assert_ne!(key_of(&a, 0).map(|k| k.0), key_of(&a, 1).map(|k| k.0));
        assert_ne!(key_of(&a, 0).map(|k| k.0), key_of(&edns, 0).map(|k| k.0));
        assert!(key_of(&a[..20], 0).is_none());
        // Two clients' cookies do not make two questions; other options still do.
        let opt = |options: &[u8]| {
            let mut v = vec![0, 0, 41, 4, 208, 0, 0, 0, 0];
            v.extend_from_slice(&(options.len() as u16).to_be_bytes());
            v.extend_from_slice(options);
            v
        };
        let cookie = |c: u8| [0, 10, 0, 8, c, c, c, c, c, c, c, c];
        let with_cookie = |c: u8| q(4, b"\x03www\x07example\x03com\x00", &opt(&cookie(c)));
        assert_eq!(
            key_of(&with_cookie(1), 0).map(|k| k.0),
            key_of(&with_cookie(2), 0).map(|k| k.0)
        );
        assert_eq!(
            key_of(&with_cookie(1), 0).map(|k| k.0),
            key_of(&q(5, b"\x03www\x07example\x03com\x00", &opt(&[])), 0).map(|k| k.0)
        );
        let padding = [0, 12, 0, 2, 0, 0];
        let mut cookie_and_padding = cookie(3).to_vec();
        cookie_and_padding.extend_from_slice(&padding);
        assert_eq!(
            key_of(
                &q(
                    6,
                    b"\x03www\x07example\x03com\x00",
                    &opt(&cookie_and_padding)
                ),
                0
            )
            .map(|k| k.0),
            key_of(&q(7, b"\x03www\x07example\x03com\x00", &opt(&padding)), 0).map(|k| k.0)
        );
        assert_ne!(
            key_of(&with_cookie(1), 0).map(|k| k.0),
            key_of(&q(8, b"\x03www\x07example\x03com\x00", &opt(&padding)), 0).map(|k| k.0)
        );
        // A truncated option leaves the bytes as they came.
        let broken = q(9, b"\x03www\x07example\x03com\x00", &opt(&[0, 10, 0, 8, 1]));
        assert!(key_of(&broken, 0).is_some());
        let mut response = b.clone();
        personalise(&mut response, &a, 17);
        assert_eq!(&response[..2], &a[..2]);
        assert_eq!(&response[12..29], &a[12..29]);
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn a_kept_answer_counts_its_ttls_down_and_leaves_edns_alone() {
        use hickory_proto::op::{Edns, Message, MessageType, OpCode};
        use hickory_proto::rr::rdata::{A, CNAME};
        use hickory_proto::rr::{Name, RData, Record, RecordType};
        use hickory_proto::serialize::binary::BinEncodable;
        let name = Name::from_ascii("www.example.com.").unwrap();
        let target = Name::from_ascii("cdn.example.net.").unwrap();
        let mut m = Message::new(7, MessageType::Response, OpCode::Query);
        m.add_query(Query::query(name.clone(), RecordType::A));
        m.add_answer(Record::from_rdata(
            name.clone(),
            300,
            RData::CNAME(CNAME(target.clone())),
        ));
        m.add_answer(Record::from_rdata(
            target,
            40,
            RData::A(A::new(192, 0, 2, 1)),
        ));
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        m.set_edns(edns);
        let response = m.to_bytes().unwrap();
        let mut q = Message::new(7, MessageType::Query, OpCode::Query);
        q.add_query(Query::query(name, RecordType::A));
        let (key, _) = key_of(&q.to_bytes().unwrap(), 0).unwrap();

        let cache = AnswerCache::new(10);
        let facts = AnswerFacts {
            host: "www.example.com".into(),
            qtype: "A".into(),
            verdict: LogVerdict::Allow,
            category: None,
            rule: None,
        };
        cache.put(
            key.clone(),
            response.clone().into_boxed_slice(),
            Duration::from_secs(40),
            1,
            facts,
        );
        let later = Instant::now() + Duration::from_secs(25);
        let mut out = Vec::new();
        assert!(cache.get_into(&key, later, 1, &mut out).is_some());
        let kept = Message::from_vec(&out).unwrap();
        let ttls: Vec<u32> = kept.answers.iter().map(|r| r.ttl).collect();
        // 24 or 25 seconds off, as the clock ticked between storing and now.
        assert!(
            ttls == [276, 16] || ttls == [275, 15],
            "TTLs counted down: {ttls:?}"
        );
        assert_eq!(kept.edns.map(|e| e.max_payload()), Some(1232));
        // Past the shortest TTL it is not reused at all.
        let expired = Instant::now() + Duration::from_secs(41);
        assert!(cache.get_into(&key, expired, 1, &mut out).is_none());
        // Nor under another generation of the policy.
        assert!(cache.get_into(&key, later, 2, &mut out).is_none());
        assert_eq!(ttl_fields(&response[..20]), None);
    }

    #[test]
    fn the_fuzz_targets_properties_hold_for_well_formed_and_broken_datagrams() {
        let query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01\x03www\x07example\x03com\x00\x00\x01\x00\x01\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x0c\x00\x0a\x00\x08abcdefgh";
        check_datagram(query);
        for n in 0..query.len() {
            check_datagram(&query[..n]);
        }
        check_datagram(b"");
        check_datagram(&[0xff; 40]);
        // Found by the fuzz target: a question name that points into the header would be the
        // same bytes for different names, so it never takes the fast path.
        let pointing = [
            0, 245, 7, 203, 0, 1, 0, 0, 0, 0, 0, 0, 4, 0, 203, 1, 192, 1, 192, 192, 0, 36, 0, 192,
            0, 14, 196, 0,
        ];
        check_datagram(&pointing);
        assert!(key_of(&pointing, 0).is_none());
    }
}
