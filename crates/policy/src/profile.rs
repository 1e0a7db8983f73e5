//! A school's Online Safety Policy as a typed TOML profile.
//!
//! Parsing is two steps: serde (unknown keys and wrong types are rejected with the line and
//! column) and [`Profile::validate`] (cross-references, named by their dotted key).

pub mod filtering;
pub mod monitoring;
pub mod network;

use crate::roles::Role;
use crate::{PolicyError, ProfileProblem};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub use crate::conduct::{CodeOfConduct, StaffConductRule};
pub use crate::consent::{ConsentPolicy, ConsentRenewal};
pub use filtering::FilteringPolicy;

/// One school's policy, as loaded from its profile file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub school: School,
    pub policy: PolicyDocument,
    /// Role titles and named holders, keyed by role.
    #[serde(default)]
    pub roles: BTreeMap<Role, RoleEntry>,
    pub concerns: ConcernPolicy,
    pub passwords: PasswordPolicy,
    #[serde(default)]
    pub consent: ConsentPolicy,
    #[serde(default)]
    pub code_of_conduct: CodeOfConduct,
    #[serde(default)]
    pub registers: Registers,
    /// The training register's courses (`[[training]]`).
    #[serde(default)]
    pub training: Vec<crate::training::Course>,
    #[serde(default)]
    pub filtering: FilteringPolicy,
    /// Client addresses to filtering groups, and the DNS gateway (absent: no gateway).
    #[serde(default)]
    pub network: Option<network::NetworkPolicy>,
    /// Which filtering events become alerts for the safeguarding team.
    #[serde(default)]
    pub monitoring: monitoring::MonitoringPolicy,
    /// Guest accounts that end by themselves (`[guests]`).
    #[serde(default)]
    pub guests: crate::leavers::GuestPolicy,
    /// What a leaver hands over before the accounts close (`[leavers]`).
    #[serde(default)]
    pub leavers: crate::leavers::LeaverPolicy,
    /// How long records are kept after a person leaves (`[retention]`).
    #[serde(default)]
    pub retention: crate::retention::RetentionPolicy,
    /// The daily encrypted backup `serve` makes (`[backup]`; absent: none).
    #[serde(default)]
    pub backup: Option<crate::backup::BackupPolicy>,
    /// Sign-in with the school's accounts, and who may still use a password (`[sign_in]`).
    #[serde(default)]
    pub sign_in: crate::sign_in::SignInPolicy,
}

/// Who the school is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct School {
    pub name: String,
    /// The local authority, named on a concern that needs a referral to its Local Authority
    /// Designated Officer (LADO).
    #[serde(default)]
    pub local_authority: Option<String>,
}

/// The written policy's own dates and owners.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    pub title: String,
    pub version: String,
    /// When this version was written or revised.
    pub written: toml::value::Datetime,
    #[serde(default)]
    pub revised_by: Option<String>,
    #[serde(default)]
    pub approved_by_governors: Option<toml::value::Datetime>,
    pub next_review: toml::value::Datetime,
    /// A group that reviews the policy (e.g. Holt's Online Safety Group).
    #[serde(default)]
    pub review_group: Option<String>,
    /// How long a new version of a policy or code runs before its review, when the version
    /// does not give its own date.
    #[serde(default)]
    pub review_every_months: Option<u32>,
}

/// A role's title in this school and who holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleEntry {
    pub title: String,
    /// The usernames of the people the policy names as holding this role: `palisade policy
    /// check --database-url` and the roles register name any who is not a person holding it.
    #[serde(default)]
    pub holders: Vec<String>,
    /// What the policy says this role must do, for the generated policy document.
    #[serde(default)]
    pub responsibilities: Vec<String>,
}

/// How concerns are reported, routed and handled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcernPolicy {
    /// The role that receives and triages every concern about a pupil.
    pub first_contact: Role,
    /// Roles that see the general safeguarding queue (must include `first_contact`).
    pub team: Vec<Role>,
    /// Hours a new concern may wait for triage; after them it shows as overdue on the
    /// concern lists, the home page and the trust's table of schools.
    #[serde(default = "default_triage_hours")]
    pub triage_within_hours: u32,
    /// Roles told, by an alert and its mail, when a concern has waited past
    /// `triage_within_hours` without being triaged (besides the team, who already see it).
    #[serde(default = "default_escalate_to")]
    pub escalate_to: Vec<Role>,
    pub about_staff: Escalation,
    pub about_headteacher: Escalation,
    /// Where a concern goes when everyone its route names is one of its subjects (the
    /// Headteacher and the Chair of Governors both named); without it such a concern is refused.
    #[serde(default)]
    pub fallback: Option<Escalation>,
    pub categories: Vec<Category>,
    pub sanctions: Vec<Sanction>,
    /// Largest attachment, in bytes.
    #[serde(default = "default_attachment_bytes")]
    pub max_attachment_bytes: u64,
}

impl ConcernPolicy {
    /// Whether a concern in `status`, reported at `reported`, has waited past the profile's
    /// `triage_within_hours` at `now` without being triaged.
    pub fn triage_overdue(
        &self,
        status: crate::ConcernStatus,
        reported: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        status == crate::ConcernStatus::New
            && now - reported >= chrono::TimeDelta::hours(i64::from(self.triage_within_hours))
    }

    /// Who reads which alerts under this profile.
    pub fn alert_readers(&self) -> crate::alerts::AlertReaders {
        crate::alerts::AlertReaders::new(&self.audiences(), &self.escalate_to)
    }

    /// The roles each route's concerns go to, for deciding who may give which role.
    pub fn audiences(&self) -> crate::permissions::Audiences {
        let mut safeguarding: crate::RoleSet = self.team.iter().copied().collect();
        safeguarding.insert(self.first_contact);
        crate::permissions::Audiences {
            safeguarding,
            about_staff: self.about_staff.route_to.iter().copied().collect(),
            about_headteacher: self.about_headteacher.route_to.iter().copied().collect(),
        }
    }
}

fn default_escalate_to() -> Vec<Role> {
    vec![Role::DeputyDsl, Role::Headteacher]
}

fn default_triage_hours() -> u32 {
    8
}

fn default_attachment_bytes() -> u64 {
    10 * 1024 * 1024
}

/// Where a concern about an adult goes instead of the general queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// Roles that see and handle such a concern.
    pub route_to: Vec<Role>,
    /// Whether a referral to the Local Authority Designated Officer must be recorded before
    /// the concern can be closed.
    #[serde(default)]
    pub lado_required: bool,
}

/// A concern category from the policy's content / contact / conduct / commerce lists.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// `area.name`, e.g. `contact.online_bullying`.
    pub id: String,
    /// The policy's wording, shown to staff.
    pub label: String,
    /// Short, age-appropriate wording for the pupil form.
    pub pupil_label: String,
}

impl Category {
    /// The risk area: content, contact, conduct or commerce.
    pub fn area(&self) -> &str {
        self.id.split('.').next().unwrap_or_default()
    }
}

/// The risk areas of the seeds.
pub const CATEGORY_AREAS: [&str; 4] = ["content", "contact", "conduct", "commerce"];

/// One step of the school's range of sanctions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sanction {
    pub id: String,
    pub label: String,
}

/// Password and lockout rules.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicy {
    pub min_length: usize,
    #[serde(default = "default_lockout_attempts")]
    pub lockout_attempts: u32,
    #[serde(default = "default_lockout_minutes")]
    pub lockout_minutes: u32,
    /// Staff must change their password this often; absent means no rotation.
    #[serde(default)]
    pub staff_rotation_days: Option<u32>,
    /// Systems the rotation applies to, for the policy document (e.g. network, MIS).
    #[serde(default)]
    pub rotation_applies_to: Vec<String>,
    /// A web session unused this long ends (sign in again); 30 minutes unless the profile says.
    #[serde(default = "default_session_idle_minutes")]
    pub session_idle_minutes: u32,
    /// Roles whose holders must sign in to the web app with a second factor (TOTP) as well as
    /// their password: until they have enrolled one they reach only the page that enrols it.
    #[serde(default)]
    pub totp_required_for: Vec<Role>,
}

impl PasswordPolicy {
    /// Whether holding `roles` requires a second factor at sign-in.
    pub fn totp_required(&self, roles: crate::RoleSet) -> bool {
        self.totp_required_for.iter().any(|r| roles.contains(*r))
    }
}

fn default_session_idle_minutes() -> u32 {
    30
}

fn default_lockout_attempts() -> u32 {
    5
}

fn default_lockout_minutes() -> u32 {
    15
}

/// Compliance registers this school keeps beyond the common ones.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Registers {
    /// The data processors register (Coleridge: "All ongoing data sharing relationships with
    /// third parties (Data Processors) are recorded"); without it the register does not exist.
    #[serde(default)]
    pub data_processors: bool,
    /// The role of the member of the senior leadership team responsible for filtering and
    /// monitoring, as the DfE's filtering and monitoring standards require one: shown on the
    /// roles register, and on the leaders' dashboards while nobody holds it.
    #[serde(default)]
    pub filtering_senior_leader: Option<Role>,
    /// The role of the governor responsible for filtering and monitoring (the same standard).
    #[serde(default)]
    pub filtering_governor: Option<Role>,
}

impl Registers {
    /// The DfE's filtering and monitoring duties the profile gives to roles: (role, what).
    pub fn filtering_duties(&self) -> Vec<(Role, &'static str)> {
        let mut out = Vec::new();
        if let Some(r) = self.filtering_senior_leader {
            out.push((
                r,
                "Senior leader responsible for filtering and monitoring (DfE standard)",
            ));
        }
        if let Some(r) = self.filtering_governor {
            out.push((
                r,
                "Governor responsible for filtering and monitoring (DfE standard)",
            ));
        }
        out
    }
}

/// Parses TOML into `T` and checks it with `validate`; errors name `source` and, for the
/// schema, the line and key, for the checks, each key that is wrong.
pub(crate) fn parse_checked<T: serde::de::DeserializeOwned>(
    text: &str,
    source: &str,
    validate: impl Fn(&T) -> Vec<ProfileProblem>,
) -> Result<T, PolicyError> {
    let value: T = toml::from_str(text).map_err(|e| PolicyError::ProfileSyntax {
        source_name: source.to_string(),
        message: e.to_string(),
    })?;
    let problems = validate(&value);
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(PolicyError::ProfileInvalid {
            source_name: source.to_string(),
            problems,
        })
    }
}

impl Profile {
    /// Parses and validates a profile; `source` names the file in error messages.
    pub fn from_toml(text: &str, source: &str) -> Result<Profile, PolicyError> {
        parse_checked(text, source, Profile::validate)
    }

    /// Checks every cross-reference; returns each problem with the key it is about.
    pub fn validate(&self) -> Vec<ProfileProblem> {
        let mut out = Vec::new();
        let mut problem = |key: &str, message: String| {
            out.push(ProfileProblem {
                key: key.to_string(),
                message,
            })
        };
        if self.school.name.trim().is_empty() {
            problem("school.name", "must not be empty".into());
        }
        for p in self.sign_in.validate() {
            problem(&p.key, p.message);
        }
        if let Some(g) = &self.guests.group
            && !self.filtering.group_names().contains(&g.as_str())
        {
            problem(
                "guests.group",
                format!("`{g}` is not one of filtering.groups"),
            );
        }
        if !(1..=crate::leavers::MAX_GUEST_HOURS).contains(&self.guests.max_hours) {
            problem(
                "guests.max_hours",
                format!("must be 1 to {}", crate::leavers::MAX_GUEST_HOURS),
            );
        }
        if self.guests.created_by.is_empty() {
            problem("guests.created_by", "name at least one role".into());
        }
        for (i, item) in self.leavers.checklist.iter().enumerate() {
            if item.trim().is_empty() || item.chars().count() > 200 {
                problem(
                    &format!("leavers.checklist[{i}]"),
                    "must be 1 to 200 characters".into(),
                );
            }
        }
        let written = date_of(&self.policy.written);
        let review = date_of(&self.policy.next_review);
        match (written, review) {
            (None, _) => problem("policy.written", "must be a date like 2023-05-17".into()),
            (_, None) => problem(
                "policy.next_review",
                "must be a date like 2025-07-01".into(),
            ),
            (Some(w), Some(r)) if r <= w => problem(
                "policy.next_review",
                format!("{r} is not after policy.written ({w})"),
            ),
            _ => {}
        }
        if let Some(a) = &self.policy.approved_by_governors
            && date_of(a).is_none()
        {
            problem(
                "policy.approved_by_governors",
                "must be a date like 2023-05-17".into(),
            );
        }
        let c = &self.concerns;
        if !c.team.contains(&c.first_contact) {
            problem(
                "concerns.team",
                format!(
                    "must include concerns.first_contact (`{}`)",
                    c.first_contact
                ),
            );
        }
        for (key, roles) in [
            ("concerns.team", &c.team),
            ("concerns.about_staff.route_to", &c.about_staff.route_to),
            (
                "concerns.about_headteacher.route_to",
                &c.about_headteacher.route_to,
            ),
        ] {
            if roles.is_empty() {
                problem(key, "must name at least one role".into());
            }
            if let Some(r) = roles.iter().find(|r| !r.is_adult_in_position_of_trust()) {
                problem(key, format!("`{r}` may not see safeguarding concerns"));
            }
        }
        if let Some(f) = &c.fallback {
            let key = "concerns.fallback.route_to";
            if f.route_to.is_empty() {
                problem(key, "must name at least one role".into());
            }
            if let Some(r) = f
                .route_to
                .iter()
                .find(|r| !r.is_adult_in_position_of_trust())
            {
                problem(key, format!("`{r}` may not see safeguarding concerns"));
            }
            if let Some(r) = f
                .route_to
                .iter()
                .find(|r| **r == Role::Headteacher || c.about_headteacher.route_to.contains(*r))
            {
                problem(
                    key,
                    format!(
                        "must not include `{r}`: the fallback is for when the headteacher and \
                         concerns.about_headteacher.route_to are the subjects"
                    ),
                );
            }
        }
        if c.about_headteacher.route_to.contains(&Role::Headteacher) {
            problem(
                "concerns.about_headteacher.route_to",
                "must not include the headteacher, who is the subject".into(),
            );
        }
        if c.categories.is_empty() {
            problem(
                "concerns.categories",
                "must list at least one category".into(),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, cat) in c.categories.iter().enumerate() {
            let key = format!("concerns.categories[{i}].id");
            let parts: Vec<&str> = cat.id.split('.').collect();
            if parts.len() != 2 || !CATEGORY_AREAS.contains(&parts[0]) || !is_identifier(parts[1]) {
                problem(
                    &key,
                    format!(
                        "`{}` must be `area.name` with area one of {} and name in a-z, 0-9, _",
                        cat.id,
                        CATEGORY_AREAS.join(", ")
                    ),
                );
            }
            if !seen.insert(cat.id.as_str()) {
                problem(&key, format!("`{}` is listed twice", cat.id));
            }
            if cat.label.trim().is_empty() || cat.pupil_label.trim().is_empty() {
                problem(
                    &format!("concerns.categories[{i}]"),
                    "label and pupil_label must not be empty".into(),
                );
            }
        }
        let mut seen = BTreeSet::new();
        for (i, s) in c.sanctions.iter().enumerate() {
            if !is_identifier(&s.id) {
                problem(
                    &format!("concerns.sanctions[{i}].id"),
                    format!("`{}` must be in a-z, 0-9, _", s.id),
                );
            }
            if !seen.insert(s.id.as_str()) {
                problem(
                    &format!("concerns.sanctions[{i}].id"),
                    format!("`{}` is listed twice", s.id),
                );
            }
        }
        if c.triage_within_hours == 0 || c.triage_within_hours > 24 * 14 {
            problem(
                "concerns.triage_within_hours",
                format!(
                    "{} must be between 1 and 336 (two weeks)",
                    c.triage_within_hours
                ),
            );
        }
        if c.max_attachment_bytes == 0 || c.max_attachment_bytes > 100 * 1024 * 1024 {
            problem(
                "concerns.max_attachment_bytes",
                "must be between 1 byte and 100 MiB".into(),
            );
        }
        let r = &self.registers;
        if let Some(role) = r.filtering_senior_leader
            && !matches!(
                role,
                Role::Headteacher | Role::Dsl | Role::DeputyDsl | Role::OnlineSafetyCoordinator
            )
        {
            problem(
                "registers.filtering_senior_leader",
                format!("`{role}` is not a senior leader's role"),
            );
        }
        if let Some(role) = r.filtering_governor
            && !matches!(role, Role::Governor | Role::ChairOfGovernors)
        {
            problem(
                "registers.filtering_governor",
                format!("`{role}` is not a governor's role"),
            );
        }
        let p = &self.passwords;
        if p.min_length < 8 {
            problem(
                "passwords.min_length",
                format!("{} is too short; at least 8", p.min_length),
            );
        }
        if p.lockout_attempts == 0 {
            problem("passwords.lockout_attempts", "must be at least 1".into());
        }
        if p.lockout_minutes == 0 {
            problem("passwords.lockout_minutes", "must be at least 1".into());
        }
        if p.session_idle_minutes == 0 || p.session_idle_minutes > 8 * 60 {
            problem(
                "passwords.session_idle_minutes",
                format!(
                    "{} is out of range; between 1 and 480 (a session lasts 8 hours at most)",
                    p.session_idle_minutes
                ),
            );
        }
        let mut required = BTreeSet::new();
        for (i, role) in p.totp_required_for.iter().enumerate() {
            let key = format!("passwords.totp_required_for[{i}]");
            if !required.insert(*role) {
                problem(&key, format!("`{role}` is listed twice"));
            }
            if *role == Role::Pupil {
                problem(
                    &key,
                    "`pupil` cannot be required to use a second factor: pupils sign in with a \
                     password alone"
                        .into(),
                );
            }
        }
        if p.staff_rotation_days == Some(0) {
            problem(
                "passwords.staff_rotation_days",
                "must be at least 1 (leave it out for no rotation)".into(),
            );
        }
        if self
            .policy
            .review_every_months
            .is_some_and(|m| m == 0 || m > 120)
        {
            problem(
                "policy.review_every_months",
                "must be 1 to 120 months".into(),
            );
        }
        out.extend(self.filtering.validate());
        out.extend(self.monitoring.validate());
        out.extend(self.consent.problems());
        out.extend(self.retention.problems());
        if let Some(backup) = &self.backup {
            out.extend(backup.problems());
        }
        out.extend(crate::training::problems(&self.training));
        if let Some(network) = &self.network {
            out.extend(network.validate(
                &self.filtering.group_names(),
                &self.filtering.pupil_group_names(),
            ));
        }
        out
    }

    /// The school's title for `role`.
    pub fn role_title(&self, role: Role) -> &str {
        self.roles
            .get(&role)
            .map(|e| e.title.as_str())
            .unwrap_or(role.default_title())
    }

    /// The category with this id, if the profile has it.
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.concerns.categories.iter().find(|c| c.id == id)
    }

    /// The sanction with this id, if the profile has it.
    pub fn sanction(&self, id: &str) -> Option<&Sanction> {
        self.concerns.sanctions.iter().find(|s| s.id == id)
    }

    /// The date of the next policy review.
    pub fn next_review(&self) -> Option<NaiveDate> {
        date_of(&self.policy.next_review)
    }
}

/// The calendar date of a TOML date (or the date part of a date-time).
pub fn date_of(d: &toml::value::Datetime) -> Option<NaiveDate> {
    let date = d.date?;
    NaiveDate::from_ymd_opt(
        i32::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    )
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
