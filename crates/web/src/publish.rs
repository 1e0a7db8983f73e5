//! What a publish check decides (issue 18, part 4), for `palisade publish-check` and the upload
//! page alike: a pupil's name found in a file, its metadata or a caption stays a finding unless
//! their consent for the purpose agreed to their name (where the profile allows names at all),
//! and a pupil named or tagged without consent for the purpose is a finding of its own.

use policy::consent::Standing;
use serde::Serialize;

/// One finding, as printed and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: &'static str,
    pub pupil: String,
    pub field: String,
}

/// One file's findings (the `--json` line, the upload page's row).
#[derive(Debug, Clone, Serialize)]
pub struct FileFindings {
    pub file: String,
    pub findings: Vec<Finding>,
    /// What was wrong reading it, when it could not be read in full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damaged: Option<String>,
}

impl FileFindings {
    /// Whether the file must not be published as it is.
    pub fn flagged(&self) -> bool {
        !self.findings.is_empty() || self.damaged.is_some()
    }
}

/// The findings for one scanned file, given each pupil's standing for the purpose.
pub fn decide(
    report: &media::FileReport,
    standing: impl Fn(i64) -> Standing,
    name_of: impl Fn(i64) -> String,
) -> FileFindings {
    let mut findings = Vec::new();
    for f in &report.findings {
        if matches!(standing(f.pupil), Standing::Given { named: true }) {
            continue;
        }
        let kind = match f.kind {
            media::FindingKind::NameInFilename => "name_in_filename",
            media::FindingKind::NameInMetadata => "name_in_metadata",
            media::FindingKind::NameInCaption => "name_in_caption",
        };
        findings.push(Finding {
            kind,
            pupil: name_of(f.pupil),
            field: f.field.clone(),
        });
    }
    for pupil in &report.named {
        let s = standing(*pupil);
        if !s.allows() {
            findings.push(Finding {
                kind: "no_consent",
                pupil: name_of(*pupil),
                field: format!("consent {}", s.as_str()),
            });
        }
    }
    FileFindings {
        file: report.file.display().to_string(),
        findings,
        damaged: report.damaged.clone(),
    }
}

/// Where `pupil` stands on `purpose` today, from the newest answers (`Store::latest_consents`).
pub fn standing_in(
    latest: &std::collections::BTreeMap<(i64, String), store::ConsentEntry>,
    rules: &policy::consent::ConsentPolicy,
    pupil: i64,
    purpose: &str,
    today: chrono::NaiveDate,
) -> Standing {
    let entry = latest
        .get(&(pupil, purpose.to_string()))
        .and_then(store::ConsentEntry::entry);
    rules.standing(entry, today)
}

/// Scans `dir` for the school's pupils and decides each file for `purpose` under `profile`'s
/// consent rules, by the store's today. The purpose must be one of the profile's.
pub async fn check_folder(
    store: &store::Store,
    profile: &policy::Profile,
    dir: &std::path::Path,
    purpose: &str,
) -> Result<Vec<FileFindings>, crate::WebError> {
    let rules = &profile.consent;
    rules.check_purpose("purpose", purpose)?;
    let today = store.clock().school_now().date_naive();
    let pupils = store.people(Some(policy::PersonKind::Pupil)).await?;
    let latest = store.latest_consents().await?;
    let scan_pupils: Vec<media::Pupil> = pupils
        .iter()
        .map(|p| media::Pupil {
            id: p.id,
            name: p.display_name.clone(),
        })
        .collect();
    let folder = dir.to_path_buf();
    let reports = tokio::task::spawn_blocking(move || media::scan(&folder, &scan_pupils))
        .await
        .map_err(|e| crate::WebError::Internal(format!("the scan stopped: {e}")))?
        .map_err(|e| crate::WebError::BadRequest(e.to_string()))?;
    let standing = |id: i64| standing_in(&latest, rules, id, purpose, today);
    let name_of = |id: i64| {
        pupils
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| format!("pupil {id}"), |p| p.display_name.clone())
    };
    Ok(reports
        .iter()
        .map(|r| decide(r, standing, name_of))
        .collect())
}
