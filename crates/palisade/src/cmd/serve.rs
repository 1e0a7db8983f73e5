//! `palisade serve`: the web app and, when the profile has a `[network]` section, the DNS
//! filtering gateway and the web filtering proxy, sharing one filter and one access log. Lists
//! compile in the background: until they are in force pupils' queries and requests are refused
//! (fail closed). SIGHUP (or the rules page) reads the profile again and puts its `[filtering]`
//! and lists in force without dropping a query; each version put in force is recorded in the
//! decision log with what changed.

use crate::settings::{default_database_url, load_profile, profile_dir};
use anyhow::{Context, Result};
use clap::Args;
use gateway::dns::{DnsConfig, DnsServer};
use gateway::proxy::{ProxyConfig, ProxyServer};
use gateway::{EngineFilter, FilterSlot};
use policy::Profile;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use store::{AccessLogConfig, AccessLogger, Store};

#[derive(Args)]
pub struct ServeArgs {
    /// The school profile: a file, or a shipped name (holt, coleridge).
    #[arg(long, env = "PALISADE_PROFILE")]
    pub profile: String,
    /// sqlite://path or postgres://user@host/db
    #[arg(long, env = "PALISADE_DATABASE_URL", default_value_t = default_database_url("palisade.db"))]
    pub database_url: String,
    /// Address for the web app.
    #[arg(long, env = "PALISADE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub dns: GatewayArgs,
}

/// Command-line settings of the gateways (overriding the profile's) and of mail.
#[derive(Args, Clone, Default)]
pub struct GatewayArgs {
    /// The SMTP server for alert mail; without it alerts are kept for the inbox and their mail
    /// waits in the outbox.
    #[arg(long, env = "PALISADE_SMTP_HOST")]
    pub smtp_host: Option<String>,
    #[arg(long, env = "PALISADE_SMTP_PORT", default_value_t = 587)]
    pub smtp_port: u16,
    /// none, starttls or tls.
    #[arg(long, env = "PALISADE_SMTP_SECURITY", default_value = "starttls")]
    pub smtp_security: String,
    /// The sender address of Palisade's mail.
    #[arg(long, env = "PALISADE_SMTP_FROM", default_value = "palisade@localhost")]
    pub smtp_from: String,
    /// The first pause after a failed send, in seconds (it doubles each time, up to an hour).
    #[arg(long, default_value_t = 30)]
    pub mail_retry_seconds: u64,
    /// DNS address (UDP and TCP) instead of the profile's; port 0 picks one.
    #[arg(long)]
    pub dns_listen: Vec<SocketAddr>,
    /// Upstream resolvers instead of the profile's.
    #[arg(long)]
    pub dns_upstream: Vec<SocketAddr>,
    /// Extra block lists or a compiled snapshot (.bin): PATH or CATEGORY=PATH.
    #[arg(long = "lists")]
    pub lists: Vec<String>,
    /// Do not start the DNS gateway.
    #[arg(long)]
    pub no_dns: bool,
    /// Web proxy address instead of the profile's; port 0 picks one.
    #[arg(long)]
    pub proxy_listen: Vec<SocketAddr>,
    /// Send every allowed plain-HTTP request to this server (a parent proxy, or the benchmark's
    /// origin) instead of the host it names.
    #[arg(long)]
    pub proxy_parent: Option<SocketAddr>,
    /// Do not start the web proxy.
    #[arg(long)]
    pub no_proxy: bool,
    /// A name the web app answers to (repeat, or comma-separate), besides localhost, the
    /// loopback and listen addresses and the proxy's advertised host. Any other `Host` gets
    /// 421, so a DNS-rebinding page cannot reach the app or `/metrics`.
    #[arg(long = "web-host", env = "PALISADE_WEB_HOST", value_delimiter = ',')]
    pub web_hosts: Vec<String>,
    /// Carry on without DNS or the proxy if they cannot start (the demo).
    #[arg(skip)]
    pub optional: bool,
}

/// What `serve` tells its caller once everything listens.
pub struct Started<'a> {
    pub web_url: &'a str,
    pub dns: &'a [SocketAddr],
    pub proxy: &'a [SocketAddr],
}

/// The filtering gateways that are running, their shared access log and its writer.
struct Gateways {
    dns: Option<DnsServer>,
    proxy: Option<ProxyServer>,
    logger: AccessLogger,
    writer: tokio::task::JoinHandle<()>,
    /// What the web may see and change of the filtering.
    control: Arc<FilteringControl>,
    /// Alert hits the monitoring rules made that could not be stored.
    hits_dropped: Arc<AtomicU64>,
}

/// Runs the web app (and the DNS gateway) until SIGINT or SIGTERM. `profile_source` is the
/// shipped name or file the profile came from, read again on a reload.
pub async fn serve(
    profile: Profile,
    profile_source: &str,
    store: Store,
    listen: SocketAddr,
    dns_args: GatewayArgs,
    banner: impl FnOnce(Started<'_>),
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {listen} (is something else using it? try --listen 127.0.0.1:0)"
            )
        })?;
    let url = format!("http://{}", listener.local_addr()?);
    let profile_dir = profile_dir(profile_source);
    let gateways = match &profile.network {
        Some(network) if !(dns_args.no_dns && dns_args.no_proxy) => Some(
            start_gateways(
                &profile,
                network,
                profile_source,
                &profile_dir,
                &store,
                &dns_args,
                &url,
            )
            .await?,
        ),
        _ => None,
    };
    // Rows the gateways wrote on earlier runs age out even while they are switched off, for
    // as long as the filtering in force (after a reload too) says.
    let retention_days: crate::upkeep::RetentionDays = match &gateways {
        Some(g) => {
            let loader = g.control.loader.clone();
            Arc::new(move || loader.profile().filtering.retention_days)
        }
        None => {
            let days = profile.filtering.retention_days;
            Arc::new(move || days)
        }
    };
    crate::upkeep::spawn_retention(&store, retention_days);
    let addrs = |f: fn(&Gateways) -> Option<Vec<SocketAddr>>| {
        gateways.as_ref().and_then(f).unwrap_or_default()
    };
    let dns_addrs = addrs(|g| g.dns.as_ref().map(|d| d.addrs.clone()));
    let proxy_addrs = addrs(|g| g.proxy.as_ref().map(|p| p.addrs.clone()));
    banner(Started {
        web_url: &url,
        dns: &dns_addrs,
        proxy: &proxy_addrs,
    });
    tracing::info!(%url, dns = ?dns_addrs, proxy = ?proxy_addrs, "palisade listening");
    let web_addr = listener.local_addr()?;
    let state_profile_hosts = advertised_host(&profile);
    let state = web::AppState {
        store: store.clone(),
        proxy_address: proxy_address(&profile, &proxy_addrs),
        ca_certificate: school_ca(&profile, &profile_dir),
        profile: Arc::new(profile),
        metrics: gateways.as_ref().map(metrics_renderer),
        filtering: gateways
            .as_ref()
            .map(|g| g.control.clone() as Arc<dyn web::FilteringControl>),
        sign_ins: Arc::default(),
        hosts: Arc::new(web_hosts(
            &state_profile_hosts,
            &dns_args.web_hosts,
            web_addr,
        )),
    };
    web::serve(listener, state, shutdown_signal()).await?;
    if let Some(g) = gateways {
        if let Some(dns) = g.dns {
            dns.shutdown().await;
        }
        if let Some(proxy) = g.proxy {
            proxy.shutdown();
        }
        drop(g.logger);
        let _ = g.writer.await;
    }
    store.close().await;
    Ok(())
}

/// The school CA's certificate, for devices to install, if one has been made.
fn school_ca(profile: &Profile, profile_dir: &std::path::Path) -> Option<String> {
    let dir = profile_dir.join(&profile.network.as_ref()?.proxy.ca_dir);
    std::fs::read_to_string(dir.join("ca.pem")).ok()
}

/// The host part of the proxy's advertised address, if the profile names one.
fn advertised_host(profile: &Profile) -> Option<String> {
    let advertised = profile.network.as_ref()?.proxy.advertise.clone()?;
    Some(match advertised.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host.to_string(),
        _ => advertised,
    })
}

/// The names the web app answers to.
fn web_hosts(
    advertised: &Option<String>,
    given: &[String],
    listen: SocketAddr,
) -> web::host::AllowedHosts {
    let mut names: Vec<String> = given.iter().map(|h| h.trim().to_string()).collect();
    names.extend(advertised.iter().cloned());
    web::host::AllowedHosts::new(names, listen.ip())
}

/// Where browsers should find the proxy: the profile's `advertise`, else the first address it
/// listens on (a wildcard address cannot be advertised).
fn proxy_address(profile: &Profile, listening: &[SocketAddr]) -> Option<String> {
    let advertised = profile
        .network
        .as_ref()
        .and_then(|n| n.proxy.advertise.clone());
    let first = listening.first()?;
    Some(advertised.unwrap_or_else(|| first.to_string()))
}

/// `/metrics`: the gateways' counters and the access log's queue, dropped events and writes.
fn metrics_renderer(gateways: &Gateways) -> web::MetricsRenderer {
    use prometheus_client::metrics::gauge::Gauge;
    let mut registry = prometheus_client::registry::Registry::default();
    if let Some(dns) = &gateways.dns {
        dns.stats
            .register(&mut registry, "palisade_dns", "DNS queries");
    }
    if let Some(proxy) = &gateways.proxy {
        proxy
            .stats
            .register(&mut registry, "palisade_proxy", "Proxy requests");
    }
    let logger = &gateways.logger;
    let depth: Gauge = Gauge::default();
    let dropped: Gauge = Gauge::default();
    let written: Gauge = Gauge::default();
    let log = registry.sub_registry_with_prefix("palisade_access_log");
    log.register("queue_depth", "Events waiting to be written", depth.clone());
    log.register(
        "dropped",
        "Events dropped (queue full or store failing); alerts when above zero",
        dropped.clone(),
    );
    log.register("written", "Events written to the store", written.clone());
    let hits_dropped: Gauge = Gauge::default();
    registry
        .sub_registry_with_prefix("palisade_monitoring")
        .register(
            "hits_dropped",
            "Alert hits dropped (alert queue full or store failing); alerts when above zero",
            hits_dropped.clone(),
        );
    let logger = logger.clone();
    let hits = gateways.hits_dropped.clone();
    Arc::new(move || {
        use std::sync::atomic::Ordering::Relaxed;
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        depth.set(as_i64(logger.queue_depth() as u64));
        dropped.set(as_i64(logger.stats().dropped.load(Relaxed)));
        written.set(as_i64(logger.stats().written.load(Relaxed)));
        hits_dropped.set(as_i64(hits.load(Relaxed)));
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    })
}

/// Once a day at the profile's digest time (UK time): the digest of the day's alerts to the
/// safeguarding leads, and a reminder to the first point of contact of concerns reported today
/// that nobody has triaged. The outbox itself records that today's went, so a restart sends no
/// second one; a start after the time sends today's if it has not gone (see
/// [`policy::schedule`]).
fn spawn_daily_mail(
    profile: &Profile,
    store: &Store,
    web_url: &str,
    wake: Arc<tokio::sync::Notify>,
) {
    use policy::schedule::{Daily, daily_mail, start_of_today};
    let Some(digest_minute) = profile.monitoring.digest_minute() else {
        return;
    };
    let (store, web_url) = (store.clone(), web_url.to_string());
    let first_contact = profile.concerns.first_contact;
    // Looks again at least this often, so that a failed queueing is tried again.
    const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_secs(60);
    tokio::spawn(async move {
        loop {
            let now = store.now_utc();
            let midnight = store::timestamp(start_of_today(now));
            let mut sent = false;
            for kind in ["digest", "reminder"] {
                sent |= store
                    .mail_queued_since(kind, &midnight)
                    .await
                    .unwrap_or(true);
            }
            let wait = match daily_mail(now, digest_minute, sent) {
                Daily::Now => {
                    if let Err(e) =
                        queue_daily_mail(&store, &web_url, &midnight, first_contact).await
                    {
                        tracing::error!(error = %e, "the daily digest could not be queued");
                    }
                    wake.notify_one();
                    LOOK_AGAIN
                }
                // A few milliseconds late rather than early: the clock is read again on waking.
                Daily::At(due) => (due - now)
                    .to_std()
                    .map(|d| d + std::time::Duration::from_millis(5))
                    .unwrap_or_default()
                    .min(LOOK_AGAIN),
            };
            tokio::time::sleep(wait).await;
        }
    });
}

async fn queue_daily_mail(
    store: &Store,
    web_url: &str,
    midnight: &str,
    first_contact: policy::Role,
) -> Result<()> {
    let since = store::timestamp(store.now_utc() - policy::schedule::DIGEST_COVERS);
    let counts = store.alert_counts_since(&since).await?;
    let (subject, body) = monitor::notify::digest_mail(&counts, web_url);
    for to in store
        .emails_of(&[policy::Role::Dsl, policy::Role::DeputyDsl])
        .await?
    {
        store.enqueue_mail(&to, &subject, &body, "digest").await?;
    }
    // The chair keeps the audit trail's head outside the database (see `audit verify`).
    let head = store.audit_head().await?;
    let (subject, body) = monitor::notify::audit_head_mail(&head, web_url);
    let chairs = store.emails_of(&[policy::Role::ChairOfGovernors]).await?;
    if chairs.is_empty() {
        tracing::warn!(
            "the chair of governors has no mail address: the audit trail's head is not recorded outside the database"
        );
    }
    for to in chairs {
        store.enqueue_mail(&to, &subject, &body, "digest").await?;
    }
    let untriaged = store.untriaged_concerns_since(midnight).await?;
    if untriaged > 0 {
        let (subject, body) = monitor::notify::reminder_mail(untriaged, web_url);
        for to in store.emails_of(&[first_contact]).await? {
            store.enqueue_mail(&to, &subject, &body, "reminder").await?;
        }
    }
    Ok(())
}

/// Mail to every designated safeguarding lead and deputy about a new urgent alert.
async fn queue_alert_mail(store: &Store, alert_id: i64, web_url: &str) -> Result<()> {
    let alert = store.alert(alert_id).await?;
    let year_group = match alert.person_id {
        Some(id) => store.person(id).await?.and_then(|p| p.year_group),
        None => None,
    };
    let (subject, body) = monitor::notify::alert_mail(&alert, year_group.as_deref(), web_url);
    let recipients = store
        .emails_of(&[policy::Role::Dsl, policy::Role::DeputyDsl])
        .await?;
    if recipients.is_empty() {
        tracing::warn!(
            alert = alert_id,
            "no safeguarding lead has a mail address: the alert is in the inbox only"
        );
    }
    for to in recipients {
        store.enqueue_mail(&to, &subject, &body, "alert").await?;
    }
    Ok(())
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

/// The monitoring rules as they run: what the access log shows its batches to, and what the
/// monitoring-gap watch needs.
struct Monitoring {
    watcher: store::BatchWatcher,
    /// Alert hits dropped so far (the alert queue was full or the store failed).
    hits_dropped: Arc<AtomicU64>,
    /// Where new critical or high alerts go for their mail.
    new_alerts: tokio::sync::mpsc::Sender<i64>,
}

/// The monitoring rules on the access log: every batch is evaluated as it is written, and the
/// hits are stored as alerts by a task of their own (bounded: if the store falls far behind,
/// hits are dropped and counted rather than piling up).
fn start_monitoring(
    profile: &Profile,
    profile_dir: &std::path::Path,
    store: &Store,
    web_url: &str,
    mail_wake: Arc<tokio::sync::Notify>,
) -> Result<Monitoring> {
    let mandatory = profile
        .filtering
        .lists
        .iter()
        .filter(|l| l.mandatory)
        .filter_map(|l| l.category.clone());
    let pupils = profile
        .filtering
        .pupil_group_names()
        .into_iter()
        .map(str::to_string);
    let mut keywords = Vec::new();
    for list in &profile.monitoring.keywords {
        let path = profile_dir.join(&list.path);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "monitoring keyword list `{}`: cannot read {}",
                list.name,
                path.display()
            )
        })?;
        let file = path.display().to_string();
        let (words, _) = filter::urls::parse_keywords(&text, &file);
        keywords.push(monitor::KeywordList {
            name: list.name.clone(),
            language: list.language.clone(),
            severity: list.severity,
            words: words
                .into_iter()
                .map(|(w, line)| (w, format!("{file}:{line}")))
                .collect(),
        });
    }
    let rules = std::sync::Mutex::new(
        monitor::Monitor::new(
            &profile.monitoring,
            mandatory,
            pupils,
            store.clock().clone(),
        )
        .with_keywords(keywords),
    );
    // One message per access-log batch: the hits it set off, those of one rule by one subject
    // merged into one. They are stored on a low-priority thread of their own; the alerts that
    // need a mail come back to this runtime, where the outbox is.
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<store::AlertHit>>(1_000);
    let (new_tx, mut new_rx) = tokio::sync::mpsc::channel::<i64>(1_000);
    let (writer, window) = (store.alert_writer(), profile.monitoring.aggregate_minutes);
    // Busy once a second's worth of access-log batches waits (see store::background).
    let pace = store::background::Pace::new(20);
    let hits_dropped = Arc::new(AtomicU64::new(0));
    let (recorder_drops, recorder_new) = (hits_dropped.clone(), new_tx.clone());
    store::background::spawn_paced("alerts", pace.clone(), move |pacer| {
        record_alerts(writer, pacer, rx, window, recorder_new, recorder_drops)
    })
    .context("cannot start the thread that stores alerts")?;
    let (store, web_url) = (store.clone(), web_url.to_string());
    tokio::spawn(async move {
        while let Some(id) = new_rx.recv().await {
            if let Err(e) = queue_alert_mail(&store, id, &web_url).await {
                tracing::error!(error = %e, alert = id, "the alert's mail could not be queued");
            }
            mail_wake.notify_one();
        }
    });
    let drops = hits_dropped.clone();
    let watcher = Arc::new(move |events: &[store::AccessEvent]| {
        let Ok(mut rules) = rules.lock() else { return };
        let mut merged: Vec<store::AlertHit> = Vec::new();
        for e in events {
            for hit in rules.evaluate(e) {
                merge_hit(&mut merged, hit);
            }
        }
        if merged.is_empty() {
            return;
        }
        let hits = merged.len() as u64;
        match tx.try_send(merged) {
            Ok(()) => pace.waiting(tx.max_capacity() - tx.capacity()),
            Err(_) => {
                drops.fetch_add(hits, Ordering::Relaxed);
                tracing::error!("alert queue full: a batch of alert hits was dropped");
            }
        }
    });
    Ok(Monitoring {
        watcher,
        hits_dropped,
        new_alerts: new_tx,
    })
}

/// Stores the monitoring rules' hits as alerts until the rules are gone, and hands each new
/// critical or high alert to `new_alerts` (for its mail).
async fn record_alerts(
    mut writer: store::AlertWriter,
    mut pacer: store::background::Pacer,
    mut hits_rx: tokio::sync::mpsc::Receiver<Vec<store::AlertHit>>,
    window: u32,
    new_alerts: tokio::sync::mpsc::Sender<i64>,
    hits_dropped: Arc<AtomicU64>,
) {
    loop {
        pacer.settle(hits_rx.len());
        let Some(mut hits) = hits_rx.recv().await else {
            return;
        };
        // What the next batches set off within ALERT_LINGER joins these: one transaction
        // for all of them (a commit per hit cost the DNS answers' tail).
        tokio::time::sleep(ALERT_LINGER).await;
        while let Ok(more) = hits_rx.try_recv() {
            for hit in more {
                merge_hit(&mut hits, hit);
            }
        }
        match writer.record(&hits, window).await {
            Ok(recorded) => {
                for (hit, (id, new)) in hits.iter().zip(recorded) {
                    if new
                        && matches!(hit.severity, "critical" | "high")
                        && new_alerts.send(id).await.is_err()
                    {
                        return;
                    }
                }
            }
            Err(e) => {
                hits_dropped.fetch_add(hits.len() as u64, Ordering::Relaxed);
                tracing::error!(error = %e, hits = hits.len(), "alerts could not be stored")
            }
        }
    }
}

/// How long the alert task gathers hits before storing them: a few writes a second at most,
/// well within the two seconds an alert may take.
const ALERT_LINGER: std::time::Duration = std::time::Duration::from_millis(250);

/// Adds `hit` to `hits`, into the hit of the same rule about the same subject if there is one.
fn merge_hit(hits: &mut Vec<store::AlertHit>, hit: store::AlertHit) {
    match hits
        .iter_mut()
        .find(|m| m.subject == hit.subject && m.rule == hit.rule)
    {
        Some(m) => m.count += hit.count,
        None => hits.push(hit),
    }
}

/// Starts the DNS gateway and the proxy (each unless switched off) over one filter slot and one
/// access log, then loads the filter. The demo carries on without a gateway whose port is taken
/// (e.g. mDNS on 5353); a real school's `serve` must not start half-way.
async fn start_gateways(
    profile: &Profile,
    network: &policy::profile::network::NetworkPolicy,
    profile_source: &str,
    profile_dir: &std::path::Path,
    store: &Store,
    args: &GatewayArgs,
    web_url: &str,
) -> Result<Gateways> {
    let pupils: std::collections::HashSet<String> = profile
        .filtering
        .pupil_group_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let mail_wake = Arc::new(tokio::sync::Notify::new());
    if let Some(settings) = smtp_settings(args)? {
        tokio::spawn(monitor::notify::run_mailer(
            store.clone(),
            settings,
            mail_wake.clone(),
        ));
    }
    spawn_daily_mail(profile, store, web_url, mail_wake.clone());
    let monitoring = start_monitoring(profile, profile_dir, store, web_url, mail_wake)?;
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
    load_devices(store, &devices).await;
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
        match DnsServer::start(config, slot.clone(), Some(logger.clone())).await {
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
                store: store.clone(),
                groups: network.proxy.login_groups.iter().cloned().collect(),
                staff_group: network.proxy.staff_group.clone(),
                lockout_attempts: profile.passwords.lockout_attempts,
                lockout_minutes: profile.passwords.lockout_minutes,
                aup_version: profile.code_of_conduct.aup_version.clone(),
                realm: format!("{} web filter", profile.school.name),
                passwords: profile.passwords.clone(),
            });
        }
        match ProxyServer::start(config, slot.clone(), Some(logger.clone())).await {
            Ok(server) => Some(server),
            Err(e) if args.optional => {
                eprintln!("Web proxy not started: {e:#} (try --proxy-listen 127.0.0.1:0)");
                None
            }
            Err(e) => return Err(e.into()),
        }
    };
    let loader = Arc::new(FilterLoader {
        slot,
        profile: std::sync::RwLock::new(Arc::new(profile.clone())),
        source: profile_source.to_string(),
        dir: profile_dir.to_path_buf(),
        extra: args.lists.clone(),
        store: store.clone(),
        reloading: tokio::sync::Mutex::new(()),
    });
    if let Err(e) = loader.load().await {
        tracing::error!(error = %e, "the filter lists could not be loaded; pupils are refused until they are");
    }
    // The decision log learns of a profile edited while Palisade was stopped.
    let start = store::FilteringChangedBy::Operator { via: "start" };
    match store.record_filtering(start, &profile.filtering, "").await {
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
    let control = Arc::new(FilteringControl { loader, reload });
    Ok(Gateways {
        dns,
        proxy,
        logger,
        writer,
        control,
        hits_dropped: monitoring.hits_dropped,
    })
}

/// Puts the stored device register in force for the gateways; on failure the last one stays.
async fn load_devices(store: &Store, devices: &gateway::devices::Devices) {
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
struct FilterLoader {
    slot: Arc<FilterSlot>,
    profile: std::sync::RwLock<Arc<Profile>>,
    source: String,
    dir: PathBuf,
    extra: Vec<String>,
    store: Store,
    /// One reload at a time, so that the last one read is the one in force.
    reloading: tokio::sync::Mutex<()>,
}

impl FilterLoader {
    /// The profile in force.
    fn profile(&self) -> Arc<Profile> {
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
            self.extra.clone(),
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
struct FilteringControl {
    loader: Arc<FilterLoader>,
    /// Wakes the reload of the school's entries and the device register.
    reload: Arc<tokio::sync::Notify>,
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

    fn entries_changed(&self) {
        self.reload.notify_one();
    }

    fn blocked_by(&self, group: &str, url: &str) -> Option<(String, String)> {
        let filter = self.loader.slot.load()?;
        let host = filter::normalize::host_of(url).ok()?;
        match filter.decide_url(group, &host, url) {
            gateway::Decision::Block { category, rule, .. } => Some((category, rule)),
            gateway::Decision::Nxdomain { rule } => Some((String::new(), rule)),
            gateway::Decision::Allow | gateway::Decision::Rewrite { .. } => None,
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
}

/// Compiles on a blocking thread and puts the result in force; the error says why not.
async fn load_filter(
    slot: &Arc<FilterSlot>,
    profile: Profile,
    dir: PathBuf,
    extra: Vec<String>,
    clock: clock::Clock,
) -> Result<()> {
    let started = std::time::Instant::now();
    let built =
        tokio::task::spawn_blocking(move || crate::filtering::build_engine(&profile, &dir, &extra))
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

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

pub async fn run(a: ServeArgs, clock: clock::Clock) -> Result<ExitCode> {
    let profile = load_profile(&a.profile)?;
    let store = Store::open(&a.database_url, clock).await?;
    serve(profile, &a.profile, store, a.listen, a.dns, |s| {
        for addr in s.dns {
            println!("DNS filtering at {addr} (UDP and TCP)");
        }
        for addr in s.proxy {
            println!("Web proxy at {addr}");
        }
        println!("Palisade is running at {}", s.web_url);
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}
