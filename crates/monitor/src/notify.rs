//! Mail for the safeguarding team, with lettre over SMTP. Alert mails go out through the
//! store's outbox; they carry the severity, the year group and a link, never a site name or a
//! search term (mail travels outside the school).

use crate::pipeline::AlertStore;
use events::Alert;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain SMTP (a relay on the school's own network, or a test sink).
    None,
    /// STARTTLS on the submission port (587).
    StartTls,
    /// TLS from the start (465).
    Tls,
}

/// SMTP settings. The password never appears in `Debug` output or logs.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
    /// The first pause after a failed send; it doubles each time, up to an hour.
    pub retry_base: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "(set)"))
            .field("from", &self.from)
            .finish()
    }
}

/// Why mail could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP settings: {0}")]
    Settings(String),
}

/// The mail for a new alert: severity, year group (or filtering group) and a link only.
pub fn alert_mail(alert: &Alert, year_group: Option<&str>, web_url: &str) -> (String, String) {
    use policy::alerts::AlertAudience;
    let who = match (year_group, alert.audience) {
        (Some(year), _) => year.to_string(),
        (None, AlertAudience::System) if alert.rule == events::GAP_RULE => {
            "monitoring gap".to_string()
        }
        (None, AlertAudience::System) => "Palisade itself".to_string(),
        (None, AlertAudience::Escalation) => "a concern waits for triage".to_string(),
        (None, AlertAudience::Backup) => "the daily backup".to_string(),
        (None, _) => format!("filtering group {}", alert.group_name),
    };
    let subject = format!(
        "[Palisade] {} alert: {who}",
        capitalised(alert.severity.as_str())
    );
    let body = format!(
        "A {} safeguarding alert needs your attention ({who}).\r\n\r\n\
         Open it in Palisade (you will be asked to sign in):\r\n{}/alerts#alert-{}\r\n\r\n\
         This mail leaves out names and details on purpose; they are in Palisade.\r\n",
        alert.severity,
        web_url.trim_end_matches('/'),
        alert.id
    );
    (subject, body)
}

/// The daily digest: how many alerts of each severity since yesterday's, what the registers
/// have due or overdue (`due`, counts only), and a link.
pub fn digest_mail(counts: &[(String, i64)], due: &[String], web_url: &str) -> (String, String) {
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let mut body = format!("Safeguarding alerts in the last day: {total}.\r\n");
    for (severity, n) in counts {
        body.push_str(&format!("  {severity}: {n}\r\n"));
    }
    if !due.is_empty() {
        body.push_str("\r\nDue or overdue:\r\n");
        for line in due {
            body.push_str(&format!("  {line}\r\n"));
        }
    }
    body.push_str(&format!(
        "\r\nOpen the inbox in Palisade (you will be asked to sign in):\r\n{}/alerts\r\n",
        web_url.trim_end_matches('/')
    ));
    (
        format!("[Palisade] Daily alert digest: {total} alert(s)"),
        body,
    )
}

/// The daily mail to the chair of governors carrying the audit trail's head, so that a record
/// of it is kept outside the database: `palisade audit verify --since-mail` (or `--expect` with
/// the head from this mail) then catches rows cut from the end of the trail, or a wiped trail.
pub fn audit_head_mail(head: &events::AuditHead, web_url: &str) -> (String, String) {
    (
        format!("[Palisade] Audit trail record: {} entries", head.count),
        format!(
            "Palisade's audit trail as of today, for your records:\r\n\r\n\
             {}\r\n  {head}\r\n\r\n\
             Please keep this mail. If the trail is ever doubted, whoever runs\r\n\
             Palisade can check that no entry up to this one was removed or\r\n\
             changed: they run `palisade audit verify --expect` followed by\r\n\
             the head above.\r\n\r\n\
             Palisade: {}\r\n",
            events::HEAD_LINE,
            web_url.trim_end_matches('/')
        ),
    )
}

/// The same-day reminder of concerns nobody has triaged.
pub fn reminder_mail(untriaged: i64, web_url: &str) -> (String, String) {
    (
        format!("[Palisade] {untriaged} concern(s) reported today not yet triaged"),
        format!(
            "{untriaged} safeguarding concern(s) reported today have not been triaged yet.\r\n\r\n\
             Open them in Palisade (you will be asked to sign in):\r\n{}/concerns\r\n",
            web_url.trim_end_matches('/')
        ),
    )
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Sends what is due in the outbox until the process ends; `wake` makes it look at once (a
/// new alert), otherwise it looks every few seconds.
pub async fn run_mailer(
    store: std::sync::Arc<dyn AlertStore>,
    settings: SmtpSettings,
    wake: std::sync::Arc<tokio::sync::Notify>,
) {
    let transport = match transport(&settings) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "mail is not sent: the SMTP settings are unusable");
            return;
        }
    };
    let from: Mailbox = match settings.from.parse() {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, from = %settings.from, "mail is not sent: bad sender address");
            return;
        }
    };
    loop {
        match store.due_mail(50).await {
            Ok(due) => {
                for mail in due {
                    let sent = send(&transport, &from, &mail, store.now_utc()).await;
                    let recorded = match sent {
                        Ok(()) => store.mail_sent(mail.id).await,
                        Err(error) => {
                            let pause = settings
                                .retry_base
                                .saturating_mul(1u32 << mail.attempts.clamp(0, 12) as u32)
                                .min(Duration::from_secs(3600));
                            tracing::warn!(mail = mail.id, attempts = mail.attempts + 1, %error, "mail not sent; will retry");
                            store
                                .mail_failed(
                                    mail.id,
                                    &error,
                                    chrono::Duration::from_std(pause)
                                        .unwrap_or(chrono::Duration::hours(1)),
                                )
                                .await
                        }
                    };
                    if let Err(e) = recorded {
                        tracing::error!(error = %e, mail = mail.id, "the outbox could not be updated");
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "the outbox could not be read"),
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), wake.notified()).await;
    }
}

fn transport(s: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let mut builder = match s.security {
        Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
        Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
            .map_err(|e| MailError::Settings(e.to_string()))?,
        Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)
            .map_err(|e| MailError::Settings(e.to_string()))?,
    }
    .port(s.port)
    .timeout(Some(Duration::from_secs(20)));
    if let (Some(u), Some(p)) = (&s.username, &s.password) {
        builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
    }
    Ok(builder.build())
}

async fn send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    mail: &events::OutboxMail,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), String> {
    let to: Mailbox = mail
        .recipient
        .parse()
        .map_err(|e| format!("bad recipient address: {e}"))?;
    let message = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        // The Date header by the injected clock, as everything else.
        .date(std::time::SystemTime::from(now))
        .body(mail.body.clone())
        .map_err(|e| format!("building the mail: {e}"))?;
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use policy::profile::monitoring::AlertSeverity;

    #[test]
    fn the_digest_counts_the_alerts_and_links_to_the_inbox() {
        let due = ["overdue: Training run out or running out: 1 (was due 2026-10-03)".to_string()];
        let (subject, body) = digest_mail(
            &[("low".into(), 3), ("medium".into(), 1)],
            &due,
            "http://p/",
        );
        assert!(
            body.contains("Due or overdue:\r\n  overdue: Training run out"),
            "{body}"
        );
        assert_eq!(subject, "[Palisade] Daily alert digest: 4 alert(s)");
        assert!(body.contains("low: 3") && body.contains("http://p/alerts"));
    }

    #[test]
    fn alert_mails_name_no_site_and_no_search_and_settings_hide_the_password() {
        let alert = Alert {
            audience: policy::alerts::AlertAudience::Safeguarding,
            id: 7,
            severity: AlertSeverity::High,
            rule: "keyword (self-harm, en): how to self harm".into(),
            subject: "pupil1".into(),
            person_id: Some(3),
            username: Some("pupil1".into()),
            client_ip: "10.1.2.40".into(),
            group_name: "ks2".into(),
            first_at: "2026-11-25T10:00:00.000Z".into(),
            last_at: "2026-11-25T10:00:00.000Z".into(),
            count: 1,
            status: "open".into(),
            status_note: None,
            handled_by: None,
            handled_at: None,
            evidence: "[]".into(),
        };
        let (subject, body) = alert_mail(&alert, Some("Year 5"), "https://palisade.holt.example/");
        assert_eq!(subject, "[Palisade] High alert: Year 5");
        assert!(body.contains("https://palisade.holt.example/alerts#alert-7"));
        for secret in ["self harm", "self-harm", "pupil1", "10.1.2.40", "keyword"] {
            assert!(
                !subject.contains(secret) && !body.contains(secret),
                "{secret}"
            );
        }
        let settings = SmtpSettings {
            host: "smtp.example".into(),
            port: 587,
            security: Security::StartTls,
            username: Some("dsl".into()),
            password: Some("hunter2-secret".into()),
            from: "palisade@holt.example".into(),
            retry_base: Duration::from_secs(30),
        };
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn a_monitoring_gap_alert_mail_says_so_rather_than_naming_an_empty_group() {
        let alert = Alert {
            audience: policy::alerts::AlertAudience::System,
            id: 9,
            severity: AlertSeverity::High,
            rule: store::gaps::GAP_RULE.into(),
            subject: store::gaps::SYSTEM_SUBJECT.into(),
            person_id: None,
            username: None,
            client_ip: String::new(),
            group_name: String::new(),
            first_at: "2026-11-25T10:00:00.000Z".into(),
            last_at: "2026-11-25T10:00:00.000Z".into(),
            count: 120,
            status: "open".into(),
            status_note: None,
            handled_by: None,
            handled_at: None,
            evidence: "[]".into(),
        };
        let (subject, body) = alert_mail(&alert, None, "https://palisade.holt.example");
        assert_eq!(subject, "[Palisade] High alert: monitoring gap");
        assert!(body.contains("https://palisade.holt.example/alerts#alert-9"));
    }
}

#[cfg(test)]
mod audit_head_tests {
    use super::*;

    #[test]
    fn the_chairs_daily_mail_carries_the_audit_head_as_verify_reads_it() {
        let head = store::AuditHead {
            count: 42,
            hash: "0f".repeat(32),
        };
        let (subject, body) = audit_head_mail(&head, "https://palisade.holt.example/");
        assert_eq!(subject, "[Palisade] Audit trail record: 42 entries");
        assert_eq!(store::AuditHead::find_in(&body), Some(head.clone()));
        assert!(body.contains("palisade audit verify --expect"));
        // No line is long enough for quoted-printable to break it (a head copied by hand).
        assert!(body.lines().all(|l| l.len() <= 76), "{body}");
    }
}
