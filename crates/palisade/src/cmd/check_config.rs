//! `palisade serve --check-config`: everything `serve` needs, checked without serving, so that
//! a mistake shows before the service starts (the systemd unit runs it as `ExecStartPre`). It
//! reads the profile (or the trust's) and compiles the lists it names, opens the database
//! without creating or migrating it, loads the certificates (the web app's, and the school CA
//! the proxy inspects HTTPS with), tries the backup folder, and binds
//! each address `serve` would listen on and lets it go. Every problem is listed, each naming
//! what and where; exit 1 when there is one.

use crate::cmd::serve::ServeArgs;
use crate::settings::{load_profile, profile_dir};
use anyhow::Result;
use policy::Profile;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What the check found, in the order it looked.
#[derive(Default)]
struct Findings {
    lines: Vec<(Level, String, String)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Ok,
    Warning,
    Problem,
}

impl Findings {
    fn ok(&mut self, what: impl Into<String>, message: impl Into<String>) {
        self.lines.push((Level::Ok, what.into(), message.into()));
    }
    fn warn(&mut self, what: impl Into<String>, message: impl Into<String>) {
        self.lines
            .push((Level::Warning, what.into(), message.into()));
    }
    fn problem(&mut self, what: impl Into<String>, message: impl Into<String>) {
        self.lines
            .push((Level::Problem, what.into(), message.into()));
    }
    fn problems(&self) -> usize {
        self.lines
            .iter()
            .filter(|(l, _, _)| *l == Level::Problem)
            .count()
    }
}

/// One school `serve` would run: where its profile came from, and the profile.
struct School {
    source: String,
    profile: Profile,
}

pub async fn run(a: &ServeArgs, clock: clock::Clock) -> Result<ExitCode> {
    let mut f = Findings::default();
    // The flags serve validates itself (mail's security, say), as it would.
    if let Err(e) = crate::gateways::GatewaySettings::try_from(a.dns.clone()) {
        f.problem(
            "serve's settings (flags, or palisade.env)",
            format!("{e:#}"),
        );
    }
    let (schools, trust_lists) = profiles(a, &mut f);
    for school in &schools {
        lists(school, &trust_lists, &a.dns.lists, &mut f);
        certificates(school, &mut f);
        backup_dir(school, &mut f);
    }
    tls_files(a, schools.first(), &clock, &mut f);
    database(a, schools.first(), clock, &mut f).await;
    if let Some(first) = schools.first() {
        ports(a, &first.profile, &mut f);
    } else {
        f.warn(
            "ports",
            "not checked beyond the web address: the profile could not be read",
        );
        bind_all(&[(a.listen, Proto::Tcp, "web app (--listen)")], &mut f);
    }
    for (level, what, message) in &f.lines {
        let tag = match level {
            Level::Ok => "ok     ",
            Level::Warning => "warning",
            Level::Problem => "PROBLEM",
        };
        println!("{tag} {what}: {message}");
    }
    let n = f.problems();
    if n == 0 {
        println!("palisade serve --check-config: everything checked is in order");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "palisade serve --check-config: {n} problem{} (listed above); serve would not start as configured",
            if n == 1 { "" } else { "s" }
        );
        Ok(ExitCode::FAILURE)
    }
}

/// The school's profile, or the trust's and its schools'; the trust's own lists.
fn profiles(a: &ServeArgs, f: &mut Findings) -> (Vec<School>, Vec<filter::ListFile>) {
    match (&a.profile, &a.trust) {
        (_, Some(trust)) => match crate::trust::load_trust(trust) {
            Ok((t, schools)) => {
                f.ok(
                    format!("trust profile {trust}"),
                    format!("{} with {} schools", t.trust.name, schools.len()),
                );
                let lists = crate::trust::trust_lists(trust, &t);
                let schools = schools
                    .into_iter()
                    .map(|(source, profile)| School { source, profile })
                    .collect();
                (schools, lists)
            }
            Err(e) => {
                f.problem(format!("trust profile {trust}"), format!("{e:#}"));
                (Vec::new(), Vec::new())
            }
        },
        (Some(source), None) => match load_profile(source) {
            Ok(profile) => {
                f.ok(
                    format!("profile {source}"),
                    format!(
                        "{} ({} {})",
                        profile.school.name, profile.policy.title, profile.policy.version
                    ),
                );
                let school = School {
                    source: source.clone(),
                    profile,
                };
                (vec![school], Vec::new())
            }
            Err(e) => {
                f.problem(format!("profile {source}"), format!("{e:#}"));
                (Vec::new(), Vec::new())
            }
        },
        (None, None) => {
            f.problem("profile", "give --profile FILE (a school) or --trust FILE");
            (Vec::new(), Vec::new())
        }
    }
}

/// The lists the profile names (and the trust's and the command line's), compiled as `serve`
/// compiles them; a list fetched from a URL that has not been fetched yet is only a warning
/// (`serve` fetches it and filters with the rest meanwhile).
fn lists(school: &School, trust: &[filter::ListFile], extra: &[String], f: &mut Findings) {
    let what = format!("lists of {}", school.source);
    let dir = profile_dir(&school.source);
    let sources = crate::filtering::ListSources {
        trust: std::sync::Arc::new(trust.to_vec()),
        extra: extra.to_vec(),
        ..Default::default()
    };
    let cache = dir.join("palisade-data").join("lists");
    for l in &school.profile.filtering.lists {
        if l.path.is_none() && l.url.is_some() && !cache.join(&l.name).exists() {
            f.warn(
                format!("{what}: filtering.lists `{}`", l.name),
                format!(
                    "not fetched yet (serve fetches it into {})",
                    cache.display()
                ),
            );
        }
    }
    match crate::filtering::build_engine(&school.profile, &dir, &sources) {
        Ok((_, report)) => {
            let n = trust.len() + school.profile.filtering.lists.len() + extra.len();
            f.ok(&what, format!("{n} lists compile"));
            if let Some(r) = report {
                let lines = crate::filtering::report_lines(&r);
                for line in lines.iter().take(20) {
                    f.warn(&what, line.clone());
                }
                if lines.len() > 20 {
                    f.warn(&what, format!("{} more warnings", lines.len() - 20));
                }
            }
        }
        Err(e) => f.problem(what, format!("{e:#}")),
    }
}

/// The school CA the proxy inspects HTTPS with, loaded as the proxy loads it, when the profile
/// inspects any group; else only whether a CA is there for devices to install.
fn certificates(school: &School, f: &mut Findings) {
    let Some(network) = &school.profile.network else {
        return;
    };
    let dir = crate::cmd::ca::ca_dir(&school.profile, &school.source);
    let what = format!(
        "school CA ({} of {}: network.proxy.ca_dir)",
        dir.display(),
        school.source
    );
    if network.proxy.inspect_groups.is_empty() {
        if dir.join("ca.pem").exists() {
            f.ok(what, "present (no group's HTTPS is inspected)");
        }
        return;
    }
    match gateway::proxy::Inspection::from_settings(&network.proxy, &dir) {
        Ok(_) => f.ok(
            what,
            format!(
                "loads; inspects HTTPS of {}",
                network.proxy.inspect_groups.join(", ")
            ),
        ),
        Err(e) => f.problem(what, e.to_string()),
    }
}

/// The web app's HTTPS: the certificate and key files given (the pair, and its expiry), or
/// the school CA a certificate is issued from (`--tls`).
fn tls_files(a: &ServeArgs, first: Option<&School>, clock: &clock::Clock, f: &mut Findings) {
    let args = &a.dns.tls;
    let now = clock.now();
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let what = format!("web certificate {} (--tls-cert, --tls-key)", cert.display());
        match crate::tls::load_certified_key(cert, key) {
            Ok(served) => served_certificate(what, &served, now, f),
            Err(e) => f.problem(what, format!("{e:#}")),
        }
        return;
    }
    if !args.tls {
        f.warn(
            "web app",
            "plain HTTP: browsers that reach it by a name other than localhost drop its \
             (Secure) sign-in cookie; give --tls (a certificate from the school CA) or \
             --tls-cert FILE --tls-key FILE",
        );
        return;
    }
    let Some(school) = first else {
        return;
    };
    let dir = args
        .ca_dir
        .clone()
        .unwrap_or_else(|| crate::cmd::ca::ca_dir(&school.profile, &school.source));
    let what = format!(
        "web certificate from the school CA in {} (--tls)",
        dir.display()
    );
    for file in ["ca.pem", "ca.key"] {
        if let Err(e) = std::fs::File::open(dir.join(file)) {
            return f.problem(
                what,
                format!(
                    "cannot read {}: {e} (make the CA with `palisade ca init --profile {}`, as the service's user)",
                    dir.join(file).display(),
                    school.source
                ),
            );
        }
    }
    let (cert, key) = (
        dir.join(crate::tls::CERT_FILE),
        dir.join(crate::tls::KEY_FILE),
    );
    if cert.exists() {
        match crate::tls::load_certified_key(&cert, &key) {
            Ok(served) if crate::tls::needs_renewal(&served, now) => f.ok(
                &what,
                format!(
                    "{} expires {}: serve issues a new one on start",
                    cert.display(),
                    served.not_after
                ),
            ),
            Ok(served) => served_certificate(what.clone(), &served, now, f),
            Err(e) => f.warn(&what, format!("{e:#}; serve issues a new one on start")),
        }
    } else {
        f.ok(&what, "none issued yet: serve issues one on start");
    }
    if let Err(e) = try_write(&dir) {
        f.problem(
            what,
            format!(
                "serve writes the issued certificate there, and cannot: {e} (it must belong to the service's user)"
            ),
        );
    }
}

/// A certificate that loads: a problem once expired, a warning in its last 30 days.
fn served_certificate(
    what: String,
    served: &crate::tls::ServedCertificate,
    now: chrono::DateTime<chrono::Utc>,
    f: &mut Findings,
) {
    let days = (served.not_after - now).num_days();
    let names = served.names.join(", ");
    if served.not_after <= now {
        f.problem(
            what,
            format!("expired {} (names {names})", served.not_after),
        );
    } else if days < crate::tls::RENEW_WITHIN_DAYS {
        f.warn(
            what,
            format!(
                "expires in {days} days, {} (names {names})",
                served.not_after
            ),
        );
    } else {
        f.ok(
            what,
            format!("key matches; valid until {} for {names}", served.not_after),
        );
    }
}

/// The profile's `[backup]` folder can be written (or made), and its recipients file read.
fn backup_dir(school: &School, f: &mut Findings) {
    let Some(backup) = &school.profile.backup else {
        return;
    };
    let base = profile_dir(&school.source);
    let dir = base.join(&backup.dir);
    let what = format!("backup.dir of {} ({})", school.source, dir.display());
    if dir.is_dir() {
        match try_write(&dir) {
            Ok(()) => f.ok(what, "writable"),
            Err(e) => f.problem(what, format!("cannot write there: {e}")),
        }
    } else {
        // Serve makes the folder; the nearest folder that exists must let it.
        let parent = dir.ancestors().skip(1).find(|p| p.is_dir());
        match parent.map(|p| (p, try_write(p))) {
            Some((_, Ok(()))) => f.ok(what, "does not exist yet; can be made"),
            Some((p, Err(e))) => f.problem(
                what,
                format!("does not exist and {} cannot be written: {e}", p.display()),
            ),
            None => f.problem(what, "does not exist"),
        }
    }
    if let Some(file) = &backup.recipients_file {
        let path = base.join(file);
        if let Err(e) = std::fs::read_to_string(&path) {
            f.problem(
                format!("backup.recipients_file of {}", school.source),
                format!("cannot read {}: {e}", path.display()),
            );
        }
    }
}

/// Whether a file can be made in `dir` (it is removed at once).
fn try_write(dir: &Path) -> std::io::Result<()> {
    tempfile::Builder::new()
        .prefix(".palisade-check-")
        .tempfile_in(dir)
        .map(drop)
}

/// The database: opened without creating or migrating anything. A SQLite file that does not
/// exist yet is fine when its folder can be written (serve makes it); an empty PostgreSQL
/// database is fine too (serve makes the schema). An older schema is brought up to date by
/// serve; a newer one is a problem (an older Palisade on a newer database).
async fn database(a: &ServeArgs, first: Option<&School>, clock: clock::Clock, f: &mut Findings) {
    let url = &a.database_url;
    let shown = store::redacted_url(url);
    let what = format!("database {shown}");
    let backend = match store::Backend::of_url(url) {
        Ok(b) => b,
        Err(e) => return f.problem(what, e.to_string()),
    };
    if backend == store::Backend::Sqlite {
        let path = PathBuf::from(sqlite_path(url));
        if !path.is_file() {
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let existing = parent.ancestors().find(|p| p.is_dir());
            match existing.map(|p| (p, try_write(p))) {
                Some((_, Ok(()))) => f.ok(
                    what,
                    "no database yet: serve creates it and its schema on first start",
                ),
                Some((p, Err(e))) => f.problem(
                    what,
                    format!(
                        "no database yet, and serve could not create it: {} cannot be written: {e}",
                        p.display()
                    ),
                ),
                None => f.problem(what, "no database, and no folder to make it in"),
            }
            return;
        }
    }
    let store = match store::Store::open_existing(url, clock).await {
        Ok(s) => s,
        Err(store::StoreError::NoDatabase(m)) if backend == store::Backend::Postgres => {
            return f.ok(
                what,
                format!("{m}: serve creates the schema on first start"),
            );
        }
        Err(e) => return f.problem(what, e.to_string()),
    };
    let latest = store::latest_schema_version(backend);
    match store.schema_version().await {
        Ok(v) if v == latest => f.ok(&what, format!("opens; schema up to date ({v})")),
        Ok(v) if v < latest => f.ok(
            &what,
            format!("opens; schema {v}, serve brings it up to date ({latest}) on start"),
        ),
        Ok(v) => f.problem(
            &what,
            format!(
                "its schema ({v}) is newer than this Palisade knows ({latest}): run the newer Palisade, or restore a backup made by this one"
            ),
        ),
        Err(e) => f.problem(&what, format!("cannot read its schema version: {e}")),
    }
    if let Some(school) = first {
        match store.people(None).await {
            Ok(people) => {
                let holders: Vec<_> = people.iter().map(store::Person::holder).collect();
                for p in policy::registers::holder_problems(&school.profile, &holders) {
                    f.problem(
                        format!("profile {}: {}", school.source, p.problem.key),
                        p.problem.message,
                    );
                }
            }
            Err(e) => f.warn(&what, format!("cannot read its people: {e}")),
        }
    }
    store.close().await;
}

/// The file path of a `sqlite:` URL.
fn sqlite_path(url: &str) -> &str {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    path.split('?').next().unwrap_or_default()
}

#[derive(Clone, Copy)]
enum Proto {
    Tcp,
    Udp,
}

/// Every address serve would listen on: the web app's, and with a `[network]` section the DNS
/// gateway's (UDP and TCP) and the proxy's, the command line's in place of the profile's.
fn ports(a: &ServeArgs, profile: &Profile, f: &mut Findings) {
    let mut wanted = vec![(a.listen, Proto::Tcp, "web app (--listen)")];
    if let Some(http) = a.dns.tls.http_listen {
        wanted.push((http, Proto::Tcp, "plain HTTP redirects (--http-listen)"));
    }
    if let Some(network) = &profile.network {
        if !a.dns.no_dns {
            let (dns, from) = if a.dns.dns_listen.is_empty() {
                (network.dns.listen.clone(), "DNS (network.dns.listen)")
            } else {
                (a.dns.dns_listen.clone(), "DNS (--dns-listen)")
            };
            for addr in dns {
                wanted.push((addr, Proto::Udp, from));
                wanted.push((addr, Proto::Tcp, from));
            }
        }
        if !a.dns.no_proxy {
            let (proxy, from) = if a.dns.proxy_listen.is_empty() {
                (network.proxy.listen.clone(), "proxy (network.proxy.listen)")
            } else {
                (a.dns.proxy_listen.clone(), "proxy (--proxy-listen)")
            };
            for addr in proxy {
                wanted.push((addr, Proto::Tcp, from));
            }
        }
    }
    bind_all(&wanted, f);
}

/// Binds each address and lets it go at once.
fn bind_all(wanted: &[(SocketAddr, Proto, &str)], f: &mut Findings) {
    for (addr, proto, from) in wanted {
        let (name, bound) = match proto {
            Proto::Tcp => ("TCP", std::net::TcpListener::bind(addr).map(drop)),
            Proto::Udp => ("UDP", std::net::UdpSocket::bind(addr).map(drop)),
        };
        let what = format!("{from} {addr} {name}");
        match bound {
            Ok(()) => f.ok(what, "free; can be listened on"),
            Err(e) => f.problem(what, bind_error(addr, &e)),
        }
    }
}

/// What a failed bind means, in words.
pub fn bind_error(addr: &SocketAddr, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::PermissionDenied if addr.port() < 1024 => format!(
            "permission denied (needs CAP_NET_BIND_SERVICE: port {} is below 1024; the palisade \
             systemd unit gives its user that capability)",
            addr.port()
        ),
        ErrorKind::PermissionDenied => format!("permission denied ({e})"),
        ErrorKind::AddrInUse => format!(
            "in use: another program listens there (see `ss -lntup`; is Palisade already \
             running? `systemctl status palisade`) ({e})"
        ),
        ErrorKind::AddrNotAvailable => {
            format!("this machine has no address {} ({e})", addr.ip())
        }
        _ => e.to_string(),
    }
}

/// A gateway's failed bind (`serve`'s DNS or proxy address), saying what it means.
pub fn explain_bind(e: anyhow::Error) -> anyhow::Error {
    match e.downcast_ref::<gateway::GatewayError>() {
        Some(gateway::GatewayError::Bind { addr, source }) => {
            anyhow::anyhow!("cannot listen on {addr}: {}", bind_error(addr, source))
        }
        _ => e,
    }
}
