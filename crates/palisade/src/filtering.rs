//! Building the filter engine from a profile's lists (and lists given on the command line), and
//! loading a compiled snapshot.

use anyhow::{Context, Result};
use filter::{CompileReport, Engine, Index, ListFile};
use policy::Profile;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};

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

/// Where a school's lists come from besides its own profile: the trust's lists (resolved),
/// those given on the command line, and the compiled indexes the schools share.
#[derive(Clone, Default)]
pub struct ListSources {
    pub trust: Arc<Vec<ListFile>>,
    pub extra: Vec<String>,
    pub shared: Arc<SharedIndexes>,
}

/// The compiled indexes in memory, by what they were compiled from, so that the schools of a
/// trust whose name lists come out the same (the trust's lists, and school lists naming the
/// same files) hold one index between them, and a school's reload (a new entry, a device)
/// reuses the index in force rather than compiling its lists again. An index is dropped with
/// the last engine holding it; a list file that changes (a refresh) is compiled anew.
#[derive(Default)]
pub struct SharedIndexes {
    held: Mutex<Vec<Held>>,
}

struct Held {
    key: Vec<Stamp>,
    index: Weak<Index>,
    report: CompileReport,
}

/// A list as compiled: how it is read, and each file's size and modification time.
#[derive(PartialEq, Eq)]
struct Stamp {
    path: PathBuf,
    how: String,
    files: Vec<(PathBuf, u64, Option<std::time::SystemTime>)>,
}

impl Stamp {
    fn of(list: &ListFile) -> Stamp {
        let stat = |p: &Path| {
            std::fs::metadata(p)
                .ok()
                .map(|m| (p.to_path_buf(), m.len(), m.modified().ok()))
        };
        let files = if list.format == policy::profile::filtering::ListFormat::Ut1 {
            let mut dirs: Vec<PathBuf> = std::fs::read_dir(&list.path)
                .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            dirs.sort();
            dirs.iter()
                .filter_map(|d| stat(&d.join("domains")))
                .collect()
        } else {
            stat(&list.path).into_iter().collect()
        };
        Stamp {
            path: std::fs::canonicalize(&list.path).unwrap_or_else(|_| list.path.clone()),
            how: format!("{:?}/{}/{}", list.format, list.category, list.mandatory),
            files,
        }
    }
}

impl SharedIndexes {
    /// The index of `lists`' name lists: the one in memory if it was compiled from the same
    /// files, unchanged, else compiled now (one compile at a time: a second school asking for
    /// the same lists waits and shares it). With the report of its compile.
    pub fn index_for(
        &self,
        lists: &[ListFile],
        compile: impl FnOnce() -> Result<(Index, CompileReport)>,
    ) -> Result<(Arc<Index>, CompileReport)> {
        let key: Vec<Stamp> = lists
            .iter()
            .filter(|l| !filter::compile::is_layer(l.format))
            .map(Stamp::of)
            .collect();
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.retain(|h| h.index.strong_count() > 0);
        if let Some((index, report)) = held
            .iter()
            .filter(|h| h.key == key)
            .find_map(|h| Some((h.index.upgrade()?, h.report.clone())))
        {
            return Ok((index, report));
        }
        let (index, report) = compile()?;
        let index = Arc::new(index);
        held.push(Held {
            key,
            index: Arc::downgrade(&index),
            report: report.clone(),
        });
        Ok((index, report))
    }

    /// How many indexes are in memory, and the heap bytes they hold together.
    pub fn in_memory(&self) -> (usize, usize) {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.iter()
            .filter_map(|h| h.index.upgrade())
            .fold((0, 0), |(n, bytes), i| (n + 1, bytes + i.heap_bytes()))
    }
}

/// The trust's lists, then the profile's own, then those of the command line, compiled (the
/// index shared through `sources`); or a snapshot when one is given.
pub fn build_engine(
    profile: &Profile,
    profile_dir: &Path,
    sources: &ListSources,
) -> Result<(Engine, Option<CompileReport>)> {
    let (cli, snapshot) = cli_lists(&sources.extra)?;
    if let Some(snapshot) = snapshot {
        let file = vec![ListFile {
            path: snapshot.clone(),
            format: policy::profile::filtering::ListFormat::Domains,
            category: "snapshot".into(),
            mandatory: false,
            optional: false,
        }];
        let (index, _) = sources.shared.index_for(&file, || {
            Ok((load_snapshot(&snapshot)?, CompileReport::default()))
        })?;
        return Ok((Engine::new(index, &profile.filtering), None));
    }
    let cache = profile_dir.join("palisade-data").join("lists");
    let own = filter::compile::lists_of(&profile.filtering.lists, profile_dir, &cache);
    let mut all = filter::compile::merged(&sources.trust, own);
    all.extend(cli);
    let (index, mut report) = sources
        .shared
        .index_for(&all, || Ok(filter::compile(&all, |_| {})?))?;
    let (layers, layer_report) = filter::compile::compile_layers(&all, |_| {})?;
    report.files.extend(layer_report.files);
    report.unknown_categories =
        filter::compile::unknown_categories(&profile.filtering, &index, &layers);
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

#[cfg(test)]
mod tests {
    use super::*;
    use filter::Verdict;

    fn shipped(name: &str) -> Profile {
        crate::settings::load_profile(name).unwrap_or_else(|e| panic!("{e}"))
    }

    fn engine(profile: &Profile, sources: &ListSources) -> Engine {
        let dir = crate::settings::profile_dir("holt");
        match build_engine(profile, &dir, sources) {
            Ok((engine, _)) => engine,
            Err(e) => panic!("{e:#}"),
        }
    }

    fn blocked(e: &Engine, group: &str, host: &str) -> Option<String> {
        match e.verdict(group, host, 600) {
            Verdict::Block { category, .. } => Some(category),
            _ => None,
        }
    }

    #[test]
    fn schools_with_the_same_name_lists_share_one_index_and_a_changed_file_is_compiled_anew() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("trust.txt");
        std::fs::write(&file, "trust-blocked-demo.example\n").unwrap_or_else(|e| panic!("{e}"));
        let trust = vec![ListFile {
            path: file.clone(),
            format: policy::profile::filtering::ListFormat::Domains,
            category: "trust_blocked".into(),
            mandatory: true,
            optional: false,
        }];
        let sources = ListSources {
            trust: Arc::new(trust),
            ..ListSources::default()
        };
        // Holt adds a keyword list (the proxy's layers), Coleridge none: the same index.
        let words = dir.path().join("words.txt");
        std::fs::write(&words, "how to self harm\n").unwrap_or_else(|e| panic!("{e}"));
        let (mut holt, coleridge) = (shipped("holt"), shipped("coleridge"));
        holt.filtering
            .lists
            .push(policy::profile::filtering::ListSource {
                name: "words".into(),
                path: Some(words.display().to_string()),
                url: None,
                format: policy::profile::filtering::ListFormat::Keywords,
                category: Some("selfharm".into()),
                mandatory: false,
                refresh_hours: 24,
            });
        let h = engine(&holt, &sources);
        let c = engine(&coleridge, &sources);
        assert!(Arc::ptr_eq(&h.shared_index(), &c.shared_index()));
        assert_eq!(sources.shared.in_memory().0, 1);
        for (e, group) in [(&h, "staff"), (&h, "ks2"), (&c, "staff"), (&c, "pupils")] {
            assert_eq!(
                blocked(e, group, "trust-blocked-demo.example").as_deref(),
                Some("trust_blocked"),
                "{group}"
            );
        }
        // Each school's own categories still come from the shared index, by its own groups.
        assert_eq!(blocked(&h, "staff", "gaming-demo.example"), None);
        assert!(blocked(&c, "staff", "gaming-demo.example").is_some());
        // Holt's keyword layer is Holt's alone.
        assert!(h.keyword_hit("ks2", "how to self harm", 600).is_some());
        assert!(c.keyword_hit("pupils", "how to self harm", 600).is_none());
        // A reload of one school (a new entry) reuses the index in force.
        let again = engine(&holt, &sources);
        assert!(Arc::ptr_eq(&again.shared_index(), &h.shared_index()));
        // The trust's file changes (a refresh): compiled anew, once for both.
        std::fs::write(&file, "trust-blocked-demo.example\nnew-demo.example\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let h2 = engine(&holt, &sources);
        let c2 = engine(&coleridge, &sources);
        assert!(!Arc::ptr_eq(&h2.shared_index(), &h.shared_index()));
        assert!(Arc::ptr_eq(&h2.shared_index(), &c2.shared_index()));
        assert!(blocked(&c2, "staff", "new-demo.example").is_some());
        // Once the old engines are gone, so is the old index.
        drop((h, c, again));
        assert_eq!(sources.shared.in_memory().0, 1);
        // Without the trust's list the name lists differ: another index.
        let alone = engine(&holt, &ListSources::default());
        assert!(!Arc::ptr_eq(&alone.shared_index(), &h2.shared_index()));
        assert_eq!(blocked(&alone, "staff", "trust-blocked-demo.example"), None);
    }
}
