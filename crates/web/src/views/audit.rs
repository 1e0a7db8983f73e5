//! The audit log, role changes and failed sign-ins.

use super::layout::Chrome;
use askama::Template;

/// The audit rows about roles and accounts, for the auditors and the Chair of Governors.
#[derive(Template)]
#[template(path = "audit_roles.html")]
pub struct RoleChangesPage {
    pub chrome: Chrome,
    pub entries: Vec<AuditRow>,
}

/// One audit row as shown.
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub details: String,
}

/// One line of the failed sign-ins page (text ready to show).
pub struct SignInRow {
    pub at: String,
    pub reason: String,
    pub source: String,
    pub username: String,
    pub path: String,
}

/// A count of one reason from one address.
pub struct SignInCount {
    pub reason: String,
    pub source: String,
    pub count: i64,
}

#[derive(Template)]
#[template(path = "sign_ins.html")]
pub struct SignInsPage {
    pub chrome: Chrome,
    pub counts: Vec<SignInCount>,
    pub rows: Vec<SignInRow>,
    pub throttled: u64,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub chrome: Chrome,
    pub intact: bool,
    pub rows: u64,
    pub head: String,
    pub broken: String,
    pub entries: Vec<AuditRow>,
    pub older: Option<i64>,
}
