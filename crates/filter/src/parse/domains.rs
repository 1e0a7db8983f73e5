//! Plain domain lists: one name per line, `#` comments; a leading `*.` or `.` is accepted.

use super::{Parsed, parse_commented};

/// Parses a plain domain list.
pub fn parse(text: &str, file: &str) -> Parsed {
    parse_commented(text, file, |out, n, line| {
        let name = line.trim_start_matches("*.").trim_start_matches('.');
        out.push(name, n, false);
    })
}
