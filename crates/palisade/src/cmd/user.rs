//! `palisade user add`: create a person with a login account from the command line, e.g. the
//! first Headteacher or Data Manager, who then adds everyone else in the browser.
//! `palisade user deactivate`: mark someone as having left, whatever their roles (a departing
//! Headteacher, whom nobody in the browser may switch off).

use crate::settings::{default_database_url, load_profile};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use policy::{Role, RoleSet};
use std::io::BufRead;
use std::process::ExitCode;
use store::{NewPerson, Store};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a person with a login account.
    Add(AddArgs),
    /// Mark a person as having left and switch off their account (the server's operator).
    Deactivate(DeactivateArgs),
}

#[derive(Args)]
pub struct DeactivateArgs {
    #[arg(long)]
    username: String,
    /// The school the person belongs to; needed when the database holds several.
    #[arg(long, value_name = "SLUG")]
    school: Option<String>,
    /// The school profile whose safeguarding roles are mailed about.
    #[arg(long, env = "PALISADE_PROFILE", default_value = "holt")]
    profile: String,
    #[arg(long, env = "PALISADE_DATABASE_URL", default_value_t = default_database_url("palisade.db"))]
    database_url: String,
}

/// The operator switches a person off: audited with no actor, and mailed to the DSLs and the
/// Chair when they hold a safeguarding role.
async fn deactivate(a: DeactivateArgs, clock: clock::Clock) -> Result<ExitCode> {
    let profile = load_profile(&a.profile)?;
    let store = open_school(&a.database_url, a.school.as_deref(), clock).await?;
    let Some(person) = store.person_by_username(&a.username).await? else {
        store.close().await;
        bail!("--username `{}`: nobody has that username", a.username);
    };
    let operator = policy::Permit::for_operator(policy::Action::DeactivateAccount);
    let safeguarding = profile.concerns.audiences().safeguarding_roles();
    store
        .set_person_active(&operator, safeguarding, person.id, false)
        .await?;
    if store.account(person.id).await?.is_some() {
        store
            .set_account_active(&operator, safeguarding, person.id, false)
            .await?;
    }
    store.close().await;
    println!(
        "{} ({}) has left and cannot sign in",
        a.username,
        person.roles.to_csv()
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct AddArgs {
    #[arg(long)]
    username: String,
    /// Full name.
    #[arg(long)]
    name: String,
    /// Role identifier, e.g. headteacher, data_manager, dsl.
    #[arg(long, default_value = "headteacher")]
    role: String,
    /// The school the person belongs to; needed when the database holds several.
    #[arg(long, value_name = "SLUG")]
    school: Option<String>,
    /// Read the password from standard input (one line) instead of PALISADE_PASSWORD.
    #[arg(long)]
    password_stdin: bool,
    /// The school profile whose password rules apply.
    #[arg(long, env = "PALISADE_PROFILE", default_value = "holt")]
    profile: String,
    #[arg(long, env = "PALISADE_DATABASE_URL", default_value_t = default_database_url("palisade.db"))]
    database_url: String,
}

pub async fn run(cmd: UserCommand, clock: clock::Clock) -> Result<ExitCode> {
    let a = match cmd {
        UserCommand::Add(a) => a,
        UserCommand::Deactivate(d) => return deactivate(d, clock).await,
    };
    let profile = load_profile(&a.profile)?;
    let role = Role::parse(&a.role).with_context(|| {
        format!(
            "--role `{}` is not a role; one of: {}",
            a.role,
            Role::ALL
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let kind = policy::PersonKind::ALL
        .into_iter()
        .find(|k| k.allows(role))
        .context("no kind of person holds that role")?;
    let password = if a.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        match std::env::var("PALISADE_PASSWORD") {
            Ok(p) => p,
            Err(_) => bail!(
                "give the password with --password-stdin or PALISADE_PASSWORD (never on the command line)"
            ),
        }
    };
    policy::people::check_password(&profile.passwords, &password, &a.username)?;
    let new = NewPerson {
        username: a.username.clone(),
        display_name: a.name,
        kind,
        roles: RoleSet::of(role),
        year_group: None,
        class_name: None,
    };
    let store = open_school(&a.database_url, a.school.as_deref(), clock).await?;
    let hash = web::auth::hash_password(&password)?;
    // The server's operator bootstraps any role (outside `policy::can`); a safeguarding role
    // given here is still mailed to the DSLs and the Chair of Governors.
    let operator = policy::Permit::for_operator(policy::Action::GrantRole);
    let safeguarding = profile.concerns.audiences().safeguarding_roles();
    let id = store.create_person(&operator, safeguarding, &new).await?;
    store.create_account(&operator, id, &hash).await?;
    store.close().await;
    match a.school {
        Some(slug) => println!(
            "added {} ({}) with a login account at {slug}",
            a.username, role
        ),
        None => println!("added {} ({}) with a login account", a.username, role),
    }
    Ok(ExitCode::SUCCESS)
}

/// The store of `url` acting in the school `slug` names (the only one when `None`).
async fn open_school(url: &str, slug: Option<&str>, clock: clock::Clock) -> Result<Store> {
    let opened = Store::open(url, clock).await?;
    match opened.for_slug(slug).await {
        Ok(store) => Ok(store),
        Err(e) => {
            opened.close().await;
            Err(e.into())
        }
    }
}
