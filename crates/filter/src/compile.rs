//! Reading the lists a profile names (or paths given on the command line) into an index.

use crate::FilterError;
use crate::circumvention::{CIRCUMVENTION, DOH_RESOLVERS};
use crate::index::{Index, IndexBuilder};
use crate::parse::{self, ParseReport, Parsed};
use crate::urls::{Keywords, UrlIndex, parse_urls};
use policy::profile::filtering::{FilteringPolicy, ListFormat, ListSource};
use std::path::{Path, PathBuf};

/// What a compile read and built.
#[derive(Debug, Clone, Default)]
pub struct CompileReport {
    pub files: Vec<ParseReport>,
    pub entries: usize,
    pub duplicates: u64,
    /// Categories a group blocks that no list provides (a likely typo in the profile).
    pub unknown_categories: Vec<String>,
}

/// A list to read: where, its format, its category (UT1: from folder names) and whether it is
/// mandatory.
#[derive(Debug, Clone)]
pub struct ListFile {
    pub path: PathBuf,
    pub format: ListFormat,
    pub category: String,
    pub mandatory: bool,
    /// A downloaded copy of a remote list: if it is not there yet, the compile reports it and
    /// goes on rather than failing.
    pub optional: bool,
}

impl ListFile {
    /// Guesses the format from the file name and first lines: a directory is UT1, `*.zone` RPZ,
    /// lines starting `||` AdBlock, lines starting with an address a hosts file, else domains.
    pub fn guess(path: &Path, category: &str) -> Result<ListFile, FilterError> {
        let format = if path.is_dir() {
            ListFormat::Ut1
        } else if path.extension().is_some_and(|e| e == "zone" || e == "rpz") {
            ListFormat::Rpz
        } else {
            let text = read(path)?;
            let first = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
                .unwrap_or_default();
            if first.starts_with("||") || first.starts_with("@@") {
                ListFormat::Adblock
            } else if first
                .split_whitespace()
                .next()
                .is_some_and(|w| w.parse::<std::net::IpAddr>().is_ok())
            {
                ListFormat::Hosts
            } else {
                ListFormat::Domains
            }
        };
        Ok(ListFile {
            path: path.to_path_buf(),
            format,
            category: category.to_string(),
            mandatory: false,
            optional: false,
        })
    }
}

fn read(path: &Path) -> Result<String, FilterError> {
    let bytes = std::fs::read(path).map_err(|e| FilterError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    // Lists in the wild are sometimes Latin-1: keep going, invalid names are reported per line.
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    // A byte-order mark is not part of the first name.
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

fn parse_file(format: ListFormat, text: &str, file: &str) -> Parsed {
    match format {
        ListFormat::Hosts => parse::hosts::parse(text, file),
        ListFormat::Adblock => parse::adblock::parse(text, file),
        ListFormat::Rpz => parse::rpz::parse(text, file),
        ListFormat::Domains | ListFormat::Ut1 | ListFormat::Urls | ListFormat::Keywords => {
            parse::domains::parse(text, file)
        }
    }
}

fn add(builder: &mut IndexBuilder, parsed: &Parsed, category: u64) {
    let source = builder.source(&parsed.report.file);
    for e in &parsed.entries {
        builder.add(&e.name, category, e.exception, source, e.line);
    }
}

/// The proxy's finer layers, compiled beside the index (they are small and not in snapshots),
/// with their own category names: two schools with the same name lists share one index even
/// when their keyword lists differ.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    pub urls: UrlIndex,
    pub keywords: Keywords,
    pub categories: crate::Categories,
}

/// Whether a list of `format` goes to the proxy's layers (URLs, keywords) rather than the index
/// of names.
pub fn is_layer(format: ListFormat) -> bool {
    matches!(format, ListFormat::Urls | ListFormat::Keywords)
}

/// The categories that have their reserved test name in the index (one each, however many
/// lists share the category).
#[derive(Default)]
struct TestNames(Vec<String>);

impl TestNames {
    /// Lists `category`'s reserved test name ([`crate::selftest::test_name`]) under `bit`, the
    /// way the IWF's list carries its own test URLs, once per category.
    fn add(&mut self, builder: &mut IndexBuilder, category: &str, bit: u64) {
        if self.0.iter().any(|c| c == category) {
            return;
        }
        self.0.push(category.to_string());
        let source = builder.source("built-in: self-test names");
        builder.add(&crate::selftest::test_name(category), bit, false, source, 0);
    }
}

/// Reads the name lists of `lists` into an index (with the built-in DoH resolver list as
/// `circumvention`, and each category's reserved test name); URL and keyword lists are left
/// to [`compile_layers`]. `progress` is told each file as it starts.
pub fn compile(
    lists: &[ListFile],
    mut progress: impl FnMut(&Path),
) -> Result<(Index, CompileReport), FilterError> {
    let mut builder = IndexBuilder::new();
    let mut report = CompileReport::default();
    let mut tested = TestNames::default();
    for list in lists.iter().filter(|l| !is_layer(l.format)) {
        progress(&list.path);
        if not_there(list, &mut report) {
            continue;
        }
        if list.format == ListFormat::Ut1 {
            let mut dirs: Vec<PathBuf> = std::fs::read_dir(&list.path)
                .map_err(|e| FilterError::Read {
                    path: list.path.display().to_string(),
                    message: e.to_string(),
                })?
                .filter_map(|d| d.ok().map(|d| d.path()))
                .filter(|p| p.join("domains").is_file())
                .collect();
            dirs.sort();
            for dir in dirs {
                let category = dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let file = dir.join("domains");
                let parsed = parse_file(
                    ListFormat::Domains,
                    &read(&file)?,
                    &file.display().to_string(),
                );
                let bit = builder.category(&category, list.mandatory)?;
                add(&mut builder, &parsed, bit);
                tested.add(&mut builder, &category, bit);
                report.files.push(parsed.report);
            }
        } else {
            let parsed = parse_file(
                list.format,
                &read(&list.path)?,
                &list.path.display().to_string(),
            );
            let bit = builder.category(&list.category, list.mandatory)?;
            add(&mut builder, &parsed, bit);
            tested.add(&mut builder, &list.category, bit);
            report.files.push(parsed.report);
        }
    }
    let bit = builder.category(CIRCUMVENTION, false)?;
    let source = builder.source("built-in: public DoH resolvers");
    for (i, name) in DOH_RESOLVERS.iter().enumerate() {
        builder.add(name, bit, false, source, u32::try_from(i + 1).unwrap_or(0));
    }
    tested.add(&mut builder, CIRCUMVENTION, bit);
    report.duplicates = builder.duplicates;
    let index = builder.build();
    report.entries = index.len();
    Ok((index, report))
}

/// Reads the URL and keyword lists of `lists` into the proxy's layers (the name lists are left
/// to [`compile`]).
pub fn compile_layers(
    lists: &[ListFile],
    mut progress: impl FnMut(&Path),
) -> Result<(Layers, CompileReport), FilterError> {
    let mut report = CompileReport::default();
    let mut layers = Layers::default();
    let mut keywords = Vec::new();
    for list in lists.iter().filter(|l| is_layer(l.format)) {
        progress(&list.path);
        if not_there(list, &mut report) {
            continue;
        }
        let name = list.path.display().to_string();
        let text = read(&list.path)?;
        let bit = layers.categories.add(&list.category, list.mandatory)?;
        if list.format == ListFormat::Urls {
            let (rules, url_report) = parse_urls(&text, &name);
            for (host, path, line) in rules {
                layers.urls.add(host, path, bit, format!("{name}:{line}"));
            }
            report.files.push(url_report);
        } else {
            let (words, kw_report) = crate::urls::parse_keywords(&text, &name);
            for (word, line) in words {
                keywords.push((word, bit, format!("{name}:{line}")));
            }
            report.files.push(kw_report);
        }
    }
    layers.keywords = Keywords::new(keywords);
    Ok((layers, report))
}

/// Both: the index of the name lists and the layers of the URL and keyword lists, with one
/// report (the name lists' files first).
pub fn compile_all(
    lists: &[ListFile],
    mut progress: impl FnMut(&Path),
) -> Result<(Index, Layers, CompileReport), FilterError> {
    let (index, mut report) = compile(lists, &mut progress)?;
    let (layers, layer_report) = compile_layers(lists, &mut progress)?;
    report.files.extend(layer_report.files);
    Ok((index, layers, report))
}

/// Whether `list` is a remote list not downloaded yet (reported, and not in force).
fn not_there(list: &ListFile, report: &mut CompileReport) -> bool {
    if !list.optional || list.path.exists() {
        return false;
    }
    report.files.push(ParseReport {
        file: list.path.display().to_string(),
        invalid: 1,
        problems: vec![crate::parse::Problem {
            line: 0,
            message: "not downloaded yet (palisade lists refresh): this list is not in force"
                .into(),
        }],
        ..ParseReport::default()
    });
    true
}

/// The lists `sources` declare (a profile's `filtering.lists`, a trust's `lists`), with
/// relative paths resolved against `base` (the profile's folder). Lists given by URL are read
/// from `cache_dir/<name>` (downloaded by the gateway).
pub fn lists_of(sources: &[ListSource], base: &Path, cache_dir: &Path) -> Vec<ListFile> {
    sources
        .iter()
        .map(|l| ListFile {
            path: match (&l.path, &l.url) {
                (Some(p), _) => base.join(p),
                (None, _) => cache_dir.join(&l.name),
            },
            format: l.format,
            category: l.category.clone().unwrap_or_else(|| l.name.clone()),
            mandatory: l.mandatory,
            optional: l.path.is_none(),
        })
        .collect()
}

/// `first` and then each list of `then` that is not already among them (the same file, read
/// the same way): a trust's lists before a school's own.
pub fn merged(first: &[ListFile], then: Vec<ListFile>) -> Vec<ListFile> {
    let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = first.to_vec();
    for list in then {
        let here = real(&list.path);
        let again = out.iter().any(|o| {
            o.format == list.format
                && o.category == list.category
                && o.mandatory == list.mandatory
                && real(&o.path) == here
        });
        if !again {
            out.push(list);
        }
    }
    out
}

/// Group categories no list provides (neither a name list nor a URL or keyword list).
pub fn unknown_categories(policy: &FilteringPolicy, index: &Index, layers: &Layers) -> Vec<String> {
    let mut out: Vec<String> = policy
        .groups
        .iter()
        .flat_map(|g| g.block_categories.iter())
        .filter(|c| !index.categories().contains(c) && !layers.categories.names().contains(c))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}
