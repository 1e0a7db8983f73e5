//! Photo and video consent (issue 18, part 3): the profile's rules (`[consent]`), what an entry
//! must hold, and whether a pupil's consent stands for a purpose on a given day. Every entry is
//! kept: a withdrawal is a new entry that refuses, and the latest entry for a purpose decides.

use crate::{PolicyError, ProfileProblem};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// When photo and video consent is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConsentRenewal {
    /// Once, on admission (Coleridge).
    #[default]
    OnAdmission,
    /// Every school year (Holt): a consent given before this school year began has lapsed.
    Annually,
}

/// Every purpose a photo or video may be used for.
pub const PURPOSES: [&str; 6] = [
    "in_school",
    "website",
    "social_media",
    "press",
    "prospectus",
    "high_profile",
];

/// Individual, long-term or high-profile use of one pupil's photo.
pub const HIGH_PROFILE: &str = "high_profile";

fn default_purposes() -> Vec<String> {
    PURPOSES[..5].iter().map(|s| s.to_string()).collect()
}

/// Photo and video consent rules.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentPolicy {
    #[serde(default)]
    pub photo_renewal: ConsentRenewal,
    /// High-profile use of a single pupil's photo needs consent of its own, naming the use
    /// (the `high_profile` purpose, which must then be one of `purposes`).
    #[serde(default)]
    pub individual_for_high_profile: bool,
    /// Whether a pupil's name may accompany a published photo where the consent agreed to it
    /// (Coleridge: "unless specifically agreed with their parents / carers in advance"); when
    /// false a name with a photo is always flagged (Holt) and no consent may agree to it.
    #[serde(default)]
    pub names_with_photos: bool,
    /// The purposes the school asks consent for, some of [`PURPOSES`].
    #[serde(default = "default_purposes")]
    pub purposes: Vec<String>,
}

impl Default for ConsentPolicy {
    fn default() -> Self {
        ConsentPolicy {
            photo_renewal: ConsentRenewal::default(),
            individual_for_high_profile: false,
            names_with_photos: false,
            purposes: default_purposes(),
        }
    }
}

/// The first day of the school year `day` falls in (1 September).
pub fn school_year_start(day: NaiveDate) -> NaiveDate {
    let year = if day.month() >= 9 {
        day.year()
    } else {
        day.year() - 1
    };
    NaiveDate::from_ymd_opt(year, 9, 1).unwrap_or(day)
}

/// A consent entry as the register holds it, for the rules below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub given: bool,
    /// Whether the pupil may be named with the photo.
    pub named: bool,
    pub on: NaiveDate,
}

/// What a pupil's latest entry for a purpose means on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Consent stands; `named` when a name may go with the photo.
    Given { named: bool },
    /// Refused or withdrawn.
    Refused,
    /// Given in an earlier school year, where the profile renews it each year.
    Lapsed,
    /// Nobody has answered.
    NotAsked,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Given { named: true } => "given, named",
            Standing::Given { named: false } => "given",
            Standing::Refused => "refused",
            Standing::Lapsed => "lapsed",
            Standing::NotAsked => "not asked",
        }
    }

    /// Whether a photo may be used.
    pub fn allows(self) -> bool {
        matches!(self, Standing::Given { .. })
    }
}

impl ConsentPolicy {
    /// What `latest` (the newest entry for one pupil and purpose) means on `today`.
    pub fn standing(&self, latest: Option<Entry>, today: NaiveDate) -> Standing {
        match latest {
            None => Standing::NotAsked,
            Some(e) if !e.given => Standing::Refused,
            Some(e)
                if self.photo_renewal == ConsentRenewal::Annually
                    && e.on < school_year_start(today) =>
            {
                Standing::Lapsed
            }
            Some(e) => Standing::Given {
                named: e.named && self.names_with_photos,
            },
        }
    }

    /// When consent given on `on` must be asked again, if ever.
    pub fn renewal_due(&self, on: NaiveDate) -> Option<NaiveDate> {
        match self.photo_renewal {
            ConsentRenewal::OnAdmission => None,
            ConsentRenewal::Annually => {
                let start = school_year_start(on);
                NaiveDate::from_ymd_opt(start.year() + 1, 9, 1)
            }
        }
    }

    /// Whether `purpose` is one the school asks consent for.
    pub fn has_purpose(&self, purpose: &str) -> bool {
        self.purposes.iter().any(|p| p == purpose)
    }

    /// Refuses a purpose the profile does not ask consent for, naming the ones it does.
    pub fn check_purpose(&self, field: &str, purpose: &str) -> Result<(), PolicyError> {
        if self.has_purpose(purpose) {
            Ok(())
        } else {
            Err(PolicyError::invalid(
                field,
                format!(
                    "`{purpose}` is not a purpose this school asks consent for ({})",
                    self.purposes.join(", ")
                ),
            ))
        }
    }

    /// The problems of `[consent]`: purposes from [`PURPOSES`], each once, and the high-profile
    /// purpose present when the profile asks individual consent for it.
    pub fn problems(&self) -> Vec<ProfileProblem> {
        let mut out = Vec::new();
        for (i, p) in self.purposes.iter().enumerate() {
            if !PURPOSES.contains(&p.as_str()) || self.purposes[..i].contains(p) {
                out.push(ProfileProblem {
                    key: "consent.purposes".into(),
                    message: format!(
                        "`{p}` is not one of {} or is named twice",
                        PURPOSES.join(", ")
                    ),
                });
            }
        }
        if self.individual_for_high_profile && !self.has_purpose(HIGH_PROFILE) {
            out.push(ProfileProblem {
                key: "consent.purposes".into(),
                message: "must include high_profile when individual_for_high_profile = true".into(),
            });
        }
        out
    }
}

/// A consent entry as entered (a form, the API, a parent's own page).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewConsent {
    pub pupil: i64,
    pub purpose: String,
    /// Given (true) or refused / withdrawn (false).
    pub given: bool,
    /// Whether the pupil may be named with the photo (only where the profile allows names).
    #[serde(default)]
    pub named: bool,
    /// Who answered: "Mrs Jones (mother)". A parent's own answer is named after them.
    #[serde(default)]
    pub by_whom: String,
    /// `YYYY-MM-DD`; the day it was given or withdrawn.
    pub on: String,
    /// For high-profile use: which use (the prospectus cover, a press article...).
    #[serde(default)]
    pub note: String,
}

/// A consent entry that passed [`NewConsent::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedConsent {
    pub pupil: i64,
    pub purpose: String,
    pub given: bool,
    pub named: bool,
    pub by_whom: String,
    pub on: NaiveDate,
    pub note: String,
}

impl NewConsent {
    /// Checks the entry against the profile's rules, naming the first field that is wrong: a
    /// purpose of the profile, somebody who answered, a real day not in the future (a form
    /// from before the school used Palisade is dated as signed), a name only where the profile
    /// allows it, and a note naming the use where high-profile use needs individual consent.
    pub fn check(
        &self,
        rules: &ConsentPolicy,
        today: NaiveDate,
    ) -> Result<CheckedConsent, PolicyError> {
        let purpose = self.purpose.trim();
        rules.check_purpose("purpose", purpose)?;
        let by_whom = self.by_whom.trim();
        if by_whom.is_empty()
            || by_whom.chars().count() > 200
            || by_whom.chars().any(char::is_control)
        {
            return Err(PolicyError::invalid(
                "by_whom",
                "say who answered (1 to 200 characters), e.g. a parent's name",
            ));
        }
        let on = NaiveDate::parse_from_str(self.on.trim(), "%Y-%m-%d").map_err(|_| {
            PolicyError::invalid(
                "on",
                format!("`{}` is not a date like 2026-09-01", self.on.trim()),
            )
        })?;
        if on > today {
            return Err(PolicyError::invalid("on", format!("{on} is in the future")));
        }
        if self.named && self.given && !rules.names_with_photos {
            return Err(PolicyError::invalid(
                "named",
                "this school's policy never puts a pupil's name with a photo",
            ));
        }
        let note = self.note.trim();
        if note.chars().count() > 2000 || note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(PolicyError::invalid(
                "note",
                "give at most 2000 characters of text",
            ));
        }
        if purpose == HIGH_PROFILE
            && rules.individual_for_high_profile
            && self.given
            && note.is_empty()
        {
            return Err(PolicyError::invalid(
                "note",
                "high-profile use needs individual consent: name the use it is given for",
            ));
        }
        Ok(CheckedConsent {
            pupil: self.pupil,
            purpose: purpose.to_string(),
            given: self.given,
            named: self.named && self.given,
            by_whom: by_whom.to_string(),
            on,
            note: note.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn holt() -> ConsentPolicy {
        ConsentPolicy {
            photo_renewal: ConsentRenewal::Annually,
            individual_for_high_profile: true,
            names_with_photos: false,
            purposes: PURPOSES.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn coleridge() -> ConsentPolicy {
        ConsentPolicy {
            names_with_photos: true,
            ..ConsentPolicy::default()
        }
    }

    fn given(on: &str) -> Option<Entry> {
        Some(Entry {
            given: true,
            named: true,
            on: day(on),
        })
    }

    #[test]
    fn photo_renewal_annually_lapses_last_years_consent_on_admission_keeps_it() {
        let today = day("2026-12-02");
        assert_eq!(
            holt().standing(given("2026-08-31"), today),
            Standing::Lapsed
        );
        assert_eq!(
            holt().standing(given("2026-09-01"), today),
            Standing::Given { named: false }
        );
        assert_eq!(
            coleridge().standing(given("2019-09-04"), today),
            Standing::Given { named: true }
        );
        assert_eq!(
            holt().renewal_due(day("2026-09-03")),
            Some(day("2027-09-01"))
        );
        assert_eq!(coleridge().renewal_due(day("2026-09-03")), None);
        assert_eq!(school_year_start(day("2027-03-01")), day("2026-09-01"));
    }

    #[test]
    fn a_withdrawal_refuses_and_nobody_answering_is_not_consent() {
        let today = day("2026-12-02");
        let withdrawn = Some(Entry {
            given: false,
            named: false,
            on: day("2026-11-01"),
        });
        assert_eq!(coleridge().standing(withdrawn, today), Standing::Refused);
        assert!(!coleridge().standing(None, today).allows());
    }

    #[test]
    fn the_profile_decides_purposes_names_and_individual_high_profile_consent() {
        let today = day("2026-12-02");
        let entry = NewConsent {
            pupil: 7,
            purpose: "website".into(),
            given: true,
            named: true,
            by_whom: "Mrs Jones (mother)".into(),
            on: "2026-09-10".into(),
            note: String::new(),
        };
        let field = |r: Result<CheckedConsent, PolicyError>| match r {
            Err(PolicyError::InvalidInput { field, .. }) => field,
            other => format!("{other:?}"),
        };
        assert_eq!(field(entry.check(&holt(), today)), "named");
        assert!(entry.check(&coleridge(), today).is_ok());
        let mut hp = entry.clone();
        hp.named = false;
        hp.purpose = HIGH_PROFILE.into();
        assert_eq!(field(hp.check(&holt(), today)), "note");
        assert_eq!(field(hp.check(&coleridge(), today)), "purpose");
        let mut later = entry.clone();
        later.on = "2026-12-03".into();
        assert_eq!(field(later.check(&coleridge(), today)), "on");
        let mut nobody = entry;
        nobody.by_whom = " ".into();
        assert_eq!(field(nobody.check(&coleridge(), today)), "by_whom");
        let mut bad = holt();
        bad.purposes = vec!["website".into(), "tiktok".into()];
        assert_eq!(bad.problems().len(), 2);
    }
}
