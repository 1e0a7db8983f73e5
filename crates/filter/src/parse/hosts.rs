//! Hosts files: `0.0.0.0 a.example b.example # comment`; the address is ignored (any sink
//! address means "block"), and the usual local names are skipped.

use super::{Parsed, numbered};
use std::net::IpAddr;

const LOCAL_NAMES: [&str; 8] = [
    "localhost",
    "localhost.localdomain",
    "local",
    "broadcasthost",
    "ip6-localhost",
    "ip6-loopback",
    "ip6-localnet",
    "0.0.0.0",
];

/// Parses a hosts file.
pub fn parse(text: &str, file: &str) -> Parsed {
    let mut out = Parsed::new(file);
    for (n, line) in numbered(text) {
        out.report.lines = n;
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split_whitespace();
        let Some(addr) = fields.next() else { continue };
        if addr.parse::<IpAddr>().is_err() {
            out.report
                .invalid(n, format!("`{addr}` is not an IP address"));
            continue;
        }
        let mut any = false;
        for name in fields {
            any = true;
            if LOCAL_NAMES.contains(&name) || name.starts_with("ip6-") {
                out.report.skipped += 1;
                continue;
            }
            out.push(name, n, false);
        }
        if !any {
            out.report.invalid(n, "an address with no host name");
        }
    }
    out
}
