//! The column sets of the common exports (SIMS, Arbor, Pupil Asset), recognised by their header
//! rows, and the layout of a file: which column holds which field.

use super::mapping::{Mapping, RoleMap};
use super::{FileKind, Format};
use std::collections::BTreeMap;

/// What a column holds. A person's own identifier is [`Field::MisId`] whatever the file
/// (admission number, contact id, staff code); a contacts file names the pupil with
/// [`Field::PupilId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    MisId,
    Upn,
    /// The preferred (known-as) forename, or the only one.
    Forename,
    /// The preferred surname, or the only one.
    Surname,
    LegalForename,
    LegalSurname,
    /// A whole name in one column (`Parent 1 Name`).
    Name,
    DateOfBirth,
    YearGroup,
    Class,
    AdmittedOn,
    LeavesOn,
    Email,
    Phone,
    /// A member of staff's role or post, mapped to Palisade's roles.
    Role,
    /// In a contacts file: the pupil the contact is for (their MIS id).
    PupilId,
    Relationship,
    ParentalResponsibility,
}

impl Field {
    /// Every field, for the mapping file's keys.
    pub const ALL: [Field; 18] = [
        Field::MisId,
        Field::Upn,
        Field::Forename,
        Field::Surname,
        Field::LegalForename,
        Field::LegalSurname,
        Field::Name,
        Field::DateOfBirth,
        Field::YearGroup,
        Field::Class,
        Field::AdmittedOn,
        Field::LeavesOn,
        Field::Email,
        Field::Phone,
        Field::Role,
        Field::PupilId,
        Field::Relationship,
        Field::ParentalResponsibility,
    ];

    /// The key naming the field in a mapping file.
    pub fn key(self) -> &'static str {
        match self {
            Field::MisId => "mis_id",
            Field::Upn => "upn",
            Field::Forename => "forename",
            Field::Surname => "surname",
            Field::LegalForename => "legal_forename",
            Field::LegalSurname => "legal_surname",
            Field::Name => "name",
            Field::DateOfBirth => "date_of_birth",
            Field::YearGroup => "year_group",
            Field::Class => "class",
            Field::AdmittedOn => "admitted_on",
            Field::LeavesOn => "leaves_on",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::Role => "role",
            Field::PupilId => "pupil_id",
            Field::Relationship => "relationship",
            Field::ParentalResponsibility => "parental_responsibility",
        }
    }

    pub(super) fn parse(key: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.key() == key)
    }
}

/// The columns one kind of file of one export has: each field with the headers it goes by
/// (the first found is used), the headers that recognise it, and for pupils the contact
/// columns repeated per contact (`{n}` the contact's number).
pub struct ColumnSet {
    pub format: Format,
    pub kind: FileKind,
    pub columns: &'static [(Field, &'static [&'static str])],
    /// Each inner list is one header that must be there (any one of its spellings).
    pub recognised_by: &'static [&'static [&'static str]],
    pub contacts: &'static [(Field, &'static str)],
}

/// The column sets of the exports Palisade knows.
pub const KNOWN: [ColumnSet; 8] = [
    ColumnSet {
        format: Format::Sims,
        kind: FileKind::Pupils,
        columns: &[
            (Field::MisId, &["Adno"]),
            (Field::Upn, &["UPN"]),
            (Field::LegalSurname, &["Legal Surname"]),
            (Field::LegalForename, &["Legal Forename"]),
            (Field::Surname, &["Preferred Surname"]),
            (Field::Forename, &["Preferred Forename"]),
            (Field::DateOfBirth, &["DOB"]),
            (Field::YearGroup, &["Year"]),
            (Field::Class, &["Reg"]),
            (Field::AdmittedOn, &["Admission Date"]),
            (Field::LeavesOn, &["Leaving Date"]),
        ],
        recognised_by: &[&["Adno"], &["Legal Surname"], &["Legal Forename"], &["Reg"]],
        contacts: &[
            (Field::MisId, "Contact {n} ID"),
            (Field::Surname, "Contact {n} Surname"),
            (Field::Forename, "Contact {n} Forename"),
            (Field::Relationship, "Contact {n} Relationship"),
            (
                Field::ParentalResponsibility,
                "Contact {n} Parental Responsibility",
            ),
            (Field::Email, "Contact {n} Email"),
            (Field::Phone, "Contact {n} Telephone"),
        ],
    },
    ColumnSet {
        format: Format::Sims,
        kind: FileKind::Staff,
        columns: &[
            (Field::MisId, &["Staff Code"]),
            (Field::LegalSurname, &["Legal Surname"]),
            (Field::LegalForename, &["Legal Forename"]),
            (Field::Surname, &["Preferred Surname"]),
            (Field::Forename, &["Preferred Forename"]),
            (Field::Email, &["Work Email", "Email"]),
            (Field::Phone, &["Work Telephone"]),
            (Field::Role, &["Staff Role", "Role"]),
            (Field::LeavesOn, &["Employment End Date", "Leaving Date"]),
        ],
        recognised_by: &[&["Staff Code"], &["Legal Surname"], &["Legal Forename"]],
        contacts: &[],
    },
    ColumnSet {
        format: Format::Arbor,
        kind: FileKind::Pupils,
        columns: &[
            (Field::MisId, &["MIS ID", "Student ID"]),
            (Field::Upn, &["UPN"]),
            (Field::LegalForename, &["First Name", "Legal First Name"]),
            (Field::Forename, &["Preferred First Name"]),
            (Field::LegalSurname, &["Last Name", "Legal Last Name"]),
            (Field::Surname, &["Preferred Last Name"]),
            (Field::DateOfBirth, &["Date of Birth"]),
            (Field::YearGroup, &["Year Group"]),
            (Field::Class, &["Registration Form"]),
            (Field::AdmittedOn, &["Date of Admission", "Admission Date"]),
            (Field::LeavesOn, &["Leaving Date"]),
        ],
        recognised_by: &[
            &["MIS ID", "Student ID"],
            &["First Name", "Legal First Name"],
            &["Last Name", "Legal Last Name"],
            &["Registration Form"],
        ],
        contacts: &[],
    },
    ColumnSet {
        format: Format::Arbor,
        kind: FileKind::Contacts,
        columns: &[
            (Field::MisId, &["Contact ID"]),
            (Field::PupilId, &["Student MIS ID", "Student ID"]),
            (Field::Forename, &["First Name"]),
            (Field::Surname, &["Last Name"]),
            (Field::Relationship, &["Relationship"]),
            (Field::ParentalResponsibility, &["Parental Responsibility"]),
            (Field::Email, &["Email Address", "Email"]),
            (Field::Phone, &["Mobile Number", "Telephone"]),
        ],
        recognised_by: &[
            &["Contact ID"],
            &["Student MIS ID", "Student ID"],
            &["Relationship"],
        ],
        contacts: &[],
    },
    ColumnSet {
        format: Format::Arbor,
        kind: FileKind::Staff,
        columns: &[
            (Field::MisId, &["Staff ID"]),
            (Field::LegalForename, &["First Name", "Legal First Name"]),
            (Field::Forename, &["Preferred First Name"]),
            (Field::LegalSurname, &["Last Name", "Legal Last Name"]),
            (Field::Surname, &["Preferred Last Name"]),
            (Field::Email, &["Email Address", "Work Email"]),
            (Field::Phone, &["Work Telephone"]),
            (Field::Role, &["Job Title"]),
            (Field::LeavesOn, &["End Date"]),
        ],
        recognised_by: &[
            &["Staff ID"],
            &["First Name", "Legal First Name"],
            &["Job Title"],
        ],
        contacts: &[],
    },
    ColumnSet {
        format: Format::PupilAsset,
        kind: FileKind::Pupils,
        columns: &[
            (Field::MisId, &["Pupil ID"]),
            (Field::Upn, &["UPN"]),
            (Field::LegalForename, &["Forename"]),
            (Field::LegalSurname, &["Surname"]),
            (Field::Forename, &["Known As"]),
            (Field::DateOfBirth, &["Date of Birth", "DOB"]),
            (Field::YearGroup, &["NC Year"]),
            (Field::Class, &["Class"]),
            (Field::AdmittedOn, &["Start Date"]),
            (Field::LeavesOn, &["Leave Date"]),
        ],
        recognised_by: &[&["Pupil ID"], &["Forename"], &["Surname"], &["Class"]],
        contacts: &[
            (Field::MisId, "Parent {n} ID"),
            (Field::Name, "Parent {n} Name"),
            (Field::Relationship, "Parent {n} Relationship"),
            (Field::Email, "Parent {n} Email"),
            (Field::Phone, "Parent {n} Phone"),
            (
                Field::ParentalResponsibility,
                "Parent {n} Parental Responsibility",
            ),
        ],
    },
    ColumnSet {
        format: Format::PupilAsset,
        kind: FileKind::Staff,
        columns: &[
            (Field::MisId, &["Staff Code"]),
            (Field::LegalForename, &["Forename"]),
            (Field::LegalSurname, &["Surname"]),
            (Field::Forename, &["Known As"]),
            (Field::Email, &["Email"]),
            (Field::Role, &["Position"]),
            (Field::LeavesOn, &["Leave Date"]),
        ],
        recognised_by: &[&["Staff Code"], &["Forename"], &["Surname"], &["Position"]],
        contacts: &[],
    },
    // Pupil Asset's contacts report, for schools that export contacts on their own.
    ColumnSet {
        format: Format::PupilAsset,
        kind: FileKind::Contacts,
        columns: &[
            (Field::MisId, &["Contact ID"]),
            (Field::PupilId, &["Pupil ID"]),
            (Field::Name, &["Contact Name"]),
            (Field::Relationship, &["Relationship"]),
            (Field::ParentalResponsibility, &["Parental Responsibility"]),
            (Field::Email, &["Email"]),
            (Field::Phone, &["Phone"]),
        ],
        recognised_by: &[&["Pupil ID"], &["Contact Name"], &["Relationship"]],
        contacts: &[],
    },
];

/// The most contacts read from one pupil's row.
pub const MAX_CONTACTS: usize = 9;

/// How a file's columns were decided: a known export's, or a mapping file's.
#[derive(Debug, Clone)]
pub struct Layout {
    pub format: Format,
    pub kind: FileKind,
    /// Each field the file has, with its column's index.
    pub columns: BTreeMap<Field, usize>,
    /// Per contact on a pupil's row: each field with its column's index.
    pub contacts: Vec<BTreeMap<Field, usize>>,
    pub roles: RoleMap,
}

/// Whether `headers` has the header (any of its spellings), and where.
pub(super) fn find(headers: &[String], spellings: &[&str]) -> Option<usize> {
    spellings.iter().find_map(|want| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(want))
    })
}

impl ColumnSet {
    /// Whether the header row is this export's.
    fn recognises(&self, headers: &[String]) -> bool {
        self.recognised_by
            .iter()
            .all(|h| find(headers, h).is_some())
    }

    /// The layout of a file with these headers, under this column set.
    fn layout(&self, headers: &[String], roles: RoleMap) -> Layout {
        let columns = self
            .columns
            .iter()
            .filter_map(|(field, names)| Some((*field, find(headers, names)?)))
            .collect();
        let contacts = contact_columns(headers, self.contacts);
        Layout {
            format: self.format,
            kind: self.kind,
            columns,
            contacts,
            roles,
        }
    }

    /// The headers that recognise it, as a person reads them (`Adno, Legal Surname, ...`).
    fn signature(&self) -> String {
        self.recognised_by
            .iter()
            .map(|h| format!("\"{}\"", h.first().copied().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The repeated contact columns present in `headers`, contact 1 first; a contact counts when
/// any of its columns is there.
pub(super) fn contact_columns(
    headers: &[String],
    spec: &[(Field, &str)],
) -> Vec<BTreeMap<Field, usize>> {
    let mut out = Vec::new();
    for n in 1..=MAX_CONTACTS {
        let one: BTreeMap<Field, usize> = spec
            .iter()
            .filter_map(|(field, pattern)| {
                let name = pattern.replace("{n}", &n.to_string());
                Some((*field, find(headers, &[name.as_str()])?))
            })
            .collect();
        if !one.is_empty() {
            out.push(one);
        }
    }
    out
}

/// Decides a file's layout from its header row: the column set of `format` (or, for `None`,
/// whichever export recognises the headers), or the mapping file's.
pub fn layout(
    headers: &[String],
    format: Option<Format>,
    mapping: Option<&Mapping>,
) -> Result<Layout, String> {
    let roles = mapping.map(|m| m.roles.clone()).unwrap_or_default();
    if let Some(m) = mapping.filter(|m| !m.columns.is_empty()) {
        return m.layout(headers);
    }
    let candidates: Vec<&ColumnSet> = KNOWN
        .iter()
        .filter(|set| format.is_none_or(|f| set.format == f))
        .collect();
    let found: Vec<&ColumnSet> = candidates
        .iter()
        .copied()
        .filter(|set| set.recognises(headers))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.layout(headers, roles)),
        [] => {
            let expected = candidates
                .iter()
                .map(|set| {
                    format!(
                        "{} {} ({})",
                        set.format.title(),
                        set.kind.as_str(),
                        set.signature()
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            Err(format!(
                "the header row is not one Palisade knows; it expected the headers of one of: \
                 {expected}. For another export, give a mapping file"
            ))
        }
        many => Err(format!(
            "the header row fits {} exports ({}); choose the format",
            many.len(),
            many.iter()
                .map(|s| s.format.title())
                .collect::<Vec<_>>()
                .join(", ")
        )),
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
    fn no_header_row_fits_two_known_exports() {
        // Each set's own full header row is recognised as that set alone.
        for set in &KNOWN {
            let mut all: Vec<String> = set
                .columns
                .iter()
                .map(|(_, names)| names[0].to_string())
                .collect();
            for c in set.contacts {
                all.push(c.1.replace("{n}", "1"));
            }
            let found: Vec<_> = KNOWN.iter().filter(|s| s.recognises(&all)).collect();
            assert_eq!(found.len(), 1, "{:?} {:?}", set.format, set.kind);
        }
    }

    #[test]
    fn exports_are_recognised_by_their_headers() {
        let sims = headers(
            "Adno,UPN,Legal Surname,Legal Forename,DOB,Year,Reg,Contact 1 Surname,Contact 1 Forename,Contact 2 Surname",
        );
        let l = layout(&sims, None, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((l.format, l.kind), (Format::Sims, FileKind::Pupils));
        assert_eq!(l.contacts.len(), 2);
        assert_eq!(l.columns.get(&Field::Class), Some(&6));
        let err = layout(&headers("Name,Birthday"), None, None).unwrap_err();
        assert!(err.contains("mapping file"), "{err}");
        // Told it is Arbor, a SIMS file is not recognised.
        assert!(layout(&sims, Some(Format::Arbor), None).is_err());
    }
}
