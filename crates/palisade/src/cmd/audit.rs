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
        /// The school whose trail to verify (each school has its own); needed when the
        /// database holds several.
        #[arg(long, value_name = "SLUG", conflicts_with = "all")]
        school: Option<String>,
        /// Verify every school's trail, one by one.
        #[arg(long, conflicts_with = "expect")]
        all: bool,
    },
    /// Print the audit trail's head (entries and newest hash), after verifying the chain.
    Head {
        /// sqlite://path or postgres://user@host/db
        #[arg(long, env = "PALISADE_DATABASE_URL", default_value_t = default_database_url("palisade.db"))]
        database_url: String,
        /// Print JSON: {"count": N, "hash": "...", "head": "N:..."}.
        #[arg(long)]
        json: bool,
        /// The school whose trail's head to print; needed when the database holds several.
        #[arg(long, value_name = "SLUG")]
        school: Option<String>,
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
            school,
            all,
        } => {
            let store = Store::open_existing(&database_url, clock).await?;
            let checked = async {
                let schools = if all {
                    let every = store.every_school().await?;
                    every.schools().await?
                } else {
                    let one = store.for_slug(school.as_deref()).await?;
                    let id = one.school_id();
                    one.schools()
                        .await?
                        .into_iter()
                        .filter(|s| s.id == id)
                        .collect()
                };
                let mut failed = false;
                for s in &schools {
                    let one = store.in_school(s.id);
                    let shown = (all || school.is_some()).then_some(s.slug.as_str());
                    failed |= !verify_one(&one, expect.clone(), since_mail, shown).await?;
                }
                anyhow::Ok(failed)
            }
            .await;
            store.close().await;
            Ok(if checked? {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        AuditCommand::Head {
            database_url,
            json,
            school,
        } => {
            let store = Store::open_existing(&database_url, clock).await?;
            let verdict = async {
                store
                    .for_slug(school.as_deref())
                    .await?
                    .verify_audit()
                    .await
            }
            .await;
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

/// Verifies one school's trail (against `expect`, or the head in its newest digest mail) and
/// prints the outcome, naming the school when `shown`; whether it is intact.
async fn verify_one(
    store: &Store,
    expect: Option<AuditHead>,
    since_mail: bool,
    shown: Option<&str>,
) -> Result<bool> {
    let whose = shown.map(|s| format!("{s}: ")).unwrap_or_default();
    let expect = match (expect, since_mail) {
        (Some(head), _) => Some(head),
        (None, true) => match store.audit_head_in_mail().await? {
            Some(head) => {
                println!("{whose}recorded head from the newest digest mail: {head}");
                Some(head)
            }
            None => anyhow::bail!(
                "{whose}--since-mail: no digest mail in the outbox carries an audit head \
                 (the outbox was emptied, or no digest has gone out yet)"
            ),
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
    match verdict {
        AuditVerdict::Intact { rows, head } => {
            match expect {
                Some(e) => println!(
                    "{whose}audit trail intact: {rows} entries, head {head}, holds the recorded head {e}"
                ),
                None => println!("{whose}audit trail intact: {rows} entries, head {head}"),
            }
            Ok(true)
        }
        AuditVerdict::Broken { row_id, reason } => {
            println!("{whose}audit trail BROKEN at row {row_id}: {reason}");
            Ok(false)
        }
    }
}
