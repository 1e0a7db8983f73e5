//! The one permission check: [`can`] decides every action of every role.
//!
//! Concerns are confidential: where a person may not see one, the answer is
//! [`Decision::Hide`] (the web answers 404) so that its existence is not revealed.

use crate::alerts::AlertReaders;
use crate::concern::ConcernStatus;
use crate::roles::{Role, RoleSet};

mod permit;
pub use permit::{Permit, Target, permit};

/// Who is acting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub person_id: i64,
    pub roles: RoleSet,
}

/// Everything a user can ask to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// File a concern (anyone signed in).
    ReportConcern,
    /// See the list of concerns one may see (filtered per concern).
    ListConcerns,
    /// Have the concerns list in the menu: everyone but pupils, who follow their own reports
    /// from the home page.
    BrowseConcerns,
    /// See the counts of the safeguarding queue on the home page, asked about
    /// [`Object::Queue`]: the profile's safeguarding team.
    ViewConcernQueue,
    /// See a concern in full: details, timeline, notes.
    ViewConcern,
    /// See one's own report and its status, without the team's notes.
    ViewOwnReport,
    /// Assign, set severity and status.
    TriageConcern,
    /// Add a timeline entry (note, parents informed, sanction, police, referral, file).
    AddConcernAction,
    CloseConcern,
    ReopenConcern,
    /// A pupil's chronology across concerns (each concern still checked on its own).
    ViewChronology,
    /// The people directory, to choose who a concern is about.
    ViewPeople,
    /// Add, change and deactivate people and parent links.
    ManagePeople,
    /// Add, change and deactivate login accounts.
    ManageAccounts,
    /// Import the school's people from its MIS export: the people administrators (the
    /// Headteacher and the data manager). Asked about [`Object::School`] for the page, and to
    /// apply an import about [`Object::Roles`] with no holder and the roles it gives its new
    /// people: each must be one the importer may give ([`grant_decision`]).
    ImportPeople,
    /// Read the audit trail and its verification.
    ViewAudit,
    /// Read the filtering access log (every query and request, with user and device) and its
    /// statistics.
    ViewAccessLog,
    /// Ask for a review of a blocked page (anyone signed in, from the block page).
    RequestReview,
    /// Change what the filter does: the review queue (approve, decline), the school's own allow
    /// and block entries, reloading the profile's filtering ("access to make changes is only
    /// available to authorised staff"). Who may is the profile's `[filtering] changes_by`, so
    /// it is asked about [`Object::Filtering`].
    ChangeFiltering,
    /// See the monitoring alerts and act on them (acknowledge, dismiss, escalate), asked about
    /// [`Object::Alerts`] for the inbox and [`Object::Alert`] for one: each alert's readers are
    /// its audience's under the profile ([`crate::alerts::AlertReaders`]), and anyone else,
    /// the person it is about included, is not told it exists (404).
    HandleAlerts,
    /// See and change the device register (which device is at which address, who holds it,
    /// its filtering group): the network manager.
    ManageDevices,
    /// Unlock an account locked by failed sign-ins, and see the failed sign-ins (by name and
    /// source address): the Headteacher and the network manager.
    ManageSignIns,
    /// Read who gave and took which role, and who switched whom off: the audit trail's rows about
    /// roles and accounts, for the auditors and the Chair of Governors, who oversees them.
    ViewRoleChanges,
    /// Give a person roles (a new person's roles included), asked about [`Object::Roles`]
    /// with the roles given; decided by [`grant_decision`].
    GrantRole,
    /// Take roles from a person, asked about [`Object::Roles`] with the roles taken; decided
    /// by [`remove_decision`].
    RemoveRole,
    /// Switch off a person's account or mark them as having left, asked about
    /// [`Object::Roles`] with all the roles they hold: decided as removing every one of them
    /// (and nobody switches themselves off).
    DeactivateAccount,
    /// Switch an account back on or mark a leaver as returned, asked about [`Object::Roles`]
    /// with all the roles they hold: decided as granting every one of them.
    ReactivateAccount,
    /// Turn off someone else's second factor (a lost phone, no recovery code left), so that
    /// they enrol again at their next sign-in. Asked about [`Object::Roles`] with all the roles
    /// they hold and decided as granting every one of them (whoever could give the account its
    /// roles may give it back its sign-in); never one's own, which needs a code from the app.
    ResetSecondFactor,
    /// Keep one's own account: accept the Acceptable Use Policy, change one's own password.
    /// Anyone signed in, for themselves only: asked about [`Object::Person`] with their own id.
    ManageOwnAccount,
    /// See and add to the data processors register: the people administrators (the
    /// Headteacher and the data manager, whom a trust's data protection officer acts as).
    /// Asked about [`Object::Register`]: a school whose profile keeps no such register has
    /// none to show (404).
    ManageDataProcessors,
    /// See when the online safety policy is due for review: [`crate::dashboard::POLICY_REVIEWERS`].
    ViewPolicyReview,
    /// Keep the training register (record completions, see where everyone stands):
    /// [`crate::training::TRAINING_LEADS`].
    ManageTraining,
    /// Add versions of the policy and the codes of conduct, and see who has not signed:
    /// [`crate::conduct::DOCUMENT_KEEPERS`].
    ManageDocuments,
    /// Record a class's paper sign-off of its code of conduct: teachers and the document keepers.
    RecordPaperSignOff,
    /// Record photo and video consent given, refused or withdrawn: the people administrators
    /// (the Headteacher, the data manager), who keep pupils' records.
    ManageConsents,
    /// See which pupils may be photographed for what (a teacher's class list before a trip):
    /// every member of staff.
    ViewConsents,
    /// Give, refuse or withdraw photo consent for one's own child, asked about
    /// [`Object::Child`]: a parent, for a pupil the school links to them.
    AnswerConsentForChild,
    /// Read the filtering and monitoring records: outside tools' checks, the annual reviews and
    /// their triggers ([`crate::filtering_review::FILTERING_READERS`]: governors too).
    ViewFilteringRecords,
    /// Record outside tools' checks, reviews, their actions and triggers
    /// ([`crate::filtering_review::FILTERING_KEEPERS`]).
    KeepFilteringRecords,
    /// Read the weekly monitoring report: the DSL, deputies and Headteacher, and, asked about
    /// [`Object::Queue`] with the profile's first point of contact as its team, that role too.
    ViewWeeklyReport,
    /// Run the filtering self-test and see its certificate and history: [`SELF_TESTERS`].
    RunFilterTest,
    /// Say "my password may be known to someone": every session of one's own account ends and
    /// a new password is needed before anything else. Anyone signed in, for themselves only:
    /// asked about [`Object::Person`] with their own id.
    ReportOwnPasswordKnown,
    /// Do the same to anyone's account (on their page): the Headteacher and the network
    /// manager, who look after sign-ins.
    ForcePasswordChange,
    /// Make a guest account (a visitor, a supply teacher) that ends by itself, asked about
    /// [`Object::Guests`]: the profile's `guests.created_by`.
    CreateGuest,
    /// Set leaving dates' checklists ticked, and see the open checklists: [`LEAVER_KEEPERS`].
    ManageLeavers,
    /// Export everything Palisade holds about one person for a subject access request, with
    /// other people's names redacted, asked about [`Object::Person`]:
    /// [`crate::subject_access::SUBJECT_ACCESS_OFFICERS`], never for themselves (their own
    /// request goes through the school like anyone's). Anyone else is not told the export
    /// exists (404).
    ExportSubjectAccess,
    /// Erase a person's records once the profile's retention has passed, asked about
    /// [`Object::Person`]: [`crate::subject_access::RECORD_ERASERS`], never their own.
    EraseRecords,
    /// See the daily backups' health (the last backup's time, whether it verified) and read
    /// the alert a missed or failed one raises: [`BACKUP_KEEPERS`].
    ViewBackups,
}

/// Who answers for the backups: the Headteacher, who answers for the school's records, and the
/// network manager, who keeps the server.
pub const BACKUP_KEEPERS: [Role; 2] = [Role::Headteacher, Role::NetworkManager];

/// Who works through leavers' checklists: the Headteacher, the data manager and the network
/// manager, who takes the devices back.
pub const LEAVER_KEEPERS: [Role; 3] = [Role::Headteacher, Role::DataManager, Role::NetworkManager];

/// Who runs the filtering self-test and reads its results: the Headteacher, the safeguarding
/// leads, the online safety coordinator and the network manager.
pub const SELF_TESTERS: [Role; 5] = [
    Role::Headteacher,
    Role::Dsl,
    Role::DeputyDsl,
    Role::OnlineSafetyCoordinator,
    Role::NetworkManager,
];

impl Action {
    /// Every action, for the permission table tests.
    pub const ALL: [Action; 48] = [
        Action::ReportConcern,
        Action::ListConcerns,
        Action::BrowseConcerns,
        Action::ViewConcernQueue,
        Action::ViewConcern,
        Action::ViewOwnReport,
        Action::TriageConcern,
        Action::AddConcernAction,
        Action::CloseConcern,
        Action::ReopenConcern,
        Action::ViewChronology,
        Action::ViewPeople,
        Action::ManagePeople,
        Action::ManageAccounts,
        Action::ImportPeople,
        Action::ViewAudit,
        Action::ViewAccessLog,
        Action::RequestReview,
        Action::ChangeFiltering,
        Action::HandleAlerts,
        Action::ManageDevices,
        Action::ManageSignIns,
        Action::ViewRoleChanges,
        Action::GrantRole,
        Action::RemoveRole,
        Action::DeactivateAccount,
        Action::ReactivateAccount,
        Action::ResetSecondFactor,
        Action::ManageOwnAccount,
        Action::ManageDataProcessors,
        Action::ViewPolicyReview,
        Action::ManageTraining,
        Action::ManageDocuments,
        Action::RecordPaperSignOff,
        Action::ManageConsents,
        Action::ViewConsents,
        Action::AnswerConsentForChild,
        Action::ViewFilteringRecords,
        Action::KeepFilteringRecords,
        Action::ViewWeeklyReport,
        Action::RunFilterTest,
        Action::ReportOwnPasswordKnown,
        Action::ForcePasswordChange,
        Action::CreateGuest,
        Action::ManageLeavers,
        Action::ExportSubjectAccess,
        Action::EraseRecords,
        Action::ViewBackups,
    ];

    /// Whether the action changes who holds which role (and needs [`Object::Roles`]).
    pub fn is_about_roles(self) -> bool {
        matches!(
            self,
            Action::GrantRole
                | Action::RemoveRole
                | Action::DeactivateAccount
                | Action::ReactivateAccount
                | Action::ResetSecondFactor
        )
    }

    /// Whether the action is about one concern (and needs [`Object::Concern`]).
    pub fn is_about_a_concern(self) -> bool {
        matches!(
            self,
            Action::ViewConcern
                | Action::ViewOwnReport
                | Action::TriageConcern
                | Action::AddConcernAction
                | Action::CloseConcern
                | Action::ReopenConcern
        )
    }
}

/// What a concern-level decision needs to know about the concern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcernFacts {
    /// The concern's id: a permit asked about it is for this concern only.
    pub id: i64,
    pub reporter: i64,
    pub subjects: Vec<i64>,
    /// Roles the concern was routed to when reported.
    pub audience: RoleSet,
    pub status: ConcernStatus,
}

/// What an action is done to.
#[derive(Debug, Clone, Copy)]
pub enum Object<'a> {
    /// The school as a whole (lists, directories, admin pages).
    School,
    /// One concern.
    Concern(&'a ConcernFacts),
    /// The alert inbox, with the profile's readers of each audience.
    Alerts(AlertReaders),
    /// One monitoring alert (by id), read by `readers` (its audience's), about the person
    /// `about` when one is known.
    Alert {
        id: i64,
        readers: RoleSet,
        about: Option<i64>,
    },
    /// One person's record or account (by id).
    Person(i64),
    /// The safeguarding queue, worked by `team` (the profile's `concerns.team`).
    Queue { team: RoleSet },
    /// The school's filtering, changed only by the roles its profile names (`changes_by`;
    /// when it names none, the network manager).
    Filtering { changes_by: &'a [Role] },
    /// One of the compliance registers, `kept` when the profile says the school keeps it.
    Register { kept: bool },
    /// Guest accounts, made by the roles the profile names (`guests.created_by`).
    Guests { created_by: &'a [Role] },
    /// A pupil, `own` when the school links them to the acting person as their child.
    Child { pupil: i64, own: bool },
    /// Roles given to, taken from, or (for deactivating and reactivating) held by the person
    /// `holder` (`None` for a person not created yet), with the profile's concern audiences,
    /// which say what each role reads.
    Roles {
        holder: Option<i64>,
        roles: RoleSet,
        audiences: Audiences,
    },
}

/// Who reads which concerns under the profile: the roles of each route's audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audiences {
    /// The general safeguarding queue: the team and the first point of contact.
    pub safeguarding: RoleSet,
    /// Concerns about staff and other adults in a position of trust.
    pub about_staff: RoleSet,
    /// Concerns about the Headteacher.
    pub about_headteacher: RoleSet,
}

/// Roles that are always safeguarding roles, whatever the profile routes to them.
const FIXED_SAFEGUARDING: [Role; 3] = [Role::Dsl, Role::DeputyDsl, Role::ChairOfGovernors];

impl Audiences {
    /// The safeguarding roles: the DSL, deputies and Chair of Governors always, and every role
    /// the profile makes the first point of contact, puts on the safeguarding team or sends
    /// concerns about the Headteacher to (a trust's safeguarding roles).
    pub fn safeguarding_roles(&self) -> RoleSet {
        let mut set = self.safeguarding.union(self.about_headteacher);
        for r in FIXED_SAFEGUARDING {
            set.insert(r);
        }
        set
    }

    /// Roles that read concerns: the safeguarding roles and every other audience (the
    /// Headteacher, for concerns about staff, in both seed profiles).
    pub fn concern_readers(&self) -> RoleSet {
        self.safeguarding_roles().union(self.about_staff)
    }

    /// What holding `roles` lets one see that is confidential: each route's concerns, the
    /// alerts, the chronologies, the access log and the audit trail.
    pub fn sight(&self, roles: RoleSet) -> Sight {
        let mut s = 0u8;
        let flags = [
            (
                roles.intersects(self.safeguarding),
                Sight::SAFEGUARDING_CONCERNS,
            ),
            (roles.intersects(self.about_staff), Sight::STAFF_CONCERNS),
            (
                roles.intersects(self.about_headteacher),
                Sight::HEAD_CONCERNS,
            ),
            (roles.intersects(self.safeguarding), Sight::ALERTS),
            (
                roles.any(|r| CHRONOLOGY_READERS.contains(&r)),
                Sight::CHRONOLOGY,
            ),
            (
                roles.any(|r| ACCESS_LOG_READERS.contains(&r)),
                Sight::ACCESS_LOG,
            ),
            (roles.any(|r| AUDITORS.contains(&r)), Sight::AUDIT),
        ];
        for (held, bit) in flags {
            if held {
                s |= bit;
            }
        }
        Sight(s)
    }
}

/// What a set of roles may see that is confidential (see [`Audiences::sight`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sight(u8);

impl Sight {
    const SAFEGUARDING_CONCERNS: u8 = 1;
    const STAFF_CONCERNS: u8 = 1 << 1;
    const HEAD_CONCERNS: u8 = 1 << 2;
    const ALERTS: u8 = 1 << 3;
    const CHRONOLOGY: u8 = 1 << 4;
    const ACCESS_LOG: u8 = 1 << 5;
    const AUDIT: u8 = 1 << 6;

    /// Whether everything `self` sees, `other` sees too.
    pub fn within(self, other: Sight) -> bool {
        self.0 & !other.0 == 0
    }
}

/// The answer of [`can`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Not allowed, and the thing's existence is not secret (403).
    Deny,
    /// Not allowed, and the thing's existence is itself confidential (404).
    Hide,
}

/// Roles that run the school's accounts and records of people.
const PEOPLE_ADMINS: [Role; 2] = [Role::Headteacher, Role::DataManager];
/// Roles that unlock accounts and watch failed sign-ins.
const SIGN_IN_ADMINS: [Role; 2] = [Role::Headteacher, Role::NetworkManager];
/// Roles that read the audit trail.
const AUDITORS: [Role; 2] = [Role::Headteacher, Role::Dsl];
/// Roles that read the filtering access log: safeguarding leads and the network manager.
const ACCESS_LOG_READERS: [Role; 5] = [
    Role::Headteacher,
    Role::Dsl,
    Role::DeputyDsl,
    Role::OnlineSafetyCoordinator,
    Role::NetworkManager,
];
/// Roles that read the weekly monitoring report whatever the profile says (its first point of
/// contact reads it too): the safeguarding leads and the Headteacher.
pub const WEEKLY_READERS: [Role; 3] = [Role::Dsl, Role::DeputyDsl, Role::Headteacher];
/// Roles that change what the filter allows when the profile names nobody, and that keep the
/// device register: the network manager runs the filtering.
const FILTER_ADMINS: [Role; 1] = [Role::NetworkManager];
/// Roles that may open a pupil's chronology.
const CHRONOLOGY_READERS: [Role; 4] = [
    Role::Headteacher,
    Role::Dsl,
    Role::DeputyDsl,
    Role::OnlineSafetyCoordinator,
];

fn holds_any(actor: &Actor, roles: &[Role]) -> bool {
    roles.iter().any(|r| actor.roles.contains(*r))
}

fn allow_if(ok: bool) -> Decision {
    if ok { Decision::Allow } else { Decision::Deny }
}

/// Decides whether `actor` may do `action` to `object`.
pub fn can(actor: &Actor, action: Action, object: Object<'_>) -> Decision {
    if actor.roles.is_empty() {
        return match object {
            Object::Concern(_) | Object::Register { kept: false } => Decision::Hide,
            Object::Register { kept: true } => Decision::Deny,
            Object::Alert { .. } => Decision::Hide,
            Object::School
            | Object::Alerts(_)
            | Object::Person(_)
            | Object::Queue { .. }
            | Object::Filtering { .. }
            | Object::Guests { .. }
            | Object::Child { .. }
            | Object::Roles { .. } => Decision::Deny,
        };
    }
    match (action, object) {
        (
            action,
            Object::Roles {
                holder,
                roles,
                audiences,
            },
        ) if action.is_about_roles() => {
            // Nobody switches their own account off, nor resets their own second factor.
            if matches!(
                action,
                Action::DeactivateAccount | Action::ResetSecondFactor
            ) && holder == Some(actor.person_id)
            {
                return Decision::Deny;
            }
            // Giving a role and switching an account back on are decided alike, and so are
            // taking a role and switching an account off.
            let each: fn(&Actor, Role, Option<i64>, &Audiences) -> Decision = match action {
                Action::GrantRole | Action::ReactivateAccount | Action::ResetSecondFactor => {
                    grant_decision
                }
                _ => remove_decision,
            };
            every_role(actor, roles, |r| each(actor, r, holder, &audiences))
        }
        // Changing roles needs the roles: without them there is no answer but no.
        (a, _) if a.is_about_roles() => Decision::Deny,
        (Action::ReportConcern | Action::ListConcerns | Action::RequestReview, _) => {
            Decision::Allow
        }
        (Action::ChangeFiltering, Object::Filtering { changes_by }) => {
            let named: &[Role] = if changes_by.is_empty() {
                &FILTER_ADMINS
            } else {
                changes_by
            };
            allow_if(holds_any(actor, named))
        }
        // Without the profile's rule there is no answer but no.
        (Action::ChangeFiltering, _) => Decision::Deny,
        (Action::ManageDevices, _) => allow_if(holds_any(actor, &FILTER_ADMINS)),
        (Action::ManageSignIns | Action::ForcePasswordChange, _) => {
            allow_if(holds_any(actor, &SIGN_IN_ADMINS))
        }
        (Action::HandleAlerts, Object::Alerts(readers)) => {
            allow_if(actor.roles.intersects(readers.any()))
        }
        (Action::HandleAlerts, Object::Alert { readers, about, .. }) => {
            if actor.roles.intersects(readers) && about != Some(actor.person_id) {
                Decision::Allow
            } else {
                Decision::Hide
            }
        }
        (Action::ViewChronology, _) => allow_if(holds_any(actor, &CHRONOLOGY_READERS)),
        (Action::ViewPeople, _) => allow_if(
            actor
                .roles
                .any(|r| r.is_staff() || matches!(r, Role::Governor | Role::ChairOfGovernors)),
        ),
        (Action::ManagePeople | Action::ManageAccounts, _) => {
            allow_if(holds_any(actor, &PEOPLE_ADMINS))
        }
        // An import gives its new people their roles: each must be one the importer may give.
        (
            Action::ImportPeople,
            Object::Roles {
                holder: None,
                roles,
                audiences,
            },
        ) => allow_if(
            holds_any(actor, &PEOPLE_ADMINS)
                && every_role(actor, roles, |r| grant_decision(actor, r, None, &audiences))
                    == Decision::Allow,
        ),
        (Action::ImportPeople, _) => allow_if(holds_any(actor, &PEOPLE_ADMINS)),
        (Action::ViewAudit, _) => allow_if(holds_any(actor, &AUDITORS)),
        (Action::ViewRoleChanges, _) => {
            allow_if(holds_any(actor, &AUDITORS) || actor.roles.contains(Role::ChairOfGovernors))
        }
        (Action::ViewAccessLog, _) => allow_if(holds_any(actor, &ACCESS_LOG_READERS)),
        (Action::ViewPolicyReview, _) => {
            allow_if(holds_any(actor, &crate::dashboard::POLICY_REVIEWERS))
        }
        (Action::ManageDataProcessors, Object::Register { kept: false }) => Decision::Hide,
        (Action::ManageDataProcessors, Object::Register { kept: true }) => {
            allow_if(holds_any(actor, &PEOPLE_ADMINS))
        }
        (Action::ManageOwnAccount | Action::ReportOwnPasswordKnown, Object::Person(id)) => {
            allow_if(id == actor.person_id)
        }
        (Action::ManageTraining, _) => allow_if(holds_any(actor, &crate::training::TRAINING_LEADS)),
        (Action::ManageDocuments, _) => {
            allow_if(holds_any(actor, &crate::conduct::DOCUMENT_KEEPERS))
        }
        (Action::RecordPaperSignOff, _) => allow_if(
            actor.roles.contains(Role::Teacher)
                || holds_any(actor, &crate::conduct::DOCUMENT_KEEPERS),
        ),
        (Action::ManageConsents, _) => allow_if(holds_any(actor, &PEOPLE_ADMINS)),
        (Action::ViewConsents, _) => allow_if(actor.roles.any(Role::is_staff)),
        (Action::AnswerConsentForChild, Object::Child { own, .. }) => {
            allow_if(own && actor.roles.contains(Role::Parent))
        }
        (Action::ViewFilteringRecords, _) => allow_if(holds_any(
            actor,
            &crate::filtering_review::FILTERING_READERS,
        )),
        (Action::KeepFilteringRecords, _) => allow_if(holds_any(
            actor,
            &crate::filtering_review::FILTERING_KEEPERS,
        )),
        (Action::ViewWeeklyReport, Object::Queue { team }) => {
            allow_if(holds_any(actor, &WEEKLY_READERS) || actor.roles.intersects(team))
        }
        (Action::ViewWeeklyReport, _) => allow_if(holds_any(actor, &WEEKLY_READERS)),
        (Action::RunFilterTest, _) => allow_if(holds_any(actor, &SELF_TESTERS)),
        (Action::CreateGuest, Object::Guests { created_by }) => {
            allow_if(holds_any(actor, created_by))
        }
        (Action::ManageLeavers, _) => allow_if(holds_any(actor, &LEAVER_KEEPERS)),
        (Action::ViewBackups, _) => allow_if(holds_any(actor, &BACKUP_KEEPERS)),
        // A person's records are confidential as a whole: who may not export or erase them is
        // not told whether the person exists (404), and nobody acts on their own.
        (Action::ExportSubjectAccess | Action::EraseRecords, Object::Person(id)) => {
            let holders: &[Role] = if action == Action::ExportSubjectAccess {
                &crate::subject_access::SUBJECT_ACCESS_OFFICERS
            } else {
                &crate::subject_access::RECORD_ERASERS
            };
            if id != actor.person_id && holds_any(actor, holders) {
                Decision::Allow
            } else {
                Decision::Hide
            }
        }
        (Action::BrowseConcerns, _) => allow_if(!actor.roles.contains(Role::Pupil)),
        (Action::ViewConcernQueue, Object::Queue { team }) => {
            allow_if(actor.roles.intersects(team))
        }
        (
            _,
            Object::School
            | Object::Alerts(_)
            | Object::Alert { .. }
            | Object::Person(_)
            | Object::Queue { .. }
            | Object::Filtering { .. }
            | Object::Register { .. }
            | Object::Guests { .. }
            | Object::Child { .. }
            | Object::Roles { .. },
        ) => Decision::Deny,
        (_, Object::Concern(c)) => concern_decision(actor, action, c),
    }
}

/// Allowed when `each` allows every role of the set; an empty set (a person with no roles) is
/// the people administrators' to change.
fn every_role(actor: &Actor, roles: RoleSet, each: impl Fn(Role) -> Decision) -> Decision {
    if roles.is_empty() {
        return allow_if(holds_any(actor, &PEOPLE_ADMINS));
    }
    allow_if(roles.iter().all(|r| each(r) == Decision::Allow))
}

/// Whether `actor` may give `role` to `holder` (`None`: a person being created).
///
/// - Nobody gives a role that sees anything confidential (a route's concerns, alerts,
///   chronologies, the access log, the audit trail) that the giver cannot see now: otherwise
///   they could read it through the account they made.
/// - A role that reads concerns (the safeguarding roles, and every other audience, such as the
///   Headteacher) is given only by a holder of a safeguarding role, and never to themselves.
///   So the Headteacher gives no Chair of Governors (who reads the concerns about the
///   Headteacher), and the Data Manager, who holds no safeguarding role, gives none.
/// - Any other role is given by the people administrators (the Headteacher, the Data Manager).
///
/// The server's operator bootstraps any role from the command line, outside this check.
pub fn grant_decision(
    actor: &Actor,
    role: Role,
    holder: Option<i64>,
    audiences: &Audiences,
) -> Decision {
    let sees_no_more = audiences
        .sight(RoleSet::of(role))
        .within(audiences.sight(actor.roles));
    allow_if(sees_no_more && may_change(actor, role, holder, audiences))
}

/// Whether `actor` may take `role` from `holder`.
///
/// A role that reads concerns is taken under the rule that gives it (a holder of a safeguarding
/// role, not from themselves, who sees everything the role sees), so that nobody outside the
/// safeguarding roles can take the DSL or the Chair of Governors away from the concerns; any
/// other role is taken by the people administrators.
pub fn remove_decision(
    actor: &Actor,
    role: Role,
    holder: Option<i64>,
    audiences: &Audiences,
) -> Decision {
    if audiences.concern_readers().contains(role) {
        grant_decision(actor, role, holder, audiences)
    } else {
        allow_if(may_change(actor, role, holder, audiences))
    }
}

/// Who may change `role` at all: a safeguarding role holder who is not the holder, for a role
/// that reads concerns; a people administrator, for any other.
fn may_change(actor: &Actor, role: Role, holder: Option<i64>, audiences: &Audiences) -> bool {
    if audiences.concern_readers().contains(role) {
        actor.roles.intersects(audiences.safeguarding_roles()) && holder != Some(actor.person_id)
    } else {
        holds_any(actor, &PEOPLE_ADMINS)
    }
}

fn concern_decision(actor: &Actor, action: Action, c: &ConcernFacts) -> Decision {
    let is_subject = c.subjects.contains(&actor.person_id);
    let is_reporter = c.reporter == actor.person_id;
    let on_team = actor.roles.intersects(c.audience) && !is_subject;
    match action {
        Action::ViewOwnReport if is_reporter => Decision::Allow,
        Action::ViewConcern | Action::TriageConcern | Action::AddConcernAction if on_team => {
            Decision::Allow
        }
        Action::CloseConcern if on_team => allow_if(c.status != ConcernStatus::Closed),
        Action::ReopenConcern if on_team => allow_if(c.status == ConcernStatus::Closed),
        // A reporter knows the concern exists, so refusing them is not a leak.
        _ if is_reporter || on_team => Decision::Deny,
        _ => Decision::Hide,
    }
}
