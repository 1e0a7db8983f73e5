//! Host names as the index stores them: lower-case ASCII (IDN as punycode), no trailing dot,
//! every label 1-63 of letters, digits, `-` or `_`, at most 253 characters.

use std::net::IpAddr;

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadName {
    Empty,
    TooLong,
    EmptyLabel,
    LabelTooLong,
    BadCharacter,
    /// An IP address, which is not a host name (callers treat it on its own).
    IpLiteral,
}

impl std::fmt::Display for BadName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BadName::Empty => "empty name",
            BadName::TooLong => "name longer than 253 characters",
            BadName::EmptyLabel => "empty label (two dots in a row, or a leading dot)",
            BadName::LabelTooLong => "label longer than 63 characters",
            BadName::BadCharacter => "character not allowed in a host name",
            BadName::IpLiteral => "an IP address, not a host name",
        })
    }
}

/// Normalises a host name.
pub fn normalize_host(raw: &str) -> Result<String, BadName> {
    let trimmed = raw.trim().trim_end_matches('.');
    if trimmed.is_empty() {
        return Err(BadName::Empty);
    }
    if trimmed.parse::<IpAddr>().is_ok() || (trimmed.starts_with('[') && trimmed.ends_with(']')) {
        return Err(BadName::IpLiteral);
    }
    let ascii = if trimmed.is_ascii() {
        trimmed.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(trimmed).map_err(|_| BadName::BadCharacter)?
    };
    // IDNA mapping drops some characters (a stray byte-order mark, soft hyphens), which can
    // leave an address behind: it is still not a host name.
    if ascii.parse::<IpAddr>().is_ok() {
        return Err(BadName::IpLiteral);
    }
    if ascii.len() > 253 {
        return Err(BadName::TooLong);
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err(BadName::EmptyLabel);
        }
        if label.len() > 63 {
            return Err(BadName::LabelTooLong);
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(BadName::BadCharacter);
        }
    }
    Ok(ascii)
}

/// The host of a URL or of a bare `host[:port][/path]`: scheme, userinfo, port and path
/// stripped, then normalised. IP literals come back as `Err(IpLiteral)`.
pub fn host_of(url_or_host: &str) -> Result<String, BadName> {
    let s = url_or_host.trim();
    let s = s.split_once("://").map(|(_, rest)| rest).unwrap_or(s);
    let authority = s.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority);
    let host = if let Some(rest) = host_port.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((v6, _)) if v6.parse::<IpAddr>().is_ok() => Err(BadName::IpLiteral),
            _ => Err(BadName::BadCharacter),
        };
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    normalize_host(host)
}

/// The path (and query) of a URL, `/` if none.
pub fn path_of(url: &str) -> &str {
    let s = url.trim();
    let s = s.split_once("://").map(|(_, rest)| rest).unwrap_or(s);
    match s.find(['/', '?']) {
        Some(i) => &s[i..],
        None => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_hidden_behind_ignored_characters_is_still_an_address() {
        // Found by the hosts fuzz target: IDNA drops the byte-order mark, leaving 0.0.0.0.
        assert_eq!(normalize_host("\u{feff}0.0.0.0"), Err(BadName::IpLiteral));
        assert_eq!(normalize_host("1.2.3\u{ad}.4"), Err(BadName::IpLiteral));
    }

    #[test]
    fn names_are_lowercased_and_stripped_of_the_root_dot() {
        assert_eq!(
            normalize_host("WWW.Example.COM."),
            Ok("www.example.com".into())
        );
        assert_eq!(
            normalize_host("bücher.example"),
            Ok("xn--bcher-kva.example".into())
        );
        assert_eq!(normalize_host("a..b"), Err(BadName::EmptyLabel));
        assert_eq!(normalize_host("a b.com"), Err(BadName::BadCharacter));
        assert_eq!(normalize_host("10.0.0.1"), Err(BadName::IpLiteral));
        assert_eq!(normalize_host(&"a".repeat(64)), Err(BadName::LabelTooLong));
    }

    #[test]
    fn urls_give_their_host_without_userinfo_or_port() {
        assert_eq!(
            host_of("https://user:pw@Example.com:8443/a?b"),
            Ok("example.com".into())
        );
        assert_eq!(host_of("example.com/path"), Ok("example.com".into()));
        assert_eq!(host_of("http://[::1]:80/"), Err(BadName::IpLiteral));
        assert_eq!(path_of("http://example.com/a/b?q=1"), "/a/b?q=1");
        assert_eq!(path_of("example.com"), "/");
    }
}
