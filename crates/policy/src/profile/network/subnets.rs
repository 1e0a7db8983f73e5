//! The subnet rules compiled into a map from client address to filtering group.

use super::reach::{canonical, is_link_local, is_private_address};
use super::section::NetworkPolicy;
use ipnet::IpNet;
use std::net::IpAddr;

/// The compiled subnet rules: answers "which group is this client in?".
#[derive(Debug, Clone)]
pub struct ClientMap {
    /// Longest prefix first.
    subnets: Vec<(IpNet, String)>,
    default_group: String,
}

impl ClientMap {
    /// Builds the map; rules whose CIDR does not parse are reported by `validate` and skipped.
    pub fn new(network: &NetworkPolicy) -> ClientMap {
        let mut subnets: Vec<(IpNet, String)> = network
            .subnets
            .iter()
            .filter_map(|r| {
                r.cidr
                    .parse::<IpNet>()
                    .ok()
                    .map(|n| (n.trunc(), r.group.clone()))
            })
            .collect();
        subnets.sort_by_key(|(n, _)| std::cmp::Reverse(n.prefix_len()));
        ClientMap {
            subnets,
            default_group: network.default_group.clone(),
        }
    }

    /// Every group this map can answer, the default first.
    pub fn group_names(&self) -> Vec<&str> {
        std::iter::once(self.default_group.as_str())
            .chain(self.subnets.iter().map(|(_, g)| g.as_str()))
            .collect()
    }

    /// Whether the profile names any subnet at all.
    pub fn has_subnets(&self) -> bool {
        !self.subnets.is_empty()
    }

    /// Whether one of the profile's subnets covers `ip` (the default group aside).
    pub fn in_subnet(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.subnets.iter().any(|(net, _)| net.contains(&ip))
    }

    /// Whether the DNS gateway answers `ip`: loopback (the demo, the server itself), the
    /// profile's subnets, or, when it names none, any private or link-local address. Anyone
    /// else is refused, so that the resolver is not open to the internet.
    pub fn dns_client(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        if ip.is_loopback() || self.in_subnet(ip) {
            return true;
        }
        !self.has_subnets() && (is_private_address(ip) || is_link_local(ip))
    }

    /// The group of a client address.
    pub fn group_for(&self, ip: IpAddr) -> &str {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.subnets
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(_, g)| g.as_str())
            .unwrap_or(&self.default_group)
    }
}
