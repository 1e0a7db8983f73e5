//! Every change the audit trail records, as one enum: each variant says its action string, its
//! object and its details, so that the rows written stay the same wherever they are made.
//!
//! The strings and the details are stored and hashed into the chain: changing a word or the
//! order of a key changes every row written after, so they are written here once (the details
//! in `details.rs`).

mod details;

use policy::{ActionKind, Agency, ConcernStatus, PersonKind, RoleSet, RouteKind, Severity};
use serde_json::Value;

/// What one audit row records: the change, what it was made to, and what is worth keeping
/// about it (never a secret, never the free text of a concern).
#[derive(Debug, Clone)]
pub enum AuditAction<'a> {
    /// A sign-in that worked (`login.succeeded`).
    LoginSucceeded { person: i64 },
    /// A sign-in that worked through another way than the password (`login.succeeded`, its
    /// `method`: `oidc` for the school's OpenID Connect provider).
    LoginSucceededThrough { person: i64, method: &'a str },
    /// A wrong password, not yet enough to lock the account (`login.failed`).
    LoginFailed { person: i64, failed_in_a_row: i64 },
    /// The failed sign-in that locked the account (`account.locked`).
    AccountLocked { person: i64, failed_in_a_row: i64 },
    /// A login account made (`account.created`).
    AccountCreated { person: i64 },
    /// A locked account unlocked (`account.unlocked`).
    AccountUnlocked {
        person: i64,
        was_locked_until: Option<String>,
    },
    /// A password changed by its holder from the account page (`account.password_set`).
    PasswordSet { person: i64 },
    /// A first password set by its holder through the one-time link (`account.password_set`).
    PasswordSetThroughLink { person: i64 },
    /// Someone said the account's password may be known (`account.compromised`): its
    /// sessions ended and a new password is needed. The row's actor is who said so; `own`
    /// when it was the holder.
    AccountCompromised { person: i64, own: bool },
    /// A second factor (TOTP) enrolled, with new recovery codes (`account.totp_enrolled`).
    TotpEnrolled { person: i64, recovery_codes: usize },
    /// The second factor turned off by its holder (`account.totp_removed`).
    TotpRemoved { person: i64 },
    /// The holder's recovery codes replaced by new ones (`account.recovery_codes_renewed`).
    RecoveryCodesRenewed { person: i64, recovery_codes: usize },
    /// Someone else's second factor turned off by a person who could give them their roles
    /// (`account.totp_reset`), with those roles.
    TotpReset { person: i64, roles: RoleSet },
    /// A one-time recovery code used to sign in (`account.recovery_code_used`), and how many
    /// are left.
    RecoveryCodeUsed { person: i64, left: i64 },
    /// A one-time link issued for a new account (`account.welcome_issued`).
    WelcomeIssued { person: i64, expires_at: &'a str },
    /// An account switched off (`account.disabled`), with the roles it stops acting in.
    AccountDisabled { person: i64, roles: RoleSet },
    /// An account switched back on (`account.enabled`).
    AccountEnabled { person: i64, roles: RoleSet },
    /// A person added with their roles (`person.created`).
    PersonCreated {
        id: i64,
        username: &'a str,
        kind: PersonKind,
        roles: RoleSet,
    },
    /// A person marked as having left (`person.deactivated`).
    PersonDeactivated { person: i64, roles: RoleSet },
    /// A leaver marked as returned (`person.reactivated`).
    PersonReactivated { person: i64, roles: RoleSet },
    /// A parent or carer linked to a pupil (`person.parent_linked`), recorded on the pupil.
    ParentLinked { child: i64, parent: i64 },
    /// Roles given (`role.granted`).
    RolesGranted { person: i64, roles: RoleSet },
    /// Roles taken (`role.removed`).
    RolesRemoved { person: i64, roles: RoleSet },
    /// An alert acknowledged (`alert.acknowledged`).
    AlertAcknowledged { id: i64 },
    /// An alert dismissed, and why (`alert.dismissed`).
    AlertDismissed { id: i64, reason: &'a str },
    /// An alert escalated to a concern (`alert.escalated`).
    AlertEscalated { id: i64, concern: i64 },
    /// A device added to the register (`device.added`).
    DeviceAdded {
        id: i64,
        name: &'a str,
        ip: Option<&'a str>,
        mac: Option<&'a str>,
        holder: Option<i64>,
        group: Option<&'a str>,
    },
    /// A data processor added to the register (`data_processor.added`).
    ProcessorAdded {
        id: i64,
        name: &'a str,
        whose_data: &'a str,
    },
    /// A training session recorded (`training.recorded`).
    TrainingRecorded {
        id: i64,
        course: &'a str,
        people: &'a [i64],
    },
    /// A check made with an outside tool recorded (`filter_check.recorded`).
    FilterCheckRecorded {
        id: i64,
        group: &'a str,
        passed: bool,
    },
    /// A review of filtering and monitoring recorded (`filtering_review.recorded`).
    FilteringReviewRecorded {
        id: i64,
        participants: &'a [i64],
        actions: usize,
    },
    /// A review's action marked done (`filtering_review.action_done`).
    FilteringActionDone {
        id: i64,
        review: i64,
        done_on: &'a str,
    },
    /// Something that makes a review due recorded (`filtering_review.triggered`).
    FilteringTriggerRecorded { id: i64, kind: &'a str },
    /// A version of a policy or code added (`document.added`).
    DocumentAdded {
        id: i64,
        kind: &'a str,
        version: &'a str,
    },
    /// A policy or code acknowledged (`document.acknowledged`).
    Acknowledged {
        person: i64,
        document: &'a str,
        version: &'a str,
        method: &'a str,
    },
    /// A photo consent given, refused or withdrawn (`consent.recorded`).
    ConsentRecorded {
        id: i64,
        pupil: i64,
        purpose: &'a str,
        given: bool,
    },
    /// A device taken out of the register (`device.retired`).
    DeviceRetired { id: i64, why: &'a str },
    /// A device's management set: MDM, passcode, school account (`device.management_set`).
    DeviceManaged {
        id: i64,
        mdm: Option<&'a str>,
        passcode_set: bool,
        school_account: Option<&'a str>,
    },
    /// A device lent to a person (`device.lent`).
    DeviceLent {
        id: i64,
        loan: i64,
        person: i64,
        due_on: Option<&'a str>,
        condition: &'a str,
    },
    /// A device on loan returned (`device.returned`).
    DeviceReturned {
        id: i64,
        loan: i64,
        condition: &'a str,
    },
    /// A device reported lost, stolen or found (`device.reported`).
    DeviceReported {
        id: i64,
        kind: &'a str,
        note: &'a str,
    },
    /// A leaving date set in advance, or taken away (`person.leaving_date_set`).
    LeavingDateSet {
        person: i64,
        leaves_on: Option<&'a str>,
    },
    /// An item of a leaver's checklist ticked (`person.leaver_item_ticked`).
    LeaverItemTicked { person: i64, item: &'a str },
    /// A leaver's accounts closed on their leaving date by the daily run (`person.left`).
    PersonLeftOnDate {
        person: i64,
        leaves_on: &'a str,
        roles: RoleSet,
    },
    /// A guest account made (`guest.created`).
    GuestCreated {
        person: i64,
        purpose: &'a str,
        expires_at: &'a str,
    },
    /// A guest account ended at its time (`guest.expired`).
    GuestExpired { person: i64 },
    /// A concern filed and routed (`concern.reported`).
    ConcernReported {
        id: i64,
        category: &'a str,
        route: RouteKind,
        audience: RoleSet,
        fallback: bool,
        subjects: &'a [i64],
        assignee: Option<i64>,
    },
    /// A concern read (`concern.viewed`): `access` is how much of it (`full`, `reporter`,
    /// `chronology`).
    ConcernViewed { id: i64, access: &'a str },
    /// A timeline entry added (`concern.action_added`).
    ConcernActionAdded {
        concern: i64,
        action_id: i64,
        kind: ActionKind,
        agency: Option<Agency>,
    },
    /// A file attached (`concern.attachment_added`).
    ConcernAttachmentAdded {
        concern: i64,
        attachment_id: i64,
        sha256: &'a str,
        size: i64,
    },
    /// Assignee, severity and status set (`concern.triaged`).
    ConcernTriaged {
        concern: i64,
        status: ConcernStatus,
        severity: Option<Severity>,
        assignee: Option<i64>,
    },
    /// A concern closed (`concern.closed`); the outcome is on its timeline, not here.
    ConcernClosed { concern: i64 },
    /// A concern reopened (`concern.reopened`); the reason is on its timeline.
    ConcernReopened { concern: i64 },
    /// A review of a blocked page asked for (`review.requested`).
    ReviewRequested {
        id: i64,
        host: &'a str,
        group: &'a str,
        category: Option<&'a str>,
    },
    /// A review approved, with the allow entry it added (`review.approved`).
    ReviewApproved {
        id: i64,
        host: &'a str,
        group: &'a str,
        why: &'a str,
        allow_entry: i64,
    },
    /// A review declined (`review.declined`).
    ReviewDeclined {
        id: i64,
        host: &'a str,
        why: &'a str,
    },
    /// One of the school's own allow (`allowlist.added`) or block (`blocklist.added`) entries.
    FilterEntryAdded {
        entry: i64,
        block: bool,
        host: &'a str,
        group: &'a str,
        why: &'a str,
    },
    /// An allow or block entry taken out of force (`allowlist.removed`, `blocklist.removed`).
    FilterEntryRemoved {
        entry: i64,
        block: bool,
        host: &'a str,
        group: &'a str,
        why: &'a str,
    },
    /// A version of the profile's filtering put in force: the first recorded
    /// (`filtering.first_recorded`, `changes` none) or a change (`filtering.changed`).
    FilteringRecorded {
        sha256: &'a str,
        via: &'a str,
        why: &'a str,
        changes: Option<&'a [String]>,
    },
    /// The access log searched (`access_log.viewed`), with the search.
    AccessLogViewed { query: Value },
    /// The school's concerns listed among a trust's (`concern.listed_for_trust`), by a trust
    /// role on the trust's page: the ids shown.
    ConcernsListedForTrust { ids: &'a [i64] },
    /// The school's alerts listed among a trust's (`alert.listed_for_trust`): the ids shown.
    AlertsListedForTrust { ids: &'a [i64] },
    /// A school named after its profile (`school.named`).
    SchoolNamed {
        id: i64,
        slug: &'a str,
        name: &'a str,
    },
    /// The operator added a school to the database (the first row of its chain).
    SchoolAdded {
        id: i64,
        slug: &'a str,
        name: &'a str,
    },
    /// The school's people imported from its MIS export (`people.imported`): the files (by
    /// SHA-256) and how many were added, changed, proposed as leaving and marked, and links.
    PeopleImported {
        files: &'a [crate::people::ImportedFile],
        counts: &'a policy::import::Counts,
        /// The roles given to the people it added.
        roles: RoleSet,
        leavers: &'a str,
        leavers_marked: &'a [i64],
    },
    /// One person's records exported for a subject access request
    /// (`person.subject_access_exported`): whom (the object), by whom (the actor), as what.
    SubjectAccessExported { person: i64, format: &'a str },
    /// A person's records erased past retention (`person.erased`): how many of each kind,
    /// never a name (the row outlives what it counts).
    PersonErased {
        person: i64,
        counts: &'a [(&'static str, u64)],
    },
    /// The server's daily backup made and verified (`backup.made`): the file and what it holds.
    BackupMade {
        id: i64,
        file: &'a str,
        concerns: i64,
        audit_head: &'a str,
    },
    /// The server's daily backup failed or did not verify (`backup.failed`), and why.
    BackupFailed { id: i64, error: &'a str },
}

impl AuditAction<'_> {
    /// The action as stored.
    pub fn action(&self) -> &'static str {
        use AuditAction::*;
        match self {
            LoginSucceeded { .. } | LoginSucceededThrough { .. } => "login.succeeded",
            LoginFailed { .. } => "login.failed",
            AccountLocked { .. } => "account.locked",
            AccountCreated { .. } => "account.created",
            AccountUnlocked { .. } => "account.unlocked",
            PasswordSet { .. } | PasswordSetThroughLink { .. } => "account.password_set",
            WelcomeIssued { .. } => "account.welcome_issued",
            AccountCompromised { .. } => "account.compromised",
            TotpEnrolled { .. } => "account.totp_enrolled",
            TotpRemoved { .. } => "account.totp_removed",
            RecoveryCodesRenewed { .. } => "account.recovery_codes_renewed",
            TotpReset { .. } => "account.totp_reset",
            RecoveryCodeUsed { .. } => "account.recovery_code_used",
            AccountDisabled { .. } => "account.disabled",
            AccountEnabled { .. } => "account.enabled",
            PersonCreated { .. } => "person.created",
            PersonDeactivated { .. } => "person.deactivated",
            PersonReactivated { .. } => "person.reactivated",
            ParentLinked { .. } => "person.parent_linked",
            RolesGranted { .. } => "role.granted",
            RolesRemoved { .. } => "role.removed",
            AlertAcknowledged { .. } => "alert.acknowledged",
            AlertDismissed { .. } => "alert.dismissed",
            AlertEscalated { .. } => "alert.escalated",
            DeviceAdded { .. } => "device.added",
            DeviceRetired { .. } => "device.retired",
            DeviceManaged { .. } => "device.management_set",
            DeviceLent { .. } => "device.lent",
            DeviceReturned { .. } => "device.returned",
            DeviceReported { .. } => "device.reported",
            LeavingDateSet { .. } => "person.leaving_date_set",
            LeaverItemTicked { .. } => "person.leaver_item_ticked",
            PersonLeftOnDate { .. } => "person.left",
            GuestCreated { .. } => "guest.created",
            GuestExpired { .. } => "guest.expired",
            ProcessorAdded { .. } => "data_processor.added",
            TrainingRecorded { .. } => "training.recorded",
            FilterCheckRecorded { .. } => "filter_check.recorded",
            FilteringReviewRecorded { .. } => "filtering_review.recorded",
            FilteringActionDone { .. } => "filtering_review.action_done",
            FilteringTriggerRecorded { .. } => "filtering_review.triggered",
            DocumentAdded { .. } => "document.added",
            Acknowledged { .. } => "document.acknowledged",
            ConsentRecorded { .. } => "consent.recorded",
            ConcernReported { .. } => "concern.reported",
            ConcernViewed { .. } => "concern.viewed",
            ConcernActionAdded { .. } => "concern.action_added",
            ConcernAttachmentAdded { .. } => "concern.attachment_added",
            ConcernTriaged { .. } => "concern.triaged",
            ConcernClosed { .. } => "concern.closed",
            ConcernReopened { .. } => "concern.reopened",
            ReviewRequested { .. } => "review.requested",
            ReviewApproved { .. } => "review.approved",
            ReviewDeclined { .. } => "review.declined",
            FilterEntryAdded { block: false, .. } => "allowlist.added",
            FilterEntryAdded { block: true, .. } => "blocklist.added",
            FilterEntryRemoved { block: false, .. } => "allowlist.removed",
            FilterEntryRemoved { block: true, .. } => "blocklist.removed",
            FilteringRecorded { changes: None, .. } => "filtering.first_recorded",
            FilteringRecorded {
                changes: Some(_), ..
            } => "filtering.changed",
            AccessLogViewed { .. } => "access_log.viewed",
            ConcernsListedForTrust { .. } => "concern.listed_for_trust",
            AlertsListedForTrust { .. } => "alert.listed_for_trust",
            SchoolNamed { .. } => "school.named",
            SchoolAdded { .. } => "school.added",
            PeopleImported { .. } => "people.imported",
            SubjectAccessExported { .. } => "person.subject_access_exported",
            PersonErased { .. } => "person.erased",
            BackupMade { .. } => "backup.made",
            BackupFailed { .. } => "backup.failed",
        }
    }

    /// The object as stored: its type and id.
    pub fn object(&self) -> (&'static str, String) {
        use AuditAction::*;
        match self {
            LoginSucceeded { person }
            | LoginSucceededThrough { person, .. }
            | LoginFailed { person, .. }
            | AccountLocked { person, .. }
            | AccountCreated { person }
            | AccountUnlocked { person, .. }
            | PasswordSet { person }
            | PasswordSetThroughLink { person }
            | WelcomeIssued { person, .. }
            | AccountCompromised { person, .. }
            | TotpEnrolled { person, .. }
            | TotpRemoved { person }
            | RecoveryCodesRenewed { person, .. }
            | TotpReset { person, .. }
            | RecoveryCodeUsed { person, .. }
            | AccountDisabled { person, .. }
            | AccountEnabled { person, .. }
            | PersonDeactivated { person, .. }
            | PersonReactivated { person, .. }
            | RolesGranted { person, .. }
            | RolesRemoved { person, .. }
            | Acknowledged { person, .. } => ("person", person.to_string()),
            ConsentRecorded { pupil, .. } => ("person", pupil.to_string()),
            TrainingRecorded { id, .. } => ("training_session", id.to_string()),
            FilterCheckRecorded { id, .. } => ("filter_check", id.to_string()),
            FilteringReviewRecorded { id, .. } => ("filtering_review", id.to_string()),
            FilteringActionDone { review, .. } => ("filtering_review", review.to_string()),
            FilteringTriggerRecorded { id, .. } => ("filtering_review_trigger", id.to_string()),
            DocumentAdded { id, .. } => ("document", id.to_string()),
            PersonCreated { id, .. } => ("person", id.to_string()),
            ParentLinked { child, .. } => ("person", child.to_string()),
            AlertAcknowledged { id } | AlertDismissed { id, .. } | AlertEscalated { id, .. } => {
                ("alert", id.to_string())
            }
            DeviceAdded { id, .. }
            | DeviceRetired { id, .. }
            | DeviceManaged { id, .. }
            | DeviceLent { id, .. }
            | DeviceReturned { id, .. }
            | DeviceReported { id, .. } => ("device", id.to_string()),
            LeavingDateSet { person, .. }
            | LeaverItemTicked { person, .. }
            | PersonLeftOnDate { person, .. }
            | GuestCreated { person, .. }
            | GuestExpired { person } => ("person", person.to_string()),
            ProcessorAdded { id, .. } => ("data_processor", id.to_string()),
            ConcernReported { id, .. } | ConcernViewed { id, .. } => ("concern", id.to_string()),
            ConcernActionAdded { concern, .. }
            | ConcernAttachmentAdded { concern, .. }
            | ConcernTriaged { concern, .. }
            | ConcernClosed { concern }
            | ConcernReopened { concern } => ("concern", concern.to_string()),
            ReviewRequested { id, .. } | ReviewApproved { id, .. } | ReviewDeclined { id, .. } => {
                ("review", id.to_string())
            }
            FilterEntryAdded { entry, block, .. } | FilterEntryRemoved { entry, block, .. } => (
                if *block { "block_entry" } else { "allow_entry" },
                entry.to_string(),
            ),
            FilteringRecorded { sha256, .. } => {
                ("filtering", sha256.get(..12).unwrap_or(sha256).to_string())
            }
            AccessLogViewed { .. } => ("access_log", String::new()),
            ConcernsListedForTrust { .. } => ("concern_list", String::new()),
            AlertsListedForTrust { .. } => ("alert_list", String::new()),
            SchoolNamed { id, .. } | SchoolAdded { id, .. } => ("school", id.to_string()),
            PeopleImported { .. } => ("people", String::new()),
            SubjectAccessExported { person, .. } | PersonErased { person, .. } => {
                ("person", person.to_string())
            }
            BackupMade { id, .. } | BackupFailed { id, .. } => ("backup", id.to_string()),
        }
    }
}
