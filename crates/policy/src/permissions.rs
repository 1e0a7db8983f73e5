//! The one permission check: [`can`] decides every action of every role.
//!
//! Concerns are confidential: where a person may not see one, the answer is
//! [`Decision::Hide`] (the web answers 404) so that its existence is not revealed.

use crate::concern::ConcernStatus;
use crate::roles::{Role, RoleSet};

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
    /// See the monitoring alerts about pupils and act on them (acknowledge, dismiss). Pupils'
    /// alerts are safeguarding information: the safeguarding leads only.
    HandleAlerts,
    /// See and change the device register (which device is at which address, who holds it,
    /// its filtering group): the network manager.
    ManageDevices,
    /// Unlock an account locked by failed sign-ins, and see the failed sign-ins (by name and
    /// source address): the Headteacher and the network manager.
    ManageSignIns,
}

impl Action {
    /// Every action, for the permission table tests.
    pub const ALL: [Action; 19] = [
        Action::ReportConcern,
        Action::ListConcerns,
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
        Action::ViewAudit,
        Action::ViewAccessLog,
        Action::RequestReview,
        Action::ChangeFiltering,
        Action::HandleAlerts,
        Action::ManageDevices,
        Action::ManageSignIns,
    ];

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
    /// The school's filtering, changed only by the roles its profile names (`changes_by`;
    /// when it names none, the network manager).
    Filtering { changes_by: &'a [Role] },
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
/// Roles that see and handle monitoring alerts: the designated safeguarding leads.
const ALERT_HANDLERS: [Role; 2] = [Role::Dsl, Role::DeputyDsl];
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
            Object::Concern(_) => Decision::Hide,
            Object::School | Object::Filtering { .. } => Decision::Deny,
        };
    }
    match (action, object) {
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
        (Action::ManageSignIns, _) => allow_if(holds_any(actor, &SIGN_IN_ADMINS)),
        (Action::HandleAlerts, _) => allow_if(holds_any(actor, &ALERT_HANDLERS)),
        (Action::ViewChronology, _) => allow_if(holds_any(actor, &CHRONOLOGY_READERS)),
        (Action::ViewPeople, _) => allow_if(
            actor
                .roles
                .any(|r| r.is_staff() || matches!(r, Role::Governor | Role::ChairOfGovernors)),
        ),
        (Action::ManagePeople | Action::ManageAccounts, _) => {
            allow_if(holds_any(actor, &PEOPLE_ADMINS))
        }
        (Action::ViewAudit, _) => allow_if(holds_any(actor, &AUDITORS)),
        (Action::ViewAccessLog, _) => allow_if(holds_any(actor, &ACCESS_LOG_READERS)),
        (_, Object::School | Object::Filtering { .. }) => Decision::Deny,
        (_, Object::Concern(c)) => concern_decision(actor, action, c),
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

/// Proof that [`can`] allowed an action; repository functions that change things take one,
/// so a handler cannot forget the check.
#[derive(Debug, Clone, Copy)]
pub struct Permit {
    action: Action,
    actor: Actor,
}

impl Permit {
    /// The action that was allowed.
    pub fn action(&self) -> Action {
        self.action
    }

    /// Who was allowed.
    pub fn actor(&self) -> Actor {
        self.actor
    }
}

/// Asks [`can`] and returns a [`Permit`] when allowed, or the refusal.
pub fn permit(actor: &Actor, action: Action, object: Object<'_>) -> Result<Permit, Decision> {
    match can(actor, action, object) {
        Decision::Allow => Ok(Permit {
            action,
            actor: *actor,
        }),
        refusal => Err(refusal),
    }
}
