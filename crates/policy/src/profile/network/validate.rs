//! The `[network]` section's checks, each problem naming its key.

use super::dns::BlockAnswer;
use super::reach::{Destination, is_private};
use super::section::NetworkPolicy;
use crate::ProfileProblem;
use ipnet::IpNet;

impl NetworkPolicy {
    /// Problems with this section, each naming its key; `groups` are the filtering groups that
    /// exist and `pupil_groups` those of pupil level.
    pub fn validate(&self, groups: &[&str], pupil_groups: &[&str]) -> Vec<ProfileProblem> {
        let mut out = Vec::new();
        let mut problem = |key: String, message: String| out.push(ProfileProblem { key, message });
        if !groups.contains(&self.default_group.as_str()) {
            problem(
                "network.default_group".into(),
                format!("`{}` is not a filtering group", self.default_group),
            );
        } else if !pupil_groups.contains(&self.default_group.as_str()) {
            problem(
                "network.default_group".into(),
                format!(
                    "`{}` must be a pupil-level group: unknown devices are filtered as strictly as a child's",
                    self.default_group
                ),
            );
        }
        for (i, rule) in self.subnets.iter().enumerate() {
            if rule.cidr.parse::<IpNet>().is_err() {
                problem(
                    format!("network.subnets[{i}].cidr"),
                    format!("`{}` is not an address range like 10.1.0.0/16", rule.cidr),
                );
            }
            if !groups.contains(&rule.group.as_str()) {
                problem(
                    format!("network.subnets[{i}].group"),
                    format!("`{}` is not a filtering group", rule.group),
                );
            }
        }
        let dns = &self.dns;
        if dns.listen.is_empty() {
            problem(
                "network.dns.listen".into(),
                "give at least one address".into(),
            );
        }
        if dns.block_answer == BlockAnswer::BlockPage
            && dns.block_page_ipv4.is_none()
            && dns.block_page_ipv6.is_none()
        {
            problem(
                "network.dns.block_page_ipv4".into(),
                "block_answer = \"block_page\" needs the block page's address".into(),
            );
        }
        if dns.cache_entries == 0 {
            problem(
                "network.dns.cache_entries".into(),
                "must be at least 1".into(),
            );
        }
        let proxy = &self.proxy;
        if proxy.header_timeout_seconds == 0 {
            problem(
                "network.proxy.header_timeout_seconds".into(),
                "must be at least 1".into(),
            );
        }
        if proxy.max_header_bytes < 8192 {
            problem(
                "network.proxy.max_header_bytes".into(),
                "must be at least 8192".into(),
            );
        }
        if proxy.advertise.is_none()
            && proxy
                .listen
                .first()
                .is_some_and(|a| a.ip().is_unspecified())
        {
            problem(
                "network.proxy.advertise".into(),
                "the proxy listens on every address: say which name or address devices reach it by (e.g. \"10.1.0.5:3128\")".into(),
            );
        }
        for (key, list) in [
            ("inspect_groups", &proxy.inspect_groups),
            ("login_groups", &proxy.login_groups),
        ] {
            for (i, g) in list.iter().enumerate() {
                if !groups.contains(&g.as_str()) {
                    problem(
                        format!("network.proxy.{key}[{i}]"),
                        format!("`{g}` is not a filtering group"),
                    );
                }
            }
        }
        if let Some(g) = &proxy.staff_group
            && !groups.contains(&g.as_str())
        {
            problem(
                "network.proxy.staff_group".into(),
                format!("`{g}` is not a filtering group"),
            );
        }
        if proxy.max_connections == 0 {
            problem(
                "network.proxy.max_connections".into(),
                "must be at least 1".into(),
            );
        }
        for (i, cidr) in proxy.intranet_subnets.iter().enumerate() {
            let key = format!("network.proxy.intranet_subnets[{i}]");
            match cidr.parse::<IpNet>() {
                Err(_) => problem(
                    key,
                    format!("`{cidr}` is not an address range like 10.1.50.0/24"),
                ),
                Ok(net) if !is_private(&net.trunc()) => problem(
                    key,
                    format!(
                        "`{cidr}` is not inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7); name a single service under allow_destinations instead"
                    ),
                ),
                Ok(_) => {}
            }
        }
        if proxy.connect_ports.contains(&0) {
            problem(
                "network.proxy.connect_ports".into(),
                "0 is not a port".into(),
            );
        }
        for (i, d) in proxy.allow_destinations.iter().enumerate() {
            if let Err(e) = Destination::parse(d) {
                problem(format!("network.proxy.allow_destinations[{i}]"), e);
            }
        }
        out
    }
}
