//! `palisade lists compile PATH... -o index.bin`: parse lists once into a snapshot the gateways
//! load in milliseconds.

use crate::filtering::cli_lists;
use anyhow::{Context, Result};
use clap::Subcommand;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Subcommand)]
pub enum ListsCommand {
    /// Download the profile's lists that have a URL (only what changed), keeping the last good
    /// copy of any that fails.
    Refresh {
        #[arg(long, env = "PALISADE_PROFILE")]
        profile: String,
    },
    /// Compile lists into an index snapshot, with a summary of what was read.
    Compile {
        /// List files or UT1 folders: PATH or CATEGORY=PATH (format guessed from the content).
        paths: Vec<String>,
        /// Where to write the snapshot.
        #[arg(short, long)]
        output: std::path::PathBuf,
        /// Also compile the lists this profile declares (its mandatory lists included), so the
        /// snapshot can stand in for them in `serve --lists`.
        #[arg(long)]
        profile: Option<String>,
    },
}

pub async fn run(cmd: ListsCommand, clock: clock::Clock) -> Result<ExitCode> {
    let (paths, output, profile) = match cmd {
        ListsCommand::Compile {
            paths,
            output,
            profile,
        } => (paths, output, profile),
        ListsCommand::Refresh { profile } => return refresh(&profile, &clock).await,
    };
    let (mut lists, _) = cli_lists(&paths)?;
    if let Some(name) = profile {
        let p = crate::settings::load_profile(&name)?;
        let dir = crate::settings::profile_dir(&name);
        let mut declared = filter::compile::lists_of(
            &p.filtering.lists,
            &dir,
            &dir.join("palisade-data").join("lists"),
        );
        declared.append(&mut lists);
        lists = declared;
    }
    let started = Instant::now();
    let total = lists.len();
    let mut done = 0;
    // A progress bar on a terminal; one line per file when the output is kept in a log.
    let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
        let bar = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} files {elapsed} {msg}")
        {
            bar.set_style(style);
        }
        bar
    });
    let compiled = filter::compile(&lists, |path| {
        done += 1;
        match &bar {
            Some(bar) => {
                bar.set_position(done as u64 - 1);
                bar.set_message(path.display().to_string());
            }
            None => eprintln!("[{done}/{total}] reading {}", path.display()),
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let (index, report) = compiled?;
    let bytes = index.to_bytes();
    std::fs::write(&output, &bytes)
        .with_context(|| format!("cannot write {}", output.display()))?;
    println!(
        "compiled {} entries ({} duplicates) from {} files in {:.2} s -> {} ({:.1} MB)",
        index.len(),
        report.duplicates,
        report.files.len(),
        started.elapsed().as_secs_f64(),
        output.display(),
        bytes.len() as f64 / 1e6
    );
    for (category, n) in index.counts() {
        println!("  {category:<24} {n:>10}");
    }
    let invalid: u32 = report.files.iter().map(|f| f.invalid).sum();
    let skipped: u32 = report.files.iter().map(|f| f.skipped).sum();
    println!("  invalid lines: {invalid}, skipped rules: {skipped}");
    for line in crate::filtering::report_lines(&report).iter().take(20) {
        eprintln!("  {line}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn refresh(name: &str, clock: &clock::Clock) -> Result<ExitCode> {
    let profile = crate::settings::load_profile(name)?;
    let cache = crate::settings::profile_dir(name)
        .join("palisade-data")
        .join("lists");
    let client = crate::refresh::client()?;
    let mut lost = false;
    for outcome in crate::refresh::refresh_lists(&profile.filtering, &cache, &client, clock).await {
        match outcome {
            crate::refresh::Refreshed::Updated { name, bytes } => {
                println!("{name}: updated ({bytes} bytes)")
            }
            crate::refresh::Refreshed::NotModified { name } => println!("{name}: not modified"),
            crate::refresh::Refreshed::Failed { name, error, kept } => {
                lost |= !kept;
                println!(
                    "{name}: FAILED ({error}); {}",
                    if kept {
                        "keeping the last good copy"
                    } else {
                        "no copy yet: the list is not in force"
                    }
                );
            }
        }
    }
    Ok(if lost {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
