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

/// Which school of a trust a client address belongs to, by the schools' subnets: one set of
/// gateways serves every school, and each client is filtered and logged as its school's.
#[derive(Debug, Clone, Default)]
pub struct SchoolMap {
    /// Address ranges (IPv4 as IPv4-mapped IPv6), sorted by start and not overlapping, each
    /// with the index of its school.
    ranges: Vec<(u128, u128, usize)>,
}

/// Two schools whose subnets overlap, by their indexes: a device must belong to one school.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overlap {
    pub first: usize,
    pub second: usize,
}

/// The first and last address of `net`, as numbers on one line for IPv4 and IPv6.
fn span(net: &IpNet) -> (u128, u128) {
    match net {
        IpNet::V4(n) => (
            u128::from(n.network().to_ipv6_mapped()),
            u128::from(n.broadcast().to_ipv6_mapped()),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

fn point(ip: IpAddr) -> u128 {
    match canonical(ip) {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

impl SchoolMap {
    /// The map of `schools`' subnets (by index); subnets of one school may nest or overlap,
    /// those of two schools may not.
    pub fn new(schools: &[&ClientMap]) -> Result<SchoolMap, Overlap> {
        let mut all: Vec<(u128, u128, usize)> = schools
            .iter()
            .enumerate()
            .flat_map(|(i, map)| {
                map.subnets.iter().map(move |(net, _)| {
                    let (start, end) = span(net);
                    (start, end, i)
                })
            })
            .collect();
        all.sort_unstable();
        let mut ranges: Vec<(u128, u128, usize)> = Vec::with_capacity(all.len());
        for (start, end, school) in all {
            match ranges.last_mut() {
                Some(last) if start <= last.1 => {
                    if last.2 != school {
                        return Err(Overlap {
                            first: last.2.min(school),
                            second: last.2.max(school),
                        });
                    }
                    last.1 = last.1.max(end);
                }
                _ => ranges.push((start, end, school)),
            }
        }
        Ok(SchoolMap { ranges })
    }

    /// The index of the school whose subnets hold `ip`, if any does.
    pub fn school_of(&self, ip: IpAddr) -> Option<usize> {
        let p = point(ip);
        let after = self.ranges.partition_point(|&(start, _, _)| start <= p);
        let &(_, end, school) = self.ranges.get(after.checked_sub(1)?)?;
        (p <= end).then_some(school)
    }
}
