//! The mail outbox: alert mails are queued here in the same breath as the alert, and a sender
//! works through what is due, so a mail server that is down delays mail but never loses it.

use crate::permits::check;
use crate::{Result, Store};
use policy::{Action, Permit, Role, Target};
use sqlx::FromRow;

pub use events::OutboxMail;

/// Queues one mail of `kind` to every active person holding one of `roles` who has a mail
/// address, inside the caller's transaction (a role change, a password said to be known).
pub(crate) async fn queue_to_holders(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    roles: policy::RoleSet,
    kind: &str,
    subject: &str,
    body: &str,
    at: &str,
) -> Result<()> {
    for email in holder_emails(tx, roles, None).await? {
        insert_mail(tx, &email, kind, subject, body, at).await?;
    }
    Ok(())
}

/// The mail addresses of the active people holding any of `roles`, but the person `except`,
/// in one read.
async fn holder_emails(
    conn: &mut sqlx::AnyConnection,
    roles: policy::RoleSet,
    except: Option<i64>,
) -> Result<Vec<String>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT roles, email FROM people \
         WHERE active = 1 AND email IS NOT NULL AND email <> '' AND id <> $1 ORDER BY id",
    )
    .bind(except.unwrap_or(-1))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|(held, email)| {
            !email.trim().is_empty()
                && policy::RoleSet::from_csv(held).is_ok_and(|held| held.intersects(roles))
        })
        .map(|(_, email)| email)
        .collect())
}

/// Queues one mail of `kind` to person `person_id`, if they have a mail address, inside the
/// caller's transaction (their own account changed). Whether one was queued.
pub(crate) async fn queue_to_person(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    person_id: i64,
    kind: &str,
    subject: &str,
    body: &str,
    at: &str,
) -> Result<bool> {
    let email: Option<Option<String>> =
        sqlx::query_scalar("SELECT email FROM people WHERE id = $1")
            .bind(person_id)
            .fetch_optional(&mut **tx)
            .await?;
    match email.flatten().filter(|e| !e.trim().is_empty()) {
        Some(email) => {
            insert_mail(tx, &email, kind, subject, body, at).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

async fn insert_mail(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    to: &str,
    kind: &str,
    subject: &str,
    body: &str,
    at: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO mail_outbox (recipient, subject, body, kind, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(to)
    .bind(subject)
    .bind(body)
    .bind(kind)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A queued mail as read (see [`OutboxMail`]).
#[derive(FromRow)]
struct OutboxRow {
    id: i64,
    recipient: String,
    subject: String,
    body: String,
    kind: String,
    created_at: String,
    attempts: i64,
    last_error: Option<String>,
    next_attempt_at: String,
    sent_at: Option<String>,
}

impl From<OutboxRow> for OutboxMail {
    fn from(r: OutboxRow) -> OutboxMail {
        OutboxMail {
            id: r.id,
            recipient: r.recipient,
            subject: r.subject,
            body: r.body,
            kind: r.kind,
            created_at: r.created_at,
            attempts: r.attempts,
            last_error: r.last_error,
            next_attempt_at: r.next_attempt_at,
            sent_at: r.sent_at,
        }
    }
}

/// How the outbox stands, for the page that shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxState {
    pub waiting: i64,
    pub failing: i64,
    pub last_error: Option<String>,
}

const COLUMNS: &str = "id, recipient, subject, body, kind, created_at, attempts, last_error, next_attempt_at, sent_at";

impl Store {
    /// Sets (or clears) a person's mail address; the permit is for [`Action::ManagePeople`] of
    /// that person.
    pub async fn set_email(
        &self,
        permit: &Permit,
        person_id: i64,
        email: Option<&str>,
    ) -> Result<()> {
        check(permit, Action::ManagePeople, Target::Person(person_id))?;
        let mut tx = self.begin_unaudited().await?;
        sqlx::query("UPDATE people SET email = $1 WHERE id = $2")
            .bind(email)
            .bind(person_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The mail addresses of active people holding any of `roles`, but the person `except`.
    pub async fn emails_of(&self, roles: &[Role], except: Option<i64>) -> Result<Vec<String>> {
        let roles: policy::RoleSet = roles.iter().copied().collect();
        let mut tx = self.read().await?;
        holder_emails(&mut tx, roles, except).await
    }

    /// Queues a mail, to be sent at once. The outbox is the server's own (digests, reminders,
    /// alert mails): no permit.
    pub async fn enqueue_mail(
        &self,
        recipient: &str,
        subject: &str,
        body: &str,
        kind: &str,
    ) -> Result<i64> {
        let at = self.now();
        let mut tx = self.begin_unaudited().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO mail_outbox (recipient, subject, body, kind, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(recipient)
        .bind(subject)
        .bind(body)
        .bind(kind)
        .bind(&at)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        self.outbox.notify_one();
        Ok(id)
    }

    /// Unsent mail whose next attempt is due, oldest first.
    pub async fn due_mail(&self, limit: i64) -> Result<Vec<OutboxMail>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM mail_outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 \
             ORDER BY id LIMIT $2"
        );
        let rows: Vec<OutboxRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(self.now())
            .bind(limit)
            .fetch_all(&mut *self.read().await?)
            .await?;
        Ok(rows.into_iter().map(OutboxMail::from).collect())
    }

    /// Marks a mail sent.
    pub async fn mail_sent(&self, id: i64) -> Result<()> {
        let mut tx = self.begin_unaudited().await?;
        sqlx::query("UPDATE mail_outbox SET sent_at = $1, attempts = attempts + 1 WHERE id = $2")
            .bind(self.now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a failed attempt and when to try again.
    pub async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_in: chrono::Duration,
    ) -> Result<()> {
        let next = crate::timestamp(self.now_utc() + retry_in);
        let mut tx = self.begin_unaudited().await?;
        sqlx::query(
            "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 \
             WHERE id = $3",
        )
        .bind(error)
        .bind(next)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether a mail of `kind` was queued at or after `since` (a stored timestamp).
    pub async fn mail_queued_since(&self, kind: &str, since: &str) -> Result<bool> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM mail_outbox WHERE kind = $1 AND created_at >= $2")
                .bind(kind)
                .bind(since)
                .fetch_one(&mut *self.read().await?)
                .await?;
        Ok(n > 0)
    }

    /// Alerts first seen at or after `since`, counted by severity.
    pub async fn alert_counts_since(
        &self,
        since: &str,
        audiences: &[policy::alerts::AlertAudience],
    ) -> Result<Vec<(String, i64)>> {
        if audiences.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT severity, COUNT(*) FROM alerts WHERE first_at >= $1 AND audience IN ({}) \
             GROUP BY severity ORDER BY severity",
            crate::alerts::audience_list(audiences)
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(since)
            .fetch_all(&mut *self.read().await?)
            .await?)
    }

    /// Concerns reported at or after `since` that nobody has triaged yet.
    pub async fn untriaged_concerns_since(&self, since: &str) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM concerns WHERE status = 'new' AND created_at >= $1",
        )
        .bind(since)
        .fetch_one(&mut *self.read().await?)
        .await?;
        Ok(n)
    }

    /// Unsent mail, how much of it has failed, and the latest error.
    pub async fn outbox_state(&self) -> Result<OutboxState> {
        let (waiting,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL")
                .fetch_one(&mut *self.read().await?)
                .await?;
        let (failing,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL AND attempts > 0",
        )
        .fetch_one(&mut *self.read().await?)
        .await?;
        let last: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT last_error FROM mail_outbox WHERE sent_at IS NULL AND last_error IS NOT NULL \
             ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(OutboxState {
            waiting,
            failing,
            last_error: last.and_then(|l| l.0),
        })
    }
}
