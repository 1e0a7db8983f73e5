//! What an export changes, given what the database holds: who is added, who changes and in
//! which fields, who is proposed as leaving, who is unchanged, and the parent links added,
//! changed and taken away. Applying the plan and working it out again gives an empty plan.

use super::usernames::username_for;
use super::{Export, Problem, Record, RowRef, Said, ser_roles};
use crate::PolicyError;
use crate::people::PersonKind;
use crate::roles::RoleSet;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The columns of a person an import writes, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Values {
    pub mis_id: Option<String>,
    pub display_name: String,
    pub legal_name: Option<String>,
    pub upn: Option<String>,
    pub date_of_birth: Option<String>,
    pub year_group: Option<String>,
    pub class_name: Option<String>,
    pub admitted_on: Option<String>,
    pub leaves_on: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl Values {
    /// These values with what `r` says over them (what it does not say stays).
    fn with(&self, r: &Record) -> Values {
        let over = |said: &Said, old: &Option<String>| match said {
            Some(v) => v.clone(),
            None => old.clone(),
        };
        Values {
            mis_id: Some(r.key.clone()),
            display_name: r.display_name.clone(),
            legal_name: over(&r.legal_name, &self.legal_name),
            upn: over(&r.upn, &self.upn),
            date_of_birth: over(&r.date_of_birth, &self.date_of_birth),
            year_group: over(&r.year_group, &self.year_group),
            class_name: over(&r.class_name, &self.class_name),
            admitted_on: over(&r.admitted_on, &self.admitted_on),
            leaves_on: over(&r.leaves_on, &self.leaves_on),
            email: over(&r.email, &self.email),
            phone: over(&r.phone, &self.phone),
        }
    }

    /// Each field, named as the preview shows it, with its value.
    fn fields(&self) -> [(&'static str, Option<&str>); 11] {
        [
            ("mis_id", self.mis_id.as_deref()),
            ("name", Some(self.display_name.as_str())),
            ("legal_name", self.legal_name.as_deref()),
            ("upn", self.upn.as_deref()),
            ("date_of_birth", self.date_of_birth.as_deref()),
            ("year_group", self.year_group.as_deref()),
            ("class", self.class_name.as_deref()),
            ("admitted_on", self.admitted_on.as_deref()),
            ("leaves_on", self.leaves_on.as_deref()),
            ("email", self.email.as_deref()),
            ("phone", self.phone.as_deref()),
        ]
    }
}

/// A person the database holds, as the diff needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingPerson {
    pub id: i64,
    pub kind: PersonKind,
    pub username: String,
    pub active: bool,
    pub values: Values,
}

/// A parent link the database holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingLink {
    pub parent_id: i64,
    pub child_id: i64,
    pub relationship: Option<String>,
    pub parental_responsibility: bool,
}

/// What the database holds that an import is compared with: the school's pupils, parents and
/// staff, their links, and every username taken (in any school: usernames sign in anywhere).
#[derive(Debug, Clone, Default)]
pub struct Existing {
    pub people: Vec<ExistingPerson>,
    pub links: Vec<ExistingLink>,
    pub usernames: HashSet<String>,
}

/// A person in a plan: one the database holds (by id), or the plan's `n`th new person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Who {
    Existing(i64),
    New(usize),
}

/// A person to add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Added {
    pub kind: PersonKind,
    pub username: String,
    #[serde(serialize_with = "ser_roles")]
    pub roles: RoleSet,
    pub values: Values,
    pub at: RowRef,
}

/// One field a change changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A person whose stored details change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub id: i64,
    pub kind: PersonKind,
    pub username: String,
    pub display_name: String,
    pub fields: Vec<FieldChange>,
    /// Everything stored after the change.
    pub values: Values,
}

/// A person a full export leaves out: proposed as leaving on the import's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leaving {
    pub id: i64,
    pub kind: PersonKind,
    pub username: String,
    pub display_name: String,
}

/// A parent link to add, change or take away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkPlan {
    pub parent: Who,
    pub child: Who,
    pub parent_name: String,
    pub child_name: String,
    pub relationship: Option<String>,
    pub parental_responsibility: bool,
}

/// What an import does. Worked out again inside the transaction that applies it, and applied
/// only if it comes out the same, so that what is applied is what was previewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The import's day: leavers it marks leave on it.
    pub today: NaiveDate,
    pub covers: super::Covers,
    pub added: Vec<Added>,
    pub changed: Vec<Changed>,
    pub leaving: Vec<Leaving>,
    pub unchanged: usize,
    pub links_added: Vec<LinkPlan>,
    pub links_changed: Vec<LinkPlan>,
    pub links_removed: Vec<LinkPlan>,
}

/// How many of each, for the audit trail and the summary lines.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    pub added: usize,
    pub changed: usize,
    pub leaving: usize,
    pub unchanged: usize,
    pub links_added: usize,
    pub links_changed: usize,
    pub links_removed: usize,
    /// Added, changed and leaving per kind of person (`pupil`, `parent`, `staff`).
    pub by_kind: BTreeMap<&'static str, [usize; 3]>,
}

impl Plan {
    /// The counts of the plan.
    pub fn counts(&self) -> Counts {
        let mut by_kind: BTreeMap<&'static str, [usize; 3]> = BTreeMap::new();
        for k in self.added.iter().map(|a| a.kind) {
            by_kind.entry(k.as_str()).or_default()[0] += 1;
        }
        for k in self.changed.iter().map(|c| c.kind) {
            by_kind.entry(k.as_str()).or_default()[1] += 1;
        }
        for k in self.leaving.iter().map(|l| l.kind) {
            by_kind.entry(k.as_str()).or_default()[2] += 1;
        }
        Counts {
            added: self.added.len(),
            changed: self.changed.len(),
            leaving: self.leaving.len(),
            unchanged: self.unchanged,
            links_added: self.links_added.len(),
            links_changed: self.links_changed.len(),
            links_removed: self.links_removed.len(),
            by_kind,
        }
    }

    /// Every role the import gives (to the people it adds): what its permit is asked about.
    pub fn roles_given(&self) -> RoleSet {
        self.added
            .iter()
            .fold(RoleSet::EMPTY, |set, a| set.union(a.roles))
    }

    /// The writes applying it makes (each person or link added, changed or taken away, and
    /// each leaver when `marking` them): what its progress counts.
    pub fn writes(&self, marking: bool) -> usize {
        self.changed.len()
            + self.added.len()
            + self.links_added.len()
            + self.links_changed.len()
            + self.links_removed.len()
            + if marking { self.leaving.len() } else { 0 }
    }

    /// Whether applying it would change nothing (leavers aside, which are only proposed).
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.changed.is_empty()
            && self.leaving.is_empty()
            && self.links_added.is_empty()
            && self.links_changed.is_empty()
            && self.links_removed.is_empty()
    }
}

/// Works out what `export` changes in `existing` on `today`. The only problem left to find
/// here is a contact naming a pupil who is neither in the export nor in the database.
pub fn diff(export: &Export, existing: &Existing, today: NaiveDate) -> Result<Plan, PolicyError> {
    let people = &existing.people;
    let mut by_key: HashMap<(PersonKind, &str), usize> = HashMap::new();
    let mut by_upn: HashMap<&str, usize> = HashMap::new();
    let mut by_email: HashMap<(PersonKind, String), Vec<usize>> = HashMap::new();
    for (i, p) in people.iter().enumerate() {
        if let Some(k) = &p.values.mis_id {
            by_key.insert((p.kind, k.as_str()), i);
        }
        if let (PersonKind::Pupil, Some(u)) = (p.kind, &p.values.upn) {
            by_upn.entry(u.as_str()).or_insert(i);
        }
        if let Some(e) = &p.values.email {
            by_email
                .entry((p.kind, e.to_lowercase()))
                .or_default()
                .push(i);
        }
    }
    let keys_in_export: HashSet<(PersonKind, &str)> = export
        .records
        .iter()
        .map(|r| (r.kind, r.key.as_str()))
        .collect();
    // A person found by UPN or email is taken over only if no row claims them by their own key.
    let free = |i: usize, claimed: &HashSet<usize>| {
        let p = &people[i];
        !claimed.contains(&i)
            && p.values
                .mis_id
                .as_deref()
                .is_none_or(|k| !keys_in_export.contains(&(p.kind, k)))
    };
    let mut claimed: HashSet<usize> = HashSet::new();
    let mut resolved: HashMap<(PersonKind, &str), (Who, String)> = HashMap::new();
    let mut taken: HashSet<String> = existing.usernames.clone();
    let mut plan = Plan {
        today,
        covers: export.covers,
        added: Vec::new(),
        changed: Vec::new(),
        leaving: Vec::new(),
        unchanged: 0,
        links_added: Vec::new(),
        links_changed: Vec::new(),
        links_removed: Vec::new(),
    };
    for r in &export.records {
        let exact = by_key
            .get(&(r.kind, r.key.as_str()))
            .copied()
            .filter(|i| !claimed.contains(i));
        let by_upn_or_email = || match (r.kind, &r.upn, &r.email) {
            (PersonKind::Pupil, Some(Some(u)), _) => by_upn
                .get(u.as_str())
                .copied()
                .filter(|i| free(*i, &claimed)),
            (PersonKind::Staff | PersonKind::Parent, _, Some(Some(e))) => by_email
                .get(&(r.kind, e.clone()))
                .and_then(|v| v.iter().copied().find(|i| free(*i, &claimed))),
            _ => None,
        };
        let found = exact.or_else(by_upn_or_email);
        let who = match found {
            Some(i) => {
                claimed.insert(i);
                let p = &people[i];
                let values = p.values.with(r);
                let fields: Vec<FieldChange> = p
                    .values
                    .fields()
                    .into_iter()
                    .zip(values.fields())
                    .filter(|((_, before), (_, after))| before != after)
                    .map(|((field, before), (_, after))| FieldChange {
                        field,
                        before: before.map(str::to_string),
                        after: after.map(str::to_string),
                    })
                    .collect();
                if fields.is_empty() {
                    plan.unchanged += 1;
                } else {
                    plan.changed.push(Changed {
                        id: p.id,
                        kind: p.kind,
                        username: p.username.clone(),
                        display_name: values.display_name.clone(),
                        fields,
                        values,
                    });
                }
                Who::Existing(p.id)
            }
            None => {
                let username = username_for(&r.first, &r.last, r.kind, |u| taken.contains(u));
                taken.insert(username.clone());
                plan.added.push(Added {
                    kind: r.kind,
                    username,
                    roles: r.roles,
                    values: Values::default().with(r),
                    at: r.at.clone(),
                });
                Who::New(plan.added.len() - 1)
            }
        };
        resolved.insert((r.kind, r.key.as_str()), (who, r.display_name.clone()));
    }
    let today_text = today.format("%Y-%m-%d").to_string();
    for (i, p) in people.iter().enumerate() {
        let leaving_already = p
            .values
            .leaves_on
            .as_deref()
            .is_some_and(|d| d <= today_text.as_str());
        if export.covers.covers(p.kind)
            && p.values.mis_id.is_some()
            && p.active
            && !leaving_already
            && !claimed.contains(&i)
        {
            plan.leaving.push(Leaving {
                id: p.id,
                kind: p.kind,
                username: p.username.clone(),
                display_name: p.values.display_name.clone(),
            });
        }
    }
    links(export, existing, &by_key, &resolved, &mut plan)?;
    Ok(plan)
}

/// The links of the plan: the export's, less those the database has as they are, and the
/// database's links of pupils whose contacts the export lists in full that it leaves out.
fn links(
    export: &Export,
    existing: &Existing,
    by_key: &HashMap<(PersonKind, &str), usize>,
    resolved: &HashMap<(PersonKind, &str), (Who, String)>,
    plan: &mut Plan,
) -> Result<(), PolicyError> {
    let people = &existing.people;
    let stored: HashMap<(i64, i64), &ExistingLink> = existing
        .links
        .iter()
        .map(|l| ((l.parent_id, l.child_id), l))
        .collect();
    let by_id: HashMap<i64, &super::ExistingPerson> = people.iter().map(|p| (p.id, p)).collect();
    let several = export.files.len() > 1;
    let mut problems = Vec::new();
    let mut seen: BTreeSet<(Who, Who)> = BTreeSet::new();
    for l in &export.links {
        let child = resolved
            .get(&(PersonKind::Pupil, l.child_key.as_str()))
            .cloned()
            .or_else(|| {
                let p = &people[*by_key.get(&(PersonKind::Pupil, l.child_key.as_str()))?];
                Some((Who::Existing(p.id), p.values.display_name.clone()))
            });
        let parent = resolved
            .get(&(PersonKind::Parent, l.parent_key.as_str()))
            .cloned();
        let (Some((child, child_name)), Some((parent, parent_name))) = (child, parent) else {
            problems.push(Problem {
                source: several.then(|| l.at.source.clone()),
                row: l.at.row,
                column: l.pupil_column.clone(),
                message: format!("no pupil \"{}\" in this export or in Palisade", l.child_key),
            });
            continue;
        };
        if !seen.insert((parent, child)) {
            continue;
        }
        let old = match (parent, child) {
            (Who::Existing(p), Who::Existing(c)) => stored.get(&(p, c)).copied(),
            _ => None,
        };
        let relationship = match (&l.relationship, old) {
            (Some(said), _) => said.clone(),
            (None, Some(o)) => o.relationship.clone(),
            (None, None) => None,
        };
        let parental_responsibility = l
            .parental_responsibility
            .or(old.map(|o| o.parental_responsibility))
            .unwrap_or(true);
        let planned = LinkPlan {
            parent,
            child,
            parent_name,
            child_name,
            relationship,
            parental_responsibility,
        };
        match old {
            None => plan.links_added.push(planned),
            Some(o)
                if o.relationship != planned.relationship
                    || o.parental_responsibility != planned.parental_responsibility =>
            {
                plan.links_changed.push(planned)
            }
            Some(_) => {}
        }
    }
    if !problems.is_empty() {
        return Err(PolicyError::Import { problems });
    }
    if !export.covers.parents {
        return Ok(());
    }
    for l in &existing.links {
        let (Some(parent), Some(child)) = (by_id.get(&l.parent_id), by_id.get(&l.child_id)) else {
            continue;
        };
        let listed = child
            .values
            .mis_id
            .as_deref()
            .is_some_and(|k| export.contacts_of.contains(k));
        let pair = (Who::Existing(l.parent_id), Who::Existing(l.child_id));
        // A link made by hand to a parent the MIS never sent stays.
        if listed && parent.values.mis_id.is_some() && !seen.contains(&pair) {
            plan.links_removed.push(LinkPlan {
                parent: pair.0,
                child: pair.1,
                parent_name: parent.values.display_name.clone(),
                child_name: child.values.display_name.clone(),
                relationship: l.relationship.clone(),
                parental_responsibility: l.parental_responsibility,
            });
        }
    }
    Ok(())
}
