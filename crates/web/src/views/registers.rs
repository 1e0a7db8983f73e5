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

/// One person's standing on one course, as the training register shows it.
#[derive(Default)]
pub struct TrainingCell {
    /// Whether they must take it at all.
    pub required: bool,
    pub label: String,
    pub date: String,
    pub overdue: bool,
}

/// A person's row of the training register.
pub struct TrainingRow {
    pub id: i64,
    pub name: String,
    pub roles: String,
    pub cells: Vec<TrainingCell>,
}

/// One completion, as the register's history lists it.
pub struct CompletionRow {
    pub session: i64,
    pub person: String,
    pub course: String,
    pub held_on: String,
    pub note: String,
    pub evidence: Option<String>,
    pub recorded: String,
}

#[derive(Template)]
#[template(path = "registers_training.html")]
pub struct TrainingPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    /// (id, title) of each course, in the profile's order.
    pub courses: Vec<(String, String)>,
    pub rows: Vec<TrainingRow>,
    pub sessions: Vec<CompletionRow>,
    pub max_bytes: u64,
}

/// A version of a policy or code, as the register lists it.
pub struct DocumentRow {
    /// The version's id and its file's name, when it kept the approved document.
    pub file: Option<(i64, String)>,
    pub kind: String,
    pub version: String,
    pub title: String,
    pub approved: String,
    pub review_on: String,
    pub added: String,
}

/// People of one audience (and, for pupils and parents, one year and class) who have not signed.
pub struct UnsignedGroup {
    pub audience: String,
    pub code: String,
    pub group: String,
    pub count: usize,
    /// Their names, where the viewer may see them.
    pub names: String,
}

#[derive(Template)]
#[template(path = "registers_documents.html")]
pub struct DocumentsPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub done: Option<String>,
    /// Whether the viewer keeps the documents (sees versions and adds them).
    pub keeper: bool,
    pub documents: Vec<DocumentRow>,
    /// (id, label) of each kind of document.
    pub kinds: Vec<(String, String)>,
    pub groups: Vec<UnsignedGroup>,
    pub classes: Vec<String>,
    /// The profile's review cycle (0: none).
    pub review_every_months: u32,
    /// The group that reviews the policy, where the profile names one (Holt's Online Safety
    /// Group).
    pub review_group: Option<String>,
}

/// A pupil's row of the class consent list: (standing, whether photos may be used) per purpose.
pub struct ConsentPupil {
    pub id: i64,
    pub name: String,
    pub cells: Vec<(String, bool)>,
}

#[derive(Template)]
#[template(path = "registers_consent.html")]
pub struct ConsentPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub class: String,
    pub classes: Vec<String>,
    pub purposes: Vec<String>,
    pub rows: Vec<ConsentPupil>,
    /// Whether the viewer records answers (the form, the history).
    pub manager: bool,
    /// (id, name) of every pupil, for the form.
    pub pupils: Vec<(i64, String)>,
    /// Whether the profile lets a consent agree to a name with the photo.
    pub names_allowed: bool,
    pub history: Vec<String>,
}

#[derive(Template)]
#[template(path = "registers_publish.html")]
pub struct PublishPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub purposes: Vec<String>,
    pub purpose: String,
    /// How many files were flagged, once a check has run.
    pub flagged: Option<usize>,
    pub files: Vec<crate::publish::FileFindings>,
}

#[derive(Template)]
#[template(path = "parent_consent.html")]
pub struct ParentConsentPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub purposes: Vec<String>,
    /// The parent's children.
    pub rows: Vec<ConsentPupil>,
}
