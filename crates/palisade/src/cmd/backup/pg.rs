//! PostgreSQL backups: `pg_dump --format=custom` (one snapshot of the whole database, so every
//! school of a trust) is the archive's database member; checking it restores it with
//! `pg_restore` into a temporary database on the same server (dropped after) and reads the
//! facts there; `restore --db postgres://…/empty_db` restores it into an empty database.

use anyhow::{Context, Result, bail};
use std::path::Path;
use store::{BackupFacts, Store};

/// Each school's audit chain head in a dump, by school id.
pub type SchoolHeads = std::collections::BTreeMap<i64, store::AuditHead>;

/// The dump's member name.
pub const DUMP: &str = "palisade.pgdump";

/// Runs `program` with `args`, naming it and its error output when it fails.
async fn run(program: &str, args: &[&str]) -> Result<()> {
    let out = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .with_context(|| {
            format!("cannot run {program} (install the PostgreSQL client: postgresql-client)")
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!("{program} failed ({}): {}", out.status, err.trim());
    }
    Ok(())
}

/// Dumps the database at `url` into the new file `out`.
pub async fn dump(url: &str, out: &Path) -> Result<()> {
    let file = out
        .to_str()
        .context("the scratch folder is not a UTF-8 path")?;
    run(
        "pg_dump",
        &[
            "--format=custom",
            "--no-password",
            "--file",
            file,
            "--dbname",
            url,
        ],
    )
    .await
}

/// Restores the dump `file` into the (empty) database at `url`.
pub async fn restore_into(file: &Path, url: &str) -> Result<()> {
    let file = file.to_str().context("the dump is not at a UTF-8 path")?;
    run(
        "pg_restore",
        &["--exit-on-error", "--no-password", "--dbname", url, file],
    )
    .await
}

/// The facts of the dump `file`: restored into a temporary database on the server of
/// `server_url`, read there (no migration runs), and dropped.
pub async fn facts_of_dump(
    server_url: &str,
    file: &Path,
    clock: &clock::Clock,
) -> Result<(BackupFacts, SchoolHeads)> {
    let (name, url) = store::backup::create_scratch_database(server_url)
        .await
        .context("cannot make a temporary database to check the dump in")?;
    let facts = async {
        restore_into(file, &url).await?;
        let copy = Store::open_existing(&url, clock.clone()).await?;
        let facts: std::result::Result<_, store::StoreError> = async {
            // Rows of every school; the first school's chain, and each school's.
            let every = copy.every_school().await?;
            let facts = every.backup_facts().await?;
            let heads = copy.audit_heads_of_every_school().await?;
            Ok((facts, heads))
        }
        .await;
        copy.close().await;
        anyhow::Ok(facts?)
    }
    .await;
    if let Err(e) = store::backup::drop_database(server_url, &name).await {
        tracing::error!(error = %e, database = %name, "the temporary database could not be dropped");
    }
    facts
}

/// Restores a checked dump into the empty database at `url`, refusing one that holds tables.
pub async fn restore(file: &Path, url: &str) -> Result<()> {
    let tables = store::backup::postgres_tables(url)
        .await
        .with_context(|| format!("cannot reach {}", store::redacted_url(url)))?;
    if tables > 0 {
        bail!(
            "{} holds {tables} tables already: restore only into an empty database (nothing \
             was changed)",
            store::redacted_url(url)
        );
    }
    restore_into(file, url).await
}
