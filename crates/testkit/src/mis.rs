//! MIS exports for import tests and benchmarks: the shipped fictional samples
//! (`crates/palisade/tests/data/mis/`) and a generated school of any size, the same every time.

use std::fmt::Write;
use std::path::PathBuf;

/// A shipped sample export, e.g. `sims-pupils.csv` (a canonical path: a browser's file input
/// takes no `..`).
pub fn sample(name: &str) -> PathBuf {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../palisade/tests/data/mis"
    ))
    .join(name);
    std::fs::canonicalize(&path).unwrap_or(path)
}

/// A shipped sample's text.
pub fn sample_text(name: &str) -> String {
    std::fs::read_to_string(sample(name)).expect("the sample export is shipped")
}

const FIRST: [&str; 40] = [
    "Ada", "Bram", "Cleo", "Dara", "Eben", "Fern", "Gus", "Hedda", "Ines", "Jory", "Kit", "Lior",
    "Mabyn", "Nell", "Oswin", "Pip", "Quinn", "Rhys", "Suki", "Tobin", "Una", "Vale", "Wynn",
    "Xavi", "Yara", "Zeb", "Aled", "Bryn", "Cai", "Delyth", "Efa", "Ffion", "Gethin", "Heulwen",
    "Iolo", "Jac", "Lowri", "Macsen", "Nesta", "Osian",
];
const STEM: [&str; 20] = [
    "Ash", "Bram", "Cob", "Dun", "Elm", "Fern", "Gorse", "Heath", "Ivy", "Kes", "Lark", "Moss",
    "Nettle", "Oak", "Pine", "Quill", "Reed", "Sedge", "Thorn", "Wild",
];
const END: [&str; 10] = [
    "by", "wick", "worth", "ford", "ley", "combe", "hollow", "field", "stead", "well",
];
const CLASSES: [(&str, &str); 7] = [
    ("R", "R"),
    ("1", "1"),
    ("2", "2"),
    ("3", "3"),
    ("4", "4"),
    ("5", "5"),
    ("6", "6"),
];

fn surname(n: usize) -> String {
    format!(
        "{}{}",
        STEM[n % STEM.len()],
        END[(n / STEM.len()) % END.len()]
    )
}

/// A SIMS pupils export of `pupils` fictional pupils with `contacts` contacts between them
/// (at most two a pupil, given to the first pupils first), with repeated contact columns as
/// [`policy::import`] reads them; every tenth pupil shares the contact of the pupil before
/// (siblings).
pub fn sims_pupils(pupils: usize, contacts: usize) -> String {
    let mut out = String::from(
        "Adno,UPN,Legal Surname,Legal Forename,Preferred Surname,Preferred Forename,DOB,Year,Reg,\
         Admission Date,Leaving Date,\
         Contact 1 Surname,Contact 1 Forename,Contact 1 Relationship,Contact 1 Parental Responsibility,Contact 1 Email,Contact 1 Telephone,\
         Contact 2 Surname,Contact 2 Forename,Contact 2 Relationship,Contact 2 Parental Responsibility,Contact 2 Email,Contact 2 Telephone\n",
    );
    // Contacts per pupil: one each, then a second for the first pupils until `contacts`.
    let second = contacts.saturating_sub(pupils);
    let mut family = 0;
    for i in 0..pupils {
        if i % 10 != 9 {
            family = i;
        }
        let last = surname(family * 7 + 3);
        let first = FIRST[(i * 13) % FIRST.len()];
        let (year, class) = CLASSES[i % CLASSES.len()];
        let age = if year == "R" {
            4
        } else {
            4 + year.parse::<usize>().unwrap_or(0)
        };
        let born = 2025 - age;
        let _ = write!(
            out,
            "{},Z{:012},{last},{first},,,{:02}/{:02}/{born},{year},{class}{},01/09/{},,",
            10_000 + i,
            820_000_000_000usize + i,
            1 + i % 28,
            1 + (i / 28) % 12,
            ["A", "B", "C"][i % 3],
            born + 4,
        );
        let count = if i < pupils.min(contacts) { 1 } else { 0 } + usize::from(i < second);
        for n in 0..2 {
            if n < count {
                let parent = FIRST[(family * 7 + n * 11 + 5) % FIRST.len()];
                let _ = write!(
                    out,
                    "{last},{parent},Parent,Yes,{}.{}{family}{n}@example.org,07700 9{:05}",
                    parent.to_lowercase(),
                    last.to_lowercase(),
                    (family * 2 + n) % 100_000
                );
            } else {
                out.push_str(",,,,,");
            }
            if n == 0 {
                out.push(',');
            }
        }
        out.push('\n');
    }
    out
}

/// A SIMS staff export of `staff` fictional staff, a third of them teachers.
pub fn sims_staff(staff: usize) -> String {
    let mut out = String::from(
        "Staff Code,Title,Legal Surname,Legal Forename,Preferred Forename,Work Email,Staff Role\n",
    );
    for i in 0..staff {
        let last = surname(i * 3 + 1);
        let first = FIRST[(i * 7 + 2) % FIRST.len()];
        let role = ["Class Teacher", "Teaching Assistant", "Midday Supervisor"][i % 3];
        let _ = writeln!(
            out,
            "S{i:04},Mx,{last},{first},,{}.{}{i}@school.example,{role}",
            first.to_lowercase(),
            last.to_lowercase()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_school_is_a_valid_export_of_the_size_asked() {
        let pupils = sims_pupils(200, 300);
        let file = policy::import::parse_file(pupils.as_bytes(), "big.csv", None, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(file.rows, 200);
        assert_eq!(file.links.len(), 300);
        let staff = sims_staff(15);
        let file = policy::import::parse_file(staff.as_bytes(), "staff.csv", None, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(file.records.len(), 15);
    }
}
