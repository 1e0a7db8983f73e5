//! Palisade's events and the values that travel between the gateways, the monitoring and the
//! store: what a gateway saw and decided ([`AccessEvent`]), what a monitoring rule made of it
//! ([`AlertHit`], [`Alert`]), queued mail ([`OutboxMail`]), the audit trail's head
//! ([`AuditHead`]) and stored timestamps. Pure values, no I/O: `gateway` and `monitor` depend
//! on this crate, never on `store`, which implements the traits here over its database.

pub mod access;
pub mod alerts;
pub mod audit;
pub mod mail;
pub mod time;

pub use access::{AccessEvent, AccessSink, LogVerdict};
pub use alerts::{Alert, AlertHit, GAP_RULE, SYSTEM_SUBJECT};
pub use audit::{AuditHead, GENESIS, HEAD_LINE};
pub use mail::OutboxMail;
pub use time::{parse_timestamp, stamp, timestamp};

/// Why a sign-in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// Wrong username or password (never says which).
    Invalid,
    /// Too many failures: locked for a while.
    Locked,
}
