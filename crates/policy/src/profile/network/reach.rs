//! Where the proxy may connect: address classes, the school's private ranges and the
//! explicit destinations of `allow_destinations`.

use super::proxy::ProxySettings;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Private address ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, fec0::/10):
/// refused to the proxy unless `intranet_subnets` names them. Constants, so that the proxy's
/// check of every connection and the DNS gateway's of strangers parse nothing.
const PRIVATE_RANGES: [IpNet; 6] = [
    IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)), 8),
    IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(172, 16, 0, 0)), 12),
    IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 0)), 16),
    IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(100, 64, 0, 0)), 10),
    IpNet::new_assert(IpAddr::V6(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0)), 7),
    IpNet::new_assert(IpAddr::V6(Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0)), 10),
];

/// Whether `net` lies inside one of the private ranges.
pub(super) fn is_private(net: &IpNet) -> bool {
    PRIVATE_RANGES.iter().any(|r| r.contains(net))
}

/// Whether `ip` is in one of the private ranges.
pub(super) fn is_private_address(ip: IpAddr) -> bool {
    PRIVATE_RANGES.iter().any(|r| r.contains(&ip))
}

/// Whether `ip` is link-local (169.254.0.0/16, fe80::/10).
pub(super) fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }
}

/// A destination named in `allow_destinations`: a host name or an address, with its port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Name(String, u16),
    Address(SocketAddr),
}

impl Destination {
    /// Reads "host:port", "10.1.0.9:8080" or "[fd00::9]:443"; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Destination, String> {
        let text = text.trim();
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return if addr.port() == 0 {
                Err(format!("`{text}`: 0 is not a port"))
            } else {
                Ok(Destination::Address(addr))
            };
        }
        let Some((host, port)) = text.rsplit_once(':') else {
            return Err(format!(
                "`{text}` has no port: write host:port, like intranet.school.example:8080"
            ));
        };
        let port = match port.parse::<u16>() {
            Ok(p) if p != 0 => p,
            _ => return Err(format!("`{text}`: `{port}` is not a port")),
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let valid = !host.is_empty()
            && host.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        if !valid {
            return Err(format!(
                "`{text}`: `{host}` is not a host name or an address (write IPv6 as [fd00::9]:443)"
            ));
        }
        Ok(Destination::Name(host, port))
    }
}

/// Where the proxy may connect, compiled from `[network.proxy]`: the address classes it
/// refuses, the intranet ranges it may reach, the CONNECT ports and the explicit destinations.
#[derive(Debug, Clone, Default)]
pub struct ProxyReach {
    intranet: Vec<IpNet>,
    connect_ports: Vec<u16>,
    names: Vec<(String, u16)>,
    addresses: Vec<SocketAddr>,
    own: Vec<IpAddr>,
}

impl ProxyReach {
    /// The rules of `settings`; entries that do not parse are reported by `validate`.
    pub fn new(settings: &ProxySettings) -> ProxyReach {
        let mut reach = ProxyReach {
            intranet: settings
                .intranet_subnets
                .iter()
                .filter_map(|c| c.parse::<IpNet>().ok())
                .map(|n| n.trunc())
                .collect(),
            connect_ports: settings.connect_ports.clone(),
            ..ProxyReach::default()
        };
        for d in &settings.allow_destinations {
            match Destination::parse(d) {
                Ok(Destination::Name(h, p)) => reach.names.push((h, p)),
                Ok(Destination::Address(a)) => reach.allow(a),
                Err(_) => {}
            }
        }
        reach
    }

    /// Allows one more destination explicitly (the operator's parent proxy).
    pub fn allow(&mut self, addr: SocketAddr) {
        self.addresses
            .push(SocketAddr::new(canonical(addr.ip()), addr.port()));
    }

    /// Refuses the server's own addresses too.
    pub fn add_own(&mut self, ips: impl IntoIterator<Item = IpAddr>) {
        for ip in ips {
            let ip = canonical(ip);
            if !self.own.contains(&ip) {
                self.own.push(ip);
            }
        }
    }

    /// Whether `host:port` (a name, or an address literal) is allowed explicitly.
    pub fn explicit(&self, host: &str, port: u16) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self
                .addresses
                .contains(&SocketAddr::new(canonical(ip), port));
        }
        self.names
            .iter()
            .any(|(h, p)| *p == port && h.eq_ignore_ascii_case(host))
    }

    /// Whether a tunnel may go to `port` (explicit destinations aside).
    pub fn connect_port(&self, port: u16) -> bool {
        self.connect_ports.contains(&port)
    }

    /// Why the proxy must not connect to `addr`, or `None` when it may.
    pub fn refusal(&self, addr: SocketAddr) -> Option<&'static str> {
        let ip = canonical(addr.ip());
        if self.addresses.contains(&SocketAddr::new(ip, addr.port())) {
            return None;
        }
        let class = address_class(ip);
        if let Some(reason) = class.refused {
            return Some(reason);
        }
        if self.own.contains(&ip) {
            return Some("this server's own address");
        }
        if class.private && !self.intranet.iter().any(|n| n.contains(&ip)) {
            return Some("a private address outside the school's intranet_subnets");
        }
        None
    }
}

/// An IPv4 address inside IPv6 (mapped, or NAT64's well-known prefix) as the IPv4 address.
pub(super) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return IpAddr::V4(Ipv4Addr::new(a, b, c, d));
            }
            ip
        }
        v4 => v4,
    }
}

pub(super) struct AddressClass {
    /// Never reached (explicit destinations aside), and why.
    pub(super) refused: Option<&'static str>,
    /// Reached only inside `intranet_subnets`.
    pub(super) private: bool,
}

pub(super) fn address_class(ip: IpAddr) -> AddressClass {
    let refused = |r| AddressClass {
        refused: Some(r),
        private: false,
    };
    if is_link_local(ip) {
        return refused("a link-local address");
    }
    let private = is_private_address(ip);
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                refused("a loopback address")
            } else if o[0] == 0 {
                refused("an unspecified address")
            } else if v4.is_multicast() || v4.is_broadcast() {
                refused("a multicast or broadcast address")
            } else if o[0] >= 240 {
                refused("a reserved address")
            } else {
                AddressClass {
                    refused: None,
                    private,
                }
            }
        }
        IpAddr::V6(v6) => {
            if v6.is_loopback() {
                refused("a loopback address")
            } else if v6.is_unspecified() {
                refused("an unspecified address")
            } else if v6.is_multicast() {
                refused("a multicast or broadcast address")
            } else {
                AddressClass {
                    refused: None,
                    private,
                }
            }
        }
    }
}
