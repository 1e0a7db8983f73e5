//! The DfE filtering and monitoring standard's records (issue 19, parts 2 and 3): checks made
//! with an outside tool (SWGfL's TestFiltering...), the annual review with its prompts, findings
//! and actions, and the triggers (new technology, a serious incident, a network change) that
//! make a review due before the year is out. When a review or an action is due follows from the
//! dates here, never stored.

use crate::PolicyError;
use crate::consent::school_year_start;
use crate::dashboard::{DueStatus, due_status};
use crate::profile::Registers;
use crate::roles::Role;
use chrono::{Months, NaiveDate, TimeDelta};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Who records checks, reviews and triggers: the senior leader (the Headteacher), the
/// safeguarding leads, the online safety coordinator and the network manager (IT).
pub const FILTERING_KEEPERS: [Role; 5] = [
    Role::Headteacher,
    Role::Dsl,
    Role::DeputyDsl,
    Role::OnlineSafetyCoordinator,
    Role::NetworkManager,
];

/// Who reads them: the keepers and the governors, who hold the school to the standard.
pub const FILTERING_READERS: [Role; 7] = [
    Role::Headteacher,
    Role::Dsl,
    Role::DeputyDsl,
    Role::OnlineSafetyCoordinator,
    Role::NetworkManager,
    Role::Governor,
    Role::ChairOfGovernors,
];

/// The standard's prompts for a review: (key, question). Every review answers each.
pub const PROMPTS: [(&str, &str); 7] = [
    (
        "risk_profile",
        "Pupils' risk profile (age, SEND, EAL and other needs)",
    ),
    ("blocked_allowed", "What is blocked or allowed, and why"),
    ("byod", "Bring your own device (BYOD) and guest access"),
    ("generative_ai", "Generative AI"),
    (
        "technical_limits",
        "Technical limits of the filtering and monitoring",
    ),
    ("incidents", "Safeguarding incidents since the last review"),
    (
        "policies",
        "Related policies (online safety, behaviour, acceptable use)",
    ),
];

/// What may make a review due before the year is out: (key, words).
pub const TRIGGER_KINDS: [(&str, &str); 4] = [
    ("new_technology", "New technology"),
    ("serious_incident", "A serious safeguarding incident"),
    ("network_change", "A change to the network"),
    ("risk", "A new risk identified"),
];

/// How long after a trigger a review counts as due rather than overdue.
pub const TRIGGER_REVIEW_DAYS: i64 = 30;

/// The longest a free-text field may be.
pub const MAX_TEXT: usize = 20_000;
/// The longest a short field (a tool, a device, a site) may be.
pub const MAX_SHORT: usize = 200;
/// The most actions one review may set.
pub const MAX_ACTIONS: usize = 50;
/// The most participants one review may name.
pub const MAX_PARTICIPANTS: usize = 30;

/// A `YYYY-MM-DD` date in `field` that is not after `today` (a check held, an action done).
pub fn past_date(field: &str, value: &str, today: NaiveDate) -> Result<NaiveDate, PolicyError> {
    let d = NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
        PolicyError::invalid(
            field,
            format!("`{}` is not a date like 2026-09-01", value.trim()),
        )
    })?;
    if d > today {
        return Err(PolicyError::invalid(
            field,
            format!("{d} is in the future: record it once it has happened"),
        ));
    }
    Ok(d)
}

fn text(field: &str, value: &str, max: usize, required: bool) -> Result<String, PolicyError> {
    let v = value.trim();
    if required && v.is_empty() {
        return Err(PolicyError::invalid(field, "is empty"));
    }
    if v.chars().count() > max {
        return Err(PolicyError::invalid(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    Ok(v.to_string())
}

/// A check made with an outside tool, as entered (a form, the API).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCheck {
    /// `YYYY-MM-DD`.
    pub checked_on: String,
    /// The tool used, e.g. "SWGfL TestFiltering".
    pub tool: String,
    /// The kind of device: laptop, tablet, desktop, phone...
    pub device_type: String,
    /// Which device (its name or asset tag).
    #[serde(default)]
    pub device_name: String,
    /// The site the check was made at.
    pub site: String,
    /// The profile's filtering group checked.
    pub group: String,
    /// `pass` or `fail`.
    pub result: String,
    #[serde(default)]
    pub notes: String,
}

/// A check that passed [`NewCheck::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCheck {
    pub checked_on: NaiveDate,
    pub tool: String,
    pub device_type: String,
    pub device_name: String,
    pub site: String,
    pub group: String,
    pub passed: bool,
    pub notes: String,
}

impl NewCheck {
    /// Checks the entry, naming the first field that is wrong: a real date not after `today`,
    /// a tool, a device type and a site, a group of the profile (`groups`), a result of `pass`
    /// or `fail`, and notes of sensible length (a failed check must say what failed).
    pub fn check(&self, groups: &[&str], today: NaiveDate) -> Result<CheckedCheck, PolicyError> {
        let checked_on = past_date("checked_on", &self.checked_on, today)?;
        let tool = text("tool", &self.tool, MAX_SHORT, true)?;
        let device_type = text("device_type", &self.device_type, MAX_SHORT, true)?;
        let device_name = text("device_name", &self.device_name, MAX_SHORT, false)?;
        let site = text("site", &self.site, MAX_SHORT, true)?;
        let group = self.group.trim();
        if !groups.contains(&group) {
            return Err(PolicyError::invalid(
                "group",
                format!(
                    "`{group}` is not a filtering group of the profile ({})",
                    groups.join(", ")
                ),
            ));
        }
        let passed = match self.result.trim() {
            "pass" => true,
            "fail" => false,
            other => {
                return Err(PolicyError::invalid(
                    "result",
                    format!("`{other}` is neither `pass` nor `fail`"),
                ));
            }
        };
        let notes = text("notes", &self.notes, MAX_TEXT, !passed).map_err(|e| match e {
            PolicyError::InvalidInput { field, message } if message == "is empty" => {
                PolicyError::invalid(field, "is empty: say what the failed check let through")
            }
            e => e,
        })?;
        Ok(CheckedCheck {
            checked_on,
            tool,
            device_type,
            device_name,
            site,
            group: group.to_string(),
            passed,
            notes,
        })
    }
}

/// Where one filtering group stands on outside checks on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupChecked {
    /// The latest outside check of the group, if any.
    pub latest: Option<NaiveDate>,
    /// Said when the group has had no outside check this academic year.
    pub due: Option<String>,
}

/// Where a group stands whose latest outside check was on `latest`, seen on `today`.
pub fn group_checked(latest: Option<NaiveDate>, today: NaiveDate) -> GroupChecked {
    let year = school_year_start(today);
    let due = match latest {
        Some(d) if d >= year => None,
        Some(d) => Some(format!(
            "due: last checked {d}, none since the academic year began on {year}"
        )),
        None => Some("due: never checked with an outside tool".to_string()),
    };
    GroupChecked { latest, due }
}

/// One action a review sets, as entered.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAction {
    pub what: String,
    /// The person who owns it.
    pub owner: i64,
    /// `YYYY-MM-DD`.
    pub due_on: String,
}

/// An action that passed the review's check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedAction {
    pub what: String,
    pub owner: i64,
    pub due_on: NaiveDate,
}

/// A review as entered (a form, the API).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewReview {
    /// `YYYY-MM-DD`.
    pub held_on: String,
    /// The people who took part.
    pub participants: Vec<i64>,
    /// One answer per prompt of [`PROMPTS`], by its key.
    pub answers: BTreeMap<String, String>,
    pub findings: String,
    #[serde(default)]
    pub actions: Vec<NewAction>,
}

/// A review that passed [`NewReview::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedReview {
    pub held_on: NaiveDate,
    pub participants: Vec<i64>,
    /// In the order of [`PROMPTS`].
    pub answers: Vec<(String, String)>,
    pub findings: String,
    pub actions: Vec<CheckedAction>,
}

impl NewReview {
    /// Checks the entry, naming the first field that is wrong: a real date not after `today`,
    /// one to [`MAX_PARTICIPANTS`] participants (each once), an answer to every prompt and to
    /// none other, findings, and each action with what, an owner and a real due date. Whether
    /// each person exists is the store's.
    pub fn check(&self, today: NaiveDate) -> Result<CheckedReview, PolicyError> {
        let held_on = past_date("held_on", &self.held_on, today)?;
        let mut participants = Vec::new();
        for p in &self.participants {
            if !participants.contains(p) {
                participants.push(*p);
            }
        }
        if participants.is_empty() || participants.len() > MAX_PARTICIPANTS {
            return Err(PolicyError::invalid(
                "participants",
                format!("name one to {MAX_PARTICIPANTS} people who took part"),
            ));
        }
        if let Some(key) = self
            .answers
            .keys()
            .find(|k| !PROMPTS.iter().any(|(p, _)| p == k))
        {
            let known: Vec<&str> = PROMPTS.iter().map(|(k, _)| *k).collect();
            return Err(PolicyError::invalid(
                format!("answers.{key}"),
                format!("is not a prompt of the review ({})", known.join(", ")),
            ));
        }
        let mut answers = Vec::new();
        for (key, _) in PROMPTS {
            let given = self.answers.get(key).map_or("", String::as_str);
            let field = format!("answers.{key}");
            answers.push((key.to_string(), text(&field, given, MAX_TEXT, true)?));
        }
        let findings = text("findings", &self.findings, MAX_TEXT, true)?;
        if self.actions.len() > MAX_ACTIONS {
            return Err(PolicyError::invalid(
                "actions",
                format!("more than {MAX_ACTIONS} actions"),
            ));
        }
        let mut actions = Vec::new();
        for (i, a) in self.actions.iter().enumerate() {
            let n = i + 1;
            let what = text(&format!("actions[{n}].what"), &a.what, MAX_TEXT, true)?;
            let due_on = NaiveDate::parse_from_str(a.due_on.trim(), "%Y-%m-%d").map_err(|_| {
                PolicyError::invalid(
                    format!("actions[{n}].due_on"),
                    format!("`{}` is not a date like 2026-09-01", a.due_on.trim()),
                )
            })?;
            actions.push(CheckedAction {
                what,
                owner: a.owner,
                due_on,
            });
        }
        Ok(CheckedReview {
            held_on,
            participants,
            answers,
            findings,
            actions,
        })
    }
}

/// A trigger as entered: what happened, when, and a note.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTrigger {
    /// `YYYY-MM-DD`.
    pub happened_on: String,
    /// A key of [`TRIGGER_KINDS`].
    pub kind: String,
    pub reason: String,
}

/// A trigger that passed [`NewTrigger::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedTrigger {
    pub happened_on: NaiveDate,
    pub kind: String,
    pub reason: String,
}

impl NewTrigger {
    /// Checks the entry, naming the first field that is wrong.
    pub fn check(&self, today: NaiveDate) -> Result<CheckedTrigger, PolicyError> {
        let happened_on = past_date("happened_on", &self.happened_on, today)?;
        let kind = self.kind.trim();
        if !TRIGGER_KINDS.iter().any(|(k, _)| *k == kind) {
            let known: Vec<&str> = TRIGGER_KINDS.iter().map(|(k, _)| *k).collect();
            return Err(PolicyError::invalid(
                "kind",
                format!("`{kind}` is not one of {}", known.join(", ")),
            ));
        }
        Ok(CheckedTrigger {
            happened_on,
            kind: kind.to_string(),
            reason: text("reason", &self.reason, MAX_TEXT, true)?,
        })
    }
}

/// Why a review is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewReason {
    /// No review has ever been recorded.
    Never,
    /// The academic year after the last review's is ending (or has ended).
    Yearly,
    /// Something happened after the last review (a trigger, on this day).
    Trigger(NaiveDate),
}

/// When the next review is due, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewDue {
    pub due_on: NaiveDate,
    pub reason: ReviewReason,
    /// Due or overdue on the day asked about; `None` while it is further off than the
    /// dashboard looks.
    pub status: Option<DueStatus>,
}

/// The last day of the academic year that `day` falls in (31 August).
pub fn school_year_end(day: NaiveDate) -> NaiveDate {
    let start = school_year_start(day);
    start
        .checked_add_months(Months::new(12))
        .and_then(|d| d.pred_opt())
        .unwrap_or(start)
}

/// When the next review is due on `today`, given the day of the latest review (`last`) and
/// the days of the triggers recorded (`triggers`).
///
/// - Never reviewed: due today.
/// - Otherwise a review is due by the end of the academic year after the last review's (at
///   least once every academic year), and shows as due from [`crate::dashboard::DUE_WITHIN_DAYS`]
///   before it.
/// - A trigger after the last review makes one due at once: due for
///   [`TRIGGER_REVIEW_DAYS`], overdue after.
pub fn review_due(last: Option<NaiveDate>, triggers: &[NaiveDate], today: NaiveDate) -> ReviewDue {
    let yearly = match last {
        None => ReviewDue {
            due_on: today,
            reason: ReviewReason::Never,
            status: Some(DueStatus::Due),
        },
        Some(last) => {
            let next_year = school_year_end(last)
                .succ_opt()
                .map_or(last, school_year_end);
            ReviewDue {
                due_on: next_year,
                reason: ReviewReason::Yearly,
                status: due_status(next_year, today),
            }
        }
    };
    let triggered = triggers
        .iter()
        .filter(|t| last.is_none_or(|l| **t > l))
        .min()
        .map(|t| {
            let due_on = *t + TimeDelta::days(TRIGGER_REVIEW_DAYS);
            ReviewDue {
                due_on,
                reason: ReviewReason::Trigger(*t),
                status: Some(due_status(due_on, today).unwrap_or(DueStatus::Due)),
            }
        });
    match triggered {
        Some(t) if last.is_some() && t.due_on < yearly.due_on => t,
        _ => yearly,
    }
}

/// Where an action stands on `today`: `None` once done or while its date is far off.
pub fn action_status(
    due_on: NaiveDate,
    done_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Option<DueStatus> {
    match done_on {
        Some(_) => None,
        None => due_status(due_on, today),
    }
}

/// The participants the standard names and the role the profile gives each: (role, words).
/// The senior leader and the governor are the profile's `[registers]` roles (else the
/// Headteacher and a governor).
pub fn participant_roles(registers: &Registers) -> [(Role, &'static str); 4] {
    [
        (
            registers
                .filtering_senior_leader
                .unwrap_or(Role::Headteacher),
            "the senior leader responsible",
        ),
        (Role::Dsl, "the designated safeguarding lead"),
        (Role::NetworkManager, "IT (the network manager)"),
        (
            registers.filtering_governor.unwrap_or(Role::Governor),
            "the responsible governor",
        ),
    ]
}

/// Who the standard asks for that none of the participants (by their roles) is.
pub fn missing_participants(
    registers: &Registers,
    present: &[crate::roles::RoleSet],
) -> Vec<&'static str> {
    participant_roles(registers)
        .into_iter()
        .filter(|(role, _)| !present.iter().any(|r| r.contains(*role)))
        .map(|(_, words)| words)
        .collect()
}

#[cfg(test)]
mod tests;
