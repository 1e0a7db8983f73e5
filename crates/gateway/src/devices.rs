//! The device register as the gateways see it: which device is at an address (directly, or
//! through the kernel's neighbour table for devices registered by MAC), who holds it and which
//! filtering group it belongs in. Swapped whole when the register changes.

use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// A registered device, as the access log names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceTag {
    pub name: String,
    /// The holder, if the device is not shared.
    pub holder: Option<(i64, String)>,
    /// The filtering group, when it is not the subnet's.
    pub group: Option<String>,
}

/// One entry of the register: the addresses it is known by, and what it is.
#[derive(Debug, Clone)]
pub struct DeviceEntry {
    pub ip: Option<IpAddr>,
    /// `aa:bb:cc:dd:ee:ff`.
    pub mac: Option<String>,
    pub tag: DeviceTag,
}

#[derive(Debug, Default)]
struct Maps {
    by_ip: HashMap<IpAddr, Arc<DeviceTag>>,
    by_mac: HashMap<String, Arc<DeviceTag>>,
    /// IP to MAC, from the neighbour table.
    neighbours: HashMap<IpAddr, String>,
}

/// The register in force.
#[derive(Debug, Default)]
pub struct Devices {
    maps: ArcSwap<Maps>,
}

impl Devices {
    pub fn new() -> Arc<Devices> {
        Arc::new(Devices::default())
    }

    /// Puts a new register in force, keeping the neighbour table.
    pub fn replace(&self, entries: Vec<DeviceEntry>) {
        let mut maps = Maps {
            neighbours: self.maps.load().neighbours.clone(),
            ..Maps::default()
        };
        for e in entries {
            let tag = Arc::new(e.tag);
            if let Some(ip) = e.ip {
                maps.by_ip.insert(ip, tag.clone());
            }
            if let Some(mac) = e.mac {
                maps.by_mac.insert(mac, tag);
            }
        }
        self.maps.store(Arc::new(maps));
    }

    /// Whether any device is registered by MAC (only then is the neighbour table read).
    pub fn wants_neighbours(&self) -> bool {
        !self.maps.load().by_mac.is_empty()
    }

    /// Puts a fresh copy of the neighbour table (IP to MAC) in force.
    pub fn set_neighbours(&self, neighbours: HashMap<IpAddr, String>) {
        let old = self.maps.load();
        self.maps.store(Arc::new(Maps {
            by_ip: old.by_ip.clone(),
            by_mac: old.by_mac.clone(),
            neighbours,
        }));
    }

    /// The device at `ip`: registered by that address, else by the MAC the neighbour table
    /// gives for it.
    pub fn at(&self, ip: IpAddr) -> Option<Arc<DeviceTag>> {
        let maps = self.maps.load();
        if maps.by_ip.is_empty() && maps.by_mac.is_empty() {
            return None;
        }
        if let Some(tag) = maps.by_ip.get(&ip) {
            return Some(tag.clone());
        }
        let mac = maps.neighbours.get(&ip)?;
        maps.by_mac.get(mac).cloned()
    }
}

/// Reads Linux's `/proc/net/arp`: IP to MAC for every complete entry.
pub fn parse_arp_table(text: &str) -> HashMap<IpAddr, String> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (ip, flags, mac) = (fields.first()?, fields.get(2)?, fields.get(3)?);
            // Flag 0x2 is ATF_COM: the entry is complete (an incomplete one has no MAC yet).
            let flags = u32::from_str_radix(flags.trim_start_matches("0x"), 16).ok()?;
            if flags & 0x2 == 0 || *mac == "00:00:00:00:00:00" {
                return None;
            }
            Some((ip.parse().ok()?, mac.to_ascii_lowercase()))
        })
        .collect()
}

/// Refreshes the neighbour table from `/proc/net/arp` every 30 seconds while devices are
/// registered by MAC.
pub fn spawn_neighbour_refresh(devices: Arc<Devices>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
        loop {
            tick.tick().await;
            if !devices.wants_neighbours() {
                continue;
            }
            match tokio::fs::read_to_string("/proc/net/arp").await {
                Ok(text) => devices.set_neighbours(parse_arp_table(&text)),
                Err(e) => tracing::debug!(error = %e, "cannot read the neighbour table"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(name: &str) -> DeviceTag {
        DeviceTag {
            name: name.into(),
            holder: Some((7, "pupil7".into())),
            group: None,
        }
    }

    #[test]
    fn devices_are_found_by_address_or_by_mac_through_the_neighbour_table() {
        let devices = Devices::new();
        let ip: IpAddr = [10, 1, 2, 3].into();
        let other: IpAddr = [10, 1, 2, 4].into();
        assert_eq!(devices.at(ip), None);
        devices.replace(vec![
            DeviceEntry {
                ip: Some(ip),
                mac: None,
                tag: tag("iPad 1"),
            },
            DeviceEntry {
                ip: None,
                mac: Some("aa:bb:cc:00:11:22".into()),
                tag: tag("Laptop 2"),
            },
        ]);
        assert_eq!(
            devices.at(ip).map(|t| t.name.clone()).as_deref(),
            Some("iPad 1")
        );
        assert_eq!(devices.at(other), None);
        assert!(devices.wants_neighbours());
        let arp = "IP address       HW type     Flags       HW address            Mask     Device\n\
                   10.1.2.4         0x1         0x2         AA:BB:CC:00:11:22     *        eth0\n\
                   10.1.2.5         0x1         0x0         00:00:00:00:00:00     *        eth0\n";
        let table = parse_arp_table(arp);
        assert_eq!(table.len(), 1);
        devices.set_neighbours(table);
        assert_eq!(
            devices.at(other).map(|t| t.name.clone()).as_deref(),
            Some("Laptop 2")
        );
        // A new register keeps the neighbour table.
        devices.replace(vec![DeviceEntry {
            ip: None,
            mac: Some("aa:bb:cc:00:11:22".into()),
            tag: tag("Laptop 3"),
        }]);
        assert_eq!(
            devices.at(other).map(|t| t.name.clone()).as_deref(),
            Some("Laptop 3")
        );
        assert_eq!(devices.at(ip), None);
    }
}
