//! Leavers: a leaving date set in advance (by hand or from the MIS import), the checklist ticked
//! before it, and the daily run that closes the accounts of everyone whose date has come and of
//! every guest whose time is over, ending their sessions and the proxy's remembered sign-ins.

use crate::audit::{AuditAction, record};
use crate::permits::check;
use crate::{Person, Result, Store, StoreError};
use policy::leavers::Done;
use policy::{Action, Permit, PolicyError, RoleSet, Target};

/// What the daily run closed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Closed {
    /// People whose leaving date came.
    pub leavers: Vec<i64>,
    /// Guests whose time was over.
    pub guests: Vec<i64>,
}

impl Store {
    /// Today's date at the school (`YYYY-MM-DD`), by the store's clock.
    pub fn school_today(&self) -> String {
        self.clock
            .school_now()
            .date_naive()
            .format("%Y-%m-%d")
            .to_string()
    }

    /// Sets (or, with `None`, takes away) a person's leaving date (`YYYY-MM-DD`). The permit
    /// is for [`Action::ManagePeople`] of the person.
    pub async fn set_leaving_date(
        &self,
        permit: &Permit,
        person_id: i64,
        leaves_on: Option<&str>,
    ) -> Result<()> {
        check(permit, Action::ManagePeople, Target::Person(person_id))?;
        let leaves_on = match leaves_on.map(str::trim) {
            None | Some("") => None,
            Some(d) => Some(
                chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| {
                        StoreError::Invalid(PolicyError::invalid(
                            "leaves_on",
                            "is not a date like 2027-07-21",
                        ))
                    })?
                    .format("%Y-%m-%d")
                    .to_string(),
            ),
        };
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE people SET leaves_on = $1 WHERE id = $2 AND active = 1")
            .bind(&leaves_on)
            .bind(person_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound {
                what: format!("person {person_id} at school"),
            });
        }
        let what = AuditAction::LeavingDateSet {
            person: person_id,
            leaves_on: leaves_on.as_deref(),
        };
        record(&mut tx, &self.clock, permit.actor_id(), what).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ticks `item` (checked against the profile by the caller) of a leaver's checklist, with
    /// a note. The permit is for [`Action::ManageLeavers`]. Ticking twice is refused.
    pub async fn tick_leaver_item(
        &self,
        permit: &Permit,
        person_id: i64,
        item: &str,
        note: &str,
    ) -> Result<()> {
        let actor = check(permit, Action::ManageLeavers, Target::School)?;
        let note = note.trim();
        if note.chars().count() > 500 {
            return Err(StoreError::Invalid(PolicyError::invalid(
                "note",
                "must be at most 500 characters",
            )));
        }
        let leaving = self
            .person(person_id)
            .await?
            .is_some_and(|p| p.leaves_on.is_some() || !p.active);
        if !leaving {
            return Err(StoreError::NotFound {
                what: format!("leaver {person_id}"),
            });
        }
        let mut tx = self.begin_write().await?;
        let done: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM leaver_ticks WHERE person_id = $1 AND item = $2")
                .bind(person_id)
                .bind(item)
                .fetch_optional(&mut *tx)
                .await?;
        if done.is_some() {
            return Err(StoreError::Conflict(format!(
                "`{item}` is already ticked for this leaver"
            )));
        }
        sqlx::query(
            "INSERT INTO leaver_ticks (person_id, item, note, ticked_by, ticked_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(person_id)
        .bind(item)
        .bind(note)
        .bind(actor.person_id)
        .bind(self.now())
        .execute(&mut *tx)
        .await?;
        let what = AuditAction::LeaverItemTicked {
            person: person_id,
            item,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The ticked items of a leaver's checklist, with who and when.
    pub async fn leaver_ticks(&self, person_id: i64) -> Result<Vec<(String, Done)>> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT t.item, p.display_name, t.ticked_at, t.note FROM leaver_ticks t \
             JOIN people p ON p.id = t.ticked_by WHERE t.person_id = $1 ORDER BY t.id",
        )
        .bind(person_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(item, by, at, note)| (item, Done { by, at, note }))
            .collect())
    }

    /// People with a leaving date still at school, soonest first: the open checklists.
    pub async fn leavers_to_come(&self) -> Result<Vec<Person>> {
        Ok(sqlx::query_as(sql!(
            "SELECT {} FROM people WHERE leaves_on IS NOT NULL AND active = 1 \
             ORDER BY leaves_on, display_name",
            super::PERSON_COLUMNS
        ))
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// The daily run (and the guests' watch): closes the people whose leaving date is `today`
    /// (`YYYY-MM-DD`, the school's date) or earlier and the guests whose time is over, now by
    /// the store's clock. Each is marked as left, their sessions end, and the proxy forgets
    /// their sign-ins; audited (`person.left`, `guest.expired`) with no actor, since nobody
    /// acted: the date came.
    pub async fn close_due_accounts(&self, today: &str) -> Result<Closed> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let leavers: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT id, leaves_on, roles FROM people \
             WHERE active = 1 AND leaves_on IS NOT NULL AND leaves_on <= $1 ORDER BY id",
        )
        .bind(today)
        .fetch_all(&mut *tx)
        .await?;
        let guests: Vec<(i64,)> = sqlx::query_as(
            "SELECT id FROM people WHERE active = 1 AND expires_at IS NOT NULL \
             AND expires_at <= $1 ORDER BY id",
        )
        .bind(&now)
        .fetch_all(&mut *tx)
        .await?;
        let mut closed = Closed::default();
        for (id, leaves_on, roles) in &leavers {
            close(&mut tx, *id, &now).await?;
            let roles = RoleSet::from_csv(roles).map_err(|bad| StoreError::Corrupt {
                table: "people",
                id: id.to_string(),
                message: format!("unknown role `{bad}`"),
            })?;
            let what = AuditAction::PersonLeftOnDate {
                person: *id,
                leaves_on,
                roles,
            };
            record(&mut tx, &self.clock, None, what).await?;
            closed.leavers.push(*id);
        }
        for (id,) in guests {
            if closed.leavers.contains(&id) {
                continue;
            }
            close(&mut tx, id, &now).await?;
            record(
                &mut tx,
                &self.clock,
                None,
                AuditAction::GuestExpired { person: id },
            )
            .await?;
            closed.guests.push(id);
        }
        tx.commit().await?;
        if closed != Closed::default() {
            crate::passwords::accounts_changed();
        }
        Ok(closed)
    }
}

/// Marks a person as left now and ends their sessions.
async fn close(tx: &mut sqlx::Transaction<'static, sqlx::Any>, id: i64, now: &str) -> Result<()> {
    sqlx::query("UPDATE people SET active = 0, left_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE person_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
