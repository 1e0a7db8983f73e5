//! The filtering self-test, wired: each group's plan ([`filter::selftest::plan`]) run through
//! the running gateways ([`gateway::selftest`]) from a loopback address the profile maps to
//! the group, stored with [`store::Store::record_filter_test`] (which raises the alerts).
//! `palisade filter-test` runs it against a running server; `serve` runs it once a day and
//! after each reload of the profile's filtering, and the web page runs it on demand.
//!
//! A group is spoken for from the first address of a `127.x` subnet the profile maps to it
//! (only local processes can send from 127/8, so nobody else can pose as a group this way).
//! A group with no such subnet is reported as not testable, a failed check that says which
//! subnet to add, rather than tested from some other group's address.

use filter::selftest::plan;
use gateway::selftest::{Gateways, Outcome};
use policy::Profile;
use policy::profile::network::ClientMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use store::{NewFilterTestResult, NewFilterTestRun, Store};

/// How long each check waits for its answer.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// The hour of the school's day (local time) the daily run starts at: before pupils arrive.
pub const DAILY_HOUR: u32 = 7;

/// One group's results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupRun {
    pub group: String,
    /// The address the checks were sent from (`None`: the group is not testable).
    pub client: Option<IpAddr>,
    pub checks: Vec<Outcome>,
}

impl GroupRun {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.pass)
    }
}

/// A whole run: where, each group, and its stored id.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Run {
    pub school: String,
    pub site: String,
    pub run_id: i64,
    pub pass: bool,
    pub groups: Vec<GroupRun>,
}

/// The loopback address the self-test speaks as `group` from, if the profile maps one.
pub fn client_for(profile: &Profile, group: &str) -> Option<IpAddr> {
    let network = profile.network.as_ref()?;
    let map = ClientMap::new(network);
    let mapped = |ip: IpAddr| map.group_for(ip) == group;
    let from_subnet = network.subnets.iter().find_map(|s| {
        let net: std::net::Ipv4Addr = s.cidr.split('/').next()?.parse().ok()?;
        (s.group == group && net.is_loopback())
            .then_some(IpAddr::V4(net))
            .filter(|ip| mapped(*ip))
    });
    // The default group also answers for this machine's own address when no subnet covers it.
    from_subnet.or_else(|| Some(IpAddr::V4(Ipv4Addr::LOCALHOST)).filter(|ip| mapped(*ip)))
}

/// A listening address as a client reaches it: a wildcard address means this machine.
fn reachable(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
    } else {
        addr
    }
}

/// The gateways to test: `dns` and `proxy` (as given, else the profile's first listen
/// addresses), with the profile's block page addresses.
pub fn gateways_of(
    profile: &Profile,
    dns: Option<SocketAddr>,
    proxy: Option<SocketAddr>,
) -> anyhow::Result<Gateways> {
    let Some(network) = profile.network.as_ref() else {
        anyhow::bail!("the profile has no [network] section: there are no gateways to test");
    };
    let dns = dns
        .or_else(|| network.dns.listen.first().copied())
        .ok_or_else(|| {
            anyhow::anyhow!("no DNS address: give --dns ADDR or [network.dns] listen")
        })?;
    let proxy = proxy.or_else(|| network.proxy.listen.first().copied());
    let mut block_page: Vec<IpAddr> = Vec::new();
    block_page.extend(network.dns.block_page_ipv4.map(IpAddr::V4));
    block_page.extend(network.dns.block_page_ipv6.map(IpAddr::V6));
    Ok(Gateways {
        dns: reachable(dns),
        proxy: proxy.map(reachable),
        block_page,
        timeout: CHECK_TIMEOUT,
    })
}

/// Runs the checks of `groups` (every group of the profile when `None`) at the store's time.
/// An unknown group name is an error naming it.
pub async fn check(
    profile: &Profile,
    gateways: &Gateways,
    groups: Option<&[String]>,
    minute: u16,
) -> anyhow::Result<Vec<GroupRun>> {
    let every = &profile.filtering.groups;
    if let Some(asked) = groups {
        for g in asked {
            if !every.iter().any(|x| x.name == *g) {
                let names: Vec<&str> = every.iter().map(|x| x.name.as_str()).collect();
                anyhow::bail!(
                    "--group {g}: the profile has no such group (it has {})",
                    names.join(", ")
                );
            }
        }
    }
    let mut out = Vec::new();
    for g in every
        .iter()
        .filter(|g| groups.is_none_or(|asked| asked.contains(&g.name)))
    {
        let Some(client) = client_for(profile, &g.name) else {
            out.push(GroupRun {
                group: g.name.clone(),
                client: None,
                checks: vec![Outcome {
                    check: "a client address for the group".into(),
                    sent: String::new(),
                    expected: "a 127.x subnet mapped to the group".into(),
                    got: format!(
                        "not testable: add a 127.x subnet for it, e.g. [[network.subnets]] cidr = \"127.0.1.1/32\" group = \"{}\"",
                        g.name
                    ),
                    pass: false,
                }],
            });
            continue;
        };
        let checks = plan(g, &profile.filtering.lists, minute);
        out.push(GroupRun {
            group: g.name.clone(),
            client: Some(client),
            checks: gateway::selftest::run(gateways, client, &checks).await,
        });
    }
    Ok(out)
}

/// The site a run was made at, in words: the school and the gateways' addresses.
pub fn site_of(profile: &Profile, gateways: &Gateways) -> String {
    let proxy = gateways
        .proxy
        .map(|p| format!(", proxy {p}"))
        .unwrap_or_default();
    format!("{} (DNS {}{proxy})", profile.school.name, gateways.dns)
}

/// Runs and stores the checks (see [`check`]) with `permit`; `cause` says what started it.
pub async fn run_and_record(
    store: &Store,
    permit: &policy::Permit,
    profile: &Profile,
    gateways: &Gateways,
    groups: Option<&[String]>,
    cause: &str,
    web_url: &str,
) -> anyhow::Result<Run> {
    let minute = store.clock().minute_of_school_day();
    let runs = check(profile, gateways, groups, minute).await?;
    let site = site_of(profile, gateways);
    let results = runs
        .iter()
        .flat_map(|g| {
            g.checks.iter().map(move |c| NewFilterTestResult {
                group: g.group.clone(),
                client_ip: g.client.map(|c| c.to_string()).unwrap_or_default(),
                check: c.check.clone(),
                sent: c.sent.clone(),
                expected: c.expected.clone(),
                got: c.got.clone(),
                pass: c.pass,
            })
        })
        .collect();
    let run = NewFilterTestRun {
        site: site.clone(),
        cause: cause.to_string(),
        results,
    };
    let (run_id, new_alerts) = store.record_filter_test(permit, &run).await?;
    // Each new failure's alert is mailed to its readers at once (the network manager and the
    // safeguarding team): queued in the outbox, which the server's sender empties.
    let alerts = crate::adapters::StoreAlerts(store.clone(), Arc::new(profile.clone()));
    let readers = profile.concerns.alert_readers();
    for id in new_alerts {
        if let Err(e) = monitor::pipeline::queue_alert_mail(&alerts, id, &readers, web_url).await {
            tracing::error!(error = %e, alert = id, "the self-test alert's mail could not be queued");
        }
    }
    Ok(Run {
        school: profile.school.name.clone(),
        site,
        run_id,
        pass: runs.iter().all(GroupRun::passed),
        groups: runs,
    })
}

/// What a running server's self-test needs: the school's filter loader (its store and the
/// profile in force) and where its own gateways listen.
pub struct SelfTester {
    pub loader: Arc<crate::reload::FilterLoader>,
    pub gateways: Gateways,
    /// The web app's address, for the link in a failure's mail.
    pub web_url: String,
    /// One run at a time.
    running: tokio::sync::Mutex<()>,
}

impl SelfTester {
    /// A tester of the gateways at `gateways` for the school `loader` loads the filter of.
    pub fn new(
        loader: Arc<crate::reload::FilterLoader>,
        gateways: Gateways,
        web_url: &str,
    ) -> SelfTester {
        SelfTester {
            loader,
            gateways,
            web_url: web_url.to_string(),
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// Runs every group's checks and stores them with `permit`.
    pub async fn run(&self, permit: &policy::Permit, cause: &str) -> anyhow::Result<Run> {
        let _one = self.running.lock().await;
        let profile = self.loader.profile();
        run_and_record(
            self.loader.store(),
            permit,
            &profile,
            &self.gateways,
            None,
            cause,
            &self.web_url,
        )
        .await
    }
}

/// The wait until the next daily run: [`DAILY_HOUR`] o'clock school time, today if still
/// ahead, else tomorrow.
fn until_daily(clock: &clock::Clock) -> Duration {
    let now = clock.school_now();
    let today = now.date_naive();
    let at = |d: chrono::NaiveDate| {
        d.and_hms_opt(DAILY_HOUR, 0, 0)
            .and_then(|t| t.and_local_timezone(now.timezone()).earliest())
    };
    let next = match at(today) {
        Some(t) if t > now => Some(t),
        _ => today.succ_opt().and_then(at),
    };
    next.and_then(|t| (t - now).to_std().ok())
        .unwrap_or(Duration::from_secs(3600))
}

/// Runs the self-test once a day and after each reload of the profile's filtering, for as
/// long as the server runs. Results and alerts go to the store; failures to run are logged.
pub fn spawn_schedule(tester: Arc<SelfTester>) {
    tokio::spawn(async move {
        let permit = policy::Permit::for_operator(policy::Action::RunFilterTest);
        let reloaded = tester.loader.reloaded.clone();
        loop {
            // Bounded waits: the clock is read again at least every minute, so that a clock
            // set by a test (or a machine waking from sleep) is followed.
            let cause = tokio::select! {
                _ = reloaded.notified() => "reload",
                _ = tokio::time::sleep(until_daily(tester.loader.store().clock()).min(Duration::from_secs(60))) => {
                    if until_daily(tester.loader.store().clock()) > Duration::from_secs(23 * 3600 + 58 * 60) {
                        "daily"
                    } else {
                        continue;
                    }
                }
            };
            match tester.run(&permit, cause).await {
                Ok(run) if run.pass => {
                    tracing::info!(run = run.run_id, cause, "filter self-test passed")
                }
                Ok(run) => tracing::error!(
                    run = run.run_id,
                    cause,
                    "filter self-test FAILED: see /filtering/self-test"
                ),
                Err(e) => tracing::error!(error = %e, cause, "the filter self-test could not run"),
            }
        }
    });
}

/// Hands each school's filtering control its self-test of the gateways listening at `dns`
/// and `proxy`, and starts its schedule. Without a DNS gateway there is nothing to test.
pub fn start_for(
    schools: &[crate::gateways::SchoolFiltering],
    dns: &[SocketAddr],
    proxy: &[SocketAddr],
    web_url: &str,
) {
    let Some(dns) = dns.iter().find(|a| a.is_ipv4()).or(dns.first()).copied() else {
        return;
    };
    let proxy = proxy
        .iter()
        .find(|a| a.is_ipv4())
        .or(proxy.first())
        .copied();
    for school in schools {
        let profile = school.control.loader.profile();
        let gateways = match gateways_of(&profile, Some(dns), proxy) {
            Ok(g) => Gateways { proxy, ..g },
            Err(e) => {
                tracing::warn!(error = %e, "no filter self-test for this school");
                continue;
            }
        };
        let tester = Arc::new(SelfTester::new(
            school.control.loader.clone(),
            gateways,
            web_url,
        ));
        if school.control.tester.set(tester.clone()).is_ok() {
            spawn_schedule(tester);
        }
    }
}
