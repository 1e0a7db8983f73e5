//! Reading one CSV file of an export into records and links, every cell checked and every
//! problem named by its row and column.

use super::cells::{self, MAX_ID, MAX_NAME, MAX_SHORT};
use super::formats::{Field, Layout, layout};
use super::mapping::Mapping;
use super::{FileKind, Format, Link, ParsedFile, Problem, Record, RowRef, Said};
use crate::PolicyError;
use crate::people::PersonKind;
use crate::roles::{Role, RoleSet};
use std::collections::BTreeMap;

/// Reads one file of an export, `source` naming it in problems. `format` `None` recognises
/// the export by its header row; a `mapping` with columns names them instead.
pub fn parse_file(
    bytes: &[u8],
    source: &str,
    format: Option<Format>,
    mapping: Option<&Mapping>,
) -> Result<ParsedFile, PolicyError> {
    let text = cells::decode(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let problem = |row: usize, column: Option<&str>, message: String| Problem {
        source: None,
        row,
        column: column.map(str::to_string),
        message,
    };
    let fail = |p: Problem| PolicyError::Import { problems: vec![p] };
    let mut rows = SpreadsheetRows::default();
    let mut records = reader.records();
    let (header_row, headers) = match records.next() {
        None => return Err(fail(problem(1, None, "the file is empty".into()))),
        Some(Err(e)) => return Err(fail(problem(rows.next_row(None), None, csv_error(&e)))),
        Some(Ok(r)) => (
            rows.next_row(Some(&r)),
            r.iter().map(str::to_string).collect::<Vec<_>>(),
        ),
    };
    let layout =
        layout(&headers, format, mapping).map_err(|m| fail(problem(header_row, None, m)))?;
    needs_columns(&layout, &headers).map_err(|m| fail(problem(header_row, None, m)))?;
    let mut file = ParsedFile {
        source: source.to_string(),
        format: layout.format,
        kind: layout.kind,
        rows: 0,
        has_contacts: layout.kind == FileKind::Contacts || !layout.contacts.is_empty(),
        records: Vec::new(),
        links: Vec::new(),
    };
    let mut problems = Vec::new();
    for result in records {
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                problems.push(problem(rows.next_row(None), None, csv_error(&e)));
                continue;
            }
        };
        let row = rows.next_row(Some(&record));
        if record.iter().all(str::is_empty) {
            continue;
        }
        file.rows += 1;
        let mut cells = Row {
            record: &record,
            headers: &headers,
            row,
            at: RowRef {
                source: source.to_string(),
                row,
            },
            problems: &mut problems,
        };
        match layout.kind {
            FileKind::Pupils => {
                if let Some(pupil) = cells.pupil(&layout.columns) {
                    let key = pupil.key.clone();
                    file.records.push(pupil);
                    for contact in &layout.contacts {
                        if let Some((parent, link)) = cells.contact(contact, Some(&key)) {
                            file.records.push(parent);
                            file.links.push(link);
                        }
                    }
                }
            }
            FileKind::Contacts => {
                if let Some((parent, link)) = cells.contact(&layout.columns, None) {
                    file.records.push(parent);
                    file.links.push(link);
                }
            }
            FileKind::Staff => {
                if let Some(staff) = cells.staff(&layout) {
                    file.records.push(staff);
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(file)
    } else {
        Err(PolicyError::Import { problems })
    }
}

fn csv_error(e: &csv::Error) -> String {
    format!("the row could not be read as CSV: {e}")
}

/// Rows as a spreadsheet numbers them: a blank line is a row (the CSV reader skips it), a
/// record whose quoted cell runs over several lines is one.
#[derive(Default)]
struct SpreadsheetRows {
    /// The last row given, and the file line its record ended on.
    row: usize,
    end_line: u64,
}

impl SpreadsheetRows {
    fn next_row(&mut self, record: Option<&csv::StringRecord>) -> usize {
        let Some(record) = record else {
            self.row += 1;
            return self.row;
        };
        let start = record.position().map_or(self.end_line + 1, |p| p.line());
        let blank = start.saturating_sub(self.end_line + 1);
        self.row += 1 + usize::try_from(blank).unwrap_or(0);
        let inner_newlines = record
            .iter()
            .map(|c| c.matches('\n').count())
            .sum::<usize>();
        self.end_line = start + inner_newlines as u64;
        self.row
    }
}

/// Checks that a file has a column for everything each of its rows needs.
fn needs_columns(layout: &Layout, headers: &[String]) -> Result<(), String> {
    let has = |f: Field| layout.columns.contains_key(&f);
    let named = has(Field::Name)
        || ((has(Field::Forename) || has(Field::LegalForename))
            && (has(Field::Surname) || has(Field::LegalSurname)));
    let missing = match layout.kind {
        FileKind::Pupils if !has(Field::MisId) && !has(Field::Upn) => {
            Some("a column for the pupil's MIS id or UPN")
        }
        FileKind::Contacts if !has(Field::PupilId) => Some("a column naming the pupil"),
        FileKind::Staff if !has(Field::MisId) && !has(Field::Email) => {
            Some("a column for the staff code or email")
        }
        _ if !named => Some("columns for the names"),
        _ => None,
    };
    let _ = headers;
    match missing {
        Some(what) => Err(format!(
            "the header row has no {what} (a {} {} file)",
            layout.format.title(),
            layout.kind.as_str()
        )),
        None => Ok(()),
    }
}

/// One data row being read, and the problems found in it.
struct Row<'a> {
    record: &'a csv::StringRecord,
    headers: &'a [String],
    row: usize,
    at: RowRef,
    problems: &'a mut Vec<Problem>,
}

/// A person's names as the row gives them: display parts and the legal name if said.
struct Names {
    first: String,
    last: String,
    display: String,
    legal: Said,
}

impl Row<'_> {
    /// The cell of `field` under `columns`, when the file has the column.
    fn cell(&self, columns: &BTreeMap<Field, usize>, field: Field) -> Option<(&str, &str)> {
        let at = *columns.get(&field)?;
        let header = self.headers.get(at).map_or("", String::as_str);
        Some((self.record.get(at).unwrap_or(""), header))
    }

    fn problem(&mut self, column: &str, message: String) {
        self.problems.push(Problem {
            source: None,
            row: self.row,
            column: Some(column.to_string()),
            message,
        });
    }

    /// A cell read by `read` (empty: `Some(None)`), the problem kept when it fails.
    fn said(
        &mut self,
        columns: &BTreeMap<Field, usize>,
        field: Field,
        read: impl Fn(&str) -> Result<String, String>,
    ) -> Said {
        let (cell, header) = self.cell(columns, field)?;
        if cell.is_empty() {
            return Some(None);
        }
        let (cell, header) = (cell.to_string(), header.to_string());
        match read(&cell) {
            Ok(v) => Some(Some(v)),
            Err(m) => {
                self.problem(&header, m);
                Some(None)
            }
        }
    }

    fn date(&mut self, columns: &BTreeMap<Field, usize>, field: Field) -> Said {
        self.said(columns, field, |c| {
            cells::date(c).map(|d| d.format("%Y-%m-%d").to_string())
        })
    }

    fn short(&mut self, columns: &BTreeMap<Field, usize>, field: Field) -> Said {
        self.said(columns, field, |c| cells::text(c, MAX_SHORT))
    }

    /// A cell that must not be empty, checked as text of at most `max`.
    fn required(
        &mut self,
        columns: &BTreeMap<Field, usize>,
        field: Field,
        max: usize,
        what: &str,
    ) -> Option<String> {
        let (cell, header) = self.cell(columns, field)?;
        let (cell, header) = (cell.to_string(), header.to_string());
        if cell.is_empty() {
            self.problem(&header, format!("is empty; {what}"));
            return None;
        }
        match cells::text(&cell, max) {
            Ok(v) => Some(v),
            Err(m) => {
                self.problem(&header, m);
                None
            }
        }
    }

    /// The names: a whole-name column, or forename and surname (the preferred, else the legal).
    fn names(&mut self, columns: &BTreeMap<Field, usize>) -> Option<Names> {
        let part = |row: &mut Self, field: Field| -> Option<(String, String)> {
            let (cell, header) = row.cell(columns, field)?;
            let (cell, header) = (cell.to_string(), header.to_string());
            match cells::text(&cell, MAX_NAME) {
                Ok(v) => Some((v, header)),
                Err(m) => {
                    row.problem(&header, m);
                    Some((String::new(), header))
                }
            }
        };
        let preferred_first = part(self, Field::Forename);
        let preferred_last = part(self, Field::Surname);
        let legal_first = part(self, Field::LegalForename);
        let legal_last = part(self, Field::LegalSurname);
        let whole = part(self, Field::Name);
        let pick = |a: &Option<(String, String)>, b: &Option<(String, String)>| {
            a.as_ref()
                .map(|x| x.0.clone())
                .filter(|s| !s.is_empty())
                .or_else(|| b.as_ref().map(|x| x.0.clone()).filter(|s| !s.is_empty()))
        };
        let first = pick(&preferred_first, &legal_first);
        let last = pick(&preferred_last, &legal_last);
        let (first, last) = match (first, last, &whole) {
            (Some(f), Some(l), _) => (f, l),
            (_, _, Some((w, _))) if !w.is_empty() => {
                let mut parts = w.rsplitn(2, ' ');
                let l = parts.next().unwrap_or_default().to_string();
                let f = parts.next().unwrap_or_default().to_string();
                (f, l)
            }
            (f, l, _) => {
                let column = if f.is_none() {
                    [&preferred_first, &legal_first, &whole]
                } else {
                    [&preferred_last, &legal_last, &whole]
                }
                .iter()
                .find_map(|c| c.as_ref().map(|x| x.1.clone()))
                .unwrap_or_default();
                let _ = l;
                self.problem(&column, "is empty; every person needs a name".into());
                return None;
            }
        };
        let display = [first.as_str(), last.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        let legal = (legal_first.is_some() || legal_last.is_some()).then(|| {
            let lf = pick(&legal_first, &preferred_first).unwrap_or_default();
            let ll = pick(&legal_last, &preferred_last).unwrap_or_default();
            let legal = format!("{lf} {ll}").trim().to_string();
            (legal != display && !legal.is_empty()).then_some(legal)
        });
        Some(Names {
            first,
            last,
            display,
            legal,
        })
    }

    fn pupil(&mut self, c: &BTreeMap<Field, usize>) -> Option<Record> {
        let id = self.said(c, Field::MisId, |v| cells::text(v, MAX_ID));
        let upn = self.said(c, Field::Upn, cells::upn);
        let names = self.names(c);
        let key = match (&id, &upn) {
            (Some(Some(id)), _) => Some(id.clone()),
            (_, Some(Some(upn))) => Some(upn.clone()),
            _ => {
                let column = self
                    .cell(c, Field::MisId)
                    .or_else(|| self.cell(c, Field::Upn))
                    .map(|x| x.1.to_string())
                    .unwrap_or_default();
                self.problem(
                    &column,
                    "is empty; every pupil needs an MIS id or UPN".into(),
                );
                None
            }
        };
        // Every cell is read before giving up on the row, so that all its problems are listed.
        let date_of_birth = self.date(c, Field::DateOfBirth);
        let year_group = self.said(c, Field::YearGroup, cells::year_group);
        let class_name = self.short(c, Field::Class);
        let admitted_on = self.date(c, Field::AdmittedOn);
        let leaves_on = self.date(c, Field::LeavesOn);
        let email = self.said(c, Field::Email, cells::email);
        let phone = self.said(c, Field::Phone, cells::phone);
        Some(Record {
            kind: PersonKind::Pupil,
            key: key?,
            at: self.at.clone(),
            upn,
            date_of_birth,
            year_group,
            class_name,
            admitted_on,
            leaves_on,
            email,
            phone,
            roles: RoleSet::of(Role::Pupil),
            ..named(names?)
        })
    }

    fn staff(&mut self, layout: &Layout) -> Option<Record> {
        let c = &layout.columns;
        let id = self.said(c, Field::MisId, |v| cells::text(v, MAX_ID));
        let email = self.said(c, Field::Email, cells::email);
        let names = self.names(c);
        let key = match (&id, &email) {
            (Some(Some(id)), _) => Some(id.clone()),
            (_, Some(Some(e))) => Some(format!("email:{e}")),
            _ => {
                let column = self
                    .cell(c, Field::MisId)
                    .or_else(|| self.cell(c, Field::Email))
                    .map(|x| x.1.to_string())
                    .unwrap_or_default();
                self.problem(
                    &column,
                    "is empty; every member of staff needs a staff code or email".into(),
                );
                None
            }
        };
        let role = self.said(c, Field::Role, |v| cells::text(v, MAX_NAME));
        let roles = match role {
            Some(Some(said)) => layout.roles.roles_of(&said),
            _ => layout.roles.otherwise,
        };
        let phone = self.said(c, Field::Phone, cells::phone);
        let leaves_on = self.date(c, Field::LeavesOn);
        Some(Record {
            kind: PersonKind::Staff,
            key: key?,
            at: self.at.clone(),
            email,
            phone,
            leaves_on,
            roles,
            ..named(names?)
        })
    }

    /// A parent or carer and their link to a pupil: `child` is the pupil of the row, or for a
    /// contacts file `None` (the row names them). `None` when the contact's cells are all empty
    /// (a pupil with fewer contacts than the file has columns for) or a cell is wrong.
    fn contact(
        &mut self,
        c: &BTreeMap<Field, usize>,
        child: Option<&str>,
    ) -> Option<(Record, Link)> {
        let empty = c
            .iter()
            .filter(|(f, _)| **f != Field::PupilId)
            .all(|(_, at)| self.record.get(*at).unwrap_or("").is_empty());
        if empty && child.is_some() {
            return None;
        }
        let (child, pupil_column) = match child {
            Some(k) => (Some(k.to_string()), None),
            None => {
                let header = self.cell(c, Field::PupilId).map(|x| x.1.to_string());
                let id = self.required(c, Field::PupilId, MAX_ID, "each contact names their pupil");
                (id, header)
            }
        };
        let id = self.said(c, Field::MisId, |v| cells::text(v, MAX_ID));
        let email = self.said(c, Field::Email, cells::email);
        let phone = self.said(c, Field::Phone, cells::phone);
        let relationship = self.short(c, Field::Relationship);
        let pr = match self.cell(c, Field::ParentalResponsibility) {
            None => None,
            Some(("", _)) => None,
            Some((cell, header)) => {
                let (cell, header) = (cell.to_string(), header.to_string());
                match cells::yes_no(&cell) {
                    Ok(b) => Some(b),
                    Err(m) => {
                        self.problem(&header, m);
                        None
                    }
                }
            }
        };
        let names = self.names(c)?;
        let child = child?;
        let key = match (&id, &email) {
            (Some(Some(id)), _) => id.clone(),
            (_, Some(Some(e))) => format!("email:{e}"),
            _ => format!("name:{}/{child}", names.display.to_lowercase()),
        };
        let parent = Record {
            kind: PersonKind::Parent,
            key: key.clone(),
            at: self.at.clone(),
            email,
            phone,
            roles: RoleSet::of(Role::Parent),
            // A contact's legal name is the MIS's business, not Palisade's.
            legal_name: None,
            ..named(names)
        };
        let link = Link {
            parent_key: key,
            child_key: child,
            relationship,
            parental_responsibility: pr,
            at: self.at.clone(),
            pupil_column,
        };
        Some((parent, link))
    }
}

/// A record with these names and nothing else said (the caller fills in the rest).
fn named(n: Names) -> Record {
    Record {
        kind: PersonKind::Pupil,
        key: String::new(),
        at: RowRef {
            source: String::new(),
            row: 0,
        },
        first: n.first,
        last: n.last,
        display_name: n.display,
        legal_name: n.legal,
        upn: None,
        date_of_birth: None,
        year_group: None,
        class_name: None,
        admitted_on: None,
        leaves_on: None,
        email: None,
        phone: None,
        roles: RoleSet::EMPTY,
    }
}
