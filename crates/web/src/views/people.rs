//! The people register: the list, adding a person and the account made for them.

use super::layout::Chrome;
use askama::Template;

/// A person as a row of the people page.
pub struct PersonRow {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub kind: String,
    pub roles: String,
    pub class_info: String,
    pub account: String,
    pub active: bool,
    /// Locked by failed sign-ins now.
    pub locked: bool,
    pub chronology: Option<String>,
}

#[derive(Template)]
#[template(path = "people.html")]
pub struct PeoplePage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub can_manage: bool,
    /// May unlock accounts locked by failed sign-ins.
    pub can_unlock: bool,
    pub rows: Vec<PersonRow>,
}

#[derive(Template)]
#[template(path = "person_new.html")]
pub struct NewPersonPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub kinds: Vec<&'static str>,
    pub roles: Vec<(String, String)>,
    pub welcome_days: i64,
}

/// A person just added with a login account: the one-time link, shown this once.
#[derive(Template)]
#[template(path = "person_added.html")]
pub struct PersonAddedPage {
    pub chrome: Chrome,
    pub name: String,
    pub username: String,
    pub link: String,
    pub expires: String,
}
