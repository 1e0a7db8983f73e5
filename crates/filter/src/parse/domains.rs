//! Plain domain lists: one name per line, `#` comments; a leading `*.` or `.` is accepted.

use super::{Parsed, numbered};

/// Parses a plain domain list.
pub fn parse(text: &str, file: &str) -> Parsed {
    let mut out = Parsed::new(file);
    for (n, line) in numbered(text) {
        out.report.lines = n;
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let name = line.trim_start_matches("*.").trim_start_matches('.');
        out.push(name, n, false);
    }
    out
}
