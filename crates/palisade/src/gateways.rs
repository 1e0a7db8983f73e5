//! Starting the filtering gateways (the DNS resolver and the web proxy) with their access log,
//! the monitoring on it and the alert mail, from the profile and the command line.

use crate::cmd::serve::GatewayArgs;
use crate::reload::{self, FilterLoader, FilteringControl};
use anyhow::{Context, Result};
use gateway::FilterSlot;
use gateway::dns::{DnsConfig, DnsServer};
use gateway::proxy::{ProxyConfig, ProxyServer};
use policy::Profile;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use store::{AccessLogConfig, AccessLogger, BatchWatcher, Store, Urgency, Watch};

/// The filtering gateways that are running, their shared access log and its writer.
pub struct Gateways {
    pub dns: Option<DnsServer>,
    pub proxy: Option<ProxyServer>,
    pub logger: AccessLogger,
    pub writer: tokio::task::JoinHandle<()>,
    /// What the web may see and change of the first school's filtering.
    pub control: Arc<FilteringControl>,
    /// Each school's filtering and monitoring, the first school's first.
    pub schools: Vec<SchoolFiltering>,
    /// The compiled indexes the schools share.
    pub indexes: Arc<crate::filtering::SharedIndexes>,
}

/// One school the gateways filter for.
pub struct GatewaySchool<'a> {
    /// The school's row.
    pub id: i64,
    pub profile: &'a Profile,
    /// The profile's shipped name or file, read again on a reload.
    pub source: &'a str,
    /// The store acting in this school.
    pub store: &'a Store,
    /// Where its alerts' mail goes.
    pub mail: &'a Mail,
}

/// One school's filtering as the gateways keep it.
pub struct SchoolFiltering {
    /// The school's row.
    pub id: i64,
    /// What the web may see and change of it.
    pub control: Arc<FilteringControl>,
    /// Alert hits its monitoring rules made that could not be stored.
    pub hits_dropped: Arc<AtomicU64>,
}

/// The outbox's sender and the daily mail, and how the monitoring reaches them.
pub struct Mail {
    pub alerts: Arc<dyn monitor::pipeline::AlertStore>,
    /// Wakes the sender when mail is queued.
    pub wake: Arc<tokio::sync::Notify>,
}

/// Starts the outbox's sender (when an SMTP server is given) and the daily mail. They run
/// whether a gateway runs or not: the daily mail carries the audit trail's head to the Chair,
/// and mail about role changes is queued by the web pages alone.
pub fn start_mail(
    profile: &Profile,
    store: &Store,
    settings: &GatewaySettings,
    web_url: &str,
) -> Mail {
    let alerts: Arc<dyn monitor::pipeline::AlertStore> = Arc::new(crate::adapters::StoreAlerts(
        store.clone(),
        Arc::new(profile.clone()),
    ));
    // Whatever queues mail through the store (a new concern, a role change) wakes the sender.
    let wake = store.outbox_wake();
    if let Some(smtp) = settings.smtp.clone() {
        tokio::spawn(monitor::notify::run_mailer(
            alerts.clone(),
            smtp,
            wake.clone(),
        ));
    }
    monitor::schedule::spawn_daily_mail(profile, alerts.clone(), web_url, wake.clone());
    monitor::weekly::spawn_weekly_report(profile, alerts.clone(), web_url, wake.clone());
    crate::upkeep::spawn_triage_watch(store, profile, alerts.clone(), wake.clone(), web_url);
    Mail { alerts, wake }
}

/// The gateways' and mail's settings: the command line, validated once.
#[derive(Clone, Default)]
pub struct GatewaySettings {
    /// The flags that need nothing beyond clap's parsing.
    pub flags: GatewayArgs,
    /// Mail, when an SMTP server is given.
    pub smtp: Option<monitor::notify::SmtpSettings>,
    /// The demo's `--totp-optional` (see [`web::AppState::totp_optional`]); never `serve`'s.
    pub totp_optional: bool,
}

impl TryFrom<GatewayArgs> for GatewaySettings {
    type Error = anyhow::Error;

    fn try_from(flags: GatewayArgs) -> Result<GatewaySettings> {
        Ok(GatewaySettings {
            smtp: smtp_settings(&flags)?,
            flags,
            totp_optional: false,
        })
    }
}

/// SMTP settings from the command line and environment (credentials from the environment
/// only, so that they never show in a process list).
fn smtp_settings(args: &GatewayArgs) -> Result<Option<monitor::notify::SmtpSettings>> {
    use monitor::notify::{Security, SmtpSettings};
    let Some(host) = args.smtp_host.clone() else {
        return Ok(None);
    };
    let security = match args.smtp_security.as_str() {
        "none" => Security::None,
        "starttls" => Security::StartTls,
        "tls" => Security::Tls,
        other => anyhow::bail!("--smtp-security: `{other}` is not none, starttls or tls"),
    };
    Ok(Some(SmtpSettings {
        host,
        port: args.smtp_port,
        security,
        username: std::env::var("PALISADE_SMTP_USER").ok(),
        password: std::env::var("PALISADE_SMTP_PASSWORD").ok(),
        from: args.smtp_from.clone(),
        retry_base: std::time::Duration::from_secs(args.mail_retry_seconds.max(1)),
    }))
}

/// Starts the DNS gateway and the proxy (each unless switched off) for `schools` (one, or a
/// trust's: each client is filtered by its school's profile, found by the schools' subnets),
/// over one access log, then loads each school's filter. The demo carries on without a gateway
/// whose port is taken (e.g. mDNS on 5353); a real school's `serve` must not start half-way.
/// The first school's `[network]` says where the gateways listen and which upstreams they ask.
pub async fn start_gateways(
    schools: &[GatewaySchool<'_>],
    settings: &GatewaySettings,
    trust_lists: &[filter::ListFile],
    web_url: &str,
) -> Result<Gateways> {
    let Some(first) = schools.first() else {
        anyhow::bail!("no school to filter for");
    };
    let args = &settings.flags;
    // One log for every school: a trust's writer acts across its schools, and each event is
    // written in its own school's rows.
    let ids: Vec<i64> = schools.iter().map(|s| s.id).collect();
    let shared = schools.len() > 1;
    let log_store = if shared {
        first.store.scoped(store::Scope::across(first.id, &ids))
    } else {
        first.store.clone()
    };
    let mut parts = Vec::with_capacity(schools.len());
    let mut watches = Vec::with_capacity(schools.len());
    for school in schools {
        let (part, watch) = SchoolPart::start(school, web_url)?;
        watches.push((school.id, watch));
        parts.push(part);
    }
    let (logger, writer) = AccessLogger::start_watched(
        log_store,
        AccessLogConfig::default(),
        Some(watch_each_school(watches)),
    );
    let sink = |school: &GatewaySchool<'_>| -> Arc<dyn events::AccessSink> {
        if shared {
            Arc::new(logger.for_school(school.id))
        } else {
            Arc::new(logger.clone())
        }
    };
    for (school, part) in schools.iter().zip(&parts) {
        crate::upkeep::spawn_gap_watch(
            school.store,
            logger.shared_stats(),
            part.hits_dropped.clone(),
            school.profile.monitoring.aggregate_minutes,
            part.new_alerts.clone(),
        );
        reload::load_devices(school.store, &part.devices).await;
        gateway::devices::spawn_neighbour_refresh(part.devices.clone());
    }
    // Proxy sign-ins name users in the DNS log too, for as long as a working day. Clients'
    // addresses belong to one school each, so one register serves them all.
    let signed_in = Arc::new(gateway::signed_in::SignedIn::new(
        std::time::Duration::from_secs(8 * 3600),
    ));
    let dns = if args.no_dns {
        None
    } else {
        let mut members = Vec::with_capacity(schools.len());
        for (school, part) in schools.iter().zip(&parts) {
            members.push(gateway::dns::DnsSchool {
                config: dns_config(school, part, args, &signed_in)?,
                filter: part.slot.clone(),
                log: Some(sink(school)),
            });
        }
        match DnsServer::start_schools(members).await {
            Ok(server) => Some(server),
            Err(e) if args.optional => {
                eprintln!("DNS filtering not started: {e:#} (try --dns-listen 127.0.0.1:0)");
                None
            }
            Err(e) => return Err(e.into()),
        }
    };
    let proxy = if args.no_proxy {
        None
    } else {
        let mut members = Vec::with_capacity(schools.len());
        for (school, part) in schools.iter().zip(&parts) {
            members.push(gateway::proxy::ProxySchool {
                config: proxy_config(school, part, args, &signed_in, web_url)?,
                filter: part.slot.clone(),
                log: Some(sink(school)),
            });
        }
        match ProxyServer::start_schools(members).await {
            Ok(server) => Some(server),
            Err(e) if args.optional => {
                eprintln!("Web proxy not started: {e:#} (try --proxy-listen 127.0.0.1:0)");
                None
            }
            Err(e) => return Err(e.into()),
        }
    };
    let lists = crate::filtering::ListSources {
        trust: Arc::new(trust_lists.to_vec()),
        extra: args.lists.clone(),
        shared: Arc::default(),
    };
    let mut filtering = Vec::with_capacity(schools.len());
    for (school, part) in schools.iter().zip(parts) {
        let loader = Arc::new(FilterLoader::new(
            part.slot,
            school.profile,
            school.source,
            &part.dir,
            lists.clone(),
            school.store.clone(),
        ));
        let control = reload::start(
            loader,
            school.store,
            &part.devices,
            &school.profile.filtering,
        )
        .await;
        filtering.push(SchoolFiltering {
            id: school.id,
            control,
            hits_dropped: part.hits_dropped,
        });
    }
    let Some(control) = filtering.first().map(|f| f.control.clone()) else {
        anyhow::bail!("no school to filter for");
    };
    Ok(Gateways {
        dns,
        proxy,
        logger,
        writer,
        control,
        schools: filtering,
        indexes: lists.shared,
    })
}

/// What one school's gateways hold of their own: the filter slot, the device register, and
/// the monitoring on its log.
struct SchoolPart {
    /// The folder its profile's relative paths (lists, CA, TLS roots) start from.
    dir: std::path::PathBuf,
    slot: Arc<FilterSlot>,
    devices: Arc<gateway::devices::Devices>,
    hits_dropped: Arc<AtomicU64>,
    new_alerts: tokio::sync::mpsc::Sender<i64>,
}

impl SchoolPart {
    /// Starts the school's monitoring rules (returned as the watch on its events).
    fn start(school: &GatewaySchool<'_>, web_url: &str) -> Result<(SchoolPart, Watch)> {
        let dir = crate::settings::profile_dir(school.source);
        let monitoring = monitor::pipeline::start_monitoring(
            school.profile,
            &dir,
            school.store.clock().clone(),
            school.mail.alerts.clone(),
            web_url,
            school.mail.wake.clone(),
            crate::adapters::spawn_recorder(school.store),
        )?;
        Ok((
            SchoolPart {
                dir,
                slot: FilterSlot::empty(),
                devices: gateway::devices::Devices::new(),
                hits_dropped: monitoring.hits_dropped,
                new_alerts: monitoring.new_alerts,
            },
            Watch {
                watcher: monitoring.watcher,
                urgent: {
                    let rules = monitoring.urgent;
                    Arc::new(move |e: &events::AccessEvent| rules.is_urgent(e)) as Urgency
                },
            },
        ))
    }
}

/// Shows each batch to the monitoring rules of the schools its events belong to, and asks each
/// event's school's rules whether it is urgent. A shared log sorts each batch by school (see
/// `store::SchoolLog`), so each school sees its own run.
fn watch_each_school(mut watches: Vec<(i64, Watch)>) -> Watch {
    if watches.len() == 1
        && let Some((_, only)) = watches.pop()
    {
        return only;
    }
    let urgent: std::collections::HashMap<i64, Urgency> = watches
        .iter()
        .map(|(id, w)| (*id, w.urgent.clone()))
        .collect();
    let watchers: std::collections::HashMap<i64, BatchWatcher> =
        watches.into_iter().map(|(id, w)| (id, w.watcher)).collect();
    let urgent: Urgency = Arc::new(move |e: &events::AccessEvent| {
        e.school
            .and_then(|id| urgent.get(&id))
            .is_some_and(|u| u(e))
    });
    let watcher: BatchWatcher = Arc::new(move |batch: &[events::AccessEvent]| {
        for run in batch.chunk_by(|a, b| a.school == b.school) {
            let watcher = run
                .first()
                .and_then(|e| e.school)
                .and_then(|id| watchers.get(&id));
            match watcher {
                Some(w) => w(run),
                None => tracing::error!(
                    events = run.len(),
                    "access events of no school served: not monitored"
                ),
            }
        }
    });
    Watch { watcher, urgent }
}

/// The pupil-level groups of a profile, which never get an unfiltered answer.
fn pupil_groups(profile: &Profile) -> std::collections::HashSet<String> {
    profile
        .filtering
        .pupil_group_names()
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// The DNS gateway's settings for one school: its profile's, with the command line's
/// addresses and upstreams in their place.
fn dns_config(
    school: &GatewaySchool<'_>,
    part: &SchoolPart,
    args: &GatewayArgs,
    signed_in: &Arc<gateway::signed_in::SignedIn>,
) -> Result<DnsConfig> {
    let profile = school.profile;
    let network = network_of(school)?;
    let mut config =
        DnsConfig::from_network(network, pupil_groups(profile), school.store.clock().clone());
    if !args.dns_listen.is_empty() {
        config.listen = args.dns_listen.clone();
    }
    if !args.dns_upstream.is_empty() {
        // Plain upstreams named on the command line stand in for the profile's, TLS or not.
        config.upstreams = args.dns_upstream.clone();
        config.tls_upstreams.clear();
    }
    if let Some(file) = &network.dns.tls_ca_file {
        let path = part.dir.join(file);
        config.tls_roots_pem = Some(std::fs::read_to_string(&path).with_context(|| {
            format!("[network.dns] tls_ca_file: cannot read {}", path.display())
        })?);
    }
    config.signed_in = Some(signed_in.clone());
    config.devices = Some(part.devices.clone());
    config.groups = profile
        .filtering
        .groups
        .iter()
        .map(|g| g.name.clone())
        .collect();
    Ok(config)
}

/// The proxy's settings for one school: its profile's, with the command line's addresses, its
/// CA for HTTPS inspection and its accounts for sign-in.
fn proxy_config(
    school: &GatewaySchool<'_>,
    part: &SchoolPart,
    args: &GatewayArgs,
    signed_in: &Arc<gateway::signed_in::SignedIn>,
    web_url: &str,
) -> Result<ProxyConfig> {
    let profile = school.profile;
    let network = network_of(school)?;
    let mut config =
        ProxyConfig::from_network(network, pupil_groups(profile), school.store.clock().clone());
    if !args.proxy_listen.is_empty() {
        config.listen = args.proxy_listen.clone();
    }
    config.parent = args.proxy_parent;
    config.web_url = Some(web_url.to_string());
    let ca_dir = part.dir.join(&network.proxy.ca_dir);
    config.inspection = gateway::proxy::Inspection::from_settings(&network.proxy, &ca_dir)
        .context("HTTPS inspection is set for some groups")?;
    config.signed_in = Some(signed_in.clone());
    config.devices = Some(part.devices.clone());
    if !network.proxy.login_groups.is_empty() {
        config.login = Some(gateway::proxy::ProxyLogin {
            accounts: Arc::new(crate::adapters::StoreAccounts(
                school.store.clone(),
                profile.code_of_conduct.clone(),
            )),
            groups: network.proxy.login_groups.iter().cloned().collect(),
            staff_group: network.proxy.staff_group.clone(),
            guest_group: profile.guests.group.clone(),
            lockout_attempts: profile.passwords.lockout_attempts,
            lockout_minutes: profile.passwords.lockout_minutes,
            aup_version: profile.code_of_conduct.aup_version.clone(),
            realm: format!("{} web filter", profile.school.name),
            passwords: profile.passwords.clone(),
        });
    }
    Ok(config)
}

/// The school's `[network]` section, which every school the gateways serve has.
fn network_of<'p>(
    school: &GatewaySchool<'p>,
) -> Result<&'p policy::profile::network::NetworkPolicy> {
    school.profile.network.as_ref().with_context(|| {
        format!(
            "{} has no [network] section: its clients cannot be filtered",
            school.profile.school.name
        )
    })
}
