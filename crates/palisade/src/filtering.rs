//! Building the filter engine from a profile's lists (and lists given on the command line), and
//! loading a compiled snapshot.

use anyhow::{Context, Result};
use filter::{CompileReport, Engine, Index, ListFile};
use policy::Profile;
use std::path::{Path, PathBuf};

/// Lists from the command line: `PATH` or `CATEGORY=PATH`; a `.bin` file is a compiled snapshot.
pub fn cli_lists(args: &[String]) -> Result<(Vec<ListFile>, Option<PathBuf>)> {
    let mut lists = Vec::new();
    let mut snapshot = None;
    for arg in args {
        let (category, path) = match arg.split_once('=') {
            Some((c, p)) => (c.to_string(), PathBuf::from(p)),
            None => (String::new(), PathBuf::from(arg)),
        };
        if path.extension().is_some_and(|e| e == "bin") {
            snapshot = Some(path);
            continue;
        }
        let category = if category.is_empty() {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "blocked".into())
        } else {
            category
        };
        lists.push(ListFile::guess(&path, &category).with_context(|| format!("list {arg}"))?);
    }
    Ok((lists, snapshot))
}

/// The profile's lists plus `extra`, compiled; or a snapshot when one is given.
pub fn build_engine(
    profile: &Profile,
    profile_dir: &Path,
    extra: &[String],
) -> Result<(Engine, Option<CompileReport>)> {
    let (mut lists, snapshot) = cli_lists(extra)?;
    if let Some(snapshot) = snapshot {
        let index = load_snapshot(&snapshot)?;
        return Ok((Engine::new(index, &profile.filtering), None));
    }
    let cache = profile_dir.join("palisade-data").join("lists");
    let mut all = filter::compile::lists_of(&profile.filtering, profile_dir, &cache);
    all.append(&mut lists);
    let (index, layers, mut report) = filter::compile::compile_all(&all, |_| {})?;
    report.unknown_categories = filter::compile::unknown_categories(&profile.filtering, &index);
    Ok((
        Engine::with_layers(index, layers, &profile.filtering),
        Some(report),
    ))
}

/// Reads a snapshot written by `palisade lists compile`.
pub fn load_snapshot(path: &Path) -> Result<Index> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Index::from_vec(bytes).with_context(|| format!("{} is not a usable index", path.display()))
}

/// One line per problem of a compile, for logs and the terminal.
pub fn report_lines(report: &CompileReport) -> Vec<String> {
    let mut out = Vec::new();
    for f in &report.files {
        for p in &f.problems {
            out.push(format!("{}:{}: {}", f.file, p.line, p.message));
        }
        if f.invalid as usize > f.problems.len() {
            out.push(format!(
                "{}: {} more invalid lines",
                f.file,
                f.invalid as usize - f.problems.len()
            ));
        }
    }
    for c in &report.unknown_categories {
        out.push(format!(
            "profile: category `{c}` is blocked by a group but no list provides it"
        ));
    }
    out
}

/// The profile with the school's own entries (approved review requests, sites allowed or
/// blocked directly) added to its groups' allow- and block-lists; `*` entries go to every
/// group. Mandatory lists still win in the engine, and a group's allow-list over its
/// block-list.
pub fn with_school_entries(profile: &Profile, entries: &[store::FilterEntry]) -> Profile {
    let mut profile = profile.clone();
    for group in &mut profile.filtering.groups {
        for e in entries {
            if e.group_name != "*" && e.group_name != group.name {
                continue;
            }
            let list = if e.kind == "block" {
                &mut group.block
            } else {
                &mut group.allow
            };
            if !list.contains(&e.host) {
                list.push(e.host.clone());
            }
        }
    }
    profile
}
