//! The training register (issue 18, part 1): sessions of a profile's course, each for one person
//! or a whole staff meeting, with a note and an evidence file. Where each person stands follows
//! from the profile ([`policy::training::Course::standing`]), never stored.

use crate::audit::{AuditAction, record};
use crate::permits::check;
use crate::{Result, Store, StoreError};
use policy::concern::NewAttachment;
use policy::training::{CheckedSession, Course, check_attendee};
use policy::{Action, Permit, Target};
use sqlx::{FromRow, Row};

/// One person's completion of a course, as the register lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Completion {
    pub session: i64,
    pub person_id: i64,
    pub person_name: String,
    pub course: String,
    pub held_on: String,
    pub note: String,
    /// The evidence file's name, when one was kept.
    pub evidence: Option<String>,
    pub recorded_by_name: String,
    pub recorded_at: String,
}

impl<'r> FromRow<'r, sqlx::any::AnyRow> for Completion {
    fn from_row(row: &'r sqlx::any::AnyRow) -> sqlx::Result<Completion> {
        Ok(Completion {
            session: row.try_get("session_id")?,
            person_id: row.try_get("person_id")?,
            person_name: row.try_get("person_name")?,
            course: row.try_get("course")?,
            held_on: row.try_get("held_on")?,
            note: row.try_get("note")?,
            evidence: row.try_get("evidence_name")?,
            recorded_by_name: row.try_get("recorded_by_name")?,
            recorded_at: row.try_get("recorded_at")?,
        })
    }
}

/// An evidence file: its name, its type and its bytes.
pub type Evidence = (String, String, Vec<u8>);

impl Store {
    /// Records a checked session of `course` for its people, with an evidence file if given
    /// (checked by the caller against the profile's size and types): its id. Every attendee
    /// must be a person of this school who takes training (staff, governors): otherwise nothing
    /// is stored and the refusal names them.
    pub async fn record_training(
        &self,
        permit: &Permit,
        course: &Course,
        session: &CheckedSession,
        evidence: Option<&NewAttachment>,
    ) -> Result<i64> {
        let actor = check(permit, Action::ManageTraining, Target::School)?;
        let mut tx = self.begin_write().await?;
        for id in &session.people {
            let row: Option<(String, String, i64)> = sqlx::query_as(
                "SELECT p.display_name, p.roles, p.active FROM people p WHERE p.id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((name, roles, active)) = row else {
                return Err(StoreError::Invalid(policy::PolicyError::invalid(
                    "people",
                    format!("there is no person {id} in this school"),
                )));
            };
            let roles = policy::RoleSet::from_csv(&roles).map_err(|e| StoreError::Corrupt {
                table: "people",
                id: id.to_string(),
                message: e.to_string(),
            })?;
            if active == 0 {
                return Err(StoreError::Invalid(policy::PolicyError::invalid(
                    "people",
                    format!("{name} has left the school"),
                )));
            }
            check_attendee(course, &name, roles)?;
        }
        let (name, kind, sha) = match evidence {
            Some(a) => (
                Some(a.filename.clone()),
                Some(a.content_type.clone()),
                Some(crate::blobs::put(&mut tx, &a.bytes).await?),
            ),
            None => (None, None, None),
        };
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO training_sessions (course, held_on, note, evidence_name, evidence_type, \
             evidence_sha256, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&session.course)
        .bind(session.held_on.format("%Y-%m-%d").to_string())
        .bind(&session.note)
        .bind(name)
        .bind(kind)
        .bind(sha)
        .bind(actor.person_id)
        .bind(self.now())
        .fetch_one(&mut *tx)
        .await?;
        for person in &session.people {
            sqlx::query("INSERT INTO training_attendance (session_id, person_id) VALUES ($1, $2)")
                .bind(id)
                .bind(person)
                .execute(&mut *tx)
                .await?;
        }
        let what = AuditAction::TrainingRecorded {
            id,
            course: &session.course,
            people: &session.people,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every completion, newest first (one person's only, with `person`).
    pub async fn completions(&self, person: Option<i64>) -> Result<Vec<Completion>> {
        let filter = if person.is_some() {
            "WHERE a.person_id = $1"
        } else {
            "WHERE $1 = $1"
        };
        Ok(sqlx::query_as(sql!(
            "SELECT a.session_id, a.person_id, p.display_name AS person_name, s.course, \
             s.held_on, s.note, s.evidence_name, \
             COALESCE(r.display_name, 'someone from the trust') AS recorded_by_name, \
             s.recorded_at \
             FROM training_attendance a JOIN training_sessions s ON s.id = a.session_id \
             JOIN people p ON p.id = a.person_id LEFT JOIN people r ON r.id = s.recorded_by \
             {filter} ORDER BY s.held_on DESC, s.id DESC, p.display_name"
        ))
        .bind(person.unwrap_or(0))
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// A session's evidence file: name, type and bytes, if it kept one.
    pub async fn training_evidence(&self, session: i64) -> Result<Option<Evidence>> {
        crate::blobs::file_of(
            self,
            "SELECT s.evidence_name, s.evidence_type, b.content FROM training_sessions s \
             LEFT JOIN blobs b ON b.sha256 = s.evidence_sha256 WHERE s.id = $1",
            session,
        )
        .await
    }
}
