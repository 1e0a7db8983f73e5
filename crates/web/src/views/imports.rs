//! The import of people from the MIS: the upload form, the dry run's preview, and the progress
//! of the import applied.

use super::layout::Chrome;
use askama::Template;

/// One line of the preview's tables.
pub struct PreviewRow {
    pub kind: String,
    pub username: String,
    pub name: String,
    pub detail: String,
}

/// A table of the preview, showing at most so many rows and counting the rest.
pub struct PreviewTable {
    pub rows: Vec<PreviewRow>,
    pub more: usize,
}

/// What the dry run found, and the form that applies it.
pub struct ImportPreview {
    pub token: String,
    pub files: Vec<String>,
    pub added: usize,
    pub changed: usize,
    pub leaving: usize,
    pub unchanged: usize,
    pub links_added: usize,
    pub links_changed: usize,
    pub links_removed: usize,
    pub added_rows: PreviewTable,
    pub changed_rows: PreviewTable,
    pub leaving_rows: PreviewTable,
    pub link_rows: PreviewTable,
    /// The day leavers are marked to leave on, when they are.
    pub leavers_on: Option<String>,
    /// Why this user may not apply it (roles they may not give).
    pub refused: Option<String>,
    /// Applying it would change nothing.
    pub nothing: bool,
}

#[derive(Template)]
#[template(path = "people_import.html")]
pub struct ImportPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    /// Each problem of a refused file, by row and column.
    pub problems: Vec<String>,
    pub more_problems: usize,
    pub formats: Vec<(&'static str, &'static str)>,
    pub format: String,
    pub leavers: String,
    pub preview: Option<ImportPreview>,
}

/// How far an applied import got (the page, and the partial htmx polls).
#[derive(Template)]
#[template(path = "people_import_run.html")]
pub struct ImportRunPage {
    pub chrome: Chrome,
    pub token: String,
    pub running: bool,
    pub done: usize,
    pub total: usize,
    pub percent: usize,
    pub summary: Vec<String>,
    pub error: Option<String>,
}

/// The progress partial alone.
#[derive(Template)]
#[template(path = "people_import_progress.html")]
pub struct ImportProgressPartial {
    pub token: String,
    pub running: bool,
    pub done: usize,
    pub total: usize,
    pub percent: usize,
    pub summary: Vec<String>,
    pub error: Option<String>,
}
