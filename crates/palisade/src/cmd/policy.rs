//! `palisade policy check FILE [--database-url URL]`: the profile's own checks, and with a
//! database, that every role holder it names is a person there holding that role; a warning
//! when the policy's review date has passed. `palisade policy explain FILE`: what each key does.

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
    /// For each key of a profile, what Palisade does with it (exit 1 when one has no effect).
    Explain {
        /// A profile file, or a shipped name (holt, coleridge).
        file: String,
        /// One JSON object per key instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cmd: PolicyCommand, clock: clock::Clock) -> Result<ExitCode> {
    match cmd {
        PolicyCommand::Explain { file, json } => explain(&file, json),
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
                let today = clock.school_now().date_naive();
                if let Some(review) = p.next_review()
                    && review < today
                {
                    println!(
                        "{file}: warning: policy.next_review: the review date {review} has passed (today is {today}); review the policy and record the new version"
                    );
                }
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

/// `policy explain`: each key of the profile with its value and what Palisade does with it.
fn explain(file: &str, json: bool) -> Result<ExitCode> {
    let (text, source) = crate::settings::profile_text(file)?;
    let keys = match policy::explain::explain(&text, &source) {
        Ok(keys) => keys,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    for k in &keys {
        if json {
            let line = serde_json::json!({
                "key": k.key, "value": k.value, "effect": k.effect,
            });
            println!("{line}");
        } else {
            println!("{} = {}", k.key, k.value);
            println!(
                "    {}",
                k.effect.unwrap_or("NO EFFECT RECORDED (a bug: report it)")
            );
        }
    }
    let missing = keys.iter().filter(|k| k.effect.is_none()).count();
    if missing > 0 {
        eprintln!("{file}: {missing} key(s) with no effect recorded");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
