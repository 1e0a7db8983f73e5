//! Who an alert goes to. An alert about a pupil's traffic is safeguarding information for the
//! profile's first point of contact and safeguarding team; one about a member of staff's traffic
//! follows the profile's route for concerns about staff (the Headteacher), never the team; one
//! about Palisade itself (a monitoring gap, a failed filtering self-test) goes to the network
//! manager, who keeps the system, and to the team; a missed or failed backup goes to the
//! Headteacher and the network manager; and a concern left untriaged past the
//! profile's `triage_within_hours` is escalated to the profile's `escalate_to` roles and the team.

use crate::permissions::Audiences;
use crate::roles::{Role, RoleSet};
use serde::{Deserialize, Serialize};

/// Which readers an alert has, fixed when it is raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AlertAudience {
    /// About a pupil, a device or a visitor: the first point of contact and the team.
    #[default]
    Safeguarding,
    /// About a member of staff's traffic (a group the profile marks `staff = true`): the
    /// profile's `concerns.about_staff` route.
    Staff,
    /// About Palisade itself: the network manager and the team.
    System,
    /// A concern nobody triaged in time: the profile's `concerns.escalate_to` and the team.
    Escalation,
    /// About the Headteacher's own traffic: the profile's route for concerns about the
    /// Headteacher (the Chair of Governors), as the staff route is the Headteacher.
    AboutHeadteacher,
    /// A daily backup missed or failed: the Headteacher, who answers for the school's records,
    /// and the network manager, who keeps the server.
    Backup,
}

impl AlertAudience {
    /// Every audience, in the order pages list them.
    pub const ALL: [AlertAudience; 6] = [
        AlertAudience::Safeguarding,
        AlertAudience::Staff,
        AlertAudience::System,
        AlertAudience::Escalation,
        AlertAudience::AboutHeadteacher,
        AlertAudience::Backup,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertAudience::Safeguarding => "safeguarding",
            AlertAudience::Staff => "staff",
            AlertAudience::System => "system",
            AlertAudience::Escalation => "escalation",
            AlertAudience::AboutHeadteacher => "about_headteacher",
            AlertAudience::Backup => "backup",
        }
    }

    /// The audience of a stored name.
    pub fn parse(s: &str) -> Option<AlertAudience> {
        AlertAudience::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The audience of an alert about a person holding `roles`: a staff alert about the
    /// Headteacher goes to the route for the Headteacher, since the staff route is the
    /// Headteacher, who never reads alerts about themselves.
    pub fn for_subject(self, roles: RoleSet) -> AlertAudience {
        if self == AlertAudience::Staff && roles.contains(Role::Headteacher) {
            AlertAudience::AboutHeadteacher
        } else {
            self
        }
    }

    /// The audience of an alert about traffic in a group: staff groups' alerts follow the
    /// route for concerns about staff.
    pub fn of_group(staff_group: bool) -> AlertAudience {
        if staff_group {
            AlertAudience::Staff
        } else {
            AlertAudience::Safeguarding
        }
    }
}

/// The roles that read each audience's alerts under one profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertReaders {
    safeguarding: RoleSet,
    staff: RoleSet,
    system: RoleSet,
    escalation: RoleSet,
    about_headteacher: RoleSet,
    backup: RoleSet,
}

impl AlertReaders {
    /// The readers under the profile's concern audiences and its `escalate_to` roles.
    pub fn new(audiences: &Audiences, escalate_to: &[Role]) -> AlertReaders {
        let safeguarding = audiences.safeguarding;
        let mut system = safeguarding;
        system.insert(Role::NetworkManager);
        let escalation = safeguarding.union(escalate_to.iter().copied().collect());
        AlertReaders {
            safeguarding,
            staff: audiences.about_staff,
            system,
            escalation,
            about_headteacher: audiences.about_headteacher,
            backup: crate::permissions::BACKUP_KEEPERS.into_iter().collect(),
        }
    }

    /// The roles that read alerts of `audience`.
    pub fn of(&self, audience: AlertAudience) -> RoleSet {
        match audience {
            AlertAudience::Safeguarding => self.safeguarding,
            AlertAudience::Staff => self.staff,
            AlertAudience::System => self.system,
            AlertAudience::Escalation => self.escalation,
            AlertAudience::AboutHeadteacher => self.about_headteacher,
            AlertAudience::Backup => self.backup,
        }
    }

    /// The roles that read alerts of `audience`, as a list (for looking their holders up).
    pub fn roles_of(&self, audience: AlertAudience) -> Vec<Role> {
        self.of(audience).iter().collect()
    }

    /// Every role that reads some alert: who has the alert inbox.
    pub fn any(&self) -> RoleSet {
        AlertAudience::ALL
            .into_iter()
            .fold(RoleSet::default(), |set, a| set.union(self.of(a)))
    }

    /// The audiences whose alerts a holder of `roles` reads.
    pub fn visible_to(&self, roles: RoleSet) -> Vec<AlertAudience> {
        AlertAudience::ALL
            .into_iter()
            .filter(|a| roles.intersects(self.of(*a)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Profile;

    fn readers(profile: &str) -> AlertReaders {
        let path = format!(
            "{}/../../profiles/{profile}.toml",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        Profile::from_toml(&text, &path)
            .map(|p| p.concerns.alert_readers())
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn coleridges_online_safety_coordinator_reads_the_pupils_alerts_and_holts_dsl_does() {
        let coleridge = readers("coleridge");
        assert!(
            coleridge
                .of(AlertAudience::Safeguarding)
                .contains(Role::OnlineSafetyCoordinator)
        );
        let holt = readers("holt");
        assert!(holt.of(AlertAudience::Safeguarding).contains(Role::Dsl));
        assert!(
            !holt
                .of(AlertAudience::Safeguarding)
                .contains(Role::OnlineSafetyCoordinator)
        );
    }

    #[test]
    fn staff_alerts_go_to_the_headteacher_and_not_the_team() {
        for p in ["holt", "coleridge"] {
            let r = readers(p);
            let staff = r.of(AlertAudience::Staff);
            assert!(staff.contains(Role::Headteacher), "{p}");
            assert!(!staff.contains(Role::Dsl), "{p}");
            assert!(!staff.contains(Role::DeputyDsl), "{p}");
            assert!(
                !r.visible_to(RoleSet::of(Role::Dsl))
                    .contains(&AlertAudience::Staff)
            );
        }
    }

    #[test]
    fn system_alerts_reach_the_network_manager_and_escalations_the_head_and_deputies() {
        for p in ["holt", "coleridge"] {
            let r = readers(p);
            assert!(r.of(AlertAudience::System).contains(Role::NetworkManager));
            assert!(r.of(AlertAudience::System).contains(Role::Dsl));
            assert!(
                !r.of(AlertAudience::Safeguarding)
                    .contains(Role::NetworkManager)
            );
            let esc = r.of(AlertAudience::Escalation);
            assert!(
                esc.contains(Role::Headteacher) && esc.contains(Role::DeputyDsl),
                "{p}"
            );
            assert!(r.any().contains(Role::NetworkManager));
            assert!(!r.any().contains(Role::Teacher));
        }
    }

    #[test]
    fn a_staff_alert_about_the_headteacher_goes_to_the_chair_and_not_the_head() {
        for p in ["holt", "coleridge"] {
            let r = readers(p);
            let head = RoleSet::of(Role::Headteacher);
            let audience = AlertAudience::Staff.for_subject(head);
            assert_eq!(audience, AlertAudience::AboutHeadteacher);
            assert!(r.of(audience).contains(Role::ChairOfGovernors), "{p}");
            assert!(!r.of(audience).contains(Role::Headteacher), "{p}");
            // Anyone else's staff alert, and a pupil's alert, keep their audience.
            let teacher = RoleSet::of(Role::Teacher);
            assert_eq!(
                AlertAudience::Staff.for_subject(teacher),
                AlertAudience::Staff
            );
            assert_eq!(
                AlertAudience::Safeguarding.for_subject(head),
                AlertAudience::Safeguarding
            );
        }
    }

    #[test]
    fn audiences_round_trip_their_stored_names() {
        for a in AlertAudience::ALL {
            assert_eq!(AlertAudience::parse(a.as_str()), Some(a));
        }
        assert_eq!(AlertAudience::parse("everyone"), None);
    }
}
