//! Importing the school's people from its management information system's CSV export
//! (issue 20): parsing the export and working out what it changes. Pure: the file's bytes and
//! what the database holds come in as values, a [`Plan`] goes out; `store` applies it.
//!
//! # Files and layouts
//!
//! An import is one or more CSV files. Each file holds one kind of row, recognised by its header
//! row (`--format auto`) or named by a [`Mapping`] file:
//!
//! - **pupils**: one row per pupil, optionally with their parents and carers on the same row as
//!   repeated columns (`Contact 1 Surname`, `Contact 1 Forename`, ..., `Contact 2 ...`);
//! - **contacts**: one row per parent or carer *and pupil* (a parent of two children is on two
//!   rows), naming the pupil by their MIS id;
//! - **staff**: one row per member of staff, with a role or post column mapped to Palisade's
//!   roles ([`RoleMap`]: teachers are teachers, everyone else staff, unless a mapping says
//!   otherwise).
//!
//! The exports Palisade knows:
//!
//! | export | pupils | contacts | staff |
//! |---|---|---|---|
//! | SIMS | `Adno, UPN, Legal Surname, Legal Forename, Preferred Surname, Preferred Forename, DOB, Year, Reg, Admission Date, Leaving Date` + `Contact {n} ID/Surname/Forename/Relationship/Parental Responsibility/Email/Telephone` | on the pupils' rows | `Staff Code, Title, Legal Surname, Legal Forename, Preferred Forename, Work Email, Staff Role, Employment End Date` |
//! | Arbor | `MIS ID` (or `Student ID`), `UPN, First Name, Preferred First Name, Last Name, Date of Birth, Year Group, Registration Form, Date of Admission, Leaving Date` | `Contact ID, Student MIS ID, First Name, Last Name, Relationship, Parental Responsibility, Email Address, Mobile Number` | `Staff ID, First Name, Preferred First Name, Last Name, Email Address, Job Title, End Date` |
//! | Pupil Asset | `Pupil ID, UPN, Forename, Surname, Known As, Date of Birth, NC Year, Class, Start Date, Leave Date` + `Parent {n} ID/Name/Relationship/Email/Phone/Parental Responsibility` | `Contact ID, Pupil ID, Contact Name, Relationship, ...` | `Staff Code, Forename, Surname, Known As, Email, Position, Leave Date` |
//!
//! Headers are matched whatever their case and order; columns Palisade does not read are
//! ignored. Dates are read as the exports write them, `dd/mm/yyyy` or ISO `yyyy-mm-dd`. A file
//! that is not UTF-8 is read as Windows-1252.
//!
//! # Errors
//!
//! Every problem names its row as a spreadsheet shows it (the header is row 1) and its column by
//! header: `row 17, column "DOB": "31/02/2015" is not a date`. Every row is checked and every
//! problem listed; a file with any problem imports nothing.
//!
//! # Matching
//!
//! A re-import matches each row to the person it made before by their stored `mis_id`: pupils by
//! MIS id (the UPN where the export has no id; failing that, a pupil with the same UPN), parents
//! and carers by contact id (where the export has none, by email, else by name and child: the
//! key is then `email:...` or `name:.../child`), staff by staff code (else email; a member of
//! staff added by hand with the same email is taken over). What the export does not say (a
//! column it lacks) is left as it is; roles are given to new people only.

mod cells;
mod diff;
mod formats;
mod mapping;
mod parse;
mod usernames;

pub use cells::slug;
pub use diff::{
    Added, Changed, Counts, Existing, ExistingLink, ExistingPerson, Leaving, LinkPlan, Plan,
    Values, Who, diff,
};
pub use formats::{Field, KNOWN};
pub use mapping::{Mapping, RoleMap};
pub use parse::parse_file;
pub use usernames::username_for;

/// Serialises a role set as its identifiers (`["teacher"]`).
fn ser_roles<S: serde::Serializer>(roles: &RoleSet, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(roles.iter().map(crate::Role::as_str))
}

use crate::PolicyError;
use crate::people::PersonKind;
use crate::roles::RoleSet;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::fmt;

/// Which export a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Sims,
    Arbor,
    PupilAsset,
    /// Any other export, read through a mapping file.
    Mapped,
}

impl Format {
    /// The identifier `--format` and the page's select take.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Sims => "sims",
            Format::Arbor => "arbor",
            Format::PupilAsset => "pupil-asset",
            Format::Mapped => "mapped",
        }
    }

    /// The export's name as people write it.
    pub fn title(self) -> &'static str {
        match self {
            Format::Sims => "SIMS",
            Format::Arbor => "Arbor",
            Format::PupilAsset => "Pupil Asset",
            Format::Mapped => "mapped",
        }
    }

    /// Parses `auto` (`None`), `sims`, `arbor` or `pupil-asset`.
    pub fn parse_choice(s: &str) -> Result<Option<Format>, PolicyError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(None),
            "sims" => Ok(Some(Format::Sims)),
            "arbor" => Ok(Some(Format::Arbor)),
            "pupil-asset" | "pupil_asset" | "pupilasset" => Ok(Some(Format::PupilAsset)),
            other => Err(PolicyError::invalid(
                "format",
                format!("`{other}` is not one of auto, sims, arbor, pupil-asset"),
            )),
        }
    }
}

/// What one file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Pupils,
    Contacts,
    Staff,
}

impl FileKind {
    /// The identifier a mapping file's `kind` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Pupils => "pupils",
            FileKind::Contacts => "contacts",
            FileKind::Staff => "staff",
        }
    }

    fn parse(s: &str) -> Option<FileKind> {
        [FileKind::Pupils, FileKind::Contacts, FileKind::Staff]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One thing wrong with an export, where a spreadsheet shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file's name, when the import has several.
    pub source: Option<String>,
    /// 1-based, the header row being row 1.
    pub row: usize,
    /// The column's header.
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.source {
            write!(f, "{s}: ")?;
        }
        write!(f, "row {}", self.row)?;
        if let Some(c) = &self.column {
            write!(f, ", column \"{c}\"")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Where a row came from, for the problems found later (a pupil a contact names who is
/// nowhere).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowRef {
    pub source: String,
    pub row: usize,
}

/// A value a file says, or `None` when the file has no column for it (and what is stored
/// stays); `Some(None)` is an empty cell (and clears what is stored).
pub type Said = Option<Option<String>>;

/// A person as a row of the export says they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: PersonKind,
    /// Their stored `mis_id`: the MIS's identifier, or the key made for a contact without one.
    pub key: String,
    pub at: RowRef,
    /// Name parts, for a new person's username.
    pub first: String,
    pub last: String,
    pub display_name: String,
    pub legal_name: Said,
    pub upn: Said,
    pub date_of_birth: Said,
    pub year_group: Said,
    pub class_name: Said,
    pub admitted_on: Said,
    pub leaves_on: Said,
    pub email: Said,
    pub phone: Said,
    /// The roles a new person gets.
    pub roles: RoleSet,
}

/// A parent or carer linked to a pupil by the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub parent_key: String,
    pub child_key: String,
    pub relationship: Said,
    /// `None` when the file has no such column.
    pub parental_responsibility: Option<bool>,
    pub at: RowRef,
    /// The header of the column naming the pupil (a contacts file's).
    pub pupil_column: Option<String>,
}

/// One file, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFile {
    pub source: String,
    pub format: Format,
    pub kind: FileKind,
    /// Data rows read (blank rows left out).
    pub rows: usize,
    /// Whether it lists parents and carers (a contacts file, or pupils with contact columns).
    pub has_contacts: bool,
    pub records: Vec<Record>,
    pub links: Vec<Link>,
}

/// The kinds of people an export covers: of those, whoever it leaves out is proposed as leaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Covers {
    pub pupils: bool,
    pub parents: bool,
    pub staff: bool,
}

impl Covers {
    /// Whether people of `kind` are covered.
    pub fn covers(&self, kind: PersonKind) -> bool {
        match kind {
            PersonKind::Pupil => self.pupils,
            PersonKind::Parent => self.parents,
            PersonKind::Staff => self.staff,
            PersonKind::Governor | PersonKind::Visitor => false,
        }
    }
}

/// A whole import: every file's people (each once) and links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub files: Vec<FileSummary>,
    pub covers: Covers,
    pub records: Vec<Record>,
    pub links: Vec<Link>,
    /// The pupils (by key) whose parents and carers the export lists in full: a link of theirs
    /// that it leaves out is taken away.
    pub contacts_of: BTreeSet<String>,
}

/// What one file of an import was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileSummary {
    pub source: String,
    pub format: Format,
    pub kind: FileKind,
    pub rows: usize,
}

impl Export {
    /// Puts files together: a pupil or member of staff twice (in one file or two) is a problem
    /// on the second row; a parent on several rows is one person.
    pub fn from_files(files: Vec<ParsedFile>) -> Result<Export, PolicyError> {
        let several = files.len() > 1;
        let mut covers = Covers::default();
        let mut seen: HashMap<(PersonKind, String), RowRef> = HashMap::new();
        let mut records = Vec::new();
        let mut links = Vec::new();
        let mut linked = BTreeSet::new();
        let mut problems = Vec::new();
        let mut summaries = Vec::new();
        let mut contacts_of = BTreeSet::new();
        for file in files {
            if file.has_contacts {
                match file.kind {
                    FileKind::Pupils => contacts_of.extend(
                        file.records
                            .iter()
                            .filter(|r| r.kind == PersonKind::Pupil)
                            .map(|r| r.key.clone()),
                    ),
                    _ => contacts_of.extend(file.links.iter().map(|l| l.child_key.clone())),
                }
            }
            match file.kind {
                FileKind::Pupils => covers.pupils = true,
                FileKind::Staff => covers.staff = true,
                FileKind::Contacts => {}
            }
            covers.parents |= file.has_contacts;
            summaries.push(FileSummary {
                source: file.source.clone(),
                format: file.format,
                kind: file.kind,
                rows: file.rows,
            });
            for r in file.records {
                let id = (r.kind, r.key.clone());
                match seen.get(&id) {
                    // A parent or carer is on the row of each of their children.
                    Some(_) if r.kind == PersonKind::Parent => {}
                    Some(first) => problems.push(Problem {
                        source: several.then(|| r.at.source.clone()),
                        row: r.at.row,
                        column: None,
                        message: format!(
                            "{} \"{}\" is already on {}row {}",
                            r.kind.as_str(),
                            r.key,
                            if first.source != r.at.source {
                                format!("{} ", first.source)
                            } else {
                                String::new()
                            },
                            first.row
                        ),
                    }),
                    None => {
                        seen.insert(id, r.at.clone());
                        records.push(r);
                    }
                }
            }
            for l in file.links {
                if linked.insert((l.parent_key.clone(), l.child_key.clone())) {
                    links.push(l);
                }
            }
        }
        if !problems.is_empty() {
            return Err(PolicyError::Import { problems });
        }
        Ok(Export {
            files: summaries,
            covers,
            records,
            links,
            contacts_of,
        })
    }

    /// Data rows in every file.
    pub fn rows(&self) -> usize {
        self.files.iter().map(|f| f.rows).sum()
    }
}

#[cfg(test)]
mod tests;
