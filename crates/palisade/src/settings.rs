//! Turning command-line values into validated settings: the profile and the database URL.

use anyhow::{Context, Result};
use policy::Profile;

/// Profiles shipped inside the binary, by name.
const SHIPPED: [(&str, &str); 2] = [
    ("holt", include_str!("../../../profiles/holt.toml")),
    (
        "coleridge",
        include_str!("../../../profiles/coleridge.toml"),
    ),
];

/// Loads a profile: a shipped name (`holt`, `coleridge`) or a path to a TOML file.
pub fn load_profile(name_or_path: &str) -> Result<Profile> {
    let (text, source) = profile_text(name_or_path)?;
    Ok(Profile::from_toml(&text, &source)?)
}

/// The text of a shipped profile or a profile file, with the name errors give it.
pub fn profile_text(name_or_path: &str) -> Result<(String, String)> {
    if let Some((name, text)) = SHIPPED.iter().find(|(n, _)| *n == name_or_path) {
        return Ok((text.to_string(), format!("profiles/{name}.toml")));
    }
    let text = std::fs::read_to_string(name_or_path).with_context(|| {
        format!("cannot read the profile {name_or_path} (or use a shipped one: holt, coleridge)")
    })?;
    Ok((text, name_or_path.to_string()))
}

/// Whether `name_or_path` names a profile built into the binary rather than a file.
pub fn is_shipped(name_or_path: &str) -> bool {
    SHIPPED.iter().any(|(n, _)| *n == name_or_path)
}

/// The default database: a SQLite file under `./palisade-data/`.
pub fn default_database_url(file: &str) -> String {
    format!("sqlite://palisade-data/{file}")
}

/// The folder a profile's relative list paths start from: the file's folder, or for a shipped
/// profile the source tree's `profiles/` folder (its demo lists are in the tree).
pub fn profile_dir(name_or_path: &str) -> std::path::PathBuf {
    if is_shipped(name_or_path) {
        return std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../profiles"));
    }
    std::path::Path::new(name_or_path)
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(std::path::Path::new("."))
        .to_path_buf()
}

/// The one clock of this process: the system's; or, in a debug build, one that starts at the
/// instant `PALISADE_TEST_CLOCK` names and runs on from it, so that tests set the time of the
/// servers they start. A release build ignores the variable (and says so): a production server
/// never runs on a false clock.
pub fn clock() -> Result<clock::Clock> {
    let Ok(value) = std::env::var(clock::TEST_CLOCK_VAR) else {
        return Ok(clock::Clock::system());
    };
    if !cfg!(debug_assertions) {
        tracing::warn!(
            "{} is set but ignored: only debug builds run on a test clock",
            clock::TEST_CLOCK_VAR
        );
        return Ok(clock::Clock::system());
    }
    let at = clock::parse_instant(&value).with_context(|| clock::TEST_CLOCK_VAR.to_string())?;
    tracing::debug!(%at, "a debug build on a test clock");
    Ok(clock::Clock::starting_at(at))
}
