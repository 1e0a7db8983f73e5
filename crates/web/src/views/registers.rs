//! The compliance registers' pages.

use super::layout::Chrome;
use askama::Template;

/// A data processor as the register's page shows it.
pub struct ProcessorRow {
    pub name: String,
    pub purpose: String,
    pub data_shared: String,
    pub whose_data: String,
    pub agreement_on: String,
    pub renewal_on: String,
    pub transfer: String,
    pub stored_where: String,
    pub dpia_done: bool,
    pub review_on: String,
    /// When and by whom it was added.
    pub added: String,
}

#[derive(Template)]
#[template(path = "registers_processors.html")]
pub struct ProcessorsPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub rows: Vec<ProcessorRow>,
    /// The kinds of data subject, for the form's checkboxes.
    pub subjects: Vec<String>,
}

/// A role as the roles register shows it.
pub struct RoleRow {
    pub role: String,
    pub title: String,
    pub responsibilities: Vec<String>,
    pub duties: Vec<String>,
    pub holders: String,
    pub unheld: bool,
    /// Holders the profile names who do not hold it here.
    pub named_missing: String,
}

#[derive(Template)]
#[template(path = "registers_roles.html")]
pub struct RolesPage {
    pub chrome: Chrome,
    pub rows: Vec<RoleRow>,
}
