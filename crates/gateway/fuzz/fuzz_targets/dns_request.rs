//! Any bytes as a UDP datagram to the DNS gateway: the cache key, the cookie-free EDNS, the TTL
//! walk and the FORMERR fallback never panic and keep their properties (see
//! `gateway::dns::check_datagram`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gateway::dns::check_datagram(data);
});
