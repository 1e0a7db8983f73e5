//! `palisade demo --trust`: the example trust (profiles/trust.toml) in one PostgreSQL
//! database, each school seeded once with the demo's cast under its own prefix.

use super::{PUPILS, seed};
use crate::cmd::serve::serve;
use anyhow::{Context, Result, bail};
use policy::{PersonKind, Role};
use std::process::ExitCode;
use store::Store;

pub async fn run(a: super::DemoArgs, clock: clock::Clock) -> Result<ExitCode> {
    let Some(url) = a.database_url.clone().filter(|u| u.starts_with("postgres")) else {
        bail!(
            "demo --trust runs on PostgreSQL, where each school's rows are kept apart by the \
             database: give --database-url postgres://user@host/db"
        );
    };
    let name = crate::trust::SHIPPED_NAME;
    let (trust, profiles) = crate::trust::load_trust(name)?;
    let two_factor: Vec<String> = profiles
        .iter()
        .map(|(_, p)| super::second_factor_note(p, a.totp_optional))
        .collect();
    let lists = crate::trust::trust_lists(name, &trust);
    let store = Store::open(&url, clock).await?;
    let members = crate::trust::members(&store, &trust, profiles).await?;
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
    let trust_id = crate::trust::trust_row(&store, &trust).await?;
    let trust_store = store.in_school(trust_id);
    if trust_store.person_by_username("trust.dsl").await?.is_none() {
        seed_trust(&trust_store, &a.demo_password).await?;
    }
    let password = a.demo_password.clone();
    let trust_name = trust.trust.name.clone();
    let mut dns = a.dns;
    dns.optional = true;
    if dns.tls.tls {
        crate::tls::demo_ca(&a.tls_dir, &trust_name)?;
        dns.tls.ca_dir = Some(a.tls_dir.clone());
    }
    let mut settings = crate::gateways::GatewaySettings::try_from(dns)?;
    settings.totp_optional = a.totp_optional;
    let titles: Vec<String> = TRUST_CAST
        .iter()
        .filter_map(|(login, _, role)| {
            let r = trust.roles.iter().find(|r| r.role == role.as_str())?;
            Some(format!("{login} ({}: {})", r.title, r.schools.join(", ")))
        })
        .collect();
    let (first, running) = crate::trust::split(trust, lists, members, trust_id)?;
    let store = store.in_school(first.id);
    serve(
        first.profile,
        &first.source,
        store,
        a.listen,
        settings,
        running,
        move |started| {
            let web_url = started.web_url;
            println!(
                "Palisade demo: {trust_name}, a trust of {} schools",
                logins.len()
            );
            for addr in started.dns {
                println!("DNS filtering at {addr} (UDP and TCP)");
            }
            for addr in started.proxy {
                println!("Web proxy at {addr}");
            }
            if !(started.dns.is_empty() && started.proxy.is_empty()) {
                println!("  (each client is filtered as the school whose subnets hold it)");
            }
            println!("Palisade is running at {web_url}");
            println!();
            println!("  Browser:  {web_url}/login");
            if let Some(ca) = started.ca_file {
                println!(
                    "  HTTPS, with a certificate from the demo's own CA: trust {} in the browser",
                    ca.display()
                );
            }
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
            println!("    The trust: {}", titles.join("; "));
            for note in two_factor.iter().collect::<std::collections::BTreeSet<_>>() {
                println!("{note}");
            }
            println!("      (API clients name the school they act in: X-Palisade-School: holt)");
            println!("  Stop with Ctrl-C.");
        },
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// The trust's own people: (login, name, the school role their trust role acts as).
const TRUST_CAST: [(&str, &str, Role); 3] = [
    ("trust.dsl", "Tamsin Dale", Role::Dsl),
    ("trust.it", "Ivan Teller", Role::NetworkManager),
    ("trust.dpo", "Dora Penrose", Role::DataManager),
];

/// Seeds the trust's people in its own row.
async fn seed_trust(store: &Store, password: &str) -> Result<()> {
    let pw = password.to_string();
    let hash = tokio::task::spawn_blocking(move || web::auth::hash_password(&pw)).await??;
    for (login, name, role) in TRUST_CAST {
        super::add(store, login, name, PersonKind::Staff, role, None, &hash).await?;
    }
    Ok(())
}
