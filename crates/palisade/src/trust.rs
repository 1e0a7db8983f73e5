//! A trust's schools for `serve --trust` and `demo --trust`: the trust profile read with each
//! school's profile, and each school's row in the database found or added.

use crate::settings::load_profile;
use anyhow::{Context, Result, bail};
use policy::Profile;
use policy::trust::TrustProfile;
use store::Store;

/// The example trust shipped inside the binary (Holt and Coleridge).
const SHIPPED_TRUST: &str = include_str!("../../../profiles/trust.toml");
/// Its name on the command line.
pub const SHIPPED_NAME: &str = "trust";

/// The folder a trust profile's relative list paths start from: the file's folder, or for the
/// shipped example the source tree's `profiles/` folder, as for the shipped school profiles.
pub fn trust_dir(name_or_path: &str) -> std::path::PathBuf {
    if name_or_path == SHIPPED_NAME {
        return crate::settings::profile_dir("holt");
    }
    crate::settings::profile_dir(name_or_path)
}

/// The trust's `[[lists]]` as files to read (relative paths from the trust profile's folder).
pub fn trust_lists(name_or_path: &str, trust: &TrustProfile) -> Vec<filter::ListFile> {
    let dir = trust_dir(name_or_path);
    filter::compile::lists_of(&trust.lists, &dir, &dir.join("palisade-data").join("lists"))
}

/// One school of a running trust: its database id, slug and profile.
pub struct Member {
    pub id: i64,
    pub slug: String,
    pub profile: Profile,
    /// The school profile's shipped name or file, read again on a reload.
    pub source: String,
}

/// The schools `serve` runs besides the first: a trust's other schools and its own row.
#[derive(Default)]
pub struct Running {
    /// The first school's slug (a trust's; empty for a single school).
    pub first_slug: String,
    pub others: Vec<Member>,
    pub trust: Option<std::sync::Arc<web::schools::Trust>>,
    /// The trust's lists, which every school filters with before its own.
    pub lists: Vec<filter::ListFile>,
}

/// The trust's own row in `store`'s database (added if missing), where its people sign in;
/// it takes the first school's profile for its sign-in rules. Its id.
pub async fn trust_row(store: &Store, trust: &TrustProfile) -> Result<i64> {
    if let Some(id) = store.school_id_by_slug(policy::trust::TRUST_SLUG).await? {
        return Ok(id);
    }
    let row = store.add_trust_row(&trust.trust.name).await?;
    tracing::info!(id = row.id, "the trust's own row added");
    Ok(row.id)
}

/// Reads the trust profile (`trust` for the shipped example, or a file) and its schools'
/// profiles (shipped names, or files beside the trust profile), with the trust's subnets in
/// place and overlaps refused.
pub fn load_trust(name_or_path: &str) -> Result<(TrustProfile, Vec<(String, Profile)>)> {
    let (text, dir) = if name_or_path == SHIPPED_NAME {
        (SHIPPED_TRUST.to_string(), None)
    } else {
        let text = std::fs::read_to_string(name_or_path)
            .with_context(|| format!("cannot read the trust profile {name_or_path}"))?;
        (
            text,
            std::path::Path::new(name_or_path)
                .parent()
                .map(|p| p.to_path_buf()),
        )
    };
    let trust = TrustProfile::from_toml(&text, name_or_path)?;
    let mut sources = Vec::new();
    let mut profiles = Vec::new();
    for s in &trust.schools {
        let source = match &dir {
            Some(dir) if !crate::settings::is_shipped(&s.profile) => {
                dir.join(&s.profile).display().to_string()
            }
            _ => s.profile.clone(),
        };
        profiles.push(
            load_profile(&source).with_context(|| format!("the profile of school {}", s.slug))?,
        );
        sources.push(source);
    }
    let schools = trust.schools_with(profiles)?;
    let out = sources
        .into_iter()
        .zip(schools)
        .map(|(source, (_, profile))| (source, profile))
        .collect();
    Ok((trust, out))
}

/// Each of the trust's schools in `store`'s database: the first is school 1 (named after the
/// trust's slug and its profile on a new or upgraded database), the others are found by slug
/// or added, audited in their own trails. A trust runs on PostgreSQL.
pub async fn members(
    store: &Store,
    trust: &TrustProfile,
    profiles: Vec<(String, Profile)>,
) -> Result<Vec<Member>> {
    if store.backend() == store::Backend::Sqlite && trust.schools.len() > 1 {
        bail!(
            "the trust `{}` has {} schools: a trust runs on PostgreSQL (--database-url postgres://...)",
            trust.trust.name,
            trust.schools.len()
        );
    }
    let mut out = Vec::new();
    for (i, (school, (source, profile))) in trust.schools.iter().zip(profiles).enumerate() {
        let id = if i == 0 {
            store
                .name_first_school_as(&school.slug, &profile.school.name)
                .await?;
            match store.school_id_by_slug(&school.slug).await? {
                Some(id) if id == store.school_id() => id,
                _ => bail!(
                    "the trust profile's first school `{}` is not the database's first school \
                     (see `palisade school list`): list the schools in the order the database \
                     holds them",
                    school.slug
                ),
            }
        } else {
            match store.school_id_by_slug(&school.slug).await? {
                Some(id) => id,
                None => {
                    let added = store.add_school(&school.slug, &profile.school.name).await?;
                    tracing::info!(id = added.id, slug = %added.slug, "school added from the trust profile");
                    added.id
                }
            }
        };
        out.push(Member {
            id,
            slug: school.slug.clone(),
            profile,
            source,
        });
    }
    Ok(out)
}

/// Splits a trust's members into the first school, which `serve` runs as its own, and the rest
/// with the trust's row.
pub fn split(
    trust: TrustProfile,
    lists: Vec<filter::ListFile>,
    mut members: Vec<Member>,
    trust_id: i64,
) -> Result<(Member, Running)> {
    if members.is_empty() {
        bail!("the trust `{}` has no schools", trust.trust.name);
    }
    let first = members.remove(0);
    let running = Running {
        first_slug: first.slug.clone(),
        others: members,
        lists,
        trust: Some(std::sync::Arc::new(web::schools::Trust {
            id: trust_id,
            profile: trust,
        })),
    };
    Ok((first, running))
}
