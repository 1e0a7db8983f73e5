//! One module per subcommand.

pub mod audit;
pub mod backup;
pub mod ca;
pub mod check;
pub mod check_config;
pub mod demo;
pub mod filter_test;
pub mod import;
pub mod lists;
pub mod policy;
pub mod publish;
pub mod school;
pub mod serve;
pub mod user;

/// The store of an existing database, in the school with `slug` when given (needed when it
/// holds several).
pub async fn open_school(
    url: &str,
    slug: Option<&str>,
    clock: clock::Clock,
) -> anyhow::Result<store::Store> {
    let store = store::Store::open_existing(url, clock).await?;
    Ok(match slug {
        Some(slug) => match store.school_id_by_slug(slug).await? {
            Some(id) => store.in_school(id),
            None => {
                anyhow::bail!("no school `{slug}` in this database (see `palisade school list`)")
            }
        },
        None => store,
    })
}
