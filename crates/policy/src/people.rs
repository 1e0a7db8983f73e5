//! People of the school community and the checks on their identifiers.

use crate::PolicyError;
use crate::roles::{Role, RoleSet};
use serde::{Deserialize, Serialize};

/// What a person is to the school; roles refine it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonKind {
    Pupil,
    Staff,
    Governor,
    Parent,
    Visitor,
}

impl PersonKind {
    /// Every kind, in display order.
    pub const ALL: [PersonKind; 5] = [
        PersonKind::Pupil,
        PersonKind::Staff,
        PersonKind::Governor,
        PersonKind::Parent,
        PersonKind::Visitor,
    ];

    /// The identifier used in the database, forms and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            PersonKind::Pupil => "pupil",
            PersonKind::Staff => "staff",
            PersonKind::Governor => "governor",
            PersonKind::Parent => "parent",
            PersonKind::Visitor => "visitor",
        }
    }

    /// Parses the identifier written by [`PersonKind::as_str`].
    pub fn parse(s: &str) -> Option<PersonKind> {
        PersonKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether `role` may be held by a person of this kind.
    pub fn allows(self, role: Role) -> bool {
        match self {
            PersonKind::Pupil => role == Role::Pupil,
            PersonKind::Parent => role == Role::Parent,
            PersonKind::Visitor => role == Role::Visitor,
            PersonKind::Governor => matches!(role, Role::Governor | Role::ChairOfGovernors),
            PersonKind::Staff => role.is_staff(),
        }
    }

    /// The role a new person of this kind holds when none is given.
    pub fn default_role(self) -> Role {
        match self {
            PersonKind::Pupil => Role::Pupil,
            PersonKind::Staff => Role::Staff,
            PersonKind::Governor => Role::Governor,
            PersonKind::Parent => Role::Parent,
            PersonKind::Visitor => Role::Visitor,
        }
    }
}

/// Checks a username: 1 to 64 of a-z, 0-9, `.`, `_`, `-`, starting with a letter or digit.
pub fn check_username(username: &str) -> Result<(), PolicyError> {
    let ok = !username.is_empty()
        && username.len() <= 64
        && username
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && username
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(PolicyError::invalid(
            "username",
            format!(
                "`{username}` must be 1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
            ),
        ))
    }
}

/// Checks that every role suits the person's kind and that there is at least one.
pub fn check_roles(kind: PersonKind, roles: RoleSet) -> Result<(), PolicyError> {
    if roles.is_empty() {
        return Err(PolicyError::invalid("roles", "at least one role is needed"));
    }
    if let Some(bad) = roles.iter().find(|r| !kind.allows(*r)) {
        return Err(PolicyError::invalid(
            "roles",
            format!("a {} cannot hold the role `{bad}`", kind.as_str()),
        ));
    }
    Ok(())
}

/// Checks a password against the profile's rules; says what is wrong without echoing it.
pub fn check_password(
    rules: &crate::profile::PasswordPolicy,
    password: &str,
    username: &str,
) -> Result<(), PolicyError> {
    let n = password.chars().count();
    if n < rules.min_length {
        return Err(PolicyError::invalid(
            "password",
            format!("must be at least {} characters", rules.min_length),
        ));
    }
    if n > 1024 {
        return Err(PolicyError::invalid(
            "password",
            "must be at most 1024 characters",
        ));
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err(PolicyError::invalid(
            "password",
            "must not contain the username",
        ));
    }
    Ok(())
}

/// Whether a password set at `changed_at` must be changed at `now` under the profile's rotation
/// rule (which applies to staff only, as both seed policies word it).
pub fn password_expired(
    rules: &crate::profile::PasswordPolicy,
    roles: RoleSet,
    changed_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    match rules.staff_rotation_days {
        Some(days) if roles.any(Role::is_staff) => {
            now - changed_at >= chrono::Duration::days(i64::from(days))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::PasswordPolicy;
    use chrono::{Duration, Utc};

    fn rules(days: Option<u32>) -> PasswordPolicy {
        PasswordPolicy {
            min_length: 10,
            lockout_attempts: 5,
            lockout_minutes: 15,
            staff_rotation_days: days,
            rotation_applies_to: vec![],
            session_idle_minutes: 30,
            totp_required_for: vec![],
        }
    }

    #[test]
    fn staff_passwords_expire_after_the_rotation_period_and_pupils_never() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-03T10:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let staff = RoleSet::of(Role::Teacher);
        assert!(!password_expired(
            &rules(Some(90)),
            staff,
            now - Duration::days(89),
            now
        ));
        assert!(password_expired(
            &rules(Some(90)),
            staff,
            now - Duration::days(90),
            now
        ));
        assert!(!password_expired(
            &rules(Some(90)),
            RoleSet::of(Role::Pupil),
            now - Duration::days(400),
            now
        ));
        assert!(!password_expired(
            &rules(None),
            staff,
            now - Duration::days(400),
            now
        ));
    }

    #[test]
    fn passwords_are_checked_against_the_rules_without_echoing_them() {
        let r = rules(None);
        let err = check_password(&r, "hunter2", "tom")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("at least 10") && !err.contains("hunter2"),
            "{err}"
        );
        assert!(check_password(&r, "tom-is-my-name-1", "tom").is_err());
        assert!(check_password(&r, "correct horse battery", "tom").is_ok());
    }
}
