//! List parsers. Each turns a file's text into normalised entries with their line numbers and a
//! report: lines read, entries accepted, rule kinds skipped, and every invalid line with why.

pub mod adblock;
pub mod domains;
pub mod hosts;
pub mod rpz;

use crate::normalize::{BadName, normalize_host};

/// One listed name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub line: u32,
    /// An exception (`@@||d^`, `rpz-passthru.`): lifts the list's category instead of adding it.
    pub exception: bool,
}

/// A line that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: u32,
    pub message: String,
}

/// What parsing one file found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseReport {
    pub file: String,
    pub lines: u32,
    pub accepted: u32,
    /// Rules of kinds this engine does not apply (cosmetic AdBlock rules, IP rules...).
    pub skipped: u32,
    /// Invalid lines; the first [`MAX_PROBLEMS`] are kept in `problems`.
    pub invalid: u32,
    pub problems: Vec<Problem>,
}

/// Problems kept per file (the count goes on).
pub const MAX_PROBLEMS: usize = 50;

impl ParseReport {
    fn new(file: &str) -> ParseReport {
        ParseReport {
            file: file.to_string(),
            ..ParseReport::default()
        }
    }

    fn invalid(&mut self, line: u32, message: impl Into<String>) {
        self.invalid += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                line,
                message: message.into(),
            });
        }
    }
}

/// Parsed entries and the report.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub entries: Vec<Entry>,
    pub report: ParseReport,
}

impl Parsed {
    fn new(file: &str) -> Parsed {
        Parsed {
            entries: Vec::new(),
            report: ParseReport::new(file),
        }
    }

    /// Normalises and adds a name, or records why not.
    fn push(&mut self, raw: &str, line: u32, exception: bool) {
        match normalize_host(raw) {
            Ok(name) => {
                self.report.accepted += 1;
                self.entries.push(Entry {
                    name,
                    line,
                    exception,
                });
            }
            Err(BadName::IpLiteral) => self.report.skipped += 1,
            Err(e) => self
                .report
                .invalid(line, format!("`{}`: {e}", shorten(raw))),
        }
    }
}

/// At most 80 characters of a line, for messages.
fn shorten(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Parses a list with `#` comments: `each` gets every line that is not blank once its comment
/// is cut, with its number; every line counts in the report.
fn parse_commented(text: &str, file: &str, mut each: impl FnMut(&mut Parsed, u32, &str)) -> Parsed {
    let mut out = Parsed::new(file);
    for (n, line) in numbered(text) {
        out.report.lines = n;
        let line = line.split('#').next().unwrap_or_default().trim();
        if !line.is_empty() {
            each(&mut out, n, line);
        }
    }
    out
}

/// Lines with their 1-based numbers, without a trailing `\r`.
fn numbered(text: &str) -> impl Iterator<Item = (u32, &str)> {
    // A byte-order mark is not part of the first line.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines().enumerate().map(|(i, l)| {
        (
            u32::try_from(i + 1).unwrap_or(u32::MAX),
            l.trim_end_matches('\r'),
        )
    })
}
