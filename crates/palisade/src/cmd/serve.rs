//! `palisade serve`: the web app and, when the profile has a `[network]` section, the DNS
//! filtering gateway and the web filtering proxy, sharing one filter and one access log. Lists
//! compile in the background: until they are in force pupils' queries and requests are refused
//! (fail closed). SIGHUP (or the rules page) reads the profile again and puts its `[filtering]`
//! and lists in force without dropping a query; each version put in force is recorded in the
//! decision log with what changed.

use crate::gateways::{GatewaySchool, GatewaySettings, Gateways, start_gateways, start_mail};
use crate::settings::{default_database_url, load_profile, profile_dir};
use anyhow::{Context, Result};
use clap::Args;
use policy::Profile;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use store::Store;

#[derive(Args)]
pub struct ServeArgs {
    /// The school profile: a file, or a shipped name (holt, coleridge).
    #[arg(long, env = "PALISADE_PROFILE", required_unless_present = "trust")]
    pub profile: Option<String>,
    /// Serve a trust instead: its profile (a file, or `trust` for the shipped example), whose
    /// schools share the PostgreSQL database; schools it lists are added when missing.
    #[arg(long, conflicts_with = "profile")]
    pub trust: Option<String>,
    /// sqlite://path or postgres://user@host/db
    #[arg(long, env = "PALISADE_DATABASE_URL", default_value_t = default_database_url("palisade.db"))]
    pub database_url: String,
    /// PostgreSQL: the service's own login (postgres://palisade_web@host/db), a member of
    /// palisade_app that owns nothing. The schema is brought up to date as --database-url's
    /// user (the owner); every query the service sends then goes through this login, so that
    /// nothing smuggled into one can `RESET ROLE` back to the owner. Without it the service
    /// logs in as the owner and drops to palisade_app on every connection.
    #[arg(long, env = "PALISADE_SERVICE_DATABASE_URL")]
    pub service_database_url: Option<String>,
    /// Address for the web app.
    #[arg(long, env = "PALISADE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub dns: GatewayArgs,
    /// Check everything serve needs (profile, lists, database, certificates, backup folder,
    /// the addresses to listen on) and exit: 0 when all is in order, 1 listing each problem.
    #[arg(long)]
    pub check_config: bool,
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
    /// With HTTPS, the issued certificate names them, and the first is the address printed.
    #[arg(
        long = "web-host",
        visible_alias = "host",
        env = "PALISADE_WEB_HOST",
        value_delimiter = ','
    )]
    pub web_hosts: Vec<String>,
    /// HTTPS for the web app.
    #[command(flatten)]
    pub tls: crate::tls::TlsArgs,
    /// Carry on without DNS or the proxy if they cannot start (the demo).
    #[arg(skip)]
    pub optional: bool,
}

/// What `serve` tells its caller once everything listens.
pub struct Started<'a> {
    pub web_url: &'a str,
    pub dns: &'a [SocketAddr],
    pub proxy: &'a [SocketAddr],
    /// With an issued certificate: the CA's certificate, which browsers must trust.
    pub ca_file: Option<&'a std::path::Path>,
    /// The plain-HTTP listener that redirects to HTTPS.
    pub http: Option<SocketAddr>,
}

/// Runs the web app (and the DNS gateway) until SIGINT or SIGTERM. `profile_source` is the
/// shipped name or file the profile came from, read again on a reload. `trust` holds the
/// trust's other schools and its own row (none for a single school): the web app serves each
/// in its own school, and each school has its own mail; one set of gateways filters each
/// client as its school's (by the schools' subnets).
pub async fn serve(
    profile: Profile,
    profile_source: &str,
    store: Store,
    listen: SocketAddr,
    settings: GatewaySettings,
    trust: crate::trust::Running,
    banner: impl FnOnce(Started<'_>),
) -> Result<()> {
    // A database upgraded from one school, or a new one, takes its school's name from the profile.
    if let Some(school) = store.name_first_school(&profile.school.name).await? {
        tracing::info!(id = school.id, slug = %school.slug, name = %school.name, "school named after its profile");
    }
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {listen} (the web app, --listen): {}",
            super::check_config::bind_error(&listen, &e)
        )
    })?;
    let profile_dir = profile_dir(profile_source);
    let dns_args = &settings.flags;
    let tls = start_tls(&profile, profile_source, &store, dns_args, listen)?;
    let url = web_url(&tls, dns_args, listener.local_addr()?);
    let redirects = match (&tls, dns_args.tls.http_listen) {
        (Some(_), Some(addr)) => {
            Some(tokio::net::TcpListener::bind(addr).await.with_context(|| {
                format!("cannot listen for plain HTTP on {addr} (is something else using it?)")
            })?)
        }
        (None, Some(_)) => anyhow::bail!(
            "--http-listen only redirects to HTTPS: give --tls, or --tls-cert FILE --tls-key FILE"
        ),
        _ => None,
    };
    let mail = start_mail(&profile, &store, &settings, &url);
    // A trust's other schools: each with its store acting there alone, and its own mail.
    let others: Vec<(crate::trust::Member, Store, crate::gateways::Mail)> = trust
        .others
        .into_iter()
        .map(|m| {
            let school = store.in_school(m.id);
            let mail = start_mail(&m.profile, &school, &settings, &url);
            (m, school, mail)
        })
        .collect();
    let mut filtered = Vec::new();
    if profile.network.is_some() {
        filtered.push(GatewaySchool {
            id: store.school_id(),
            profile: &profile,
            source: profile_source,
            store: &store,
            mail: &mail,
        });
    }
    for (m, school, mail) in &others {
        if m.profile.network.is_some() {
            filtered.push(GatewaySchool {
                id: m.id,
                profile: &m.profile,
                source: &m.source,
                store: school,
                mail,
            });
        } else {
            tracing::warn!(school = %m.slug, "the school's profile has no [network] section: the gateways do not filter for it");
        }
    }
    let gateways = if filtered.is_empty() || (dns_args.no_dns && dns_args.no_proxy) {
        None
    } else {
        Some(
            start_gateways(&filtered, &settings, &trust.lists, &url)
                .await
                .map_err(super::check_config::explain_bind)?,
        )
    };
    drop(filtered);
    // Rows the gateways wrote on earlier runs age out even while they are switched off, for
    // as long as the filtering in force (after a reload too) says.
    let control_of = |id: i64| {
        gateways
            .as_ref()
            .and_then(|g| g.schools.iter().find(|s| s.id == id))
            .map(|s| s.control.clone())
    };
    let retention = |id: i64, days: u32| -> crate::upkeep::RetentionDays {
        match control_of(id) {
            Some(control) => {
                let loader = control.loader.clone();
                Arc::new(move || loader.profile().filtering.retention_days)
            }
            None => Arc::new(move || days),
        }
    };
    crate::upkeep::spawn_retention(
        &store,
        retention(store.school_id(), profile.filtering.retention_days),
    );
    crate::upkeep::spawn_account_closing(&store);
    // The daily backup by the (first school's) profile's `[backup]`: one copy holds every school.
    match crate::backups::check_backup_settings(&profile, &profile_dir)? {
        Some(b) => {
            crate::backups::spawn_daily_backup(&store, store.owner_url(), b, &profile, &mail, &url)
        }
        None => tracing::warn!("the profile has no [backup] section: no daily backup is made"),
    }
    let mut sites = std::collections::BTreeMap::new();
    let trust_id = trust.trust.as_ref().map(|t| t.id);
    if let Some(id) = trust_id {
        // The first school's own state holds its filtering too; its site here is what the
        // trust's pages read of it. The trust's row filters nothing.
        let site = |slug: String, filtering: Option<Arc<crate::reload::FilteringControl>>| {
            web::schools::SchoolSite {
                slug,
                profile: Arc::new(profile.clone()),
                filtering: filtering.map(|c| c as Arc<dyn web::FilteringControl>),
            }
        };
        let first = store.school_id();
        sites.insert(first, site(trust.first_slug.clone(), control_of(first)));
        sites.insert(id, site(policy::trust::TRUST_SLUG.to_string(), None));
    }
    for (m, school, _mail) in others {
        crate::upkeep::spawn_retention(
            &school,
            retention(m.id, m.profile.filtering.retention_days),
        );
        crate::upkeep::spawn_account_closing(&school);
        let site = web::schools::SchoolSite {
            slug: m.slug,
            profile: Arc::new(m.profile),
            filtering: control_of(m.id).map(|c| c as Arc<dyn web::FilteringControl>),
        };
        sites.insert(m.id, site);
    }
    let addrs = |f: fn(&Gateways) -> Option<Vec<SocketAddr>>| {
        gateways.as_ref().and_then(f).unwrap_or_default()
    };
    let dns_addrs = addrs(|g| g.dns.as_ref().map(|d| d.addrs.clone()));
    let proxy_addrs = addrs(|g| g.proxy.as_ref().map(|p| p.addrs.clone()));
    if let Some(g) = &gateways {
        crate::selftest::start_for(&g.schools, &dns_addrs, &proxy_addrs, &url);
    }
    let http_addr = redirects.as_ref().and_then(|l| l.local_addr().ok());
    banner(Started {
        web_url: &url,
        dns: &dns_addrs,
        proxy: &proxy_addrs,
        ca_file: tls.as_ref().and_then(|t| t.ca_file.as_deref()),
        http: http_addr,
    });
    tracing::info!(%url, dns = ?dns_addrs, proxy = ?proxy_addrs, "palisade listening");
    let web_addr = listener.local_addr()?;
    let state_profile_hosts = advertised_host(&profile);
    let state = web::AppState {
        store: store.clone(),
        proxy_address: proxy_address(&profile, &proxy_addrs),
        // The CA devices install: the profile's, else the one the web's certificate is
        // issued from (a demo's own).
        ca_certificate: school_ca(&profile, &profile_dir).or_else(|| {
            let file = tls.as_ref()?.ca_file.as_ref()?;
            std::fs::read_to_string(file).ok()
        }),
        profile: Arc::new(profile),
        metrics: crate::metrics::with_certificate_expiry(
            gateways.as_ref().map(crate::metrics::metrics_renderer),
            tls.as_ref()
                .map(|t| (t.slot.clone(), store.clock().clone())),
        ),
        filtering: gateways
            .as_ref()
            .map(|g| g.control.clone() as Arc<dyn web::FilteringControl>),
        sign_ins: Arc::default(),
        hosts: Arc::new(web_hosts(
            &state_profile_hosts,
            &dns_args.web_hosts,
            web_addr,
        )),
        schools: Arc::new(sites),
        trust: trust.trust,
        imports: Arc::default(),
        totp_optional: settings.totp_optional,
    };
    match &tls {
        None => web::serve(listener, state, shutdown_signal()).await?,
        Some(tls) => {
            tls.spawn_renewal(
                store.clock().clone(),
                std::time::Duration::from_secs(dns_args.tls.tls_check_seconds),
            );
            let redirecting = redirects.map(|http| {
                let port = web_addr.port();
                tokio::spawn(web::tls::serve_redirects(
                    http,
                    state.clone(),
                    port,
                    shutdown_signal(),
                ))
            });
            let app = web::tls::https_app(state);
            web::tls::serve_tls(listener, app, tls.config.clone(), shutdown_signal()).await?;
            if let Some(task) = redirecting {
                task.abort();
            }
        }
    }
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

/// The web app's certificate, when it is served over HTTPS: from the files given, or issued
/// from the school CA (the demo's own CA when `flags.tls.ca_dir` says) for the web hosts and
/// the listen address.
fn start_tls(
    profile: &Profile,
    profile_source: &str,
    store: &Store,
    flags: &GatewayArgs,
    listen: SocketAddr,
) -> Result<Option<crate::tls::WebTls>> {
    let args = &flags.tls;
    if !args.enabled() {
        return Ok(None);
    }
    let issuing = args.tls.then(|| {
        let ca_dir = args
            .ca_dir
            .clone()
            .unwrap_or_else(|| super::ca::ca_dir(profile, profile_source));
        let mut names = flags.web_hosts.clone();
        names.extend(advertised_host(profile));
        crate::tls::Issuing::new(ca_dir, &names, listen.ip())
    });
    crate::tls::WebTls::start(args, issuing, store.clock()).map(Some)
}

/// The address the web app is reached at: over HTTPS by the first `--web-host` name if any.
fn web_url(tls: &Option<crate::tls::WebTls>, flags: &GatewayArgs, local: SocketAddr) -> String {
    if tls.is_none() {
        return format!("http://{local}");
    }
    match flags
        .web_hosts
        .iter()
        .map(|h| h.trim())
        .find(|h| !h.is_empty())
    {
        Some(name) if local.port() == 443 => format!("https://{name}"),
        Some(name) => format!("https://{name}:{}", local.port()),
        None => format!("https://{local}"),
    }
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

/// `serve`'s settings: the command line, validated once.
pub struct Settings {
    /// The shipped name or file of the profile, or of the trust's profile.
    pub profile: Served,
    pub database_url: String,
    pub service_database_url: Option<String>,
    pub listen: SocketAddr,
    pub gateways: GatewaySettings,
}

impl TryFrom<ServeArgs> for Settings {
    type Error = anyhow::Error;

    fn try_from(a: ServeArgs) -> Result<Settings> {
        let profile = match (a.profile, a.trust) {
            (_, Some(trust)) => Served::Trust(trust),
            (Some(profile), None) => Served::School(profile),
            (None, None) => anyhow::bail!("give --profile FILE (a school) or --trust FILE"),
        };
        Ok(Settings {
            profile,
            database_url: a.database_url,
            service_database_url: a.service_database_url,
            listen: a.listen,
            gateways: a.dns.try_into()?,
        })
    }
}

/// What `serve` runs: one school, or a trust.
pub enum Served {
    School(String),
    Trust(String),
}

pub async fn run(a: ServeArgs, clock: clock::Clock) -> Result<ExitCode> {
    if a.check_config {
        return super::check_config::run(&a, clock).await;
    }
    let s = Settings::try_from(a)?;
    let store = match &s.service_database_url {
        Some(service) => Store::open_as_service(&s.database_url, service, clock).await?,
        None => {
            let store = Store::open(&s.database_url, clock).await?;
            if store.backend() == store::Backend::Postgres {
                tracing::warn!(
                    "the service logs in as the database's owner and drops to palisade_app on each connection: give --service-database-url (a login of its own) so that nothing can take it back to the owner"
                );
            }
            store
        }
    };
    let (profile, source, store, running) = match &s.profile {
        Served::School(source) => (
            load_profile(source)?,
            source.clone(),
            store,
            Default::default(),
        ),
        Served::Trust(file) => {
            let (trust, profiles) = crate::trust::load_trust(file)?;
            let lists = crate::trust::trust_lists(file, &trust);
            let members = crate::trust::members(&store, &trust, profiles).await?;
            let trust_id = crate::trust::trust_row(&store, &trust).await?;
            let (first, running) = crate::trust::split(trust, lists, members, trust_id)?;
            (
                first.profile,
                first.source,
                store.in_school(first.id),
                running,
            )
        }
    };
    serve(
        profile,
        &source,
        store,
        s.listen,
        s.gateways,
        running,
        |s| {
            for addr in s.dns {
                println!("DNS filtering at {addr} (UDP and TCP)");
            }
            for addr in s.proxy {
                println!("Web proxy at {addr}");
            }
            if let Some(http) = s.http {
                println!("Plain HTTP at {http} redirects to HTTPS (and serves /proxy.pac)");
            }
            println!("Palisade is running at {}", s.web_url);
        },
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}
