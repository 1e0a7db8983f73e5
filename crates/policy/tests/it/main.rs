//! Integration tests of the policy crate: shipped profiles, routing and the permission table.

mod permissions;
mod profiles;
mod routing;

use policy::Profile;

/// Loads a profile shipped in `profiles/`.
pub fn shipped(name: &str) -> Profile {
    let path = format!("{}/../../profiles/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Profile::from_toml(&text, &path).unwrap_or_else(|e| panic!("{e}"))
}
