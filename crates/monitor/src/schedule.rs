//! The daily mail: once a day at the profile's digest time (UK time), the digest of the day's
//! alerts to the safeguarding leads, the audit trail's head to the chair of governors, and a
//! reminder to the first point of contact of concerns reported today that nobody has triaged.

use crate::pipeline::{AlertStore, AlertStoreError};
use policy::Profile;
use std::sync::Arc;

/// Starts the daily mail, if the profile sets a digest time. The outbox itself records that
/// today's went, so a restart sends no second one; a start after the time sends today's if it
/// has not gone (see [`policy::schedule`]).
pub fn spawn_daily_mail(
    profile: &Profile,
    store: Arc<dyn AlertStore>,
    web_url: &str,
    wake: Arc<tokio::sync::Notify>,
) {
    use policy::schedule::{Daily, daily_mail, start_of_today};
    let Some(digest_minute) = profile.monitoring.digest_minute() else {
        return;
    };
    let web_url = web_url.to_string();
    let first_contact = profile.concerns.first_contact;
    let readers = profile.concerns.alert_readers();
    // Looks again at least this often, so that a failed queueing is tried again.
    const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_secs(60);
    tokio::spawn(async move {
        loop {
            let now = store.now_utc();
            let midnight = events::timestamp(start_of_today(now));
            let mut sent = false;
            for kind in ["digest", "reminder"] {
                sent |= store
                    .mail_queued_since(kind, &midnight)
                    .await
                    .unwrap_or(true);
            }
            let wait = match daily_mail(now, digest_minute, sent) {
                Daily::Now => {
                    if let Err(e) = queue_daily_mail(
                        store.as_ref(),
                        &web_url,
                        &midnight,
                        first_contact,
                        &readers,
                    )
                    .await
                    {
                        tracing::error!(error = %e, "the daily digest could not be queued");
                    }
                    wake.notify_one();
                    LOOK_AGAIN
                }
                // A few milliseconds late rather than early: the clock is read again on waking.
                Daily::At(due) => (due - now)
                    .to_std()
                    .map(|d| d + std::time::Duration::from_millis(5))
                    .unwrap_or_default()
                    .min(LOOK_AGAIN),
            };
            tokio::time::sleep(wait).await;
        }
    });
}

/// Queues today's daily mail.
async fn queue_daily_mail(
    store: &dyn AlertStore,
    web_url: &str,
    midnight: &str,
    first_contact: policy::Role,
    readers: &policy::alerts::AlertReaders,
) -> Result<(), AlertStoreError> {
    use policy::alerts::AlertAudience;
    let since = events::timestamp(store.now_utc() - policy::schedule::DIGEST_COVERS);
    // The safeguarding readers' digest counts every alert but those about staff, which go to
    // the route for staff in a digest of their own (when there are any).
    let team = [
        AlertAudience::Safeguarding,
        AlertAudience::System,
        AlertAudience::Escalation,
    ];
    let counts = store.alert_counts_since(&since, &team).await?;
    let due = store.due_lines().await?;
    let (subject, body) = crate::notify::digest_mail(&counts, &due, web_url);
    let roles = readers.roles_of(AlertAudience::Safeguarding);
    for to in store.emails_of(&roles, None).await? {
        store.enqueue_mail(&to, &subject, &body, "digest").await?;
    }
    let staff_counts = store
        .alert_counts_since(&since, &[AlertAudience::Staff])
        .await?;
    if !staff_counts.is_empty() {
        let (subject, body) = crate::notify::digest_mail(&staff_counts, &[], web_url);
        let roles = readers.roles_of(AlertAudience::Staff);
        for to in store.emails_of(&roles, None).await? {
            store.enqueue_mail(&to, &subject, &body, "digest").await?;
        }
    }
    // The chair keeps the audit trail's head outside the database (see `audit verify`).
    let head = store.audit_head().await?;
    let (subject, body) = crate::notify::audit_head_mail(&head, web_url);
    let chairs = store
        .emails_of(&[policy::Role::ChairOfGovernors], None)
        .await?;
    if chairs.is_empty() {
        tracing::warn!(
            "the chair of governors has no mail address: the audit trail's head is not recorded outside the database"
        );
    }
    for to in chairs {
        store.enqueue_mail(&to, &subject, &body, "digest").await?;
    }
    let untriaged = store.untriaged_concerns_since(midnight).await?;
    if untriaged > 0 {
        let (subject, body) = crate::notify::reminder_mail(untriaged, web_url);
        for to in store.emails_of(&[first_contact], None).await? {
            store.enqueue_mail(&to, &subject, &body, "reminder").await?;
        }
    }
    Ok(())
}
