//! Photo and video consent (issue 18, part 3): every answer kept, given, refused or withdrawn;
//! the newest entry for a pupil and purpose decides ([`policy::consent::ConsentPolicy::standing`]).

use crate::audit::{AuditAction, record};
use crate::permits::check;
use crate::{Result, Store, StoreError};
use policy::consent::{CheckedConsent, Entry};
use policy::{Action, Permit, Target};
use sqlx::{FromRow, Row};
use std::collections::BTreeMap;

/// One answer, as the register keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConsentEntry {
    pub id: i64,
    pub pupil_id: i64,
    pub pupil_name: String,
    pub purpose: String,
    pub given: bool,
    pub named: bool,
    pub by_whom: String,
    pub given_on: String,
    pub note: String,
    pub recorded_by_name: String,
    pub recorded_at: String,
}

impl ConsentEntry {
    /// What the consent rules need of it.
    pub fn entry(&self) -> Option<Entry> {
        Some(Entry {
            given: self.given,
            named: self.named,
            on: chrono::NaiveDate::parse_from_str(&self.given_on, "%Y-%m-%d").ok()?,
        })
    }
}

impl<'r> FromRow<'r, sqlx::any::AnyRow> for ConsentEntry {
    fn from_row(row: &'r sqlx::any::AnyRow) -> sqlx::Result<ConsentEntry> {
        Ok(ConsentEntry {
            id: row.try_get("id")?,
            pupil_id: row.try_get("pupil_id")?,
            pupil_name: row.try_get("pupil_name")?,
            purpose: row.try_get("purpose")?,
            given: row.try_get::<i64, _>("given")? != 0,
            named: row.try_get::<i64, _>("named")? != 0,
            by_whom: row.try_get("by_whom")?,
            given_on: row.try_get("given_on")?,
            note: row.try_get("note")?,
            recorded_by_name: row.try_get("recorded_by_name")?,
            recorded_at: row.try_get("recorded_at")?,
        })
    }
}

impl Store {
    /// Records a checked answer for a pupil of this school: its id. The permit is the office's
    /// ([`Action::ManageConsents`]) or a parent's for this child
    /// ([`Action::AnswerConsentForChild`]). Anyone who is not a pupil here is refused, naming
    /// the field.
    pub async fn record_consent(&self, permit: &Permit, c: &CheckedConsent) -> Result<i64> {
        let actor = check(permit, Action::ManageConsents, Target::School).or_else(|_| {
            check(
                permit,
                Action::AnswerConsentForChild,
                Target::Person(c.pupil),
            )
        })?;
        let mut tx = self.begin_write().await?;
        let kind: Option<(String,)> = sqlx::query_as("SELECT kind FROM people WHERE id = $1")
            .bind(c.pupil)
            .fetch_optional(&mut *tx)
            .await?;
        if kind.as_ref().map(|k| k.0.as_str()) != Some("pupil") {
            return Err(StoreError::Invalid(policy::PolicyError::invalid(
                "pupil",
                format!("there is no pupil {} in this school", c.pupil),
            )));
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO photo_consents (pupil_id, purpose, given, named, by_whom, given_on, note, \
             recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(c.pupil)
        .bind(&c.purpose)
        .bind(i64::from(c.given))
        .bind(i64::from(c.named))
        .bind(&c.by_whom)
        .bind(c.on.format("%Y-%m-%d").to_string())
        .bind(&c.note)
        .bind(actor.person_id)
        .bind(self.now())
        .fetch_one(&mut *tx)
        .await?;
        let what = AuditAction::ConsentRecorded {
            id,
            pupil: c.pupil,
            purpose: &c.purpose,
            given: c.given,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every answer, the latest recorded first (for `pupils` only, when given).
    pub async fn consents(&self, pupils: Option<&[i64]>) -> Result<Vec<ConsentEntry>> {
        let all: Vec<ConsentEntry> = sqlx::query_as(
            "SELECT c.id, c.pupil_id, p.display_name AS pupil_name, c.purpose, c.given, c.named, \
             c.by_whom, c.given_on, c.note, \
             COALESCE(r.display_name, 'someone from the trust') AS recorded_by_name, c.recorded_at \
             FROM photo_consents c JOIN people p ON p.id = c.pupil_id \
             LEFT JOIN people r ON r.id = c.recorded_by ORDER BY c.id DESC",
        )
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(match pupils {
            Some(ids) => all
                .into_iter()
                .filter(|c| ids.contains(&c.pupil_id))
                .collect(),
            None => all,
        })
    }

    /// The newest answer for each pupil and purpose.
    pub async fn latest_consents(&self) -> Result<BTreeMap<(i64, String), ConsentEntry>> {
        let mut out = BTreeMap::new();
        for c in self.consents(None).await? {
            out.entry((c.pupil_id, c.purpose.clone())).or_insert(c);
        }
        Ok(out)
    }
}
