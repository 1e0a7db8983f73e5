use super::*;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

fn network() -> NetworkPolicy {
    NetworkPolicy {
        default_group: "ks2".into(),
        subnets: vec![
            SubnetRule {
                cidr: "10.1.0.0/16".into(),
                group: "staff".into(),
            },
            SubnetRule {
                cidr: "10.1.5.0/24".into(),
                group: "ks1".into(),
            },
            SubnetRule {
                cidr: "fd00:1::/64".into(),
                group: "guests".into(),
            },
        ],
        dns: DnsSettings::default(),
        proxy: ProxySettings::default(),
    }
}

#[test]
fn the_longest_matching_subnet_wins_and_unknown_clients_get_the_default() {
    let map = ClientMap::new(&network());
    let ip = |s: &str| {
        s.parse::<IpAddr>()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    };
    assert_eq!(map.group_for(ip("10.1.5.9")), "ks1");
    assert_eq!(map.group_for(ip("10.1.6.9")), "staff");
    assert_eq!(map.group_for(ip("::ffff:10.1.5.9")), "ks1");
    assert_eq!(map.group_for(ip("fd00:1::7")), "guests");
    assert_eq!(map.group_for(ip("192.168.1.1")), "ks2");
}

#[test]
fn the_pac_script_sends_the_web_through_the_proxy_and_local_names_direct() {
    let mut n = network();
    n.proxy.direct = vec!["intranet.holt.example".into(), "10.9.0.0/16".into()];
    let pac = n.pac_script("10.1.0.5:3128", "palisade.holt.example");
    assert!(pac.contains("return \"PROXY 10.1.0.5:3128\";"), "{pac}");
    assert!(
        !pac.contains("PROXY 10.1.0.5:3128; DIRECT"),
        "no unfiltered fallback"
    );
    assert!(
        pac.contains("dnsDomainIs(host, \".intranet.holt.example\")"),
        "{pac}"
    );
    assert!(pac.contains("host == \"palisade.holt.example\""), "{pac}");
    assert!(
        pac.contains("isInNet(host, \"10.9.0.0\", \"255.255.0.0\")"),
        "{pac}"
    );
    assert!(
        pac.contains("isInNet(host, \"192.168.0.0\", \"255.255.0.0\")"),
        "{pac}"
    );
    assert_eq!(pac.matches('{').count(), pac.matches('}').count());
}

#[test]
fn a_staff_default_group_and_bad_ranges_are_refused_by_key() {
    let mut n = network();
    n.default_group = "staff".into();
    n.subnets.push(SubnetRule {
        cidr: "10.1.0.0/33".into(),
        group: "nobody".into(),
    });
    let problems = n.validate(&["ks1", "ks2", "staff", "guests"], &["ks1", "ks2"]);
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert!(keys.contains(&"network.default_group"), "{keys:?}");
    assert!(keys.contains(&"network.subnets[3].cidr"), "{keys:?}");
    assert!(keys.contains(&"network.subnets[3].group"), "{keys:?}");
}

#[test]
fn the_proxy_refuses_loopback_and_private_addresses_unless_allowed() {
    let settings = ProxySettings {
        intranet_subnets: vec!["10.1.50.0/24".into()],
        allow_destinations: vec!["127.0.0.1:18999".into(), "Intranet.Test.:8080".into()],
        ..ProxySettings::default()
    };
    let mut reach = ProxyReach::new(&settings);
    reach.add_own(["203.0.113.7"
        .parse()
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))]);
    let refused = |s: &str| {
        let addr = s
            .parse::<SocketAddr>()
            .unwrap_or(SocketAddr::from(([0; 4], 0)));
        reach.refusal(addr)
    };
    for bad in [
        "127.0.0.1:8080",
        "127.1.2.3:80",
        "0.0.0.0:80",
        "[::1]:80",
        "[::]:80",
        "[::ffff:127.0.0.1]:80",
        "[64:ff9b::7f00:1]:80",
        "169.254.169.254:80",
        "[fe80::1]:80",
        "224.0.0.1:80",
        "255.255.255.255:80",
        "10.9.0.1:80",
        "192.168.1.1:80",
        "[fd00::1]:80",
        "203.0.113.7:80",
    ] {
        assert!(refused(bad).is_some(), "{bad}");
    }
    for good in [
        "93.184.215.14:80",
        "10.1.50.9:80",
        "127.0.0.1:18999",
        "[2001:db8::1]:443",
    ] {
        assert_eq!(refused(good), None, "{good}");
    }
    assert!(reach.explicit("127.0.0.1", 18999));
    assert!(!reach.explicit("127.0.0.1", 8080));
    assert!(reach.explicit("intranet.test", 8080));
    assert!(!reach.explicit("intranet.test", 8081));
    assert!(reach.connect_port(443) && !reach.connect_port(8080));
}

#[test]
fn bad_proxy_reach_keys_are_refused_by_key() {
    let mut n = network();
    n.proxy.intranet_subnets = vec![
        "10.1.50.0/33".into(),
        "127.0.0.0/8".into(),
        "10.2.0.0/16".into(),
    ];
    n.proxy.connect_ports = vec![443, 0];
    n.proxy.allow_destinations = vec![
        "intranet".into(),
        "a b:80".into(),
        "x.test:99999".into(),
        "10.1.0.9:8080".into(),
    ];
    let problems = n.validate(&["ks1", "ks2", "staff", "guests"], &["ks1", "ks2"]);
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    for key in [
        "network.proxy.intranet_subnets[0]",
        "network.proxy.intranet_subnets[1]",
        "network.proxy.connect_ports",
        "network.proxy.allow_destinations[0]",
        "network.proxy.allow_destinations[1]",
        "network.proxy.allow_destinations[2]",
    ] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    assert!(
        !keys.contains(&"network.proxy.intranet_subnets[2]"),
        "{keys:?}"
    );
    assert!(
        !keys.contains(&"network.proxy.allow_destinations[3]"),
        "{keys:?}"
    );
}

#[test]
fn dns_answers_loopback_the_profiles_subnets_and_else_only_private_networks() {
    let ip = |s: &str| {
        s.parse::<IpAddr>()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    };
    let map = ClientMap::new(&network());
    for yes in [
        "127.0.0.1",
        "127.0.0.99",
        "::1",
        "10.1.7.7",
        "::ffff:10.1.5.9",
        "fd00:1::7",
    ] {
        assert!(map.dns_client(ip(yes)), "{yes}");
    }
    for no in [
        "192.0.2.2",
        "10.2.0.1",
        "192.168.1.1",
        "fd00:2::1",
        "8.8.8.8",
    ] {
        assert!(!map.dns_client(ip(no)), "{no}");
    }
    // A profile without subnets answers its private networks, never the internet.
    let mut n = network();
    n.subnets.clear();
    let map = ClientMap::new(&n);
    for yes in [
        "10.2.0.1",
        "192.168.1.1",
        "172.16.0.1",
        "fe80::1",
        "127.0.0.5",
    ] {
        assert!(map.dns_client(ip(yes)), "{yes}");
    }
    for no in ["192.0.2.2", "8.8.8.8", "2001:db8::1"] {
        assert!(!map.dns_client(ip(no)), "{no}");
    }
}

#[test]
fn each_client_belongs_to_the_school_whose_subnets_hold_it_and_schools_may_not_overlap() {
    let ip = |s: &str| {
        s.parse::<IpAddr>()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    };
    let with = |cidrs: &[&str]| {
        ClientMap::new(&NetworkPolicy {
            subnets: cidrs
                .iter()
                .map(|c| SubnetRule {
                    cidr: (*c).into(),
                    group: "ks2".into(),
                })
                .collect(),
            ..network()
        })
    };
    // The first school's subnets nest (10.1.0.0/16 holds 10.1.5.0/24): that is no overlap.
    let (a, b, c) = (
        ClientMap::new(&network()),
        with(&["10.2.0.0/16", "fd00:2::/64"]),
        with(&[]),
    );
    let Ok(map) = SchoolMap::new(&[&a, &b, &c]) else {
        panic!("three schools whose subnets do not overlap make a map")
    };
    assert_eq!(map.school_of(ip("10.1.5.9")), Some(0));
    assert_eq!(map.school_of(ip("10.1.255.255")), Some(0));
    assert_eq!(map.school_of(ip("::ffff:10.2.0.1")), Some(1));
    assert_eq!(map.school_of(ip("fd00:2::1")), Some(1));
    assert_eq!(map.school_of(ip("fd00:1::1")), Some(0));
    assert_eq!(map.school_of(ip("10.3.0.1")), None);
    assert_eq!(map.school_of(ip("10.0.255.255")), None);
    assert_eq!(map.school_of(ip("::")), None);
    let d = with(&["10.1.200.0/24"]);
    assert_eq!(
        SchoolMap::new(&[&a, &b, &d]).err(),
        Some(Overlap {
            first: 0,
            second: 2
        })
    );
    assert!(
        SchoolMap::new(&[])
            .ok()
            .is_some_and(|m| m.school_of(ip("10.1.5.9")).is_none())
    );
}
