//! Filtering: review requests, the school's rules and the device register.

use super::layout::Chrome;
use askama::Template;

/// A review request as shown to the one who asked.
pub struct MyReviewRow {
    pub asked: String,
    pub url: String,
    pub status: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "review_new.html")]
pub struct ReviewNewPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub sent: bool,
    pub url: String,
    pub category: String,
    pub rule: String,
    pub group: String,
    pub reason: String,
    pub reviewer_title: String,
    pub mine: Vec<MyReviewRow>,
}

/// A review request as the network manager sees it.
pub struct ReviewRow {
    pub id: i64,
    pub url: String,
    pub host: String,
    pub category: String,
    pub rule: String,
    pub who: String,
    pub group: String,
    pub client_ip: String,
    pub asked: String,
    pub reason: String,
    pub status: String,
    pub decider: String,
    pub note: String,
}

/// One of the school's own allow or block entries as shown.
pub struct EntryRow {
    pub id: i64,
    /// `allow` or `block`.
    pub kind: String,
    pub host: String,
    pub group: String,
    pub reason: String,
    pub by: String,
    pub at: String,
}

/// What one group's filtering is, as in force.
pub struct GroupRuleRow {
    pub name: String,
    pub description: String,
    pub pupil: bool,
    pub blocks: String,
    pub safe: String,
    pub times: String,
    pub own_lists: String,
}

/// One row of the filtering decision log.
pub struct DecisionRow {
    pub at: String,
    pub who: String,
    pub what: String,
    pub lines: Vec<String>,
    pub why: String,
}

#[derive(Template)]
#[template(path = "rules.html")]
pub struct RulesPage {
    pub chrome: Chrome,
    pub notice: Option<String>,
    pub error: Option<String>,
    pub groups: Vec<GroupRuleRow>,
    pub entries: Vec<EntryRow>,
    /// (value, label) of each group an entry can be for.
    pub choices: Vec<(String, String)>,
    pub form_kind: String,
    pub form_site: String,
    pub form_group: String,
    pub form_reason: String,
    pub decisions: Vec<DecisionRow>,
    /// Where the profile is read from on a reload.
    pub profile_file: String,
}

#[derive(Template)]
#[template(path = "reviews.html")]
pub struct ReviewsPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub pending: Vec<ReviewRow>,
    pub decided: Vec<ReviewRow>,
    /// (value, label) of each group an approval can be for.
    pub groups: Vec<(String, String)>,
}

/// One row of the device register.
pub struct DeviceRow {
    pub id: i64,
    pub name: String,
    pub ip: String,
    pub mac: String,
    pub holder: String,
    pub group: String,
    pub added: String,
    /// The MDM it is enrolled in and when that last saw it ("not enrolled" when none).
    pub mdm: String,
    pub passcode_set: bool,
    pub school_account: String,
    /// To whom it is on loan now, and until when.
    pub on_loan: Option<String>,
}

/// A device on loan, on the register's loans table.
pub struct LoanRow {
    pub id: i64,
    pub device: String,
    pub holder: String,
    pub holder_id: i64,
    pub lent_on: String,
    pub due_on: String,
    pub overdue: bool,
    pub condition: String,
}

/// What the device form held (kept after an error).
#[derive(Default, serde::Deserialize)]
pub struct DeviceForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub ip: String,
    #[serde(default)]
    pub mac: String,
    #[serde(default)]
    pub holder: String,
    #[serde(default)]
    pub group: String,
}

#[derive(Template)]
#[template(path = "devices.html")]
pub struct DevicesPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub form: DeviceForm,
    pub devices: Vec<DeviceRow>,
    /// (value, label) of each filtering group.
    pub groups: Vec<(String, String)>,
    /// The loans not yet returned.
    pub loans: Vec<LoanRow>,
    /// Lost, stolen and found reports: device name, kind, note, when.
    pub reports: Vec<(String, String, String, String)>,
    /// Today, for the forms' dates.
    pub today: String,
    /// Every device is on loan: none to lend.
    pub all_on_loan: bool,
}
