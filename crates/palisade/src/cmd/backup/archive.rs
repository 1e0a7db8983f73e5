//! A backup file: a (ustar) tar archive, encrypted with age when it has recipients (see
//! `crypt`), holding `manifest.json` first, then the database copy `palisade.db` (a PostgreSQL
//! dump, `palisade.pgdump`), then the school CA's files under `ca/` when one was given.
//! The manifest names every other member with its size and SHA-256, and records what the copy
//! holds (schema version, row counts, the audit chain's head), so that a verify can refuse an
//! archive that was cut, changed or mixed up, naming the member.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

/// What a manifest says it is (anything else is "not a Palisade backup").
pub const FORMAT: &str = "palisade-backup";
/// The version of this layout.
pub const FORMAT_VERSION: u32 = 1;
/// The manifest's member name.
pub const MANIFEST: &str = "manifest.json";
/// The database copy's member name.
pub const DATABASE: &str = "palisade.db";

/// The manifest of a backup file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub palisade_version: String,
    /// When the copy was taken, by the store's clock.
    pub made_at: String,
    pub backend: String,
    /// The highest migration applied to the copy.
    pub schema_version: i64,
    /// Where the registers' files are: rows of the database's `blobs` table, so in the copy.
    pub blobs: String,
    /// Rows of the main tables in the copy.
    pub rows: BTreeMap<String, i64>,
    /// The audit chain's head in the copy.
    pub audit_head: Head,
    /// A PostgreSQL dump of several schools (a trust): each school's audit chain head, by its
    /// id (the rows above count every school's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub school_heads: BTreeMap<String, Head>,
    /// Every other member of the archive.
    pub members: Vec<Member>,
}

/// An audit chain's head as a manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub count: u64,
    pub hash: String,
}

/// One member of the archive, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// The SHA-256 (hex) and size of the file at `path`, read in pieces.
pub fn hash_file(path: &Path) -> Result<(String, u64)> {
    let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// The files under `dir`, with their member names (`ca/...`), in a stable order.
pub fn files_under(dir: &Path, prefix: &str) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).with_context(|| format!("cannot read {}", d.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                let rel = path.strip_prefix(dir).unwrap_or(&path);
                let name = rel
                    .to_str()
                    .with_context(|| format!("{} is not a UTF-8 path", path.display()))?;
                out.push((format!("{prefix}/{name}"), path.clone()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Writes the archive at `path` (a new file, mode 0600: it holds every pupil's record), the manifest first and then `files` (member name, source path).
pub fn write(
    path: &Path,
    manifest: &Manifest,
    files: &[(String, PathBuf)],
    mtime: u64,
) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let mut builder = tar::Builder::new(file);
    let header = |size: u64| {
        let mut h = tar::Header::new_ustar();
        h.set_size(size);
        h.set_mode(0o600);
        h.set_mtime(mtime);
        h.set_entry_type(tar::EntryType::Regular);
        h
    };
    let json = serde_json::to_vec_pretty(manifest)?;
    builder.append_data(&mut header(json.len() as u64), MANIFEST, json.as_slice())?;
    for (name, source) in files {
        let f = File::open(source).with_context(|| format!("cannot read {}", source.display()))?;
        let size = f.metadata()?.len();
        builder
            .append_data(&mut header(size), name, f)
            .with_context(|| format!("cannot add {name} to {}", path.display()))?;
    }
    let mut file = builder.into_inner()?;
    file.flush()?;
    file.sync_all()?;
    Ok(())
}

/// Unpacks the archive at `path` into `into` and checks it against its manifest: every member
/// the manifest names is there with its size and hash, and nothing else is. Errors name the
/// member and what is wrong.
pub fn unpack_checked(archive_file: &Path, path: &Path, into: &Path) -> Result<Manifest> {
    let file = File::open(archive_file)
        .with_context(|| format!("cannot read {}", archive_file.display()))?;
    let not_ours = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!(
            "{} is not a Palisade backup (not a readable archive: {e})",
            path.display()
        )
    };
    let mut archive = tar::Archive::new(file);
    let mut found: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let mut manifest_bytes = None;
    for entry in archive.entries().map_err(|e| not_ours(&e))? {
        let mut entry = entry.map_err(|e| not_ours(&e))?;
        if entry.header().entry_type().is_dir() {
            continue;
        }
        if !entry.header().entry_type().is_file() {
            bail!(
                "{} is not a Palisade backup (it holds a link or a device)",
                path.display()
            );
        }
        let name = entry.path().map_err(|e| not_ours(&e))?.into_owned();
        if !name.components().all(|c| matches!(c, Component::Normal(_))) {
            bail!(
                "{} is not a Palisade backup (member {} leaves its folder)",
                path.display(),
                name.display()
            );
        }
        let shown = name.to_string_lossy().into_owned();
        if shown == MANIFEST {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(|e| not_ours(&e))?;
            manifest_bytes = Some(bytes);
            continue;
        }
        let target = into.join(&name);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = File::create(&target)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        loop {
            let n = entry
                .read(&mut buf)
                .with_context(|| format!("{shown} is cut short in {}", path.display()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
            size += n as u64;
        }
        out.sync_all()?;
        found.insert(shown, (hex::encode(hasher.finalize()), size));
    }
    let Some(bytes) = manifest_bytes else {
        if found.is_empty() {
            bail!(
                "{} is not a Palisade backup (an empty archive)",
                path.display()
            );
        }
        bail!("manifest.json missing from {}", path.display());
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("manifest.json in {} is not JSON: {e}", path.display()))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        bail!(
            "{} is not a Palisade backup (its manifest.json does not say format \"{FORMAT}\")",
            path.display()
        );
    }
    let manifest: Manifest = serde_json::from_value(value)
        .map_err(|e| anyhow::anyhow!("manifest.json in {} is not readable: {e}", path.display()))?;
    if manifest.format_version != FORMAT_VERSION {
        bail!(
            "{} is a backup of format version {}, which this Palisade (format version \
             {FORMAT_VERSION}) cannot read",
            path.display(),
            manifest.format_version
        );
    }
    for member in &manifest.members {
        match found.remove(&member.name) {
            None => bail!("{} missing from {}", member.name, path.display()),
            Some((_, size)) if size != member.size => bail!(
                "size mismatch for {}: {size} bytes, the manifest says {}",
                member.name,
                member.size
            ),
            Some((sha, _)) if sha != member.sha256 => bail!(
                "hash mismatch for {}: its SHA-256 is {sha}, the manifest says {}",
                member.name,
                member.sha256
            ),
            Some(_) => {}
        }
    }
    if let Some(extra) = found.keys().next() {
        bail!("{extra} in {} is not in its manifest", path.display());
    }
    let database = if manifest.backend == "postgres" {
        super::pg::DUMP
    } else {
        DATABASE
    };
    if !manifest.members.iter().any(|m| m.name == database) {
        bail!(
            "{} missing from {} (its manifest names no database)",
            database,
            path.display()
        );
    }
    Ok(manifest)
}
