//! `palisade audit verify`: walk the hash chain and name the first broken row; `audit head`:
//! the chain's head, to be kept away from the database and compared later.

use crate::settings::default_database_url;
use anyhow::Result;
use clap::Subcommand;
use std::process::ExitCode;
use store::{AuditHead, AuditVerdict, Store};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify the audit trail's hash chain (and that it still holds a head recorded earlier).
    Verify {
        /// sqlite://path or postgres://user@host/db
        #[arg(long, env = "PALISADE_DATABASE_URL", default_value_t = default_database_url("palisade.db"))]
        database_url: String,
        /// A head recorded earlier, COUNT:HASH as `palisade audit head` prints it: the trail must
        /// still hold it (catches rows deleted from the end, or a wiped log).
        #[arg(long, value_name = "HEAD", value_parser = parse_head, conflicts_with = "since_mail")]
        expect: Option<AuditHead>,
        /// Compare with the head carried by the newest daily digest mail in the outbox.
        #[arg(long)]
        since_mail: bool,
    },
    /// Print the audit trail's head (entries and newest hash), after verifying the chain.
    Head {
        /// sqlite://path or postgres://user@host/db
        #[arg(long, env = "PALISADE_DATABASE_URL", default_value_t = default_database_url("palisade.db"))]
        database_url: String,
        /// Print JSON: {"count": N, "hash": "...", "head": "N:..."}.
        #[arg(long)]
        json: bool,
    },
}

fn parse_head(s: &str) -> Result<AuditHead, String> {
    s.parse()
}

pub async fn run(cmd: AuditCommand, clock: clock::Clock) -> Result<ExitCode> {
    match cmd {
        AuditCommand::Verify {
            database_url,
            expect,
            since_mail,
        } => {
            let store = Store::open_existing(&database_url, clock).await?;
            let expect = match (expect, since_mail) {
                (Some(head), _) => Some(head),
                (None, true) => match store.audit_head_in_mail().await? {
                    Some(head) => {
                        println!("recorded head from the newest digest mail: {head}");
                        Some(head)
                    }
                    None => {
                        store.close().await;
                        anyhow::bail!(
                            "--since-mail: no digest mail in the outbox carries an audit head \
                             (the outbox was emptied, or no digest has gone out yet)"
                        );
                    }
                },
                (None, false) => None,
            };
            let verdict = match &expect {
                Some(head) => store.verify_audit_against(head).await?,
                None => store.verify_audit().await?,
            };
            // Every person's creation is audited: people and no trail means a wiped trail.
            let verdict = match verdict {
                AuditVerdict::Intact { rows: 0, .. } => match store.people(None).await?.len() {
                    0 => verdict,
                    people => AuditVerdict::Broken {
                        row_id: 1,
                        reason: format!(
                            "the trail is empty but the database holds {people} people, whose \
                             creation is audited (the trail was wiped)"
                        ),
                    },
                },
                other => other,
            };
            store.close().await;
            match verdict {
                AuditVerdict::Intact { rows, head } => {
                    match expect {
                        Some(e) => println!(
                            "audit trail intact: {rows} entries, head {head}, holds the recorded head {e}"
                        ),
                        None => println!("audit trail intact: {rows} entries, head {head}"),
                    }
                    Ok(ExitCode::SUCCESS)
                }
                AuditVerdict::Broken { row_id, reason } => {
                    println!("audit trail BROKEN at row {row_id}: {reason}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        AuditCommand::Head { database_url, json } => {
            let store = Store::open_existing(&database_url, clock).await?;
            let verdict = store.verify_audit().await;
            store.close().await;
            match verdict? {
                AuditVerdict::Intact { rows, head } => {
                    let head = AuditHead {
                        count: rows,
                        hash: head,
                    };
                    if json {
                        let v = serde_json::json!({
                            "count": head.count, "hash": head.hash, "head": head.to_string(),
                        });
                        println!("{v}");
                    } else {
                        println!("{head}");
                        println!(
                            "({} entries; keep this away from the database and check later with \
                             `palisade audit verify --expect {head}`)",
                            head.count
                        );
                    }
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
