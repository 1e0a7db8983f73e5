//! Page models: one askama struct per page, each with the shared [`Chrome`] for the layout.

mod account;
mod alerts;
mod audit;
mod concerns;
mod filtering;
mod imports;
mod layout;
mod network;
mod people;
mod registers;
mod selftest;
mod subject_access;
mod trust;

pub use account::{AccountPage, AupPage, LoginCodePage, LoginPage, TwoFactorPage, WelcomePage};
pub use alerts::{AlertRow, AlertsPage};
pub use audit::{AuditPage, AuditRow, RoleChangesPage, SignInCount, SignInRow, SignInsPage};
pub use concerns::{
    ChronologyEntry, ChronologyPage, ConcernPage, ConcernRow, ConcernsPage, HomePage,
    NewConcernPage, ReporterViewPage, TimelineEntry,
};
pub use filtering::{
    DecisionRow, DeviceForm, DeviceRow, DevicesPage, EntryRow, GroupRuleRow, LoanRow, MyReviewRow,
    ReviewNewPage, ReviewRow, ReviewsPage, RulesPage,
};
pub use imports::{
    ImportPage, ImportPreview, ImportProgressPartial, ImportRunPage, PreviewRow, PreviewTable,
};
pub use layout::{Chrome, error_page, refused_if, render, when};
pub use network::{
    CaPage, DayStats, GroupStats, NetworkStatsPage, QueriesPage, QueryRow, QueryRowsPartial,
};
pub use people::{
    GuestSlipPage, GuestsPage, LeaverRow, LeaversPage, NewPersonPage, PeopleFilterView, PeoplePage,
    PersonAddedPage, PersonPage, PersonRow,
};
pub use registers::{
    CompletionRow, ConsentPage, ConsentPupil, DocumentRow, DocumentsPage, ParentConsentPage,
    ProcessorRow, ProcessorsPage, PublishPage, RoleRow, RolesPage, TrainingCell, TrainingPage,
    TrainingRow, UnsignedGroup,
};
pub use selftest::{SelfTestCheck, SelfTestGroup, SelfTestPage, SelfTestRun};
pub use subject_access::{ConcernView, EntryView, SubjectAccessPage};
pub use trust::{
    TrustAlertRow, TrustAlertsPage, TrustConcernRow, TrustConcernsPage, TrustFilteringPage,
    TrustFilteringRow, TrustListRow, TrustPage, TrustSchoolRow,
};
