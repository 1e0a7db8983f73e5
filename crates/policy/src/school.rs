//! A school as the database knows it: its slug, the short name commands and trust pages use.

use crate::PolicyError;

/// Longest slug, in characters.
pub const MAX_SLUG_CHARS: usize = 40;

/// Checks a slug: 1 to 40 lower-case ASCII letters, digits and single hyphens, starting with a
/// letter (`holt`, `holt-primary`, `coleridge-2`).
pub fn check_slug(slug: &str) -> Result<(), PolicyError> {
    let ok = !slug.is_empty()
        && slug.len() <= MAX_SLUG_CHARS
        && slug.starts_with(|c: char| c.is_ascii_lowercase())
        && !slug.ends_with('-')
        && !slug.contains("--")
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(PolicyError::invalid(
            "slug",
            format!(
                "`{slug}` must be 1 to {MAX_SLUG_CHARS} lower-case letters, digits and single hyphens, starting with a letter"
            ),
        ))
    }
}

/// The slug a school's name gives: lower-case letters and digits, other characters as single
/// hyphens, cut to the longest slug (`Holt Primary School` is `holt-primary-school`). A name
/// with no letter or digit, or one starting with a digit, gets `school-` in front.
pub fn slug_from_name(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.starts_with(|c: char| c.is_ascii_lowercase()) {
        slug.to_string()
    } else {
        format!("school-{slug}").trim_end_matches('-').to_string()
    };
    let mut cut: String = slug.chars().take(MAX_SLUG_CHARS).collect();
    while cut.ends_with('-') {
        cut.pop();
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schools_name_gives_a_valid_slug() {
        for (name, slug) in [
            ("Holt Primary", "holt-primary"),
            ("Coleridge  Primary School", "coleridge-primary-school"),
            ("St. Mary's C of E (VA)", "st-mary-s-c-of-e-va"),
            ("École Française", "cole-fran-aise"),
            ("1st Academy", "school-1st-academy"),
            ("!!!", "school"),
            ("", "school"),
        ] {
            assert_eq!(slug_from_name(name), slug, "{name}");
            assert_eq!(check_slug(&slug_from_name(name)).ok(), Some(()), "{name}");
        }
        let long = slug_from_name(&"a very long school name ".repeat(5));
        assert!(
            long.len() <= MAX_SLUG_CHARS && !long.ends_with('-'),
            "{long}"
        );
        assert_eq!(check_slug(&long).ok(), Some(()));
    }

    #[test]
    fn bad_slugs_are_refused_by_name() {
        for bad in [
            "",
            "Holt",
            "holt_primary",
            "-holt",
            "holt-",
            "ho--lt",
            "1holt",
            "holt primary",
        ] {
            let Err(e) = check_slug(bad) else {
                panic!("`{bad}` was accepted");
            };
            assert!(e.to_string().starts_with("slug: "), "{e}");
        }
    }
}
