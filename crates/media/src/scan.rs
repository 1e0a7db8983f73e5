//! Walking the folder and putting the reports together.

use std::collections::{BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

use crate::captions::{self, HtmlRef};
use crate::metadata::{self, Text};
use crate::names::Matcher;
use crate::{FileReport, Finding, FindingKind, MediaError, Pupil};

/// Deepest folder nesting scanned (deeper folders get a damaged report, unscanned).
pub const MAX_DEPTH: usize = 16;

/// At most this many bytes of a media file are read for metadata (half from its start,
/// half from its end).
pub const MAX_METADATA_BYTES: u64 = metadata::MAX_READ;

const IMAGE_EXTS: [&str; 9] = [
    "jpg", "jpeg", "png", "gif", "webp", "tif", "tiff", "heic", "heif",
];
const VIDEO_EXTS: [&str; 5] = ["mp4", "mov", "m4v", "webm", "avi"];

/// What the walk found, paths relative to the scanned folder.
#[derive(Default)]
struct Tree {
    media: Vec<PathBuf>,
    /// (folder, lower-case file name) → sidecar path, for `.txt` and `.xmp` files.
    sidecars: HashMap<(PathBuf, String), PathBuf>,
    pages: Vec<PathBuf>,
    /// Things that could not be scanned (unreadable folders, symlinks, too deep).
    problems: Vec<(PathBuf, String)>,
}

fn lower_ext(p: &Path) -> String {
    p.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

fn is_media(ext: &str) -> bool {
    IMAGE_EXTS.contains(&ext) || VIDEO_EXTS.contains(&ext)
}

fn walk(root: &Path, rel: &Path, depth: usize, tree: &mut Tree) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root.join(rel))? {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                tree.problems
                    .push((rel.to_path_buf(), format!("cannot list folder: {e}")));
                continue;
            }
        };
        let path = rel.join(entry.file_name());
        // file_type() does not follow symbolic links.
        let kind = match entry.file_type() {
            Ok(k) => k,
            Err(e) => {
                tree.problems.push((path, format!("cannot read: {e}")));
                continue;
            }
        };
        let ext = lower_ext(&path);
        if kind.is_symlink() {
            // Reported (not followed) when it would have been scanned: a media file or a folder.
            let to_dir = std::fs::metadata(root.join(&path)).is_ok_and(|m| m.is_dir());
            if is_media(&ext) || to_dir {
                tree.problems
                    .push((path, "symbolic link, not followed".into()));
            }
        } else if kind.is_dir() {
            if depth + 1 > MAX_DEPTH {
                tree.problems.push((
                    path,
                    format!("folder nested deeper than {MAX_DEPTH} levels, not scanned"),
                ));
            } else if let Err(e) = walk(root, &path, depth + 1, tree) {
                tree.problems
                    .push((path, format!("cannot read folder: {e}")));
            }
        } else if is_media(&ext) {
            tree.media.push(path);
        } else if ext == "txt" || ext == "xmp" {
            let folder = rel.to_path_buf();
            let name = entry.file_name().to_string_lossy().to_lowercase();
            tree.sidecars.insert((folder, name), path);
        } else if ext == "html" || ext == "htm" {
            tree.pages.push(path);
        }
    }
    Ok(())
}

/// A relative path as a lower-case `a/b/c` string, for comparing with HTML references.
fn key(p: &Path) -> String {
    let parts: Vec<String> = p
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().to_lowercase()),
            _ => None,
        })
        .collect();
    parts.join("/")
}

/// Resolves an HTML reference against the page's folder; `None` if it leaves the root.
fn resolve(page: &Path, reference: &HtmlRef) -> Option<String> {
    if reference.external {
        return None;
    }
    let mut parts: Vec<String> = if reference.path.starts_with('/') {
        Vec::new()
    } else {
        page.parent()
            .map(key)
            .unwrap_or_default()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for seg in reference.path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s.to_lowercase()),
        }
    }
    Some(parts.join("/"))
}

/// Captions from HTML pages, per media file index, plus unreadable pages.
fn html_captions(dir: &Path, tree: &Tree) -> (Vec<Vec<Text>>, Vec<(PathBuf, String)>) {
    let mut per_media = vec![Vec::new(); tree.media.len()];
    let mut problems = Vec::new();
    let by_path: HashMap<String, usize> = tree
        .media
        .iter()
        .enumerate()
        .map(|(i, p)| (key(p), i))
        .collect();
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, p) in tree.media.iter().enumerate() {
        if let Some(n) = p.file_name() {
            by_name
                .entry(n.to_string_lossy().to_lowercase())
                .or_default()
                .push(i);
        }
    }
    for page in &tree.pages {
        let bytes = match captions::read_prefix(&dir.join(page), captions::MAX_HTML) {
            Ok(b) => b,
            Err(e) => {
                problems.push((page.clone(), format!("cannot read HTML page: {e}")));
                continue;
            }
        };
        let html = String::from_utf8_lossy(&bytes);
        let depth = captions::nesting_depth(&html);
        if depth > captions::MAX_HTML_DEPTH {
            problems.push((
                page.clone(),
                format!(
                    "HTML page nested {depth} levels deep (limit {}), not read for captions",
                    captions::MAX_HTML_DEPTH
                ),
            ));
            continue;
        }
        for r in captions::html_refs(&key_display(page), &html) {
            // The exact file if the reference resolves to one; else any file of that
            // name (pages are often written for where the files will be, not where they are).
            let targets = match resolve(page, &r).and_then(|k| by_path.get(&k)) {
                Some(&i) => vec![i],
                None => {
                    let name = r.path.rsplit('/').next().unwrap_or_default().to_lowercase();
                    by_name.get(&name).cloned().unwrap_or_default()
                }
            };
            for i in targets {
                per_media[i].extend(r.texts.iter().cloned());
            }
        }
    }
    (per_media, problems)
}

/// A relative path shown with `/` separators, as in labels.
fn key_display(p: &Path) -> String {
    let parts: Vec<String> = p
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// The sidecar files of a media file.
fn sidecars_of<'t>(tree: &'t Tree, media: &Path) -> Vec<(&'t PathBuf, bool)> {
    let folder = media.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = media
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let stem = media
        .file_stem()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (candidate, is_xmp) in [
        (format!("{stem}.txt"), false),
        (format!("{stem}.xmp"), true),
        (format!("{name}.txt"), false),
        (format!("{name}.xmp"), true),
    ] {
        if let Some(p) = tree.sidecars.get(&(folder.clone(), candidate)) {
            out.push((p, is_xmp));
        }
    }
    out
}

/// Scans a folder a school is about to publish: one report per image or video file
/// (plus one per thing that could not be scanned), sorted by path. Fails only when
/// `dir` itself cannot be read.
pub fn scan(dir: &Path, pupils: &[Pupil]) -> Result<Vec<FileReport>, MediaError> {
    let meta = std::fs::metadata(dir).map_err(|source| MediaError::ReadDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(MediaError::NotADirectory {
            dir: dir.to_path_buf(),
        });
    }
    let mut tree = Tree::default();
    walk(dir, Path::new(""), 0, &mut tree).map_err(|source| MediaError::ReadDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let matcher = Matcher::new(pupils);
    let (html, page_problems) = html_captions(dir, &tree);
    let mut reports = Vec::new();
    for (i, rel) in tree.media.iter().enumerate() {
        let mut findings = BTreeSet::new();
        let mut damage = Vec::new();
        let mut add = |kind, ids: BTreeSet<i64>, field: &str| {
            for pupil in ids {
                findings.insert(Finding {
                    kind,
                    pupil,
                    field: field.to_owned(),
                });
            }
        };
        let stem = rel
            .file_stem()
            .map(|s| s.to_string_lossy())
            .unwrap_or_default();
        add(
            FindingKind::NameInFilename,
            matcher.in_file_stem(&stem),
            "file name",
        );
        for folder in rel.parent().into_iter().flat_map(Path::components) {
            let f = folder.as_os_str().to_string_lossy();
            add(
                FindingKind::NameInFilename,
                matcher.in_file_stem(&f),
                &format!("folder name {f}"),
            );
        }
        let embedded = match metadata::read_bounded(&dir.join(rel)) {
            Ok((bytes, complete)) => metadata::read(&bytes, &lower_ext(rel), complete),
            Err(e) => {
                damage.push(format!("cannot read file: {e}"));
                metadata::Metadata::default()
            }
        };
        damage.extend(embedded.damage);
        for t in &embedded.texts {
            add(
                FindingKind::NameInMetadata,
                matcher.in_text(&t.value),
                &t.field,
            );
        }
        for (side, is_xmp) in sidecars_of(&tree, rel) {
            let name = side
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            let m = captions::sidecar(&dir.join(side), &name, is_xmp);
            damage.extend(m.damage);
            for t in &m.texts {
                add(
                    FindingKind::NameInCaption,
                    matcher.in_text(&t.value),
                    &t.field,
                );
            }
        }
        for t in html.get(i).into_iter().flatten() {
            add(
                FindingKind::NameInCaption,
                matcher.in_text(&t.value),
                &t.field,
            );
        }
        let findings: Vec<Finding> = findings.into_iter().collect();
        reports.push(FileReport {
            file: rel.clone(),
            named: findings.iter().map(|f| f.pupil).collect(),
            findings,
            damaged: (!damage.is_empty()).then(|| damage.join("; ")),
        });
    }
    for (file, why) in tree.problems.into_iter().chain(page_problems) {
        reports.push(FileReport {
            file,
            findings: Vec::new(),
            named: BTreeSet::new(),
            damaged: Some(why),
        });
    }
    reports.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(reports)
}
