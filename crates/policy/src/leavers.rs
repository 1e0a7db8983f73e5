//! Arrivals that end by themselves and departures: the profile's `[guests]` (visitor and
//! supply-teacher accounts that expire) and `[leavers]` (the checklist a leaver and the network
//! manager work through before the leaving date, when the accounts close by themselves).

use crate::PolicyError;
use crate::roles::Role;
use serde::{Deserialize, Serialize};

/// The profile's `[guests]`: who may make guest accounts, for how long at most, and the
/// filtering group a signed-in guest is filtered as.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestPolicy {
    /// The filtering group a guest signed in to the proxy is filtered as (absent: their
    /// address's group).
    #[serde(default)]
    pub group: Option<String>,
    /// The longest a guest account may last, in hours (1 to 2,160, i.e. 90 days).
    #[serde(default = "default_max_hours")]
    pub max_hours: u32,
    /// The roles that may make guest accounts (the school office's).
    #[serde(default = "default_created_by")]
    pub created_by: Vec<Role>,
}

fn default_max_hours() -> u32 {
    120
}

fn default_created_by() -> Vec<Role> {
    vec![Role::Headteacher, Role::DataManager, Role::NetworkManager]
}

impl Default for GuestPolicy {
    fn default() -> Self {
        GuestPolicy {
            group: None,
            max_hours: default_max_hours(),
            created_by: default_created_by(),
        }
    }
}

/// What a guest account is for: named on their slip and the people list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuestPurpose {
    Visitor,
    SupplyTeacher,
}

impl GuestPurpose {
    /// The identifier used in the database, forms and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            GuestPurpose::Visitor => "visitor",
            GuestPurpose::SupplyTeacher => "supply_teacher",
        }
    }

    /// Parses [`GuestPurpose::as_str`].
    pub fn parse(s: &str) -> Option<GuestPurpose> {
        [GuestPurpose::Visitor, GuestPurpose::SupplyTeacher]
            .into_iter()
            .find(|p| p.as_str() == s)
    }

    /// As the slip and lists say it.
    pub fn label(self) -> &'static str {
        match self {
            GuestPurpose::Visitor => "Visitor",
            GuestPurpose::SupplyTeacher => "Supply teacher",
        }
    }
}

impl GuestPolicy {
    /// Checks a guest account's length against the profile's maximum.
    pub fn check_hours(&self, hours: u32) -> Result<(), PolicyError> {
        if hours == 0 || hours > self.max_hours {
            return Err(PolicyError::invalid(
                "hours",
                format!(
                    "a guest account lasts 1 to {} hours (the profile's guests.max_hours)",
                    self.max_hours
                ),
            ));
        }
        Ok(())
    }
}

/// Hours a profile may allow a guest account at most.
pub const MAX_GUEST_HOURS: u32 = 2_160;

/// The profile's `[leavers]`: what a leaver hands over besides the devices on loan to them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaverPolicy {
    /// The items of the leavers' checklist, in order; each device on loan is an item of its
    /// own, ticked by its return.
    #[serde(default = "default_checklist")]
    pub checklist: Vec<String>,
}

fn default_checklist() -> Vec<String> {
    vec![
        "PINs, IDs and passwords handed over so that school devices can be reset".into(),
        "Accounts on other systems closed".into(),
    ]
}

impl Default for LeaverPolicy {
    fn default() -> Self {
        LeaverPolicy {
            checklist: default_checklist(),
        }
    }
}

/// One item of a leaver's checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChecklistItem {
    /// `item:N` for the profile's N-th item (0-based), `loan:ID` for a device on loan.
    pub key: String,
    pub label: String,
    /// Who ticked it and when (a loan: returned), or `None` while it is open.
    pub done: Option<Done>,
}

/// Who ticked an item and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Done {
    pub by: String,
    pub at: String,
    pub note: String,
}

/// A device on loan to the leaver, as the checklist needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanItem {
    pub loan_id: i64,
    pub device: String,
    /// Returned: by whom and when.
    pub returned: Option<Done>,
}

impl LeaverPolicy {
    /// The leaver's checklist: the profile's items with their ticks (keyed `item:N`), then each
    /// device lent to them, done when it came back.
    pub fn checklist(&self, ticks: &[(String, Done)], loans: &[LoanItem]) -> Vec<ChecklistItem> {
        let mut out: Vec<ChecklistItem> = self
            .checklist
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let key = format!("item:{i}");
                let done = ticks
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, d)| d.clone());
                ChecklistItem {
                    key,
                    label: label.clone(),
                    done,
                }
            })
            .collect();
        out.extend(loans.iter().map(|l| ChecklistItem {
            key: format!("loan:{}", l.loan_id),
            label: format!("Return the device on loan: {}", l.device),
            done: l.returned.clone(),
        }));
        out
    }

    /// Checks that `key` names one of the profile's items (loans are ticked by their return).
    pub fn check_item(&self, key: &str) -> Result<(), PolicyError> {
        let n = key
            .strip_prefix("item:")
            .and_then(|n| n.parse::<usize>().ok());
        match n {
            Some(n) if n < self.checklist.len() => Ok(()),
            _ if key.starts_with("loan:") => Err(PolicyError::invalid(
                "item",
                "a device on loan is ticked off by recording its return in the device register",
            )),
            _ => Err(PolicyError::invalid(
                "item",
                format!("`{key}` is not an item of the leavers' checklist"),
            )),
        }
    }
}

/// Whether a leaving date (`YYYY-MM-DD`) has come on `today`: the accounts close on it.
pub fn has_left(leaves_on: &str, today: chrono::NaiveDate) -> bool {
    chrono::NaiveDate::parse_from_str(leaves_on, "%Y-%m-%d").is_ok_and(|d| d <= today)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn done(by: &str) -> Done {
        Done {
            by: by.into(),
            at: "2026-07-20T10:00:00Z".into(),
            note: String::new(),
        }
    }

    #[test]
    fn the_checklist_is_the_profiles_items_then_each_loan() {
        let p = LeaverPolicy::default();
        let loans = [
            LoanItem {
                loan_id: 7,
                device: "Laptop 12".into(),
                returned: None,
            },
            LoanItem {
                loan_id: 9,
                device: "iPad 3".into(),
                returned: Some(done("netman")),
            },
        ];
        let list = p.checklist(&[("item:1".into(), done("netman"))], &loans);
        assert_eq!(list.len(), 4);
        assert!(list[0].done.is_none());
        assert_eq!(list[1].done.as_ref().unwrap().by, "netman");
        assert_eq!(list[2].key, "loan:7");
        assert!(list[2].label.contains("Laptop 12"));
        assert!(list[2].done.is_none());
        assert!(list[3].done.is_some());
    }

    #[test]
    fn only_the_profiles_items_can_be_ticked() {
        let p = LeaverPolicy::default();
        assert!(p.check_item("item:0").is_ok());
        assert!(p.check_item("item:2").is_err());
        assert!(
            p.check_item("loan:7")
                .unwrap_err()
                .to_string()
                .contains("return")
        );
        assert!(p.check_item("nonsense").is_err());
    }

    #[test]
    fn guest_accounts_last_at_most_the_profiles_hours() {
        let g = GuestPolicy::default();
        assert!(g.check_hours(1).is_ok());
        assert!(g.check_hours(120).is_ok());
        assert!(g.check_hours(0).is_err());
        assert!(
            g.check_hours(121)
                .unwrap_err()
                .to_string()
                .contains("max_hours")
        );
    }

    #[test]
    fn a_leaving_date_has_come_on_the_day_itself() {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(has_left("2026-07-22", d("2026-07-22")));
        assert!(has_left("2026-07-21", d("2026-07-22")));
        assert!(!has_left("2026-07-23", d("2026-07-22")));
        assert!(!has_left("not a date", d("2026-07-22")));
    }
}
