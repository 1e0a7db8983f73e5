//! Timestamps as stored: RFC 3339 UTC with milliseconds.

use chrono::{DateTime, SecondsFormat, Utc};

/// A timestamp as stored: RFC 3339 UTC with milliseconds, so text order is time order.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A time as stored, like [`timestamp`]. The gateways stamp every query, tens of thousands a
/// second, so each thread keeps the text of its last millisecond and formats only when the
/// millisecond changes.
pub fn stamp(t: DateTime<Utc>) -> String {
    thread_local! {
        static LAST: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    let millis = t.timestamp_millis();
    LAST.with_borrow_mut(|(at, text)| {
        if *at != millis {
            *at = millis;
            *text = timestamp(t);
        }
        text.clone()
    })
}

/// Parses a stored timestamp.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
