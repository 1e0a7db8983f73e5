//! `palisade policy check FILE [--database-url URL]`: the profile's own checks, and with a
//! database, that every role holder it names is a person there holding that role.

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
        /// Also check the role holders the profile names (`[roles.X] holders`, by username)
        /// against this database's people.
        #[arg(long, env = "PALISADE_DATABASE_URL")]
        database_url: Option<String>,
        /// The school in that database (its slug); needed when it holds several.
        #[arg(long, value_name = "SLUG")]
        school: Option<String>,
    },
}

pub async fn run(cmd: PolicyCommand, clock: clock::Clock) -> Result<ExitCode> {
    match cmd {
        PolicyCommand::Check {
            file,
            database_url,
            school,
        } => match load_profile(&file) {
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
                let Some(url) = database_url else {
                    return Ok(ExitCode::SUCCESS);
                };
                let problems = holders_in(&p, &url, school.as_deref(), clock).await?;
                for p in &problems {
                    eprintln!("{file}: {}: {}", p.problem.key, p.problem.message);
                }
                Ok(if problems.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
            Err(e) => {
                eprintln!("{e:#}");
                Ok(ExitCode::FAILURE)
            }
        },
    }
}

/// The profile's named role holders that are not people of the school holding that role.
async fn holders_in(
    profile: &policy::Profile,
    url: &str,
    school: Option<&str>,
    clock: clock::Clock,
) -> Result<Vec<policy::registers::HolderProblem>> {
    let store = super::open_school(url, school, clock).await?;
    let people = store.people(None).await?;
    let holders: Vec<_> = people.iter().map(store::Person::holder).collect();
    let problems = policy::registers::holder_problems(profile, &holders);
    store.close().await;
    Ok(problems)
}
