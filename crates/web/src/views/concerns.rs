//! Safeguarding concerns: the home page's list, the queue, reporting, one concern, the
//! reporter's view and a pupil's chronology.

use super::layout::Chrome;
use askama::Template;

/// A concern as a row of a list.
pub struct ConcernRow {
    pub id: i64,
    /// New and waiting past the profile's `triage_within_hours`.
    pub overdue: bool,
    pub reported: String,
    pub summary: String,
    pub subjects: String,
    pub category: String,
    pub severity: Option<String>,
    pub status: String,
    pub status_label: String,
    pub route: String,
    pub route_label: String,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub chrome: Chrome,
    pub first_name: String,
    pub is_pupil: bool,
    pub first_contact_title: String,
    pub sees_queue: bool,
    pub queue_count: usize,
    pub untriaged_count: usize,
    pub overdue_count: usize,
    pub triage_hours: u32,
    /// What is due or overdue for them (issue 18's dashboard).
    pub due: Vec<crate::dashboard::DueItem>,
    /// The last backup's time and whether it verified, for those who answer for backups.
    pub backup: Option<String>,
    pub mine: Vec<ConcernRow>,
}

#[derive(Template)]
#[template(path = "concerns.html")]
pub struct ConcernsPage {
    pub chrome: Chrome,
    pub rows: Vec<ConcernRow>,
    pub statuses: Vec<(String, String)>,
    pub status: String,
}

#[derive(Template)]
#[template(path = "concern_new.html")]
pub struct NewConcernPage {
    pub chrome: Chrome,
    pub form: String,
    pub error: Option<String>,
    pub categories: Vec<(String, String)>,
    pub people: Vec<(String, String)>,
    /// Pupils' and parents' forms: the grown-ups at school they may name (username, label).
    pub grown_ups: Vec<(String, String)>,
    pub first_contact_title: String,
    pub head_title: String,
    pub chair_title: String,
    pub max_mb: u64,
}

/// One timeline entry as shown.
pub struct TimelineEntry {
    pub id: i64,
    pub label: String,
    pub actor: String,
    pub at: String,
    pub text: String,
    pub corrects: Option<i64>,
}

#[derive(Template)]
#[template(path = "concern.html")]
pub struct ConcernPage {
    pub chrome: Chrome,
    pub c: ConcernRow,
    pub error: Option<String>,
    pub lado_required: bool,
    /// The profile's `school.local_authority`, whose LADO takes the referral.
    pub local_authority: Option<String>,
    /// (id, name, chronology link)
    pub subjects: Vec<(i64, String, Option<String>)>,
    pub about_text: Option<String>,
    pub reporter: String,
    pub form_name: String,
    pub occurred_at: Option<String>,
    pub platform: Option<String>,
    pub assignee: String,
    pub outcome: Option<String>,
    pub details: String,
    /// (id, filename, size, sha256)
    pub attachments: Vec<(i64, String, i64, String)>,
    pub timeline: Vec<TimelineEntry>,
    pub can_act: bool,
    pub channels: Vec<(String, String)>,
    pub sanctions: Vec<(String, String)>,
    pub agencies: Vec<(String, String)>,
    pub severities: Vec<(String, String)>,
    pub open_statuses: Vec<(String, String)>,
    pub staff: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "concern_mine.html")]
pub struct ReporterViewPage {
    pub chrome: Chrome,
    pub summary: String,
    pub status: String,
    pub status_label: String,
    pub reported: String,
    pub details: String,
}

/// One line of a pupil's chronology.
pub struct ChronologyEntry {
    pub at: String,
    pub concern_id: i64,
    pub summary: String,
    pub label: String,
    pub text: String,
    pub actor: String,
}

#[derive(Template)]
#[template(path = "chronology.html")]
pub struct ChronologyPage {
    pub chrome: Chrome,
    pub pupil: String,
    pub class_info: String,
    pub entries: Vec<ChronologyEntry>,
}
