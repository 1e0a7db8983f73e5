//! The profile's `[backup]`: when `palisade serve` makes its daily backup (the school's time),
//! how many it keeps, where it writes them, and the age public keys they are encrypted to. The
//! school keeps the private key; the server never holds it, so a stolen backup reads as noise.
//! No `[backup]`: no daily backup, and the dashboard says so to those who keep the system.
//!
//! Pure: the binary resolves `dir` and `recipients_file` against the profile's folder, reads
//! the keys and runs the backups; this module says what the section means and what is wrong
//! with it, naming the key.

use crate::ProfileProblem;
use serde::{Deserialize, Serialize};

/// Longest `keep`: a year and a bit of daily backups.
pub const MAX_KEEP: u32 = 400;

/// How old the newest verified backup may be before the dashboard and `/readyz` say so: a day,
/// and two hours' grace for a slow run.
pub const FRESH_HOURS: i64 = 26;

/// The profile's `[backup]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupPolicy {
    /// The school's time of day (`HH:MM`, UK time) the daily backup is made.
    #[serde(default = "default_at")]
    pub at: String,
    /// How many backup files are kept in `dir` (older ones are deleted after a verified one).
    #[serde(default = "default_keep")]
    pub keep: u32,
    /// The folder backups are written to: absolute, or relative to the profile's folder.
    #[serde(default = "default_dir")]
    pub dir: String,
    /// age public keys (`age1...`) every backup is encrypted to.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// A file of age public keys, one a line (`#` comments), relative to the profile's folder.
    #[serde(default)]
    pub recipients_file: Option<String>,
}

fn default_at() -> String {
    "02:30".into()
}

fn default_keep() -> u32 {
    14
}

fn default_dir() -> String {
    "/var/lib/palisade/backups".into()
}

impl Default for BackupPolicy {
    fn default() -> Self {
        BackupPolicy {
            at: default_at(),
            keep: default_keep(),
            dir: default_dir(),
            recipients: Vec::new(),
            recipients_file: None,
        }
    }
}

/// Whether `s` looks like an age X25519 public key: `age1` and 58 bech32 characters. (The
/// binary parses it fully before it encrypts to it.)
pub fn looks_like_recipient(s: &str) -> bool {
    const BECH32: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let s = s.trim();
    s.len() == 62 && s.starts_with("age1") && s[4..].chars().all(|c| BECH32.contains(c))
}

impl BackupPolicy {
    /// `at` as minutes after the school's midnight.
    pub fn minute(&self) -> Option<u32> {
        let (h, m) = self.at.trim().split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    }

    /// What is wrong with the section, each named by its key.
    pub fn problems(&self) -> Vec<ProfileProblem> {
        let mut out = Vec::new();
        let mut problem = |key: &str, message: String| {
            out.push(ProfileProblem {
                key: format!("backup.{key}"),
                message,
            })
        };
        if self.minute().is_none() {
            problem("at", format!("`{}` is not a time like 02:30", self.at));
        }
        if !(1..=MAX_KEEP).contains(&self.keep) {
            problem(
                "keep",
                format!("{} must be between 1 and {MAX_KEEP}", self.keep),
            );
        }
        if self.dir.trim().is_empty() {
            problem("dir", "give the folder backups are written to".into());
        }
        for (i, r) in self.recipients.iter().enumerate() {
            if !looks_like_recipient(r) {
                problem(
                    &format!("recipients[{i}]"),
                    format!("`{r}` is not an age public key (age1 and 58 letters and digits)"),
                );
            }
        }
        match &self.recipients_file {
            Some(f) if f.trim().is_empty() => {
                problem("recipients_file", "give the file of age public keys".into())
            }
            None if self.recipients.is_empty() => problem(
                "recipients",
                "name at least one age public key (or recipients_file): backups hold every \
                 pupil's record and are only written encrypted"
                    .into(),
            ),
            _ => {}
        }
        out
    }
}

/// The recipients of a `recipients_file`'s text: one key a line, blank lines and `#` comments
/// skipped. An error names the line.
pub fn recipients_in(text: &str, file: &str) -> Result<Vec<String>, ProfileProblem> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !looks_like_recipient(line) {
            return Err(ProfileProblem {
                key: "backup.recipients_file".into(),
                message: format!("{file} line {}: not an age public key", n + 1),
            });
        }
        out.push(line.to_string());
    }
    if out.is_empty() {
        return Err(ProfileProblem {
            key: "backup.recipients_file".into(),
            message: format!("{file} holds no age public key"),
        });
    }
    Ok(out)
}

/// What the dashboard says of the backups, for those who keep the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupHealth {
    /// The profile has no `[backup]`: nothing makes daily backups.
    NotSetUp,
    /// Daily backups are set up but none has been tried yet.
    NoneYet,
    /// The newest backup failed (or did not verify): the error.
    Failed(String),
    /// The newest verified backup is older than [`FRESH_HOURS`]: its age in hours.
    Old(i64),
    /// The newest backup verified and is recent.
    Fine,
}

/// The backups' health from what is recorded: whether `[backup]` is set, the newest backup's
/// outcome (verified, error) and the newest verified one's age in hours.
pub fn backup_health(
    configured: bool,
    last: Option<(bool, Option<&str>)>,
    verified_age_hours: Option<i64>,
) -> BackupHealth {
    match last {
        Some((false, error)) => {
            return BackupHealth::Failed(error.unwrap_or("it did not verify").to_string());
        }
        None if configured => return BackupHealth::NoneYet,
        None => return BackupHealth::NotSetUp,
        Some((true, _)) => {}
    }
    match verified_age_hours {
        Some(h) if h >= FRESH_HOURS => BackupHealth::Old(h),
        _ if !configured => BackupHealth::NotSetUp,
        _ => BackupHealth::Fine,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

    fn keys(p: &BackupPolicy) -> Vec<String> {
        p.problems().into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn a_section_with_a_key_is_valid_and_each_problem_names_its_key() {
        let good = BackupPolicy {
            recipients: vec![KEY.into()],
            ..BackupPolicy::default()
        };
        assert!(good.problems().is_empty(), "{:?}", good.problems());
        assert_eq!(good.minute(), Some(150));
        let bad = BackupPolicy {
            at: "2:30am".into(),
            keep: 0,
            dir: " ".into(),
            recipients: vec!["age1nope".into()],
            recipients_file: None,
        };
        assert_eq!(
            keys(&bad),
            [
                "backup.at",
                "backup.keep",
                "backup.dir",
                "backup.recipients[0]"
            ]
        );
        assert_eq!(keys(&BackupPolicy::default()), ["backup.recipients"]);
    }

    #[test]
    fn a_profile_s_backup_section_is_checked_by_its_dotted_keys() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../profiles/holt.toml");
        let holt = std::fs::read_to_string(path).unwrap_or_default();
        let profile =
            crate::Profile::from_toml(&holt, "holt.toml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(profile.backup, None, "no [backup]: no daily backup");
        let good = format!("{holt}\n[backup]\nat = \"02:30\"\nrecipients = [\"{KEY}\"]\n");
        let profile =
            crate::Profile::from_toml(&good, "holt.toml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            profile.backup.map(|b| (b.keep, b.dir)),
            Some((14, default_dir()))
        );
        let bad = format!("{holt}\n[backup]\nat = \"25:00\"\nkeep = 0\n");
        let e = crate::Profile::from_toml(&bad, "holt.toml")
            .err()
            .map(|e| e.to_string());
        let e = e.unwrap_or_default();
        for key in ["backup.at", "backup.keep", "backup.recipients"] {
            assert!(e.contains(key), "{key}: {e}");
        }
        let unknown = format!("{holt}\n[backup]\nrecipients = [\"{KEY}\"]\nwhen = \"02:30\"\n");
        let e = crate::Profile::from_toml(&unknown, "holt.toml")
            .err()
            .map(|e| e.to_string());
        assert!(
            e.unwrap_or_default().contains("when"),
            "an unknown key is refused"
        );
    }

    #[test]
    fn a_recipients_file_names_its_bad_line() {
        let text = format!("# the school's keys\n{KEY}\n\nnot-a-key\n");
        let e = recipients_in(&text, "keys.txt").err().map(|e| e.message);
        assert_eq!(e.as_deref(), Some("keys.txt line 4: not an age public key"));
        assert_eq!(
            recipients_in(&format!("{KEY}\n"), "k"),
            Ok(vec![KEY.to_string()])
        );
    }

    #[test]
    fn health_says_not_set_up_failed_old_or_fine() {
        assert_eq!(backup_health(false, None, None), BackupHealth::NotSetUp);
        assert_eq!(backup_health(true, None, None), BackupHealth::NoneYet);
        assert_eq!(
            backup_health(true, Some((false, Some("disk full"))), Some(3)),
            BackupHealth::Failed("disk full".into())
        );
        assert_eq!(
            backup_health(true, Some((true, None)), Some(30)),
            BackupHealth::Old(30)
        );
        assert_eq!(
            backup_health(true, Some((true, None)), Some(2)),
            BackupHealth::Fine
        );
    }
}
