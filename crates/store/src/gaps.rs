//! Monitoring gaps: access-log events and alert hits that had to be dropped (a full queue, a
//! failing store) were never seen by the monitoring rules or kept as evidence. The counters are
//! metrics; [`GapWatch`] also turns their growth into one alert, so that the safeguarding leads
//! know monitoring had a gap and when.

use crate::{AccessEvent, AlertHit, Result, Store};

pub use events::{GAP_RULE, SYSTEM_SUBJECT};

/// How many events have been dropped so far, as the counters hold them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Access-log events (each one a DNS query or proxy request nobody will see).
    pub access_events: u64,
    /// Alert hits the monitoring rules made that could not be stored.
    pub alert_hits: u64,
}

/// Remembers what has been reported, and reports what has been dropped since.
#[derive(Debug, Default)]
pub struct GapWatch {
    reported: Dropped,
}

impl GapWatch {
    /// A watch that has reported nothing yet (the counters start at zero with the process).
    pub fn new() -> GapWatch {
        GapWatch::default()
    }

    /// If `dropped` has grown since the last report, records one high alert hit saying how many
    /// events were dropped since then; hits within `window_minutes` of the last add to the same
    /// alert. Returns the alert's id and whether it is new. After a failure the same events are
    /// reported by the next call.
    pub async fn check(
        &mut self,
        store: &Store,
        dropped: Dropped,
        window_minutes: u32,
    ) -> Result<Option<(i64, bool)>> {
        let events = dropped
            .access_events
            .saturating_sub(self.reported.access_events);
        let hits = dropped.alert_hits.saturating_sub(self.reported.alert_hits);
        if events == 0 && hits == 0 {
            return Ok(None);
        }
        let hit = AlertHit {
            severity: policy::profile::monitoring::AlertSeverity::High,
            rule: GAP_RULE.to_string(),
            subject: SYSTEM_SUBJECT.to_string(),
            audience: policy::alerts::AlertAudience::System,
            count: i64::try_from(events.saturating_add(hits)).unwrap_or(i64::MAX),
            event: AccessEvent::new(
                store.now(),
                "palisade",
                String::new(),
                String::new(),
                format!(
                    "{events} access-log event(s) and {hits} alert hit(s) dropped: the store fell behind or failed"
                ),
                events::LogVerdict::Dropped,
            ),
        };
        let recorded = store.record_alert_hit(&hit, window_minutes).await?;
        self.reported = dropped;
        Ok(Some(recorded))
    }
}
