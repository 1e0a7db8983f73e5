//! `palisade ca init`: the school's certificate authority for HTTPS inspection. The key file is
//! created readable by the service user only; the certificate is what school devices install.

use crate::settings::{load_profile, profile_dir};
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum CaCommand {
    /// Make the school's CA (ca.pem and ca.key) where the profile's `ca_dir` says.
    Init {
        /// The school profile: a file, or a shipped name (holt, coleridge).
        #[arg(long, env = "PALISADE_PROFILE")]
        profile: String,
        /// Write here instead of the profile's `[network.proxy] ca_dir`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace an existing CA (devices that trust the old one must be given the new one).
        #[arg(long)]
        force: bool,
    },
}

/// Where a profile keeps its CA.
pub fn ca_dir(profile: &policy::Profile, profile_path: &str) -> PathBuf {
    let dir = profile
        .network
        .as_ref()
        .map(|n| n.proxy.ca_dir.clone())
        .unwrap_or_else(|| "palisade-data/ca".into());
    profile_dir(profile_path).join(dir)
}

fn write_new(path: &Path, text: &str, mode: u32, force: bool) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        // An existing file replaced with --force keeps its old mode unless set again.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

pub fn run(cmd: CaCommand) -> Result<ExitCode> {
    match cmd {
        CaCommand::Init {
            profile: name,
            out,
            force,
        } => {
            let profile = load_profile(&name)?;
            let dir = out.unwrap_or_else(|| ca_dir(&profile, &name));
            let (cert_path, key_path) = (dir.join("ca.pem"), dir.join("ca.key"));
            if !force && (cert_path.exists() || key_path.exists()) {
                bail!(
                    "{} already holds a CA; school devices trust it. Use --force to replace it",
                    dir.display()
                );
            }
            // The folder holds the private key: this user's only (a folder that exists keeps
            // its mode; the key itself is 0600 either way).
            let mut folder = std::fs::DirBuilder::new();
            folder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                folder.mode(0o700);
            }
            folder
                .create(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let (cert, key) = gateway::proxy::tls::generate_ca(&profile.school.name)?;
            write_new(&key_path, &key, 0o600, force)?;
            write_new(&cert_path, &cert, 0o644, force)?;
            println!("School CA made for {}:", profile.school.name);
            println!(
                "  {}  the certificate: install it on school devices (the web app serves it at /ca)",
                cert_path.display()
            );
            println!(
                "  {}  the private key: readable by this user only; never copy it off this machine",
                key_path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
