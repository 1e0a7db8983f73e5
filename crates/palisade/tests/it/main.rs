//! Integration tests of the palisade binary: each starts the real server on 127.0.0.1:0 over a
//! fresh SQLite file or PostgreSQL database (see `testkit`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Stamps a test that runs `$run(backend)` on each backend, as `$name::sqlite` and
/// `$name::postgres`.
macro_rules! both_backends {
    ($name:ident, $run:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$run(testkit::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$run(testkit::Backend::Postgres).await;
            }
        }
    };
}

mod acceptance;
mod alerts;
mod audit_cli;
mod backup;
mod backup_daily;
mod bad_input;
mod browser;
mod browser_import;
mod browser_registers;
mod browser_sign_in;
mod cli;
mod compliance;
mod crash;
mod dashboard;
mod dns;
mod files;
mod filtering_review;
mod grants;
mod https;
mod import;
mod leavers;
mod lockout;
mod oidc;
mod profile_keys;
mod proxy;
mod proxy_security;
mod publish;
mod refresh;
mod registers;
mod retention;
mod routes;
mod routing;
mod rules;
mod selftest;
mod service;
mod sign_in_factors;
mod subject_access;
mod time;
mod trust;
mod trust_lists;
mod web_security;
mod weekly;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_palisade");

/// Runs `command`, failing the test with its standard error unless it succeeds; its output.
pub fn succeed(command: &mut std::process::Command) -> std::process::Output {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Holt's profile with the daily mail at midnight (so that it is due as soon as Palisade
/// starts, whatever the time of day), written into `dir`; its path.
pub fn holt_with_digest_at_midnight(dir: &std::path::Path) -> std::path::PathBuf {
    let text = seed_profile_text("holt").replace(
        "aggregate_minutes = 60",
        "aggregate_minutes = 60\ndigest_time = \"00:00\"",
    );
    let profile = dir.join("holt.toml");
    std::fs::write(&profile, text).unwrap();
    profile
}

/// A shipped profile's text with its list paths made absolute, to be changed and written
/// elsewhere by a test.
pub fn seed_profile_text(name: &str) -> String {
    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    std::fs::read_to_string(format!("{repo}/profiles/{name}.toml"))
        .unwrap()
        .replace("\"../lists/", &format!("\"{repo}/lists/"))
}

/// `palisade check --profile PROFILE --group GROUP --json TARGET`, to run (after adding to its
/// environment, say).
pub fn check_command(profile: &str, group: &str, target: &str) -> std::process::Command {
    let mut command = std::process::Command::new(BIN);
    command.args([
        "check",
        "--profile",
        profile,
        "--group",
        group,
        "--json",
        target,
    ]);
    command
}

/// What `palisade check --json` says of `target` for `group` under `profile`.
pub fn check_json(profile: &str, group: &str, target: &str) -> std::process::Output {
    check_command(profile, group, target).output().unwrap()
}
