//! Usernames for imported people: `firstname.lastname`, then `firstname.lastname2`, `3`, ...
//! until one is free. Deterministic (the same names and the same taken set give the same
//! username), so a dry run shows the usernames the import will give.

use super::cells::slug;
use crate::people::{PersonKind, check_username};

/// Titles a whole-name column may begin with (`Mrs Jane Doe`): not part of a username.
const TITLES: [&str; 8] = ["mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev"];

/// The longest base kept, leaving room for the digits.
const MAX_BASE: usize = 58;

/// A free username for a person called `first` `last`; `taken` says whether one is in use.
pub fn username_for(
    first: &str,
    last: &str,
    kind: PersonKind,
    taken: impl Fn(&str) -> bool,
) -> String {
    let first_words: Vec<&str> = first
        .split_whitespace()
        .skip_while(|w| TITLES.contains(&w.trim_end_matches('.').to_lowercase().as_str()))
        .collect();
    let (f, l) = (slug(&first_words.join(" ")), slug(last));
    let mut base = match (f.is_empty(), l.is_empty()) {
        (false, false) => format!("{f}.{l}"),
        (false, true) => f,
        (true, false) => l,
        // A name with no Latin letters at all (李): the kind, numbered.
        (true, true) => kind.as_str().to_string(),
    };
    if base.len() > MAX_BASE {
        base.truncate(MAX_BASE);
        while base.ends_with(['.', '-']) {
            base.pop();
        }
    }
    let valid = |u: &str| check_username(u).is_ok();
    if valid(&base) && !taken(&base) {
        return base;
    }
    (2u32..)
        .map(|n| format!("{base}{n}"))
        .find(|u| valid(u) && !taken(u))
        .unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn usernames_are_first_dot_last_numbered_when_taken() {
        let mut taken: HashSet<String> = HashSet::new();
        let mut next = |f: &str, l: &str| {
            let u = username_for(f, l, PersonKind::Pupil, |u| taken.contains(u));
            taken.insert(u.clone());
            u
        };
        assert_eq!(next("Amelia", "Brightwater"), "amelia.brightwater");
        assert_eq!(next("Amelia", "Brightwater"), "amelia.brightwater2");
        assert_eq!(next("Amelia", "Brightwater"), "amelia.brightwater3");
        assert_eq!(next("Zoë", "O'Neill-Price"), "zoe.oneill-price");
        assert_eq!(next("Mrs Jane", "Doe"), "jane.doe");
        assert_eq!(next("李", "王"), "pupil");
        assert_eq!(next("李", "王"), "pupil2");
        let long = "a".repeat(80);
        let u = next(&long, "b");
        assert!(check_username(&u).is_ok() && u.len() <= 64, "{u}");
    }
}
