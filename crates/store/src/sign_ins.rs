//! Failed sign-ins and refused requests, with their source address, for the Headteacher and
//! the network manager. Never a password: the name as typed is cut to 64 characters.

use crate::{Result, Store};
use sqlx::FromRow;

/// Why a row was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    /// A name with no usable account, or a wrong password (the page does not tell them apart
    /// either, to the attacker; the reader here may see the name).
    UnknownOrWrong,
    /// An attempt while the account (or the name) was locked.
    Locked,
    /// A signed-in person's request that the policy refused.
    Denied,
    /// A right password and then a wrong second-factor code (or recovery code).
    WrongCode,
    /// A right password and then a code already used (or one older than the last used): it
    /// may have been seen over someone's shoulder, or relayed by a phishing page.
    ReplayedCode,
    /// An identity the school's OpenID Connect provider vouched for that may not sign in
    /// here: outside the school's domains, unverified, or with no usable account.
    OidcRefused,
}

impl FailureReason {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::UnknownOrWrong => "unknown_or_wrong",
            FailureReason::Locked => "locked",
            FailureReason::Denied => "denied",
            FailureReason::WrongCode => "wrong_code",
            FailureReason::ReplayedCode => "replayed_code",
            FailureReason::OidcRefused => "oidc_refused",
        }
    }
}

/// One failed sign-in or refused request.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct SignInFailure {
    pub at: String,
    pub reason: String,
    pub source: Option<String>,
    pub username: Option<String>,
    pub path: Option<String>,
}

/// How many of one reason came from one address.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct FailureCount {
    pub reason: String,
    pub source: Option<String>,
    pub count: i64,
}

fn cut(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

impl Store {
    /// Records a failed sign-in or refused request.
    pub async fn record_sign_in_failure(
        &self,
        reason: FailureReason,
        source: Option<std::net::IpAddr>,
        username: Option<&str>,
        path: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.begin_unaudited().await?;
        sqlx::query(
            "INSERT INTO sign_in_failures (at, reason, source, username, path)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(self.now())
        .bind(reason.as_str())
        .bind(source.map(|s| s.to_string()))
        .bind(username.map(|u| cut(u.trim(), 64)))
        .bind(path.map(|p| cut(p, 200)))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts by reason and address since `since` (a stored timestamp), most first.
    pub async fn sign_in_failure_counts(&self, since: &str) -> Result<Vec<FailureCount>> {
        Ok(sqlx::query_as(
            "SELECT reason, source, COUNT(*) AS count FROM sign_in_failures WHERE at >= $1
             GROUP BY reason, source ORDER BY count DESC, reason, source LIMIT 200",
        )
        .bind(since)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// The latest `limit` rows, newest first.
    pub async fn recent_sign_in_failures(&self, limit: i64) -> Result<Vec<SignInFailure>> {
        Ok(sqlx::query_as(
            "SELECT at, reason, source, username, path FROM sign_in_failures
             ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }
}
