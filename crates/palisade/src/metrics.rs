//! `/metrics`: what the running gateways export for Prometheus.

use crate::gateways::Gateways;
use std::sync::Arc;

/// `/metrics`: the gateways' counters and the access log's queue, dropped events and writes.
pub fn metrics_renderer(gateways: &Gateways) -> web::MetricsRenderer {
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
            "Alert hits dropped (alert queue full or store failing), every school's; alerts when above zero",
            hits_dropped.clone(),
        );
    let indexes: Gauge = Gauge::default();
    let index_bytes: Gauge = Gauge::default();
    let filter = registry.sub_registry_with_prefix("palisade_filter");
    filter.register(
        "indexes",
        "Compiled list indexes in memory (schools with the same name lists share one)",
        indexes.clone(),
    );
    filter.register(
        "index_bytes",
        "Heap bytes the compiled list indexes hold together",
        index_bytes.clone(),
    );
    let backup_age: Gauge = Gauge::default();
    registry.register(
        "palisade_backup_age_seconds",
        "Age of the newest verified daily backup (-1: none yet, or no [backup])",
        backup_age.clone(),
    );
    let shared = gateways.indexes.clone();
    let logger = logger.clone();
    let hits: Vec<_> = gateways
        .schools
        .iter()
        .map(|s| s.hits_dropped.clone())
        .collect();
    Arc::new(move || {
        use std::sync::atomic::Ordering::Relaxed;
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        depth.set(as_i64(logger.queue_depth() as u64));
        dropped.set(as_i64(logger.stats().dropped.load(Relaxed)));
        written.set(as_i64(logger.stats().written.load(Relaxed)));
        hits_dropped.set(as_i64(hits.iter().map(|h| h.load(Relaxed)).sum()));
        let (n, bytes) = shared.in_memory();
        indexes.set(as_i64(n as u64));
        index_bytes.set(as_i64(bytes as u64));
        backup_age.set(crate::backups::newest_verified_age_seconds().unwrap_or(-1));
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    })
}

/// `/metrics` with `palisade_web_certificate_expiry_seconds` when the web app serves HTTPS:
/// seconds until the certificate in force expires (by `clock`), read at each scrape, after
/// what `inner` (the gateways' metrics, if they run) renders.
pub fn with_certificate_expiry(
    inner: Option<web::MetricsRenderer>,
    tls: Option<(Arc<crate::tls::CertSlot>, clock::Clock)>,
) -> Option<web::MetricsRenderer> {
    use prometheus_client::metrics::gauge::Gauge;
    let Some((slot, clock)) = tls else {
        return inner;
    };
    let mut registry = prometheus_client::registry::Registry::default();
    let expiry: Gauge = Gauge::default();
    registry.sub_registry_with_prefix("palisade_web").register(
        "certificate_expiry_seconds",
        "Seconds until the web app's certificate expires (negative once it has)",
        expiry.clone(),
    );
    Some(Arc::new(move || {
        expiry.set(slot.seconds_left(clock.now()));
        let mut own = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut own, &registry);
        match &inner {
            // One exposition: the gateways' families, then this one, then the one `# EOF`.
            Some(inner) => {
                let text = inner();
                let head = text.trim_end().strip_suffix("# EOF").unwrap_or(&text);
                format!("{head}{own}")
            }
            None => own,
        }
    }))
}
