//! `palisade demo`: a fictional school on SQLite (or any database URL), seeded once and reused,
//! so a newcomer sees a working safeguarding log in one command. The tests use the same school
//! as their fixture.

use super::serve::{GatewayArgs, serve};
use crate::settings::load_profile;
use anyhow::{Context, Result};
use clap::Args;
use policy::concern::{ActionInput, ReportForm};
use policy::{Action, Actor, Object, PersonKind, Role, RoleSet, Severity};
use std::net::SocketAddr;
use std::process::ExitCode;
use store::{NewConcern, NewPerson, Store, Triage};

mod trust;

#[derive(Args)]
pub struct DemoArgs {
    /// Which seed school's policy to run: holt or coleridge (or a profile file).
    #[arg(long, default_value = "holt")]
    pub profile: String,
    /// The password of every demo account.
    #[arg(long, env = "PALISADE_DEMO_PASSWORD", default_value = "palisade-demo")]
    pub demo_password: String,
    /// Address for the web app.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where the demo school lives (default: palisade-data/demo-<profile>.db).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Seed a fictional trust instead: Holt and Coleridge in one PostgreSQL database
    /// (profiles/trust.toml), each with the demo's cast, logins prefixed by the school
    /// (`holt.dsl`, `coleridge.pupil3`).
    #[arg(long)]
    pub trust: bool,
    /// Let the demo's accounts sign in without the second factor (TOTP) the profile requires
    /// of their roles (for automated tests and a quick look; the demo says so when it starts).
    /// Without it, those accounts enrol an authenticator app at their first sign-in.
    #[arg(long)]
    pub totp_optional: bool,
    /// With --tls: where the demo keeps its own CA (made on first use) and the certificate
    /// issued from it for the --host names.
    #[arg(long, default_value = "palisade-data/demo-ca")]
    pub tls_dir: std::path::PathBuf,
    #[command(flatten)]
    pub dns: GatewayArgs,
}

/// What the demo says about second factors: which roles need one under `profile`, and whether
/// `--totp-optional` lets them off (the profile itself is left as written, so that a reload
/// compares it with its file).
fn second_factor_note(profile: &policy::Profile, optional: bool) -> String {
    let titles: Vec<String> = profile
        .passwords
        .totp_required_for
        .iter()
        .map(|r| profile.role_title(*r).to_string())
        .collect();
    if titles.is_empty() {
        return "  Two-factor sign-in (TOTP) is optional for everyone: /account/two-factor.".into();
    }
    if optional {
        return format!(
            "  Two-factor sign-in (TOTP) is optional in this demo (--totp-optional); the profile\n    requires it of: {}.",
            titles.join(", ")
        );
    }
    format!(
        "  Two-factor sign-in (TOTP) is required of: {}.\n    They enrol an authenticator app at their first sign-in (a QR code); --totp-optional skips it.",
        titles.join(", ")
    )
}

/// The demo's staff and governors: (username, name, kind, role).
const ADULTS: [(&str, &str, PersonKind, Role); 14] = [
    (
        "head",
        "Helen Harding",
        PersonKind::Staff,
        Role::Headteacher,
    ),
    ("dsl", "Daniel Shaw", PersonKind::Staff, Role::Dsl),
    ("deputy", "Dina Patel", PersonKind::Staff, Role::DeputyDsl),
    (
        "osc",
        "Oliver Scott",
        PersonKind::Staff,
        Role::OnlineSafetyCoordinator,
    ),
    (
        "netman",
        "Nina Mensah",
        PersonKind::Staff,
        Role::NetworkManager,
    ),
    ("data", "Dev Arora", PersonKind::Staff, Role::DataManager),
    ("teacher1", "Tom Baker", PersonKind::Staff, Role::Teacher),
    ("teacher2", "Tara Cole", PersonKind::Staff, Role::Teacher),
    ("teacher3", "Theo Diaz", PersonKind::Staff, Role::Teacher),
    ("teacher4", "Tess Evans", PersonKind::Staff, Role::Teacher),
    ("staff1", "Sam Turner", PersonKind::Staff, Role::Staff),
    (
        "chair",
        "Charles Ainsworth",
        PersonKind::Governor,
        Role::ChairOfGovernors,
    ),
    (
        "governor1",
        "Grace Ofori",
        PersonKind::Governor,
        Role::Governor,
    ),
    (
        "visitor1",
        "Victor Lane",
        PersonKind::Visitor,
        Role::Visitor,
    ),
];

const FIRST: [&str; 30] = [
    "Amara", "Ben", "Chloe", "Dylan", "Ella", "Finn", "Grace", "Harry", "Isla", "Jack", "Keira",
    "Leo", "Maya", "Noah", "Olivia", "Oscar", "Poppy", "Reuben", "Sofia", "Theo", "Uma", "Vince",
    "Willow", "Xander", "Yasmin", "Zac", "Aisha", "Callum", "Daisy", "Ethan",
];
const LAST: [&str; 10] = [
    "Adams", "Brown", "Clarke", "Davies", "Evans", "Foster", "Green", "Hughes", "Iqbal", "Jones",
];
const CLASSES: [(&str, &str); 3] = [
    ("Year 2", "Robins"),
    ("Year 4", "Kestrels"),
    ("Year 6", "Owls"),
];
/// Pupils; parents are half as many, each linked to two pupils.
const PUPILS: usize = 30;

/// Gives the demo's profile a `[backup]`: daily at its default time into
/// `palisade-data/backups-NAME/`, encrypted to a demo key made on first use beside it (a real
/// school keeps its private key off the server). What the banner says of it.
fn demo_backups(profile: &mut policy::Profile, name: &str) -> Result<String> {
    let data = std::env::current_dir()?.join("palisade-data");
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    let key = data.join(format!("backups-{name}.key"));
    let public = if key.exists() {
        crate::cmd::backup::public_of(&key)?
    } else {
        crate::cmd::backup::new_identity(&key)?
    };
    let dir = data.join(format!("backups-{name}"));
    let policy = policy::backup::BackupPolicy {
        dir: dir.display().to_string(),
        recipients: vec![public.clone()],
        ..policy::backup::BackupPolicy::default()
    };
    let note = format!(
        "  Daily backups at {} (UK time) into {}/, the newest {} kept, encrypted to the demo key\n    \
         {} (public key {public}); check one with\n    \
         palisade backup --verify FILE --identity {}",
        policy.at,
        dir.display(),
        policy.keep,
        key.display(),
        key.display()
    );
    profile.backup = Some(policy);
    Ok(note)
}

pub async fn run(a: DemoArgs, clock: clock::Clock) -> Result<ExitCode> {
    if a.trust {
        return trust::run(a, clock).await;
    }
    let mut profile = load_profile(&a.profile)?;
    let two_factor = second_factor_note(&profile, a.totp_optional);
    let name = std::path::Path::new(&a.profile)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("school")
        .to_string();
    // The demo's own database (no --database-url) is backed up daily beside it.
    let backups = match (&a.database_url, &profile.backup) {
        (None, None) => Some(demo_backups(&mut profile, &name)?),
        _ => None,
    };
    let url = a
        .database_url
        .clone()
        .unwrap_or_else(|| crate::settings::default_database_url(&format!("demo-{name}.db")));
    let store = Store::open(&url, clock).await?;
    let seeded = store.person_by_username("head").await?.is_some();
    if !seeded {
        seed(&store, &profile, &a.demo_password, "")
            .await
            .context("seeding the demo school")?;
    }
    let school = profile.school.name.clone();
    let first_contact = profile
        .role_title(profile.concerns.first_contact)
        .to_string();
    let password = a.demo_password.clone();
    let first_contact_user = match profile.concerns.first_contact {
        Role::OnlineSafetyCoordinator => "osc",
        Role::DeputyDsl => "deputy",
        Role::Headteacher => "head",
        _ => "dsl",
    };
    let db_shown = store::redacted_url(&url);
    let groups: Vec<(String, String)> = profile
        .network
        .iter()
        .flat_map(|n| n.subnets.iter())
        .filter(|s| s.cidr.starts_with("127."))
        .map(|s| (s.cidr.trim_end_matches("/32").to_string(), s.group.clone()))
        .collect();
    let mut dns = a.dns;
    dns.optional = true;
    if dns.tls.tls {
        crate::tls::demo_ca(&a.tls_dir, &profile.school.name)?;
        dns.tls.ca_dir = Some(a.tls_dir.clone());
    }
    let mut settings = crate::gateways::GatewaySettings::try_from(dns)?;
    settings.totp_optional = a.totp_optional;
    serve(profile, &a.profile, store, a.listen, settings, Default::default(), move |started| {
        let web_url = started.web_url;
        println!(
            "Palisade demo: {school}{}",
            if seeded {
                " (existing demo database)"
            } else {
                " (new demo database)"
            }
        );
        for addr in started.dns {
            println!("DNS filtering at {addr} (UDP and TCP)");
            println!(
                "  Try: dig @{} -p {} -b 127.0.0.12 www.gaming-site.example",
                addr.ip(),
                addr.port()
            );
            for (ip, group) in &groups {
                println!("    from {ip:<12} you are in group {group}");
            }
        }
        if started.dns.is_empty() {
            println!("  DNS filtering is off (no [network] section, or --no-dns).");
        }
        for addr in started.proxy {
            println!("Web proxy at {addr}");
            println!(
                "  Try: curl -x http://{addr} http://www.gaming-site.example/   (the block page)"
            );
            println!("  Browsers can find it at {web_url}/proxy.pac");
        }
        if started.proxy.is_empty() {
            println!("  The web proxy is off (no [network] section, or --no-proxy).");
        }
        println!("Palisade is running at {web_url}");
        if let Some(http) = started.http {
            println!("Plain HTTP at {http} redirects to HTTPS (and serves /proxy.pac)");
        }
        println!();
        println!("  Browser:  {web_url}/login");
        match started.ca_file {
            Some(ca) => {
                println!("  HTTPS, with a certificate from the demo's own CA: trust {} in the browser", ca.display());
                println!("    (and point the name at this machine, e.g. in /etc/hosts).");
            }
            None if web_url.starts_with("https://") => println!("  HTTPS, with the certificate given."),
            None => {
                println!("  Plain HTTP on 127.0.0.1, where browsers keep the sign-in cookie; to reach it by");
                println!("    another name, serve it over HTTPS: --tls --host NAME.");
            }
        }
        println!("  Logins (password for all: {password}):");
        println!("    head       Headteacher            dsl       Designated Safeguarding Lead");
        println!("    deputy     Deputy DSL             osc       Online Safety Coordinator");
        println!("    netman     Network Manager        data      Data Manager");
        println!("    teacher1..teacher4  Teachers      chair     Chair of Governors");
        println!("    staff1     Support staff          governor1 Governor");
        println!(
            "    visitor1   Visitor                pupil1..pupil{PUPILS}, parent1..parent{}",
            PUPILS / 2
        );
        println!("  Concerns about pupils go first to the {first_contact} ({first_contact_user}).");
        println!("{two_factor}");
        println!("  Database: {db_shown}");
        if let Some(note) = &backups {
            println!("{note}");
        }
        println!("  Stop with Ctrl-C.");
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// Seeds the demo's cast in `store`'s school, each username after `prefix` (`holt.` in a
/// trust, nothing for one school).
async fn seed(
    store: &Store,
    profile: &policy::Profile,
    password: &str,
    prefix: &str,
) -> Result<()> {
    // Every demo account shares one published password, so one Argon2id hash serves them all
    // and the demo starts in well under a second even on a small machine.
    let pw = password.to_string();
    let hash = tokio::task::spawn_blocking(move || web::auth::hash_password(&pw)).await??;
    let mut ids = std::collections::BTreeMap::new();
    for (username, name, kind, role) in ADULTS {
        let login = format!("{prefix}{username}");
        let id = add(store, &login, name, kind, role, None, &hash).await?;
        // Staff get a mail address on the fictional school's domain (alerts go to the leads),
        // and so does the Chair of Governors (told of every change of a safeguarding role, and
        // sent the daily record of the audit trail's head).
        if kind == PersonKind::Staff || role == Role::ChairOfGovernors {
            store
                .set_email(
                    &policy::Permit::for_operator(Action::ManagePeople),
                    id,
                    Some(&format!("{login}@school.example")),
                )
                .await?;
        }
        ids.insert(username.to_string(), id);
    }
    for i in 0..PUPILS {
        let (year, class) = CLASSES[i % CLASSES.len()];
        let username = format!("pupil{}", i + 1);
        let name = format!("{} {}", FIRST[i % FIRST.len()], LAST[(i * 7) % LAST.len()]);
        let id = add(
            store,
            &format!("{prefix}{username}"),
            &name,
            PersonKind::Pupil,
            Role::Pupil,
            Some((year, class)),
            &hash,
        )
        .await?;
        ids.insert(username, id);
    }
    for k in 1..=PUPILS / 2 {
        let first_child = 2 * k - 1;
        let surname = LAST[((first_child - 1) * 7) % LAST.len()];
        let username = format!("parent{k}");
        let id = add(
            store,
            &format!("{prefix}{username}"),
            &format!("Pat {surname}"),
            PersonKind::Parent,
            Role::Parent,
            None,
            &hash,
        )
        .await?;
        for child in [first_child, first_child + 1] {
            store
                .link_parent(
                    &policy::Permit::for_operator(Action::ManagePeople),
                    id,
                    ids[&format!("pupil{child}")],
                )
                .await?;
        }
        ids.insert(username, id);
    }
    sample_concerns(store, profile, &ids).await
}

async fn add(
    store: &Store,
    username: &str,
    name: &str,
    kind: PersonKind,
    role: Role,
    class: Option<(&str, &str)>,
    hash: &str,
) -> Result<i64> {
    // The operator seeds the demo: any role, and no mail (the seed is not a change of role).
    let id = store
        .create_person(
            &policy::Permit::for_operator(Action::GrantRole),
            RoleSet::EMPTY,
            &NewPerson {
                username: username.into(),
                display_name: name.into(),
                kind,
                roles: RoleSet::of(role),
                year_group: class.map(|c| c.0.to_string()),
                class_name: class.map(|c| c.1.to_string()),
            },
        )
        .await?;
    store
        .create_account(&policy::Permit::for_operator(Action::GrantRole), id, hash)
        .await?;
    Ok(id)
}

/// A few concerns so the lists are not empty: one triaged with a note, one from a pupil, one
/// from a parent and one closed.
async fn sample_concerns(
    store: &Store,
    profile: &policy::Profile,
    ids: &std::collections::BTreeMap<String, i64>,
) -> Result<()> {
    let concern =
        |reporter: &str, form, subjects: &[&str], category: &str, summary: &str, details: &str| {
            NewConcern {
                reporter_id: ids[reporter],
                form,
                subjects: subjects.iter().map(|s| ids[*s]).collect(),
                category: category.into(),
                summary: summary.into(),
                details: details.into(),
                about_text: None,
                occurred_at: None,
                platform: None,
                attachments: vec![],
            }
        };
    let p = &profile.concerns;
    let lead_role = p.first_contact;
    let lead = Actor {
        person_id: ids[match lead_role {
            Role::OnlineSafetyCoordinator => "osc",
            Role::DeputyDsl => "deputy",
            Role::Headteacher => "head",
            _ => "dsl",
        }],
        roles: RoleSet::of(lead_role),
    };
    // The seed files each sample report in its reporter's name, as the operator.
    let as_operator = policy::Permit::for_operator(Action::ReportConcern);
    let first = store
        .create_concern(&as_operator, p, &concern("teacher1", ReportForm::Staff, &["pupil3"], "contact.online_bullying", "Unkind messages about pupil3 in a class group chat", "pupil3 was upset at break; showed me messages on a phone from the Year 4 group chat calling her names."))
        .await?;
    let facts = store
        .concern(first)
        .await?
        .context("sample concern")?
        .facts();
    let permit = policy::permit(&lead, Action::TriageConcern, Object::Concern(&facts))
        .map_err(|d| anyhow::anyhow!("{d:?}"))?;
    store
        .triage(
            &permit,
            first,
            &Triage {
                severity: Some(Severity::Medium),
                ..Triage::default()
            },
        )
        .await?;
    let permit = policy::permit(&lead, Action::AddConcernAction, Object::Concern(&facts))
        .map_err(|d| anyhow::anyhow!("{d:?}"))?;
    store
        .add_action(
            &permit,
            profile,
            first,
            &ActionInput::Note {
                text: "Spoke with pupil3; she named two classmates. Screenshots saved.".into(),
                corrects: None,
            },
        )
        .await?;
    store
        .create_concern(
            &as_operator,
            p,
            &concern(
                "pupil7",
                ReportForm::Pupil,
                &[],
                "content.inappropriate",
                "I saw something online that upset me: a video in a game chat",
                "A video came up in the game chat that was scary and had bad words.",
            ),
        )
        .await?;
    store
        .create_concern(
            &as_operator,
            p,
            &concern(
                "parent2",
                ReportForm::Parent,
                &["pupil4"],
                "contact.grooming",
                "An adult stranger messaging my child on a game",
                "Someone who says he is 14 keeps asking for photos and to move to another app.",
            ),
        )
        .await?;
    let closed = store
        .create_concern(
            &as_operator,
            p,
            &concern(
                "teacher3",
                ReportForm::Staff,
                &["pupil12"],
                "conduct.aggression",
                "Pushing in the queue for the laptops",
                "pupil12 pushed another pupil while waiting for laptops; said it was about a game.",
            ),
        )
        .await?;
    let facts = store
        .concern(closed)
        .await?
        .context("sample concern")?
        .facts();
    let permit = policy::permit(&lead, Action::CloseConcern, Object::Concern(&facts))
        .map_err(|d| anyhow::anyhow!("{d:?}"))?;
    store
        .close_concern(
            &permit,
            closed,
            "Talked with both pupils; apology made; parents informed at pick-up.",
        )
        .await?;
    Ok(())
}
