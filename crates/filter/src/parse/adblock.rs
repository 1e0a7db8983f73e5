//! AdBlock-style lists: network rules `||domain^` block a domain and its subdomains,
//! `@@||domain^` are exceptions. Every other rule kind (cosmetic `##`, paths, regular
//! expressions, options other than `$important`) is counted as skipped: a DNS filter cannot
//! apply them.

use super::{Parsed, numbered};

/// Parses an AdBlock list.
pub fn parse(text: &str, file: &str) -> Parsed {
    let mut out = Parsed::new(file);
    for (n, line) in numbered(text) {
        out.report.lines = n;
        let line = line.trim();
        if line.is_empty() || line.starts_with('!') || line.starts_with('[') {
            continue;
        }
        let (exception, rule) = match line.strip_prefix("@@") {
            Some(r) => (true, r),
            None => (false, line),
        };
        let Some(rest) = rule.strip_prefix("||") else {
            out.report.skipped += 1;
            continue;
        };
        let (body, options) = match rest.split_once('$') {
            Some((b, o)) => (b, Some(o)),
            None => (rest, None),
        };
        if options.is_some_and(|o| o != "important") {
            out.report.skipped += 1;
            continue;
        }
        let Some(domain) = body.strip_suffix('^').or_else(|| body.strip_suffix("^|")) else {
            out.report.skipped += 1;
            continue;
        };
        if domain.contains(['/', '*', '|']) {
            out.report.skipped += 1;
            continue;
        }
        out.push(domain, n, exception);
    }
    out
}
