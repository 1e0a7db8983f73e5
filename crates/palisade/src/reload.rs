//! Putting the filter in force and keeping it current: the profile's lists compiled with the
//! school's entries (on start, on SIGHUP, when the entries or device register change, when a
//! remote list is refreshed), and what the web may see and change of it.

use crate::settings::load_profile;
use anyhow::{Context, Result};
use filter::Verdict;
use gateway::{EngineFilter, FilterSlot};
use policy::Profile;
use std::path::PathBuf;
use std::sync::Arc;
use store::Store;

/// Loads the filter and records the profile's filtering, then keeps both current: the
/// profile's remote lists are refreshed, SIGHUP reads the profile again, and a change of the
/// school's entries or device register (woken through the returned control) reloads them.
pub async fn start(
    loader: Arc<FilterLoader>,
    store: &Store,
    devices: &Arc<gateway::devices::Devices>,
    filtering: &policy::profile::FilteringPolicy,
) -> Arc<FilteringControl> {
    if let Err(e) = loader.load().await {
        tracing::error!(error = %e, "the filter lists could not be loaded; pupils are refused until they are");
    }
    // The decision log learns of a profile edited while Palisade was stopped.
    let start = store::FilteringChangedBy::Operator { via: "start" };
    match store.record_filtering(start, filtering, "").await {
        Ok(store::FilteringRecorded::Changed { changes, .. }) => {
            tracing::info!(changes = ?changes, "the profile's filtering changed since the last start")
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "the profile's filtering could not be recorded"),
    }
    spawn_list_refresh(loader.clone());
    let reload = Arc::new(tokio::sync::Notify::new());
    let (wake, loader_for_reloads) = (reload.clone(), loader.clone());
    let (store_for_reloads, devices_for_reloads) = (store.clone(), devices.clone());
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let hangup = async {
                match hup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let hangup = std::future::pending::<Option<()>>();
            tokio::select! {
                _ = hangup => {
                    tracing::info!("SIGHUP: reading the profile again");
                    let by = store::FilteringChangedBy::Operator { via: "SIGHUP" };
                    match loader_for_reloads.reload_profile(by, "").await {
                        Ok(done) => tracing::info!(outcome = ?done.recorded, waiting_for_restart = ?done.waiting_for_restart, "SIGHUP: profile reloaded"),
                        Err(e) => tracing::error!(error = %e, "SIGHUP: the profile was not reloaded; the filter in force stays"),
                    }
                    load_devices(&store_for_reloads, &devices_for_reloads).await;
                }
                _ = wake.notified() => {
                    tracing::info!("the school's entries or device register changed: reloading");
                    load_devices(&store_for_reloads, &devices_for_reloads).await;
                    if let Err(e) = loader_for_reloads.load().await {
                        tracing::error!(error = %e, "the filter could not be reloaded; keeping what is in force");
                    }
                }
            }
        }
    });
    Arc::new(FilteringControl {
        loader,
        reload,
        tester: std::sync::OnceLock::new(),
    })
}

/// Puts the stored device register in force for the gateways; on failure the last one stays.
pub async fn load_devices(store: &Store, devices: &gateway::devices::Devices) {
    match store.devices().await {
        Ok(list) => devices.replace(
            list.into_iter()
                .map(|d| gateway::devices::DeviceEntry {
                    ip: d.ip.as_deref().and_then(|ip| ip.parse().ok()),
                    mac: d.mac,
                    tag: gateway::devices::DeviceTag {
                        name: d.name,
                        holder: d.holder_id.zip(d.holder_username),
                        group: d.group_name,
                    },
                })
                .collect(),
        ),
        Err(e) => tracing::error!(error = %e, "cannot read the device register; keeping the last"),
    }
}

/// Downloads the profile's remote lists now and every `refresh_hours`, reloading the filter when
/// one changed. Failures keep the last good copy and are logged.
fn spawn_list_refresh(loader: Arc<FilterLoader>) {
    let hours = loader
        .profile()
        .filtering
        .lists
        .iter()
        .filter(|l| l.url.is_some())
        .map(|l| l.refresh_hours.max(1))
        .min();
    let Some(hours) = hours else { return };
    tokio::spawn(async move {
        let client = match crate::refresh::client() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "no HTTP client for list downloads");
                return;
            }
        };
        let cache = loader.dir.join("palisade-data").join("lists");
        loop {
            let outcomes = crate::refresh::refresh_lists(
                &loader.profile().filtering,
                &cache,
                &client,
                loader.store.clock(),
            )
            .await;
            let mut changed = false;
            for o in &outcomes {
                match o {
                    crate::refresh::Refreshed::Updated { name, bytes } => {
                        changed = true;
                        tracing::info!(list = %name, bytes, "list updated");
                    }
                    crate::refresh::Refreshed::NotModified { .. } => {}
                    crate::refresh::Refreshed::Failed { name, error, kept } => {
                        tracing::warn!(list = %name, %error, kept_last_good_copy = kept, "list download failed")
                    }
                }
            }
            if changed && let Err(e) = loader.load().await {
                tracing::error!(error = %e, "the refreshed lists could not be put in force");
            }
            tokio::time::sleep(std::time::Duration::from_secs(u64::from(hours) * 3600)).await;
        }
    });
}

/// Everything a filter (re)load needs: the profile in force (its lists and groups) and where
/// it came from, extra lists from the command line, and the school's entries from the store.
pub struct FilterLoader {
    slot: Arc<FilterSlot>,
    profile: std::sync::RwLock<Arc<Profile>>,
    source: String,
    dir: PathBuf,
    lists: crate::filtering::ListSources,
    store: Store,
    /// One reload at a time, so that the last one read is the one in force.
    reloading: tokio::sync::Mutex<()>,
    /// Told after each reload of the profile's filtering put in force (the self-test runs).
    pub reloaded: Arc<tokio::sync::Notify>,
}

impl FilterLoader {
    /// Whether a filter is in its slot (the lists have compiled at least once).
    pub fn filter_in_force(&self) -> bool {
        self.slot.load().is_some()
    }

    /// A loader of `profile`'s lists (read from `source`, in `dir`) and the trust's and the
    /// command line's into `slot`.
    pub fn new(
        slot: Arc<FilterSlot>,
        profile: &Profile,
        source: &str,
        dir: &std::path::Path,
        lists: crate::filtering::ListSources,
        store: Store,
    ) -> FilterLoader {
        FilterLoader {
            slot,
            profile: std::sync::RwLock::new(Arc::new(profile.clone())),
            source: source.to_string(),
            dir: dir.to_path_buf(),
            lists,
            store,
            reloading: tokio::sync::Mutex::new(()),
            reloaded: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// The school's store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The profile in force.
    pub fn profile(&self) -> Arc<Profile> {
        match self.profile.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Compiles the profile's lists with the school's entries and puts the result in force; on
    /// failure the filter in force (or none: pupils refused) stays.
    async fn load(&self) -> Result<()> {
        let _one = self.reloading.lock().await;
        self.compile_and_swap(&self.profile()).await
    }

    async fn compile_and_swap(&self, profile: &Profile) -> Result<()> {
        let entries = self
            .store
            .filter_entries()
            .await
            .context("the school's entries could not be read")?;
        let profile = crate::filtering::with_school_entries(profile, &entries);
        load_filter(
            &self.slot,
            profile,
            self.dir.clone(),
            self.lists.clone(),
            self.store.clock().clone(),
        )
        .await
    }

    /// Reads the profile again and, when its `[filtering]` can be put in force without a
    /// restart and its lists compile, puts it in force and records it in the decision log.
    /// Other sections' changes wait for a restart and are named in the outcome.
    async fn reload_profile(
        &self,
        by: store::FilteringChangedBy<'_>,
        why: &str,
    ) -> Result<web::ProfileReload, String> {
        let _one = self.reloading.lock().await;
        let source = self.source.clone();
        let read = tokio::task::spawn_blocking(move || load_profile(&source))
            .await
            .map_err(|e| format!("the profile could not be read: {e}"))?;
        let new = read.map_err(|e| format!("{e:#}"))?;
        let current = self.profile();
        if let Some(why_not) = new.filtering.needs_restart_from(&current.filtering) {
            return Err(format!(
                "{why_not}: the groups themselves change, so restart Palisade to apply it; the filter in force stays"
            ));
        }
        let waiting_for_restart = other_sections_changed(&current, &new);
        // The lists are compiled again even when the profile is the same: SIGHUP is also how
        // an edited list file is put in force.
        self.compile_and_swap(&new)
            .await
            .map_err(|e| format!("{e:#}; the filter in force stays"))?;
        let mut in_force = (*current).clone();
        in_force.filtering = new.filtering.clone();
        if let Ok(mut p) = self.profile.write() {
            *p = Arc::new(in_force);
        }
        let recorded = self
            .store
            .record_filtering(by, &new.filtering, why)
            .await
            .map_err(|e| format!("the filter is in force but could not be recorded: {e}"))?;
        self.reloaded.notify_one();
        Ok(web::ProfileReload {
            recorded,
            waiting_for_restart,
        })
    }
}

/// The sections besides `[filtering]` that differ between two profiles (they take effect at
/// the next start).
fn other_sections_changed(before: &Profile, after: &Profile) -> Vec<String> {
    let (Ok(serde_json::Value::Object(b)), Ok(serde_json::Value::Object(a))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Vec::new();
    };
    a.iter()
        .filter(|(k, v)| k.as_str() != "filtering" && b.get(k.as_str()) != Some(v))
        .map(|(k, _)| format!("[{k}]"))
        .collect()
}

/// What the web may see and change of the running gateways' filtering.
pub struct FilteringControl {
    pub loader: Arc<FilterLoader>,
    /// Wakes the reload of the school's entries and the device register.
    reload: Arc<tokio::sync::Notify>,
    /// The self-test of these gateways, once they listen.
    pub tester: std::sync::OnceLock<Arc<crate::selftest::SelfTester>>,
}

impl web::FilteringControl for FilteringControl {
    fn in_force(&self) -> Arc<Profile> {
        self.loader.profile()
    }

    fn profile_file(&self) -> String {
        let source = &self.loader.source;
        if crate::settings::is_shipped(source) {
            format!(
                "the shipped profile `{source}`, built into Palisade: start it with a copy in a file to edit it"
            )
        } else {
            source.clone()
        }
    }

    fn filter_in_force(&self) -> bool {
        self.loader.filter_in_force()
    }

    fn entries_changed(&self) {
        self.reload.notify_one();
    }

    fn blocked_by(&self, group: &str, url: &str) -> Option<(String, String)> {
        let filter = self.loader.slot.load()?;
        let host = filter::normalize::host_of(url).ok()?;
        match filter.decide_url(group, &host, url) {
            Verdict::Block { category, rule, .. } => Some((category, rule)),
            Verdict::Nxdomain { rule } => Some((String::new(), rule)),
            Verdict::Allow | Verdict::Rewrite { .. } => None,
        }
    }

    fn reload_profile<'a>(
        &'a self,
        permit: &'a policy::Permit,
        why: &'a str,
    ) -> web::BoxFuture<'a, Result<web::ProfileReload, String>> {
        Box::pin(
            self.loader
                .reload_profile(store::FilteringChangedBy::User(permit), why),
        )
    }

    fn run_self_test<'a>(
        &'a self,
        permit: &'a policy::Permit,
    ) -> web::BoxFuture<'a, Result<i64, String>> {
        Box::pin(async move {
            let Some(tester) = self.tester.get() else {
                return Err("the gateways are not listening yet: try again in a moment".into());
            };
            tester
                .run(permit, "page")
                .await
                .map(|run| run.run_id)
                .map_err(|e| format!("{e:#}"))
        })
    }
}

/// Compiles on a blocking thread and puts the result in force; the error says why not.
async fn load_filter(
    slot: &Arc<FilterSlot>,
    profile: Profile,
    dir: PathBuf,
    lists: crate::filtering::ListSources,
    clock: clock::Clock,
) -> Result<()> {
    let started = std::time::Instant::now();
    let built =
        tokio::task::spawn_blocking(move || crate::filtering::build_engine(&profile, &dir, &lists))
            .await
            .context("the filter compile task failed")?;
    let (engine, report) = built.context("the filter lists could not be loaded")?;
    if let Some(r) = &report {
        for line in crate::filtering::report_lines(r).iter().take(20) {
            tracing::warn!("{line}");
        }
    }
    let entries = engine.index().len();
    slot.replace(Box::new(EngineFilter { engine, clock }));
    tracing::info!(
        entries,
        ms = started.elapsed().as_millis() as u64,
        "filter in force"
    );
    Ok(())
}
