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
    if let Some((name, text)) = SHIPPED.iter().find(|(n, _)| *n == name_or_path) {
        return Ok(Profile::from_toml(text, &format!("profiles/{name}.toml"))?);
    }
    let text = std::fs::read_to_string(name_or_path).with_context(|| {
        format!("cannot read the profile {name_or_path} (or use a shipped one: holt, coleridge)")
    })?;
    Ok(Profile::from_toml(&text, name_or_path)?)
}

/// The default database: a SQLite file under `./palisade-data/`.
pub fn default_database_url(file: &str) -> String {
    format!("sqlite://palisade-data/{file}")
}
