//! Policies and sign-offs (issue 18, part 2): versions of the online safety policy and the codes
//! of conduct, and the one register of acknowledgements that the web pages' gate, the proxy's
//! click-through and a teacher's record of a class's paper sign-off all write to.

use crate::audit::{AuditAction, record};
use crate::permits::check;
use crate::{Person, Result, Store, StoreError};
use policy::concern::NewAttachment;
use policy::conduct::{Audience, CheckedDocument, CodeOfConduct, DocumentKind};
use policy::{Action, Permit, Target};
use sqlx::{FromRow, Row};

/// A version of a document as the register holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Document {
    pub id: i64,
    pub kind: DocumentKind,
    pub version: String,
    pub title: String,
    pub body: String,
    pub revised_by: String,
    pub approved_on: Option<String>,
    pub minute_ref: String,
    pub review_on: String,
    /// The approved document's file name, when one was kept.
    pub file_name: Option<String>,
    pub added_by_name: String,
    pub added_at: String,
}

impl<'r> FromRow<'r, sqlx::any::AnyRow> for Document {
    fn from_row(row: &'r sqlx::any::AnyRow) -> sqlx::Result<Document> {
        let kind: String = row.try_get("kind")?;
        Ok(Document {
            id: row.try_get("id")?,
            kind: kind
                .parse()
                .map_err(|e: policy::PolicyError| sqlx::Error::ColumnDecode {
                    index: "kind".into(),
                    source: e.to_string().into(),
                })?,
            version: row.try_get("version")?,
            title: row.try_get("title")?,
            body: row.try_get("body")?,
            revised_by: row.try_get("revised_by")?,
            approved_on: row.try_get("approved_on")?,
            minute_ref: row.try_get("minute_ref")?,
            review_on: row.try_get("review_on")?,
            file_name: row.try_get("file_name")?,
            added_by_name: row.try_get("added_by_name")?,
            added_at: row.try_get("added_at")?,
        })
    }
}

/// How an acknowledgement was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Signed in Palisade, by the person themselves.
    OwnLogin,
    /// A paper sign-off, recorded by a teacher.
    Paper,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::OwnLogin => "own_login",
            Method::Paper => "paper",
        }
    }
}

/// One acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, FromRow)]
pub struct Acknowledgement {
    pub person_id: i64,
    pub document: String,
    pub version: String,
    pub acknowledged_at: String,
    pub method: String,
}

/// The code a person must sign now, and whether they have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeStanding {
    pub audience: Audience,
    pub kind: DocumentKind,
    pub version: String,
    /// The register's version of the code, when the school keeps it here; otherwise the
    /// profile's `aup_version` with the built-in text.
    pub document: Option<Document>,
    /// When they signed this version (in a way that still counts).
    pub signed_at: Option<String>,
}

const DOCUMENT_COLUMNS: &str = "d.id, d.kind, d.version, d.title, d.body, d.revised_by, \
    d.approved_on, d.minute_ref, d.review_on, d.file_name, \
    COALESCE(p.display_name, 'someone from the trust') AS added_by_name, d.added_at";

impl Store {
    /// Adds a checked version of a document, with the approved file if given (checked by the
    /// caller against the profile's size and types): its id. A version label already used for
    /// that kind is refused, naming it.
    pub async fn add_document(
        &self,
        permit: &Permit,
        doc: &CheckedDocument,
        file: Option<&NewAttachment>,
    ) -> Result<i64> {
        let actor = check(permit, Action::ManageDocuments, Target::School)?;
        let mut tx = self.begin_write().await?;
        let taken: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM policy_documents WHERE kind = $1 AND version = $2")
                .bind(doc.kind.as_str())
                .bind(&doc.version)
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() {
            return Err(StoreError::Invalid(policy::PolicyError::invalid(
                "version",
                format!(
                    "{} version `{}` is already in the register",
                    doc.kind.label(),
                    doc.version
                ),
            )));
        }
        let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        let sha = match file {
            Some(f) => Some(crate::blobs::put(&mut tx, &f.bytes).await?),
            None => None,
        };
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO policy_documents (kind, version, title, body, revised_by, approved_on, \
             minute_ref, review_on, file_name, file_type, file_sha256, added_by, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(doc.kind.as_str())
        .bind(&doc.version)
        .bind(&doc.title)
        .bind(&doc.body)
        .bind(&doc.revised_by)
        .bind(doc.approved_on.map(day))
        .bind(&doc.minute_ref)
        .bind(day(doc.review_on))
        .bind(file.map(|f| f.filename.clone()))
        .bind(file.map(|f| f.content_type.clone()))
        .bind(sha)
        .bind(actor.person_id)
        .bind(self.now())
        .fetch_one(&mut *tx)
        .await?;
        let what = AuditAction::DocumentAdded {
            id,
            kind: doc.kind.as_str(),
            version: &doc.version,
        };
        record(&mut tx, &self.clock, Some(actor.person_id), what).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A version's file: name, type and bytes, if it kept one.
    pub async fn document_file(&self, id: i64) -> Result<Option<crate::training::Evidence>> {
        crate::blobs::file_of(
            self,
            "SELECT d.file_name, d.file_type, b.content FROM policy_documents d \
             LEFT JOIN blobs b ON b.sha256 = d.file_sha256 WHERE d.id = $1",
            id,
        )
        .await
    }

    /// Every version, newest first.
    pub async fn documents(&self) -> Result<Vec<Document>> {
        Ok(sqlx::query_as(sql!(
            "SELECT {DOCUMENT_COLUMNS} FROM policy_documents d \
             LEFT JOIN people p ON p.id = d.added_by ORDER BY d.id DESC"
        ))
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// The newest version of `kind`, if the register holds one.
    pub async fn current_document(&self, kind: DocumentKind) -> Result<Option<Document>> {
        Ok(sqlx::query_as(sql!(
            "SELECT {DOCUMENT_COLUMNS} FROM policy_documents d \
             LEFT JOIN people p ON p.id = d.added_by WHERE d.kind = $1 ORDER BY d.id DESC LIMIT 1"
        ))
        .bind(kind.as_str())
        .fetch_optional(&mut *self.read().await?)
        .await?)
    }

    /// The code `person` must sign under `rules` and whether they have, or `None` when there is
    /// nothing to sign (no version in the register or the profile for their audience).
    pub async fn code_standing(
        &self,
        person: &Person,
        rules: &CodeOfConduct,
    ) -> Result<Option<CodeStanding>> {
        let kind = Audience::of(person.kind, person.roles).code();
        let document = self.current_document(kind).await?;
        let acks = self.acknowledgements(Some(person.id)).await?;
        let today = self.clock.school_now().date_naive();
        Ok(standing_of(person, rules, document, &acks, today))
    }

    /// [`Store::code_standing`] for each of `people`, reading the register and the
    /// acknowledgements once for all of them (the register's lists, the dashboard, the digest).
    pub async fn code_standings(
        &self,
        people: &[Person],
        rules: &CodeOfConduct,
    ) -> Result<Vec<Option<CodeStanding>>> {
        let mut current: Vec<Document> = Vec::new();
        for d in self.documents().await? {
            // Newest first: the first of each kind is its current version.
            if !current.iter().any(|c| c.kind == d.kind) {
                current.push(d);
            }
        }
        let acks = self.acknowledgements(None).await?;
        let today = self.clock.school_now().date_naive();
        Ok(people
            .iter()
            .map(|p| {
                let kind = Audience::of(p.kind, p.roles).code();
                let document = current.iter().find(|d| d.kind == kind).cloned();
                standing_of(p, rules, document, &acks, today)
            })
            .collect())
    }

    /// Records that `person` acknowledged `version` of `kind` themselves (the permit is for
    /// [`Action::ManageOwnAccount`] of that person). Nothing new is written when they already
    /// did so on or after `fresh_from` (any time, without it); whether it was written.
    pub async fn acknowledge(
        &self,
        permit: &Permit,
        person_id: i64,
        kind: DocumentKind,
        version: &str,
        fresh_from: Option<chrono::NaiveDate>,
        client_ip: &str,
    ) -> Result<bool> {
        check(permit, Action::ManageOwnAccount, Target::Person(person_id))?;
        let mut tx = self.begin_write().await?;
        let written = insert_acknowledgement(
            &mut tx,
            self,
            person_id,
            (kind, version),
            fresh_from,
            (Method::OwnLogin, None),
            client_ip,
        )
        .await?;
        tx.commit().await?;
        Ok(written)
    }

    /// Records a class's paper sign-off of `version` of `kind`: one acknowledgement for each of
    /// `people` (who must be of the code's audience), recorded by the permit's holder. How many
    /// were new.
    pub async fn record_paper_sign_off(
        &self,
        permit: &Permit,
        people: &[Person],
        kind: DocumentKind,
        version: &str,
        fresh_from: Option<chrono::NaiveDate>,
    ) -> Result<usize> {
        let actor = check(permit, Action::RecordPaperSignOff, Target::School)?;
        if let Some(p) = people
            .iter()
            .find(|p| Some(Audience::of(p.kind, p.roles)) != kind.audience())
        {
            return Err(StoreError::Invalid(policy::PolicyError::invalid(
                "people",
                format!("{} does not sign the {}", p.display_name, kind.label()),
            )));
        }
        let mut tx = self.begin_write().await?;
        let mut n = 0;
        for p in people {
            let method = (Method::Paper, Some(actor.person_id));
            if insert_acknowledgement(&mut tx, self, p.id, (kind, version), fresh_from, method, "")
                .await?
            {
                n += 1;
            }
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Acknowledgements, newest first (one person's only, with `person`).
    pub async fn acknowledgements(&self, person: Option<i64>) -> Result<Vec<Acknowledgement>> {
        let filter = if person.is_some() {
            "WHERE person_id = $1"
        } else {
            "WHERE $1 = $1"
        };
        Ok(sqlx::query_as(sql!(
            "SELECT person_id, document, version, acknowledged_at, method FROM acknowledgements \
             {filter} ORDER BY acknowledged_at DESC, id DESC"
        ))
        .bind(person.unwrap_or(0))
        .fetch_all(&mut *self.read().await?)
        .await?)
    }
}

/// Where `person` stands on their code given its current `document` (or the profile's
/// `aup_version` without one) and acknowledgements (newest first; other people's are passed
/// over).
fn standing_of(
    person: &Person,
    rules: &CodeOfConduct,
    document: Option<Document>,
    acks: &[Acknowledgement],
    today: chrono::NaiveDate,
) -> Option<CodeStanding> {
    let audience = Audience::of(person.kind, person.roles);
    let kind = audience.code();
    let version = match (&document, &rules.aup_version) {
        (Some(d), _) => d.version.clone(),
        (None, Some(v)) => v.clone(),
        (None, None) => return None,
    };
    let signed_at = acks
        .iter()
        .filter(|a| a.person_id == person.id && a.document == kind.as_str() && a.version == version)
        .find(|a| {
            crate::parse_timestamp(&a.acknowledged_at).is_some_and(|t| {
                rules.still_counts(audience, clock::school_time(t).date_naive(), today)
            })
        })
        .map(|a| a.acknowledged_at.clone());
    Some(CodeStanding {
        audience,
        kind,
        version,
        document,
        signed_at,
    })
}

/// Writes one acknowledgement and its audit row, unless one made on or after `fresh_from`
/// already stands.
async fn insert_acknowledgement(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    store: &Store,
    person_id: i64,
    (kind, version): (DocumentKind, &str),
    fresh_from: Option<chrono::NaiveDate>,
    (method, recorded_by): (Method, Option<i64>),
    client_ip: &str,
) -> Result<bool> {
    let since = fresh_from
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|d| d.and_local_timezone(clock::SCHOOL_TIME_ZONE).earliest())
        .map(|d| crate::stamp(d.with_timezone(&chrono::Utc)))
        .unwrap_or_default();
    let exists: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM acknowledgements WHERE person_id = $1 AND document = $2 \
         AND version = $3 AND acknowledged_at >= $4 LIMIT 1",
    )
    .bind(person_id)
    .bind(kind.as_str())
    .bind(version)
    .bind(since)
    .fetch_optional(&mut **tx)
    .await?;
    if exists.is_some() {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO acknowledgements (person_id, document, version, acknowledged_at, method, \
         recorded_by, client_ip) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(person_id)
    .bind(kind.as_str())
    .bind(version)
    .bind(store.now())
    .bind(method.as_str())
    .bind(recorded_by)
    .bind(client_ip)
    .execute(&mut **tx)
    .await?;
    let what = AuditAction::Acknowledged {
        person: person_id,
        document: kind.as_str(),
        version,
        method: method.as_str(),
    };
    record(
        tx,
        &store.clock,
        Some(recorded_by.unwrap_or(person_id)),
        what,
    )
    .await?;
    Ok(true)
}
