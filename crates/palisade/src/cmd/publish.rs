//! `palisade publish-check DIR --purpose PURPOSE`: before a folder goes on the school's website
//! (or out to the press), every image and video in it is checked for pupils' names (in the file
//! name, the metadata, a caption) and for pupils named or tagged who have no consent for the
//! purpose, under the profile's consent rules ([`web::publish`], which the upload page uses
//! too). Exit 1 when anything is flagged, 0 when clean, 2 on error.

use crate::settings::load_profile;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use web::publish::FileFindings;

#[derive(Args)]
pub struct PublishArgs {
    /// The folder about to be published.
    dir: PathBuf,
    /// What it is for: one of the profile's `[consent] purposes` (website, social_media...).
    #[arg(long)]
    purpose: String,
    /// One JSON object per file instead of one line per finding.
    #[arg(long)]
    json: bool,
    /// The school profile (its consent rules).
    #[arg(long, env = "PALISADE_PROFILE", default_value = "holt")]
    profile: String,
    /// The school's database (its pupils and their consent).
    #[arg(long, env = "PALISADE_DATABASE_URL")]
    database_url: String,
    /// The school in that database (its slug); needed when it holds several.
    #[arg(long)]
    school: Option<String>,
}

pub async fn run(a: PublishArgs, clock: clock::Clock) -> Result<ExitCode> {
    let files = match check(&a, clock).await {
        Ok(files) => files,
        Err(e) => {
            eprintln!("palisade publish-check: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };
    for f in &files {
        if a.json {
            println!("{}", serde_json::to_string(f)?);
            continue;
        }
        if let Some(why) = &f.damaged {
            println!("{}: damaged: {why}", f.file);
        }
        for x in &f.findings {
            println!("{}: {}: {} ({})", f.file, x.kind, x.pupil, x.field);
        }
    }
    let flagged = files.iter().filter(|f| f.flagged()).count();
    if !a.json {
        eprintln!(
            "{} files checked for {}; {flagged} flagged",
            files.len(),
            a.purpose
        );
    }
    Ok(if flagged > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn check(a: &PublishArgs, clock: clock::Clock) -> Result<Vec<FileFindings>> {
    let profile = load_profile(&a.profile)?;
    if !a.dir.is_dir() {
        anyhow::bail!("{} is not a folder", a.dir.display());
    }
    let store = super::open_school(&a.database_url, a.school.as_deref(), clock).await?;
    let result = web::publish::check_folder(&store, &profile, &a.dir, a.purpose.trim()).await;
    store.close().await;
    Ok(result?)
}
