//! `palisade audit verify`: walk the hash chain and name the first broken row.

use crate::settings::default_database_url;
use anyhow::Result;
use clap::Subcommand;
use std::process::ExitCode;
use store::{AuditVerdict, Store};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify the audit trail's hash chain.
    Verify {
        /// sqlite://path or postgres://user@host/db
        #[arg(long, env = "PALISADE_DATABASE_URL", default_value_t = default_database_url("palisade.db"))]
        database_url: String,
    },
}

pub async fn run(cmd: AuditCommand, clock: clock::Clock) -> Result<ExitCode> {
    match cmd {
        AuditCommand::Verify { database_url } => {
            let store = Store::open(&database_url, clock).await?;
            let verdict = store.verify_audit().await?;
            store.close().await;
            match verdict {
                AuditVerdict::Intact { rows, head } => {
                    println!("audit trail intact: {rows} entries, head {head}");
                    Ok(ExitCode::SUCCESS)
                }
                AuditVerdict::Broken { row_id, reason } => {
                    println!("audit trail BROKEN at row {row_id}: {reason}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
