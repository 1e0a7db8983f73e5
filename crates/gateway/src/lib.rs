//! Palisade's filtering gateways. The DNS resolver identifies each client by address, asks the
//! filter for a verdict for the client's group, answers (forwarding allowed names to the
//! upstreams through a TTL-respecting cache), and queues an access-log event. It never touches
//! the database per query: it answers from an immutable filter snapshot swapped on reload.

pub mod devices;
pub mod dns;
pub mod proxy;
pub mod selftest;
pub mod signed_in;
pub mod sites;

use events::LogVerdict;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// Everything that can go wrong starting or running a gateway.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The upstream resolver configuration is unusable.
    #[error("upstream resolvers: {0}")]
    Upstream(String),
    /// The school CA or a TLS setting is unusable.
    #[error("TLS: {0}")]
    Tls(String),
    /// The profile has no `[network]` section, so there is nothing to serve.
    #[error("the profile has no [network] section: add default_group and [network.dns]")]
    NoNetwork,
    /// Two schools served by one gateway have overlapping subnets (by their order).
    #[error(
        "schools {first} and {second} have overlapping subnets: a device must belong to one school"
    )]
    Overlap { first: usize, second: usize },
    /// The schools have more filtering groups between them than one gateway can tell apart.
    #[error("more than 65,535 filtering groups across the schools")]
    TooManyGroups,
}

/// Label of the per-verdict query counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabel {
    pub verdict: &'static str,
}

/// Label of the per-category block counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CategoryLabel {
    pub category: String,
}

/// A gateway's Prometheus metrics (the DNS resolver and the proxy each have one).
#[derive(Debug)]
pub struct GatewayStats {
    /// Queries (or requests) by verdict (allow, block, rewrite, refused, unfiltered, error).
    pub queries: Family<VerdictLabel, Counter>,
    /// Blocked queries by category.
    pub blocked: Family<CategoryLabel, Counter>,
    /// Time to an upstream answer (or the cache's), in seconds.
    pub upstream_seconds: Histogram,
    /// Answers served from the gateway's own answer cache, and queries that missed it (the
    /// hit ratio is hits / (hits + misses)); the DNS gateway only.
    pub cache_hits: Counter,
    pub cache_misses: Counter,
}

impl Default for GatewayStats {
    fn default() -> Self {
        GatewayStats {
            queries: Family::default(),
            blocked: Family::default(),
            upstream_seconds: Histogram::new(exponential_buckets(0.000_05, 4.0, 9)),
            cache_hits: Counter::default(),
            cache_misses: Counter::default(),
        }
    }
}

impl GatewayStats {
    /// Counts one answer: its verdict, and its category when blocked.
    pub(crate) fn count_answer(&self, verdict: LogVerdict, category: Option<&str>) {
        self.count(verdict);
        if let Some(c) = category {
            self.blocked
                .get_or_create(&CategoryLabel {
                    category: c.to_string(),
                })
                .inc();
        }
    }

    pub(crate) fn count(&self, verdict: LogVerdict) {
        self.queries
            .get_or_create(&VerdictLabel {
                verdict: verdict.as_str(),
            })
            .inc();
    }

    /// How many queries got `verdict` so far.
    pub fn queries_with(&self, verdict: LogVerdict) -> u64 {
        self.queries
            .get_or_create(&VerdictLabel {
                verdict: verdict.as_str(),
            })
            .get()
    }

    /// Adds these metrics to `registry` under `prefix` (`palisade_dns`, `palisade_proxy`);
    /// `what` names the unit in the help texts ("DNS queries", "Proxy requests").
    pub fn register(self: &Arc<Self>, registry: &mut Registry, prefix: &str, what: &str) {
        let sub = registry.sub_registry_with_prefix(prefix);
        sub.register(
            "queries",
            format!("{what} by verdict"),
            self.queries.clone(),
        );
        sub.register(
            "blocked",
            format!("Blocked {what} by category"),
            self.blocked.clone(),
        );
        sub.register(
            "upstream_seconds",
            "Time to an upstream (or cached) answer",
            self.upstream_seconds.clone(),
        );
        if prefix == "palisade_dns" {
            sub.register(
                "cache_hits",
                "Answers served from the answer cache",
                self.cache_hits.clone(),
            );
            sub.register(
                "cache_misses",
                "Queries the answer cache could not answer (hit ratio = hits / (hits + misses))",
                self.cache_misses.clone(),
            );
        }
    }
}

pub use filter::Verdict;

/// The filter as the gateways see it: a verdict for a group and a host name (lower-case, no
/// trailing dot). The filter engine implements it; the gateways hold it behind [`FilterSlot`].
pub trait Filter: Send + Sync + 'static {
    /// The verdict for `host` in `group`.
    fn decide(&self, group: &str, host: &str) -> Verdict;

    /// The verdict for a full URL whose host is `host` (the proxy): the host's verdict, then
    /// URL lists and search-term keywords. A filter that knows only hosts answers by the host.
    fn decide_url(&self, group: &str, host: &str, url: &str) -> Verdict {
        let _ = url;
        self.decide(group, host)
    }

    /// Whether `host` is listed under any of `categories` (exempt from HTTPS inspection).
    fn listed_in(&self, host: &str, categories: &[String]) -> bool {
        let _ = (host, categories);
        false
    }
}

/// The filter currently in force, swapped atomically on reload. Empty until the lists load:
/// while empty, pupil-level groups are refused an answer (fail closed).
pub struct FilterSlot {
    current: arc_swap::ArcSwapOption<Box<dyn Filter>>,
    /// Bumped on every change, so that answers cached under an older filter are not reused.
    generation: std::sync::atomic::AtomicU64,
}

impl FilterSlot {
    /// An empty slot.
    pub fn empty() -> Arc<FilterSlot> {
        Arc::new(FilterSlot {
            current: arc_swap::ArcSwapOption::empty(),
            generation: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Puts a new filter in force; lookups in flight finish with the old one.
    pub fn replace(&self, filter: Box<dyn Filter>) {
        self.current.store(Some(Arc::new(filter)));
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Changes whenever the filter in force changes.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Takes the filter out of force (tests of the fail-closed path).
    pub fn clear(&self) {
        self.current.store(None);
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// The filter in force, if any.
    pub fn load(&self) -> Option<Arc<Box<dyn Filter>>> {
        self.current.load_full()
    }
}

/// The filter engine as the gateways use it: verdicts at the school's time of day (UK time)
/// by the server's clock, for time rules.
pub struct EngineFilter {
    pub engine: filter::Engine,
    pub clock: clock::Clock,
}

impl Filter for EngineFilter {
    fn decide(&self, group: &str, host: &str) -> Verdict {
        self.engine
            .verdict(group, host, self.clock.minute_of_school_day())
    }

    fn decide_url(&self, group: &str, _host: &str, url: &str) -> Verdict {
        self.engine
            .verdict_url(group, url, self.clock.minute_of_school_day())
    }

    fn listed_in(&self, host: &str, categories: &[String]) -> bool {
        self.engine.listed_in(host, categories)
    }
}
