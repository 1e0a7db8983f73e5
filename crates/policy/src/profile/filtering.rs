//! The `[filtering]` section of a profile: the block lists the school uses and, per group of
//! users, which categories are blocked, its own allow- and block-lists, SafeSearch and time rules.

use crate::ProfileProblem;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Keys earlier Palisades wrote in this section and this one no longer has, because they
/// changed nothing: every change to filtering is in the decision log, and every request is in
/// the access log, whatever they said. Versions stored with them are still read.
pub const RETIRED_KEYS: [&str; 2] = ["log_changes", "log_all_requests"];

/// How the school filters internet access, per group.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FilteringPolicy {
    /// Who may change filtering (the seeds: "only authorised staff").
    #[serde(default)]
    pub changes_by: Vec<crate::Role>,
    /// Days detailed access-log rows are kept before they are rolled up into daily counts.
    #[serde(default = "default_retention")]
    pub retention_days: u32,
    #[serde(default)]
    pub lists: Vec<ListSource>,
    #[serde(default)]
    pub groups: Vec<GroupPolicy>,
}

fn default_retention() -> u32 {
    90
}

/// The file formats the filter reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListFormat {
    /// One domain per line.
    Domains,
    /// `0.0.0.0 a b` hosts files.
    Hosts,
    /// AdBlock network rules `||domain^` and exceptions `@@||domain^`.
    Adblock,
    /// A squidGuard/UT1 folder of `<category>/domains` files.
    Ut1,
    /// An RPZ zone file.
    Rpz,
    /// Host plus path prefix per line, for the proxy.
    Urls,
    /// Words and phrases, one per line, matched in search terms and addresses.
    Keywords,
}

/// A list the school uses.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListSource {
    pub name: String,
    /// A local file or folder (relative paths are relative to the profile file).
    #[serde(default)]
    pub path: Option<String>,
    /// An HTTP(S) address refreshed on a schedule (the gateway keeps the last good copy).
    #[serde(default)]
    pub url: Option<String>,
    pub format: ListFormat,
    /// The category of every entry (not for UT1 folders, whose folder names are categories).
    #[serde(default)]
    pub category: Option<String>,
    /// A mandatory list (IWF, counter-terrorism): no group or allow-list can override it.
    #[serde(default)]
    pub mandatory: bool,
    /// Hours between refreshes of a `url` list.
    #[serde(default = "default_refresh")]
    pub refresh_hours: u32,
}

fn default_refresh() -> u32 {
    24
}

/// YouTube's restricted modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum YoutubeMode {
    #[default]
    Off,
    Moderate,
    Strict,
}

/// One group of users (Key Stage 1, staff, guests...).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupPolicy {
    pub name: String,
    /// Words for people, e.g. "Key Stage 1 (Years 1-2)".
    #[serde(default)]
    pub description: String,
    /// Pupil-level groups are never given an unfiltered answer.
    pub pupil: bool,
    /// A group for members of staff: alerts about its traffic follow the profile's route for
    /// concerns about staff (the Headteacher), not the safeguarding team.
    #[serde(default)]
    pub staff: bool,
    #[serde(default)]
    pub block_categories: Vec<String>,
    /// Domains always allowed for this group (unless on a mandatory list).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Domains always blocked for this group.
    #[serde(default)]
    pub block: Vec<String>,
    /// Force Google, Bing and DuckDuckGo SafeSearch.
    #[serde(default)]
    pub safesearch: bool,
    #[serde(default)]
    pub youtube: YoutubeMode,
    #[serde(default)]
    pub time_rules: Vec<TimeRule>,
}

/// Categories allowed only between two times of day (school's local time).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRule {
    pub allow_categories: Vec<String>,
    /// `HH:MM`
    pub from: String,
    /// `HH:MM`
    pub to: String,
}

/// Parses `HH:MM` into minutes after midnight.
pub fn minutes_of(hhmm: &str) -> Option<u16> {
    let (h, m) = hhmm.split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && hhmm.len() == 5).then_some(h * 60 + m)
}

impl FilteringPolicy {
    /// Names of the groups marked `staff = true`.
    pub fn staff_groups(&self) -> Vec<String> {
        self.groups
            .iter()
            .filter(|g| g.staff)
            .map(|g| g.name.clone())
            .collect()
    }

    /// Names of the groups, in profile order.
    pub fn group_names(&self) -> Vec<&str> {
        self.groups.iter().map(|g| g.name.as_str()).collect()
    }

    /// Names of the pupil-level groups.
    pub fn pupil_group_names(&self) -> Vec<&str> {
        self.groups
            .iter()
            .filter(|g| g.pupil)
            .map(|g| g.name.as_str())
            .collect()
    }

    /// What [`crate::can`] is asked about when someone changes this filtering: it names who may.
    pub fn as_object(&self) -> crate::Object<'_> {
        crate::Object::Filtering {
            changes_by: &self.changes_by,
        }
    }

    /// Cross-reference checks for this section, each naming its key.
    pub fn validate(&self) -> Vec<ProfileProblem> {
        let mut out = validate_lists(&self.lists, "filtering.lists");
        let mut problem = |key: String, message: String| out.push(ProfileProblem { key, message });
        for (i, role) in self.changes_by.iter().enumerate() {
            if !role.is_staff() {
                problem(
                    format!("filtering.changes_by[{i}]"),
                    format!("`{role}` is not a staff role: only staff may change the filtering"),
                );
            }
        }
        let mut groups = BTreeSet::new();
        for (i, g) in self.groups.iter().enumerate() {
            let key = format!("filtering.groups[{i}]");
            if !groups.insert(g.name.as_str()) {
                problem(
                    format!("{key}.name"),
                    format!("`{}` is listed twice", g.name),
                );
            }
            if g.staff && g.pupil {
                problem(
                    format!("{key}.staff"),
                    "a group is for pupils or for staff, not both".to_string(),
                );
            }
            for (j, t) in g.time_rules.iter().enumerate() {
                for (field, v) in [("from", &t.from), ("to", &t.to)] {
                    if minutes_of(v).is_none() {
                        problem(
                            format!("{key}.time_rules[{j}].{field}"),
                            format!("`{v}` must be a time like 16:00"),
                        );
                    }
                }
            }
        }
        if !self.groups.is_empty() && !self.groups.iter().any(|g| g.pupil) {
            problem(
                "filtering.groups".into(),
                "at least one group must be pupil-level".into(),
            );
        }
        out
    }
}

impl FilteringPolicy {
    /// What a reload from `before` to this policy would change that the running gateways cannot
    /// take without a restart: the groups themselves (names, pupil-level or not), on which
    /// client mapping and failing closed depend. `None` when it can be put in force at once.
    pub fn needs_restart_from(&self, before: &FilteringPolicy) -> Option<String> {
        let shape = |f: &FilteringPolicy| -> Vec<(String, bool)> {
            f.groups.iter().map(|g| (g.name.clone(), g.pupil)).collect()
        };
        let (old, new) = (shape(before), shape(self));
        if old == new {
            return None;
        }
        let names = |v: &[(String, bool)]| -> BTreeSet<String> {
            v.iter().map(|(n, _)| n.clone()).collect()
        };
        let (old_names, new_names) = (names(&old), names(&new));
        let mut parts = Vec::new();
        for added in new_names.difference(&old_names) {
            parts.push(format!("group `{added}` added"));
        }
        for removed in old_names.difference(&new_names) {
            parts.push(format!("group `{removed}` removed"));
        }
        for (name, pupil) in &new {
            if old.iter().any(|(n, p)| n == name && p != pupil) {
                let now = if *pupil { "now" } else { "no longer" };
                parts.push(format!("group `{name}` is {now} pupil-level"));
            }
        }
        if parts.is_empty() {
            parts.push("the groups are in a different order".into());
        }
        Some(parts.join("; "))
    }

    /// The changes from `before` to this policy, one line each in words for the decision log
    /// (e.g. "group `ks2`: now blocks `gaming`"). Empty when nothing a filter uses changed.
    pub fn changes_since(&self, before: &FilteringPolicy) -> Vec<String> {
        let mut out = Vec::new();
        if self.retention_days != before.retention_days {
            out.push(format!(
                "access log kept {} days (was {})",
                self.retention_days, before.retention_days
            ));
        }
        if self.changes_by != before.changes_by {
            out.push(format!(
                "changed by {} (was {})",
                roles_text(&self.changes_by),
                roles_text(&before.changes_by)
            ));
        }
        for l in &self.lists {
            match before.lists.iter().find(|b| b.name == l.name) {
                None => out.push(format!("list `{}` added ({})", l.name, list_source(l))),
                Some(b) => {
                    if list_source(b) != list_source(l) || b.format != l.format {
                        out.push(format!(
                            "list `{}`: now {} (was {})",
                            l.name,
                            list_source(l),
                            list_source(b)
                        ));
                    }
                    if b.category != l.category {
                        out.push(format!(
                            "list `{}`: category {} (was {})",
                            l.name,
                            l.category.as_deref().unwrap_or("from its folders"),
                            b.category.as_deref().unwrap_or("from its folders")
                        ));
                    }
                    if b.mandatory != l.mandatory {
                        let now = if l.mandatory { "now" } else { "no longer" };
                        out.push(format!("list `{}`: {now} mandatory", l.name));
                    }
                }
            }
        }
        for b in &before.lists {
            if !self.lists.iter().any(|l| l.name == b.name) {
                out.push(format!("list `{}` removed", b.name));
            }
        }
        for g in &self.groups {
            let Some(b) = before.groups.iter().find(|b| b.name == g.name) else {
                out.push(format!("group `{}` added", g.name));
                continue;
            };
            let name = &g.name;
            set_changes(
                &mut out,
                name,
                ("blocks", "no longer blocks"),
                &b.block_categories,
                &g.block_categories,
            );
            set_changes(
                &mut out,
                name,
                ("allows", "no longer allows"),
                &b.allow,
                &g.allow,
            );
            set_changes(
                &mut out,
                name,
                ("always blocks", "no longer always blocks"),
                &b.block,
                &g.block,
            );
            if b.safesearch != g.safesearch {
                let now = if g.safesearch { "on" } else { "off" };
                out.push(format!("group `{name}`: SafeSearch {now}"));
            }
            if b.youtube != g.youtube {
                let mode = |m: YoutubeMode| format!("{m:?}").to_lowercase();
                out.push(format!(
                    "group `{name}`: YouTube restricted mode {} (was {})",
                    mode(g.youtube),
                    mode(b.youtube)
                ));
            }
            let times = |t: &[TimeRule]| -> Vec<String> {
                t.iter()
                    .map(|r| format!("{} {}-{}", r.allow_categories.join(","), r.from, r.to))
                    .collect()
            };
            if times(&b.time_rules) != times(&g.time_rules) {
                out.push(format!(
                    "group `{name}`: time rules [{}] (were [{}])",
                    times(&g.time_rules).join("; "),
                    times(&b.time_rules).join("; ")
                ));
            }
        }
        for b in &before.groups {
            if !self.groups.iter().any(|g| g.name == b.name) {
                out.push(format!("group `{}` removed", b.name));
            }
        }
        out
    }
}

fn roles_text(roles: &[crate::Role]) -> String {
    if roles.is_empty() {
        return "the network manager (no one named)".into();
    }
    roles
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn list_source(l: &ListSource) -> String {
    match (&l.path, &l.url) {
        (Some(p), _) => format!("{p}, {:?}", l.format).to_lowercase(),
        (None, Some(u)) => format!("{u}, {:?}", l.format).to_lowercase(),
        (None, None) => "no source".into(),
    }
}

/// Adds "group `g`: <added> `x`" and "group `g`: <removed> `y`" lines for two lists of names.
fn set_changes(
    out: &mut Vec<String>,
    group: &str,
    (added, removed): (&str, &str),
    before: &[String],
    after: &[String],
) {
    let (b, a): (BTreeSet<&String>, BTreeSet<&String>) =
        (before.iter().collect(), after.iter().collect());
    for x in a.difference(&b) {
        out.push(format!("group `{group}`: {added} `{x}`"));
    }
    for x in b.difference(&a) {
        out.push(format!("group `{group}`: {removed} `{x}`"));
    }
}

/// Every problem with `lists` (a profile's `filtering.lists`, a trust's `lists`), each named by
/// `prefix[i]` and its key.
pub fn validate_lists(lists: &[ListSource], prefix: &str) -> Vec<ProfileProblem> {
    let mut out = Vec::new();
    let mut problem = |key: String, message: String| out.push(ProfileProblem { key, message });
    let mut names = BTreeSet::new();
    for (i, l) in lists.iter().enumerate() {
        let key = format!("{prefix}[{i}]");
        if !names.insert(l.name.as_str()) {
            problem(
                format!("{key}.name"),
                format!("`{}` is listed twice", l.name),
            );
        }
        match (&l.path, &l.url) {
            (None, None) => problem(key.clone(), "give a path or a url".into()),
            (Some(_), Some(_)) => problem(key.clone(), "give a path or a url, not both".into()),
            (_, Some(u)) if !(u.starts_with("http://") || u.starts_with("https://")) => problem(
                format!("{key}.url"),
                format!("`{u}` must start with http:// or https://"),
            ),
            _ => {}
        }
        if l.format != ListFormat::Ut1 && l.category.is_none() {
            problem(
                format!("{key}.category"),
                "needed for every format but ut1".into(),
            );
        }
    }
    out
}
