//! The import's parsing and diff: every known export, the errors that name their row and
//! column, and the property that importing twice is importing once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use chrono::NaiveDate;
use proptest::prelude::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 3).unwrap()
}

fn parse(text: &str) -> Result<Export, PolicyError> {
    let file = parse_file(text.as_bytes(), "export.csv", None, None)?;
    Export::from_files(vec![file])
}

fn plan(text: &str, existing: &Existing) -> Plan {
    diff(&parse(text).unwrap(), existing, today()).unwrap()
}

/// What the store does with a plan, in memory: the people and links after it.
pub(super) fn apply(existing: &mut Existing, plan: &Plan, mark_leavers: bool) {
    let mut next = existing.people.iter().map(|p| p.id).max().unwrap_or(0);
    let mut new_ids = Vec::new();
    for c in &plan.changed {
        let p = existing.people.iter_mut().find(|p| p.id == c.id).unwrap();
        p.values = c.values.clone();
    }
    for a in &plan.added {
        next += 1;
        new_ids.push(next);
        existing.usernames.insert(a.username.clone());
        existing.people.push(ExistingPerson {
            id: next,
            kind: a.kind,
            username: a.username.clone(),
            active: true,
            values: a.values.clone(),
        });
    }
    let id = |w: Who| match w {
        Who::Existing(id) => id,
        Who::New(n) => new_ids[n],
    };
    for l in &plan.links_removed {
        existing
            .links
            .retain(|x| (x.parent_id, x.child_id) != (id(l.parent), id(l.child)));
    }
    for l in plan.links_added.iter().chain(&plan.links_changed) {
        existing
            .links
            .retain(|x| (x.parent_id, x.child_id) != (id(l.parent), id(l.child)));
        existing.links.push(ExistingLink {
            parent_id: id(l.parent),
            child_id: id(l.child),
            relationship: l.relationship.clone(),
            parental_responsibility: l.parental_responsibility,
        });
    }
    if mark_leavers {
        for l in &plan.leaving {
            let p = existing.people.iter_mut().find(|p| p.id == l.id).unwrap();
            p.values.leaves_on = Some(plan.today.format("%Y-%m-%d").to_string());
        }
    }
}

const SIMS: &str = "\
Adno,UPN,Legal Surname,Legal Forename,Preferred Surname,Preferred Forename,DOB,Year,Reg,Admission Date,Leaving Date,Contact 1 Surname,Contact 1 Forename,Contact 1 Relationship,Contact 1 Parental Responsibility,Contact 1 Email,Contact 1 Telephone,Contact 2 Surname,Contact 2 Forename,Contact 2 Relationship,Contact 2 Parental Responsibility,Contact 2 Email,Contact 2 Telephone
1001,A820012345001,Quillfeather,Amelia,,Milly,14/03/2017,4,4K,01/09/2021,,Quillfeather,Rosa,Mother,Yes,rosa.q@example.org,01632 960001,Quillfeather,Tom,Father,Yes,,
1002,A820012345002,Quillfeather,Barnaby,,,02/11/2019,2,2R,01/09/2023,,Quillfeather,Rosa,Mother,Yes,rosa.q@example.org,01632 960001,,,,,,
1003,A820012345003,Thistlewood,Cora,,,30/06/2015,6,6O,01/09/2019,22/07/2027,Thistlewood,Ivy,Grandmother,No,,,,,,,,
";

#[test]
fn a_sims_export_gives_pupils_their_parents_and_links() {
    let export = parse(SIMS).unwrap();
    assert!(export.covers.pupils && export.covers.parents && !export.covers.staff);
    let pupils: Vec<_> = export
        .records
        .iter()
        .filter(|r| r.kind == PersonKind::Pupil)
        .collect();
    assert_eq!(pupils.len(), 3);
    let milly = pupils[0];
    assert_eq!(milly.key, "1001");
    assert_eq!(milly.display_name, "Milly Quillfeather");
    assert_eq!(milly.legal_name, Some(Some("Amelia Quillfeather".into())));
    assert_eq!(milly.date_of_birth, Some(Some("2017-03-14".into())));
    assert_eq!(milly.year_group, Some(Some("Year 4".into())));
    assert_eq!(milly.class_name, Some(Some("4K".into())));
    assert_eq!(pupils[2].leaves_on, Some(Some("2027-07-22".into())));
    // Rosa is on two rows (two children) and one person; Tom has no email: name and child.
    let parents: Vec<_> = export
        .records
        .iter()
        .filter(|r| r.kind == PersonKind::Parent)
        .map(|r| r.key.as_str())
        .collect();
    assert_eq!(
        parents,
        [
            "email:rosa.q@example.org",
            "name:tom quillfeather/1001",
            "name:ivy thistlewood/1003"
        ]
    );
    assert_eq!(export.links.len(), 4);
    let ivy = export.links.iter().find(|l| l.child_key == "1003").unwrap();
    assert_eq!(ivy.parental_responsibility, Some(false));
    assert_eq!(ivy.relationship, Some(Some("Grandmother".into())));

    let p = diff(&export, &Existing::default(), today()).unwrap();
    let c = p.counts();
    assert_eq!((c.added, c.changed, c.leaving, c.unchanged), (6, 0, 0, 0));
    assert_eq!(c.links_added, 4);
    let names: Vec<_> = p.added.iter().map(|a| a.username.as_str()).collect();
    assert!(names.contains(&"milly.quillfeather") && names.contains(&"rosa.quillfeather"));
    assert_eq!(
        p.roles_given(),
        [crate::Role::Pupil, crate::Role::Parent]
            .into_iter()
            .collect()
    );
}

#[test]
fn a_bad_date_names_its_row_and_column_and_every_problem_is_listed() {
    let mut text = SIMS.to_string();
    text = text.replace("30/06/2015", "31/02/2015");
    text = text.replace(
        "rosa.q@example.org,01632 960001,,",
        "not-an-address,01632 960001,,",
    );
    let err = parse(&text).unwrap_err().to_string();
    assert!(
        err.contains("row 4, column \"DOB\": \"31/02/2015\" is not a date"),
        "{err}"
    );
    assert!(
        err.contains(
            "row 3, column \"Contact 1 Email\": \"not-an-address\" is not an email address"
        ),
        "{err}"
    );
}

#[test]
fn rows_are_numbered_as_a_spreadsheet_shows_them() {
    // A blank line is a row; a quoted cell over two lines is one.
    let text = "Adno,Legal Surname,Legal Forename,Reg,DOB\n\
                1,A,B,4K,01/01/2017\n\
                \n\
                2,\"C\nD\",E,4K,01/01/2017\n\
                3,F,G,4K,yesterday\n";
    let err = parse(text).unwrap_err().to_string();
    assert!(err.contains("row 5, column \"DOB\""), "{err}");
}

#[test]
fn problems_a_file_can_have_are_named() {
    let cases = [
        ("", "row 1: the file is empty"),
        (
            "Name,Birthday\nA,B\n",
            "row 1: the header row is not one Palisade knows",
        ),
        (
            "Adno,Legal Surname,Legal Forename,Reg\n1,A,B,4K\n1,C,D,4K\n",
            "row 3: pupil \"1\" is already on row 2",
        ),
        (
            "Adno,Legal Surname,Legal Forename,Reg\n,A,B,4K\n",
            "row 2, column \"Adno\": is empty; every pupil needs an MIS id or UPN",
        ),
        (
            "Adno,UPN,Legal Surname,Legal Forename,Reg\n1,X1,A,B,4K\n",
            "row 2, column \"UPN\": \"X1\" is not a UPN",
        ),
        (
            "Adno,Legal Surname,Legal Forename,Reg\n1,,B,4K\n",
            "row 2, column \"Legal Surname\": is empty; every person needs a name",
        ),
    ];
    for (text, want) in cases {
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains(want), "{text:?}: {err}");
    }
}

const ARBOR_STUDENTS: &str = "\
MIS ID,UPN,First Name,Preferred First Name,Last Name,Date of Birth,Year Group,Registration Form,Date of Admission
A1,B820012345001,Oliver,Ollie,Marchbank,2016-05-01,Year 5,5W,2020-09-01
A2,,Priya,,Venkataraman-Holt,2018-01-20,Year 3,3E,2022-09-01
";
const ARBOR_CONTACTS: &str = "\
Contact ID,Student MIS ID,First Name,Last Name,Relationship,Parental Responsibility,Email Address,Mobile Number
C1,A1,Greta,Marchbank,Mother,Yes,greta.m@example.org,07700 900001
C1,A2,Greta,Marchbank,Carer,Yes,greta.m@example.org,07700 900001
C2,A9,Hugo,Nobody,Father,Yes,,
";

#[test]
fn arbor_contacts_in_their_own_file_link_to_pupils_of_the_import() {
    let students = parse_file(ARBOR_STUDENTS.as_bytes(), "students.csv", None, None).unwrap();
    let contacts = parse_file(ARBOR_CONTACTS.as_bytes(), "contacts.csv", None, None).unwrap();
    assert_eq!(
        (students.format, students.kind),
        (Format::Arbor, FileKind::Pupils)
    );
    assert_eq!(contacts.kind, FileKind::Contacts);
    let export = Export::from_files(vec![students, contacts]).unwrap();
    // A9 is in neither the export nor the database: the contacts file's row names it.
    let err = diff(&export, &Existing::default(), today())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("contacts.csv: row 4, column \"Student MIS ID\": no pupil \"A9\""),
        "{err}"
    );
    let fixed = ARBOR_CONTACTS.replace("C2,A9", "C2,A2");
    let export = Export::from_files(vec![
        parse_file(ARBOR_STUDENTS.as_bytes(), "students.csv", None, None).unwrap(),
        parse_file(fixed.as_bytes(), "contacts.csv", None, None).unwrap(),
    ])
    .unwrap();
    let p = diff(&export, &Existing::default(), today()).unwrap();
    assert_eq!(p.counts().added, 4);
    assert_eq!(p.counts().links_added, 3);
    let ollie = p
        .added
        .iter()
        .find(|a| a.values.mis_id.as_deref() == Some("A1"))
        .unwrap();
    assert_eq!(ollie.values.display_name, "Ollie Marchbank");
    assert_eq!(ollie.values.legal_name.as_deref(), Some("Oliver Marchbank"));
}

#[test]
fn staff_roles_come_from_the_role_column_and_the_mapping() {
    let text = "Staff Code,Title,Legal Surname,Legal Forename,Work Email,Staff Role\n\
                ABC,Ms,Appleyard,Beatrix,b.appleyard@school.example,Class Teacher\n\
                DEF,Mr,Dunmore,Felix,f.dunmore@school.example,Site Manager\n";
    let export = parse(text).unwrap();
    let roles: Vec<_> = export.records.iter().map(|r| r.roles.to_csv()).collect();
    assert_eq!(roles, ["teacher", "staff"]);
    let m = Mapping::from_toml(
        "[roles]\n\"Site Manager\" = \"network_manager\"\n",
        "m.toml",
    )
    .unwrap();
    let file = parse_file(text.as_bytes(), "staff.csv", None, Some(&m)).unwrap();
    assert_eq!(file.records[1].roles.to_csv(), "network_manager");
}

#[test]
fn a_mapped_export_is_read_through_its_mapping() {
    let m = Mapping::from_toml(
        "kind = \"pupils\"\n[columns]\nmis_id = \"Ref\"\nname = \"Pupil\"\ndate_of_birth = \"Born\"\nclass = \"Group\"\n\
         [contacts]\nname = \"Carer {n}\"\nemail = \"Carer {n} Email\"\n",
        "m.toml",
    )
    .unwrap();
    let text = "Ref,Pupil,Born,Group,Carer 1,Carer 1 Email\nR1,Wren Ashdown,2016-02-02,Kingfishers,Sam Ashdown,sam@example.org\n";
    let file = parse_file(text.as_bytes(), "other.csv", None, Some(&m)).unwrap();
    assert_eq!(file.format, Format::Mapped);
    assert_eq!(file.records.len(), 2);
    let wren = file
        .records
        .iter()
        .find(|r| r.kind == PersonKind::Pupil)
        .unwrap();
    assert_eq!(
        (wren.first.as_str(), wren.last.as_str()),
        ("Wren", "Ashdown")
    );
}

#[test]
fn a_second_export_shows_exactly_what_changed() {
    let mut db = Existing::default();
    let first = plan(SIMS, &db);
    apply(&mut db, &first, true);
    assert!(plan(SIMS, &db).is_empty(), "{:?}", plan(SIMS, &db));
    // Barnaby moves class, Cora gets a new carer, Milly's row is gone.
    let second = SIMS
        .replace(",2,2R,", ",2,2S,")
        .replace(
            "Grandmother,No,,,,,,,,",
            "Grandmother,No,,,Thistlewood,Ash,Uncle,No,ash@example.org,",
        )
        .lines()
        .filter(|l| !l.starts_with("1001,"))
        .collect::<Vec<_>>()
        .join("\n");
    let p = plan(&second, &db);
    assert_eq!(p.changed.len(), 1);
    assert_eq!(p.changed[0].display_name, "Barnaby Quillfeather");
    assert_eq!(
        p.changed[0].fields,
        [diff::FieldChange {
            field: "class",
            before: Some("2R".into()),
            after: Some("2S".into())
        }]
    );
    assert_eq!(p.added.len(), 1);
    assert_eq!(p.added[0].values.display_name, "Ash Thistlewood");
    assert_eq!(p.links_added.len(), 1);
    // Milly leaves, and so does Tom, her father, who is no one else's contact; Rosa stays.
    let leaving: Vec<_> = p.leaving.iter().map(|l| l.display_name.as_str()).collect();
    assert_eq!(leaving, ["Milly Quillfeather", "Tom Quillfeather"]);
    apply(&mut db, &p, true);
    assert!(plan(&second, &db).is_empty());
}

#[test]
fn a_hand_made_person_is_taken_over_by_upn_or_email_not_duplicated() {
    let mut db = Existing::default();
    db.people.push(ExistingPerson {
        id: 7,
        kind: PersonKind::Staff,
        username: "head".into(),
        active: true,
        values: Values {
            display_name: "Beatrix Appleyard".into(),
            email: Some("b.appleyard@school.example".into()),
            ..Values::default()
        },
    });
    db.usernames.insert("head".into());
    let text = "Staff Code,Legal Surname,Legal Forename,Work Email\nABC,Appleyard,Beatrix,B.Appleyard@school.example\n";
    let p = plan(text, &db);
    assert!(p.added.is_empty());
    assert_eq!(p.changed[0].id, 7);
    assert_eq!(p.changed[0].fields[0].field, "mis_id");
    // Not in the export, but never imported: not proposed as leaving.
    let p = plan(
        "Staff Code,Legal Surname,Legal Forename\nXYZ,Other,Person\n",
        &db,
    );
    assert!(p.leaving.is_empty());
}

/// A pupil row of a generated SIMS export.
#[derive(Debug, Clone)]
struct Pupil {
    first: String,
    last: String,
    dob: NaiveDate,
    class: u8,
    contacts: Vec<(String, bool, bool)>,
}

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "Ada",
        "Bea",
        "Cai",
        "Zoë",
        "Émile",
        "Ngozi",
        "Siân",
        "O'Neil",
        "Li",
        "Anne-Marie",
    ])
    .prop_map(str::to_string)
}

fn pupils() -> impl Strategy<Value = Vec<Pupil>> {
    let pupil = (
        name(),
        name(),
        0i64..3000,
        1u8..7,
        prop::collection::vec((name(), any::<bool>(), any::<bool>()), 0..3),
    )
        .prop_map(|(first, last, days, class, contacts)| Pupil {
            first,
            last,
            dob: NaiveDate::from_ymd_opt(2014, 9, 1).unwrap() + chrono::Duration::days(days),
            class,
            contacts,
        });
    prop::collection::vec(pupil, 1..25)
}

fn sims(pupils: &[Pupil]) -> String {
    let mut out = String::from(
        "Adno,Legal Surname,Legal Forename,DOB,Year,Reg,\
         Contact 1 Surname,Contact 1 Forename,Contact 1 Email,Contact 1 Parental Responsibility,\
         Contact 2 Surname,Contact 2 Forename,Contact 2 Email,Contact 2 Parental Responsibility\n",
    );
    for (i, p) in pupils.iter().enumerate() {
        out.push_str(&format!(
            "{},{},{},{},{},{}K",
            5000 + i,
            p.last,
            p.first,
            p.dob.format("%d/%m/%Y"),
            p.class,
            p.class
        ));
        for n in 0..2 {
            match p.contacts.get(n) {
                Some((first, email, pr)) => out.push_str(&format!(
                    ",{},{first},{},{}",
                    p.last,
                    if *email {
                        format!("{}.{}@example.org", slug(first), i % 4)
                    } else {
                        String::new()
                    },
                    if *pr { "Yes" } else { "No" }
                )),
                None => out.push_str(",,,,"),
            }
        }
        out.push('\n');
    }
    out
}

proptest! {
    #[test]
    fn importing_any_valid_export_twice_is_importing_it_once(pupils in pupils()) {
        let text = sims(&pupils);
        let mut db = Existing::default();
        let first = plan(&text, &db);
        prop_assert_eq!(first.counts().added, first.added.len());
        apply(&mut db, &first, true);
        let once = db.people.len();
        let again = plan(&text, &db);
        prop_assert!(again.is_empty(), "{:?}", again);
        prop_assert_eq!(again.unchanged, first.added.len());
        apply(&mut db, &again, true);
        prop_assert_eq!(db.people.len(), once);
        // Every username is valid and different.
        let names: std::collections::HashSet<_> = db.people.iter().map(|p| &p.username).collect();
        prop_assert_eq!(names.len(), db.people.len());
        for p in &db.people {
            prop_assert!(crate::people::check_username(&p.username).is_ok(), "{}", p.username);
        }
    }

    #[test]
    fn any_bad_cell_names_its_row_and_column(
        pupils in pupils(),
        pick in any::<prop::sample::Index>(),
        column in prop::sample::select(vec![(3usize, "DOB", "31/02/2015"), (8, "Contact 1 Email", "x@"), (9, "Contact 1 Parental Responsibility", "perhaps")]),
    ) {
        let text = sims(&pupils);
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let row = 1 + pick.index(pupils.len());
        let mut cells: Vec<String> = lines[row].split(',').map(str::to_string).collect();
        let (at, header, bad) = column;
        if at > 3 {
            // A contact's cell is only read when the contact is there.
            cells[6] = "Surname".into();
            cells[7] = "First".into();
        }
        cells[at] = bad.to_string();
        lines[row] = cells.join(",");
        let err = parse(&lines.join("\n")).unwrap_err().to_string();
        let want = format!("row {}, column \"{header}\": \"{bad}\"", row + 1);
        prop_assert!(err.contains(&want), "{} not in {}", want, err);
    }
}
