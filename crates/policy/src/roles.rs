//! The roles of a school community (SPEC section 1) and small sets of them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A role a person holds in the school. One account may hold several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Headteacher,
    Dsl,
    DeputyDsl,
    OnlineSafetyCoordinator,
    NetworkManager,
    DataManager,
    Teacher,
    Staff,
    Governor,
    ChairOfGovernors,
    Pupil,
    Parent,
    Visitor,
}

impl Role {
    /// Every role, in a stable order (used by the permission table tests and the UI).
    pub const ALL: [Role; 13] = [
        Role::Headteacher,
        Role::Dsl,
        Role::DeputyDsl,
        Role::OnlineSafetyCoordinator,
        Role::NetworkManager,
        Role::DataManager,
        Role::Teacher,
        Role::Staff,
        Role::Governor,
        Role::ChairOfGovernors,
        Role::Pupil,
        Role::Parent,
        Role::Visitor,
    ];

    /// The identifier used in profiles, the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Headteacher => "headteacher",
            Role::Dsl => "dsl",
            Role::DeputyDsl => "deputy_dsl",
            Role::OnlineSafetyCoordinator => "online_safety_coordinator",
            Role::NetworkManager => "network_manager",
            Role::DataManager => "data_manager",
            Role::Teacher => "teacher",
            Role::Staff => "staff",
            Role::Governor => "governor",
            Role::ChairOfGovernors => "chair_of_governors",
            Role::Pupil => "pupil",
            Role::Parent => "parent",
            Role::Visitor => "visitor",
        }
    }

    /// Parses the identifier written by [`Role::as_str`].
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The title used when a profile gives none.
    pub fn default_title(self) -> &'static str {
        match self {
            Role::Headteacher => "Headteacher",
            Role::Dsl => "Designated Safeguarding Lead",
            Role::DeputyDsl => "Deputy Designated Safeguarding Lead",
            Role::OnlineSafetyCoordinator => "Online Safety Coordinator",
            Role::NetworkManager => "Network Manager",
            Role::DataManager => "Data Manager",
            Role::Teacher => "Teacher",
            Role::Staff => "Staff, volunteer or contractor",
            Role::Governor => "Governor",
            Role::ChairOfGovernors => "Chair of Governors",
            Role::Pupil => "Pupil",
            Role::Parent => "Parent or carer",
            Role::Visitor => "Visitor",
        }
    }

    /// Adults who work in or govern the school: a concern about one of them is an allegation
    /// against an adult and leaves the general safeguarding queue.
    pub fn is_adult_in_position_of_trust(self) -> bool {
        !matches!(self, Role::Pupil | Role::Parent)
    }

    /// Employed or volunteering staff (not governors, pupils, parents or visitors).
    pub fn is_staff(self) -> bool {
        matches!(
            self,
            Role::Headteacher
                | Role::Dsl
                | Role::DeputyDsl
                | Role::OnlineSafetyCoordinator
                | Role::NetworkManager
                | Role::DataManager
                | Role::Teacher
                | Role::Staff
        )
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of roles, stored as a bitset so that checks are cheap and copies are free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RoleSet(u16);

impl RoleSet {
    /// The empty set.
    pub const EMPTY: RoleSet = RoleSet(0);

    /// A set holding one role.
    pub fn of(role: Role) -> RoleSet {
        RoleSet(role.bit())
    }

    /// Whether `role` is in the set.
    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// Adds `role`.
    pub fn insert(&mut self, role: Role) {
        self.0 |= role.bit();
    }

    /// Whether the two sets share a role.
    pub fn intersects(self, other: RoleSet) -> bool {
        self.0 & other.0 != 0
    }

    /// The roles in either set.
    pub fn union(self, other: RoleSet) -> RoleSet {
        RoleSet(self.0 | other.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether any role in the set satisfies `f`.
    pub fn any(self, f: impl Fn(Role) -> bool) -> bool {
        self.iter().any(f)
    }

    /// The roles in the set, in [`Role::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    /// The roles as a comma-separated list of identifiers (the database form).
    pub fn to_csv(self) -> String {
        self.iter().map(Role::as_str).collect::<Vec<_>>().join(",")
    }

    /// Parses the form written by [`RoleSet::to_csv`]; returns the unknown identifier on error.
    pub fn from_csv(s: &str) -> Result<RoleSet, String> {
        let mut set = RoleSet::EMPTY;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            set.insert(Role::parse(part).ok_or_else(|| part.to_string())?);
        }
        Ok(set)
    }
}

impl FromIterator<Role> for RoleSet {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        let mut set = RoleSet::EMPTY;
        for r in iter {
            set.insert(r);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_identifier() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("admin"), None);
    }

    #[test]
    fn role_sets_round_trip_through_csv() {
        let set: RoleSet = [Role::Headteacher, Role::Dsl].into_iter().collect();
        assert_eq!(set.to_csv(), "headteacher,dsl");
        assert_eq!(RoleSet::from_csv("headteacher, dsl"), Ok(set));
        assert_eq!(RoleSet::from_csv("dsl,wizard"), Err("wizard".into()));
    }
}
