//! `palisade filter-test [--group G | --all] [--json]`: the filtering self-test against a
//! running server's gateways (real DNS packets and HTTPS tunnels, sent as each group from its
//! loopback address; see [`crate::selftest`]), stored in the school's database with a high
//! alert for each failed check. Exit 0 when every check passed, 1 when any failed, 2 on error.

use crate::settings::load_profile;
use anyhow::Result;
use clap::Args;
use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(Args)]
pub struct FilterTestArgs {
    /// Test only this group (repeat for several).
    #[arg(long, conflicts_with = "all")]
    group: Vec<String>,
    /// Test every group of the profile (the default).
    #[arg(long)]
    all: bool,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    /// The DNS gateway to test instead of the profile's `[network.dns] listen`.
    #[arg(long)]
    dns: Option<SocketAddr>,
    /// The web proxy to test instead of the profile's `[network.proxy] listen`.
    #[arg(long)]
    proxy: Option<SocketAddr>,
    /// The school profile the server runs (its groups, subnets and lists).
    #[arg(long, env = "PALISADE_PROFILE", default_value = "holt")]
    profile: String,
    /// The school's database, where the run is recorded.
    #[arg(long, env = "PALISADE_DATABASE_URL")]
    database_url: String,
    /// The school in that database (its slug); needed when it holds several.
    #[arg(long)]
    school: Option<String>,
    /// The web app's address, for the link in the mail a failed check sends.
    #[arg(
        long,
        env = "PALISADE_WEB_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    web_url: String,
}

pub async fn run(a: FilterTestArgs, clock: clock::Clock) -> Result<ExitCode> {
    let run = match test(&a, clock).await {
        Ok(run) => run,
        Err(e) => {
            eprintln!("palisade filter-test: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&run)?);
    } else {
        println!("Filtering self-test of {} at {}", run.school, run.site);
        for g in &run.groups {
            let from = g
                .client
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into());
            println!("group {} (from {from})", g.group);
            for c in &g.checks {
                let mark = if c.pass { "PASS" } else { "FAIL" };
                println!(
                    "  {mark}  {}: {} — expected {}, got {}",
                    c.check, c.sent, c.expected, c.got
                );
            }
        }
        let failed: usize = run
            .groups
            .iter()
            .map(|g| g.checks.iter().filter(|c| !c.pass).count())
            .sum();
        eprintln!(
            "run {} recorded: {}",
            run.run_id,
            if failed == 0 {
                "every check passed".to_string()
            } else {
                format!("{failed} check(s) FAILED; a high alert was raised for each")
            }
        );
    }
    Ok(if run.pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn test(a: &FilterTestArgs, clock: clock::Clock) -> Result<crate::selftest::Run> {
    let profile = load_profile(&a.profile)?;
    let gateways = crate::selftest::gateways_of(&profile, a.dns, a.proxy)?;
    let groups = (!a.group.is_empty()).then_some(a.group.as_slice());
    let store = super::open_school(&a.database_url, a.school.as_deref(), clock).await?;
    let permit = policy::Permit::for_operator(policy::Action::RunFilterTest);
    let run = crate::selftest::run_and_record(
        &store,
        &permit,
        &profile,
        &gateways,
        groups,
        "command line",
        &a.web_url,
    )
    .await;
    store.close().await;
    run
}
