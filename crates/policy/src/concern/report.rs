//! A concern as reported, and the checks it must pass before anything is written.

use super::attachment::{NewAttachment, check_attachment};
use super::{MAX_SUBJECTS, MAX_SUMMARY_CHARS, MAX_TEXT_CHARS, ReportForm};
use super::{check_optional_text, check_text};
use crate::PolicyError;
use crate::profile::ConcernPolicy;

/// A concern as reported.
#[derive(Debug, Clone)]
pub struct NewConcern {
    pub reporter_id: i64,
    pub form: ReportForm,
    /// People the concern is about (ids).
    pub subjects: Vec<i64>,
    pub category: String,
    pub summary: String,
    pub details: String,
    /// Who it is about in the reporter's own words (pupil and parent forms).
    pub about_text: Option<String>,
    pub occurred_at: Option<String>,
    pub platform: Option<String>,
    pub attachments: Vec<NewAttachment>,
}

impl NewConcern {
    /// Checks the fields that need no database, naming the first that is wrong.
    pub fn validate(&self, policy: &ConcernPolicy) -> Result<(), PolicyError> {
        if !policy.categories.iter().any(|c| c.id == self.category) {
            return Err(PolicyError::invalid(
                "category",
                format!("`{}` is not one of the school's categories", self.category),
            ));
        }
        check_text("summary", &self.summary, MAX_SUMMARY_CHARS)?;
        check_text("details", &self.details, MAX_TEXT_CHARS)?;
        for (field, v, max) in [
            ("about", &self.about_text, 500),
            ("occurred_at", &self.occurred_at, 50),
            ("platform", &self.platform, 100),
        ] {
            if let Some(v) = v {
                check_optional_text(field, v, max)?;
            }
        }
        if self.subjects.len() > MAX_SUBJECTS {
            return Err(PolicyError::invalid(
                "subjects",
                format!("at most {MAX_SUBJECTS} people"),
            ));
        }
        if self.form == ReportForm::Staff && self.subjects.is_empty() {
            return Err(PolicyError::invalid(
                "subjects",
                "choose at least one person the concern is about",
            ));
        }
        for a in &self.attachments {
            check_attachment(policy, a)?;
        }
        Ok(())
    }

    /// The subjects, each once, in id order.
    pub fn distinct_subjects(&self) -> Vec<i64> {
        let mut subjects = self.subjects.clone();
        subjects.sort_unstable();
        subjects.dedup();
        subjects
    }
}
