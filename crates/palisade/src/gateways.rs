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
use store::{AccessLogConfig, AccessLogger, Store};

/// The filtering gateways that are running, their shared access log and its writer.
pub struct Gateways {
    pub dns: Option<DnsServer>,
    pub proxy: Option<ProxyServer>,
    pub logger: AccessLogger,
    pub writer: tokio::task::JoinHandle<()>,
    /// What the web may see and change of the filtering.
    pub control: Arc<FilteringControl>,
    /// Alert hits the monitoring rules made that could not be stored.
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
    let alerts: Arc<dyn monitor::pipeline::AlertStore> =
        Arc::new(crate::adapters::StoreAlerts(store.clone()));
    let wake = Arc::new(tokio::sync::Notify::new());
    if let Some(smtp) = settings.smtp.clone() {
        tokio::spawn(monitor::notify::run_mailer(
            alerts.clone(),
            smtp,
            wake.clone(),
        ));
    }
    monitor::schedule::spawn_daily_mail(profile, alerts.clone(), web_url, wake.clone());
    Mail { alerts, wake }
}

/// The gateways' and mail's settings: the command line, validated once.
#[derive(Clone, Default)]
pub struct GatewaySettings {
    /// The flags that need nothing beyond clap's parsing.
    pub flags: GatewayArgs,
    /// Mail, when an SMTP server is given.
    pub smtp: Option<monitor::notify::SmtpSettings>,
}

impl TryFrom<GatewayArgs> for GatewaySettings {
    type Error = anyhow::Error;

    fn try_from(flags: GatewayArgs) -> Result<GatewaySettings> {
        Ok(GatewaySettings {
            smtp: smtp_settings(&flags)?,
            flags,
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

/// Starts the DNS gateway and the proxy (each unless switched off) over one filter slot and one
/// access log, then loads the filter. The demo carries on without a gateway whose port is taken
/// (e.g. mDNS on 5353); a real school's `serve` must not start half-way.
pub async fn start_gateways(
    profile: &Profile,
    network: &policy::profile::network::NetworkPolicy,
    profile_source: &str,
    store: &Store,
    settings: &GatewaySettings,
    web_url: &str,
    mail: &Mail,
) -> Result<Gateways> {
    let profile_dir = &crate::settings::profile_dir(profile_source);
    let pupils: std::collections::HashSet<String> = profile
        .filtering
        .pupil_group_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let args = &settings.flags;
    let monitoring = monitor::pipeline::start_monitoring(
        profile,
        profile_dir,
        store.clock().clone(),
        mail.alerts.clone(),
        web_url,
        mail.wake.clone(),
        crate::adapters::spawn_recorder(store),
    )?;
    let (logger, writer) = AccessLogger::start_watched(
        store.clone(),
        AccessLogConfig::default(),
        Some(monitoring.watcher),
    );
    crate::upkeep::spawn_gap_watch(
        store,
        logger.shared_stats(),
        monitoring.hits_dropped.clone(),
        profile.monitoring.aggregate_minutes,
        monitoring.new_alerts,
    );
    let slot = FilterSlot::empty();
    let devices = gateway::devices::Devices::new();
    reload::load_devices(store, &devices).await;
    gateway::devices::spawn_neighbour_refresh(devices.clone());
    // Proxy sign-ins name users in the DNS log too, for as long as a working day.
    let signed_in = Arc::new(gateway::signed_in::SignedIn::new(
        std::time::Duration::from_secs(8 * 3600),
    ));
    let dns = if args.no_dns {
        None
    } else {
        let mut config = DnsConfig::from_network(network, pupils.clone(), store.clock().clone());
        if !args.dns_listen.is_empty() {
            config.listen = args.dns_listen.clone();
        }
        if !args.dns_upstream.is_empty() {
            // Plain upstreams named on the command line stand in for the profile's, TLS or not.
            config.upstreams = args.dns_upstream.clone();
            config.tls_upstreams.clear();
        }
        if let Some(file) = &network.dns.tls_ca_file {
            let path = profile_dir.join(file);
            config.tls_roots_pem = Some(std::fs::read_to_string(&path).with_context(|| {
                format!("[network.dns] tls_ca_file: cannot read {}", path.display())
            })?);
        }
        config.signed_in = Some(signed_in.clone());
        config.devices = Some(devices.clone());
        config.groups = profile
            .filtering
            .groups
            .iter()
            .map(|g| g.name.clone())
            .collect();
        match DnsServer::start(config, slot.clone(), Some(Arc::new(logger.clone()))).await {
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
        let mut config = ProxyConfig::from_network(network, pupils, store.clock().clone());
        if !args.proxy_listen.is_empty() {
            config.listen = args.proxy_listen.clone();
        }
        config.parent = args.proxy_parent;
        config.web_url = Some(web_url.to_string());
        let ca_dir = profile_dir.join(&network.proxy.ca_dir);
        config.inspection = gateway::proxy::Inspection::from_settings(&network.proxy, &ca_dir)
            .context("HTTPS inspection is set for some groups")?;
        config.signed_in = Some(signed_in.clone());
        config.devices = Some(devices.clone());
        if !network.proxy.login_groups.is_empty() {
            config.login = Some(gateway::proxy::ProxyLogin {
                accounts: Arc::new(crate::adapters::StoreAccounts(store.clone())),
                groups: network.proxy.login_groups.iter().cloned().collect(),
                staff_group: network.proxy.staff_group.clone(),
                lockout_attempts: profile.passwords.lockout_attempts,
                lockout_minutes: profile.passwords.lockout_minutes,
                aup_version: profile.code_of_conduct.aup_version.clone(),
                realm: format!("{} web filter", profile.school.name),
                passwords: profile.passwords.clone(),
            });
        }
        match ProxyServer::start(config, slot.clone(), Some(Arc::new(logger.clone()))).await {
            Ok(server) => Some(server),
            Err(e) if args.optional => {
                eprintln!("Web proxy not started: {e:#} (try --proxy-listen 127.0.0.1:0)");
                None
            }
            Err(e) => return Err(e.into()),
        }
    };
    let loader = Arc::new(FilterLoader::new(
        slot,
        profile,
        profile_source,
        profile_dir,
        args.lists.clone(),
        store.clone(),
    ));
    let control = reload::start(loader, store, &devices, &profile.filtering).await;
    Ok(Gateways {
        dns,
        proxy,
        logger,
        writer,
        control,
        hits_dropped: monitoring.hits_dropped,
    })
}
