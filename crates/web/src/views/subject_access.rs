//! The subject access export as a page: readable and printable, with a summary of what it holds
//! and where the person's records stand under the retention rules.

use super::layout::Chrome;
use askama::Template;

/// One entry of a concern's timeline, as the page shows it.
pub struct EntryView {
    pub at: String,
    pub label: String,
    pub by: String,
    pub text: String,
}

/// A concern about the person, as the page shows it (names already redacted).
pub struct ConcernView {
    pub copy: store::subject_access::ConcernCopy,
    /// The category's wording in the school's profile.
    pub category: String,
    pub reported_at: String,
    pub timeline: Vec<EntryView>,
}

/// `/people/{id}/subject-access`.
#[derive(Template)]
#[template(path = "subject_access.html")]
pub struct SubjectAccessPage {
    pub chrome: Chrome,
    pub school: String,
    pub export: store::SubjectAccess,
    /// When it was prepared, as people read it.
    pub prepared_on: String,
    pub roles: String,
    pub counts: Vec<(&'static str, i64)>,
    pub concerns: Vec<ConcernView>,
    /// Where the records stand under the retention rules, in a sentence.
    pub retention: String,
    pub erasable: bool,
    /// May erase them (the data manager), once they are erasable.
    pub can_erase: bool,
    pub person_id: i64,
}

impl SubjectAccessPage {
    /// A stored time as people read it.
    pub fn at(&self, ts: &str) -> String {
        super::layout::when(ts)
    }
}
