//! The one check every data-changing repository function makes of its [`Permit`]: that it is
//! for this action on this object. A permit asked about concern A is refused for concern B.
//!
//! Writes with no user behind them take no permit; each says so where it is defined:
//! the access log's batches and its roll-up (retention), the monitoring rules' alerts, the
//! outbox (queueing and delivery), the filtering versions the server puts in force at start
//! and on reload, sign-in bookkeeping (sessions, failed sign-ins and lockouts, the one-time
//! link whose token is its own authority), the daily closing of the accounts of leavers whose
//! date has come and guests whose time is over, the audit rows of what was viewed, school 1
//! taking its profile's name when the server first starts on it, and the record of each
//! backup made (the `backups` table, written by `palisade backup` as the operator).

use crate::{Result, StoreError};
use policy::{Action, Actor, Permit, Target};

/// The permit's actor, when it covers `action` on `target`; otherwise a
/// [`StoreError::Conflict`] naming both (as every refused permit has been), before anything is written.
pub(crate) fn check(permit: &Permit, action: Action, target: Target) -> Result<Actor> {
    if permit.covers(action, target) {
        Ok(permit.actor())
    } else {
        Err(StoreError::Conflict(format!(
            "a permit for {:?} on {:?} does not cover {action:?} on {target:?}",
            permit.action(),
            permit.target()
        )))
    }
}

/// [`check`] for `action` on concern `id`: what every change to a concern asks.
pub(crate) fn check_concern(permit: &Permit, action: Action, id: i64) -> Result<Actor> {
    check(permit, action, Target::Concern(id))
}

/// [`check`] for changing `roles` of `holder` (`None`: a person being created).
pub(crate) fn check_roles(
    permit: &Permit,
    action: Action,
    holder: Option<i64>,
    roles: policy::RoleSet,
) -> Result<()> {
    check(permit, action, Target::Roles { holder, roles }).map(|_| ())
}
