//! Permits: proof that [`can`] allowed an action on an object, for the one object it was asked
//! about ([`Target`]).

use super::{Action, Actor, Decision, Object, can};
use crate::roles::RoleSet;

/// What a [`Permit`] was given for: its [`Object`] without the facts that decided it, so that
/// a permit asked about one concern, alert, person or set of roles is not spent on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The school as a whole (a new concern, a device, a review request, the directories).
    School,
    /// One concern, by id.
    Concern(i64),
    /// One alert, by id.
    Alert(i64),
    /// One person, by id.
    Person(i64),
    /// The school's filtering.
    Filtering,
    /// Changing `roles` of `holder` (`None`: a person being created).
    Roles { holder: Option<i64>, roles: RoleSet },
}

impl Object<'_> {
    /// What a permit for this object covers.
    pub fn target(&self) -> Target {
        match *self {
            // The queue is only ever looked at: nothing is changed with a permit for it.
            Object::School | Object::Queue { .. } | Object::Alerts(_) => Target::School,
            Object::Concern(c) => Target::Concern(c.id),
            Object::Alert { id, .. } => Target::Alert(id),
            Object::Person(id) => Target::Person(id),
            Object::Filtering { .. } => Target::Filtering,
            Object::Register { .. } | Object::Guests { .. } => Target::School,
            Object::Child { pupil, .. } => Target::Person(pupil),
            Object::Roles { holder, roles, .. } => Target::Roles { holder, roles },
        }
    }
}

/// Proof that [`can`] allowed an action on an object; repository functions that change things
/// take one and check that it [`covers`](Permit::covers) what they change, so a handler can
/// neither forget the check nor spend a permit for one thing on another. Made only here: by
/// [`permit`], or for the server's operator by [`Permit::for_operator`].
#[derive(Debug, Clone, Copy)]
pub struct Permit {
    action: Action,
    actor: Actor,
    operator: bool,
    target: Target,
}

impl Permit {
    /// A permit for the server's operator at the command line (`palisade user add`, the
    /// demo's seed), who bootstraps any role and acts on any object: the web never makes one.
    pub fn for_operator(action: Action) -> Permit {
        Permit {
            action,
            actor: Actor {
                person_id: 0,
                roles: RoleSet::EMPTY,
            },
            operator: true,
            target: Target::School,
        }
    }

    /// Whether the permit covers doing `action` to `target`: the same action, and (but for
    /// the operator's, which covers any object) the object it was asked about. For
    /// [`Target::Roles`], the same person and only roles within those it was asked about.
    pub fn covers(&self, action: Action, target: Target) -> bool {
        if action != self.action {
            return false;
        }
        if self.operator {
            return true;
        }
        match (self.target, target) {
            (
                Target::Roles {
                    holder: h,
                    roles: asked,
                },
                Target::Roles { holder, roles },
            ) => h == holder && roles.iter().all(|r| asked.contains(r)),
            (mine, asked) => mine == asked,
        }
    }

    /// Whether the permit is the operator's (made at the command line, acting for nobody).
    pub fn is_operator(&self) -> bool {
        self.operator
    }

    /// Who acted, for the audit trail: `None` for the operator.
    pub fn actor_id(&self) -> Option<i64> {
        (!self.operator).then_some(self.actor.person_id)
    }

    /// The action that was allowed.
    pub fn action(&self) -> Action {
        self.action
    }

    /// What the action was allowed on.
    pub fn target(&self) -> Target {
        self.target
    }

    /// Who was allowed.
    pub fn actor(&self) -> Actor {
        self.actor
    }
}

/// Asks [`can`] and returns a [`Permit`] for `action` on `object` when allowed, or the refusal.
pub fn permit(actor: &Actor, action: Action, object: Object<'_>) -> Result<Permit, Decision> {
    match can(actor, action, object) {
        Decision::Allow => Ok(Permit {
            action,
            actor: *actor,
            operator: false,
            target: object.target(),
        }),
        refusal => Err(refusal),
    }
}
