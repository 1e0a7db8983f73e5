//! RPZ zone files: `d CNAME .` and `*.d CNAME .` block (NXDOMAIN), `d CNAME rpz-passthru.`
//! allows. Names relative to `$ORIGIN` are made absolute and the zone's origin removed. Other
//! actions (NODATA `*.`, local data, IP triggers) are counted as skipped.

use super::{Parsed, numbered};

/// Parses an RPZ zone.
pub fn parse(text: &str, file: &str) -> Parsed {
    let mut out = Parsed::new(file);
    let mut origin = String::new();
    for (n, line) in numbered(text) {
        out.report.lines = n;
        let line = line.split(';').next().unwrap_or_default();
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields[0].eq_ignore_ascii_case("$ORIGIN") {
            origin = fields
                .get(1)
                .map(|o| o.trim_end_matches('.').to_ascii_lowercase())
                .unwrap_or_default();
            continue;
        }
        if fields[0].starts_with('$')
            || line.starts_with([' ', '\t'])
            || line.contains('(')
            || line.contains(')')
        {
            // Directives, continuation lines and the SOA's parenthesised fields.
            continue;
        }
        let Some(pos) = fields.iter().position(|f| f.eq_ignore_ascii_case("CNAME")) else {
            // SOA, NS and other record types carry no policy.
            if !fields
                .iter()
                .any(|f| ["SOA", "NS"].contains(&f.to_ascii_uppercase().as_str()))
            {
                out.report.skipped += 1;
            }
            continue;
        };
        let (Some(owner), Some(target)) = (fields.first(), fields.get(pos + 1)) else {
            out.report.invalid(n, "CNAME without a target");
            continue;
        };
        let mut name = owner.to_ascii_lowercase();
        if !name.ends_with('.') && !origin.is_empty() {
            name = format!("{name}.{origin}");
        }
        let name = name.trim_end_matches('.');
        let name = if !origin.is_empty() {
            name.strip_suffix(&format!(".{origin}")).unwrap_or(name)
        } else {
            name
        };
        let name = name.strip_prefix("*.").unwrap_or(name);
        match *target {
            "." => out.push(name, n, false),
            t if t.eq_ignore_ascii_case("rpz-passthru.") => out.push(name, n, true),
            _ => out.report.skipped += 1,
        }
    }
    out
}
