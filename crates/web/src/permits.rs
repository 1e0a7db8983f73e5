//! The one way handlers ask the policy: [`CurrentUser::permit`] for what they change or show,
//! [`CurrentUser::may`] for what a page offers (menu entries, buttons). Nothing in `web` tests
//! roles or compares a [`Decision`] itself.

use crate::auth::CurrentUser;
use crate::error::WebError;
use policy::{Action, Decision, Object, Permit};

impl CurrentUser {
    /// The permit for `action` on `object` when `policy::can` allows it; otherwise the refusal
    /// as the error the web shows (a hidden thing is not found, anything else forbidden).
    pub fn permit(&self, action: Action, object: Object<'_>) -> Result<Permit, WebError> {
        policy::permit(&self.actor, action, object).map_err(WebError::from)
    }

    /// Whether `policy::can` allows `action` on `object`: for what a page offers, never in
    /// place of a permit for a change.
    pub fn may(&self, action: Action, object: Object<'_>) -> bool {
        policy::can(&self.actor, action, object) == Decision::Allow
    }
}
