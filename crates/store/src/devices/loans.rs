//! The device register's management and loans: MDM enrolment, passcode and school account;
//! devices lent, due back and returned with their condition; lost or stolen reports. Every
//! change is in the audit chain; a loan open on a leaver is on their checklist.

use crate::audit::{AuditAction, record};
use crate::permits::check;
use crate::{Result, Store, StoreError};
use policy::{Action, Permit, PolicyError, Target};
use sqlx::FromRow;

fn invalid(field: &str, message: &str) -> StoreError {
    StoreError::Invalid(PolicyError::invalid(field, message))
}

/// A device's management, as the register's form sends it.
#[derive(Debug, Clone, Default)]
pub struct Management {
    /// Which MDM it is enrolled in; empty: not enrolled.
    pub mdm: String,
    /// When the MDM last saw it (`YYYY-MM-DD`), if known.
    pub mdm_last_seen: String,
    pub passcode_set: bool,
    /// The school-owned account signed in on it (an Apple ID, a Google account); empty: none.
    pub school_account: String,
}

/// A device lent to a person.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, serde::Serialize)]
pub struct Loan {
    pub id: i64,
    pub device_id: i64,
    pub device_name: String,
    pub person_id: i64,
    pub person_name: String,
    pub lent_on: String,
    pub due_on: Option<String>,
    pub condition_out: String,
    pub returned_on: Option<String>,
    pub condition_back: Option<String>,
    /// Who recorded the return.
    pub returned_by_name: Option<String>,
    /// Whether the holder is still at school (1) or has left (0).
    pub person_active: i64,
}

impl Loan {
    /// Whether it is past its due date on `today` (`YYYY-MM-DD`) and not back.
    pub fn overdue(&self, today: &str) -> bool {
        self.returned_on.is_none() && self.due_on.as_deref().is_some_and(|d| d < today)
    }
}

/// A lost, stolen or found report.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, serde::Serialize)]
pub struct DeviceReport {
    pub id: i64,
    pub device_id: i64,
    pub kind: String,
    pub note: String,
    pub reported_at: String,
}

/// What can be reported of a device.
pub const REPORT_KINDS: [&str; 3] = ["lost", "stolen", "found"];

const LOAN_SELECT: &str = "SELECT l.id, l.device_id, d.name AS device_name, l.person_id, \
     p.display_name AS person_name, l.lent_on, l.due_on, l.condition_out, l.returned_on, \
     l.condition_back, r.display_name AS returned_by_name, p.active AS person_active \
     FROM device_loans l JOIN devices d ON d.id = l.device_id \
     JOIN people p ON p.id = l.person_id LEFT JOIN people r ON r.id = l.returned_by";

/// A date field: `YYYY-MM-DD`.
fn date(field: &str, value: &str) -> Result<String> {
    chrono::NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map(|d| d.format("%Y-%m-%d").to_string())
        .map_err(|_| invalid(field, "is not a date like 2026-09-01"))
}

/// An optional short text (at most `max` characters); empty is none.
fn short(field: &str, value: &str, max: usize) -> Result<Option<String>> {
    let v = value.trim();
    if v.chars().count() > max {
        return Err(invalid(field, &format!("must be at most {max} characters")));
    }
    Ok((!v.is_empty()).then(|| v.to_string()))
}

impl Store {
    /// Sets a device's management: MDM enrolment and when last seen, passcode, school account.
    pub async fn set_device_management(
        &self,
        permit: &Permit,
        device_id: i64,
        m: &Management,
    ) -> Result<()> {
        let actor = check(permit, Action::ManageDevices, Target::School)?;
        let mdm = short("mdm", &m.mdm, 100)?;
        let seen = match m.mdm_last_seen.trim() {
            "" => None,
            s => Some(date("mdm_last_seen", s)?),
        };
        if mdm.is_none() && seen.is_some() {
            return Err(invalid(
                "mdm_last_seen",
                "a device not enrolled in an MDM cannot have been seen by one",
            ));
        }
        let account = short("school_account", &m.school_account, 200)?;
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE devices SET mdm = $1, mdm_last_seen = $2, passcode_set = $3, school_account = $4 \
             WHERE id = $5 AND retired_at IS NULL",
        )
        .bind(&mdm)
        .bind(&seen)
        .bind(i64::from(m.passcode_set))
        .bind(&account)
        .bind(device_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound {
                what: format!("device {device_id}"),
            });
        }
        let what = AuditAction::DeviceManaged {
            id: device_id,
            mdm: mdm.as_deref(),
            passcode_set: m.passcode_set,
            school_account: account.as_deref(),
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lends a device to the person with `username` from `lent_on`, due back on `due_on`
    /// (optional), in `condition`. A device is on one loan at a time. Returns the loan's id.
    pub async fn lend_device(
        &self,
        permit: &Permit,
        device_id: i64,
        username: &str,
        lent_on: &str,
        due_on: &str,
        condition: &str,
    ) -> Result<i64> {
        let actor = check(permit, Action::ManageDevices, Target::School)?;
        let lent_on = date("lent_on", lent_on)?;
        let due_on = match due_on.trim() {
            "" => None,
            d => Some(date("due_on", d)?),
        };
        if due_on.as_deref().is_some_and(|d| d < lent_on.as_str()) {
            return Err(invalid("due_on", "is before the day it was lent"));
        }
        let condition = short("condition", condition, 500)?
            .ok_or_else(|| invalid("condition", "say what condition it goes out in"))?;
        let person = self
            .person_by_username(username.trim())
            .await?
            .filter(|p| p.active)
            .ok_or_else(|| invalid("holder", "is nobody's user name at this school"))?;
        let mut tx = self.begin_write().await?;
        let device: Option<(String,)> =
            sqlx::query_as("SELECT name FROM devices WHERE id = $1 AND retired_at IS NULL")
                .bind(device_id)
                .fetch_optional(&mut *tx)
                .await?;
        if device.is_none() {
            return Err(StoreError::NotFound {
                what: format!("device {device_id}"),
            });
        }
        let open: Option<(String,)> = sqlx::query_as(
            "SELECT p.display_name FROM device_loans l JOIN people p ON p.id = l.person_id \
             WHERE l.device_id = $1 AND l.returned_on IS NULL",
        )
        .bind(device_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((holder,)) = open {
            return Err(StoreError::Conflict(format!(
                "the device is on loan to {holder}: record its return first"
            )));
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO device_loans (device_id, person_id, lent_on, due_on, condition_out, lent_by) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(device_id)
        .bind(person.id)
        .bind(&lent_on)
        .bind(&due_on)
        .bind(&condition)
        .bind(actor.person_id)
        .fetch_one(&mut *tx)
        .await?;
        let what = AuditAction::DeviceLent {
            id: device_id,
            loan: id,
            person: person.id,
            due_on: due_on.as_deref(),
            condition: &condition,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records a loan's return on `returned_on` in `condition`.
    pub async fn return_device(
        &self,
        permit: &Permit,
        loan_id: i64,
        returned_on: &str,
        condition: &str,
    ) -> Result<()> {
        let actor = check(permit, Action::ManageDevices, Target::School)?;
        let returned_on = date("returned_on", returned_on)?;
        let condition = short("condition", condition, 500)?
            .ok_or_else(|| invalid("condition", "say what condition it came back in"))?;
        let mut tx = self.begin_write().await?;
        let loan: Option<(i64, String)> = sqlx::query_as(
            "SELECT device_id, lent_on FROM device_loans WHERE id = $1 AND returned_on IS NULL",
        )
        .bind(loan_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((device_id, lent_on)) = loan else {
            return Err(StoreError::NotFound {
                what: format!("open loan {loan_id}"),
            });
        };
        if returned_on < lent_on {
            return Err(invalid("returned_on", "is before the day it was lent"));
        }
        sqlx::query(
            "UPDATE device_loans SET returned_on = $1, condition_back = $2, returned_by = $3 \
             WHERE id = $4",
        )
        .bind(&returned_on)
        .bind(&condition)
        .bind(actor.person_id)
        .bind(loan_id)
        .execute(&mut *tx)
        .await?;
        let what = AuditAction::DeviceReturned {
            id: device_id,
            loan: loan_id,
            condition: &condition,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reports a device lost, stolen or found, with a note.
    pub async fn report_device(
        &self,
        permit: &Permit,
        device_id: i64,
        kind: &str,
        note: &str,
    ) -> Result<i64> {
        let actor = check(permit, Action::ManageDevices, Target::School)?;
        if !REPORT_KINDS.contains(&kind) {
            return Err(invalid("kind", "is lost, stolen or found"));
        }
        let note = short("note", note, 2000)?
            .ok_or_else(|| invalid("note", "say where and when, in at most 2000 characters"))?;
        let mut tx = self.begin_write().await?;
        let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM devices WHERE id = $1")
            .bind(device_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound {
                what: format!("device {device_id}"),
            });
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO device_reports (device_id, kind, note, reported_by, reported_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(device_id)
        .bind(kind)
        .bind(&note)
        .bind(actor.person_id)
        .bind(self.now())
        .fetch_one(&mut *tx)
        .await?;
        let what = AuditAction::DeviceReported {
            id: device_id,
            kind,
            note: &note,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every loan of one person, newest first.
    pub async fn loans_of(&self, person_id: i64) -> Result<Vec<Loan>> {
        Ok(sqlx::query_as(sql!(
            "{LOAN_SELECT} WHERE l.person_id = $1 ORDER BY l.lent_on DESC, l.id DESC"
        ))
        .bind(person_id)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// The loans not yet returned, by due date.
    pub async fn open_loans(&self) -> Result<Vec<Loan>> {
        Ok(sqlx::query_as(sql!(
            "{LOAN_SELECT} WHERE l.returned_on IS NULL ORDER BY l.due_on, l.id"
        ))
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// The lost, stolen and found reports, newest first.
    pub async fn device_reports(&self) -> Result<Vec<DeviceReport>> {
        Ok(sqlx::query_as(
            "SELECT id, device_id, kind, note, reported_at FROM device_reports ORDER BY id DESC",
        )
        .fetch_all(&mut *self.read().await?)
        .await?)
    }
}
