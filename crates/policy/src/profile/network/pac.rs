//! The proxy auto-config script (`/proxy.pac`, `/wpad.dat`).

use super::section::NetworkPolicy;
use ipnet::IpNet;

/// Private and loopback ranges, reached directly in `/proxy.pac`: the school's own servers
/// are there, and filtering them would only break printers and the MIS.
const DIRECT_RANGES: [(&str, &str); 5] = [
    ("10.0.0.0", "255.0.0.0"),
    ("172.16.0.0", "255.240.0.0"),
    ("192.168.0.0", "255.255.0.0"),
    ("127.0.0.0", "255.0.0.0"),
    ("169.254.0.0", "255.255.0.0"),
];

impl NetworkPolicy {
    /// The proxy auto-config script (`/proxy.pac`, `/wpad.dat`): everything through the proxy
    /// at `proxy` (host:port), except plain host names, addresses in private ranges, the
    /// profile's `direct` names and `web_host` (Palisade's own pages, where the block page's
    /// review link goes). There is no `DIRECT` fallback: if the proxy is down, pages fail
    /// rather than arrive unfiltered.
    pub fn pac_script(&self, proxy: &str, web_host: &str) -> String {
        let mut direct_names: Vec<String> = self
            .proxy
            .direct
            .iter()
            .filter(|d| d.parse::<IpNet>().is_err())
            .map(|d| {
                d.trim_start_matches("*.")
                    .trim_start_matches('.')
                    .to_ascii_lowercase()
            })
            .collect();
        direct_names.push(web_host.to_ascii_lowercase());
        direct_names.push("localhost".into());
        let mut ranges: Vec<(String, String)> = DIRECT_RANGES
            .iter()
            .map(|(n, m)| (n.to_string(), m.to_string()))
            .collect();
        for d in &self.proxy.direct {
            if let Ok(IpNet::V4(net)) = d.parse::<IpNet>() {
                ranges.push((net.network().to_string(), net.netmask().to_string()));
            }
        }
        let js = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let names = direct_names
            .iter()
            .map(|n| format!("    host == \"{0}\" || dnsDomainIs(host, \".{0}\")", js(n)))
            .collect::<Vec<_>>()
            .join(" ||\n");
        let nets = ranges
            .iter()
            .map(|(n, m)| format!("      isInNet(host, \"{n}\", \"{m}\")"))
            .collect::<Vec<_>>()
            .join(" ||\n");
        format!(
            "// Palisade proxy auto-config: web traffic goes through the school's filter.\n\
             function FindProxyForURL(url, host) {{\n\
             \x20 host = host.toLowerCase();\n\
             \x20 if (isPlainHostName(host) ||\n{names})\n\
             \x20   return \"DIRECT\";\n\
             \x20 if (/^[0-9.]+$/.test(host) && (\n{nets}))\n\
             \x20   return \"DIRECT\";\n\
             \x20 return \"PROXY {proxy}\";\n\
             }}\n",
            proxy = js(proxy),
        )
    }
}
