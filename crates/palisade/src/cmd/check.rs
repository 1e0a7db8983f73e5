//! `palisade check`: the verdict for a URL or host and a group, and why.

use crate::filtering::build_engine;
use crate::settings::{load_profile, profile_dir};
use anyhow::Result;
use clap::Args;
use filter::Verdict;
use serde_json::json;
use std::io::BufRead;
use std::process::ExitCode;

#[derive(Args)]
pub struct CheckArgs {
    /// The school profile (its groups and lists).
    #[arg(long, env = "PALISADE_PROFILE", default_value = "holt")]
    profile: String,
    /// Extra lists or a compiled snapshot (.bin): PATH or CATEGORY=PATH.
    #[arg(long = "lists")]
    lists: Vec<String>,
    /// The group to check for.
    #[arg(long)]
    group: String,
    /// One object of JSON instead of words.
    #[arg(long)]
    json: bool,
    /// Read one URL or host per line from standard input; write one JSON object per line.
    #[arg(long)]
    stdin: bool,
    /// The school's time of day (UK time, HH:MM) to check at, for time rules; default now.
    #[arg(long)]
    at: Option<String>,
    /// The URL or host.
    target: Option<String>,
}

fn verdict_json(target: &str, v: &Result<Verdict, String>) -> serde_json::Value {
    match v {
        Ok(Verdict::Allow) => {
            json!({"verdict": "allow", "category": null, "rule": null, "source": null, "target": null})
        }
        Ok(Verdict::Block {
            category,
            rule,
            source,
        }) => {
            json!({"verdict": "block", "category": category, "rule": rule, "source": source, "target": null})
        }
        Ok(Verdict::Rewrite { target }) => {
            json!({"verdict": "rewrite", "category": null, "rule": null, "source": null, "target": target})
        }
        Ok(Verdict::Nxdomain { rule }) => {
            json!({"verdict": "block", "category": "doh-canary", "rule": rule, "source": "built-in", "target": null})
        }
        Err(e) => json!({"verdict": "error", "input": target, "error": e}),
    }
}

pub fn run(a: CheckArgs, clock: &clock::Clock) -> Result<ExitCode> {
    let profile = load_profile(&a.profile)?;
    let sources = crate::filtering::ListSources {
        extra: a.lists.clone(),
        ..Default::default()
    };
    let (engine, report) = build_engine(&profile, &profile_dir(&a.profile), &sources)?;
    if let Some(r) = &report {
        for line in crate::filtering::report_lines(r).iter().take(10) {
            eprintln!("warning: {line}");
        }
    }
    if !profile.filtering.groups.iter().any(|g| g.name == a.group) {
        anyhow::bail!(
            "--group `{}` is not a group of this profile; groups: {}",
            a.group,
            profile.filtering.group_names().join(", ")
        );
    }
    let minute = match &a.at {
        Some(t) => policy::profile::filtering::minutes_of(t)
            .ok_or_else(|| anyhow::anyhow!("--at `{t}` must be HH:MM"))?,
        None => clock.minute_of_school_day(),
    };
    let decide = |target: &str| -> Result<Verdict, String> {
        let host = filter::normalize::host_of(target).map_err(|e| format!("`{target}`: {e}"))?;
        // A full address is judged as the proxy would (paths and search terms too).
        if target.contains("://") || target.contains('/') {
            return Ok(engine.verdict_url(&a.group, target, minute));
        }
        Ok(engine.verdict(&a.group, &host, minute))
    };
    if a.stdin {
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            let t = line.trim();
            if t.is_empty() {
                continue;
            }
            println!("{}", verdict_json(t, &decide(t)));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(target) = a.target else {
        anyhow::bail!("give a URL or host, or --stdin");
    };
    let v = decide(&target);
    if a.json {
        println!("{}", verdict_json(&target, &v));
    } else {
        match &v {
            Ok(Verdict::Allow) => println!("{target}: allowed for {}", a.group),
            Ok(Verdict::Block {
                category,
                rule,
                source,
            }) => {
                println!(
                    "{target}: BLOCKED for {} — category {category}, rule {rule}, from {source}",
                    a.group
                )
            }
            Ok(Verdict::Rewrite { target: t }) => {
                println!("{target}: rewritten to {t} for {} (SafeSearch)", a.group)
            }
            Ok(Verdict::Nxdomain { rule }) => println!("{target}: answered NXDOMAIN ({rule})"),
            Err(e) => println!("{e}"),
        }
    }
    Ok(if v.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
