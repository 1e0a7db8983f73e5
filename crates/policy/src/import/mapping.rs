//! The mapping file that names the columns of an export Palisade does not know, and how a staff
//! file's role column maps to Palisade's roles.

use super::FileKind;
use super::Format;
use super::formats::{Field, Layout, contact_columns, find};
use crate::PolicyError;
use crate::roles::{Role, RoleSet};
use serde::Deserialize;
use std::collections::BTreeMap;

/// How the words of a staff file's role column become Palisade's roles: each word (any case)
/// to its roles, and the roles of any word not listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleMap {
    pub words: BTreeMap<String, RoleSet>,
    pub otherwise: RoleSet,
}

impl Default for RoleMap {
    /// Teachers are teachers and everyone else staff: the roles that read anything
    /// confidential are given in Palisade by those who may, never by an export.
    fn default() -> RoleMap {
        let teacher = RoleSet::of(Role::Teacher);
        let words = [
            "teacher",
            "class teacher",
            "teaching staff",
            "supply teacher",
            "subject teacher",
            "form tutor",
            "senco",
            "deputy headteacher",
            "assistant headteacher",
        ]
        .into_iter()
        .map(|w| (w.to_string(), teacher))
        .collect();
        RoleMap {
            words,
            otherwise: RoleSet::of(Role::Staff),
        }
    }
}

impl RoleMap {
    /// The roles for what the role column says.
    pub fn roles_of(&self, said: &str) -> RoleSet {
        let key = said.trim().to_lowercase();
        self.words.get(&key).copied().unwrap_or(self.otherwise)
    }
}

/// A mapping file (TOML) for an export Palisade does not know, or to change how a known
/// export's staff roles map:
///
/// ```toml
/// kind = "pupils"              # pupils | contacts | staff
/// [columns]                    # field = "its column's header"
/// mis_id = "Pupil Ref"
/// legal_forename = "First"
/// legal_surname = "Last"
/// date_of_birth = "Birthday"
/// class = "Form"
/// [contacts]                   # pupils only: columns repeated per contact, {n} its number
/// name = "Carer {n} Name"
/// email = "Carer {n} Email"
/// [roles]                      # staff only: what the role column says = Palisade roles
/// "Teaching Assistant" = "staff"
/// "Computing Lead" = ["teacher", "online_safety_coordinator"]
/// default = "staff"            # any word not listed (staff when not given)
/// ```
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    pub kind: Option<FileKind>,
    pub columns: BTreeMap<Field, String>,
    pub contacts: BTreeMap<Field, String>,
    pub roles: RoleMap,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    kind: Option<String>,
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    contacts: BTreeMap<String, String>,
    #[serde(default)]
    roles: BTreeMap<String, OneOrMany>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl Mapping {
    /// Reads a mapping file; errors name the key (`columns.birthday`, `roles."Caretaker"`).
    pub fn from_toml(text: &str, source_name: &str) -> Result<Mapping, PolicyError> {
        let syntax = |message: String| PolicyError::ProfileSyntax {
            source_name: source_name.to_string(),
            message,
        };
        let bad = |key: String, message: String| PolicyError::InvalidInput {
            field: format!("{source_name}: {key}"),
            message,
        };
        let file: MappingFile = toml::from_str(text).map_err(|e| syntax(e.to_string()))?;
        let kind = match file.kind.as_deref() {
            None => None,
            Some(k) => Some(FileKind::parse(k).ok_or_else(|| {
                bad(
                    "kind".into(),
                    format!("`{k}` is not one of pupils, contacts, staff"),
                )
            })?),
        };
        let fields = |table: BTreeMap<String, String>, name: &str| {
            table
                .into_iter()
                .map(|(key, header)| {
                    let field = Field::parse(&key).ok_or_else(|| {
                        bad(
                            format!("{name}.{key}"),
                            format!(
                                "is not a field; one of: {}",
                                Field::ALL.map(Field::key).join(", ")
                            ),
                        )
                    })?;
                    if header.trim().is_empty() {
                        return Err(bad(format!("{name}.{key}"), "names no column".into()));
                    }
                    Ok((field, header))
                })
                .collect::<Result<BTreeMap<_, _>, _>>()
        };
        let columns = fields(file.columns, "columns")?;
        let contacts = fields(file.contacts, "contacts")?;
        if let Some((field, h)) = contacts.iter().find(|(_, h)| !h.contains("{n}")) {
            return Err(bad(
                format!("contacts.{}", field.key()),
                format!("\"{h}\" has no {{n}} for the contact's number"),
            ));
        }
        if !columns.is_empty() && kind.is_none() {
            return Err(bad(
                "kind".into(),
                "is needed with [columns]: pupils, contacts or staff".into(),
            ));
        }
        let mut roles = RoleMap::default();
        for (word, said) in file.roles {
            let names = match said {
                OneOrMany::One(s) => s.split(',').map(|r| r.trim().to_string()).collect(),
                OneOrMany::Many(v) => v,
            };
            let mut set = RoleSet::EMPTY;
            for name in &names {
                let role = Role::parse(name).filter(|r| r.is_staff()).ok_or_else(|| {
                    bad(
                        format!("roles.\"{word}\""),
                        format!("`{name}` is not a staff role"),
                    )
                })?;
                set.insert(role);
            }
            if set.is_empty() {
                return Err(bad(format!("roles.\"{word}\""), "gives no role".into()));
            }
            if word == "default" {
                roles.otherwise = set;
            } else {
                roles.words.insert(word.trim().to_lowercase(), set);
            }
        }
        Ok(Mapping {
            kind,
            columns,
            contacts,
            roles,
        })
    }

    /// The layout of a file with these headers under this mapping: every column it names must
    /// be there.
    pub(super) fn layout(&self, headers: &[String]) -> Result<Layout, String> {
        let kind = self.kind.unwrap_or(FileKind::Pupils);
        let mut columns = BTreeMap::new();
        for (field, header) in &self.columns {
            let at = find(headers, &[header.as_str()]).ok_or_else(|| {
                format!(
                    "the mapping's {} = \"{header}\" names no column of this file",
                    field.key()
                )
            })?;
            columns.insert(*field, at);
        }
        let spec: Vec<(Field, &str)> = self
            .contacts
            .iter()
            .map(|(f, h)| (*f, h.as_str()))
            .collect();
        Ok(Layout {
            format: Format::Mapped,
            kind,
            columns,
            contacts: contact_columns(headers, &spec),
            roles: self.roles.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn headers(s: &str) -> Vec<String> {
        s.split(',').map(str::to_string).collect()
    }

    #[test]
    fn a_mapping_file_names_columns_and_roles() {
        let m = Mapping::from_toml(
            "kind = \"staff\"\n[columns]\nmis_id = \"Code\"\nname = \"Full Name\"\nrole = \"Post\"\n\
             [roles]\n\"Computing Lead\" = [\"teacher\", \"online_safety_coordinator\"]\ndefault = \"staff\"\n",
            "map.toml",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let l = m
            .layout(&headers("Code,Full Name,Post"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(l.kind, FileKind::Staff);
        assert!(
            l.roles
                .roles_of("computing lead")
                .contains(Role::OnlineSafetyCoordinator)
        );
        assert_eq!(l.roles.roles_of("Caretaker"), RoleSet::of(Role::Staff));
        let err = Mapping::from_toml("[roles]\nHead = \"pupil\"\n", "map.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("roles.\"Head\"") && err.contains("staff role"),
            "{err}"
        );
        let err = Mapping::from_toml("kind = \"pupils\"\n[columns]\nbirthday = \"B\"\n", "m")
            .unwrap_err()
            .to_string();
        assert!(err.contains("columns.birthday"), "{err}");
        assert!(m.layout(&headers("Code,Post")).is_err());
    }
}
