//! A trust profile: a multi-academy trust's name and its schools, each with its own school
//! profile, served by one Palisade on one PostgreSQL database. The school profiles stay as
//! they are; the trust says which schools it runs and where each school's devices are.

use crate::profile::network::SubnetRule;
use crate::{PolicyError, Profile, ProfileProblem, Role, RoleSet};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// `profiles/trust.toml`, as parsed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustProfile {
    pub trust: TrustSection,
    /// The trust's schools, in the order the database numbers them: the first is school 1.
    pub schools: Vec<TrustSchool>,
    /// The trust's own roles (its safeguarding lead, IT lead, data protection officer): each
    /// held by people of the trust, acting in the schools it covers as that school role.
    #[serde(default)]
    pub roles: Vec<TrustRole>,
    /// Lists every school of the trust filters with, before its own profile's lists (a list
    /// both name by the same file is read once). Files only: relative paths start at the
    /// trust profile's folder. Schools whose name lists come out the same share one compiled
    /// index, however many schools the trust has.
    #[serde(default)]
    pub lists: Vec<crate::profile::filtering::ListSource>,
}

/// One `[[roles]]` entry: people of the trust who hold `role` act as the school's `role` in
/// each school of `schools`, and in no other.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustRole {
    /// The school role the trust role acts as: `dsl` (the trust's safeguarding lead),
    /// `network_manager` (its IT lead) or `data_manager` (its data protection officer).
    pub role: String,
    /// The trust role's title, on pages and in the demo.
    pub title: String,
    /// The slugs of the schools it covers, or `["*"]` for every school of the trust.
    pub schools: Vec<String>,
}

/// The school roles a trust role may act as.
pub const TRUST_ROLES: [Role; 3] = [Role::Dsl, Role::NetworkManager, Role::DataManager];

/// The slug of the trust's own row in the database, where its people and their trail live.
pub const TRUST_SLUG: &str = "trust";

/// `[trust]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSection {
    /// The trust's name, shown on trust pages and in the demo.
    pub name: String,
}

/// One `[[schools]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSchool {
    /// The school's slug: its logins' prefix in the demo, and `--school` in commands.
    pub slug: String,
    /// Its school profile: a shipped name (holt, coleridge) or a file beside this one.
    pub profile: String,
    /// Where the school's devices are on the trust's network, when that is not what its
    /// profile's `[[network.subnets]]` say (two schools' profiles may use the same private
    /// ranges, which one trust network cannot): these replace the profile's subnets.
    #[serde(default)]
    pub subnets: Option<Vec<SubnetRule>>,
}

impl TrustProfile {
    /// Parses and checks a trust profile; `source` names it in errors.
    pub fn from_toml(text: &str, source: &str) -> Result<TrustProfile, PolicyError> {
        crate::profile::parse_checked(text, source, TrustProfile::validate)
    }

    /// Every problem with the trust profile itself, with the key it is about.
    pub fn validate(&self) -> Vec<ProfileProblem> {
        let mut out = crate::profile::filtering::validate_lists(&self.lists, "lists");
        let mut problem = |key: String, message: String| out.push(ProfileProblem { key, message });
        for (i, l) in self.lists.iter().enumerate() {
            if l.url.is_some() {
                problem(
                    format!("lists[{i}].url"),
                    "a trust's list is read from a file (path); a list downloaded by URL \
                     goes in each school's profile for now"
                        .into(),
                );
            }
        }
        if self.trust.name.trim().is_empty() {
            problem("trust.name".into(), "must not be empty".into());
        }
        if self.schools.is_empty() {
            problem("schools".into(), "a trust needs at least one school".into());
        }
        for (i, s) in self.schools.iter().enumerate() {
            if let Err(e) = crate::school::check_slug(&s.slug) {
                problem(format!("schools[{i}].slug"), e.to_string());
            }
            if self.schools[..i].iter().any(|o| o.slug == s.slug) {
                problem(
                    format!("schools[{i}].slug"),
                    format!("`{}` is given to two schools", s.slug),
                );
            }
            if s.profile.trim().is_empty() {
                problem(format!("schools[{i}].profile"), "must not be empty".into());
            }
            for (j, rule) in s.subnets.iter().flatten().enumerate() {
                if rule.cidr.parse::<IpNet>().is_err() {
                    problem(
                        format!("schools[{i}].subnets[{j}].cidr"),
                        format!("`{}` is not an address range like 10.1.2.0/24", rule.cidr),
                    );
                }
            }
        }
        for (i, r) in self.roles.iter().enumerate() {
            match Role::parse(&r.role) {
                Some(role) if TRUST_ROLES.contains(&role) => {
                    if self.roles[..i].iter().any(|o| o.role == r.role) {
                        problem(
                            format!("roles[{i}].role"),
                            format!("`{}` is given twice", r.role),
                        );
                    }
                }
                _ => problem(
                    format!("roles[{i}].role"),
                    format!(
                        "`{}` is not a trust role: one of {}",
                        r.role,
                        TRUST_ROLES.map(Role::as_str).join(", ")
                    ),
                ),
            }
            if r.title.trim().is_empty() {
                problem(format!("roles[{i}].title"), "must not be empty".into());
            }
            if r.schools.is_empty() {
                problem(
                    format!("roles[{i}].schools"),
                    "name the schools it covers, or \"*\" for all".into(),
                );
            }
            for (j, slug) in r.schools.iter().enumerate() {
                if slug != "*" && !self.schools.iter().any(|s| &s.slug == slug) {
                    problem(
                        format!("roles[{i}].schools[{j}]"),
                        format!("`{slug}` is not one of the trust's schools"),
                    );
                }
            }
        }
        if self.schools.iter().any(|s| s.slug == TRUST_SLUG) {
            problem(
                "schools".into(),
                format!("`{TRUST_SLUG}` is the trust's own slug, not a school's"),
            );
        }
        out
    }

    /// The title the trust gives the trust role acting as `role`, if it has one.
    pub fn title_of(&self, role: Role) -> Option<&str> {
        self.roles
            .iter()
            .find(|r| r.role == role.as_str())
            .map(|r| r.title.as_str())
    }

    /// The roles of `held` that a person of the trust acts with in the school `slug`: each
    /// trust role whose `schools` cover it (none: the school is not theirs, and is hidden).
    pub fn roles_in(&self, held: RoleSet, slug: &str) -> RoleSet {
        self.roles
            .iter()
            .filter(|r| r.schools.iter().any(|s| s == "*" || s == slug))
            .filter_map(|r| Role::parse(&r.role))
            .filter(|role| held.contains(*role))
            .collect()
    }

    /// The trust's schools with their profiles (as loaded by the caller, in the same order),
    /// each profile's subnets replaced where the trust gives them; refused when a replacement
    /// names a group the school's profile lacks, or when two schools' subnets overlap (a
    /// device must belong to one school), naming both schools and both ranges.
    pub fn schools_with(
        &self,
        profiles: Vec<Profile>,
    ) -> Result<Vec<(TrustSchool, Profile)>, PolicyError> {
        let mut problems = Vec::new();
        let mut out = Vec::new();
        for (i, (school, mut profile)) in self.schools.iter().cloned().zip(profiles).enumerate() {
            if let (Some(subnets), Some(network)) = (&school.subnets, profile.network.as_mut()) {
                for (j, rule) in subnets.iter().enumerate() {
                    if !profile
                        .filtering
                        .groups
                        .iter()
                        .any(|g| g.name == rule.group)
                    {
                        problems.push(ProfileProblem {
                            key: format!("schools[{i}].subnets[{j}].group"),
                            message: format!(
                                "`{}` is not a group of {}'s profile",
                                rule.group, school.slug
                            ),
                        });
                    }
                }
                network.subnets = subnets.clone();
            }
            out.push((school, profile));
        }
        let ranges: Vec<(&str, &str, IpNet)> = out
            .iter()
            .flat_map(|(school, profile)| {
                profile
                    .network
                    .iter()
                    .flat_map(|n| n.subnets.iter())
                    .filter_map(move |r| {
                        Some((school.slug.as_str(), r.cidr.as_str(), r.cidr.parse().ok()?))
                    })
            })
            .collect();
        for (i, (a_school, a_cidr, a)) in ranges.iter().enumerate() {
            for (b_school, b_cidr, b) in &ranges[i + 1..] {
                if a_school != b_school && (a.contains(b) || b.contains(a)) {
                    problems.push(ProfileProblem {
                        key: "schools".into(),
                        message: format!(
                            "{a_school}'s subnet {a_cidr} overlaps {b_school}'s subnet {b_cidr}: \
                             a device must belong to one school"
                        ),
                    });
                }
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(PolicyError::ProfileInvalid {
                source_name: "the trust's schools".into(),
                problems,
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn shipped(name: &str) -> Profile {
        let path = format!("{}/../../profiles/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        Profile::from_toml(&text, &path).unwrap_or_else(|e| panic!("{e}"))
    }

    fn shipped_trust() -> TrustProfile {
        let path = format!("{}/../../profiles/trust.toml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        TrustProfile::from_toml(&text, &path).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_shipped_trust_runs_holt_and_coleridge_on_separate_subnets() {
        let trust = shipped_trust();
        let slugs: Vec<&str> = trust.schools.iter().map(|s| s.slug.as_str()).collect();
        assert_eq!(slugs, ["holt", "coleridge"]);
        let schools = trust
            .schools_with(vec![shipped("holt"), shipped("coleridge")])
            .unwrap_or_else(|e| panic!("{e}"));
        let coleridge = &schools[1].1;
        let cidrs: Vec<&str> = coleridge
            .network
            .iter()
            .flat_map(|n| n.subnets.iter())
            .map(|s| s.cidr.as_str())
            .collect();
        assert!(cidrs.contains(&"127.0.0.22/32"), "{cidrs:?}");
        assert!(!cidrs.contains(&"127.0.0.12/32"), "{cidrs:?}");
    }

    #[test]
    fn a_trust_role_acts_in_the_schools_it_covers_and_no_other() {
        let trust = shipped_trust();
        let dsl = RoleSet::of(Role::Dsl);
        assert_eq!(trust.roles_in(dsl, "holt"), dsl);
        assert!(trust.roles_in(dsl, "coleridge").is_empty());
        let it = RoleSet::of(Role::NetworkManager);
        assert_eq!(trust.roles_in(it, "holt"), it);
        assert_eq!(trust.roles_in(it, "coleridge"), it);
        // A role the trust profile does not give acts nowhere.
        assert!(
            trust
                .roles_in(RoleSet::of(Role::Teacher), "holt")
                .is_empty()
        );
    }

    #[test]
    fn overlapping_subnets_are_refused_naming_both_schools() {
        let mut trust = shipped_trust();
        trust.schools[1].subnets = None;
        let err = trust
            .schools_with(vec![shipped("holt"), shipped("coleridge")])
            .map(|_| ())
            .expect_err("the shipped profiles share 127.0.0.12");
        let text = err.to_string();
        assert!(
            text.contains("holt's subnet") && text.contains("coleridge's subnet"),
            "{text}"
        );
        assert!(text.contains("127.0.0.12/32"), "{text}");
    }

    #[test]
    fn bad_trust_profiles_are_refused_naming_the_key() {
        for (toml, key) in [
            (
                "[trust]\nname = \"\"\n[[schools]]\nslug = \"a\"\nprofile = \"holt\"\n",
                "trust.name",
            ),
            ("[trust]\nname = \"T\"\nschools = []\n", "schools"),
            (
                "[trust]\nname = \"T\"\n[[schools]]\nslug = \"Holt\"\nprofile = \"holt\"\n",
                "schools[0].slug",
            ),
            (
                "[trust]\nname = \"T\"\n[[schools]]\nslug = \"a\"\nprofile = \"holt\"\n\
                 [[schools]]\nslug = \"a\"\nprofile = \"coleridge\"\n",
                "schools[1].slug",
            ),
            (
                "[trust]\nname = \"T\"\n[[schools]]\nslug = \"a\"\nprofile = \"holt\"\n\
                 subnets = [{ cidr = \"10.1/99\", group = \"ks1\" }]\n",
                "schools[0].subnets[0].cidr",
            ),
        ] {
            let err = TrustProfile::from_toml(toml, "t.toml")
                .map(|_| ())
                .expect_err(toml);
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
        let base = "[trust]\nname = \"T\"\n[[schools]]\nslug = \"a\"\nprofile = \"holt\"\n";
        for (roles, key) in [
            (
                "[[roles]]\nrole = \"teacher\"\ntitle = \"T\"\nschools = [\"a\"]\n",
                "roles[0].role",
            ),
            (
                "[[roles]]\nrole = \"dsl\"\ntitle = \"T\"\nschools = [\"b\"]\n",
                "roles[0].schools[0]",
            ),
            (
                "[[roles]]\nrole = \"dsl\"\ntitle = \"\"\nschools = [\"*\"]\n",
                "roles[0].title",
            ),
            (
                "[[lists]]\nname = \"x\"\nurl = \"https://lists.example/x\"\nformat = \"domains\"\ncategory = \"x\"\n",
                "lists[0].url",
            ),
            (
                "[[lists]]\nname = \"x\"\npath = \"x.txt\"\nformat = \"domains\"\n",
                "lists[0].category",
            ),
        ] {
            let text = format!("{base}{roles}");
            let err = TrustProfile::from_toml(&text, "t.toml")
                .map(|_| ())
                .expect_err(&text);
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
        let unknown = "[trust]\nname = \"T\"\ncolour = \"red\"\n";
        let err = TrustProfile::from_toml(unknown, "t.toml")
            .map(|_| ())
            .expect_err("unknown key");
        assert!(err.to_string().contains("colour"), "{err}");
    }
}
