//! `palisade school list`: the schools a database holds; `palisade school add`: another
//! school of a trust, in the trust's PostgreSQL database.

use crate::settings::{default_database_url, load_profile};
use anyhow::{Context, Result};
use clap::Subcommand;
use std::process::ExitCode;
use store::Store;

#[derive(Subcommand)]
pub enum SchoolCommand {
    /// Add a school, named after its profile (PostgreSQL only: a SQLite file holds one school).
    Add {
        /// Short name for URLs, logins and commands: lowercase letters, digits and hyphens.
        slug: String,
        /// The school's profile: a shipped name (holt, coleridge) or a TOML file.
        #[arg(long)]
        profile: String,
        /// postgres://user@host/db, as the database's owner
        #[arg(long, env = "PALISADE_DATABASE_URL", default_value_t = default_database_url("palisade.db"))]
        database_url: String,
    },
    /// List the database's schools: id, slug, name, people and concerns.
    List {
        /// sqlite://path or postgres://user@host/db
        #[arg(long, env = "PALISADE_DATABASE_URL", default_value_t = default_database_url("palisade.db"))]
        database_url: String,
        /// Print JSON: [{"id": 1, "slug": "...", "name": "...", ...}].
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cmd: SchoolCommand, clock: clock::Clock) -> Result<ExitCode> {
    match cmd {
        SchoolCommand::Add {
            slug,
            profile,
            database_url,
        } => {
            let profile = load_profile(&profile)?;
            let store = Store::open(&database_url, clock).await?;
            let added = store.add_school(&slug, &profile.school.name).await;
            store.close().await;
            let school = added?;
            println!(
                "added school {} ({}) as id {}; its audit trail begins now",
                school.slug, school.name, school.id
            );
            Ok(ExitCode::SUCCESS)
        }
        SchoolCommand::List { database_url, json } => {
            let store = Store::open_existing(&database_url, clock).await?;
            let every = store.every_school().await;
            let schools = async { every?.schools().await }.await.with_context(|| {
                format!(
                    "reading the schools of {} (a database made before schools were rows is \
                     upgraded when `palisade serve` next starts on it)",
                    store::redacted_url(&database_url)
                )
            });
            store.close().await;
            let schools = schools?;
            if json {
                println!("{}", serde_json::to_string_pretty(&schools)?);
            } else {
                println!(
                    "{:>4}  {:<24} {:<32} {:>7} {:>8}",
                    "id", "slug", "name", "people", "concerns"
                );
                for s in &schools {
                    let name = if s.name.is_empty() {
                        "(not named yet)"
                    } else {
                        &s.name
                    };
                    println!(
                        "{:>4}  {:<24} {:<32} {:>7} {:>8}",
                        s.id, s.slug, name, s.people, s.concerns
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
