//! Failed sign-ins are throttled per source address and overall, in memory: a token bucket per
//! address (a bounded map) and one for the whole server. A failure takes a token; an address
//! (or the server) with no token left is answered 429 before any password is checked, so one
//! address cannot try names for ever, nor lock account after account. Monotonic time
//! (`Instant`) is enough for rate windows.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Failed sign-ins one address may make in a burst.
pub const PER_ADDRESS_BURST: f64 = 10.0;
/// And then one more every this long.
pub const PER_ADDRESS_REFILL: Duration = Duration::from_secs(60);
/// Failed sign-ins the whole server takes in a burst.
pub const OVERALL_BURST: f64 = 200.0;
/// And then one more every this long.
pub const OVERALL_REFILL: Duration = Duration::from_millis(500);
/// Most addresses tracked at once; past it, addresses whose bucket is full again are
/// forgotten, and if none are, the new address is held to the overall bucket alone.
const MAX_ADDRESSES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(burst: f64, now: Instant) -> Bucket {
        Bucket {
            tokens: burst,
            at: now,
        }
    }

    /// Tokens now, after refilling since the last look.
    fn refill(&mut self, burst: f64, every: Duration, now: Instant) -> f64 {
        let gained = now.saturating_duration_since(self.at).as_secs_f64() / every.as_secs_f64();
        self.tokens = (self.tokens + gained).min(burst);
        self.at = now;
        self.tokens
    }

    /// Seconds until one token is back.
    fn wait(&self, every: Duration) -> u64 {
        let missing = (1.0 - self.tokens).max(0.0);
        (missing * every.as_secs_f64()).ceil().max(1.0) as u64
    }
}

struct Inner {
    per_address: HashMap<IpAddr, Bucket>,
    overall: Bucket,
}

/// The throttle every sign-in passes.
pub struct SignInThrottle {
    inner: Mutex<Inner>,
    /// Sign-ins refused by the throttle since the server started (not written to the
    /// database: a flood of them must not become a flood of writes).
    refused: AtomicU64,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        SignInThrottle {
            inner: Mutex::new(Inner {
                per_address: HashMap::new(),
                overall: Bucket::full(OVERALL_BURST, Instant::now()),
            }),
            refused: AtomicU64::new(0),
        }
    }
}

/// Why a sign-in was not even tried, and how many seconds to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// Too many failures from this address.
    Address(u64),
    /// Too many failures at the server as a whole.
    Overall(u64),
}

impl SignInThrottle {
    /// How many sign-ins the throttle refused since the server started.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Whether a sign-in from `source` may be tried now (a refusal is counted).
    pub fn check(&self, source: Option<IpAddr>) -> Result<(), Throttled> {
        let answer = self.check_buckets(source);
        if answer.is_err() {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        answer
    }

    fn check_buckets(&self, source: Option<IpAddr>) -> Result<(), Throttled> {
        let Ok(mut inner) = self.inner.lock() else {
            return Err(Throttled::Overall(1));
        };
        let now = Instant::now();
        if inner.overall.refill(OVERALL_BURST, OVERALL_REFILL, now) < 1.0 {
            return Err(Throttled::Overall(inner.overall.wait(OVERALL_REFILL)));
        }
        if let Some(ip) = source
            && let Some(b) = inner.per_address.get_mut(&ip)
            && b.refill(PER_ADDRESS_BURST, PER_ADDRESS_REFILL, now) < 1.0
        {
            return Err(Throttled::Address(b.wait(PER_ADDRESS_REFILL)));
        }
        Ok(())
    }

    /// Counts a failed sign-in from `source`.
    pub fn failed(&self, source: Option<IpAddr>) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let now = Instant::now();
        inner.overall.refill(OVERALL_BURST, OVERALL_REFILL, now);
        inner.overall.tokens -= 1.0;
        let Some(ip) = source else {
            return;
        };
        if inner.per_address.len() >= MAX_ADDRESSES && !inner.per_address.contains_key(&ip) {
            inner.per_address.retain(|_, b| {
                b.refill(PER_ADDRESS_BURST, PER_ADDRESS_REFILL, now) < PER_ADDRESS_BURST
            });
            if inner.per_address.len() >= MAX_ADDRESSES {
                return;
            }
        }
        let b = inner
            .per_address
            .entry(ip)
            .or_insert_with(|| Bucket::full(PER_ADDRESS_BURST, now));
        b.refill(PER_ADDRESS_BURST, PER_ADDRESS_REFILL, now);
        b.tokens -= 1.0;
    }
}

/// The address a request came from (the TCP peer), when the server knows it.
#[derive(Debug, Clone, Copy)]
pub struct SourceAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for SourceAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(SourceAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_throttled_after_its_burst_and_others_are_not() {
        let t = SignInThrottle::default();
        let (a, b): (IpAddr, IpAddr) = ([127, 0, 0, 2].into(), [127, 0, 0, 3].into());
        for _ in 0..PER_ADDRESS_BURST as usize {
            assert_eq!(t.check(Some(a)), Ok(()));
            t.failed(Some(a));
        }
        assert!(matches!(t.check(Some(a)), Err(Throttled::Address(s)) if s >= 1));
        assert_eq!(t.check(Some(b)), Ok(()));
        assert_eq!(t.check(None), Ok(()));
    }

    #[test]
    fn the_server_as_a_whole_is_throttled_after_its_burst() {
        let t = SignInThrottle::default();
        for i in 0..OVERALL_BURST as u32 + 1 {
            t.failed(Some(IpAddr::from(i.to_be_bytes())));
        }
        assert!(matches!(t.check(None), Err(Throttled::Overall(_))));
    }
}
