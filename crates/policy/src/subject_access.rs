//! A subject access request (UK GDPR, Article 15): who may export one person's records and
//! erase them past retention, and how other people's names are taken out of what is exported.
//!
//! The export is the subject's data, not everyone's: another person named in a concern, a
//! note or a search (another pupil, a parent, a member of staff, the reporter) is a third
//! party, whose name is replaced by what they are ("[redacted: another pupil]") unless they
//! agree, which is for the school to ask, not for software to assume.

use crate::people::PersonKind;
use crate::roles::Role;
use std::collections::HashMap;

/// Who exports a person's records for a subject access request: the data manager, who answers
/// them for the school (the data protection officer's contact in school, whom a trust's DPO
/// acts as), and the Headteacher, accountable for the school's answer. Not the DSL: the DSL
/// reads the safeguarding log, not the access log, the sign-ins or the registers, and is asked
/// before release whether anything in the concerns should be withheld (the serious harm
/// exemption of the Data Protection Act 2018, Schedule 3).
pub const SUBJECT_ACCESS_OFFICERS: [Role; 2] = [Role::DataManager, Role::Headteacher];

/// Who erases a person's records once retention has passed: the data manager, who keeps the
/// school's retention schedule.
pub const RECORD_ERASERS: [Role; 1] = [Role::DataManager];

/// What a third party is called in place of their name.
pub fn redaction_label(kind: PersonKind) -> &'static str {
    match kind {
        PersonKind::Pupil => "[redacted: another pupil]",
        PersonKind::Staff => "[redacted: a member of staff]",
        PersonKind::Governor => "[redacted: a governor]",
        PersonKind::Parent => "[redacted: a parent or carer]",
        PersonKind::Visitor => "[redacted: a visitor]",
    }
}

/// What someone the records do not name is called (an account since removed, the operator).
pub const SOMEONE: &str = "[redacted: someone]";

/// Characters a name is made of; anything else is a word boundary.
fn is_word(c: char) -> bool {
    c.is_alphanumeric()
}

/// One character as compared: lower case, one for one, so that positions in the lowered text
/// are positions in the original.
fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// A name to find: its folded characters and what replaces it (`None`: the subject's own,
/// left as it is).
struct Needle {
    chars: Vec<char>,
    label: Option<&'static str>,
}

/// Takes other people's names out of text: every known display name, legal name and username
/// of a person other than the subject, case-insensitively, on word boundaries. The subject's
/// own names are found too, and kept, so that another person's shorter name inside them (a
/// username that is the subject's first name) is not redacted.
pub struct Redactor {
    needles: Vec<Needle>,
    /// Needles by their first word, folded.
    by_first_word: HashMap<String, Vec<usize>>,
}

impl Redactor {
    /// A redactor keeping `subject`'s names and replacing each of `others`' names (each with
    /// the kind of person they are).
    pub fn new<'a>(
        subject: impl IntoIterator<Item = &'a str>,
        others: impl IntoIterator<Item = (&'a str, PersonKind)>,
    ) -> Redactor {
        let mut r = Redactor {
            needles: Vec::new(),
            by_first_word: HashMap::new(),
        };
        for name in subject {
            r.add(name, None);
        }
        for (name, kind) in others {
            r.add(name, Some(redaction_label(kind)));
        }
        r
    }

    fn add(&mut self, name: &str, label: Option<&'static str>) {
        let chars: Vec<char> = name.trim().chars().map(fold).collect();
        // A name of one letter would take every such letter out of every text.
        if chars.iter().filter(|c| is_word(**c)).count() < 2 {
            return;
        }
        let first: String = chars
            .iter()
            .skip_while(|c| !is_word(**c))
            .take_while(|c| is_word(**c))
            .collect();
        self.by_first_word
            .entry(first)
            .or_default()
            .push(self.needles.len());
        self.needles.push(Needle { chars, label });
    }

    /// `text` with every other person's name replaced.
    pub fn text(&self, text: &str) -> String {
        let original: Vec<char> = text.chars().collect();
        let folded: Vec<char> = original.iter().copied().map(fold).collect();
        // Every match: (start, end, label); the longest at a start wins, then the earliest.
        let mut found: Vec<(usize, usize, Option<&'static str>)> = Vec::new();
        let mut i = 0;
        while i < folded.len() {
            if !is_word(folded[i]) || (i > 0 && is_word(folded[i - 1])) {
                i += 1;
                continue;
            }
            let word_end = (i..folded.len())
                .find(|&j| !is_word(folded[j]))
                .unwrap_or(folded.len());
            let word: String = folded[i..word_end].iter().collect();
            for &n in self.by_first_word.get(&word).into_iter().flatten() {
                let needle = &self.needles[n];
                // A needle starting with punctuation is found at its first word.
                let lead = needle.chars.iter().take_while(|c| !is_word(**c)).count();
                let Some(start) = i.checked_sub(lead) else {
                    continue;
                };
                let end = start + needle.chars.len();
                let matches = end <= folded.len()
                    && folded[start..end] == needle.chars[..]
                    && (end == folded.len() || !is_word(folded[end]) || !is_word(folded[end - 1]));
                if matches {
                    found.push((start, end, needle.label));
                }
            }
            i = word_end;
        }
        found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end, label) in found {
            if start < at {
                continue;
            }
            out.extend(&original[at..start]);
            match label {
                Some(label) => out.push_str(label),
                None => out.extend(&original[start..end]),
            }
            at = end;
        }
        out.extend(&original[at.min(original.len())..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::new(
            ["Amy Smith", "amy.smith", "Amelia Smith"],
            [
                ("Ben Jones", PersonKind::Pupil),
                ("ben.jones", PersonKind::Pupil),
                ("Mr Grey", PersonKind::Staff),
                ("amy", PersonKind::Visitor),
                ("Pat Smith", PersonKind::Parent),
            ],
        )
    }

    #[test]
    fn other_peoples_names_go_and_the_subjects_stay() {
        let r = redactor();
        assert_eq!(
            r.text("BEN JONES pushed Amy Smith; mr grey saw. ben.jones's phone."),
            "[redacted: another pupil] pushed Amy Smith; [redacted: a member of staff] saw. \
             [redacted: another pupil]'s phone."
        );
        // The visitor `amy` is redacted on its own, never inside the subject's own name.
        assert_eq!(
            r.text("amy.smith met amy"),
            "amy.smith met [redacted: a visitor]"
        );
        assert_eq!(
            r.text("Told Pat Smith (mother)."),
            "Told [redacted: a parent or carer] (mother)."
        );
    }

    #[test]
    fn names_are_found_on_word_boundaries_only() {
        let r = redactor();
        assert_eq!(r.text("Bensonhurst, ben.jonesy"), "Bensonhurst, ben.jonesy");
        assert_eq!(r.text(""), "");
        assert_eq!(
            r.text("Zoë said Ben Jones"),
            "Zoë said [redacted: another pupil]"
        );
    }
}
