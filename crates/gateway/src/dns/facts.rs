//! What an answer said, shared by the UDP fast path (which caches it with the answer) and the
//! handler (which makes it): kept apart so that neither module depends on the other for it.

use events::LogVerdict;
use std::sync::Arc;

/// What a cached answer says, for the access log and metrics.
#[derive(Debug, Clone)]
pub struct AnswerFacts {
    pub host: Arc<str>,
    pub qtype: Arc<str>,
    pub verdict: LogVerdict,
    pub category: Option<Arc<str>>,
    pub rule: Option<Arc<str>>,
}
