//! The proxy's finer layers: URL lists (a host and a path prefix, as in UT1's `urls` files) and
//! keyword lists matched in search terms and addresses after normalisation (case, diacritics,
//! letter-for-digit swaps), with Aho-Corasick.

use crate::normalize::{host_of, normalize_host};
use crate::parse::{ParseReport, Parsed, Problem};
use aho_corasick::{AhoCorasick, MatchKind};
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

/// One listed URL prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlRule {
    /// The path prefix, lower-case, starting with `/`.
    pub path: String,
    pub category: u64,
    pub source: String,
}

/// URL prefixes by host.
#[derive(Debug, Clone, Default)]
pub struct UrlIndex {
    by_host: HashMap<String, Vec<UrlRule>>,
}

/// Parses a URL list: `host/path` per line, `#` comments. Returns the entries as
/// (host, path prefix, line) and the report.
pub fn parse_urls(text: &str, file: &str) -> (Vec<(String, String, u32)>, ParseReport) {
    let mut report = Parsed::default().report;
    report.file = file.to_string();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        report.lines = n;
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let rest = line.split_once("://").map(|(_, r)| r).unwrap_or(line);
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        match normalize_host(host.split(':').next().unwrap_or_default()) {
            Ok(h) => {
                report.accepted += 1;
                out.push((h, path.to_lowercase(), n));
            }
            Err(e) => {
                report.invalid += 1;
                if report.problems.len() < crate::parse::MAX_PROBLEMS {
                    report.problems.push(Problem {
                        line: n,
                        message: format!("`{line}`: {e}"),
                    });
                }
            }
        }
    }
    (out, report)
}

impl UrlIndex {
    /// Adds a rule.
    pub fn add(&mut self, host: String, path: String, category: u64, source: String) {
        self.by_host.entry(host).or_default().push(UrlRule {
            path,
            category,
            source,
        });
    }

    /// Rules covering `url` (its host or a parent domain, and a path prefix), most specific host
    /// first.
    pub fn matches<'a>(&'a self, url: &str) -> Vec<(&'a str, &'a UrlRule)> {
        let Ok(host) = host_of(url) else {
            return Vec::new();
        };
        let path = crate::normalize::path_of(url).to_lowercase();
        let mut out = Vec::new();
        let mut start = 0;
        loop {
            if let Some((h, rules)) = self.by_host.get_key_value(&host[start..]) {
                for r in rules.iter().filter(|r| path.starts_with(&r.path)) {
                    out.push((h.as_str(), r));
                }
            }
            match host[start..].find('.') {
                Some(i) => start += i + 1,
                None => break,
            }
        }
        out
    }

    /// How many rules there are.
    pub fn len(&self) -> usize {
        self.by_host.values().map(Vec::len).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_host.is_empty()
    }
}

/// Parses a keyword list: one word or phrase per line, `#` starts a comment. Returns each
/// keyword with its line number.
pub fn parse_keywords(text: &str, file: &str) -> (Vec<(String, u32)>, ParseReport) {
    let mut report = ParseReport {
        file: file.to_string(),
        ..ParseReport::default()
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        report.lines = n;
        let word = line
            .trim_start_matches('\u{feff}')
            .split('#')
            .next()
            .unwrap_or_default()
            .trim();
        if !word.is_empty() {
            report.accepted += 1;
            out.push((word.to_string(), n));
        }
    }
    (out, report)
}

/// Folds text for keyword matching: lower-case, no diacritics, common letter-for-digit and
/// symbol swaps (`0`→o, `1`→i, `3`→e, `4`→a, `5`→s, `7`→t, `@`→a, `$`→s), a doubled letter
/// to one (the commonest misspelling: "suiicide", "harmm", and "kill" matching "kil"), runs of
/// separators to one space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    let mut last = ' ';
    for c in text
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
    {
        let c = match c.to_ascii_lowercase() {
            '0' => 'o',
            '1' | '!' | '|' => 'i',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            c => c,
        };
        let c = c.to_lowercase().next().unwrap_or(c);
        if c.is_alphanumeric() {
            if c != last || c.is_ascii_digit() {
                out.push(c);
            }
            last = c;
            space = false;
        } else if !space {
            last = ' ';
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Keyword lists compiled into one automaton.
#[derive(Debug, Clone, Default)]
pub struct Keywords {
    automaton: Option<AhoCorasick>,
    /// Per pattern: (the keyword as listed, its payload (a category bit, or a list number for the
    /// monitor), `file:line`).
    patterns: Vec<(String, u64, String)>,
}

/// A keyword found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordHit<'a> {
    pub keyword: &'a str,
    pub category: u64,
    pub source: &'a str,
}

impl Keywords {
    /// Compiles `(keyword, category bit, source)` entries; keywords are folded first and match
    /// whole words of the folded text.
    pub fn new(entries: Vec<(String, u64, String)>) -> Keywords {
        // Matched folded; shown as written in the list.
        let (folded, patterns): (Vec<String>, Vec<(String, u64, String)>) = entries
            .into_iter()
            .map(|(k, c, s)| (fold(&k), (k.trim().to_string(), c, s)))
            .filter(|(f, _)| !f.is_empty())
            .unzip();
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(folded.iter().map(|f| format!(" {f} ")))
            .ok();
        Keywords {
            automaton,
            patterns,
        }
    }

    /// Every keyword in `text` (after folding), in order of appearance.
    pub fn find<'a>(&'a self, text: &str) -> Vec<KeywordHit<'a>> {
        let Some(ac) = &self.automaton else {
            return Vec::new();
        };
        let folded = format!(" {} ", fold(text));
        ac.find_iter(&folded)
            .filter_map(|m| self.patterns.get(m.pattern().as_usize()))
            .map(|(k, c, s)| KeywordHit {
                keyword: k,
                category: *c,
                source: s,
            })
            .collect()
    }

    /// How many keywords there are.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

/// The search terms of a request to a known search engine: Google, Bing and DuckDuckGo `q`,
/// YouTube `search_query`.
pub fn search_terms(url: &str) -> Option<String> {
    let host = host_of(url).ok()?;
    let param = if host.ends_with("youtube.com") {
        "search_query"
    } else if ["google.", "bing.com", "duckduckgo.com"]
        .iter()
        .any(|d| host.contains(d))
    {
        "q"
    } else {
        return None;
    };
    let query = url.split_once('?')?.1.split('#').next()?;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == param).then(|| percent_decode(v))
    })
}

fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_undoes_case_accents_and_digit_swaps() {
        assert_eq!(fold("  Séx  T0YS!! "), "sex toysi");
        assert_eq!(fold("K1LL MY$ELF"), "kil myself");
        assert_eq!(fold("Ünïcødé"), "unicøde");
        // A doubled letter is the commonest misspelling: both forms fold alike.
        assert_eq!(fold("suiicide"), fold("suicide"));
        assert_eq!(fold("selff harmm"), fold("self harm"));
    }

    #[test]
    fn keywords_match_whole_words_after_folding() {
        let k = Keywords::new(vec![
            ("kill myself".into(), 1, "selfharm.txt:3".into()),
            ("bomb".into(), 2, "violence.txt:1".into()),
            ("suicidio".into(), 1, "selfharm-es.txt:1".into()),
        ]);
        let hits = k.find("how to K1ll   my$elf");
        assert_eq!(hits.len(), 1);
        assert_eq!(
            (hits[0].keyword, hits[0].source),
            ("kill myself", "selfharm.txt:3")
        );
        assert_eq!(k.find("kiill myselff").len(), 1, "misspelt by doubling");
        assert!(
            k.find("bombastic adjectives").is_empty(),
            "whole words only"
        );
        assert_eq!(k.find("Suicidió").len(), 1);
    }

    #[test]
    fn search_terms_come_from_known_engines_only() {
        assert_eq!(
            search_terms("https://www.google.co.uk/search?q=kill+my%24elf&hl=en").as_deref(),
            Some("kill my$elf")
        );
        assert_eq!(
            search_terms("https://www.youtube.com/results?search_query=cats").as_deref(),
            Some("cats")
        );
        assert_eq!(
            search_terms("https://duckduckgo.com/?q=a%2"),
            Some("a%2".into())
        );
        assert_eq!(search_terms("https://example.com/?q=x"), None);
    }

    #[test]
    fn url_rules_match_host_suffix_and_path_prefix() {
        let mut u = UrlIndex::default();
        let (rules, report) = parse_urls(
            "example.com/games\nbad host/x\nvideo.test/watch?v=1\n",
            "urls",
        );
        assert_eq!(report.invalid, 1);
        for (h, p, n) in rules {
            u.add(h, p, 1, format!("urls:{n}"));
        }
        assert_eq!(u.matches("http://www.example.com/Games/chess").len(), 1);
        assert!(u.matches("http://example.com/maths").is_empty());
        assert!(u.matches("http://notexample.com/games").is_empty());
        assert_eq!(
            u.matches("https://video.test/watch?v=1&t=3")[0].1.source,
            "urls:3"
        );
    }
}
