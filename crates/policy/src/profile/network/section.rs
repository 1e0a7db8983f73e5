//! The `[network]` section itself: the default group, the subnet rules, and the DNS and proxy
//! settings.

use super::dns::DnsSettings;
use super::proxy::ProxySettings;
use serde::{Deserialize, Serialize};

/// How the school's network maps to filtering groups, and DNS settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkPolicy {
    /// The group of any client no subnet rule covers.
    pub default_group: String,
    #[serde(default)]
    pub subnets: Vec<SubnetRule>,
    #[serde(default)]
    pub dns: DnsSettings,
    #[serde(default)]
    pub proxy: ProxySettings,
}

/// Clients in `cidr` are in `group` (the longest matching prefix wins).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetRule {
    pub cidr: String,
    pub group: String,
}
