//! What the filtering pages share: the profile's groups as choices, and waking the gateways
//! when the school's entries or devices change.

use crate::AppState;

/// Whether `group` names one of the profile's filtering groups, or `*` (every group).
pub(super) fn is_group_or_every(state: &AppState, group: &str) -> bool {
    group == "*"
        || state
            .profile
            .filtering
            .groups
            .iter()
            .any(|g| g.name == group)
}

/// The profile's filtering groups as (value, label) for a select.
pub(super) fn group_choices(state: &AppState) -> Vec<(String, String)> {
    state
        .profile
        .filtering
        .groups
        .iter()
        .map(|g| {
            let label = if g.description.is_empty() {
                g.name.clone()
            } else {
                format!("{} ({})", g.name, g.description)
            };
            (g.name.clone(), label)
        })
        .collect()
}

/// Wakes the gateways to reload the filter and the device register (the school's allow entries
/// or devices changed).
pub(super) fn filter_changed(state: &AppState) {
    if let Some(filtering) = &state.filtering {
        filtering.entries_changed();
    }
}
