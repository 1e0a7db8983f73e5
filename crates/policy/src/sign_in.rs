//! How people sign in (`[sign_in]`): with the school's own accounts through OpenID Connect
//! (`[sign_in.oidc]`), and which roles may still use a Palisade password.
//!
//! Pure decisions: whether an email the provider vouched for may sign in here, and whether a
//! person may use a password. The flow itself (discovery, the code, the ID token) is the web
//! crate's.

use crate::ProfileProblem;
use crate::roles::{Role, RoleSet};
use serde::{Deserialize, Serialize};

/// `[sign_in]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInPolicy {
    /// The school's OpenID Connect provider (absent: password sign-in only).
    #[serde(default)]
    pub oidc: Option<OidcPolicy>,
    /// Roles that may still sign in with a password; absent, everyone may. A person holding
    /// any role outside the list signs in through the provider only.
    #[serde(default)]
    pub password_for: Option<Vec<Role>>,
}

/// Which provider the school's accounts are at: the button's label, and how its claims are
/// read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Google Workspace (Google Apps for Education).
    Google,
    /// Microsoft Entra ID (Microsoft 365).
    Microsoft,
    /// Any other OpenID Connect issuer.
    Other,
}

impl Provider {
    /// The name on the sign-in button ("Sign in with …").
    pub fn label(self) -> &'static str {
        match self {
            Provider::Google => "Google",
            Provider::Microsoft => "Microsoft",
            Provider::Other => "your school account",
        }
    }
}

/// `[sign_in.oidc]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcPolicy {
    pub provider: Provider,
    /// The issuer URL; its `/.well-known/openid-configuration` is read at the first sign-in.
    pub issuer: String,
    pub client_id: String,
    /// A file holding the client secret (never the secret itself in the profile).
    pub client_secret_file: String,
    /// Email domains whose accounts may sign in (`holt.norfolk.sch.uk`).
    pub domains: Vec<String>,
    /// The address the provider sends people back to
    /// (`https://palisade.school/login/oidc/callback`); absent, it is made from the request's
    /// scheme and `Host`.
    #[serde(default)]
    pub redirect_url: Option<String>,
}

/// Why an identity the provider vouched for may not sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailRefused {
    /// The ID token carries no email.
    Missing,
    /// The provider does not say the email is verified.
    Unverified,
    /// The email's domain is not one of `sign_in.oidc.domains`.
    OutsideDomains { domain: String },
}

impl std::fmt::Display for EmailRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EmailRefused::Missing => f.write_str("the provider did not give an email address"),
            EmailRefused::Unverified => {
                f.write_str("the provider has not verified the account's email address")
            }
            EmailRefused::OutsideDomains { domain } => write!(
                f,
                "accounts at {domain} cannot sign in here; use your school account"
            ),
        }
    }
}

impl OidcPolicy {
    /// Whether `email`, as the provider gave it with its `email_verified` claim, may sign in:
    /// verified (Microsoft Entra ID sends no `email_verified`, and its `email` is the
    /// tenant's own address, so there an absent claim is taken as verified; a `false` never
    /// is), and in one of the school's domains (case-insensitive, the whole domain after
    /// the last `@`, no subdomains). Returns the email in lower case.
    pub fn email_allowed(
        &self,
        email: Option<&str>,
        email_verified: Option<bool>,
    ) -> Result<String, EmailRefused> {
        let email = email
            .map(|e| e.trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .ok_or(EmailRefused::Missing)?;
        let verified = match (email_verified, self.provider) {
            (Some(v), _) => v,
            (None, Provider::Microsoft) => true,
            (None, _) => false,
        };
        if !verified {
            return Err(EmailRefused::Unverified);
        }
        let domain = match email.rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.is_empty() => domain,
            _ => return Err(EmailRefused::Missing),
        };
        if self
            .domains
            .iter()
            .any(|d| d.trim().eq_ignore_ascii_case(domain))
        {
            Ok(email)
        } else {
            Err(EmailRefused::OutsideDomains {
                domain: domain.to_string(),
            })
        }
    }
}

impl SignInPolicy {
    /// Whether a person holding `roles` may sign in with a password: every role they hold is
    /// in `password_for` (a teacher who is also a parent uses the provider), or the key is
    /// absent.
    pub fn password_allowed(&self, roles: RoleSet) -> bool {
        match &self.password_for {
            None => true,
            Some(allowed) => roles.iter().all(|r| allowed.contains(&r)),
        }
    }

    /// The problems of `[sign_in]`, each naming its dotted key.
    pub fn validate(&self) -> Vec<ProfileProblem> {
        let mut out = Vec::new();
        let mut problem = |key: &str, message: String| {
            out.push(ProfileProblem {
                key: key.to_string(),
                message,
            })
        };
        if let Some(o) = &self.oidc {
            let issuer = o.issuer.trim();
            if !(issuer.starts_with("https://") || issuer.starts_with("http://"))
                || issuer.contains(char::is_whitespace)
                || issuer.len() < "http://x".len()
            {
                problem(
                    "sign_in.oidc.issuer",
                    format!("`{issuer}` is not an http(s) URL"),
                );
            }
            if o.client_id.trim().is_empty() {
                problem("sign_in.oidc.client_id", "must not be empty".into());
            }
            if !o.client_secret_file.starts_with('/') {
                problem(
                    "sign_in.oidc.client_secret_file",
                    format!(
                        "`{}` must be an absolute path to a file holding the secret",
                        o.client_secret_file
                    ),
                );
            }
            if o.domains.is_empty() {
                problem(
                    "sign_in.oidc.domains",
                    "name at least one email domain".into(),
                );
            }
            for (i, d) in o.domains.iter().enumerate() {
                let d = d.trim();
                if d.is_empty()
                    || d.contains('@')
                    || d.contains(char::is_whitespace)
                    || !d.contains('.')
                {
                    problem(
                        &format!("sign_in.oidc.domains[{i}]"),
                        format!("`{d}` is not an email domain like holt.norfolk.sch.uk"),
                    );
                }
            }
            if let Some(url) = &o.redirect_url
                && !(url.starts_with("https://") || url.starts_with("http://"))
            {
                problem(
                    "sign_in.oidc.redirect_url",
                    format!("`{url}` is not an http(s) URL"),
                );
            }
        }
        if let Some(roles) = &self.password_for
            && self.oidc.is_none()
            && Role::ALL.iter().any(|r| !roles.contains(r))
        {
            problem(
                "sign_in.password_for",
                "leaves some roles no way to sign in: set [sign_in.oidc] too".into(),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oidc(provider: Provider) -> OidcPolicy {
        OidcPolicy {
            provider,
            issuer: "https://accounts.google.com".into(),
            client_id: "id".into(),
            client_secret_file: "/etc/palisade/oidc-secret".into(),
            domains: vec!["holt.norfolk.sch.uk".into()],
            redirect_url: None,
        }
    }

    #[test]
    fn only_verified_emails_of_the_schools_domains_sign_in() {
        let g = oidc(Provider::Google);
        assert_eq!(
            g.email_allowed(Some("Ann.Teacher@Holt.Norfolk.sch.uk"), Some(true)),
            Ok("ann.teacher@holt.norfolk.sch.uk".into())
        );
        assert_eq!(
            g.email_allowed(Some("ann@gmail.com"), Some(true)),
            Err(EmailRefused::OutsideDomains {
                domain: "gmail.com".into()
            })
        );
        assert_eq!(
            g.email_allowed(Some("ann@evil.holt.norfolk.sch.uk"), Some(true)),
            Err(EmailRefused::OutsideDomains {
                domain: "evil.holt.norfolk.sch.uk".into()
            })
        );
        assert_eq!(
            g.email_allowed(Some("ann@holt.norfolk.sch.uk"), None),
            Err(EmailRefused::Unverified)
        );
        assert_eq!(
            g.email_allowed(Some("ann@holt.norfolk.sch.uk"), Some(false)),
            Err(EmailRefused::Unverified)
        );
        assert_eq!(
            g.email_allowed(None, Some(true)),
            Err(EmailRefused::Missing)
        );
        assert_eq!(
            g.email_allowed(Some("@holt.norfolk.sch.uk"), Some(true)),
            Err(EmailRefused::Missing)
        );
        // Entra ID sends no email_verified; a false is still refused.
        let m = oidc(Provider::Microsoft);
        assert!(m.email_allowed(Some("a@holt.norfolk.sch.uk"), None).is_ok());
        assert_eq!(
            m.email_allowed(Some("a@holt.norfolk.sch.uk"), Some(false)),
            Err(EmailRefused::Unverified)
        );
    }

    #[test]
    fn password_for_names_the_roles_that_keep_a_password() {
        let all = SignInPolicy::default();
        assert!(all.password_allowed(RoleSet::from_iter([Role::Dsl])));
        let some = SignInPolicy {
            oidc: Some(oidc(Provider::Google)),
            password_for: Some(vec![Role::Pupil, Role::Parent]),
        };
        assert!(some.password_allowed(RoleSet::from_iter([Role::Pupil])));
        assert!(!some.password_allowed(RoleSet::from_iter([Role::Teacher])));
        assert!(!some.password_allowed(RoleSet::from_iter([Role::Teacher, Role::Parent])));
        assert!(some.validate().is_empty());
    }

    #[test]
    fn problems_name_their_dotted_key() {
        let mut o = oidc(Provider::Other);
        o.issuer = "accounts.google.com".into();
        o.client_secret_file = "secret".into();
        o.domains = vec!["@holt".into()];
        let bad = SignInPolicy {
            oidc: Some(o),
            password_for: None,
        };
        let keys: Vec<String> = bad.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "sign_in.oidc.issuer",
                "sign_in.oidc.client_secret_file",
                "sign_in.oidc.domains[0]"
            ]
        );
        let locked_out = SignInPolicy {
            oidc: None,
            password_for: Some(vec![Role::Pupil]),
        };
        assert_eq!(locked_out.validate()[0].key, "sign_in.password_for");
    }
}
