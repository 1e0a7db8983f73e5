//! `palisade demo --trust`: the example trust (profiles/trust.toml) in one PostgreSQL
//! database, each school seeded once with the demo's cast under its own prefix.

use super::{PUPILS, seed};
use crate::cmd::serve::serve;
use anyhow::{Context, Result, bail};
use std::process::ExitCode;
use store::Store;

pub async fn run(a: super::DemoArgs, clock: clock::Clock) -> Result<ExitCode> {
    let Some(url) = a.database_url.clone().filter(|u| u.starts_with("postgres")) else {
        bail!(
            "demo --trust runs on PostgreSQL, where each school's rows are kept apart by the \
             database: give --database-url postgres://user@host/db"
        );
    };
    let (trust, profiles) = crate::trust::load_trust("trust")?;
    let store = Store::open(&url, clock).await?;
    let mut members = crate::trust::members(&store, &trust, profiles).await?;
    let mut logins = Vec::new();
    for m in &members {
        let school = store.in_school(m.id);
        let prefix = format!("{}.", m.slug);
        if school
            .person_by_username(&format!("{prefix}head"))
            .await?
            .is_none()
        {
            seed(&school, &m.profile, &a.demo_password, &prefix)
                .await
                .with_context(|| format!("seeding the demo school {}", m.slug))?;
        }
        let sources: Vec<String> = m
            .profile
            .network
            .iter()
            .flat_map(|n| n.subnets.iter())
            .filter(|s| s.cidr.starts_with("127."))
            .map(|s| format!("{} ({})", s.cidr.trim_end_matches("/32"), s.group))
            .collect();
        logins.push((m.slug.clone(), m.profile.school.name.clone(), sources));
    }
    if members.is_empty() {
        bail!("the trust profile has no schools");
    }
    let first = members.remove(0);
    let password = a.demo_password.clone();
    let trust_name = trust.trust.name.clone();
    let mut dns = a.dns;
    dns.optional = true;
    let settings = crate::gateways::GatewaySettings::try_from(dns)?;
    let store = store.in_school(first.id);
    serve(first.profile, &first.source, store, a.listen, settings, members, move |started| {
        let web_url = started.web_url;
        println!("Palisade demo: {trust_name}, a trust of {} schools", logins.len());
        println!("Palisade is running at {web_url}");
        println!();
        println!("  Browser:  {web_url}/login");
        println!("  Logins (password for all: {password}), each school's own:");
        for (slug, name, sources) in &logins {
            println!("    {name}:");
            println!(
                "      {slug}.head {slug}.dsl {slug}.osc {slug}.netman {slug}.teacher1..4 \
                 {slug}.pupil1..{PUPILS} {slug}.parent1..{}",
                PUPILS / 2
            );
            println!("      DNS source addresses: {}", sources.join(", "));
        }
        for addr in started.dns {
            println!(
                "DNS filtering at {addr} (UDP and TCP), by the first school's profile in this version"
            );
        }
        for addr in started.proxy {
            println!("Web proxy at {addr}, by the first school's profile in this version");
        }
        println!("  Stop with Ctrl-C.");
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}
