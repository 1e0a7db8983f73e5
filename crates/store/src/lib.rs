//! Palisade's storage: one repository API over SQLite (one school) and PostgreSQL (a trust),
//! chosen at run time by the URL scheme. Every change that matters is recorded in the
//! hash-chained audit log inside the same transaction as the change itself.

/// A query string built from constant column lists (never from input): safe to run.
macro_rules! sql {
    ($($arg:tt)*) => { sqlx::AssertSqlSafe(format!($($arg)*)) };
}

pub mod access;
pub mod alerts;
pub mod audit;
pub mod background;
pub mod backup;
mod blobs;
pub mod compromised;
pub mod concerns;
pub mod consents;
mod db;
pub mod devices;
pub mod factors;
pub mod filter_tests;
pub mod filtering_log;
pub mod filtering_reviews;
pub mod gaps;
pub mod grants;
pub mod mail;
pub mod oidc;
pub mod passwords;
pub mod people;
mod permits;
pub mod processors;
pub mod reviews;
pub mod schools;
pub mod sessions;
pub mod sign_ins;
pub mod signoffs;
pub mod subject_access;
pub mod testing;
pub mod training;
pub mod weekly;
pub mod welcome;

pub use access::{
    AccessEvent, AccessFilter, AccessLogConfig, AccessLogger, AccessRow, AccessWriter,
    BatchWatcher, SchoolLog, Urgency, Watch,
};
pub use alerts::{Alert, AlertAction, AlertFilter, AlertHit, AlertWriter};
pub use audit::{AuditAction, AuditEntry, AuditHead, AuditVerdict};
pub use backup::{BackupFacts, BackupRecord, COUNTED_TABLES, latest_schema_version};
pub use clock::Clock;
pub use concerns::{
    ActionRecord, Attachment, ConcernFilter, ConcernRecord, NewAttachment, NewConcern, Triage,
};
pub use consents::ConsentEntry;
pub use db::{Backend, SERVICE_ROLE, Scope, Store, redact as redacted_url};
pub use devices::{Device, NewDevice};
pub use filter_tests::{FilterTestResult, FilterTestRun, NewFilterTestResult, NewFilterTestRun};
pub use filtering_log::{FilteringChangedBy, FilteringRecorded};
pub use filtering_reviews::{
    FilterCheck, FilteringReview, Participant, ReviewAction, ReviewRecord, ReviewTrigger,
};
pub use gaps::{Dropped, GapWatch};
pub use grants::RoleChange;
pub use mail::{OutboxMail, OutboxState};
pub use people::{
    Account, Closed, ImportReport, ImportRequest, ImportedFile, Leavers, ListedPerson, NewGuest,
    NewPerson, PeopleList, PeopleQuery, Person, PersonKind,
};
pub use processors::Processor;
pub use reviews::{FilterEntry, NewFilterEntry, NewReview, Review, ReviewDecision};
pub use schools::School;
pub use sessions::{Session, SignedIn};
pub use signoffs::{Acknowledgement, CodeStanding, Document, Method};
pub use subject_access::{Erased, SubjectAccess};
pub use training::Completion;

pub use events::{parse_timestamp, stamp, timestamp};

/// Everything that can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not `sqlite:` or `postgres:`.
    #[error("database URL `{0}` must start with sqlite: or postgres:")]
    UnsupportedUrl(String),
    /// The database could not be reached or created.
    #[error("cannot open the database at {url}: {source}")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// A command that only inspects was pointed at a database that does not exist.
    #[error("{0}")]
    NoDatabase(String),
    /// The schema migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// A row holds a value Palisade cannot read (e.g. an unknown role).
    #[error("corrupt row in {table} {id}: {message}")]
    Corrupt {
        table: &'static str,
        id: String,
        message: String,
    },
    /// Something the caller referred to does not exist.
    #[error("{what} not found")]
    NotFound { what: String },
    /// The change conflicts with what is stored (e.g. a username already taken), or the
    /// permit given is not for this action on this object (nothing was changed).
    #[error("{0}")]
    Conflict(String),
    /// The domain refused the input.
    #[error(transparent)]
    Invalid(#[from] policy::PolicyError),
    /// What the database cannot hold (a second school in a SQLite file).
    #[error("{0}")]
    Unsupported(String),
    /// Too many password checks are already running or waiting: try again shortly.
    #[error("too many sign-ins at once; try again in a moment")]
    Busy,
}

/// The result type of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
