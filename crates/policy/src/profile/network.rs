//! The `[network]` section: which filtering group a client is in by its address, and how the
//! DNS gateway answers. Unknown clients fall into `default_group`, which must be a pupil-level
//! group, so that an unrecognised device is filtered as strictly as a child's (fail closed).

mod dns;
mod pac;
mod proxy;
mod reach;
mod section;
mod subnets;
mod validate;

pub use dns::{BlockAnswer, DnsSettings, TlsUpstream};
pub use proxy::ProxySettings;
pub use reach::{Destination, ProxyReach};
pub use section::{NetworkPolicy, SubnetRule};
pub use subnets::{ClientMap, Overlap, SchoolMap};

#[cfg(test)]
mod tests;
