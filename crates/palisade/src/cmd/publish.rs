//! `palisade publish-check DIR --purpose PURPOSE`: before a folder goes on the school's website
//! (or out to the press), every image and video in it is checked for pupils' names (in the file
//! name, the metadata, a caption) and for pupils named or tagged who have no consent for the
//! purpose, under the profile's consent rules. Exit 1 when anything is flagged, 0 when clean,
//! 2 on error.

use crate::settings::load_profile;
use anyhow::{Context, Result};
use clap::Args;
use policy::consent::Standing;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

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

/// One finding, as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: &'static str,
    pub pupil: String,
    pub field: String,
}

/// One file's findings, as printed with `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct FileFindings {
    pub file: String,
    pub findings: Vec<Finding>,
    /// What was wrong reading it, when it could not be read in full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damaged: Option<String>,
}

/// What the check decides for one scanned file: a name stays a finding unless the pupil's
/// consent for the purpose agreed to their name (where the profile allows it at all), and a
/// pupil named or tagged without consent for the purpose is a finding of its own.
pub fn decide(
    report: &media::FileReport,
    standing: impl Fn(i64) -> Standing,
    name_of: impl Fn(i64) -> String,
) -> FileFindings {
    let mut findings = Vec::new();
    for f in &report.findings {
        if matches!(standing(f.pupil), Standing::Given { named: true }) {
            continue;
        }
        let kind = match f.kind {
            media::FindingKind::NameInFilename => "name_in_filename",
            media::FindingKind::NameInMetadata => "name_in_metadata",
            media::FindingKind::NameInCaption => "name_in_caption",
        };
        findings.push(Finding {
            kind,
            pupil: name_of(f.pupil),
            field: f.field.clone(),
        });
    }
    for pupil in &report.named {
        let s = standing(*pupil);
        if !s.allows() {
            findings.push(Finding {
                kind: "no_consent",
                pupil: name_of(*pupil),
                field: format!("consent {}", s.as_str()),
            });
        }
    }
    FileFindings {
        file: report.file.display().to_string(),
        findings,
        damaged: report.damaged.clone(),
    }
}

pub async fn run(a: PublishArgs, clock: clock::Clock) -> Result<ExitCode> {
    match check(&a, clock).await {
        Ok(files) => {
            let flagged = files
                .iter()
                .any(|f| !f.findings.is_empty() || f.damaged.is_some());
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
            if !a.json {
                let n = files
                    .iter()
                    .filter(|f| !f.findings.is_empty() || f.damaged.is_some())
                    .count();
                eprintln!(
                    "{} files checked for {}; {n} flagged",
                    files.len(),
                    a.purpose
                );
            }
            Ok(if flagged {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Err(e) => {
            eprintln!("palisade publish-check: {e:#}");
            Ok(ExitCode::from(2))
        }
    }
}

async fn check(a: &PublishArgs, clock: clock::Clock) -> Result<Vec<FileFindings>> {
    let profile = load_profile(&a.profile)?;
    let rules = &profile.consent;
    rules.check_purpose("--purpose", a.purpose.trim())?;
    let store = super::open_school(&a.database_url, a.school.as_deref(), clock).await?;
    let today = store.clock().school_now().date_naive();
    let pupils = store.people(Some(policy::PersonKind::Pupil)).await?;
    let latest = store.latest_consents().await?;
    store.close().await;
    let scan_pupils: Vec<media::Pupil> = pupils
        .iter()
        .map(|p| media::Pupil {
            id: p.id,
            name: p.display_name.clone(),
        })
        .collect();
    let dir = a.dir.clone();
    let reports = tokio::task::spawn_blocking(move || media::scan(&dir, &scan_pupils))
        .await
        .context("the scan stopped")?
        .with_context(|| format!("cannot check {}", a.dir.display()))?;
    let purpose = a.purpose.trim().to_string();
    let standing = |id: i64| {
        let entry = latest
            .get(&(id, purpose.clone()))
            .and_then(store::ConsentEntry::entry);
        rules.standing(entry, today)
    };
    let name_of = |id: i64| {
        pupils
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| format!("pupil {id}"), |p| p.display_name.clone())
    };
    Ok(reports
        .iter()
        .map(|r| decide(r, standing, name_of))
        .collect())
}
