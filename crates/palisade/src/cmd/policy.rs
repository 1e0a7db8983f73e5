//! `palisade policy check FILE` and `palisade policy print FILE`.

use crate::settings::load_profile;
use anyhow::Result;
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Validate a profile; errors name the key and what is wrong.
    Check {
        /// A profile file, or a shipped name (holt, coleridge).
        file: String,
    },
}

pub fn run(cmd: PolicyCommand) -> Result<ExitCode> {
    match cmd {
        PolicyCommand::Check { file } => match load_profile(&file) {
            Ok(p) => {
                println!(
                    "{file}: ok — {} ({} {}), first point of contact: {}, {} concern categories, {} sanctions, next review {}",
                    p.school.name,
                    p.policy.title,
                    p.policy.version,
                    p.role_title(p.concerns.first_contact),
                    p.concerns.categories.len(),
                    p.concerns.sanctions.len(),
                    p.next_review().map(|d| d.to_string()).unwrap_or_default(),
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e:#}");
                Ok(ExitCode::FAILURE)
            }
        },
    }
}
