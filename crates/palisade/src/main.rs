//! `palisade`: the one binary. Wiring only: parse the command line, build settings, call the
//! library crates. Errors become a message and a non-zero exit here, nowhere else.

mod adapters;
mod backups;
mod cmd;
mod filtering;
mod gateways;
mod metrics;
mod refresh;
mod reload;
mod selftest;
mod settings;
mod tls;
mod trust;
mod upkeep;

use clap::{Parser, Subcommand};

// The DNS gateway allocates each access-log event on its receive thread and frees it on the
// writer's: mimalloc handles such cross-thread frees far more cheaply than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Your school's Online Safety Policy as running software.
#[derive(Parser)]
#[command(name = "palisade", version, about, propagate_version = true)]
struct Cli {
    /// Worker threads of the async runtime (default: one per CPU core).
    #[arg(long, global = true, env = "PALISADE_THREADS")]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a fictional demo school on SQLite and print where to point a browser.
    Demo(cmd::demo::DemoArgs),
    /// Run Palisade for a real school.
    Serve(cmd::serve::ServeArgs),
    /// Validate or print a school profile.
    #[command(subcommand)]
    Policy(cmd::policy::PolicyCommand),
    /// Manage accounts from the command line (bootstrap the first administrator).
    #[command(subcommand)]
    User(cmd::user::UserCommand),
    /// The verdict for a URL or host and a group, and why.
    Check(cmd::check::CheckArgs),
    /// Compile block lists into an index snapshot.
    #[command(subcommand)]
    Lists(cmd::lists::ListsCommand),
    /// Check the tamper-evident audit trail.
    #[command(subcommand)]
    Audit(cmd::audit::AuditCommand),
    /// Back up the database into one archive file (or check one with --verify FILE).
    Backup(cmd::backup::BackupArgs),
    /// Restore a verified backup file into an empty database.
    Restore(cmd::backup::RestoreArgs),
    /// Import the school's people from its MIS's CSV export.
    #[command(subcommand)]
    Import(cmd::import::ImportCommand),
    /// The school's certificate authority for HTTPS inspection.
    #[command(subcommand)]
    Ca(cmd::ca::CaCommand),
    /// The schools a database holds.
    #[command(subcommand)]
    School(cmd::school::SchoolCommand),
    /// Check a folder before publishing: pupils' names in files, metadata and captions, and
    /// pupils shown without consent for the purpose (exit 1 when anything is flagged).
    PublishCheck(cmd::publish::PublishArgs),
    /// Test the running filter as each group (DfE minimum, each blocked category, SafeSearch,
    /// DoH, IP literals, an allowed name) and record it (exit 1 when any check fails).
    FilterTest(cmd::filter_test::FilterTestArgs),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PALISADE_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,palisade=info,web=info")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let clock = match settings::clock() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("palisade: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    match cli.threads {
        Some(0) => {
            eprintln!("palisade: --threads must be at least 1");
            return std::process::ExitCode::FAILURE;
        }
        Some(n) => {
            builder.worker_threads(n);
        }
        None => {}
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("palisade: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Demo(a) => cmd::demo::run(a, clock).await,
            Command::Serve(a) => cmd::serve::run(a, clock).await,
            Command::Policy(c) => cmd::policy::run(c, clock).await,
            Command::User(c) => cmd::user::run(c, clock).await,
            Command::Audit(c) => cmd::audit::run(c, clock).await,
            Command::Backup(a) => cmd::backup::run(a, clock).await,
            Command::Restore(a) => cmd::backup::restore(a, clock).await,
            Command::Import(c) => cmd::import::run(c, clock).await,
            Command::Check(a) => cmd::check::run(a, &clock),
            Command::Lists(c) => cmd::lists::run(c, clock).await,
            Command::Ca(c) => cmd::ca::run(c),
            Command::School(c) => cmd::school::run(c, clock).await,
            Command::PublishCheck(a) => cmd::publish::run(a, clock).await,
            Command::FilterTest(a) => cmd::filter_test::run(a, clock).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("palisade: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
