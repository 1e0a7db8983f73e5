//! Hosts files: `0.0.0.0 a.example b.example # comment`; the address is ignored (any sink
//! address means "block"), and the usual local names are skipped.

use super::{Parsed, parse_commented};
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
    parse_commented(text, file, |out, n, line| {
        let mut fields = line.split_whitespace();
        let Some(addr) = fields.next() else { return };
        if addr.parse::<IpAddr>().is_err() {
            out.report
                .invalid(n, format!("`{addr}` is not an IP address"));
            return;
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
    })
}
