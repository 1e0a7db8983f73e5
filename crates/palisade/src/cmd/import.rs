//! `palisade import people FILE...`: load the school's pupils, their parents and carers, and
//! staff from the MIS's CSV export, and keep them current with the next one (see
//! [`policy::import`] for the files and columns read). `--dry-run` prints what would change and
//! writes nothing. Exit 0 when imported (or previewed), 1 when a file has problems (each named
//! by row and column; nothing is written), 2 on any other error.

use crate::settings::{default_database_url, load_profile};
use clap::{Args, Subcommand};
use policy::import::{Export, Format, Mapping, Plan, parse_file};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use store::{ImportRequest, ImportedFile, Leavers};

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import pupils, their parents and carers, and staff from the MIS's CSV export.
    People(PeopleArgs),
}

#[derive(Args)]
pub struct PeopleArgs {
    /// The export's CSV files: pupils (with their contacts), contacts, staff; together they
    /// are one import.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Which MIS wrote them; `auto` recognises each file by its header row.
    #[arg(long, default_value = "auto", value_parser = ["auto", "sims", "arbor", "pupil-asset"])]
    format: String,
    /// A mapping file (TOML) naming the columns of another export, or how staff roles map.
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// Print what would change and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// What to do with people a full export leaves out: `mark` sets their leaving date to
    /// today (their accounts close on it); `ignore` leaves them (a partial export).
    #[arg(long, default_value = "ignore", value_parser = ["mark", "ignore"])]
    leavers: String,
    /// Print the plan as JSON instead of lines.
    #[arg(long)]
    json: bool,
    /// sqlite://path or postgres://user@host/db
    #[arg(long = "db", visible_alias = "database-url", env = "PALISADE_DATABASE_URL",
          default_value_t = default_database_url("palisade.db"))]
    database_url: String,
    /// The school to import into; needed when the database holds several.
    #[arg(long, value_name = "SLUG")]
    school: Option<String>,
    /// The school profile, whose safeguarding roles are mailed about if an import gives one.
    #[arg(long, env = "PALISADE_PROFILE", default_value = "holt")]
    profile: String,
}

/// Why an import stopped: the files' problems (exit 1), or anything else (exit 2).
enum Failure {
    Problems(Vec<policy::import::Problem>, String),
    Other(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure::Other(e.into())
    }
}

/// The problems of a refused export, each named by file, row and column, or the error itself.
fn failure_of(e: policy::PolicyError, file: &str) -> Failure {
    match e {
        policy::PolicyError::Import { problems } => Failure::Problems(problems, file.to_string()),
        other => Failure::Other(other.into()),
    }
}

pub async fn run(cmd: ImportCommand, clock: clock::Clock) -> anyhow::Result<ExitCode> {
    let ImportCommand::People(a) = cmd;
    match people(&a, clock).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(Failure::Problems(problems, file)) => {
            for p in &problems {
                match &p.source {
                    Some(_) => eprintln!("palisade import: {p}"),
                    None => eprintln!("palisade import: {file}: {p}"),
                }
            }
            eprintln!(
                "palisade import: nothing was imported ({} problem{})",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            Ok(ExitCode::from(1))
        }
        Err(Failure::Other(e)) => {
            eprintln!("palisade import: {e:#}");
            Ok(ExitCode::from(2))
        }
    }
}

async fn people(a: &PeopleArgs, clock: clock::Clock) -> Result<(), Failure> {
    let format = Format::parse_choice(&a.format)?;
    let leavers = Leavers::parse(&a.leavers)
        .ok_or_else(|| anyhow::anyhow!("--leavers must be mark or ignore"))?;
    let mapping = match &a.mapping {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read the mapping {}: {e}", path.display()))?;
            Some(Mapping::from_toml(&text, &path.display().to_string())?)
        }
        None => None,
    };
    let profile = load_profile(&a.profile)?;
    let mut parsed = Vec::new();
    let mut bytes_of = Vec::new();
    for path in &a.files {
        let bytes = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let file = parse_file(&bytes, &name, format, mapping.as_ref())
            .map_err(|e| failure_of(e, &name))?;
        parsed.push(file);
        bytes_of.push(bytes);
    }
    let first = a
        .files
        .first()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let export = Export::from_files(parsed).map_err(|e| failure_of(e, &first))?;
    let files: Vec<ImportedFile> = export
        .files
        .iter()
        .zip(&bytes_of)
        .map(|(summary, bytes)| ImportedFile::of(summary, bytes))
        .collect();
    let store = super::open_school(&a.database_url, a.school.as_deref(), clock).await?;
    let result = async {
        let plan = match store.plan_import(&export).await {
            Err(store::StoreError::Invalid(e)) => return Err(failure_of(e, &first)),
            other => other?,
        };
        for f in &export.files {
            eprintln!(
                "{}: {} {}, {} rows",
                f.source,
                f.format.title(),
                f.kind.as_str(),
                f.rows
            );
        }
        if a.dry_run {
            output(|w| {
                if a.json {
                    writeln!(w, "{}", serde_json::to_string_pretty(&plan)?)
                } else {
                    print_plan(w, &plan, leavers)
                }
            })?;
            eprintln!("Dry run: nothing was written.");
            return Ok(());
        }
        let request = ImportRequest {
            export: &export,
            previewed: &plan,
            leavers,
            files: &files,
        };
        let bar = progress_bar();
        let report = store
            .import_people(
                &policy::Permit::for_operator(policy::Action::ImportPeople),
                profile.concerns.audiences().safeguarding_roles(),
                &request,
                &|done, total| {
                    if let Some(bar) = &bar {
                        bar.set_length(total as u64);
                        bar.set_position(done as u64);
                    }
                },
            )
            .await
            .map_err(|e| match e {
                store::StoreError::Invalid(e) => failure_of(e, &first),
                other => other.into(),
            })?;
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        output(|w| {
            if a.json {
                writeln!(w, "{}", serde_json::to_string_pretty(&report)?)
            } else {
                print_counts(w, &plan, leavers, report.leavers_marked.len())
            }
        })?;
        Ok(())
    }
    .await;
    store.close().await;
    result
}

/// A progress bar on a terminal; none when the output goes to a log.
fn progress_bar() -> Option<indicatif::ProgressBar> {
    std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "importing {bar:30} {pos}/{len} writes {elapsed}",
        ) {
            bar.set_style(style);
        }
        bar
    })
}

/// The summary lines of an import.
fn print_counts(
    w: &mut impl Write,
    plan: &Plan,
    leavers: Leavers,
    marked: usize,
) -> io::Result<()> {
    let c = plan.counts();
    let with = |n: usize, i: usize| {
        if n == 0 {
            return String::new();
        }
        let kinds = c
            .by_kind
            .iter()
            .filter(|(_, n)| n[i] > 0)
            .map(|(k, n)| format!("{} {k}", n[i]))
            .collect::<Vec<_>>()
            .join(", ");
        format!(" ({kinds})")
    };
    writeln!(w, "added {}{}", c.added, with(c.added, 0))?;
    writeln!(w, "changed {}{}", c.changed, with(c.changed, 1))?;
    let leaving = format!("leaving {}{}", c.leaving, with(c.leaving, 2));
    match leavers {
        Leavers::Mark => writeln!(w, "{leaving}: {marked} marked to leave on {}", plan.today)?,
        Leavers::Ignore => writeln!(w, "{leaving}: not marked (--leavers mark marks them)")?,
    }
    writeln!(w, "unchanged {}", c.unchanged)?;
    writeln!(
        w,
        "parent links: {} added, {} changed, {} removed",
        c.links_added, c.links_changed, c.links_removed
    )
}

/// The dry run: every person added, changed and leaving, every link, then the counts.
fn print_plan(w: &mut impl Write, plan: &Plan, leavers: Leavers) -> io::Result<()> {
    for a in &plan.added {
        let class = [
            a.values.year_group.as_deref(),
            a.values.class_name.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
        let class = if class.is_empty() {
            String::new()
        } else {
            format!(" ({class})")
        };
        writeln!(
            w,
            "+ {} {} {}{class}",
            a.kind.as_str(),
            a.username,
            a.values.display_name
        )?;
    }
    for c in &plan.changed {
        let fields = c
            .fields
            .iter()
            .map(|f| {
                format!(
                    "{} {} -> {}",
                    f.field,
                    f.before.as_deref().unwrap_or("(none)"),
                    f.after.as_deref().unwrap_or("(none)")
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        writeln!(
            w,
            "~ {} {} {}: {fields}",
            c.kind.as_str(),
            c.username,
            c.display_name
        )?;
    }
    for l in &plan.leaving {
        writeln!(
            w,
            "- {} {} {} (leaving)",
            l.kind.as_str(),
            l.username,
            l.display_name
        )?;
    }
    for (sign, links) in [
        ("+", &plan.links_added),
        ("~", &plan.links_changed),
        ("-", &plan.links_removed),
    ] {
        for l in links {
            let relationship = l
                .relationship
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            let pr = if l.parental_responsibility {
                ""
            } else {
                " without parental responsibility"
            };
            writeln!(
                w,
                "{sign} link {} -> {}{relationship}{pr}",
                l.parent_name, l.child_name
            )?;
        }
    }
    print_counts(w, plan, leavers, 0)
}

/// Writes `what` to standard output; a reader that went away (`| head`) is not an error.
fn output(what: impl FnOnce(&mut io::StdoutLock<'static>) -> io::Result<()>) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match what(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
