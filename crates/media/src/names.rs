//! Folding text to comparable tokens, and finding pupils' names in it.
//!
//! Folding: Unicode NFKD, combining marks dropped (`Zoë` → `zoe`), a few letters that do
//! not decompose spelled out (`ß` → `ss`, `ø` → `o`, `æ` → `ae`, ...), lower case,
//! apostrophes removed inside words (`O'Brien` → `obrien`) and a possessive `'s` dropped
//! (`Jones's` → `jones`). Every other non-alphanumeric character (`_ - . space`, ...)
//! separates tokens.
//!
//! A pupil's display name gives its first word and last word (middle words are only used
//! for the full-name form). A name is found when the token sequence `first last`,
//! `last first`, or the full name appears as *consecutive* tokens; a hyphenated word also
//! matches in its joined form (`O'Brien-Smith` → `obrien smith` or `obriensmith`).
//! A first name (or any single word) alone is never a finding: "Amelia" is in too many
//! names and captions to mean a particular pupil. A pupil whose display name is a
//! single word therefore cannot be matched at all.
//!
//! File names are often squashed (`ameliajones.jpg`, `AmeliaJones.jpg`), so in file names
//! consecutive tokens whose concatenation equals a name form also match, provided the
//! concatenation is at least [`MIN_SQUASHED_LEN`] letters long. This can in rare cases
//! flag an unrelated word that happens to spell a short pupil's squashed name (pupil
//! "Ann Abel" vs `annabel.jpg`); a false flag only asks a person to look, so we accept it.
//! Squashed forms are not accepted in metadata and captions, where people write names
//! with spaces.

use std::collections::{BTreeSet, HashMap};

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::Pupil;

/// Shortest squashed (concatenated) name accepted in file names.
pub const MIN_SQUASHED_LEN: usize = 6;

/// Longest name form, in tokens, that is looked for.
const MAX_FORM_TOKENS: usize = 8;

/// Folds text (see the module docs) and splits it into tokens.
pub fn tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.nfkd().filter(|c| !is_combining_mark(*c)).collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_apostrophe(c) {
            // Possessive 's at the end of a word: drop it (Jones's -> jones).
            let next = chars.get(i + 1).copied();
            let after = chars.get(i + 2).copied();
            if matches!(next, Some('s' | 'S')) && !after.is_some_and(char::is_alphanumeric) {
                i += 2;
                continue;
            }
            // Otherwise an apostrophe joins (O'Brien -> obrien).
            i += 1;
            continue;
        }
        if c.is_alphanumeric() {
            push_folded(&mut cur, c);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' | '\u{00B4}'
    )
}

fn push_folded(out: &mut String, c: char) {
    let spelled = match c {
        'ß' | 'ẞ' => "ss",
        'ø' | 'Ø' => "o",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        'ł' | 'Ł' => "l",
        'đ' | 'Đ' | 'ð' | 'Ð' => "d",
        'þ' | 'Þ' => "th",
        'ı' => "i",
        _ => {
            out.extend(c.to_lowercase());
            return;
        }
    };
    out.push_str(spelled);
}

/// The token sequences that count as naming a pupil (see the module docs).
fn name_forms(display_name: &str) -> Vec<Vec<String>> {
    let words: Vec<Vec<String>> = display_name
        .split_whitespace()
        .map(tokens)
        .filter(|w| !w.is_empty())
        .collect();
    let (Some(first), Some(last)) = (words.first(), words.last()) else {
        return Vec::new();
    };
    if words.len() < 2 {
        return Vec::new();
    }
    let variants = |w: &Vec<String>| {
        let mut v = vec![w.clone()];
        if w.len() > 1 {
            v.push(vec![w.concat()]);
        }
        v
    };
    let mut forms = BTreeSet::new();
    for f in variants(first) {
        for l in variants(last) {
            forms.insert([f.clone(), l.clone()].concat());
            forms.insert([l, f.clone()].concat());
        }
    }
    forms.insert(words.concat());
    forms
        .into_iter()
        .filter(|f| f.len() <= MAX_FORM_TOKENS)
        .collect()
}

/// Finds pupils' names in folded text; built once per scan.
#[derive(Debug, Default)]
pub struct Matcher {
    /// `"amelia jones"` → pupils.
    spaced: HashMap<String, BTreeSet<i64>>,
    /// `"ameliajones"` → pupils (file names only).
    squashed: HashMap<String, BTreeSet<i64>>,
}

impl Matcher {
    /// Builds the lookup tables for these pupils.
    pub fn new(pupils: &[Pupil]) -> Self {
        let mut m = Self::default();
        for p in pupils {
            for form in name_forms(&p.name) {
                m.spaced.entry(form.join(" ")).or_default().insert(p.id);
                let squashed = form.concat();
                if squashed.chars().count() >= MIN_SQUASHED_LEN {
                    m.squashed.entry(squashed).or_default().insert(p.id);
                }
            }
        }
        m
    }

    /// Pupils named in free text (metadata, captions): consecutive tokens only.
    pub fn in_text(&self, text: &str) -> BTreeSet<i64> {
        self.find(&tokens(text), false)
    }

    /// Pupils named in a file name (without extension): squashed forms allowed too.
    pub fn in_file_stem(&self, stem: &str) -> BTreeSet<i64> {
        self.find(&tokens(stem), true)
    }

    fn find(&self, toks: &[String], squashed: bool) -> BTreeSet<i64> {
        let mut found = BTreeSet::new();
        if self.spaced.is_empty() {
            return found;
        }
        for start in 0..toks.len() {
            let mut spaced = String::new();
            let mut joined = String::new();
            for tok in toks.iter().skip(start).take(MAX_FORM_TOKENS) {
                if !spaced.is_empty() {
                    spaced.push(' ');
                }
                spaced.push_str(tok);
                joined.push_str(tok);
                if let Some(ids) = self.spaced.get(&spaced) {
                    found.extend(ids);
                }
                if squashed && let Some(ids) = self.squashed.get(&joined) {
                    found.extend(ids);
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pupils() -> Vec<Pupil> {
        vec![
            Pupil {
                id: 1,
                name: "Amelia Jones".into(),
            },
            Pupil {
                id: 2,
                name: "Zoë O'Brien-Smith".into(),
            },
            Pupil {
                id: 3,
                name: "Jean Luc Picard".into(),
            },
            Pupil {
                id: 4,
                name: "Amelia Strauß".into(),
            },
            Pupil {
                id: 5,
                name: "Cher".into(),
            },
        ]
    }

    #[test]
    fn folding() {
        assert_eq!(tokens("Zoë O'Brien-Smith"), ["zoe", "obrien", "smith"]);
        assert_eq!(
            tokens("trip_AMELIA.JONES_2"),
            ["trip", "amelia", "jones", "2"]
        );
        assert_eq!(tokens("Strauß"), ["strauss"]);
        assert_eq!(
            tokens("Amelia Jones's painting"),
            ["amelia", "jones", "painting"]
        );
        assert_eq!(tokens("O\u{2019}Sullivan"), ["osullivan"]);
        assert_eq!(tokens("Ｊｏｎｅｓ"), ["jones"]);
    }

    #[test]
    fn file_names() {
        let m = Matcher::new(&pupils());
        let one = |s: &str| m.in_file_stem(s).into_iter().collect::<Vec<_>>();
        assert_eq!(one("amelia_jones"), [1]);
        assert_eq!(one("Jones-Amelia"), [1]);
        assert_eq!(one("trip_AMELIA.JONES_2"), [1]);
        assert_eq!(one("ameliajones"), [1]);
        assert_eq!(one("AmeliaJones-sports"), [1]);
        assert_eq!(one("zoe_obrien-smith"), [2]);
        assert_eq!(one("zoe obriensmith"), [2]);
        assert_eq!(one("obrien-smith_zoe"), [2]);
        assert_eq!(one("jean_luc_picard"), [3]);
        assert_eq!(one("picard jean"), [3]);
        assert_eq!(one("amelia-strauss"), [4]);
        assert_eq!(one("amelia-strauß"), [4]);
        // First name alone, surname alone, or not consecutive: nothing.
        assert!(one("amelia").is_empty());
        assert!(one("jones").is_empty());
        assert!(one("amelia_and_jones").is_empty());
        assert!(one("zoe_smith").is_empty());
        assert!(one("cher").is_empty());
        // Token boundaries are respected.
        assert!(one("xameliajones").is_empty());
        assert!(one("amelia_jonesy").is_empty());
    }

    #[test]
    fn free_text() {
        let m = Matcher::new(&pupils());
        let ids = m.in_text("Amelia Jones and Zoë O\u{2019}Brien-Smith at sports day");
        assert_eq!(ids.into_iter().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(m.in_text("Jones, Amelia").len(), 1);
        // Squashed forms are for file names only.
        assert!(m.in_text("ameliajones").is_empty());
        assert!(m.in_text("Amelia won the race").is_empty());
    }
}
