//! `palisade school list`: the schools a database holds.

use crate::settings::default_database_url;
use anyhow::{Context, Result};
use clap::Subcommand;
use std::process::ExitCode;
use store::Store;

#[derive(Subcommand)]
pub enum SchoolCommand {
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
        SchoolCommand::List { database_url, json } => {
            let store = Store::open_existing(&database_url, clock).await?;
            let schools = store.schools().await.with_context(|| {
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
