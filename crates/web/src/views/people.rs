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
    /// May work through leavers' checklists.
    pub leavers: bool,
    /// May make guest accounts.
    pub guests: bool,
    pub rows: Vec<PersonRow>,
    pub filter: PeopleFilterView,
    /// "Showing 101 to 200 of 5,150."
    pub showing: String,
    /// Links to the pages either side, with the same filters.
    pub previous: Option<String>,
    pub next: Option<String>,
}

/// The list's filters as the form shows them.
pub struct PeopleFilterView {
    pub kind: String,
    pub q: String,
    pub year: String,
    /// The year groups to choose from.
    pub years: Vec<String>,
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

/// One person's page (`/people/{id}`); other registers add their sections to its template.
#[derive(Template)]
#[template(path = "person.html")]
pub struct PersonPage {
    pub chrome: Chrome,
    pub person: store::Person,
    /// May change this person's details and leaving date.
    pub can_manage: bool,
    /// Parents and carers of a pupil, or a parent's children: id, name, kind.
    pub links: Vec<(i64, String, String)>,
    pub account: String,
    pub roles: String,
    pub chronology: Option<String>,
    pub left: Option<String>,
    pub expires: Option<String>,
    /// Devices lent to them, newest first (shown to those who see the register or the person).
    pub loans: Vec<store::devices::Loan>,
    /// May record a loan's return (the network manager).
    pub can_return: bool,
    /// The leavers' checklist, once a leaving date is set or they have left.
    pub checklist: Vec<policy::leavers::ChecklistItem>,
    /// May tick the checklist.
    pub can_tick: bool,
    pub today: String,
    /// The subject access export, for those who may make it.
    pub subject_access: Option<String>,
    /// May say their password may be known (the Headteacher and the network manager), when
    /// they have a usable account.
    pub can_force_password: bool,
    /// The viewer may turn off this person's second factor (they have one), so that they
    /// enrol again: whoever could give them their roles.
    pub can_reset_factor: bool,
}

/// The guest accounts page: those still open and the form for a new one.
#[derive(Template)]
#[template(path = "guests.html")]
pub struct GuestsPage {
    pub chrome: Chrome,
    pub error: Option<String>,
    pub max_hours: u32,
    pub group: Option<String>,
    /// id, name, username, purpose, ends.
    pub guests: Vec<(i64, String, String, String, String)>,
}

/// A guest account just made: the printable sign-in slip, with the password this once.
#[derive(Template)]
#[template(path = "guest_slip.html")]
pub struct GuestSlipPage {
    pub chrome: Chrome,
    pub school: String,
    pub name: String,
    pub purpose: String,
    pub username: String,
    pub password: String,
    pub ends: String,
}

/// A leaver to come, on the leavers page.
pub struct LeaverRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub leaves_on: String,
    /// Items of their checklist not done, of `items`.
    pub open: usize,
    pub items: usize,
}

/// The leavers page: checklists open before the leaving date, devices out after it.
#[derive(Template)]
#[template(path = "leavers.html")]
pub struct LeaversPage {
    pub chrome: Chrome,
    pub rows: Vec<LeaverRow>,
    /// Left with a device still on loan: person id, name, device.
    pub gone: Vec<(i64, String, String)>,
}
