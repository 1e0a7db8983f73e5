//! The people list as pages show it: filtered, a page at a time, each person with their login
//! account in the same query (a school of 2,000 pupils and 3,000 parents is one read, not one
//! per person).

use super::{Account, PERSON_COLUMNS, Person};
use crate::{Result, Store};
use policy::PersonKind;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

/// Which people a list shows, and which page of them.
#[derive(Debug, Clone, Default)]
pub struct PeopleQuery {
    pub kind: Option<PersonKind>,
    /// Part of the name or username, in any case.
    pub text: Option<String>,
    pub year_group: Option<String>,
    /// Rows to skip, and the most to return.
    pub offset: i64,
    pub limit: i64,
}

/// A person as the list shows them: with their login account, if they have one.
#[derive(Debug, Clone)]
pub struct ListedPerson {
    pub person: Person,
    pub account: Option<Account>,
}

/// One page of the list and how many people match in all.
#[derive(Debug, Clone)]
pub struct PeopleList {
    pub people: Vec<ListedPerson>,
    pub total: i64,
}

/// The account's columns, named apart from the person's (both have `active`).
const ACCOUNT_COLUMNS: &str = "a.person_id AS account_person_id, a.password_hash AS account_password_hash, \
     a.active AS account_active, a.failed_logins AS account_failed_logins, \
     a.locked_until AS account_locked_until, a.password_changed_at AS account_password_changed_at, \
     a.must_change_password AS account_must_change_password, \
     a.totp_enrolled_at AS account_totp_enrolled_at";

/// The conditions of a [`PeopleQuery`], over `people p`, with their binds in order: kind,
/// text pattern, year group.
const WHERE: &str = "($1 = '' OR p.kind = $1) \
     AND ($2 = '' OR LOWER(p.display_name) LIKE $2 ESCAPE '\\' OR LOWER(p.username) LIKE $2 ESCAPE '\\') \
     AND ($3 = '' OR p.year_group = $3)";

impl<'r> FromRow<'r, AnyRow> for ListedPerson {
    fn from_row(row: &'r AnyRow) -> sqlx::Result<Self> {
        let person = Person::from_row(row)?;
        let account = match row.try_get::<Option<i64>, _>("account_person_id")? {
            None => None,
            Some(person_id) => Some(Account {
                person_id,
                password_hash: row.try_get("account_password_hash")?,
                active: row.try_get("account_active")?,
                failed_logins: row.try_get("account_failed_logins")?,
                locked_until: row.try_get("account_locked_until")?,
                password_changed_at: row.try_get("account_password_changed_at")?,
                must_change_password: row.try_get("account_must_change_password")?,
                totp_enrolled_at: row.try_get("account_totp_enrolled_at")?,
            }),
        };
        Ok(ListedPerson { person, account })
    }
}

/// `text` as a LIKE pattern that matches it anywhere, its own `%`, `_` and `\` taken literally.
fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl Store {
    /// One page of the people `query` asks for, in the list's order (kind, year, class, name),
    /// each with their account, and how many match in all.
    pub async fn people_page(&self, query: &PeopleQuery) -> Result<PeopleList> {
        let kind = query.kind.map(PersonKind::as_str).unwrap_or_default();
        let text = query
            .text
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(contains_pattern)
            .unwrap_or_default();
        let year = query.year_group.clone().unwrap_or_default();
        let person_columns = PERSON_COLUMNS
            .split(',')
            .map(|c| format!("p.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut tx = self.read().await?;
        let (total,): (i64,) = sqlx::query_as(sql!("SELECT COUNT(*) FROM people p WHERE {WHERE}"))
            .bind(kind)
            .bind(&text)
            .bind(&year)
            .fetch_one(&mut *tx)
            .await?;
        let people = sqlx::query_as(sql!(
            "SELECT {person_columns}, {ACCOUNT_COLUMNS} FROM people p \
             LEFT JOIN accounts a ON a.person_id = p.id WHERE {WHERE} \
             ORDER BY p.kind, p.year_group, p.class_name, p.display_name, p.id \
             LIMIT $4 OFFSET $5"
        ))
        .bind(kind)
        .bind(&text)
        .bind(&year)
        .bind(query.limit.max(0))
        .bind(query.offset.max(0))
        .fetch_all(&mut *tx)
        .await?;
        Ok(PeopleList { people, total })
    }

    /// The year groups people are in, in order, for a list's filter.
    pub async fn year_groups(&self) -> Result<Vec<String>> {
        let mut years: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT year_group FROM people WHERE year_group IS NOT NULL \
             AND year_group <> ''",
        )
        .fetch_all(&mut *self.read().await?)
        .await?;
        // "Year 2" before "Year 10": by the words, then by the number in them.
        years.sort_by_key(|y| {
            let number: String = y.chars().filter(char::is_ascii_digit).collect();
            let words: String = y.chars().filter(|c| !c.is_ascii_digit()).collect();
            (words, number.parse::<u32>().unwrap_or(0), y.clone())
        });
        Ok(years)
    }
}
